//! Backup and restore.
//!
//! Two forms of backup:
//! - on SQLite, a consistent copy of the database file made while the server runs (`VACUUM INTO`,
//!   which reads one snapshot and writes a compact file): [`Store::backup_sqlite_file`];
//! - on either backend, a portable archive of every record ([`Store::archive_to`]): gzip'd JSON
//!   lines, read in one snapshot (SQLite's read transaction; PostgreSQL's `REPEATABLE READ`),
//!   table by table in the order the migrations create them, each row in id order, closed by a
//!   trailer that counts the rows and carries the SM3 digest of everything before it.
//!
//! [`Store::restore_archive`] loads an archive into an empty database of the same schema version
//! and key, in one transaction: the records, the audit log and its chain head exactly as they
//! were, and then one more audit entry, `restore`, on the chain. A damaged archive (a digest or
//! count that does not match) is refused and nothing is written. Sessions are not archived: a
//! restored system starts with everyone signed out.

use crate::error::{Result, StoreError};
use crate::Store;
use domain::audit::Actor;
use futures_util::TryStreamExt;
use serde_json::{json, Value};
use sm3::{Digest, Sm3};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use std::io::{BufRead, Write};

pub const ARCHIVE_FORMAT: &str = "counterpart-archive";
pub const ARCHIVE_VERSION: i64 = 1;

/// Tables not archived: sessions (a restored system starts signed out) and the migrations'
/// own bookkeeping (the target is migrated before it is loaded).
const SKIP: &[&str] = &["sessions", "schema_migrations"];

/// The kind of a column, as archived and bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ColKind {
    Int,
    Real,
    Text,
}

impl ColKind {
    fn of(declared: &str) -> ColKind {
        let d = declared.to_ascii_uppercase();
        if d.contains("INT") {
            ColKind::Int
        } else if d.contains("REAL") || d.contains("DOUBLE") || d.contains("FLOAT") || d.contains("NUMERIC") {
            ColKind::Real
        } else {
            ColKind::Text
        }
    }
    fn name(self) -> &'static str {
        match self {
            ColKind::Int => "int",
            ColKind::Real => "real",
            ColKind::Text => "text",
        }
    }
}

/// What a backup or a restore handled.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ArchiveSummary {
    pub tables: usize,
    pub rows: i64,
    /// Rows per table, in archive order.
    pub per_table: Vec<(String, i64)>,
    pub schema: i64,
    pub audit_head_seq: i64,
}

/// The record tables in the order the migrations create them (a table is created after those it
/// refers to), as they stand after the last migration.
pub(crate) fn tables() -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (_, script) in crate::migrate::MIGRATIONS {
        for line in script.lines() {
            let l = line.trim();
            let word = |prefix: &str| {
                l.strip_prefix(prefix).map(|rest| {
                    rest.trim_start_matches("IF NOT EXISTS ")
                        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                        .next()
                        .unwrap_or("")
                        .to_string()
                })
            };
            if let Some(t) = word("CREATE TABLE ") {
                if !out.contains(&t) {
                    out.push(t);
                }
            } else if let Some(t) = word("DROP TABLE ") {
                out.retain(|x| *x != t);
            }
        }
    }
    out.retain(|t| !SKIP.contains(&t.as_str()));
    out
}

fn schema_version() -> i64 {
    crate::migrate::MIGRATIONS.last().map(|(v, _)| i64::from(*v)).unwrap_or(0)
}

async fn columns(tx: &mut Transaction<'static, Any>, store: &Store, table: &str) -> Result<Vec<(String, ColKind)>> {
    let rows: Vec<(String, String)> =
        sqlx::query_as(store.backend().columns_of()).bind(table.to_string()).fetch_all(&mut **tx).await?;
    if rows.is_empty() {
        return Err(StoreError::Integrity(format!("数据表 {table} 不存在")));
    }
    Ok(rows.into_iter().map(|(n, t)| (n, ColKind::of(&t))).collect())
}

