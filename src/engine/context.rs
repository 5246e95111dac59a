//! Is a finding affirmed? A small ConText (Harkema et al. 2009): trigger phrases before (or just after) a
//! finding qualify it as negated, hypothetical, historical or about someone else, within a scope that ends at
//! sentence punctuation or a contrasting word ("no swelling but there is pus": the pus counts).

use rustc_hash::{FxHashMap, FxHashSet};

/// Whether whose finding it is matters: an emergency happening now counts whoever it happens to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Person {
    Matters,
    Anyone,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Qualifier {
    Affirmed,
    Negated,
    Hypothetical,
    Historical,
    OtherPerson,
}

impl Qualifier {
    pub fn as_str(self) -> &'static str {
        match self {
            Qualifier::Affirmed => "affirmed",
            Qualifier::Negated => "negated",
            Qualifier::Hypothetical => "hypothetical",
            Qualifier::Historical => "historical",
            Qualifier::OtherPerson => "about someone else",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trigger {
    /// Stops the scan and keeps the finding affirmed: "not sure if", "dont know".
    Pseudo,
    Qualifies(Qualifier),
}

const NEGATION: &[&str] = &[
    "no",
    "not",
    "nor",
    "without",
    "never",
    "none",
    "zero",
    "dont",
    "doesnt",
    "didnt",
    "havent",
    "hasnt",
    "hadnt",
    "isnt",
    "arent",
    "wasnt",
    "werent",
    "aint",
    "cant see",
    "cannot see",
    "no sign of",
    "no signs of",
    "free of",
    "denies",
    "deny",
    "no longer",
    "nothing like",
    "nothing",
    "rather than",
    "instead of",
    "neither",
];

const HYPOTHETICAL: &[&str] = &[
    "signs of",
    "sign of",
    "symptoms of",
    "symptom of",
    "what if",
    "in case",
    "incase",
    "whether",
    "risk of",
    "risks of",
    "chance of",
    "chances of",
    "prevent",
    "preventing",
    "avoid",
    "avoiding",
    "protect against",
    "reduce the risk",
    "look out for",
    "watch out for",
    "watch for",
    "look for",
    "worry if",
    "worried if",
    // What the treatment may help with is a wish, not a reaction: "will it help the brown patches?".
    "will it help",
    "does it help",
    "can it help",
    "would it help",
    "does microneedling help",
    "does needling help",
    "will microneedling help",
    "will needling help",
    // A risk to be careful about is not a report of it: "do i need to be more careful about pigmentation?".
    "careful about",
    // A fear that was not borne out is not a sign that was there: "i was worried it was getting infected
    // but its looking loads better".
    "was worried",
    "were worried",
    "was scared",
    "was afraid",
    "was concerned",
    "thought it was",
    "i thought",
    "when should i worry",
    "when to worry",
    "how do i know",
    "how do you know",
    "how can i tell",
    "how would i know",
    "how to tell",
    "how to know",
    "can i get",
    "could i get",
    "will i get",
    "might i get",
    "would i get",
    "do i get",
    "can you get",
    "could you get",
    "do people get",
    "can people get",
    "can it cause",
    "could it cause",
    "does it cause",
    "will it cause",
    "can cause",
    "could cause",
    "cause",
    "causes",
    "i might get",
    "i could get",
    "i may get",
    "ill get",
    "i will get",
    "going to get",
    "gonna get",
    "worried about getting",
    "scared of getting",
    "afraid of getting",
    "worried ill get",
    "scared ill get",
    "if i get",
    "if i got",
    "if i develop",
    "if i start",
    "if i notice",
    "if i see",
    "if i ever",
    "if it gets",
    "if it becomes",
    "if it starts",
    "if it turns",
    "if you get",
    "if you have",
    "if you develop",
    "if you notice",
    "if you see",
    "if someone",
    "if there is ever",
    "if my skin gets",
    "if my skin starts",
    "if my face gets",
    "if my face starts",
    "if the skin",
    "what happens if",
    "say it went",
    "say it gets",
    "say it goes",
    "say i got",
    "say i get",
    "say i had",
    "lets say",
    "suppose",
    "supposing",
    "what do i do if",
    "what should i do if",
    "what i do if",
    "what to do if",
    "what i should do if",
    "what should she do if",
    "what should he do if",
    "what should we do if",
    "what does she do if",
    "what does he do if",
    "what do we do if",
    "what can i do if",
    "if she gets",
    "if he gets",
    "if they get",
    "if we get",
    "if she develops",
    "if he develops",
    "if she starts",
    "if he starts",
    "if she ever",
    "if he ever",
    "is it possible to get",
    "possible to get",
    "likely to get",
    "common to get",
    "any chance of",
    "how common",
    "is it common",
];

/// Whether the signs told are something is asked, not told: "it stings a bit like sunburn. is this an allergic
/// reaction?" (the signs themselves still count). Within the words up to a comma or an "and" only: "is this an
/// infection, there is pus" tells the pus.
const ASKS_WHETHER: &[&str] = &[
    "is this an",
    "is it an",
    "is that an",
    "could this be an",
    "could it be an",
    "am i having an",
    "is she having an",
    "is he having an",
    "is this allergic",
    "is it allergic",
];

const HISTORICAL: &[&str] = &[
    "history of",
    "prone to",
    "used to",
    "i usually get",
    "i often get",
    "i always get",
    "i tend to get",
    "i normally get",
    "i sometimes get",
    "i occasionally get",
    "i suffer from",
    "i suffer with",
    "in the past",
    "previously had",
    "previous",
    "last time",
];

/// Historical triggers that follow the finding: "I had a cold sore last year".
const HISTORICAL_AFTER: &[&str] = &[
    "last year",
    "years ago",
    "year ago",
    "months ago",
    "month ago",
    "in the past",
    "before treatment",
    "now and then",
    "now and again",
    "from time to time",
    "every so often",
    "sometimes",
    "occasionally",
    "before my treatment",
    "before the treatment",
    "before my session",
    "before the session",
    "before needling",
    "as a kid",
    "as a child",
    "a while ago",
    "when i was",
    "ages ago",
    "long ago",
    "before",
];

/// Negations that follow the finding, when they close the clause: "the bleeding has stopped".
const NEGATION_AFTER: &[&str] = &[
    "stopped",
    "has stopped",
    "went away",
    "gone away",
    "gone down",
    "went down",
    "cleared up",
    "disappeared",
    "settled down",
    "is gone",
    "has gone",
    "are gone",
    "have gone",
    "was gone",
    "were gone",
    "had gone",
    "is fine now",
];

/// A post-negation preceded by one of these is itself negated: "it hasnt stopped", "not gone away"; the day
/// module reads "still hasnt gone after 17 days" by the same words.
pub(crate) const NEGATED_AFTER_BLOCKERS: &[&str] = &[
    "hasnt", "havent", "hadnt", "not", "isnt", "arent", "wont", "didnt", "never", "doesnt", "wasnt",
];

const OTHER_PERSON: &[&str] = &[
    "friend",
    "friends",
    "colleague",
    "coworker",
    "neighbour",
    "neighbor",
    "neighbours",
    "neighbors",
    "someone",
    "somebody",
    "people",
    "others",
    "anyone",
    "anybody",
    "everyone",
    "a girl",
    "a lady",
    "a woman",
    "some woman",
    "this woman",
    "some lady",
    "this lady",
    "some girl",
    "this girl",
    "a guy",
    "some guy",
    "this guy",
    "a man",
    "some man",
    "cousins",
    "my sister",
    "my cousin",
    "my mate",
    "my pal",
    "her friend",
    "other clients",
    "other people",
    "husband",
    "husbands",
    "hubby",
    "hubbys",
    "wife",
    "wifes",
    "partner",
    "partners",
    "boyfriend",
    "girlfriend",
    "mum",
    "mums",
    "mom",
    "moms",
    "mother",
    "dad",
    "dads",
    "father",
    "son",
    "daughter",
    "sons",
    "daughters",
    "kid",
    "kids",
    "child",
    "childs",
    "baby",
    "babys",
    "toddler",
    "brother",
    "brothers",
    "sister",
    "sisters",
    "nan",
    "gran",
    "grandma",
    "grandad",
    "auntie",
    "aunt",
    "uncle",
    "dog",
    "dogs",
    "cat",
    "cats",
    "puppy",
    "kitten",
    "pet",
    "pets",
    "horse",
    "their",
];

/// Single words for someone outside the family, besides `OTHER_PERSON`.
const OUTSIDER: &[&str] = &["mate", "cousin", "pal", "woman", "lady", "guy", "bloke"];

/// Words for a person that name nobody in particular.
const INDEFINITE_PERSON: &[&str] = &[
    "someone", "somebody", "anyone", "anybody", "everyone", "people", "others", "their",
];

/// Where the sentence holding token `at` starts.
fn sentence_start(words: &[&str], at: usize) -> usize {
    words[..at]
        .iter()
        .rposition(|w| matches!(*w, "." | "?" | "!" | ";"))
        .map_or(0, |p| p + 1)
}

const PSEUDO: &[&str] = &[
    // "prob nothing, its just a bit more red today": a minimiser, not a denial.
    "probably nothing",
    "maybe nothing",
    "might be nothing",
    "likely nothing",
    "nothing serious",
    "no big deal",
    "not a big deal",
    // "not great tbh, the redness is spreading": an answer to "how is your skin?", not a negation.
    "not great",
    "not normal",
    "not acting normal",
    "not like herself",
    "not like himself",
    "not right",
    "not herself",
    "not himself",
    "not myself",
    "not good",
    "not so good",
    "not too good",
    "not well",
    "not brilliant",
    "not the best",
    "not sure",
    "dont know",
    "dont think so",
    "no idea",
    "unsure",
    "not certain",
    "wondering if",
    "wonder if",
    // "I see nothing with the left eye": sight lost, not a denial.
    "see nothing",
    "sees nothing",
    "seeing nothing",
    // "I write to enquire whether it is customary for the skin to weep": asking about what is there.
    "whether it is normal",
    "whether its normal",
    "whether this is normal",
    "whether that is normal",
    "whether it is customary",
    "whether it is usual",
    "whether it is common",
    "whether it is expected",
    "whether it is ok",
    "whether its ok",
    "cant tell",
    "not only",
    "not just",
    "not much",
    "not a lot",
    "no change",
    "not gone",
    "aint gone",
    "hasnt gone",
    "not going",
    "isnt going",
    "wont go",
    "not getting",
    "not improving",
    "no better",
    "not better",
    "not stopping",
    "wont stop",
    "doesnt stop",
    "not stopped",
    "hasnt stopped",
    "cant stop",
    "not helping",
    "nothing helps",
    "not working",
    "not able to",
    "cant open",
    "cant see",
    "dont feel well",
    "not feeling well",
    "not well",
];

/// Words that end a trigger's scope.
/// Words that open a clause of their own when they follow a finding.
const SUBJECTS: &[&str] = &[
    "i", "ive", "im", "id", "she", "shes", "he", "hes", "we", "weve", "they", "theyve",
];

const TERMINATORS: &[&str] = &[
    ".",
    "?",
    "!",
    ";",
    "but",
    "however",
    "although",
    "though",
    "except",
    "yet",
    "whereas",
    "apart",
    "aside",
    "otherwise",
    "anyway",
    "instead",
    "now",
    "then",
    "today",
    "also",
];

/// Tokens skipped when counting how far a trigger is from its finding ("no pus, fever or swelling").
const FILLER: &[&str] = &[
    ",", "or", "nor", "and", "any", "a", "an", "the", "of", "signs", "sign",
];

const SCOPE: usize = 6;

/// A trigger's words, what it does, and the phrase as written (for the explanation).
type TriggerPhrase = (Vec<String>, Trigger, &'static str);

pub struct ContextRules {
    /// Triggers by their last word, longest first.
    before: FxHashMap<String, Vec<TriggerPhrase>>,
    historical_after: Vec<(Vec<String>, &'static str)>,
    negation_after: Vec<(Vec<String>, &'static str)>,
    in_general: PhraseIndex,
    resolved: PhraseIndex,
    /// Every word that names or points to another person: a message without one is nobody else's.
    persons: FxHashSet<&'static str>,
}

impl Default for ContextRules {
    fn default() -> Self {
        let mut before: FxHashMap<String, Vec<TriggerPhrase>> = FxHashMap::default();
        let mut add = |phrases: &[&'static str], trigger: Trigger| {
            for phrase in phrases {
                let words: Vec<String> = phrase.split(' ').map(String::from).collect();
                let last = words.last().cloned().unwrap_or_default();
                let entry = before.entry(last).or_default();
                // A phrase listed twice keeps its first meaning.
                if !entry.iter().any(|(w, _, _)| *w == words) {
                    entry.push((words, trigger, phrase));
                }
            }
        };
        add(NEGATION, Trigger::Qualifies(Qualifier::Negated));
        add(HYPOTHETICAL, Trigger::Qualifies(Qualifier::Hypothetical));
        add(ASKS_WHETHER, Trigger::Qualifies(Qualifier::Hypothetical));
        add(HISTORICAL, Trigger::Qualifies(Qualifier::Historical));
        add(OTHER_PERSON, Trigger::Qualifies(Qualifier::OtherPerson));
        add(PSEUDO, Trigger::Pseudo);
        for triggers in before.values_mut() {
            triggers.sort_by_key(|(words, _, _)| std::cmp::Reverse(words.len()));
        }
        let split = |phrases: &[&'static str]| {
            phrases
                .iter()
                .map(|p| (p.split(' ').map(String::from).collect(), *p))
                .collect()
        };
        ContextRules {
            before,
            historical_after: split(HISTORICAL_AFTER),
            negation_after: split(NEGATION_AFTER),
            in_general: PhraseIndex::new(IN_GENERAL),
            resolved: PhraseIndex::new(RESOLVED),
            persons: CLOSE_PERSON
                .iter()
                .chain(OTHER_PERSON)
                .flat_map(|phrase| phrase.split(' '))
                .chain([
                    "friend", "friends", "mate", "she", "he", "shes", "hes", "her", "his", "their",
                ])
                .collect(),
        }
    }
}

/// Whether `phrase` is "in the past" followed, at `next`, by a recent span of time: "swollen up in the past
/// hour", "in the past few hours my lips swelled": recent, not history.
fn the_recent_past(phrase: &[String], words: &[&str], next: usize) -> bool {
    phrase.last().is_some_and(|w| w == "past")
        && words[next.min(words.len())..].iter().take(4).any(|w| {
            matches!(
                *w,
                "hour"
                    | "hours"
                    | "minute"
                    | "minutes"
                    | "mins"
                    | "day"
                    | "days"
                    | "while"
                    | "night"
                    | "week"
            )
        })
}

/// Phrases that make a whole message a question in general: "is blistering a side effect? I don't have any,
/// just reading up". Findings in it are not reports.
const IN_GENERAL: &[&str] = &[
    "just asking",
    "asking because",
    "asking bc",
    "asking cos",
    "ever normal",
    "is it ever",
    "can that happen",
    "can this happen",
    "could that happen",
    "does that happen",
    "does that ever happen",
    "im totally fine",
    "only asking",
    "asking for a friend",
    "reading up",
    "read online",
    "read it online",
    "saw it online",
    "saw online",
    "saw this online",
    "seen online",
    "mine is fine",
    "mines fine",
    "mine are fine",
    "i dont have any",
    "never had one",
    "ive never had",
    "never had any",
    "never had them",
    "i dont have it",
    "i dont have that",
    "i havent got any",
    "i havent got it",
    "i dont have them",
    "not that i have",
    "not that i have it",
    "hypothetically",
    "before my first",
    "before i book",
    "before booking",
    "just curious",
    "out of curiosity",
];

/// Asking in general, only when it closes the message: "just wondering" opens many real reports.
/// Questions about a risk, not reports of it (they keep the intent's answer, not its level).
const RISK_QUESTION: &[&str] = &[
    // Benefits asked about are not reports either: "does microneedling help dark spots?", "will it help the
    // brown patches?", "do i need to be more careful about pigmentation?".
    "does microneedling help",
    "does needling help",
    "does it help",
    "will it help",
    "can it help",
    "would it help",
    "will microneedling help",
    "will needling help",
    "can we target",
    "more careful about",
    "careful about",
    "how to avoid",
    "how do i avoid",
    "how i avoid",
    "how can i avoid",
    "how to prevent",
    "how do i prevent",
    "how can i prevent",
    "does needling make",
    "does microneedling make",
    "does it make",
    "does needling cause",
    "does it cause",
    "can it cause",
    "will it cause",
    "could it cause",
    "worried about getting",
    "risk of",
    "chance of",
    "more likely to",
    // "my sister got dark patches at a salon, is that likely for her?", "paranoid about pigmentation"
    "is that likely",
    "is it likely",
    "how likely",
    "paranoid about",
    "will the needling make",
    "will needling make",
    "will microneedling make",
    "will the treatment make",
];

const IN_GENERAL_AT_END: &[&str] = &["just wondering", "just checking", "wondering"];

/// Resolved past events: "went lightheaded yesterday, fine now".
const RESOLVED: &[&str] = &[
    // Bleeding that stopped by itself at once is the expected pinpoint bleeding, over.
    "stopped straight away",
    "stopped right away",
    "stopped after a minute",
    "stopped after a few minutes",
    "stopped in a few minutes",
    "stopped in a minute",
    "stopped in a couple of minutes",
    "stopped within",
    "stopped quickly",
    "stopped by itself",
    "stopped on its own",
    "stop already",
    "stopped already",
    "calmed down",
    "calmed right down",
    "settled down",
    "then fine",
    "back to normal",
    "totally gone",
    "completely gone",
    "now gone",
    "fine now",
    "ok now",
    "okay now",
    "all fine now",
    "better now",
    "totally fine after",
    "was fine after",
    "fine after",
    "gone now",
    "all gone",
    "went away",
    "passed quickly",
    // Not "it passed" alone: "I marked it with a pen and it passed the mark".
    "it passed quickly",
    "it soon passed",
    "it passed off",
    "it passed in",
    "it passed after",
    "cleared up",
    "all good now",
    "then it was gone",
    "then it went",
    "then gone",
    "all grand now",
    // Not "it's going down" alone: "chest pain … and it is going down my left arm".
    "going down nicely",
    "settling nicely",
    "calming down nicely",
    // "felt dizzy in the chair, they gave me water and I was fine in 5 minutes"
    "was fine in",
    "was fine within",
    "fine again after",
    "was ok after",
    "was okay after",
    "all good since",
    "fine ever since",
    // "a bit of a temp that night but it was gone by morning and I've felt grand since"
    "gone by morning",
    "gone by the morning",
    "gone by the next day",
    "gone the next day",
    "grand since",
    "grand ever since",
];

/// Negations of a verb: they do not reach past a comma.
const VERB_NEGATIONS: &[&str] = &[
    "cant", "cannot", "dont", "doesnt", "didnt", "wont", "havent", "hasnt", "isnt", "arent",
    "wasnt", "werent", "never", "couldnt", "wouldnt", "instead",
];

/// What gets better, negated in "not calming down", "isnt healing", "not getting any better".
const IMPROVEMENT_VERBS: &[&str] = &[
    // "wounds not closing, becoming bigger, yellow inside": not healing is itself a finding.
    "closing",
    "closed",
    "calming",
    "settling",
    "improving",
    "healing",
    "fading",
    "clearing",
    "budging",
    "healed",
    "settled",
    "improved",
    "calmed",
    "cleared",
    "faded",
    "better",
];

/// Degree words that soften a severity finding next to them: "throbbing a little bit", "a bit puffy".
const MILD_DEGREE: &[&str] = &[
    "a little",
    "little bit",
    "a bit",
    "a tiny bit",
    "slightly",
    "mildly",
    "mild",
    "a touch",
    "barely noticeable",
    "not too bad",
    "not that bad",
];

/// The degree word softening the span `first..=last`, within two words either side, if any.
pub fn mild_degree(words: &[&str], first: usize, last: usize) -> Option<&'static str> {
    let from = first.saturating_sub(3);
    let to = (last + 4).min(words.len());
    let before = &words[from..first.min(words.len())];
    let after = &words[(last + 1).min(to)..to];
    MILD_DEGREE
        .iter()
        .copied()
        .find(|phrase| contains_phrase(before, phrase) || contains_phrase(after, phrase))
}

/// Places and things whose temperature a client may give: "the kitchen is like 40 degrees".
const SURROUNDINGS: &[&str] = &[
    "kitchen",
    "room",
    "outside",
    "weather",
    "oven",
    "sauna",
    "office",
    "shower",
    "bath",
    "pool",
    "house",
    "flat",
    "gym",
    "tub",
    "steam",
    "bakery",
    "restaurant",
    "factory",
    "warehouse",
    "heatwave",
    "tea",
    "coffee",
    "air",
    "water",
];

/// The place or thing named just before the span starting at `first` (within four words of its clause).
pub fn surroundings_before(words: &[&str], first: usize) -> Option<&'static str> {
    words[..first.min(words.len())]
        .iter()
        .rev()
        .take(4)
        .take_while(|w| !matches!(**w, "." | "?" | "!" | ";" | "," | "but" | "and"))
        .find_map(|w| SURROUNDINGS.iter().copied().find(|s| s == w))
}

/// The place named just after the span ending at `last`: "its 38 degrees here in dubai", "35 degrees outside".
pub fn surroundings_after(words: &[&str], last: usize) -> Option<&'static str> {
    const PLACES: &[&str] = &[
        "here",
        "outside",
        "out",
        "in the shade",
        "in the sun",
        "this week",
    ];
    let clause: Vec<&str> = words[(last + 1).min(words.len())..]
        .iter()
        .take(3)
        .take_while(|w| !matches!(**w, "." | "?" | "!" | ";" | "," | "but" | "and"))
        .copied()
        .collect();
    PLACES
        .iter()
        .copied()
        .find(|place| clause.starts_with(&place.split(' ').collect::<Vec<_>>()))
        .or_else(|| {
            clause
                .iter()
                .find_map(|w| SURROUNDINGS.iter().copied().find(|s| s == w))
        })
}

impl ContextRules {
    /// The phrase that makes the whole message a question in general, if any.
    pub fn asks_in_general(&self, words: &[&str]) -> Option<&'static str> {
        let has = |phrase: &str, within: &[&str]| contains_phrase(within, phrase);
        // "I've never had anything like this" says the reaction is new, not that the client has none.
        let new_to_them = ["anything like", "like this", "this before", "that before"]
            .iter()
            .any(|phrase| has(phrase, words));
        // Dictated, with no question in it: "I had a fit ten minutes ago I've never had one" is a first time.
        let asks = words.contains(&"?")
            || matches!(
                words.first(),
                Some(
                    &("is"
                        | "are"
                        | "can"
                        | "could"
                        | "do"
                        | "does"
                        | "will"
                        | "would"
                        | "should"
                        | "what"
                        | "whats"
                        | "how"
                        | "why"
                        | "if")
                )
            );
        // "the redness is back and sore, just curious if that's normal": asks whether what it told is expected.
        let curious_about_it = |p: &str| {
            p == "just curious"
                && words.windows(3).any(|w| {
                    w[0] == "just"
                        && w[1] == "curious"
                        && matches!(w[2], "if" | "whether" | "is" | "as")
                })
        };
        // "my bf just had like a fit?? … now hes really out of it. never had one before": told as happening now, a
        // first time, whatever the question marks.
        let told_now = words.contains(&"now") || words.windows(2).any(|w| w == ["just", "had"]);
        if let Some(p) = self.in_general.find(words)
            && !((new_to_them || !asks || told_now) && p.contains("never had"))
            && !curious_about_it(p)
        {
            return Some(p);
        }
        let content: Vec<&str> = words
            .iter()
            .copied()
            .filter(|w| {
                !matches!(
                    *w,
                    "." | "?" | "!" | ";" | "x" | "xx" | "thanks" | "thank" | "you"
                )
            })
            .collect();
        let tail = &content[content.len().saturating_sub(3)..];
        IN_GENERAL_AT_END.iter().copied().find(|p| has(p, tail))
    }

    /// Whether the message asks what would happen or what to do if something happened: "what should she do
    /// if she gets a cold sore".
    pub fn asks_what_if(&self, words: &[&str]) -> bool {
        HYPOTHETICAL
            .iter()
            .filter(|phrase| phrase.starts_with("what") || phrase.starts_with("if "))
            .any(|phrase| contains_phrase(words, phrase))
    }

    /// Whether a hypothetical's trigger is only a trailing "just wondering", which leaves a report open.
    pub fn is_trailing_wonder(&self, trigger: Option<&str>) -> bool {
        trigger.is_some_and(|t| IN_GENERAL_AT_END.contains(&t))
    }

    /// Whether a negation trigger says the finding went away ("gone now", "has stopped") rather than denying it.
    pub fn is_resolution(&self, trigger: Option<&str>) -> bool {
        trigger.is_some_and(|t| NEGATION_AFTER.contains(&t))
    }

    /// A question about a risk: "does needling make dark skin go darker?", "how do I avoid spots after?".
    pub fn asks_about_a_risk(&self, words: &[&str]) -> bool {
        RISK_QUESTION
            .iter()
            .any(|phrase| contains_phrase(words, phrase))
    }

    /// "after hers at a different place", "somewhere else": someone else's treatment, at another clinic. Their
    /// findings are not this clinic's client's (an emergency happening now still counts: see `whoever`).
    pub fn treated_elsewhere(&self, words: &[&str]) -> bool {
        words.contains(&"elsewhere")
            || words.windows(2).any(|pair| {
                matches!(
                    pair,
                    ["after", "hers" | "theirs"]
                        | [
                            "different" | "another" | "other",
                            "place" | "clinic" | "salon"
                        ]
                        // "needled by some lady over in Freeport", "at some place in Turkey"
                        | [
                            "some",
                            "lady" | "woman" | "place" | "salon" | "spa" | "beautician" | "clinic"
                        ]
                        | ["somewhere", "else"]
                )
            })
            // "at a salon (not you guys)"
            || words
                .windows(3)
                .any(|w| matches!(w, ["not", "you", "guys" | "lot"] | ["not", "with" | "at", "you" | "yours"]))
    }

    /// "my sister had needling last year … will it happen to me?", "a friend said she ended up in A&E":
    /// someone else's experience, over or told at second hand, asked about for the client's own sake.
    pub fn about_someone_elses_past(&self, words: &[&str]) -> bool {
        // "she just said she feels faint": what someone says of themselves now is not a story told at second hand.
        let says_it_now = |at: usize| {
            words.get(at + 2).is_some_and(|next| {
                matches!(
                    *next,
                    "feels" | "feel" | "is" | "has" | "cant" | "cannot" | "needs"
                )
            })
        };
        // "she said she felt rough this morning": what someone told of today is not a story either.
        let of_today = |at: usize| {
            // The clause of what was said: up to its comma or full stop.
            let end = words[at..]
                .iter()
                .position(|w| matches!(*w, "." | "?" | "!" | ";" | ","))
                .map_or(words.len(), |p| at + p);
            let clause = &words[at..end];
            // "she said her lip was tingling yesterday and now there's a cluster of blisters": told as now.
            clause
                .iter()
                .any(|w| matches!(*w, "today" | "tonight" | "now" | "currently"))
                || clause.windows(2).any(|w| {
                    matches!(
                        w,
                        ["this", "morning" | "afternoon" | "evening"] | ["just", "now"]
                    )
                })
        };
        // "is that meant to happen?", "is it normal to happen?": whether a finding is expected, not a story.
        let asks_if_expected = |at: usize| {
            at >= 2
                && words[at - 1] == "to"
                && matches!(
                    words[at - 2],
                    "meant"
                        | "supposed"
                        | "normal"
                        | "expected"
                        | "usual"
                        | "common"
                        | "ok"
                        | "okay"
                )
        };
        // "my friend just collapsed in the kitchen, she came round but shes really pale … said her face was
        // getting hot": what is happening now is no story, whoever tells what was said.
        let happening_now = words.windows(2).any(|pair| {
            matches!(
                pair,
                ["right", "now"]
                    | [
                        "just",
                        "collapsed"
                            | "fainted"
                            | "fell"
                            | "passed"
                            | "dropped"
                            | "keeled"
                            | "blacked"
                    ]
            )
        }) || words.contains(&"currently");
        if happening_now {
            return false;
        }
        words.windows(2).enumerate().any(|(at, pair)| {
            if pair[0] == "said" && (says_it_now(at) || of_today(at)) {
                return false;
            }
            if matches!(pair[0], "happen" | "happens") && asks_if_expected(at) {
                return false;
            }
            matches!(
                pair,
                ["last", "year" | "time" | "summer" | "month"]
                    | [
                        "years" | "year" | "months" | "month" | "while" | "ages",
                        "ago"
                    ]
                    // "will it happen to me?", "can that happen?"; not "just now happen!!" (it is happening).
                    | [
                        "happen" | "happens",
                        "to" | "?" | "again" | "after" | "with" | "for" | "from"
                    ]
                    | ["happened", "to"]
                    | ["said", "she" | "he" | "her" | "his" | "they"]
                    | ["ended", "up"]
            )
        })
    }

    /// Whether the nearest person named before `first` in its sentence is someone outside the family, a friend,
    /// a colleague, a stranger: "my friend wants to know, she just finished her roaccutane" is the friend's, while
    /// "my daughter finished her roaccutane, can she still come for her session" is the client's, and "can someone
    /// call me" names nobody.
    pub fn outsider_named_before(&self, words: &[&str], first: usize) -> bool {
        (sentence_start(words, first)..first)
            .rev()
            .find_map(|at| {
                let w = words[at];
                if INDEFINITE_PERSON.contains(&w) {
                    None
                } else if CLOSE_PERSON.contains(&w) || matches!(w, "i" | "im" | "ive" | "myself") {
                    Some(false)
                } else if OUTSIDER.contains(&w) || OTHER_PERSON.contains(&w) {
                    Some(true)
                } else {
                    None
                }
            })
            .unwrap_or(false)
    }

    /// Whether "she", "he" or another person comes before the finding at `first` in its sentence: in a message about someone
    /// else's past ("my sister had needling last year and she got a cold sore"), the finding is theirs.
    /// The nearest person named decides: "hers is fine but mine's gone all blistery" is the writer's; "a friend
    /// of mine got a cold sore" is the friend's.
    pub fn third_person_before(&self, words: &[&str], first: usize) -> bool {
        (sentence_start(words, first)..first)
            .rev()
            .find_map(|at| {
                let w = words[at];
                if matches!(w, "she" | "he" | "shes" | "hes")
                    || OUTSIDER.contains(&w)
                    || OTHER_PERSON.contains(&w)
                {
                    Some(true)
                } else if matches!(w, "i" | "im" | "ive" | "myself")
                    || (w == "mine" && (at == 0 || words[at - 1] != "of"))
                {
                    Some(false)
                } else {
                    None
                }
            })
            .unwrap_or(false)
    }

    /// Someone writing for the client: "my wife had it done yesterday and she has a temperature". Then a
    /// finding near "wife" or "she" is the client's own.
    pub fn writes_for_the_client(&self, words: &[&str]) -> bool {
        // Most messages name nobody else: only the writer's own words can then say they write for someone.
        if !words.iter().any(|w| self.persons.contains(w)) {
            return words.windows(2).any(says_it_writes_for_someone);
        }
        let treated = |w: &[&str]| {
            w.windows(2).any(|pair| {
                matches!(pair[0], "had" | "got" | "has" | "did")
                    && matches!(
                        pair[1],
                        "it" | "the" | "her" | "his" | "a" | "microneedling" | "needling" | "skin"
                    )
            }) && w.iter().any(|x| {
                matches!(
                    *x,
                    "done"
                        | "needling"
                        | "microneedling"
                        | "treatment"
                        | "session"
                        | "needled"
                        | "procedure"
                )
            })
        };
        // "her boyfriend asking", "husband typing": the one who writes says so.
        let proxy_named = words.windows(2).any(|pair| {
            (CLOSE_PERSON.contains(&pair[0]) || pair[0] == "friend")
                && matches!(
                    pair[1],
                    "typing" | "here" | "asking" | "writing" | "texting"
                )
        });
        let proxy_marker = proxy_named || words.windows(2).any(says_it_writes_for_someone);
        // "her face is redder than mine", "I also get cold sores, what do I do before my one?": the writer sets
        // their own skin or treatment apart, so the person named had theirs and is not the client; only their
        // saying outright that they write for someone makes the message the client's.
        if self.sets_the_writer_apart(words) {
            return words.windows(2).any(says_outright_it_writes_for_someone);
        }
        // "my wife's rash is spreading and her lips look puffy": only someone close is named and the writer
        // never speaks of themselves, so the person named is the one treated.
        // A friend counts here too ("my friends face is hot and the patch is growing"): someone else's past
        // ("after hers", "last year") is told apart below.
        let named =
            |w: &&str| CLOSE_PERSON.contains(w) || matches!(*w, "friend" | "friends" | "mate");
        // "My daughter has come out in hives … Should I be worried?": the writer's own worry is not a finding
        // of theirs.
        let worry = the_writers_worry(words);
        let only_about_them = words.iter().any(named)
            && words.iter().enumerate().all(|(i, w)| {
                !FIRST_PERSON.contains(w)
                    || (*w == "my" && words.get(i + 1).is_some_and(named))
                    || worry.contains(&i)
            });
        // "her facial needling", "his first session": the treatment is the other person's.
        let their_treatment = words.iter().enumerate().any(|(i, w)| {
            matches!(*w, "her" | "his" | "their")
                && words[i + 1..words.len().min(i + 4)].iter().any(|t| {
                    matches!(
                        *t,
                        "needling" | "microneedling" | "treatment" | "session" | "procedure"
                    )
                })
        });
        // "her lips are swelling after applying the serum", "since she put the leftover numbing cream on": a
        // reaction to the aftercare product.
        let product_reaction = |sentence: &[&str]| {
            sentence.windows(3).any(|w| {
                matches!(w[0], "after" | "since")
                    && matches!(w[1], "applying" | "using" | "putting" | "she" | "he")
                    && sentence.iter().any(|x| {
                        matches!(
                            *x,
                            "serum" | "cream" | "product" | "gel" | "balm" | "mask" | "numbing"
                        )
                    })
            })
        };
        let someone_elses_past =
            self.about_someone_elses_past(words) || self.treated_elsewhere(words);
        proxy_marker
            || only_about_them && !someone_elses_past
            || !someone_elses_past
                && (their_treatment
                    || words
                        .split(|w| matches!(*w, "." | "?" | "!" | ";"))
                        .any(|sentence| {
                            sentence.iter().any(|w| {
                                matches!(*w, "she" | "he" | "shes" | "hes")
                                    || OTHER_PERSON.contains(w)
                            }) && (treated(sentence) || product_reaction(sentence))
                                && !sentence.windows(2).any(|p| {
                                    p == ["not", "had"]
                                        || p == ["hasnt", "had"]
                                        || p == ["nothing", "done"]
                                })
                        }))
    }

    /// "mine", "my own", "I also", "me I'm fine", "before my one": the writer speaks of their own skin or
    /// treatment beside someone else's, who is then not the client.
    pub fn sets_the_writer_apart(&self, words: &[&str]) -> bool {
        words.contains(&"mine")
            || words.windows(2).any(|pair| {
                matches!(
                    pair,
                    ["my", "own"]
                        | ["me" | "i", "too" | "also"]
                        | ["me", "i" | "im"]
                        | ["not", "me"]
                        | ["before", "my"]
                        | ["im", "fine" | "ok" | "okay" | "alright"]
                        | ["am", "fine" | "ok" | "okay" | "alright"]
                )
            })
    }

    /// Qualifies the finding that spans tokens `first..=last` of `words` (the message's tokens).
    pub fn qualify(
        &self,
        words: &[&str],
        first: usize,
        last: usize,
    ) -> (Qualifier, Option<&'static str>) {
        self.qualify_as(words, first, last, Person::Matters)
    }

    /// Qualifies a finding that matters whoever it happens to ("my husband has crushing chest pain"): only
    /// negation, the past and hypotheticals take it back, never that it is someone else's.
    pub fn qualify_for_anyone(
        &self,
        words: &[&str],
        first: usize,
        last: usize,
    ) -> (Qualifier, Option<&'static str>) {
        self.qualify_as(words, first, last, Person::Anyone)
    }

    fn qualify_as(
        &self,
        words: &[&str],
        first: usize,
        last: usize,
        person: Person,
    ) -> (Qualifier, Option<&'static str>) {
        if conditional(words, first) {
            return (Qualifier::Hypothetical, Some("if … would"));
        }
        let found = self
            .scan_before(words, first, person)
            .or_else(|| self.scan_after(words, last))
            .or_else(|| {
                self.resolved_after(words, last)
                    .map(|phrase| (Qualifier::Historical, Some(phrase)))
            });
        match found {
            // "a rash on day 4 that went away, now it's coming back": it is here again.
            Some((Qualifier::Historical, _)) if recurs_after(words, last) => {
                (Qualifier::Affirmed, None)
            }
            Some((Qualifier::Negated, Some(trigger)))
                if NEGATION_AFTER.contains(&trigger) && recurs_after(words, last) =>
            {
                (Qualifier::Affirmed, None)
            }
            Some(found) => found,
            None => (Qualifier::Affirmed, None),
        }
    }

    fn scan_before(
        &self,
        words: &[&str],
        first: usize,
        person: Person,
    ) -> Option<(Qualifier, Option<&'static str>)> {
        let mut distance = 0;
        let mut end = first; // exclusive end of the candidate trigger
        let mut crossed_comma = false;
        // A comma, "and" or "or": the finding may be one item of a list.
        let mut crossed_list = false;
        let mut crossed_new_clause = false;
        // "I use the inhaler 4 times and nothing, my lips are blue": a comma and a new subject start a clause
        // that a negation before them does not reach.
        let mut crossed_new_subject = false;
        while end > 0 && distance <= SCOPE {
            let position = end - 1;
            // "no fever no pus nothing like that, just feels tight": what follows ", just" is affirmed.
            // "no pain no pus only red": "only" affirms what follows it.
            let just_after_comma = words[position] == "only"
                || words[position] == "just" && position > 0 && words[position - 1] == ",";
            if TERMINATORS.contains(&words[position]) || just_after_comma {
                return None;
            }
            crossed_comma |= words[position] == ",";
            crossed_new_subject |= words[position] == ","
                && position + 1 < first
                && matches!(
                    words[position + 1],
                    "my" | "i"
                        | "im"
                        // "but she not talk, face is grey": a part of the body starts a new clause too
                        | "face"
                        | "skin"
                        | "lips"
                        | "she"
                        | "he"
                        | "shes"
                        | "hes"
                        | "her"
                        | "his"
                        | "now"
                        | "theres"
                );
            crossed_list |= matches!(words[position], "," | "and" | "or" | "nor");
            // "i always get cold sores and my lip is tingly": the history ends where a new clause starts.
            crossed_new_clause |= words[position] == "and"
                && matches!(
                    words.get(position + 1),
                    Some(
                        &("my"
                            | "now"
                            | "it"
                            | "its"
                            | "the"
                            | "this"
                            | "today"
                            | "i"
                            | "theres"
                            | "there"
                            | "his"
                            | "her"
                            | "hes"
                            | "shes"
                            | "their")
                    )
                );
            for (phrase, trigger, written) in self
                .before
                .get(words[position])
                .map_or(&[][..], |v| v.as_slice())
            {
                if phrase.len() > end
                    || !phrase
                        .iter()
                        .zip(&words[end - phrase.len()..end])
                        .all(|(p, w)| p == w)
                {
                    continue;
                }
                let shown = Some(*written);
                match *trigger {
                    Trigger::Pseudo => return Some((Qualifier::Affirmed, shown)),
                    Trigger::Qualifies(Qualifier::Historical)
                        if the_recent_past(phrase, words, end) =>
                    {
                        continue;
                    }
                    Trigger::Qualifies(Qualifier::Negated)
                        if phrase.len() == 1
                            && phrase[0] == "no"
                            && !negates_what_follows(words, end) =>
                    {
                        continue;
                    }
                    Trigger::Qualifies(Qualifier::OtherPerson)
                        if person == Person::Anyone
                            || the_writer_speaks_last(&words[end..first])
                            || observes_the_writer(&words[end..first]) =>
                    {
                        continue;
                    }
                    // "cant see any difference, can i talk to someone": a negated verb ends at the comma
                    // (a "no" may run on through a list: "no pus, swelling or fever").
                    Trigger::Qualifies(Qualifier::Negated)
                        if crossed_new_subject
                            || crossed_comma && VERB_NEGATIONS.contains(&phrase[0].as_str()) =>
                    {
                        continue;
                    }
                    // "she not talk, not wake up", "not opening her eyes and not answering me": a finding told as
                    // a negation ("not wake") is one item of a list of them, not denied by the one before it.
                    Trigger::Qualifies(Qualifier::Negated)
                        if crossed_list
                            && (matches!(words[first], "not" | "no")
                                || VERB_NEGATIONS.contains(&words[first])) =>
                    {
                        continue;
                    }
                    // "its not calming down, some are big sore ones": a negated improvement is a finding of
                    // its own ("not getting better"), not a denial of what follows it.
                    Trigger::Qualifies(Qualifier::Negated)
                        if words
                            .get(end)
                            .is_some_and(|next| IMPROVEMENT_VERBS.contains(next)) =>
                    {
                        continue;
                    }
                    Trigger::Qualifies(Qualifier::Historical) if crossed_new_clause => continue,
                    Trigger::Qualifies(Qualifier::Hypothetical)
                        if crossed_list && ASKS_WHETHER.contains(written) =>
                    {
                        continue;
                    }
                    Trigger::Qualifies(qualifier) => return Some((qualifier, shown)),
                }
            }
            if !FILLER.contains(&words[position]) {
                distance += 1;
            }
            end -= 1;
        }
        None
    }

    fn scan_after(&self, words: &[&str], last: usize) -> Option<(Qualifier, Option<&'static str>)> {
        let start = last + 1;
        // "what does an allergic reaction look like?": a question about the finding in general.
        let sentence_start = words[..start]
            .iter()
            .rposition(|w| matches!(*w, "." | "?" | "!" | ";"))
            .map_or(0, |p| p + 1);
        if matches!(words.get(sentence_start), Some(&("what" | "how" | "whats"))) {
            let rest = &words[start..words.len().min(start + SCOPE)];
            let end = rest
                .iter()
                .position(|w| matches!(*w, "." | "?" | "!" | ";"))
                .unwrap_or(rest.len());
            if rest[..end]
                .windows(2)
                .any(|w| matches!(w[0], "look" | "looks" | "feel" | "feels") && w[1] == "like")
            {
                return Some((Qualifier::Hypothetical, Some("what … look like")));
            }
        }
        let limit = (start + SCOPE).min(words.len());
        // "its a cold sore, had them before": the past after a comma is another clause's.
        let mut crossed_comma = false;
        let mut crossed_subject = false;
        for position in start..limit {
            if TERMINATORS.contains(&words[position]) && words[position] != "now" {
                // "a puffy bit but it went down by itself": what "it" did ends the finding.
                let it_after_but = words[position] == "but"
                    && matches!(
                        words.get(position + 1),
                        Some(&("it" | "they" | "that" | "this"))
                    );
                return it_after_but
                    .then(|| self.resolved_at(words, position + 2))
                    .flatten();
            }
            crossed_comma |= words[position] == ",";
            // Dictated or run-on: "I had a fit ten minutes ago I've never had one before": a new subject
            // starts another clause, and the lone "before" that closes it is that clause's.
            crossed_subject |= position > start && SUBJECTS.contains(&words[position]);
            for (phrase, written) in self.historical_after.iter().filter(|_| !crossed_comma) {
                // "I've had cold sores before": a lone "before" counts only where it closes the clause.
                // "worse than before" compares with today.
                let lone_before = phrase.len() == 1 && phrase[0] == "before";
                // "a red patch that was never there before" says it is new.
                let new_since = || {
                    words[position.saturating_sub(3)..position].iter().any(|w| {
                        matches!(
                            *w,
                            "never" | "not" | "wasnt" | "werent" | "hadnt" | "havent"
                        )
                    })
                };
                // "more brown spots than before the session" compares with then, whatever follows "before".
                let compared =
                    phrase[0] == "before" && position > 0 && words[position - 1] == "than";
                if compared || lone_before && (crossed_subject || new_since()) {
                    continue;
                }
                if the_recent_past(phrase, words, position + phrase.len()) {
                    continue;
                }
                let closes = words.get(position + phrase.len()).is_none_or(|w| {
                    matches!(*w, "." | "," | "!" | "?" | ";" | "and" | "but" | "so")
                });
                if starts_with(words, position, phrase) && (!lone_before || closes) {
                    return Some((Qualifier::Historical, Some(*written)));
                }
            }
            if let Some(resolved) = self.resolved_at(words, position) {
                return Some(resolved);
            }
        }
        None
    }

    /// A negation that follows the finding and closes its clause at `position`: "the bleeding has stopped".
    fn resolved_at(
        &self,
        words: &[&str],
        position: usize,
    ) -> Option<(Qualifier, Option<&'static str>)> {
        // Most positions start no phrase: that is checked first.
        let starting_here = self
            .negation_after
            .iter()
            .filter(|(phrase, _)| starts_with(words, position, phrase));
        for (phrase, written) in starting_here {
            // "hasnt gone away" is a double negative: the finding is still there.
            if position > 0 && NEGATED_AFTER_BLOCKERS.contains(&words[position - 1]) {
                continue;
            }
            // "it went down by itself and": how it went does not keep the clause open.
            let after = position + phrase.len();
            let after = after + by_itself(words.get(after..).unwrap_or_default());
            let closes = after >= words.len()
                || matches!(
                    words[after],
                    "." | "," | "!" | "?" | ";" | "now" | "and" | "but"
                );
            if closes {
                return Some((Qualifier::Negated, Some(*written)));
            }
        }
        None
    }
}

/// "on behalf", "writing for", "asked me", "she says": two words saying the writer writes for someone else.
fn says_it_writes_for_someone(pair: &[&str]) -> bool {
    matches!(
        pair,
        ["on", "behalf"]
            | ["pa" | "assistant" | "secretary" | "carer", "here"]
            | ["writing" | "write" | "wrote", "for"]
            | ["messaging", "for"]
            | ["texting", "for"]
            | ["asked", "me"]
            | ["wants", "to"]
            | ["is", "asking"]
            | ["asking", "if" | "whether" | "me"]
            | ["wanted", "me"]
            | ["asks", "if" | "whether"]
            | [
                "says",
                "she" | "he" | "her" | "his" | "its" | "it" | "shes" | "hes"
            ]
    )
}

/// Said outright: "writing for my mum", "on behalf of", "she asked me to message you".
fn says_outright_it_writes_for_someone(pair: &[&str]) -> bool {
    matches!(
        pair,
        ["on", "behalf"]
            | ["pa" | "assistant" | "secretary" | "carer", "here"]
            | [
                "writing" | "write" | "wrote" | "messaging" | "texting",
                "for"
            ]
            | ["asked" | "wanted", "me"]
    )
}

/// Positions of the first-person words in the writer's worry about someone ("should I be worried", "I'm
/// scared", "what do I do"): a person writing for the client speaks of themselves only so.
fn the_writers_worry(words: &[&str]) -> Vec<usize> {
    let mut at = Vec::new();
    for (i, w) in words.iter().enumerate() {
        if !matches!(*w, "i" | "im") {
            continue;
        }
        let before = |n: usize| i.checked_sub(n).and_then(|j| words.get(j)).copied();
        let after = |n: usize| words.get(i + n).copied();
        let worried = |w: Option<&str>| {
            matches!(
                w,
                Some("worried" | "worry" | "scared" | "concerned" | "panicking" | "frightened")
            )
        };
        let asks_what_to_do = matches!(before(1), Some("should" | "do"))
            && (worried(after(1))
                || after(1) == Some("be") && worried(after(2))
                || matches!(after(1), Some("do" | "take" | "bring")))
            || before(1) == Some("should") && before(2) == Some("what")
            || before(1) == Some("do") && before(2) == Some("what");
        let says_worried = worried(after(1))
            || after(1) == Some("am") && worried(after(2))
            || matches!(after(1), Some("dont")) && after(2) == Some("know");
        if asks_what_to_do || says_worried {
            at.push(i);
        }
    }
    at
}

/// Phrases saying that something which had gone is here again.
const RECURRENCE: &[&[&str]] = &[
    &["coming", "back"],
    &["come", "back"],
    &["came", "back"],
    &["back", "again"],
    &["its", "back"],
    &["is", "back"],
    &["are", "back"],
    &["theyre", "back"],
    &["returned"],
    &["returning"],
    &["started", "again"],
    &["starting", "again"],
    &["flaring", "again"],
    &["flared", "again"],
    &["flared", "up", "again"],
];

/// Whether the message says, after the finding, that it came back ("but now it's coming back"), not
/// negated ("it hasn't come back").
fn recurs_after(words: &[&str], last: usize) -> bool {
    (last + 1..words.len()).any(|position| {
        RECURRENCE
            .iter()
            .any(|phrase| words[position..].starts_with(phrase))
            && !words[position.saturating_sub(2)..position]
                .iter()
                .any(|w| VERB_NEGATIONS.contains(w) || matches!(*w, "not" | "no" | "never"))
    })
}

/// How many words at the start of `words` say that something went by itself ("by itself", "on its own").
fn by_itself(words: &[&str]) -> usize {
    match words {
        ["by", "itself" | "themselves", ..] => 2,
        ["on", "its" | "their", "own", ..] => 3,
        _ => 0,
    }
}

/// "if my lips swelled up, would that be an emergency?": an "if" before the finding and a modal verb in the
/// same sentence make it a supposition. ("is it normal if my skin is peeling" has no modal: affirmed.)
fn conditional(words: &[&str], first: usize) -> bool {
    let is_end = |w: &&str| matches!(*w, "." | "?" | "!" | ";");
    let start = words[..first].iter().rposition(is_end).map_or(0, |p| p + 1);
    let end = words[first..]
        .iter()
        .position(is_end)
        .map_or(words.len(), |p| first + p);
    let if_before = words[start..first].contains(&"if");
    let modal = words[start..end]
        .iter()
        .any(|w| matches!(*w, "would" | "could" | "might" | "wouldnt" | "couldnt"));
    // "if my face take infection after the needle, how I will know it?": how to tell, should it happen.
    let how_to_tell = words[first..end].windows(4).any(|w| {
        w[0] == "how"
            && w[1..]
                .iter()
                .any(|x| matches!(*x, "know" | "tell" | "notice"))
    });
    if_before && (modal || how_to_tell)
}

/// How many words after a finding its resolution may come. Further away it is as likely to be about something
/// else ("the left cheek is worse each day, whereas the right side has settled down") or to leave a sign that
/// still needs seeing today ("my throat felt tight for about 10 mins after I put the cream on, it went away").
const RESOLVED_REACH: usize = 14;

/// "felt faint in the chair yesterday but was totally fine after": a resolved event, within the sentence
/// that follows the finding (a contrast does not end it here).
impl ContextRules {
    fn resolved_after(&self, words: &[&str], last: usize) -> Option<&'static str> {
        let end = words[last + 1..]
            .iter()
            .position(|w| matches!(*w, "." | "?" | "!" | ";"))
            .map_or(words.len(), |p| last + 1 + p);
        let window = &words[last + 1..end.min(last + 1 + RESOLVED_REACH)];
        let phrase = self.resolved.find(window)?;
        // "still red on my jaw, the rest cleared up": something else got better.
        let first = phrase.split(' ').next().unwrap_or(phrase);
        let at = window.iter().position(|w| *w == first).unwrap_or(0);
        let other_subject = window[at.saturating_sub(2)..at]
            .iter()
            .any(|w| matches!(*w, "rest" | "else" | "other" | "others"));
        // "came back after it had totally gone", "it had calmed down": the pluperfect is before, not now.
        let earlier = window[at.saturating_sub(3)..at]
            .iter()
            .any(|w| matches!(*w, "had" | "after"));
        // "itching not stop already 6 day": a resolution denied is the finding going on.
        let denied = at
            .checked_sub(1)
            .and_then(|i| window.get(i))
            .is_some_and(|w| NEGATED_AFTER_BLOCKERS.contains(w));
        (!other_subject && !earlier && !denied).then_some(phrase)
    }
}

