//! Link mode's download links for the office's staff: every link the relay keeps, newest
//! first — its mail, its state, its files with their downloads and the last downloads.
//! Every role sees that much; approvers and administrators may revoke a link that still
//! gives (or could give) files. A revocation is recorded in the panel's audit log with
//! the person's name before the relay is asked, and the relay records it again in its own
//! (as the person, whom the panel names) before it takes effect.
//!
//! The view of one link ([`LinkView`]) is shared with the sender's page (`link_page.rs`).

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
use super::{
    Chrome, Peer, ask, checked, csrf_form, or_answer, render, render_status, require, source,
};
use crate::state::Panel;

/// The last downloads the list shows for each link (the sender's page shows all the relay
/// sends).
const LAST_SHOWN: usize = 3;

/// One file of a link.
pub(super) struct FileRow {
    pub name: String,
    pub size: String,
    /// `downloads / limit`.
    pub downloads: String,
}

/// One download, newest first.
pub(super) struct DownloadRow {
    /// When, in Japan's time.
    pub at: String,
    pub file: String,
    /// The client's address.
    pub from: String,
}

/// What a page shows of a link: the relay's summary (`links::summary`), read leniently.
pub(super) struct LinkView {
    pub id: String,
    pub subject: String,
    pub sender: String,
    pub recipients: String,
    /// The relay's state code: `open`, `expired`, `revoked`, `locked` or `used_up`.
    pub state: String,
    pub created: String,
    pub expires: String,
    pub files: Vec<FileRow>,
    pub downloads: Vec<DownloadRow>,
    /// When it was revoked, in Japan's time.
    pub revoked_at: Option<String>,
    /// Whether revoking it still changes something (it is neither revoked nor expired).
    pub revocable: bool,
}

impl LinkView {
    /// The last few downloads (for the list).
    pub fn last(&self) -> &[DownloadRow] {
        &self.downloads[..self.downloads.len().min(LAST_SHOWN)]
    }
}

/// Unix seconds of field `key` as Japan's time, empty when absent.
fn when(v: &Value, key: &str) -> String {
    v[key]
        .as_u64()
        .map(|u| format!("{} (JST)", super::hold::japan_time(u)))
        .unwrap_or_default()
}

/// The view of the relay's summary of a link.
pub(super) fn view(v: &Value) -> LinkView {
    let state = text(v, "state");
    let max = v["max_downloads"].as_u64().unwrap_or(0);
    LinkView {
        id: text(v, "id"),
        subject: text(v, "subject"),
        sender: text(v, "sender"),
        recipients: strings(&v["recipients"]).join(", "),
        created: when(v, "created"),
        expires: when(v, "expires"),
        files: super::json::list(&v["files"])
            .iter()
            .map(|f| FileRow {
                name: text(f, "name"),
                size: mail::size(f["size"].as_u64().unwrap_or(0)),
                downloads: format!("{} / {max}", f["downloads"].as_u64().unwrap_or(0)),
            })
            .collect(),
        downloads: super::json::list(&v["downloads"])
            .iter()
            .map(|d| DownloadRow {
                at: when(d, "at"),
                file: text(d, "file"),
                from: text(d, "from"),
            })
            .collect(),
        revoked_at: v["revoked"].is_object().then(|| when(&v["revoked"], "at")),
        revocable: matches!(state.as_str(), "open" | "used_up" | "locked"),
        state,
    }
}

