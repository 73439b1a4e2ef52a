//! Replies of a remote server: `ReplyParser` fed in arbitrary pieces, and
//! `Capabilities::from_ehlo` on every reply it parses.
//!
//! Input layout: byte 0 seeds the split points; the rest is what the server sends.
//!
//! Checked, besides "never panics":
//! - `push` never reports more bytes used than it was given; without a reply it used
//!   them all; with a reply the last byte used is the LF that ended it;
//! - every reply has a code from 200 to 599, 1 to `MAX_LINES` lines, an enhanced code (if
//!   any) of the reply's class, and its `Display` starts with the code;
//! - one piece and many pieces give the same replies and the same first error;
//! - capabilities: `esmtp` set, AUTH mechanisms non-empty, upper-case and unique, and
//!   `has_auth` finds each of them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mamori_smtp::outbound::caps::Capabilities;
use mamori_smtp::outbound::reply::{MAX_LINES, Reply, ReplyError, ReplyParser};

/// Feeds `pieces` in turn; returns the replies and the error that stopped the stream.
fn drive<'a>(pieces: impl Iterator<Item = &'a [u8]>) -> (Vec<Reply>, Option<ReplyError>) {
    let mut p = ReplyParser::new();
    let mut replies = Vec::new();
    for piece in pieces {
        let mut off = 0;
        loop {
            let rest = &piece[off..];
            match p.push(rest) {
                Ok((used, reply)) => {
                    assert!(used <= rest.len(), "used {used} of {} bytes", rest.len());
                    off += used;
                    match reply {
                        Some(r) => {
                            assert!(used > 0, "a reply out of no bytes");
                            assert_eq!(rest[used - 1], b'\n', "reply not ended by LF");
                            replies.push(r);
                            if off == piece.len() {
                                break;
                            }
                        }
                        None => {
                            assert_eq!(used, rest.len(), "bytes left over without a reply");
                            break;
                        }
                    }
                }
                Err(e) => return (replies, Some(e)),
            }
        }
    }
    (replies, None)
}

fn check_reply(r: &Reply) {
    assert!((200..600).contains(&r.code), "code {}", r.code);
    assert!(
        (1..=MAX_LINES).contains(&r.lines.len()),
        "{} lines",
        r.lines.len()
    );
    if let Some((class, _, _)) = r.enhanced {
        assert_eq!(u16::from(class), r.code / 100, "enhanced class of {r:?}");
    }
    let shown = r.to_string();
    assert!(shown.starts_with(&r.code.to_string()), "{shown:?}");
    let _ = r.message();
    let kinds = [
        r.is_completion(),
        r.is_positive() && !r.is_completion(),
        r.is_transient(),
        r.is_permanent(),
    ];
    assert_eq!(
        kinds.iter().filter(|&&k| k).count(),
        1,
        "classes of {}",
        r.code
    );

    let caps = Capabilities::from_ehlo(r);
    assert!(caps.esmtp);
    for (i, m) in caps.auth.iter().enumerate() {
        assert!(!m.is_empty(), "empty AUTH mechanism");
        assert_eq!(*m, m.to_ascii_uppercase(), "AUTH mechanism not upper-case");
        assert!(!caps.auth[..i].contains(m), "AUTH mechanism {m} twice");
        assert!(caps.has_auth(&m.to_ascii_lowercase()));
    }
}

fuzz_target!(|input: &[u8]| {
    let Some((&seed, stream)) = input.split_first() else {
        return;
    };

    let (whole, whole_err) = drive(std::iter::once(stream));
    for r in &whole {
        check_reply(r);
    }

    // Pieces of 1..=8 bytes (or 1..=64), from the seed.
    let mut state = u32::from(seed) | 0x100;
    let mask = if seed & 1 == 0 { 7 } else { 63 };
    let mut rest = stream;
    let pieces = std::iter::from_fn(|| {
        if rest.is_empty() {
            return None;
        }
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let n = ((state & mask) as usize + 1).min(rest.len());
        let (piece, tail) = rest.split_at(n);
        rest = tail;
        Some(piece)
    });
    let (split, split_err) = drive(pieces);
    assert_eq!(whole, split, "replies differ when fed in pieces");
    assert_eq!(whole_err, split_err, "error differs when fed in pieces");
});
