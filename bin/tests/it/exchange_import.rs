//! Spreadsheets in: templates, the all-or-nothing import with its error report, GBK CSV, and
//! the round trip through an export with `--update`.

use crate::support::{cli, TestDb};
use domain::audit::Actor;
use domain::catalog::by_slug;
use rust_xlsxwriter::{Format, Workbook};
use services::exchange::{import, sheet, template};
use sqlx::Row;

/// The header row of the template of `slug`, as the template writes it.
async fn template_header(db: &TestDb, slug: &str) -> Vec<String> {
    let store = db.store().await;
    let bytes = template::template(&store, &Actor::system(), by_slug(slug).unwrap()).await.unwrap();
    let sh = sheet::read_xlsx(&bytes, by_slug(slug).unwrap().zh).unwrap();
    // The template's row 2 is its example, which the import skips.
    assert!(sh.rows[0].1[0].display().starts_with("示例"), "row 2 is the example");
    sh.header
}

/// One activity row for the template's columns: varied on purpose (places by code, by name and
/// by parent/name; counts with thousands separators; rare characters in names).
fn activity_row(i: usize) -> Vec<String> {
    let place = ["653022", "阿克陶县", "阿克陶县/玉麦乡", "653022205"][i % 4];
    let participants = if i.is_multiple_of(10) { "1,200".to_string() } else { (5 + i % 300).to_string() };
    let title = if i.is_multiple_of(97) {
        format!("古丽米热·阿布都 讲座 𠀀 {i}")
    } else {
        format!("义诊进村 {i}")
    };
    let month = 1 + i % 12;
    let day = 1 + i % 28;
    vec![
        title,
        if i.is_multiple_of(2) { "义诊".into() } else { "training".into() },
        String::new(),
        if i.is_multiple_of(2) { "医疗".into() } else { "教育".into() },
        format!("2025-{month:02}-{day:02}"),
        String::new(),
        place.into(),
        if i.is_multiple_of(3) { "JX-H01".into() } else { "江西省人民医院".into() },
        String::new(),
        String::new(),
        participants,
        (10 + i % 50).to_string(),
    ]
}

pub(crate) const HEADER: [&str; 12] = [
    "*活动名称",
    "*活动类型",
    "活动品牌",
    "*工作条线",
    "*日期",
    "结束日期",
    "*地点",
    "组织单位",
    "所属项目",
    "所属结对",
    "*参与人次",
    "*受益人次",
];

/// An XLSX of `rows` under `header`: dates as real Excel dates, counts as numbers where they
/// are plain numbers (the way a person's sheet has them).
fn xlsx(header: &[String], rows: &[Vec<String>]) -> Vec<u8> {
    let mut book = Workbook::new();
    let ws = book.add_worksheet();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    for (c, h) in header.iter().enumerate() {
        ws.write_string(0, c as u16, h).unwrap();
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            let (r, c) = (r as u32 + 1, c as u16);
            if let Ok(d) = chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d") {
                let dt = rust_xlsxwriter::ExcelDateTime::parse_from_str(&d.to_string()).unwrap();
                ws.write_datetime_with_format(r, c, &dt, &date).unwrap();
            } else if let Ok(n) = v.parse::<f64>() {
                ws.write_number(r, c, n).unwrap();
            } else if !v.is_empty() {
                ws.write_string(r, c, v).unwrap();
            }
        }
    }
    book.save_to_buffer().unwrap()
}

fn csv_gbk(header: &[String], rows: &[Vec<String>]) -> Vec<u8> {
    let mut text = String::new();
    let line = |cells: &[String]| {
        cells.iter().map(|c| if c.contains(',') { format!("\"{c}\"") } else { c.clone() }).collect::<Vec<_>>().join(",")
    };
    text.push_str(&line(header));
    text.push_str("\r\n");
    for r in rows {
        text.push_str(&line(r));
        text.push_str("\r\n");
    }
    let (bytes, _, unmappable) = encoding_rs::GB18030.encode(&text);
    assert!(!unmappable, "GB18030 maps every character");
    bytes.into_owned()
}

/// A plain connection pool to the test database, for reading what was written.
async fn pool(db: &TestDb) -> sqlx::AnyPool {
    sqlx::any::install_default_drivers();
    sqlx::AnyPool::connect(&db.url).await.expect("open the test database")
}

