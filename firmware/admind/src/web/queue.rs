//! The mail queue: what waits for delivery, searched and filtered by state; holding and
//! releasing a message (approvers), deleting one and retrying all now (administrators).
//! The relay checks the same rights again and records each action with the person's name;
//! mail DLP holds is decided on the quarantine's pages, not here.

use std::collections::HashSet;
use std::sync::Arc;

use askama::Template;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use mamori_panel::i18n::{Texts, fill};
use mamori_panel::mail::{self, QueueState};
use mamori_panel::session::Session;
use mamori_panel::users::Role;
use serde::Deserialize;
use serde_json::Value;

use super::json::{strings, text};
use super::{Chrome, ask, checked, csrf_form, or_answer, render, render_status, require};
use crate::state::{Panel, lock};

/// One queued message.
struct Row {
    id: String,
    arrived: String,
    from: String,
    to: String,
    size: String,
    attempts: u64,
    next: String,
    state: String,
    /// DLP holds it: decided on the quarantine's page.
    quarantined: bool,
    held: bool,
    last_error: String,
}

#[derive(Template)]
#[template(path = "queue.html")]
struct QueuePage {
    c: Chrome,
    approver: bool,
    admin: bool,
    q: String,
    state: String,
    rows: Vec<Row>,
    total: usize,
    shown: String,
    done: Option<String>,
    error: Option<String>,
}

/// `?q=…&state=…&done=…`.
#[derive(Deserialize, Default)]
pub(crate) struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    done: String,
}

fn when(v: &Value, key: &str) -> String {
    match v[key].as_u64() {
        Some(0) | None => "—".into(),
        Some(t) => mamori_core::clock::rfc3339_utc(t),
    }
}

/// The rows of the relay's queue list that match the search and the state filter.
fn rows(
    t: &Texts,
    list: &[Value],
    quarantined: &HashSet<String>,
    q: &str,
    filter: Option<QueueState>,
) -> (Vec<Row>, usize) {
    let mut found = 0;
    let mut rows = Vec::new();
    for m in list {
        let id = text(m, "id");
        let from = text(m, "from");
        let pending = strings(&m["pending"]);
        let held = m["held"].as_str();
        let last_error = text(m, "last_error");
        let state = QueueState::of(
            m["active"].as_bool().unwrap_or(false),
            held.is_some(),
            m["attempts"].as_u64().unwrap_or(0),
            !last_error.is_empty(),
        );
        let mut fields = vec![id.as_str(), from.as_str()];
        fields.extend(pending.iter().map(String::as_str));
        if filter.is_some_and(|f| f != state) || !mail::matches(q, &fields) {
            continue;
        }
        found += 1;
        if rows.len() >= mail::MAX_ROWS {
            continue;
        }
        let in_quarantine = quarantined.contains(&id);
        rows.push(Row {
            arrived: when(m, "arrived"),
            from: if from.is_empty() { "<>".into() } else { from },
            to: pending.join(", "),
            size: mail::size(m["size"].as_u64().unwrap_or(0)),
            attempts: m["attempts"].as_u64().unwrap_or(0),
            next: when(m, "next_attempt"),
            state: match state {
                QueueState::Active => t.state_active.into(),
                QueueState::Held if in_quarantine => t.held_by_dlp.into(),
                QueueState::Held => format!("{} ({})", t.state_held, held.unwrap_or("")),
                QueueState::Waiting => t.state_waiting.into(),
                QueueState::Due => t.state_due.into(),
            },
            quarantined: in_quarantine,
            held: held.is_some(),
            last_error,
            id,
        });
    }
    (rows, found)
}

async fn page(panel: &Panel, s: &Session, q: &str, state: &str) -> QueuePage {
    let c = Chrome::new(Some(s), s.lang, |t| t.queue_title);
    let (list, held) = tokio::join!(
        ask(
            &panel.sockets.smtpd,
            s,
            serde_json::json!({"op": "queue_list"})
        ),
        ask(
            &panel.sockets.smtpd,
            s,
            serde_json::json!({"op": "quarantine_list"})
        ),
    );
    let quarantined: HashSet<String> = held
        .ok()
        .and_then(|h| h.as_array().cloned())
        .unwrap_or_default()
        .iter()
        .map(|m| text(m, "id"))
        .collect();
    let filter = QueueState::parse(state);
    let (rows, total, error) = match list {
        Ok(list) => {
            let list = list.as_array().cloned().unwrap_or_default();
            let (rows, total) = rows(c.t, &list, &quarantined, q, filter);
            (rows, total, None)
        }
        Err(why) => (Vec::new(), 0, Some(why)),
    };
    QueuePage {
        approver: s.role >= Role::Approver,
        admin: s.role == Role::Administrator,
        q: q.to_string(),
        state: filter.map_or("all", QueueState::code).to_string(),
        shown: fill(c.t.shown_of, format!("{} / {total}", rows.len())),
        rows,
        total,
        done: None,
        error,
        c,
    }
}

pub(crate) async fn list(
    State(panel): State<Arc<Panel>>,
    headers: HeaderMap,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Response {
    let (_, s) = or_answer!(require(&panel, &headers, Role::Auditor));
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let mut p = page(&panel, &s, &mail::clean_query(&query.q), &query.state).await;
    let t = p.c.t;
    // Only these fixed messages, naming a plain queue ID.
    p.done = match query.done.split_once(':') {
        Some(("hold", id)) if mail::is_queue_id(id) => Some(fill(t.queue_done_hold, id)),
        Some(("release", id)) if mail::is_queue_id(id) => Some(fill(t.queue_done_release, id)),
        Some(("delete", id)) if mail::is_queue_id(id) => Some(fill(t.queue_done_delete, id)),
        Some(("retry", n)) if n.parse::<u64>().is_ok() => Some(fill(t.queue_done_retry, n)),
        _ => None,
    };
    render(&p)
}

#[derive(Deserialize)]
pub(crate) struct ActForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    id: String,
    action: String,
}

