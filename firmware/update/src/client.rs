//! The client side of a refresh (TUF specification section 5): which files to fetch in which
//! order, with which size limit, and what to keep on the box. The transport is a small trait
//! ([`Fetch`]) so that the same steps serve a repository over HTTPS, a directory (a USB stick,
//! a bundle uploaded by hand, the tests) and python-tuf's repositories.
//!
//! The box's trust starts from the root its image shipped. Roots reached by rotation are kept
//! in the metadata directory as `root/<N>.root.json` and replayed from the shipped root at
//! each refresh, so a stored root that does not chain from the shipped one is never used.

use std::path::{Path, PathBuf};

use crate::error::TufError;
use crate::metadata::{Role, TargetFile};
use crate::trust::TrustedSet;

/// Size limits for metadata (python-tuf's defaults) and how many root versions one refresh
/// may climb: bounds against an endless-data attack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most bytes of one root version.
    pub root: u64,
    /// Most bytes of timestamp metadata.
    pub timestamp: u64,
    /// Most bytes of snapshot metadata when the timestamp gives no length.
    pub snapshot: u64,
    /// Most bytes of targets metadata when the snapshot gives no length.
    pub targets: u64,
    /// Most root versions fetched in one refresh.
    pub root_rotations: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            root: 512_000,
            timestamp: 16_384,
            snapshot: 2_000_000,
            targets: 5_000_000,
            root_rotations: 256,
        }
    }
}

/// Why a file could not be fetched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// The file is longer than the limit it was fetched with.
    #[error("larger than {0} bytes")]
    TooLarge(u64),
    /// Anything else: refused connection, a status other than 200/404, a time-out.
    #[error("{0}")]
    Failed(String),
}

/// A repository the client reads metadata files from.
pub trait Fetch {
    /// The metadata file `name` (`2.root.json`, `timestamp.json`…), at most `limit` bytes;
    /// `Ok(None)` when the repository has no such file.
    fn metadata(&mut self, name: &str, limit: u64) -> Result<Option<Vec<u8>>, FetchError>;
}

/// Why a refresh failed.
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    /// The metadata was refused.
    #[error(transparent)]
    Tuf(#[from] TufError),
    /// A file could not be fetched.
    #[error("{file}: {error}")]
    Fetch {
        /// The file.
        file: String,
        /// Why.
        error: FetchError,
    },
    /// The box's own metadata directory could not be read or written.
    #[error("{path}: {source}")]
    Store {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
}

impl RefreshError {
    /// The short kind: the TUF refusal's, `too_large` for an oversized file, `fetch` or
    /// `store` otherwise.
    pub fn kind(&self) -> &'static str {
        match self {
            RefreshError::Tuf(e) => e.kind(),
            RefreshError::Fetch {
                error: FetchError::TooLarge(_),
                ..
            } => "too_large",
            RefreshError::Fetch { .. } => "fetch",
            RefreshError::Store { .. } => "store",
        }
    }
}

/// The box's copy of the metadata it trusts, in one directory on the data partition.
#[derive(Debug, Clone)]
pub struct MetadataDir {
    dir: PathBuf,
}

impl MetadataDir {
    /// The directory (made on the first write).
    pub fn new(dir: impl Into<PathBuf>) -> MetadataDir {
        MetadataDir { dir: dir.into() }
    }

    fn path(&self, name: &str) -> PathBuf {
        if name.ends_with(".root.json") {
            self.dir.join("root").join(name)
        } else {
            self.dir.join(name)
        }
    }

    fn read(&self, name: &str) -> Option<Vec<u8>> {
        std::fs::read(self.path(name)).ok()
    }

    fn write(&self, name: &str, bytes: &[u8]) -> Result<(), RefreshError> {
        let path = self.path(name);
        mamori_core::fsutil::write_atomic(&path, bytes)
            .map_err(|source| RefreshError::Store { path, source })
    }
}

/// Runs one refresh: root rotation, timestamp, snapshot, targets. Returns the trusted set,
/// from which targets are looked up; everything newly accepted is stored in `store` before
/// returning.
pub fn refresh(
    shipped_root: &[u8],
    store: &MetadataDir,
    fetch: &mut dyn Fetch,
    limits: Limits,
    now: u64,
) -> Result<TrustedSet, RefreshError> {
    let mut set = TrustedSet::new(shipped_root, now)?;
    // Replay the stored rotation chain; stop at the first link that does not follow.
    loop {
        let name = format!("{}.root.json", set.root().common.version.saturating_add(1));
        match store.read(&name) {
            Some(bytes) if set.update_root(&bytes).is_ok() => {}
            _ => break,
        }
    }
    let first = set.root().common.version.saturating_add(1);
    for version in first..first.saturating_add(limits.root_rotations) {
        let name = format!("{version}.root.json");
        let Some(bytes) = get(fetch, &name, limits.root)? else {
            break;
        };
        set.update_root(&bytes)?;
        store.write(&name, &bytes)?;
    }

    if let Some(bytes) = store.read("timestamp.json") {
        // The stored copy is only a baseline; if the new root no longer accepts it (rotated
        // timestamp keys: fast-forward recovery), it is simply not one.
        let _ = set.update_timestamp(&bytes);
    }
    let bytes =
        get(fetch, "timestamp.json", limits.timestamp)?.ok_or_else(|| RefreshError::Fetch {
            file: "timestamp.json".into(),
            error: FetchError::Failed("the repository has no timestamp.json".into()),
        })?;
    if set.update_timestamp(&bytes)? {
        store.write("timestamp.json", &bytes)?;
    }

    let stored_ok = store
        .read("snapshot.json")
        .is_some_and(|b| set.update_snapshot(&b, true).is_ok());
    if !stored_ok {
        let meta = set.snapshot_meta()?.clone();
        let name = versioned(&set, Role::Snapshot, meta.version);
        let bytes = required_pinned(fetch, &name, Role::Snapshot, meta.length, limits.snapshot)?;
        set.update_snapshot(&bytes, false)?;
        store.write("snapshot.json", &bytes)?;
    }

    let stored_ok = store
        .read("targets.json")
        .is_some_and(|b| set.update_targets(&b).is_ok());
    if !stored_ok {
        let meta = set.targets_meta()?.clone();
        let name = versioned(&set, Role::Targets, meta.version);
        let bytes = required_pinned(fetch, &name, Role::Targets, meta.length, limits.targets)?;
        set.update_targets(&bytes)?;
        store.write("targets.json", &bytes)?;
    }
    Ok(set)
}

