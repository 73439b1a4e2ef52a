//! The message file in `msg/`, in the two layouts this firmware reads.
//!
//! - **Layout 1** (releases up to 2026-12): one line of envelope JSON, then the content.
//!   The envelope has to be known before the first byte of content is written, so the
//!   whole message had to sit in memory until DATA ended.
//! - **Layout 2** (written now): a fixed-width first line `mamori-spool 2 <length>`, the
//!   content, then the envelope JSON to the end of the file. Content is appended while it
//!   arrives; the length in the first line and the envelope are written when DATA ends,
//!   before the one fsync and the rename that commit the message.
//!
//! A file starting with `{` is layout 1; one starting with [`MAGIC`] says its layout
//! number, and a number newer than [`LAYOUT`] is left in place unread, never misread.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{DirSync, Envelope, SpoolError, encode, io_err};

/// The layout this firmware writes.
pub const LAYOUT: u32 = 2;

/// How a layout-2 file starts: this, the layout number, a space, the content length.
pub const MAGIC: &[u8] = b"mamori-spool ";

/// Digits of the content length in the first line (fixed, so it is written in place).
const LENGTH_DIGITS: usize = 20;

/// Bytes of the layout-2 first line: magic, "2 ", the length, LF.
const PREFIX_LEN: u64 = (MAGIC.len() + 2 + LENGTH_DIGITS + 1) as u64;

/// The most envelope bytes read (as layout 1 allowed): a bound on a damaged file.
const MAX_ENVELOPE: u64 = 1 << 20;

fn prefix(content_len: u64) -> Vec<u8> {
    let mut p = Vec::with_capacity(PREFIX_LEN as usize);
    p.extend_from_slice(MAGIC);
    p.extend_from_slice(format!("{LAYOUT} {content_len:0LENGTH_DIGITS$}\n").as_bytes());
    p
}

/// Where the parts of a message file are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Located {
    /// Offset of the first content byte.
    pub content_start: u64,
    /// Content bytes.
    pub content_len: u64,
    /// Offset and length of the envelope JSON.
    pub envelope: (u64, u64),
}

/// Finds content and envelope in an open message file of either layout.
pub fn locate(file: &File, path: &Path) -> Result<Located, SpoolError> {
    let size = file.metadata().map_err(io_err("stat", path))?.len();
    let corrupt = |reason: String| SpoolError::Corrupt {
        path: path.to_path_buf(),
        reason,
    };
    let mut head = [0u8; PREFIX_LEN as usize];
    let got = read_up_to(file, 0, &mut head).map_err(io_err("read", path))?;
    let head = &head[..got];
    if head.first() == Some(&b'{') {
        // Layout 1: the envelope is the first line.
        let env_len = line_end(file, path)?;
        return Ok(Located {
            content_start: env_len + 1,
            content_len: size - env_len - 1,
            envelope: (0, env_len),
        });
    }
    let Some(rest) = head.strip_prefix(MAGIC) else {
        return Err(corrupt("not a message file of any known layout".into()));
    };
    let text = std::str::from_utf8(rest).unwrap_or_default();
    let (layout, len) = text
        .trim_end_matches('\n')
        .split_once(' ')
        .unwrap_or_default();
    let layout: u32 = layout
        .parse()
        .map_err(|_| corrupt(format!("bad layout number {layout:?}")))?;
    if layout > LAYOUT {
        return Err(corrupt(format!(
            "message file layout {layout}, newer than this firmware knows ({LAYOUT}): left in place, unread"
        )));
    }
    let content_len: u64 = len
        .parse()
        .map_err(|_| corrupt(format!("bad content length {len:?}")))?;
    if got < PREFIX_LEN as usize || !text.ends_with('\n') {
        return Err(corrupt("the first line is cut short".into()));
    }
    let env_start = PREFIX_LEN
        .checked_add(content_len)
        .filter(|&e| e <= size)
        .ok_or_else(|| corrupt("the content is shorter than its recorded length".into()))?;
    let env_len = size - env_start;
    if env_len == 0 || env_len > MAX_ENVELOPE {
        return Err(corrupt(format!("an envelope of {env_len} bytes")));
    }
    Ok(Located {
        content_start: PREFIX_LEN,
        content_len,
        envelope: (env_start, env_len),
    })
}

