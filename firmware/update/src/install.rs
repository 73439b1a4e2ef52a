//! Installing a verified offer into the inactive slot, in steps that each leave a box that
//! boots (RAUC's and Mender's order of work):
//!
//! 1. `disabled` — the inactive slot is taken out of the boot order and recorded as being
//!    written, before a byte of it changes;
//! 2. `writing` — the bundle streams in: every byte counted against the signed length and
//!    hashed, each image written to its device as it arrives, the manifest compared with the
//!    signed offer before the first image byte;
//! 3. `written` — the whole target's signed hashes match, the archive is whole, the devices
//!    are synced;
//! 4. `verified` — each image read back from its device, past the page cache, and its
//!    SHA-256 compared with the manifest's;
//! 5. `marked` — the boot loader told to try the slot once (then the state file records it).
//!
//! Killed at any point before `marked`, the box boots the old slot, untouched; after it, the
//! new slot, complete and verified. [`Phase`] hooks let tests stop the process after each step.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::bootenv::{BootEnv, BootEnvError};
use crate::bundle::{Manifest, Offer, Refusal};
use crate::error::TufError;
use crate::metadata::TargetFile;
use crate::slots::{BootState, Slot, SlotError};
use crate::state::{HistoryEntry, SlotStatus, UpdateState};
use crate::tar::{BundleParser, Event};
use crate::target::TargetCheck;

/// The steps of an install, in order (see the module's documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// The target slot is out of the boot order.
    Disabled,
    /// The first image bytes are on the device.
    Writing,
    /// All bytes written, the target verified, devices synced.
    Written,
    /// Read back and verified.
    Verified,
    /// The boot loader will try the slot once.
    Marked,
}

impl Phase {
    /// The phase's name (`MAMORI_UPDATE_TEST_STOP_AFTER=written`).
    pub fn name(self) -> &'static str {
        match self {
            Phase::Disabled => "disabled",
            Phase::Writing => "writing",
            Phase::Written => "written",
            Phase::Verified => "verified",
            Phase::Marked => "marked",
        }
    }

    /// Every phase.
    pub const ALL: [Phase; 5] = [
        Phase::Disabled,
        Phase::Writing,
        Phase::Written,
        Phase::Verified,
        Phase::Marked,
    ];
}

