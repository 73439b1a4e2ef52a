//! The boot-environment stores against the real tools: what `UBootEnv` writes, `fw_printenv`
//! reads and what `fw_setenv` writes, `UBootEnv` reads (libubootenv-tool); the same with
//! `grub-editenv` (grub-common). A missing tool fails the tests rather than skipping them.

use mamori_update::bootenv::grub::{self, GrubEnv};
use mamori_update::bootenv::uboot::{self, UBootEnv};
use mamori_update::bootenv::{BootEnv, Vars};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs a tool, failing the test with the Debian package to install when it is missing.
fn run(program: &str, args: &[&str], package: &str) -> String {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|error| {
            panic!("cannot run {program} ({error}): install the Debian package {package}")
        });
    assert!(
        output.status.success(),
        "{program} {args:?}: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("the tool's output is UTF-8")
}

fn fw_printenv(config: &Path) -> String {
    run("fw_printenv", &["-c", text(config)], "libubootenv-tool")
}

fn fw_setenv(config: &Path, default_env: &Path, args: &[&str]) {
    let mut all = vec!["-c", text(config), "-f", text(default_env)];
    all.extend_from_slice(args);
    run("fw_setenv", &all, "libubootenv-tool");
}

fn grub_editenv(file: &Path, args: &[&str]) -> String {
    let mut all = vec![text(file)];
    all.extend_from_slice(args);
    run("grub-editenv", &all, "grub-common")
}

fn text(path: &Path) -> &str {
    path.to_str().expect("temporary paths are UTF-8")
}

