//! Replies of a remote SMTP server, parsed incrementally from bytes (I/O-free).
//!
//! `smtp-proto`'s `ResponseReceiver` joins the lines of a reply into one string, caps a
//! whole reply at 4 KiB and keeps enhanced codes as `[u8; 3]` (RFC 3463 allows up to
//! three digits in the subject and detail, as in `4.7.650`). Delivery status notifications
//! want the lines and the whole enhanced code, and pipelining wants to know exactly how
//! many bytes each reply used, so this small parser is written for it instead.

use std::fmt;

/// Longest reply line accepted, CRLF included (RFC 5321 §4.5.3.1.5 says 512; servers
/// exceed it, so allow some room).
pub const MAX_LINE: usize = 2048;

/// Most lines accepted in one reply.
pub const MAX_LINES: usize = 100;

/// An enhanced mail system status code (RFC 3463): class, subject, detail.
pub type Enhanced = (u8, u16, u16);

/// One complete reply of a server: its code, its enhanced status code if the first line
/// carries one, and the text of every line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The three-digit reply code.
    pub code: u16,
    /// The enhanced status code (`5.1.1`) found at the start of the first line.
    pub enhanced: Option<Enhanced>,
    /// The text of each line after the code and its separator, enhanced code included.
    pub lines: Vec<String>,
}

impl Reply {
    /// A reply made locally (for failures that never reached the server).
    pub fn new(code: u16, enhanced: Option<Enhanced>, text: impl Into<String>) -> Self {
        let text = text.into();
        let line = match enhanced {
            Some((c, s, d)) => format!("{c}.{s}.{d} {text}"),
            None => text,
        };
        Self {
            code,
            enhanced,
            lines: vec![line],
        }
    }

    /// 2xx or 3xx: positive completion or positive intermediate (RFC 5321 §4.2.1).
    pub fn is_positive(&self) -> bool {
        (200..400).contains(&self.code)
    }

    /// 2xx: positive completion.
    pub fn is_completion(&self) -> bool {
        (200..300).contains(&self.code)
    }

    /// 4xx: transient negative completion; the same command may succeed later.
    pub fn is_transient(&self) -> bool {
        (400..500).contains(&self.code)
    }

    /// 5xx: permanent negative completion.
    pub fn is_permanent(&self) -> bool {
        (500..600).contains(&self.code)
    }

    /// The text of all lines joined by spaces, each without a leading enhanced code.
    pub fn message(&self) -> String {
        let mut out = String::new();
        for line in &self.lines {
            let text = match split_enhanced(line) {
                Some((_, rest)) => rest,
                None => line.as_str(),
            };
            if text.is_empty() {
                continue;
            }
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(text);
        }
        out
    }
}

/// One line: `550 5.1.1 no such user here` (all lines joined).
impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code)?;
        if let Some((c, s, d)) = self.enhanced {
            write!(f, " {c}.{s}.{d}")?;
        }
        let message = self.message();
        if !message.is_empty() {
            write!(f, " {message}")?;
        }
        Ok(())
    }
}

/// Why bytes from the server are not a valid reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    /// A line is longer than [`MAX_LINE`].
    #[error("reply line longer than {MAX_LINE} octets")]
    LineTooLong,
    /// The reply has more than [`MAX_LINES`] lines.
    #[error("reply longer than {MAX_LINES} lines")]
    TooManyLines,
    /// A line does not start with a three-digit code from 200 to 599 followed by
    /// space, hyphen or the end of the line.
    #[error("malformed reply line {0:?}")]
    Malformed(String),
    /// A continuation line carries a different code than the first line.
    #[error("reply lines carry different codes ({first} then {then})")]
    MixedCodes {
        /// The code of the first line.
        first: u16,
        /// The different code.
        then: u16,
    },
}

/// Incremental reply parser: feed it bytes as they arrive; it says how many it used and
/// hands back a reply once the last line is complete. Bytes after that reply (the next
/// pipelined reply) are left unused.
#[derive(Debug, Default)]
pub struct ReplyParser {
    line: Vec<u8>,
    code: Option<u16>,
    lines: Vec<String>,
}

impl ReplyParser {
    /// A parser waiting for the first line of a reply.
    pub fn new() -> Self {
        Self::default()
    }

    /// Consumes bytes from `input`; returns how many were used and the reply if one is now
    /// complete. After an error the parser is reset and the connection should be dropped.
    pub fn push(&mut self, input: &[u8]) -> Result<(usize, Option<Reply>), ReplyError> {
        let mut used = 0;
        while used < input.len() {
            let rest = &input[used..];
            let (chunk, complete) = match rest.iter().position(|&b| b == b'\n') {
                Some(i) => (&rest[..=i], true),
                None => (rest, false),
            };
            if self.line.len() + chunk.len() > MAX_LINE {
                self.reset();
                return Err(ReplyError::LineTooLong);
            }
            self.line.extend_from_slice(chunk);
            used += chunk.len();
            if !complete {
                break;
            }
            let line = std::mem::take(&mut self.line);
            match self.line_done(&line) {
                Ok(Some(reply)) => return Ok((used, Some(reply))),
                Ok(None) => {}
                Err(e) => {
                    self.reset();
                    return Err(e);
                }
            }
        }
        Ok((used, None))
    }

    fn reset(&mut self) {
        *self = Self::default();
    }

