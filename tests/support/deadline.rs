//! A deadline for a test: one that hangs fails with its name instead of holding up the suite.
#![allow(dead_code)]

use std::future::Future;
use std::time::Duration;

/// Runs a test's body and gives what it returns, failing the test if it has not finished within `deadline`. (The
/// test harness names each test's thread after the test.)
pub async fn within<T>(deadline: Duration, body: impl Future<Output = T>) -> T {
    match tokio::time::timeout(deadline, body).await {
        Ok(done) => done,
        Err(_) => {
            let test = std::thread::current()
                .name()
                .unwrap_or("a test")
                .to_string();
            panic!("{test} did not finish within {deadline:?}");
        }
    }
}
