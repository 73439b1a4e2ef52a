//! Finds, 32 bytes at a time, the characters that [`super::normalize_into`] cannot
//! simply copy.
//!
//! Most of a Japanese mail is ASCII, kana and kanji that normalisation leaves alone. Testing
//! them a character at a time (a table bit per kana) was the hot spot of the scan, so 32
//! bytes are classified at once, as two vectors of sixteen lanes. Each lane looks at its own
//! byte and the next two, so a three-byte character starting in the lane is judged there
//! even when it runs past the block.
//!
//! The classification is written lane by lane without branches ([`lane_mask`]) on fixed-size
//! arrays, which LLVM turns into SSE2 on x86_64 and NEON on aarch64 (about 30 vector
//! instructions per sixteen bytes; other targets get whatever LLVM makes of it, the same
//! code). It is not written with `core::arch` intrinsics: even the baseline ones (SSE2,
//! NEON) are `#[target_feature]` functions, which Rust 1.95 lets a function call without
//! `unsafe` only when that function carries the same `#[target_feature]` attribute itself
//! (the feature being on for the whole build does not count, nor can such a function become
//! a safe `fn` pointer), so the outermost call would need an `unsafe` block, which the
//! workspace denies.
//!
//! The classification is conservative: a lane is *flagged* when it starts a character that
//! may not be copyable as it is ([`lane_mask`]); the caller decides exactly for those.
//! An unflagged lane is either a continuation byte or the start of a character that is
//! copyable whatever precedes it: ASCII other than `\r`, a kanji (lead byte `0xE4..=0xE9`),
//! or one of the common kana and CJK punctuation (lead byte `0xE3`, a test checks each one
//! against the stable table). Continuation bytes never flag, so a flagged lane is always the
//! start of a character, and a block may start or end in the middle of one.

/// Bytes classified per block: two vectors, so that a block of text with nothing to do
/// costs one (often mispredicted) branch per 32 bytes rather than per 16.
pub(super) const LANES: usize = 32;

/// Bytes one vector classifies.
const VECTOR: usize = 16;

/// Bytes a block's classification reads: its own and the two after them (the rest of a
/// three-byte character that starts in the last lanes).
const WINDOW: usize = LANES + 2;

/// The flagged lanes of the block at `pos` of `bytes` (`pos` need not be a character
/// boundary), a bit per lane, lane 0 lowest. Lanes past the end of `bytes` are not flagged.
#[inline(always)]
pub(super) fn flagged(bytes: &[u8], pos: usize) -> u32 {
    if let Some(window) = bytes.get(pos..).and_then(<[u8]>::first_chunk::<WINDOW>) {
        return flagged_window(window);
    }
    // The end of the text: zero bytes (NUL, never flagged) after it.
    let mut window = [0u8; WINDOW];
    let tail = bytes.get(pos..).unwrap_or_default();
    if let Some(head) = window.get_mut(..tail.len()) {
        head.copy_from_slice(tail);
    }
    flagged_window(&window)
}

/// Bytes [`next_flagged`] steps by: two blocks, so that the branch on whether there is
/// anything to do (hard to predict in mixed text) is taken half as often.
pub(super) const SPAN: usize = 2 * LANES;

/// The first span of [`SPAN`] bytes at or after `pos`, in steps of [`SPAN`], with a flagged
/// lane: its start and its lanes (bit `i` for byte `i`, [`flagged`]); lanes 0 when there is
/// none. Most spans have none: this loop is kept apart and small so that its constants stay
/// in registers.
#[inline(never)]
pub(super) fn next_flagged(bytes: &[u8], mut pos: usize) -> (usize, u64) {
    while let Some(window) = bytes
        .get(pos..)
        .and_then(<[u8]>::first_chunk::<{ SPAN + 2 }>)
    {
        let (low, high) = (
            window.first_chunk::<WINDOW>(),
            window.last_chunk::<WINDOW>(),
        );
        if let (Some(low), Some(high)) = (low, high) {
            let lanes = u64::from(flagged_window(low)) | (u64::from(flagged_window(high)) << LANES);
            if lanes != 0 {
                return (pos, lanes);
            }
        }
        pos += SPAN;
    }
    while pos < bytes.len() {
        let lanes =
            u64::from(flagged(bytes, pos)) | (u64::from(flagged(bytes, pos + LANES)) << LANES);
        if lanes != 0 {
            return (pos, lanes);
        }
        pos += SPAN;
    }
    (pos, 0)
}

