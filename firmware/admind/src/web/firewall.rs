//! The firewall page (administrators): zones, rules with their packet counters, port
//! forwards and address sets; adding, switching and removing rules and forwards (zones and
//! set elements are edited on pages of their own, linked from here). Every
//! change is audited, saved as a settings version and put in force on probation: the
//! confirmation page counts down (a small script; without it the page states the time) and
//! the firewall goes back to the rules before unless the administrator confirms in time.
//! Opening the box (an accepting rule, a port forward) or removing or switching off a
//! rule asks for the password again. LAN devices the ARP sweep saw: every role.

use std::sync::Arc;

use askama::Template;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Extension, Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use mamori_panel::firewall::{self, ForwardDraft, FwProblem, RuleDraft};
use mamori_panel::i18n::{Texts, fill};
use mamori_panel::session::Session;
use mamori_panel::users::Role;
use serde::Deserialize;
use serde_json::Value;

use super::json::{list, text};
use super::{
    Chrome, Peer, ask, checked, csrf_form, or_answer, render, render_status, require, source,
};
use crate::state::Panel;

struct ZoneRow {
    name: String,
    interfaces: String,
    /// The default actions to, through and from the box, in words.
    input: String,
    forward: String,
    output: String,
}

struct RuleRow {
    name: String,
    enabled: bool,
    direction: String,
    zones: String,
    protocol: String,
    ports: String,
    source: String,
    action: String,
    packets: u64,
}

struct ForwardRow {
    name: String,
    enabled: bool,
    what: String,
}

struct SetRow {
    name: String,
    family: String,
    elements: usize,
}

/// What the page says of the last change that went back by itself, for a day after.
fn reverted(t: &Texts, last: &serde_json::Value, now: u64) -> Option<String> {
    let at = last["at"].as_u64()?;
    if now.saturating_sub(at) > 86_400 {
        return None;
    }
    // Japan's time, as the office reads it (the box keeps UTC), to the minute.
    let jst = mamori_panel::clock::jst_text(at);
    let when = format!("{} JST", jst.get(..16).unwrap_or(&jst));
    Some(fill(
        &fill(t.fw_reverted, last["serial"].as_u64().unwrap_or(0)),
        when,
    ))
}

#[derive(Template)]
#[template(path = "firewall.html")]
struct FirewallPage {
    c: Chrome,
    help: String,
    ask_password: bool,
    pending: Option<u64>,
    /// The last change that went back by itself, said in words (within a day).
    reverted: Option<String>,
    zones: Vec<ZoneRow>,
    rules: Vec<RuleRow>,
    forwards: Vec<ForwardRow>,
    sets: Vec<SetRow>,
    rule: RuleDraft,
    rule_error: Option<String>,
    /// The zones that may still be added (`dmz`, `guest`), and every zone defined.
    addable_zones: Vec<&'static str>,
    zone_names: Vec<&'static str>,
    zone_error: Option<String>,
    /// The forwardings in force, `(from, to)`.
    forwardings: Vec<(String, String)>,
    forwarding_error: Option<String>,
    /// The new set form: the name typed, and what is wrong.
    set_name: String,
    set_error: Option<String>,
    forward: ForwardDraft,
    forward_error: Option<String>,
    row_error: Option<String>,
    done: Option<String>,
    error: Option<String>,
}

