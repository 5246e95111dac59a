//! The curated content as read from the intent files.

use serde::{Deserialize, Serialize};
use std::fmt;
use toml::Spanned;

/// How urgently clinic staff must hear about a message. Ordered: a higher level wins.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    #[default]
    None,
    Routine,
    Urgent,
    Emergency,
}

impl Level {
    pub const ALL: [Level; 4] = [Level::None, Level::Routine, Level::Urgent, Level::Emergency];

    pub fn as_str(self) -> &'static str {
        match self {
            Level::None => "none",
            Level::Routine => "routine",
            Level::Urgent => "urgent",
            Level::Emergency => "emergency",
        }
    }

    pub fn parse(text: &str) -> Option<Level> {
        Level::ALL.into_iter().find(|level| level.as_str() == text)
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    PostCare,
    NormalReaction,
    AbnormalReaction,
    Emergency,
    TreatmentInfo,
    BookingAdmin,
    SmallTalk,
    /// Not a category an intent file may use: the answer when nothing curated fits.
    Fallback,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::PostCare => "post-care",
            Category::NormalReaction => "normal-reaction",
            Category::AbnormalReaction => "abnormal-reaction",
            Category::Emergency => "emergency",
            Category::TreatmentInfo => "treatment-info",
            Category::BookingAdmin => "booking-admin",
            Category::SmallTalk => "small-talk",
            Category::Fallback => "fallback",
        }
    }

    /// Categories that describe the client's skin: when a red flag fires, its own answer replaces theirs.
    pub fn is_about_symptoms(self) -> bool {
        matches!(
            self,
            Category::NormalReaction
                | Category::AbnormalReaction
                | Category::Emergency
                | Category::SmallTalk
                | Category::Fallback
        )
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One intent file, as written. Spans are kept so that `aftercare check` can name the line of a bad field.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntentFile {
    pub id: Spanned<String>,
    pub category: Spanned<Category>,
    pub escalation: Spanned<Level>,
    #[serde(default)]
    pub keywords: Vec<Spanned<String>>,
    #[serde(default)]
    pub patterns: Vec<Spanned<String>>,
    pub examples: Spanned<Vec<Spanned<String>>>,
    #[serde(default)]
    pub counter_examples: Vec<Spanned<String>>,
    pub answer: Spanned<AnswerSpec>,
    #[serde(default)]
    pub red_flags: Vec<Spanned<RedFlagSpec>>,
    /// Who last reviewed this content clinically ("not yet reviewed" until someone has).
    pub reviewed_by: Option<String>,
    /// When ("2026-03-01").
    pub reviewed_on: Option<Spanned<String>>,
    /// How often it is to be reviewed ("12 months", "2 years"; 12 months when left out).
    pub review_every: Option<Spanned<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswerSpec {
    pub text: Spanned<String>,
    /// For abnormal topics: the answer when the message asks about the topic without reporting it
    /// ("what are the signs of infection?"), i.e. when none of this intent's red flags is affirmed.
    pub general: Option<Spanned<String>>,
    #[serde(default)]
    pub by_day: Vec<Spanned<DayAnswer>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DayAnswer {
    pub from: u32,
    pub to: Option<u32>,
    pub text: Spanned<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedFlagSpec {
    pub id: Spanned<String>,
    pub label: String,
    pub level: Spanned<Level>,
    #[serde(default)]
    pub patterns: Vec<Spanned<String>>,
    /// Alternatives, each a list of concepts (`concepts.toml`) that must all be present and affirmed,
    /// in any order and any inflection: `[["yellow", "crust"]]` finds "crusty and yellow".
    #[serde(default)]
    pub concepts: Vec<Vec<Spanned<String>>>,
    /// Where the concepts must co-occur: in one clause (a finding) or anywhere in the message (a
    /// combination, such as tingling lips together with a tight throat).
    #[serde(default)]
    pub scope: Scope,
    pub from_day: Option<u32>,
    pub to_day: Option<u32>,
    #[serde(default)]
    pub if_day_unknown: Option<bool>,
    /// A severity finding that a degree word next to it takes back: "throbbing a little bit", "a bit puffy".
    #[serde(default)]
    pub unless_mild: bool,
    /// A finding of the body: a place or thing named before it in its clause takes it back ("the kitchen is
    /// like 40 degrees", "the sauna was 90 degrees").
    #[serde(default)]
    pub of_the_body: bool,
    /// A fever named in a message whose every body temperature is normal (under 37.5 °C, 99.5 °F) is a
    /// question about it: "it's 37.1, is this a fever?".
    #[serde(default)]
    pub unless_normal_temperature: bool,
    /// A passing state (a dizzy spell, feeling faint): a later sentence saying the client is fine now takes it
    /// back ("went a bit dizzy in the chair, had a biscuit. Feel totally fine now"). Signs of the skin are not
    /// passing: "pus on my cheek. I feel fine though" still counts.
    #[serde(default)]
    pub passing: bool,
    /// Counts even when told as past or resolved: after an adrenaline pen, "fine now" is not safe.
    #[serde(default)]
    pub even_if_past: bool,
    /// A request the client makes of the clinic ("can someone call me?"): only a negation takes it back, not
    /// question form, "someone", or a message that otherwise asks in general.
    #[serde(default)]
    pub request: bool,
    /// An emergency happening now counts whoever it happens to ("my husband has crushing chest pain"):
    /// that it is someone else's does not take it back (negation, the past and hypotheticals still do).
    #[serde(default)]
    pub whoever: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    #[default]
    Clause,
    Message,
}

/// `concepts.toml`: the words that mean one thing for triage, shared by every intent's red flags.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ConceptsFile {
    /// Concepts that name a cause (a product put on, sun on the skin): in a combination they count when told
    /// in the past too, since a cause comes before what it causes ("last night I put the serum on, now it is
    /// swollen and burning"). What they combine with must still be happening.
    #[serde(default)]
    pub causes: Vec<String>,
    /// Concept name → words and phrases; a trailing `*` matches any ending ("swell*": swells, swelling).
    #[serde(default)]
    pub concepts: std::collections::BTreeMap<String, Vec<String>>,
}

/// `messages.toml`: the bot's own phrases, each under its key (the keys and what each may use are in
/// [`super::messages::Key`]). Keys and texts keep their spans, so that `aftercare check` names the line.
pub type MessagesFile = std::collections::BTreeMap<Spanned<String>, Spanned<String>>;

/// `lexicon.toml`: spelling normalisation.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct LexiconFile {
    /// Word or phrase → replacement, applied to whole words after lower-casing.
    #[serde(default)]
    pub replace: std::collections::BTreeMap<String, String>,
}

/// The clinic's facts, from configuration. Answers refer to them by placeholder.
///
/// A setting the clinic may leave out is `None` (or, for the name and the out-of-hours service, a phrase that
/// reads as well as a value: "the clinic", "your out-of-hours doctor or urgent care line"). A missing phone
/// number or booking link is never replaced by a description of itself ("call the clinic on the clinic's phone
/// number"): [`Clinic::render`] leaves it out together with the word that links it ("on", "at"), and where it
/// stands alone ("call {clinic_phone}") says who to call instead ("call the clinic").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clinic {
    pub name: String,
    pub phone: Option<String>,
    pub emergency_number: String,
    pub opening_hours: String,
    pub booking_link: Option<String>,
    /// Where to turn when the clinic is closed and it is not an emergency, e.g. "NHS 111".
    pub out_of_hours: String,
}

impl Default for Clinic {
    fn default() -> Self {
        Clinic {
            name: DEFAULT_CLINIC_NAME.into(),
            phone: None,
            emergency_number: "999".into(),
            opening_hours: "Mon-Fri 9:00-17:00".into(),
            booking_link: None,
            out_of_hours: DEFAULT_OUT_OF_HOURS.into(),
        }
    }
}

/// What `{clinic_name}` says unless the clinic configures its name.
pub const DEFAULT_CLINIC_NAME: &str = "the clinic";

/// What `{out_of_hours}` says unless the clinic configures its own service.
pub const DEFAULT_OUT_OF_HOURS: &str = "your out-of-hours doctor or urgent care line";

pub const PLACEHOLDERS: [&str; 6] = [
    "clinic_name",
    "clinic_phone",
    "emergency_number",
    "opening_hours",
    "booking_link",
    "out_of_hours",
];

/// Words that link a value to its sentence ("call the clinic on {clinic_phone}", "book at {booking_link}"):
/// left out with the value when the clinic has not set it.
const LINKING_WORDS: [&str; 3] = ["on", "at", "via"];

impl Clinic {
    /// A placeholder's value: `Some(None)` for a setting the clinic left out, `None` for an unknown name.
    pub fn value(&self, placeholder: &str) -> Option<Option<&str>> {
        Some(match placeholder {
            "clinic_name" => Some(self.name.as_str()),
            "clinic_phone" => self.phone.as_deref(),
            "emergency_number" => Some(self.emergency_number.as_str()),
            "opening_hours" => Some(self.opening_hours.as_str()),
            "booking_link" => self.booking_link.as_deref(),
            "out_of_hours" => Some(self.out_of_hours.as_str()),
            _ => return None,
        })
    }

    /// Fills `{placeholder}`s. Unknown ones are rejected by validation, so they cannot reach here.
    pub fn render(&self, template: &str) -> String {
        self.render_with(template, &[])
    }

    /// Fills the clinic's placeholders and the given others (`("first_name", "Maria")`) in one pass, so that a
    /// value is never read again as a template (a client named "{date}" stays "{date}"). A `{` that starts no
    /// known placeholder is kept as it is.
    pub fn render_with(&self, template: &str, args: &[(&str, &str)]) -> String {
        let mut out = String::with_capacity(template.len() + 32);
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            let name = after.find('}').map(|close| &after[..close]);
            let value = name.and_then(|name| {
                args.iter()
                    .find(|(arg, _)| *arg == name)
                    .map(|(_, value)| Some(*value))
                    .or_else(|| self.value(name))
            });
            match (name, value) {
                (Some(name), Some(Some(value))) => {
                    out.push_str(value);
                    rest = &after[name.len() + 1..];
                }
                (Some(name), Some(None)) => {
                    self.leave_out(&mut out);
                    rest = &after[name.len() + 1..];
                }
                _ => {
                    out.push('{');
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
    }

    /// A setting left out: its linking word goes with it ("call the clinic on {clinic_phone} today" → "call the
    /// clinic today"); standing alone, it names the clinic ("please call {clinic_phone}" → "please call the
    /// clinic").
    fn leave_out(&self, out: &mut String) {
        let before = out.trim_end_matches(' ');
        let linked = LINKING_WORDS.iter().find_map(|word| {
            before
                .strip_suffix(word)
                .filter(|head| head.ends_with(' '))
                .map(|head| head.trim_end_matches(' ').len())
        });
        match linked {
            Some(len) => out.truncate(len),
            None => out.push_str(&self.name),
        }
    }
}

/// The placeholders a text uses that are neither the clinic's nor in `also`; empty when the text is fine.
pub fn unknown_placeholders(text: &str, also: &[&str]) -> Vec<String> {
    let mut unknown = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                let name = &after[..close];
                if !PLACEHOLDERS.contains(&name) && !also.contains(&name) {
                    unknown.push(name.to_string());
                }
                rest = &after[close + 1..];
            }
            None => {
                unknown.push(after.chars().take(20).collect());
                break;
            }
        }
    }
    unknown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_are_ordered_by_urgency() {
        assert!(Level::Emergency > Level::Urgent);
        assert!(Level::Urgent > Level::Routine);
        assert!(Level::Routine > Level::None);
        assert_eq!(Level::parse("urgent"), Some(Level::Urgent));
        assert_eq!(Level::parse("URGENT"), None);
    }

    #[test]
    fn placeholders_are_filled_and_unknown_ones_reported() {
        let clinic = Clinic {
            phone: Some("0123".into()),
            emergency_number: "112".into(),
            ..Clinic::default()
        };
        assert_eq!(
            clinic.render("Call {emergency_number}, then {clinic_phone}."),
            "Call 112, then 0123."
        );
        assert_eq!(
            unknown_placeholders("ring {clinic_phone} or {doctor}", &[]),
            vec!["doctor"]
        );
        assert_eq!(
            unknown_placeholders("a { without end", &[]),
            vec![" without end"]
        );
        assert!(unknown_placeholders("plain", &[]).is_empty());
        assert!(unknown_placeholders("hi {first_name}", &["first_name"]).is_empty());
    }

    #[test]
    fn a_setting_left_out_takes_its_linking_word_with_it_or_names_the_clinic() {
        let clinic = Clinic::default();
        assert_eq!(
            clinic.render("Call the clinic on {clinic_phone} today."),
            "Call the clinic today."
        );
        assert_eq!(
            clinic.render("Contact {clinic_name} on {clinic_phone}."),
            "Contact the clinic."
        );
        assert_eq!(
            clinic.render("Please call {clinic_phone} now."),
            "Please call the clinic now."
        );
        assert_eq!(
            clinic.render("Book your next session at {booking_link}."),
            "Book your next session."
        );
        assert_eq!(
            clinic.render_with(
                "Hi {first_name}, on {clinic_phone}",
                &[("first_name", "{clinic_name}")]
            ),
            "Hi {clinic_name},"
        );
    }
}
