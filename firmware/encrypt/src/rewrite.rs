//! Rewriting a mail whose attachments were packed into an encrypted archive: the packed
//! attachments leave, the archive takes the place of the first of them, and the notice goes
//! at the top of the text the recipient reads, in the body's own charset.
//!
//! The structure is DLP's own reading of the message ([`mamori_dlp::mime::outline`]), so
//! that the parts packed are the parts DLP judged as attachments. Everything else keeps its
//! bytes: other parts, the message's header (its `Content-Type` too when the top is a
//! multipart, whose boundary stays), nested multiparts. A body that receives the notice is
//! re-encoded in its transfer encoding and charset; when that charset cannot carry the
//! notice (US-ASCII, Latin-1) the body is converted to UTF-8, and when the notice makes a
//! 7bit body 8-bit it is sent as base64 (its header then says so).
//!
//! Which bodies: the first text of the message, and in a `multipart/alternative` the first
//! text of each alternative (the plain and the HTML), so that whichever a client shows
//! carries it. A message without any text gets a text part of its own for the notice.

use std::ops::Range;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use encoding_rs::{Encoding, UTF_8, WINDOWS_1252};
use mamori_dlp::mime::{Node, Outline, Transfer};

use crate::notice::NoticeText;

/// The archive that replaces the attachments (none in link mode: they only leave), and
/// the notice.
pub struct Packing<'a> {
    /// The archive's file name.
    pub name: &'a str,
    /// The archive's bytes; `None`: the attachments leave and nothing takes their place.
    pub archive: Option<&'a [u8]>,
    /// What the recipient is told.
    pub notice: &'a dyn NoticeText,
}

/// Why a mail could not be rewritten.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RewriteError {
    /// No attachment to pack, or an index past the attachments.
    #[error("no attachment to pack, or an attachment index past the last")]
    NothingToPack,
    /// The rewritten mail does not read back as what was meant (a body whose re-encoding
    /// would have made a part of its own, say): it is not sent.
    #[error("the rewritten mail does not read back as it should: {0}")]
    Structure(String),
}

/// The attachments of `outline` in document order: what the indices given to [`rewrite`]
/// count.
pub fn attachments(outline: &Outline) -> Vec<&Node> {
    fn collect<'a>(node: &'a Node, out: &mut Vec<&'a Node>) {
        match node {
            Node::Multipart { parts, .. } => parts.iter().for_each(|(_, part)| collect(part, out)),
            Node::Attachment { .. } => out.push(node),
            Node::Body { .. } => {}
        }
    }
    let mut out = Vec::new();
    collect(&outline.root, &mut out);
    out
}

/// For each attachment of [`attachments`], whether it is a picture of an HTML body (an
/// `image/*` part of a `multipart/related` with a `Content-ID`, not marked as an
/// attachment: the logo of a signature, a picture in the text). Those stay where they are:
/// packing them would break the page the recipient reads, and they are shown content, like
/// the body. Anything else in a related part (a CSV with a Content-ID) is packed.
pub fn inline_parts(raw: &[u8], outline: &Outline) -> Vec<bool> {
    fn collect(raw: &[u8], node: &Node, related: bool, out: &mut Vec<bool>) {
        match node {
            Node::Multipart { subtype, parts, .. } => {
                let related = subtype == "related";
                for (_, part) in parts {
                    collect(raw, part, related, out);
                }
            }
            Node::Attachment {
                header,
                content_type,
                ..
            } => {
                let header = raw.get(header.clone()).unwrap_or_default();
                let picture = content_type.starts_with("image/");
                let marked = field_value(header, "content-disposition").is_some_and(|v| {
                    v.trim_ascii_start()
                        .get(..10)
                        .is_some_and(|t| t.eq_ignore_ascii_case(b"attachment"))
                });
                out.push(related && picture && has_field(header, "content-id") && !marked);
            }
            Node::Body { .. } => {}
        }
    }
    let mut out = Vec::new();
    collect(raw, &outline.root, false, &mut out);
    out
}

