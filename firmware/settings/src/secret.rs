//! Secrets beside the settings store: a provider's password lives in `secrets/NAME` (mode
//! 0640, owned like the store) and a setting names the file, so that no version, log,
//! backup or audit record holds the secret itself. The settings service writes them for
//! the panel, `mamori setup` on the console.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// The longest secret (a provider's password).
pub const MAX_SECRET_BYTES: usize = 4096;

/// Why a secret was not written.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// A bad name or value.
    #[error("{0}")]
    Invalid(String),
    /// Writing it.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

/// Writes `secrets/NAME` under the store in `store_dir` atomically (mode 0640; owned by the
/// store's owner when written by root, so the service can still read and replace it) and
/// answers its path.
pub fn write(store_dir: &Path, name: &str, value: &str) -> Result<PathBuf, SecretError> {
    let name_ok = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if !name_ok {
        return Err(SecretError::Invalid(format!(
            "secret name {name:?}: use 1 to 64 of a-z, 0-9, _ and -"
        )));
    }
    if value.is_empty() || value.len() > MAX_SECRET_BYTES || value.contains(['\n', '\r', '\0']) {
        return Err(SecretError::Invalid(format!(
            "the secret must be 1 to {MAX_SECRET_BYTES} bytes on one line"
        )));
    }
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| SecretError::Io { path, source }
    };
    let owner = std::fs::metadata(store_dir).map_err(io(store_dir))?;
    let dir = store_dir.join("secrets");
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o750)
        .create(&dir)
        .map_err(io(&dir))?;
    same_owner(&dir, &owner).map_err(io(&dir))?;
    let path = dir.join(name);
    let tmp = dir.join(format!(".{name}.tmp"));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o640)
        .open(&tmp)
        .map_err(io(&tmp))?;
    f.write_all(value.as_bytes()).map_err(io(&tmp))?;
    f.sync_all().map_err(io(&tmp))?;
    same_owner(&tmp, &owner).map_err(io(&tmp))?;
    std::fs::rename(&tmp, &path).map_err(io(&path))?;
    Ok(path)
}

/// Gives `path` the owner of `like` when it differs (root writing for the service).
fn same_owner(path: &Path, like: &std::fs::Metadata) -> std::io::Result<()> {
    let now = std::fs::metadata(path)?;
    if (now.uid(), now.gid()) == (like.uid(), like.gid()) {
        return Ok(());
    }
    std::os::unix::fs::chown(path, Some(like.uid()), Some(like.gid()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_is_a_private_file_and_bad_ones_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "smarthost-password", "p@ss word").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "p@ss word");
        assert_eq!(
            std::fs::metadata(&path).unwrap().mode() & 0o777,
            0o640,
            "group-readable only"
        );
        assert!(matches!(
            write(dir.path(), "../etc", "x"),
            Err(SecretError::Invalid(_))
        ));
        assert!(matches!(
            write(dir.path(), "a", "two\nlines"),
            Err(SecretError::Invalid(_))
        ));
        assert!(matches!(
            write(dir.path(), "a", ""),
            Err(SecretError::Invalid(_))
        ));
    }
}
