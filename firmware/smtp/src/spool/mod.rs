//! The durable spool: a message accepted with 250 is on disk, fsynced, first.
//!
//! Layout under the spool root:
//! - `msg/<id>`: the content and the envelope as accepted (see `file.rs` for the two
//!   layouts read). Written to `tmp/` while DATA arrives, fsynced, renamed into `msg/`,
//!   and the directory fsynced: the rename is the commit, so a crash leaves either no
//!   message or a whole one.
//! - `state/<id>.json`: the envelope as delivery changed it (recipients done, attempts,
//!   hold). Replaced atomically by write, fsync, rename, directory fsync.
//! - `tmp/`: half-written files; cleared at start.
//!
//! Two fsyncs per accepted message (file, directory) is the least that survives a power
//! cut; per-recipient progress costs a state write only when something changes.

pub mod envelope;
mod file;
pub mod map;
mod wake;

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use mamori_core::fsutil::GroupSync;

pub use envelope::{
    ClientInfo, DlpRecord, Envelope, HELD_WAKE, Notify, RcptStatus, Recipient, Ret,
};
pub use file::{Located, SpoolWriter, read_range};
pub use wake::ParkedScan;

/// Why a spool operation failed.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    /// A file system operation failed.
    #[error("spool {op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// On which path.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A spool file is not in the expected format.
    #[error("spool file {path} is corrupt: {reason}")]
    Corrupt {
        /// Which file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// No such message.
    #[error("no message {0} in the spool")]
    NotFound(String),
}

impl SpoolError {
    /// The message is not in the spool (never was, or delivered or deleted meanwhile).
    pub fn is_missing(&self) -> bool {
        match self {
            Self::NotFound(_) => true,
            Self::Io { source, .. } => source.kind() == io::ErrorKind::NotFound,
            Self::Corrupt { .. } => false,
        }
    }
}

fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> SpoolError + 'a {
    move |source| SpoolError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

/// The on-disk spool.
#[derive(Debug, Clone)]
pub struct Spool {
    root: PathBuf,
    /// The syncs of `msg/` (messages renamed in, messages removed).
    msg_dir: Arc<DirSync>,
    /// The syncs of `state/` (states renamed in).
    state_dir: Arc<DirSync>,
}

/// One directory of the spool and its group-committed syncs: a rename into it or a
/// removal from it returns once on disk, and the sessions and deliveries finishing at the
/// same time share one `fsync` of the directory instead of queueing behind one each.
#[derive(Debug)]
pub(crate) struct DirSync {
    path: PathBuf,
    group: GroupSync,
}

impl DirSync {
    fn new(path: PathBuf) -> Self {
        Self {
            path,
            group: GroupSync::new(0),
        }
    }

    /// An entry of the directory was just added, renamed or removed: returns once that
    /// is on disk.
    pub(crate) fn changed(&self) -> Result<(), SpoolError> {
        let change = self.group.made();
        self.group.through(change, || sync_dir(&self.path))
    }
}

/// A queue ID is safe as a file name: letters and digits only.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 32 && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// A fresh queue ID, sortable by arrival: the Unix second in base 34 (digits and
/// capitals without I and O), the microsecond in four fixed-width base-34 digits, and five
/// random characters against collisions.
pub fn new_id() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKLMNPQRSTUVWXYZ";
    const BASE: u64 = ALPHABET.len() as u64;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let mut id = Vec::with_capacity(16);
    let mut secs = now.as_secs();
    while secs > 0 {
        id.push(ALPHABET[(secs % BASE) as usize]);
        secs /= BASE;
    }
    id.reverse();
    let mut micros = u64::from(now.subsec_micros());
    let mut sub = [b'0'; 4];
    for digit in sub.iter_mut().rev() {
        *digit = ALPHABET[(micros % BASE) as usize];
        micros /= BASE;
    }
    id.extend_from_slice(&sub);
    let mut rng = rand::rng();
    id.extend((0..5).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())]));
    String::from_utf8(id).unwrap_or_default()
}

