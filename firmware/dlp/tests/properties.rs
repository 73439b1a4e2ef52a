//! Property tests: numbers generated with the check-digit algorithms, written in random
//! ways, are found; with their check digit flipped they are not; masks never show more than
//! six digits; any text at all scans without panicking into sane, bounded findings.

mod common;

use common::*;
use mamori_dlp::{DetectorKind, Finding};
use proptest::prelude::*;

/// Text around the number that must not glue itself to it.
const PREFIXES: &[&str] = &[
    "",
    "私のマイナンバーは",
    "番号：",
    "連絡先 ",
    "(",
    "「",
    "No. ",
    "顧客ID\n",
    "金額 1,000円 ",
];
const SUFFIXES: &[&str] = &["", "です", "。", ")", "」", "\n", " 様", "\n2024年"];
/// Separators between groups (all folded by normalisation to '-', ' ' or a line break).
const SEPARATORS: &[&str] = &[
    " ", "  ", "-", "－", "‐", "‑", "‒", "–", "—", "―", "−", "ー", "\u{3000}",
];
const LINE_BREAKS: &[&str] = &["\n", "\r\n", " \n", "\n  "];

/// How to write a number: its groups, one separator (or none), which boundaries become line
/// breaks instead, and whether it is written in full width.
#[derive(Clone, Debug)]
struct Style {
    separated: bool,
    sep: &'static str,
    breaks: Vec<Option<&'static str>>,
    wide: bool,
    prefix: &'static str,
    suffix: &'static str,
}

fn style() -> impl Strategy<Value = Style> {
    (
        any::<bool>(),
        proptest::sample::select(SEPARATORS),
        proptest::collection::vec(
            proptest::option::weighted(0.25, proptest::sample::select(LINE_BREAKS)),
            5,
        ),
        any::<bool>(),
        proptest::sample::select(PREFIXES),
        proptest::sample::select(SUFFIXES),
    )
        .prop_map(|(separated, sep, breaks, wide, prefix, suffix)| Style {
            separated,
            sep,
            breaks,
            wide,
            prefix,
            suffix,
        })
}

/// Writes `digits` split by `layout` in `style`, inside its prefix and suffix.
fn write(digits: &str, layout: &[usize], style: &Style) -> String {
    let mut out = String::new();
    let mut at = 0;
    for (i, len) in layout.iter().enumerate() {
        let group = &digits[at..at + len];
        out.push_str(&if style.wide {
            full_width(group)
        } else {
            group.to_owned()
        });
        at += len;
        if i + 1 < layout.len() {
            match style.breaks.get(i).copied().flatten() {
                Some(line_break) => out.push_str(line_break),
                None if style.separated => out.push_str(style.sep),
                None => {}
            }
        }
    }
    format!("{}{out}{}", style.prefix, style.suffix)
}

fn digit_string(len: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(0u8..10, len)
        .prop_map(|d| d.into_iter().map(|d| char::from(b'0' + d)).collect())
}

/// A valid card number and how it is grouped.
fn card() -> impl Strategy<Value = (String, Vec<usize>)> {
    let issuers: Vec<(String, Vec<usize>)> = vec![
        ("4".into(), vec![13, 16, 19]),
        ("51".into(), vec![16]),
        ("55".into(), vec![16]),
        ("2221".into(), vec![16]),
        ("2720".into(), vec![16]),
        ("34".into(), vec![15]),
        ("37".into(), vec![15]),
        ("3528".into(), vec![16, 19]),
        ("3589".into(), vec![16, 17, 18, 19]),
        ("300".into(), vec![14, 16]),
        ("305".into(), vec![14, 19]),
        ("36".into(), vec![14]),
        ("38".into(), vec![16]),
        ("6011".into(), vec![16, 19]),
        ("644".into(), vec![16]),
        ("649".into(), vec![16]),
        ("65".into(), vec![16, 19]),
        ("62".into(), vec![16, 17, 18, 19]),
    ];
    proptest::sample::select(issuers)
        .prop_flat_map(|(prefix, lengths)| (Just(prefix), proptest::sample::select(lengths)))
        .prop_flat_map(|(prefix, len)| {
            let rest = len - prefix.len() - 1;
            (Just(prefix), digit_string(rest))
        })
        .prop_map(|(prefix, rest)| {
            let number = luhn(&format!("{prefix}{rest}"));
            let layout = match (number.len(), number.as_bytes()[..2].to_vec().as_slice()) {
                (15, b"34" | b"37") => vec![4, 6, 5],
                (14, _) => vec![4, 6, 4],
                (len, _) => {
                    let mut layout = vec![4; len / 4];
                    if len % 4 != 0 {
                        layout.push(len % 4);
                    }
                    layout
                }
            };
            (number, layout)
        })
}