fn value(row: &AnyRow, i: usize, kind: ColKind) -> Result<Value> {
    Ok(match kind {
        ColKind::Int => {
            if let Ok(v) = row.try_get::<Option<i64>, _>(i) {
                v.map(Value::from).unwrap_or(Value::Null)
            } else if let Ok(v) = row.try_get::<Option<i32>, _>(i) {
                v.map(Value::from).unwrap_or(Value::Null)
            } else {
                row.try_get::<Option<i16>, _>(i)?.map(Value::from).unwrap_or(Value::Null)
            }
        }
        ColKind::Real => row.try_get::<Option<f64>, _>(i)?.map(Value::from).unwrap_or(Value::Null),
        ColKind::Text => row.try_get::<Option<String>, _>(i)?.map(Value::from).unwrap_or(Value::Null),
    })
}

/// Lines written with a running SM3 digest.
struct Lines<W: Write> {
    out: W,
    digest: Sm3,
}

impl<W: Write> Lines<W> {
    fn put(&mut self, v: &Value) -> Result<()> {
        let mut line = serde_json::to_vec(v)?;
        line.push(b'\n');
        self.digest.update(&line);
        self.out.write_all(&line)?;
        Ok(())
    }
}

impl Store {
    /// A consistent copy of a SQLite database into the new file `out`, while the server runs.
    pub async fn backup_sqlite_file(&self, out: &std::path::Path) -> Result<()> {
        if self.backend() != crate::Backend::Sqlite {
            return Err(StoreError::Config(
                "数据库文件副本只适用于 SQLite；PostgreSQL 请用 --format archive 或 pg_dump".into(),
            ));
        }
        if out.exists() {
            return Err(StoreError::Config(format!("{} 已存在，不会覆盖", out.display())));
        }
        let path = out.to_str().ok_or_else(|| StoreError::Config("备份文件路径须为 UTF-8".into()))?;
        sqlx::query("VACUUM INTO $1").bind(path.to_string()).execute(self.pool()).await?;
        Ok(())
    }

    /// Write the portable archive of every record to `out` (gzip'd JSON lines), from one snapshot.
    pub async fn archive_to<W: Write>(&self, out: W) -> Result<ArchiveSummary> {
        let gz = flate2::write::GzEncoder::new(out, flate2::Compression::default());
        let mut lines = Lines { out: gz, digest: Sm3::new() };
        let mut tx = self.pool().begin_with(self.backend().begin_snapshot()).await?;
        let fingerprint: Option<String> =
            sqlx::query_scalar("SELECT value FROM settings WHERE key = 'key_fingerprint'")
                .fetch_optional(&mut *tx)
                .await?;
        let head: i64 = sqlx::query_scalar("SELECT seq FROM audit_chain WHERE id = 1").fetch_one(&mut *tx).await?;
        let mut summary = ArchiveSummary { schema: schema_version(), audit_head_seq: head, ..Default::default() };
        lines.put(&json!({
            "format": ARCHIVE_FORMAT, "version": ARCHIVE_VERSION, "schema": summary.schema,
            "key_fingerprint": fingerprint, "created_at": crate::write::now(), "backend": self.backend().name(),
        }))?;
        for table in tables() {
            let cols = columns(&mut tx, self, &table).await?;
            let names: Vec<&str> = cols.iter().map(|(n, _)| n.as_str()).collect();
            let kinds: Vec<&str> = cols.iter().map(|(_, k)| k.name()).collect();
            lines.put(&json!({ "table": table, "columns": names, "types": kinds }))?;
            let order = if names.contains(&"id") { " ORDER BY id" } else { "" };
            let sql = format!("SELECT {} FROM {table}{order}", names.join(", "));
            let mut n = 0i64;
            let mut rows = sqlx::query(&sql).fetch(&mut *tx);
            while let Some(row) = rows.try_next().await? {
                let vals = cols.iter().enumerate().map(|(i, (_, k))| value(&row, i, *k)).collect::<Result<Vec<_>>>()?;
                lines.put(&Value::Array(vals))?;
                n += 1;
            }
            drop(rows);
            lines.put(&json!({ "end": table, "rows": n }))?;
            summary.rows += n;
            summary.tables += 1;
            summary.per_table.push((table, n));
        }
        tx.commit().await?;
        let digest = hex::encode(std::mem::take(&mut lines.digest).finalize());
        let trailer = json!({ "trailer": true, "tables": summary.tables, "rows": summary.rows, "sm3": digest });
        let mut line = serde_json::to_vec(&trailer)?;
        line.push(b'\n');
        lines.out.write_all(&line)?;
        lines.out.finish()?.flush()?;
        Ok(summary)
    }

