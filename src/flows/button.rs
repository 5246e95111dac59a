//! What a pressed inline button means. Its callback data is written by [`Button::data`] and read by
//! [`Button::parse`], and nowhere else.
//!
//! Data is written with a version prefix (`v1:consent:yes`), so a later change of meaning can be told from
//! buttons already on clients' screens. Data without a prefix is from before the prefix and still means what it
//! meant. Anything else (a retired button, another version's, forged data) is [`Button::Unknown`], answered as a
//! button that is out of date.

use crate::store::ReportId;
use crate::timeline::StepButton;

/// The prefix of the data this version writes.
const VERSION: &str = "v1:";

/// Telegram's limit on a button's callback data, in bytes.
pub const MAX_DATA_BYTES: usize = 64;

/// Rows of buttons under a message: (label, button).
pub type Buttons = Vec<Vec<(String, Button)>>;

/// A treatment date offered as a button.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TreatedOn {
    Today,
    Yesterday,
}

/// A button the bot shows, as pressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Button {
    /// The consent question: keep my messages (`true`) or not.
    Consent(bool),
    /// A shortcut answer to the treatment date question.
    Treated(TreatedOn),
    /// `/forget`'s question: delete everything (`true`) or keep it.
    Forget(bool),
    /// Under a care-timeline message: all fine, something worries me, or no more of these messages.
    Care(StepButton),
    /// Staff, under an alert: a nurse has seen the report.
    Acknowledge(ReportId),
    /// Staff, under an alert: the report is dealt with.
    Resolve(ReportId),
    /// Data this version does not know: out of date or forged.
    Unknown,
}

impl Button {
    /// Reads a button's callback data. Never fails: what is not a button of this version or of the one before
    /// the version prefix is [`Button::Unknown`].
    pub fn parse(data: &str) -> Button {
        if data.len() > MAX_DATA_BYTES {
            return Button::Unknown;
        }
        // Without the prefix: from before it, and meant the same.
        let body = data.strip_prefix(VERSION).unwrap_or(data);
        let Some((action, argument)) = body.split_once(':') else {
            return Button::Unknown;
        };
        match (action, argument) {
            ("consent", "yes") => Button::Consent(true),
            ("consent", "no") => Button::Consent(false),
            ("treated", "today") => Button::Treated(TreatedOn::Today),
            ("treated", "yesterday") => Button::Treated(TreatedOn::Yesterday),
            ("forget", "yes") => Button::Forget(true),
            ("forget", "no") => Button::Forget(false),
            ("care", "fine") => Button::Care(StepButton::Fine),
            ("care", "worried") => Button::Care(StepButton::Worried),
            ("care", "stop") => Button::Care(StepButton::Stop),
            ("ack", id) => report_id(id).map_or(Button::Unknown, Button::Acknowledge),
            ("res", id) => report_id(id).map_or(Button::Unknown, Button::Resolve),
            _ => Button::Unknown,
        }
    }

    /// The callback data for this button, with the version prefix; at most [`MAX_DATA_BYTES`] long.
    pub fn data(self) -> String {
        let yes_no = |yes: bool| if yes { "yes" } else { "no" };
        let body = match self {
            Button::Consent(yes) => format!("consent:{}", yes_no(yes)),
            Button::Treated(TreatedOn::Today) => "treated:today".to_string(),
            Button::Treated(TreatedOn::Yesterday) => "treated:yesterday".to_string(),
            Button::Forget(yes) => format!("forget:{}", yes_no(yes)),
            Button::Care(StepButton::Fine) => "care:fine".to_string(),
            Button::Care(StepButton::Worried) => "care:worried".to_string(),
            Button::Care(StepButton::Stop) => "care:stop".to_string(),
            Button::Acknowledge(id) => format!("ack:{id}"),
            Button::Resolve(id) => format!("res:{id}"),
            // Never shown; written so that it reads back as itself.
            Button::Unknown => "unknown:".to_string(),
        };
        format!("{VERSION}{body}")
    }
}

/// A report id as written in button data: digits only (no sign, no spaces), within `i64`.
fn report_id(text: &str) -> Option<ReportId> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok().map(ReportId)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_button() -> Vec<Button> {
        vec![
            Button::Consent(true),
            Button::Consent(false),
            Button::Treated(TreatedOn::Today),
            Button::Treated(TreatedOn::Yesterday),
            Button::Forget(true),
            Button::Forget(false),
            Button::Care(StepButton::Fine),
            Button::Care(StepButton::Worried),
            Button::Care(StepButton::Stop),
            Button::Acknowledge(ReportId(0)),
            Button::Acknowledge(ReportId(42)),
            Button::Acknowledge(ReportId(i64::MAX)),
            Button::Resolve(ReportId(7)),
            Button::Resolve(ReportId(i64::MAX)),
            Button::Unknown,
        ]
    }

    #[test]
    fn every_button_reads_back_as_itself_and_fits_telegrams_limit() {
        for button in every_button() {
            let data = button.data();
            assert!(data.starts_with("v1:"), "{data}");
            assert!(data.len() <= MAX_DATA_BYTES, "{data}");
            assert_eq!(Button::parse(&data), button, "{data}");
        }
    }

    #[test]
    fn buttons_from_before_the_version_prefix_still_work() {
        for (data, button) in [
            ("consent:yes", Button::Consent(true)),
            ("consent:no", Button::Consent(false)),
            ("treated:today", Button::Treated(TreatedOn::Today)),
            ("treated:yesterday", Button::Treated(TreatedOn::Yesterday)),
            ("forget:yes", Button::Forget(true)),
            ("forget:no", Button::Forget(false)),
            ("ack:42", Button::Acknowledge(ReportId(42))),
            ("res:42", Button::Resolve(ReportId(42))),
        ] {
            assert_eq!(Button::parse(data), button, "{data}");
            assert_eq!(Button::parse(&button.data()), button, "{data}");
        }
    }

    #[test]
    fn unknown_or_forged_data_is_an_unknown_button() {
        let too_long = format!("v1:ack:{}", "1".repeat(60));
        for data in [
            "",
            ":",
            "v1:",
            "v1",
            "consent",
            "consent:",
            "consent:maybe",
            "CONSENT:YES",
            "consent:yes ",
            "v1:consent:yes:extra",
            "v2:consent:yes",
            "v1:v1:consent:yes",
            "treated:tomorrow",
            "ack:",
            "ack:abc",
            "ack:-5",
            "ack:+5",
            "ack: 5",
            "ack:5x",
            "ack:99999999999999999999",
            "res:1.5",
            "delete:all",
            "unknown:",
            "v1:unknown:",
            "🙂:🙂",
            too_long.as_str(),
        ] {
            assert_eq!(Button::parse(data), Button::Unknown, "{data:?}");
        }
    }
}
