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
use mamori_dlp::content::{Collector, Limits, Location};
use mamori_dlp::extract::{FileRef, extract_file};

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

fn limits() -> Limits {
    Limits {
        max_depth: 5,
        max_parts: 64,
        max_text_bytes: 256 * 1024,
        max_entry_bytes: 1 << 20,
        max_expanded_bytes: 4 << 20,
        max_ratio: 100,
        max_scan_time: std::time::Duration::from_secs(10),
    }
}

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

fn run(data: &[u8]) -> mamori_dlp::content::Extraction {
    let limits = limits();
    let mut collector = Collector::new(&limits);
    let location = Location::root().child("file \"a.doc\"");
    let file = FileRef {
        name: Some("a.doc"),
        content_type: None,
        charset: None,
        bytes: data,
    };
    extract_file(&mut collector, &location, &file, 1);
    collector.finish()
}

fuzz_target!(|input: &[u8]| {
    let Some(file) = compound(input) else {
        return;
    };
    let first = run(&file);
    let limits = limits();
    let text: usize = first.segments.iter().map(|s| s.text.len()).sum();
    assert!(text <= limits.max_text_bytes, "{text} bytes of text");
    for s in &first.segments {
        assert!(
            s.location.depth() <= limits.max_depth + 3,
            "segment at depth {}: {}",
            s.location.depth(),
            s.location
        );
    }
    assert_eq!(first, run(&file), "extraction is not deterministic");
});
