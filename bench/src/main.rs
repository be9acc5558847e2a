//! The benchmark harness. Each run builds a fresh database (SQLite file; PostgreSQL database on
//! the local server), measures, prints one table and writes the figures as JSON.
//!
//! `cargo run --release -p counterpart-bench -- import [--rows N] [--out FILE]`: the import of
//! N activity rows (default 100,000) from CSV and from XLSX, validation and audit included, on
//! SQLite and on PostgreSQL: rows per second and the process's peak resident memory.

use anyhow::{bail, Context};
use domain::audit::Actor;
use domain::catalog::by_slug;
use services::exchange::{import, sheet};
use std::time::Instant;
use store::{Crypto, DbUrl, Store};

const KEY: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
const HEADER: &str =
    "*活动名称,*活动类型,活动品牌,*工作条线,*日期,结束日期,*地点,组织单位,所属项目,所属结对,*参与人次,*受益人次";
const TYPES: [(&str, &str); 6] = [
    ("义诊", "医疗"),
    ("培训", "教育"),
    ("讲座/大讲堂", "教育"),
    ("志愿服务", "党政"),
    ("营地/冬夏令营", "教育"),
    ("义诊", "医疗"),
];
const PLACES: [&str; 5] = ["653022", "阿克陶县", "653022200", "653001", "653024"];

/// Deterministic rows in the template's columns.
fn rows(n: usize) -> Vec<[String; 12]> {
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    (0..n)
        .map(|i| {
            let (ty, line) = TYPES[(next() % 6) as usize];
            let participants = 5 + next() % 296;
            let beneficiaries = participants * (1 + next() % 4) + next() % 51;
            let day = next() % 4383; // 2015-01-01 … 2026-12-31
            let date = chrono_like(day);
            [
                format!("活动 {i}"),
                ty.into(),
                String::new(),
                line.into(),
                date,
                String::new(),
                PLACES[(next() % 5) as usize].into(),
                "JX-H01".into(),
                String::new(),
                String::new(),
                participants.to_string(),
                beneficiaries.to_string(),
            ]
        })
        .collect()
}

/// Day `d` after 2015-01-01 as YYYY-MM-DD (no calendar crate needed for a harness).
fn chrono_like(d: u64) -> String {
    let mut days = d as i64;
    let mut y = 2015;
    loop {
        let len = if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 { 366 } else { 365 };
        if days < len {
            break;
        }
        days -= len;
        y += 1;
    }
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let months = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let mut m = 0;
    while days >= months[m] {
        days -= months[m];
        m += 1;
    }
    format!("{y}-{:02}-{:02}", m + 1, days + 1)
}

fn csv(rows: &[[String; 12]]) -> Vec<u8> {
    let mut s = String::with_capacity(rows.len() * 80);
    s.push_str(HEADER);
    s.push('\n');
    for r in rows {
        s.push_str(&r.join(","));
        s.push('\n');
    }
    s.into_bytes()
}

fn xlsx(rows: &[[String; 12]]) -> anyhow::Result<Vec<u8>> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let ws = book.add_worksheet();
    for (c, h) in HEADER.split(',').enumerate() {
        ws.write_string(0, c as u16, h)?;
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            if v.is_empty() {
                continue;
            }
            match v.parse::<f64>() {
                Ok(n) if c >= 10 => ws.write_number(r as u32 + 1, c as u16, n)?,
                _ => ws.write_string(r as u32 + 1, c as u16, v)?,
            };
        }
    }
    Ok(book.save_to_buffer()?)
}

/// The process's peak resident memory so far, in MiB (Linux).
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(str::to_string))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|k| k.parse::<f64>().ok()))
        .map(|kib| kib / 1024.0)
        .unwrap_or(f64::NAN)
}

struct Db {
    url: String,
    _dir: tempfile::TempDir,
    pg: Option<String>,
}

