//! Content-Transfer-Encoding: undoing base64 and quoted-printable the lenient way mail
//! clients do (garbage skipped, padding optional), 7bit/8bit/binary as they are, and
//! uuencode for the old mailers that label a part `x-uuencode`.

use super::uuencode;

/// A part's transfer encoding, from its `Content-Transfer-Encoding` value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum TransferEncoding {
    /// 7bit, 8bit, binary, or no header: the bytes are the content.
    Identity,
    /// base64 (RFC 2045 §6.8).
    Base64,
    /// quoted-printable (RFC 2045 §6.7).
    QuotedPrintable,
    /// `x-uuencode` and its aliases.
    Uuencode,
    /// A label nobody knows (lower case, trimmed): the bytes are taken as they are.
    Unknown(String),
}

impl TransferEncoding {
    /// Parses a header value; `None` (no header) is identity.
    pub(super) fn parse(value: Option<&[u8]>) -> Self {
        let Some(value) = value else {
            return Self::Identity;
        };
        let text = String::from_utf8_lossy(value);
        // Drop a trailing comment or parameter some mailers add (`base64 (x)`, `base64;`).
        let label = text
            .split(['(', ';'])
            .next()
            .unwrap_or_default()
            .trim()
            .trim_matches('"')
            .trim()
            .to_ascii_lowercase();
        match label.as_str() {
            "" | "7bit" | "8bit" | "binary" | "7-bit" | "8-bit" => Self::Identity,
            "base64" => Self::Base64,
            "quoted-printable" => Self::QuotedPrintable,
            "x-uuencode" | "uuencode" | "x-uue" | "uue" => Self::Uuencode,
            _ => Self::Unknown(label.chars().take(40).collect()),
        }
    }

    /// Is this a real encoding (one that changes the bytes)?
    pub(super) fn is_encoding(&self) -> bool {
        matches!(self, Self::Base64 | Self::QuotedPrintable | Self::Uuencode)
    }
}

/// Undoes `encoding` on `bytes`. Unknown encodings give the bytes back unchanged.
pub(super) fn decode<'a>(bytes: &'a [u8], encoding: &TransferEncoding) -> Decoded<'a> {
    match encoding {
        TransferEncoding::Identity | TransferEncoding::Unknown(_) => Decoded::Borrowed(bytes),
        TransferEncoding::Base64 => Decoded::Owned(base64(bytes)),
        TransferEncoding::QuotedPrintable => Decoded::Owned(quoted_printable(bytes)),
        TransferEncoding::Uuencode => Decoded::Owned(uuencode::decode_part(bytes)),
    }
}

/// A body with its transfer encoding undone: the body itself, decoded bytes in memory, or
/// decoded bytes kept in the walk's [`crate::hold::PartStore`].
pub(crate) enum Decoded<'a> {
    /// Nothing to undo.
    Borrowed(&'a [u8]),
    /// Decoded into memory.
    Owned(Vec<u8>),
    /// Decoded into the part store.
    Held(crate::hold::HeldBytes),
}

impl std::ops::Deref for Decoded<'_> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Self::Borrowed(bytes) => bytes,
            Self::Owned(bytes) => bytes,
            Self::Held(bytes) => bytes,
        }
    }
}

/// Decodes `bytes` into `sink` a piece at a time (about `window` encoded octets each), with
/// exactly the output [`decode`] gives, so that a large part never needs its whole decoded
/// form in memory. False if the sink refused a piece (it is then not called again).
pub(super) fn decode_into(
    bytes: &[u8],
    encoding: &TransferEncoding,
    window: usize,
    sink: &mut dyn FnMut(&[u8]) -> bool,
) -> bool {
    let mut pieces = Pieces::new(bytes, encoding.clone(), window);
    while let Some(piece) = pieces.next_piece() {
        if !sink(piece) {
            return false;
        }
    }
    true
}

/// A part's content decoded a piece at a time: what [`decode_into`] and
/// [`DecodingReader`] share, so that both give exactly what [`decode`] gives.
pub(super) struct Pieces<'a> {
    bytes: &'a [u8],
    encoding: TransferEncoding,
    window: usize,
    /// Encoded octets used so far.
    start: usize,
    base64: Base64State,
    /// The last piece decoded.
    out: Vec<u8>,
    done: bool,
}

