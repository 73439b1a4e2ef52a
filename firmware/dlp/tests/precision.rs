//! Precision and recall of My Number and card detection, measured on generated mail through
//! the whole gateway path (MIME walk, extraction, scanner, default policy, a recipient
//! outside the office).
//!
//! A random 12-digit number passes the My Number check digit one time in ten, and business
//! mail is full of 12-digit order, invoice, reservation, membership and tracking numbers; a
//! random 16-digit number with an issuer prefix passes Luhn one time in ten. The check digit
//! alone cannot tell them from personal data; context must (a column header over the cells
//! below it, a label before the number, a negative label such as 注文番号, a tracking
//! number's own check digit, evidence across the message). These tests hold the detectors
//! and the default policy to both sides:
//!
//! - business mail whose every 12-digit number passes the check digit by chance (and every
//!   16-digit one passes Luhn with a real issuer prefix) is held at most once in a hundred;
//! - an employee list is held in every form it travels in, even when one row alone carries a
//!   valid number far below its header;
//! - lists whose check digits are all wrong give no My Number finding;
//! - forty valid unlabelled numbers in one message are evidence in themselves (held), while
//!   forty numbers of which four pass, as chance gives, are not.
//!
//! The corpus is generated with a seeded generator (`precision/rng.rs`): the same on every
//! run. Each test prints its figures (`cargo test --test precision -- --nocapture`).

#[path = "precision/business.rs"]
mod business;
#[path = "precision/lists.rs"]
mod lists;
#[path = "precision/mime.rs"]
mod mime;
#[path = "precision/numbers.rs"]
mod numbers;
#[path = "precision/rng.rs"]
mod rng;

use std::collections::BTreeMap;

use mamori_dlp::detectors::{card, my_number};
use mamori_dlp::{
    Action, Confidence, Decision, DetectorKind, DlpConfig, Inspector, MailContext, Policy, Report,
};

use business::{Kind, business_mail};
use lists::{FORMATS, Format, HEADERS, Header, Valid, employee_list, list_message};
use mime::{BodyForm, Envelope};
use rng::Rng;

/// How many business messages are generated.
const BUSINESS_MAILS: u64 = 1200;

/// The inspector and the default policy, built once per test.
struct Gateway {
    inspector: Inspector,
    policy: Policy,
}

impl Gateway {
    /// The gateway as an empty configuration makes it: every detector on, the default
    /// limits, and the default rules ([`mamori_dlp::policy::default_rules`], through
    /// [`DlpConfig::effective_rules`]).
    fn new() -> Self {
        let config = DlpConfig::default();
        Self {
            inspector: Inspector::new(&config.scan, config.limits.clone())
                .expect("default scan config"),
            policy: Policy::new(&config.effective_rules(), &config.scan).expect("default rules"),
        }
    }

    /// Inspects a message and decides it as mail from the office to a client.
    fn check(&self, raw: &[u8]) -> (Report, Decision) {
        let report = self.inspector.inspect_message(raw);
        let decision = decide_outbound(&self.policy, &report);
        (report, decision)
    }
}

/// The one place a [`MailContext`] is built: a member of the office, signed in, writing to
/// a client outside it.
fn decide_outbound(policy: &Policy, report: &Report) -> Decision {
    let recipients = ["someone@client.example.com".to_string()];
    let office_domains = ["office.example.jp".to_string()];
    policy.decide(
        report,
        &MailContext {
            sender: "taro@office.example.jp",
            recipients: &recipients,
            office_domains: &office_domains,
            sender_verified: true,
        },
    )
}

/// Does the decision stop the message (hold or reject)?
fn stops(decision: &Decision) -> bool {
    matches!(decision.action, Action::Hold | Action::Reject)
}