fn joined(v: &Value) -> String {
    v.as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|x| match x {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The words for a direction or an action.
pub(crate) fn word(t: &Texts, value: &str) -> String {
    match value {
        "input" => t.dir_input,
        "forward" => t.dir_forward,
        "accept" => t.fw_accept,
        "drop" => t.fw_drop,
        "reject" => t.fw_reject,
        other => return other.to_string(),
    }
    .to_string()
}

/// What a firewall form got wrong, in words.
pub(crate) fn problem_text(t: &Texts, p: &FwProblem) -> String {
    match p {
        FwProblem::BadName => t.fw_problem_name.into(),
        FwProblem::NameTaken => t.problem_name_taken.into(),
        FwProblem::BadChoice => t.problem_bad_choice.into(),
        FwProblem::BadPort(e) => fill(t.fw_problem_port, e),
        FwProblem::PortsNotAllowed => t.fw_problem_ports_not_allowed.into(),
        FwProblem::BadAddress(e) => fill(t.fw_problem_address, e),
        FwProblem::NeedsDestZone => t.fw_problem_dest_zone.into(),
        FwProblem::TooMany => t.problem_too_many.into(),
        FwProblem::BadInterface(e) => fill(t.fw_problem_interface, e),
        FwProblem::NoInterfaces => t.fw_problem_no_interfaces.into(),
        FwProblem::TooManyInterfaces => t.fw_problem_interfaces_many.into(),
        FwProblem::NoChange => t.fw_problem_no_change.into(),
        FwProblem::NoSuchSet => t.not_found.into(),
        other => set_problem_text(t, other),
    }
}

/// What a set form got wrong, in words, naming the element.
fn set_problem_text(t: &Texts, p: &FwProblem) -> String {
    match p {
        FwProblem::NoElements => t.fw_problem_no_elements.into(),
        FwProblem::TooManyLines => t.fw_problem_lines.into(),
        FwProblem::SetFull => t.fw_problem_set_full.into(),
        FwProblem::BadElement(e) => fill(t.fw_problem_element, e),
        FwProblem::HostBits { element, network } => {
            fill(&fill(t.fw_problem_host_bits, element), network)
        }
        FwProblem::WrongFamily { element, family } => {
            fill(&fill(t.fw_problem_family, element), family)
        }
        FwProblem::NeedsInterval(e) => fill(t.fw_problem_interval, e),
        FwProblem::ReversedRange(e) => fill(t.fw_problem_reversed, e),
        FwProblem::AlreadyInSet(e) => fill(t.fw_problem_in_set, e),
        FwProblem::Overlaps { element, other } => fill(&fill(t.fw_problem_overlap, element), other),
        FwProblem::NotInSet(e) => fill(t.fw_problem_not_in_set, e),
        FwProblem::SetInUse(users) => fill(t.fw_problem_set_in_use, users),
        FwProblem::ZoneInUse(users) => fill(t.fw_problem_zone_in_use, users),
        FwProblem::ZoneFixed => t.fw_problem_zone_fixed.into(),
        FwProblem::ZoneThere => t.fw_problem_zone_there.into(),
        FwProblem::ForwardingThere => t.fw_problem_forwarding_there.into(),
        _ => t.bad_request.into(),
    }
}

/// The firewall model of the settings in force, typed (administrators only); `Err` is the
/// reason for the page.
pub(crate) async fn firewall_model(
    panel: &Panel,
    s: &Session,
) -> Result<mamori_firewall::model::FirewallConfig, String> {
    let section = super::apply::settings_section(panel, s, "firewall").await?;
    serde_json::from_value(section).map_err(|e| e.to_string())
}

/// The defined zones of `model` (the settings' firewall section), each with its default
/// actions in force.
fn zone_rows(t: &Texts, model: &Value) -> Vec<ZoneRow> {
    let Ok(typed) = serde_json::from_value::<mamori_firewall::model::FirewallConfig>(model.clone())
    else {
        return Vec::new();
    };
    typed
        .zones
        .defined()
        .map(|(kind, zone)| {
            let now = zone.settings(kind);
            ZoneRow {
                name: kind.as_str().into(),
                interfaces: joined(&serde_json::json!(zone.interfaces)),
                input: word(t, now.input.as_str()),
                forward: word(t, now.forward.as_str()),
                output: word(t, now.output.as_str()),
            }
        })
        .collect()
}

/// The model in force and the firewall's status (probation and counters).
async fn page(panel: &Panel, s: &Session) -> (FirewallPage, Value) {
    let c = Chrome::new(Some(s), s.lang, |t| t.firewall_title);
    let t = c.t;
    let (model, status) = tokio::join!(
        super::apply::settings_section(panel, s, "firewall"),
        ask(
            &panel.sockets.firewalld,
            s,
            serde_json::json!({"op": "status"})
        ),
    );
    let error = model.as_ref().err().or(status.as_ref().err()).cloned();
    let model = model.unwrap_or_default();
    let status = status.unwrap_or_default();
    let packets = |name: &str| -> u64 {
        status["counters"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter(|c| c["comment"].as_str() == Some(name))
            .filter_map(|c| c["packets"].as_u64())
            .sum()
    };
    let zones = zone_rows(t, &model);
    let rules = list(&model["rules"])
        .iter()
        .map(|r| {
            let name = text(r, "name");
            RuleRow {
                enabled: r["enabled"].as_bool().unwrap_or(true),
                direction: word(t, &text(r, "direction")),
                zones: match r["dest_zone"].as_str() {
                    Some(dest) => format!("{} → {dest}", text(r, "zone")),
                    None => text(r, "zone"),
                },
                protocol: text(r, "protocol"),
                ports: joined(&r["ports"]),
                source: joined(&r["source"]),
                action: word(t, &text(r, "action")),
                packets: packets(&name),
                name,
            }
        })
        .collect();
    let forwards = list(&model["port_forwards"])
        .iter()
        .map(|f| ForwardRow {
            name: text(f, "name"),
            enabled: f["enabled"].as_bool().unwrap_or(true),
            what: format!(
                "{} {} → {}:{}",
                text(f, "protocol"),
                f["external_port"],
                text(f, "internal_address"),
                if f["internal_port"].is_null() {
                    f["external_port"].to_string()
                } else {
                    f["internal_port"].to_string()
                }
            )
            .replace('"', ""),
        })
        .collect();
    let sets = list(&model["sets"])
        .iter()
        .map(|st| SetRow {
            name: text(st, "name"),
            family: text(st, "family"),
            elements: st["elements"].as_array().map_or(0, Vec::len),
        })
        .collect();
    let now = mamori_core::clock::unix_now();
    let p = FirewallPage {
        help: fill(
            &fill(t.firewall_help, panel.confirm_secs()),
            panel.confirm_secs(),
        ),
        ask_password: !s.recently_authenticated(now),
        pending: status["pending"]["serial"].as_u64(),
        reverted: reverted(t, &status["last_revert"], now),
        zones,
        rules,
        forwards,
        sets,
        rule: RuleDraft {
            direction: "input".into(),
            zone: "wan".into(),
            protocol: "tcp".into(),
            action: "drop".into(),
            ..RuleDraft::default()
        },
        rule_error: None,
        addable_zones: ["dmz", "guest"]
            .into_iter()
            .filter(|z| model["zones"][*z].is_null())
            .collect(),
        zone_names: ["lan", "wan", "dmz", "guest"]
            .into_iter()
            .filter(|z| !model["zones"][*z].is_null())
            .collect(),
        zone_error: None,
        forwardings: list(&model["forwardings"])
            .iter()
            .map(|f| (text(f, "from"), text(f, "to")))
            .collect(),
        forwarding_error: None,
        set_name: String::new(),
        set_error: None,
        forward: ForwardDraft {
            protocol: "tcp".into(),
            ..ForwardDraft::default()
        },
        forward_error: None,
        row_error: None,
        done: None,
        error,
        c,
    };
    (p, model)
}

/// `?done=confirmed` (a change confirmed) or `?done=unchanged` (saved, already in force).
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
    p.done = match query.map(|Query(q)| q.done) {
        Ok(done) if done == "confirmed" => Some(p.c.t.fw_confirmed.into()),
        Ok(done) if done == "unchanged" => Some(p.c.t.fw_unchanged.into()),
        _ => None,
    };
    render(&p)
}

/// Saves `key` = `value` as a firewall change on probation, then to the confirmation page;
/// a refusal is shown at `error_at` on `p`.
async fn save(
    panel: &Panel,
    s: &Session,
    peer: &Peer,
    what: (&str, &str),
    (key, value): (&str, Vec<Value>),
    p: FirewallPage,
    error_at: fn(&mut FirewallPage) -> &mut Option<String>,
) -> Response {
    let set = vec![(key.to_string(), Value::Array(value))];
    save_keys(panel, s, peer, what, (set, Vec::new()), p, error_at).await
}

/// [`save`] for keys set and removed.
async fn save_keys(
    panel: &Panel,
    s: &Session,
    peer: &Peer,
    what: (&str, &str),
    keys: (Vec<(String, Value)>, Vec<String>),
    p: FirewallPage,
    error_at: fn(&mut FirewallPage) -> &mut Option<String>,
) -> Response {
    let t = p.c.t;
    let result = super::apply::audited_firewall_change_noting(
        panel,
        s,
        source(peer),
        what,
        Value::Null,
        keys,
    )
    .await;
    super::apply::firewall_answer(
        result,
        t,
        p,
        |p| &mut p.error,
        |p, why| *error_at(p) = Some(why),
    )
}

/// Asks for the password again (unless given within the window); `Err` is the page with
/// the reason at `error_at`.
async fn reauth(
    panel: &Panel,
    (id, s): (&str, &Session),
    peer: &Peer,
    password: &str,
    action: &str,
    mut p: FirewallPage,
    error_at: fn(&mut FirewallPage) -> &mut Option<String>,
) -> Result<FirewallPage, Box<Response>> {
    match super::reauthenticate(panel, id, s, password, source(peer), action, false).await {
        Ok(()) => Ok(p),
        Err(why) => {
            *error_at(&mut p) = Some(why);
            Err(Box::new(render_status(StatusCode::FORBIDDEN, &p)))
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct RuleForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    name: String,
    direction: String,
    zone: String,
    #[serde(default)]
    dest_zone: String,
    protocol: String,
    #[serde(default)]
    ports: String,
    #[serde(default)]
    source: String,
    action: String,
    #[serde(default)]
    current: String,
}

pub(crate) async fn add_rule(
    State(panel): State<Arc<Panel>>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    form: Result<Form<RuleForm>, FormRejection>,
) -> Response {
    let (id, s) = or_answer!(require(&panel, &headers, Role::Administrator));
    let f = or_answer!(checked(&s, form));
    let (mut p, model) = page(&panel, &s).await;
    let t = p.c.t;
    let draft = RuleDraft {
        name: f.name.chars().take(64).collect(),
        direction: f.direction,
        zone: f.zone,
        dest_zone: f.dest_zone,
        protocol: f.protocol,
        ports: f.ports.chars().take(2000).collect(),
        source: f.source.chars().take(4000).collect(),
        action: f.action,
    };
    p.rule = draft.clone();
    let new = match firewall::add_rule(&list(&model["rules"]), &draft) {
        Ok(new) => new,
        Err(e) => {
            p.rule_error = Some(problem_text(t, &e));
            return render_status(StatusCode::BAD_REQUEST, &p);
        }
    };
    // An accepting rule opens the box: the password again.
    if draft.action == "accept" {
        p = or_answer!(
            reauth(
                &panel,
                (&id, &s),
                &peer,
                &f.current,
                "firewall opening",
                p,
                |p| &mut p.rule_error
            )
            .await
        );
    }
    let name = draft.name.trim().to_string();
    save(
        &panel,
        &s,
        &peer,
        ("panel_firewall_rule_added", &name),
        ("firewall.rules", new),
        p,
        |p| &mut p.rule_error,
    )
    .await
}

/// The model in force as the firewall crate's type, for the checks that need it whole.
fn typed(model: &Value) -> mamori_firewall::FirewallConfig {
    serde_json::from_value(model.clone()).unwrap_or_default()
}

#[derive(Deserialize)]
pub(crate) struct ZoneAddForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    name: String,
    #[serde(default)]
    interfaces: String,
    #[serde(default)]
    current: String,
}

/// `POST /firewall/zones`: a `dmz` or `guest` zone on its interfaces, with its kind's
/// defaults; always the password again (its interfaces' traffic gets a zone's treatment).
pub(crate) async fn add_zone(
    State(panel): State<Arc<Panel>>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    form: Result<Form<ZoneAddForm>, FormRejection>,
) -> Response {
    let (id, s) = or_answer!(require(&panel, &headers, Role::Administrator));
    let f = or_answer!(checked(&s, form));
    let (mut p, model) = page(&panel, &s).await;
    let t = p.c.t;
    let (kind, zone) = match firewall::add_zone(&typed(&model), &f.name, &f.interfaces) {
        Ok(v) => v,
        Err(e) => {
            p.zone_error = Some(problem_text(t, &e));
            return render_status(StatusCode::BAD_REQUEST, &p);
        }
    };
    p = or_answer!(
        reauth(
            &panel,
            (&id, &s),
            &peer,
            &f.current,
            "firewall zone added",
            p,
            |p| { &mut p.zone_error }
        )
        .await
    );
    let value = serde_json::to_value(&zone).unwrap_or_default();
    let set = vec![(format!("firewall.zones.{}", kind.as_str()), value)];
    save_keys(
        &panel,
        &s,
        &peer,
        ("panel_firewall_zone_added", kind.as_str()),
        (set, Vec::new()),
        p,
        |p| &mut p.zone_error,
    )
    .await
}

#[derive(Deserialize)]
pub(crate) struct ZoneRemoveForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    name: String,
}

/// `POST /firewall/zones/remove`: a `dmz` or `guest` zone no rule or forwarding uses.
pub(crate) async fn remove_zone(
    State(panel): State<Arc<Panel>>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    form: Result<Form<ZoneRemoveForm>, FormRejection>,
) -> Response {
    let (_, s) = or_answer!(require(&panel, &headers, Role::Administrator));
    let f = or_answer!(checked(&s, form));
    let (mut p, model) = page(&panel, &s).await;
    let t = p.c.t;
    let kind = match firewall::remove_zone(&typed(&model), &f.name) {
        Ok(kind) => kind,
        Err(e) => {
            p.zone_error = Some(problem_text(t, &e));
            return render_status(StatusCode::BAD_REQUEST, &p);
        }
    };
    let unset = vec![format!("firewall.zones.{}", kind.as_str())];
    save_keys(
        &panel,
        &s,
        &peer,
        ("panel_firewall_zone_removed", kind.as_str()),
        (Vec::new(), unset),
        p,
        |p| &mut p.zone_error,
    )
    .await
}

#[derive(Deserialize)]
pub(crate) struct ForwardingForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    action: String,
    from: String,
    to: String,
    #[serde(default)]
    current: String,
}

/// `POST /firewall/forwardings`: which zone may open connections to which; adding one
/// opens the way and asks for the password again, removing one does not.
pub(crate) async fn forwarding(
    State(panel): State<Arc<Panel>>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    form: Result<Form<ForwardingForm>, FormRejection>,
) -> Response {
    let (id, s) = or_answer!(require(&panel, &headers, Role::Administrator));
    let f = or_answer!(checked(&s, form));
    let (mut p, model) = page(&panel, &s).await;
    let t = p.c.t;
    let adding = f.action == "add";
    let list = match firewall::change_forwarding(&typed(&model), &f.from, &f.to, adding) {
        Ok(list) => list,
        Err(e) => {
            p.forwarding_error = Some(problem_text(t, &e));
            return render_status(StatusCode::BAD_REQUEST, &p);
        }
    };
    if adding {
        p = or_answer!(
            reauth(
                &panel,
                (&id, &s),
                &peer,
                &f.current,
                "firewall forwarding",
                p,
                |p| { &mut p.forwarding_error }
            )
            .await
        );
    }
    let subject = format!("{} → {}", f.from, f.to);
    let event = if adding {
        "panel_firewall_forwarding_added"
    } else {
        "panel_firewall_forwarding_removed"
    };
    save(
        &panel,
        &s,
        &peer,
        (event, &subject),
        ("firewall.forwardings", list),
        p,
        |p| &mut p.forwarding_error,
    )
    .await
}

#[derive(Deserialize)]
pub(crate) struct NewSetForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    name: String,
    family: String,
}

