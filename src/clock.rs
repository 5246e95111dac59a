//! The time, handed in. Nothing below the adapters reads the system clock: the flows take `now` as an argument,
//! and the background work (delivery, reminders, the inbox's group commit) asks a [`Clock`]. Production uses
//! [`SystemClock`]; a test hands in a clock it moves itself.

use chrono::{DateTime, Utc};

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}

/// The real time's pace from a given start (`AFTERCARE_CLOCK_START`): for trying a care timeline, and for the
/// end-to-end tests, which cannot wait a day for a check-in.
#[derive(Debug, Clone, Copy)]
pub struct StartedClock {
    start: DateTime<Utc>,
    started: std::time::Instant,
}

impl StartedClock {
    pub fn at(start: DateTime<Utc>) -> StartedClock {
        StartedClock {
            start,
            started: std::time::Instant::now(),
        }
    }
}

impl Clock for StartedClock {
    fn now(&self) -> DateTime<Utc> {
        self.start + chrono::Duration::from_std(self.started.elapsed()).unwrap_or_default()
    }
}

/// The real time.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}
