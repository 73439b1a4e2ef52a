//! Throughput of `Scanner::scan` over a generated ~4 MB mixed Japanese/ASCII corpus, with the
//! built-in detectors alone and with 100 custom rules, plus normalisation alone.
//!
//! Run: `cargo bench -p mamori-dlp -- --warm-up-time 1 --measurement-time 3`

#![allow(missing_docs)] // criterion_main! generates an undocumented pub fn.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mamori_dlp::detectors::{card, my_number};
use mamori_dlp::{Confidence, CustomRule, RuleKind, ScanConfig, Scanner, normalize};

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

fn corpus(target_bytes: usize) -> String {
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

fn hundred_rules() -> Vec<CustomRule> {
    let rule = |name: String, kind, pattern: String| CustomRule {
        name,
        kind,
        pattern,
        confidence: Confidence::Medium,
    };
    let mut rules = Vec::new();
    for i in 0..34 {
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
    rules.truncate(100);
    rules
}

fn bench(c: &mut Criterion) {
    let text = corpus(4 << 20);
    let builtin = Scanner::new(&ScanConfig::default()).unwrap_or_else(|e| panic!("{e}"));
    let mut config = ScanConfig::default();
    config.custom.rules = hundred_rules();
    let with_rules = Scanner::new(&config).unwrap_or_else(|e| panic!("{e}"));
    eprintln!(
        "corpus: {} bytes, {} findings built-in, {} with 100 rules",
        text.len(),
        builtin.scan(&text).len(),
        with_rules.scan(&text).len()
    );

    let mut group = c.benchmark_group("scan");
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.sample_size(10);
    group.bench_function("normalize_only", |b| b.iter(|| normalize(black_box(&text))));
    group.bench_function("builtin_detectors", |b| {
        b.iter(|| builtin.scan(black_box(&text)))
    });
    group.bench_function("builtin_plus_100_custom_rules", |b| {
        b.iter(|| with_rules.scan(black_box(&text)))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
