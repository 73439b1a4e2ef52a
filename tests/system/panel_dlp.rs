//! The panel's DLP rules page against a real relay: the test box decides texts and files
//! with the rules in force (masked, nothing sent), a dictionary word and a rule added in the
//! panel take effect on real mail at once, bad forms are refused next to their field, and
//! only administrators change or try anything.

use std::time::Duration;

use crate::common::{Sink, my_number, swaks, wait_for};
use crate::panel_box::{Client, PanelBox, create_admin, login};

const ADMIN_PW: &str = "hanabi-to-yukata-2026";
const AUDITOR_PW: &str = "mori-no-kage-fumi";

fn try_text(c: &Client, csrf: &str, text: &str) -> crate::panel_box::Answer {
    c.post_multipart(
        "/mail/dlp/try",
        &[("_csrf", csrf), ("text", text), ("recipient", "")],
        &[],
    )
}

/// The test box's result section of a page.
fn result(a: &crate::panel_box::Answer) -> &str {
    let at = a
        .body
        .find(r#"id="try-result""#)
        .unwrap_or_else(|| panic!("no result: {}", a.body));
    &a.body[at..]
}

/// Mails `body` from the office to the sink through the box; swaks' exit code and output.
fn mail(b: &PanelBox, subject: &str, body: &str) -> (i32, String) {
    swaks(&[
        "--server",
        &format!("127.0.0.1:{}", b.relay),
        "--from",
        "tanaka@office.test",
        "--to",
        "kyaku@sink.test",
        "--header",
        &format!("Subject: {subject}"),
        "--header",
        "Content-Type: text/plain; charset=utf-8",
        "--body",
        body,
    ])
}

#[test]
fn rules_and_words_added_in_the_panel_decide_real_mail_and_the_test_box_agrees() {
    let sink = Sink::start();
    let b = PanelBox::start(&format!(
        "[smtp]\noffice_domains = [\"office.test\"]\n\n\
         [[smtp.delivery.routes]]\ndomain = \"sink.test\"\nhost = \"127.0.0.1\"\nport = {0}\n",
        sink.port
    ));
    let admin = create_admin(&b, "tanaka", ADMIN_PW);
    let page = admin.get("/mail/dlp");
    assert_eq!(page.status, 200);
    assert!(page.body.contains(r#"id="defaults""#), "{}", page.body);
    assert!(page.body.contains("My Number sent outside"));
    let t = page.csrf();

    // The test box: a My Number is held by the built-in rule, shown masked only.
    let number = my_number("98765432109");
    let a = try_text(&admin, &t, &format!("山田様\n個人番号：{number}"));
    assert_eq!(a.status, 200, "{a:?}");
    assert!(a.body.contains(r#"id="verdict""#), "{}", a.body);
    assert!(result(&a).contains("My Number sent outside"), "{}", a.body);
    let masked = format!("{}******{}", &number[..4], &number[10..]);
    assert!(a.body.contains(&masked), "{}", a.body);
    assert!(
        !result(&a).contains(&number),
        "the result never shows the number: {}",
        result(&a)
    );
    // The same text to a colleague is not outbound: it passes.
    let a = admin.post_multipart(
        "/mail/dlp/try",
        &[
            ("_csrf", &t),
            ("text", &format!("個人番号：{number}")),
            ("recipient", "sato@office.test"),
        ],
        &[],
    );
    assert!(
        result(&a).contains(r#"class="ok" id="verdict""#)
            && !result(&a).contains("My Number sent outside"),
        "{}",
        a.body
    );
    // A file: a ZIP (made by Python's zipfile, an independent writer) with a CSV inside,
    // padded past the form limit of ordinary pages.
    let zip = b.dir.path().join("meibo.zip");
    let (code, out) = crate::common::python(
        "import sys, zipfile, os\n\
         with zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_STORED) as z:\n\
         \x20   z.writestr('社員名簿.csv', '氏名,個人番号\\n山田,' + sys.argv[2] + '\\n')\n\
         \x20   z.writestr('padding.bin', os.urandom(1 << 20))\n",
        &[zip.to_str().unwrap(), &number],
    );
    assert_eq!(code, 0, "{out}");
    let a = admin.post_multipart("/mail/dlp/try", &[("_csrf", &t)], &[("file", &zip)]);
    assert_eq!(a.status, 200, "{a:?}");
    assert!(
        a.body.contains("社員名簿.csv") && a.body.contains(&masked),
        "{}",
        a.body
    );
    // Too large, nothing at all, or both: a reason next to the box.
    let big = b.dir.path().join("big.bin");
    std::fs::write(&big, vec![b'a'; 5 << 20]).unwrap();
    let a = admin.post_multipart("/mail/dlp/try", &[("_csrf", &t)], &[("file", &big)]);
    assert!(
        a.status == 413 || a.body.contains(r#"id="try-error""#),
        "{a:?}"
    );
    let a = try_text(&admin, &t, "   ");
    assert_eq!(a.status, 400);
    assert!(a.body.contains(r#"id="try-error""#), "{}", a.body);
    let a = admin.post_multipart(
        "/mail/dlp/try",
        &[("_csrf", &t), ("text", "x")],
        &[("file", &zip)],
    );
    assert_eq!(a.status, 400);
    // The test box needs the session's token like every form.
    let a = try_text(&admin, "forged", "x");
    assert_eq!(a.status, 403);

    // A dictionary word alone changes nothing: no rule counts dictionary words yet.
    let a = admin.post(
        "/mail/dlp/word",
        &[
            ("_csrf", &t),
            ("name", "社外秘"),
            ("kind", "keyword"),
            ("pattern", "社外秘"),
            ("confidence", "high"),
        ],
    );
    assert_eq!(
        a.header("location"),
        Some("/mail/dlp?done=word-added:%E7%A4%BE%E5%A4%96%E7%A7%98"),
        "{a:?}"
    );
    let a = try_text(&admin, &t, "社外秘の見積書です");
    assert!(
        result(&a).contains("社外秘") && result(&a).contains(r#"class="ok" id="verdict""#),
        "a finding, and no rule: {}",
        a.body
    );
    let (code, out) = mail(&b, "plain-secret-1", "社外秘の見積書です");
    assert_eq!(code, 0, "{out}");
    // A bad regular expression is refused by the relay's own check, next to the pattern.
    let a = admin.post(
        "/mail/dlp/word",
        &[
            ("_csrf", &t),
            ("name", "壊れた式"),
            ("kind", "regex"),
            ("pattern", "(["),
            ("confidence", "high"),
        ],
    );
    assert_eq!(a.status, 400, "{a:?}");
    assert!(a.body.contains(r#"id="word-pattern-error""#), "{}", a.body);
    assert!(a.body.contains("dlp.scan.custom.rules"), "{}", a.body);
    // Spacing is for keywords: asked for a wildcard, the reason is next to its field.
    let a = admin.post(
        "/mail/dlp/word",
        &[
            ("_csrf", &t),
            ("name", "案件番号"),
            ("kind", "wildcard"),
            ("pattern", "PRJ-*"),
            ("confidence", "high"),
            ("spaced", "on"),
        ],
    );
    assert_eq!(a.status, 400, "{a:?}");
    assert!(a.body.contains(r#"id="word-spaced-error""#), "{}", a.body);

    // Bad rule forms: the reason next to the field, nothing saved.
    let rule = |name: &str, detectors: &[&str], count: &str, action: &str| {
        let mut form = vec![
            ("_csrf", t.as_str()),
            ("name", name),
            ("min_confidence", "medium"),
            ("min_count", count),
            ("scope", "outbound"),
            ("action", action),
        ];
        form.extend(detectors.iter().map(|d| ("detector", *d)));
        admin.post("/mail/dlp/rule", &form)
    };
    let a = rule("社外秘を社外へ", &[], "1", "reject");
    assert!(
        a.body.contains(r#"id="rule-detectors-error""#),
        "{}",
        a.body
    );
    let a = rule("社外秘を社外へ", &["custom"], "zero", "reject");
    assert!(a.body.contains(r#"id="rule-count-error""#), "{}", a.body);
    let a = rule("社外秘を社外へ", &["custom"], "1", "discard");
    assert!(a.body.contains(r#"id="rule-error""#), "{}", a.body);
    let a = rule("My Number sent outside", &["custom"], "1", "reject");
    assert!(a.body.contains(r#"id="rule-name-error""#), "{}", a.body);
    let named = |name_en: &str| {
        admin.post(
            "/mail/dlp/rule",
            &[
                ("_csrf", t.as_str()),
                ("name", "社外秘を社外へ"),
                ("name_en", name_en),
                ("detector", "custom"),
                ("min_confidence", "medium"),
                ("min_count", "1"),
                ("scope", "outbound"),
                ("action", "reject"),
            ],
        )
    };
    let a = named("社外秘");
    assert!(a.body.contains(r#"id="rule-name-en-error""#), "{}", a.body);
    // A good one, with its English name: saved after the built-in rules, which stay in
    // force.
    let a = named("Confidential outside");
    assert_eq!(a.status, 303, "{a:?}");
    let page = admin.get(a.header("location").unwrap());
    assert!(page.body.contains(r#"id="done""#), "{}", page.body);
    assert!(!page.body.contains(r#"id="defaults""#));
    assert!(page.body.contains("My Number sent outside") && page.body.contains("社外秘を社外へ"));
    let a = try_text(&admin, &t, "社外秘の見積書です");
    assert!(
        result(&a).contains("社外秘を社外へ")
            && result(&a).contains(r#"class="error" id="verdict""#),
        "{}",
        a.body
    );
    // Real mail, the keyword written with full-width spaces between its characters:
    // refused at once, with the rule's name, in English too.
    let (code, out) = mail(&b, "plain-secret-2", "社　外　秘の見積書です");
    assert_ne!(code, 0, "{out}");
    assert!(
        out.contains("550") && out.contains("社外秘を社外へ"),
        "{out}"
    );
    assert!(
        out.contains("Confidential outside") && !out.contains("\\u{"),
        "{out}"
    );
    // The built-in rule still holds a My Number.
    let (code, out) = mail(&b, "number", &format!("個人番号：{number}"));
    assert_eq!(code, 0, "{out}");
    assert!(
        wait_for(Duration::from_secs(15), || admin
            .get("/mail/quarantine")
            .body
            .contains("My Number sent outside")),
        "{}",
        b.log()
    );

    // An auditor reads the rules but changes and tries nothing.
    let t2 = admin.get("/system/users").csrf();
    let a = admin.post(
        "/system/users/add",
        &[
            ("_csrf", &t2),
            ("name", "suzuki"),
            ("role", "auditor"),
            ("password", AUDITOR_PW),
            ("password_again", AUDITOR_PW),
        ],
    );
    assert_eq!(a.status, 303);
    let (suzuki, _) = login(&b, "suzuki", AUDITOR_PW);
    let page = suzuki.get("/mail/dlp");
    assert!(page.body.contains("社外秘を社外へ"));
    assert!(!page.body.contains("/mail/dlp/rule") && !page.body.contains("/mail/dlp/try"));
    let st = page.csrf();
    assert_eq!(try_text(&suzuki, &st, "x").status, 403);
    let a = suzuki.post(
        "/mail/dlp/remove",
        &[("_csrf", &st), ("what", "rule"), ("name", "社外秘を社外へ")],
    );
    assert_eq!(a.status, 403);

    // Removing the rule (within the re-authentication window of the login): mail passes.
    let a = admin.post(
        "/mail/dlp/remove",
        &[("_csrf", &t), ("what", "rule"), ("name", "社外秘を社外へ")],
    );
    assert_eq!(a.status, 303, "{a:?}");
    let a = admin.post(
        "/mail/dlp/remove",
        &[("_csrf", &t), ("what", "rule"), ("name", "社外秘を社外へ")],
    );
    assert_eq!(a.status, 404, "already gone");
    let (code, out) = mail(&b, "plain-secret-3", "社外秘の見積書です");
    assert_eq!(code, 0, "{out}");
    assert!(
        wait_for(Duration::from_secs(20), || {
            let s = crate::common::subjects(&sink);
            s.contains("plain-secret-1") && s.contains("plain-secret-3")
        }),
        "{:?}\n{}",
        crate::common::subjects(&sink),
        b.log()
    );
    assert!(!crate::common::subjects(&sink).contains("plain-secret-2"));

    // Each change is in the panel's audit log with the person, and in the settings history.
    let audit = std::fs::read_to_string(b.data().join("admind/audit/admind/audit.jsonl")).unwrap();
    for event in [
        "panel_dlp_word_added",
        "panel_dlp_rule_added",
        "panel_dlp_rule_removed",
    ] {
        assert!(
            audit
                .lines()
                .any(|l| l.contains(event) && l.contains("tanaka")),
            "{event}: {audit}"
        );
    }
    let history = admin.get("/system/settings");
    assert!(
        history
            .body
            .contains("panel_dlp_rule_added: 社外秘を社外へ"),
        "{}",
        history.body
    );
    // The relay's audit log holds no digest of a sample tried (it could be reversed).
    let relay = std::fs::read_to_string(b.data().join("audit/smtpd/audit.jsonl")).unwrap();
    let tries: Vec<&str> = relay.lines().filter(|l| l.contains("dlp_try")).collect();
    assert!(!tries.is_empty(), "{relay}");
    assert!(
        tries.iter().all(|l| !l.contains("request_sha256")),
        "{tries:?}"
    );
}
