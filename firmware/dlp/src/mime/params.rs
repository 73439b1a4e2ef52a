//! Structured header values with parameters: `Content-Type` and `Content-Disposition`.
//!
//! Parameters may be quoted strings (with `\` escapes), bare tokens (read up to the next
//! `;`, as clients do for unquoted names with spaces), or RFC 2231 extended values:
//! `name*=charset'lang'%XX…` and continuations `name*0*=…; name*1=…`. Values that carry
//! RFC 2047 encoded words or raw 8-bit bytes instead (common in Japanese mail) are decoded
//! too.

use crate::charset;

use super::words;

/// A parameter value before charset decoding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct ParamValue {
    /// The bytes (percent-decoding undone).
    pub(super) bytes: Vec<u8>,
    /// The RFC 2231 charset, if one was given.
    pub(super) charset: Option<String>,
}

impl ParamValue {
    /// Every reading of the value.
    pub(super) fn readings(&self) -> Vec<String> {
        match words::usable_label(self.charset.as_deref()) {
            Some(label) => words::without_raw_escapes(
                charset::readings(&self.bytes, Some(label))
                    .into_iter()
                    .map(|s| s.trim().to_string())
                    .collect(),
            ),
            None => words::decode_text(&self.bytes),
        }
    }
}

/// A value such as `text/plain; charset=iso-2022-jp` or `attachment; filename=…`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Structured {
    /// The main value, lower case, blanks and comments removed (`text/plain`).
    pub(super) value: String,
    /// The parameters as written: names lower case, values unquoted.
    params: Vec<(String, Vec<u8>)>,
}

/// Skips a comment starting at `bytes[i] == b'('`; returns the index after it.
fn skip_comment(bytes: &[u8], mut i: usize) -> usize {
    let mut depth = 0usize;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'\\' => i += 1,
            b'(' => depth += 1,
            b')' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    i
}

/// Removes a trailing `(comment)` from an unquoted value (`us-ascii (Plain text)`).
fn strip_trailing_comment(value: &[u8]) -> &[u8] {
    let value = value.trim_ascii();
    if value.ends_with(b")")
        && let Some(open) = value.iter().position(|&b| b == b'(')
        && open > 0
        && value.get(open - 1).is_some_and(u8::is_ascii_whitespace)
    {
        return value.get(..open).unwrap_or_default().trim_ascii();
    }
    value
}

impl Structured {
    /// Parses a raw header value. Never fails: garbage gives an empty value.
    pub(super) fn parse(raw: &[u8]) -> Self {
        let mut value = Vec::new();
        let mut i = 0;
        while let Some(&b) = raw.get(i) {
            match b {
                b';' => break,
                b'(' => {
                    i = skip_comment(raw, i);
                    continue;
                }
                b'"' => {}
                _ if b.is_ascii_whitespace() => {}
                _ => value.push(b.to_ascii_lowercase()),
            }
            i += 1;
        }
        let mut params = Vec::new();
        while raw.get(i) == Some(&b';') {
            i += 1;
            while raw.get(i).is_some_and(u8::is_ascii_whitespace) {
                i += 1;
            }
            if raw.get(i) == Some(&b'(') {
                i = skip_comment(raw, i);
            }
            let start = i;
            while raw.get(i).is_some_and(|&b| b != b'=' && b != b';') {
                i += 1;
            }
            let name = raw.get(start..i).unwrap_or_default().trim_ascii();
            if raw.get(i) != Some(&b'=') {
                continue;
            }
            i += 1;
            while raw.get(i).is_some_and(u8::is_ascii_whitespace) {
                i += 1;
            }
            let mut val = Vec::new();
            if raw.get(i) == Some(&b'"') {
                i += 1;
                while let Some(&b) = raw.get(i) {
                    i += 1;
                    match b {
                        b'"' => break,
                        b'\\' => {
                            if let Some(&next) = raw.get(i) {
                                val.push(next);
                                i += 1;
                            }
                        }
                        b'\r' | b'\n' => {}
                        _ => val.push(b),
                    }
                }
                while raw.get(i).is_some_and(|&b| b != b';') {
                    i += 1;
                }
            } else {
                let start = i;
                while raw.get(i).is_some_and(|&b| b != b';') {
                    i += 1;
                }
                val = strip_trailing_comment(raw.get(start..i).unwrap_or_default()).to_vec();
            }
            if !name.is_empty() {
                let name = String::from_utf8_lossy(name).to_ascii_lowercase();
                params.push((name, val));
            }
        }
        Self {
            value: String::from_utf8_lossy(&value).into_owned(),
            params,
        }
    }

