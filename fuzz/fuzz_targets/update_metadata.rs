//! TUF metadata as the update client reads it (`mamori_update::{canonical, metadata,
//! trust}`): canonical JSON, documents of every role, and the trusted set fed role by role.
//!
//! Input layout: documents separated by the byte 0xFF; the first is offered as the next root
//! version, then as timestamp, snapshot and targets, to a trusted set whose root (signed by
//! a fixed key, known to this target) is valid.
//!
//! Checked, besides "never panics":
//! - canonical JSON is a fixed point: the canonical form of any parsed document parses back
//!   to the same value and canonicalises to the same bytes (unless it holds a control
//!   character, which canonical JSON writes raw);
//! - nothing this input can produce is accepted as a new root or as timestamp metadata
//!   unless it carries a valid signature of the fixed key (the fuzzer cannot forge one), so
//!   every update of the trusted set from fuzz input fails;
//! - a refusal always has one of the known kinds.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use mamori_update::canonical::{parse_bounded, to_canonical};
use mamori_update::metadata::{Document, MetaBody, Role, RootBody, TargetsBody};
use mamori_update::signing::{SigningKey, signed_document};
use mamori_update::trust::TrustedSet;
use serde_json::json;

const KINDS: [&str; 12] = [
    "bad_metadata",
    "bad_signature",
    "root_chain",
    "rollback",
    "expired",
    "version_mismatch",
    "hash_mismatch",
    "length_mismatch",
    "too_large",
    "target_not_found",
    "target_hash",
    "target_length",
];

fn root() -> &'static [u8] {
    static ROOT: OnceLock<Vec<u8>> = OnceLock::new();
    ROOT.get_or_init(|| {
        let key = SigningKey::from_seed(&[7; 32]).unwrap();
        let id = key.id().to_string();
        let roles: serde_json::Map<String, serde_json::Value> =
            ["root", "targets", "snapshot", "timestamp"]
                .iter()
                .map(|r| (r.to_string(), json!({"keyids": [id], "threshold": 1})))
                .collect();
        let signed = json!({"_type": "root", "spec_version": "1.0.31", "version": 1,
            "expires": "2099-01-01T00:00:00Z", "consistent_snapshot": true,
            "keys": {id.clone(): key.public()}, "roles": roles});
        serde_json::to_vec(&signed_document(signed, &[&key]).unwrap()).unwrap()
    })
}

fuzz_target!(|input: &[u8]| {
    for part in input.split(|b| *b == 0xFF) {
        if let Ok(value) = parse_bounded(part)
            && let Ok(c) = to_canonical(&value)
        {
            // OLPC canonical JSON writes control characters raw (as securesystemslib does),
            // which JSON parsers refuse; everything else must read back unchanged.
            match parse_bounded(&c) {
                Ok(again) => {
                    assert_eq!(again, value, "canonical JSON changed the value");
                    assert_eq!(
                        to_canonical(&again).unwrap(),
                        c,
                        "canonical JSON is not a fixed point"
                    );
                }
                Err(_) => assert!(
                    c.iter().any(|b| *b < 0x20),
                    "canonical JSON that does not parse"
                ),
            }
        }
        for role in Role::ALL {
            let _ = Document::<RootBody>::parse(role, part);
            let _ = Document::<MetaBody>::parse(role, part);
            let _ = Document::<TargetsBody>::parse(role, part);
        }
    }
    let mut parts = input.split(|b| *b == 0xFF);
    let mut set = TrustedSet::new(root(), 1_800_000_000).expect("the fixed root is valid");
    if let Some(p) = parts.next() {
        let e = set
            .update_root(p)
            .expect_err("an unsigned root was accepted");
        assert!(KINDS.contains(&e.kind()));
    }
    if let Some(p) = parts.next() {
        let e = set
            .update_timestamp(p)
            .expect_err("an unsigned timestamp was accepted");
        assert!(KINDS.contains(&e.kind()));
    }
    if let Some(p) = parts.next() {
        assert!(set.update_snapshot(p, false).is_err());
        assert!(set.update_snapshot(p, true).is_err());
    }
    if let Some(p) = parts.next() {
        assert!(set.update_targets(p).is_err());
    }
});
