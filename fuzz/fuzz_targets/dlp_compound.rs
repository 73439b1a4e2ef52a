//! The DLP readers of OLE2 compound files (Word's piece table, PowerPoint's records and
//! embedded objects, Excel's BIFF records, Outlook's properties, code pages, compressed
//! RTF and messages inside messages, OLE packages), reached through real compound files:
//! random bytes almost never make one, so the input chooses streams by name and gives
//! their bytes, and `cfb` writes the file that the walk then reads.
//!
//! Input: repeated `[name selector][length: u16 LE][data]`. Checked, besides "never
//! panics" and libFuzzer's limits: the text stays within the limit, nesting within the
//! depth limit, and the same file gives the same extraction.
#![no_main]

use std::io::{Cursor, Write};
use std::path::Path;

use libfuzzer_sys::fuzz_target;

mod common;

/// Streams the readers look for, at the root and inside attachments, messages and
/// embedded objects.
const STREAMS: [&str; 24] = [
    "/WordDocument",
    "/1Table",
    "/0Table",
    "/Workbook",
    "/PowerPoint Document",
    "/EncryptedSummary",
    "/\u{1}Ole10Native",
    "/__properties_version1.0",
    "/__substg1.0_0037001F",
    "/__substg1.0_0037001E",
    "/__substg1.0_1000001E",
    "/__substg1.0_10090102",
    "/__substg1.0_10130102",
    "/__substg1.0_0E04101F",
    "/__substg1.0_0E04101F-00000000",
    "/__attach_version1.0_#00000000/__substg1.0_37010102",
    "/__attach_version1.0_#00000000/__substg1.0_3707001F",
    "/__attach_version1.0_#00000000/__substg1.0_3701000D/__properties_version1.0",
    "/__attach_version1.0_#00000000/__substg1.0_3701000D/__substg1.0_1000001E",
    "/__attach_version1.0_#00000000/__substg1.0_3701000D/__attach_version1.0_#00000001/__substg1.0_37010102",
    "/ObjectPool/_1/WordDocument",
    "/ObjectPool/_1/1Table",
    "/ObjectPool/_1/Workbook",
    "/ObjectPool/_1/\u{1}Ole10Native",
];

/// The most streams one input makes.
const MAX_STREAMS: usize = 16;

/// The compound file the input describes (`None` when `cfb` refuses it).
fn compound(mut input: &[u8]) -> Option<Vec<u8>> {
    let mut file = cfb::CompoundFile::create(Cursor::new(Vec::new())).ok()?;
    let mut made = 0;
    while let [pick, lo, hi, rest @ ..] = input {
        if made == MAX_STREAMS {
            break;
        }
        let len = usize::from(u16::from_le_bytes([*lo, *hi])).min(rest.len());
        let (data, tail) = rest.split_at(len);
        input = tail;
        let path = Path::new(STREAMS[usize::from(*pick) % STREAMS.len()]);
        if file.exists(path) {
            continue;
        }
        if let Some(parent) = path.parent()
            && !file.exists(parent)
        {
            file.create_storage_all(parent).ok()?;
        }
        let mut stream = file.create_stream(path).ok()?;
        stream.write_all(data).ok()?;
        made += 1;
    }
    file.flush().ok()?;
    Some(file.into_inner().into_inner())
}

fuzz_target!(|input: &[u8]| {
    if let Some(file) = compound(input) {
        common::check(&file, "a.doc");
    }
});
