//! The monthly report (every role): a month of mail and DLP in figures, what approvers
//! did with held mail, and the administrators' actions, from the audit logs — what a
//! P-mark or My Number audit asks the office to show. A plain page that prints well.

use std::collections::BTreeMap;
use std::sync::Arc;

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use mamori_panel::i18n::fill;
use mamori_panel::users::Role;
use serde::Deserialize;
use serde_json::Value;

use super::{Chrome, ask, or_answer, render, require};
use crate::state::Panel;

/// Japan's offset from UTC: the office's months.
const OFFSET_MINUTES: i64 = 540;

#[derive(Template)]
#[template(path = "report.html")]
struct ReportPage {
    c: Chrome,
    heading: String,
    previous: String,
    next: String,
    /// (label, count) rows of the mail table.
    mail: Vec<(String, u64)>,
    findings: Vec<(String, u64)>,
    held: Vec<(String, u64)>,
    actions: Vec<(String, u64)>,
    settings_versions: u64,
    error: Option<String>,
}

/// `?month=2026-12`.
#[derive(Deserialize)]
pub(crate) struct MonthQuery {
    month: String,
}

/// (year, month) of `text` (`2026-12`), if it is one.
fn parse_month(text: &str) -> Option<(i64, u32)> {
    let (y, m) = text.split_once('-')?;
    let (y, m) = (y.parse::<i64>().ok()?, m.parse::<u32>().ok()?);
    ((1970..=9999).contains(&y) && (1..=12).contains(&m)).then_some((y, m))
}

fn shift(y: i64, m: u32, by: i32) -> String {
    let total = y * 12 + i64::from(m) - 1 + i64::from(by);
    format!(
        "{:04}-{:02}",
        total.div_euclid(12),
        total.rem_euclid(12) + 1
    )
}

fn rows(v: &Value) -> Vec<(String, u64)> {
    v.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, n)| (k.clone(), n.as_u64().unwrap_or(0)))
                .collect()
        })
        .unwrap_or_default()
}

pub(crate) async fn page(
    State(panel): State<Arc<Panel>>,
    headers: HeaderMap,
    query: Result<Query<MonthQuery>, QueryRejection>,
) -> Response {
    let (_, s) = or_answer!(require(&panel, &headers, Role::Auditor));
    let c = Chrome::new(Some(&s), s.lang, |t| t.report_title);
    let t = c.t;
    let now = mamori_core::clock::unix_now() + OFFSET_MINUTES as u64 * 60;
    let (cy, cm, _) = mamori_core::clock::civil_from_days((now / 86_400) as i64);
    let (y, m) = query
        .ok()
        .and_then(|Query(q)| parse_month(&q.month))
        .unwrap_or((cy, cm));
    let (from, to) = mamori_core::clock::month_bounds(y, m, OFFSET_MINUTES).unwrap_or((0, 0));
    let history = ask(
        &panel.sockets.settings,
        &s,
        serde_json::json!({"op": "history"}),
    )
    .await;
    let (relay, counted) = counts(&panel, &s, (y, m), (from, to)).await;
    let error = relay.as_ref().err().cloned();
    let relay = relay.unwrap_or_default();
    let n = |k: &str| relay[k].as_u64().unwrap_or(0);
    let by_action = &relay["by_action"];
    let action = |a: &str| by_action[a].as_u64().unwrap_or(0);
    let mail = vec![
        (t.report_inspected.to_string(), n("inspected")),
        (
            t.report_passed.to_string(),
            action("pass") + action("log") + action("tag") + action("notify"),
        ),
        (
            t.report_held.to_string(),
            action("hold") + action("encrypt"),
        ),
        (
            t.report_rejected.to_string(),
            action("reject") + action("discard"),
        ),
        (t.report_not_fully_read.to_string(), n("not_fully_read")),
    ];
    let held = vec![
        (t.report_released.to_string(), n("released")),
        (t.report_refused.to_string(), n("refused")),
        (t.report_deleted.to_string(), n("deleted")),
        (t.report_erased.to_string(), n("erased")),
        (t.report_content_views.to_string(), n("content_views")),
    ];
    let findings = rows(&relay["findings"])
        .into_iter()
        .map(|(k, v)| (super::dlp::shown(t, &k), v))
        .collect();
    // The panel's own chain: who changed what in the panel.
    let mut panel_actions: BTreeMap<String, u64> = BTreeMap::new();
    panel_actions.extend(counted);
    for (op, count) in rows(&relay["admin_actions"]) {
        *panel_actions.entry(format!("smtpd {op}")).or_default() += count;
    }
    let settings_versions = history
        .ok()
        .and_then(|h| h.as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|v| {
            v["time"]
                .as_str()
                .and_then(mamori_core::clock::parse_rfc3339_utc)
        })
        .filter(|at| (from..to).contains(at))
        .count() as u64;
    render(&ReportPage {
        heading: fill(t.report_heading, format!("{y:04}-{m:02}")),
        previous: shift(y, m, -1),
        next: shift(y, m, 1),
        mail,
        findings,
        held,
        actions: panel_actions.into_iter().collect(),
        settings_versions,
        error,
        c,
    })
}

/// The relay's figures and the panel's own for a month: counted one report at a time and
/// reused for a minute (the audit chains are read whole).
async fn counts(
    panel: &Panel,
    s: &mamori_panel::session::Session,
    month: (i64, u32),
    (from, to): (u64, u64),
) -> (Result<Value, String>, BTreeMap<String, u64>) {
    let mut cache = panel.report_cache.lock().await;
    if let Some((key, at, relay, counted)) = cache.as_ref()
        && *key == month
        && at.elapsed() < std::time::Duration::from_secs(60)
    {
        return (Ok(relay.clone()), counted.clone());
    }
    let request = serde_json::json!({"op": "monthly_report", "year": month.0, "month": month.1, "offset_minutes": OFFSET_MINUTES});
    let relay = ask(&panel.sockets.smtpd, s, request).await;
    let dir = panel.audit.dir().to_path_buf();
    let counted = tokio::task::spawn_blocking(move || {
        let mut counts: BTreeMap<String, u64> = BTreeMap::new();
        let _ = mamori_core::audit::for_each_between(&dir, from, to, |r| {
            if let Some(e) = r["event"].as_str().filter(|e| e.starts_with("panel_")) {
                *counts.entry(e.to_string()).or_default() += 1;
            }
        });
        counts
    })
    .await
    .unwrap_or_default();
    if let Ok(r) = &relay {
        *cache = Some((month, std::time::Instant::now(), r.clone(), counted.clone()));
    }
    (relay, counted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_parse_and_step_across_years() {
        assert_eq!(parse_month("2026-12"), Some((2026, 12)));
        for bad in ["2026-13", "2026", "x-1", "2026-00", "../etc"] {
            assert_eq!(parse_month(bad), None, "{bad}");
        }
        assert_eq!(shift(2026, 12, 1), "2027-01");
        assert_eq!(shift(2026, 1, -1), "2025-12");
    }
}
