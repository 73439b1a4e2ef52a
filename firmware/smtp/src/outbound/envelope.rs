//! One outbound transaction: the envelope, its DSN parameters, and the pure pieces that
//! turn it into SMTP commands and DATA bytes.

use super::body::MessageBody;

use super::caps::Capabilities;

// The DSN parameters are the spool's own types: a queued message carries them as they
// were given, and the client writes them out with `as_str`.
pub use crate::spool::{Notify, Ret};

/// One recipient of a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutRecipient {
    /// The forward path, without angle brackets.
    pub address: String,
    /// `NOTIFY=` as the submitter asked, if it did.
    pub notify: Option<Vec<Notify>>,
    /// The original recipient address (`ORCPT=`), decoded, without the `rfc822;` type.
    pub orcpt: Option<String>,
}

impl OutRecipient {
    /// A recipient without DSN parameters.
    pub fn new(address: impl Into<String>) -> Self {
        Self {
            address: address.into(),
            notify: None,
            orcpt: None,
        }
    }
}

/// One message to deliver to some recipients over one connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    /// The reverse path without angle brackets; empty for the null sender (bounces).
    pub mail_from: String,
    /// `ENVID=` (decoded), if the submitter gave one.
    pub envid: Option<String>,
    /// `RET=`, if the submitter gave one.
    pub ret: Option<Ret>,
    /// The submitter asked for `SMTPUTF8`. The next hop must support it when this is set
    /// and the headers hold non-ASCII text, or whenever the envelope does (Postfix's rule).
    pub smtputf8: bool,
    /// The recipients, in order.
    pub recipients: Vec<OutRecipient>,
    /// The message, headers and body, with CRLF line endings, without dot-stuffing (as
    /// read from the spool, shared by the transactions of a connection without a copy).
    pub message: MessageBody,
}

impl Transaction {
    /// True when the transaction cannot travel without the SMTPUTF8 extension.
    pub fn needs_smtputf8(&self) -> bool {
        let envelope =
            !self.mail_from.is_ascii() || self.recipients.iter().any(|r| !r.address.is_ascii());
        envelope || (self.smtputf8 && self.message.header_8bit())
    }

    /// True when the message holds octets above 127 (needs `BODY=8BITMIME`).
    pub fn has_8bit(&self) -> bool {
        self.message.has_8bit()
    }
}

/// The header section of a message: everything before the first empty line.
pub(crate) fn header_section(message: &[u8]) -> &[u8] {
    if message.starts_with(b"\r\n") || message.starts_with(b"\n") {
        return &[];
    }
    let end = message
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .or_else(|| message.windows(2).position(|w| w == b"\n\n"))
        .map_or(message.len(), |i| i + 2);
    &message[..end]
}

/// True for a path that could smuggle a command (controls, CR, LF) or break the brackets.
pub(crate) fn unsafe_path(path: &str) -> bool {
    path.len() > 512
        || path
            .bytes()
            .any(|b| b < 0x20 || b == 0x7f || b == b'<' || b == b'>')
}

/// `xtext` of RFC 3461 §4: printable ASCII except `+` and `=` as is, other octets `+XX`.
pub fn xtext(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if (33..=126).contains(&b) && b != b'+' && b != b'=' {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("+{b:02X}"));
        }
    }
    out
}

/// `utf-8-addr-xtext` of RFC 6533 §3: non-ASCII (and `+`, `=`, `\`, controls) as `\x{HEX}`.
pub fn utf8_addr_xtext(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '!'..='~') && !matches!(c, '+' | '=' | '\\') {
            out.push(c);
        } else {
            out.push_str(&format!("\\x{{{:02X}}}", u32::from(c)));
        }
    }
    out
}

/// The `ORCPT=` value: `rfc822;` xtext for ASCII addresses, `utf-8;` otherwise.
pub fn orcpt_param(orcpt: &str) -> String {
    if orcpt.is_ascii() {
        format!("rfc822;{}", xtext(orcpt))
    } else {
        format!("utf-8;{}", utf8_addr_xtext(orcpt))
    }
}

/// The MAIL command with the parameters the server supports.
pub(crate) fn mail_command(tx: &Transaction, caps: &Capabilities, smtputf8: bool) -> String {
    let mut cmd = format!("MAIL FROM:<{}>", tx.mail_from);
    if caps.size.is_some() {
        cmd.push_str(&format!(" SIZE={}", tx.message.len()));
    }
    if caps.eight_bit_mime && tx.has_8bit() {
        cmd.push_str(" BODY=8BITMIME");
    }
    if smtputf8 {
        cmd.push_str(" SMTPUTF8");
    }
    if caps.dsn {
        if let Some(ret) = tx.ret {
            cmd.push_str(" RET=");
            cmd.push_str(ret.as_str());
        }
        if let Some(envid) = &tx.envid {
            cmd.push_str(" ENVID=");
            cmd.push_str(&xtext(envid));
        }
    }
    cmd.push_str("\r\n");
    cmd
}

