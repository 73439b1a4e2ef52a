//! The audit log: what the box decided about which mail, and what administrators did, as
//! one JSON object per line in `<data_dir>/audit/audit.jsonl`.
//!
//! Records are appended and synced to disk before the decision they record takes effect
//! (a DLP verdict is logged before the SMTP reply), so a crash cannot leave an action
//! without its record. Each record carries a sequence number and the SHA-256 of the line
//! before it (`prev`), so a deleted or edited line breaks the chain and [`verify`] finds
//! it. The file is rotated by size (`audit.jsonl.1`, `.2` …, oldest dropped); the chain goes
//! on across rotations. Under a [`Retention`] (`general.audit_retention`), the file is also
//! rotated daily and rotated files are erased once their newest record is past the retention
//! or the chain outgrows its space — the erasure itself recorded (`audit_pruned`) — so an
//! office keeps its records as long as its rules say, and no longer. Records never carry personal data in clear: callers pass masked
//! excerpts only.

use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use ring::digest::{SHA256, digest};
use serde_json::{Map, Value};

use crate::clock::{rfc3339_utc, unix_now};
use crate::fsutil::GroupSync;

/// The file name of the current audit file.
pub const FILE_NAME: &str = "audit.jsonl";
/// The `prev` of the very first record.
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Why the audit log failed.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The file or directory could not be opened, written or synced.
    #[error("audit log {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A line is not a record, or the chain is broken there.
    #[error("audit log {path} line {line}: {reason}")]
    Broken {
        /// The file.
        path: PathBuf,
        /// The 1-based line.
        line: usize,
        /// What is wrong.
        reason: String,
    },
}

/// How long and how much of a chain is kept (`general.audit_retention`,
/// `general.audit_max_mib`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Rotated files whose newest record is older than this many seconds are erased (0: no
    /// age limit, only space).
    pub max_age_secs: u64,
    /// The most bytes the chain's files may take together; the oldest files go first.
    pub max_bytes: u64,
}

/// How often the current file is rotated under a [`Retention`] with an age limit, so that
/// records leave within a day of their time.
pub const ROTATE_AGE_SECS: u64 = 86_400;

/// The most rotated files a chain has (the readers look no further).
pub const MAX_FILES: usize = 1000;

/// How often a chain under a [`Retention`] looks for files to erase when nothing rotates.
const PRUNE_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

/// What a pruning erased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pruned {
    /// How many rotated files.
    pub files: usize,
    /// Their bytes.
    pub bytes: u64,
    /// The sequence number of the newest record erased.
    pub through_seq: u64,
    /// Why: `age` (past the retention) or `space` (the chain outgrew its space, or
    /// [`MAX_FILES`]).
    pub reason: &'static str,
}

/// An open audit log, shared by the daemon's tasks.
#[derive(Debug)]
pub struct AuditLog {
    dir: PathBuf,
    max_bytes: u64,
    keep: usize,
    retention: Mutex<Option<Retention>>,
    last_prune: Mutex<Option<std::time::Instant>>,
    inner: Mutex<Tail>,
    /// The records synced to disk, numbered as the chain numbers them: records are written
    /// under `inner` and synced outside it, so that one sync covers every record written
    /// before it (a group commit) and sessions do not queue behind one another's syncs.
    synced: GroupSync,
    /// The last whole-chain check: when it ran, the current file's length and change time
    /// then, and its answer (see [`AuditLog::verified`]).
    last_check: Mutex<Option<LastCheck>>,
}

/// A whole-chain check kept for reuse.
#[derive(Debug)]
struct LastCheck {
    at: std::time::Instant,
    file: Option<(u64, std::time::SystemTime)>,
    result: Result<u64, String>,
}

/// How long a whole-chain check is reused: reading every rotated file is work for a small
/// board, and anyone who may connect to a control socket may ask.
pub const VERIFY_REUSE: std::time::Duration = std::time::Duration::from_secs(60);

/// The open file and the end of the chain.
#[derive(Debug)]
struct Tail {
    /// Shared with the sync of [`AuditLog::sync_through`], which runs outside `inner`.
    file: Arc<File>,
    size: u64,
    seq: u64,
    prev: String,
    /// The time of the current file's first record (Unix seconds), if it has one.
    first_time: Option<u64>,
}

