//! `scale`: the `bench-1M` run. For each backend (a SQLite file; a database on the local
//! PostgreSQL server), on a fresh database:
//!
//! 1. `counterpart generate` (in process, the audited bulk path) writes the first
//!    `--small` activities (100,000) with their share of the projects; the release server is
//!    started on it and (b), (c) and (e) are measured: the growth's first point.
//! 2. A second seed brings the database to the full shape (60,000 projects, 1,000,000
//!    activities, people, organizations, pairings, indicator values in proportion); the server
//!    is started again and (a)–(f) are measured, each of (a)–(c) beside the same question put to
//!    the database as plain SQL.
//! 3. (h) `counterpart export --type activities --format csv` of every activity, as its own
//!    process: time and peak resident memory.
//! 4. (g) the import of 100,000 activity rows from CSV and from XLSX into that database.
//!
//! A request measurement is: warm-up, then sequential requests (median and p99), then 16
//! concurrent keep-alive connections (requests per second); every answer must be 2xx (or the
//! 303 of an accepted form), and the errors are counted and printed. The server's peak resident
//! memory (VmHWM) is read from /proc after the load. Everything goes to one table on standard
//! output and to `bench/results/scale.json`.

use crate::common::{drop_db, fresh, machine, peak_rss_mib, Db, KEY};
use crate::http::{Conn, Req};
use crate::imports;
use anyhow::{bail, Context};
use domain::audit::Actor;
use domain::catalog::by_slug;
use domain::users::Role;
use serde_json::{json, Value};
use services::exchange::{import, sheet};
use services::generate::{generate, Options, Progress, Scale};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use store::sessions::{Login, SecondFactor};
use store::totp::Check;
use store::{Crypto, DbUrl, Store};

const USER: &str = "bench.manager";
const FIRST_PASSWORD: &str = "Bench#Start-2026";
const PASSWORD: &str = "Bench#Akto-2026";

pub(crate) struct Settings {
    projects: usize,
    pub(crate) activities: usize,
    small: usize,
    backends: Vec<String>,
    pub(crate) seq: Duration,
    conc: Duration,
    pub(crate) conns: usize,
    pub(crate) import_rows: usize,
    pub(crate) out: PathBuf,
    /// `--db URL`: measure an existing database (no generation, export or import), e.g. to
    /// profile one request; `--only a,f` picks the requests.
    reuse: Option<String>,
    only: Vec<String>,
}

impl Settings {
    pub(crate) fn parse(args: &[String]) -> anyhow::Result<Settings> {
        let arg = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
        let num = |name: &str, d: usize| -> anyhow::Result<usize> {
            arg(name)
                .map(|s| s.replace('_', "").parse::<usize>().with_context(|| format!("{name} {s}")))
                .unwrap_or(Ok(d))
        };
        // `--quick` (see quick.rs): SQLite, the demo and 100,000 activities, 3 s a measurement,
        // an import of 10,000 rows.
        let quick = args.iter().any(|a| a == "--quick");
        let activities =
            num("--activities", if quick { Scale::Province.activities() } else { Scale::National.activities() })?;
        let s = Settings {
            projects: num("--projects", Scale::National.projects())?,
            activities,
            small: num("--small", (activities / 10).max(1))?.min(activities),
            backends: arg("--backends")
                .unwrap_or_else(|| "sqlite,postgres".into())
                .split(',')
                .map(|b| b.trim().to_string())
                .collect(),
            seq: Duration::from_secs(num("--seconds", if quick { 3 } else { 5 })? as u64),
            conc: Duration::from_secs(num("--seconds", if quick { 3 } else { 5 })? as u64),
            conns: num("--connections", 16)?,
            import_rows: num("--import-rows", if quick { 10_000 } else { 100_000 })?,
            out: arg("--out")
                .unwrap_or_else(|| if quick { "bench/results/quick.json" } else { "bench/results/scale.json" }.into())
                .into(),
            reuse: arg("--db"),
            only: arg("--only")
                .unwrap_or_else(|| "a,b,c,d,e,f".into())
                .split(',')
                .map(|k| k.trim().to_string())
                .collect(),
        };
        for b in &s.backends {
            if b != "sqlite" && b != "postgres" {
                bail!("--backends takes sqlite and postgres, not {b}");
            }
        }
        Ok(s)
    }
}

