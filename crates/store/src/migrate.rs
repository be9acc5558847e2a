//! Embedded, ordered migrations; each runs once, in a transaction, recorded in `settings`.
//! Reference data (the division table, built-in type lists) is loaded by the same step.

use crate::error::{Result, StoreError};
use crate::Store;
use domain::activities::{ACTIVITY_TYPES, BRANDS};
use domain::pairings::PAIRING_TYPES;
use domain::regions::{RegionCode, REGIONS};
use sqlx::Executor;

pub(crate) const MIGRATIONS: &[(u32, &str)] = &[
    (1, include_str!("../migrations/0001_init.sql")),
    (2, include_str!("../migrations/0002_sessions.sql")),
    (3, include_str!("../migrations/0003_activity_line.sql")),
    (4, include_str!("../migrations/0004_reports.sql")),
    (5, include_str!("../migrations/0005_api_tokens.sql")),
    (6, include_str!("../migrations/0006_rollups.sql")),
    (7, include_str!("../migrations/0007_rollup_brand.sql")),
    (8, include_str!("../migrations/0008_audit_chain.sql")),
    (9, include_str!("../migrations/0009_totp.sql")),
    (10, include_str!("../migrations/0010_reporting.sql")),
    (11, include_str!("../migrations/0011_followups.sql")),
    (12, include_str!("../migrations/0012_imaging.sql")),
    (13, include_str!("../migrations/0013_imaging_requests.sql")),
    (14, include_str!("../migrations/0014_imaging_reports.sql")),
    (15, include_str!("../migrations/0015_imaging_clocks.sql")),
    (16, include_str!("../migrations/0016_imaging_critical.sql")),
    (17, include_str!("../migrations/0017_imaging_figures.sql")),
    (18, include_str!("../migrations/0018_lessons.sql")),
];

/// Split a script on `;` at line ends (the migrations contain no semicolons inside strings).
fn statements(script: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for line in script.lines() {
        let l = line.trim();
        if l.starts_with("--") || l.is_empty() {
            continue;
        }
        cur.push_str(line);
        cur.push('\n');
        if l.ends_with(';') {
            out.push(cur.trim().trim_end_matches(';').to_string());
            cur.clear();
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur);
    }
    out
}

pub(crate) async fn run(store: &Store) -> Result<Vec<u32>> {
    let pool = store.pool();
    let mut tx = pool.begin_with(store.backend.begin_write()).await?;
    if let Some(lock) = store.backend.migration_lock() {
        tx.execute(lock).await?;
    }
    tx.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at TEXT NOT NULL)")
        .await?;
    let done: Vec<i64> = sqlx::query_scalar("SELECT version FROM schema_migrations").fetch_all(&mut *tx).await?;
    let mut applied = Vec::new();
    for (version, script) in MIGRATIONS {
        if done.contains(&(*version as i64)) {
            continue;
        }
        let script = script.replace("{{ID}}", store.backend.id_column());
        for stmt in statements(&script) {
            tx.execute(stmt.as_str()).await?;
        }
        if *version == 1 {
            seed_reference_data(&mut tx).await?;
        }
        if *version == 8 {
            crate::audit::chain_existing(&mut tx).await?;
        }
        sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)")
            .bind(*version as i64)
            .bind(crate::write::now())
            .execute(&mut *tx)
            .await?;
        applied.push(*version);
    }
    // The key fingerprint: set once, then every open must present the same key.
    let fp: Option<String> =
        sqlx::query_scalar("SELECT value FROM settings WHERE key = 'key_fingerprint'").fetch_optional(&mut *tx).await?;
    match fp {
        None => {
            sqlx::query("INSERT INTO settings (key, value) VALUES ('key_fingerprint', $1)")
                .bind(store.crypto.fingerprint().to_string())
                .execute(&mut *tx)
                .await?;
        }
        Some(f) if f != store.crypto.fingerprint() => {
            return Err(StoreError::Config(format!(
                "个人信息加密密钥与该数据库不匹配（数据库要求指纹 {f}，当前密钥指纹 {}）。请使用创建该数据库时的密钥文件",
                store.crypto.fingerprint()
            )));
        }
        Some(_) => {}
    }
    tx.commit().await?;
    Ok(applied)
}

async fn seed_reference_data(tx: &mut sqlx::Transaction<'static, sqlx::Any>) -> Result<()> {
    for r in REGIONS {
        let prefix = RegionCode::parse(r.code).map(|c| c.subtree_prefix()).unwrap_or_else(|_| r.code.to_string());
        sqlx::query("INSERT INTO regions (code, name, parent_code, level, prefix) VALUES ($1, $2, $3, $4, $5)")
            .bind(r.code)
            .bind(r.name)
            .bind(r.parent)
            .bind(r.level.as_str())
            .bind(prefix)
            .execute(&mut **tx)
            .await?;
        for a in r.aliases {
            sqlx::query("INSERT INTO region_aliases (code, alias) VALUES ($1, $2)")
                .bind(r.code)
                .bind(*a)
                .execute(&mut **tx)
                .await?;
        }
    }
    for (code, name, party) in PAIRING_TYPES {
        sqlx::query("INSERT INTO pairing_types (code, name, party, builtin) VALUES ($1, $2, $3, 1)")
            .bind(*code)
            .bind(*name)
            .bind(*party)
            .execute(&mut **tx)
            .await?;
    }
    for (table, list) in [("activity_types", ACTIVITY_TYPES), ("brands", BRANDS)] {
        for (code, name) in list {
            sqlx::query(&format!("INSERT INTO {table} (code, name, builtin) VALUES ($1, $2, 1)"))
                .bind(*code)
                .bind(*name)
                .execute(&mut **tx)
                .await?;
        }
    }
    Ok(())
}
