//! The delivery page (administrators): the route mail leaves by (the provider's sending
//! server, tested live with the relay's own client before it is saved, or straight to each
//! domain's MX), routes for single domains, and TLS when sending (the default and per
//! domain; weakening it asks for the password again). Each change is audited, saved as a
//! settings version and in force in the relay at once.

use std::sync::Arc;

use askama::Template;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Extension, Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use mamori_panel::i18n::{Texts, fill, problem};
use mamori_panel::routes::{self, RouteProblem};
use mamori_panel::session::Session;
use mamori_panel::users::Role;
use mamori_panel::wizard;
use serde::Deserialize;
use serde_json::Value;

use super::json::{list, text};
use super::{
    Chrome, Peer, ask, checked, csrf_form, or_answer, render, render_status, require, source,
};
use crate::state::Panel;

/// A domain's route or TLS policy.
struct DomainRow {
    domain: String,
    what: String,
}

#[derive(Template)]
#[template(path = "delivery.html")]
struct DeliveryPage {
    c: Chrome,
    ask_password: bool,
    now: String,
    provider: bool,
    host: String,
    port: String,
    username: String,
    route_ok: Option<String>,
    route_error: Option<String>,
    routes: Vec<DomainRow>,
    route_domain: String,
    route_host: String,
    route_port: String,
    route_add_error: Option<String>,
    tls_default: String,
    tls_error: Option<String>,
    policies: Vec<DomainRow>,
    policy_domain: String,
    policy_error: Option<String>,
    tls_choices: Vec<(&'static str, &'static str)>,
    done: Option<String>,
    error: Option<String>,
}

fn tls_text(t: &Texts, mode: &str) -> &'static str {
    match mode {
        "required" => t.tls_required,
        "disabled" => t.tls_disabled,
        _ => t.tls_opportunistic,
    }
}

async fn page(panel: &Panel, s: &Session) -> (DeliveryPage, Value) {
    let c = Chrome::new(Some(s), s.lang, |t| t.delivery_title);
    let t = c.t;
    let (smtp, error) = match super::apply::relay_settings(panel, s).await {
        Ok(smtp) => (smtp, None),
        Err(why) => (Value::Null, Some(why)),
    };
    let delivery = &smtp["delivery"];
    let smarthost = &delivery["smarthost"];
    let provider = smarthost.is_object();
    let port = smarthost["port"].as_u64().unwrap_or(587);
    let now = if provider {
        fill(
            t.route_now_provider,
            format!("{}:{port}", text(smarthost, "host")),
        )
    } else {
        t.route_now_direct.to_string()
    };
    let now_ts = mamori_core::clock::unix_now();
    let p = DeliveryPage {
        ask_password: !s.recently_authenticated(now_ts),
        now,
        provider: provider || error.is_some(),
        host: text(smarthost, "host"),
        port: port.to_string(),
        username: text(smarthost, "username"),
        route_ok: None,
        route_error: None,
        routes: list(&delivery["routes"])
            .iter()
            .map(|r| DomainRow {
                domain: text(r, "domain"),
                what: format!("{}:{}", text(r, "host"), r["port"].as_u64().unwrap_or(25)),
            })
            .collect(),
        route_domain: String::new(),
        route_host: String::new(),
        route_port: "25".into(),
        route_add_error: None,
        tls_default: delivery["tls"]
            .as_str()
            .unwrap_or("opportunistic")
            .to_string(),
        tls_error: None,
        policies: list(&delivery["tls_policies"])
            .iter()
            .map(|r| DomainRow {
                domain: text(r, "domain"),
                what: tls_text(t, &text(r, "mode")).to_string(),
            })
            .collect(),
        policy_domain: String::new(),
        policy_error: None,
        tls_choices: routes::TLS_MODES
            .iter()
            .map(|m| (*m, tls_text(t, m)))
            .collect(),
        done: None,
        error,
        c,
    };
    (p, smtp)
}

/// `?done=route` and the like.
#[derive(Deserialize)]
pub(crate) struct DoneQuery {
    done: String,
}

