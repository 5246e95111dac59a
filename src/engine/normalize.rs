//! Turns a message as typed on a phone into the normalised text that patterns and the matcher see.
//!
//! Lower case, apostrophes dropped, emoji removed, sentence punctuation kept as tokens (negation scopes end
//! there), the curated lexicon applied, and unknown words corrected towards the vocabulary of the intent files.

use rustc_hash::FxHashMap;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::OnceLock;

/// A word or a punctuation mark in the normalised text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub text: String,
    /// Byte range in [`Normalized::text`].
    pub start: usize,
    pub end: usize,
}

impl Token {
    pub fn is_punct(&self) -> bool {
        self.text.len() == 1 && self.text.as_bytes()[0].is_ascii_punctuation()
    }
}

#[derive(Debug, Clone, Default)]
pub struct Normalized {
    /// Tokens joined by single spaces.
    pub text: String,
    pub tokens: Vec<Token>,
    /// Words changed by typo correction, `(typed, corrected)`, for the explanation.
    pub corrections: Vec<(String, String)>,
}

impl Normalized {
    fn push(&mut self, word: String) {
        if !self.text.is_empty() {
            self.text.push(' ');
        }
        let start = self.text.len();
        self.text.push_str(&word);
        self.tokens.push(Token {
            text: word,
            start,
            end: self.text.len(),
        });
    }

    /// The index of the token that contains byte `offset` of the text (or the next one).
    pub fn token_at(&self, offset: usize) -> usize {
        self.tokens.partition_point(|t| t.end <= offset)
    }

    pub fn words(&self) -> impl Iterator<Item = &str> {
        self.tokens
            .iter()
            .filter(|t| !t.is_punct())
            .map(|t| t.text.as_str())
    }
}

const MAX_INPUT_CHARS: usize = 4_096;
/// The longest lexicon key, in words (`aftercare check` refuses a longer one).
pub const MAX_PHRASE_WORDS: usize = 5;

pub struct Normalizer {
    /// Lexicon entries keyed by their words; the value is the replacement's words (possibly none).
    lexicon: FxHashMap<Vec<String>, Vec<String>>,
    /// First words of the lexicon's multi-word entries, each with the most words of a phrase it starts: only
    /// these need the longer lookups, and no more of them than its phrases are long ("my" starts "my ma" only).
    phrase_starts: FxHashMap<String, usize>,
    english: WordList,
    domain: Vec<String>,
    /// Longer words cannot be within two edits of a domain word: they are never corrected, so a made-up
    /// 260-letter word costs nothing.
    longest_domain_word: usize,
    domain_frequency: FxHashMap<String, u32>,
    /// SymSpell: every string reachable by deleting up to two letters of a domain word, as 32 bits of its hash, beside each
    /// domain word (its index) it comes from, sorted. Built on the first unknown word: a message of known words
    /// never needs it. The map from the strings to their words it replaces held about 5 MB (heaptrack); with these
    /// pairs, `ask --json` over the labelled `none` questions peaks 3.7 MB lower. Two strings with one hash only
    /// bring a word more to measure, and every word found is measured.
    deletions: OnceLock<Vec<(u32, u32)>>,
}

impl Normalizer {
    /// `domain_words` are the words the intent files use, with how often they occur.
    pub fn new(
        lexicon: &[(String, String)],
        english_words: &str,
        domain_words: HashMap<String, u32>,
    ) -> Normalizer {
        let mut map = FxHashMap::default();
        for (from, to) in lexicon {
            let key: Vec<String> = from.split_whitespace().map(str::to_lowercase).collect();
            if key.is_empty() {
                continue;
            }
            map.insert(
                key,
                to.split_whitespace()
                    .map(str::to_lowercase)
                    .collect::<Vec<_>>(),
            );
        }
        let mut phrase_starts: FxHashMap<String, usize> = FxHashMap::default();
        for key in map.keys().filter(|k| k.len() > 1) {
            let longest = phrase_starts.entry(key[0].clone()).or_insert(1);
            *longest = (*longest).max(key.len()).min(MAX_PHRASE_WORDS);
        }
        let english = WordList::new(english_words);

        let mut domain: Vec<String> = domain_words
            .keys()
            .filter(|w| w.chars().count() >= 3 && w.chars().all(|c| c.is_alphabetic()))
            .cloned()
            .collect();
        domain.sort();
        Normalizer {
            lexicon: map,
            phrase_starts,
            english,
            longest_domain_word: domain.iter().map(|w| w.chars().count()).max().unwrap_or(0),
            domain,
            domain_frequency: domain_words.into_iter().collect(),
            deletions: OnceLock::new(),
        }
    }

