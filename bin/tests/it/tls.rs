//! `serve --tls-cert/--tls-key`: the real binary over HTTPS with a certificate made at test time
//! (rustls client trusting only that certificate): pages served, plain HTTP refused on the port,
//! cookies `Secure` and HSTS; behind a gateway (`X-Forwarded-Proto: https`) the same; without
//! either, neither. Bad or missing certificate and key files stop the server with a message
//! naming the file. And `serve --max-upload-mb`: a body declared larger is refused with 413
//! before it is read; a chunked one is cut off at the limit with 413.

use crate::both;
use crate::http::{signed_in, Browser};
use crate::support::{cli, TestDb};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A self-signed certificate for localhost and 127.0.0.1, written as PEM files.
struct Cert {
    cert: PathBuf,
    key: PathBuf,
    der: Vec<u8>,
}

fn make_cert(dir: &Path, name: &str) -> Cert {
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_string(), "127.0.0.1".to_string()])
        .expect("self-signed certificate");
    let cert = dir.join(format!("{name}.crt"));
    let key = dir.join(format!("{name}.key"));
    std::fs::write(&cert, made.cert.pem()).unwrap();
    std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();
    Cert { cert, key, der: made.cert.der().to_vec() }
}

/// A running server, killed when dropped.
struct Server(std::process::Child);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// An HTTP/1.1 answer: status, headers, body.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn all(&self, name: &str) -> Vec<&str> {
        self.headers.iter().filter(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str()).collect()
    }
}

fn parse(buf: &[u8]) -> Option<Answer> {
    let split = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&buf[..split]).to_string();
    let mut lines = head.lines();
    let status = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let headers =
        lines.filter_map(|l| l.split_once(':').map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))).collect();
    Some(Answer { status, headers, body: String::from_utf8_lossy(&buf[split + 4..]).to_string() })
}

/// One request over HTTPS to 127.0.0.1:port, trusting only `der`, with `Connection: close`.
fn https(port: u16, der: &[u8], method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Option<Answer> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(rustls::pki_types::CertificateDer::from(der.to_vec())).ok()?;
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .ok()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from("localhost").ok()?;
    let conn = rustls::ClientConnection::new(Arc::new(config), name).ok()?;
    let tcp = TcpStream::connect(("127.0.0.1", port)).ok()?;
    tcp.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() {
        req.push_str(&format!("Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n", body.len()));
    }
    req.push_str("\r\n");
    req.push_str(body);
    tls.write_all(req.as_bytes()).ok()?;
    let mut buf = Vec::new();
    match tls.read_to_end(&mut buf) {
        Ok(_) => {}
        // A peer that closes without close_notify: what was read is the answer.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !buf.is_empty() => {}
        Err(_) => return None,
    }
    parse(&buf)
}

/// Start `serve` with extra arguments on a free port; waits until /healthz answers (over HTTPS
/// when `tls` is given). Returns the server, its port and the printed demo accounts.
fn start(db: &TestDb, demo: bool, extra: &[&str], tls: Option<&Cert>) -> (Server, u16, BTreeMap<String, String>) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr = format!("127.0.0.1:{port}");
    let mut c = cli(db);
    c.args(["serve", "--addr", &addr]).args(extra);
    if demo {
        c.arg("--demo");
    }
    if let Some(t) = tls {
        c.arg("--tls-cert").arg(&t.cert).arg("--tls-key").arg(&t.key);
    }
    let mut child = c.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let out = child.stdout.take().unwrap();
    let server = Server(child);
    let mut accounts = BTreeMap::new();
    let mut started = String::new();
    for line in BufReader::new(out).lines() {
        let line = line.unwrap();
        if line.contains("密码 ") {
            let w: Vec<&str> = line.split_whitespace().collect();
            accounts.insert(w[0].to_string(), w[w.len() - 1].to_string());
        }
        if line.contains("已启动") {
            started = line;
            break;
        }
    }
    let scheme = if tls.is_some() { "https://" } else { "http://" };
    assert!(started.contains(&format!("{scheme}{addr}/")), "the start line names the scheme: {started}");
    let t0 = Instant::now();
    loop {
        let up = match tls {
            Some(t) => https(port, &t.der, "GET", "/healthz", &[], "").is_some_and(|a| a.status == 200),
            None => Browser::new(port).try_request("GET", "/healthz", None).is_some_and(|r| r.status == 200),
        };
        if up {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(60), "server did not come up");
        std::thread::sleep(Duration::from_millis(100));
    }
    (server, port, accounts)
}

