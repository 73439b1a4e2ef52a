//! The quarantine: mail a DLP rule held, with why (the rule, its decision, the findings
//! masked, what could not be read). Every role sees that much; approvers decide — approve
//! (delivered once: of two people approving at once, one wins), refuse (not delivered, the
//! sender is told) or delete — and may read the content, each reading recorded in the
//! relay's audit log with their name before the content is sent.

use std::sync::Arc;

use askama::Template;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Extension, Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use mamori_panel::i18n::{Texts, fill};
use mamori_panel::mail;
use mamori_panel::session::Session;
use mamori_panel::users::Role;
use serde::Deserialize;
use serde_json::Value;

use super::json::{strings, text};
use super::{Chrome, ask, checked, csrf_form, or_answer, render, render_status, require};
use crate::state::{Panel, lock};

/// One held message in the list.
struct Row {
    id: String,
    arrived: String,
    from: String,
    to: String,
    size: String,
    rule: String,
    findings: u64,
    problems: u64,
}

#[derive(Template)]
#[template(path = "quarantine.html")]
struct ListPage {
    c: Chrome,
    /// For administrators: the retention in days (0: kept until decided).
    retention_days: Option<u64>,
    retention_error: Option<String>,
    /// The password is asked again for sensitive changes.
    ask_password: bool,
    q: String,
    rows: Vec<Row>,
    total: usize,
    shown: String,
    done: Option<String>,
    error: Option<String>,
}

/// The rows of the relay's quarantine list that match the search.
fn rows(list: &[Value], q: &str) -> (Vec<Row>, usize) {
    let mut found = 0;
    let mut rows = Vec::new();
    for m in list {
        let (id, from, rule) = (text(m, "id"), text(m, "from"), text(m, "rule"));
        let to = strings(&m["recipients"]);
        let mut fields = vec![id.as_str(), from.as_str(), rule.as_str()];
        fields.extend(to.iter().map(String::as_str));
        if !mail::matches(q, &fields) {
            continue;
        }
        found += 1;
        if rows.len() >= mail::MAX_ROWS {
            continue;
        }
        rows.push(Row {
            arrived: mamori_core::clock::rfc3339_utc(m["arrived"].as_u64().unwrap_or(0)),
            from,
            to: to.join(", "),
            size: mail::size(m["size"].as_u64().unwrap_or(0)),
            rule,
            findings: m["findings"].as_u64().unwrap_or(0),
            problems: m["problems"].as_u64().unwrap_or(0),
            id,
        });
    }
    (rows, found)
}

async fn list_page(panel: &Panel, s: &Session, q: &str) -> ListPage {
    let c = Chrome::new(Some(s), s.lang, |t| t.quarantine_title);
    let answer = ask(
        &panel.sockets.smtpd,
        s,
        serde_json::json!({"op": "quarantine_list"}),
    )
    .await;
    let (rows, total, error) = match answer {
        Ok(list) => {
            let (rows, total) = rows(list.as_array().map(Vec::as_slice).unwrap_or_default(), q);
            (rows, total, None)
        }
        Err(why) => (Vec::new(), 0, Some(why)),
    };
    let retention_days = if s.role == Role::Administrator {
        super::apply::relay_settings(panel, s)
            .await
            .ok()
            .map(|smtp| super::json::whole_days(&smtp["quarantine_retention"]))
    } else {
        None
    };
    ListPage {
        retention_days,
        retention_error: None,
        ask_password: !s.recently_authenticated(mamori_core::clock::unix_now()),
        q: q.to_string(),
        shown: fill(c.t.shown_of, format!("{} / {total}", rows.len())),
        rows,
        total,
        done: None,
        error,
        c,
    }
}

#[derive(Deserialize)]
pub(crate) struct RetentionForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    days: String,
    #[serde(default)]
    current: String,
}