/// One RCPT command with the DSN parameters when the server supports DSN.
pub(crate) fn rcpt_command(rcpt: &OutRecipient, caps: &Capabilities) -> String {
    let mut cmd = format!("RCPT TO:<{}>", rcpt.address);
    if caps.dsn {
        if let Some(notify) = rcpt.notify.as_ref().filter(|n| !n.is_empty()) {
            let list: Vec<&str> = notify.iter().map(|n| n.as_str()).collect();
            cmd.push_str(" NOTIFY=");
            cmd.push_str(&list.join(","));
        }
        if let Some(orcpt) = &rcpt.orcpt {
            cmd.push_str(" ORCPT=");
            cmd.push_str(&orcpt_param(orcpt));
        }
    }
    cmd.push_str("\r\n");
    cmd
}

/// Turns message bytes into DATA content, chunk by chunk: dot-stuffing (RFC 5321
/// §4.5.2) and line endings made CRLF. A bare CR or LF becomes CRLF too, so that no
/// `<LF>.<LF>`-style sequence can end the message early at a lenient server further
/// on (SMTP smuggling); well-formed input passes through unchanged apart from the dots.
#[derive(Debug, Clone)]
pub struct DataEncoder {
    at_line_start: bool,
    pending_cr: bool,
}

impl Default for DataEncoder {
    fn default() -> Self {
        Self {
            at_line_start: true,
            pending_cr: false,
        }
    }
}

impl DataEncoder {
    /// An encoder at the start of a message.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends the encoding of `input` to `out`.
    pub fn push(&mut self, input: &[u8], out: &mut Vec<u8>) {
        out.reserve(input.len() + input.len() / 64 + 2);
        let mut i = 0;
        while i < input.len() {
            let b = input[i];
            // A run of line content (no CR, no LF): its first octet as below, the rest
            // copied at once.
            if b != b'\r' && b != b'\n' && !self.pending_cr {
                let rest = &input[i..];
                let run = memchr::memchr2(b'\r', b'\n', rest).unwrap_or(rest.len());
                if self.at_line_start && b == b'.' {
                    out.push(b'.');
                }
                out.extend_from_slice(&rest[..run]);
                self.at_line_start = false;
                i += run;
                continue;
            }
            self.octet(b, out);
            i += 1;
        }
    }

    /// One octet of content.
    fn octet(&mut self, b: u8, out: &mut Vec<u8>) {
        match b {
            b'\r' => {
                if self.pending_cr {
                    self.end_line(out);
                }
                self.pending_cr = true;
            }
            b'\n' => self.end_line(out),
            _ => {
                if self.pending_cr {
                    self.end_line(out);
                }
                if self.at_line_start && b == b'.' {
                    out.push(b'.');
                }
                out.push(b);
                self.at_line_start = false;
            }
        }
    }

    /// [`Self::push`] one octet at a time: the reference the fast path is tested against.
    #[cfg(test)]
    fn push_bytewise(&mut self, input: &[u8], out: &mut Vec<u8>) {
        for &b in input {
            self.octet(b, out);
        }
    }