/// Phrases indexed by their first word, so that a message is read once rather than once per phrase.
struct PhraseIndex {
    by_first_word: FxHashMap<&'static str, Vec<(&'static str, usize)>>,
}

impl PhraseIndex {
    fn new(phrases: &[&'static str]) -> PhraseIndex {
        let mut by_first_word: FxHashMap<&'static str, Vec<(&'static str, usize)>> =
            FxHashMap::default();
        for (order, phrase) in phrases.iter().enumerate() {
            let first = phrase.split(' ').next().unwrap_or(phrase);
            by_first_word
                .entry(first)
                .or_default()
                .push((phrase, order));
        }
        PhraseIndex { by_first_word }
    }

    /// The phrase found in the words that comes first in the list, if any.
    fn find(&self, words: &[&str]) -> Option<&'static str> {
        let mut best: Option<(&'static str, usize)> = None;
        for (position, word) in words.iter().enumerate() {
            let Some(phrases) = self.by_first_word.get(word) else {
                continue;
            };
            for &(phrase, order) in phrases {
                if best.is_some_and(|(_, b)| b <= order) {
                    continue;
                }
                let mut following = words[position..].iter().copied();
                if phrase.split(' ').all(|part| following.next() == Some(part)) {
                    best = Some((phrase, order));
                }
            }
        }
        best.map(|(phrase, _)| phrase)
    }
}

