//! Running the bot for real: what an operator watches (metrics, health), new content without a restart, and how
//! long records are kept.

pub mod chart;
pub mod http;
pub mod memory;
pub mod metrics;
pub mod reload;
pub mod retention;
pub mod weekly;

pub use metrics::{Metrics, TelegramError, UpdateKind};
