//! `care-plan.toml`: the steps of the care timeline, read and checked, and which of them are due for a treatment
//! at a given moment. Pure: the time and the time zone are arguments.

use crate::engine::load::{CheckError, Source, line_of};
use crate::engine::messages::TELEGRAM_MAX_CHARS;
use crate::engine::model::unknown_placeholders;
use chrono::{DateTime, Days, NaiveDate, NaiveTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use serde::Deserialize;
use std::collections::HashSet;
use std::fmt;

pub const CARE_PLAN_FILE: &str = "care-plan.toml";

/// The placeholders a step's text may use besides the clinic's.
pub const STEP_PLACEHOLDERS: &[&str] = &["first_name"];

/// The furthest day a step may be on: a year after the treatment.
const MAX_DAY: u32 = 366;
/// The most days a step may be sent late.
const MAX_LATE_DAYS: u32 = 30;
/// A step's id is part of the outbox's dedupe key and of what is stored: short, plain.
const MAX_ID_CHARS: usize = 24;

/// What a button under a step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StepButton {
    /// "All fine": recorded, and counted in `/stats`.
    Fine,
    /// "Something worries me": the bot asks what they see.
    Worried,
    /// No more of these messages.
    Stop,
}

/// A step's name in the plan ("day-1"), as stored with what was sent.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StepId(String);

impl StepId {
    pub fn new(id: impl Into<String>) -> StepId {
        StepId(id.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for StepId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One message of the timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub id: StepId,
    /// Days after the treatment date (0 = the treatment day).
    pub day: u32,
    /// The local time to send it.
    pub at: NaiveTime,
    /// How many days late it may still go out.
    pub late_days: u32,
    /// The words, placeholders and all (the clinic's and [`STEP_PLACEHOLDERS`]).
    pub text: String,
    pub buttons: Vec<StepButton>,
}

/// The hours, local time, in which the bot may write first: from `from`, up to but not including `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendingWindow {
    pub from: NaiveTime,
    pub to: NaiveTime,
}

impl SendingWindow {
    fn holds(self, time: NaiveTime) -> bool {
        self.from <= time && time < self.to
    }
}

/// The whole plan, its steps in the order of their days.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CarePlan {
    pub window: SendingWindow,
    pub steps: Vec<Step>,
}

/// What the plan needs to know of one client's current treatment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeline {
    pub treated_on: NaiveDate,
    /// When the treatment date was recorded: a step whose time had come by then is never sent.
    pub known_since: DateTime<Utc>,
    /// The steps already sent for this treatment.
    pub sent: Vec<StepId>,
}

impl CarePlan {
    /// The moment `step` is due for a treatment on `treated_on`: its day, at its local time. A time the clocks
    /// skip (the hour lost when summer time starts) is taken an hour later; a time they pass twice, the first.
    pub fn send_at(step: &Step, treated_on: NaiveDate, zone: Tz) -> Option<DateTime<Utc>> {
        let date = treated_on.checked_add_days(Days::new(step.day.into()))?;
        let local = date.and_time(step.at);
        zone.from_local_datetime(&local)
            .earliest()
            .or_else(|| {
                zone.from_local_datetime(&(local + chrono::Duration::hours(1)))
                    .earliest()
            })
            .map(|at| at.with_timezone(&Utc))
    }

    /// The steps of `timeline` to send at `now`: their time has come, they are not sent yet, they are still in
    /// time (at most their `late_days` after their day), their time had not passed when the treatment date was
    /// recorded, and it is within the sending window. In the plan's order.
    pub fn due(&self, timeline: &Timeline, zone: Tz, now: DateTime<Utc>) -> Vec<&Step> {
        let local = now.with_timezone(&zone);
        if !self.window.holds(local.time()) {
            return Vec::new();
        }
        let today = local.date_naive();
        self.steps
            .iter()
            .filter(|step| !timeline.sent.contains(&step.id))
            .filter(|step| {
                let Some(at) = CarePlan::send_at(step, timeline.treated_on, zone) else {
                    return false;
                };
                let last_day = timeline
                    .treated_on
                    .checked_add_days(Days::new(u64::from(step.day + step.late_days)));
                at <= now && at > timeline.known_since && last_day.is_some_and(|last| today <= last)
            })
            .collect()
    }

