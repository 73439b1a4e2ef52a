//! The timed hold's confirmation page: the link in a sender's notice opens it without a
//! login (the link's token is the capability). Opening it changes nothing — a link scanner
//! or a mail program that fetches links ahead cannot cancel or send a mail — and only its
//! buttons (POST, same origin, the token again) act, through the relay's `timed_hold` op,
//! which records the end in its audit log before it takes effect and ends the hold once.
//! Japanese and English side by side: the visitor has no session with a language.

use std::sync::Arc;

use askama::Template;
use axum::extract::rejection::FormRejection;
use axum::extract::{Extension, Form, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use mamori_panel::i18n::{Lang, Texts};
use serde::Deserialize;

use super::{Chrome, Peer, capability, render_status};
use crate::state::Panel;

#[derive(Template)]
#[template(path = "hold.html")]
struct HoldPage {
    c: Chrome,
    ja: &'static Texts,
    en: &'static Texts,
    /// Japanese and English lines of the outcome, if any.
    message: Option<(String, String)>,
    ok: bool,
    waiting: bool,
    subject: String,
    recipients: String,
    until: String,
    action: String,
    /// The lines above the mail, the button that lets it go, the one that stops it, and
    /// that one's action (`cancel` for a sender, `reject` for an approver).
    intro: (&'static str, &'static str),
    go: (&'static str, &'static str),
    stop: (&'static str, &'static str),
    stop_action: &'static str,
}

impl HoldPage {
    fn new(id: &str, token: &str) -> Self {
        let (ja, en) = (Lang::Ja.texts(), Lang::En.texts());
        Self {
            c: Chrome::new(None, Lang::Ja, |t| t.hold_title),
            ja,
            en,
            message: None,
            ok: false,
            waiting: false,
            subject: String::new(),
            recipients: String::new(),
            until: String::new(),
            action: format!("/hold/{id}/{token}"),
            intro: (ja.hold_intro, en.hold_intro),
            go: (ja.hold_send, en.hold_send),
            stop: (ja.hold_cancel, en.hold_cancel),
            stop_action: "cancel",
        }
    }

    /// The words of the page for a hold of `kind` (the relay's `HoldKind` tag).
    fn for_kind(mut self, kind: &str) -> Self {
        let (ja, en) = (self.ja, self.en);
        match kind {
            "approval" => {
                self.intro = (ja.hold_approval_intro, en.hold_approval_intro);
                self.go = (ja.hold_approve, en.hold_approve);
                self.stop = (ja.hold_reject, en.hold_reject);
                self.stop_action = "reject";
            }
            "new_domain" => {
                self.intro = (ja.hold_new_domain_intro, en.hold_new_domain_intro);
            }
            _ => {}
        }
        self
    }

    fn with(mut self, ok: bool, text: fn(&Texts) -> &'static str) -> Self {
        self.ok = ok;
        self.message = Some((text(self.ja).to_owned(), text(self.en).to_owned()));
        self
    }
}

/// A queue ID and a token of the shapes the relay makes (anything else is not asked about).
fn well_formed(id: &str, token: &str) -> bool {
    (1..=32).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_alphanumeric())
        && token.len() == 64
        && token.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A source that opened too many links that open nothing waits (429) before it may try
/// again; the relay is not asked meanwhile.
fn waiting(panel: &Panel, peer: &Peer, id: &str) -> Option<Response> {
    let wait = capability::wait_of(panel, peer, id)?;
    let mut page = HoldPage::new(id, "");
    let (ja, en) = (page.ja, page.en);
    // The wait in seconds, in both languages.
    page.message = Some((
        mamori_panel::i18n::fill(ja.hold_wait, wait),
        mamori_panel::i18n::fill(en.hold_wait, wait),
    ));
    page.ok = false;
    Some(capability::too_many(&page, wait))
}

/// Counts a link that opened nothing against its source.
fn failed(panel: &Panel, peer: &Peer, id: &str) {
    capability::failed(panel, peer, id);
}

fn invalid(id: &str, token: &str) -> Response {
    let page = HoldPage::new(id, token).with(false, |t| t.hold_invalid);
    render_status(StatusCode::NOT_FOUND, &page)
}

pub(crate) async fn show(
    State(panel): State<Arc<Panel>>,
    Extension(peer): Extension<Peer>,
    Path((id, token)): Path<(String, String)>,
) -> Response {
    if let Some(wait) = waiting(&panel, &peer, &id) {
        return wait;
    }
    if !well_formed(&id, &token) {
        failed(&panel, &peer, &id);
        return invalid(&id, "");
    }
    let request = serde_json::json!({"op": "timed_hold", "id": id, "token": token});
    let data = match capability::ask_relay(&panel, request).await {
        Ok(d) => d,
        Err(e) => {
            tracing::info!(error = %e, "a timed-hold link was not taken");
            failed(&panel, &peer, &id);
            return invalid(&id, &token);
        }
    };
    let mut page =
        HoldPage::new(&id, &token).for_kind(data["kind"]["kind"].as_str().unwrap_or("timed"));
    if data["held"].as_bool() != Some(true) {
        return render_status(StatusCode::OK, &page.with(false, |t| t.hold_over));
    }
    page.waiting = true;
    page.subject = data["subject"].as_str().unwrap_or_default().to_string();
    page.recipients = super::json::strings(&data["recipients"]).join(", ");
    page.until = data["until"]
        .as_u64()
        .map(|u| format!("{} (JST)", japan_time(u)))
        .unwrap_or_default();
    render_status(StatusCode::OK, &page)
}

/// The button's form.
#[derive(Deserialize)]
pub(crate) struct HoldForm {
    action: String,
}

pub(crate) async fn act(
    State(panel): State<Arc<Panel>>,
    Extension(peer): Extension<Peer>,
    Path((id, token)): Path<(String, String)>,
    form: Result<Form<HoldForm>, FormRejection>,
) -> Response {
    if let Some(wait) = waiting(&panel, &peer, &id) {
        return wait;
    }
    if !well_formed(&id, &token) {
        failed(&panel, &peer, &id);
        return invalid(&id, "");
    }
    let Ok(Form(form)) = form else {
        return invalid(&id, &token);
    };
    let action = match form.action.as_str() {
        "send" => "send",
        "cancel" => "cancel",
        "reject" => "reject",
        _ => return invalid(&id, &token),
    };
    let request =
        serde_json::json!({"op": "timed_hold", "id": id, "token": token, "action": action});
    let data = match capability::ask_relay(&panel, request).await {
        Ok(d) => d,
        Err(e) => {
            tracing::info!(error = %e, "a timed-hold action was not taken");
            failed(&panel, &peer, &id);
            return invalid(&id, &token);
        }
    };
    let page = HoldPage::new(&id, &token);
    let page = match data["done"].as_str() {
        Some("send") => page.with(true, |t| t.hold_sent),
        Some("cancel") => page.with(true, |t| t.hold_cancelled),
        Some("reject") => page.with(true, |t| t.hold_rejected),
        _ => page.with(false, |t| t.hold_over),
    };
    render_status(StatusCode::OK, &page)
}

/// Unix seconds as a time in Japan (`2026-12-06 13:30`).
pub(super) use mamori_core::clock::japan_minutes as japan_time;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_ids_and_tokens_of_the_relay_s_shapes_are_asked_about() {
        let token = "a".repeat(64);
        assert!(well_formed("15JCNPCKAUT7CAJM", &token));
        assert!(!well_formed("../x", &token));
        assert!(!well_formed("15JCNPCKAUT7CAJM", "short"));
        assert!(!well_formed("15JCNPCKAUT7CAJM", &"g".repeat(64)));
        assert_eq!(japan_time(1_795_431_889), "2026-11-23 20:04");
    }
}
