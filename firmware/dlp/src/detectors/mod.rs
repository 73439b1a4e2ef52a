//! The detectors, one module each. Number detectors look at windows of the shared digit-run
//! pass; the others scan the text themselves. Each number detector also
//! exposes its check-digit arithmetic, for tests and for callers that validate one number.

pub mod card;
pub(crate) mod columns;
pub mod corporate_number;
pub mod custom;
pub mod email_list;
pub mod keywords;
pub mod my_number;
pub mod phone;
