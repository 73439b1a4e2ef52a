//! The DLP attachment walk (ZIP, tar, 7z, LZH, RAR, gzip/bzip2/xz/zstd, Office documents
//! old and new, Outlook messages,
//! PDF, HTML, text): any bytes as a file, the first byte choosing the name it is given (so
//! every extractor is reached, not only the ones found by magic bytes).
//!
//! Checked, besides "never panics" and libFuzzer's time and memory limits:
//! - the decoded text stays within the limit;
//! - nesting stays within the depth limit;
//! - the same input gives the same extraction.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mamori_dlp::content::{Collector, Limits, Location};
use mamori_dlp::extract::{FileRef, extract_file};

const NAMES: [&str; 19] = [
    "a.zip", "a.docx", "a.xlsx", "a.pptx", "a.pdf", "a.html", "a.csv", "a.txt", "a.gz", "a.odt",
    "a.bz2", "a.xz", "a.zst", "a.7z", "a.lzh", "a.rar", "a.doc", "a.ppt", "a.msg",
];

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

fn run(data: &[u8], name: &str) -> mamori_dlp::content::Extraction {
    let limits = limits();
    let mut collector = Collector::new(&limits);
    let location = Location::root().child(format!("file \"{name}\""));
    let file = FileRef {
        name: Some(name),
        content_type: None,
        charset: None,
        bytes: data,
    };
    extract_file(&mut collector, &location, &file, 1);
    collector.finish()
}

fuzz_target!(|input: &[u8]| {
    let Some((&pick, data)) = input.split_first() else {
        return;
    };
    let name = NAMES[usize::from(pick) % NAMES.len()];
    let first = run(data, name);
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
    assert_eq!(first, run(data, name), "extraction is not deterministic");
});
