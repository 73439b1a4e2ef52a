//! Bcc conversion: a mail whose To and Cc name more outside recipients than the office
//! allows (a newsletter to customers typed into To, the commonest leak of an address list)
//! leaves with those recipients taken out of the header. The envelope is not touched:
//! everyone still gets the mail, as Bcc recipients do. The office's own recipients stay
//! visible; a To left empty says `undisclosed-recipients:;`.
//!
//! Pure: the header block is read and rewritten as bytes; the body is kept as it is.

/// One entry of an address list: its bytes as written, and its address when it has one.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    raw: Vec<u8>,
    address: Option<String>,
}

/// Splits an address list (a `To:` value, unfolded) at its top-level commas, outside
/// quoted strings, comments and angle brackets; group names (`team: a, b;`) are dropped
/// and their members listed as entries of their own.
fn entries(value: &[u8]) -> Vec<Entry> {
    let mut out = Vec::new();
    let mut cur = Vec::new();
    let (mut quoted, mut escaped, mut comment, mut angle) = (false, false, 0usize, false);
    let flush = |cur: &mut Vec<u8>, out: &mut Vec<Entry>| {
        let text = cur.trim_ascii().to_vec();
        cur.clear();
        if !text.is_empty() {
            let address = address_of(&text);
            out.push(Entry { raw: text, address });
        }
    };
    for &b in value {
        if escaped {
            escaped = false;
            cur.push(b);
            continue;
        }
        match b {
            b'\\' if quoted || comment > 0 => {
                escaped = true;
                cur.push(b);
            }
            b'"' if comment == 0 => {
                quoted = !quoted;
                cur.push(b);
            }
            b'(' if !quoted => {
                comment += 1;
                cur.push(b);
            }
            b')' if !quoted && comment > 0 => {
                comment -= 1;
                cur.push(b);
            }
            b'<' if !quoted && comment == 0 => {
                angle = true;
                cur.push(b);
            }
            b'>' if !quoted && comment == 0 => {
                angle = false;
                cur.push(b);
            }
            // A group's name ends at its colon: what came before is not a mailbox.
            b':' if !quoted && comment == 0 && !angle => cur.clear(),
            b',' | b';' if !quoted && comment == 0 && !angle => flush(&mut cur, &mut out),
            _ => cur.push(b),
        }
    }
    flush(&mut cur, &mut out);
    out
}

/// The address of one mailbox (`Name <a@b>` or `a@b (comment)`), lower case.
fn address_of(entry: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(entry);
    let inner = match (text.rfind('<'), text.rfind('>')) {
        (Some(open), Some(close)) if open < close => text[open + 1..close].to_string(),
        _ => {
            // No angle brackets: the addr-spec, without comments.
            let mut out = String::new();
            let mut depth = 0usize;
            for c in text.chars() {
                match c {
                    '(' => depth += 1,
                    ')' => depth = depth.saturating_sub(1),
                    c if depth == 0 && !c.is_whitespace() => out.push(c),
                    _ => {}
                }
            }
            out
        }
    };
    let inner = inner.trim().trim_start_matches("mailto:");
    inner
        .contains('@')
        .then(|| inner.to_lowercase())
        .filter(|a| !a.starts_with('@'))
}

/// Where the top header block ends (at its empty line; the whole when there is none).
fn header_end(content: &[u8]) -> usize {
    if content.starts_with(b"\r\n") {
        return 0;
    }
    memchr::memmem::find(content, b"\r\n\r\n").map_or(content.len(), |at| at + 2)
}

/// The top header's fields: (name lower case, whole field bytes with its line ends).
fn fields(header: &[u8]) -> Vec<(String, &[u8])> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < header.len() {
        let end = memchr::memchr(b'\n', header.get(i..).unwrap_or_default())
            .map_or(header.len(), |n| i + n + 1);
        let next_continues = matches!(header.get(end), Some(b' ' | b'\t'));
        if !next_continues {
            let field = header.get(start..end).unwrap_or_default();
            let name = field
                .iter()
                .position(|&b| b == b':')
                .and_then(|c| field.get(..c))
                .map(|n| String::from_utf8_lossy(n).trim().to_ascii_lowercase())
                .unwrap_or_default();
            out.push((name, field));
            start = end;
        }
        i = end;
    }
    out
}

/// The unfolded value of a field (after its colon).
fn value_of(field: &[u8]) -> Vec<u8> {
    let colon = field.iter().position(|&b| b == b':').map_or(0, |c| c + 1);
    field
        .get(colon..)
        .unwrap_or_default()
        .iter()
        .copied()
        .filter(|&b| b != b'\r' && b != b'\n')
        .collect()
}

