//! The structure of a message, for rewriting it: which byte ranges are body text and which
//! are attachments, decided exactly as the walk decides (the relay's attachment encryption
//! replaces the attachments that DLP judged, and nothing else).
//!
//! A leaf `text/*` part with no file name and no `Content-Disposition: attachment` is a
//! body; every other leaf, and an attached message (`message/rfc822`, `message/global`), is
//! an attachment. Where the walk scans several readings because clients disagree
//! (duplicate `Content-Type` or `Content-Transfer-Encoding` headers that differ, several
//! boundary parameters, a multipart with a transfer encoding, parts after the closing
//! boundary, a header block without its empty line or past its limits, a fragment of a
//! split message), there is no one structure to rewrite: [`OutlineError`] says which, and
//! the caller holds the mail rather than guess.

use std::ops::Range;

use super::boundary::{self, Chunk};
use super::header::{self, Head};
use super::params::Structured;
use super::transfer::TransferEncoding;
use super::walk::file_names;

/// How deep multiparts may nest here (the walk's own hard limit).
const MAX_DEPTH: usize = super::walk::HARD_MAX_DEPTH;
/// The most parts one message may have here.
const MAX_PARTS: usize = 1000;

/// A message's structure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outline {
    /// The message's header block (without the empty line that ends it).
    pub header: Range<usize>,
    /// Its content.
    pub root: Node,
}

/// A part's transfer encoding, as far as a rewrite needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transfer {
    /// 7bit, 8bit, binary or none: the bytes are the content.
    Identity,
    /// base64.
    Base64,
    /// quoted-printable.
    QuotedPrintable,
}

/// One entity of the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// A multipart: its subtype (`mixed`, `alternative` …), boundary, and parts.
    Multipart {
        /// The part's header block (the message's, for the top level).
        header: Range<usize>,
        /// `mixed`, `alternative`, `related` … (lower case).
        subtype: String,
        /// The boundary it is split at.
        boundary: Vec<u8>,
        /// Its parts: each part's whole bytes (its header block and content), and what it is.
        parts: Vec<(Range<usize>, Node)>,
    },
    /// Text a client shows inline.
    Body {
        /// The part's header block.
        header: Range<usize>,
        /// Its encoded content.
        content: Range<usize>,
        /// `plain`, `html` … (lower case).
        subtype: String,
        /// The charset parameter, if any.
        charset: Option<String>,
        /// Its transfer encoding.
        transfer: Transfer,
    },
    /// An attachment (a file, or an attached message).
    Attachment {
        /// The part's header block.
        header: Range<usize>,
        /// Its encoded content.
        content: Range<usize>,
        /// Its media type (lower case).
        content_type: String,
        /// Its file name, as the walk reads it first; `None` when it has none.
        name: Option<String>,
        /// Its transfer encoding.
        transfer: Transfer,
    },
}

impl Transfer {
    /// Undoes this transfer encoding on `bytes` (a part's content), as the walk does.
    pub fn decode(self, bytes: &[u8]) -> Vec<u8> {
        let encoding = match self {
            Self::Identity => return bytes.to_vec(),
            Self::Base64 => TransferEncoding::Base64,
            Self::QuotedPrintable => TransferEncoding::QuotedPrintable,
        };
        super::transfer::decode(bytes, &encoding).to_vec()
    }

    /// Undoes this transfer encoding as the content is read, exactly as [`Self::decode`]
    /// does but a window at a time: for streaming a large attachment from the spool.
    pub fn reader(self, bytes: &[u8]) -> super::transfer::DecodingReader<'_> {
        let encoding = match self {
            Self::Identity => TransferEncoding::Identity,
            Self::Base64 => TransferEncoding::Base64,
            Self::QuotedPrintable => TransferEncoding::QuotedPrintable,
        };
        super::transfer::DecodingReader::new(bytes, encoding)
    }
}