impl<'a> Pieces<'a> {
    pub(super) fn new(bytes: &'a [u8], encoding: TransferEncoding, window: usize) -> Self {
        let window = window.max(1);
        Self {
            bytes,
            encoding,
            window,
            start: 0,
            base64: Base64State::default(),
            out: Vec::with_capacity(window.min(bytes.len()) + 3),
            done: false,
        }
    }

    /// The next piece of decoded content (possibly empty), or `None` at the end.
    pub(super) fn next_piece(&mut self) -> Option<&[u8]> {
        if self.done {
            return None;
        }
        self.out.clear();
        let rest = self.bytes.get(self.start..).unwrap_or_default();
        match &self.encoding {
            TransferEncoding::Identity | TransferEncoding::Unknown(_) => {
                if rest.is_empty() {
                    self.done = true;
                    return None;
                }
                let take = rest.len().min(self.window);
                self.start += take;
                return rest.get(..take);
            }
            TransferEncoding::Uuencode => {
                self.done = true;
                self.out = uuencode::decode_part(self.bytes);
            }
            TransferEncoding::Base64 => {
                if rest.is_empty() {
                    self.done = true;
                    base64_flush(self.base64.acc, self.base64.count, &mut self.out);
                    if self.out.is_empty() {
                        return None;
                    }
                } else {
                    let take = rest.len().min(self.window);
                    base64_feed(&rest[..take], &mut self.base64, &mut self.out);
                    self.start += take;
                }
            }
            TransferEncoding::QuotedPrintable => {
                let mut reach = self.window;
                loop {
                    let rest = self.bytes.get(self.start..).unwrap_or_default();
                    if rest.is_empty() {
                        self.done = true;
                        return None;
                    }
                    let end = reach.min(rest.len());
                    let last = end == rest.len();
                    let used = quoted_printable_feed(&rest[..end], last, &mut self.out);
                    if used == 0 && !last {
                        // An `=` whose meaning the next octets decide: look further.
                        reach = reach.saturating_mul(2);
                        continue;
                    }
                    self.start += used;
                    if !self.out.is_empty() || self.start >= self.bytes.len() {
                        break;
                    }
                }
            }
        }
        Some(&self.out)
    }
}

/// A part's content decoded as it is read ([`std::io::Read`]): what the relay's attachment
/// encryption packs, streamed from the spooled message, never a decoded copy in memory.
pub struct DecodingReader<'a> {
    pieces: Pieces<'a>,
    /// Decoded octets not yet read, and where the unread ones start.
    pending: Vec<u8>,
    at: usize,
}

impl<'a> DecodingReader<'a> {
    pub(super) fn new(bytes: &'a [u8], encoding: TransferEncoding) -> Self {
        Self {
            pieces: Pieces::new(bytes, encoding, READER_WINDOW),
            pending: Vec::new(),
            at: 0,
        }
    }
}

/// Encoded octets a [`DecodingReader`] decodes at a time.
const READER_WINDOW: usize = 64 * 1024;

impl std::io::Read for DecodingReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.at >= self.pending.len() {
            let Some(piece) = self.pieces.next_piece() else {
                return Ok(0);
            };
            self.pending.clear();
            self.pending.extend_from_slice(piece);
            self.at = 0;
        }
        let unread = self.pending.get(self.at..).unwrap_or_default();
        let n = unread.len().min(buf.len());
        buf[..n].copy_from_slice(&unread[..n]);
        self.at += n;
        Ok(n)
    }
}

/// The value of a base64 alphabet byte, or `None` for anything else.
fn base64_value(byte: u8) -> Option<u32> {
    let value = match byte {
        b'A'..=b'Z' => byte - b'A',
        b'a'..=b'z' => byte - b'a' + 26,
        b'0'..=b'9' => byte - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    };
    Some(u32::from(value))
}

/// Each octet's base64 value, or [`NOT_BASE64`] (`=` included).
const BASE64_VALUES: [u8; 256] = {
    let mut table = [NOT_BASE64; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        table[i] = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => NOT_BASE64,
        };
        i += 1;
    }
    table
};