/// The lanes of a vector's flags (a byte per lane, `0xFF` if flagged, read as one `u128`)
/// as bits, lane 0 lowest: each byte's high bit gathered by a multiplication, eight lanes
/// at a time (LLVM makes no byte movemask of a portable loop). Only done for a block with
/// a flagged lane.
#[inline(always)]
fn lane_bits(mask: u128) -> u32 {
    /// The high bit of every byte.
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    /// Moves the high bit of byte `i` to bit `56 + i`, without carries.
    const GATHER: u64 = 0x0002_0408_1020_4081;
    let gather = |half: u64| ((half & HIGHS).wrapping_mul(GATHER) >> 56) as u32;
    gather(mask as u64) | (gather((mask >> 64) as u64) << 8)
}

/// Is the lane holding `a`, followed by `b` and `c`, flagged? The specification, written
/// plainly; the vectorised [`lane_mask`] must meet it exactly (the tests compare them).
///
/// Flagged: `\r`, and every lead byte of a multi-byte character except kanji (`0xE4..=0xE9`)
/// and these characters of lead byte `0xE3` (all stable):
/// - U+3001..=U+3029 (`、。「」【】〜` …; not U+3000, the ideographic space, nor the
///   combining marks and compatibility characters from U+302A);
/// - U+3040..=U+307F (hiragana);
/// - U+3080..=U+3098 and U+30A0..=U+30BF (hiragana, katakana; not the sound marks
///   U+3099..=U+309C, nor U+309D..=U+309F);
/// - U+30C0..=U+30FB (katakana; not `ー` U+30FC, copyable only away from digits, nor
///   U+30FD..=U+30FF).
#[cfg(test)]
fn lane_flagged(a: u8, b: u8, c: u8) -> bool {
    let common_kana = match b {
        0x80 => (0x81..=0xA9).contains(&c),
        0x81 => true,
        0x82 => !(0x99..=0x9F).contains(&c),
        0x83 => c <= 0xBB,
        _ => false,
    };
    match a {
        b'\r' => true,
        0xE3 => !common_kana,
        0xE4..=0xE9 => false,
        0xC0..=0xFF => true,
        _ => false,
    }
}

/// [`lane_flagged`] without branches, as `0xFF` (flagged) or `0`: what the vector code
/// computes in every lane.
#[inline(always)]
fn lane_mask(a: u8, b: u8, c: u8) -> u8 {
    // `0xFF` if `x`, else 0.
    let all = |x: bool| 0u8.wrapping_sub(u8::from(x));
    let common_kana = (all(b == 0x80) & all(c.wrapping_sub(0x81) <= 0xA9 - 0x81))
        | all(b == 0x81)
        | (all(b == 0x82) & !all(c.wrapping_sub(0x99) <= 0x9F - 0x99))
        | (all(b == 0x83) & all(c <= 0xBB));
    let copyable_lead = all(a.wrapping_sub(0xE4) <= 0xE9 - 0xE4) | (all(a == 0xE3) & common_kana);
    all(a == b'\r') | (all(a >= 0xC0) & !copyable_lead)
}

