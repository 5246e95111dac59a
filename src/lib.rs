//! Aftercare: post-treatment questions answered from curated intents, worrying reports escalated to staff.

pub mod cli;
pub mod configuration;
pub mod engine;
pub mod eval;
pub mod store;
pub mod telemetry;
