//! Giving back the memory an idle daemon is not using.
//!
//! Every daemon is the one multi-call binary, so its resident set is mostly pages of that
//! binary's code and read-only data: everything start-up ran (argument and settings
//! parsing, key generation, the first TLS handshakes) and everything the kernel mapped
//! around those pages (fault-around maps up to 64 KiB of the page cache at each fault).
//! Pages mapped by a process are the last the kernel reclaims, so a daemon that sits idle
//! for weeks keeps code it ran once pinned in the RAM of a 1 GiB board.
//!
//! [`release_unused`] drops the process's mappings of those pages (`MADV_DONTNEED` on the
//! read-only, never-written mappings of the executable and its shared libraries) and gives
//! freed heap back (`malloc_trim`). Nothing is lost: a private file mapping none of whose
//! pages was ever written holds exactly the file's bytes, so the next access reads the same
//! bytes back from the page cache (a minor fault, microseconds). What the daemon still uses
//! comes back at once; what it does not stays in the page cache, shared and reclaimable.
//!
//! [`Activity`] and [`release_when_idle`] run it when a server has had no connection for a
//! while (the panel: nobody has the page open).

#![allow(unsafe_code)]

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// What one [`release_unused`] gave back.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Released {
    /// Mappings whose pages were dropped.
    pub mappings: usize,
    /// Resident bytes those mappings held before.
    pub bytes: u64,
}

/// One mapping that may be dropped: its address range, and how much of it was resident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Droppable {
    /// First address.
    pub start: usize,
    /// One past the last address.
    pub end: usize,
    /// Resident bytes (`Rss:`).
    pub resident: u64,
    /// The mapped file.
    pub path: String,
}

/// The mappings of `smaps` (the text of `/proc/self/smaps`) whose pages may be dropped
/// without losing a byte: private, not writable, backed by `executable` or by a shared
/// library (`*.so`, `*.so.N`), with no page ever copied on write (`Anonymous: 0 kB`: the
/// relocated RELRO part of an object is written once by the loader and is left alone), not
/// locked, and with something resident. Mapped data files (a spooled message) are never
/// chosen: only code and constants the process was started with.
pub fn droppable(smaps: &str, executable: &str) -> Vec<Droppable> {
    fn finish(entry: Option<(Droppable, bool)>, found: &mut Vec<Droppable>) {
        if let Some((d, ok)) = entry
            && ok
            && d.resident > 0
        {
            found.push(d);
        }
    }
    let mut found = Vec::new();
    let mut current: Option<(Droppable, bool)> = None;
    for line in smaps.lines() {
        if let Some(header) = mapping_header(line) {
            finish(current.take(), &mut found);
            let (start, end, perms, inode, path) = header;
            let perms = perms.as_bytes();
            let ok = perms.len() == 4
                && perms[0] == b'r'
                && perms[1] == b'-'
                && perms[3] == b'p'
                && inode != 0
                && (path == executable || is_shared_object(path));
            current = Some((
                Droppable {
                    start,
                    end,
                    resident: 0,
                    path: path.to_string(),
                },
                ok,
            ));
            continue;
        }
        let Some((entry, ok)) = current.as_mut() else {
            continue;
        };
        if let Some(kb) = field_kb(line, "Rss:") {
            entry.resident = kb * 1024;
        } else if let Some(kb) = field_kb(line, "Anonymous:") {
            if kb != 0 {
                *ok = false;
            }
        } else if let Some(flags) = line.strip_prefix("VmFlags:")
            && flags.split_whitespace().any(|f| f == "lo")
        {
            *ok = false;
        }
    }
    finish(current.take(), &mut found);
    found
}

/// `start-end perms offset dev inode path` → its parts; `None` for a field line.
fn mapping_header(line: &str) -> Option<(usize, usize, &str, u64, &str)> {
    let mut rest = line;
    let mut next = || {
        let trimmed = rest.trim_start_matches(' ');
        let end = trimmed.find(' ').unwrap_or(trimmed.len());
        let (word, tail) = trimmed.split_at(end);
        rest = tail;
        word
    };
    let range = next();
    let (start, end) = range.split_once('-')?;
    let start = usize::from_str_radix(start, 16).ok()?;
    let end = usize::from_str_radix(end, 16).ok()?;
    let perms = next();
    let _offset = next();
    let _device = next();
    let inode = next().parse().ok()?;
    Some((start, end, perms, inode, rest.trim_start_matches(' ')))
}

/// `Rss:   1708 kB` → 1708.
fn field_kb(line: &str, name: &str) -> Option<u64> {
    line.strip_prefix(name)?
        .trim()
        .strip_suffix("kB")?
        .trim()
        .parse()
        .ok()
}