impl Spool {
    /// Opens (creating if needed) the spool at `root` and clears half-written files.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, SpoolError> {
        let root = root.into();
        for sub in ["msg", "state", "tmp"] {
            let p = root.join(sub);
            fs::create_dir_all(&p).map_err(io_err("create", &p))?;
        }
        let tmp = root.join("tmp");
        for entry in fs::read_dir(&tmp).map_err(io_err("read", &tmp))?.flatten() {
            let _ = fs::remove_file(entry.path());
        }
        let spool = Self {
            msg_dir: Arc::new(DirSync::new(root.join("msg"))),
            state_dir: Arc::new(DirSync::new(root.join("state"))),
            root,
        };
        spool.mark_wake_times_if_empty()?;
        Ok(spool)
    }

    fn msg_path(&self, id: &str) -> PathBuf {
        self.root.join("msg").join(id)
    }

    fn state_path(&self, id: &str) -> PathBuf {
        self.root.join("state").join(format!("{id}.json"))
    }

    /// Writes a new message durably. Returns only once the message would survive a crash.
    pub fn store(&self, env: &Envelope, content: &[u8]) -> Result<(), SpoolError> {
        let mut writer = self.writer(&env.id)?;
        writer.append(content)?;
        writer.commit(env)
    }

    /// Starts writing message `id`, whose content is then appended as it arrives and
    /// committed with its envelope ([`SpoolWriter::commit`]).
    pub fn writer(&self, id: &str) -> Result<SpoolWriter, SpoolError> {
        if !valid_id(id) {
            return Err(SpoolError::Corrupt {
                path: self.msg_path("?"),
                reason: "bad id".into(),
            });
        }
        SpoolWriter::create(
            self.root.join("tmp").join(id),
            self.msg_path(id),
            self.msg_dir.clone(),
        )
    }

    /// Replaces the delivery state of a message atomically and durably.
    pub fn update(&self, env: &Envelope) -> Result<(), SpoolError> {
        let dest = self.state_path(&env.id);
        let tmp = self.root.join("tmp").join(format!("{}.state", env.id));
        let body = encode(env, &tmp)?;
        {
            let mut f = File::create(&tmp).map_err(io_err("create", &tmp))?;
            f.write_all(&body).map_err(io_err("write", &tmp))?;
            f.sync_all().map_err(io_err("fsync", &tmp))?;
        }
        fs::rename(&tmp, &dest).map_err(io_err("rename", &dest))?;
        self.state_dir.changed()?;
        // A hint for the queue's scans (the state just written decides): a wrong time only
        // makes a scan look at the message early, or its next change put it right.
        if let Err(e) = self.set_wake(&env.id, env.wake_at()) {
            tracing::warn!(queue_id = %env.id, error = %e, "could not record the wake time");
        }
        Ok(())
    }

    /// Removes a message (delivered, bounced or deleted). Removing the `msg/` file is the
    /// commit; a left-over state file is cleared at the next start.
    pub fn remove(&self, id: &str) -> Result<(), SpoolError> {
        let msg = self.msg_path(id);
        match fs::remove_file(&msg) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(SpoolError::NotFound(id.into()));
            }
            Err(e) => return Err(io_err("remove", &msg)(e)),
        }
        // On disk before the state goes: a crash between the two must not leave the
        // message without its state (delivered recipients would get it again, a deleted
        // held message would come back).
        self.msg_dir.changed()?;
        let _ = fs::remove_file(self.state_path(id));
        Ok(())
    }

    /// Reads a message's content (without the envelope).
    pub fn content(&self, id: &str) -> Result<Vec<u8>, SpoolError> {
        let (file, at, path) = self.open_message(id)?;
        file::read_range(&file, at.content_start, at.content_len, &path)
    }

    /// The first `max` octets of a message's content (its header, for a page that names
    /// the mail), without reading the rest.
    pub fn content_head(&self, id: &str, max: u64) -> Result<Vec<u8>, SpoolError> {
        let (file, at, path) = self.open_message(id)?;
        file::read_range(&file, at.content_start, at.content_len.min(max), &path)
    }

    /// Opens a message file and finds its parts (for reading the content in place).
    pub fn open_message(&self, id: &str) -> Result<(File, Located, PathBuf), SpoolError> {
        if !valid_id(id) {
            return Err(SpoolError::NotFound(id.into()));
        }
        let path = self.msg_path(id);
        let f = File::open(&path).map_err(|e| {
            if e.kind() == io::ErrorKind::NotFound {
                SpoolError::NotFound(id.into())
            } else {
                io_err("open", &path)(e)
            }
        })?;
        let at = file::locate(&f, &path)?;
        Ok((f, at, path))
    }

    /// Every message in the spool with its latest state, oldest first; stray state files
    /// (of messages already removed) are deleted.
    pub fn load_all(&self) -> Result<Vec<Envelope>, SpoolError> {
        let dir = self.root.join("msg");
        let mut out = Vec::new();
        for entry in fs::read_dir(&dir).map_err(io_err("read", &dir))?.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !valid_id(&name) {
                continue;
            }
            match self.load_one(&name) {
                Ok(env) => out.push(env),
                Err(e) => {
                    tracing::error!(queue_id = %name, error = %e, "unreadable spool file left in place")
                }
            }
        }
        self.remove_orphan_states()?;
        out.sort_by(|a, b| a.arrived.cmp(&b.arrived).then_with(|| a.id.cmp(&b.id)));
        Ok(out)
    }

    /// Removes delivery states whose message is gone (a crash between the two removals).
    pub fn remove_orphan_states(&self) -> Result<(), SpoolError> {
        let state_dir = self.root.join("state");
        for entry in fs::read_dir(&state_dir)
            .map_err(io_err("read", &state_dir))?
            .flatten()
        {
            let name = entry.file_name().to_string_lossy().into_owned();
            let id = name.trim_end_matches(".json");
            if !self.msg_path(id).exists() {
                let _ = fs::remove_file(entry.path());
            }
        }
        Ok(())
    }

    /// One message's envelope with its latest state.
    pub fn load_one(&self, id: &str) -> Result<Envelope, SpoolError> {
        let state = self.state_path(id);
        if let Ok(bytes) = fs::read(&state) {
            return decode(&bytes, &state);
        }
        let (f, at, path) = self.open_message(id)?;
        let (offset, len) = at.envelope;
        decode(&file::read_range(&f, offset, len, &path)?, &path)
    }
}