/// `POST /firewall/sets`: a new, empty address set (it opens nothing until a rule uses
/// it), on probation like every firewall change.
pub(crate) async fn add_set(
    State(panel): State<Arc<Panel>>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    form: Result<Form<NewSetForm>, FormRejection>,
) -> Response {
    let (_, s) = or_answer!(require(&panel, &headers, Role::Administrator));
    let f = or_answer!(checked(&s, form));
    let (mut p, model) = page(&panel, &s).await;
    let t = p.c.t;
    p.set_name = f.name.chars().take(64).collect();
    let new = match firewall::new_set(&typed(&model).sets, &f.name, &f.family) {
        Ok(new) => new,
        Err(e) => {
            p.set_error = Some(problem_text(t, &e));
            return render_status(StatusCode::BAD_REQUEST, &p);
        }
    };
    let new: Vec<Value> = new
        .iter()
        .filter_map(|st| serde_json::to_value(st).ok())
        .collect();
    let name = f.name.trim().to_string();
    save(
        &panel,
        &s,
        &peer,
        ("panel_firewall_set_added", &name),
        ("firewall.sets", new),
        p,
        |p| &mut p.set_error,
    )
    .await
}

#[derive(Deserialize)]
pub(crate) struct ForwardForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    name: String,
    protocol: String,
    external_port: String,
    internal_address: String,
    #[serde(default)]
    internal_port: String,
    #[serde(default)]
    current: String,
}

