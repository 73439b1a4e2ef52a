//! The date and time page: the box's clock and whether NTP keeps it (every role reads it),
//! the NTP servers and NTP on or off, and — with NTP off — a time to set the clock to
//! (administrators). The panel cannot touch the clock: the settings go into a version and
//! the clock request to the settings service, and the root-owned `mamori time-apply`
//! (started by its path unit) applies them.

use std::sync::Arc;

use askama::Template;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Extension, Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use mamori_panel::clock::{self, ClockProblem};
use mamori_panel::i18n::{Texts, fill};
use mamori_panel::session::Session;
use mamori_panel::users::Role;
use serde::Deserialize;
use serde_json::Value;

use super::{
    Chrome, Peer, ask, checked, csrf_form, or_answer, render, render_status, require, source,
};
use crate::state::Panel;

#[derive(Template)]
#[template(path = "time.html")]
struct TimePage {
    c: Chrome,
    now: String,
    synced: bool,
    applied: String,
    last_request: Option<String>,
    /// The form (administrators).
    admin: bool,
    ntp: bool,
    servers: String,
    servers_error: Option<String>,
    clock_value: String,
    clock_error: Option<String>,
    ask_password: bool,
    done: Option<String>,
    error: Option<String>,
}

fn problem_text(t: &Texts, p: &ClockProblem) -> String {
    match p {
        ClockProblem::NotAServer(s) => fill(t.time_problem_server, s),
        ClockProblem::TooManyServers => t.time_problem_many.into(),
        ClockProblem::NoServer => t.time_problem_none.into(),
        ClockProblem::NotATime => t.time_problem_time.into(),
        ClockProblem::OutOfRange => t.time_problem_range.into(),
    }
}

/// Japan's time for people, to the minute.
fn jst(secs: u64) -> String {
    format!("{} JST", clock::jst_text(secs))
}

async fn time_page(panel: &Panel, s: &Session) -> TimePage {
    let c = Chrome::new(Some(s), s.lang, |t| t.time_title);
    let t = c.t;
    let status = ask(
        &panel.sockets.settings,
        s,
        serde_json::json!({"op": "time_status"}),
    )
    .await;
    let admin = s.role == Role::Administrator;
    let in_force = if admin {
        super::apply::settings_section(panel, s, "time").await.ok()
    } else {
        None
    };
    let (status, error) = match status {
        Ok(v) => (v, None),
        Err(why) => (Value::Null, Some(fill(t.not_saved, why))),
    };
    let now = status["now"]
        .as_u64()
        .unwrap_or_else(mamori_core::clock::unix_now);
    let applied = match status["applied"]["at"].as_u64() {
        Some(at) => fill(
            &fill(
                t.time_applied,
                status["applied"]["version"]
                    .as_u64()
                    .map_or("-".into(), |v| v.to_string()),
            ),
            format!(
                "{} — {}",
                jst(at),
                status["applied"]["timesyncd"].as_str().unwrap_or("")
            ),
        ),
        None => t.time_not_applied.into(),
    };
    let last_request = status["last_request"]["at"].as_u64().map(|at| {
        let r = &status["last_request"];
        let what = if r["ok"] == true {
            format!(
                "{} → {}",
                jst(at),
                r["time"].as_u64().map_or(String::new(), jst)
            )
        } else {
            format!("{} ✗ {}", jst(at), r["error"].as_str().unwrap_or(""))
        };
        fill(t.time_last_request, what)
    });
    let settings = in_force.unwrap_or(Value::Null);
    TimePage {
        now: jst(now),
        synced: status["synchronized"] == true,
        applied,
        last_request,
        admin,
        ntp: settings["ntp"].as_bool().unwrap_or(true),
        servers: settings["ntp_servers"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default(),
        servers_error: None,
        clock_value: clock::local_text(now)
            .get(..16)
            .unwrap_or_default()
            .to_string(),
        clock_error: None,
        ask_password: !s.recently_authenticated(mamori_core::clock::unix_now()),
        done: None,
        error,
        c,
    }
}

/// `?done=ntp|clock`.
#[derive(Deserialize, Default)]
pub(crate) struct DoneQuery {
    #[serde(default)]
    done: String,
}

pub(crate) async fn page(
    State(panel): State<Arc<Panel>>,
    headers: HeaderMap,
    query: Result<Query<DoneQuery>, QueryRejection>,
) -> Response {
    let (_, s) = or_answer!(require(&panel, &headers, Role::Auditor));
    let mut p = time_page(&panel, &s).await;
    p.done = match query.map(|Query(q)| q.done).unwrap_or_default().as_str() {
        "ntp" => Some(p.c.t.time_saved.into()),
        "clock" => Some(p.c.t.time_asked.into()),
        _ => None,
    };
    render(&p)
}

#[derive(Deserialize)]
pub(crate) struct NtpForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    ntp: Option<String>,
    #[serde(default)]
    servers: String,
    #[serde(default)]
    current: String,
}

