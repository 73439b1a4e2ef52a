//! HTML to the text a reader sees, in one linear pass.
//!
//! Tags and comments go; `<script>`, `<style>` (and `<head>`-only elements such as
//! `<title>`, which a reader does see in the tab, stay) lose their content; character
//! references are decoded (`&#65298;`, `&#xFF12;`, `&amp;`, `&nbsp;` …); block elements
//! (`<br>`, `<p>`, `<div>`, `<tr>`, `<li>` …) end lines and table cells end with a tab. Runs
//! of white space collapse to one space, as a browser shows them, so a number wrapped and
//! indented in the source reads as it does on screen. The output is never longer than the
//! input.
//!
//! `<noscript>` content is shown: mail clients run no scripts. Comments are not shown by a
//! browser, but Outlook shows what its conditional comments (`<!--[if mso]>…<![endif]-->`)
//! hold and anyone can read the source: the text of comments is read as HTML too and comes
//! after the text shown, on lines of its own. So do the attributes a reader shows (`alt`,
//! `title`, form values and placeholders: `attributes`). `data:` URLs in attributes are
//! decoded and read as files of their own.

mod attributes;

pub use self::attributes::DataUrl;
use self::attributes::{SHOWN, attributes, data_url};
use super::text::decode_all;
use super::{Walk, push_text};
use crate::content::Location;

/// The most `data:` URLs read from one document.
const MAX_DATA_URLS: usize = 32;

/// Extracts an HTML file: the charset declared by the part, else by `<meta>`, else sniffed;
/// then the `data:` URLs of its first reading, as files one level deeper.
pub(crate) fn extract(
    walk: &mut Walk<'_, '_>,
    location: &Location,
    bytes: &[u8],
    declared: Option<&str>,
    depth: usize,
) {
    let meta = meta_charset(bytes);
    let declared = declared.or(meta.as_deref());
    let mut urls = None;
    for reading in decode_all(bytes, declared) {
        let (text, found) = to_text_and_data_urls(&reading);
        urls.get_or_insert(found);
        if !push_text(walk, location, text) {
            return;
        }
    }
    for (i, url) in urls.unwrap_or_default().iter().enumerate() {
        let at = location.child(url.step(i));
        if !walk.out.enter_part(&at) || !walk.out.may_descend(&at, depth + 1) {
            return;
        }
        walk.file(&at, &url.file(), depth + 1);
    }
}

/// Does the start of `bytes` look like an HTML document?
pub(crate) fn looks_like_html(bytes: &[u8]) -> bool {
    let head = bytes.get(..512).unwrap_or(bytes);
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let start = head
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(head.len());
    let head = head.get(start..).unwrap_or_default();
    let lower: Vec<u8> = head.iter().take(64).map(u8::to_ascii_lowercase).collect();
    lower.starts_with(b"<!doctype html") || lower.starts_with(b"<html")
}

/// The charset named by `<meta charset=…>` or `<meta http-equiv … content="…; charset=…">`
/// in the first few KiB.
fn meta_charset(bytes: &[u8]) -> Option<String> {
    let head = bytes.get(..4096).unwrap_or(bytes);
    let lower: Vec<u8> = head.iter().map(u8::to_ascii_lowercase).collect();
    let at = super::find(&lower, b"charset=")?;
    let rest = lower.get(at + 8..)?;
    let rest = rest.strip_prefix(b"\"").unwrap_or(rest);
    let rest = rest.strip_prefix(b"'").unwrap_or(rest);
    let label: Vec<u8> = rest
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
        .copied()
        .collect();
    (!label.is_empty()).then(|| String::from_utf8_lossy(&label).into_owned())
}

/// Elements whose content is not shown.
const HIDDEN: [&str; 3] = ["script", "style", "template"];

/// Elements that start or end a line.
const BLOCK: [&str; 33] = [
    "br",
    "p",
    "div",
    "tr",
    "li",
    "ul",
    "ol",
    "dl",
    "dt",
    "dd",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "table",
    "thead",
    "tbody",
    "tfoot",
    "caption",
    "hr",
    "pre",
    "blockquote",
    "address",
    "section",
    "article",
    "header",
    "footer",
    "nav",
    "form",
    "title",
    "option",
];

/// Elements that end a table cell.
const CELL: [&str; 2] = ["td", "th"];

/// The text a reader sees in `html`, then the attributes it shows, then the text of its
/// comments. See the module documentation.
pub(crate) fn to_text(html: &str) -> String {
    // The `data:` URLs found are left encoded: only their readers decode them.
    render_all(html).0
}

