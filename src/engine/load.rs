//! Reads intent files and says exactly what is wrong with them: `file:line: message`.

use super::messages::{Key, QUOTE, format_problem, longest_filled};
use super::model::{
    ConceptsFile, IntentFile, LexiconFile, MessagesFile, PLACEHOLDERS, unknown_placeholders,
};
use crate::timeline::plan::{self as care_plan, CARE_PLAN_FILE, CarePlan};
use std::collections::HashMap;
use std::fmt;
use std::path::Path;

include!(concat!(env!("OUT_DIR"), "/embedded_intents.rs"));

pub const MESSAGES_FILE: &str = "messages.toml";
pub const LEXICON_FILE: &str = "lexicon.toml";
pub const CONCEPTS_FILE: &str = "concepts.toml";
pub const WORDS_FILE: &str = "words.txt";
const MAX_FILE_BYTES: u64 = 2 * 1024 * 1024;
pub const MIN_EXAMPLES: usize = 8;

/// One file's name and text.
#[derive(Debug, Clone)]
pub struct Source {
    pub name: String,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

impl fmt::Display for CheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

/// Errors from loading, as one value for `?`.
#[derive(Debug, thiserror::Error)]
#[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
pub struct CheckErrors(pub Vec<CheckError>);

/// The files the binary was built with.
pub fn embedded_sources() -> Vec<Source> {
    EMBEDDED_INTENTS
        .iter()
        .map(|(name, text)| Source {
            name: name.to_string(),
            text: text.to_string(),
        })
        .collect()
}

/// Which content an engine was built from: a short digest of its files (names and texts, in name order), so
/// that two engines built from the same content have the same version, whatever folder it came from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Version(String);

impl Version {
    pub fn of(sources: &[Source]) -> Version {
        let mut files: Vec<&Source> = sources.iter().collect();
        files.sort_by(|a, b| a.name.cmp(&b.name));
        Version::digest(
            files
                .iter()
                .flat_map(|file| [file.name.as_bytes(), &[0], file.text.as_bytes(), &[0]]),
        )
    }

    /// The same digest of any text (to tell apart lists of errors, say).
    pub fn of_text(text: &str) -> Version {
        Version::digest([text.as_bytes()])
    }

    fn digest<'a>(parts: impl IntoIterator<Item = &'a [u8]>) -> Version {
        use sha2::{Digest, Sha256};
        let mut hash = Sha256::new();
        for part in parts {
            hash.update(part);
        }
        Version(
            hash.finalize()[..6]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect(),
        )
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A clinic's folder. Files it does not have (the lexicon, the word list, the messages) come from the
/// embedded copy, so a clinic only needs to keep the files it changed... except intents: the folder's
/// intents replace the embedded ones entirely, so that deleting a file removes a topic.
pub fn read_dir(dir: &Path) -> Result<Vec<Source>, CheckErrors> {
    let shown = dir.display().to_string();
    let entries = std::fs::read_dir(dir).map_err(|e| {
        CheckErrors(vec![CheckError {
            file: shown.clone(),
            line: 0,
            message: format!("cannot read the intents folder: {e}"),
        }])
    })?;
    let mut paths: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("toml" | "txt")))
        .collect();
    paths.sort();
    let mut sources = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        let name = path.display().to_string();
        let error = |message: String| CheckError {
            file: name.clone(),
            line: 0,
            message,
        };
        // Checked before reading: reading a FIFO would wait for ever.
        match std::fs::metadata(&path) {
            Ok(meta) if !meta.is_file() => {
                errors.push(error(
                    "not a regular file (a folder, FIFO or device); expected a TOML or text file"
                        .into(),
                ));
                continue;
            }
            Ok(meta) if meta.len() > MAX_FILE_BYTES => {
                errors.push(error(format!(
                    "file is {} bytes; intent files are limited to {MAX_FILE_BYTES}",
                    meta.len()
                )));
                continue;
            }
            Err(e) => {
                errors.push(error(format!("cannot read: {e}")));
                continue;
            }
            _ => {}
        }
        match std::fs::read(&path) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) if text.contains('\0') => {
                    errors.push(error("binary data (NUL bytes); expected TOML text".into()))
                }
                Ok(text) => sources.push(Source { name, text }),
                Err(_) => errors.push(error("not UTF-8 text; expected TOML".into())),
            },
            Err(e) => errors.push(error(format!("cannot read: {e}"))),
        }
    }
    for special in [
        MESSAGES_FILE,
        LEXICON_FILE,
        CONCEPTS_FILE,
        WORDS_FILE,
        CARE_PLAN_FILE,
    ] {
        if !sources.iter().any(|s| base_name(&s.name) == special)
            && let Some(embedded) = embedded_sources().into_iter().find(|s| s.name == special)
        {
            sources.push(embedded);
        }
    }
    if errors.is_empty() {
        Ok(sources)
    } else {
        Err(CheckErrors(errors))
    }
}

