//! The netlink back end against the real kernel, each test in a network namespace of its
//! own: the test re-runs itself (this test binary, filtered to the one test) under
//! `ip netns exec`, with `MAMORI_NETLINK_CHILD` set, so that its netlink sockets are
//! opened inside the namespace; the namespace is deleted when its guard drops.
//!
//! The main promise: for every golden model, the table applied over netlink lists exactly
//! as `tests/golden/<name>.list`, the listing of the same model loaded with `nft -f`
//! (checked by `tests/kernel.rs`): both back ends load the same table.
//!
//! Needs root and the `nft` and `ip` tools; without them the tests say so and pass.

#[path = "../../firewall/tests/common/mod.rs"]
mod common;

use std::process::Command;

use common::netns::{NetNs, normalise, tool};
use mamori_firewall::ir::{Expr, Table, Verdict};
use mamori_firewall::model::SetElement;
use mamori_firewall_linux::netlink::{self, NetlinkError};

/// Set in the child process that runs a test's body inside the namespace.
const CHILD: &str = "MAMORI_NETLINK_CHILD";

/// Runs the test `name` of this binary in a fresh namespace and checks that it ran and
/// passed there.
fn in_netns(name: &str) {
    NetNs::new().run_test(name, CHILD);
}

/// A test whose body runs inside a network namespace of its own.
macro_rules! netns_test {
    ($(#[$doc:meta])* $name:ident $body:block) => {
        $(#[$doc])*
        #[test]
        fn $name() {
            if std::env::var_os(CHILD).is_some() {
                $body
            } else {
                require_kernel!(stringify!($name));
                in_netns(stringify!($name));
            }
        }
    };
}

/// `nft list table inet mamori` in this (the child's) namespace, normalised.
fn listing() -> String {
    let out = Command::new(tool("nft"))
        .args(["list", "table", "inet", "mamori"])
        .output()
        .expect("nft runs");
    assert!(
        out.status.success(),
        "nft list: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    normalise(&String::from_utf8_lossy(&out.stdout))
}

fn table_of(case: &str) -> Table {
    let cfg = common::load(&common::golden_dir().join(format!("{case}.toml")));
    mamori_firewall::compile(&cfg).expect("valid case").table
}

fn rule_lines(listing: &str) -> Vec<String> {
    listing
        .lines()
        .filter(|l| l.contains("comment"))
        .map(str::to_string)
        .collect()
}

netns_test! {
    /// Every golden applied over netlink lists as its `.list` golden (the `nft -f`
    /// listing), also when applied over itself.
    goldens_apply_over_netlink_as_nft_loads_them {
        let mut failures = Vec::new();
        for (name, path) in common::cases() {
            let table = table_of(&name);
            let report = netlink::apply(&table).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(report.messages > 3 && report.bytes > 0);
            let first = listing();
            netlink::apply(&table).unwrap_or_else(|e| panic!("{name} again: {e}"));
            assert_eq!(listing(), first, "{name}: applying twice gives the same table");
            let golden = std::fs::read_to_string(path.with_extension("list")).expect("golden");
            if golden != first {
                let line = golden
                    .lines()
                    .zip(first.lines())
                    .position(|(a, b)| a != b)
                    .unwrap_or(golden.lines().count().min(first.lines().count()));
                failures.push(format!(
                    "{name}: differs at line {}:\n  nft -f:  {:?}\n  netlink: {:?}",
                    line + 1,
                    golden.lines().nth(line).unwrap_or("<end>"),
                    first.lines().nth(line).unwrap_or("<end>"),
                ));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }
}

netns_test! {
    /// A new model leaves nothing of the old one.
    a_new_table_replaces_the_old_one {
        netlink::apply(&table_of("port_forwards")).unwrap();
        netlink::apply(&table_of("defaults")).unwrap();
        let golden =
            std::fs::read_to_string(common::golden_dir().join("defaults.list")).unwrap();
        assert_eq!(listing(), golden);
    }
}

netns_test! {
    /// A batch refused in its last rule (a jump to a chain that does not exist) changes
    /// nothing: the delete and the new table before it are rolled back; the error names
    /// the rule and carries ENOENT.
    a_refused_batch_leaves_the_running_table_untouched {
        netlink::apply(&table_of("rules")).unwrap();
        let before = listing();
        let mut broken = table_of("defaults");
        let last = broken
            .chains
            .iter_mut()
            .rev()
            .find(|c| !c.rules.is_empty())
            .unwrap();
        let rule = last.rules.last_mut().unwrap();
        *rule.exprs.last_mut().unwrap() = Expr::Verdict(Verdict::Jump("no_such_chain".into()));
        let last_name = last.name.clone();
        let err = netlink::apply(&broken).unwrap_err();
        match &err {
            NetlinkError::Refused { object, errno, .. } => {
                assert_eq!(*errno, libc_enoent(), "{err}");
                assert!(object.starts_with("rule "), "{err}");
                assert!(object.contains(&format!("chain {last_name}")), "{err}");
            }
            other => panic!("not a refusal: {other}"),
        }
        assert_eq!(listing(), before, "the transaction was all or nothing");
    }
}

fn libc_enoent() -> i32 {
    2
}

fn elements(list: &[&str]) -> Vec<SetElement> {
    list.iter()
        .map(|a| SetElement {
            address: a.parse().expect("an address"),
            timeout: None,
        })
        .collect()
}

netns_test! {
    /// `update_set` adds and removes elements of a named set; the rules stay as they were;
    /// the elements read back.
    set_elements_change_without_touching_rules {
        let table = table_of("sets");
        netlink::apply(&table).unwrap();
        let before = listing();
        let blocklist = table.sets.iter().find(|s| s.name == "blocklist").unwrap();
        netlink::update_set(
            blocklist,
            &elements(&["100.64.0.0/10", "192.0.2.100"]),
            &elements(&["203.0.113.0/24"]),
        )
        .unwrap();
        let after = listing();
        assert!(after.contains("100.64.0.0/10"), "{after}");
        assert!(after.contains("192.0.2.100"), "{after}");
        assert!(!after.contains("203.0.113.0/24"), "{after}");
        assert_eq!(rule_lines(&after), rule_lines(&before), "the rules are untouched");

        let read: Vec<String> = netlink::set_elements("blocklist")
            .unwrap()
            .iter()
            .map(|e| e.address.to_string())
            .collect();
        assert_eq!(
            read,
            [
                "100.64.0.0/10",
                "192.0.2.10-192.0.2.19",
                "192.0.2.100",
                "198.51.100.7",
                "198.51.100.99"
            ]
        );
        let timed = netlink::set_elements("blocklist").unwrap();
        let t = timed
            .iter()
            .find(|e| e.address.to_string() == "198.51.100.99")
            .unwrap();
        assert_eq!(t.timeout_ms, Some(5_400_000), "its own timeout, 1h30m");
        assert!(t.expires_ms.is_some_and(|ms| ms <= 5_400_000));

        // Removing what is not there is refused, and changes nothing.
        let err = netlink::update_set(blocklist, &[], &elements(&["10.9.9.9"])).unwrap_err();
        assert!(err.errno().is_some(), "{err}");
        assert_eq!(listing(), after);

        // A plain (non-interval) set too.
        let admins = table.sets.iter().find(|s| s.name == "admins").unwrap();
        netlink::update_set(admins, &elements(&["198.51.100.12"]), &elements(&["198.51.100.10"]))
            .unwrap();
        let read: Vec<String> = netlink::set_elements("admins")
            .unwrap()
            .iter()
            .map(|e| e.address.to_string())
            .collect();
        assert_eq!(read, ["198.51.100.11", "198.51.100.12"]);
        assert_eq!(rule_lines(&listing()), rule_lines(&before));
    }
}

netns_test! {
    /// Counters read back per rule: UDP to 127.0.0.1 passes the loopback rules of the
    /// input and output chains.
    rule_counters_read_back_after_traffic {
        let up = Command::new(tool("ip")).args(["link", "set", "lo", "up"]).status().unwrap();
        assert!(up.success());
        netlink::apply(&table_of("defaults")).unwrap();
        let before = netlink::rule_counters().unwrap();
        assert!(before.iter().all(|c| c.packets == 0 && c.bytes == 0), "{before:?}");
        assert!(before.iter().any(|c| c.comment.as_deref() == Some("anti-lockout: admin panel from the lan")));

        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        for _ in 0..3 {
            socket.send_to(b"mamori", "127.0.0.1:9").unwrap();
        }
        let counters = netlink::rule_counters().unwrap();
        for chain in ["input", "output"] {
            let c = counters
                .iter()
                .find(|c| c.chain == chain && c.comment.as_deref() == Some("loopback"))
                .unwrap_or_else(|| panic!("no loopback rule in {chain}: {counters:?}"));
            assert!(c.packets >= 3 && c.bytes > 0, "{chain}: {c:?}");
            assert!(c.handle > 0);
        }
        // The listing agrees.
        assert!(!listing().contains("iifname \"lo\" counter packets 0 bytes 0"));
    }
}

netns_test! {
    /// `delete_table` removes the table, and says when there was none.
    the_table_is_deleted {
        netlink::apply(&table_of("defaults")).unwrap();
        assert!(netlink::delete_table().unwrap());
        let out = Command::new(tool("nft")).args(["list", "tables"]).output().unwrap();
        assert!(!String::from_utf8_lossy(&out.stdout).contains("mamori"));
        assert!(!netlink::delete_table().unwrap());
        // The kernel's rule dump filtered by a missing table is empty, not an error.
        assert!(netlink::rule_counters().unwrap().is_empty());
        let err = netlink::set_elements("blocklist").unwrap_err();
        assert_eq!(err.errno(), Some(libc_enoent()), "{err}");
    }
}
