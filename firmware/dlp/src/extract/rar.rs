//! RAR archives (RAR 5, and RAR 1.5–4 as WinRAR 3 and 4 wrote them). No well-kept Rust
//! crate decodes RAR's own compression: the `unrar` crate wraps RARLAB's C++ source under
//! its non-free licence, which firmware cannot ship. So the block structure is read here,
//! by hand, to RARLAB's published format notes, and only that:
//!
//! * every entry is counted as a part and its name scanned (RAR 5 names are UTF-8; RAR 4
//!   names are in the writer's code page, CP932 on Japanese Windows, with an optional
//!   Unicode name beside it: every reading is scanned);
//! * stored entries (method "store", which WinRAR uses for files that do not compress)
//!   are read in place, without a copy, and so are archive comments and NTFS streams kept
//!   stored in service headers;
//! * an encrypted entry, or an archive whose headers are encrypted, is reported
//!   [`ProblemKind::Encrypted`], from the structure (the encryption record, the password
//!   flag, the archive encryption header), never by trying a password;
//! * a compressed entry is reported [`ProblemKind::UnsupportedFormat`]: it is held as not
//!   fully read, its name having been scanned. An entry continued from or into another
//!   volume, a header whose CRC does not match, or a cut archive is unreadable.

use std::ops::Range;

use super::{Walk, short_name};
use crate::content::{Location, ProblemKind};

/// The signature of a RAR 5 archive.
const SIGNATURE_5: &[u8] = b"Rar!\x1A\x07\x01\x00";
/// The signature of a RAR 1.5–4 archive.
const SIGNATURE_4: &[u8] = b"Rar!\x1A\x07\x00";
/// The largest header RAR 5 allows (its format note: 2 MiB).
const MAX_HEADER_5: u64 = 2 << 20;

/// Does `bytes` start with a RAR signature?
pub(crate) fn looks_like_rar(bytes: &[u8]) -> bool {
    bytes.starts_with(SIGNATURE_5) || bytes.starts_with(SIGNATURE_4)
}

/// One entry, as the headers describe it.
#[derive(Debug, Default)]
struct Entry {
    /// Every reading of its name, the best first.
    names: Vec<String>,
    directory: bool,
    encrypted: bool,
    /// Stored, not compressed.
    stored: bool,
    /// Continued from or into another volume.
    split: bool,
    /// Where its data lies in the archive (cut to the archive's end).
    data: Range<usize>,
    /// Its size once unpacked.
    unpacked: u64,
}

/// What reading the headers ended with, besides the entries.
#[derive(Debug, PartialEq, Eq)]
enum End {
    /// The end-of-archive block, or the end of the bytes at a block boundary.
    Clean,
    /// The headers are encrypted from here on.
    EncryptedHeaders,
    /// Corrupt or cut: why.
    Broken(String),
}

/// Extracts a RAR archive at `location` (nesting depth `depth`).
pub(crate) fn extract(walk: &mut Walk<'_, '_>, location: &Location, bytes: &[u8], depth: usize) {
    if !walk.out.may_descend(location, depth + 1) {
        return;
    }
    let (entries, end) = if bytes.starts_with(SIGNATURE_5) {
        read_5(bytes)
    } else {
        read_4(bytes)
    };
    for entry in &entries {
        if !read_entry(walk, location, bytes, entry, depth) {
            return;
        }
    }
    match end {
        End::Clean => {}
        End::EncryptedHeaders => {
            let detail = "RAR archive with encrypted headers: its file names and content \
                          cannot be read without the password";
            walk.out
                .problem(location, ProblemKind::Encrypted, detail.to_string());
        }
        End::Broken(why) => {
            walk.out.problem(
                location,
                ProblemKind::Unreadable,
                format!("corrupt RAR archive: {why}"),
            );
            if entries.is_empty() {
                super::unsupported::scan_strings(walk, location, bytes);
            }
        }
    }
}

