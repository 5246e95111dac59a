//! The matching and triage engine. Pure: no I/O, no clock. The day since treatment and today's date are
//! arguments, and the intents are loaded and compiled once.

pub mod concepts;
pub mod context;
pub mod load;
pub mod matcher;
pub mod messages;
pub mod model;
pub mod normalize;
pub mod policy;
pub mod review;
pub mod time;

use chrono::NaiveDate;
use concepts::Concepts;
use context::{ContextRules, Qualifier};
use load::{CheckError, CheckErrors, Source};
use matcher::Matcher;
pub use model::{Category, Clinic, DEFAULT_OUT_OF_HOURS, Level};
use normalize::Normalizer;
use regex::Regex;
use regex_automata::meta;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::OnceLock;

/// Below this the message gets the fallback rather than the nearest intent.
const MIN_SCORE: f32 = 0.42;
/// Words of greeting and thanks, ignored when choosing the answer to a message longer than this many words.
const COURTESY_IGNORED_AFTER_WORDS: usize = 6;
const COURTESY: &[&str] = &[
    "thank", "thanks", "thankyou", "thx", "ty", "cheers", "you", "very", "much", "so", "xx", "xxx",
    "x", "hi", "hello", "hiya", "hey", "please", "pls", "plz", "lovely", "kind", "regards",
];
/// The bar for a second question in a message that reports a finding.
const MIN_SIDE_QUESTION_SCORE: f32 = 0.5;

struct CompiledIntent {
    id: String,
    file: String,
    category: Category,
    escalation: Level,
    answer: Answer,
    general: Option<Answer>,
    by_day: Vec<(u32, Option<u32>, Answer)>,
}

/// One curated reply, rendered for the clinic, and whether it tells the client to contact the clinic.
struct Answer {
    text: String,
    asks_contact: bool,
}

struct CompiledFlag {
    id: String,
    label: String,
    level: Level,
    intent: usize,
    from_day: Option<u32>,
    to_day: Option<u32>,
    if_day_unknown: bool,
    /// Alternatives of concept indices that must all be affirmed together.
    concepts: Vec<Vec<usize>>,
    scope: model::Scope,
    unless_mild: bool,
    passing: bool,
    of_the_body: bool,
    unless_normal_temperature: bool,
    even_if_past: bool,
    request: bool,
    whoever: bool,
}

struct Messages {
    fallback: String,
    empty: String,
    emergency_preamble: String,
    ask_day: String,
}

pub struct Engine {
    intents: Vec<CompiledIntent>,
    intent_patterns: PatternSet,
    intent_pattern_owner: Vec<usize>,
    flags: Vec<CompiledFlag>,
    flag_set: PatternSet,
    /// The flag each pattern of `flag_set` belongs to.
    flag_of_pattern: Vec<usize>,
    normalizer: Normalizer,
    matcher: Matcher,
    concepts: Concepts,
    /// The concept that marks a description of one's own skin: with no curated answer, it makes the
    /// message `routine` rather than a shrug.
    symptom_concept: Option<usize>,
    context: ContextRules,
    days: time::DayPhrases,
    messages: Messages,
    texts: messages::Texts,
    care_plan: crate::timeline::CarePlan,
    /// A short digest of the files this engine was built from: which content is running.
    version: load::Version,
    /// Each intent's clinical review, by intent id.
    reviews: Vec<(String, review::Review)>,
}

/// A red flag found in a message and affirmed (not negated, hypothetical, past or someone else's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub id: String,
    pub label: String,
    pub level: Level,
    /// The words that matched, in the normalised text.
    pub evidence: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DaySource {
    Message,
    Record,
    Unknown,
}

/// The engine's whole answer to one message.
#[derive(Debug, Clone, Serialize)]
pub struct Triage {
    /// The intent answered, or `None` for the fallback.
    pub intent: Option<String>,
    pub category: Category,
    pub escalation: Level,
    pub reply: String,
    pub confidence: f32,
    pub red_flags: Vec<Finding>,
    pub day: Option<u32>,
    pub day_source: DaySource,
    /// Whether the reply ends by asking how many days ago the treatment was (the answer depends on the day, and
    /// the day is unknown).
    pub asks_day: bool,
    /// How the result came about, for staff and for whoever edits the intents.
    pub why: Vec<String>,
}

impl Triage {
    /// The red flags in the clinic's words, each once and highest level first: two flags can share a label
    /// ("yellow or honey-coloured crust" found by a pattern and by its concepts).
    pub fn flag_labels(&self) -> Vec<&str> {
        let mut labels: Vec<&str> = Vec::with_capacity(self.red_flags.len());
        for finding in &self.red_flags {
            if !labels.contains(&finding.label.as_str()) {
                labels.push(&finding.label);
            }
        }
        labels
    }
}

/// A concept's occurrence (token span) with how ConText qualified it, and the trigger that did.
type QualifiedSpan = ((usize, usize), Qualifier, Option<&'static str>);

/// What the red-flag step found.
#[derive(Default)]
struct FoundFlags {
    findings: Vec<Finding>,
    /// Token spans of affirmed findings.
    affirmed: Vec<(usize, usize)>,
    /// Token spans of findings the client denied or had before: they must not choose the answer.
    negated: Vec<(usize, usize)>,
    /// An affirmed mention of the client's own skin doing something (the `symptom` concept).
    describes_skin: bool,
    /// The highest finding the client had before and is over.
    past: Level,
    /// Intents whose red flags were found but not counted (denied, over, someone else's, asked about).
    withheld: Vec<usize>,
    /// Who the message is about and whether it asks in general: read once, used for every finding.
    reading: Reading,
}

/// How a message stands to the topic of the intent that answers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TopicReading {
    /// The client reports it happening to them.
    Reported,
    /// A question about it: in general, as a risk, "what if", or about someone else.
    AskedAbout,
    /// Neither is clear.
    Unclear,
}

/// Which of an intent's answers fits: the one for a report, or its general one for a question about the topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AnswerKind {
    Report,
    General,
}

/// What holds for the whole message when a finding in it is qualified.
#[derive(Default)]
struct Reading {
    /// The phrase that makes the whole message a question in general ("just asking"), if any.
    in_general: Option<&'static str>,
    /// Written for the client by someone close ("my wife had it done yesterday and she…").
    for_the_client: bool,
    /// About someone else's experience, over or told at second hand.
    someone_elses_past: bool,
    /// About a treatment at another clinic.
    treated_elsewhere: bool,
    /// The writer sets their own skin or treatment apart from someone else's ("redder than mine").
    writer_apart: bool,
}

impl Reading {
    /// Whether what follows "she" or "he" is someone else's, not the client's.
    fn about_someone_else(&self) -> bool {
        !self.for_the_client
            && (self.someone_elses_past || self.treated_elsewhere || self.writer_apart)
    }
}

