//! `scale --quick`: the benchmark that answers in minutes, for use while working on a figure, the
//! dashboard, a report, an import or the write path. SQLite only, on a fresh database:
//!
//! 1. `counterpart demo` (the release binary, as a person runs it) makes the demo's database; the
//!    release server is started on it and (b), (c), (e) and (f) are measured.
//! 2. The generator (in process, the audited bulk path, seed 1) brings that database to 100,000
//!    activities (`--activities`), with the projects, people, organizations, pairings and
//!    indicator values in proportion; the same four are measured again.
//! 3. (g): 10,000 activity rows (`--import-rows`) imported from CSV and then from XLSX into it.
//!
//! Each request is measured as the full run measures it (warm-up, sequential for `--seconds` 3,
//! then 16 connections for as long), and the two steps are printed side by side with their ratio,
//! as a Markdown table, and written to `bench/results/quick.json`.

use crate::common::{drop_db, fresh, machine, KEY};
use crate::scale::{count, f, first_project, generate_part, import_into, measure_all, sign_in, Server, Settings};
use anyhow::{bail, Context};
use serde_json::{json, Value};
use services::generate::Scale;
use std::path::Path;
use std::process::Command;
use std::time::Instant;
use store::{Crypto, DbUrl, Store};

/// The requests measured at both steps.
const KEYS: [&str; 4] = ["b", "c", "e", "f"];

pub async fn run(s: &Settings, bin: &Path) -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--db") {
        bail!("--quick makes its own databases; --db measures an existing one without --quick");
    }
    if let Some(b) = args.iter().position(|a| a == "--backends").and_then(|i| args.get(i + 1)) {
        if b != "sqlite" {
            bail!("--quick measures SQLite only (the full run measures PostgreSQL), not --backends {b}");
        }
    }
    let start = Instant::now();
    let db = fresh("sqlite").await?;
    let r = steps(s, bin, &db).await;
    drop_db(db).await?;
    let mut doc = r?;
    let wall = start.elapsed().as_secs_f64();
    doc["wall_seconds"] = json!(wall);
    print(&doc);
    if let Some(dir) = s.out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&s.out, serde_json::to_string_pretty(&doc)?)?;
    println!("written {}", s.out.display());
    Ok(())
}

