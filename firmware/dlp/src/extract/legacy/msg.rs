//! Outlook messages (`.msg`, [MS-OXMSG]): an OLE2 compound file whose streams are the
//! message's properties, one stream per property (`__substg1.0_IIIITTTT`: property id and
//! type), with a storage per recipient and per attachment, and a whole message inside an
//! attachment (`__substg1.0_3701000D`) for a mail forwarded as an attachment.
//!
//! Properties are read by their type, not by looking for text in bytes: Unicode strings
//! (`001F`) whole, 8-bit strings (`001E`) in the message's code page (`PR_INTERNET_CPID`
//! or `PR_MESSAGE_CODEPAGE`, CP932 for a Japanese Outlook) and in every other Japanese
//! charset that reads them, the body compressed as RTF (`PR_RTF_COMPRESSED`, LZFu) through
//! the RTF reader, the HTML body through the HTML reader, attachments as files under their
//! names. A message inside a message is read the same way, as a part of its own.

use std::path::Path;

use super::streams::{Streams, lower_name};

/// The storage of a message attached to a message (or of an OLE object attached), lower
/// case (names compare without case).
pub(super) const EMBEDDED: &str = "__substg1.0_3701000d";
/// The prefix of an attachment's storage, lower case.
const ATTACHMENT: &str = "__attach_version1.0_#";
/// The property stream of each storage: fixed-size entries after a header.
pub(super) const PROPERTIES: &str = "__properties_version1.0";

/// How a property stream is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Property {
    /// A Unicode string (`PT_UNICODE`, single or one value of a multi-valued one).
    Unicode,
    /// An 8-bit string in the message's code page (`PT_STRING8`).
    Ansi,
    /// An attachment's data (`PR_ATTACH_DATA_BIN`).
    AttachmentData,
    /// The body as compressed RTF (`PR_RTF_COMPRESSED`).
    CompressedRtf,
    /// The body as HTML (`PR_HTML`, binary).
    Html,
    /// The body as HTML in a string property: UTF-16 (`unicode`) or in the code page.
    HtmlText {
        /// `PT_UNICODE` rather than `PT_STRING8`.
        unicode: bool,
    },
    /// The lengths of a multi-valued property's values: nothing to read.
    Lengths,
    /// Any other property: binary, read by the strings pass.
    Other,
}

/// How the stream called `name` is read, if it is a property stream.
pub(super) fn property(name: &str) -> Option<Property> {
    let tag = name.strip_prefix("__substg1.0_")?;
    let (hex, value_index) = match tag.split_once('-') {
        Some((hex, index)) => (hex, Some(index)),
        None => (tag, None),
    };
    let tag = u32::from_str_radix(hex.get(..8)?, 16).ok()?;
    let (id, kind) = (tag >> 16, tag & 0xFFFF);
    let multiple = kind & 0x1000 != 0;
    if multiple && value_index.is_none() {
        return Some(Property::Lengths);
    }
    Some(match (id, kind & 0x0FFF) {
        (0x1013, 0x001F) if !multiple => Property::HtmlText { unicode: true },
        (0x1013, 0x001E) if !multiple => Property::HtmlText { unicode: false },
        (_, 0x001F) => Property::Unicode,
        (_, 0x001E) => Property::Ansi,
        (0x3701, 0x0102) => Property::AttachmentData,
        (0x1009, 0x0102) => Property::CompressedRtf,
        (0x1013, 0x0102) => Property::Html,
        _ => Property::Other,
    })
}

/// A Unicode string property's text (UTF-16LE). A string ends at its NUL, but whatever a
/// crafted file puts after it is read too (on a line of its own): tools that show the
/// stream show it.
pub(super) fn unicode(data: &[u8]) -> String {
    let units: Vec<u16> = data
        .chunks_exact(2)
        .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
        .map(|unit| if unit == 0 { u16::from(b'\n') } else { unit })
        .collect();
    let text = String::from_utf16_lossy(&units);
    text.trim_end_matches('\n').to_owned()
}

/// The storage of the message that the stream at `path` belongs to: the root, or the
/// innermost embedded message above it.
pub(super) fn message_of(path: &Path) -> &Path {
    let mut storage = path.parent().unwrap_or(Path::new("/"));
    loop {
        if storage.file_name().is_none() || lower_name(storage) == EMBEDDED {
            return storage;
        }
        match storage.parent() {
            Some(parent) => storage = parent,
            None => return storage,
        }
    }
}

