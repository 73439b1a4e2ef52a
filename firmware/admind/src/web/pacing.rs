//! The pacing page (administrators): the built-in limits for Japanese mobile carriers on or
//! off, the limits for every other destination, and groups of domains with limits of their
//! own. Each change is audited, saved as a settings version and in force at once.

use std::sync::Arc;

use askama::Template;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Extension, Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use mamori_panel::i18n::{Texts, fill, problem};
use mamori_panel::pacing::{self, PacingProblem};
use mamori_panel::session::Session;
use mamori_panel::users::Role;
use serde::Deserialize;
use serde_json::Value;

use super::{Chrome, Peer, or_answer, render, render_status, require, source};
use crate::state::Panel;

/// One limit field of a form.
struct LimitField {
    name: &'static str,
    label: &'static str,
    value: String,
}

/// One group.
struct GroupRow {
    name: String,
    domains: String,
    per_minute: u64,
    connections: u64,
}

#[derive(Template)]
#[template(path = "pacing.html")]
struct PacingPage {
    c: Chrome,
    jp_mobile: bool,
    default_limits: Vec<LimitField>,
    default_error: Option<String>,
    groups: Vec<GroupRow>,
    group_name: String,
    group_domains: String,
    group_limits: Vec<LimitField>,
    group_error: Option<String>,
    done: Option<String>,
    error: Option<String>,
}

fn label(t: &Texts, field: &str) -> &'static str {
    match field {
        "messages_per_minute" => t.lim_messages_per_minute,
        "max_connections" => t.lim_max_connections,
        "messages_per_connection" => t.lim_messages_per_connection,
        "recipients_per_transaction" => t.lim_recipients_per_transaction,
        _ => t.lim_recipients_per_connection,
    }
}

/// The form's fields for `limits` (values as typed, or as in force).
fn fields(t: &Texts, value: impl Fn(&str) -> String) -> Vec<LimitField> {
    pacing::LIMITS
        .iter()
        .map(|&(name, _, _)| LimitField {
            name,
            label: label(t, name),
            value: value(name),
        })
        .collect()
}

fn number(v: &Value) -> impl Fn(&str) -> String + '_ {
    move |f| v[f].as_u64().map(|n| n.to_string()).unwrap_or_default()
}

fn problem_text(t: &Texts, p: &PacingProblem) -> String {
    match p {
        PacingProblem::Limit(field, least, most) => fill(
            t.problem_limit,
            format!("{}: {least}–{most}", label(t, field)),
        ),
        PacingProblem::BadName => t.problem_rule_name.into(),
        PacingProblem::NameTaken => t.problem_name_taken.into(),
        PacingProblem::Domains(p) => problem(t, p),
        PacingProblem::TooMany => t.problem_too_many.into(),
    }
}

async fn page(panel: &Panel, s: &Session) -> (PacingPage, Value) {
    let c = Chrome::new(Some(s), s.lang, |t| t.pacing_title);
    let t = c.t;
    let (pacing, error) = match super::apply::relay_settings(panel, s).await {
        Ok(smtp) => (smtp["pacing"].clone(), None),
        Err(why) => (Value::Null, Some(why)),
    };
    let groups = pacing["groups"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|g| GroupRow {
            name: super::json::text(g, "name"),
            domains: super::json::strings(&g["domains"]).join(", "),
            per_minute: g["limits"]["messages_per_minute"].as_u64().unwrap_or(0),
            connections: g["limits"]["max_connections"].as_u64().unwrap_or(0),
        })
        .collect();
    let p = PacingPage {
        jp_mobile: pacing["jp_mobile_preset"].as_bool().unwrap_or(true),
        default_limits: fields(t, number(&pacing["default"])),
        default_error: None,
        groups,
        group_name: String::new(),
        group_domains: String::new(),
        group_limits: fields(t, |f| {
            match f {
                "messages_per_minute" => "30",
                "max_connections" => "2",
                "messages_per_connection" => "20",
                "recipients_per_transaction" => "20",
                _ => "100",
            }
            .to_string()
        }),
        group_error: None,
        done: None,
        error,
        c,
    };
    (p, pacing)
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
        let listed = |n: &str| p.groups.iter().any(|g| g.name == n);
        p.done = match q.done.split_once(':') {
            None if q.done == "saved" => Some(t.pacing_saved.into()),
            Some(("added", n)) if listed(n) => Some(fill(t.group_added, n)),
            Some(("removed", n)) if !listed(n) => Some(fill(t.group_removed, n)),
            _ => None,
        };
    }
    render(&p)
}

