//! The administrator's dictionary through the scanner: matching, masking, rejection of bad
//! rules, and a hundred rules at once.

mod common;

use mamori_dlp::{
    Confidence, CustomRule, DetectorKind, DictionaryError, RuleError, RuleKind, ScanConfig, Scanner,
};

fn rule(name: &str, kind: RuleKind, pattern: &str) -> CustomRule {
    CustomRule {
        name: name.to_owned(),
        kind,
        pattern: pattern.to_owned(),
        confidence: Confidence::Medium,
        spaced: None,
    }
}

fn scanner(rules: Vec<CustomRule>) -> Result<Scanner, DictionaryError> {
    let mut config = ScanConfig::default();
    config.custom.rules = rules;
    Scanner::new(&config)
}

#[test]
fn findings_show_the_rule_name_not_the_text() {
    let scanner = scanner(vec![
        rule("社外秘", RuleKind::Keyword, "社外秘"),
        rule("project", RuleKind::Wildcard, "プロジェクト?-*計画"),
        rule("employee", RuleKind::Regex, r"EMP-\d{6}"),
    ])
    .unwrap();
    let text = "【社外秘】プロジェクトＸ－新規計画について\n担当 ＥＭＰ－１２３４５６";
    let findings: Vec<_> = scanner
        .scan(text)
        .into_iter()
        .filter(|f| matches!(f.detector, DetectorKind::Custom { .. }))
        .collect();
    let seen: Vec<_> = findings
        .iter()
        .map(|f| (f.detector, f.masked.as_str(), f.line))
        .collect();
    assert_eq!(
        seen,
        vec![
            (DetectorKind::Custom { rule: 0 }, "社外秘", 1),
            (DetectorKind::Custom { rule: 1 }, "project", 1),
            (DetectorKind::Custom { rule: 2 }, "employee", 2),
        ]
    );
}

#[test]
fn a_bad_rule_is_rejected_naming_it() {
    let err = scanner(vec![
        rule("fine", RuleKind::Keyword, "x"),
        rule("broken", RuleKind::Regex, "[a-"),
    ])
    .unwrap_err();
    match &err {
        DictionaryError::Rule {
            index,
            name,
            pattern,
            reason,
        } => {
            assert_eq!(*index, 1);
            assert_eq!(name, "broken");
            assert_eq!(pattern, "[a-");
            assert!(matches!(reason, RuleError::InvalidRegex { .. }));
        }
        other => panic!("unexpected {other}"),
    }
    let message = err.to_string();
    assert!(
        message.contains("rules[1]") && message.contains("broken") && message.contains("[a-"),
        "{message}"
    );

    let too_big =
        scanner(vec![rule("huge", RuleKind::Regex, r"(\w+\s+){500}\w{500}")]).unwrap_err();
    assert!(
        matches!(
            too_big,
            DictionaryError::Rule {
                reason: RuleError::TooBig { .. },
                ..
            }
        ),
        "{too_big}"
    );
    let empty = scanner(vec![rule("nothing", RuleKind::Wildcard, "")]).unwrap_err();
    assert!(matches!(
        empty,
        DictionaryError::Rule {
            reason: RuleError::Empty,
            ..
        }
    ));
}

#[test]
fn a_smaller_size_limit_is_honoured() {
    let mut config = ScanConfig::default();
    config.custom.rules = vec![rule("ids", RuleKind::Regex, r"[A-Z]{3}-\d{1,50}")];
    config.custom.regex_size_limit = 1_000;
    assert!(matches!(
        Scanner::new(&config),
        Err(DictionaryError::Rule {
            reason: RuleError::TooBig { .. },
            ..
        })
    ));
    config.custom.regex_size_limit = 1 << 20;
    assert!(Scanner::new(&config).is_ok());
}

#[test]
fn a_hundred_rules_of_every_kind_all_work() {
    let mut rules = Vec::new();
    for i in 0..34 {
        rules.push(rule(
            &format!("kw{i}"),
            RuleKind::Keyword,
            &format!("極秘案件{i:02}号"),
        ));
        rules.push(rule(
            &format!("wc{i}"),
            RuleKind::Wildcard,
            &format!("ORDER-{i:02}-*-JP"),
        ));
        rules.push(rule(
            &format!("re{i}"),
            RuleKind::Regex,
            &format!(r"\bCUST{i:02}-\d{{4}}\b"),
        ));
    }
    rules.truncate(100);
    let scanner = scanner(rules).unwrap();
    let text = "極秘案件07号 order-12-abc-jp CUST32-9999 CUST32-99999 CUST33-1234 無関係な本文";
    let mut names: Vec<_> = scanner
        .scan(text)
        .into_iter()
        .filter(|f| matches!(f.detector, DetectorKind::Custom { .. }))
        .map(|f| f.masked)
        .collect();
    names.sort();
    assert_eq!(names, vec!["kw7", "re32", "wc12"]);
}

#[test]
fn custom_rules_can_be_switched_off() {
    let mut config = ScanConfig::default();
    config.custom.rules = vec![rule("x", RuleKind::Keyword, "secret")];
    config.custom.enabled = false;
    assert!(Scanner::new(&config).unwrap().scan("secret").is_empty());
}
