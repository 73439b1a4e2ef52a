//! Column headers: in a table, the header of a column says what every cell below it is,
//! however far down. A reader of an employee master knows that the 200th number under
//! 「個人番号」 is a My Number, and that a number under 「注文番号」 is an order.
//!
//! Tables reach the scanner as lines: CSV rows (commas, with quoted fields), TSV, and the
//! text of spreadsheets, HTML and Office tables (a tab between cells, a line per row), or
//! fixed-width exports (columns aligned with runs of spaces). For a number in such a line,
//! [`Columns::context`] walks up the lines of the same table to the first cell of its column
//! that carries a label about that kind of number. What a walk learns is remembered for
//! every line it passed, so the findings of one column cost one walk over the table.

use std::collections::HashMap;
use std::ops::Range;

use super::keywords::{Context, ContextKeywords};
use crate::finding::DetectorKind;

/// How many lines a walk goes up at most (a header further away is not looked for).
const MAX_LINES_UP: usize = 1 << 20;
/// How many empty lines a walk passes over (a header set apart by a blank line).
const MAX_BLANK_LINES: usize = 2;
/// A cell with at least this many ASCII digits is data, not a header.
const DATA_DIGITS: usize = 4;

/// How the cells of a line are set apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Layout {
    /// A tab between cells.
    Tab,
    /// A comma between cells; a field in double quotes may hold commas.
    Comma,
    /// Columns aligned with runs of two or more spaces (a fixed-width export).
    Aligned,
}

/// Where a number sits in its table: the layout, and the column (a cell index, or for
/// aligned text the display columns the number covers); `width` is the number of fields of
/// a CSV row, or the display width of the number in aligned text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Place {
    layout: Layout,
    column: usize,
    width: usize,
}

/// The column-header lookups of one piece of text, remembered across its findings.
#[derive(Debug)]
pub(crate) struct Columns<'k> {
    keywords: &'k ContextKeywords,
    /// What a walk from (line start, place, detector) found.
    memo: HashMap<(usize, Place, DetectorKind), Context>,
}

impl<'k> Columns<'k> {
    /// Lookups with the labels of `keywords`.
    pub(crate) fn new(keywords: &'k ContextKeywords) -> Self {
        Self {
            keywords,
            memo: HashMap::new(),
        }
    }

    /// What the header of the column of the `kind` number at `span` of `text` says of it;
    /// [`Context::Silent`] when the number is not in a table or no header speaks of it.
    pub(crate) fn context(
        &mut self,
        text: &str,
        span: &Range<usize>,
        kind: DetectorKind,
    ) -> Context {
        let bytes = text.as_bytes();
        // A cell holds the number alone: what is right before and after it (blanks and
        // quotes aside) is a delimiter, a run of spaces or the line's end. Most numbers
        // stand in prose and are let go here, without looking at their line.
        if !stands_in_a_cell(bytes, span) {
            return Context::Silent;
        }
        let line_start = memchr::memrchr(b'\n', bytes.get(..span.start).unwrap_or_default())
            .map_or(0, |at| at + 1);
        let line_end = memchr::memchr(b'\n', bytes.get(span.start..).unwrap_or_default())
            .map_or(bytes.len(), |at| span.start + at);
        let Some(line) = text.get(line_start..line_end) else {
            return Context::Silent;
        };
        // Most numbers are not in a table: a line with no tab, comma or run of spaces.
        let Some(place) = place_of(line, span.start - line_start, span.len()) else {
            return Context::Silent;
        };
        if line_start == 0 {
            return Context::Silent; // no line above
        }
        let mut visited = Vec::new();
        let mut found = Context::Silent;
        let mut at = line_start;
        let mut blanks = 0;
        for _ in 0..MAX_LINES_UP {
            if at == 0 {
                break;
            }
            let end = at - 1; // the '\n' ending the line above
            let start =
                memchr::memrchr(b'\n', bytes.get(..end).unwrap_or_default()).map_or(0, |i| i + 1);
            at = start;
            if let Some(&known) = self.memo.get(&(start, place, kind)) {
                found = known;
                break;
            }
            visited.push(start);
            let line = text.get(start..end).unwrap_or_default();
            let line = line.strip_suffix('\r').unwrap_or(line);
            if line.trim().is_empty() {
                blanks += 1;
                if blanks > MAX_BLANK_LINES {
                    break;
                }
                continue;
            }
            blanks = 0;
            let Some(cell) = cell_at(line, place) else {
                break; // not a line of the table: it ended
            };
            let digits = cell.bytes().filter(u8::is_ascii_digit).count();
            if digits >= DATA_DIGITS {
                continue;
            }
            match self.keywords.header_context(cell, kind) {
                Context::Silent => {}
                said => {
                    found = said;
                    break;
                }
            }
        }
        for start in visited {
            self.memo.insert((start, place, kind), found);
        }
        found
    }
}

