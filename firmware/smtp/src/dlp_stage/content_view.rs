//! What an approver sees of a held message before deciding: the text DLP read (header
//! fields, bodies, file names, the text of attachments), in the order met and bounded, so
//! that a view costs little and a hostile message cannot make the page huge. Pure: the
//! caller reads the spooled content and audits the view.

use mamori_dlp::content::Collector;
use mamori_dlp::{Limits, SegmentKind};
use serde::{Deserialize, Serialize};

/// The most text a view carries in all (the rest is cut, and the view says so).
pub const MAX_VIEW_BYTES: usize = 256 * 1024;
/// The most text one piece carries.
pub const MAX_PIECE_BYTES: usize = 32 * 1024;
/// The most pieces a view lists.
pub const MAX_PIECES: usize = 200;

/// One piece of the message's text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Piece {
    /// Where it is (`body 1`, `attachment 2 "名簿.zip" › entry "a.csv"` …).
    pub location: String,
    /// Header, body, file name or attachment text.
    pub kind: SegmentKind,
    /// The text (cut at [`MAX_PIECE_BYTES`] on a character boundary).
    pub text: String,
    /// The text was cut.
    pub cut: bool,
}

/// A held message's content as DLP read it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContentView {
    /// The pieces, in the order met; the same text at the same place once.
    pub pieces: Vec<Piece>,
    /// Some text was left out (too much in all, or too many pieces).
    pub cut: bool,
    /// What could not be read (encrypted attachments, limits …), one line each.
    pub problems: Vec<String>,
}

/// Reads `raw` (an RFC 5322 message) for an approver.
pub fn content_view(raw: &[u8]) -> ContentView {
    let limits = Limits {
        max_text_bytes: MAX_VIEW_BYTES * 4,
        max_parts: MAX_PIECES * 2,
        max_scan_time: std::time::Duration::from_secs(10),
        ..Limits::default()
    };
    let deadline = std::time::Instant::now() + limits.max_scan_time;
    let mut collector = Collector::with_deadline(&limits, deadline);
    mamori_dlp::mime::walk_message(raw, &mut collector);
    let extraction = collector.finish();
    let mut view = ContentView::default();
    let mut seen = std::collections::HashSet::new();
    let mut total = 0usize;
    for segment in extraction.segments {
        let location = segment.location.to_string();
        if segment.text.trim().is_empty()
            || !seen.insert(mamori_core::audit::hex_sha256(
                format!("{location}\0{}", segment.text).as_bytes(),
            ))
        {
            continue;
        }
        if view.pieces.len() >= MAX_PIECES || total >= MAX_VIEW_BYTES {
            view.cut = true;
            break;
        }
        let room = MAX_PIECE_BYTES.min(MAX_VIEW_BYTES - total);
        let (text, cut) = cut_at(&segment.text, room);
        total += text.len();
        view.cut |= cut;
        view.pieces.push(Piece {
            location,
            kind: segment.kind,
            text: text.to_string(),
            cut,
        });
    }
    view.problems = extraction
        .problems
        .iter()
        .map(|p| format!("{} at {}: {}", p.kind, p.location, p.detail))
        .collect();
    view
}

/// The first `max` bytes of `text` at most, on a character boundary, and whether it was cut.
fn cut_at(text: &str, max: usize) -> (&str, bool) {
    if text.len() <= max {
        return (text, false);
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    (&text[..end], true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_is_shown_as_its_readable_text_with_places() {
        let raw = "From: =?UTF-8?B?55Sw5Lit?= <tanaka@office.test>\r\nTo: a@b.test\r\nSubject: =?UTF-8?B?5ZCN57C/?=\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n本文です。\r\n--b\r\nContent-Type: text/csv; name=list.csv\r\nContent-Disposition: attachment; filename=list.csv\r\n\r\nname,number\r\n--b--\r\n";
        let v = content_view(raw.as_bytes());
        assert!(!v.cut);
        let find = |kind: SegmentKind, text: &str| {
            v.pieces
                .iter()
                .any(|p| p.kind == kind && p.text.contains(text))
        };
        assert!(find(SegmentKind::Header, "名簿"), "{v:?}");
        assert!(find(SegmentKind::Header, "田中"), "{v:?}");
        assert!(find(SegmentKind::Body, "本文です"), "{v:?}");
        assert!(find(SegmentKind::FileName, "list.csv"), "{v:?}");
        assert!(find(SegmentKind::Attachment, "name,number"), "{v:?}");
        let body = v.pieces.iter().find(|p| p.kind == SegmentKind::Body);
        assert_eq!(body.map(|p| p.location.as_str()), Some("body 1"));
    }

    #[test]
    fn a_huge_message_is_cut_on_a_character_boundary_and_says_so() {
        let line = "あいうえお".repeat(20_000);
        let raw =
            format!("Subject: big\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{line}\r\n");
        let v = content_view(raw.as_bytes());
        assert!(v.cut);
        let total: usize = v.pieces.iter().map(|p| p.text.len()).sum();
        assert!(total <= MAX_VIEW_BYTES);
        assert!(v.pieces.iter().all(|p| p.text.len() <= MAX_PIECE_BYTES));
        assert!(v.pieces.iter().any(|p| p.cut));
    }

    #[test]
    fn many_parts_are_capped() {
        let mut raw = String::from("Content-Type: multipart/mixed; boundary=b\r\n\r\n");
        for i in 0..600 {
            raw.push_str(&format!(
                "--b\r\nContent-Type: text/plain\r\n\r\npart number {i}\r\n"
            ));
        }
        raw.push_str("--b--\r\n");
        let v = content_view(raw.as_bytes());
        assert!(v.pieces.len() <= MAX_PIECES);
        assert!(v.cut || !v.problems.is_empty(), "{v:?}");
    }

    #[test]
    fn garbage_is_shown_as_what_it_is_without_panicking() {
        for raw in [
            &b""[..],
            b"\xff\xfe\x00",
            b"Content-Type: multipart/mixed\r\n\r\n--",
        ] {
            let _ = content_view(raw);
        }
    }
}
