//! Reports through the application: generate the demo's 综述 for the 11th batch, preview it with
//! every figure linked to its records, download it; edit the template (a bad line is refused with
//! its number, a save is a new version); who may do what.

use crate::http::{signed_in, Browser, Response};
use crate::support::{serve_demo, Backend, TestDb};

fn generate(b: &mut Browser, from: &str, to: &str, scope: &str) -> Response {
    let csrf = b.get("/reports/summary").hidden("csrf");
    b.post("/reports/summary", &[("csrf", &csrf), ("from", from), ("to", to), ("scope", scope)])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_are_generated_previewed_downloaded_and_edited() {
    let db = TestDb::new(Backend::Sqlite).await;
    let (_server, port, accounts) = serve_demo(&db);
    let mut m = signed_in(port, &accounts, "demo.manager", "Akto#Pamir2025");

    // Reachable from the navigation; the template is listed.
    assert!(m.get("/").body.contains("href=\"/reports\""));
    let index = m.get("/reports");
    assert!(index.body.contains("援疆工作综述") && index.body.contains("href=\"/reports/summary/edit\""));

    // Generate the 综述 for the 11th batch: kept, shown with every figure linked.
    let r = generate(&mut m, "2023-04-20", "2026-11-29", "");
    assert_eq!(r.status, 303, "{}", r.body);
    let loc = r.header("location").expect("redirect").to_string();
    assert!(loc.starts_with("/reports/generated/"));
    let page = m.get(&loc);
    assert_eq!(page.status, 200);
    for s in [
        "江西省对口支援克州工作综述",
        "href=\"/figures/personnel.total\">777<",
        "href=\"/figures/med.cataract_surgeries\">312<",
        "附件：数据来源与口径",
        "资金到位率（%）",
        "其中：民生项目",
    ] {
        assert!(page.body.contains(s), "the preview shows {s}");
    }
    let html = m.get(&format!("{loc}.html"));
    assert_eq!(html.status, 200);
    assert!(html.header("content-disposition").is_some_and(|d| d.contains("attachment")));
    assert!(html.body.contains("777") && html.body.contains("@page{size:A4"));
    let xlsx = m.get(&format!("{loc}.xlsx"));
    assert_eq!(xlsx.status, 200);
    assert!(xlsx.header("content-type").is_some_and(|t| t.contains("spreadsheetml")));
    assert_eq!(m.get(&format!("{loc}.pdf")).status, 422, "an unknown format is refused");
    // Listed with who generated it.
    let index = m.get("/reports");
    assert!(index.body.contains("demo.manager") && index.body.contains("2023-04-20 – 2026-11-29"));

    // The dashboard, for the same batch, agrees with the report's funds table.
    let number_after = |body: &str, label: &str| -> String {
        let at = body.find(label).unwrap_or_else(|| panic!("{label}")) + label.len();
        // The first number shown as an element's text after the label.
        let rest = &body[at..];
        let start = rest
            .match_indices('>')
            .map(|(i, _)| i + 1)
            .find(|i| rest[*i..].starts_with(|c: char| c.is_ascii_digit()))
            .expect("a number");
        rest[start..].chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect()
    };
    let dash = m.get("/?period=b11");
    // Its indicator series: the county hospital's revenue against its 2025 target, each point a link.
    assert!(dash.body.contains("医疗总收入（亿元）· 阿克陶县人民医院") && dash.body.contains("目标 2025：1.70"));
    assert!(dash.body.contains("/figures/drill?indicator=hospital_revenue&amp;org=AKT-HOSP&amp;period=2024"));
    let report_total = {
        let at = page.body.find("<tr class=\"total\">").expect("the funds table's totals");
        number_after(&page.body[at..], "合计")
    };
    assert_eq!(number_after(&dash.body, "计划投资（万元）"), report_total, "dashboard and report agree");

    // A scope of one county, or of one line of work (its funds are part of the whole), and bad
    // input named.
    assert_eq!(generate(&mut m, "2023-04-20", "2026-11-29", "653022").status, 303);
    let r = generate(&mut m, "2023-04-20", "2026-11-29", "medical");
    let medical = m.get(r.header("location").expect("redirect"));
    assert!(medical.body.contains("医疗卫生条线") || medical.body.contains("医疗条线"), "the scope is named");
    let medical_total = {
        let at = medical.body.find("<tr class=\"total\">").expect("totals");
        number_after(&medical.body[at..], "合计")
    };
    let (part, whole): (f64, f64) = (medical_total.parse().unwrap(), report_total.parse().unwrap());
    assert!(part > 0.0 && part < whole, "medical {part} of {whole}");
    let dash = m.get("/?period=b11&line=medical");
    assert_eq!(number_after(&dash.body, "计划投资（万元）"), medical_total, "the dashboard agrees for one line too");
    let bad = generate(&mut m, "2023-04-20", "2022-01-01", "");
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("早于开始日期"));
    let bad = generate(&mut m, "2023-04-20", "2026-11-29", "NO-SUCH");
    assert!(bad.status == 422 && bad.body.contains("既不是已知的区划代码"));

    // Edit the template: a bad line is refused with its number; a preview saves nothing; a save
    // is version 2, and the next report says what it now says.
    let form = m.get("/reports/summary/edit");
    let csrf = form.hidden("csrf");
    let body = "# 测试综述\n## 一、总体\n共{{personnel.total}}名，{{no.such|percent}}\n";
    let r = m.post("/reports/summary/edit", &[("csrf", &csrf), ("name", "综述"), ("body", body), ("action", "save")]);
    assert_eq!(r.status, 422);
    assert!(r.body.contains("第 3 行") && r.body.contains("percent"), "{}", r.body);
    let body = "# 测试综述\n## 一、总体\n共{{personnel.total}}名援疆干部人才。\n[table funds_by_year]\n";
    let r =
        m.post("/reports/summary/edit", &[("csrf", &csrf), ("name", "综述"), ("body", body), ("action", "preview")]);
    assert_eq!(r.status, 200);
    assert!(r.body.contains("预览（未保存）") && r.body.contains(">777<"));
    assert!(m.get("/reports").body.contains("<td class=\"num\">1</td>"), "still version 1");
    let missing = "# 测试综述\n共{{no.such.figure}}名\n";
    let r =
        m.post("/reports/summary/edit", &[("csrf", &csrf), ("name", "综述"), ("body", missing), ("action", "preview")]);
    assert!(r.status == 422 && r.body.contains("no.such.figure"));
    let r = m.post("/reports/summary/edit", &[("csrf", &csrf), ("name", "综述"), ("body", body), ("action", "save")]);
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(m.get("/reports/summary/edit").body.contains("第2版"));
    let r = generate(&mut m, "2023-04-20", "2026-11-29", "");
    let page = m.get(r.header("location").expect("redirect"));
    assert!(page.body.contains("测试综述") && !page.body.contains("教育援疆"));

    // A viewer reads reports but neither generates nor edits; a reporter generates.
    let mut v = signed_in(port, &accounts, "demo.viewer", "View#Akto2025");
    assert_eq!(v.get(&loc).status, 200);
    assert_ne!(generate(&mut v, "2023-04-20", "2026-11-29", "").status, 303);
    assert_eq!(v.get("/reports/summary/edit").status, 403);
    let mut rep = signed_in(port, &accounts, "demo.reporter", "Rep#Akto2025");
    assert_eq!(generate(&mut rep, "2024-01-01", "2024-12-31", "").status, 303);
    assert_eq!(rep.get("/reports/summary/edit").status, 403);
    let csrf = rep.get("/reports/summary").hidden("csrf");
    let r = rep.post("/reports/summary/edit", &[("csrf", &csrf), ("name", "x"), ("body", body), ("action", "save")]);
    assert_eq!(r.status, 403);
}
