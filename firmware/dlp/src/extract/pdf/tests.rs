//! PDF files written by hand: a Type1 font with ASCII digits, an Identity-H CID font with
//! a ToUnicode CMap (full-width digits and kanji) kept in an object stream, forms, broken
//! and encrypted files, and a decompression bomb.

use std::io::Write;
use std::time::{Duration, Instant};

use flate2::Compression;
use flate2::write::ZlibEncoder;

use super::filters::{ascii_hex, ascii85};
use super::*;
use crate::content::{Collector, Limits};
use crate::extract::tests::{all_text, my_number, my_numbers, run, zip};
use crate::extract::{FileRef, extract_file};

fn deflate(data: &[u8]) -> Vec<u8> {
    let mut encoder = ZlibEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

/// A stream object body.
fn stream(extra: &str, data: &[u8]) -> Vec<u8> {
    let mut body = format!("<< /Length {} {extra} >>\nstream\n", data.len()).into_bytes();
    body.extend_from_slice(data);
    body.extend_from_slice(b"\nendstream");
    body
}

/// A PDF file of numbered objects, with an xref table and a trailer (plus `trailer_extra`).
fn pdf(objects: &[(u32, Vec<u8>)], trailer_extra: &str) -> Vec<u8> {
    let mut out = b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut offsets = Vec::new();
    for (number, body) in objects {
        offsets.push((*number, out.len()));
        out.extend_from_slice(format!("{number} 0 obj\n").as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    let size = objects.iter().map(|(n, _)| n + 1).max().unwrap_or(1);
    out.extend_from_slice(format!("xref\n0 {size}\n0000000000 65535 f \n").as_bytes());
    for n in 1..size {
        let offset = offsets.iter().find(|(m, _)| *m == n).map_or(0, |(_, o)| *o);
        out.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {size} /Root 1 0 R {trailer_extra} >>\nstartxref\n{xref}\n%%EOF\n"
        )
        .as_bytes(),
    );
    out
}

/// A one-page PDF in Helvetica (a simple font) with ASCII digits in `Tj`.
fn simple_pdf(content: &[u8]) -> Vec<u8> {
    pdf(
        &[
            (1, b"<< /Type /Catalog /Pages 2 0 R >>".to_vec()),
            (2, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec()),
            (
                3,
                b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] \
                  /Resources << /Font << /F1 4 0 R >> /XObject << /Fm1 6 0 R >> >> /Contents 5 0 R >>"
                    .to_vec(),
            ),
            (
                4,
                b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_vec(),
            ),
            (5, stream("/Filter /FlateDecode", &deflate(content))),
            (
                6,
                stream(
                    "/Type /XObject /Subtype /Form /BBox [0 0 100 100]",
                    b"BT /F1 9 Tf 10 10 Td (form text) Tj ET",
                ),
            ),
        ],
        "",
    )
}

/// The code of each character in the Identity-H font of [`identity_pdf`].
const GLYPHS: [(char, u16); 8] = [
    ('個', 0x0100),
    ('人', 0x0101),
    ('番', 0x0102),
    ('号', 0x0103),
    ('：', 0x0104),
    ('\u{3000}', 0x0003),
    ('山', 0x0105),
    ('田', 0x0106),
];

/// `text` in the codes of the Identity-H font, as a hex string.
fn codes(text: &str) -> String {
    let mut hex = String::from("<");
    for c in text.chars() {
        let code = if ('０'..='９').contains(&c) {
            0x0010 + (u32::from(c) - u32::from('０')) as u16
        } else {
            GLYPHS.iter().find(|(g, _)| *g == c).unwrap().1
        };
        hex.push_str(&format!("{code:04X}"));
    }
    hex.push('>');
    hex
}

fn full_width(ascii_digits: &str) -> String {
    ascii_digits
        .chars()
        .map(|c| char::from_u32(u32::from(c) - u32::from('0') + 0xFF10).unwrap())
        .collect()
}

/// A PDF the way Japanese office software writes it: a Type0 font with Identity-H
/// encoding and a ToUnicode CMap, the font dictionaries in a compressed object stream,
/// resources inherited from the page tree, the number in full-width digits split over a
/// `TJ` array with kerning.
pub(crate) fn identity_pdf() -> Vec<u8> {
    let number = full_width(&my_number());
    let (a, rest) = number.split_at(4 * 3);
    let (b, c) = rest.split_at(4 * 3);
    let content = format!(
        "BT /F1 10.5 Tf 1 0 0 1 72 720 Tm {} Tj\n[{} -20 {} -12 {} 30 {}] TJ ET\n\
         BT 1 0 0 1 72 700 Tm {} Tj ET",
        codes("個人番号："),
        codes(a),
        codes(&format!("\u{3000}{b}")),
        codes("\u{3000}"),
        codes(c),
        codes("山田"),
    );
    let mut cmap = String::from(
        "/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n\
         /CMapName /Adobe-Identity-UCS def /CMapType 2 def\n\
         1 begincodespacerange <0000> <FFFF> endcodespacerange\n",
    );
    cmap.push_str(&format!("{} beginbfchar\n", GLYPHS.len()));
    for (c, code) in GLYPHS {
        cmap.push_str(&format!("<{code:04X}> <{:04X}>\n", u32::from(c)));
    }
    cmap.push_str("endbfchar\n1 beginbfrange\n<0010> <0019> <FF10>\nendbfrange\n");
    cmap.push_str("endcmap CMapName currentdict /CMap defineresource pop end end\n");
    // Objects 4 and 6 (the fonts) live in object stream 8.
    let font = "<< /Type /Font /Subtype /Type0 /BaseFont /MS-Gothic /Encoding /Identity-H \
                /DescendantFonts [6 0 R] /ToUnicode 7 0 R >>";
    let descendant = "<< /Type /Font /Subtype /CIDFontType2 /BaseFont /MS-Gothic \
                      /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> >>";
    let header = format!("4 0 6 {} ", font.len() + 1);
    let objstm = format!("{header}{font}\n{descendant}");
    pdf(
        &[
            (1, b"<< /Type /Catalog /Pages 2 0 R >>".to_vec()),
            (
                2,
                b"<< /Type /Pages /Kids [3 0 R] /Count 1 /Resources << /Font << /F1 4 0 R >> >> >>"
                    .to_vec(),
            ),
            (
                3,
                b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents [5 0 R] >>"
                    .to_vec(),
            ),
            (
                5,
                stream("/Filter /FlateDecode", &deflate(content.as_bytes())),
            ),
            (7, stream("/Filter /FlateDecode", &deflate(cmap.as_bytes()))),
            (
                8,
                stream(
                    &format!(
                        "/Type /ObjStm /N 2 /First {} /Filter /FlateDecode",
                        header.len()
                    ),
                    &deflate(objstm.as_bytes()),
                ),
            ),
        ],
        "",
    )
}

#[test]
fn ascii_digits_in_a_simple_font_are_found() {
    let number = my_number();
    let content = format!(
        "BT /F1 12 Tf 72 720 Td (My Number \\(\\115\\171\\)) Tj 0 -14 Td ({number}) Tj ET\n\
         q /Fm1 Do Q\n\
         BI /W 2 /H 1 /BPC 8 /CS /G ID \x00EI\x01 EI\n\
         BT /F1 12 Tf 72 600 Td [(after) -300 (image)] TJ ET"
    );
    let file = simple_pdf(content.as_bytes());
    let extraction = run(Some("a.pdf"), &file);
    assert!(extraction.problems.is_empty(), "{:?}", extraction.problems);
    assert_eq!(my_numbers(&extraction), ["a.pdf › page 1"]);
    let text = all_text(&extraction);
    assert!(
        text.starts_with(&format!("My Number (My)\n{number}")),
        "{text}"
    );
    assert!(text.contains("form text"), "{text}");
    assert!(text.contains("after image"), "{text}");
}

#[test]
fn identity_h_text_is_read_through_its_tounicode_cmap() {
    let file = identity_pdf();
    let extraction = run(None, &file);
    assert!(extraction.problems.is_empty(), "{:?}", extraction.problems);
    let text = all_text(&extraction);
    let number = full_width(&my_number());
    let grouped = format!(
        "{}\u{3000}{}\u{3000}{}",
        number.get(..12).unwrap(),
        number.get(12..24).unwrap(),
        number.get(24..).unwrap()
    );
    assert_eq!(text, format!("個人番号：{grouped}\n山田"));
    assert_eq!(my_numbers(&extraction), ["file › page 1"]);
}

#[test]
fn content_no_page_reaches_is_still_read() {
    let number = my_number();
    let content = format!("BT /F1 12 Tf ({number}) Tj ET");
    let file = pdf(
        &[
            (
                4,
                b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_vec(),
            ),
            (5, stream("", content.as_bytes())),
            (9, b"<< /Font << /F1 4 0 R >> >>".to_vec()),
        ],
        "",
    );
    let extraction = run(Some("x.pdf"), &file);
    assert_eq!(my_numbers(&extraction), ["x.pdf › content stream 5"]);
}

#[test]
fn embedded_files_are_extracted() {
    let number = my_number();
    let csv = format!("番号,{number}\n");
    let file = pdf(
        &[
            (1, b"<< /Type /Catalog >>".to_vec()),
            (
                5,
                stream(
                    "/Type /EmbeddedFile /Filter /FlateDecode",
                    &deflate(csv.as_bytes()),
                ),
            ),
        ],
        "",
    );
    let extraction = run(Some("x.pdf"), &file);
    assert_eq!(my_numbers(&extraction), ["x.pdf › embedded file 5"]);
}

#[test]
fn encrypted_pdfs_are_reported() {
    let mut objects = vec![(
        9,
        b"<< /Filter /Standard /V 2 /R 3 /O <00> /U <00> /P -4 >>".to_vec(),
    )];
    objects.push((1, b"<< /Type /Catalog >>".to_vec()));
    let file = pdf(&objects, "/Encrypt 9 0 R /ID [<01> <01>]");
    let extraction = run(Some("secret.pdf"), &file);
    let kinds: Vec<ProblemKind> = extraction.problems.iter().map(|p| p.kind).collect();
    assert_eq!(kinds, [ProblemKind::Encrypted]);
    assert!(extraction.segments.is_empty());
    // `/Encrypt` inside stream data, or `/EncryptMetadata`, is not encryption.
    let file = simple_pdf(b"BT (/Encrypt 1 0 R) Tj ET");
    assert!(run(None, &file).problems.is_empty());
    // Nor is it in a comment, in a string, or in a commented-out trailer: only the trailer
    // decides.
    let number = my_number();
    let mut file = simple_pdf(format!("BT /F1 9 Tf ({number}) Tj ET").as_bytes());
    let at = file.windows(7).position(|w| w == b"trailer").unwrap();
    file.splice(
        at..at,
        b"% trailer << /Encrypt 9 0 R >>\n7 0 obj\n<< /Note (/Encrypt 9 0 R) >>\nendobj\n"
            .iter()
            .copied(),
    );
    let extraction = run(None, &file);
    assert!(extraction.problems.is_empty(), "{:?}", extraction.problems);
    assert_eq!(my_numbers(&extraction).len(), 1);
}

#[test]
fn broken_pdfs_are_unreadable_and_truncated_ones_give_what_they_have() {
    let extraction = run(Some("a.pdf"), b"%PDF-1.4\nnothing but junk");
    assert_eq!(extraction.problems[0].kind, ProblemKind::Unreadable);
    let extraction = run(Some("a.pdf"), b"");
    assert_eq!(extraction.problems[0].kind, ProblemKind::Unreadable);
    let number = my_number();
    let file = simple_pdf(format!("BT /F1 12 Tf ({number}) Tj ET").as_bytes());
    // Cut inside the xref table: every object is still there.
    let cut = file.len() - 40;
    let extraction = run(Some("a.pdf"), file.get(..cut).unwrap());
    assert_eq!(my_numbers(&extraction).len(), 1);
}

#[test]
fn a_flate_bomb_in_a_pdf_is_stopped_quickly() {
    let zeros = vec![b' '; 30 << 20];
    let file = simple_pdf(&zeros);
    assert!(file.len() < 200 << 10, "{}", file.len());
    let started = Instant::now();
    let limits = Limits::default();
    let mut out = Collector::new(&limits);
    let pdf_ref = FileRef {
        name: Some("bomb.pdf"),
        content_type: None,
        charset: None,
        bytes: &file,
    };
    extract_file(&mut out, &Location::root(), &pdf_ref, 1);
    // At most max_ratio × the compressed size was expanded.
    let spent = limits.max_expanded_bytes - out.expansion_left();
    assert!(spent <= 100 * file.len() as u64 + 1, "{spent}");
    let problems = out.finish().problems;
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].kind, ProblemKind::ArchiveBomb);
    assert!(
        problems[0].detail.contains("more than 100:1"),
        "{problems:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[test]
fn a_pdf_in_a_zip_is_found() {
    let archive = zip(&[("資料/scan.pdf", &identity_pdf())]);
    let extraction = run(Some("a.zip"), &archive);
    assert_eq!(my_numbers(&extraction), ["a.zip › 資料/scan.pdf › page 1"]);
}

#[test]
fn filters_decode() {
    assert_eq!(ascii_hex(b"48 65 6C6C 6F>"), b"Hello");
    assert_eq!(ascii85(b"87cURD]j7BEbo7~>"), b"Hello world");
    assert_eq!(ascii85(b"z~>"), [0, 0, 0, 0]);
    assert_eq!(ascii85(b"uuuuu"), [255, 255, 255, 255]);
}

/// A one-page PDF whose content stream is `data` with the stream dictionary entries `extra`.
fn page_with_stream(extra: &str, data: &[u8]) -> Vec<u8> {
    pdf(
        &[
            (1, b"<< /Type /Catalog /Pages 2 0 R >>".to_vec()),
            (2, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec()),
            (
                3,
                b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] \
                  /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>"
                    .to_vec(),
            ),
            (
                4,
                b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_vec(),
            ),
            (5, stream(extra, data)),
        ],
        "",
    )
}

