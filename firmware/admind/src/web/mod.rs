//! The panel's pages: the router, the security headers every answer carries, the Origin
//! check on every state-changing request, sessions from the `__Host-` cookie, the CSRF
//! token check, role checks, and rendering. Pages are server-rendered HTML; the only script
//! is the firewall confirmation's countdown, served from the panel itself.

mod accounts;
mod apply;
mod audit;
mod backup;
mod capability;
mod certificate;
mod dashboard;
mod delivery;
mod dlp;
mod encrypt;
mod encrypt_link;
mod firewall;
mod firewall_sets;
mod firewall_zones;
mod history;
mod hold;
mod json;
mod link_page;
mod links;
mod login;
mod logs;
mod metrics;
mod misdelivery;
mod pacing;
mod quarantine;
mod queue;
mod report;
mod setup;
mod time;
mod update;
pub(crate) use update::update_failure;
mod upload;
mod users;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use mamori_panel::i18n::{Lang, Texts};
use mamori_panel::session::{Lookup, Session};
use mamori_panel::users::Role;

use crate::state::{Panel, lock};

/// The session cookie's name: `__Host-` makes the browser refuse it unless it is Secure,
/// has no Domain and has Path=/.
pub const COOKIE: &str = "__Host-mamori";

/// The largest form body taken (uploads have their own limits).
pub const MAX_FORM_BYTES: usize = 64 * 1024;

/// The peer's address, put on each request by the server.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub SocketAddr);

/// The style sheet, served from the binary.
const CSS: &str = include_str!("../../static/panel.css");

/// The firewall confirmation page's countdown, the panel's only script (served from the
/// binary, allowed by `script-src 'self'`).
const COUNTDOWN_JS: &str = include_str!("../../static/countdown.js");