    /// A structured value with no parameters (a default content type).
    pub(super) fn bare(value: &str) -> Self {
        Self {
            value: value.to_string(),
            params: Vec::new(),
        }
    }

    /// Is this a usable content type (`type/subtype`)?
    pub(super) fn is_media_type(&self) -> bool {
        match self.value.split_once('/') {
            Some((t, s)) => !t.is_empty() && !s.is_empty(),
            None => false,
        }
    }

    /// Every value written for the plain parameter `name` (no RFC 2231), in order.
    pub(super) fn all_plain<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.params
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }

    /// The plain parameter `name` as text (first wins), such as `charset`.
    pub(super) fn plain_text(&self, name: &str) -> Option<String> {
        let value = self.all_plain(name).next()?;
        Some(String::from_utf8_lossy(value).trim().to_string())
    }

    /// The RFC 2231 value of `name` (`name*` or `name*0`, `name*1` …), if there is one.
    pub(super) fn extended(&self, name: &str) -> Option<ParamValue> {
        let mut sections: Vec<(u32, bool, &[u8])> = Vec::new();
        for (n, v) in &self.params {
            let Some(rest) = n.strip_prefix(name).and_then(|r| r.strip_prefix('*')) else {
                continue;
            };
            if rest.is_empty() {
                return Some(decode_extended(v, true));
            }
            let (number, extended) = match rest.strip_suffix('*') {
                Some(number) => (number, true),
                None => (rest, false),
            };
            if number.is_empty() || number.len() > 4 || !number.bytes().all(|b| b.is_ascii_digit())
            {
                continue;
            }
            let Ok(number) = number.parse::<u32>() else {
                continue;
            };
            if !sections.iter().any(|(k, _, _)| *k == number) {
                sections.push((number, extended, v.as_slice()));
            }
        }
        if sections.is_empty() {
            return None;
        }
        sections.sort_by_key(|(k, _, _)| *k);
        let mut out = ParamValue {
            bytes: Vec::new(),
            charset: None,
        };
        for (number, extended, value) in sections {
            if extended {
                let part = decode_extended(value, number == 0);
                if number == 0 {
                    out.charset = part.charset;
                }
                out.bytes.extend_from_slice(&part.bytes);
            } else {
                out.bytes.extend_from_slice(value);
            }
        }
        Some(out)
    }

    /// Every reading of parameter `name`: the RFC 2231 value's, then the plain value's
    /// (a client may show either), de-duplicated, empty ones left out.
    pub(super) fn text(&self, name: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let values = self
            .extended(name)
            .into_iter()
            .chain(self.all_plain(name).take(2).map(|bytes| ParamValue {
                bytes: bytes.to_vec(),
                charset: None,
            }));
        for value in values {
            for reading in value.readings() {
                if !reading.is_empty() && !out.contains(&reading) {
                    out.push(reading);
                }
            }
        }
        out
    }
}

