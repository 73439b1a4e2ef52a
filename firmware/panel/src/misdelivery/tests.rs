use serde_json::json;

use super::*;

fn office() -> Vec<String> {
    vec!["office.example.jp".into()]
}

fn draft() -> Draft {
    Draft::of(&Section::default())
}

fn fields(problems: &[Problem]) -> Vec<Field> {
    problems.iter().map(|p| p.field).collect()
}

fn set_of(change: &Change) -> Vec<(&str, &Value)> {
    change.set.iter().map(|(k, v)| (k.as_str(), v)).collect()
}

#[test]
fn the_form_shows_the_defaults_and_unchanged_it_changes_nothing() {
    let d = draft();
    assert_eq!(
        (
            d.hold.as_str(),
            d.max_future_release.as_str(),
            d.bcc_threshold.as_str()
        ),
        ("0", "7", "0")
    );
    assert_eq!(
        (
            d.approval_timeout.as_str(),
            d.new_domain_timeout.as_str(),
            d.learn_days.as_str()
        ),
        ("24", "24", "90")
    );
    assert_eq!(
        (
            d.hold_scope.as_str(),
            d.approval_on_timeout.as_str(),
            d.new_domain_on_timeout.as_str()
        ),
        ("external", "reject", "reject")
    );
    assert!(d.external_only && d.with_attachment && !d.with_finding && !d.new_domain);
    let change = change(&Section::default(), &d, &office()).unwrap();
    assert!(
        change.set.is_empty() && change.unset.is_empty() && change.turns_off.is_empty(),
        "{change:?}"
    );
    assert!(Section::default().protections_on().is_empty());
}

#[test]
fn the_section_is_read_as_the_settings_service_writes_it() {
    assert_eq!(read(&Value::Null).unwrap(), Section::default());
    // As `humantime_serde` writes durations, with a key the page does not know.
    let json = serde_json::json!({
        "hold": "5m",
        "hold_scope": "all",
        "hold_except_senders": ["boss@office.example.jp"],
        "max_future_release": "7days",
        "link_base": null,
        "bcc_threshold": 5,
        "approval": {
            "approvers": ["bucho@office.example.jp"],
            "senders": [],
            "external_only": true,
            "with_attachment": false,
            "with_finding": false,
            "timeout": "1day",
            "on_timeout": "send"
        },
        "new_domain": {"enabled": true, "learn_days": 30, "timeout": "2h", "on_timeout": "reject"},
        "something_newer": 1
    });
    let s = read(&json).unwrap();
    assert_eq!(s.hold, Duration::from_secs(300));
    assert_eq!(s.hold_scope, HoldScope::All);
    assert_eq!(s.max_future_release, Duration::from_secs(7 * 86_400));
    assert_eq!(s.approval.timeout, Duration::from_secs(86_400));
    assert_eq!(s.approval.on_timeout, Outcome::Send);
    assert_eq!(s.new_domain.timeout, Duration::from_secs(7200));
    assert_eq!(
        s.protections_on(),
        [
            Protection::TimedHold,
            Protection::Bcc,
            Protection::Approval,
            Protection::NewDomain
        ]
    );
    let d = Draft::of(&s);
    assert_eq!(
        (
            d.hold.as_str(),
            d.approval_timeout.as_str(),
            d.new_domain_timeout.as_str()
        ),
        ("5", "24", "2")
    );
    assert_eq!(d.approvers, "bucho@office.example.jp");
    assert!(read(&serde_json::json!({"hold": "soon"})).is_err());
    assert!(read(&serde_json::json!({"hold_scope": "some"})).is_err());
}