/// [`to_text`], and the `data:` URLs of `html` decoded.
pub(crate) fn to_text_and_data_urls(html: &str) -> (String, Vec<DataUrl>) {
    let (text, urls) = render_all(html);
    let urls = urls
        .iter()
        .filter_map(|url| data_url(url))
        .take(MAX_DATA_URLS)
        .collect();
    (text, urls)
}

/// The text of `html` (shown text, shown attributes, comments), and its `data:` URLs as
/// written.
fn render_all(html: &str) -> (String, Vec<String>) {
    let mut found = Found {
        comments: Some(String::new()),
        ..Found::default()
    };
    let mut text = render(html, &mut found);
    let comments = found.comments.take().unwrap_or_default();
    let mut later = Found::default();
    let hidden = if comments.trim().is_empty() {
        String::new()
    } else {
        render(&comments, &mut later)
    };
    for more in [found.shown.as_str(), hidden.as_str(), later.shown.as_str()] {
        if !more.trim().is_empty() {
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str(more.trim_end());
        }
    }
    let mut urls = found.data_urls;
    urls.extend(later.data_urls);
    (text, urls)
}

/// What a rendering finds besides the text shown.
#[derive(Default)]
struct Found {
    /// The content of comments, for a second rendering (`None`: not kept).
    comments: Option<String>,
    /// The values of attributes a reader shows, one per line.
    shown: String,
    /// Attribute values that are `data:` URLs, still encoded.
    data_urls: Vec<String>,
}

/// The text shown of `html`; comments, shown attributes and `data:` URLs go to `found`.
fn render(html: &str, found: &mut Found) -> String {
    let mut out = Text::with_capacity(html.len().min(1 << 20));
    let mut rest = html;
    while !rest.is_empty() {
        let Some(lt) = rest.find(['<', '&']) else {
            out.push_str(rest);
            break;
        };
        let (before, tail) = rest.split_at(lt);
        out.push_str(before);
        rest = tail;
        if rest.starts_with('&') {
            let (decoded, used) = entity(rest);
            out.push_str(&decoded);
            rest = rest.get(used..).unwrap_or_default();
            continue;
        }
        // A tag, a comment, a declaration, or a lone `<`.
        let after = rest.get(1..).unwrap_or_default();
        if let Some(comment) = after.strip_prefix("!--") {
            let end = comment.find("-->");
            if let Some(kept) = found.comments.as_mut() {
                let inner = comment
                    .get(..end.unwrap_or(comment.len()))
                    .unwrap_or_default();
                // A conditional comment's markers (`[if mso]>`, `<![endif]`) are not text.
                let inner = inner.strip_prefix("[if").map_or(inner, |conditional| {
                    conditional
                        .split_once(']')
                        .map_or("", |(_, body)| body.trim_start_matches('>'))
                });
                let inner = inner.strip_suffix("<![endif]").unwrap_or(inner);
                kept.push_str(inner);
                kept.push('\n');
            }
            rest = match end {
                Some(end) => comment.get(end + 3..).unwrap_or_default(),
                None => "",
            };
            continue;
        }
        if let Some(cdata) = after.strip_prefix("![CDATA[") {
            let end = cdata.find("]]>").unwrap_or(cdata.len());
            out.push_str(cdata.get(..end).unwrap_or_default());
            rest = cdata.get(end + 3..).unwrap_or_default();
            continue;
        }
        let closing = after.starts_with('/');
        let name_start = after.get(usize::from(closing)..).unwrap_or_default();
        let starts_tag = name_start
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic());
        if !(starts_tag || after.starts_with('!') || after.starts_with('?')) {
            out.push_str("<");
            rest = after;
            continue;
        }
        let end = tag_end(after);
        if starts_tag && !closing {
            for (key, value) in attributes(after.get(..end).unwrap_or_default()) {
                if value
                    .get(..5)
                    .is_some_and(|s| s.eq_ignore_ascii_case("data:"))
                {
                    if found.data_urls.len() < MAX_DATA_URLS {
                        found.data_urls.push(value);
                    }
                } else if SHOWN.contains(&key.as_str()) && !value.trim().is_empty() {
                    found.shown.push_str(value.trim());
                    found.shown.push('\n');
                }
            }
        }
        let name: String = name_start
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .take(16)
            .collect::<String>()
            .to_ascii_lowercase();
        rest = after.get(end..).unwrap_or_default();
        if !starts_tag {
            continue;
        }
        if !closing && HIDDEN.contains(&name.as_str()) {
            rest = skip_hidden(rest, &name);
            continue;
        }
        if BLOCK.contains(&name.as_str()) {
            out.newline();
        } else if closing && CELL.contains(&name.as_str()) {
            out.tab();
        }
    }
    out.finish()
}