impl AuditLog {
    /// Opens (creating) the audit log in `dir`, rotating at `max_bytes` and keeping `keep`
    /// rotated files.
    pub fn open(dir: &Path, max_bytes: u64, keep: usize) -> Result<Self, AuditError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| AuditError::Io { path, source }
        };
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io(dir))?;
        let path = dir.join(FILE_NAME);
        let (seq, prev) = last_link(&path)?
            .or(last_link(&rotated(dir, 1))?)
            .unwrap_or((0, GENESIS.to_string()));
        let file = open_append(&path).map_err(io(&path))?;
        let size = file.metadata().map_err(io(&path))?.len();
        let first_time = first_time(&path);
        Ok(Self {
            dir: dir.to_path_buf(),
            max_bytes,
            keep,
            retention: Mutex::new(None),
            last_prune: Mutex::new(None),
            inner: Mutex::new(Tail {
                file: Arc::new(file),
                size,
                seq,
                prev,
                first_time,
            }),
            synced: GroupSync::new(seq),
            last_check: Mutex::new(None),
        })
    }

    /// Appends one record: `event` plus the fields of `fields` (an object; other values go
    /// under `"data"`), and syncs it to disk. Returns the record's sequence number once
    /// the record is on disk.
    pub fn record(&self, event: &str, fields: Value) -> Result<u64, AuditError> {
        let seq = {
            let mut tail = self.inner.lock().unwrap_or_else(|p| p.into_inner());
            let retention = *self.retention.lock().unwrap_or_else(|p| p.into_inner());
            let now = unix_now();
            let seq = self.append(&mut tail, event, fields, retention, now)?;
            if let Some(r) = retention
                && self.prune_due()
            {
                self.prune_locked(&mut tail, r, now)?;
            }
            seq
        };
        self.sync_through(seq)?;
        Ok(seq)
    }

    /// Returns once record `seq` is on disk: at once if a sync since it was written has
    /// covered it, else after syncing the current file, which covers every record written
    /// so far (the files before it were synced when they were rotated).
    fn sync_through(&self, seq: u64) -> Result<(), AuditError> {
        self.synced.through(seq, || {
            let file = self
                .inner
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .file
                .clone();
            self.sync(&file)
        })
    }

    /// Syncs the current file's records to disk.
    fn sync(&self, file: &File) -> Result<(), AuditError> {
        file.sync_data().map_err(|source| AuditError::Io {
            path: self.dir.join(FILE_NAME),
            source,
        })
    }

    /// Puts `retention` in force (a new settings version), erasing at once what it no
    /// longer keeps (the erasure recorded first in the chain).
    pub fn set_retention(&self, retention: Retention) -> Result<Option<Pruned>, AuditError> {
        let mut tail = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        *self.retention.lock().unwrap_or_else(|p| p.into_inner()) = Some(retention);
        *self.last_prune.lock().unwrap_or_else(|p| p.into_inner()) =
            Some(std::time::Instant::now());
        self.prune_locked(&mut tail, retention, unix_now())
    }

    /// Whether an hourly look for files to erase is due (and marks it done).
    fn prune_due(&self) -> bool {
        let mut last = self.last_prune.lock().unwrap_or_else(|p| p.into_inner());
        if last.is_some_and(|at| at.elapsed() < PRUNE_EVERY) {
            return false;
        }
        *last = Some(std::time::Instant::now());
        true
    }

    /// Erases the rotated files `retention` no longer keeps, after recording what it
    /// erases (so a failed record erases nothing).
    fn prune_locked(
        &self,
        tail: &mut Tail,
        retention: Retention,
        now: u64,
    ) -> Result<Option<Pruned>, AuditError> {
        let Some((from, pruned)) = plan_prune(&self.dir, tail.size, retention, now) else {
            return Ok(None);
        };
        let fields = serde_json::json!({
            "files": pruned.files,
            "bytes": pruned.bytes,
            "through_seq": pruned.through_seq,
            "reason": pruned.reason,
            "retention_secs": retention.max_age_secs,
            "max_bytes": retention.max_bytes,
        });
        self.append(tail, "audit_pruned", fields, None, now)?;
        // On disk before anything is erased.
        self.sync(&tail.file)?;
        // Oldest first, so that a crash part-way leaves the chain whole from some file on.
        for n in (from..=from + pruned.files - 1).rev() {
            let path = rotated(&self.dir, n);
            fs::remove_file(&path).map_err(|source| AuditError::Io { path, source })?;
        }
        tracing::info!(dir = %self.dir.display(), files = pruned.files, through_seq = pruned.through_seq, reason = pruned.reason, "audit records past their retention erased");
        Ok(Some(pruned))
    }

    /// Appends one record to the current file (rotating it first when it is full, or a day
    /// old under an age `retention`).
    fn append(
        &self,
        tail: &mut Tail,
        event: &str,
        fields: Value,
        retention: Option<Retention>,
        now: u64,
    ) -> Result<u64, AuditError> {
        let seq = tail.seq + 1;
        let mut object = Map::new();
        object.insert("seq".into(), seq.into());
        object.insert("time".into(), rfc3339_utc(now).into());
        object.insert("event".into(), event.into());
        match fields {
            Value::Object(map) => {
                for (k, v) in map {
                    if !matches!(k.as_str(), "seq" | "time" | "event" | "prev") {
                        object.insert(k, v);
                    }
                }
            }
            Value::Null => {}
            other => {
                object.insert("data".into(), other);
            }
        }
        object.insert("prev".into(), tail.prev.clone().into());
        let line = bounded_line(object);
        let path = self.dir.join(FILE_NAME);
        let io = |source| AuditError::Io {
            path: path.clone(),
            source,
        };
        let full = tail.size + line.len() as u64 + 1 > self.max_bytes;
        let old = retention.is_some_and(|r| r.max_age_secs > 0)
            && tail
                .first_time
                .is_some_and(|t| now.saturating_sub(t) >= ROTATE_AGE_SECS);
        if tail.size > 0 && (full || old) {
            // What the file holds is on disk before it is set aside: a sync after this
            // one covers the new file only.
            self.sync(&tail.file)?;
            let keep = if retention.is_some() {
                MAX_FILES
            } else {
                self.keep
            };
            self.rotate(keep).map_err(io)?;
            tail.file = Arc::new(open_append(&path).map_err(io)?);
            tail.size = 0;
            tail.first_time = None;
        }
        let mut bytes = line.into_bytes();
        bytes.push(b'\n');
        // Synced by the caller (see `sync_through`), after `inner` is released.
        (&*tail.file).write_all(&bytes).map_err(io)?;
        tail.size += bytes.len() as u64;
        tail.first_time.get_or_insert(now);
        tail.seq = seq;
        // Counted in the order written (under `inner`): the count is the sequence number.
        let counted = self.synced.made();
        debug_assert_eq!(counted, seq);
        tail.prev = hex_sha256(bytes.get(..bytes.len() - 1).unwrap_or_default());
        Ok(seq)
    }

    /// The chain checked whole ([`verify`]): how many records, or where it breaks. A check
    /// less than [`VERIFY_REUSE`] old, made when the current file was as it is now (length
    /// and change time), is answered again instead of reading every file anew; checks run
    /// one at a time.
    pub fn verified(&self) -> Result<u64, String> {
        let mut last = self.last_check.lock().unwrap_or_else(|p| p.into_inner());
        let file = fs::metadata(self.dir.join(FILE_NAME))
            .ok()
            .and_then(|m| Some((m.len(), m.modified().ok()?)));
        if let Some(l) = last.as_ref()
            && l.at.elapsed() < VERIFY_REUSE
            && l.file == file
        {
            return l.result.clone();
        }
        let result = verify(&self.dir).map_err(|e| e.to_string());
        *last = Some(LastCheck {
            at: std::time::Instant::now(),
            file,
            result: result.clone(),
        });
        result
    }

    /// Where the chain's files are.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Records an event whose action has already happened (an administrator's change): a
    /// failure to write is logged, not returned, since there is nothing left to refuse.
    pub fn record_or_log(&self, event: &str, fields: Value) {
        if let Err(e) = self.record(event, fields) {
            tracing::error!(error = %e, event, "audit log write failed");
        }
    }

    /// Shifts `audit.jsonl` → `.1` → `.2` …, dropping the oldest past `keep`.
    fn rotate(&self, keep: usize) -> std::io::Result<()> {
        if keep == 0 {
            return fs::remove_file(self.dir.join(FILE_NAME));
        }
        let _ = fs::remove_file(rotated(&self.dir, keep));
        for n in (1..keep).rev() {
            let from = rotated(&self.dir, n);
            if from.exists() {
                fs::rename(&from, rotated(&self.dir, n + 1))?;
            }
        }
        fs::rename(self.dir.join(FILE_NAME), rotated(&self.dir, 1))?;
        File::open(&self.dir)?.sync_all()
    }
}

