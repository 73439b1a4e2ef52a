//! The relay's side of link mode's download links: where their store is, and the control
//! operations on them — the list for the panel, a revocation by an approver, and the
//! sender's page (through the panel, with the page's own secret). A revocation is written
//! to the audit log before it takes effect; neither secret is ever logged or answered.

use mamori_core::audit::AuditLog;
use mamori_core::control::{ErrorKind, Response};
use mamori_core::identity::Caller;
use mamori_links::record::Revocation;
use mamori_links::token::Purpose;
use mamori_links::{Link, LinkId, Secret, Store, StoreError};

/// The most links listed at once (the newest).
pub const MAX_LISTED: usize = 500;

/// A link as the panel shows it: no verifier, no password hash.
pub fn summary(link: &Link, now: u64) -> serde_json::Value {
    let record = &link.record;
    serde_json::json!({
        "id": record.id,
        "created": record.created,
        "expires": record.expires,
        "state": link.state(now),
        "erased": link.erased,
        "queue_id": record.queue_id,
        "sender": record.sender,
        "recipients": record.recipients,
        "subject": record.subject,
        "max_downloads": record.max_downloads,
        "password": record.password_hash.is_some(),
        "password_failures": link.password_failures,
        "files": record.files.iter().enumerate().map(|(i, f)| serde_json::json!({
            "name": f.name,
            "size": f.size,
            "downloads": link.downloads_of(i as u32),
        })).collect::<Vec<_>>(),
        "downloads": link.downloads.iter().rev().take(50).map(|d| serde_json::json!({
            "at": d.at,
            "file": record.files.get(d.file as usize).map(|f| f.name.as_str()).unwrap_or("?"),
            "from": d.from,
        })).collect::<Vec<_>>(),
        "revoked": link.revoked,
    })
}

fn store_error(e: StoreError) -> Response {
    match e {
        StoreError::AlreadyRevoked => Response::error(ErrorKind::Conflict, e.to_string()),
        other => Response::error(ErrorKind::Internal, other.to_string()),
    }
}

fn not_found() -> Response {
    Response::error(ErrorKind::NotFound, "no such link")
}

/// The links, newest first.
pub async fn list(store: Store) -> Response {
    let now = crate::datetime::unix_now();
    let listed = tokio::task::spawn_blocking(move || store.list()).await;
    match listed {
        Ok(Ok((links, errors))) => {
            for e in errors {
                tracing::warn!(error = %e, "a link record cannot be read");
            }
            Response::Ok {
                data: serde_json::Value::Array(
                    links
                        .iter()
                        .take(MAX_LISTED)
                        .map(|l| summary(l, now))
                        .collect(),
                ),
            }
        }
        Ok(Err(e)) => store_error(e),
        Err(e) => Response::error(ErrorKind::Internal, e.to_string()),
    }
}

/// Revokes link `id` for `by` (a panel user, or the sender through the page), audited
/// first.
fn revoke(
    store: &Store,
    audit: &AuditLog,
    link: &Link,
    id: &LinkId,
    by: &str,
    through: &str,
) -> Result<(), Response> {
    if link.revoked.is_some() {
        return Err(Response::error(
            ErrorKind::Conflict,
            "the link was revoked already",
        ));
    }
    audit
        .record(
            "link_revoked",
            serde_json::json!({
                "link": id.as_str(),
                "queue_id": link.record.queue_id,
                "sender": link.record.sender,
                "by": by,
                "through": through,
            }),
        )
        .map_err(|e| {
            Response::error(
                ErrorKind::Internal,
                format!("the audit log cannot be written ({e})"),
            )
        })?;
    store
        .revoke(
            id,
            &Revocation {
                at: crate::datetime::unix_now(),
                by: by.to_owned(),
            },
        )
        .map_err(store_error)?;
    tracing::info!(link = %id, by, "download link revoked");
    Ok(())
}

/// An approver revokes link `id` from the panel or the CLI.
pub async fn revoke_by(store: Store, audit: &AuditLog, id: &str, by: &Caller) -> Response {
    let Some(id) = LinkId::parse(id) else {
        return not_found();
    };
    let link = match store.load(&id) {
        Ok(Some(link)) => link,
        Ok(None) => return not_found(),
        Err(e) => return store_error(e),
    };
    match revoke(&store, audit, &link, &id, &by.audit_name(), "panel") {
        Ok(()) => Response::Ok {
            data: serde_json::json!({ "revoked": id.as_str() }),
        },
        Err(response) => response,
    }
}

/// The sender's page of a link: what it is and its downloads, or (`revoke`) revoke it.
/// The page's secret must match; a wrong one is answered as no link at all.
pub async fn manage(
    store: Store,
    audit: &AuditLog,
    id: &str,
    token: &str,
    revoke_it: bool,
) -> Response {
    let (Some(id), Some(secret)) = (LinkId::parse(id), Secret::parse(token)) else {
        return not_found();
    };
    let link = match store.load(&id) {
        Ok(Some(link)) => link,
        Ok(None) => return not_found(),
        Err(e) => return store_error(e),
    };
    if !secret.matches(&link.record.manage_verifier, Purpose::Manage) {
        return not_found();
    }
    if revoke_it {
        if let Err(response) = revoke(&store, audit, &link, &id, "sender", "capability link") {
            return response;
        }
        return match store.load(&id) {
            Ok(Some(link)) => Response::Ok {
                data: summary(&link, crate::datetime::unix_now()),
            },
            Ok(None) => not_found(),
            Err(e) => store_error(e),
        };
    }
    Response::Ok {
        data: summary(&link, crate::datetime::unix_now()),
    }
}
