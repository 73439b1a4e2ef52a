//! Whole RFC 5322 messages the way Japanese mail clients write them: UTF-8 (8bit, base64 or
//! quoted-printable), ISO-2022-JP (7bit), Shift_JIS (base64 or 8bit), HTML with or without a
//! plain-text alternative, and attachments in base64. Line ends are CRLF.

use base64::Engine as _;
use encoding_rs::{Encoding, ISO_2022_JP, SHIFT_JIS, UTF_8};

/// How a text body is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BodyForm {
    /// text/plain; charset=UTF-8, 8bit.
    Utf8Bit8,
    /// text/plain; charset=UTF-8, base64.
    Utf8Base64,
    /// text/plain; charset=UTF-8, quoted-printable.
    Utf8Qp,
    /// text/plain; charset=ISO-2022-JP, 7bit (the classic Japanese form).
    Iso2022Jp,
    /// text/plain; charset=Shift_JIS, base64.
    SjisBase64,
    /// text/plain; charset=Shift_JIS, 8bit.
    Sjis8bit,
    /// multipart/alternative of text/plain and text/html, both UTF-8.
    HtmlAlternative,
    /// text/html alone, UTF-8 base64.
    HtmlOnly,
}

/// Who sends what to whom.
#[derive(Clone, Debug)]
pub struct Envelope {
    /// The sender's display name.
    pub from_name: String,
    /// The sender's address.
    pub from: String,
    /// The recipient's address.
    pub to: String,
    /// The subject (Unicode; encoded here).
    pub subject: String,
    /// A token that makes the Message-ID unique.
    pub id: u64,
}

/// Encodes `text`, which must be representable in `encoding`.
pub fn encode(text: &str, encoding: &'static Encoding) -> Vec<u8> {
    let (bytes, used, had_errors) = encoding.encode(text);
    assert!(
        used == encoding && !had_errors,
        "{text:?} is not representable in {}",
        encoding.name()
    );
    bytes.into_owned()
}

/// LF to CRLF.
pub fn crlf(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\n', "\r\n")
}

/// base64 in lines of 76 characters, each ended by CRLF.
pub fn base64_lines(bytes: &[u8]) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut out = String::with_capacity(encoded.len() + encoded.len() / 38 + 2);
    for chunk in encoded.as_bytes().chunks(76) {
        out.push_str(std::str::from_utf8(chunk).expect("base64 is ASCII"));
        out.push_str("\r\n");
    }
    out
}

/// Quoted-printable (RFC 2045 §6.7) of CRLF text: soft line breaks before 76 columns.
pub fn quoted_printable(bytes: &[u8]) -> String {
    let mut out = String::new();
    let text = bytes;
    let lines: Vec<&[u8]> = text.split(|&b| b == b'\n').collect();
    for (index, line) in lines.iter().enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let mut column = 0;
        for (i, &b) in line.iter().enumerate() {
            let last = i + 1 == line.len();
            let literal = (b'!'..=b'~').contains(&b) && b != b'=' || (b == b' ' && !last);
            let piece = if literal {
                char::from(b).to_string()
            } else {
                format!("={b:02X}")
            };
            if column + piece.len() > 75 {
                out.push_str("=\r\n");
                column = 0;
            }
            column += piece.len();
            out.push_str(&piece);
        }
        if index + 1 < lines.len() {
            out.push_str("\r\n");
        }
    }
    out
}

/// A header value in RFC 2047 encoded words of `charset`, folded, each word short enough.
pub fn encoded_words(text: &str, encoding: &'static Encoding) -> String {
    if text.is_ascii() {
        return text.to_string();
    }
    let chars: Vec<char> = text.chars().collect();
    let label = if encoding == UTF_8 {
        "UTF-8"
    } else if encoding == ISO_2022_JP {
        "ISO-2022-JP"
    } else {
        "Shift_JIS"
    };
    chars
        .chunks(12)
        .map(|chunk| {
            let piece: String = chunk.iter().collect();
            let bytes = encode(&piece, encoding);
            format!(
                "=?{label}?B?{}?=",
                base64::engine::general_purpose::STANDARD.encode(bytes)
            )
        })
        .collect::<Vec<_>>()
        .join("\r\n ")
}

/// The header block common to every message, up to (not including) the content fields.
fn head(envelope: &Envelope, header_charset: &'static Encoding) -> String {
    format!(
        "From: {} <{}>\r\n\
         To: {}\r\n\
         Subject: {}\r\n\
         Date: Wed, 12 Jun 2024 10:15:00 +0900\r\n\
         Message-ID: <m{:x}.mamori@office.example.jp>\r\n\
         MIME-Version: 1.0\r\n",
        encoded_words(&envelope.from_name, header_charset),
        envelope.from,
        envelope.to,
        encoded_words(&envelope.subject, header_charset),
        envelope.id,
    )
}