/// One measured request: sequential latency and concurrent throughput.
#[derive(Debug, Clone, Default)]
struct Load {
    seq_n: usize,
    median_ms: f64,
    p99_ms: f64,
    conc_n: usize,
    rps: f64,
    errors: usize,
    bytes: usize,
}

/// The same question as plain SQL on the same database.
#[derive(Debug, Clone, Default)]
struct Plain {
    n: usize,
    median_ms: f64,
    p99_ms: f64,
}

pub(crate) fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn load(addr: &str, req: &Req, s: &Settings) -> anyhow::Result<Load> {
    let mut c = Conn::new(addr);
    // Warm-up: the first answers must be right, or the setting-up is wrong and nothing counts.
    let warm = Instant::now();
    let mut bytes = 0;
    for i in 0.. {
        let a = c.send(req).await?;
        if !a.ok() {
            bail!(
                "{} {} answered {}: {}",
                req.method,
                req.path,
                a.status,
                a.text().chars().take(400).collect::<String>()
            );
        }
        bytes = a.body.len();
        if i >= 2 && (warm.elapsed() > Duration::from_secs(1) || i >= 20) {
            break;
        }
    }
    let mut out = Load { bytes, ..Load::default() };
    let mut times = Vec::new();
    let start = Instant::now();
    while times.len() < 10_000 {
        let t = Instant::now();
        let a = c.send(req).await?;
        times.push(ms(t.elapsed()));
        if !a.ok() {
            out.errors += 1;
        }
        let e = start.elapsed();
        if (e >= s.seq && times.len() >= 5) || (e >= s.seq * 3 && times.len() >= 3) {
            break;
        }
    }
    times.sort_by(f64::total_cmp);
    out.seq_n = times.len();
    out.median_ms = percentile(&times, 0.5);
    out.p99_ms = percentile(&times, 0.99);

    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..s.conns {
        let (addr, req, until) = (addr.to_string(), req.clone(), s.conc);
        tasks.push(tokio::spawn(async move {
            let mut c = Conn::new(&addr);
            let (mut n, mut errors) = (0usize, 0usize);
            while start.elapsed() < until {
                match c.send(&req).await {
                    Ok(a) if a.ok() => n += 1,
                    _ => errors += 1,
                }
            }
            (n, errors)
        }));
    }
    for t in tasks {
        let (n, e) = t.await?;
        out.conc_n += n;
        out.errors += e;
    }
    out.rps = out.conc_n as f64 / start.elapsed().as_secs_f64();
    Ok(out)
}

async fn plain(pool: &sqlx::AnyPool, sql: &str, s: &Settings) -> anyhow::Result<Plain> {
    for _ in 0..3 {
        sqlx::query(sql).fetch_all(pool).await.with_context(|| sql.to_string())?;
    }
    let mut times = Vec::new();
    let start = Instant::now();
    while times.len() < 10_000 && !(start.elapsed() >= s.seq && times.len() >= 5) {
        let t = Instant::now();
        sqlx::query(sql).fetch_all(pool).await?;
        times.push(ms(t.elapsed()));
    }
    times.sort_by(f64::total_cmp);
    Ok(Plain { n: times.len(), median_ms: percentile(&times, 0.5), p99_ms: percentile(&times, 0.99) })
}

/// The place and year of (a) and (b).
const PLACE: &str = "653022";
const YEAR: i32 = 2020;

fn plain_sql(key: &str) -> Option<String> {
    let place = format!("region_code >= '{PLACE}' AND region_code < '653023'");
    let year = format!("date >= '{YEAR}-01-01' AND date <= '{YEAR}-12-31'");
    match key {
        "a" => Some(format!(
            "SELECT id, program_id, type_code, brand_code, title, date, end_date, region_code, organizer_org_id, \
             project_id, pairing_id, participants, beneficiaries, line FROM activities WHERE {place} AND {year} \
             ORDER BY date DESC, id DESC LIMIT 50"
        )),
        "b" => Some(format!(
            "SELECT type_code, CAST(SUM(beneficiaries) AS BIGINT) FROM activities WHERE {year} GROUP BY type_code"
        )),
        "c" => Some("SELECT type_code, CAST(SUM(beneficiaries) AS BIGINT) FROM activities GROUP BY type_code".into()),
        _ => None,
    }
}

