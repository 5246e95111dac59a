//! New content without a restart: on SIGHUP, and when a file in the intents folder changes, the intents are
//! loaded again and checked as `aftercare check` does, and the new engine is put in use in one step (updates
//! being decided finish on the old one). A change that does not pass keeps the old content running; its errors
//! are logged and posted to the staff chat once.

use crate::clock::Clock;
use crate::engine::Engine;
use crate::engine::load::{self, CheckErrors, Version};
use crate::engine::messages::Key;
use crate::flows::{Outbound, Service};
use notify::Watcher;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// Editors save in several steps (a temporary file, a rename): the reload waits this long after the last change.
const SETTLE: Duration = Duration::from_millis(300);

/// What a reload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reloaded {
    /// New content is in use.
    Replaced { version: Version, intents: usize },
    /// The files hold the content already in use.
    Unchanged,
    /// The files did not pass the checks: the content in use stays.
    Refused(Vec<String>),
}

/// Loads the intents again (from `dir`, or the ones built in) and puts them in use if they pass the checks and
/// differ from the content in use. Refused content is posted to the staff chat, once for the same errors.
pub async fn reload(service: &Service, dir: Option<&Path>, clock: &dyn Clock) -> Reloaded {
    let dir = dir.map(Path::to_path_buf);
    let clinic = service.clinic.clinic.clone();
    // Compiling the patterns takes a while: off the runtime's threads.
    let built = tokio::task::spawn_blocking(move || -> Result<Engine, CheckErrors> {
        let sources = match &dir {
            Some(dir) => load::read_dir(dir)?,
            None => load::embedded_sources(),
        };
        Engine::from_sources(&sources, &clinic)
    })
    .await;
    let engine = match built {
        Ok(Ok(engine)) => engine,
        Ok(Err(errors)) => {
            let lines: Vec<String> = errors.0.iter().map(ToString::to_string).collect();
            refused(service, &lines, clock).await;
            return Reloaded::Refused(lines);
        }
        Err(e) => {
            let lines = vec![format!("the intents could not be loaded: {e}")];
            refused(service, &lines, clock).await;
            return Reloaded::Refused(lines);
        }
    };
    if engine.version() == service.engine().version() {
        tracing::info!(version = %engine.version(), "intents unchanged");
        return Reloaded::Unchanged;
    }
    let (version, intents) = (engine.version().clone(), engine.intent_count());
    service.replace_engine(engine);
    tracing::info!(%version, intents, "intents reloaded");
    Reloaded::Replaced { version, intents }
}

/// Logs the errors of refused content and posts them to the staff chat, once for the same errors (the outbox's
/// key is made of them, so another instance, or another save with the same mistake, posts nothing again).
async fn refused(service: &Service, errors: &[String], clock: &dyn Clock) {
    for error in errors {
        // File names, lines and what is wrong: the clinic's content, nothing a client wrote.
        tracing::error!(%error, "the changed intents were not loaded; the content in use stays");
    }
    let text = service
        .engine()
        .texts()
        .fill(Key::IntentsRefused, &[("errors", &errors.join("\n"))]);
    let key = format!("intents-refused:{}", Version::of_text(&errors.join("\n")));
    let queued = Outbound::Client { text }.queue(service.staff_chat, None, None, key, clock.now());
    match service.db.enqueue(&queued).await {
        Ok(_) => service.wake.notify_one(),
        Err(e) => tracing::warn!(error = %e, "could not tell staff the intents were refused"),
    }
}

/// Reloads on SIGHUP and whenever a file in `dir` changes, until `stop`.
pub async fn run(
    service: Service,
    dir: Option<PathBuf>,
    clock: Arc<dyn Clock>,
    mut stop: watch::Receiver<bool>,
) {
    let (changed, mut changes) = mpsc::unbounded_channel::<()>();
    // Kept for as long as it should watch.
    let _watcher = dir.as_deref().and_then(|dir| watch_folder(dir, changed));
    #[cfg(unix)]
    let mut hangup = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(signal) => Some(signal),
        Err(e) => {
            tracing::warn!(error = %e, "SIGHUP cannot be received: reload by changing a file");
            None
        }
    };
    loop {
        #[cfg(unix)]
        let signalled = async {
            match hangup.as_mut() {
                Some(signal) => signal.recv().await,
                None => std::future::pending().await,
            }
        };
        #[cfg(not(unix))]
        let signalled = std::future::pending::<Option<()>>();
        tokio::select! {
            _ = stop.changed() => break,
            _ = signalled => tracing::info!("SIGHUP: loading the intents again"),
            Some(()) = changes.recv() => {
                // The rest of this save, then once.
                loop {
                    tokio::select! {
                        _ = tokio::time::sleep(SETTLE) => break,
                        more = changes.recv() => if more.is_none() { break },
                    }
                }
                tracing::info!("the intents folder changed: loading it again");
            }
        }
        reload(&service, dir.as_deref(), clock.as_ref()).await;
    }
}

/// Watches `dir` (not its subfolders) and says on `changed` when a file in it was written, created, renamed or
/// removed. None (and a warning) when the system cannot watch it: SIGHUP still works.
fn watch_folder(
    dir: &Path,
    changed: mpsc::UnboundedSender<()>,
) -> Option<notify::RecommendedWatcher> {
    let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if let Ok(event) = event
            && !event.kind.is_access()
            && !event.kind.is_other()
        {
            let _ = changed.send(());
        }
    });
    let mut watcher = match watcher {
        Ok(watcher) => watcher,
        Err(e) => {
            tracing::warn!(error = %e, "the intents folder cannot be watched: reload with SIGHUP");
            return None;
        }
    };
    match watcher.watch(dir, notify::RecursiveMode::NonRecursive) {
        Ok(()) => Some(watcher),
        Err(e) => {
            tracing::warn!(error = %e, dir = %dir.display(), "the intents folder cannot be watched: reload with SIGHUP");
            None
        }
    }
}