/// The content fields and the encoded body of a text/plain part in `form` (a plain form;
/// the HTML forms give their UTF-8 base64 alternative).
fn plain_part(text: &str, form: BodyForm) -> (&'static str, Vec<u8>) {
    let text = crlf(text);
    match form {
        BodyForm::Utf8Bit8 => (
            "Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n",
            text.into_bytes(),
        ),
        BodyForm::Utf8Base64 | BodyForm::HtmlAlternative | BodyForm::HtmlOnly => (
            "Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n",
            base64_lines(text.as_bytes()).into_bytes(),
        ),
        BodyForm::Utf8Qp => (
            "Content-Type: text/plain; charset=UTF-8\r\n\
             Content-Transfer-Encoding: quoted-printable\r\n",
            quoted_printable(text.as_bytes()).into_bytes(),
        ),
        BodyForm::Iso2022Jp => (
            "Content-Type: text/plain; charset=ISO-2022-JP\r\nContent-Transfer-Encoding: 7bit\r\n",
            encode(&text, ISO_2022_JP),
        ),
        BodyForm::SjisBase64 => (
            "Content-Type: text/plain; charset=Shift_JIS\r\nContent-Transfer-Encoding: base64\r\n",
            base64_lines(&encode(&text, SHIFT_JIS)).into_bytes(),
        ),
        BodyForm::Sjis8bit => (
            "Content-Type: text/plain; charset=Shift_JIS\r\nContent-Transfer-Encoding: 8bit\r\n",
            encode(&text, SHIFT_JIS),
        ),
    }
}

/// A message with one body: plain text in `form`, or `html` (with `text` as its plain
/// alternative or alone) for the HTML forms.
pub fn message(envelope: &Envelope, text: &str, html: &str, form: BodyForm) -> Vec<u8> {
    let header_charset = match form {
        BodyForm::Iso2022Jp => ISO_2022_JP,
        BodyForm::SjisBase64 | BodyForm::Sjis8bit => SHIFT_JIS,
        _ => UTF_8,
    };
    let mut out = head(envelope, header_charset).into_bytes();
    match form {
        BodyForm::HtmlAlternative => {
            let boundary = format!("----=_Alt_{:x}", envelope.id);
            let (fields, body) = plain_part(text, form);
            out.extend_from_slice(
                format!(
                    "Content-Type: multipart/alternative; boundary=\"{boundary}\"\r\n\r\n\
                     --{boundary}\r\n{fields}\r\n"
                )
                .as_bytes(),
            );
            out.extend_from_slice(&body);
            out.extend_from_slice(
                format!(
                    "--{boundary}\r\n\
                     Content-Type: text/html; charset=UTF-8\r\n\
                     Content-Transfer-Encoding: quoted-printable\r\n\r\n\
                     {}\r\n\
                     --{boundary}--\r\n",
                    quoted_printable(crlf(html).as_bytes())
                )
                .as_bytes(),
            );
        }
        BodyForm::HtmlOnly => {
            out.extend_from_slice(
                format!(
                    "Content-Type: text/html; charset=UTF-8\r\n\
                     Content-Transfer-Encoding: base64\r\n\r\n{}",
                    base64_lines(crlf(html).as_bytes())
                )
                .as_bytes(),
            );
        }
        _ => {
            let (fields, body) = plain_part(text, form);
            out.extend_from_slice(fields.as_bytes());
            out.extend_from_slice(b"\r\n");
            out.extend_from_slice(&body);
        }
    }
    out
}

/// RFC 2231 percent-encoding of a UTF-8 file name.
fn rfc2231(name: &str) -> String {
    name.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_') {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A file attached to a message.
#[derive(Clone, Debug)]
pub struct Attachment {
    /// The file name.
    pub name: String,
    /// Its MIME type.
    pub content_type: String,
    /// Its content.
    pub bytes: Vec<u8>,
}

/// multipart/mixed: a short text/plain UTF-8 body and an attachment in base64, with the file
/// name both as an encoded word (`name=`) and in RFC 2231 form (`filename*=`), as Outlook and
/// Thunderbird write it.
pub fn with_attachment(envelope: &Envelope, text: &str, attachment: &Attachment) -> Vec<u8> {
    let boundary = format!("----=_Mixed_{:x}", envelope.id);
    let (fields, body) = plain_part(text, BodyForm::Utf8Base64);
    let body = String::from_utf8(body).expect("base64 is ASCII");
    let mut out = head(envelope, UTF_8);
    out.push_str(&format!(
        "Content-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\n\
         This is a multi-part message in MIME format.\r\n\
         --{boundary}\r\n{fields}\r\n{body}\
         --{boundary}\r\n\
         Content-Type: {}; name=\"{}\"\r\n\
         Content-Disposition: attachment; filename*=UTF-8''{}\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n\
         {}\
         --{boundary}--\r\n",
        attachment.content_type,
        encoded_words(&attachment.name, UTF_8),
        rfc2231(&attachment.name),
        base64_lines(&attachment.bytes),
    ));
    out.into_bytes()
}

/// Escapes text for HTML.
pub fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