pub(crate) struct Auth {
    bearer: String,
    cookie: String,
    csrf: String,
}

fn requests(auth: &Auth, project: i64) -> Vec<(&'static str, &'static str, Req)> {
    let api = || vec![format!("Authorization: Bearer {}", auth.bearer)];
    let web = || vec![format!("Cookie: cp_session={}", auth.cookie)];
    vec![
        (
            "a",
            "50 activities by place and year, newest first (API)",
            Req::get(
                format!("/api/v1/records/activities?region_code={PLACE}&year={YEAR}&sort=date&desc=true&per_page=50"),
                api(),
            ),
        ),
        (
            "b",
            "sum of beneficiaries by type, one year (API)",
            Req::get(
                format!("/api/v1/breakdown?source=activities&measure=sum.beneficiaries&by=type&year={YEAR}"),
                api(),
            ),
        ),
        (
            "c",
            "sum of beneficiaries by type, all years (API)",
            Req::get("/api/v1/breakdown?source=activities&measure=sum.beneficiaries&by=type", api()),
        ),
        ("d", "one project by id (API)", Req::get(format!("/api/v1/records/projects/{project}"), api())),
        ("e", "the dashboard page, HTML with its charts", Req::get("/", web())),
        (
            "f",
            "the 综述 report for 2025, generated as HTML (and kept)",
            Req::post_form(
                "/reports/summary",
                web(),
                &format!("csrf={}&from=2025-01-01&to=2025-12-31&scope=", auth.csrf),
            ),
        ),
    ]
}

/// The user the load signs in as: a program manager at the front command (reads the whole program
/// and may generate reports; the load writes nothing else), with its first
/// password changed as a person would, a session and a personal API token.
pub(crate) async fn sign_in(store: &Store) -> anyhow::Result<Auth> {
    let password = match store.user_named(USER).await? {
        Some(_) => PASSWORD,
        None => {
            let mut tx = store.write(&Actor::system()).await?;
            tx.add_user(USER, Role::Manager, Some("JX-CMD"), FIRST_PASSWORD).await?;
            tx.commit().await?;
            FIRST_PASSWORD
        }
    };
    let Login::Ok { mut token, mut user } = store.login(USER, password, Some("127.0.0.1".into())).await? else {
        bail!("the benchmark user cannot sign in");
    };
    // A manager signs in with a second factor: enrolled afresh on each run (its secret is not
    // kept by the bench), the reset done as a security administrator would.
    if user.second_factor == SecondFactor::Code {
        let sec = Actor { user_id: None, name: "bench".into(), role: Role::SecAdmin, org_id: None, source: None };
        store.totp_reset(&sec, user.user_id).await?;
        let Login::Ok { token: t, user: u } = store.login(USER, password, Some("127.0.0.1".into())).await? else {
            bail!("the benchmark user cannot sign in after the reset");
        };
        (token, user) = (t, u);
    }
    if user.second_factor == SecondFactor::Enrol {
        let e = store.totp_begin(&user, None).await?;
        let key = domain::totp::base32_decode(&e.secret).context("the enrolment secret is not base32")?;
        let now = chrono::Utc::now();
        let code = domain::totp::code_at(&key, now.timestamp());
        let Check::Passed { token: t, .. } = store.totp_confirm(&token, &user, &code, None, now).await? else {
            bail!("the benchmark user cannot enrol its second factor");
        };
        token = t;
        user = store.session(&token).await?.context("the session after enrolment")?;
    }
    if user.must_change_password {
        store.change_password(&user, FIRST_PASSWORD, PASSWORD).await?;
    }
    let id = user.user_id;
    let t = store.create_token(&Actor::system(), id, "bench", 1).await?;
    Ok(Auth { bearer: t.token, cookie: token, csrf: user.csrf })
}

pub(crate) fn server_binary() -> anyhow::Result<PathBuf> {
    // Build the server as the release profile has it (nothing to do when it is up to date).
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["build", "--release", "--locked", "-q", "-p", "counterpart"])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .status()
        .context("cargo build --release -p counterpart")?;
    if !status.success() {
        bail!("cargo build --release -p counterpart failed");
    }
    let exe = std::env::current_exe()?;
    let bin = exe.parent().context("the harness's directory")?.join("counterpart");
    if !bin.exists() {
        bail!("no server binary at {}", bin.display());
    }
    Ok(bin)
}

