//! The DLP MIME walk and inspection: any bytes as a message, under tight limits.
//!
//! Checked, besides "never panics" and libFuzzer's time and memory limits:
//! - the walk respects the limits it was given (decoded text, parts, depth);
//! - inspecting twice gives the same report (no hidden state), the second time with every
//!   encoded part decoded a piece at a time into a part store, as the relay does for large
//!   mail (`dlp::hold`);
//! - no finding's masked excerpt shows more than six digits.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use mamori_dlp::content::{Collector, Limits};
use mamori_dlp::{Inspector, ScanConfig};

fn limits() -> Limits {
    Limits {
        max_depth: 6,
        max_parts: 64,
        max_text_bytes: 256 * 1024,
        max_entry_bytes: 1 << 20,
        max_expanded_bytes: 4 << 20,
        max_ratio: 100,
        max_scan_time: std::time::Duration::from_secs(10),
    }
}

fuzz_target!(|data: &[u8]| {
    let limits = limits();
    let mut collector = Collector::new(&limits);
    mamori_dlp::mime::walk_message(data, &mut collector);
    let out = collector.finish();
    let text: usize = out.segments.iter().map(|s| s.text.len()).sum();
    assert!(text <= limits.max_text_bytes, "{text} bytes of text");
    for s in &out.segments {
        assert!(
            s.location.depth() <= limits.max_depth + 4,
            "segment at depth {}: {}",
            s.location.depth(),
            s.location
        );
    }

    static INSPECTOR: OnceLock<Inspector> = OnceLock::new();
    let inspector = INSPECTOR.get_or_init(|| {
        Inspector::new(&ScanConfig::default(), limits).unwrap_or_else(|e| panic!("{e}"))
    });
    let first = inspector.inspect_message(data);
    let mut store = mamori_dlp::hold::MemoryStore::default();
    let second = inspector.inspect_message_holding(data, &mut store);
    assert_eq!(first, second, "a part store changes the report");
    for f in &first.findings {
        let digits = f.masked.bytes().filter(u8::is_ascii_digit).count();
        assert!(digits <= 6, "mask shows {digits} digits: {}", f.masked);
    }
});
