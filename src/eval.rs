//! Scores the engine on labelled client messages (the format of `tests/eval/*.jsonl`).

use crate::engine::policy::ContactInstruction;
use crate::engine::{Engine, Level};
use regex::RegexBuilder;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub id: u64,
    pub text: String,
    pub day: Option<u32>,
    pub level: Level,
    #[serde(default)]
    pub accept: Vec<Level>,
    #[serde(default)]
    pub reply: Vec<String>,
}

/// Reads a JSON-lines file; every malformed line is reported with its number.
pub fn parse_cases(text: &str) -> Result<Vec<Case>, Vec<String>> {
    let mut cases = Vec::new();
    let mut errors = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Case>(line) {
            Ok(case) => {
                for pattern in &case.reply {
                    if let Err(e) = RegexBuilder::new(pattern).case_insensitive(true).build() {
                        errors.push(format!(
                            "line {}: reply pattern {pattern:?}: {e}",
                            index + 1
                        ));
                    }
                }
                cases.push(case);
            }
            Err(e) => errors.push(format!("line {}: {e}", index + 1)),
        }
    }
    if cases.is_empty() && errors.is_empty() {
        errors.push("no labelled cases in the file: nothing to score".to_string());
    }
    if errors.is_empty() {
        Ok(cases)
    } else {
        Err(errors)
    }
}

/// The bars a labelled set must meet.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Floors {
    pub emergency_recall: f64,
    pub urgent_recall: f64,
    pub routine_recall: f64,
    pub max_false_alarms: f64,
    /// Plain questions and normal reactions raised to `routine`: each one pages staff for nothing.
    pub max_staff_noise: f64,
    pub answers: f64,
}