    fn end_line(&mut self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"\r\n");
        self.pending_cr = false;
        self.at_line_start = true;
    }

    /// Appends the end of the message: a CRLF if the last line lacks one, then `.` CRLF.
    pub fn finish(mut self, out: &mut Vec<u8>) {
        if self.pending_cr || !self.at_line_start {
            self.end_line(out);
        }
        out.extend_from_slice(b".\r\n");
    }

    /// Encodes a whole message at once (tests, small messages).
    pub fn encode(message: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(message.len() + 8);
        let mut enc = Self::new();
        enc.push(message, &mut out);
        enc.finish(&mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tx(from: &str, to: &[&str], message: &[u8]) -> Transaction {
        Transaction {
            mail_from: from.into(),
            envid: None,
            ret: None,
            smtputf8: false,
            recipients: to.iter().map(|a| OutRecipient::new(*a)).collect(),
            message: message.to_vec().into(),
        }
    }

    #[test]
    fn dot_stuffing_and_terminator() {
        assert_eq!(
            DataEncoder::encode(b".a\r\nb\r\n..c\r\n"),
            b"..a\r\nb\r\n...c\r\n.\r\n"
        );
        assert_eq!(DataEncoder::encode(b"no newline"), b"no newline\r\n.\r\n");
        assert_eq!(DataEncoder::encode(b""), b".\r\n");
        assert_eq!(DataEncoder::encode(b"a\r\n.\r\n"), b"a\r\n..\r\n.\r\n");
    }

    #[test]
    fn bare_line_endings_cannot_smuggle_an_end_of_data() {
        assert_eq!(
            DataEncoder::encode(b"a\n.\nMAIL FROM:<x>\n"),
            b"a\r\n..\r\nMAIL FROM:<x>\r\n.\r\n"
        );
        assert_eq!(DataEncoder::encode(b"a\r.\rb"), b"a\r\n..\r\nb\r\n.\r\n");
        assert_eq!(DataEncoder::encode(b"a\r\r\n.x"), b"a\r\n\r\n..x\r\n.\r\n");
    }

    #[test]
    fn chunk_boundaries_do_not_matter() {
        let msg = b"Subject: x\r\n\r\n.line\r\n\r\n.\r\nend\r";
        let whole = DataEncoder::encode(msg);
        for split in 0..msg.len() {
            let mut out = Vec::new();
            let mut enc = DataEncoder::new();
            enc.push(&msg[..split], &mut out);
            enc.push(&msg[split..], &mut out);
            enc.finish(&mut out);
            assert_eq!(out, whole, "split at {split}");
        }
    }

    #[test]
    fn mail_and_rcpt_parameters_follow_capabilities() {
        let mut t = tx(
            "a@example.jp",
            &["b@example.com"],
            "Subject: é\r\n\r\nx\r\n".as_bytes(),
        );
        t.envid = Some("id+1 =x".into());
        t.ret = Some(Ret::Hdrs);
        t.recipients[0].notify = Some(vec![Notify::Failure, Notify::Delay]);
        t.recipients[0].orcpt = Some("b@example.com".into());
        let none = Capabilities {
            esmtp: true,
            ..Default::default()
        };
        assert_eq!(
            mail_command(&t, &none, false),
            "MAIL FROM:<a@example.jp>\r\n"
        );
        assert_eq!(
            rcpt_command(&t.recipients[0], &none),
            "RCPT TO:<b@example.com>\r\n"
        );
        let all = Capabilities {
            esmtp: true,
            size: Some(0),
            eight_bit_mime: true,
            dsn: true,
            smtputf8: true,
            ..Default::default()
        };
        assert_eq!(
            mail_command(&t, &all, true),
            format!(
                "MAIL FROM:<a@example.jp> SIZE={} BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=id+2B1+20+3Dx\r\n",
                t.message.len()
            )
        );
        assert_eq!(
            rcpt_command(&t.recipients[0], &all),
            "RCPT TO:<b@example.com> NOTIFY=FAILURE,DELAY ORCPT=rfc822;b@example.com\r\n"
        );
        assert_eq!(
            orcpt_param("山田@例え.jp"),
            "utf-8;\\x{5C71}\\x{7530}@\\x{4F8B}\\x{3048}.jp"
        );
    }

    #[test]
    fn smtputf8_need() {
        assert!(tx("山田@example.jp", &["b@example.com"], b"x").needs_smtputf8());
        assert!(tx("", &["b@例え.jp"], b"x").needs_smtputf8());
        let mut t = tx(
            "a@b.jp",
            &["c@d.jp"],
            "Subject: 件名\r\n\r\nbody".as_bytes(),
        );
        assert!(!t.needs_smtputf8(), "only when the submitter asked for it");
        t.smtputf8 = true;
        assert!(t.needs_smtputf8());
        let t2 = Transaction {
            smtputf8: true,
            ..tx("a@b.jp", &["c@d.jp"], "S: x\r\n\r\n本文".as_bytes())
        };
        assert!(
            !t2.needs_smtputf8(),
            "an 8-bit body alone needs only 8BITMIME"
        );
        assert!(t2.has_8bit());
    }

    #[test]
    fn paths_that_could_inject_commands_are_caught() {
        assert!(unsafe_path("a@b.jp\r\nRCPT TO:<x@y>"));
        assert!(unsafe_path("a>@b.jp"));
        assert!(!unsafe_path("a..b.@docomo.ne.jp"));
        assert!(!unsafe_path(""));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]
        /// The fast path encodes exactly as one octet at a time, however the content is
        /// cut into pieces.
        #[test]
        fn the_fast_path_matches_the_octet_at_a_time_encoding(
            input in proptest::collection::vec(
                proptest::sample::select(vec![b'a', b'.', b'\r', b'\n']),
                0..300,
            ),
            cuts in proptest::collection::vec(1usize..40, 1..20),
        ) {
            let (mut fast, mut slow) = (DataEncoder::new(), DataEncoder::new());
            let (mut a, mut b) = (Vec::new(), Vec::new());
            let mut at = 0;
            for cut in cuts.iter().cycle() {
                if at >= input.len() {
                    break;
                }
                let piece = &input[at..(at + cut).min(input.len())];
                fast.push(piece, &mut a);
                slow.push_bytewise(piece, &mut b);
                at += piece.len();
            }
            fast.finish(&mut a);
            slow.finish(&mut b);
            proptest::prop_assert_eq!(a, b);
        }
    }
}
