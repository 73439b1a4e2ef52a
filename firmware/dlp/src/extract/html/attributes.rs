//! What an HTML tag's attributes show: the text a mail client or browser displays from an
//! attribute (an image's `alt` when it is not loaded, a `title` tooltip, a form field's
//! `value` and `placeholder`), and `data:` URLs, whose content a click or an image shows
//! without any network (`<a href="data:text/csv;base64,…">`).

use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

/// The attributes whose values a reader sees.
pub(super) const SHOWN: [&str; 8] = [
    "alt",
    "title",
    "value",
    "placeholder",
    "aria-label",
    "label",
    "summary",
    "abbr",
];

/// The most attributes read from one tag.
const MAX_ATTRIBUTES: usize = 64;

/// The attributes of a tag: `tag` is its text after the `<` (name included, up to and
/// including the `>`). Names are lower case; values have their character references
/// decoded.
pub(super) fn attributes(tag: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let name_end = tag
        .find(|c: char| c.is_ascii_whitespace() || c == '>' || c == '/')
        .unwrap_or(tag.len());
    let mut rest = tag.get(name_end..).unwrap_or_default();
    while out.len() < MAX_ATTRIBUTES {
        rest = rest.trim_start_matches(|c: char| c.is_ascii_whitespace() || c == '/');
        if rest.is_empty() || rest.starts_with('>') {
            break;
        }
        let name_len = rest
            .find(|c: char| c.is_ascii_whitespace() || matches!(c, '=' | '>' | '/'))
            .unwrap_or(rest.len());
        let name = rest
            .get(..name_len)
            .unwrap_or_default()
            .to_ascii_lowercase();
        rest = rest.get(name_len..).unwrap_or_default().trim_start();
        let Some(after_eq) = rest.strip_prefix('=') else {
            if name_len == 0 {
                // Not an attribute: skip one character.
                let skip = rest.chars().next().map_or(0, char::len_utf8);
                rest = rest.get(skip..).unwrap_or_default();
            } else {
                out.push((name, String::new()));
            }
            continue;
        };
        let after_eq = after_eq.trim_start();
        let (raw, next) = match after_eq.chars().next() {
            Some(quote @ ('"' | '\'')) => {
                let body = after_eq.get(1..).unwrap_or_default();
                let end = body.find(quote).unwrap_or(body.len());
                (
                    body.get(..end).unwrap_or_default(),
                    body.get(end + 1..).unwrap_or_default(),
                )
            }
            _ => {
                let end = after_eq
                    .find(|c: char| c.is_ascii_whitespace() || c == '>')
                    .unwrap_or(after_eq.len());
                (
                    after_eq.get(..end).unwrap_or_default(),
                    after_eq.get(end..).unwrap_or_default(),
                )
            }
        };
        out.push((name, decode_references(raw)));
        rest = next;
    }
    out
}

/// `text` with its character references decoded.
fn decode_references(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(rest.get(..amp).unwrap_or_default());
        let (decoded, used) = super::entity(rest.get(amp..).unwrap_or_default());
        out.push_str(&decoded);
        rest = rest.get(amp + used.max(1)..).unwrap_or_default();
    }
    out.push_str(rest);
    out
}

/// The content of a `data:` URL: a file a reader opens from a link or sees as an image
/// without any network.
#[derive(Debug, PartialEq, Eq)]
pub struct DataUrl {
    /// Its media type, lower case (`text/plain` when none is given).
    pub media_type: String,
    /// Its `charset` parameter, if any.
    pub charset: Option<String>,
    /// Its bytes, base64 or percent-encoding undone.
    pub bytes: Vec<u8>,
}

impl DataUrl {
    /// The location step of the `index`th (0-based) `data:` URL of a document.
    pub fn step(&self, index: usize) -> String {
        format!("data: URL {} ({})", index + 1, self.media_type)
    }

    /// The URL's content as a file to extract: no name, its media type and charset.
    pub fn file(&self) -> crate::extract::FileRef<'_> {
        crate::extract::FileRef {
            name: None,
            content_type: Some(&self.media_type),
            charset: self.charset.as_deref(),
            bytes: &self.bytes,
        }
    }
}

/// Base64 as data URLs write it: padding optional.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Decodes `url` if it is a `data:` URL (RFC 2397).
pub(crate) fn data_url(url: &str) -> Option<DataUrl> {
    let url = url.trim();
    let body = url
        .get(..5)
        .filter(|scheme| scheme.eq_ignore_ascii_case("data:"))
        .and(url.get(5..))?;
    let (header, data) = body.split_once(',')?;
    let mut params = header.split(';').map(str::trim);
    let media_type = params.next().unwrap_or_default().to_ascii_lowercase();
    let media_type = if media_type.is_empty() {
        "text/plain".to_string()
    } else {
        media_type
    };
    let mut charset = None;
    let mut base64 = false;
    for param in params {
        if param.eq_ignore_ascii_case("base64") {
            base64 = true;
        } else if let Some((key, value)) = param.split_once('=')
            && key.trim().eq_ignore_ascii_case("charset")
        {
            charset = Some(value.trim().trim_matches('"').to_string());
        }
    }
    let unescaped = percent_decode(data);
    let bytes = if base64 {
        let clean: Vec<u8> = unescaped
            .into_iter()
            .filter(|b| !b.is_ascii_whitespace())
            .collect();
        BASE64.decode(clean).ok()?
    } else {
        unescaped
    };
    Some(DataUrl {
        media_type,
        charset,
        bytes,
    })
}

fn percent_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%'
            && let (Some(hi), Some(lo)) = (
                bytes.get(i + 1).and_then(|&h| (h as char).to_digit(16)),
                bytes.get(i + 2).and_then(|&l| (l as char).to_digit(16)),
            )
        {
            out.push((hi * 16 + lo) as u8);
            i += 3;
            continue;
        }
        out.push(b);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_are_read_in_every_quoting() {
        let attrs = attributes(
            r#"img src=a.png ALT="個人番号 &#x31;23" title='t&amp;t' disabled value=x>"#,
        );
        assert_eq!(
            attrs,
            [
                ("src".to_string(), "a.png".to_string()),
                ("alt".to_string(), "個人番号 123".to_string()),
                ("title".to_string(), "t&t".to_string()),
                ("disabled".to_string(), String::new()),
                ("value".to_string(), "x".to_string()),
            ]
        );
        assert!(attributes("p>").is_empty());
        assert_eq!(attributes("a title=\"unclosed").len(), 1);
        assert!(attributes(&"a b ".repeat(1000)).len() <= MAX_ATTRIBUTES);
    }

    #[test]
    fn data_urls_decode() {
        let url = data_url("data:text/csv;charset=Shift_JIS;base64,MTIzNDU2Nzg5MDE4").unwrap();
        assert_eq!(url.media_type, "text/csv");
        assert_eq!(url.charset.as_deref(), Some("Shift_JIS"));
        assert_eq!(url.bytes, b"123456789018");
        let url = data_url("DATA:,%E5%80%8B%E4%BA%BA 123").unwrap();
        assert_eq!(url.media_type, "text/plain");
        assert_eq!(String::from_utf8(url.bytes).unwrap(), "個人 123");
        let url = data_url("data:;base64,MTI zND\nU2").unwrap();
        assert_eq!(url.bytes, b"123456");
        assert_eq!(data_url("https://example.com/"), None);
        assert_eq!(data_url("data:text/plain"), None);
        assert_eq!(data_url("data:;base64,@@@"), None);
    }
}
