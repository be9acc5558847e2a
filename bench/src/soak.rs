//! `soak`: the release server under a mixed load of reads and writes for minutes on end.
//!
//! `cargo run --release -p counterpart-bench -- soak [--minutes 5] [--clients 32] [--writes 20]
//! [--backends sqlite,postgres | --pg] [--out bench/results/soak.json]`
//!
//! For each backend, on a fresh database (a SQLite file; a new database on the local PostgreSQL
//! server) loaded with the demo program by `counterpart demo`: two users are added by
//! `counterpart user add` (a manager at the front command, whose API token `counterpart token
//! create` makes, and a viewer, signed in for the pages), the release server is started, and
//! `--clients` tasks, each on its own keep-alive connection, run a mix until the time is up:
//! list pages, the dashboard, a project's page, the figures, the API's lists, records and
//! breakdowns, and (`--writes` per cent) API creates and changes of activities and funding lines,
//! each client changing only what it created. Every request is counted and timed; an error is
//! an answer other than 2xx/3xx or a failed connection. The server's resident memory (VmRSS) is
//! read every `--sample` seconds (default 2).
//!
//! Afterwards, with the server still running: every acknowledged write is read back through the
//! API and compared field by field with what was last acknowledged; the number of activities and
//! funding lines in the database must be the number before plus the creates; the API's
//! breakdowns (served from the rollups kept in each write's transaction) must equal a recount in
//! plain SQL over the records, and the figures the server shows must equal those a fresh
//! `counterpart figures --json` computes. After the server stops, `counterpart audit verify` must
//! find the audit chain whole.
//!
//! Memory is judged "flat" when the mean of the last minute's samples is at most 1.2 × the mean
//! of the first minute's (the first minute includes the warm-up of caches and pools). Like every
//! benchmark here it asserts nothing: it prints and writes `bench/results/soak.json`.

use crate::common::{drop_db, fresh, machine, Db, KEY};
use crate::http::{Answer, Conn, Req};
use crate::scale::{ms, percentile, server_binary, Server};
use anyhow::{bail, Context};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use store::sessions::Login;
use store::{Crypto, DbUrl, Store};

const MANAGER: &str = "soak.manager";
const VIEWER: &str = "soak.viewer";
const FIRST_PASSWORD: &str = "Soak#Start-2026";
const PASSWORD: &str = "Soak#Pamir-2026";
/// The memory rule: flat when the last minute's mean is at most this times the first minute's.
const FLAT_FACTOR: f64 = 1.2;

struct Settings {
    duration: Duration,
    clients: usize,
    writes: u64,
    sample: Duration,
    backends: Vec<String>,
    out: PathBuf,
}

impl Settings {
    fn parse(args: &[String]) -> anyhow::Result<Settings> {
        let arg = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
        let minutes: f64 = arg("--minutes").map(|m| m.parse()).transpose().context("--minutes")?.unwrap_or(5.0);
        if minutes.is_nan() || minutes <= 0.0 {
            bail!("--minutes must be positive");
        }
        let mut backends: Vec<String> =
            arg("--backends").unwrap_or_else(|| "sqlite".into()).split(',').map(|b| b.trim().to_string()).collect();
        if args.iter().any(|a| a == "--pg") && !backends.iter().any(|b| b == "postgres") {
            backends.push("postgres".into());
        }
        for b in &backends {
            if b != "sqlite" && b != "postgres" {
                bail!("--backends takes sqlite and postgres, not {b}");
            }
        }
        let writes: u64 = arg("--writes").map(|w| w.parse()).transpose().context("--writes")?.unwrap_or(20);
        if writes > 100 {
            bail!("--writes is a percentage");
        }
        Ok(Settings {
            duration: Duration::from_secs_f64(minutes * 60.0),
            clients: arg("--clients").map(|c| c.parse()).transpose().context("--clients")?.unwrap_or(32).max(1),
            writes,
            sample: Duration::from_secs(
                arg("--sample").map(|c| c.parse()).transpose().context("--sample")?.unwrap_or(2),
            ),
            backends,
            out: arg("--out").unwrap_or_else(|| "bench/results/soak.json".into()).into(),
        })
    }
}

