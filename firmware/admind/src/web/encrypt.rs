//! The attachment-encryption page (administrators): the `[encrypt]` section's general
//! settings (on or off, cipher, names, who gets the password and when, the archive's name,
//! who is exempt, the subject tag) and its rules, each added or removed on its own. Every
//! change is checked by the relay's own check of the section first (problems shown next to
//! their fields), audited, saved as a settings version and in force at once. Turning
//! encryption off turns a protection off: it asks for the password again. Link mode (the
//! mode, its address, lifetime, download limit and password; a rule's mode) is on the same
//! forms; what it needs before it is used — the download port open, the self-test passed —
//! is in [`super::encrypt_link`].

use std::sync::Arc;

use askama::Template;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Extension, Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use mamori_panel::encrypt::{
    self, EncryptConfig, EncryptProblem, Field, GeneralDraft, RuleDraft, RuleView,
};
use mamori_panel::i18n::{Texts, fill};
use mamori_panel::session::Session;
use mamori_panel::users::Role;
use serde::Deserialize;
use serde_json::Value;

use super::encrypt_link::{self, LinkContext, ReachView};
use super::{Chrome, Peer, or_answer, render, render_status, require, source};
use crate::state::Panel;

/// One rule as the table shows it.
struct RuleRow {
    name: String,
    senders: String,
    recipients: String,
    types: String,
    size: String,
    action: String,
    overrides: String,
}

#[derive(Template)]
#[template(path = "encrypt.html")]
pub(crate) struct EncryptPage {
    pub(crate) c: Chrome,
    /// Encryption is on now: the general form asks for the password to turn it off when
    /// the last one was entered too long ago.
    enabled_now: bool,
    pub(crate) ask_password: bool,
    /// The section uses ZipCrypto somewhere.
    zipcrypto: bool,
    /// The general form, as in force or as typed.
    pub(crate) general: GeneralDraft,
    general_error: Option<String>,
    rules: Vec<RuleRow>,
    /// The add-rule form as typed.
    rule: RuleDraft,
    rule_error: Option<String>,
    remove_error: Option<String>,
    /// Problems next to their fields: (the field's id, the text).
    pub(crate) errors: Vec<(&'static str, String)>,
    pub(crate) done: Option<String>,
    pub(crate) error: Option<String>,
    cipher_choices: Vec<(&'static str, &'static str)>,
    names_choices: Vec<(&'static str, &'static str)>,
    password_to_choices: Vec<(&'static str, &'static str)>,
    action_choices: Vec<(&'static str, &'static str)>,
    /// The rule's overrides: "section default" first.
    rule_cipher_choices: Vec<(&'static str, &'static str)>,
    rule_names_choices: Vec<(&'static str, &'static str)>,
    rule_password_to_choices: Vec<(&'static str, &'static str)>,
    mode_choices: Vec<(&'static str, &'static str)>,
    rule_mode_choices: Vec<(&'static str, &'static str)>,
    /// What link mode needs, as the settings in force have it: the download port, and
    /// whether the firewall lets it in from the WAN.
    pub(crate) link: LinkContext,
    /// The link-mode section's help, naming the download port.
    link_help: String,
    /// The open-port form's problem or refusal.
    pub(crate) link_error: Option<String>,
    /// The self-test's steps, when it ran for this page.
    pub(crate) reach: Option<ReachView>,
}

impl EncryptPage {
    /// The problems shown next to the field `id`, if any.
    fn err(&self, id: &str) -> Option<String> {
        let texts: Vec<&str> = self
            .errors
            .iter()
            .filter(|(at, _)| *at == id)
            .map(|(_, text)| text.as_str())
            .collect();
        (!texts.is_empty()).then(|| texts.join(" "))
    }

    /// Whether the firewall lets the download port in, in words.
    fn port_text(&self) -> String {
        let t = self.c.t;
        match &self.link.port {
            Ok(port) if self.link.port_open() => fill(t.enc_link_port_is_open, port),
            Ok(port) => fill(t.enc_link_port_is_closed, port),
            Err(why) => fill(t.enc_link_listen_bad, why),
        }
    }