/// Why a message has no one structure to rewrite.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutlineError {
    /// Clients would read it in more than one way (what, at which part).
    #[error("part {part}: {what}; clients may read it in more than one way")]
    Ambiguous {
        /// The IMAP part number (`1.2`; empty for the message itself).
        part: String,
        /// What is ambiguous.
        what: &'static str,
    },
    /// Nested deeper than the walk reads, or more parts than it counts.
    #[error("the message nests deeper than {MAX_DEPTH} levels or has more than {MAX_PARTS} parts")]
    TooLarge,
}

/// The structure of the message `raw`, or why it has no single one.
pub fn outline(raw: &[u8]) -> Result<Outline, OutlineError> {
    let head = header::parse(raw, true);
    check_head(&head, "")?;
    let mut count = 0usize;
    let root = entity(raw, 0, &head, "", "text/plain", 0, &mut count)?;
    Ok(Outline {
        header: 0..header_end(raw, &head),
        root,
    })
}

/// Where the header block of a part parsed as `head` ends (before its empty line).
fn header_end(bytes: &[u8], head: &Head) -> usize {
    let mut end = head.body_start.min(bytes.len());
    for _ in 0..2 {
        if end > 0 && bytes.get(end - 1) == Some(&b'\n') {
            end -= 1;
            if end > 0 && bytes.get(end - 1) == Some(&b'\r') {
                end -= 1;
            }
        }
    }
    end
}

fn ambiguous(part: &str, what: &'static str) -> OutlineError {
    OutlineError::Ambiguous {
        part: part.to_owned(),
        what,
    }
}

fn check_head(head: &Head, part: &str) -> Result<(), OutlineError> {
    if head.overflow.is_some() {
        return Err(ambiguous(part, "its header block passes the limits"));
    }
    Ok(())
}

/// The single value of a field that decides how the part is read; differing duplicates
/// are ambiguous.
fn single<'a>(
    head: &'a Head,
    name: &'static str,
    part: &str,
) -> Result<Option<&'a [u8]>, OutlineError> {
    let mut values = head.all(name);
    let first = values.next();
    if values.any(|other| Some(other) != first) {
        return Err(ambiguous(part, "duplicate header fields that differ"));
    }
    Ok(first)
}

/// The entity of `bytes` (starting at `offset` in the message), its header `head`.
#[allow(clippy::too_many_arguments)]
fn entity(
    bytes: &[u8],
    offset: usize,
    head: &Head,
    part: &str,
    default_type: &'static str,
    depth: usize,
    count: &mut usize,
) -> Result<Node, OutlineError> {
    if depth > MAX_DEPTH {
        return Err(OutlineError::TooLarge);
    }
    let ct = single(head, "content-type", part)?
        .map(Structured::parse)
        .filter(Structured::is_media_type)
        .unwrap_or_else(|| Structured::bare(default_type));
    let cte = TransferEncoding::parse(single(head, "content-transfer-encoding", part)?);
    let transfer = match cte {
        TransferEncoding::Identity => Transfer::Identity,
        TransferEncoding::Base64 => Transfer::Base64,
        TransferEncoding::QuotedPrintable => Transfer::QuotedPrintable,
        TransferEncoding::Uuencode | TransferEncoding::Unknown(_) => {
            return Err(ambiguous(
                part,
                "a transfer encoding other than base64 or quoted-printable",
            ));
        }
    };
    let header = offset..offset + header_end(bytes, head);
    let content = offset + head.body_start.min(bytes.len())..offset + bytes.len();
    let body = bytes.get(head.body_start..).unwrap_or_default();
    if let Some(subtype) = ct.value.strip_prefix("multipart/") {
        if transfer != Transfer::Identity {
            return Err(ambiguous(part, "a multipart with a transfer encoding"));
        }
        return multipart(
            body,
            content.start,
            header,
            subtype,
            &ct,
            part,
            depth,
            count,
        );
    }
    if ct.value == "message/partial" {
        return Err(ambiguous(
            part,
            "a fragment of a message split over several mails",
        ));
    }
    let names = file_names(head, &ct);
    let attachment = single(head, "content-disposition", part)?
        .is_some_and(|cd| Structured::parse(cd).value == "attachment");
    if let Some(subtype) = ct.value.strip_prefix("text/")
        && !attachment
        && names.is_empty()
    {
        return Ok(Node::Body {
            header,
            content,
            subtype: subtype.to_owned(),
            charset: ct.plain_text("charset"),
            transfer,
        });
    }
    // Anything else, an attached message too, is an attachment.
    Ok(Node::Attachment {
        header,
        content,
        content_type: ct.value.clone(),
        name: names.into_iter().next(),
        transfer,
    })
}

