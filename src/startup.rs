//! Wiring for `aftercare serve` and `aftercare migrate`.

use crate::clock::{Clock, SystemClock};
use crate::configuration::Settings;
use crate::delivery;
use crate::engine::Engine;
use crate::flows::Service;
use crate::operations::{
    self,
    http::{Operations, TelegramProbe},
};
use crate::store::{Db, InboxLog};
use crate::telegram::{self, App, Inbox, TelegramMessenger, Webhook};
use anyhow::Context;
use std::sync::Arc;
use std::time::Duration;
use teloxide::prelude::*;
use tokio::sync::watch;

pub async fn migrate(database_url: &str) -> anyhow::Result<String> {
    let db = Db::connect(database_url)
        .await
        .context("connecting to the database (DATABASE_URL)")?;
    db.migrate().await.context("applying migrations")?;
    let backend = db.backend_name();
    db.close().await;
    Ok(format!("migrations applied ({backend})"))
}

/// Runs the bot until SIGTERM or Ctrl-C. Sends in progress finish; pending ones resume at the next start.
pub async fn serve(settings: Settings, engine: Engine) -> anyhow::Result<()> {
    let db = Db::connect(&settings.database_url)
        .await
        .context("connecting to the database (DATABASE_URL)")?;
    db.migrate().await.context("applying migrations")?;
    tracing::info!(
        backend = db.backend_name(),
        intents = engine.intent_count(),
        "storage ready"
    );

    // The operator's endpoints: bound now, so that a port in use stops the start at once, with its reason.
    let operations_listener = match settings.http_listen {
        Some(address) if !shares_the_webhook(&settings, address) => Some(
            tokio::net::TcpListener::bind(address)
                .await
                .with_context(|| {
                    format!(
                        "cannot listen on {address} (AFTERCARE_HTTP_LISTEN): set another address, or off"
                    )
                })?,
        ),
        _ => None,
    };

    let clock: Arc<dyn Clock> = match settings.clock_start {
        Some(start) => Arc::new(crate::clock::StartedClock::at(start)),
        None => Arc::new(SystemClock),
    };
    let mut clinic = settings.clinic.clone();
    let mut bot = Bot::new(&settings.telegram_token);
    if let Some(url) = &settings.telegram_api_url {
        bot = bot.set_api_url(
            url.trim_end_matches('/')
                .parse()
                .context("TELOXIDE_API_URL is not a URL")?,
        );
    }

    let (stop, stopped) = watch::channel(false);
    let (signalled, mut signal) = watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = signalled.send(true);
    });

    // Telegram may be unreachable at start (network down): wait for it rather than crash.
    let mut delay = Duration::from_secs(1);
    loop {
        tokio::select! {
            me = bot.get_me() => match me {
                Ok(me) => {
                    tracing::info!(bot = %me.username(), "connected to Telegram");
                    // Start links name the bot: the one Telegram says this is, unless the clinic set it.
                    if let Some(links) = clinic.start_links.as_mut()
                        && links.bot_username.is_none()
                    {
                        links.bot_username = Some(me.username().to_string());
                    }
                    break;
                }
                Err(e) => {
                    tracing::warn!(error = %e, retry_in = ?delay, "Telegram is not reachable yet");
                }
            },
            _ = signal.changed() => return Ok(()),
        }
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = signal.changed() => return Ok(()),
        }
        delay = (delay * 2).min(Duration::from_secs(60));
    }
    let service = Service::start(db.clone(), engine, clinic, settings.staff_chat);
    let wake = service.wake.clone();
    let operations = operations::http::routes(Operations {
        service: service.clone(),
        clock: clock.clone(),
        telegram: telegram_probe(&bot),
    });
    let operations_server = operations_listener.map(|tcp| {
        if let Ok(address) = tcp.local_addr() {
            tracing::info!(%address, "metrics on /metrics, health on /healthz and /readyz");
        }
        let mut stopped = stopped.clone();
        let routes = operations.clone();
        tokio::spawn(async move {
            let served = axum::serve(tcp, routes)
                .with_graceful_shutdown(async move {
                    let _ = stopped.changed().await;
                })
                .await;
            if let Err(e) = served {
                tracing::error!(error = %e, "the metrics and health endpoints stopped");
            }
        })
    });
    telegram::register_commands(&bot, ChatId(settings.staff_chat), service.engine().texts()).await;

    let outbox = tokio::spawn(delivery::run_outbox(
        service.clone(),
        Arc::new(TelegramMessenger { bot: bot.clone() }),
        clock.clone(),
        settings.outbox_lease,
        wake.clone(),
        stopped.clone(),
    ));
    let housekeeping = tokio::spawn(forget_handled_updates(db.clone(), stopped.clone()));
    let pruning = tokio::spawn(delivery::run_pruning(
        service.clone(),
        clock.clone(),
        settings.outbox_keep,
        stopped.clone(),
    ));
    let reminders = tokio::spawn(delivery::run_reminders(
        service.clone(),
        clock.clone(),
        settings.reminder_after,
        wake.clone(),
        stopped.clone(),
    ));
    let weekly = settings.weekly_report.map(|schedule| {
        tokio::spawn(operations::weekly::run(
            service.clone(),
            clock.clone(),
            schedule,
            settings.care_look_every,
            stopped.clone(),
        ))
    });
    let retention = tokio::spawn(operations::retention::run(
        service.clone(),
        clock.clone(),
        settings.retention,
        stopped.clone(),
    ));
    let reloading = tokio::spawn(operations::reload::run(
        service.clone(),
        settings.intents_dir.as_ref().map(std::path::PathBuf::from),
        clock.clone(),
        stopped.clone(),
    ));
    let memory = tokio::spawn(operations::memory::run(service.clone(), stopped.clone()));
    let care_timeline = tokio::spawn(crate::timeline::run(
        service.clone(),
        clock.clone(),
        settings.care_look_every,
        wake.clone(),
        stopped.clone(),
    ));

    let app = Arc::new(App {
        service,
        staff_chat: ChatId(settings.staff_chat),
        handled: InboxLog::start(db.clone(), clock.clone()),
        clock: clock.clone(),
    });
    let (inbox, queued) = Inbox::new(app.clone(), bot.clone(), INBOX_QUEUE);
    let (stop_handling, handling_stopped) = watch::channel(false);
    let handling = tokio::spawn(telegram::handle_updates(
        queued,
        bot.clone(),
        app,
        inbox.clone(),
        handling_stopped,
    ));
    // What the last run received and did not handle goes first, each chat's in order.
    match inbox.replay().await {
        Ok(0) => {}
        Ok(n) => tracing::info!(updates = n, "handling the updates left from the last run"),
        Err(e) => tracing::warn!(error = %e, "could not read the inbox; the sweep tries again"),
    }
    let sweep = tokio::spawn(inbox.clone().sweep(stopped.clone()));
    match &settings.webhook_url {
        None => telegram::poll(inbox, signal).await,
        Some(url) => {
            let shared = settings
                .http_listen
                .filter(|address| shares_the_webhook(&settings, *address))
                .map(|_| operations);
            if let Err(e) = serve_webhook(&bot, url, &settings, inbox, shared, signal).await {
                tracing::error!(error = %format!("{e:#}"), "could not receive updates");
            }
        }
    }
    tracing::info!("shutting down: finishing the messages in progress");
    let _ = stop_handling.send(true);
    let _ = handling.await;
    let _ = stop.send(true);
    let _ = sweep.await;
    let _ = outbox.await;
    let _ = reminders.await;
    let _ = care_timeline.await;
    let _ = memory.await;
    let _ = reloading.await;
    let _ = retention.await;
    if let Some(weekly) = weekly {
        let _ = weekly.await;
    }
    let _ = housekeeping.await;
    let _ = pruning.await;
    if let Some(server) = operations_server {
        let _ = server.await;
    }
    db.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Updates queued in memory for handling at most; beyond it receiving waits (they are stored already).