pub(crate) async fn show(
    State(panel): State<Arc<Panel>>,
    headers: HeaderMap,
    query: Result<Query<DoneQuery>, QueryRejection>,
) -> Response {
    let (_, s) = or_answer!(require(&panel, &headers, Role::Administrator));
    let (mut p, _) = page(&panel, &s).await;
    let t = p.c.t;
    if let Ok(Query(q)) = query {
        let listed = |rows: &[DomainRow], d: &str| rows.iter().any(|r| r.domain == d);
        p.done = match q.done.split_once(':') {
            None if q.done == "route" => Some(t.route_saved.into()),
            None if q.done == "tls" => Some(t.tls_saved.into()),
            Some(("route-added", d)) if listed(&p.routes, d) => Some(fill(t.route_added, d)),
            Some(("route-removed", d)) if !listed(&p.routes, d) => Some(fill(t.route_removed, d)),
            Some(("policy-added", d)) if listed(&p.policies, d) => {
                Some(fill(t.tls_policy_added, d))
            }
            Some(("policy-removed", d)) if !listed(&p.policies, d) => {
                Some(fill(t.tls_policy_removed, d))
            }
            _ => None,
        };
    }
    render(&p)
}

/// Saves the change (audited as `event` about `subject`), then back to the page with
/// `done`; a refusal is shown at `error_at` on `p`.
async fn save(
    panel: &Panel,
    s: &Session,
    peer: &Peer,
    (event, subject, done): (&str, &str, &str),
    (set, unset): (Vec<(String, Value)>, Vec<String>),
    p: DeliveryPage,
    error_at: fn(&mut DeliveryPage) -> &mut Option<String>,
) -> Response {
    let result =
        super::apply::audited_change(panel, s, source(peer), (event, subject), set, unset).await;
    let t = p.c.t;
    let to = format!("/mail/delivery?done={done}");
    super::apply::answer(result, &to, t, p, (|p| &mut p.error, error_at))
}

#[derive(Deserialize)]
pub(crate) struct RouteForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    mode: String,
    #[serde(default)]
    host: String,
    #[serde(default)]
    port: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    /// `test` or `save`.
    action: String,
}

pub(crate) async fn route(
    State(panel): State<Arc<Panel>>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    form: Result<Form<RouteForm>, FormRejection>,
) -> Response {
    let (_, s) = or_answer!(require(&panel, &headers, Role::Administrator));
    let f = or_answer!(checked(&s, form));
    let (mut p, smtp) = page(&panel, &s).await;
    let t = p.c.t;
    if p.error.is_some() {
        return render_status(StatusCode::CONFLICT, &p);
    }
    if f.mode == "direct" {
        if f.action != "save" {
            return super::message(StatusCode::BAD_REQUEST, s.lang, t.bad_request);
        }
        let unset = vec!["smtp.delivery.smarthost".to_string()];
        return save(
            &panel,
            &s,
            &peer,
            ("panel_route_direct", "", "route"),
            (Vec::new(), unset),
            p,
            |p| &mut p.route_error,
        )
        .await;
    }
    if f.mode != "provider" {
        return super::message(StatusCode::BAD_REQUEST, s.lang, t.bad_request);
    }
    p.provider = true;
    p.host = f.host.trim().chars().take(253).collect();
    p.port = f.port.trim().chars().take(5).collect();
    p.username = f.username.trim().chars().take(254).collect();
    let host = match wizard::host(&f.host) {
        Ok(h) => h,
        Err(e) => {
            p.route_error = Some(problem(t, &e));
            return render_status(StatusCode::BAD_REQUEST, &p);
        }
    };
    let port = match wizard::port(&f.port) {
        Ok(port) => port,
        Err(e) => {
            p.route_error = Some(problem(t, &e));
            return render_status(StatusCode::BAD_REQUEST, &p);
        }
    };
    let saved = &smtp["delivery"]["smarthost"];
    let same_account = saved["host"].as_str() == Some(host.as_str())
        && saved["username"].as_str().unwrap_or("") == p.username;
    let keep_password = f.password.is_empty() && !p.username.is_empty();
    if keep_password && !(same_account && saved["password_file"].is_string()) {
        p.route_error = Some(t.route_password_needed.into());
        return render_status(StatusCode::BAD_REQUEST, &p);
    }
    // Every save is tested first: a route that cannot carry mail is not saved.
    let request = serde_json::json!({
        "op": "test_route",
        "route": {
            "host": host,
            "port": port,
            "implicit_tls": port == 465,
            "username": (!p.username.is_empty()).then_some(&p.username),
            "password": (!f.password.is_empty()).then_some(&f.password),
            "use_saved_password": keep_password,
        }
    });
    match ask(&panel.sockets.smtpd, &s, request).await {
        Ok(found) => {
            p.route_ok = Some(fill(
                t.route_test_ok,
                format!(
                    "{} — {}",
                    found["address"].as_str().unwrap_or(""),
                    found["greeting"].as_str().unwrap_or("")
                ),
            ))
        }
        Err(why) => {
            p.route_error = Some(fill(t.route_test_failed, why));
            return render_status(StatusCode::BAD_REQUEST, &p);
        }
    }
    if f.action != "save" {
        return render(&p);
    }
    let mut smarthost = serde_json::json!({
        "host": host,
        "port": port,
        "implicit_tls": port == 465,
        "tls": "required",
    });
    if !p.username.is_empty() {
        smarthost["username"] = p.username.clone().into();
        if keep_password {
            smarthost["password_file"] = saved["password_file"].clone();
        } else {
            let request = serde_json::json!({"op": "set_secret", "name": "smarthost-password", "value": f.password});
            match ask(&panel.sockets.settings, &s, request).await {
                Ok(data) => smarthost["password_file"] = data["path"].clone(),
                Err(why) => {
                    p.route_error = Some(fill(t.not_saved, why));
                    return render_status(StatusCode::BAD_GATEWAY, &p);
                }
            }
        }
    }
    let subject = format!("{host}:{port}");
    save(
        &panel,
        &s,
        &peer,
        ("panel_route_provider", &subject, "route"),
        (
            vec![("smtp.delivery.smarthost".into(), smarthost)],
            Vec::new(),
        ),
        p,
        |p| &mut p.route_error,
    )
    .await
}

