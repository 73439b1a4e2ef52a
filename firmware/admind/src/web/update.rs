//! System → Update: the running firmware and slot, the clock expiry is judged by, the last
//! check, the update on offer with its notes, the progress of an install, the restart, the
//! history (a failed update stands out), an offline update file to upload, and the update
//! settings. Every role reads it; installing, uploading, restarting and allowing downgrades
//! are the administrators', after their password (re-authentication), and audited before
//! they take effect — by the panel's chain and again by the update daemon's.

use std::sync::Arc;

use askama::Template;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Extension, Form, Multipart, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use mamori_panel::i18n::{Texts, fill};
use mamori_panel::session::Session;
use mamori_panel::users::Role;
use serde::Deserialize;
use serde_json::Value;

use super::{
    Chrome, Peer, ask, checked, csrf_form, or_answer, render, render_status, require, source,
};
use crate::state::Panel;

/// The largest update file taken (a root file system image and its metadata).
pub(crate) const MAX_UPLOAD: usize = 2 << 30;

/// One line of a table.
struct Row {
    cells: Vec<String>,
}

#[derive(Template)]
#[template(path = "update.html")]
struct UpdatePage {
    c: Chrome,
    admin: bool,
    version: String,
    board: String,
    slot: String,
    blocked: Option<String>,
    clock: String,
    clock_ok: bool,
    repository: String,
    last_check: String,
    check_error: Option<String>,
    available: Option<AvailableView>,
    progress: Option<ProgressView>,
    reboot_pending: bool,
    trial: Option<String>,
    trial_problems: Option<String>,
    failed: Option<String>,
    last_error: Option<String>,
    slots: Vec<Row>,
    history: Vec<Row>,
    ask_password: bool,
    mode_auto: bool,
    window: String,
    allow_downgrade: bool,
    settings_error: Option<String>,
    install_error: Option<String>,
    upload_error: Option<String>,
    done: Option<String>,
    error: Option<String>,
}

struct AvailableView {
    target: String,
    version: String,
    size: String,
    notes: String,
    downgrade: bool,
}

struct ProgressView {
    version: String,
    phase: String,
    done: u64,
    total: u64,
    percent: u64,
}

/// The update daemon's newest verdict on an update (its `status`), when it was a failure:
/// when, which version, why. The page's banner and the watchdog's alert mail.
pub(crate) fn update_failure(status: &Value) -> Option<(u64, String, String)> {
    let newest = status["history"].as_array()?.iter().find(|h| {
        ["good", "failed", "rolled_back", "installed", "fell_back"]
            .contains(&h["event"].as_str().unwrap_or(""))
    })?;
    if !["failed", "rolled_back", "fell_back"].contains(&newest["event"].as_str()?) {
        return None;
    }
    Some((
        newest["time"].as_u64()?,
        newest["version"].as_str().unwrap_or("").to_string(),
        newest["detail"].as_str().unwrap_or("").to_string(),
    ))
}

fn jst(secs: u64) -> String {
    format!("{} JST", mamori_panel::clock::jst_text(secs))
}

fn rfc_to_jst(text: &str) -> String {
    mamori_core::clock::parse_rfc3339_utc(text).map_or_else(|| text.to_string(), jst)
}

fn size_text(bytes: u64) -> String {
    if bytes >= 1 << 20 {
        format!("{:.1} MiB", bytes as f64 / f64::from(1u32 << 20))
    } else {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    }
}

fn phase_text(t: &Texts, phase: &str) -> String {
    match phase {
        "written" => t.up_phase_written,
        "verified" => t.up_phase_verified,
        "marked" => t.up_phase_marked,
        _ => t.up_phase_downloading,
    }
    .into()
}

