//! `DataReceiver`: the strict DATA phase (end only at CRLF . CRLF, dot-unstuffing, bare
//! CR/LF, line and size limits), fed in arbitrary pieces.
//!
//! Input layout: byte 0 picks `max_size`, byte 1 picks `max_line`, bytes 2..4 seed the
//! split points; the rest is what the client sends after `354`.
//!
//! Checked, besides "never panics":
//! - the output never exceeds `max_size`;
//! - the end of data is exactly at the first `.\r\n` that starts the input or follows a
//!   `\r\n` (so never later than the first `\r\n.\r\n`, and never at `\n.\n`, `\r.\r\n`...);
//! - one piece and many pieces give the same end, output and verdict, and nothing is
//!   taken after the end;
//! - output and verdict match a simple model: the content up to the end, dot-unstuffed,
//!   truncated to `max_size`; accepted iff it fits, every CR/LF is a CRLF pair and no
//!   line is longer than `max_line`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mamori_smtp::inbound::data::{DataReceiver, DataViolation};

struct Outcome {
    end: Option<usize>,
    out: Vec<u8>,
    verdict: Result<u64, DataViolation>,
}

fn max_size(b: u8) -> u64 {
    let low = u64::from(b & 0x3f);
    match b >> 6 {
        0 => low,
        1 => low * 16,
        2 => 1 << 20,
        _ => u64::MAX,
    }
}

fn max_line(b: u8) -> usize {
    let low = usize::from(b & 0x3f);
    match b >> 6 {
        0 => low,
        1 => 78 + low,
        2 => 998,
        _ => usize::MAX,
    }
}

/// Tiny deterministic generator for the split points.
struct XorShift(u32);

impl XorShift {
    fn next(&mut self) -> u32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.0 = x;
        x
    }
}

fn feed_whole(data: &[u8], size: u64, line: usize) -> Outcome {
    let mut r = DataReceiver::new(size, line);
    let mut out = Vec::new();
    let end = r.feed(data, &mut out);
    if let Some(n) = end {
        assert!(n <= data.len(), "end {n} beyond input of {}", data.len());
    }
    Outcome {
        end,
        out,
        verdict: r.finish(),
    }
}

fn feed_pieces(data: &[u8], size: u64, line: usize, seed: u16) -> Outcome {
    let mut rng = XorShift(u32::from(seed) | 0x1_0000);
    // Piece lengths up to 1, 3, 15 or 63: many tiny pieces, or a few larger ones.
    let mask = [1u32, 3, 15, 63][usize::from(seed & 3)];
    let mut r = DataReceiver::new(size, line);
    let mut out = Vec::new();
    let mut off = 0;
    let mut end = None;
    while off <= data.len() {
        // Empty pieces included: they must change nothing.
        let len = (rng.next() & mask) as usize;
        let piece = &data[off..(off + len).min(data.len())];
        match r.feed(piece, &mut out) {
            Some(n) => {
                assert!(n <= piece.len(), "end {n} beyond piece of {}", piece.len());
                end = Some(off + n);
                break;
            }
            None => off += piece.len(),
        }
        if off == data.len() {
            break;
        }
    }
    if end.is_some() {
        // After the end, every further piece belongs to the next command.
        let before = out.len();
        assert_eq!(r.feed(b"MAIL FROM:<x@y>\r\n", &mut out), Some(0));
        assert_eq!(r.feed(b"", &mut out), Some(0));
        assert_eq!(out.len(), before, "output grew after the end of data");
    }
    Outcome {
        end,
        out,
        verdict: r.finish(),
    }
}

/// Where the data must end: right after the first `.\r\n` at a line start.
fn expected_end(data: &[u8]) -> Option<usize> {
    if data.starts_with(b".\r\n") {
        return Some(3);
    }
    data.windows(5)
        .position(|w| w == b"\r\n.\r\n")
        .map(|p| p + 5)
}