/// Whether the words hold the phrase (words separated by single spaces), without allocating.
fn contains_phrase(words: &[&str], phrase: &str) -> bool {
    let (first, rest) = phrase.split_once(' ').unwrap_or((phrase, ""));
    words.iter().enumerate().any(|(position, word)| {
        *word == first
            && (rest.is_empty() || {
                let mut following = words[position + 1..].iter().copied();
                rest.split(' ').all(|part| following.next() == Some(part))
            })
    })
}

/// The people a client may write for: family and partners (not friends or colleagues, who have clinics of
/// their own).
const CLOSE_PERSON: &[&str] = &[
    "lassie",
    "lass",
    "bairn",
    "wean",
    "mum",
    "mom",
    "mother",
    "mums",
    "moms",
    "dad",
    "father",
    "dads",
    "wife",
    "wifes",
    "husband",
    "husbands",
    "hubby",
    "partner",
    "partners",
    "daughter",
    "daughters",
    "son",
    "sons",
    "sister",
    "sisters",
    "brother",
    "brothers",
    "grandad",
    "grandads",
    "grandpa",
    "grandmas",
    "nans",
    "auntie",
    "aunties",
    "uncle",
    "uncles",
    "grandma",
    "gran",
    "nan",
    "nana",
    "granddaughter",
    "grandson",
    "boyfriend",
    "girlfriend",
    "child",
    "kid",
];