async fn update_page(panel: &Panel, s: &Session) -> UpdatePage {
    let c = Chrome::new(Some(s), s.lang, |t| t.up_title);
    let t = c.t;
    let admin = s.role == Role::Administrator;
    let (st, error) = match ask(
        &panel.sockets.updated,
        s,
        serde_json::json!({"op": "status"}),
    )
    .await
    {
        Ok(v) => (v, None),
        Err(why) => (Value::Null, Some(fill(t.up_daemon_down, why))),
    };
    let settings = if admin {
        super::apply::settings_section(panel, s, "update")
            .await
            .unwrap_or(Value::Null)
    } else {
        Value::Null
    };
    let text = |v: &Value| v.as_str().unwrap_or("").to_string();
    let basis = match st["clock"]["basis"].as_str() {
        Some("clock") => t.up_basis_clock,
        Some("build time") => t.up_basis_build,
        _ => t.up_basis_known,
    };
    let judged = format!(
        "{} ({basis})",
        rfc_to_jst(st["clock"]["judged_at"].as_str().unwrap_or(""))
    );
    let clock_ok = st["clock"]["synchronized"] == true;
    let clock = fill(
        if clock_ok {
            t.up_clock_synced
        } else {
            t.up_clock_not_synced
        },
        judged,
    );
    let (last_check, check_error) = match &st["last_check"] {
        Value::Null => (t.up_never_checked.to_string(), None),
        c if c["ok"] == true => (fill(t.up_check_ok, rfc_to_jst(&text(&c["time"]))), None),
        c => (
            fill(t.up_check_refused, rfc_to_jst(&text(&c["time"]))),
            Some(format!("{} ({})", text(&c["error"]), text(&c["kind"]))),
        ),
    };
    let lang = s.lang.code();
    let available = st["available"].as_object().map(|a| AvailableView {
        target: a.get("target").map(text).unwrap_or_default(),
        version: a.get("version").map(text).unwrap_or_default(),
        size: size_text(a.get("length").and_then(Value::as_u64).unwrap_or(0)),
        notes: a
            .get("notes")
            .and_then(|n| n.get(lang).or_else(|| n.get("en")).or_else(|| n.get("ja")))
            .map(text)
            .unwrap_or_default(),
        downgrade: a.get("downgrade") == Some(&Value::Bool(true)),
    });
    let progress = st["progress"].as_object().map(|p| {
        let done = p.get("done").and_then(Value::as_u64).unwrap_or(0);
        let total = p.get("total").and_then(Value::as_u64).unwrap_or(0).max(1);
        ProgressView {
            version: p.get("version").map(text).unwrap_or_default(),
            phase: phase_text(t, p.get("phase").and_then(Value::as_str).unwrap_or("")),
            done,
            total,
            percent: (done.min(total) * 100) / total,
        }
    });
    let history: Vec<Value> = st["history"].as_array().cloned().unwrap_or_default();
    // The newest verdict on an update, when it was a failure, stands out at the top.
    let failed =
        update_failure(&st).map(|(_, version, why)| fill(&fill(t.up_failed_banner, version), why));
    let trial = st["trial"]
        .as_object()
        .filter(|tr| tr.get("kind").and_then(Value::as_str) == Some("trial"));
    let slots = st["slots"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(slot, r)| Row {
                    cells: vec![
                        slot.clone(),
                        text(&r["version"]),
                        text(&r["status"]),
                        r["since"].as_u64().map(jst).unwrap_or_default(),
                    ],
                })
                .collect()
        })
        .unwrap_or_default();
    UpdatePage {
        admin,
        version: text(&st["release"]["version"]),
        board: text(&st["release"]["board"]),
        slot: st["booted"].as_str().unwrap_or("-").to_string(),
        blocked: st["blocked"].as_str().map(|b| fill(t.up_blocked, b)),
        clock,
        clock_ok,
        repository: match st["repository"].as_str() {
            Some(r) if !r.is_empty() => r.to_string(),
            _ => t.up_no_repository.into(),
        },
        last_check,
        check_error,
        available,
        progress,
        reboot_pending: st["reboot_pending"] == true,
        trial: trial.map(|tr| {
            fill(
                t.up_trial,
                rfc_to_jst(tr.get("deadline").map(text).unwrap_or_default().as_str()),
            )
        }),
        trial_problems: trial.and_then(|tr| {
            let list: Vec<String> = tr.get("problems")?.as_array()?.iter().map(text).collect();
            (!list.is_empty()).then(|| fill(t.up_trial_problems, list.join("; ")))
        }),
        failed,
        last_error: st["last_error"].as_object().map(|e| {
            fill(
                t.up_last_error,
                format!(
                    "{} ({})",
                    e.get("error").map(text).unwrap_or_default(),
                    e.get("kind").map(text).unwrap_or_default()
                ),
            )
        }),
        slots,
        history: history
            .iter()
            .take(30)
            .map(|h| Row {
                cells: vec![
                    h["time"].as_u64().map(jst).unwrap_or_default(),
                    text(&h["event"]),
                    text(&h["slot"]),
                    text(&h["version"]),
                    text(&h["detail"]),
                ],
            })
            .collect(),
        ask_password: !s.recently_authenticated(mamori_core::clock::unix_now()),
        mode_auto: settings["mode"] == "auto",
        window: settings["window"]
            .as_str()
            .unwrap_or("02:00-05:00")
            .to_string(),
        allow_downgrade: settings["allow_downgrade"] == true,
        settings_error: None,
        install_error: None,
        upload_error: None,
        done: None,
        error,
        c,
    }
}

