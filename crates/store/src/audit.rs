//! Reading the audit log. There is no function that edits or deletes an entry.

use crate::error::{Result, StoreError};
use crate::sql::{bind_all, Sql, P};
use crate::Store;
use domain::audit::Actor;
use domain::audit::AuditEntry;
use domain::users::Role;
use domain::{Id, Kind};
use sqlx::Row;

/// What the audit administrator looks for. Times are UTC RFC 3339.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub object_type: Option<String>,
    pub action: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
}

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

    /// The audit log as the audit administrator (审计管理员) reads it: filtered by actor, object
    /// type, action and UTC time span, newest first. Only that role may search it; the search
    /// itself is audited.
    pub async fn audit_search(
        &self,
        reader: &Actor,
        f: &AuditFilter,
        page: i64,
        per_page: i64,
    ) -> Result<(i64, Vec<AuditEntry>)> {
        if reader.role != Role::Auditor {
            return Err(StoreError::Forbidden("只有审计管理员可以查阅审计日志".into()));
        }
        let mut sql = Sql::default();
        let mut conds = Vec::new();
        for (cond, value) in [
            ("actor = ", &f.actor),
            ("object_type = ", &f.object_type),
            ("action = ", &f.action),
            ("at >= ", &f.from),
            ("at < ", &f.to),
        ] {
            if let Some(v) = value.as_deref().filter(|s| !s.is_empty()) {
                conds.push(format!("{cond}{}", sql.param(P::T(v.to_string()))));
            }
        }
        let filter = if conds.is_empty() { String::new() } else { format!(" WHERE {}", conds.join(" AND ")) };
        let total: i64 = bind_all(sqlx::query(&format!("SELECT COUNT(*) FROM audit_log{filter}")), &sql.params)
            .fetch_one(self.pool())
            .await
            .and_then(|r| r.try_get(0))?;
        let lim = sql.param(P::I(per_page.clamp(1, 100_000)));
        let off = sql.param(P::I((page.max(1) - 1) * per_page));
        sql.text = format!(
            "SELECT id, at, actor, action, object_type, object_id, before_json, after_json FROM audit_log{filter} \
             ORDER BY id DESC LIMIT {lim} OFFSET {off}"
        );
        let rows = bind_all(sqlx::query(&sql.text), &sql.params).fetch_all(self.pool()).await?;
        let entries = rows.iter().map(entry).collect::<Result<Vec<_>>>()?;
        let mut tx = self.begin_audited(reader).await?;
        tx.audit("audit_search", "audit_log", None, None, Some(serde_json::to_value(f)?)).await?;
        tx.commit().await?;
        Ok((total, entries))
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
