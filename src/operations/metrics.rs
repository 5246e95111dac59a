//! What `/metrics` shows, in the Prometheus text format: counts and timings of what the bot does. Labels are
//! closed sets (kinds, levels, the content's version): never message text, never who wrote.

use crate::engine::Level;
use crate::engine::load::Version;
use crate::store::{Backlog, OutboxKind};
use chrono::{DateTime, Utc};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};
use std::sync::atomic::{AtomicI64, AtomicU64};
use std::time::Duration;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LevelLabel {
    level: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VersionLabel {
    version: String,
}

/// What an update from Telegram was, for counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateKind {
    Message,
    EditedMessage,
    ButtonPress,
    /// Anything else Telegram sent (a member change, an update it could not describe).
    Other,
}

impl UpdateKind {
    fn as_str(self) -> &'static str {
        match self {
            UpdateKind::Message => "message",
            UpdateKind::EditedMessage => "edited_message",
            UpdateKind::ButtonPress => "button_press",
            UpdateKind::Other => "other",
        }
    }
}

/// Why a call to Telegram failed, for counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TelegramError {
    /// 429: flood control.
    TooManyRequests,
    /// A server error or an answer that could not be read.
    Server,
    /// No answer at all.
    Network,
    /// Refused for good (bot blocked, chat gone, a bad request).
    Refused,
}

impl TelegramError {
    fn as_str(self) -> &'static str {
        match self {
            TelegramError::TooManyRequests => "429",
            TelegramError::Server => "5xx",
            TelegramError::Network => "network",
            TelegramError::Refused => "refused",
        }
    }
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

fn acknowledge_histogram() -> Histogram {
    // 15 s to about 17 hours, doubling.
    Histogram::new(exponential_buckets(15.0, 2.0, 13))
}