/// `?done=check|install|reboot|settings`.
#[derive(Deserialize, Default)]
pub(crate) struct DoneQuery {
    #[serde(default)]
    done: String,
}

pub(crate) async fn page(
    State(panel): State<Arc<Panel>>,
    headers: HeaderMap,
    query: Result<Query<DoneQuery>, QueryRejection>,
) -> Response {
    let (_, s) = or_answer!(require(&panel, &headers, Role::Auditor));
    let mut p = update_page(&panel, &s).await;
    let t = p.c.t;
    p.done = match query.map(|Query(q)| q.done).unwrap_or_default().as_str() {
        "check" => Some(t.up_checked.into()),
        "install" => Some(t.up_install_started.into()),
        "reboot" => Some(t.up_rebooting.into()),
        "settings" => Some(t.up_settings_saved.into()),
        _ => None,
    };
    render(&p)
}

#[derive(Deserialize)]
pub(crate) struct CheckForm {
    #[serde(rename = "_csrf")]
    csrf: String,
}

#[derive(Deserialize)]
pub(crate) struct InstallForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    target: String,
    #[serde(default)]
    reboot: Option<String>,
    #[serde(default)]
    current: String,
}

#[derive(Deserialize)]
pub(crate) struct SettingsForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    mode: String,
    #[serde(default)]
    window: String,
    #[serde(default)]
    repository: String,
    #[serde(default)]
    allow_downgrade: Option<String>,
    #[serde(default)]
    current: String,
}

csrf_form!(CheckForm, InstallForm, SettingsForm);

/// Check the repository now (administrators).
pub(crate) async fn check(
    State(panel): State<Arc<Panel>>,
    headers: HeaderMap,
    form: Result<Form<CheckForm>, FormRejection>,
) -> Response {
    let (_, s) = or_answer!(require(&panel, &headers, Role::Administrator));
    let _ = or_answer!(checked(&s, form));
    match ask(
        &panel.sockets.updated,
        &s,
        serde_json::json!({"op": "check"}),
    )
    .await
    {
        Ok(_) => Redirect::to("/system/update?done=check").into_response(),
        Err(why) => {
            let mut p = update_page(&panel, &s).await;
            p.error = Some(why);
            render_status(StatusCode::CONFLICT, &p)
        }
    }
}

/// An administrator's action on the update daemon: the password again (re-authentication
/// for `what`), the panel's audit record `event` with `details` first, then `request`; back
/// to the page with `?done=<done>`, or the page with the reason next to the install form.
async fn act(
    panel: &Panel,
    (id, s): (&str, &Session),
    (from, current): (std::net::IpAddr, &str),
    (what, event, details): (&str, &str, Value),
    request: Value,
    done: &str,
) -> Response {
    let mut p = update_page(panel, s).await;
    if let Err(why) = super::reauthenticate(panel, id, s, current, from, what, false).await {
        p.install_error = Some(why);
        return render_status(StatusCode::FORBIDDEN, &p);
    }
    if let Err(e) = panel.audit(event, &s.user, from, details) {
        p.install_error = Some(e.to_string());
        return render_status(StatusCode::INTERNAL_SERVER_ERROR, &p);
    }
    match ask(&panel.sockets.updated, s, request).await {
        Ok(_) => Redirect::to(&format!("/system/update?done={done}")).into_response(),
        Err(why) => {
            p.install_error = Some(why);
            render_status(StatusCode::CONFLICT, &p)
        }
    }
}

/// Install the update on offer (administrators, after their password).
pub(crate) async fn install(
    State(panel): State<Arc<Panel>>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    form: Result<Form<InstallForm>, FormRejection>,
) -> Response {
    let (id, s) = or_answer!(require(&panel, &headers, Role::Administrator));
    let f = or_answer!(checked(&s, form));
    let target = (!f.target.is_empty()).then(|| f.target.chars().take(255).collect::<String>());
    let reboot = f.reboot.is_some();
    act(
        &panel,
        (&id, &s),
        (source(&peer), &f.current),
        (
            "firmware update",
            "panel_update_install",
            serde_json::json!({"target": target, "reboot": reboot}),
        ),
        serde_json::json!({"op": "install", "target": target, "reboot": reboot, "wait": false}),
        "install",
    )
    .await
}

