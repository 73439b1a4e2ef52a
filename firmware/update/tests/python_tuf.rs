//! Interoperability with python-tuf, the reference implementation (PyPI `tuf`, in the
//! virtual environment `ci/install-deps.sh` makes): its repositories — rotations, threshold
//! changes, expired roles and every attack of the scenario list — are accepted or refused by
//! this client exactly as python-tuf's own client does (`tests/update/tuf_scenarios.py`
//! checks that first), and what `mamori repo` publishes is accepted by python-tuf's client.
#![allow(clippy::unwrap_used)] // the helpers of a test

use std::path::{Path, PathBuf};
use std::process::Command;

use mamori_update::client::{DirRepository, Limits, MetadataDir, refresh, target_file_name};
use mamori_update::target::TargetCheck;
use serde_json::Value;

fn python() -> PathBuf {
    std::env::var_os("MAMORI_FORMATS_PYTHON").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/formats-venv/bin/python"),
        PathBuf::from,
    )
}

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/update")
        .join(name)
}

fn run_python(args: &[&std::ffi::OsStr]) -> std::process::Output {
    Command::new(python())
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e} (run `bash ci/install-deps.sh`: it makes the venv with tuf 6.0.0)",
                python().display()
            )
        })
}

/// The outcome of one step for this client: ("ok" | "refused", kind) for the refresh and,
/// when a target is named, for the target.
fn step_outcome(
    trusted_root: &[u8],
    store: &Path,
    repo: &Path,
    now: u64,
    target: Option<&str>,
) -> (String, String, Option<(String, String)>) {
    let result = refresh(
        trusted_root,
        &MetadataDir::new(store),
        &mut DirRepository::new(repo),
        Limits::default(),
        now,
    );
    let set = match result {
        Ok(set) => set,
        Err(e) => return ("refused".into(), e.kind().into(), None),
    };
    let Some(name) = target else {
        return ("ok".into(), String::new(), None);
    };
    let target_result = (|| {
        let t = set.target(name)?.clone();
        let path = DirRepository::new(repo).target_path(&target_file_name(&set, name, &t));
        let bytes = std::fs::read(path).unwrap_or_default();
        let mut check = TargetCheck::new(name, &t)?;
        check.update(&bytes)?;
        check.finish()
    })();
    let t = match target_result {
        Ok(()) => ("ok".to_string(), String::new()),
        Err(e) => ("refused".to_string(), e.kind().to_string()),
    };
    ("ok".into(), String::new(), Some(t))
}

#[test]
fn python_tuf_repositories_are_judged_as_python_tuf_judges_them() {
    let out = tempfile::tempdir().unwrap();
    let scenarios = out.path().join("scenarios");
    let made = run_python(&[
        script("tuf_scenarios.py").as_os_str(),
        scenarios.as_os_str(),
    ]);
    assert!(
        made.status.success(),
        "tuf_scenarios.py failed (python-tuf disagrees with an expectation?):\n{}\n{}",
        String::from_utf8_lossy(&made.stdout),
        String::from_utf8_lossy(&made.stderr)
    );
    let mut names: Vec<PathBuf> = std::fs::read_dir(&scenarios)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("expect.json").exists())
        .collect();
    names.sort();
    assert!(names.len() >= 40, "only {} scenarios", names.len());
    let mut failures = Vec::new();
    let mut steps = 0;
    for dir in &names {
        let expect: Value =
            serde_json::from_slice(&std::fs::read(dir.join("expect.json")).unwrap()).unwrap();
        let root = std::fs::read(dir.join("trusted_root.json")).unwrap();
        let store = out.path().join("box").join(dir.file_name().unwrap());
        for step in expect["steps"].as_array().unwrap() {
            steps += 1;
            let want = step.get("mamori_expect").unwrap_or(step);
            let now = mamori_core::clock::parse_rfc3339_utc(step["now"].as_str().unwrap()).unwrap();
            let target = step["target"].as_str();
            let (outcome, kind, t) = step_outcome(
                &root,
                &store,
                &dir.join(step["repo"].as_str().unwrap()),
                now,
                target,
            );
            let want_outcome = want["outcome"].as_str().unwrap_or("ok");
            let want_kind = want["error"].as_str().unwrap_or("");
            let mut bad = outcome != want_outcome || kind != want_kind;
            if let (Some((to, tk)), Some(want_to)) = (&t, want["target_outcome"].as_str()) {
                bad |= to != want_to || tk != want["target_error"].as_str().unwrap_or("");
            }
            if bad {
                failures.push(format!(
                    "{} {}: got {outcome}/{kind} target {t:?}, want {want}",
                    dir.file_name().unwrap().to_string_lossy(),
                    step["repo"]
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {steps} steps differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn python_tuf_accepts_what_mamori_repo_publishes() {
    use mamori_update::bundle::Offer;
    use mamori_update::metadata::Role;
    use mamori_update::repo::{InitOptions, Repo, generate_key_file, write_bundle};

    let tmp = tempfile::tempdir().unwrap();
    let now = mamori_core::clock::unix_now();
    let repo = Repo::open(tmp.path().join("repo"));
    repo.init(&InitOptions::default(), now).unwrap();
    let img = tmp.path().join("rootfs.img");
    std::fs::write(&img, vec![0x5a; 300_000]).unwrap();
    let offer = Offer {
        board: "qemu-aarch64".into(),
        version: "1.1.0".into(),
        min_version: "1.0.0".into(),
        notes: [("ja".to_string(), "セキュリティ修正".to_string())].into(),
    };
    let bundle = tmp.path().join("b.bundle");
    write_bundle(&offer, &[("rootfs".into(), img)], now, &bundle).unwrap();
    let name = "mamori-qemu-aarch64-1.1.0.bundle";
    repo.add_target(name, &bundle, Some(serde_json::json!({"mamori": offer})))
        .unwrap();
    repo.publish(&[], now).unwrap();
    // A rotation too: a second targets key, threshold 2, root version 2.
    let k2 = generate_key_file(&tmp.path().join("repo/keys/targets-2.pk8")).unwrap();
    repo.change_keys(Role::Targets, Some(k2.public()), None, Some(2))
        .unwrap();
    repo.publish(&[], now).unwrap();

    let served = repo.served();
    let got = tmp.path().join("got.bundle");
    let out = run_python(&[
        script("tuf_client.py").as_os_str(),
        "--root".as_ref(),
        served.join("metadata/1.root.json").as_os_str(),
        "--repo".as_ref(),
        served.as_os_str(),
        "--target".as_ref(),
        name.as_ref(),
        "--out".as_ref(),
        got.as_os_str(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(line["ok"], true);
    assert_eq!(line["custom"]["mamori"]["version"], "1.1.0");
    assert_eq!(line["custom"]["mamori"]["notes"]["ja"], "セキュリティ修正");
    assert_eq!(
        std::fs::read(&got).unwrap(),
        std::fs::read(&bundle).unwrap()
    );
    // Python's tarfile reads the bundle: the manifest first, then the image.
    let listing = run_python(&[
        "-c".as_ref(),
        "import sys, tarfile; print(' '.join(m.name + ':' + str(m.size) for m in tarfile.open(sys.argv[1])))".as_ref(),
        got.as_os_str(),
    ]);
    let listing = String::from_utf8_lossy(&listing.stdout);
    assert!(listing.starts_with("manifest.json:"), "{listing}");
    assert!(
        listing.trim_end().ends_with("rootfs.img:300000"),
        "{listing}"
    );
}
