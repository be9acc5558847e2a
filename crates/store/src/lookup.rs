//! Finding records by what people write in a spreadsheet: an organization by its credit code,
//! code or name; a project by its code; a batch by its number; any referenced record by the name
//! its lists show. One read per referenced table per import, never one per row.

use crate::error::{Result, StoreError};
use crate::sql::{bind_all, Sql, P};
use crate::Store;
use domain::audit::Actor;
use domain::catalog::{by_table, RECORD_TYPES};
use sqlx::Row;

/// One record that a cell may name.
#[derive(Debug, Clone)]
pub struct Named {
    pub id: i64,
    /// Its code (projects, organizations, types, indicators), when the table has one.
    pub code: Option<String>,
    /// What its lists show (a name, a title, a batch number).
    pub name: String,
    /// An organization's unified social credit code.
    pub credit_code: Option<String>,
    /// The record it hangs under in its own tree (an organization's parent).
    pub parent_id: Option<i64>,
}

/// Tables that catalogued references point to, with the column that names their records.
fn shown_column(table: &str) -> Option<&'static str> {
    RECORD_TYPES.iter().flat_map(|t| t.fields.iter()).find_map(|f| match f.kind {
        domain::catalog::FieldKind::Ref { table: t, show } if t == table => Some(show),
        _ => None,
    })
}

impl Store {
    /// The records of `table` (a table some catalogued field references) that `actor` may see,
    /// with the columns a spreadsheet cell may name them by: a reporter finds only the records
    /// of its own subtree, as its forms offer them.
    pub async fn named_records(&self, actor: &Actor, table: &str) -> Result<Vec<Named>> {
        let show = shown_column(table).ok_or_else(|| StoreError::Forbidden(format!("表 {table} 不能按名称查找")))?;
        let t = by_table(table).ok_or_else(|| StoreError::Forbidden(format!("表 {table} 不在目录中")))?;
        let has_code = matches!(table, "organizations" | "projects");
        let mut sql = Sql::default();
        // An organization is within a reporter's scope through its own path.
        let scope = match self.scope(actor).await? {
            None => None,
            Some(path) if table == "organizations" => {
                Some(format!("t.path LIKE {}", sql.param(P::T(format!("{path}%")))))
            }
            Some(path) => Self::scope_condition(t, &path, &mut sql),
        };
        sql.text = format!(
            "SELECT t.id, {code} AS code, CAST(t.{show} AS TEXT) AS name, {credit} AS credit_code, {parent} AS parent_id \
             FROM {table} t{cond} ORDER BY t.id",
            code = if has_code { "t.code" } else { "NULL" },
            credit = if table == "organizations" { "t.credit_code" } else { "NULL" },
            parent = if table == "organizations" { "t.parent_id" } else { "CAST(NULL AS BIGINT)" },
            cond = scope.map(|c| format!(" WHERE {c}")).unwrap_or_default(),
        );
        let rows = bind_all(sqlx::query(&sql.text), &sql.params).fetch_all(self.pool()).await?;
        rows.iter()
            .map(|r| {
                Ok(Named {
                    id: r.try_get("id")?,
                    code: r.try_get("code")?,
                    name: r.try_get::<Option<String>, _>("name")?.unwrap_or_default(),
                    credit_code: r.try_get("credit_code")?,
                    parent_id: r.try_get("parent_id")?,
                })
            })
            .collect()
    }

    /// The codes and names of a code table (types, brands, indicators).
    pub async fn code_names(&self, table: &str) -> Result<Vec<(String, String)>> {
        if !matches!(table, "pairing_types" | "activity_types" | "brands" | "indicator_defs") {
            return Err(StoreError::Forbidden(format!("表 {table} 不是编码表")));
        }
        let rows = sqlx::query(&format!("SELECT code, name FROM {table} ORDER BY code")).fetch_all(self.pool()).await?;
        rows.iter().map(|r| Ok((r.try_get("code")?, r.try_get("name")?))).collect()
    }

    /// The id of the record of `table` whose `code` column is `code` (projects, organizations,
    /// code tables, indicators), or of the batch numbered `code`.
    pub async fn id_of_code(&self, table: &str, column: &str, code: &str) -> Result<Option<i64>> {
        let ok = matches!(
            (table, column),
            ("projects" | "organizations" | "pairing_types" | "activity_types" | "brands" | "indicator_defs", "code")
                | ("batches", "number")
        );
        if !ok {
            return Err(StoreError::Forbidden(format!("{table}.{column} 不是编码")));
        }
        let sql = format!("SELECT id FROM {table} WHERE CAST({column} AS TEXT) = $1");
        Ok(sqlx::query_scalar(&sql).bind(code.to_string()).fetch_optional(self.pool()).await?)
    }
}
