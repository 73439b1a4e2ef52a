//! Tests of the whole walk: messages built here in each Japanese charset and transfer
//! encoding, hostile and broken MIME, limits, and a property test that nothing panics.

use base64::Engine as _;
use encoding_rs::{EUC_JP, Encoding, ISO_2022_JP, SHIFT_JIS, UTF_8};
use proptest::prelude::*;

use super::walk::HARD_MAX_DEPTH;
use super::walk_message;
use crate::content::{Collector, Extraction, Limits, ProblemKind, SegmentKind};

const CHARSETS: [(&str, &Encoding); 4] = [
    ("ISO-2022-JP", ISO_2022_JP),
    ("Shift_JIS", SHIFT_JIS),
    ("EUC-JP", EUC_JP),
    ("UTF-8", UTF_8),
];

const SUBJECT: &str = "社員名簿の件（至急）";
const TEXT: &str = "山田様\r\n個人番号：１２３４　５６７８　９０１８\r\nよろしくお願いします。\r\n";

fn walk_with(raw: &[u8], limits: &Limits) -> Extraction {
    let mut out = Collector::new(limits);
    walk_message(raw, &mut out);
    out.finish()
}

fn walk(raw: &[u8]) -> Extraction {
    walk_with(raw, &Limits::default())
}

