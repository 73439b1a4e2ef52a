//! Japanese phone number detection through the scanner.

mod common;

use common::*;
use mamori_dlp::{Confidence, DetectorKind::Phone};

fn found_spans(text: &str) -> Vec<String> {
    let normalized = mamori_dlp::normalize(text);
    scanner()
        .scan_normalized(&normalized)
        .into_iter()
        .filter(|f| f.detector == Phone)
        .map(|f| normalized.as_str()[f.span].to_owned())
        .collect()
}

#[test]
fn every_written_form_is_found_in_japanese_text() {
    for written in [
        "03-1234-5678",
        "03 1234 5678",
        "0312345678",
        "03(1234)5678",
        "(03)1234-5678",
        "045-123-4567",
        "0123-45-6789",
        "01267-2-3456",
        "090-1234-5678",
        "080 1234 5678",
        "07012345678",
        "050-1234-5678",
        "0120-123-456",
        "0800-123-4567",
        "0570-123-456",
        "+81-3-1234-5678",
        "+81 90 1234 5678",
        "+81 (0)3-1234-5678",
        "+81312345678",
    ] {
        let text = format!("お問い合わせは{written}まで");
        assert_eq!(found_spans(&text), vec![written.to_owned()], "{written}");
    }
}

#[test]
fn full_width_and_japanese_dashes_are_found() {
    for (written, normal) in [
        ("０３－１２３４－５６７８", "03-1234-5678"),
        ("０９０ー１２３４ー５６７８", "090-1234-5678"),
        ("03−1234−5678", "03-1234-5678"),
        ("０３（１２３４）５６７８", "03(1234)5678"),
        ("＋８１　９０　１２３４　５６７８", "+81 90 1234 5678"),
    ] {
        assert_eq!(found_spans(written), vec![normal.to_owned()], "{written}");
    }
}

#[test]
fn low_without_a_keyword_medium_with_one() {
    let plain = found("03-1234-5678", Phone);
    assert_eq!(plain[0].confidence, Confidence::Low);
    let with_keyword = found("電話番号：03-1234-5678", Phone);
    assert_eq!(with_keyword[0].confidence, Confidence::Medium);
    assert_eq!(with_keyword[0].masked, "03-12**-**78");
    let mobile = found("携帯 090-1234-5678", Phone);
    assert_eq!(mobile[0].confidence, Confidence::Medium);
    assert_eq!(mobile[0].masked, "090-1***-**78");
}

#[test]
fn numbers_inside_longer_runs_are_not_phones() {
    for text in [
        "031234567890",
        "0312345678901234",
        "1-03-1234-5678",
        "03-1234-5678-9",
        "03-1234-5678-1234",
        "090 1234 5678 9",
        "ABC0312345678",
        "0312345678X",
        "1.0312345678",
    ] {
        assert!(found_spans(text).is_empty(), "{text}");
    }
    let run = "0".to_owned() + &"3".repeat(199);
    assert!(scanner().scan(&run).is_empty());
}

#[test]
fn two_phones_side_by_side_are_two_findings() {
    assert_eq!(
        found_spans("TEL 03-1234-5678 FAX 03-1234-5679 携帯 090-1234-5678 / 090-8765-4321"),
        vec![
            "03-1234-5678",
            "03-1234-5679",
            "090-1234-5678",
            "090-8765-4321"
        ]
    );
    assert_eq!(
        found_spans("03-1234-5678 090-1234-5678"),
        vec!["03-1234-5678", "090-1234-5678"]
    );
}

#[test]
fn not_japanese_numbers() {
    for text in [
        "+1 212 555 1234",
        "+44 20 7946 0958",
        "00-1234-5678",
        "090-123-4567",
        "3-1234-5678",
        "1234-5678",
    ] {
        assert!(found_spans(text).is_empty(), "{text}");
    }
}