/// Removes the dot at the start of each line (after a CRLF or at the very start).
fn unstuff(content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len());
    for (i, &b) in content.iter().enumerate() {
        let line_start = i == 0 || (i >= 2 && &content[i - 2..i] == b"\r\n");
        if b == b'.' && line_start {
            continue;
        }
        out.push(b);
    }
    out
}

/// Every CR is followed by LF and every LF preceded by CR.
fn crlf_only(s: &[u8]) -> bool {
    s.iter().enumerate().all(|(i, &b)| match b {
        b'\r' => s.get(i + 1) == Some(&b'\n'),
        b'\n' => i > 0 && s[i - 1] == b'\r',
        _ => true,
    })
}

fn longest_line(s: &[u8]) -> usize {
    let mut longest = 0;
    let mut start = 0;
    for i in 0..=s.len() {
        if i == s.len() || s[i..].starts_with(b"\r\n") {
            longest = longest.max(i - start);
            start = i + 2;
        }
    }
    longest
}

fuzz_target!(|input: &[u8]| {
    if input.len() < 4 {
        return;
    }
    let size = max_size(input[0]);
    let line = max_line(input[1]);
    let seed = u16::from_le_bytes([input[2], input[3]]);
    let data = &input[4..];

    let whole = feed_whole(data, size, line);
    let pieces = feed_pieces(data, size, line, seed);

    for o in [&whole, &pieces] {
        assert!(
            o.out.len() as u64 <= size,
            "output of {} bytes over max_size {size}",
            o.out.len()
        );
    }
    assert_eq!(whole.end, pieces.end, "end differs when fed in pieces");
    assert_eq!(whole.out, pieces.out, "output differs when fed in pieces");
    if whole.end.is_some() {
        assert_eq!(
            whole.verdict, pieces.verdict,
            "verdict differs when fed in pieces"
        );
    }
    if let Err(v) = whole.verdict {
        let reply = v.reply(size, line);
        assert!(reply.code >= 500, "{v:?} answered with {reply:?}");
    }

    // The end: never past the first CRLF . CRLF, and only ever at one.
    let expected = expected_end(data);
    if let (Some(first), Some(end)) = (expected, whole.end) {
        assert!(
            end <= first,
            "data went on past CRLF.CRLF (end {end}, expected {first})"
        );
    }
    if let Some(end) = whole.end {
        let at_start = end == 3 && data.starts_with(b".\r\n");
        let after_crlf = end >= 5 && &data[end - 5..end] == b"\r\n.\r\n";
        assert!(
            at_start || after_crlf,
            "data ended at {end}, not after a CRLF.CRLF"
        );
    }
    assert_eq!(whole.end, expected, "end of data");

    // Output and verdict against the model.
    let content = match whole.end {
        Some(end) => &data[..end - 3],
        None => data,
    };
    let unstuffed = unstuff(content);
    let kept = &unstuffed[..unstuffed
        .len()
        .min(usize::try_from(size).unwrap_or(usize::MAX))];
    match whole.end {
        Some(_) => {
            assert_eq!(whole.out, kept, "unstuffed output");
            let fits = unstuffed.len() as u64 <= size;
            let clean = crlf_only(&unstuffed);
            let ok = fits && clean && longest_line(&unstuffed) <= line;
            assert_eq!(
                whole.verdict.is_ok(),
                ok,
                "verdict {:?} (fits {fits}, CRLF only {clean}, max_line {line})",
                whole.verdict
            );
            if let Ok(n) = whole.verdict {
                assert_eq!(n, unstuffed.len() as u64, "reported size");
            }
            if !fits {
                assert!(whole.verdict.is_err(), "oversize message accepted");
            }
        }
        None => {
            // Not ended: a trailing ".\r" at a line start may still be pending.
            assert!(
                kept.starts_with(&whole.out),
                "output is not a prefix of the model"
            );
            assert!(kept.len() - whole.out.len() <= 1, "output lags the input");
        }
    }
});
