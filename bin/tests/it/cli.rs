//! The command line and the HTTP server, as a user runs them.

use crate::http::Browser;
use crate::support::{cli, serve_demo, Backend, TestDb};
use std::io::Write;
use std::process::Stdio;

#[tokio::test]
async fn database_urls_are_checked() {
    let db = TestDb::new(Backend::Sqlite).await;
    for (url, says) in [
        ("counterpart.db", "不是数据库地址"),
        ("/tmp/x.db", "不是数据库地址"),
        ("mysql://localhost/x", "不支持的数据库类型"),
        ("sqlite://", "文件路径"),
    ] {
        let out = cli(&db).args(["--db", url, "migrate"]).output().unwrap();
        assert!(!out.status.success(), "{url} must be refused");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{url}: {err}");
    }
    assert!(!db.dir.path().join("counterpart.db").exists(), "no database was created for a bare path");
    // The default is sqlite://counterpart.db in the working directory, created on first use.
    let out = cli(&db).env_remove("COUNTERPART_DB").arg("migrate").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(db.dir.path().join("counterpart.db").exists());
}

fn user_add(db: &TestDb, args: &[&str], password: &str) -> std::process::Output {
    let mut child = cli(db)
        .args(["user", "add"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(password.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

#[tokio::test]
async fn users_are_added_with_a_password_from_stdin() {
    let db = TestDb::new(Backend::Sqlite).await;
    let out = user_add(&db, &["liming", "--role", "auditor"], "");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("标准输入"));
    let out = user_add(&db, &["liming", "--role", "auditor"], "password\n");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("密码"), "{}", String::from_utf8_lossy(&out.stderr));
    let out = user_add(&db, &["liming", "--role", "root"], "Kizilsu-2024\n");
    assert!(String::from_utf8_lossy(&out.stderr).contains("不是已知角色"));
    let out = user_add(&db, &["liming", "--role", "manager"], "Kizilsu-2024\n");
    assert!(String::from_utf8_lossy(&out.stderr).contains("所属单位"));
    let out = user_add(&db, &["liming", "--role", "auditor"], "Kizilsu-2024\n");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = user_add(&db, &["liming", "--role", "viewer"], "Kizilsu-2024\n");
    assert!(String::from_utf8_lossy(&out.stderr).contains("已存在"));

    let store = db.store().await;
    assert!(store.check_login("liming", "Kizilsu-2024").await.unwrap().is_some());
    assert!(store.check_login("liming", "kizilsu-2024").await.unwrap().is_none());
    let log = store.audit_recent(10).await.unwrap();
    assert!(log.iter().any(|e| e.object_type == "users" && e.action == "create"));
    assert!(!serde_json::to_string(&log).unwrap().contains("Kizilsu-2024"));
    store.close().await;
}

/// A figure's display value, as the API gives it.
fn board_value(b: &mut Browser, key: &str) -> String {
    let board: serde_json::Value = serde_json::from_str(&b.get("/api/v1/figures").body).unwrap();
    let f = board["values"].as_array().unwrap().iter().find(|f| f["key"] == key).unwrap();
    f["display"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn serve_demo_signs_in_and_shows_the_headline_figures() {
    let db = TestDb::new(Backend::Sqlite).await;
    let (_server, port, accounts) = serve_demo(&db);
    let mut b = Browser::new(port);
    let health = b.get("/healthz");
    assert_eq!(health.status, 200);
    assert!(health.body.contains("\"ok\""), "{}", health.body);
    let css = b.get("/assets/app.css");
    assert!(css.status == 200 && css.body.contains("--brand"));

    // Signed out: every page sends to the login form; the API answers 401.
    for path in ["/", "/figures/med.cataract_surgeries"] {
        let r = b.get(path);
        assert_eq!(r.status, 303, "{path}");
        assert!(r.header("location").unwrap().starts_with("/login?next="), "{path}");
    }
    assert_eq!(b.get("/api/v1/figures").status, 401);
    // A login post without the form's token is refused.
    let r = b.post("/login", &[("csrf", "forged"), ("name", "demo.manager"), ("password", &accounts["demo.manager"])]);
    assert_eq!(r.status, 403);
    let r = b.login("demo.manager", "wrong-password");
    assert_eq!(r.status, 401);
    assert!(r.body.contains("用户名或密码错误"));

    // The printed password works once; the first thing is a forced password change.
    // A manager enrols the second factor first (see twofactor.rs), then changes the password.
    let r = b.password_login("demo.manager", &accounts["demo.manager"]);
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), Some("/totp/enrol?next=%2F"));
    let set = r.headers.iter().find(|(k, v)| k.eq_ignore_ascii_case("set-cookie") && v.starts_with("cp_session="));
    let set = &set.expect("session cookie").1;
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Lax"), "{set}");
    let r = b.second_factor("demo.manager", r);
    assert_eq!(r.header("location"), Some("/password"));
    assert_eq!(b.get("/").header("location"), Some("/password"));
    let page = b.get("/password");
    let csrf = page.hidden("csrf");
    let r = b.post(
        "/password",
        &[
            ("csrf", "forged"),
            ("old_password", &accounts["demo.manager"]),
            ("new_password", "Akto#Pamir2025"),
            ("confirm", "Akto#Pamir2025"),
        ],
    );
    assert_eq!(r.status, 403, "a forged token is refused");
    let r = b.post(
        "/password",
        &[
            ("csrf", &csrf),
            ("old_password", &accounts["demo.manager"]),
            ("new_password", "short"),
            ("confirm", "short"),
        ],
    );
    assert_eq!(r.status, 422);
    assert!(r.body.contains("密码少于 8 位") && r.body.contains("规则"), "the message names the rule");
    let r = b.post(
        "/password",
        &[
            ("csrf", &csrf),
            ("old_password", &accounts["demo.manager"]),
            ("new_password", "Akto#Pamir2025"),
            ("confirm", "Akto#Pamir2025"),
        ],
    );
    assert_eq!(r.status, 303);

    let home = b.get("/");
    assert_eq!(home.status, 200);
    assert!(home.body.contains("援疆干部人才总数") && home.body.contains(">777<"), "home page shows personnel.total");
    assert!(home.body.contains("href=\"/figures/med.cataract_surgeries\""));
    // The dashboard's funds panel agrees with the headline figures: one engine, one number.
    let planned = board_value(&mut b, "funds.planned");
    let disbursed = board_value(&mut b, "funds.disbursed");
    assert!(home.body.contains("资金拨付率") && home.body.contains("完工率"));
    assert!(
        home.body.contains(&format!(">{planned}</a>")) && home.body.contains(&format!(">{disbursed}</a>")),
        "{planned} {disbursed}"
    );
    let page = b.get("/figures/med.cataract_surgeries");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("312") && page.body.contains("activity_procedures"));
    assert_eq!(b.get("/figures/no.such.figure").status, 404);
    let api = b.get("/api/v1/figures");
    assert_eq!(api.status, 200);
    let board: serde_json::Value = serde_json::from_str(&api.body).unwrap();
    assert_eq!(board["failed"], serde_json::json!([]), "no figure fails on the demo");
    let total = board["values"].as_array().unwrap().iter().find(|f| f["key"] == "personnel.total").unwrap();
    assert_eq!(total["value"], 777.0);
    assert_eq!(total["exact"]["num"], "777", "exact values travel as strings");

    // Records: the 66 flexible doctors, a department pairing of the county hospital and its
    // activities, each reached by links.
    let index = b.get("/records");
    assert!(index.status == 200 && index.body.contains("href=\"/records/people\""));
    let people = b.get("/records/people?category=flexible&line=medical&batch_id=&q=");
    assert_eq!(people.status, 200);
    assert_eq!(people.total(), 66, "the 66 flexible doctors");
    let pairings = b.get("/records/pairings?type_code=hospital_department");
    assert!(pairings.total() > 0);
    let pid = pairings.first_id("/records/pairings/");
    let pairing = b.get(&format!("/records/pairings/{pid}"));
    assert_eq!(pairing.status, 200);
    assert!(pairing.body.contains("修改历史") && pairing.body.contains("新建"), "the history shows the creation");
    let link = format!("/records/activities?pairing_id={pid}");
    assert!(pairing.body.contains(&format!("href=\"{link}\"")), "the pairing links to its activities");
    let acts = b.get(&link);
    assert_eq!(acts.status, 200);
    assert!(acts.total() > 0, "the pairing has activities");
    let bad = b.get("/records/people?category=nonsense");
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("援疆类别没有“nonsense”这一项"));
    assert_eq!(b.get("/records/no-such-type").status, 404);
    let teachers = b.get("/records/people?line=education&kind=aid");
    let outside = teachers.first_id("/records/people/");
    let all_people = b.get("/records/people").total();

    // Identifiers are masked; the front command may see one in clear, and that view is audited.
    let doc = b.get("/records/people?category=flexible");
    let pid = doc.first_id("/records/people/");
    let page = b.get(&format!("/records/people/{pid}"));
    assert!(page.body.contains("***********"), "the ID number is masked");
    let csrf_now = page.hidden("csrf");
    let clear = b.post(&format!("/records/people/{pid}/reveal"), &[("csrf", &csrf_now)]);
    assert_eq!(clear.status, 200);
    assert!(!clear.body.contains("****") && clear.body.contains("记入审计"));
    assert_eq!(b.post(&format!("/records/people/{pid}/reveal"), &[("csrf", "forged")]).status, 403);

    // Create, edit and delete a project through its forms; a project with funding cannot go.
    let form = b.get("/records/projects/new");
    assert_eq!(form.status, 200);
    let csrf = form.hidden("csrf");
    let fields = |code: &str, name: &str| {
        vec![
            ("csrf".to_string(), csrf.clone()),
            ("code".into(), code.into()),
            ("name".into(), name.into()),
            ("sector".into(), "education".into()),
            ("region_code".into(), "653022100".into()),
            ("planned_start".into(), "2025-03-01".into()),
            ("planned_end".into(), "2025-12-31".into()),
        ]
    };
    let as_refs = |v: &Vec<(String, String)>| v.iter().map(|(k, v)| (k.clone(), v.clone())).collect::<Vec<_>>();
    let post = |b: &mut Browser, path: &str, v: &Vec<(String, String)>| {
        let refs: Vec<(&str, &str)> = v.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        b.post(path, &refs)
    };
    let r = post(&mut b, "/records/projects/new", &as_refs(&fields("WEB-1", "网页新建项目")));
    assert_eq!(r.status, 303, "{}", r.body);
    let loc = r.header("location").unwrap().to_string();
    assert!(loc.starts_with("/records/projects/"));
    let edit = b.get(&format!("{loc}/edit"));
    assert!(edit.status == 200 && edit.body.contains("WEB-1"));
    let r = post(&mut b, &format!("{loc}/edit"), &as_refs(&fields("WEB-1", "网页修改后的项目")));
    assert_eq!(r.status, 303);
    let detail = b.get(&loc);
    assert!(
        detail.body.contains("网页修改后的项目") && detail.body.contains("<del>网页新建项目</del>"),
        "history shows the change"
    );
    let r = post(&mut b, "/records/projects/new", &as_refs(&fields("WEB-1", "重复编号")));
    assert_eq!(r.status, 422);
    assert!(r.body.contains("重复"), "a duplicate code is explained");
    let funded = b.get("/records/funding").first_id("/records/projects/");
    let r = b.post(&format!("/records/projects/{funded}/delete"), &[("csrf", &csrf)]);
    assert_eq!(r.status, 409);
    assert!(r.body.contains("不能删除"));
    let r = b.post(&format!("{loc}/delete"), &[("csrf", &csrf)]);
    assert_eq!(r.status, 303);
    assert_eq!(b.get(&loc).status, 404);

    // The English switch, remembered with the user.
    let csrf = home.hidden("csrf");
    assert_eq!(b.post("/lang", &[("csrf", &csrf), ("lang", "en"), ("next", "/")]).status, 303);
    let home = b.get("/");
    assert!(home.body.contains("<html lang=\"en\"") && home.body.contains("Dashboard"));
    // Logout ends the session on the server: the old cookie no longer works.
    let old = b.cookies.clone();
    assert_eq!(b.post("/logout", &[("csrf", &csrf)]).status, 303);
    let mut replay = Browser { port, cookies: old };
    assert_eq!(replay.get("/").status, 303);
    let r = b.login("demo.manager", "Akto#Pamir2025");
    assert_eq!(r.header("location"), Some("/"));
    assert!(b.get("/").body.contains("Dashboard"), "the language was remembered");

    // Five wrong passwords lock an account; then the right one fails too.
    let mut v = Browser::new(port);
    for _ in 0..4 {
        assert_eq!(v.login("demo.viewer", "Wrong#Pass1").status, 401);
    }
    let r = v.login("demo.viewer", "Wrong#Pass1");
    assert_eq!(r.status, 429);
    assert!(r.body.contains("账户已锁定"));
    assert_eq!(v.login("demo.viewer", &accounts["demo.viewer"]).status, 429);

    // A reporter of the county hospital sees its own records only; another organization's record
    // is not found, even by its URL, and the attempt is logged.
    let mut r = Browser::new(port);
    assert_eq!(r.login("demo.reporter", &accounts["demo.reporter"]).status, 303);
    let csrf = r.get("/password").hidden("csrf");
    let pw = &accounts["demo.reporter"];
    assert_eq!(
        r.post(
            "/password",
            &[("csrf", &csrf), ("old_password", pw), ("new_password", "Rep#Akto2025"), ("confirm", "Rep#Akto2025")]
        )
        .status,
        303
    );
    let form = r.get("/records/projects/new");
    let csrf = form.hidden("csrf");
    assert!(!form.body.contains("江西省人民政府"), "a reporter places records in its own tree only");
    let other_org = b
        .get(&format!("/records/organizations?q={}", crate::http::urlencode("克州第三中学")))
        .first_id("/records/organizations/");
    let mut v = vec![
        ("csrf", csrf.as_str()),
        ("code", "REP-1"),
        ("name", "填报员项目"),
        ("sector", "medical"),
        ("region_code", "653022100"),
        ("org_id", other_org.as_str()),
    ];
    let refused = r.post("/records/projects/new", &v);
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("填报员只能填报本单位及下级单位的记录"));
    let hosp = r
        .get(&format!("/records/organizations?q={}", crate::http::urlencode("阿克陶县人民医院")))
        .first_id("/records/organizations/");
    v[5] = ("org_id", hosp.as_str());
    assert_eq!(r.post("/records/projects/new", &v).status, 303, "within its own organization");
    let own = r.get("/records/people").first_id("/records/people/");
    let own_page = r.get(&format!("/records/people/{own}"));
    assert!(!own_page.body.contains("/reveal"), "a reporter is not offered the clear view");
    let csrf_r = own_page.hidden("csrf");
    assert_eq!(r.post(&format!("/records/people/{own}/reveal"), &[("csrf", &csrf_r)]).status, 403);
    let mine = r.get("/records/people").total();
    assert!(mine > 0 && mine < all_people, "{mine} of {all_people}");
    assert_eq!(r.get(&format!("/records/people/{outside}")).status, 404);
    assert_eq!(b.get(&format!("/records/people/{outside}")).status, 200, "the manager sees it");
    // A figure counts the whole program for everyone, but lists to a reporter only its own
    // organization's records behind it.
    let fig = r.get("/figures/personnel.total");
    assert_eq!(fig.total(), 777, "the count is the program's");
    let listed = fig.body.matches("href=\"/records/people/").count() / 2; // number and name link
    assert!(listed > 0 && listed < 777 && listed as i64 <= mine, "{listed} of the reporter's {mine} listed");
    assert!(
        fig.body.contains("计入数值但不列出") && !fig.body.contains(&format!("href=\"/records/people/{outside}\""))
    );
    let json = r.get("/api/v1/figures/personnel.total/records");
    assert!(!json.body.contains(&format!("\"id\":{outside},")), "nor in the API");
    let store = db.store().await;
    let log = store.audit_recent(20).await.unwrap();
    assert!(log.iter().any(|e| e.action == "read_denied"
        && e.actor == "demo.reporter"
        && e.object_id.map(|i| i.to_string()) == Some(outside.clone())));
    store.close().await;

    // The administrators see no business data; each does its own part, audited.
    let admin = |name: &str, new: &str| {
        let mut a = Browser::new(port);
        assert_eq!(a.login(name, &accounts[name]).status, 303);
        let csrf = a.get("/password").hidden("csrf");
        let pw = &accounts[name];
        let r = a.post("/password", &[("csrf", &csrf), ("old_password", pw), ("new_password", new), ("confirm", new)]);
        assert_eq!(r.status, 303, "{name}");
        a
    };
    let mut sys = admin("demo.sysadmin", "Sys#Admin2025");
    assert_eq!(sys.get("/").header("location"), Some("/admin"));
    assert_eq!(sys.get("/records/people").status, 403);
    assert_eq!(sys.get("/api/v1/figures").status, 403);
    assert_eq!(sys.get("/audit").status, 403);
    let page = sys.get("/admin");
    assert!(page.status == 200 && page.body.contains("新建用户") && !page.body.contains("登录策略"));
    let csrf = page.hidden("csrf");
    let weak = sys.post(
        "/admin/users",
        &[("csrf", &csrf), ("name", "wang.wu"), ("role", "viewer"), ("org", ""), ("password", "weak")],
    );
    assert_eq!(weak.status, 422);
    assert!(weak.body.contains("密码"));
    let ok = sys.post(
        "/admin/users",
        &[("csrf", &csrf), ("name", "wang.wu"), ("role", "viewer"), ("org", ""), ("password", "Leader#2025x")],
    );
    assert_eq!(ok.status, 303);
    // The viewer locked out above is unlocked by the system administrator.
    let page = sys.get("/admin");
    assert!(page.body.contains("锁定至"));
    let at = page.body.find("/unlock\"").expect("an unlock button");
    let start = page.body[..at].rfind('/').unwrap() + 1;
    let viewer_id = &page.body[start..at];
    assert_eq!(sys.post(&format!("/admin/users/{viewer_id}/unlock"), &[("csrf", &csrf)]).status, 303);
    assert_eq!(Browser::new(port).login("demo.viewer", &accounts["demo.viewer"]).status, 303, "unlocked");

    let mut sec = admin("demo.secadmin", "Sec#Admin2025");
    let page = sec.get("/admin");
    assert!(page.body.contains("登录策略") && !page.body.contains("新建用户"));
    let csrf = page.hidden("csrf");
    let bad = sec.post(
        "/admin/policy",
        &[("csrf", &csrf), ("lockout_attempts", "0"), ("lockout_minutes", "10"), ("idle_minutes", "30")],
    );
    assert_eq!(bad.status, 422);
    let ok = sec.post(
        "/admin/policy",
        &[("csrf", &csrf), ("lockout_attempts", "6"), ("lockout_minutes", "15"), ("idle_minutes", "20")],
    );
    assert_eq!(ok.status, 303);
    assert!(sec.get("/admin").body.contains("value=\"15\""));

    // The audit administrator reads all of it, filters it and exports it; nobody else can.
    let mut aud = admin("demo.auditor", "Aud#Admin2025");
    assert_eq!(aud.get("/").header("location"), Some("/audit"));
    let log = aud.get("/audit?action=read_denied");
    assert_eq!(log.status, 200);
    assert!(log.total() >= 1 && log.body.contains("demo.reporter"));
    let all = aud.get(&format!("/audit?actor={}", crate::http::urlencode("demo.secadmin"))).body;
    assert!(all.contains("系统设置") && all.contains("lockout_minutes"), "the policy change is in the log");
    assert!(aud.get("/audit?action=view_personal").total() >= 1, "the clear view is in the log");
    let csv = aud.get("/audit.csv?action=read_denied");
    assert_eq!(csv.status, 200);
    assert!(csv.header("content-type").unwrap().starts_with("text/csv"));
    assert!(
        csv.body.starts_with('\u{feff}') && csv.body.contains("越权访问被拒") && csv.body.contains("demo.reporter")
    );
    assert_eq!(sec.get("/audit").status, 403);
    assert_eq!(b.get("/audit").status, 403);
}
