//! The first-boot setup wizard: the one-time setup code and the administrator account,
//! then the office's domains, the LAN subnet, the outgoing route (tested live through the
//! relay before it can be saved), the staff's relay accounts with printable setup steps,
//! and a summary that writes everything as one settings version through the settings
//! service and puts it in force in the relay.

use std::sync::Arc;

use askama::Template;
use axum::extract::rejection::FormRejection;
use axum::extract::{Extension, Form, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use mamori_panel::i18n::{Lang, fill, problem};
use mamori_panel::users::{Role, UserError};
use mamori_panel::wizard::{self, Draft, Problem, Route};
use serde::Deserialize;

use super::{
    Chrome, Peer, ask, checked, csrf_form, or_answer, render, render_status, require, source,
};
use crate::state::{Panel, lock};

#[derive(Template)]
#[template(path = "setup_account.html")]
struct AccountPage {
    c: Chrome,
    user: String,
    code_error: Option<String>,
    user_error: Option<String>,
    password_error: Option<String>,
}

pub(crate) async fn account_form(State(panel): State<Arc<Panel>>, headers: HeaderMap) -> Response {
    if !panel.needs_setup() {
        return match super::session(&panel, &headers) {
            Ok(_) => Redirect::to("/setup/domains").into_response(),
            Err(_) => Redirect::to("/login").into_response(),
        };
    }
    render(&AccountPage {
        c: Chrome::new(None, Lang::Ja, |t| t.setup_title),
        user: String::new(),
        code_error: None,
        user_error: None,
        password_error: None,
    })
}

#[derive(Deserialize)]
pub(crate) struct AccountForm {
    code: String,
    user: String,
    password: String,
    password_again: String,
    #[serde(default)]
    lang: String,
}

pub(crate) async fn account_submit(
    State(panel): State<Arc<Panel>>,
    Extension(peer): Extension<Peer>,
    form: Result<Form<AccountForm>, FormRejection>,
) -> Response {
    let Ok(Form(f)) = form else {
        return super::message(
            StatusCode::BAD_REQUEST,
            Lang::Ja,
            Lang::Ja.texts().bad_request,
        );
    };
    let lang = Lang::parse(&f.lang).unwrap_or_default();
    let t = lang.texts();
    if !panel.needs_setup() {
        return Redirect::to("/login").into_response();
    }
    let from = source(&peer);
    let now = mamori_core::clock::unix_now();
    let user: String = f.user.trim().chars().take(64).collect();
    let mut page = AccountPage {
        c: Chrome::new(None, lang, |t| t.setup_title),
        user: user.clone(),
        code_error: None,
        user_error: None,
        password_error: None,
    };
    // Per address only (the "account" is the address): a 60-bit code cannot be guessed, and
    // one guesser on the LAN must not hold up the office's own setup.
    let key = from.to_string();
    if let Err(wait) = lock(&panel.code_throttle).check(from, &key, now) {
        page.code_error = Some(fill(t.setup_code_wait, wait));
        return render_status(StatusCode::TOO_MANY_REQUESTS, &page);
    }
    let code_ok = lock(&panel.setup)
        .code
        .as_deref()
        .is_some_and(|code| mamori_panel::setup_code::matches(code, &f.code));
    if !code_ok {
        lock(&panel.code_throttle).failed(from, &key, now);
        panel.audit.record_or_log(
            "panel_setup_code_wrong",
            serde_json::json!({"source": from.to_string()}),
        );
        page.code_error = Some(t.setup_code_wrong.to_string());
        return render_status(StatusCode::FORBIDDEN, &page);
    }
    if f.password != f.password_again {
        page.password_error = Some(problem(t, &Problem::PasswordsDiffer));
        return render_status(StatusCode::BAD_REQUEST, &page);
    }
    let hostname = panel.hostname.clone();
    let (name, password) = (user.clone(), f.password);
    let added = tokio::task::block_in_place(|| {
        panel.change_users(
            "panel_setup_administrator",
            serde_json::json!({"user": name, "source": from.to_string()}),
            |users| {
                if users.has_administrator() {
                    return Err(UserError::Exists);
                }
                users.add(
                    &name,
                    Role::Administrator,
                    &password,
                    lang,
                    &[&hostname, "mamori"],
                )
            },
        )
    });
    match added {
        Ok(Ok(())) => {}
        Ok(Err(UserError::Password(p))) => {
            page.password_error = Some(problem(t, &Problem::Password(p)));
            return render_status(StatusCode::BAD_REQUEST, &page);
        }
        Ok(Err(UserError::BadName)) => {
            page.user_error = Some(t.problem_user_name.to_string());
            return render_status(StatusCode::BAD_REQUEST, &page);
        }
        Ok(Err(UserError::Exists)) => return Redirect::to("/login").into_response(),
        Ok(Err(e)) => {
            page.user_error = Some(e.to_string());
            return render_status(StatusCode::BAD_REQUEST, &page);
        }
        Err(e) => {
            return super::message(StatusCode::INTERNAL_SERVER_ERROR, lang, &e.to_string());
        }
    }
    // The code is used: it opens nothing any more, and its file goes.
    crate::setup_done(&panel);
    lock(&panel.code_throttle).succeeded(from, &key);
    let Some(id) =
        lock(&panel.sessions).start(&user, Role::Administrator, lang, &from.to_string(), now)
    else {
        return Redirect::to("/login").into_response();
    };
    let mut r = Redirect::to("/setup/domains").into_response();
    r.headers_mut()
        .insert(header::SET_COOKIE, super::set_cookie(&id));
    r
}

/// The wizard's pages after the account: one field (or a few) each.
#[derive(Template)]
#[template(path = "setup_field.html")]
struct FieldPage {
    c: Chrome,
    step: String,
    heading: &'static str,
    help: &'static str,
    label: &'static str,
    name: &'static str,
    value: String,
    multiline: bool,
    error: Option<String>,
    action: &'static str,
    back: &'static str,
}

fn draft_of(panel: &Panel, user: &str) -> Draft {
    lock(&panel.setup)
        .drafts
        .get(user)
        .cloned()
        .unwrap_or_default()
}

fn save_draft(panel: &Panel, user: &str, edit: impl FnOnce(&mut Draft)) {
    let mut setup = lock(&panel.setup);
    // A handful of administrators at most: the map stays small.
    if setup.drafts.len() > 16 && !setup.drafts.contains_key(user) {
        setup.drafts.clear();
    }
    edit(setup.drafts.entry(user.to_string()).or_default());
}

pub(crate) async fn domains_form(State(panel): State<Arc<Panel>>, headers: HeaderMap) -> Response {
    let (_, s) = or_answer!(require(&panel, &headers, Role::Administrator));
    let draft = draft_of(&panel, &s.user);
    render(&domains_page(&s, draft.domains.join("\n"), None))
}

fn domains_page(
    s: &mamori_panel::session::Session,
    value: String,
    error: Option<String>,
) -> FieldPage {
    let c = Chrome::new(Some(s), s.lang, |t| t.setup_title);
    FieldPage {
        step: fill(c.t.step_of, "2 / 6"),
        heading: c.t.domains_title,
        help: c.t.domains_help,
        label: c.t.domains_field,
        name: "domains",
        value,
        multiline: true,
        error,
        action: "/setup/domains",
        back: "/setup",
        c,
    }
}

#[derive(Deserialize)]
pub(crate) struct DomainsForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    domains: String,
}

