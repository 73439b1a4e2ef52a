//! The queue's view of outbound delivery: connect to a destination domain, run
//! transactions, and turn replies into [`Outcome`]s. Wraps the `outbound` client.

use std::sync::Arc;

use crate::settings::{Delivery, TlsMode};
use tokio::net::TcpStream;

use super::{Job, Outcome};
use crate::outbound::body::{FileBody, IN_MEMORY_UP_TO, MessageBody};
use crate::outbound::client::{ClientOptions, Connection, connect_any};
use crate::outbound::envelope::{OutRecipient, Transaction};
use crate::outbound::error::DeliveryError;
use crate::outbound::reply::Reply;
use crate::outbound::route::{self, Resolver};
use crate::outbound::tls::TlsConfigs;
use crate::spool::{Recipient, Spool, SpoolError, read_range};

/// Opens connections to destinations.
pub struct Transport {
    delivery: Delivery,
    helo: String,
    tls_configs: Arc<TlsConfigs>,
    resolver: Resolver,
}

/// Why no connection could be opened to a destination.
#[derive(Debug, Clone)]
pub struct ConnectError {
    /// For the log and the recipients' last error.
    pub reason: String,
    /// Retrying cannot help (null MX, no such domain, 5xx greeting everywhere).
    pub permanent: bool,
    /// The destination pushed back (421); the lane slows down.
    pub throttle: bool,
    /// The enhanced status code for a bounce, when known.
    pub status: Option<(u8, u16, u16)>,
}

impl ConnectError {
    /// The outcome for every recipient waiting for this destination.
    pub fn outcome(&self) -> Outcome {
        if self.permanent {
            let (a, b, c) = self.status.unwrap_or((5, 4, 4));
            Outcome::Failed {
                status: format!("{a}.{b}.{c}"),
                reason: self.reason.clone(),
            }
        } else {
            Outcome::Deferred {
                reason: self.reason.clone(),
            }
        }
    }
}

fn from_delivery_error(e: &DeliveryError) -> ConnectError {
    ConnectError {
        reason: e.to_string(),
        permanent: e.is_permanent(),
        throttle: e.is_throttle(),
        status: e.reply().and_then(|r| r.enhanced),
    }
}

/// An open connection to one destination.
pub struct Link {
    conn: Connection<TcpStream>,
}

/// What one transaction did.
pub struct Sent {
    /// Each recipient's outcome.
    pub outcomes: Vec<(String, Outcome)>,
    /// The connection can carry another transaction.
    pub alive: bool,
    /// The destination pushed back.
    pub throttle: bool,
}

impl Transport {
    /// Sets up TLS trust and the DNS resolver.
    pub fn new(delivery: &Delivery, hostname: &str) -> Result<Self, String> {
        Ok(Self {
            delivery: delivery.clone(),
            helo: hostname.to_string(),
            tls_configs: Arc::new(TlsConfigs::load(delivery.ca_file.as_deref())),
            resolver: if delivery.dns_servers.is_empty() {
                Resolver::from_system()
            } else {
                Resolver::with_servers(&delivery.dns_servers)
            },
        })
    }

    /// Connects to the first destination host for `domain` that answers and greets.
    pub async fn connect(&self, domain: &str) -> Result<Link, ConnectError> {
        let targets = route::resolve(domain, &self.delivery, &self.resolver)
            .await
            .map_err(|e| ConnectError {
                reason: e.to_string(),
                permanent: e.is_permanent(),
                throttle: false,
                status: Some(e.status()),
            })?;
        let mut last = ConnectError {
            reason: format!("no destination host for {domain}"),
            permanent: false,
            throttle: false,
            status: None,
        };
        for target in targets {
            let opts = ClientOptions {
                helo_name: self.helo.clone(),
                server_name: target.host.clone(),
                tls: target.tls,
                implicit_tls: target.implicit_tls,
                auth: target.auth.clone(),
                command_timeout: self.delivery.command_timeout,
                tls_configs: self.tls_configs.clone(),
            };
            match self.open(&target.addrs, &opts).await {
                Ok(link)
                    if link
                        .conn
                        .greeting()
                        .is_some_and(|g| greets_as(g, &self.helo)) =>
                {
                    tracing::error!(%domain, host = %target.host, "mail loops back to myself");
                    link.quit().await;
                    return Err(ConnectError {
                        reason: format!(
                            "mail for {domain} loops back to myself ({} greets as {})",
                            target.host, self.helo
                        ),
                        permanent: true,
                        throttle: false,
                        status: Some((5, 4, 6)),
                    });
                }
                Ok(link) => return Ok(link),
                // Opportunistic TLS that fails in the handshake is retried in clear, as
                // Postfix's `may` does: the policy never promised encryption, and a peer
                // with broken TLS must still get its mail. `required` never falls back,
                // and neither does a session with credentials.
                Err(DeliveryError::Tls { reason, .. })
                    if target.tls == TlsMode::Opportunistic
                        && !target.implicit_tls
                        && target.auth.is_none() =>
                {
                    tracing::warn!(%domain, host = %target.host, %reason, "TLS handshake failed; retrying without TLS");
                    let clear = ClientOptions {
                        tls: TlsMode::Disabled,
                        ..opts
                    };
                    match self.open(&target.addrs, &clear).await {
                        Ok(link) => return Ok(link),
                        Err(e) => last = from_delivery_error(&e),
                    }
                }
                Err(e) => {
                    tracing::info!(%domain, host = %target.host, error = %e, "destination host failed");
                    last = from_delivery_error(&e);
                }
            }
        }
        Err(last)
    }

