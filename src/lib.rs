//! Aftercare: post-treatment questions answered from curated intents, worrying reports escalated to staff.

pub mod chat;
pub mod cli;
pub mod clock;
pub mod configuration;
pub mod delivery;
pub mod engine;
pub mod eval;
pub mod flows;
pub mod front;
pub mod startup;
pub mod store;
pub mod telegram;
pub mod telemetry;
