//! The watchdog: every `admin.watchdog_secs` it looks at the box as the dashboard does —
//! the daemons, the held mail, the panel's certificate, the data partition's free space —
//! and has the relay mail an alert to `smtp.alert_to` when something needs a person
//! ([`mamori_panel::alerts`] decides what and how often). A daemon counts as down after
//! two looks in a row without an answer, if it runs on this box (its socket is there, or it
//! answered since the panel started). Alerts go out through the relay: while the relay
//! itself is down none can be sent (the journal has it, and the dashboard shows it).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use mamori_panel::alerts::{self, Facts};
use mamori_panel::session::Session;
use mamori_panel::users::Role;

use crate::state::Panel;
use crate::web::ask as ask_as;

/// What the watchdog remembers between looks.
#[derive(Debug, Default)]
pub struct Memory {
    /// Looks in a row without an answer, by daemon.
    misses: BTreeMap<&'static str, u32>,
    /// When each condition was last mailed.
    sent: BTreeMap<String, u64>,
    /// Daemons seen running since the panel started.
    seen_up: std::collections::BTreeSet<&'static str>,
}

/// The identity the daemons see: the panel's own watchdog, with the administrator's right
/// (sending mail is an administrator's action).
fn watchdog() -> Session {
    Session::internal("watchdog", Role::Administrator)
}

/// Free space of the file system holding `dir`, in percent.
fn free_percent(dir: &Path) -> Option<u64> {
    let s = rustix::fs::statvfs(dir).ok()?;
    (s.f_blocks > 0).then(|| s.f_bavail.saturating_mul(100) / s.f_blocks)
}

/// One look: the alerts mailed (their subjects).
pub async fn look(panel: &Panel, data_dir: &Path, memory: &mut Memory) -> Vec<String> {
    let s = watchdog();
    let health = serde_json::json!({"op": "health"});
    let (settingsd, smtpd, firewalld, updated, held, update) = tokio::join!(
        ask_as(&panel.sockets.settings, &s, health.clone()),
        ask_as(&panel.sockets.smtpd, &s, health.clone()),
        ask_as(&panel.sockets.firewalld, &s, health.clone()),
        ask_as(&panel.sockets.updated, &s, health),
        ask_as(
            &panel.sockets.smtpd,
            &s,
            serde_json::json!({"op": "quarantine_list"})
        ),
        ask_as(
            &panel.sockets.updated,
            &s,
            serde_json::json!({"op": "status"})
        ),
    );
    let update = update.unwrap_or_default();
    let mut down = Vec::new();
    let sockets = &panel.sockets;
    for (daemon, answer, socket) in [
        ("settingsd", &settingsd, &sockets.settings),
        ("smtpd", &smtpd, &sockets.smtpd),
        ("firewalld", &firewalld, &sockets.firewalld),
        ("updated", &updated, &sockets.updated),
    ] {
        let ok = answer.as_ref().is_ok_and(|h| h["state"] == "running");
        if ok {
            memory.seen_up.insert(daemon);
        }
        let misses = memory.misses.entry(daemon).or_default();
        *misses = if ok { 0 } else { *misses + 1 };
        // A daemon this box does not run (no socket, never seen: the try-out has no
        // firewall) is not "down".
        let runs_here = socket.exists() || memory.seen_up.contains(daemon);
        if *misses >= 2 && runs_here {
            down.push(daemon.to_string());
        }
    }
    let facts = Facts {
        now: mamori_core::clock::unix_now(),
        down,
        held: held
            .ok()
            .and_then(|h| h.as_array().cloned())
            .unwrap_or_default()
            .iter()
            .map(|m| {
                (
                    m["id"].as_str().unwrap_or("").to_string(),
                    m["arrived"].as_u64().unwrap_or(0),
                )
            })
            .collect(),
        cert_not_after: panel
            .cert
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .not_after_unix,
        disk_free_percent: free_percent(data_dir),
        update_failed: crate::web::update_failure(&update),
        update_available: (update["mode"] == "notify")
            .then(|| update["available"]["version"].as_str().map(str::to_string))
            .flatten(),
    };
    let mut mailed = Vec::new();
    for alert in alerts::due(&facts, &mut memory.sent) {
        let request =
            serde_json::json!({"op": "alert", "subject": alert.subject, "body": alert.body});
        match ask_as(&panel.sockets.smtpd, &s, request).await {
            Ok(_) => {
                tracing::warn!(alert = %alert.subject, "alert mailed");
                mailed.push(alert.subject);
            }
            Err(why) if why.contains("smtp.alert_to") => {
                // No address to mail to: noted once a day like a mailed alert, not retried
                // at every look.
                tracing::warn!(alert = %alert.subject, "no alert address is set (smtp.alert_to)");
            }
            Err(why) => {
                // Not mailed: tried again at the next look.
                memory.sent.remove(&alert.key);
                tracing::error!(alert = %alert.subject, error = %why, "an alert could not be mailed");
            }
        }
    }
    mailed
}

