//! A compound file's streams, read under bounds: at most [`MAX_STREAMS`] of them, names
//! compared without case (as the format compares them, so `/WORKBOOK` is Excel's
//! `Workbook`), and at most [`READ_FACTOR`] times the file's size read in all. `cfb`
//! accepts directory entries that share sectors, so without that budget a small crafted
//! file could have the same megabytes read over and over through thousands of streams.

use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};

/// The most streams read from one compound file.
pub(super) const MAX_STREAMS: usize = 4096;

/// How many times its own size (plus 1 MiB) one compound file's streams may read in all.
pub(super) const READ_FACTOR: usize = 4;

/// The streams of an open compound file.
pub(super) struct Streams<'a> {
    file: cfb::CompoundFile<Cursor<&'a [u8]>>,
    /// The file's size: no one stream is read past it.
    size: usize,
    /// Bytes left to read.
    left: usize,
    /// The budget ran out: some streams were not read (whole).
    pub(super) spent: bool,
    /// The stream paths, in the directory's order.
    pub(super) paths: Vec<PathBuf>,
    /// There were more than [`MAX_STREAMS`]: the rest are not in `paths`.
    pub(super) truncated: bool,
}

impl<'a> Streams<'a> {
    /// Opens the compound file `bytes`.
    pub(super) fn open(bytes: &'a [u8]) -> std::io::Result<Self> {
        let file = cfb::CompoundFile::open(Cursor::new(bytes))?;
        let mut paths: Vec<PathBuf> = file
            .walk()
            .filter(|entry| entry.is_stream())
            .map(|entry| entry.path().to_path_buf())
            .take(MAX_STREAMS + 1)
            .collect();
        let truncated = paths.len() > MAX_STREAMS;
        paths.truncate(MAX_STREAMS);
        Ok(Self {
            file,
            size: bytes.len(),
            left: bytes
                .len()
                .saturating_mul(READ_FACTOR)
                .saturating_add(1 << 20),
            spent: false,
            paths,
            truncated,
        })
    }

    /// The stream at `path`, whole (up to the file's size and the budget left).
    pub(super) fn read(&mut self, path: &Path) -> Vec<u8> {
        self.head(path, self.size)
    }

    /// The first `len` bytes of the stream at `path`.
    pub(super) fn head(&mut self, path: &Path, len: usize) -> Vec<u8> {
        let mut data = Vec::new();
        if self.left == 0 {
            self.spent = true;
            return data;
        }
        if let Ok(stream) = self.file.open_stream(path) {
            let limit = len.min(self.left);
            let _ = stream
                .take(u64::try_from(limit).unwrap_or(u64::MAX))
                .read_to_end(&mut data);
        }
        self.left = self.left.saturating_sub(data.len());
        data
    }

    /// The stream named `name` (any case) in `storage`.
    pub(super) fn find(&self, storage: &Path, name: &str) -> Option<PathBuf> {
        self.paths
            .iter()
            .find(|path| {
                path.parent() == Some(storage) && lower_name(path) == name.to_ascii_lowercase()
            })
            .cloned()
    }
}

/// The last component of `path`, lower case (ASCII).
pub(super) fn lower_name(path: &Path) -> String {
    path.file_name()
        .and_then(|name| name.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase()
}
