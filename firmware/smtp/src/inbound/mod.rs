//! The receiving side: SMTP sessions with clients of the office.

pub mod accounts;
pub mod data;
pub mod gate;
pub mod recipients;
pub mod reply;
pub mod session;
pub mod throttle;

pub use accounts::Accounts;
pub use reply::Reply;
pub use session::{Session, SessionContext, SessionEnd};