/// Saves, then back to the page with `done`; a refusal is shown at `error_at` on `p`.
async fn save(
    panel: &Panel,
    s: &Session,
    peer: &Peer,
    (event, subject, done): (&str, &str, &str),
    set: Vec<(String, Value)>,
    p: PacingPage,
    error_at: fn(&mut PacingPage) -> &mut Option<String>,
) -> Response {
    let result =
        super::apply::audited_change(panel, s, source(peer), (event, subject), set, Vec::new())
            .await;
    let t = p.c.t;
    let to = format!("/mail/pacing?done={done}");
    super::apply::answer(result, &to, t, p, (|p| &mut p.error, error_at))
}

pub(crate) async fn general(
    State(panel): State<Arc<Panel>>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    let (_, s) = or_answer!(require(&panel, &headers, Role::Administrator));
    let pairs = or_answer!(super::checked_pairs(&s, form));
    let value = super::pair_field(&pairs);
    let (mut p, _) = page(&panel, &s).await;
    let t = p.c.t;
    p.jp_mobile = value("jp_mobile_preset") == "on";
    p.default_limits = fields(t, &value);
    let limits = match pacing::limits(&value) {
        Ok(l) => l,
        Err(e) => {
            p.default_error = Some(problem_text(t, &e));
            return render_status(StatusCode::BAD_REQUEST, &p);
        }
    };
    let set = vec![
        (
            "smtp.pacing.jp_mobile_preset".to_string(),
            p.jp_mobile.into(),
        ),
        ("smtp.pacing.default".to_string(), limits),
    ];
    let subject = if p.jp_mobile {
        "jp-mobile on"
    } else {
        "jp-mobile off"
    };
    save(
        &panel,
        &s,
        &peer,
        ("panel_pacing_saved", subject, "saved"),
        set,
        p,
        |p| &mut p.default_error,
    )
    .await
}

pub(crate) async fn add_group(
    State(panel): State<Arc<Panel>>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    let (_, s) = or_answer!(require(&panel, &headers, Role::Administrator));
    let pairs = or_answer!(super::checked_pairs(&s, form));
    let value = super::pair_field(&pairs);
    let (mut p, pacing) = page(&panel, &s).await;
    let t = p.c.t;
    p.group_name = value("name").chars().take(200).collect();
    p.group_domains = value("domains");
    p.group_limits = fields(t, &value);
    let groups = pacing["groups"].as_array().cloned().unwrap_or_default();
    let added = pacing::limits(&value)
        .and_then(|l| pacing::add_group(&groups, &p.group_name, &p.group_domains, l));
    let new = match added {
        Ok(new) => new,
        Err(e) => {
            p.group_error = Some(problem_text(t, &e));
            return render_status(StatusCode::BAD_REQUEST, &p);
        }
    };
    let name = p.group_name.trim().to_string();
    save(
        &panel,
        &s,
        &peer,
        (
            "panel_pacing_group_added",
            &name,
            &format!("added:{}", super::dlp::urlencode(&name)),
        ),
        vec![("smtp.pacing.groups".into(), Value::Array(new))],
        p,
        |p| &mut p.group_error,
    )
    .await
}

pub(crate) async fn remove_group(
    State(panel): State<Arc<Panel>>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    let (_, s) = or_answer!(require(&panel, &headers, Role::Administrator));
    let pairs = or_answer!(super::checked_pairs(&s, form));
    let name = super::pair_field(&pairs)("name");
    let (p, pacing) = page(&panel, &s).await;
    let groups = pacing["groups"].as_array().cloned().unwrap_or_default();
    let Some(new) = pacing::remove_group(&groups, &name) else {
        return super::message(StatusCode::NOT_FOUND, s.lang, p.c.t.not_found);
    };
    save(
        &panel,
        &s,
        &peer,
        (
            "panel_pacing_group_removed",
            &name,
            &format!("removed:{}", super::dlp::urlencode(&name)),
        ),
        vec![("smtp.pacing.groups".into(), Value::Array(new))],
        p,
        |p| &mut p.group_error,
    )
    .await
}
