//! Concepts: the words that mean one thing for triage ("yellow", "golden", "honey"), matched on the
//! message's tokens in any inflection. A red flag built from concepts fires when all of them are present and
//! affirmed within one clause (or, for a combination, anywhere in the message), in any order: "crusty and
//! yellow" and "yellow crust" are one finding.

use rustc_hash::FxHashMap;
use std::collections::BTreeMap;

/// Prefix entries are looked up by up to this many leading letters of a word.
const PREFIX_KEY: usize = 3;

/// A word or phrase of a concept, split into tokens; the last token may be a prefix (`swell*`).
struct Entry {
    concept: usize,
    rest: Vec<String>,
    last_is_prefix: bool,
}

/// Words that only strengthen what they stand in: inside a phrase they are skipped, so "talk not clear" is
/// also "talk also not clear" and "hand weak" is "hand very weak".
const INTENSIFIERS: &[&str] = &[
    "very", "really", "so", "also", "too", "quite", "super", "well", "proper",
];

/// At most this many of them inside one phrase.
const MOST_SKIPPED: usize = 2;

impl Entry {
    /// Where the phrase starting at `position` ends, if the words after it are the phrase's other tokens, with
    /// intensifiers between them skipped.
    fn match_rest(&self, words: &[&str], position: usize) -> Option<usize> {
        let mut at = position;
        let mut skipped = 0;
        for (offset, token) in self.rest.iter().enumerate() {
            at += 1;
            let is_last = offset + 1 == self.rest.len();
            let fits = |word: &str| {
                if self.last_is_prefix && is_last {
                    word.starts_with(token.as_str())
                } else {
                    word == token
                }
            };
            while let Some(word) = words.get(at) {
                if fits(word) {
                    break;
                }
                if !INTENSIFIERS.contains(word) || skipped == MOST_SKIPPED {
                    return None;
                }
                skipped += 1;
                at += 1;
            }
            words.get(at)?;
        }
        Some(at)
    }
}

pub struct Concepts {
    names: Vec<String>,
    /// By concept index: whether it names a cause (`causes` in concepts.toml).
    causes: Vec<bool>,
    /// Entries keyed by their first token (exact).
    exact: FxHashMap<String, Vec<Entry>>,
    /// One-token prefix entries (`swell*`), by their first three letters (shorter ones under themselves).
    prefixes: FxHashMap<String, Vec<(String, usize)>>,
}

/// Where each concept occurs in a message: token spans, by concept index.
pub struct Occurrences(Vec<Vec<(usize, usize)>>);

impl Occurrences {
    pub fn of(&self, concept: usize) -> &[(usize, usize)] {
        self.0.get(concept).map_or(&[][..], |v| v.as_slice())
    }
}

