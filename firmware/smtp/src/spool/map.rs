//! Spooled content read by mapping its file rather than copying it into memory.
//!
//! The stages of a large message (the DLP walk above all) read it as one slice, with random
//! access into its attachments. A 20 MB mail read back into the heap, for every session
//! inspecting at once, is what a 1 GiB board cannot afford; mapped, the page cache holds
//! it, which the kernel reclaims under pressure and which the file's pages already are.
//! The same goes for the decoded attachments the walk keeps in scratch files
//! ([`ScratchStore`]).
//!
//! Mapping is `unsafe` because the slice's bytes must not change or vanish while it lives:
//! a file truncated underneath a mapping raises SIGBUS. Both kinds of file are the relay's
//! own: the message's file in `spool/tmp/` (mode 0600, owned by the relay's user, written
//! by one session, never truncated while mapped: a stage that rewrites the content copies
//! it first and the map is dropped before the file is written again), and scratch files
//! created unnamed (`O_TMPFILE`), which no other process can open. What remains is an I/O
//! error on the storage while a page is read back, which also raises SIGBUS: the daemon
//! then restarts, and the client, which had no `250`, sends the message again. Nothing
//! accepted is lost.
#![allow(unsafe_code)]

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use mamori_dlp::hold::{HeldBytes, HeldPart, PartStore};

use super::SpoolError;

/// Encoded parts at least this long are decoded into a scratch file, not memory.
pub const HOLD_AT: usize = 256 * 1024;

/// Content mapped read-only; `Send`, so a message can move to the stage thread.
pub type MappedBytes = Box<dyn std::ops::Deref<Target = [u8]> + Send>;

/// Maps `len` octets of `file` from `offset`, read-only.
pub(super) fn map(
    file: &File,
    offset: u64,
    len: u64,
    path: &Path,
) -> Result<MappedBytes, SpoolError> {
    if len == 0 {
        return Ok(Box::new(Vec::new()));
    }
    let len = usize::try_from(len).map_err(|_| SpoolError::Corrupt {
        path: path.to_path_buf(),
        reason: "content larger than memory can address".into(),
    })?;
    // SAFETY: the file is the relay's own and is neither truncated nor written in the
    // mapped range while the map lives (see the module documentation).
    let map = unsafe {
        memmap2::MmapOptions::new()
            .offset(offset)
            .len(len)
            .map(file)
    }
    .map_err(|e| SpoolError::Io {
        op: "map",
        path: path.to_path_buf(),
        source: e,
    })?;
    // The walk reads from start to end, then jumps into attachments.
    let _ = map.advise(memmap2::Advice::Sequential);
    Ok(Box::new(map))
}

/// The content of a message file still being written, read through a handle of its own:
/// for inspecting its pieces while more arrives (`inbound::session::ahead`).
///
/// Only ranges already appended are mapped; the writer only appends past them, and the
/// file is truncated (a stage rewriting the content) only after that inspection has ended
/// and its maps are gone. A writer dropped mid-transfer unlinks the file, which leaves a
/// map valid.
#[derive(Debug)]
pub struct SpoolReader {
    file: File,
    /// Where the content starts in the file.
    content_start: u64,
    path: PathBuf,
}

impl SpoolReader {
    pub(super) fn new(file: File, content_start: u64, path: PathBuf) -> Self {
        Self {
            file,
            content_start,
            path,
        }
    }

    /// Maps `len` octets of content from `offset`, which must have been appended already.
    pub fn map(&self, offset: u64, len: u64) -> Result<MappedBytes, SpoolError> {
        map(&self.file, self.content_start + offset, len, &self.path)
    }

    /// The directory of the file, for the scratch files of a scan.
    pub fn dir(&self) -> Option<&Path> {
        self.path.parent()
    }
}

/// The DLP walk's [`PartStore`]: decoded parts in unnamed files in a spool directory.
#[derive(Debug)]
pub struct ScratchStore {
    dir: PathBuf,
    /// A file could not be made or written: the rest of the walk decodes in memory.
    failed: bool,
    /// Octets written to the store's files so far, and the most it takes.
    written: std::sync::Arc<std::sync::atomic::AtomicU64>,
    limit: u64,
}

/// The least a [`ScratchStore`] takes, whatever the message's size.
const MIN_SCRATCH: u64 = 64 << 20;