/// Is the number at `span` of `bytes` alone in a cell: before it, after any quotes and
/// blanks, the line's start, a tab, a comma or two spaces; after it likewise its end?
fn stands_in_a_cell(bytes: &[u8], span: &Range<usize>) -> bool {
    let mut at = span.start;
    let mut spaces = 0;
    while at > 0 && matches!(bytes.get(at - 1), Some(b' ' | b'"')) {
        spaces += usize::from(bytes.get(at - 1) == Some(&b' '));
        at -= 1;
    }
    let before_ok =
        at == 0 || matches!(bytes.get(at - 1), Some(b'\n' | b'\t' | b',')) || spaces >= 2;
    let mut at = span.end;
    let mut spaces = 0;
    while matches!(bytes.get(at), Some(b' ' | b'"' | b'\r')) {
        spaces += usize::from(bytes.get(at) == Some(&b' '));
        at += 1;
    }
    let after_ok = matches!(bytes.get(at), None | Some(b'\n' | b'\t' | b',')) || spaces >= 2;
    before_ok && after_ok
}

/// Where the number at byte `offset` (`len` bytes) of `line` sits, if the line is a row of
/// a table.
fn place_of(line: &str, offset: usize, len: usize) -> Option<Place> {
    let before = line.get(..offset)?;
    if line.contains('\t') {
        let column = before.bytes().filter(|&b| b == b'\t').count();
        return Some(Place {
            layout: Layout::Tab,
            column,
            width: 0,
        });
    }
    if line.contains(',') {
        let column = comma_cells(before).count().saturating_sub(1);
        return Some(Place {
            layout: Layout::Comma,
            column,
            width: comma_cells(line).count(),
        });
    }
    if line.contains("  ") {
        let number = line.get(offset..offset + len)?;
        return Some(Place {
            layout: Layout::Aligned,
            column: display_width(before),
            width: display_width(number).max(1),
        });
    }
    None
}

/// The cell of `line` at `place`, if the line has that layout.
fn cell_at(line: &str, place: Place) -> Option<&str> {
    match place.layout {
        Layout::Tab => {
            if !line.contains('\t') {
                return None;
            }
            Some(
                line.split('\t')
                    .nth(place.column)
                    .unwrap_or_default()
                    .trim(),
            )
        }
        Layout::Comma => {
            // A CSV's rows have its header's number of fields; prose with commas in it has
            // any number: a line with another count is not a row of this table.
            if !line.contains(',') || comma_cells(line).count() != place.width {
                return None;
            }
            let cell = comma_cells(line).nth(place.column).unwrap_or_default();
            Some(cell.trim().trim_matches('"').trim())
        }
        Layout::Aligned => {
            if !line.contains("  ") {
                return None;
            }
            aligned_cell(line, place.column..place.column + place.width).or(Some(""))
        }
    }
}

/// The fields of a CSV line: split at commas outside double quotes.
fn comma_cells(line: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(line);
    std::iter::from_fn(move || {
        let text = rest?;
        let mut quoted = false;
        for (i, b) in text.bytes().enumerate() {
            match b {
                b'"' => quoted = !quoted,
                b',' if !quoted => {
                    rest = text.get(i + 1..);
                    return text.get(..i);
                }
                _ => {}
            }
        }
        rest = None;
        Some(text)
    })
}

/// The token of an aligned line (words apart by single spaces, tokens by two or more)
/// that overlaps the display columns `columns`.
fn aligned_cell(line: &str, columns: Range<usize>) -> Option<&str> {
    let mut column = 0;
    let mut token: Option<(usize, usize)> = None; // byte start, display start
    let mut spaces = 0;
    let mut last_end = 0;
    let overlaps = |from: usize, to: usize| from < columns.end && columns.start < to;
    for (i, c) in line.char_indices() {
        if c == ' ' {
            spaces += 1;
            if spaces == 2
                && let Some((start, from)) = token.take()
                && overlaps(from, column - 1)
            {
                return line.get(start..last_end);
            }
        } else {
            if token.is_none() {
                token = Some((i, column));
            }
            spaces = 0;
            last_end = i + c.len_utf8();
        }
        column += char_width(c);
    }
    let (start, from) = token?;
    overlaps(from, column)
        .then(|| line.get(start..last_end))
        .flatten()
}