    /// Puts each problem next to its field (the forms' own lines for the rest).
    fn show(&mut self, problems: &[EncryptProblem]) {
        let t = self.c.t;
        for p in problems {
            let text = encrypt::problem_text(t, p);
            let at = match p.field {
                Field::General => &mut self.general_error,
                Field::Rule => &mut self.rule_error,
                field => {
                    self.errors.push((field.id(), text));
                    continue;
                }
            };
            *at = Some(match at.take() {
                Some(before) => format!("{before} {text}"),
                None => text,
            });
        }
    }
}

/// The text of a form value (a cipher, an action …); empty: the section's default.
fn label(t: &Texts, value: &str) -> &'static str {
    match value {
        "aes256" => t.enc_cipher_aes256,
        "zipcrypto" => t.enc_cipher_zipcrypto,
        "utf8" => t.enc_names_utf8,
        "cp932" => t.enc_names_cp932,
        "sender" => t.enc_pwto_sender,
        "recipients" => t.enc_pwto_recipients,
        "both" => t.enc_pwto_both,
        "encrypt" => t.enc_action_encrypt,
        "skip" => t.enc_action_skip,
        "zip" => t.enc_mode_zip,
        "link" => t.enc_mode_link,
        "" => t.enc_section_default,
        _ => "",
    }
}

/// `value`'s text, or `value` when the panel has none.
fn shown(t: &Texts, value: &str) -> String {
    match label(t, value) {
        "" => value.to_string(),
        text => text.to_string(),
    }
}