impl ScratchStore {
    /// A store of scratch files in `dir` (the spool's `tmp/`, on the spool's disk) for the
    /// inspection of a message of `len` octets. It takes at most four times the message
    /// (64 MiB at least): decoded parts are no larger than their encoded form, but
    /// encodings nested in encodings are each decoded, and a hostile message must not fill
    /// the spool's disk. Past that, parts are decoded in memory, as without a store.
    pub fn new(dir: PathBuf, len: u64) -> Self {
        Self {
            dir,
            failed: false,
            written: Default::default(),
            limit: len.saturating_mul(4).max(MIN_SCRATCH),
        }
    }
}

impl PartStore for ScratchStore {
    fn threshold(&self) -> usize {
        HOLD_AT
    }

    fn begin(&mut self) -> Option<Box<dyn HeldPart>> {
        if self.failed {
            return None;
        }
        if self.written.load(std::sync::atomic::Ordering::Relaxed) >= self.limit {
            return None;
        }
        match tempfile::tempfile_in(&self.dir) {
            Ok(file) => Some(Box::new(ScratchPart {
                file: std::io::BufWriter::with_capacity(64 * 1024, file),
                path: self.dir.clone(),
                written: self.written.clone(),
                limit: self.limit,
            })),
            Err(e) => {
                tracing::warn!(dir = %self.dir.display(), error = %e, "no scratch file for a decoded part; it is decoded in memory");
                self.failed = true;
                None
            }
        }
    }
}

/// One decoded part being written to an unnamed scratch file.
struct ScratchPart {
    file: std::io::BufWriter<File>,
    /// The directory, for messages.
    path: PathBuf,
    /// The store's count of octets written, and its limit.
    written: std::sync::Arc<std::sync::atomic::AtomicU64>,
    limit: u64,
}

impl HeldPart for ScratchPart {
    fn write(&mut self, bytes: &[u8]) -> bool {
        let len = bytes.len() as u64;
        let before = self
            .written
            .fetch_add(len, std::sync::atomic::Ordering::Relaxed);
        before.saturating_add(len) <= self.limit && self.file.write_all(bytes).is_ok()
    }