/// For each attachment of [`attachments`], its part number as DLP's walk names it
/// (`2`, `1.3`; `1` for a message that is one part): what a finding's location starts with
/// (`attachment 2 "a.csv"`), so that a finding can be told to be in a packed attachment.
pub fn attachment_parts(outline: &Outline) -> Vec<String> {
    fn collect(node: &Node, number: &str, out: &mut Vec<String>) {
        match node {
            Node::Multipart { parts, .. } => {
                for (i, (_, part)) in parts.iter().enumerate() {
                    let n = if number.is_empty() {
                        (i + 1).to_string()
                    } else {
                        format!("{number}.{}", i + 1)
                    };
                    collect(part, &n, out);
                }
            }
            Node::Attachment { .. } => out.push(if number.is_empty() {
                "1".to_owned()
            } else {
                number.to_owned()
            }),
            Node::Body { .. } => {}
        }
    }
    let mut out = Vec::new();
    collect(&outline.root, "", &mut out);
    out
}

/// Is any part of the message signed (`multipart/signed`, at any depth)? Packing its
/// attachments would break the signature.
pub fn has_signed_part(outline: &Outline) -> bool {
    fn find(node: &Node) -> bool {
        match node {
            Node::Multipart { subtype, parts, .. } => {
                subtype == "signed" || parts.iter().any(|(_, p)| find(p))
            }
            _ => false,
        }
    }
    find(&outline.root)
}

/// The value of the first field `name` of a header block (its first line).
fn field_value<'a>(header: &'a [u8], name: &str) -> Option<&'a [u8]> {
    header.split(|&b| b == b'\n').find_map(|line| {
        let colon = line.iter().position(|&b| b == b':')?;
        let (n, v) = line.split_at(colon);
        (!line.first().is_some_and(|b| *b == b' ' || *b == b'\t')
            && n.trim_ascii().eq_ignore_ascii_case(name.as_bytes()))
        .then(|| v.get(1..).unwrap_or_default())
    })
}

/// `raw` with the attachments at `packed` (indices into [`attachments`]) replaced by the
/// archive, and the notice at the top of its text.
pub fn rewrite(
    raw: &[u8],
    outline: &Outline,
    packed: &[usize],
    packing: &Packing<'_>,
) -> Result<Vec<u8>, RewriteError> {
    let count = attachments(outline).len();
    if packed.is_empty() || packed.iter().any(|&i| i >= count) {
        return Err(RewriteError::NothingToPack);
    }
    let mut writer = Writer {
        raw,
        packed,
        packing,
        next: 0,
        archive_written: false,
    };
    let header = raw.get(outline.header.clone()).unwrap_or_default();
    let archive_len = packing.archive.map_or(0, <[u8]>::len);
    let mut out = Vec::with_capacity(raw.len() + archive_len * 4 / 3);
    match &outline.root {
        Node::Multipart {
            boundary, parts, ..
        } => {
            out.extend_from_slice(header);
            out.extend_from_slice(b"\r\n\r\n");
            let lone_notice = !has_body(&outline.root);
            writer.multipart(&mut out, boundary, parts, lone_notice, "mixed", true);
        }
        Node::Attachment { .. } => {
            // A message that is one attachment: a multipart of the notice and the archive.
            let boundary = fresh_boundary();
            let kept = without_fields(
                header,
                &[
                    "content-type",
                    "content-transfer-encoding",
                    "content-disposition",
                ],
            );
            out.extend_from_slice(&kept);
            if !kept.is_empty() {
                out.extend_from_slice(b"\r\n");
            }
            if !has_field(header, "mime-version") {
                out.extend_from_slice(b"MIME-Version: 1.0\r\n");
            }
            out.extend_from_slice(
                format!("Content-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\n")
                    .as_bytes(),
            );
            out.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
            out.extend_from_slice(&notice_part(packing.notice));
            if let Some(archive) = packing.archive {
                out.extend_from_slice(format!("\r\n--{boundary}\r\n").as_bytes());
                out.extend_from_slice(&archive_part(packing.name, archive));
            }
            out.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        }
        Node::Body { .. } => return Err(RewriteError::NothingToPack),
    }
    check(
        &out,
        count - dedup_len(packed) + usize::from(packing.archive.is_some()),
    )?;
    Ok(out)
}