/// Restart into the installed update (administrators, after their password).
pub(crate) async fn reboot(
    State(panel): State<Arc<Panel>>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    form: Result<Form<InstallForm>, FormRejection>,
) -> Response {
    let (id, s) = or_answer!(require(&panel, &headers, Role::Administrator));
    let f = or_answer!(checked(&s, form));
    act(
        &panel,
        (&id, &s),
        (source(&peer), &f.current),
        ("restart", "panel_update_reboot", Value::Null),
        serde_json::json!({"op": "reboot"}),
        "reboot",
    )
    .await
}

/// The update settings (administrators; allowing downgrades needs the password).
pub(crate) async fn settings(
    State(panel): State<Arc<Panel>>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    form: Result<Form<SettingsForm>, FormRejection>,
) -> Response {
    let (id, s) = or_answer!(require(&panel, &headers, Role::Administrator));
    let f = or_answer!(checked(&s, form));
    let from = source(&peer);
    let mut p = update_page(&panel, &s).await;
    let t = p.c.t;
    let downgrade = f.allow_downgrade.is_some();
    p.mode_auto = f.mode == "auto";
    p.window = f.window.chars().take(40).collect();
    p.allow_downgrade = downgrade;
    let window = f.window.trim().to_string();
    if mamori_update::config::Window::parse(&window).is_none() {
        p.settings_error = Some(t.up_problem_window.into());
        return render_status(StatusCode::BAD_REQUEST, &p);
    }
    let repository = f.repository.trim().to_string();
    if !repository.is_empty()
        && (!repository.starts_with("https://")
            || repository.contains(char::is_whitespace)
            || repository.len() > 512)
    {
        p.settings_error = Some(t.up_problem_repository.into());
        return render_status(StatusCode::BAD_REQUEST, &p);
    }
    let was = super::apply::settings_section(&panel, &s, "update")
        .await
        .unwrap_or(Value::Null);
    if downgrade
        && was["allow_downgrade"] != true
        && let Err(why) = super::reauthenticate(
            &panel,
            &id,
            &s,
            &f.current,
            from,
            "allow firmware downgrade",
            false,
        )
        .await
    {
        p.settings_error = Some(why);
        return render_status(StatusCode::FORBIDDEN, &p);
    }
    let mode = if f.mode == "auto" { "auto" } else { "notify" };
    let subject = format!(
        "mode {mode}, window {window}, downgrade {}, repository {repository:?}",
        if downgrade { "allowed" } else { "refused" }
    );
    let set = vec![
        ("update.mode".to_string(), Value::from(mode)),
        ("update.window".to_string(), Value::from(window)),
        ("update.repository".to_string(), Value::from(repository)),
        ("update.allow_downgrade".to_string(), Value::Bool(downgrade)),
    ];
    match super::apply::audited_change(
        &panel,
        &s,
        from,
        ("panel_update_settings", &subject),
        set,
        Vec::new(),
    )
    .await
    {
        Ok(applied) => {
            // The update daemon takes the version at once (its next check uses it).
            super::apply::tell_updated(&panel, &s, applied.version).await;
            Redirect::to("/system/update?done=settings").into_response()
        }
        Err(why) => {
            p.settings_error = Some(fill(t.not_saved, why));
            render_status(StatusCode::BAD_REQUEST, &p)
        }
    }
}

