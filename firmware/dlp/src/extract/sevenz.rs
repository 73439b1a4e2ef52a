//! 7z archives: every entry is counted as a part and its name scanned, then each block is
//! decoded in turn (`sevenz-rust2`) and each file in it expanded under the bomb limits and
//! extracted one nesting level deeper.
//!
//! Encryption is decided from the structure, never by trying a password: an archive whose
//! headers are encrypted (`7z -mhe`) shows nothing but that it is encrypted; a block whose
//! coders include AES is reported encrypted for each of its files, and the other blocks are
//! still read. The decoders' dictionaries are bounded by
//! [`super::compressed::MAX_WINDOW_BYTES`], and one thread decodes (a scan never fans out
//! over the board's cores). A corrupt block is reported unreadable after what it gave.

use std::io::{Cursor, Read};

use sevenz_rust2::{Archive, ArchiveEntry, BlockDecoder, Error, Password};

use super::bounded::{self, Expanded};
use super::compressed::MAX_WINDOW_BYTES;
use super::{Walk, short_name};
use crate::content::{Location, ProblemKind};

/// The signature a 7z archive starts with.
pub(crate) const MAGIC: &[u8] = b"7z\xBC\xAF\x27\x1C";

/// The decoders' memory limit, in KiB (a dictionary, a PPMd model, the header buffers).
const MEMORY_LIMIT_KIB: usize = (MAX_WINDOW_BYTES >> 10) as usize + 1024;

/// Extracts a 7z archive at `location` (nesting depth `depth`).
pub(crate) fn extract(walk: &mut Walk<'_, '_>, location: &Location, bytes: &[u8], depth: usize) {
    if !walk.out.may_descend(location, depth + 1) {
        return;
    }
    let mut source = Cursor::new(bytes);
    let archive =
        match Archive::read_with_memory_limit(&mut source, &Password::empty(), MEMORY_LIMIT_KIB) {
            Ok(archive) => archive,
            Err(Error::PasswordRequired | Error::MaybeBadPassword(_)) => {
                let detail = "7z archive with encrypted headers: its file names and content \
                              cannot be read without the password";
                walk.out
                    .problem(location, ProblemKind::Encrypted, detail.to_string());
                return;
            }
            Err(error) => {
                let detail = format!("corrupt 7z archive: {error}");
                walk.out.problem(location, ProblemKind::Unreadable, detail);
                super::unsupported::scan_strings(walk, location, bytes);
                return;
            }
        };
    // Names first, as for every archive: each entry is a part, its name is text.
    for (index, entry) in archive.files.iter().enumerate() {
        let names = vec![entry.name().to_string()];
        let Some((name, at)) = super::archive::enter_entry(walk, location, names, true) else {
            return;
        };
        if entry.has_stream() && archive.is_file_encrypted(index) {
            let detail = format!("entry \"{}\" is encrypted", short_name(&name));
            walk.out.problem(&at, ProblemKind::Encrypted, detail);
        }
    }
    let compressed = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    let no_password = Password::empty();
    for block in 0..archive.blocks.len() {
        let first = archive
            .stream_map
            .block_first_file_index
            .get(block)
            .copied()
            .unwrap_or(usize::MAX);
        if archive.is_file_encrypted(first) {
            continue;
        }
        let mut stop = false;
        let decoder = BlockDecoder::new_with_memory_limit(
            1,
            MEMORY_LIMIT_KIB,
            block,
            &archive,
            &no_password,
            &mut source,
        );
        let result = decoder.for_each_entries(&mut |entry, reader| {
            if entry.is_directory() || !entry.has_stream() {
                return Ok(true);
            }
            let keep_on = read_entry(walk, location, entry, reader, compressed, depth);
            stop = !keep_on;
            Ok(keep_on)
        });
        if stop {
            return;
        }
        if let Err(error) = result {
            let detail = format!("corrupt 7z archive (block {block}): {error}");
            walk.out.problem(location, ProblemKind::Unreadable, detail);
        }
        if walk.out.text_exhausted() {
            return;
        }
    }
}

/// An entry's name as a location step (7z names are UTF-16: one reading).
fn entry_name(entry: &ArchiveEntry) -> String {
    super::archive::location_name(&[entry.name().to_string()])
}

/// Expands one file of a block and extracts it. False when the archive must stop (a bomb,
/// the budget spent).
fn read_entry(
    walk: &mut Walk<'_, '_>,
    location: &Location,
    entry: &ArchiveEntry,
    reader: &mut dyn Read,
    compressed: u64,
    depth: usize,
) -> bool {
    let name = entry_name(entry);
    let at = location.child(name.clone());
    let what = format!("entry \"{}\"", short_name(&name));
    let data = match bounded::expand(walk, &at, &what, reader, compressed) {
        Expanded::Done(data) => data,
        Expanded::Broken(data, error) => {
            walk.out
                .problem(&at, ProblemKind::Unreadable, format!("{what}: {error}"));
            data
        }
        Expanded::Bomb => return false,
    };
    walk.entry_file(&at, &name, &data, depth)
}
