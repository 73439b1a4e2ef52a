//! Files Mamori does not read: archives and containers of formats it has no reader for
//! yet (CAB, Outlook's TNEF …) and binaries of no
//! known format. None of them passes in silence: each is reported as
//! [`ProblemKind::UnsupportedFormat`] (so that policy holds it as not fully read), and the
//! printable strings in it are scanned all the same, ASCII and UTF-16 (a number typed into
//! a form of some program is often in the file as it is).

use super::{Walk, push_text};
use crate::content::{Location, ProblemKind};

/// A format recognised by its signature: its name in reports.
struct Signature {
    name: &'static str,
    /// The signature's offset and bytes.
    at: usize,
    magic: &'static [u8],
}

/// The formats recognised (and not read).
const SIGNATURES: [Signature; 4] = [
    Signature {
        name: "CAB archive",
        at: 0,
        magic: b"MSCF\x00\x00\x00\x00",
    },
    Signature {
        name: "Outlook TNEF (winmail.dat)",
        at: 0,
        magic: b"\x78\x9F\x3E\x22",
    },
    Signature {
        name: "ar archive",
        at: 0,
        magic: b"!<arch>\n",
    },
    Signature {
        name: "ISO 9660 image",
        at: 0x8001,
        magic: b"CD001",
    },
];

/// The name of the unread format `bytes` begins as, if it is one of the known ones.
pub(crate) fn known_format(bytes: &[u8]) -> Option<&'static str> {
    SIGNATURES
        .iter()
        .find(|s| {
            bytes
                .get(s.at..)
                .is_some_and(|rest| rest.starts_with(s.magic))
        })
        .map(|s| s.name)
}

/// Reports `bytes` at `location` as a format not read (`what`: its name, or `None` for an
/// unknown binary) and scans the strings in it.
pub(crate) fn extract(
    walk: &mut Walk<'_, '_>,
    location: &Location,
    bytes: &[u8],
    what: Option<&str>,
) {
    let detail = match what {
        Some(name) => {
            format!("{name}: this format is not read yet; only its printable strings were scanned")
        }
        None => format!(
            "binary data of no known format ({} bytes); only its printable strings were scanned",
            bytes.len()
        ),
    };
    walk.out
        .problem(location, ProblemKind::UnsupportedFormat, detail);
    scan_strings(walk, location, bytes);
}

/// Scans the printable strings (ASCII and UTF-16) of `bytes` at `location`: what is left to
/// read of a file no reader could open (a signature in front of plain text does not hide
/// the text).
pub(crate) fn scan_strings(walk: &mut Walk<'_, '_>, location: &Location, bytes: &[u8]) {
    let cap = walk.text_cap();
    let text = super::legacy::strings(bytes, cap);
    push_text(walk, location, text);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_recognised_where_they_sit() {
        assert_eq!(known_format(b"MSCF\x00\x00\x00\x00"), Some("CAB archive"));
        assert_eq!(known_format(b"plain text"), None);
        assert_eq!(known_format(b""), None);
    }
}