impl FoundFlags {
    /// Records one match of a flag; true when it counted.
    fn note(
        &mut self,
        flag: &CompiledFlag,
        qualifier: Qualifier,
        trigger: Option<&'static str>,
        span: (usize, usize),
        evidence: &str,
        why: &mut Vec<String>,
    ) -> bool {
        if qualifier == Qualifier::Affirmed {
            self.affirmed.push(span);
            why.push(format!(
                "red flag {} ({}): {evidence:?}",
                flag.id, flag.level
            ));
            self.findings.push(Finding {
                id: flag.id.clone(),
                label: flag.label.clone(),
                level: flag.level,
                evidence: evidence.to_string(),
            });
            return true;
        }
        if matches!(qualifier, Qualifier::Negated | Qualifier::Historical) {
            self.negated.push(span);
        }
        self.withheld.push(flag.intent);
        if qualifier == Qualifier::Historical {
            self.past = self.past.max(flag.level);
        }
        why.push(format!(
            "red flag {} not counted: {evidence:?} is {} ({})",
            flag.id,
            qualifier.as_str(),
            trigger.unwrap_or_default()
        ));
        false
    }
}

/// Who answers a message.
struct Speakers {
    primary: Option<usize>,
    /// A finding's own answer added after the answer to the question.
    addition: Option<usize>,
    confidence: f32,
}

impl Speakers {
    /// The finding's intent answers, with full confidence.
    fn take_over(&mut self, owner: usize) {
        if self.primary != Some(owner) {
            self.confidence = 1.0;
        }
        self.primary = Some(owner);
    }
}

impl Engine {
    /// Builds the engine from the shipped intents.
    pub fn embedded(clinic: &Clinic) -> Result<Engine, CheckErrors> {
        Engine::from_sources(&load::embedded_sources(), clinic)
    }

    pub fn from_sources(sources: &[Source], clinic: &Clinic) -> Result<Engine, CheckErrors> {
        let content = load::parse(sources)?;
        let mut errors = Vec::new();

        let lexicon: Vec<(String, String)> = content.lexicon.replace.clone().into_iter().collect();
        let mut vocabulary: HashMap<String, u32> = HashMap::new();
        let word_re = Regex::new(r"[a-z]{3,}").expect("static regex");
        let mut count = |text: &str| {
            for word in word_re.find_iter(&text.to_lowercase()) {
                *vocabulary.entry(word.as_str().to_string()).or_default() += 1;
            }
        };
        for (_, intent) in &content.intents {
            intent
                .examples
                .get_ref()
                .iter()
                .for_each(|e| count(e.get_ref()));
            intent
                .counter_examples
                .iter()
                .for_each(|e| count(e.get_ref()));
            intent.keywords.iter().for_each(|k| count(k.get_ref()));
            // Words spelt out in patterns count too: "wheezing" may only appear in a red flag.
            let literal = |p: &str| {
                p.replace("\\b", " ")
                    .replace("\\s", " ")
                    .replace("\\w", " ")
                    .replace("\\d", " ")
            };
            intent
                .patterns
                .iter()
                .for_each(|p| count(&literal(p.get_ref())));
            for flag in &intent.red_flags {
                flag.get_ref()
                    .patterns
                    .iter()
                    .for_each(|p| count(&literal(p.get_ref())));
            }
        }
        for (_, to) in &lexicon {
            count(to);
        }
        // A word a concept names on its own is known as written: "eliquis" is a blood thinner, not a typo of
        // "liquid". (Words inside phrases stay open to correction: "talkin stupidness" must not make "talkin" a
        // word, or "talkin nonsense" would no longer read as "talking nonsense"; prefixes name no word.)
        for words in content.concepts.concepts.values() {
            words
                .iter()
                .filter(|w| !w.ends_with('*') && !w.contains(' '))
                .for_each(|w| count(w));
        }
        let normalizer = Normalizer::new(&lexicon, &content.words, vocabulary);

        let concepts = Concepts::new(&content.concepts.concepts, &content.concepts.causes);
        let contact = policy::ContactInstruction::default();
        let answer_of = |template: &str| Answer {
            text: clinic.render(template.trim()),
            asks_contact: contact.in_text(template),
        };
        let mut intents = Vec::new();
        let mut intent_regexes = Vec::new();
        let mut intent_pattern_owner = Vec::new();
        let mut flags = Vec::new();
        let mut flag_of_pattern = Vec::new();
        let mut flag_regexes = Vec::new();
        let mut matcher_input = Vec::new();
        for (index, (source, intent)) in content.intents.iter().enumerate() {
            let answer = intent.answer.get_ref();
            intents.push(CompiledIntent {
                id: intent.id.get_ref().clone(),
                file: source.name.clone(),
                category: *intent.category.get_ref(),
                escalation: *intent.escalation.get_ref(),
                answer: answer_of(answer.text.get_ref()),
                general: answer.general.as_ref().map(|g| answer_of(g.get_ref())),
                by_day: answer
                    .by_day
                    .iter()
                    .map(|w| {
                        let w = w.get_ref();
                        (w.from, w.to, answer_of(w.text.get_ref()))
                    })
                    .collect(),
            });
            for pattern in &intent.patterns {
                intent_regexes.push(pattern.get_ref().clone());
                intent_pattern_owner.push(index);
            }
            for flag in &intent.red_flags {
                let f = flag.get_ref();
                let flag_index = flags.len();
                flags.push(CompiledFlag {
                    id: f.id.get_ref().clone(),
                    label: f.label.clone(),
                    level: *f.level.get_ref(),
                    intent: index,
                    from_day: f.from_day,
                    to_day: f.to_day,
                    if_day_unknown: f
                        .if_day_unknown
                        .unwrap_or(f.from_day.is_none() && f.to_day.is_none()),
                    concepts: f
                        .concepts
                        .iter()
                        .map(|all| {
                            all.iter()
                                .filter_map(|name| concepts.index(name.get_ref()))
                                .collect()
                        })
                        .collect(),
                    scope: f.scope,
                    unless_mild: f.unless_mild,
                    passing: f.passing,
                    of_the_body: f.of_the_body,
                    unless_normal_temperature: f.unless_normal_temperature,
                    even_if_past: f.even_if_past,
                    request: f.request,
                    whoever: f.whoever,
                });
                for pattern in &f.patterns {
                    flag_of_pattern.push(flag_index);
                    flag_regexes.push(ascii_boundaries(pattern.get_ref()));
                }
            }
            let normalized = |texts: &mut dyn Iterator<Item = &String>| -> Vec<String> {
                texts.map(|t| normalizer.normalize(t).text).collect()
            };
            matcher_input.push((
                normalized(&mut intent.examples.get_ref().iter().map(|e| e.get_ref())),
                normalized(&mut intent.counter_examples.iter().map(|e| e.get_ref())),
                normalized(&mut intent.keywords.iter().map(|k| k.get_ref())),
            ));
        }
        let intent_patterns =
            PatternSet::new(intent_regexes.iter().map(|p| ascii_boundaries(p)).collect());
        let flag_set = PatternSet::new(flag_regexes);
        let (intent_patterns, flag_set) = match (intent_patterns, flag_set) {
            (Ok(a), Ok(b)) => (a, b),
            (a, b) => {
                for e in [a.err(), b.err()].into_iter().flatten() {
                    errors.push(CheckError {
                        file: "intents".into(),
                        line: 0,
                        message: format!("patterns do not compile together: {e}"),
                    });
                }
                return Err(CheckErrors(errors));
            }
        };
        let texts = messages::Texts::new(clinic, content.messages);
        Ok(Engine {
            intents,
            intent_patterns,
            intent_pattern_owner,
            flags,
            flag_set,
            flag_of_pattern,
            normalizer,
            matcher: Matcher::new(&matcher_input),
            symptom_concept: concepts.index("symptom"),
            concepts,
            context: ContextRules::default(),
            days: time::DayPhrases::default(),
            messages: Messages {
                fallback: texts.get(messages::Key::Fallback),
                empty: texts.get(messages::Key::Empty),
                emergency_preamble: texts.get(messages::Key::EmergencyPreamble),
                ask_day: texts.get(messages::Key::AskDay),
            },
            texts,
            care_plan: content.care_plan,
            version: load::Version::of(sources),
            reviews: content
                .intents
                .iter()
                .filter_map(|(_, intent)| {
                    let review = review::Review::of(intent).ok()?;
                    Some((intent.id.get_ref().clone(), review))
                })
                .collect(),
        })
    }