pub(crate) struct Server {
    child: Child,
    pub(crate) addr: String,
}

impl Server {
    pub(crate) async fn start(bin: &Path, db: &Db) -> anyhow::Result<Server> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let addr = format!("127.0.0.1:{port}");
        // BENCH_SERVER_LOG=filter (e.g. `sqlx::query=debug`, every statement with its time)
        // keeps the server's log in bench/results/serve.log, for a profile by statement.
        let (filter, path) = match std::env::var("BENCH_SERVER_LOG") {
            Ok(f) => (format!("warn,{f}"), PathBuf::from("bench/results/serve.log")),
            Err(_) => ("warn".to_string(), db.dir.path().join("serve.log")),
        };
        let log = std::fs::File::create(&path)?;
        let child = Command::new(bin)
            .args(["serve", "--addr", &addr])
            .env("COUNTERPART_DB", &db.url)
            .env("COUNTERPART_KEY", KEY)
            .env("RUST_LOG", filter)
            .current_dir(db.dir.path())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("start the server")?;
        let s = Server { child, addr };
        let start = Instant::now();
        loop {
            if let Ok(a) = Conn::new(&s.addr).send(&Req::get("/healthz", vec![])).await {
                if a.ok() {
                    return Ok(s);
                }
            }
            if start.elapsed() > Duration::from_secs(180) {
                bail!("the server did not come up; see {}", db.dir.path().join("serve.log").display());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// (peak, current) resident memory in MiB.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    pub(crate) fn rss(&self) -> (f64, f64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|k| k.parse::<f64>().ok())
                .map_or(f64::NAN, |k| k / 1024.0)
        };
        (field("VmHWM:"), field("VmRSS:"))
    }

    pub(crate) fn stop(mut self) -> anyhow::Result<()> {
        // SIGTERM: the server shuts down gracefully and closes the database.
        let _ = Command::new("kill").arg(self.child.id().to_string()).status();
        let start = Instant::now();
        while self.child.try_wait()?.is_none() {
            if start.elapsed() > Duration::from_secs(30) {
                self.child.kill()?;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }
}

pub(crate) async fn generate_part(
    store: &Store,
    projects: usize,
    activities: usize,
    seed: u64,
) -> anyhow::Result<Value> {
    let opt = Options::new(Scale::National, Some(projects), Some(activities), seed);
    let mut last = Instant::now();
    let mut show = |p: &Progress| {
        if last.elapsed() > Duration::from_secs(20) {
            last = Instant::now();
            eprintln!(
                "    {:<17} {:>9}/{:<9} {:>9} records, {:>7.0} records/s, {:>6.0} s",
                p.phase,
                p.done,
                p.total,
                p.rows,
                p.rows_per_sec(),
                p.elapsed.as_secs_f64()
            );
        }
    };
    let s = generate(store, &opt, &mut show).await?;
    eprintln!(
        "    seed {seed}: {} projects, {} activities, {} people, {} indicator values; {} records in {:.0} s ({:.0}/s)",
        s.projects,
        s.activities,
        s.people,
        s.indicator_values,
        s.records,
        s.seconds,
        s.rows_per_sec()
    );
    Ok(json!({ "seed": seed, "records": s.records, "audit_entries": s.audit_entries, "seconds": s.seconds,
               "records_per_second": s.rows_per_sec(), "activities": s.activities, "projects": s.projects,
               "people": s.people, "indicator_values": s.indicator_values }))
}

pub(crate) async fn count(pool: &sqlx::AnyPool, table: &str) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar::<_, i64>(&format!("SELECT COUNT(*) FROM {table}")).fetch_one(pool).await?)
}

