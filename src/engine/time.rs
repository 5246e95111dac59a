//! The day since treatment, read from what the client wrote: "day 10", "2 weeks ago", "had it done
//! yesterday". The current date is an argument (only "since monday" needs it): the engine reads no clock.

use super::context::NEGATED_AFTER_BLOCKERS;
use chrono::{Datelike, NaiveDate, Weekday};
use regex::Regex;

pub struct DayPhrases {
    day_number: Regex,
    week_number: Regex,
    ordinal_day: Regex,
    amount_ago: Regex,
    and_a_half: Regex,
    weeks_and_days: Regex,
    calendar_day: Regex,
    calendar_today: Regex,
    today_phrase: Regex,
    yesterday: Regex,
    treatment_words: Regex,
    weekday: Regex,
    /// Today's weekday, when the message tells it: "its friday now", "today (Friday)".
    weekday_today: Regex,
}

/// A month by name, as clients write dates: "3 june", "june 3rd", "the 3rd of sept".
const MONTH: &str = r"(?:january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec)";

const NUMBER: &str = r"(\d{1,3}|a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|a couple of|couple of|a couple|couple|a few|few)";

impl Default for DayPhrases {
    fn default() -> Self {
        let compile = |pattern: &str| Regex::new(pattern).expect("built-in day pattern compiles");
        DayPhrases {
            day_number: compile(&format!(r"\bday (?:number )?{NUMBER}\b")),
            week_number: compile(r"\bweek (\d{1,2}|one|two|three|four|five|six|seven|eight)\b"),
            ordinal_day: compile(
                r"\b(\d{1,2})(?:st|nd|rd|th) day\b|\b(first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth) day\b",
            ),
            amount_ago: compile(&format!(
                r"\b(?:(been|for|after|about|almost|nearly|over|like|its|now|already) )?{NUMBER} (hours?|hrs?|days?|weeks?|wks?|months?|fortnight)(?: (ago|since|later|now|post|after|out|in|on|already|passed|gone by))?\b"
            )),
            and_a_half: compile(&format!(
                r"\b(?:(in|wait|another|next|every|for) )?(?:{NUMBER} (weeks?|days?|months?) and a (?:half|bit)|{NUMBER} and a (?:half|bit) (weeks?|days?|months?))\b"
            )),
            weeks_and_days: compile(&format!(
                r"\b(?:(in|wait|another|next|every) )?{NUMBER} (weeks?|wks?|months?) and {NUMBER} (days?|weeks?|wks?)\b"
            )),
            // "on the 3rd", "the 3rd of december", "3 june", "june 3": a day of the month, not "the 3rd day" or
            // "my 3rd session".
            calendar_day: compile(&format!(
                r"\b(?:(?:on |the |(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)(?:day)? )(\d{{1,2}})(?:st|nd|rd|th)\b(?: (?:of )?(?:this month|last month|{MONTH}))?|(\d{{1,2}})(?:st|nd|rd|th)? (?:of )?{MONTH}|{MONTH} (\d{{1,2}})(?:st|nd|rd|th)?)\b(?: (day|days|session|sessions|treatment|week|weeks|time|appointment|one))?"
            )),
            calendar_today: compile(&format!(
                r"\b(?:today is|todays|today its|today s|today|its|it is|now) (?:the )?(?:(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)(?:day)? )?(?:(\d{{1,2}})(?:st|nd|rd|th)\b(?: today)?|(\d{{1,2}})(?:st|nd|rd|th)? (?:of )?{MONTH}\b|{MONTH} (\d{{1,2}})\b)|\b(?:today is|todays|today s) (?:the )?(\d{{1,2}})\b(?: (day|days|week|weeks|hour|hours|degrees|c|f|percent))?"
            )),
            today_phrase: compile(
                r"\b(this morning|this afternoon|earlier today|today|few hours ago|couple of hours ago|hours ago|just had|just got back|just come back|just came back)\b",
            ),
            yesterday: compile(r"\b(yesterday|last night)\b"),
            treatment_words: compile(
                r"\b(treatment|treated|needling|microneedling|needled|session|appointment|procedure|skinpen|dermapen)\b|\b(had|got|did|have|get) (it|mine|my face|my skin) (done|needled)\b|\b(had|got) (it|mine) (yesterday|today|this morning|this afternoon)\b",
            ),
            weekday: compile(
                r"\b(?:since|on|last|done|was) (monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b",
            ),
            weekday_today: compile(
                r"\b(?:today is|todays|today|its|it is|now its|now it is) (monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b",
            ),
        }
    }
}

