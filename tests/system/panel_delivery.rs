//! The panel's delivery page against real peers: a provider (a second relay with an
//! account, in front of `smtp-sink`) saved only after a live test passes, its password kept
//! in the settings service's secret file and reused for later tests; a route for a single
//! domain and TLS per domain, each in force at once on real mail.

use std::time::Duration;

use crate::common::{Sink, swaks, wait_for};
use crate::panel_box::{PanelBox, create_admin};

const ADMIN_PW: &str = "hanabi-to-yukata-2026";

fn mail(b: &PanelBox, to: &str, subject: &str) {
    let (code, out) = swaks(&[
        "--server",
        &format!("127.0.0.1:{}", b.relay),
        "--from",
        "tanaka@office.test",
        "--to",
        to,
        "--header",
        &format!("Subject: {subject}"),
    ]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn the_route_is_tested_before_it_is_saved_and_domains_get_their_own_route_and_tls() {
    let sink = Sink::start();
    let partner = Sink::start();
    let (provider, cert) = crate::common::provider(sink.port, "provider-secret");
    let b = PanelBox::start(&format!(
        "[smtp]\noffice_domains = [\"office.test\"]\n\n[smtp.delivery]\nca_file = \"{}\"\n",
        cert.display()
    ));
    let admin = create_admin(&b, "tanaka", ADMIN_PW);
    let page = admin.get("/mail/delivery");
    assert_eq!(page.status, 200, "{page:?}");
    assert!(page.body.contains(r#"id="route-now""#));
    let t = page.csrf();
    let port = provider.submission.to_string();
    let route = |username: &str, password: &str, action: &str| {
        admin.post(
            "/mail/delivery/route",
            &[
                ("_csrf", &t),
                ("mode", "provider"),
                ("host", "localhost"),
                ("port", &port),
                ("username", username),
                ("password", password),
                ("action", action),
            ],
        )
    };
    let smarthost = || {
        let (code, out, err) = b.settings(&["get", "smtp.delivery.smarthost"]);
        assert_eq!(code, 0, "{err}");
        out.trim().to_string()
    };
    // A wrong password: the test fails, and nothing is saved.
    let a = route("office", "not-the-secret", "save");
    assert_eq!(a.status, 400, "{a:?}");
    assert!(a.body.contains(r#"id="route-error""#), "{}", a.body);
    assert_eq!(smarthost(), "null", "no smarthost saved");
    // A new account with no password cannot be saved.
    let a = route("office", "", "save");
    assert!(a.body.contains(r#"id="route-error""#), "{}", a.body);
    // The right one: tested, then saved; the password only in the secret file.
    let a = route("office", "provider-secret", "test");
    assert!(a.body.contains(r#"id="route-result""#), "{}", a.body);
    assert!(!a.body.contains("provider-secret"));
    let a = route("office", "provider-secret", "save");
    assert_eq!(
        a.header("location"),
        Some("/mail/delivery?done=route"),
        "{a:?}"
    );
    let saved = smarthost();
    assert!(
        saved.contains("password_file") && !saved.contains("provider-secret"),
        "{saved}"
    );
    // Saved again with the password left empty: the test uses the saved one.
    let a = route("office", "", "save");
    assert_eq!(a.status, 303, "{a:?}");
    // Another account with the password left empty: it must be given.
    let a = route("someone-else", "", "test");
    assert!(a.body.contains(r#"id="route-error""#), "{}", a.body);
    mail(&b, "kyaku@sink.test", "via-provider");
    assert!(
        wait_for(Duration::from_secs(30), || sink.count() == 1),
        "{}\n{}",
        b.log(),
        provider.log()
    );
    assert!(sink.messages()[0].0.contains("with ESMTPSA"));

    // A partner's own server for their domain, before the provider.
    let add_route = |domain: &str, port: &str| {
        admin.post(
            "/mail/delivery/routes",
            &[
                ("_csrf", &t),
                ("domain", domain),
                ("host", "127.0.0.1"),
                ("port", port),
            ],
        )
    };
    let pport = partner.port.to_string();
    let a = add_route("not a domain", &pport);
    assert!(a.body.contains(r#"id="route-add-error""#), "{}", a.body);
    let a = add_route("partner.test", "0");
    assert!(a.body.contains(r#"id="route-add-error""#), "{}", a.body);
    let a = add_route("Partner.Test", &pport);
    assert_eq!(
        a.header("location"),
        Some("/mail/delivery?done=route-added:partner.test"),
        "{a:?}"
    );
    let a = add_route("partner.test", &pport);
    assert!(
        a.body.contains(r#"id="route-add-error""#),
        "a second route: {}",
        a.body
    );
    // TLS required by default now: the partner's smtp-sink offers no STARTTLS, so mail to
    // it waits, until a policy for that domain says otherwise.
    let a = admin.post("/mail/delivery/tls", &[("_csrf", &t), ("mode", "required")]);
    assert_eq!(
        a.header("location"),
        Some("/mail/delivery?done=tls"),
        "{a:?}"
    );
    mail(&b, "kaori@partner.test", "to-partner");
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(partner.count(), 0, "no clear text when TLS is required");
    let a = admin.post(
        "/mail/delivery/tls",
        &[
            ("_csrf", &t),
            ("domain", "partner.test"),
            ("mode", "opportunistic"),
        ],
    );
    assert_eq!(a.status, 303, "{a:?}");
    let a = admin.post("/mail/queue/retry", &[("_csrf", &t)]);
    assert_eq!(a.status, 303, "{a:?}");
    assert!(
        wait_for(Duration::from_secs(30), || partner.count() == 1),
        "{}",
        b.log()
    );
    assert_eq!(sink.count(), 1, "not through the provider");
    let page = admin.get("/mail/delivery");
    assert!(page.body.contains("partner.test"), "{}", page.body);
    // A made-up mode is refused.
    let a = admin.post(
        "/mail/delivery/tls",
        &[("_csrf", &t), ("mode", "sometimes")],
    );
    assert_eq!(a.status, 400);
    // Removing the route and the policy; then straight to MX (the smarthost goes).
    for what in ["route", "policy"] {
        let a = admin.post(
            "/mail/delivery/remove",
            &[("_csrf", &t), ("what", what), ("domain", "partner.test")],
        );
        assert_eq!(a.status, 303, "{what}: {a:?}");
    }
    let a = admin.post(
        "/mail/delivery/route",
        &[("_csrf", &t), ("mode", "direct"), ("action", "save")],
    );
    assert_eq!(a.status, 303, "{a:?}");
    assert_eq!(smarthost(), "null", "the smarthost is gone");
    let audit = std::fs::read_to_string(b.data().join("admind/audit/admind/audit.jsonl")).unwrap();
    for event in [
        "panel_route_provider",
        "panel_domain_route_added",
        "panel_tls_default",
        "panel_tls_policy_added",
        "panel_domain_route_removed",
        "panel_tls_policy_removed",
        "panel_route_direct",
    ] {
        assert!(audit.contains(event), "{event}: {audit}");
    }
}

/// The pacing page: a group of domains with a limit of its own, in force at once on real
/// mail (one message a minute: the second waits), and the mobile carriers' preset switched.
#[test]
fn a_pacing_group_made_in_the_panel_slows_real_delivery() {
    let sink = Sink::start();
    let b = PanelBox::start(&format!(
        "[smtp]\noffice_domains = [\"office.test\"]\n\n\
         [[smtp.delivery.routes]]\ndomain = \"slow.test\"\nhost = \"127.0.0.1\"\nport = {}\n",
        sink.port
    ));
    let admin = create_admin(&b, "tanaka", ADMIN_PW);
    let page = admin.get("/mail/pacing");
    assert_eq!(page.status, 200, "{page:?}");
    assert!(
        page.body.contains(r#"id="jp-mobile" checked"#),
        "{}",
        page.body
    );
    let t = page.csrf();
    let limits = |per_minute: &'static str| {
        vec![
            ("messages_per_minute", per_minute),
            ("max_connections", "1"),
            ("messages_per_connection", "10"),
            ("recipients_per_transaction", "10"),
            ("recipients_per_connection", "100"),
        ]
    };
    // The defaults with a bad number: the reason next to the form.
    let mut form = vec![("_csrf", t.as_str()), ("jp_mobile_preset", "on")];
    form.extend(limits("lots"));
    let a = admin.post("/mail/pacing", &form);
    assert_eq!(a.status, 400);
    assert!(a.body.contains(r#"id="default-error""#), "{}", a.body);
    // The carriers' preset off, the defaults kept.
    let mut form = vec![("_csrf", t.as_str())];
    form.extend(limits("0"));
    let a = admin.post("/mail/pacing", &form);
    assert_eq!(
        a.header("location"),
        Some("/mail/pacing?done=saved"),
        "{a:?}"
    );
    let (_, preset, _) = b.settings(&["get", "smtp.pacing.jp_mobile_preset"]);
    assert_eq!(preset.trim(), "false");
    // A slow partner: one message a minute.
    let mut group = vec![
        ("_csrf", t.as_str()),
        ("name", "slow partner"),
        ("domains", "not a domain!"),
    ];
    group.extend(limits("1"));
    let a = admin.post("/mail/pacing/group", &group);
    assert!(a.body.contains(r#"id="group-error""#), "{}", a.body);
    group[2] = ("domains", "slow.test");
    let a = admin.post("/mail/pacing/group", &group);
    assert_eq!(a.status, 303, "{a:?}");
    let a = admin.post("/mail/pacing/group", &group);
    assert!(
        a.body.contains(r#"id="group-error""#),
        "the same name twice: {}",
        a.body
    );
    for n in 1..=2 {
        mail(&b, "kyaku@slow.test", &format!("paced-{n}"));
    }
    assert!(
        wait_for(Duration::from_secs(15), || sink.count() == 1),
        "{}",
        b.log()
    );
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(sink.count(), 1, "the second message waits for its minute");
    let a = admin.post(
        "/mail/pacing/remove",
        &[("_csrf", &t), ("name", "slow partner")],
    );
    assert_eq!(a.status, 303, "{a:?}");
    assert!(!admin.get("/mail/pacing").body.contains("slow partner"));
    let audit = std::fs::read_to_string(b.data().join("admind/audit/admind/audit.jsonl")).unwrap();
    for event in [
        "panel_pacing_saved",
        "panel_pacing_group_added",
        "panel_pacing_group_removed",
    ] {
        assert!(audit.contains(event), "{event}: {audit}");
    }
}