fn rotated(dir: &Path, n: usize) -> PathBuf {
    dir.join(format!("{FILE_NAME}.{n}"))
}

/// Which rotated files `retention` no longer keeps at `now`, the current file being
/// `current_size` bytes: the first (newest) of them and what they hold. Files are looked at
/// newest first; the first one past the space, past [`MAX_FILES`] or wholly past the age
/// limit goes, with every older one.
fn plan_prune(
    dir: &Path,
    current_size: u64,
    retention: Retention,
    now: u64,
) -> Option<(usize, Pruned)> {
    let mut total = current_size;
    let mut cut: Option<(usize, &'static str)> = None;
    let mut n = 1;
    while let Ok(meta) = fs::metadata(rotated(dir, n)) {
        if cut.is_none() {
            total += meta.len();
            if total > retention.max_bytes || n > MAX_FILES {
                cut = Some((n, "space"));
            } else if retention.max_age_secs > 0
                && last_time(&rotated(dir, n))
                    .is_some_and(|t| now.saturating_sub(t) > retention.max_age_secs)
            {
                cut = Some((n, "age"));
            }
        }
        n += 1;
    }
    let (from, reason) = cut?;
    let bytes = (from..n)
        .filter_map(|k| fs::metadata(rotated(dir, k)).ok())
        .map(|m| m.len())
        .sum();
    let through_seq = last_link(&rotated(dir, from))
        .ok()
        .flatten()
        .map_or(0, |(seq, _)| seq);
    Some((
        from,
        Pruned {
            files: n - from,
            bytes,
            through_seq,
            reason,
        },
    ))
}

/// The time (Unix seconds) of the last record of the file at `path`.
fn last_time(path: &Path) -> Option<u64> {
    let mut file = File::open(path).ok()?;
    let len = file.metadata().ok()?.len();
    file.seek(SeekFrom::Start(len.saturating_sub(1 << 20)))
        .ok()?;
    let mut tail = Vec::new();
    file.read_to_end(&mut tail).ok()?;
    let line = tail.split(|&b| b == b'\n').rfind(|l| !l.is_empty())?;
    record_time(line)
}

/// The time (Unix seconds) of the first record of the file at `path`.
fn first_time(path: &Path) -> Option<u64> {
    let file = File::open(path).ok()?;
    let line = BufReader::new(file).split(b'\n').next()?.ok()?;
    record_time(&line)
}

fn record_time(line: &[u8]) -> Option<u64> {
    let value: Value = serde_json::from_slice(line).ok()?;
    crate::clock::parse_rfc3339_utc(value.get("time")?.as_str()?)
}

fn open_append(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
}

/// The sequence number and hash of the last complete record of `path`, if any.
fn last_link(path: &Path) -> Result<Option<(u64, String)>, AuditError> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(AuditError::Io {
                path: path.into(),
                source,
            });
        }
    };
    let io = |source| AuditError::Io {
        path: path.into(),
        source,
    };
    let len = file.metadata().map_err(io)?.len();
    // Records are a few KiB at most; the last 1 MiB surely holds the last one.
    let start = len.saturating_sub(1 << 20);
    file.seek(SeekFrom::Start(start)).map_err(io)?;
    let mut tail = Vec::new();
    file.read_to_end(&mut tail).map_err(io)?;
    let Some(line) = tail.split(|&b| b == b'\n').rfind(|l| !l.is_empty()) else {
        return Ok(None);
    };
    let seq = serde_json::from_slice::<Value>(line)
        .ok()
        .and_then(|v| v.get("seq").and_then(Value::as_u64))
        .unwrap_or(0);
    Ok(Some((seq, hex_sha256(line))))
}

