//! The `[update]` section: where updates come from, when they are installed, the board's
//! slots and boot-loader environment (the board's defaults set those), and the health gate.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use mamori_core::report::Report;
use serde::{Deserialize, Serialize};

use crate::slots::Slot;

/// The daemons that answer `health` on a control socket.
pub const HEALTH_DAEMONS: [&str; 2] = ["smtpd", "firewalld"];

/// What to do when an update is available.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Tell the administrator (panel, alert mail); install when they say.
    #[default]
    Notify,
    /// Install in the maintenance window and restart.
    Auto,
}

/// The `[update]` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UpdateConfig {
    /// The repository's `https://` address (the directory holding `metadata/` and
    /// `targets/`). Empty: no automatic checks; bundles can still be uploaded by hand.
    pub repository: String,
    /// A CA certificate (PEM) that alone is trusted for the repository's HTTPS (pinning);
    /// absent: the system's trusted CAs.
    pub repository_ca: Option<PathBuf>,
    /// How often the repository is checked (a random quarter of it is added each time, so
    /// that a fleet does not ask at once). 10 minutes to 7 days; default 6 hours.
    #[serde(with = "humantime_serde")]
    pub check_every: Duration,
    /// `notify` (default) or `auto`.
    pub mode: Mode,
    /// The maintenance window for `auto`, Japan time: `HH:MM-HH:MM` (may cross midnight).
    pub window: String,
    /// Allow installing a version older than the running one (set by an administrator in
    /// the panel, audited; the board and the signatures are never waived).
    pub allow_downgrade: bool,
    /// The root metadata the image shipped (the trust anchor).
    pub root: PathBuf,
    /// The image's release file: `{"board", "version", "built"}`.
    pub release: PathBuf,
    /// The boot loader's environment: `uboot:/etc/fw_env.config`, `grub:/boot/grub/grubenv`
    /// or `file:/path` (the qemu image, tests).
    pub boot_env: String,
    /// Each slot's devices by class: `[update.slots.A] rootfs = "/dev/mmcblk0p2"`.
    pub slots: BTreeMap<String, BTreeMap<String, PathBuf>>,
    /// Boot attempts a newly installed slot gets (1 = boot once; at most 7).
    pub boot_tries: u32,
    /// How long every unit and daemon must stay healthy before a new slot is marked good.
    #[serde(with = "humantime_serde")]
    pub health_window: Duration,
    /// How long after start the new slot may take to become healthy before it is failed
    /// and the box restarts into the previous firmware.
    #[serde(with = "humantime_serde")]
    pub health_deadline: Duration,
    /// The systemd units that must be active for the box to count as healthy.
    pub health_units: Vec<String>,
    /// The daemons whose `health` answer must be `running` (their control sockets):
    /// `smtpd`, `firewalld`.
    pub health_daemons: Vec<String>,
    /// Tests and the try-out only: a directory standing in for the kernel command line
    /// (`cmdline`), the boot id (`boot_id`) and the reboot (`reboot` is written), with no
    /// systemd units checked.
    pub simulate: Option<PathBuf>,
}

impl Default for UpdateConfig {
    fn default() -> Self {
        UpdateConfig {
            repository: String::new(),
            repository_ca: None,
            check_every: Duration::from_secs(6 * 3600),
            mode: Mode::Notify,
            window: "02:00-05:00".into(),
            allow_downgrade: false,
            root: PathBuf::from("/usr/share/mamori/update/root.json"),
            release: PathBuf::from("/usr/share/mamori/release.json"),
            boot_env: "file:/var/lib/mamori/updated/bootenv".into(),
            slots: BTreeMap::new(),
            boot_tries: 1,
            health_window: Duration::from_secs(120),
            health_deadline: Duration::from_secs(600),
            health_units: vec![
                "mamori-smtpd.service".into(),
                "mamori-firewalld.service".into(),
                "mamori-admind.service".into(),
            ],
            health_daemons: vec!["smtpd".into(), "firewalld".into()],
            simulate: None,
        }
    }
}

/// A parsed maintenance window: minutes after midnight, Japan time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Start (inclusive).
    pub start: u32,
    /// End (exclusive); below `start` when the window crosses midnight.
    pub end: u32,
}