/// A small deterministic generator (xorshift64*): each client its own sequence.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len() as u64) as usize]
    }
}

/// What a client last had acknowledged for a record it wrote.
#[derive(Debug, Clone)]
enum Expected {
    Activity { title: String, date: String, participants: i64, beneficiaries: i64 },
    Funding { project_id: i64, year: i64, source: &'static str, planned: i64, allocated: i64, disbursed: i64 },
}

impl Expected {
    fn slug(&self) -> &'static str {
        match self {
            Expected::Activity { .. } => "activities",
            Expected::Funding { .. } => "funding",
        }
    }
    fn body(&self) -> Value {
        match self {
            Expected::Activity { title, date, participants, beneficiaries } => json!({
                "title": title, "type_code": "lecture", "date": date, "region_code": "653022",
                "line": "education", "participants": participants, "beneficiaries": beneficiaries,
            }),
            Expected::Funding { project_id, year, source, planned, allocated, disbursed } => json!({
                "project_id": project_id, "year": year, "source": source, "planned_fen": planned,
                "allocated_fen": allocated, "disbursed_fen": disbursed,
            }),
        }
    }
    /// The fields that differ between this and a record as the API answers it.
    fn differences(&self, got: &Value) -> Vec<String> {
        let Value::Object(want) = self.body() else { return vec!["expected an object".into()] };
        want.iter()
            .filter(|(k, v)| !same(v, &got[k.as_str()]))
            .map(|(k, v)| format!("{k}: wrote {v}, read {}", got[k.as_str()]))
            .collect()
    }
}

