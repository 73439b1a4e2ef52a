//! My Number (個人番号) detection through the scanner: every written form, wrong check
//! digits, long digit runs, and numbers embedded in Japanese text.

mod common;

use common::*;
use mamori_dlp::{Confidence, DetectorKind::MyNumber};

fn valid() -> String {
    my_number("12345678901")
}

#[test]
fn the_reference_number_is_valid() {
    // Computed by hand in the unit tests; the helper must agree.
    assert_eq!(valid(), "123456789018");
}

#[test]
fn every_separator_form_is_found() {
    let n = valid();
    let forms = [
        n.clone(),
        grouped(&n, &[4, 4, 4], " "),
        grouped(&n, &[4, 4, 4], "  "),
        grouped(&n, &[4, 4, 4], "\t"),
        grouped(&n, &[4, 4, 4], "-"),
        grouped(&n, &[4, 4, 4], "－"),
        grouped(&n, &[4, 4, 4], "‐"),
        grouped(&n, &[4, 4, 4], "−"),
        grouped(&n, &[4, 4, 4], "—"),
        grouped(&n, &[4, 4, 4], "ー"),
        grouped(&n, &[4, 4, 4], "\u{3000}"),
        grouped(&n, &[4, 4, 4], "\n"),
        grouped(&n, &[4, 4, 4], "\r\n"),
        grouped(&n, &[4, 4, 4], " \n  "),
        format!("{} {}\n{}", &n[..4], &n[4..8], &n[8..]),
        format!("{}-{}\n{}", &n[..4], &n[4..8], &n[8..]),
        format!("{}\n{}", &n[..8], &n[8..]),
        full_width(&n),
        full_width(&grouped(&n, &[4, 4, 4], "-")),
        full_width(&grouped(&n, &[4, 4, 4], " ")),
    ];
    for form in forms {
        let text = format!("番号：{form}。");
        assert_eq!(found_digits(&text, MyNumber), vec![n.clone()], "{form:?}");
    }
}

#[test]
fn full_width_with_full_width_hyphens_as_people_type_it() {
    // １２３４－５６７８－９０１８
    let text = "１２３４－５６７８－９０１８";
    assert_eq!(found_digits(text, MyNumber), vec![valid()]);
}

#[test]
fn embedded_in_japanese_with_a_keyword_is_high() {
    let n = valid();
    let text = format!("私のマイナンバーは{}です", grouped(&n, &[4, 4, 4], " "));
    let findings = found(&text, MyNumber);
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].confidence, Confidence::High);
    assert_eq!(findings[0].masked, "1234 **** **18");
    assert_eq!(
        &mamori_dlp::normalize(&text).as_str()[findings[0].span.clone()],
        "1234 5678 9018"
    );
}

#[test]
fn without_a_keyword_it_is_medium() {
    let findings = found(&format!("参考: {}", valid()), MyNumber);
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].confidence, Confidence::Medium);
}

#[test]
fn a_keyword_too_far_away_does_not_raise() {
    let far = "あ".repeat(41);
    let findings = found(&format!("マイナンバー{far}{}", valid()), MyNumber);
    assert_eq!(findings[0].confidence, Confidence::Medium);
    let near = "あ".repeat(40);
    let findings = found(&format!("{}{near}個人番号", valid()), MyNumber);
    assert_eq!(findings[0].confidence, Confidence::High);
}

#[test]
fn every_wrong_check_digit_is_not_a_finding() {
    let n = valid();
    for wrong in 0..10 {
        let candidate = format!("{}{wrong}", &n[..11]);
        let expected = usize::from(candidate == n);
        for form in [
            candidate.clone(),
            grouped(&candidate, &[4, 4, 4], "-"),
            full_width(&candidate),
        ] {
            assert_eq!(found(&form, MyNumber).len(), expected, "{form}");
        }
    }
}

#[test]
fn windows_inside_longer_runs_are_not_findings() {
    let n = valid();
    for text in [
        format!("1{n}"),
        format!("{n}0"),
        format!("99{n}99"),
        format!("{n}-1"),
        format!("1-{n}"),
        format!("{}-3456", grouped(&n, &[4, 4, 4], "-")),
        format!("0000-{}", grouped(&n, &[4, 4, 4], "-")),
        format!("{} 3456", grouped(&n, &[4, 4, 4], " ")),
        format!("ID{n}"),
        format!("{n}abc"),
        format!("3.{n}"),
        format!("{n}.5"),
    ] {
        assert!(found(&text, MyNumber).is_empty(), "{text}");
    }
}

#[test]
fn wrong_groupings_and_mixed_separators_are_not_findings() {
    let n = valid();
    for text in [
        grouped(&n, &[3, 3, 3, 3], "-"),
        grouped(&n, &[2, 4, 4, 2], " "),
        format!("{}-{} {}", &n[..4], &n[4..8], &n[8..]),
        grouped(&n, &[4, 4, 4], "\n\n"),
        grouped(&n, &[4, 4, 4], "    "),
        grouped(&n, &[4, 4, 4], "--"),
        grouped(&n, &[4, 4, 4], "/"),
    ] {
        assert!(found(&text, MyNumber).is_empty(), "{text:?}");
    }
}

#[test]
fn a_thirty_digit_tracking_code_holding_valid_windows_gives_nothing() {
    // Build a 30-digit run in which several 12-digit windows are valid My Numbers.
    let mut run = String::new();
    while run.len() < 30 {
        run.push_str(&my_number(&format!("{:011}", run.len() * 7_654_321)));
    }
    run.truncate(30);
    assert!(scanner().scan(&format!("追跡番号 {run}")).is_empty());
}

#[test]
fn a_two_hundred_digit_run_gives_no_findings() {
    let run: String = (0..200)
        .map(|i| char::from(b'0' + (i * 7 % 10) as u8))
        .collect();
    assert!(scanner().scan(&run).is_empty());
    let valid_repeated = valid().repeat(17);
    assert!(scanner().scan(&valid_repeated).is_empty());
}

#[test]
fn a_long_hyphenated_chain_gives_no_my_numbers() {
    let chain = std::iter::repeat_n(valid(), 10)
        .map(|n| grouped(&n, &[4, 4, 4], "-"))
        .collect::<Vec<_>>()
        .join("-");
    assert!(found(&chain, MyNumber).is_empty());
}

#[test]
fn a_list_of_numbers_gives_one_finding_each() {
    let numbers: Vec<String> = (0..50)
        .map(|i| my_number(&format!("{:011}", 10_000_000_000u64 + i * 97)))
        .collect();
    for sep in [", ", "\n", "、", " / "] {
        let text = numbers.join(sep);
        assert_eq!(found_digits(&text, MyNumber), numbers, "{sep:?}");
    }
    let grouped_lines = numbers
        .iter()
        .map(|n| grouped(n, &[4, 4, 4], " "))
        .collect::<Vec<_>>()
        .join("\n");
    assert_eq!(found_digits(&grouped_lines, MyNumber), numbers);
}

#[test]
fn a_table_cell_wrapped_over_lines_is_found_with_its_line_number() {
    let n = valid();
    let text = format!(
        "氏名 | 山田太郎\n個人番号 | {}\n{}\n{}\n2024年4月1日",
        &n[..4],
        &n[4..8],
        &n[8..]
    );
    let findings = found(&text, MyNumber);
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].line, 2);
    assert_eq!(findings[0].confidence, Confidence::High);
    assert_eq!(findings[0].masked, "1234 **** **18");
}

#[test]
fn the_all_zero_placeholder_is_not_a_finding() {
    assert!(found("個人番号：0000-0000-0000", MyNumber).is_empty());
}
