//! Delivery status notifications (RFC 3464): the bounce or delay notice sent back to the
//! sender, as `multipart/report; report-type=delivery-status`, explained in English and
//! Japanese. Pure: bytes in, bytes out, with CRLF line endings and no line over 998.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::envelope::{OutRecipient, Ret, header_section, utf8_addr_xtext, xtext};
use super::error::Failure;
use super::reply::Enhanced;
use crate::datetime::rfc5322;

/// Longest line written (RFC 5322 §2.1.1 allows 998 octets before CRLF).
const MAX_LINE: usize = 998;

/// Longest diagnostic text kept in a `Diagnostic-Code:` field.
const MAX_DIAGNOSTIC: usize = 900;

/// What happened to a recipient (RFC 3464 `Action:`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Delivery failed for good; the message was not delivered.
    Failed,
    /// Delivery is late; retries go on.
    Delayed,
}

impl Action {
    fn as_str(self) -> &'static str {
        match self {
            Self::Failed => "failed",
            Self::Delayed => "delayed",
        }
    }
}

/// One recipient reported on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DsnRecipient {
    /// The recipient address as delivered (`Final-Recipient`).
    pub address: String,
    /// The original recipient from `ORCPT=`, if the submitter gave one.
    pub orcpt: Option<String>,
    /// Failed or delayed.
    pub action: Action,
    /// The enhanced status code (`5.1.1`); its class should match the action.
    pub status: Enhanced,
    /// The server that gave the reply (`Remote-MTA`), when the failure is remote.
    pub remote_mta: Option<String>,
    /// The server's reply (`smtp;` diagnostic) or Mamori's own reason when there is no
    /// remote MTA.
    pub diagnostic: Option<String>,
    /// When delivery was last tried (Unix seconds).
    pub last_attempt: Option<u64>,
    /// For delays: until when retries go on (Unix seconds).
    pub will_retry_until: Option<u64>,
}

impl DsnRecipient {
    /// A recipient entry from a delivery failure: failed if permanent, else delayed.
    pub fn from_failure(
        rcpt: &OutRecipient,
        failure: &Failure,
        remote_mta: Option<&str>,
        attempted_at: u64,
    ) -> Self {
        let action = if failure.permanent {
            Action::Failed
        } else {
            Action::Delayed
        };
        let class = if failure.permanent { 5 } else { 4 };
        let status = match failure.reply.enhanced {
            Some((c, s, d)) if c == class => (c, s, d),
            _ => (class, 0, 0),
        };
        Self {
            address: rcpt.address.clone(),
            orcpt: rcpt.orcpt.clone(),
            action,
            status,
            remote_mta: remote_mta.filter(|_| failure.remote).map(str::to_string),
            diagnostic: Some(failure.reply.to_string()),
            last_attempt: Some(attempted_at),
            will_retry_until: None,
        }
    }
}

/// Everything a notification says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dsn<'a> {
    /// This box's host name (`Reporting-MTA`, the `From:` domain).
    pub reporting_mta: &'a str,
    /// The original sender, who receives the notification.
    pub sender: &'a str,
    /// The original `ENVID=`, if any.
    pub envid: Option<&'a str>,
    /// When the original message was accepted (Unix seconds).
    pub arrival: u64,
    /// Now (Unix seconds): the `Date:` header.
    pub now: u64,
    /// A unique token (such as the queue id and attempt) for `Message-ID` and the
    /// MIME boundary.
    pub unique: &'a str,
    /// The recipients reported on.
    pub recipients: &'a [DsnRecipient],
    /// The original message.
    pub original: &'a [u8],
    /// The original `RET=`: `Full` returns the whole message when it fits `max_full_size`.
    pub ret: Option<Ret>,
    /// Largest original returned whole; larger ones are returned as headers only.
    pub max_full_size: usize,
}

/// Why no notification can be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DsnError {
    /// The original had the null sender: notifications about notifications would loop.
    #[error("the original message has a null sender; no notification is sent")]
    NullSender,
    /// There is nobody to report on.
    #[error("no recipients to report on")]
    NoRecipients,
}

