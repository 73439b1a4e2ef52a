//! What the update daemon asks of the system, behind one small trait: which slot booted,
//! this boot's id, whether the clock is synchronised, whether units are active, and the
//! restart. The real system answers from `/proc` and systemd; a simulated one (tests, the
//! try-out) from files in a directory, where a "reboot" is a file the test acts on.

use std::path::{Path, PathBuf};

use mamori_update::slots::{Slot, booted_slot};

/// The system as the update daemon sees it.
pub trait Platform: Send + Sync {
    /// The slot the running system booted from.
    fn booted(&self) -> Result<Slot, String>;
    /// This boot's unique id.
    fn boot_id(&self) -> String;
    /// Whether the clock has been synchronised (NTP) since boot.
    fn clock_synchronized(&self) -> bool;
    /// The units among `units` that are not active, with their state.
    fn inactive_units(&self, units: &[String]) -> Vec<(String, String)>;
    /// Restarts the box (the boot loader then picks the slot).
    fn reboot(&self) -> Result<(), String>;
}

fn read_small(path: &Path) -> Option<String> {
    use std::io::Read;
    let mut text = String::new();
    std::fs::File::open(path)
        .ok()?
        .take(4096)
        .read_to_string(&mut text)
        .ok()?;
    Some(text)
}

/// The real system: `/proc/cmdline`, the kernel's boot id, systemd-timesyncd's flag file,
/// `systemctl`.
#[derive(Debug, Default)]
pub struct System;

impl Platform for System {
    fn booted(&self) -> Result<Slot, String> {
        let cmdline = read_small(Path::new("/proc/cmdline")).unwrap_or_default();
        booted_slot(&cmdline).ok_or_else(|| {
            "the kernel command line names no slot (mamori.slot= or rauc.slot=): this system was not booted by an A/B boot loader".into()
        })
    }

    fn boot_id(&self) -> String {
        read_small(Path::new("/proc/sys/kernel/random/boot_id"))
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    }

    fn clock_synchronized(&self) -> bool {
        Path::new("/run/systemd/timesync/synchronized").exists()
    }

    fn inactive_units(&self, units: &[String]) -> Vec<(String, String)> {
        units
            .iter()
            .filter_map(|unit| {
                let out = std::process::Command::new("systemctl")
                    .args(["is-active", unit])
                    .output();
                let state = match out {
                    Ok(o) => String::from_utf8_lossy(&o.stdout).trim().to_string(),
                    Err(e) => format!("systemctl: {e}"),
                };
                (state != "active").then(|| (unit.clone(), state))
            })
            .collect()
    }

    fn reboot(&self) -> Result<(), String> {
        let status = std::process::Command::new("systemctl")
            .arg("reboot")
            .status()
            .map_err(|e| format!("systemctl reboot: {e}"))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("systemctl reboot: {status}"))
        }
    }
}

/// A simulated system in a directory: `cmdline` (the kernel command line), `boot_id`,
/// `clock_synchronized` (present: synchronised), `unhealthy` (present: its text names a unit
/// that is not active); a reboot writes `reboot` and the test boots the box again.
#[derive(Debug, Clone)]
pub struct Simulated {
    dir: PathBuf,
}

impl Simulated {
    /// The simulated system in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Simulated {
        Simulated { dir: dir.into() }
    }
}

impl Platform for Simulated {
    fn booted(&self) -> Result<Slot, String> {
        let cmdline = read_small(&self.dir.join("cmdline")).unwrap_or_default();
        booted_slot(&cmdline).ok_or_else(|| format!("{}/cmdline names no slot", self.dir.display()))
    }

    fn boot_id(&self) -> String {
        read_small(&self.dir.join("boot_id"))
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    }

    fn clock_synchronized(&self) -> bool {
        self.dir.join("clock_synchronized").exists()
    }

    fn inactive_units(&self, _units: &[String]) -> Vec<(String, String)> {
        match read_small(&self.dir.join("unhealthy")) {
            Some(text) => vec![(text.trim().to_string(), "failed".into())],
            None => Vec::new(),
        }
    }

    fn reboot(&self) -> Result<(), String> {
        mamori_core::fsutil::write_atomic(&self.dir.join("reboot"), b"requested\n")
            .map_err(|e| e.to_string())
    }
}