/// How many distinct indices `packed` names.
fn dedup_len(packed: &[usize]) -> usize {
    let mut seen: Vec<usize> = packed.to_vec();
    seen.sort_unstable();
    seen.dedup();
    seen.len()
}

/// Reads the rewritten mail back as DLP would: it must have one structure, and exactly the
/// attachments meant (the ones not packed, and the archive). A body whose re-encoding made
/// a part of its own, or a delimiter the notice happened to write, fails here.
fn check(out: &[u8], expected: usize) -> Result<(), RewriteError> {
    let outline = mamori_dlp::mime::outline(out)
        .map_err(|error| RewriteError::Structure(error.to_string()))?;
    let found = attachments(&outline).len();
    if found != expected {
        return Err(RewriteError::Structure(format!(
            "{found} attachments where {expected} were meant"
        )));
    }
    Ok(())
}

/// The state of one rewrite.
struct Writer<'a> {
    raw: &'a [u8],
    packed: &'a [usize],
    packing: &'a Packing<'a>,
    /// The index of the next attachment met.
    next: usize,
    archive_written: bool,
}

impl Writer<'_> {
    /// Writes a multipart's body (after its header): its parts, rewritten. `notice`: the
    /// first text it holds gets the notice (each alternative's, in an alternative);
    /// `lone_notice`: it holds no text, so a part of its own carries the notice.
    fn multipart(
        &mut self,
        out: &mut Vec<u8>,
        boundary: &[u8],
        parts: &[(Range<usize>, Node)],
        lone_notice: bool,
        subtype: &str,
        notice: bool,
    ) -> usize {
        let mut written = 0usize;
        let mut first = true;
        let mut delimiter = |out: &mut Vec<u8>| {
            if !std::mem::take(&mut first) {
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(b"--");
            out.extend_from_slice(boundary);
            out.extend_from_slice(b"\r\n");
        };
        if lone_notice {
            delimiter(out);
            out.extend_from_slice(&notice_part(self.packing.notice));
            written += 1;
        }
        let mut notice_left = notice;
        for (range, node) in parts {
            let wants = notice_left && has_body(node);
            if wants && subtype != "alternative" {
                notice_left = false;
            }
            let Some(bytes) = self.part(range, node, wants) else {
                continue;
            };
            delimiter(out);
            out.extend_from_slice(&bytes);
            written += 1;
        }
        out.extend_from_slice(b"\r\n--");
        out.extend_from_slice(boundary);
        out.extend_from_slice(b"--\r\n");
        written
    }

    /// One part rewritten: `None` when it leaves (a packed attachment after the first).
    fn part(&mut self, range: &Range<usize>, node: &Node, notice: bool) -> Option<Vec<u8>> {
        let raw = self.raw;
        match node {
            Node::Attachment { .. } => {
                let index = self.next;
                self.next += 1;
                if !self.packed.contains(&index) {
                    return Some(raw.get(range.clone()).unwrap_or_default().to_vec());
                }
                let archive = self.packing.archive?;
                if std::mem::replace(&mut self.archive_written, true) {
                    return None;
                }
                Some(archive_part(self.packing.name, archive))
            }
            Node::Body {
                header,
                content,
                subtype,
                charset,
                transfer,
            } if notice && shows_notice(subtype) => {
                let header = raw.get(header.clone()).unwrap_or_default();
                let content = raw.get(content.clone()).unwrap_or_default();
                Some(noticed_body(
                    header,
                    content,
                    subtype,
                    charset.as_deref(),
                    *transfer,
                    self.packing.notice,
                ))
            }
            Node::Body { .. } => Some(raw.get(range.clone()).unwrap_or_default().to_vec()),
            Node::Multipart {
                header,
                subtype,
                boundary,
                parts,
            } => {
                let mut out = raw.get(header.clone()).unwrap_or_default().to_vec();
                out.extend_from_slice(b"\r\n\r\n");
                if self.multipart(&mut out, boundary, parts, false, subtype, notice) == 0 {
                    // Only packed attachments were in it: it leaves with them.
                    return None;
                }
                // The closing delimiter's line break belongs to the enclosing delimiter.
                while out.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                    out.pop();
                }
                Some(out)
            }
        }
    }
}

