//! Mamori DLP: finds personal data in text. Pure: `&str` in, findings out, no I/O.
//!
//! [`Scanner`] is the entry point: built once from a [`ScanConfig`] (which compiles the
//! administrator's dictionary), it scans any number of texts. A scan
//!
//! 1. normalises the text ([`normalize`]: NFKC, dash folding, one kind of line end);
//! 2. walks the digit runs once, offering each window of linked runs to the
//!    number detectors: My Number and corporate numbers (check digits), payment cards (Luhn
//!    and issuer prefix), Japanese phone numbers (numbering plan);
//! 3. raises the confidence of number findings with context keywords nearby;
//! 4. counts distinct e-mail addresses and runs the custom dictionary;
//! 5. returns the findings sorted by position, each masked so it can be logged.
//!
//! What a finding leads to (log, hold, reject) is policy, decided elsewhere; the MIME,
//! charset and attachment walk that feeds decoded text in also lives elsewhere.

pub mod charset;
pub mod config;
pub mod content;
pub mod detectors;
mod digits;
pub mod extract;
pub mod finding;
pub mod inspect;
pub mod mime;
pub mod normalize;
pub mod policy;
pub mod scanner;

pub use config::{DlpConfig, ScanConfig};
pub use content::{Limits, Location, Problem, ProblemKind, SegmentKind};
pub use detectors::custom::{CustomRule, Dictionary, DictionaryError, RuleError, RuleKind};
pub use finding::{Confidence, DetectorKind, Finding};
pub use inspect::{Inspector, LocatedFinding, Report};
pub use normalize::{NormalizedText, normalize};
pub use policy::{Action, Decision, MailContext, Policy, PolicyError, RuleConfig};
pub use scanner::Scanner;
