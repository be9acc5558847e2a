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
use domain::people::Reveal;
use domain::regions::RegionCode;
use domain::users::Role;
use domain::Date;
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
    /// Records on or after this date, by the type's date field (`RecordType::date`).
    pub from: Option<Date>,
    /// Records on or before this date, by the type's date field.
    pub to: Option<Date>,
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
    /// Each row: its columns, and for a reference `FIELD__show`, the name it shows (and
    /// `FIELD__code`, the code of a referenced organization or project).
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
                // A record with a code (an organization, a project) is also given by its code,
                // which an export carries for re-import.
                if domain::catalog::by_table(table).is_some_and(|rt| rt.field("code").is_some()) {
                    cols.push(format!("{j}.code AS {}__code", f.name));
                }
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

/// ` WHERE a AND b`, or nothing.
fn where_clause(conds: &[String]) -> String {
    if conds.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conds.join(" AND "))
    }
}

/// The columns of catalogued fields that the schema declares `NOT NULL` (see
/// `migrations/0001_init.sql`; a test checks this list against the migrations). A list sorted by
/// one of them needs no "empty values last" term, so its `ORDER BY` and its keyset condition can
/// walk an index on the column.
const NOT_NULL: &[(&str, &[&str])] = &[
    ("organizations", &["code", "name", "side", "kind", "region_code"]),
    ("batches", &["number", "start_date"]),
    ("people", &["kind", "name"]),
    ("projects", &["code", "name", "sector", "region_code", "multi_year", "livelihood", "status"]),
    ("project_status_events", &["project_id", "status", "date"]),
    ("project_funding", &["project_id", "year", "source", "planned_fen", "allocated_fen", "disbursed_fen"]),
    ("project_outputs", &["project_id", "kind", "quantity", "unit"]),
    ("pairing_types", &["code", "name", "party", "builtin"]),
    ("pairings", &["type_code", "start_date"]),
    ("activity_types", &["code", "name", "builtin"]),
    ("brands", &["code", "name", "builtin"]),
    ("activities", &["type_code", "title", "date", "region_code", "participants", "beneficiaries"]),
    ("activity_procedures", &["activity_id", "kind", "cases"]),
    ("indicator_defs", &["code", "name", "unit", "scale", "combine", "factor", "higher_is_better"]),
    ("indicator_values", &["indicator_code", "org_id", "period", "value"]),
    ("indicator_targets", &["indicator_code", "org_id", "baseline_period", "baseline", "target_period", "target"]),
    ("achievements", &["kind", "title", "date"]),
    ("donations", &["kind", "description", "recipient_org_id", "value_fen", "date"]),
    ("employment_centres", &["name", "region_code", "opened"]),
    ("employment_records", &["centre_id", "period", "jobs_offered", "trainees", "placements"]),
    ("investment_events", &["kind", "name", "date", "region_code", "orders_fen"]),
    ("investment_projects", &["enterprise_org_id", "name", "signed_date", "region_code", "amount_fen", "jobs"]),
];

/// Does the schema declare the column of `f` in `t` `NOT NULL`?
fn not_null(t: &RecordType, f: &Field) -> bool {
    NOT_NULL.iter().any(|(table, cols)| *table == t.table && cols.contains(&f.name))
}

/// The field a list is sorted by (none: newest first by id). Personal identifiers are not
/// sortable (their stored form is ciphertext).
fn sort_field(t: &RecordType, q: &ListQuery) -> Option<&'static Field> {
    q.sort
        .as_deref()
        .and_then(|s| t.fields.iter().find(|f| f.name == s))
        .filter(|f| !matches!(f.kind, FieldKind::Secret))
}

/// The sort of a list: the field, and whether its column may be empty.
#[derive(Debug, Clone, Copy)]
struct Sort {
    field: &'static Field,
    nullable: bool,
}

fn sort_of(t: &RecordType, q: &ListQuery) -> Option<Sort> {
    sort_field(t, q).map(|f| Sort { field: f, nullable: !not_null(t, f) })
}

