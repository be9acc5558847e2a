//! The one boundary to the PACS: Orthanc's REST API, spoken over HTTP/1.1 with Basic
//! authentication. Counterpart never holds pixel data; from the PACS it learns which studies have
//! arrived, what they hold and when they are complete, by reading the PACS's own change feed
//! (`/changes`), never from a person typing a UID.
//!
//! - [`Orthanc`]: the client (`/system`, `/changes`, `/studies/{id}` with its series and
//!   statistics, and `/instances` for an upload, which the tests and the demo use).
//! - [`sync`]: reads the feed from where the store says it stopped, records every study it names
//!   (created, updated, completed when the PACS declares it stable, marked deleted), and moves the
//!   store's position forward in the same transaction as the records, page by page.
//!
//! Another PACS (dcm4chee, a vendor's) would replace this module and nothing else.

use crate::{Result, ServiceError};
use base64::Engine as _;
use domain::audit::Actor;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use serde_json::Value;
use std::collections::BTreeSet;
use std::time::Duration;
use store::imaging::{Recorded, StudySeen};
use store::Store;

/// Where the PACS is and how to sign in to it.
#[derive(Debug, Clone)]
pub struct OrthancSettings {
    /// `http://host:port` with an optional path prefix (`http://10.1.2.3:8042/orthanc`).
    pub url: String,
    pub user: Option<String>,
    pub password: Option<String>,
}

/// An Orthanc server.
#[derive(Clone)]
pub struct Orthanc {
    host: String,
    port: u16,
    prefix: String,
    authorization: Option<String>,
    timeout: Duration,
}

impl std::fmt::Debug for Orthanc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the credentials.
        write!(f, "Orthanc(http://{}:{}{})", self.host, self.port, self.prefix)
    }
}

fn pacs(msg: impl Into<String>) -> ServiceError {
    ServiceError::Pacs(msg.into())
}

/// One page of the change feed.
#[derive(Debug, Clone)]
pub struct Changes {
    pub changes: Vec<Change>,
    /// The feed's position after this page.
    pub last: i64,
    /// No more changes after this page.
    pub done: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub seq: i64,
    /// NewStudy, StableStudy, Deleted, NewInstance, …
    pub kind: String,
    /// Patient, Study, Series or Instance.
    pub resource: String,
    pub id: String,
}

/// An answer of the PACS as it came: status, content type and body.
#[derive(Debug, Clone)]
pub struct Passed {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Bytes,
}

/// An instance stored by an upload.
#[derive(Debug, Clone)]
pub struct Uploaded {
    pub instance: String,
    pub study: String,
    /// `Success`, or `AlreadyStored` for the same instance sent again.
    pub status: String,
}

/// What one [`sync`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Synced {
    /// Changes read from the feed.
    pub changes: usize,
    pub created: usize,
    pub updated: usize,
    pub deleted: usize,
    /// The feed's position afterwards.
    pub cursor: i64,
}

