//! The job queue for billing and dunning runs. With Redis configured, jobs live in the lists
//! `t:<tenant>:jobs` (ready), `…:jobs:processing` (taken, moved back on restart) and
//! `…:jobs:dead` (failed every attempt); without it, in process. Either way the run record in
//! the database is the source of truth, so a lost job is found again at start.

use std::time::Duration;

use fred::{
    clients::Client,
    interfaces::{ClientLike, ListInterface},
    types::lists::LMoveDirection,
};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::error::Error;

/// How many times a job is tried before it goes to the dead-letter list.
pub const MAX_ATTEMPTS: u32 = 3;

/// What became of one execution of a job.
#[derive(Debug)]
pub enum Outcome {
    /// Finished (or nothing left to do).
    Done,
    /// Someone else holds it; try again after this long, without counting an attempt.
    Busy(Duration),
    /// Failed; counts as an attempt.
    Failed(String),
}

/// One queued run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    /// The run to execute.
    pub run: Uuid,
    /// Tries so far.
    pub attempt: u32,
}

/// Where jobs are pushed.
#[derive(Clone)]
pub enum JobQueue {
    /// In process.
    Local(mpsc::UnboundedSender<Job>),
    /// In Redis lists.
    Redis(RedisQueue),
}

/// The Redis lists of one tenant's queue.
#[derive(Clone)]
pub struct RedisQueue {
    client: Client,
    ready: String,
    processing: String,
    dead: String,
}

/// Where the worker takes jobs from.
pub enum JobSource {
    /// In process.
    Local(mpsc::UnboundedReceiver<Job>),
    /// From Redis, on a connection of its own (blocking pops hold it).
    Redis(RedisQueue),
}

impl JobQueue {
    /// An in-process queue.
    pub fn local() -> (Self, JobSource) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Self::Local(tx), JobSource::Local(rx))
    }

    /// A Redis queue for `tenant`: `client` pushes, a new connection pops.
    pub async fn redis(
        client: &Client,
        tenant: &str,
    ) -> Result<(Self, JobSource), fred::error::Error> {
        let lists = |client: Client| RedisQueue {
            client,
            ready: format!("t:{tenant}:jobs"),
            processing: format!("t:{tenant}:jobs:processing"),
            dead: format!("t:{tenant}:jobs:dead"),
        };
        let worker = client.clone_new();
        worker.init().await?;
        let source = lists(worker);
        source.recover().await?;
        Ok((Self::Redis(lists(client.clone())), JobSource::Redis(source)))
    }

    /// Queues a job.
    pub async fn push(&self, job: Job) -> Result<(), Error> {
        match self {
            Self::Local(tx) => tx
                .send(job)
                .map_err(|_| Error::Unavailable("the job queue")),
            Self::Redis(queue) => queue
                .client
                .lpush::<(), _, _>(&queue.ready, encode(job))
                .await
                .map_err(|error| {
                    tracing::error!(%error, "queueing a job in Redis failed");
                    Error::Unavailable("the job queue")
                }),
        }
    }
}

impl JobQueue {
    /// Whether Redis answers (`None` for a queue in process).
    pub async fn ping(&self) -> Option<Result<(), String>> {
        match self {
            Self::Local(_) => None,
            Self::Redis(queue) => Some(
                queue
                    .client
                    .ping::<String>(None)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string()),
            ),
        }
    }

    /// Jobs waiting, or why the queue cannot say.
    pub async fn backlog(&self) -> Result<u64, String> {
        match self {
            Self::Local(tx) if tx.is_closed() => Err("the job worker stopped".into()),
            Self::Local(_) => Ok(0),
            Self::Redis(queue) => queue
                .client
                .llen::<u64, _>(&queue.ready)
                .await
                .map_err(|e| e.to_string()),
        }
    }
}

impl RedisQueue {
    /// Moves jobs a crashed worker had taken back to the ready list.
    async fn recover(&self) -> Result<(), fred::error::Error> {
        let mut moved = 0;
        while self
            .client
            .lmove::<Option<String>, _, _>(
                &self.processing,
                &self.ready,
                LMoveDirection::Right,
                LMoveDirection::Right,
            )
            .await?
            .is_some()
        {
            moved += 1;
        }
        if moved > 0 {
            tracing::info!(moved, "jobs of an interrupted worker queued again");
        }
        Ok(())
    }
}

