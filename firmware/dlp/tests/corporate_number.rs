//! Corporate number (法人番号) detection through the scanner.

mod common;

use common::*;
use mamori_dlp::{Confidence, DetectorKind::CorporateNumber};

#[test]
fn a_published_number_is_found() {
    // 国税庁's own corporate number.
    let findings = found("国税庁の法人番号は7000012050002です。", CorporateNumber);
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].confidence, Confidence::High);
    assert_eq!(findings[0].masked, "7000*******02");
}

#[test]
fn every_separator_form_is_found() {
    let n = corporate_number("234567890123");
    assert_eq!(n, "9234567890123");
    let forms = [
        n.clone(),
        grouped(&n, &[1, 4, 4, 4], "-"),
        grouped(&n, &[1, 4, 4, 4], " "),
        grouped(&n, &[4, 4, 4, 1], "-"),
        grouped(&n, &[1, 4, 4, 4], "\n"),
        grouped(&n, &[1, 12], "\n"),
        full_width(&n),
        full_width(&grouped(&n, &[1, 4, 4, 4], "-")),
        grouped(&n, &[1, 4, 4, 4], "ー"),
    ];
    for form in forms {
        assert_eq!(
            found_digits(&format!("取引先 {form} 様"), CorporateNumber),
            vec![n.clone()],
            "{form:?}"
        );
    }
}

#[test]
fn a_wrong_check_digit_is_not_a_finding() {
    let n = corporate_number("123456789012");
    for wrong in 0..10 {
        let candidate = format!("{wrong}{}", &n[1..]);
        let expected = usize::from(candidate == n);
        assert_eq!(
            found(&candidate, CorporateNumber).len(),
            expected,
            "{candidate}"
        );
        assert_eq!(
            found(&full_width(&candidate), CorporateNumber).len(),
            expected,
            "{candidate}"
        );
    }
}

#[test]
fn windows_inside_longer_runs_are_not_findings() {
    let n = corporate_number("234567890123");
    for text in [
        format!("1{n}"),
        format!("{n}1"),
        format!("{n}-12"),
        format!("T{n}"),
        "9".repeat(200),
    ] {
        assert!(found(&text, CorporateNumber).is_empty(), "{text}");
    }
}

#[test]
fn wrong_groupings_are_not_findings() {
    let n = corporate_number("234567890123");
    for text in [
        grouped(&n, &[3, 4, 3, 3], "-"),
        grouped(&n, &[2, 4, 4, 3], " "),
    ] {
        assert!(found(&text, CorporateNumber).is_empty(), "{text}");
    }
}

#[test]
fn an_invoice_registration_number_is_a_corporate_number_in_disguise() {
    // 適格請求書発行事業者登録番号: "T" + the corporate number. The letter is glued to the
    // digits, so it is not reported as a bare corporate number (it is public information).
    assert!(found("登録番号 T7000012050002", CorporateNumber).is_empty());
}
