//! A small HTTP/1.1 client for the server tests: one connection per request, cookies kept like a
//! browser keeps them, forms posted URL-encoded. (The browser tests drive real Chromium.)

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::time::Duration;

pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    /// The id in the first link of the body to `prefix{id}`.
    pub fn first_id(&self, prefix: &str) -> String {
        let marker = format!("href=\"{prefix}");
        self.body
            .match_indices(&marker)
            .map(|(i, _)| self.body[i + marker.len()..].chars().take_while(char::is_ascii_digit).collect::<String>())
            .find(|id| !id.is_empty())
            .unwrap_or_else(|| panic!("no link {prefix}N"))
    }
    /// The number in `<strong class="total">N</strong>` (a list's count).
    pub fn total(&self) -> i64 {
        let marker = "<strong class=\"total\">";
        let start = self.body.find(marker).map(|i| i + marker.len()).expect("a list total");
        self.body[start..].chars().take_while(char::is_ascii_digit).collect::<String>().parse().expect("a number")
    }
    /// The text between the first `start` and the `end` after it.
    pub fn between(&self, start: &str, end: &str) -> String {
        self.all_between(start, end).into_iter().next().unwrap_or_else(|| panic!("no {start} in {}", self.body))
    }
    /// Every text between a `start` and the `end` after it.
    pub fn all_between(&self, start: &str, end: &str) -> Vec<String> {
        self.body
            .match_indices(start)
            .filter_map(|(i, _)| self.body[i + start.len()..].split(end).next().map(str::to_string))
            .collect()
    }
    /// The value of a hidden form field named `name` in the body.
    pub fn hidden(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self.body.find(&marker).map(|i| i + marker.len()).unwrap_or_else(|| panic!("no {name}"));
        self.body[start..].split('"').next().unwrap_or_default().to_string()
    }
}

/// A response whose body is bytes.
pub struct Download {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Download {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// A body in the chunked transfer coding, decoded.
fn dechunk(mut raw: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let end = raw.windows(2).position(|w| w == b"\r\n")?;
        let size = usize::from_str_radix(std::str::from_utf8(&raw[..end]).ok()?.split(';').next()?.trim(), 16).ok()?;
        raw = &raw[end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(raw.get(..size)?);
        raw = raw.get(size + 2..)?;
    }
}

pub struct Browser {
    pub port: u16,
    pub cookies: BTreeMap<String, String>,
}

pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn encode_form(f: &[(&str, &str)]) -> String {
    f.iter().map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v))).collect::<Vec<_>>().join("&")
}

impl Browser {
    pub fn new(port: u16) -> Browser {
        Browser { port, cookies: BTreeMap::new() }
    }

    pub fn try_request(&mut self, method: &str, path: &str, form: Option<&[(&str, &str)]>) -> Option<Response> {
        let body = form.map(encode_form);
        self.send(method, path, &[], body.as_ref().map(|b| ("application/x-www-form-urlencoded", b.as_str())))
    }

    /// A request with extra headers and a body of the given content type (the API's JSON).
    pub fn send(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<(&str, &str)>,
    ) -> Option<Response> {
        let d = self.exchange(method, path, headers, body.map(|(t, b)| (t, b.as_bytes())))?;
        Some(Response { status: d.status, headers: d.headers, body: String::from_utf8_lossy(&d.body).to_string() })
    }

    /// A request whose body is kept as bytes (a file download), the chunked transfer coding of a
    /// streamed body decoded.
    pub fn try_download(&mut self, method: &str, path: &str, form: Option<&[(&str, &str)]>) -> Option<Download> {
        let body = form.map(encode_form);
        self.exchange(method, path, &[], body.as_ref().map(|b| ("application/x-www-form-urlencoded", b.as_bytes())))
    }

