//! The settings store: versions only go up, a bad change writes nothing, rollback is a new
//! version, history is bounded, newer formats are refused, writers never collide.

#![allow(clippy::unwrap_used)]

use mamori_settings::document::{parse_value, set};
use mamori_settings::store::{FORMAT, KEEP, Store, StoreError};

fn set_key(store: &Store, key: &str, value: &str) -> Result<u64, StoreError> {
    store
        .change("tanaka", &format!("set {key}"), |doc| {
            let v = parse_value(key, value).unwrap();
            set(doc, key, v).map_err(|e| StoreError::Document(e.to_string()))
        })
        .map(|c| c.version)
}

#[test]
fn changes_are_versioned_checked_whole_and_rolled_back_as_new_versions() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), None).unwrap();
    assert!(store.current().unwrap().is_none());
    assert_eq!(set_key(&store, "smtp.max_recipients", "500").unwrap(), 1);
    assert_eq!(set_key(&store, "smtp.max_recipients", "600").unwrap(), 2);
    let c = store.current_config().unwrap().unwrap();
    assert_eq!(c.smtp.max_recipients, 600);

    // A change with several mistakes: every one reported, nothing written.
    let err = store
        .change("tanaka", "bad", |doc| {
            set(doc, "smtp.max_line_length", 10.into()).unwrap();
            set(doc, "log.level", "[{f=".into()).unwrap();
            set(doc, "smtp.max_recipeints", 5.into()).unwrap();
            Ok(())
        })
        .unwrap_err();
    let StoreError::Invalid(report) = err else {
        panic!("{err}")
    };
    let keys: Vec<&str> = report.errors.iter().map(|e| e.key.as_str()).collect();
    assert!(keys.contains(&"log.level"), "{report}");
    assert!(keys.iter().any(|k| k.starts_with("smtp")), "{report}");
    assert_eq!(store.versions().unwrap(), [1, 2], "nothing written");

    let rolled = store.rollback(1, "sato").unwrap();
    assert_eq!(rolled.version, 3);
    assert_eq!(rolled.config.smtp.max_recipients, 500);
    let v3 = store.version(3).unwrap();
    assert_eq!(
        (v3.by.as_str(), v3.what.as_str()),
        ("sato", "rollback to version 1")
    );
    assert!(matches!(
        store.rollback(99, "sato"),
        Err(StoreError::NoVersion(99))
    ));

    // Each change was recorded in the store's audit chain before it was written.
    let chains = mamori_core::audit::find_chains(dir.path());
    assert_eq!(chains.len(), 1, "{chains:?}");
    let chain = &chains[0];
    assert_eq!(mamori_core::audit::verify(chain).unwrap(), 3);
    let text = std::fs::read_to_string(chain.join("audit.jsonl")).unwrap();
    assert!(
        text.contains("\"keys\":[\"smtp.max_recipients\"]"),
        "{text}"
    );
}

#[test]
fn only_the_last_versions_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), None).unwrap();
    for i in 0..KEEP + 5 {
        set_key(&store, "smtp.max_recipients", &(100 + i).to_string()).unwrap();
    }
    let kept = store.versions().unwrap();
    assert_eq!(kept.len() as u64, KEEP);
    assert_eq!(kept[0], 6);
    assert_eq!(*kept.last().unwrap(), KEEP + 5);
}

#[test]
fn a_version_of_a_newer_format_is_refused_not_misread() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), None).unwrap();
    set_key(&store, "smtp.max_recipients", "500").unwrap();
    let newer = serde_json::json!({"format": FORMAT + 1, "version": 2, "whatever": "new"});
    std::fs::write(dir.path().join("v00000002.json"), newer.to_string()).unwrap();
    let err = store.current().unwrap_err();
    assert!(
        matches!(err, StoreError::NewerFormat { found, .. } if found == FORMAT + 1),
        "{err}"
    );
    assert!(
        err.to_string().contains("newer than this firmware"),
        "{err}"
    );
    // No change is made on top of what cannot be read.
    assert!(set_key(&store, "smtp.max_recipients", "600").is_err());
    std::fs::write(dir.path().join("v00000002.json"), "{\"format\":1,").unwrap();
    assert!(matches!(store.current(), Err(StoreError::Corrupt { .. })));
}

#[test]
fn the_document_lies_over_the_board_defaults_and_the_file_only_seeds() {
    let dir = tempfile::tempdir().unwrap();
    let defaults = dir.path().join("defaults.toml");
    std::fs::write(
        &defaults,
        "[general]\nhostname = \"board.example.jp\"\n[smtp]\nmax_recipients = 200\n",
    )
    .unwrap();
    let store = Store::open(&dir.path().join("settings"), Some(&defaults)).unwrap();
    let file: toml::Table = "[smtp]\nmax_recipients = 300\n".parse().unwrap();
    assert!(store.seed(&file, "seed").unwrap());
    assert!(!store.seed(&file, "seed").unwrap(), "only on first boot");
    let c = store.current_config().unwrap().unwrap();
    assert_eq!(c.general.hostname, "board.example.jp");
    assert_eq!(c.smtp.max_recipients, 300);
    // The file changed later: the difference is reported, not applied.
    let edited: toml::Table = "[smtp]\nmax_recipients = 400\n".parse().unwrap();
    let drift = store.drift(&edited).unwrap();
    assert_eq!(drift.len(), 1);
    assert_eq!(drift[0].key, "smtp.max_recipients");
    assert_eq!(drift[0].before.as_deref(), Some("300"));
    assert_eq!(
        store.current_config().unwrap().unwrap().smtp.max_recipients,
        300
    );
}

#[test]
fn concurrent_writers_never_share_a_version_number() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let threads: Vec<_> = (0..2)
        .map(|t| {
            let path = path.clone();
            std::thread::spawn(move || {
                let store = Store::open(&path, None).unwrap();
                for i in 0..15 {
                    set_key(
                        &store,
                        "smtp.max_recipients",
                        &(100 + t * 100 + i).to_string(),
                    )
                    .unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let store = Store::open(&path, None).unwrap();
    assert_eq!(store.versions().unwrap(), (1..=30).collect::<Vec<u64>>());
}