/// Is a `text/<subtype>` body one the notice goes into (plain text and HTML; not a
/// calendar invitation or an unnamed CSV)?
fn shows_notice(subtype: &str) -> bool {
    matches!(subtype, "plain" | "html")
}

/// Does `node` hold text a client shows that the notice can go into?
fn has_body(node: &Node) -> bool {
    match node {
        Node::Body { subtype, .. } => shows_notice(subtype),
        Node::Attachment { .. } => false,
        Node::Multipart { parts, .. } => parts.iter().any(|(_, part)| has_body(part)),
    }
}

/// A text body with the notice at its top: its header (changed only where the charset or
/// the transfer encoding had to change) and its content.
fn noticed_body(
    header: &[u8],
    content: &[u8],
    subtype: &str,
    charset: Option<&str>,
    transfer: Transfer,
    notice: &dyn NoticeText,
) -> Vec<u8> {
    let decoded = transfer.decode(content);
    let html = subtype == "html";
    let notice_text = if html { notice.html() } else { notice.text() };
    let declared = charset.and_then(mamori_dlp::charset::encoding_for_label);
    // The body's own charset, when it can carry the notice as it is.
    let own = declared.filter(|encoding| {
        encoding.output_encoding() == *encoding && !encoding.encode(&notice_text).2
    });
    let (text, label, changed_charset) = match own {
        Some(encoding) => {
            let notice_bytes = encoding.encode(&notice_text).0.into_owned();
            (
                insert(&decoded, &notice_bytes, html),
                encoding.name(),
                false,
            )
        }
        None => {
            // Converted to UTF-8: the body as its charset (or Windows-1252, which reads
            // any byte, for US-ASCII and none) says.
            let source: &'static Encoding = declared.unwrap_or(WINDOWS_1252);
            let body = source.decode_without_bom_handling(&decoded).0.into_owned();
            (
                insert(body.as_bytes(), notice_text.as_bytes(), html),
                UTF_8.name(),
                true,
            )
        }
    };
    let eight_bit = !text.is_ascii();
    let new_transfer = match transfer {
        Transfer::Identity if eight_bit && (changed_charset || content.is_ascii()) => {
            Transfer::Base64
        }
        other => other,
    };
    let mut out = if changed_charset || new_transfer != transfer {
        let mut rebuilt = without_fields(header, &["content-type", "content-transfer-encoding"]);
        if !rebuilt.is_empty() {
            rebuilt.extend_from_slice(b"\r\n");
        }
        rebuilt.extend_from_slice(
            format!("Content-Type: text/{subtype}; charset=\"{label}\"").as_bytes(),
        );
        let cte = match new_transfer {
            Transfer::Base64 => "base64",
            Transfer::QuotedPrintable => "quoted-printable",
            Transfer::Identity if eight_bit => "8bit",
            Transfer::Identity => "7bit",
        };
        rebuilt.extend_from_slice(format!("\r\nContent-Transfer-Encoding: {cte}").as_bytes());
        rebuilt
    } else {
        header.to_vec()
    };
    out.extend_from_slice(b"\r\n\r\n");
    out.extend_from_slice(&encode(&text, new_transfer));
    out
}

/// `body` with `notice` inserted: after the `<body …>` tag of HTML that has one, else at
/// the start.
fn insert(body: &[u8], notice: &[u8], html: bool) -> Vec<u8> {
    let at = if html {
        after_body_tag(body).unwrap_or(0)
    } else {
        0
    };
    let mut out = Vec::with_capacity(body.len() + notice.len());
    out.extend_from_slice(body.get(..at).unwrap_or_default());
    out.extend_from_slice(notice);
    out.extend_from_slice(body.get(at..).unwrap_or_default());
    out
}

