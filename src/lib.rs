//! Aftercare: post-treatment questions answered from curated intents, worrying reports escalated to staff.

/// Writes a line to standard output. A reader that went away (`aftercare check | head`) is not an error worth a
/// panic: what is left to print is dropped.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// As `out!`, without the line end (a prompt), flushed at once.
macro_rules! out_inline {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let mut stdout = std::io::stdout().lock();
        let _ = write!(stdout, $($arg)*);
        let _ = stdout.flush();
    }};
}

pub mod chat;
pub mod cli;
pub mod clock;
pub mod configuration;
pub mod delivery;
pub mod engine;
pub mod eval;
pub mod flows;
pub mod front;
pub mod operations;
pub mod startup;
pub mod store;
pub mod telegram;
pub mod telemetry;
pub mod timeline;