fn order_by(sort: Option<Sort>, desc: bool) -> String {
    let dir = if desc { "DESC" } else { "ASC" };
    match sort {
        // Empty values last on both backends (they order NULLs differently).
        Some(Sort { field, nullable: true }) => format!("(t.{n} IS NULL), t.{n} {dir}, t.id {dir}", n = field.name),
        // A column that is never empty orders as an index on it walks.
        Some(Sort { field, nullable: false }) => format!("t.{n} {dir}, t.id {dir}", n = field.name),
        None => "t.id DESC".to_string(),
    }
}

/// Is the column of `f` an integer (compared with an integer parameter)?
fn integer_column(f: &Field) -> bool {
    matches!(f.kind, FieldKind::Int | FieldKind::Money | FieldKind::Flag | FieldKind::Ref { .. })
}

/// The sort value of a row, as the parameter it is compared with (None: empty).
fn key_of(f: &Field, row: &Map<String, Value>) -> Option<P> {
    match row.get(f.name)? {
        Value::Null => None,
        Value::Number(n) if integer_column(f) => n.as_i64().map(P::I),
        Value::String(s) if !integer_column(f) => Some(P::T(s.clone())),
        Value::Number(n) => Some(P::T(n.to_string())),
        Value::String(s) => s.parse().ok().map(P::I),
        other => Some(P::T(other.to_string())),
    }
}

/// The rows after (`last`, `id`) in the order of [`order_by`]: the keyset condition of a chunk.
fn after_condition(sort: Option<Sort>, desc: bool, last: Option<P>, id: i64, sql: &mut Sql) -> String {
    let op = if desc { "<" } else { ">" };
    let Some(Sort { field, nullable }) = sort else {
        return format!("t.id < {}", sql.param(P::I(id)));
    };
    let n = field.name;
    match last {
        // Never empty: a row-value comparison, which both backends answer from an index.
        Some(v) if !nullable => {
            let pv = sql.param(v);
            let pi = sql.param(P::I(id));
            format!("(t.{n}, t.id) {op} ({pv}, {pi})")
        }
        Some(v) => {
            let pv = sql.param(v);
            let pi = sql.param(P::I(id));
            format!("((t.{n} IS NOT NULL AND (t.{n} {op} {pv} OR (t.{n} = {pv} AND t.id {op} {pi}))) OR t.{n} IS NULL)")
        }
        None => format!("(t.{n} IS NULL AND t.id {op} {})", sql.param(P::I(id))),
    }
}

/// The codes under `prefix` (a digit string) as a range: `col >= prefix AND col < next`, where
/// `next` is the prefix incremented with carry (653022 → 653023, 6539 → 654). Codes are digits
/// only, so the range holds exactly the codes that start with the prefix under any collation,
/// and both backends answer it from an index on the column (a `LIKE 'prefix%'` they do not).
pub(crate) fn prefix_range(col: &str, prefix: &str, sql: &mut Sql) -> String {
    if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit()) {
        // Not a code prefix (never so for a parsed region code): the plain pattern.
        let escaped = prefix.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        return format!("{col} LIKE {} ESCAPE '\\'", sql.param(P::T(format!("{escaped}%"))));
    }
    let lo = sql.param(P::T(prefix.to_string()));
    match next_prefix(prefix) {
        Some(hi) => format!("{col} >= {lo} AND {col} < {}", sql.param(P::T(hi))),
        // All nines: every digit string from the prefix on starts with it.
        None => format!("{col} >= {lo}"),
    }
}

/// The digit string after every digit string that starts with `prefix`: the last digit that is
/// not 9 incremented and the 9s after it dropped; `None` when every digit is 9.
fn next_prefix(prefix: &str) -> Option<String> {
    let digits = prefix.as_bytes();
    let i = digits.iter().rposition(|d| *d != b'9')?;
    let mut out = digits[..=i].to_vec();
    out[i] += 1;
    String::from_utf8(out).ok()
}

