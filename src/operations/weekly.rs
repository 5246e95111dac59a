//! The weekly picture for staff: a week's messages and clients, reports by level per day (a chart), the times
//! to acknowledge, the check-ins, and the questions the bot could not answer. Queued every Monday at the
//! configured time (`AFTERCARE_WEEKLY_REPORT`), on `/report`, and written by `aftercare report`.

use crate::clock::Clock;
use crate::engine::messages::{Key, Texts};
use crate::engine::{Engine, Level};
use crate::flows::{Outbound, Service};
use crate::store::{Db, Period, StoreError};
use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use std::sync::Arc;
use tokio::sync::watch;

/// The levels a report can have, in the chart's order (bottom to top).
const LEVELS: [Level; 3] = [Level::Routine, Level::Urgent, Level::Emergency];

/// How many unanswered questions the picture lists.
const QUESTIONS: i64 = 5;

/// A week's figures, ready to be told and drawn.
#[derive(Debug, Clone, PartialEq)]
pub struct WeeklyPicture {
    /// The Monday it starts on (the clinic's dates).
    pub week: NaiveDate,
    pub messages: i64,
    pub clients: i64,
    /// Reports opened per day (Monday first), per level in [`LEVELS`] order.
    pub reports_by_day: [[u32; 3]; 7],
    pub median_minutes_to_ack: Option<f64>,
    pub slowest_minutes_to_ack: Option<f64>,
    pub check_ins_sent: i64,
    pub check_ins_fine: i64,
    pub unanswered: Vec<(String, i64)>,
    pub reviews_due: usize,
}

/// The Monday of the week `date` falls in.
pub fn monday_of(date: NaiveDate) -> NaiveDate {
    date - Days::new(u64::from(date.weekday().num_days_from_monday()))
}

/// The week starting on `monday`, as instants: from its first local midnight to the next Monday's.
pub fn week_bounds(monday: NaiveDate, zone: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = |date: NaiveDate| {
        zone.from_local_datetime(&date.and_time(NaiveTime::MIN))
            .earliest()
            // A midnight skipped by a clock change: an hour later exists.
            .or_else(|| {
                zone.from_local_datetime(&date.and_hms_opt(1, 0, 0).unwrap_or_default())
                    .earliest()
            })
            .map_or_else(|| date.and_time(NaiveTime::MIN).and_utc(), |t| t.to_utc())
    };
    (start(monday), start(monday + Days::new(7)))
}

impl WeeklyPicture {
    /// The figures of `period`, the week starting on `week` in `zone` (pure).
    pub fn of(week: NaiveDate, zone: Tz, period: &Period, reviews_due: usize) -> WeeklyPicture {
        let mut reports_by_day = [[0u32; 3]; 7];
        let mut minutes: Vec<f64> = Vec::new();
        for report in &period.reports {
            let day = report.opened_at.with_timezone(&zone).date_naive();
            let index = usize::try_from((day - week).num_days())
                .ok()
                .filter(|d| *d < 7);
            let level = LEVELS
                .iter()
                .position(|l| Some(*l) == Level::parse(&report.level));
            if let (Some(day), Some(level)) = (index, level) {
                reports_by_day[day][level] += 1;
            }
            if let Some(acknowledged) = report.acknowledged_at {
                minutes.push((acknowledged - report.opened_at).as_seconds_f64() / 60.0);
            }
        }
        minutes.sort_by(f64::total_cmp);
        let median = match minutes.len() {
            0 => None,
            n if n % 2 == 1 => Some(minutes[n / 2]),
            n => Some(f64::midpoint(minutes[n / 2 - 1], minutes[n / 2])),
        };
        WeeklyPicture {
            week,
            messages: period.messages,
            clients: period.clients,
            reports_by_day,
            median_minutes_to_ack: median,
            slowest_minutes_to_ack: minutes.last().copied(),
            check_ins_sent: period.check_ins_sent,
            check_ins_fine: period.check_ins_fine,
            unanswered: period.unanswered.clone(),
            reviews_due,
        }
    }