pub fn base_name(name: &str) -> &str {
    Path::new(name)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or(name)
}

/// The parsed content, before anything is compiled.
pub struct Content {
    pub intents: Vec<(Source, IntentFile)>,
    /// `messages.toml`, every key present, each text trimmed.
    pub messages: HashMap<Key, String>,
    pub lexicon: LexiconFile,
    pub concepts: ConceptsFile,
    pub words: String,
    /// `care-plan.toml`: what the bot writes first, on days after a treatment.
    pub care_plan: CarePlan,
}

pub fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// Parses every file and checks what can be checked one file at a time, plus uniqueness across files.
pub fn parse(sources: &[Source]) -> Result<Content, CheckErrors> {
    let mut errors = Vec::new();
    let mut intents = Vec::new();
    let mut messages = None;
    let mut lexicon = LexiconFile::default();
    let mut concepts = None;
    let mut words = String::new();
    let mut plan = None;
    for source in sources {
        let err = |errors: &mut Vec<CheckError>, offset: usize, message: String| {
            errors.push(CheckError {
                file: source.name.clone(),
                line: line_of(&source.text, offset),
                message,
            })
        };
        let toml_error = |errors: &mut Vec<CheckError>, e: toml::de::Error| {
            let offset = e.span().map_or(0, |s| s.start);
            err(errors, offset, e.message().trim().to_string())
        };
        match base_name(&source.name) {
            WORDS_FILE => words = source.text.clone(),
            CARE_PLAN_FILE => match care_plan::parse(source) {
                Ok(parsed) => plan = Some(parsed),
                Err(problems) => errors.extend(problems),
            },
            LEXICON_FILE => match toml::from_str::<LexiconFile>(&source.text) {
                Ok(parsed) => {
                    // A longer phrase would never be matched: say so rather than ignore it.
                    for key in parsed.replace.keys() {
                        if key.split_whitespace().count() > super::normalize::MAX_PHRASE_WORDS {
                            let at = source.text.find(&format!("\"{key}\"")).unwrap_or(0);
                            let message = format!(
                                "lexicon key {key:?} has more than {} words: it would never match",
                                super::normalize::MAX_PHRASE_WORDS
                            );
                            err(&mut errors, at, message);
                        }
                    }
                    lexicon = parsed;
                }
                Err(e) => toml_error(&mut errors, e),
            },
            CONCEPTS_FILE => match toml::from_str::<ConceptsFile>(&source.text) {
                Ok(parsed) => {
                    for (name, words) in &parsed.concepts {
                        if words.iter().any(|w| w.trim().is_empty() || w.trim() == "*") {
                            let message =
                                format!("concept {name}: an empty word matches everything");
                            err(&mut errors, 0, message);
                        }
                    }
                    concepts = Some((source.clone(), parsed));
                }
                Err(e) => toml_error(&mut errors, e),
            },
            MESSAGES_FILE => match toml::from_str::<MessagesFile>(&source.text) {
                Ok(parsed) => messages = Some(check_messages(&mut errors, source, &parsed)),
                Err(e) => toml_error(&mut errors, e),
            },
            name if name.ends_with(".toml") => match toml::from_str::<IntentFile>(&source.text) {
                Ok(intent) => {
                    check_intent(&mut errors, source, &intent);
                    intents.push((source.clone(), intent));
                }
                Err(e) => toml_error(&mut errors, e),
            },
            _ => {}
        }
    }
    if messages.is_none() {
        errors.push(CheckError {
            file: MESSAGES_FILE.into(),
            line: 0,
            message: "missing: the bot's own phrases (see README.md in the intents folder)".into(),
        });
    }
    if intents.is_empty() {
        errors.push(CheckError {
            file: "intents".into(),
            line: 0,
            message: "no intent files found".into(),
        });
    }
    check_unique(&mut errors, &intents);
    let concepts = concepts.map(|(_, c)| c).unwrap_or_default();
    check_concepts_known(&mut errors, &intents, &concepts);
    if plan.is_none() && errors.is_empty() {
        errors.push(CheckError {
            file: CARE_PLAN_FILE.into(),
            line: 0,
            message: "missing: the care timeline (see README.md in the intents folder)".into(),
        });
    }
    match (messages, plan) {
        (Some(messages), Some(care_plan)) if errors.is_empty() => Ok(Content {
            intents,
            messages,
            lexicon,
            concepts,
            words,
            care_plan,
        }),
        _ => Err(CheckErrors(errors)),
    }
}