    /// Load an archive into this database, which must be empty (migrated, with no users,
    /// programs or audit entries), in one transaction; then audit the restore on the chain.
    pub async fn restore_archive<R: BufRead>(&self, actor: &Actor, input: R) -> Result<ArchiveSummary> {
        let bad = |m: String| StoreError::Archive(m);
        let occupied: i64 = sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM audit_log) + (SELECT COUNT(*) FROM users) + (SELECT COUNT(*) FROM programs)",
        )
        .fetch_one(self.pool())
        .await?;
        if occupied > 0 {
            return Err(StoreError::Config("只能恢复到空数据库：目标数据库已有用户、项目计划或审计记录".into()));
        }
        let reader = std::io::BufReader::new(flate2::bufread::GzDecoder::new(input));
        let mut lines = reader.lines();
        let mut digest = Sm3::new();
        let mut next = |digest: &mut Sm3| -> Result<Option<Value>> {
            match lines.next() {
                None => Ok(None),
                Some(l) => {
                    let l = l.map_err(|e| bad(format!("不是本系统的备份存档，或文件已损坏（{e}）")))?;
                    let v: Value = serde_json::from_str(&l).map_err(|e| bad(format!("存档内容无法解析（{e}）")))?;
                    if v.get("trailer").is_none() {
                        digest.update(l.as_bytes());
                        digest.update(b"\n");
                    }
                    Ok(Some(v))
                }
            }
        };
        let header = next(&mut digest)?.ok_or_else(|| bad("文件是空的".into()))?;
        if header.get("format").and_then(Value::as_str) != Some(ARCHIVE_FORMAT) {
            return Err(bad("不是本系统的备份存档".into()));
        }
        if header.get("version").and_then(Value::as_i64) != Some(ARCHIVE_VERSION) {
            return Err(bad(format!("存档格式版本 {} 不受支持", header["version"])));
        }
        let schema = header.get("schema").and_then(Value::as_i64).unwrap_or(0);
        if schema != schema_version() {
            return Err(bad(format!(
                "存档来自数据库架构版本 {schema}，本程序为版本 {}：请用同一版本的程序恢复，再升级",
                schema_version()
            )));
        }
        let fp = header.get("key_fingerprint").and_then(Value::as_str).unwrap_or("");
        if fp != self.crypto().fingerprint() {
            return Err(bad(format!(
                "存档的个人信息加密密钥指纹为 {fp}，当前密钥为 {}：请使用原系统的密钥文件",
                self.crypto().fingerprint()
            )));
        }
        let order = tables();
        let mut tx = self.pool().begin_with(self.backend().begin_write()).await?;
        for t in order.iter().rev() {
            sqlx::query(&format!("DELETE FROM {t}")).execute(&mut *tx).await?;
        }
        let mut summary = ArchiveSummary { schema, ..Default::default() };
        let trailer = loop {
            let v = next(&mut digest)?.ok_or_else(|| bad("存档不完整：缺少结尾（文件被截断）".into()))?;
            if v.get("trailer").is_some() {
                break v;
            }
            let table =
                v.get("table").and_then(Value::as_str).ok_or_else(|| bad("存档结构不符：缺少数据表头".into()))?;
            if !order.iter().any(|t| t == table) {
                return Err(bad(format!("存档中的数据表 {table} 不属于本系统")));
            }
            let target = columns(&mut tx, self, table).await?;
            let names: Vec<String> = v
                .get("columns")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|c| c.as_str().map(str::to_string)).collect())
                .unwrap_or_default();
            let kinds = names
                .iter()
                .map(|n| {
                    target
                        .iter()
                        .find(|(c, _)| c == n)
                        .map(|(_, k)| *k)
                        .ok_or_else(|| bad(format!("存档中数据表 {table} 的列 {n} 在本系统中不存在")))
                })
                .collect::<Result<Vec<_>>>()?;
            let per = (2000 / names.len().max(1)).max(1);
            let mut batch: Vec<Vec<Value>> = Vec::with_capacity(per);
            let mut n = 0i64;
            loop {
                let v = next(&mut digest)?.ok_or_else(|| bad(format!("存档不完整：数据表 {table} 没有结尾")))?;
                match v {
                    Value::Array(vals) if vals.len() == names.len() => {
                        batch.push(vals);
                        n += 1;
                        if batch.len() == per {
                            insert_rows(&mut tx, table, &names, &kinds, &batch).await?;
                            batch.clear();
                        }
                    }
                    Value::Array(_) => return Err(bad(format!("数据表 {table} 第 {} 行的列数不符", n + 1))),
                    v if v.get("end").and_then(Value::as_str) == Some(table) => {
                        if v.get("rows").and_then(Value::as_i64) != Some(n) {
                            return Err(bad(format!("数据表 {table} 的行数与存档记录不符")));
                        }
                        break;
                    }
                    _ => return Err(bad(format!("存档结构不符：数据表 {table} 中有无法识别的内容"))),
                }
            }
            insert_rows(&mut tx, table, &names, &kinds, &batch).await?;
            if let Some(reset) = self.backend().reset_identity(table) {
                if names.iter().any(|c| c == "id") {
                    sqlx::query(&reset).execute(&mut *tx).await?;
                }
            }
            summary.rows += n;
            summary.tables += 1;
            summary.per_table.push((table.to_string(), n));
        };
        let expect = hex::encode(digest.finalize());
        if trailer.get("sm3").and_then(Value::as_str) != Some(expect.as_str())
            || trailer.get("rows").and_then(Value::as_i64) != Some(summary.rows)
        {
            return Err(bad("存档校验值（SM3）不符：文件已损坏或被改动，未恢复任何数据".into()));
        }
        summary.audit_head_seq =
            sqlx::query_scalar("SELECT seq FROM audit_chain WHERE id = 1").fetch_one(&mut *tx).await?;
        let mut tx = crate::Tx::adopt(self, tx, actor).await?;
        tx.audit("restore", "audit_log", None, None, Some(serde_json::to_value(&summary)?)).await?;
        tx.commit().await?;
        Ok(summary)
    }
}