fn enc(text: &str, encoding: &'static Encoding) -> Vec<u8> {
    let (bytes, _, unmappable) = encoding.encode(text);
    assert!(!unmappable);
    bytes.into_owned()
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// base64 wrapped at 76 columns, CRLF line ends.
fn b64_body(bytes: &[u8]) -> String {
    let flat = b64(bytes);
    let lines: Vec<&str> = flat
        .as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    lines.join("\r\n")
}

/// Quoted-printable by hand, with soft line breaks.
fn qp(bytes: &[u8]) -> String {
    let mut out = String::new();
    let mut column = 0;
    for &b in bytes {
        let piece = match b {
            b'\r' | b'\n' => {
                out.push(char::from(b));
                column = 0;
                continue;
            }
            b'=' => "=3D".to_string(),
            0x21..=0x7E | b' ' => char::from(b).to_string(),
            _ => format!("={b:02X}"),
        };
        if column + piece.len() > 72 {
            out.push_str("=\r\n");
            column = 0;
        }
        column += piece.len();
        out.push_str(&piece);
    }
    out
}

fn cat(pieces: &[&[u8]]) -> Vec<u8> {
    pieces.concat()
}

/// Is there a segment of `kind` at `location` containing `needle`?
fn has(ex: &Extraction, kind: SegmentKind, location: &str, needle: &str) -> bool {
    ex.segments
        .iter()
        .any(|s| s.kind == kind && s.location.to_string() == location && s.text.contains(needle))
}

/// Is `needle` anywhere in the collected text?
fn anywhere(ex: &Extraction, needle: &str) -> bool {
    ex.segments.iter().any(|s| s.text.contains(needle))
}

fn dump(ex: &Extraction) -> String {
    let mut out = String::new();
    for s in &ex.segments {
        out.push_str(&format!("[{:?} @ {}] {:?}\n", s.kind, s.location, s.text));
    }
    for p in &ex.problems {
        out.push_str(&format!(
            "problem {} @ {}: {}\n",
            p.kind, p.location, p.detail
        ));
    }
    out
}

fn problems(ex: &Extraction, kind: ProblemKind) -> Vec<String> {
    ex.problems
        .iter()
        .filter(|p| p.kind == kind)
        .map(|p| format!("{}: {}", p.location, p.detail))
        .collect()
}

#[test]
fn single_part_messages_in_each_charset_and_encoding() {
    for (label, encoding) in CHARSETS {
        let subject = format!("=?{label}?B?{}?=", b64(&enc(SUBJECT, encoding)));
        let body = enc(TEXT, encoding);
        let encoded: [(&str, Vec<u8>); 3] = [
            ("7bit", body.clone()),
            ("base64", b64_body(&body).into_bytes()),
            ("quoted-printable", qp(&body).into_bytes()),
        ];
        for (cte, content) in encoded {
            let raw = cat(&[
                b"From: a@example.jp\r\nSubject: ",
                subject.as_bytes(),
                b"\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=\"",
                label.as_bytes(),
                b"\"\r\nContent-Transfer-Encoding: ",
                cte.as_bytes(),
                b"\r\n\r\n",
                &content,
            ]);
            let ex = walk(&raw);
            let context = format!("{label} {cte}\n{}", dump(&ex));
            assert!(
                has(&ex, SegmentKind::Header, "header Subject", SUBJECT),
                "{context}"
            );
            assert!(
                has(
                    &ex,
                    SegmentKind::Body,
                    "body 1",
                    "１２３４　５６７８　９０１８"
                ),
                "{context}"
            );
            assert!(ex.problems.is_empty(), "{context}");
        }
    }
}

#[test]
fn a_message_without_mime_headers_is_sniffed() {
    for (label, encoding) in CHARSETS {
        // Raw 8-bit (or JIS) Subject and body, no MIME headers at all.
        let raw = cat(&[
            b"From: a@example.jp\nSubject: ",
            &enc(SUBJECT, encoding),
            b"\nDate: Mon, 1 Apr 2024 09:00:00 +0900\n\n",
            &enc(TEXT, encoding),
        ]);
        let ex = walk(&raw);
        let context = format!("{label}\n{}", dump(&ex));
        assert!(
            has(&ex, SegmentKind::Header, "header Subject", SUBJECT),
            "{context}"
        );
        assert!(
            has(&ex, SegmentKind::Body, "body 1", "個人番号"),
            "{context}"
        );
    }
}

#[test]
fn a_multipart_message_is_walked_with_readable_locations() {
    let csv = "氏名,個人番号\n山田,123456789018\n";
    let raw = cat(&[
        b"From: \"",
        "山田 太郎".as_bytes(),
        b"\" <taro@example.jp>\r\nTo: =?UTF-8?B?",
        b64("佐藤".as_bytes()).as_bytes(),
        b"?= <sato@example.jp>, hr@example.jp\r\nSubject: =?ISO-2022-JP?B?",
        b64(&enc(SUBJECT, ISO_2022_JP)).as_bytes(),
        b"?=\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n",
        b"This is a multi-part message in MIME format. PREAMBLE\r\n",
        b"--outer\r\nContent-Type: multipart/alternative; boundary=inner\r\n\r\n",
        b"--inner\r\nContent-Type: text/plain; charset=ISO-2022-JP\r\n",
        b"Content-Transfer-Encoding: 7bit\r\n\r\n",
        &enc("プレーン本文\r\n", ISO_2022_JP),
        b"\r\n--inner\r\nContent-Type: text/html; charset=Shift_JIS\r\n",
        b"Content-Transfer-Encoding: quoted-printable\r\n\r\n",
        qp(&enc("<p>HTML本文</p>\r\n", SHIFT_JIS)).as_bytes(),
        b"\r\n--inner--\r\n\r\n--outer\r\n",
        b"Content-Type: application/octet-stream\r\n",
        b"Content-Disposition: attachment;\r\n filename*=UTF-8''%E5%90%8D%E7%B0%BF.csv\r\n",
        b"Content-Transfer-Encoding: base64\r\n\r\n",
        b64_body(csv.as_bytes()).as_bytes(),
        b"\r\n--outer--\r\nEPILOGUE\r\n",
    ]);
    let ex = walk(&raw);
    let context = dump(&ex);
    assert!(
        has(&ex, SegmentKind::Header, "header Subject", SUBJECT),
        "{context}"
    );
    assert!(
        has(&ex, SegmentKind::Header, "header From", "山田 太郎"),
        "{context}"
    );
    assert!(
        has(&ex, SegmentKind::Header, "header To", "佐藤"),
        "{context}"
    );
    assert!(
        !anywhere(&ex, "example.jp"),
        "addresses are not text: {context}"
    );
    assert!(
        has(&ex, SegmentKind::Body, "body 1.1", "プレーン本文"),
        "{context}"
    );
    assert!(
        has(&ex, SegmentKind::Body, "body 1.2", "HTML本文"),
        "{context}"
    );
    let attachment = "attachment 2 \"名簿.csv\"";
    assert!(
        has(&ex, SegmentKind::FileName, attachment, "名簿.csv"),
        "{context}"
    );
    assert!(
        has(&ex, SegmentKind::Attachment, attachment, "123456789018"),
        "{context}"
    );
    assert!(
        has(&ex, SegmentKind::Body, "preamble", "PREAMBLE"),
        "{context}"
    );
    assert!(
        has(&ex, SegmentKind::Body, "epilogue", "EPILOGUE"),
        "{context}"
    );
    assert!(ex.problems.is_empty(), "{context}");
}

#[test]
fn japanese_file_names_in_rfc2047_rfc2231_and_raw_bytes() {
    let name = "社員名簿（最新）.txt";
    let jis_word = format!("=?ISO-2022-JP?B?{}?=", b64(&enc(name, ISO_2022_JP)));
    let sjis_pct: String = enc(name, SHIFT_JIS)
        .iter()
        .map(|b| format!("%{b:02X}"))
        .collect();
    let (first, second) = sjis_pct.split_at(24);
    let headers: [Vec<u8>; 4] = [
        format!("Content-Type: application/octet-stream; name=\"{jis_word}\"\r\n").into_bytes(),
        format!(
            "Content-Type: text/plain\r\nContent-Disposition: attachment;\r\n filename*0*=shift_jis'ja'{first};\r\n filename*1*={second}\r\n"
        )
        .into_bytes(),
        cat(&[
            b"Content-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"",
            &enc(name, SHIFT_JIS),
            b"\"\r\n",
        ]),
        cat(&[
            b"Content-Type: text/plain; charset=utf-8; name=\"",
            name.as_bytes(),
            b"\"\r\n",
        ]),
    ];
    for header in headers {
        let raw = cat(&[
            b"Subject: files\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n",
            &header,
            b"\r\nhello 123\r\n--b--\r\n",
        ]);
        let ex = walk(&raw);
        let context = format!("{}\n{}", String::from_utf8_lossy(&header), dump(&ex));
        let at = format!("attachment 1 \"{name}\"");
        assert!(has(&ex, SegmentKind::FileName, &at, name), "{context}");
        assert!(
            has(&ex, SegmentKind::Attachment, &at, "hello 123"),
            "{context}"
        );
    }
}

#[test]
fn attached_messages_are_walked_as_messages() {
    let inner_subject = "転送：顧客リスト";
    let raw = cat(&[
        b"Subject: fwd\r\nContent-Type: multipart/mixed; boundary=b1\r\n\r\n",
        b"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nouter body\r\n",
        b"--b1\r\nContent-Type: message/rfc822\r\n",
        b"Content-Disposition: attachment; filename=\"",
        "転送.eml".as_bytes(),
        b"\"\r\n\r\nSubject: =?EUC-JP?B?",
        b64(&enc(inner_subject, EUC_JP)).as_bytes(),
        b"?=\r\nContent-Type: multipart/mixed; boundary=b2\r\n\r\n",
        b"--b2\r\nContent-Type: text/plain; charset=euc-jp\r\nContent-Transfer-Encoding: base64\r\n\r\n",
        b64_body(&enc(TEXT, EUC_JP)).as_bytes(),
        b"\r\n--b2\r\nContent-Type: text/plain; name=memo.txt\r\n\r\nmemo 555\r\n--b2--\r\n",
        b"\r\n--b1--\r\n",
    ]);
    let ex = walk(&raw);
    let context = dump(&ex);
    let message = "message 2 \"転送.eml\"";
    assert!(
        has(&ex, SegmentKind::Body, "body 1", "outer body"),
        "{context}"
    );
    assert!(
        has(&ex, SegmentKind::FileName, message, "転送.eml"),
        "{context}"
    );
    assert!(
        has(
            &ex,
            SegmentKind::Header,
            &format!("{message} › header Subject"),
            inner_subject
        ),
        "{context}"
    );
    assert!(
        has(
            &ex,
            SegmentKind::Body,
            &format!("{message} › body 2.1"),
            "個人番号"
        ),
        "{context}"
    );
    assert!(
        has(
            &ex,
            SegmentKind::Attachment,
            &format!("{message} › attachment 2.2 \"memo.txt\""),
            "memo 555"
        ),
        "{context}"
    );
    assert!(ex.problems.is_empty(), "{context}");
}

#[test]
fn a_digest_defaults_to_messages_and_a_single_part_attached_message_is_numbered() {
    let raw = b"Content-Type: multipart/digest; boundary=d\r\n\r\n--d\r\n\r\nSubject: first digest\r\n\r\ndigest body\r\n--d\r\nContent-Type: message/rfc822\r\n\r\nSubject: second\r\n\r\nsecond body\r\n--d--\r\n";
    let ex = walk(raw);
    let context = dump(&ex);
    assert!(
        has(
            &ex,
            SegmentKind::Header,
            "message 1 › header Subject",
            "first digest"
        ),
        "{context}"
    );
    assert!(
        has(
            &ex,
            SegmentKind::Body,
            "message 1 › body 1.1",
            "digest body"
        ),
        "{context}"
    );
    assert!(
        has(
            &ex,
            SegmentKind::Body,
            "message 2 › body 2.1",
            "second body"
        ),
        "{context}"
    );
}

#[test]
fn a_missing_close_delimiter_runs_the_last_part_to_the_end() {
    let raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nfirst\r\n--b\r\nContent-Type: text/plain\r\n\r\nlast part to EOF\r\nmore";
    let ex = walk(raw);
    assert!(
        has(&ex, SegmentKind::Body, "body 1", "first"),
        "{}",
        dump(&ex)
    );
    assert!(
        has(&ex, SegmentKind::Body, "body 2", "last part to EOF\r\nmore"),
        "{}",
        dump(&ex)
    );
}

#[test]
fn an_unused_or_missing_boundary_shows_the_body_as_text() {
    // Declared, never used.
    let raw = b"Content-Type: multipart/mixed; boundary=never\r\n\r\n--other\r\nContent-Type: text/plain\r\n\r\nhidden 1\r\n--other--\r\n";
    let ex = walk(raw);
    assert!(
        has(&ex, SegmentKind::Body, "body 1", "hidden 1"),
        "{}",
        dump(&ex)
    );
    // No boundary parameter.
    let raw = b"Content-Type: multipart/mixed\r\n\r\n--x\r\n\r\nhidden 2\r\n";
    let ex = walk(raw);
    assert!(
        has(&ex, SegmentKind::Body, "body 1", "hidden 2"),
        "{}",
        dump(&ex)
    );
    // The same inside a multipart.
    let raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: multipart/related\r\n\r\nhidden 3\r\n--b--\r\n";
    let ex = walk(raw);
    assert!(
        has(&ex, SegmentKind::Body, "body 1", "hidden 3"),
        "{}",
        dump(&ex)
    );
}

#[test]
fn duplicate_content_type_walks_both_readings() {
    let raw = cat(&[
        b"Subject: dup\r\nContent-Type: text/plain; charset=utf-8\r\n",
        b"Content-Type: multipart/mixed; boundary=zz\r\n\r\n",
        b"--zz\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n",
        b64_body("SECRET-IN-PART 秘密".as_bytes()).as_bytes(),
        b"\r\n--zz--\r\n",
    ]);
    let ex = walk(&raw);
    let context = dump(&ex);
    // First wins: the raw body as text; last wins: the part decoded.
    assert!(has(&ex, SegmentKind::Body, "body 1", "--zz"), "{context}");
    assert!(
        has(&ex, SegmentKind::Body, "body 1", "SECRET-IN-PART 秘密"),
        "{context}"
    );
    let ambiguous = problems(&ex, ProblemKind::Ambiguous);
    assert_eq!(ambiguous.len(), 1, "{context}");
    assert!(ambiguous[0].contains("Content-Type"), "{context}");
}

#[test]
fn duplicate_transfer_encoding_walks_both_readings() {
    let secret = "SECRET 本文";
    let raw = cat(&[
        b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n",
        b"Content-Transfer-Encoding: base64\r\n\r\n",
        b64_body(secret.as_bytes()).as_bytes(),
    ]);
    let ex = walk(&raw);
    let context = dump(&ex);
    assert!(has(&ex, SegmentKind::Body, "body 1", secret), "{context}");
    assert!(
        has(&ex, SegmentKind::Body, "body 1", &b64(secret.as_bytes())),
        "{context}"
    );
    let ambiguous = problems(&ex, ProblemKind::Ambiguous);
    assert_eq!(ambiguous.len(), 1, "{context}");
    assert!(
        ambiguous[0].contains("Content-Transfer-Encoding"),
        "{context}"
    );
    // Identical duplicates are not ambiguous.
    let raw = b"Content-Type: text/plain\r\nContent-Type: Text/Plain\r\n\r\nsame";
    assert!(walk(raw).problems.is_empty());
}

#[test]
fn several_boundaries_encoded_multiparts_and_parts_after_the_close() {
    // Two boundary parameters: split at each.
    let raw = b"Content-Type: multipart/mixed; boundary=a; boundary=b\r\n\r\n--a\r\n\r\nin a\r\n--a--\r\n--b\r\n\r\nin b\r\n--b--\r\n";
    let ex = walk(raw);
    assert!(
        has(&ex, SegmentKind::Body, "body 1", "in a"),
        "{}",
        dump(&ex)
    );
    assert!(
        has(&ex, SegmentKind::Body, "body 1", "in b"),
        "{}",
        dump(&ex)
    );
    assert_eq!(problems(&ex, ProblemKind::Ambiguous).len(), 1);
    // A base64-encoded multipart.
    let inner = b"--m\r\nContent-Type: text/plain\r\n\r\nencoded multipart\r\n--m--\r\n";
    let raw = cat(&[
        b"Content-Type: multipart/mixed; boundary=m\r\nContent-Transfer-Encoding: base64\r\n\r\n",
        b64_body(inner).as_bytes(),
    ]);
    let ex = walk(&raw);
    assert!(
        has(&ex, SegmentKind::Body, "body 1", "encoded multipart"),
        "{}",
        dump(&ex)
    );
    assert_eq!(problems(&ex, ProblemKind::Ambiguous).len(), 1);
    // A part after the close delimiter.
    let raw = b"Content-Type: multipart/mixed; boundary=c\r\n\r\n--c\r\n\r\none\r\n--c--\r\n--c\r\n\r\nafter close\r\n";
    let ex = walk(raw);
    assert!(
        has(&ex, SegmentKind::Body, "body 2", "after close"),
        "{}",
        dump(&ex)
    );
    assert_eq!(problems(&ex, ProblemKind::Ambiguous).len(), 1);
}

#[test]
fn boundary_lines_with_trailing_whitespace_and_either_line_end() {
    let crlf = "Content-Type: multipart/mixed; boundary=\"sep\"\r\n\r\n--sep \t \r\nContent-Type: text/plain\r\n\r\nfirst part\r\n--sep\t\r\n\r\nsecond part\r\n--sep-- \r\n";
    for raw in [crlf.to_string(), crlf.replace("\r\n", "\n")] {
        let ex = walk(raw.as_bytes());
        assert!(
            has(&ex, SegmentKind::Body, "body 1", "first part"),
            "{}",
            dump(&ex)
        );
        assert!(
            has(&ex, SegmentKind::Body, "body 2", "second part"),
            "{}",
            dump(&ex)
        );
        assert!(!anywhere(&ex, "--sep"), "{}", dump(&ex));
    }
}

#[test]
fn base64_with_garbage_still_decodes() {
    let encoded = b64(TEXT.as_bytes());
    let mut messy = String::new();
    for (i, c) in encoded.trim_end_matches('=').chars().enumerate() {
        if i % 10 == 0 {
            messy.push_str("\r\n#!~ ");
        }
        messy.push(c);
    }
    let raw = format!(
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{messy}\r\n"
    );
    let ex = walk(raw.as_bytes());
    assert!(
        has(&ex, SegmentKind::Body, "body 1", "個人番号"),
        "{}",
        dump(&ex)
    );
}

#[test]
fn parts_without_headers() {
    // An empty line first: defaults (text/plain).
    let raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nno headers\r\n--b\r\ntext right after the delimiter: no blank line\r\n--b--\r\n";
    let ex = walk(raw);
    assert!(
        has(&ex, SegmentKind::Body, "body 1", "no headers"),
        "{}",
        dump(&ex)
    );
    assert!(
        has(&ex, SegmentKind::Body, "body 2", "no blank line"),
        "{}",
        dump(&ex)
    );
    // Header-looking lines never ended by a blank line are scanned as text too.
    let raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nName: Yamada\r\nNumber: 123456789018\r\n--b--\r\n";
    let ex = walk(raw);
    assert!(
        has(&ex, SegmentKind::Body, "body 1", "Number: 123456789018"),
        "{}",
        dump(&ex)
    );
}

#[test]
fn eight_bit_headers_are_read() {
    for (label, encoding) in [
        ("Shift_JIS", SHIFT_JIS),
        ("UTF-8", UTF_8),
        ("EUC-JP", EUC_JP),
    ] {
        let raw = cat(&[
            b"Subject: Re: ",
            &enc(SUBJECT, encoding),
            b"\r\nKeywords: ",
            &enc("名簿", encoding),
            b"\r\nContent-Type: text/plain\r\n\r\nbody",
        ]);
        let ex = walk(&raw);
        let context = format!("{label}\n{}", dump(&ex));
        assert!(
            has(&ex, SegmentKind::Header, "header Subject", SUBJECT),
            "{context}"
        );
        assert!(
            has(&ex, SegmentKind::Header, "header Keywords", "名簿"),
            "{context}"
        );
    }
}

#[test]
fn unknown_charsets_are_sniffed() {
    for (_, encoding) in CHARSETS {
        let raw = cat(&[
            b"Content-Type: text/plain; charset=x-unknown-jp\r\n\r\n",
            &enc(TEXT, encoding),
        ]);
        let ex = walk(&raw);
        assert!(
            has(&ex, SegmentKind::Body, "body 1", "個人番号"),
            "{}",
            dump(&ex)
        );
    }
    // A us-ascii label on 8-bit text does not hide it either.
    let raw = cat(&[
        b"Content-Type: text/plain; charset=us-ascii\r\n\r\n",
        &enc(TEXT, SHIFT_JIS),
    ]);
    assert!(has(&walk(&raw), SegmentKind::Body, "body 1", "個人番号"));
}

#[test]
fn unknown_transfer_encodings_are_reported_and_scanned_as_is() {
    let raw =
        b"Content-Type: text/plain\r\nContent-Transfer-Encoding: x-custom\r\n\r\nplain 42\r\n";
    let ex = walk(raw);
    assert!(
        has(&ex, SegmentKind::Body, "body 1", "plain 42"),
        "{}",
        dump(&ex)
    );
    let unreadable = problems(&ex, ProblemKind::DecoderError);
    assert_eq!(unreadable.len(), 1, "{}", dump(&ex));
    assert!(unreadable[0].contains("x-custom"));
}

#[test]
fn uuencoded_files_in_bodies_are_attachments() {
    let csv = "氏名,番号\n山田,123456789018\n";
    let uu = super::uuencode::encode("meibo.csv", csv.as_bytes());
    let raw = format!(
        "Subject: old mailer\r\n\r\nSee attached.\r\n\r\n{}\r\nBye\r\n",
        uu.replace('\n', "\r\n")
    );
    let ex = walk(raw.as_bytes());
    let at = "body 1 › uuencoded 1 \"meibo.csv\"";
    assert!(
        has(&ex, SegmentKind::Body, "body 1", "See attached."),
        "{}",
        dump(&ex)
    );
    assert!(
        has(&ex, SegmentKind::FileName, at, "meibo.csv"),
        "{}",
        dump(&ex)
    );
    assert!(
        has(&ex, SegmentKind::Attachment, at, "123456789018"),
        "{}",
        dump(&ex)
    );
    // A part labelled x-uuencode.
    let raw = format!(
        "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: application/octet-stream; name=m.csv\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\n{uu}--b--\r\n"
    );
    let ex = walk(raw.as_bytes());
    assert!(
        has(
            &ex,
            SegmentKind::Attachment,
            "attachment 1 \"m.csv\"",
            "123456789018"
        ),
        "{}",
        dump(&ex)
    );
}

#[test]
fn octet_stream_text_files_and_text_attachments_are_extracted() {
    let raw = cat(&[
        b"Content-Type: multipart/mixed; boundary=b\r\n\r\n",
        b"--b\r\nContent-Type: application/octet-stream; name=\"list.csv\"\r\nContent-Transfer-Encoding: base64\r\n\r\n",
        b64_body(&enc("山田,090-1234-5678\r\n", SHIFT_JIS)).as_bytes(),
        b"\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Disposition: attachment\r\n\r\nattached text\r\n",
        b"--b\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.4 nothing\r\n--b--\r\n",
    ]);
    let ex = walk(&raw);
    let context = dump(&ex);
    assert!(
        has(
            &ex,
            SegmentKind::FileName,
            "attachment 1 \"list.csv\"",
            "list.csv"
        ),
        "{context}"
    );
    assert!(
        has(
            &ex,
            SegmentKind::Attachment,
            "attachment 1 \"list.csv\"",
            "山田"
        ),
        "{context}"
    );
    assert!(
        has(
            &ex,
            SegmentKind::Attachment,
            "attachment 2",
            "attached text"
        ),
        "{context}"
    );
    assert!(
        !ex.segments
            .iter()
            .any(|s| s.kind == SegmentKind::Body && s.text.contains("attached text")),
        "{context}"
    );
}

/// `levels` multiparts, one in another, with `DEEP TEXT` in the innermost.
fn nested_multiparts(levels: usize) -> Vec<u8> {
    let mut raw = b"Content-Type: text/plain\r\n\r\nDEEP TEXT\r\n".to_vec();
    for level in (0..levels).rev() {
        raw = cat(&[
            format!("Content-Type: multipart/mixed; boundary=\"b{level}\"\r\n\r\n--b{level}\r\n")
                .as_bytes(),
            &raw,
            format!("\r\n--b{level}--\r\n").as_bytes(),
        ]);
    }
    raw
}

#[test]
fn nesting_deeper_than_the_limit_is_a_problem_and_not_walked() {
    let limits = Limits::default();
    let ex = walk_with(&nested_multiparts(limits.max_depth), &limits);
    assert!(anywhere(&ex, "DEEP TEXT"), "{}", dump(&ex));
    assert!(ex.problems.is_empty(), "{}", dump(&ex));
    let ex = walk_with(&nested_multiparts(limits.max_depth + 1), &limits);
    assert!(!anywhere(&ex, "DEEP TEXT"), "{}", dump(&ex));
    assert_eq!(
        problems(&ex, ProblemKind::TooDeep).len(),
        1,
        "{}",
        dump(&ex)
    );
    // Attached messages count too.
    let mut raw = b"Subject: innermost\r\n\r\nDEEP TEXT".to_vec();
    for _ in 0..=limits.max_depth {
        raw = cat(&[b"Content-Type: message/rfc822\r\n\r\n", &raw]);
    }
    let ex = walk_with(&raw, &limits);
    assert!(!anywhere(&ex, "DEEP TEXT"), "{}", dump(&ex));
    assert_eq!(
        problems(&ex, ProblemKind::TooDeep).len(),
        1,
        "{}",
        dump(&ex)
    );
}

#[test]
fn a_huge_depth_limit_still_bounds_the_walk() {
    let limits = Limits {
        max_depth: 1_000_000,
        ..Limits::default()
    };
    let ex = walk_with(&nested_multiparts(HARD_MAX_DEPTH * 4), &limits);
    assert!(!anywhere(&ex, "DEEP TEXT"));
    assert_eq!(
        problems(&ex, ProblemKind::TooDeep).len(),
        1,
        "{}",
        dump(&ex)
    );
}

#[test]
fn more_parts_than_the_limit_is_a_problem_and_stops() {
    let limits = Limits {
        max_parts: 3,
        ..Limits::default()
    };
    let mut raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n".to_vec();
    for i in 1..=6 {
        raw.extend_from_slice(format!("--b\r\n\r\nPART{i}\r\n").as_bytes());
    }
    let ex = walk_with(&raw, &limits);
    assert!(
        anywhere(&ex, "PART3") && !anywhere(&ex, "PART4"),
        "{}",
        dump(&ex)
    );
    assert_eq!(
        problems(&ex, ProblemKind::TooManyParts).len(),
        1,
        "{}",
        dump(&ex)
    );
}

#[test]
fn the_text_budget_stops_the_walk() {
    let limits = Limits {
        max_text_bytes: 64,
        ..Limits::default()
    };
    let mut raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n".to_vec();
    for i in 0..100 {
        raw.extend_from_slice(format!("--b\r\n\r\npart {i} with some text in it\r\n").as_bytes());
    }
    let ex = walk_with(&raw, &limits);
    assert!(ex.segments.len() <= 3, "{}", dump(&ex));
    assert_eq!(problems(&ex, ProblemKind::TextLimit).len(), 1);
}

#[test]
fn ambiguity_is_bounded() {
    // Every level has two differing Content-Transfer-Encodings: without a budget the walk
    // would double with each level.
    let mut raw = b"Content-Type: text/plain\r\n\r\nx".to_vec();
    for level in 0..10 {
        raw = cat(&[
            format!(
                "Content-Type: multipart/mixed; boundary=\"b{level}\"\r\nContent-Transfer-Encoding: 7bit\r\nContent-Transfer-Encoding: 8bit\r\nContent-Transfer-Encoding: binary\r\n\r\n--b{level}\r\nContent-Type: text/plain\r\nContent-Type: text/html\r\n\r\ny\r\n--b{level}\r\n"
            )
            .as_bytes(),
            &raw,
            format!("\r\n--b{level}--\r\n").as_bytes(),
        ]);
    }
    let ex = walk(&raw);
    assert!(ex.segments.len() < 200, "{}", ex.segments.len());
}

#[test]
fn long_and_hostile_lines_are_linear() {
    // Many boundary look-alikes, a subject full of broken encoded words, a huge header.
    let mut raw = b"Subject: ".to_vec();
    for _ in 0..20_000 {
        raw.extend_from_slice(b"=?a?B?");
    }
    raw.extend_from_slice(b"\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n");
    for _ in 0..200_000 {
        raw.extend_from_slice(b"--bx\r\n");
    }
    let start = std::time::Instant::now();
    let ex = walk(&raw);
    assert!(start.elapsed().as_secs() < 20);
    assert!(anywhere(&ex, "--bx"));
}

#[test]
fn flowed_text_is_also_scanned_joined() {
    let raw = b"Content-Type: text/plain; charset=utf-8; format=flowed; delsp=yes\r\n\r\nnumber 123456 \r\n789018 end\r\n";
    let ex = walk(raw);
    assert!(
        has(&ex, SegmentKind::Body, "body 1", "number 123456789018 end"),
        "{}",
        dump(&ex)
    );
    assert!(has(&ex, SegmentKind::Body, "body 1", "123456 \r\n789018"));
}

#[test]
fn address_headers_give_names_not_addresses() {
    let raw = b"From: \"Sales (Tokyo)\" <sales@example.jp>\r\nCc: a@example.jp, b@example.jp, c@example.jp\r\nReply-To: =?UTF-8?B?5bGx55Sw?= <y@example.jp>\r\nComments: note 1\r\n\r\nbody";
    let ex = walk(raw);
    assert!(has(
        &ex,
        SegmentKind::Header,
        "header From",
        "Sales (Tokyo)"
    ));
    assert!(has(&ex, SegmentKind::Header, "header Reply-To", "山田"));
    assert!(has(&ex, SegmentKind::Header, "header Comments", "note 1"));
    assert!(!anywhere(&ex, "@"), "{}", dump(&ex));
}

#[test]
fn a_full_width_my_number_in_an_iso_2022_jp_base64_body_is_found() {
    let text = "お世話になっております。\r\n個人番号：１２３４５６７８９０１８\r\n";
    let raw = cat(&[
        b"Subject: =?ISO-2022-JP?B?",
        b64(&enc("個人番号の件", ISO_2022_JP)).as_bytes(),
        b"?=\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=ISO-2022-JP\r\n",
        b"Content-Transfer-Encoding: base64\r\n\r\n",
        b64_body(&enc(text, ISO_2022_JP)).as_bytes(),
    ]);
    let ex = walk(&raw);
    let scanner = crate::Scanner::new(&crate::ScanConfig::default()).unwrap();
    let found: Vec<_> = ex
        .segments
        .iter()
        .flat_map(|s| {
            scanner
                .scan(&s.text)
                .into_iter()
                .map(move |f| (s.location.to_string(), s.kind, f.detector))
        })
        .collect();
    assert!(
        found.contains(&(
            "body 1".to_string(),
            SegmentKind::Body,
            crate::DetectorKind::MyNumber
        )),
        "{found:?}\n{}",
        dump(&ex)
    );
}

/// Valid messages for the property test to mutate.
fn samples() -> Vec<Vec<u8>> {
    let mut out = vec![
        nested_multiparts(3),
        b"Subject: =?ISO-2022-JP?B?GyRCOzE8dRsoQg==?=\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\npre\r\n--b\r\nContent-Type: text/html; charset=shift_jis\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n<p>=82=A0</p>\r\n--b\r\nContent-Type: message/rfc822\r\n\r\nSubject: x\r\nContent-Type: multipart/alternative; boundary=c\r\n\r\n--c\r\n\r\nin\r\n--c--\r\n--b\r\nContent-Type: application/octet-stream; name*0*=utf-8''%E5%90; name*1*=%8D.csv\r\nContent-Transfer-Encoding: base64\r\n\r\nMTIzLDQ1Ng==\r\n--b--\r\nepi\r\n".to_vec(),
        super::uuencode::encode("a.csv", b"1,2,3\n").into_bytes(),
    ];
    out.push(cat(&[
        b"Content-Type: text/plain; charset=euc-jp\r\n\r\n",
        &enc(TEXT, EUC_JP),
    ]));
    out
}

const SNIPPETS: [&[u8]; 8] = [
    b"\r\n--b\r\n",
    b"\r\n--b--\r\n",
    b"=?utf-8?B?",
    b"?=",
    b"\r\n\r\n",
    b"\nContent-Type: multipart/mixed; boundary=b\n",
    b"\nbegin 644 x\n",
    b"\x1b$B",
];

proptest! {
    #[test]
    fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = walk(&bytes);
    }

    #[test]
    fn never_panics_on_mutated_messages(
        sample in 0usize..4,
        edits in proptest::collection::vec((any::<usize>(), 0u8..4, any::<u8>()), 1..16),
    ) {
        let samples = samples();
        let mut raw = samples[sample % samples.len()].clone();
        for (at, op, byte) in edits {
            let at = if raw.is_empty() { 0 } else { at % raw.len() };
            match op {
                0 if !raw.is_empty() => raw[at] = byte,
                1 => raw.insert(at, byte),
                2 if !raw.is_empty() => { raw.remove(at); }
                _ => {
                    let snippet = SNIPPETS[usize::from(byte) % SNIPPETS.len()];
                    raw.splice(at..at, snippet.iter().copied());
                }
            }
        }
        let limits = Limits { max_parts: 50, max_depth: 4, ..Limits::default() };
        let _ = walk_with(&raw, &limits);
        let _ = walk(&raw);
    }
}