    fn deletions(&self) -> &[(u32, u32)] {
        self.deletions.get_or_init(|| {
            let mut deletions: Vec<(u32, u32)> = Vec::new();
            for (index, word) in self.domain.iter().enumerate() {
                let index = index as u32;
                for_each_deletion(word, |variant| {
                    deletions.push((variant_hash(variant), index))
                });
            }
            deletions.sort_unstable();
            deletions.dedup();
            deletions.shrink_to_fit();
            deletions
        })
    }

    pub fn is_known(&self, word: &str) -> bool {
        self.english.contains(word) || self.domain_frequency.contains_key(word)
    }

    pub fn normalize(&self, input: &str) -> Normalized {
        let mut raw = split_raw(without_attachment_note(input));
        let mut words: Vec<String> = Vec::with_capacity(raw.len());
        let mut i = 0;
        'outer: while i < raw.len() {
            let longest = self.phrase_starts.get(&raw[i]).copied().unwrap_or(1);
            for len in (1..=longest.min(raw.len() - i)).rev() {
                if let Some(replacement) = self.lexicon.get(&raw[i..i + len]) {
                    words.extend(replacement.iter().cloned());
                    i += len;
                    continue 'outer;
                }
            }
            // Lookups only look ahead of `i`: the word can move rather than be copied.
            words.push(std::mem::take(&mut raw[i]));
            i += 1;
        }