const INBOX_QUEUE: usize = 1024;

/// Prunes the ids of handled updates kept against redelivery, hourly: Telegram redelivers for at most a day.
async fn forget_handled_updates(db: Db, mut stop: watch::Receiver<bool>) {
    loop {
        let cutoff = chrono::Utc::now() - chrono::Duration::days(2);
        match db.forget_handled_updates(cutoff).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(forgotten = n, "old update ids pruned"),
            Err(e) => tracing::warn!(error = %e, "could not prune old update ids"),
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(3600)) => {}
            _ = stop.changed() => break,
        }
    }
}

/// Registers the webhook with Telegram and serves it until `signal`. Telegram's secret-token header is checked
/// on every call, and a call is answered 200 only once its update is stored.
async fn serve_webhook(
    bot: &Bot,
    url: &str,
    settings: &Settings,
    inbox: Arc<Inbox>,
    operations: Option<axum::Router>,
    mut signal: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let address: std::net::SocketAddr = settings
        .webhook_listen
        .parse()
        .context("AFTERCARE_WEBHOOK_LISTEN is not an address such as 0.0.0.0:8443")?;
    let url: url::Url = url.parse().context("the webhook URL is not a URL")?;
    let tcp = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen on {address} (AFTERCARE_WEBHOOK_LISTEN)"))?;
    // Without a configured secret, one is made for this start: a webhook that accepted any caller would let
    // anyone who finds its URL post updates as a client or as staff.
    let secret = match &settings.webhook_secret {
        Some(secret) => secret.clone(),
        None => random_secret().context("no randomness for the webhook's secret token")?,
    };
    bot.set_webhook(url.clone())
        .allowed_updates(telegram::HANDLED_UPDATES)
        .secret_token(secret.clone())
        .await
        .context("Telegram refused the webhook")?;
    let router = axum::Router::new()
        .route(url.path(), axum::routing::post(telegram::on_webhook_call))
        .with_state(Webhook {
            inbox,
            secret: Some(secret),
        });
    let router = match operations {
        Some(operations) => {
            tracing::info!(%address, "metrics on /metrics, health on /healthz and /readyz");
            router.merge(operations)
        }
        None => router,
    };
    tracing::info!(%address, "receiving updates by webhook");
    axum::serve(tcp, router)
        .with_graceful_shutdown(async move {
            let _ = signal.changed().await;
        })
        .await
        .context("the webhook server stopped")?;
    Ok(())
}

/// Whether the operator's endpoints are to share the webhook's listener (the same address), rather than have
/// their own.
fn shares_the_webhook(settings: &Settings, address: std::net::SocketAddr) -> bool {
    settings.webhook_url.is_some()
        && settings
            .webhook_listen
            .parse::<std::net::SocketAddr>()
            .is_ok_and(|webhook| webhook == address)
}

/// Readiness asks Telegram itself (`getMe`) when nothing else heard from it in the last minute.
fn telegram_probe(bot: &Bot) -> TelegramProbe {
    let bot = bot.clone();
    Arc::new(move || {
        let bot = bot.clone();
        Box::pin(async move { bot.get_me().await.is_ok() })
    })
}

/// Resolves on SIGTERM (Docker, systemd) or Ctrl-C.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// 32 random bytes as 64 hexadecimal digits: a secret token Telegram accepts (1-256 of A-Z, a-z, 0-9, _ and -).
fn random_secret() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
