//! LZH (LHA) archives, still sent by Japanese offices (Lhaplus, LHA for Windows): every
//! entry is counted as a part and its name scanned (names are CP932 as often as not, and
//! every plausible charset reading is scanned, as for ZIP), then its content is expanded
//! under the bomb limits by `delharc` (`-lh0-` to `-lh7-`, `-lzs-`, `-lz5-`, `-pm?-`) and
//! extracted one nesting level deeper. A method `delharc` does not decode, a CRC that does
//! not match, or a cut archive is reported unreadable; what came before is kept.

use delharc::LhaDecodeReader;

use super::bounded::{self, Expanded};
use super::{Walk, short_name};
use crate::content::{Location, ProblemKind};

/// The extra header that holds an entry's file name (LHA's header specification).
const EXT_HEADER_FILENAME: u8 = 0x01;
/// The extra header that holds an entry's directory, 0xFF between its parts.
const EXT_HEADER_PATH: u8 = 0x02;

/// Does `bytes` start with an LHA header (a method id such as `-lh5-` at offset 2)?
pub(crate) fn looks_like_lzh(bytes: &[u8]) -> bool {
    let Some(id) = bytes.get(2..7) else {
        return false;
    };
    let family = matches!(&id[..3], b"-lh" | b"-lz" | b"-pm");
    family && id[4] == b'-' && id[3].is_ascii_alphanumeric()
}

/// The raw bytes of an entry's path: the directory and file-name extra headers (levels 1
/// to 3, 0xFF separating directories), else the header's own name field (levels 0 and 1).
fn raw_path(header: &delharc::LhaHeader) -> Vec<u8> {
    let (mut directory, mut name) = (Vec::new(), Vec::new());
    for extra in header.iter_extra() {
        match extra.split_first() {
            Some((&EXT_HEADER_FILENAME, data)) => name = data.to_vec(),
            Some((&EXT_HEADER_PATH, data)) => directory = data.to_vec(),
            _ => {}
        }
    }
    if name.is_empty() {
        name = header.filename.to_vec();
    }
    let mut path: Vec<u8> = directory
        .iter()
        .map(|&b| if b == 0xFF { b'/' } else { b })
        .collect();
    if !path.is_empty() && !path.ends_with(b"/") {
        path.push(b'/');
    }
    path.extend(name.iter().map(|&b| if b == 0xFF { b'/' } else { b }));
    path
}

/// Extracts an LZH archive at `location` (nesting depth `depth`).
pub(crate) fn extract(walk: &mut Walk<'_, '_>, location: &Location, bytes: &[u8], depth: usize) {
    if !walk.out.may_descend(location, depth + 1) {
        return;
    }
    let mut reader = match LhaDecodeReader::new(bytes) {
        Ok(reader) => reader,
        Err(error) => {
            let detail = format!("corrupt LZH archive: {error}");
            walk.out.problem(location, ProblemKind::Unreadable, detail);
            super::unsupported::scan_strings(walk, location, bytes);
            return;
        }
    };
    loop {
        let header = reader.header();
        let names = super::archive::entry_names(&raw_path(header));
        let Some((name, at)) = super::archive::enter_entry(walk, location, names, true) else {
            return;
        };
        let what = format!("entry \"{}\"", short_name(&name));
        let compressed = header.compressed_size;
        let method = String::from_utf8_lossy(&header.compression).into_owned();
        if header.is_directory() {
            // Nothing but the name.
        } else if !reader.is_decoder_supported() {
            let detail = format!("{what}: compression method {method} is not read");
            walk.out.problem(&at, ProblemKind::Unreadable, detail);
        } else {
            let data = match bounded::expand(walk, &at, &what, &mut reader, compressed) {
                Expanded::Done(data) => {
                    if reader.crc_check().is_err() {
                        let detail = format!("{what}: its CRC does not match its content");
                        walk.out.problem(&at, ProblemKind::Unreadable, detail);
                    }
                    data
                }
                Expanded::Broken(data, error) => {
                    let detail = format!("{what}: {error}");
                    walk.out.problem(&at, ProblemKind::Unreadable, detail);
                    data
                }
                Expanded::Bomb => return,
            };
            if !walk.entry_file(&at, &name, &data, depth) {
                return;
            }
        }
        match reader.next_file() {
            Ok(true) => {}
            Ok(false) => return,
            Err(error) => {
                let detail = format!(
                    "corrupt LZH archive after \"{}\": {error}",
                    short_name(&name)
                );
                walk.out.problem(location, ProblemKind::Unreadable, detail);
                return;
            }
        }
    }
}