fn encode(job: Job) -> String {
    serde_json::to_string(&job).unwrap_or_default()
}

impl JobSource {
    /// The next job; `None` when the queue is closed.
    pub async fn next(&mut self) -> Option<Job> {
        match self {
            Self::Local(rx) => rx.recv().await,
            Self::Redis(queue) => loop {
                match queue
                    .client
                    .blmove::<Option<String>, _, _>(
                        &queue.ready,
                        &queue.processing,
                        LMoveDirection::Right,
                        LMoveDirection::Left,
                        5.0,
                    )
                    .await
                {
                    Ok(Some(raw)) => match serde_json::from_str(&raw) {
                        Ok(job) => return Some(job),
                        Err(error) => {
                            tracing::error!(%error, "unreadable job moved to the dead-letter list");
                            let _ = queue
                                .client
                                .lrem::<(), _, _>(&queue.processing, 1, raw.clone())
                                .await;
                            let _ = queue.client.lpush::<(), _, _>(&queue.dead, raw).await;
                        }
                    },
                    Ok(None) => {}
                    // fred can time an empty blocking pop out on its own side: nothing queued.
                    Err(error) if *error.kind() == fred::error::ErrorKind::Timeout => {}
                    Err(error) => {
                        tracing::warn!(%error, "job queue: Redis unavailable; retrying");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            },
        }
    }

    /// Forgets the taken copy of a job: it finished, or it is queued again for another attempt.
    pub async fn forget(&self, job: Job) {
        if let Self::Redis(queue) = self
            && let Err(error) = queue
                .client
                .lrem::<(), _, _>(&queue.processing, 1, encode(job))
                .await
        {
            tracing::warn!(%error, run = %job.run, "removing a taken job from the processing list failed; it runs again (harmlessly) after a restart");
        }
    }

    /// The job failed its last attempt: keep it in the dead-letter list.
    pub async fn bury(&self, job: Job) {
        if let Self::Redis(queue) = self {
            let _ = queue
                .client
                .lrem::<(), _, _>(&queue.processing, 1, encode(job))
                .await;
            if let Err(error) = queue
                .client
                .lpush::<(), _, _>(&queue.dead, encode(job))
                .await
            {
                tracing::error!(%error, run = %job.run, "dead-lettering a job failed");
            }
        }
    }
}

/// Queues `job` again after `pause`.
fn later(queue: &JobQueue, job: Job, pause: Duration) {
    let queue = queue.clone();
    tokio::spawn(async move {
        tokio::time::sleep(pause).await;
        if let Err(error) = queue.push(job).await {
            tracing::error!(%error, run = %job.run, "re-queueing a job failed; it is found again at start");
        }
    });
}

/// Runs jobs one at a time until the queue closes: executes each with `execute`, retries a
/// failure with a growing pause (1 s, 4 s, …) up to [`MAX_ATTEMPTS`], then buries it and lets
/// `give_up` record the failure.
pub async fn work<E, EF, G, GF>(mut source: JobSource, queue: JobQueue, execute: E, give_up: G)
where
    E: Fn(Uuid) -> EF,
    EF: std::future::Future<Output = Outcome>,
    G: Fn(Uuid, String) -> GF,
    GF: std::future::Future<Output = ()>,
{
    while let Some(job) = source.next().await {
        match execute(job.run).await {
            Outcome::Done => source.forget(job).await,
            Outcome::Busy(wait) => {
                source.forget(job).await;
                later(&queue, job, wait);
            }
            Outcome::Failed(error) if job.attempt + 1 < MAX_ATTEMPTS => {
                let pause = Duration::from_secs(4_u64.pow(job.attempt));
                tracing::warn!(run = %job.run, attempt = job.attempt + 1, %error, ?pause, "job failed; retrying");
                source.forget(job).await;
                later(
                    &queue,
                    Job {
                        run: job.run,
                        attempt: job.attempt + 1,
                    },
                    pause,
                );
            }
            Outcome::Failed(error) => {
                tracing::error!(run = %job.run, attempts = job.attempt + 1, %error, "job failed every attempt; dead-lettered");
                source.bury(job).await;
                give_up(job.run, error).await;
            }
        }
    }
}
