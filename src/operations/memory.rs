//! Gives the memory a burst of work freed back to the system. glibc keeps what each thread freed in that
//! thread's arena for reuse, so after a burst of clients `serve` stayed about 9 MB above its idle size although it
//! keeps nothing per client (`cargo bench --bench bot_throughput -- --memory`). Once a second passes with no
//! decision after some were made, the free pages are handed back. And `serve` keeps to two arenas: glibc's default
//! of eight per core gives each busy thread its own heap to hold freed memory in.

use crate::flows::Service;
use std::time::Duration;
use tokio::sync::watch;

/// How long the bot must have decided nothing before the freed memory is given back.
const QUIET: Duration = Duration::from_secs(1);

pub async fn run(service: Service, stopped: watch::Receiver<bool>) {
    after_each_burst(
        || service.metrics.decisions(),
        || {
            let released = release_freed_memory();
            tracing::debug!(released, "gave freed memory back after a burst");
        },
        stopped,
    )
    .await;
}

/// Calls `release` once each time `work` (a count of work done) has stood still for `QUIET` after moving.
async fn after_each_burst(
    work: impl Fn() -> u64,
    mut release: impl FnMut(),
    mut stopped: watch::Receiver<bool>,
) {
    let mut seen = work();
    let mut worked = false;
    let mut tick = tokio::time::interval(QUIET);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stopped.changed() => return,
        }
        let now = work();
        if now != seen {
            seen = now;
            worked = true;
        } else if std::mem::take(&mut worked) {
            release();
        }
    }
}

/// How many heaps glibc keeps for `serve`'s threads: the machines it runs on have one or two cores.
const ARENAS: i32 = 2;

/// Limits glibc to `ARENAS` heaps, unless the operator set `MALLOC_ARENA_MAX` (glibc reads that itself). Call
/// before the runtime starts its threads.
pub fn use_few_arenas() {
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        limit_arenas(ARENAS);
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[expect(unsafe_code, reason = "glibc's mallopt has no safe binding")]
fn limit_arenas(arenas: i32) {
    // SAFETY: mallopt takes two integers and only changes glibc's own settings.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, arenas);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn limit_arenas(_arenas: i32) {}

/// Asks glibc to return the free pages of every arena (`malloc_trim(0)`); true when it gave some back.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[expect(
    unsafe_code,
    reason = "glibc's malloc_trim has no safe binding; it is the one call that hands freed arena pages back"
)]
fn release_freed_memory() -> bool {
    // SAFETY: malloc_trim takes no pointers and touches only glibc's own free lists, under each arena's lock.
    unsafe { libc::malloc_trim(0) == 1 }
}

/// Other allocators (musl, macOS, Windows) give large freed blocks back by themselves.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn release_freed_memory() -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

    #[tokio::test(start_paused = true)]
    async fn memory_is_given_back_once_after_each_burst_and_never_while_busy() {
        let work = Arc::new(AtomicU64::new(0));
        let releases = Arc::new(AtomicUsize::new(0));
        let (stop, stopped) = watch::channel(false);
        let watcher = tokio::spawn({
            let (work, releases) = (work.clone(), releases.clone());
            async move {
                after_each_burst(
                    || work.load(Ordering::Relaxed),
                    || {
                        releases.fetch_add(1, Ordering::Relaxed);
                    },
                    stopped,
                )
                .await
            }
        });
        let wait = |d: u64| tokio::time::sleep(Duration::from_millis(d));
        wait(5_000).await;
        assert_eq!(releases.load(Ordering::Relaxed), 0, "idle from the start");
        // Busy for five seconds: a decision every 200 ms.
        for _ in 0..25 {
            work.fetch_add(1, Ordering::Relaxed);
            wait(200).await;
        }
        assert_eq!(releases.load(Ordering::Relaxed), 0, "busy");
        wait(3_000).await;
        assert_eq!(releases.load(Ordering::Relaxed), 1, "once, after the burst");
        wait(10_000).await;
        assert_eq!(releases.load(Ordering::Relaxed), 1, "not again while idle");
        work.fetch_add(1, Ordering::Relaxed);
        wait(3_000).await;
        assert_eq!(releases.load(Ordering::Relaxed), 2, "after the next burst");
        stop.send(true).unwrap();
        watcher.await.unwrap();
    }
}
