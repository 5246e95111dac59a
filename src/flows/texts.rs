//! The conversation's own words (not medical content, which lives in the intent files).

use crate::engine::{Clinic, Level};
use chrono::NaiveDate;

pub fn welcome(first_name: &str, clinic: &Clinic) -> String {
    format!(
        "Hello {first_name}! I'm the aftercare assistant of {name}. I answer questions about your skin after \
         needling with advice written by the clinic, and I pass anything worrying on to the clinic team.\n\n\
         I can't diagnose or replace a nurse or doctor. In an emergency (trouble breathing, swelling of the \
         tongue or throat, fainting) call {emergency} straight away.\n\n\
         To help you I keep your messages and share worrying ones with the clinic's staff. Is that OK? You can \
         delete everything at any time with /forget.",
        name = clinic.name,
        emergency = clinic.emergency_number
    )
}

pub fn welcome_back(first_name: &str) -> String {
    format!("Welcome back, {first_name}! Ask me anything about your aftercare.")
}

pub const CONSENT_THANKS: &str = "Thank you.";

pub const ASK_DATE: &str =
    "When was your treatment? Tap a button or type the date (for example 21/11 or \"3 days ago\").";

pub fn date_saved(date: NaiveDate, today: NaiveDate) -> String {
    let day = (today - date).num_days();
    format!(
        "Thanks, noted: treatment on {} (day {day} today). Ask me anything, for example \"can I wear makeup \
         tomorrow?\" or \"is this redness normal?\". You can change the date with /treatment.",
        date.format("%A %-d %B")
    )
}

pub fn no_consent(clinic: &Clinic) -> String {
    format!(
        "No problem: I won't keep your messages. Without that I can't pass anything on to the clinic, so please \
         call {} on {} with any questions. If you change your mind, send /start. In an emergency call {}.",
        clinic.name, clinic.phone, clinic.emergency_number
    )
}

pub fn not_passed_on(clinic: &Clinic) -> String {
    format!(
        "I haven't passed this on, because you haven't agreed to me keeping your messages. Please call {} on {} \
         now about it.",
        clinic.name, clinic.phone
    )
}

/// Said with the curated answer to a report when the database cannot be written, so nothing reaches staff yet.
pub fn could_not_pass_on(clinic: &Clinic) -> String {
    format!(
        "I couldn't pass this on to the clinic just now, please call {} on {}.",
        clinic.name, clinic.phone
    )
}

pub fn apology(clinic: &Clinic) -> String {
    format!(
        "Sorry, something went wrong on my side and I couldn't handle that message. If it's about your skin, \
         please call {} on {}. In an emergency call {}.",
        clinic.name, clinic.phone, clinic.emergency_number
    )
}

/// Told in the staff chat when a staff action could not be done after several tries.
pub fn staff_action_failed(error: &str) -> String {
    format!(
        "⚠️ That could not be done (tried several times): {error}. Nothing was changed or sent; please try again, \
         or answer the client another way."
    )
}

pub const NOT_A_REPORT: &str = "That message isn't linked to a report, so nothing was sent. To answer a client, \
reply to the report's alert (it starts with the level and \"report #\").";

/// Told to staff when a client's update could not be handled, because it may have held a report.
pub fn update_set_aside(client_first_name: &str, chat_id: i64, error: &str) -> String {
    format!(
        "⚠️ A message from {client_first_name} (chat {chat_id}) could not be handled after several tries and was set \
         aside. It may hold a report: they were asked to call the clinic. Please look at it. Error: {error}"
    )
}

pub fn photo_needs_consent(clinic: &Clinic) -> String {
    format!(
        "I can pass photos to the clinic team once you've agreed to me keeping your messages (send /start). \
         Or call {} on {}.",
        clinic.name, clinic.phone
    )
}

pub fn help(clinic: &Clinic) -> String {
    format!(
        "I answer aftercare questions after skin needling (washing, makeup, sun, exercise, what's normal on \
         which day) and pass worrying reports to the clinic team. I don't diagnose.\n\n\
         /treatment  set or change your treatment date\n/forget  delete everything stored about you\n\
         /help  this message\n\nYou can also send a photo. Clinic: {} ({}). Emergency: {}.",
        clinic.phone, clinic.opening_hours, clinic.emergency_number
    )
}