const FIRST_PERSON: &[&str] = &["i", "im", "ive", "id", "me", "my", "mine", "myself"];

/// Said after a passing state, in the same sentence or a later one: the client is fine again.
const FINE_AGAIN: &[&str] = &[
    "fine now",
    "was fine in",
    "was fine within",
    "all good since",
    "nothing since",
    "and was fine",
    "it passed in",
    "it passed after",
    "then was fine",
    "fine since",
    "fine ever since",
    "fine after",
    "totally fine",
    "perfectly fine",
    "absolutely fine",
    "back to normal",
    "normal now",
    "ok now",
    "okay now",
    "fine all day",
    "grand now",
    "all good now",
];

/// A body temperature as written: a figure with a decimal or a unit ("37.1", "37 c", "98.4 f", "38 degrees").
static TEMPERATURE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(
        r"\b(\d{2,3})(?:\s?[.,]\s?(\d))?\s?(°\s?|degrees?\s?|deg\s?)?(c|f|celsius|centigrade|fahrenheit)?\b",
    )
    .expect("static regex")
});

/// When every body temperature the text gives is normal (under 37.5 °C or 99.5 °F), the first as written;
/// `None` when it gives none, or any that is raised. A figure counts only with a decimal or a unit, and only
/// in a body's range (35-43 °C, 95-109 °F): "I'm 36" is an age.
pub fn only_normal_temperatures(text: &str) -> Option<String> {
    let mut first = None;
    for found in TEMPERATURE.captures_iter(text) {
        let whole: f32 = found[1].parse().ok()?;
        let tenth: f32 = found
            .get(2)
            .map_or(Some(0.0), |d| d.as_str().parse().ok())?;
        let has_unit = found.get(3).is_some() || found.get(4).is_some();
        if found.get(2).is_none() && !has_unit {
            continue;
        }
        let value = whole + tenth / 10.0;
        let fahrenheit = found.get(4).is_some_and(|u| u.as_str().starts_with('f'))
            || (95.0..=109.0).contains(&value);
        let celsius = if fahrenheit {
            (value - 32.0) * 5.0 / 9.0
        } else {
            value
        };
        if !(35.0..=43.0).contains(&celsius) {
            continue;
        }
        if celsius >= 37.5 {
            return None;
        }
        first.get_or_insert_with(|| found[0].trim().to_string());
    }
    first
}

