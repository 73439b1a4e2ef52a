//! The DLP MIME walk and inspection: any bytes as a message, under tight limits.
//!
//! Checked, besides "never panics" and libFuzzer's time and memory limits:
//! - the walk respects the limits it was given (decoded text, parts, depth);
//! - inspecting twice gives the same report (no hidden state), the second time with every
//!   encoded part decoded a piece at a time into a part store, as the relay does for large
//!   mail (`dlp::hold`);
//! - the inspection of the message while it arrives (in three pieces, split as the relay
//!   splits it: `mime::PartSplitter`, `Inspector::inspect_arriving`) gives the same report;
//! - no finding's masked excerpt shows more than six digits;
//! - the outline a rewrite uses (`mime::outline`) stays inside the message: each part's
//!   header before its content, parts in order and without overlap.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use mamori_dlp::content::{Collector, Limits};
use mamori_dlp::mime::{Arrived, Node, PartSplitter, outline};
use mamori_dlp::{Arrivals, Inspector, Octets, ScanConfig};

/// The message arriving in three pieces.
struct Feed<'d> {
    data: &'d [u8],
    splitter: PartSplitter,
    fed: usize,
    found: std::collections::VecDeque<Arrived>,
}

impl Arrivals for Feed<'_> {
    fn next(&mut self) -> Option<(Arrived, Octets)> {
        loop {
            if let Some(found) = self.found.pop_front() {
                let (Arrived::Head(range) | Arrived::Piece(_, range)) = &found;
                let bytes = self.data[range.start as usize..range.end as usize].to_vec();
                return Some((found, Box::new(bytes)));
            }
            if self.fed == self.data.len() {
                return None;
            }
            let cut = (self.fed + self.data.len() / 3 + 1).min(self.data.len());
            self.found.extend(self.splitter.feed(&self.data[self.fed..cut]));
            self.fed = cut;
        }
    }

    fn whole(&mut self) -> Option<Octets> {
        Some(Box::new(self.data.to_vec()))
    }
}

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

/// Checks a node of the outline of a message of `len` bytes that lies within `within`.
fn check(node: &Node, within: &std::ops::Range<usize>, len: usize) {
    match node {
        Node::Multipart { parts, .. } => {
            let mut end = within.start;
            for (range, part) in parts {
                assert!(
                    range.start >= end && range.end <= within.end,
                    "{range:?} in {within:?}"
                );
                end = range.end;
                check(part, range, len);
            }
        }
        Node::Body {
            header, content, ..
        }
        | Node::Attachment {
            header, content, ..
        } => {
            assert!(header.start <= header.end && header.end <= content.start);
            assert!(content.start <= content.end && content.end <= within.end.min(len));
            assert!(header.start >= within.start);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(outline) = outline(data) {
        assert!(outline.header.end <= data.len());
        check(&outline.root, &(0..data.len()), data.len());
    }
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
    let mut feed = Feed {
        data,
        splitter: PartSplitter::new(inspector.limits().max_parts),
        fed: 0,
        found: Default::default(),
    };
    let arrived = inspector.inspect_arriving(&mut feed, None);
    assert_eq!(
        arrived.map(|a| a.report).as_ref(),
        Some(&first),
        "walking the message while it arrives changes the report"
    );
    for f in &first.findings {
        let digits = f.masked.bytes().filter(u8::is_ascii_digit).count();
        assert!(digits <= 6, "mask shows {digits} digits: {}", f.masked);
    }
});