    /// The care timeline: what the bot writes first, on days after a treatment.
    pub fn care_plan(&self) -> &crate::timeline::CarePlan {
        &self.care_plan
    }

    /// The bot's own words, for this clinic.
    pub fn texts(&self) -> &messages::Texts {
        &self.texts
    }

    pub fn intent_count(&self) -> usize {
        self.intents.len()
    }

    /// The intents whose clinical review is due on `today`, in file order.
    pub fn overdue_reviews(&self, today: chrono::NaiveDate) -> Vec<review::Overdue> {
        self.reviews
            .iter()
            .filter_map(|(intent, review)| review.overdue(intent, today))
            .collect()
    }

    /// Which content this engine was built from (see [`load::Version`]).
    pub fn version(&self) -> &load::Version {
        &self.version
    }

    pub fn intent_ids(&self) -> impl Iterator<Item = &str> {
        self.intents.iter().map(|i| i.id.as_str())
    }

    /// Triage one message. `record_day` is the day since treatment from the client's record, when known;
    /// a day stated in the message wins. `today` lets "since monday" be understood.
    ///
    /// The steps: read the day, find the findings, rank the intents, choose who speaks, decide the level
    /// from all the evidence, compose the reply.
    pub fn analyse(
        &self,
        message: &str,
        record_day: Option<u32>,
        today: Option<NaiveDate>,
    ) -> Triage {
        let text = self.normalizer.normalize(message);
        let mut why = Vec::new();
        for (typed, fixed) in &text.corrections {
            why.push(format!("read {typed:?} as {fixed:?}"));
        }
        let words: Vec<&str> = text.tokens.iter().map(|t| t.text.as_str()).collect();
        let (day, day_source) = self.read_day(&text.text, record_day, today, &mut why);
        let found = self.red_flags(&text, &words, day, &mut why);
        let findings_level = found
            .findings
            .iter()
            .map(|f| f.level)
            .max()
            .unwrap_or(Level::None);
        let ranked = self.rank(&text, &found.negated);
        let speakers = self.choose_speakers(&text, &ranked, &found, findings_level, &mut why);

        // The intent that answers counts as evidence when the client reports its situation.
        let primary_reading = speakers
            .primary
            .map(|index| self.topic_reading(index, &words, &found));
        let reading_of = |index: usize| match primary_reading {
            Some(reading) if Some(index) == speakers.primary => reading,
            _ => self.topic_reading(index, &words, &found),
        };
        let intent_evidence = speakers.primary.map(|index| {
            let intent = &self.intents[index];
            policy::IntentEvidence {
                level: intent.escalation,
                score: speakers.confidence,
                affirmed: reading_of(index) == TopicReading::Reported,
                abnormal: matches!(
                    intent.category,
                    Category::AbnormalReaction | Category::Emergency
                ),
            }
        });
        let reported = |index: usize| {
            found.findings.iter().any(|f| {
                self.flags
                    .iter()
                    .any(|flag| flag.id == f.id && flag.intent == index)
            }) || (Some(index) == speakers.primary
                && intent_evidence.is_some_and(|e| e.abnormal && e.affirmed))
        };
        // The general answer is for questions about the topic, never for a report or an unclear reading: an
        // uncertain message keeps the answer that asks the clinic to look.
        let answer_kind = |index: usize| {
            if reported(index) || reading_of(index) != TopicReading::AskedAbout {
                AnswerKind::Report
            } else {
                AnswerKind::General
            }
        };
        let primary_answer = speakers
            .primary
            .map(|index| self.answer(index, day, answer_kind(index)));
        let addition_answer = speakers
            .addition
            .map(|index| self.answer(index, day, answer_kind(index)));
        let reply_asks_contact = primary_answer.is_some_and(|a| a.asks_contact)
            || addition_answer.is_some_and(|a| a.asks_contact);
        let evidence = policy::Evidence {
            findings: findings_level,
            intent: intent_evidence,
            reply_asks_contact,
            unanswered_skin_report: speakers.primary.is_none() && found.describes_skin,
            past_findings: found.past,
        };
        let (level, raised) = policy::decide(&evidence);
        if let Some(reason) = raised {
            why.push(format!("level {level}: {reason}"));
        }

        let mut reply = String::new();
        if level == Level::Emergency {
            reply.push_str(&self.messages.emergency_preamble);
        }
        let mut asks_day = false;
        let (category, intent) = match (speakers.primary, primary_answer) {
            (Some(index), Some(answer)) => {
                let intent = &self.intents[index];
                push_paragraph(&mut reply, &answer.text);
                if day.is_none() && !intent.by_day.is_empty() {
                    push_paragraph(&mut reply, &self.messages.ask_day);
                    asks_day = true;
                }
                (intent.category, Some(intent.id.clone()))
            }
            _ => {
                let fallback = if text.words().next().is_none() {
                    &self.messages.empty
                } else {
                    &self.messages.fallback
                };
                push_paragraph(&mut reply, fallback);
                (Category::Fallback, None)
            }
        };
        if let Some(extra) = addition_answer {
            push_paragraph(&mut reply, &extra.text);
        }

        Triage {
            intent,
            category,
            escalation: level,
            reply,
            confidence: (speakers.confidence * 100.0).round() / 100.0,
            red_flags: found.findings,
            day,
            day_source,
            asks_day,
            why,
        }
    }