/// Renders the notification as a whole message (headers and body, CRLF, no dot-stuffing),
/// to be sent with the null sender to `dsn.sender`.
pub fn render(dsn: &Dsn<'_>) -> Result<Vec<u8>, DsnError> {
    if dsn.sender.is_empty() {
        return Err(DsnError::NullSender);
    }
    if dsn.recipients.is_empty() {
        return Err(DsnError::NoRecipients);
    }
    let all_delayed = dsn.recipients.iter().all(|r| r.action == Action::Delayed);
    let full = dsn.ret == Some(Ret::Full) && dsn.original.len() <= dsn.max_full_size;
    let returned = if full {
        dsn.original
    } else {
        header_section(dsn.original)
    };
    let returned = normalise(returned, !full);
    let boundary = boundary(dsn.unique, &returned);
    let eight_bit = !returned.is_ascii();
    let host = ascii_only(dsn.reporting_mta);

    let mut out = Vec::with_capacity(returned.len() + 4096);
    let mut h = |line: String| {
        out.extend_from_slice(line.as_bytes());
        out.extend_from_slice(b"\r\n");
    };
    h(format!("From: Mail Delivery System <MAILER-DAEMON@{host}>"));
    h(format!("To: <{}>", dsn.sender.replace(['\r', '\n'], "")));
    h(if all_delayed {
        format!(
            "Subject: Delayed Mail (still being retried) / {}",
            encoded_word("配信が遅れているメール")
        )
    } else {
        format!(
            "Subject: Undelivered Mail Returned to Sender / {}",
            encoded_word("配信できなかったメール")
        )
    });
    h(format!("Date: {}", rfc5322(dsn.now)));
    h(format!("Message-ID: <{}.dsn@{host}>", token(dsn.unique)));
    h("Auto-Submitted: auto-replied".into());
    h("MIME-Version: 1.0".into());
    h(format!(
        "Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"{boundary}\""
    ));
    h(format!(
        "Content-Transfer-Encoding: {}",
        if eight_bit { "8bit" } else { "7bit" }
    ));
    h(String::new());
    h("This is a MIME-encapsulated message.".into());
    h(String::new());

    h(format!("--{boundary}"));
    h("Content-Type: text/plain; charset=UTF-8".into());
    h("Content-Description: Notification".into());
    h("Content-Transfer-Encoding: base64".into());
    h(String::new());
    let text = BASE64.encode(human_text(dsn, &host, all_delayed));
    for chunk in text.as_bytes().chunks(76) {
        h(String::from_utf8_lossy(chunk).into_owned());
    }
    h(String::new());

    h(format!("--{boundary}"));
    h("Content-Type: message/delivery-status".into());
    h("Content-Description: Delivery report".into());
    h(String::new());
    h(format!("Reporting-MTA: dns; {host}"));
    if let Some(envid) = dsn.envid {
        h(format!("Original-Envelope-Id: {}", xtext(envid)));
    }
    h(format!("Arrival-Date: {}", rfc5322(dsn.arrival)));
    for r in dsn.recipients {
        h(String::new());
        h(format!("Final-Recipient: {}", address_field(&r.address)));
        if let Some(orcpt) = &r.orcpt {
            h(format!("Original-Recipient: {}", address_field(orcpt)));
        }
        h(format!("Action: {}", r.action.as_str()));
        let (c, s, d) = r.status;
        h(format!("Status: {c}.{s}.{d}"));
        if let Some(mta) = &r.remote_mta {
            h(format!("Remote-MTA: dns; {}", ascii_only(mta)));
        }
        if let Some(diag) = &r.diagnostic {
            let kind = if r.remote_mta.is_some() {
                "smtp"
            } else {
                "X-Mamori"
            };
            h(format!("Diagnostic-Code: {kind}; {}", diagnostic(diag)));
        }
        if let Some(at) = r.last_attempt {
            h(format!("Last-Attempt-Date: {}", rfc5322(at)));
        }
        if let Some(until) = r.will_retry_until {
            h(format!("Will-Retry-Until: {}", rfc5322(until)));
        }
    }
    h(String::new());

    h(format!("--{boundary}"));
    if full {
        h("Content-Type: message/rfc822".into());
        h("Content-Description: Undelivered Message".into());
    } else {
        h("Content-Type: text/rfc822-headers".into());
        h("Content-Description: Undelivered Message Headers".into());
    }
    if eight_bit {
        h("Content-Transfer-Encoding: 8bit".into());
    }
    h(String::new());
    out.extend_from_slice(&returned);
    if !returned.is_empty() && !returned.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    Ok(out)
}

