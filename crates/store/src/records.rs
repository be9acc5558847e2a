//! Reading records as users browse them: lists with filters, text search, sorting and pages, and
//! single records, every query scoped by the reader's role and organization in SQL. The record
//! types and their fields come from `domain::catalog`; nothing else can reach the SQL here.
//!
//! Scope: the front command (项目管理) and readers (查看) see the whole program; a reporter
//! (填报员) sees the records placed in its organization or below it (through the catalogue's
//! owner columns); the three administrators see no business records. Shared reference data
//! (batches, types, indicator definitions) is visible to every business role.

use crate::error::{Result, StoreError};
use crate::row::to_json;
use crate::sql::{bind_all, bind_all_as, Sql, P};
use crate::Store;
use domain::audit::{Actor, AuditEntry};
use domain::catalog::{Field, FieldKind, RecordType};
use domain::regions::RegionCode;
use domain::users::Role;
use serde_json::{Map, Value};
use sqlx::Any;
use std::collections::HashSet;

/// What a list shows.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// (field, value) for fields the catalogue marks as filters.
    pub filters: Vec<(String, String)>,
    /// Words to look for in the searchable columns.
    pub q: Option<String>,
    /// A field to sort by (default: newest first by id).
    pub sort: Option<String>,
    pub desc: bool,
    /// 1-based.
    pub page: i64,
    pub per_page: i64,
}

/// One page of a list.
#[derive(Debug, Clone)]
pub struct Listed {
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
    /// Each row: its columns, and for a reference `FIELD__show`, the name it shows.
    pub rows: Vec<Map<String, Value>>,
}

fn bad(field: &str, label: &str, message: String) -> StoreError {
    domain::Invalid::new(field, label, "筛选条件须符合字段格式", message).into()
}

/// The joins that give each reference field its shown name, and the select list.
fn select(t: &RecordType) -> (String, String) {
    let mut cols = vec!["t.*".to_string()];
    let mut joins = String::new();
    for (i, f) in t.fields.iter().enumerate() {
        let j = format!("j{i}");
        match f.kind {
            FieldKind::Ref { table, show } => {
                joins.push_str(&format!(" LEFT JOIN {table} {j} ON {j}.id = t.{}", f.name));
                cols.push(format!("CAST({j}.{show} AS TEXT) AS {}__show", f.name));
            }
            FieldKind::CodeRef { table } => {
                joins.push_str(&format!(" LEFT JOIN {table} {j} ON {j}.code = t.{}", f.name));
                cols.push(format!("{j}.name AS {}__show", f.name));
            }
            FieldKind::Region => {
                joins.push_str(&format!(" LEFT JOIN regions {j} ON {j}.code = t.{}", f.name));
                cols.push(format!("{j}.name AS {}__show", f.name));
            }
            _ => {}
        }
    }
    (cols.join(", "), joins)
}

/// The table a reference field points to.
fn ref_table(t: &RecordType, col: &str) -> Option<&'static str> {
    match t.field(col)?.kind {
        FieldKind::Ref { table, .. } => Some(table),
        _ => None,
    }
}

impl Store {
    /// The organization path that scopes `actor`, or `None` for the whole program. Refuses the
    /// administrator roles, which see no business records.
    async fn scope(&self, actor: &Actor) -> Result<Option<String>> {
        match actor.role {
            Role::Manager | Role::Viewer => Ok(None),
            Role::Reporter => {
                let org = actor.org_id.ok_or_else(|| StoreError::Forbidden("填报员账户未指定所属单位".into()))?;
                let path: Option<String> = sqlx::query_scalar("SELECT path FROM organizations WHERE id = $1")
                    .bind(org.get())
                    .fetch_optional(self.pool())
                    .await?;
                match path {
                    Some(p) if p.len() > 2 => Ok(Some(p)),
                    _ => Err(StoreError::Integrity(format!("填报员所属单位 {org} 的层级路径无效"))),
                }
            }
            Role::SysAdmin | Role::SecAdmin | Role::Auditor => {
                Err(StoreError::Forbidden(format!("角色“{}”不能查看业务数据", actor.role.label())))
            }
        }
    }