/// Equal as values, a number and its decimal text alike (money may be answered as either).
fn same(a: &Value, b: &Value) -> bool {
    let num = |v: &Value| v.as_i64().or_else(|| v.as_str().and_then(|s| s.parse::<i64>().ok()));
    match (num(a), num(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// The funding sources a funding line is written with.
const SOURCES: [&str; 4] = ["province", "city", "social", "local"];

/// The kinds of request in the mix, with their weights among the reads and among the writes.
const READS: &[(&str, u64)] = &[
    ("list page", 15),
    ("dashboard", 10),
    ("project page", 15),
    ("figures API", 15),
    ("API record", 10),
    ("API list", 10),
    ("API breakdown", 5),
];
const WRITES: &[(&str, u64)] =
    &[("create activity", 40), ("update activity", 30), ("create funding", 15), ("update funding", 15)];

fn weighted(rng: &mut Rng, table: &[(&'static str, u64)]) -> &'static str {
    let total: u64 = table.iter().map(|(_, w)| w).sum();
    let mut r = rng.below(total);
    for (k, w) in table {
        if r < *w {
            return k;
        }
        r -= w;
    }
    table[0].0
}

/// What the load works with: the manager's token, the viewer's session, existing ids.
#[derive(Clone)]
struct Fixture {
    bearer: String,
    cookie: String,
    projects: Arc<Vec<i64>>,
    activities: Arc<Vec<i64>>,
}

#[derive(Default)]
struct ClientResult {
    times: BTreeMap<&'static str, Vec<f64>>,
    errors: BTreeMap<&'static str, usize>,
    samples: Vec<String>,
    written: HashMap<(&'static str, i64), Expected>,
    creates: BTreeMap<&'static str, usize>,
    updates: usize,
}

fn json_req(method: &'static str, path: String, bearer: &str, body: &Value) -> Req {
    Req {
        method,
        path,
        headers: vec![format!("Authorization: Bearer {bearer}")],
        body: Some(("application/json".into(), body.to_string().into_bytes())),
    }
}

fn id_of(a: &Answer) -> Option<i64> {
    serde_json::from_slice::<Value>(&a.body).ok()?["id"].as_i64()
}

async fn client(n: usize, addr: String, fx: Fixture, writes: u64, until: Instant) -> ClientResult {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ ((n as u64 + 1) * 0x1000_0001));
    let mut conn = Conn::new(&addr);
    let mut out = ClientResult::default();
    let mut mine_a: Vec<i64> = Vec::new();
    let mut mine_f: Vec<i64> = Vec::new();
    let api = || vec![format!("Authorization: Bearer {}", fx.bearer)];
    let web = || vec![format!("Cookie: cp_session={}", fx.cookie)];
    let mut serial = 0u64;
    while Instant::now() < until {
        serial += 1;
        let write = rng.below(100) < writes;
        let mut kind = if write { weighted(&mut rng, WRITES) } else { weighted(&mut rng, READS) };
        if kind == "update activity" && mine_a.is_empty() {
            kind = "create activity";
        }
        if kind == "update funding" && mine_f.is_empty() {
            kind = "create funding";
        }
        // The request, and what it writes when acknowledged.
        let (req, wrote): (Req, Option<(Option<i64>, Expected)>) = match kind {
            "list page" => {
                let slug = if rng.below(2) == 0 { "activities" } else { "projects" };
                (Req::get(format!("/records/{slug}?page={}", 1 + rng.below(10)), web()), None)
            }
            "dashboard" => (Req::get("/", web()), None),
            "project page" => (Req::get(format!("/records/projects/{}", rng.pick(&fx.projects)), web()), None),
            "figures API" => (Req::get("/api/v1/figures", api()), None),
            "API record" => (Req::get(format!("/api/v1/records/activities/{}", rng.pick(&fx.activities)), api()), None),
            "API list" => (
                Req::get(
                    format!("/api/v1/records/activities?per_page=50&page={}&sort=date&desc=true", 1 + rng.below(20)),
                    api(),
                ),
                None,
            ),
            "API breakdown" => {
                let by = *rng.pick(&["type", "year", "line"]);
                (
                    Req::get(format!("/api/v1/breakdown?source=activities&measure=sum.beneficiaries&by={by}"), api()),
                    None,
                )
            }
            "create activity" => {
                let e = Expected::Activity {
                    title: format!("浸泡测试活动 {n}-{serial}"),
                    date: format!("2025-{:02}-{:02}", 1 + rng.below(12), 1 + rng.below(28)),
                    participants: 1 + rng.below(200) as i64,
                    beneficiaries: 1 + rng.below(2000) as i64,
                };
                (json_req("POST", "/api/v1/records/activities".into(), &fx.bearer, &e.body()), Some((None, e)))
            }
            "update activity" => {
                let id = *rng.pick(&mine_a);
                let Some(Expected::Activity { title, date, .. }) = out.written.get(&("activities", id)).cloned() else {
                    continue;
                };
                let e = Expected::Activity {
                    title: format!("{} 改", title.split(" 改").next().unwrap_or(&title)),
                    date,
                    participants: 1 + rng.below(200) as i64,
                    beneficiaries: 1 + rng.below(2000) as i64,
                };
                let Expected::Activity { title, participants, beneficiaries, .. } = &e else { continue };
                let patch = json!({ "title": title, "participants": participants, "beneficiaries": beneficiaries });
                (json_req("PATCH", format!("/api/v1/records/activities/{id}"), &fx.bearer, &patch), Some((Some(id), e)))
            }
            "create funding" => {
                let planned = 10_000 + rng.below(100_000_000) as i64;
                let allocated = planned / 2;
                let e = Expected::Funding {
                    project_id: *rng.pick(&fx.projects),
                    year: 2024 + rng.below(3) as i64,
                    source: SOURCES[rng.below(SOURCES.len() as u64) as usize],
                    planned,
                    allocated,
                    disbursed: allocated / 2,
                };
                (json_req("POST", "/api/v1/records/funding".into(), &fx.bearer, &e.body()), Some((None, e)))
            }
            _ => {
                let id = *rng.pick(&mine_f);
                let Some(Expected::Funding { project_id, year, source, planned, .. }) =
                    out.written.get(&("funding", id)).cloned()
                else {
                    continue;
                };
                let allocated = rng.below(planned as u64 + 1) as i64;
                let e = Expected::Funding { project_id, year, source, planned, allocated, disbursed: allocated / 3 };
                let patch = json!({ "allocated_fen": allocated, "disbursed_fen": allocated / 3 });
                (json_req("PATCH", format!("/api/v1/records/funding/{id}"), &fx.bearer, &patch), Some((Some(id), e)))
            }
        };
        let t = Instant::now();
        let answer = conn.send(&req).await;
        let took = ms(t.elapsed());
        out.times.entry(kind).or_default().push(took);
        let failed = match &answer {
            Ok(a) if a.ok() => None,
            Ok(a) => Some(format!(
                "{} {} → {}: {}",
                req.method,
                req.path,
                a.status,
                a.text().chars().take(300).collect::<String>()
            )),
            Err(e) => Some(format!("{} {} → {e:#}", req.method, req.path)),
        };
        if let Some(msg) = failed {
            *out.errors.entry(kind).or_default() += 1;
            if out.samples.len() < 5 {
                out.samples.push(msg);
            }
            continue;
        }
        let Some((known, e)) = wrote else { continue };
        let id = match (known, answer.as_ref().ok().and_then(id_of)) {
            (Some(id), _) => {
                out.updates += 1;
                id
            }
            (None, Some(id)) => {
                *out.creates.entry(e.slug()).or_default() += 1;
                match e {
                    Expected::Activity { .. } => mine_a.push(id),
                    Expected::Funding { .. } => mine_f.push(id),
                }
                id
            }
            (None, None) => {
                *out.errors.entry(kind).or_default() += 1;
                if out.samples.len() < 5 {
                    out.samples.push(format!("{} {}: no id in the answer", req.method, req.path));
                }
                continue;
            }
        };
        out.written.insert((e.slug(), id), e);
    }
    out
}

/// min, max, mean of a set of readings.
fn stats(v: &[f64]) -> Value {
    if v.is_empty() {
        return json!({ "n": 0 });
    }
    let min = v.iter().copied().fold(f64::INFINITY, f64::min);
    let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    json!({ "n": v.len(), "min": min, "max": max, "mean": mean })
}

fn vm_rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse::<f64>().ok().map(|k| k / 1024.0)
}

/// Run the release binary as a command line on the soak database; its standard output.
fn cli(bin: &Path, db: &Db, args: &[&str], stdin: Option<&str>) -> anyhow::Result<String> {
    let mut child = Command::new(bin)
        .args(args)
        .env("COUNTERPART_DB", &db.url)
        .env("COUNTERPART_KEY", KEY)
        .env("RUST_LOG", "warn")
        .current_dir(db.dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("counterpart {}", args.join(" ")))?;
    if let Some(mut input) = child.stdin.take() {
        input.write_all(stdin.unwrap_or_default().as_bytes())?;
    }
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!("counterpart {} failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Demo data, the two users, the manager's token (by the command line) and the viewer's session.
async fn prepare(bin: &Path, db: &Db) -> anyhow::Result<(String, String)> {
    cli(bin, db, &["demo"], None)?;
    cli(bin, db, &["user", "add", MANAGER, "--role", "manager", "--org", "JX-CMD"], Some(FIRST_PASSWORD))?;
    cli(bin, db, &["user", "add", VIEWER, "--role", "viewer"], Some(FIRST_PASSWORD))?;
    let bearer = cli(bin, db, &["token", "create", MANAGER, "--name", "soak", "--days", "1"], None)?.trim().to_string();
    // The forced first change of password, as each person would make it.
    let store = Store::open(&DbUrl::parse(&db.url)?, Crypto::from_hex(KEY)?).await?;
    let manager = store.token_user(&bearer).await?.context("the soak token")?;
    store.change_password(&manager, FIRST_PASSWORD, PASSWORD).await?;
    let Login::Ok { token, user } = store.login(VIEWER, FIRST_PASSWORD, Some("127.0.0.1".into())).await? else {
        bail!("the soak viewer cannot sign in");
    };
    store.change_password(&user, FIRST_PASSWORD, PASSWORD).await?;
    store.close().await;
    Ok((bearer, token))
}

async fn ids(pool: &sqlx::AnyPool, table: &str) -> anyhow::Result<Vec<i64>> {
    Ok(sqlx::query_scalar::<_, i64>(&format!("SELECT id FROM {table} ORDER BY id")).fetch_all(pool).await?)
}

async fn count(pool: &sqlx::AnyPool, table: &str) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar::<_, i64>(&format!("SELECT COUNT(*) FROM {table}")).fetch_one(pool).await?)
}

async fn get_json(conn: &mut Conn, path: &str, bearer: &str) -> anyhow::Result<Value> {
    let a = conn.send(&Req::get(path, vec![format!("Authorization: Bearer {bearer}")])).await?;
    if !a.ok() {
        bail!("GET {path}: {} {}", a.status, a.text());
    }
    Ok(serde_json::from_slice(&a.body)?)
}

/// A breakdown's parts as key → value.
fn parts(v: &Value) -> BTreeMap<String, i64> {
    v["parts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| Some((p["key"].as_str()?.to_string(), p["value"].as_i64()?)))
        .collect()
}

async fn sql_groups(pool: &sqlx::AnyPool, sql: &str) -> anyhow::Result<BTreeMap<String, i64>> {
    let rows: Vec<(String, i64)> = sqlx::query_as(sql).fetch_all(pool).await.with_context(|| sql.to_string())?;
    Ok(rows.into_iter().filter(|(_, v)| *v != 0).collect())
}

/// The breakdowns the API serves from the rollups, against a recount over the records.
async fn recount(conn: &mut Conn, bearer: &str, pool: &sqlx::AnyPool) -> anyhow::Result<Vec<Value>> {
    let checks = [
        (
            "activities, sum of beneficiaries by type",
            "/api/v1/breakdown?source=activities&measure=sum.beneficiaries&by=type",
            "SELECT type_code, CAST(SUM(beneficiaries) AS BIGINT) FROM activities GROUP BY type_code",
        ),
        (
            "activities, sum of participants by line",
            "/api/v1/breakdown?source=activities&measure=sum.participants&by=line",
            "SELECT COALESCE(line, ''), CAST(SUM(participants) AS BIGINT) FROM activities GROUP BY COALESCE(line, '')",
        ),
        (
            "activities, count by year",
            "/api/v1/breakdown?source=activities&by=year",
            "SELECT substr(date, 1, 4), COUNT(*) FROM activities GROUP BY substr(date, 1, 4)",
        ),
        (
            "funding lines, sum of planned 分 by year",
            "/api/v1/breakdown?source=project_funding&measure=sum.planned_fen&by=year",
            "SELECT CAST(year AS TEXT), CAST(SUM(planned_fen) AS BIGINT) FROM project_funding GROUP BY year",
        ),
        (
            "funding lines, sum of allocated 分 by source",
            "/api/v1/breakdown?source=project_funding&measure=sum.allocated_fen&by=source",
            "SELECT source, CAST(SUM(allocated_fen) AS BIGINT) FROM project_funding GROUP BY source",
        ),
    ];
    let mut out = Vec::new();
    for (what, path, sql) in checks {
        let api: BTreeMap<String, i64> =
            parts(&get_json(conn, path, bearer).await?).into_iter().filter(|(_, v)| *v != 0).collect();
        let plain = sql_groups(pool, sql).await?;
        let equal = api == plain;
        if !equal {
            eprintln!("    recount differs for {what}:\n      API {api:?}\n      SQL {plain:?}");
        }
        out.push(json!({ "what": what, "api": path, "sql": sql, "equal": equal, "groups": plain.len() }));
    }
    Ok(out)
}

/// The figures the running server shows against those a fresh process computes.
async fn figures_match(conn: &mut Conn, bearer: &str, bin: &Path, db: &Db) -> anyhow::Result<(usize, Vec<String>)> {
    let served = get_json(conn, "/api/v1/figures", bearer).await?;
    let fresh: Map<String, Value> = serde_json::from_str(&cli(bin, db, &["figures", "--json"], None)?)?;
    let mut differ = Vec::new();
    let values = served["values"].as_array().cloned().unwrap_or_default();
    for f in &values {
        let key = f["key"].as_str().unwrap_or_default();
        let (a, b) = (f["value"].as_f64(), fresh.get(key).and_then(Value::as_f64));
        let close = matches!((a, b), (Some(a), Some(b)) if (a - b).abs() <= 1e-9 * a.abs().max(1.0));
        if !close {
            differ.push(format!("{key}: served {a:?}, computed {b:?}"));
        }
    }
    if values.len() != fresh.len() {
        differ.push(format!("{} figures served, {} computed", values.len(), fresh.len()));
    }
    Ok((values.len(), differ))
}

async fn one_backend(backend: &str, bin: &Path, s: &Settings) -> anyhow::Result<Value> {
    eprintln!("== {backend}");
    let db = fresh(backend).await?;
    let r = soak(backend, bin, s, &db).await;
    drop_db(db).await?;
    r
}

async fn soak(backend: &str, bin: &Path, s: &Settings, db: &Db) -> anyhow::Result<Value> {
    let (bearer, cookie) = prepare(bin, db).await?;
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&db.url).await?;
    let (activities_before, funding_before) =
        (count(&pool, "activities").await?, count(&pool, "project_funding").await?);
    let fx = Fixture {
        bearer: bearer.clone(),
        cookie,
        projects: Arc::new(ids(&pool, "projects").await?),
        activities: Arc::new(ids(&pool, "activities").await?),
    };
    if fx.projects.is_empty() || fx.activities.is_empty() {
        bail!("the demo has no projects or activities");
    }
    let server = Server::start(bin, db).await?;
    eprintln!(
        "  {} clients for {:.1} min, {}% writes, on {} activities and {} projects",
        s.clients,
        s.duration.as_secs_f64() / 60.0,
        s.writes,
        activities_before,
        fx.projects.len()
    );

    // Resident memory, sampled.
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let sampler = {
        let (stop, pid, every) = (stop.clone(), server.pid(), s.sample);
        tokio::spawn(async move {
            let mut samples = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                if let Some(m) = vm_rss_mib(pid) {
                    samples.push((start.elapsed().as_secs_f64(), m));
                }
                tokio::time::sleep(every).await;
            }
            samples
        })
    };
    let until = start + s.duration;
    let mut tasks = Vec::new();
    for n in 0..s.clients {
        tasks.push(tokio::spawn(client(n, server.addr.clone(), fx.clone(), s.writes, until)));
    }
    let mut progress = Instant::now();
    while Instant::now() < until {
        tokio::time::sleep(Duration::from_secs(1)).await;
        if progress.elapsed() >= Duration::from_secs(60) {
            progress = Instant::now();
            eprintln!(
                "    {:.0} s, server RSS {:.0} MiB",
                start.elapsed().as_secs_f64(),
                vm_rss_mib(server.pid()).unwrap_or(f64::NAN)
            );
        }
    }
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await?);
    }
    let elapsed = start.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let samples = sampler.await?;

    // Every request, by kind.
    let mut by_kind: BTreeMap<&str, (Vec<f64>, usize)> = BTreeMap::new();
    let mut all = Vec::new();
    let mut error_samples = Vec::new();
    let mut written: HashMap<(&str, i64), Expected> = HashMap::new();
    let (mut creates, mut updates) = (BTreeMap::<&str, usize>::new(), 0usize);
    for r in results {
        for (k, t) in r.times {
            all.extend_from_slice(&t);
            by_kind.entry(k).or_default().0.extend(t);
        }
        for (k, e) in r.errors {
            by_kind.entry(k).or_default().1 += e;
        }
        error_samples.extend(r.samples);
        written.extend(r.written);
        for (k, n) in r.creates {
            *creates.entry(k).or_default() += n;
        }
        updates += r.updates;
    }
    all.sort_by(f64::total_cmp);
    let total = all.len();
    let errors: usize = by_kind.values().map(|(_, e)| e).sum();
    let kinds: Vec<Value> = by_kind
        .iter_mut()
        .map(|(k, (t, e))| {
            t.sort_by(f64::total_cmp);
            json!({ "kind": k, "requests": t.len(), "errors": e, "p50_ms": percentile(t, 0.5),
                    "p95_ms": percentile(t, 0.95), "p99_ms": percentile(t, 0.99) })
        })
        .collect();

    // Every acknowledged write, read back.
    eprintln!("  reading back {} written records", written.len());
    let mut conn = Conn::new(&server.addr);
    let (mut present, mut wrong, mut missing) = (0usize, Vec::new(), 0usize);
    let mut keys: Vec<_> = written.keys().copied().collect();
    keys.sort();
    for (slug, id) in keys {
        let e = &written[&(slug, id)];
        let a = conn
            .send(&Req::get(format!("/api/v1/records/{slug}/{id}"), vec![format!("Authorization: Bearer {bearer}")]))
            .await?;
        if a.status == 404 {
            missing += 1;
            continue;
        }
        let got: Value = serde_json::from_slice(&a.body).with_context(|| format!("{slug}/{id}: {}", a.text()))?;
        let d = e.differences(&got);
        if d.is_empty() {
            present += 1;
        } else if wrong.len() < 10 {
            wrong.push(format!("{slug}/{id}: {}", d.join("; ")));
        } else {
            wrong.push(String::new());
        }
    }
    let created_a = *creates.get("activities").unwrap_or(&0) as i64;
    let created_f = *creates.get("funding").unwrap_or(&0) as i64;
    let (activities_after, funding_after) = (count(&pool, "activities").await?, count(&pool, "project_funding").await?);
    let recounts = recount(&mut conn, &bearer, &pool).await?;
    let (figures, figures_differ) = figures_match(&mut conn, &bearer, bin, db).await?;
    let (peak, _) = server.rss();
    server.stop()?;
    let verify = cli(bin, db, &["audit", "verify"], None);
    let audit_ok = verify.is_ok();
    let audit_line = match &verify {
        Ok(out) => out.trim().to_string(),
        Err(e) => format!("{e:#}"),
    };
    pool.close().await;

    // Memory: the first minute against the last.
    let span = elapsed.min(60.0);
    let first: Vec<f64> = samples.iter().filter(|(t, _)| *t < span).map(|(_, m)| *m).collect();
    let last: Vec<f64> = samples.iter().filter(|(t, _)| *t >= elapsed - span).map(|(_, m)| *m).collect();
    let (first_s, last_s) = (stats(&first), stats(&last));
    let flat = match (first_s["mean"].as_f64(), last_s["mean"].as_f64()) {
        (Some(a), Some(b)) => b <= a * FLAT_FACTOR,
        _ => false,
    };
    let acknowledged = written.len();
    Ok(json!({
        "backend": backend,
        "seconds": elapsed,
        "clients": s.clients,
        "write_percent": s.writes,
        "requests": total,
        "errors": errors,
        "error_samples": error_samples,
        "requests_per_second": total as f64 / elapsed,
        "p50_ms": percentile(&all, 0.5), "p95_ms": percentile(&all, 0.95), "p99_ms": percentile(&all, 0.99),
        "kinds": kinds,
        "rss_mib": {
            "samples": samples.iter().map(|(t, m)| json!([(*t * 10.0).round() / 10.0, (*m * 10.0).round() / 10.0])).collect::<Vec<_>>(),
            "first_minute": first_s, "last_minute": last_s, "peak": peak,
            "rule": format!("flat when the last minute's mean ≤ {FLAT_FACTOR} × the first minute's mean"),
            "flat": flat,
        },
        "writes": {
            "creates": creates, "updates": updates,
            "records_written": acknowledged, "present_as_written": present, "missing": missing,
            "different": wrong.len(), "different_samples": wrong.into_iter().filter(|w| !w.is_empty()).collect::<Vec<_>>(),
            "activities_before": activities_before, "activities_after": activities_after,
            "activities_expected": activities_before + created_a,
            "funding_before": funding_before, "funding_after": funding_after,
            "funding_expected": funding_before + created_f,
        },
        "recount": recounts,
        "figures": { "served": figures, "differ": figures_differ },
        "audit_verify": { "ok": audit_ok, "output": audit_line },
    }))
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

fn print(doc: &Value) {
    println!("Soak run — {}, {}", doc["machine"].as_str().unwrap_or(""), doc["date"].as_str().unwrap_or(""));
    for r in doc["runs"].as_array().into_iter().flatten() {
        println!(
            "\n{}: {} clients, {:.1} min, {}% writes: {} requests, {} errors, {:.0} req/s; p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms",
            r["backend"].as_str().unwrap_or(""),
            r["clients"],
            f(&r["seconds"]) / 60.0,
            r["write_percent"],
            r["requests"],
            r["errors"],
            f(&r["requests_per_second"]),
            f(&r["p50_ms"]),
            f(&r["p95_ms"]),
            f(&r["p99_ms"])
        );
        println!("  {:<16} {:>9} {:>7} {:>9} {:>9} {:>9}", "kind", "requests", "errors", "p50 ms", "p95 ms", "p99 ms");
        for k in r["kinds"].as_array().into_iter().flatten() {
            println!(
                "  {:<16} {:>9} {:>7} {:>9.1} {:>9.1} {:>9.1}",
                k["kind"].as_str().unwrap_or(""),
                k["requests"].as_u64().unwrap_or(0),
                k["errors"].as_u64().unwrap_or(0),
                f(&k["p50_ms"]),
                f(&k["p95_ms"]),
                f(&k["p99_ms"])
            );
        }
        for e in r["error_samples"].as_array().into_iter().flatten() {
            println!("  error: {}", e.as_str().unwrap_or(""));
        }
        let m = &r["rss_mib"];
        let show = |s: &Value| format!("min {:.1}, max {:.1}, mean {:.1}", f(&s["min"]), f(&s["max"]), f(&s["mean"]));
        println!(
            "  server RSS MiB: first minute {}; last minute {}; peak {:.1} → {} ({})",
            show(&m["first_minute"]),
            show(&m["last_minute"]),
            f(&m["peak"]),
            if m["flat"].as_bool() == Some(true) { "flat" } else { "NOT flat" },
            m["rule"].as_str().unwrap_or("")
        );
        let w = &r["writes"];
        println!(
            "  writes acknowledged: {} creates {}, {} updates; records written {}, present as written {}, missing {}, different {}",
            w["creates"].as_object().map(|o| o.values().filter_map(Value::as_u64).sum::<u64>()).unwrap_or(0),
            w["creates"],
            w["updates"],
            w["records_written"],
            w["present_as_written"],
            w["missing"],
            w["different"]
        );
        for d in w["different_samples"].as_array().into_iter().flatten() {
            println!("    different: {}", d.as_str().unwrap_or(""));
        }
        println!(
            "  activities {} → {} (expected {}), funding lines {} → {} (expected {})",
            w["activities_before"],
            w["activities_after"],
            w["activities_expected"],
            w["funding_before"],
            w["funding_after"],
            w["funding_expected"]
        );
        for c in r["recount"].as_array().into_iter().flatten() {
            println!(
                "  recount {}: {}",
                c["what"].as_str().unwrap_or(""),
                if c["equal"].as_bool() == Some(true) { "equal" } else { "DIFFERENT" }
            );
        }
        let differ = r["figures"]["differ"].as_array().map(Vec::len).unwrap_or(0);
        println!(
            "  figures: {} served, {} differ from a fresh computation; audit chain: {}",
            r["figures"]["served"],
            differ,
            r["audit_verify"]["output"].as_str().unwrap_or("")
        );
    }
}

pub async fn run(args: &[String]) -> anyhow::Result<()> {
    let s = Settings::parse(args)?;
    let bin = server_binary()?;
    let mut runs = Vec::new();
    for b in &s.backends {
        runs.push(one_backend(b, &bin, &s).await?);
    }
    let doc = json!({
        "benchmark": "soak", "machine": machine(), "date": chrono::Utc::now().format("%Y-%m-%d").to_string(),
        "runs": runs,
    });
    print(&doc);
    if let Some(dir) = s.out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&s.out, serde_json::to_string_pretty(&doc)?)?;
    println!("written {}", s.out.display());
    Ok(())
}
