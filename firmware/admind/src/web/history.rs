//! The settings history: every version (number, when, who, what), the changes each made
//! (password hashes shown only as changed), and going back to an earlier version — as a new
//! version, after re-authentication, put in force in the relay and the firewall (the
//! firewall on probation: it reverts unless confirmed here in time).

use std::sync::Arc;

use askama::Template;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Extension, Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use mamori_panel::i18n::fill;
use mamori_panel::session::Session;
use mamori_panel::users::Role;
use serde::Deserialize;

use super::{
    Chrome, Peer, ask, checked, csrf_form, or_answer, render, render_status, require, source,
};
use crate::state::{Panel, lock};

struct VersionRow {
    version: u64,
    time: String,
    by: String,
    what: String,
}

struct ChangeRow {
    key: String,
    before: String,
    after: String,
}

#[derive(Template)]
#[template(path = "history.html")]
struct HistoryPage {
    c: Chrome,
    admin: bool,
    versions: Vec<VersionRow>,
    diff_of: Option<String>,
    changes: Vec<ChangeRow>,
    error: Option<String>,
    done: Vec<String>,
    /// The firewall's probation after a rollback: its serial, and the text.
    probation: Option<(u64, String)>,
    ask_password: bool,
}

#[derive(Deserialize)]
pub(crate) struct DiffQuery {
    diff: u64,
}

async fn page(panel: &Panel, s: &Session) -> HistoryPage {
    let c = Chrome::new(Some(s), s.lang, |t| t.history_title);
    let (versions, error) = match ask(
        &panel.sockets.settings,
        s,
        serde_json::json!({"op": "history"}),
    )
    .await
    {
        Ok(list) => (
            list.as_array()
                .map(|a| {
                    a.iter()
                        .map(|v| VersionRow {
                            version: v["version"].as_u64().unwrap_or(0),
                            time: v["time"].as_str().unwrap_or("").into(),
                            by: v["by"].as_str().unwrap_or("").into(),
                            what: v["what"].as_str().unwrap_or("").into(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            None,
        ),
        Err(why) => (Vec::new(), Some(why)),
    };
    let now = mamori_core::clock::unix_now();
    HistoryPage {
        admin: s.role == Role::Administrator,
        versions,
        diff_of: None,
        changes: Vec::new(),
        error,
        done: Vec::new(),
        probation: None,
        ask_password: !s.recently_authenticated(now),
        c,
    }
}

pub(crate) async fn list(
    State(panel): State<Arc<Panel>>,
    headers: HeaderMap,
    query: Result<Query<DiffQuery>, QueryRejection>,
) -> Response {
    let (_, s) = or_answer!(require(&panel, &headers, Role::Auditor));
    let mut p = page(&panel, &s).await;
    if let Ok(Query(q)) = query {
        let request = serde_json::json!({"op": "diff", "to": q.diff});
        match ask(&panel.sockets.settings, &s, request).await {
            Ok(changes) => {
                p.diff_of = Some(fill(p.c.t.diff_title, q.diff));
                let shown = |v: &serde_json::Value| v.as_str().unwrap_or("—").to_string();
                p.changes = changes
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .map(|c| ChangeRow {
                                key: c["key"].as_str().unwrap_or("").into(),
                                before: shown(&c["before"]),
                                after: shown(&c["after"]),
                            })
                            .collect()
                    })
                    .unwrap_or_default();
            }
            Err(why) => p.error = Some(why),
        }
    }
    render(&p)
}

#[derive(Deserialize)]
pub(crate) struct RollbackForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    version: u64,
    #[serde(default)]
    password: String,
}

pub(crate) async fn rollback(
    State(panel): State<Arc<Panel>>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    form: Result<Form<RollbackForm>, FormRejection>,
) -> Response {
    let (id, s) = or_answer!(require(&panel, &headers, Role::Administrator));
    let f = or_answer!(checked(&s, form));
    let from = source(&peer);
    let t = s.lang.texts();
    let reauth = super::reauthenticate(
        &panel,
        &id,
        &s,
        &f.password,
        from,
        "settings rollback",
        false,
    )
    .await;
    if let Err(why) = reauth {
        let mut p = page(&panel, &s).await;
        p.error = Some(why);
        return render_status(StatusCode::FORBIDDEN, &p);
    }
    let request = serde_json::json!({"op": "rollback", "version": f.version});
    let new = match ask(&panel.sockets.settings, &s, request).await {
        Ok(data) => data["version"].as_u64().unwrap_or(0),
        Err(why) => {
            let mut p = page(&panel, &s).await;
            p.error = Some(fill(t.rollback_failed, why));
            return render_status(StatusCode::CONFLICT, &p);
        }
    };
    panel.audit.record_or_log(
        "panel_settings_rollback",
        serde_json::json!({"by": s.user, "source": from.to_string(), "to": f.version, "new_version": new}),
    );
    let mut done = vec![fill(&fill(t.rollback_done, f.version), new)];
    // Each daemon takes the new version; the firewall on probation.
    let smtpd = ask(
        &panel.sockets.smtpd,
        &s,
        serde_json::json!({"op": "apply_settings", "version": new}),
    )
    .await;
    done.push(outcome(t, "smtpd", smtpd.map(|_| ())));
    let fw = ask(
        &panel.sockets.firewalld,
        &s,
        serde_json::json!({"op": "apply_settings", "version": new, "timeout_secs": panel.confirm_secs()}),
    )
    .await;
    let probation = fw
        .as_ref()
        .ok()
        .and_then(|d| d["serial"].as_u64())
        .map(|serial| (serial, fill(t.firewall_probation, panel.confirm_secs())));
    done.push(outcome(t, "firewalld", fw.map(|_| ())));
    super::apply::tell_updated(&panel, &s, new).await;
    *lock(&panel.dashboard_cache) = None;
    let mut p = page(&panel, &s).await;
    p.done = done;
    p.probation = probation;
    render(&p)
}

fn outcome(t: &mamori_panel::i18n::Texts, daemon: &str, r: Result<(), String>) -> String {
    match r {
        Ok(()) => fill(t.daemon_took, daemon),
        Err(why) => fill(&fill(t.daemon_refused, daemon), why),
    }
}

#[derive(Deserialize)]
pub(crate) struct ConfirmForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    serial: u64,
}

pub(crate) async fn confirm_firewall(
    State(panel): State<Arc<Panel>>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    form: Result<Form<ConfirmForm>, FormRejection>,
) -> Response {
    let (_, s) = or_answer!(require(&panel, &headers, Role::Administrator));
    let f = or_answer!(checked(&s, form));
    panel.audit.record_or_log(
        "panel_firewall_confirmed",
        serde_json::json!({"by": s.user, "source": source(&peer).to_string(), "serial": f.serial}),
    );
    let t = s.lang.texts();
    let answer = ask(
        &panel.sockets.firewalld,
        &s,
        serde_json::json!({"op": "confirm", "serial": f.serial}),
    )
    .await;
    let mut p = page(&panel, &s).await;
    match answer {
        Ok(_) => p.done = vec![t.firewall_confirmed.to_string()],
        Err(why) => {
            p.error = Some(why);
            return render_status(StatusCode::CONFLICT, &p);
        }
    }
    render(&p)
}

csrf_form!(RollbackForm, ConfirmForm);