/// Marks an octet outside the base64 alphabet in [`BASE64_VALUES`].
const NOT_BASE64: u8 = 0xFF;

/// Set in a [`SEXTETS`] entry of an octet outside the alphabet (above the 24 bits a
/// quantum decodes to).
const NOT_IN_QUANTUM: u32 = 1 << 24;

/// Each octet's base64 value already shifted to its place in a quantum of four (first,
/// second, third, fourth), or [`NOT_IN_QUANTUM`]: a quantum is four lookups joined with
/// OR, and one test of the joined value says whether all four were in the alphabet.
static SEXTETS: [[u32; 256]; 4] = [sextets_at(18), sextets_at(12), sextets_at(6), sextets_at(0)];

/// [`SEXTETS`] for one place in the quantum.
const fn sextets_at(shift: u32) -> [u32; 256] {
    let mut table = [NOT_IN_QUANTUM; 256];
    let mut i = 0;
    while i < 256 {
        let value = BASE64_VALUES[i];
        if value != NOT_BASE64 {
            table[i] = (value as u32) << shift;
        }
        i += 1;
    }
    table
}

/// The 24 bits of a quantum of four octets, with [`NOT_IN_QUANTUM`] set when one of them
/// is outside the alphabet.
#[inline(always)]
fn quantum([a, b, c, d]: [u8; 4]) -> u32 {
    let [t0, t1, t2, t3] = &SEXTETS;
    t0[usize::from(a)] | t1[usize::from(b)] | t2[usize::from(c)] | t3[usize::from(d)]
}

/// Lenient base64: bytes outside the alphabet are skipped, missing padding is tolerated,
/// and `=` ends a quantum so that several concatenated base64 blobs all decode.
/// Whole quanta of four alphabet octets (most of a well-formed body: a line is 19 of them)
/// are decoded at once; anything else goes octet by octet.
pub(super) fn base64(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3 + 3);
    let mut state = Base64State::default();
    base64_feed(bytes, &mut state, &mut out);
    base64_flush(state.acc, state.count, &mut out);
    out
}

/// The quantum [`base64_feed`] carries from one piece of input to the next.
#[derive(Default)]
struct Base64State {
    acc: u32,
    count: u8,
}

/// Decodes one piece of base64 input, continuing the quantum in `state`.
///
/// Between quanta, two quanta of alphabet octets in a row are decoded at once into six
/// bytes (a line of 76 is nine such and one quantum), then a single quantum, each through
/// [`SEXTETS`]; what is left goes octet by octet. Twice as fast as shifting each octet's
/// value in, on MIME lines.
fn base64_feed(bytes: &[u8], state: &mut Base64State, out: &mut Vec<u8>) {
    let Base64State { acc, count } = state;
    out.reserve(bytes.len() / 4 * 3 + 3);
    let mut i = 0;
    while i < bytes.len() {
        if *count == 0 {
            while let Some(&[a, b, c, d, e, f, g, h]) = bytes.get(i..i + 8) {
                let (first, second) = (quantum([a, b, c, d]), quantum([e, f, g, h]));
                if (first | second) & NOT_IN_QUANTUM != 0 {
                    break;
                }
                let six = (u64::from(first) << 24) | u64::from(second);
                out.extend_from_slice(six.to_be_bytes().get(2..).unwrap_or_default());
                i += 8;
            }
            while let Some(&[a, b, c, d]) = bytes.get(i..i + 4) {
                let n = quantum([a, b, c, d]);
                if n & NOT_IN_QUANTUM != 0 {
                    break;
                }
                out.extend_from_slice(n.to_be_bytes().get(1..).unwrap_or_default());
                i += 4;
            }
        }
        let Some(&byte) = bytes.get(i) else { break };
        i += 1;
        *count = base64_octet(byte, acc, *count, out);
    }
}

/// The end of a quantum: 2 sextets give 1 byte, 3 give 2; a lone sextet carries no whole
/// byte.
fn base64_flush(acc: u32, count: u8, out: &mut Vec<u8>) {
    match count {
        2 => out.push((acc >> 4) as u8),
        3 => {
            out.push((acc >> 10) as u8);
            out.push((acc >> 2) as u8);
        }
        _ => {}
    }
}