/// A multipart's body (at `offset`), split at its one boundary.
#[allow(clippy::too_many_arguments)]
fn multipart(
    body: &[u8],
    offset: usize,
    header: Range<usize>,
    subtype: &str,
    ct: &Structured,
    part: &str,
    depth: usize,
    count: &mut usize,
) -> Result<Node, OutlineError> {
    let mut boundaries: Vec<Vec<u8>> = ct
        .all_plain("boundary")
        .map(|b| b.trim_ascii_end().to_vec())
        .chain(ct.extended("boundary").map(|v| v.bytes))
        .filter(|b| !b.is_empty())
        .collect();
    boundaries.dedup();
    if boundaries
        .iter()
        .any(|b| b.len() > super::walk::MAX_BOUNDARY)
    {
        // The walk reads such a body as text, a client may split it: no one structure.
        return Err(ambiguous(part, "a boundary longer than the walk reads"));
    }
    let [boundary] = boundaries.as_slice() else {
        return Err(ambiguous(part, "no boundary, or several"));
    };
    let split = boundary::split(body, boundary, MAX_PARTS);
    if !split.delimited {
        return Err(ambiguous(part, "a boundary that is never used"));
    }
    if split.reopened {
        return Err(ambiguous(part, "parts after the closing boundary"));
    }
    if split.truncated {
        return Err(OutlineError::TooLarge);
    }
    let default_type = if subtype == "digest" {
        "message/rfc822"
    } else {
        "text/plain"
    };
    let mut parts = Vec::new();
    for (kind, bytes) in split.chunks {
        if kind != Chunk::Part {
            continue;
        }
        *count += 1;
        if *count > MAX_PARTS {
            return Err(OutlineError::TooLarge);
        }
        let number = if part.is_empty() {
            (parts.len() + 1).to_string()
        } else {
            format!("{part}.{}", parts.len() + 1)
        };
        let start = offset + (bytes.as_ptr().addr() - body.as_ptr().addr());
        let head = header::parse(bytes, false);
        check_head(&head, &number)?;
        if !head.terminated && !head.fields.is_empty() {
            return Err(ambiguous(
                &number,
                "header fields without the empty line after them",
            ));
        }
        let node = entity(bytes, start, &head, &number, default_type, depth + 1, count)?;
        parts.push((start..start + bytes.len(), node));
    }
    Ok(Node::Multipart {
        header,
        subtype: subtype.to_owned(),
        boundary: boundary.clone(),
        parts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(raw: &[u8], range: &Range<usize>) -> String {
        String::from_utf8_lossy(&raw[range.clone()]).into_owned()
    }

    #[test]
    fn bodies_and_attachments_are_told_apart_as_the_walk_does() {
        let raw = b"From: a@b\r\nSubject: x\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n\
preamble\r\n--b1\r\nContent-Type: multipart/alternative; boundary=b2\r\n\r\n\
--b2\r\nContent-Type: text/plain; charset=ISO-2022-JP\r\n\r\nhello\r\n\
--b2\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n<p>hi</p>\r\n--b2--\r\n\
--b1\r\nContent-Type: application/pdf; name=\"=?UTF-8?B?6KaL56mN5pu4LnBkZg==?=\"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n\
--b1\r\nContent-Type: text/csv\r\nContent-Disposition: attachment; filename=list.csv\r\n\r\na,b\r\n\
--b1\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\nbody\r\n--b1--\r\n";
        let outline = outline(raw).unwrap();
        assert!(at(raw, &outline.header).ends_with("boundary=\"b1\""));
        let Node::Multipart { subtype, parts, .. } = &outline.root else {
            panic!("{outline:?}")
        };
        assert_eq!(subtype, "mixed");
        assert_eq!(parts.len(), 4);
        let Node::Multipart { parts: alt, .. } = &parts[0].1 else {
            panic!()
        };
        match &alt[0].1 {
            Node::Body {
                content,
                charset,
                transfer,
                subtype,
                ..
            } => {
                assert_eq!(at(raw, content), "hello");
                assert_eq!(charset.as_deref(), Some("ISO-2022-JP"));
                assert_eq!((*transfer, subtype.as_str()), (Transfer::Identity, "plain"));
            }
            other => panic!("{other:?}"),
        }
        assert!(
            matches!(&alt[1].1, Node::Body { transfer: Transfer::QuotedPrintable, subtype, .. } if subtype == "html")
        );
        match &parts[1].1 {
            Node::Attachment {
                name,
                content,
                transfer,
                header,
                ..
            } => {
                assert_eq!(name.as_deref(), Some("見積書.pdf"));
                assert_eq!(at(raw, content), "JVBERi0=");
                assert_eq!(*transfer, Transfer::Base64);
                assert!(at(raw, header).starts_with("Content-Type: application/pdf"));
                assert!(at(raw, &parts[1].0).starts_with("Content-Type: application/pdf"));
                assert!(at(raw, &parts[1].0).ends_with("JVBERi0="));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(&parts[2].1, Node::Attachment { name: Some(n), .. } if n == "list.csv"));
        assert!(
            matches!(&parts[3].1, Node::Attachment { content_type, name: None, .. } if content_type == "message/rfc822")
        );
    }

    #[test]
    fn a_single_part_message_is_its_body() {
        let raw =
            b"Subject: x\nContent-Type: text/plain; charset=utf-8\n\n\xe6\x9c\xac\xe6\x96\x87\n";
        let outline = outline(raw).unwrap();
        assert!(
            matches!(&outline.root, Node::Body { content, .. } if content.start == raw.len() - 7)
        );
        let bare = b"Subject: only a file\r\nContent-Type: application/zip; name=a.zip\r\n\r\nUEs=";
        assert!(matches!(outline_of(bare), Node::Attachment { .. }));
    }

    fn outline_of(raw: &[u8]) -> Node {
        outline(raw).unwrap().root
    }

    #[test]
    fn what_clients_read_in_more_than_one_way_is_refused() {
        let cases: [(&[u8], &str); 7] = [
            (b"Content-Type: text/plain\r\nContent-Type: application/zip\r\n\r\nx", "duplicate"),
            (b"Content-Type: multipart/mixed; boundary=a; boundary=b\r\n\r\n--a\r\n\r\nx\r\n--a--\r\n", "several"),
            (b"Content-Type: multipart/mixed; boundary=a\r\nContent-Transfer-Encoding: base64\r\n\r\nLS1h\r\n", "transfer encoding"),
            (b"Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\n\r\nx\r\n--a--\r\n--a\r\nContent-Type: application/zip\r\n\r\nhidden\r\n", "after the closing"),
            (b"Content-Type: multipart/mixed; boundary=a\r\n\r\nno delimiter at all\r\n", "never used"),
            (b"Content-Type: application/zip\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\nbegin 644 a\r\n", "other than base64"),
            (b"Content-Type: text/plain\r\nContent-Disposition: inline\r\nContent-Disposition: attachment; filename=a.csv\r\n\r\nx", "duplicate"),
        ];
        for (raw, why) in cases {
            let error = outline(raw).unwrap_err();
            assert!(error.to_string().contains(why), "{error} / {why}");
        }
        // The same duplicate twice is one reading.
        let same = b"Content-Type: text/plain\r\nContent-Type: text/plain\r\n\r\nx";
        assert!(matches!(outline_of(same), Node::Body { .. }));
    }
}