/// An export being read: a list's query and where the last chunk ended (see
/// [`Store::export_chunks`]).
#[derive(Debug)]
pub struct Chunks {
    t: &'static RecordType,
    scope: Option<String>,
    q: ListQuery,
    sort: Option<Sort>,
    /// Personal identifiers in clear (allowed and audited when the export began).
    clear: bool,
    after: Option<(Option<P>, i64)>,
    done: bool,
}

impl Chunks {
    pub fn record_type(&self) -> &'static RecordType {
        self.t
    }
    /// Are personal identifiers read in clear?
    pub fn clear(&self) -> bool {
        self.clear
    }
}

impl Store {
    /// The organization path that scopes `actor`, or `None` for the whole program. Refuses the
    /// administrator roles, which see no business records.
    pub(crate) async fn scope(&self, actor: &Actor) -> Result<Option<String>> {
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
    pub(crate) fn scope_condition(t: &RecordType, path: &str, sql: &mut Sql) -> Option<String> {
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
                prefix_range(&format!("t.{}", f.name), &code.subtree_prefix(), sql)
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

    /// The conditions of a list of `t`: the reader's scope, the filters (each a field the
    /// catalogue marks as a filter, its value checked), the dates (`from`, `to`, on the type's
    /// date field; refused for a type without one), and the text search. Pages and exports are
    /// built from this one function, so an export holds exactly the records its list shows.
    fn list_conditions(t: &RecordType, scope: Option<&str>, q: &ListQuery, sql: &mut Sql) -> Result<Vec<String>> {
        let mut conds = Vec::new();
        if let Some(path) = scope {
            conds.extend(Self::scope_condition(t, path, sql));
        }
        for (param, date, op) in [("from", q.from, ">="), ("to", q.to, "<=")] {
            let Some(date) = date else { continue };
            let col = t.date.ok_or_else(|| {
                domain::Invalid::new(
                    param,
                    param,
                    "仅限有日期字段的记录类型",
                    format!("{}没有日期字段，不能按日期（{param}）筛选", t.zh),
                )
            })?;
            conds.push(format!("t.{col} {op} {}", sql.param(P::T(date.to_string()))));
        }
        for (name, value) in &q.filters {
            if value.trim().is_empty() {
                continue;
            }
            let f = t
                .field(name)
                .filter(|f| f.filter)
                .ok_or_else(|| bad(name, name, format!("{}不能按“{name}”筛选", t.zh)))?;
            conds.push(Self::filter_condition(f, value, sql)?);
        }
        if let Some(words) = q.q.as_deref().map(str::trim).filter(|w| !w.is_empty()) {
            if !t.search.is_empty() {
                let escaped = words.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
                let ph = sql.param(P::T(format!("%{}%", escaped.to_lowercase())));
                let any: Vec<String> = t.search.iter().map(|c| format!("LOWER(t.{c}) LIKE {ph} ESCAPE '\\'")).collect();
                conds.push(format!("({})", any.join(" OR ")));
            }
        }
        Ok(conds)
    }

    /// One page of records of type `t` that `actor` may see.
    pub async fn records(&self, actor: &Actor, t: &RecordType, q: &ListQuery) -> Result<Listed> {
        let scope = self.scope(actor).await?;
        let (cols, joins) = select(t);
        let mut sql = Sql::default();
        let conds = Self::list_conditions(t, scope.as_deref(), q, &mut sql)?;
        let filter = where_clause(&conds);
        let count_sql = format!("SELECT COUNT(*) FROM {} t{filter}", t.table);
        let total: i64 = bind_all(sqlx::query(&count_sql), &sql.params)
            .fetch_one(self.pool())
            .await
            .and_then(|r| sqlx::Row::try_get(&r, 0))?;
        let order = order_by(sort_of(t, q), q.desc);
        let per_page = q.per_page.clamp(1, 500);
        let page = q.page.max(1);
        let lim = sql.param(P::I(per_page));
        let off = sql.param(P::I((page - 1) * per_page));
        sql.text = format!("SELECT {cols} FROM {} t{joins}{filter} ORDER BY {order} LIMIT {lim} OFFSET {off}", t.table);
        let rows = bind_all(sqlx::query(&sql.text), &sql.params).fetch_all(self.pool()).await?;
        Ok(Listed { total, page, per_page, rows: rows.iter().map(to_json).collect() })
    }

    /// A list of `t` as `actor` sees it with `q`'s filters, search and sort, to be read in
    /// chunks ([`Store::chunk`]) so that any number of records is exported in bounded memory.
    /// With `reveal`, personal identifiers are read in clear: only a role that may see them
    /// gets that, and the export is audited (`export_personal`, with the filters) before any
    /// row is read. Bad filters are refused here, before anything is written or read.
    pub async fn export_chunks(
        &self,
        actor: &Actor,
        t: &'static RecordType,
        q: &ListQuery,
        reveal: Reveal,
    ) -> Result<Chunks> {
        let scope = self.scope(actor).await?;
        Self::list_conditions(t, scope.as_deref(), q, &mut Sql::default())?;
        let secrets = t.fields.iter().any(|f| matches!(f.kind, FieldKind::Secret));
        let clear = reveal == Reveal::Clear && secrets;
        if clear && !actor.role.may_see_personal() {
            return Err(StoreError::Forbidden(format!("角色“{}”不能导出完整个人信息", actor.role.label())));
        }
        // Every export is audited, with what it selected; one in clear as `export_personal`.
        let what = serde_json::json!({
            "filters": q.filters, "q": q.q, "sort": q.sort, "desc": q.desc,
            "from": q.from.map(|d| d.to_string()), "to": q.to.map(|d| d.to_string()),
        });
        let mut tx = self.begin_audited(actor).await?;
        tx.audit(if clear { "export_personal" } else { "export" }, t.table, None, None, Some(what)).await?;
        tx.commit().await?;
        Ok(Chunks { t, scope, q: q.clone(), sort: sort_of(t, q), clear, after: None, done: false })
    }

    /// The next at most `n` records of an export (empty when it is exhausted). Each chunk is
    /// one query that starts after the last record of the previous one (by the sort value and
    /// id, never by an offset), so a chunk costs the same at the end of a long list as at its
    /// start.
    pub async fn chunk(&self, c: &mut Chunks, n: i64) -> Result<Vec<Map<String, Value>>> {
        if c.done {
            return Ok(Vec::new());
        }
        let (cols, joins) = select(c.t);
        let mut sql = Sql::default();
        let mut conds = Self::list_conditions(c.t, c.scope.as_deref(), &c.q, &mut sql)?;
        if let Some((last, id)) = &c.after {
            conds.push(after_condition(c.sort, c.q.desc, last.clone(), *id, &mut sql));
        }
        let filter = where_clause(&conds);
        let order = order_by(c.sort, c.q.desc);
        let lim = sql.param(P::I(n.max(1)));
        sql.text = format!("SELECT {cols} FROM {} t{joins}{filter} ORDER BY {order} LIMIT {lim}", c.t.table);
        let rows = bind_all(sqlx::query(&sql.text), &sql.params).fetch_all(self.pool()).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let mut m = to_json(row);
            if c.clear {
                for f in c.t.fields.iter().filter(|f| matches!(f.kind, FieldKind::Secret)) {
                    let enc: Option<String> = sqlx::Row::try_get(row, format!("{}_enc", f.name).as_str())?;
                    if let Some(enc) = enc {
                        m.insert(f.name.into(), Value::from(self.crypto().decrypt(&enc)?));
                    }
                }
            }
            out.push(m);
        }
        match out.last() {
            Some(last) if out.len() as i64 >= n.max(1) => {
                let id = last
                    .get("id")
                    .and_then(Value::as_i64)
                    .ok_or_else(|| StoreError::Integrity(format!("{} 的记录缺少编号", c.t.table)))?;
                c.after = Some((c.sort.and_then(|s| key_of(s.field, last)), id));
            }
            _ => c.done = true,
        }
        Ok(out)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_prefix_is_a_range() {
        assert_eq!(next_prefix("653022").as_deref(), Some("653023"));
        assert_eq!(next_prefix("6539").as_deref(), Some("654"));
        assert_eq!(next_prefix("6599").as_deref(), Some("66"));
        assert_eq!(next_prefix("653029"), Some("65303".into()));
        assert_eq!(next_prefix("99"), None);
        let mut sql = Sql::default();
        assert_eq!(prefix_range("t.region_code", "6530", &mut sql), "t.region_code >= $1 AND t.region_code < $2");
        assert_eq!(sql.params.len(), 2);
        // Every code that starts with the prefix is in the range, and nothing else.
        for (prefix, code, inside) in [
            ("653022", "653022", true),
            ("653022", "653022202", true),
            ("653022", "653022999999", true),
            ("653022", "653023", false),
            ("653022", "653021999", false),
            ("6539", "653999", true),
            ("6539", "654000", false),
            ("6539", "653899", false),
            ("99", "999999", true),
        ] {
            let hi = next_prefix(prefix);
            let in_range = code >= prefix && hi.as_deref().is_none_or(|h| code < h);
            assert_eq!(in_range, inside, "{prefix} {code}");
            assert_eq!(code.starts_with(prefix), inside, "{prefix} {code}");
        }
    }

    /// The columns the schema declares `NOT NULL`, per table, read off the migrations: the
    /// columns of each `CREATE TABLE` and each `ALTER TABLE … ADD COLUMN`.
    fn schema_not_null() -> HashSet<(String, String)> {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations");
        let mut files: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort();
        let mut out = HashSet::new();
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            assert!(!text.to_uppercase().contains("DROP NOT NULL"), "{file:?} relaxes a column: check NOT_NULL");
            let mut table: Option<String> = None;
            for line in text.lines().map(|l| l.split("--").next().unwrap_or("").trim()) {
                if let Some(rest) = line.strip_prefix("CREATE TABLE ") {
                    let name = rest.split([' ', '(']).next().unwrap_or("").to_string();
                    out.retain(|(t, _)| *t != name);
                    table = Some(name);
                } else if line.starts_with(")") {
                    table = None;
                } else if let Some(rest) = line.strip_prefix("ALTER TABLE ") {
                    let mut w = rest.split_whitespace();
                    if let (Some(t), Some("ADD"), Some("COLUMN"), Some(c)) = (w.next(), w.next(), w.next(), w.next()) {
                        if line.contains("NOT NULL") {
                            out.insert((t.to_string(), c.to_string()));
                        }
                    }
                } else if let Some(t) = &table {
                    let col = line.split_whitespace().next().unwrap_or("");
                    if line.contains("NOT NULL") {
                        out.insert((t.clone(), col.to_string()));
                    }
                }
            }
        }
        out
    }

    #[test]
    fn the_not_null_columns_are_those_of_the_schema() {
        let schema = schema_not_null();
        assert!(schema.contains(&("activities".into(), "date".into())), "the schema is read");
        for t in domain::catalog::RECORD_TYPES {
            for f in t.fields {
                let declared = schema.contains(&(t.table.to_string(), f.name.to_string()));
                assert_eq!(not_null(t, f), declared, "{}.{}: NOT_NULL disagrees with the migrations", t.table, f.name);
            }
        }
        for (table, cols) in NOT_NULL {
            let t = domain::catalog::by_table(table).unwrap_or_else(|| panic!("{table} is catalogued"));
            for c in *cols {
                assert!(t.field(c).is_some(), "{table}.{c} is a catalogued field");
            }
        }
    }

    #[test]
    fn a_never_empty_sort_walks_its_index() {
        let t = domain::catalog::by_table("activities").unwrap();
        let q = |sort: &str| ListQuery { sort: Some(sort.into()), desc: true, ..Default::default() };
        assert_eq!(order_by(sort_of(t, &q("date")), true), "t.date DESC, t.id DESC");
        assert_eq!(order_by(sort_of(t, &q("end_date")), true), "(t.end_date IS NULL), t.end_date DESC, t.id DESC");
        let mut sql = Sql::default();
        let after = after_condition(sort_of(t, &q("date")), true, Some(P::T("2024-01-01".into())), 7, &mut sql);
        assert_eq!(after, "(t.date, t.id) < ($1, $2)");
    }
}