impl Window {
    /// Parses `HH:MM-HH:MM`.
    pub fn parse(text: &str) -> Option<Window> {
        let (a, b) = text.split_once('-')?;
        let minutes = |t: &str| -> Option<u32> {
            let (h, m) = t.trim().split_once(':')?;
            if h.len() != 2 || m.len() != 2 {
                return None;
            }
            let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
            (h < 24 && m < 60).then_some(h * 60 + m)
        };
        let (start, end) = (minutes(a)?, minutes(b)?);
        (start != end).then_some(Window { start, end })
    }

    /// Seconds from Unix time `t` until the window next opens (0 when it is open).
    pub fn opens_in(&self, t: u64) -> u64 {
        if self.contains(t) {
            return 0;
        }
        let m = ((t + 9 * 3600) % 86_400) / 60;
        let start = u64::from(self.start);
        let minutes = if start > m {
            start - m
        } else {
            1440 - m + start
        };
        (minutes * 60).saturating_sub((t + 9 * 3600) % 60)
    }

    /// Whether Unix time `t` falls in the window (Japan time, UTC+9, no daylight saving).
    pub fn contains(&self, t: u64) -> bool {
        let m = u32::try_from(((t + 9 * 3600) % 86_400) / 60).unwrap_or(0);
        if self.start < self.end {
            (self.start..self.end).contains(&m)
        } else {
            m >= self.start || m < self.end
        }
    }
}

/// Where the boot environment is kept, parsed from `boot_env`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BootEnvSpec {
    /// U-Boot, described by a `fw_env.config`.
    UBoot(PathBuf),
    /// GRUB's environment block.
    Grub(PathBuf),
    /// A plain file.
    File(PathBuf),
}

impl BootEnvSpec {
    /// Parses `kind:path`.
    pub fn parse(text: &str) -> Option<BootEnvSpec> {
        let (kind, path) = text.split_once(':')?;
        if !path.starts_with('/') {
            return None;
        }
        let path = PathBuf::from(path);
        Some(match kind {
            "uboot" => BootEnvSpec::UBoot(path),
            "grub" => BootEnvSpec::Grub(path),
            "file" => BootEnvSpec::File(path),
            _ => return None,
        })
    }
}

impl UpdateConfig {
    /// The devices of `slot`.
    pub fn devices(&self, slot: Slot) -> BTreeMap<String, PathBuf> {
        self.slots.get(slot.name()).cloned().unwrap_or_default()
    }