impl Orthanc {
    pub fn new(s: &OrthancSettings) -> Result<Orthanc> {
        let url = s.url.trim();
        let rest = match url.strip_prefix("http://") {
            Some(r) => r,
            None if url.starts_with("https://") => {
                return Err(pacs(
                    "暂不支持 https:// 的 PACS 地址：请在内网以 http:// 访问 Orthanc，或在本机以反向代理转接",
                ))
            }
            None => return Err(pacs(format!("PACS 地址须以 http:// 开头，不能是“{url}”"))),
        };
        let (authority, prefix) = match rest.find('/') {
            Some(i) => (&rest[..i], rest[i..].trim_end_matches('/').to_string()),
            None => (rest, String::new()),
        };
        if authority.contains('@') {
            return Err(pacs("PACS 地址中不要写用户名和密码：请用 --orthanc-user 和 COUNTERPART_ORTHANC_PASSWORD"));
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) => (h, p.parse::<u16>().map_err(|_| pacs(format!("PACS 地址的端口“{p}”不是端口号")))?),
            None => (authority, 80),
        };
        if host.is_empty() || host.chars().any(|c| c.is_whitespace()) {
            return Err(pacs(format!("PACS 地址“{url}”没有主机名")));
        }
        let authorization = match (&s.user, &s.password) {
            (Some(u), p) if !u.is_empty() => Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{u}:{}", p.as_deref().unwrap_or("")))
            )),
            _ => None,
        };
        Ok(Orthanc {
            host: host.trim_start_matches('[').trim_end_matches(']').to_string(),
            port,
            prefix,
            authorization,
            timeout: Duration::from_secs(30),
        })
    }

    /// One request on a connection of its own; the answer's status, content type and body.
    async fn call(&self, method: &str, path: &str, body: Option<(&str, Vec<u8>)>) -> Result<Passed> {
        let work = async {
            let stream = tokio::net::TcpStream::connect((self.host.as_str(), self.port))
                .await
                .map_err(|e| pacs(format!("无法连接 PACS {}:{}：{e}", self.host, self.port)))?;
            let (mut sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .map_err(|e| pacs(format!("PACS 连接失败：{e}")))?;
            let driver = tokio::spawn(conn);
            let host = if self.port == 80 { self.host.clone() } else { format!("{}:{}", self.host, self.port) };
            let mut req = hyper::Request::builder()
                .method(method)
                .uri(format!("{}{path}", self.prefix))
                .header(hyper::header::HOST, host)
                .header(hyper::header::ACCEPT, "application/json");
            if let Some(a) = &self.authorization {
                req = req.header(hyper::header::AUTHORIZATION, a);
            }
            let bytes = match body {
                Some((ty, b)) => {
                    req = req.header(hyper::header::CONTENT_TYPE, ty);
                    Bytes::from(b)
                }
                None => Bytes::new(),
            };
            let req = req.body(Full::new(bytes)).map_err(|e| pacs(format!("PACS 请求无效：{e}")))?;
            let answer = sender.send_request(req).await.map_err(|e| pacs(format!("PACS 未答复：{e}")))?;
            let status = answer.status().as_u16();
            let content_type =
                answer.headers().get(hyper::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_string);
            let body = answer.into_body().collect().await.map_err(|e| pacs(format!("PACS 答复中断：{e}")))?.to_bytes();
            driver.abort();
            Ok::<_, ServiceError>(Passed { status, content_type, body })
        };
        tokio::time::timeout(self.timeout, work)
            .await
            .map_err(|_| pacs(format!("PACS {}:{} 在 {} 秒内未答复", self.host, self.port, self.timeout.as_secs())))?
    }

    async fn json(&self, method: &str, path: &str, body: Option<(&str, Vec<u8>)>) -> Result<Value> {
        self.json_or_none(method, path, body).await?.ok_or_else(|| pacs(format!("PACS 中没有 {path}")))
    }

    /// As [`Orthanc::json`], with `None` for a 404.
    async fn json_or_none(&self, method: &str, path: &str, body: Option<(&str, Vec<u8>)>) -> Result<Option<Value>> {
        let Passed { status, body: bytes, .. } = self.call(method, path, body).await?;
        match status {
            200..=299 => {}
            401 | 403 => return Err(pacs(format!("PACS 拒绝了本系统的账号（{status}）：请检查 PACS 用户名和密码"))),
            404 => return Ok(None),
            _ => {
                let text: String = String::from_utf8_lossy(&bytes).chars().take(200).collect();
                return Err(pacs(format!("PACS 对 {method} {path} 答复 {status}：{text}")));
            }
        }
        serde_json::from_slice(&bytes).map(Some).map_err(|e| pacs(format!("PACS 对 {path} 的答复不是 JSON：{e}")))
    }

    /// The server's own description (name, version); a check that it is there and lets us in.
    pub async fn system(&self) -> Result<Value> {
        self.json("GET", "/system", None).await
    }

    /// The change feed after `since`, at most `limit` changes.
    pub async fn changes(&self, since: i64, limit: u32) -> Result<Changes> {
        let v = self.json("GET", &format!("/changes?since={since}&limit={}", limit.clamp(1, 1000)), None).await?;
        let mut changes = Vec::new();
        for c in v["Changes"].as_array().into_iter().flatten() {
            let (Some(seq), Some(kind), Some(resource), Some(id)) =
                (c["Seq"].as_i64(), c["ChangeType"].as_str(), c["ResourceType"].as_str(), c["ID"].as_str())
            else {
                return Err(pacs(format!("PACS 变更记录缺少字段：{c}")));
            };
            changes.push(Change { seq, kind: kind.into(), resource: resource.into(), id: id.into() });
        }
        let last = v["Last"].as_i64().ok_or_else(|| pacs("PACS 变更记录没有 Last"))?;
        Ok(Changes { changes, last, done: v["Done"].as_bool().unwrap_or(true) })
    }

    /// A study as the PACS describes it: its main tags, its series' modalities and body parts,
    /// its counts; `None` when the PACS no longer has it.
    pub async fn study(&self, id: &str) -> Result<Option<StudySeen>> {
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
            return Err(pacs(format!("PACS 检查编号“{id}”无效")));
        }
        let Some(study) = self.json_or_none("GET", &format!("/studies/{id}"), None).await? else {
            return Ok(None);
        };
        let series = self.json("GET", &format!("/studies/{id}/series"), None).await?;
        let stats = self.json("GET", &format!("/studies/{id}/statistics"), None).await?;
        Ok(Some(seen(id, &study, &series, &stats)?))
    }

    /// The series of a study, each with its instances (Orthanc's ids): what a viewer link of a
    /// request may open. Empty when the PACS no longer has the study.
    pub async fn study_series(&self, id: &str) -> Result<Vec<(String, Vec<String>)>> {
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
            return Err(pacs(format!("PACS 检查编号“{id}”无效")));
        }
        let Some(series) = self.json_or_none("GET", &format!("/studies/{id}/series"), None).await? else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for s in series.as_array().into_iter().flatten() {
            let Some(sid) = s["ID"].as_str() else { continue };
            let instances =
                s["Instances"].as_array().into_iter().flatten().filter_map(|i| i.as_str()).map(str::to_string);
            out.push((sid.to_string(), instances.collect()));
        }
        Ok(out)
    }

    /// GET a path of the PACS as it answers it (the viewer's pages, scripts, slices and files,
    /// passed on by the web's viewer proxy after its own checks).
    pub async fn get(&self, path: &str) -> Result<Passed> {
        self.call("GET", path, None).await
    }

    /// Store one DICOM file (Orthanc's `/instances`).
    pub async fn upload(&self, dicom: &[u8]) -> Result<Uploaded> {
        let v = self.json("POST", "/instances", Some(("application/dicom", dicom.to_vec()))).await?;
        let field =
            |k: &str| v[k].as_str().map(str::to_string).ok_or_else(|| pacs(format!("PACS 存储答复缺少 {k}：{v}")));
        Ok(Uploaded { instance: field("ID")?, study: field("ParentStudy")?, status: field("Status")? })
    }
}

