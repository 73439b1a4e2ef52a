//! Monitoring: the alert mails' addresses (with a test alert), and `/metrics` for Prometheus (the daemons' health, the relay's and DLP's counters, the
//! queue and the quarantine, the firewall rules' counters) behind a bearer token, and the
//! page where an administrator makes a new token (shown once; only its SHA-256 is kept)
//! or turns the endpoint off.

use std::path::PathBuf;
use std::sync::Arc;

use askama::Template;
use axum::extract::rejection::FormRejection;
use axum::extract::{Extension, Form, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use mamori_panel::metrics::{self, Inputs};
use mamori_panel::session::Session;
use mamori_panel::users::Role;
use serde::Deserialize;

use super::{
    Chrome, Peer, ask, checked, csrf_form, or_answer, render, render_status, require, source,
};
use crate::state::Panel;

/// Where the token's SHA-256 is kept.
fn token_file(panel: &Panel) -> PathBuf {
    panel.tls_dir.parent().map_or_else(
        || PathBuf::from("metrics-token.sha256"),
        |d| d.join("metrics-token.sha256"),
    )
}

/// The identity the daemons see for a scrape: read-only.
fn scraper() -> Session {
    Session::internal("metrics", Role::Auditor)
}

/// `GET /metrics`.
pub(crate) async fn scrape(State(panel): State<Arc<Panel>>, headers: HeaderMap) -> Response {
    let expected = std::fs::read_to_string(token_file(&panel)).unwrap_or_default();
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if !metrics::bearer_ok(authorization, expected.trim()) {
        let mut r = (
            StatusCode::UNAUTHORIZED,
            "a bearer token is needed (set one in the panel: System → Metrics)\n",
        )
            .into_response();
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return r;
    }
    let s = scraper();
    let health = serde_json::json!({"op": "health"});
    let (settingsd, smtpd, firewalld, stats, quarantine, fw) = tokio::join!(
        ask(&panel.sockets.settings, &s, health.clone()),
        ask(&panel.sockets.smtpd, &s, health.clone()),
        ask(&panel.sockets.firewalld, &s, health),
        ask(&panel.sockets.smtpd, &s, serde_json::json!({"op": "stats"})),
        ask(
            &panel.sockets.smtpd,
            &s,
            serde_json::json!({"op": "quarantine_stats"})
        ),
        ask(
            &panel.sockets.firewalld,
            &s,
            serde_json::json!({"op": "status"})
        ),
    );
    let running =
        |h: &Result<serde_json::Value, String>| h.as_ref().is_ok_and(|h| h["state"] == "running");
    let inputs = Inputs {
        up: vec![
            ("settingsd", running(&settingsd)),
            ("smtpd", running(&smtpd)),
            ("firewalld", running(&firewalld)),
            ("admind", true),
        ],
        queued: stats.as_ref().ok().and_then(|s| s["queued"].as_u64()),
        smtp: stats.ok(),
        quarantine: quarantine.ok(),
        firewall: fw.ok().map(|f| f["counters"].clone()),
    };
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        metrics::render(&inputs),
    )
        .into_response()
}

#[derive(Template)]
#[template(path = "metrics.html")]
struct MetricsPage {
    c: Chrome,
    /// The alert addresses, one a line.
    alert_to: String,
    alert_error: Option<String>,
    alert_done: Option<String>,
    enabled: bool,
    ask_password: bool,
    token: Option<String>,
    error: Option<String>,
}

fn page(panel: &Panel, s: &Session) -> MetricsPage {
    let now = mamori_core::clock::unix_now();
    MetricsPage {
        c: Chrome::new(Some(s), s.lang, |t| t.metrics_title),
        alert_to: String::new(),
        alert_error: None,
        alert_done: None,
        enabled: token_file(panel).exists(),
        ask_password: !s.recently_authenticated(now),
        token: None,
        error: None,
    }
}

/// The page with the alert addresses in force.
async fn full_page(panel: &Panel, s: &Session) -> MetricsPage {
    let mut p = page(panel, s);
    match super::apply::relay_settings(panel, s).await {
        Ok(smtp) => {
            p.alert_to = super::json::strings(&smtp["alert_to"]).join("\n");
        }
        Err(why) => p.alert_error = Some(why),
    }
    p
}