    /// One request and its whole response, cookies kept.
    fn exchange(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<(&str, &[u8])>,
    ) -> Option<Download> {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(60))).ok()?;
        let cookie = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
        let mut req = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
        if !cookie.is_empty() {
            req.push_str(&format!("Cookie: {cookie}\r\n"));
        }
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        if let Some((content_type, b)) = body {
            req.push_str(&format!("Content-Type: {content_type}\r\nContent-Length: {}\r\n", b.len()));
        }
        req.push_str("\r\n");
        let mut bytes = req.into_bytes();
        bytes.extend_from_slice(body.map(|(_, b)| b).unwrap_or_default());
        s.write_all(&bytes).ok()?;
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).ok()?;
        let split = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
        let head = String::from_utf8_lossy(&buf[..split]).to_string();
        let raw = &buf[split + 4..];
        let mut lines = head.lines();
        let status = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':').map(|(k, v)| (k.trim().to_string(), v.trim().to_string())))
            .collect();
        for (k, v) in &headers {
            if k.eq_ignore_ascii_case("set-cookie") {
                let first = v.split(';').next().unwrap_or_default();
                if let Some((name, value)) = first.split_once('=') {
                    if value.is_empty() || v.contains("Max-Age=0") {
                        self.cookies.remove(name);
                    } else {
                        self.cookies.insert(name.to_string(), value.to_string());
                    }
                }
            }
        }
        let chunked = headers
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked"));
        let body = if chunked { dechunk(raw)? } else { raw.to_vec() };
        Some(Download { status, headers, body })
    }

    /// GET a file.
    pub fn download(&mut self, path: &str) -> Download {
        self.try_download("GET", path, None).unwrap_or_else(|| panic!("GET {path}"))
    }

    pub fn get(&mut self, path: &str) -> Response {
        self.try_request("GET", path, None).unwrap_or_else(|| panic!("GET {path}"))
    }

    pub fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Response {
        self.try_request("POST", path, Some(form)).unwrap_or_else(|| panic!("POST {path}"))
    }

    /// Sign in through the login form; returns the response to the form's post.
    pub fn password_login(&mut self, name: &str, password: &str) -> Response {
        let page = self.get("/login");
        assert_eq!(page.status, 200);
        let csrf = page.hidden("csrf");
        self.post("/login", &[("csrf", &csrf), ("name", name), ("password", password), ("next", "/")])
    }

    /// Sign in as a person would, the second factor included: the password form, then the code
    /// (computed from the secret this process enrolled) or, the first time for a role that
    /// requires it, the enrolment. Returns what the last step answered, so a test sees the same
    /// redirect (to `/password`, to `next`) or refusal as after a password-only sign-in.
    pub fn login(&mut self, name: &str, password: &str) -> Response {
        let r = self.password_login(name, password);
        self.second_factor(name, r)
    }

    /// Finish a sign-in whose password step answered `r`.
    pub fn second_factor(&mut self, name: &str, r: Response) -> Response {
        let to = r.header("location").unwrap_or_default().to_string();
        if r.status != 303 {
            return r;
        }
        if to.starts_with("/login/totp") {
            let csrf = self.get(&to).hidden("csrf");
            let code = next_code(self.port, name);
            return self.post("/login/totp", &[("csrf", &csrf), ("code", &code), ("next", "/")]);
        }
        if to.starts_with("/totp/enrol") {
            self.enrol(name);
            // The recovery page's "continue" leads to the password change or the start.
            return self.get("/");
        }
        r
    }

    /// Enrol the signed-in user `name` (the enrolment page is open to it); returns the
    /// recovery codes shown once.
    pub fn enrol(&mut self, name: &str) -> Vec<String> {
        let page = self.get("/totp/enrol");
        assert_eq!(page.status, 200, "{}", page.body);
        let secret = page.between("<code id=\"totp-secret\">", "</code>");
        let csrf = page.hidden("csrf");
        let key = domain::totp::base32_decode(&secret).expect("a base32 secret");
        SECRETS.lock().unwrap().insert((self.port, name.to_string()), (key, None));
        let code = next_code(self.port, name);
        let r = self.post("/totp/enrol", &[("csrf", &csrf), ("code", &code), ("next", "/")]);
        assert_eq!(r.status, 303, "enrolment of {name}: {}", r.body);
        let loc = r.header("location").unwrap_or_default().to_string();
        assert!(loc.starts_with("/totp/recovery"), "{loc}");
        let shown = self.get(&loc);
        assert_eq!(shown.status, 200);
        let codes = shown.all_between("<code class=\"recovery\">", "</code>");
        assert_eq!(codes.len(), 10, "ten recovery codes");
        codes
    }
}

type Secrets = std::sync::Mutex<BTreeMap<(u16, String), (Vec<u8>, Option<i64>)>>;
/// The TOTP secrets this test process enrolled, by server port and user, with the last step
/// whose code it sent (a code is good once, so the next one is for a later step).
static SECRETS: Secrets = std::sync::Mutex::new(BTreeMap::new());

/// The secret enrolled for `name` on the server at `port`.
pub fn secret_of(port: u16, name: &str) -> Option<Vec<u8>> {
    SECRETS.lock().unwrap().get(&(port, name.to_string())).map(|(k, _)| k.clone())
}

/// A code of `name`'s secret for a step later than the last one sent (waiting for the clock
/// when the window ahead is used up), noted as sent.
pub fn next_code(port: u16, name: &str) -> String {
    loop {
        let now = domain::totp::step_of(chrono::Utc::now().timestamp());
        let mut all = SECRETS.lock().unwrap();
        let (key, last) = all.get_mut(&(port, name.to_string())).unwrap_or_else(|| panic!("no secret for {name}"));
        let step = last.map_or(now, |l| (l + 1).max(now));
        if step <= now + domain::totp::WINDOW {
            *last = Some(step);
            return domain::totp::code_at_step(key, step);
        }
        drop(all);
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Sign in with a demo account's printed password and make the forced password change to `new`.
pub fn signed_in(port: u16, accounts: &std::collections::BTreeMap<String, String>, name: &str, new: &str) -> Browser {
    let mut b = Browser::new(port);
    assert_eq!(b.login(name, &accounts[name]).status, 303);
    let csrf = b.get("/password").hidden("csrf");
    let old = &accounts[name];
    let r = b.post("/password", &[("csrf", &csrf), ("old_password", old), ("new_password", new), ("confirm", new)]);
    assert_eq!(r.status, 303, "{name}");
    b
}