/// `messages.toml`: every key known and present, each text non-empty, with only its own placeholders, short
/// enough for one Telegram message once filled, and each date or time format one chrono can render.
fn check_messages(
    errors: &mut Vec<CheckError>,
    source: &Source,
    parsed: &MessagesFile,
) -> HashMap<Key, String> {
    let mut texts = HashMap::new();
    for (name, text) in parsed {
        let Some(key) = Key::from_name(name.get_ref()) else {
            let message = format!(
                "unknown text {:?}: the bot never says it (see README.md in the intents folder)",
                name.get_ref()
            );
            push(errors, source, name.span().start, message);
            continue;
        };
        let at = text.span().start;
        check_text_with(errors, source, at, text.get_ref(), key.placeholders());
        if key.is_format()
            && let Some(problem) = format_problem(text.get_ref().trim())
        {
            push(errors, source, at, format!("{}: {problem}", key.name()));
        }
        if text.get_ref().lines().any(|line| line.starts_with(QUOTE)) {
            let message = format!(
                "{}: a line may not start with {QUOTE:?}: it marks a client's own words",
                key.name()
            );
            push(errors, source, at, message);
        }
        let longest = longest_filled(text.get_ref().trim());
        if longest > key.max_chars() {
            let message = format!(
                "{}: up to {longest} characters once filled; Telegram takes {}",
                key.name(),
                key.max_chars()
            );
            push(errors, source, at, message);
        }
        texts.insert(key, text.get_ref().trim().to_string());
    }
    let end = source.text.len();
    for key in Key::ALL {
        if !texts.contains_key(key) {
            let message = format!(
                "missing text {:?} (see README.md in the intents folder)",
                key.name()
            );
            push(errors, source, end, message);
        }
    }
    texts
}

fn check_text(errors: &mut Vec<CheckError>, source: &Source, offset: usize, text: &str) {
    check_text_with(errors, source, offset, text, &[]);
}

