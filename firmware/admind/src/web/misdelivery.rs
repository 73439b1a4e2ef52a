//! The misdelivery-prevention page (administrators): the `[misdelivery]` section in one form
//! — the timed hold, FUTURERELEASE, Bcc conversion, approval, new-domain confirmation and
//! the address in the notices' links — with help in plain words. The form's own fields are
//! checked first (problems next to their fields, as typed, nothing saved); a change is
//! audited, saved as a settings version (whose check by the relay's model is the final
//! word: its refusal is shown next to the fields its keys name) and in force at once.
//! Turning a protection off asks for the password again.

use std::sync::Arc;

use askama::Template;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Extension, Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use mamori_panel::i18n::{Texts, fill};
use mamori_panel::misdelivery::{self, Draft, Field, Problem, Protection, Section};
use mamori_panel::session::Session;
use mamori_panel::users::Role;
use serde::Deserialize;
use serde_json::Value;

use super::{Chrome, Peer, or_answer, render, render_status, require, source};
use crate::state::Panel;

#[derive(Template)]
#[template(path = "misdelivery.html")]
struct MisdeliveryPage {
    c: Chrome,
    /// A protection is on now and the password was entered too long ago: the form asks
    /// for it (needed only to turn one off).
    ask_password: bool,
    /// The protections on now, in words.
    active: Vec<&'static str>,
    /// The form, as in force or as typed.
    form: Draft,
    /// A problem of the form as a whole (the settings service's refusal).
    form_error: Option<String>,
    /// Problems next to their fields: (the field's id, the text).
    errors: Vec<(&'static str, String)>,
    done: Option<String>,
    error: Option<String>,
    scope_choices: Vec<(&'static str, &'static str)>,
    outcome_choices: Vec<(&'static str, &'static str)>,
    /// The links' address when the field is empty (`https://<general.hostname>`).
    default_link: String,
}

impl MisdeliveryPage {
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

    /// "On now: …", the protections on in the page's language.
    fn active_text(&self) -> String {
        let separator = if self.c.lang == "ja" { "、" } else { ", " };
        fill(self.c.t.mis_active, self.active.join(separator))
    }

    /// The link field's help, naming the default address.
    fn link_help(&self) -> String {
        fill(self.c.t.mis_link_base_help, &self.default_link)
    }

    /// Puts each problem next to its field (the form's own line for the rest).
    fn show(&mut self, problems: &[Problem]) {
        let t = self.c.t;
        for p in problems {
            let text = misdelivery::problem_text(t, p);
            if p.field == Field::Form {
                self.form_error = Some(match self.form_error.take() {
                    Some(before) => format!("{before} {text}"),
                    None => text,
                });
            } else {
                self.errors.push((p.field.id(), text));
            }
        }
    }
}

/// The text of a form value (a scope, an outcome).
fn label(t: &Texts, value: &str) -> &'static str {
    match value {
        "external" => t.mis_scope_external,
        "all" => t.mis_scope_all,
        "reject" => t.mis_outcome_reject,
        "send" => t.mis_outcome_send,
        _ => "",
    }
}

fn choices(t: &Texts, values: &[&'static str]) -> Vec<(&'static str, &'static str)> {
    values.iter().map(|v| (*v, label(t, v))).collect()
}

/// A protection's name on the page.
fn protection_name(t: &Texts, p: Protection) -> &'static str {
    match p {
        Protection::TimedHold => t.mis_protection_hold,
        Protection::Bcc => t.mis_protection_bcc,
        Protection::Approval => t.mis_protection_approval,
        Protection::NewDomain => t.mis_protection_new_domain,
    }
}

/// What the page needs of the settings in force: the section, the office's domains (the
/// approvers must be of them) and the box's host name (the links' default).
struct InForce {
    section: Section,
    office_domains: Vec<String>,
    hostname: String,
}

