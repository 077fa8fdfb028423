//! Sign-in records (`auth_events`) by group commit. Each accept or reject is answered only once
//! its record is committed, but the records that arrive while one write is under way go
//! together in the next: a burst of sign-ins costs PostgreSQL one commit per batch rather than
//! one per sign-in, and a lone sign-in waits for nothing but its own write. On PostgreSQL the
//! writer has a connection of its own whose commits do not wait for the disk (see
//! [`connection`]), so that a batch is one statement, one round trip.

use sea_orm::{DatabaseConnection, DbBackend, EntityTrait};
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
    /// Starts the writer on `db` (the [`connection`] for sign-in records); it runs until every
    /// handle is dropped.
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

/// The connection sign-in records are written on, for the instance whose pool is `db` and
/// database `url`. On PostgreSQL it is one of their own whose commits do not wait for the WAL
/// to reach the disk: the WAL writer flushes within a fraction of a second, and a slow flush
/// (a checkpoint, a busy disk) then no longer holds up every sign-in in flight. What a crash of
/// PostgreSQL can lose is the last fraction of a second of sign-in records, never an address
/// or a session, whose commits on the instance's pool stay synchronous. On SQLite it is `db`:
/// there is one writer at a time anyway.
pub async fn connection(db: &DatabaseConnection, url: &str) -> Result<DatabaseConnection> {
    Ok(match db.get_database_backend() {
        DbBackend::Postgres => dotmac_sql::connect_async_commit(url, 1).await?,
        _ => db.clone(),
    })
}

/// Inserts `batch`: on PostgreSQL one statement, committed on its own; on SQLite in a
/// transaction that takes the write lock at once, as every writer there does.
async fn write(db: &DatabaseConnection, batch: &[Waiting]) -> Result<()> {
    let insert = auth_event::Entity::insert_many(batch.iter().map(|(record, _)| record.clone()));
    if db.get_database_backend() == DbBackend::Postgres {
        insert.exec_without_returning(db).await?;
    } else {
        let txn = dotmac_sql::begin_write(db).await?;
        insert.exec_without_returning(&txn).await?;
        txn.commit().await?;
    }
    Ok(())
}