pub(crate) async fn domains_submit(
    State(panel): State<Arc<Panel>>,
    headers: HeaderMap,
    form: Result<Form<DomainsForm>, FormRejection>,
) -> Response {
    let (_, s) = or_answer!(require(&panel, &headers, Role::Administrator));
    let f = or_answer!(checked(&s, form));
    match wizard::domains(&f.domains) {
        Ok(domains) => {
            save_draft(&panel, &s.user, |d| d.domains = domains);
            Redirect::to("/setup/lan").into_response()
        }
        Err(p) => {
            let error = Some(problem(s.lang.texts(), &p));
            render_status(StatusCode::BAD_REQUEST, &domains_page(&s, f.domains, error))
        }
    }
}

fn lan_page(s: &mamori_panel::session::Session, value: String, error: Option<String>) -> FieldPage {
    let c = Chrome::new(Some(s), s.lang, |t| t.setup_title);
    FieldPage {
        step: fill(c.t.step_of, "3 / 6"),
        heading: c.t.lan_title,
        help: c.t.lan_help,
        label: c.t.lan_field,
        name: "lan",
        value,
        multiline: false,
        error,
        action: "/setup/lan",
        back: "/setup/domains",
        c,
    }
}

pub(crate) async fn lan_form(State(panel): State<Arc<Panel>>, headers: HeaderMap) -> Response {
    let (_, s) = or_answer!(require(&panel, &headers, Role::Administrator));
    let draft = draft_of(&panel, &s.user);
    render(&lan_page(
        &s,
        draft.lan.unwrap_or_else(|| "192.168.1.0/24".into()),
        None,
    ))
}

