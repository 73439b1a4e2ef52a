//! Payment card detection through the scanner.

mod common;

use common::*;
use mamori_dlp::{Confidence, DetectorKind::CreditCard};

#[test]
fn test_numbers_of_every_issuer_are_found_in_every_form() {
    for n in [
        "4111111111111111",
        "4222222222222",
        "5555555555554444",
        "2223003122003222",
        "3530111333300000",
        "6011111111111117",
        "6200000000000005",
        "6445644564456445",
        "6500000000000002",
    ] {
        let forms = [
            n.to_owned(),
            grouped(n, &[4, 4, 4, 4], " "),
            grouped(n, &[4, 4, 4, 4], "-"),
            grouped(n, &[4, 4, 4, 4], "\n"),
            grouped(n, &[4, 4, 4, 4], "－"),
            full_width(&grouped(n, &[4, 4, 4, 4], " ")),
        ];
        for form in forms {
            assert_eq!(
                found_digits(&format!("カード:{form}。"), CreditCard),
                vec![n.to_owned()],
                "{form:?}"
            );
        }
    }
}

#[test]
fn amex_and_diners_groupings() {
    let amex = "378282246310005";
    for form in [
        grouped(amex, &[4, 6, 5], " "),
        grouped(amex, &[4, 6, 5], "-"),
        amex.to_owned(),
    ] {
        assert_eq!(
            found_digits(&form, CreditCard),
            vec![amex.to_owned()],
            "{form}"
        );
    }
    let diners = "30569309025904";
    for form in [grouped(diners, &[4, 6, 4], " "), diners.to_owned()] {
        assert_eq!(
            found_digits(&form, CreditCard),
            vec![diners.to_owned()],
            "{form}"
        );
    }
    // Amex in groups of four is still found (4-4-4-3).
    assert_eq!(
        found_digits(&grouped(amex, &[4, 4, 4, 3], " "), CreditCard).len(),
        1
    );
}

#[test]
fn nineteen_digit_cards() {
    let n = luhn("621234567890123456");
    assert_eq!(
        found_digits(&grouped(&n, &[4, 4, 4, 4, 3], " "), CreditCard),
        vec![n]
    );
}

#[test]
fn a_keyword_raises_confidence() {
    let plain = found("4111 1111 1111 1111", CreditCard);
    assert_eq!(plain[0].confidence, Confidence::Medium);
    let with_keyword = found("カード番号：4111-1111-1111-1111", CreditCard);
    assert_eq!(with_keyword[0].confidence, Confidence::High);
    assert_eq!(with_keyword[0].masked, "4111-****-****-**11");
    let english = found("Card number 4111111111111111 exp 12/30", CreditCard);
    assert_eq!(english[0].confidence, Confidence::High);
}

#[test]
fn luhn_failures_and_unknown_issuers_are_not_findings() {
    for text in [
        "4111 1111 1111 1112",
        "1111 1111 1111 1117", // Luhn-valid, no issuer
        &luhn("999999999999999"),
        &luhn("34000000000000000"), // Amex prefix, wrong length
    ] {
        assert!(found(text, CreditCard).is_empty(), "{text}");
    }
}

#[test]
fn cards_inside_longer_runs_are_not_findings() {
    for text in [
        "94111111111111111".to_owned(),
        "41111111111111110000".to_owned(),
        "4111 1111 1111 1111 1111".to_owned(),
        "4111-1111-1111-1111-0".to_owned(),
        "4111111111111111".repeat(12),
    ] {
        assert!(found(&text, CreditCard).is_empty(), "{text}");
    }
}

#[test]
fn wrong_groupings_are_not_findings() {
    for text in [
        "41 1111 1111 1111 11",
        "411-111-111-111-1111",
        "4111 1111 1111 11 11",
    ] {
        assert!(found(text, CreditCard).is_empty(), "{text}");
    }
}
