//! The care timeline: the messages the bot writes first, on days after a client's treatment (check-ins, the
//! rebooking reminder), from the clinic's `care-plan.toml`. [`plan`] reads the file and says what is due (pure);
//! queueing what is due, once per client, treatment and step, is the rest of this module.

pub mod plan;

pub use plan::{CarePlan, SendingWindow, Step, StepButton, StepId, Timeline};
