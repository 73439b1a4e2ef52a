//! Changing the settings from a page: the panel's audit record first, a new version through
//! the settings service (which checks the whole configuration and records who asked), then
//! the daemon concerned puts it in force — the relay at once, the firewall on probation.
//! One path for the wizard, the mail pages and the firewall page.

use mamori_panel::session::Session;
use serde_json::Value;

use super::ask;
use crate::state::{Panel, lock};

/// What a change came to.
pub(crate) struct Applied {
    /// The new settings version.
    pub version: u64,
    /// The relay's refusal, if it did not take the version now (it takes the current
    /// version when it next starts).
    pub relay_refused: Option<String>,
}

/// Writes `set` and `unset` as a new settings version for `why`, then asks the relay to
/// put it in force. `Err` is the settings service's refusal (which key, and why).
pub(crate) async fn change_relay_settings(
    panel: &Panel,
    s: &Session,
    set: Vec<(String, Value)>,
    unset: Vec<String>,
    why: &str,
) -> Result<Applied, String> {
    let version = new_version(panel, s, set, unset, why).await?;
    let relay_refused = ask(
        &panel.sockets.smtpd,
        s,
        serde_json::json!({"op": "apply_settings", "version": version}),
    )
    .await
    .err();
    if let Some(why) = &relay_refused {
        tracing::warn!(version, error = %why, "the relay did not take the new settings now");
    }
    // The dashboard shows the new version at once.
    *lock(&panel.dashboard_cache) = None;
    Ok(Applied {
        version,
        relay_refused,
    })
}

/// Tells the update daemon to take settings version `version` (its `[update]` section); a
/// box without one, or a refusal, is only logged: the version is in force for the others.
pub(crate) async fn tell_updated(panel: &Panel, s: &Session, version: u64) {
    let req = serde_json::json!({"op": "apply_settings", "version": version});
    if let Err(why) = ask(&panel.sockets.updated, s, req).await {
        tracing::warn!(version, error = %why, "the update daemon did not take the settings now");
    }
}

/// Writes `set` and `unset` as a new settings version for `why`; its number.
async fn new_version(
    panel: &Panel,
    s: &Session,
    set: Vec<(String, Value)>,
    unset: Vec<String>,
    why: &str,
) -> Result<u64, String> {
    let set: Vec<Value> = set
        .into_iter()
        .map(|(key, value)| serde_json::json!({"key": key, "value": value}))
        .collect();
    let request = serde_json::json!({"op": "change", "set": set, "unset": unset, "why": why});
    match ask(&panel.sockets.settings, s, request).await {
        Ok(answer) => Ok(answer.get("version").and_then(Value::as_u64).unwrap_or(0)),
        Err(refused) => {
            // The page's own record (written first) says what was asked; this one says it
            // did not happen, and why.
            panel.audit.record_or_log(
                "panel_change_refused",
                serde_json::json!({
                    "by": s.user,
                    "what": why,
                    "why": refused.chars().take(500).collect::<String>(),
                }),
            );
            Err(refused)
        }
    }
}

/// Records an administrator's `event` about `subject` in the panel's audit log, with the
/// fields of `details` (a JSON object; anything else adds none); nothing may change if it
/// cannot be recorded.
fn audit_first(
    panel: &Panel,
    s: &Session,
    from: std::net::IpAddr,
    (event, subject): (&str, &str),
    details: Value,
) -> Result<(), String> {
    let mut fields =
        serde_json::json!({"by": s.user, "source": from.to_string(), "subject": subject});
    if let (Value::Object(extra), Some(all)) = (details, fields.as_object_mut()) {
        for (key, value) in extra {
            all.entry(key).or_insert(value);
        }
    }
    panel
        .audit
        .record(event, fields)
        .map(|_| ())
        .map_err(|e| format!("the audit log cannot be written: {e}"))
}

/// [`change_relay_settings`] for an administrator's action on a page: the panel's audit
/// log records `event` (who, from where, `details`) first, and nothing changes if it
/// cannot. The settings history says `event: subject`.
pub(crate) async fn audited_change(
    panel: &Panel,
    s: &Session,
    from: std::net::IpAddr,
    (event, subject): (&str, &str),
    set: Vec<(String, Value)>,
    unset: Vec<String>,
) -> Result<Applied, String> {
    audit_first(panel, s, from, (event, subject), Value::Null)?;
    change_relay_settings(panel, s, set, unset, &format!("{event}: {subject}")).await
}

/// The relay settings in force, as the settings service has them (administrators only).
pub(crate) async fn relay_settings(panel: &Panel, s: &Session) -> Result<Value, String> {
    settings_section(panel, s, "smtp").await
}

/// One section of the settings in force (administrators only).
pub(crate) async fn settings_section(
    panel: &Panel,
    s: &Session,
    section: &str,
) -> Result<Value, String> {
    let current = ask(
        &panel.sockets.settings,
        s,
        serde_json::json!({"op": "current"}),
    )
    .await?;
    Ok(current["settings"][section].clone())
}