/// The charset label of a message's code page, from its property stream (`props`, of the
/// root message when `root`): `PR_INTERNET_CPID`, else `PR_MESSAGE_CODEPAGE`.
pub(super) fn charset(props: &[u8], root: bool) -> Option<String> {
    // The header: 32 bytes for the top-level message, 24 for an embedded one.
    let header = if root { 32 } else { 24 };
    let entries = props.get(header..)?.chunks_exact(16);
    let value = |wanted: u32| {
        entries.clone().find_map(|entry| {
            let tag = u32::from_le_bytes(entry.get(..4)?.try_into().ok()?);
            if tag != wanted {
                return None;
            }
            Some(u32::from_le_bytes(entry.get(8..12)?.try_into().ok()?))
        })
    };
    let page = value(0x3FDE_0003).or_else(|| value(0x3FFD_0003))?;
    Some(match page {
        65001 => "utf-8".to_owned(),
        20932 | 51932 => "euc-jp".to_owned(),
        50220..=50222 => "iso-2022-jp".to_owned(),
        932 => "shift_jis".to_owned(),
        other => format!("windows-{other}"),
    })
}

/// The name an attachment storage is shown by: its long file name, its short file name,
/// its display name (an attached message's subject), each as a Unicode or an 8-bit string,
/// else its number.
pub(super) fn attachment_label(storage: &Path, streams: &mut Streams<'_>) -> String {
    for property in ["3707", "3704", "3001"] {
        for (kind, unicode) in [("001f", true), ("001e", false)] {
            let Some(path) = streams.find(storage, &format!("__substg1.0_{property}{kind}")) else {
                continue;
            };
            let data = streams.head(&path, 1024);
            let name = if unicode {
                unicode_name(&data)
            } else {
                let value = data.split(|&b| b == 0).next().unwrap_or_default();
                crate::charset::decode(value, None)
            };
            let name: String = name.chars().take(255).collect();
            if !name.trim().is_empty() {
                return super::short_name(&name);
            }
        }
    }
    let number = lower_name(storage);
    format!("attachment {}", number.trim_start_matches(ATTACHMENT))
}

/// A name in UTF-16LE, to its NUL.
fn unicode_name(data: &[u8]) -> String {
    let units: Vec<u16> = data
        .chunks_exact(2)
        .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
        .take_while(|&unit| unit != 0)
        .collect();
    String::from_utf16_lossy(&units)
}

/// The attachment storages above the stream at `path`, outermost first, whose content is
/// a part of its own: an attachment's data, or an embedded message or object.
pub(super) fn attachment_scopes(path: &Path) -> Vec<&Path> {
    let mut scopes: Vec<&Path> = path
        .ancestors()
        .skip(1)
        .filter(|storage| lower_name(storage) == EMBEDDED)
        .filter_map(Path::parent)
        .collect();
    scopes.reverse();
    scopes
}

/// The dictionary LZFu starts with ([MS-OXRTFCP] §2.1.2.1).
const LZFU_PRELOAD: &[u8] = b"{\\rtf1\\ansi\\mac\\deff0\\deftab720{\\fonttbl;}{\\f0\\fnil \\froman \\fswiss \\fmodern \\fscript \\fdecor MS Sans SerifSymbolArialTimes New RomanCourier{\\colortbl\\red0\\green0\\blue0\r\n\\par \\pard\\plain\\f0\\fs20\\b\\i\\u\\tab\\tx";