/// The phrase after `last` saying the client is fine again, if any ("… had a biscuit. Feel totally fine now").
pub fn fine_now_later(words: &[&str], last: usize) -> Option<&'static str> {
    let rest = &words[(last + 1).min(words.len())..];
    FINE_AGAIN
        .iter()
        .copied()
        .find(|phrase| contains_phrase(rest, phrase))
}

/// Whether the writer says the finding at `first..=last` is their own ("a cold sore myself"), within four words.
pub fn the_writers_own(words: &[&str], first: usize, last: usize) -> bool {
    let before = &words[first.saturating_sub(4)..first.min(words.len())];
    let after = &words[(last + 1).min(words.len())..(last + 5).min(words.len())];
    before.contains(&"myself") || after.contains(&"myself")
}

/// Whether the message speaks of someone besides the writer ("her", "his", "mum"): only then can "myself" set the
/// writer apart from the client.
pub fn names_someone_else(words: &[&str]) -> bool {
    words.iter().any(|w| {
        matches!(*w, "she" | "he" | "her" | "his" | "shes" | "hes") || CLOSE_PERSON.contains(w)
    })
}

/// What another person does when they look at the writer: "my husband has spotted a couple of scabs",
/// "mum noticed a rash" report the writer's skin, not theirs.
const OBSERVER_VERBS: &[&str] = &[
    "spotted", "noticed", "saw", "seen", "says", "said", "thinks", "thought", "reckons", "pointed",
    "told", "tells", "noticing", "spotting",
];