/// A shared library's file name: `libc.so.6`, `ld-linux-x86-64.so.2`, `libfoo.so`.
fn is_shared_object(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    match name.find(".so") {
        Some(i) => {
            let tail = &name[i + 3..];
            tail.is_empty() || tail.starts_with('.')
        }
        None => false,
    }
}

/// Drops the process's mappings chosen by [`droppable`] and trims the heap. Mamori never
/// unloads a library, so the ranges read from `/proc/self/smaps` stay the same mappings
/// until the calls below.
pub fn release_unused() -> io::Result<Released> {
    let smaps = std::fs::read_to_string("/proc/self/smaps")?;
    let executable = std::fs::read_link("/proc/self/exe")?;
    let executable = executable.to_string_lossy();
    let mut released = Released::default();
    let mut chosen = droppable(&smaps, &executable);
    // The executable last: the code that runs after its release maps its pages again.
    chosen.sort_by_key(|mapping| mapping.path == executable);
    for mapping in chosen {
        // SAFETY: the range is one whole mapping of the process, page-aligned as the kernel
        // reports it, private, read-only and backed by an ELF object that stays loaded.
        // None of its pages was written (no anonymous page in it), so every page equals
        // the file's bytes and MADV_DONTNEED only drops page-table entries: the next access
        // maps the same bytes from the page cache. No Rust reference is invalidated: the
        // memory stays mapped, readable and unchanged.
        let status = unsafe {
            libc::madvise(
                mapping.start as *mut libc::c_void,
                mapping.end - mapping.start,
                libc::MADV_DONTNEED,
            )
        };
        if status == 0 {
            released.mappings += 1;
            released.bytes += mapping.resident;
        }
    }
    trim_heap();
    Ok(released)
}

/// Gives back what start-up alone used (settings parsing, key loading, building tables):
/// a daemon calls it once, when it serves. A failure only costs memory, so it is logged.
pub fn release_start_up(daemon: &str) {
    match release_unused() {
        Ok(r) => tracing::debug!(
            daemon,
            mappings = r.mappings,
            kib = r.bytes / 1024,
            "released the pages start-up used"
        ),
        Err(e) => tracing::debug!(daemon, error = %e, "could not release start-up pages"),
    }
}

/// Gives the allocator's free memory back to the kernel (glibc keeps it otherwise).
fn trim_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free memory of glibc's own arenas; it is
    // thread-safe and touches no memory the program holds.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Whether a server is in use: how many connections are open, and when the last one opened
/// or closed. Clones share one count.
#[derive(Debug, Clone)]
pub struct Activity {
    inner: Arc<ActivityInner>,
}

#[derive(Debug)]
struct ActivityInner {
    origin: Instant,
    open: AtomicUsize,
    /// Milliseconds since `origin` of the last change.
    last: AtomicU64,
    /// How many connections opened and closed so far.
    changes: AtomicU64,
}

/// Held while a connection is open; dropping it closes the connection's count.
#[derive(Debug)]
pub struct Busy {
    activity: Activity,
}

impl Default for Activity {
    fn default() -> Self {
        Self::new()
    }
}

impl Activity {
    /// A server with no connection yet, quiet since now.
    pub fn new() -> Self {
        Self {
            inner: Arc::new(ActivityInner {
                origin: Instant::now(),
                open: AtomicUsize::new(0),
                last: AtomicU64::new(0),
                changes: AtomicU64::new(0),
            }),
        }
    }

    /// Counts a connection as open until the returned guard is dropped.
    pub fn begin(&self) -> Busy {
        self.inner.open.fetch_add(1, Ordering::SeqCst);
        self.stamp();
        Busy {
            activity: self.clone(),
        }
    }

    /// Whether no connection is open and none opened or closed within `quiet`.
    pub fn is_idle(&self, quiet: Duration) -> bool {
        if self.inner.open.load(Ordering::SeqCst) != 0 {
            return false;
        }
        let last = Duration::from_millis(self.inner.last.load(Ordering::SeqCst));
        self.inner.origin.elapsed().saturating_sub(last) >= quiet
    }

    /// How many connections opened and closed so far: changes when anyone came.
    pub fn changes(&self) -> u64 {
        self.inner.changes.load(Ordering::SeqCst)
    }

