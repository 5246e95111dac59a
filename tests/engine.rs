//! The engine seen from outside, on the shipped intents: the behaviours the clinic relies on.

use aftercare::engine::{Category, Clinic, Engine, Level};

fn engine() -> Engine {
    Engine::embedded(&Clinic {
        name: "Test Clinic".into(),
        phone: Some("0100 000 000".into()),
        emergency_number: "112".into(),
        opening_hours: "Mon-Fri 09:00-17:00".into(),
        booking_link: Some("https://book.example".into()),
        out_of_hours: "NHS 111".into(),
    })
    .expect("shipped intents are valid")
}

#[test]
fn a_question_and_a_red_flag_in_one_message_get_the_answer_and_the_escalation() {
    let t = engine().analyse(
        "can I wear makeup tomorrow? also there is yellow crust on my chin",
        Some(0),
        None,
    );
    assert_eq!(t.intent.as_deref(), Some("makeup"), "{t:#?}");
    assert_eq!(t.escalation, Level::Urgent, "{t:#?}");
    assert!(
        t.reply.contains("24"),
        "the makeup answer is kept: {}",
        t.reply
    );
    assert!(
        t.reply.contains("0100 000 000"),
        "the client is told to contact the clinic: {}",
        t.reply
    );
}

#[test]
fn negations_and_hypotheticals_do_not_escalate() {
    let e = engine();
    for text in [
        "no pus or fever, just red",
        "what are the signs of infection?",
        "I don't have a fever, just wondering",
        "my friend got an infection after hers, how do I avoid that?",
        "I had a cold sore last year, should I do anything?",
    ] {
        let t = e.analyse(text, Some(1), None);
        assert_eq!(
            t.escalation,
            Level::None,
            "{text:?} escalated: {:#?}",
            t.why
        );
    }
}

#[test]
fn negation_scope_ends_at_but() {
    let t = engine().analyse("no swelling but there is pus", Some(3), None);
    assert_eq!(t.escalation, Level::Urgent, "{:#?}", t.why);
}

#[test]
fn typos_and_text_speak_still_escalate() {
    let e = engine();
    assert_eq!(
        e.analyse("theres puss coming out of my cheek", Some(3), None)
            .escalation,
        Level::Urgent
    );
    assert_eq!(
        e.analyse("high temprature and shivery", Some(2), None)
            .escalation,
        Level::Urgent
    );
    assert_eq!(
        e.analyse("i cant breath properly 😭", Some(0), None)
            .escalation,
        Level::Emergency
    );
}

#[test]
fn the_same_words_mean_different_things_on_different_days() {
    let e = engine();
    let early = e.analyse("my face is still red", Some(1), None);
    assert_eq!(early.escalation, Level::None);
    assert!(
        early.reply.to_lowercase().contains("normal")
            || early.reply.to_lowercase().contains("expected")
    );
    let late = e.analyse("my face is still red", Some(12), None);
    assert_eq!(late.escalation, Level::Routine, "{:#?}", late.why);
}

#[test]
fn the_day_can_come_from_the_message() {
    let e = engine();
    let t = e.analyse("still really red and it's been 2 weeks", None, None);
    assert_eq!(t.day, Some(14));
    assert_eq!(t.escalation, Level::Routine);
    let t = e.analyse("had it done yesterday and my face is red", None, None);
    assert_eq!(t.day, Some(1));
    assert_eq!(t.escalation, Level::None);
}

#[test]
fn when_the_day_matters_and_is_unknown_the_answer_says_what_is_normal_when_or_asks() {
    let t = engine().analyse("my skin is peeling", None, None);
    assert_eq!(t.escalation, Level::None);
    assert!(
        t.reply.contains("day") || t.reply.contains("days"),
        "{}",
        t.reply
    );
}

#[test]
fn an_emergency_answer_starts_with_the_emergency_number() {
    let t = engine().analyse(
        "my lips and tongue are swelling and it's hard to breathe",
        Some(0),
        None,
    );
    assert_eq!(t.escalation, Level::Emergency);
    assert_eq!(t.category, Category::Emergency);
    let first_line = t.reply.lines().next().unwrap_or_default();
    assert!(first_line.contains("112"), "first line: {first_line}");
}

/// Small talk answers only on its own words: a question that merely resembles one of its examples gets the
/// fallback (or its real topic), never a goodbye.
#[test]
fn small_talk_answers_only_on_its_own_words() {
    let e = engine();
    for (text, expected) in [
        ("bye for now!", Some("goodbye")),
        ("ok great", Some("thanks")),
        ("who am i talking to", Some("are-you-a-bot")),
        ("can i go to the disco on saturday night", None),
        ("see you at my next session", Some("goodbye")),
        // How the skin is, typed instead of the check-in's button; "fine" also names a topic.
        ("👍 All fine", Some("doing-well")),
        ("fine thanks", Some("doing-well")),
        ("no problems so far", Some("doing-well")),
        ("fine, will do", Some("thanks")),
        ("do you help with fine lines", Some("benefits")),
    ] {
        let t = e.analyse(text, None, None);
        assert_eq!(t.intent.as_deref(), expected, "{text:?}: {:#?}", t.why);
    }
    // Fine but for one thing: the thing is read.
    let t = e.analyse("all fine except a yellow crust on my chin", Some(3), None);
    assert_eq!(t.escalation, Level::Urgent, "{t:#?}");
}

#[test]
fn out_of_scope_and_gibberish_get_the_fallback() {
    let e = engine();
    for text in [
        "asdfgh jkl",
        "who won the football last night",
        "can you recommend a pizza place",
        "🙂",
        "",
        // A number alone (a button's number typed, a stray digit): "day 1" in an example does not answer it.
        "1",
        "2 ?",
    ] {
        let t = e.analyse(text, None, None);
        assert_eq!(
            t.intent, None,
            "{text:?} matched {:?}: {:#?}",
            t.intent, t.why
        );
        assert_eq!(t.category, Category::Fallback);
        assert_eq!(t.escalation, Level::None);
        assert!(!t.reply.is_empty());
    }
}

#[test]
fn results_are_deterministic_and_explained() {
    let e = engine();
    let a = e.analyse("sweling under my eyes day 2", None, None);
    let b = e.analyse("sweling under my eyes day 2", None, None);
    assert_eq!(a.reply, b.reply);
    assert_eq!(a.intent, b.intent);
    assert!(!a.why.is_empty());
    assert!(a.why.iter().any(|w| w.contains("swelling")), "{:#?}", a.why);
}

#[test]
fn clinic_facts_come_from_configuration() {
    let t = engine().analyse("what's your phone number", None, None);
    assert!(t.reply.contains("0100 000 000"), "{}", t.reply);
    assert!(!t.reply.contains('{'), "no placeholder left: {}", t.reply);
    // Urgent answers name the clinic's own out-of-hours service.
    let t = engine().analyse("i have a fever and feel awful", Some(2), None);
    assert!(t.reply.contains("NHS 111"), "{}", t.reply);
}

