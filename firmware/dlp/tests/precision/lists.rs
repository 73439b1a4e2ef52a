//! Employee lists (社員名簿) as offices send them: a header row naming the My Number column
//! and up to a few hundred rows, as CSV (UTF-8 with BOM, CP932, quoted), TSV, Excel's
//! "Unicode text" (UTF-16LE with BOM), an XLSX workbook with the numbers as numeric cells, or
//! an HTML table in the body of the message.

use std::collections::HashMap;
use std::io::{Cursor, Write as _};

use encoding_rs::SHIFT_JIS;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use crate::mime::{self, Attachment, BodyForm, Envelope};
use crate::numbers::{self as n, chance_my_number, invalid_my_number};
use crate::rng::Rng;

/// How the list travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Format {
    /// CSV, UTF-8 with a BOM (Excel's "CSV UTF-8").
    CsvUtf8Bom,
    /// CSV in CP932 (Excel's default "CSV" in Japan), no BOM, no charset declared.
    CsvCp932,
    /// CSV with every field quoted (exports of accounting and HR systems), UTF-8.
    CsvQuoted,
    /// Tab-separated values, UTF-8.
    Tsv,
    /// Excel's "Unicode text": UTF-16LE with a BOM, tab-separated.
    Utf16Text,
    /// An XLSX workbook: headers as shared strings, numbers as numeric cells.
    Xlsx,
    /// An HTML table in a text/html body.
    HtmlTable,
}

/// Every format.
pub const FORMATS: [Format; 7] = [
    Format::CsvUtf8Bom,
    Format::CsvCp932,
    Format::CsvQuoted,
    Format::Tsv,
    Format::Utf16Text,
    Format::Xlsx,
    Format::HtmlTable,
];

/// What the My Number column's header says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Header {
    /// 個人番号.
    Kojin,
    /// マイナンバー.
    MyNumberJa,
    /// "My Number" (an English header row).
    MyNumberEn,
    /// "Individual Number" (an English header row).
    IndividualNumber,
}

/// Every header.
pub const HEADERS: [Header; 4] = [
    Header::Kojin,
    Header::MyNumberJa,
    Header::MyNumberEn,
    Header::IndividualNumber,
];

impl Header {
    fn row(self) -> [&'static str; 6] {
        match self {
            Self::Kojin => [
                "社員番号",
                "氏名",
                "電話番号",
                "個人番号",
                "入社日",
                "基本給",
            ],
            Self::MyNumberJa => [
                "社員番号",
                "氏名",
                "電話番号",
                "マイナンバー",
                "入社日",
                "基本給",
            ],
            Self::MyNumberEn => [
                "Employee ID",
                "Name",
                "Phone",
                "My Number",
                "Hire Date",
                "Base Salary",
            ],
            Self::IndividualNumber => [
                "Employee ID",
                "Name",
                "Phone",
                "Individual Number",
                "Hire Date",
                "Base Salary",
            ],
        }
    }
}

/// Which rows carry a valid My Number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Valid {
    /// One row, far below the header (the 80th data row or later); the others are wrong.
    One,
    /// Every row (a real master file).
    All,
    /// None: every check digit is wrong.
    None,
}

/// The column of the My Number.
const NUMBER_COLUMN: usize = 3;

/// A generated list.
#[derive(Clone, Debug)]
pub struct List {
    /// The header row.
    pub header: Vec<String>,
    /// The data rows.
    pub rows: Vec<Vec<String>>,
    /// The data rows (0-based) whose number is valid.
    pub valid_rows: Vec<usize>,
}

const SURNAMES: [&str; 20] = [
    "佐藤",
    "鈴木",
    "高橋",
    "田中",
    "伊藤",
    "渡辺",
    "山本",
    "中村",
    "小林",
    "加藤",
    "吉田",
    "山田",
    "佐々木",
    "山口",
    "松本",
    "井上",
    "木村",
    "林",
    "斎藤",
    "清水",
];

const GIVEN: [&str; 16] = [
    "太郎",
    "花子",
    "一郎",
    "美咲",
    "健",
    "直子",
    "誠",
    "由美",
    "翔太",
    "陽菜",
    "大輔",
    "恵",
    "拓也",
    "彩",
    "和也",
    "真由美",
];