    fn stamp(&self) {
        self.inner.changes.fetch_add(1, Ordering::SeqCst);
        let now = u64::try_from(self.inner.origin.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.inner.last.store(now, Ordering::SeqCst);
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.activity.inner.open.fetch_sub(1, Ordering::SeqCst);
        self.activity.stamp();
    }
}

/// While a server stays idle, the release is made again this often: its own periodic work
/// (the panel's watchdog, its look at the settings store) maps some code again.
pub const RELEASE_AGAIN: Duration = Duration::from_secs(30);

/// Whether to release now, the server being idle: never released yet, someone came since
/// the last release (`changes` differs from the count then), or `again` has passed since.
fn release_due(last: Option<(u64, Instant)>, changes: u64, again: Duration) -> bool {
    match last {
        None => true,
        Some((seen, at)) => seen != changes || at.elapsed() >= again,
    }
}

/// Runs [`release_unused`] once `activity` has been idle for `quiet` (within 1.5 × `quiet`
/// of the last connection), and again every [`RELEASE_AGAIN`] while it stays idle, until
/// the runtime ends. Between releases an idle server costs a look at two counters.
pub async fn release_when_idle(activity: Activity, quiet: Duration) {
    let mut tick = tokio::time::interval((quiet / 2).max(Duration::from_millis(100)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last: Option<(u64, Instant)> = None;
    loop {
        tick.tick().await;
        if !activity.is_idle(quiet) {
            continue;
        }
        let changes = activity.changes();
        if !release_due(last, changes, RELEASE_AGAIN) {
            continue;
        }
        last = Some((changes, Instant::now()));
        match tokio::task::spawn_blocking(release_unused).await {
            Ok(Ok(r)) => tracing::debug!(
                mappings = r.mappings,
                kib = r.bytes / 1024,
                "idle: released unused pages"
            ),
            Ok(Err(e)) => tracing::debug!(error = %e, "idle: could not release unused pages"),
            Err(e) => tracing::debug!(error = %e, "idle: the release task failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMAPS: &str = "\
55fee0253000-55fee0823000 r--p 00000000 fe:01 1234567                    /usr/bin/mamori
Size:               5952 kB
Rss:                1708 kB
Anonymous:             0 kB
VmFlags: rd mr mw me sd
55fee0823000-55fee1c7a000 r-xp 005d0000 fe:01 1234567                    /usr/bin/mamori
Rss:               11932 kB
Anonymous:             0 kB
VmFlags: rd ex mr mw me sd
55fee1c7a000-55fee1d55000 r--p 01a26000 fe:01 1234567                    /usr/bin/mamori
Rss:                 876 kB
Anonymous:           876 kB
VmFlags: rd mr mw me ac sd
55fee1d55000-55fee1d5b000 rw-p 01b01000 fe:01 1234567                    /usr/bin/mamori
Rss:                  24 kB
Anonymous:            24 kB
55fef4c51000-55fef4cb4000 rw-p 00000000 00:00 0                          [heap]
Rss:                 340 kB
Anonymous:           340 kB
7f2a70000000-7f2a70100000 r--p 00000000 fe:01 99                         /var/spool/mamori/msg/0001
Rss:                1024 kB
Anonymous:             0 kB
7f2a76f80000-7f2a770d6000 r-xp 00028000 fe:01 555                        /usr/lib/x86_64-linux-gnu/libc.so.6
Rss:                1280 kB
Anonymous:             0 kB
7f2a77200000-7f2a77300000 r-xp 00000000 fe:01 556                        /usr/lib/x86_64-linux-gnu/libsomething.so
Rss:                   0 kB
Anonymous:             0 kB
7f2a77300000-7f2a77400000 r-xp 00000000 fe:01 557                        /usr/lib/locked.so.1
Rss:                 100 kB
Anonymous:             0 kB
VmFlags: rd ex lo
7f2a77400000-7f2a77500000 r-xp 00000000 fe:01 558                        /opt/a file.so.2
Rss:                   8 kB
Anonymous:             0 kB
7f2a77500000-7f2a77600000 r-xp 00000000 fe:01 559                        /usr/lib/notso.sock
Rss:                   8 kB
Anonymous:             0 kB
7ffc6c9f5000-7ffc6ca16000 rw-p 00000000 00:00 0                          [stack]
Rss:                 112 kB
Anonymous:           112 kB
7ffc6cbf0000-7ffc6cbf2000 r-xp 00000000 00:00 0                          [vdso]
Rss:                   8 kB
Anonymous:             0 kB
";

    #[test]
    fn only_never_written_code_and_constants_of_loaded_objects_are_chosen() {
        let chosen = droppable(SMAPS, "/usr/bin/mamori");
        let paths: Vec<(&str, u64)> = chosen
            .iter()
            .map(|d| (d.path.as_str(), d.resident / 1024))
            .collect();
        assert_eq!(
            paths,
            vec![
                ("/usr/bin/mamori", 1708),
                ("/usr/bin/mamori", 11932),
                ("/usr/lib/x86_64-linux-gnu/libc.so.6", 1280),
                ("/opt/a file.so.2", 8),
            ],
            "RELRO (written by the loader), writable data, heap, stack, vdso, a mapped \
             data file, a locked library, a library with nothing resident and a file \
             that only looks like a library are left alone"
        );
        assert_eq!(chosen[1].start, 0x55fe_e082_3000);
        assert_eq!(chosen[1].end, 0x55fe_e1c7_a000);
    }

    #[test]
    fn another_executable_is_not_this_one() {
        let chosen = droppable(SMAPS, "/usr/bin/other");
        assert!(chosen.iter().all(|d| d.path != "/usr/bin/mamori"));
    }

    #[test]
    fn shared_object_names() {
        for yes in [
            "/lib/libc.so.6",
            "/x/ld-linux-x86-64.so.2",
            "libfoo.so",
            "/a/b.so.1.2",
        ] {
            assert!(is_shared_object(yes), "{yes}");
        }
        for no in [
            "/usr/bin/mamori",
            "/x/notso.sock",
            "/x/a.sox",
            "/lib.so/bin",
        ] {
            assert!(!is_shared_object(no), "{no}");
        }
    }

    /// A table in the binary's read-only data, read through a pointer the optimiser cannot
    /// see through, so that the bytes come from the mapping after the release.
    static TABLE: [u8; 3 * 4096] = {
        let mut t = [0u8; 3 * 4096];
        let mut i = 0;
        while i < t.len() {
            t[i] = (i % 251) as u8;
            i += 1;
        }
        t
    };

    fn checksum() -> u64 {
        let table = std::hint::black_box(&TABLE);
        table
            .iter()
            .enumerate()
            .map(|(i, b)| (i as u64 + 1) * u64::from(*b))
            .sum()
    }

    /// What the kernel says is resident in the mappings [`droppable`] chooses.
    fn resident_droppable() -> u64 {
        let smaps = std::fs::read_to_string("/proc/self/smaps").expect("smaps");
        let exe = std::fs::read_link("/proc/self/exe").expect("exe");
        droppable(&smaps, &exe.to_string_lossy())
            .iter()
            .map(|d| d.resident)
            .sum()
    }

    #[test]
    fn releasing_loses_nothing_and_gives_back_resident_code() {
        let sum = checksum();
        let dynamic: Box<dyn Fn(u64) -> String> = Box::new(|x| format!("{x:#x}"));
        let before = resident_droppable();
        let released = release_unused().expect("smaps readable");
        // Code, constants, vtables (RELRO) and the heap still work after the release.
        assert_eq!(checksum(), sum);
        assert_eq!(dynamic(255), "0xff");
        // A kernel reports what is resident (qemu-user, which runs the arm64 tests, reports
        // 0 kB for every mapping, so there nothing is chosen and only the above is shown).
        if before > 0 {
            assert!(released.mappings >= 2, "{released:?}");
            let after = resident_droppable();
            assert!(
                after < before / 2,
                "resident before {before}, after {after}, released {released:?}"
            );
        }
    }

    #[test]
    fn an_idle_server_releases_after_a_visit_or_after_a_while_only() {
        let now = Instant::now();
        assert!(release_due(None, 0, RELEASE_AGAIN), "the first time");
        assert!(
            !release_due(Some((4, now)), 4, RELEASE_AGAIN),
            "nobody came"
        );
        assert!(
            release_due(Some((4, now)), 6, RELEASE_AGAIN),
            "someone came"
        );
        let long_ago = now.checked_sub(Duration::from_secs(31)).unwrap_or(now);
        assert!(
            long_ago == now || release_due(Some((4, long_ago)), 4, RELEASE_AGAIN),
            "again after a while"
        );
        let activity = Activity::new();
        let before = activity.changes();
        drop(activity.begin());
        assert_eq!(
            activity.changes(),
            before + 2,
            "one visit: opened and closed"
        );
    }

    #[test]
    fn a_server_is_idle_only_with_no_connection_for_the_quiet_time() {
        let activity = Activity::new();
        assert!(activity.is_idle(Duration::ZERO));
        let busy = activity.begin();
        assert!(!activity.is_idle(Duration::ZERO));
        let second = activity.clone().begin();
        drop(busy);
        assert!(!activity.is_idle(Duration::ZERO), "one still open");
        drop(second);
        assert!(activity.is_idle(Duration::ZERO));
        assert!(!activity.is_idle(Duration::from_secs(3600)), "just closed");
    }
}