fn field(body: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = body.find(&marker).map(|i| i + marker.len()).unwrap_or_else(|| panic!("no {name} in {body}"));
    body[start..].split('"').next().unwrap_or_default().to_string()
}

/// Each `Set-Cookie` of an answer says `Secure` (or none does).
fn secure_cookies(a: &Answer) -> Vec<bool> {
    a.all("set-cookie").iter().map(|c| c.split(';').any(|p| p.trim().eq_ignore_ascii_case("secure"))).collect()
}

/// Over HTTPS: the login page, a sign-in whose session cookie is Secure, a signed-in page, HSTS
/// on every answer; plain HTTP on the same port gets no HTTP answer at all.
async fn https_serves_with_secure_cookies(db: &TestDb) {
    let cert = make_cert(db.dir.path(), "server");
    let mut add = cli(db)
        .args(["user", "add", "tls.viewer", "--role", "viewer"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    add.stdin.take().unwrap().write_all(b"Pamir#Tls-2026").unwrap();
    assert!(add.wait().unwrap().success());
    let (_server, port, _) = start(db, false, &[], Some(&cert));

    let page = https(port, &cert.der, "GET", "/login", &[], "").expect("the login page over HTTPS");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("name=\"password\""), "{}", page.body);
    assert_eq!(page.all("strict-transport-security"), vec!["max-age=31536000"]);
    let secure = secure_cookies(&page);
    assert!(!secure.is_empty() && secure.iter().all(|s| *s), "{:?}", page.all("set-cookie"));
    // A client that says it came over plain HTTP changes nothing: the server knows better.
    let lying = https(port, &cert.der, "GET", "/login", &[("X-Forwarded-Proto", "http")], "").unwrap();
    assert!(secure_cookies(&lying).iter().all(|s| *s), "{:?}", lying.all("set-cookie"));

    let csrf = field(&page.body, "csrf");
    let pre = page
        .all("set-cookie")
        .iter()
        .find(|c| c.starts_with("cp_pre="))
        .map(|c| c.split(';').next().unwrap().to_string())
        .unwrap();
    let form = format!("csrf={csrf}&name=tls.viewer&password=Pamir%23Tls-2026&next=%2F");
    let login = https(port, &cert.der, "POST", "/login", &[("Cookie", &pre)], &form).unwrap();
    assert_eq!(login.status, 303, "{}", login.body);
    let session = login.all("set-cookie").into_iter().find(|c| c.starts_with("cp_session=")).expect("a session cookie");
    assert!(session.contains("; Secure") && session.contains("HttpOnly"), "{session}");
    let cookie = session.split(';').next().unwrap().to_string();
    let pw = https(port, &cert.der, "GET", "/password", &[("Cookie", &cookie)], "").unwrap();
    assert_eq!(pw.status, 200, "signed in over HTTPS: {}", pw.body);
    assert_eq!(pw.all("strict-transport-security").len(), 1);

    // Plain HTTP to the HTTPS port: no HTTP answer.
    assert!(Browser::new(port).try_request("GET", "/login", None).is_none(), "plain HTTP must not be served");
    // A client that trusts another certificate refuses the server's.
    let other = make_cert(db.dir.path(), "other");
    assert!(https(port, &other.der, "GET", "/login", &[], "").is_none(), "the certificate is checked");
}
both!(https_serves_with_secure_cookies);

/// Plain HTTP: no Secure, no HSTS; behind a TLS gateway that sets `X-Forwarded-Proto: https`
/// (a 国密 TLCP gateway, say), Secure and HSTS.
async fn gateway_header_makes_cookies_secure(db: &TestDb) {
    let (_server, port, _) = start(db, false, &[], None);
    let plain = Browser::new(port).send("GET", "/login", &[], None).unwrap();
    assert_eq!(plain.status, 200);
    assert!(plain.header("strict-transport-security").is_none());
    let cookies: Vec<&String> =
        plain.headers.iter().filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie")).map(|(_, v)| v).collect();
    assert!(!cookies.is_empty() && cookies.iter().all(|c| !c.contains("Secure")), "{cookies:?}");
    let behind = Browser::new(port).send("GET", "/login", &[("X-Forwarded-Proto", "https")], None).unwrap();
    assert_eq!(behind.header("strict-transport-security"), Some("max-age=31536000"));
    let cookies: Vec<&String> =
        behind.headers.iter().filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie")).map(|(_, v)| v).collect();
    assert!(!cookies.is_empty() && cookies.iter().all(|c| c.contains("; Secure")), "{cookies:?}");
}
both!(gateway_header_makes_cookies_secure);

/// Run `serve` expecting it to stop by itself with an error: (success, stderr).
fn serve_fails(db: &TestDb, args: &[&std::ffi::OsStr]) -> (bool, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = cli(db)
        .args(["serve", "--addr", &format!("127.0.0.1:{port}")])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if t0.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("serve {args:?} did not stop");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    (status.success(), err)
}

/// A missing, empty, garbled or mismatched key or certificate, or one flag alone: the server does
/// not start, exits non-zero and names the file and what is wrong.
#[tokio::test]
async fn bad_tls_files_stop_the_server_with_a_message() {
    let db = TestDb::new(crate::support::Backend::Sqlite).await;
    let dir = db.dir.path();
    let good = make_cert(dir, "good");
    let other = make_cert(dir, "other");
    let missing = dir.join("no-such.key");
    let garbage = dir.join("garbage.key");
    std::fs::write(&garbage, "this is not a key\n").unwrap();
    let broken = dir.join("broken.crt");
    std::fs::write(&broken, "-----BEGIN CERTIFICATE-----\nMIIB\n").unwrap();
    let os = |p: &Path| p.as_os_str().to_owned();
    let flag = |f: &str| std::ffi::OsString::from(f);
    let cases: Vec<(Vec<std::ffi::OsString>, Vec<String>)> = vec![
        (
            vec![flag("--tls-cert"), os(&good.cert), flag("--tls-key"), os(&missing)],
            vec!["无法读取 TLS 私钥文件".into(), missing.display().to_string()],
        ),
        (
            vec![flag("--tls-cert"), os(&missing), flag("--tls-key"), os(&good.key)],
            vec!["无法读取 TLS 证书文件".into(), missing.display().to_string()],
        ),
        (
            vec![flag("--tls-cert"), os(&good.cert), flag("--tls-key"), os(&garbage)],
            vec!["没有 PEM 格式的私钥".into(), garbage.display().to_string()],
        ),
        (
            vec![flag("--tls-cert"), os(&garbage), flag("--tls-key"), os(&good.key)],
            vec!["没有 PEM 格式的证书".into(), garbage.display().to_string()],
        ),
        (
            vec![flag("--tls-cert"), os(&broken), flag("--tls-key"), os(&good.key)],
            vec!["不是有效的 PEM 文件".into(), broken.display().to_string()],
        ),
        (
            vec![flag("--tls-cert"), os(&good.cert), flag("--tls-key"), os(&other.key)],
            vec!["无法使用".into(), good.cert.display().to_string(), other.key.display().to_string()],
        ),
        (vec![flag("--tls-cert"), os(&good.cert)], vec!["没有 --tls-key".into()]),
        (vec![flag("--tls-key"), os(&good.key)], vec!["没有 --tls-cert".into()]),
        (vec![flag("--max-upload-mb"), flag("0")], vec!["--max-upload-mb 须在 1–4096 之间".into()]),
    ];
    for (args, expect) in cases {
        let refs: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
        let (ok, err) = serve_fails(&db, &refs);
        assert!(!ok, "{args:?} must fail");
        for e in expect {
            assert!(err.contains(&e), "{args:?}: the message names {e}: {err}");
        }
    }
    assert!(!dir.join("test.db").exists(), "the files are checked before the database is touched");
}

/// Send a request head and part of its body by hand; the answer (status, body) and how long it
/// took. Writes that fail because the server has answered and closed are expected.
fn raw(port: u16, head: &str, body: &[u8], chunked: bool) -> (Option<Answer>, Duration) {
    let t0 = Instant::now();
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(20))).unwrap();
    let _ = s.write_all(head.as_bytes());
    if chunked {
        for part in body.chunks(64 * 1024) {
            if s.write_all(format!("{:x}\r\n", part.len()).as_bytes()).is_err()
                || s.write_all(part).is_err()
                || s.write_all(b"\r\n").is_err()
            {
                break;
            }
        }
        let _ = s.write_all(b"0\r\n\r\n");
    } else {
        let _ = s.write_all(body);
    }
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        match s.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(_) => break,
        }
    }
    (parse(&buf), t0.elapsed())
}