/// One octet of lenient base64 into the quantum (`acc`, `count`); returns the new count.
fn base64_octet(byte: u8, acc: &mut u32, count: u8, out: &mut Vec<u8>) -> u8 {
    if byte == b'=' {
        base64_flush(*acc, count, out);
        *acc = 0;
        return 0;
    }
    let Some(value) = base64_value(byte) else {
        return count;
    };
    *acc = (*acc << 6) | value;
    if count + 1 == 4 {
        out.push((*acc >> 16) as u8);
        out.push((*acc >> 8) as u8);
        out.push(*acc as u8);
        *acc = 0;
        return 0;
    }
    count + 1
}

/// [`base64`] octet by octet: the reference its fast path is tested against.
#[cfg(test)]
fn base64_bytewise(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut acc: u32 = 0;
    let mut count = 0u8;
    for &byte in bytes {
        count = base64_octet(byte, &mut acc, count, &mut out);
    }
    base64_flush(acc, count, &mut out);
    out
}

/// The value of a hex digit.
fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

/// Decodes `=XX` at `bytes[i..]` if it is one.
pub(super) fn hex_escape(bytes: &[u8], i: usize) -> Option<u8> {
    let high = hex_value(*bytes.get(i + 1)?)?;
    let low = hex_value(*bytes.get(i + 2)?)?;
    Some(high << 4 | low)
}

/// Quoted-printable: `=XX` escapes (either case), soft line breaks (`=` before the line
/// end, even with spaces between), and any `=` that is neither kept as it is.
pub(super) fn quoted_printable(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    quoted_printable_feed(bytes, true, &mut out);
    out
}

