//! The mail pages' pure parts: the search box's matching, the queue's states, and sizes
//! and queue IDs as the pages show and accept them.

/// The most rows a mail list shows at once (the rest are found by searching).
pub const MAX_ROWS: usize = 500;

/// The longest search text taken.
pub const MAX_QUERY_CHARS: usize = 200;

/// Whether every word of `query` is found (ignoring case) in one of `fields`: "tanaka
/// example.jp" finds mail from tanaka@… to …@example.jp. An empty query matches all.
pub fn matches(query: &str, fields: &[&str]) -> bool {
    let fields: Vec<String> = fields.iter().map(|f| f.to_lowercase()).collect();
    query
        .split_whitespace()
        .take(16)
        .map(str::to_lowercase)
        .all(|word| fields.iter().any(|f| f.contains(&word)))
}

/// The search text as taken: trimmed and at most [`MAX_QUERY_CHARS`] characters.
pub fn clean_query(query: &str) -> String {
    query.trim().chars().take(MAX_QUERY_CHARS).collect()
}

/// Where a queued message stands, for the queue's filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueState {
    /// Being delivered right now.
    Active,
    /// Held (by an administrator, or by DLP in the quarantine).
    Held,
    /// Tried and waiting for its next attempt.
    Waiting,
    /// Not tried yet; due now.
    Due,
}

impl QueueState {
    /// The state of a message from the relay's queue list.
    pub fn of(active: bool, held: bool, attempts: u64, has_error: bool) -> Self {
        if active {
            Self::Active
        } else if held {
            Self::Held
        } else if attempts > 0 || has_error {
            Self::Waiting
        } else {
            Self::Due
        }
    }

    /// Its filter value.
    pub fn code(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Held => "held",
            Self::Waiting => "waiting",
            Self::Due => "due",
        }
    }

    /// Parses a filter value; `None` for "all" (or anything unknown).
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Active, Self::Held, Self::Waiting, Self::Due]
            .into_iter()
            .find(|st| st.code() == s)
    }
}

/// A size as people read it: `812 B`, `4.2 KB`, `1.3 MB` (powers of 1024).
pub fn size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// Whether `id` has the form of a queue ID (letters and digits, at most 32): what the
/// pages accept before asking the relay, and echo back.
pub fn is_queue_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 32 && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_must_be_found_in_some_field_ignoring_case() {
        let fields = ["Q1ABC", "Tanaka@Office.example.jp", "client@Sink.test"];
        assert!(matches("", &fields));
        assert!(matches("   ", &fields));
        assert!(matches("tanaka sink", &fields));
        assert!(matches("q1a", &fields));
        assert!(!matches("tanaka other", &fields));
        assert!(matches("田中", &["田中 <t@x.jp>"]));
    }

    #[test]
    fn queries_are_trimmed_and_bounded() {
        assert_eq!(clean_query("  a b  "), "a b");
        assert_eq!(
            clean_query(&"あ".repeat(500)).chars().count(),
            MAX_QUERY_CHARS
        );
    }

    #[test]
    fn states_follow_the_queue_entry() {
        assert_eq!(QueueState::of(true, true, 3, true), QueueState::Active);
        assert_eq!(QueueState::of(false, true, 0, false), QueueState::Held);
        assert_eq!(QueueState::of(false, false, 1, false), QueueState::Waiting);
        assert_eq!(QueueState::of(false, false, 0, true), QueueState::Waiting);
        assert_eq!(QueueState::of(false, false, 0, false), QueueState::Due);
        for st in ["active", "held", "waiting", "due"] {
            assert_eq!(QueueState::parse(st).map(QueueState::code), Some(st));
        }
        assert_eq!(QueueState::parse("all"), None);
    }

    #[test]
    fn sizes_read_like_a_file_manager() {
        assert_eq!(size(0), "0 B");
        assert_eq!(size(1023), "1023 B");
        assert_eq!(size(4300), "4.2 KB");
        assert_eq!(size(3 << 20), "3.0 MB");
        assert_eq!(size(u64::MAX), "16777216.0 TB");
    }

    #[test]
    fn queue_ids_are_plain() {
        assert!(is_queue_id("1ABCD2efgh"));
        for bad in ["", "../x", "a b", "<script>", &"A".repeat(33)] {
            assert!(!is_queue_id(bad), "{bad}");
        }
    }
}
