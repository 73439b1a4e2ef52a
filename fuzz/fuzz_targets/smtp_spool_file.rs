//! Message files in the spool (`spool::file`): what a damaged, truncated or foreign file
//! in `spool/msg/` does when the relay reads it, and the round trip of what it writes.
//!
//! Input: the bytes of a message file.
//!
//! Checked, besides "never panics":
//! - reading the content and the envelope of any file either fails with an error or gives
//!   content no longer than the file;
//! - the same bytes stored as a message's content (with a fixed envelope) read back
//!   exactly, and the envelope with them.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use mamori_smtp::spool::{ClientInfo, Envelope, Recipient, Spool};

fn spool() -> &'static (tempfile::TempDir, Spool) {
    static SPOOL: OnceLock<(tempfile::TempDir, Spool)> = OnceLock::new();
    SPOOL.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temporary directory");
        let spool = Spool::open(dir.path()).expect("spool");
        (dir, spool)
    })
}

fuzz_target!(|input: &[u8]| {
    let (dir, spool) = spool();
    let id = "FUZZ0000000000001";
    std::fs::write(dir.path().join("msg").join(id), input).expect("write");
    if let Ok(content) = spool.content(id) {
        assert!(content.len() <= input.len());
    }
    let _ = spool.load_one(id);
    let _ = spool.remove(id);

    let env = Envelope {
        size: input.len() as u64,
        ..Envelope::new(
            "FUZZ0000000000002".into(),
            "a@example.jp".into(),
            vec![Recipient::new("b@example.com")],
            ClientInfo::default(),
        )
    };
    spool.store(&env, input).expect("store");
    assert_eq!(spool.content(&env.id).expect("content"), input);
    assert_eq!(spool.load_one(&env.id).expect("envelope"), env);
    spool.remove(&env.id).expect("remove");
});