/// The flags of the vector at `start` of `window`: [`lane_mask`] in every lane, over three
/// fixed-size arrays (the window from `start`, `start + 1` and `start + 2`) so that LLVM
/// vectorises it; a byte per lane, read as one `u128`.
#[inline(always)]
fn vector_flags(window: &[u8; WINDOW], start: usize) -> u128 {
    let lanes = |skip: usize| {
        window
            .get(start + skip..)
            .and_then(<[u8]>::first_chunk::<VECTOR>)
            .copied()
            .unwrap_or_default()
    };
    let (a, b, c) = (lanes(0), lanes(1), lanes(2));
    let mut flags = [0u8; VECTOR];
    for (((flag, &a), &b), &c) in flags.iter_mut().zip(&a).zip(&b).zip(&c) {
        *flag = lane_mask(a, b, c);
    }
    u128::from_le_bytes(flags)
}

/// [`flagged`] of a whole window.
#[inline(always)]
fn flagged_window(window: &[u8; WINDOW]) -> u32 {
    let low = vector_flags(window, 0);
    let high = vector_flags(window, VECTOR);
    if low | high == 0 {
        return 0;
    }
    lane_bits(low) | (lane_bits(high) << VECTOR)
}

/// [`flagged`] of a whole window, a lane at a time with [`lane_flagged`]: the reference the
/// vectorised [`flagged_window`] is tested against.
#[cfg(test)]
fn flagged_portable(window: &[u8; WINDOW]) -> u32 {
    let mut mask = 0;
    for (lane, triple) in window.windows(3).take(LANES).enumerate() {
        if let &[a, b, c] = triple
            && lane_flagged(a, b, c)
        {
            mask |= 1 << lane;
        }
    }
    mask
}

#[cfg(test)]
mod tests {
    use super::super::{STABLE, copyable_at, is_stable};
    use super::*;

    /// `window` with the triple `a b c` at `lane` and `fill` elsewhere.
    fn window_with(fill: u8, lane: usize, triple: [u8; 3]) -> [u8; WINDOW] {
        let mut window = [fill; WINDOW];
        window[lane..lane + 3].copy_from_slice(&triple);
        window
    }

