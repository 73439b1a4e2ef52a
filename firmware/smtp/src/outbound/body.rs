//! The content of a message being delivered: in memory when small (or made by the box),
//! otherwise read from its spool file a chunk at a time, so that a delivery of a large
//! message holds one chunk, not the message.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::Arc;

use super::envelope::header_section;

/// Content of at most this many bytes is read into memory at once for delivery.
pub const IN_MEMORY_UP_TO: u64 = 256 * 1024;

/// A message's content, headers and body, with CRLF line endings and no dot-stuffing.
#[derive(Debug, Clone)]
pub enum MessageBody {
    /// Held in memory (shared by the transactions of a connection without a copy).
    Memory(Arc<Vec<u8>>),
    /// A byte range of an open spool file.
    File(Arc<FileBody>),
}

/// A byte range of an open spool file, with what delivery must know of it up front.
#[derive(Debug)]
pub struct FileBody {
    file: File,
    start: u64,
    len: u64,
    eight_bit: bool,
    header_8bit: bool,
}

impl FileBody {
    /// The content at `start..start + len` of `file`, read through once to learn whether
    /// it (and its header section) holds 8-bit octets.
    pub fn new(file: File, start: u64, len: u64) -> std::io::Result<Self> {
        let mut eight_bit = false;
        let mut header = HeaderScan::default();
        let mut buf = vec![0u8; READ_CHUNK];
        let mut offset = 0u64;
        while offset < len && (!eight_bit || !header.done) {
            let n = usize::try_from((len - offset).min(READ_CHUNK as u64)).unwrap_or(READ_CHUNK);
            let chunk = &mut buf[..n];
            file.read_exact_at(chunk, start + offset)?;
            header.feed(chunk);
            eight_bit |= !chunk.is_ascii();
            offset += n as u64;
        }
        let header_8bit = header.eight_bit;
        Ok(Self {
            file,
            start,
            len,
            eight_bit,
            header_8bit,
        })
    }
}

/// Bytes read from a spool file per step.
const READ_CHUNK: usize = 64 * 1024;

/// Finds the end of the header section (the first empty line) across chunks, noting
/// 8-bit octets before it. Spooled content has CRLF line endings only.
#[derive(Debug)]
struct HeaderScan {
    /// How much of CR LF CR LF was just seen (content starts as if after a CR LF).
    matched: u8,
    done: bool,
    eight_bit: bool,
}

impl Default for HeaderScan {
    fn default() -> Self {
        Self {
            matched: 2,
            done: false,
            eight_bit: false,
        }
    }
}

impl HeaderScan {
    fn feed(&mut self, chunk: &[u8]) {
        for &b in chunk {
            if self.done {
                return;
            }
            self.matched = match (self.matched, b) {
                (0 | 2, b'\r') | (1 | 3, b'\n') => self.matched + 1,
                (_, b'\r') => 1,
                _ => 0,
            };
            self.done = self.matched == 4;
            self.eight_bit |= b >= 0x80;
        }
    }
}

