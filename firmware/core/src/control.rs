//! Control-socket framing: one JSON request per line from a client (the `mamori` CLI or the
//! admin panel), one JSON response line from the daemon. Each daemon's crate defines its
//! own request type; the response envelope and the server loop are shared here.
//!
//! The socket is a Unix stream socket readable only by the daemon's user and group, so
//! the file system decides who may manage the queue.

use serde::{Deserialize, Serialize};

/// A response from a daemon: either data or an error a person can read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Response {
    /// The request succeeded; `data` depends on the request.
    Ok {
        /// The result.
        data: serde_json::Value,
    },
    /// The request failed.
    Error {
        /// Why, for a person.
        message: String,
    },
}

/// Longest request line a daemon reads, so a client cannot make it buffer without end.
pub const MAX_REQUEST_LINE: usize = 64 * 1024;

/// Serves a daemon's control socket: one task per connection reads JSON lines of requests
/// `R` (a line past `max_line` bytes, or the end, closes the connection), answers each with
/// `handle` in order (a line that is no request gets an error `Response`), one JSON line per
/// answer. Never returns (a failed accept is skipped).
pub async fn serve<R, F, Fut>(listener: tokio::net::UnixListener, max_line: usize, handle: F)
where
    R: serde::de::DeserializeOwned + Send + 'static,
    F: Fn(R) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Response> + Send,
{
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let handle = handle.clone();
        tokio::spawn(async move {
            let (r, mut w) = stream.into_split();
            let mut lines = BufReader::new(r.take(max_line as u64)).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let response = match serde_json::from_str::<R>(&line) {
                    Ok(req) => handle(req).await,
                    Err(e) => Response::Error {
                        message: format!("bad request: {e}"),
                    },
                };
                let mut out = serde_json::to_vec(&response).unwrap_or_default();
                out.push(b'\n');
                if w.write_all(&out).await.is_err() {
                    break;
                }
            }
        });
    }
}