pub(crate) async fn act(
    State(panel): State<Arc<Panel>>,
    headers: HeaderMap,
    form: Result<Form<ActForm>, FormRejection>,
) -> Response {
    let (_, s) = or_answer!(require(&panel, &headers, Role::Approver));
    let f = or_answer!(checked(&s, form));
    let t = s.lang.texts();
    let (op, needs) = match f.action.as_str() {
        "hold" => ("queue_hold", Role::Approver),
        "release" => ("queue_release", Role::Approver),
        "delete" => ("queue_delete", Role::Administrator),
        _ => return super::message(StatusCode::BAD_REQUEST, s.lang, t.bad_request),
    };
    if s.role < needs {
        return super::message(StatusCode::FORBIDDEN, s.lang, t.forbidden);
    }
    if !mail::is_queue_id(&f.id) {
        return super::message(StatusCode::BAD_REQUEST, s.lang, t.bad_request);
    }
    let answer = ask(
        &panel.sockets.smtpd,
        &s,
        serde_json::json!({"op": op, "id": f.id}),
    )
    .await;
    done_or_error(&panel, &s, answer, &format!("{}:{}", f.action, f.id)).await
}

#[derive(Deserialize)]
pub(crate) struct RetryForm {
    #[serde(rename = "_csrf")]
    csrf: String,
}

pub(crate) async fn retry(
    State(panel): State<Arc<Panel>>,
    headers: HeaderMap,
    form: Result<Form<RetryForm>, FormRejection>,
) -> Response {
    let (_, s) = or_answer!(require(&panel, &headers, Role::Administrator));
    or_answer!(checked(&s, form));
    let answer = ask(
        &panel.sockets.smtpd,
        &s,
        serde_json::json!({"op": "queue_retry"}),
    )
    .await;
    let n = answer
        .as_ref()
        .ok()
        .and_then(|d| d["scheduled"].as_u64())
        .unwrap_or(0);
    done_or_error(&panel, &s, answer, &format!("retry:{n}")).await
}

/// After an action: back to the list with its message, or the list with the relay's
/// refusal next to it.
async fn done_or_error(
    panel: &Panel,
    s: &Session,
    answer: Result<Value, String>,
    done: &str,
) -> Response {
    match answer {
        Ok(_) => {
            *lock(&panel.dashboard_cache) = None;
            Redirect::to(&format!("/mail/queue?done={done}")).into_response()
        }
        Err(why) => {
            let mut p = page(panel, s, "", "all").await;
            p.error = Some(fill(p.c.t.action_failed, why));
            render_status(StatusCode::CONFLICT, &p)
        }
    }
}

csrf_form!(ActForm, RetryForm);

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, from: &str, to: &str, held: Option<&str>, attempts: u64) -> Value {
        serde_json::json!({
            "id": id, "from": from, "pending": [to], "size": 2048, "arrived": 1_700_000_000u64,
            "attempts": attempts, "next_attempt": 0, "held": held, "active": false,
            "last_error": null,
        })
    }

    #[test]
    fn rows_follow_the_search_and_the_state_and_mark_dlp_holds() {
        let t = &mamori_panel::i18n::EN;
        let list = vec![
            entry("A1", "tanaka@office.test", "x@client.test", None, 2),
            entry(
                "B2",
                "sato@office.test",
                "y@client.test",
                Some("by admin"),
                0,
            ),
            entry("C3", "sato@office.test", "z@other.test", Some("dlp"), 0),
            entry("D4", "", "tanaka@office.test", None, 0),
        ];
        let quarantined: HashSet<String> = ["C3".to_string()].into();
        let ids = |rows: &[Row]| rows.iter().map(|r| r.id.clone()).collect::<Vec<_>>();
        let (all, n) = rows(t, &list, &quarantined, "", None);
        assert_eq!(
            (ids(&all), n),
            (
                vec!["A1", "B2", "C3", "D4"]
                    .into_iter()
                    .map(String::from)
                    .collect(),
                4
            )
        );
        let (held, _) = rows(t, &list, &quarantined, "", Some(QueueState::Held));
        assert_eq!(ids(&held), ["B2", "C3"]);
        assert!(held[1].quarantined && held[1].state == t.held_by_dlp);
        assert!(held[0].state.contains("by admin"));
        let (found, _) = rows(t, &list, &quarantined, "TANAKA", None);
        assert_eq!(ids(&found), ["A1", "D4"]);
        let (waiting, _) = rows(t, &list, &quarantined, "tanaka", Some(QueueState::Waiting));
        assert_eq!(ids(&waiting), ["A1"]);
        assert_eq!(
            all[3].from, "<>",
            "the null sender of a bounce is shown as such"
        );
        assert_eq!(all[0].size, "2.0 KB");
    }

    #[test]
    fn the_list_is_capped_but_counts_everything() {
        let t = &mamori_panel::i18n::EN;
        let list: Vec<Value> = (0..mail::MAX_ROWS + 20)
            .map(|i| entry(&format!("M{i}"), "a@b.test", "c@d.test", None, 0))
            .collect();
        let (shown, total) = rows(t, &list, &HashSet::new(), "", None);
        assert_eq!((shown.len(), total), (mail::MAX_ROWS, mail::MAX_ROWS + 20));
    }
}