pub const FORGET_CONFIRM: &str = "This deletes everything stored about you here: your messages, treatment \
    dates and any reports to the clinic. It can't be undone. Are you sure?";
pub const FORGOTTEN: &str =
    "Done: everything stored about you has been deleted. If you message again, I'll start afresh.";
pub const NOT_FORGOTTEN: &str = "OK, nothing was deleted.";
pub const UNSUPPORTED: &str = "I can only read typed messages and photos. Could you type your question, or \
    describe in a few words what you see?";
pub const STAFF_ONLY: &str = "Sorry, that command is for clinic staff only.";
pub const STAFF_CHAT_ONLY: &str =
    "Sorry, staff commands are for members of the clinic's staff chat only.";
pub const UNKNOWN_COMMAND: &str =
    "I don't know that command. Try /help, or just type your question.";
pub const STALE_BUTTON: &str = "That button is no longer valid. Type /help to see what I can do.";
pub const INVALID_BUTTON: &str = "That button isn't valid.";
pub const ESCALATION_GONE: &str =
    "That report no longer exists (the client may have deleted their data).";
pub const STAFF_HELP: &str = "Staff commands: /open (open reports), /history <client>, /unanswered (questions \
    the bot could not answer), /stats. Reply to an alert to message that client; use the buttons to \
    acknowledge and resolve.";

pub fn added_to_open(photo: bool) -> String {
    if photo {
        "I've added your photo to your earlier report; the clinic team can see it.".into()
    } else {
        "I've added this to your earlier report to the clinic team.".into()
    }
}

pub fn next_steps(level: Level, photo: bool, open: bool, reopens: &str, clinic: &Clinic) -> String {
    let what = if photo { "your photo" } else { "your message" };
    match (level, open) {
        (Level::Emergency, _) => format!(
            "I've also alerted the clinic team. Please don't wait for them: call {} now.",
            clinic.emergency_number
        ),
        (Level::Urgent, true) => format!(
            "I've passed {what} to the clinic team as urgent; a nurse will contact you today. If it gets worse \
             before then, call {}.",
            clinic.phone
        ),
        (Level::Urgent, false) => format!(
            "I've passed {what} to the clinic team as urgent. The clinic is closed right now and opens again \
             {reopens}. Meanwhile, if it gets worse or you feel unwell, contact {}; in an emergency call {}.",
            clinic.out_of_hours, clinic.emergency_number
        ),
        (_, true) => format!(
            "I've passed {what} to the clinic team, who will get back to you within a working day. If it gets \
             worse, call {}.",
            clinic.phone
        ),
        (_, false) => format!(
            "I've passed {what} to the clinic team. They're closed now and will get back to you after they open \
             {reopens}. If it gets worse meanwhile, contact {}; in an emergency call {}.",
            clinic.out_of_hours, clinic.emergency_number
        ),
    }
}

pub fn acknowledged_notice(clinic: &Clinic) -> String {
    format!(
        "A nurse at {} has seen your message and will contact you soon. If anything gets worse, call {}.",
        clinic.name, clinic.phone
    )
}

pub fn resolved_notice(clinic: &Clinic) -> String {
    format!(
        "The clinic team has marked your report as dealt with. If anything changes, message me here or call {}.",
        clinic.phone
    )
}

pub fn relayed(clinic: &Clinic, staff_first_name: &str, text: &str) -> String {
    format!("Message from {} ({staff_first_name}):\n{text}", clinic.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_steps_say_when_the_clinic_is_back_and_what_to_do_meanwhile() {
        let clinic = Clinic {
            phone: "0100".into(),
            emergency_number: "112".into(),
            out_of_hours: "NHS 111".into(),
            ..Clinic::default()
        };
        let closed = next_steps(Level::Urgent, false, false, "Monday at 09:00", &clinic);
        assert!(
            closed.contains("closed right now")
                && closed.contains("Monday at 09:00")
                && closed.contains("contact NHS 111")
                && closed.contains("112")
        );
        let open = next_steps(Level::Urgent, false, true, "", &clinic);
        assert!(open.contains("today") && open.contains("0100"));
        let emergency = next_steps(Level::Emergency, false, true, "", &clinic);
        assert!(emergency.contains("call 112 now"));
        let photo = next_steps(Level::Routine, true, true, "", &clinic);
        assert!(photo.contains("your photo") && photo.contains("working day"));
    }
}
