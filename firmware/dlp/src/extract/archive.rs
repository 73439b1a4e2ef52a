//! ZIP archives: every entry is counted as a part, its name scanned, its content expanded
//! under the bomb limits and extracted in turn (archives in archives, documents in
//! archives), one nesting level deeper.
//!
//! Office packages (DOCX, XLSX, PPTX, ODT …) are ZIP archives too; `office` picks their
//! text parts. Entry names of Japanese Windows archives are CP932 without the UTF-8 flag:
//! every charset reading of the raw name is scanned, the first names the location. An
//! encrypted entry is reported and skipped; a bomb stops the archive; a corrupt archive is
//! reported as unreadable. Entries are read one at a time and each is bounded, so archives
//! whose entries overlap (or that contain themselves) cost no more than any other.

use std::io::{Cursor, Read};

use ::zip::result::ZipError;
use ::zip::{CompressionMethod, ZipArchive};

use super::bounded::{self, Expanded};
use super::compressed::Codec;
use super::{Walk, office, short_name};
use crate::charset;
use crate::content::{Location, ProblemKind, SegmentKind};

/// A ZIP archive read from memory.
pub(crate) type Archive<'a> = ZipArchive<Cursor<&'a [u8]>>;

/// The most characters of an entry name used in a location.
const MAX_NAME_CHARS: usize = 255;

/// Extracts a ZIP archive at `location` (nesting depth `depth`).
pub(crate) fn extract(walk: &mut Walk<'_, '_>, location: &Location, bytes: &[u8], depth: usize) {
    if !walk.out.may_descend(location, depth + 1) {
        return;
    }
    let mut archive = match ZipArchive::new(Cursor::new(bytes)) {
        Ok(archive) => archive,
        Err(error) => {
            walk.out.problem(
                location,
                ProblemKind::Unreadable,
                format!("corrupt ZIP archive: {error}"),
            );
            // A ZIP signature in front of text does not hide the text.
            if super::text::looks_like_text(bytes) {
                super::text::extract(walk, location, bytes, None);
            }
            return;
        }
    };
    // The archive's comment: unzip and archivers show it.
    if !archive.comment().is_empty() {
        for reading in charset::readings(archive.comment(), None) {
            if !super::push_text(walk, location, reading) {
                return;
            }
        }
    }
    if office::extract(walk, location, &mut archive, depth) {
        return;
    }
    for index in 0..archive.len() {
        match read_entry(walk, location, &mut archive, index, true) {
            Entry::Data {
                name,
                location: at,
                data,
            } => {
                if !walk.entry_file(&at, &name, &data, depth) {
                    return;
                }
            }
            Entry::Skip => {}
            Entry::Stop => return,
        }
    }
}

/// What reading one entry gave.
#[derive(Debug)]
pub(crate) enum Entry {
    /// Its content (possibly cut short by corruption, which was reported).
    Data {
        /// Its name (the first reading).
        name: String,
        /// Its location.
        location: Location,
        /// Its content.
        data: Vec<u8>,
    },
    /// Nothing to extract (a directory, an image, encrypted, unreadable): go on.
    Skip,
    /// A limit was reached: stop the archive.
    Stop,
}

/// The readings of a raw entry name (UTF-8, or CP932 from Japanese Windows, or …), the best
/// first.
pub(crate) fn entry_names(raw: &[u8]) -> Vec<String> {
    charset::readings(raw, None)
}

/// The name of an entry, for locations and lookups; empty if the index is out of range.
pub(crate) fn entry_name(archive: &Archive<'_>, index: usize) -> String {
    archive
        .by_index_data(index)
        .map(|entry| location_name(&entry_names(entry.name_raw())))
        .unwrap_or_default()
}

/// Enters an archive entry named by `names` (its name readings, the best first): counts it
/// as a part and, when `scan_names`, scans every reading of its name. Its location name
/// and location, or `None` when a limit says to stop the archive. Every archive reader
/// (ZIP, tar, 7z, LZH, RAR) enters its entries here.
pub(crate) fn enter_entry(
    walk: &mut Walk<'_, '_>,
    location: &Location,
    names: Vec<String>,
    scan_names: bool,
) -> Option<(String, Location)> {
    let name = location_name(&names);
    let at = location.child(name.clone());
    if !walk.out.enter_part(&at) {
        return None;
    }
    if scan_names {
        for reading in names {
            if !walk.out.text(&at, SegmentKind::FileName, reading) {
                return None;
            }
        }
    }
    Some((name, at))
}