    /// The treatment dates whose timelines may have a step due on the local date `today`: the earliest and the
    /// latest. `None` when the plan has no steps.
    pub fn treatment_dates_due_on(&self, today: NaiveDate) -> Option<(NaiveDate, NaiveDate)> {
        let latest = self.steps.iter().map(|s| s.day).min()?;
        let earliest = self.steps.iter().map(|s| s.day + s.late_days).max()?;
        Some((
            today.checked_sub_days(Days::new(earliest.into()))?,
            today.checked_sub_days(Days::new(latest.into()))?,
        ))
    }

    /// The steps whose day is `date` for a treatment on `treated_on` (for staff's list of what is due).
    pub fn steps_on(&self, treated_on: NaiveDate, date: NaiveDate) -> impl Iterator<Item = &Step> {
        let day = (date - treated_on).num_days();
        self.steps
            .iter()
            .filter(move |step| i64::from(step.day) == day)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanFile {
    window: toml::Spanned<WindowFile>,
    #[serde(default)]
    step: Vec<toml::Spanned<StepFile>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WindowFile {
    from: String,
    to: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StepFile {
    id: String,
    day: u32,
    at: String,
    #[serde(default)]
    late_days: u32,
    #[serde(default)]
    buttons: Vec<StepButton>,
    text: String,
}

/// "10:00" as a local time, on the minute.
fn clock_time(text: &str) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(text.trim(), "%H:%M")
        .ok()
        .filter(|t| t.second() == 0)
}

/// Reads and checks `care-plan.toml`; every problem as `file:line: message`.
pub fn parse(source: &Source) -> Result<CarePlan, Vec<CheckError>> {
    let error = |offset: usize, message: String| CheckError {
        file: source.name.clone(),
        line: line_of(&source.text, offset),
        message,
    };
    let file: PlanFile = toml::from_str(&source.text).map_err(|e| {
        let offset = e.span().map_or(0, |s| s.start);
        vec![error(offset, e.message().trim().to_string())]
    })?;
    let mut errors = Vec::new();
    let window_at = file.window.span().start;
    let window = file.window.into_inner();
    let from = clock_time(&window.from);
    let to = clock_time(&window.to);
    for (name, text, time) in [("from", &window.from, from), ("to", &window.to, to)] {
        if time.is_none() {
            let message = format!("window {name} {text:?}: write a time as HH:MM, e.g. \"09:00\"");
            errors.push(error(window_at, message));
        }
    }
    let window = match (from, to) {
        (Some(from), Some(to)) if from < to => Some(SendingWindow { from, to }),
        (Some(_), Some(_)) => {
            let message = "window: `from` must be earlier than `to` (the window is within one day)";
            errors.push(error(window_at, message.into()));
            None
        }
        _ => None,
    };
    let mut steps = Vec::new();
    let mut ids = HashSet::new();
    for spanned in file.step {
        let at = spanned.span().start;
        let step = spanned.into_inner();
        let mut problem = |message: String| errors.push(error(at, message));
        let id = step.id.trim();
        if id.is_empty()
            || id.chars().count() > MAX_ID_CHARS
            || !id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            problem(format!(
                "step id {id:?}: use up to {MAX_ID_CHARS} lowercase letters, digits and '-'"
            ));
        } else if !ids.insert(id.to_string()) {
            problem(format!(
                "step id {id:?} is used twice: each step needs its own"
            ));
        }
        if step.day > MAX_DAY {
            problem(format!(
                "step {id}: day {} is more than a year after the treatment",
                step.day
            ));
        }
        if step.late_days > MAX_LATE_DAYS {
            problem(format!(
                "step {id}: late_days {} is more than {MAX_LATE_DAYS}",
                step.late_days
            ));
        }
        let time = clock_time(&step.at);
        match (time, window) {
            (None, _) => problem(format!(
                "step {id}: at {:?}: write a time as HH:MM, e.g. \"10:00\"",
                step.at
            )),
            (Some(time), Some(window)) if !window.holds(time) => problem(format!(
                "step {id}: at {} is outside the sending window ({} to {})",
                time.format("%H:%M"),
                window.from.format("%H:%M"),
                window.to.format("%H:%M")
            )),
            _ => {}
        }
        let text = step.text.trim();
        if text.is_empty() {
            problem(format!("step {id}: text is empty"));
        }
        let unknown = unknown_placeholders(text, STEP_PLACEHOLDERS);
        if !unknown.is_empty() {
            problem(format!(
                "step {id}: unknown placeholder {}; a step may use the clinic's and {{first_name}}",
                unknown
                    .iter()
                    .map(|name| format!("{{{name}}}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        // Room for the clinic's values and a long first name.
        if text.chars().count() + 400 > TELEGRAM_MAX_CHARS {
            problem(format!(
                "step {id}: text is {} characters; keep it under {} so it fits one Telegram message once filled",
                text.chars().count(),
                TELEGRAM_MAX_CHARS - 400
            ));
        }
        let mut buttons = Vec::new();
        for button in step.buttons {
            if buttons.contains(&button) {
                problem(format!("step {id}: button {button:?} is listed twice"));
            } else {
                buttons.push(button);
            }
        }
        if let Some(at) = time {
            steps.push(Step {
                id: StepId::new(id),
                day: step.day,
                at,
                late_days: step.late_days,
                text: text.to_string(),
                buttons,
            });
        }
    }
    match window {
        Some(window) if errors.is_empty() => {
            steps.sort_by_key(|step| (step.day, step.at));
            Ok(CarePlan { window, steps })
        }
        _ => Err(errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(text: &str) -> Source {
        Source {
            name: CARE_PLAN_FILE.into(),
            text: text.into(),
        }
    }

    fn shipped() -> CarePlan {
        let text = include_str!("../../intents/care-plan.toml");
        parse(&source(text)).expect("the shipped plan is valid")
    }

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("test time")
            .with_timezone(&Utc)
    }

    fn date(text: &str) -> NaiveDate {
        text.parse().expect("test date")
    }

    fn ids(steps: Vec<&Step>) -> Vec<&str> {
        steps.into_iter().map(|s| s.id.as_str()).collect()
    }

    fn timeline(treated_on: &str, known_since: &str, sent: &[&str]) -> Timeline {
        Timeline {
            treated_on: date(treated_on),
            known_since: utc(known_since),
            sent: sent.iter().map(|s| StepId::new(*s)).collect(),
        }
    }

    #[test]
    fn the_shipped_plan_has_the_check_ins_and_the_rebooking_reminders() {
        let plan = shipped();
        let days: Vec<u32> = plan.steps.iter().map(|s| s.day).collect();
        assert_eq!(days, [1, 3, 7, 28, 42]);
        assert!(plan.steps[0].buttons.contains(&StepButton::Fine));
    }

    #[test]
    fn a_step_is_due_from_its_local_time_on_its_day_and_only_once() {
        let plan = shipped();
        let london: Tz = "Europe/London".parse().expect("zone");
        let jane = timeline("2026-03-10", "2026-03-10T12:00:00Z", &[]);
        assert!(
            plan.due(&jane, london, utc("2026-03-11T09:59:00Z"))
                .is_empty()
        );
        assert_eq!(
            ids(plan.due(&jane, london, utc("2026-03-11T10:00:00Z"))),
            ["day-1"]
        );
        let sent = timeline("2026-03-10", "2026-03-10T12:00:00Z", &["day-1"]);
        assert!(
            plan.due(&sent, london, utc("2026-03-11T10:05:00Z"))
                .is_empty()
        );
    }

    #[test]
    fn local_time_follows_the_clinics_zone_across_a_daylight_saving_change() {
        let plan = shipped();
        let london: Tz = "Europe/London".parse().expect("zone");
        // Treated on Friday 27 March 2026; summer time starts on Sunday 29th: day 3 (the 30th) is at 10:00 BST,
        // 09:00 UTC, and day 1 (the 28th) at 10:00 GMT.
        let jane = timeline("2026-03-27", "2026-03-27T12:00:00Z", &["day-1"]);
        assert!(
            plan.due(&jane, london, utc("2026-03-30T08:59:00Z"))
                .is_empty()
        );
        assert_eq!(
            ids(plan.due(&jane, london, utc("2026-03-30T09:00:00Z"))),
            ["day-3"]
        );
        let day_one = &plan.steps[0];
        assert_eq!(
            CarePlan::send_at(day_one, date("2026-03-27"), london),
            Some(utc("2026-03-28T10:00:00Z"))
        );
    }

    #[test]
    fn a_time_the_clocks_skip_is_taken_an_hour_later() {
        let step = Step {
            id: StepId::new("early"),
            day: 2,
            at: NaiveTime::from_hms_opt(1, 30, 0).expect("time"),
            late_days: 0,
            text: "hello".into(),
            buttons: vec![],
        };
        let london: Tz = "Europe/London".parse().expect("zone");
        // 01:30 on 29 March 2026 does not exist in London: 02:30 BST is 01:30 UTC.
        assert_eq!(
            CarePlan::send_at(&step, date("2026-03-27"), london),
            Some(utc("2026-03-29T01:30:00Z"))
        );
    }

    #[test]
    fn nothing_goes_out_at_night_and_a_late_step_waits_for_the_morning_while_in_time() {
        let plan = shipped();
        let zone: Tz = "America/New_York".parse().expect("zone");
        // Treated 1 June; day 3 is 4 June at 10:00 EDT (14:00 UTC). The bot was down that day.
        let jane = timeline("2026-06-01", "2026-06-01T15:00:00Z", &["day-1"]);
        // 22:00 EDT on day 3: outside the window.
        assert!(
            plan.due(&jane, zone, utc("2026-06-05T02:00:00Z"))
                .is_empty()
        );
        // 09:00 EDT on day 4: one day late, within late_days = 1.
        assert_eq!(
            ids(plan.due(&jane, zone, utc("2026-06-05T13:00:00Z"))),
            ["day-3"]
        );
        // Day 5: too late.
        assert!(
            plan.due(&jane, zone, utc("2026-06-06T13:00:00Z"))
                .is_empty()
        );
    }

    #[test]
    fn a_step_whose_time_passed_before_the_date_was_known_is_never_sent() {
        let plan = shipped();
        let utc_zone: Tz = "UTC".parse().expect("zone");
        // The client gave the date on day 2: the day-1 check-in is not sent, day 3 is.
        let late = timeline("2026-03-10", "2026-03-12T15:00:00Z", &[]);
        assert!(
            plan.due(&late, utc_zone, utc("2026-03-12T16:00:00Z"))
                .is_empty()
        );
        assert_eq!(
            ids(plan.due(&late, utc_zone, utc("2026-03-13T10:00:00Z"))),
            ["day-3"]
        );
    }

    #[test]
    fn the_treatment_dates_to_look_at_cover_every_step_and_its_late_days() {
        let plan = shipped();
        let (earliest, latest) = plan
            .treatment_dates_due_on(date("2026-03-31"))
            .expect("steps");
        // Day 1 at the latest; day 42 plus 7 late days at the earliest.
        assert_eq!(latest, date("2026-03-30"));
        assert_eq!(earliest, date("2026-02-10"));
        let empty = CarePlan {
            window: plan.window,
            steps: vec![],
        };
        assert_eq!(empty.treatment_dates_due_on(date("2026-03-31")), None);
    }

    #[test]
    fn every_mistake_in_the_file_is_named_with_its_line() {
        let text = r#"
window = { from = "20:00", to = "09:00" }

[[step]]
id = "Day 1"
day = 1
at = "25:00"
text = "hi {first_nam}"

[[step]]
id = "a"
day = 400
at = "10:00"
late_days = 90
buttons = ["fine", "fine"]
text = ""

[[step]]
id = "a"
day = 2
at = "10:00"
text = "again"
"#;
        let errors = parse(&source(text)).expect_err("invalid");
        let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
        let all = shown.join("\n");
        for expected in [
            "care-plan.toml:2: window: `from` must be earlier",
            "care-plan.toml:4: step id \"Day 1\"",
            "at \"25:00\"",
            "unknown placeholder {first_nam}",
            "care-plan.toml:10: step a: day 400",
            "late_days 90",
            "button Fine is listed twice",
            "step a: text is empty",
            "care-plan.toml:18: step id \"a\" is used twice",
        ] {
            assert!(all.contains(expected), "{expected} not in:\n{all}");
        }
        let broken = parse(&source("window = 3")).expect_err("not a table");
        assert_eq!(broken[0].file, CARE_PLAN_FILE);
        let unknown = parse(&source(
            "window = { from = \"09:00\", to = \"20:00\" }\n[[step]]\nid = \"x\"\nday = 1\nat = \"10:00\"\ntext = \"hi\"\nbuttons = [\"maybe\"]\n",
        ))
        .expect_err("unknown button");
        assert!(unknown[0].message.contains("maybe"), "{unknown:?}");
    }

    #[test]
    fn a_plan_without_steps_sends_nothing() {
        let plan =
            parse(&source("window = { from = \"09:00\", to = \"20:00\" }\n")).expect("valid");
        let zone: Tz = "UTC".parse().expect("zone");
        let jane = timeline("2026-03-10", "2026-03-10T12:00:00Z", &[]);
        assert!(
            plan.due(&jane, zone, utc("2026-03-11T12:00:00Z"))
                .is_empty()
        );
    }
}
