//! The relay accounts page (administrators): the staff's sending accounts and the
//! addresses each may send as; adding one (the one password policy, Argon2id), changing
//! its addresses, and — after the administrator's password again — resetting its password
//! or removing it. Each change is audited, saved as a settings version, and put in force in
//! the relay at once.

use std::sync::Arc;

use askama::Template;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Extension, Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use mamori_panel::accounts::{self, SendersProblem};
use mamori_panel::i18n::{Texts, fill, problem};
use mamori_panel::session::Session;
use mamori_panel::users::Role;
use mamori_panel::wizard::{self, Problem};
use serde::Deserialize;
use serde_json::Value;

use super::json::{strings, text};
use super::{Chrome, Peer, checked, csrf_form, or_answer, render, render_status, require, source};
use crate::state::Panel;

/// One account.
struct AccountRow {
    name: String,
    /// Its sending addresses, one a line (for the text box).
    senders: String,
}

#[derive(Template)]
#[template(path = "accounts.html")]
struct AccountsPage {
    c: Chrome,
    ask_password: bool,
    accounts: Vec<AccountRow>,
    no_domains: bool,
    done: Option<String>,
    error: Option<String>,
    add_address: String,
    add_senders: String,
    add_address_error: Option<String>,
    add_password_error: Option<String>,
    add_senders_error: Option<String>,
    /// An error about one account's row: (account, text).
    row_error: Option<(String, String)>,
}

/// The accounts and the office's domains in force.
struct InForce {
    accounts: Vec<Value>,
    domains: Vec<String>,
}

async fn in_force(panel: &Panel, s: &Session) -> Result<InForce, String> {
    let smtp = super::apply::relay_settings(panel, s).await?;
    Ok(InForce {
        accounts: super::json::list(&smtp["accounts"]),
        domains: strings(&smtp["office_domains"]),
    })
}

async fn page(panel: &Panel, s: &Session) -> (AccountsPage, InForce) {
    let c = Chrome::new(Some(s), s.lang, |t| t.accounts_title);
    let (found, error) = match in_force(panel, s).await {
        Ok(found) => (found, None),
        Err(why) => (
            InForce {
                accounts: Vec::new(),
                domains: Vec::new(),
            },
            Some(why),
        ),
    };
    let accounts = found
        .accounts
        .iter()
        .map(|a| AccountRow {
            name: text(a, "username"),
            senders: strings(&a["senders"]).join("\n"),
        })
        .collect();
    let now = mamori_core::clock::unix_now();
    let p = AccountsPage {
        ask_password: !s.recently_authenticated(now),
        accounts,
        no_domains: error.is_none() && found.domains.is_empty(),
        done: None,
        error,
        add_address: String::new(),
        add_senders: String::new(),
        add_address_error: None,
        add_password_error: None,
        add_senders_error: None,
        row_error: None,
        c,
    };
    (p, found)
}

fn senders_text(t: &Texts, p: &SendersProblem) -> String {
    match p {
        SendersProblem::NotOffice(entry) => fill(t.problem_sender_not_office, entry),
        SendersProblem::TooMany => t.problem_too_many_senders.into(),
    }
}

/// `?done=added:NAME` and the like.
#[derive(Deserialize)]
pub(crate) struct DoneQuery {
    done: String,
}

pub(crate) async fn list(
    State(panel): State<Arc<Panel>>,
    headers: HeaderMap,
    query: Result<Query<DoneQuery>, QueryRejection>,
) -> Response {
    let (_, s) = or_answer!(require(&panel, &headers, Role::Administrator));
    let (mut p, _) = page(&panel, &s).await;
    let t = p.c.t;
    if let Ok(Query(q)) = query {
        let listed = |n: &str| p.accounts.iter().any(|a| a.name == n);
        p.done = match q.done.split_once(':') {
            Some(("added", n)) if listed(n) => Some(fill(t.account_added, n)),
            Some(("senders", n)) if listed(n) => Some(fill(t.senders_saved, n)),
            Some(("password", n)) if listed(n) => Some(fill(t.account_password_done, n)),
            Some(("removed", n)) if !listed(n) => Some(fill(t.account_removed, n)),
            _ => None,
        };
    }
    render(&p)
}

/// Saves `accounts` as the relay's accounts (audited as `event` about `name`), then back
/// to the list with `done`; a refusal is shown on `p`.
async fn save(
    panel: &Panel,
    s: &Session,
    peer: &Peer,
    (event, name, done): (&str, &str, &str),
    accounts: Vec<Value>,
    p: AccountsPage,
) -> Response {
    let t = p.c.t;
    let set = vec![("smtp.accounts".to_string(), Value::Array(accounts))];
    let result =
        super::apply::audited_change(panel, s, source(peer), (event, name), set, Vec::new()).await;
    let to = format!("/mail/accounts?done={done}:{}", super::dlp::urlencode(name));
    super::apply::answer(result, &to, t, p, (|p| &mut p.error, |p| &mut p.error))
}

/// An Argon2id hash of `password`, made off the async threads.
async fn hash(password: &str) -> Option<String> {
    let password = password.to_string();
    tokio::task::spawn_blocking(move || mamori_panel::users::hash(&password).ok())
        .await
        .ok()
        .flatten()
}

#[derive(Deserialize)]
pub(crate) struct AddForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    address: String,
    password: String,
    password_again: String,
    #[serde(default)]
    senders: String,
}