        let mut out = Normalized::default();
        for word in words {
            if let Some((tense, verb)) = self.prefixed_english_verb(&word) {
                let verb = verb.to_string();
                out.corrections.push((word, format!("{tense} {verb}")));
                out.push(tense.to_string());
                out.push(verb);
                continue;
            }
            let word = match self.correct(&word) {
                Some(fixed) => {
                    out.corrections.push((word, fixed.clone()));
                    fixed
                }
                None => word,
            };
            out.push(word);
        }
        out
    }

    /// Sheng and Swahili-speakers' English put a Swahili tense on an English word: "inaspread" (is spreading),
    /// "imeswell" (has swollen), "anavomit". Read as the tense and the word, when the word is English.
    fn prefixed_english_verb<'w>(&self, word: &'w str) -> Option<(&'static str, &'w str)> {
        const TENSES: [(&str, &str); 4] =
            [("ina", "is"), ("ana", "is"), ("ime", "has"), ("ame", "has")];
        if !word.chars().all(|c| c.is_ascii_alphabetic()) || self.is_known(word) {
            return None;
        }
        TENSES.iter().find_map(|&(prefix, tense)| {
            let verb = word.strip_prefix(prefix)?;
            (verb.len() >= 4 && self.english.contains(verb)).then_some((tense, verb))
        })
    }

    /// The domain word an unknown word was most likely meant to be, if any is close enough.
    fn correct(&self, word: &str) -> Option<String> {
        let length = word.chars().count();
        if length < 4 || !word.chars().all(|c| c.is_ascii_alphabetic()) || self.is_known(word) {
            return None;
        }
        // Letters held for feeling ("itchyyy", "sooo swollen"): the word with each run of a letter cut to two
        // or to one, when that is a word.
        if let Some(held) = [2, 1]
            .into_iter()
            .map(|keep| without_held_letters(word, keep))
            .find(|shorter| shorter.len() < word.len() && self.is_known(shorter))
        {
            return Some(held);
        }
        // The dropped g of many Englishes ("killin me", "it keeps comin back"): a word the lists do not know
        // whose form with the g they do.
        if length >= 5 && word.ends_with("in") {
            let with_g = format!("{word}g");
            if self.is_known(&with_g) {
                return Some(with_g);
            }
        }
        let max_distance = if length >= 6 { 2 } else { 1 };
        if length > self.longest_domain_word + max_distance {
            return None;
        }
        // The word is ASCII letters here, so its deletions are byte deletions: each is looked up from one
        // reused buffer, and a domain word reached by several of them is measured once.
        let deletions = self.deletions();
        let mut found: Vec<u32> = Vec::new();
        let mut look_up = |variant: &str| {
            let hash = variant_hash(variant);
            let first = deletions.partition_point(|&(key, _)| key < hash);
            let owners = deletions[first..]
                .iter()
                .take_while(|&&(key, _)| key == hash);
            found.extend(owners.map(|&(_, index)| index));
        };
        look_up(word);
        let mut variant = String::with_capacity(word.len());
        for first in 0..word.len() {
            variant.clear();
            variant.push_str(&word[..first]);
            variant.push_str(&word[first + 1..]);
            look_up(&variant);
            if max_distance < 2 {
                continue;
            }
            for second in first + 1..word.len() {
                variant.clear();
                variant.push_str(&word[..first]);
                variant.push_str(&word[first + 1..second]);
                variant.push_str(&word[second + 1..]);
                look_up(&variant);
            }
        }
        found.sort_unstable();
        found.dedup();
        let mut best: Option<(usize, u32, usize)> = None;
        for index in found {
            let candidate = &self.domain[index as usize];
            // No fewer edits than the difference in length.
            if candidate.is_ascii() && candidate.len().abs_diff(word.len()) > max_distance {
                continue;
            }
            let distance = edit_distance(word, candidate);
            if distance > max_distance {
                continue;
            }
            let frequency = self.domain_frequency.get(candidate).copied().unwrap_or(0);
            // Closest first, then the word the intents use most, then alphabetical (deterministic).
            let key = (distance, u32::MAX - frequency, index as usize);
            if best.is_none_or(|(d, f, i)| key < (d, f, i)) {
                best = Some(key);
            }
        }
        best.map(|(_, _, index)| self.domain[index].clone())
    }
}

/// `word` with every run of three or more of one letter cut to `keep` letters.
fn without_held_letters(word: &str, keep: usize) -> String {
    let mut out = String::with_capacity(word.len());
    let mut chars = word.chars().peekable();
    while let Some(c) = chars.next() {
        let mut run = 1;
        while chars.peek() == Some(&c) {
            chars.next();
            run += 1;
        }
        let kept = if run >= 3 { keep } else { run };
        out.extend(std::iter::repeat_n(c, kept));
    }
    out
}

/// The English word list as one string and sorted word ranges: 65,000 words in two allocations rather than
/// 65,000 (a few megabytes less for a server that mostly waits).
struct WordList {
    text: String,
    words: Vec<(u32, u32)>,
}

impl WordList {
    fn new(lines: &str) -> WordList {
        let mut text = String::with_capacity(lines.len());
        let mut words = Vec::new();
        for word in lines
            .lines()
            .filter(|line| !line.starts_with('#'))
            .map(str::trim)
            .filter(|word| !word.is_empty())
        {
            let start = text.len() as u32;
            text.push_str(word);
            words.push((start, text.len() as u32));
        }
        let word = |&(a, b): &(u32, u32)| &text[a as usize..b as usize];
        // The shipped list is sorted but for a few words added at its end: those are put in their places,
        // rather than sorting 65,000 words at every start (or a stable sort's scratch copy of them all,
        // which stays in the process's memory).
        let sorted = 1 + words
            .windows(2)
            .take_while(|pair| word(&pair[0]) <= word(&pair[1]))
            .count();
        if words.len().saturating_sub(sorted) <= 256 {
            for added in words.split_off(sorted.min(words.len())) {
                let at = words.partition_point(|w| word(w) <= word(&added));
                words.insert(at, added);
            }
        } else {
            words.sort_unstable_by(|x, y| word(x).cmp(word(y)));
        }
        words.dedup_by(|x, y| word(x) == word(y));
        text.shrink_to_fit();
        words.shrink_to_fit();
        WordList { text, words }
    }

