//! Throughput of `Scanner::scan` over a generated ~4 MB mixed Japanese/ASCII corpus, with the
//! built-in detectors alone and with 100 custom rules, plus normalisation alone.
//!
//! Run: `cargo bench -p mamori-dlp -- --warm-up-time 1 --measurement-time 3`

#![allow(missing_docs)] // criterion_main! generates an undocumented pub fn.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mamori_dlp::{ScanConfig, Scanner, normalize};

mod corpus;

use corpus::{corpus, custom_rules};

fn bench(c: &mut Criterion) {
    let text = corpus(4 << 20);
    let builtin = Scanner::new(&ScanConfig::default()).unwrap_or_else(|e| panic!("{e}"));
    let mut config = ScanConfig::default();
    config.custom.rules = custom_rules(100);
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
