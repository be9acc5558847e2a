//! `counterpart generate`, on both backends: the same seed gives the same data whatever the
//! transaction size; the data keep the benchmark's shape rules; every record has its audit
//! entry; the figures, the report and the dashboard work on what was generated; and a second
//! run of a seed, or a generation after the demo, behave.

use crate::both;
use crate::http::Browser;
use crate::support::{cli, serve, Backend, TestDb};
use services::generate::{generate, Options, Progress, Scale, Summary};
use sqlx::Connection;
use std::collections::BTreeMap;
use std::io::Write;
use std::process::Stdio;

const PROJECTS: usize = 300;
const ACTIVITIES: usize = 3_000;
const SEED: u64 = 42;

fn backend_of(db: &TestDb) -> Backend {
    if db.url.starts_with("sqlite") {
        Backend::Sqlite
    } else {
        Backend::Postgres
    }
}

async fn connect(db: &TestDb) -> sqlx::AnyConnection {
    sqlx::any::install_default_drivers();
    sqlx::AnyConnection::connect(&db.url).await.expect("connect")
}

async fn scalar(c: &mut sqlx::AnyConnection, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql).fetch_one(&mut *c).await.unwrap_or_else(|e| panic!("{sql}: {e}"))
}

async fn text(c: &mut sqlx::AnyConnection, sql: &str) -> String {
    sqlx::query_scalar::<_, String>(sql).fetch_one(&mut *c).await.unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Row counts of every table the generator writes.
const TABLES: &[&str] = &[
    "programs",
    "batches",
    "organizations",
    "people",
    "pairings",
    "projects",
    "project_status_events",
    "project_funding",
    "project_outputs",
    "activities",
    "activity_procedures",
    "indicator_defs",
    "indicator_values",
    "indicator_targets",
    "figure_defs",
    "report_templates",
];

async fn counts(c: &mut sqlx::AnyConnection) -> BTreeMap<&'static str, i64> {
    let mut m = BTreeMap::new();
    for t in TABLES {
        m.insert(*t, scalar(c, &format!("SELECT COUNT(*) FROM {t}")).await);
    }
    m.insert("custom activity_types", scalar(c, "SELECT COUNT(*) FROM activity_types WHERE builtin = 0").await);
    m
}