/// The directory of `daemon`'s own chain in its data directory. Each daemon keeps its own
/// chain (they run as different users with their own state directories, and one writer per
/// chain keeps the links in order); `mamori audit-verify` checks them together.
pub fn chain_dir(data_dir: &Path, daemon: &str) -> PathBuf {
    data_dir.join("audit").join(daemon)
}

/// Every audit chain under `root`: `root/audit/<daemon>/`, the chains of daemons with data
/// directories of their own under the box's state root (`root/<dir>/audit/<daemon>/`), and
/// the single chain of earlier releases (`root/audit/`). Sorted.
pub fn find_chains(root: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let holds_chain = |d: &Path| d.join(FILE_NAME).exists() || rotated(d, 1).exists();
    let subdirs = |d: &Path| -> Vec<PathBuf> {
        fs::read_dir(d)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.is_dir())
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut audit_dirs = vec![root.join("audit")];
    audit_dirs.extend(subdirs(root).into_iter().map(|d| d.join("audit")));
    for audit in audit_dirs {
        if holds_chain(&audit) {
            found.push(audit.clone());
        }
        found.extend(subdirs(&audit).into_iter().filter(|d| holds_chain(d)));
    }
    found.sort();
    found.dedup();
    found
}

/// The longest record written: a record is a line, and a restart finds the end of the
/// chain in the file's last MiB, so no record may come near that.
pub const MAX_RECORD_BYTES: usize = 64 * 1024;