    fn contains(&self, word: &str) -> bool {
        self.words
            .binary_search_by(|&(a, b)| self.text[a as usize..b as usize].cmp(word))
            .is_ok()
    }
}

/// Words that say a picture comes with the message.
const PICTURE_WORDS: &[&str] = &[
    "photo",
    "photos",
    "pic",
    "pics",
    "picture",
    "pictures",
    "image",
    "images",
    "img",
    "selfie",
    "screenshot",
];

/// "[photo] is this normal?", "(pic attached) lines still there", "pic - redder today": a note that a picture comes
/// with the message says nothing of what it asks, and its picture word would pull the answer towards the one about
/// sending photos. The rest of the message is what is answered. A message that is only the note keeps it.
fn without_attachment_note(input: &str) -> &str {
    let text = input.trim_start();
    let rest = match text.chars().next() {
        Some(open @ ('[' | '(')) => {
            let close = if open == '[' { ']' } else { ')' };
            text.find(close)
                .filter(|&end| end <= 40)
                .filter(|&end| {
                    text[1..end]
                        .split(|c: char| !c.is_alphanumeric())
                        .any(|w| PICTURE_WORDS.contains(&w.to_lowercase().as_str()))
                })
                .map(|end| &text[end + 1..])
        }
        _ => {
            // "pic - …", "photo: …", "photo attached. …": one picture word first ("photos: when do i take
            // them" asks about photos), then at most "attached", "below" or "here", then a dash, colon or stop.
            let word = text
                .split(|c: char| !c.is_alphanumeric())
                .next()
                .unwrap_or_default();
            let singular = PICTURE_WORDS
                .iter()
                .any(|w| !w.ends_with('s') && w.eq_ignore_ascii_case(word));
            if singular {
                let after = text[word.len()..].trim_start();
                let after = ["attached", "below", "here"]
                    .iter()
                    .find_map(|w| {
                        after
                            .get(..w.len())
                            .filter(|head| head.eq_ignore_ascii_case(w))
                            .map(|_| &after[w.len()..])
                    })
                    .unwrap_or(after)
                    .trim_start();
                after.strip_prefix(['-', ':', '.', '–', '—'])
            } else {
                None
            }
        }
    };
    match rest {
        Some(rest) if rest.chars().any(char::is_alphabetic) => rest,
        _ => input,
    }
}

/// Lower-cases and splits into words and sentence punctuation; drops apostrophes, emoji and symbols.
fn split_raw(input: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut word = String::new();
    let mut chars = input.chars().take(MAX_INPUT_CHARS).peekable();
    let flush = |word: &mut String, tokens: &mut Vec<String>| {
        if !word.is_empty() {
            tokens.push(std::mem::take(word));
        }
    };
    while let Some(c) = chars.next() {
        match c {
            // West African orthographies (Krio, Twi, Ewe): "a nɔ de si natin wit mi lɛf yay" is "a no de si
            // natin wit mi lef yay" as most of their speakers type it.
            'ɛ' | 'Ɛ' => word.push('e'),
            'ɔ' | 'Ɔ' => word.push('o'),
            'ŋ' | 'Ŋ' => word.push_str("ng"),
            c if c.is_alphanumeric() => word.extend(c.to_lowercase()),
            '\'' | '’' | '‘' | '`' | '´' => {
                // "vision's gone" → "vision gone"; "it's" → "its" (patterns expect "its", "thats", …).
                let s_follows = chars.peek().is_some_and(|c| *c == 's')
                    && chars.clone().nth(1).is_none_or(|c| !c.is_alphanumeric());
                if s_follows && !word.is_empty() && !CONTRACTING_PRONOUNS.contains(&word.as_str()) {
                    chars.next();
                }
            }
            '.' if word.chars().last().is_some_and(|c| c.is_ascii_digit())
                && chars.peek().is_some_and(|c| c.is_ascii_digit()) =>
            {
                word.push('.')
            }
            '.' | ',' | '!' | '?' | ';' | ':' | '\n' => {
                flush(&mut word, &mut tokens);
                let mark = if c == '\n' || c == ':' { '.' } else { c };
                let mark = mark.to_string();
                if tokens.last() != Some(&mark) {
                    tokens.push(mark);
                }
            }
            '&' | '+' => {
                flush(&mut word, &mut tokens);
                tokens.push("and".into());
            }
            _ => flush(&mut word, &mut tokens),
        }
    }
    flush(&mut word, &mut tokens);
    tokens
}