#[test]
fn hostile_input_gets_an_answer_not_a_panic() {
    let e = engine();
    let huge = "pus ".repeat(200_000);
    let t = e.analyse(&huge, Some(3), None);
    assert_eq!(t.escalation, Level::Urgent);
    for text in [
        "\u{0}\u{1}\u{2}",
        "𝕡𝕦𝕤",
        "day 99999999999999999999",
        "ＰＵＳ",
        "'''''",
        "?!?!?!",
    ] {
        let _ = e.analyse(text, Some(u32::MAX), None);
    }
}

#[test]
fn a_request_to_be_called_is_routine_even_as_a_question_or_with_someone() {
    let e = engine();
    for text in [
        "can someone phone me please",
        "could somebody take a look at my cheek",
        "nervous about my results, can someone go through it with me on the phone",
    ] {
        let t = e.analyse(text, Some(5), None);
        assert_eq!(t.escalation, Level::Routine, "{text:?}: {:#?}", t.why);
    }
    let declined = e.analyse("no need to call me, all good", Some(5), None);
    assert_eq!(declined.escalation, Level::None, "{:#?}", declined.why);
}

#[test]
fn heat_and_pain_after_the_first_days_are_urgent_and_instead_of_negates_only_its_own_clause() {
    let e = engine();
    let t = e.analyse(
        "swelling more each day instead of less, it feels hot and more painful",
        Some(4),
        None,
    );
    assert_eq!(t.escalation, Level::Urgent, "{:#?}", t.why);
    let t = e.analyse(
        "a week on and my cheek is red, hot and really sore",
        Some(7),
        None,
    );
    assert_eq!(t.escalation, Level::Urgent, "{:#?}", t.why);
    let early = e.analyse("feels hot and a bit sore", Some(0), None);
    assert!(early.escalation < Level::Urgent, "{:#?}", early.why);
}

#[test]
fn what_went_by_itself_is_over_and_rough_skin_is_not_feeling_rough() {
    let e = engine();
    let t = e.analyse(
        "I had a warm puffy bit on my cheek but it went down by itself and now it looks normal",
        Some(6),
        None,
    );
    assert!(t.escalation < Level::Urgent, "{:#?}", t.why);
    let texture = e.analyse(
        "is it normal the skin feeling rough? no pain",
        Some(3),
        None,
    );
    assert!(texture.escalation < Level::Urgent, "{:#?}", texture.why);
    let unwell = e.analyse("37.9 temperature, feel rough", Some(3), None);
    assert_eq!(unwell.escalation, Level::Urgent, "{:#?}", unwell.why);
}

#[test]
fn swollen_lips_with_dizziness_are_an_emergency_and_a_named_reaction_is_routine() {
    let e = engine();
    let t = e.analyse(
        "feel dizzy and sick and my lips are swelling, sorry",
        Some(0),
        None,
    );
    assert_eq!(t.escalation, Level::Emergency, "{:#?}", t.why);
    let t = e.analyse(
        "my rosacea has flared up since the session, a bit itchy",
        Some(4),
        None,
    );
    assert_eq!(t.escalation, Level::Routine, "{:#?}", t.why);
}

#[test]
fn weekday_names_are_not_corrected_into_other_days() {
    let t = engine().analyse("had it done tuesday, is redness normal", None, None);
    assert!(
        !t.why.iter().any(|w| w.contains("thursday")),
        "{:#?}",
        t.why
    );
}

#[test]
fn an_emergency_of_any_cause_happening_now_to_anyone_is_an_emergency() {
    let e = engine();
    for text in [
        "my husband has crushing pain in his chest going into his left arm",
        "my mother face fall one side and she cannot lift her arm",
        "my daughter is having a fit on the floor and not answering me",
        "my partner is wheezing and his lips are swelling",
        "when he moves his eye it hurts and he is seeing two of everything",
    ] {
        let t = e.analyse(text, None, None);
        assert_eq!(t.escalation, Level::Emergency, "{text:?}: {:#?}", t.why);
        assert!(
            t.reply.starts_with("⚠️ Please call 112"),
            "{text:?}: {}",
            t.reply
        );
    }
}

#[test]
fn someone_elses_past_reaction_is_not_a_report() {
    let e = engine();
    for text in [
        "my sister had needling last year and she got a big cold sore after, will it happen to me?",
        "a friend said she ended up in A&E with a swollen throat after hers, can that happen?",
    ] {
        let t = e.analyse(text, None, None);
        assert!(t.escalation < Level::Urgent, "{text:?}: {:#?}", t.why);
    }
    // Written for the client, who is named only as family: it is the client's report.
    let t = e.analyse(
        "my wife's rash is spreading fast and her lips look a bit puffy",
        Some(2),
        None,
    );
    assert!(t.escalation >= Level::Urgent, "{:#?}", t.why);
    // The person named nearest the finding is the one who has it: "of mine" belongs to the friend.
    let t = e.analyse(
        "a friend of mine got a cold sore after hers at another salon, what should i look out for?",
        Some(1),
        None,
    );
    assert!(t.escalation < Level::Urgent, "{:#?}", t.why);
    let t = e.analyse(
        "we both had it done yesterday, hers is fine but mine has gone all blistery around my lips",
        Some(1),
        None,
    );
    assert!(t.escalation >= Level::Urgent, "{:#?}", t.why);
}

#[test]
fn signs_told_in_plain_words_are_read_and_asking_is_not_telling() {
    let e = engine();
    for text in [
        "something got inside my eye during the treatment, now my eye is red and hurts",
        "my lips went very big like a duck after the numbing cream, breathing is fine",
        "my left eye imevimba mpaka siwezi kuifungua",
    ] {
        let t = e.analyse(text, Some(1), None);
        assert!(t.escalation >= Level::Urgent, "{text:?}: {:#?}", t.why);
    }
    // "is it infected?!" about pinpoint specks asks what they mean; "I think it's infected" tells.
    let t = e.analyse(
        "little dried blood dots on my cheeks, is it infected?!",
        Some(1),
        None,
    );
    assert!(t.escalation < Level::Urgent, "{:#?}", t.why);
    let t = e.analyse("i think it infected, it is hot and sore", Some(4), None);
    assert!(t.escalation >= Level::Urgent, "{:#?}", t.why);
    // Dictation's "pass" for pus; a bruise that got massive since the morning.
    for text in [
        "theres pass coming out of two of the little holes on my chin",
        "the bruise under my eye got massive since this morning and its sore and tight",
    ] {
        let t = e.analyse(text, Some(2), None);
        assert!(t.escalation >= Level::Urgent, "{text:?}: {:#?}", t.why);
    }
    // Asking whether to keep using an inhaler is no asthma attack.
    let t = e.analyse(
        "can i keep using my steroid inhaler as normal? its for asthma",
        Some(0),
        None,
    );
    assert!(t.escalation < Level::Urgent, "{:#?}", t.why);
    // A history told in the present is no cold sore now.
    let t = e.analyse(
        "my cold sores come often, should i take something before the next one?",
        Some(10),
        None,
    );
    assert!(t.escalation < Level::Urgent, "{:#?}", t.why);
    // Redness as it was on day 1, on day 3: not settling.
    let t = e.analyse("still no better than day 1, same redness", Some(3), None);
    assert_eq!(t.escalation, Level::Routine, "{:#?}", t.why);
    // Pain in the face getting stronger every day (Bislama): worse, not better.
    let t = e.analyse(
        "pen long fes blong mi i kam strong moa evri dei",
        Some(4),
        None,
    );
    assert!(t.escalation >= Level::Urgent, "{:#?}", t.why);
}