/// The file that keeps the events already mailed (`once:` keys: a failed update, an offer)
/// across restarts of the panel — the box restarts after every update.
const EVENTS_FILE: &str = "alerts-mailed.json";

/// The events mailed, as the file in `dir` keeps them (none when it cannot be read).
fn load_events(dir: &Path) -> BTreeMap<String, u64> {
    std::fs::read(dir.join(EVENTS_FILE))
        .ok()
        .and_then(|b| serde_json::from_slice::<BTreeMap<String, u64>>(&b).ok())
        .map(|m| {
            m.into_iter()
                .filter(|(k, _)| k.starts_with("once:"))
                .collect()
        })
        .unwrap_or_default()
}

/// Writes the events of `sent` to the file in `dir` when they differ from `last`.
fn save_events(dir: &Path, sent: &BTreeMap<String, u64>, last: &mut BTreeMap<String, u64>) {
    let events: BTreeMap<String, u64> = sent
        .iter()
        .filter(|(k, _)| k.starts_with("once:"))
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    if &events == last {
        return;
    }
    let bytes = serde_json::to_vec(&events).unwrap_or_default();
    match mamori_core::fsutil::write_atomic(&dir.join(EVENTS_FILE), &bytes) {
        Ok(()) => *last = events,
        Err(e) => tracing::warn!(error = %e, "could not keep the mailed alerts"),
    }
}

/// Looks every `admin.watchdog_secs` (as in force at each look) until the process ends.
pub async fn run(panel: Arc<Panel>, data_dir: PathBuf) {
    let mut memory = Memory::default();
    let mut saved = load_events(&data_dir);
    memory.sent.extend(saved.clone());
    loop {
        tokio::time::sleep(panel.watchdog_every()).await;
        look(&panel, &data_dir, &mut memory).await;
        save_events(&data_dir, &memory.sent, &mut saved);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mailed_events_outlive_a_restart_and_conditions_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let mut sent = BTreeMap::new();
        sent.insert("once:update-failed:100".to_string(), 200);
        sent.insert("disk".to_string(), 300);
        let mut last = BTreeMap::new();
        save_events(dir.path(), &sent, &mut last);
        let loaded = load_events(dir.path());
        assert_eq!(loaded.len(), 1);
        assert_eq!(loaded.get("once:update-failed:100"), Some(&200));
        // Nothing new: the file is not written again.
        std::fs::remove_file(dir.path().join(EVENTS_FILE)).unwrap();
        save_events(dir.path(), &sent, &mut last);
        assert!(!dir.path().join(EVENTS_FILE).exists());
        // A file that is not ours is no memory.
        std::fs::write(dir.path().join(EVENTS_FILE), b"[1,2").unwrap();
        assert!(load_events(dir.path()).is_empty());
    }
}