#[test]
fn the_form_writes_only_what_changed_in_humantime() {
    let mut d = draft();
    d.hold = " 1 ".into();
    d.hold_except_senders =
        "boss@office.example.jp, *.partner.example.jp\nBOSS@office.example.jp".into();
    d.bcc_threshold = "5".into();
    d.approvers = "bucho@office.example.jp".into();
    d.with_finding = true;
    d.approval_timeout = "168".into();
    d.new_domain = true;
    d.new_domain_on_timeout = "send".into();
    d.max_future_release = "0".into();
    d.link_base = " https://mamori.office.lan ".into();
    let change = change(&Section::default(), &d, &office()).unwrap();
    assert!(change.turns_off.is_empty() && change.unset.is_empty());
    assert_eq!(
        set_of(&change),
        [
            ("misdelivery.hold", &json!("1m")),
            (
                "misdelivery.hold_except_senders",
                &json!(["boss@office.example.jp", "*.partner.example.jp"])
            ),
            ("misdelivery.max_future_release", &json!("0d")),
            ("misdelivery.bcc_threshold", &json!(5)),
            (
                "misdelivery.approval.approvers",
                &json!(["bucho@office.example.jp"])
            ),
            ("misdelivery.approval.with_finding", &json!(true)),
            ("misdelivery.approval.timeout", &json!("168h")),
            ("misdelivery.new_domain.enabled", &json!(true)),
            ("misdelivery.new_domain.on_timeout", &json!("send")),
            ("misdelivery.link_base", &json!("https://mamori.office.lan")),
        ]
    );
    // Each written duration reads back as what was typed.
    let read_back = |key: &str| {
        let (_, value) = change.set.iter().find(|(k, _)| k == key).unwrap();
        humantime::parse_duration(value.as_str().unwrap()).unwrap()
    };
    assert_eq!(read_back("misdelivery.hold"), Duration::from_secs(60));
    assert_eq!(read_back("misdelivery.max_future_release"), Duration::ZERO);
    assert_eq!(
        read_back("misdelivery.approval.timeout"),
        Duration::from_secs(7 * 86_400)
    );
}

#[test]
fn turning_a_protection_off_is_said_and_an_emptied_link_is_unset() {
    let on = Section {
        hold: Duration::from_secs(300),
        bcc_threshold: 3,
        link_base: Some("https://gw.office.lan".into()),
        approval: section::Approval {
            approvers: vec!["bucho@office.example.jp".into()],
            ..section::Approval::default()
        },
        new_domain: section::NewDomain {
            enabled: true,
            ..section::NewDomain::default()
        },
        ..Section::default()
    };
    let same = Draft::of(&on);
    assert!(change(&on, &same, &office()).unwrap().set.is_empty());
    let mut d = same.clone();
    d.hold = "0".into();
    d.bcc_threshold = "0".into();
    d.approvers = " ".into();
    d.new_domain = false;
    d.link_base = String::new();
    let c = change(&on, &d, &office()).unwrap();
    assert_eq!(
        c.turns_off,
        [
            Protection::TimedHold,
            Protection::Bcc,
            Protection::Approval,
            Protection::NewDomain
        ]
    );
    assert_eq!(c.unset, ["misdelivery.link_base"]);
    assert!(c.set.iter().all(|(k, _)| k != "misdelivery.link_base"));
    // A shorter hold, or another approver, is not turning anything off.
    let mut d = same.clone();
    d.hold = "1".into();
    d.approvers = "kacho@office.example.jp".into();
    assert!(change(&on, &d, &office()).unwrap().turns_off.is_empty());
    // Turning them on is not turning them off.
    let mut d = draft();
    d.hold = "5".into();
    d.new_domain = true;
    assert!(
        change(&Section::default(), &d, &office())
            .unwrap()
            .turns_off
            .is_empty()
    );
}

#[test]
fn a_duration_from_a_file_is_kept_while_left_as_shown() {
    let file = Section {
        hold: Duration::from_secs(90),
        approval: section::Approval {
            timeout: Duration::from_secs(1800),
            ..section::Approval::default()
        },
        ..Section::default()
    };
    let mut d = Draft::of(&file);
    assert_eq!(
        (d.hold.as_str(), d.approval_timeout.as_str()),
        ("1m 30s", "30m")
    );
    assert!(change(&file, &d, &office()).unwrap().set.is_empty());
    d.hold = "2".into();
    assert_eq!(
        change(&file, &d, &office()).unwrap().set,
        vec![("misdelivery.hold".into(), Value::from("2m"))]
    );
}

#[test]
fn a_bad_form_names_each_field_in_order_and_keeps_nothing() {
    let mut d = draft();
    d.link_base = "http://mamori.office.lan".into();
    d.hold = "1441".into();
    d.hold_scope = "outside".into();
    d.hold_except_senders = "boss@office.example.jp\nyamada".into();
    d.max_future_release = "31".into();
    d.bcc_threshold = "-1".into();
    d.approvers = "not-an-address".into();
    d.approval_senders = "taro@".into();
    d.approval_timeout = "0".into();
    d.approval_on_timeout = "discard".into();
    d.learn_days = "0".into();
    d.new_domain_timeout = "169".into();
    d.new_domain_on_timeout = String::new();
    let problems = change(&Section::default(), &d, &office()).unwrap_err();
    assert_eq!(
        fields(&problems),
        [
            Field::Hold,
            Field::HoldScope,
            Field::HoldExcept,
            Field::FutureRelease,
            Field::Bcc,
            Field::Approvers,
            Field::ApprovalSenders,
            Field::ApprovalTimeout,
            Field::ApprovalOnTimeout,
            Field::LearnDays,
            Field::NewDomainTimeout,
            Field::NewDomainOnTimeout,
            Field::LinkBase,
        ]
    );
    assert_eq!(
        problems[0].why,
        Why::Number {
            least: 0,
            most: 1440
        }
    );
    assert_eq!(problems[2].why, Why::Pattern("yamada".into()));
    assert_eq!(problems[5].why, Why::NotAnAddress("not-an-address".into()));
    assert_eq!(
        problems[7].why,
        Why::Number {
            least: 1,
            most: 168
        }
    );
}

