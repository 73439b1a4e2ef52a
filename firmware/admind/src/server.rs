//! The listeners: HTTPS (rustls, HTTP/1.1 by hyper) with bounded handshakes, header reads,
//! connection lifetimes and connection counts; and plain HTTP that only redirects to HTTPS.

use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use mamori_core::resident::Activity;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::web::Peer;

/// The most connections served at once per listener; more wait for a free slot.
pub const MAX_CONNECTIONS: usize = 256;
/// A TLS handshake must finish within this.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// A request's headers must arrive within this.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(15);
/// The longest a connection lives.
pub const CONNECTION_LIFETIME: Duration = Duration::from_secs(10 * 60);
/// After this long with no connection open, the server gives back the pages it is not
/// using ([`mamori_core::resident`]): nobody has the page open (a browser's keep-alive
/// connection counts as open), and what the next visit needs comes back from the page
/// cache in about a millisecond.
pub const IDLE_RELEASE: Duration = Duration::from_secs(3);

/// The TLS configuration in force; replaced live when the administrator uploads a
/// certificate.
pub type LiveTls = Arc<RwLock<Arc<rustls::ServerConfig>>>;

/// Serves `app` over TLS on `listener` until the runtime ends, counting each connection
/// in `activity` while it is open.
pub async fn serve_https(listener: TcpListener, tls: LiveTls, app: Router, activity: Activity) {
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok(permit) = slots.clone().acquire_owned().await else {
            return;
        };
        let (tcp, peer) = match listener.accept().await {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let config = tls.read().unwrap_or_else(|p| p.into_inner()).clone();
        let app = app.clone();
        let busy = activity.begin();
        tokio::spawn(async move {
            let _permit = permit;
            let _busy = busy;
            let accepted =
                tokio::time::timeout(HANDSHAKE_TIMEOUT, TlsAcceptor::from(config).accept(tcp))
                    .await;
            let stream = match accepted {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    tracing::debug!(%peer, error = %e, "TLS handshake failed");
                    return;
                }
                Err(_) => return,
            };
            serve_connection(TokioIo::new(stream), peer, app).await;
        });
    }
}

async fn serve_connection<I>(io: I, peer: SocketAddr, app: Router)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    use tower::ServiceExt;
    let service =
        hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
            request.extensions_mut().insert(Peer(peer));
            app.clone().oneshot(request.map(axum::body::Body::new))
        });
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .max_buf_size(64 * 1024)
        .serve_connection(io, service);
    let _ = tokio::time::timeout(CONNECTION_LIFETIME, connection).await;
}

/// Serves plain HTTP on `listener`: every request is redirected to the same path on
/// `https://<host>:<https_port>`; nothing else is served. Each connection counts in
/// `activity` while it is open.
pub async fn serve_redirect(listener: TcpListener, https_port: u16, activity: Activity) {
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok(permit) = slots.clone().acquire_owned().await else {
            return;
        };
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        let busy = activity.begin();
        tokio::spawn(async move {
            let _permit = permit;
            let _busy = busy;
            let service = hyper::service::service_fn(
                move |request: hyper::Request<hyper::body::Incoming>| async move {
                    Ok::<_, std::convert::Infallible>(redirect(&request, https_port))
                },
            );
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .keep_alive(false)
                .serve_connection(TokioIo::new(tcp), service);
            let _ = tokio::time::timeout(Duration::from_secs(30), connection).await;
        });
    }
}

/// The redirect for one plain-HTTP request: `Host` without its port, a path of plain
/// characters, 308 so that a form is not turned into a GET.
fn redirect<B>(request: &hyper::Request<B>, https_port: u16) -> hyper::Response<String> {
    let host = request
        .headers()
        .get(hyper::header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(strip_port)
        .filter(|h| {
            !h.is_empty()
                && h.len() <= 253
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
        });
    let mut response = hyper::Response::new(String::new());
    let Some(host) = host else {
        *response.status_mut() = hyper::StatusCode::BAD_REQUEST;
        *response.body_mut() = "HTTPS only\n".into();
        return response;
    };
    let path = request.uri().path_and_query().map_or("/", |p| p.as_str());
    let path = if path.starts_with('/') && !path.starts_with("//") {
        path
    } else {
        "/"
    };
    let location = if https_port == 443 {
        format!("https://{host}{path}")
    } else {
        format!("https://{host}:{https_port}{path}")
    };
    *response.status_mut() = hyper::StatusCode::PERMANENT_REDIRECT;
    if let Ok(v) = hyper::header::HeaderValue::from_str(&location) {
        response.headers_mut().insert(hyper::header::LOCATION, v);
    }
    response
}

/// `host` of `host:port`, `[v6]` of `[v6]:port`.
pub(crate) fn strip_port(h: &str) -> &str {
    if let Some(end) = h.find(']') {
        return &h[..=end];
    }
    match h.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => h,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn location(host: &str, path: &str, port: u16) -> (u16, Option<String>) {
        let req = hyper::Request::builder()
            .uri(path)
            .header("host", host)
            .body(())
            .unwrap();
        let r = redirect(&req, port);
        (
            r.status().as_u16(),
            r.headers()
                .get("location")
                .map(|v| v.to_str().unwrap().to_string()),
        )
    }

    #[test]
    fn plain_http_only_redirects() {
        assert_eq!(
            location("192.168.1.1", "/login?x=1", 443),
            (308, Some("https://192.168.1.1/login?x=1".into()))
        );
        assert_eq!(
            location("mamori.local:8080", "/", 8443),
            (308, Some("https://mamori.local:8443/".into()))
        );
        assert_eq!(
            location("[fd00::1]:80", "/", 443),
            (308, Some("https://[fd00::1]/".into()))
        );
        // A Host that would inject a header or another site is refused.
        assert_eq!(location("evil.example/x", "/", 443).0, 400);
        assert_eq!(location("a b", "/", 443).0, 400);
    }
}
