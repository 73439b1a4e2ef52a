//! Tests of the whole extraction (dispatch, documents in archives, scanning the result),
//! with a corpus the tests build themselves, and the fixtures other test modules share.

use std::io::{Cursor, Write};

use ::zip::write::SimpleFileOptions;
use ::zip::{CompressionMethod, ZipWriter};
use proptest::prelude::*;

use super::*;
use crate::content::{Extraction, Limits, ProblemKind, SegmentKind};
use crate::detectors::my_number::check_digit;
use crate::finding::DetectorKind;
use crate::{ScanConfig, Scanner};

/// A valid My Number: eleven digits and their check digit.
pub(crate) fn my_number() -> String {
    let payload = [1u8, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1];
    let check = check_digit(&payload);
    let mut number: String = payload.iter().map(|d| char::from(b'0' + d)).collect();
    number.push(char::from(b'0' + check));
    number
}

/// A ZIP archive of `entries` (deflated).
pub(crate) fn zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
    zip_with(entries, CompressionMethod::Deflated)
}

/// A ZIP archive of `entries` with one compression method.
pub(crate) fn zip_with(entries: &[(&str, &[u8])], method: CompressionMethod) -> Vec<u8> {
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default()
        .compression_method(method)
        .large_file(false);
    for (name, data) in entries {
        writer.start_file(*name, options).unwrap();
        writer.write_all(data).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

/// A minimal DOCX whose body is `paragraphs`.
pub(crate) fn docx(paragraphs: &[&str]) -> Vec<u8> {
    let body: String = paragraphs
        .iter()
        .map(|p| format!("<w:p><w:r><w:t xml:space=\"preserve\">{p}</w:t></w:r></w:p>"))
        .collect();
    let document = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\
         <w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\">\
         <w:body>{body}</w:body></w:document>"
    );
    zip(&[
        ("[Content_Types].xml", CONTENT_TYPES.as_bytes()),
        ("_rels/.rels", RELS.as_bytes()),
        ("word/document.xml", document.as_bytes()),
        (
            "word/header1.xml",
            b"<w:hdr xmlns:w=\"x\"><w:p><w:r><w:t>header text</w:t></w:r></w:p></w:hdr>",
        ),
        (
            "word/styles.xml",
            b"<w:styles xmlns:w=\"x\"><w:style><w:name w:val=\"999999999999\"/></w:style></w:styles>",
        ),
    ])
}

const CONTENT_TYPES: &str = "<?xml version=\"1.0\"?><Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">\
    <Default Extension=\"xml\" ContentType=\"application/xml\"/></Types>";
const RELS: &str = "<?xml version=\"1.0\"?><Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\"/>";

fn run_with(limits: &Limits, name: Option<&str>, bytes: &[u8]) -> Extraction {
    let mut out = Collector::new(limits);
    let location = Location::root().child(name.unwrap_or("file"));
    let file = FileRef {
        name,
        content_type: None,
        charset: None,
        bytes,
    };
    extract_file(&mut out, &location, &file, 1);
    out.finish()
}

/// Extracts `bytes` as a file named `name` with the default limits.
pub(crate) fn run(name: Option<&str>, bytes: &[u8]) -> Extraction {
    run_with(&Limits::default(), name, bytes)
}

/// The My Numbers the scanner finds in the extracted text, with the segment locations.
pub(crate) fn my_numbers(extraction: &Extraction) -> Vec<String> {
    let scanner = Scanner::new(&ScanConfig::default()).unwrap();
    let mut found = Vec::new();
    for segment in &extraction.segments {
        for finding in scanner.scan(&segment.text) {
            if finding.detector == DetectorKind::MyNumber {
                found.push(segment.location.to_string());
            }
        }
    }
    found
}

pub(crate) fn all_text(extraction: &Extraction) -> String {
    extraction
        .segments
        .iter()
        .map(|s| s.text.as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_my_number_in_a_docx_in_a_zip_is_found() {
    let number = my_number();
    let paragraph = format!("社員の個人番号：{}", &number);
    let document = docx(&["社員名簿", &paragraph]);
    let archive = zip(&[("社員.docx", &document), ("readme.txt", b"nothing here")]);
    let extraction = run(Some("名簿.zip"), &archive);
    assert!(extraction.problems.is_empty(), "{:?}", extraction.problems);
    assert_eq!(
        my_numbers(&extraction),
        ["名簿.zip › 社員.docx › word/document.xml"]
    );
    let text = all_text(&extraction);
    assert!(text.contains("header text"), "{text}");
    // Styles are not text.
    assert!(!text.contains("999999999999"), "{text}");
    let names: Vec<&str> = extraction
        .segments
        .iter()
        .filter(|s| s.kind == SegmentKind::FileName)
        .map(|s| s.text.as_str())
        .collect();
    assert_eq!(names, ["社員.docx", "readme.txt"]);
}

#[test]
fn an_xlsx_number_cell_in_scientific_notation_is_found() {
    let sst = "<sst xmlns=\"x\"><si><t>個人番号</t></si><si><t>山田</t><rPh><t>ヤマダ</t></rPh></si></sst>";
    let sheet = "<worksheet xmlns=\"x\"><sheetData>\
        <row r=\"1\"><c r=\"A1\" t=\"s\"><v>0</v></c></row>\
        <row r=\"2\"><c r=\"A2\" t=\"s\"><v>1</v></c><c r=\"B2\"><v>1.23456789018E+11</v></c></row>\
        </sheetData></worksheet>";
    let xlsx = zip(&[
        ("[Content_Types].xml", CONTENT_TYPES.as_bytes()),
        ("xl/workbook.xml", b"<workbook/>"),
        ("xl/sharedStrings.xml", sst.as_bytes()),
        ("xl/worksheets/sheet1.xml", sheet.as_bytes()),
    ]);
    let extraction = run(Some("a.xlsx"), &xlsx);
    assert!(extraction.problems.is_empty(), "{:?}", extraction.problems);
    assert_eq!(
        my_numbers(&extraction),
        ["a.xlsx › xl/worksheets/sheet1.xml"]
    );
    let text = all_text(&extraction);
    assert!(text.contains("個人番号\n山田\t123456789018"), "{text}");
    assert!(!text.contains("ヤマダ"), "{text}");
}

#[test]
fn pptx_slides_and_notes_are_read() {
    let number = my_number();
    let slide = format!(
        "<p:sld xmlns:p=\"p\" xmlns:a=\"a\"><p:cSld><p:spTree><p:sp><p:txBody>\
         <a:p><a:r><a:t>番号</a:t></a:r></a:p><a:p><a:r><a:t>{}</a:t></a:r><a:r><a:t>{}</a:t></a:r></a:p>\
         </p:txBody></p:sp></p:spTree></p:cSld></p:sld>",
        number.get(..6).unwrap(),
        number.get(6..).unwrap()
    );
    let pptx = zip(&[
        ("[Content_Types].xml", CONTENT_TYPES.as_bytes()),
        ("ppt/presentation.xml", b"<p:presentation/>"),
        ("ppt/slides/slide1.xml", slide.as_bytes()),
        (
            "ppt/notesSlides/notesSlide1.xml",
            b"<p:notes><a:p><a:r><a:t>speaker note</a:t></a:r></a:p></p:notes>",
        ),
    ]);
    let extraction = run(Some("deck.pptx"), &pptx);
    assert_eq!(
        my_numbers(&extraction),
        ["deck.pptx › ppt/slides/slide1.xml"]
    );
    assert!(all_text(&extraction).contains("speaker note"));
}

#[test]
fn odf_text_and_spreadsheets_are_read() {
    let number = my_number();
    let odt_content = format!(
        "<office:document-content xmlns:office=\"o\" xmlns:text=\"t\"><office:body><office:text>\
         <text:p>個人番号<text:s/><text:span>{number}</text:span></text:p></office:text></office:body>\
         </office:document-content>"
    );
    let odt = zip_with(
        &[
            ("mimetype", b"application/vnd.oasis.opendocument.text"),
            ("content.xml", odt_content.as_bytes()),
            ("META-INF/manifest.xml", b"<manifest/>"),
        ],
        CompressionMethod::Stored,
    );
    let extraction = run(Some("a.odt"), &odt);
    assert_eq!(my_numbers(&extraction), ["a.odt › content.xml"]);

    let ods_content = format!(
        "<office:document-content xmlns:office=\"o\" xmlns:table=\"t\" xmlns:text=\"x\"><office:body>\
         <office:spreadsheet><table:table><table:table-row>\
         <table:table-cell office:value-type=\"float\" office:value=\"{number}\"><text:p>1.23457E+11</text:p></table:table-cell>\
         </table:table-row></table:table></office:spreadsheet></office:body></office:document-content>"
    );
    let ods = zip(&[
        (
            "mimetype",
            b"application/vnd.oasis.opendocument.spreadsheet",
        ),
        ("content.xml", ods_content.as_bytes()),
    ]);
    let extraction = run(Some("a.ods"), &ods);
    assert_eq!(my_numbers(&extraction), ["a.ods › content.xml"]);
}

#[test]
fn shift_jis_csv_and_html_are_dispatched() {
    let number = my_number();
    let csv = format!("氏名,個人番号\r\n山田,{number}\r\n");
    let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode(&csv);
    let extraction = run(Some("名簿.csv"), &sjis);
    assert!(all_text(&extraction).contains(&csv));
    assert_eq!(my_numbers(&extraction), ["名簿.csv"]);

    let digits: String = number
        .chars()
        .map(|c| format!("&#{};", u32::from(c) - u32::from('0') + 0xFF10))
        .collect();
    let html = format!("<html><body><script>x=1</script><p>番号&nbsp;{digits}</p></body></html>");
    let extraction = run(Some("page.htm"), html.as_bytes());
    assert_eq!(my_numbers(&extraction), ["page.htm"]);
    assert_eq!(html_to_text("<p>a&amp;b</p>"), "a&b");
}

#[test]
fn what_only_starts_like_media_is_reported_never_skipped_in_silence() {
    // A PNG signature and a header chunk with no end: not an image a viewer shows.
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0";
    let extraction = run(Some("a.png"), png);
    let kinds: Vec<ProblemKind> = extraction.problems.iter().map(|p| p.kind).collect();
    assert_eq!(kinds, [ProblemKind::UnsupportedFormat]);
    // Binary data of no known format: reported, and its strings scanned.
    let mut blob: Vec<u8> = (0..4000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    blob.extend_from_slice(b"\0\0 my number 123456789018 \0\0");
    blob.extend((0..4000u32).map(|i| (i.wrapping_mul(40_503) >> 8) as u8));
    let extraction = run(Some("data.dat"), &blob);
    let kinds: Vec<ProblemKind> = extraction.problems.iter().map(|p| p.kind).collect();
    assert_eq!(kinds, [ProblemKind::UnsupportedFormat]);
    assert_eq!(my_numbers(&extraction), ["data.dat"]);
    // Formats known and not read yet are named.
    let extraction = run(Some("a.cab"), b"MSCF\x00\x00\x00\x00 123456789018");
    assert!(
        extraction.problems[0].detail.starts_with("CAB archive"),
        "{:?}",
        extraction.problems
    );
}

#[test]
fn an_archive_signature_in_front_of_text_does_not_hide_the_text() {
    let number = my_number();
    for (name, magic) in [
        ("a.7z", b"7z\xBC\xAF\x27\x1C\x00\x04".as_slice()),
        ("a.rar", b"Rar!\x1A\x07\x01\x00"),
        ("a.rar", b"Rar!\x1A\x07\x00"),
        ("a.lzh", b"\x21\x00-lh5-"),
        ("a.xz", b"\xFD7zXZ\x00"),
        ("a.zst", b"\x28\xB5\x2F\xFD"),
        ("a.bz2", b"BZh91AY&SY"),
        ("a.gz", b"\x1F\x8B"),
    ] {
        let mut bytes = magic.to_vec();
        bytes.extend(format!("\n氏名,個人番号\n山田,{number}\n").as_bytes());
        let extraction = run(Some(name), &bytes);
        let kinds: Vec<ProblemKind> = extraction.problems.iter().map(|p| p.kind).collect();
        assert!(
            kinds.contains(&ProblemKind::Unreadable),
            "{name}: {kinds:?}"
        );
        assert_eq!(my_numbers(&extraction).len(), 1, "{name}: {extraction:?}");
    }
}

#[test]
fn depth_is_bounded_across_archives() {
    let number = my_number();
    let mut nested = zip(&[("deep.txt", number.as_bytes())]);
    for level in 0..22 {
        nested = zip(&[(&format!("level{level}.zip"), &nested)]);
    }
    let extraction = run(Some("a.zip"), &nested);
    assert!(my_numbers(&extraction).is_empty());
    let kinds: Vec<ProblemKind> = extraction.problems.iter().map(|p| p.kind).collect();
    assert_eq!(kinds, [ProblemKind::TooDeep]);
    // Shallow enough, the same nesting is read.
    let limits = Limits {
        max_depth: 30,
        ..Limits::default()
    };
    let extraction = run_with(&limits, Some("a.zip"), &nested);
    assert!(extraction.problems.is_empty(), "{:?}", extraction.problems);
    assert_eq!(my_numbers(&extraction).len(), 1);
}

#[test]
fn the_text_budget_stops_extraction() {
    let limits = Limits {
        max_text_bytes: 100,
        ..Limits::default()
    };
    let big = "0123456789 ".repeat(100);
    let archive = zip(&[("a.txt", big.as_bytes()), ("b.txt", big.as_bytes())]);
    let extraction = run_with(&limits, Some("a.zip"), &archive);
    let total: usize = extraction.segments.iter().map(|s| s.text.len()).sum();
    assert!(total <= 100);
    assert_eq!(extraction.problems[0].kind, ProblemKind::TextLimit);
}

/// Names that send bytes to every extractor.
const NAMES: [Option<&str>; 11] = [
    Some("a.rtf"),
    None,
    Some("a.zip"),
    Some("a.docx"),
    Some("a.xlsx"),
    Some("a.pdf"),
    Some("a.html"),
    Some("a.xml"),
    Some("a.gz"),
    Some("a.csv"),
    Some("a.ods"),
];

fn flip(bytes: &mut [u8], edits: &[(usize, u8)]) {
    let len = bytes.len();
    if len == 0 {
        return;
    }
    for &(at, value) in edits {
        if let Some(b) = bytes.get_mut(at % len) {
            *b = value;
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048), name in 0..NAMES.len()) {
        let limits = Limits { max_text_bytes: 1 << 16, ..Limits::default() };
        let _ = run_with(&limits, NAMES.get(name).copied().flatten(), &bytes);
        let mut prefixed = b"%PDF-1.4\n1 0 obj\n<< /Length 5 /Filter /FlateDecode >>\nstream\n".to_vec();
        prefixed.extend_from_slice(&bytes);
        let _ = run_with(&limits, None, &prefixed);
        let mut rtf = b"{\\rtf1\\ansicpg932 ".to_vec();
        rtf.extend_from_slice(&bytes);
        let _ = run_with(&limits, None, &rtf);
        let mut ole = legacy::OLE_MAGIC.to_vec();
        ole.extend_from_slice(&bytes);
        let _ = run_with(&limits, None, &ole);
    }

    #[test]
    fn mutated_documents_never_panic(
        which in 0..3usize,
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
        cut in any::<usize>(),
    ) {
        let number = my_number();
        let mut bytes = match which {
            0 => zip(&[("a.docx", &docx(&[&number])), ("b.txt", b"text")]),
            1 => crate::extract::pdf::tests::identity_pdf(),
            _ => zip_with(&[("x.csv", number.as_bytes())], CompressionMethod::Stored),
        };
        flip(&mut bytes, &edits);
        let limits = Limits { max_text_bytes: 1 << 16, ..Limits::default() };
        let _ = run_with(&limits, Some("x"), &bytes);
        let cut = cut % (bytes.len() + 1);
        let _ = run_with(&limits, Some("x"), bytes.get(..cut).unwrap());
    }
}

#[test]
fn a_phone_number_in_utf16_is_found_at_either_parity() {
    // The same kind of input as the property draws, fixed: a run at each parity.
    for lead in [0usize, 1] {
        let mut bytes = vec![0xFF; lead];
        bytes.extend(
            "電話 0312345678 内線"
                .encode_utf16()
                .flat_map(u16::to_le_bytes),
        );
        let found = digit_runs(&bytes, usize::MAX);
        assert_eq!(found, digit_runs_reference(&bytes, usize::MAX));
        assert!(found.contains(" 0312345678 "), "{found:?}");
    }
}

/// The run finder as it was, a character pushed at a time, stopping once the output
/// passes `cap`: the reference.
fn digit_runs_reference(bytes: &[u8], cap: usize) -> String {
    let mut out = String::new();
    for (step, offset) in [(1usize, 0usize), (2, 0), (2, 1)] {
        let mut run = String::new();
        let mut digits = 0;
        let mut at = offset;
        // Ends the run; true once the output passes the cap.
        let flush = |run: &mut String, digits: &mut usize, out: &mut String| {
            let kept = *digits >= RUN_DIGITS;
            if kept {
                out.push_str(run);
                out.push('\n');
            }
            run.clear();
            *digits = 0;
            kept && out.len() > cap
        };
        while let Some(&b) = bytes.get(at) {
            let printable =
                (0x20..0x7F).contains(&b) && (step == 1 || bytes.get(at + 1) == Some(&0));
            if printable && run.len() < 4096 {
                run.push(char::from(b));
                digits += usize::from(b.is_ascii_digit());
            } else if flush(&mut run, &mut digits, &mut out) {
                return out;
            }
            at += step;
        }
        if flush(&mut run, &mut digits, &mut out) {
            return out;
        }
    }
    out
}

#[test]
fn the_printable_and_zero_masks_mark_exactly_those_bytes_of_a_word() {
    // Every byte value at every place, among neighbours printable or not.
    for b in 0..=255u8 {
        for at in 0..8 {
            for fill in [b'x', b' ', b'~', 0x1F, 0x7F, 0x80, 0xA0, 0xFF, 0x00] {
                let mut word = [fill; 8];
                word[at] = b;
                let expected = word
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| (0x20..0x7F).contains(*c))
                    .fold(0u64, |m, (i, _)| m | 0x80 << (8 * i));
                assert_eq!(
                    super::printable_mask(u64::from_le_bytes(word)),
                    expected,
                    "{word:x?}"
                );
                let zeros = word
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| **c == 0)
                    .fold(0u64, |m, (i, _)| m | 0x80 << (8 * i));
                assert_eq!(
                    super::zero_mask(u64::from_le_bytes(word)),
                    zeros,
                    "{word:x?}"
                );
            }
        }
    }
}

#[test]
fn runs_of_every_length_across_word_boundaries_are_found_as_the_reference_finds_them() {
    // Stretches of 8 to 20 printable bytes with 10 digits in them, at every offset from a
    // word's start, between non-printable bytes.
    for len in 8..=20 {
        for lead in 0..16 {
            let stretch: Vec<u8> = (0..len)
                .map(|i| if i < 10 { b'0' + i as u8 } else { b'-' })
                .collect();
            // In bytes, and the same in UTF-16LE at either parity.
            let wide: Vec<u8> = stretch.iter().flat_map(|&b| [b, 0]).collect();
            for text in [stretch, wide] {
                let mut bytes = vec![0xFFu8; lead];
                bytes.extend(text);
                bytes.extend([0x01; 9]);
                let found = digit_runs(&bytes, usize::MAX);
                assert_eq!(
                    found,
                    digit_runs_reference(&bytes, usize::MAX),
                    "{len} {lead}"
                );
                assert_eq!(found.is_empty(), len < 10, "{len} {lead}: {found:?}");
            }
        }
    }
}

#[test]
fn every_byte_at_every_place_of_a_run_is_taken_as_the_reference_takes_it() {
    for b in 0..=255u8 {
        for at in 0..8 {
            let mut word = [b'x'; 8];
            word[at] = b;
            let found = digit_runs(&word.repeat(2), usize::MAX);
            let expected = digit_runs_reference(&word.repeat(2), usize::MAX);
            assert_eq!(found, expected, "{b:#x} at {at}");
        }
    }
    // A digit alone in a word of zeros and high bytes, at each place.
    let mut bytes = vec![0xFFu8; 64];
    for (i, d) in (0..12).zip(b"123456789012".iter()) {
        bytes[3 + 5 * i] = *d;
    }
    assert_eq!(digit_runs(&bytes, usize::MAX), "");
    let dense = b"\xff\xff12345 67890 12\xff".repeat(3);
    assert_eq!(
        digit_runs(&dense, usize::MAX),
        digit_runs_reference(&dense, usize::MAX)
    );
    assert!(digit_runs(&dense, usize::MAX).contains("12345 67890 12"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]
    #[test]
    fn digit_runs_match_the_char_at_a_time_finder(
        bytes in proptest::collection::vec(
            proptest::sample::select(vec![b'1', b'7', b'0', b'9', b'/', b':', b'a', b' ', 0u8, 0xFF, 0x7F, 0x1F]),
            0..600,
        ),
        cap in 0usize..400,
    ) {
        prop_assert_eq!(digit_runs(&bytes, cap), digit_runs_reference(&bytes, cap));
    }

    /// Text in UTF-16LE, at either parity, with the odd byte that breaks a run.
    #[test]
    fn digit_runs_in_utf16_match_the_char_at_a_time_finder(
        lead in proptest::collection::vec(any::<u8>(), 0..3),
        pairs in proptest::collection::vec(
            (
                proptest::sample::select(b"01234567890123456789 -\xff".to_vec()),
                proptest::sample::select(vec![0u8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, b'5']),
            ),
            0..400,
        ),
        cap in 0usize..600,
    ) {
        let mut bytes = lead;
        bytes.extend(pairs.iter().flat_map(|&(a, b)| [a, b]));
        let found = digit_runs(&bytes, cap);
        prop_assert_eq!(&found, &digit_runs_reference(&bytes, cap));
    }
}

#[test]
fn digit_runs_past_4096_characters_are_cut_as_before() {
    let mut bytes = vec![b'1'; 9000];
    bytes.push(0);
    bytes.extend(std::iter::repeat_n([b'2', 0], 5000).flatten());
    bytes.extend_from_slice(b"\xff345678901234");
    let cap = 1 << 20;
    let got = digit_runs(&bytes, cap);
    assert_eq!(got, digit_runs_reference(&bytes, cap));
    assert!(
        got.lines().any(|l| l.len() == 4096),
        "a long run is cut at 4096"
    );
    assert!(got.contains("345678901234"));
}