/// A multipart form of the import page: the CSRF field and a file of `size` bytes.
fn multipart(csrf: &str, size: usize) -> (String, Vec<u8>) {
    let boundary = "----counterpart-tls-boundary";
    let mut body =
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n").into_bytes();
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"活动.csv\"\r\nContent-Type: text/csv\r\n\r\n")
            .as_bytes(),
    );
    let line = "讲座,义诊,,医疗,2025-03-05,,653022100001,,,,1,1\n";
    while body.len() < size {
        body.extend_from_slice(line.as_bytes());
    }
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// `serve --max-upload-mb 1`: a declared 10 GB body and a 2 MB import are refused with 413 at
/// once, naming the limit; a chunked 2 MB import is cut off with 413; under the limit an
/// upload is read and checked as always.
async fn uploads_over_the_limit_are_refused_early(db: &TestDb) {
    let (_server, port, accounts) = start(db, true, &["--max-upload-mb", "1"], None);
    let mut b = signed_in(port, &accounts, "demo.reporter", "Akto#Limit2026");
    let page = b.get("/records/activities/import");
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = page.hidden("csrf");
    let cookie = b.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
    let (ty, two_mb) = multipart(&csrf, 2 * 1024 * 1024);
    let head = |length: &str| {
        format!(
            "POST /records/activities/import HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nCookie: {cookie}\r\n\
             Content-Type: {ty}\r\n{length}\r\n"
        )
    };

    // Ten gigabytes declared, a kilobyte sent: the answer comes without waiting for the rest.
    let (a, took) = raw(port, &head("Content-Length: 10737418240\r\n"), &two_mb[..1024], false);
    let a = a.expect("an answer to the declared 10 GB");
    assert_eq!(a.status, 413, "{}", a.body);
    assert!(a.body.contains("超过上限 1 MB") && a.body.contains("10240 MB"), "{}", a.body);
    assert!(took < Duration::from_secs(10), "refused before the body: {took:?}");
    // The same with no session at all: the size is judged before anything else.
    let anon = format!(
        "POST /records/activities/import HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
         Content-Type: {ty}\r\nContent-Length: 10737418240\r\n\r\n"
    );
    let (a, took) = raw(port, &anon, b"x", false);
    assert_eq!(a.expect("an answer").status, 413);
    assert!(took < Duration::from_secs(10), "{took:?}");
    // And on the API, as JSON.
    let api = "POST /api/v1/records/activities HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
               Content-Type: application/json\r\nContent-Length: 5000000\r\n\r\n";
    let (a, _) = raw(port, api, b"{", false);
    let a = a.expect("an API answer");
    assert_eq!(a.status, 413);
    assert!(a.body.contains("\"error\"") && a.body.contains("超过上限 1 MB"), "{}", a.body);

    // The 2 MB import through the form, Content-Length declared: refused, nothing read.
    let (a, _) = raw(port, &head(&format!("Content-Length: {}\r\n", two_mb.len())), &two_mb, false);
    let a = a.expect("an answer to the 2 MB upload");
    assert_eq!(a.status, 413, "{}", a.body);
    assert!(a.body.contains("超过上限 1 MB"), "{}", a.body);
    assert!(a.body.contains("action=\"/logout\""), "a signed-in refusal keeps the navigation: {}", a.body);

    // Chunked, no length declared: read up to the limit, then cut off with 413.
    let (a, took) = raw(port, &head("Transfer-Encoding: chunked\r\n"), &two_mb, true);
    let a = a.expect("an answer to the chunked 2 MB upload");
    assert_eq!(a.status, 413, "{}", a.body);
    assert!(a.body.contains("超过上限 1 MB"), "{}", a.body);
    assert!(took < Duration::from_secs(20), "{took:?}");

    // Under the limit the file is read and checked (it has no header row: refused with 422).
    let (_, small) = multipart(&csrf, 20 * 1024);
    let (a, _) = raw(port, &head(&format!("Content-Length: {}\r\n", small.len())), &small, false);
    let a = a.expect("an answer to the small upload");
    assert_eq!(a.status, 422, "{}", a.body);
    assert!(!a.body.contains("超过上限"), "{}", a.body);
}
both!(uploads_over_the_limit_are_refused_early);
