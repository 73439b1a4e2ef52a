//! The `[links]` section: where `mamori linkd` listens, its certificate, and how long a
//! link's record is kept after it expires (its files are erased at expiry). What links
//! are made, and for how long, is `[encrypt]`'s (the relay makes them).

use std::path::PathBuf;
use std::time::Duration;

use mamori_core::report::Report;
use serde::{Deserialize, Serialize};

/// The download service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LinksConfig {
    /// The address it listens on (default `0.0.0.0:8443`; the firewall lets it in from the
    /// WAN only when link mode is on).
    pub listen: String,
    /// The certificate chain (PEM) for the public host name; with `key`. Without them a
    /// self-signed certificate is made (recipients' browsers warn: for trying only).
    pub cert: Option<PathBuf>,
    /// Its private key (PEM).
    pub key: Option<PathBuf>,
    /// An ACME directory (RFC 8555) to get the certificate for the host of
    /// `encrypt.link_url` from, by the TLS-ALPN-01 challenge on this service's own port
    /// (the CA connects to port 443 of the name: the router forwards it here). Empty: no
    /// ACME. Let's Encrypt: `https://acme-v02.api.letsencrypt.org/directory`.
    pub acme_directory: String,
    /// A contact address given to the ACME CA (expiry warnings); optional.
    pub acme_contact: String,
    /// The CA certificate (PEM) the ACME server's own HTTPS is checked with, for a private
    /// ACME CA; absent: the system's trusted CAs.
    pub acme_ca: Option<PathBuf>,
    /// How long a link's record (who downloaded what, when) is kept after it expires
    /// (default 30 days, at most 400).
    #[serde(with = "humantime_serde")]
    pub keep_records: Duration,
}

impl Default for LinksConfig {
    fn default() -> Self {
        Self {
            listen: "0.0.0.0:8443".into(),
            cert: None,
            key: None,
            acme_directory: String::new(),
            acme_contact: String::new(),
            acme_ca: None,
            keep_records: Duration::from_secs(30 * 86_400),
        }
    }
}

impl LinksConfig {
    /// Checks the section into `report`.
    pub fn check_into(&self, report: &mut Report) {
        if self.listen.parse::<std::net::SocketAddr>().is_err() {
            report.error(
                "links.listen",
                &self.listen,
                "an address and port, such as 0.0.0.0:8443",
            );
        }
        if self.cert.is_some() != self.key.is_some() {
            report.error(
                "links.cert",
                format!("{:?} / {:?}", self.cert, self.key),
                "a certificate and its key go together: give both, or neither for a self-signed one",
            );
        }
        if !self.acme_directory.is_empty() {
            if !self.acme_directory.starts_with("https://")
                || self.acme_directory.contains(char::is_whitespace)
            {
                report.error(
                    "links.acme_directory",
                    &self.acme_directory,
                    "the ACME directory's https:// address, such as https://acme-v02.api.letsencrypt.org/directory",
                );
            }
            if self.cert.is_some() {
                report.error(
                    "links.acme_directory",
                    &self.acme_directory,
                    "a certificate from files (links.cert) and one from ACME exclude each other: give one",
                );
            }
        }
        let contact = self.acme_contact.trim_start_matches("mailto:");
        if !contact.is_empty()
            && (contact.contains(char::is_whitespace)
                || contact
                    .split_once('@')
                    .is_none_or(|(l, d)| l.is_empty() || !d.contains('.')))
        {
            report.error(
                "links.acme_contact",
                &self.acme_contact,
                "an e-mail address for the CA's notices, or nothing",
            );
        }
        if self.keep_records > Duration::from_secs(400 * 86_400) {
            report.error(
                "links.keep_records",
                humantime::format_duration(self.keep_records),
                "at most 400 days",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_check_clean_and_mistakes_name_their_key() {
        let mut r = Report::default();
        LinksConfig::default().check_into(&mut r);
        assert!(r.is_ok());
        let bad = LinksConfig {
            listen: "8443".into(),
            cert: Some("/etc/c.pem".into()),
            key: None,
            acme_directory: "http://ca.example/dir".into(),
            acme_contact: "admin".into(),
            keep_records: Duration::from_secs(500 * 86_400),
            ..LinksConfig::default()
        };
        let mut r = Report::default();
        bad.check_into(&mut r);
        let keys: Vec<_> = r.errors.iter().map(|e| e.key.clone()).collect();
        assert_eq!(
            keys,
            [
                "links.listen",
                "links.cert",
                "links.acme_directory",
                "links.acme_directory",
                "links.acme_contact",
                "links.keep_records"
            ]
        );
        let acme = LinksConfig {
            acme_directory: "https://acme-v02.api.letsencrypt.org/directory".into(),
            acme_contact: "mailto:it@office.example.jp".into(),
            ..LinksConfig::default()
        };
        let mut r = Report::default();
        acme.check_into(&mut r);
        assert!(r.is_ok(), "{r}");
    }
}
