//! Exports: any list to CSV or XLSX with its filters, search and sort, read from the store in
//! chunks (200,000 rows here; memory is measured by the benchmark harness, not asserted);
//! a reporter's export holds its scope only; personal identifiers masked unless the role may see
//! them, and such an export audited; text that a spreadsheet would run as a formula neutralised;
//! and the program's projects as an IATI 2.03 file that the schema in `../shared/iati-2.03`
//! accepts (xmllint).

use crate::both;
use crate::http::{signed_in, Browser, Download};
use crate::support::{cli, serve_demo, Backend, TestDb};
use calamine::{open_workbook_from_rs, Data, Reader, Xlsx};
use domain::audit::Actor;
use domain::catalog::by_slug;
use domain::ids::{OrgId, ProgramId};
use domain::orgs::{NewOrg, Side};
use domain::people::{IdNumber, NewPerson, Phone, Reveal};
use domain::program::NewProgram;
use domain::regions::RegionCode;
use domain::users::Role;
use domain::Date;
use services::exchange::export::{Export, Format};
use std::io::Cursor;
use store::records::ListQuery;
use store::{Store, StoreError};

// ---- Reading what was exported ---------------------------------------------------------------

/// A CSV file (UTF-8 with BOM, RFC 4180) as rows of fields.
fn csv_rows(bytes: &[u8]) -> Vec<Vec<String>> {
    let text = String::from_utf8(bytes.to_vec()).expect("the CSV is UTF-8");
    let text = text.strip_prefix('\u{feff}').expect("the CSV starts with a byte order mark");
    let (mut rows, mut row, mut field) = (Vec::new(), Vec::new(), String::new());
    let (mut quoted, mut chars) = (false, text.chars().peekable());
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    assert!(row.is_empty() && field.is_empty(), "the CSV ends with a line end");
    rows
}

/// The first sheet of an XLSX file: its name and cells.
fn xlsx_rows(bytes: Vec<u8>) -> (String, Vec<Vec<Data>>) {
    let mut wb: Xlsx<_> = open_workbook_from_rs(Cursor::new(bytes)).expect("the workbook opens");
    let name = wb.sheet_names().first().cloned().expect("a sheet");
    let range = wb.worksheet_range(&name).expect("the sheet reads");
    let formulas = wb.worksheet_formula(&name).expect("the formulas read");
    assert!(formulas.used_cells().all(|(_, _, f)| f.is_empty()), "an export holds no formula");
    (name, range.rows().map(<[Data]>::to_vec).collect())
}

fn text(d: &Data) -> String {
    match d {
        Data::String(s) => s.clone(),
        Data::Float(f) if f.fract() == 0.0 => format!("{f:.0}"),
        Data::Float(f) => f.to_string(),
        Data::Int(i) => i.to_string(),
        Data::Empty => String::new(),
        other => other.to_string(),
    }
}

fn col(header: &[String], name: &str) -> usize {
    header.iter().position(|h| h == name).unwrap_or_else(|| panic!("no column {name} in {header:?}"))
}

/// 万元 as written in a CSV (exact decimals) to 分.
fn wan_to_fen(s: &str) -> i64 {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    assert!(frac.len() <= 6, "{s}");
    int.parse::<i64>().unwrap() * 1_000_000 + format!("{frac:0<6}").parse::<i64>().unwrap()
}

/// 元 with two decimals (an IATI value) to 分.
fn yuan_to_fen(s: &str) -> i64 {
    let (int, frac) = s.split_once('.').expect("two decimals");
    assert_eq!(frac.len(), 2, "{s}");
    int.parse::<i64>().unwrap() * 100 + frac.parse::<i64>().unwrap()
}

fn child<'a, 'i>(n: roxmltree::Node<'a, 'i>, tag: &str) -> Option<roxmltree::Node<'a, 'i>> {
    n.children().find(|c| c.has_tag_name(tag))
}

async fn scalar(db: &TestDb, sql: &str) -> i64 {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let mut c = sqlx::AnyConnection::connect(&db.url).await.unwrap();
    sqlx::query_scalar(sql).fetch_one(&mut c).await.unwrap()
}

fn run(db: &TestDb, args: &[&str]) -> std::process::Output {
    let out = cli(db).args(args).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out
}