    /// The condition that keeps a scoped reader inside its subtree.
    fn scope_condition(t: &RecordType, path: &str, sql: &mut Sql) -> Option<String> {
        if t.owners.is_empty() {
            return None;
        }
        let ph = sql.param(P::T(format!("{path}%")));
        let mut any = Vec::new();
        for owner in t.owners {
            match owner.split_once('.') {
                None => any.push(format!(
                    "EXISTS (SELECT 1 FROM organizations so WHERE so.id = t.{owner} AND so.path LIKE {ph})"
                )),
                Some((col, sub)) => {
                    if let Some(rt) = ref_table(t, col) {
                        any.push(format!(
                            "EXISTS (SELECT 1 FROM {rt} pr JOIN organizations so ON so.id = pr.{sub} \
                             WHERE pr.id = t.{col} AND so.path LIKE {ph})"
                        ));
                    }
                }
            }
        }
        if any.is_empty() {
            Some("1 = 0".into())
        } else {
            Some(format!("({})", any.join(" OR ")))
        }
    }

    fn filter_condition(f: &Field, value: &str, sql: &mut Sql) -> Result<String> {
        let v = value.trim();
        let label = f.zh;
        Ok(match f.kind {
            FieldKind::Ref { .. } | FieldKind::Int | FieldKind::Flag => {
                let n: i64 = v.parse().map_err(|_| bad(f.name, label, format!("{label}“{v}”不是整数")))?;
                format!("t.{} = {}", f.name, sql.param(P::I(n)))
            }
            FieldKind::Region => {
                let code = RegionCode::parse(v).map_err(StoreError::from)?;
                format!("t.{} LIKE {}", f.name, sql.param(P::T(format!("{}%", code.subtree_prefix()))))
            }
            FieldKind::Code(list) => {
                if !list.iter().any(|(c, _)| *c == v) {
                    return Err(bad(f.name, label, format!("{label}没有“{v}”这一项")));
                }
                format!("t.{} = {}", f.name, sql.param(P::T(v.to_string())))
            }
            _ => format!("t.{} = {}", f.name, sql.param(P::T(v.to_string()))),
        })
    }

    /// One page of records of type `t` that `actor` may see.
    pub async fn records(&self, actor: &Actor, t: &RecordType, q: &ListQuery) -> Result<Listed> {
        let scope = self.scope(actor).await?;
        let (cols, joins) = select(t);
        let mut sql = Sql::default();
        let mut conds = Vec::new();
        if let Some(path) = &scope {
            conds.extend(Self::scope_condition(t, path, &mut sql));
        }
        for (name, value) in &q.filters {
            if value.trim().is_empty() {
                continue;
            }
            let f = t
                .field(name)
                .filter(|f| f.filter)
                .ok_or_else(|| bad(name, name, format!("{}不能按“{name}”筛选", t.zh)))?;
            conds.push(Self::filter_condition(f, value, &mut sql)?);
        }
        if let Some(words) = q.q.as_deref().map(str::trim).filter(|w| !w.is_empty()) {
            if !t.search.is_empty() {
                let escaped = words.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
                let ph = sql.param(P::T(format!("%{}%", escaped.to_lowercase())));
                let any: Vec<String> = t.search.iter().map(|c| format!("LOWER(t.{c}) LIKE {ph} ESCAPE '\\'")).collect();
                conds.push(format!("({})", any.join(" OR ")));
            }
        }
        let filter = if conds.is_empty() { String::new() } else { format!(" WHERE {}", conds.join(" AND ")) };
        let count_sql = format!("SELECT COUNT(*) FROM {} t{filter}", t.table);
        let total: i64 = bind_all(sqlx::query(&count_sql), &sql.params)
            .fetch_one(self.pool())
            .await
            .and_then(|r| sqlx::Row::try_get(&r, 0))?;
        let order = match q.sort.as_deref().and_then(|s| t.field(s)) {
            Some(f) if !matches!(f.kind, FieldKind::Secret) => {
                // Empty values last on both backends (they order NULLs differently).
                let dir = if q.desc { "DESC" } else { "ASC" };
                format!("(t.{n} IS NULL), t.{n} {dir}, t.id {dir}", n = f.name)
            }
            _ => "t.id DESC".to_string(),
        };
        let per_page = q.per_page.clamp(1, 500);
        let page = q.page.max(1);
        let lim = sql.param(P::I(per_page));
        let off = sql.param(P::I((page - 1) * per_page));
        sql.text = format!("SELECT {cols} FROM {} t{joins}{filter} ORDER BY {order} LIMIT {lim} OFFSET {off}", t.table);
        let rows = bind_all(sqlx::query(&sql.text), &sql.params).fetch_all(self.pool()).await?;
        Ok(Listed { total, page, per_page, rows: rows.iter().map(to_json).collect() })
    }

