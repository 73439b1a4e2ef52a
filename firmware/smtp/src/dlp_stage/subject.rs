//! Tagging the subject of a message (`[DLP] 見積書`), the `tag` action of DLP rules.

use base64::Engine as _;

/// The header block of `content`: up to (not including) the empty line, or all of it.
fn header_end(content: &[u8]) -> usize {
    if content.starts_with(b"\r\n") {
        return 0;
    }
    content
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|at| at + 2)
        .unwrap_or(content.len())
}

/// The tag as it is written into the header: ASCII as is, anything else as one RFC 2047
/// encoded word that carries the space after it (white space between encoded words is not
/// shown, so a space outside would vanish before an encoded subject).
fn encoded_tag(tag: &str) -> String {
    if tag.is_ascii() {
        format!("{tag} ")
    } else {
        let b64 = base64::engine::general_purpose::STANDARD.encode(format!("{tag} "));
        format!("=?UTF-8?B?{b64}?= ")
    }
}

/// Prefixes the subject with `tag` (adding a `Subject:` field if there is none). A subject
/// that already starts with the tag is left alone, so a message tagged twice reads once.
pub fn tag_subject(content: &[u8], tag: &str) -> Vec<u8> {
    let end = header_end(content);
    let encoded = encoded_tag(tag);
    let headers = content.get(..end).unwrap_or_default();
    let mut line_start = 0;
    while line_start < headers.len() {
        let line_end = headers
            .get(line_start..)
            .and_then(|rest| rest.iter().position(|&b| b == b'\n'))
            .map_or(headers.len(), |at| line_start + at + 1);
        let line = headers.get(line_start..line_end).unwrap_or_default();
        if line.len() >= 8
            && line
                .get(..8)
                .is_some_and(|n| n.eq_ignore_ascii_case(b"subject:"))
        {
            let mut at = line_start + 8;
            while matches!(content.get(at), Some(b' ' | b'\t')) {
                at += 1;
            }
            let value = content.get(at..).unwrap_or_default();
            if value.starts_with(encoded.trim_end().as_bytes()) {
                return content.to_vec();
            }
            let mut out = Vec::with_capacity(content.len() + encoded.len() + 1);
            out.extend_from_slice(content.get(..line_start + 8).unwrap_or_default());
            out.push(b' ');
            out.extend_from_slice(encoded.as_bytes());
            out.extend_from_slice(value);
            return out;
        }
        line_start = line_end;
    }
    let mut out = Vec::with_capacity(content.len() + encoded.len() + 12);
    out.extend_from_slice(content.get(..end).unwrap_or_default());
    out.extend_from_slice(b"Subject: ");
    out.extend_from_slice(encoded.trim_end().as_bytes());
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(content.get(end..).unwrap_or_default());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(content: &str, t: &str) -> String {
        String::from_utf8(tag_subject(content.as_bytes(), t)).unwrap()
    }

    #[test]
    fn an_ascii_tag_goes_before_the_subject() {
        assert_eq!(
            tag("From: a\r\nSubject:  見積\r\n\r\nbody", "[DLP]"),
            "From: a\r\nSubject: [DLP] 見積\r\n\r\nbody"
        );
        assert_eq!(
            tag("SUBJECT: x\r\n\r\n", "[DLP]"),
            "SUBJECT: [DLP] x\r\n\r\n"
        );
    }

    #[test]
    fn a_japanese_tag_is_an_encoded_word_with_its_space_inside() {
        let out = tag(
            "Subject: =?ISO-2022-JP?B?GyRCOCsQGyhC?=\r\n\r\n",
            "[要確認]",
        );
        let b64 = base64::engine::general_purpose::STANDARD.encode("[要確認] ");
        assert_eq!(
            out,
            format!("Subject: =?UTF-8?B?{b64}?= =?ISO-2022-JP?B?GyRCOCsQGyhC?=\r\n\r\n")
        );
    }

    #[test]
    fn a_missing_subject_is_added_and_tagging_twice_tags_once() {
        let once = tag("From: a\r\n\r\nSubject: in the body\r\n", "[DLP]");
        assert_eq!(
            once,
            "From: a\r\nSubject: [DLP]\r\n\r\nSubject: in the body\r\n"
        );
        let twice = tag("Subject: [DLP] x\r\n\r\n", "[DLP]");
        assert_eq!(twice, "Subject: [DLP] x\r\n\r\n");
    }

    #[test]
    fn a_subject_in_the_body_is_not_touched() {
        assert_eq!(
            tag("From: a\r\n\r\nSubject: no", "[DLP]"),
            "From: a\r\nSubject: [DLP]\r\n\r\nSubject: no"
        );
    }
}
