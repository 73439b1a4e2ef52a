//! The `[admin]` section: where the panel listens and where its first-boot setup code
//! goes. Read by `mamori admind` at start.

use std::net::SocketAddr;
use std::path::PathBuf;

use mamori_core::Report;
use serde::{Deserialize, Serialize};

/// The panel's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Admin {
    /// The HTTPS listener.
    pub listen: SocketAddr,
    /// The plain-HTTP listener that only redirects to HTTPS (`None`: none).
    pub redirect_listen: Option<SocketAddr>,
    /// Where the first-boot setup code is also written: a file on the boot (FAT) partition
    /// that the PC which wrote the SD card can read (`None`: the console and the journal
    /// only).
    pub setup_code_file: Option<PathBuf>,
    /// The panel's certificate chain and key (PEM); unset: a self-signed pair made on first
    /// start under the data directory.
    pub cert_file: Option<PathBuf>,
    /// See `cert_file`.
    pub key_file: Option<PathBuf>,
    /// How long a firewall change made in the panel stays on probation before it goes back
    /// by itself, unless confirmed (seconds, 10 to 900; default 120).
    pub firewall_confirm_secs: u64,
    /// How often the watchdog looks at the box for alert mails (seconds, 1 to 3600;
    /// default 300).
    pub watchdog_secs: u64,
    /// How recently the password must have been entered for a sensitive action (a
    /// password, a backup restore, turning a protection off) before it is asked again
    /// (seconds, 10 to 1800; default 300).
    pub reauth_secs: u64,
    /// The journal directory the log page reads (`journalctl --directory`); unset: the
    /// system journal (the panel reads it as a member of `systemd-journal`).
    pub journal_dir: Option<PathBuf>,
}

impl Default for Admin {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([0, 0, 0, 0], 443)),
            redirect_listen: Some(SocketAddr::from(([0, 0, 0, 0], 80))),
            setup_code_file: None,
            cert_file: None,
            key_file: None,
            firewall_confirm_secs: DEFAULT_CONFIRM_SECS,
            watchdog_secs: 300,
            reauth_secs: crate::session::REAUTH_SECS,
            journal_dir: None,
        }
    }
}

/// The default probation of a firewall change made in the panel (seconds).
pub const DEFAULT_CONFIRM_SECS: u64 = 120;

/// Checks the section into `r`.
pub fn check_into(a: &Admin, r: &mut Report) {
    if a.cert_file.is_some() != a.key_file.is_some() {
        r.error(
            "admin.cert_file",
            a.cert_file
                .as_ref()
                .map_or("(unset)".to_string(), |p| p.display().to_string()),
            "set both admin.cert_file and admin.key_file, or neither (a self-signed certificate is made)",
        );
    }
    if a.redirect_listen == Some(a.listen) {
        r.error(
            "admin.redirect_listen",
            a.listen,
            "the redirect needs its own address and port (usually port 80 beside HTTPS on 443)",
        );
    }
    if !(10..=900).contains(&a.firewall_confirm_secs) {
        r.error(
            "admin.firewall_confirm_secs",
            a.firewall_confirm_secs,
            "must be 10 to 900 seconds: long enough to reach the confirm button, short enough that a box cut off comes back soon",
        );
    }
    if !(1..=3600).contains(&a.watchdog_secs) {
        r.error(
            "admin.watchdog_secs",
            a.watchdog_secs,
            "must be 1 to 3600 seconds",
        );
    }
    if !(10..=1800).contains(&a.reauth_secs) {
        r.error(
            "admin.reauth_secs",
            a.reauth_secs,
            "must be 10 to 1800 seconds: the password is asked again before a sensitive action past this",
        );
    }
    if let Some(p) = &a.journal_dir
        && !p.is_absolute()
    {
        r.error(
            "admin.journal_dir",
            p.display(),
            "must be an absolute path (a journal directory such as /var/log/journal)",
        );
    }
    if let Some(p) = &a.setup_code_file
        && !p.is_absolute()
    {
        r.error(
            "admin.setup_code_file",
            p.display(),
            "must be an absolute path (the boot partition, like /boot/mamori-setup-code.txt)",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_a_certificate_and_a_shared_port_are_refused() {
        let mut r = Report::default();
        let a = Admin {
            cert_file: Some("/x.pem".into()),
            redirect_listen: Some(SocketAddr::from(([0, 0, 0, 0], 443))),
            ..Admin::default()
        };
        check_into(&a, &mut r);
        assert_eq!(r.errors.len(), 2, "{r}");
        let mut r = Report::default();
        check_into(&Admin::default(), &mut r);
        assert!(r.is_ok());
    }
}
