//! Hostile input thrown at every form field and API parameter, on SQLite and PostgreSQL: script
//! and markup payloads are kept as typed and rendered escaped everywhere (lists, details, edit
//! forms, history, search, the audit page, report previews), exports neutralise formulas (CSV
//! prefixes an apostrophe, XLSX writes string cells and no formula), SQL fragments are plain
//! text, rare characters (古丽米热·阿布都, GB 18030 supplementary-plane 𠀀𪚥) are kept intact,
//! control characters and over-long text are refused naming the field, invalid UTF-8 is a 4xx
//! with a message, and path tricks in URLs and upload file names reach nothing.

use crate::api::{body, call, token_from_page};
use crate::both;
use crate::http::{signed_in, urlencode, Browser};
use crate::support::{serve_demo, TestDb};
use domain::catalog::{FieldKind, RecordType, RECORD_TYPES};
use serde_json::json;
use std::io::{Read, Write};

const SCRIPT: &str = "<script>alert('cp')</script>";
const ATTR: &str = "\"><img src=x onerror=alert('cp')>";
const SQL: &str = "'); DROP TABLE projects; --";
const SQL_OR: &str = "' OR '1'='1";
const RARE: &str = "古丽米热·阿布都 𠀀𪚥䶵 ㊣";
const FORMULAS: [&str; 4] = ["=HYPERLINK(\"http://x.example\",\"点我\")", "+1+2", "-3+4", "@SUM(A1:A9)"];
/// What stays in every text field long enough for it (50 characters) afterwards: a formula,
/// markup, SQL and rare characters at once.
const STORED: &str = "=1+1<script>alert('cp')</script>'--古丽米热·阿布都𠀀";

/// The payloads, if they came through unescaped, would be these.
const RAW_MARKUP: [&str; 2] = ["<script>alert('cp')", "<img src=x onerror"];

/// An HTML page must never carry a payload as markup.
fn escaped(what: &str, page: &str) {
    for raw in RAW_MARKUP {
        assert!(!page.contains(raw), "{what}: a payload is rendered unescaped");
    }
}

fn no_server_error(what: &str, status: u16, text: &str) {
    assert!(status < 500, "{what}: {status} {}", text.chars().take(400).collect::<String>());
}

/// The text fields a form or the API takes for a record type.
fn text_fields(t: &RecordType) -> Vec<&'static str> {
    domain::forms::form_fields(t).into_iter().filter(|f| f.kind == FieldKind::Text).map(|f| f.name).collect()
}

/// One raw HTTP exchange (bytes in, status and body out) for what a well-behaved client would not send.
fn raw(port: u16, head: &str, body: &[u8]) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(std::time::Duration::from_secs(60))).expect("timeout");
    let mut req = head.replace('\n', "\r\n");
    req.push_str(&format!("Content-Length: {}\r\nConnection: close\r\n\r\n", body.len()));
    let mut bytes = req.into_bytes();
    bytes.extend_from_slice(body);
    s.write_all(&bytes).expect("write");
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf).to_string();
    let status = text.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, text)
}

fn cookies(b: &Browser) -> String {
    b.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
}