/// The record as one JSON line of at most [`MAX_RECORD_BYTES`]: past that, each field over
/// 1 KiB is replaced by its size and SHA-256 (what it was can still be matched, not read).
fn bounded_line(mut object: Map<String, Value>) -> String {
    let line = Value::Object(object.clone()).to_string();
    if line.len() <= MAX_RECORD_BYTES {
        return line;
    }
    for value in object.values_mut() {
        let text = value.to_string();
        if text.len() > 1024 {
            *value = serde_json::json!({
                "omitted_bytes": text.len(),
                "sha256": hex_sha256(text.as_bytes()),
            });
        }
    }
    let line = Value::Object(object.clone()).to_string();
    if line.len() <= MAX_RECORD_BYTES {
        return line;
    }
    // Many small fields: keep the chain's own and say what was dropped.
    object.retain(|k, _| matches!(k.as_str(), "seq" | "time" | "event" | "prev"));
    object.insert(
        "omitted".into(),
        serde_json::json!({"bytes": line.len(), "sha256": hex_sha256(line.as_bytes())}),
    );
    Value::Object(object).to_string()
}

/// The SHA-256 of `bytes` in lower-case hex, as the chain links records.
pub fn hex_sha256(bytes: &[u8]) -> String {
    digest(&SHA256, bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// How much of the end of the current file [`recent`] reads.
const RECENT_WINDOW: u64 = 256 * 1024;

/// The last `limit` records of the chain in `dir`, newest first (from the end of the
/// current file only: a bounded read whatever the chain's size).
pub fn recent(dir: &Path, limit: usize) -> Result<Vec<Value>, AuditError> {
    use std::io::{Read, Seek, SeekFrom};
    let path = dir.join(FILE_NAME);
    let io = |source| AuditError::Io {
        path: path.clone(),
        source,
    };
    let mut file = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(e)),
    };
    let size = file.metadata().map_err(io)?.len();
    let start = size.saturating_sub(RECENT_WINDOW);
    file.seek(SeekFrom::Start(start)).map_err(io)?;
    let mut bytes = Vec::new();
    file.take(RECENT_WINDOW)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    let mut lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
    if start > 0 && !lines.is_empty() {
        // The first line may be cut.
        lines.remove(0);
    }
    Ok(lines
        .iter()
        .rev()
        .filter(|l| !l.is_empty())
        .filter_map(|l| serde_json::from_slice(l).ok())
        .take(limit)
        .collect())
}

