//! The demo story, on both backends: load the demo with the CLI, check every row of
//! `shared/seed/figures.tsv` against `counterpart figures --json`, open a figure to its records,
//! add one free clinic and see exactly the right figures move, and refuse a second demo load.

use crate::both;
use crate::support::{cli, TestDb};
use domain::activities::NewActivity;
use domain::audit::Actor;
use domain::ids::kind;
use domain::regions::RegionCode;
use domain::Date;
use services::figures::{Engine, Provenance};
use std::collections::BTreeMap;

/// What figures.tsv states of a value.
#[derive(Debug)]
enum Expect {
    Exact { value: f64, decimals: usize },
    AtLeast(f64),
    Range(f64, f64),
}

fn parse_expect(s: &str) -> Expect {
    let s = s.trim();
    if let Some(n) = s.strip_suffix('+') {
        return Expect::AtLeast(n.parse().expect("N+"));
    }
    if let Some((a, b)) = s.split_once('–') {
        return Expect::Range(a.parse().expect("range start"), b.parse().expect("range end"));
    }
    let decimals = s.split_once('.').map(|(_, f)| f.len()).unwrap_or(0);
    Expect::Exact { value: s.parse().expect("number"), decimals }
}

fn conforms(e: &Expect, v: f64) -> bool {
    match e {
        Expect::AtLeast(n) => v >= *n && v < n * 1.1,
        Expect::Range(a, b) => v >= *a && v <= *b,
        Expect::Exact { value, decimals } => format!("{:.*}", decimals, v) == format!("{:.*}", decimals, value),
    }
}

fn seed_rows() -> Vec<(String, String)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/seed/figures.tsv");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("figures.tsv must be readable at {path}: {e}"));
    let rows: Vec<(String, String)> = text
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let mut c = l.split('\t');
            (c.next().unwrap_or("").to_string(), c.next().unwrap_or("").to_string())
        })
        .collect();
    assert!(rows.len() >= 40, "figures.tsv has {} rows", rows.len());
    rows
}

fn figures_json(db: &TestDb) -> BTreeMap<String, f64> {
    let out = cli(db).args(["figures", "--json"]).output().expect("run figures");
    assert!(out.status.success(), "figures failed: {}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("figures --json prints JSON");
    v.as_object()
        .expect("one JSON object")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_f64().expect("every figure is a number")))
        .collect()
}

/// The demo's 综述 for the 11th batch, whole program.
async fn summary(store: &store::Store) -> services::reports::model::Rendered {
    use services::reports::evaluate::{evaluate, Request};
    let req = Request {
        template: "summary".into(),
        version: None,
        from: Date::parse("2023-04-20").unwrap(),
        to: Date::parse("2026-11-29").unwrap(),
        place: None,
        org: None,
        line: None,
        scope_label: "全部".into(),
        by: "test".into(),
    };
    evaluate(store, &req).await.expect("the summary evaluates")
}

/// Each figure the report's text states, as shown.
fn report_figures(r: &services::reports::model::Rendered) -> BTreeMap<String, String> {
    use services::reports::model::{Block, Run};
    let mut m = BTreeMap::new();
    for s in &r.sections {
        for b in &s.blocks {
            if let Block::Paragraph { runs } = b {
                for run in runs {
                    if let Run::Figure { key, shown } = run {
                        m.insert(key.clone(), shown.clone());
                    }
                }
            }
        }
    }
    m
}

fn tables(r: &services::reports::model::Rendered) -> Vec<services::reports::model::Table> {
    use services::reports::model::Block;
    r.sections
        .iter()
        .flat_map(|s| s.blocks.iter())
        .filter_map(|b| match b {
            Block::Table(t) => Some(t.clone()),
            _ => None,
        })
        .collect()
}

/// A stated number: "4000余" is (4000, approximate); "十一" is 11.
fn stated_value(shown: &str) -> (f64, bool) {
    let approx = shown.ends_with('余');
    let s = shown.trim_end_matches('余');
    let v = s
        .parse::<f64>()
        .ok()
        .or_else(|| (0..100).find(|n| domain::reports::chinese_number(*n).as_deref() == Some(s)).map(|n| n as f64));
    (v.unwrap_or(f64::NAN), approx)
}

