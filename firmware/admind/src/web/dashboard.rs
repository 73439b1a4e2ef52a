//! The dashboard: each daemon's health, mail sent, held and refused and DLP findings by hour
//! and by day (SVG charts from the relay's hourly counts, seeded from its audit log at start), the mail waiting, the firewall's
//! busiest rules and any change awaiting confirmation, the panel's certificate and the
//! firmware version.

use std::sync::Arc;
use std::time::{Duration, Instant};

use askama::Template;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use mamori_panel::i18n::{Lang, Texts};
use mamori_panel::users::Role;

use super::{Chrome, ask, or_answer, require};
use crate::state::{DashboardCharts, DashboardData, Panel, lock};

/// Japan's offset from UTC: the office's hours and days.
const OFFSET_MINUTES: i64 = 540;

/// How long the daemons' answers are shown before they are asked again.
const FRESH_FOR: Duration = Duration::from_secs(1);

/// The daemons' health and the queue's length: asked at once, all together, at most once
/// a second (the answers are the same for every role that may see the dashboard).
async fn daemons(panel: &Panel, s: &mamori_panel::session::Session) -> Arc<DashboardData> {
    if let Some((at, data)) = lock(&panel.dashboard_cache).as_ref()
        && at.elapsed() < FRESH_FOR
    {
        return Arc::clone(data);
    }
    let health = serde_json::json!({"op": "health"});
    let (settingsd, smtpd, firewalld, updated, queue, activity, firewall) = tokio::join!(
        ask(&panel.sockets.settings, s, health.clone()),
        ask(&panel.sockets.smtpd, s, health.clone()),
        ask(&panel.sockets.firewalld, s, health.clone()),
        ask(&panel.sockets.updated, s, health),
        ask(&panel.sockets.smtpd, s, serde_json::json!({"op": "stats"})),
        ask(
            &panel.sockets.smtpd,
            s,
            serde_json::json!({"op": "activity", "offset_minutes": OFFSET_MINUTES})
        ),
        ask(
            &panel.sockets.firewalld,
            s,
            serde_json::json!({"op": "status"})
        ),
    );
    let activity = activity.ok();
    let firewall = firewall.ok();
    let data = Arc::new(DashboardData {
        health: vec![settingsd, smtpd, firewalld, updated],
        queued: queue
            .ok()
            .and_then(|q| q["queued"].as_u64())
            .and_then(|n| usize::try_from(n).ok()),
        charts: [Lang::Ja, Lang::En].map(|lang| charts(lang.texts(), activity.as_ref())),
        firewall_rules: busiest_rules(firewall.as_ref()),
        firewall_pending: firewall.as_ref().is_some_and(|f| f["pending"].is_object()),
        bodies: Default::default(),
    });
    *lock(&panel.dashboard_cache) = Some((Instant::now(), Arc::clone(&data)));
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

/// The page: the reader's header around the content drawn once a refresh.
#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    c: Chrome,
    body: Arc<str>,
}

/// The page's content for one language and kind of reader.
#[derive(Template)]
#[template(path = "dashboard_body.html")]
struct DashboardBody<'a> {
    t: &'static Texts,
    /// The reader may act on the firewall (the link to a change awaiting confirmation).
    admin: bool,
    rows: Vec<Row>,
    /// The charts (SVG), when the relay answered.
    hours_chart: Option<&'a str>,
    days_chart: Option<&'a str>,
    /// Findings in the last 24 hours and 30 days.
    findings: Option<(u64, u64)>,
    /// Packets matched by the firewall's rules (the busiest first), and its probation.
    firewall_rules: &'a [(String, u64)],
    firewall_pending: bool,
    queue: String,
    fingerprint: &'a str,
    expires: &'a str,
    firmware: &'static str,
}

/// The charts of the relay's `activity` in the language of `t`.
fn charts(t: &Texts, activity: Option<&serde_json::Value>) -> DashboardCharts {
    let Some(a) = activity else {
        return DashboardCharts::default();
    };
    let legend = [t.report_passed, t.report_held, t.report_rejected];
    let series = |v: &serde_json::Value, label: &dyn Fn(u64) -> String| {
        let buckets = v.as_array().cloned().unwrap_or_default();
        let labels: Vec<String> = buckets
            .iter()
            .map(|b| label(b[0].as_u64().unwrap_or(0)))
            .collect();
        let stacks: Vec<[u64; 3]> = buckets
            .iter()
            .map(|b| {
                let n = |k: &str| b[1][k].as_u64().unwrap_or(0);
                [n("sent"), n("held"), n("rejected")]
            })
            .collect();
        let findings = buckets
            .iter()
            .map(|b| b[1]["findings"].as_u64().unwrap_or(0))
            .sum::<u64>();
        (labels, stacks, findings)
    };
    let local = |t: u64| t + OFFSET_MINUTES as u64 * 60;
    let (hl, hs, hf) = series(&a["hours"], &|t| format!("{:02}", local(t) % 86_400 / 3600));
    let (dl, ds, df) = series(&a["days"], &|t| {
        let (_, m, d) = mamori_core::clock::civil_from_days((local(t) / 86_400) as i64);
        format!("{m}/{d}")
    });
    DashboardCharts {
        hours: Some(mamori_panel::charts::stacked_bars(
            "chart-hours",
            t.chart_hours,
            &hl,
            &hs,
            legend,
            3,
        )),
        days: Some(mamori_panel::charts::stacked_bars(
            "chart-days",
            t.chart_days,
            &dl,
            &ds,
            legend,
            5,
        )),
        findings: Some((hf, df)),
    }
}