/// Whether the words right after another person are them observing (within two words: "has just spotted").
/// Between a person named and a finding, whether the writer speaks of themselves after anyone else does: "my
/// husband says my face is red" is the writer's face; "my husband came with me and he's got a rash" his rash.
fn the_writer_speaks_last(between: &[&str]) -> bool {
    let last_writer = between.iter().rposition(|w| FIRST_PERSON.contains(w));
    let last_other = between.iter().rposition(|w| {
        matches!(
            *w,
            "he" | "she" | "hes" | "shes" | "his" | "her" | "him" | "they" | "theyre" | "their"
        )
    });
    match (last_writer, last_other) {
        (Some(writer), Some(other)) => writer > other,
        (Some(_), None) => true,
        (None, _) => false,
    }
}

fn observes_the_writer(after_person: &[&str]) -> bool {
    after_person
        .iter()
        .take(3)
        .any(|word| OBSERVER_VERBS.contains(word))
}

/// "no" is an answer, not a negation, when a pronoun or punctuation follows: "no, i cant breathe".
fn negates_what_follows(words: &[&str], after: usize) -> bool {
    match words.get(after) {
        None => false,
        Some(next) => !matches!(
            *next,
            "," | "."
                | "!"
                | "?"
                | "i"
                | "im"
                | "ive"
                | "it"
                | "its"
                | "the"
                | "my"
                | "but"
                | "and"
                | "way"
                | "idea"
                | "matter"
                | "one"
        ),
    }
}