pub(crate) async fn add_forward(
    State(panel): State<Arc<Panel>>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    form: Result<Form<ForwardForm>, FormRejection>,
) -> Response {
    let (id, s) = or_answer!(require(&panel, &headers, Role::Administrator));
    let f = or_answer!(checked(&s, form));
    let (mut p, model) = page(&panel, &s).await;
    let t = p.c.t;
    let draft = ForwardDraft {
        name: f.name.chars().take(64).collect(),
        protocol: f.protocol,
        external_port: f.external_port.chars().take(20).collect(),
        internal_address: f.internal_address.chars().take(64).collect(),
        internal_port: f.internal_port.chars().take(20).collect(),
    };
    p.forward = draft.clone();
    let new = match firewall::add_forward(&list(&model["port_forwards"]), &draft) {
        Ok(new) => new,
        Err(e) => {
            p.forward_error = Some(problem_text(t, &e));
            return render_status(StatusCode::BAD_REQUEST, &p);
        }
    };
    p = or_answer!(
        reauth(
            &panel,
            (&id, &s),
            &peer,
            &f.current,
            "port forward",
            p,
            |p| &mut p.forward_error
        )
        .await
    );
    let name = draft.name.trim().to_string();
    save(
        &panel,
        &s,
        &peer,
        ("panel_firewall_forward_added", &name),
        ("firewall.port_forwards", new),
        p,
        |p| &mut p.forward_error,
    )
    .await
}