#[test]
fn approvers_are_addresses_of_the_office_when_it_has_domains() {
    let with = |text: &str, domains: &[String]| {
        let mut d = draft();
        d.approvers = text.into();
        change(&Section::default(), &d, domains).map_err(|p| p[0].why.clone())
    };
    assert!(
        with(
            "bucho@office.example.jp, Kacho@OFFICE.example.jp",
            &office()
        )
        .is_ok()
    );
    assert_eq!(
        with("bucho@gmail.example.com", &office()),
        Err(Why::NotOffice("bucho@gmail.example.com".into()))
    );
    // Before the office's domains are set, any address.
    assert!(with("bucho@gmail.example.com", &[]).is_ok());
    for bad in [
        "bucho",
        "@office.example.jp",
        "bucho@office",
        "a@b@office.example.jp",
    ] {
        assert_eq!(
            with(bad, &office()),
            Err(Why::NotAnAddress(bad.into())),
            "{bad}"
        );
    }
    let many: Vec<String> = (0..=MAX_APPROVERS)
        .map(|i| format!("a{i}@office.example.jp"))
        .collect();
    assert_eq!(
        with(&many.join("\n"), &office()),
        Err(Why::TooMany(MAX_APPROVERS))
    );
}

#[test]
fn link_addresses_are_https_with_a_host() {
    assert_eq!(entries::link_base(""), Ok(None));
    assert_eq!(
        entries::link_base("https://gw.office.lan:8443/"),
        Ok(Some("https://gw.office.lan:8443/".into()))
    );
    for bad in [
        "http://gw",
        "https://",
        "https:///x",
        "https://a b",
        "gw.office.lan",
    ] {
        assert_eq!(entries::link_base(bad), Err(Why::LinkBase), "{bad}");
    }
}

#[test]
fn the_settings_services_refusal_finds_its_fields() {
    let text = "the change was refused, nothing changed; 3 error(s):\n\
                error: misdelivery.hold = 2days: at most 24h: a longer wait is a quarantine\n\
                error: misdelivery.approval.approvers = x: an approver's mail address\n\
                error: smtp.max_recipients = 0: at least 1 (invalid)";
    let problems = refused(text);
    assert_eq!(fields(&problems), [Field::Hold, Field::Approvers]);
    assert_eq!(
        problems[0].why,
        Why::Refused("2days: at most 24h: a longer wait is a quarantine".into())
    );
    assert!(refused("settings service unreachable").is_empty());
    assert_eq!(
        field_of("misdelivery.new_domain.learn_days"),
        Field::LearnDays
    );
    assert_eq!(field_of("misdelivery.link_base"), Field::LinkBase);
    assert_eq!(field_of("misdelivery.approval.with_finding"), Field::Form);
    assert_eq!(field_of("encrypt.hold"), Field::Form);
}

#[test]
fn every_problem_has_a_text_in_both_languages() {
    let problem = |field, why| Problem { field, why };
    for t in [&crate::i18n::JA, &crate::i18n::EN] {
        let all = [
            problem(
                Field::Hold,
                Why::Number {
                    least: 0,
                    most: 1440,
                },
            ),
            problem(Field::HoldScope, Why::Choice),
            problem(Field::Approvers, Why::TooMany(20)),
            problem(Field::HoldExcept, Why::Pattern("yamada".into())),
            problem(Field::Approvers, Why::NotAnAddress("yamada".into())),
            problem(Field::Approvers, Why::NotOffice("yamada@x.jp".into())),
            problem(Field::LinkBase, Why::LinkBase),
            problem(Field::Hold, Why::Refused("2days: at most 24h".into())),
        ];
        for p in &all {
            let text = problem_text(t, p);
            assert!(!text.is_empty() && !text.contains("{}"), "{p:?}: {text}");
        }
        assert!(problem_text(t, &all[0]).contains("0–1440"));
        assert!(problem_text(t, &all[4]).contains("yamada"));
        assert!(problem_text(t, &all[7]).contains("at most 24h"));
    }
}
