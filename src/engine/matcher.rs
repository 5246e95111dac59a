//! Picks the intent a message is about: TF-IDF cosine against every example phrasing (best example per
//! intent), plus evidence from the intent's keywords and patterns, minus evidence from its counter-examples.
//! Words the intents never use stay in the query, so a message mostly about something else scores low.

use rust_stemmers::{Algorithm, Stemmer};
use rustc_hash::FxHashMap;
use std::collections::HashMap;

const STOP_WORDS: &[&str] = &[
    "a", "an", "the", "i", "im", "me", "my", "is", "am", "it", "its", "to", "of", "and", "or",
    "so", "just", "really", "very", "bit", "abit", "um", "oh", "ah", "lol", "that", "this", "be",
    "been",
];

pub struct Matcher {
    stemmer: Stemmer,
    terms: FxHashMap<String, u32>,
    term_names: Vec<String>,
    /// Words seen while building, straight to their term (or None for a stop word): no stemming per query.
    word_terms: FxHashMap<String, Option<u32>>,
    idf: Vec<f32>,
    unknown_idf: f32,
    /// Every example and counter-example as a unit TF-IDF vector, sorted by term.
    docs: Vec<Doc>,
    postings: Vec<Vec<(u32, f32)>>,
    keywords: Vec<Vec<u32>>,
    /// Term → the intents that list it as a keyword.
    keyword_intents: Vec<Vec<u32>>,
    intent_count: usize,
}

struct Doc {
    intent: u32,
    counter: bool,
    text: String,
}

/// How well one intent fits a message. Example indices resolve to text with [`Matcher::example_text`].
#[derive(Debug, Clone)]
pub struct Candidate {
    pub intent: usize,
    pub score: f32,
    /// The closest example and its similarity.
    pub example: Option<(u32, f32)>,
    /// The closest counter-example, when it is closer than any example.
    pub counter: Option<(u32, f32)>,
    pub keywords: usize,
    /// Whether one of the intent's patterns matched (set by the engine).
    pub pattern_hit: bool,
}

/// A query term: a known term id, or an unknown word.
enum Term<'a> {
    Known(u32),
    Unknown(&'a str),
}

impl Matcher {
    /// `intents[i]` is (examples, counter-examples, keywords), all already normalised.
    pub fn new(intents: &[(Vec<String>, Vec<String>, Vec<String>)]) -> Matcher {
        let stemmer = Stemmer::create(Algorithm::English);
        let mut terms: FxHashMap<String, u32> = FxHashMap::default();
        let mut doc_terms: Vec<Vec<u32>> = Vec::new();
        let mut docs = Vec::new();
        let mut keywords: Vec<Vec<u32>> = Vec::new();
        for (index, (examples, counters, words)) in intents.iter().enumerate() {
            for (text, counter) in examples
                .iter()
                .map(|t| (t, false))
                .chain(counters.iter().map(|t| (t, true)))
            {
                let ids = stems(&stemmer, text)
                    .into_iter()
                    .map(|s| intern(&mut terms, s))
                    .collect();
                doc_terms.push(ids);
                docs.push(Doc {
                    intent: index as u32,
                    counter,
                    text: text.clone(),
                });
            }
            keywords.push(
                words
                    .iter()
                    .flat_map(|w| stems(&stemmer, w))
                    .map(|s| intern(&mut terms, s))
                    .collect(),
            );
        }
        let mut word_terms = FxHashMap::default();
        for (examples, counters, words) in intents {
            for word in examples
                .iter()
                .chain(counters)
                .chain(words)
                .flat_map(|t| t.split(' '))
            {
                if !word_terms.contains_key(word) {
                    let term = stem_word(&stemmer, word).and_then(|s| terms.get(&s).copied());
                    word_terms.insert(word.to_string(), term);
                }
            }
        }
        let mut term_names = vec![String::new(); terms.len()];
        for (name, id) in &terms {
            term_names[*id as usize] = name.clone();
        }
        // Document frequency over the positive examples only: counter-examples must not make words common.
        let positives = docs.iter().filter(|d| !d.counter).count().max(1) as f32;
        let mut df = vec![0f32; terms.len()];
        for (ids, doc) in doc_terms.iter().zip(&docs) {
            if doc.counter {
                continue;
            }
            let mut seen = ids.clone();
            seen.sort_unstable();
            seen.dedup();
            for id in seen {
                df[id as usize] += 1.0;
            }
        }
        let idf: Vec<f32> = df
            .iter()
            .map(|&n| ((positives + 1.0) / (n + 0.5)).ln().max(0.1))
            .collect();
        let unknown_idf = ((positives + 1.0) / 0.5).ln();
        let mut postings: Vec<Vec<(u32, f32)>> = vec![Vec::new(); terms.len()];
        for (doc_index, ids) in doc_terms.iter().enumerate() {
            for (term, weight) in unit_vector(ids, &idf) {
                postings[term as usize].push((doc_index as u32, weight));
            }
        }
        let mut keyword_intents: Vec<Vec<u32>> = vec![Vec::new(); terms.len()];
        // One entry per keyword as written: "touch", "touching" and "touched" all count for a client who
        // wrote "touching" (the thresholds were tuned on that meaning).
        for (intent, words) in keywords.iter().enumerate() {
            for term in words {
                keyword_intents[*term as usize].push(intent as u32);
            }
        }
        Matcher {
            stemmer,
            keyword_intents,
            terms,
            term_names,
            word_terms,
            idf,
            unknown_idf,
            docs,
            postings,
            keywords,
            intent_count: intents.len(),
        }
    }

