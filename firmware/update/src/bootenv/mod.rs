//! Boot-loader environments: the few variables the boot script reads to choose a slot and the
//! updater writes to try a new one or mark it good. One trait, three stores: the U-Boot
//! environment (the format of `fw_printenv`/`fw_setenv`), GRUB's environment block (the
//! format of `grub-editenv`) and a plain file (tests and the qemu image).

pub mod file;
pub mod grub;
pub mod uboot;

use std::collections::BTreeMap;
use std::path::PathBuf;

/// The variables of a boot-loader environment, by name. Sorted, so that what is written is
/// the same for the same variables.
pub type Vars = BTreeMap<String, String>;

/// Why an environment could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum BootEnvError {
    /// The store could not be opened, read, written or synced.
    #[error("{path}: {source}")]
    Io {
        /// The device or file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The bytes are not an environment of this kind (bad CRC in every copy, no header…).
    #[error("{what}: {why}")]
    Format {
        /// Which store.
        what: String,
        /// What is wrong with it.
        why: String,
    },
    /// A name or value the format cannot carry (`=` or NUL in a name, a newline in GRUB…).
    #[error("variable {name:?}: {why}")]
    Variable {
        /// The variable's name.
        name: String,
        /// Why it cannot be stored.
        why: String,
    },
    /// The variables do not fit in the environment's fixed size.
    #[error("{what}: the variables need {need} bytes, the environment holds {have}")]
    TooBig {
        /// Which store.
        what: String,
        /// Bytes needed.
        need: usize,
        /// Bytes available.
        have: usize,
    },
    /// The store's configuration (`fw_env.config`, the `[update]` section) is wrong.
    #[error("{0}")]
    Config(String),
}

impl BootEnvError {
    /// A [`BootEnvError::Format`] of the store `what`.
    pub(crate) fn format(what: &str, why: impl Into<String>) -> Self {
        BootEnvError::Format {
            what: what.into(),
            why: why.into(),
        }
    }

    /// The error with a format problem named after the store it was found in
    /// (`GRUB environment block /boot/grub/grubenv`); other errors as they are.
    pub(crate) fn in_store(self, what: String) -> Self {
        match self {
            BootEnvError::Format { why, .. } => BootEnvError::Format { what, why },
            other => other,
        }
    }
}

/// A boot loader's environment as the updater sees it: read all variables, replace all
/// variables. The updater always reads, changes its own few variables and writes the rest
/// back unchanged, so a board's own settings (`bootcmd`, `bootargs`…) survive.
pub trait BootEnv: Send {
    /// What and where the store is, for messages and the audit log
    /// (`U-Boot environment /dev/mmcblk0 @ 0x3f8000`).
    fn describe(&self) -> String;
    /// The current variables (of the valid, newer copy where there are two).
    fn read(&self) -> Result<Vars, BootEnvError>;
    /// Replaces the environment with `vars`, synced to the device before returning, so that a
    /// power cut at any moment leaves either the whole old or the whole new environment
    /// readable (the redundant copy of U-Boot, a rename for files).
    fn write(&mut self, vars: &Vars) -> Result<(), BootEnvError>;
}

/// Opens the environment described by `[update] boot_env` (`uboot:`, `grub:` or `file:`).
pub fn open(spec: &crate::config::BootEnvSpec) -> Result<Box<dyn BootEnv>, BootEnvError> {
    use crate::config::BootEnvSpec;
    Ok(match spec {
        BootEnvSpec::UBoot(config) => Box::new(uboot::UBootEnv::from_config_file(config)?),
        BootEnvSpec::Grub(path) => Box::new(grub::GrubEnv::new(path)),
        BootEnvSpec::File(path) => Box::new(file::FileEnv::new(path)),
    })
}
