//! Optional persistence of the store in a SQLite file (`--data`), so a restarted devcluster
//! keeps its objects. Writes are applied in order by one task, after the API has answered.

use std::sync::Arc;

use sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement};
use serde_json::Value;
use tokio::sync::mpsc;

use crate::{resources::GroupResource, store::Change};

/// Persistence failed.
#[derive(Debug, thiserror::Error)]
#[error("devcluster data file: {0}")]
pub struct PersistError(#[from] sea_orm::DbErr);

/// An open data file.
#[derive(Debug, Clone)]
pub struct DataFile {
    db: DatabaseConnection,
}

impl DataFile {
    /// Opens (creating when missing) the SQLite file at `path`.
    pub async fn open(path: &std::path::Path) -> Result<Self, PersistError> {
        let db = Database::connect(format!("sqlite://{}?mode=rwc", path.display())).await?;
        db.execute_unprepared(
            "CREATE TABLE IF NOT EXISTS objects (
                grp TEXT NOT NULL, resource TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
                body TEXT NOT NULL, PRIMARY KEY (grp, resource, namespace, name))",
        )
        .await?;
        db.execute_unprepared(
            "CREATE TABLE IF NOT EXISTS revision (id INTEGER PRIMARY KEY CHECK (id = 1), rv INTEGER NOT NULL)",
        )
        .await?;
        Ok(Self { db })
    }

    /// Every stored object with its type; CRDs first so custom types exist before their objects.
    pub async fn load(&self) -> Result<Vec<(GroupResource, Value)>, PersistError> {
        let rows = self
            .db
            .query_all_raw(Statement::from_string(
                DbBackend::Sqlite,
                "SELECT grp, resource, body FROM objects ORDER BY (resource <> 'customresourcedefinitions'), grp, resource",
            ))
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let group: String = row.try_get("", "grp")?;
            let resource: String = row.try_get("", "resource")?;
            let body: String = row.try_get("", "body")?;
            if let Ok(object) = serde_json::from_str(&body) {
                out.push((GroupResource { group, resource }, object));
            }
        }
        Ok(out)
    }

    /// The latest resourceVersion the store had reached (0 for a new file).
    pub async fn revision(&self) -> Result<u64, PersistError> {
        let row = self
            .db
            .query_one_raw(Statement::from_string(
                DbBackend::Sqlite,
                "SELECT rv FROM revision WHERE id = 1",
            ))
            .await?;
        let Some(row) = row else { return Ok(0) };
        let rv: i64 = row.try_get("", "rv")?;
        u64::try_from(rv).map_err(|_| {
            PersistError(sea_orm::DbErr::Custom(format!(
                "stored resourceVersion {rv} is negative"
            )))
        })
    }

    async fn apply(&self, change: &Change) -> Result<(), PersistError> {
        let statement = match change {
            Change::Revision(rv) => Statement::from_sql_and_values(
                DbBackend::Sqlite,
                "INSERT INTO revision (id, rv) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET rv = excluded.rv",
                [i64::try_from(*rv).unwrap_or(i64::MAX).into()],
            ),
            Change::Upsert(gr, ns, name, object) => Statement::from_sql_and_values(
                DbBackend::Sqlite,
                "INSERT INTO objects (grp, resource, namespace, name, body) VALUES (?, ?, ?, ?, ?)
                 ON CONFLICT (grp, resource, namespace, name) DO UPDATE SET body = excluded.body",
                [
                    gr.group.clone().into(),
                    gr.resource.clone().into(),
                    ns.clone().into(),
                    name.clone().into(),
                    object.to_string().into(),
                ],
            ),
            Change::Delete(gr, ns, name) => Statement::from_sql_and_values(
                DbBackend::Sqlite,
                "DELETE FROM objects WHERE grp = ? AND resource = ? AND namespace = ? AND name = ?",
                [
                    gr.group.clone().into(),
                    gr.resource.clone().into(),
                    ns.clone().into(),
                    name.clone().into(),
                ],
            ),
        };
        self.db.execute_raw(statement).await?;
        Ok(())
    }

    /// Applies batches of changes in order until the sender is dropped.
    pub fn spawn_writer(
        self: Arc<Self>,
    ) -> (
        mpsc::UnboundedSender<Vec<Change>>,
        tokio::task::JoinHandle<()>,
    ) {
        let (tx, mut rx) = mpsc::unbounded_channel::<Vec<Change>>();
        let task = tokio::spawn(async move {
            while let Some(batch) = rx.recv().await {
                for change in &batch {
                    if let Err(error) = self.apply(change).await {
                        tracing::error!(%error, "devcluster: persisting a change failed");
                    }
                }
            }
        });
        (tx, task)
    }
}
