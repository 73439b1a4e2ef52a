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

/// Parses a log filter. Field-value filters are matched literally, not as regular
/// expressions: compiling those took time and memory exponential in their length
/// (`[{f=a................b}]` took 25 s; found by fuzzing the configuration).
pub fn parse_filter(text: &str) -> Result<EnvFilter, tracing_subscriber::filter::ParseError> {
    EnvFilter::builder().with_regex(false).parse(text)
}

/// Installs the global subscriber with `filter` (overridden by `RUST_LOG` if set).
pub fn init(filter: &str) -> Result<(), LoggingError> {
    let filter_text = std::env::var("RUST_LOG").unwrap_or_else(|_| filter.to_string());
    let env_filter = parse_filter(&filter_text).map_err(|source| LoggingError::Filter {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_filters_compile_fast_and_levels_parse() {
        assert!(parse_filter("info,mamori_smtp=debug").is_ok());
        assert!(parse_filter("not a filter [").is_err());
        // Field values are literal: the fuzz target (fuzz/fuzz_targets/config_toml.rs)
        // guards against the exponential regex build; here, only that they parse.
        assert!(parse_filter("[{f=a..............................b}]").is_ok());
    }
}