/// A DICOM DA value (YYYYMMDD) as an ISO date; `None` for anything else.
fn dicom_date(v: &str) -> Option<String> {
    let d = chrono::NaiveDate::parse_from_str(v.trim(), "%Y%m%d").ok()?;
    Some(d.format("%Y-%m-%d").to_string())
}

fn tag(v: &Value, name: &str) -> Option<String> {
    let s = v["MainDicomTags"][name].as_str()?.trim();
    (!s.is_empty()).then(|| s.chars().take(500).collect())
}

/// The study as recorded, from Orthanc's `/studies/{id}`, `/studies/{id}/series` and
/// `/studies/{id}/statistics`.
fn seen(id: &str, study: &Value, series: &Value, stats: &Value) -> Result<StudySeen> {
    let uid = tag(study, "StudyInstanceUID").ok_or_else(|| pacs(format!("PACS 检查 {id} 没有 StudyInstanceUID")))?;
    let mut modalities = BTreeSet::new();
    let mut parts = BTreeSet::new();
    for s in series.as_array().into_iter().flatten() {
        if let Some(m) = tag(s, "Modality") {
            modalities.insert(m.to_ascii_uppercase());
        }
        if let Some(b) = tag(s, "BodyPartExamined") {
            parts.insert(b.to_ascii_uppercase());
        }
    }
    let join = |s: BTreeSet<String>| s.into_iter().collect::<Vec<_>>().join(",");
    let count = |k: &str| -> Result<i64> {
        stats[k]
            .as_i64()
            .or_else(|| stats[k].as_str().and_then(|s| s.parse().ok()))
            .ok_or_else(|| pacs(format!("PACS 检查 {id} 的统计缺少 {k}")))
    };
    Ok(StudySeen {
        pacs_id: id.to_string(),
        study_uid: uid,
        accession: tag(study, "AccessionNumber"),
        study_date: tag(study, "StudyDate").and_then(|d| dicom_date(&d)),
        description: tag(study, "StudyDescription"),
        institution: tag(study, "InstitutionName"),
        modalities: join(modalities),
        body_parts: join(parts),
        series_count: count("CountSeries")?,
        instance_count: count("CountInstances")?,
        stable: study["IsStable"].as_bool().unwrap_or(false),
    })
}