/// A checksum (FNV-1a over the rows as text, in id order) of a query's rows.
async fn checksum(c: &mut sqlx::AnyConnection, sql: &str) -> (usize, u64) {
    use sqlx::Row;
    let rows = sqlx::query(sql).fetch_all(&mut *c).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for r in &rows {
        let mut line = String::new();
        for i in 0..r.len() {
            let v = r
                .try_get::<Option<i64>, _>(i)
                .map(|v| v.map(|n| n.to_string()))
                .or_else(|_| r.try_get::<Option<String>, _>(i))
                .unwrap_or_else(|e| panic!("column {i} of {sql}: {e}"));
            line.push_str(v.as_deref().unwrap_or("∅"));
            line.push('\t');
        }
        for b in line.bytes().chain([b'\n']) {
            h ^= b as u64;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    (rows.len(), h)
}

const ACTIVITY_ROWS: &str = "SELECT id, program_id, type_code, brand_code, line, title, date, end_date, region_code, \
     organizer_org_id, project_id, pairing_id, participants, beneficiaries FROM activities ORDER BY id";
const OTHER_ROWS: &[&str] = &[
    "SELECT id, code, name, side, kind, parent_id, path, region_code FROM organizations ORDER BY id",
    "SELECT id, kind, name, batch_id, category, line, home_org_id, host_org_id, start_date, end_date, \
     id_number_hash, id_number_mask, phone_mask FROM people ORDER BY id",
    "SELECT id, code, name, sector, region_code, org_id, planned_start, planned_end, status, status_date \
     FROM projects ORDER BY id",
    "SELECT id, project_id, year, source, planned_fen, allocated_fen, disbursed_fen FROM project_funding ORDER BY id",
    "SELECT id, type_code, a_org_id, b_org_id, a_person_id, b_person_id, start_date, end_date FROM pairings ORDER BY id",
    "SELECT id, indicator_code, org_id, period, value FROM indicator_values ORDER BY id",
];

fn options(chunk: usize) -> Options {
    let mut o = Options::new(Scale::Demo, Some(PROJECTS), Some(ACTIVITIES), SEED);
    o.chunk = chunk;
    o
}

fn user_add(db: &TestDb, name: &str, password: &str) {
    let mut child = cli(db)
        .args(["user", "add", name, "--role", "manager", "--org", "JX-CMD"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run user add");
    child.stdin.take().expect("stdin").write_all(password.as_bytes()).expect("password");
    let out = child.wait_with_output().expect("user add");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

async fn generated(db: &TestDb) {
    // One database by the command line, in transactions of 5,000 records…
    let started = std::time::Instant::now();
    let out = cli(db)
        .args(["generate", "--projects", "300", "--activities", "3000", "--seed", "42"])
        .output()
        .expect("run generate");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "generate failed: {stderr}");
    assert!(stderr.contains("activities") && stderr.contains("条/秒"), "progress with rows/s on stderr: {stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("活动 3000 场") && stdout.contains("新建"), "{stdout}");
    eprintln!("generated in {:?}: {stdout}", started.elapsed());

    // …the other by the library, in transactions of 700: the same data.
    let twin = TestDb::new(backend_of(db)).await;
    let twin_store = twin.store().await;
    let mut seen = Vec::new();
    let summary: Summary =
        generate(&twin_store, &options(700), &mut |p: &Progress| seen.push(p.phase)).await.expect("generate");
    assert!(seen.contains(&"activities") && seen.contains(&"indicator_values"), "{seen:?}");
    let mut c = connect(db).await;
    let mut t = connect(&twin).await;
    let n = counts(&mut c).await;
    assert_eq!(n, counts(&mut t).await, "same seed, same counts");
    let (rows, sum) = checksum(&mut c, ACTIVITY_ROWS).await;
    assert_eq!(rows, ACTIVITIES);
    assert_eq!((rows, sum), checksum(&mut t, ACTIVITY_ROWS).await, "same seed, same activity rows");
    for sql in OTHER_ROWS {
        assert_eq!(checksum(&mut c, sql).await, checksum(&mut t, sql).await, "same seed, same rows: {sql}");
    }

    // What the summary says is what is there.
    assert_eq!(n["activities"] as usize, summary.activities);
    assert_eq!(n["projects"] as usize, PROJECTS);
    assert_eq!(n["programs"], 1);
    assert_eq!(n["batches"], 11);
    assert_eq!(n["people"] as usize, summary.people);
    assert!(summary.people >= ACTIVITIES / 10, "people in proportion: {}", summary.people);
    assert!(n["pairings"] as usize >= summary.people / 20 && n["pairings"] == summary.pairings as i64);
    assert!(n["indicator_values"] as usize >= ACTIVITIES, "indicator values in proportion: {}", n["indicator_values"]);
    assert_eq!(n["indicator_values"] as usize, summary.indicator_values);
    assert_eq!(n["custom activity_types"], 2, "ten built-in activity types and two added");
    assert!(n["figure_defs"] > 40 && n["report_templates"] == 1, "figures and template installed: {n:?}");

    // Audit: one entry per record written, one more per organization (its path) and per status
    // step (the project's status); all by the generator.
    let records: i64 = n.values().sum();
    let creates = scalar(&mut c, "SELECT COUNT(*) FROM audit_log WHERE action = 'create'").await;
    let updates = scalar(&mut c, "SELECT COUNT(*) FROM audit_log WHERE action = 'update'").await;
    assert_eq!(creates, records, "a create entry for every record");
    assert_eq!(updates, n["organizations"] + n["project_status_events"], "an update per path and per status step");
    assert_eq!(creates + updates, summary.audit_entries as i64);
    assert_eq!(summary.records as i64, records);
    let others = scalar(
        &mut c,
        "SELECT COUNT(*) FROM audit_log WHERE actor <> 'generate' OR source IS NULL OR source <> 'generate'",
    )
    .await;
    assert_eq!(others, 0, "every entry is the generator's");

    // Dates uniform over 2015–2026.
    let first = text(&mut c, "SELECT MIN(date) FROM activities").await;
    let last = text(&mut c, "SELECT MAX(date) FROM activities").await;
    assert!(first.as_str() >= "2015-01-01" && first.as_str() < "2015-03-01", "first activity {first}");
    assert!(last.as_str() <= "2026-12-31" && last.as_str() > "2026-10-31", "last activity {last}");
    for year in 2015..=2026 {
        let k = scalar(&mut c, &format!("SELECT COUNT(*) FROM activities WHERE date LIKE '{year}-%'")).await;
        assert!((150..=350).contains(&k), "{k} activities in {year}: not uniform");
    }
    // Participants 5–300; beneficiaries = participants × (1–4) + (0–50).
    assert_eq!(scalar(&mut c, "SELECT MIN(participants) FROM activities").await, 5);
    assert_eq!(scalar(&mut c, "SELECT MAX(participants) FROM activities").await, 300);
    let broken = scalar(
        &mut c,
        "SELECT COUNT(*) FROM activities WHERE beneficiaries < participants OR beneficiaries > participants * 4 + 50",
    )
    .await;
    assert_eq!(broken, 0, "the beneficiaries rule");
    assert!(scalar(&mut c, "SELECT COUNT(*) FROM activities WHERE beneficiaries > participants * 3 + 40").await > 0);
    // Nine in ten in their project's place, the rest elsewhere.
    let in_place = scalar(
        &mut c,
        "SELECT COUNT(*) FROM activities a JOIN projects p ON p.id = a.project_id WHERE a.region_code = p.region_code",
    )
    .await;
    assert!(
        in_place * 100 >= 85 * ACTIVITIES as i64 && in_place < ACTIVITIES as i64,
        "{in_place} in their project's place"
    );
    // Twenty places, real six-digit codes, Kizilsu's counties the most frequent.
    assert_eq!(scalar(&mut c, "SELECT COUNT(DISTINCT region_code) FROM activities").await, 20);
    assert_eq!(scalar(&mut c, "SELECT COUNT(*) FROM activities WHERE LENGTH(region_code) <> 6").await, 0);
    let top = text(
        &mut c,
        "SELECT region_code FROM activities GROUP BY region_code ORDER BY COUNT(*) DESC, region_code LIMIT 1",
    )
    .await;
    assert!(top.starts_with("6530"), "most activities in Kizilsu, not {top}");
    // Twelve types, not uniform; one line per type and brand; organizers set.
    let by_type: Vec<(String, i64)> =
        sqlx::query_as("SELECT type_code, COUNT(*) FROM activities GROUP BY type_code ORDER BY COUNT(*) DESC")
            .fetch_all(&mut c)
            .await
            .expect("types");
    assert_eq!(by_type.len(), 12, "{by_type:?}");
    assert!(by_type[0].1 >= 3 * by_type[11].1, "weighted, not uniform: {by_type:?}");
    let lines = scalar(
        &mut c,
        "SELECT COALESCE(MAX(n), 0) FROM (SELECT COUNT(DISTINCT line) AS n FROM activities \
         GROUP BY type_code, brand_code) x",
    )
    .await;
    assert_eq!(lines, 1, "the line follows the type and brand");
    assert_eq!(scalar(&mut c, "SELECT COUNT(*) FROM activities WHERE organizer_org_id IS NULL").await, 0);
    // Funding: one to three lines per project, in 分; status histories that begin with 立项.
    let (min_lines, max_lines): (i64, i64) = sqlx::query_as(
        "SELECT MIN(n), MAX(n) FROM (SELECT project_id, COUNT(*) AS n FROM project_funding GROUP BY project_id) x",
    )
    .fetch_one(&mut c)
    .await
    .expect("funding");
    assert_eq!((min_lines, max_lines), (1, 3));
    assert_eq!(scalar(&mut c, "SELECT COUNT(DISTINCT project_id) FROM project_funding").await, PROJECTS as i64);
    let approved = scalar(&mut c, "SELECT COUNT(*) FROM project_status_events WHERE status = 'approved'").await;
    assert_eq!(approved, PROJECTS as i64, "every project approved once");
    assert!(scalar(&mut c, "SELECT COUNT(*) FROM projects WHERE status = 'accepted'").await > 0);
    // Organizations in two trees; some people identified, masked.
    let sides: Vec<(String, i64)> =
        sqlx::query_as("SELECT side, COUNT(*) FROM organizations GROUP BY side ORDER BY side")
            .fetch_all(&mut c)
            .await
            .unwrap();
    assert!(sides.len() == 2 && sides.iter().all(|(_, k)| *k >= 10), "{sides:?}");
    let identified = scalar(&mut c, "SELECT COUNT(*) FROM people WHERE id_number_mask IS NOT NULL").await;
    assert!(identified * 100 >= 10 * n["people"] && identified * 100 <= 30 * n["people"], "{identified} identified");
    assert_eq!(scalar(&mut c, "SELECT COUNT(*) FROM people WHERE id_number_mask LIKE '%***%'").await, identified);

    // Figures, the report and the dashboard work on it.
    let store = db.store().await;
    let board = services::figures::Engine::new(&store).all().await.expect("figures");
    assert!(board.failed.is_empty(), "figures that fail: {:?}", board.failed);
    assert_eq!(board.values.len() as i64, n["figure_defs"]);
    let total = board.values.iter().find(|f| f.key == "activities.total").map(|f| f.value);
    assert!(total.is_some_and(|v| v > 0.0), "activities.total: {total:?}");
    let req = services::reports::evaluate::Request {
        template: "summary".into(),
        version: None,
        from: domain::Date::parse("2015-01-01").unwrap(),
        to: domain::Date::parse("2026-12-31").unwrap(),
        place: None,
        org: None,
        line: None,
        scope_label: "全部".into(),
        by: "test".into(),
    };
    services::reports::evaluate::evaluate(&store, &req).await.expect("the summary report evaluates");
    user_add(db, "gen.manager", "Kizilsu-2024\n");
    let (_server, port) = serve(db);
    let mut b = Browser::new(port);
    assert_eq!(b.login("gen.manager", "Kizilsu-2024").status, 303);
    let csrf = b.get("/password").hidden("csrf");
    let new = "Pamir#Akto2026";
    let r = b.post(
        "/password",
        &[("csrf", &csrf), ("old_password", "Kizilsu-2024"), ("new_password", new), ("confirm", new)],
    );
    assert_eq!(r.status, 303);
    for path in ["/", "/?period=b11", "/?place=653022&line=medical", "/dashboard/schedule"] {
        let page = b.get(path);
        assert_eq!(page.status, 200, "{path}");
        assert!(!page.body.contains("无法计算的指标"), "{path} shows failed figures");
    }

    // The same seed again is refused before anything is written; another seed adds to the program.
    let before = scalar(&mut c, "SELECT COUNT(*) FROM audit_log").await;
    let again = generate(&store, &options(5_000), &mut |_: &Progress| {}).await;
    assert!(again.is_err_and(|e| e.to_string().contains("种子 42")));
    assert_eq!(scalar(&mut c, "SELECT COUNT(*) FROM audit_log").await, before);
    let mut more = options(5_000);
    more.seed = 7;
    more.projects = 10;
    more.activities = 200;
    let s = generate(&store, &more, &mut |_: &Progress| {}).await.expect("a second seed");
    assert!(!s.created_program && s.program_id == summary.program_id && s.figures_installed == 0);
    assert_eq!(scalar(&mut c, "SELECT COUNT(*) FROM programs").await, 1);
    assert_eq!(scalar(&mut c, "SELECT COUNT(*) FROM activities").await, (ACTIVITIES + 200) as i64);
    assert_eq!(scalar(&mut c, "SELECT COUNT(*) FROM activity_types WHERE builtin = 0").await, 2, "types reused");
    assert!(services::figures::Engine::new(&store).all().await.expect("figures").failed.is_empty());
}
both!(generated);

/// After the demo, the generator adds to the demo's program and its organizations, and the
/// demo's own figures still compute.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generates_into_the_demo() {
    let db = TestDb::new(Backend::Sqlite).await;
    let out = cli(&db).arg("demo").output().expect("run demo");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let store = db.store().await;
    let mut c = connect(&db).await;
    let demo_figures = scalar(&mut c, "SELECT COUNT(*) FROM figure_defs").await;
    let mut o = options(5_000);
    o.projects = 20;
    o.activities = 500;
    let s = generate(&store, &o, &mut |_: &Progress| {}).await.expect("generate after the demo");
    assert!(!s.created_program && s.figures_installed == 0);
    assert_eq!(scalar(&mut c, "SELECT COUNT(*) FROM programs").await, 1);
    assert_eq!(scalar(&mut c, "SELECT COUNT(*) FROM figure_defs").await, demo_figures);
    let jx = scalar(&mut c, "SELECT id FROM organizations WHERE code = 'JX-GOV'").await;
    let under =
        scalar(&mut c, &format!("SELECT COUNT(*) FROM organizations WHERE code LIKE 'G42-%' AND path LIKE '/{jx}/%'"))
            .await;
    assert!(under > 0, "the donor tree hangs under the demo's 江西省人民政府");
    let board = services::figures::Engine::new(&store).all().await.expect("figures");
    assert!(board.failed.is_empty(), "{:?}", board.failed);
}