/// Where the text of an HTML document starts: just after its `<body …>` tag.
fn after_body_tag(html: &[u8]) -> Option<usize> {
    let lower = html.to_ascii_lowercase();
    let start = lower.windows(5).position(|w| w == b"<body").filter(|&at| {
        lower
            .get(at + 5)
            .is_some_and(|b| *b == b'>' || b.is_ascii_whitespace())
    })?;
    let end = lower.get(start..)?.iter().position(|&b| b == b'>')?;
    Some(start + end + 1)
}

/// `bytes` in a transfer encoding, lines of at most 76 characters.
fn encode(bytes: &[u8], transfer: Transfer) -> Vec<u8> {
    match transfer {
        Transfer::Identity => bytes.to_vec(),
        Transfer::Base64 => base64_lines(bytes),
        Transfer::QuotedPrintable => quoted_printable(bytes),
    }
}

/// base64 in lines of 76 characters, CRLF between them.
fn base64_lines(bytes: &[u8]) -> Vec<u8> {
    let encoded = STANDARD.encode(bytes);
    let mut out = Vec::with_capacity(encoded.len() + encoded.len() / 38 + 2);
    for (i, line) in encoded.as_bytes().chunks(76).enumerate() {
        if i > 0 {
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(line);
    }
    out
}

/// Quoted-printable (RFC 2045 §6.7): line breaks kept as CRLF, soft breaks before 76.
fn quoted_printable(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() * 3 / 2);
    let text = bytes;
    let mut lines = text.split(|&b| b == b'\n').peekable();
    while let Some(line) = lines.next() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let mut width = 0;
        for (i, &b) in line.iter().enumerate() {
            let last = i + 1 == line.len();
            // A `-` starting a line is encoded, so that no line of the encoded body can
            // read as a boundary delimiter.
            let literal = ((b'!'..=b'~').contains(&b) && b != b'=' && !(b == b'-' && width == 0))
                || ((b == b' ' || b == b'\t') && !last);
            let piece: Vec<u8> = if literal {
                vec![b]
            } else {
                format!("={b:02X}").into_bytes()
            };
            if width + piece.len() > 75 {
                out.extend_from_slice(b"=\r\n");
                width = 0;
            }
            width += piece.len();
            out.extend_from_slice(&piece);
        }
        if lines.peek().is_some() {
            out.extend_from_slice(b"\r\n");
        }
    }
    out
}

/// The header block `header` without the fields named (lower case), continuation lines
/// included; lines joined with CRLF, no break at the end.
fn without_fields(header: &[u8], names: &[&str]) -> Vec<u8> {
    let mut out: Vec<u8> = Vec::with_capacity(header.len());
    let mut keep = true;
    for line in header.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let continuation = line.first().is_some_and(|b| *b == b' ' || *b == b'\t');
        if !continuation {
            let name = line
                .split(|&b| b == b':')
                .next()
                .unwrap_or_default()
                .trim_ascii()
                .to_ascii_lowercase();
            keep = !names.iter().any(|n| n.as_bytes() == name.as_slice());
        }
        if keep {
            if !out.is_empty() {
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(line);
        }
    }
    out
}

/// Does the header block have a field `name` (lower case)?
fn has_field(header: &[u8], name: &str) -> bool {
    header.split(|&b| b == b'\n').any(|line| {
        !line.first().is_some_and(|b| *b == b' ' || *b == b'\t')
            && line
                .split(|&b| b == b':')
                .next()
                .is_some_and(|n| n.trim_ascii().eq_ignore_ascii_case(name.as_bytes()))
    })
}

/// A boundary for the multipart a one-attachment mail becomes: `=_` (which base64, the
/// archive's encoding, never writes) and 128 random bits, which nothing else in the mail
/// (the notice, the kept header) holds but by a chance of 2^-128; the check of the result
/// would refuse it then.
fn fresh_boundary() -> String {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 16];
    // A failing generator leaves zeros: still a boundary the result is checked with.
    let _ = ring::rand::SystemRandom::new().fill(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("=_mamori_{hex}")
}

