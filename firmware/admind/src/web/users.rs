//! The panel's users: the list, adding and removing people (administrators only; removing
//! one ends their sessions at once; the last administrator stays), and changing one's own
//! password after entering the current one again (which also ends one's other sessions).
//! A role change ends the person's sessions too. Every change is in the panel's audit log
//! before it takes effect.

use std::sync::Arc;

use askama::Template;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Extension, Form, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use mamori_panel::i18n::{Texts, fill, problem};
use mamori_panel::session::Session;
use mamori_panel::users::{Role, UserError};
use mamori_panel::wizard::Problem;
use serde::Deserialize;

use super::{Chrome, Peer, checked, csrf_form, or_answer, render, render_status, require, source};
use crate::state::{Panel, lock};

/// One row of the list.
struct UserRow {
    name: String,
    role: &'static str,
    /// The role's form value.
    role_code: &'static str,
    you: bool,
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    c: Chrome,
    admin: bool,
    users: Vec<UserRow>,
    /// The password is asked again for sensitive changes.
    ask_password: bool,
    /// The roles, with their texts.
    role_choices: Vec<(&'static str, &'static str)>,
    done: Option<String>,
    add_name: String,
    add_error: Option<String>,
    add_password_error: Option<String>,
    remove_error: Option<String>,
    current_error: Option<String>,
    new_password_error: Option<String>,
}

fn role_text(t: &Texts, role: Role) -> &'static str {
    match role {
        Role::Administrator => t.role_administrator,
        Role::Approver => t.role_approver,
        Role::Auditor => t.role_auditor,
    }
}

fn page(panel: &Panel, s: &Session) -> UsersPage {
    let c = Chrome::new(Some(s), s.lang, |t| t.users_title);
    let users = lock(&panel.users)
        .users
        .iter()
        .map(|u| UserRow {
            name: u.name.clone(),
            role: role_text(c.t, u.role),
            role_code: u.role.as_str(),
            you: u.name == s.user,
        })
        .collect();
    let role_choices = [Role::Administrator, Role::Approver, Role::Auditor]
        .into_iter()
        .map(|r| (r.as_str(), role_text(c.t, r)))
        .collect();
    UsersPage {
        admin: s.role == Role::Administrator,
        users,
        ask_password: !s.recently_authenticated(mamori_core::clock::unix_now()),
        role_choices,
        done: None,
        add_name: String::new(),
        add_error: None,
        add_password_error: None,
        remove_error: None,
        current_error: None,
        new_password_error: None,
        c,
    }
}

/// `?done=added:NAME` and the like after a change (post/redirect/get).
#[derive(Deserialize)]
pub(crate) struct DoneQuery {
    done: String,
}

pub(crate) async fn list(
    State(panel): State<Arc<Panel>>,
    headers: HeaderMap,
    query: Result<Query<DoneQuery>, QueryRejection>,
) -> Response {
    let (_, s) = or_answer!(require(&panel, &headers, Role::Auditor));
    let mut p = page(&panel, &s);
    let t = p.c.t;
    if let Ok(Query(q)) = query {
        // Only these fixed messages, naming a user the list shows (or not).
        p.done = match q.done.split_once(':') {
            Some(("added", name)) if p.users.iter().any(|u| u.name == name) => {
                Some(fill(t.user_added, name))
            }
            Some(("removed", name)) if !p.users.iter().any(|u| u.name == name) => {
                Some(fill(t.user_removed, name))
            }
            Some(("role", name)) if p.users.iter().any(|u| u.name == name) => {
                Some(fill(t.user_role_changed, name))
            }
            None if q.done == "password" => Some(t.password_changed.to_string()),
            _ => None,
        };
    }
    render(&p)
}

#[derive(Deserialize)]
pub(crate) struct AddForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    name: String,
    role: String,
    password: String,
    password_again: String,
}