/// How long held mail is kept before it is erased unsent (administrators).
pub(crate) async fn retention(
    State(panel): State<Arc<Panel>>,
    Extension(peer): Extension<super::Peer>,
    headers: HeaderMap,
    form: Result<Form<RetentionForm>, FormRejection>,
) -> Response {
    let (id, s) = or_answer!(require(&panel, &headers, Role::Administrator));
    let f = or_answer!(checked(&s, form));
    let mut p = list_page(&panel, &s, "").await;
    let t = p.c.t;
    let before = p.retention_days.unwrap_or(0);
    let Some(days) = f
        .days
        .trim()
        .parse::<u64>()
        .ok()
        .filter(|d| *d == 0 || (1..=3650).contains(d))
    else {
        p.retention_error = Some(t.retention_bad.into());
        return render_status(StatusCode::BAD_REQUEST, &p);
    };
    // Keeping held mail for ever, or erasing it sooner (at the next look), turns a
    // protection off or destroys mail: the password again.
    let weaker = (days == 0 && before != 0) || (days != 0 && (before == 0 || days < before));
    if weaker
        && let Err(why) = super::reauthenticate(
            &panel,
            &id,
            &s,
            &f.current,
            super::source(&peer),
            "held-mail retention",
            false,
        )
        .await
    {
        p.retention_error = Some(why);
        return render_status(StatusCode::FORBIDDEN, &p);
    }
    let value = super::json::days_setting(days);
    let set = vec![(
        "smtp.quarantine_retention".to_string(),
        Value::String(value.clone()),
    )];
    let result = super::apply::audited_change(
        &panel,
        &s,
        super::source(&peer),
        ("panel_quarantine_retention", &value),
        set,
        Vec::new(),
    )
    .await;
    let at: super::apply::ReasonAt<ListPage> = |p| &mut p.retention_error;
    super::apply::answer(result, "/mail/quarantine?done=retention:0", t, p, (at, at))
}

/// `?q=…&done=…`.
#[derive(Deserialize, Default)]
pub(crate) struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    done: String,
}

