//! The firewall's zone pages (administrators): `/firewall/zones/<name>` shows a zone's
//! interfaces, default actions (to, through and from the box) and switches (masquerade,
//! ping, DHCP/DNS, the box's DHCP client), each with the value in force, in one form.
//! Saving writes `firewall.zones.<name>` as a settings version that the firewall takes on
//! probation, like every firewall change from the panel; a change that weakens protection
//! (see [`firewall::zone_opens`]) asks for the password again.

use std::sync::Arc;

use askama::Template;
use axum::extract::rejection::FormRejection;
use axum::extract::{Extension, Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use mamori_firewall::model::{FirewallConfig, Zone, ZoneName};
use mamori_panel::firewall::{self, FwProblem, ZoneDraft};
use mamori_panel::i18n::{Texts, fill};
use mamori_panel::session::Session;
use mamori_panel::users::Role;
use serde::Deserialize;

use super::firewall::{firewall_model, problem_text, word};
use super::{Chrome, Peer, checked, csrf_form, or_answer, render, render_status, require, source};
use crate::state::Panel;

/// One default action's field.
struct PolicyField {
    /// The form field (`input`, `forward`, `output`).
    field: &'static str,
    label: &'static str,
    value: String,
    now: String,
}

/// One switch's field.
struct SwitchField {
    /// The form field (`masquerade`, `allow_ping`…).
    field: &'static str,
    label: &'static str,
    on: bool,
    now: String,
}

#[derive(Template)]
#[template(path = "firewall_zone.html")]
struct ZonePage {
    c: Chrome,
    name: String,
    heading: String,
    ask_password: bool,
    interfaces: String,
    interfaces_now: String,
    policies: Vec<PolicyField>,
    switches: Vec<SwitchField>,
    /// The choices of a default action: value and words.
    choices: Vec<(&'static str, String)>,
    interfaces_error: Option<String>,
    zone_error: Option<String>,
    error: Option<String>,
}

/// "Now: drop (default)" for a value in force, marked when the kind's default gives it.
fn now(t: &Texts, value: &str, written: bool) -> String {
    let value = if written {
        value.to_string()
    } else {
        fill(t.fw_default, value)
    };
    fill(t.fw_now, value)
}

/// The default actions' fields: the form's values, and those in force.
fn policy_fields(t: &Texts, kind: ZoneName, zone: &Zone, draft: &ZoneDraft) -> Vec<PolicyField> {
    let in_force = zone.settings(kind);
    [
        (
            "input",
            t.fw_input_policy,
            &draft.input,
            in_force.input,
            zone.input,
        ),
        (
            "forward",
            t.fw_forward_policy,
            &draft.forward,
            in_force.forward,
            zone.forward,
        ),
        (
            "output",
            t.fw_output_policy,
            &draft.output,
            in_force.output,
            zone.output,
        ),
    ]
    .into_iter()
    .map(|(field, label, value, current, written)| PolicyField {
        field,
        label,
        value: value.clone(),
        now: now(t, &word(t, current.as_str()), written.is_some()),
    })
    .collect()
}

/// The switches' fields: the form's values, and those in force.
fn switch_fields(t: &Texts, kind: ZoneName, zone: &Zone, draft: &ZoneDraft) -> Vec<SwitchField> {
    let in_force = zone.settings(kind);
    [
        (
            "masquerade",
            t.fw_masquerade,
            draft.masquerade,
            in_force.masquerade,
            zone.masquerade,
        ),
        (
            "allow_ping",
            t.fw_allow_ping,
            draft.allow_ping,
            in_force.allow_ping,
            zone.allow_ping,
        ),
        (
            "allow_dhcp_dns",
            t.fw_allow_dhcp_dns,
            draft.allow_dhcp_dns,
            in_force.allow_dhcp_dns,
            zone.allow_dhcp_dns,
        ),
        (
            "allow_dhcp_client",
            t.fw_allow_dhcp_client,
            draft.allow_dhcp_client,
            in_force.allow_dhcp_client,
            zone.allow_dhcp_client,
        ),
    ]
    .into_iter()
    .map(|(field, label, on, current, written)| SwitchField {
        field,
        label,
        on,
        now: now(
            t,
            if current { t.fw_yes } else { t.fw_no },
            written.is_some(),
        ),
    })
    .collect()
}

/// The page for zone `kind` as in force (`zone`), its form filled from `draft`.
fn page(s: &Session, kind: ZoneName, zone: &Zone, draft: &ZoneDraft) -> ZonePage {
    let c = Chrome::new(Some(s), s.lang, |t| t.fw_zone_title);
    let t = c.t;
    ZonePage {
        name: kind.as_str().into(),
        heading: fill(t.fw_zone_heading, kind),
        ask_password: !s.recently_authenticated(mamori_core::clock::unix_now()),
        interfaces: draft.interfaces.clone(),
        interfaces_now: fill(t.fw_now, ZoneDraft::of(kind, zone).interfaces),
        policies: policy_fields(t, kind, zone, draft),
        switches: switch_fields(t, kind, zone, draft),
        choices: firewall::POLICIES
            .iter()
            .map(|p| (*p, word(t, p)))
            .collect(),
        interfaces_error: None,
        zone_error: None,
        error: None,
        c,
    }
}

/// The model in force and zone `name` of it; `Err` is the answer (404 for a zone that
/// is not defined, the page with the reason when the settings cannot be read).
async fn zone_of(
    panel: &Panel,
    s: &Session,
    name: &str,
) -> Result<(ZoneName, Zone), Box<Response>> {
    let t = s.lang.texts();
    let missing = || Box::new(super::message(StatusCode::NOT_FOUND, s.lang, t.not_found));
    let kind = firewall::zone_name(name).ok_or_else(missing)?;
    let model: FirewallConfig = firewall_model(panel, s)
        .await
        .map_err(|why| Box::new(super::message(StatusCode::BAD_GATEWAY, s.lang, &why)))?;
    let zone = model.zones.get(kind).cloned().ok_or_else(missing)?;
    Ok((kind, zone))
}

/// `GET /firewall/zones/<name>`.
pub(crate) async fn show(
    State(panel): State<Arc<Panel>>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    let (_, s) = or_answer!(require(&panel, &headers, Role::Administrator));
    let (kind, zone) = or_answer!(zone_of(&panel, &s, &name).await);
    render(&page(&s, kind, &zone, &ZoneDraft::of(kind, &zone)))
}

/// The zone form; an unticked switch is not sent.
#[derive(Deserialize)]
pub(crate) struct ZoneForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    interfaces: String,
    #[serde(default)]
    input: String,
    #[serde(default)]
    forward: String,
    #[serde(default)]
    output: String,
    #[serde(default)]
    masquerade: Option<String>,
    #[serde(default)]
    allow_ping: Option<String>,
    #[serde(default)]
    allow_dhcp_dns: Option<String>,
    #[serde(default)]
    allow_dhcp_client: Option<String>,
    #[serde(default)]
    current: String,
}

impl ZoneForm {
    fn draft(&self) -> ZoneDraft {
        let short = |s: &str, n| s.chars().take(n).collect::<String>();
        ZoneDraft {
            interfaces: short(&self.interfaces, 400),
            input: short(&self.input, 16),
            forward: short(&self.forward, 16),
            output: short(&self.output, 16),
            masquerade: self.masquerade.is_some(),
            allow_ping: self.allow_ping.is_some(),
            allow_dhcp_dns: self.allow_dhcp_dns.is_some(),
            allow_dhcp_client: self.allow_dhcp_client.is_some(),
        }
    }
}

/// Where a form problem is shown: next to the interfaces, or above the form.
fn show_problem(p: &mut ZonePage, problem: &FwProblem) {
    let text = problem_text(p.c.t, problem);
    match problem {
        FwProblem::BadInterface(_) | FwProblem::NoInterfaces | FwProblem::TooManyInterfaces => {
            p.interfaces_error = Some(text)
        }
        _ => p.zone_error = Some(text),
    }
}

/// `POST /firewall/zones/<name>`: the zone as the form has it, on probation.
pub(crate) async fn save(
    State(panel): State<Arc<Panel>>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    Path(name): Path<String>,
    form: Result<Form<ZoneForm>, FormRejection>,
) -> Response {
    let (id, s) = or_answer!(require(&panel, &headers, Role::Administrator));
    let f = or_answer!(checked(&s, form));
    let (kind, zone) = or_answer!(zone_of(&panel, &s, &name).await);
    let draft = f.draft();
    let mut p = page(&s, kind, &zone, &draft);
    let new = match firewall::edit_zone(kind, &zone, &draft) {
        Ok(new) => new,
        Err(problem) => {
            show_problem(&mut p, &problem);
            return render_status(StatusCode::BAD_REQUEST, &p);
        }
    };
    if firewall::zone_opens(kind, &zone, &new) {
        let asked = super::reauthenticate(
            &panel,
            &id,
            &s,
            &f.current,
            source(&peer),
            "firewall zone",
            false,
        )
        .await;
        if let Err(why) = asked {
            p.zone_error = Some(why);
            return render_status(StatusCode::FORBIDDEN, &p);
        }
    }
    let value = match serde_json::to_value(&new) {
        Ok(v) => v,
        Err(e) => {
            p.zone_error = Some(fill(p.c.t.not_saved, e));
            return render_status(StatusCode::INTERNAL_SERVER_ERROR, &p);
        }
    };
    let key = format!("firewall.zones.{}", kind.as_str());
    let result = super::apply::audited_firewall_change(
        &panel,
        &s,
        source(&peer),
        ("panel_firewall_zone_changed", kind.as_str()),
        vec![(key, value)],
    )
    .await;
    let t = p.c.t;
    super::apply::firewall_answer(
        result,
        t,
        p,
        |p| &mut p.error,
        |p, why| {
            // The settings service names the key it refused: an interface, or the zone.
            if why.contains(".interfaces") {
                p.interfaces_error = Some(why);
            } else {
                p.zone_error = Some(why);
            }
        },
    )
}

csrf_form!(ZoneForm);
