//! The DLP attachment walk (ZIP, tar, 7z, LZH, RAR, gzip/bzip2/xz/zstd, Office documents
//! old and new, Outlook messages,
//! PDF, HTML, text): any bytes as a file, the first byte choosing the name it is given (so
//! every extractor is reached, not only the ones found by magic bytes).
//!
//! Checked, besides "never panics" and libFuzzer's time and memory limits:
//! - the decoded text stays within the limit;
//! - nesting stays within the depth limit;
//! - the same input gives the same extraction.
#![no_main]

use libfuzzer_sys::fuzz_target;

mod common;

const NAMES: [&str; 19] = [
    "a.zip", "a.docx", "a.xlsx", "a.pptx", "a.pdf", "a.html", "a.csv", "a.txt", "a.gz", "a.odt",
    "a.bz2", "a.xz", "a.zst", "a.7z", "a.lzh", "a.rar", "a.doc", "a.ppt", "a.msg",
];

fuzz_target!(|input: &[u8]| {
    let Some((&pick, data)) = input.split_first() else {
        return;
    };
    common::check(data, NAMES[usize::from(pick) % NAMES.len()]);
});