impl Default for Floors {
    /// The product's quality bar (`../shared/eval/README.md`).
    fn default() -> Self {
        Floors {
            emergency_recall: 1.0,
            urgent_recall: 0.97,
            routine_recall: 0.90,
            max_false_alarms: 0.03,
            max_staff_noise: 0.03,
            answers: 0.95,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Ratio {
    pub hits: usize,
    pub total: usize,
}

impl Ratio {
    /// An empty category meets any floor.
    pub fn value(&self) -> f64 {
        if self.total == 0 {
            1.0
        } else {
            self.hits as f64 / self.total as f64
        }
    }

    /// For figures where hits are failures: an empty category has none.
    pub fn rate(&self) -> f64 {
        if self.total == 0 { 0.0 } else { self.value() }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Miss {
    pub id: u64,
    pub kind: &'static str,
    pub text: String,
    pub day: Option<u32>,
    pub expected: Level,
    pub got: Level,
    pub intent: Option<String>,
    pub reply: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub cases: usize,
    pub emergency_recall: Ratio,
    pub urgent_recall: Ratio,
    pub routine_recall: Ratio,
    /// Hits here are false alarms, out of the `none` cases.
    pub false_alarms: Ratio,
    /// Hits here are `none` cases answered at `routine`, out of the `none` cases.
    pub staff_noise: Ratio,
    pub answers: Ratio,
    pub misses: Vec<Miss>,
    /// Replies that tell the client to contact the clinic, sent at level `none`: the product never does this.
    pub disagreements: Vec<Miss>,
    /// `confusion[expected][got]`, levels in the order none, routine, urgent, emergency.
    pub confusion: [[usize; 4]; 4],
    pub failed_floors: Vec<String>,
}

pub fn score(engine: &Engine, cases: &[Case], floors: &Floors) -> Report {
    let mut emergency = Ratio { hits: 0, total: 0 };
    let mut urgent = Ratio { hits: 0, total: 0 };
    let mut routine = Ratio { hits: 0, total: 0 };
    let mut alarms = Ratio { hits: 0, total: 0 };
    let mut noise = Ratio { hits: 0, total: 0 };
    let mut answers = Ratio { hits: 0, total: 0 };
    let mut misses = Vec::new();
    let mut disagreements = Vec::new();
    let mut confusion = [[0usize; 4]; 4];
    let contact = ContactInstruction::default();
    for case in cases {
        let triage = engine.analyse(&case.text, case.day, None);
        let got = triage.escalation;
        confusion[case.level as usize][got as usize] += 1;
        let miss_of = |kind: &'static str| Miss {
            id: case.id,
            kind,
            text: case.text.clone(),
            day: case.day,
            expected: case.level,
            got,
            intent: triage.intent.clone(),
            reply: triage.reply.clone(),
        };
        if got == Level::None && contact.in_text(&triage.reply) {
            disagreements.push(miss_of("reply asks to contact the clinic at level none"));
        }
        let mut miss = |kind: &'static str| misses.push(miss_of(kind));
        match case.level {
            Level::Emergency => {
                emergency.total += 1;
                if got == Level::Emergency {
                    emergency.hits += 1;
                } else {
                    miss("emergency missed");
                }
            }
            Level::Routine => {
                routine.total += 1;
                if got > Level::None {
                    routine.hits += 1;
                } else {
                    miss("routine missed");
                }
            }
            Level::None => {
                alarms.total += 1;
                noise.total += 1;
                if got >= Level::Urgent && !case.accept.contains(&got) {
                    alarms.hits += 1;
                    miss("false alarm");
                } else if got == Level::Routine && !case.accept.contains(&got) {
                    noise.hits += 1;
                    miss("staff noise");
                }
            }
            Level::Urgent => {}
        }
        if case.level >= Level::Urgent {
            urgent.total += 1;
            if got >= Level::Urgent {
                urgent.hits += 1;
            } else if case.level == Level::Urgent {
                miss("urgent missed");
            }
        }
        if !case.reply.is_empty() {
            answers.total += 1;
            let matched = case.reply.iter().any(|pattern| {
                RegexBuilder::new(pattern)
                    .case_insensitive(true)
                    .build()
                    .is_ok_and(|re| re.is_match(&triage.reply))
            });
            if matched {
                answers.hits += 1;
            } else {
                miss("answer does not match");
            }
        }
    }
    let mut failed = Vec::new();
    let mut floor = |name: &str, value: f64, bar: f64, at_least: bool| {
        let ok = if at_least {
            value >= bar - 1e-9
        } else {
            value <= bar + 1e-9
        };
        if !ok {
            let relation = if at_least { ">=" } else { "<=" };
            failed.push(format!("{name} {value:.3} is not {relation} {bar}"));
        }
    };
    floor(
        "emergency recall",
        emergency.value(),
        floors.emergency_recall,
        true,
    );
    floor("urgent recall", urgent.value(), floors.urgent_recall, true);
    floor(
        "routine recall",
        routine.value(),
        floors.routine_recall,
        true,
    );
    floor(
        "false alarms",
        alarms.rate(),
        floors.max_false_alarms,
        false,
    );
    floor("staff noise", noise.rate(), floors.max_staff_noise, false);
    floor("answers", answers.value(), floors.answers, true);
    Report {
        cases: cases.len(),
        emergency_recall: emergency,
        urgent_recall: urgent,
        routine_recall: routine,
        false_alarms: alarms,
        staff_noise: noise,
        answers,
        misses,
        disagreements,
        confusion,
        failed_floors: failed,
    }
}

impl Report {
    pub fn passed(&self) -> bool {
        self.failed_floors.is_empty()
    }

    pub fn summary(&self) -> String {
        let line = |name: &str, r: &Ratio, value: f64| {
            format!("{name:<17} {value:.3}  ({}/{})\n", r.hits, r.total)
        };
        let mut out = format!("{} cases\n", self.cases);
        out += &line(
            "emergency recall",
            &self.emergency_recall,
            self.emergency_recall.value(),
        );
        out += &line(
            "urgent recall",
            &self.urgent_recall,
            self.urgent_recall.value(),
        );
        out += &line(
            "routine recall",
            &self.routine_recall,
            self.routine_recall.value(),
        );
        out += &line("false alarms", &self.false_alarms, self.false_alarms.rate());
        out += &line("staff noise", &self.staff_noise, self.staff_noise.rate());
        out += &line("answers", &self.answers, self.answers.value());
        for m in &self.misses {
            out += &format!(
                "MISS #{} {}: {:?} (day {}) expected {} got {} via {}\n",
                m.id,
                m.kind,
                m.text,
                m.day.map_or("?".into(), |d| d.to_string()),
                m.expected,
                m.got,
                m.intent.as_deref().unwrap_or("fallback")
            );
        }
        out += "level confusion (rows: expected, columns: got)\n";
        out += &format!("{:<10}", "");
        for level in Level::ALL {
            out += &format!("{:>10}", level.as_str());
        }
        out += "\n";
        for expected in Level::ALL {
            out += &format!("{:<10}", expected.as_str());
            for got in Level::ALL {
                out += &format!("{:>10}", self.confusion[expected as usize][got as usize]);
            }
            out += "\n";
        }
        out += &format!("reply/level disagreements: {}\n", self.disagreements.len());
        for m in &self.disagreements {
            out += &format!(
                "DISAGREE #{}: {:?} (day {}) at none via {}\n",
                m.id,
                m.text,
                m.day.map_or("?".into(), |d| d.to_string()),
                m.intent.as_deref().unwrap_or("fallback")
            );
        }
        for f in &self.failed_floors {
            out += &format!("FAILED: {f}\n");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_lines_are_reported_by_number() {
        let text = "{\"id\":1,\"text\":\"hi\",\"day\":null,\"level\":\"none\",\"accept\":[],\"reply\":[]}\nnot json\n{\"id\":2,\"text\":\"x\",\"day\":1,\"level\":\"high\"}\n";
        let errors = parse_cases(text).unwrap_err();
        assert_eq!(errors.len(), 2);
        assert!(errors[0].starts_with("line 2:"));
        assert!(errors[1].starts_with("line 3:"));
    }

    #[test]
    fn empty_categories_meet_their_floor() {
        assert_eq!(Ratio { hits: 0, total: 0 }.value(), 1.0);
        assert_eq!(Ratio { hits: 1, total: 4 }.value(), 0.25);
        assert_eq!(Ratio { hits: 0, total: 0 }.rate(), 0.0);
    }
}
