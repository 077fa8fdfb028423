//! Interim-Updates, coalesced: each carries a session's counters so far, so only the latest per
//! session matters, and one lost in a crash is made good by the next. They are answered at
//! once and written together every half second in one statement per thousand sessions; those
//! that match no live session (no Start seen, or already stopped) then take the one-by-one
//! path of [`sessions::account`].

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, Value};
use uuid::Uuid;

use super::{radius::Attributes, sessions};
use crate::error::Result;

/// How often the waiting updates are written.
const EVERY: Duration = Duration::from_millis(500);
/// Sessions per statement (six parameters each, well under PostgreSQL's 65,535).
const CHUNK: usize = 1000;

/// The latest Interim-Update of each session, waiting to be written.
#[derive(Debug, Default, Clone)]
pub struct Interims(Arc<Mutex<HashMap<(Uuid, String), Attributes>>>);

impl Interims {
    /// Keeps `attrs`, an Interim-Update from `nas` for session `acct_session`, replacing an
    /// older one of the same session.
    pub fn keep(&self, nas: Uuid, acct_session: String, attrs: Attributes) {
        if let Ok(mut waiting) = self.0.lock() {
            waiting.insert((nas, acct_session), attrs);
        }
    }

    fn take(&self) -> HashMap<(Uuid, String), Attributes> {
        self.0
            .lock()
            .map(|mut waiting| std::mem::take(&mut *waiting))
            .unwrap_or_default()
    }

    /// Writes what waits every half second, until the process ends.
    pub fn spawn_writer(&self, db: DatabaseConnection, tenant: String) {
        let interims = self.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(EVERY);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                if let Err(e) = interims.write(&db).await {
                    tracing::warn!(%tenant, error = %e, "writing interim updates failed; the next ones carry their counters");
                }
            }
        });
    }

    /// Writes every waiting update. Those a failed write leaves unwritten wait for the next
    /// one, unless a newer update of their session arrived meanwhile.
    pub async fn write(&self, db: &DatabaseConnection) -> Result<()> {
        let mut waiting: Vec<((Uuid, String), Attributes)> = self.take().into_iter().collect();
        while !waiting.is_empty() {
            let rest = waiting.split_off(waiting.len().min(CHUNK));
            if let Err(e) = write_chunk(db, &waiting).await {
                self.put_back(waiting.into_iter().chain(rest));
                return Err(e);
            }
            waiting = rest;
        }
        Ok(())
    }

    fn put_back(&self, unwritten: impl Iterator<Item = ((Uuid, String), Attributes)>) {
        if let Ok(mut waiting) = self.0.lock() {
            for (key, attrs) in unwritten {
                waiting.entry(key).or_insert(attrs);
            }
        }
    }
}

/// Writes `chunk`: the live sessions in one statement, the others one by one.
async fn write_chunk(
    db: &DatabaseConnection,
    chunk: &[((Uuid, String), Attributes)],
) -> Result<()> {
    let matched = update(db, chunk).await?;
    for ((nas, session), attrs) in chunk {
        if !matched.contains(&(*nas, session.clone())) {
            let txn = dotmac_sql::begin_write(db).await?;
            sessions::account(&txn, *nas, attrs).await?;
            txn.commit().await?;
        }
    }
    Ok(())
}

/// Updates the live sessions of `chunk` in one statement; answers those it found. Counters
/// only grow: an older update arriving late does not take them back.
async fn update(
    db: &DatabaseConnection,
    chunk: &[((Uuid, String), Attributes)],
) -> Result<Vec<(Uuid, String)>> {
    let backend = db.get_database_backend();
    let greatest = if backend == DbBackend::Postgres {
        "GREATEST"
    } else {
        "MAX"
    };
    let now = chrono::Utc::now();
    let mut rows = Vec::with_capacity(chunk.len());
    let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 6 + 1);
    values.push(now.into());
    for ((nas, session), attrs) in chunk {
        let at = values.len() + 1;
        let uuid_cast = if backend == DbBackend::Postgres {
            "::uuid"
        } else {
            ""
        };
        let bigint = if backend == DbBackend::Postgres {
            "::bigint"
        } else {
            ""
        };
        rows.push(format!(
            "(${at}{uuid_cast}, ${}, ${}{bigint}, ${}{bigint}, ${}{bigint}, ${})",
            at + 1,
            at + 2,
            at + 3,
            at + 4,
            at + 5
        ));
        values.push((*nas).into());
        values.push(session.clone().into());
        values.push(
            attrs
                .octets("Acct-Input-Octets", "Acct-Input-Gigawords")
                .into(),
        );
        values.push(
            attrs
                .octets("Acct-Output-Octets", "Acct-Output-Gigawords")
                .into(),
        );
        values.push(
            i64::try_from(attrs.number("Acct-Session-Time").unwrap_or(0))
                .unwrap_or(i64::MAX)
                .into(),
        );
        values.push(attrs.text("Framed-IP-Address").into());
    }
    let sql = format!(
        "UPDATE radius_sessions SET \
         input_octets = {greatest}(radius_sessions.input_octets, v.input), \
         output_octets = {greatest}(radius_sessions.output_octets, v.output), \
         session_seconds = {greatest}(radius_sessions.session_seconds, v.seconds), \
         framed_address = COALESCE(radius_sessions.framed_address, v.framed), \
         updated_at = $1 \
         FROM (SELECT column1 AS nas, column2 AS sid, column3 AS input, column4 AS output, \
         column5 AS seconds, column6 AS framed FROM (VALUES {}) AS t) AS v \
         WHERE radius_sessions.nas_id = v.nas AND radius_sessions.acct_session_id = v.sid \
         AND radius_sessions.stopped_at IS NULL \
         RETURNING radius_sessions.nas_id, radius_sessions.acct_session_id",
        rows.join(", ")
    );
    let found = db
        .query_all_raw(Statement::from_sql_and_values(backend, sql, values))
        .await?;
    found
        .iter()
        .map(|row| Ok((row.try_get_by_index(0)?, row.try_get_by_index(1)?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn interim(input: u64) -> Attributes {
        serde_json::from_value(serde_json::json!({"Acct-Input-Octets": {"value": [input]}}))
            .unwrap()
    }

    #[test]
    fn an_update_put_back_never_replaces_a_newer_one() {
        let interims = Interims::default();
        let key = (Uuid::nil(), "s1".to_owned());
        interims.keep(key.0, key.1.clone(), interim(3000));
        interims.put_back([(key.clone(), interim(2000))].into_iter());
        let waiting = interims.take();
        assert_eq!(waiting.len(), 1);
        assert_eq!(waiting[&key].number("Acct-Input-Octets"), Some(3000));
        interims.put_back([(key.clone(), interim(2000))].into_iter());
        assert_eq!(
            interims.take()[&key].number("Acct-Input-Octets"),
            Some(2000),
            "with none newer, it waits for the next write"
        );
    }
}
