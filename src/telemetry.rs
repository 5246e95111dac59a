//! Logging. Message text is health data: it is logged at debug level only, never above.

use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

/// Logs to stderr; `RUST_LOG` chooses the level, else `default` (e.g. "warn,aftercare=info"). Colours only on a
/// terminal: `docker logs`, journald and log files get plain text.
pub fn init(default: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        // When stderr is gone (the log reader died), drop log lines instead of reporting it with `eprintln!`,
        // which panics on a closed pipe and would stop the bot.
        .log_internal_errors(false)
        .try_init();
}