/// Every metric of one process, registered once.
pub struct Metrics {
    registry: Registry,
    /// Decisions made since start, for `operations::memory` to see when work stops (not exported: the
    /// histogram below counts them for Prometheus).
    decisions: std::sync::atomic::AtomicU64,
    updates_received: Family<KindLabel, Counter>,
    sends: Family<KindLabel, Counter>,
    reports_opened: Family<LevelLabel, Counter>,
    acknowledge_seconds: HistogramFamily<LevelLabel>,
    telegram_errors: Family<KindLabel, Counter>,
    decide_seconds: Histogram,
    reports_unacknowledged: Gauge,
    outbox_pending: Gauge,
    outbox_oldest_seconds: Gauge<f64, AtomicU64>,
    intents_loaded: Gauge,
    intents_version: Family<VersionLabel, Gauge>,
    /// When Telegram last answered a call (Unix seconds; 0: not yet). For readiness, and shown as a metric.
    telegram_answered_at: Gauge<i64, AtomicI64>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let metrics = Metrics {
            registry: Registry::with_prefix("aftercare"),
            updates_received: Family::default(),
            sends: Family::default(),
            reports_opened: Family::default(),
            acknowledge_seconds: Family::new_with_constructor(acknowledge_histogram),
            telegram_errors: Family::default(),
            // 50 µs to about 1.6 s, doubling.
            decide_seconds: Histogram::new(exponential_buckets(0.000_05, 2.0, 16)),
            decisions: Default::default(),
            reports_unacknowledged: Gauge::default(),
            outbox_pending: Gauge::default(),
            outbox_oldest_seconds: Gauge::default(),
            intents_loaded: Gauge::default(),
            intents_version: Family::default(),
            telegram_answered_at: Gauge::default(),
        };
        metrics.registered()
    }

    fn registered(mut self) -> Metrics {
        let registry = &mut self.registry;
        registry.register(
            "updates_received",
            "Updates received from Telegram, by kind",
            self.updates_received.clone(),
        );
        registry.register(
            "sends",
            "Messages Telegram took from the outbox, by kind (reply, alert, reminder, followup, ...)",
            self.sends.clone(),
        );
        registry.register(
            "reports_opened",
            "Reports opened for staff, by level",
            self.reports_opened.clone(),
        );
        registry.register_with_unit(
            "report_acknowledge",
            "Time from a report's opening to its acknowledgement by staff, by level",
            Unit::Seconds,
            self.acknowledge_seconds.clone(),
        );
        registry.register(
            "telegram_errors",
            "Failed calls to Telegram, by kind (429, 5xx, network, refused)",
            self.telegram_errors.clone(),
        );
        registry.register_with_unit(
            "decide",
            "Time to decide one update: the engine's answer and triage, and the conversation's rules",
            Unit::Seconds,
            self.decide_seconds.clone(),
        );
        registry.register(
            "reports_unacknowledged",
            "Reports open now that no staff member has acknowledged",
            self.reports_unacknowledged.clone(),
        );
        registry.register(
            "outbox_pending",
            "Sends waiting in the outbox",
            self.outbox_pending.clone(),
        );
        registry.register_with_unit(
            "outbox_oldest_age",
            "How long the oldest send waiting in the outbox has waited (0 when none waits)",
            Unit::Seconds,
            self.outbox_oldest_seconds.clone(),
        );
        registry.register(
            "intents_loaded",
            "Intents in the content running now",
            self.intents_loaded.clone(),
        );
        registry.register(
            "intents_version",
            "The content running now: 1 for its version (a digest of the intent files)",
            self.intents_version.clone(),
        );
        registry.register(
            "telegram_last_answer_timestamp",
            "When Telegram last answered a call (Unix time; 0: not yet)",
            self.telegram_answered_at.clone(),
        );
        self
    }

    pub fn update_received(&self, kind: UpdateKind) {
        self.updates_received
            .get_or_create(&KindLabel {
                kind: kind.as_str(),
            })
            .inc();
    }

    /// Telegram took a send of this kind (none: a row from before kinds were stored).
    pub fn sent(&self, kind: Option<OutboxKind>, at: DateTime<Utc>) {
        self.sends
            .get_or_create(&KindLabel {
                kind: kind.map_or("other", OutboxKind::as_str),
            })
            .inc();
        self.telegram_answered(at);
    }

    pub fn telegram_failed(&self, error: TelegramError) {
        self.telegram_errors
            .get_or_create(&KindLabel {
                kind: error.as_str(),
            })
            .inc();
    }

    /// Telegram answered a call (a send, a poll): it is reachable.
    pub fn telegram_answered(&self, at: DateTime<Utc>) {
        self.telegram_answered_at.set(at.timestamp());
    }

    /// When Telegram last answered, if it has.
    pub fn telegram_last_answer(&self) -> Option<DateTime<Utc>> {
        match self.telegram_answered_at.get() {
            0 => None,
            seconds => DateTime::from_timestamp(seconds, 0),
        }
    }

    pub fn report_opened(&self, level: Level) {
        self.reports_opened
            .get_or_create(&LevelLabel {
                level: level.as_str(),
            })
            .inc();
    }

    pub fn report_acknowledged(&self, level: Level, after: chrono::Duration) {
        self.acknowledge_seconds
            .get_or_create(&LevelLabel {
                level: level.as_str(),
            })
            .observe(after.as_seconds_f64().max(0.0));
    }

    pub fn decided(&self, took: Duration) {
        self.decide_seconds.observe(took.as_secs_f64());
        self.decisions
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// How many decisions were made since start.
    pub fn decisions(&self) -> u64 {
        self.decisions.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The content now running: its intents and version (the version before it is no longer shown).
    pub fn content_loaded(&self, intents: usize, version: &Version) {
        self.intents_loaded
            .set(i64::try_from(intents).unwrap_or(i64::MAX));
        self.intents_version.clear();
        self.intents_version
            .get_or_create(&VersionLabel {
                version: version.as_str().to_string(),
            })
            .set(1);
    }

    /// What is waiting now, read from the database just before a scrape.
    pub fn backlog(&self, backlog: &Backlog, now: DateTime<Utc>) {
        self.reports_unacknowledged
            .set(backlog.unacknowledged_reports);
        self.outbox_pending.set(backlog.outbox_pending);
        let oldest = backlog
            .oldest_pending
            .map_or(0.0, |queued| (now - queued).as_seconds_f64().max(0.0));
        self.outbox_oldest_seconds.set(oldest);
    }

    /// The Prometheus text format of every metric.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_show_in_the_text_format_with_closed_labels() {
        let metrics = Metrics::new();
        metrics.update_received(UpdateKind::Message);
        metrics.update_received(UpdateKind::Message);
        metrics.report_opened(Level::Urgent);
        metrics.telegram_failed(TelegramError::TooManyRequests);
        let (old, new) = (Version::of_text("old"), Version::of_text("new"));
        metrics.content_loaded(77, &old);
        metrics.content_loaded(78, &new);
        let text = metrics.encode();
        assert!(
            text.contains("aftercare_updates_received_total{kind=\"message\"} 2"),
            "{text}"
        );
        assert!(text.contains("aftercare_reports_opened_total{level=\"urgent\"} 1"));
        assert!(text.contains("aftercare_telegram_errors_total{kind=\"429\"} 1"));
        assert!(text.contains("aftercare_intents_loaded 78"));
        assert!(text.contains(&format!("aftercare_intents_version{{version=\"{new}\"}} 1")));
        assert!(!text.contains(old.as_str()), "the old version is gone");
    }

    #[test]
    fn the_backlog_says_how_long_the_oldest_send_has_waited() {
        let metrics = Metrics::new();
        let now = DateTime::from_timestamp(1_000_000, 0).expect("instant");
        metrics.backlog(
            &Backlog {
                unacknowledged_reports: 2,
                outbox_pending: 3,
                oldest_pending: Some(now - chrono::Duration::seconds(90)),
            },
            now,
        );
        let text = metrics.encode();
        assert!(
            text.contains("aftercare_reports_unacknowledged 2"),
            "{text}"
        );
        assert!(text.contains("aftercare_outbox_pending 3"));
        assert!(text.contains("aftercare_outbox_oldest_age_seconds 90.0"));
    }
}