#[test]
fn data_urls_in_an_html_body_are_read_as_files() {
    let csv = b64("氏名,個人番号\n山田,123456789018\n".as_bytes());
    let raw = format!(
        "Subject: x\r\nContent-Type: text/html; charset=utf-8\r\n\r\n\
         <p>see the link</p><a href=\"data:text/csv;base64,{csv}\">list</a>\
         <img alt=\"alt 987654321\" src=\"data:image/png;base64,iVBORw0KGgo=\">\r\n"
    );
    let ex = walk(raw.as_bytes());
    assert!(anywhere(&ex, "alt 987654321"), "{}", dump(&ex));
    assert!(
        has(
            &ex,
            SegmentKind::Attachment,
            "body 1 › data: URL 1 (text/csv)",
            "123456789018"
        ),
        "{}",
        dump(&ex)
    );
    // The truncated PNG is no image: it is reported, never skipped in silence.
    assert!(
        ex.problems
            .iter()
            .any(|p| p.location.to_string().contains("data: URL 2")),
        "{:?}",
        ex.problems
    );
}

/// How many segments of `kind` hold `needle`.
fn count(ex: &Extraction, kind: SegmentKind, needle: &str) -> usize {
    ex.segments
        .iter()
        .filter(|s| s.kind == kind && s.text.contains(needle))
        .count()
}

