//! The DATA phase, strictly: the only end of data is `CRLF . CRLF`, dot-stuffing is
//! undone, and a bare LF or bare CR anywhere in the content makes the message refused.
//!
//! This closes SMTP smuggling (a `\n.\n` or `\r.\n` that another server would take as the
//! end of data, followed by a second, forged message): Mamori never ends data there, and
//! never accepts a message holding such sequences, so it can neither be fooled nor relay
//! the payload to a server that would be.

/// Why message content was refused. The data is always read to its strict end first, so
/// the session stays in step with the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataViolation {
    /// A LF not preceded by CR.
    BareLf,
    /// A CR not followed by LF.
    BareCr,
    /// A line longer than the configured limit.
    LineTooLong,
    /// More octets than the size limit.
    TooBig,
}

impl DataViolation {
    /// The reply the session sends for this violation.
    pub fn reply(self, max_size: u64, max_line: usize) -> super::reply::Reply {
        use super::reply::Reply;
        match self {
            Self::BareLf => Reply::new(
                550,
                "5.5.2",
                "Message refused: bare LF in message content; lines must end with CRLF (RFC 5321 2.3.8)",
            ),
            Self::BareCr => Reply::new(
                550,
                "5.5.2",
                "Message refused: bare CR in message content; lines must end with CRLF (RFC 5321 2.3.8)",
            ),
            Self::LineTooLong => Reply::new(
                550,
                "5.6.0",
                format!(
                    "Message refused: a line is longer than {max_line} characters (RFC 5322 2.1.1)"
                ),
            ),
            Self::TooBig => Reply::new(
                552,
                "5.3.4",
                format!("Message size exceeds fixed maximum message size of {max_size} bytes"),
            ),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    LineStart,
    Middle,
    Cr,
    Dot,
    DotCr,
    Done,
}

/// Incremental receiver of DATA content.
#[derive(Debug)]
pub struct DataReceiver {
    state: State,
    line_len: usize,
    size: u64,
    max_size: u64,
    max_line: usize,
    violation: Option<DataViolation>,
}

impl DataReceiver {
    /// A receiver that accepts up to `max_size` octets with lines up to `max_line` octets.
    pub fn new(max_size: u64, max_line: usize) -> Self {
        Self {
            state: State::LineStart,
            line_len: 0,
            size: 0,
            max_size,
            max_line,
            violation: None,
        }
    }

    /// True once the content broke a rule: it will be refused, so it need not be kept.
    pub fn refused(&self) -> bool {
        self.violation.is_some()
    }

    /// Feeds `input`, appending unstuffed content to `out` (which stops growing once the
    /// message is too big). Returns `Some(n)` when the end of data was found after `n`
    /// bytes of `input` (the rest belongs to the next command), `None` if more is needed.
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> Option<usize> {
        let mut i = 0;
        while i < input.len() {
            // Inside a line, everything up to the next CR or LF is content: copied at
            // once, as byte-by-byte handling would (the limits checked for the run).
            if self.state == State::Middle {
                let rest = &input[i..];
                let run = memchr::memchr2(b'\r', b'\n', rest).unwrap_or(rest.len());
                if run > 0 {
                    self.content_run(&rest[..run], out);
                    i += run;
                    continue;
                }
            }
            if self.state == State::Done {
                return Some(i);
            }
            self.step(input[i], out);
            i += 1;
        }
        (self.state == State::Done).then_some(input.len())
    }

    /// One octet, in any state but `Done`.
    fn step(&mut self, b: u8, out: &mut Vec<u8>) {
        match self.state {
            State::Done => {}
            State::LineStart if b == b'.' => self.state = State::Dot,
            State::Dot if b == b'\r' => self.state = State::DotCr,
            State::DotCr if b == b'\n' => self.state = State::Done,
            State::DotCr => {
                // ".\r" then something else: the CR was bare; the dot was stuffing.
                self.flag(DataViolation::BareCr);
                self.push(b'\r', out);
                self.state = State::Middle;
                self.byte(b, out);
            }
            State::Cr if b == b'\n' => {
                self.push(b'\n', out);
                self.line_len = 0;
                self.state = State::LineStart;
            }
            State::Cr => {
                self.flag(DataViolation::BareCr);
                self.state = State::Middle;
                self.byte(b, out);
            }
            State::LineStart | State::Middle | State::Dot => {
                self.state = State::Middle;
                self.byte(b, out);
            }
        }
    }

    /// [`Self::feed`] one octet at a time, without the fast path: the reference the fast
    /// path is tested against.
    #[cfg(test)]
    fn feed_bytewise(&mut self, input: &[u8], out: &mut Vec<u8>) -> Option<usize> {
        for (i, &b) in input.iter().enumerate() {
            if self.state == State::Done {
                return Some(i);
            }
            self.step(b, out);
        }
        (self.state == State::Done).then_some(input.len())
    }

    /// Content octets that are neither CR nor LF, in the middle of a line: the same as
    /// [`Self::byte`] for each, in one step.
    fn content_run(&mut self, run: &[u8], out: &mut Vec<u8>) {
        let n = run.len();
        // The first octet past the line limit, and the first past the size limit.
        let long_at = self.max_line.saturating_sub(self.line_len);
        let fits = usize::try_from(self.max_size.saturating_sub(self.size)).unwrap_or(usize::MAX);
        match (long_at < n, fits < n) {
            (true, true) if fits < long_at => {
                self.flag(DataViolation::TooBig);
                self.flag(DataViolation::LineTooLong);
            }
            (true, _) => {
                self.flag(DataViolation::LineTooLong);
                if fits < n {
                    self.flag(DataViolation::TooBig);
                }
            }
            (false, true) => self.flag(DataViolation::TooBig),
            (false, false) => {}
        }
        self.line_len += n;
        self.size += n as u64;
        out.extend_from_slice(&run[..n.min(fits)]);
    }

    fn byte(&mut self, b: u8, out: &mut Vec<u8>) {
        match b {
            b'\r' => {
                self.push(b'\r', out);
                self.state = State::Cr;
            }
            b'\n' => {
                // Bare LF: keep it as content (the message is refused anyway) and stay
                // mid-line, so that "\n.\n" or "\n.\r\n" can never end the data.
                self.flag(DataViolation::BareLf);
                self.push(b'\n', out);
            }
            _ => {
                self.line_len += 1;
                if self.line_len > self.max_line {
                    self.flag(DataViolation::LineTooLong);
                }
                self.push(b, out);
            }
        }
    }

    fn push(&mut self, b: u8, out: &mut Vec<u8>) {
        self.size += 1;
        if self.size > self.max_size {
            self.flag(DataViolation::TooBig);
        } else {
            out.push(b);
        }
    }

    fn flag(&mut self, v: DataViolation) {
        if self.violation.is_none() {
            self.violation = Some(v);
        }
    }

    /// After the end was found: the content size, or the first violation seen.
    pub fn finish(&self) -> Result<u64, DataViolation> {
        match self.violation {
            Some(v) => Err(v),
            None => Ok(self.size),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(input: &[u8]) -> (Option<usize>, Vec<u8>, Result<u64, DataViolation>) {
        let mut r = DataReceiver::new(1000, 998);
        let mut out = Vec::new();
        let end = r.feed(input, &mut out);
        (end, out, r.finish())
    }

    #[test]
    fn plain_message_and_dot_unstuffing() {
        let (end, out, res) = run(b"Subject: x\r\n\r\n..hidden\r\n.\r\nQUIT\r\n");
        assert_eq!(end, Some(27));
        assert_eq!(out, b"Subject: x\r\n\r\n.hidden\r\n");
        assert_eq!(res, Ok(23));
    }

    #[test]
    fn empty_message() {
        let (end, out, res) = run(b".\r\n");
        assert_eq!((end, out.len(), res), (Some(3), 0, Ok(0)));
    }

    #[test]
    fn smuggling_sequences_never_end_data_and_are_refused() {
        for attack in [
            &b"a\r\n\n.\nMAIL FROM:<x@y>\r\n"[..],
            b"a\r\n\r.\r\nMAIL FROM:<x@y>\r\n",
            b"a\n.\r\nMAIL FROM:<x@y>\r\n",
            b"a\r\n.\nMAIL FROM:<x@y>\r\n",
            b"a\r\n.\rMAIL FROM:<x@y>\r\n",
        ] {
            let mut r = DataReceiver::new(1000, 998);
            let mut out = Vec::new();
            assert_eq!(
                r.feed(attack, &mut out),
                None,
                "{attack:?} ended data early"
            );
            let tail = b".\r\n";
            assert_eq!(r.feed(tail, &mut out), Some(3));
            assert!(
                matches!(
                    r.finish(),
                    Err(DataViolation::BareLf | DataViolation::BareCr)
                ),
                "{attack:?}"
            );
        }
    }

    #[test]
    fn end_split_across_reads() {
        let mut r = DataReceiver::new(1000, 998);
        let mut out = Vec::new();
        for chunk in [&b"hello\r"[..], b"\n", b".", b"\r", b"\nNEXT"] {
            if let Some(n) = r.feed(chunk, &mut out) {
                assert_eq!(&chunk[n..], b"NEXT");
            }
        }
        assert_eq!(out, b"hello\r\n");
        assert_eq!(r.finish(), Ok(7));
    }

    #[test]
    fn oversize_and_long_lines() {
        let mut r = DataReceiver::new(10, 998);
        let mut out = Vec::new();
        assert_eq!(r.feed(b"0123456789abcdef\r\n.\r\n", &mut out), Some(21));
        assert_eq!(r.finish(), Err(DataViolation::TooBig));
        assert_eq!(out.len(), 10, "stops storing past the limit");
        let line = [b'x'; 999];
        let (_, _, res) = run(&[&line[..], b"\r\n.\r\n"].concat());
        assert_eq!(res, Err(DataViolation::LineTooLong));
        let ok = [b'x'; 998];
        let (_, _, res) = run(&[&ok[..], b"\r\n.\r\n"].concat());
        assert_eq!(res, Ok(1000));
    }

    proptest::proptest! {
        #[test]
        fn stuffing_round_trips(lines in proptest::collection::vec("[.a-z ]{0,20}", 0..20)) {
            let content: String = lines.iter().map(|l| format!("{l}\r\n")).collect();
            let stuffed: String = lines
                .iter()
                .map(|l| if l.starts_with('.') { format!(".{l}\r\n") } else { format!("{l}\r\n") })
                .collect();
            let mut r = DataReceiver::new(1 << 20, 998);
            let mut out = Vec::new();
            let wire = format!("{stuffed}.\r\n");
            proptest::prop_assert_eq!(r.feed(wire.as_bytes(), &mut out), Some(wire.len()));
            proptest::prop_assert_eq!(out, content.into_bytes());
        }
    }

    #[test]
    fn the_first_limit_passed_is_the_one_reported() {
        for (max_size, max_line, want) in [
            (5, 5, DataViolation::LineTooLong),
            (3, 5, DataViolation::TooBig),
            (8, 2, DataViolation::LineTooLong),
        ] {
            let mut r = DataReceiver::new(max_size, max_line);
            let mut out = Vec::new();
            assert_eq!(r.feed(b"abcdefg\r\n.\r\n", &mut out), Some(12));
            assert_eq!(r.finish(), Err(want), "{max_size} {max_line}");
            assert!(out.len() as u64 <= max_size);
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]
        /// The fast path decides exactly as one octet at a time: the same end, content,
        /// size and first violation, however the input is cut into reads.
        #[test]
        fn the_fast_path_matches_the_octet_at_a_time_reading(
            input in proptest::collection::vec(
                proptest::sample::select(vec![b'a', b'b', b'.', b'\r', b'\n', 0xe3]),
                0..400,
            ),
            cuts in proptest::collection::vec(1usize..50, 1..20),
            max_size in 0u64..300,
            max_line in 0usize..40,
        ) {
            let mut fast = DataReceiver::new(max_size, max_line);
            let mut slow = DataReceiver::new(max_size, max_line);
            let (mut out_fast, mut out_slow) = (Vec::new(), Vec::new());
            let mut at = 0;
            for cut in cuts.iter().cycle() {
                if at >= input.len() {
                    break;
                }
                let piece = &input[at..(at + cut).min(input.len())];
                let a = fast.feed(piece, &mut out_fast);
                let b = slow.feed_bytewise(piece, &mut out_slow);
                proptest::prop_assert_eq!(a, b);
                if a.is_some() {
                    break;
                }
                at += piece.len();
            }
            proptest::prop_assert_eq!(&out_fast, &out_slow);
            proptest::prop_assert_eq!(fast.finish(), slow.finish());
            proptest::prop_assert_eq!(fast.line_len, slow.line_len);
        }
    }
}
