//! Running the bot for real: what an operator watches (metrics, health).

pub mod http;
pub mod metrics;
pub mod reload;

pub use metrics::{Metrics, TelegramError, UpdateKind};