#[test]
fn a_question_answered_with_advice_pages_nobody() {
    let e = engine();
    for (text, day) in [
        ("when can i get my brows threaded", Some(3)),
        ("can i take ibuprofen for the soreness", Some(0)),
        ("how long before i could get laser hair removal?", None),
    ] {
        let t = e.analyse(text, day, None);
        assert_eq!(t.escalation, Level::None, "{text:?}: {:#?}", t.why);
    }
}

#[test]
fn everyday_words_are_not_read_as_findings() {
    let e = engine();
    for (text, intent) in [
        (
            "i have hay fever, can i take my antihistamine",
            "itching-mild",
        ),
        ("is tweezing ok", "waxing-threading"),
        ("can i take a tablet for my headache", "pain-relief"),
        (
            "i coach netball, can i still do training tonight",
            "exercise",
        ),
    ] {
        let t = e.analyse(text, Some(2), None);
        assert_eq!(t.escalation, Level::None, "{text:?}: {:#?}", t.why);
        assert_eq!(t.intent.as_deref(), Some(intent), "{text:?}");
    }
}

#[test]
fn each_red_flag_is_named_once() {
    let e = engine();
    let t = e.analyse(
        "there is yellow crust on my chin, crusty and yellow",
        Some(4),
        None,
    );
    // Two flags (a pattern and its concepts) share the label "yellow or honey-coloured crust".
    assert_eq!(t.red_flags.len(), 2, "{:#?}", t.why);
    assert_eq!(t.red_flags[0].label, t.red_flags[1].label);
    assert_eq!(t.flag_labels(), vec!["yellow or honey-coloured crust"]);
}

#[test]
fn a_question_about_someone_elses_reaction_gets_the_general_answer_and_pages_nobody() {
    let e = engine();
    for text in [
        "my cousin got hard lumps after hers at another salon, should i look out for that?",
        "what should he do if he gets a cold sore after",
        "my friend had hers done elsewhere and her eye swelled up, is that common?",
    ] {
        let t = e.analyse(text, None, None);
        assert_eq!(t.escalation, Level::None, "{text:?}: {:#?}", t.why);
        assert!(
            !t.reply.to_lowercase().contains("today"),
            "a question is not told to call today: {}",
            t.reply
        );
    }
    // The same topic reported, or told without a clear reading, still asks the clinic to look.
    let t = e.analyse("two hard lumps on my jaw since last week", Some(16), None);
    assert!(t.escalation >= Level::Routine, "{:#?}", t.why);
}

#[test]
fn a_minimiser_is_not_a_denial_and_a_proxy_can_name_themselves() {
    let e = engine();
    let t = e.analyse(
        "probably nothing, it's just more swollen and sore today than yesterday",
        Some(5),
        None,
    );
    assert_eq!(t.escalation, Level::Urgent, "{:#?}", t.why);
    // "her husband asking": written for the client, so her history is the client's.
    let t = e.analyse(
        "last time she got cold sores a couple of days after, her husband asking if she needs tablets first",
        Some(30),
        None,
    );
    assert_eq!(t.escalation, Level::Routine, "{:#?}", t.why);
}

#[test]
fn stroke_and_collapse_in_learner_english_and_malay_words_are_emergencies() {
    let e = engine();
    for text in [
        "my dad face go down on one side and his left arm no strength, he cant talk properly",
        "she fell down in the kitchen and is not answering me",
        "my tongue is bengkak and it is hard to swallow",
    ] {
        let t = e.analyse(text, None, None);
        assert_eq!(t.escalation, Level::Emergency, "{text:?}: {:#?}", t.why);
    }
    // A metal allergy told to the clinic is theirs to weigh.
    let t = e.analyse("i'm allergic to nickel, is that a problem?", None, None);
    assert_eq!(t.escalation, Level::Routine, "{:#?}", t.why);
}

#[test]
fn a_place_has_a_temperature_and_a_fever_with_vomiting_is_an_emergency() {
    let e = engine();
    let t = e.analyse(
        "the bakery is like 39 degrees in the morning, can i go back to work tomorrow?",
        Some(1),
        None,
    );
    assert!(t.escalation < Level::Urgent, "{:#?}", t.why);
    let t = e.analyse("fever of 38.5 and i keep throwing up", Some(3), None);
    assert_eq!(t.escalation, Level::Emergency, "{:#?}", t.why);
    // The weekday told for today dates the treatment.
    let t = e.analyse(
        "had it done monday, its thursday now and it's much redder again",
        None,
        None,
    );
    assert_eq!(t.day, Some(3), "{:#?}", t.why);
    assert_eq!(t.escalation, Level::Urgent, "{:#?}", t.why);
}

#[test]
fn a_severe_asthma_attack_blue_lips_and_shock_are_emergencies_whatever_else_the_message_says() {
    let e = engine();
    for text in [
        "used my ventolin loads of times now and my chest is still that tight, i cant speak",
        "his lips are going blue",
        "she is very pale, cold and sweaty and not making sense",
        "Quick question about my serum, but first I should say I have a heavy pain in my chest going down my left arm",
        "my tongue feels ever so thick and my voice is croaky, I've never had anything like this",
    ] {
        let t = e.analyse(text, Some(1), None);
        assert_eq!(t.escalation, Level::Emergency, "{text:?}: {:#?}", t.why);
    }
    // "Say it went blistery, who would I ring?" asks what to do; it reports nothing.
    let t = e.analyse(
        "say it went blistery or i got a temperature, who would i ring?",
        Some(1),
        None,
    );
    assert!(t.escalation < Level::Urgent, "{:#?}", t.why);
}

