//! The repository tool and the client together: what `mamori repo` publishes, a box accepts;
//! rotations made with the tool chain; and the TUF attacks replayed against a repository the
//! tool made (python-tuf's repositories are the independent check, in the system tests).

#![allow(clippy::unwrap_used)] // the helpers of a test

use std::path::PathBuf;

use mamori_update::bundle::Offer;
use mamori_update::client::{
    DirRepository, Limits, MetadataDir, RefreshError, refresh, target_file_name,
};
use mamori_update::metadata::Role;
use mamori_update::repo::{InitOptions, Repo, read_key_file, write_bundle};
use mamori_update::target::TargetCheck;
use serde_json::json;

const NOW: u64 = 1_796_515_200; // 2026-12-06T00:00:00Z

struct Fixture {
    _tmp: tempfile::TempDir,
    repo: Repo,
    dir: PathBuf,
    state: PathBuf,
}

fn fixture(opts: InitOptions) -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("repo");
    let state = tmp.path().join("box");
    let repo = Repo::open(&dir);
    repo.init(&opts, NOW).unwrap();
    Fixture {
        _tmp: tmp,
        repo,
        dir,
        state,
    }
}

impl Fixture {
    fn shipped_root(&self) -> Vec<u8> {
        std::fs::read(self.dir.join("repository/metadata/1.root.json")).unwrap()
    }

    fn refresh_at(&self, now: u64) -> Result<mamori_update::trust::TrustedSet, RefreshError> {
        refresh(
            &self.shipped_root(),
            &MetadataDir::new(&self.state),
            &mut DirRepository::new(self.repo.served()),
            Limits::default(),
            now,
        )
    }

    fn add_bundle(&self, version: &str) -> String {
        let img = self.dir.join(format!("rootfs-{version}.img"));
        std::fs::write(&img, format!("root file system {version}").repeat(100)).unwrap();
        let offer = Offer {
            board: "qemu-aarch64".into(),
            version: version.into(),
            min_version: "1.0".into(),
            notes: Default::default(),
        };
        let bundle = self.dir.join("b.bundle");
        write_bundle(&offer, &[("rootfs".into(), img)], NOW, &bundle).unwrap();
        let name = format!("mamori-qemu-aarch64-{version}.bundle");
        self.repo
            .add_target(&name, &bundle, Some(json!({"mamori": offer})))
            .unwrap();
        name
    }

    fn metadata(&self, name: &str) -> PathBuf {
        self.dir.join("repository/metadata").join(name)
    }
}

fn kind(r: Result<mamori_update::trust::TrustedSet, RefreshError>) -> &'static str {
    match r {
        Ok(_) => "ok",
        Err(e) => e.kind(),
    }
}

#[test]
fn a_published_target_is_found_and_verifies() {
    let f = fixture(InitOptions::default());
    let name = f.add_bundle("1.1.0");
    f.repo.publish(&[], NOW).unwrap();
    let set = f.refresh_at(NOW).unwrap();
    let target = set.target(&name).unwrap().clone();
    let offer = Offer::from_custom(target.custom.as_ref()).unwrap();
    assert_eq!(offer.version, "1.1.0");
    let file =
        DirRepository::new(f.repo.served()).target_path(&target_file_name(&set, &name, &target));
    let bytes = std::fs::read(file).unwrap();
    let mut check = TargetCheck::new(&name, &target).unwrap();
    check.update(&bytes).unwrap();
    check.finish().unwrap();
    // A second refresh with nothing new uses the stored copies.
    assert_eq!(kind(f.refresh_at(NOW + 60)), "ok");
}

#[test]
fn root_rotation_with_offline_keys_and_a_higher_threshold() {
    let f = fixture(InitOptions {
        root_keys: 2,
        root_threshold: 2,
        offline_root: true,
        ..Default::default()
    });
    assert_eq!(kind(f.refresh_at(NOW)), "ok");
    let old1 = read_key_file(&f.dir.join("offline/root-1.pk8")).unwrap();
    let old2 = read_key_file(&f.dir.join("offline/root-2.pk8")).unwrap();
    // A second targets key and a threshold of 2 for targets.
    let extra = mamori_update::repo::generate_key_file(&f.dir.join("keys/targets-2.pk8")).unwrap();
    f.repo
        .change_keys(Role::Targets, Some(extra.public()), None, Some(2))
        .unwrap();
    // Not signed yet: publishing refuses and names what to do.
    let err = f.repo.publish(&[], NOW).unwrap_err().to_string();
    assert!(err.contains("mamori repo sign"), "{err}");
    f.repo.sign_root(&old1).unwrap();
    assert!(
        f.repo.publish(&[], NOW).is_err(),
        "one of two root signatures is not enough"
    );
    f.repo.sign_root(&old2).unwrap();
    f.repo.publish(&[], NOW).unwrap();
    let set = f.refresh_at(NOW).unwrap();
    assert_eq!(set.root().common.version, 2);
    assert_eq!(set.root().role_keys(Role::Targets).unwrap().threshold, 2);
    // The stored chain is replayed from the shipped root on the next refresh.
    assert!(f.state.join("root/2.root.json").exists());
    assert_eq!(kind(f.refresh_at(NOW)), "ok");

    // Now the targets role needs both keys: without the second one, publish refuses.
    std::fs::rename(
        f.dir.join("keys/targets-2.pk8"),
        f.dir.join("targets-2.away"),
    )
    .unwrap();
    let err = f.repo.publish(&[], NOW).unwrap_err().to_string();
    assert!(err.contains("targets role needs 2"), "{err}");
    let away = read_key_file(&f.dir.join("targets-2.away")).unwrap();
    f.repo.publish(&[away], NOW).unwrap();
    assert_eq!(kind(f.refresh_at(NOW)), "ok");
}

