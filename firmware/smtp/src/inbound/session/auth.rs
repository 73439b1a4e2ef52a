//! AUTH PLAIN and LOGIN (RFC 4954, 4616), only over TLS on submission listeners.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use smtp_proto::{AUTH_LOGIN, AUTH_PLAIN};
use tokio::io::{AsyncRead, AsyncWrite};

use super::{Next, Session, State};
use crate::inbound::reply::Reply;

/// Failed attempts before the connection is closed.
const MAX_AUTH_FAILURES: usize = 3;

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<S> {
    pub(super) async fn auth(&mut self, mechanism: u64, initial: String) -> std::io::Result<Next> {
        if !self.auth_offered() {
            if !self.tls && self.kind != crate::settings::ListenerKind::Relay {
                self.reply(Reply::new(
                    538,
                    "5.7.11",
                    "Encryption required for requested authentication mechanism",
                ));
            } else {
                self.reply(Reply::new(
                    503,
                    "5.5.1",
                    "Error: authentication not enabled",
                ));
            }
            return Ok(Next::Continue);
        }
        if self.auth_user.is_some() {
            self.reply(Reply::new(503, "5.5.1", "Error: already authenticated"));
            return Ok(Next::Continue);
        }
        if matches!(self.state, State::Mail(_)) {
            self.reply(Reply::new(
                503,
                "5.5.1",
                "Error: MAIL transaction in progress",
            ));
            return Ok(Next::Continue);
        }
        let ip = self.peer.ip();
        if let Some(wait) = self.ctx.auth_throttle.client_wait(ip) {
            tracing::warn!(peer = %self.peer, wait_secs = wait.as_secs(), "AUTH refused: too many failures from this address");
            self.reply(throttled(wait));
            return Ok(Next::Continue);
        }
        let creds = match mechanism {
            AUTH_PLAIN => self.auth_plain(initial).await?,
            AUTH_LOGIN => self.auth_login(initial).await?,
            _ => {
                self.reply(Reply::new(504, "5.5.4", "Unrecognized authentication type"));
                return Ok(Next::Continue);
            }
        };
        let Some((user, password)) = creds else {
            return Ok(if self.eof {
                Next::Close
            } else {
                Next::Continue
            });
        };
        if let Some(wait) = self.ctx.auth_throttle.account_wait(&user, ip, self.trusted) {
            tracing::warn!(peer = %self.peer, %user, wait_secs = wait.as_secs(), "AUTH refused: too many failures on this account from unknown addresses");
            self.reply(throttled(wait));
            return Ok(Next::Continue);
        }
        // Argon2 is slow on purpose: off the async threads, sharing the context (no copy
        // of the account table).
        let ctx = self.ctx.clone();
        let u = user.clone();
        let ok = tokio::task::spawn_blocking(move || ctx.accounts.verify(&u, &password))
            .await
            .unwrap_or(false);
        if ok {
            tracing::info!(peer = %self.peer, user = %user, "authenticated");
            self.ctx.auth_throttle.succeeded(ip, &user);
            self.auth_user = Some(user);
            self.reply(Reply::new(235, "2.7.0", "Authentication successful"));
            return Ok(Next::Continue);
        }
        self.auth_failures += 1;
        self.ctx.auth_throttle.failed(ip, &user, self.trusted);
        tracing::warn!(peer = %self.peer, user = %user, "authentication failed");
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        self.reply(Reply::new(
            535,
            "5.7.8",
            "Authentication credentials invalid",
        ));
        if self.auth_failures >= MAX_AUTH_FAILURES {
            self.reply(Reply::new(421, "4.7.0", "Too many authentication failures"));
            return Ok(Next::Close);
        }
        Ok(Next::Continue)
    }

    /// Reads a base64 answer to a 334 challenge; `None` after a reply was sent for
    /// cancellation or bad encoding.
    async fn challenge(&mut self, prompt: &str) -> std::io::Result<Option<Vec<u8>>> {
        self.reply(Reply::plain(334, prompt));
        let Some(line) = self.read_continuation().await? else {
            return Ok(None);
        };
        self.decode(&line)
    }

    fn decode(&mut self, text: &str) -> std::io::Result<Option<Vec<u8>>> {
        if text == "*" {
            self.reply(Reply::new(501, "5.7.0", "Authentication aborted"));
            return Ok(None);
        }
        match B64.decode(text.trim()) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(_) => {
                self.reply(Reply::new(501, "5.5.2", "Cannot decode response"));
                Ok(None)
            }
        }
    }

    async fn auth_plain(&mut self, initial: String) -> std::io::Result<Option<(String, String)>> {
        let raw = if initial.is_empty() {
            match self.challenge("").await? {
                Some(r) => r,
                None => return Ok(None),
            }
        } else if initial == "=" {
            Vec::new()
        } else {
            match self.decode(&initial)? {
                Some(r) => r,
                None => return Ok(None),
            }
        };
        let mut parts = raw.split(|&b| b == 0);
        let (_authz, user, pass) = (parts.next(), parts.next(), parts.next());
        match (user, pass, parts.next()) {
            (Some(u), Some(p), None) => Ok(Some((
                String::from_utf8_lossy(u).into_owned(),
                String::from_utf8_lossy(p).into_owned(),
            ))),
            _ => {
                self.reply(Reply::new(501, "5.5.2", "Malformed PLAIN response"));
                Ok(None)
            }
        }
    }

    async fn auth_login(&mut self, initial: String) -> std::io::Result<Option<(String, String)>> {
        let user = if initial.is_empty() {
            match self.challenge("VXNlcm5hbWU6").await? {
                Some(u) => u,
                None => return Ok(None),
            }
        } else {
            match self.decode(&initial)? {
                Some(u) => u,
                None => return Ok(None),
            }
        };
        let Some(pass) = self.challenge("UGFzc3dvcmQ6").await? else {
            return Ok(None);
        };
        Ok(Some((
            String::from_utf8_lossy(&user).into_owned(),
            String::from_utf8_lossy(&pass).into_owned(),
        )))
    }
}

/// The reply while a client or an account must wait (temporary: the real user may try again
/// later; no password was checked).
fn throttled(wait: std::time::Duration) -> Reply {
    Reply::new(
        454,
        "4.7.0",
        format!(
            "Too many failed authentication attempts, try again in {} seconds",
            wait.as_secs().max(1)
        ),
    )
}