async fn fresh(backend: &str) -> anyhow::Result<Db> {
    let dir = tempfile::tempdir()?;
    if backend == "sqlite" {
        return Ok(Db { url: format!("sqlite://{}", dir.path().join("bench.db").display()), _dir: dir, pg: None });
    }
    let admin =
        std::env::var("COUNTERPART_BENCH_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let name = format!("cp_bench_{}", std::process::id());
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&admin).await.context("PostgreSQL for the benchmark")?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name}")).execute(&pool).await?;
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&pool).await?;
    let base = admin.rsplit_once('/').map(|(b, _)| b.to_string()).context("admin URL")?;
    Ok(Db { url: format!("{base}/{name}"), _dir: dir, pg: Some(admin) })
}

async fn drop_db(db: Db) -> anyhow::Result<()> {
    if let Some(admin) = db.pg {
        let name = db.url.rsplit('/').next().unwrap_or_default().to_string();
        let pool = sqlx::AnyPool::connect(&admin).await?;
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&pool).await?;
    }
    Ok(())
}

struct Measured {
    backend: &'static str,
    format: &'static str,
    rows: usize,
    read_s: f64,
    import_s: f64,
    peak_mib: f64,
}

async fn import_bench(n: usize) -> anyhow::Result<Vec<Measured>> {
    let data = rows(n);
    let files = [("CSV", csv(&data)), ("XLSX", xlsx(&data)?)];
    drop(data);
    let t = by_slug("activities").context("activities")?;
    let mut out = Vec::new();
    for backend in ["sqlite", "postgres"] {
        for (format, bytes) in &files {
            let db = fresh(backend).await?;
            let store = Store::open(&DbUrl::parse(&db.url)?, Crypto::from_hex(KEY)?).await?;
            services::demo::load(&store).await?;
            let start = Instant::now();
            let sh = sheet::read(bytes, t.zh)?;
            let read_s = start.elapsed().as_secs_f64();
            let outcome = import::import(&store, &Actor::system(), t, &sh, import::Options::default()).await?;
            let import_s = start.elapsed().as_secs_f64() - read_s;
            if !outcome.errors.is_empty() || outcome.created != n {
                bail!("{backend} {format}: {} ({:?})", outcome.summary(), outcome.errors.first());
            }
            out.push(Measured { backend, format, rows: n, read_s, import_s, peak_mib: peak_rss_mib() });
            store.close().await;
            drop_db(db).await?;
        }
    }
    Ok(out)
}

fn machine() -> String {
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

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let what = args.first().map(String::as_str).unwrap_or("import");
    let arg = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    if what != "import" {
        bail!("unknown benchmark {what}; available: import");
    }
    let n: usize = arg("--rows").map(|s| s.parse()).transpose()?.unwrap_or(100_000);
    let out = arg("--out").unwrap_or_else(|| "bench/results/import.json".into());
    let measured = import_bench(n).await?;
    println!("Import of {n} activity rows (validation, one transaction, one audit entry per row) — {}", machine());
    println!(
        "{:<10} {:<6} {:>9} {:>10} {:>10} {:>12} {:>14}",
        "backend", "format", "rows", "read s", "write s", "rows/s", "peak RSS MiB*"
    );
    let mut json = Vec::new();
    for m in &measured {
        let total = m.read_s + m.import_s;
        let rate = m.rows as f64 / total;
        println!(
            "{:<10} {:<6} {:>9} {:>10.2} {:>10.2} {:>12.0} {:>14.1}",
            m.backend, m.format, m.rows, m.read_s, m.import_s, rate, m.peak_mib
        );
        json.push(serde_json::json!({
            "benchmark": "import", "backend": m.backend, "format": m.format, "rows": m.rows,
            "read_seconds": m.read_s, "import_seconds": m.import_s, "rows_per_second": rate,
            "peak_rss_mib": m.peak_mib,
        }));
    }
    if let Some(dir) = std::path::Path::new(&out).parent() {
        std::fs::create_dir_all(dir)?;
    }
    let doc = serde_json::json!({ "machine": machine(), "results": json });
    std::fs::write(&out, serde_json::to_string_pretty(&doc)?)?;
    println!("* the process's peak resident memory so far (VmHWM), the files included");
    println!("written {out}");
    Ok(())
}
