//! Context keywords raising the confidence of numeric findings, through the scanner.

mod common;

use common::*;
use mamori_dlp::{Confidence, DetectorKind, ScanConfig, Scanner};

#[test]
fn each_builtin_keyword_raises_its_detector() {
    let mn = my_number("98765432109");
    for keyword in [
        "マイナンバー",
        "個人番号",
        "My Number",
        "MY NUMBER",
        "ﾏｲﾅﾝﾊﾞｰ",
        "住所",
        "生年月日",
        "口座番号",
        "account number",
    ] {
        for text in [format!("{keyword}：{mn}"), format!("{mn}（{keyword}）")] {
            let findings = found(&text, DetectorKind::MyNumber);
            assert_eq!(findings[0].confidence, Confidence::High, "{text}");
        }
    }
    for keyword in ["カード番号", "card number", "クレジットカード"] {
        let findings = found(
            &format!("{keyword} 4111111111111111"),
            DetectorKind::CreditCard,
        );
        assert_eq!(findings[0].confidence, Confidence::High, "{keyword}");
    }
    let findings = found("法人番号 7000012050002", DetectorKind::CorporateNumber);
    assert_eq!(findings[0].confidence, Confidence::High);
}

#[test]
fn a_keyword_of_another_detector_does_not_raise() {
    let mn = my_number("98765432109");
    let findings = found(&format!("法人番号ではなく {mn}"), DetectorKind::MyNumber);
    assert_eq!(findings[0].confidence, Confidence::Medium);
}

#[test]
fn window_and_extra_keywords_are_configurable() {
    let mn = my_number("98765432109");
    let config: ScanConfig =
        toml::from_str("[context]\nwindow_chars = 5\nextra_keywords = [\"会員番号\"]").unwrap();
    let scanner = Scanner::new(&config).unwrap();
    let confidence = |text: &str| {
        scanner
            .scan(text)
            .into_iter()
            .find(|f| f.detector == DetectorKind::MyNumber)
            .unwrap()
            .confidence
    };
    assert_eq!(confidence(&format!("会員番号 {mn}")), Confidence::High);
    assert_eq!(
        confidence(&format!("マイナンバー あいうえおか{mn}")),
        Confidence::Medium
    );
    assert_eq!(
        confidence(&format!("マイナンバー あいう{mn}")),
        Confidence::High
    );
}

#[test]
fn context_can_be_switched_off() {
    let config: ScanConfig = toml::from_str("[context]\nenabled = false").unwrap();
    let scanner = Scanner::new(&config).unwrap();
    let findings = scanner.scan(&format!("マイナンバー {}", my_number("98765432109")));
    assert_eq!(findings[0].confidence, Confidence::Medium);
}
