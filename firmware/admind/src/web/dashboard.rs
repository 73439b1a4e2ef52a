//! The dashboard: each daemon's health, the mail waiting, the panel's certificate and the
//! firmware version.

use std::sync::Arc;
use std::time::{Duration, Instant};

use askama::Template;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use mamori_panel::users::Role;

use super::{Chrome, ask, or_answer, render, require};
use crate::state::{DashboardData, Panel, lock};

/// How long the daemons' answers are shown before they are asked again.
const FRESH_FOR: Duration = Duration::from_secs(1);

/// The daemons' health and the queue's length: asked at once, all together, at most once
/// a second (the answers are the same for every role that may see the dashboard).
async fn daemons(panel: &Panel, s: &mamori_panel::session::Session) -> DashboardData {
    if let Some((at, data)) = lock(&panel.dashboard_cache).as_ref()
        && at.elapsed() < FRESH_FOR
    {
        return data.clone();
    }
    let health = serde_json::json!({"op": "health"});
    let (settingsd, smtpd, firewalld, queue) = tokio::join!(
        ask(&panel.sockets.settings, s, health.clone()),
        ask(&panel.sockets.smtpd, s, health.clone()),
        ask(&panel.sockets.firewalld, s, health),
        ask(
            &panel.sockets.smtpd,
            s,
            serde_json::json!({"op": "queue_list"})
        ),
    );
    let data = DashboardData {
        health: vec![settingsd, smtpd, firewalld],
        queued: queue.ok().and_then(|q| q.as_array().map(Vec::len)),
    };
    *lock(&panel.dashboard_cache) = Some((Instant::now(), data.clone()));
    data
}

/// One daemon's row.
struct Row {
    daemon: &'static str,
    state: String,
    running: bool,
    version: String,
    settings_version: String,
    since: String,
    last_error: String,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    c: Chrome,
    rows: Vec<Row>,
    queue: String,
    fingerprint: String,
    expires: String,
    firmware: &'static str,
}

pub(crate) async fn page(State(panel): State<Arc<Panel>>, headers: HeaderMap) -> Response {
    let (_, s) = or_answer!(require(&panel, &headers, Role::Auditor));
    let c = Chrome::new(Some(&s), s.lang, |t| t.dashboard_title);
    let data = daemons(&panel, &s).await;
    let names = ["settingsd", "smtpd", "firewalld"];
    let rows = names
        .iter()
        .zip(data.health)
        .map(|(daemon, health)| match health {
            Ok(h) => Row {
                daemon,
                running: h["state"] == "running",
                state: match h["state"].as_str() {
                    Some("running") => c.t.state_running.to_string(),
                    Some("degraded") => c.t.state_degraded.to_string(),
                    other => other.unwrap_or("?").to_string(),
                },
                version: h["version"].as_str().unwrap_or("").to_string(),
                settings_version: h["settings_version"]
                    .as_u64()
                    .map_or_else(|| "-".into(), |v| v.to_string()),
                since: h["started"].as_str().unwrap_or("").to_string(),
                last_error: h["last_error"].as_str().unwrap_or("").to_string(),
            },
            Err(why) => Row {
                daemon,
                running: false,
                state: c.t.not_running.to_string(),
                version: String::new(),
                settings_version: "-".into(),
                since: String::new(),
                last_error: why,
            },
        })
        .collect();
    let queue = data.queued.map_or_else(|| "-".into(), |n| n.to_string());
    let cert = panel.cert.read().unwrap_or_else(|p| p.into_inner()).clone();
    render(&DashboardPage {
        c,
        rows,
        queue,
        fingerprint: cert.fingerprint,
        expires: cert.not_after,
        firmware: env!("CARGO_PKG_VERSION"),
    })
}