    fn read_day(
        &self,
        text: &str,
        record_day: Option<u32>,
        today: Option<NaiveDate>,
        why: &mut Vec<String>,
    ) -> (Option<u32>, DaySource) {
        match self.days.find(text, today) {
            // "it went down on day 2 but now it's back", "bumps came up on my chin day 5, still there" on day 8:
            // an earlier day than the record's, told as when something happened, is a day looked back on.
            Some((day, phrase))
                if record_day.is_some_and(|r| r > day) && looks_back_on(text, &phrase) =>
            {
                why.push(format!("{phrase:?} is a day looked back on"));
                (record_day, DaySource::Record)
            }
            Some((day, phrase)) => {
                why.push(format!("day {day} from {phrase:?}"));
                (Some(day), DaySource::Message)
            }
            None => match record_day {
                Some(day) => (Some(day), DaySource::Record),
                None => (None, DaySource::Unknown),
            },
        }
    }

    /// Every intent with evidence, best first. Symptoms the client says they do NOT have must not choose the
    /// answer: "no pus, no fever, just pink" is about pinkness.
    fn rank(
        &self,
        text: &normalize::Normalized,
        negated: &[(usize, usize)],
    ) -> Vec<matcher::Candidate> {
        // "1", "2 ?", "38.5": a number with no word says nothing an intent could answer; "day 1" in an example
        // must not make it the answer about swelling.
        if !text
            .tokens
            .iter()
            .any(|t| t.text.chars().any(char::is_alphabetic))
        {
            return Vec::new();
        }
        // "…when can I exercise again? thank you": in a message of some length, greetings and thanks are
        // manners, not the topic.
        let long = text.words().nth(COURTESY_IGNORED_AFTER_WORDS).is_some();
        let courtesy = |word: &str| long && COURTESY.contains(&word);
        let matching_text =
            if negated.is_empty() && !(long && text.tokens.iter().any(|t| courtesy(&t.text))) {
                std::borrow::Cow::Borrowed(text.text.as_str())
            } else {
                let mut kept = String::with_capacity(text.text.len());
                for (index, token) in text.tokens.iter().enumerate() {
                    if !courtesy(&token.text)
                        && !negated
                            .iter()
                            .any(|(first, last)| (*first..=*last).contains(&index))
                    {
                        kept.push_str(&token.text);
                        kept.push(' ');
                    }
                }
                std::borrow::Cow::Owned(kept)
            };
        let mut hits = vec![false; self.intents.len()];
        for pattern in self.intent_patterns.matches(&matching_text) {
            hits[self.intent_pattern_owner[pattern]] = true;
        }
        let mut ranked = self.matcher.rank(&matching_text, &hits);
        for candidate in &mut ranked {
            candidate.pattern_hit = hits[candidate.intent];
        }
        ranked
    }

    /// Which intent answers, and which adds its answer for a finding beside it.
    fn choose_speakers(
        &self,
        text: &normalize::Normalized,
        ranked: &[matcher::Candidate],
        found: &FoundFlags,
        level: Level,
        why: &mut Vec<String>,
    ) -> Speakers {
        // An emergency answer ("while you wait for the ambulance…") fits only an affirmed emergency: for
        // "is bleeding normal? it stopped ages ago" the next best answer speaks.
        // Small talk ("bye", "thanks") answers only when its own words are there: a question that merely resembles
        // one of its examples ("can i go to the disco on saturday night" ~ "night night") is not a goodbye.
        let best = ranked.iter().filter(|c| c.score >= MIN_SCORE).find(|c| {
            let category = self.intents[c.intent].category;
            (level == Level::Emergency || category != Category::Emergency)
                && (category != Category::SmallTalk || c.keywords > 0 || c.pattern_hit)
        });
        if let Some(c) = best {
            let intent = &self.intents[c.intent];
            if let Some((example, score)) = c.example {
                let example = self.matcher.example_text(example);
                why.push(format!(
                    "{} ({}): closest example {example:?} ({score:.2})",
                    intent.id, intent.file
                ));
            }
            if c.keywords > 0 {
                let keywords = self.matcher.matched_keywords(c.intent, &text.text);
                why.push(format!("{}: keywords {}", intent.id, keywords.join(", ")));
            }
            if c.pattern_hit {
                why.push(format!("{}: a pattern matched", intent.id));
            }
        } else if let Some(c) = ranked.first().filter(|c| c.score < MIN_SCORE) {
            why.push(format!(
                "nearest intent {} scored {:.2}, below {MIN_SCORE}: fallback",
                self.intents[c.intent].id, c.score
            ));
        }

        // Among the most serious flags, the intent that also fits the wording best speaks for them.
        let owners: Vec<usize> = found
            .findings
            .iter()
            .filter(|f| f.level == level)
            .filter_map(|f| self.flags.iter().find(|flag| flag.id == f.id))
            .map(|flag| flag.intent)
            .collect();
        let score_of = |i: usize| {
            ranked
                .iter()
                .find(|c| c.intent == i)
                .map_or(f32::MIN, |c| c.score)
        };
        let flag_owner = owners
            .iter()
            .copied()
            .max_by(|a, b| score_of(*a).total_cmp(&score_of(*b)).then(b.cmp(a)));

        let mut speakers = Speakers {
            primary: best.map(|c| c.intent),
            addition: None,
            confidence: best.map_or_else(
                || 1.0 - ranked.first().map_or(0.0, |c| c.score.clamp(0.0, 1.0)),
                |c| c.score.min(1.0),
            ),
        };
        let Some(owner) = flag_owner else {
            return speakers;
        };
        let about_symptoms = speakers
            .primary
            .is_none_or(|p| self.intents[p].category.is_about_symptoms());
        if level == Level::Emergency {
            speakers.take_over(owner);
        } else if about_symptoms {
            // "can I wear makeup tomorrow? also there is yellow crust on my chin": the question is in the
            // clauses without the finding; answer it, then the finding.
            match self.question_apart_from(text, &found.affirmed, &found.negated) {
                Some(question) if question.intent != owner => {
                    why.push(format!(
                        "{}: the question beside the red flag ({:.2})",
                        self.intents[question.intent].id, question.score
                    ));
                    speakers.primary = Some(question.intent);
                    speakers.confidence = question.score.min(1.0);
                    speakers.addition = Some(owner);
                }
                _ => speakers.take_over(owner),
            }
        } else if speakers.primary != Some(owner) {
            speakers.addition = Some(owner);
        }
        speakers
    }

