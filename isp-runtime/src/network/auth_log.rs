//! Sign-in records (`auth_events`) by group commit. Each accept or reject is answered only once
//! its record is committed, but the records that arrive while one write is under way go
//! together in the next: a burst of sign-ins costs PostgreSQL one commit per batch rather than
//! one per sign-in, and a lone sign-in waits for nothing but its own write. The commit does not
//! wait for the disk (see [`write`]).

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait};
use tokio::sync::{mpsc, oneshot};

use super::entity::auth_event;
use crate::error::{Error, Result};

/// Records per statement (nine parameters each, well under PostgreSQL's 65,535).
const CHUNK: usize = 1000;

/// A record and where to say it was written.
type Waiting = (auth_event::ActiveModel, oneshot::Sender<bool>);

/// The writer of sign-in records.
#[derive(Debug, Clone)]
pub struct AuthLog(mpsc::Sender<Waiting>);

impl AuthLog {
    /// Starts the writer on `db`; it runs until every handle is dropped.
    pub fn spawn(db: DatabaseConnection, tenant: String) -> Self {
        let (send, mut waiting) = mpsc::channel::<Waiting>(CHUNK * 4);
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(CHUNK);
            while waiting.recv_many(&mut batch, CHUNK).await > 0 {
                let written = match write(&db, &batch).await {
                    Ok(()) => true,
                    Err(e) => {
                        tracing::error!(%tenant, error = %e, count = batch.len(), "writing sign-in records failed");
                        false
                    }
                };
                for (_, done) in batch.drain(..) {
                    // The sign-in may have been given up on (FreeRADIUS timed out): nobody waits.
                    let _ = done.send(written);
                }
            }
        });
        Self(send)
    }

    /// Writes `record`; answers once it is committed, with each record that arrived meanwhile.
    pub async fn record(&self, record: auth_event::ActiveModel) -> Result<()> {
        let (done, written) = oneshot::channel();
        self.0
            .send((record, done))
            .await
            .map_err(|_| Error::Internal("the sign-in record writer stopped".to_owned()))?;
        match written.await {
            Ok(true) => Ok(()),
            Ok(false) => Err(Error::Internal(
                "the sign-in record was not written".to_owned(),
            )),
            Err(_) => Err(Error::Internal(
                "the sign-in record writer stopped".to_owned(),
            )),
        }
    }
}

/// Inserts `batch` in one transaction. On PostgreSQL its commit does not wait for the WAL to
/// reach the disk (`synchronous_commit = off`, this transaction only): the WAL writer flushes
/// it within a fraction of a second. A slow flush (a checkpoint, a busy disk) then no longer
/// holds up every sign-in in flight; what a PostgreSQL crash can lose is the last fraction of
/// a second of sign-in records, never an address or a session, whose commits stay synchronous.
async fn write(db: &DatabaseConnection, batch: &[Waiting]) -> Result<()> {
    let txn = dotmac_sql::begin_write(db).await?;
    if db.get_database_backend() == DbBackend::Postgres {
        txn.execute_unprepared("SET LOCAL synchronous_commit = off")
            .await?;
    }
    auth_event::Entity::insert_many(batch.iter().map(|(record, _)| record.clone()))
        .exec_without_returning(&txn)
        .await?;
    txn.commit().await?;
    Ok(())
}
