//! Backups (administrators, after the password again), in the `mamori settings export`
//! format: the settings the office set, the relay accounts' password hashes sealed with a
//! passphrase when one is given (else left out); and a backup brought back — checked whole
//! by the settings service (a wrong passphrase, a newer format, every problem with its key:
//! nothing written), then saved as a new version and put in force in the relay at once and
//! in the firewall on probation.

use std::sync::Arc;

use askama::Template;
use axum::extract::rejection::FormRejection;
use axum::extract::{Extension, Form, Multipart, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use mamori_panel::i18n::fill;
use mamori_panel::session::Session;
use mamori_panel::users::Role;
use serde::Deserialize;

use super::{
    Chrome, Peer, ask, checked, csrf_form, or_answer, render, render_status, require, source,
};
use crate::state::{Panel, lock};

/// The largest backup taken back (the settings service reads requests up to 4 MiB).
pub const MAX_BACKUP_BODY: usize = 3 << 20;

#[derive(Template)]
#[template(path = "backup.html")]
struct BackupPage {
    c: Chrome,
    ask_password: bool,
    export_error: Option<String>,
    import_error: Option<String>,
    problems: Vec<String>,
    done: Vec<String>,
    pending: bool,
}

fn page(s: &Session) -> BackupPage {
    let now = mamori_core::clock::unix_now();
    BackupPage {
        c: Chrome::new(Some(s), s.lang, |t| t.backup_title),
        ask_password: !s.recently_authenticated(now),
        export_error: None,
        import_error: None,
        problems: Vec::new(),
        done: Vec::new(),
        pending: false,
    }
}

pub(crate) async fn show(State(panel): State<Arc<Panel>>, headers: HeaderMap) -> Response {
    let (_, s) = or_answer!(require(&panel, &headers, Role::Administrator));
    render(&page(&s))
}

#[derive(Deserialize)]
pub(crate) struct ExportForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    current: String,
    /// Seal the account passwords with this (empty: leave them out).
    #[serde(default)]
    passphrase: String,
}

pub(crate) async fn export(
    State(panel): State<Arc<Panel>>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    form: Result<Form<ExportForm>, FormRejection>,
) -> Response {
    let (id, s) = or_answer!(require(&panel, &headers, Role::Administrator));
    let f = or_answer!(checked(&s, form));
    let from = source(&peer);
    let mut p = page(&s);
    let t = p.c.t;
    if let Err(why) =
        super::reauthenticate(&panel, &id, &s, &f.current, from, "backup export", false).await
    {
        p.export_error = Some(why);
        return render_status(StatusCode::FORBIDDEN, &p);
    }
    if !f.passphrase.is_empty() && f.passphrase.chars().count() < 12 {
        p.export_error = Some(t.backup_passphrase_short.into());
        return render_status(StatusCode::BAD_REQUEST, &p);
    }
    if let Err(e) = panel.audit.record(
        "panel_backup_exported",
        serde_json::json!({"by": s.user, "source": from.to_string()}),
    ) {
        p.export_error = Some(fill(t.not_saved, e));
        return render_status(StatusCode::INTERNAL_SERVER_ERROR, &p);
    }
    let passphrase = (!f.passphrase.is_empty()).then_some(&f.passphrase);
    let request = serde_json::json!({"op": "export", "passphrase": passphrase});
    let exported = match ask(&panel.sockets.settings, &s, request).await {
        Ok(v) => v,
        Err(why) => {
            p.export_error = Some(why);
            return render_status(StatusCode::BAD_REQUEST, &p);
        }
    };
    let version = exported["version"].as_u64().unwrap_or(0);
    let day: String = mamori_core::clock::rfc3339_utc(mamori_core::clock::unix_now())
        .chars()
        .take(10)
        .collect();
    let name = format!("mamori-settings-v{version}-{day}.json");
    let mut response = exported["backup"]
        .as_str()
        .unwrap_or("")
        .to_string()
        .into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    response
}