/// The router of every page.
pub fn router(panel: Arc<Panel>) -> Router {
    Router::new()
        .route("/", get(root))
        .route("/login", get(login::form).post(login::submit))
        .route("/logout", post(login::logout))
        .route("/lang", post(login::switch_lang))
        .route(
            "/setup",
            get(setup::account_form).post(setup::account_submit),
        )
        .route(
            "/setup/domains",
            get(setup::domains_form).post(setup::domains_submit),
        )
        .route("/setup/lan", get(setup::lan_form).post(setup::lan_submit))
        .route(
            "/setup/route",
            get(setup::route_form).post(setup::route_submit),
        )
        .route(
            "/setup/accounts",
            get(setup::accounts_form).post(setup::accounts_submit),
        )
        .route("/setup/howto", get(setup::howto))
        .route(
            "/setup/summary",
            get(setup::summary_form).post(setup::summary_submit),
        )
        .route("/dashboard", get(dashboard::page))
        .route("/hold/{id}/{token}", get(hold::show).post(hold::act))
        .route(
            "/links/{id}/{token}",
            get(link_page::show).post(link_page::act),
        )
        .route("/mail/queue", get(queue::list))
        .route("/mail/queue/act", post(queue::act))
        .route("/mail/queue/retry", post(queue::retry))
        .route("/mail/quarantine", get(quarantine::list))
        .route("/mail/quarantine/act", post(quarantine::act))
        .route("/mail/quarantine/content", post(quarantine::content))
        .route("/mail/quarantine/retention", post(quarantine::retention))
        .route("/mail/quarantine/{id}", get(quarantine::show))
        .route("/mail/links", get(links::list))
        .route("/mail/links/{id}/revoke", post(links::revoke))
        .route("/mail/accounts", get(accounts::list))
        .route("/mail/accounts/add", post(accounts::add))
        .route("/mail/accounts/senders", post(accounts::set_senders))
        .route("/mail/accounts/password", post(accounts::reset_password))
        .route("/mail/accounts/remove", post(accounts::remove))
        .route("/mail/delivery", get(delivery::show))
        .route("/mail/delivery/route", post(delivery::route))
        .route("/mail/delivery/routes", post(delivery::add_route))
        .route("/mail/delivery/remove", post(delivery::remove))
        .route("/mail/delivery/tls", post(delivery::tls))
        .route("/mail/pacing", get(pacing::show).post(pacing::general))
        .route("/mail/pacing/group", post(pacing::add_group))
        .route("/mail/pacing/remove", post(pacing::remove_group))
        .route("/mail/encrypt", get(encrypt::show).post(encrypt::general))
        .route("/mail/encrypt/rule", post(encrypt::add_rule))
        .route("/mail/encrypt/remove", post(encrypt::remove_rule))
        .route("/mail/encrypt/port", post(encrypt_link::open_port))
        .route("/mail/encrypt/test", post(encrypt_link::test))
        .route(
            "/mail/misdelivery",
            get(misdelivery::show).post(misdelivery::save),
        )
        .route("/mail/dlp", get(dlp::show))
        .route("/mail/dlp/rule", post(dlp::add_rule))
        .route("/mail/dlp/word", post(dlp::add_word))
        .route("/mail/dlp/remove", post(dlp::remove))
        .route(
            "/mail/dlp/try",
            post(dlp::try_sample).layer(axum::extract::DefaultBodyLimit::max(dlp::MAX_TRY_BODY)),
        )
        .route("/firewall", get(firewall::show))
        .route("/firewall/rule", post(firewall::add_rule))
        .route("/firewall/forward", post(firewall::add_forward))
        .route("/firewall/change", post(firewall::change))
        .route("/firewall/pending", get(firewall::pending))
        .route("/firewall/confirm", post(firewall::confirm))
        .route("/firewall/devices", get(firewall::devices))
        .route(
            "/firewall/zones/{name}",
            get(firewall_zones::show).post(firewall_zones::save),
        )
        .route("/firewall/sets", post(firewall::add_set))
        .route("/firewall/zones", post(firewall::add_zone))
        .route("/firewall/zones/remove", post(firewall::remove_zone))
        .route("/firewall/forwardings", post(firewall::forwarding))
        .route("/firewall/sets/{name}", get(firewall_sets::show))
        .route("/firewall/sets/{name}/delete", post(firewall_sets::delete))
        .route("/firewall/sets/{name}/add", post(firewall_sets::add))
        .route("/firewall/sets/{name}/remove", post(firewall_sets::remove))
        .route("/system/audit", get(audit::page))
        .route("/system/audit/retention", post(audit::retention))
        .route("/system/settings", get(history::list))
        .route("/system/settings/rollback", post(history::rollback))
        .route("/system/firewall/confirm", post(history::confirm_firewall))
        .route(
            "/system/certificate",
            get(certificate::show).post(certificate::upload).layer(
                axum::extract::DefaultBodyLimit::max(certificate::MAX_CERT_BODY),
            ),
        )
        .route(
            "/system/certificate/self-signed",
            post(certificate::self_signed),
        )
        .route("/system/backup", get(backup::show))
        .route("/system/backup/export", post(backup::export))
        .route(
            "/system/backup/import",
            post(backup::import).layer(axum::extract::DefaultBodyLimit::max(
                backup::MAX_BACKUP_BODY,
            )),
        )
        .route("/metrics", get(metrics::scrape))
        .route("/system/metrics", get(metrics::show).post(metrics::token))
        .route("/system/metrics/alerts", post(metrics::alerts))
        .route("/system/report", get(report::page))
        .route("/system/logs", get(logs::page))
        .route("/system/time", get(time::page))
        .route("/system/time/ntp", post(time::ntp))
        .route("/system/time/clock", post(time::set_clock))
        .route("/system/update", get(update::page))
        .route("/system/update/check", post(update::check))
        .route("/system/update/install", post(update::install))
        .route("/system/update/reboot", post(update::reboot))
        .route("/system/update/settings", post(update::settings))
        .route(
            "/system/update/upload",
            post(update::upload).layer(axum::extract::DefaultBodyLimit::max(update::MAX_UPLOAD)),
        )
        .route("/system/users", get(users::list))
        .route("/system/users/add", post(users::add))
        .route("/system/users/remove", post(users::remove))
        .route("/system/users/role", post(users::change_role))
        .route("/system/users/password", post(users::change_password))
        .route("/static/panel.css", get(css))
        .route("/static/countdown.js", get(countdown_js))
        .fallback(not_found)
        .layer(axum::extract::DefaultBodyLimit::max(MAX_FORM_BYTES))
        .layer(middleware::from_fn_with_state(panel.clone(), guard))
        .with_state(panel)
}