#[derive(Deserialize)]
pub(crate) struct ClockForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    time: String,
}

csrf_form!(NtpForm, ClockForm);

/// NTP on or off and its servers (administrators; turning NTP off needs the password).
pub(crate) async fn ntp(
    State(panel): State<Arc<Panel>>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    form: Result<Form<NtpForm>, FormRejection>,
) -> Response {
    let (id, s) = or_answer!(require(&panel, &headers, Role::Administrator));
    let f = or_answer!(checked(&s, form));
    let mut p = time_page(&panel, &s).await;
    let t = p.c.t;
    let was_on = p.ntp;
    let on = f.ntp.is_some();
    p.ntp = on;
    p.servers = f.servers.chars().take(2000).collect();
    let servers = match clock::servers(&f.servers, on) {
        Ok(v) => v,
        Err(e) => {
            p.servers_error = Some(problem_text(t, &e));
            return render_status(StatusCode::BAD_REQUEST, &p);
        }
    };
    if was_on
        && !on
        && let Err(why) =
            super::reauthenticate(&panel, &id, &s, &f.current, source(&peer), "NTP off", false)
                .await
    {
        p.servers_error = Some(why);
        return render_status(StatusCode::FORBIDDEN, &p);
    }
    let subject = format!(
        "NTP {}: {}",
        if on { "on" } else { "off" },
        servers.join(" ")
    );
    let set = vec![
        ("time.ntp".to_string(), Value::Bool(on)),
        ("time.ntp_servers".to_string(), serde_json::json!(servers)),
    ];
    let result = super::apply::audited_change(
        &panel,
        &s,
        source(&peer),
        ("panel_time_ntp", &subject),
        set,
        Vec::new(),
    )
    .await;
    match result {
        Ok(_) => Redirect::to("/system/time?done=ntp").into_response(),
        Err(why) => {
            p.servers_error = Some(fill(t.not_saved, why));
            render_status(StatusCode::BAD_REQUEST, &p)
        }
    }
}

/// A time to set the clock to, in Japan's time (administrators; only with NTP off).
pub(crate) async fn set_clock(
    State(panel): State<Arc<Panel>>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    form: Result<Form<ClockForm>, FormRejection>,
) -> Response {
    let (_, s) = or_answer!(require(&panel, &headers, Role::Administrator));
    let f = or_answer!(checked(&s, form));
    let mut p = time_page(&panel, &s).await;
    let t = p.c.t;
    p.clock_value = f.time.chars().take(40).collect();
    let time = match clock::parse_local(&f.time) {
        Ok(v) => v,
        Err(e) => {
            p.clock_error = Some(problem_text(t, &e));
            return render_status(StatusCode::BAD_REQUEST, &p);
        }
    };
    if let Err(e) = panel.audit(
        "panel_set_clock",
        &s.user,
        source(&peer),
        serde_json::json!({"time": mamori_core::clock::rfc3339_utc(time)}),
    ) {
        p.clock_error = Some(e.to_string());
        return render_status(StatusCode::INTERNAL_SERVER_ERROR, &p);
    }
    match ask(
        &panel.sockets.settings,
        &s,
        serde_json::json!({"op": "set_clock", "time": time}),
    )
    .await
    {
        Ok(_) => Redirect::to("/system/time?done=clock").into_response(),
        Err(why) => {
            p.clock_error = Some(fill(t.not_saved, why));
            render_status(StatusCode::CONFLICT, &p)
        }
    }
}