/// An offline update file (administrators, after their password). The file is streamed to
/// the uploads directory (never held in memory), then the update daemon is asked to install
/// it; the fields before the file (token, password, choices) are checked before a byte of
/// it is written.
pub(crate) async fn upload(
    State(panel): State<Arc<Panel>>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    mut multipart: Multipart,
) -> Response {
    let (id, s) = or_answer!(require(&panel, &headers, Role::Administrator));
    let from = source(&peer);
    let mut fields = std::collections::HashMap::new();
    let mut saved: Option<std::path::PathBuf> = None;
    let mut failure: Option<(StatusCode, String)> = None;
    let t = s.lang.texts();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(_) => {
                failure = Some((
                    StatusCode::PAYLOAD_TOO_LARGE,
                    fill(t.up_upload_too_big, size_text(MAX_UPLOAD as u64)),
                ));
                break;
            }
        };
        let name = field.name().unwrap_or("").to_string();
        if name != "file" {
            if fields.len() >= 8 {
                break;
            }
            let value = field.text().await.unwrap_or_default();
            fields.insert(name, value.chars().take(1024).collect::<String>());
            continue;
        }
        // Everything the file depends on comes before it in the form.
        if !super::csrf_ok(&s, fields.get("_csrf").map_or("", String::as_str)) {
            return super::csrf_refused(s.lang);
        }
        if let Err(why) = super::reauthenticate(
            &panel,
            &id,
            &s,
            fields.get("current").map_or("", String::as_str),
            from,
            "firmware update from a file",
            false,
        )
        .await
        {
            failure = Some((StatusCode::FORBIDDEN, why));
            break;
        }
        match save_upload(&panel.update_uploads, field).await {
            Ok(Some(path)) => saved = Some(path),
            Ok(None) => {}
            Err(why) => {
                failure = Some((StatusCode::PAYLOAD_TOO_LARGE, why));
                break;
            }
        }
    }
    let mut p = update_page(&panel, &s).await;
    if let Some((status, why)) = failure {
        if let Some(path) = &saved {
            let _ = std::fs::remove_file(path);
        }
        p.upload_error = Some(why);
        return render_status(status, &p);
    }
    if !super::csrf_ok(&s, fields.get("_csrf").map_or("", String::as_str)) {
        return super::csrf_refused(s.lang);
    }
    let Some(path) = saved else {
        p.upload_error = Some(t.up_upload_choose.into());
        return render_status(StatusCode::BAD_REQUEST, &p);
    };
    let accept_expired = fields.contains_key("accept_expired");
    let reboot = fields.contains_key("reboot");
    if let Err(e) = panel.audit(
        "panel_update_upload",
        &s.user,
        from,
        serde_json::json!({"file": path.display().to_string(), "accept_expired": accept_expired, "reboot": reboot}),
    ) {
        let _ = std::fs::remove_file(&path);
        p.upload_error = Some(e.to_string());
        return render_status(StatusCode::INTERNAL_SERVER_ERROR, &p);
    }
    let req = serde_json::json!({"op": "install_file", "path": path, "accept_expired": accept_expired, "reboot": reboot, "wait": false, "remove_after": true});
    match ask(&panel.sockets.updated, &s, req).await {
        Ok(_) => Redirect::to("/system/update?done=install").into_response(),
        Err(why) => {
            let _ = std::fs::remove_file(&path);
            p.upload_error = Some(why);
            render_status(StatusCode::CONFLICT, &p)
        }
    }
}

/// Streams the file field into a new file in `dir` (mode 0640); `Ok(None)` when no file
/// was chosen. Older uploads are removed first: one at a time is kept.
async fn save_upload(
    dir: &std::path::Path,
    mut field: axum::extract::multipart::Field<'_>,
) -> Result<Option<std::path::PathBuf>, String> {
    use std::os::unix::fs::OpenOptionsExt;
    use tokio::io::AsyncWriteExt;
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let _ = std::fs::remove_file(e.path());
        }
    }
    let mut name = [0u8; 8];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut name)
        .map_err(|_| "no random bytes".to_string())?;
    let path = dir.join(format!(
        "update-{:016x}.mamori-update",
        u64::from_le_bytes(name)
    ));
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o640)
        .open(&path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    // 0640 whatever the umask (the unit's is 0077): the update daemon reads it by group.
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o640))
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    // The update daemon reads it through the uploads directory's group.
    if let Some(gid) = mamori_core::identity::Accounts::from_system().group_id("mamori-updated") {
        let _ = std::os::unix::fs::fchown(&file, None, Some(gid));
    }
    let mut out = tokio::fs::File::from_std(file);
    let mut total = 0usize;
    loop {
        match field.chunk().await {
            Ok(Some(bytes)) => {
                total += bytes.len();
                if total > MAX_UPLOAD {
                    drop(out);
                    let _ = std::fs::remove_file(&path);
                    return Err(format!("larger than {}", size_text(MAX_UPLOAD as u64)));
                }
                out.write_all(&bytes).await.map_err(|e| e.to_string())?;
            }
            Ok(None) => break,
            Err(e) => {
                drop(out);
                let _ = std::fs::remove_file(&path);
                return Err(e.to_string());
            }
        }
    }
    out.sync_all().await.map_err(|e| e.to_string())?;
    if total == 0 {
        let _ = std::fs::remove_file(&path);
        return Ok(None);
    }
    Ok(Some(path))
}
