//! A live test of an outgoing route before it is saved (the setup wizard's "test the
//! route"): the same client, TLS policy and trusted CAs as real delivery open a session to
//! the provider's server — TLS with a verified certificate, then AUTH with the
//! credentials — and close it with QUIT, sending no mail.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::client::{ClientOptions, Connection, Credentials, connect_any};
use super::tls::TlsConfigs;
use crate::settings::TlsMode;

/// The route to try.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteTest {
    /// The server.
    pub host: String,
    /// Its port.
    pub port: u16,
    /// TLS from the first byte (465); else STARTTLS.
    #[serde(default)]
    pub implicit_tls: bool,
    /// The AUTH user name (none: the session is opened without AUTH).
    #[serde(default)]
    pub username: Option<String>,
    /// The password.
    #[serde(default)]
    pub password: Option<String>,
    /// With no `password`: use the saved password of the smarthost in force, if it is this
    /// host and user (so that a page can test a saved route it cannot read the password of;
    /// never another file).
    #[serde(default)]
    pub use_saved_password: bool,
}

impl std::fmt::Debug for RouteTest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RouteTest")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("implicit_tls", &self.implicit_tls)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// What a successful test found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteTestResult {
    /// The address that answered.
    pub address: String,
    /// The server's greeting.
    pub greeting: String,
    /// Whether AUTH was done.
    pub authenticated: bool,
}

/// How long the whole test may take.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(20);

/// Tries `route`, trusting the system's CAs and `ca_file`; the error says where it failed
/// (connect, TLS, certificate, AUTH) in the words of the delivery error.
pub async fn test_route(
    route: &RouteTest,
    helo_name: &str,
    ca_file: Option<&Path>,
) -> Result<RouteTestResult, String> {
    let run = async {
        let addrs: Vec<std::net::SocketAddr> =
            tokio::net::lookup_host((route.host.as_str(), route.port))
                .await
                .map_err(|e| format!("{} cannot be resolved: {e}", route.host))?
                .take(8)
                .collect();
        let (stream, address) = connect_any(&addrs, Duration::from_secs(10))
            .await
            .map_err(|e| e.to_string())?;
        let auth = match (&route.username, &route.password) {
            (Some(u), Some(p)) if !u.is_empty() => Some(Credentials {
                username: u.clone(),
                password: p.clone(),
            }),
            _ => None,
        };
        let authenticated = auth.is_some();
        let opts = ClientOptions {
            helo_name: helo_name.to_string(),
            server_name: route.host.clone(),
            tls: TlsMode::Required,
            implicit_tls: route.implicit_tls,
            auth,
            command_timeout: Duration::from_secs(10),
            tls_configs: Arc::new(TlsConfigs::load(ca_file)),
        };
        let conn = Connection::open(stream, &opts)
            .await
            .map_err(|e| e.to_string())?;
        let greeting = conn.greeting().map(|r| r.message()).unwrap_or_default();
        let _ = conn.quit().await;
        Ok(RouteTestResult {
            address: address.to_string(),
            greeting,
            authenticated,
        })
    };
    tokio::time::timeout(PROBE_TIMEOUT, run)
        .await
        .map_err(|_| format!("no answer within {} s", PROBE_TIMEOUT.as_secs()))?
}
