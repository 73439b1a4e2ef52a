//! The log page (every role): the journal entries of the Mamori services, newest first,
//! filtered by service, least severity and text — for the office manager who wants to see
//! why a mail was deferred, and for the auditor.

use std::sync::Arc;

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use mamori_panel::i18n::fill;
use mamori_panel::journal::{self, Filter};
use mamori_panel::users::Role;
use serde::Deserialize;

use super::{Chrome, or_answer, render, require};
use crate::state::Panel;

/// One entry, as shown.
struct Row {
    time: String,
    service: String,
    level: &'static str,
    message: String,
}

#[derive(Template)]
#[template(path = "logs.html")]
struct LogsPage {
    c: Chrome,
    /// (name, selected) of each service.
    services: Vec<(&'static str, bool)>,
    /// (name, label, selected) of each level.
    levels: Vec<(&'static str, &'static str, bool)>,
    text: String,
    rows: Vec<Row>,
    shown: String,
    error: Option<String>,
}

/// `?service=smtpd&level=warning&q=…`.
#[derive(Deserialize, Default)]
pub(crate) struct LogsQuery {
    #[serde(default)]
    service: String,
    #[serde(default)]
    level: String,
    #[serde(default)]
    q: String,
}

/// Microseconds since 1970 as Japan's time, to the second.
fn jst(time_us: u64) -> String {
    mamori_panel::clock::jst_text(time_us / 1_000_000)
}

pub(crate) async fn page(
    State(panel): State<Arc<Panel>>,
    headers: HeaderMap,
    query: Result<Query<LogsQuery>, QueryRejection>,
) -> Response {
    let (_, s) = or_answer!(require(&panel, &headers, Role::Auditor));
    let q = query.map(|Query(q)| q).unwrap_or_default();
    let filter = Filter::from_query(&q.service, &q.level, &q.q);
    let c = Chrome::new(Some(&s), s.lang, |t| t.logs_title);
    let t = c.t;
    let (rows, shown, error) =
        match crate::journal::read(panel.journal_dir().as_deref(), &filter).await {
            Ok(output) => {
                let (entries, read) = journal::entries(&output, &filter);
                let shown = if entries.is_empty() {
                    t.logs_none.to_string()
                } else {
                    fill(&fill(t.logs_shown, read), entries.len())
                };
                let rows = entries
                    .into_iter()
                    .map(|e| Row {
                        time: jst(e.time_us),
                        service: e.service,
                        level: journal::level_name(e.priority),
                        message: e.message,
                    })
                    .collect();
                (rows, shown, None)
            }
            Err(e) => (Vec::new(), String::new(), Some(fill(t.logs_unavailable, e))),
        };
    let level_label = |name: &str| match name {
        "error" => t.level_error,
        "warning" => t.level_warning,
        "debug" => t.level_debug,
        _ => t.level_info,
    };
    let page = LogsPage {
        services: journal::UNITS
            .iter()
            .map(|(n, u)| (*n, filter.unit == Some(*u)))
            .collect(),
        levels: journal::LEVELS
            .iter()
            .map(|(n, p)| (*n, level_label(n), *p == filter.max_priority))
            .collect(),
        text: filter.text.clone(),
        rows,
        shown,
        error,
        c,
    };
    render(&page)
}

#[cfg(test)]
mod tests {
    #[test]
    fn journal_times_read_in_japan() {
        assert_eq!(super::jst(1_764_800_000_123_456), "2025-12-04 07:13:20");
    }
}