impl PartialEq for MessageBody {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Memory(a), Self::Memory(b)) => a == b,
            (Self::File(a), Self::File(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl Eq for MessageBody {}

impl From<Vec<u8>> for MessageBody {
    fn from(v: Vec<u8>) -> Self {
        Self::Memory(Arc::new(v))
    }
}

impl MessageBody {
    /// Content bytes.
    pub fn len(&self) -> u64 {
        match self {
            Self::Memory(m) => m.len() as u64,
            Self::File(f) => f.len,
        }
    }

    /// True when there is no content.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True when the content holds octets above 127.
    pub fn has_8bit(&self) -> bool {
        match self {
            Self::Memory(m) => !m.is_ascii(),
            Self::File(f) => f.eight_bit,
        }
    }

    /// True when the header section holds octets above 127.
    pub fn header_8bit(&self) -> bool {
        match self {
            Self::Memory(m) => !header_section(m).is_ascii(),
            Self::File(f) => f.header_8bit,
        }
    }

    /// Puts up to `max` content bytes from `offset` into `buf` (emptied first).
    pub async fn read_at(&self, offset: u64, max: usize, buf: &mut Vec<u8>) -> std::io::Result<()> {
        buf.clear();
        match self {
            Self::Memory(m) => {
                let start = usize::try_from(offset).unwrap_or(usize::MAX).min(m.len());
                let end = start.saturating_add(max).min(m.len());
                buf.extend_from_slice(&m[start..end]);
                Ok(())
            }
            Self::File(f) => {
                let n =
                    usize::try_from(f.len.saturating_sub(offset).min(max as u64)).unwrap_or(max);
                let mut owned = std::mem::take(buf);
                owned.resize(n, 0);
                // The page cache holds a message just spooled: read in place when all of
                // the chunk is there, as short work otherwise (what is missing waits for
                // the disk).
                let cached = read_cached_at(&f.file, &mut owned, f.start + offset);
                if cached < n {
                    let f = f.clone();
                    owned = crate::blocking::short(move || {
                        let rest = owned.get_mut(cached..).unwrap_or_default();
                        f.file
                            .read_exact_at(rest, f.start + offset + cached as u64)
                            .map(|()| owned)
                    })
                    .await
                    .map_err(std::io::Error::other)??;
                }
                *buf = owned;
                Ok(())
            }
        }
    }
}

/// Reads into `buf` from `offset` of `file` what the page cache holds, without waiting for
/// the disk (`preadv2` with `RWF_NOWAIT`): the bytes read, fewer than `buf` holds when the
/// rest is not cached, the file ends, or the kernel cannot read this way. A delivery reads a
/// large message a chunk at a time; each chunk handed to another thread cost two thread
/// switches, though it was almost always in memory.
fn read_cached_at(file: &File, buf: &mut [u8], offset: u64) -> usize {
    let mut read = 0;
    while let Some(rest) = buf.get_mut(read..).filter(|rest| !rest.is_empty()) {
        match rustix::io::preadv2(
            file,
            &mut [std::io::IoSliceMut::new(rest)],
            offset + read as u64,
            rustix::io::ReadWriteFlags::NOWAIT,
        ) {
            Ok(0) | Err(_) => break,
            Ok(n) => read += n,
        }
    }
    read
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file_body(content: &[u8]) -> MessageBody {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(b"PREFIX").unwrap();
        f.write_all(content).unwrap();
        f.write_all(b"TRAILER{}").unwrap();
        MessageBody::File(Arc::new(FileBody::new(f, 6, content.len() as u64).unwrap()))
    }

    #[tokio::test]
    async fn a_file_body_reads_as_the_same_bytes_in_memory_would() {
        let cases: Vec<Vec<u8>> = vec![
            b"Subject: a\r\n\r\nbody\r\n".to_vec(),
            "Subject: \u{3042}\r\n\r\nbody\r\n".as_bytes().to_vec(),
            "Subject: a\r\n\r\n\u{3042}\r\n".as_bytes().to_vec(),
            b"\r\nno headers at all \xff".to_vec(),
            // The header section longer than a chunk, 8-bit only past its first chunk.
            [
                b"X-Long: ".as_slice(),
                &vec![b'a'; READ_CHUNK + 10],
                b"\r\nSubject: \xe3\x81\x82\r\n\r\nbody".as_slice(),
            ]
            .concat(),
            // The empty line split across the chunk boundary, then 8-bit in the body.
            [vec![b'h'; READ_CHUNK - 3], b"\r\n\r\n\xe3\x81\x82".to_vec()].concat(),
            Vec::new(),
        ];
        for content in cases {
            let mem = MessageBody::from(content.clone());
            let file = file_body(&content);
            assert_eq!(file.len(), mem.len());
            assert_eq!(
                file.has_8bit(),
                mem.has_8bit(),
                "{:?}",
                &content[..content.len().min(40)]
            );
            assert_eq!(
                file.header_8bit(),
                mem.header_8bit(),
                "{:?}",
                &content[..content.len().min(40)]
            );
            for step in [1usize, 7, 4096, READ_CHUNK] {
                let mut got = Vec::new();
                let mut buf = Vec::new();
                let mut at = 0u64;
                while at < file.len() {
                    file.read_at(at, step, &mut buf).await.unwrap();
                    assert!(!buf.is_empty() && buf.len() <= step);
                    got.extend_from_slice(&buf);
                    at += buf.len() as u64;
                }
                assert_eq!(got, content);
            }
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_chunk_is_read_in_place_when_cached_and_from_the_disk_when_not() {
        let content: Vec<u8> = (0..3 * READ_CHUNK + 123).map(|i| (i % 251) as u8).collect();
        let body = file_body(&content);
        let MessageBody::File(f) = &body else {
            unreachable!()
        };
        let mut buf = vec![0u8; content.len()];
        // Where the kernel reads without waiting (every kernel the box runs, 4.14 on) the
        // page cache holds all of a file just written. qemu's user-mode emulator, which runs
        // the aarch64 tests, has no `preadv2` (ENOSYS): nothing is read in place there, and
        // all of it comes through the fallback below.
        let probe = rustix::io::preadv2(
            &f.file,
            &mut [std::io::IoSliceMut::new(&mut [0u8; 1])],
            6,
            rustix::io::ReadWriteFlags::NOWAIT,
        );
        match probe {
            Err(rustix::io::Errno::NOSYS | rustix::io::Errno::OPNOTSUPP) => {
                assert_eq!(read_cached_at(&f.file, &mut buf, 6), 0);
            }
            probe => {
                assert_eq!(probe, Ok(1));
                assert_eq!(read_cached_at(&f.file, &mut buf, 6), content.len());
                assert_eq!(buf, content);
                // Past the end: what there is.
                assert_eq!(
                    read_cached_at(&f.file, &mut buf, 6 + 100),
                    content.len() + 9 - 100
                );
            }
        }
        // Written out and dropped from the cache (where the file system lets it go): the
        // chunks come from the disk, the same bytes.
        f.file.sync_all().unwrap();
        rustix::fs::fadvise(&f.file, 0, None, rustix::fs::Advice::DontNeed).unwrap();
        let mut got = Vec::new();
        let mut at = 0u64;
        while at < body.len() {
            body.read_at(at, READ_CHUNK, &mut buf).await.unwrap();
            got.extend_from_slice(&buf);
            at += buf.len() as u64;
        }
        assert_eq!(got, content);
    }
}
