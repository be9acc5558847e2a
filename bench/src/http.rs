//! A small HTTP/1.1 keep-alive client for the load: one connection per task, requests written
//! by hand and answers read to their end (Content-Length or chunked), so a measured request is
//! the server's work and the loopback, not a client library's.

use anyhow::{bail, Context};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// One request as the load repeats it.
#[derive(Debug, Clone)]
pub struct Req {
    pub method: &'static str,
    pub path: String,
    /// Extra header lines, each `Name: value`.
    pub headers: Vec<String>,
    pub body: Option<(String, Vec<u8>)>,
}

impl Req {
    pub fn get(path: impl Into<String>, headers: Vec<String>) -> Req {
        Req { method: "GET", path: path.into(), headers, body: None }
    }
    pub fn post_form(path: impl Into<String>, headers: Vec<String>, form: &str) -> Req {
        Req {
            method: "POST",
            path: path.into(),
            headers,
            body: Some(("application/x-www-form-urlencoded".into(), form.as_bytes().to_vec())),
        }
    }
    fn bytes(&self, host: &str) -> Vec<u8> {
        let mut s = format!("{} {} HTTP/1.1\r\nHost: {host}\r\nConnection: keep-alive\r\n", self.method, self.path);
        for h in &self.headers {
            s.push_str(h);
            s.push_str("\r\n");
        }
        let mut out = Vec::new();
        match &self.body {
            Some((ty, b)) => {
                s.push_str(&format!("Content-Type: {ty}\r\nContent-Length: {}\r\n\r\n", b.len()));
                out.extend_from_slice(s.as_bytes());
                out.extend_from_slice(b);
            }
            None => {
                s.push_str("\r\n");
                out.extend_from_slice(s.as_bytes());
            }
        }
        out
    }
}

/// An answer: status and body.
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Answer {
    /// 2xx, or the 303 of a form that was accepted.
    pub fn ok(&self) -> bool {
        (200..400).contains(&self.status)
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

pub struct Conn {
    addr: String,
    io: Option<BufReader<TcpStream>>,
}

impl Conn {
    pub fn new(addr: &str) -> Conn {
        Conn { addr: addr.to_string(), io: None }
    }

    /// Send one request; reconnects once when the kept connection was closed by the server.
    pub async fn send(&mut self, r: &Req) -> anyhow::Result<Answer> {
        let fresh = self.io.is_none();
        match self.try_send(r).await {
            Ok(a) => Ok(a),
            Err(_) if !fresh => {
                self.io = None;
                self.try_send(r).await
            }
            Err(e) => Err(e),
        }
    }

    async fn try_send(&mut self, r: &Req) -> anyhow::Result<Answer> {
        if self.io.is_none() {
            let s = TcpStream::connect(&self.addr).await.with_context(|| format!("connect {}", self.addr))?;
            s.set_nodelay(true)?;
            self.io = Some(BufReader::with_capacity(64 * 1024, s));
        }
        let io = self.io.as_mut().context("connection")?;
        io.get_mut().write_all(&r.bytes(&self.addr)).await?;
        let mut line = String::new();
        if io.read_line(&mut line).await? == 0 {
            bail!("connection closed");
        }
        let status: u16 = line.split_whitespace().nth(1).and_then(|s| s.parse().ok()).context("status line")?;
        let (mut length, mut chunked, mut close) = (None, false, false);
        loop {
            line.clear();
            if io.read_line(&mut line).await? == 0 {
                bail!("connection closed in the headers");
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
                match k.as_str() {
                    "content-length" => length = v.parse::<usize>().ok(),
                    "transfer-encoding" => chunked = v.eq_ignore_ascii_case("chunked"),
                    "connection" => close = v.eq_ignore_ascii_case("close"),
                    _ => {}
                }
            }
        }
        let mut body = Vec::new();
        if chunked {
            loop {
                line.clear();
                io.read_line(&mut line).await?;
                let n =
                    usize::from_str_radix(line.trim().split(';').next().unwrap_or("0"), 16).context("chunk size")?;
                let at = body.len();
                body.resize(at + n, 0);
                io.read_exact(&mut body[at..]).await?;
                let mut crlf = [0u8; 2];
                io.read_exact(&mut crlf).await?;
                if n == 0 {
                    break;
                }
            }
        } else if let Some(n) = length {
            body.resize(n, 0);
            io.read_exact(&mut body).await?;
        } else {
            io.read_to_end(&mut body).await?;
            close = true;
        }
        if close {
            self.io = None;
        }
        Ok(Answer { status, body })
    }
}
