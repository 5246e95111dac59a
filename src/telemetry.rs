//! Logging. Message text is health data: it is logged at debug level only, never above.

use tracing_subscriber::EnvFilter;

/// Logs to stderr; `RUST_LOG` chooses the level (default: info for aftercare, warnings for the rest).
pub fn init() {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn,aftercare=info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
