//! The audit log: reading it, its SM3 hash chain, verifying that chain, and the retention run.
//!
//! Every entry is a link of a hash chain (SM3, GB/T 32905): it carries its place `seq`, the hash
//! of the entry before it (`prev_hash`) and its own `hash`, over the previous hash and every field
//! (time, user, source address, action, object, outcome, before, after). The head of the chain
//! (the last `seq` and `hash`) and its base (where a retention run cut it) are kept in the one row
//! of `audit_chain`, which every writing transaction reads first (on PostgreSQL, locks: appends
//! are serialised, as SQLite's `BEGIN IMMEDIATE` already serialises them). An entry edited in the
//! database no longer hashes to its `hash`; a deleted or moved one breaks the `seq` run or the
//! link; entries cut from the end leave the chain short of its head. [`Store::audit_verify`] finds
//! the first such entry.
//!
//! No function edits an entry. The only one that deletes is [`Store::audit_prune`], which removes
//! the oldest entries, never one younger than [`MIN_RETENTION_DAYS`], and moves the chain's base.

use crate::error::{Result, StoreError};
use crate::sql::{bind_all, Sql, P};
use crate::Store;
use chrono::{DateTime, Utc};
use domain::audit::AuditEntry;
use domain::audit::{Actor, MIN_RETENTION_DAYS};
use domain::users::Role;
use domain::{Id, Kind};
use sm3::{Digest, Sm3};
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
        let rows =
            sqlx::query(&format!("SELECT {COLS} FROM audit_log WHERE object_type = $1 AND object_id = $2 ORDER BY id"))
                .bind(table.to_string())
                .bind(id)
                .fetch_all(self.pool())
                .await?;
        rows.iter().map(entry).collect()
    }

    /// The most recent `n` entries, newest first.
    pub async fn audit_recent(&self, n: i64) -> Result<Vec<AuditEntry>> {
        let rows = sqlx::query(&format!("SELECT {COLS} FROM audit_log ORDER BY id DESC LIMIT $1"))
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
            "SELECT {COLS} FROM audit_log{filter} \
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

const COLS: &str = "id, at, actor, action, object_type, object_id, before_json, after_json, source, outcome";

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
        source: r.try_get(8)?,
        outcome: r.try_get(9)?,
    })
}

/// The hash that starts a chain.
pub(crate) const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One audit entry's fields as the chain hashes them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Link<'a> {
    pub seq: i64,
    pub at: &'a str,
    pub actor: &'a str,
    pub actor_id: Option<i64>,
    pub source: Option<&'a str>,
    pub action: &'a str,
    pub object_type: &'a str,
    pub object_id: Option<i64>,
    pub outcome: &'a str,
    pub before: Option<&'a str>,
    pub after: Option<&'a str>,
}

/// SM3 over the previous hash and each field, length-prefixed (an absent field is marked apart
/// from an empty one), as 64 hex digits.
pub(crate) fn link_hash(prev: &str, l: &Link<'_>) -> String {
    let mut h = Sm3::new();
    h.update(b"counterpart/audit/v1\0");
    h.update(prev.as_bytes());
    let seq = l.seq.to_string();
    let actor_id = l.actor_id.map(|v| v.to_string());
    let object_id = l.object_id.map(|v| v.to_string());
    let fields: [Option<&str>; 11] = [
        Some(&seq),
        Some(l.at),
        Some(l.actor),
        actor_id.as_deref(),
        l.source,
        Some(l.action),
        Some(l.object_type),
        object_id.as_deref(),
        Some(l.outcome),
        l.before,
        l.after,
    ];
    for f in fields {
        match f {
            None => h.update(u32::MAX.to_be_bytes()),
            Some(t) => {
                h.update((t.len() as u32).to_be_bytes());
                h.update(t.as_bytes());
            }
        }
    }
    hex::encode(h.finalize())
}

const CHAIN_COLS: &str = "id, seq, at, actor, actor_id, source, action, object_type, object_id, outcome, \
                          before_json, after_json, prev_hash, hash";

/// An audit row as the chain reads it.
struct Stored {
    id: i64,
    seq: Option<i64>,
    at: String,
    actor: String,
    actor_id: Option<i64>,
    source: Option<String>,
    action: String,
    object_type: String,
    object_id: Option<i64>,
    outcome: String,
    before: Option<String>,
    after: Option<String>,
    prev_hash: Option<String>,
    hash: Option<String>,
}

