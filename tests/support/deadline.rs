//! A deadline for a test: one that hangs fails with its name instead of holding up the suite.
#![allow(dead_code)]

use std::future::Future;
use std::time::Duration;

/// Runs a test's body, failing the test if it has not finished within `deadline`. (The test harness names each
/// test's thread after the test.)
pub async fn within(deadline: Duration, body: impl Future<Output = ()>) {
    if tokio::time::timeout(deadline, body).await.is_err() {
        let test = std::thread::current()
            .name()
            .unwrap_or("a test")
            .to_string();
        panic!("{test} did not finish within {deadline:?}");
    }
}