/// Walks `raw` and checks that `needle` is in one segment of `kind`, and that one
/// ambiguity was reported when `ambiguous`, or none when not; returns the extraction.
fn once(raw: &[u8], kind: SegmentKind, needle: &str, ambiguous: bool) -> Extraction {
    let ex = walk(raw);
    let context = dump(&ex);
    let reported = problems(&ex, ProblemKind::Ambiguous).len();
    assert_eq!(reported, usize::from(ambiguous), "{context}");
    assert_eq!(count(&ex, kind, needle), 1, "{context}");
    ex
}

#[test]
fn a_file_met_again_under_another_reading_is_extracted_once() {
    // Two Content-Type fields that differ only in a parameter the split ignores: both
    // readings split the body alike, so the attachment is met twice at one place.
    let raw = cat(&[
        b"Content-Type: multipart/mixed; boundary=zz\r\n",
        b"Content-Type: multipart/mixed; boundary=zz; x-other=1\r\n\r\n",
        b"--zz\r\nContent-Type: text/csv; name=list.csv\r\nContent-Transfer-Encoding: base64\r\n\r\n",
        b64_body("氏名,番号\r\n山田,FILE-ONCE-42\r\n".as_bytes()).as_bytes(),
        b"\r\n--zz--\r\n",
    ]);
    let ex = once(&raw, SegmentKind::Attachment, "FILE-ONCE-42", true);
    assert_eq!(
        count(&ex, SegmentKind::FileName, "list.csv"),
        1,
        "{}",
        dump(&ex)
    );
    // A multipart with a transfer encoding is read decoded and as it is: with nothing to
    // decode, both readings meet the same attachment.
    let raw = cat(&[
        b"Content-Type: multipart/mixed; boundary=zz\r\n",
        b"Content-Transfer-Encoding: quoted-printable\r\n\r\n",
        b"--zz\r\nContent-Type: text/csv; name=list.csv\r\n\r\n",
        b"FILE-QP-ONCE-42\r\n--zz--\r\n",
    ]);
    once(&raw, SegmentKind::Attachment, "FILE-QP-ONCE-42", true);
    // An attachment whose bytes differ between the readings (a duplicate transfer
    // encoding) is extracted under each.
    let raw = cat(&[
        b"Content-Type: multipart/mixed; boundary=zz\r\n\r\n",
        b"--zz\r\nContent-Type: text/csv; name=list.csv\r\n",
        b"Content-Transfer-Encoding: base64\r\nContent-Transfer-Encoding: 7bit\r\n\r\n",
        b64_body("FILE-TWICE-42".as_bytes()).as_bytes(),
        b"\r\n--zz--\r\n",
    ]);
    let ex = once(&raw, SegmentKind::Attachment, "FILE-TWICE-42", true);
    let raw_form = b64("FILE-TWICE-42".as_bytes());
    assert_eq!(
        count(&ex, SegmentKind::Attachment, &raw_form),
        1,
        "{}",
        dump(&ex)
    );
}