impl Concepts {
    pub fn new(definitions: &BTreeMap<String, Vec<String>>, causes: &[String]) -> Concepts {
        let mut names = Vec::new();
        let mut exact: FxHashMap<String, Vec<Entry>> = FxHashMap::default();
        let mut prefixes: FxHashMap<String, Vec<(String, usize)>> = FxHashMap::default();
        for (index, (name, words)) in definitions.iter().enumerate() {
            names.push(name.clone());
            for word in words {
                let mut tokens: Vec<String> =
                    word.split_whitespace().map(|t| t.to_lowercase()).collect();
                let Some(last) = tokens.last_mut() else {
                    continue;
                };
                let last_is_prefix = last.ends_with('*');
                if last_is_prefix {
                    last.pop();
                }
                if tokens.len() == 1 && last_is_prefix {
                    let prefix = tokens.remove(0);
                    let key: String = prefix.chars().take(PREFIX_KEY).collect();
                    prefixes.entry(key).or_default().push((prefix, index));
                    continue;
                }
                let first = tokens.remove(0);
                exact.entry(first).or_default().push(Entry {
                    concept: index,
                    rest: tokens,
                    last_is_prefix,
                });
            }
        }
        Concepts {
            causes: names.iter().map(|name| causes.contains(name)).collect(),
            names,
            exact,
            prefixes,
        }
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    pub fn index(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    /// Whether the concept names a cause, which counts in a combination when told in the past.
    pub fn is_cause(&self, index: usize) -> bool {
        self.causes.get(index).copied().unwrap_or(false)
    }

    pub fn name(&self, index: usize) -> &str {
        &self.names[index]
    }

    /// Every occurrence of every concept among `words` (the message's tokens).
    pub fn find(&self, words: &[&str]) -> Occurrences {
        let mut found = vec![Vec::new(); self.names.len()];
        for (position, word) in words.iter().enumerate() {
            for length in 1..=PREFIX_KEY.min(word.len()) {
                if !word.is_char_boundary(length) {
                    continue;
                }
                let Some(entries) = self.prefixes.get(&word[..length]) else {
                    continue;
                };
                for (prefix, concept) in entries {
                    if word.starts_with(prefix.as_str()) {
                        found[*concept].push((position, position));
                    }
                }
            }
            let Some(entries) = self.exact.get(*word) else {
                continue;
            };
            for entry in entries {
                let single_prefix_ok = !entry.rest.is_empty() || !entry.last_is_prefix;
                if !single_prefix_ok {
                    continue;
                }
                if let Some(end) = entry.match_rest(words, position) {
                    found[entry.concept].push((position, end));
                }
            }
        }
        for spans in &mut found {
            spans.dedup();
        }
        Occurrences(found)
    }
}

/// One occurrence for each part, no two sharing a word ("killing" is not both severe and a pain), if
/// there is such a choice. Parts and occurrences are few, so a plain search does.
pub fn assign(candidates: &[Vec<(usize, usize)>]) -> Option<Vec<(usize, usize)>> {
    fn search(candidates: &[Vec<(usize, usize)>], chosen: &mut Vec<(usize, usize)>) -> bool {
        let Some(options) = candidates.get(chosen.len()) else {
            return true;
        };
        for &(first, last) in options.iter().take(8) {
            if chosen.iter().any(|(a, b)| *a <= last && first <= *b) {
                continue;
            }
            chosen.push((first, last));
            if search(candidates, chosen) {
                return true;
            }
            chosen.pop();
        }
        false
    }
    let mut chosen = Vec::with_capacity(candidates.len());
    search(candidates, &mut chosen).then_some(chosen)
}

/// The clauses of a message as token ranges: a finding's parts must stand in one of them.
pub fn clauses(words: &[&str]) -> Vec<(usize, usize)> {
    let mut clauses = Vec::new();
    let mut start = 0;
    for (index, word) in words.iter().enumerate() {
        if matches!(
            *word,
            "." | "?" | "!" | ";" | "but" | "although" | "though" | "however" | "whereas"
        ) {
            if index > start {
                clauses.push((start, index - 1));
            }
            start = index + 1;
        }
    }
    if start < words.len() {
        clauses.push((start, words.len() - 1));
    }
    clauses
}

#[cfg(test)]
mod tests {
    use super::*;

    fn concepts() -> Concepts {
        let mut defs = BTreeMap::new();
        defs.insert(
            "yellow".to_string(),
            vec!["yellow*".into(), "golden".into(), "honey".into()],
        );
        defs.insert("crust".to_string(), vec!["crust*".into(), "scab*".into()]);
        defs.insert(
            "tight-throat".to_string(),
            vec!["throat tight*".into(), "tight throat".into()],
        );
        Concepts::new(&defs, &[])
    }

    fn spans(text: &str, concept: &str) -> Vec<(usize, usize)> {
        let c = concepts();
        let words: Vec<&str> = text.split(' ').collect();
        c.find(&words).of(c.index(concept).unwrap()).to_vec()
    }

    #[test]
    fn inflections_and_any_order() {
        assert_eq!(spans("crusty and yellowish", "yellow"), vec![(2, 2)]);
        assert_eq!(spans("crusty and yellowish", "crust"), vec![(0, 0)]);
        assert_eq!(spans("honey scabs", "crust"), vec![(1, 1)]);
        assert!(spans("a mellow day", "yellow").is_empty());
    }

    #[test]
    fn phrases_span_their_tokens() {
        assert_eq!(
            spans("my throat tightening up", "tight-throat"),
            vec![(1, 2)]
        );
        assert_eq!(spans("a tight throat", "tight-throat"), vec![(1, 2)]);
        assert!(spans("my throat", "tight-throat").is_empty());
    }

    #[test]
    fn intensifiers_inside_a_phrase_are_skipped() {
        assert_eq!(
            spans("my throat very tight now", "tight-throat"),
            vec![(1, 3)]
        );
        assert_eq!(
            spans("throat really so tight", "tight-throat"),
            vec![(0, 3)]
        );
        // Only intensifiers, and only inside: "throat is tight" is another phrase's business.
        assert!(spans("throat is tight", "tight-throat").is_empty());
        assert!(spans("throat very", "tight-throat").is_empty());
    }

    #[test]
    fn each_part_gets_words_of_its_own() {
        // "thick" could be either part; the other occurrence must be used for the first.
        assert_eq!(
            assign(&[vec![(5, 5), (9, 9)], vec![(5, 5)]]),
            Some(vec![(9, 9), (5, 5)])
        );
        assert_eq!(assign(&[vec![(5, 5)], vec![(5, 5)]]), None);
    }

    #[test]
    fn clauses_end_at_punctuation_and_but() {
        let words: Vec<&str> = "no pus but yellow crust . ok".split(' ').collect();
        assert_eq!(clauses(&words), vec![(0, 1), (3, 4), (6, 6)]);
    }
}