/// The largest number the pattern captures in the text, with its phrase, skipping those right after one of
/// the words given.
fn latest_number(pattern: &Regex, text: &str, not_after: &[&str]) -> Option<(u32, String)> {
    pattern
        .captures_iter(text)
        .filter(|c| {
            let before = text[..c.get(0).map_or(0, |m| m.start())].trim_end();
            // "day 1 was ok, now it's worse": a day told in the past tense is not today's.
            let after = text[c.get(0).map_or(0, |m| m.end())..].trim_start();
            let told_in_the_past = after.starts_with("was ") || after.starts_with("were ");
            !(not_after.contains(&before.rsplit(' ').next().unwrap_or(""))
                || told_in_the_past
                || compares_with_that_time(before))
        })
        .filter_map(|c| Some((number_value(&c[1])?, c[0].to_string())))
        .max_by_key(|(n, _)| *n)
}

fn number_value(word: &str) -> Option<u32> {
    if let Ok(n) = word.parse::<u32>() {
        return Some(n);
    }
    Some(match word {
        "a" | "an" | "one" | "first" => 1,
        "two" | "second" | "a couple of" | "couple of" | "a couple" | "couple" => 2,
        "three" | "third" | "a few" | "few" => 3,
        "four" | "fourth" => 4,
        "five" | "fifth" => 5,
        "six" | "sixth" => 6,
        "seven" | "seventh" => 7,
        "eight" | "eighth" => 8,
        "nine" | "ninth" => 9,
        "ten" | "tenth" => 10,
        "eleven" => 11,
        "twelve" => 12,
        "thirteen" => 13,
        "fourteen" => 14,
        "fifteen" => 15,
        "sixteen" => 16,
        "seventeen" => 17,
        "eighteen" => 18,
        "nineteen" => 19,
        "twenty" => 20,
        "thirty" => 30,
        _ => return None,
    })
}

/// Whether the message tells of a treatment before the latest one.
fn speaks_of_an_earlier_treatment(text: &str) -> bool {
    [
        "last time",
        "last session",
        "last treatment",
        "previous session",
        "previous treatment",
        "my first session",
        "the first session",
        "time before",
    ]
    .iter()
    .any(|phrase| text.contains(phrase))
}