pub(crate) async fn add(
    State(panel): State<Arc<Panel>>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    form: Result<Form<AddForm>, FormRejection>,
) -> Response {
    let (_, s) = or_answer!(require(&panel, &headers, Role::Administrator));
    let f = or_answer!(checked(&s, form));
    let (mut p, found) = page(&panel, &s).await;
    let t = p.c.t;
    p.add_address = f.address.chars().take(254).collect();
    p.add_senders = f.senders.chars().take(8000).collect();
    if p.error.is_some() {
        return render_status(StatusCode::CONFLICT, &p);
    }
    let existing: Vec<&str> = found
        .accounts
        .iter()
        .filter_map(|a| a["username"].as_str())
        .collect();
    let checked = wizard::new_account(
        &found.domains,
        &existing,
        &f.address,
        &f.password,
        &f.password_again,
    );
    let name = match checked {
        Ok((name, _)) => name,
        Err(e @ (Problem::Password(_) | Problem::PasswordsDiffer)) => {
            p.add_password_error = Some(problem(t, &e));
            return render_status(StatusCode::BAD_REQUEST, &p);
        }
        Err(e) => {
            p.add_address_error = Some(problem(t, &e));
            return render_status(StatusCode::BAD_REQUEST, &p);
        }
    };
    let senders = match accounts::senders(&p.add_senders, &found.domains) {
        Ok(senders) => senders,
        Err(e) => {
            p.add_senders_error = Some(senders_text(t, &e));
            return render_status(StatusCode::BAD_REQUEST, &p);
        }
    };
    let Some(password_hash) = hash(&f.password).await else {
        return super::message(StatusCode::INTERNAL_SERVER_ERROR, s.lang, "hashing failed");
    };
    let new = accounts::add(&found.accounts, &name, &password_hash, &senders);
    save(
        &panel,
        &s,
        &peer,
        ("panel_relay_account_added", &name, "added"),
        new,
        p,
    )
    .await
}

#[derive(Deserialize)]
pub(crate) struct SendersForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    name: String,
    senders: String,
}

pub(crate) async fn set_senders(
    State(panel): State<Arc<Panel>>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    form: Result<Form<SendersForm>, FormRejection>,
) -> Response {
    let (_, s) = or_answer!(require(&panel, &headers, Role::Administrator));
    let f = or_answer!(checked(&s, form));
    let (mut p, found) = page(&panel, &s).await;
    let t = p.c.t;
    let senders = match accounts::senders(&f.senders, &found.domains) {
        Ok(senders) if senders.is_empty() => vec![f.name.clone()],
        Ok(senders) => senders,
        Err(e) => {
            p.row_error = Some((f.name.clone(), senders_text(t, &e)));
            return render_status(StatusCode::BAD_REQUEST, &p);
        }
    };
    let Some(new) = accounts::update(&found.accounts, &f.name, "senders", senders.into()) else {
        return super::message(StatusCode::NOT_FOUND, s.lang, t.not_found);
    };
    save(
        &panel,
        &s,
        &peer,
        ("panel_relay_account_senders", &f.name, "senders"),
        new,
        p,
    )
    .await
}

#[derive(Deserialize)]
pub(crate) struct PasswordForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    name: String,
    #[serde(default)]
    current: String,
    password: String,
    password_again: String,
}

pub(crate) async fn reset_password(
    State(panel): State<Arc<Panel>>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    form: Result<Form<PasswordForm>, FormRejection>,
) -> Response {
    let (id, s) = or_answer!(require(&panel, &headers, Role::Administrator));
    let f = or_answer!(checked(&s, form));
    let reauth = super::reauthenticate(
        &panel,
        &id,
        &s,
        &f.current,
        source(&peer),
        "relay account password reset",
        false,
    )
    .await;
    let (mut p, found) = page(&panel, &s).await;
    let t = p.c.t;
    if let Err(why) = reauth {
        p.row_error = Some((f.name, why));
        return render_status(StatusCode::FORBIDDEN, &p);
    }
    let bad = if f.password != f.password_again {
        Some(Problem::PasswordsDiffer)
    } else {
        mamori_core::password::check(&f.password, &[&f.name])
            .err()
            .map(Problem::Password)
    };
    if let Some(e) = bad {
        p.row_error = Some((f.name, problem(t, &e)));
        return render_status(StatusCode::BAD_REQUEST, &p);
    }
    let Some(password_hash) = hash(&f.password).await else {
        return super::message(StatusCode::INTERNAL_SERVER_ERROR, s.lang, "hashing failed");
    };
    let Some(new) = accounts::update(
        &found.accounts,
        &f.name,
        "password_hash",
        password_hash.into(),
    ) else {
        return super::message(StatusCode::NOT_FOUND, s.lang, t.not_found);
    };
    save(
        &panel,
        &s,
        &peer,
        ("panel_relay_account_password", &f.name, "password"),
        new,
        p,
    )
    .await
}

#[derive(Deserialize)]
pub(crate) struct RemoveForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    name: String,
    #[serde(default)]
    current: String,
}

pub(crate) async fn remove(
    State(panel): State<Arc<Panel>>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    form: Result<Form<RemoveForm>, FormRejection>,
) -> Response {
    let (id, s) = or_answer!(require(&panel, &headers, Role::Administrator));
    let f = or_answer!(checked(&s, form));
    let reauth = super::reauthenticate(
        &panel,
        &id,
        &s,
        &f.current,
        source(&peer),
        "relay account removal",
        false,
    )
    .await;
    let (mut p, found) = page(&panel, &s).await;
    let t = p.c.t;
    if let Err(why) = reauth {
        p.row_error = Some((f.name, why));
        return render_status(StatusCode::FORBIDDEN, &p);
    }
    let Some(new) = accounts::remove(&found.accounts, &f.name) else {
        return super::message(StatusCode::NOT_FOUND, s.lang, t.not_found);
    };
    save(
        &panel,
        &s,
        &peer,
        ("panel_relay_account_removed", &f.name, "removed"),
        new,
        p,
    )
    .await
}

csrf_form!(AddForm, SendersForm, PasswordForm, RemoveForm);