/// Reads `buf.len()` bytes at `offset`, fewer only at the end of the file.
fn read_up_to(file: &File, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match file.read_at(&mut buf[got..], offset + got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// Reads exactly `len` bytes at `offset` into a new buffer.
pub fn read_range(file: &File, offset: u64, len: u64, path: &Path) -> Result<Vec<u8>, SpoolError> {
    let n = usize::try_from(len).map_err(|_| SpoolError::Corrupt {
        path: path.to_path_buf(),
        reason: format!("a part of {len} bytes"),
    })?;
    let mut buf = vec![0u8; n];
    file.read_exact_at(&mut buf, offset)
        .map_err(io_err("read", path))?;
    Ok(buf)
}

/// The offset of the first LF (the end of a layout-1 envelope line), within
/// [`MAX_ENVELOPE`] bytes.
fn line_end(file: &File, path: &Path) -> Result<u64, SpoolError> {
    let mut buf = vec![0u8; 16 * 1024];
    let mut offset = 0u64;
    while offset < MAX_ENVELOPE {
        let got = read_up_to(file, offset, &mut buf).map_err(io_err("read", path))?;
        if let Some(i) = memchr::memchr(b'\n', &buf[..got]) {
            return Ok(offset + i as u64);
        }
        if got < buf.len() {
            break;
        }
        offset += got as u64;
    }
    Err(SpoolError::Corrupt {
        path: path.to_path_buf(),
        reason: "the envelope line is unterminated or too long".into(),
    })
}

/// A message being written into `tmp/`: content appended as it arrives, committed into
/// `msg/` (fsynced, renamed, directory fsynced) once the envelope is known. Dropped
/// uncommitted, the half-written file is removed.
#[derive(Debug)]
pub struct SpoolWriter {
    file: File,
    tmp: PathBuf,
    dest: PathBuf,
    /// The syncs of `dest`'s directory.
    dest_dir: Arc<DirSync>,
    content_len: u64,
    committed: bool,
}

impl SpoolWriter {
    /// Starts the file of message `id` at `tmp`, to be committed to `dest`.
    pub(super) fn create(
        tmp: PathBuf,
        dest: PathBuf,
        dest_dir: Arc<DirSync>,
    ) -> Result<Self, SpoolError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(io_err("create", &tmp))?;
        // The first line is written at the commit, when the length is known; until then
        // the file is never read as a message (it is in `tmp/`, cleared at start).
        Ok(Self {
            file,
            tmp,
            dest,
            dest_dir,
            content_len: 0,
            committed: false,
        })
    }

    /// Appends content.
    pub fn append(&mut self, bytes: &[u8]) -> Result<(), SpoolError> {
        self.file
            .write_all_at(bytes, PREFIX_LEN + self.content_len)
            .map_err(io_err("write", &self.tmp))?;
        self.content_len += bytes.len() as u64;
        Ok(())
    }

    /// Content bytes written so far.
    pub fn content_len(&self) -> u64 {
        self.content_len
    }

    /// The content written so far, mapped read-only rather than read into memory (see
    /// [`super::map`]); the map must be dropped before the content is replaced.
    pub fn map_content(&self) -> Result<super::map::MappedBytes, SpoolError> {
        super::map::map(&self.file, PREFIX_LEN, self.content_len, &self.tmp)
    }

    /// A second handle on the file, to read the content that has arrived while more is
    /// appended (the inspection while the message arrives).
    pub fn reader(&self) -> Result<super::map::SpoolReader, SpoolError> {
        let file = self.file.try_clone().map_err(io_err("reopen", &self.tmp))?;
        Ok(super::map::SpoolReader::new(
            file,
            PREFIX_LEN,
            self.tmp.clone(),
        ))
    }

    /// The directory the file is written in, for the scratch files of its inspection.
    pub fn dir(&self) -> Option<&Path> {
        self.tmp.parent()
    }

    /// Replaces the content (a stage rewrote the message).
    pub fn replace_content(&mut self, content: &[u8]) -> Result<(), SpoolError> {
        self.file
            .set_len(PREFIX_LEN)
            .map_err(io_err("truncate", &self.tmp))?;
        self.content_len = 0;
        self.append(content)
    }

    /// Writes the envelope and the length, fsyncs, and renames the file into `msg/`:
    /// returns only once the message would survive a crash.
    pub fn commit(mut self, env: &Envelope) -> Result<(), SpoolError> {
        let envelope = encode(env, &self.tmp)?;
        // The file ends where the content does (`replace_content` truncates first).
        let end = PREFIX_LEN + self.content_len;
        self.file
            .write_all_at(&envelope, end)
            .and_then(|()| self.file.write_all_at(&prefix(self.content_len), 0))
            .map_err(io_err("write", &self.tmp))?;
        self.file
            .set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(env.wake_at()))
            .map_err(io_err("set the time of", &self.tmp))?;
        self.file.sync_all().map_err(io_err("fsync", &self.tmp))?;
        if self.dest.exists() {
            return Err(SpoolError::Corrupt {
                path: self.dest.clone(),
                reason: "queue id collision".into(),
            });
        }
        std::fs::rename(&self.tmp, &self.dest).map_err(io_err("rename", &self.dest))?;
        self.committed = true;
        self.dest_dir.changed()
    }
}

impl Drop for SpoolWriter {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}
