//! Logging in and out, and the language switch. A login always makes a new session id
//! (whatever cookie came with it), is throttled per address and per account, and costs
//! the same whether or not the name exists.

use std::sync::Arc;

use askama::Template;
use axum::extract::rejection::FormRejection;
use axum::extract::{Extension, Form, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use mamori_panel::i18n::{Lang, fill};
use serde::Deserialize;

use super::{Chrome, Peer, checked, csrf_form, or_answer, render, render_status, require, source};
use crate::state::{Panel, lock};

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    c: Chrome,
    notice: Option<String>,
    error: Option<String>,
    user: String,
}

/// `?ended=1` after a timeout, `?out=1` after logout.
#[derive(Deserialize, Default)]
pub(crate) struct LoginQuery {
    ended: Option<String>,
    out: Option<String>,
}

pub(crate) async fn form(
    State(panel): State<Arc<Panel>>,
    query: Result<Query<LoginQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    if panel.needs_setup() {
        return Redirect::to("/setup").into_response();
    }
    let t = Lang::Ja.texts();
    let q = query.map(|q| q.0).unwrap_or_default();
    let notice = if q.ended.is_some() {
        Some(t.session_ended.to_string())
    } else if q.out.is_some() {
        Some(t.logged_out.to_string())
    } else {
        None
    };
    render(&LoginPage {
        c: Chrome::new(None, Lang::Ja, |t| t.login_title),
        notice,
        error: None,
        user: String::new(),
    })
}

#[derive(Deserialize)]
pub(crate) struct LoginForm {
    user: String,
    password: String,
}

pub(crate) async fn submit(
    State(panel): State<Arc<Panel>>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Response {
    if panel.needs_setup() {
        return Redirect::to("/setup").into_response();
    }
    let t = Lang::Ja.texts();
    let Ok(Form(f)) = form else {
        return super::message(StatusCode::BAD_REQUEST, Lang::Ja, t.bad_request);
    };
    let user: String = f.user.trim().chars().take(64).collect();
    let from = source(&peer);
    let now = mamori_core::clock::unix_now();
    let page = |status: StatusCode, error: String, user: String| {
        render_status(
            status,
            &LoginPage {
                c: Chrome::new(None, Lang::Ja, |t| t.login_title),
                notice: None,
                error: Some(error),
                user,
            },
        )
    };
    if let Err(wait) = lock(&panel.throttle).check(from, &user, now) {
        return page(
            StatusCode::TOO_MANY_REQUESTS,
            fill(t.login_wait, wait),
            user,
        );
    }
    let users = lock(&panel.users).clone();
    let (name, password) = (user.clone(), f.password);
    let found = tokio::task::spawn_blocking(move || {
        users
            .authenticate(&name, &password)
            .map(|u| (u.role, u.lang))
    })
    .await
    .ok()
    .flatten();
    let Some((role, lang)) = found else {
        lock(&panel.throttle).failed(from, &user, now);
        panel.audit.record_or_log(
            "panel_login_failed",
            serde_json::json!({"user": user, "source": from.to_string()}),
        );
        return page(StatusCode::UNAUTHORIZED, t.login_failed.to_string(), user);
    };
    lock(&panel.throttle).succeeded(from, &user);
    // Whatever session the browser had ends: the login gets a new id.
    if let Some(old) = super::cookie(&headers) {
        lock(&panel.sessions).end(&old);
    }
    if let Err(e) = panel.audit(
        "panel_login",
        &user,
        from,
        serde_json::json!({"role": role}),
    ) {
        return super::message(StatusCode::INTERNAL_SERVER_ERROR, lang, &e.to_string());
    }
    let Some(id) = lock(&panel.sessions).start(&user, role, lang, &from.to_string(), now) else {
        return super::message(StatusCode::INTERNAL_SERVER_ERROR, lang, "no random source");
    };
    let mut r = Redirect::to("/dashboard").into_response();
    r.headers_mut()
        .insert(header::SET_COOKIE, super::set_cookie(&id));
    r
}

/// A form that carries only the CSRF token.
#[derive(Deserialize)]
pub(crate) struct TokenForm {
    #[serde(rename = "_csrf")]
    pub(crate) csrf: String,
}

pub(crate) async fn logout(
    State(panel): State<Arc<Panel>>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    form: Result<Form<TokenForm>, FormRejection>,
) -> Response {
    let (id, s) = or_answer!(require(
        &panel,
        &headers,
        mamori_panel::users::Role::Auditor
    ));
    or_answer!(checked(&s, form));
    panel.audit.record_or_log(
        "panel_logout",
        serde_json::json!({"by": s.user, "source": source(&peer).to_string()}),
    );
    lock(&panel.sessions).end(&id);
    let mut r = Redirect::to("/login?out=1").into_response();
    r.headers_mut()
        .insert(header::SET_COOKIE, super::clear_cookie());
    r
}

#[derive(Deserialize)]
pub(crate) struct LangForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    lang: String,
    #[serde(default)]
    back: String,
}

pub(crate) async fn switch_lang(
    State(panel): State<Arc<Panel>>,
    headers: HeaderMap,
    form: Result<Form<LangForm>, FormRejection>,
) -> Response {
    let (id, s) = or_answer!(require(
        &panel,
        &headers,
        mamori_panel::users::Role::Auditor
    ));
    let f = or_answer!(checked(&s, form));
    let Some(lang) = Lang::parse(&f.lang) else {
        return super::message(StatusCode::BAD_REQUEST, s.lang, s.lang.texts().bad_request);
    };
    lock(&panel.sessions).set_lang(&id, lang);
    let name = s.user.clone();
    let saved = panel.change_users(
        "panel_user_language",
        serde_json::json!({"by": name, "lang": lang}),
        |users| {
            for u in &mut users.users {
                if u.name == name {
                    u.lang = lang;
                }
            }
            Ok::<(), ()>(())
        },
    );
    if let Err(e) = saved {
        tracing::warn!(error = %e, "the language choice was not saved");
    }
    // Back to the page the switch was on, if it is one of ours.
    let back = if local_path(&f.back) {
        f.back
    } else {
        "/dashboard".into()
    };
    Redirect::to(&back).into_response()
}

csrf_form!(TokenForm, LangForm);

/// Whether `path` is a path of this panel (never another site: no `//`, no backslash, which
/// browsers read as a slash, only plain characters).
fn local_path(path: &str) -> bool {
    path.starts_with('/')
        && path.len() < 200
        && !path.contains("//")
        && path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/_-.?=&%".contains(&b))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_language_switch_goes_back_only_to_panel_pages() {
        for ok in [
            "/dashboard",
            "/setup/accounts?added=a%40b.jp",
            "/system/settings?diff=3",
        ] {
            assert!(super::local_path(ok), "{ok}");
        }
        for bad in [
            "//evil.example",
            "/\\evil.example",
            "https://evil.example",
            "/a//b",
            "",
            "/x\r\nSet-Cookie:",
            "/a b",
        ] {
            assert!(!super::local_path(bad), "{bad}");
        }
    }
}
