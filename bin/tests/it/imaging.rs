//! The remote imaging centre against the real Orthanc (Debian's `orthanc`, which `./test`
//! installs): each test starts an Orthanc of its own on free loopback ports, sends it real DICOM
//! files from the `pydicom` wheel (CT_small.dcm, MR_small.dcm, and chrX2.dcm, whose patient name
//! is GB18030 Chinese), and Counterpart learns of the studies from Orthanc's change feed alone.
//! Orthanc and pydicom are required: without them these tests fail, they never skip.

use crate::both;
use crate::support::{cli, TestDb};
use services::pacs::{sync, Orthanc, OrthancSettings};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const USER: &str = "cp";
pub const PASSWORD: &str = "cp-test-secret";

/// An Orthanc of the test's own, stopped when dropped.
pub struct TestOrthanc {
    child: Child,
    pub port: u16,
    pub url: String,
    _dir: tempfile::TempDir,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

fn orthanc_binary() -> PathBuf {
    if let Ok(p) = std::env::var("COUNTERPART_TEST_ORTHANC_BIN") {
        return p.into();
    }
    for p in ["/usr/sbin/Orthanc", "/usr/bin/Orthanc", "/usr/local/bin/Orthanc"] {
        if std::path::Path::new(p).exists() {
            return p.into();
        }
    }
    panic!("Orthanc is required for the imaging tests and is not installed: run ./test (it installs Debian's orthanc), or apt-get install orthanc")
}

/// A plugin of Orthanc (the web viewer, DICOMweb): required, like Orthanc itself.
fn plugin(file: &str, package: &str) -> PathBuf {
    for dir in ["/usr/share/orthanc/plugins", "/usr/lib/orthanc"] {
        let p = std::path::Path::new(dir).join(file);
        if p.exists() {
            return p;
        }
    }
    panic!("Orthanc's {file} is required for the imaging tests and is not installed: run ./test (it installs Debian's {package}), or apt-get install {package}")
}

impl TestOrthanc {
    /// Send DICOM files as one STOW-RS request (DICOMweb's store, as a modality or another PACS
    /// sends them); the HTTP status and the answer.
    pub fn stow(&self, files: &[Vec<u8>]) -> (u16, String) {
        use base64::Engine as _;
        let boundary = "CounterpartStowBoundary42";
        let mut body = Vec::new();
        for f in files {
            body.extend_from_slice(format!("--{boundary}\r\nContent-Type: application/dicom\r\n\r\n").as_bytes());
            body.extend_from_slice(f);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let auth = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
        let head = format!(
            "POST /dicom-web/studies HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nAuthorization: Basic {auth}\r\n\
             Content-Type: multipart/related; type=\"application/dicom\"; boundary={boundary}\r\n\
             Accept: application/dicom+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            self.port,
            body.len()
        );
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.port)).expect("connect to Orthanc");
        s.write_all(head.as_bytes()).and_then(|_| s.write_all(&body)).expect("send the STOW-RS request");
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        let status = out.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
        (status, out.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default())
    }
}