    fn query_terms<'a>(&self, text: &'a str) -> Vec<Term<'a>> {
        let mut out = Vec::with_capacity(16);
        for word in text.split(' ') {
            // Words the examples use are looked up as they are (a stop word among them maps to nothing); only
            // an unseen word is checked against the stop words and stemmed.
            match self.word_terms.get(word) {
                Some(Some(id)) => out.push(Term::Known(*id)),
                Some(None) => {}
                None if word.is_empty()
                    || STOP_WORDS.contains(&word)
                    || !word.chars().any(|c| c.is_alphanumeric()) => {}
                None => {
                    match stem_word(&self.stemmer, word).and_then(|s| self.terms.get(&s).copied()) {
                        Some(id) => out.push(Term::Known(id)),
                        None => out.push(Term::Unknown(word)),
                    }
                }
            }
        }
        out
    }

    /// Every intent with any evidence, best first. `pattern_hits[i]` says whether intent i's patterns matched.
    pub fn rank(&self, text: &str, pattern_hits: &[bool]) -> Vec<Candidate> {
        let terms = self.query_terms(text);
        // Term frequencies: queries are short, so a small vector beats a map.
        let mut known: Vec<(u32, u32)> = Vec::with_capacity(terms.len());
        let mut unknown: Vec<(&str, u32)> = Vec::new();
        for term in &terms {
            match term {
                Term::Known(id) => match known.iter_mut().find(|(k, _)| k == id) {
                    Some((_, n)) => *n += 1,
                    None => known.push((*id, 1)),
                },
                Term::Unknown(w) => match unknown.iter_mut().find(|(k, _)| k == w) {
                    Some((_, n)) => *n += 1,
                    None => unknown.push((w, 1)),
                },
            }
        }
        let tf = |n: u32| 1.0 + (n as f32).ln();
        let query: Vec<(u32, f32)> = known
            .iter()
            .map(|(id, n)| (*id, tf(*n) * self.idf[*id as usize]))
            .collect();
        let unknown_weight: f32 = unknown
            .iter()
            .map(|(_, n)| (tf(*n) * self.unknown_idf).powi(2))
            .sum();
        let norm = (query.iter().map(|(_, w)| w * w).sum::<f32>() + unknown_weight).sqrt();

        let mut best: Vec<Option<(u32, f32)>> = vec![None; self.intent_count];
        let mut counter: Vec<Option<(u32, f32)>> = vec![None; self.intent_count];
        if norm > 0.0 {
            let mut scores = vec![0f32; self.docs.len()];
            for (term, weight) in &query {
                let weight = weight / norm;
                for (doc, doc_weight) in &self.postings[*term as usize] {
                    scores[*doc as usize] += weight * doc_weight;
                }
            }
            // In document order, so that ties always resolve to the first example.
            for (doc, &score) in scores.iter().enumerate() {
                if score <= 0.0 {
                    continue;
                }
                let d = &self.docs[doc];
                let slot = if d.counter {
                    &mut counter[d.intent as usize]
                } else {
                    &mut best[d.intent as usize]
                };
                if slot.is_none_or(|(_, s)| score > s) {
                    *slot = Some((doc as u32, score));
                }
            }
        }

        let mut keyword_counts = vec![0usize; self.intent_count];
        for (term, _) in &known {
            for intent in &self.keyword_intents[*term as usize] {
                keyword_counts[*intent as usize] += 1;
            }
        }
        let mut candidates = Vec::new();
        for intent in 0..self.intent_count {
            let example = best[intent].map_or(0.0, |(_, s)| s);
            let matched_keywords = keyword_counts[intent];
            let pattern = pattern_hits.get(intent).copied().unwrap_or(false);
            if example <= 0.0 && matched_keywords == 0 && !pattern {
                continue;
            }
            let mut score = example
                + (0.12 * matched_keywords as f32).min(0.24)
                + if pattern { 0.3 } else { 0.0 };
            // A counter-example counts against the intent only for what it shares with the message beyond the
            // closest example: "can i go to rugby training tomorrow" shares only "can i go … tomorrow" with "can i
            // go swimming tomorrow", and the example "can i go to the gym tomorrow" has those words too.
            // Postings are in document order.
            let holds = |term: u32, doc: u32| {
                self.postings[term as usize]
                    .binary_search_by_key(&doc, |(d, _)| *d)
                    .is_ok()
            };
            let counter_tells = |against_doc: u32| {
                known.iter().any(|(term, _)| {
                    holds(*term, against_doc)
                        && !best[intent].is_some_and(|(example_doc, _)| holds(*term, example_doc))
                })
            };
            let against = counter[intent].map_or(0.0, |(_, s)| s);
            let countered =
                against > example && counter[intent].is_some_and(|(doc, _)| counter_tells(doc));
            if countered {
                score -= 0.25 + (against - example);
            }
            candidates.push(Candidate {
                intent,
                score,
                example: best[intent],
                counter: counter[intent].filter(|_| countered),
                keywords: matched_keywords,
                pattern_hit: false,
            });
        }
        candidates
            .sort_unstable_by(|a, b| b.score.total_cmp(&a.score).then(a.intent.cmp(&b.intent)));
        candidates
    }

    pub fn example_text(&self, doc: u32) -> &str {
        &self.docs[doc as usize].text
    }

    /// The positions among `words` (the message's tokens) that are keywords of the intent: where ConText
    /// looks to tell a report ("my eye is swollen shut") from a question about the topic.
    pub fn keyword_positions(&self, intent: usize, words: &[&str]) -> Vec<usize> {
        let keywords = &self.keywords[intent];
        words
            .iter()
            .enumerate()
            .filter(|(_, word)| {
                let term = match self.word_terms.get(**word) {
                    Some(id) => *id,
                    // A stem begins like its word: only a word that starts like a keyword is stemmed.
                    None if keywords.iter().any(|k| {
                        let stem = self.term_names[*k as usize].as_bytes();
                        word.as_bytes().starts_with(&stem[..stem.len().min(3)])
                    }) =>
                    {
                        stem_word(&self.stemmer, word).and_then(|s| self.terms.get(&s).copied())
                    }
                    None => None,
                };
                term.is_some_and(|t| keywords.contains(&t))
            })
            .map(|(position, _)| position)
            .collect()
    }

    /// The intent's keywords found in the text (as stems), for the explanation.
    pub fn matched_keywords(&self, intent: usize, text: &str) -> Vec<String> {
        let terms = self.query_terms(text);
        self.keywords[intent]
            .iter()
            .filter(|k| {
                terms
                    .iter()
                    .any(|t| matches!(t, Term::Known(id) if id == *k))
            })
            .map(|k| self.term_names[*k as usize].clone())
            .collect()
    }
}

