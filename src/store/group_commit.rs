//! Group commit: writes handed in at the same moment share one transaction or statement, whatever their number,
//! and each caller waits for its own result. Every statement is a hand-off to SQLite's one connection, so
//! statements per update bound the bot's throughput (benches/bot_throughput.rs).

use super::StoreError;
use std::future::Future;
use tokio::sync::{mpsc, oneshot};

type Job<J, O> = (J, oneshot::Sender<Result<O, StoreError>>);

/// A writer task taking jobs of type `J` and answering each with an `O`.
pub struct GroupCommit<J, O> {
    jobs: mpsc::Sender<Job<J, O>>,
}

impl<J, O> Clone for GroupCommit<J, O> {
    fn clone(&self) -> Self {
        GroupCommit {
            jobs: self.jobs.clone(),
        }
    }
}

impl<J: Send + 'static, O: Send + 'static> GroupCommit<J, O> {
    /// Starts the writer on the current Tokio runtime: `write` gets up to `max` jobs that were waiting together
    /// and returns one result per job, in order. It stops when every clone is dropped.
    pub fn start<W, F>(max: usize, write: W) -> Self
    where
        W: Fn(Vec<J>) -> F + Send + 'static,
        F: Future<Output = Vec<Result<O, StoreError>>> + Send,
    {
        let (jobs, mut queue) = mpsc::channel::<Job<J, O>>(4 * max);
        tokio::spawn(async move {
            while let Some(first) = queue.recv().await {
                let mut batch = vec![first];
                while batch.len() < max {
                    match queue.try_recv() {
                        Ok(job) => batch.push(job),
                        Err(_) => break,
                    }
                }
                let (jobs, answers): (Vec<J>, Vec<_>) = batch.into_iter().unzip();
                let count = answers.len();
                let mut results = write(jobs).await.into_iter();
                for answer in answers {
                    let result = results.next().unwrap_or_else(|| {
                        Err(StoreError::Batch(format!(
                            "the group write answered fewer than its {count} jobs"
                        )))
                    });
                    let _ = answer.send(result);
                }
            }
        });
        GroupCommit { jobs }
    }

    /// Hands `job` to the writer and waits until it is written.
    pub async fn write(&self, job: J) -> Result<O, StoreError> {
        let (answer, written) = oneshot::channel();
        self.jobs
            .send((job, answer))
            .await
            .map_err(|_| StoreError::Closed)?;
        written.await.map_err(|_| StoreError::Closed)?
    }
}

/// The same outcome of one write for each of `count` jobs that shared it.
pub(super) fn shared<O: Clone>(
    count: usize,
    result: Result<O, StoreError>,
) -> Vec<Result<O, StoreError>> {
    match result {
        Ok(outcome) => (0..count).map(|_| Ok(outcome.clone())).collect(),
        Err(e) => (0..count)
            .map(|_| Err(StoreError::Batch(e.to_string())))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn jobs_waiting_together_share_one_write_and_each_gets_its_own_answer() {
        let writes = Arc::new(AtomicUsize::new(0));
        let counted = writes.clone();
        let doubler = GroupCommit::start(64, move |jobs: Vec<u32>| {
            counted.fetch_add(1, Ordering::SeqCst);
            async move { jobs.into_iter().map(|j| Ok(j * 2)).collect() }
        });
        let answers = futures::future::join_all((0..100).map(|j| doubler.write(j))).await;
        let answers: Vec<u32> = answers.into_iter().map(|a| a.expect("written")).collect();
        assert_eq!(answers, (0..100).map(|j| j * 2).collect::<Vec<_>>());
        let writes = writes.load(Ordering::SeqCst);
        assert!(
            (2..100).contains(&writes),
            "100 jobs at once in batches of at most 64: {writes} writes"
        );
    }

    #[tokio::test]
    async fn a_write_that_answers_too_few_fails_the_rest_instead_of_hanging() {
        let lossy = GroupCommit::start(8, |_jobs: Vec<u32>| async { Vec::<Result<u32, _>>::new() });
        assert!(matches!(lossy.write(1).await, Err(StoreError::Batch(_))));
    }
}