/// Decompresses `PR_RTF_COMPRESSED` ([MS-OXRTFCP]): `LZFu` (a 4 KiB sliding dictionary
/// preloaded with common RTF) or `MELA` (stored), at most `cap` bytes, to the end marker or
/// the end of the data: the declared raw size is not trusted (a small one would hide the
/// rest). `None` when the header is neither.
pub(super) fn decompress_rtf(data: &[u8], cap: usize) -> Option<Vec<u8>> {
    let limit = cap;
    let body = data.get(16..)?;
    match data.get(8..12)? {
        b"MELA" => return Some(body.get(..limit.min(body.len()))?.to_vec()),
        b"LZFu" => {}
        _ => return None,
    }
    let mut dictionary = [0u8; 4096];
    dictionary[..LZFU_PRELOAD.len()].copy_from_slice(LZFU_PRELOAD);
    let mut write = LZFU_PRELOAD.len();
    let mut out = Vec::with_capacity(limit.min(1 << 20));
    let mut input = body.iter().copied();
    'outer: while let Some(control) = input.next() {
        for bit in 0..8 {
            if out.len() >= limit {
                break 'outer;
            }
            if control & (1 << bit) == 0 {
                let Some(byte) = input.next() else {
                    break 'outer;
                };
                out.push(byte);
                dictionary[write] = byte;
                write = (write + 1) % dictionary.len();
                continue;
            }
            let (Some(high), Some(low)) = (input.next(), input.next()) else {
                break 'outer;
            };
            let word = u16::from_be_bytes([high, low]);
            let offset = usize::from(word >> 4);
            if offset == write {
                break 'outer; // the end marker
            }
            for step in 0..usize::from(word & 0x0F) + 2 {
                let byte = dictionary[(offset + step) % dictionary.len()];
                out.push(byte);
                dictionary[write] = byte;
                write = (write + 1) % dictionary.len();
            }
        }
    }
    out.truncate(limit);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn property_streams_are_told_apart_by_their_tags() {
        assert_eq!(property("__substg1.0_0037001F"), Some(Property::Unicode));
        assert_eq!(property("__substg1.0_1000001E"), Some(Property::Ansi));
        assert_eq!(
            property("__substg1.0_37010102"),
            Some(Property::AttachmentData)
        );
        assert_eq!(
            property("__substg1.0_10090102"),
            Some(Property::CompressedRtf)
        );
        assert_eq!(property("__substg1.0_10130102"), Some(Property::Html));
        assert_eq!(property("__substg1.0_0E04101F"), Some(Property::Lengths));
        assert_eq!(
            property("__substg1.0_0E04101F-00000001"),
            Some(Property::Unicode)
        );
        assert_eq!(property("__substg1.0_00710102"), Some(Property::Other));
        assert_eq!(property("__substg1.0_zz"), None);
        assert_eq!(property("WordDocument"), None);
        assert_eq!(
            property("__substg1.0_1013001f"),
            Some(Property::HtmlText { unicode: true })
        );
        assert_eq!(
            property("__substg1.0_1013001E"),
            Some(Property::HtmlText { unicode: false })
        );
        assert_eq!(
            unicode(
                &"ab\0cd\0\0"
                    .encode_utf16()
                    .flat_map(u16::to_le_bytes)
                    .collect::<Vec<_>>()
            ),
            "ab\ncd"
        );
    }

    #[test]
    fn scopes_and_message_storages_follow_the_path() {
        let path = Path::new(
            "/__attach_version1.0_#00000000/__substg1.0_3701000D/__attach_version1.0_#00000001/__substg1.0_3701000D/__substg1.0_1000001F",
        );
        let scopes = attachment_scopes(path);
        assert_eq!(
            scopes,
            vec![
                Path::new("/__attach_version1.0_#00000000"),
                Path::new(
                    "/__attach_version1.0_#00000000/__substg1.0_3701000D/__attach_version1.0_#00000001"
                ),
            ]
        );
        assert_eq!(
            message_of(path),
            Path::new(
                "/__attach_version1.0_#00000000/__substg1.0_3701000D/__attach_version1.0_#00000001/__substg1.0_3701000D"
            )
        );
        assert_eq!(
            message_of(Path::new("/__substg1.0_0037001F")),
            Path::new("/")
        );
        assert!(
            attachment_scopes(Path::new("/__attach_version1.0_#0/__substg1.0_37010102")).is_empty()
        );
    }

    #[test]
    fn code_pages_come_from_the_property_stream() {
        let mut props = vec![0u8; 32];
        let mut entry = 0x3FFD_0003u32.to_le_bytes().to_vec();
        entry.extend([0; 4]);
        entry.extend(932u32.to_le_bytes());
        entry.extend([0; 4]);
        props.extend(&entry);
        assert_eq!(charset(&props, true).as_deref(), Some("shift_jis"));
        assert_eq!(charset(&props[8..], false).as_deref(), Some("shift_jis"));
        assert_eq!(charset(&props[..32], true), None);
    }

    #[test]
    fn compressed_rtf_is_expanded() {
        // The example of [MS-OXRTFCP] §3.1.1: "{\rtf1\ansi\ansicpg1252\pard hello world}\r\n".
        let compressed: [u8; 0x2D + 4] = [
            0x2d, 0x00, 0x00, 0x00, 0x2b, 0x00, 0x00, 0x00, 0x4c, 0x5a, 0x46, 0x75, 0xf1, 0xc5,
            0xc7, 0xa7, 0x03, 0x00, 0x0a, 0x00, 0x72, 0x63, 0x70, 0x67, 0x31, 0x32, 0x35, 0x42,
            0x32, 0x0a, 0xf3, 0x20, 0x68, 0x65, 0x6c, 0x09, 0x00, 0x20, 0x62, 0x77, 0x05, 0xb0,
            0x6c, 0x64, 0x7d, 0x0a, 0x80, 0x0f, 0xa0,
        ];
        let text = decompress_rtf(&compressed, 1 << 20).unwrap();
        assert_eq!(text, b"{\\rtf1\\ansi\\ansicpg1252\\pard hello world}\r\n");
        // The output is capped, and foreign data is refused.
        assert_eq!(decompress_rtf(&compressed, 6).unwrap(), b"{\\rtf1");
        assert_eq!(decompress_rtf(b"0123456789abcdefgh", 100), None);
        let mut stored = vec![0u8; 4];
        stored.extend(5u32.to_le_bytes());
        stored.extend(b"MELA");
        stored.extend([0; 4]);
        stored.extend(b"{\\rtf extra");
        assert_eq!(decompress_rtf(&stored, 100).unwrap(), b"{\\rtf extra");
    }
}