/// "2 (1 high, 1 medium)": the findings of `kind` in a report, by confidence.
fn findings_of(report: &Report, kind: DetectorKind) -> String {
    let of_kind: Vec<Confidence> = report
        .findings
        .iter()
        .filter(|f| f.detector == kind)
        .map(|f| f.confidence)
        .collect();
    if of_kind.is_empty() {
        return "0".to_string();
    }
    let by = |c: Confidence| of_kind.iter().filter(|&&x| x == c).count();
    format!(
        "{} ({} high, {} medium, {} low)",
        of_kind.len(),
        by(Confidence::High),
        by(Confidence::Medium),
        by(Confidence::Low)
    )
}

fn count_of(report: &Report, kind: DetectorKind) -> usize {
    report
        .findings
        .iter()
        .filter(|f| f.detector == kind)
        .count()
}

/// Checks the generator's promise on the text of a message: every 12-digit run of digits
/// passes the My Number check digit and every 16-digit run is a valid card number. Returns
/// how many of each there are (written unseparated; grouped forms are not counted).
fn planted_numbers(text: &str) -> (usize, usize) {
    let normalized = mamori_dlp::normalize(text);
    let text = normalized.as_str();
    let (mut twelve, mut sixteen) = (0, 0);
    for run in text
        .split(|c: char| !c.is_ascii_digit())
        .filter(|r| !r.is_empty())
    {
        match run.len() {
            12 => {
                assert!(
                    my_number::is_valid(run),
                    "generator wrote {run} in:\n{text}"
                );
                twelve += 1;
            }
            16 => {
                assert!(card::is_valid(run), "generator wrote {run} in:\n{text}");
                sixteen += 1;
            }
            _ => {}
        }
    }
    (twelve, sixteen)
}

#[test]
fn business_mail_is_held_at_most_once_in_a_hundred() {
    let gateway = Gateway::new();
    let mut rng = Rng::new(0x4D41_4D4F_5249_0001);
    let mut stopped = Vec::new();
    let mut by_kind: BTreeMap<Kind, (usize, usize)> = BTreeMap::new();
    let mut by_form: BTreeMap<BodyForm, (usize, usize)> = BTreeMap::new();
    let mut by_rule: BTreeMap<String, usize> = BTreeMap::new();
    let (mut planted12, mut planted16) = (0, 0);
    let (mut with_my_number, mut with_card) = (0, 0);
    for index in 0..BUSINESS_MAILS {
        let mail = business_mail(&mut rng, index);
        let (twelve, sixteen) = planted_numbers(&mail.text);
        planted12 += twelve;
        planted16 += sixteen;
        let (report, decision) = gateway.check(&mail.raw);
        with_my_number += usize::from(count_of(&report, DetectorKind::MyNumber) > 0);
        with_card += usize::from(count_of(&report, DetectorKind::CreditCard) > 0);
        let stop = stops(&decision);
        tally(&mut by_kind, mail.kind, stop);
        tally(&mut by_form, mail.form, stop);
        if stop {
            *by_rule
                .entry(decision.rule.clone().unwrap_or_default())
                .or_default() += 1;
            stopped.push((index, mail, report, decision));
        }
    }
    let total = BUSINESS_MAILS as usize;
    println!(
        "business mail: {} of {total} held or rejected ({:.1}%; the bound is 1%)",
        stopped.len(),
        stopped.len() as f64 * 100.0 / total as f64
    );
    println!(
        "  planted: {planted12} unseparated 12-digit numbers passing the My Number check \
         digit, {planted16} 16-digit Luhn-valid numbers with an issuer prefix (grouped forms \
         not counted)"
    );
    println!(
        "  messages with a my_number finding: {with_my_number}; with a credit_card finding: \
         {with_card}"
    );
    println!("  by deciding rule:");
    for (rule, count) in &by_rule {
        println!("    {count:>4} {rule}");
    }
    println!("  by kind (held / generated):");
    for (kind, (held, all)) in &by_kind {
        println!("    {:<12} {held:>4} / {all}", format!("{kind:?}"));
    }
    println!("  by body form (held / generated):");
    for (form, (held, all)) in &by_form {
        println!("    {:<16} {held:>4} / {all}", format!("{form:?}"));
    }
    for (index, mail, report, decision) in stopped.iter().take(5) {
        println!(
            "  held #{index} ({:?}, {:?}, \"{}\"): my_number {}, credit_card {}",
            mail.kind,
            mail.form,
            mail.text.lines().next().unwrap_or_default(),
            findings_of(report, DetectorKind::MyNumber),
            findings_of(report, DetectorKind::CreditCard)
        );
        for line in decision.explain() {
            println!("      {line}");
        }
    }
    assert!(
        stopped.len() * 100 <= total,
        "{} of {total} business messages were held or rejected; at most 1 in 100 may be",
        stopped.len()
    );
}