#[test]
fn a_uuencoded_file_in_a_part_read_twice_is_extracted_once() {
    // A part whose header block has no empty line after it is read as text whole and then
    // as an entity: a uuencoded file in it is met by both readings.
    let data = "FILE-UU-ONCE-42 山田\r\n".as_bytes();
    let mut uu = String::from("begin 644 note.txt\r\n");
    for line in data.chunks(45) {
        uu.push(char::from(b' ' + line.len() as u8));
        for quantum in line.chunks(3) {
            let mut q = [0u8; 3];
            q[..quantum.len()].copy_from_slice(quantum);
            let n = u32::from(q[0]) << 16 | u32::from(q[1]) << 8 | u32::from(q[2]);
            for shift in [18, 12, 6, 0] {
                let v = (n >> shift) & 63;
                uu.push(if v == 0 {
                    '`'
                } else {
                    char::from(b' ' + v as u8)
                });
            }
        }
        uu.push_str("\r\n");
    }
    uu.push_str("`\r\nend\r\n");
    let raw = cat(&[
        b"Content-Type: multipart/mixed; boundary=zz\r\n\r\n",
        b"--zz\r\nContent-Type: text/plain\r\n",
        uu.as_bytes(),
        b"--zz--\r\n",
    ]);
    let ex = walk(&raw);
    let context = dump(&ex);
    assert!(anywhere(&ex, "FILE-UU-ONCE-42"), "{context}");
    assert_eq!(
        count(&ex, SegmentKind::Attachment, "FILE-UU-ONCE-42"),
        1,
        "{context}"
    );
}

#[test]
fn a_body_met_again_under_another_reading_is_collected_once() {
    // Both readings of the type decode the body alike: one segment.
    let raw = cat(&[
        b"Content-Type: text/plain; charset=utf-8\r\n",
        b"Content-Type: text/plain; charset=utf-8; x-other=1\r\n\r\n",
        "BODY-ONCE-42 本文\r\n".as_bytes(),
    ]);
    once(&raw, SegmentKind::Body, "BODY-ONCE-42", true);
    // A part of an encoded multipart with nothing to decode: read decoded and as it is,
    // the same body at the same place.
    let raw = cat(&[
        b"Content-Type: multipart/mixed; boundary=zz\r\n",
        b"Content-Transfer-Encoding: quoted-printable\r\n\r\n",
        b"--zz\r\nContent-Type: text/plain\r\n\r\nBODY-QP-ONCE-42\r\n--zz--\r\n",
    ]);
    once(&raw, SegmentKind::Body, "BODY-QP-ONCE-42", true);
}