    #[test]
    fn the_vectorised_classification_equals_the_plain_one_on_every_e3_triple() {
        for b in 0..=255u8 {
            for c in 0..=255u8 {
                // Every lane, the first and last of each vector especially.
                let lane = (usize::from(b) + usize::from(c)) % LANES;
                for lane in [lane, 0, VECTOR - 1, VECTOR, LANES - 1] {
                    let fill = [b'a', 0x80, 0xE3][(usize::from(b) + lane) % 3];
                    let window = window_with(fill, lane, [0xE3, b, c]);
                    assert_eq!(
                        flagged_window(&window),
                        flagged_portable(&window),
                        "{window:x?}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_plain_classification_follows_lane_flagged() {
        let window: [u8; WINDOW] = std::array::from_fn(|i| [b'\r', 0xE3, 0x80, 0xA9][i % 4]);
        let bits = flagged_portable(&window);
        for lane in 0..LANES {
            assert_eq!(
                bits >> lane & 1 != 0,
                lane_flagged(window[lane], window[lane + 1], window[lane + 2]),
                "{lane}"
            );
        }
    }

    #[test]
    fn an_unflagged_character_is_copyable_after_anything() {
        for cp in 0..=0x10FFFFu32 {
            let Some(ch) = char::from_u32(cp) else {
                continue;
            };
            let mut text = ch.to_string().into_bytes();
            // What follows an ASCII or two-byte character must not matter.
            text.extend_from_slice("ア".as_bytes());
            let &[a, b, c, ..] = text.as_slice() else {
                unreachable!()
            };
            if !lane_flagged(a, b, c) {
                for previous_plain in [false, true] {
                    assert!(
                        copyable_at(&STABLE, &text, previous_plain).is_some(),
                        "{cp:#x}"
                    );
                }
            }
        }
    }

    #[test]
    fn common_kana_kanji_and_punctuation_are_not_flagged() {
        let common = ('\u{3041}'..='\u{3096}')
            .chain('\u{30A1}'..='\u{30FA}')
            .chain('\u{4000}'..='\u{9FFF}')
            .chain("、。「」『』【】〜〒々".chars());
        for ch in common {
            assert!(is_stable(u32::from(ch)), "{ch:?}");
            let text = ch.to_string();
            let &[a, b, c] = text.as_bytes() else {
                unreachable!()
            };
            assert!(!lane_flagged(a, b, c), "{ch:?}");
        }
        for ch in "\r　ー゛゜\u{3099}\u{309A}ヿ１（ｶ".chars() {
            let mut text = ch.to_string().into_bytes();
            text.resize(3, b'a');
            assert!(lane_flagged(text[0], text[1], text[2]), "{ch:?}");
        }
    }

    #[test]
    fn continuation_bytes_never_flag() {
        for a in 0x80..=0xBFu8 {
            for b in 0..=255u8 {
                assert!(!lane_flagged(a, b, b), "{a:#x}");
            }
        }
    }

    #[test]
    fn the_end_of_the_text_is_not_flagged() {
        let text = "ア\r".as_bytes();
        for pos in 0..=text.len() {
            let bits = flagged(text, pos);
            for lane in 0..LANES {
                let expected = text.get(pos + lane) == Some(&b'\r');
                assert_eq!(bits >> lane & 1 != 0, expected, "{pos} {lane}");
            }
        }
    }

    #[test]
    fn lane_bits_gathers_every_lane() {
        for lane in 0..VECTOR {
            assert_eq!(lane_bits(0xFF << (lane * 8)), 1 << lane);
        }
        assert_eq!(lane_bits(u128::MAX), 0xFFFF);
        assert_eq!(lane_bits(0), 0);
    }

    /// [`next_flagged`] the slow way: [`flagged`] block after block.
    fn next_flagged_by_blocks(bytes: &[u8], mut pos: usize) -> (usize, u64) {
        while pos < bytes.len() {
            let lanes =
                u64::from(flagged(bytes, pos)) | u64::from(flagged(bytes, pos + LANES)) << LANES;
            if lanes != 0 {
                return (pos, lanes);
            }
            pos += SPAN;
        }
        (pos, 0)
    }

    proptest::proptest! {
        /// The span search finds the same span and lanes as classifying block by block, with
        /// the flagged character anywhere: inside a span, across the two blocks of one, in
        /// the last bytes before the end (where the whole-window loop gives way to the tail).
        #[test]
        fn next_flagged_finds_the_first_span_with_a_flagged_lane(
            before in 0..=3 * SPAN,
            after in 0..=SPAN + 3,
            flagged_char in proptest::sample::select(vec!["", "\r", "１", "ｶ", "ー", "é", "😀"]),
            from in 0..=2 * SPAN,
        ) {
            let text = "a".repeat(before) + flagged_char + &"ア".repeat(after / 3) + &"b".repeat(after % 3);
            let bytes = text.as_bytes();
            let from = from.min(bytes.len());
            proptest::prop_assert_eq!(next_flagged(bytes, from), next_flagged_by_blocks(bytes, from));
        }

        #[test]
        fn the_vectorised_classification_equals_the_plain_one_on_any_window(
            window in proptest::collection::vec(proptest::prop_oneof![
                proptest::num::u8::ANY,
                proptest::sample::select(
                    vec![b'\r', b'1', b'a', 0x80, 0x81, 0x82, 0x83, 0x99, 0x9F, 0xA9, 0xAA,
                         0xBB, 0xBC, 0xBF, 0xC3, 0xE3, 0xE4, 0xE9, 0xEA, 0xEF, 0xF0]
                ),
            ], WINDOW)
        ) {
            let window: [u8; WINDOW] = window.try_into().unwrap();
            proptest::prop_assert_eq!(flagged_window(&window), flagged_portable(&window));
        }
    }
}