/// The digits under each finding of `kind`.
fn digits_found(text: &str, kind: DetectorKind) -> Vec<String> {
    found_digits(text, kind)
}

fn assert_masks_are_safe(findings: &[Finding]) {
    for finding in findings.iter().filter(|f| f.detector.is_numeric()) {
        let shown = finding.masked.bytes().filter(u8::is_ascii_digit).count();
        assert!(shown <= 6, "{finding:?}");
        assert!(!finding.masked.contains('\n'), "{finding:?}");
    }
}

proptest! {
    #[test]
    fn valid_my_numbers_are_found(payload in digit_string(11), style in style()) {
        prop_assume!(payload != "00000000000");
        let number = my_number(&payload);
        let text = write(&number, &[4, 4, 4], &style);
        prop_assert_eq!(digits_found(&text, DetectorKind::MyNumber), vec![number], "{:?}", text);
        assert_masks_are_safe(&scanner().scan(&text));
    }

    #[test]
    fn my_numbers_with_a_flipped_check_digit_are_not(payload in digit_string(11), style in style()) {
        let number = flip_digit(&my_number(&payload), 11);
        let text = write(&number, &[4, 4, 4], &style);
        prop_assert!(digits_found(&text, DetectorKind::MyNumber).is_empty(), "{:?}", text);
    }

    #[test]
    fn valid_corporate_numbers_are_found(payload in digit_string(12), style in style(), trailing in any::<bool>()) {
        let number = corporate_number(&payload);
        let layout: &[usize] = if trailing { &[4, 4, 4, 1] } else { &[1, 4, 4, 4] };
        let text = write(&number, layout, &style);
        prop_assert_eq!(digits_found(&text, DetectorKind::CorporateNumber), vec![number], "{:?}", text);
        assert_masks_are_safe(&scanner().scan(&text));
    }

    #[test]
    fn corporate_numbers_with_a_flipped_check_digit_are_not(payload in digit_string(12), style in style()) {
        let number = flip_digit(&corporate_number(&payload), 0);
        let text = write(&number, &[1, 4, 4, 4], &style);
        prop_assert!(digits_found(&text, DetectorKind::CorporateNumber).is_empty(), "{:?}", text);
    }

    #[test]
    fn valid_card_numbers_are_found((number, layout) in card(), style in style()) {
        let text = write(&number, &layout, &style);
        prop_assert_eq!(digits_found(&text, DetectorKind::CreditCard), vec![number], "{:?}", text);
        assert_masks_are_safe(&scanner().scan(&text));
    }

    #[test]
    fn card_numbers_with_a_flipped_check_digit_are_not((number, layout) in card(), style in style()) {
        let number = flip_digit(&number, number.len() - 1);
        let text = write(&number, &layout, &style);
        // Cards vary in length: a 17-digit number wrapped as `3589-2120-5101-3237` + line
        // break + `0` may hold a 16-digit prefix that is itself a valid card, and reporting
        // that is right. What must never be reported is the invalid number itself.
        prop_assert!(!digits_found(&text, DetectorKind::CreditCard).contains(&number), "{:?}", text);
        if !style.breaks.iter().any(Option::is_some) {
            prop_assert!(digits_found(&text, DetectorKind::CreditCard).is_empty(), "{:?}", text);
        }
    }

    #[test]
    fn any_text_scans_into_sane_bounded_findings(text in "(\\PC|[0-9０-９ \\-－ー\n()+@a-z.]){0,300}") {
        let normalized = mamori_dlp::normalize(&text);
        let findings = scanner().scan_normalized(&normalized);
        let n = normalized.as_str();
        let digit_groups = n.as_bytes().split(|b| !b.is_ascii_digit()).filter(|g| !g.is_empty()).count();
        for kind in [DetectorKind::MyNumber, DetectorKind::CorporateNumber, DetectorKind::CreditCard, DetectorKind::Phone] {
            let of_kind: Vec<_> = findings.iter().filter(|f| f.detector == kind).collect();
            prop_assert!(of_kind.len() <= digit_groups);
            for pair in of_kind.windows(2) {
                prop_assert!(pair[0].span.end <= pair[1].span.start, "overlap {:?}", pair);
            }
        }
        for finding in &findings {
            prop_assert!(n.get(finding.span.clone()).is_some(), "{:?}", finding);
            prop_assert!(finding.line >= 1 && finding.line <= normalized.line_count());
        }
        assert_masks_are_safe(&findings);
    }

    #[test]
    fn digit_soup_never_reveals_more_than_six_digits(
        groups in proptest::collection::vec((digit_string(4), proptest::sample::select(&[" ", "-", "\n", "", "、"][..])), 1..40)
    ) {
        let text: String = groups.into_iter().map(|(d, s)| format!("{d}{s}")).collect();
        assert_masks_are_safe(&scanner().scan(&text));
    }
}
