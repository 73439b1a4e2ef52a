//! Changing the relay's settings from a page: a new version through the settings service
//! (which checks the whole configuration and records who asked), then the relay puts it in
//! force. One path for the wizard and every mail page.

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
    let set: Vec<Value> = set
        .into_iter()
        .map(|(key, value)| serde_json::json!({"key": key, "value": value}))
        .collect();
    let request = serde_json::json!({"op": "change", "set": set, "unset": unset, "why": why});
    let version = ask(&panel.sockets.settings, s, request)
        .await?
        .get("version")
        .and_then(Value::as_u64)
        .unwrap_or(0);
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
    let fields = serde_json::json!({"by": s.user, "source": from.to_string(), "subject": subject});
    panel
        .audit
        .record(event, fields)
        .map_err(|e| format!("the audit log cannot be written: {e}"))?;
    change_relay_settings(panel, s, set, unset, &format!("{event}: {subject}")).await
}

/// The relay settings in force, as the settings service has them (administrators only).
pub(crate) async fn relay_settings(panel: &Panel, s: &Session) -> Result<Value, String> {
    let current = ask(
        &panel.sockets.settings,
        s,
        serde_json::json!({"op": "current"}),
    )
    .await?;
    Ok(current["settings"]["smtp"].clone())
}
