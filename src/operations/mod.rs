//! Running the bot for real: what an operator watches (metrics, health), new content without a restart, and how
//! long records are kept.

pub mod http;
pub mod metrics;
pub mod reload;
pub mod retention;

pub use metrics::{Metrics, TelegramError, UpdateKind};