async fn insert_rows(
    tx: &mut Transaction<'static, Any>,
    table: &str,
    names: &[String],
    kinds: &[ColKind],
    rows: &[Vec<Value>],
) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut sql = crate::sql::Sql::default();
    let mut tuples = Vec::with_capacity(rows.len());
    for row in rows {
        let mut ps = Vec::with_capacity(row.len());
        for (v, k) in row.iter().zip(kinds) {
            let bad = || StoreError::Archive(format!("数据表 {table} 中有类型不符的值：{v}"));
            let p = match (k, v) {
                (ColKind::Int, Value::Null) => crate::sql::P::NullInt,
                (ColKind::Int, Value::Number(n)) => crate::sql::P::I(n.as_i64().ok_or_else(bad)?),
                (ColKind::Real, Value::Null) => crate::sql::P::NullReal,
                (ColKind::Real, Value::Number(n)) => crate::sql::P::F(n.as_f64().ok_or_else(bad)?),
                (ColKind::Text, Value::Null) => crate::sql::P::NullText,
                (ColKind::Text, Value::String(s)) => crate::sql::P::T(s.clone()),
                _ => return Err(bad()),
            };
            ps.push(sql.param(p));
        }
        tuples.push(format!("({})", ps.join(", ")));
    }
    sql.text = format!("INSERT INTO {table} ({}) VALUES {}", names.join(", "), tuples.join(", "));
    crate::sql::bind_all(sqlx::query(&sql.text), &sql.params).execute(&mut **tx).await?;
    Ok(())
}
