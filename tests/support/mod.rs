pub mod db;
pub mod db_proxy;
pub mod deadline;
pub mod fake_bot_api;
pub mod process;
pub mod scene;