/// PNG "up" predictor rows of `columns` bytes.
fn png_up(data: &[u8], columns: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut previous = vec![0u8; columns];
    for row in data.chunks(columns) {
        out.push(2);
        for (i, &b) in row.iter().enumerate() {
            out.push(b.wrapping_sub(previous[i]));
        }
        previous[..row.len()].copy_from_slice(row);
    }
    out
}

#[test]
fn every_standard_filter_and_predictor_is_read() {
    let number = my_number();
    let content = format!("BT /F1 12 Tf 72 700 Td (My Number {number}) Tj ET");
    let content = content.as_bytes();
    let lzw = super::filters::tests::lzw_encode(content);
    // RunLength: literal runs of up to 128 bytes, then the end marker.
    let mut run_length = Vec::new();
    for chunk in content.chunks(100) {
        run_length.push(u8::try_from(chunk.len() - 1).unwrap());
        run_length.extend_from_slice(chunk);
    }
    run_length.push(128);
    let hex: String = content.iter().map(|b| format!("{b:02X}")).collect();
    let cases: Vec<(&str, String, Vec<u8>)> = vec![
        ("LZW", "/Filter /LZWDecode".into(), lzw.clone()),
        (
            "LZW, EarlyChange given",
            "/Filter /LZWDecode /DecodeParms << /EarlyChange 1 >>".into(),
            lzw,
        ),
        (
            "RunLength",
            "/Filter /RunLengthDecode".into(),
            run_length.clone(),
        ),
        (
            "ASCIIHex then RunLength",
            "/Filter [/ASCIIHexDecode /RunLengthDecode]".into(),
            run_length
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
                .into_bytes(),
        ),
        (
            "ASCIIHex",
            "/Filter /AHx".into(),
            format!("{hex}>").into_bytes(),
        ),
        (
            "Flate with the PNG up predictor",
            "/Filter /FlateDecode /DecodeParms << /Predictor 12 /Columns 7 >>".into(),
            deflate(&png_up(content, 7)),
        ),
        (
            "LZW with the PNG up predictor, parameters in an array",
            "/Filter [/LZWDecode] /DecodeParms [<< /Predictor 12 /Columns 5 >>]".into(),
            super::filters::tests::lzw_encode(&png_up(content, 5)),
        ),
    ];
    for (what, extra, data) in cases {
        let extraction = run(Some("a.pdf"), &page_with_stream(&extra, &data));
        assert!(
            extraction.problems.is_empty(),
            "{what}: {:?}",
            extraction.problems
        );
        assert_eq!(
            my_numbers(&extraction).len(),
            1,
            "{what}: {}",
            all_text(&extraction)
        );
    }
}

#[test]
fn an_unknown_filter_is_unreadable_and_images_are_skipped_quietly() {
    let extraction = run(
        Some("a.pdf"),
        &page_with_stream("/Filter /BrotliDecode", b"xyz"),
    );
    let kinds: Vec<ProblemKind> = extraction.problems.iter().map(|p| p.kind).collect();
    assert_eq!(kinds, [ProblemKind::Unreadable]);
    assert!(extraction.problems[0].detail.contains("/BrotliDecode"));
    let extraction = run(
        Some("a.pdf"),
        &page_with_stream("/Filter /DCTDecode", b"\xFF\xD8"),
    );
    assert!(extraction.problems.is_empty(), "{:?}", extraction.problems);
}
