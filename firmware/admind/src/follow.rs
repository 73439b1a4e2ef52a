//! The panel's own `[admin]` section, followed in the settings store while the panel runs.
//!
//! The panel starts on the settings version in force (`mamori admind --settings`). A later
//! version — from `mamori settings set admin.…`, a rollback, a restored backup — is found
//! by looking at the store every [`FOLLOW_EVERY`] (a directory listing). What the panel can
//! change while it serves is taken at once: the firewall's probation time, the watchdog's
//! period, the re-authentication window (for open sessions too) and the journal the log
//! page reads. The listeners, the certificate files and the setup-code file are kept as
//! they run until the panel starts again, and the journal says so: moving the page under
//! the administrator's browser would cut the person who changed it off.

use std::sync::Arc;
use std::time::Duration;

use mamori_panel::settings::Admin;

use crate::state::{Panel, lock};

/// Reads the newest settings version after `seen` (`None`: none seen yet) and its
/// `[admin]` section; `Ok(None)` when there is no newer version.
pub type AdminSource =
    Box<dyn Fn(Option<u64>) -> Result<Option<(u64, Admin)>, String> + Send + Sync>;

/// How often the store is looked at.
pub const FOLLOW_EVERY: Duration = Duration::from_secs(5);

/// Puts `next` in force for what can change live; answers the keys that wait for the
/// panel's next start (their running values are kept in force meanwhile).
pub fn apply(panel: &Panel, next: &Admin) -> Vec<&'static str> {
    let mut admin = panel
        .admin
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut restart = Vec::new();
    if admin.listen != next.listen {
        restart.push("admin.listen");
    }
    if admin.redirect_listen != next.redirect_listen {
        restart.push("admin.redirect_listen");
    }
    if admin.cert_file != next.cert_file {
        restart.push("admin.cert_file");
    }
    if admin.key_file != next.key_file {
        restart.push("admin.key_file");
    }
    if admin.setup_code_file != next.setup_code_file {
        restart.push("admin.setup_code_file");
    }
    if admin.reauth_secs != next.reauth_secs {
        lock(&panel.sessions).set_reauth(next.reauth_secs);
    }
    *admin = Admin {
        listen: admin.listen,
        redirect_listen: admin.redirect_listen,
        cert_file: admin.cert_file.take(),
        key_file: admin.key_file.take(),
        setup_code_file: admin.setup_code_file.take(),
        ..next.clone()
    };
    restart
}

/// Looks at the store every [`FOLLOW_EVERY`] and takes each newer version's `[admin]`
/// section ([`apply`]), until the runtime ends. `seen` is the version the panel started
/// on.
pub async fn follow(panel: Arc<Panel>, source: AdminSource, mut seen: Option<u64>) {
    let source = Arc::new(source);
    let mut last_error: Option<String> = None;
    loop {
        tokio::time::sleep(FOLLOW_EVERY).await;
        let read = source.clone();
        let found = tokio::task::spawn_blocking(move || read(seen))
            .await
            .map_err(|e| e.to_string())
            .and_then(|r| r);
        match found {
            Ok(Some((version, admin))) => {
                seen = Some(version);
                last_error = None;
                let restart = apply(&panel, &admin);
                if restart.is_empty() {
                    tracing::info!(version, "the panel took settings version {version}");
                } else {
                    tracing::warn!(
                        version,
                        keys = %restart.join(", "),
                        "the panel took settings version {version}; {} take(s) effect when the panel restarts",
                        restart.join(", ")
                    );
                }
            }
            Ok(None) => last_error = None,
            Err(e) => {
                // Said once, not every few seconds.
                if last_error.as_deref() != Some(e.as_str()) {
                    tracing::warn!(error = %e, "could not read the panel's settings from the store");
                    last_error = Some(e);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Sockets;
    use mamori_panel::i18n::Lang;
    use mamori_panel::users::Role;

    fn panel(dir: &std::path::Path) -> Panel {
        let (cert, _) =
            crate::tls::load_or_make_any(None, &dir.join("tls"), &["box.test".to_string()])
                .unwrap();
        let audit =
            Arc::new(mamori_core::audit::AuditLog::open(&dir.join("audit"), 1 << 20, 2).unwrap());
        let none = dir.join("none.sock");
        let sockets = Sockets {
            settings: none.clone(),
            smtpd: none.clone(),
            firewalld: none.clone(),
            updated: none,
        };
        Panel::open(dir, cert, sockets, audit, "box.test".into(), 443).unwrap()
    }

    #[test]
    fn live_keys_are_taken_at_once_and_the_listeners_wait_for_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let panel = panel(dir.path());
        let started = Admin::default();
        *panel.admin.write().unwrap() = started.clone();
        let id = lock(&panel.sessions)
            .start("tanaka", Role::Administrator, Lang::Ja, "192.0.2.1", 1000)
            .unwrap();
        let next = Admin {
            listen: "127.0.0.1:9443".parse().unwrap(),
            redirect_listen: None,
            firewall_confirm_secs: 45,
            watchdog_secs: 60,
            reauth_secs: 20,
            journal_dir: Some("/var/log/journal-test".into()),
            ..started.clone()
        };
        let restart = apply(&panel, &next);
        assert_eq!(restart, vec!["admin.listen", "admin.redirect_listen"]);
        assert_eq!(panel.confirm_secs(), 45);
        assert_eq!(panel.watchdog_every(), Duration::from_secs(60));
        assert_eq!(
            panel.journal_dir(),
            Some(std::path::PathBuf::from("/var/log/journal-test"))
        );
        // What runs stays in force until the restart.
        assert_eq!(panel.admin_in_force().listen, started.listen);
        assert_eq!(
            panel.admin_in_force().redirect_listen,
            started.redirect_listen
        );
        // The open session asks for the password after 20 s now, not 300.
        let mut sessions = lock(&panel.sessions);
        let session = sessions.touch(&id, 1010).unwrap();
        assert!(session.recently_authenticated(1020));
        assert!(!session.recently_authenticated(1021));
        drop(sessions);
        // The same version again changes nothing and names no key.
        assert!(
            apply(&panel, &next).len() == 2,
            "the listeners still differ"
        );
        let same = Admin {
            listen: started.listen,
            redirect_listen: started.redirect_listen,
            ..next.clone()
        };
        assert!(apply(&panel, &same).is_empty());
    }
}
