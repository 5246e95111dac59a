//! Logging. Message text is health data: it is logged at debug level only, never above.

use tracing_subscriber::EnvFilter;

/// Logs to stderr; `RUST_LOG` chooses the level, else `default` (e.g. "warn,aftercare=info").
pub fn init(default: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
