//! Audit-log retention set in the panel: a relay's chain with files of records from long
//! ago (written as a real chain: each line holding the SHA-256 of the one before) loses
//! those past the retention at start, and more when an administrator keeps less; each
//! erasure is itself a record, and what is left is still a whole chain.

use std::path::Path;

use crate::panel_box::{PanelBox, add_user, create_admin};

const ADMIN_PW: &str = "kinmokusei-no-kaori-2026";
const DAY: u64 = 86_400;

fn sha256_hex(line: &str) -> String {
    mamori_core::audit::hex_sha256(line.as_bytes())
}

fn rfc3339(t: u64) -> String {
    let out = std::process::Command::new("date")
        .args(["-u", "-d", &format!("@{t}"), "+%Y-%m-%dT%H:%M:%SZ"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Writes rotated files `audit.jsonl.N` in `dir`, one per entry of `ages` (days old, oldest
/// first, so the highest N), three records each, chained from the start.
fn old_chain(dir: &Path, ages: &[u64], now: u64) -> u64 {
    std::fs::create_dir_all(dir).unwrap();
    let mut prev = "0".repeat(64);
    let mut seq = 0;
    for (i, age) in ages.iter().enumerate() {
        let n = ages.len() - i;
        let mut text = String::new();
        for k in 0..3 {
            seq += 1;
            let line = serde_json::json!({
                "seq": seq,
                "time": rfc3339(now - age * DAY + k * 60),
                "event": "dlp_verdict",
                "verdict": "pass",
                "prev": prev,
            })
            .to_string();
            prev = sha256_hex(&line);
            text.push_str(&line);
            text.push('\n');
        }
        std::fs::write(dir.join(format!("audit.jsonl.{n}")), text).unwrap();
    }
    seq
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("audit.jsonl"))
        .collect();
    names.sort();
    names
}

fn records(dir: &Path) -> Vec<serde_json::Value> {
    let mut names = files(dir);
    // Oldest first: the highest rotated number, then down to the current file.
    names.sort_by_key(|n| {
        std::cmp::Reverse(
            n.rsplit('.')
                .next()
                .and_then(|x| x.parse::<u32>().ok())
                .unwrap_or(0),
        )
    });
    names
        .iter()
        .flat_map(|n| {
            std::fs::read_to_string(dir.join(n))
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn panel_audit_retention_erases_old_records_and_records_the_erasure() {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut chain = std::path::PathBuf::new();
    let b = PanelBox::start_with("", |data| {
        chain = data.join("audit").join("smtpd");
        // Files of records 700, 100 and 40 days old.
        assert_eq!(old_chain(&chain, &[700, 100, 40], now), 9);
    });
    // The default keeps 400 days: the 700-day-old file went at start, with a record.
    let kept = records(&chain);
    assert!(
        kept.iter().all(|r| r["seq"].as_u64() > Some(3)),
        "records 1..=3 (700 days old) erased: {:?}",
        files(&chain)
    );
    let pruned: Vec<_> = kept
        .iter()
        .filter(|r| r["event"] == "audit_pruned")
        .collect();
    assert_eq!(pruned.len(), 1, "{kept:?}");
    assert_eq!(pruned[0]["through_seq"], 3);
    assert_eq!(pruned[0]["reason"], "age");
    assert_eq!(pruned[0]["retention_secs"], 400 * DAY);
    assert!(
        kept.iter().any(|r| r["seq"] == 4),
        "the 100-day-old file stays"
    );

    let admin = create_admin(&b, "admin", ADMIN_PW);
    let page = admin.get("/system/audit");
    assert_eq!(page.status, 200);
    assert!(
        page.body
            .contains(r#"id="keep-days" name="days" value="400""#),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains(r#"id="keep-mib" name="mib" value="256""#),
        "{}",
        page.body
    );
    let t = page.csrf();
    // Bad values: refused next to the field, nothing changed.
    for (days, mib) in [("10", "256"), ("99999", "256"), ("60", "1"), ("abc", "256")] {
        let a = admin.post(
            "/system/audit/retention",
            &[("_csrf", &t), ("days", days), ("mib", mib)],
        );
        assert_eq!(a.status, 400, "{days} {mib}: {a:?}");
        assert!(a.body.contains(r#"id="keep-error""#), "{}", a.body);
    }
    let (_, v, _) = b.settings(&["get", "general.audit_retention"]);
    assert!(!v.contains("60"), "{v}");
    // Without the CSRF token: refused.
    let a = admin.post("/system/audit/retention", &[("days", "60"), ("mib", "256")]);
    assert_eq!(a.status, 403, "{a:?}");
    // 60 days: the 100-day-old file goes now, the 40-day-old one stays.
    let a = admin.post(
        "/system/audit/retention",
        &[("_csrf", &t), ("days", "60"), ("mib", "256")],
    );
    assert_eq!(a.status, 303, "{a:?}");
    assert_eq!(a.header("location"), Some("/system/audit?done=retention"));
    let (_, v, _) = b.settings(&["get", "general.audit_retention"]);
    assert!(v.contains("60days") || v.contains("1month"), "{v}");
    let kept = records(&chain);
    assert!(
        kept.iter().all(|r| r["seq"].as_u64() > Some(6)),
        "records 4..=6 (100 days old) erased: {kept:?}"
    );
    let pruned: Vec<_> = kept
        .iter()
        .filter(|r| r["event"] == "audit_pruned")
        .collect();
    assert_eq!(pruned.last().unwrap()["through_seq"], 6, "{kept:?}");
    assert_eq!(pruned.last().unwrap()["retention_secs"], 60 * DAY);
    assert!(
        kept.iter().any(|r| r["seq"] == 7),
        "the 40-day-old file stays"
    );
    // The chain left is whole: the relay checks it, the page says so.
    let page = admin.get("/system/audit?done=retention");
    assert!(page.body.contains(r#"id="done""#), "{}", page.body);
    let status = page
        .body
        .split(r#"id="status-smtpd">"#)
        .nth(1)
        .and_then(|s| s.split('<').next())
        .unwrap_or_default()
        .to_string();
    assert!(
        status.contains("改ざんなし") || status.contains("Intact"),
        "{status}"
    );
    // `mamori audit-verify` agrees.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mamori"))
        .args(["audit-verify", "--dir"])
        .arg(chain.parent().unwrap().parent().unwrap())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && said.contains("smtpd") && !said.contains("BROKEN"),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // The panel's own record of the change names the person.
    let own = records(
        &chain
            .parent()
            .unwrap()
            .parent()
            .unwrap()
            .join("admind/audit/admind"),
    );
    assert!(
        own.iter()
            .any(|r| r["event"] == "panel_audit_retention" && r["by"] == "admin"),
        "{own:?}"
    );
    // An auditor reads the page but sees no form and may not post.
    let kato = add_user(&b, &admin, "kato", "auditor", "shiroi-kumo-no-ue");
    let page = kato.get("/system/audit");
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("keep-form"), "{}", page.body);
    let tk = page.csrf();
    assert_eq!(
        kato.post(
            "/system/audit/retention",
            &[("_csrf", &tk), ("days", "30"), ("mib", "16")]
        )
        .status,
        403
    );
}