/// The step an entry's location takes: its first name reading, cut to 255 characters.
pub(crate) fn location_name(names: &[String]) -> String {
    let name = names.first().map(String::as_str).unwrap_or_default();
    name.chars().take(MAX_NAME_CHARS).collect()
}

/// Reads entry `index` of `archive`: counts it as a part, scans its name (when
/// `scan_names`), checks encryption, and expands it under the bomb limits (media too: what
/// it is, is decided from all of its bytes).
pub(crate) fn read_entry(
    walk: &mut Walk<'_, '_>,
    location: &Location,
    archive: &mut Archive<'_>,
    index: usize,
    scan_names: bool,
) -> Entry {
    let (names, is_dir, encrypted, compressed, method) = match archive.by_index_data(index) {
        Ok(entry) => (
            entry_names(entry.name_raw()),
            entry.is_dir(),
            entry.encrypted(),
            entry.compressed_size(),
            entry.compression(),
        ),
        Err(error) => {
            walk.out.problem(
                location,
                ProblemKind::Unreadable,
                format!("ZIP entry {index}: {error}"),
            );
            return Entry::Skip;
        }
    };
    let Some((name, at)) = enter_entry(walk, location, names, scan_names) else {
        return Entry::Stop;
    };
    if is_dir {
        return Entry::Skip;
    }
    let what = format!("entry \"{}\"", short_name(&name));
    if encrypted {
        walk.out
            .problem(&at, ProblemKind::Encrypted, format!("{what} is encrypted"));
        return Entry::Skip;
    }
    if method == CompressionMethod::ZSTD {
        // The zip crate reads zstd entries only through the C library; ruzstd reads them
        // here, from the entry's bytes in place.
        return match zstd_entry(archive, index, compressed) {
            Some(raw) => {
                let decoder = Codec::Zstd.decoder(raw);
                finish_entry(walk, name, at, &what, decoder, compressed)
            }
            None => {
                let detail = format!("{what}: its zstd data lies outside the archive");
                walk.out.problem(&at, ProblemKind::Unreadable, detail);
                Entry::Skip
            }
        };
    }
    let file = match archive.by_index(index) {
        Ok(file) => file,
        Err(ZipError::UnsupportedArchive(message)) if message == ZipError::PASSWORD_REQUIRED => {
            walk.out
                .problem(&at, ProblemKind::Encrypted, format!("{what} is encrypted"));
            return Entry::Skip;
        }
        Err(ZipError::InvalidPassword) => {
            walk.out
                .problem(&at, ProblemKind::Encrypted, format!("{what} is encrypted"));
            return Entry::Skip;
        }
        Err(error) => {
            walk.out
                .problem(&at, ProblemKind::Unreadable, format!("{what}: {error}"));
            return Entry::Skip;
        }
    };
    finish_entry(walk, name, at, &what, file, compressed)
}

/// The compressed bytes of zstd entry `index`, in place in the archive's memory.
fn zstd_entry<'a>(archive: &mut Archive<'a>, index: usize, compressed: u64) -> Option<&'a [u8]> {
    let start = archive.by_index_raw(index).ok()?.data_start()?;
    let start = usize::try_from(start).ok()?;
    let end = start.checked_add(usize::try_from(compressed).ok()?)?;
    // The archive's own bytes: a clone of the archive shares its index and its slice.
    let bytes: &'a [u8] = archive.clone().into_inner().into_inner();
    bytes.get(start..end)
}

/// Expands an entry's content from `reader` under the bomb limits.
fn finish_entry(
    walk: &mut Walk<'_, '_>,
    name: String,
    at: Location,
    what: &str,
    reader: impl Read,
    compressed: u64,
) -> Entry {
    match bounded::expand(walk, &at, what, reader, compressed) {
        Expanded::Done(data) => Entry::Data {
            name,
            location: at,
            data,
        },
        Expanded::Broken(data, error) => {
            walk.out
                .problem(&at, ProblemKind::Unreadable, format!("{what}: {error}"));
            if data.is_empty() {
                Entry::Skip
            } else {
                Entry::Data {
                    name,
                    location: at,
                    data,
                }
            }
        }
        Expanded::Bomb => Entry::Stop,
    }
}

#[cfg(test)]
mod tests;
