//! The sender's page of a download link of link mode: the link in the sender's receipt
//! opens it without a login (the page's secret in the link is the capability). It shows
//! the mail, the link's state, its files with their downloads and the recent downloads.
//! Opening it changes nothing — a link scanner or a mail program that fetches links ahead
//! cannot revoke anything — and only its button (POST, same origin, the secret again)
//! revokes the link, through the relay's `link_manage`, which records the revocation in
//! its audit log before it takes effect. Like the timed hold's page (`hold.rs`): Japanese
//! and English side by side, a source that opens links that open nothing waits, an id or
//! a secret of the wrong shape is not sent to the relay, and the secret is never logged.

use std::sync::Arc;

use askama::Template;
use axum::extract::rejection::FormRejection;
use axum::extract::{Extension, Form, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use mamori_core::control::ErrorKind;
use mamori_panel::i18n::{Lang, Texts, fill};
use serde::Deserialize;

use super::capability::{self, Refused};
use super::links::{LinkView, is_link_id, is_link_token, state_words, view};
use super::{Chrome, Peer, render_status};
use crate::state::Panel;

#[derive(Template)]
#[template(path = "link.html")]
struct LinkPage {
    c: Chrome,
    ja: &'static Texts,
    en: &'static Texts,
    /// Japanese and English lines of the outcome, if any.
    message: Option<(String, String)>,
    ok: bool,
    /// The link, once the relay showed it.
    link: Option<LinkView>,
    /// Its state in Japanese and English.
    state: (&'static str, &'static str),
    /// When it was revoked, in Japanese and English.
    revoked: Option<(String, String)>,
    action: String,
}

impl LinkPage {
    fn new(id: &str, token: &str) -> Self {
        let (ja, en) = (Lang::Ja.texts(), Lang::En.texts());
        Self {
            c: Chrome::new(None, Lang::Ja, |t| t.link_title),
            ja,
            en,
            message: None,
            ok: false,
            link: None,
            state: ("", ""),
            revoked: None,
            action: format!("/links/{id}/{token}"),
        }
    }

    /// The page showing the relay's summary of the link.
    fn showing(mut self, summary: &serde_json::Value) -> Self {
        let link = view(summary);
        self.state = (
            state_words(self.ja, &link.state),
            state_words(self.en, &link.state),
        );
        self.revoked = link.revoked_at.as_ref().map(|at| {
            (
                fill(self.ja.link_revoked_at, at),
                fill(self.en.link_revoked_at, at),
            )
        });
        self.link = Some(link);
        self
    }

    fn with(mut self, ok: bool, text: fn(&Texts) -> &'static str) -> Self {
        self.ok = ok;
        self.message = Some((text(self.ja).to_string(), text(self.en).to_string()));
        self
    }
}

/// Asks the relay, as the panel itself (no person is logged in: the secret decides).
async fn ask(panel: &Panel, request: serde_json::Value) -> Result<serde_json::Value, Refused> {
    let answer = capability::ask_relay(panel, request).await;
    match &answer {
        Ok(_) => {}
        // The relay's message names no secret (it never answers one).
        Err(Refused::Kind(kind, message)) => {
            tracing::info!(%kind, %message, "a download link's page was not taken");
        }
        Err(Refused::Unreachable(e)) => {
            tracing::warn!(error = %e, "the relay cannot be asked about a download link");
        }
    }
    answer
}

/// The throttle's key for link `id` (bounded: the path segment is the visitor's).
fn key(id: &str) -> String {
    let id: String = id.chars().take(32).collect();
    format!("link {id}")
}

/// A source that opened too many links that open nothing waits (429) before it may try
/// again; the relay is not asked meanwhile. The timed hold's pages and these share the
/// throttle: guessing either costs the same time.
fn waiting(panel: &Panel, peer: &Peer, id: &str) -> Option<Response> {
    let wait = capability::wait_of(panel, peer, &key(id))?;
    let mut page = LinkPage::new("", "");
    let (ja, en) = (page.ja, page.en);
    page.message = Some((fill(ja.hold_wait, wait), fill(en.hold_wait, wait)));
    Some(capability::too_many(&page, wait))
}

/// Counts a link that opened nothing against its source.
fn failed(panel: &Panel, peer: &Peer, id: &str) {
    capability::failed(panel, peer, &key(id));
}

/// The answer to a link that opens nothing (nothing of it echoed).
fn invalid() -> Response {
    let page = LinkPage::new("", "").with(false, |t| t.link_invalid);
    render_status(StatusCode::NOT_FOUND, &page)
}

/// The answer when the relay could not say.
fn unavailable() -> Response {
    let page = LinkPage::new("", "").with(false, |t| t.link_unavailable);
    render_status(StatusCode::SERVICE_UNAVAILABLE, &page)
}

/// The answer to a refusal of the relay: a link it does not know (or a wrong secret,
/// which it answers alike) counts against the source.
fn refused(panel: &Panel, peer: &Peer, id: &str, why: Refused) -> Response {
    match why {
        Refused::Kind(ErrorKind::NotFound | ErrorKind::Invalid, _) => {
            failed(panel, peer, id);
            invalid()
        }
        Refused::Kind(
            ErrorKind::Conflict | ErrorKind::Busy | ErrorKind::Forbidden | ErrorKind::Internal,
            _,
        )
        | Refused::Unreachable(_) => unavailable(),
    }
}

/// The page (GET): changes nothing.
pub(crate) async fn show(
    State(panel): State<Arc<Panel>>,
    Extension(peer): Extension<Peer>,
    Path((id, token)): Path<(String, String)>,
) -> Response {
    if let Some(wait) = waiting(&panel, &peer, &id) {
        return wait;
    }
    if !is_link_id(&id) || !is_link_token(&token) {
        failed(&panel, &peer, &id);
        return invalid();
    }
    let request =
        serde_json::json!({"op": "link_manage", "id": id, "token": token, "revoke": false});
    match ask(&panel, request).await {
        Ok(summary) => render_status(
            StatusCode::OK,
            &LinkPage::new(&id, &token).showing(&summary),
        ),
        Err(why) => refused(&panel, &peer, &id, why),
    }
}

/// The button's form.
#[derive(Deserialize)]
pub(crate) struct LinkForm {
    action: String,
}

/// The button (POST from the panel's own origin, checked for every POST by the router's
/// guard): revokes the link.
pub(crate) async fn act(
    State(panel): State<Arc<Panel>>,
    Extension(peer): Extension<Peer>,
    Path((id, token)): Path<(String, String)>,
    form: Result<Form<LinkForm>, FormRejection>,
) -> Response {
    if let Some(wait) = waiting(&panel, &peer, &id) {
        return wait;
    }
    if !is_link_id(&id) || !is_link_token(&token) {
        failed(&panel, &peer, &id);
        return invalid();
    }
    let Ok(Form(form)) = form else {
        let page = LinkPage::new("", "").with(false, |t| t.bad_request);
        return render_status(StatusCode::BAD_REQUEST, &page);
    };
    if form.action != "revoke" {
        let page = LinkPage::new("", "").with(false, |t| t.bad_request);
        return render_status(StatusCode::BAD_REQUEST, &page);
    }
    let request =
        serde_json::json!({"op": "link_manage", "id": id, "token": token, "revoke": true});
    match ask(&panel, request).await {
        Ok(summary) => render_status(
            StatusCode::OK,
            &LinkPage::new(&id, &token)
                .showing(&summary)
                .with(true, |t| t.link_revoked_done),
        ),
        // Revoked already (a second press, or the office): the page as it is now.
        Err(Refused::Kind(ErrorKind::Conflict, _)) => {
            let request =
                serde_json::json!({"op": "link_manage", "id": id, "token": token, "revoke": false});
            match ask(&panel, request).await {
                Ok(summary) => render_status(
                    StatusCode::OK,
                    &LinkPage::new(&id, &token)
                        .showing(&summary)
                        .with(false, |t| t.link_revoked_already),
                ),
                Err(why) => refused(&panel, &peer, &id, why),
            }
        }
        Err(why) => refused(&panel, &peer, &id, why),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(state: &str) -> serde_json::Value {
        serde_json::json!({
            "id": "0123456789abcdef0123456789abcdef", "created": 1_795_431_889u64,
            "expires": 1_796_036_689u64, "state": state, "sender": "taro@office.test",
            "recipients": ["client@sink.test"], "subject": "お見積り <b>", "max_downloads": 3,
            "files": [{"name": "見積書.pdf", "size": 2048, "downloads": 1}],
            "downloads": [{"at": 1_795_431_900u64, "file": "見積書.pdf", "from": "192.0.2.7"}],
            "revoked": if state == "revoked" {
                serde_json::json!({"at": 1_795_431_889u64, "by": "sender"})
            } else {
                serde_json::Value::Null
            },
        })
    }

    fn page(state: &str) -> String {
        let token = "A".repeat(43);
        LinkPage::new("0123456789abcdef0123456789abcdef", &token)
            .showing(&summary(state))
            .render()
            .unwrap()
    }

    #[test]
    fn the_page_shows_the_link_in_both_languages_and_the_button_while_it_can_act() {
        let open = page("open");
        for words in [
            "見積書.pdf",
            "2.0 KB",
            "1 / 3",
            "192.0.2.7",
            "2026-11-30 20:04 (JST)",
            "client@sink.test",
            "有効(ダウンロードできます)",
            "Open (the files can be downloaded)",
            "お見積り &#60;b&#62;",
        ] {
            assert!(open.contains(words), "{words}: {open}");
        }
        assert!(open.contains(r#"id="link-revoke""#));
        assert!(open.contains(&format!(
            r#"action="/links/0123456789abcdef0123456789abcdef/{}""#,
            "A".repeat(43)
        )));
        for state in ["used_up", "locked"] {
            assert!(page(state).contains(r#"id="link-revoke""#), "{state}");
        }
        for state in ["revoked", "expired"] {
            assert!(!page(state).contains(r#"id="link-revoke""#), "{state}");
        }
        assert!(page("revoked").contains("無効にした日時: 2026-11-23 20:04 (JST)"));
    }

    #[test]
    fn the_throttle_key_is_bounded() {
        assert_eq!(key(&"x".repeat(10_000)).len(), "link ".len() + 32);
    }
}
