//! XML to text with `quick-xml`, for the parts of Office packages (and XML files).
//!
//! Text nodes are kept; the ends of paragraphs and rows become line ends and the ends of
//! table cells tabs, so a table reads as it does on screen. White space between elements
//! (indentation) is dropped unless it stands in a text run. Character and the predefined
//! entity references are decoded. The output is capped (the caller passes the cap) and the
//! parse is one linear pass; on malformed XML the text so far is returned with the error.

use quick_xml::Reader;
use quick_xml::events::{BytesRef, BytesStart, Event};

use super::text::decode_all;
use super::{Walk, push_text};
use crate::content::{Location, ProblemKind};

/// Elements (by local name) whose end ends a line: WordprocessingML/DrawingML paragraphs,
/// table rows, shared string items; ODF paragraphs, headings and rows.
const LINE_END: [&str; 8] = [
    "p",
    "tr",
    "si",
    "row",
    "h",
    "table-row",
    "list-item",
    "comment",
];
/// Elements whose end ends a table cell.
const CELL_END: [&str; 3] = ["tc", "c", "table-cell"];
/// Empty elements that stand for a line break.
const BREAK: [&str; 3] = ["br", "cr", "line-break"];
/// Empty elements that stand for a tab or a space.
const TAB: [&str; 2] = ["tab", "ptab"];
const SPACE: [&str; 1] = ["s"];
/// Elements whose text is not shown: phonetic guides (furigana) of Excel strings, field
/// instructions, and the formulas of cells (their results are in `v`).
const HIDDEN: [&str; 5] = ["rPh", "phoneticPr", "instrText", "f", "binData"];
/// Elements in which white space is text.
const TEXT_RUN: [&str; 6] = ["t", "delText", "span", "p", "h", "a"];

/// The text of an XML document, and the parse error that stopped it, if any.
#[derive(Debug, Default)]
pub(crate) struct XmlText {
    /// The text.
    pub text: String,
    /// Why the parse stopped early.
    pub error: Option<String>,
}

/// Extracts an XML file given on its own (SpreadsheetML 2003, exports …); falls back to text
/// when it does not parse at all.
pub(crate) fn extract(
    walk: &mut Walk<'_, '_>,
    location: &Location,
    bytes: &[u8],
    declared: Option<&str>,
) {
    let cap = walk.text_cap();
    for reading in decode_all(bytes, declared) {
        let parsed = to_text(reading.as_bytes(), cap);
        let text = if parsed.error.is_some() && parsed.text.trim().is_empty() {
            reading
        } else {
            parsed.text
        };
        if !push_text(walk, location, text) {
            return;
        }
    }
}

/// Records a parse error of a package part as a problem.
pub(crate) fn report_error(walk: &mut Walk<'_, '_>, location: &Location, error: Option<String>) {
    if let Some(error) = error {
        walk.out.problem(
            location,
            ProblemKind::Unreadable,
            format!("malformed XML: {error}"),
        );
    }
}

fn reader(xml: &[u8]) -> Reader<&[u8]> {
    let mut reader = Reader::from_reader(xml);
    let config = reader.config_mut();
    config.check_end_names = false;
    config.allow_unmatched_ends = true;
    config.allow_dangling_amp = true;
    config.expand_empty_elements = false;
    reader
}

/// The local name of an element, as text.
fn local(e: &BytesStart<'_>) -> String {
    String::from_utf8_lossy(e.local_name().as_ref()).into_owned()
}

/// The local name of an end tag.
fn local_end(name: &[u8]) -> String {
    let local = match name.iter().rposition(|&b| b == b':') {
        Some(colon) => name.get(colon + 1..).unwrap_or_default(),
        None => name,
    };
    String::from_utf8_lossy(local).into_owned()
}

