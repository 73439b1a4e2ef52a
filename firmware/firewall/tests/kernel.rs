//! The goldens against the real kernel: every rendered case is loaded with `nft -f` into a
//! fresh network namespace, and the kernel's own listing (`nft list table inet mamori`) is
//! kept as a second golden, `tests/golden/<name>.list`, compared like the first.
//!
//! Needs root and the `nft` and `ip` tools; without them the tests say so on stderr and
//! pass (CI runs them as root with nftables installed). Each namespace is deleted when its
//! guard is dropped, also when a test fails.

mod common;

use common::netns::{NetNs, normalise};

#[test]
fn goldens_load_and_list_as_golden() {
    require_kernel!("goldens_load_and_list_as_golden");
    let mut failures = Vec::new();
    for (name, path) in common::cases() {
        let script = common::render_case(&path);
        let ns = NetNs::new();
        ns.load(&name, &script);
        let first = ns.list();
        ns.load(&format!("{name} (again, over itself)"), &script);
        assert_eq!(
            ns.list(),
            first,
            "{name}: loading twice gives the same table"
        );
        if let Some(diff) = common::check_golden(&path.with_extension("list"), &first) {
            failures.push(format!("{name}: {diff}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn a_new_model_replaces_the_old_one_entirely() {
    require_kernel!("a_new_model_replaces_the_old_one_entirely");
    let dir = common::golden_dir();
    let big = common::render_case(&dir.join("port_forwards.toml"));
    let small = common::render_case(&dir.join("defaults.toml"));
    let alone = NetNs::new();
    alone.load("defaults", &small);
    let expected = alone.list();
    let ns = NetNs::new();
    ns.load("port_forwards", &big);
    ns.load("defaults over port_forwards", &small);
    assert_eq!(
        ns.list(),
        expected,
        "no chain, rule or set of the old model is left"
    );
}

#[test]
fn a_refused_script_leaves_the_running_table_untouched() {
    require_kernel!("a_refused_script_leaves_the_running_table_untouched");
    let dir = common::golden_dir();
    let ns = NetNs::new();
    ns.load("rules", &common::render_case(&dir.join("rules.toml")));
    let before = ns.list();
    // The defaults, broken in their last chain: the delete and most of the new table come
    // before the error, and none of it may take effect.
    let broken = common::render_case(&dir.join("defaults.toml")).replace(
        "meta nfproto ipv4 counter masquerade",
        "meta nfproto ipv4 counter jump no_such_chain",
    );
    let out = ns.try_load(&broken);
    assert!(!out.status.success(), "the broken script was accepted");
    assert_eq!(ns.list(), before, "the transaction was all or nothing");
}

#[test]
fn set_contents_change_without_touching_rules() {
    require_kernel!("set_contents_change_without_touching_rules");
    let dir = common::golden_dir();
    let mut cfg = common::load(&dir.join("sets.toml"));
    let ns = NetNs::new();
    let compiled = mamori_firewall::compile(&cfg).unwrap();
    ns.load("sets", &mamori_firewall::render::render(&compiled.table));
    let rules_before: Vec<String> = ns
        .list()
        .lines()
        .filter(|l| l.contains("comment"))
        .map(str::to_string)
        .collect();

    let blocklist = cfg
        .sets
        .iter_mut()
        .find(|s| s.name.as_str() == "blocklist")
        .unwrap();
    blocklist.elements = vec![
        "100.64.0.0/10"
            .parse::<mamori_firewall::model::AddressSpec>()
            .map(|address| mamori_firewall::model::SetElement {
                address,
                timeout: None,
            })
            .unwrap(),
    ];
    let updated = mamori_firewall::compile(&cfg).unwrap();
    let set = updated
        .table
        .sets
        .iter()
        .find(|s| s.name == "blocklist")
        .unwrap();
    ns.load("set update", &mamori_firewall::render::set_update(set));

    let after = ns.list();
    assert!(after.contains("elements = { 100.64.0.0/10 }"), "{after}");
    assert!(
        !after.contains("203.0.113.0/24"),
        "old elements are gone: {after}"
    );
    let rules_after: Vec<String> = after
        .lines()
        .filter(|l| l.contains("comment"))
        .map(str::to_string)
        .collect();
    assert_eq!(rules_after, rules_before, "the rules are untouched");

    let emptied = mamori_firewall::ir::Set {
        elements: Vec::new(),
        ..set.clone()
    };
    ns.load(
        "set emptied",
        &mamori_firewall::render::set_update(&emptied),
    );
    let listing = ns.list();
    let block = listing.split("set blocklist {").nth(1).unwrap();
    let block = &block[..block.find('}').unwrap()];
    assert!(!block.contains("elements"), "{block}");
}

#[test]
fn normalise_strips_expiry_and_joins_elements() {
    let listing = "\tset b {\n\t\telements = { 10.0.0.1 expires 59m59s952ms, 10.0.0.2 timeout 10m expires 9m59s,\n\t\t\t     10.0.0.3 expires 1h }\n\t}\n";
    assert_eq!(
        normalise(listing),
        "\tset b {\n\t\telements = { 10.0.0.1, 10.0.0.2 timeout 10m, 10.0.0.3 }\n\t}\n"
    );
}

/// Random valid models (the property tests' generator) all load: the renderer never
/// writes a script the kernel refuses. One namespace for all of them, so each load also
/// replaces the previous model's table.
#[test]
fn random_valid_models_load_into_the_kernel() {
    use proptest::strategy::{Strategy, ValueTree};
    use proptest::test_runner::{Config, TestRunner};

    require_kernel!("random_valid_models_load_into_the_kernel");
    let ns = NetNs::new();
    let mut runner = TestRunner::new(Config::default());
    let strategy = common::strategies::config();
    const MODELS: usize = 48;
    let mut loaded = 0;
    let mut tried = 0;
    while loaded < MODELS && tried < 20 * MODELS {
        tried += 1;
        let cfg = strategy.new_tree(&mut runner).expect("a model").current();
        let Ok(compiled) = mamori_firewall::compile(&cfg) else {
            continue;
        };
        let script = mamori_firewall::render::render(&compiled.table);
        let out = ns.try_load(&script);
        assert!(
            out.status.success(),
            "the kernel refused a valid model:\n{}\nmodel: {cfg:#?}\nscript:\n{script}",
            String::from_utf8_lossy(&out.stderr)
        );
        loaded += 1;
    }
    assert_eq!(loaded, MODELS, "too few valid models in {tried} tries");
}

/// Names at the edge of what validation allows end up in set, chain and interface names
/// and in comments and log prefixes; the kernel takes them all.
#[test]
fn edge_names_load() {
    require_kernel!("edge_names_load");
    let text = r#"
[firewall.zones.lan]
interfaces = ["br-lan.10", "eth1_2", "wlan-x*"]

[[firewall.sets]]
name = "a_b-c9"
family = "ipv6"
elements = ["2001:db8::/64"]

[[firewall.rules]]
name = "0.odd_name-with.dots_32chars.."
zone = "lan"
protocol = "tcp"
ports = [1, 65535]
source_set = "a_b-c9"
over_rate = { rate = 1, per = "hour", burst = 1000 }
log = true
action = "reject"
"#;
    #[derive(serde::Deserialize)]
    struct Doc {
        firewall: mamori_firewall::FirewallConfig,
    }
    let cfg = toml::from_str::<Doc>(text).unwrap().firewall;
    let compiled = mamori_firewall::compile(&cfg).unwrap();
    let ns = NetNs::new();
    ns.load(
        "edge names",
        &mamori_firewall::render::render(&compiled.table),
    );
    let listing = ns.list();
    assert!(
        listing.contains("set mamori-rate-0.odd_name-with.dots_32chars..-v6"),
        "{listing}"
    );
    assert!(
        listing.contains("chain log_0.odd_name-with.dots_32chars.."),
        "{listing}"
    );
}