/// Decodes an RFC 2231 extended value: `charset'lang'%XX…` when `initial`, else `%XX…`.
fn decode_extended(value: &[u8], initial: bool) -> ParamValue {
    let mut charset = None;
    let mut rest = value;
    if initial {
        let mut split = value.splitn(3, |&b| b == b'\'');
        if let (Some(cs), Some(_lang), Some(text)) = (split.next(), split.next(), split.next()) {
            let cs = String::from_utf8_lossy(cs).trim().to_string();
            charset = (!cs.is_empty()).then_some(cs);
            rest = text;
        }
    }
    let mut bytes = Vec::with_capacity(rest.len());
    let mut i = 0;
    while let Some(&b) = rest.get(i) {
        if b == b'%'
            && let (Some(&h), Some(&l)) = (rest.get(i + 1), rest.get(i + 2))
            && let (Some(h), Some(l)) = (char::from(h).to_digit(16), char::from(l).to_digit(16))
        {
            bytes.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        bytes.push(b);
        i += 1;
    }
    ParamValue { bytes, charset }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    fn percent(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("%{b:02X}")).collect()
    }

    #[test]
    fn content_types_and_params() {
        let ct = Structured::parse(
            b" Text/Plain (comment); charset=\"ISO-2022-JP\"; format=flowed ;x; delsp = yes",
        );
        assert_eq!(ct.value, "text/plain");
        assert!(ct.is_media_type());
        assert_eq!(ct.plain_text("charset").unwrap(), "ISO-2022-JP");
        assert_eq!(ct.plain_text("delsp").unwrap(), "yes");
        assert_eq!(ct.plain_text("format").unwrap(), "flowed");
        assert!(ct.plain_text("x").is_none());
        let ct = Structured::parse(
            b"multipart/mixed;\tboundary=\"a\\\"b;c\"; charset=us-ascii (Plain text)",
        );
        assert_eq!(ct.all_plain("boundary").next().unwrap(), b"a\"b;c");
        assert_eq!(ct.plain_text("charset").unwrap(), "us-ascii");
        assert!(!Structured::parse(b"text").is_media_type());
        assert!(!Structured::parse(b"").is_media_type());
        // An unquoted name with spaces, read to the `;`.
        let cd = Structured::parse(b"attachment; filename=my file.txt; size=3");
        assert_eq!(cd.value, "attachment");
        assert_eq!(cd.text("filename"), ["my file.txt"]);
    }

    #[test]
    fn rfc2231_continuations_and_charsets() {
        let name = "社員名簿（2024年度）.xlsx";
        let sjis = encoding_rs::SHIFT_JIS.encode(name).0;
        let utf8 = percent(name.as_bytes());
        let (a, b) = utf8.split_at(30);
        let raw = format!(
            "attachment; filename*1*={b}; filename*0*=UTF-8'ja'{a}; filename=\"fallback.xlsx\""
        );
        let cd = Structured::parse(raw.as_bytes());
        assert_eq!(cd.text("filename"), [name, "fallback.xlsx"]);
        let raw = format!("attachment; filename*=shift_jis''{}", percent(&sjis));
        assert_eq!(Structured::parse(raw.as_bytes()).text("filename")[0], name);
        // Mixed extended and plain sections.
        let raw = "attachment; filename*0*=utf-8''%E5%90%8D; filename*1=\"bo.zip\"";
        assert_eq!(
            Structured::parse(raw.as_bytes()).text("filename"),
            ["名bo.zip"]
        );
        // No charset quote marks: percent-decoding only.
        let raw = "attachment; filename*=a%20b";
        assert_eq!(Structured::parse(raw.as_bytes()).text("filename"), ["a b"]);
    }

    #[test]
    fn rfc2047_and_raw_eight_bit_names() {
        let name = "名簿.zip";
        let jis = encoding_rs::ISO_2022_JP.encode(name).0;
        let b64 = base64::engine::general_purpose::STANDARD.encode(&jis);
        let raw = format!("application/zip; name=\"=?ISO-2022-JP?B?{b64}?=\"");
        assert_eq!(Structured::parse(raw.as_bytes()).text("name"), [name]);
        let mut raw = b"attachment; filename=\"".to_vec();
        raw.extend_from_slice(&encoding_rs::SHIFT_JIS.encode(name).0);
        raw.push(b'"');
        assert!(
            Structured::parse(&raw)
                .text("filename")
                .iter()
                .any(|t| t == name)
        );
    }
}
