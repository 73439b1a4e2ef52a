//! Golden tests: each model under `tests/golden/<name>.toml` renders exactly to
//! `tests/golden/<name>.nft`. `MAMORI_BLESS=1 cargo test -p mamori-firewall` rewrites
//! the goldens; review the diff before committing it.

mod common;

#[test]
fn every_case_renders_as_its_golden() {
    let mut failures = Vec::new();
    for (name, path) in common::cases() {
        let script = common::render_case(&path);
        if let Some(diff) = common::check_golden(&path.with_extension("nft"), &script) {
            failures.push(format!("{name}: {diff}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn every_case_is_a_model_that_round_trips() {
    for (name, path) in common::cases() {
        let cfg = common::load(&path);
        let json = serde_json::to_string(&cfg).unwrap();
        let back: mamori_firewall::FirewallConfig = serde_json::from_str(&json).unwrap();
        assert_eq!(back, cfg, "{name}: the model serialises back to itself");
        let text = toml::to_string(&cfg).unwrap_or_else(|e| panic!("{name}: to TOML: {e}"));
        let back: mamori_firewall::FirewallConfig =
            toml::from_str(&text).unwrap_or_else(|e| panic!("{name}: from TOML: {e}\n{text}"));
        assert_eq!(back, cfg, "{name}: the model round-trips through TOML");
    }
}

/// What the goldens promise about placement, checked on the text so that a blessed golden
/// cannot silently lose it.
#[test]
fn placement_promises_hold() {
    let dir = common::golden_dir();
    let defaults = common::render_case(&dir.join("defaults.toml"));
    let input_lan = chain(&defaults, "input_lan");
    assert!(
        input_lan[0].contains("th dport { 443, 8443 }") && input_lan[0].contains("anti-lockout"),
        "anti-lockout is the first rule of input_lan: {input_lan:?}"
    );
    let forward_lan = chain(&defaults, "forward_lan");
    let smtp = forward_lan
        .iter()
        .position(|r| r.contains("reject with tcp reset"))
        .expect("smtp block in forward_lan");
    assert!(forward_lan[smtp].contains("oifname \"eth0\""));
    assert!(forward_lan[smtp].contains("th dport { 25, 465, 587 }"));
    assert!(
        forward_lan[..smtp]
            .iter()
            .all(|r| r.contains(" log prefix ")),
        "only its log line comes before the smtp block: {forward_lan:?}"
    );
    let redirect = common::render_case(&dir.join("smtp_redirect.toml"));
    let dstnat_lan = chain(&redirect, "dstnat_lan");
    assert!(
        dstnat_lan[0].contains("redirect to :2525"),
        "{dstnat_lan:?}"
    );
    assert!(
        chain(&redirect, "dstnat_dmz").is_empty(),
        "dmz is not held to the relay"
    );
    let rules = common::render_case(&dir.join("rules.toml"));
    let input_lan = chain(&rules, "input_lan");
    let telnet = input_lan
        .iter()
        .position(|r| r.contains("everywhere-no-telnet"))
        .unwrap();
    assert!(telnet > 0 && input_lan[0].contains("anti-lockout"));
    assert!(
        !rules.contains("switched-off"),
        "disabled rules are left out"
    );
}

/// The rule lines of a chain in a rendered script (empty if the chain is missing).
fn chain(script: &str, name: &str) -> Vec<String> {
    let header = format!("\tchain {name} {{");
    let mut lines = script.lines().skip_while(|l| *l != header);
    if lines.next().is_none() {
        return Vec::new();
    }
    lines
        .take_while(|l| *l != "\t}")
        .filter(|l| !l.trim_start().starts_with("type "))
        .map(|l| l.trim().to_string())
        .collect()
}
