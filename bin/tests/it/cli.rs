//! The command line and the HTTP server, as a user runs them.

use crate::support::{cli, Backend, TestDb};
use std::io::{Read, Write};
use std::process::Stdio;
use std::time::{Duration, Instant};

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

fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    write!(s, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").ok()?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).ok()?;
    let text = String::from_utf8_lossy(&buf).to_string();
    let status = text.split_whitespace().nth(1)?.parse().ok()?;
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    Some((status, body))
}

struct Server(std::process::Child);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn serve_demo_shows_the_headline_figures() {
    let db = TestDb::new(Backend::Sqlite).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr = format!("127.0.0.1:{port}");
    let _server = Server(
        cli(&db)
            .args(["serve", "--demo", "--addr", &addr])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let start = Instant::now();
    let health = loop {
        if let Some(r) = get(port, "/healthz") {
            break r;
        }
        assert!(start.elapsed() < Duration::from_secs(120), "server did not come up");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(health.0, 200);
    assert!(health.1.contains("\"ok\""), "{}", health.1);

    let (status, home) = get(port, "/").unwrap();
    assert_eq!(status, 200);
    assert!(home.contains("援疆干部人才总数") && home.contains(">777<"), "home page shows personnel.total");
    assert!(home.contains("href=\"/figures/med.cataract_surgeries\""));

    let (status, page) = get(port, "/figures/med.cataract_surgeries").unwrap();
    assert_eq!(status, 200);
    assert!(page.contains("312") && page.contains("activity_procedures"));

    let (status, body) = get(port, "/api/v1/figures").unwrap();
    assert_eq!(status, 200);
    let board: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(board["failed"], serde_json::json!([]), "no figure fails on the demo");
    let total = board["values"].as_array().unwrap().iter().find(|f| f["key"] == "personnel.total").unwrap();
    assert_eq!(total["value"], 777.0);
    assert_eq!(total["exact"]["num"], "777", "exact values travel as strings");
    let (status, _) = get(port, "/figures/no.such.figure").unwrap();
    assert_eq!(status, 404);
    let (status, css) = get(port, "/assets/app.css").unwrap();
    assert_eq!(status, 200);
    assert!(css.contains("--brand"));
}