#[derive(Deserialize)]
pub(crate) struct LanForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    lan: String,
}

pub(crate) async fn lan_submit(
    State(panel): State<Arc<Panel>>,
    headers: HeaderMap,
    form: Result<Form<LanForm>, FormRejection>,
) -> Response {
    let (_, s) = or_answer!(require(&panel, &headers, Role::Administrator));
    let f = or_answer!(checked(&s, form));
    match wizard::lan(&f.lan) {
        Ok(net) => {
            save_draft(&panel, &s.user, |d| d.lan = Some(net.to_string()));
            Redirect::to("/setup/route").into_response()
        }
        Err(p) => {
            let error = Some(problem(s.lang.texts(), &p));
            render_status(StatusCode::BAD_REQUEST, &lan_page(&s, f.lan, error))
        }
    }
}

#[derive(Template)]
#[template(path = "setup_route.html")]
struct RoutePage {
    c: Chrome,
    step: String,
    direct: bool,
    host: String,
    port: String,
    username: String,
    host_error: Option<String>,
    port_error: Option<String>,
    result_ok: Option<String>,
    result_error: Option<String>,
}

fn route_page(s: &mamori_panel::session::Session, draft: &Draft) -> RoutePage {
    let c = Chrome::new(Some(s), s.lang, |t| t.setup_title);
    let (direct, host, port, username) = match &draft.route {
        Some(Route::Direct) => (true, String::new(), "587".into(), String::new()),
        Some(Route::Provider {
            host,
            port,
            username,
            ..
        }) => (false, host.clone(), port.to_string(), username.clone()),
        None => (false, String::new(), "587".into(), String::new()),
    };
    RoutePage {
        step: fill(c.t.step_of, "4 / 6"),
        c,
        direct,
        host,
        port,
        username,
        host_error: None,
        port_error: None,
        result_ok: None,
        result_error: None,
    }
}

pub(crate) async fn route_form(State(panel): State<Arc<Panel>>, headers: HeaderMap) -> Response {
    let (_, s) = or_answer!(require(&panel, &headers, Role::Administrator));
    render(&route_page(&s, &draft_of(&panel, &s.user)))
}

#[derive(Deserialize)]
pub(crate) struct RouteForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    mode: String,
    #[serde(default)]
    host: String,
    #[serde(default)]
    port: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    /// `test` or `next`.
    action: String,
}

pub(crate) async fn route_submit(
    State(panel): State<Arc<Panel>>,
    headers: HeaderMap,
    form: Result<Form<RouteForm>, FormRejection>,
) -> Response {
    let (_, s) = or_answer!(require(&panel, &headers, Role::Administrator));
    let f = or_answer!(checked(&s, form));
    let t = s.lang.texts();
    if f.mode == "direct" {
        save_draft(&panel, &s.user, |d| d.route = Some(Route::Direct));
        lock(&panel.setup).route_tested.remove(&s.user);
        return Redirect::to("/setup/accounts").into_response();
    }
    let draft = draft_of(&panel, &s.user);
    let mut page = route_page(&s, &draft);
    page.direct = false;
    page.host = f.host.trim().chars().take(253).collect();
    page.port = f.port.trim().chars().take(5).collect();
    page.username = f.username.trim().chars().take(256).collect();
    let host = wizard::host(&f.host);
    let port = wizard::port(&f.port);
    let (host, port) = match (host, port) {
        (Ok(h), Ok(p)) => (h, p),
        (h, p) => {
            page.host_error = h.err().map(|e| problem(t, &e));
            page.port_error = p.err().map(|e| problem(t, &e));
            return render_status(StatusCode::BAD_REQUEST, &page);
        }
    };
    // An empty password field keeps the one entered before for the same server and login.
    let password = match (&draft.route, f.password.is_empty()) {
        (
            Some(Route::Provider {
                host: h,
                username: u,
                password,
                ..
            }),
            true,
        ) if *h == host && *u == page.username => password.clone(),
        _ => f.password.clone(),
    };
    let route = Route::Provider {
        host: host.clone(),
        port,
        username: page.username.clone(),
        password: password.clone(),
    };
    let same_as_tested = draft.route.as_ref() == Some(&route)
        && lock(&panel.setup)
            .route_tested
            .get(&s.user)
            .copied()
            .unwrap_or(false);
    save_draft(&panel, &s.user, |d| d.route = Some(route));
    if f.action == "next" {
        if same_as_tested {
            return Redirect::to("/setup/accounts").into_response();
        }
        page.result_error = Some(t.route_test_needed.to_string());
        return render_status(StatusCode::BAD_REQUEST, &page);
    }
    let request = serde_json::json!({
        "op": "test_route",
        "route": {
            "host": host,
            "port": port,
            "implicit_tls": port == 465,
            "username": (!page.username.is_empty()).then_some(&page.username),
            "password": (!password.is_empty()).then_some(&password),
        }
    });
    let outcome = ask(&panel.sockets.smtpd, &s, request).await;
    let ok = outcome.is_ok();
    lock(&panel.setup).route_tested.insert(s.user.clone(), ok);
    match outcome {
        Ok(found) => {
            page.result_ok = Some(fill(
                t.route_test_ok,
                format!(
                    "{} — {}",
                    found["address"].as_str().unwrap_or(""),
                    found["greeting"].as_str().unwrap_or("")
                ),
            ));
        }
        Err(why) => page.result_error = Some(fill(t.route_test_failed, why)),
    }
    render(&page)
}