fn intern(terms: &mut FxHashMap<String, u32>, stem: String) -> u32 {
    let next = terms.len() as u32;
    *terms.entry(stem).or_insert(next)
}

fn stem_word(stemmer: &Stemmer, word: &str) -> Option<String> {
    if word.is_empty() || STOP_WORDS.contains(&word) || !word.chars().any(|c| c.is_alphanumeric()) {
        return None;
    }
    Some(stemmer.stem(word).into_owned())
}

fn stems(stemmer: &Stemmer, text: &str) -> Vec<String> {
    text.split(' ')
        .filter_map(|w| stem_word(stemmer, w))
        .collect()
}

fn unit_vector(ids: &[u32], idf: &[f32]) -> Vec<(u32, f32)> {
    let mut counts: HashMap<u32, u32> = HashMap::new();
    for id in ids {
        *counts.entry(*id).or_default() += 1;
    }
    let mut vector: Vec<(u32, f32)> = counts
        .into_iter()
        .map(|(id, n)| (id, (1.0 + (n as f32).ln()) * idf[id as usize]))
        .collect();
    let norm = vector.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
    if norm > 0.0 {
        for (_, w) in &mut vector {
            *w /= norm;
        }
    }
    vector.sort_unstable_by_key(|(id, _)| *id);
    vector
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matcher() -> Matcher {
        let intent = |examples: &[&str], counters: &[&str], keywords: &[&str]| {
            (
                examples.iter().map(|s| s.to_string()).collect(),
                counters.iter().map(|s| s.to_string()).collect(),
                keywords.iter().map(|s| s.to_string()).collect(),
            )
        };
        Matcher::new(&[
            intent(
                &["when can i wear makeup", "can i put foundation on tomorrow"],
                &["can i wear sunscreen tomorrow"],
                &["makeup", "foundation"],
            ),
            intent(
                &["when can i use sunscreen", "do i need spf tomorrow"],
                &[],
                &["sunscreen", "spf"],
            ),
        ])
    }

    #[test]
    fn best_example_wins() {
        let m = matcher();
        let ranked = m.rank("can i wear foundation tomorrow", &[false, false]);
        assert_eq!(ranked[0].intent, 0);
        assert!(
            m.matched_keywords(0, "can i wear foundation tomorrow")
                .contains(&"foundat".to_string())
        );
    }

    #[test]
    fn counter_examples_push_an_intent_down() {
        let ranked = matcher().rank("can i wear sunscreen tomorrow", &[false, false]);
        assert_eq!(ranked[0].intent, 1);
        let makeup = ranked
            .iter()
            .find(|c| c.intent == 0)
            .expect("makeup ranked");
        assert!(makeup.counter.is_some());
    }

    #[test]
    fn unknown_words_dilute_the_score() {
        let m = matcher();
        let focused = m.rank("makeup tomorrow", &[false, false])[0].score;
        let diluted = m.rank("weather forecast football makeup tomorrow", &[false, false])[0].score;
        assert!(diluted < focused);
        assert!(m.rank("qwerty asdf", &[false, false]).is_empty());
    }
}