pub(crate) async fn add(
    State(panel): State<Arc<Panel>>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    form: Result<Form<AddForm>, FormRejection>,
) -> Response {
    let (_, s) = or_answer!(require(&panel, &headers, Role::Administrator));
    let f = or_answer!(checked(&s, form));
    let mut p = page(&panel, &s);
    let t = p.c.t;
    let name: String = f.name.trim().chars().take(64).collect();
    p.add_name = name.clone();
    let Some(role) = Role::parse(&f.role) else {
        return super::message(StatusCode::BAD_REQUEST, s.lang, t.bad_request);
    };
    if f.password != f.password_again {
        p.add_password_error = Some(problem(t, &Problem::PasswordsDiffer));
        return render_status(StatusCode::BAD_REQUEST, &p);
    }
    let hostname = panel.hostname.clone();
    let from = source(&peer);
    let added = tokio::task::block_in_place(|| {
        panel.change_users(
            "panel_user_added",
            serde_json::json!({"by": s.user, "user": name, "role": role, "source": from.to_string()}),
            |users| users.add(&name, role, &f.password, s.lang, &[&hostname, "mamori"]),
        )
    });
    match added {
        Ok(Ok(())) => Redirect::to(&format!("/system/users?done=added:{name}")).into_response(),
        Ok(Err(UserError::Password(pw))) => {
            p.add_password_error = Some(problem(t, &Problem::Password(pw)));
            render_status(StatusCode::BAD_REQUEST, &p)
        }
        Ok(Err(e)) => {
            p.add_error = Some(user_error(t, &e));
            render_status(StatusCode::BAD_REQUEST, &p)
        }
        Err(e) => super::message(StatusCode::INTERNAL_SERVER_ERROR, s.lang, &e.to_string()),
    }
}

fn user_error(t: &Texts, e: &UserError) -> String {
    match e {
        UserError::BadName => t.problem_user_name.into(),
        UserError::Exists => t.user_exists.into(),
        UserError::LastAdministrator => t.user_last_admin.into(),
        UserError::TooMany => t.user_too_many.into(),
        UserError::Password(p) => problem(t, &Problem::Password(p.clone())),
        UserError::NotFound | UserError::Hash(_) => t.bad_request.into(),
    }
}

#[derive(Deserialize)]
pub(crate) struct RemoveForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    name: String,
}

pub(crate) async fn remove(
    State(panel): State<Arc<Panel>>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    form: Result<Form<RemoveForm>, FormRejection>,
) -> Response {
    let (_, s) = or_answer!(require(&panel, &headers, Role::Administrator));
    let f = or_answer!(checked(&s, form));
    let from = source(&peer);
    let removed = panel.change_users(
        "panel_user_removed",
        serde_json::json!({"by": s.user, "user": f.name, "source": from.to_string()}),
        |users| users.remove(&f.name),
    );
    match removed {
        Ok(Ok(_)) => {
            // Their sessions end now, not at their next timeout.
            let ended = lock(&panel.sessions).end_user(&f.name);
            tracing::info!(user = %f.name, by = %s.user, sessions = ended, "panel user removed");
            Redirect::to(&format!("/system/users?done=removed:{}", f.name)).into_response()
        }
        Ok(Err(e)) => {
            let mut p = page(&panel, &s);
            p.remove_error = Some(user_error(p.c.t, &e));
            render_status(StatusCode::CONFLICT, &p)
        }
        Err(e) => super::message(StatusCode::INTERNAL_SERVER_ERROR, s.lang, &e.to_string()),
    }
}

#[derive(Deserialize)]
pub(crate) struct RoleForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    name: String,
    role: String,
    /// The administrator's password, to make someone an administrator.
    #[serde(default)]
    current: String,
}