/// Measure the named requests against a running server, plain SQL beside (a)–(c).
pub(crate) async fn measure_all(
    server: &Server,
    pool: &sqlx::AnyPool,
    auth: &Auth,
    project: i64,
    keys: &[&str],
    s: &Settings,
) -> anyhow::Result<Vec<Value>> {
    let mut out = Vec::new();
    for (key, what, req) in requests(auth, project) {
        if !keys.contains(&key) {
            continue;
        }
        let l = load(&server.addr, &req, s).await?;
        let p = match plain_sql(key) {
            Some(sql) => Some(plain(pool, &sql, s).await?),
            None => None,
        };
        let ratio = p.as_ref().map(|p| l.median_ms / p.median_ms);
        eprintln!(
            "    ({key}) median {:.2} ms, p99 {:.2} ms, {:.0} req/s, {} errors{}",
            l.median_ms,
            l.p99_ms,
            l.rps,
            l.errors,
            p.as_ref().map(|p| format!("; plain SQL {:.3} ms", p.median_ms)).unwrap_or_default()
        );
        out.push(json!({
            "key": key, "what": what, "method": req.method, "path": req.path.split('?').next().unwrap_or(""),
            "query": req.path.split_once('?').map(|(_, q)| q).unwrap_or(""),
            "sequential": l.seq_n, "median_ms": l.median_ms, "p99_ms": l.p99_ms,
            "concurrent_requests": l.conc_n, "connections": s.conns, "requests_per_second": l.rps,
            "errors": l.errors, "answer_bytes": l.bytes,
            "plain_sql": p.as_ref().map(|p| json!({ "sql": plain_sql(key), "runs": p.n, "median_ms": p.median_ms, "p99_ms": p.p99_ms })),
            "ratio_to_plain_sql": ratio,
        }));
    }
    Ok(out)
}

/// (h) Every activity to CSV by `counterpart export`, as its own process: seconds and its peak
/// resident memory (the kernel's maxrss of the waited child).
fn export(bin: &Path, db: &Db) -> anyhow::Result<Value> {
    let out = db.dir.path().join("activities.csv");
    let start = Instant::now();
    let child = Command::new(bin)
        .args(["export", "--type", "activities", "--format", "csv", "--out"])
        .arg(&out)
        .env("COUNTERPART_DB", &db.url)
        .env("COUNTERPART_KEY", KEY)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .context("counterpart export")?;
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: plain system calls on our own child; the zeroed rusage is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let seconds = start.elapsed().as_secs_f64();
    if r != pid || !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        bail!("counterpart export failed (status {status})");
    }
    let bytes = std::fs::metadata(&out)?.len();
    let lines = std::io::BufRead::lines(std::io::BufReader::new(std::fs::File::open(&out)?)).count();
    std::fs::remove_file(&out)?;
    let peak_mib = usage.ru_maxrss as f64 / 1024.0;
    eprintln!("    (h) {} rows, {:.1} MB in {seconds:.1} s, peak RSS {peak_mib:.0} MiB", lines - 1, bytes as f64 / 1e6);
    Ok(
        json!({ "rows": lines - 1, "bytes": bytes, "seconds": seconds, "rows_per_second": (lines - 1) as f64 / seconds, "peak_rss_mib": peak_mib }),
    )
}

/// (g) The import of N activity rows from CSV and from XLSX into the full database.
pub(crate) async fn import_into(store: &Store, n: usize) -> anyhow::Result<Vec<Value>> {
    let data = imports::rows(n);
    let files = [("CSV", imports::csv(&data)), ("XLSX", imports::xlsx(&data)?)];
    drop(data);
    let t = by_slug("activities").context("activities")?;
    let mut out = Vec::new();
    for (format, bytes) in &files {
        let start = Instant::now();
        let sh = sheet::read(bytes, t.zh)?;
        let read_s = start.elapsed().as_secs_f64();
        let outcome = import::import(store, &Actor::system(), t, &sh, import::Options::default()).await?;
        let total = start.elapsed().as_secs_f64();
        if !outcome.errors.is_empty() || outcome.created != n {
            bail!("import {format}: {} ({:?})", outcome.summary(), outcome.errors.first());
        }
        eprintln!("    (g) {format}: {n} rows in {total:.1} s, {:.0} rows/s", n as f64 / total);
        out.push(json!({ "format": format, "rows": n, "read_seconds": read_s, "seconds": total,
                         "rows_per_second": n as f64 / total, "harness_peak_rss_mib": peak_rss_mib() }));
    }
    Ok(out)
}