/// Calls `visit` with every record of the chain in `dir` (its rotated files too, oldest
/// first) whose time is in `from..to` (Unix seconds). Lines that do not parse are skipped:
/// this reads for reports; [`verify`] is the check.
pub fn for_each_between(
    dir: &Path,
    from: u64,
    to: u64,
    mut visit: impl FnMut(&Value),
) -> Result<(), AuditError> {
    let mut files: Vec<PathBuf> = (1..=1000)
        .map(|n| rotated(dir, n))
        .take_while(|p| p.exists())
        .collect();
    files.reverse();
    files.push(dir.join(FILE_NAME));
    for path in files {
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(source) => return Err(AuditError::Io { path, source }),
        };
        for line in BufReader::new(file).split(b'\n') {
            let line = line.map_err(|source| AuditError::Io {
                path: path.clone(),
                source,
            })?;
            let Ok(record) = serde_json::from_slice::<Value>(&line) else {
                continue;
            };
            let at = record["time"]
                .as_str()
                .and_then(crate::clock::parse_rfc3339_utc);
            if at.is_some_and(|t| (from..to).contains(&t)) {
                visit(&record);
            }
        }
    }
    Ok(())
}

/// What the panel shows of a chain: `{"chain": {"intact", "records" | "error"}, "recent":
/// [newest first]}` (the check reused for [`VERIFY_REUSE`]).
pub fn summary(log: &AuditLog, limit: usize) -> Result<Value, AuditError> {
    let chain = match log.verified() {
        Ok(records) => serde_json::json!({"intact": true, "records": records}),
        Err(e) => serde_json::json!({"intact": false, "error": e}),
    };
    Ok(serde_json::json!({"chain": chain, "recent": recent(&log.dir, limit)?}))
}

