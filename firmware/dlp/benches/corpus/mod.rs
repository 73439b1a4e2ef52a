//! The generated DLP corpus and the custom rules shared by the `scan` bench and the
//! `dlp_corpus` example (which includes this file with `#[path]`), so that both measure the
//! same text with the same dictionary.
//!
//! The corpus is deterministic (xorshift with a fixed seed): mixed Japanese and ASCII
//! business mail with valid My Numbers (4-4-4 with hyphens), valid Visa numbers in groups of
//! four, phone numbers, e-mail addresses, long tracking numbers, full-width digits in the
//! Japanese sentences and an occasional line that the custom rules match.

use mamori_dlp::detectors::{card, my_number};
use mamori_dlp::{Confidence, CustomRule, RuleKind};

/// A tiny deterministic generator (xorshift), so every run scans the same corpus.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn digits(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b'0' + self.below(10) as u8))
            .collect()
    }
}

const JAPANESE: &[&str] = &[
    "いつもお世話になっております。",
    "株式会社まもりの山田でございます。",
    "先日ご依頼いただいた件につきまして、下記の通りご報告いたします。",
    "ご不明な点がございましたら、お気軽にお問い合わせください。",
    "来週の打ち合わせは１０月１５日（火）１４時からを予定しております。",
    "見積書を添付いたしましたので、ご確認のほどよろしくお願い申し上げます。",
    "お手数をおかけしますが、何卒よろしくお願いいたします。",
    "請求金額は１２３，４５６円（税込）です。",
    "ﾃｽﾄ用の半角ｶﾀｶﾅも混ざっています。",
    "本メールの内容に関するお問い合わせは担当者までご連絡ください。",
];

const ASCII: &[&str] = &[
    "Please find the attached quotation for your review. ",
    "Order #A-2024-0815 shipped on 2024-08-15, tracking 1Z999AA10123456784. ",
    "Meeting notes: revenue grew 12.5% year over year; see https://example.com/q3?id=42. ",
    "Total: USD 1,234.56 (invoice INV-000123). ",
    "Regards,\nTaro Yamada\n",
];

/// The corpus: at least `target_bytes` bytes (it stops after the piece that crosses the
/// target). The same `target_bytes` always gives the same text.
pub fn corpus(target_bytes: usize) -> String {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut out = String::with_capacity(target_bytes + 1024);
    while out.len() < target_bytes {
        match rng.below(20) {
            0 => {
                let number = format!("{:011}", rng.next() % 100_000_000_000);
                let payload: [u8; 11] = number
                    .bytes()
                    .map(|b| b - b'0')
                    .collect::<Vec<_>>()
                    .try_into()
                    .unwrap_or([1; 11]);
                let check = my_number::check_digit(&payload);
                out.push_str(&format!(
                    "マイナンバー：{}-{}-{}{}\n",
                    &number[..4],
                    &number[4..8],
                    &number[8..],
                    check
                ));
            }
            1 => {
                let payload = format!("4{}", rng.digits(14));
                let digits: Vec<u8> = payload.bytes().map(|b| b - b'0').collect();
                let full = format!("{payload}{}", card::luhn_check_digit(&digits));
                out.push_str(&format!(
                    "カード番号 {} {} {} {}\n",
                    &full[..4],
                    &full[4..8],
                    &full[8..12],
                    &full[12..]
                ));
            }
            2 => out.push_str(&format!(
                "TEL: 03-{}-{} / 携帯 090-{}-{}\n",
                rng.digits(4),
                rng.digits(4),
                rng.digits(4),
                rng.digits(4)
            )),
            3 => out.push_str(&format!("user{}@example.co.jp, ", rng.below(500))),
            4 => {
                let len = 12 + rng.below(20);
                out.push_str(&format!("追跡番号 {}\n", rng.digits(len)));
            }
            8 if rng.below(10) == 0 => out.push_str(&format!(
                "【社外秘資料{}】担当 EMP{:02}-{} ",
                rng.below(40),
                rng.below(40),
                rng.digits(6)
            )),
            5..=7 => out.push_str(ASCII[rng.below(ASCII.len())]),
            _ => out.push_str(JAPANESE[rng.below(JAPANESE.len())]),
        }
        if rng.below(4) == 0 {
            out.push('\n');
        }
    }
    out
}

/// `count` custom rules: keywords, wildcards and regular expressions in turn (the bench uses
/// 100).
pub fn custom_rules(count: usize) -> Vec<CustomRule> {
    let rule = |name: String, kind, pattern: String| CustomRule {
        name,
        kind,
        pattern,
        confidence: Confidence::Medium,
        spaced: None,
    };
    let mut rules = Vec::with_capacity(count + 2);
    for i in 0.. {
        if rules.len() >= count {
            break;
        }
        rules.push(rule(
            format!("keyword {i}"),
            RuleKind::Keyword,
            format!("社外秘資料{i}"),
        ));
        rules.push(rule(
            format!("wildcard {i}"),
            RuleKind::Wildcard,
            format!("PRJ-{i:02}-*-confidential"),
        ));
        // A third of the regular expressions have no literal to search for first
        // (passport-like numbers), which is the costly kind.
        let regex = if i % 3 == 0 {
            format!(r"\b[A-Z]{{2}}\d{{{}}}\b", 6 + i % 5)
        } else {
            format!(r"\bEMP{i:02}-\d{{6}}\b")
        };
        rules.push(rule(format!("regex {i}"), RuleKind::Regex, regex));
    }
    rules.truncate(count);
    rules
}
