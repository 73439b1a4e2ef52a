//! Logging set-up: journald when running under systemd, stderr otherwise.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::prelude::*;

/// Why logging could not be started.
#[derive(Debug, thiserror::Error)]
pub enum LoggingError {
    /// The filter string is not a valid `tracing` filter.
    #[error("bad log filter {filter:?}: {source}")]
    Filter {
        /// The filter as given.
        filter: String,
        /// The parser's complaint.
        #[source]
        source: tracing_subscriber::filter::ParseError,
    },
    /// A global subscriber was already installed.
    #[error("logging was already initialised")]
    AlreadySet,
}

/// True when systemd started us with our output connected to the journal.
pub fn under_journald() -> bool {
    std::env::var_os("JOURNAL_STREAM").is_some() && std::env::var_os("INVOCATION_ID").is_some()
}

/// Installs the global subscriber with `filter` (overridden by `RUST_LOG` if set).
pub fn init(filter: &str) -> Result<(), LoggingError> {
    let filter_text = std::env::var("RUST_LOG").unwrap_or_else(|_| filter.to_string());
    let env_filter = EnvFilter::try_new(&filter_text).map_err(|source| LoggingError::Filter {
        filter: filter_text.clone(),
        source,
    })?;
    let registry = tracing_subscriber::registry().with(env_filter);
    if let Some(journald) = under_journald()
        .then(tracing_journald::layer)
        .and_then(Result::ok)
    {
        return registry
            .with(journald.with_syslog_identifier("mamori".into()))
            .try_init()
            .map_err(|_| LoggingError::AlreadySet);
    }
    registry
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
                .with_target(false),
        )
        .try_init()
        .map_err(|_| LoggingError::AlreadySet)
}