/// The text of an entity reference: characters and the five predefined entities; anything
/// else stays as written.
fn reference(r: &BytesRef<'_>) -> String {
    if let Ok(Some(c)) = r.resolve_char_ref() {
        return c.to_string();
    }
    let name = r.decode().map(|n| n.into_owned()).unwrap_or_default();
    match name.as_str() {
        "amp" => "&".into(),
        "lt" => "<".into(),
        "gt" => ">".into(),
        "quot" => "\"".into(),
        "apos" => "'".into(),
        _ => format!("&{name};"),
    }
}

/// The value a pivot cache keeps in an attribute (`<s v="山田"/>`, `<n v="1.23E+11"/>`,
/// `<d v="2025-04-01T00:00:00"/>`): shared items and records, which Excel shows when the
/// pivot table is refreshed or drilled into, even after the source sheet is deleted.
fn cached_value(e: &BytesStart<'_>, name: &str) -> Option<String> {
    if !matches!(name, "s" | "n" | "d" | "e") {
        return None;
    }
    let value = attribute(e, "v")?;
    Some(if name == "n" {
        number_text(value.trim())
    } else {
        value
    })
}

/// The value of attribute `local_name` (any prefix), unescaped.
pub(crate) fn attribute(e: &BytesStart<'_>, local_name: &str) -> Option<String> {
    e.attributes().flatten().find_map(|a| {
        (a.key.local_name().as_ref() == local_name.as_bytes()).then(|| {
            a.unescape_value()
                .map(|v| v.into_owned())
                .unwrap_or_else(|_| String::from_utf8_lossy(&a.value).into_owned())
        })
    })
}

/// Ends the current line: drops a trailing tab, adds one line end.
fn end_line(text: &mut String) {
    while text.ends_with([' ', '\t']) {
        text.pop();
    }
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
}

/// Roots (local names) of parts that hold values rather than flowing text: document
/// properties (core, app, custom; ODF's meta), charts' caches. Each element's text there
/// is a value of its own, so every element ends a line: `<title>…018</title><creator>x`
/// must not read as `…018x`, nor two cached values as one number.
const DATA_ROOTS: [&str; 4] = [
    "coreProperties",
    "Properties",
    "chartSpace",
    "document-meta",
];

/// The text of an XML document (DOCX, PPTX and ODF parts, shared strings), capped at `cap`
/// bytes.
pub(crate) fn to_text(xml: &[u8], cap: usize) -> XmlText {
    text_of(xml, cap, false)
}

/// The text of an XML document of values (custom XML data, whatever its root): every
/// element's text on a line of its own.
pub(crate) fn data_to_text(xml: &[u8], cap: usize) -> XmlText {
    text_of(xml, cap, true)
}