    /// Handles one line ending in LF (CRLF expected; a bare LF is tolerated).
    fn line_done(&mut self, raw: &[u8]) -> Result<Option<Reply>, ReplyError> {
        let raw = raw.strip_suffix(b"\n").unwrap_or(raw);
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let text = String::from_utf8_lossy(raw);
        let malformed = || ReplyError::Malformed(text.chars().take(80).collect());
        let digits = raw.get(..3).ok_or_else(malformed)?;
        if !digits.iter().all(u8::is_ascii_digit) || !(b'2'..=b'5').contains(&digits[0]) {
            return Err(malformed());
        }
        let code = digits
            .iter()
            .fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
        let last = match raw.get(3) {
            None | Some(b' ') => true,
            Some(b'-') => false,
            Some(_) => return Err(malformed()),
        };
        if let Some(first) = self.code
            && first != code
        {
            return Err(ReplyError::MixedCodes { first, then: code });
        }
        self.code = Some(code);
        if self.lines.len() >= MAX_LINES {
            return Err(ReplyError::TooManyLines);
        }
        let body = raw.get(4..).unwrap_or_default();
        self.lines.push(String::from_utf8_lossy(body).into_owned());
        if !last {
            return Ok(None);
        }
        let lines = std::mem::take(&mut self.lines);
        self.code = None;
        let enhanced = lines
            .first()
            .and_then(|l| split_enhanced(l))
            .map(|(e, _)| e)
            .filter(|e| u16::from(e.0) == code / 100);
        Ok(Some(Reply {
            code,
            enhanced,
            lines,
        }))
    }
}

/// Splits `5.1.1 text` into the enhanced code and the rest of the text.
fn split_enhanced(line: &str) -> Option<(Enhanced, &str)> {
    let (head, rest) = match line.split_once(' ') {
        Some((h, r)) => (h, r),
        None => (line, ""),
    };
    let mut parts = head.split('.');
    let class = parts.next()?;
    let subject = parts.next()?;
    let detail = parts.next()?;
    if parts.next().is_some() {
        return None;
    }
    let num = |s: &str, max: usize| -> Option<u16> {
        if s.is_empty() || s.len() > max || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    let class = num(class, 1)?;
    if !matches!(class, 2 | 4 | 5) {
        return None;
    }
    Some(((class as u8, num(subject, 3)?, num(detail, 3)?), rest))
}

/// Parses exactly one complete reply from `bytes` (for tests and fixed fixtures).
pub fn parse_one(bytes: &[u8]) -> Result<Option<Reply>, ReplyError> {
    ReplyParser::new().push(bytes).map(|(_, r)| r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_line_with_enhanced_code() {
        let r = parse_one(b"250 2.1.5 Ok\r\n").unwrap().unwrap();
        assert_eq!(r.code, 250);
        assert_eq!(r.enhanced, Some((2, 1, 5)));
        assert_eq!(r.lines, vec!["2.1.5 Ok"]);
        assert!(r.is_positive() && r.is_completion());
        assert_eq!(r.to_string(), "250 2.1.5 Ok");
    }

    #[test]
    fn multi_line_reply_in_pieces() {
        let mut p = ReplyParser::new();
        let input = b"250-mx.example.jp\r\n250-PIPELINING\r\n250 SIZE 1000\r\n354 go\r\n";
        let (n, r) = p.push(&input[..10]).unwrap();
        assert_eq!((n, r), (10, None));
        let (n2, r) = p.push(&input[10..]).unwrap();
        let r = r.unwrap();
        assert_eq!(r.lines, vec!["mx.example.jp", "PIPELINING", "SIZE 1000"]);
        assert_eq!(r.enhanced, None);
        // The next pipelined reply is left for the next call.
        assert_eq!(&input[10 + n2..], b"354 go\r\n");
    }

    #[test]
    fn bare_code_and_bare_lf_are_tolerated() {
        let r = parse_one(b"250\n").unwrap().unwrap();
        assert_eq!(
            (r.code, r.lines.len(), r.to_string()),
            (250, 1, "250".to_string())
        );
    }

    #[test]
    fn classes() {
        let t = parse_one(b"451 4.7.650 rate limited\r\n").unwrap().unwrap();
        assert!(t.is_transient() && !t.is_permanent() && !t.is_positive());
        assert_eq!(t.enhanced, Some((4, 7, 650)));
        let p = parse_one(b"550-5.1.1 no such user\r\n550 5.1.1 see docs\r\n")
            .unwrap()
            .unwrap();
        assert!(p.is_permanent());
        assert_eq!(p.to_string(), "550 5.1.1 no such user see docs");
        // An enhanced code of another class than the reply is ignored.
        let odd = parse_one(b"250 5.0.0 what\r\n").unwrap().unwrap();
        assert_eq!(odd.enhanced, None);
    }

    #[test]
    fn bounds_and_garbage() {
        let long = format!("250 {}\r\n", "x".repeat(MAX_LINE));
        assert_eq!(parse_one(long.as_bytes()), Err(ReplyError::LineTooLong));
        let many = "250-x\r\n".repeat(MAX_LINES + 1);
        assert_eq!(parse_one(many.as_bytes()), Err(ReplyError::TooManyLines));
        assert!(matches!(
            parse_one(b"hello\r\n"),
            Err(ReplyError::Malformed(_))
        ));
        assert!(matches!(
            parse_one(b"199 x\r\n"),
            Err(ReplyError::Malformed(_))
        ));
        assert!(matches!(
            parse_one(b"25\r\n"),
            Err(ReplyError::Malformed(_))
        ));
        assert!(matches!(
            parse_one(b"250x\r\n"),
            Err(ReplyError::Malformed(_))
        ));
        assert_eq!(
            parse_one(b"250-a\r\n251 b\r\n"),
            Err(ReplyError::MixedCodes {
                first: 250,
                then: 251
            })
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics_and_never_overreads(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let mut p = ReplyParser::new();
            if let Ok((used, _)) = p.push(&bytes) {
                proptest::prop_assert!(used <= bytes.len());
            }
        }
    }
}
