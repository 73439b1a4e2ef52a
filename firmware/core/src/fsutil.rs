//! Durable file replacement: the one way the box writes a small file that must be either
//! wholly old or wholly new after a power cut (metadata, boot environments, state files).

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// Writes `bytes` to `path` through a temporary file in the same directory: written, synced,
/// renamed over `path`, and the directory synced, so that a cut at any moment leaves the old
/// or the new content, never a mix. Makes the directory when it is missing; an existing
/// file's permissions carry over to the new one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let permissions = std::fs::metadata(path).ok().map(|m| m.permissions());
    let mut attempt = 0;
    let (tmp, mut file) = loop {
        // Unique within the process and across processes; a name left by a crash is skipped.
        let count = COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!(".{name}.{}.{count}.tmp", std::process::id()));
        match OpenOptions::new().write(true).create_new(true).open(&tmp) {
            Ok(f) => break (tmp, f),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 100 => {
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    };
    let result = file
        .write_all(bytes)
        .and_then(|()| permissions.map_or(Ok(()), |p| file.set_permissions(p)))
        .and_then(|()| file.sync_all())
        .and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    sync_dir(dir)
}

/// Syncs a directory, so that a rename or a new file in it survives a power cut.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// One sync to disk serving many writers at once (a group commit). Each change (a record
/// appended, a file renamed or removed) is numbered when it has been made; a sync that
/// begins after it covers it. A writer returns only once its change is on disk, but it
/// does not queue behind one sync per earlier writer: on an SD card, where a sync takes
/// 5-20 ms, that queue, not the work, would set the pace of every writer of the file or
/// directory.
#[derive(Debug)]
pub struct GroupSync {
    /// Changes made so far: change `n` is the `n`-th.
    made: AtomicU64,
    /// The last change known to be on disk; held while a sync runs.
    synced: Mutex<u64>,
}

impl GroupSync {
    /// A group whose first `already` changes are on disk (the next is numbered
    /// `already + 1`).
    pub fn new(already: u64) -> Self {
        Self {
            made: AtomicU64::new(already),
            synced: Mutex::new(already),
        }
    }

    /// Counts a change just made (call it after the change, not before): its number.
    pub fn made(&self) -> u64 {
        self.made.fetch_add(1, Ordering::AcqRel) + 1
    }

    /// Returns once change `change` is on disk: at once when a sync begun after it has
    /// finished, else after running `sync`, which then covers every change counted
    /// before it began.
    pub fn through<E>(&self, change: u64, sync: impl FnOnce() -> Result<(), E>) -> Result<(), E> {
        let mut synced = self.synced.lock().unwrap_or_else(|p| p.into_inner());
        if *synced >= change {
            return Ok(());
        }
        let upto = self.made.load(Ordering::Acquire);
        sync()?;
        *synced = (*synced).max(upto);
        Ok(())
    }

    /// The last change known to be on disk.
    pub fn synced(&self) -> u64 {
        *self.synced.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sync_covers_the_changes_made_before_it_and_only_those() {
        let group = GroupSync::new(5);
        let (a, b) = (group.made(), group.made());
        assert_eq!((a, b), (6, 7));
        let mut syncs = 0;
        // The first waiter's sync covers both changes; the second waits for none.
        group
            .through(a, || -> Result<(), ()> {
                syncs += 1;
                Ok(())
            })
            .unwrap();
        group
            .through(b, || -> Result<(), ()> {
                syncs += 1;
                Ok(())
            })
            .unwrap();
        assert_eq!((syncs, group.synced()), (1, 7));
        // A failed sync covers nothing: the next waiter syncs again.
        let c = group.made();
        assert_eq!(group.through(c, || Err("disk")), Err("disk"));
        assert_eq!(group.synced(), 7);
        group
            .through(c, || -> Result<(), ()> {
                syncs += 1;
                Ok(())
            })
            .unwrap();
        assert_eq!((syncs, group.synced()), (2, 8));
    }

    #[test]
    fn every_change_is_synced_when_its_writer_returns_with_fewer_syncs_than_changes() {
        let group = GroupSync::new(0);
        // What a sync has covered: the changes counted when it began.
        let on_disk = AtomicU64::new(0);
        let syncs = AtomicU64::new(0);
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    for _ in 0..200 {
                        let n = group.made();
                        group
                            .through(n, || -> Result<(), ()> {
                                let upto = group.made.load(Ordering::Acquire);
                                std::thread::sleep(std::time::Duration::from_micros(200));
                                on_disk.fetch_max(upto, Ordering::AcqRel);
                                syncs.fetch_add(1, Ordering::AcqRel);
                                Ok(())
                            })
                            .unwrap();
                        let covered = on_disk.load(Ordering::Acquire);
                        assert!(
                            covered >= n,
                            "change {n} returned, on disk through {covered}"
                        );
                    }
                });
            }
        });
        assert_eq!(group.synced(), 1600);
        let syncs = syncs.load(Ordering::Acquire);
        assert!(
            syncs < 1600,
            "{syncs} syncs for 1600 changes: none was shared"
        );
    }

    #[test]
    fn replaces_whole_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("state.json");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }
}