/// The format of the envelopes and states this firmware writes (the spool of earlier
/// releases, without a number, is format 1). A newer one is left unread, never misread.
pub const FORMAT: u64 = 1;

/// An envelope as stored: its JSON with the format number.
fn encode(env: &Envelope, path: &Path) -> Result<Vec<u8>, SpoolError> {
    let corrupt = |e: serde_json::Error| SpoolError::Corrupt {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let mut value = serde_json::to_value(env).map_err(corrupt)?;
    if let Some(map) = value.as_object_mut() {
        map.insert("format".into(), FORMAT.into());
    }
    serde_json::to_vec(&value).map_err(corrupt)
}

/// Reads a stored envelope, refusing one of a newer format.
fn decode(bytes: &[u8], path: &Path) -> Result<Envelope, SpoolError> {
    let corrupt = |reason: String| SpoolError::Corrupt {
        path: path.to_path_buf(),
        reason,
    };
    let mut value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| corrupt(e.to_string()))?;
    let format = value
        .as_object_mut()
        .and_then(|m| m.remove("format"))
        .map_or(Some(1), |f| f.as_u64());
    match format {
        Some(f) if f <= FORMAT => {}
        Some(f) => {
            return Err(corrupt(format!(
                "spool format {f}, newer than this firmware knows ({FORMAT}): left in place, unread"
            )));
        }
        None => return Err(corrupt("the format is not a number".into())),
    }
    serde_json::from_value(value).map_err(|e| corrupt(e.to_string()))
}

