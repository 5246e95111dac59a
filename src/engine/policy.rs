//! How serious is a message? Every piece of evidence counts and the safer reading wins: the affirmed
//! findings, the intent the message is about, and what the reply tells the client to do. This is the one
//! place where the level is decided.

use super::model::Level;
use regex::Regex;

/// Above this similarity the intent the message matched speaks with its own level; below it (but still
/// answered), an abnormal topic is at least `routine`: staff look within a working day.
pub const CONFIDENT_INTENT: f32 = 0.62;

#[derive(Debug, Clone, Copy)]
pub struct IntentEvidence {
    /// The intent's own `escalation` when a client reports its situation.
    pub level: Level,
    pub score: f32,
    /// The client reports it (not asks about it in general, for someone else, or in the past).
    pub affirmed: bool,
    /// The intent is an abnormal reaction or an emergency: only those carry a level of their own.
    pub abnormal: bool,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Evidence {
    /// The highest affirmed finding.
    pub findings: Level,
    pub intent: Option<IntentEvidence>,
    /// The reply tells the client to contact the clinic or be seen.
    pub reply_asks_contact: bool,
    /// Nothing curated fits, but the client describes their own skin (uncertain: a person should look).
    pub unanswered_skin_report: bool,
    /// The highest finding the client had before and says is over ("my throat felt tight, fine now").
    pub past_findings: Level,
}

/// The level, and in words why it is higher than the findings alone.
pub fn decide(evidence: &Evidence) -> (Level, Option<String>) {
    let mut level = evidence.findings;
    let mut why = None;
    let mut raise = |to: Level, reason: String| {
        if to > level {
            level = to;
            why = Some(reason);
        }
    };
    if let Some(intent) = evidence.intent.filter(|i| i.abnormal && i.affirmed) {
        if intent.score >= CONFIDENT_INTENT {
            // An emergency needs a finding of its own: a confident match alone is at most urgent.
            let to = intent.level.min(Level::Urgent);
            raise(
                to,
                format!("the message reports this topic ({:.2})", intent.score),
            );
        } else if intent.level > Level::None {
            let reason = format!(
                "the message may report this topic ({:.2}): a person should look",
                intent.score
            );
            raise(Level::Routine, reason);
        }
    }
    if evidence.reply_asks_contact {
        raise(
            Level::Routine,
            "the reply asks the client to contact the clinic".into(),
        );
    }
    if evidence.past_findings >= Level::Urgent {
        // Over now, but the clinic should know before the next session.
        raise(
            Level::Routine,
            format!("an earlier {} sign, over now", evidence.past_findings),
        );
    }
    if evidence.unanswered_skin_report {
        raise(
            Level::Routine,
            "no curated answer, and the client describes their skin".into(),
        );
    }
    (level, why)
}

/// Whether an answer tells the client, unconditionally, to be seen or to contact the clinic today: such a reply
/// never goes out at level `none`. Advice is not a report: "if it spreads, call us" is a condition, and "check
/// with the clinic before you book" points to the clinic without saying it cannot wait.
pub struct ContactInstruction {
    contact: Regex,
    soon: Regex,
    seen: Regex,
    condition: Regex,
}

impl Default for ContactInstruction {
    fn default() -> Self {
        ContactInstruction {
            contact: Regex::new(
                r"(?i)\b(call|ring|phone|contact|message|text|check with|speak to|speak with|talk to|talk with|ask)\b[^.;]*?(\{clinic_phone\}|\{clinic_name\}|\bclinic\b|\bus\b|\bnurse\b)",
            )
            .expect("static regex"),
            soon: Regex::new(
                r"(?i)\b(today|tonight|now|straight away|right away|as soon as|asap|immediately|urgently|same day|without delay|this morning|this afternoon)\b",
            )
            .expect("static regex"),
            seen: Regex::new(
                r"(?i)\b(be|get (it|this|them)|have (it|this|them)) (seen|checked|looked at)\b|\bsend (us |them |the clinic )?(a |an )?(\w+ )?(photo|picture)|\b(would like|needs?|wants?) to see (it|this|them|you)\b",
            )
            .expect("static regex"),
            condition: Regex::new(
                r"(?i)\b(if|unless|should|in case|whenever|when|any time|anytime|once|or)\b",
            )
            .expect("static regex"),
        }
    }
}

impl ContactInstruction {
    /// Judged on the answer as written in the intent file (placeholders not yet filled in).
    pub fn in_text(&self, text: &str) -> bool {
        text.split(['.', '!', '?', '\n']).any(|sentence| {
            // "Please contact the clinic (the next working day is fine unless it is getting worse) and send a
            // photo": a condition inside brackets qualifies the bracket, not the instruction.
            let unconditional =
                |at: usize| !self.condition.is_match(&outside_brackets(&sentence[..at]));
            let call_soon = self
                .contact
                .find(sentence)
                .is_some_and(|found| self.soon.is_match(sentence) && unconditional(found.start()));
            let be_seen = self
                .seen
                .find(sentence)
                .is_some_and(|found| unconditional(found.start()));
            call_soon || be_seen
        })
    }
}

/// `text` without what stands inside round brackets.
fn outside_brackets(text: &str) -> String {
    let mut depth = 0usize;
    text.chars()
        .filter(|c| match c {
            '(' => {
                depth += 1;
                false
            }
            ')' => {
                depth = depth.saturating_sub(1);
                false
            }
            _ => depth == 0,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_that_asks_to_call_is_never_none() {
        let evidence = Evidence {
            reply_asks_contact: true,
            ..Evidence::default()
        };
        assert_eq!(decide(&evidence).0, Level::Routine);
    }

    #[test]
    fn a_confident_report_speaks_with_its_level_but_never_emergency() {
        let mut evidence = Evidence {
            intent: Some(IntentEvidence {
                level: Level::Emergency,
                score: 0.9,
                affirmed: true,
                abnormal: true,
            }),
            ..Evidence::default()
        };
        assert_eq!(decide(&evidence).0, Level::Urgent);
        evidence.intent = evidence.intent.map(|i| IntentEvidence { score: 0.5, ..i });
        assert_eq!(decide(&evidence).0, Level::Routine);
        evidence.intent = evidence.intent.map(|i| IntentEvidence {
            affirmed: false,
            ..i
        });
        assert_eq!(decide(&evidence).0, Level::None);
    }

    #[test]
    fn an_earlier_serious_sign_is_routine() {
        let evidence = Evidence {
            past_findings: Level::Emergency,
            ..Evidence::default()
        };
        assert_eq!(decide(&evidence).0, Level::Routine);
        let evidence = Evidence {
            past_findings: Level::Routine,
            ..Evidence::default()
        };
        assert_eq!(decide(&evidence).0, Level::None);
    }

    #[test]
    fn findings_are_never_lowered() {
        let evidence = Evidence {
            findings: Level::Emergency,
            ..Evidence::default()
        };
        assert_eq!(decide(&evidence).0, Level::Emergency);
    }

    #[test]
    fn contact_instructions_and_advice() {
        let c = ContactInstruction::default();
        assert!(c.in_text("Please call the clinic today on {clinic_phone}."));
        assert!(c.in_text("This should be seen. Contact us today."));
        assert!(!c.in_text("If it spreads, call the clinic on {clinic_phone}."));
        assert!(!c.in_text("Redness is normal for 2-3 days."));
        assert!(!c.in_text("Should it last beyond a week, ring us."));
        // Pointing to the clinic is advice; only "today", "now" or "be seen" make it an instruction.
        assert!(!c.in_text("Please check with them on {clinic_phone} before you book."));
        assert!(c.in_text("Please send us a photo."));
        assert!(c.in_text("The clinic would like to see it."));
        assert!(c.in_text("Call {clinic_phone} straight away."));
        assert!(c.in_text(
            "Please contact the clinic (the next working day is fine unless it is getting worse) and send a photo."
        ));
        assert!(!c.in_text("If you're unsure, ask the clinic on {clinic_phone}."));
    }
}