async fn one_backend(backend: &str, bin: &Path, s: &Settings) -> anyhow::Result<Value> {
    eprintln!("== {backend}");
    if let Some(url) = &s.reuse {
        let db = Db { url: url.clone(), dir: tempfile::tempdir()?, pg: None };
        let store = Store::open(&DbUrl::parse(url)?, Crypto::from_hex(KEY)?).await?;
        let auth = sign_in(&store).await?;
        store.close().await;
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(url).await?;
        let server = Server::start(bin, &db).await?;
        let project = first_project(&pool).await?;
        let keys: Vec<&str> = s.only.iter().map(String::as_str).collect();
        let m = measure_all(&server, &pool, &auth, project, &keys, s).await?;
        let (peak, now) = server.rss();
        server.stop()?;
        return Ok(json!({ "backend": backend, "db": url, "results": m, "server_peak_rss_mib": peak,
                          "server_rss_mib_after_load": now }));
    }
    let db = fresh(backend).await?;
    let r = backend_run(backend, bin, s, &db).await;
    drop_db(db).await?;
    r
}

async fn backend_run(backend: &str, bin: &Path, s: &Settings, db: &Db) -> anyhow::Result<Value> {
    let url = DbUrl::parse(&db.url)?;
    let small_projects = (s.projects as u128 * s.small as u128 / s.activities.max(1) as u128) as usize;
    let mut generated = Vec::new();
    let mut growth = Vec::new();
    let mut points = Vec::new();

    // 1. The growth's first point.
    eprintln!("  generating {} activities, {small_projects} projects", s.small);
    let store = Store::open(&url, Crypto::from_hex(KEY)?).await?;
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&db.url).await?;
    generated.push(generate_part(&store, small_projects, s.small, 1).await?);
    let auth = sign_in(&store).await?;
    store.close().await;
    if s.small < s.activities {
        let server = Server::start(bin, db).await?;
        eprintln!("  measuring at {} activities", count(&pool, "activities").await?);
        let project = first_project(&pool).await?;
        let m = measure_all(&server, &pool, &auth, project, &["b", "c", "e"], s).await?;
        let (peak, now) = server.rss();
        server.stop()?;
        growth.push(json!({ "activities": count(&pool, "activities").await?, "results": m,
                            "server_peak_rss_mib": peak, "server_rss_mib": now }));

        // 2. The full shape.
        eprintln!("  generating {} more activities, {} projects", s.activities - s.small, s.projects - small_projects);
        let store = Store::open(&url, Crypto::from_hex(KEY)?).await?;
        generated.push(generate_part(&store, s.projects - small_projects, s.activities - s.small, 2).await?);
        store.close().await;
    }
    let store = Store::open(&url, Crypto::from_hex(KEY)?).await?;
    let auth = sign_in(&store).await?;
    store.close().await;
    if backend == "postgres" {
        sqlx::query("ANALYZE").execute(&pool).await?;
    }
    let activities = count(&pool, "activities").await?;
    let sizes = json!({
        "activities": activities, "projects": count(&pool, "projects").await?, "people": count(&pool, "people").await?,
        "organizations": count(&pool, "organizations").await?, "pairings": count(&pool, "pairings").await?,
        "indicator_values": count(&pool, "indicator_values").await?, "audit_entries": count(&pool, "audit_log").await?,
    });
    eprintln!("  measuring at {sizes}");
    let server = Server::start(bin, db).await?;
    let project = first_project(&pool).await?;
    let m = measure_all(&server, &pool, &auth, project, &["a", "b", "c", "d", "e", "f"], s).await?;
    let (peak, now) = server.rss();
    server.stop()?;
    growth.push(json!({ "activities": activities, "results": m.iter().filter(|r| ["b", "c", "e"].contains(&r["key"].as_str().unwrap_or(""))).cloned().collect::<Vec<_>>(),
                        "server_peak_rss_mib": peak, "server_rss_mib": now }));
    points.extend(m);

    // 3. and 4.
    let exported = export(bin, db)?;
    let store = Store::open(&url, Crypto::from_hex(KEY)?).await?;
    let imported = import_into(&store, s.import_rows).await?;
    store.close().await;
    pool.close().await;
    Ok(json!({
        "backend": backend, "sizes": sizes, "generated": generated, "results": points,
        "server_peak_rss_mib": peak, "server_rss_mib_after_load": now, "growth": growth,
        "export": exported, "import": imported,
    }))
}

pub(crate) async fn first_project(pool: &sqlx::AnyPool) -> anyhow::Result<i64> {
    let n = count(pool, "projects").await?;
    Ok(sqlx::query_scalar::<_, i64>(&format!("SELECT id FROM projects ORDER BY id LIMIT 1 OFFSET {}", n / 2))
        .fetch_one(pool)
        .await?)
}