pub(crate) async fn list(
    State(panel): State<Arc<Panel>>,
    headers: HeaderMap,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Response {
    let (_, s) = or_answer!(require(&panel, &headers, Role::Auditor));
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let mut p = list_page(&panel, &s, &mail::clean_query(&query.q)).await;
    let t = p.c.t;
    p.done = match query.done.split_once(':') {
        Some(("release", id)) if mail::is_queue_id(id) => Some(fill(t.quarantine_done_release, id)),
        Some(("reject", id)) if mail::is_queue_id(id) => Some(fill(t.quarantine_done_reject, id)),
        Some(("delete", id)) if mail::is_queue_id(id) => Some(fill(t.quarantine_done_delete, id)),
        Some(("retention", _)) => Some(t.retention_saved.into()),
        _ => None,
    };
    render(&p)
}

/// One finding, masked by the relay.
struct FindingRow {
    kind: String,
    confidence: String,
    place: String,
    excerpt: String,
}

#[derive(Template)]
#[template(path = "quarantine_show.html")]
struct ShowPage {
    c: Chrome,
    approver: bool,
    id: String,
    heading: String,
    from: String,
    to: Vec<String>,
    arrived: String,
    size: String,
    held: String,
    rule: String,
    explanation: Vec<String>,
    findings: Vec<FindingRow>,
    more_findings: Option<String>,
    problems: Vec<String>,
    error: Option<String>,
}

/// The page of one held message from the relay's envelope; `None` if DLP does not hold it.
fn show_page(t: &'static Texts, c: Chrome, s: &Session, env: &Value) -> Option<ShowPage> {
    let dlp = &env["dlp"];
    let held = env["held"].as_str()?;
    if !dlp.is_object() {
        return None;
    }
    let id = text(env, "id");
    let findings: Vec<FindingRow> = dlp["findings"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|f| FindingRow {
            kind: super::dlp::shown(t, &mamori_panel::dlp::detector_name(&f["detector"])),
            confidence: super::dlp::shown(t, &text(f, "confidence")),
            place: format!(
                "{} ({})",
                location(&f["location"]),
                fill(t.line_no, f["line"].as_u64().unwrap_or(0))
            ),
            excerpt: text(f, "masked"),
        })
        .collect();
    let counted: u64 = dlp["totals"]["findings"]
        .as_array()
        .map(|a| a.iter().filter_map(|c| c["count"].as_u64()).sum())
        .unwrap_or(0);
    let listed = findings.len() as u64;
    Some(ShowPage {
        approver: s.role >= Role::Approver,
        heading: fill(t.quarantine_message_title, &id),
        from: text(env, "mail_from"),
        to: env["recipients"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter(|r| {
                r["status"]["state"]
                    .as_str()
                    .is_none_or(|st| st == "pending")
            })
            .map(|r| text(r, "address"))
            .collect(),
        arrived: mamori_core::clock::rfc3339_utc(env["arrived"].as_u64().unwrap_or(0)),
        size: mail::size(env["size"].as_u64().unwrap_or(0)),
        held: held.to_string(),
        rule: text(dlp, "rule"),
        explanation: strings(&dlp["explanation"]),
        more_findings: (counted > listed).then(|| format!("+{}", counted - listed)),
        findings,
        problems: dlp["problems"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|p| {
                format!(
                    "{} — {}: {}",
                    location(&p["location"]),
                    text(p, "kind"),
                    text(p, "detail")
                )
            })
            .collect(),
        error: None,
        id,
        c,
    })
}

/// A location as the relay writes it (`body 1 › attachment 2 "a.zip"`).
fn location(v: &Value) -> String {
    let steps = strings(v);
    if steps.is_empty() {
        "(message)".into()
    } else {
        steps.join(" › ")
    }
}

/// The held message `id`'s page, or the answer instead (not found, not held, relay down).
async fn held_message(panel: &Panel, s: &Session, id: &str) -> Result<ShowPage, Box<Response>> {
    let t = s.lang.texts();
    if !mail::is_queue_id(id) {
        return Err(Box::new(super::message(
            StatusCode::NOT_FOUND,
            s.lang,
            t.not_in_quarantine,
        )));
    }
    let env = ask(
        &panel.sockets.smtpd,
        s,
        serde_json::json!({"op": "queue_show", "id": id}),
    )
    .await;
    let c = Chrome::new(Some(s), s.lang, |t| t.quarantine_title);
    match env {
        Ok(env) => show_page(t, c, s, &env).ok_or_else(|| {
            Box::new(super::message(
                StatusCode::NOT_FOUND,
                s.lang,
                t.not_in_quarantine,
            ))
        }),
        Err(_) => Err(Box::new(super::message(
            StatusCode::NOT_FOUND,
            s.lang,
            t.not_in_quarantine,
        ))),
    }
}

pub(crate) async fn show(
    State(panel): State<Arc<Panel>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let (_, s) = or_answer!(require(&panel, &headers, Role::Auditor));
    let p = or_answer!(held_message(&panel, &s, &id).await);
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
    let op = match f.action.as_str() {
        "release" => "quarantine_release",
        "reject" => "quarantine_reject",
        "delete" => "quarantine_delete",
        _ => return super::message(StatusCode::BAD_REQUEST, s.lang, t.bad_request),
    };
    if !mail::is_queue_id(&f.id) {
        return super::message(StatusCode::BAD_REQUEST, s.lang, t.bad_request);
    }
    let answer = ask(
        &panel.sockets.smtpd,
        &s,
        serde_json::json!({"op": op, "id": f.id}),
    )
    .await;
    match answer {
        Ok(_) => {
            *lock(&panel.dashboard_cache) = None;
            Redirect::to(&format!("/mail/quarantine?done={}:{}", f.action, f.id)).into_response()
        }
        Err(why) => {
            // Decided already (by someone else, or a second click): say so plainly.
            let mut p = list_page(&panel, &s, "").await;
            p.error = Some(if why.contains("conflict") || why.contains("not_found") {
                t.not_in_quarantine.to_string()
            } else {
                fill(t.action_failed, why)
            });
            render_status(StatusCode::CONFLICT, &p)
        }
    }
}

/// One piece of the content.
struct PieceRow {
    location: String,
    kind: String,
    text: String,
    cut: bool,
}

#[derive(Template)]
#[template(path = "quarantine_content.html")]
struct ContentPage {
    c: Chrome,
    id: String,
    heading: String,
    pieces: Vec<PieceRow>,
    cut: bool,
    problems: Vec<String>,
}

#[derive(Deserialize)]
pub(crate) struct ContentForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    id: String,
}

/// The content of a held message: a POST (it is recorded, and must not be fetched ahead
/// by a browser or follow a link from elsewhere).
pub(crate) async fn content(
    State(panel): State<Arc<Panel>>,
    headers: HeaderMap,
    form: Result<Form<ContentForm>, FormRejection>,
) -> Response {
    let (_, s) = or_answer!(require(&panel, &headers, Role::Approver));
    let f = or_answer!(checked(&s, form));
    let t = s.lang.texts();
    if !mail::is_queue_id(&f.id) {
        return super::message(StatusCode::BAD_REQUEST, s.lang, t.bad_request);
    }
    let answer = ask(
        &panel.sockets.smtpd,
        &s,
        serde_json::json!({"op": "quarantine_content", "id": f.id}),
    )
    .await;
    let view = match answer {
        Ok(v) => v,
        Err(_) => return super::message(StatusCode::NOT_FOUND, s.lang, t.not_in_quarantine),
    };
    let c = Chrome::new(Some(&s), s.lang, |t| t.quarantine_title);
    let p = ContentPage {
        heading: fill(t.content_title, &f.id),
        pieces: view["pieces"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|p| PieceRow {
                location: text(p, "location"),
                kind: text(p, "kind"),
                text: text(p, "text"),
                cut: p["cut"].as_bool().unwrap_or(false),
            })
            .collect(),
        cut: view["cut"].as_bool().unwrap_or(false),
        problems: strings(&view["problems"]),
        id: f.id,
        c,
    };
    render(&p)
}

csrf_form!(ActForm, ContentForm, RetentionForm);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_reads_as_days() {
        let days = |t: &str| super::super::json::whole_days(&serde_json::json!(t));
        assert_eq!(days("30days"), 30);
        assert_eq!(days("30d"), 30);
        assert_eq!(days("0s"), 0);
        assert_eq!(days("7days 12h"), 7);
        assert_eq!(super::super::json::whole_days(&serde_json::json!(null)), 0);
        // What the settings write back for longer periods (months and years in it).
        for n in [60u64, 365, 3650] {
            let written = humantime::format_duration(std::time::Duration::from_secs(n * 86_400));
            assert_eq!(days(&written.to_string()), n, "{written}");
        }
    }

    #[test]
    fn the_search_finds_by_rule_sender_and_recipient() {
        let list = vec![
            serde_json::json!({"id": "A1", "from": "tanaka@office.test", "recipients": ["x@client.test"], "rule": "My Number sent outside", "findings": 1, "problems": 0, "size": 10, "arrived": 0}),
            serde_json::json!({"id": "B2", "from": "sato@office.test", "recipients": ["y@bank.test"], "rule": "Card numbers", "findings": 3, "problems": 1, "size": 10, "arrived": 0}),
        ];
        assert_eq!(rows(&list, "").1, 2);
        assert_eq!(rows(&list, "my number").0[0].id, "A1");
        assert_eq!(rows(&list, "bank").0[0].id, "B2");
        assert_eq!(rows(&list, "tanaka bank").1, 0);
    }

    #[test]
    fn only_mail_dlp_holds_has_a_page() {
        let t = &mamori_panel::i18n::EN;
        let s = Session {
            user: "sato".into(),
            role: Role::Auditor,
            lang: mamori_panel::i18n::Lang::En,
            csrf: String::new(),
            created: 0,
            last_seen: 0,
            authenticated_at: 0,
            reauth_secs: 300,
            source: String::new(),
        };
        let chrome = || Chrome::new(Some(&s), s.lang, |t| t.quarantine_title);
        let held_by_admin = serde_json::json!({"id": "A1", "held": "by admin", "recipients": []});
        assert!(show_page(t, chrome(), &s, &held_by_admin).is_none());
        let not_held = serde_json::json!({"id": "A1", "dlp": {"rule": "r"}, "recipients": []});
        assert!(show_page(t, chrome(), &s, &not_held).is_none());
        let env = serde_json::json!({
            "id": "A1", "mail_from": "tanaka@office.test", "held": "dlp", "size": 5000, "arrived": 0,
            "recipients": [{"address": "x@client.test", "status": {"state": "pending"}},
                           {"address": "done@client.test", "status": {"state": "delivered"}}],
            "dlp": {"rule": "My Number sent outside", "explanation": ["rule …: hold"],
                    "findings": [{"location": ["attachment 2 \"a.zip\"", "entry \"b.csv\""],
                                  "segment": "attachment", "detector": "my_number",
                                  "confidence": "high", "line": 3, "masked": "1234******01"}],
                    "problems": [], "totals": {"findings": [{"count": 4}]}},
        });
        let p = show_page(t, chrome(), &s, &env).unwrap();
        assert_eq!(p.to, ["x@client.test"]);
        assert_eq!(p.findings[0].excerpt, "1234******01");
        assert!(
            p.findings[0]
                .place
                .contains("attachment 2 \"a.zip\" › entry \"b.csv\"")
        );
        assert_eq!(p.more_findings.as_deref(), Some("+3"));
        assert!(!p.approver);
    }
}