    /// Whether the client reports the intent's situation, asks about it in general (for someone else, as a
    /// risk, or as "what if"), or neither is clear: ConText on the intent's keywords or, when none of them is
    /// there, an affirmed description of their skin.
    fn topic_reading(&self, index: usize, words: &[&str], found: &FoundFlags) -> TopicReading {
        // "does needling make dark skin go darker?", "how do I avoid spots after?": a question about a risk
        // is not a report of it (findings are still judged on their own).
        if self.context.asks_about_a_risk(words) {
            return TopicReading::AskedAbout;
        }
        // "it's 36.8, is that a fever?": a topic whose finding a normal temperature takes back is asked about.
        let takes_back = self
            .flags
            .iter()
            .any(|flag| flag.intent == index && flag.unless_normal_temperature);
        if takes_back && context::only_normal_temperatures(&words.join(" ")).is_some() {
            return TopicReading::AskedAbout;
        }
        let positions = self.matcher.keyword_positions(index, words);
        let reading = &found.reading;
        if positions.is_empty() {
            return if found.describes_skin {
                TopicReading::Reported
            } else if reading.in_general.is_some()
                || self.context.asks_what_if(words)
                || reading.someone_elses_past
                || reading.treated_elsewhere
                || found.withheld.contains(&index)
            {
                TopicReading::AskedAbout
            } else {
                TopicReading::Unclear
            };
        }
        let qualified: Vec<_> = positions
            .iter()
            .map(|p| self.qualify_in(reading, words, *p, *p))
            .collect();
        if qualified.iter().any(|(q, _)| *q == Qualifier::Affirmed) {
            TopicReading::Reported
        } else if qualified.iter().all(|(q, trigger)| {
            // "still pink two weeks on, just wondering": a trailing "just wondering" leaves a report open.
            *q == Qualifier::Hypothetical && self.context.is_trailing_wonder(*trigger)
        }) {
            TopicReading::Unclear
        } else {
            // Denied, over, someone else's, or a question ("what if", "is it ever normal").
            TopicReading::AskedAbout
        }
    }

    /// Qualifies the finding at tokens `first..=last` the way the whole message reads: written for the
    /// client, the person named is the client; in a message about someone else's past, what follows "she"
    /// or "he" is theirs; in a question in general, nothing is reported. Red flags and the topic a message
    /// reports are judged by this one rule.
    fn qualify_in(
        &self,
        reading: &Reading,
        words: &[&str],
        first: usize,
        last: usize,
    ) -> (Qualifier, Option<&'static str>) {
        // "I'm her carer and I've got a cold sore myself": in a message written for the client, what the writer
        // says they have themselves is theirs.
        if context::the_writers_own(words, first, last) && context::names_someone_else(words) {
            return (Qualifier::OtherPerson, Some("the writer's own (myself)"));
        }
        match (
            self.context.qualify(words, first, last),
            &reading.in_general,
        ) {
            // Written for the client: the person named is the client, so only the past, a negation or a
            // hypothetical takes the finding back.
            ((Qualifier::OtherPerson, _), None) if reading.for_the_client => {
                self.context.qualify_for_anyone(words, first, last)
            }
            ((Qualifier::Affirmed | Qualifier::Historical, _), _)
                if reading.about_someone_else()
                    && self.context.third_person_before(words, first) =>
            {
                (
                    Qualifier::OtherPerson,
                    Some("she or he, about someone else's past"),
                )
            }
            ((Qualifier::Affirmed, _), Some(marker)) => (Qualifier::Hypothetical, Some(*marker)),
            (q, _) => q,
        }
    }

    fn answer(&self, index: usize, day: Option<u32>, kind: AnswerKind) -> &Answer {
        let intent = &self.intents[index];
        if kind == AnswerKind::General
            && let Some(general) = &intent.general
        {
            return general;
        }
        day.and_then(|d| {
            intent
                .by_day
                .iter()
                .find(|(from, to, _)| d >= *from && to.is_none_or(|to| d <= to))
        })
        .map_or(&intent.answer, |(_, _, answer)| answer)
    }

