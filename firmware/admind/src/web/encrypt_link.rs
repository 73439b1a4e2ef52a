//! Link mode on the encryption page: what it needs before it is used, and the two buttons
//! that get it there.
//!
//! - **The download port.** Recipients reach `mamori linkd` on the port of `links.listen`
//!   from the Internet, so the firewall must let that port in from the WAN. "Open the
//!   download port" adds the rule `mamori-linkd` (input, wan, tcp, that port, accept) as
//!   the firewall page's accepting rules are added: the password again unless given
//!   lately, audited first, saved as a settings version, and put in force on probation —
//!   the administrator confirms it on the firewall's confirmation page or it goes back.
//! - **The reachability self-test** ([`crate::reach`]): the name, a connection, the
//!   certificate, and this box's service answering. "Run the self-test" shows each step.
//!
//! Saving a form that makes link mode used (or moves it to another address) passes
//! [`gate`] first: the firewall model in force must let the port in, and the self-test
//! must pass; otherwise the reason is shown next to the field and nothing is saved.
//! Turning link mode off needs nothing more.

use std::sync::Arc;

use axum::extract::rejection::FormRejection;
use axum::extract::{Extension, Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use mamori_firewall::FirewallConfig;
use mamori_panel::encrypt as pure;
use mamori_panel::i18n::{Texts, fill};
use mamori_panel::users::Role;
use serde_json::Value;

use super::encrypt::{EncryptPage, general_draft, page};
use super::json::list;
use super::{Peer, or_answer, render, render_status, require, source};
use crate::reach::{self, CertProblem, Failure, Identity, Report, ServiceProblem, Step, StepState};
use crate::state::Panel;

/// What link mode needs, as the settings in force have it.
#[derive(Debug, Clone)]
pub(crate) struct LinkContext {
    /// The download service's port (`links.listen`), or why it cannot be read.
    pub port: Result<u16, String>,
    /// The firewall model in force (`None`: it could not be read).
    pub firewall: Option<FirewallConfig>,
    /// Its rules as the settings have them (rewritten whole when the port is opened).
    pub rules: Vec<Value>,
}

impl LinkContext {
    /// From the settings in force (`settings`: the tree, each section by name; a missing
    /// section is its defaults).
    pub fn of(settings: &Value) -> Self {
        let links: Result<mamori_links::LinksConfig, String> = match &settings["links"] {
            Value::Null => Ok(mamori_links::LinksConfig::default()),
            v => serde_json::from_value(v.clone()).map_err(|e| e.to_string()),
        };
        let port = links.and_then(|l| {
            l.listen
                .parse::<std::net::SocketAddr>()
                .map(|a| a.port())
                .map_err(|e| format!("{}: {e}", l.listen))
        });
        let firewall = match &settings["firewall"] {
            Value::Null => Some(FirewallConfig::default()),
            v => serde_json::from_value(v.clone()).ok(),
        };
        Self {
            port,
            firewall,
            rules: list(&settings["firewall"]["rules"]),
        }
    }

    /// When the settings could not be read at all.
    pub fn unknown(why: &str) -> Self {
        Self {
            port: Err(why.to_owned()),
            firewall: None,
            rules: Vec::new(),
        }
    }

    /// Does the firewall in force let the download port in from the WAN?
    pub fn port_open(&self) -> bool {
        match (&self.port, &self.firewall) {
            (Ok(port), Some(model)) => pure::link_port_open(model, *port),
            _ => false,
        }
    }
}

/// The link-mode section's help, naming the download port.
pub(crate) fn help(t: &Texts, link: &LinkContext) -> String {
    let port = match &link.port {
        Ok(n) => n.to_string(),
        Err(_) => "?".into(),
    };
    fill(t.enc_link_help, port)
}

/// One step of the self-test as the page lists it.
#[derive(Debug, Clone)]
pub(crate) struct StepRow {
    /// The step's name.
    pub what: &'static str,
    /// `ok`, `ng` or `not-run` (the row's class).
    pub class: &'static str,
    /// Passed, failed, not run — in words.
    pub state: &'static str,
    /// What it found, or why it failed.
    pub detail: String,
}

/// The self-test's outcome as the page shows it.
#[derive(Debug, Clone)]
pub(crate) struct ReachView {
    /// Every step passed.
    pub passed: bool,
    /// One line over the steps.
    pub summary: String,
    /// The steps.
    pub steps: Vec<StepRow>,
}

/// What the page says of a failure (`host`: the name the links carry).
pub(crate) fn failure_text(t: &Texts, f: &Failure, host: &str) -> String {
    match f {
        Failure::BadUrl => t.enc_reach_bad_url.into(),
        Failure::Resolve(why) => fill(t.enc_reach_no_name, why),
        Failure::Connect { tried, why } => {
            let at: Vec<String> = tried.iter().map(ToString::to_string).collect();
            fill(t.enc_reach_no_answer, format!("{}: {why}", at.join(", ")))
        }
        Failure::Certificate(c) => match c {
            CertProblem::Untrusted => t.enc_reach_untrusted.into(),
            CertProblem::WrongName => fill(t.enc_reach_wrong_name, host),
            CertProblem::Expired => t.enc_reach_expired.into(),
            CertProblem::NoRoots => t.enc_reach_no_roots.into(),
            CertProblem::Other(why) => fill(t.enc_reach_cert_other, why),
        },
        Failure::Service(ServiceProblem::OtherBox) => t.enc_reach_other_box.into(),
        Failure::Service(problem) => fill(t.enc_reach_not_service, service_problem(problem)),
    }
}

/// A service problem in a few words (technical, in both languages alike).
fn service_problem(p: &ServiceProblem) -> String {
    match p {
        ServiceProblem::NotTls(why) => format!("TLS: {why}"),
        ServiceProblem::Timeout => "no complete answer in time".into(),
        ServiceProblem::Io(why) => why.clone(),
        ServiceProblem::NotHttp => "not an HTTP answer".into(),
        ServiceProblem::Status(code) => format!("HTTP {code}"),
        ServiceProblem::TooLarge => format!("an answer over {} octets", reach::MAX_ANSWER),
        ServiceProblem::NotLinkd => format!("no \"{}…\" answer", reach::ANSWER_PREFIX),
        ServiceProblem::OtherBox => "another box".into(),
    }
}

/// The page's view of `report`.
pub(crate) fn view(t: &Texts, report: &Report) -> ReachView {
    let host = report.target.as_ref().map_or("?", |target| &target.host);
    let steps = Step::ALL
        .iter()
        .map(|step| {
            let (class, state) = match report.state(*step) {
                StepState::Passed => ("ok", t.enc_reach_ok),
                StepState::Failed => ("ng", t.enc_reach_ng),
                StepState::NotRun => ("not-run", t.enc_reach_not_run),
            };
            let detail = match (report.state(*step), &report.outcome) {
                (StepState::Failed, Err(f)) => failure_text(t, f, host),
                (StepState::NotRun, _) => String::new(),
                _ => passed_detail(t, report, *step),
            };
            StepRow {
                what: match step {
                    Step::Resolve => t.enc_reach_step_resolve,
                    Step::Connect => t.enc_reach_step_connect,
                    Step::Tls => t.enc_reach_step_tls,
                    Step::Service => t.enc_reach_step_service,
                },
                class,
                state,
                detail,
            }
        })
        .collect();
    let url = report.target.as_ref().map_or(String::new(), |target| {
        if target.port == 443 {
            format!("https://{}{}", target.host, target.prefix)
        } else {
            format!("https://{}:{}{}", target.host, target.port, target.prefix)
        }
    });
    ReachView {
        passed: report.passed(),
        summary: match report.outcome {
            Ok(Identity::ThisBox) => fill(t.enc_reach_passed, url),
            Ok(Identity::Unchecked) => t.enc_reach_unchecked.into(),
            Err(_) => t.enc_reach_failed.into(),
        },
        steps,
    }
}

/// What a step that passed found.
fn passed_detail(t: &Texts, report: &Report, step: Step) -> String {
    match step {
        Step::Resolve => {
            let addresses: Vec<String> = report.resolved.iter().map(ToString::to_string).collect();
            fill(t.enc_reach_resolved, addresses.join(", "))
        }
        Step::Connect => report
            .connected
            .map(|at| fill(t.enc_reach_connected, at))
            .unwrap_or_default(),
        Step::Tls => t.enc_reach_cert_ok.into(),
        Step::Service => match report.outcome {
            Ok(Identity::Unchecked) => t.enc_reach_unchecked.into(),
            _ => t.enc_reach_this_box.into(),
        },
    }
}

/// The reason the self-test failed, as shown next to a field.
fn reason(t: &Texts, report: &Report) -> Option<String> {
    let host = report.target.as_ref().map_or("?", |target| &target.host);
    report
        .outcome
        .as_ref()
        .err()
        .map(|f| failure_text(t, f, host))
}

/// Runs the self-test against `url` for the page `p` (its steps shown there).
async fn self_test(panel: &Panel, p: &mut EncryptPage, url: &str) -> Report {
    let report = reach::check(url, panel.link_instance.as_deref()).await;
    tracing::info!(url, passed = report.passed(), outcome = ?report.outcome, "link mode self-test");
    p.reach = Some(view(p.c.t, &report));
    report
}

/// What link mode needs before a change makes it used at `url`: the firewall in force
/// lets the download port in from the WAN (else the reason at `port_at`), and the
/// self-test passes (else its reason at `url_at`). `Err` is the status to answer with,
/// `p` holding the reason and the steps.
pub(crate) async fn gate(
    panel: &Panel,
    p: &mut EncryptPage,
    url: &str,
    (port_at, url_at): (&'static str, &'static str),
) -> Result<(), StatusCode> {
    let t = p.c.t;
    let port = match &p.link.port {
        Ok(port) => *port,
        Err(why) => {
            p.errors.push((port_at, fill(t.enc_link_listen_bad, why)));
            return Err(StatusCode::CONFLICT);
        }
    };
    if !p.link.port_open() {
        p.errors.push((port_at, fill(t.enc_link_port_first, port)));
        return Err(StatusCode::CONFLICT);
    }
    let report = self_test(panel, p, url).await;
    match reason(t, &report) {
        None => Ok(()),
        Some(why) => {
            p.errors.push((url_at, why));
            Err(StatusCode::CONFLICT)
        }
    }
}

/// `POST /mail/encrypt/test`: the self-test against the address in the general form as
/// typed (the form is shown back as it was). Changes nothing.
pub(crate) async fn test(
    State(panel): State<Arc<Panel>>,
    headers: HeaderMap,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    let (_, s) = or_answer!(require(&panel, &headers, Role::Administrator));
    let pairs = or_answer!(super::checked_pairs(&s, form));
    let (mut p, _) = page(&panel, &s).await;
    p.general = general_draft(&pairs, &p.general);
    let url = p.general.link_url.trim().to_owned();
    self_test(&panel, &mut p, &url).await;
    render(&p)
}

/// `POST /mail/encrypt/port`: adds the rule that lets the download port in from the WAN,
/// on probation (to the confirmation page); says so when the port is open already.
pub(crate) async fn open_port(
    State(panel): State<Arc<Panel>>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    let (id, s) = or_answer!(require(&panel, &headers, Role::Administrator));
    let pairs = or_answer!(super::checked_pairs(&s, form));
    let password = super::pair_field(&pairs)("password");
    let (mut p, _) = page(&panel, &s).await;
    let t = p.c.t;
    let (port, model) = match (&p.link.port, &p.link.firewall) {
        (Ok(port), Some(model)) => (*port, model.clone()),
        (Err(why), _) => {
            p.link_error = Some(fill(t.enc_link_listen_bad, why));
            return render_status(StatusCode::CONFLICT, &p);
        }
        (_, None) => {
            p.link_error = Some(fill(t.enc_unreadable, "firewall"));
            return render_status(StatusCode::CONFLICT, &p);
        }
    };
    if pure::link_port_open(&model, port) {
        return Redirect::to("/mail/encrypt?done=port-open").into_response();
    }
    let rules = pure::with_link_port_rule(&p.link.rules, port);
    let opened = serde_json::from_value(Value::Array(rules.clone()))
        .ok()
        .is_some_and(|typed| {
            pure::link_port_open(
                &FirewallConfig {
                    rules: typed,
                    ..model
                },
                port,
            )
        });
    if !opened {
        p.link_error = Some(fill(t.enc_link_port_shadowed, port));
        return render_status(StatusCode::CONFLICT, &p);
    }
    // It opens the box to the Internet: the password again, as the firewall page asks.
    if let Err(why) = super::reauthenticate(
        &panel,
        &id,
        &s,
        &password,
        source(&peer),
        "firewall opening (download port)",
        false,
    )
    .await
    {
        p.link_error = Some(why);
        return render_status(StatusCode::FORBIDDEN, &p);
    }
    let subject = format!("{} tcp/{port}", pure::LINK_RULE_NAME);
    let result = super::apply::audited_firewall_change(
        &panel,
        &s,
        source(&peer),
        ("panel_encrypt_link_port_opened", &subject),
        vec![("firewall.rules".into(), Value::Array(rules))],
    )
    .await;
    super::apply::firewall_answer(
        result,
        t,
        p,
        |p| &mut p.link_error,
        |p, why| p.link_error = Some(why),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reach::Target;

    #[test]
    fn the_download_port_and_the_firewall_come_from_the_settings() {
        let none = LinkContext::of(&Value::Null);
        assert_eq!(none.port, Ok(8443));
        assert!(!none.port_open(), "the default WAN lets nothing in");
        let settings = serde_json::json!({
            "links": {"listen": "0.0.0.0:9443"},
            "firewall": {"rules": [pure::link_port_rule(9443)]},
        });
        let open = LinkContext::of(&settings);
        assert_eq!((open.port.clone(), open.port_open()), (Ok(9443), true));
        assert_eq!(open.rules.len(), 1);
        let elsewhere = serde_json::json!({
            "links": {"listen": "0.0.0.0:8443"},
            "firewall": {"rules": [pure::link_port_rule(9443)]},
        });
        assert!(!LinkContext::of(&elsewhere).port_open());
        let bad = LinkContext::of(&serde_json::json!({"links": {"listen": "everywhere"}}));
        assert!(bad.port.is_err() && !bad.port_open());
        assert!(!LinkContext::unknown("no settings service").port_open());
    }

    #[test]
    fn every_failure_reads_in_both_languages_and_the_steps_follow_it() {
        let target = Target::parse("https://files.example.jp:8443").unwrap();
        let failures = [
            Failure::BadUrl,
            Failure::Resolve("Name or service not known".into()),
            Failure::Connect {
                tried: vec!["192.0.2.1:8443".parse().unwrap()],
                why: "Connection refused".into(),
            },
            Failure::Certificate(CertProblem::Untrusted),
            Failure::Certificate(CertProblem::WrongName),
            Failure::Certificate(CertProblem::Expired),
            Failure::Certificate(CertProblem::NoRoots),
            Failure::Certificate(CertProblem::Other("x".into())),
            Failure::Service(ServiceProblem::NotTls("corrupt message".into())),
            Failure::Service(ServiceProblem::Status(404)),
            Failure::Service(ServiceProblem::NotLinkd),
            Failure::Service(ServiceProblem::OtherBox),
            Failure::Service(ServiceProblem::Timeout),
        ];
        for t in [&mamori_panel::i18n::JA, &mamori_panel::i18n::EN] {
            for f in &failures {
                let report = Report {
                    target: Some(target.clone()),
                    resolved: vec!["192.0.2.1".parse().unwrap()],
                    connected: None,
                    outcome: Err(f.clone()),
                };
                let text = reason(t, &report).unwrap();
                assert!(!text.is_empty() && !text.contains("{}"), "{f:?}: {text}");
                let v = view(t, &report);
                assert!(!v.passed);
                let failed: Vec<&StepRow> = v.steps.iter().filter(|r| r.class == "ng").collect();
                assert_eq!(failed.len(), 1, "{f:?}");
                assert_eq!(failed[0].detail, text);
            }
            // Each kind of failure says what it is about.
            let say = |f: Failure| failure_text(t, &f, "files.example.jp");
            assert!(
                say(Failure::Connect {
                    tried: vec![],
                    why: "refused".into()
                })
                .contains("refused")
            );
            assert!(say(Failure::Certificate(CertProblem::Untrusted)).contains("links.cert"));
            let passed = Report {
                target: Some(target.clone()),
                resolved: vec!["192.0.2.1".parse().unwrap()],
                connected: Some("192.0.2.1:8443".parse().unwrap()),
                outcome: Ok(Identity::ThisBox),
            };
            let v = view(t, &passed);
            assert!(v.passed && v.summary.contains("https://files.example.jp:8443"));
            assert!(
                v.steps
                    .iter()
                    .all(|r| r.class == "ok" && !r.detail.is_empty())
            );
            assert!(reason(t, &passed).is_none());
        }
        let en = &mamori_panel::i18n::EN;
        let say = |f: &Failure| failure_text(en, f, "files.example.jp");
        assert!(say(&Failure::Resolve("x".into())).contains("does not resolve"));
        assert!(say(&failures[2]).contains("port forward"));
        assert!(say(&failures[3]).contains("self-signed"));
        assert!(say(&failures[4]).contains("files.example.jp"));
        assert!(say(&failures[10]).contains("not this box's download service"));
    }
}