// ---- The command line ------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_exports_the_demo_projects_to_csv_and_xlsx() {
    let db = TestDb::new(Backend::Sqlite).await;
    run(&db, &["demo"]);
    let store = db.store().await;
    let projects = store.count("projects").await.unwrap();
    let dir = db.dir.path();

    run(&db, &["export", "--type", "projects", "--format", "csv", "--out", "p.csv"]);
    let rows = csv_rows(&std::fs::read(dir.join("p.csv")).unwrap());
    let header = rows[0].clone();
    assert_eq!(header[0], "编号");
    for h in [
        "项目编号",
        "项目名称",
        "项目类别",
        "建设地点",
        "建设地点（区划代码）",
        "实施单位",
        "实施单位（单位编码）",
        "批次",
    ] {
        col(&header, h);
    }
    assert_eq!(rows.len() as i64 - 1, projects, "every project, one row each");
    let first = rows.iter().find(|r| r[col(&header, "项目编号")] == "JXKZ-01-0001").expect("the first project");
    assert!(first[col(&header, "建设地点（区划代码）")].starts_with("6530"));
    assert!(
        !first[col(&header, "实施单位")].is_empty() && first[col(&header, "实施单位（单位编码）")].starts_with("AKT-")
    );
    assert!(matches!(
        first[col(&header, "项目类别")].as_str(),
        "教育" | "医疗卫生" | "产业发展" | "就业" | "基础设施" | "民生保障" | "文化交流" | "干部人才培训"
    ));

    // The same list as XLSX: the same header and the same cells.
    run(&db, &["export", "--type", "projects", "--format", "xlsx", "--out", "p.xlsx"]);
    let (sheet, cells) = xlsx_rows(std::fs::read(dir.join("p.xlsx")).unwrap());
    assert_eq!(sheet, "项目");
    let xheader: Vec<String> = cells[0].iter().map(text).collect();
    assert_eq!(xheader, header);
    assert_eq!(cells.len(), rows.len());
    for (x, c) in cells.iter().zip(&rows).take(50) {
        let x: Vec<String> = x.iter().map(text).collect();
        assert_eq!(&x, c);
    }

    // Money: 万元, exact in CSV, the exact value behind two decimals in XLSX; totals agree with
    // the database to the 分.
    let planned = scalar(&db, "SELECT CAST(SUM(planned_fen) AS BIGINT) FROM project_funding").await;
    let disbursed = scalar(&db, "SELECT CAST(SUM(disbursed_fen) AS BIGINT) FROM project_funding").await;
    run(&db, &["export", "--type", "funding", "--format", "csv", "--out", "f.csv"]);
    let rows = csv_rows(&std::fs::read(dir.join("f.csv")).unwrap());
    let (p, d) = (col(&rows[0], "计划投资（万元）"), col(&rows[0], "已拨付（万元）"));
    col(&rows[0], "项目（项目编号）");
    assert_eq!(rows[1..].iter().map(|r| wan_to_fen(&r[p])).sum::<i64>(), planned);
    assert_eq!(rows[1..].iter().map(|r| wan_to_fen(&r[d])).sum::<i64>(), disbursed);
    run(&db, &["export", "--type", "funding", "--format", "xlsx", "--out", "f.xlsx"]);
    let (_, cells) = xlsx_rows(std::fs::read(dir.join("f.xlsx")).unwrap());
    let sum: f64 = cells[1..]
        .iter()
        .map(|r| match &r[d] {
            Data::Float(f) => *f,
            other => panic!("money is a number: {other:?}"),
        })
        .sum();
    assert_eq!((sum * 1_000_000.0).round() as i64, disbursed);

    // Filters as the list has them.
    let out = run(
        &db,
        &["export", "--type", "projects", "--format", "csv", "--out", "e.csv", "--filter", "sector=education"],
    );
    let listed = store
        .records(
            &Actor::system(),
            by_slug("projects").unwrap(),
            &ListQuery {
                filters: vec![("sector".into(), "education".into())],
                page: 1,
                per_page: 1,
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .total;
    let rows = csv_rows(&std::fs::read(dir.join("e.csv")).unwrap());
    assert_eq!(rows.len() as i64 - 1, listed);
    assert!(listed > 0 && listed < projects);
    assert!(rows[1..].iter().all(|r| r[col(&rows[0], "项目类别")] == "教育"));
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("{listed} 条")));

    // Bad requests are refused, and no file is written.
    for (args, says) in [
        (vec!["--type", "projects", "--format", "csv", "--filter", "bogus=1"], "不能按“bogus”筛选"),
        (vec!["--type", "projects", "--format", "csv", "--filter", "sector"], "字段=值"),
        (vec!["--type", "projects", "--format", "pdf"], "xlsx、csv"),
        (vec!["--type", "nothing", "--format", "csv"], "没有“nothing”这一记录类型"),
        (vec!["--format", "csv"], "--type"),
    ] {
        let out = cli(&db).arg("export").args(&args).args(["--out", "bad.out"]).output().unwrap();
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(!dir.join("bad.out").exists(), "{args:?}");
    }
    store.close().await;
}