    /// The affirmed findings with their token spans, and the token spans of findings the client negated.
    fn red_flags(
        &self,
        text: &normalize::Normalized,
        words: &[&str],
        day: Option<u32>,
        why: &mut Vec<String>,
    ) -> FoundFlags {
        let mut found = FoundFlags::default();
        let reading = Reading {
            in_general: self.context.asks_in_general(words),
            for_the_client: self.context.writes_for_the_client(words),
            someone_elses_past: self.context.about_someone_elses_past(words),
            treated_elsewhere: self.context.treated_elsewhere(words),
            writer_apart: self.context.sets_the_writer_apart(words),
        };
        let someone_elses_past = reading.someone_elses_past;
        // A request is the writer's unless it is said of someone named who is not the client ("my cousin wants to
        // know, she just finished her roaccutane"); "can someone call me" still asks.
        let someone_elses_request = |first: usize| {
            !reading.for_the_client && self.context.outsider_named_before(words, first)
        };
        let qualify = |first: usize, last: usize| self.qualify_in(&reading, words, first, last);
        let in_window = |flag: &CompiledFlag, why: &mut Vec<String>| {
            let counts = match day {
                Some(d) => {
                    flag.from_day.is_none_or(|f| d >= f) && flag.to_day.is_none_or(|t| d <= t)
                }
                None => flag.if_day_unknown,
            };
            if !counts {
                why.push(format!(
                    "red flag {} not counted on day {}",
                    flag.id,
                    day.map_or("unknown".into(), |d| d.to_string())
                ));
            }
            counts
        };
        let softened = |flag: &CompiledFlag, first: usize, last: usize, why: &mut Vec<String>| {
            let degree = flag
                .unless_mild
                .then(|| context::mild_degree(words, first, last))
                .flatten();
            if let Some(degree) = degree {
                why.push(format!(
                    "red flag {} not counted: softened by {degree:?}",
                    flag.id
                ));
                return true;
            }
            let normal = flag
                .unless_normal_temperature
                .then(|| context::only_normal_temperatures(&text.text))
                .flatten();
            if let Some(reading) = normal {
                why.push(format!(
                    "red flag {} not counted: the temperature given ({reading}) is normal",
                    flag.id
                ));
                return true;
            }
            let over = flag
                .passing
                .then(|| context::fine_now_later(words, last))
                .flatten();
            if let Some(phrase) = over {
                why.push(format!(
                    "red flag {} not counted: passed ({phrase:?})",
                    flag.id
                ));
                return true;
            }
            let place = flag
                .of_the_body
                .then(|| {
                    context::surroundings_before(words, first)
                        .or_else(|| context::surroundings_after(words, last))
                })
                .flatten();
            if let Some(place) = place {
                why.push(format!(
                    "red flag {} not counted: about the {place}, not the body",
                    flag.id
                ));
            }
            place.is_some()
        };
        for pattern in self.flag_set.matches(&text.text) {
            // The set's own compiled pattern says where it matched: nothing is compiled twice.
            let Some(regex) = self.flag_set.regex(pattern) else {
                continue;
            };
            let flag = &self.flags[self.flag_of_pattern[pattern]];
            if found.findings.iter().any(|f| f.id == flag.id) || !in_window(flag, why) {
                continue;
            }
            for matched in regex.find_iter(text.text.as_bytes()) {
                // Byte patterns on the text: a match that does not fall on characters is not a word match.
                let Some(evidence) = text.text.get(matched.range()) else {
                    continue;
                };
                if evidence.trim().is_empty() {
                    continue;
                }
                let first = text.token_at(matched.start());
                let last = text.token_at(matched.end().saturating_sub(1)).max(first);
                let (qualifier, trigger) = match qualify(first, last) {
                    _ if flag.request && someone_elses_request(first) => {
                        (Qualifier::OtherPerson, None)
                    }
                    (Qualifier::OtherPerson, _) if flag.whoever && !someone_elses_past => {
                        self.context.qualify_for_anyone(words, first, last)
                    }
                    (Qualifier::Historical, _) if flag.even_if_past => (Qualifier::Affirmed, None),
                    (Qualifier::Negated, trigger)
                        if flag.even_if_past && self.context.is_resolution(trigger) =>
                    {
                        (Qualifier::Affirmed, None)
                    }
                    (q, _) if flag.request && q != Qualifier::Negated => {
                        (Qualifier::Affirmed, None)
                    }
                    other => other,
                };
                if qualifier == Qualifier::Affirmed && softened(flag, first, last, why) {
                    continue;
                }
                if found.note(flag, qualifier, trigger, (first, last), evidence, why) {
                    break;
                }
            }
        }

        // Findings made of concepts: all parts present and affirmed, within one clause or the message.
        let occurrences = self.concepts.find(words);
        // Each occurrence is qualified once, whichever flags use its concept, and only for concepts in an
        // alternative whose parts are all present: common words ("have", "now") are not qualified for nothing.
        let mut needed = vec![false; self.concepts.len()];
        for all in self.flags.iter().flat_map(|f| &f.concepts) {
            if all.iter().all(|&c| !occurrences.of(c).is_empty()) {
                all.iter().for_each(|&c| needed[c] = true);
            }
        }
        if let Some(symptom) = self.symptom_concept {
            needed[symptom] = true;
        }
        let qualified: Vec<Vec<QualifiedSpan>> = (0..self.concepts.len())
            .map(|concept| {
                if !needed[concept] {
                    return Vec::new();
                }
                occurrences
                    .of(concept)
                    .iter()
                    .map(|&(first, last)| {
                        let (qualifier, trigger) = qualify(first, last);
                        ((first, last), qualifier, trigger)
                    })
                    .collect()
            })
            .collect();
        let clauses = concepts::clauses(words);
        let whole = [(0, words.len().saturating_sub(1))];
        for flag in self.flags.iter().filter(|f| !f.concepts.is_empty()) {
            if found.findings.iter().any(|f| f.id == flag.id) {
                continue;
            }
            let ranges: &[(usize, usize)] = match flag.scope {
                model::Scope::Clause => &clauses,
                model::Scope::Message => &whole,
            };
            let mut hit = None;
            let mut not_counted = None;
            'alternatives: for all in &flag.concepts {
                if all.iter().any(|&concept| qualified[concept].is_empty()) {
                    continue;
                }
                for &(from, to) in ranges {
                    // The affirmed occurrences of each part inside the range.
                    let candidates: Vec<Vec<(usize, usize)>> = all
                        .iter()
                        .map(|&concept| {
                            qualified[concept]
                                .iter()
                                .filter(|((first, last), _, _)| *first >= from && *last <= to)
                                .filter(|(span, qualifier, trigger)| {
                                    // Over or gone now, but it happened: "took an antihistamine, all gone now".
                                    let happened = flag.even_if_past
                                        && (*qualifier == Qualifier::Historical
                                            || (*qualifier == Qualifier::Negated
                                                && self.context.is_resolution(*trigger)));
                                    // "last night I put the serum on, now it burns": the cause came first.
                                    let cause_before = *qualifier == Qualifier::Historical
                                        && self.concepts.is_cause(concept);
                                    let theirs = flag.request && someone_elses_request(span.0);
                                    let counts = !theirs
                                        && (*qualifier == Qualifier::Affirmed
                                            || happened
                                            || cause_before
                                            || (flag.request && *qualifier != Qualifier::Negated)
                                            || (flag.whoever
                                                && !someone_elses_past
                                                && *qualifier == Qualifier::OtherPerson
                                                && self
                                                    .context
                                                    .qualify_for_anyone(words, span.0, span.1)
                                                    .0
                                                    == Qualifier::Affirmed));
                                    if !counts {
                                        not_counted.get_or_insert((*qualifier, *span));
                                    }
                                    counts
                                })
                                .map(|(span, _, _)| *span)
                                .collect()
                        })
                        .collect();
                    if let Some(spans) = concepts::assign(&candidates) {
                        hit = Some(spans);
                        break 'alternatives;
                    }
                }
            }
            let hit = hit.filter(|spans| {
                !spans
                    .iter()
                    .any(|&(first, last)| softened(flag, first, last, why))
            });
            match hit {
                Some(spans) if in_window(flag, why) => {
                    let first = spans.iter().map(|s| s.0).min().unwrap_or(0);
                    let last = spans.iter().map(|s| s.1).max().unwrap_or(0);
                    let evidence = spans
                        .iter()
                        .map(|(a, b)| words[*a..=*b].join(" "))
                        .collect::<Vec<_>>()
                        .join(" + ");
                    found.note(
                        flag,
                        Qualifier::Affirmed,
                        None,
                        (first, last),
                        &evidence,
                        why,
                    );
                }
                Some(_) => {}
                None => {
                    if not_counted.is_some() {
                        found.withheld.push(flag.intent);
                    }
                    // What the client denies or had before must not choose the answer.
                    if let Some((qualifier, span)) = not_counted
                        && matches!(qualifier, Qualifier::Negated | Qualifier::Historical)
                    {
                        found.negated.push(span);
                        if qualifier == Qualifier::Historical {
                            found.past = found.past.max(flag.level);
                        }
                    }
                }
            }
        }
        found.reading = reading;
        if let Some(symptom) = self.symptom_concept {
            found.describes_skin = qualified[symptom]
                .iter()
                .any(|(_, qualifier, _)| *qualifier == Qualifier::Affirmed);
            // "no fever, no pus, just tight and dry": what the client denies must not choose the answer.
            found.negated.extend(
                qualified[symptom]
                    .iter()
                    .filter(|(_, qualifier, _)| *qualifier == Qualifier::Negated)
                    .map(|(span, _, _)| *span),
            );
        }
        found
            .findings
            .sort_by(|a, b| b.level.cmp(&a.level).then(a.id.cmp(&b.id)));
        found
    }

    /// The best non-symptom intent (a rule, treatment or booking question) asked in the clauses of a message
    /// that carry no red flag, if any clears the bar.
    fn question_apart_from(
        &self,
        text: &normalize::Normalized,
        affirmed: &[(usize, usize)],
        negated: &[(usize, usize)],
    ) -> Option<matcher::Candidate> {
        let mut clauses: Vec<(usize, usize)> = Vec::new();
        let mut start = 0;
        for (index, token) in text.tokens.iter().enumerate() {
            if matches!(
                token.text.as_str(),
                "." | "?" | "!" | ";" | "also" | "btw" | "plus" | "but"
            ) {
                if index > start {
                    clauses.push((start, index - 1));
                }
                start = index + 1;
            }
        }
        if start < text.tokens.len() {
            clauses.push((start, text.tokens.len() - 1));
        }
        if clauses.len() < 2 {
            return None;
        }
        let overlaps = |a: usize, b: usize, spans: &[(usize, usize)]| {
            spans.iter().any(|(f, l)| *f <= b && *l >= a)
        };
        let mut rest = String::new();
        for (a, b) in clauses {
            if overlaps(a, b, affirmed) {
                continue;
            }
            for index in a..=b {
                if !overlaps(index, index, negated) {
                    rest.push_str(&text.tokens[index].text);
                    rest.push(' ');
                }
            }
        }
        if rest.trim().is_empty() {
            return None;
        }
        let mut hits = vec![false; self.intents.len()];
        for pattern in self.intent_patterns.matches(&rest) {
            hits[self.intent_pattern_owner[pattern]] = true;
        }
        // A question beside a finding must be clearly asked: a leftover "i can breathe fine" is no question.
        self.matcher
            .rank(&rest, &hits)
            .into_iter()
            .filter(|c| c.score >= MIN_SIDE_QUESTION_SCORE)
            .find(|c| !self.intents[c.intent].category.is_about_symptoms())
    }

    /// Checks that every example picks its own intent and no counter-example does.
    pub fn check_examples(&self, sources: &[Source]) -> Vec<CheckError> {
        let Ok(content) = load::parse(sources) else {
            return Vec::new();
        };
        let mut errors = Vec::new();
        for (source, intent) in &content.intents {
            let id = intent.id.get_ref();
            let line = |offset: usize| load::line_of(&source.text, offset);
            let level = *intent.escalation.get_ref();
            for example in intent.examples.get_ref() {
                let triage = self.analyse(example.get_ref(), None, None);
                if triage.escalation < level {
                    errors.push(CheckError {
                        file: source.name.clone(),
                        line: line(example.span().start),
                        message: format!(
                            "example {:?} is answered at level {}, below this intent's {level}",
                            example.get_ref(),
                            triage.escalation
                        ),
                    });
                }
                if level == Level::None && triage.escalation >= Level::Urgent {
                    errors.push(CheckError {
                        file: source.name.clone(),
                        line: line(example.span().start),
                        message: format!(
                            "example {:?} of a level-none intent raises {}",
                            example.get_ref(),
                            triage.escalation
                        ),
                    });
                }
                let got = triage.intent;
                if got.as_deref() != Some(id.as_str()) {
                    errors.push(CheckError {
                        file: source.name.clone(),
                        line: line(example.span().start),
                        message: format!(
                            "example {:?} picks {} instead of {id}",
                            example.get_ref(),
                            got.unwrap_or_else(|| "the fallback".into())
                        ),
                    });
                }
            }
            for counter in &intent.counter_examples {
                // Counter-examples of a normal reaction are often the abnormal report it must not answer
                // ("my eye is swollen shut" for swelling), so their level is not checked here.
                if self.best_intent(counter.get_ref()).as_deref() == Some(id.as_str()) {
                    errors.push(CheckError {
                        file: source.name.clone(),
                        line: line(counter.span().start),
                        message: format!("counter-example {:?} picks {id}", counter.get_ref()),
                    });
                }
            }
        }
        errors
    }

    /// The intent that answers a message, as the client would get it (day unknown unless it says).
    pub fn best_intent(&self, message: &str) -> Option<String> {
        self.analyse(message, None, None).intent
    }
}