/// Counts one message in a (held, generated) tally.
fn tally<K: Ord>(map: &mut BTreeMap<K, (usize, usize)>, key: K, stopped: bool) {
    let entry = map.entry(key).or_default();
    entry.0 += usize::from(stopped);
    entry.1 += 1;
}

/// One employee list sent outside, and what came of it.
struct ListCase {
    format: Format,
    header: Header,
    valid: Valid,
    rows: usize,
    valid_rows: Vec<usize>,
    report: Report,
    decision: Decision,
}

impl ListCase {
    fn run(gateway: &Gateway, rng: &mut Rng, format: Format, header: Header, valid: Valid) -> Self {
        let list = employee_list(rng, header, valid);
        let id = rng.next_u64();
        let raw = list_message(rng, &list, format, id);
        let (report, decision) = gateway.check(&raw);
        Self {
            format,
            header,
            valid,
            rows: list.rows.len(),
            valid_rows: list.valid_rows,
            report,
            decision,
        }
    }

    /// One line for the printed table.
    fn line(&self) -> String {
        let valid = match self.valid {
            // The spreadsheet row: the header is row 1, data row 0 is row 2.
            Valid::One => format!("valid at row {}", self.valid_rows[0] + 2),
            Valid::All => format!("{} valid", self.valid_rows.len()),
            Valid::None => "none valid".to_string(),
        };
        format!(
            "{:<11} {:<17} {:>3} rows, {:<17} → {:<6} my_number {}",
            format!("{:?}", self.format),
            format!("{:?}", self.header),
            self.rows,
            valid,
            self.decision.action.as_str(),
            findings_of(&self.report, DetectorKind::MyNumber)
        )
    }
}

