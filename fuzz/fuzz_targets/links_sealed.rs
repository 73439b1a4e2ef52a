//! Link mode's sealed files (`mamori_links::sealed`) and the link's id and secret parsers.
//!
//! Input layout: byte 0 picks a change made to a sealed file (none, a flipped bit, a cut, a
//! byte added, or the bytes opened as they are); bytes 1–2 where; the rest is the file's
//! content (or the bytes opened).
//!
//! Checked, besides "never panics":
//! - a sealed file opens to exactly what was sealed, and its size is the sealed size;
//! - a changed, cut or lengthened one never opens to anything but an error (no wrong
//!   plaintext, not even a prefix followed by success);
//! - arbitrary bytes never open;
//! - `LinkId::parse` and `Secret::parse` accept only what they print.
#![no_main]

use std::io::{Read, Write};

use libfuzzer_sys::fuzz_target;
use mamori_links::sealed::{Opener, Sealer};
use mamori_links::{LinkId, Secret};

const KEY: [u8; 32] = [0x42; 32];

fn open(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    Opener::new(bytes, &KEY, b"aad".to_vec()).read_to_end(&mut out)?;
    Ok(out)
}

fuzz_target!(|input: &[u8]| {
    if let Ok(text) = std::str::from_utf8(input) {
        if let Some(id) = LinkId::parse(text) {
            assert_eq!(id.as_str(), text);
        }
        if let Some(secret) = Secret::parse(text) {
            assert_eq!(secret.encode(), text);
        }
    }
    let [pick, a, b, content @ ..] = input else {
        return;
    };
    let at = usize::from(u16::from_le_bytes([*a, *b]));
    if pick % 5 == 4 {
        assert!(open(content).is_err(), "arbitrary bytes opened");
        return;
    }
    let mut sealer = Sealer::new(Vec::new(), &KEY, b"aad".to_vec()).expect("sealing into memory");
    // Written in two pieces, so that a chunk boundary may fall anywhere.
    let split = at.min(content.len());
    sealer.write_all(&content[..split]).expect("sealing");
    sealer.write_all(&content[split..]).expect("sealing");
    let (mut sealed, size) = sealer.finish().expect("sealing");
    assert_eq!(size, content.len() as u64);
    match pick % 5 {
        0 => {
            assert_eq!(open(&sealed).expect("a sealed file opens"), content);
        }
        1 => {
            let i = at % sealed.len();
            sealed[i] ^= 1 << (pick % 8);
            assert!(open(&sealed).is_err(), "a flipped bit went unnoticed");
        }
        2 => {
            sealed.truncate(at % sealed.len());
            assert!(open(&sealed).is_err(), "a cut went unnoticed");
        }
        _ => {
            sealed.push(*a);
            assert!(open(&sealed).is_err(), "an added byte went unnoticed");
        }
    }
});