    /// The figures in the clinic's words: the chart's caption (within Telegram's 1,024 characters), and the
    /// questions the bot could not answer, if any, as a message of their own.
    pub fn told(&self, texts: &Texts) -> (String, Option<String>) {
        let totals: Vec<(Level, u32)> = LEVELS
            .iter()
            .enumerate()
            .map(|(i, level)| (*level, self.reports_by_day.iter().map(|d| d[i]).sum()))
            .filter(|(_, n)| *n > 0)
            .collect();
        let reports = if totals.is_empty() {
            texts.get(Key::StatsNoReports)
        } else {
            totals
                .iter()
                .rev()
                .map(|(level, n)| {
                    texts.fill(
                        Key::StatsLevel,
                        &[("level", level.as_str()), ("count", &n.to_string())],
                    )
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let minutes = |m: Option<f64>| {
            m.map_or_else(|| texts.get(Key::StatsNoMedian), |m| format!("{m:.0} min"))
        };
        let mut caption = texts.fill(
            Key::WeeklySummary,
            &[
                ("week", &self.week.format("%Y-%m-%d").to_string()),
                ("messages", &self.messages.to_string()),
                ("clients", &self.clients.to_string()),
                ("reports", &reports),
                ("median", &minutes(self.median_minutes_to_ack)),
                ("slowest", &minutes(self.slowest_minutes_to_ack)),
                ("sent", &self.check_ins_sent.to_string()),
                ("fine", &self.check_ins_fine.to_string()),
            ],
        );
        if self.reviews_due > 0 {
            caption.push('\n');
            caption.push_str(&texts.fill(
                Key::StatsReviews,
                &[("count", &self.reviews_due.to_string())],
            ));
        }
        let questions = (!self.unanswered.is_empty()).then(|| {
            let list = self
                .unanswered
                .iter()
                .map(|(question, times)| {
                    format!(
                        "{} ({times}×)",
                        crate::flows::alerts::quoted_line(question, 200)
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            texts.fill(Key::WeeklyUnanswered, &[("questions", &list)])
        });
        (caption, questions)
    }
}

/// Reads the week starting on `monday` (the clinic's dates, in `zone`) and makes its picture.
pub async fn picture(
    db: &Db,
    engine: &Engine,
    zone: Tz,
    monday: NaiveDate,
) -> Result<WeeklyPicture, StoreError> {
    let (from, to) = week_bounds(monday, zone);
    let period = db.period(from, to, QUESTIONS).await?;
    let reviews_due = engine.overdue_reviews(monday + Days::new(7)).len();
    Ok(WeeklyPicture::of(monday, zone, &period, reviews_due))
}

/// The outbox rows that send a picture to `chat`: the chart with its caption, then the questions if any.
pub fn sends(
    picture: &WeeklyPicture,
    texts: &Texts,
    chat: i64,
    dedupe_key: Option<&str>,
    now: DateTime<Utc>,
) -> Vec<crate::store::NewOutbox> {
    let (caption, questions) = picture.told(texts);
    let chart = Outbound::WeeklyChart {
        week: picture.week,
        reports_by_day: picture.reports_by_day,
        caption,
    };
    let key = |part: &str| dedupe_key.map(|key| format!("{key}:{part}"));
    let mut rows = vec![chart.queue(chat, None, None, String::new(), now)];
    if let Some(text) = questions {
        rows.push(Outbound::Client { text }.queue(chat, None, None, String::new(), now));
    }
    for (row, part) in rows.iter_mut().zip(["chart", "questions"]) {
        row.dedupe_key = key(part);
    }
    rows
}

/// When the week's picture is due: a weekday and a local time, or never.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    pub weekday: Weekday,
    pub at: NaiveTime,
}

impl Schedule {
    /// "Mon 09:00" (the default), "Fri 16:30"; `off` is None.
    pub fn parse(text: &str) -> Result<Option<Schedule>, String> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("off") {
            return Ok(None);
        }
        let (day, time) = text
            .split_once(' ')
            .ok_or_else(|| "a weekday and a time such as \"Mon 09:00\", or off".to_string())?;
        let weekday: Weekday = day
            .parse()
            .map_err(|_| format!("{day:?} is not a weekday (Mon, Tue, … Sun)"))?;
        let at = NaiveTime::parse_from_str(time.trim(), "%H:%M")
            .map_err(|_| format!("{time:?} is not a time such as 09:00"))?;
        Ok(Some(Schedule { weekday, at }))
    }

    /// The week whose picture is due at `now`: the one before the latest scheduled moment not after `now`
    /// (its Monday), in the clinic's zone.
    pub fn due_week(&self, now: DateTime<Utc>, zone: Tz) -> NaiveDate {
        let local = now.with_timezone(&zone);
        let this_week = monday_of(local.date_naive());
        let moment = this_week + Days::new(u64::from(self.weekday.num_days_from_monday()));
        let passed = (moment, self.at) <= (local.date_naive(), local.time());
        let week_of_moment = if passed {
            this_week
        } else {
            this_week - Days::new(7)
        };
        week_of_moment - Days::new(7)
    }
}

/// Queues the due week's picture for the staff chat, once per week (across restarts and instances: the week is
/// recorded in the transaction that queues it), looking every `every` until `stop`.
pub async fn run(
    service: Service,
    clock: Arc<dyn Clock>,
    schedule: Schedule,
    every: std::time::Duration,
    mut stop: watch::Receiver<bool>,
) {
    let zone = service.clinic.time_zone;
    loop {
        let now = clock.now();
        let week = schedule.due_week(now, zone);
        if let Err(e) = queue_once(&service, week, now).await {
            tracing::warn!(error = %e, %week, "the weekly picture could not be queued; trying again");
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => break,
        }
    }
}

/// Queues the picture of the week starting on `monday` for the staff chat, unless it was queued before.
/// Returns whether it queued it.
pub async fn queue_once(
    service: &Service,
    monday: NaiveDate,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    // Looked for every minute: the week's figures are read only while its picture is still to be sent.
    if service.db.weekly_report_queued(monday).await? {
        return Ok(false);
    }
    let engine = service.engine();
    let picture = picture(&service.db, &engine, service.clinic.time_zone, monday).await?;
    let rows = sends(&picture, engine.texts(), service.staff_chat, None, now);
    let mut tx = service.db.write().await?;
    if !tx.note_weekly_report(monday, now).await? {
        return Ok(false); // queued already; dropping `tx` rolls back
    }
    tx.enqueue(&rows).await?;
    tx.commit().await?;
    tracing::info!(week = %monday, "weekly picture queued for staff");
    service.wake.notify_one();
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::ReportTimes;

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("date")
    }

    fn instant(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("instant")
            .to_utc()
    }

    #[test]
    fn schedules_read_a_weekday_and_a_time_or_off() {
        let monday_nine = Schedule::parse("Mon 09:00").expect("valid").expect("on");
        assert_eq!(monday_nine.weekday, Weekday::Mon);
        assert_eq!(Schedule::parse("off"), Ok(None));
        for refused in ["Monday", "Mon 9", "Moon 09:00", "09:00"] {
            assert!(Schedule::parse(refused).is_err(), "{refused}");
        }
    }

    #[test]
    fn the_week_due_is_the_one_before_the_latest_scheduled_moment() {
        let schedule = Schedule::parse("Mon 09:00").expect("valid").expect("on");
        let zone: Tz = "Europe/London".parse().expect("zone");
        // Monday 30 November 2026, 08:59 and 09:00 in London (GMT).
        assert_eq!(
            schedule.due_week(instant("2026-11-30T08:59:00Z"), zone),
            date("2026-11-16")
        );
        assert_eq!(
            schedule.due_week(instant("2026-11-30T09:00:00Z"), zone),
            date("2026-11-23")
        );
        assert_eq!(
            schedule.due_week(instant("2026-12-05T12:00:00Z"), zone),
            date("2026-11-23")
        );
    }

    #[test]
    fn a_weeks_picture_counts_reports_by_local_day_and_level() {
        let zone: Tz = "Europe/London".parse().expect("zone");
        let report = |opened: &str, level: &str, acknowledged: Option<&str>| ReportTimes {
            opened_at: instant(opened),
            level: level.into(),
            acknowledged_at: acknowledged.map(instant),
        };
        let period = Period {
            messages: 40,
            clients: 12,
            reports: vec![
                report(
                    "2026-11-23T10:00:00Z",
                    "urgent",
                    Some("2026-11-23T10:12:00Z"),
                ),
                report(
                    "2026-11-23T11:00:00Z",
                    "routine",
                    Some("2026-11-23T13:00:00Z"),
                ),
                report(
                    "2026-11-29T23:30:00Z",
                    "emergency",
                    Some("2026-11-29T23:32:00Z"),
                ),
            ],
            check_ins_sent: 9,
            check_ins_fine: 6,
            unanswered: vec![("can i dye my eyebrows".into(), 3)],
        };
        let picture = WeeklyPicture::of(date("2026-11-23"), zone, &period, 2);
        assert_eq!(picture.reports_by_day[0], [1, 1, 0]);
        assert_eq!(
            picture.reports_by_day[6],
            [0, 0, 1],
            "Sunday night is Sunday"
        );
        assert_eq!(picture.median_minutes_to_ack, Some(12.0));
        assert_eq!(picture.slowest_minutes_to_ack, Some(120.0));
        let texts = crate::engine::Engine::embedded(&Default::default())
            .expect("shipped intents")
            .texts()
            .clone();
        let (caption, questions) = picture.told(&texts);
        assert!(
            caption.contains("40 message(s) from 12 client(s)"),
            "{caption}"
        );
        assert!(
            caption.contains("emergency 1, urgent 1, routine 1"),
            "{caption}"
        );
        assert!(
            caption.contains("median 12 min, slowest 120 min"),
            "{caption}"
        );
        assert!(caption.contains("due for clinical review: 2"), "{caption}");
        assert!(caption.chars().count() <= 1024);
        assert!(
            questions.is_some_and(|q| q.contains("│ can i dye my eyebrows (3×)")),
            "the questions, quoted"
        );
    }
}