/// The firewall's ten busiest rules from its `status` (counters summed by rule name).
fn busiest_rules(status: Option<&serde_json::Value>) -> Vec<(String, u64)> {
    let mut rules: Vec<(String, u64)> = Vec::new();
    let counters = status
        .and_then(|f| f["counters"].as_array())
        .map(Vec::as_slice)
        .unwrap_or_default();
    for counter in counters {
        let name = counter["comment"].as_str().unwrap_or("").to_string();
        if name.is_empty() {
            continue;
        }
        let packets = counter["packets"].as_u64().unwrap_or(0);
        match rules.iter_mut().find(|(n, _)| *n == name) {
            Some((_, p)) => *p += packets,
            None => rules.push((name, packets)),
        }
    }
    rules.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    rules.truncate(10);
    rules
}

pub(crate) async fn page(State(panel): State<Arc<Panel>>, headers: HeaderMap) -> Response {
    let (_, s) = or_answer!(require(&panel, &headers, Role::Auditor));
    let c = Chrome::new(Some(&s), s.lang, |t| t.dashboard_title);
    let data = daemons(&panel, &s).await;
    let slot = usize::from(s.lang == Lang::En) * 2 + usize::from(c.admin);
    let body = data.bodies[slot]
        .get_or_init(|| {
            let cert = panel.cert.read().unwrap_or_else(|p| p.into_inner());
            body(&data, (&cert.fingerprint, &cert.not_after), s.lang, c.admin)
        })
        .clone();
    let page = DashboardPage { c, body };
    let mut html = String::with_capacity(DashboardPage::SIZE_HINT + page.body.len());
    match page.render_into(&mut html) {
        Ok(()) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "rendering the dashboard failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

/// The content of the page from the daemons' answers and the panel's certificate
/// (fingerprint, end), in `lang`, for an administrator or not.
fn body(data: &DashboardData, cert: (&str, &str), lang: Lang, admin: bool) -> Arc<str> {
    let t = lang.texts();
    let names = ["settingsd", "smtpd", "firewalld", "updated"];
    let rows = names
        .iter()
        .zip(&data.health)
        .map(|(daemon, health)| match health {
            Ok(h) => Row {
                daemon,
                running: h["state"] == "running",
                state: match h["state"].as_str() {
                    Some("running") => t.state_running.to_string(),
                    Some("degraded") => t.state_degraded.to_string(),
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
                state: t.not_running.to_string(),
                version: String::new(),
                settings_version: "-".into(),
                since: String::new(),
                last_error: why.clone(),
            },
        })
        .collect();
    let charts = &data.charts[usize::from(lang == Lang::En)];
    let content = DashboardBody {
        t,
        admin,
        rows,
        hours_chart: charts.hours.as_deref(),
        days_chart: charts.days.as_deref(),
        findings: charts.findings,
        firewall_rules: &data.firewall_rules,
        firewall_pending: data.firewall_pending,
        queue: data.queued.map_or_else(|| "-".into(), |n| n.to_string()),
        fingerprint: cert.0,
        expires: cert.1,
        firmware: env!("CARGO_PKG_VERSION"),
    };
    match content.render() {
        Ok(html) => html.into(),
        Err(e) => {
            tracing::error!(error = %e, "rendering the dashboard failed");
            Arc::from("")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(pending: bool) -> DashboardData {
        DashboardData {
            health: vec![
                Ok(serde_json::json!({"state": "running", "version": "1", "settings_version": 7})),
                Err("<no answer>".into()),
                Ok(serde_json::json!({"state": "degraded"})),
            ],
            queued: Some(3),
            firewall_rules: vec![("allow-<ssh>".into(), 42)],
            firewall_pending: pending,
            ..DashboardData::default()
        }
    }

    #[test]
    fn the_content_is_drawn_for_the_readers_language_and_role() {
        let d = data(true);
        let cert = ("AB:CD", "2027-01-01T00:00:00Z");
        let admin = body(&d, cert, Lang::Ja, true);
        let auditor = body(&d, cert, Lang::En, false);
        // A change awaiting confirmation is linked for administrators only.
        assert!(admin.contains("id=\"firewall-pending\""));
        assert!(!auditor.contains("firewall-pending"));
        assert!(admin.contains(Lang::Ja.texts().state_running));
        assert!(auditor.contains(Lang::En.texts().state_running));
        assert!(auditor.contains(Lang::En.texts().not_running));
        // The daemons' words are escaped, the certificate shown.
        assert!(auditor.contains("&#60;no answer&#62;"), "{auditor}");
        assert!(!auditor.contains("<no answer>"));
        assert!(admin.contains("allow-&#60;ssh&#62;"), "{admin}");
        assert!(admin.contains("<code>AB:CD</code>"));
        assert!(admin.contains("<dd id=\"queue\">3</dd>"));
        // The page frames the content with the reader's own header.
        assert!(!admin.contains("<html"));
    }
}