/// Reports and reads one entry. False when the archive must stop (a limit reached).
fn read_entry(
    walk: &mut Walk<'_, '_>,
    location: &Location,
    bytes: &[u8],
    entry: &Entry,
    depth: usize,
) -> bool {
    let names = entry.names.clone();
    let Some((name, at)) = super::archive::enter_entry(walk, location, names, true) else {
        return false;
    };
    if entry.directory {
        return true;
    }
    let what = format!("entry \"{}\"", short_name(&name));
    let (kind, detail) = if entry.encrypted {
        (ProblemKind::Encrypted, format!("{what} is encrypted"))
    } else if entry.split {
        (
            ProblemKind::Unreadable,
            format!("{what} continues in another volume of a multi-volume archive"),
        )
    } else if !entry.stored {
        (
            ProblemKind::UnsupportedFormat,
            format!(
                "{what} is compressed with RAR's own method, which is not read; only its name was scanned"
            ),
        )
    } else {
        let data = bytes.get(entry.data.clone()).unwrap_or_default();
        if u64::try_from(data.len()).ok() != Some(entry.unpacked) {
            let detail = format!(
                "{what} is cut short: {} of its {} bytes are in the archive",
                data.len(),
                entry.unpacked
            );
            walk.out.problem(&at, ProblemKind::Unreadable, detail);
        }
        return walk.entry_file(&at, &name, data, depth);
    };
    walk.out.problem(&at, kind, detail);
    true
}

/// Reads a RAR 5 variable-length integer at `*pos` (7 bits a byte, low first, at most 10
/// bytes), moving `*pos` past it.
fn vint(bytes: &[u8], pos: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for shift in 0..10 {
        let byte = *bytes.get(*pos)?;
        *pos += 1;
        value |= u64::from(byte & 0x7F).checked_shl(7 * shift)?;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// The little-endian u32 at `pos`.
fn u32_at(bytes: &[u8], pos: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        bytes.get(pos..pos.checked_add(4)?)?.try_into().ok()?,
    ))
}

/// The little-endian u16 at `pos`.
fn u16_at(bytes: &[u8], pos: usize) -> Option<u16> {
    Some(u16::from_le_bytes(
        bytes.get(pos..pos.checked_add(2)?)?.try_into().ok()?,
    ))
}

/// `start + len` as a range of `bytes`, cut to its end.
fn range(bytes: &[u8], start: usize, len: u64) -> Range<usize> {
    let len = usize::try_from(len).unwrap_or(usize::MAX);
    let end = start.saturating_add(len).min(bytes.len());
    start.min(end)..end
}

/// The entries of a RAR 5 archive, and how its headers ended.
fn read_5(bytes: &[u8]) -> (Vec<Entry>, End) {
    let mut entries = Vec::new();
    let mut pos = SIGNATURE_5.len();
    loop {
        if pos >= bytes.len() {
            return (entries, End::Broken("no end-of-archive block".into()));
        }
        let block = match block_5(bytes, pos) {
            Ok(block) => block,
            Err(why) => return (entries, End::Broken(why)),
        };
        match block.kind {
            2 | 3 => {
                if let Err(end) = keep(&mut entries, file_5(bytes, &block), block.kind == 2, pos) {
                    return (entries, end);
                }
            }
            4 => return (entries, End::EncryptedHeaders),
            5 => return (entries, End::Clean),
            _ => {}
        }
        pos = block.next;
    }
}

/// Keeps the entry of a file header (`is_file`) or of a service header at `pos`; `entry`
/// is `None` when the header was malformed, which ends the headers. Of the service headers
/// only the comment (CMT) and NTFS streams (STM) hold text a recipient can get at; the
/// rest (ACLs, quick-open, recovery records) are the archiver's own.
fn keep(
    entries: &mut Vec<Entry>,
    entry: Option<Entry>,
    is_file: bool,
    pos: usize,
) -> Result<(), End> {
    let Some(entry) = entry else {
        return Err(End::Broken(format!(
            "a file header at offset {pos} is malformed"
        )));
    };
    let shown = is_file
        || entry
            .names
            .first()
            .is_some_and(|name| name == "CMT" || name == "STM");
    if shown {
        entries.push(entry);
    }
    Ok(())
}

/// One RAR 5 block: its type and flags, where its type-specific fields and its extra area
/// lie, its data area, and where the next block starts.
struct Block5 {
    kind: u64,
    flags: u64,
    fields: usize,
    extra: Range<usize>,
    data: Range<usize>,
    data_size: u64,
    next: usize,
}

