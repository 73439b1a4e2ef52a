//! One transaction over an open session: MAIL, RCPT, DATA (pipelined when the server
//! offers PIPELINING), the message, and the outcome of each recipient.

use tokio::io::{AsyncRead, AsyncWrite};

use super::{Connection, DATA_CHUNK};
use crate::outbound::envelope::{self, DataEncoder, Transaction};
use crate::outbound::error::{DeliveryError, Failure, RcptOutcome, Stage};
use crate::outbound::reply::Reply;

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Connection<S> {
    /// Sends one transaction and reports each recipient's outcome. An error means the
    /// connection (or the transaction as a whole) failed: no recipient has a result.
    pub async fn send(&mut self, tx: &Transaction) -> Result<Vec<RcptOutcome>, DeliveryError> {
        if !self.is_usable() {
            return Err(DeliveryError::Protocol {
                host: self.host.clone(),
                stage: Stage::MailFrom,
                reason: "the connection is unusable after an earlier error".into(),
            });
        }
        if tx.recipients.is_empty() {
            return Ok(Vec::new());
        }
        if let Some(reply) = self.refuse_locally(tx) {
            return Ok(all_failed(tx, &Failure::local(reply)));
        }
        if self.needs_reset {
            let reply = self.command("RSET\r\n".into(), Stage::Rset).await?;
            if !reply.is_completion() {
                self.broken = true;
                return Err(self.rejected(Stage::Rset, reply));
            }
            self.needs_reset = false;
        }
        let smtputf8 = tx.needs_smtputf8();
        let mail = envelope::mail_command(tx, &self.caps, smtputf8);
        // Recipients whose path is unsafe to send are failed here and never sent.
        let mut results: Vec<Option<Result<Reply, Failure>>> = tx
            .recipients
            .iter()
            .map(|r| {
                envelope::unsafe_path(&r.address).then(|| {
                    Err(Failure::local(Reply::new(
                        553,
                        Some((5, 1, 3)),
                        "invalid recipient address",
                    )))
                })
            })
            .collect();
        let rcpts: Vec<(usize, String)> = tx
            .recipients
            .iter()
            .enumerate()
            .filter(|(i, _)| results[*i].is_none())
            .map(|(i, r)| (i, envelope::rcpt_command(r, &self.caps)))
            .collect();
        if rcpts.is_empty() {
            return Ok(collect(tx, results));
        }
        let result = if self.caps.pipelining {
            self.envelope_pipelined(&mail, &rcpts, &mut results).await
        } else {
            self.envelope_sequential(&mail, &rcpts, &mut results).await
        };
        // Errors that leave the session in an unknown state have marked it broken; a
        // refused MAIL FROM leaves it usable for the next transaction.
        if result? {
            let final_reply = self.send_message(tx).await?;
            let outcome = if final_reply.is_completion() {
                Ok(final_reply)
            } else {
                Err(Failure::remote(final_reply))
            };
            for (i, _) in &rcpts {
                if matches!(results[*i], Some(Ok(_))) {
                    results[*i] = Some(outcome.clone());
                }
            }
        }
        Ok(collect(tx, results))
    }

    /// A reason to fail every recipient without talking to the server.
    fn refuse_locally(&self, tx: &Transaction) -> Option<Reply> {
        if envelope::unsafe_path(&tx.mail_from) {
            return Some(Reply::new(553, Some((5, 1, 7)), "invalid sender address"));
        }
        if tx.needs_smtputf8() && !self.caps.smtputf8 {
            return Some(Reply::new(
                553,
                Some((5, 6, 7)),
                format!(
                    "the message needs SMTPUTF8, which {} does not support",
                    self.host
                ),
            ));
        }
        match self.caps.size {
            Some(limit) if limit > 0 && tx.message.len() > limit => Some(Reply::new(
                552,
                Some((5, 3, 4)),
                format!(
                    "message of {} octets exceeds the limit of {limit} set by {}",
                    tx.message.len(),
                    self.host
                ),
            )),
            _ => None,
        }
    }

    /// MAIL, the RCPTs and DATA in one write, then their replies in order (RFC 2920).
    /// Returns whether DATA was accepted with 354.
    async fn envelope_pipelined(
        &mut self,
        mail: &str,
        rcpts: &[(usize, String)],
        results: &mut [Option<Result<Reply, Failure>>],
    ) -> Result<bool, DeliveryError> {
        let mut batch = String::with_capacity(mail.len() + rcpts.len() * 40 + 6);
        batch.push_str(mail);
        for (_, cmd) in rcpts {
            batch.push_str(cmd);
        }
        batch.push_str("DATA\r\n");
        self.write(batch.as_bytes(), Stage::MailFrom).await?;
        let mail_reply = self.read_reply(Stage::MailFrom).await?;
        self.check_421(Stage::MailFrom, &mail_reply)?;
        let mut accepted = 0;
        for (i, _) in rcpts {
            let reply = self.read_reply(Stage::RcptTo).await?;
            self.check_421(Stage::RcptTo, &reply)?;
            if reply.is_completion() {
                accepted += 1;
                results[*i] = Some(Ok(reply));
            } else {
                results[*i] = Some(Err(Failure::remote(reply)));
            }
        }
        let data_reply = self.read_reply(Stage::Data).await?;
        self.check_421(Stage::Data, &data_reply)?;
        if data_reply.code == 354 && (accepted == 0 || !mail_reply.is_completion()) {
            // The server took DATA although nothing can be delivered: send an empty
            // message and drop the transaction (RFC 2920 §3.1).
            self.write(b".\r\n", Stage::Message).await?;
            let _ = self.read_reply(Stage::Message).await?;
            self.needs_reset = true;
        } else if data_reply.code != 354 {
            self.needs_reset = mail_reply.is_completion();
        }
        if !mail_reply.is_completion() {
            return Err(self.rejected(Stage::MailFrom, mail_reply));
        }
        if data_reply.code != 354 && accepted > 0 {
            self.fail_accepted(rcpts, results, &data_reply);
        }
        Ok(data_reply.code == 354 && accepted > 0)
    }

    /// MAIL, each RCPT and DATA one at a time. Returns whether DATA was accepted.
    async fn envelope_sequential(
        &mut self,
        mail: &str,
        rcpts: &[(usize, String)],
        results: &mut [Option<Result<Reply, Failure>>],
    ) -> Result<bool, DeliveryError> {
        let mail_reply = self.command(mail.to_string(), Stage::MailFrom).await?;
        self.check_421(Stage::MailFrom, &mail_reply)?;
        if !mail_reply.is_completion() {
            return Err(self.rejected(Stage::MailFrom, mail_reply));
        }
        self.needs_reset = true;
        let mut accepted = 0;
        for (i, cmd) in rcpts {
            let reply = self.command(cmd.clone(), Stage::RcptTo).await?;
            self.check_421(Stage::RcptTo, &reply)?;
            if reply.is_completion() {
                accepted += 1;
                results[*i] = Some(Ok(reply));
            } else {
                results[*i] = Some(Err(Failure::remote(reply)));
            }
        }
        if accepted == 0 {
            return Ok(false);
        }
        let data_reply = self.command("DATA\r\n".into(), Stage::Data).await?;
        self.check_421(Stage::Data, &data_reply)?;
        if data_reply.code != 354 {
            self.fail_accepted(rcpts, results, &data_reply);
            return Ok(false);
        }
        Ok(true)
    }

    fn fail_accepted(
        &self,
        rcpts: &[(usize, String)],
        results: &mut [Option<Result<Reply, Failure>>],
        reply: &Reply,
    ) {
        for (i, _) in rcpts {
            if matches!(results[*i], Some(Ok(_))) {
                results[*i] = Some(Err(Failure::remote(reply.clone())));
            }
        }
    }

    /// Sends the message after 354 and reads the final reply.
    async fn send_message(&mut self, tx: &Transaction) -> Result<Reply, DeliveryError> {
        let mut enc = DataEncoder::new();
        let mut out = Vec::with_capacity(DATA_CHUNK + DATA_CHUNK / 16);
        let mut chunk = Vec::with_capacity(DATA_CHUNK);
        let mut offset = 0u64;
        while offset < tx.message.len() {
            if let Err(source) = tx.message.read_at(offset, DATA_CHUNK, &mut chunk).await {
                // Mid-DATA there is no way back but to drop the connection: the message
                // never ends with the final dot, so nothing half-read is delivered.
                self.abandon();
                return Err(DeliveryError::Local(format!(
                    "reading the spooled message: {source}"
                )));
            }
            offset += chunk.len() as u64;
            out.clear();
            enc.push(&chunk, &mut out);
            self.write(&out, Stage::Message).await?;
        }
        out.clear();
        enc.finish(&mut out);
        self.write(&out, Stage::Message).await?;
        let reply = self.read_reply(Stage::Message).await?;
        // After the final reply the server has ended the transaction either way.
        self.needs_reset = false;
        self.check_421(Stage::Message, &reply)?;
        Ok(reply)
    }
}

fn all_failed(tx: &Transaction, failure: &Failure) -> Vec<RcptOutcome> {
    tx.recipients
        .iter()
        .map(|r| RcptOutcome {
            address: r.address.clone(),
            result: Err(failure.clone()),
        })
        .collect()
}

fn collect(tx: &Transaction, results: Vec<Option<Result<Reply, Failure>>>) -> Vec<RcptOutcome> {
    tx.recipients
        .iter()
        .zip(results)
        .map(|(r, result)| RcptOutcome {
            address: r.address.clone(),
            // Every sent recipient has a result; this is only a guard.
            result: result.unwrap_or_else(|| {
                Err(Failure::local(Reply::new(
                    451,
                    Some((4, 3, 0)),
                    "no reply for this recipient",
                )))
            }),
        })
        .collect()
}