async fn root(State(panel): State<Arc<Panel>>, headers: HeaderMap) -> Response {
    if panel.needs_setup() {
        return Redirect::to("/setup").into_response();
    }
    match session(&panel, &headers) {
        Ok(_) => Redirect::to("/dashboard").into_response(),
        Err(_) => Redirect::to("/login").into_response(),
    }
}

async fn css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        CSS,
    )
        .into_response()
}

async fn countdown_js() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        COUNTDOWN_JS,
    )
        .into_response()
}

async fn not_found(State(panel): State<Arc<Panel>>, headers: HeaderMap) -> Response {
    let lang = lang_of(&panel, &headers);
    message(StatusCode::NOT_FOUND, lang, lang.texts().not_found)
}

/// Every request: state-changing ones must come from the panel's own origin (the Origin
/// header, which browsers send on every POST); every answer gets the security headers and
/// is not cached.
async fn guard(State(panel): State<Arc<Panel>>, request: Request, next: Next) -> Response {
    let safe = matches!(*request.method(), Method::GET | Method::HEAD);
    if !safe && !same_origin(request.headers()) {
        let lang = lang_of(&panel, request.headers());
        // A capability link's token is a secret: the log names the page, not the token.
        let path = request.uri().path();
        let shown = if path.starts_with("/hold/") {
            "/hold/…"
        } else if path.starts_with("/links/") {
            "/links/…"
        } else {
            path
        };
        tracing::warn!(
            origin = ?request.headers().get(header::ORIGIN),
            path = %shown,
            "cross-origin request refused"
        );
        let mut response = message(StatusCode::FORBIDDEN, lang, lang.texts().csrf_refused);
        security_headers(response.headers_mut());
        return response;
    }
    let mut response = next.run(request).await;
    security_headers(response.headers_mut());
    response
}

/// Whether a state-changing request comes from the panel's own pages. Its Origin must be
/// the panel itself (`https://` and the Host it was sent to). Under the panel's
/// `Referrer-Policy: no-referrer` browsers send `Origin: null` even for the panel's own
/// forms (the Fetch standard), so a `null` Origin passes only with the browser's own
/// statement that the request is same-origin (`Sec-Fetch-Site`, Fetch Metadata), which a
/// page of another site cannot forge. Anything else — another site, plain HTTP, no Origin
/// at all — is refused.
fn same_origin(headers: &HeaderMap) -> bool {
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    let site = text("sec-fetch-site");
    if site.is_some_and(|s| s != "same-origin") {
        return false;
    }
    match (text(header::ORIGIN.as_str()), text(header::HOST.as_str())) {
        (Some("null"), Some(_)) => site == Some("same-origin"),
        (Some(origin), Some(host)) => origin.strip_prefix("https://") == Some(host),
        _ => false,
    }
}

/// The security headers of every answer, parsed once at compile time (they are on every
/// request's path).
const SECURITY_HEADERS: [(HeaderName, HeaderValue); 8] = [
    (
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    ),
    (
        header::STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static("max-age=31536000"),
    ),
    (
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    ),
    (
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    ),
    (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
    (
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    ),
    (
        HeaderName::from_static("cross-origin-resource-policy"),
        HeaderValue::from_static("same-origin"),
    ),
    (
        HeaderName::from_static("permissions-policy"),
        HeaderValue::from_static("camera=(), microphone=(), geolocation=()"),
    ),
];

fn security_headers(h: &mut HeaderMap) {
    h.reserve(SECURITY_HEADERS.len() + 1);
    for (name, value) in SECURITY_HEADERS {
        h.insert(name, value);
    }
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}

/// The session cookie's value in the request.
fn cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_string())
        .filter(|v| v.len() <= 64)
}

/// The request's session (its idle time restarted).
pub(crate) fn session(panel: &Panel, headers: &HeaderMap) -> Result<(String, Session), Lookup> {
    let id = cookie(headers).ok_or(Lookup::Unknown)?;
    let now = mamori_core::clock::unix_now();
    let s = lock(&panel.sessions).touch(&id, now)?.clone();
    Ok((id, s))
}

/// The language for a request: the session's, else Japanese.
fn lang_of(panel: &Panel, headers: &HeaderMap) -> Lang {
    session(panel, headers).map_or(Lang::Ja, |(_, s)| s.lang)
}

