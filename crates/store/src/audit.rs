//! Reading the audit log. There is no function that edits or deletes an entry.

use crate::error::{Result, StoreError};
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
        let mut conds = Vec::new();
        let mut params: Vec<String> = Vec::new();
        let mut add = |cond: &str, v: String| {
            params.push(v);
            conds.push(cond.replace('?', &format!("${}", params.len())));
        };
        if let Some(a) = f.actor.as_deref().filter(|s| !s.is_empty()) {
            add("actor = ?", a.to_string());
        }
        if let Some(o) = f.object_type.as_deref().filter(|s| !s.is_empty()) {
            add("object_type = ?", o.to_string());
        }
        if let Some(a) = f.action.as_deref().filter(|s| !s.is_empty()) {
            add("action = ?", a.to_string());
        }
        if let Some(t) = f.from.as_deref().filter(|s| !s.is_empty()) {
            add("at >= ?", t.to_string());
        }
        if let Some(t) = f.to.as_deref().filter(|s| !s.is_empty()) {
            add("at < ?", t.to_string());
        }
        let filter = if conds.is_empty() { String::new() } else { format!(" WHERE {}", conds.join(" AND ")) };
        let count_sql = format!("SELECT COUNT(*) FROM audit_log{filter}");
        let mut q = sqlx::query_scalar::<_, i64>(&count_sql);
        for p in &params {
            q = q.bind(p.as_str());
        }
        let total = q.fetch_one(self.pool()).await?;
        let sql = format!(
            "SELECT id, at, actor, action, object_type, object_id, before_json, after_json FROM audit_log{filter} \
             ORDER BY id DESC LIMIT ${} OFFSET ${}",
            params.len() + 1,
            params.len() + 2
        );
        let mut q = sqlx::query(&sql);
        for p in &params {
            q = q.bind(p.as_str());
        }
        let rows = q.bind(per_page.clamp(1, 100_000)).bind((page.max(1) - 1) * per_page).fetch_all(self.pool()).await?;
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