/// Words whose "'s" is part of how the intents write them ("its", "thats", "whats", "theres").
const CONTRACTING_PRONOUNS: &[&str] = &[
    "it", "that", "what", "there", "here", "he", "she", "who", "let", "where", "how", "when",
];

/// The key of a deletion variant in [`Normalizer::deletions`]: 32 bits of its hash (the high ones, Fx's best
/// mixed), which halves the index; a collision only brings one more word to measure.
fn variant_hash(variant: &str) -> u32 {
    (rustc_hash::FxBuildHasher.hash_one(variant) >> 32) as u32
}

/// Calls `found` with every string made by deleting one or two letters of the word (two only from words
/// of four letters or more).
fn for_each_deletion(word: &str, mut found: impl FnMut(&str)) {
    let chars: Vec<(usize, char)> = word.char_indices().collect();
    let mut variant = String::with_capacity(word.len());
    for (first, &(at, c)) in chars.iter().enumerate() {
        let after = at + c.len_utf8();
        variant.clear();
        variant.push_str(&word[..at]);
        variant.push_str(&word[after..]);
        found(&variant);
        if chars.len() - 1 <= 2 {
            continue;
        }
        for &(second_at, second) in &chars[first + 1..] {
            variant.clear();
            variant.push_str(&word[..at]);
            variant.push_str(&word[after..second_at]);
            variant.push_str(&word[second_at + second.len_utf8()..]);
            found(&variant);
        }
    }
}

/// Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps.
pub fn edit_distance(a: &str, b: &str) -> usize {
    if a.is_ascii() && b.is_ascii() {
        osa_distance(a.as_bytes(), b.as_bytes())
    } else {
        let a: Vec<char> = a.chars().collect();
        let b: Vec<char> = b.chars().collect();
        osa_distance(&a, &b)
    }
}