#[test]
fn rollback_freeze_and_mix_and_match_are_refused() {
    let f = fixture(InitOptions::default());
    f.add_bundle("1.1.0");
    f.repo.publish(&[], NOW).unwrap(); // targets 2, snapshot 2, timestamp 2
    let old_timestamp = std::fs::read(f.metadata("timestamp.json")).unwrap();
    f.add_bundle("1.2.0");
    f.repo.publish(&[], NOW).unwrap(); // 3, 3, 3
    assert_eq!(kind(f.refresh_at(NOW)), "ok");

    // Rollback: the server goes back to the older timestamp.
    let new_timestamp = std::fs::read(f.metadata("timestamp.json")).unwrap();
    std::fs::write(f.metadata("timestamp.json"), &old_timestamp).unwrap();
    assert_eq!(kind(f.refresh_at(NOW)), "rollback");
    std::fs::write(f.metadata("timestamp.json"), &new_timestamp).unwrap();

    // Freeze: a timestamp past its expiry (7 days) is refused, however valid its signature.
    assert_eq!(kind(f.refresh_at(NOW + 8 * 86_400)), "expired");

    // Mix and match: snapshot 3 served under the name of a version it is not.
    let fresh = f.dir.join("fresh");
    let g = Fixture {
        _tmp: tempfile::tempdir().unwrap(),
        repo: Repo::open(&f.dir),
        dir: f.dir.clone(),
        state: fresh,
    };
    let v3 = std::fs::read(f.metadata("3.targets.json")).unwrap();
    let v2 = std::fs::read(f.metadata("2.targets.json")).unwrap();
    std::fs::write(f.metadata("3.targets.json"), &v2).unwrap();
    assert_eq!(kind(g.refresh_at(NOW)), "version_mismatch");
    std::fs::write(f.metadata("3.targets.json"), &v3).unwrap();
    assert_eq!(kind(g.refresh_at(NOW)), "ok");
}

#[test]
fn endless_data_and_tampered_metadata_are_refused() {
    let f = fixture(InitOptions::default());
    f.repo.publish(&[], NOW).unwrap();
    let ts = f.metadata("timestamp.json");
    let good = std::fs::read(&ts).unwrap();
    std::fs::write(&ts, vec![b' '; 20_000]).unwrap();
    assert_eq!(kind(f.refresh_at(NOW)), "too_large");
    // One byte of the signed part changed: the signature no longer holds.
    let text =
        String::from_utf8(good.clone())
            .unwrap()
            .replacen("\"version\": ", "\"version\":  1", 1);
    std::fs::write(&ts, text).unwrap();
    assert!(matches!(
        kind(f.refresh_at(NOW)),
        "bad_signature" | "bad_metadata"
    ));
    // A snapshot changed after the timestamp pinned its hash.
    std::fs::write(&ts, &good).unwrap();
    let snap = f.metadata("2.snapshot.json");
    let good_snap = std::fs::read(&snap).unwrap();
    let mut longer = good_snap.clone();
    longer.push(b'\n');
    std::fs::write(&snap, &longer).unwrap();
    let fresh = Fixture {
        _tmp: tempfile::tempdir().unwrap(),
        repo: Repo::open(&f.dir),
        dir: f.dir.clone(),
        state: f.dir.join("other-box"),
    };
    // Longer than the pinned length: cut off at that length.
    assert_eq!(kind(fresh.refresh_at(NOW)), "length_mismatch");
    // Same length, other bytes (an indentation space made a tab): the hash differs.
    let mut same_len = good_snap.clone();
    let at = same_len.iter().position(|b| *b == b' ').unwrap();
    same_len[at] = b'\t';
    std::fs::write(&snap, &same_len).unwrap();
    assert_eq!(kind(fresh.refresh_at(NOW)), "hash_mismatch");
    // Shorter: the length differs.
    std::fs::write(&snap, &good_snap[..good_snap.len() - 1]).unwrap();
    assert_eq!(kind(fresh.refresh_at(NOW)), "length_mismatch");
}

#[test]
fn a_root_that_does_not_chain_is_not_used_even_when_stored() {
    let f = fixture(InitOptions::default());
    assert_eq!(kind(f.refresh_at(NOW)), "ok");
    // Somebody writes a self-signed root 2 into the box's store: it is ignored.
    let other = tempfile::tempdir().unwrap();
    let evil = Repo::open(other.path().join("r"));
    evil.init(&InitOptions::default(), NOW).unwrap();
    let evil_root = std::fs::read(other.path().join("r/repository/metadata/1.root.json")).unwrap();
    let text = String::from_utf8(evil_root).unwrap();
    std::fs::create_dir_all(f.state.join("root")).unwrap();
    std::fs::write(f.state.join("root/2.root.json"), text).unwrap();
    let set = f.refresh_at(NOW).unwrap();
    assert_eq!(set.root().common.version, 1);
}