#[derive(Deserialize)]
pub(crate) struct ChangeForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    /// `rule` or `forward`.
    what: String,
    name: String,
    /// `remove`, `enable` or `disable`.
    change: String,
    #[serde(default)]
    current: String,
}

/// Removing, or switching on or off, a rule or a forward.
pub(crate) async fn change(
    State(panel): State<Arc<Panel>>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    form: Result<Form<ChangeForm>, FormRejection>,
) -> Response {
    let (id, s) = or_answer!(require(&panel, &headers, Role::Administrator));
    let f = or_answer!(checked(&s, form));
    let (p, model) = page(&panel, &s).await;
    let t = p.c.t;
    let key = match f.what.as_str() {
        "rule" => "firewall.rules",
        "forward" => "firewall.port_forwards",
        _ => return super::message(StatusCode::BAD_REQUEST, s.lang, t.bad_request),
    };
    let entries = list(&model[key.trim_start_matches("firewall.")]);
    let new = match f.change.as_str() {
        "remove" => firewall::remove_named(&entries, &f.name),
        "enable" => firewall::set_enabled(&entries, &f.name, true),
        "disable" => firewall::set_enabled(&entries, &f.name, false),
        _ => return super::message(StatusCode::BAD_REQUEST, s.lang, t.bad_request),
    };
    let Some(new) = new else {
        return super::message(StatusCode::NOT_FOUND, s.lang, t.not_found);
    };
    // Removing or switching off weakens the box; switching on an accepting rule or a
    // forward opens it: the password again. Switching a blocking rule back on does not.
    let accepting = entries
        .iter()
        .find(|e| e["name"].as_str() == Some(f.name.as_str()))
        .is_some_and(|e| f.what == "forward" || e["action"] == "accept");
    let p = if f.change == "enable" && !accepting {
        p
    } else {
        or_answer!(
            reauth(
                &panel,
                (&id, &s),
                &peer,
                &f.current,
                "firewall change",
                p,
                |p| &mut p.row_error
            )
            .await
        )
    };
    let done = match f.change.as_str() {
        "remove" => "removed",
        "enable" => "enabled",
        _ => "disabled",
    };
    let event = format!("panel_firewall_{}_{done}", f.what);
    save(&panel, &s, &peer, (&event, &f.name), (key, new), p, |p| {
        &mut p.row_error
    })
    .await
}