fn route_problem(t: &Texts, e: &RouteProblem) -> String {
    match e {
        RouteProblem::Domain(p) | RouteProblem::Host(p) | RouteProblem::Port(p) => problem(t, p),
        RouteProblem::Exists => t.exists_for_domain.into(),
        RouteProblem::BadMode => t.problem_bad_choice.into(),
        RouteProblem::TooMany => t.problem_too_many.into(),
    }
}

#[derive(Deserialize)]
pub(crate) struct DomainRouteForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    domain: String,
    host: String,
    port: String,
}

pub(crate) async fn add_route(
    State(panel): State<Arc<Panel>>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    form: Result<Form<DomainRouteForm>, FormRejection>,
) -> Response {
    let (_, s) = or_answer!(require(&panel, &headers, Role::Administrator));
    let f = or_answer!(checked(&s, form));
    let (mut p, smtp) = page(&panel, &s).await;
    let t = p.c.t;
    p.route_domain = f.domain.chars().take(253).collect();
    p.route_host = f.host.chars().take(253).collect();
    p.route_port = f.port.chars().take(5).collect();
    let new = match routes::add_route(
        &list(&smtp["delivery"]["routes"]),
        &f.domain,
        &f.host,
        &f.port,
    ) {
        Ok(new) => new,
        Err(e) => {
            p.route_add_error = Some(route_problem(t, &e));
            return render_status(StatusCode::BAD_REQUEST, &p);
        }
    };
    let domain = text(new.last().unwrap_or(&Value::Null), "domain");
    save(
        &panel,
        &s,
        &peer,
        (
            "panel_domain_route_added",
            &domain,
            &format!("route-added:{domain}"),
        ),
        (
            vec![("smtp.delivery.routes".into(), Value::Array(new))],
            Vec::new(),
        ),
        p,
        |p| &mut p.route_add_error,
    )
    .await
}

#[derive(Deserialize)]
pub(crate) struct RemoveForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    /// `route` or `policy`.
    what: String,
    domain: String,
    #[serde(default)]
    current: String,
}