impl TestOrthanc {
    pub fn start() -> TestOrthanc {
        let dir = tempfile::tempdir().expect("temporary directory");
        let (port, dicom) = (free_port(), free_port());
        let config = serde_json::json!({
            "Name": "counterpart-test",
            "StorageDirectory": dir.path().join("db"),
            "IndexDirectory": dir.path().join("db"),
            // Orthanc's web viewer (Debian's orthanc-webviewer), which experts open through Counterpart.
            "Plugins": [plugin("libOrthancWebViewer.so", "orthanc-webviewer"), plugin("libOrthancDicomWeb.so", "orthanc-dicomweb")],
            "WebViewer": { "CachePath": dir.path().join("webviewer-cache") },
            // DICOMweb, for studies sent as a modality or another PACS would (STOW-RS).
            "DicomWeb": { "Enable": true, "Root": "/dicom-web/", "EnableWado": false, "Ssl": false },
            "HttpServerEnabled": true, "HttpPort": port,
            "RemoteAccessAllowed": false,
            "AuthenticationEnabled": true,
            "RegisteredUsers": { USER: PASSWORD },
            "DicomServerEnabled": true, "DicomAet": "CPTEST", "DicomPort": dicom,
            "StableAge": 1,
            "DefaultEncoding": "Utf8",
        });
        let path = dir.path().join("orthanc.json");
        std::fs::write(&path, config.to_string()).expect("write the Orthanc configuration");
        let log = std::fs::File::create(dir.path().join("orthanc.log")).expect("Orthanc's log");
        let child =
            Command::new(orthanc_binary()).arg(&path).stdout(Stdio::null()).stderr(log).spawn().expect("start Orthanc");
        let o = TestOrthanc { child, port, url: format!("http://127.0.0.1:{port}"), _dir: dir };
        let start = Instant::now();
        loop {
            if raw(port, "GET", "/system", Some(PASSWORD)).0 == 200 {
                return o;
            }
            assert!(start.elapsed() < Duration::from_secs(30), "Orthanc did not come up on port {port}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn client(&self, password: &str) -> Orthanc {
        Orthanc::new(&OrthancSettings {
            url: self.url.clone(),
            user: Some(USER.into()),
            password: Some(password.into()),
        })
        .expect("the test Orthanc's address")
    }
}

impl Drop for TestOrthanc {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(self.child.id().to_string()).status();
        let start = Instant::now();
        while matches!(self.child.try_wait(), Ok(None)) {
            if start.elapsed() > Duration::from_secs(10) {
                let _ = self.child.kill();
                let _ = self.child.wait();
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// One plain HTTP/1.1 request to Orthanc (for what Counterpart itself never asks: a deletion);
/// the status and the body.
fn raw(port: u16, method: &str, path: &str, password: Option<&str>) -> (u16, String) {
    use base64::Engine as _;
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else { return (0, String::new()) };
    let auth = password
        .map(|p| {
            format!(
                "Authorization: Basic {}\r\n",
                base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{p}"))
            )
        })
        .unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{auth}Content-Length: 0\r\nConnection: close\r\n\r\n"
    );
    if s.write_all(req.as_bytes()).is_err() {
        return (0, String::new());
    }
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    let status = out.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = out.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    (status, body)
}

/// A DICOM file of the `pydicom` wheel (`test_files/…` or `charset_files/…`), found through
/// `COUNTERPART_TEST_PYDICOM` or the Python that has pydicom installed.
pub fn dicom(name: &str) -> Vec<u8> {
    let root = std::env::var("COUNTERPART_TEST_PYDICOM").ok().map(PathBuf::from).unwrap_or_else(|| {
        let out = Command::new("python3")
            .args(["-c", "import os, pydicom; print(os.path.dirname(pydicom.__file__))"])
            .output()
            .expect("python3 (for pydicom's test files)");
        assert!(
            out.status.success(),
            "pydicom is required for the imaging tests and is not installed: run ./test (it installs it from PyPI): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
    });
    let path = root.join("data").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("pydicom's {}: {e}", path.display()))
}

async fn imaging_studies_arrive_from_the_change_feed(db: &TestDb) {
    let pacs = TestOrthanc::start();
    let o = pacs.client(PASSWORD);
    let store = db.store().await;
    let actor = services::pacs::actor();
    assert_eq!(o.system().await.expect("Orthanc answers")["Name"], "counterpart-test");

    // Nothing yet: the feed is empty, nothing is written.
    let s = sync(&store, &o, &actor).await.expect("first read");
    assert_eq!((s.changes, s.created, s.cursor), (0, 0, 0));
    assert!(store.imaging_studies(10).await.unwrap().is_empty());

    // Three real studies arrive in the PACS, one of them with a GB18030 patient name.
    let mut uploaded = Vec::new();
    for f in ["test_files/CT_small.dcm", "test_files/MR_small.dcm", "charset_files/chrX2.dcm"] {
        let u = o.upload(&dicom(f)).await.expect("upload to Orthanc");
        assert_eq!(u.status, "Success", "{f}");
        uploaded.push(u.study);
    }
    uploaded.sort();
    uploaded.dedup();
    assert_eq!(uploaded.len(), 3, "three studies");

    let s = sync(&store, &o, &actor).await.expect("read after the uploads");
    assert_eq!(s.created, 3, "{s:?}");
    assert!(s.cursor > 0);
    assert_eq!(store.pacs_cursor().await.unwrap(), s.cursor);
    let studies = store.imaging_studies(10).await.unwrap();
    let mut ids: Vec<String> = studies.iter().map(|s| s.pacs_id.clone()).collect();
    ids.sort();
    assert_eq!(ids, uploaded);
    for st in &studies {
        assert_eq!((st.series_count, st.instance_count), (1, 1), "{st:?}");
        assert!(!st.study_uid.is_empty());
    }
    let modalities: std::collections::BTreeSet<&str> = studies.iter().map(|s| s.modalities.as_str()).collect();
    assert!(modalities.contains("CT") && modalities.contains("MR"), "{modalities:?}");

    // The PACS declares them stable (StableAge 1 s): each becomes complete, with its time.
    let start = Instant::now();
    loop {
        sync(&store, &o, &actor).await.expect("read while they settle");
        let studies = store.imaging_studies(10).await.unwrap();
        if studies.iter().all(|s| s.state == "complete") {
            assert!(studies.iter().all(|s| s.complete_at.is_some()));
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "studies never became complete: {studies:?}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // Read again: nothing new, nothing written (no audit entry either).
    let audited = store.audit_count().await.unwrap();
    let cursor = store.pacs_cursor().await.unwrap();
    let s = sync(&store, &o, &actor).await.expect("read with nothing new");
    assert_eq!((s.created, s.updated, s.deleted, s.changes), (0, 0, 0, 0), "{s:?}");
    assert_eq!(s.cursor, cursor);
    assert_eq!(store.audit_count().await.unwrap(), audited);
    let seen = store.audit_recent(100).await.unwrap();
    assert!(seen.iter().filter(|e| e.action == "pacs_study_seen").count() >= 6, "created and completed, audited");
    assert!(seen.iter().any(|e| e.action == "pacs_study_seen" && e.actor == "PACS 同步"));

    // The same file sent again is not a new study.
    let again = o.upload(&dicom("test_files/CT_small.dcm")).await.unwrap();
    assert_eq!(again.status, "AlreadyStored");

    // A wrong password is refused with a message that says so, and nothing moves.
    let wrong = pacs.client("not-the-password");
    let e = sync(&store, &wrong, &actor).await.expect_err("a wrong password is refused");
    assert!(e.to_string().contains("用户名和密码"), "{e}");
    assert_eq!(store.pacs_cursor().await.unwrap(), cursor);

    // A study removed from the PACS and sent again is the same study (Orthanc's id is a digest of
    // the patient and study UIDs), read again from the feed by the command line.
    let ct = studies.iter().find(|s| s.modalities == "CT").expect("the CT study").pacs_id.clone();
    assert_eq!(raw(pacs.port, "DELETE", &format!("/studies/{ct}"), Some(PASSWORD)).0, 200);
    let back = o.upload(&dicom("test_files/CT_small.dcm")).await.unwrap();
    assert_eq!((back.status.as_str(), back.study.as_str()), ("Success", ct.as_str()));
    let out = cli(db)
        .args(["pacs", "sync", "--orthanc-url", &pacs.url, "--orthanc-user", USER])
        .env("COUNTERPART_ORTHANC_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text} {}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("新检查 0 个") && text.contains("更新 1 个"), "{text}");
    assert_eq!(store.imaging_studies(10).await.unwrap().len(), 3);
    // Without an address, and with an address it cannot use, the command says what is wrong.
    let out = cli(db).args(["pacs", "sync"]).env_remove("COUNTERPART_ORTHANC_URL").output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--orthanc-url"));
    let out = cli(db).args(["pacs", "check", "--orthanc-url", "https://pacs.example"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("https"));
}
both!(imaging_studies_arrive_from_the_change_feed);
