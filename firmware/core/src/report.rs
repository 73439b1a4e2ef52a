//! Validation as data: every problem of a configuration (or a settings change) with its key
//! path, the value as written and the reason, errors and warnings apart, all at once, so
//! that an operator fixes everything in one go and a daemon can tell which problems are in
//! the sections it uses.

use std::fmt;

use serde::{Deserialize, Serialize};

/// One problem with one setting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Issue {
    /// Dotted key path, such as `smtp.listeners[1].address`.
    pub key: String,
    /// The offending value as written (or a short description of it).
    pub value: String,
    /// What is wrong, and what would be right.
    pub reason: String,
}

impl Issue {
    /// An issue with `key`, the value as written and the reason.
    pub fn new(key: impl Into<String>, value: impl ToString, reason: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            value: value.to_string(),
            reason: reason.into(),
        }
    }

    /// The top-level section the key is in (`smtp` for `smtp.listeners[1].address`).
    pub fn section(&self) -> &str {
        let end = self.key.find(['.', '[']).unwrap_or(self.key.len());
        self.key.get(..end).unwrap_or(&self.key)
    }
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} = {}: {}", self.key, self.value, self.reason)
    }
}

/// Every error (the configuration is refused) and warning (it is used, but the operator
/// should know) found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// Problems that refuse the configuration.
    pub errors: Vec<Issue>,
    /// Risks and deprecations; the configuration is used.
    pub warnings: Vec<Issue>,
}

impl Report {
    /// Records an error.
    pub fn error(
        &mut self,
        key: impl Into<String>,
        value: impl ToString,
        reason: impl Into<String>,
    ) {
        self.errors.push(Issue::new(key, value, reason));
    }

    /// Records a warning.
    pub fn warn(
        &mut self,
        key: impl Into<String>,
        value: impl ToString,
        reason: impl Into<String>,
    ) {
        self.warnings.push(Issue::new(key, value, reason));
    }

    /// True when nothing refuses the configuration.
    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }

    /// Adds another report's problems.
    pub fn extend(&mut self, other: Report) {
        self.errors.extend(other.errors);
        self.warnings.extend(other.warnings);
    }

    /// The problems in the given top-level sections only (what a daemon that uses just
    /// those sections must refuse or warn about).
    pub fn in_sections(&self, sections: &[&str]) -> Report {
        self.filtered(|i| sections.contains(&i.section()))
    }

    /// The problems outside the given sections.
    pub fn outside(&self, sections: &[&str]) -> Report {
        self.filtered(|i| !sections.contains(&i.section()))
    }

    /// The problems `keep` says yes to.
    fn filtered(&self, keep: impl Fn(&Issue) -> bool) -> Report {
        let pick = |list: &[Issue]| list.iter().filter(|i| keep(i)).cloned().collect();
        Report {
            errors: pick(&self.errors),
            warnings: pick(&self.warnings),
        }
    }

    /// Logs every warning (once logging is up: warnings found while loading would be lost
    /// before it).
    pub fn log_warnings(&self) {
        for w in &self.warnings {
            tracing::warn!(key = %w.key, value = %w.value, "configuration: {}", w.reason);
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (label, list) in [("error", &self.errors), ("warning", &self.warnings)] {
            for issue in list {
                if !first {
                    f.write_str("\n")?;
                }
                first = false;
                write!(f, "{label}: {issue}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issues_know_their_section_and_reports_split_by_it() {
        let mut r = Report::default();
        r.error("smtp.listeners[1].address", "x", "bad");
        r.error("dlp", "(section)", "unknown key");
        r.warn("firewall.rules[0]", "\"a\"", "risky");
        assert_eq!(r.errors[0].section(), "smtp");
        assert_eq!(r.errors[1].section(), "dlp");
        let fw = r.in_sections(&["general", "firewall"]);
        assert!(fw.is_ok());
        assert_eq!(fw.warnings.len(), 1);
        assert_eq!(r.outside(&["general", "firewall"]).errors.len(), 2);
        assert_eq!(
            r.to_string(),
            "error: smtp.listeners[1].address = x: bad\nerror: dlp = (section): unknown key\nwarning: firewall.rules[0] = \"a\": risky"
        );
    }
}