pub(crate) async fn remove(
    State(panel): State<Arc<Panel>>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    form: Result<Form<RemoveForm>, FormRejection>,
) -> Response {
    let (id, s) = or_answer!(require(&panel, &headers, Role::Administrator));
    let f = or_answer!(checked(&s, form));
    let (mut p, smtp) = page(&panel, &s).await;
    let t = p.c.t;
    let delivery = &smtp["delivery"];
    let (key, entries, event, done) = match f.what.as_str() {
        "route" => (
            "smtp.delivery.routes",
            list(&delivery["routes"]),
            "panel_domain_route_removed",
            "route-removed",
        ),
        "policy" => (
            "smtp.delivery.tls_policies",
            list(&delivery["tls_policies"]),
            "panel_tls_policy_removed",
            "policy-removed",
        ),
        _ => return super::message(StatusCode::BAD_REQUEST, s.lang, t.bad_request),
    };
    let Some((new, gone)) = routes::remove_domain(&entries, &f.domain) else {
        return super::message(StatusCode::NOT_FOUND, s.lang, t.not_found);
    };
    // Removing a policy stricter than the default weakens delivery to that domain.
    let default = delivery["tls"].as_str().unwrap_or("opportunistic");
    if f.what == "policy" && routes::weakens(gone["mode"].as_str().unwrap_or(""), default) {
        let reauth = super::reauthenticate(
            &panel,
            &id,
            &s,
            &f.current,
            source(&peer),
            "TLS policy removal",
            false,
        )
        .await;
        if let Err(why) = reauth {
            p.policy_error = Some(why);
            return render_status(StatusCode::FORBIDDEN, &p);
        }
    }
    save(
        &panel,
        &s,
        &peer,
        (event, &f.domain, &format!("{done}:{}", f.domain)),
        (vec![(key.into(), Value::Array(new))], Vec::new()),
        p,
        |p| &mut p.policy_error,
    )
    .await
}

#[derive(Deserialize)]
pub(crate) struct TlsForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    mode: String,
    /// A domain: a policy for it; empty: the default.
    #[serde(default)]
    domain: String,
    #[serde(default)]
    current: String,
}

pub(crate) async fn tls(
    State(panel): State<Arc<Panel>>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    form: Result<Form<TlsForm>, FormRejection>,
) -> Response {
    let (id, s) = or_answer!(require(&panel, &headers, Role::Administrator));
    let f = or_answer!(checked(&s, form));
    let (mut p, smtp) = page(&panel, &s).await;
    let t = p.c.t;
    if !routes::TLS_MODES.contains(&f.mode.as_str()) {
        return super::message(StatusCode::BAD_REQUEST, s.lang, t.bad_request);
    }
    let default = smtp["delivery"]["tls"]
        .as_str()
        .unwrap_or("opportunistic")
        .to_string();
    let for_domain = !f.domain.trim().is_empty();
    let error_at: fn(&mut DeliveryPage) -> &mut Option<String> = if for_domain {
        |p| &mut p.policy_error
    } else {
        |p| &mut p.tls_error
    };
    // Less than the default (for a domain), or a weaker default: the password again.
    if routes::weakens(&default, &f.mode) {
        let reauth = super::reauthenticate(
            &panel,
            &id,
            &s,
            &f.current,
            source(&peer),
            "weaker TLS",
            false,
        )
        .await;
        if let Err(why) = reauth {
            *error_at(&mut p) = Some(why);
            return render_status(StatusCode::FORBIDDEN, &p);
        }
    }
    if !for_domain {
        return save(
            &panel,
            &s,
            &peer,
            ("panel_tls_default", &f.mode, "tls"),
            (
                vec![("smtp.delivery.tls".into(), f.mode.clone().into())],
                Vec::new(),
            ),
            p,
            error_at,
        )
        .await;
    }
    p.policy_domain = f.domain.chars().take(253).collect();
    let new = match routes::add_policy(&list(&smtp["delivery"]["tls_policies"]), &f.domain, &f.mode)
    {
        Ok(new) => new,
        Err(e) => {
            p.policy_error = Some(route_problem(t, &e));
            return render_status(StatusCode::BAD_REQUEST, &p);
        }
    };
    let domain = text(new.last().unwrap_or(&Value::Null), "domain");
    save(
        &panel,
        &s,
        &peer,
        (
            "panel_tls_policy_added",
            &domain,
            &format!("policy-added:{domain}"),
        ),
        (
            vec![("smtp.delivery.tls_policies".into(), Value::Array(new))],
            Vec::new(),
        ),
        p,
        error_at,
    )
    .await
}

csrf_form!(RouteForm, DomainRouteForm, RemoveForm, TlsForm);
