use super::*;
use crate::record::{FORMAT, Refusal, State};
use crate::token::Purpose;

fn record(secret: &Secret, expires: u64) -> LinkRecord {
    LinkRecord {
        format: FORMAT,
        id: String::new(),
        created: 100,
        expires,
        max_downloads: 1,
        files: Vec::new(),
        queue_id: "Q1".into(),
        sender: "taro@office.test".into(),
        recipients: vec!["x@partner.test".into()],
        subject: "見積".into(),
        verifier: secret.verifier(Purpose::Download),
        manage_verifier: String::new(),
        password_hash: None,
    }
}

fn make(store: &Store, files: &[(&str, &[u8])], expires: u64) -> (LinkId, Secret) {
    let secret = Secret::random().unwrap();
    let mut draft = store.draft(&secret).unwrap();
    for (name, data) in files {
        draft
            .add_file(name, "application/octet-stream", &mut &data[..])
            .unwrap();
    }
    let record = draft.commit(record(&secret, expires)).unwrap();
    (LinkId::parse(&record.id).unwrap(), secret)
}

fn read_file(store: &Store, id: &LinkId, index: u32, secret: &Secret) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    store
        .open_file(id, index, secret)
        .map_err(std::io::Error::other)?
        .read_to_end(&mut out)?;
    Ok(out)
}

#[test]
fn a_link_is_made_whole_and_its_files_open_only_with_its_secret() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path().join("links"));
    let big: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
    let (id, secret) = make(
        &store,
        &[("見積書.pdf", b"%PDF-1.7 secret"), ("b.bin", &big)],
        1000,
    );
    let link = store.load(&id).unwrap().unwrap();
    assert_eq!(link.record.files.len(), 2);
    assert_eq!(link.record.files[1].size, big.len() as u64);
    assert_eq!(link.record.files[0].name, "見積書.pdf");
    assert_eq!(
        read_file(&store, &id, 0, &secret).unwrap(),
        b"%PDF-1.7 secret"
    );
    assert_eq!(read_file(&store, &id, 1, &secret).unwrap(), big);
    let other = Secret::random().unwrap();
    assert!(read_file(&store, &id, 0, &other).is_err());
    // Nothing of the content is on the disk in the clear, and no draft is left behind.
    for entry in
        std::fs::read_dir(dir.path().join("links").join(id.as_str()).join("files")).unwrap()
    {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(!bytes.windows(6).any(|w| w == b"secret"));
    }
    let names: Vec<_> = std::fs::read_dir(store.dir())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from(id.as_str())]);
}

#[test]
fn downloads_failures_and_revocation_are_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path());
    let (id, secret) = make(&store, &[("a", b"1")], 1000);
    store
        .record_download(
            &id,
            &Download {
                at: 150,
                file: 0,
                from: "192.0.2.7".into(),
            },
        )
        .unwrap();
    store.record_failure(&id, 151).unwrap();
    let link = store.load(&id).unwrap().unwrap();
    assert_eq!(link.downloads.len(), 1);
    assert_eq!(link.password_failures, 1);
    assert_eq!(link.decide(0, 200), Err(Refusal::Exhausted));
    store
        .revoke(
            &id,
            &Revocation {
                at: 160,
                by: "sender".into(),
            },
        )
        .unwrap();
    assert!(matches!(
        store.revoke(
            &id,
            &Revocation {
                at: 161,
                by: "admin".into()
            }
        ),
        Err(StoreError::AlreadyRevoked)
    ));
    let link = store.load(&id).unwrap().unwrap();
    assert_eq!(link.state(200), State::Revoked);
    assert!(link.erased);
    assert!(
        read_file(&store, &id, 0, &secret).is_err(),
        "revoked files are erased"
    );
    assert_eq!(store.load(&LinkId::random().unwrap()).unwrap(), None);
}

#[test]
fn a_sweep_erases_expired_files_then_removes_old_records_and_cut_off_drafts() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path());
    let (old, _) = make(&store, &[("a", b"1")], 500);
    let (young, secret) = make(&store, &[("a", b"2")], 5000);
    let (used, _) = make(&store, &[("a", b"3")], 5000);
    store
        .record_download(
            &used,
            &Download {
                at: 900,
                file: 0,
                from: "192.0.2.9".into(),
            },
        )
        .unwrap();
    let abandoned = store.draft(&secret).unwrap();
    drop(abandoned);
    let sweep = store.sweep(1000, 10_000).unwrap();
    let mut erased = sweep.erased.clone();
    erased.sort();
    let mut expected = vec![old.clone(), used.clone()];
    expected.sort();
    assert_eq!(erased, expected, "the expired one and the used-up one");
    assert!(store.load(&old).unwrap().unwrap().erased);
    assert!(!store.load(&young).unwrap().unwrap().erased);
    let sweep = store.sweep(20_000, 16_000).unwrap();
    assert_eq!(sweep.removed, vec![old.clone()]);
    assert_eq!(store.load(&old).unwrap(), None);
    // The draft is older than an hour at that time (its directory was made "now", in 2026).
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    store.sweep(now + 2 * STALE_NEW_SECS, u64::MAX / 2).unwrap();
    assert!(std::fs::read_dir(store.dir()).unwrap().all(|e| {
        !e.unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with(".new-")
    }));
}

#[test]
fn a_record_under_another_id_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path());
    let (a, _) = make(&store, &[("a", b"1")], 1000);
    let (b, _) = make(&store, &[("a", b"1")], 1000);
    std::fs::copy(
        dir.path().join(a.as_str()).join("link.json"),
        dir.path().join(b.as_str()).join("link.json"),
    )
    .unwrap();
    assert!(matches!(store.load(&b), Err(StoreError::Corrupt { .. })));
}

#[test]
fn the_store_is_shared_by_a_group_whatever_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path().join("links"));
    let (id, _) = make(&store, &[("a", b"1")], 1000);
    store
        .record_download(
            &id,
            &Download {
                at: 1,
                file: 0,
                from: "192.0.2.1".into(),
            },
        )
        .unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
    let link = dir.path().join("links").join(id.as_str());
    assert_eq!(mode(&dir.path().join("links")), 0o770);
    assert_eq!(mode(&link), 0o770);
    assert_eq!(mode(&link.join("files")), 0o770);
    assert_eq!(mode(&link.join("files/0")), 0o640);
    assert_eq!(mode(&link.join("link.json")), 0o640);
    assert_eq!(mode(&link.join("downloads")), 0o640);
}