/// Where a tag that starts at `s` (just past its `<`) ends, just past its `>`: quoted
/// attribute values may hold `>`.
fn tag_end(s: &str) -> usize {
    let mut quote: Option<char> = None;
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '>') => return i + 1,
            _ => {}
        }
    }
    s.len()
}

/// Skips the content of a hidden element up to and including its end tag.
fn skip_hidden<'a>(rest: &'a str, name: &str) -> &'a str {
    let bytes = rest.as_bytes();
    let name = name.as_bytes();
    let mut from = 0;
    while let Some(offset) = bytes
        .get(from..)
        .and_then(|r| r.iter().position(|&b| b == b'<'))
    {
        let at = from + offset;
        let candidate = bytes.get(at + 2..at + 2 + name.len());
        if bytes.get(at + 1) == Some(&b'/')
            && candidate.is_some_and(|c| c.eq_ignore_ascii_case(name))
        {
            let tail = rest.get(at + 1..).unwrap_or_default();
            return tail.get(tag_end(tail)..).unwrap_or_default();
        }
        from = at + 1;
    }
    ""
}

/// Decodes the character reference at the start of `s` (which starts with `&`). Returns
/// the text and how many bytes it used; a lone `&` stays as it is.
fn entity(s: &str) -> (String, usize) {
    let body: String = s
        .chars()
        .skip(1)
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '#')
        .take(32)
        .collect();
    let semicolon = s.get(1 + body.len()..).is_some_and(|r| r.starts_with(';'));
    let used = 1 + body.len() + usize::from(semicolon);
    if let Some(number) = body.strip_prefix('#') {
        let value = match number.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok(),
            None => number.parse::<u32>().ok(),
        };
        if let Some(c) = value.and_then(char::from_u32).filter(|&c| c != '\0') {
            return (c.to_string(), used);
        }
        return ("\u{FFFD}".to_string(), used);
    }
    match named_entity(&body) {
        Some(text) => (text.to_string(), used),
        None => ("&".to_string(), 1),
    }
}

/// The common named character references.
fn named_entity(name: &str) -> Option<&'static str> {
    Some(match name {
        "amp" | "AMP" => "&",
        "lt" | "LT" => "<",
        "gt" | "GT" => ">",
        "quot" | "QUOT" => "\"",
        "apos" => "'",
        "nbsp" => "\u{A0}",
        "ensp" => "\u{2002}",
        "emsp" => "\u{2003}",
        "thinsp" => "\u{2009}",
        "zwsp" | "ZeroWidthSpace" => "",
        "shy" => "",
        "yen" => "¥",
        "copy" => "©",
        "reg" => "®",
        "trade" => "™",
        "hellip" => "…",
        "mdash" => "—",
        "ndash" => "–",
        "minus" => "−",
        "hyphen" | "dash" => "‐",
        "middot" => "·",
        "times" => "×",
        "divide" => "÷",
        "laquo" => "«",
        "raquo" => "»",
        "lsquo" => "‘",
        "rsquo" => "’",
        "ldquo" => "“",
        "rdquo" => "”",
        "bull" => "•",
        "deg" => "°",
        "plusmn" => "±",
        "sect" => "§",
        "para" => "¶",
        "euro" => "€",
        "pound" => "£",
        "cent" => "¢",
        "commat" => "@",
        "num" => "#",
        "lpar" => "(",
        "rpar" => ")",
        "period" => ".",
        "comma" => ",",
        "colon" => ":",
        _ => return None,
    })
}

/// The output, with white space collapsed the way a browser shows it.
struct Text {
    out: String,
    /// A space is owed before the next visible character.
    space: bool,
}

impl Text {
    fn with_capacity(capacity: usize) -> Self {
        Self {
            out: String::with_capacity(capacity),
            space: false,
        }
    }

