//! The firewall's set pages (administrators): `/firewall/sets/<name>` lists a named
//! address set's elements, the rules that use it, a form to add elements (one a line) and
//! a button per element to remove it.
//!
//! Sets are part of the settings model (`firewall.sets`), so an element change is a
//! settings change like a rule's: the panel's audit record, a new settings version with the
//! whole list, and the firewall on probation. (The firewall's own `set_elements` op changes
//! the running set alone, kept as run-time state outside the settings; the panel does not
//! use it, so the settings never disagree with what the panel put in force.) Adding to a
//! set that an accepting rule or a port forward uses, or removing from one that a dropping
//! or rejecting rule uses, asks for the password again.

use std::sync::Arc;

use askama::Template;
use axum::extract::rejection::FormRejection;
use axum::extract::{Extension, Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use mamori_firewall::model::{FirewallConfig, Set};
use mamori_panel::firewall::{self, FwProblem};
use mamori_panel::i18n::{Texts, fill};
use mamori_panel::session::Session;
use mamori_panel::users::Role;
use serde::Deserialize;
use serde_json::Value;

use super::firewall::{firewall_model, problem_text, word};
use super::{Chrome, Peer, checked, csrf_form, or_answer, render, render_status, require, source};
use crate::state::Panel;

/// One element as listed.
struct ElementRow {
    text: String,
    expires: String,
    /// "Remove 198.51.100.7", for the row's button.
    remove_label: String,
}

#[derive(Template)]
#[template(path = "firewall_set.html")]
struct SetPage {
    c: Chrome,
    name: String,
    heading: String,
    family: String,
    interval: bool,
    /// The rules and forwards using the set, in words.
    users: Vec<String>,
    elements: Vec<ElementRow>,
    /// Elements expire (a default timeout, or a timed element): the list says when.
    expiring: bool,
    /// Adding asks for the password now.
    ask_add: bool,
    /// Removing asks for the password now.
    ask_remove: bool,
    add_text: String,
    add_error: Option<String>,
    remove_error: Option<String>,
    /// No rule uses the set: it may be deleted.
    deletable: bool,
    delete_error: Option<String>,
    error: Option<String>,
}

/// What a rule or forward using the set does, in words.
fn does(t: &Texts, what: &str) -> String {
    match what {
        "forward" => t.fw_port_forward.to_string(),
        other => word(t, other),
    }
}

/// The page for set `set` of `model`.
fn page(s: &Session, model: &FirewallConfig, set: &Set) -> SetPage {
    let c = Chrome::new(Some(s), s.lang, |t| t.fw_set_title);
    let t = c.t;
    let name = set.name.as_str();
    let ask = !s.recently_authenticated(mamori_core::clock::unix_now());
    let default_expiry = set.timeout.map(|d| d.to_string()).unwrap_or_default();
    SetPage {
        heading: fill(t.fw_set_heading, name),
        family: set.family.to_string(),
        interval: set.interval,
        users: firewall::set_users(model, name)
            .into_iter()
            .map(|(user, what)| format!("{user} ({})", does(t, what)))
            .collect(),
        elements: set
            .elements
            .iter()
            .map(|e| ElementRow {
                text: e.address.to_string(),
                expires: e
                    .timeout
                    .map_or_else(|| default_expiry.clone(), |d| d.to_string()),
                remove_label: fill(t.fw_set_remove_element, e.address),
            })
            .collect(),
        expiring: set.has_timeouts(),
        ask_add: ask && firewall::set_change_opens(model, name, true),
        ask_remove: ask && firewall::set_change_opens(model, name, false),
        add_text: String::new(),
        add_error: None,
        remove_error: None,
        deletable: firewall::set_users(model, name).is_empty(),
        delete_error: None,
        error: None,
        name: name.to_string(),
        c,
    }
}

/// The model in force and its set `name`; `Err` is the answer (404 for no such set).
async fn set_of(
    panel: &Panel,
    s: &Session,
    name: &str,
) -> Result<(FirewallConfig, Set), Box<Response>> {
    let model = firewall_model(panel, s)
        .await
        .map_err(|why| Box::new(super::message(StatusCode::BAD_GATEWAY, s.lang, &why)))?;
    let set = model
        .sets
        .iter()
        .find(|st| st.name.as_str() == name)
        .cloned()
        .ok_or_else(|| {
            let t = s.lang.texts();
            Box::new(super::message(StatusCode::NOT_FOUND, s.lang, t.not_found))
        })?;
    Ok((model, set))
}

/// `GET /firewall/sets/<name>`.
pub(crate) async fn show(
    State(panel): State<Arc<Panel>>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    let (_, s) = or_answer!(require(&panel, &headers, Role::Administrator));
    let (model, set) = or_answer!(set_of(&panel, &s, &name).await);
    render(&page(&s, &model, &set))
}

/// Adding elements: one a line.
#[derive(Deserialize)]
pub(crate) struct AddForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    elements: String,
    #[serde(default)]
    current: String,
}

/// Removing one element.
#[derive(Deserialize)]
pub(crate) struct RemoveForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    element: String,
    #[serde(default)]
    current: String,
}

/// A set change checked and about to be saved: the new list, the event and what it
/// records.
struct Change {
    sets: Vec<Set>,
    event: &'static str,
    details: Value,
    /// Whether it weakens protection.
    opens: bool,
}