    /// Checks the section into `report`.
    pub fn check_into(&self, report: &mut Report) {
        if !self.repository.is_empty()
            && (!self.repository.starts_with("https://")
                || self.repository.contains(char::is_whitespace)
                || self.repository.len() > 512)
        {
            report.error(
                "update.repository",
                &self.repository,
                "the repository's https:// address (updates are fetched over HTTPS only), or nothing",
            );
        }
        let every = self.check_every.as_secs();
        if !(600..=7 * 86_400).contains(&every) {
            report.error(
                "update.check_every",
                humantime::format_duration(self.check_every),
                "between 10 minutes and 7 days",
            );
        }
        if Window::parse(&self.window).is_none() {
            report.error(
                "update.window",
                &self.window,
                "a time range in Japan time such as 02:00-05:00 (it may cross midnight: 23:00-04:00)",
            );
        }
        if BootEnvSpec::parse(&self.boot_env).is_none() {
            report.error(
                "update.boot_env",
                &self.boot_env,
                "uboot:/etc/fw_env.config, grub:/boot/grub/grubenv or file:/absolute/path",
            );
        }
        for (slot, classes) in &self.slots {
            if Slot::from_name(slot).is_none() || slot.chars().any(|c| c.is_ascii_lowercase()) {
                report.error(
                    format!("update.slots.{slot}"),
                    slot,
                    "the slots are A and B",
                );
            }
            for (class, path) in classes {
                if !crate::bundle::CLASSES.contains(&class.as_str()) {
                    report.error(
                        format!("update.slots.{slot}.{class}"),
                        class,
                        "a slot's devices are rootfs and boot",
                    );
                }
                if !path.is_absolute() {
                    report.error(
                        format!("update.slots.{slot}.{class}"),
                        path.display().to_string(),
                        "an absolute device path such as /dev/mmcblk0p2",
                    );
                }
            }
        }
        if !self.slots.is_empty() {
            let a = self.devices(Slot::A);
            let b = self.devices(Slot::B);
            if a.keys().ne(b.keys()) || !a.contains_key("rootfs") {
                report.error(
                    "update.slots",
                    format!(
                        "A: {:?}, B: {:?}",
                        a.keys().collect::<Vec<_>>(),
                        b.keys().collect::<Vec<_>>()
                    ),
                    "both slots need the same classes, rootfs at least",
                );
            }
            if a.values().any(|p| b.values().any(|q| q == p)) {
                report.error("update.slots", "", "slots A and B must not share a device");
            }
        }
        if !(1..=7).contains(&self.boot_tries) {
            report.error(
                "update.boot_tries",
                self.boot_tries.to_string(),
                "between 1 and 7",
            );
        }
        let (w, d) = (self.health_window.as_secs(), self.health_deadline.as_secs());
        if !(10..=3600).contains(&w) {
            report.error(
                "update.health_window",
                humantime::format_duration(self.health_window),
                "between 10 seconds and 1 hour",
            );
        }
        if d < w || d > 4 * 3600 {
            report.error(
                "update.health_deadline",
                humantime::format_duration(self.health_deadline),
                "at least the health window, at most 4 hours",
            );
        }
        for d in &self.health_daemons {
            if !HEALTH_DAEMONS.contains(&d.as_str()) {
                report.error(
                    "update.health_daemons",
                    d,
                    "the daemons with a health answer: smtpd, firewalld",
                );
            }
        }
        for unit in &self.health_units {
            let ok = !unit.is_empty()
                && unit.len() <= 128
                && unit
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.@".contains(&b));
            if !ok {
                report.error(
                    "update.health_units",
                    unit,
                    "a systemd unit name such as mamori-smtpd.service",
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_clean_and_mistakes_name_their_key() {
        let mut r = Report::default();
        UpdateConfig::default().check_into(&mut r);
        assert!(r.is_ok(), "{r}");
        let mut bad = UpdateConfig {
            repository: "http://updates.example.jp/".into(),
            window: "25:00-03:00".into(),
            boot_env: "uboot:relative".into(),
            boot_tries: 0,
            ..UpdateConfig::default()
        };
        bad.slots.insert(
            "A".into(),
            [("rootfs".to_string(), PathBuf::from("/dev/vda2"))].into(),
        );
        bad.slots.insert(
            "B".into(),
            [("rootfs".to_string(), PathBuf::from("/dev/vda2"))].into(),
        );
        let mut r = Report::default();
        bad.check_into(&mut r);
        let keys: Vec<&str> = r.errors.iter().map(|e| e.key.as_str()).collect();
        for k in [
            "update.repository",
            "update.window",
            "update.boot_env",
            "update.boot_tries",
            "update.slots",
        ] {
            assert!(keys.contains(&k), "{k} in {keys:?}");
        }
    }

    #[test]
    fn windows_cross_midnight_in_japan_time() {
        let w = Window::parse("23:00-04:00").unwrap();
        // 2026-12-06T15:30:00Z is 00:30 in Japan.
        assert!(w.contains(1_796_571_000));
        // 2026-12-06T03:00:00Z is 12:00 in Japan.
        assert!(!w.contains(1_796_526_000));
        assert!(Window::parse("02:00-02:00").is_none());
        // At 00:30 JST a window of 02:00-05:00 opens in 1 h 30 min; inside, at once.
        let w = Window::parse("02:00-05:00").unwrap();
        assert_eq!(w.opens_in(1_796_571_000), 90 * 60);
        assert_eq!(w.opens_in(1_796_571_000 + 2 * 3600), 0);
        // At 12:00 JST a window of 02:00-05:00 opens in 14 hours.
        assert_eq!(w.opens_in(1_796_526_000), 14 * 3600);
        assert!(Window::parse("2:00-05:00").is_none());
    }
}