fn starts_with(words: &[&str], at: usize, phrase: &[String]) -> bool {
    words.len() >= at + phrase.len() && phrase.iter().zip(&words[at..]).all(|(p, w)| p == w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_normal_temperature_is_told_from_a_raised_one_and_from_an_age() {
        assert_eq!(
            only_normal_temperatures("took it 3 times, its 37.1 °c, is this a fever"),
            Some("37.1 °c".into())
        );
        assert_eq!(
            only_normal_temperatures("98.4 f no fever"),
            Some("98.4 f".into())
        );
        assert_eq!(
            only_normal_temperatures("it says 36,9"),
            Some("36,9".into())
        );
        assert_eq!(
            only_normal_temperatures("37.2 this morning, 38.4 now"),
            None
        );
        assert_eq!(only_normal_temperatures("101 f and shivery"), None);
        assert_eq!(only_normal_temperatures("im 36 is this a fever"), None);
        assert_eq!(only_normal_temperatures("the kitchen is 40 degrees"), None);
        assert_eq!(only_normal_temperatures("no temperature given"), None);
    }
    use crate::engine::normalize::Normalizer;

    fn qualify(message: &str, finding: &str) -> Qualifier {
        let normalizer = Normalizer::new(&[], "", Default::default());
        let text = normalizer.normalize(message);
        let start = text.text.find(finding).expect("finding in text");
        let first = text.token_at(start);
        let last = text.token_at(start + finding.len() - 1);
        let words: Vec<&str> = text.tokens.iter().map(|t| t.text.as_str()).collect();
        ContextRules::default().qualify(&words, first, last).0
    }

    #[test]
    fn negations_in_scope() {
        assert_eq!(
            qualify(
                "I use the inhaler 4 times and nothing, my lips are blue",
                "blue"
            ),
            Qualifier::Affirmed
        );
        assert_eq!(
            qualify("no pus, swelling or fever", "fever"),
            Qualifier::Negated
        );
        assert_eq!(
            qualify("no pain no pus only red", "red"),
            Qualifier::Affirmed
        );
        assert_eq!(
            qualify("no pus or fever, just red", "fever"),
            Qualifier::Negated
        );
        assert_eq!(
            qualify("no pus or fever, just red", "pus"),
            Qualifier::Negated
        );
        assert_eq!(
            qualify("I don't have a fever, just wondering", "fever"),
            Qualifier::Negated
        );
        assert_eq!(
            qualify("the bleeding has stopped now", "bleeding"),
            Qualifier::Negated
        );
        assert_eq!(
            qualify("burning feeling hasnt gone away", "burning"),
            Qualifier::Affirmed
        );
    }

    #[test]
    fn the_past_hour_is_recent_and_the_past_is_history() {
        for recent in [
            "my lips have swollen up in the past hour",
            "in the past few hours my lips swelled",
        ] {
            assert_eq!(qualify(recent, "lips"), Qualifier::Affirmed, "{recent}");
        }
        assert_eq!(
            qualify("i have had cold sores in the past", "cold sores"),
            Qualifier::Historical
        );
    }

    #[test]
    fn never_had_one_asks_in_general_only_in_a_question() {
        let rules = ContextRules::default();
        let general = |message: &str| {
            let normalizer = Normalizer::new(&[], "", Default::default());
            let text = normalizer.normalize(message);
            let words: Vec<&str> = text.tokens.iter().map(|t| t.text.as_str()).collect();
            rules.asks_in_general(&words)
        };
        assert!(general("is a blister normal? never had one").is_some());
        assert!(general("can I get a cold sore, I've never had one").is_some());
        assert!(general("I had a fit ten minutes ago I've never had one").is_none());
        assert!(general("he just had a fit?? now hes out of it, never had one before").is_none());
    }

    #[test]
    fn what_went_away_and_came_back_is_here() {
        assert_eq!(
            qualify(
                "i had a rash on day 4 which went away , now its coming back",
                "rash"
            ),
            Qualifier::Affirmed
        );
        assert_eq!(
            qualify("the rash went away and hasnt come back", "rash"),
            Qualifier::Negated
        );
    }

    #[test]
    fn someone_writing_for_the_treated_person() {
        let rules = ContextRules::default();
        let writes_for = |message: &str| {
            let normalizer = Normalizer::new(&[], "", Default::default());
            let text = normalizer.normalize(message);
            let words: Vec<&str> = text.tokens.iter().map(|t| t.text.as_str()).collect();
            rules.writes_for_the_client(&words)
        };
        assert!(writes_for("mum collapsed after her facial needling"));
        assert!(writes_for(
            "my wife is struggling to breathe and her lips are swelling after applying the serum"
        ));
        assert!(writes_for(
            "im worried my mums lips have swelled up since she put the leftover numbing cream on"
        ));
        assert!(!writes_for("my husband has a fever, can i still come in"));
        assert!(!writes_for("mum fainted last year"));
        // The writer's worry is theirs; their own skin set apart makes the other person someone else.
        assert!(writes_for(
            "my daughter has come out in hives on her face. should i be worried?"
        ));
        assert!(!writes_for(
            "my cousin did needling and she got cold sore after. i also get cold sores, what to do before my one?"
        ));
        assert!(!writes_for(
            "my cousin did the same thing yesterday and her face is more red than mine"
        ));
        assert!(writes_for(
            "writing for my mum, she had needling and her face is redder than mine ever was"
        ));
    }

    #[test]
    fn is_it_meant_to_happen_asks_about_a_finding_not_a_story() {
        let rules = ContextRules::default();
        let past = |message: &str| {
            let normalizer = Normalizer::new(&[], "", Default::default());
            let text = normalizer.normalize(message);
            let words: Vec<&str> = text.tokens.iter().map(|t| t.text.as_str()).collect();
            rules.about_someone_elses_past(&words)
        };
        assert!(!past(
            "she had it yesterday and there are blisters. is that meant to happen?"
        ));
        assert!(!past("blisters on her forehead, is it normal to happen?"));
        assert!(past("my sister got blisters after hers, can that happen?"));
        // Happening now is no story, whatever was said before.
        assert!(!past(
            "my friend just collapsed, she came round but shes pale. she said her face was hot"
        ));
        assert!(past("my friend said her face was hot after hers"));
    }

    #[test]
    fn an_outsider_named_first_owns_what_follows_family_and_nobody_do_not() {
        let rules = ContextRules::default();
        let outsider = |message: &str, finding: &str| {
            let normalizer = Normalizer::new(&[], "", Default::default());
            let text = normalizer.normalize(message);
            let at = text.token_at(text.text.find(finding).expect("finding in text"));
            let words: Vec<&str> = text.tokens.iter().map(|t| t.text.as_str()).collect();
            rules.outsider_named_before(&words, at)
        };
        assert!(outsider(
            "my friend wants to know, she just finished her roaccutane",
            "roaccutane"
        ));
        assert!(outsider(
            "some lady at the salon got her face infected",
            "infected"
        ));
        assert!(!outsider(
            "my daughter finished her roaccutane, can she still come",
            "roaccutane"
        ));
        assert!(!outsider(
            "can someone call me about my roaccutane",
            "roaccutane"
        ));
        assert!(!outsider(
            "my friend was fine. i took roaccutane",
            "roaccutane"
        ));
    }

    #[test]
    fn someone_treated_by_a_stranger_was_treated_elsewhere() {
        let rules = ContextRules::default();
        let elsewhere = |message: &str| {
            let normalizer = Normalizer::new(&[], "", Default::default());
            let text = normalizer.normalize(message);
            let words: Vec<&str> = text.tokens.iter().map(|t| t.text.as_str()).collect();
            rules.treated_elsewhere(&words)
        };
        assert!(elsewhere(
            "my girl got her face needled by some lady in freeport"
        ));
        assert!(elsewhere("my friend had it at a salon ( not you guys )"));
        assert!(!elsewhere("i had it done with you last week"));
    }

    #[test]
    fn a_finding_after_he_or_she_is_theirs_even_when_the_writer_came_first() {
        assert_eq!(
            qualify(
                "my husband came with me and he has a rash on his hands",
                "rash"
            ),
            Qualifier::OtherPerson
        );
        assert_eq!(
            qualify("my husband says my face has a rash", "rash"),
            Qualifier::Affirmed
        );
    }

    #[test]
    fn if_it_happened_how_would_i_know_is_a_question() {
        assert_eq!(
            qualify("if my face take infection how i will know it?", "infection"),
            Qualifier::Hypothetical
        );
        assert_eq!(
            qualify("if i press it pus comes out, what do i do", "pus"),
            Qualifier::Affirmed
        );
    }

    #[test]
    fn scope_ends_at_but_and_sentence_end() {
        assert_eq!(
            qualify("no swelling but there is pus", "pus"),
            Qualifier::Affirmed
        );
        assert_eq!(qualify("not red. there is pus", "pus"), Qualifier::Affirmed);
        assert_eq!(
            qualify(
                "what are the signs of infection? i have yellow crust",
                "yellow crust"
            ),
            Qualifier::Affirmed
        );
    }

    #[test]
    fn a_list_of_findings_told_as_negations_is_not_denied_by_its_first_item() {
        assert_eq!(
            qualify("she fell down, she not talk, not wake up", "not wake"),
            Qualifier::Affirmed
        );
        assert_eq!(
            qualify("no fever, no pus, swelling", "swelling"),
            Qualifier::Negated
        );
    }

    #[test]
    fn a_comparison_with_before_the_session_is_not_the_past() {
        assert_eq!(
            qualify(
                "my face now has brown spots more than before the session",
                "brown spots"
            ),
            Qualifier::Affirmed
        );
        assert_eq!(
            qualify("i had brown spots before the session", "brown spots"),
            Qualifier::Historical
        );
    }

    #[test]
    fn no_as_an_answer_does_not_negate() {
        assert_eq!(
            qualify("no, i cant breathe properly", "cant breathe"),
            Qualifier::Affirmed
        );
        assert_eq!(
            qualify("no i cant breathe", "cant breathe"),
            Qualifier::Affirmed
        );
    }

    #[test]
    fn hypotheticals_history_and_other_people() {
        for (message, finding, expected) in [
            (
                "if my lips swelled up would that be bad",
                "lips swelled",
                Qualifier::Hypothetical,
            ),
            (
                "is it normal if my lips are swollen",
                "lips are swollen",
                Qualifier::Affirmed,
            ),
            (
                // A fear not borne out, not a sign there before.
                "i was worried it was infected but its better",
                "infected",
                Qualifier::Hypothetical,
            ),
            (
                "ive had a fever since last night",
                "fever",
                Qualifier::Affirmed,
            ),
            (
                "ive had cold sores before",
                "cold sores",
                Qualifier::Historical,
            ),
            (
                "cold sores before my treatment",
                "cold sores",
                Qualifier::Historical,
            ),
            (
                "the blisters came before the crust",
                "blisters",
                Qualifier::Affirmed,
            ),
            (
                "i had a fit ten minutes ago ive had one before",
                "fit",
                Qualifier::Affirmed,
            ),
            (
                "a red rough patch that was never there before",
                "red rough patch",
                Qualifier::Affirmed,
            ),
        ] {
            assert_eq!(qualify(message, finding), expected, "{message}");
        }
        assert_eq!(
            qualify("what are the signs of infection?", "infection"),
            Qualifier::Hypothetical
        );
        assert_eq!(
            qualify("how do I know if it's infected", "infected"),
            Qualifier::Hypothetical
        );
        assert_eq!(
            qualify("what should i do if i get a fever", "fever"),
            Qualifier::Hypothetical
        );
        assert_eq!(
            qualify("I had a cold sore last year", "cold sore"),
            Qualifier::Historical
        );
        assert_eq!(
            qualify(
                "what does an allergic reaction look like",
                "allergic reaction"
            ),
            Qualifier::Hypothetical
        );
        assert_eq!(
            qualify("my skin has blisters that look like cold sores", "blisters"),
            Qualifier::Affirmed
        );
        assert_eq!(
            qualify("my friend got an infection after hers", "infection"),
            Qualifier::OtherPerson
        );
        assert_eq!(
            qualify("my friend says my face is swollen", "swollen"),
            Qualifier::Affirmed
        );
    }

    #[test]
    fn a_temperature_of_a_place_is_not_the_bodys() {
        let after = |message: &str| {
            let words: Vec<&str> = message.split(' ').collect();
            let last = words.iter().position(|w| *w == "degrees").expect("degrees");
            surroundings_after(&words, last)
        };
        assert_eq!(after("its 38 degrees here in dubai"), Some("here"));
        assert_eq!(after("38 degrees outside today"), Some("outside"));
        assert_eq!(after("38 degrees in the shade"), Some("in the shade"));
        assert_eq!(after("i have 38 degrees and shivering"), None);
        assert_eq!(after("temp 38 degrees , here is a photo"), None);
    }

    #[test]
    fn asking_whether_signs_are_a_reaction_asks_it() {
        assert_eq!(
            qualify("it stings a bit. is this an allergic reaction?", "reaction"),
            Qualifier::Hypothetical
        );
        assert_eq!(
            qualify("it stings a bit. is this an allergic reaction?", "stings"),
            Qualifier::Affirmed
        );
        // Past a comma or an "and", what follows is told.
        assert_eq!(
            qualify("is it an infection, there is pus", "pus"),
            Qualifier::Affirmed
        );
        assert_eq!(
            qualify("is this an allergy and my lips are swollen", "swollen"),
            Qualifier::Affirmed
        );
    }

    #[test]
    fn uncertainty_stays_affirmed() {
        assert_eq!(
            qualify("not sure if this is pus", "pus"),
            Qualifier::Affirmed
        );
        assert_eq!(
            qualify("i dont know if its infected", "infected"),
            Qualifier::Affirmed
        );
        assert_eq!(
            qualify("is it normal to have pus", "pus"),
            Qualifier::Affirmed
        );
        assert_eq!(
            qualify("what does it mean if i have blisters", "blisters"),
            Qualifier::Affirmed
        );
    }
}
