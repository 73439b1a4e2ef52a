//! Asking a server whether it takes a recipient, without sending a message: the callout
//! with which the relay checks recipients of an accepted domain before it answers 250
//! (so that it never takes, then bounces, mail for nobody).

use tokio::io::{AsyncRead, AsyncWrite};

use super::Connection;
use crate::outbound::envelope;
use crate::outbound::error::{DeliveryError, Stage};
use crate::outbound::reply::Reply;

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Connection<S> {
    /// `MAIL FROM:<>`, `RCPT TO:<address>`, `RSET`: the server's reply to the RCPT. An
    /// error when the server would not start a transaction (or the session failed).
    pub async fn probe_recipient(&mut self, address: &str) -> Result<Reply, DeliveryError> {
        if !self.is_usable() || envelope::unsafe_path(address) {
            return Err(DeliveryError::Protocol {
                host: self.host.clone(),
                stage: Stage::RcptTo,
                reason: "the connection is unusable or the address unsafe to send".into(),
            });
        }
        let mail = self
            .command("MAIL FROM:<>\r\n".into(), Stage::MailFrom)
            .await?;
        if !mail.is_completion() {
            return Err(self.rejected(Stage::MailFrom, mail));
        }
        let reply = self
            .command(format!("RCPT TO:<{address}>\r\n"), Stage::RcptTo)
            .await?;
        let reset = self.command("RSET\r\n".into(), Stage::Rset).await?;
        if !reset.is_completion() {
            self.broken = true;
        }
        Ok(reply)
    }
}
