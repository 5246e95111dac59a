//! Ids that mean different things, so one cannot be passed where another is meant.

use std::fmt;

macro_rules! id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, sqlx::Type)]
        #[sqlx(transparent)]
        pub struct $name(pub i64);

        impl $name {
            /// The number stored in the database.
            pub fn get(self) -> i64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id! {
    /// A client: a person who wrote to the bot (not their Telegram user id).
    ClientId
}

id! {
    /// A report (an escalation): what staff acknowledge and resolve, "report #12" in the staff chat.
    ReportId
}

id! {
    /// A treatment date recorded for a client: the care timeline is sent once per treatment.
    TreatmentId
}

id! {
    /// A queued send in the outbox.
    OutboxId
}

id! {
    /// A Telegram update, as the inbox keeps it: handled once.
    UpdateId
}
