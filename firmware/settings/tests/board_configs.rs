//! Every board folder of `board-configs/` keeps the contract of its README: a defaults file
//! that validates as the daemons read it (laid under the settings store with `--defaults`),
//! alone and under the appliance's `mamori.toml`; firewall zones naming `lan` and `wan`; both
//! update slots and a boot environment; `board.toml` with the image's facts; and `network/`
//! files that give the ports the names `lan` and `wan`.

#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::{Path, PathBuf};

use mamori_firewall::model::ZoneName;
use mamori_settings::Config;
use mamori_settings::store::Store;
use toml::Table;

/// The boards every image recipe expects.
const REQUIRED: [&str; 3] = ["qemu-aarch64-virt", "raspberrypi4-64", "nanopi-r5s"];

fn boards() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../board-configs");
    let mut boards: Vec<PathBuf> = fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    boards.sort();
    boards
}

fn name(board: &Path) -> String {
    board.file_name().unwrap().to_string_lossy().into_owned()
}

fn table(path: &Path) -> Table {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.parse()
        .unwrap_or_else(|e| panic!("{}: not TOML: {e}", path.display()))
}

/// The settings in force when `document` is the store's version over the board's defaults:
/// what `mamori settings --defaults … seed` checks and the daemons then read.
fn effective(board: &Path, document: &Table) -> Config {
    let dir = tempfile::tempdir().unwrap();
    let defaults = board.join("defaults.toml");
    let store = Store::open(&dir.path().join("settings"), Some(&defaults)).unwrap();
    let loaded = store
        .effective(document)
        .unwrap_or_else(|e| panic!("{}: {e}", name(board)));
    assert!(
        loaded.report.is_ok(),
        "{}: the board's defaults do not validate:\n{}",
        name(board),
        loaded.report
    );
    // And as a daemon reads it: seeded as version 1, then the version in force.
    assert!(store.seed(document, "test").unwrap());
    let config = store
        .current_config()
        .unwrap_or_else(|e| panic!("{}: {e}", name(board)))
        .unwrap();
    assert_eq!(config, loaded.config, "{}", name(board));
    config
}

#[test]
fn the_required_boards_exist() {
    let names: Vec<String> = boards().iter().map(|b| name(b)).collect();
    for board in REQUIRED {
        assert!(
            names.iter().any(|n| n == board),
            "{board} missing: {names:?}"
        );
    }
}

#[test]
fn every_board_has_its_files() {
    for board in boards() {
        for file in ["README.md", "board.toml", "defaults.toml", "mamori.toml"] {
            assert!(board.join(file).is_file(), "{}: no {file}", name(&board));
        }
        assert!(
            board.join("network").is_dir(),
            "{}: no network/",
            name(&board)
        );
    }
}

#[test]
fn every_defaults_file_validates_alone_and_under_the_appliance_file() {
    for board in boards() {
        let alone = effective(&board, &Table::new());
        let with_file = effective(&board, &table(&board.join("mamori.toml")));
        // The appliance file adds to the defaults; it does not undo the board's facts.
        assert_eq!(
            alone.firewall.zones,
            with_file.firewall.zones,
            "{}",
            name(&board)
        );
        assert_eq!(alone.update, with_file.update, "{}", name(&board));
    }
}

#[test]
fn every_board_names_lan_and_wan_and_has_both_slots() {
    for board in boards() {
        let b = name(&board);
        let config = effective(&board, &Table::new());
        let zones = &config.firewall.zones;
        for (zone, interface) in [(ZoneName::Lan, "lan"), (ZoneName::Wan, "wan")] {
            let z = zones.get(zone).unwrap();
            assert!(
                z.interfaces.iter().any(|i| i.as_str() == interface),
                "{b}: zone {} does not name interface {interface}: {:?}",
                zone.as_str(),
                z.interfaces
            );
        }
        let update = &config.update;
        assert!(
            update.boot_env != mamori_update::config::UpdateConfig::default().boot_env,
            "{b}: [update] boot_env is the default file, not the board's boot loader"
        );
        for slot in ["A", "B"] {
            let devices = update
                .slots
                .get(slot)
                .unwrap_or_else(|| panic!("{b}: no [update.slots.{slot}]"));
            assert!(
                devices.contains_key("rootfs"),
                "{b}: slot {slot} has no rootfs"
            );
        }
    }
}

#[test]
fn real_boards_keep_the_default_health_window() {
    let default = mamori_update::config::UpdateConfig::default();
    for board in boards() {
        if name(&board).starts_with("qemu-") {
            continue;
        }
        let config = effective(&board, &Table::new());
        assert_eq!(
            (config.update.health_window, config.update.health_deadline),
            (default.health_window, default.health_deadline),
            "{}",
            name(&board)
        );
    }
}

#[test]
fn every_board_toml_has_the_image_facts() {
    for board in boards() {
        let b = name(&board);
        let t = table(&board.join("board.toml"));
        assert_eq!(t.get("board").and_then(|v| v.as_str()), Some(b.as_str()));
        assert!(
            t.get("crypto_extensions").is_some_and(|v| v.is_bool()),
            "{b}: crypto_extensions = true/false"
        );
        let parts = t.get("partitions").and_then(|v| v.as_table()).unwrap();
        for p in ["boot", "root_a", "root_b", "data"] {
            let mib = parts.get(p).and_then(|v| v.as_integer());
            assert!(mib.is_some_and(|m| m > 0), "{b}: partitions.{p} in MiB");
        }
        let console = t.get("console").and_then(|v| v.as_table()).unwrap();
        assert!(
            console.get("device").and_then(|v| v.as_str()).is_some(),
            "{b}"
        );
        assert!(
            console.get("baud").and_then(|v| v.as_integer()).is_some(),
            "{b}"
        );
        let boot = t.get("boot").and_then(|v| v.as_table()).unwrap();
        assert!(boot.get("loader").and_then(|v| v.as_str()).is_some(), "{b}");
    }
}

/// The `Key=value` lines of `section` in a systemd unit-style file.
fn values(text: &str, section: &str, key: &str) -> Vec<String> {
    let mut current = "";
    let mut found = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            current = line;
        } else if current == section
            && let Some((k, v)) = line.split_once('=')
            && k.trim() == key
        {
            found.push(v.trim().to_string());
        }
    }
    found
}

#[test]
fn every_board_names_its_ports_lan_and_wan() {
    for board in boards() {
        let b = name(&board);
        let mut linked = Vec::new();
        let mut bridges = Vec::new();
        for entry in fs::read_dir(board.join("network")).unwrap() {
            let path = entry.unwrap().path();
            let text = fs::read_to_string(&path).unwrap();
            match path.extension().and_then(|e| e.to_str()) {
                Some("link") => {
                    let paths = values(&text, "[Match]", "Path");
                    assert!(
                        !paths.is_empty(),
                        "{}: matches no device path",
                        path.display()
                    );
                    linked.extend(values(&text, "[Link]", "Name"));
                }
                Some("netdev") if values(&text, "[NetDev]", "Kind") == ["bridge"] => {
                    bridges.extend(values(&text, "[NetDev]", "Name"));
                }
                _ => {}
            }
        }
        // `wan` is a port; `lan` a port or a bridge of ports (two LAN sockets).
        assert!(linked.iter().any(|n| n == "wan"), "{b}: no .link names wan");
        assert!(
            linked.iter().any(|n| n == "lan") || bridges.iter().any(|n| n == "lan"),
            "{b}: no .link (or bridge .netdev) names lan"
        );
    }
}