/// The normalised text is lower-case ASCII words, so word boundaries need not be Unicode-aware; ASCII ones let
/// the regex engine use its fast DFA instead of falling back to a slow one (a 10x difference here).
fn ascii_boundaries(pattern: &str) -> String {
    pattern.replace(r"\b", r"(?-u:\b)")
}

/// Many patterns matched against one message. One shared lazy DFA over every pattern (a `RegexSet`) has to
/// build new states for nearly every unseen message: on held-out text that was four fifths of the engine's
/// time. Instead, an Aho-Corasick automaton over the literals each pattern must start with finds the few
/// candidates, and only those run, each on its own small automaton; patterns with no such literal always run.
///
/// Every match of a candidate starts where one of its literals was found, so a candidate is tried only there,
/// anchored: an anchored automaton has a handful of states that every message reuses, where an unanchored
/// search over the whole text keeps building states for text it has not seen.
struct PatternSet {
    patterns: Vec<(String, OnceLock<Option<meta::Regex>>)>,
    prefixes: aho_corasick::AhoCorasick,
    /// Literal index → the patterns that may start with it, and whether the pattern begins at a word
    /// boundary (then a literal found inside a word does not make it a candidate: "hi" holds no "i"):
    /// literal i's owners are `owners[owner_starts[i]..owner_starts[i + 1]]`, each packed as
    /// `pattern << 1 | at_word_start`. Flat, because tens of thousands of small lists cost about 1.5 MB more.
    owner_starts: Vec<u32>,
    owners: Vec<u32>,
    always: Vec<usize>,
}

impl PatternSet {
    fn new(patterns: Vec<String>) -> Result<PatternSet, String> {
        use regex_syntax::hir::literal::{ExtractKind, Extractor};
        let mut literals: Vec<Vec<u8>> = Vec::new();
        // (literal index, owner packed as `pattern << 1 | at_word_start`), grouped by literal below.
        let mut owned: Vec<(u32, u32)> = Vec::new();
        let mut index_of: HashMap<Vec<u8>, usize> = HashMap::new();
        let mut always = Vec::new();
        for (index, pattern) in patterns.iter().enumerate() {
            let hir = regex_syntax::ParserBuilder::new()
                .unicode(false)
                .utf8(false)
                .build()
                .parse(pattern)
                .map_err(|e| format!("{pattern:?}: {e}"))?;
            let prefixes = Extractor::new().kind(ExtractKind::Prefix).extract(&hir);
            let at_word_start = pattern.starts_with(r"(?-u:\b)");
            match prefixes.literals() {
                Some(found) if !found.is_empty() && found.iter().all(|l| !l.is_empty()) => {
                    for literal in found {
                        let bytes = literal.as_bytes().to_vec();
                        let at = *index_of.entry(bytes.clone()).or_insert_with(|| {
                            literals.push(bytes);
                            literals.len() - 1
                        });
                        owned.push((at as u32, (index as u32) << 1 | u32::from(at_word_start)));
                    }
                }
                _ => always.push(index),
            }
        }
        let prefixes = aho_corasick::AhoCorasick::new(&literals).map_err(|e| e.to_string())?;
        // Stable: each literal keeps its owners in pattern order.
        owned.sort_by_key(|&(literal, _)| literal);
        let mut owner_starts = vec![0u32; literals.len() + 1];
        for &(literal, _) in &owned {
            owner_starts[literal as usize + 1] += 1;
        }
        for i in 1..owner_starts.len() {
            owner_starts[i] += owner_starts[i - 1];
        }
        let owners: Vec<u32> = owned.into_iter().map(|(_, packed)| packed).collect();
        Ok(PatternSet {
            patterns: patterns
                .into_iter()
                .map(|pattern| (pattern, OnceLock::new()))
                .collect(),
            prefixes,
            owner_starts,
            owners,
            always,
        })
    }