impl DayPhrases {
    /// The day since treatment the normalised message states, with the phrase that said it.
    pub fn find(&self, text: &str, today: Option<NaiveDate>) -> Option<(u32, String)> {
        // Every phrase below names a unit of time ("day" is in today, yesterday and the weekdays too), or the
        // treatment: most messages name neither, and skip a dozen regular expressions.
        let names_time = ["day", "week", "wk", "month", "hour", "hr", "fortnight"]
            .iter()
            .any(|unit| text.contains(unit));
        if !names_time && !text.contains("done on") && !self.treatment_words.is_match(text) {
            return None;
        }
        // "since day 1. today is day 5": the latest day named is today's.
        // "the bumps from day 3", "it had settled by day 2": a day after these words is in the past.
        if let Some((n, phrase)) = latest_number(
            &self.day_number,
            text,
            &[
                "from", "since", "by", "until", "till", "til", "after", "around", "than",
            ],
        ) {
            return Some((n, phrase));
        }
        // "still there now at week 4": the first day of that week ("in week 2" is a plan).
        if let Some((n, phrase)) = latest_number(
            &self.week_number,
            text,
            &[
                "from", "since", "by", "until", "till", "in", "after", "every",
            ],
        ) {
            return Some(((n.max(1) - 1) * 7, phrase));
        }
        // "a week and a half", "two and a half weeks": the past unless it is a wait or a plan.
        if let Some(c) = self.and_a_half.captures(text)
            && c.get(1).is_none()
        {
            let (number, unit) = match (c.get(2), c.get(3), c.get(4), c.get(5)) {
                (Some(n), Some(u), _, _) | (_, _, Some(n), Some(u)) => (n.as_str(), u.as_str()),
                _ => return None,
            };
            let n = number_value(number)?;
            let unit_days = if unit.starts_with('w') {
                7
            } else if unit.starts_with('m') {
                30
            } else {
                1
            };
            return Some((n * unit_days + unit_days / 2, c[0].to_string()));
        }
        // "two weeks and two days": the past unless it is a wait or a plan.
        if let Some(c) = self.weeks_and_days.captures(text)
            && c.get(1).is_none()
        {
            let days_in = |unit: &str| {
                if unit.starts_with('m') {
                    30
                } else if unit.starts_with('w') {
                    7
                } else {
                    1
                }
            };
            let total =
                number_value(&c[2])? * days_in(&c[3]) + number_value(&c[4])? * days_in(&c[5]);
            return Some((total, c[0].to_string()));
        }
        // "hurting more than the first day", "still red like the first day", "as swollen as on the first day"
        // compare with that day; they do not date the message.
        if let Some(c) = self.ordinal_day.captures(text).filter(|c| {
            let before = text[..c.get(0).map_or(0, |m| m.start())].trim_end();
            let before = before.strip_suffix(" the").unwrap_or(before);
            let before = before.strip_suffix(" on").unwrap_or(before);
            // "redder than it was on the first day": "than" or "like" a few words back compares too.
            let compares_from_afar = before
                .split_whitespace()
                .rev()
                .take(4)
                .any(|w| w == "than" || w == "like");
            // "wearing spf every day since the second day": a day after these words is in the past.
            let dates_the_past =
                ends_with_a_word_of(before, &["since", "from", "by", "until", "till", "after"]);
            !compares_from_afar && !dates_the_past && !ends_with_a_word_of(before, &["as"])
        }) {
            let word = c.get(1).or(c.get(2))?.as_str();
            let n = number_value(word)?;
            // "the first day" is the treatment day itself.
            return Some((n.saturating_sub(1), c[0].to_string()));
        }
        for c in self.amount_ago.captures_iter(text) {
            let lead = c.get(1).map(|m| m.as_str());
            let trail = c.get(4).map(|m| m.as_str());
            // "in 2 weeks" and "wait a week" are the future or a rule, not the client's day.
            // "ten days on and still red": "on" speaks of the past when the phrase opens the clause.
            let before = text[..c.get(0).map_or(0, |m| m.start())].trim_end();
            let opens_clause = before
                .chars()
                .last()
                .is_none_or(|ch| matches!(ch, '.' | ',' | '!' | '?' | ';'));
            // "like after a day at the beach": a comparison, not the client's day.
            if ends_with_a_word_of(before, &["like", "as if", "as though"]) {
                continue;
            }
            // "going to spain next friday for a week": a stay being planned, not the time since treatment.
            let sentence_before = before.rsplit(['.', '!', '?', ';']).next().unwrap_or(before);
            let plans_a_stay = lead == Some("for")
                && ["next", "going to", "gonna", "booked", "will be"]
                    .iter()
                    .any(|word| sentence_before.contains(word));
            // "the redness went after a couple of days": when something ended, not the time since treatment.
            // ("still hasnt gone after 17 days" is the day: the ending is denied.)
            let denied = before
                .split_whitespace()
                .rev()
                .take(3)
                .any(|w| NEGATED_AFTER_BLOCKERS.contains(&w));
            let when_it_ended = lead == Some("after")
                && !denied
                && ends_with_a_word_of(
                    before,
                    &[
                        "went",
                        "gone",
                        "went away",
                        "gone away",
                        "went down",
                        "gone down",
                        "settled",
                        "faded",
                        "cleared",
                        "cleared up",
                        "stopped",
                        "calmed",
                        "calmed down",
                        "disappeared",
                        "healed",
                        "eased",
                    ],
                );
            if plans_a_stay || when_it_ended {
                continue;
            }
            let about_the_past = lead.is_some_and(|l| l != "about")
                || matches!(trail, Some(t) if t != "in" && t != "on")
                || (trail == Some("on") && opens_clause);
            // "last time I got a cold sore two days after": a day of an earlier treatment, not of this one.
            if !about_the_past || (trail == Some("after") && speaks_of_an_earlier_treatment(text)) {
                continue;
            }
            let Some(n) = number_value(&c[2]) else {
                continue;
            };
            let unit = &c[3];
            let days = if unit.starts_with('h') {
                n / 24
            } else if unit.starts_with('w') {
                n * 7
            } else if unit.starts_with('m') {
                n * 30
            } else if unit == "fortnight" {
                14 * n.max(1)
            } else {
                n
            };
            return Some((days, c[0].to_string()));
        }
        // "yesterday" and "today" only date the treatment when the sentence is about it.
        for sentence in text.split(['.', '?', '!', ';']) {
            let about_treatment =
                self.treatment_words.is_match(sentence) || sentence.contains("done on");
            if about_treatment && let Some(found) = self.calendar(sentence, text, today) {
                return Some(found);
            }
            // "hotter today than the day i had it done" compares with the treatment day, it does not date it.
            if !self.treatment_words.is_match(sentence) || sentence.split(' ').any(|w| w == "than")
            {
                continue;
            }
            // "itchy bumps since yesterday, just on the treated bits": since or from dates what followed.
            if let Some(m) = self.yesterday.find(sentence).filter(|m| {
                !ends_with_a_word_of(sentence[..m.start()].trim_end(), &["since", "from"])
            }) {
                return Some((1, m.as_str().to_string()));
            }
            // Today's weekday: told in the message ("had it done tuesday, its friday now") or from the date.
            let told_today = self
                .weekday_today
                .captures(text)
                .and_then(|c| c[1].parse::<Weekday>().ok());
            // "treatment was Monday, today Sunday": "today" names the day of the message, not of the treatment.
            // "had it done Friday and today my face is puffier": a weekday dates the treatment, "today" the message.
            if let Some(m) = self
                .today_phrase
                .find(sentence)
                .filter(|_| told_today.is_none() && !self.weekday.is_match(sentence))
            {
                return Some((0, m.as_str().to_string()));
            }
            if let (Some(c), Some(today)) = (
                self.weekday.captures(sentence),
                told_today.or(today.map(|t| t.weekday())),
            ) {
                let weekday: Weekday = c[1].parse().ok()?;
                let back = (7 + today.num_days_from_monday() - weekday.num_days_from_monday()) % 7;
                let back = if back == 0 { 7 } else { back };
                return Some((back, c[0].to_string()));
            }
        }
        None
    }
}