impl Stored {
    fn read(r: &sqlx::any::AnyRow) -> Result<Stored> {
        Ok(Stored {
            id: r.try_get(0)?,
            seq: r.try_get(1)?,
            at: r.try_get(2)?,
            actor: r.try_get(3)?,
            actor_id: r.try_get(4)?,
            source: r.try_get(5)?,
            action: r.try_get(6)?,
            object_type: r.try_get(7)?,
            object_id: r.try_get(8)?,
            outcome: r.try_get(9)?,
            before: r.try_get(10)?,
            after: r.try_get(11)?,
            prev_hash: r.try_get(12)?,
            hash: r.try_get(13)?,
        })
    }
    fn link(&self, seq: i64) -> Link<'_> {
        Link {
            seq,
            at: &self.at,
            actor: &self.actor,
            actor_id: self.actor_id,
            source: self.source.as_deref(),
            action: &self.action,
            object_type: &self.object_type,
            object_id: self.object_id,
            outcome: &self.outcome,
            before: self.before.as_deref(),
            after: self.after.as_deref(),
        }
    }
}

/// Chain the entries written before the chain existed (migration 8), oldest first.
pub(crate) async fn chain_existing(tx: &mut sqlx::Transaction<'static, sqlx::Any>) -> Result<()> {
    let (mut seq, mut hash) = (0i64, GENESIS.to_string());
    let mut after = 0i64;
    loop {
        let rows = sqlx::query(&format!("SELECT {CHAIN_COLS} FROM audit_log WHERE id > $1 ORDER BY id LIMIT 2000"))
            .bind(after)
            .fetch_all(&mut **tx)
            .await?;
        if rows.is_empty() {
            break;
        }
        for r in &rows {
            let s = Stored::read(r)?;
            seq += 1;
            let h = link_hash(&hash, &s.link(seq));
            sqlx::query("UPDATE audit_log SET seq = $1, prev_hash = $2, hash = $3 WHERE id = $4")
                .bind(seq)
                .bind(hash.clone())
                .bind(h.clone())
                .bind(s.id)
                .execute(&mut **tx)
                .await?;
            hash = h;
            after = s.id;
        }
    }
    sqlx::query("UPDATE audit_chain SET seq = $1, hash = $2 WHERE id = 1")
        .bind(seq)
        .bind(hash)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Where the chain first breaks.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ChainBreak {
    /// The row at which the break shows (None: the end of the log).
    pub id: Option<i64>,
    pub seq: Option<i64>,
    pub reason: String,
}

/// What [`Store::audit_verify`] found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ChainReport {
    /// Entries read.
    pub entries: i64,
    /// Where the chain starts (0, or the last entry a retention run removed).
    pub base_seq: i64,
    /// The head as `audit_chain` records it; worth writing down outside the database.
    pub head_seq: i64,
    pub head_hash: String,
    pub broken: Option<ChainBreak>,
}

/// What a retention run removed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Pruned {
    pub removed: i64,
    /// Entries written before this instant (UTC, RFC 3339) were eligible.
    pub cutoff: String,
    /// The chain now starts after this entry.
    pub base_seq: i64,
}

fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

