pub mod db;
pub mod db_proxy;
pub mod deadline;
pub mod fake_bot_api;
pub mod process;
pub mod scene;

/// The welcome every onboarding starts with: what the bot is not, the emergency number, and the consent button.
#[allow(dead_code)]
pub fn assert_is_the_welcome(text: &str, buttons: &[String]) {
    assert!(text.contains("can't diagnose"), "{text}");
    assert!(
        text.contains("112"),
        "the welcome names the emergency number: {text}"
    );
    assert!(
        buttons.contains(&"v1:consent:yes".to_string()),
        "{buttons:?}"
    );
}