// ---- IATI --------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn iati_export_validates_against_the_iati_2_03_schema() {
    let db = TestDb::new(Backend::Sqlite).await;
    run(&db, &["demo"]);
    let out = run(&db, &["export", "--format", "iati", "--out", "activities.xml"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("IATI 2.03"));
    let file = db.dir.path().join("activities.xml");

    let schema =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/iati-2.03/iati-activities-schema.xsd");
    assert!(schema.exists(), "the IATI 2.03 schema is at {}", schema.display());
    let lint = std::process::Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(&schema)
        .arg(&file)
        .output()
        .expect("xmllint is required for this test (Debian: apt-get install libxml2-utils)");
    assert!(
        lint.status.success(),
        "the IATI file does not validate against the 2.03 schema:\n{}",
        String::from_utf8_lossy(&lint.stderr).lines().take(30).collect::<Vec<_>>().join("\n")
    );
    assert!(String::from_utf8_lossy(&lint.stderr).contains("validates"));

    let xml = std::fs::read_to_string(&file).unwrap();
    let doc = roxmltree::Document::parse(&xml).expect("well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "iati-activities");
    assert_eq!(root.attribute("version"), Some("2.03"));
    let acts: Vec<_> = root.children().filter(|n| n.has_tag_name("iati-activity")).collect();
    let store = db.store().await;
    assert_eq!(acts.len() as i64, store.count("projects").await.unwrap(), "one activity per project");

    let mut ids = std::collections::HashSet::new();
    let (mut budget, mut committed, mut disbursed) = (0i64, 0i64, 0i64);
    for a in &acts {
        let id = child(*a, "iati-identifier").and_then(|n| n.text()).unwrap().to_string();
        let rep = child(*a, "reporting-org").and_then(|n| n.attribute("ref")).unwrap();
        assert!(id.starts_with(&format!("{rep}-JXKZ-")), "{id}");
        assert!(ids.insert(id), "identifiers are unique");
        let roles: Vec<&str> =
            a.children().filter(|c| c.has_tag_name("participating-org")).filter_map(|c| c.attribute("role")).collect();
        assert_eq!(roles, ["1", "3", "4"], "funding, extending and implementing");
        let loc = child(*a, "location").and_then(|l| l.attribute("ref")).unwrap();
        assert!(loc.starts_with("CN-GBT2260-65"), "{loc}");
        assert!(a.children().any(|c| c.has_tag_name("sector") && c.attribute("vocabulary") == Some("1")));
        for b in a.children().filter(|c| c.has_tag_name("budget")) {
            budget += yuan_to_fen(child(b, "value").and_then(|v| v.text()).unwrap());
        }
        for t in a.children().filter(|c| c.has_tag_name("transaction")) {
            let v = yuan_to_fen(child(t, "value").and_then(|v| v.text()).unwrap());
            match child(t, "transaction-type").and_then(|c| c.attribute("code")) {
                Some("2") => committed += v,
                Some("3") => disbursed += v,
                other => panic!("transaction type {other:?}"),
            }
        }
    }
    assert_eq!(budget, scalar(&db, "SELECT CAST(SUM(planned_fen) AS BIGINT) FROM project_funding").await);
    assert_eq!(committed, scalar(&db, "SELECT CAST(SUM(allocated_fen) AS BIGINT) FROM project_funding").await);
    assert_eq!(disbursed, scalar(&db, "SELECT CAST(SUM(disbursed_fen) AS BIGINT) FROM project_funding").await);

    // The county hospital's revenue: baseline 2022 and target 2025 as set, actuals as reported.
    let result = acts
        .iter()
        .flat_map(|a| a.descendants().filter(|n| n.has_tag_name("result")))
        .next()
        .expect("a medical project of the current batches carries the hospital's indicator");
    let ind = child(result, "indicator").unwrap();
    let base = child(ind, "baseline").unwrap();
    assert_eq!((base.attribute("year"), base.attribute("value")), (Some("2022"), Some("105000000.00")));
    let values: Vec<(&str, &str)> = ind
        .descendants()
        .filter(|n| n.has_tag_name("target") || n.has_tag_name("actual"))
        .map(|n| (n.tag_name().name(), n.attribute("value").unwrap()))
        .collect();
    assert_eq!(values, [("actual", "120130000.00"), ("actual", "153009581.00"), ("target", "170000000.00")]);
    store.close().await;
}

// ---- The web -----------------------------------------------------------------------------------

fn download_rows(d: &Download) -> Vec<Vec<String>> {
    assert_eq!(d.status, 200, "{}", String::from_utf8_lossy(&d.body));
    if d.header("content-type").is_some_and(|t| t.starts_with("text/csv")) {
        csv_rows(&d.body)
    } else {
        assert!(d.header("content-type").is_some_and(|t| t.contains("spreadsheetml")));
        xlsx_rows(d.body.clone()).1.iter().map(|r| r.iter().map(text).collect()).collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_exports_carry_the_filters_the_scope_and_mask_personal_data() {
    let db = TestDb::new(Backend::Sqlite).await;
    let (_server, port, accounts) = serve_demo(&db);
    let mut m = signed_in(port, &accounts, "demo.manager", "Akto#Pamir2025");

    // The list links its exports with its query; each holds exactly the list's records.
    let list = m.get("/records/projects?sector=education&page=2");
    assert!(
        list.body.contains("href=\"/records/projects/export.xlsx?sector=education\""),
        "the links carry the filters"
    );
    assert!(list.body.contains("href=\"/records/projects/export.csv?sector=education\""));
    assert!(list.body.contains("导出 Excel") && list.body.contains("导出 CSV"));
    let total = list.total();
    for path in ["/records/projects/export.csv?sector=education", "/records/projects/export.xlsx?sector=education"] {
        let d = m.download(path);
        assert!(d.header("content-disposition").is_some_and(|h| h.contains("attachment")));
        let rows = download_rows(&d);
        assert_eq!(rows.len() as i64 - 1, total, "{path}");
        let c = col(&rows[0], "项目类别");
        assert!(rows[1..].iter().all(|r| r[c] == "教育"), "{path}");
    }
    // A search and a sort, as the list has them.
    let searched = m.get("/records/projects?q=%E6%A3%9A").total();
    assert!(searched > 0);
    assert_eq!(download_rows(&m.download("/records/projects/export.csv?q=%E6%A3%9A")).len() as i64 - 1, searched);
    let rows = download_rows(&m.download("/records/projects/export.csv?sort=planned_start&desc=1"));
    let c = col(&rows[0], "计划开工");
    let dates: Vec<&str> = rows[1..].iter().map(|r| r[c].as_str()).filter(|d| !d.is_empty()).collect();
    assert!(dates.windows(2).all(|w| w[0] >= w[1]), "newest planned start first");
    // A bad filter is refused with its reason.
    let bad = m.download("/records/projects/export.csv?status=bogus");
    assert_eq!(bad.status, 422);
    assert!(String::from_utf8_lossy(&bad.body).contains("没有“bogus”这一项"));
    let all_activities = m.get("/records/activities").total();

    // A reporter exports its own scope only: what its list shows.
    let mut r = signed_in(port, &accounts, "demo.reporter", "Akto#Pamir2025");
    let mine = r.get("/records/activities").total();
    assert!(mine > 0 && mine < all_activities, "{mine} of {all_activities}");
    let rows = download_rows(&r.download("/records/activities/export.xlsx"));
    assert_eq!(rows.len() as i64 - 1, mine);
    let rows = download_rows(&r.download("/records/activities/export.csv"));
    assert_eq!(rows.len() as i64 - 1, mine);

    // Personal identifiers: masked for every reader; in clear only for a role that may see them,
    // through the form, and audited.
    let id_col = |rows: &Vec<Vec<String>>| {
        let c = col(&rows[0], "身份证号");
        rows[1..].iter().map(|r| r[c].clone()).filter(|v| !v.is_empty()).collect::<Vec<_>>()
    };
    let mut v = signed_in(port, &accounts, "demo.viewer", "Akto#Pamir2025");
    let masked = id_col(&download_rows(&v.download("/records/people/export.csv")));
    assert!(!masked.is_empty() && masked.iter().all(|s| s.contains("***")), "masked for a viewer");
    let people = v.get("/records/people");
    assert!(!people.body.contains("含完整身份证号"), "no clear export is offered to a viewer");
    let csrf = people.hidden("csrf");
    let refused = v.try_download("POST", "/records/people/export.csv", Some(&[("csrf", &csrf)])).unwrap();
    assert_eq!(refused.status, 403);

    let masked = id_col(&download_rows(&m.download("/records/people/export.csv")));
    assert!(masked.iter().all(|s| s.contains("***")), "masked by default, for a manager too");
    let page = m.get("/records/people");
    assert!(page.body.contains("含完整身份证号和手机号"));
    let csrf = page.hidden("csrf");
    assert_eq!(m.try_download("POST", "/records/people/export.xlsx", Some(&[("csrf", "forged")])).unwrap().status, 403);
    let clear = m.try_download("POST", "/records/people/export.xlsx?kind=aid", Some(&[("csrf", &csrf)])).unwrap();
    let rows = download_rows(&clear);
    let ids = id_col(&rows);
    assert!(!ids.is_empty() && ids.iter().all(|s| s.len() == 18 && !s.contains('*')), "in clear: {:?}", ids.first());
    assert!(IdNumber::parse(&ids[0]).is_ok());
    assert!(rows[1..].iter().all(|r| r[col(&rows[0], "人员类别")] == "援疆干部人才"), "with the list's filter");
    let store = db.store().await;
    let log = store.audit_recent(50).await.unwrap();
    let exports: Vec<_> = log.iter().filter(|e| e.action == "export_personal").collect();
    assert_eq!(exports.len(), 1, "the one clear export is audited, the refused ones are not");
    assert_eq!((exports[0].actor.as_str(), exports[0].object_type.as_str()), ("demo.manager", "people"));
    assert!(exports[0].after.as_ref().is_some_and(|a| a.to_string().contains("kind")), "with its filters");

    // The administrators export nothing.
    let mut admin = signed_in(port, &accounts, "demo.sysadmin", "Akto#Pamir2025");
    assert_eq!(admin.download("/records/projects/export.csv").status, 403);
    let _ = Browser::new(port);
    store.close().await;
}

// ---- The store: chunks, masking, formulas --------------------------------------------------------

struct Fixture {
    program: ProgramId,
    donor: OrgId,
    host: OrgId,
    other: OrgId,
}

async fn fixture(store: &Store) -> Fixture {
    let mut tx = store.write(&Actor::system()).await.unwrap();
    let program = tx
        .insert(&NewProgram {
            code: "P1".into(),
            name: "测试援疆工作".into(),
            donor_region: RegionCode::parse("360000").unwrap(),
            recipient_region: RegionCode::parse("653000").unwrap(),
            start_date: Date::parse("2023-04-20").unwrap(),
        })
        .await
        .unwrap();
    let org = |code: &str, side, parent, region: &str| NewOrg {
        code: code.into(),
        name: format!("单位{code}"),
        side,
        kind: "government",
        parent_id: parent,
        region: RegionCode::parse(region).unwrap(),
        credit_code: None,
    };
    let donor = tx.insert_org(&org("D1", Side::Donor, None, "360000")).await.unwrap();
    let top = tx.insert_org(&org("R1", Side::Recipient, None, "653000")).await.unwrap();
    let host = tx.insert_org(&org("R2", Side::Recipient, Some(top), "653022")).await.unwrap();
    let other = tx.insert_org(&org("R3", Side::Recipient, Some(top), "653023")).await.unwrap();
    tx.commit().await.unwrap();
    Fixture { program, donor, host, other }
}

/// `n` activities by plain SQL (volume, not the write path): organized by `host` and `other` in
/// turn, with repeated participant counts and end dates, some empty.
async fn activities(db: &TestDb, f: &Fixture, n: i64) {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let mut c = sqlx::AnyConnection::connect(&db.url).await.unwrap();
    let sql = format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n}) \
         INSERT INTO activities (program_id, type_code, line, title, date, end_date, region_code, organizer_org_id, \
         participants, beneficiaries) \
         SELECT $1, 'free_clinic', 'medical', 'Activity ' || i, '2024-05-01', \
         CASE WHEN i % 3 = 0 THEN NULL ELSE '2024-06-0' || (i % 7 + 1) END, '653022', \
         CASE WHEN i % 2 = 0 THEN $2 ELSE $3 END, i % 13, i FROM n"
    );
    sqlx::query(&sql).bind(f.program.get()).bind(f.host.get()).bind(f.other.get()).execute(&mut c).await.unwrap();
}