/// Decodes quoted-printable `bytes` into `out` and returns how many were used. Unless
/// `last` (no input follows), it stops before an `=` whose meaning depends on octets past
/// the end (`=4` could be an escape, `= ` a soft break or a plain `=`).
fn quoted_printable_feed(bytes: &[u8], last: bool, out: &mut Vec<u8>) -> usize {
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        if byte != b'=' {
            // Plain octets up to the next `=` at once.
            let run = memchr::memchr(b'=', &bytes[i..]).unwrap_or(bytes.len() - i);
            out.extend_from_slice(&bytes[i..i + run]);
            i += run;
            continue;
        }
        if !last && i + 2 >= bytes.len() {
            return i;
        }
        if let Some(value) = hex_escape(bytes, i) {
            out.push(value);
            i += 3;
            continue;
        }
        // A soft line break: `=`, optional blanks, then CRLF, LF or the end.
        let mut j = i + 1;
        while matches!(bytes.get(j), Some(b' ' | b'\t')) {
            j += 1;
        }
        if !last && (j == bytes.len() || (bytes[j] == b'\r' && j + 1 == bytes.len())) {
            return i;
        }
        match (bytes.get(j), bytes.get(j + 1)) {
            (None, _) => i = j,
            (Some(b'\n'), _) => i = j + 1,
            (Some(b'\r'), Some(b'\n')) => i = j + 2,
            (Some(b'\r'), _) => i = j + 1,
            _ => {
                out.push(byte);
                i += 1;
            }
        }
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    #[test]
    fn labels_are_recognised() {
        assert_eq!(TransferEncoding::parse(None), TransferEncoding::Identity);
        assert_eq!(
            TransferEncoding::parse(Some(b" BASE64 ")),
            TransferEncoding::Base64
        );
        assert_eq!(
            TransferEncoding::parse(Some(b"Quoted-Printable (x)")),
            TransferEncoding::QuotedPrintable
        );
        assert_eq!(
            TransferEncoding::parse(Some(b"8bit")),
            TransferEncoding::Identity
        );
        assert_eq!(
            TransferEncoding::parse(Some(b"x-uuencode")),
            TransferEncoding::Uuencode
        );
        assert_eq!(
            TransferEncoding::parse(Some(b"x-rot13")),
            TransferEncoding::Unknown("x-rot13".into())
        );
        assert_eq!(
            &*decode(b"abc", &TransferEncoding::Unknown("x".into())),
            b"abc"
        );
    }

    #[test]
    fn base64_is_lenient() {
        let data = "個人番号 123456789018".as_bytes();
        let encoded = base64::engine::general_purpose::STANDARD.encode(data);
        assert_eq!(base64(encoded.as_bytes()), data);
        // Wrapped lines, garbage and no padding.
        let mut messy = String::new();
        for (i, c) in encoded.trim_end_matches('=').chars().enumerate() {
            if i % 7 == 0 {
                messy.push_str("\r\n!*");
            }
            messy.push(c);
        }
        assert_eq!(base64(messy.as_bytes()), data);
        // Two blobs concatenated, each padded.
        let two = format!(
            "{}\n{}",
            base64::engine::general_purpose::STANDARD.encode(b"ab"),
            base64::engine::general_purpose::STANDARD.encode(b"cd")
        );
        assert_eq!(base64(two.as_bytes()), b"abcd");
        assert_eq!(base64(b""), b"");
        assert_eq!(base64(b"Q"), b"");
    }

    #[test]
    fn quoted_printable_decodes_escapes_and_soft_breaks() {
        assert_eq!(
            quoted_printable(b"a=3Db=e3=81=82 soft=\r\nbreak= \nx=\ry = z=4"),
            "a=bあ softbreakxy = z=4".as_bytes()
        );
        assert_eq!(quoted_printable(b"end="), b"end");
        assert_eq!(quoted_printable(b"="), b"");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]
        /// Whole quanta at once decode as octet by octet, whatever the input holds.
        #[test]
        fn base64_fast_path_matches_octet_by_octet(
            input in proptest::collection::vec(
                proptest::sample::select(b"QUJDabc019+/=\r\n -*".to_vec()),
                0..300,
            )
        ) {
            proptest::prop_assert_eq!(base64(&input), base64_bytewise(&input));
        }

        /// The same, with long stretches of the alphabet broken now and then: the eight at
        /// a time path taken, left at every offset, and started again.
        #[test]
        fn base64_eight_at_a_time_matches_octet_by_octet(
            input in proptest::collection::vec(
                proptest::prop_oneof![
                    30 => proptest::sample::select(b"AZaz09+/QUJD".to_vec()),
                    1 => proptest::sample::select(b"=\r\n -*\xff\x00".to_vec()),
                ],
                0..400,
            )
        ) {
            proptest::prop_assert_eq!(base64(&input), base64_bytewise(&input));
        }

        /// Decoding a piece at a time gives what decoding at once gives, for every
        /// encoding and every piece size, whatever the input holds.
        #[test]
        fn decoding_in_pieces_matches_decoding_at_once(
            input in proptest::collection::vec(
                proptest::sample::select(b"QUJD3Dab019+/=\r\n \t-*".to_vec()),
                0..400,
            ),
            window in 1usize..70,
        ) {
            for encoding in [
                TransferEncoding::Base64,
                TransferEncoding::QuotedPrintable,
                TransferEncoding::Identity,
            ] {
                let mut pieces = Vec::new();
                let ok = decode_into(&input, &encoding, window, &mut |piece| {
                    pieces.extend_from_slice(piece);
                    true
                });
                proptest::prop_assert!(ok);
                proptest::prop_assert_eq!(&pieces, &*decode(&input, &encoding), "{:?}", encoding);
                // And read through a reader, in reads of `window` octets.
                let mut reader = DecodingReader::new(&input, encoding.clone());
                let mut read = Vec::new();
                let mut buf = vec![0u8; window];
                loop {
                    let n = std::io::Read::read(&mut reader, &mut buf).unwrap();
                    if n == 0 {
                        break;
                    }
                    read.extend_from_slice(&buf[..n]);
                }
                proptest::prop_assert_eq!(&read, &*decode(&input, &encoding), "{:?}", encoding);
            }
        }

        /// Well-formed MIME base64 (76-character lines) gives back the data.
        #[test]
        fn base64_round_trips_mime_lines(data in proptest::collection::vec(proptest::num::u8::ANY, 0..2000)) {
            use base64::Engine as _;
            let encoded = base64::engine::general_purpose::STANDARD.encode(&data);
            let lines: Vec<&[u8]> = encoded.as_bytes().chunks(76).collect();
            proptest::prop_assert_eq!(base64(&lines.join(&b"\r\n"[..])), data);
        }
    }
}
