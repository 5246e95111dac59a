//! The operator's HTTP endpoints: `/metrics` (Prometheus), `/healthz` (the process is up) and `/readyz` (it can
//! do its work: the database answers, Telegram answered in the last minute, intents are loaded).

use crate::clock::Clock;
use crate::flows::Service;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures::future::BoxFuture;
use std::sync::Arc;
use std::time::Duration;

/// Asks Telegram whether it answers (a `getMe`), for readiness when nothing else called it lately.
pub type TelegramProbe = Arc<dyn Fn() -> BoxFuture<'static, bool> + Send + Sync>;

/// Telegram counts as reachable for this long after it last answered.
const TELEGRAM_FRESH: chrono::Duration = chrono::Duration::minutes(1);

/// How long a readiness check waits for the database or Telegram.
const CHECK_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Clone)]
pub struct Operations {
    pub service: Service,
    pub clock: Arc<dyn Clock>,
    pub telegram: TelegramProbe,
}

/// The routes, to serve alone or beside the webhook's.
pub fn routes(operations: Operations) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(operations)
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn metrics(State(ops): State<Operations>) -> Response {
    let metrics = &ops.service.metrics;
    // What waits now is read at each scrape; a database away leaves the last figures (and /readyz says so).
    match tokio::time::timeout(CHECK_TIMEOUT, ops.service.db.backlog()).await {
        Ok(Ok(backlog)) => metrics.backlog(&backlog, ops.clock.now()),
        Ok(Err(e)) => tracing::warn!(error = %e, "metrics: the backlog could not be read"),
        Err(_) => tracing::warn!("metrics: the backlog could not be read in time"),
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        metrics.encode(),
    )
        .into_response()
}

/// One line per check, 200 when all pass and 503 otherwise.
async fn readyz(State(ops): State<Operations>) -> Response {
    let database = matches!(
        tokio::time::timeout(CHECK_TIMEOUT, ops.service.db.ping()).await,
        Ok(Ok(()))
    );
    let now = ops.clock.now();
    let answered_lately = |metrics: &crate::operations::Metrics| {
        metrics
            .telegram_last_answer()
            .is_some_and(|at| now - at <= TELEGRAM_FRESH)
    };
    let telegram = answered_lately(&ops.service.metrics)
        || matches!(
            tokio::time::timeout(CHECK_TIMEOUT, (ops.telegram)()).await,
            Ok(true)
        ) && {
            ops.service.metrics.telegram_answered(now);
            true
        };
    let engine = ops.service.engine();
    let intents = engine.intent_count() > 0;
    let line = |ok: bool, what: &str| format!("{} {what}\n", if ok { "ok" } else { "FAIL" });
    let body = [
        line(database, "database"),
        line(telegram, "telegram (answered in the last minute)"),
        line(
            intents,
            &format!(
                "intents: {} loaded, version {}",
                engine.intent_count(),
                engine.version()
            ),
        ),
    ]
    .concat();
    let status = if database && telegram && intents {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, body).into_response()
}