    fn finish(self: Box<Self>) -> Option<HeldBytes> {
        let file = self.file.into_inner().ok()?;
        let len = file.metadata().ok()?.len();
        match map(&file, 0, len, &self.path) {
            Ok(bytes) => Some(bytes),
            Err(e) => {
                tracing::warn!(error = %e, "a scratch file could not be mapped; the part is decoded in memory");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use mamori_dlp::hold::MemoryStore;
    use mamori_dlp::{DetectorKind, Inspector, Limits, ScanConfig};

    /// A message with a ZIP of `rows` CSV rows (a labelled My Number on the last), base64
    /// encoded, and a quoted-printable text part.
    fn message_with_zip(rows: usize) -> Vec<u8> {
        let mut csv = String::from("氏名,電話\r\n");
        for i in 0..rows {
            csv.push_str(&format!("社員{i},03-0000-{:04}\r\n", i % 10_000));
        }
        csv.push_str("山田,個人番号 123456789018\r\n");
        let mut zip = ::zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        zip.start_file(
            "名簿.csv",
            ::zip::write::SimpleFileOptions::default()
                .compression_method(::zip::CompressionMethod::Stored),
        )
        .unwrap();
        zip.write_all(csv.as_bytes()).unwrap();
        let zip = zip.finish().unwrap().into_inner();
        let b64 = base64::engine::general_purpose::STANDARD.encode(&zip);
        let mut m = String::from(
            "From: a@office.test\r\nTo: b@example.com\r\nSubject: list\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=E5=90=8D=E7=B0=BF=E3=81=A7=E3=81=99\r\n--B\r\nContent-Type: application/zip; name=a.zip\r\nContent-Transfer-Encoding: base64\r\n\r\n",
        );
        for line in b64.as_bytes().chunks(76) {
            m.push_str(std::str::from_utf8(line).unwrap());
            m.push_str("\r\n");
        }
        m.push_str("--B--\r\n");
        m.into_bytes()
    }

    #[test]
    fn a_large_attachment_decoded_into_a_scratch_file_is_inspected_as_in_memory() {
        let dir = tempfile::tempdir().unwrap();
        let raw = message_with_zip(40_000);
        assert!(raw.len() > 2 * HOLD_AT, "{}", raw.len());
        let inspector = Inspector::new(&ScanConfig::default(), Limits::default()).unwrap();
        let mut scratch = ScratchStore::new(dir.path().to_path_buf(), raw.len() as u64);
        let held = inspector.inspect_message_holding(&raw, &mut scratch);
        assert!(!scratch.failed);
        let in_memory = inspector.inspect_message_holding(
            &raw,
            &mut MemoryStore {
                threshold: HOLD_AT,
                parts: 0,
            },
        );
        assert_eq!(held, in_memory);
        assert_eq!(held, inspector.inspect_message(&raw));
        assert!(
            held.findings
                .iter()
                .any(|f| f.detector == DetectorKind::MyNumber
                    && f.location.to_string().contains("名簿.csv")),
            "{held:?}"
        );
        // Scratch files have no name: nothing is left behind, even while in use.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_number_split_by_soft_breaks_where_the_decoding_windows_meet_is_found() {
        // A quoted-printable body of more than 256 KiB whose My Number is cut by soft
        // breaks (and its last digits escaped) right where the first 64 KiB decoding
        // window ends (the window counts from the body's start), at every offset around.
        let inspector = Inspector::new(&ScanConfig::default(), Limits::default()).unwrap();
        let head = "From: a@office.test\r\nTo: b@example.com\r\nSubject: q\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n";
        let line = "=E3=81=8A=E4=B8=96=E8=A9=B1=E3=81=AB=E3=81=AA=E3=82=8A=E3=81=BE=E3=81=99\r\n";
        let body: String = line.repeat(300_000 / line.len() + 1);
        // Every place between two escapes from 80 octets before the first window's end
        // to 20 after it: the soft breaks and escapes of the number fall on each side.
        let places =
            (65_456..65_556).filter(|&q| (q % line.len()).is_multiple_of(3) && q % line.len() < 72);
        let mut tried = 0;
        for q in places {
            let mut body = body.clone();
            body.insert_str(q, "個人番号: 1234=\r\n5678=\r\n=39=30=31=38\r\n");
            let raw = format!("{head}{body}").into_bytes();
            assert!(raw.len() > HOLD_AT);
            let dir = tempfile::tempdir().unwrap();
            let mut scratch = ScratchStore::new(dir.path().to_path_buf(), raw.len() as u64);
            let held = inspector.inspect_message_holding(&raw, &mut scratch);
            assert_eq!(held, inspector.inspect_message(&raw), "at {q}");
            assert!(
                held.findings
                    .iter()
                    .any(|f| f.detector == DetectorKind::MyNumber),
                "at {q}: {held:?}"
            );
            tried += 1;
        }
        assert!(tried >= 30, "{tried}");
    }

    #[test]
    fn a_store_that_cannot_make_files_leaves_the_walk_to_memory() {
        let raw = message_with_zip(40_000);
        let inspector = Inspector::new(&ScanConfig::default(), Limits::default()).unwrap();
        let mut scratch = ScratchStore::new("/nonexistent/mamori-scratch".into(), 0);
        let report = inspector.inspect_message_holding(&raw, &mut scratch);
        assert!(scratch.failed);
        assert_eq!(report, inspector.inspect_message(&raw));
    }

    #[test]
    fn a_part_reads_back_what_was_written_and_an_empty_one_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = ScratchStore::new(dir.path().to_path_buf(), 0);
        let mut part = store.begin().unwrap();
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        for piece in data.chunks(7000) {
            assert!(part.write(piece));
        }
        assert_eq!(&**part.finish().unwrap(), &data[..]);
        let empty = store.begin().unwrap();
        assert!(empty.finish().unwrap().is_empty());
    }

    #[test]
    fn a_store_takes_no_more_than_its_limit_and_the_walk_goes_on_in_memory() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = ScratchStore::new(dir.path().to_path_buf(), 0);
        let mut part = store.begin().unwrap();
        let piece = vec![b'q'; 1 << 20];
        for _ in 0..64 {
            assert!(part.write(&piece));
        }
        assert!(!part.write(b"x"), "past 64 MiB");
        assert!(
            store.begin().is_none(),
            "no new part once the limit is reached"
        );
        // A message whose parts pass the limit still gets the report of the memory walk.
        let raw = message_with_zip(40_000);
        let inspector = Inspector::new(&ScanConfig::default(), Limits::default()).unwrap();
        let mut spent = ScratchStore::new(dir.path().to_path_buf(), 0);
        spent
            .written
            .store(MIN_SCRATCH, std::sync::atomic::Ordering::Relaxed);
        assert_eq!(
            inspector.inspect_message_holding(&raw, &mut spent),
            inspector.inspect_message(&raw)
        );
    }
}