fn check_text_with(
    errors: &mut Vec<CheckError>,
    source: &Source,
    offset: usize,
    text: &str,
    also: &[&str],
) {
    if text.trim().is_empty() {
        errors.push(CheckError {
            file: source.name.clone(),
            line: line_of(&source.text, offset),
            message: "text is empty".into(),
        });
    }
    for name in unknown_placeholders(text, also) {
        errors.push(CheckError {
            file: source.name.clone(),
            line: line_of(&source.text, offset),
            message: format!(
                "unknown placeholder {{{name}}}; use one of {}",
                also.iter()
                    .chain(&PLACEHOLDERS)
                    .map(|p| format!("{{{p}}}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        });
    }
}

fn push(errors: &mut Vec<CheckError>, source: &Source, offset: usize, message: String) {
    errors.push(CheckError {
        file: source.name.clone(),
        line: line_of(&source.text, offset),
        message,
    });
}

fn check_intent(errors: &mut Vec<CheckError>, source: &Source, intent: &IntentFile) {
    if let Err((offset, message)) = super::review::Review::of(intent) {
        push(errors, source, offset, message);
    }
    let id = intent.id.get_ref();
    if id.is_empty()
        || !id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        push(
            errors,
            source,
            intent.id.span().start,
            format!("id {id:?}: use lowercase letters, digits and '-'"),
        );
    }
    if *intent.category.get_ref() == super::model::Category::Fallback {
        let message = "category \"fallback\" is reserved for messages.toml".to_string();
        push(errors, source, intent.category.span().start, message);
    }
    let examples = intent.examples.get_ref();
    if examples.len() < MIN_EXAMPLES {
        let message = format!(
            "examples: {} given, at least {MIN_EXAMPLES} needed",
            examples.len()
        );
        push(errors, source, intent.examples.span().start, message);
    }
    for text in examples.iter().chain(&intent.counter_examples) {
        if text.get_ref().trim().is_empty() {
            push(errors, source, text.span().start, "empty example".into());
        }
    }
    for keyword in &intent.keywords {
        let word = keyword.get_ref().trim();
        if word.is_empty() || word.contains(' ') {
            let message = format!("keyword {:?}: one word per keyword", keyword.get_ref());
            push(errors, source, keyword.span().start, message);
        }
    }
    for pattern in &intent.patterns {
        check_regex(errors, source, pattern);
    }
    let answer = intent.answer.get_ref();
    check_text(
        errors,
        source,
        answer.text.span().start,
        answer.text.get_ref(),
    );
    if let Some(general) = &answer.general {
        check_text(errors, source, general.span().start, general.get_ref());
        if intent.red_flags.is_empty() {
            let message = "answer.general is only used by intents with red flags".to_string();
            push(errors, source, general.span().start, message);
        }
    }
    for window in &answer.by_day {
        let w = window.get_ref();
        if w.to.is_some_and(|to| to < w.from) {
            let message = format!(
                "by_day: to ({}) is before from ({})",
                w.to.unwrap_or_default(),
                w.from
            );
            push(errors, source, window.span().start, message);
        }
        check_text(errors, source, w.text.span().start, w.text.get_ref());
    }
    let level = *intent.escalation.get_ref();
    if level != super::model::Level::None
        && !intent
            .red_flags
            .iter()
            .any(|f| *f.get_ref().level.get_ref() == level)
    {
        let message = format!(
            "escalation {level}: add a red flag with level {level}, or nothing can raise it"
        );
        push(errors, source, intent.escalation.span().start, message);
    }
    for flag in &intent.red_flags {
        let f = flag.get_ref();
        let id = f.id.get_ref();
        let at = flag.span().start;
        if f.patterns.is_empty() && f.concepts.is_empty() {
            push(
                errors,
                source,
                at,
                format!("red flag {id}: no patterns or concepts"),
            );
        }
        if f.concepts.iter().any(|all| all.is_empty()) {
            push(
                errors,
                source,
                at,
                format!("red flag {id}: an empty list of concepts"),
            );
        }
        if f.label.trim().is_empty() {
            push(errors, source, at, format!("red flag {id}: empty label"));
        }
        if *f.level.get_ref() == super::model::Level::None {
            push(
                errors,
                source,
                f.level.span().start,
                format!("red flag {id}: level none never escalates"),
            );
        }
        if let (Some(from), Some(to)) = (f.from_day, f.to_day)
            && to < from
        {
            push(
                errors,
                source,
                at,
                format!("red flag {id}: to_day before from_day"),
            );
        }
        for pattern in &f.patterns {
            check_regex(errors, source, pattern);
        }
    }
}

/// A red flag's concepts must be defined in `concepts.toml`.
fn check_concepts_known(
    errors: &mut Vec<CheckError>,
    intents: &[(Source, IntentFile)],
    concepts: &ConceptsFile,
) {
    for cause in &concepts.causes {
        if !concepts.concepts.contains_key(cause) {
            errors.push(CheckError {
                file: CONCEPTS_FILE.into(),
                line: 1,
                message: format!("causes: unknown concept {cause:?}"),
            });
        }
    }
    for (source, intent) in intents {
        for flag in &intent.red_flags {
            for name in flag.get_ref().concepts.iter().flatten() {
                if !concepts.concepts.contains_key(name.get_ref()) {
                    let message = format!(
                        "red flag {}: unknown concept {:?} (define it in {CONCEPTS_FILE})",
                        flag.get_ref().id.get_ref(),
                        name.get_ref()
                    );
                    push(errors, source, name.span().start, message);
                }
            }
        }
    }
}

fn check_regex(errors: &mut Vec<CheckError>, source: &Source, pattern: &toml::Spanned<String>) {
    // Parsed, not compiled: the engine compiles each pattern when it first needs it.
    if let Err(e) = regex_syntax::Parser::new().parse(pattern.get_ref()) {
        let detail = e.to_string();
        let last = detail.lines().last().unwrap_or_default().trim().to_string();
        push(
            errors,
            source,
            pattern.span().start,
            format!("pattern {:?} does not compile: {last}", pattern.get_ref()),
        );
    }
}

/// Ids, red-flag ids and examples must be unique across all files.
fn check_unique(errors: &mut Vec<CheckError>, intents: &[(Source, IntentFile)]) {
    let mut ids: HashMap<String, String> = HashMap::new();
    let mut flags: HashMap<String, String> = HashMap::new();
    let mut examples: HashMap<String, String> = HashMap::new();
    for (source, intent) in intents {
        let id = intent.id.get_ref().clone();
        if let Some(other) = ids.insert(id.clone(), source.name.clone()) {
            push(
                errors,
                source,
                intent.id.span().start,
                format!("duplicate id {id:?} (also in {other})"),
            );
        }
        for flag in &intent.red_flags {
            let flag_id = flag.get_ref().id.get_ref().clone();
            if let Some(other) = flags.insert(flag_id.clone(), source.name.clone()) {
                let message = format!("duplicate red flag id {flag_id:?} (also in {other})");
                push(errors, source, flag.get_ref().id.span().start, message);
            }
        }
        for example in intent.examples.get_ref() {
            let key = example.get_ref().trim().to_lowercase();
            match examples.get(&key) {
                Some(other) if other != &id => {
                    let message = format!(
                        "example {:?} also belongs to intent {other}",
                        example.get_ref()
                    );
                    push(errors, source, example.span().start, message);
                }
                Some(_) => {
                    let message = format!("example {:?} is listed twice", example.get_ref());
                    push(errors, source, example.span().start, message);
                }
                None => {
                    examples.insert(key, id.clone());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The errors `aftercare check` gives for one file `name` holding `text` (none if it passes).
    fn errors_of(name: &str, text: &str) -> Vec<CheckError> {
        let sources = [Source {
            name: name.into(),
            text: text.into(),
        }];
        parse(&sources)
            .err()
            .map(|CheckErrors(errors)| errors)
            .unwrap_or_default()
    }

    #[test]
    fn a_lexicon_key_longer_than_the_normaliser_reads_is_refused_with_its_line() {
        let text = "[replace]\n\"u\" = \"you\"\n\"as if i got burnt badly\" = \"sunburn\"\n";
        let errors = errors_of(LEXICON_FILE, text);
        assert!(
            errors
                .iter()
                .any(|e| e.line == 3 && e.message.contains("as if i got burnt badly")),
            "{errors:?}"
        );
    }

    #[test]
    fn a_cause_that_is_not_a_concept_is_refused() {
        let text = "causes = [\"after-product\"]\n[concepts]\nyellow = [\"yellow\"]\n";
        let errors = errors_of(CONCEPTS_FILE, text);
        assert!(
            errors.iter().any(|e| e.message.contains("after-product")),
            "{errors:?}"
        );
    }
}
