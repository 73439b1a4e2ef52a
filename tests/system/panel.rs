//! The admin panel over real HTTPS with curl as the browser: first boot needs the one-time
//! setup code (no default password), sessions and cookies as ASVS asks, CSRF and
//! cross-origin requests refused, login throttling that does not lock the administrator
//! out, every page closed to anonymous visitors and to roles without the right, plain HTTP
//! only redirecting, and the wizard's settings written through the settings service and
//! put in force in the relay.

use crate::common::{hash_password, mamori, wait_for};
use crate::panel_box::{Client, PanelBox, create_admin, login};
use std::time::Duration;

const ADMIN_PW: &str = "umi-to-yama-no-aida";

/// Walks the wizard after the account: domains, LAN, a direct route, one account, save.
fn finish_wizard(c: &Client) -> crate::panel_box::Answer {
    let page = c.get("/setup/domains");
    assert_eq!(page.status, 200, "{page:?}");
    let t = page.csrf();
    let a = c.post(
        "/setup/domains",
        &[
            ("_csrf", &t),
            ("domains", "office.example.jp\nBranch.example.jp"),
        ],
    );
    assert_eq!(a.header("location"), Some("/setup/lan"), "{a:?}");
    let a = c.post("/setup/lan", &[("_csrf", &t), ("lan", "192.168.10.0/24")]);
    assert_eq!(a.header("location"), Some("/setup/route"), "{a:?}");
    let a = c.post(
        "/setup/route",
        &[("_csrf", &t), ("mode", "direct"), ("action", "next")],
    );
    assert_eq!(a.header("location"), Some("/setup/accounts"), "{a:?}");
    let a = c.post(
        "/setup/accounts",
        &[
            ("_csrf", &t),
            ("address", "sato@office.example.jp"),
            ("password", "kawa-no-nagare-ha"),
            ("password_again", "kawa-no-nagare-ha"),
        ],
    );
    assert_eq!(
        a.header("location"),
        Some("/setup/accounts?added=sato%40office.example.jp"),
        "{a:?}"
    );
    let a = c.get("/setup/accounts?added=sato%40office.example.jp");
    assert!(a.body.contains(r#"id="added""#), "{}", a.body);
    // The message names only an account of the draft: the query cannot write on the page.
    let a = c.get("/setup/accounts?added=%3Cscript%3Ealert(1)%3C%2Fscript%3E");
    assert!(
        !a.body.contains("<script") && !a.body.contains(r#"id="added""#),
        "{}",
        a.body
    );
    c.post("/setup/summary", &[("_csrf", &t)])
}

#[test]
fn first_boot_needs_the_one_time_setup_code_and_has_no_default_password() {
    let b = PanelBox::start("");
    let c = b.client();
    // Every way in leads to the setup page while no administrator exists.
    let a = c.get("/");
    assert_eq!((a.status, a.header("location")), (303, Some("/setup")));
    assert_eq!(c.get("/login").header("location"), Some("/setup"));
    // Nobody can log in: there is no account, default or otherwise.
    for (u, p) in [
        ("admin", "admin"),
        ("root", "mamori"),
        ("mamori", "password"),
    ] {
        let a = c.post("/login", &[("user", u), ("password", p)]);
        assert_eq!(
            (a.status, a.header("location")),
            (303, Some("/setup")),
            "{u}: {a:?}"
        );
        assert!(a.header("set-cookie").is_none(), "{u}: {a:?}");
    }
    let code = b.setup_code();
    assert_eq!(code.len(), 14, "{code}");
    let form = |code: &str, pw: &str, again: &str| {
        c.post(
            "/setup",
            &[
                ("code", code),
                ("user", "tanaka"),
                ("password", pw),
                ("password_again", again),
                ("lang", "ja"),
            ],
        )
    };
    // A wrong code is refused, next to the code field.
    let a = form("AAAA-BBBB-CCCC", ADMIN_PW, ADMIN_PW);
    assert_eq!(a.status, 403);
    assert!(a.body.contains(r#"id="code-error""#), "{}", a.body);
    // The right code with a weak password: the policy's reason next to the field.
    let lower = code.to_lowercase().replace('-', " ");
    let a = form(&lower, "password1234", "password1234");
    assert_eq!(a.status, 400);
    assert!(
        a.body.contains(r#"id="password-error""#) && a.body.contains("よく使われる"),
        "{}",
        a.body
    );
    let a = form(&code, "short-one", "short-one");
    assert!(a.body.contains("短すぎます"), "{}", a.body);
    let a = form(&code, ADMIN_PW, "umi-to-yama-no-aidA");
    assert!(a.body.contains("一致しません"), "{}", a.body);
    assert!(
        !b.data().join("admind/users.json").exists(),
        "nothing created yet"
    );
    // The right code (typed loosely) and a good password create the administrator.
    let a = form(&lower, ADMIN_PW, ADMIN_PW);
    assert_eq!(
        (a.status, a.header("location")),
        (303, Some("/setup/domains")),
        "{a:?}"
    );
    // The code is used up: its file is gone and it opens nothing any more.
    assert!(!b.data().join("admind/setup-code").exists());
    let d = b.client();
    let a = d.post(
        "/setup",
        &[
            ("code", &code),
            ("user", "mallory"),
            ("password", "mallory-was-here-1"),
            ("password_again", "mallory-was-here-1"),
        ],
    );
    assert_eq!(a.header("location"), Some("/login"), "{a:?}");
    let users = std::fs::read_to_string(b.data().join("admind/users.json")).unwrap();
    assert!(users.contains("tanaka") && !users.contains("mallory") && users.contains("$argon2id$"));
    assert!(!users.contains(ADMIN_PW));
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(b.data().join("admind/users.json"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(mode & 0o077, 0, "the users file is the panel's alone");
    // The audit log names the setup.
    let audit = std::fs::read_to_string(b.data().join("admind/audit/admind/audit.jsonl")).unwrap();
    assert!(
        audit.contains("panel_setup_administrator") && audit.contains("panel_setup_code_wrong"),
        "{audit}"
    );
}

#[test]
fn the_wizard_writes_one_settings_version_through_the_settings_service() {
    let b = PanelBox::start("");
    let c = create_admin(&b, "tanaka", ADMIN_PW);
    // Bad input is answered next to the field, in Japanese by default.
    let t = c.get("/setup/domains").csrf();
    let a = c.post(
        "/setup/domains",
        &[("_csrf", &t), ("domains", "not a domain;")],
    );
    assert_eq!(a.status, 400);
    assert!(a.body.contains(r#"id="domains-error""#), "{}", a.body);
    let a = c.post(
        "/setup/domains",
        &[("_csrf", &t), ("domains", "office.example.jp")],
    );
    assert_eq!(a.status, 303);
    let a = c.post("/setup/lan", &[("_csrf", &t), ("lan", "8.8.8.0/24")]);
    assert!(a.body.contains("プライベート"), "{}", a.body);
    // A provider route cannot be saved untested.
    let a = c.post(
        "/setup/route",
        &[
            ("_csrf", &t),
            ("mode", "provider"),
            ("host", "smtp.example.jp"),
            ("port", "587"),
            ("username", "u"),
            ("password", "p"),
            ("action", "next"),
        ],
    );
    assert_eq!(a.status, 400);
    assert!(a.body.contains(r#"id="route-result""#), "{}", a.body);
    // An account outside the office's domains is refused.
    let a = c.post(
        "/setup/accounts",
        &[
            ("_csrf", &t),
            ("address", "sato@gmail.com"),
            ("password", "kawa-no-nagare-ha"),
            ("password_again", "kawa-no-nagare-ha"),
        ],
    );
    assert!(a.body.contains(r#"id="address-error""#), "{}", a.body);
    let a = finish_wizard(&c);
    assert!(a.body.contains(r#"id="saved""#), "{}", a.body);
    // One version, by the person, through the settings service; the relay runs it.
    let (code, out, err) = b.settings(&["history"]);
    assert_eq!(code, 0, "{err}");
    let first = out.lines().next().unwrap();
    assert!(
        first.contains("for tanaka (admin)") && first.contains("setup wizard"),
        "{out}"
    );
    let (_, domains, _) = b.settings(&["get", "smtp.office_domains"]);
    assert_eq!(
        domains.trim(),
        r#"["office.example.jp","branch.example.jp"]"#
    );
    let (_, nets, _) = b.settings(&["get", "smtp.trusted_networks"]);
    assert!(nets.contains("192.168.10.0/24"), "{nets}");
    let (_, accounts, _) = b.settings(&["get", "smtp.accounts"]);
    assert!(
        accounts.contains("sato@office.example.jp") && accounts.contains("$argon2id$"),
        "{accounts}"
    );
    assert!(!accounts.contains("kawa-no-nagare-ha"));
    let version = out.split_whitespace().next().unwrap().to_string();
    let dash = c.get("/dashboard");
    assert!(
        dash.body.contains(&format!(
            "<td>smtpd</td><td>稼働中</td><td>{}</td><td>{version}</td>",
            env!("CARGO_PKG_VERSION")
        )),
        "{}",
        dash.body
    );
    // The new account can send through the relay's submission port: the settings are in force.
    let (code, out) = crate::common::swaks(&[
        "--server",
        &format!("127.0.0.1:{}", b.submission),
        "--tls",
        "--auth",
        "PLAIN",
        "--auth-user",
        "sato@office.example.jp",
        "--auth-password",
        "kawa-no-nagare-ha",
        "--from",
        "sato@office.example.jp",
        "--to",
        "someone@example.com",
        "--quit-after",
        "RCPT",
    ]);
    assert_eq!(code, 0, "{out}");
    // Running the wizard again to add a colleague keeps the accounts in force.
    let t = c.get("/setup/domains").csrf();
    c.post(
        "/setup/domains",
        &[("_csrf", &t), ("domains", "office.example.jp")],
    );
    c.post("/setup/lan", &[("_csrf", &t), ("lan", "192.168.10.0/24")]);
    c.post(
        "/setup/route",
        &[("_csrf", &t), ("mode", "direct"), ("action", "next")],
    );
    let a = c.post(
        "/setup/accounts",
        &[
            ("_csrf", &t),
            ("address", "suzuki@office.example.jp"),
            ("password", "mori-no-naka-no-ie"),
            ("password_again", "mori-no-naka-no-ie"),
        ],
    );
    assert_eq!(a.status, 303, "{a:?}");
    let a = c.post("/setup/summary", &[("_csrf", &t)]);
    assert!(a.body.contains(r#"id="saved""#), "{}", a.body);
    let (_, accounts, _) = b.settings(&["get", "smtp.accounts"]);
    assert!(
        accounts.contains("sato@office.example.jp")
            && accounts.contains("suzuki@office.example.jp"),
        "{accounts}"
    );
    // The settings service recorded the change before it took effect.
    let audit =
        std::fs::read_to_string(b.data().join("settings/audit/settingsd/audit.jsonl")).unwrap();
    assert!(
        audit.contains(r#""op":"change""#) && audit.contains("for tanaka (admin)"),
        "{audit}"
    );
}

#[test]
fn sessions_cookies_fixation_and_logout() {
    let b = PanelBox::start("");
    let admin = create_admin(&b, "tanaka", ADMIN_PW);
    drop(admin);
    let c = b.client();
    // An attacker plants a session id before the login: it is never adopted.
    c.plant_cookie("attacker-chosen-id-0123456789");
    let a = c.post("/login", &[("user", "tanaka"), ("password", ADMIN_PW)]);
    assert_eq!(
        (a.status, a.header("location")),
        (303, Some("/dashboard")),
        "{a:?}"
    );
    let set = a.header("set-cookie").unwrap().to_string();
    for flag in [
        "__Host-mamori=",
        "Path=/",
        "Secure",
        "HttpOnly",
        "SameSite=Strict",
    ] {
        assert!(set.contains(flag), "{flag} missing: {set}");
    }
    assert!(
        !set.contains("Domain=") && !set.contains("attacker"),
        "{set}"
    );
    let id = c.cookie().unwrap();
    assert_eq!(id.len(), 43, "256 bits in base64url: {id}");
    // A second login gets another id.
    let (c2, _) = login(&b, "tanaka", ADMIN_PW);
    assert_ne!(c2.cookie().unwrap(), id);
    let dash = c.get("/dashboard");
    assert_eq!(dash.status, 200);
    // Logout needs the CSRF token, then ends the session on the server.
    let a = c.post("/logout", &[]);
    assert_eq!(a.status, 403);
    let t = dash.csrf();
    let a = c.post("/logout", &[("_csrf", &t)]);
    assert_eq!(a.header("location"), Some("/login?out=1"));
    assert!(a.header("set-cookie").unwrap().contains("Max-Age=0"));
    // The old id, replayed, is dead.
    c.plant_cookie(&id);
    let a = c.get("/dashboard");
    assert_eq!((a.status, a.header("location")), (303, Some("/login")));
    // The other session lives on.
    assert_eq!(c2.get("/dashboard").status, 200);
}

#[test]
fn csrf_tokens_and_the_origin_check_refuse_forged_requests() {
    let b = PanelBox::start("");
    let c = create_admin(&b, "tanaka", ADMIN_PW);
    let t = c.get("/setup/domains").csrf();
    let origin = |o: &str| vec!["-H".to_string(), format!("Origin: {o}")];
    let own = format!("https://127.0.0.1:{}", b.https);
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, Vec<String>);
    let cases: Vec<Case> = vec![
        ("no token", vec![("domains", "evil.example")], origin(&own)),
        (
            "wrong token",
            vec![("_csrf", "AAAA"), ("domains", "evil.example")],
            origin(&own),
        ),
        (
            "another site",
            vec![("_csrf", &t), ("domains", "evil.example")],
            origin("https://evil.example"),
        ),
        (
            "plain http origin",
            vec![("_csrf", &t), ("domains", "evil.example")],
            origin(&own.replace("https", "http")),
        ),
        (
            "no origin",
            vec![("_csrf", &t), ("domains", "evil.example")],
            vec![],
        ),
        (
            "null origin",
            vec![("_csrf", &t), ("domains", "evil.example")],
            origin("null"),
        ),
        (
            "null origin from another site",
            vec![("_csrf", &t), ("domains", "evil.example")],
            vec![
                "-H".into(),
                "Origin: null".into(),
                "-H".into(),
                "Sec-Fetch-Site: cross-site".into(),
            ],
        ),
        (
            "own origin but the browser says cross-site",
            vec![("_csrf", &t), ("domains", "evil.example")],
            vec![
                "-H".into(),
                format!("Origin: {own}"),
                "-H".into(),
                "Sec-Fetch-Site: same-site".into(),
            ],
        ),
    ];
    for (what, form, headers) in cases {
        let a = c.post_with("/setup/domains", &form, &headers);
        assert_eq!(a.status, 403, "{what}: {a:?}");
        assert!(a.body.contains("別のサイト"), "{what}: {}", a.body);
    }
    // Nothing was taken: the draft is still empty.
    assert!(!c.get("/setup/domains").body.contains("evil.example"));
    // The real form works: with the panel's Origin, or as a browser sends it under
    // `Referrer-Policy: no-referrer` (Origin null, Sec-Fetch-Site same-origin).
    let a = c.post(
        "/setup/domains",
        &[("_csrf", &t), ("domains", "office.example.jp")],
    );
    assert_eq!(a.status, 303);
    let a = c.post_with(
        "/setup/lan",
        &[("_csrf", &t), ("lan", "192.168.10.0/24")],
        &[
            "-H".into(),
            "Origin: null".into(),
            "-H".into(),
            "Sec-Fetch-Site: same-origin".into(),
        ],
    );
    assert_eq!(a.status, 303, "{a:?}");
}

#[test]
fn login_throttling_slows_guessing_but_not_the_administrator() {
    let b = PanelBox::start("");
    drop(create_admin(&b, "tanaka", ADMIN_PW));
    // The administrator's PC logs in once: its address is known for the account.
    let (_, a) = login(&b, "tanaka", ADMIN_PW);
    assert_eq!(a.status, 303);
    // One address guessing: five free tries, then it must wait.
    let mut guesser = b.client();
    guesser.source = Some("127.0.0.2".into());
    for i in 0..5 {
        let a = guesser.post(
            "/login",
            &[
                ("user", "tanaka"),
                ("password", &format!("guess-number-{i}")),
            ],
        );
        assert_eq!(a.status, 401, "try {i}");
    }
    let a = guesser.post("/login", &[("user", "tanaka"), ("password", ADMIN_PW)]);
    assert_eq!(a.status, 429, "even the right password waits: {a:?}");
    assert!(a.body.contains("秒待って"), "{}", a.body);
    // Many addresses guessing the account: unknown addresses wait...
    for n in 3..12 {
        let mut g = b.client();
        g.source = Some(format!("127.0.0.{n}"));
        g.post(
            "/login",
            &[("user", "tanaka"), ("password", "wrong-password-x")],
        );
    }
    let mut fresh = b.client();
    fresh.source = Some("127.0.0.20".into());
    let a = fresh.post("/login", &[("user", "tanaka"), ("password", ADMIN_PW)]);
    assert_eq!(a.status, 429, "{a:?}");
    // ...but the administrator's own PC is not locked out.
    let (_, a) = login(&b, "tanaka", ADMIN_PW);
    assert_eq!(a.status, 303, "{a:?}");
    let audit = std::fs::read_to_string(b.data().join("admind/audit/admind/audit.jsonl")).unwrap();
    assert!(audit.matches("panel_login_failed").count() >= 10, "{audit}");
}

#[test]
fn every_page_refuses_anonymous_visitors_and_roles_without_the_right() {
    // A box with an administrator and an auditor already (users file made beforehand).
    let admin_hash = hash_password(ADMIN_PW);
    let auditor_hash = hash_password("kansa-no-hi-ni-ame");
    let b = PanelBox::start_with("", |data| {
        std::fs::write(
            data.join("admind/users.json"),
            serde_json::json!({"users": [
                {"name": "tanaka", "role": "administrator", "password_hash": admin_hash, "lang": "ja"},
                {"name": "kansa", "role": "auditor", "password_hash": auditor_hash, "lang": "en"},
            ]})
            .to_string(),
        )
        .unwrap();
    });
    assert!(
        !b.data().join("admind/setup-code").exists(),
        "no setup with an administrator"
    );
    let pages = [
        "/dashboard",
        "/setup/domains",
        "/setup/lan",
        "/setup/route",
        "/setup/accounts",
        "/setup/summary",
        "/setup/howto?user=a@b.jp",
    ];
    let anon = b.client();
    for p in pages {
        let a = anon.get(p);
        assert_eq!(
            (a.status, a.header("location")),
            (303, Some("/login")),
            "{p}"
        );
        let a = anon.post(p.split('?').next().unwrap(), &[("_csrf", "x")]);
        assert!(a.status == 303 || a.status == 405, "{p}: {a:?}");
        assert!(!a.body.contains("_csrf"), "{p}");
    }
    assert_eq!(anon.get("/system/users").header("location"), Some("/login"));
    for p in [
        "/logout",
        "/lang",
        "/system/users/add",
        "/system/users/remove",
        "/system/users/password",
    ] {
        let a = anon.post(p, &[("_csrf", "x")]);
        assert_eq!(a.header("location"), Some("/login"), "{p}");
    }
    // The auditor sees the dashboard, in English, and nothing of the administrator's.
    let (auditor, a) = login(&b, "kansa", "kansa-no-hi-ni-ame");
    assert_eq!(a.status, 303);
    let dash = auditor.get("/dashboard");
    assert_eq!(dash.status, 200);
    assert!(
        dash.body.contains("Services") && dash.body.contains(r#"lang="en""#),
        "{}",
        dash.body
    );
    assert!(
        dash.body.contains("<td>smtpd</td><td>running</td>"),
        "{}",
        dash.body
    );
    let t = dash.csrf();
    for p in &pages[1..] {
        let a = auditor.get(p);
        assert_eq!(a.status, 403, "{p}");
        assert!(a.body.contains("You do not have the right"), "{p}");
    }
    let a = auditor.post(
        "/setup/domains",
        &[("_csrf", &t), ("domains", "x.example.jp")],
    );
    assert_eq!(a.status, 403);
    // The language switch: the auditor turns the panel Japanese.
    let a = auditor.post(
        "/lang",
        &[("_csrf", &t), ("lang", "ja"), ("back", "/dashboard")],
    );
    assert_eq!(a.header("location"), Some("/dashboard"));
    assert!(auditor.get("/dashboard").body.contains("サービスの状態"));
    // Unknown pages are 404 with the security headers too.
    let a = anon.get("/etc/passwd");
    assert_eq!(a.status, 404);
    assert!(a.header("content-security-policy").is_some());
}

#[test]
fn plain_http_only_redirects_and_every_answer_has_the_security_headers() {
    let b = PanelBox::start("");
    let out = std::process::Command::new("curl")
        .args(["-s", "-i", "--max-time", "10"])
        .arg(format!("http://127.0.0.1:{}/login?next=1", b.http))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("HTTP/1.1 308"), "{text}");
    assert!(
        text.contains(&format!(
            "location: https://127.0.0.1:{}/login?next=1",
            b.https
        )),
        "{text}"
    );
    assert!(
        !text.contains("<html"),
        "nothing of the panel over plain HTTP: {text}"
    );
    let c = b.client();
    for (path, status) in [
        ("/", 303),
        ("/setup", 200),
        ("/nope", 404),
        ("/static/panel.css", 200),
    ] {
        let a = c.get(path);
        assert_eq!(a.status, status, "{path}");
        let csp = a.header("content-security-policy").unwrap_or("");
        assert!(
            csp.contains("frame-ancestors 'none'")
                && !csp.contains("unsafe-inline")
                && csp.contains("default-src 'none'"),
            "{path}: {csp}"
        );
        assert_eq!(a.header("referrer-policy"), Some("no-referrer"), "{path}");
        assert!(
            a.header("strict-transport-security")
                .is_some_and(|h| h.contains("max-age=")),
            "{path}"
        );
        assert_eq!(
            a.header("x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
    }
    // No script at all in the pages.
    assert!(!c.get("/setup").body.contains("<script"));
}

/// Resident KiB of the panel process's mappings of its own executable, from its smaps.
fn executable_resident_kib(pid: u32) -> u64 {
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap();
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps")).unwrap();
    let mut total = 0;
    let mut ours = false;
    for line in smaps.lines() {
        let first = line.split_whitespace().next().unwrap_or("");
        if first.contains('-') && !first.ends_with(':') {
            ours = line.trim_end().ends_with(&*exe.to_string_lossy());
        } else if ours && let Some(kb) = line.strip_prefix("Rss:") {
            total += kb
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .unwrap();
        }
    }
    total
}

#[test]
fn an_idle_panel_gives_back_its_code_pages_and_serves_the_same_pages_after() {
    let run = tempfile::tempdir().unwrap();
    let b = PanelBox::admind_only(run.path(), "");
    let c = b.client();
    let first = c.get("/setup");
    assert_eq!(first.status, 200);
    let served = executable_resident_kib(b.pid());
    // Nobody has the page open: within 1.5 x IDLE_RELEASE (3 s) it gives back what start-up
    // and that request mapped of the binary. (The code that runs after the release maps
    // some back at once: in this unoptimised build a few MiB, scattered.)
    let mut idle = served;
    let given_back = wait_for(Duration::from_secs(30), || {
        idle = executable_resident_kib(b.pid());
        idle + 4096 <= served && idle * 2 <= served
    });
    assert!(
        given_back,
        "resident KiB of the binary: {served} after a request, {idle} idle\n{}",
        b.log()
    );
    eprintln!("resident KiB of the binary: {served} after a request, {idle} idle");
    // The pages come back from the page cache: the same answers as before.
    let again = c.get("/setup");
    assert_eq!(again.status, 200);
    assert_eq!(again.body, first.body);
    assert_eq!(c.get("/static/panel.css").status, 200);
    assert!(executable_resident_kib(b.pid()) > idle);
}

/// A process killed when dropped, so that a failed assertion leaves none behind.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `mamori admind` on a settings store, as the installed unit runs it; its log file.
fn admind_on_store(dir: &std::path::Path, store: &std::path::Path, log: &str) -> Running {
    let out = std::fs::File::create(dir.join(log)).unwrap();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_mamori"))
        .args(["admind", "--config"])
        .arg(dir.join("admind.toml"))
        .arg("--settings")
        .arg(store)
        .arg("--daemons-dir")
        .arg(dir.join("run"))
        .env_remove("RUST_LOG")
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .unwrap();
    Running(child)
}

#[test]
fn the_panel_runs_on_the_settings_store_and_takes_its_new_versions() {
    use crate::common::{free_port, seed_settings};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (file_port, store_port, later_port) = (free_port(), free_port(), free_port());
    let admin = |port: u16, redirect: u16| {
        format!(
            "[general]\nhostname = \"mamori.test\"\ndata_dir = \"{}\"\n\n[admin]\n\
             listen = \"127.0.0.1:{port}\"\nredirect_listen = \"127.0.0.1:{redirect}\"\n",
            d.join("data").display()
        )
    };
    // The store (seeded on first boot) says one port; the configuration file, edited
    // since, another: the store is what is in force.
    std::fs::write(d.join("seed.toml"), admin(store_port, free_port())).unwrap();
    let store = seed_settings(d, &d.join("seed.toml"));
    std::fs::write(d.join("admind.toml"), admin(file_port, free_port())).unwrap();
    let log = |name: &str| std::fs::read_to_string(d.join(name)).unwrap_or_default();
    let listening = |port: u16| std::net::TcpStream::connect(("127.0.0.1", port)).is_ok();
    let panel = admind_on_store(d, &store, "first.log");
    assert!(
        wait_for(Duration::from_secs(30), || listening(store_port)),
        "{}",
        log("first.log")
    );
    assert!(!listening(file_port));
    assert!(
        log("first.log").contains("differs from settings version 1"),
        "{}",
        log("first.log")
    );

    // A new version: the probation time is taken at once, the listener waits for a restart
    // (the page does not move under the browser of the person who changed it).
    let (code, out, err) = mamori(&[
        "settings",
        "--dir",
        store.to_str().unwrap(),
        "set",
        "admin.firewall_confirm_secs=45",
        &format!("admin.listen=\"127.0.0.1:{later_port}\""),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        wait_for(Duration::from_secs(20), || log("first.log")
            .contains("the panel took settings version 2")),
        "{}",
        log("first.log")
    );
    let said = log("first.log");
    assert!(
        said.contains("admin.listen take(s) effect when the panel restarts"),
        "{said}"
    );
    let restart_line = said
        .lines()
        .find(|l| l.contains("take(s) effect"))
        .unwrap_or("");
    assert!(!restart_line.contains("redirect_listen"), "{said}");
    assert!(listening(store_port) && !listening(later_port));
    drop(panel);

    // Started again, it listens where version 2 says.
    let _again = admind_on_store(d, &store, "second.log");
    let moved = wait_for(Duration::from_secs(30), || listening(later_port));
    assert!(moved, "{}", log("second.log"));
}

#[test]
fn the_panel_speaks_only_modern_tls() {
    let b = PanelBox::start("");
    let connect = |args: &[&str]| {
        let out = std::process::Command::new("openssl")
            .args(["s_client", "-connect", &format!("127.0.0.1:{}", b.https)])
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    };
    assert!(connect(&["-tls1_3"]).contains("TLSv1.3"));
    let t12 = connect(&["-tls1_2"]);
    assert!(t12.contains("TLSv1.2") && t12.contains("ECDHE"), "{t12}");
    for old in ["-tls1_1", "-tls1"] {
        let out = connect(&[old, "-cipher", "DEFAULT@SECLEVEL=0"]);
        assert!(
            !out.contains("Cipher is ECDHE") && !out.contains("New, TLSv1"),
            "{old}: {out}"
        );
    }
    // A CBC or non-forward-secret suite is never agreed.
    let out = connect(&[
        "-tls1_2",
        "-cipher",
        "AES128-SHA:AES256-SHA:ECDHE-RSA-AES128-SHA:ECDHE-ECDSA-AES128-SHA",
    ]);
    assert!(
        !out.contains("Cipher is AES") && !out.contains("Cipher is ECDHE-"),
        "{out}"
    );
    // A client that prefers ChaCha20 gets it.
    let out = connect(&[
        "-tls1_2",
        "-cipher",
        "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256",
    ]);
    assert!(out.contains("CHACHA20"), "{out}");
    // The fingerprint the box printed is the certificate's.
    let log = b.log();
    let printed = log
        .lines()
        .find(|l| l.contains("fingerprint"))
        .and_then(|l| l.split_whitespace().last())
        .unwrap()
        .to_string();
    let pem = connect(&["-showcerts"]);
    let cert = &pem[pem.find("-----BEGIN CERTIFICATE-----").unwrap()
        ..pem.find("-----END CERTIFICATE-----").unwrap() + 25];
    let mut child = std::process::Command::new("openssl")
        .args(["x509", "-noout", "-fingerprint", "-sha256"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(cert.as_bytes())
        .unwrap();
    let fp = String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap();
    assert!(fp.contains(&printed), "{fp} vs {printed}");
    let _ = mamori;
}

/// The wizard's outgoing route through a provider's submission port (a second Mamori as
/// the provider): tested live — TLS verified, AUTH — before it can be saved, a wrong
/// password caught by the test, and once saved, mail leaves through the provider with
/// TLS and AUTH while the password sits only in the settings service's secret file.
#[test]
fn the_route_is_tested_live_before_it_is_saved_and_then_carries_mail() {
    use crate::common::Sink;
    let sink = Sink::start();
    let (provider, cert) = crate::common::provider(sink.port, "provider-secret");
    let b = PanelBox::start(&format!(
        "[smtp.delivery]\nca_file = \"{}\"\n",
        cert.display()
    ));
    let c = create_admin(&b, "tanaka", ADMIN_PW);
    let t = c.get("/setup/domains").csrf();
    c.post(
        "/setup/domains",
        &[("_csrf", &t), ("domains", "office.example.jp")],
    );
    c.post("/setup/lan", &[("_csrf", &t), ("lan", "192.168.10.0/24")]);
    let port = provider.submission.to_string();
    let route = |password: &str, action: &str| {
        c.post(
            "/setup/route",
            &[
                ("_csrf", &t),
                ("mode", "provider"),
                ("host", "localhost"),
                ("port", &port),
                ("username", "office"),
                ("password", password),
                ("action", action),
            ],
        )
    };
    // A wrong password: the test says AUTH failed, and the route cannot be saved.
    let a = route("not-the-secret", "test");
    assert!(
        a.body
            .contains(r#"class="error" role="alert" id="route-result""#),
        "{}",
        a.body
    );
    assert!(
        a.body.contains("535") || a.body.to_lowercase().contains("auth"),
        "{}",
        a.body
    );
    assert_eq!(route("", "next").status, 400);
    // The right one passes, and the page does not send the password back.
    let a = route("provider-secret", "test");
    assert!(
        a.body
            .contains(r#"class="ok" role="status" id="route-result""#),
        "{}",
        a.body
    );
    assert!(!a.body.contains("provider-secret"));
    // "Next" with the password field left empty keeps the tested route.
    let a = route("", "next");
    assert_eq!(a.header("location"), Some("/setup/accounts"), "{a:?}");
    let a = c.post("/setup/summary", &[("_csrf", &t)]);
    assert!(a.body.contains(r#"id="saved""#), "{}", a.body);
    // The password is in the secret file only (mode 0640), not in any settings version.
    let secret = b.data().join("settings/secrets/smarthost-password");
    assert_eq!(std::fs::read_to_string(&secret).unwrap(), "provider-secret");
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&secret).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o640);
    for entry in std::fs::read_dir(b.data().join("settings")).unwrap() {
        let p = entry.unwrap().path();
        if p.is_file() {
            let text = std::fs::read_to_string(&p).unwrap_or_default();
            assert!(!text.contains("provider-secret"), "{}", p.display());
        }
    }
    let audit =
        std::fs::read_to_string(b.data().join("settings/audit/settingsd/audit.jsonl")).unwrap();
    assert!(
        audit.contains("set_secret") && !audit.contains("provider-secret"),
        "{audit}"
    );
    let relay_audit = std::fs::read_to_string(b.data().join("audit/smtpd/audit.jsonl")).unwrap();
    // The relay recorded each test, without a digest of the request that held the password.
    let tests: Vec<&str> = relay_audit
        .lines()
        .filter(|l| l.contains("test_route"))
        .collect();
    assert_eq!(tests.len(), 2, "{relay_audit}");
    assert!(
        tests
            .iter()
            .all(|l| !l.contains("request_sha256") && l.contains("for tanaka (admin)")),
        "{relay_audit}"
    );
    // Mail from the office LAN (here loopback) now leaves through the provider.
    let (code, out) = crate::common::swaks(&[
        "--server",
        &format!("127.0.0.1:{}", b.relay),
        "--from",
        "a@office.example.jp",
        "--to",
        "b@sink.test",
        "--header",
        "Subject: via-the-wizards-route",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(
        wait_for(std::time::Duration::from_secs(30), || sink.count() == 1),
        "nothing arrived; box log:\n{}\nprovider log:\n{}",
        b.log(),
        provider.log()
    );
    let (text, _) = &sink.messages()[0];
    assert!(
        text.contains("via-the-wizards-route") && text.contains("with ESMTPSA"),
        "{text}"
    );
}

/// testssl.sh, the field's TLS scanner, finds no weak protocol, cipher or setting on the
/// panel's port (the certificate's trust items aside: it is self-signed by design until the
/// administrator uploads one).
#[test]
fn testssl_finds_no_weak_protocol_or_cipher_on_the_panel() {
    crate::common::require("testssl");
    let b = PanelBox::start("");
    // testssl opens many connections; on a loaded CI machine one may fail, which testssl
    // reports as a WARN "check failed because of connect problem" (no finding on the
    // panel). Such a run is repeated, once or twice; a real finding stays a failure.
    let scan = |n: u32| -> serde_json::Value {
        let json = b.dir.path().join(format!("testssl-{n}.json"));
        let out = std::process::Command::new("testssl")
            .args([
                "--quiet",
                "--color",
                "0",
                "--warnings",
                "off",
                "-p",
                "-s",
                "-f",
                "-S",
                "--jsonfile",
            ])
            .arg(&json)
            .arg(format!("127.0.0.1:{}", b.https))
            .output()
            .unwrap();
        serde_json::from_slice(&std::fs::read(&json).unwrap_or_default())
            .unwrap_or_else(|_| panic!("no testssl JSON: {}", String::from_utf8_lossy(&out.stdout)))
    };
    let inconclusive = |v: &serde_json::Value| {
        v.as_array().is_some_and(|a| {
            a.iter().any(|f| {
                f["finding"]
                    .as_str()
                    .is_some_and(|t| t.contains("check failed") || t.contains("connect problem"))
            })
        })
    };
    let mut findings = scan(1);
    for n in 2..=3 {
        if !inconclusive(&findings) {
            break;
        }
        findings = scan(n);
    }
    let findings = findings.as_array().unwrap();
    assert!(findings.len() > 30, "testssl ran: {findings:?}");
    let by_id = |id: &str| {
        findings
            .iter()
            .find(|f| f["id"] == id)
            .map(|f| f["finding"].as_str().unwrap_or("").to_string())
            .unwrap_or_else(|| panic!("no {id}"))
    };
    for old in ["SSLv2", "SSLv3", "TLS1", "TLS1_1"] {
        assert!(by_id(old).contains("not offered"), "{old}: {}", by_id(old));
    }
    assert!(by_id("TLS1_3").contains("offered"));
    let weak: Vec<String> = findings
        .iter()
        .filter(|f| {
            let id = f["id"].as_str().unwrap_or("");
            let severity = f["severity"].as_str().unwrap_or("");
            // `engine_problem`: testssl on the openssl it runs with, not a finding on the panel.
            !id.starts_with("cert")
                && !id.starts_with("DNS_CAA")
                && id != "engine_problem"
                && !["OK", "INFO"].contains(&severity)
        })
        .map(|f| format!("{} {} {}", f["id"], f["severity"], f["finding"]))
        .collect();
    assert!(weak.is_empty(), "testssl found: {weak:#?}");
}

/// Several named users: an administrator adds and removes people (the removed person's
/// sessions end at once; the last administrator stays); a password is changed only after
/// the current one is entered again, and the change ends the person's other sessions.
#[test]
fn users_are_managed_and_removal_or_a_new_password_ends_sessions_at_once() {
    let b = PanelBox::start("");
    let admin = create_admin(&b, "tanaka", ADMIN_PW);
    let t = admin.get("/system/users").csrf();
    let add = |name: &str, role: &str, pw: &str| {
        admin.post(
            "/system/users/add",
            &[
                ("_csrf", &t),
                ("name", name),
                ("role", role),
                ("password", pw),
                ("password_again", pw),
            ],
        )
    };
    let a = add("sato", "approver", "sato1234567890");
    assert_eq!(a.status, 400);
    assert!(a.body.contains(r#"id="add-password-error""#), "{}", a.body);
    let a = add("Sato!", "approver", "kawa-no-nagare-ha");
    assert!(a.body.contains(r#"id="add-error""#), "{}", a.body);
    let a = add("sato", "root", "kawa-no-nagare-ha");
    assert_eq!(a.status, 400);
    let a = add("sato", "approver", "kawa-no-nagare-ha");
    assert_eq!(
        a.header("location"),
        Some("/system/users?done=added:sato"),
        "{a:?}"
    );
    assert!(
        admin
            .get("/system/users?done=added:sato")
            .body
            .contains(r#"id="done""#)
    );
    // Sato works as an approver: no user management.
    let (sato, a) = login(&b, "sato", "kawa-no-nagare-ha");
    assert_eq!(a.status, 303);
    let page = sato.get("/system/users");
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("/system/users/add"), "{}", page.body);
    let st = page.csrf();
    let a = sato.post(
        "/system/users/add",
        &[
            ("_csrf", &st),
            ("name", "mallory"),
            ("role", "administrator"),
            ("password", "mallory-was-here-1"),
            ("password_again", "mallory-was-here-1"),
        ],
    );
    assert_eq!(a.status, 403);
    let a = sato.post(
        "/system/users/remove",
        &[("_csrf", &st), ("name", "tanaka")],
    );
    assert_eq!(a.status, 403);
    // A new role ends Sato's sessions at once (a session carries the role it began with);
    // the last administrator cannot step down.
    let a = admin.post(
        "/system/users/role",
        &[("_csrf", &t), ("name", "sato"), ("role", "auditor")],
    );
    assert_eq!(
        a.header("location"),
        Some("/system/users?done=role:sato"),
        "{a:?}"
    );
    let a = sato.get("/dashboard");
    assert_eq!((a.status, a.header("location")), (303, Some("/login")));
    let a = admin.post(
        "/system/users/role",
        &[("_csrf", &t), ("name", "tanaka"), ("role", "approver")],
    );
    assert_eq!(a.status, 409, "{a:?}");
    let a = admin.post(
        "/system/users/role",
        &[("_csrf", &t), ("name", "sato"), ("role", "root")],
    );
    assert_eq!(a.status, 400);
    let (sato, a) = login(&b, "sato", "kawa-no-nagare-ha");
    assert_eq!(a.status, 303);
    assert!(
        sato.get("/system/users").body.contains("監査者"),
        "now an auditor"
    );
    // Removing Sato ends Sato's session now.
    let a = admin.post("/system/users/remove", &[("_csrf", &t), ("name", "sato")]);
    assert_eq!(a.status, 303, "{a:?}");
    let a = sato.get("/dashboard");
    assert_eq!((a.status, a.header("location")), (303, Some("/login")));
    assert_eq!(login(&b, "sato", "kawa-no-nagare-ha").1.status, 401);
    // The last administrator stays.
    let a = admin.post("/system/users/remove", &[("_csrf", &t), ("name", "tanaka")]);
    assert_eq!(a.status, 409);
    assert!(a.body.contains(r#"id="remove-error""#), "{}", a.body);
    // A password change needs the current password; it ends the other sessions.
    let (other_browser, _) = login(&b, "tanaka", ADMIN_PW);
    let change = |current: &str, new: &str| {
        admin.post(
            "/system/users/password",
            &[
                ("_csrf", &t),
                ("current", current),
                ("password", new),
                ("password_again", new),
            ],
        )
    };
    let a = change("not-my-password", "sora-to-umi-no-iro");
    assert_eq!(a.status, 403);
    assert!(a.body.contains(r#"id="current-error""#), "{}", a.body);
    let a = change(ADMIN_PW, "qwertyuiopasdf");
    assert_eq!(a.status, 400);
    assert!(a.body.contains(r#"id="new-password-error""#), "{}", a.body);
    let old_cookie = admin.cookie().unwrap();
    let a = change(ADMIN_PW, "sora-to-umi-no-iro");
    assert_eq!(
        a.header("location"),
        Some("/system/users?done=password"),
        "{a:?}"
    );
    assert_ne!(admin.cookie().unwrap(), old_cookie, "a new session id");
    assert_eq!(admin.get("/dashboard").status, 200, "this browser goes on");
    assert_eq!(
        other_browser.get("/dashboard").status,
        303,
        "the other session ended"
    );
    assert_eq!(login(&b, "tanaka", ADMIN_PW).1.status, 401);
    assert_eq!(login(&b, "tanaka", "sora-to-umi-no-iro").1.status, 303);
    let audit = std::fs::read_to_string(b.data().join("admind/audit/admind/audit.jsonl")).unwrap();
    for event in [
        "panel_user_added",
        "panel_user_removed",
        "panel_password_changed",
        "panel_reauthentication_failed",
        "panel_user_role_changed",
    ] {
        assert!(audit.contains(event), "{event}: {audit}");
    }
}

/// The audit log page: every service's chain with its verification state and its latest
/// records; a record changed on disk afterwards shows as tampering on the page.
#[test]
fn the_audit_page_shows_every_chain_and_catches_a_changed_record() {
    let b = PanelBox::start("");
    let c = create_admin(&b, "tanaka", ADMIN_PW);
    let a = finish_wizard(&c);
    assert!(a.body.contains(r#"id="saved""#), "{}", a.body);
    let page = c.get("/system/audit");
    assert_eq!(page.status, 200);
    for daemon in ["admind", "settingsd", "settings", "smtpd"] {
        assert!(
            page.body
                .contains(&format!(r#"class="ok" id="status-{daemon}">改ざんなし"#)),
            "{daemon}: {}",
            page.body
        );
    }
    // The try-out runs no firewall: said so, not hidden.
    assert!(
        page.body
            .contains(r#"class="error" id="status-firewalld">読めません"#),
        "{}",
        page.body
    );
    assert!(page.body.contains("panel_setup_administrator"));
    assert!(page.body.contains("settings_change") || page.body.contains("control_request"));
    assert!(
        page.body.contains("root for tanaka (admin)") || page.body.contains("for tanaka (admin)"),
        "{}",
        page.body
    );
    // Someone with access to the disk rewrites who made the settings change.
    let file = b.data().join("settings/audit/settingsd/audit.jsonl");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("for tanaka (admin)"), "{text}");
    std::fs::write(
        &file,
        text.replacen("for tanaka (admin)", "for sato (admin)", 1),
    )
    .unwrap();
    let page = c.get("/system/audit");
    assert!(
        page.body
            .contains(r#"class="error" id="status-settingsd">改ざんまたは欠落を検出"#),
        "{}",
        page.body
    );
    assert!(page.body.contains(r#"class="ok" id="status-admind""#));
}

/// The settings history: every version with who and what, the changes of one (password
/// hashes hidden), and going back to an earlier version as a new one, put in force in the
/// relay; an auditor sees the history but cannot go back.
#[test]
fn the_settings_history_shows_changes_and_goes_back_as_a_new_version() {
    let b = PanelBox::start("");
    let c = create_admin(&b, "tanaka", ADMIN_PW);
    let a = finish_wizard(&c);
    assert!(a.body.contains(r#"id="saved""#), "{}", a.body);
    let page = c.get("/system/settings");
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("setup wizard") && page.body.contains("for tanaka (admin)"),
        "{}",
        page.body
    );
    let page = c.get("/system/settings?diff=2");
    assert!(
        page.body.contains("smtp.office_domains") && page.body.contains("branch.example.jp"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("(hidden)") && !page.body.contains("$argon2id$"),
        "hashes hidden: {}",
        page.body
    );
    // Back to version 1 (the login was moments ago: no password asked again).
    assert!(!page.body.contains(r#"id="password-1""#));
    let t = page.csrf();
    let a = c.post(
        "/system/settings/rollback",
        &[("_csrf", &t), ("version", "1")],
    );
    assert_eq!(a.status, 200, "{a:?}");
    assert!(
        a.body.contains("版 1 に戻しました(新しい版 3)"),
        "{}",
        a.body
    );
    assert!(a.body.contains("smtpd: 反映しました"), "{}", a.body);
    assert!(
        a.body.contains("firewalld: 反映されませんでした"),
        "the try-out has no firewall: {}",
        a.body
    );
    let (_, domains, _) = b.settings(&["get", "smtp.office_domains"]);
    assert_eq!(domains.trim(), "[]", "{domains}");
    let (_, history, _) = b.settings(&["history"]);
    assert!(
        history
            .lines()
            .next()
            .unwrap()
            .contains("rollback to version 1"),
        "{history}"
    );
    let dash = c.get("/dashboard");
    let row = format!(
        "<td>smtpd</td><td>稼働中</td><td>{}</td><td>3</td>",
        env!("CARGO_PKG_VERSION")
    );
    assert!(dash.body.contains(&row), "{}", dash.body);
    // An auditor reads the history but may not go back.
    let t = c.get("/system/users").csrf();
    let a = c.post(
        "/system/users/add",
        &[
            ("_csrf", &t),
            ("name", "kansa"),
            ("role", "auditor"),
            ("password", "hiru-no-tsuki-ga-deru"),
            ("password_again", "hiru-no-tsuki-ga-deru"),
        ],
    );
    assert_eq!(a.status, 303);
    let (auditor, _) = login(&b, "kansa", "hiru-no-tsuki-ga-deru");
    let page = auditor.get("/system/settings");
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("/system/settings/rollback"));
    let a = auditor.post(
        "/system/settings/rollback",
        &[("_csrf", &page.csrf()), ("version", "2")],
    );
    assert_eq!(a.status, 403);
    let audit = std::fs::read_to_string(b.data().join("admind/audit/admind/audit.jsonl")).unwrap();
    assert!(audit.contains("panel_settings_rollback"), "{audit}");
}
