//! Shared by the golden tests: the cases under `tests/golden/`, loading a case's model,
//! and comparing (or, with `MAMORI_BLESS=1`, rewriting) a golden file.

#![allow(dead_code)]

pub mod netns;
pub mod strategies;

use std::path::{Path, PathBuf};

use mamori_firewall::FirewallConfig;
use serde::Deserialize;

/// A configuration file holding only the `[firewall]` section, as the appliance's file
/// would.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Doc {
    #[serde(default)]
    firewall: FirewallConfig,
}

/// The folder of the golden files (the firewall crate's, also when the Linux crate's tests
/// use this module).
pub fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../firewall/tests/golden")
}

/// Every case: its name (the file stem) and its model's path, sorted by name.
pub fn cases() -> Vec<(String, PathBuf)> {
    let mut cases: Vec<_> = std::fs::read_dir(golden_dir())
        .expect("tests/golden exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .map(|p| {
            let name = p
                .file_stem()
                .and_then(|s| s.to_str())
                .expect("UTF-8 file name")
                .to_string();
            (name, p)
        })
        .collect();
    cases.sort();
    assert!(!cases.is_empty(), "no golden cases found");
    cases
}

/// Parses a case's model.
pub fn load(path: &Path) -> FirewallConfig {
    let text = std::fs::read_to_string(path).expect("readable case");
    let doc: Doc = toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    doc.firewall
}

/// Renders a case's script (the case must be valid).
pub fn render_case(path: &Path) -> String {
    let cfg = load(path);
    let compiled =
        mamori_firewall::compile(&cfg).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    mamori_firewall::render::render(&compiled.table)
}

/// True when goldens are to be rewritten instead of compared.
pub fn blessing() -> bool {
    std::env::var("MAMORI_BLESS").is_ok_and(|v| v == "1")
}

/// Compares `actual` with the golden file, or rewrites it when blessing. Returns a
/// description of the difference, if any.
pub fn check_golden(path: &Path, actual: &str) -> Option<String> {
    if blessing() {
        std::fs::write(path, actual).expect("golden written");
        return None;
    }
    let expected = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => {
            return Some(format!(
                "{}: cannot read ({e}); run with MAMORI_BLESS=1 to create it",
                path.display()
            ));
        }
    };
    if expected == actual {
        return None;
    }
    let (exp, act): (Vec<_>, Vec<_>) = (expected.lines().collect(), actual.lines().collect());
    let line = exp
        .iter()
        .zip(&act)
        .position(|(a, b)| a != b)
        .unwrap_or(exp.len().min(act.len()));
    Some(format!(
        "{} differs at line {}:\n  expected: {:?}\n  actual:   {:?}\n(run with MAMORI_BLESS=1 to accept the new output)",
        path.display(),
        line + 1,
        exp.get(line).unwrap_or(&"<end of file>"),
        act.get(line).unwrap_or(&"<end of file>"),
    ))
}
