//! The links on disk, one directory each under the store's directory:
//!
//! ```text
//! <id>/link.json   the record, written once by the relay
//! <id>/files/<n>   the sealed files
//! <id>/downloads   one JSON line per download, appended by linkd
//! <id>/failures    one line per wrong password, appended by linkd
//! <id>/revoked     the revocation, written once
//! ```
//!
//! Each file has one writer, so no file is read, changed and written back by two
//! processes. The two processes are two users of one group on a box: every directory and
//! file made is given the group of the store's own directory (a process may give what it
//! owns to a group it is in; no set-group-ID bit, which the units forbid), directories mode
//! `0770` and files `0640` whatever the umask, so that the relay and the download service
//! each read what the other wrote and nobody else does. A link is made in `.new-<id>` and renamed into place after everything in it
//! is on disk, so a crash leaves either no link or a whole one. Erasing a link's files
//! renames `files` away before removing it, so a half-erased link is never served.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, Read, Write};
use std::path::{Path, PathBuf};

use crate::record::{
    Download, FileEntry, Link, LinkRecord, MAX_DOWNLOADS_RECORDED, Revocation, State,
};
use crate::sealed::{Opener, Sealer};
use crate::token::{LinkId, Secret};

/// The largest record read.
const MAX_RECORD: u64 = 1024 * 1024;
/// The most files one link holds.
pub const MAX_FILES: usize = 100;
/// A link still being made after this long was cut off by a crash and is removed.
const STALE_NEW_SECS: u64 = 3600;

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A record could not be read.
    #[error("{path}: not a link record: {why}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Why.
        why: String,
    },
    /// More files than a link holds.
    #[error("a link holds at most {MAX_FILES} files")]
    TooManyFiles,
    /// The link was revoked already.
    #[error("the link was revoked already")]
    AlreadyRevoked,
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The store.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

/// A link being made: files are added one by one, then [`Draft::commit`] puts it in place.
pub struct Draft {
    store: Store,
    id: LinkId,
    secret: Secret,
    dir: PathBuf,
    files: Vec<FileEntry>,
}

/// The associated data of file `index` of link `id`.
fn aad(id: &LinkId, index: u32) -> Vec<u8> {
    let mut aad = id.as_str().as_bytes().to_vec();
    aad.extend_from_slice(&index.to_be_bytes());
    aad
}

/// The mode of the store's directories: the group shares them.
const DIR_MODE: u32 = 0o770;
/// The mode of its files: written by their one writer, read by the group.
const FILE_MODE: u32 = 0o640;

/// The group of the store's directory `root` (what everything in it is given).
fn group_of(root: &Path) -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    fs::metadata(root).ok().map(|m| m.gid())
}

/// Gives `path` the store's mode and group.
fn share(path: &Path, mode: u32, root: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::PermissionsExt;
    if let Some(gid) = group_of(root) {
        std::os::unix::fs::chown(path, None, Some(gid)).map_err(io_at(path))?;
    }
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(io_at(path))
}

/// Makes `dir` (one level, its parent existing) with the store's mode and group.
fn make_dir(dir: &Path, root: &Path) -> Result<(), StoreError> {
    fs::create_dir_all(dir).map_err(io_at(dir))?;
    share(dir, DIR_MODE, root)
}

/// Creates `path` new with the store's mode and group.
fn create_file(path: &Path, root: &Path) -> Result<File, StoreError> {
    let file = File::create(path).map_err(io_at(path))?;
    share(path, FILE_MODE, root)?;
    Ok(file)
}

fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    mamori_core::fsutil::sync_dir(dir).map_err(io_at(dir))
}

impl Draft {
    /// Seals `content` as the next file of the link.
    pub fn add_file(
        &mut self,
        name: &str,
        content_type: &str,
        content: &mut impl Read,
    ) -> Result<(), StoreError> {
        if self.files.len() >= MAX_FILES {
            return Err(StoreError::TooManyFiles);
        }
        let index = self.files.len() as u32;
        let path = self.dir.join("files").join(index.to_string());
        let file = create_file(&path, self.store.dir())?;
        let key = self.secret.file_key(&self.id, index);
        let mut sealer = Sealer::new(io::BufWriter::new(file), &key, aad(&self.id, index))
            .map_err(io_at(&path))?;
        sealer.copy_from(content).map_err(io_at(&path))?;
        let (writer, size) = sealer.finish().map_err(io_at(&path))?;
        let file = writer.into_inner().map_err(|e| StoreError::Io {
            path: path.clone(),
            source: e.into_error(),
        })?;
        file.sync_all().map_err(io_at(&path))?;
        self.files.push(FileEntry {
            name: name.to_owned(),
            content_type: content_type.to_owned(),
            size,
        });
        Ok(())
    }

    /// The files added so far.
    pub fn files(&self) -> &[FileEntry] {
        &self.files
    }