fn block_5(bytes: &[u8], pos: usize) -> Result<Block5, String> {
    let broken = || format!("a block header at offset {pos} is cut short");
    let crc = u32_at(bytes, pos).ok_or_else(broken)?;
    let mut at = pos + 4;
    let size = vint(bytes, &mut at).ok_or_else(broken)?;
    if size == 0 || size > MAX_HEADER_5 {
        return Err(format!(
            "a block header at offset {pos} declares {size} bytes"
        ));
    }
    let header_end = usize::try_from(size)
        .ok()
        .and_then(|size| at.checked_add(size))
        .filter(|&end| end <= bytes.len())
        .ok_or_else(broken)?;
    let checked = bytes.get(pos + 4..header_end).ok_or_else(broken)?;
    if crc32fast::hash(checked) != crc {
        return Err(format!(
            "the CRC of the block header at offset {pos} does not match"
        ));
    }
    let kind = vint(bytes, &mut at).ok_or_else(broken)?;
    let flags = vint(bytes, &mut at).ok_or_else(broken)?;
    let extra_size = if flags & 0x01 != 0 {
        vint(bytes, &mut at).ok_or_else(broken)?
    } else {
        0
    };
    let data_size = if flags & 0x02 != 0 {
        vint(bytes, &mut at).ok_or_else(broken)?
    } else {
        0
    };
    if at > header_end {
        return Err(broken());
    }
    let extra_len = usize::try_from(extra_size).map_err(|_| broken())?;
    let extra_start = header_end.checked_sub(extra_len).filter(|&s| s >= at);
    let extra_start = extra_start.ok_or_else(broken)?;
    let data = range(bytes, header_end, data_size);
    let next = usize::try_from(data_size)
        .ok()
        .and_then(|size| header_end.checked_add(size))
        .unwrap_or(usize::MAX);
    Ok(Block5 {
        kind,
        flags,
        fields: at,
        extra: extra_start..header_end,
        data,
        data_size,
        next,
    })
}

/// A RAR 5 file or service header's entry.
fn file_5(bytes: &[u8], block: &Block5) -> Option<Entry> {
    let mut at = block.fields;
    let file_flags = vint(bytes, &mut at)?;
    let unpacked = vint(bytes, &mut at)?;
    let _attributes = vint(bytes, &mut at)?;
    if file_flags & 0x02 != 0 {
        at += 4; // modification time
    }
    if file_flags & 0x04 != 0 {
        at += 4; // data CRC32
    }
    let compression = vint(bytes, &mut at)?;
    let _host = vint(bytes, &mut at)?;
    let name_len = usize::try_from(vint(bytes, &mut at)?).ok()?;
    let name = bytes.get(at..at.checked_add(name_len)?)?;
    if at + name_len > block.extra.start {
        return None;
    }
    let mut encrypted = false;
    let mut extra = block.extra.start;
    while extra < block.extra.end {
        let size = usize::try_from(vint(bytes, &mut extra)?).ok()?;
        let record_end = extra.checked_add(size)?;
        let mut kind_at = extra;
        if vint(bytes, &mut kind_at)? == 0x01 {
            encrypted = true;
        }
        extra = record_end;
    }
    Some(Entry {
        names: super::archive::entry_names(name),
        directory: file_flags & 0x01 != 0,
        encrypted,
        stored: (compression >> 7) & 0x07 == 0,
        // Header flags 0x08 and 0x10: data continued from, or into, another volume.
        split: block.flags & 0x18 != 0,
        data: block.data.clone(),
        unpacked: if file_flags & 0x08 != 0 {
            block.data_size
        } else {
            unpacked
        },
    })
}

/// The entries of a RAR 1.5–4 archive, and how its headers ended.
fn read_4(bytes: &[u8]) -> (Vec<Entry>, End) {
    let mut entries = Vec::new();
    let mut pos = SIGNATURE_4.len();
    loop {
        if pos >= bytes.len() {
            // WinRAR 3 and later always end an archive with its block; a cut archive does
            // not (nor did WinRAR 2, whose archives are held as unreadable, the safe way).
            return (entries, End::Broken("no end-of-archive block".into()));
        }
        let broken = || format!("a block header at offset {pos} is cut short");
        let (Some(crc), Some(&kind), Some(flags), Some(size)) = (
            u16_at(bytes, pos),
            bytes.get(pos + 2),
            u16_at(bytes, pos + 3),
            u16_at(bytes, pos + 5),
        ) else {
            return (entries, End::Broken(broken()));
        };
        let size = usize::from(size);
        let Some(header) = bytes.get(pos..pos + size).filter(|_| size >= 7) else {
            return (entries, End::Broken(broken()));
        };
        if kind != 0x73 || size >= 13 {
            let checked = header.get(2..).unwrap_or_default();
            if crc32fast::hash(checked) & 0xFFFF != u32::from(crc) {
                let why = format!("the CRC of the block header at offset {pos} does not match");
                return (entries, End::Broken(why));
            }
        }
        let add_size = if flags & 0x8000 != 0 {
            match u32_at(header, 7) {
                Some(add) => add,
                None => return (entries, End::Broken(broken())),
            }
        } else {
            0
        };
        match kind {
            0x73 if flags & 0x0080 != 0 => return (entries, End::EncryptedHeaders),
            0x74 | 0x7A => {
                let entry = file_4(bytes, pos, header, flags, add_size);
                if let Err(end) = keep(&mut entries, entry, kind == 0x74, pos) {
                    return (entries, end);
                }
            }
            0x7B => return (entries, End::Clean),
            _ => {}
        }
        pos = pos + size + usize::try_from(add_size).unwrap_or(usize::MAX);
        if pos > bytes.len() {
            return (entries, End::Broken("the archive is cut short".into()));
        }
    }
}