/// Asks for the password again when `change` weakens protection, then saves the new
/// `firewall.sets` on probation; errors go to `error_at` on `p`.
async fn save(
    panel: &Panel,
    (id, s): (&str, &Session),
    (peer, password): (&Peer, &str),
    change: Change,
    mut p: SetPage,
    error_at: fn(&mut SetPage) -> &mut Option<String>,
) -> Response {
    if change.opens {
        let asked =
            super::reauthenticate(panel, id, s, password, source(peer), "firewall set", false)
                .await;
        if let Err(why) = asked {
            *error_at(&mut p) = Some(why);
            return render_status(StatusCode::FORBIDDEN, &p);
        }
    }
    let value = match serde_json::to_value(&change.sets) {
        Ok(v) => v,
        Err(e) => {
            *error_at(&mut p) = Some(fill(p.c.t.not_saved, e));
            return render_status(StatusCode::INTERNAL_SERVER_ERROR, &p);
        }
    };
    let name = p.name.clone();
    let result = super::apply::audited_firewall_change_noting(
        panel,
        s,
        source(peer),
        (change.event, &name),
        change.details,
        (vec![("firewall.sets".to_string(), value)], Vec::new()),
    )
    .await;
    let t = p.c.t;
    super::apply::firewall_answer(
        result,
        t,
        p,
        |p| &mut p.error,
        move |p, why| *error_at(p) = Some(why),
    )
}

/// The page with `problem` at `error_at`, 400 (404 for no such set).
fn refused(
    mut p: SetPage,
    problem: &FwProblem,
    error_at: fn(&mut SetPage) -> &mut Option<String>,
) -> Response {
    let status = match problem {
        FwProblem::NoSuchSet => StatusCode::NOT_FOUND,
        _ => StatusCode::BAD_REQUEST,
    };
    *error_at(&mut p) = Some(problem_text(p.c.t, problem));
    render_status(status, &p)
}

/// `POST /firewall/sets/<name>/add`.
pub(crate) async fn add(
    State(panel): State<Arc<Panel>>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    Path(name): Path<String>,
    form: Result<Form<AddForm>, FormRejection>,
) -> Response {
    let (id, s) = or_answer!(require(&panel, &headers, Role::Administrator));
    let f = or_answer!(checked(&s, form));
    let (model, set) = or_answer!(set_of(&panel, &s, &name).await);
    let mut p = page(&s, &model, &set);
    // The form body is bounded (64 KiB); the lines are counted by the check.
    p.add_text = f.elements.clone();
    let sets = match firewall::add_elements(&model.sets, &name, &f.elements) {
        Ok(sets) => sets,
        Err(problem) => return refused(p, &problem, |p| &mut p.add_error),
    };
    let added: Vec<String> = f
        .elements
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    let change = Change {
        sets,
        event: "panel_firewall_set_elements_added",
        details: serde_json::json!({"set": name, "elements": added}),
        opens: firewall::set_change_opens(&model, &name, true),
    };
    save(&panel, (&id, &s), (&peer, &f.current), change, p, |p| {
        &mut p.add_error
    })
    .await
}

/// `POST /firewall/sets/<name>/remove`.
pub(crate) async fn remove(
    State(panel): State<Arc<Panel>>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    Path(name): Path<String>,
    form: Result<Form<RemoveForm>, FormRejection>,
) -> Response {
    let (id, s) = or_answer!(require(&panel, &headers, Role::Administrator));
    let f = or_answer!(checked(&s, form));
    let (model, set) = or_answer!(set_of(&panel, &s, &name).await);
    let p = page(&s, &model, &set);
    let element: String = f.element.trim().chars().take(100).collect();
    let sets = match firewall::remove_element(&model.sets, &name, &element) {
        Ok(sets) => sets,
        Err(problem) => return refused(p, &problem, |p| &mut p.remove_error),
    };
    let change = Change {
        sets,
        event: "panel_firewall_set_element_removed",
        details: serde_json::json!({"set": name, "elements": [element]}),
        opens: firewall::set_change_opens(&model, &name, false),
    };
    save(&panel, (&id, &s), (&peer, &f.current), change, p, |p| {
        &mut p.remove_error
    })
    .await
}

#[derive(Deserialize)]
pub(crate) struct DeleteForm {
    #[serde(rename = "_csrf")]
    csrf: String,
}

/// `POST /firewall/sets/<name>/delete`: a set no rule or port forward uses (removing it
/// opens nothing), on probation like every firewall change.
pub(crate) async fn delete(
    State(panel): State<Arc<Panel>>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    Path(name): Path<String>,
    form: Result<Form<DeleteForm>, FormRejection>,
) -> Response {
    let (id, s) = or_answer!(require(&panel, &headers, Role::Administrator));
    or_answer!(checked(&s, form));
    let (model, set) = or_answer!(set_of(&panel, &s, &name).await);
    let p = page(&s, &model, &set);
    let sets = match firewall::delete_set(&model, &name) {
        Ok(sets) => sets,
        Err(problem) => return refused(p, &problem, |p| &mut p.delete_error),
    };
    let change = Change {
        sets,
        event: "panel_firewall_set_deleted",
        details: serde_json::json!({"set": name, "elements": set.elements.len()}),
        opens: false,
    };
    save(&panel, (&id, &s), (&peer, ""), change, p, |p| {
        &mut p.delete_error
    })
    .await
}

csrf_form!(AddForm, RemoveForm, DeleteForm);
