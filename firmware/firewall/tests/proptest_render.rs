//! Property tests: for random, mostly valid models, validation and compilation never panic,
//! and every compiled model renders to a well-formed script that keeps the promises of
//! the renderer (a counter on every deciding rule, the anti-lockout rule first).

mod common;

use common::strategies::config;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn compiling_and_rendering_never_panic(cfg in config()) {
        let report = mamori_firewall::validate::check(&cfg);
        match mamori_firewall::compile(&cfg) {
            Err(e) => {
                prop_assert!(!report.errors.is_empty());
                prop_assert_eq!(&e, &report.errors[0]);
                prop_assert!(e.to_string().starts_with("firewall."));
            }
            Ok(compiled) => {
                prop_assert!(report.errors.is_empty());
                let script = mamori_firewall::render::render(&compiled.table);
                prop_assert!(script.contains("delete table inet mamori\n"));
                prop_assert_eq!(script.matches('{').count(), script.matches('}').count());
                for line in script.lines().map(str::trim) {
                    let decides = [" accept ", " drop ", " reject ", " jump ", " goto ", " masquerade ", " dnat ", " redirect "]
                        .iter()
                        .any(|v| format!("{line} ").contains(v) && !line.starts_with("type "));
                    if decides {
                        prop_assert!(line.contains("counter"), "rule without a counter: {}", line);
                    }
                }
                let input_lan = compiled.table.chain("input_lan").expect("input_lan");
                let first = input_lan.rules.first().and_then(|r| r.comment.clone()).unwrap_or_default();
                prop_assert_eq!(
                    first.starts_with("anti-lockout"),
                    !cfg.anti_lockout.disable_and_risk_lockout
                );
            }
        }
    }
}
