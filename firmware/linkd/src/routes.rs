//! The routes: `GET /d/<id>/<secret>` shows a link's page, `POST /d/<id>/<secret>/<n>`
//! gives file `n` (counted before a byte is sent), and everything else is 404. Every answer
//! carries headers that keep the link's secret from leaking (no referrer, no caching) and
//! the page from being framed or running script.

use std::io::Read;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::rejection::FormRejection;
use axum::extract::{Extension, Form, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use mamori_admind::Peer;
use mamori_links::record::Download;
use mamori_links::token::Purpose;
use mamori_links::{Link, LinkId, Refusal, Secret, Store};
use mamori_panel::throttle::LoginThrottle;
use serde::Deserialize;

use crate::pages;

/// The longest password taken from the form.
const MAX_PASSWORD: usize = 256;

/// The service's state.
struct Service {
    store: Store,
    /// Sources that opened links that open nothing wait, as failed logins do.
    throttle: Mutex<LoginThrottle>,
    /// Downloads are counted one at a time, so that two at once cannot both take the last.
    gate: tokio::sync::Mutex<()>,
}

use mamori_links::CHECK_PATH;

/// The routes over `store`; `instance` is this box's service id, answered at
/// [`CHECK_PATH`] so that the panel's self-test knows it reached this box and not another.
pub fn router(store: Store, instance: String) -> Router {
    let service = Arc::new(Service {
        store,
        throttle: Mutex::default(),
        gate: tokio::sync::Mutex::new(()),
    });
    let check = format!("mamori-linkd {instance}\n");
    Router::new()
        .route("/", get(index))
        .route(
            CHECK_PATH,
            get(move || {
                let check = check.clone();
                async move { check }
            }),
        )
        .route("/d/{id}/{secret}", get(show))
        .route("/d/{id}/{secret}/{file}", post(download))
        .fallback(not_found)
        .layer(axum::middleware::map_response(secure_headers))
        .with_state(service)
}

async fn secure_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    let mut set = |name: header::HeaderName, value: &'static str| {
        headers.insert(name, HeaderValue::from_static(value));
    };
    set(
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    set(header::REFERRER_POLICY, "no-referrer");
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::X_FRAME_OPTIONS, "DENY");
    set(header::CACHE_CONTROL, "no-store");
    set(
        header::STRICT_TRANSPORT_SECURITY,
        "max-age=31536000; includeSubDomains",
    );
    set(
        header::HeaderName::from_static("x-robots-tag"),
        "noindex, nofollow",
    );
    response
}