#[derive(Template)]
#[template(path = "firewall_pending.html")]
struct PendingPage {
    c: Chrome,
    serial: Option<u64>,
    seconds_left: u64,
    deadline: String,
}

/// The confirmation page: the probation's time left, counted down by a small script.
pub(crate) async fn pending(State(panel): State<Arc<Panel>>, headers: HeaderMap) -> Response {
    let (_, s) = or_answer!(require(&panel, &headers, Role::Administrator));
    let c = Chrome::new(Some(&s), s.lang, |t| t.fw_pending_title);
    let status = ask(
        &panel.sockets.firewalld,
        &s,
        serde_json::json!({"op": "status"}),
    )
    .await
    .unwrap_or_default();
    let left = status["pending"]["seconds_left"].as_u64().unwrap_or(0);
    render(&PendingPage {
        serial: status["pending"]["serial"].as_u64(),
        seconds_left: left,
        deadline: mamori_core::clock::rfc3339_utc(mamori_core::clock::unix_now() + left),
        c,
    })
}

#[derive(Deserialize)]
pub(crate) struct ConfirmForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    serial: u64,
}

pub(crate) async fn confirm(
    State(panel): State<Arc<Panel>>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    form: Result<Form<ConfirmForm>, FormRejection>,
) -> Response {
    let (_, s) = or_answer!(require(&panel, &headers, Role::Administrator));
    let f = or_answer!(checked(&s, form));
    panel.audit.record_or_log(
        "panel_firewall_confirmed",
        serde_json::json!({"by": s.user, "source": source(&peer).to_string(), "serial": f.serial}),
    );
    let answer = ask(
        &panel.sockets.firewalld,
        &s,
        serde_json::json!({"op": "confirm", "serial": f.serial}),
    )
    .await;
    match answer {
        Ok(_) => Redirect::to("/firewall?done=confirmed").into_response(),
        Err(why) => {
            let (mut p, _) = page(&panel, &s).await;
            p.error = Some(fill(p.c.t.fw_refused, why));
            render_status(StatusCode::CONFLICT, &p)
        }
    }
}