/// Reads [`InForce`] from the settings service's `current` answer.
fn in_force(t: &Texts, settings: &Value, fallback_host: &str) -> Result<InForce, String> {
    let section =
        misdelivery::read(&settings["misdelivery"]).map_err(|why| fill(t.enc_unreadable, why))?;
    let office_domains = settings["smtp"]["office_domains"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let hostname = settings["general"]["hostname"]
        .as_str()
        .filter(|h| !h.is_empty())
        .unwrap_or(fallback_host)
        .to_owned();
    Ok(InForce {
        section,
        office_domains,
        hostname,
    })
}

/// The page with the section in force, and what is in force (`Err`: it could not be read,
/// and nothing may be changed from this page until it can).
async fn page(panel: &Panel, s: &Session) -> (MisdeliveryPage, Result<InForce, String>) {
    let c = Chrome::new(Some(s), s.lang, |t| t.mis_title);
    let t = c.t;
    let current = super::ask(
        &panel.sockets.settings,
        s,
        serde_json::json!({"op": "current"}),
    )
    .await;
    let now_in_force = current.and_then(|answer| in_force(t, &answer["settings"], &panel.hostname));
    let section = now_in_force
        .as_ref()
        .map(|f| f.section.clone())
        .unwrap_or_default();
    let hostname = now_in_force
        .as_ref()
        .map_or(panel.hostname.as_str(), |f| f.hostname.as_str());
    let on = section.protections_on();
    let now = mamori_core::clock::unix_now();
    let p = MisdeliveryPage {
        ask_password: !on.is_empty() && !s.recently_authenticated(now),
        active: on.into_iter().map(|p| protection_name(t, p)).collect(),
        form: Draft::of(&section),
        form_error: None,
        errors: Vec::new(),
        done: None,
        error: now_in_force.as_ref().err().cloned(),
        scope_choices: choices(t, misdelivery::HOLD_SCOPES),
        outcome_choices: choices(t, misdelivery::OUTCOMES),
        default_link: format!("https://{hostname}"),
        c,
    };
    (p, now_in_force)
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
        p.done = match q.done.as_str() {
            "saved" => Some(t.mis_saved.into()),
            "unchanged" => Some(t.enc_unchanged.into()),
            _ => None,
        };
    }
    render(&p)
}

/// The form as typed: every field (empty when absent) at most 8000 characters.
fn draft_of(pairs: &[(String, String)]) -> Draft {
    let value = super::pair_field(pairs);
    let ticked = |k: &str| value(k) == "on";
    Draft {
        hold: value("hold"),
        hold_scope: value("hold_scope"),
        hold_except_senders: value("hold_except_senders"),
        max_future_release: value("max_future_release"),
        bcc_threshold: value("bcc_threshold"),
        approvers: value("approvers"),
        approval_senders: value("approval_senders"),
        external_only: ticked("external_only"),
        with_attachment: ticked("with_attachment"),
        with_finding: ticked("with_finding"),
        approval_timeout: value("approval_timeout"),
        approval_on_timeout: value("approval_on_timeout"),
        new_domain: ticked("new_domain"),
        learn_days: value("learn_days"),
        new_domain_timeout: value("new_domain_timeout"),
        new_domain_on_timeout: value("new_domain_on_timeout"),
        link_base: value("link_base"),
    }
}

/// What the settings history and the audit log say: the keys changed, and the
/// protections turned off.
fn subject(set: &[(String, Value)], unset: &[String], off: &[Protection]) -> String {
    let keys: Vec<&str> = set
        .iter()
        .map(|(k, _)| k.as_str())
        .chain(unset.iter().map(String::as_str))
        .map(|k| k.trim_start_matches("misdelivery."))
        .collect();
    if off.is_empty() {
        keys.join(", ")
    } else {
        let names: Vec<&str> = off.iter().map(|p| p.name()).collect();
        format!("off: {} ({})", names.join(", "), keys.join(", "))
    }
}

