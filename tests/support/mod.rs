pub mod db;
pub mod fake_bot_api;
pub mod scene;