/// The explanation for people, English first, then Japanese.
fn human_text(dsn: &Dsn<'_>, host: &str, all_delayed: bool) -> String {
    let mut t = String::new();
    t.push_str(&format!("This is the mail system at host {host}.\r\n\r\n"));
    if all_delayed {
        t.push_str(
            "Your message has not yet been delivered to the recipients below.\r\n\
             The mail system will keep trying; you do not need to send it again.\r\n",
        );
    } else {
        t.push_str(
            "I'm sorry to have to inform you that your message could not be delivered\r\n\
             to one or more recipients. The reasons are given below.\r\n",
        );
    }
    t.push_str("\r\n");
    t.push_str(&format!("こちらは {host} のメールシステムです。\r\n\r\n"));
    if all_delayed {
        t.push_str(
            "お送りいただいたメールは、以下の宛先にまだ配信されていません。\r\n\
             配信は自動で再試行されますので、再送信の必要はありません。\r\n",
        );
    } else {
        t.push_str(
            "お送りいただいたメールは、以下の宛先に配信できませんでした。\r\n\
             理由は下記のとおりです。\r\n",
        );
    }
    t.push_str("\r\n");
    for r in dsn.recipients {
        let what = match r.action {
            Action::Failed => "failed / 配信失敗",
            Action::Delayed => "delayed / 配信遅延",
        };
        t.push_str(&format!("<{}>: {what}\r\n", r.address));
        if let Some(mta) = &r.remote_mta {
            t.push_str(&format!("    host {mta} said / 相手先サーバーの応答:\r\n"));
        }
        if let Some(diag) = &r.diagnostic {
            t.push_str(&format!("    {}\r\n", diagnostic(diag)));
        }
        if let Some(until) = r.will_retry_until {
            t.push_str(&format!(
                "    retrying until / 再試行期限: {}\r\n",
                rfc5322(until)
            ));
        }
    }
    t
}

/// `rfc822; addr` for ASCII addresses, `utf-8; addr` (RFC 6533 xtext form) otherwise.
fn address_field(addr: &str) -> String {
    let addr = addr.replace(['\r', '\n'], "");
    if addr.is_ascii() {
        format!("rfc822; {}", ascii_only(&addr))
    } else {
        format!("utf-8; {}", utf8_addr_xtext(&addr))
    }
}

/// A diagnostic on one line, printable ASCII, bounded.
fn diagnostic(text: &str) -> String {
    let mut out: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else if c.is_whitespace() {
                ' '
            } else {
                '?'
            }
        })
        .take(MAX_DIAGNOSTIC)
        .collect();
    if text.chars().count() > MAX_DIAGNOSTIC {
        out.push_str("...");
    }
    out
}

fn ascii_only(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_ascii_graphic())
        .take(255)
        .collect()
}

fn token(unique: &str) -> String {
    let t: String = unique
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        .take(64)
        .collect();
    if t.is_empty() { "x".into() } else { t }
}

fn encoded_word(text: &str) -> String {
    format!("=?UTF-8?B?{}?=", BASE64.encode(text))
}

/// A boundary that does not occur in `content`.
fn boundary(unique: &str, content: &[u8]) -> String {
    let base = format!("=_mamori_dsn_{}", token(unique));
    let mut candidate = base.clone();
    let mut n = 0u32;
    while content
        .windows(candidate.len())
        .any(|w| w == candidate.as_bytes())
    {
        n += 1;
        candidate = format!("{base}_{n}");
    }
    candidate
}