    /// The indices of the patterns that match, in the order given.
    fn matches(&self, text: &str) -> Vec<usize> {
        let bytes = text.as_bytes();
        // (pattern, where one of its literals starts): the only places a match of it can start.
        let mut starts: Vec<(usize, usize)> = Vec::new();
        for found in self.prefixes.find_overlapping_iter(bytes) {
            let inside_word = found.start() > 0
                && bytes[found.start() - 1].is_ascii_alphanumeric()
                && bytes[found.start()].is_ascii_alphanumeric();
            let literal = found.pattern().as_usize();
            let range =
                self.owner_starts[literal] as usize..self.owner_starts[literal + 1] as usize;
            for &packed in &self.owners[range] {
                let at_word_start = packed & 1 == 1;
                if !(inside_word && at_word_start) {
                    starts.push(((packed >> 1) as usize, found.start()));
                }
            }
        }
        starts.sort_unstable();
        starts.dedup();
        let mut matched: Vec<usize> = Vec::new();
        for group in starts.chunk_by(|a, b| a.0 == b.0) {
            let index = group[0].0;
            let Some(regex) = self.regex(index) else {
                continue;
            };
            let found = group.iter().any(|&(_, start)| {
                regex.is_match(
                    regex_automata::Input::new(bytes)
                        .range(start..)
                        .anchored(regex_automata::Anchored::Yes),
                )
            });
            if found {
                matched.push(index);
            }
        }
        for &index in &self.always {
            if self.regex(index).is_some_and(|r| r.is_match(bytes)) {
                matched.push(index);
            }
        }
        if !self.always.is_empty() {
            matched.sort_unstable();
        }
        matched
    }

    fn regex(&self, index: usize) -> Option<&meta::Regex> {
        let (source, compiled) = &self.patterns[index];
        compiled
            .get_or_init(|| {
                // As `regex::bytes::RegexBuilder::new(source).unicode(false)` would build it, without what only
                // capture groups need (only whether and where a pattern matches is asked) and without any DFA.
                // A full DFA built ahead for each pattern cost more to build than a message's whole analysis;
                // a lazy one keeps a cache per pattern and per thread that grew with the messages seen (about
                // 5 MB of `serve`'s memory after 10,000 clients, issue 20), while an anchored search over a
                // short message is as quick on the NFA alone (`aftercare eval` over every labelled set: 12.3
                // against 14.4 s).
                meta::Builder::new()
                    .configure(
                        meta::Config::new()
                            .nfa_size_limit(Some(10 * (1 << 20)))
                            .hybrid(false)
                            .match_kind(regex_automata::MatchKind::LeftmostFirst)
                            .utf8_empty(false)
                            .which_captures(regex_automata::nfa::thompson::WhichCaptures::Implicit)
                            .dfa(false)
                            .onepass(false),
                    )
                    .syntax(
                        regex_automata::util::syntax::Config::new()
                            .unicode(false)
                            .utf8(false),
                    )
                    .build(source)
                    .ok()
            })
            .as_ref()
    }
}

/// "it went down on day 2", "bumps came up on my chin day 5": the day something happened, told a few
/// words after it.
fn looks_back_on(text: &str, phrase: &str) -> bool {
    const ONSET: [&str; 9] = [
        "came up",
        "come up",
        "appeared",
        "started",
        "began",
        "noticed",
        "showed up",
        "popped up",
        "went down",
    ];
    let Some(at) = text.find(phrase) else {
        return false;
    };
    let before: Vec<&str> = text[..at].split_whitespace().rev().take(5).collect();
    let before: String = before.into_iter().rev().collect::<Vec<_>>().join(" ");
    text.contains(&format!("on {phrase}")) || ONSET.iter().any(|verb| before.contains(verb))
}

fn push_paragraph(reply: &mut String, text: &str) {
    if !reply.is_empty() {
        reply.push_str("\n\n");
    }
    reply.push_str(text);
}

/// Validates a set of intent files completely: schema, regexes, uniqueness, examples and counter-examples.
pub fn check(sources: &[Source]) -> Vec<CheckError> {
    match Engine::from_sources(sources, &Clinic::default()) {
        Ok(engine) => engine.check_examples(sources),
        Err(CheckErrors(errors)) => errors,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The prefilter may only skip patterns that cannot match: on every labelled message it finds exactly what
    /// running every pattern would.
    #[test]
    fn the_pattern_prefilter_finds_what_every_pattern_would() {
        let engine = Engine::embedded(&Clinic::default()).expect("shipped intents are valid");
        let labelled = include_str!("../../tests/eval/clients.jsonl");
        let texts: Vec<String> = labelled
            .lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .filter_map(|v| {
                v["text"]
                    .as_str()
                    .map(|t| engine.normalizer.normalize(t).text)
            })
            .collect();
        assert!(texts.len() > 200);
        for set in [&engine.intent_patterns, &engine.flag_set] {
            let every: Vec<regex::bytes::Regex> = set
                .patterns
                .iter()
                .map(|(source, _)| {
                    regex::bytes::RegexBuilder::new(source)
                        .unicode(false)
                        .build()
                        .expect("compiles")
                })
                .collect();
            for text in &texts {
                let expected: Vec<usize> = (0..every.len())
                    .filter(|&i| every[i].is_match(text.as_bytes()))
                    .collect();
                assert_eq!(set.matches(text), expected, "{text:?}");
            }
        }
    }

    #[test]
    fn a_pattern_starting_inside_a_word_is_still_found() {
        let set = PatternSet::new(vec![
            r"(?-u:\b)i feel".to_string(),
            r"ing(?-u:\b)".to_string(),
            r"(?-u:\b)(3[89]|40)( ?\. ?\d)? ?c(?-u:\b)".to_string(),
        ])
        .expect("valid");
        assert_eq!(set.matches("hi feel"), Vec::<usize>::new());
        assert_eq!(set.matches("so i feel swelling"), vec![0, 1]);
        assert_eq!(set.matches("temp 38 . 5 c"), vec![2]);
    }
}
