//! What the panel's capability-link pages share (the timed hold's page, a download link's
//! sender page): no one is logged in, so they ask the relay as the panel itself, the link's
//! secret deciding; and a source that keeps opening links that open nothing waits, through
//! one throttle, so that guessing either kind of link costs the same time.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use mamori_core::control::{ErrorKind, Response as ControlResponse};

use super::{Peer, render_status, source};
use crate::state::{Panel, lock};

/// Why the relay gave no answer.
pub(super) enum Refused {
    /// It refused, with this kind and message (the relay's messages name no secret).
    Kind(ErrorKind, String),
    /// It could not be asked.
    Unreachable(String),
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Kind(kind, message) => write!(f, "{message} ({kind})"),
            Self::Unreachable(why) => f.write_str(why),
        }
    }
}

/// Asks the relay as the panel itself.
pub(super) async fn ask_relay(
    panel: &Panel,
    request: serde_json::Value,
) -> Result<serde_json::Value, Refused> {
    match mamori_core::control::call(
        &panel.sockets.smtpd,
        &request,
        std::time::Duration::from_secs(30),
    )
    .await
    {
        Ok(ControlResponse::Ok { data }) => Ok(data),
        Ok(ControlResponse::Error { kind, message }) => Err(Refused::Kind(kind, message)),
        Err(e) => Err(Refused::Unreachable(e.to_string())),
    }
}

/// The seconds the source of `peer` must wait before a link under `key` is looked at, if
/// it must.
pub(super) fn wait_of(panel: &Panel, peer: &Peer, key: &str) -> Option<u64> {
    let now = mamori_core::clock::unix_now();
    lock(&panel.hold_throttle)
        .check(source(peer), key, now)
        .err()
}

/// Counts a link under `key` that opened nothing against the source of `peer`.
pub(super) fn failed(panel: &Panel, peer: &Peer, key: &str) {
    let now = mamori_core::clock::unix_now();
    lock(&panel.hold_throttle).failed(source(peer), key, now);
}

/// 429 with `Retry-After: wait`: `page`, which says how long.
pub(super) fn too_many(page: &impl Template, wait: u64) -> Response {
    let mut response = render_status(StatusCode::TOO_MANY_REQUESTS, page);
    if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    response
}