/// A RAR 4 file (or new-style service) header's entry: `header` is its `size` bytes at
/// `pos`, `packed` the data size that follows it.
fn file_4(bytes: &[u8], pos: usize, header: &[u8], flags: u16, packed: u32) -> Option<Entry> {
    let unpacked_low = u32_at(header, 11)?;
    let method = *header.get(25)?;
    let name_len = usize::from(u16_at(header, 26)?);
    let mut at = 32;
    let (mut packed, mut unpacked) = (u64::from(packed), u64::from(unpacked_low));
    if flags & 0x0100 != 0 {
        packed |= u64::from(u32_at(header, at)?) << 32;
        unpacked |= u64::from(u32_at(header, at + 4)?) << 32;
        at += 8;
    }
    let raw = header.get(at..at.checked_add(name_len)?)?;
    let mut names = Vec::new();
    if flags & 0x0200 != 0 {
        // A Unicode name: the code-page name, a NUL, then the Unicode name encoded
        // against it (or, from some writers, UTF-8 with no NUL).
        match raw.iter().position(|&b| b == 0) {
            Some(nul) => {
                let (oem, encoded) = (&raw[..nul], &raw[nul + 1..]);
                if let Some(unicode) = decode_unicode_name(oem, encoded) {
                    names.push(unicode);
                }
                for reading in super::archive::entry_names(oem) {
                    if !names.contains(&reading) {
                        names.push(reading);
                    }
                }
            }
            None => names = super::archive::entry_names(raw),
        }
    } else {
        names = super::archive::entry_names(raw);
    }
    let header_end = pos + header.len();
    let data = range(bytes, header_end, packed);
    Some(Entry {
        names,
        directory: flags & 0x00E0 == 0x00E0,
        encrypted: flags & 0x0004 != 0,
        stored: method == 0x30,
        split: flags & 0x0003 != 0,
        data,
        unpacked,
    })
}

/// RAR 4's Unicode file name, encoded against the code-page name `oem`: a high byte, then
/// groups of four two-bit opcodes (a low byte; a low byte with the high byte; a full
/// UTF-16 unit; a run copied from `oem`, optionally shifted).
fn decode_unicode_name(oem: &[u8], encoded: &[u8]) -> Option<String> {
    const MAX_UNITS: usize = 4096;
    let (&high, rest) = encoded.split_first()?;
    let high = u16::from(high) << 8;
    let mut units: Vec<u16> = Vec::new();
    let mut pos = 0;
    let (mut flags, mut flag_bits) = (0u8, 0u32);
    while pos < rest.len() && units.len() < MAX_UNITS {
        if flag_bits == 0 {
            flags = rest[pos];
            pos += 1;
            flag_bits = 8;
        }
        flag_bits -= 2;
        match (flags >> flag_bits) & 0x03 {
            0 => {
                units.push(u16::from(*rest.get(pos)?));
                pos += 1;
            }
            1 => {
                units.push(u16::from(*rest.get(pos)?) | high);
                pos += 1;
            }
            2 => {
                units.push(u16::from_le_bytes([*rest.get(pos)?, *rest.get(pos + 1)?]));
                pos += 2;
            }
            _ => {
                let length = *rest.get(pos)?;
                pos += 1;
                if length & 0x80 != 0 {
                    let correction = *rest.get(pos)?;
                    pos += 1;
                    for _ in 0..(length & 0x7F) + 2 {
                        let byte = *oem.get(units.len())?;
                        units.push(u16::from(byte.wrapping_add(correction)) | high);
                    }
                } else {
                    for _ in 0..length + 2 {
                        units.push(u16::from(*oem.get(units.len())?));
                    }
                }
            }
        }
    }
    let name = String::from_utf16_lossy(&units);
    (!name.is_empty()).then_some(name)
}

#[cfg(test)]
mod tests;