    /// Connects to the first address that answers and opens an SMTP session there.
    async fn open(
        &self,
        addrs: &[std::net::SocketAddr],
        opts: &ClientOptions,
    ) -> Result<Link, DeliveryError> {
        let (stream, _) = connect_any(addrs, self.delivery.connect_timeout).await?;
        let _ = stream.set_nodelay(true);
        Ok(Link {
            conn: Connection::open(stream, opts).await?,
        })
    }
}

/// Does a greeting come from a server calling itself `hostname` (this box): would mail sent
/// there loop back? (Postfix: "mail for … loops back to myself".) Tested in
/// `tests::a_greeting_with_our_own_name_is_a_loop`.
fn greets_as(greeting: &Reply, hostname: &str) -> bool {
    greeting
        .lines
        .first()
        .and_then(|line| line.split_whitespace().next())
        .is_some_and(|name| name.trim_end_matches('.').eq_ignore_ascii_case(hostname))
}

impl Link {
    /// Asks the server whether it takes `address` (a callout): its reply to the RCPT.
    pub async fn probe_recipient(&mut self, address: &str) -> Result<Reply, DeliveryError> {
        self.conn.probe_recipient(address).await
    }

    /// Runs one transaction for `recipients` of `job`.
    pub async fn send(
        &mut self,
        job: &Job,
        recipients: &[Recipient],
        content: MessageBody,
    ) -> Sent {
        let tx = Transaction {
            mail_from: job.mail_from.clone(),
            envid: job.envid.clone(),
            ret: job.ret,
            smtputf8: job.smtputf8,
            recipients: recipients
                .iter()
                .map(|r| OutRecipient {
                    address: r.address.clone(),
                    notify: r.notify.as_ref().cloned(),
                    orcpt: r.orcpt.clone(),
                })
                .collect(),
            message: content,
        };
        let host = self.conn.host().to_string();
        match self.conn.send(&tx).await {
            Ok(results) => Sent {
                outcomes: results
                    .into_iter()
                    .map(|o| {
                        let outcome = match o.result {
                            Ok(reply) => Outcome::Delivered {
                                reply: format!("{host}: {reply}"),
                            },
                            Err(f) if f.permanent => Outcome::Failed {
                                status: f
                                    .reply
                                    .enhanced
                                    .map(|(a, b, c)| format!("{a}.{b}.{c}"))
                                    .unwrap_or_else(|| "5.0.0".into()),
                                reason: format!("{host}: {}", f.reply),
                            },
                            Err(f) => Outcome::Deferred {
                                reason: format!("{host}: {}", f.reply),
                            },
                        };
                        (o.address, outcome)
                    })
                    .collect(),
                alive: self.conn.is_usable(),
                throttle: false,
            },
            Err(e) => {
                let err = from_delivery_error(&e);
                let outcome = err.outcome();
                Sent {
                    outcomes: recipients
                        .iter()
                        .map(|r| (r.address.clone(), outcome.clone()))
                        .collect(),
                    alive: self.conn.is_usable(),
                    throttle: err.throttle,
                }
            }
        }
    }

    /// Ends the session politely.
    pub async fn quit(self) {
        let _ = self.conn.quit().await;
    }
}

/// A message's content for delivery: read into memory when small, otherwise left in its
/// spool file and read a chunk at a time while it is sent.
pub fn spooled_body(spool: &Spool, id: &str) -> Result<MessageBody, SpoolError> {
    let (file, at, path) = spool.open_message(id)?;
    if at.content_len <= IN_MEMORY_UP_TO {
        return read_range(&file, at.content_start, at.content_len, &path).map(MessageBody::from);
    }
    let body =
        FileBody::new(file, at.content_start, at.content_len).map_err(|source| SpoolError::Io {
            op: "read",
            path,
            source,
        })?;
    Ok(MessageBody::File(std::sync::Arc::new(body)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_greeting_with_our_own_name_is_a_loop() {
        let greeting = |text: &str| Reply::new(220, None, text);
        assert!(greets_as(
            &greeting("gw.office.example.jp ESMTP Mamori"),
            "gw.office.example.jp"
        ));
        assert!(greets_as(
            &greeting("GW.Office.Example.JP. ready"),
            "gw.office.example.jp"
        ));
        assert!(!greets_as(
            &greeting("mx.provider.example ESMTP"),
            "gw.office.example.jp"
        ));
        assert!(!greets_as(&greeting(""), "gw.office.example.jp"));
    }
}