fn choices(t: &Texts, values: &[&'static str]) -> Vec<(&'static str, &'static str)> {
    values.iter().map(|v| (*v, label(t, v))).collect()
}

/// The choices of an override: the section's default, then `values`.
fn override_choices(t: &Texts, values: &[&'static str]) -> Vec<(&'static str, &'static str)> {
    let mut out = vec![("", t.enc_section_default)];
    out.extend(choices(t, values));
    out
}

/// A list as a table cell: its entries, or "any".
fn list_cell(t: &Texts, entries: &[String]) -> String {
    if entries.is_empty() {
        t.enc_any.to_string()
    } else {
        entries.join(", ")
    }
}

fn row(t: &Texts, r: &RuleView) -> RuleRow {
    let overrides: Vec<String> = [
        (t.enc_mode, &r.mode),
        (t.enc_cipher, &r.cipher),
        (t.enc_names, &r.names),
        (t.enc_password_to, &r.password_to),
    ]
    .into_iter()
    .filter(|(_, value)| !value.is_empty())
    .map(|(what, value)| format!("{what}: {}", shown(t, value)))
    .collect();
    RuleRow {
        name: r.name.clone(),
        senders: list_cell(t, &r.senders),
        recipients: list_cell(t, &r.recipients),
        types: list_cell(t, &r.attachment_types),
        size: if r.min_size == 0 {
            t.enc_any.to_string()
        } else {
            encrypt::size_text(t, r.min_size)
        },
        action: shown(t, &r.action),
        overrides: if overrides.is_empty() {
            t.enc_section_default.to_string()
        } else {
            overrides.join("; ")
        },
    }
}

/// The page with the section in force, and the section (`Err`: it could not be read, and
/// nothing may be changed from this page until it can).
pub(crate) async fn page(
    panel: &Panel,
    s: &Session,
) -> (EncryptPage, Result<EncryptConfig, String>) {
    let c = Chrome::new(Some(s), s.lang, |t| t.enc_title);
    let t = c.t;
    let current = super::ask(
        &panel.sockets.settings,
        s,
        serde_json::json!({"op": "current"}),
    )
    .await;
    let config = current.as_ref().map_err(Clone::clone).and_then(|v| {
        encrypt::read(&v["settings"]["encrypt"]).map_err(|why| fill(t.enc_unreadable, why))
    });
    let link = match &current {
        Ok(v) => LinkContext::of(&v["settings"]),
        Err(why) => LinkContext::unknown(why),
    };
    let shown_config = config.clone().unwrap_or_default();
    let now = mamori_core::clock::unix_now();
    let p = EncryptPage {
        enabled_now: shown_config.enabled,
        ask_password: !s.recently_authenticated(now),
        zipcrypto: encrypt::uses_zipcrypto(&shown_config),
        general: GeneralDraft::of(&shown_config),
        general_error: None,
        rules: encrypt::rules(&shown_config)
            .iter()
            .map(|r| row(t, r))
            .collect(),
        rule: RuleDraft {
            min_size: "0".into(),
            action: "encrypt".into(),
            ..RuleDraft::default()
        },
        rule_error: None,
        remove_error: None,
        errors: Vec::new(),
        done: None,
        error: config.as_ref().err().cloned(),
        cipher_choices: choices(t, encrypt::CIPHERS),
        names_choices: choices(t, encrypt::NAME_CHARSETS),
        password_to_choices: choices(t, encrypt::PASSWORD_TO),
        action_choices: choices(t, encrypt::RULE_ACTIONS),
        rule_cipher_choices: override_choices(t, encrypt::CIPHERS),
        rule_names_choices: override_choices(t, encrypt::NAME_CHARSETS),
        rule_password_to_choices: override_choices(t, encrypt::PASSWORD_TO),
        mode_choices: choices(t, encrypt::MODES),
        rule_mode_choices: override_choices(t, encrypt::MODES),
        link_help: encrypt_link::help(t, &link),
        link,
        link_error: None,
        reach: None,
        c,
    };
    (p, config)
}

/// `?done=saved` and the like.
#[derive(Deserialize)]
pub(crate) struct DoneQuery {
    done: String,
}

pub(crate) async fn show(
    State(panel): State<Arc<Panel>>,
    headers: HeaderMap,
    query: Result<Query<DoneQuery>, QueryRejection>,
) -> Response {
    let (_, s) = or_answer!(require(&panel, &headers, Role::Administrator));
    let (mut p, _) = page(&panel, &s).await;
    let t = p.c.t;
    if let Ok(Query(q)) = query {
        // Only fixed messages, naming a rule the page lists (or no longer lists).
        let listed = |n: &str| p.rules.iter().any(|r| r.name == n);
        p.done = match q.done.split_once(':') {
            None if q.done == "saved" => Some(t.enc_saved.into()),
            None if q.done == "unchanged" => Some(t.enc_unchanged.into()),
            None if q.done == "port-open" => p
                .link
                .port
                .clone()
                .ok()
                .map(|n| fill(t.enc_link_port_already, n)),
            Some(("added", n)) if listed(n) => Some(fill(t.enc_rule_added, n)),
            Some(("removed", n)) if !listed(n) => Some(fill(t.enc_rule_removed, n)),
            _ => None,
        };
    }
    render(&p)
}

/// The general form's fields (the self-test reads them too, to show them back as typed).
/// A form without the link-mode fields (its marker `link_fields` absent: a page from
/// before link mode) leaves them as `in_force` has them.
pub(crate) fn general_draft(pairs: &[(String, String)], in_force: &GeneralDraft) -> GeneralDraft {
    let value = super::pair_field(pairs);
    let draft = GeneralDraft {
        enabled: value("enabled") == "on",
        cipher: value("cipher"),
        names: value("names"),
        password_to: value("password_to"),
        password_length: value("password_length"),
        password_delay: value("password_delay"),
        archive_name: value("archive_name"),
        exempt_internal: value("exempt_internal") == "on",
        exempt_recipients: value("exempt_recipients"),
        subject_tag: value("subject_tag"),
        mode: value("mode"),
        link_url: value("link_url").chars().take(400).collect(),
        link_expiry: value("link_expiry"),
        link_downloads: value("link_downloads"),
        link_password: value("link_password") == "on",
    };
    if pairs.iter().any(|(k, _)| k == "link_fields") {
        draft
    } else {
        GeneralDraft {
            mode: in_force.mode.clone(),
            link_url: in_force.link_url.clone(),
            link_expiry: in_force.link_expiry.clone(),
            link_downloads: in_force.link_downloads.clone(),
            link_password: in_force.link_password,
            ..draft
        }
    }
}

/// Saves, then back to the page with `done`; a refusal is shown at `error_at` on `p`.
async fn save(
    panel: &Panel,
    s: &Session,
    peer: &Peer,
    (event, subject, done): (&str, &str, &str),
    set: Vec<(String, Value)>,
    p: EncryptPage,
    error_at: super::apply::ReasonAt<EncryptPage>,
) -> Response {
    let result =
        super::apply::audited_change(panel, s, source(peer), (event, subject), set, Vec::new())
            .await;
    let t = p.c.t;
    let to = format!("/mail/encrypt?done={done}");
    super::apply::answer(result, &to, t, p, (|p| &mut p.error, error_at))
}

pub(crate) async fn general(
    State(panel): State<Arc<Panel>>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    let (id, s) = or_answer!(require(&panel, &headers, Role::Administrator));
    let pairs = or_answer!(super::checked_pairs(&s, form));
    let value = super::pair_field(&pairs);
    let (mut p, config) = page(&panel, &s).await;
    let Ok(config) = config else {
        return render_status(StatusCode::CONFLICT, &p);
    };
    let draft = general_draft(&pairs, &p.general);
    p.general = draft.clone();
    let change = match encrypt::general(&config, &draft) {
        Ok(change) => change,
        Err(problems) => {
            p.show(&problems);
            return render_status(StatusCode::BAD_REQUEST, &p);
        }
    };
    // Link mode newly used (or at a new address): the port open and the self-test passed.
    if change.link_checks
        && let Err(status) =
            encrypt_link::gate(&panel, &mut p, &change.link_url, ("mode", "link-url")).await
    {
        return render_status(status, &p);
    }
    // Turning encryption off turns a protection off: the password again.
    if change.turns_off {
        let reauth = super::reauthenticate(
            &panel,
            &id,
            &s,
            &value("password"),
            source(&peer),
            "attachment encryption off",
            false,
        )
        .await;
        if let Err(why) = reauth {
            p.errors.push(("enabled", why));
            return render_status(StatusCode::FORBIDDEN, &p);
        }
    }
    if change.set.is_empty() {
        return Redirect::to("/mail/encrypt?done=unchanged").into_response();
    }
    let keys: Vec<&str> = change
        .set
        .iter()
        .map(|(k, _)| k.trim_start_matches("encrypt."))
        .collect();
    let subject = match (change.turns_off, draft.enabled && !config.enabled) {
        (true, _) => format!("off ({})", keys.join(", ")),
        (_, true) => format!("on ({})", keys.join(", ")),
        _ => keys.join(", "),
    };
    save(
        &panel,
        &s,
        &peer,
        ("panel_encrypt_saved", &subject, "saved"),
        change.set,
        p,
        |p| &mut p.general_error,
    )
    .await
}

pub(crate) async fn add_rule(
    State(panel): State<Arc<Panel>>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    let (_, s) = or_answer!(require(&panel, &headers, Role::Administrator));
    let pairs = or_answer!(super::checked_pairs(&s, form));
    let value = super::pair_field(&pairs);
    let (mut p, config) = page(&panel, &s).await;
    let draft = RuleDraft {
        name: value("name").chars().take(200).collect(),
        senders: value("senders"),
        recipients: value("recipients"),
        attachment_types: value("attachment_types"),
        min_size: value("min_size"),
        action: value("action"),
        cipher: value("cipher"),
        names: value("names"),
        password_to: value("password_to"),
        mode: value("mode"),
    };
    p.rule = draft.clone();
    let Ok(config) = config else {
        return render_status(StatusCode::CONFLICT, &p);
    };
    let rules = match encrypt::add_rule(&config, &draft) {
        Ok(rules) => rules,
        Err(problems) => {
            p.show(&problems);
            return render_status(StatusCode::BAD_REQUEST, &p);
        }
    };
    // A rule that makes link mode used: the port open and the self-test passed first.
    if encrypt::rule_needs_link_checks(&config, &draft)
        && let Err(status) =
            encrypt_link::gate(&panel, &mut p, &config.link_url, ("rule-mode", "rule-mode")).await
    {
        return render_status(status, &p);
    }
    let name = draft.name.trim().to_string();
    save(
        &panel,
        &s,
        &peer,
        (
            "panel_encrypt_rule_added",
            &name,
            &format!("added:{}", super::dlp::urlencode(&name)),
        ),
        vec![("encrypt.rules".into(), rules)],
        p,
        |p| &mut p.rule_error,
    )
    .await
}

pub(crate) async fn remove_rule(
    State(panel): State<Arc<Panel>>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    let (_, s) = or_answer!(require(&panel, &headers, Role::Administrator));
    let pairs = or_answer!(super::checked_pairs(&s, form));
    let name = super::pair_field(&pairs)("name");
    let (p, config) = page(&panel, &s).await;
    let Ok(config) = config else {
        return render_status(StatusCode::CONFLICT, &p);
    };
    let Some(rules) = encrypt::remove_rule(&config, &name) else {
        return super::message(StatusCode::NOT_FOUND, s.lang, p.c.t.not_found);
    };
    save(
        &panel,
        &s,
        &peer,
        (
            "panel_encrypt_rule_removed",
            &name,
            &format!("removed:{}", super::dlp::urlencode(&name)),
        ),
        vec![("encrypt.rules".into(), rules)],
        p,
        |p| &mut p.remove_error,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_are_listed_in_words_with_their_overrides() {
        let t = &mamori_panel::i18n::JA;
        let view = RuleView {
            name: "取引先".into(),
            senders: Vec::new(),
            recipients: vec![
                "partner.example.jp".into(),
                "keiri@client.example.jp".into(),
            ],
            attachment_types: vec![".pdf".into()],
            min_size: 2048,
            action: "encrypt".into(),
            cipher: String::new(),
            names: "cp932".into(),
            password_to: "both".into(),
            mode: String::new(),
        };
        let r = row(t, &view);
        assert_eq!(r.senders, t.enc_any);
        assert_eq!(r.recipients, "partner.example.jp, keiri@client.example.jp");
        assert_eq!(r.size, "2 KB");
        assert_eq!(r.action, t.enc_action_encrypt);
        assert_eq!(
            r.overrides,
            format!(
                "{}: {}; {}: {}",
                t.enc_names, t.enc_names_cp932, t.enc_password_to, t.enc_pwto_both
            )
        );
        let plain = RuleView {
            names: String::new(),
            password_to: String::new(),
            min_size: 0,
            ..view
        };
        let r = row(t, &plain);
        assert_eq!(
            (r.overrides.as_str(), r.size.as_str()),
            (t.enc_section_default, t.enc_any)
        );
    }

    /// The page as [`page`] makes it for the default section, without the daemons.
    fn offline(lang: mamori_panel::i18n::Lang) -> EncryptPage {
        let c = Chrome::new(None, lang, |t| t.enc_title);
        let t = c.t;
        let config = EncryptConfig {
            enabled: true,
            ..EncryptConfig::default()
        };
        EncryptPage {
            enabled_now: true,
            ask_password: true,
            zipcrypto: false,
            general: GeneralDraft::of(&config),
            general_error: None,
            rules: Vec::new(),
            rule: RuleDraft::default(),
            rule_error: None,
            remove_error: None,
            errors: Vec::new(),
            done: None,
            error: None,
            cipher_choices: choices(t, encrypt::CIPHERS),
            names_choices: choices(t, encrypt::NAME_CHARSETS),
            password_to_choices: choices(t, encrypt::PASSWORD_TO),
            action_choices: choices(t, encrypt::RULE_ACTIONS),
            rule_cipher_choices: override_choices(t, encrypt::CIPHERS),
            rule_names_choices: override_choices(t, encrypt::NAME_CHARSETS),
            rule_password_to_choices: override_choices(t, encrypt::PASSWORD_TO),
            mode_choices: choices(t, encrypt::MODES),
            rule_mode_choices: override_choices(t, encrypt::MODES),
            link_help: encrypt_link::help(t, &LinkContext::of(&Value::Null)),
            link: LinkContext::of(&Value::Null),
            link_error: None,
            reach: None,
            c,
        }
    }

    #[test]
    fn problems_are_shown_next_to_their_fields_as_typed() {
        let mut p = offline(mamori_panel::i18n::Lang::En);
        let mut draft = p.general.clone();
        draft.password_length = "6".into();
        draft.exempt_recipients = "yamada".into();
        let problems = encrypt::general(&EncryptConfig::default(), &draft).unwrap_err();
        p.general = draft;
        p.show(&problems);
        let html = p.render().unwrap();
        assert!(html.contains(r#"id="password-length-error""#), "{html}");
        assert!(html.contains(r#"id="exempt-recipients-error""#), "{html}");
        assert!(
            html.contains(r#"name="password_length" value="6""#),
            "{html}"
        );
        // Encryption is on and the password is due: the form asks for it.
        assert!(html.contains(r#"id="enc-current""#), "{html}");
        assert!(!html.contains(r#"id="general-error""#));
        let ja = offline(mamori_panel::i18n::Lang::Ja).render().unwrap();
        assert!(ja.contains(mamori_panel::i18n::JA.enc_cipher_zipcrypto));
    }

    #[test]
    fn the_link_section_shows_the_port_its_button_and_the_self_test() {
        use crate::reach::{CertProblem, Failure, Report, Target};
        let mut p = offline(mamori_panel::i18n::Lang::En);
        p.link = LinkContext::of(&serde_json::json!({"links": {"listen": "0.0.0.0:9443"}}));
        p.link_help = encrypt_link::help(p.c.t, &p.link);
        p.errors.push(("mode", "open the port first".into()));
        let report = Report {
            target: Target::parse("https://files.example.jp:9443"),
            resolved: vec!["192.0.2.1".parse().unwrap()],
            connected: Some("192.0.2.1:9443".parse().unwrap()),
            outcome: Err(Failure::Certificate(CertProblem::Untrusted)),
        };
        p.reach = Some(encrypt_link::view(p.c.t, &report));
        let html = p.render().unwrap();
        assert!(html.contains(r#"id="open-port""#), "{html}");
        assert!(html.contains(r#"id="port-current""#), "the password is due");
        assert!(html.contains(r#"id="mode-error""#), "{html}");
        assert!(html.contains(r#"<option value="zip" selected>"#), "{html}");
        assert!(html.contains("port forward") && html.contains("9443"));
        assert!(html.contains(r#"id="self-test-steps""#) && html.contains(r#"class="ng""#));
        assert!(html.contains("self-signed"), "{html}");
        assert!(html.contains(r#"formaction="/mail/encrypt/test""#));
        assert!(html.contains(r#"id="rule-mode""#));
        // Open already: no button.
        p.link = LinkContext::of(&serde_json::json!({
            "links": {"listen": "0.0.0.0:9443"},
            "firewall": {"rules": [encrypt::link_port_rule(9443)]},
        }));
        let html = p.render().unwrap();
        assert!(!html.contains(r#"id="open-port""#), "{html}");
        assert!(html.contains(&fill(p.c.t.enc_link_port_is_open, 9443)));
    }

    #[test]
    fn every_choice_has_a_text_and_unknown_values_show_as_they_are() {
        for t in [&mamori_panel::i18n::JA, &mamori_panel::i18n::EN] {
            for v in encrypt::CIPHERS
                .iter()
                .chain(encrypt::NAME_CHARSETS)
                .chain(encrypt::PASSWORD_TO)
                .chain(encrypt::RULE_ACTIONS)
                .chain(encrypt::MODES)
            {
                assert!(!label(t, v).is_empty(), "{v}");
            }
            assert_eq!(shown(t, "rot13"), "rot13");
        }
    }
}
