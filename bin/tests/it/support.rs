//! Test databases: a real SQLite file in a temporary directory, or a fresh database on the real
//! PostgreSQL server (`COUNTERPART_TEST_PG`, default postgres://postgres@127.0.0.1:5432/test).
//! PostgreSQL is required: when it cannot be reached the PostgreSQL tests fail, they never skip.

use crate::http::Browser;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};
use store::{Crypto, DbUrl, Store};

pub const KEY: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestDb {
    pub url: String,
    pub dir: tempfile::TempDir,
    pg_name: Option<String>,
}

fn pg_admin_url() -> String {
    std::env::var("COUNTERPART_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

static N: AtomicU32 = AtomicU32::new(0);

impl TestDb {
    pub async fn new(b: Backend) -> TestDb {
        let dir = tempfile::tempdir().expect("temporary directory");
        match b {
            Backend::Sqlite => {
                let url = format!("sqlite://{}", dir.path().join("test.db").display());
                TestDb { url, dir, pg_name: None }
            }
            Backend::Postgres => {
                let name =
                    format!("cp_test_{}_{}_{}", std::process::id(), N.fetch_add(1, Ordering::SeqCst), rand_suffix());
                let admin = pg_admin_url();
                let mut conn = connect_pg(&admin).await;
                sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.expect("create test database");
                let base = admin.rsplit_once('/').map(|(b, _)| b.to_string()).expect("admin URL has a database");
                TestDb { url: format!("{base}/{name}"), dir, pg_name: Some(name) }
            }
        }
    }

    pub async fn store(&self) -> Store {
        Store::open(&DbUrl::parse(&self.url).expect("url"), Crypto::from_hex(KEY).expect("key"))
            .await
            .expect("open store")
    }
}

/// A PostgreSQL test database is dropped when its `TestDb` goes, whether the test passed or
/// panicked (on its own thread and runtime, since a destructor cannot await).
impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(name) = self.pg_name.take() else { return };
        let dropper = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
            rt.block_on(async {
                use sqlx::Connection;
                if let Ok(mut conn) = sqlx::PgConnection::connect(&pg_admin_url()).await {
                    let _ =
                        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut conn).await;
                }
            });
        });
        let _ = dropper.join();
    }
}

async fn connect_pg(url: &str) -> sqlx::PgConnection {
    use sqlx::Connection;
    match sqlx::PgConnection::connect(url).await {
        Ok(c) => c,
        Err(e) => panic!(
            "PostgreSQL is required for the conformance suite and could not be reached at {url}: {e}. \
             Start it (pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start) or set COUNTERPART_TEST_PG."
        ),
    }
}

fn rand_suffix() -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos() as u64).unwrap_or(0)
}

/// Run one async test body on SQLite and on PostgreSQL: `both!(name)` defines
/// `name::sqlite` and `name::postgres` for `async fn name(db: &TestDb)`.
#[macro_export]
macro_rules! both {
    ($name:ident) => {
        mod $name {
            use $crate::support::{Backend, TestDb};
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let db = TestDb::new(Backend::Sqlite).await;
                super::$name(&db).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let db = TestDb::new(Backend::Postgres).await;
                super::$name(&db).await;
            }
        }
    };
}

/// The `counterpart` binary under test, with the test key.
pub fn cli(db: &TestDb) -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_counterpart"));
    c.env("COUNTERPART_DB", &db.url).env("COUNTERPART_KEY", KEY).env("RUST_LOG", "warn").current_dir(db.dir.path());
    c
}

/// A running server, stopped when dropped.
pub struct Server(std::process::Child);
impl Server {
    /// SIGKILL: no shutdown, no flush, the way a power cut or the OOM killer ends a process.
    pub fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Start `serve --demo` on a free port; returns the server, its port and the printed accounts.
pub fn serve_demo(db: &TestDb) -> (Server, u16, BTreeMap<String, String>) {
    serve_demo_with(db, &[], &[])
}

/// [`serve_demo`] with more arguments and environment (a PACS, say).
pub fn serve_demo_with(db: &TestDb, extra: &[&str], env: &[(&str, &str)]) -> (Server, u16, BTreeMap<String, String>) {
    let (server, port, accounts) = start_with(db, true, extra, env);
    assert_eq!(
        accounts.len(),
        9,
        "serve --demo prints one account per role, the township and county reporters of the reporting cycle, and the imaging centre's expert"
    );
    (server, port, accounts)
}

/// Start `serve` on a free port over the database as it is; returns the server and its port.
pub fn serve(db: &TestDb) -> (Server, u16) {
    let (server, port, _) = start(db, false);
    (server, port)
}

/// Start `serve` on a free port with more arguments and environment (a PACS, say).
pub fn serve_with(db: &TestDb, extra: &[&str], env: &[(&str, &str)]) -> (Server, u16) {
    let (server, port, _) = start_with(db, false, extra, env);
    (server, port)
}

fn start(db: &TestDb, demo: bool) -> (Server, u16, BTreeMap<String, String>) {
    start_with(db, demo, &[], &[])
}

fn start_with(
    db: &TestDb,
    demo: bool,
    extra: &[&str],
    env: &[(&str, &str)],
) -> (Server, u16, BTreeMap<String, String>) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr = format!("127.0.0.1:{port}");
    let mut args = vec!["serve", "--addr", &addr];
    if demo {
        args.push("--demo");
    }
    args.extend_from_slice(extra);
    let mut cmd = cli(db);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.args(&args).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let out = child.stdout.take().unwrap();
    let server = Server(child);
    let mut accounts = BTreeMap::new();
    for line in BufReader::new(out).lines() {
        let line = line.unwrap();
        if line.contains("密码 ") {
            let w: Vec<&str> = line.split_whitespace().collect();
            accounts.insert(w[0].to_string(), w[w.len() - 1].to_string());
        }
        if line.contains("已启动") {
            break;
        }
    }
    let start = Instant::now();
    while Browser::new(port).try_request("GET", "/healthz", None).is_none() {
        assert!(start.elapsed() < Duration::from_secs(60), "server did not come up");
        std::thread::sleep(Duration::from_millis(100));
    }
    (server, port, accounts)
}