pub(crate) async fn save(
    State(panel): State<Arc<Panel>>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    let (id, s) = or_answer!(require(&panel, &headers, Role::Administrator));
    let pairs = or_answer!(super::checked_pairs(&s, form));
    let (mut p, now) = page(&panel, &s).await;
    let draft = draft_of(&pairs);
    p.form = draft.clone();
    let Ok(now) = now else {
        return render_status(StatusCode::CONFLICT, &p);
    };
    let change = match misdelivery::change(&now.section, &draft, &now.office_domains) {
        Ok(change) => change,
        Err(problems) => {
            p.show(&problems);
            return render_status(StatusCode::BAD_REQUEST, &p);
        }
    };
    // Turning a protection off: the password again.
    if !change.turns_off.is_empty() {
        let names: Vec<&str> = change.turns_off.iter().map(|p| p.name()).collect();
        let reauth = super::reauthenticate(
            &panel,
            &id,
            &s,
            pairs
                .iter()
                .find(|(k, _)| k == "password")
                .map(|(_, v)| v.as_str())
                .unwrap_or(""),
            source(&peer),
            &format!("misdelivery prevention off: {}", names.join(", ")),
            false,
        )
        .await;
        if let Err(why) = reauth {
            p.errors.push(("password", why));
            p.ask_password = true;
            return render_status(StatusCode::FORBIDDEN, &p);
        }
    }
    if change.set.is_empty() && change.unset.is_empty() {
        return Redirect::to("/mail/misdelivery?done=unchanged").into_response();
    }
    let subject = subject(&change.set, &change.unset, &change.turns_off);
    let result = super::apply::audited_change(
        &panel,
        &s,
        source(&peer),
        ("panel_misdelivery_saved", &subject),
        change.set,
        change.unset,
    )
    .await;
    // The settings service's refusal (checked with the relay's model) names its keys: shown
    // next to their fields as well as whole.
    if let Err(why) = &result {
        p.show(&misdelivery::refused(why));
    }
    let t = p.c.t;
    super::apply::answer(
        result,
        "/mail/misdelivery?done=saved",
        t,
        p,
        (|p| &mut p.error, |p| &mut p.form_error),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use mamori_panel::i18n::{EN, JA, Lang};

    /// The page as [`page`] makes it for `section`, without the daemons.
    fn offline(lang: Lang, section: &Section) -> MisdeliveryPage {
        let c = Chrome::new(None, lang, |t| t.mis_title);
        let t = c.t;
        MisdeliveryPage {
            ask_password: !section.protections_on().is_empty(),
            active: section
                .protections_on()
                .into_iter()
                .map(|p| protection_name(t, p))
                .collect(),
            form: Draft::of(section),
            form_error: None,
            errors: Vec::new(),
            done: None,
            error: None,
            scope_choices: choices(t, misdelivery::HOLD_SCOPES),
            outcome_choices: choices(t, misdelivery::OUTCOMES),
            default_link: "https://gw.office.test".into(),
            c,
        }
    }

    fn held() -> Section {
        misdelivery::read(&serde_json::json!({"hold": "5m", "bcc_threshold": 3})).unwrap()
    }

    #[test]
    fn problems_are_shown_next_to_their_fields_as_typed() {
        let mut p = offline(Lang::En, &held());
        let mut draft = p.form.clone();
        draft.hold = "2000".into();
        draft.approvers = "not-an-address".into();
        let problems =
            misdelivery::change(&held(), &draft, &["office.test".to_string()]).unwrap_err();
        p.form = draft;
        p.show(&problems);
        let html = p.render().unwrap();
        assert!(html.contains(r#"id="hold-error""#), "{html}");
        assert!(html.contains(r#"id="approvers-error""#), "{html}");
        assert!(html.contains(r#"name="hold" value="2000""#), "{html}");
        assert!(html.contains("not-an-address</textarea>"), "{html}");
        // A protection is on and the password is due: the form asks for it.
        assert!(html.contains(r#"id="mis-password""#), "{html}");
        assert!(html.contains(EN.mis_protection_hold) && html.contains(EN.mis_protection_bcc));
        assert!(!html.contains(r#"id="form-error""#));
        assert!(html.contains("https://gw.office.test"));
    }

    #[test]
    fn the_defaults_show_no_protection_and_ask_for_no_password() {
        let html = offline(Lang::Ja, &Section::default()).render().unwrap();
        assert!(html.contains(r#"id="none-active""#), "{html}");
        assert!(!html.contains(r#"id="mis-password""#), "{html}");
        assert!(
            html.contains(r#"<option value="external" selected>"#),
            "{html}"
        );
        assert!(html.contains(JA.mis_hold_help));
    }

    #[test]
    fn every_choice_has_a_text_and_a_change_says_what_it_turns_off() {
        for t in [&JA, &EN] {
            for v in misdelivery::HOLD_SCOPES.iter().chain(misdelivery::OUTCOMES) {
                assert!(!label(t, v).is_empty(), "{v}");
            }
            for p in Protection::ALL {
                assert!(!protection_name(t, p).is_empty());
            }
        }
        let set = vec![
            ("misdelivery.hold".to_string(), Value::from("0m")),
            (
                "misdelivery.approval.timeout".to_string(),
                Value::from("2h"),
            ),
        ];
        assert_eq!(subject(&set, &[], &[]), "hold, approval.timeout");
        assert_eq!(
            subject(
                &set,
                &["misdelivery.link_base".into()],
                &[Protection::TimedHold]
            ),
            "off: timed hold (hold, approval.timeout, link_base)"
        );
    }
}