/// Why an install stopped. The old slot is untouched and stays the one that boots.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    /// The target failed its signed length or hashes.
    #[error(transparent)]
    Tuf(#[from] TufError),
    /// The bundle is not one this box may install, or not well formed.
    #[error(transparent)]
    Bundle(#[from] Refusal),
    /// The boot environment could not be read or written.
    #[error(transparent)]
    Env(#[from] BootEnvError),
    /// The boot environment holds values the updater does not understand.
    #[error(transparent)]
    Slot(#[from] SlotError),
    /// A device or file could not be used.
    #[error("{path}: {source}")]
    Io {
        /// The device or file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The download could not be read.
    #[error("the download failed: {0}")]
    Source(std::io::Error),
    /// The bundle carries an image for which this board has no device.
    #[error("the bundle carries a {0} image, but this board's slots have no {0} device")]
    NoDevice(String),
    /// What was read back from a device differs from what was written.
    #[error("the {class} image read back from {path} does not match (the device may be failing)")]
    Readback {
        /// The image's class.
        class: String,
        /// The device.
        path: PathBuf,
    },
    /// The running slot is still on trial: finish that first.
    #[error("the running firmware has not been marked good yet; try again after its health check")]
    OnTrial,
}

impl InstallError {
    /// A short kind for the audit log and tests.
    pub fn kind(&self) -> &'static str {
        match self {
            InstallError::Tuf(e) => e.kind(),
            InstallError::Bundle(r) => r.kind(),
            InstallError::Env(_) | InstallError::Slot(_) => "boot_env",
            InstallError::Io { .. } => "io",
            InstallError::Source(_) => "download",
            InstallError::NoDevice(_) => "no_device",
            InstallError::Readback { .. } => "readback",
            InstallError::OnTrial => "on_trial",
        }
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> InstallError + '_ {
    move |source| InstallError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Everything an install touches besides the download.
pub struct Target<'a> {
    /// The boot loader's environment.
    pub env: &'a mut dyn BootEnv,
    /// The update state and where it is kept.
    pub state: &'a mut UpdateState,
    /// The state file.
    pub state_path: &'a Path,
    /// The slot that is running now (the other one is written).
    pub booted: Slot,
    /// Devices of the slot to write, by class (`rootfs` → `/dev/mmcblk0p3`).
    pub devices: &'a BTreeMap<String, PathBuf>,
    /// Boot attempts for the new slot (1 = boot once).
    pub tries: u32,
    /// This boot's id, recorded with the install.
    pub boot_id: &'a str,
    /// The time now (Unix seconds).
    pub now: u64,
    /// Called after each step (tests stop the process there).
    pub hook: &'a mut dyn FnMut(Phase),
}

fn save(target: &mut Target<'_>) -> Result<(), InstallError> {
    mamori_core::fsutil::write_atomic(target.state_path, &target.state.to_bytes())
        .map_err(io(target.state_path))
}

fn update_env(
    env: &mut dyn BootEnv,
    change: impl FnOnce(&mut BootState),
) -> Result<(), InstallError> {
    let mut vars = env.read()?;
    let mut boot = BootState::from_vars(&vars)?;
    change(&mut boot);
    boot.apply(&mut vars);
    env.write(&vars)?;
    Ok(())
}

/// Installs the target `name` (already judged by [`Offer::check`]) from `source` into the
/// slot that is not running. On success the slot is marked to boot once and the state
/// records it as installed in this boot; on failure the slot stays out of the boot order
/// and the state records it as bad.
pub fn install(
    t: &mut Target<'_>,
    name: &str,
    signed: &TargetFile,
    offer: &Offer,
    source: &mut dyn Read,
) -> Result<Manifest, InstallError> {
    if t.state.slot(t.booted).status == SlotStatus::Trying {
        return Err(InstallError::OnTrial);
    }
    let slot = t.booted.other();
    // 1. Out of the boot order before anything is written.
    update_env(t.env, |b| b.disable(slot))?;
    t.state
        .set(slot, SlotStatus::Writing, Some(&offer.version), t.now);
    save(t)?;
    (t.hook)(Phase::Disabled);

    let result = write_and_verify(t, slot, name, signed, offer, source);
    let manifest = match result {
        Ok(m) => m,
        Err(e) => {
            t.state.set(slot, SlotStatus::Bad, None, t.now);
            t.state.record(HistoryEntry {
                time: t.now,
                event: "failed".into(),
                slot: Some(slot.name().into()),
                version: Some(offer.version.clone()),
                detail: e.to_string(),
            });
            save(t)?;
            return Err(e);
        }
    };

    // 5. Try it once at the next boot; then record that.
    let tries = t.tries;
    update_env(t.env, |b| b.try_next(slot, tries))?;
    t.state
        .set(slot, SlotStatus::Installed, Some(&offer.version), t.now);
    if let Some(rec) = t.state.slots.get_mut(slot.name()) {
        rec.boot_id = Some(t.boot_id.to_string());
    }
    t.state.record(HistoryEntry {
        time: t.now,
        event: "installed".into(),
        slot: Some(slot.name().into()),
        version: Some(offer.version.clone()),
        detail: format!("{name}; it boots once at the next restart"),
    });
    save(t)?;
    (t.hook)(Phase::Marked);
    Ok(manifest)
}

fn write_and_verify(
    t: &mut Target<'_>,
    slot: Slot,
    name: &str,
    signed: &TargetFile,
    offer: &Offer,
    source: &mut dyn Read,
) -> Result<Manifest, InstallError> {
    let _ = slot;
    let mut check = TargetCheck::new(name, signed)?;
    let mut parser = BundleParser::new();
    let mut files: Vec<(PathBuf, std::fs::File)> = Vec::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut told_writing = false;
    loop {
        let n = match source.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(InstallError::Source(e)),
        };
        let chunk = &buf[..n];
        // Counted against the signed length before anything is written.
        check.update(chunk)?;
        let mut events = Vec::new();
        parser.feed(chunk, &mut events)?;
        for event in events {
            match event {
                Event::Manifest(m) => {
                    m.agrees_with(offer)?;
                    for image in &m.images {
                        let path = t
                            .devices
                            .get(&image.class)
                            .ok_or_else(|| InstallError::NoDevice(image.class.clone()))?;
                        let file = std::fs::OpenOptions::new()
                            .write(true)
                            .create(!path.starts_with("/dev"))
                            .truncate(false)
                            .open(path)
                            .map_err(io(path))?;
                        files.push((path.clone(), file));
                    }
                }
                Event::Data { image, bytes } => {
                    let (path, file) = files
                        .get_mut(image)
                        .ok_or_else(|| InstallError::NoDevice(format!("image {image}")))?;
                    file.write_all(bytes).map_err(io(path))?;
                    if !told_writing {
                        told_writing = true;
                        (t.hook)(Phase::Writing);
                    }
                }
                Event::ImageDone(_) => {}
            }
        }
    }
    // 3. The whole target as signed, the archive whole, the devices synced.
    check.finish()?;
    let manifest = parser.finish()?.clone();
    for (path, file) in &files {
        file.sync_all().map_err(io(path))?;
    }
    (t.hook)(Phase::Written);

    // 4. Read back past the page cache.
    for (image, (path, _)) in manifest.images.iter().zip(&files) {
        let digest = hash_device(path, image.size)?;
        if digest != image.sha256.to_ascii_lowercase() {
            return Err(InstallError::Readback {
                class: image.class.clone(),
                path: path.clone(),
            });
        }
    }
    (t.hook)(Phase::Verified);
    Ok(manifest)
}

/// SHA-256 (hex) of the first `size` bytes of a device, read after asking the kernel to drop
/// its cached pages, so that what is compared is what the device holds.
pub fn hash_device(path: &Path, size: u64) -> Result<String, InstallError> {
    let file = std::fs::File::open(path).map_err(io(path))?;
    // Best effort: not every file system honours it; the read is still of the device's data
    // on block devices opened after the sync.
    let _ = rustix::fs::fadvise(&file, 0, None, rustix::fs::Advice::DontNeed);
    let (total, digest) = crate::metadata::sha256_of(file.take(size)).map_err(io(path))?;
    if total != size {
        return Err(InstallError::Readback {
            class: format!("{size}-byte"),
            path: path.to_path_buf(),
        });
    }
    Ok(digest)
}