async fn demo_story(db: &TestDb) {
    let started = std::time::Instant::now();
    let out = cli(db).arg("demo").output().expect("run demo");
    assert!(out.status.success(), "demo failed: {}", String::from_utf8_lossy(&out.stderr));
    eprintln!("demo loaded in {:?}", started.elapsed());

    // Every row of figures.tsv, against the CLI's JSON.
    let figures = figures_json(db);
    let mut failures = Vec::new();
    for (key, stated) in seed_rows() {
        let e = parse_expect(&stated);
        match figures.get(&key) {
            None => failures.push(format!("{key}: missing")),
            Some(v) if !conforms(&e, *v) => failures.push(format!("{key}: {v} does not conform to {stated}")),
            Some(_) => {}
        }
    }
    assert!(failures.is_empty(), "figures not conforming:\n{}", failures.join("\n"));

    // The 综述 for the 11th batch states every figure of figures.tsv, conforming, and writes out.
    let store = db.store().await;
    let html_out = db.dir.path().join("summary.html");
    let out = cli(db)
        .args(["report", "summary", "--period", "2023-04-20..2026-11-29", "--format", "html", "--out"])
        .arg(&html_out)
        .output()
        .expect("run report");
    assert!(out.status.success(), "report failed: {}", String::from_utf8_lossy(&out.stderr));
    let html = std::fs::read_to_string(&html_out).expect("the report file");
    assert!(html.contains("江西省对口支援克州工作综述") && html.contains("附件：数据来源与口径"));
    let report = summary(&store).await;
    let stated = report_figures(&report);
    for (key, expect) in seed_rows() {
        let Some(shown) = stated.get(&key) else {
            failures.push(format!("{key}: not stated in the report"));
            continue;
        };
        let e = parse_expect(&expect);
        let (v, approx) = stated_value(shown);
        let ok = match (&e, approx) {
            // "4000余" states "4000+": the same round number.
            (Expect::AtLeast(n), true) => v == *n,
            (_, false) => conforms(&e, v),
            _ => false,
        };
        if !ok {
            failures.push(format!("{key}: the report states “{shown}”, figures.tsv {expect}"));
        }
        assert!(html.contains(shown.as_str()), "{key}: {shown} in the HTML");
    }
    assert!(failures.is_empty(), "report figures not conforming:\n{}", failures.join("\n"));
    assert!(report.figures.iter().all(|f| f.records >= 0 && !f.definition.is_empty()));
    // The periodic statistics: every rate by batch and by sector; funds by year; by place with the
    // two shares; and the rates are computed, e.g. 开工率 = started ÷ projects of the total row.
    for sheet in ["批次", "项目"] {
        let t = tables(&report).into_iter().find(|t| t.sheet == sheet).expect(sheet);
        for c in ["开工率（%）", "完工率（%，不含跨年度项目）", "资金到位率（%）", "资金拨付率（%）", "投资完成率（%）"]
        {
            assert!(t.columns.iter().any(|h| h == c), "{sheet}: {c}");
        }
    }
    let place = tables(&report).into_iter().find(|t| t.sheet == "地区").expect("by place");
    assert!(place.rows.iter().any(
        |r| matches!(r.first(), Some(services::reports::model::Cell::Text { text }) if text == "其中：县及县以下")
    ));

    // The same report as a spreadsheet: numbers, not text, whose totals are the engine's sums.
    let xlsx_out = db.dir.path().join("summary.xlsx");
    let out = cli(db)
        .args(["report", "summary", "--period", "2023-04-20..2026-11-29", "--format", "xlsx", "--out"])
        .arg(&xlsx_out)
        .output()
        .expect("run report");
    assert!(out.status.success(), "report failed: {}", String::from_utf8_lossy(&out.stderr));
    {
        use calamine::{open_workbook, Data, Reader, Xlsx};
        use domain::figures::{FigureDef, Filter, Measure, Spec};
        let mut wb: Xlsx<_> = open_workbook(&xlsx_out).expect("the workbook opens");
        let names = wb.sheet_names();
        assert_eq!(names.first().map(String::as_str), Some("说明"));
        assert_eq!(names.last().map(String::as_str), Some("数据来源"));
        for line in ["总体情况", "教育援疆", "医疗援疆", "产业援疆", "就业援疆", "招商引资", "交往交流交融"]
        {
            assert!(names.iter().any(|n| n == line), "a sheet for {line}: {names:?}");
        }
        let funds = wb.worksheet_range("资金").expect("the funds sheet");
        let total = funds
            .rows()
            .find(|r| matches!(r.first(), Some(Data::String(s)) if s == "合计"))
            .expect("a totals row")
            .to_vec();
        let engine = Engine::new(&store);
        for (col, measure) in [(1, "planned_fen"), (2, "allocated_fen"), (3, "disbursed_fen")] {
            let def = FigureDef {
                key: "t".into(),
                name: String::new(),
                line: "overview".into(),
                unit: "万元".into(),
                decimals: 2,
                description: String::new(),
                spec: Spec::Records {
                    source: "project_funding".into(),
                    measure: Measure::Sum(measure.into()),
                    filters: vec![
                        Filter::ge("year", 2023),
                        Filter { field: "year".into(), op: domain::figures::FilterOp::Le, value: 2026.into() },
                    ],
                    span: None,
                    divisor: 1_000_000,
                    counted: Default::default(),
                },
            };
            let v = engine.evaluate(&def).await.expect("evaluates");
            let want = v.exact.num as f64 / v.exact.den as f64;
            match total.get(col) {
                Some(Data::Float(f)) => assert!((f - want).abs() < 1e-6, "{measure}: {f} vs the engine's {want}"),
                other => panic!("{measure}: a number, not {other:?}"),
            }
        }
        let sources = wb.worksheet_range("数据来源").expect("the provenance sheet");
        assert_eq!(sources.rows().count(), report.figures.len() + 1, "one row per figure under the header");
        // The workbook states every figure of figures.tsv too, conforming (key, …, value shown, …).
        let text = |c: &Data| match c {
            Data::String(s) => s.clone(),
            other => other.to_string(),
        };
        let header: Vec<String> = sources.rows().next().expect("a header").iter().map(text).collect();
        let shown_col = header.iter().position(|h| h.contains("数值")).expect("a value column");
        for (key, expect) in seed_rows() {
            let row = sources
                .rows()
                .find(|r| r.iter().any(|c| text(c) == key))
                .unwrap_or_else(|| panic!("{key} in the workbook"));
            let shown = text(&row[shown_col]);
            let v: f64 = shown.split_whitespace().next().and_then(|n| n.parse().ok()).unwrap_or(f64::NAN);
            assert!(conforms(&parse_expect(&expect), v), "{key}: the workbook states {shown}, figures.tsv {expect}");
        }
    }

    // A figure opens to the records it came from, and they add up to its value.
    let engine = Engine::new(&store);
    let def = engine.definition("med.cataract_surgeries").await.expect("defined");
    match engine.provenance(&def, 1000).await.expect("provenance") {
        Provenance::Records { records } => {
            assert_eq!(records.iter().map(|r| r.value).sum::<i64>(), 312);
            assert!(records.iter().all(|r| r.table == "activity_procedures"));
        }
        other => panic!("expected records, got {other:?}"),
    }
    // A distinct count opens to the organizations it counted, each once.
    let def = engine.definition("edu.school_pairing.jiangxi_schools").await.expect("defined");
    match engine.provenance(&def, 1000).await.expect("provenance") {
        Provenance::Records { records } => {
            assert_eq!(records.len() as f64, figures["edu.school_pairing.jiangxi_schools"]);
            assert!(records.iter().all(|r| r.table == "organizations" && r.value == 1 && !r.label.is_empty()));
            let ids: std::collections::BTreeSet<i64> = records.iter().map(|r| r.id).collect();
            assert_eq!(ids.len(), records.len());
        }
        other => panic!("expected records, got {other:?}"),
    }
    // People behind a figure are listed without their full names.
    let def = engine.definition("personnel.total").await.expect("defined");
    match engine.provenance(&def, 10_000).await.expect("provenance") {
        Provenance::Records { records } => {
            assert_eq!(records.len(), 777);
            let names: Vec<String> = store
                .list("people", 0, 2000)
                .await
                .unwrap()
                .rows
                .iter()
                .filter_map(|r| r["name"].as_str().map(str::to_string))
                .collect();
            for r in &records {
                assert!(r.label.contains('某'), "masked: {}", r.label);
                assert!(!names.iter().any(|n| n.chars().count() > 1 && r.label.contains(n.as_str())), "{}", r.label);
            }
        }
        other => panic!("expected records, got {other:?}"),
    }
    let def = engine.definition("med.referrals.change").await.expect("defined");
    match engine.provenance(&def, 1000).await.expect("provenance") {
        Provenance::Indicator { values } => {
            let mut v: Vec<(String, i64)> = values.iter().map(|r| (r.period.clone(), r.value)).collect();
            v.sort();
            assert_eq!(v, vec![("2023".to_string(), 1234), ("2024".to_string(), 564)]);
        }
        other => panic!("expected indicator values, got {other:?}"),
    }

    // One more free clinic of 江西红医生 with 40 beneficiaries: exactly these figures change.
    let before = figures_json(db);
    let program = store.id_by_code::<kind::Program>("JX-KZ").await.unwrap().expect("program");
    let hosp = store.id_by_code::<kind::Org>("AKT-HOSP").await.unwrap();
    let audit_before = store.audit_count().await.unwrap();
    let id = store
        .insert(
            &Actor::system(),
            &NewActivity {
                program_id: program,
                type_code: "free_clinic".into(),
                brand_code: Some("jiangxi_red_doctor".into()),
                line: "medical",
                title: "“江西红医生”义诊（测试）".into(),
                date: Date::parse("2025-05-11").unwrap(),
                end_date: None,
                region: RegionCode::parse("653022210").unwrap(),
                organizer_org_id: hosp,
                project_id: None,
                pairing_id: None,
                participants: 6,
                beneficiaries: 40,
            },
        )
        .await
        .expect("insert activity");
    assert_eq!(store.audit_count().await.unwrap(), audit_before + 1);
    let after = figures_json(db);
    let changed: BTreeMap<String, f64> =
        after.iter().filter(|(k, v)| before.get(*k) != Some(v)).map(|(k, v)| (k.clone(), v - before[k])).collect();
    let expected: BTreeMap<String, f64> = [
        ("activities.total", 1.0),
        ("activities.beneficiaries", 40.0),
        ("med.outreach.events", 1.0),
        ("med.outreach.beneficiaries", 40.0),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(changed, expected);
    // Regenerated, the report changes exactly the numbers that this record feeds.
    let again = summary(&store).await;
    let (a, b) = (report_figures(&report), report_figures(&again));
    let moved: Vec<&String> = b.keys().filter(|k| a.get(*k) != b.get(*k)).collect();
    assert_eq!(moved, vec!["activities.beneficiaries", "activities.total"], "{a:?} → {b:?}");
    // The statistical tables count no activity; of the per-line tables, only the two figures move.
    let stats = |r: &services::reports::model::Rendered| {
        tables(r).into_iter().filter(|t| !t.title.ends_with("主要指标")).collect::<Vec<_>>()
    };
    assert_eq!(stats(&report), stats(&again), "no statistical table counts activities");
    let moved_cells: std::collections::BTreeSet<String> = report
        .shown_numbers()
        .iter()
        .zip(again.shown_numbers().iter())
        .filter(|(a, b)| a != b)
        .map(|(a, b)| format!("{a}→{b}"))
        .collect();
    // Exactly the four figures that moved above (the text rounds two of them to "200余" etc.).
    let want: std::collections::BTreeSet<String> =
        expected.iter().map(|(k, d)| format!("{}→{}", before[k], before[k] + d)).collect();
    assert_eq!(moved_cells, want);
    let def = engine.definition("med.outreach.events").await.unwrap();
    match engine.provenance(&def, 10_000).await.unwrap() {
        Provenance::Records { records } => assert!(records.iter().any(|r| r.id == id.get() && r.table == "activities")),
        other => panic!("{other:?}"),
    }

    // A second demo load is refused, with a message, and changes nothing.
    let out = cli(db).arg("demo").output().expect("run demo");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("已有数据"), "{err}");
    assert_eq!(store.audit_count().await.unwrap(), audit_before + 1);
    store.close().await;
}
both!(demo_story);
