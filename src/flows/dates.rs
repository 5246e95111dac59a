//! Reads a treatment date typed in any common form. Day-first, as written in the UK and most of the world.

use super::texts::Key;
use chrono::{Datelike, Duration, NaiveDate, Weekday};

/// Why a date typed cannot be a treatment date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateProblem {
    Unreadable,
    InFuture,
    TooOld,
}

impl DateProblem {
    /// What the client is told (`messages.toml`).
    pub fn key(self) -> Key {
        match self {
            DateProblem::Unreadable => Key::DateUnreadable,
            DateProblem::InFuture => Key::DateInFuture,
            DateProblem::TooOld => Key::DateTooOld,
        }
    }
}

/// The date meant, or why it cannot be a treatment date.
pub fn parse_treatment_date(input: &str, today: NaiveDate) -> Result<NaiveDate, DateProblem> {
    let text = input.trim().to_lowercase().replace(['.', ','], " ");
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let date = parse(&text, today).ok_or(DateProblem::Unreadable)?;
    if date > today {
        return Err(DateProblem::InFuture);
    }
    if today - date > Duration::days(365) {
        return Err(DateProblem::TooOld);
    }
    Ok(date)
}

fn parse(text: &str, today: NaiveDate) -> Option<NaiveDate> {
    let text = text
        .trim_start_matches("on ")
        .trim_start_matches("it was ")
        .trim_start_matches("i had it ")
        .trim();
    match text {
        "today" | "this morning" | "this afternoon" | "just now" | "earlier today" => {
            return Some(today);
        }
        "yesterday" | "last night" => return Some(today - Duration::days(1)),
        _ => {}
    }
    let words: Vec<&str> = text.split(' ').collect();
    // "day 3", "day 3 today", "3 days": the day since treatment, as the bot asks for it.
    let days_since = match words.as_slice() {
        ["day", n] | ["day", n, "today"] => Some(n),
        ["its" | "it's", "day", n] | ["its" | "it's", "day", n, "today"] => Some(n),
        [n, "day" | "days"] => Some(n),
        _ => None,
    };
    if let Some(days) = days_since.and_then(|n| n.parse::<i64>().ok()) {
        return today.checked_sub_signed(Duration::try_days(days)?);
    }
    // "3 days ago", "a week ago", "2 weeks ago"
    if words.len() == 3 && words[2] == "ago" {
        let n: i64 = match words[0] {
            "a" | "one" => 1,
            "two" => 2,
            "three" => 3,
            "four" => 4,
            "five" => 5,
            "six" => 6,
            other => other.parse().ok()?,
        };
        let days = match words[1].trim_end_matches('s') {
            "day" => n,
            "week" => n.checked_mul(7)?,
            _ => return None,
        };
        return today.checked_sub_signed(Duration::try_days(days)?);
    }
    // "monday", "last monday"
    if let Ok(weekday) = words.last()?.parse::<Weekday>()
        && (words.len() == 1 || (words.len() == 2 && words[0] == "last"))
    {
        let back =
            (7 + today.weekday().num_days_from_monday() - weekday.num_days_from_monday()) % 7;
        let back = if back == 0 { 7 } else { back };
        return Some(today - Duration::days(back.into()));
    }
    for format in [
        "%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d/%m/%y", "%d %B %Y", "%d %b %Y", "%B %d %Y",
        "%b %d %Y",
    ] {
        if let Ok(date) = NaiveDate::parse_from_str(&strip_ordinals(text), format) {
            return Some(date);
        }
    }
    // Without a year: the most recent such date that is not in the future.
    for format in ["%d/%m", "%d-%m", "%d %B", "%d %b", "%B %d", "%b %d"] {
        let with_year = format!("{} {}", strip_ordinals(text), today.year());
        if let Ok(date) = NaiveDate::parse_from_str(&with_year, &format!("{format} %Y")) {
            return Some(if date > today {
                date.with_year(today.year() - 1).unwrap_or(date)
            } else {
                date
            });
        }
    }
    None
}

/// "21st november" → "21 november".
fn strip_ordinals(text: &str) -> String {
    text.split(' ')
        .map(|w| {
            let digits = w.trim_end_matches(|c: char| c.is_ascii_alphabetic());
            if !digits.is_empty()
                && digits.chars().all(|c| c.is_ascii_digit())
                && matches!(&w[digits.len()..], "st" | "nd" | "rd" | "th")
            {
                digits.to_string()
            } else {
                w.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
    }

    #[test]
    fn common_forms() {
        let today = date(2026, 11, 24); // a Tuesday
        let cases = [
            ("today", date(2026, 11, 24)),
            ("Yesterday", date(2026, 11, 23)),
            ("3 days ago", date(2026, 11, 21)),
            ("day 3", date(2026, 11, 21)),
            ("it's day 3 today", date(2026, 11, 21)),
            ("3 days", date(2026, 11, 21)),
            ("a week ago", date(2026, 11, 17)),
            ("21/11", date(2026, 11, 21)),
            ("21/11/2026", date(2026, 11, 21)),
            ("2026-11-20", date(2026, 11, 20)),
            ("21st November", date(2026, 11, 21)),
            ("Nov 21", date(2026, 11, 21)),
            ("on monday", date(2026, 11, 23)),
            ("last tuesday", date(2026, 11, 17)),
            ("28/12", date(2025, 12, 28)),
        ];
        for (input, expected) in cases {
            assert_eq!(parse_treatment_date(input, today), Ok(expected), "{input}");
        }
    }

    #[test]
    fn nonsense_future_and_ancient_dates_are_refused_with_a_reason() {
        let today = date(2026, 11, 24);
        let problem = |input: &str| parse_treatment_date(input, today).unwrap_err();
        assert_eq!(problem("purple"), DateProblem::Unreadable);
        assert_eq!(problem("2026-12-01"), DateProblem::InFuture);
        assert_eq!(problem("2020-01-01"), DateProblem::TooOld);
        assert!(parse_treatment_date("99999999 days ago", today).is_err());
        for huge in ["9223372036854775807 weeks ago", "day 9223372036854775807"] {
            assert!(parse_treatment_date(huge, today).is_err(), "{huge}");
        }
    }
}