pub(crate) fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

fn print(doc: &Value) {
    let runs = doc["runs"].as_array().cloned().unwrap_or_default();
    println!("bench-1M scale run — {}, {}", doc["machine"].as_str().unwrap_or(""), doc["date"].as_str().unwrap_or(""));
    println!(
        "{:<9} {:<3} {:>10} {:>10} {:>6} {:>10} {:>7} {:>11} {:>8}  what",
        "backend", "", "median ms", "p99 ms", "seq n", "req/s@16", "errors", "plain SQL", "ratio"
    );
    for r in &runs {
        let b = r["backend"].as_str().unwrap_or("");
        for m in r["results"].as_array().into_iter().flatten() {
            let plain = &m["plain_sql"]["median_ms"];
            println!(
                "{:<9} ({}) {:>10.2} {:>10.2} {:>6} {:>10.0} {:>7} {:>11} {:>8}  {}",
                b,
                m["key"].as_str().unwrap_or(""),
                f(&m["median_ms"]),
                f(&m["p99_ms"]),
                m["sequential"].as_u64().unwrap_or(0),
                f(&m["requests_per_second"]),
                m["errors"].as_u64().unwrap_or(0),
                if plain.is_null() { "".into() } else { format!("{:.3} ms", f(plain)) },
                if m["ratio_to_plain_sql"].is_null() {
                    "".into()
                } else {
                    format!("{:.2}", f(&m["ratio_to_plain_sql"]))
                },
                m["what"].as_str().unwrap_or("")
            );
        }
    }
    println!("\nGrowth (median ms, req/s with 16 connections):");
    for r in &runs {
        for g in r["growth"].as_array().into_iter().flatten() {
            let cells: Vec<String> = g["results"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|m| {
                    format!(
                        "({}) {:.2} ms {:.0}/s",
                        m["key"].as_str().unwrap_or(""),
                        f(&m["median_ms"]),
                        f(&m["requests_per_second"])
                    )
                })
                .collect();
            println!(
                "{:<9} {:>9} activities: {}; server peak RSS {:.0} MiB",
                r["backend"].as_str().unwrap_or(""),
                g["activities"],
                cells.join(", "),
                f(&g["server_peak_rss_mib"])
            );
        }
    }
    println!("\nImport (g), export (h), server memory:");
    for r in &runs {
        let b = r["backend"].as_str().unwrap_or("");
        for i in r["import"].as_array().into_iter().flatten() {
            println!(
                "{:<9} (g) import {:>5}: {} rows, {:.1} s, {:.0} rows/s",
                b,
                i["format"].as_str().unwrap_or(""),
                i["rows"],
                f(&i["seconds"]),
                f(&i["rows_per_second"])
            );
        }
        let e = &r["export"];
        println!(
            "{:<9} (h) export CSV:   {} rows, {:.1} s, peak RSS {:.0} MiB",
            b,
            e["rows"],
            f(&e["seconds"]),
            f(&e["peak_rss_mib"])
        );
        println!(
            "{:<9} server peak RSS {:.0} MiB, {:.0} MiB after the load",
            b,
            f(&r["server_peak_rss_mib"]),
            f(&r["server_rss_mib_after_load"])
        );
    }
}

pub async fn run(args: &[String]) -> anyhow::Result<()> {
    let s = Settings::parse(args)?;
    let bin = server_binary()?;
    if args.iter().any(|a| a == "--quick") {
        return crate::quick::run(&s, &bin).await;
    }
    let mut runs = Vec::new();
    let backends = match &s.reuse {
        Some(url) if url.starts_with("sqlite:") => vec!["sqlite".to_string()],
        Some(_) => vec!["postgres".to_string()],
        None => s.backends.clone(),
    };
    for b in &backends {
        runs.push(one_backend(b, &bin, &s).await?);
    }
    let date = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let doc = json!({
        "benchmark": "scale", "machine": machine(), "date": date,
        "shape": { "projects": s.projects, "activities": s.activities, "small": s.small },
        "seconds_per_measurement": s.seq.as_secs(), "connections": s.conns, "runs": runs,
    });
    print(&doc);
    if let Some(dir) = s.out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&s.out, serde_json::to_string_pretty(&doc)?)?;
    println!("written {}", s.out.display());
    Ok(())
}
