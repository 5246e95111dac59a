//! The time, handed in. Nothing below the adapters reads the system clock: the flows take `now` as an argument,
//! and the background work (delivery, reminders, the inbox's group commit) asks a [`Clock`]. Production uses
//! [`SystemClock`]; a test hands in a clock it moves itself.

use chrono::{DateTime, Utc};

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}

/// The real time.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}
