//! What the DLP extraction targets share: tight limits, one file walked, and the checks
//! every extraction must pass.

use mamori_dlp::content::{Collector, Extraction, Limits, Location};
use mamori_dlp::extract::{FileRef, extract_file};

/// Tight limits, so that bombs and deep nesting are reached quickly.
pub fn limits() -> Limits {
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

/// The extraction of `data` as the attachment `name`.
pub fn extract(data: &[u8], name: &str) -> Extraction {
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

/// Checks an extraction of `data` as `name`: the text within the limit, nesting within the
/// depth limit, and the same extraction a second time.
pub fn check(data: &[u8], name: &str) {
    let first = extract(data, name);
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
    assert_eq!(
        first,
        extract(data, name),
        "extraction is not deterministic"
    );
}