/// A logged-in user with at least `role`, or the answer to give instead: the login page
/// (no session, or it ended), or 403.
pub(crate) fn require(
    panel: &Panel,
    headers: &HeaderMap,
    role: Role,
) -> Result<(String, Session), Box<Response>> {
    match session(panel, headers) {
        Ok((id, s)) if s.role >= role => Ok((id, s)),
        Ok((_, s)) => Err(Box::new(message(
            StatusCode::FORBIDDEN,
            s.lang,
            s.lang.texts().forbidden,
        ))),
        Err(Lookup::Unknown) => Err(Box::new(Redirect::to("/login").into_response())),
        Err(Lookup::Idle | Lookup::Expired) => {
            Err(Box::new(Redirect::to("/login?ended=1").into_response()))
        }
    }
}

/// The value of `Ok`, or returns the boxed answer of `Err` from the handler: every page
/// starts with the session check (and a form with its CSRF check) this way.
macro_rules! or_answer {
    ($checked:expr) => {
        match $checked {
            Ok(v) => v,
            Err(answer) => return *answer,
        }
    };
}
pub(crate) use or_answer;

/// A form that carries the session's CSRF token.
pub(crate) trait CsrfForm {
    /// The token the form came with.
    fn token(&self) -> &str;
}

/// The form, if it could be read and carries `session`'s CSRF token; else the refusal.
pub(crate) fn checked<T: CsrfForm>(
    session: &Session,
    form: Result<axum::extract::Form<T>, axum::extract::rejection::FormRejection>,
) -> Result<T, Box<Response>> {
    match form {
        Ok(axum::extract::Form(f)) if csrf_ok(session, f.token()) => Ok(f),
        _ => Err(Box::new(csrf_refused(session.lang))),
    }
}

/// Implements [`CsrfForm`] for forms whose token field is `csrf`.
macro_rules! csrf_form {
    ($($form:ty),* $(,)?) => {
        $(impl crate::web::CsrfForm for $form {
            fn token(&self) -> &str {
                &self.csrf
            }
        })*
    };
}
pub(crate) use csrf_form;

/// Whether `token` is the session's CSRF token (constant-time).
pub(crate) fn csrf_ok(session: &Session, token: &str) -> bool {
    mamori_panel::same_secret(session.csrf.as_bytes(), token.as_bytes())
}

/// A form read as name–value pairs (checkboxes, repeated names), after the CSRF check of
/// its `_csrf` field: for the pages whose forms have many optional fields.
pub(crate) fn checked_pairs(
    s: &Session,
    form: Result<
        axum::extract::Form<Vec<(String, String)>>,
        axum::extract::rejection::FormRejection,
    >,
) -> Result<Vec<(String, String)>, Box<Response>> {
    let pairs = form.map(|axum::extract::Form(p)| p).unwrap_or_default();
    let token = pairs
        .iter()
        .find(|(k, _)| k == "_csrf")
        .map(|(_, v)| v.as_str())
        .unwrap_or("");
    if csrf_ok(s, token) {
        Ok(pairs)
    } else {
        Err(Box::new(csrf_refused(s.lang)))
    }
}

/// A field of `pairs` (empty when absent), at most 8000 characters.
pub(crate) fn pair_field(pairs: &[(String, String)]) -> impl Fn(&str) -> String + '_ {
    move |k| {
        pairs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.chars().take(8000).collect())
            .unwrap_or_default()
    }
}

/// The refusal of a form without the right CSRF token.
pub(crate) fn csrf_refused(lang: Lang) -> Response {
    message(StatusCode::FORBIDDEN, lang, lang.texts().csrf_refused)
}

/// The frame around every page.
pub(crate) struct Chrome {
    /// The person may use the administrators' pages (the header links only those it may).
    pub admin: bool,
    pub t: &'static Texts,
    pub lang: &'static str,
    pub user: Option<String>,
    pub csrf: String,
    pub title: &'static str,
}