/// Whether the words before a day or week name compare with that time rather than date the message: "the same
/// like day 2", "as bad as day 1", "compared to week 1", "like it was on day 2".
fn compares_with_that_time(before: &str) -> bool {
    let before = before.strip_suffix(" on").unwrap_or(before);
    let before = before
        .strip_suffix(" it was")
        .or_else(|| before.strip_suffix(" they were"))
        .unwrap_or(before);
    if ends_with_a_word_of(
        before,
        &[
            "same like",
            "same as",
            "same with",
            "similar to",
            "compared to",
            "compared with",
            "compare to",
            "compare with",
        ],
    ) {
        return true;
    }
    // "as red as day 1", "as bad like day 2": a comparison of equals.
    let mut words = before.split_whitespace().rev();
    matches!(words.next(), Some("as" | "like")) && words.take(3).any(|w| w == "as")
}

/// The day of the month in the first of groups 1 to `groups` that matched: which one holds it depends on how the
/// date is written ("the 3rd", "3 june", "june 3").
fn day_in(captures: &regex::Captures, groups: usize) -> Option<u32> {
    (1..=groups)
        .find_map(|group| captures.get(group))
        .and_then(|m| m.as_str().parse().ok())
}

/// Whether `text` ends with one of `words` (a word or a phrase), as whole words.
fn ends_with_a_word_of(text: &str, words: &[&str]) -> bool {
    words.iter().any(|word| {
        text.strip_suffix(word)
            .is_some_and(|rest| rest.is_empty() || rest.ends_with(' '))
    })
}