/// Checks the chain of every audit file in `dir`, oldest first. Returns how many records
/// were checked.
pub fn verify(dir: &Path) -> Result<u64, AuditError> {
    let mut files: Vec<PathBuf> = (1..=1000)
        .map(|n| rotated(dir, n))
        .take_while(|p| p.exists())
        .collect();
    files.reverse();
    files.push(dir.join(FILE_NAME));
    let mut prev: Option<String> = None;
    let mut last_seq: Option<u64> = None;
    let mut count = 0;
    for path in files {
        let file = File::open(&path).map_err(|source| AuditError::Io {
            path: path.clone(),
            source,
        })?;
        for (index, line) in BufReader::new(file).split(b'\n').enumerate() {
            let line = line.map_err(|source| AuditError::Io {
                path: path.clone(),
                source,
            })?;
            let broken = |reason: String| AuditError::Broken {
                path: path.clone(),
                line: index + 1,
                reason,
            };
            let value: Value = serde_json::from_slice(&line)
                .map_err(|e| broken(format!("not a JSON record: {e}")))?;
            let seq = value
                .get("seq")
                .and_then(Value::as_u64)
                .ok_or_else(|| broken("no sequence number".into()))?;
            let link = value
                .get("prev")
                .and_then(Value::as_str)
                .ok_or_else(|| broken("no prev hash".into()))?;
            if let Some(expected) = &prev
                && link != expected
            {
                return Err(broken(format!(
                    "prev hash does not match the record before (seq {seq}): a record was removed or changed"
                )));
            }
            if let Some(last) = last_seq
                && seq != last + 1
            {
                return Err(broken(format!("sequence jumps from {last} to {seq}")));
            }
            prev = Some(hex_sha256(&line));
            last_seq = Some(seq);
            count += 1;
        }
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const DAY: u64 = 86_400;

    /// Appends `event` as if at `now` (days pass in a test without waiting).
    fn record_at(log: &AuditLog, event: &str, now: u64) {
        let mut tail = log.inner.lock().unwrap();
        let retention = *log.retention.lock().unwrap();
        log.append(&mut tail, event, json!({"n": 1}), retention, now)
            .unwrap();
    }

    fn prune_at(log: &AuditLog, now: u64) -> Option<Pruned> {
        let mut tail = log.inner.lock().unwrap();
        let retention = log.retention.lock().unwrap().unwrap();
        log.prune_locked(&mut tail, retention, now).unwrap()
    }

    #[test]
    fn records_past_the_retention_are_erased_daily_and_the_erasure_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::open(dir.path(), 64 << 20, 3).unwrap();
        let retention = Retention {
            max_age_secs: 10 * DAY,
            max_bytes: 64 << 20,
        };
        assert_eq!(log.set_retention(retention).unwrap(), None);
        let t0 = 1_767_225_600; // 2026-01-01
        // One record a day for 30 days: a file a day (more than `keep` = 3).
        for day in 0..30 {
            record_at(&log, "dlp_verdict", t0 + day * DAY + 3600);
        }
        assert!(
            rotated(dir.path(), 29).exists(),
            "a file a day, beyond keep"
        );
        assert_eq!(verify(dir.path()).unwrap(), 30);
        let now = t0 + 30 * DAY;
        let pruned = prune_at(&log, now).unwrap();
        assert_eq!(pruned.reason, "age");
        // Records of days 0..=19 are more than 10 days old at day 30 (day 19's at
        // 19d+1h: 10d23h old); day 20's is 9d23h old and stays.
        assert_eq!(pruned.files, 20);
        assert_eq!(pruned.through_seq, 20);
        let records = verify(dir.path()).unwrap();
        assert_eq!(
            records,
            10 + 1,
            "ten days kept, plus the erasure's own record"
        );
        let newest = recent(dir.path(), 1).unwrap();
        assert_eq!(newest[0]["event"], "audit_pruned");
        assert_eq!(newest[0]["through_seq"], 20);
        assert_eq!(newest[0]["reason"], "age");
        // Nothing more to erase at once.
        assert_eq!(prune_at(&log, now), None);
        // The chain goes on, and a reopened log continues it.
        drop(log);
        let log = AuditLog::open(dir.path(), 64 << 20, 3).unwrap();
        log.record("after", json!({})).unwrap();
        assert_eq!(verify(dir.path()).unwrap(), 12);
    }

    #[test]
    fn a_chain_past_its_space_loses_its_oldest_files_first() {
        let dir = tempfile::tempdir().unwrap();
        // Files of about 1 KiB; the chain may take 4 KiB.
        let log = AuditLog::open(dir.path(), 1024, 3).unwrap();
        let t0 = 1_767_225_600;
        *log.retention.lock().unwrap() = Some(Retention {
            max_age_secs: 0,
            max_bytes: 4096,
        });
        for i in 0..100 {
            record_at(&log, "x", t0 + i);
        }
        let kept: u64 = std::iter::once(dir.path().join(FILE_NAME))
            .chain((1..=MAX_FILES).map(|n| rotated(dir.path(), n)))
            .filter_map(|p| fs::metadata(p).ok())
            .map(|m| m.len())
            .sum();
        assert!(kept > 4096, "not pruned yet: {kept}");
        let pruned = prune_at(&log, t0 + 200).unwrap();
        assert_eq!(pruned.reason, "space");
        let kept: u64 = std::iter::once(dir.path().join(FILE_NAME))
            .chain((1..=MAX_FILES).map(|n| rotated(dir.path(), n)))
            .filter_map(|p| fs::metadata(p).ok())
            .map(|m| m.len())
            .sum();
        assert!(
            kept <= 4096 + 1024,
            "within its space (plus the erasure's record): {kept}"
        );
        let newest = recent(dir.path(), 100).unwrap();
        assert_eq!(newest[0]["event"], "audit_pruned");
        // What is left is whole, and ends with the newest records.
        let count = verify(dir.path()).unwrap();
        assert!(count > 5 && count < 100, "{count}");
        assert_eq!(newest[1]["seq"], 100);
    }

    #[test]
    fn records_from_many_threads_chain_and_each_is_synced_when_it_returns() {
        let dir = tempfile::tempdir().unwrap();
        // Small files: records written while another thread's sync is under way cross
        // rotations too.
        let log = Arc::new(AuditLog::open(dir.path(), 2048, 1000).unwrap());
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let log = log.clone();
                std::thread::spawn(move || {
                    (0..100)
                        .map(|i| {
                            let seq = log.record("x", json!({"t": t, "i": i})).unwrap();
                            let synced = log.synced.synced();
                            assert!(synced >= seq, "returned {seq}, synced through {synced}");
                            seq
                        })
                        .collect::<Vec<u64>>()
                })
            })
            .collect();
        let mut seqs: Vec<u64> = threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect();
        seqs.sort_unstable();
        assert_eq!(seqs, (1..=800).collect::<Vec<u64>>());
        assert!(rotated(dir.path(), 2).exists(), "rotated while recording");
        assert_eq!(verify(dir.path()).unwrap(), 800);
        drop(log);
        let log = AuditLog::open(dir.path(), 2048, 1000).unwrap();
        assert_eq!(log.record("after", json!({})).unwrap(), 801);
    }

    #[test]
    fn without_a_retention_the_log_keeps_its_file_count() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::open(dir.path(), 400, 2).unwrap();
        for i in 0..50 {
            log.record("x", json!({ "i": i })).unwrap();
        }
        assert!(rotated(dir.path(), 2).exists());
        assert!(!rotated(dir.path(), 3).exists());
    }

    #[test]
    fn recent_records_come_newest_first_from_a_bounded_read() {
        let dir = tempfile::tempdir().unwrap();
        assert!(recent(dir.path(), 10).unwrap().is_empty(), "no chain yet");
        let log = AuditLog::open(dir.path(), 64 << 20, 3).unwrap();
        // More than the window holds: only whole records from its end come back.
        let filler = "x".repeat(1000);
        for i in 0..400 {
            log.record("e", json!({"n": i, "filler": filler})).unwrap();
        }
        let last = recent(dir.path(), 5).unwrap();
        let ns: Vec<u64> = last.iter().map(|v| v["n"].as_u64().unwrap()).collect();
        assert_eq!(ns, vec![399, 398, 397, 396, 395]);
        let all = recent(dir.path(), 10_000).unwrap();
        assert!(all.len() < 400 && all.len() > 200, "{}", all.len());
        assert!(all.iter().all(|v| v["event"] == "e"));
        assert_eq!(log.dir(), dir.path());
    }

    #[test]
    fn records_chain_and_survive_reopening_and_rotation() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::open(dir.path(), 400, 3).unwrap();
        for i in 0..5 {
            log.record(
                "dlp",
                json!({"queue_id": format!("Q{i}"), "action": "hold"}),
            )
            .unwrap();
        }
        drop(log);
        let log = AuditLog::open(dir.path(), 400, 3).unwrap();
        assert_eq!(
            log.record("quarantine_release", json!({"id": "Q1"}))
                .unwrap(),
            6
        );
        assert!(rotated(dir.path(), 1).exists(), "400 bytes forces rotation");
        assert_eq!(verify(dir.path()).unwrap(), 6);
        let text = fs::read_to_string(dir.path().join(FILE_NAME)).unwrap();
        let last: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
        assert_eq!(last["event"], "quarantine_release");
        assert_eq!(last["id"], "Q1");
    }

    #[test]
    fn a_removed_or_edited_record_breaks_the_chain() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::open(dir.path(), 1 << 20, 3).unwrap();
        for i in 0..4 {
            log.record("dlp", json!({"n": i})).unwrap();
        }
        let path = dir.path().join(FILE_NAME);
        let text = fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let without_second = [lines[0], lines[2], lines[3]].join("\n") + "\n";
        fs::write(&path, without_second).unwrap();
        let err = verify(dir.path()).unwrap_err().to_string();
        assert!(err.contains("line 2"), "{err}");
        let edited = text.replacen("\"n\":1", "\"n\":9", 1);
        fs::write(&path, edited).unwrap();
        assert!(verify(dir.path()).is_err());
    }

    #[test]
    fn a_huge_record_is_bounded_and_a_restart_continues_the_chain() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::open(dir.path(), 16 << 20, 3).unwrap();
        log.record(
            "fw_apply",
            json!({"model": "x".repeat(3 << 20), "by": "tanaka"}),
        )
        .unwrap();
        let many: Map<String, Value> = (0..20_000).map(|i| (format!("k{i}"), json!(i))).collect();
        log.record("many", Value::Object(many)).unwrap();
        drop(log);
        let text = fs::read_to_string(dir.path().join(FILE_NAME)).unwrap();
        assert!(text.lines().all(|l| l.len() <= MAX_RECORD_BYTES));
        let first: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!(first["by"], "tanaka");
        assert_eq!(first["model"]["omitted_bytes"], (3 << 20) + 2);
        let log = AuditLog::open(dir.path(), 16 << 20, 3).unwrap();
        assert_eq!(log.record("after", json!({})).unwrap(), 3);
        assert_eq!(verify(dir.path()).unwrap(), 3);
    }
}