fn versioned(set: &TrustedSet, role: Role, version: u64) -> String {
    if set.root().body.consistent_snapshot {
        format!("{version}.{}.json", role.name())
    } else {
        format!("{}.json", role.name())
    }
}

fn get(fetch: &mut dyn Fetch, name: &str, limit: u64) -> Result<Option<Vec<u8>>, RefreshError> {
    let bytes = fetch
        .metadata(name, limit)
        .map_err(|error| RefreshError::Fetch {
            file: name.into(),
            error,
        })?;
    if let Some(b) = &bytes
        && b.len() as u64 > limit
    {
        return Err(RefreshError::Fetch {
            file: name.into(),
            error: FetchError::TooLarge(limit),
        });
    }
    Ok(bytes)
}

fn required(fetch: &mut dyn Fetch, name: &str, limit: u64) -> Result<Vec<u8>, RefreshError> {
    get(fetch, name, limit)?.ok_or_else(|| RefreshError::Fetch {
        file: name.into(),
        error: FetchError::Failed("not in the repository".into()),
    })
}

/// Fetches a file whose length its referring role may pin: then longer is a length
/// mismatch (as python-tuf reports it), not merely too large.
fn required_pinned(
    fetch: &mut dyn Fetch,
    name: &str,
    role: Role,
    pinned: Option<u64>,
    default_limit: u64,
) -> Result<Vec<u8>, RefreshError> {
    match (
        required(fetch, name, pinned.unwrap_or(default_limit)),
        pinned,
    ) {
        (
            Err(RefreshError::Fetch {
                error: FetchError::TooLarge(_),
                ..
            }),
            Some(expected),
        ) => Err(TufError::LengthMismatch {
            role: role.name().into(),
            expected,
            got: expected.saturating_add(1),
        }
        .into()),
        (other, _) => other,
    }
}

/// Where a target is found below the repository's `targets/` directory: `<sha256>.<name>`
/// (in the name's own directory) under consistent snapshots, the name itself otherwise.
pub fn target_file_name(set: &TrustedSet, name: &str, target: &TargetFile) -> String {
    if !set.root().body.consistent_snapshot {
        return name.to_string();
    }
    let hash = target
        .hashes
        .get("sha256")
        .or_else(|| target.hashes.values().next())
        .cloned()
        .unwrap_or_default();
    match name.rsplit_once('/') {
        Some((dir, base)) => format!("{dir}/{hash}.{base}"),
        None => format!("{hash}.{name}"),
    }
}

/// Whether `name` is a target path the box will fetch: relative, no `..` or empty
/// components, printable, at most 255 bytes.
pub fn valid_target_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && !name.starts_with('/')
        && name
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..")
        && name.chars().all(|c| !c.is_control() && c != '\\')
}

/// A repository in a local directory laid out as it is served (`metadata/`, `targets/`).
#[derive(Debug, Clone)]
pub struct DirRepository {
    root: PathBuf,
}

impl DirRepository {
    /// The repository at `root`.
    pub fn new(root: impl Into<PathBuf>) -> DirRepository {
        DirRepository { root: root.into() }
    }

    /// The path of a target file (see [`target_file_name`]).
    pub fn target_path(&self, file_name: &str) -> PathBuf {
        self.root.join("targets").join(file_name)
    }

    /// The repository's directory.
    pub fn dir(&self) -> &Path {
        &self.root
    }
}

impl Fetch for DirRepository {
    fn metadata(&mut self, name: &str, limit: u64) -> Result<Option<Vec<u8>>, FetchError> {
        use std::io::Read;
        let path = self.root.join("metadata").join(name);
        let file = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(FetchError::Failed(format!("{}: {e}", path.display()))),
        };
        let mut bytes = Vec::new();
        file.take(limit.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|e| FetchError::Failed(format!("{}: {e}", path.display())))?;
        if bytes.len() as u64 > limit {
            return Err(FetchError::TooLarge(limit));
        }
        Ok(Some(bytes))
    }
}