    /// Of the records `ids` of type `t`, those `actor` may open (all of them for an unscoped
    /// reader). Listings of the records behind a figure show only these.
    pub async fn visible_ids(&self, actor: &Actor, t: &RecordType, ids: &[i64]) -> Result<HashSet<i64>> {
        let Some(path) = self.scope(actor).await? else { return Ok(ids.iter().copied().collect()) };
        let mut out = HashSet::new();
        for chunk in ids.chunks(500) {
            let mut sql = Sql::default();
            let phs: Vec<String> = chunk.iter().map(|i| sql.param(P::I(*i))).collect();
            let mut cond = format!("t.id IN ({})", phs.join(", "));
            if let Some(c) = Self::scope_condition(t, &path, &mut sql) {
                cond.push_str(&format!(" AND {c}"));
            }
            sql.text = format!("SELECT t.id FROM {} t WHERE {cond}", t.table);
            let rows =
                bind_all_as(sqlx::query_as::<Any, (i64,)>(&sql.text), &sql.params).fetch_all(self.pool()).await?;
            out.extend(rows.into_iter().map(|(id,)| id));
        }
        Ok(out)
    }

    /// One record of type `t`, if it exists and `actor` may see it (`None` otherwise: a record
    /// outside one's scope is not there, as far as the reader can tell).
    pub async fn record(&self, actor: &Actor, t: &RecordType, id: i64) -> Result<Option<Map<String, Value>>> {
        let scope = self.scope(actor).await?;
        let (cols, joins) = select(t);
        let mut sql = Sql::default();
        let idp = sql.param(P::I(id));
        let mut cond = format!("t.id = {idp}");
        if let Some(path) = &scope {
            if let Some(c) = Self::scope_condition(t, path, &mut sql) {
                cond.push_str(&format!(" AND {c}"));
            }
        }
        sql.text = format!("SELECT {cols} FROM {} t{joins} WHERE {cond}", t.table);
        let row = bind_all(sqlx::query(&sql.text), &sql.params).fetch_optional(self.pool()).await?;
        Ok(row.as_ref().map(to_json))
    }

    /// The organizations `actor` may place records in, in tree order: (id, name, depth, side).
    pub async fn org_tree(&self, actor: &Actor) -> Result<Vec<(i64, String, usize, String)>> {
        let scope = self.scope(actor).await?;
        let rows: Vec<(i64, String, String, String)> =
            sqlx::query_as("SELECT id, name, path, side FROM organizations WHERE path LIKE $1 ORDER BY side, path")
                .bind(format!("{}%", scope.unwrap_or_else(|| "/".into())))
                .fetch_all(self.pool())
                .await?;
        Ok(rows
            .into_iter()
            .map(|(id, name, path, side)| (id, name, path.matches('/').count().saturating_sub(2), side))
            .collect())
    }

    /// The program records are entered for (the first; one deployment per program today).
    pub async fn default_program(&self) -> Result<domain::ids::ProgramId> {
        let id: Option<i64> =
            sqlx::query_scalar("SELECT id FROM programs ORDER BY id LIMIT 1").fetch_optional(self.pool()).await?;
        id.map(domain::ids::ProgramId::issued)
            .ok_or_else(|| StoreError::NotFound { what: "援疆工作", id: "（尚未登记）".into() })
    }

    /// Record that `actor` asked for a record it may not see (or that does not exist).
    pub async fn log_denied(&self, actor: &Actor, table: &str, id: i64) -> Result<()> {
        let mut tx = self.begin_audited(actor).await?;
        tx.audit("read_denied", table, Some(id), None, None).await?;
        tx.commit().await
    }

    /// The audit history of one record of `t`, oldest first.
    pub async fn history(&self, t: &RecordType, id: i64) -> Result<Vec<AuditEntry>> {
        self.audit_of_table(t.table, id).await
    }
}
