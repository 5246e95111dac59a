//! The conversation's own words, typed: each function names the text of `intents/messages.toml` it says and
//! fills that text's own placeholders. The words themselves live only in that file (medical content lives in
//! the intent files); [`Texts`] renders them for the clinic.

use crate::engine::Level;
pub use crate::engine::messages::{Key, Texts};
use chrono::NaiveDate;

pub fn welcome(t: &Texts, first_name: &str) -> String {
    t.fill(Key::Welcome, &[("first_name", first_name)])
}

pub fn welcome_back(t: &Texts, first_name: &str) -> String {
    t.fill(Key::WelcomeBack, &[("first_name", first_name)])
}

pub fn date_saved(t: &Texts, date: NaiveDate, today: NaiveDate) -> String {
    let day = (today - date).num_days().to_string();
    let date = date.format(t.template(Key::LongDateFormat)).to_string();
    t.fill(Key::DateSaved, &[("date", &date), ("day", &day)])
}

/// Told in the staff chat when a staff action could not be done after several tries.
pub fn staff_action_failed(t: &Texts, error: &str) -> String {
    t.fill(Key::StaffActionFailed, &[("error", error)])
}

/// Told to staff when a client's update could not be handled, because it may have held a report.
pub fn update_set_aside(t: &Texts, client_first_name: &str, chat_id: i64, error: &str) -> String {
    let chat_id = chat_id.to_string();
    let args = [
        ("first_name", client_first_name),
        ("chat_id", &chat_id),
        ("error", error),
    ];
    t.fill(Key::UpdateSetAside, &args)
}

pub fn added_to_open(t: &Texts, photo: bool) -> String {
    t.get(if photo {
        Key::AddedPhotoToOpen
    } else {
        Key::AddedToOpen
    })
}

/// What happens next after a report reached staff: `open` whether the clinic is open now, `reopens` when it
/// opens again.
pub fn next_steps(t: &Texts, level: Level, photo: bool, open: bool, reopens: &str) -> String {
    let what = t.get(if photo {
        Key::YourPhoto
    } else {
        Key::YourMessage
    });
    let key = match (level, open) {
        (Level::Emergency, _) => Key::NextStepsEmergency,
        (Level::Urgent, true) => Key::NextStepsUrgentOpen,
        (Level::Urgent, false) => Key::NextStepsUrgentClosed,
        (_, true) => Key::NextStepsRoutineOpen,
        (_, false) => Key::NextStepsRoutineClosed,
    };
    t.fill(key, &[("what", &what), ("reopens", reopens)])
}

pub fn relayed(t: &Texts, staff_first_name: &str, text: &str) -> String {
    t.fill(
        Key::Relayed,
        &[("staff_first_name", staff_first_name), ("text", text)],
    )
}

/// A button pressed on a report someone already acknowledged or resolved.
pub fn already(t: &Texts, resolved: bool, by: &str) -> String {
    let key = if resolved {
        Key::AlreadyResolved
    } else {
        Key::AlreadyAcknowledged
    };
    t.fill(key, &[("staff_first_name", by)])
}

pub fn sent_to_client(t: &Texts, client_first_name: &str) -> String {
    t.fill(Key::SentToClient, &[("first_name", client_first_name)])
}

pub fn no_client_matches(t: &Texts, query: &str) -> String {
    t.fill(Key::NoClientMatches, &[("query", &format!("{query:?}"))])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Clinic, Engine};

    #[test]
    fn next_steps_say_when_the_clinic_is_back_and_what_to_do_meanwhile() {
        let clinic = Clinic {
            phone: Some("0100".into()),
            emergency_number: "112".into(),
            out_of_hours: "NHS 111".into(),
            ..Clinic::default()
        };
        let engine = Engine::embedded(&clinic).expect("shipped intents");
        let t = engine.texts();
        let closed = next_steps(t, Level::Urgent, false, false, "Monday at 09:00");
        assert!(
            closed.contains("closed right now")
                && closed.contains("Monday at 09:00")
                && closed.contains("contact NHS 111")
                && closed.contains("112")
        );
        let open = next_steps(t, Level::Urgent, false, true, "");
        assert!(open.contains("today") && open.contains("0100"));
        let emergency = next_steps(t, Level::Emergency, false, true, "");
        assert!(emergency.contains("call 112 now"));
        let photo = next_steps(t, Level::Routine, true, true, "");
        assert!(photo.contains("your photo") && photo.contains("working day"));
    }
}