/// An employee list with `header` and the rows `valid` asks for.
pub fn employee_list(rng: &mut Rng, header: Header, valid: Valid) -> List {
    let count = match valid {
        Valid::All => rng.between(200, 300),
        Valid::One | Valid::None => rng.between(90, 300),
    };
    let one = rng.between(79, count - 1);
    let mut rows = Vec::with_capacity(count);
    let mut valid_rows = Vec::new();
    for i in 0..count {
        let good = match valid {
            Valid::All => true,
            Valid::One => i == one,
            Valid::None => false,
        };
        let number = if good {
            valid_rows.push(i);
            chance_my_number(rng, "")
        } else {
            invalid_my_number(rng)
        };
        rows.push(vec![
            format!("{}", 10001 + i),
            format!("{} {}", rng.pick(&SURNAMES), rng.pick(&GIVEN)),
            n::mobile(rng),
            number,
            format!(
                "{}/{:02}/01",
                rng.between(1995, 2024),
                *rng.pick(&[4, 4, 4, 10, 1, 7])
            ),
            format!("{}", rng.between(180, 520) * 1000),
        ]);
    }
    List {
        header: header.row().map(String::from).to_vec(),
        rows,
        valid_rows,
    }
}

fn delimited(list: &List, sep: &str, quoted: bool) -> String {
    let field = |f: &String| {
        if quoted {
            format!("\"{}\"", f.replace('"', "\"\""))
        } else {
            f.clone()
        }
    };
    let mut out = String::new();
    for row in std::iter::once(&list.header).chain(&list.rows) {
        let cells: Vec<String> = row.iter().map(field).collect();
        out.push_str(&cells.join(sep));
        out.push_str("\r\n");
    }
    out
}

/// Column letter of a 0-based column (A..Z is enough here).
fn column(index: usize) -> char {
    char::from(b'A' + index as u8)
}

/// A minimal XLSX package: content types, package and workbook relationships, the workbook,
/// one sheet and the shared strings. Text cells are shared strings; the employee number, the
/// My Number and the salary are numeric cells (`<c r="D85"><v>123456789018</v></c>`), as
/// Excel stores a number typed into a cell.
pub fn xlsx(list: &List) -> Vec<u8> {
    let mut strings: Vec<String> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut sheet = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\r\n\
         <worksheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" \
         xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\">\
         <sheetData>",
    );
    for (r, row) in std::iter::once(&list.header).chain(&list.rows).enumerate() {
        let r = r + 1;
        sheet.push_str(&format!("<row r=\"{r}\">"));
        for (c, cell) in row.iter().enumerate() {
            let at = format!("{}{r}", column(c));
            let numeric = r > 1 && matches!(c, 0 | NUMBER_COLUMN | 5);
            if numeric {
                sheet.push_str(&format!("<c r=\"{at}\"><v>{cell}</v></c>"));
            } else {
                let i = *index.entry(cell.clone()).or_insert_with(|| {
                    strings.push(cell.clone());
                    strings.len() - 1
                });
                sheet.push_str(&format!("<c r=\"{at}\" t=\"s\"><v>{i}</v></c>"));
            }
        }
        sheet.push_str("</row>");
    }
    sheet.push_str("</sheetData></worksheet>");
    let mut shared = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\r\n\
         <sst xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" \
         count=\"{0}\" uniqueCount=\"{0}\">",
        strings.len()
    );
    for s in &strings {
        shared.push_str(&format!("<si><t>{}</t></si>", mime::html_escape(s)));
    }
    shared.push_str("</sst>");
    let content_types = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\r\n\
        <Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">\
        <Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>\
        <Default Extension=\"xml\" ContentType=\"application/xml\"/>\
        <Override PartName=\"/xl/workbook.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml\"/>\
        <Override PartName=\"/xl/worksheets/sheet1.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml\"/>\
        <Override PartName=\"/xl/sharedStrings.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml\"/>\
        </Types>";
    let rels = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\r\n\
        <Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">\
        <Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument\" Target=\"xl/workbook.xml\"/>\
        </Relationships>";
    let workbook = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\r\n\
        <workbook xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" \
        xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\">\
        <sheets><sheet name=\"社員名簿\" sheetId=\"1\" r:id=\"rId1\"/></sheets></workbook>";
    let workbook_rels = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\r\n\
        <Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">\
        <Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet\" Target=\"worksheets/sheet1.xml\"/>\
        <Relationship Id=\"rId2\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings\" Target=\"sharedStrings.xml\"/>\
        </Relationships>";
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    for (name, data) in [
        ("[Content_Types].xml", content_types.as_bytes()),
        ("_rels/.rels", rels.as_bytes()),
        ("xl/workbook.xml", workbook.as_bytes()),
        ("xl/_rels/workbook.xml.rels", workbook_rels.as_bytes()),
        ("xl/worksheets/sheet1.xml", sheet.as_bytes()),
        ("xl/sharedStrings.xml", shared.as_bytes()),
    ] {
        writer.start_file(name, options).expect("zip entry");
        writer.write_all(data).expect("zip write");
    }
    writer.finish().expect("zip finish").into_inner()
}

