//! vCard and iCalendar (`text/vcard`, `text/calendar`, `.vcf`, `.ics`): what a contact or a
//! calendar program shows of them, which is not what their lines say.
//!
//! Long lines are folded (a line break and a space, RFC 5545 §3.1 and RFC 6350 §3.2: a
//! number can be cut anywhere), vCard 2.1 values may be quoted-printable with soft line
//! breaks and a charset of their own (`NOTE;CHARSET=SHIFT_JIS;ENCODING=QUOTED-PRINTABLE:`),
//! and text values escape `\n`, `\,` and `\;`. [`shown`] undoes all three and gives one
//! line per property, `NAME: value`.

use crate::charset;

/// The most bytes of text [`shown`] gives.
const MAX_TEXT: usize = 16 << 20;

/// Does `text` begin as a vCard or an iCalendar object?
pub(crate) fn looks_like_directory(text: &str) -> bool {
    let head = text.trim_start_matches('\u{FEFF}').trim_start();
    let head = head.get(..16).unwrap_or(head).to_ascii_uppercase();
    head.starts_with("BEGIN:VCARD") || head.starts_with("BEGIN:VCALENDAR")
}

/// What a program shows of the vCard or iCalendar `text`: properties unfolded and decoded,
/// one per line.
pub(crate) fn shown(text: &str) -> String {
    let mut out = String::new();
    for line in logical_lines(text) {
        if out.len() > MAX_TEXT {
            break;
        }
        let Some((head, value)) = split_property(&line) else {
            out.push_str(&line);
            out.push('\n');
            continue;
        };
        let mut parts = head.split(';');
        let name = parts.next().unwrap_or_default().to_ascii_uppercase();
        let (mut qp, mut label) = (false, None);
        for param in parts {
            let (key, val) = param.split_once('=').unwrap_or(("", param));
            let val = val.trim_matches('"');
            match key.to_ascii_uppercase().as_str() {
                "ENCODING" if val.eq_ignore_ascii_case("QUOTED-PRINTABLE") => qp = true,
                "" if val.eq_ignore_ascii_case("QUOTED-PRINTABLE") => qp = true,
                "CHARSET" => label = Some(val.to_string()),
                _ => {}
            }
        }
        let value = if qp {
            charset::decode(&quoted_printable(value), label.as_deref())
        } else {
            value.to_string()
        };
        out.push_str(&name);
        out.push_str(": ");
        out.push_str(&unescape(&value));
        out.push('\n');
    }
    out
}

/// The logical lines of `text`: folded lines joined; a quoted-printable value's soft line
/// breaks (`=` at the end of a line) joined too.
fn logical_lines(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut soft = false;
    for raw in text.split('\n') {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let folded = raw.starts_with([' ', '\t']);
        match lines.last_mut() {
            Some(last) if soft => last.push_str(raw),
            Some(last) if folded => last.push_str(raw.get(1..).unwrap_or_default()),
            _ => lines.push(raw.to_string()),
        }
        soft = lines.last().is_some_and(|l| {
            l.ends_with('=') && l.to_ascii_uppercase().contains("QUOTED-PRINTABLE")
        });
        if soft && let Some(last) = lines.last_mut() {
            last.pop();
        }
    }
    lines
}

/// `NAME;PARAM=…:value` split at the first colon outside quotes.
fn split_property(line: &str) -> Option<(&str, &str)> {
    let mut quoted = false;
    for (i, c) in line.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ':' if !quoted => return Some((line.get(..i)?, line.get(i + 1..)?)),
            _ => {}
        }
    }
    None
}

/// Quoted-printable to bytes (`=XX` decoded, anything else as it is).
fn quoted_printable(value: &str) -> Vec<u8> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = |at: usize| bytes.get(at).and_then(|&h| char::from(h).to_digit(16));
        if b == b'='
            && let (Some(hi), Some(lo)) = (hex(i + 1), hex(i + 2))
        {
            out.push((hi * 16 + lo) as u8);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    out
}

/// A text value's escapes undone (`\n`, `\N`, `\,`, `\;`, `\\`).
fn unescape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n' | 'N') => out.push('\n'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folded_icalendar_lines_are_joined() {
        let ics = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDESCRIPTION:持参\\n個人番号 75809\r\n 2332632\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        assert!(looks_like_directory(ics));
        let text = shown(ics);
        assert!(
            text.contains("DESCRIPTION: 持参\n個人番号 758092332632"),
            "{text}"
        );
    }

    #[test]
    fn quoted_printable_vcard_values_are_decoded_in_their_charset() {
        let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode("個人番号 123456789018");
        let qp: String = sjis.iter().map(|b| format!("={b:02X}")).collect();
        let (first, second) = qp.split_at(30);
        let vcf = format!(
            "BEGIN:VCARD\r\nVERSION:2.1\r\nNOTE;CHARSET=SHIFT_JIS;ENCODING=QUOTED-PRINTABLE:{first}=\r\n{second}\r\nEND:VCARD\r\n"
        );
        let text = shown(&vcf);
        assert!(text.contains("NOTE: 個人番号 123456789018"), "{text}");
    }

    #[test]
    fn other_text_is_not_a_directory() {
        assert!(!looks_like_directory("Subject: BEGIN:VCARD"));
        assert_eq!(shown("no colon here"), "no colon here\n");
    }
}