/// The distance over any letters: ASCII words, the usual case when correcting, need no `char`s.
fn osa_distance<T: PartialEq>(a: &[T], b: &[T]) -> usize {
    // One flat table rather than a vector per row: this runs for every candidate of every unknown word.
    let width = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * width];
    for i in 0..=a.len() {
        d[i * width] = i;
    }
    for (j, cell) in d[..width].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut value = (d[(i - 1) * width + j] + 1)
                .min(d[i * width + j - 1] + 1)
                .min(d[(i - 1) * width + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                value = value.min(d[(i - 2) * width + j - 2] + 1);
            }
            d[i * width + j] = value;
        }
    }
    d[a.len() * width + b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn normalizer() -> Normalizer {
        let lexicon = vec![
            ("puss".to_string(), "pus".to_string()),
            ("2moro".to_string(), "tomorrow".to_string()),
            ("cant breath".to_string(), "cant breathe".to_string()),
            ("ngl".to_string(), String::new()),
        ];
        let english = "painted\nfewer\nface\nmy\nis\nthe\nswollen\nbreath\nkilling\nraisin\nspread\ninactive\nso\nitchy\nsleep\n";
        let domain: HashMap<String, u32> = [
            ("swelling", 5),
            ("temperature", 3),
            ("fainted", 2),
            ("fever", 4),
            ("tomorrow", 2),
        ]
        .into_iter()
        .map(|(w, n)| (w.to_string(), n))
        .collect();
        Normalizer::new(&lexicon, english, domain)
    }

    #[test]
    fn splits_punctuation_drops_emoji_and_apostrophes() {
        let n = normalizer().normalize("I can’t   SLEEP!!! 😭 it's 38.5 & hot");
        assert_eq!(n.text, "i cant sleep ! its 38.5 and hot");

        assert_eq!(n.tokens.len(), 8);
        assert!(n.tokens[3].is_punct());
        assert_eq!(&n.text[n.tokens[2].start..n.tokens[2].end], "sleep");
        let n = normalizer().normalize("my vision's gone, what's that");
        assert_eq!(n.text, "my vision gone , whats that");
    }

    #[test]
    fn lexicon_replaces_words_and_phrases() {
        let n = normalizer();
        assert_eq!(
            n.normalize("puss on my face 2moro").text,
            "pus on my face tomorrow"
        );
        assert_eq!(n.normalize("I cant breath ngl").text, "i cant breathe");
    }

    #[test]
    fn corrects_typos_towards_domain_words_only() {
        let n = normalizer();
        assert_eq!(
            n.normalize("sweling and temprature").text,
            "swelling and temperature"
        );
        assert_eq!(n.normalize("feverr").text, "fever");
        // Real words are left alone, however close they are to a symptom.
        assert_eq!(n.normalize("painted fewer").text, "painted fewer");
        // Gibberish is not forced onto the nearest word.
        assert_eq!(n.normalize("qwrtzy").text, "qwrtzy");
    }

    #[test]
    fn gives_back_a_dropped_g_only_to_words_it_makes() {
        let n = normalizer();
        assert_eq!(n.normalize("its killin me").text, "its killing me");
        assert_eq!(n.normalize("swellin").text, "swelling");
        // A word that ends in "in" is left as it is; so is one whose g form is no word.
        assert_eq!(n.normalize("raisin").text, "raisin");
        assert_eq!(n.normalize("brazin").text, "brazin");
    }

    #[test]
    fn letters_held_for_feeling_are_let_go() {
        let n = normalizer();
        assert_eq!(n.normalize("sooo itchyyy").text, "so itchy");
        assert_eq!(n.normalize("sleeeeep").text, "sleep");
        // Two of a letter is how words are spelt, not held.
        assert_eq!(n.normalize("feverr").text, "fever");
    }

    #[test]
    fn reads_a_swahili_tense_on_an_english_word() {
        let n = normalizer();
        assert_eq!(n.normalize("redness inaspread").text, "redness is spread");
        assert_eq!(n.normalize("imespread").text, "has spread");
        // An English word that starts the same way, and a Swahili word, are left alone.
        assert_eq!(n.normalize("inactive").text, "inactive");
        assert_eq!(n.normalize("inauma").text, "inauma");
    }

    #[test]
    fn token_lookup_by_offset() {
        let n = normalizer().normalize("my face is swollen");
        assert_eq!(n.token_at(n.text.find("swollen").unwrap()), 3);
    }

    #[test]
    fn edit_distance_counts_swaps_as_one() {
        assert_eq!(edit_distance("fever", "fever"), 0);
        assert_eq!(edit_distance("fevre", "fever"), 1);
        assert_eq!(edit_distance("sweling", "swelling"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
    }

    #[test]
    fn a_note_that_a_picture_is_attached_is_not_the_question() {
        for (input, question) in [
            (
                "[pic] is this amount of red normal?",
                " is this amount of red normal?",
            ),
            ("(photo attached) lines still there", " lines still there"),
            (
                "pic - lines in rows, still there",
                " lines in rows, still there",
            ),
            ("Photo: redder today", " redder today"),
            ("photo attached. is this pus", " is this pus"),
        ] {
            assert_eq!(without_attachment_note(input), question, "{input}");
        }
        for kept in [
            "photos: when should i take them",
            "can i send a photo",
            "[photo]",
            "pic",
            "pictures of my face every day, is that ok",
            "(my cheek) is red",
        ] {
            assert_eq!(without_attachment_note(kept), kept, "{kept}");
        }
    }

    #[test]
    fn huge_input_is_cut_not_choked_on() {
        let long = "red ".repeat(100_000);
        let n = normalizer().normalize(&long);
        assert!(n.tokens.len() <= MAX_INPUT_CHARS);
    }
}
