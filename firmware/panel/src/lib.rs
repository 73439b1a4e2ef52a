//! The admin panel's pure core, free of I/O: who the panel's users are and what their roles
//! allow ([`users`]), logged-in sessions with their timeouts and CSRF tokens ([`session`]),
//! login throttling that slows guessing without locking the real administrator out
//! ([`throttle`]), the one-time setup code of the first visit ([`setup_code`]), the setup
//! wizard's checks ([`wizard`]), the relay accounts page's ([`accounts`]), the mail pages'
//! search and states ([`mail`]), the DLP rules page's checks ([`dlp`]), the attachment
//! encryption page's ([`encrypt`]), the misdelivery-prevention page's ([`misdelivery`]),
//! the delivery page's ([`routes`]), the pacing page's ([`pacing`]), the firewall page's
//! ([`firewall`]), the `/metrics` text ([`metrics`]), the dashboard's SVG charts
//! ([`charts`]), the watchdog's alert mails ([`alerts`]), and every text the panel shows,
//! in Japanese and English ([`i18n`]). `mamori-admind` serves it over HTTPS.

pub mod accounts;
pub mod alerts;
pub mod charts;
pub mod clock;
pub mod dlp;
pub mod encrypt;
pub mod firewall;
pub mod i18n;
pub mod journal;
pub mod mail;
pub mod metrics;
pub mod misdelivery;
pub mod pacing;
pub mod routes;
pub mod session;
pub mod settings;
pub mod setup_code;
pub mod throttle;
pub mod users;
pub mod wizard;

/// Compares two secrets in time that does not depend on where they differ.
pub fn same_secret(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.ct_eq(b).into()
}
