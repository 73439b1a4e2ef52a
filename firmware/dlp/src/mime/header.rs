//! The header block of a message or a part: split from the body, fields unfolded, bounded.
//!
//! The block ends at the first empty line. A line that is neither a field nor a
//! continuation also ends it (that line starts the body), so a part without headers, or
//! with broken ones, still has its text walked. Over-long fields are cut and fields past
//! the block budget are dropped; neither is an error.

/// The longest a field value is kept (after unfolding); the rest is cut.
pub(super) const MAX_FIELD_BYTES: usize = 16 * 1024;
/// How many header bytes of one block are kept in all; later fields are dropped.
pub(super) const MAX_BLOCK_BYTES: usize = 256 * 1024;
/// How many fields of one block are kept.
pub(super) const MAX_FIELDS: usize = 500;

/// One header field, unfolded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Field {
    /// The name, lower case.
    pub(super) name: String,
    /// The raw value (line breaks of folding removed, leading blanks kept).
    pub(super) value: Vec<u8>,
}

/// A parsed header block.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Head {
    /// The fields kept, in order.
    pub(super) fields: Vec<Field>,
    /// Where the body starts.
    pub(super) body_start: usize,
    /// Did an empty line end the block (rather than the end of input or a line that is
    /// not a field)?
    pub(super) terminated: bool,
}

impl Head {
    /// Every value of the field `name` (lower case), in order.
    pub(super) fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.fields
            .iter()
            .filter(move |f| f.name == name)
            .map(|f| f.value.as_slice())
    }

    /// The first value of the field `name` (lower case).
    pub(super) fn first(&self, name: &str) -> Option<&[u8]> {
        self.fields
            .iter()
            .find(|f| f.name == name)
            .map(|f| f.value.as_slice())
    }
}

/// The length of a field name ending in `:` at the start of `line` (blanks allowed before
/// the colon, as RFC 822 did), and the value after the colon.
fn field_name(line: &[u8]) -> Option<(&[u8], &[u8])> {
    let colon = line.iter().position(|&b| b == b':')?;
    let name = line.get(..colon)?.trim_ascii_end();
    if name.is_empty() || !name.iter().all(|&b| (33..=126).contains(&b)) {
        return None;
    }
    Some((name, line.get(colon + 1..)?))
}

/// Splits off and parses the header block at the start of `raw`. `top` allows an mbox
/// `From ` line before the first field.
pub(super) fn parse(raw: &[u8], top: bool) -> Head {
    let mut fields: Vec<Field> = Vec::new();
    let mut kept = 0usize;
    // Is the last field being collected (so continuation lines belong to it)?
    let mut collecting = false;
    let mut pos = 0;
    let mut first = true;
    while pos < raw.len() {
        let rest = raw.get(pos..).unwrap_or_default();
        let (line, next) = match rest.iter().position(|&b| b == b'\n') {
            Some(n) => (rest.get(..n).unwrap_or_default(), pos + n + 1),
            None => (rest, raw.len()),
        };
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            return Head {
                fields,
                body_start: next,
                terminated: true,
            };
        }
        if matches!(line.first(), Some(b' ' | b'\t')) {
            if first {
                break;
            }
            if collecting && let Some(field) = fields.last_mut() {
                let room = MAX_FIELD_BYTES
                    .saturating_sub(field.value.len())
                    .min(MAX_BLOCK_BYTES.saturating_sub(kept));
                let take = line.get(..line.len().min(room)).unwrap_or_default();
                field.value.extend_from_slice(take);
                kept += take.len();
            }
        } else if top && first && line.starts_with(b"From ") {
            // An mbox separator line.
        } else if let Some((name, value)) = field_name(line) {
            collecting = fields.len() < MAX_FIELDS && kept < MAX_BLOCK_BYTES;
            if collecting {
                let room = MAX_FIELD_BYTES.min(MAX_BLOCK_BYTES - kept);
                let value = value.get(..value.len().min(room)).unwrap_or_default();
                kept += name.len() + value.len();
                fields.push(Field {
                    name: String::from_utf8_lossy(name).to_ascii_lowercase(),
                    value: value.to_vec(),
                });
            }
        } else {
            break;
        }
        first = false;
        pos = next;
    }
    Head {
        fields,
        body_start: pos,
        terminated: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_unfolded_and_the_body_found() {
        let raw =
            b"From a\r\nSubject: one\r\n two\r\n\tthree\r\nX-Empty:\r\nTo : b\r\n\r\nbody\r\n";
        let head = parse(raw, true);
        assert!(head.terminated);
        assert_eq!(&raw[head.body_start..], b"body\r\n");
        let names: Vec<&str> = head.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["subject", "x-empty", "to"]);
        assert_eq!(head.first("subject").unwrap(), b" one two\tthree");
        assert_eq!(head.first("to").unwrap(), b" b");
    }

    #[test]
    fn bare_lf_and_no_headers() {
        let head = parse(b"Content-Type: text/plain\n\nhi\n", false);
        assert_eq!(head.body_start, 26);
        assert!(head.terminated);
        // An empty line first: no headers.
        let head = parse(b"\r\nhello", false);
        assert!(head.fields.is_empty() && head.terminated);
        assert_eq!(head.body_start, 2);
        // Text first: no headers, the body is everything.
        let head = parse("本文です\nsecond: line\n".as_bytes(), false);
        assert!(head.fields.is_empty() && !head.terminated);
        assert_eq!(head.body_start, 0);
        // A continuation line first is text too.
        assert_eq!(parse(b" indented\n\n", false).body_start, 0);
        // A broken line ends the block; it starts the body.
        let head = parse(b"Content-Type: text/plain\nnot a field\n", false);
        assert_eq!(head.fields.len(), 1);
        assert!(!head.terminated);
        assert_eq!(head.body_start, 25);
    }

    #[test]
    fn long_headers_are_cut_not_fatal() {
        let mut raw = b"Subject: ".to_vec();
        raw.extend(std::iter::repeat_n(b'a', MAX_FIELD_BYTES * 2));
        raw.extend_from_slice(b"\r\n ");
        raw.extend(std::iter::repeat_n(b'b', 100));
        raw.extend_from_slice(b"\r\n");
        for i in 0..(MAX_FIELDS * 2) {
            raw.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
        }
        raw.extend_from_slice(b"\r\nbody");
        let head = parse(&raw, true);
        assert_eq!(head.fields[0].value.len(), MAX_FIELD_BYTES);
        assert_eq!(head.fields.len(), MAX_FIELDS);
        assert_eq!(raw.get(head.body_start..).unwrap(), b"body");
    }
}