/// Read the change feed from where the store stopped to its end, recording every study it names.
/// Each page is one transaction: its studies and the feed's new position together.
pub async fn sync(store: &Store, orthanc: &Orthanc, actor: &Actor) -> Result<Synced> {
    let mut out = Synced { cursor: store.pacs_cursor().await?, ..Synced::default() };
    loop {
        let page = orthanc.changes(out.cursor, 200).await?;
        out.changes += page.changes.len();
        // The studies this page names, each once; a deletion after a sighting in the same page wins.
        let mut studies: Vec<(String, bool)> = Vec::new();
        for c in &page.changes {
            if c.resource != "Study" {
                continue;
            }
            let deleted = c.kind == "Deleted";
            studies.retain(|(id, _)| id != &c.id);
            studies.push((c.id.clone(), deleted));
        }
        let mut described = Vec::new();
        for (id, deleted) in studies {
            let s = if deleted { None } else { orthanc.study(&id).await? };
            described.push((id, s));
        }
        let mut tx = store.write(actor).await?;
        for (id, s) in &described {
            match s {
                Some(s) => match tx.record_study(s).await? {
                    Recorded::Created => out.created += 1,
                    Recorded::Updated => out.updated += 1,
                    Recorded::Unchanged => {}
                },
                // Deleted, or gone again before it could be read.
                None => {
                    if tx.study_deleted(id).await? {
                        out.deleted += 1;
                    }
                }
            }
        }
        let next = page.last.max(out.cursor);
        tx.set_pacs_cursor(next).await?;
        tx.commit().await?;
        out.cursor = next;
        if page.done || page.changes.is_empty() {
            return Ok(out);
        }
    }
}

/// The actor the background reader records as.
pub fn actor() -> Actor {
    Actor { name: "PACS 同步".into(), ..Actor::system() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(url: &str) -> OrthancSettings {
        OrthancSettings { url: url.into(), user: Some("cp".into()), password: Some("s".into()) }
    }

    #[test]
    fn addresses() {
        let o = Orthanc::new(&settings("http://127.0.0.1:8042/orthanc/")).unwrap();
        assert_eq!((o.host.as_str(), o.port, o.prefix.as_str()), ("127.0.0.1", 8042, "/orthanc"));
        assert_eq!(o.authorization.as_deref(), Some("Basic Y3A6cw=="));
        assert!(!format!("{o:?}").contains("Y3A6"));
        let o = Orthanc::new(&settings("http://pacs.local")).unwrap();
        assert_eq!((o.host.as_str(), o.port), ("pacs.local", 80));
        for bad in ["https://pacs", "pacs:8042", "http://u:p@pacs:8042", "http://pacs:80x", "http://:8042", ""] {
            assert!(Orthanc::new(&settings(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn dates_and_tags() {
        assert_eq!(dicom_date("20040119").as_deref(), Some("2004-01-19"));
        assert_eq!(dicom_date("2004-01-19"), None);
        assert_eq!(dicom_date(""), None);
        let study = serde_json::json!({ "IsStable": true, "MainDicomTags": { "StudyInstanceUID": "1.2.3", "StudyDate": "20240701" } });
        let series = serde_json::json!([{ "MainDicomTags": { "Modality": "mr", "BodyPartExamined": "HEAD" } },
                                        { "MainDicomTags": { "Modality": "CT" } }, { "MainDicomTags": { "Modality": "MR" } }]);
        let stats = serde_json::json!({ "CountSeries": 3, "CountInstances": "7" });
        let s = seen("ab-cd", &study, &series, &stats).unwrap();
        assert_eq!((s.modalities.as_str(), s.body_parts.as_str()), ("CT,MR", "HEAD"));
        assert_eq!((s.series_count, s.instance_count, s.stable), (3, 7, true));
        assert_eq!(s.study_date.as_deref(), Some("2024-07-01"));
        assert!(seen("x", &serde_json::json!({}), &series, &stats).is_err());
    }
}