/// A new role for a user: their sessions end at once (a session carries the role it
/// began with), and the last administrator stays one.
pub(crate) async fn change_role(
    State(panel): State<Arc<Panel>>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    form: Result<Form<RoleForm>, FormRejection>,
) -> Response {
    let (id, s) = or_answer!(require(&panel, &headers, Role::Administrator));
    let f = or_answer!(checked(&s, form));
    let Some(role) = Role::parse(&f.role) else {
        return super::message(StatusCode::BAD_REQUEST, s.lang, s.lang.texts().bad_request);
    };
    let from = source(&peer);
    // Making someone an administrator hands over everything: the password again.
    if role == Role::Administrator
        && let Err(why) = super::reauthenticate(
            &panel,
            &id,
            &s,
            &f.current,
            from,
            "making an administrator",
            false,
        )
        .await
    {
        let mut p = page(&panel, &s);
        p.remove_error = Some(why);
        return render_status(StatusCode::FORBIDDEN, &p);
    }
    let changed = panel.change_users(
        "panel_user_role_changed",
        serde_json::json!({"by": s.user, "user": f.name, "role": role, "source": from.to_string()}),
        |users| users.set_role(&f.name, role),
    );
    match changed {
        Ok(Ok(_)) => {
            let ended = lock(&panel.sessions).end_user(&f.name);
            tracing::info!(user = %f.name, by = %s.user, sessions = ended, "panel user's role changed");
            Redirect::to(&format!("/system/users?done=role:{}", f.name)).into_response()
        }
        Ok(Err(e)) => {
            let mut p = page(&panel, &s);
            p.remove_error = Some(user_error(p.c.t, &e));
            render_status(StatusCode::CONFLICT, &p)
        }
        Err(e) => super::message(StatusCode::INTERNAL_SERVER_ERROR, s.lang, &e.to_string()),
    }
}

#[derive(Deserialize)]
pub(crate) struct PasswordForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    current: String,
    password: String,
    password_again: String,
}

pub(crate) async fn change_password(
    State(panel): State<Arc<Panel>>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    form: Result<Form<PasswordForm>, FormRejection>,
) -> Response {
    let (id, s) = or_answer!(require(&panel, &headers, Role::Auditor));
    let f = or_answer!(checked(&s, form));
    let mut p = page(&panel, &s);
    let t = p.c.t;
    let from = source(&peer);
    let now = mamori_core::clock::unix_now();
    // Re-authentication: the current password every time, throttled like a login.
    if let Err(why) =
        super::reauthenticate(&panel, &id, &s, &f.current, from, "password change", true).await
    {
        p.current_error = Some(why);
        return render_status(StatusCode::FORBIDDEN, &p);
    }
    if f.password != f.password_again {
        p.new_password_error = Some(problem(t, &Problem::PasswordsDiffer));
        return render_status(StatusCode::BAD_REQUEST, &p);
    }
    let hostname = panel.hostname.clone();
    let changed = tokio::task::block_in_place(|| {
        panel.change_users(
            "panel_password_changed",
            serde_json::json!({"by": s.user, "user": s.user, "source": from.to_string()}),
            |users| users.set_password(&s.user, &f.password, &[&hostname, "mamori"]),
        )
    });
    match changed {
        Ok(Ok(())) => {
            // Every session of the person ends; this browser gets a new one.
            let mut sessions = lock(&panel.sessions);
            sessions.end_user(&s.user);
            let Some(new_id) = sessions.start(&s.user, s.role, s.lang, &from.to_string(), now)
            else {
                return Redirect::to("/login").into_response();
            };
            drop(sessions);
            let mut r = Redirect::to("/system/users?done=password").into_response();
            r.headers_mut()
                .insert(header::SET_COOKIE, super::set_cookie(&new_id));
            r
        }
        Ok(Err(e)) => {
            p.new_password_error = Some(user_error(t, &e));
            render_status(StatusCode::BAD_REQUEST, &p)
        }
        Err(e) => super::message(StatusCode::INTERNAL_SERVER_ERROR, s.lang, &e.to_string()),
    }
}

csrf_form!(AddForm, RemoveForm, RoleForm, PasswordForm);