struct DeviceRow {
    ip: String,
    mac: String,
    vendor: String,
    first_seen: String,
    last_seen: String,
}

#[derive(Template)]
#[template(path = "devices.html")]
struct DevicesPage {
    c: Chrome,
    devices: Vec<DeviceRow>,
    error: Option<String>,
}

/// The LAN devices the firewall's ARP sweep found (every role).
pub(crate) async fn devices(State(panel): State<Arc<Panel>>, headers: HeaderMap) -> Response {
    let (_, s) = or_answer!(require(&panel, &headers, Role::Auditor));
    let c = Chrome::new(Some(&s), s.lang, |t| t.fw_devices);
    let answer = ask(
        &panel.sockets.firewalld,
        &s,
        serde_json::json!({"op": "devices"}),
    )
    .await;
    let (found, error) = match answer {
        Ok(v) => (v, None),
        Err(why) => (Value::Null, Some(why)),
    };
    let when = |v: &Value| mamori_core::clock::rfc3339_utc(v.as_u64().unwrap_or(0));
    let devices = found
        .as_array()
        .or_else(|| found["devices"].as_array())
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|d| DeviceRow {
            ip: text(d, "ip"),
            mac: text(d, "mac"),
            vendor: text(d, "vendor"),
            first_seen: when(&d["first_seen"]),
            last_seen: when(&d["last_seen"]),
        })
        .collect();
    render(&DevicesPage { c, devices, error })
}

csrf_form!(
    RuleForm,
    ForwardForm,
    ChangeForm,
    ConfirmForm,
    NewSetForm,
    ZoneAddForm,
    ZoneRemoveForm,
    ForwardingForm
);