fn html_table(list: &List) -> String {
    let e = mime::html_escape;
    let mut out = String::from(
        "<!DOCTYPE html>\n<html>\n<head><meta charset=\"UTF-8\"></head>\n<body>\n\
         <p>お疲れさまです。<br>\nご依頼の一覧です。ご確認ください。</p>\n\
         <table border=\"1\" cellspacing=\"0\" cellpadding=\"3\">\n<tr>",
    );
    for cell in &list.header {
        out.push_str(&format!("<th>{}</th>", e(cell)));
    }
    out.push_str("</tr>\n");
    for row in &list.rows {
        out.push_str("<tr>");
        for cell in row {
            out.push_str(&format!("<td>{}</td>", e(cell)));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n<p>以上、よろしくお願いいたします。</p>\n</body>\n</html>\n");
    out
}

/// The short neutral body of the messages that carry a list as an attachment.
const NEUTRAL_BODY: &str = "お疲れさまです。総務部の佐藤です。\n\n\
    ご依頼いただいた資料を添付にてお送りします。\n\
    ご確認のほど、よろしくお願いいたします。\n\n佐藤\n";

/// The message that carries `list` in `format`.
pub fn list_message(rng: &mut Rng, list: &List, format: Format, id: u64) -> Vec<u8> {
    let envelope = Envelope {
        from_name: "総務部 佐藤".to_string(),
        from: "sato@office.example.jp".to_string(),
        to: "someone@client.example.com".to_string(),
        subject: rng
            .pick(&["資料送付の件", "ご依頼の資料", "名簿の件", "Fw: 資料"])
            .to_string(),
        id,
    };
    let attachment = |name: &str, content_type: &str, bytes: Vec<u8>| Attachment {
        name: name.to_string(),
        content_type: content_type.to_string(),
        bytes,
    };
    let file = match format {
        Format::CsvUtf8Bom => {
            let mut bytes = b"\xEF\xBB\xBF".to_vec();
            bytes.extend_from_slice(delimited(list, ",", false).as_bytes());
            attachment("社員名簿_2024.csv", "text/csv", bytes)
        }
        Format::CsvCp932 => attachment(
            "meibo.csv",
            "application/vnd.ms-excel",
            mime::encode(&delimited(list, ",", false), SHIFT_JIS),
        ),
        Format::CsvQuoted => attachment(
            "export_20240612.csv",
            "text/csv",
            delimited(list, ",", true).into_bytes(),
        ),
        Format::Tsv => attachment(
            "staff.tsv",
            "text/tab-separated-values",
            delimited(list, "\t", false).into_bytes(),
        ),
        Format::Utf16Text => {
            let mut bytes = vec![0xFF, 0xFE];
            bytes.extend(
                delimited(list, "\t", false)
                    .encode_utf16()
                    .flat_map(u16::to_le_bytes),
            );
            attachment("名簿.txt", "text/plain", bytes)
        }
        Format::Xlsx => attachment(
            "staff_list.xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            xlsx(list),
        ),
        Format::HtmlTable => {
            return mime::message(&envelope, "", &html_table(list), BodyForm::HtmlOnly);
        }
    };
    mime::with_attachment(&envelope, NEUTRAL_BODY, &file)
}
