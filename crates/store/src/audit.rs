//! Reading the audit log. There is no function that edits or deletes an entry.

use crate::error::Result;
use crate::Store;
use domain::audit::AuditEntry;
use domain::{Id, Kind};
use sqlx::Row;

impl Store {
    /// Audit entries of one object, oldest first.
    pub async fn audit_of<K: Kind>(&self, id: Id<K>) -> Result<Vec<AuditEntry>> {
        self.audit_of_table(K::TABLE, id.get()).await
    }

    /// Audit entries of the row `id` of `table`, oldest first.
    pub(crate) async fn audit_of_table(&self, table: &str, id: i64) -> Result<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT id, at, actor, action, object_type, object_id, before_json, after_json FROM audit_log \
             WHERE object_type = $1 AND object_id = $2 ORDER BY id",
        )
        .bind(table.to_string())
        .bind(id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(entry).collect()
    }

    /// The most recent `n` entries, newest first.
    pub async fn audit_recent(&self, n: i64) -> Result<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT id, at, actor, action, object_type, object_id, before_json, after_json FROM audit_log \
             ORDER BY id DESC LIMIT $1",
        )
        .bind(n)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(entry).collect()
    }

    pub async fn audit_count(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM audit_log").fetch_one(self.pool()).await?)
    }
}

fn entry(r: &sqlx::any::AnyRow) -> Result<AuditEntry> {
    let parse = |s: Option<String>| -> Result<Option<serde_json::Value>> {
        Ok(match s {
            Some(t) => Some(serde_json::from_str(&t)?),
            None => None,
        })
    };
    Ok(AuditEntry {
        id: r.try_get(0)?,
        at: r.try_get(1)?,
        actor: r.try_get(2)?,
        action: r.try_get(3)?,
        object_type: r.try_get(4)?,
        object_id: r.try_get(5)?,
        before: parse(r.try_get(6)?)?,
        after: parse(r.try_get(7)?)?,
    })
}