async fn steps(s: &Settings, bin: &Path, db: &crate::common::Db) -> anyhow::Result<Value> {
    // 1. The demo's database, made by the binary as the README's demo command makes it.
    eprintln!("== SQLite, quick: counterpart demo");
    let t = Instant::now();
    let out = Command::new(bin)
        .arg("demo")
        .env("COUNTERPART_DB", &db.url)
        .env("COUNTERPART_KEY", KEY)
        .env("RUST_LOG", "warn")
        .current_dir(db.dir.path())
        .output()
        .context("counterpart demo")?;
    if !out.status.success() {
        bail!("counterpart demo failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let demo_seconds = t.elapsed().as_secs_f64();
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&db.url).await?;
    let url = DbUrl::parse(&db.url)?;
    let demo = point(s, bin, db, &pool, &url).await?;

    // 2. Brought to the target by the generator.
    let have = usize::try_from(count(&pool, "activities").await?).unwrap_or(0);
    let Some(more) = s.activities.checked_sub(have).filter(|n| *n > 0) else {
        bail!("the demo already holds {have} activities, not fewer than --activities {}", s.activities);
    };
    // Projects in the province shape's proportion (6,000 to 100,000 activities).
    let projects = (more * Scale::Province.projects() / Scale::Province.activities()).max(1);
    eprintln!("  generating {more} activities, {projects} projects");
    let store = Store::open(&url, Crypto::from_hex(KEY)?).await?;
    let generated = generate_part(&store, projects, more, 1).await?;
    store.close().await;
    let grown = point(s, bin, db, &pool, &url).await?;

    // 3. (g) into the grown database.
    let store = Store::open(&url, Crypto::from_hex(KEY)?).await?;
    let imported = import_into(&store, s.import_rows).await?;
    store.close().await;
    pool.close().await;
    Ok(json!({
        "benchmark": "scale --quick", "backend": "sqlite", "machine": machine(),
        "date": chrono::Utc::now().format("%Y-%m-%d").to_string(),
        "seconds_per_measurement": s.seq.as_secs(), "connections": s.conns,
        "demo_seconds": demo_seconds, "generated": generated,
        "steps": [demo, grown], "import": imported,
    }))
}

/// One step: the server started on the database as it is, (b), (c), (e), (f) measured.
async fn point(
    s: &Settings,
    bin: &Path,
    db: &crate::common::Db,
    pool: &sqlx::AnyPool,
    url: &DbUrl,
) -> anyhow::Result<Value> {
    let store = Store::open(url, Crypto::from_hex(KEY)?).await?;
    let auth = sign_in(&store).await?;
    store.close().await;
    let activities = count(pool, "activities").await?;
    let projects = count(pool, "projects").await?;
    eprintln!("  measuring at {activities} activities, {projects} projects");
    let server = Server::start(bin, db).await?;
    let m = match first_project(pool).await {
        Ok(project) => measure_all(&server, pool, &auth, project, &KEYS, s).await,
        Err(e) => Err(e),
    };
    let (peak, _) = server.rss();
    server.stop()?;
    Ok(json!({ "activities": activities, "projects": projects, "results": m?, "server_peak_rss_mib": peak }))
}

/// An integer with thousands separators.
fn thousands(x: f64) -> String {
    if !x.is_finite() {
        return "—".into();
    }
    let digits = format!("{:.0}", x.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if x < -0.5 {
        out.insert(0, '-');
    }
    out
}

fn millis(x: f64) -> String {
    if !x.is_finite() {
        "—".into()
    } else if x >= 100.0 {
        format!("{} ms", thousands(x))
    } else {
        format!("{x:.2} ms")
    }
}

fn cell(m: &Value) -> String {
    let rps = f(&m["requests_per_second"]);
    let rps = if rps < 10.0 { format!("{rps:.1}") } else { thousands(rps) };
    let errors = m["errors"].as_u64().unwrap_or(0);
    let errors = if errors > 0 { format!(", {errors} errors") } else { String::new() };
    format!("{}, {rps}/s{errors}", millis(f(&m["median_ms"])))
}

fn print(doc: &Value) {
    let steps = doc["steps"].as_array().cloned().unwrap_or_default();
    let [demo, grown] = [&steps[0], &steps[1]];
    let n = |v: &Value| thousands(f(&v["activities"]));
    println!(
        "\nbench scale --quick — SQLite, {}, {}; median, and requests/s with {} connections; {} s each",
        doc["machine"].as_str().unwrap_or(""),
        doc["date"].as_str().unwrap_or(""),
        doc["connections"],
        doc["seconds_per_measurement"]
    );
    println!();
    println!("| request | demo ({} activities) | {} activities | ratio (median, req/s) |", n(demo), n(grown));
    println!("|---|---|---|---|");
    let result = |step: &Value, key: &str| -> Option<Value> {
        step["results"].as_array()?.iter().find(|m| m["key"].as_str() == Some(key)).cloned()
    };
    for key in KEYS {
        let (Some(a), Some(z)) = (result(demo, key), result(grown, key)) else { continue };
        println!(
            "| ({key}) {} | {} | {} | ×{:.2}, ×{:.2} |",
            a["what"].as_str().unwrap_or(""),
            cell(&a),
            cell(&z),
            f(&z["median_ms"]) / f(&a["median_ms"]),
            f(&z["requests_per_second"]) / f(&a["requests_per_second"])
        );
    }
    println!(
        "| server peak RSS | {:.0} MiB | {:.0} MiB | |",
        f(&demo["server_peak_rss_mib"]),
        f(&grown["server_peak_rss_mib"])
    );
    println!();
    let g = &doc["generated"];
    println!(
        "demo loaded in {:.1} s; generated {} records ({} activities) in {:.1} s, {} records/s",
        f(&doc["demo_seconds"]),
        thousands(f(&g["records"])),
        thousands(f(&g["activities"])),
        f(&g["seconds"]),
        thousands(f(&g["records_per_second"]))
    );
    for i in doc["import"].as_array().into_iter().flatten() {
        println!(
            "(g) import of {} activity rows, {}, into {} activities: {:.1} s, {} rows/s",
            thousands(f(&i["rows"])),
            i["format"].as_str().unwrap_or(""),
            n(grown),
            f(&i["seconds"]),
            thousands(f(&i["rows_per_second"]))
        );
    }
    println!("wall time {:.0} s", f(&doc["wall_seconds"]));
}
