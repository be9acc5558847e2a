//! The benchmark harness. Each run builds fresh databases (a SQLite file; a database on the local
//! PostgreSQL server), measures, prints one table and writes the figures as JSON. It asserts
//! nothing: figures are reported, never tested.
//!
//! - `cargo run --release -p counterpart-bench -- scale`: the `bench-1M` run (see `scale.rs`):
//!   the API, dashboard and report under sequential and concurrent load, each beside plain SQL,
//!   at 100,000 and 1,000,000 activities; import and export.
//! - `cargo run --release -p counterpart-bench -- scale --quick`: the quick harness (see
//!   `quick.rs`): SQLite only, (b), (c), (e), (f) on the demo's database and on it brought to
//!   100,000 activities, side by side, then (g); a few minutes.
//! - `cargo run --release -p counterpart-bench -- import [--rows N] [--out FILE]`: the import of
//!   N activity rows (default 100,000) from CSV and from XLSX, validation and audit included, on
//!   SQLite and on PostgreSQL: rows per second and the process's peak resident memory.
//! - `cargo run --release -p counterpart-bench -- soak [--minutes 5] [--clients 32] [--pg]`: mixed
//!   reads and writes for minutes (see `soak.rs`): errors, latency, the server's memory over time,
//!   and every acknowledged write read back.

mod common;
mod http;
mod imports;
mod quick;
mod scale;
mod soak;

use anyhow::bail;
use common::machine;
use imports::import_bench;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let what = args.first().map(String::as_str).unwrap_or("import");
    let arg = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    match what {
        "import" => {}
        "scale" => return scale::run(&args[1..]).await,
        "soak" => return soak::run(&args[1..]).await,
        _ => bail!("unknown benchmark {what}; available: scale, import, soak"),
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