fn vars(pairs: &[(&str, &str)]) -> Vars {
    pairs
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

/// What `fw_printenv` and `grub-editenv list` print for `vars`: `name=value` lines in name order.
fn listing(vars: &Vars) -> String {
    vars.iter()
        .map(|(name, value)| format!("{name}={value}\n"))
        .collect()
}

const PATTERN: u8 = 0xA5;

/// A 128 KiB image full of PATTERN and an `fw_env.config` with the given lines (`{}` is the
/// image's path), plus an empty default environment for fw_setenv's first write.
struct Layout {
    dir: tempfile::TempDir,
    image: PathBuf,
    config: PathBuf,
    default_env: PathBuf,
}

impl Layout {
    fn new(lines: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let image = dir.path().join("flash.img");
        std::fs::write(&image, vec![PATTERN; 0x20000]).expect("image");
        let config = dir.path().join("fw_env.config");
        let text: String = lines
            .iter()
            .map(|line| line.replace("{}", text(&image)) + "\n")
            .collect();
        std::fs::write(&config, format!("# test layout\n{text}")).expect("config");
        let default_env = dir.path().join("default.env");
        std::fs::write(&default_env, "").expect("default environment");
        Layout {
            dir,
            image,
            config,
            default_env,
        }
    }

    fn env(&self) -> UBootEnv {
        UBootEnv::from_config_file(&self.config).expect("our parser reads the config")
    }

    /// Checks that nothing outside `regions` (offset, size) was touched.
    fn assert_untouched_outside(&self, regions: &[(usize, usize)]) {
        let bytes = std::fs::read(&self.image).expect("image");
        assert_eq!(bytes.len(), 0x20000, "the image keeps its size");
        for (index, byte) in bytes.iter().enumerate() {
            if !regions
                .iter()
                .any(|&(start, size)| (start..start + size).contains(&index))
            {
                assert_eq!(
                    *byte, PATTERN,
                    "byte {index:#x} outside the environment changed"
                );
            }
        }
    }
}

const SINGLE: &[&str] = &["{} 0 0x2000"];
const SINGLE_AT_OFFSET: &[&str] = &["{}  65536 2000   # decimal offset, hex size without 0x"];
const REDUNDANT: &[&str] = &["{} 0x10000 0x4000", "{} 0x14000 0x4000 0x4000 1"];

/// The environment's regions in the image, as (offset, size).
type Regions = &'static [(usize, usize)];

const LAYOUTS: [(&[&str], Regions); 3] = [
    (SINGLE, &[(0, 0x2000)]),
    (SINGLE_AT_OFFSET, &[(0x10000, 0x2000)]),
    (REDUNDANT, &[(0x10000, 0x4000), (0x14000, 0x4000)]),
];

fn many(count: usize, round: usize) -> Vars {
    (0..count)
        .map(|i| (format!("var{i:03}"), format!("value {i} of round {round}")))
        .collect()
}

#[test]
fn fw_printenv_reads_what_uboot_env_writes() {
    for (lines, regions) in LAYOUTS {
        let layout = Layout::new(lines);
        let mut env = layout.env();
        let mut expected = vars(&[
            ("bootcmd", "run distro_bootcmd; echo fallback"),
            (
                "bootargs",
                "console=ttyS0,115200 root=/dev/mmcblk0p2 rootwait",
            ),
            ("mamori_slot", "a"),
            ("script", "line one\nline two"),
        ]);
        for round in 0..5 {
            expected.insert("mamori_tries".into(), round.to_string());
            expected.extend(many(40, round));
            env.write(&expected).expect("our write");
            assert_eq!(
                fw_printenv(&layout.config),
                listing(&expected),
                "{lines:?} round {round}"
            );
            assert_eq!(env.read().expect("our read"), expected);
        }
        layout.assert_untouched_outside(regions);
    }
}

#[test]
fn uboot_env_reads_what_fw_setenv_writes() {
    for (lines, regions) in LAYOUTS {
        let layout = Layout::new(lines);
        let setenv = |args: &[&str]| fw_setenv(&layout.config, &layout.default_env, args);
        setenv(&["mamori_slot", "b", "bootargs", "console=ttyS0,115200 quiet"]);
        setenv(&["mamori_tries", "3"]);
        setenv(&["mamori_slot", "a"]);
        setenv(&["mamori_tries"]); // deletes it
        let script = layout.dir.path().join("script");
        let mut expected = many(100, 7);
        std::fs::write(&script, listing(&expected)).expect("script");
        setenv(&["-s", text(&script)]);
        expected.extend(vars(&[
            ("mamori_slot", "a"),
            ("bootargs", "console=ttyS0,115200 quiet"),
        ]));
        assert_eq!(
            layout.env().read().expect("our read"),
            expected,
            "{lines:?}"
        );
        if lines.len() == 2 {
            // Five writes from an image without a valid copy: copy 0 counts as current, so
            // copy 1 got copy 0's raw flag byte plus one, then the copies alternated.
            let bytes = std::fs::read(&layout.image).expect("image");
            assert_eq!((bytes[0x10004], bytes[0x14004]), (PATTERN + 4, PATTERN + 5));
        }
        // And interleaved: ours, the tool, ours, each reading the other's last write.
        let mut env = layout.env();
        expected.insert("mamori_slot".into(), "b".into());
        env.write(&expected).expect("our write");
        setenv(&["mamori_good", "yes please"]);
        expected.insert("mamori_good".into(), "yes please".into());
        assert_eq!(env.read().expect("our read"), expected);
        assert_eq!(fw_printenv(&layout.config), listing(&expected));
        layout.assert_untouched_outside(regions);
    }
}

#[test]
fn the_redundant_flag_wraps_and_a_bad_copy_falls_back_like_libubootenv() {
    // Both orders: the newer copy (flag 0xFF) second, then first.
    for (older, newer) in [(0x10000, 0x14000), (0x14000, 0x10000)] {
        let layout = Layout::new(REDUNDANT);
        let image = || std::fs::read(&layout.image).expect("image");
        let mut bytes = image();
        let copy = |name: &str, flag| {
            uboot::encode(&vars(&[("copy", name)]), 0x4000, Some(flag)).expect("encode")
        };
        bytes[older..older + 0x4000].copy_from_slice(&copy("older", 0xFE));
        bytes[newer..newer + 0x4000].copy_from_slice(&copy("newer", 0xFF));
        std::fs::write(&layout.image, &bytes).expect("image");
        assert_eq!(
            fw_printenv(&layout.config),
            "copy=newer
"
        );
        let read = || layout.env().read().expect("our read");
        assert_eq!(read(), vars(&[("copy", "newer")]));

        // fw_setenv writes the older copy with 0xFF + 1 = 0x00, which both take as current.
        fw_setenv(&layout.config, &layout.default_env, &["copy", "wrapped"]);
        assert_eq!(image()[older + 4], 0x00);
        assert_eq!(read(), vars(&[("copy", "wrapped")]));
        // We write the other copy with flag 0x01, which fw_printenv takes as current.
        layout
            .env()
            .write(&vars(&[("copy", "ours")]))
            .expect("our write");
        assert_eq!(image()[newer + 4], 0x01);
        assert_eq!(fw_printenv(&layout.config), "copy=ours\n");

        // A half-written newest copy (bad CRC): both fall back to the other one.
        let mut bytes = image();
        bytes[newer + 0x10] ^= 0xFF;
        std::fs::write(&layout.image, &bytes).expect("image");
        assert_eq!(fw_printenv(&layout.config), "copy=wrapped\n");
        assert_eq!(read(), vars(&[("copy", "wrapped")]));
    }
}

fn grub_vars() -> Vars {
    vars(&[
        ("saved_entry", "Mamori (slot A)"),
        ("next_entry", "1"),
        ("mamori_slot", "b"),
        ("path", "C:\\boot\\x"),
        ("script", "first line\nsecond line"),
        ("odd", "a=b #c"),
        ("empty", ""),
    ])
}

#[test]
fn grub_editenv_reads_what_grub_env_writes() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let ours = dir.path().join("grubenv");
    let expected = grub_vars();
    GrubEnv::new(&ours).write(&expected).expect("our write");
    assert_eq!(grub_editenv(&ours, &["list"]), listing(&expected));

    // Byte for byte what grub-editenv writes for the same variables set in name order.
    let theirs = dir.path().join("grubenv.tool");
    grub_editenv(&theirs, &["create"]);
    let assignments: Vec<String> = expected
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect();
    let mut args = vec!["set"];
    args.extend(assignments.iter().map(String::as_str));
    grub_editenv(&theirs, &args);
    assert_eq!(
        std::fs::read(&theirs).expect("tool's block"),
        std::fs::read(&ours).expect("our block")
    );
    assert_eq!(
        grub::encode(&expected).expect("encode"),
        std::fs::read(&ours).expect("our block")
    );
}

#[test]
fn grub_env_reads_what_grub_editenv_writes() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let file = dir.path().join("grubenv");
    grub_editenv(&file, &["create"]);
    assert_eq!(GrubEnv::new(&file).read().expect("our read"), Vars::new());
    grub_editenv(
        &file,
        &[
            "set",
            "saved_entry=Mamori (slot A)",
            "path=C:\\boot",
            "doomed=x",
        ],
    );
    grub_editenv(
        &file,
        &[
            "set",
            "script=first line\nsecond line",
            "saved_entry=Mamori (slot B)",
        ],
    );
    grub_editenv(&file, &["unset", "doomed"]);
    grub_editenv(&file, &["set", "next_entry=1"]);
    let expected = vars(&[
        ("saved_entry", "Mamori (slot B)"),
        ("path", "C:\\boot"),
        ("script", "first line\nsecond line"),
        ("next_entry", "1"),
    ]);
    let mut env = GrubEnv::new(&file);
    assert_eq!(env.read().expect("our read"), expected);
    // Round trip: our rewrite is still what grub-editenv lists.
    env.write(&expected).expect("our write");
    assert_eq!(grub_editenv(&file, &["list"]), listing(&expected));
}