/// A field `name: a, b, c` folded after commas so that no line passes 78 octets.
fn folded(name: &str, entries: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("{name}:").into_bytes();
    let mut line = out.len();
    for (i, e) in entries.iter().enumerate() {
        let sep: &[u8] = if i == 0 { b" " } else { b"," };
        out.extend_from_slice(sep);
        line += sep.len();
        // Room for the entry and the comma that may follow it.
        if i > 0 && line + 1 + e.len() + 1 > 78 {
            out.extend_from_slice(b"\r\n ");
            line = 1;
        } else if i > 0 {
            out.push(b' ');
            line += 1;
        }
        out.extend_from_slice(e);
        line += e.len();
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// What a conversion did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Converted {
    /// The message with the new header.
    pub content: Vec<u8>,
    /// The outside addresses taken out of To and Cc.
    pub hidden: Vec<String>,
}

/// Takes the outside recipients out of To and Cc when there are more than `threshold` of
/// them (`is_internal` tells the office's own). `None`: nothing to do.
pub fn convert(
    content: &[u8],
    threshold: usize,
    is_internal: impl Fn(&str) -> bool,
) -> Option<Converted> {
    let end = header_end(content);
    let header = content.get(..end)?;
    // Lines end with CRLF (the relay refuses bare line ends): anything else is not
    // rewritten, since its lines could be read two ways.
    let bare_lf = header
        .iter()
        .enumerate()
        .any(|(i, &b)| b == b'\n' && (i == 0 || header.get(i - 1) != Some(&b'\r')));
    if bare_lf
        || header.contains(&b'\r') && header.windows(2).any(|w| w[0] == b'\r' && w[1] != b'\n')
    {
        return None;
    }
    let all = fields(header);
    // Each field's entries when it is a To or a Cc, by the field's place (one pass: a
    // header of many fields costs time in proportion to its size).
    let listed: Vec<Option<Vec<Entry>>> = all
        .iter()
        .map(|(name, field)| (name == "to" || name == "cc").then(|| entries(&value_of(field))))
        .collect();
    let hidden: Vec<String> = listed
        .iter()
        .flatten()
        .flat_map(|es| es.iter())
        .filter_map(|e| e.address.clone())
        .filter(|a| !is_internal(a))
        .collect();
    if hidden.len() <= threshold {
        return None;
    }
    let mut out = Vec::with_capacity(content.len());
    let mut to_written = false;
    for ((name, field), es) in all.iter().zip(&listed) {
        let Some(es) = es else {
            out.extend_from_slice(field);
            continue;
        };
        let kept: Vec<&[u8]> = es
            .iter()
            .filter(|e| e.address.as_deref().is_some_and(&is_internal))
            .map(|e| e.raw.as_slice())
            .collect();
        let label = if name == "to" { "To" } else { "Cc" };
        if !kept.is_empty() {
            out.extend_from_slice(&folded(label, &kept));
            to_written |= name == "to";
        } else if name == "to" && !to_written {
            out.extend_from_slice(b"To: undisclosed-recipients:;\r\n");
            to_written = true;
        }
    }
    out.extend_from_slice(content.get(end..).unwrap_or_default());
    Some(Converted {
        content: out,
        hidden,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn office(a: &str) -> bool {
        a.ends_with("@office.example.jp")
    }

    #[test]
    fn outside_recipients_leave_the_header_and_the_office_stays() {
        let mail = b"From: taro@office.example.jp\r\nTo: \"Yamada, Hanako\" <hanako@office.example.jp>, a@example.com,\r\n b@example.net (B san)\r\nCc: =?UTF-8?B?5bGx55Sw?= <c@example.org>\r\nSubject: x\r\n\r\nTo: not@a.header\r\n";
        let c = convert(mail, 2, office).expect("three outside: more than two");
        let text = String::from_utf8(c.content).unwrap();
        assert_eq!(
            c.hidden,
            ["a@example.com", "b@example.net", "c@example.org"]
        );
        assert!(
            text.starts_with("From: taro@office.example.jp\r\nTo: \"Yamada, Hanako\" <hanako@office.example.jp>\r\nSubject: x\r\n\r\nTo: not@a.header\r\n"),
            "{text}"
        );
        assert!(
            convert(mail, 3, office).is_none(),
            "three is not more than three"
        );
    }

    #[test]
    fn a_to_left_empty_says_undisclosed_recipients_and_groups_are_read() {
        let mail = b"To: customers: a@example.com, b@example.com;\r\nCc: x@example.com\r\nSubject: y\r\n\r\nbody";
        let c = convert(mail, 1, office).unwrap();
        assert_eq!(c.hidden.len(), 3);
        assert_eq!(
            String::from_utf8(c.content).unwrap(),
            "To: undisclosed-recipients:;\r\nSubject: y\r\n\r\nbody"
        );
    }

    #[test]
    fn many_office_recipients_are_folded_within_the_line_limit() {
        let mut to = String::from("To: ");
        for i in 0..30 {
            to.push_str(&format!("staff{i}@office.example.jp, "));
        }
        to.push_str("client@example.com");
        let mail = format!("{to}\r\nSubject: z\r\n\r\nbody");
        let c = convert(mail.as_bytes(), 0, office).unwrap();
        let text = String::from_utf8(c.content).unwrap();
        assert!(text.lines().all(|l| l.len() <= 78), "{text}");
        assert_eq!(text.matches("@office.example.jp").count(), 30);
        assert!(!text.contains("client@"));
    }

    #[test]
    fn a_header_of_a_hundred_thousand_fields_is_converted() {
        // (Field by field, as it once was, this took minutes: the time grew with the
        // square of the fields.)
        let mut mail = String::new();
        for i in 0..100_000 {
            mail.push_str(&format!("To: a{i}@example.com\r\n"));
        }
        mail.push_str("Subject: x\r\n\r\nbody");
        let c = convert(mail.as_bytes(), 1, office).unwrap();
        assert_eq!(c.hidden.len(), 100_000);
        assert!(
            c.content
                .starts_with(b"To: undisclosed-recipients:;\r\nSubject: x\r\n")
        );
    }

    #[test]
    fn a_header_with_bare_line_ends_is_left_alone() {
        let mail = b"To: a@x.example, b@y.example\r\nCc: team( \n\r\nbody\r\n";
        assert!(convert(mail, 0, office).is_none());
        let mail = b"To: a@x.example, b@y.example\rCc: c@z.example\r\n\r\nbody";
        assert!(convert(mail, 0, office).is_none());
    }
}