impl Chrome {
    /// The frame for `session` (or an anonymous visitor in `lang`).
    pub fn new(session: Option<&Session>, lang: Lang, title: fn(&Texts) -> &'static str) -> Self {
        let lang = session.map_or(lang, |s| s.lang);
        let t = lang.texts();
        Self {
            admin: session.is_some_and(|s| s.role == Role::Administrator),
            t,
            lang: lang.code(),
            user: session.map(|s| s.user.clone()),
            csrf: session.map(|s| s.csrf.clone()).unwrap_or_default(),
            title: title(t),
        }
    }

    /// "Signed in as …".
    pub fn signed_in(&self) -> String {
        mamori_panel::i18n::fill(self.t.signed_in_as, self.user.as_deref().unwrap_or(""))
    }
}

#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage {
    c: Chrome,
    text: String,
}

/// A page that says one thing, with a status.
pub(crate) fn message(status: StatusCode, lang: Lang, text: &str) -> Response {
    let page = MessagePage {
        c: Chrome::new(None, lang, |t| t.product),
        text: text.to_string(),
    };
    (status, render(&page)).into_response()
}

/// Renders a template as an HTML answer.
pub(crate) fn render(t: &impl Template) -> Response {
    match t.render() {
        Ok(html) => axum::response::Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "rendering a page failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

/// Renders a template as an HTML answer with `status` (a form shown again with its errors).
pub(crate) fn render_status(status: StatusCode, t: &impl Template) -> Response {
    let mut r = render(t);
    *r.status_mut() = status;
    r
}

/// Re-authentication for a sensitive action (a password, a rollback or restore, an update,
/// turning a protection off): nothing to do within `admin.reauth_secs` of the last time the
/// person entered the password (unless `always`, as for a password change); else
/// `password` must be theirs (throttled like a login, failures audited). `Err` is the text
/// for the page.
pub(crate) async fn reauthenticate(
    panel: &Panel,
    id: &str,
    s: &Session,
    password: &str,
    from: IpAddr,
    action: &str,
    always: bool,
) -> Result<(), String> {
    let now = mamori_core::clock::unix_now();
    if !always && s.recently_authenticated(now) {
        return Ok(());
    }
    let t = s.lang.texts();
    // No password given (a page loaded inside the window, sent after it): asked for, not
    // counted as a wrong one.
    if password.is_empty() {
        return Err(t.reauth_needed.to_string());
    }
    if let Err(wait) = lock(&panel.throttle).check(from, &s.user, now) {
        return Err(mamori_panel::i18n::fill(t.login_wait, wait));
    }
    let users = lock(&panel.users).clone();
    let (name, password) = (s.user.clone(), password.to_string());
    let ok = tokio::task::spawn_blocking(move || users.authenticate(&name, &password).is_some())
        .await
        .unwrap_or(false);
    if !ok {
        lock(&panel.throttle).failed(from, &s.user, now);
        panel.audit.record_or_log(
            "panel_reauthentication_failed",
            serde_json::json!({"user": s.user, "source": from.to_string(), "for": action}),
        );
        return Err(t.current_password_wrong.to_string());
    }
    lock(&panel.throttle).succeeded(from, &s.user);
    lock(&panel.sessions).reauthenticated(id, now);
    Ok(())
}

/// The client's address.
pub(crate) fn source(peer: &Peer) -> IpAddr {
    peer.0.ip()
}

/// The `Set-Cookie` value that gives the browser session `id`.
pub(crate) fn set_cookie(id: &str) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{COOKIE}={id}; Path=/; Secure; HttpOnly; SameSite=Strict"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The `Set-Cookie` value that removes the session cookie.
pub(crate) fn clear_cookie() -> HeaderValue {
    HeaderValue::from_static("__Host-mamori=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0")
}

/// Asks a daemon something for `session`'s person; the error is a text for the page.
pub(crate) async fn ask(
    socket: &std::path::Path,
    session: &Session,
    mut request: serde_json::Value,
) -> Result<serde_json::Value, String> {
    request["on_behalf"] = serde_json::json!({"user": session.user, "role": session.role.right()});
    match mamori_core::control::call(socket, &request, std::time::Duration::from_secs(30)).await {
        Ok(mamori_core::control::Response::Ok { data }) => Ok(data),
        Ok(mamori_core::control::Response::Error { kind, message }) => {
            Err(format!("{message} ({kind})"))
        }
        Err(e) => Err(e.to_string()),
    }
}