/// The display width of `text`: two columns for the wide characters of Japanese text.
fn display_width(text: &str) -> usize {
    text.chars().map(char_width).sum()
}

/// One column for narrow characters, two for wide ones (CJK, kana, full-width forms).
fn char_width(c: char) -> usize {
    let wide = matches!(c as u32,
        0x1100..=0x115F | 0x2E80..=0x303E | 0x3041..=0x33FF | 0x3400..=0x4DBF
        | 0x4E00..=0x9FFF | 0xA000..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF
        | 0xFE30..=0xFE4F | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6);
    if wide { 2 } else { 1 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(text: &str, number: &str, kind: DetectorKind) -> Context {
        let keywords = ContextKeywords::new(&[], 40).unwrap();
        let mut columns = Columns::new(&keywords);
        let at = text.rfind(number).unwrap();
        columns.context(text, &(at..at + number.len()), kind)
    }

    fn rows(n: usize) -> String {
        (0..n)
            .map(|i| format!("{},山田{i},03-1234-{:04},{:012}\n", 1000 + i, i % 10000, i))
            .collect()
    }

    #[test]
    fn a_csv_header_applies_to_every_row_below() {
        let mn = DetectorKind::MyNumber;
        let text = format!(
            "社員番号,氏名,電話番号,個人番号\n{}1999,佐藤,03-0000-0000,123456789018\n",
            rows(300)
        );
        assert_eq!(context(&text, "123456789018", mn), Context::Supports);
        let text = format!(
            "社員番号,氏名,電話番号,注文番号\n{}1999,佐藤,03,123456789018\n",
            rows(30)
        );
        assert_eq!(context(&text, "123456789018", mn), Context::Against);
        let text = format!(
            "社員番号,氏名,電話番号,備考\n{}1999,佐藤,03,123456789018\n",
            rows(30)
        );
        assert_eq!(context(&text, "123456789018", mn), Context::Silent);
    }

    #[test]
    fn quoted_fields_tabs_and_aligned_columns() {
        let mn = DetectorKind::MyNumber;
        let text =
            "\"社員番号\",\"氏名, 漢字\",\"マイナンバー\"\n\"1\",\"山田, 太郎\",\"123456789018\"\n";
        assert_eq!(context(text, "123456789018", mn), Context::Supports);
        let text = "No\t氏名\t個人番号\n1\t山田\t123456789018\n";
        assert_eq!(context(text, "123456789018", mn), Context::Supports);
        let text = "No  氏名      個人番号      備考\n1   山田太郎  123456789018  なし\n";
        assert_eq!(context(text, "123456789018", mn), Context::Supports);
        let text =
            "No  氏名      備考          個人番号\n1   山田太郎  なし          123456789018\n";
        assert_eq!(context(text, "123456789018", mn), Context::Supports);
    }

    #[test]
    fn prose_and_other_tables_say_nothing() {
        let mn = DetectorKind::MyNumber;
        assert_eq!(
            context("番号は 123456789018 です", "123456789018", mn),
            Context::Silent
        );
        // The table above ended at a line that is not a row.
        let text = "社員番号,個人番号\n1,2\n本文の行です\n注文 1,123456789018\n";
        assert_eq!(context(text, "123456789018", mn), Context::Silent);
    }

    #[test]
    fn walks_are_remembered() {
        let keywords = ContextKeywords::new(&[], 40).unwrap();
        let mut columns = Columns::new(&keywords);
        let text = format!("社員番号,氏名,電話番号,個人番号\n{}", rows(2000));
        let mut count = 0;
        let mut line_start = 0;
        for line in text.split_inclusive('\n') {
            // The last field of each row: twelve digits.
            let end = line_start + line.trim_end().len();
            let span = end - 12..end;
            if columns.context(&text, &span, DetectorKind::MyNumber) == Context::Supports {
                count += 1;
            }
            line_start += line.len();
        }
        assert_eq!(count, 2000);
        assert!(columns.memo.len() <= 2100, "{}", columns.memo.len());
    }
}