/// What a firewall change came to.
pub(crate) struct FirewallApplied {
    /// The firewall's probation serial, to confirm (none if it refused the version).
    pub serial: Option<u64>,
    /// The firewall's refusal, if any.
    pub refused: Option<String>,
}

/// A firewall change from a page: audited by the panel first, saved as a settings version,
/// then put in force by the firewall on probation — it goes back to the rules before
/// unless confirmed within the panel's `admin.firewall_confirm_secs` (so a change that
/// cuts the administrator off undoes itself).
pub(crate) async fn audited_firewall_change(
    panel: &Panel,
    s: &Session,
    from: std::net::IpAddr,
    what: (&str, &str),
    set: Vec<(String, Value)>,
) -> Result<FirewallApplied, String> {
    audited_firewall_change_noting(panel, s, from, what, Value::Null, (set, Vec::new())).await
}

/// [`audited_firewall_change`] whose audit record also holds the fields of `details` (the
/// elements added to a set, say).
pub(crate) async fn audited_firewall_change_noting(
    panel: &Panel,
    s: &Session,
    from: std::net::IpAddr,
    (event, subject): (&str, &str),
    details: Value,
    (set, unset): (Vec<(String, Value)>, Vec<String>),
) -> Result<FirewallApplied, String> {
    audit_first(panel, s, from, (event, subject), details)?;
    let version = new_version(panel, s, set, unset, &format!("{event}: {subject}")).await?;
    let answer = ask(
        &panel.sockets.firewalld,
        s,
        serde_json::json!({
            "op": "apply_settings",
            "version": version,
            "timeout_secs": panel.confirm_secs(),
        }),
    )
    .await;
    *lock(&panel.dashboard_cache) = None;
    Ok(match answer {
        Ok(data) => FirewallApplied {
            serial: data["serial"].as_u64(),
            refused: None,
        },
        Err(why) => FirewallApplied {
            serial: None,
            refused: Some(why),
        },
    })
}

/// Where a page shows a reason: a field of the page.
pub(crate) type ReasonAt<P> = fn(&mut P) -> &mut Option<String>;

/// The answer to a page's change of the relay's settings: back to `done` when the relay
/// took it; else the page `p` again with the reason — the relay's (409: the version is
/// saved, the relay takes it when it next starts) at `refused_at`, the settings service's
/// refusal (400: nothing saved) at `error_at`.
pub(crate) fn answer<P: askama::Template>(
    result: Result<Applied, String>,
    done: &str,
    t: &mamori_panel::i18n::Texts,
    mut p: P,
    (refused_at, error_at): (ReasonAt<P>, ReasonAt<P>),
) -> axum::response::Response {
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    use mamori_panel::i18n::fill;
    match result {
        Ok(Applied {
            relay_refused: None,
            ..
        }) => axum::response::Redirect::to(done).into_response(),
        Ok(Applied {
            relay_refused: Some(why),
            ..
        }) => {
            *refused_at(&mut p) = Some(fill(t.relay_not_applied, why));
            super::render_status(StatusCode::CONFLICT, &p)
        }
        Err(why) => {
            *error_at(&mut p) = Some(fill(t.not_saved, why));
            super::render_status(StatusCode::BAD_REQUEST, &p)
        }
    }
}

/// The answer to a page's firewall change: the confirmation page when the firewall took it
/// on probation; the firewall page when it had that model in force already (the version is
/// saved); else the page `p` again with the reason — the firewall's refusal (409: the
/// version is saved, the firewall keeps what it had) at `refused_at`, the settings
/// service's refusal (400: nothing saved) given to `error_at`.
pub(crate) fn firewall_answer<P: askama::Template>(
    result: Result<FirewallApplied, String>,
    t: &mamori_panel::i18n::Texts,
    mut p: P,
    refused_at: ReasonAt<P>,
    error_at: impl FnOnce(&mut P, String),
) -> axum::response::Response {
    use axum::http::StatusCode;
    use axum::response::{IntoResponse, Redirect};
    use mamori_panel::i18n::fill;
    match result {
        Ok(FirewallApplied {
            serial: Some(_),
            refused: None,
        }) => Redirect::to("/firewall/pending").into_response(),
        Ok(FirewallApplied {
            serial: None,
            refused: None,
        }) => Redirect::to("/firewall?done=unchanged").into_response(),
        Ok(FirewallApplied { refused, .. }) => {
            *refused_at(&mut p) = Some(fill(t.fw_refused, refused.unwrap_or_default()));
            super::render_status(StatusCode::CONFLICT, &p)
        }
        Err(why) => {
            error_at(&mut p, fill(t.not_saved, why));
            super::render_status(StatusCode::BAD_REQUEST, &p)
        }
    }
}