impl Store {
    /// Walk the whole log in order and report the first entry where the chain breaks: an entry
    /// whose fields no longer hash to its hash (edited), a gap or a step back in the run of
    /// `seq` (deleted, moved), a link to a different predecessor, or a log that ends short of the
    /// recorded head (entries cut from the end).
    pub async fn audit_verify(&self) -> Result<ChainReport> {
        let (head_seq, head_hash, base_seq, base_hash): (i64, String, i64, String) =
            sqlx::query_as("SELECT seq, hash, base_seq, base_hash FROM audit_chain WHERE id = 1")
                .fetch_one(self.pool())
                .await?;
        let (mut seq, mut hash) = (base_seq, base_hash);
        let mut report = ChainReport { entries: 0, base_seq, head_seq, head_hash: head_hash.clone(), broken: None };
        let mut after = i64::MIN;
        loop {
            let rows = sqlx::query(&format!("SELECT {CHAIN_COLS} FROM audit_log WHERE id > $1 ORDER BY id LIMIT 5000"))
                .bind(after)
                .fetch_all(self.pool())
                .await?;
            if rows.is_empty() {
                break;
            }
            for r in &rows {
                let s = Stored::read(r)?;
                after = s.id;
                report.entries += 1;
                let at = |reason: String| Some(ChainBreak { id: Some(s.id), seq: s.seq, reason });
                let Some(row_seq) = s.seq else {
                    report.broken = at(format!("第 {} 号条目没有链序号（未入链或被改写）", s.id));
                    return Ok(report);
                };
                if s.hash.as_deref() != Some(link_hash(s.prev_hash.as_deref().unwrap_or(""), &s.link(row_seq)).as_str())
                {
                    report.broken = at(format!("第 {} 号条目（链序号 {row_seq}）的内容与其哈希不符：条目被修改", s.id));
                    return Ok(report);
                }
                if row_seq != seq + 1 {
                    report.broken = at(if row_seq > seq + 1 {
                        format!(
                            "第 {} 号条目的链序号为 {row_seq}，应为 {}：其前的 {} 条被删除或移动",
                            s.id,
                            seq + 1,
                            row_seq - seq - 1
                        )
                    } else {
                        format!("第 {} 号条目的链序号为 {row_seq}，应为 {}：条目顺序被调换或重复", s.id, seq + 1)
                    });
                    return Ok(report);
                }
                if s.prev_hash.as_deref() != Some(hash.as_str()) {
                    report.broken = at(format!("第 {} 号条目与前一条目的链接不符：前一条目被替换或顺序被调换", s.id));
                    return Ok(report);
                }
                seq = row_seq;
                hash = s.hash.unwrap_or_default();
            }
        }
        if seq != head_seq || hash != head_hash {
            report.broken = Some(ChainBreak {
                id: None,
                seq: Some(seq),
                reason: if seq < head_seq {
                    format!("日志止于链序号 {seq}，而链头记录为 {head_seq}：末尾 {} 条被删除", head_seq - seq)
                } else {
                    format!("日志止于链序号 {seq}，与记录的链头 {head_seq} 不符：链头被改写")
                },
            });
        }
        Ok(report)
    }

    /// The retention run: remove the oldest entries written before `now` less `keep_days`
    /// (at least [`MIN_RETENTION_DAYS`]), up to the first entry that is younger, so that no
    /// younger entry is ever removed even if clocks disagreed; move the chain's base to the last
    /// entry removed; and audit the run itself. `now` is a parameter so that a test can move the
    /// clock.
    pub async fn audit_prune(&self, actor: &Actor, now: DateTime<Utc>, keep_days: u32) -> Result<Pruned> {
        if keep_days < MIN_RETENTION_DAYS {
            return Err(domain::Invalid::new(
                "keep_days",
                "保留天数",
                format!("审计日志至少保留 {MIN_RETENTION_DAYS} 天"),
                format!("{keep_days} 天少于 {MIN_RETENTION_DAYS} 天"),
            )
            .into());
        }
        let cutoff = stamp(now - chrono::Duration::days(i64::from(keep_days)));
        let mut tx = self.begin_audited(actor).await?;
        let first_young: Option<i64> = sqlx::query_scalar("SELECT MIN(id) FROM audit_log WHERE at >= $1")
            .bind(cutoff.clone())
            .fetch_one(&mut *tx.tx)
            .await?;
        let last_old: Option<(i64, Option<i64>, Option<String>)> =
            sqlx::query_as("SELECT id, seq, hash FROM audit_log WHERE at < $1 AND id < $2 ORDER BY id DESC LIMIT 1")
                .bind(cutoff.clone())
                .bind(first_young.unwrap_or(i64::MAX))
                .fetch_optional(&mut *tx.tx)
                .await?;
        let mut pruned = Pruned { removed: 0, cutoff: cutoff.clone(), base_seq: tx.chain_base().await? };
        if let Some((last, Some(seq), Some(hash))) = last_old {
            let n = sqlx::query("DELETE FROM audit_log WHERE id <= $1").bind(last).execute(&mut *tx.tx).await?;
            sqlx::query("UPDATE audit_chain SET base_seq = $1, base_hash = $2, pruned_at = $3 WHERE id = 1")
                .bind(seq)
                .bind(hash)
                .bind(crate::write::now())
                .execute(&mut *tx.tx)
                .await?;
            pruned.removed = n.rows_affected() as i64;
            pruned.base_seq = seq;
        }
        tx.audit("audit_prune", "audit_log", None, None, Some(serde_json::to_value(&pruned)?)).await?;
        tx.commit().await?;
        Ok(pruned)
    }
}