impl DayPhrases {
    /// "done on the 3rd, today's the 12th": the treatment's day of the month against today's, told in the
    /// message or known from the calendar.
    fn calendar(
        &self,
        sentence: &str,
        text: &str,
        today: Option<NaiveDate>,
    ) -> Option<(u32, String)> {
        // Most sentences hold no number at all: skip the two regexes for them.
        if !sentence.bytes().any(|b| b.is_ascii_digit()) {
            return None;
        }
        let treated = self
            .calendar_day
            .captures_iter(sentence)
            .find(|c| c.get(4).is_none())?;
        let treated_on: u32 = day_in(&treated, 3).filter(|d| (1..=31).contains(d))?;
        // "today is 17": a bare number is today's date only with no unit after it ("today is 17 degrees").
        let told_today = self
            .calendar_today
            .captures_iter(text)
            .filter(|c| c.get(5).is_none())
            .filter_map(|c| day_in(&c, 4))
            .find(|&d| (1..=31).contains(&d) && d != treated_on);
        let days = match (told_today, today) {
            (Some(now), _) if now >= treated_on => now - treated_on,
            // Across the end of a month: the month's length when the calendar says it.
            (Some(now), Some(today)) => {
                let previous = today.with_day(1)?.pred_opt()?;
                previous.day() - treated_on + now
            }
            (Some(now), None) => 30 - treated_on.min(30) + now,
            (None, Some(today)) => {
                let date = if treated_on <= today.day() {
                    today.with_day(treated_on)?
                } else {
                    today.with_day(1)?.pred_opt()?.with_day(treated_on)?
                };
                u32::try_from((today - date).num_days()).ok()?
            }
            (None, None) => return None,
        };
        Some((days, treated[0].to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> Option<u32> {
        DayPhrases::default().find(text, None).map(|(d, _)| d)
    }

    #[test]
    fn a_day_of_the_month_against_today() {
        assert_eq!(day("had it done on the 3rd, todays the 12th"), Some(9));
        assert_eq!(day("had it done mon 3rd, its sat 8th"), Some(5));
        assert_eq!(
            day("done on the 3rd , todays the 12th and still peeling"),
            Some(9)
        );
        let today = NaiveDate::from_ymd_opt(2026, 12, 4);
        let on = |text: &str| DayPhrases::default().find(text, today).map(|(d, _)| d);
        assert_eq!(on("my treatment was on the 1st and its still red"), Some(3));
        assert_eq!(on("had my session on the 28th, still peeling"), Some(6));
        assert_eq!(on("my 3rd session was great"), None);
        assert_eq!(day("had my treatment on the 3rd"), None);
    }

    #[test]
    fn dates_written_with_the_month() {
        assert_eq!(
            day("treatment was 3 june today 13 june and still red"),
            Some(10)
        );
        assert_eq!(day("had it done june 3rd, its june 9 now"), Some(6));
        assert_eq!(
            day("needling on the 2nd of march, today is the 5th"),
            Some(3)
        );
        let today = NaiveDate::from_ymd_opt(2026, 12, 4);
        let on = |text: &str| DayPhrases::default().find(text, today).map(|(d, _)| d);
        assert_eq!(on("my treatment was 1 december and its still red"), Some(3));
        assert_eq!(
            day("treatment on 3 march, today is 17. still red"),
            Some(14)
        );
        assert_ne!(day("treatment on 3 march, today is 17 degrees"), Some(14));
        // A number before a month's name that is not a date: "2 may be" is not in it, "3 sessions" is not.
        assert_eq!(on("had 3 sessions and may book another"), None);
    }

    #[test]
    fn a_stay_being_planned_is_not_the_day() {
        assert_eq!(day("going to spain next friday for a week"), None);
        assert_eq!(
            day("the redness went after a couple of days and now there are brown patches"),
            None
        );
        assert_eq!(
            day("bruise under my eye still hasnt gone after 17 days"),
            Some(17)
        );
        assert_eq!(day("had it done and its been red for a week"), Some(7));
        assert_eq!(
            day("my next session is booked. its been red for a week"),
            Some(7)
        );
    }

    #[test]
    fn a_weekday_dates_the_treatment_and_today_the_message() {
        assert_eq!(
            day("had it done friday and today my whole face is puffier"),
            None
        );
        let saturday = NaiveDate::from_ymd_opt(2026, 12, 5);
        assert_eq!(
            DayPhrases::default()
                .find("had it done friday and today my face is puffier", saturday)
                .map(|(d, _)| d),
            Some(1)
        );
    }

    #[test]
    fn a_day_since_which_something_was_done_is_past() {
        assert_eq!(
            day("had the needling 3 weeks ago and wearing spf every day since the second day"),
            Some(21)
        );
        assert_eq!(day("its the third day and still red"), Some(2));
    }

    #[test]
    fn explicit_days_and_amounts() {
        assert_eq!(day("its day 10 and still red"), Some(10));
        assert_eq!(day("day three of peeling"), Some(3));
        assert_eq!(day("on the 5th day now"), Some(4));
        assert_eq!(day("still red and its been 2 weeks"), Some(14));
        assert_eq!(day("a week and a half and still flaking"), Some(10));
        assert_eq!(
            day("two and a half weeks and the bruise is still there"),
            Some(17)
        );
        assert_eq!(day("ten days on and my cheeks are still red"), Some(10));
        assert_eq!(day("red since day 1 . today is day 5"), Some(5));
        assert_eq!(day("the bumps from day 3 havent gone"), None);
        assert_eq!(
            day("bumps since week 1, still there now at week 4"),
            Some(21)
        );
        assert_eq!(day("can i book in week 2"), None);
        assert_eq!(day("my pores look bigger? its 3 weeks on"), Some(21));
        assert_eq!(day("it had gone down by day 2 but now its back"), None);
        assert_eq!(day("im on day 2 and still pink"), Some(2));
        assert_eq!(
            day("hotter today than the day i had it done, day 4 now"),
            Some(4)
        );
        assert_eq!(day("hotter today than the day i had it done"), None);
        assert_eq!(day("2 and a bit weeks now"), Some(17));
        assert_eq!(day("can i book again in a week and a half"), None);
        assert_eq!(day("had it 3 days ago"), Some(3));
        assert_eq!(day("a week ago i had needling"), Some(7));
        assert_eq!(day("red for two weeks"), Some(14));
        assert_eq!(day("48 hours later still swollen"), Some(2));
        assert_eq!(day("a couple of days ago"), Some(2));
        assert_eq!(day("hurting more than first day"), None);
        assert_eq!(day("last time i got a cold sore two days after"), None);
        assert_eq!(day("day 1 was ok, now its worse"), None);
        assert_eq!(day("got a cold sore two days after"), Some(2));
        assert_eq!(day("more red than the first day"), None);
        assert_eq!(day("still red like the first day"), None);
        assert_eq!(
            day("the redness is the same like day 2, not going down"),
            None
        );
        assert_eq!(day("still as swollen as day 1"), None);
        assert_eq!(day("it looks the same as it was on day 2"), None);
        assert_eq!(day("compared to week 1 it is worse"), None);
        assert_eq!(
            day("treatment was monday, today sunday and the swelling is still there"),
            Some(6)
        );
        assert_eq!(day("im like day 5 and still red"), Some(5));
        assert_eq!(day("as swollen as on the first day"), None);
        assert_eq!(day("on the first day it was red"), Some(0));
        assert_eq!(day("still flaking , two weeks and two days"), Some(16));
        assert_eq!(day("can i book in 2 weeks and 3 days"), None);
    }

    #[test]
    fn future_and_rules_are_not_the_clients_day() {
        assert_eq!(day("i have a wedding in 2 weeks"), None);
        assert_eq!(day("do i wait 2 weeks for waxing"), None);
        assert_eq!(day("can i swim tomorrow"), None);
    }

    #[test]
    fn today_and_yesterday_need_the_treatment_in_the_sentence() {
        assert_eq!(day("i had it done yesterday"), Some(1));
        assert_eq!(day("had my treatment this morning"), Some(0));
        assert_eq!(day("it was fine yesterday but now its worse"), None);
        assert_eq!(day("it has got hotter since yesterday"), None);
        assert_eq!(
            day("itchy red bumps since yesterday, just on the treated bits"),
            None
        );
        assert_eq!(day("from yesterday the treated area is itchy"), None);
    }

    #[test]
    fn a_learners_passed_and_already_date_the_message() {
        assert_eq!(day("12 days passed from my treatment"), Some(12));
        assert_eq!(day("the redness is staying already three weeks"), Some(21));
    }

    #[test]
    fn a_comparison_does_not_date_the_message() {
        assert_eq!(
            day("the left side is redder than it was on the first day"),
            None
        );
        assert_eq!(day("dusky and warm, like after a day at the beach"), None);
        assert_eq!(day("feels as if after 2 days in the sun"), None);
        assert_eq!(day("still red after 2 days"), Some(2));
        assert_eq!(day("got it done yesterday"), Some(1));
        assert_eq!(day("can i wash my face today"), None);
    }

    #[test]
    fn weekdays_need_the_date() {
        let wednesday = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
        let phrases = DayPhrases::default();
        assert_eq!(
            phrases
                .find("had it done on monday", Some(wednesday))
                .map(|d| d.0),
            Some(2)
        );
        assert_eq!(phrases.find("had it done on monday", None), None);
        // Today's weekday told in the message is enough.
        assert_eq!(
            phrases
                .find("had it done tuesday, its friday now and its redder", None)
                .map(|(d, _)| d),
            Some(3)
        );
        assert_eq!(
            phrases
                .find("had it done last wednesday", Some(wednesday))
                .map(|d| d.0),
            Some(7)
        );
    }
}