/// Lines written (a sink that keeps nothing else).
#[derive(Default)]
struct Lines(u64);
impl std::io::Write for Lines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.iter().filter(|b| **b == b'\n').count() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn a_chunked_export_reads_200000_activities(db: &TestDb) {
    let store = db.store().await;
    let f = fixture(&store).await;
    activities(db, &f, 200_000).await;
    let t = by_slug("activities").unwrap();
    let e = Export::open(&store, &Actor::system(), t, &ListQuery::default(), Reveal::Masked).await.unwrap();
    let mut sink = Lines::default();
    assert_eq!(e.write_csv(&mut sink).await.unwrap(), 200_000);
    assert_eq!(sink.0, 200_001, "the header and every row");
    // Filtered, through the same chunks: half of them are the host's.
    let q = ListQuery { filters: vec![("organizer_org_id".into(), f.host.to_string())], ..Default::default() };
    let e = Export::open(&store, &Actor::system(), t, &q, Reveal::Masked).await.unwrap();
    assert_eq!(e.write_csv(&mut Lines::default()).await.unwrap(), 100_000);
    store.close().await;
}
both!(a_chunked_export_reads_200000_activities);

async fn chunks_follow_the_lists_order_and_scope(db: &TestDb) {
    let store = db.store().await;
    let f = fixture(&store).await;
    activities(db, &f, 150).await;
    let t = by_slug("activities").unwrap();
    let reporter = Actor { role: Role::Reporter, org_id: Some(f.host), name: "填报员".into(), ..Actor::system() };
    for actor in [Actor::system(), reporter] {
        for (sort, desc) in [
            (None, false),
            (Some("participants"), false),
            (Some("participants"), true),
            (Some("end_date"), false),
            (Some("end_date"), true),
            (Some("title"), false),
            (Some("date"), true),
            (Some("date"), false),
        ] {
            let q = ListQuery { sort: sort.map(str::to_string), desc, page: 1, per_page: 500, ..Default::default() };
            let listed: Vec<i64> =
                store.records(&actor, t, &q).await.unwrap().rows.iter().map(|r| r["id"].as_i64().unwrap()).collect();
            let mut chunks = store.export_chunks(&actor, t, &q, Reveal::Masked).await.unwrap();
            let mut read = Vec::new();
            loop {
                let rows = store.chunk(&mut chunks, 7).await.unwrap();
                if rows.is_empty() {
                    break;
                }
                read.extend(rows.iter().map(|r| r["id"].as_i64().unwrap()));
            }
            assert_eq!(read, listed, "{:?} {sort:?} desc={desc}", actor.role);
            // A column that is never empty orders by (value, id), whatever the SQL is written as.
            if let Some(col @ ("participants" | "date")) = sort {
                let rows = store.records(&actor, t, &q).await.unwrap().rows;
                let mut expected: Vec<(String, i64)> =
                    rows.iter().map(|r| (format!("{:>12}", r[col].to_string()), r["id"].as_i64().unwrap())).collect();
                expected.sort();
                if desc {
                    expected.reverse();
                }
                assert_eq!(listed, expected.iter().map(|(_, id)| *id).collect::<Vec<_>>(), "{col} desc={desc}");
            }
            assert_eq!(listed.len(), if actor.role == Role::Reporter { 75 } else { 150 });
        }
    }
    store.close().await;
}
both!(chunks_follow_the_lists_order_and_scope);