async fn count(db: &TestDb, sql: &str) -> i64 {
    sqlx::query(sql).fetch_one(&pool(db).await).await.unwrap().try_get::<i64, _>(0).unwrap()
}

/// The activities after id `after`, without their ids, in order.
async fn activities_after(db: &TestDb, after: i64) -> Vec<String> {
    let rows = sqlx::query(
        "SELECT title, type_code, line, date, region_code, organizer_org_id, participants, beneficiaries \
         FROM activities WHERE id > $1 ORDER BY id",
    )
    .bind(after)
    .fetch_all(&pool(db).await)
    .await
    .unwrap();
    rows.iter()
        .map(|r| {
            format!(
                "{}|{}|{}|{}|{}|{:?}|{}|{}",
                r.get::<String, _>(0),
                r.get::<String, _>(1),
                r.get::<String, _>(2),
                r.get::<String, _>(3),
                r.get::<String, _>(4),
                r.get::<Option<i64>, _>(5),
                r.get::<i64, _>(6),
                r.get::<i64, _>(7)
            )
        })
        .collect()
}

/// 10,000 activities with one bad row in the middle: nothing is written and that row is named
/// with its reason; fixed, every row goes in (with its audit entry); the same rows as a GBK CSV
/// import the same records.
async fn ten_thousand_rows_all_or_nothing(db: &TestDb) {
    let store = db.store().await;
    services::demo::load(&store).await.unwrap();
    let header = template_header(db, "activities").await;
    assert_eq!(header, HEADER.map(String::from).to_vec(), "the template's columns");
    let mut rows: Vec<Vec<String>> = (0..10_000).map(activity_row).collect();
    rows[5_000][6] = "不存在乡".into(); // Excel row 5002
    let dir = db.dir.path();
    std::fs::write(dir.join("bad.xlsx"), xlsx(&header, &rows)).unwrap();
    let before = count(db, "SELECT COUNT(*) FROM activities").await;
    let audit_before = count(db, "SELECT COUNT(*) FROM audit_log").await;

    let out =
        cli(db).args(["import", "bad.xlsx", "--type", "activities", "--error-report", "errors.xlsx"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a file with a bad row is refused");
    assert!(err.contains("导入失败：共 1 条数据有误"), "{err}");
    assert!(err.contains("第 5002 行【*地点】找不到地名“不存在乡”"), "{err}");
    assert_eq!(err.matches("第 ").count(), 1, "only that row is named: {err}");
    assert_eq!(count(db, "SELECT COUNT(*) FROM activities").await, before, "nothing was written");
    assert_eq!(count(db, "SELECT COUNT(*) FROM audit_log").await, audit_before, "nothing was audited");

    // The error report: the rows where they were, the reason beside the bad one.
    let report = sheet::read_xlsx(&std::fs::read(dir.join("errors.xlsx")).unwrap(), "导入数据").unwrap();
    assert_eq!(report.header.last().map(String::as_str), Some("错误原因"));
    let bad = report.rows.iter().find(|(n, _)| *n == 5002).expect("row 5002 in the report");
    assert_eq!(bad.1[6].display(), "不存在乡");
    assert!(bad.1.last().unwrap().display().contains("找不到地名"), "{:?}", bad.1);
    assert_eq!(report.rows.len(), 10_000, "every original row is in the report");

    // Fixed: all 10,000 rows go in, each audited.
    rows[5_000][6] = "653022".into();
    std::fs::write(dir.join("good.xlsx"), xlsx(&header, &rows)).unwrap();
    let out = cli(db).args(["import", "good.xlsx", "--type", "activities"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("新增 10000 条"));
    assert_eq!(count(db, "SELECT COUNT(*) FROM activities").await, before + 10_000);
    assert_eq!(count(db, "SELECT COUNT(*) FROM audit_log").await, audit_before + 10_000);
    let last_demo = count(db, "SELECT COALESCE(MAX(id), 0) FROM activities").await - 10_000;
    let from_xlsx = activities_after(db, last_demo).await;
    assert!(from_xlsx.iter().any(|r| r.starts_with("古丽米热·阿布都 讲座 𠀀 0|")), "rare characters kept");
    assert!(from_xlsx.iter().any(|r| r.contains("|653022200|")), "阿克陶县/玉麦乡 is 653022200");

    // The same rows as GBK CSV: the same records.
    std::fs::write(dir.join("same.csv"), csv_gbk(&header, &rows)).unwrap();
    let out = cli(db).args(["import", "same.csv", "--type", "activities"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let from_csv = activities_after(db, last_demo + 10_000).await;
    assert_eq!(from_csv.len(), 10_000);
    assert!(from_csv == from_xlsx, "the GBK CSV imports the same records as the XLSX");
}
crate::both!(ten_thousand_rows_all_or_nothing);

/// Funding in 元 and in 万元 columns, numbers written as text with separators, and the
/// refusals a person needs: an unknown project, a negative amount, an ambiguous header-less file.
#[tokio::test]
async fn units_and_references_are_read_or_reported() {
    let db = TestDb::new(crate::support::Backend::Sqlite).await;
    let store = db.store().await;
    services::demo::load(&store).await.unwrap();
    let t = by_slug("funding").unwrap();
    let csv = "项目,年度,资金来源,计划投资（元）,已下达（万元）,*已拨付（万元）\n\
               JXKZ-01-0001,2025,省本级援疆资金,\"1,234,567.89\",100.5,0\n\
               JXKZ-99-9999,2025,省本级援疆资金,1,1,1\n\
               JXKZ-01-0001,2025,省本级援疆资金,-5,1,1\n";
    let sh = sheet::read_csv(csv.as_bytes()).unwrap();
    let out = import::import(&store, &Actor::system(), t, &sh, import::Options::default()).await.unwrap();
    let lines: Vec<String> = out.errors.iter().map(|e| e.line()).collect();
    assert_eq!(out.bad_rows(), 2, "{lines:?}");
    assert!(lines.iter().any(|l| l.starts_with("第 3 行【项目】找不到项目“JXKZ-99-9999”")), "{lines:?}");
    assert!(lines.iter().any(|l| l.starts_with("第 4 行【计划投资（元）】") && l.contains("不得为负数")), "{lines:?}");

    let csv = "项目,年度,资金来源,计划投资（元）,已下达（万元）,*已拨付（万元）\n\
               JXKZ-01-0001,2030,省本级援疆资金,\"1,234,567.89\",100.5,0\n";
    let sh = sheet::read_csv(csv.as_bytes()).unwrap();
    let out = import::import(&store, &Actor::system(), t, &sh, import::Options::default()).await.unwrap();
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    assert!(out.written);
    let row = sqlx::query("SELECT planned_fen, allocated_fen FROM project_funding WHERE year = 2030")
        .fetch_one(&pool(&db).await)
        .await
        .unwrap();
    assert_eq!(row.get::<i64, _>(0), 123_456_789, "1,234,567.89 元 is 123456789 分");
    assert_eq!(row.get::<i64, _>(1), 100_500_000, "100.5 万元 is 100500000 分");

    // A money column that does not say its unit is refused, never guessed.
    let sh = sheet::read_csv(
        "项目,年度,资金来源,计划投资,已下达（万元）,已拨付（万元）\nJXKZ-01-0001,2031,省本级援疆资金,1,1,1\n"
            .as_bytes(),
    )
    .unwrap();
    let out = import::import(&store, &Actor::system(), t, &sh, import::Options::default()).await.unwrap();
    assert!(out.errors[0].message.contains("须在括号中注明单位"), "{:?}", out.errors);
    // An export's apostrophe before a leading minus is taken off; 12-digit codes are places.
    let activities = by_slug("activities").unwrap();
    let csv = format!("{}\n'-讲座,义诊,,医疗,2025-03-05,,653022100001,,,,1,1\n", HEADER.join(","));
    let out = import::import(
        &store,
        &Actor::system(),
        activities,
        &sheet::read_csv(csv.as_bytes()).unwrap(),
        import::Options { dry_run: true, update: false },
    )
    .await
    .unwrap();
    let lines: Vec<String> = out.errors.iter().map(|e| e.line()).collect();
    assert!(lines.iter().all(|l| !l.contains("活动名称")), "{lines:?}");

    // The error report masks the identifiers that are right and shows the one that is wrong.
    let people = by_slug("people").unwrap();
    let sh = sheet::read_csv(
        "*姓名,*人员类别,身份证号,手机号码\n古丽米热·阿布都,当地人员,11010519491231002X,12345\n".as_bytes(),
    )
    .unwrap();
    let out = import::import(&store, &Actor::system(), people, &sh, import::Options::default()).await.unwrap();
    assert_eq!(out.bad_rows(), 1, "{:?}", out.errors);
    let report = sheet::read_xlsx(&import::error_report(people, &sh, &out).unwrap(), "导入数据").unwrap();
    let row = &report.rows[0].1;
    assert_eq!(row[2].display(), "110***********002X", "a right identifier is masked");
    assert_eq!(row[3].display(), "12345", "the wrong phone is shown as it was");

    let sh = sheet::read_csv("甲,乙\n1,2\n".as_bytes()).unwrap();
    let out = import::import(&store, &Actor::system(), t, &sh, import::Options::default()).await.unwrap();
    assert!(out.errors[0].message.contains("表头没有一列"), "{:?}", out.errors);
    assert!(sheet::read(b"PK\x03\x04garbage", "x").is_err(), "a broken XLSX is refused with a message");
}

/// POST a multipart form with one file, as a browser's upload does; returns (status, body).
pub(crate) fn upload(b: &crate::http::Browser, path: &str, fields: &[(&str, &str)], file: &[u8]) -> (u16, String) {
    use std::io::{Read, Write};
    let boundary = "----counterpart-test-boundary";
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n").as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"活动.csv\"\r\nContent-Type: text/csv\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let cookie = b.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
    let mut s = std::net::TcpStream::connect(("127.0.0.1", b.port)).unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nCookie: {cookie}\r\n\
         Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(&body).unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).unwrap();
    let text = String::from_utf8_lossy(&buf).to_string();
    let status = text.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, text.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default())
}

/// The upload page: a file with errors is refused with the count, the rows and the report; the
/// template downloads; fixed, the file goes in; a reporter cannot import into another unit.
#[tokio::test]
async fn web_import_reports_errors_and_imports() {
    let db = TestDb::new(crate::support::Backend::Sqlite).await;
    let (_server, port, accounts) = crate::support::serve_demo(&db);
    let mut m = crate::http::signed_in(port, &accounts, "demo.manager", "Akto#Pamir2025");
    let list = m.get("/records/activities");
    assert!(list.body.contains("href=\"/records/activities/import\""), "the list offers the import");
    let page = m.get("/records/activities/import");
    assert_eq!(page.status, 200);
    let csrf = page.hidden("csrf");
    let template = m.get("/records/activities/template.xlsx");
    assert_eq!(template.status, 200);
    assert!(template.header("content-type").unwrap().contains("spreadsheetml"));

    let head = HEADER.join(",");
    let bad = format!("{head}\n义诊进村,义诊,,医疗,2025-03-05,,阿克陶县,,,,12,30\n讲座,讲座/大讲堂,,教育,2025-02-30,,阿克陶县,,,,x,30\n");
    let (status, body) = upload(&m, "/records/activities/import", &[("csrf", &csrf)], bad.as_bytes());
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("导入失败：共 1 条数据有误"), "{body}");
    assert!(body.contains("<td>3</td>"), "the Excel row of the bad line");
    let link = body.split("href=\"/imports/").nth(1).and_then(|s| s.split('"').next()).expect("a report link");
    let report = m.get(&format!("/imports/{link}"));
    assert_eq!(report.status, 200);
    assert!(report.header("content-type").unwrap().contains("spreadsheetml"));
    // Another user cannot fetch it.
    let mut v = crate::http::signed_in(port, &accounts, "demo.viewer", "View#Akto2025");
    assert_eq!(v.get(&format!("/imports/{link}")).status, 404);

    let good = bad.replace("2025-02-30", "2025-02-28").replace(",x,", ",7,");
    let (status, body) =
        upload(&m, "/records/activities/import", &[("csrf", &csrf), ("dry_run", "1")], good.as_bytes());
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("检查通过（未写入）"), "{body}");
    let before = m.get("/records/activities").total();
    let (status, body) = upload(&m, "/records/activities/import", &[("csrf", &csrf)], good.as_bytes());
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("导入成功：共 2 行，新增 2 条"), "{body}");
    assert_eq!(m.get("/records/activities").total(), before + 2);

    // Without the session's token the upload is refused.
    let (status, _) = upload(&m, "/records/activities/import", &[("csrf", "forged")], good.as_bytes());
    assert_eq!(status, 403);

    // A reporter (AKT-HOSP) may not import activities organized by another unit.
    let mut r = crate::http::signed_in(port, &accounts, "demo.reporter", "Rep#Akto2025");
    let csrf = r.get("/records/activities/import").hidden("csrf");
    let other = format!("{head}\n义诊进村,义诊,,医疗,2025-03-05,,阿克陶县,江西省人民医院,,,12,30\n");
    let (status, body) = upload(&r, "/records/activities/import", &[("csrf", &csrf)], other.as_bytes());
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("导入失败：共 1 条数据有误"), "{body}");
    assert!(body.contains("找不到组织单位“江西省人民医院”"), "outside its scope, the unit is not there: {body}");
    assert_eq!(m.get("/records/activities").total(), before + 2, "nothing of the reporter's file was written");
}
/// A zip of (name, content) entries, deflated.
fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    use std::io::Write;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, content) in entries {
        w.start_file(*name, opts).unwrap();
        w.write_all(content).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// An XLSX zip bomb and malformed workbooks, uploaded: each is refused (422) with a message that
/// says what is wrong, and nothing is written or audited.
async fn zip_bombs_and_broken_workbooks_are_refused(db: &TestDb) {
    let (_server, port, accounts) = crate::support::serve_demo(db);
    let mut m = crate::http::signed_in(port, &accounts, "demo.manager", "Akto#Pamir2025");
    let csrf = m.get("/records/activities/import").hidden("csrf");
    let before = m.get("/records/activities").total();
    // The server gives the daily digest right after it starts (from 08:00 Beijing time), in the
    // background: its notices may be audited at any moment of this test, and are not the import's.
    const AUDITED: &str = "SELECT COUNT(*) FROM audit_log WHERE action <> 'notify'";
    let audit_before = count(db, AUDITED).await;

    // 50 MB of sheet XML that deflates to some 50 KB: a ratio of about 1000:1.
    let mut sheet_xml = b"<worksheet><sheetData>".to_vec();
    sheet_xml.resize(50 << 20, b' ');
    sheet_xml.extend_from_slice(b"</sheetData></worksheet>");
    let bomb = zip_of(&[
        ("[Content_Types].xml", b"<Types/>"),
        ("xl/workbook.xml", b"<workbook><sheets><sheet name=\"x\" sheetId=\"1\" r:id=\"rId1\"/></sheets></workbook>"),
        ("xl/worksheets/sheet1.xml", &sheet_xml),
    ]);
    assert!(bomb.len() < 1 << 20, "the bomb is small: {} bytes", bomb.len());
    let good = xlsx(&HEADER.map(String::from), &[activity_row(1)]);
    let cases: [(&str, Vec<u8>, &str); 4] = [
        ("zip bomb", bomb, "压缩比"),
        ("truncated", good[..good.len() / 2].to_vec(), "压缩包结构已损坏"),
        ("no workbook", zip_of(&[("word/document.xml", b"<w:document/>")]), "没有工作簿（xl/workbook.xml）"),
        ("garbage", b"PK\x03\x04\x14\x00garbage".to_vec(), "不是有效的 Excel（.xlsx）文件"),
    ];
    for (what, file, says) in cases {
        let (status, body) = upload(&m, "/records/activities/import", &[("csrf", &csrf)], &file);
        assert_eq!(status, 422, "{what}: {body}");
        assert!(body.contains("文件无法读取：不是有效的 Excel（.xlsx）文件"), "{what}: {body}");
        assert!(body.contains(says), "{what} says {says}: {body}");
    }
    // The sound workbook goes in, so the refusals above were the files' fault.
    let (status, body) = upload(&m, "/records/activities/import", &[("csrf", &csrf), ("dry_run", "1")], &good);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("检查通过（未写入）：共 1 行"), "{body}");
    assert_eq!(m.get("/records/activities").total(), before, "nothing was written");
    assert_eq!(count(db, AUDITED).await, audit_before, "nothing was audited");
}
crate::both!(zip_bombs_and_broken_workbooks_are_refused);