    /// Writes the record (its id and files are the draft's) and puts the link in place.
    pub fn commit(self, mut record: LinkRecord) -> Result<LinkRecord, StoreError> {
        record.id = self.id.to_string();
        record.files = self.files.clone();
        let path = self.dir.join("link.json");
        let text = serde_json::to_vec_pretty(&record).map_err(|e| StoreError::Corrupt {
            path: path.clone(),
            why: e.to_string(),
        })?;
        let mut file = create_file(&path, self.store.dir())?;
        file.write_all(&text)
            .and_then(|()| file.sync_all())
            .map_err(io_at(&path))?;
        sync_dir(&self.dir.join("files"))?;
        sync_dir(&self.dir)?;
        let target = self.store.dir.join(self.id.as_str());
        fs::rename(&self.dir, &target).map_err(io_at(&target))?;
        sync_dir(&self.store.dir)?;
        Ok(record)
    }

    /// Gives the draft up: its files are removed.
    pub fn abandon(self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

impl Store {
    /// The store in `dir` (made when first written).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Starts a new link with a new id under `secret`.
    pub fn draft(&self, secret: &Secret) -> Result<Draft, StoreError> {
        let id = LinkId::random().map_err(|e| StoreError::Io {
            path: self.dir.clone(),
            source: io::Error::other(e),
        })?;
        if !self.dir.exists() {
            fs::create_dir_all(&self.dir).map_err(io_at(&self.dir))?;
            share(&self.dir, DIR_MODE, &self.dir)?;
        }
        let dir = self.dir.join(format!(".new-{id}"));
        make_dir(&dir, &self.dir)?;
        make_dir(&dir.join("files"), &self.dir)?;
        Ok(Draft {
            store: self.clone(),
            id,
            secret: secret.clone(),
            dir,
            files: Vec::new(),
        })
    }

    fn link_dir(&self, id: &LinkId) -> PathBuf {
        self.dir.join(id.as_str())
    }

    /// The link `id` with what happened to it; `None` when there is none.
    pub fn load(&self, id: &LinkId) -> Result<Option<Link>, StoreError> {
        let dir = self.link_dir(id);
        let path = dir.join("link.json");
        let mut text = Vec::new();
        match File::open(&path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_at(&path)(e)),
            Ok(f) => f
                .take(MAX_RECORD)
                .read_to_end(&mut text)
                .map_err(io_at(&path))?,
        };
        let record: LinkRecord =
            serde_json::from_slice(&text).map_err(|e| StoreError::Corrupt {
                path: path.clone(),
                why: e.to_string(),
            })?;
        if record.id != id.as_str() {
            return Err(StoreError::Corrupt {
                path,
                why: "its id is another link's".into(),
            });
        }
        let downloads = read_lines(&dir.join("downloads"), MAX_DOWNLOADS_RECORDED)?
            .iter()
            .filter_map(|line| serde_json::from_str::<Download>(line).ok())
            .collect();
        let password_failures = read_lines(&dir.join("failures"), 1000)?.len() as u32;
        let revoked = match fs::read(dir.join("revoked")) {
            Ok(bytes) => Some(
                serde_json::from_slice::<Revocation>(&bytes).unwrap_or(Revocation {
                    at: 0,
                    by: "?".into(),
                }),
            ),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(io_at(&dir.join("revoked"))(e)),
        };
        Ok(Some(Link {
            record,
            downloads,
            revoked,
            password_failures,
            erased: !dir.join("files").exists(),
        }))
    }

    /// Every link, newest first (ones that cannot be read are skipped and logged by the
    /// caller through the error list).
    pub fn list(&self) -> Result<(Vec<Link>, Vec<StoreError>), StoreError> {
        let mut links = Vec::new();
        let mut errors = Vec::new();
        for id in self.ids()? {
            match self.load(&id) {
                Ok(Some(link)) => links.push(link),
                Ok(None) => {}
                Err(e) => errors.push(e),
            }
        }
        links.sort_by_key(|l| std::cmp::Reverse(l.record.created));
        Ok((links, errors))
    }

    fn ids(&self) -> Result<Vec<LinkId>, StoreError> {
        let entries = match fs::read_dir(&self.dir) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            other => other.map_err(io_at(&self.dir))?,
        };
        Ok(entries
            .filter_map(Result::ok)
            .filter_map(|e| LinkId::parse(&e.file_name().to_string_lossy()))
            .collect())
    }

    /// Opens file `index` of link `id` with the link's secret: reading gives the file.
    pub fn open_file(
        &self,
        id: &LinkId,
        index: u32,
        secret: &Secret,
    ) -> Result<Opener<io::BufReader<File>>, StoreError> {
        let path = self.link_dir(id).join("files").join(index.to_string());
        let file = File::open(&path).map_err(io_at(&path))?;
        Ok(Opener::new(
            io::BufReader::with_capacity(64 * 1024, file),
            &secret.file_key(id, index),
            aad(id, index),
        ))
    }