fn text_of(xml: &[u8], cap: usize, mut data: bool) -> XmlText {
    let mut reader = reader(xml);
    let mut out = XmlText::default();
    // The open elements' local names (bounded: deeper nesting is only counted).
    let mut stack: Vec<String> = Vec::new();
    let mut deep = 0usize;
    let mut hidden = 0usize;
    // A Word run (`w:r`) formatted as hidden (`w:vanish`): Word does not show it, so its
    // text must not split what is shown around it (`1234` + hidden `XX` + `5678…` reads as
    // one number on screen). It is kept apart, on lines after the rest, and still scanned.
    let mut run_start: Option<usize> = None;
    let mut run_hidden = false;
    let mut aside = String::new();
    loop {
        if out.text.len() + aside.len() > cap {
            break;
        }
        let event = match reader.read_event() {
            Ok(event) => event,
            Err(error) => {
                out.error = Some(error.to_string());
                break;
            }
        };
        match event {
            Event::Start(e) => {
                let name = local(&e);
                if stack.is_empty() && deep == 0 && DATA_ROOTS.contains(&name.as_str()) {
                    data = true;
                }
                if HIDDEN.contains(&name.as_str()) {
                    hidden += 1;
                }
                if name == "r" {
                    run_start = Some(out.text.len());
                    run_hidden = false;
                }
                if VANISH.contains(&name.as_str())
                    && run_start.is_some()
                    && stack.last().is_some_and(|p| p == "rPr")
                    && shown_false(&e)
                {
                    run_hidden = true;
                }
                if hidden == 0
                    && let Some(value) = cached_value(&e, &name)
                {
                    out.text.push_str(&value);
                    out.text.push('\t');
                }
                if hidden == 0 {
                    shown_attributes(&e, &name, &mut aside);
                }
                if name == "table-cell"
                    && hidden == 0
                    && let Some(value) = attribute(&e, "value")
                {
                    // ODF keeps a number's full value apart from its display ("1.23E+11").
                    out.text.push_str(&number_text(value.trim()));
                    out.text.push(' ');
                }
                if stack.len() < 256 {
                    stack.push(name);
                } else {
                    deep += 1;
                }
            }
            Event::Empty(e) => {
                let name = local(&e);
                if hidden > 0 {
                    continue;
                }
                if VANISH.contains(&name.as_str())
                    && run_start.is_some()
                    && stack.last().is_some_and(|p| p == "rPr")
                    && shown_false(&e)
                {
                    run_hidden = true;
                }
                shown_attributes(&e, &name, &mut aside);
                if let Some(value) = cached_value(&e, &name) {
                    out.text.push_str(&value);
                    out.text.push('\t');
                } else if BREAK.contains(&name.as_str()) {
                    out.text.push('\n');
                } else if TAB.contains(&name.as_str()) {
                    out.text.push('\t');
                } else if SPACE.contains(&name.as_str()) {
                    out.text.push(' ');
                } else if LINE_END.contains(&name.as_str()) {
                    end_line(&mut out.text);
                } else if CELL_END.contains(&name.as_str()) {
                    out.text.push('\t');
                }
            }
            Event::End(e) => {
                let name = if deep > 0 {
                    deep -= 1;
                    continue;
                } else {
                    stack.pop().unwrap_or_else(|| local_end(e.name().as_ref()))
                };
                if HIDDEN.contains(&name.as_str()) {
                    hidden = hidden.saturating_sub(1);
                    continue;
                }
                if hidden > 0 {
                    continue;
                }
                if name == "r"
                    && let Some(start) = run_start.take()
                    && std::mem::take(&mut run_hidden)
                {
                    let shown_not = out.text.get(start..).unwrap_or_default().to_owned();
                    out.text.truncate(start);
                    aside.push_str(&shown_not);
                    aside.push('\n');
                }
                if data {
                    end_line(&mut out.text);
                } else if (name == "p" || name == "h")
                    && stack.iter().any(|n| CELL_END.contains(&n.as_str()))
                {
                    // Paragraphs within a table cell: the cell's text, on the row's line.
                    if !out.text.ends_with([' ', '\t', '\n']) {
                        out.text.push(' ');
                    }
                } else if LINE_END.contains(&name.as_str()) {
                    end_line(&mut out.text);
                } else if CELL_END.contains(&name.as_str()) {
                    while out.text.ends_with(' ') {
                        out.text.pop();
                    }
                    out.text.push('\t');
                }
            }
            Event::Text(t) => {
                if hidden > 0 {
                    continue;
                }
                let text = t.decode().map(|t| t.into_owned()).unwrap_or_default();
                push_node(&mut out.text, &text, stack.last().map(String::as_str));
            }
            Event::CData(t) if hidden == 0 => {
                out.text.push_str(&String::from_utf8_lossy(&t));
            }
            Event::GeneralRef(r) if hidden == 0 => {
                out.text.push_str(&reference(&r));
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !aside.trim().is_empty() {
        end_line(&mut out.text);
        out.text.push_str(aside.trim());
    }
    while out.text.ends_with(['\n', '\t', ' ']) {
        out.text.pop();
    }
    out
}

/// Attributes a reader sees as text, put aside (a line each): a workbook's sheet names,
/// the alternative text and title of a picture or shape (`cNvPr`, `docPr`: what a screen
/// reader says and Office's alt-text pane shows).
fn shown_attributes(e: &quick_xml::events::BytesStart<'_>, name: &str, aside: &mut String) {
    let names: &[&str] = match name {
        "sheet" => &["name"],
        "cNvPr" | "docPr" => &["descr", "title"],
        _ => return,
    };
    for attr in names {
        if let Some(text) = attribute(e, attr)
            && !text.trim().is_empty()
        {
            aside.push_str(&text);
            aside.push('\n');
        }
    }
}

/// Run properties that hide a Word run: `vanish` (hidden text), `webHidden`,
/// `specVanish`.
const VANISH: [&str; 3] = ["vanish", "webHidden", "specVanish"];

/// Is a toggle property (`<w:vanish/>`, `<w:vanish w:val="true"/>`) on? `0`, `false` and
/// `off` turn it off.
fn shown_false(e: &quick_xml::events::BytesStart<'_>) -> bool {
    !attribute(e, "val").is_some_and(|v| matches!(v.trim(), "0" | "false" | "off"))
}

/// Appends a text node: white space only counts inside text runs, and then as one space.
fn push_node(out: &mut String, text: &str, parent: Option<&str>) {
    if text.trim().is_empty() {
        if parent.is_some_and(|p| TEXT_RUN.contains(&p)) && !text.is_empty() {
            out.push(' ');
        }
        return;
    }
    out.push_str(text);
}

/// The strings of an XLSX shared string table (`xl/sharedStrings.xml`), one per `<si>`,
/// furigana left out; at most `cap` bytes in all.
pub(crate) fn shared_strings(xml: &[u8], cap: usize) -> (Vec<String>, Option<String>) {
    let mut reader = reader(xml);
    let mut strings = Vec::new();
    let mut current = String::new();
    let mut total = 0usize;
    let mut in_si = false;
    let mut in_t = false;
    let mut hidden = 0usize;
    let mut error = None;
    loop {
        let event = match reader.read_event() {
            Ok(event) => event,
            Err(e) => {
                error = Some(e.to_string());
                break;
            }
        };
        match event {
            Event::Start(e) => match e.local_name().as_ref() {
                b"si" => {
                    in_si = true;
                    current.clear();
                }
                b"t" => in_t = true,
                b"rPh" | b"phoneticPr" => hidden += 1,
                _ => {}
            },
            Event::Empty(e) if e.local_name().as_ref() == b"si" => strings.push(String::new()),
            Event::End(e) => match e.local_name().as_ref() {
                b"si" => {
                    in_si = false;
                    total += current.len();
                    strings.push(std::mem::take(&mut current));
                    if total > cap {
                        break;
                    }
                }
                b"t" => in_t = false,
                b"rPh" | b"phoneticPr" => hidden = hidden.saturating_sub(1),
                _ => {}
            },
            Event::Text(t) if in_si && in_t && hidden == 0 => {
                current.push_str(&t.decode().map(|t| t.into_owned()).unwrap_or_default());
            }
            Event::GeneralRef(r) if in_si && in_t && hidden == 0 => {
                current.push_str(&reference(&r));
            }
            Event::Eof => break,
            _ => {}
        }
    }
    (strings, error)
}

/// The most empty cells [`pad_to_column`] writes for one gap (a reference far to the right
/// does not blow the text up).
const MAX_GAP: usize = 256;

/// Pads the row being written with empty cells up to the column of the cell reference
/// `reference` (`D85` is column 3), so that a column's cells line up under its header even
/// where a row leaves cells out, as Excel does.
fn pad_to_column(text: &mut String, column: &mut usize, reference: Option<&str>) {
    let Some(reference) = reference else {
        return;
    };
    let letters: String = reference
        .chars()
        .take_while(char::is_ascii_alphabetic)
        .collect();
    let wanted = letters
        .bytes()
        .try_fold(0usize, |n, b| {
            n.checked_mul(26)?
                .checked_add(usize::from(b.to_ascii_uppercase() - b'A') + 1)
        })
        .map_or(0, |n| n.saturating_sub(1));
    let gap = wanted.saturating_sub(*column).min(MAX_GAP);
    for _ in 0..gap {
        text.push('\t');
    }
    *column += gap;
}

/// The cells of an XLSX worksheet: a line per row, a tab between cells; shared strings
/// looked up, numbers written out in full (see [`number_text`]); at most `cap` bytes.
pub(crate) fn sheet_to_text(xml: &[u8], shared: &[String], cap: usize) -> XmlText {
    let mut reader = reader(xml);
    let mut out = XmlText::default();
    let mut cell_type = String::new();
    let mut value = String::new();
    let mut in_value = false;
    let mut in_inline = false;
    let mut hidden = 0usize;
    // The column the next cell's text goes to (cells a row leaves out are empty ones).
    let mut column = 0usize;
    // What the sheet shows besides its cells: headers and footers (printed on every page),
    // data validation prompts and errors, hyperlinks' tooltips and display texts; after
    // the cells, a line each.
    let mut extras = String::new();
    let mut in_header = false;
    let mut header = String::new();
    loop {
        if out.text.len() + extras.len() + header.len() > cap {
            break;
        }
        let event = match reader.read_event() {
            Ok(event) => event,
            Err(e) => {
                out.error = Some(e.to_string());
                break;
            }
        };
        match event {
            Event::Start(e) | Event::Empty(e)
                if matches!(e.local_name().as_ref(), b"dataValidation" | b"hyperlink") =>
            {
                for name in [
                    "promptTitle",
                    "prompt",
                    "errorTitle",
                    "error",
                    "tooltip",
                    "display",
                ] {
                    if let Some(text) = attribute(&e, name) {
                        extras.push_str(&text);
                        extras.push('\n');
                    }
                }
            }
            Event::Start(e) => match e.local_name().as_ref() {
                b"oddHeader" | b"oddFooter" | b"evenHeader" | b"evenFooter" | b"firstHeader"
                | b"firstFooter" => in_header = true,
                b"c" => {
                    cell_type = attribute(&e, "t").unwrap_or_default();
                    value.clear();
                    pad_to_column(&mut out.text, &mut column, attribute(&e, "r").as_deref());
                }
                b"v" => in_value = true,
                b"is" => in_inline = true,
                b"rPh" => hidden += 1,
                _ => {}
            },
            Event::Empty(e) if e.local_name().as_ref() == b"c" => {
                pad_to_column(&mut out.text, &mut column, attribute(&e, "r").as_deref());
                out.text.push('\t');
                column += 1;
            }
            Event::End(e) => match e.local_name().as_ref() {
                b"oddHeader" | b"oddFooter" | b"evenHeader" | b"evenFooter" | b"firstHeader"
                | b"firstFooter" => {
                    in_header = false;
                    extras.push_str(&header_text(&std::mem::take(&mut header)));
                    extras.push('\n');
                }
                b"v" => in_value = false,
                b"is" => in_inline = false,
                b"rPh" => hidden = hidden.saturating_sub(1),
                b"c" => {
                    let shown = match cell_type.as_str() {
                        "s" => value
                            .trim()
                            .parse::<usize>()
                            .ok()
                            .and_then(|i| shared.get(i))
                            .cloned()
                            .unwrap_or_default(),
                        "str" | "inlineStr" | "e" => std::mem::take(&mut value),
                        "b" => match value.trim() {
                            "1" => "TRUE".to_string(),
                            "0" => "FALSE".to_string(),
                            other => other.to_string(),
                        },
                        _ => number_text(value.trim()),
                    };
                    out.text.push_str(&shown);
                    out.text.push('\t');
                    column += 1;
                    value.clear();
                    cell_type.clear();
                }
                b"row" => {
                    end_line(&mut out.text);
                    column = 0;
                }
                _ => {}
            },
            Event::Text(t) if in_header => {
                header.push_str(&t.decode().map(|t| t.into_owned()).unwrap_or_default());
            }
            Event::GeneralRef(r) if in_header => header.push_str(&reference(&r)),
            Event::Text(t) if (in_value || in_inline) && hidden == 0 => {
                value.push_str(&t.decode().map(|t| t.into_owned()).unwrap_or_default());
            }
            Event::GeneralRef(r) if (in_value || in_inline) && hidden == 0 => {
                value.push_str(&reference(&r));
            }
            Event::Eof => break,
            _ => {}
        }
        if value.len() > cap {
            break;
        }
    }
    if !extras.trim().is_empty() {
        end_line(&mut out.text);
        out.text.push_str(extras.trim());
    }
    while out.text.ends_with(['\n', '\t', ' ']) {
        out.text.pop();
    }
    out
}

/// The text of an Excel header or footer, its codes undone: `&L`, `&C`, `&R` start a
/// section (a line here), `&"font,style"` and `&12` (a font size of at most two digits)
/// are formatting, `&&` is an ampersand, other codes (page
/// number, date, file name) are dropped.
fn header_text(code: &str) -> String {
    let mut out = String::new();
    let mut chars = code.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '&' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('&') => out.push('&'),
            Some('"') => {
                for c in chars.by_ref() {
                    if c == '"' {
                        break;
                    }
                }
            }
            // A font size: two digits at most are taken for it (sizes past 99 points are
            // rare), so that digits written right after it stay text.
            Some(d) if d.is_ascii_digit() && chars.peek().is_some_and(char::is_ascii_digit) => {
                chars.next();
            }
            Some(d) if d.is_ascii_digit() => {}
            Some('L' | 'C' | 'R') => out.push('\n'),
            _ => {}
        }
    }
    out
}

/// A number as Excel stores it, written the way a person would type it: an integral value
/// in scientific notation (`1.23456789018E+11`) or with a zero fraction (`123456789018.0`)
/// becomes its digits (`123456789018`); anything else stays as it is.
pub(crate) fn number_text(stored: &str) -> String {
    integral_digits(stored).unwrap_or_else(|| stored.to_string())
}

/// The digits of an integral decimal number written in plain or scientific notation, up to
/// 30 digits; `None` otherwise.
fn integral_digits(s: &str) -> Option<String> {
    let (negative, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(at) => {
            let exp = s.get(at + 1..)?;
            let exp = exp.strip_prefix('+').unwrap_or(exp);
            (s.get(..at)?, exp.parse::<i32>().ok()?)
        }
        None => (s, 0),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    if !int_part
        .bytes()
        .chain(frac_part.bytes())
        .all(|b| b.is_ascii_digit())
    {
        return None;
    }
    if exponent.unsigned_abs() > 30 || int_part.len() + frac_part.len() > 40 {
        return None;
    }
    // All digits, and where the point goes after shifting by the exponent.
    let digits: String = int_part.chars().chain(frac_part.chars()).collect();
    let point = i64::try_from(int_part.len()).ok()? + i64::from(exponent);
    if point < 0 {
        return None;
    }
    let point = usize::try_from(point).ok()?;
    let mut whole: String = digits.chars().take(point).collect();
    let fraction: String = digits.chars().skip(point).collect();
    if fraction.bytes().any(|b| b != b'0') {
        return None;
    }
    while whole.len() < point {
        whole.push('0');
    }
    let trimmed = whole.trim_start_matches('0');
    let whole = if trimmed.is_empty() { "0" } else { trimmed };
    if whole.len() > 30 {
        return None;
    }
    Some(if negative && whole != "0" {
        format!("-{whole}")
    } else {
        whole.to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excel_numbers_are_written_out() {
        assert_eq!(number_text("1.23456789018E+11"), "123456789018");
        assert_eq!(number_text("1.23456789018e11"), "123456789018");
        assert_eq!(number_text("123456789018"), "123456789018");
        assert_eq!(number_text("123456789018.0"), "123456789018");
        assert_eq!(number_text("9.0123456780E+10"), "90123456780");
        assert_eq!(number_text("1E+3"), "1000");
        assert_eq!(number_text("-2.5E+1"), "-25");
        assert_eq!(number_text("3.14"), "3.14");
        assert_eq!(number_text("1.5E-3"), "1.5E-3");
        assert_eq!(number_text("1E+400"), "1E+400");
        assert_eq!(number_text("abc"), "abc");
        assert_eq!(number_text(""), "");
        assert_eq!(number_text("."), ".");
    }

    #[test]
    fn word_xml_reads_as_paragraphs_and_cells() {
        let xml = r#"<?xml version="1.0"?><w:document xmlns:w="x"><w:body>
            <w:p><w:r><w:t>個人番号</w:t></w:r><w:r><w:tab/><w:t xml:space="preserve">1234 </w:t></w:r><w:r><w:t>5678&amp;9018</w:t></w:r></w:p>
            <w:tbl><w:tr><w:tc><w:p><w:r><w:t>a</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>&#x31;</w:t></w:r></w:p></w:tc></w:tr></w:tbl>
            <w:p><w:r><w:instrText>PAGE 999</w:instrText><w:t>end</w:t></w:r></w:p>
            </w:body></w:document>"#.as_bytes();
        let out = to_text(xml, 1 << 20);
        assert!(out.error.is_none(), "{out:?}");
        assert_eq!(out.text, "個人番号\t1234 5678&9018\na\t1\nend");
    }

    #[test]
    fn sheets_resolve_shared_strings_and_numbers() {
        let sst = r#"<sst><si><t>氏名</t></si><si><r><t>山</t></r><r><t>田</t></r><rPh><t>ヤマダ</t></rPh></si></sst>"#.as_bytes();
        let (shared, error) = shared_strings(sst, 1 << 20);
        assert!(error.is_none());
        assert_eq!(shared, ["氏名", "山田"]);
        let sheet = r#"<worksheet><sheetData>
            <row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="inlineStr"><is><t>番号</t></is></c></row>
            <row r="2"><c r="A2" t="s"><v>1</v></c><c r="B2"><v>1.23456789018E+11</v></c><c t="s"><v>99</v></c><c><f>A1</f><v>7</v></c></row>
            </sheetData></worksheet>"#.as_bytes();
        let out = sheet_to_text(sheet, &shared, 1 << 20);
        assert_eq!(out.text, "氏名\t番号\n山田\t123456789018\t\t7");
        // Rows that leave cells out keep their cells under their columns.
        let sparse = r#"<worksheet><sheetData>
            <row r="1"><c r="A1" t="inlineStr"><is><t>No</t></is></c><c r="D1" t="inlineStr"><is><t>個人番号</t></is></c></row>
            <row r="2"><c r="A2"><v>1</v></c><c r="D2"><v>123456789018</v></c></row>
            </sheetData></worksheet>"#;
        let out = sheet_to_text(sparse.as_bytes(), &[], 1 << 20);
        assert_eq!(out.text, "No\t\t\t個人番号\n1\t\t\t123456789018");
    }

    #[test]
    fn hidden_runs_do_not_split_what_word_shows_and_are_read_apart() {
        let xml = r#"<w:document xmlns:w="x"><w:body><w:p><w:r><w:t>個人番号 1234</w:t></w:r><w:r><w:rPr><w:vanish/></w:rPr><w:t>XX</w:t></w:r><w:r><w:t>5678</w:t></w:r><w:r><w:rPr><w:vanish w:val="0"/></w:rPr><w:t>9018</w:t></w:r></w:p><w:p><w:pPr><w:rPr><w:vanish/></w:rPr></w:pPr><w:r><w:t>next</w:t></w:r><w:r><w:rPr><w:webHidden/></w:rPr><w:t>secret 0312345678</w:t></w:r></w:p></w:body></w:document>"#;
        let text = to_text(xml.as_bytes(), 1 << 20).text;
        assert_eq!(text, "個人番号 123456789018\nnext\nXX\nsecret 0312345678");
    }

    #[test]
    fn values_in_properties_charts_and_custom_xml_stay_apart() {
        let core = br#"<cp:coreProperties xmlns:cp="x" xmlns:dc="y"><dc:title>No 123456789018</dc:title><dc:subject/><dc:creator>python-docx</dc:creator></cp:coreProperties>"#;
        assert_eq!(to_text(core, 1 << 20).text, "No 123456789018\npython-docx");
        let chart = br#"<c:chartSpace xmlns:c="x"><c:pt idx="0"><c:v>1234</c:v></c:pt><c:pt idx="1"><c:v>5678</c:v></c:pt></c:chartSpace>"#;
        assert_eq!(to_text(chart, 1 << 20).text, "1234\n5678");
        let custom = br#"<employees><e><id>E1</id><no>123456789018</no></e></employees>"#;
        assert_eq!(data_to_text(custom, 1 << 20).text, "E1\n123456789018");
        assert_eq!(to_text(custom, 1 << 20).text, "E1123456789018");
    }

    #[test]
    fn what_a_sheet_or_a_shape_shows_besides_its_text_is_read() {
        let sheet = br#"<worksheet><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>x</t></is></c></row></sheetData><dataValidations><dataValidation promptTitle="t" prompt="No 123456789018" sqref="A1"/></dataValidations><hyperlinks><hyperlink ref="A1" tooltip="tip 1111"/></hyperlinks><headerFooter><oddHeader>&amp;L&amp;"Arial,Bold"&amp;14123456789018&amp;C&amp;P page</oddHeader></headerFooter></worksheet>"#;
        let text = sheet_to_text(sheet, &[], 1 << 20).text;
        assert_eq!(
            text,
            "x\nt\nNo 123456789018\ntip 1111\n\n123456789018\n page"
        );
        let book =
            br#"<workbook><sheets><sheet name="No123456789018" sheetId="1"/></sheets></workbook>"#;
        assert_eq!(to_text(book, 1 << 20).text, "No123456789018");
        let slide = br#"<p:sld xmlns:p="x" xmlns:a="y"><p:sp><p:nvSpPr><p:cNvPr id="2" name="Picture" descr="alt 123456789018"/></p:nvSpPr><a:p><a:r><a:t>visible</a:t></a:r></a:p></p:sp></p:sld>"#;
        assert_eq!(to_text(slide, 1 << 20).text, "visible\nalt 123456789018");
    }

    #[test]
    fn broken_xml_keeps_the_text_so_far() {
        let out = to_text(b"<a><p>text 1</p><p>more</b></a><<<", 1 << 20);
        assert!(out.text.starts_with("text 1\nmore"), "{out:?}");
        let capped = to_text(&b"<p>0123456789</p>".repeat(1000), 100);
        assert!(capped.text.len() <= 100 + 16, "{}", capped.text.len());
    }

    #[test]
    fn pivot_cache_values_kept_in_attributes_are_read() {
        let records = br#"<pivotCacheRecords><r><x v="0"/><n v="1.23456789018E+11"/><s v="&#x5C71;&#x7530;"/><d v="2025-04-01T00:00:00"/></r></pivotCacheRecords>"#;
        let out = to_text(records, 1 << 20);
        assert!(out.text.contains("123456789018"), "{out:?}");
        assert!(out.text.contains("山田"), "{out:?}");
        assert!(out.text.contains("2025-04-01"), "{out:?}");
        // An index into the shared items is not a value; ODF's `<text:s/>` is a space.
        assert!(!out.text.starts_with('0'), "{out:?}");
        let odf = to_text(b"<text:p>a<text:s text:c=\"2\"/>b</text:p>", 1 << 20);
        assert_eq!(odf.text.trim(), "a b");
    }
}