/// CRLF line endings and no line over [`MAX_LINE`]: a longer line is split, with a
/// leading space on the continuation when it is a header (folding).
fn normalise(text: &[u8], headers: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + 16);
    let mut line_len = 0;
    let mut i = 0;
    while i < text.len() {
        let b = text[i];
        match b {
            b'\r' | b'\n' => {
                if b == b'\r' && text.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                out.extend_from_slice(b"\r\n");
                line_len = 0;
            }
            _ => {
                if line_len >= MAX_LINE {
                    out.extend_from_slice(b"\r\n");
                    line_len = 0;
                    if headers {
                        out.push(b' ');
                        line_len = 1;
                    }
                }
                out.push(b);
                line_len += 1;
            }
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbound::reply::Reply;

    const ORIGINAL: &[u8] = b"From: taro@example.jp\r\nTo: hanako@example.com\r\nSubject: hello\r\n\r\n.body line\r\nsecond\r\n";

    fn recipients() -> Vec<DsnRecipient> {
        let failure = Failure::remote(Reply::new(550, Some((5, 1, 1)), "user unknown"));
        let mut rcpt = OutRecipient::new("hanako@example.com");
        rcpt.orcpt = Some("Hanako@Example.com".into());
        let failed =
            DsnRecipient::from_failure(&rcpt, &failure, Some("mx.example.com"), 1_795_431_889);
        let delayed = DsnRecipient {
            address: "jiro@example.net".into(),
            orcpt: None,
            action: Action::Delayed,
            status: (4, 4, 1),
            remote_mta: None,
            diagnostic: Some("connection timed out\r\nline two".into()),
            last_attempt: None,
            will_retry_until: Some(1_795_431_889 + 86_400),
        };
        vec![failed, delayed]
    }

    fn dsn<'a>(rcpts: &'a [DsnRecipient], original: &'a [u8], ret: Option<Ret>) -> Dsn<'a> {
        Dsn {
            reporting_mta: "mamori.example.jp",
            sender: "taro@example.jp",
            envid: Some("QID+1"),
            arrival: 1_795_431_000,
            now: 1_795_431_889,
            unique: "Q123.4",
            recipients: rcpts,
            original,
            ret,
            max_full_size: 1024,
        }
    }

    /// Checks CRLF only, line lengths, and returns (headers, parts of the multipart body).
    fn structure(bytes: &[u8]) -> (String, Vec<String>) {
        for (i, b) in bytes.iter().enumerate() {
            if *b == b'\n' {
                assert_eq!(bytes.get(i.wrapping_sub(1)), Some(&b'\r'), "bare LF at {i}");
            }
            if *b == b'\r' {
                assert_eq!(bytes.get(i + 1), Some(&b'\n'), "bare CR at {i}");
            }
        }
        let text = String::from_utf8_lossy(bytes).into_owned();
        for line in text.split("\r\n") {
            assert!(line.len() <= MAX_LINE, "line of {} octets", line.len());
        }
        let (headers, body) = text.split_once("\r\n\r\n").unwrap();
        let boundary = headers
            .split("boundary=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        let delim = format!("\r\n--{boundary}");
        assert!(body.ends_with(&format!("--{boundary}--\r\n")));
        let mut parts: Vec<String> = body.split(&delim).map(str::to_string).collect();
        parts.remove(0); // preamble
        assert_eq!(
            parts.pop().as_deref(),
            Some("--\r\n"),
            "closing delimiter last"
        );
        (headers.to_string(), parts)
    }

    #[test]
    fn bounce_has_the_three_parts_and_fields() {
        let rcpts = recipients();
        let bytes = render(&dsn(&rcpts, ORIGINAL, None)).unwrap();
        let (headers, parts) = structure(&bytes);
        assert!(headers.contains("From: Mail Delivery System <MAILER-DAEMON@mamori.example.jp>"));
        assert!(headers.contains("To: <taro@example.jp>"));
        assert!(headers.contains("Auto-Submitted: auto-replied"));
        assert!(headers.contains("Date: Mon, 23 Nov 2026 11:04:49 +0000"));
        assert!(headers.contains("Message-ID: <Q123.4.dsn@mamori.example.jp>"));
        let subject = headers.lines().find(|l| l.starts_with("Subject:")).unwrap();
        assert!(subject.starts_with("Subject: Undelivered Mail Returned to Sender / =?UTF-8?B?"));
        let b64 = subject.rsplit("?B?").next().unwrap().trim_end_matches("?=");
        assert_eq!(
            String::from_utf8(BASE64.decode(b64).unwrap()).unwrap(),
            "配信できなかったメール"
        );
        assert_eq!(parts.len(), 3);

        let (p1h, p1b) = parts[0]
            .trim_start_matches("\r\n")
            .split_once("\r\n\r\n")
            .unwrap();
        assert!(p1h.contains("text/plain; charset=UTF-8") && p1h.contains("base64"));
        let human = String::from_utf8(BASE64.decode(p1b.replace("\r\n", "")).unwrap()).unwrap();
        assert!(human.contains("could not be delivered") && human.contains("配信できませんでした"));
        assert!(human.contains("550 5.1.1 user unknown"));

        let report = &parts[1];
        assert!(report.contains("Content-Type: message/delivery-status"));
        for field in [
            "Reporting-MTA: dns; mamori.example.jp",
            "Original-Envelope-Id: QID+2B1",
            "Arrival-Date: ",
            "Final-Recipient: rfc822; hanako@example.com",
            "Original-Recipient: rfc822; Hanako@Example.com",
            "Action: failed",
            "Status: 5.1.1",
            "Remote-MTA: dns; mx.example.com",
            "Diagnostic-Code: smtp; 550 5.1.1 user unknown",
            "Last-Attempt-Date: Mon, 23 Nov 2026 11:04:49 +0000",
            "Final-Recipient: rfc822; jiro@example.net",
            "Action: delayed",
            "Status: 4.4.1",
            "Diagnostic-Code: X-Mamori; connection timed out  line two",
            "Will-Retry-Until: Tue, 24 Nov 2026 11:04:49 +0000",
        ] {
            assert!(report.contains(field), "missing {field:?} in {report}");
        }
        assert!(parts[2].contains("Content-Type: text/rfc822-headers"));
        assert!(parts[2].contains("Subject: hello"));
        assert!(
            !parts[2].contains(".body line"),
            "headers only without RET=FULL"
        );
    }

    #[test]
    fn ret_full_returns_the_message_when_small_enough() {
        let rcpts = recipients();
        let bytes = render(&dsn(&rcpts, ORIGINAL, Some(Ret::Full))).unwrap();
        let (_, parts) = structure(&bytes);
        assert!(parts[2].contains("Content-Type: message/rfc822"));
        assert!(parts[2].contains(".body line\r\nsecond\r\n"));
        let big = [ORIGINAL, "x".repeat(2000).as_bytes()].concat();
        let bytes = render(&dsn(&rcpts, &big, Some(Ret::Full))).unwrap();
        let (_, parts) = structure(&bytes);
        assert!(parts[2].contains("Content-Type: text/rfc822-headers"));
    }

    #[test]
    fn hostile_original_cannot_break_the_structure() {
        let rcpts = recipients();
        let long = "X-Long: ".to_string() + &"a".repeat(3000);
        let original = format!(
            "{long}\nSubject: bare LF\r\nX-Boundary: =_mamori_dsn_Q123.4\rX-8bit: 日本語\r\n\r\n--=_mamori_dsn_Q123.4--\r\n"
        );
        let bytes = render(&dsn(&rcpts, original.as_bytes(), Some(Ret::Full))).unwrap();
        let (headers, parts) = structure(&bytes);
        assert_eq!(
            parts.len(),
            3,
            "the original's boundary look-alike is not ours"
        );
        assert!(headers.contains("boundary=\"=_mamori_dsn_Q123.4_1\""));
        assert!(headers.contains("Content-Transfer-Encoding: 8bit"));
        assert!(parts[2].contains("X-8bit: 日本語"));
    }

    #[test]
    fn delay_notice_and_refusals() {
        let rcpts: Vec<_> = recipients()
            .into_iter()
            .filter(|r| r.action == Action::Delayed)
            .collect();
        let bytes = render(&dsn(&rcpts, ORIGINAL, None)).unwrap();
        let (headers, _) = structure(&bytes);
        assert!(headers.contains("Subject: Delayed Mail (still being retried) / =?UTF-8?B?"));
        let mut d = dsn(&rcpts, ORIGINAL, None);
        d.sender = "";
        assert_eq!(render(&d), Err(DsnError::NullSender));
        assert_eq!(
            render(&dsn(&[], ORIGINAL, None)),
            Err(DsnError::NoRecipients)
        );
    }

    #[test]
    fn utf8_recipients_use_the_utf8_address_type() {
        let mut rcpts = recipients();
        rcpts[0].address = "花子@例え.jp".into();
        let bytes = render(&dsn(&rcpts, ORIGINAL, None)).unwrap();
        let (_, parts) = structure(&bytes);
        assert!(
            parts[1].contains("Final-Recipient: utf-8; \\x{82B1}\\x{5B50}@\\x{4F8B}\\x{3048}.jp")
        );
    }

    #[test]
    fn from_failure_matches_class_to_action() {
        let rcpt = OutRecipient::new("a@b.jp");
        let temp = Failure::remote(Reply::new(451, Some((4, 7, 1)), "greylisted"));
        let r = DsnRecipient::from_failure(&rcpt, &temp, Some("mx"), 0);
        assert_eq!((r.action, r.status), (Action::Delayed, (4, 7, 1)));
        let local = Failure::local(Reply::new(553, None, "needs SMTPUTF8"));
        let r = DsnRecipient::from_failure(&rcpt, &local, Some("mx"), 0);
        assert_eq!(
            (r.action, r.status, r.remote_mta),
            (Action::Failed, (5, 0, 0), None)
        );
    }
}