#[test]
fn signs_in_the_clients_first_language_count_and_results_are_not_sight() {
    let e = engine();
    for (message, day) in [
        ("my lengua is swelling and no puedo respirar", Some(0)),
        ("dolor de pecho since an hour, going to my arm", None),
        ("ma vision est floue in the left eye, c'est grave?", Some(2)),
        (
            "after the séance my face itch and I feel I will fall",
            Some(0),
        ),
    ] {
        let t = e.analyse(message, day, None);
        assert_eq!(t.escalation, Level::Emergency, "{message}: {t:#?}");
    }
    let t = e.analyse(
        "my mum can't see any difference a week later, when will she see results?",
        Some(7),
        None,
    );
    assert_eq!(t.escalation, Level::None, "{t:#?}");
    let t = e.analyse(
        "I have rosacea so I'm always a bit red, today it's pinker than usual but calmer. normal?",
        Some(1),
        None,
    );
    assert_eq!(
        t.escalation,
        Level::None,
        "a condition told as background: {t:#?}"
    );
    let t = e.analyse(
        "I have rosacea, can I still have my next session next week?",
        None,
        None,
    );
    assert_eq!(t.escalation, Level::Routine, "the clinic decides: {t:#?}");
}

#[test]
fn a_bare_acknowledgement_is_thanked_not_answered_as_a_topic() {
    let e = engine();
    for message in [
        "ok", "will do", "alright", "got it", "sure", "ok cool", "yes",
    ] {
        let t = e.analyse(message, Some(3), None);
        assert_eq!(t.intent.as_deref(), Some("thanks"), "{message}: {t:#?}");
        assert_eq!(t.escalation, Level::None, "{message}");
    }
}

/// Every curated answer and every message of `messages.toml`, rendered for a clinic, with where it comes from.
fn every_text(clinic: &Clinic) -> Vec<(String, String)> {
    use aftercare::engine::load::{embedded_sources, parse};
    use aftercare::engine::messages::{Key, Texts};
    let content = parse(&embedded_sources()).expect("shipped intents are valid");
    let mut texts = Vec::new();
    for (source, intent) in &content.intents {
        let answer = intent.answer.get_ref();
        let templates = std::iter::once(&answer.text)
            .chain(&answer.general)
            .chain(answer.by_day.iter().map(|w| &w.get_ref().text));
        for template in templates {
            texts.push((
                source.name.clone(),
                clinic.render(template.get_ref().trim()),
            ));
        }
    }
    for step in &content.care_plan.steps {
        texts.push((
            format!("care-plan.toml {}", step.id),
            clinic.render_with(&step.text, &[("first_name", "Maria")]),
        ));
    }
    let messages = Texts::new(clinic, content.messages);
    let sample = |placeholder: &str| match placeholder {
        "first_name" => "Maria",
        "staff_first_name" => "Ann",
        "date" => "Tuesday 1 December",
        "day" => "3",
        "reopens" => "Monday at 09:00",
        "what" => "your message",
        "text" => "Come in at 3pm tomorrow.",
        "query" => "\"bob\"",
        "error" => "timed out",
        "chat_id" => "42",
        "round" => "2",
        "heading" => "🔴 URGENT",
        "report" => "12",
        "client" => "Maria (@maria_k)",
        "level" => "urgent",
        "reason" => "red flags: pus",
        "flags" => "pus; fever",
        "topic" => "eye-symptoms",
        "confidence" => "0.93",
        "time" => "Mon 01 Dec 10:00",
        "count" => "3",
        "staff" => "Ann (@nurse_ann)",
        "username" => "maria_k",
        "telegram_id" => "77",
        "caption" => "│ my cheek",
        "status" => "NOT acknowledged",
        "arrow" => "→",
        "clients" => "4",
        "messages" => "17",
        "reports" => "urgent 2, routine 1",
        "open" => "1",
        "median" => "12 min",
        "minutes" => "12",
        "sent" => "9",
        "fine" => "6",
        "step" => "day-3",
        "until" => "Tuesday 15 December",
        "link" => "https://t.me/ClinicBot?start=AVE1AckrOP8Y8wJtLFMX2a1WhGwTyzyJY7XgoKA",
        "errors" => "makeup.toml:36: expected `]`",
        "week" => "2026-11-23",
        "slowest" => "95 min",
        "questions" => "│ can i paint my nails (3×)",
        other => panic!("no sample value for {{{other}}}"),
    };
    for key in Key::ALL {
        let args: Vec<(&str, &str)> = key.placeholders().iter().map(|p| (*p, sample(p))).collect();
        texts.push((
            format!("messages.toml {}", key.name()),
            messages.fill(*key, &args),
        ));
    }
    texts
}

/// What is wrong with how a text reads, if anything: a placeholder left, a word or phrase said twice in a row,
/// or a value left out in a way that leaves a linking word or punctuation hanging.
fn reads_wrongly(text: &str) -> Option<String> {
    if let Some(at) = text.find('{') {
        return Some(format!("unfilled placeholder at {:?}", &text[at..]));
    }
    let words: Vec<String> = text
        .split_whitespace()
        .map(|w| {
            // A command ("/open (open reports)") is not its word said twice.
            let word = w.trim_start_matches(|c: char| !c.is_alphanumeric() && c != '/');
            word.trim_end_matches(|c: char| !c.is_alphanumeric())
                .to_lowercase()
        })
        .collect();
    let raw: Vec<&str> = text.split_whitespace().collect();
    for n in 1..=6 {
        for i in 0..words.len().saturating_sub(2 * n - 1) {
            let (first, second) = (&words[i..i + n], &words[i + n..i + 2 * n]);
            // A word or phrase said twice with nothing between ("the the", "call the clinic call the clinic").
            let joined = !raw[i + n - 1].ends_with(|c: char| c.is_ascii_punctuation());
            if first == second && joined && first.iter().all(|w| !w.is_empty()) {
                return Some(format!("{:?} said twice", first.join(" ")));
            }
        }
    }
    None
}

/// Where a sentence hangs: a linking word with nothing after it ("call the clinic on."), empty brackets, a
/// space before punctuation, two spaces, or a missing value described instead of given.
fn hangs(text: &str) -> Vec<String> {
    let hanging = regex::Regex::new(
        r"\b(on|at|via|is|are|call|contact)\s*([.,;:!?)]|$)|\(\s*\)| [.,;:]|[^\n]  |\bthe clinic's (phone number|booking page)",
    )
    .expect("regex");
    hanging
        .find_iter(text)
        .map(|m| m.as_str().to_string())
        .collect()
}

