//! One lane per chat: a chat's updates are handled one after another, in the order they arrived, while
//! different chats are handled at the same time.
//!
//! teloxide's `Dispatcher` gives the same order with a worker task per chat, but before taking each update it
//! removes idle workers and waits for them one by one. When many chats send one message each, as clients do,
//! that held back the next getUpdates for 20–40 ms at 2,000 updates/s (benches/bot_throughput.rs). Here a lane
//! is only a chain of completions: an update waits for the previous update of its own chat and nothing else.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::oneshot;
use tokio_util::task::TaskTracker;

/// A chat with work queued or running.
struct Lane {
    /// Completes when the last work queued in this lane has finished; the next work waits for it.
    tail: oneshot::Receiver<()>,
    /// Work queued or running in this lane.
    pending: usize,
}

#[derive(Clone, Default)]
pub struct Lanes {
    lanes: Arc<Mutex<HashMap<i64, Lane>>>,
}

impl Lanes {
    /// Starts `work` on `tasks` once the work queued before it in lane `key` has finished (at once without a
    /// key). The order is fixed by the order of the calls, so call it from the one loop that receives updates.
    pub fn spawn<F>(&self, key: Option<i64>, tasks: &TaskTracker, work: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let Some(key) = key else {
            tasks.spawn(work);
            return;
        };
        let (finished, tail) = oneshot::channel();
        let previous = {
            let mut lanes = self.lock();
            match lanes.get_mut(&key) {
                Some(lane) => {
                    lane.pending += 1;
                    Some(std::mem::replace(&mut lane.tail, tail))
                }
                None => {
                    lanes.insert(key, Lane { tail, pending: 1 });
                    None
                }
            }
        };
        let lanes = self.clone();
        tasks.spawn(async move {
            if let Some(previous) = previous {
                // An error only means the previous work ended by panicking: its turn is over all the same.
                let _ = previous.await;
            }
            // Dropped on every exit, a panic included, so the lane never stays blocked.
            let _finished = finished;
            let _leave = LeaveLane { lanes, key };
            work.await;
        });
    }

    /// Work queued or running in lane `key` (none without a key).
    pub fn pending(&self, key: Option<i64>) -> usize {
        key.and_then(|key| self.lock().get(&key).map(|lane| lane.pending))
            .unwrap_or(0)
    }

    /// How many lanes have work queued or running.
    pub fn busy(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Lane>> {
        // The map stays consistent whatever a panicking holder did: each change is complete under the lock.
        self.lanes.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Counts finished work out of its lane, and forgets the lane when it is idle, so idle chats cost nothing.
struct LeaveLane {
    lanes: Lanes,
    key: i64,
}

impl Drop for LeaveLane {
    fn drop(&mut self) {
        let mut lanes = self.lanes.lock();
        if let Some(lane) = lanes.get_mut(&self.key) {
            lane.pending -= 1;
            if lane.pending == 0 {
                lanes.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn recorder() -> (Arc<Mutex<Vec<String>>>, impl Fn(String) + Clone) {
        let log = Arc::new(Mutex::new(Vec::new()));
        let writer = log.clone();
        (log, move |entry| writer.lock().unwrap().push(entry))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_chat_runs_in_order_while_other_chats_overtake_it() {
        let lanes = Lanes::default();
        let tasks = TaskTracker::new();
        let (log, record) = recorder();
        for i in 0..5 {
            let record = record.clone();
            lanes.spawn(Some(1), &tasks, async move {
                // The earliest update is the slowest: without the lane the others would finish first.
                tokio::time::sleep(Duration::from_millis(5 * (5 - i))).await;
                record(format!("chat1:{i}"));
            });
        }
        let record_other = record.clone();
        lanes.spawn(Some(2), &tasks, async move {
            record_other("chat2".to_string());
        });
        assert_eq!(
            lanes.pending(Some(1)),
            5,
            "chat 1 has five updates queued or running"
        );
        assert_eq!(lanes.pending(None), 0);
        tasks.close();
        tasks.wait().await;
        let log = log.lock().unwrap().clone();
        let chat1: Vec<&String> = log.iter().filter(|e| e.starts_with("chat1")).collect();
        assert_eq!(
            chat1,
            ["chat1:0", "chat1:1", "chat1:2", "chat1:3", "chat1:4"]
        );
        assert_eq!(log[0], "chat2", "another chat does not wait: {log:?}");
        assert_eq!(lanes.busy(), 0, "finished lanes are forgotten");
    }

    #[tokio::test]
    async fn a_panic_does_not_block_the_lane() {
        let lanes = Lanes::default();
        let tasks = TaskTracker::new();
        let (log, record) = recorder();
        lanes.spawn(Some(7), &tasks, async {
            panic!("handler bug");
        });
        lanes.spawn(Some(7), &tasks, async move {
            record("after".to_string());
        });
        tasks.close();
        tasks.wait().await;
        assert_eq!(*log.lock().unwrap(), ["after"]);
        assert_eq!(lanes.busy(), 0);
    }

    #[tokio::test]
    async fn work_without_a_chat_runs_at_once() {
        let lanes = Lanes::default();
        let tasks = TaskTracker::new();
        let (log, record) = recorder();
        lanes.spawn(None, &tasks, async move {
            record("free".to_string());
        });
        tasks.close();
        tasks.wait().await;
        assert_eq!(*log.lock().unwrap(), ["free"]);
    }
}