#[derive(Template)]
#[template(path = "setup_accounts.html")]
struct AccountsPage {
    c: Chrome,
    step: String,
    accounts: Vec<String>,
    address: String,
    address_error: Option<String>,
    password_error: Option<String>,
    added: Option<String>,
}

fn accounts_page(s: &mamori_panel::session::Session, draft: &Draft) -> AccountsPage {
    let c = Chrome::new(Some(s), s.lang, |t| t.setup_title);
    AccountsPage {
        step: fill(c.t.step_of, "5 / 6"),
        c,
        accounts: draft.accounts.iter().map(|a| a.username.clone()).collect(),
        address: String::new(),
        address_error: None,
        password_error: None,
        added: None,
    }
}

/// `?added=ADDRESS` after an account was added (the page is then reloadable).
#[derive(Deserialize)]
pub(crate) struct AddedQuery {
    added: String,
}

pub(crate) async fn accounts_form(
    State(panel): State<Arc<Panel>>,
    headers: HeaderMap,
    query: Result<Query<AddedQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let (_, s) = or_answer!(require(&panel, &headers, Role::Administrator));
    let draft = draft_of(&panel, &s.user);
    let mut page = accounts_page(&s, &draft);
    // Said only of an account that is in the draft: the query cannot put text on the page.
    if let Ok(Query(q)) = query
        && draft.accounts.iter().any(|a| a.username == q.added)
    {
        page.added = Some(fill(s.lang.texts().account_added, &q.added));
    }
    render(&page)
}

#[derive(Deserialize)]
pub(crate) struct AccountAddForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    address: String,
    password: String,
    password_again: String,
}

pub(crate) async fn accounts_submit(
    State(panel): State<Arc<Panel>>,
    headers: HeaderMap,
    form: Result<Form<AccountAddForm>, FormRejection>,
) -> Response {
    let (_, s) = or_answer!(require(&panel, &headers, Role::Administrator));
    let f = or_answer!(checked(&s, form));
    let t = s.lang.texts();
    let draft = draft_of(&panel, &s.user);
    let mut page = accounts_page(&s, &draft);
    page.address = f.address.trim().chars().take(254).collect();
    match wizard::account(&draft, &f.address, &f.password, &f.password_again) {
        Ok((username, password)) => {
            let hash = tokio::task::block_in_place(|| mamori_panel::users::hash(&password));
            let Ok(password_hash) = hash else {
                return super::message(StatusCode::INTERNAL_SERVER_ERROR, s.lang, "hashing failed");
            };
            save_draft(&panel, &s.user, |d| {
                d.accounts.push(wizard::Account {
                    username: username.clone(),
                    password_hash,
                })
            });
            // Post/redirect/get: going back to this page never sends the form again.
            let query: String = url_escape(&username);
            Redirect::to(&format!("/setup/accounts?added={query}")).into_response()
        }
        Err(p @ (Problem::PasswordsDiffer | Problem::Password(_))) => {
            page.password_error = Some(problem(t, &p));
            render_status(StatusCode::BAD_REQUEST, &page)
        }
        Err(p) => {
            page.address_error = Some(problem(t, &p));
            render_status(StatusCode::BAD_REQUEST, &page)
        }
    }
}

