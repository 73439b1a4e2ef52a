//! Replies the server sends: a code, an enhanced status code (RFC 3463) and text.

use std::fmt::Write as _;

/// One SMTP reply, possibly multi-line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The three-digit reply code.
    pub code: u16,
    /// The enhanced status code such as `5.7.1`, if any.
    pub status: Option<String>,
    /// Text lines; each becomes one reply line.
    pub lines: Vec<String>,
}

impl Reply {
    /// A one-line reply with an enhanced status code.
    pub fn new(code: u16, status: &str, text: impl Into<String>) -> Self {
        Self {
            code,
            status: Some(status.to_string()),
            lines: vec![text.into()],
        }
    }

    /// A one-line reply without an enhanced status (greeting, 354, EHLO lines).
    pub fn plain(code: u16, text: impl Into<String>) -> Self {
        Self {
            code,
            status: None,
            lines: vec![text.into()],
        }
    }

    /// True for 4xx and 5xx replies, which count as client errors.
    pub fn is_error(&self) -> bool {
        self.code >= 400
    }

    /// The wire form, CRLF-terminated, with `-` continuation on all but the last line.
    /// Control characters in the text are replaced so a reply can never split itself.
    pub fn to_wire(&self) -> Vec<u8> {
        let mut out = String::new();
        let n = self.lines.len().max(1);
        for i in 0..n {
            let text = self.lines.get(i).map(String::as_str).unwrap_or("");
            let sep = if i + 1 == n { ' ' } else { '-' };
            let _ = write!(out, "{}{}", self.code, sep);
            if let Some(s) = &self.status {
                let _ = write!(out, "{s} ");
            }
            out.extend(text.chars().map(|c| if c.is_control() { ' ' } else { c }));
            out.push_str("\r\n");
        }
        out.into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multiline_and_sanitised() {
        let r = Reply {
            code: 250,
            status: None,
            lines: vec!["host".into(), "SIZE 10\r\nINJECT".into()],
        };
        assert_eq!(r.to_wire(), b"250-host\r\n250 SIZE 10  INJECT\r\n");
        assert_eq!(
            Reply::new(550, "5.7.1", "no").to_wire(),
            b"550 5.7.1 no\r\n"
        );
    }
}