#[test]
fn every_employee_list_is_held() {
    let gateway = Gateway::new();
    let mut rng = Rng::new(0x4D41_4D4F_5249_0002);
    let mut cases = Vec::new();
    for format in FORMATS {
        for (header, valid) in [
            (Header::Kojin, Valid::One),
            (Header::MyNumberJa, Valid::One),
            (Header::MyNumberEn, Valid::One),
            (Header::IndividualNumber, Valid::One),
            (Header::Kojin, Valid::All),
        ] {
            for _ in 0..2 {
                cases.push(ListCase::run(&gateway, &mut rng, format, header, valid));
            }
        }
    }
    let missed: Vec<&ListCase> = cases
        .iter()
        .filter(|c| c.decision.action != Action::Hold)
        .collect();
    println!(
        "employee lists: {} of {} held",
        cases.len() - missed.len(),
        cases.len()
    );
    for format in FORMATS {
        let of: Vec<&ListCase> = cases.iter().filter(|c| c.format == format).collect();
        let held = of
            .iter()
            .filter(|c| c.decision.action == Action::Hold)
            .count();
        println!("  {format:?}: {held} of {} held", of.len());
        for case in of {
            println!("    {}", case.line());
        }
    }
    assert!(
        missed.is_empty(),
        "{} of {} employee lists were not held:\n{}",
        missed.len(),
        cases.len(),
        missed
            .iter()
            .map(|c| c.line())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn invalid_check_digits_stay_silent() {
    let gateway = Gateway::new();
    let mut rng = Rng::new(0x4D41_4D4F_5249_0003);
    let mut cases = Vec::new();
    for format in FORMATS {
        for header in HEADERS {
            for _ in 0..2 {
                cases.push(ListCase::run(
                    &gateway,
                    &mut rng,
                    format,
                    header,
                    Valid::None,
                ));
            }
        }
    }
    let noisy: Vec<&ListCase> = cases
        .iter()
        .filter(|c| count_of(&c.report, DetectorKind::MyNumber) > 0)
        .collect();
    println!(
        "lists with every check digit wrong: {} of {} give a my_number finding",
        noisy.len(),
        cases.len()
    );
    for format in FORMATS {
        let of: Vec<&ListCase> = cases.iter().filter(|c| c.format == format).collect();
        let quiet = of
            .iter()
            .filter(|c| count_of(&c.report, DetectorKind::MyNumber) == 0)
            .count();
        println!("  {format:?}: {quiet} of {} silent", of.len());
        for case in of {
            println!("    {}", case.line());
        }
    }
    assert!(
        noisy.is_empty(),
        "{} of {} lists with wrong check digits gave my_number findings:\n{}",
        noisy.len(),
        cases.len(),
        noisy
            .iter()
            .map(|c| c.line())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// How a plain list of numbers is laid out in a message body.
#[derive(Clone, Copy, Debug)]
enum Layout {
    /// One number a line.
    Lines,
    /// One number a line after a 「・」 bullet.
    Bullets,
}

/// A message whose body lists `numbers` with no label, in `form`.
fn number_list_message(numbers: &[String], layout: Layout, form: BodyForm, id: u64) -> Vec<u8> {
    let list: Vec<String> = numbers
        .iter()
        .map(|number| match layout {
            Layout::Lines => number.clone(),
            Layout::Bullets => format!("・{number}"),
        })
        .collect();
    let text = format!(
        "お世話になっております。\n下記の件、ご確認をお願いいたします。\n\n{}\n\n以上です。\nよろしくお願いいたします。\n",
        list.join("\n")
    );
    let envelope = Envelope {
        from_name: "山田 太郎".to_string(),
        from: "taro@office.example.jp".to_string(),
        to: "someone@client.example.com".to_string(),
        subject: "ご確認のお願い".to_string(),
        id,
    };
    mime::message(&envelope, &text, "", form)
}

#[test]
fn a_list_of_valid_numbers_is_evidence_in_itself() {
    const COUNT: usize = 40;
    const BY_CHANCE: usize = 4;
    let gateway = Gateway::new();
    let mut rng = Rng::new(0x4D41_4D4F_5249_0004);
    let mut failures = Vec::new();
    let mut runs = 0;
    for (layout, form) in [
        (Layout::Lines, BodyForm::Utf8Bit8),
        (Layout::Bullets, BodyForm::Iso2022Jp),
        (Layout::Lines, BodyForm::SjisBase64),
    ] {
        for all_valid in [true, false] {
            let chance_at: Vec<usize> = {
                let mut at: Vec<usize> = (0..COUNT).collect();
                for i in (1..at.len()).rev() {
                    at.swap(i, rng.below(i + 1));
                }
                at.truncate(BY_CHANCE);
                at
            };
            let numbers: Vec<String> = (0..COUNT)
                .map(|i| {
                    if all_valid || chance_at.contains(&i) {
                        numbers::chance_my_number(&mut rng, "")
                    } else {
                        numbers::invalid_my_number(&mut rng)
                    }
                })
                .collect();
            let valid = numbers.iter().filter(|n| my_number::is_valid(n)).count();
            let id = rng.next_u64();
            let raw = number_list_message(&numbers, layout, form, id);
            let (report, decision) = gateway.check(&raw);
            runs += 1;
            let expected = if all_valid { "hold" } else { "not held" };
            let ok = if all_valid {
                decision.action == Action::Hold
            } else {
                !stops(&decision)
            };
            let line = format!(
                "{layout:?}/{form:?}: {valid} of {COUNT} valid → {} (expected {expected}); \
                 my_number {}",
                decision.action,
                findings_of(&report, DetectorKind::MyNumber)
            );
            println!("  {line}");
            if !ok {
                failures.push(line);
            }
        }
    }
    println!(
        "number lists: {} of {runs} decided as expected",
        runs - failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {runs} number lists were decided wrongly:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
