//! E-mail address list detection through the scanner.

mod common;

use common::*;
use mamori_dlp::{DetectorKind::EmailList, ScanConfig, Scanner};

fn list(n: usize) -> String {
    (0..n)
        .map(|i| format!("{i:03} 山田様 <user{i}@example.co.jp>"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn twenty_distinct_addresses_are_a_list() {
    let findings = found(&list(20), EmailList);
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].masked, "20 distinct e-mail addresses");
    assert_eq!(findings[0].line, 1);
    assert!(found(&list(19), EmailList).is_empty());
}

#[test]
fn repeated_addresses_count_once() {
    let text = format!("{}\n{}", list(19), list(19).to_uppercase());
    assert!(found(&text, EmailList).is_empty());
}

#[test]
fn full_width_addresses_count() {
    let text = (0..20)
        .map(|i| full_width(&format!("a{i}@example.jp")))
        .collect::<Vec<_>>()
        .join("、");
    assert_eq!(found(&text, EmailList).len(), 1);
}

#[test]
fn the_threshold_is_configurable() {
    let config: ScanConfig = toml::from_str("[email_list]\nmin_distinct = 3").unwrap();
    let scanner = Scanner::new(&config).unwrap();
    let findings: Vec<_> = scanner
        .scan(&list(3))
        .into_iter()
        .filter(|f| f.detector == EmailList)
        .collect();
    assert_eq!(findings.len(), 1);
    assert!(
        scanner
            .scan(&list(2))
            .iter()
            .all(|f| f.detector != EmailList)
    );
}