    fn push_str(&mut self, s: &str) {
        for c in s.chars() {
            if matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0C') {
                self.space = true;
                continue;
            }
            if self.space {
                self.space = false;
                if !self.out.is_empty() && !self.out.ends_with(['\n', '\t']) {
                    self.out.push(' ');
                }
            }
            self.out.push(c);
        }
    }

    fn newline(&mut self) {
        self.space = false;
        if self.out.ends_with('\t') {
            self.out.pop();
        }
        if !self.out.is_empty() && !self.out.ends_with('\n') {
            self.out.push('\n');
        }
    }

    fn tab(&mut self) {
        self.space = false;
        self.out.push('\t');
    }

    fn finish(mut self) -> String {
        while self.out.ends_with(['\n', '\t']) {
            self.out.pop();
        }
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_and_scripts_go_comments_come_last_and_entities_are_decoded() {
        let html = "<!DOCTYPE html><html><head><style>p{color:red}</style>\
                    <script>var x = \"123456789018\";</script></head><body>\
                    <!-- a comment 111122223333 -->\
                    <p>番号：&#65298;&#xFF12;&#x33;4 &amp; &lt;tag&gt;&nbsp;&yen;100</p>\
                    <div>a<br>b</div></body></html>";
        let text = to_text(html);
        assert_eq!(
            text,
            "番号：２２34 & <tag>\u{A0}¥100\na\nb\na comment 111122223333"
        );
    }

    #[test]
    fn noscript_and_conditional_comments_are_read() {
        let html = "<p>いつも</p><noscript>個人番号 1234</noscript>\
                    <!--[if mso]><p>番号：5678</p><![endif]-->\
                    <!--[if !mso]><!--><p>詳細</p><!--<![endif]-->";
        assert_eq!(to_text(html), "いつも\n個人番号 1234\n詳細\n番号：5678");
    }

    #[test]
    fn shown_attributes_and_data_urls_are_read() {
        let html = "<p>ご確認ください</p>\
                    <img src=\"cid:x\" alt=\"個人番号 1111\">\
                    <input type=text value='2222' placeholder=\"例 3333\">\
                    <span title=\"4444\" style=\"display:none\">5555</span>\
                    <a href=\"data:text/csv;base64,5rCP5ZCNLDEyMzQ1Njc4OTAxOA==\">名簿</a>\
                    <!--[if mso]><img alt=\"6666\"><![endif]-->";
        let (text, urls) = to_text_and_data_urls(html);
        for shown in ["個人番号 1111", "2222", "例 3333", "4444", "5555", "6666"] {
            assert!(text.contains(shown), "{shown}: {text}");
        }
        // The shown text comes first, as a reader sees it.
        assert!(text.starts_with("ご確認ください"), "{text}");
        assert_eq!(urls.len(), 1);
        assert_eq!(urls[0].media_type, "text/csv");
        assert_eq!(String::from_utf8_lossy(&urls[0].bytes), "氏名,123456789018");
        // Attribute values never make the text longer than the source.
        assert!(text.len() <= html.len());
    }

    #[test]
    fn tables_become_tabs_and_lines() {
        let html = "<table><tr><th>氏名</th><th>番号</th></tr>\n\
                    <tr><td>山田</td><td>1234\n        5678 9018</td></tr></table>";
        assert_eq!(to_text(html), "氏名\t番号\n山田\t1234 5678 9018");
    }

    #[test]
    fn odd_input_stays_text() {
        assert_eq!(to_text("a < b && c > d"), "a < b && c > d");
        assert_eq!(to_text("<a href='x>y'>link</a>"), "link");
        assert_eq!(
            to_text("&#0; &#xZZ; &unknown; &#99999999;"),
            "\u{FFFD} \u{FFFD} &unknown; \u{FFFD}"
        );
        assert_eq!(to_text("<script>never closed"), "");
        assert_eq!(to_text("<!-- never closed"), "never closed");
        assert_eq!(to_text("<p"), "");
    }

    #[test]
    fn the_meta_charset_is_honoured() {
        let (body, _, _) = encoding_rs::SHIFT_JIS.encode("<p>個人番号 １２３４</p>");
        let mut bytes =
            b"<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=Shift_JIS\"></head>"
                .to_vec();
        bytes.extend_from_slice(&body);
        assert_eq!(meta_charset(&bytes).as_deref(), Some("shift_jis"));
        assert!(looks_like_html(&bytes));
        let limits = crate::content::Limits::default();
        let mut out = crate::content::Collector::new(&limits);
        let mut walk = Walk::new(&mut out);
        extract(&mut walk, &Location::root(), &bytes, None, 1);
        let texts: Vec<String> = out.finish().segments.into_iter().map(|s| s.text).collect();
        assert_eq!(texts.first().map(String::as_str), Some("個人番号 １２３４"));
    }

    #[test]
    fn long_input_is_linear() {
        let html = "<p>".repeat(200_000) + &"&amp;".repeat(200_000) + &"<".repeat(200_000);
        let text = to_text(&html);
        assert!(text.len() <= html.len());
    }
}