/// fsyncs a directory so that a rename or unlink in it is durable.
fn sync_dir(dir: &Path) -> Result<(), SpoolError> {
    mamori_core::fsutil::sync_dir(dir).map_err(io_err("fsync", dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(id: &str) -> Envelope {
        let rcpts = vec![
            Recipient::new("b@example.com"),
            Recipient::new("c@example.com"),
        ];
        Envelope {
            arrived: 1,
            size: 5,
            ..Envelope::new(
                id.into(),
                "a@example.jp".into(),
                rcpts,
                ClientInfo::default(),
            )
        }
    }

    #[test]
    fn store_update_reload_remove() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path()).unwrap();
        let mut e = env("ABC123");
        spool.store(&e, b"hello\r\n").unwrap();
        assert!(spool.store(&e, b"again").is_err(), "ids never overwrite");
        assert_eq!(spool.content("ABC123").unwrap(), b"hello\r\n");
        e.recipients[0].status = RcptStatus::Delivered {
            reply: "250 ok".into(),
            at: 2,
        };
        e.attempts = 1;
        spool.update(&e).unwrap();
        let reopened = Spool::open(dir.path()).unwrap();
        let all = reopened.load_all().unwrap();
        assert_eq!(all, vec![e.clone()]);
        assert_eq!(all[0].pending().count(), 1);
        reopened.remove("ABC123").unwrap();
        assert!(reopened.load_all().unwrap().is_empty());
        assert!(matches!(
            reopened.remove("ABC123"),
            Err(SpoolError::NotFound(_))
        ));
    }

    #[test]
    fn threads_storing_updating_and_removing_at_once_share_the_directory_syncs() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path()).unwrap();
        std::thread::scope(|s| {
            for t in 0..6 {
                let spool = spool.clone();
                s.spawn(move || {
                    for i in 0..40 {
                        let mut e = env(&format!("T{t}M{i}"));
                        spool.store(&e, b"hello\r\n").unwrap();
                        e.attempts = 1;
                        spool.update(&e).unwrap();
                        if i % 2 == 0 {
                            spool.remove(&e.id).unwrap();
                        }
                    }
                });
            }
        });
        // Every change was counted and is covered by a sync that ran after it.
        let (msg, state) = (&spool.msg_dir.group, &spool.state_dir.group);
        assert_eq!(msg.synced(), 6 * 40 + 6 * 20, "renames in and removals");
        assert_eq!(state.synced(), 6 * 40);
        let left = Spool::open(dir.path()).unwrap().load_all().unwrap();
        assert_eq!(left.len(), 6 * 20);
        assert!(
            left.iter()
                .all(|e| e.attempts == 1 && e.id.ends_with(['1', '3', '5', '7', '9']))
        );
    }

    #[test]
    fn half_written_files_are_not_messages() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path()).unwrap();
        fs::write(dir.path().join("tmp").join("XYZ"), b"partial").unwrap();
        fs::write(dir.path().join("state").join("GONE.json"), b"{}").unwrap();
        let spool2 = Spool::open(dir.path()).unwrap();
        assert!(spool2.load_all().unwrap().is_empty());
        assert!(!dir.path().join("tmp").join("XYZ").exists());
        assert!(!dir.path().join("state").join("GONE.json").exists());
        drop(spool);
    }

    #[test]
    fn ids_are_file_safe_and_unique() {
        let a = new_id();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = new_id();
        assert!(valid_id(&a) && valid_id(&b));
        assert_ne!(a, b);
        assert_eq!(a.len(), b.len());
        assert!(a < b, "later IDs sort after earlier ones: {a} {b}");
        assert!(!valid_id("../etc"));
    }

    /// The spool a release of 2026-12-04 left behind (layout 1; `tests/fixtures`): three
    /// messages, one with two recipients and 8-bit text, one held, each with a state.
    fn earlier_release_spool() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/spool-v1");
        for sub in ["msg", "state"] {
            fs::create_dir_all(dir.path().join(sub)).unwrap();
            for f in fs::read_dir(fixture.join(sub)).unwrap() {
                let f = f.unwrap();
                fs::copy(f.path(), dir.path().join(sub).join(f.file_name())).unwrap();
            }
        }
        fs::copy(fixture.join("wake-times"), dir.path().join("wake-times")).unwrap();
        dir
    }

    #[test]
    fn the_spool_of_earlier_releases_is_read() {
        let dir = earlier_release_spool();
        let spool = Spool::open(dir.path()).unwrap();
        let all = spool.load_all().unwrap();
        assert_eq!(all.len(), 3);
        assert_eq!(all.iter().filter(|e| e.held.is_some()).count(), 1);
        assert!(all.iter().all(|e| e.attempts >= 1), "read from the states");
        // Without the states, the envelopes at the head of the files.
        fs::remove_dir_all(dir.path().join("state")).unwrap();
        fs::create_dir(dir.path().join("state")).unwrap();
        let firsts = spool.load_all().unwrap();
        assert_eq!(firsts.len(), 3);
        for env in &firsts {
            assert_eq!(env.attempts, 0);
            let content = spool.content(&env.id).unwrap();
            assert!(content.starts_with(b"Received: from "), "{env:?}");
            assert_eq!(content.len() as u64, env.size + received_len(&content));
            assert!(content.ends_with(b"\r\n"));
        }
        let eight = firsts.iter().find(|e| e.recipients.len() == 2).unwrap();
        let text = String::from_utf8(spool.content(&eight.id).unwrap()).unwrap();
        assert!(text.contains("こんにちは body"), "{text}");
        // Rewritten in this release's layout, the same message reads the same.
        let copy = Envelope {
            id: "COPY0000000000001".into(),
            ..eight.clone()
        };
        spool.store(&copy, text.as_bytes()).unwrap();
        assert_eq!(spool.content(&copy.id).unwrap(), text.as_bytes());
        assert_eq!(spool.load_one(&copy.id).unwrap(), copy);
    }

    /// The length of the `Received` field the relay put first.
    fn received_len(content: &[u8]) -> u64 {
        let text = String::from_utf8_lossy(content);
        let end = text.find("\r\nFrom:").unwrap() + 2;
        end as u64
    }

    #[test]
    fn a_newer_layout_or_format_is_left_unread() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path()).unwrap();
        let e = env("AAAAAAAAAAAAAAA1");
        spool.store(&e, b"hello\r\n").unwrap();
        let written = fs::read(spool.msg_path(&e.id)).unwrap();
        assert!(written.starts_with(b"mamori-spool 2 00000000000000000007\nhello\r\n{"));
        // A newer firmware's state: not read, not guessed at.
        let old = serde_json::to_string(&e).unwrap();
        let newer = old.replacen('{', "{\"format\":2,", 1);
        fs::write(spool.state_path(&e.id), newer).unwrap();
        let err = spool.load_one(&e.id).unwrap_err().to_string();
        assert!(err.contains("newer than this firmware"), "{err}");
        assert!(
            spool.load_all().unwrap().is_empty(),
            "left in place, unread"
        );
        assert!(spool.msg_path(&e.id).exists());
        // A newer layout of the message file, likewise.
        fs::remove_file(spool.state_path(&e.id)).unwrap();
        let mut three = written.clone();
        three[13] = b'3';
        fs::write(spool.msg_path(&e.id), &three).unwrap();
        let err = spool.content(&e.id).unwrap_err().to_string();
        assert!(err.contains("layout 3, newer"), "{err}");
        assert!(spool.load_all().unwrap().is_empty());
    }

    #[test]
    fn damaged_message_files_are_refused_not_misread() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path()).unwrap();
        let e = env("AAAAAAAAAAAAAAA2");
        spool.store(&e, b"hello\r\n").unwrap();
        let path = spool.msg_path(&e.id);
        let good = fs::read(&path).unwrap();
        for bad in [
            good[..20].to_vec(),
            good[..40].to_vec(),
            good[..good.len() - 1].to_vec(),
            b"garbage\n".to_vec(),
            b"{\"no\":\"end of line".to_vec(),
            good.iter()
                .map(|&b| if b == b'7' { b'9' } else { b })
                .collect(),
        ] {
            fs::write(&path, &bad).unwrap();
            assert!(
                spool.load_one(&e.id).is_err() || spool.content(&e.id).is_err(),
                "{:?}",
                String::from_utf8_lossy(&bad)
            );
        }
    }

    #[test]
    fn a_writer_appends_rewrites_and_leaves_nothing_when_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path()).unwrap();
        let e = env("AAAAAAAAAAAAAAA3");
        let mut w = spool.writer(&e.id).unwrap();
        w.append(b"Subject: a\r\n\r\n").unwrap();
        w.append(b"body\r\n").unwrap();
        assert_eq!(&**w.map_content().unwrap(), b"Subject: a\r\n\r\nbody\r\n");
        w.replace_content(b"Subject: [tag] a\r\n\r\nbody\r\n")
            .unwrap();
        w.commit(&e).unwrap();
        assert_eq!(
            spool.content(&e.id).unwrap(),
            b"Subject: [tag] a\r\n\r\nbody\r\n"
        );
        assert_eq!(spool.load_one(&e.id).unwrap(), e);
        let w = spool.writer("AAAAAAAAAAAAAAA4").unwrap();
        drop(w);
        assert_eq!(fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0);
        assert!(spool.load_all().unwrap().len() == 1);
    }
}

#[cfg(test)]
mod writer_props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// However the content arrives in pieces, the spool reads back exactly the bytes
        /// written, before the commit (for the stages) and after it (for delivery).
        #[test]
        fn content_written_in_pieces_reads_back_whole(
            pieces in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..3000), 0..12),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let spool = Spool::open(dir.path()).unwrap();
            let whole: Vec<u8> = pieces.concat();
            let env = Envelope {
                size: whole.len() as u64,
                ..Envelope::new("PROP0000000001".into(), "a@b.jp".into(), vec![Recipient::new("c@d.jp")], ClientInfo::default())
            };
            let mut w = spool.writer(&env.id).unwrap();
            for p in &pieces {
                w.append(p).unwrap();
            }
            prop_assert_eq!(w.content_len(), whole.len() as u64);
            prop_assert_eq!(&**w.map_content().unwrap(), &whole[..]);
            w.commit(&env).unwrap();
            prop_assert_eq!(&spool.content(&env.id).unwrap(), &whole);
            prop_assert_eq!(spool.load_one(&env.id).unwrap(), env);
        }
    }
}