    /// Records a download (appended and synced before the file is given).
    pub fn record_download(&self, id: &LinkId, download: &Download) -> Result<(), StoreError> {
        let line = serde_json::to_string(download).unwrap_or_default();
        append_line(&self.link_dir(id).join("downloads"), &line, &self.dir)
    }

    /// Records a wrong password.
    pub fn record_failure(&self, id: &LinkId, at: u64) -> Result<(), StoreError> {
        append_line(
            &self.link_dir(id).join("failures"),
            &at.to_string(),
            &self.dir,
        )
    }

    /// Revokes the link and erases its files.
    pub fn revoke(&self, id: &LinkId, revocation: &Revocation) -> Result<(), StoreError> {
        let dir = self.link_dir(id);
        let path = dir.join("revoked");
        let mut file = match OpenOptions::new().write(true).create_new(true).open(&path) {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Err(StoreError::AlreadyRevoked);
            }
            other => other.map_err(io_at(&path))?,
        };
        share(&path, FILE_MODE, &self.dir)?;
        let text = serde_json::to_vec(revocation).unwrap_or_default();
        file.write_all(&text)
            .and_then(|()| file.sync_all())
            .map_err(io_at(&path))?;
        sync_dir(&dir)?;
        self.erase_files(id)
    }

    /// Removes link `id` altogether (made for a message that was not accepted after all).
    pub fn remove(&self, id: &LinkId) -> Result<(), StoreError> {
        let dir = self.link_dir(id);
        match fs::remove_dir_all(&dir) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            other => other.map_err(io_at(&dir)),
        }
    }

    /// Erases the files of link `id` (its record stays, for the sender's page).
    pub fn erase_files(&self, id: &LinkId) -> Result<(), StoreError> {
        let dir = self.link_dir(id);
        let files = dir.join("files");
        let gone = dir.join(".erasing");
        match fs::rename(&files, &gone) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            other => other.map_err(io_at(&files))?,
        }
        if gone.exists() {
            fs::remove_dir_all(&gone).map_err(io_at(&gone))?;
        }
        sync_dir(&dir)
    }

    /// Erases the files of links that give nothing more at `now` (expired, revoked, locked
    /// or used up), removes links whose expiry
    /// is more than `keep_records` seconds past, and drafts a crash left. Returns the ids
    /// whose files were erased and those removed.
    pub fn sweep(&self, now: u64, keep_records: u64) -> Result<Sweep, StoreError> {
        let mut sweep = Sweep::default();
        let entries = match fs::read_dir(&self.dir) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(sweep),
            other => other.map_err(io_at(&self.dir))?,
        };
        for entry in entries.filter_map(Result::ok) {
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            if name.starts_with(".new-") {
                let old = entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .is_some_and(|t| t.as_secs() + STALE_NEW_SECS < now);
                if old {
                    let _ = fs::remove_dir_all(&path);
                }
                continue;
            }
            let Some(id) = LinkId::parse(&name) else {
                continue;
            };
            let link = match self.load(&id) {
                Ok(Some(link)) => link,
                Ok(None) => continue,
                Err(e) => {
                    sweep.errors.push(e.to_string());
                    continue;
                }
            };
            if link.record.expires.saturating_add(keep_records) <= now {
                fs::remove_dir_all(&path).map_err(io_at(&path))?;
                sweep.removed.push(id);
            } else if !link.erased && link.state(now) != State::Open {
                // Expired, revoked, locked or used up: nothing more will be given.
                self.erase_files(&id)?;
                sweep.erased.push(id);
            }
        }
        Ok(sweep)
    }
}

/// What a sweep did.
#[derive(Debug, Default)]
pub struct Sweep {
    /// Links whose files were erased.
    pub erased: Vec<LinkId>,
    /// Links removed with their records.
    pub removed: Vec<LinkId>,
    /// Links that could not be read.
    pub errors: Vec<String>,
}

fn append_line(path: &Path, line: &str, root: &Path) -> Result<(), StoreError> {
    let mut file = OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .map_err(io_at(path))?;
    if file.metadata().is_ok_and(|m| m.len() == 0) {
        // Made now (or empty): the store's mode and group, whatever the umask.
        share(path, FILE_MODE, root)?;
    }
    file.write_all(format!("{line}\n").as_bytes())
        .and_then(|()| file.sync_data())
        .map_err(io_at(path))
}

fn read_lines(path: &Path, most: usize) -> Result<Vec<String>, StoreError> {
    match File::open(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(io_at(path)(e)),
        Ok(file) => Ok(io::BufReader::new(file.take(16 * 1024 * 1024))
            .lines()
            .map_while(Result::ok)
            .filter(|l| !l.is_empty())
            .take(most)
            .collect()),
    }
}

#[cfg(test)]
mod tests;