/// Every column of every project, by id.
async fn projects(db: &TestDb) -> std::collections::BTreeMap<i64, Vec<(String, String)>> {
    let rows = sqlx::query(
        "SELECT id, code, name, sector, status, status_date, region_code, org_id, batch_id, planned_start, \
         planned_end, multi_year, livelihood FROM projects",
    )
    .fetch_all(&pool(db).await)
    .await
    .unwrap();
    let names = [
        "code",
        "name",
        "sector",
        "status",
        "status_date",
        "region_code",
        "org_id",
        "batch_id",
        "planned_start",
        "planned_end",
        "multi_year",
        "livelihood",
    ];
    rows.iter()
        .map(|r| {
            let cols = names
                .iter()
                .enumerate()
                .map(|(i, n)| {
                    let v = r
                        .try_get::<Option<String>, _>(i + 1)
                        .ok()
                        .flatten()
                        .or_else(|| r.try_get::<Option<i64>, _>(i + 1).ok().flatten().map(|n| n.to_string()))
                        .unwrap_or_default();
                    (n.to_string(), v)
                })
                .collect();
            (r.get::<i64, _>(0), cols)
        })
        .collect()
}

/// The round trip: export the projects to XLSX, change three cells and blank two others (the file
/// edited by code, as a spreadsheet program would save it), import with `--update`: exactly those
/// three fields of that one project change, and only that change is audited.
async fn export_edit_update_round_trip(db: &TestDb) {
    let store = db.store().await;
    services::demo::load(&store).await.unwrap();
    let dir = db.dir.path();
    let out =
        cli(db).args(["export", "--type", "projects", "--format", "xlsx", "--out", "projects.xlsx"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let exported = sheet::read_xlsx(&std::fs::read(dir.join("projects.xlsx")).unwrap(), "项目").unwrap();
    let col = |label: &str| {
        exported
            .header
            .iter()
            .position(|h| h.trim_start_matches('*').starts_with(label))
            .unwrap_or_else(|| panic!("no column {label} in {:?}", exported.header))
    };
    let (code, name, end, livelihood, org, batch) =
        (col("项目编号"), col("项目名称"), col("计划完工"), col("民生项目"), col("实施单位"), col("批次"));
    let target = exported.rows.iter().position(|(_, r)| r[code].display() == "JXKZ-01-0001").expect("the project row");
    let was_livelihood = exported.rows[target].1[livelihood].display();

    let org_code = col("实施单位（");
    // The exported sheet with the target row's cells replaced, saved as a spreadsheet program would.
    let edited = |edits: &[(usize, sheet::Cell)]| {
        let mut book = Workbook::new();
        let ws = book.add_worksheet();
        for (c, h) in exported.header.iter().enumerate() {
            ws.write_string(0, c as u16, h).unwrap();
        }
        for (i, (_, cells)) in exported.rows.iter().enumerate() {
            for (c, cell) in cells.iter().enumerate() {
                let (r, c16) = (i as u32 + 1, c as u16);
                let cell = match edits.iter().find(|(col, _)| i == target && *col == c) {
                    Some((_, new)) => new.clone(),
                    None => cell.clone(),
                };
                match cell {
                    sheet::Cell::Empty => {}
                    sheet::Cell::Number(n) => drop(ws.write_number(r, c16, n).unwrap()),
                    sheet::Cell::Bool(b) => drop(ws.write_boolean(r, c16, b).unwrap()),
                    other => drop(ws.write_string(r, c16, other.display()).unwrap()),
                }
            }
        }
        book.save_to_buffer().unwrap()
    };
    let text = |s: &str| sheet::Cell::Text(s.into());
    let flipped = if was_livelihood == "是" { "否" } else { "是" };
    std::fs::write(
        dir.join("edited.xlsx"),
        edited(&[
            (name, text("阿克陶县第二中学教学楼（改）")),
            (end, text("2027-12-31")),
            (livelihood, text(flipped)),
            (org, sheet::Cell::Empty),
            (org_code, sheet::Cell::Empty),
            (batch, sheet::Cell::Empty),
        ]),
    )
    .unwrap();

    let before = projects(db).await;
    let audit_before = count(db, "SELECT COUNT(*) FROM audit_log").await;
    let out = cli(db).args(["import", "edited.xlsx", "--type", "projects", "--update"]).output().unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(said.contains("新增 0 条，更新 1 条"), "{said}");
    let after = projects(db).await;
    assert_eq!(before.len(), after.len());
    let mut changed = Vec::new();
    for (id, cols) in &before {
        for ((n, v), (_, w)) in cols.iter().zip(&after[id]) {
            if v != w {
                changed.push(format!("{n}: {v} → {w}"));
            }
        }
    }
    changed.sort();
    assert_eq!(changed.len(), 3, "exactly three fields changed: {changed:?}");
    assert!(changed[0].starts_with("livelihood: "), "{changed:?}");
    assert!(changed[1].starts_with("name: ") && changed[1].ends_with("→ 阿克陶县第二中学教学楼（改）"), "{changed:?}");
    assert!(changed[2].starts_with("planned_end: ") && changed[2].ends_with("→ 2027-12-31"), "{changed:?}");
    assert_eq!(count(db, "SELECT COUNT(*) FROM audit_log").await, audit_before + 1, "one change, one audit entry");

    // A name changed in one column while its code column still names the old organization is
    // refused, not silently overruled by the other column.
    let other = if exported.rows[target].1[org_code].display() == "JX-H05" {
        "江西省人民医院"
    } else {
        "江西省儿童医院"
    };
    std::fs::write(dir.join("conflict.xlsx"), edited(&[(org, text(other))])).unwrap();
    let out = cli(db).args(["import", "conflict.xlsx", "--type", "projects", "--update"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("指向不同的记录"), "{err}");
}
crate::both!(export_edit_update_round_trip);

/// A reporter's template and lookups hold only what the reporter may see: the funding template's
/// project list is the reporter's own projects, and another unit's project is "not found".
#[tokio::test]
async fn reporters_templates_and_lookups_keep_to_their_scope() {
    let db = TestDb::new(crate::support::Backend::Sqlite).await;
    let store = db.store().await;
    services::demo::load(&store).await.unwrap();
    let pool = pool(&db).await;
    let org: i64 =
        sqlx::query("SELECT id FROM organizations WHERE code = 'AKT-HOSP'").fetch_one(&pool).await.unwrap().get(0);
    let reporter = Actor {
        user_id: None,
        name: "reporter".into(),
        role: domain::users::Role::Reporter,
        org_id: Some(domain::ids::Id::issued(org)),
        source: None,
    };
    let t = by_slug("funding").unwrap();
    let bytes = template::template(&store, &reporter, t).await.unwrap();
    let mut book: calamine::Xlsx<_> = calamine::Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
    use calamine::Reader;
    let codes = book.worksheet_range("代码表").unwrap();
    let col = codes.rows().next().unwrap().iter().position(|c| *c == "项目").expect("a project list");
    let listed: Vec<String> = codes.rows().skip(1).map(|r| r[col].to_string()).filter(|s| !s.is_empty()).collect();
    let own: Vec<String> = sqlx::query("SELECT p.name FROM projects p JOIN organizations o ON o.id = p.org_id WHERE o.path LIKE (SELECT path FROM organizations WHERE id = $1) || '%'")
        .bind(org)
        .fetch_all(&pool)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<String, _>(0))
        .collect();
    let all: i64 = sqlx::query("SELECT COUNT(*) FROM projects").fetch_one(&pool).await.unwrap().get(0);
    assert!(listed.len() < all as usize, "not every project of the program");
    assert!(listed.iter().all(|p| own.contains(p)), "only the reporter's own projects: {listed:?}");

    let other: String = sqlx::query("SELECT p.code FROM projects p JOIN organizations o ON o.id = p.org_id WHERE o.path NOT LIKE (SELECT path FROM organizations WHERE id = $1) || '%' ORDER BY p.id LIMIT 1")
        .bind(org)
        .fetch_one(&pool)
        .await
        .unwrap()
        .get(0);
    let csv = format!(
        "项目,年度,资金来源,计划投资（万元）,已下达（万元）,已拨付（万元）\n{other},2030,省本级援疆资金,1,1,1\n"
    );
    let out =
        import::import(&store, &reporter, t, &sheet::read_csv(csv.as_bytes()).unwrap(), import::Options::default())
            .await
            .unwrap();
    assert!(out.errors.iter().any(|e| e.message == format!("找不到项目“{other}”")), "{:?}", out.errors);
}
