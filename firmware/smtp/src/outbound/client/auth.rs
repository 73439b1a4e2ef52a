//! SMTP AUTH towards a smarthost (RFC 4954): PLAIN, or LOGIN when only that is offered.
//! Credentials only ever travel inside TLS.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use tokio::io::{AsyncRead, AsyncWrite};

use super::{Connection, Credentials};
use crate::outbound::error::{DeliveryError, Stage};
use crate::outbound::reply::Reply;

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Connection<S> {
    /// Authenticates with `creds`: refused without TLS, PLAIN if offered, else LOGIN.
    pub(super) async fn auth(&mut self, creds: &Credentials) -> Result<(), DeliveryError> {
        let fail = |host: &str, reason: String, reply: Option<Reply>| DeliveryError::Auth {
            host: host.to_string(),
            reason,
            reply,
        };
        if !self.tls {
            return Err(fail(
                &self.host,
                "refusing to send credentials without TLS".into(),
                None,
            ));
        }
        let reply = if self.caps.has_auth("PLAIN") {
            let token = format!("\0{}\0{}", creds.username, creds.password);
            let cmd = format!("AUTH PLAIN {}\r\n", BASE64.encode(token));
            self.command(cmd, Stage::Auth).await?
        } else if self.caps.has_auth("LOGIN") {
            let mut reply = self.command("AUTH LOGIN\r\n".into(), Stage::Auth).await?;
            for secret in [&creds.username, &creds.password] {
                if reply.code != 334 {
                    break;
                }
                reply = self
                    .command(format!("{}\r\n", BASE64.encode(secret)), Stage::Auth)
                    .await?;
            }
            reply
        } else {
            let offered = if self.caps.auth.is_empty() {
                "none".into()
            } else {
                self.caps.auth.join(" ")
            };
            return Err(fail(
                &self.host,
                format!("the server offers no usable AUTH mechanism (offered: {offered})"),
                None,
            ));
        };
        if reply.code == 235 {
            return Ok(());
        }
        if reply.code == 334 {
            // A challenge we cannot answer: cancel the exchange (RFC 4954 §4).
            let _ = self.command("*\r\n".into(), Stage::Auth).await;
        }
        Err(fail(
            &self.host,
            format!("the server refused the credentials: {reply}"),
            Some(reply),
        ))
    }
}
