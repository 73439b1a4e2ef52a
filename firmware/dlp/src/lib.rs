//! Mamori DLP: finds personal data in mail and decides what to do about it. Pure: bytes in,
//! a report and a decision out, no I/O.
//!
//! - [`mime::walk_message`] walks a message the way a mail client shows it (and, where it is
//!   ambiguous, every way), and [`extract::extract_file`] pulls text out of attachments
//!   (archives, Office documents, PDF, HTML, CSV …), both into a [`content::Collector`] that
//!   bounds the walk ([`Limits`]) and records [`Problem`]s; [`charset`] gives every reading
//!   of Japanese text.
//! - [`Scanner`] normalises each piece of text (NFKC) and runs the detectors: My Number and
//!   corporate numbers (check digits), payment cards (Luhn and issuer), Japanese phone
//!   numbers, address lists, context keywords, the administrator's dictionary.
//! - [`Inspector`] joins the two into a [`Report`] of located, masked findings.
//! - [`Policy`] turns a report, the sender and the recipients into an explained
//!   [`Decision`] (pass, log, tag, notify, hold, reject, discard, encrypt).

pub mod charset;
pub mod config;
pub mod content;
pub mod detectors;
mod digits;
pub mod evidence;
pub mod extract;
pub mod finding;
pub mod hold;
pub mod inspect;
pub mod mime;
pub mod normalize;
pub mod numerals;
pub mod policy;
pub mod scanner;
mod segment_scan;

pub use config::{DlpConfig, ScanConfig};
pub use content::{Limits, Location, Problem, ProblemKind, SegmentKind};
pub use detectors::custom::{CustomRule, Dictionary, DictionaryError, RuleError, RuleKind};
pub use evidence::Evidence;
pub use finding::{Confidence, DetectorKind, Finding};
pub use inspect::{Arrivals, ArrivedReport, Inspector, LocatedFinding, Octets, Report};
pub use normalize::{NormalizedText, normalize};
pub use policy::{Action, AddressPattern, Decision, MailContext, Policy, PolicyError, RuleConfig};
pub use scanner::Scanner;