#[test]
fn every_answer_and_message_reads_naturally_with_all_settings_and_with_each_one_left_out() {
    let full = Clinic {
        name: "Bright Skin Clinic".into(),
        phone: Some("020 7946 0000".into()),
        emergency_number: "999".into(),
        opening_hours: "Mon-Fri 09:00-17:00".into(),
        booking_link: Some("https://bright.example/book".into()),
        out_of_hours: "NHS 111".into(),
    };
    let defaults = Clinic::default();
    let variants = [
        ("all settings", full.clone()),
        (
            "no name",
            Clinic {
                name: defaults.name.clone(),
                ..full.clone()
            },
        ),
        (
            "no phone",
            Clinic {
                phone: None,
                ..full.clone()
            },
        ),
        (
            "no booking link",
            Clinic {
                booking_link: None,
                ..full.clone()
            },
        ),
        (
            "no out-of-hours service",
            Clinic {
                out_of_hours: defaults.out_of_hours.clone(),
                ..full.clone()
            },
        ),
        ("nothing set", defaults),
    ];
    let full_texts = every_text(&full);
    let mut problems = Vec::new();
    for (variant, clinic) in &variants {
        for ((place, text), (_, with_all)) in every_text(clinic).iter().zip(&full_texts) {
            if let Some(problem) = reads_wrongly(text) {
                problems.push(format!("{place} ({variant}): {problem}: {text}"));
            }
            // Compared with the text with every setting: "later on." is fine, "call the clinic on." is not.
            let (hanging, before) = (hangs(text), hangs(with_all));
            if hanging.len() > before.len() {
                problems.push(format!("{place} ({variant}): hangs at {hanging:?}: {text}"));
            }
            // A missing value told by naming the clinic instead must stand where a name can: after a verb
            // ("call the clinic"), not where the value itself belonged ("Phone: the clinic", "here: the clinic").
            if clinic.name != full.name || clinic == &full {
                continue;
            }
            if not_after_a_verb(text, &clinic.name) > not_after_a_verb(with_all, &clinic.name) {
                problems.push(format!(
                    "{place} ({variant}): the clinic named where a value belongs: {text}"
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} texts read wrongly:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// How often `name` appears other than as the object of a verb ("call Bright Skin Clinic").
fn not_after_a_verb(text: &str, name: &str) -> usize {
    let after_verb = regex::Regex::new(&format!(
        r"\b(call|ring|contact|phone|tell|ask|let) {}",
        regex::escape(name)
    ))
    .expect("regex");
    text.matches(name).count() - after_verb.find_iter(text).count()
}

#[test]
fn a_caption_is_not_a_cold_sore_and_painkillers_that_do_nothing_or_a_growing_bruise_are_urgent() {
    let e = engine();
    let t = e.analyse(
        "here's my forehead today - bit sandpapery and flaky",
        Some(3),
        None,
    );
    assert_eq!(t.escalation, Level::None, "'heres' is no herpes: {t:#?}");
    for (message, day) in [
        (
            "Mum is in a lot of pain. She's had paracetamol and ibuprofen and neither is touching it",
            Some(2),
        ),
        (
            "The bruise on my cheek is getting bigger by the hour, it's tight, swollen and very painful",
            Some(1),
        ),
        (
            "I have little bolhinhas on my eyelid and my eye is red",
            Some(2),
        ),
    ] {
        let t = e.analyse(message, day, None);
        assert!(t.escalation >= Level::Urgent, "{message}: {t:#?}");
    }
}

#[test]
fn sight_lost_in_plain_words_is_an_emergency_whoever_it_happens_to() {
    let e = engine();
    for text in [
        "suddenly cannot see from my left eye, everything black on that side",
        "my sister has suddenly gone blind in one eye",
        "she dont know where she is and keeled over in the kitchen",
    ] {
        let t = e.analyse(text, Some(2), None);
        assert_eq!(t.escalation, Level::Emergency, "{text:?}: {:#?}", t.why);
    }
    // Someone else's past is still not a report.
    let t = e.analyse(
        "my friend went blind in one eye from filler years ago, is needling safe?",
        Some(2),
        None,
    );
    assert!(t.escalation < Level::Emergency, "{:#?}", t.why);
}

#[test]
fn a_reaction_that_settled_and_came_back_is_urgent_and_long_unhealed_scabs_are_routine() {
    let e = engine();
    let t = e.analyse(
        "The redness was reducing but since yesterday it has increased again and there is some warmth.",
        Some(4),
        None,
    );
    assert_eq!(t.escalation, Level::Urgent, "{:#?}", t.why);
    // Seen by someone else on the client's own skin.
    let t = e.analyse(
        "my husband has spotted a couple of tiny scabs on my cheek that haven't healed, 12 days now",
        Some(12),
        None,
    );
    assert_eq!(t.escalation, Level::Routine, "{:#?}", t.why);
    let t = e.analyse("a couple of tiny scabs on my cheek", Some(4), None);
    assert_eq!(t.escalation, Level::None, "{:#?}", t.why);
}

#[test]
fn what_is_over_pages_nobody_but_what_came_back_does() {
    let e = engine();
    for (text, day) in [
        (
            "had a tiny bit of bleeding last night when i scratched but it stopped straight away and looks fine today",
            2,
        ),
        (
            "skin was pink til day 3 then fine, now day 7 totally normal",
            7,
        ),
        (
            "i was worried it was getting infected but its looking loads better today",
            3,
        ),
    ] {
        let t = e.analyse(text, Some(day), None);
        assert_eq!(t.escalation, Level::None, "{text:?}: {:#?}", t.why);
    }
    let t = e.analyse(
        "redness came back after it had totally gone and now its sore",
        Some(5),
        None,
    );
    assert_eq!(t.escalation, Level::Urgent, "{:#?}", t.why);
}

#[test]
fn stroke_signs_happening_now_to_someone_else_are_an_emergency() {
    // "just now happen!!" says it is happening, not that it happened to someone once.
    let t = engine().analyse(
        "my mother face one side drop down and she speak cannot clear, arm also no power, just now happen!!",
        Some(1),
        None,
    );
    assert_eq!(t.escalation, Level::Emergency, "{:#?}", t.why);
}

#[test]
fn code_switching_dialects_and_drawn_lines_still_escalate() {
    let e = engine();
    for (text, day, level) in [
        (
            "Hala si tita, biglang nag-slur yung speech niya tapos yung isang side ng face niya naka-droop",
            Some(0),
            Level::Emergency,
        ),
        (
            "cyan breathe good, lips swell up bad",
            Some(0),
            Level::Emergency,
        ),
        (
            "Red patch on my cheek is bigger than this morning, I drew round it with a biro and it's gone past the line",
            Some(3),
            Level::Urgent,
        ),
        ("woken up with a raging temp", Some(2), Level::Urgent),
        (
            "Ma face is a lot mair swalt the day than it wis yesterday an it's affa het an sair. Third day noo",
            Some(3),
            Level::Urgent,
        ),
    ] {
        let t = e.analyse(text, day, None);
        assert_eq!(t.escalation, level, "{text:?}: {:#?}", t.why);
    }
}

#[test]
fn fevers_as_bare_figures_and_confusion_in_plain_words_count() {
    let e = engine();
    for (text, level) in [
        ("101.5 tonight. face is fine tho", Level::Urgent),
        (
            "red patch spreading fast down my neck, 38.9, heart going like the clappers",
            Level::Emergency,
        ),
        (
            "temp 103.2F, cant really think straight, keep forgetting what im doing",
            Level::Emergency,
        ),
        (
            "Suddenly I am not able to see anything from left eye",
            Level::Emergency,
        ),
    ] {
        let t = e.analyse(text, Some(2), None);
        assert_eq!(t.escalation, level, "{text:?}: {:#?}", t.why);
    }
    // The writer's own cold sore, in a message written for the client, is not the client's.
    let t = e.analyse(
        "I'm her carer and I've got a cold sore myself, is it ok for me to help her put her moisturiser on?",
        Some(1),
        None,
    );
    assert_eq!(t.escalation, Level::None, "{:#?}", t.why);
}

#[test]
fn spelling_correction_never_invents_an_emergency_and_bleeding_that_wont_quit_is_one() {
    let e = engine();
    // "aint" had been corrected to "faint".
    let t = e.analyse(
        "can i touch me face? its proper itchy but i aint scratchin",
        Some(1),
        None,
    );
    assert!(t.escalation < Level::Urgent, "{:#?}", t.why);
    let t = e.analyse(
        "My husband's bleedin from his cheek and it won't quit. I been holdin a rag on it hard goin on twenty five minutes now and it's still a-comin",
        Some(0),
        None,
    );
    assert_eq!(t.escalation, Level::Emergency, "{:#?}", t.why);
}

#[test]
fn emergencies_told_plainly_or_for_someone_present_get_the_emergency_number() {
    let e = engine();
    for text in [
        "shes got hives all over her chest and arms now and she just said she feels faint and went white",
        "I have short breath, cannot walk to kitchen without stop, lips little blue",
        "Carer here. she is very drowsy, I can hardly wake her, she mumbles and goes straight back off",
        "my arm's gone heavy and weak and I can't grip my cup properly. My husband says my words are coming out funny",
        "My partner says I had a full shaking fit on the sofa ten minutes ago and I've bitten my tongue",
        "eyeball is pushing out little, moving eye is very pain, fever also 38.8",
        "my friend fell at the gym and now she is shaking all the body with foam from her mouth",
        "the spot by my ear is bleeding nonstop, pressed a towel on it for half an hour and it cannot stop",
        // Krio and Jamaican: a swollen lip with gasping; a fall with shaking, eyes rolled back, no answer.
        "mi sista lip don swel big big an i no de brit fayn, i de gasp",
        "mi bredda jus drop dung an a shake up, eye dem roll back, him naw ansa mi",
        // A high fever with shaking, and the same question asked again and again: confusion.
        "hes burning up 39.6 and shivering, he keeps asking me the same question",
        // The dropped g; a learner's stroke signs.
        "nicked it shavin and it wont quit bleedin, been pressin a towel on it 20 min, soaked clean through",
        "my wife the face on side left is falling down and she cannot to say the words correct",
        // A child gone floppy and sleepy, lips an odd colour.
        "my little boy got into my bag and ate some numbing cream, hes gone all floppy and sleepy and his lips look a funny colour",
        // A learner's stroke signs; a collapse at a party; a first fit told with question marks.
        "mother is with me, suddenly her mouth going one side and she is not able to talk properly, left hand weak",
        "she just went down on the kitchen floor and isnt really answering us",
        "my bf just had like a fit?? he was shaking on the floor and now hes out of it. never had one before",
    ] {
        let t = e.analyse(text, Some(1), None);
        assert_eq!(t.escalation, Level::Emergency, "{text:?}: {:#?}", t.why);
    }
    // A dizzy spell that passed: "fine now" in a later sentence closes it.
    let t = e.analyse(
        "went a bit dizzy in the chair, had a cup of tea. Feel totally fine now",
        Some(1),
        None,
    );
    assert_eq!(t.escalation, Level::None, "{:#?}", t.why);
}

#[test]
fn a_fall_with_confused_speech_and_sight_gone_dark_on_one_side_are_emergencies() {
    let e = engine();
    for text in [
        "my sister fell down in the bathroom and she is talking anyhow, she is not understanding what we are saying",
        "My sister just fall down for bathroom, she dey wake small but she no dey talk well at all",
        "suddenly I am not seeing anything from my right eye, it is all dark that side",
    ] {
        let t = e.analyse(text, Some(0), None);
        assert_eq!(t.escalation, Level::Emergency, "{text:?}: {:#?}", t.why);
    }
    // "totally normal" is said of her breathing: the lips are not over.
    let t = e.analyse(
        "her lips have swollen up a bit since she got home, she's breathing and talking totally normal",
        Some(1),
        None,
    );
    assert_eq!(t.escalation, Level::Urgent, "{:#?}", t.why);
}

#[test]
fn an_adrenaline_pen_used_is_an_emergency_one_carried_is_not() {
    let e = engine();
    let t = e.analyse(
        "used my epi pen 10 mins ago, feel better now",
        Some(0),
        None,
    );
    assert_eq!(t.escalation, Level::Emergency, "{:#?}", t.why);
    let t = e.analyse(
        "my daughter carries an epi pen for a nut allergy, is she ok to have the skin needling?",
        None,
        None,
    );
    assert!(t.escalation < Level::Urgent, "{:#?}", t.why);
}

#[test]
fn melanesian_pidgin_and_chest_pain_that_spreads_to_the_arm() {
    let e = engine();
    for text in [
        "plis helpim!! maus bilong mi na nek i solap nau, mi no inap pulim win gut",
        "chest blong mi hem barava soa tumas distaem, hem go daon lo left hand blong mi tu",
        "my chest is really sore and it goes down to my left arm",
    ] {
        let t = e.analyse(text, Some(0), None);
        assert_eq!(t.escalation, Level::Emergency, "{text:?}: {:#?}", t.why);
    }
    let t = e.analyse(
        "wara yelo i kam aut long liklik sua long cheek",
        Some(4),
        None,
    );
    assert_eq!(t.escalation, Level::Urgent, "{:#?}", t.why);
    // Soreness where the chest was treated is expected.
    let t = e.analyse(
        "my chest and neck were done yesterday, the chest is a bit sore, is that normal?",
        Some(1),
        None,
    );
    assert!(t.escalation < Level::Urgent, "{:#?}", t.why);
}

#[test]
fn nettle_rash_on_the_body_yellow_stuff_and_a_proxys_product_reaction_are_urgent() {
    let e = engine();
    for (text, day) in [
        (
            "red plaques everywhere on my neck and arms, it itch like nettle",
            2,
        ),
        (
            "skin on my chin open and wet all the time, yellow stuff on top",
            4,
        ),
        (
            "my mums lips have swelled up quite a lot since she put the leftover numbing cream on, her breathing is fine",
            1,
        ),
        (
            "there are led lines going from my cheek down to my neck, that side is swollen",
            3,
        ),
    ] {
        let t = e.analyse(text, Some(day), None);
        assert_eq!(t.escalation, Level::Urgent, "{text:?}: {:#?}", t.why);
    }
}

#[test]
fn a_day_told_as_when_something_happened_does_not_replace_the_known_day() {
    let e = engine();
    let t = e.analyse(
        "tiny bumps came up on my chin day 5 and they are itchy, still there now",
        Some(8),
        None,
    );
    assert_eq!(t.day, Some(8), "{:#?}", t.why);
    // Said to be today's, the client's count wins.
    let t = e.analyse("its day 5 and my face is still pink", Some(8), None);
    assert_eq!(t.day, Some(5), "{:#?}", t.why);
}

#[test]
fn sepsis_collapse_and_confusion_in_learner_and_creole_words_are_emergencies() {
    let e = engine();
    for (text, day) in [
        (
            "now she is cold cold and shivering, her skin is grey and patchy colour, she not done pee since morning",
            1,
        ),
        (
            "she has very high fever, she is shaking and she say strange things, she don't know where is she",
            3,
        ),
        (
            "help oh! mi sista don fodom na grong afta di face needling, i nor de tok, i nor de wek op",
            0,
        ),
        (
            "my sister fell down on the ground, she not talk, she not wake up",
            0,
        ),
        (
            "nek blong mi i stap solap, tang tu i kam bigwan, mi no save swalem wota",
            0,
        ),
        (
            "she burnin up with fever, talkin real stupidness, doh know where she is",
            3,
        ),
    ] {
        let t = e.analyse(text, Some(day), None);
        assert_eq!(t.escalation, Level::Emergency, "{text:?}: {:#?}", t.why);
    }
    for (text, day) in [
        (
            "I'm running a hundred and one, is that from the needling?",
            3,
        ),
        (
            "now the treated skin has small bubbles and it is burning like fire",
            1,
        ),
    ] {
        let t = e.analyse(text, Some(day), None);
        assert!(t.escalation >= Level::Urgent, "{text:?}: {:#?}", t.why);
    }
}

#[test]
fn a_fear_of_pigmentation_or_whether_it_is_likely_is_a_question_not_a_report() {
    let e = engine();
    for text in [
        "I have darker skin and I'm paranoid about pigmentation, anything I should do this week?",
        "my friend got dark patches for months after hers, is that likely for me?",
    ] {
        let t = e.analyse(text, Some(3), None);
        assert_eq!(t.escalation, Level::None, "{text:?}: {:#?}", t.why);
    }
    let t = e.analyse("dark patches appearing on my cheeks", Some(21), None);
    assert_eq!(t.escalation, Level::Routine, "{:#?}", t.why);
}

#[test]
fn the_core_words_of_creoles_and_pidgins_carry_a_report() {
    let e = engine();
    for text in [
        "mi pikin no dey wake, she fall for ground",
        "meh mudda eh breathing good, she bazodee",
        "bros i pen tumas, mi laik dai",
        "mi ago dead, mi cyaan breath",
    ] {
        let t = e.analyse(text, Some(1), None);
        assert_eq!(t.escalation, Level::Emergency, "{text:?}: {:#?}", t.why);
    }
    let t = e.analyse(
        "body dey hot since yesterday and the face dey pain me",
        Some(4),
        None,
    );
    assert!(t.escalation >= Level::Urgent, "{:#?}", t.why);
}

#[test]
fn a_nurses_shorthand_and_a_learners_confusion_are_emergencies() {
    let e = engine();
    for text in [
        "RN here with pt. active bleed R temple, firm direct pressure 20 min not controlled, soaking through gauze",
        "fever very high and she talking not correct, she not know who, very sleepy",
        "a no de ebul breathe fine, mi chest de whistle wen a pul breath",
        "naw im jilip en mi gin nomo wekimap im propa, im fes pel en kol",
    ] {
        let t = e.analyse(text, Some(0), None);
        assert_eq!(t.escalation, Level::Emergency, "{text:?}: {:#?}", t.why);
    }
    for text in [
        "glands in neck is swelled and paining, little fever also is there",
        "my ma right eye swell up so she na able to open it since this morning",
    ] {
        let t = e.analyse(text, Some(5), None);
        assert!(t.escalation >= Level::Urgent, "{text:?}: {:#?}", t.why);
    }
}

#[test]
fn blisters_by_their_water_a_line_of_red_spreading_sores_and_bleeding_that_stops_not() {
    let e = engine();
    for (text, day) in [
        (
            "tiny fluid pockets came up on my cheek after the RF session, they sting",
            1,
        ),
        (
            "there is a line of red creeping from my chin down towards my neck",
            5,
        ),
        (
            "crusty punched out sores spreading over my forehead since this morning",
            3,
        ),
        ("the weeping patches are spreading to my neck", 4),
        ("she skin weep a yellowish matter and feel hot", 5),
    ] {
        let t = e.analyse(text, Some(day), None);
        assert!(t.escalation >= Level::Urgent, "{text:?}: {:#?}", t.why);
    }
    for text in [
        "from my lip it bleeds and bleeds, i press with towel 15 minutes, it stops not",
        "blood coming from the cut on my cheek, holding pressure but it stop not",
    ] {
        let t = e.analyse(text, Some(0), None);
        assert_eq!(t.escalation, Level::Emergency, "{text:?}: {:#?}", t.why);
    }
}

#[test]
fn throbbing_like_a_sunburn_on_the_first_day_is_not_urgent_from_day_two_it_is() {
    let e = engine();
    let text = "my cheeks are throbbing tonight, like a sunburn";
    let early = e.analyse(text, Some(0), None);
    assert!(early.escalation < Level::Urgent, "{:#?}", early.why);
    let later = e.analyse(text, Some(3), None);
    assert!(later.escalation >= Level::Urgent, "{:#?}", later.why);
    // Severity still counts on day 0.
    let severe = e.analyse(
        "throbbing pain 9 out of 10 and paracetamol does nothing",
        Some(0),
        None,
    );
    assert!(severe.escalation >= Level::Urgent, "{:#?}", severe.why);
}

#[test]
fn asking_whether_a_sign_is_usual_reports_it_and_relaying_a_call_asks_for_none() {
    let e = engine();
    let t = e.analyse(
        "I wish to ask whether it is usual for the treated skin to ooze pus on the fifth day",
        Some(5),
        None,
    );
    assert!(t.escalation >= Level::Urgent, "{:#?}", t.why);
    let relayed = e.analyse(
        "relaying a call from a client: can she put her normal moisturiser on tonight?",
        Some(0),
        None,
    );
    assert_eq!(relayed.escalation, Level::None, "{:#?}", relayed.why);
    let asked = e.analyse(
        "missed a call from you this morning, can you try me again",
        None,
        None,
    );
    assert_eq!(asked.escalation, Level::Routine, "{:#?}", asked.why);
}

#[test]
fn a_learners_b_for_p_reads_as_meant() {
    let e = engine();
    let t = e.analyse("is normal the beeling on my nose?", Some(3), None);
    assert_eq!(
        t.intent.as_deref(),
        Some("dryness-flaking-peeling"),
        "{:#?}",
        t.why
    );
}

#[test]
fn a_stroke_and_hives_with_faintness_in_a_learners_words_are_emergencies() {
    let e = engine();
    for text in [
        "my father his mouth is hanging to one side and he can not lift the left arm",
        "she speaks not clear since 5 minutes and her face hangs down one side",
        "big itchy red bumps all over my body and now i feel dizzy and my heart is racing",
        "hives on her arms and chest, she says she is going to pass out",
    ] {
        let t = e.analyse(text, Some(0), None);
        assert_eq!(t.escalation, Level::Emergency, "{text:?}: {:#?}", t.why);
    }
    let hives = e.analyse(
        "big itchy red bumps all over my body since lunch",
        Some(0),
        None,
    );
    assert_eq!(hives.escalation, Level::Urgent, "{:#?}", hives.why);
}

#[test]
fn an_emergency_told_now_counts_beside_what_someone_said_earlier() {
    let e = engine();
    for text in [
        "my sister said she felt off this morning. Now she is on the floor and I can't wake her",
        "mum suddenly fell, she is not opening her eyes and not answering me",
    ] {
        let t = e.analyse(text, Some(1), None);
        assert_eq!(t.escalation, Level::Emergency, "{text:?}: {:#?}", t.why);
    }
    // Someone else's story, told at second hand, is still not a report.
    let story = e.analyse(
        "a friend said she ended up in A&E with a swollen throat after needling, can that happen?",
        None,
        None,
    );
    assert!(story.escalation < Level::Urgent, "{:#?}", story.why);
}

#[test]
fn a_normal_temperature_asked_about_and_a_spell_or_bleed_that_passed_are_not_reports() {
    let e = engine();
    let normal = e.analyse(
        "took my temperature, it's 36.8, is that a fever?",
        Some(0),
        None,
    );
    assert!(normal.escalation < Level::Urgent, "{:#?}", normal.why);
    let raised = e.analyse(
        "took my temperature, it's 38.6, is that a fever?",
        Some(2),
        None,
    );
    assert!(raised.escalation >= Level::Urgent, "{:#?}", raised.why);
    let spell = e.analyse(
        "went dizzy on the couch after, my partner made me tea and I was fine in ten minutes. all good since",
        Some(1),
        None,
    );
    assert!(spell.escalation < Level::Urgent, "{:#?}", spell.why);
    let bleed = e.analyse(
        "one spot was still bleeding on the way home, I pressed a tissue on and it stopped in a few minutes",
        Some(0),
        None,
    );
    assert!(bleed.escalation < Level::Emergency, "{:#?}", bleed.why);
}

#[test]
fn a_grabbed_chest_sudden_blackness_in_one_eye_and_noisy_breathing_are_emergencies() {
    let e = engine();
    for text in [
        "my husband just grabbed his chest, hes sweating and gone pale",
        "since five minutes the right eye became black, i see nothing with it",
        "my son ate a nut bar, now his lips swell and his breathing got noise",
    ] {
        let t = e.analyse(text, Some(1), None);
        assert_eq!(t.escalation, Level::Emergency, "{text:?}: {:#?}", t.why);
    }
    // Scheduling, not a seizure.
    let thanks = e.analyse(
        "thanks for fitting me in yesterday, skin is a bit pink",
        Some(1),
        None,
    );
    assert!(thanks.escalation < Level::Urgent, "{:#?}", thanks.why);
}

#[test]
fn worse_again_one_side_bigger_and_a_pa_writing_for_the_client_are_reports() {
    let e = engine();
    for (text, day) in [
        (
            "is coming back the red and the pain after it was good, today the skin hot",
            5,
        ),
        (
            "day 3. right side bigger than yesterday. hot. sore to touch",
            3,
        ),
        (
            "my pickney madda face full of likkle water bump and it a itch",
            2,
        ),
    ] {
        let t = e.analyse(text, Some(day), None);
        assert!(t.escalation >= Level::Urgent, "{text:?}: {:#?}", t.why);
    }
    let pa = e.analyse(
        "Ms Okafor's PA here. She has noticed faint lines in a grid pattern on her cheeks since her treatment last month",
        Some(30),
        None,
    );
    assert!(pa.escalation >= Level::Routine, "{:#?}", pa.why);
    let settling = e.analyse(
        "yesterday the puffiness under my eyes was worse, but today it's going down nicely",
        Some(2),
        None,
    );
    assert!(settling.escalation < Level::Urgent, "{:#?}", settling.why);
}

#[test]
fn deep_creoles_and_a_dyslexic_writers_emergencies_and_urgent_signs_count() {
    let e = engine();
    for (text, day) in [
        ("mi broda don fodom for di kitchen, i nor de ansa mi", 1),
        ("my tongue is like massive rn cant talk proper", 0),
        ("i lid swolen shut, hurts wen i move my i, seein dubble", 3),
        ("i press with towel 15 minutes, still blood coming a lot", 0),
    ] {
        let t = e.analyse(text, Some(day), None);
        assert_eq!(t.escalation, Level::Emergency, "{text:?}: {:#?}", t.why);
    }
    for (text, day) in [
        ("liklik bol wara i kamap long pes, i hat na i pen", 3),
        ("red lain dem de komot from mi chik go dong mi nek", 3),
        ("mi face did ease up yesterday but today it red up again", 4),
        ("the pain ain lef, e da git wus, tylenol ain do nuttin", 3),
        ("there is matter coming from the marks on my cheek", 4),
        ("little balls with water near my mouth, they burn", 2),
        (
            "i drew round the red patch with a pen and it passed the mark, growing and hot",
            4,
        ),
    ] {
        let t = e.analyse(text, Some(day), None);
        assert!(t.escalation >= Level::Urgent, "{text:?}: {:#?}", t.why);
    }
}

#[test]
fn a_fit_in_bislama_a_krio_throat_breath_misspelt_sight_lost_and_the_worst_headache_are_emergencies()
 {
    let e = engine();
    for text in [
        "brata blong mi i stap seksek olsem fit, hem i no harem mi",
        "mi tong don swell and mi trot de tayt, a nor ebul blo",
        "my husband cant breed properly and his lips are getting huge",
        "cant breeve proply, lips gone big",
        "i not see with my left eye since five minutes, all black",
        "suddenly the worst headache of my life, I have been sick twice",
    ] {
        let t = e.analyse(text, Some(1), None);
        assert_eq!(t.escalation, Level::Emergency, "{text:?}: {:#?}", t.why);
    }
    let abscess = e.analyse(
        "colleague here: fluctuant tender swelling R jaw approx 1cm",
        Some(8),
        None,
    );
    assert!(abscess.escalation >= Level::Urgent, "{:#?}", abscess.why);
}

#[test]
fn krio_in_its_own_orthography_and_a_tok_pisin_eye_that_hurts_to_move_are_emergencies() {
    let e = engine();
    for text in [
        "a nɔ de si natin wit mi rayt yay, i dɔn go dak",
        "ai blong mi i solap, mi no inap lukim gut, i pen taim mi muvim ai",
    ] {
        let t = e.analyse(text, Some(2), None);
        assert_eq!(t.escalation, Level::Emergency, "{text:?}: {:#?}", t.why);
    }
}