pub(crate) async fn import(
    State(panel): State<Arc<Panel>>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    multipart: Multipart,
) -> Response {
    let (id, s) = or_answer!(require(&panel, &headers, Role::Administrator));
    let mut p = page(&s);
    let t = p.c.t;
    let Ok(form) = super::upload::read(multipart).await else {
        p.import_error = Some(t.backup_too_big.into());
        return render_status(StatusCode::PAYLOAD_TOO_LARGE, &p);
    };
    if !super::csrf_ok(&s, &form.text("_csrf")) {
        return super::csrf_refused(s.lang);
    }
    let from = source(&peer);
    if let Err(why) = super::reauthenticate(
        &panel,
        &id,
        &s,
        &form.text("current"),
        from,
        "backup restore",
        false,
    )
    .await
    {
        p.import_error = Some(why);
        return render_status(StatusCode::FORBIDDEN, &p);
    }
    let Some(file) = form.file("file") else {
        p.import_error = Some(t.backup_choose_file.into());
        return render_status(StatusCode::BAD_REQUEST, &p);
    };
    let Ok(text) = String::from_utf8(file.bytes.clone()) else {
        p.import_error = Some(t.backup_not_text.into());
        return render_status(StatusCode::BAD_REQUEST, &p);
    };
    // The whole file checked first: every problem with its key, nothing written.
    let passphrase = form.text("passphrase");
    let passphrase = (!passphrase.is_empty()).then_some(passphrase);
    let check = serde_json::json!({"op": "restore", "backup": text, "passphrase": passphrase, "check_only": true, "why": ""});
    let report = match ask(&panel.sockets.settings, &s, check).await {
        Ok(r) => r,
        Err(why) => {
            p.import_error = Some(fill(t.backup_refused, why));
            return render_status(StatusCode::BAD_REQUEST, &p);
        }
    };
    let problems: Vec<String> = report["errors"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|e| {
            format!(
                "{} = {}: {}",
                e["key"].as_str().unwrap_or(""),
                e["value"].as_str().unwrap_or(""),
                e["reason"].as_str().unwrap_or("")
            )
        })
        .take(100)
        .collect();
    if !problems.is_empty() {
        p.import_error = Some(fill(
            t.backup_refused,
            fill(t.backup_problems, problems.len()),
        ));
        p.problems = problems;
        return render_status(StatusCode::BAD_REQUEST, &p);
    }
    let name = file.file_name.clone().unwrap_or_default();
    if let Err(e) = panel.audit.record(
        "panel_backup_restored",
        serde_json::json!({"by": s.user, "source": from.to_string(), "file": name}),
    ) {
        p.import_error = Some(fill(t.not_saved, e));
        return render_status(StatusCode::INTERNAL_SERVER_ERROR, &p);
    }
    let restore = serde_json::json!({"op": "restore", "backup": text, "passphrase": passphrase, "why": format!("backup restored: {name}")});
    let version = match ask(&panel.sockets.settings, &s, restore).await {
        Ok(v) => v["version"].as_u64().unwrap_or(0),
        Err(why) => {
            p.import_error = Some(fill(t.backup_refused, why));
            return render_status(StatusCode::BAD_REQUEST, &p);
        }
    };
    p.done.push(fill(t.backup_restored, version));
    let smtpd = ask(
        &panel.sockets.smtpd,
        &s,
        serde_json::json!({"op": "apply_settings", "version": version}),
    )
    .await;
    p.done.push(match smtpd {
        Ok(_) => fill(t.daemon_took, "smtpd"),
        Err(why) => fill(&fill(t.daemon_refused, "smtpd"), why),
    });
    let fw = ask(
        &panel.sockets.firewalld,
        &s,
        serde_json::json!({"op": "apply_settings", "version": version, "timeout_secs": panel.confirm_secs()}),
    )
    .await;
    p.pending = fw.as_ref().is_ok_and(|d| d["serial"].as_u64().is_some());
    p.done.push(match fw {
        Ok(_) => fill(t.daemon_took, "firewalld"),
        Err(why) => fill(&fill(t.daemon_refused, "firewalld"), why),
    });
    super::apply::tell_updated(&panel, &s, version).await;
    *lock(&panel.dashboard_cache) = None;
    render(&p)
}

csrf_form!(ExportForm);