async fn hostile_input_is_kept_escaped_neutralised_or_refused(db: &TestDb) {
    let (_server, port, accounts) = serve_demo(db);
    let mut b = signed_in(port, &accounts, "demo.manager", "Akto#Pamir2025");
    let token = token_from_page(&mut b, "敌意输入测试");
    let csrf = b.get("/records").hidden("csrf");
    let projects_before =
        body(&call(port, &token, "GET", "/api/v1/records/projects?per_page=1", None))["total"].clone();

    // 1. The API: every text field of one record of every changeable type takes each payload and
    //    gives it back exactly; control characters and over-long text are refused naming the field.
    let mut kept = Vec::new();
    for t in RECORD_TYPES.iter().filter(|t| domain::forms::changeable(t.table)) {
        let list = call(port, &token, "GET", &format!("/api/v1/records/{}?per_page=100", t.slug), None);
        assert_eq!(list.status, 200, "{}: {}", t.slug, list.body);
        // The first record this user may change (built-in types, say, may not be).
        let ids: Vec<i64> =
            body(&list)["items"].as_array().into_iter().flatten().filter_map(|i| i["id"].as_i64()).collect();
        let changeable = ids.into_iter().find(|id| {
            call(port, &token, "PATCH", &format!("/api/v1/records/{}/{id}", t.slug), Some(&json!({}))).status == 200
        });
        let Some(id) = changeable else { continue };
        let path = format!("/api/v1/records/{}/{id}", t.slug);
        let original = body(&call(port, &token, "GET", &path, None));
        let (mut any, mut full) = (false, false);
        for field in text_fields(t) {
            for p in [SCRIPT, ATTR, SQL, SQL_OR, RARE, FORMULAS[0], FORMULAS[1], FORMULAS[2], FORMULAS[3], STORED] {
                let what = format!("PATCH {}.{field} = {p}", t.slug);
                let r = call(port, &token, "PATCH", &path, Some(&json!({ field: p })));
                no_server_error(&what, r.status, &r.body);
                let v = body(&r);
                if r.status == 200 {
                    assert_eq!(v[field].as_str(), Some(p), "{what}: kept exactly");
                    any = true;
                    full |= p == STORED;
                } else {
                    // A code with its own format may refuse markup; the refusal names the field.
                    assert!(matches!(r.status, 409 | 422), "{what}: {} {}", r.status, r.body);
                    let named = v["error"]["errors"].as_array().is_some_and(|e| e.iter().any(|e| e["field"] == field));
                    assert!(named || r.status == 409, "{what}: the refusal names the field: {}", r.body);
                }
            }
            // A code is what reports and imports refer to a record by: given back afterwards.
            if field == "code" {
                let r = call(port, &token, "PATCH", &path, Some(&json!({ "code": original["code"] })));
                assert_eq!(r.status, 200, "{}: the code back: {}", t.slug, r.body);
            }
            for (bad, rule) in [("阿\u{0}布", "control"), ("\u{7}", "control"), (&*"长".repeat(100_000), "long")] {
                let r = call(port, &token, "PATCH", &path, Some(&json!({ field: bad })));
                assert_eq!(
                    r.status,
                    422,
                    "{}.{field} {rule}: {}",
                    t.slug,
                    r.body.chars().take(300).collect::<String>()
                );
                assert!(body(&r)["error"]["errors"][0]["field"] == field, "{}.{field} {rule}: {}", t.slug, r.body);
            }
        }
        if any {
            kept.push((t, id, full));
        }
    }
    let full: Vec<&str> = kept.iter().filter(|k| k.2).map(|k| k.0.slug).collect();
    for must in ["projects", "activities", "organizations", "people", "donations"] {
        assert!(full.contains(&must), "{must} keeps hostile text in full: {full:?}");
    }
    // The SQL fragments were text: the projects are all still there.
    let projects_after = body(&call(port, &token, "GET", "/api/v1/records/projects?per_page=1", None))["total"].clone();
    assert_eq!(projects_before, projects_after);

    // 2. Every page that shows those records renders them escaped, and shows the rare characters.
    for (t, id, full) in &kept {
        let detail = b.get(&format!("/records/{}/{id}", t.slug));
        assert_eq!(detail.status, 200, "{}", t.slug);
        escaped(&format!("{} detail", t.slug), &detail.body);
        if *full {
            assert!(detail.body.contains("古丽米热·阿布都𠀀"), "{} detail keeps the rare characters", t.slug);
            assert!(detail.body.contains("&lt;script&gt;"), "{} detail shows the markup as text", t.slug);
        }
        let edit = b.get(&format!("/records/{}/{id}/edit", t.slug));
        escaped(&format!("{} edit", t.slug), &edit.body);
        for q in ["", &format!("?q={}", urlencode("<script>")), &format!("?q={}", urlencode(SQL_OR))] {
            let list = b.get(&format!("/records/{}{q}", t.slug));
            no_server_error(&format!("{} list {q}", t.slug), list.status, &list.body);
            escaped(&format!("{} list {q}", t.slug), &list.body);
        }
    }
    for page in ["/", "/figures", "/dashboard/schedule", "/records"] {
        let r = b.get(page);
        assert_eq!(r.status, 200, "{page}");
        escaped(page, &r.body);
    }

    // 3. Exports: CSV cells that begin with = + - @ carry an apostrophe; XLSX holds strings, no formula.
    for (t, _, full) in &kept {
        let csv = b.download(&format!("/records/{}/export.csv", t.slug));
        assert_eq!(csv.status, 200, "{}", t.slug);
        let text = String::from_utf8(csv.body).expect("UTF-8 CSV");
        let mut reader =
            csv::ReaderBuilder::new().has_headers(true).from_reader(text.trim_start_matches('\u{feff}').as_bytes());
        let mut seen = false;
        for rec in reader.records() {
            let rec = rec.expect("a CSV record");
            for cell in rec.iter() {
                let first = cell.chars().next();
                assert!(!matches!(first, Some('=' | '+' | '@')), "{}: CSV cell {cell} is not neutralised", t.slug);
                // A negative number is a number; any other text beginning with - is neutralised.
                if first == Some('-') {
                    assert!(cell.parse::<f64>().is_ok(), "{}: CSV cell {cell} is not neutralised", t.slug);
                }
                seen |= cell == format!("'{STORED}");
            }
        }
        assert!(seen || !full, "{}: the CSV holds the text, neutralised and otherwise intact", t.slug);

        let xlsx = b.download(&format!("/records/{}/export.xlsx", t.slug));
        assert_eq!(xlsx.status, 200, "{}", t.slug);
        use calamine::Reader;
        let mut wb = calamine::Xlsx::new(std::io::Cursor::new(xlsx.body)).expect("an XLSX");
        let mut seen = false;
        for name in wb.sheet_names() {
            let formulas = wb.worksheet_formula(&name).expect("formulas");
            assert!(formulas.used_cells().all(|(_, _, f)| f.is_empty()), "{}: no formula in the XLSX", t.slug);
            let cells = wb.worksheet_range(&name).expect("cells");
            seen |= cells.used_cells().any(|(_, _, c)| matches!(c, calamine::Data::String(s) if s == STORED));
        }
        assert!(seen || !full, "{}: the XLSX holds the text as a string cell, intact", t.slug);
    }

    // 4. The audit log shows the changes escaped, and its CSV is neutralised.
    let mut aud = signed_in(port, &accounts, "demo.auditor", "Aud#Admin2025");
    let log = aud.get("/audit");
    assert_eq!(log.status, 200);
    escaped("audit", &log.body);
    assert!(log.body.contains("&lt;script&gt;") || log.body.contains("古丽米热"), "the audit page shows the changes");
    let audit_csv = String::from_utf8(aud.download("/audit.csv").body).expect("UTF-8");
    for line in audit_csv.lines() {
        for cell in line.split(',') {
            let c = cell.trim_start_matches('"');
            assert!(!matches!(c.chars().next(), Some('=' | '+' | '@')), "audit CSV cell {cell} is not neutralised");
        }
    }

    // 5. A report over the hostile records, and a template carrying markup, preview escaped.
    let rcsrf = b.get("/reports/summary").hidden("csrf");
    let r =
        b.post("/reports/summary", &[("csrf", &rcsrf), ("from", "2020-01-01"), ("to", "2026-12-31"), ("scope", "")]);
    assert_eq!(r.status, 303, "{}", r.body);
    let report = b.get(r.header("location").expect("the report"));
    escaped("report", &report.body);
    let editor = b.get("/reports/summary/edit");
    let ecsrf = editor.hidden("csrf");
    for p in [SCRIPT, ATTR] {
        let body_text = format!("# {p}\n\n{p} 正文 {RARE}\n");
        let r = b.post(
            "/reports/summary/edit",
            &[("csrf", &ecsrf), ("name", p), ("body", &body_text), ("action", "preview")],
        );
        no_server_error("template preview", r.status, &r.body);
        escaped("template preview", &r.body);
    }

    // 6. The web forms: every field of every form filled with each payload; the form comes back
    //    with messages, escaped, never a server error; nothing half-written.
    for t in RECORD_TYPES.iter().filter(|t| domain::forms::changeable(t.table)) {
        let before =
            body(&call(port, &token, "GET", &format!("/api/v1/records/{}?per_page=1", t.slug), None))["total"].clone();
        for p in [SCRIPT, ATTR, SQL, "-1", "9".repeat(40).as_str(), "2024-02-30", "\u{0}"] {
            let mut form = vec![("csrf".to_string(), csrf.clone())];
            for f in domain::forms::form_fields(t) {
                form.push((f.name.to_string(), p.to_string()));
            }
            let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let r = b.post(&format!("/records/{}/new", t.slug), &pairs);
            let what = format!("form {} = {p}", t.slug);
            no_server_error(&what, r.status, &r.body);
            escaped(&what, &r.body);
            assert!(r.status == 422 || r.status == 303, "{what}: {}", r.status);
            if r.status == 303 {
                // Accepted as text everywhere: then it reads back escaped too.
                let loc = r.header("location").expect("location").to_string();
                escaped(&what, &b.get(&loc).body);
                let dcsrf = b.get(&loc).hidden("csrf");
                assert_eq!(b.post(&format!("{loc}/delete"), &[("csrf", &dcsrf)]).status, 303);
            }
        }
        let after =
            body(&call(port, &token, "GET", &format!("/api/v1/records/{}?per_page=1", t.slug), None))["total"].clone();
        assert_eq!(before, after, "{}: no refused form wrote anything", t.slug);
    }

    // 7. URL parameters and path segments: never a server error, never echoed as markup.
    let mut paths = vec![
        format!("/figures/{}", urlencode(SCRIPT)),
        format!("/figures/drill?source={}&measure={}&f={}", urlencode(SCRIPT), urlencode(SQL), urlencode(ATTR)),
        format!("/reports/{}", urlencode(SCRIPT)),
        format!("/records/{}", urlencode(SCRIPT)),
        format!("/records/projects/{}", urlencode(SQL)),
        format!("/records/projects?sort={}&page={}&per_page=-5", urlencode(SQL), urlencode(SQL_OR)),
        format!("/?year={}&place={}", urlencode(SQL), urlencode(SCRIPT)),
        format!("/audit?q={}&action={}", urlencode(SCRIPT), urlencode(SQL)),
    ];
    for t in RECORD_TYPES {
        for f in t.fields.iter().filter(|f| f.filter) {
            paths.push(format!("/records/{}?{}={}", t.slug, f.name, urlencode(SCRIPT)));
            paths.push(format!("/records/{}?{}={}", t.slug, f.name, urlencode(SQL)));
        }
    }
    for p in &paths {
        let r = if p.starts_with("/audit") { aud.get(p) } else { b.get(p) };
        no_server_error(p, r.status, &r.body);
        escaped(p, &r.body);
    }
    for p in [
        format!("/api/v1/records/projects?sort={}&q={}", urlencode(SQL), urlencode(SCRIPT)),
        format!("/api/v1/records/projects?{}=1", urlencode(SQL)),
        format!("/api/v1/breakdown?by={}&source=activities", urlencode(SQL)),
        format!("/api/v1/records/projects/{}", urlencode(SQL_OR)),
        format!("/api/v1/figures/{}/records", urlencode(SCRIPT)),
        "/api/v1/records/projects?per_page=99999999999999999999&page=-1".to_string(),
    ] {
        let r = call(port, &token, "GET", &p, None);
        no_server_error(&p, r.status, &r.body);
        assert!(r.header("content-type").is_some_and(|c| c.starts_with("application/json")), "{p}");
        body(&r);
    }

    // 8. Invalid UTF-8: in a form body, a JSON body, a query string and an upload: 4xx, a message.
    let cookie = cookies(&b);
    let mut form = format!("csrf={}&name=", urlencode(&csrf)).into_bytes();
    form.extend_from_slice(b"\xff\xfe\xc3(");
    let (s, text) = raw(
        port,
        &format!("POST /records/brands/new HTTP/1.1\nHost: 127.0.0.1\nCookie: {cookie}\nContent-Type: application/x-www-form-urlencoded\n"),
        &form,
    );
    assert!((400..500).contains(&s), "invalid UTF-8 in a form: {s} {text}");
    let (s, text) = raw(
        port,
        &format!("POST /api/v1/records/brands HTTP/1.1\nHost: 127.0.0.1\nAuthorization: Bearer {token}\nContent-Type: application/json\n"),
        b"{\"code\":\"x\",\"name\":\"\xff\xfe\"}",
    );
    assert!((400..500).contains(&s) && text.contains("\"error\""), "invalid UTF-8 in JSON: {s} {text}");
    let (s, text) =
        raw(port, &format!("GET /records/projects?q=%FF%FE HTTP/1.1\nHost: 127.0.0.1\nCookie: {cookie}\n"), b"");
    assert!(s < 500, "invalid UTF-8 in a query: {s} {text}");
    let (s, text) = raw(
        port,
        &format!("GET /api/v1/records/projects?q=%FF%FE HTTP/1.1\nHost: 127.0.0.1\nAuthorization: Bearer {token}\n"),
        b"",
    );
    assert!(s < 500, "invalid UTF-8 in an API query: {s} {text}");

    // 9. Upload file names with path tricks are never used as paths; invalid bytes get a message.
    let before = body(&call(port, &token, "GET", "/api/v1/records/brands?per_page=1", None))["total"].clone();
    for name in
        ["../../../../tmp/counterpart-evil.csv", "..\\..\\evil.xlsx", "/etc/passwd", "a\u{0}.csv", "<script>.csv"]
    {
        let boundary = "----hostile-boundary";
        let mut body_bytes = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: text/csv\r\n\r\n"
        )
        .into_bytes();
        body_bytes.extend_from_slice(b"\xff\xfe\x00\x01garbage\xc3(\r\n\x00\x00");
        body_bytes.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let (s, text) = raw(
            port,
            &format!(
                "POST /records/brands/import HTTP/1.1\nHost: 127.0.0.1\nCookie: {cookie}\nContent-Type: multipart/form-data; boundary={boundary}\n"
            ),
            &body_bytes,
        );
        assert!((400..500).contains(&s), "upload named {name}: {s} {}", text.chars().take(300).collect::<String>());
        escaped(&format!("upload named {name}"), &text);
    }
    assert!(!std::path::Path::new("/tmp/counterpart-evil.csv").exists());
    let after = body(&call(port, &token, "GET", "/api/v1/records/brands?per_page=1", None))["total"].clone();
    assert_eq!(before, after, "no refused upload wrote anything");
    for p in [
        "/reports/generated/..%2F..%2Fcounterpart.key",
        "/reports/generated/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/reports/generated/..%5c..%5ccounterpart.key.docx",
        "/imports/..%2F..%2Fetc%2Fpasswd/errors.xlsx",
        "/assets/..%2F..%2FCargo.toml",
        "/records/../../etc/passwd",
    ] {
        let r = b.get(p);
        assert!((400..500).contains(&r.status), "{p}: {}", r.status);
        assert!(!r.body.contains("root:x:0:0") && !r.body.contains("[package]"), "{p} reached a file");
    }

    // 10. The login form takes hostile names and passwords like any wrong ones.
    let mut anon = Browser::new(port);
    for (name, password) in [(SCRIPT, SQL), (SQL_OR, SQL_OR), (RARE, ATTR)] {
        let page = anon.get("/login");
        let lcsrf = page.hidden("csrf");
        let r = anon.post("/login", &[("csrf", &lcsrf), ("name", name), ("password", password), ("next", SCRIPT)]);
        no_server_error("login", r.status, &r.body);
        assert_ne!(r.status, 303, "a hostile login does not sign in");
        escaped("login", &r.body);
    }

    // Nothing of this left the audit chain broken.
    let store = db.store().await;
    let report = store.audit_verify().await.expect("verify");
    assert!(report.broken.is_none(), "{report:?}");
    store.close().await;
}
both!(hostile_input_is_kept_escaped_neutralised_or_refused);