pub(crate) async fn show(State(panel): State<Arc<Panel>>, headers: HeaderMap) -> Response {
    let (_, s) = or_answer!(require(&panel, &headers, Role::Administrator));
    render(&full_page(&panel, &s).await)
}

#[derive(Deserialize)]
pub(crate) struct AlertsForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    /// `save` or `test`.
    action: String,
    #[serde(default)]
    addresses: String,
}

/// The alert addresses (`smtp.alert_to`), or a test alert to them.
pub(crate) async fn alerts(
    State(panel): State<Arc<Panel>>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    form: Result<Form<AlertsForm>, FormRejection>,
) -> Response {
    let (_, s) = or_answer!(require(&panel, &headers, Role::Administrator));
    let f = or_answer!(checked(&s, form));
    let t = s.lang.texts();
    let mut p = full_page(&panel, &s).await;
    if f.action == "test" {
        let request = serde_json::json!({"op": "alert", "subject": t.alert_test_subject, "body": t.alert_test_body});
        match ask(&panel.sockets.smtpd, &s, request).await {
            Ok(_) => p.alert_done = Some(t.alert_test_sent.into()),
            Err(why) => {
                p.alert_error = Some(why);
                return render_status(StatusCode::CONFLICT, &p);
            }
        }
        return render(&p);
    }
    let addresses: Vec<String> = f
        .addresses
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|a| !a.is_empty())
        .map(str::to_lowercase)
        .take(21)
        .collect();
    p.alert_to = addresses.join("\n");
    let set = vec![("smtp.alert_to".to_string(), serde_json::json!(addresses))];
    match super::apply::audited_change(
        &panel,
        &s,
        source(&peer),
        ("panel_alert_addresses", &addresses.join(", ")),
        set,
        Vec::new(),
    )
    .await
    {
        Ok(applied) => match applied.relay_refused {
            None => {
                p.alert_done = Some(t.alert_saved.into());
                render(&p)
            }
            Some(why) => {
                p.alert_error = Some(mamori_panel::i18n::fill(t.relay_not_applied, why));
                render_status(StatusCode::CONFLICT, &p)
            }
        },
        Err(why) => {
            p.alert_error = Some(mamori_panel::i18n::fill(t.not_saved, why));
            render_status(StatusCode::BAD_REQUEST, &p)
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct TokenForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    /// `new` or `off`.
    action: String,
    #[serde(default)]
    current: String,
}

pub(crate) async fn token(
    State(panel): State<Arc<Panel>>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    form: Result<Form<TokenForm>, FormRejection>,
) -> Response {
    let (id, s) = or_answer!(require(&panel, &headers, Role::Administrator));
    let f = or_answer!(checked(&s, form));
    let from = source(&peer);
    let mut p = page(&panel, &s);
    if let Err(why) =
        super::reauthenticate(&panel, &id, &s, &f.current, from, "metrics token", false).await
    {
        p.error = Some(why);
        return render_status(StatusCode::FORBIDDEN, &p);
    }
    let file = token_file(&panel);
    let event = match f.action.as_str() {
        "new" => "panel_metrics_token_made",
        "off" => "panel_metrics_turned_off",
        _ => return super::message(StatusCode::BAD_REQUEST, s.lang, s.lang.texts().bad_request),
    };
    if let Err(e) = panel.audit.record(
        event,
        serde_json::json!({"by": s.user, "source": from.to_string()}),
    ) {
        p.error = Some(e.to_string());
        return render_status(StatusCode::INTERNAL_SERVER_ERROR, &p);
    }
    let done = if f.action == "new" {
        match mamori_panel::session::random_token() {
            Some(token) => {
                let digest = mamori_core::audit::hex_sha256(token.as_bytes());
                crate::tls::write_private(&file, digest.as_bytes()).map(|()| Some(token))
            }
            None => Err(std::io::Error::other("no random source")),
        }
    } else {
        match std::fs::remove_file(&file) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(None),
        }
    };
    let mut p = full_page(&panel, &s).await;
    match done {
        Ok(token) => {
            p.token = token;
            render(&p)
        }
        Err(e) => {
            p.error = Some(e.to_string());
            render_status(StatusCode::INTERNAL_SERVER_ERROR, &p)
        }
    }
}

csrf_form!(TokenForm, AlertsForm);
