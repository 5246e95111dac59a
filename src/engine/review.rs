//! Clinical review of the content: who reviewed an intent, when, and how often it is to be reviewed again, so
//! that `aftercare check`, `/stats` and the weekly picture can say what is due.

use super::model::IntentFile;
use chrono::{Months, NaiveDate};

/// How often content is reviewed when its file does not say.
pub const DEFAULT_EVERY_MONTHS: u32 = 12;

/// An intent's review, as its file states it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    pub by: Option<String>,
    pub on: Option<NaiveDate>,
    pub every_months: u32,
}

/// An intent whose review is due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overdue {
    pub intent: String,
    /// When it was due; none when it was never reviewed.
    pub since: Option<NaiveDate>,
}

impl Overdue {
    /// One line for `aftercare check` and staff: "makeup: not yet reviewed", "makeup: review due since 2026-03-01".
    pub fn describe(&self) -> String {
        match self.since {
            None => format!("{}: not yet reviewed", self.intent),
            Some(due) => format!("{}: review due since {due}", self.intent),
        }
    }
}

impl Review {
    /// Reads the three fields; an error names the byte offset of the field and what is wrong.
    pub fn of(intent: &IntentFile) -> Result<Review, (usize, String)> {
        let on = match &intent.reviewed_on {
            None => None,
            Some(text) => Some(
                NaiveDate::parse_from_str(text.get_ref().trim(), "%Y-%m-%d").map_err(|_| {
                    (
                        text.span().start,
                        format!(
                            "reviewed_on {:?}: write a date as 2026-03-01",
                            text.get_ref()
                        ),
                    )
                })?,
            ),
        };
        let every_months = match &intent.review_every {
            None => DEFAULT_EVERY_MONTHS,
            Some(text) => months(text.get_ref()).ok_or_else(|| {
                (
                    text.span().start,
                    format!(
                        "review_every {:?}: write it as \"12 months\" or \"2 years\"",
                        text.get_ref()
                    ),
                )
            })?,
        };
        Ok(Review {
            by: intent.reviewed_by.clone(),
            on,
            every_months,
        })
    }

    /// When the next review is due: never reviewed (no date) is due now.
    pub fn due(&self) -> Option<NaiveDate> {
        self.on
            .and_then(|on| on.checked_add_months(Months::new(self.every_months)))
    }

    /// Whether it is due on `today` (the day is handed in: no clock here).
    pub fn overdue(&self, intent: &str, today: NaiveDate) -> Option<Overdue> {
        match self.due() {
            None => Some(Overdue {
                intent: intent.to_string(),
                since: None,
            }),
            Some(due) if due <= today => Some(Overdue {
                intent: intent.to_string(),
                since: Some(due),
            }),
            Some(_) => None,
        }
    }
}

/// "12 months", "1 year", "2 years", "18 months" as months (1 to 120).
fn months(text: &str) -> Option<u32> {
    let mut words = text.split_whitespace();
    let number: u32 = words.next()?.parse().ok()?;
    let unit = words.next()?;
    if words.next().is_some() {
        return None;
    }
    let months = match unit {
        "month" | "months" => number,
        "year" | "years" => number.checked_mul(12)?,
        _ => return None,
    };
    (1..=120).contains(&months).then_some(months)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("date")
    }

    #[test]
    fn intervals_are_months_or_years() {
        assert_eq!(months("12 months"), Some(12));
        assert_eq!(months("1 year"), Some(12));
        assert_eq!(months("2 years"), Some(24));
        for refused in [
            "12",
            "twelve months",
            "0 months",
            "11 years",
            "12 months ago",
            "3 weeks",
        ] {
            assert_eq!(months(refused), None, "{refused}");
        }
    }

    #[test]
    fn a_review_is_due_after_its_interval_and_never_reviewed_is_due_now() {
        let reviewed = Review {
            by: Some("Dr A".into()),
            on: Some(date("2025-12-05")),
            every_months: 12,
        };
        assert_eq!(reviewed.overdue("makeup", date("2026-12-04")), None);
        assert_eq!(
            reviewed.overdue("makeup", date("2026-12-05")),
            Some(Overdue {
                intent: "makeup".into(),
                since: Some(date("2026-12-05"))
            })
        );
        let never = Review {
            by: Some("not yet reviewed".into()),
            on: None,
            every_months: 12,
        };
        assert_eq!(
            never
                .overdue("makeup", date("2020-01-01"))
                .map(|o| o.describe()),
            Some("makeup: not yet reviewed".into())
        );
    }
}