async fn exports_mask_personal_data_and_neutralize_formulas(db: &TestDb) {
    let store = db.store().await;
    let f = fixture(&store).await;
    let person = NewPerson {
        program_id: f.program,
        kind: "aid",
        name: "=张建华".into(),
        gender: Some("男"),
        batch_id: None,
        category: Some("professional"),
        line: Some("education"),
        title: None,
        post: Some("@援疆教师".into()),
        home_org_id: Some(f.donor),
        host_org_id: Some(f.host),
        start_date: None,
        end_date: None,
        id_number: Some(IdNumber::parse("11010519491231002X").unwrap()),
        phone: Some(Phone::parse("13900135678").unwrap()),
    };
    store.insert(&Actor::system(), &person).await.unwrap();
    store
        .insert(
            &Actor::system(),
            &domain::pairings::NewBrand { code: "risky".into(), name: "=HYPERLINK(\"http://x.cn\",\"点\")".into() },
        )
        .await
        .unwrap();
    let people = by_slug("people").unwrap();
    let q = ListQuery::default();
    let csv = |e: Export| async move {
        let mut out = Vec::new();
        e.write_csv(&mut out).await.unwrap();
        csv_rows(&out)
    };

    // Masked for everyone by default.
    let viewer = Actor { role: Role::Viewer, name: "查看员".into(), ..Actor::system() };
    let rows = csv(Export::open(&store, &viewer, people, &q, Reveal::Masked).await.unwrap()).await;
    assert_eq!(rows[1][col(&rows[0], "身份证号")], "110***********002X");
    assert_eq!(rows[1][col(&rows[0], "手机号码")], "139****5678");
    // In clear only for a role that may see it; refused before anything is read or logged.
    let reporter = Actor { role: Role::Reporter, org_id: Some(f.host), name: "填报员".into(), ..Actor::system() };
    for actor in [&viewer, &reporter] {
        let r = Export::open(&store, actor, people, &q, Reveal::Clear).await;
        assert!(matches!(r, Err(services::ServiceError::Store(StoreError::Forbidden(_)))), "{:?}", actor.role);
    }
    let audited = |log: &[domain::audit::AuditEntry]| log.iter().filter(|e| e.action == "export_personal").count();
    assert_eq!(audited(&store.audit_recent(100).await.unwrap()), 0);
    let manager = Actor { name: "指挥部管理员".into(), ..Actor::system() };
    let rows = csv(Export::open(&store, &manager, people, &q, Reveal::Clear).await.unwrap()).await;
    assert_eq!(rows[1][col(&rows[0], "身份证号")], "11010519491231002X");
    assert_eq!(rows[1][col(&rows[0], "手机号码")], "13900135678");
    let log = store.audit_recent(100).await.unwrap();
    assert_eq!(audited(&log), 1);
    assert!(log
        .iter()
        .any(|e| e.action == "export_personal" && e.actor == "指挥部管理员" && e.object_type == "people"));
    // A record type without personal data is never audited, whatever was asked.
    let orgs = by_slug("organizations").unwrap();
    csv(Export::open(&store, &viewer, orgs, &q, Reveal::Clear).await.unwrap()).await;
    assert_eq!(audited(&store.audit_recent(100).await.unwrap()), 1);

    // Formulas: an apostrophe in CSV; a string cell, never a formula, in XLSX.
    assert_eq!(rows[1][col(&rows[0], "姓名")], "'=张建华");
    assert_eq!(rows[1][col(&rows[0], "岗位")], "'@援疆教师");
    let brands = by_slug("brands").unwrap();
    let q = ListQuery { q: Some("HYPERLINK".into()), ..Default::default() };
    let rows = csv(Export::open(&store, &viewer, brands, &q, Reveal::Masked).await.unwrap()).await;
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1][col(&rows[0], "名称")], "'=HYPERLINK(\"http://x.cn\",\"点\")");
    let path = db.dir.path().join("brands.xlsx");
    Export::open(&store, &viewer, brands, &q, Reveal::Masked).await.unwrap().write_xlsx(&path).await.unwrap();
    let (sheet, cells) = xlsx_rows(std::fs::read(&path).unwrap());
    assert_eq!(sheet, "活动品牌");
    let c = cells[0].iter().position(|h| text(h) == "名称").unwrap();
    assert_eq!(cells[1][c], Data::String("=HYPERLINK(\"http://x.cn\",\"点\")".into()));
    assert_eq!(Format::parse("XLSX").unwrap(), Format::Xlsx);
    store.close().await;
}
both!(exports_mask_personal_data_and_neutralize_formulas);
