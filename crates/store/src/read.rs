//! Generic reads: one record or a page of records of any table, as JSON with personal data masked.

use crate::error::Result;
use crate::row::to_json;
use crate::Store;
use domain::{Id, Kind};
use serde::Serialize;
use serde_json::{Map, Value};

/// A page of records.
#[derive(Debug, Clone, Serialize)]
pub struct Page {
    pub total: i64,
    pub offset: i64,
    pub rows: Vec<Map<String, Value>>,
}

/// Tables a generic read may name (callers pass constants, this is a second guard).
const READABLE: &[&str] = &[
    "organizations",
    "programs",
    "batches",
    "people",
    "projects",
    "project_status_events",
    "project_funding",
    "project_outputs",
    "pairings",
    "pairing_types",
    "activities",
    "activity_types",
    "brands",
    "activity_procedures",
    "indicator_defs",
    "indicator_values",
    "indicator_targets",
    "achievements",
    "donations",
    "employment_centres",
    "employment_records",
    "investment_events",
    "investment_projects",
    "figure_defs",
];

fn guard(table: &str) -> Result<()> {
    if READABLE.contains(&table) {
        Ok(())
    } else {
        Err(crate::StoreError::Forbidden(format!("表 {table} 不可读取")))
    }
}

impl Store {
    /// One record by id, masked.
    pub async fn get<K: Kind>(&self, id: Id<K>) -> Result<Option<Map<String, Value>>> {
        guard(K::TABLE)?;
        let sql = format!("SELECT * FROM {} WHERE id = $1", K::TABLE);
        let row = sqlx::query(&sql).bind(id.get()).fetch_optional(self.pool()).await?;
        Ok(row.as_ref().map(to_json))
    }

    /// A page of records ordered by id.
    pub async fn list(&self, table: &str, offset: i64, limit: i64) -> Result<Page> {
        guard(table)?;
        let total: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}")).fetch_one(self.pool()).await?;
        let rows = sqlx::query(&format!("SELECT * FROM {table} ORDER BY id LIMIT $1 OFFSET $2"))
            .bind(limit)
            .bind(offset)
            .fetch_all(self.pool())
            .await?;
        Ok(Page { total, offset, rows: rows.iter().map(to_json).collect() })
    }

    /// Number of records in a table.
    pub async fn count(&self, table: &str) -> Result<i64> {
        guard(table)?;
        Ok(sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}")).fetch_one(self.pool()).await?)
    }

    /// The id of the record of kind `K` with this `code`.
    pub async fn id_by_code<K: Kind>(&self, code: &str) -> Result<Option<Id<K>>> {
        guard(K::TABLE)?;
        let id: Option<i64> = sqlx::query_scalar(&format!("SELECT id FROM {} WHERE code = $1", K::TABLE))
            .bind(code.to_string())
            .fetch_optional(self.pool())
            .await?;
        Ok(id.map(Id::issued))
    }
}
