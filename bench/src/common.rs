//! What every benchmark shares: fresh databases, the key, memory readings, the machine's name.

use anyhow::Context;

/// The personal-data key of every benchmark database (they are thrown away).
pub const KEY: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

/// The process's peak resident memory so far, in MiB (Linux).
pub fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(str::to_string))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|k| k.parse::<f64>().ok()))
        .map(|kib| kib / 1024.0)
        .unwrap_or(f64::NAN)
}

pub struct Db {
    pub url: String,
    pub dir: tempfile::TempDir,
    pub pg: Option<String>,
}

pub async fn fresh(backend: &str) -> anyhow::Result<Db> {
    let dir = tempfile::tempdir()?;
    if backend == "sqlite" {
        return Ok(Db { url: format!("sqlite://{}", dir.path().join("bench.db").display()), dir, pg: None });
    }
    let admin =
        std::env::var("COUNTERPART_BENCH_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let name = format!("cp_bench_{}", std::process::id());
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&admin).await.context("PostgreSQL for the benchmark")?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name}")).execute(&pool).await?;
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&pool).await?;
    let base = admin.rsplit_once('/').map(|(b, _)| b.to_string()).context("admin URL")?;
    Ok(Db { url: format!("{base}/{name}"), dir, pg: Some(admin) })
}

pub async fn drop_db(db: Db) -> anyhow::Result<()> {
    if let Some(admin) = db.pg {
        let name = db.url.rsplit('/').next().unwrap_or_default().to_string();
        let pool = sqlx::AnyPool::connect(&admin).await?;
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&pool).await?;
    }
    Ok(())
}

pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    format!("{cpu}, {cores} cores")
}