/// The text part that carries the notice alone (UTF-8, base64).
fn notice_part(notice: &dyn NoticeText) -> Vec<u8> {
    let mut out =
        b"Content-Type: text/plain; charset=\"UTF-8\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            .to_vec();
    out.extend_from_slice(&base64_lines(notice.text().as_bytes()));
    out
}

/// The archive's part: `application/zip`, its name (RFC 2231 and, for old clients, RFC
/// 2047 when not ASCII), base64.
fn archive_part(name: &str, archive: &[u8]) -> Vec<u8> {
    // The name goes into header fields: no line breaks or other control characters.
    let cleaned: String = name.chars().filter(|c| !c.is_control()).collect();
    let name = cleaned.as_str();
    let (type_name, disposition_name) = if name.is_ascii() {
        let quoted = name.replace('\\', "\\\\").replace('"', "\\\"");
        (
            format!("name=\"{quoted}\""),
            format!("filename=\"{quoted}\""),
        )
    } else {
        let encoded_word = format!("=?UTF-8?B?{}?=", STANDARD.encode(name));
        let percent: String = name
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    char::from(b).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        (
            format!("name=\"{encoded_word}\""),
            format!("filename*=UTF-8''{percent}"),
        )
    };
    let mut out = format!(
        "Content-Type: application/zip; {type_name}\r\nContent-Disposition: attachment; {disposition_name}\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    )
    .into_bytes();
    out.extend_from_slice(&base64_lines(archive));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::Cipher;
    use crate::notice::{Notice, PasswordTo};
    use mamori_dlp::mime::outline;

    fn notice() -> Notice {
        Notice {
            archive: "attachments.zip".to_owned(),
            cipher: Cipher::Aes256,
            password_to: PasswordTo::Recipients,
        }
    }

    fn packing(notice: &Notice) -> Packing<'_> {
        Packing {
            name: "attachments.zip",
            archive: Some(b"PK\x03\x04 the archive"),
            notice,
        }
    }

    fn body_text(raw: &[u8], node: &Node) -> String {
        let Node::Body {
            content,
            charset,
            transfer,
            ..
        } = node
        else {
            panic!("{node:?}")
        };
        let bytes = transfer.decode(&raw[content.clone()]);
        mamori_dlp::charset::decode(&bytes, charset.as_deref())
    }

    #[test]
    fn attachments_leave_the_archive_comes_and_both_alternatives_carry_the_notice() {
        let jis = encoding_rs::ISO_2022_JP
            .encode("お世話になっております。")
            .0
            .into_owned();
        let mut raw = b"From: a@office.test\r\nTo: b@example.jp\r\nSubject: quote\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: multipart/alternative; boundary=\"b2\"\r\n\r\n--b2\r\nContent-Type: text/plain; charset=ISO-2022-JP\r\nContent-Transfer-Encoding: 7bit\r\n\r\n".to_vec();
        raw.extend(&jis);
        raw.extend(b"\r\n--b2\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n<html><BODY class=3D\"x\"><p>=E3=81=82</p></body></html>\r\n--b2--\r\n--b1\r\nContent-Type: application/pdf; name=a.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n--b1\r\nContent-Type: text/csv; name=b.csv\r\n\r\na,b\r\n--b1\r\nContent-Type: image/png; name=keep.png\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw==\r\n--b1--\r\n");
        let before = outline(&raw).unwrap();
        assert_eq!(attachments(&before).len(), 3);
        let notice = notice();
        let out = rewrite(&raw, &before, &[0, 1], &packing(&notice)).unwrap();
        let after = outline(&out).unwrap();
        let Node::Multipart { parts, .. } = &after.root else {
            panic!("{after:?}")
        };
        assert_eq!(parts.len(), 3, "{}", String::from_utf8_lossy(&out));
        let Node::Multipart { parts: alt, .. } = &parts[0].1 else {
            panic!()
        };
        let plain = body_text(&out, &alt[0].1);
        assert!(
            plain.starts_with("【添付ファイル暗号化のお知らせ】"),
            "{plain}"
        );
        assert!(plain.ends_with("お世話になっております。"), "{plain}");
        assert!(matches!(&alt[0].1, Node::Body { charset: Some(c), .. } if c == "ISO-2022-JP"));
        let html = body_text(&out, &alt[1].1);
        assert!(html.starts_with("<html><BODY class=\"x\"><div"), "{html}");
        assert!(html.contains("attachments.zip") && html.ends_with("<p>あ</p></body></html>"));
        let names: Vec<_> = attachments(&after)
            .iter()
            .map(|n| match n {
                Node::Attachment { name, .. } => name.clone().unwrap_or_default(),
                _ => String::new(),
            })
            .collect();
        assert_eq!(names, ["attachments.zip", "keep.png"]);
        let Node::Attachment {
            content, transfer, ..
        } = attachments(&after)[0]
        else {
            panic!()
        };
        assert_eq!(
            transfer.decode(&out[content.clone()]),
            b"PK\x03\x04 the archive"
        );
        // The message's own header is kept as it was.
        assert!(out.starts_with(b"From: a@office.test\r\nTo: b@example.jp\r\nSubject: quote\r\n"));
    }

    #[test]
    fn a_message_of_one_attachment_or_only_attachments_gets_a_notice_part() {
        let notice = notice();
        let raw = b"Subject: scan\r\nContent-Type: application/pdf; name=scan.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n";
        let out = rewrite(raw, &outline(raw).unwrap(), &[0], &packing(&notice)).unwrap();
        let after = outline(&out).unwrap();
        let Node::Multipart { parts, .. } = &after.root else {
            panic!("{}", String::from_utf8_lossy(&out))
        };
        assert!(body_text(&out, &parts[0].1).contains("attachments.zip"));
        assert!(
            matches!(&parts[1].1, Node::Attachment { content_type, .. } if content_type == "application/zip")
        );
        assert!(!String::from_utf8_lossy(&out).contains("application/pdf"));
        assert!(
            out.starts_with(b"Subject: scan\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed")
        );
        let only = b"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: application/zip; name=a.zip\r\n\r\nPK\r\n--x--\r\n";
        let out = rewrite(only, &outline(only).unwrap(), &[0], &packing(&notice)).unwrap();
        let after = outline(&out).unwrap();
        let Node::Multipart { parts, .. } = &after.root else {
            panic!()
        };
        assert_eq!(parts.len(), 2);
        assert!(body_text(&out, &parts[0].1).contains("attachments.zip"));
        // Nothing to pack: said.
        let text = b"Content-Type: text/plain\r\n\r\nhello";
        assert_eq!(
            rewrite(text, &outline(text).unwrap(), &[0], &packing(&notice)),
            Err(RewriteError::NothingToPack)
        );
    }

    #[test]
    fn a_body_whose_charset_cannot_carry_the_notice_becomes_utf8() {
        let notice = notice();
        let raw = b"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain; charset=us-ascii; format=flowed\r\nX-Keep: yes\r\n\r\nHello caf\xe9\r\n--x\r\nContent-Type: application/pdf; name=a.pdf\r\n\r\n%PDF\r\n--x--\r\n";
        let out = rewrite(raw, &outline(raw).unwrap(), &[0], &packing(&notice)).unwrap();
        let after = outline(&out).unwrap();
        let Node::Multipart { parts, .. } = &after.root else {
            panic!()
        };
        assert!(
            matches!(&parts[0].1, Node::Body { charset: Some(c), transfer: Transfer::Base64, .. } if c == "UTF-8")
        );
        let text = body_text(&out, &parts[0].1);
        assert!(
            text.starts_with("【添付") && text.ends_with("Hello café"),
            "{text}"
        );
        let part = String::from_utf8_lossy(&out[parts[0].0.clone()]).into_owned();
        assert!(
            part.contains("X-Keep: yes") && !part.contains("us-ascii"),
            "{part}"
        );
    }

    #[test]
    fn hostile_shapes_are_refused_or_rewritten_safely() {
        let notice = notice();
        // A quoted-printable body whose decoded text holds a delimiter line and a part: the
        // re-encoding writes `=2D` for a leading `-`, so no part appears.
        let raw = b"Content-Type: multipart/mixed; boundary=b1\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nHi=0D=0A--b1=0D=0AContent-Type: application/pdf; name=x.pdf=0D=0A=0D=0AJVBERi0=\r\n--b1\r\nContent-Type: application/zip; name=a.zip\r\n\r\nPK\r\n--b1--\r\n";
        let out = rewrite(raw, &outline(raw).unwrap(), &[0], &packing(&notice)).unwrap();
        let after = outline(&out).unwrap();
        assert_eq!(
            attachments(&after).len(),
            1,
            "{}",
            String::from_utf8_lossy(&out)
        );
        let text = String::from_utf8_lossy(&out);
        assert!(
            text.contains("\r\n=2D-b1\r\n")
                && !text.contains("\r\n--b1\r\nContent-Type: application/pdf"),
            "{text}"
        );
        // A nested multipart left with nothing but packed attachments leaves too.
        let raw = b"Content-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\nContent-Type: text/plain\r\n\r\nhi\r\n--o\r\nContent-Type: multipart/mixed; boundary=i1\r\n\r\n--i1\r\nContent-Type: application/pdf; name=a.pdf\r\n\r\n%PDF\r\n--i1--\r\n--o\r\nContent-Type: multipart/mixed; boundary=i2\r\n\r\n--i2\r\nContent-Type: application/pdf; name=b.pdf\r\n\r\n%PDF\r\n--i2--\r\n--o--\r\n";
        let out = rewrite(raw, &outline(raw).unwrap(), &[0, 1], &packing(&notice)).unwrap();
        assert!(
            !String::from_utf8_lossy(&out).contains("boundary=i2"),
            "{}",
            String::from_utf8_lossy(&out)
        );
        // A calendar invitation is left as it is; the notice goes into plain and HTML only.
        let raw = b"Content-Type: multipart/mixed; boundary=m\r\n\r\n--m\r\nContent-Type: multipart/alternative; boundary=a\r\n\r\n--a\r\nContent-Type: text/plain\r\n\r\nmeet\r\n--a\r\nContent-Type: text/calendar; method=REQUEST\r\n\r\nBEGIN:VCALENDAR\r\n--a--\r\n--m\r\nContent-Type: application/pdf; name=a.pdf\r\n\r\n%PDF\r\n--m--\r\n";
        let out = rewrite(raw, &outline(raw).unwrap(), &[0], &packing(&notice)).unwrap();
        let text = String::from_utf8_lossy(&out);
        assert!(
            text.contains("Content-Type: text/calendar; method=REQUEST\r\n\r\nBEGIN:VCALENDAR"),
            "{text}"
        );
        // Indices past the attachments are refused, not ignored.
        assert_eq!(
            rewrite(raw, &outline(raw).unwrap(), &[0, 5], &packing(&notice)),
            Err(RewriteError::NothingToPack)
        );
        // An archive name with a line break cannot add a header field.
        let crafted = Packing {
            name: "a.zip\r\nBcc: victim@example.jp",
            archive: Some(b"PK"),
            notice: &notice,
        };
        let out = rewrite(raw, &outline(raw).unwrap(), &[0], &crafted).unwrap();
        assert!(!String::from_utf8_lossy(&out).contains("\r\nBcc:"));
        // A header of Content-* fields only: the rewritten mail still has a header.
        let bare = b"Content-Type: application/pdf; name=a.pdf\r\n\r\n%PDF";
        let out = rewrite(bare, &outline(bare).unwrap(), &[0], &packing(&notice)).unwrap();
        assert!(out.starts_with(b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed"));
    }

    #[test]
    fn quoted_printable_round_trips() {
        let text = "行1 ends with space \r\n=equals\tand a very long line ".repeat(5);
        let encoded = quoted_printable(text.as_bytes());
        assert!(encoded.split(|&b| b == b'\n').all(|line| line.len() <= 77));
        let decoded = Transfer::QuotedPrintable.decode(&encoded);
        assert_eq!(String::from_utf8(decoded).unwrap(), text);
    }
}
