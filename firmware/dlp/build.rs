//! Computes the normaliser's tables of the Basic Multilingual Plane at compile time (see
//! `src/normalize/definitions.rs`): the stable characters as a bit set, and the one stable
//! character each simple character becomes. Written to `$OUT_DIR/normalize_tables.rs`,
//! which `src/normalize.rs` includes.

use std::fmt::Write as _;

use unicode_normalization::UnicodeNormalization;

include!("src/normalize/definitions.rs");

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/normalize/definitions.rs");
    let mut bits = [0u64; 1024];
    let mut simple = vec![0u16; 0x10000];
    for cp in 0..=0xFFFFu32 {
        let Some(c) = char::from_u32(cp) else {
            continue;
        };
        if stable_by_definition(c) {
            bits[(cp >> 6) as usize] |= 1 << (cp & 63);
        }
        if let Some(y) = simple_by_definition(c).and_then(|y| u16::try_from(u32::from(y)).ok()) {
            simple[cp as usize] = y;
        }
    }
    let mut out = String::from("// Made by the build script from src/normalize/definitions.rs.\n");
    out.push_str("pub(super) static STABLE: StableTable = StableTable([\n");
    for word in bits {
        writeln!(out, "    {word:#x},")?;
    }
    out.push_str("]);\npub(super) static SIMPLE: [u16; 0x10000] = [\n");
    for row in simple.chunks(16) {
        out.push_str("   ");
        for y in row {
            write!(out, " {y},")?;
        }
        out.push('\n');
    }
    out.push_str("];\n");
    let dir = std::env::var("OUT_DIR")?;
    std::fs::write(std::path::Path::new(&dir).join("normalize_tables.rs"), out)?;
    Ok(())
}
