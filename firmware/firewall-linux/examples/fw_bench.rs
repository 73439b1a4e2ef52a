//! Benchmark of the two ways to load a table: `mamori_firewall_linux::netlink::apply` against
//! `nft -f` of the same rendered script, for tables of 100, 1 000 and 10 000 rules and one
//! with a set of 100 000 elements; best of N runs each (every run replaces the table).
//!
//! Run it inside a network namespace as root: `ci/bench-firewall` does that. Options:
//! `--sizes 100,1000,10000`, `--set 100000`, `--runs 5`.

use std::net::Ipv4Addr;
use std::process::Command;
use std::time::{Duration, Instant};

use ipnet::{IpNet, Ipv4Net};
use mamori_firewall::ir::{
    AddrMatch, BaseChain, Chain, ChainPolicy, ChainType, Expr, Field, Hook, L4Proto, Rule, Set,
    Table, Verdict,
};
use mamori_firewall::model::{AddressSpec, Family, PortRange, SetElement};

fn rule(i: usize) -> Rule {
    let a = Ipv4Addr::from(0x0a00_0000u32 + i as u32);
    let port = 1000 + (i % 60_000) as u16;
    let ports = if i.is_multiple_of(10) {
        vec![
            PortRange::single(port),
            PortRange::single(port.wrapping_add(2)),
            PortRange {
                first: 61_000,
                last: 61_100,
            },
        ]
    } else {
        vec![PortRange::single(port)]
    };
    Rule {
        exprs: vec![
            Expr::NfProto(Family::Ipv4),
            Expr::Addr {
                family: Family::Ipv4,
                field: Field::Source,
                value: AddrMatch::Literal(vec![AddressSpec::Net(IpNet::V4(
                    Ipv4Net::new(a, 32).expect("/32"),
                ))]),
            },
            Expr::L4Proto(vec![L4Proto::Tcp]),
            Expr::Port {
                field: Field::Destination,
                ports,
            },
            Expr::Counter,
            Expr::Verdict(Verdict::Accept),
        ],
        comment: Some(format!("bench rule {i}")),
    }
}

fn table(rules: usize, set_elements: usize) -> Table {
    let mut sets = Vec::new();
    let mut input_rules = vec![Rule {
        exprs: vec![Expr::Counter, Expr::Verdict(Verdict::Jump("bench".into()))],
        comment: Some("to the bench chain".into()),
    }];
    if set_elements > 0 {
        let elements = (0..set_elements)
            .map(|i| SetElement {
                address: AddressSpec::Net(IpNet::V4(
                    Ipv4Net::new(Ipv4Addr::from(0x0a00_0000u32 + 2 * i as u32), 32).expect("/32"),
                )),
                timeout: None,
            })
            .collect();
        sets.push(Set {
            name: "bench_set".into(),
            family: Family::Ipv4,
            interval: true,
            timeout_flag: false,
            dynamic: false,
            timeout: None,
            size: None,
            elements,
        });
        input_rules.push(Rule {
            exprs: vec![
                Expr::NfProto(Family::Ipv4),
                Expr::Addr {
                    family: Family::Ipv4,
                    field: Field::Source,
                    value: AddrMatch::Set("bench_set".into()),
                },
                Expr::Counter,
                Expr::Verdict(Verdict::Drop),
            ],
            comment: Some("the big set".into()),
        });
    }
    Table {
        sets,
        chains: vec![
            Chain {
                name: "input".into(),
                base: Some(BaseChain {
                    kind: ChainType::Filter,
                    hook: Hook::Input,
                    priority: 0,
                    policy: ChainPolicy::Accept,
                }),
                rules: input_rules,
            },
            Chain {
                name: "bench".into(),
                base: None,
                rules: (0..rules).map(rule).collect(),
            },
        ],
    }
}

fn best(runs: usize, mut f: impl FnMut() -> Duration) -> Duration {
    (0..runs).map(|_| f()).min().unwrap_or_default()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() {
    let sizes: Vec<usize> = arg("--sizes")
        .unwrap_or_else(|| "100,1000,10000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let set: usize = arg("--set").and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let runs: usize = arg("--runs").and_then(|s| s.parse().ok()).unwrap_or(5);
    let nft = ["/usr/sbin/nft", "/sbin/nft", "nft"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .unwrap_or("nft");

    let mut cases: Vec<(String, Table)> = sizes
        .iter()
        .map(|&n| (format!("{n} rules"), table(n, 0)))
        .collect();
    if set > 0 {
        cases.push((format!("set of {set} elements"), table(10, set)));
    }

    println!("best of {runs} runs; every run replaces the whole table");
    println!(
        "| {:<24} | {:>8} | {:>10} | {:>24} | {:>10} | {:>11} |",
        "size", "messages", "bytes", "mamori netlink apply ms", "nft -f ms", "ratio"
    );
    println!(
        "|{:-<26}|{:->10}|{:->12}|{:->26}|{:->12}|{:->13}|",
        "", "", "", "", "", ""
    );
    let script_path = std::env::temp_dir().join(format!("mamori-bench-{}.nft", std::process::id()));
    for (name, t) in &cases {
        let script = mamori_firewall::render::render(t);
        std::fs::write(&script_path, &script).expect("script written");
        let mut report = None;
        let netlink = best(runs, || {
            let start = Instant::now();
            let r = mamori_firewall_linux::netlink::apply(t)
                .unwrap_or_else(|e| panic!("{name}: netlink apply: {e}"));
            let took = start.elapsed();
            report = Some(r);
            took
        });
        let nft_f = best(runs, || {
            let start = Instant::now();
            let out = Command::new(nft)
                .arg("-f")
                .arg(&script_path)
                .output()
                .expect("nft runs");
            let took = start.elapsed();
            assert!(
                out.status.success(),
                "{name}: nft -f: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            took
        });
        let report = report.expect("at least one run");
        println!(
            "| {:<24} | {:>8} | {:>10} | {:>24.1} | {:>10.1} | {:>10.2}x |",
            name,
            report.messages,
            report.bytes,
            ms(netlink),
            ms(nft_f),
            ms(netlink) / ms(nft_f)
        );
    }
    let _ = std::fs::remove_file(&script_path);
    println!("ratio = netlink / nft -f (below 1: netlink is faster)");
}