/// A state code in words.
pub(super) fn state_words(t: &'static Texts, state: &str) -> &'static str {
    match state {
        "open" => t.link_state_open,
        "expired" => t.link_state_expired,
        "revoked" => t.link_state_revoked,
        "locked" => t.link_state_locked,
        "used_up" => t.link_state_used_up,
        _ => "?",
    }
}

/// A link id of the store's shape (32 lowercase hex digits): anything else is not sent to
/// the relay, nor echoed back.
pub(super) fn is_link_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// A sender's page secret of the shape the relay writes: 32 octets as 43 characters of
/// unpadded base64url.
pub(super) fn is_link_token(token: &str) -> bool {
    token.len() == 43
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// One link in the list, with its state in the page's language.
struct Row {
    link: LinkView,
    state: &'static str,
}

#[derive(Template)]
#[template(path = "links.html")]
struct ListPage {
    c: Chrome,
    /// The person may revoke links.
    approver: bool,
    q: String,
    rows: Vec<Row>,
    total: usize,
    shown: String,
    done: Option<String>,
    error: Option<String>,
}

/// The rows of the relay's list that match the search, and how many matched.
fn rows(t: &'static Texts, list: &[Value], q: &str) -> (Vec<Row>, usize) {
    let mut found = 0;
    let mut rows = Vec::new();
    for v in list {
        let link = view(v);
        let names: Vec<String> = link.files.iter().map(|f| f.name.clone()).collect();
        let mut fields = vec![
            link.id.as_str(),
            link.subject.as_str(),
            link.sender.as_str(),
            link.recipients.as_str(),
        ];
        fields.extend(names.iter().map(String::as_str));
        if !mail::matches(q, &fields) {
            continue;
        }
        found += 1;
        if rows.len() >= mail::MAX_ROWS {
            continue;
        }
        rows.push(Row {
            state: state_words(t, &link.state),
            link,
        });
    }
    (rows, found)
}

async fn list_page(panel: &Panel, s: &Session, q: &str) -> ListPage {
    let c = Chrome::new(Some(s), s.lang, |t| t.links_title);
    let t = c.t;
    let answer = ask(
        &panel.sockets.smtpd,
        s,
        serde_json::json!({"op": "link_list"}),
    )
    .await;
    let (rows, total, error) = match answer {
        Ok(list) => {
            let (rows, total) = rows(t, list.as_array().map(Vec::as_slice).unwrap_or_default(), q);
            (rows, total, None)
        }
        Err(why) => (Vec::new(), 0, Some(why)),
    };
    ListPage {
        approver: s.role >= Role::Approver,
        q: q.to_string(),
        shown: fill(t.shown_of, format!("{} / {total}", rows.len())),
        rows,
        total,
        done: None,
        error,
        c,
    }
}

/// `?q=…&done=…`.
#[derive(Deserialize, Default)]
pub(crate) struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    done: String,
}

/// The list (every role).
pub(crate) async fn list(
    State(panel): State<Arc<Panel>>,
    headers: HeaderMap,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Response {
    let (_, s) = or_answer!(require(&panel, &headers, Role::Auditor));
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let mut p = list_page(&panel, &s, &mail::clean_query(&query.q)).await;
    p.done = match query.done.split_once(':') {
        Some(("revoke", id)) if is_link_id(id) => Some(fill(p.c.t.links_done_revoke, id)),
        _ => None,
    };
    render(&p)
}

/// The revoke button's form.
#[derive(Deserialize)]
pub(crate) struct RevokeForm {
    #[serde(rename = "_csrf")]
    csrf: String,
}

csrf_form!(RevokeForm);

/// Revokes link `id` (approvers and administrators): the panel's audit record first, then
/// the relay's `link_revoke` as the person.
pub(crate) async fn revoke(
    State(panel): State<Arc<Panel>>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<RevokeForm>, FormRejection>,
) -> Response {
    let (_, s) = or_answer!(require(&panel, &headers, Role::Approver));
    or_answer!(checked(&s, form));
    let t = s.lang.texts();
    if !is_link_id(&id) {
        return super::message(StatusCode::BAD_REQUEST, s.lang, t.bad_request);
    }
    if let Err(e) = panel.audit(
        "panel_link_revoke",
        &s.user,
        source(&peer),
        serde_json::json!({"link": id}),
    ) {
        let mut p = list_page(&panel, &s, "").await;
        p.error = Some(fill(t.action_failed, e));
        return render_status(StatusCode::INTERNAL_SERVER_ERROR, &p);
    }
    let answer = ask(
        &panel.sockets.smtpd,
        &s,
        serde_json::json!({"op": "link_revoke", "id": id}),
    )
    .await;
    match answer {
        Ok(_) => Redirect::to(&format!("/mail/links?done=revoke:{id}")).into_response(),
        Err(why) => {
            // Revoked already (by someone else, the sender, or a second click), or gone:
            // said plainly.
            let mut p = list_page(&panel, &s, "").await;
            p.error = Some(
                if why.ends_with("(conflict)") || why.ends_with("(not_found)") {
                    t.links_gone.to_string()
                } else {
                    fill(t.action_failed, why)
                },
            );
            render_status(StatusCode::CONFLICT, &p)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary() -> Value {
        serde_json::json!({
            "id": "0123456789abcdef0123456789abcdef", "created": 1_795_431_889u64,
            "expires": 1_796_036_689u64, "state": "open", "erased": false, "queue_id": "Q1",
            "sender": "taro@office.test", "recipients": ["client@sink.test", "b@sink.test"],
            "subject": "お見積りの件", "max_downloads": 3, "password": false,
            "password_failures": 0,
            "files": [{"name": "見積書.pdf", "size": 2048, "downloads": 2},
                      {"name": "memo.txt", "size": 10, "downloads": 0}],
            "downloads": [{"at": 1_795_431_900u64, "file": "見積書.pdf", "from": "192.0.2.7"},
                          {"at": 1_795_431_890u64, "file": "見積書.pdf", "from": "192.0.2.8"},
                          {"at": 1_795_431_889u64, "file": "見積書.pdf", "from": "192.0.2.9"},
                          {"at": 1_795_431_889u64, "file": "見積書.pdf", "from": "192.0.2.9"}],
            "revoked": null,
        })
    }

    #[test]
    fn only_ids_and_tokens_of_the_store_s_shapes_are_asked_about() {
        assert!(is_link_id("0123456789abcdef0123456789abcdef"));
        assert!(
            !is_link_id("0123456789ABCDEF0123456789ABCDEF"),
            "upper case"
        );
        assert!(!is_link_id("0123456789abcdef0123456789abcde"), "short");
        assert!(!is_link_id("../../../../etc/passwd/0123456789"));
        assert!(!is_link_id(""));
        let token = "Ab-_".repeat(10) + "xyz";
        assert_eq!(token.len(), 43);
        assert!(is_link_token(&token));
        assert!(!is_link_token(&(token.clone() + "A")), "long");
        assert!(!is_link_token(&token[1..]), "short");
        assert!(!is_link_token(&token.replace('x', "+")), "not base64url");
        assert!(!is_link_token(&token.replace('x', "=")), "padding");
        assert!(!is_link_token(&"a".repeat(64)), "a hold token is not one");
    }

    #[test]
    fn the_summary_reads_as_the_pages_show_it() {
        let v = view(&summary());
        assert_eq!(v.recipients, "client@sink.test, b@sink.test");
        assert_eq!(v.expires, "2026-11-30 20:04 (JST)");
        assert_eq!(v.files[0].downloads, "2 / 3");
        assert_eq!(v.files[0].size, "2.0 KB");
        assert_eq!(v.downloads[0].from, "192.0.2.7");
        assert_eq!(v.last().len(), LAST_SHOWN);
        assert!(v.revocable && v.revoked_at.is_none());
        let mut revoked = summary();
        revoked["state"] = "revoked".into();
        revoked["revoked"] = serde_json::json!({"at": 1_795_431_889u64, "by": "sender"});
        let v = view(&revoked);
        assert!(!v.revocable);
        assert_eq!(v.revoked_at.as_deref(), Some("2026-11-23 20:04 (JST)"));
        for (state, revocable) in [("expired", false), ("locked", true), ("used_up", true)] {
            let mut s = summary();
            s["state"] = state.into();
            assert_eq!(view(&s).revocable, revocable, "{state}");
            assert_ne!(state_words(&mamori_panel::i18n::EN, state), "?");
        }
        // A summary missing everything still makes a page.
        let v = view(&serde_json::json!({}));
        assert!(v.files.is_empty() && v.last().is_empty() && !v.revocable);
    }

    #[test]
    fn the_search_finds_by_subject_sender_recipient_and_file() {
        let t = &mamori_panel::i18n::EN;
        let mut other = summary();
        other["id"] = "ffffffffffffffffffffffffffffffff".into();
        other["subject"] = "議事録".into();
        other["files"] = serde_json::json!([{"name": "minutes.docx", "size": 1, "downloads": 0}]);
        let list = [summary(), other];
        assert_eq!(rows(t, &list, "").1, 2);
        assert_eq!(rows(t, &list, "見積").0[0].link.id, list[0]["id"]);
        assert_eq!(rows(t, &list, "minutes").0[0].link.subject, "議事録");
        assert_eq!(rows(t, &list, "taro client").1, 2);
        assert_eq!(rows(t, &list, "nobody").1, 0);
        assert_eq!(rows(t, &list, "").0[0].state, t.link_state_open);
    }
}
