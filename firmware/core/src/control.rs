//! The control-socket protocol: one JSON request per line from a client (the `mamori`
//! CLI or the admin panel), one JSON response line from the daemon.
//!
//! The socket is a Unix stream socket readable only by the daemon's user and group, so
//! the file system decides who may manage the queue.

use serde::{Deserialize, Serialize};

/// A request to the SMTP daemon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum SmtpRequest {
    /// List queued messages.
    QueueList,
    /// Show one message's envelope and per-recipient state.
    QueueShow {
        /// Queue ID.
        id: String,
    },
    /// Keep a message from being delivered until released.
    QueueHold {
        /// Queue ID.
        id: String,
    },
    /// Release a held message for delivery.
    QueueRelease {
        /// Queue ID.
        id: String,
    },
    /// Remove a message without delivering or bouncing it.
    QueueDelete {
        /// Queue ID.
        id: String,
    },
    /// Try every deferred message now.
    QueueRetry,
    /// List the messages DLP holds in the quarantine.
    QuarantineList,
    /// What is held, and what DLP decided since the daemon started.
    QuarantineStats,
    /// Release a quarantined message for delivery (once: a second release fails).
    QuarantineRelease {
        /// Queue ID.
        id: String,
        /// Who released it, for the audit log.
        #[serde(default)]
        by: Option<String>,
    },
    /// Delete a quarantined message without delivering it.
    QuarantineDelete {
        /// Queue ID.
        id: String,
        /// Who deleted it, for the audit log.
        #[serde(default)]
        by: Option<String>,
    },
    /// The counters: received, delivered, deferred, bounced, rejected.
    Stats,
}

/// A request to the firewall daemon.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum FwRequest {
    /// Apply a model on probation: it is reverted unless confirmed within the timeout.
    Apply {
        /// The model (the `[firewall]` section).
        model: Box<mamori_firewall::FirewallConfig>,
        /// Seconds to confirm (default 60).
        #[serde(default)]
        timeout_secs: Option<u64>,
        /// Who asked, for the audit log.
        #[serde(default)]
        by: Option<String>,
    },
    /// Keep the model on probation.
    Confirm {
        /// The apply being confirmed (any, when absent).
        #[serde(default)]
        serial: Option<u64>,
        /// Who confirmed, for the audit log.
        #[serde(default)]
        by: Option<String>,
    },
    /// Put the confirmed model back now.
    Rollback {
        /// Who asked, for the audit log.
        #[serde(default)]
        by: Option<String>,
    },
    /// The models, the probation and the counters of every rule.
    Status,
    /// Replace, add or remove elements of a named set without touching the rules.
    SetElements {
        /// The set's name.
        set: String,
        /// Elements to add (addresses, networks or ranges, with an optional timeout, as in
        /// the model).
        #[serde(default)]
        add: Vec<mamori_firewall::model::SetElement>,
        /// Elements to remove.
        #[serde(default)]
        remove: Vec<mamori_firewall::model::SetElement>,
    },
    /// The LAN devices the periodic ARP sweep found: IP, MAC, vendor, first and last seen.
    Devices,
}

/// Longest request line the firewall daemon reads (a model with large sets is big).
pub const MAX_FW_REQUEST_LINE: usize = 16 << 20;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip_as_tagged_json() {
        let r = SmtpRequest::QueueShow { id: "ABC".into() };
        let text = serde_json::to_string(&r).unwrap();
        assert_eq!(text, r#"{"op":"queue_show","id":"ABC"}"#);
        assert_eq!(serde_json::from_str::<SmtpRequest>(&text).unwrap(), r);
        assert!(serde_json::from_str::<SmtpRequest>(r#"{"op":"rm_rf"}"#).is_err());
    }
}