/// Percent-encodes everything but unreserved characters, for a query value.
fn url_escape(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[derive(Template)]
#[template(path = "howto.html")]
struct HowtoPage {
    c: Chrome,
    intro: String,
    server: String,
}

#[derive(Deserialize)]
pub(crate) struct HowtoQuery {
    user: String,
}

pub(crate) async fn howto(
    State(panel): State<Arc<Panel>>,
    headers: HeaderMap,
    query: Result<Query<HowtoQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let (_, s) = or_answer!(require(&panel, &headers, Role::Administrator));
    let user: String = query
        .map(|q| q.0.user)
        .unwrap_or_default()
        .chars()
        .take(254)
        .collect();
    let c = Chrome::new(Some(&s), s.lang, |t| t.howto_title);
    // The name or address the administrator reached the box at is one the office's PCs
    // reach it at too; the box's host name may not resolve on the LAN.
    let reached = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(|h| crate::server::strip_port(h).to_string())
        .filter(|h| {
            h.len() <= 253
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
        });
    let server = match reached {
        Some(h) if h != panel.hostname => format!("{h} ({})", panel.hostname),
        _ => panel.hostname.clone(),
    };
    render(&HowtoPage {
        intro: fill(c.t.howto_intro, &user),
        server,
        c,
    })
}

#[derive(Template)]
#[template(path = "setup_summary.html")]
struct SummaryPage {
    c: Chrome,
    step: String,
    domains: String,
    lan: String,
    route: String,
    accounts: Vec<String>,
    saved: Option<String>,
    error: Option<String>,
}

fn summary_page(s: &mamori_panel::session::Session, draft: &Draft) -> SummaryPage {
    let c = Chrome::new(Some(s), s.lang, |t| t.summary_title);
    let route = match &draft.route {
        Some(Route::Provider {
            host,
            port,
            username,
            ..
        }) => format!("{host}:{port} ({username})"),
        Some(Route::Direct) => c.t.route_direct.to_string(),
        None => "-".into(),
    };
    SummaryPage {
        step: fill(c.t.step_of, "6 / 6"),
        domains: draft.domains.join(", "),
        lan: draft.lan.clone().unwrap_or_else(|| "-".into()),
        route,
        accounts: draft.accounts.iter().map(|a| a.username.clone()).collect(),
        saved: None,
        error: None,
        c,
    }
}

pub(crate) async fn summary_form(State(panel): State<Arc<Panel>>, headers: HeaderMap) -> Response {
    let (_, s) = or_answer!(require(&panel, &headers, Role::Administrator));
    render(&summary_page(&s, &draft_of(&panel, &s.user)))
}

pub(crate) async fn summary_submit(
    State(panel): State<Arc<Panel>>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    form: Result<Form<super::login::TokenForm>, FormRejection>,
) -> Response {
    let (_, s) = or_answer!(require(&panel, &headers, Role::Administrator));
    or_answer!(checked(&s, form));
    let t = s.lang.texts();
    let draft = draft_of(&panel, &s.user);
    let mut page = summary_page(&s, &draft);
    let fail = |mut page: SummaryPage, why: String| {
        page.error = Some(fill(t.summary_failed, why));
        render_status(StatusCode::BAD_GATEWAY, &page)
    };
    if draft.domains.is_empty() {
        return fail(page, problem(t, &Problem::Required));
    }
    // The provider's password goes to the settings service's secret file first.
    let mut password_file = None;
    if let Some(Route::Provider { password, .. }) = &draft.route
        && !password.is_empty()
    {
        let request = serde_json::json!({"op": "set_secret", "name": "smarthost-password", "value": password});
        match ask(&panel.sockets.settings, &s, request).await {
            Ok(data) => password_file = data["path"].as_str().map(str::to_string),
            Err(why) => return fail(page, why),
        }
    }
    // The relay accounts in force, which the wizard's new ones join.
    let existing = match ask(
        &panel.sockets.settings,
        &s,
        serde_json::json!({"op": "current"}),
    )
    .await
    {
        Ok(current) => current["settings"]["smtp"]["accounts"]
            .as_array()
            .cloned()
            .unwrap_or_default(),
        Err(why) => return fail(page, why),
    };
    let (set, unset) = wizard::settings(&draft, password_file.as_deref(), &existing);
    let version =
        match super::apply::change_relay_settings(&panel, &s, set, unset, "setup wizard").await {
            Ok(applied) => applied.version,
            Err(why) => return fail(page, why),
        };
    panel.audit.record_or_log(
        "panel_setup_saved",
        serde_json::json!({"by": s.user, "source": source(&peer).to_string(), "settings_version": version}),
    );
    lock(&panel.setup).drafts.remove(&s.user);
    page.saved = Some(fill(t.summary_saved, version));
    render(&page)
}

csrf_form!(DomainsForm, LanForm, RouteForm, AccountAddForm);
