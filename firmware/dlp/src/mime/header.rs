//! The header block of a message or a part: split from the body, fields unfolded, bounded.
//!
//! The block ends at the first empty line. A line that is neither a field nor a
//! continuation also ends it (that line starts the body), so a part without headers, or
//! with broken ones, still has its text walked.
//!
//! The block is bounded, but nothing that decides how a part is read or what a reader sees
//! is dropped in silence: the fields that matter ([`MATTERS`]: the MIME fields and the
//! fields a client shows) are kept past the budgets of the others (up to budgets of their
//! own), and when even those are cut, [`Head::overflow`] says so and the walk reports the
//! part as not fully read. Fields that no reader sees (`X-…`, `Received` …) are only
//! counted past the budget.

/// The longest a field value is kept (after unfolding); the rest is cut.
pub(super) const MAX_FIELD_BYTES: usize = 64 * 1024;
/// How many header bytes of one block are kept for the fields that do not matter.
pub(super) const MAX_BLOCK_BYTES: usize = 256 * 1024;
/// How many fields of one block are kept, of those that do not matter.
pub(super) const MAX_FIELDS: usize = 500;
/// How many bytes of the fields that matter one block keeps in all.
const MAX_MATTERING_BYTES: usize = 1024 * 1024;
/// How many fields that matter one block keeps.
const MAX_MATTERING_FIELDS: usize = 200;

/// The fields that decide how a part is read or that a client shows (lower case).
const MATTERS: [&str; 15] = [
    "content-type",
    "content-transfer-encoding",
    "content-disposition",
    "mime-version",
    "subject",
    "comments",
    "keywords",
    "thread-topic",
    "from",
    "sender",
    "reply-to",
    "to",
    "cc",
    "bcc",
    "content-description",
];

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
    /// Fields that matter were cut or dropped at the limits: what, for the problem the
    /// walk reports.
    pub(super) overflow: Option<String>,
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
    let mut head = Head::default();
    let mut budget = Budget::default();
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
            head.body_start = next;
            head.terminated = true;
            head.overflow = budget.overflow();
            return head;
        }
        if matches!(line.first(), Some(b' ' | b'\t')) {
            if first {
                break;
            }
            if collecting && let Some(field) = head.fields.last_mut() {
                budget.extend(field, line);
            }
        } else if top && first && line.starts_with(b"From ") {
            // An mbox separator line.
        } else if let Some((name, value)) = field_name(line) {
            let name = String::from_utf8_lossy(name).to_ascii_lowercase();
            collecting = budget.admit(&name, value.len());
            if collecting {
                let mut field = Field {
                    name,
                    value: Vec::new(),
                };
                budget.extend(&mut field, value);
                head.fields.push(field);
            }
        } else {
            break;
        }
        first = false;
        pos = next;
    }
    head.body_start = pos;
    head.overflow = budget.overflow();
    head
}

/// What one header block has spent, for the fields that matter and for the others.
#[derive(Debug, Default)]
struct Budget {
    other_bytes: usize,
    other_fields: usize,
    mattering_bytes: usize,
    mattering_fields: usize,
    /// Fields that matter, dropped whole (by name).
    dropped: Vec<String>,
    /// Fields that matter, cut short (by name).
    cut: Vec<String>,
    /// Is the field being collected one that matters?
    current_matters: bool,
}

impl Budget {
    /// Is a new field `name` kept? Counts it.
    fn admit(&mut self, name: &str, _len: usize) -> bool {
        self.current_matters = MATTERS.contains(&name);
        if self.current_matters {
            if self.mattering_fields < MAX_MATTERING_FIELDS
                && self.mattering_bytes < MAX_MATTERING_BYTES
            {
                self.mattering_fields += 1;
                self.mattering_bytes += name.len();
                return true;
            }
            if self.dropped.len() < 4 && !self.dropped.iter().any(|n| n == name) {
                self.dropped.push(name.to_string());
            }
            return false;
        }
        if self.other_fields < MAX_FIELDS && self.other_bytes < MAX_BLOCK_BYTES {
            self.other_fields += 1;
            self.other_bytes += name.len();
            return true;
        }
        false
    }

    /// Appends `bytes` to `field`'s value as far as the budgets allow.
    fn extend(&mut self, field: &mut Field, bytes: &[u8]) {
        let block_left = if self.current_matters {
            MAX_MATTERING_BYTES.saturating_sub(self.mattering_bytes)
        } else {
            MAX_BLOCK_BYTES.saturating_sub(self.other_bytes)
        };
        let room = MAX_FIELD_BYTES
            .saturating_sub(field.value.len())
            .min(block_left);
        let take = bytes.get(..bytes.len().min(room)).unwrap_or_default();
        field.value.extend_from_slice(take);
        if self.current_matters {
            self.mattering_bytes += take.len();
            if take.len() < bytes.len() && self.cut.len() < 4 && !self.cut.contains(&field.name) {
                self.cut.push(field.name.clone());
            }
        } else {
            self.other_bytes += take.len();
        }
    }

    /// What was lost of the fields that matter, in words.
    fn overflow(&self) -> Option<String> {
        let mut what = Vec::new();
        if !self.cut.is_empty() {
            what.push(format!(
                "{} cut at {} bytes",
                self.cut.join(", "),
                MAX_FIELD_BYTES
            ));
        }
        if !self.dropped.is_empty() {
            what.push(format!(
                "{} dropped past {} fields or {} bytes",
                self.dropped.join(", "),
                MAX_MATTERING_FIELDS,
                MAX_MATTERING_BYTES
            ));
        }
        (!what.is_empty()).then(|| format!("header block over its limits: {}", what.join("; ")))
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
    fn long_headers_are_cut_and_said() {
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
        assert_eq!(head.fields.len(), MAX_FIELDS + 1);
        assert_eq!(raw.get(head.body_start..).unwrap(), b"body");
        let overflow = head.overflow.unwrap();
        assert!(overflow.contains("subject cut"), "{overflow}");
    }

    #[test]
    fn fields_that_matter_survive_a_flood_of_others() {
        let mut raw = Vec::new();
        for i in 0..5000 {
            raw.extend_from_slice(format!("X-Junk-{i}: {}\r\n", "j".repeat(100)).as_bytes());
        }
        raw.extend_from_slice(b"Content-Type: application/zip; name=\"a.zip\"\r\n");
        raw.extend_from_slice(b"Content-Transfer-Encoding: base64\r\n\r\nUEsDBA==");
        let head = parse(&raw, false);
        assert!(head.terminated);
        assert!(
            head.first("content-type")
                .unwrap()
                .starts_with(b" application/zip")
        );
        assert_eq!(head.first("content-transfer-encoding").unwrap(), b" base64");
        assert_eq!(head.overflow, None);
        assert_eq!(raw.get(head.body_start..).unwrap(), b"UEsDBA==");
    }
}