fn html(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

async fn index() -> Response {
    html(
        StatusCode::OK,
        pages::message(
            "ファイルのダウンロードには、メールに記載されたリンクを開いてください。",
            "To download files, open the link given in the mail.",
        ),
    )
}

async fn not_found() -> Response {
    html(
        StatusCode::NOT_FOUND,
        pages::message(
            "このリンクは見つかりません。メールに記載されたリンクをそのまま開いてください。",
            "This link does not exist. Open the link exactly as the mail gives it.",
        ),
    )
}

fn source(peer: &Peer) -> std::net::IpAddr {
    peer.0.ip()
}

impl Service {
    /// 429 with Retry-After when the source must wait.
    fn waiting(&self, peer: &Peer, id: &str) -> Option<Response> {
        let now = mamori_core::clock::unix_now();
        let throttle = self.throttle.lock().unwrap_or_else(|p| p.into_inner());
        let wait = throttle.check(source(peer), id, now).err()?;
        let mut response = html(
            StatusCode::TOO_MANY_REQUESTS,
            pages::message(
                "失敗が続いたため、しばらく待ってからお試しください。",
                "Too many failed tries: please wait a while and try again.",
            ),
        );
        if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        Some(response)
    }

    fn failed(&self, peer: &Peer, id: &str) {
        let now = mamori_core::clock::unix_now();
        self.throttle
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .failed(source(peer), id, now);
    }

    /// The link `id` opened by `secret`, or the answer to give instead (404, counted
    /// against the source, for a link that does not exist or a wrong secret alike).
    async fn open(
        self: &Arc<Self>,
        peer: &Peer,
        id: &str,
        secret: &str,
    ) -> Result<(LinkId, Secret, Link), Response> {
        if let Some(wait) = self.waiting(peer, id) {
            return Err(wait);
        }
        let (Some(link_id), Some(secret)) = (LinkId::parse(id), Secret::parse(secret)) else {
            self.failed(peer, id);
            return Err(not_found().await);
        };
        let store = self.store.clone();
        let lookup = link_id.clone();
        let loaded = tokio::task::spawn_blocking(move || store.load(&lookup)).await;
        let link = match loaded {
            Ok(Ok(Some(link))) if secret.matches(&link.record.verifier, Purpose::Download) => link,
            Ok(Ok(_)) => {
                self.failed(peer, id);
                return Err(not_found().await);
            }
            Ok(Err(e)) => {
                tracing::warn!(link = %link_id, error = %e, "a link could not be read");
                return Err(unavailable());
            }
            Err(e) => {
                tracing::warn!(error = %e, "a link lookup failed");
                return Err(unavailable());
            }
        };
        Ok((link_id, secret, link))
    }
}

fn unavailable() -> Response {
    html(
        StatusCode::SERVICE_UNAVAILABLE,
        pages::message(
            "一時的にダウンロードできません。しばらくしてからお試しください。",
            "Downloads are not available just now: please try again later.",
        ),
    )
}

async fn show(
    State(service): State<Arc<Service>>,
    Extension(peer): Extension<Peer>,
    Path((id, secret)): Path<(String, String)>,
) -> Response {
    let (link_id, secret, link) = match service.open(&peer, &id, &secret).await {
        Ok(v) => v,
        Err(response) => return response,
    };
    let action = format!("/d/{link_id}/{}", secret.encode());
    let now = mamori_core::clock::unix_now();
    let status = if link.state(now) == mamori_links::State::Open {
        StatusCode::OK
    } else {
        StatusCode::GONE
    };
    html(status, pages::link(&link, &action, now, None))
}

/// The download form.
#[derive(Deserialize)]
struct DownloadForm {
    #[serde(default)]
    password: String,
}

fn refusal(link: &Link, action: &str, why: Refusal) -> Response {
    let now = mamori_core::clock::unix_now();
    let (status, note) = match why {
        Refusal::WrongPassword => (
            StatusCode::FORBIDDEN,
            ("パスワードが違います。", "The password is wrong."),
        ),
        Refusal::Exhausted => (
            StatusCode::GONE,
            (
                "このファイルは、許可された回数ダウンロードされました。",
                "This file was downloaded as often as allowed.",
            ),
        ),
        Refusal::NoSuchFile => (
            StatusCode::NOT_FOUND,
            ("ファイルがありません。", "No such file."),
        ),
        Refusal::Erased | Refusal::Expired | Refusal::Revoked | Refusal::Locked => (
            StatusCode::GONE,
            (
                "このリンクからはダウンロードできません。",
                "Nothing can be downloaded from this link.",
            ),
        ),
    };
    html(status, pages::link(link, action, now, Some(note)))
}

async fn download(
    State(service): State<Arc<Service>>,
    Extension(peer): Extension<Peer>,
    Path((id, secret, file)): Path<(String, String, String)>,
    form: Result<Form<DownloadForm>, FormRejection>,
) -> Response {
    let (link_id, secret, _) = match service.open(&peer, &id, &secret).await {
        Ok(v) => v,
        Err(response) => return response,
    };
    let action = format!("/d/{link_id}/{}", secret.encode());
    let Ok(index) = file.parse::<u32>() else {
        return not_found().await;
    };
    let password = form.map(|Form(f)| f.password).unwrap_or_default();
    // One download at a time is decided and counted: the link is read again under the
    // gate, so the count it sees is the latest.
    let gate = service.gate.lock().await;
    let store = service.store.clone();
    let lookup = link_id.clone();
    let link = match tokio::task::spawn_blocking(move || store.load(&lookup)).await {
        Ok(Ok(Some(link))) => link,
        _ => return unavailable(),
    };
    let now = mamori_core::clock::unix_now();
    if let Err(why) = link.decide(index, now) {
        return refusal(&link, &action, why);
    }
    if password.len() > MAX_PASSWORD || !link.password_ok(&password) {
        let store = service.store.clone();
        let failing = link_id.clone();
        let _ = tokio::task::spawn_blocking(move || store.record_failure(&failing, now)).await;
        service.failed(&peer, &id);
        tracing::info!(link = %link_id, from = %source(&peer), "wrong password for a download link");
        let link = service.store.load(&link_id).ok().flatten().unwrap_or(link);
        return refusal(&link, &action, Refusal::WrongPassword);
    }
    let entry = link.record.files[index as usize].clone();
    let store = service.store.clone();
    let counting = link_id.clone();
    let from = source(&peer).to_string();
    let opened = tokio::task::spawn_blocking(move || {
        store.record_download(
            &counting,
            &Download {
                at: now,
                file: index,
                from,
            },
        )?;
        store.open_file(&counting, index, &secret)
    })
    .await;
    drop(gate);
    let opener = match opened {
        Ok(Ok(o)) => o,
        Ok(Err(e)) => {
            tracing::warn!(link = %link_id, error = %e, "a download could not be started");
            return unavailable();
        }
        Err(_) => return unavailable(),
    };
    tracing::info!(link = %link_id, file = index, from = %source(&peer), "file downloaded");
    file_response(opener, &entry.name, entry.size)
}

/// The file as an attachment (never shown in the browser: its type is not trusted),
/// streamed from the sealed file in chunks.
fn file_response(mut opener: impl Read + Send + 'static, name: &str, size: u64) -> Response {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    tokio::task::spawn_blocking(move || {
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            match opener.read(&mut buffer) {
                Ok(0) => return,
                Ok(n) => {
                    if tx.blocking_send(Ok(buffer[..n].to_vec())).is_err() {
                        return;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "a sealed file does not open: the download is cut");
                    let _ = tx.blocking_send(Err(e));
                    return;
                }
            }
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    if let Ok(v) = HeaderValue::from_str(&content_disposition(name)) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    if let Ok(v) = HeaderValue::from_str(&size.to_string()) {
        headers.insert(header::CONTENT_LENGTH, v);
    }
    (StatusCode::OK, headers, Body::from_stream(stream)).into_response()
}

/// `attachment` with the name as RFC 6266 gives it: an ASCII stand-in and the UTF-8 name.
fn content_disposition(name: &str) -> String {
    let fallback: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.() ".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_go_into_the_header_safely() {
        assert_eq!(
            content_disposition("見積\"書\r\n.pdf"),
            "attachment; filename=\"______.pdf\"; filename*=UTF-8''%E8%A6%8B%E7%A9%8D%22%E6%9B%B8%0D%0A.pdf"
        );
        assert!(HeaderValue::from_str(&content_disposition("a\u{0}b")).is_ok());
    }
}
