//! Early warnings (预警), the daily digest, and the e-mail sender.
//!
//! [`warnings`] is the one place the rules of `domain::warnings` meet the data: the dashboard,
//! the warnings page, a project's page and the digest all call it, so a light never differs
//! between two screens. [`digest`] gives each user, once a day, a notification of the warnings,
//! overdue orders and reports due in their scope. [`Mailer`] sends notifications not yet
//! mailed to users with an address, over SMTP.

use crate::error::{Result, ServiceError};
use crate::figures::{judged, Scope};
use domain::projects::Schedule;
use domain::warnings::{Rule, Thresholds};
use domain::Date;
use serde::Serialize;
use store::figures::ProjectPlan;
use store::followups::NewNotice;
use store::Store;

/// One warning: its rule and light, what it is on, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Warning {
    #[serde(serialize_with = "rule_code")]
    pub rule: Rule,
    #[serde(serialize_with = "light_code")]
    pub light: Schedule,
    pub project: Option<ProjectRef>,
    /// The organization (id, code, name) and period of an unreported period.
    pub org: Option<(i64, String, String)>,
    pub period: Option<(i64, String)>,
    pub reason: String,
    /// The organization's path of an unreported period (a project's is read by the digest).
    #[serde(skip)]
    pub org_path: Option<String>,
}

fn rule_code<S: serde::Serializer>(r: &Rule, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(r.code())
}

fn light_code<S: serde::Serializer>(l: &Schedule, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(l.code())
}

#[derive(Debug, Clone, Serialize)]
pub struct ProjectRef {
    pub id: i64,
    pub code: String,
    pub name: String,
}

impl From<&ProjectPlan> for ProjectRef {
    fn from(p: &ProjectPlan) -> Self {
        ProjectRef { id: p.id, code: p.code.clone(), name: p.name.clone() }
    }
}

/// The warnings of a program on `today` in a scope (an organization's subtree, a place, a line
/// of work), red first, then by rule.
pub async fn warnings(store: &Store, program: i64, scope: &Scope, today: Date) -> Result<Vec<Warning>> {
    let t = store.warning_thresholds(program).await?;
    let (filters, _) = scope.filters("projects");
    // Only the projects that may be off schedule are read (every other one is green), and only
    // those whose funds are below the amber line: a warning is about now, not a period.
    let due = store.project_plans_due(Some(program), &filters, None, today, t.end_near_days).await?;
    let mut out = Vec::new();
    for f in judged(&t, today, due) {
        if f.light == Schedule::Green {
            continue;
        }
        let (_, rule, _, _) =
            domain::warnings::schedule(&t, today, &f.project.status, f.project.planned_start, f.project.planned_end);
        out.push(Warning {
            rule,
            light: f.light,
            project: Some(ProjectRef::from(&f.project)),
            org: None,
            period: None,
            org_path: None,
            reason: f.reason_zh.to_string(),
        });
    }
    let low = store.funds_below(program, today.year(), t.disbursed_amber_permille).await?;
    // A scope narrower than the program keeps the projects it selects.
    let within: Option<std::collections::HashSet<i64>> = if filters.is_empty() || low.is_empty() {
        None
    } else {
        Some(store.project_plans(Some(program), &filters, None).await?.into_iter().map(|p| p.id).collect())
    };
    for (p, planned, disbursed) in &low {
        if within.as_ref().is_some_and(|w| !w.contains(&p.id)) {
            continue;
        }
        if let Some((light, reason)) = domain::warnings::funds(&t, today, *planned, *disbursed) {
            out.push(Warning {
                rule: Rule::Disbursement,
                light,
                project: Some(ProjectRef::from(p)),
                org: None,
                period: None,
                org_path: None,
                reason: format!("{} 年{reason}", today.year()),
            });
        }
    }
    for u in store.unreported(program, today, scope.org.as_deref()).await? {
        out.push(Warning {
            rule: Rule::Unreported,
            light: Schedule::Red,
            project: None,
            reason: format!(
                "{} {} 报送截止 {}，{} 尚未报送",
                domain::reporting::kind_zh(&u.kind),
                u.code,
                u.deadline,
                u.org_name
            ),
            org: Some((u.org_id, u.org_code, u.org_name)),
            period: Some((u.period_id, u.code)),
            org_path: Some(u.org_path),
        });
    }
    out.extend(imaging(store, program, scope).await?);
    out.sort_by_key(|w| (w.light, w.rule));
    Ok(out)
}

/// The remote imaging centre's red lights, on the owning hospital: each request past its
/// turnaround target without a report, each critical result not told and read back within 30
/// minutes.
async fn imaging(store: &Store, program: i64, scope: &Scope) -> Result<Vec<Warning>> {
    use domain::imaging::{clock, target_for, Clock, CRITICAL_MINUTES};
    let (requests, criticals) = store.imaging_open(program, scope.org.as_deref()).await?;
    if requests.is_empty() && criticals.is_empty() {
        return Ok(Vec::new());
    }
    let now = chrono::Utc::now();
    let at = |s: &str| chrono::DateTime::parse_from_rfc3339(s).ok().map(|d| d.with_timezone(&chrono::Utc));
    let shown =
        |d: chrono::DateTime<chrono::Utc>| (d + chrono::Duration::hours(8)).format("%Y-%m-%d %H:%M").to_string();
    let targets = store.imaging_tat_targets().await?;
    let ids: Vec<i64> = requests.iter().map(|(r, _, _)| r.id).collect();
    let images = store.imaging_images(&ids).await?;
    let mut out = Vec::new();
    for (r, code, path) in requests {
        let Some(t) = target_for(&targets, &r.priority, &r.patient_source, &r.modality, &r.body_part, r.complex) else {
            continue;
        };
        let Some(asked) = at(&r.requested_at) else { continue };
        let complete = images.get(&r.id).and_then(|i| i.complete_at.as_deref()).and_then(at);
        if let Clock::Running { due, overdue: true, .. } = clock(asked, complete, None, t, now) {
            out.push(Warning {
                rule: Rule::ConsultOverdue,
                light: Schedule::Red,
                project: None,
                reason: format!(
                    "远程影像会诊 {}（{} · {} {}）超过报告时限“{}”，截止 {}，尚无正式报告",
                    r.id,
                    r.department,
                    r.modality,
                    r.exam,
                    t.name,
                    shown(due)
                ),
                org: Some((r.owner_org_id, code, r.owner)),
                period: None,
                org_path: Some(path),
            });
        }
    }
    for (c, code, path) in criticals {
        let Some(flagged) = at(&c.flagged_at) else { continue };
        let minutes = (now - flagged).num_minutes();
        if minutes > CRITICAL_MINUTES {
            out.push(Warning {
                rule: Rule::CriticalOverdue,
                light: Schedule::Red,
                project: None,
                reason: format!(
                    "危急值“{}”（远程影像会诊 {}，{}）标记已 {minutes} 分钟，尚未登记通知与回读",
                    c.finding, c.request_id, c.requesting_org
                ),
                org: Some((c.owner_org_id, code, c.owner)),
                period: None,
                org_path: Some(path),
            });
        }
    }
    Ok(out)
}

/// A project's light: the worst of its warnings (green with none), and the warnings.
pub async fn project_light(store: &Store, program: i64, project: i64, today: Date) -> Result<(Schedule, Vec<Warning>)> {
    let t = store.warning_thresholds(program).await?;
    let plan = store.project_plan(project).await?;
    let mut ws = Vec::new();
    let (light, rule, zh, _) =
        domain::warnings::schedule(&t, today, &plan.status, plan.planned_start, plan.planned_end);
    ws.push(Warning {
        rule,
        light,
        project: Some(ProjectRef::from(&plan)),
        org: None,
        period: None,
        org_path: None,
        reason: zh.to_string(),
    });
    let (planned, disbursed) = store.funds_of_project(project, today.year()).await?;
    if let Some((light, reason)) = domain::warnings::funds(&t, today, planned, disbursed) {
        ws.push(Warning {
            rule: Rule::Disbursement,
            light,
            project: Some(ProjectRef::from(&plan)),
            org: None,
            period: None,
            org_path: None,
            reason: format!("{} 年{reason}", today.year()),
        });
    }
    let worst = ws.iter().map(|w| w.light).min().unwrap_or(Schedule::Green);
    ws.retain(|w| w.light != Schedule::Green);
    Ok((worst, ws))
}

/// Counts of red and amber warnings.
pub fn tally(ws: &[Warning]) -> (usize, usize) {
    (ws.iter().filter(|w| w.light == Schedule::Red).count(), ws.iter().filter(|w| w.light == Schedule::Amber).count())
}

/// The thresholds in words, for the pages that show lights.
pub fn rules_zh(t: &Thresholds) -> String {
    format!(
        "{}{}报送期限过后未报送为红灯。远程影像会诊超过报告时限尚无正式报告、危急值标记 30 分钟后仍未登记通知与回读，为包科医院的红灯。",
        t.schedule_rule_zh(),
        t.funds_rule_zh()
    )
}

/// What the digest of a day gave.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Digested {
    pub users: usize,
    pub notified: usize,
}

/// The daily digest of `today`: each user who reads business data gets one notification of
/// the warnings, overdue orders and due reports in their scope (their organization's subtree;
/// a manager, or a user with none, all of the program), once per day however often this runs.
/// The warnings, orders and assignments are read once and sorted to the users by path; the
/// notifications are written in one transaction as `actor` (the system, or the manager who
/// asked for it).
pub async fn digest(store: &Store, program: i64, today: Date, actor: &domain::audit::Actor) -> Result<Digested> {
    let recipients = store.digest_recipients().await?;
    let all = warnings(store, program, &Scope::default(), today).await?;
    let paths = store.project_org_paths(program).await?;
    let path_of = |w: &Warning| -> Option<String> {
        match &w.project {
            Some(p) => paths.get(&p.id).cloned(),
            None => w.org_path.clone(),
        }
    };
    let placed: Vec<(Option<String>, &Warning)> = all.iter().map(|w| (path_of(w), w)).collect();
    let overdue: Vec<store::followups::OrderRow> =
        store.follow_ups(program, None).await?.into_iter().filter(|o| o.overdue(today) > 0).collect();
    let states = store.assignment_states(program, today).await?;
    let under = |path: &Option<String>, scope: Option<&str>| match (scope, path) {
        (None, _) => true,
        (Some(s), Some(p)) => p.starts_with(s),
        (Some(_), None) => false,
    };
    let mut out = Digested { users: recipients.len(), notified: 0 };
    let mut notes: Vec<(i64, String, String)> = Vec::new();
    for r in &recipients {
        // A manager's scope is the whole program (项目管理); everyone else's their organization's.
        let manager = r.role == domain::users::Role::Manager.code();
        let scope: Option<&str> = if manager { None } else { r.org.as_ref().map(|(_, _, p)| p.as_str()) };
        let ws: Vec<&Warning> = placed.iter().filter(|(p, _)| under(p, scope)).map(|(_, w)| *w).collect();
        let red = ws.iter().filter(|w| w.light == Schedule::Red).count();
        let amber = ws.iter().filter(|w| w.light == Schedule::Amber).count();
        // Overdue orders escalate: every manager is told of all of them.
        let mine: Vec<&store::followups::OrderRow> =
            overdue.iter().filter(|o| under(&Some(o.assignee_path.clone()), scope)).collect();
        let due = match &r.org {
            Some((_, _, path)) if !manager => states
                .iter()
                .filter(|(p, c)| {
                    p.starts_with(path.as_str())
                        && matches!(c, domain::reporting::Completeness::Due | domain::reporting::Completeness::Missing)
                })
                .count(),
            _ => 0,
        };
        if red + amber + mine.len() + due == 0 {
            continue;
        }
        let title = format!("{today} 预警摘要：红灯 {red} 项，黄灯 {amber} 项，逾期督办 {} 项", mine.len());
        let mut body: Vec<String> = ws
            .iter()
            .take(20)
            .map(|w| {
                let on = match (&w.project, &w.org) {
                    (Some(p), _) => format!("{} {}", p.code, p.name),
                    (None, Some((_, _, n))) => n.clone(),
                    _ => String::new(),
                };
                format!("【{}·{}】{on}：{}", w.light.zh(), w.rule.zh(), w.reason)
            })
            .collect();
        if ws.len() > 20 {
            body.push(format!("……另有 {} 项，见预警页面", ws.len() - 20));
        }
        body.extend(mine.iter().map(|o| format!("【逾期督办】{}：已逾期 {} 天", o.title, o.overdue(today))));
        if due > 0 {
            body.push(format!("【待报送】本单位及下级单位有 {due} 个统计期待报送或逾期未报"));
        }
        notes.push((r.user_id, title, body.join("\n")));
    }
    let dedupe = format!("digest:{today}");
    let batch: Vec<(i64, NewNotice<'_>)> = notes
        .iter()
        .map(|(user, title, body)| {
            (*user, NewNotice { kind: "digest", title, body, link: "/warnings", dedupe: Some(&dedupe) })
        })
        .collect();
    let mut tx = store.write(actor).await?;
    out.notified = tx.notify_each(&batch).await?;
    tx.commit().await?;
    Ok(out)
}

/// SMTP settings of the e-mail sender (plain SMTP to the intranet's relay, with optional
/// AUTH PLAIN).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub from: String,
    pub user: Option<String>,
    pub password: Option<String>,
    /// The address links in a mail point at (`https://counterpart.example`).
    pub base_url: String,
}

/// Sends notifications by e-mail.
pub struct Mailer {
    pub settings: SmtpSettings,
}

impl Mailer {
    /// Send the notifications not yet mailed to users with an address (at most `limit`, oldest
    /// first). Each the relay accepts is marked mailed; each it refuses for good (a 5xx reply,
    /// an address it cannot take) is marked with why and not tried again; a relay that cannot
    /// be reached or answers "try later" (4xx) stops the round, to be tried next time. Returns
    /// how many were sent.
    pub async fn send_pending(&self, store: &Store, limit: i64) -> Result<usize> {
        let mails = store.pending_mail(limit).await?;
        let (mut sent, mut refused, mut stopped) = (Vec::new(), Vec::new(), None);
        for m in &mails {
            let text = if m.link.is_empty() {
                m.body.clone()
            } else {
                format!("{}\n\n{}{}", m.body, self.settings.base_url.trim_end_matches('/'), m.link)
            };
            match smtp::send(&self.settings, &m.to, &m.title, &text).await {
                Ok(()) => sent.push(m.id),
                Err(smtp::SendError::Refused(why)) => refused.push((m.id, why)),
                Err(smtp::SendError::Later(why)) => {
                    stopped = Some(why);
                    break;
                }
            }
        }
        if !sent.is_empty() || !refused.is_empty() {
            let mut tx = store.write(&domain::audit::Actor::system()).await?;
            tx.mark_mailed(&sent, &refused).await?;
            tx.commit().await?;
        }
        match stopped {
            Some(e) if sent.is_empty() => Err(ServiceError::Exchange(format!("邮件发送失败：{e}"))),
            _ => Ok(sent.len()),
        }
    }
}

/// A small SMTP client (RFC 5321): EHLO, optional AUTH PLAIN, MAIL, RCPT, DATA, QUIT, with the
/// subject and body in UTF-8 (RFC 2047 subject, base64 body).
pub mod smtp {
    use super::SmtpSettings;
    use base64::Engine as _;
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    use tokio::net::TcpStream;

    /// Why a message was not sent: `Later` (the relay is unreachable, timed out or said 4xx:
    /// try again next round) or `Refused` (5xx, or an address no relay would take: never again).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum SendError {
        Later(String),
        Refused(String),
    }

    impl std::fmt::Display for SendError {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            match self {
                SendError::Later(m) | SendError::Refused(m) => f.write_str(m),
            }
        }
    }

    type Sent<T> = std::result::Result<T, SendError>;

    async fn reply(r: &mut BufReader<TcpStream>) -> Sent<(u16, String)> {
        reply_text(r).await.map_err(SendError::Later)
    }

    async fn reply_text(r: &mut BufReader<TcpStream>) -> std::result::Result<(u16, String), String> {
        let mut all = String::new();
        loop {
            let mut line = String::new();
            let n = tokio::time::timeout(std::time::Duration::from_secs(30), r.read_line(&mut line))
                .await
                .map_err(|_| "SMTP 服务器无响应".to_string())?
                .map_err(|e| e.to_string())?;
            if n == 0 {
                return Err("SMTP 连接被关闭".into());
            }
            all.push_str(&line);
            let b = line.as_bytes();
            if b.len() >= 4 && b[3] == b' ' || b.len() == 5 {
                let code =
                    line.get(..3).and_then(|c| c.parse().ok()).ok_or_else(|| format!("SMTP 应答无效：{line}"))?;
                return Ok((code, all));
            }
            if b.len() < 4 {
                return Err(format!("SMTP 应答无效：{line}"));
            }
        }
    }

    async fn command(r: &mut BufReader<TcpStream>, line: &str, expect: u16) -> Sent<()> {
        r.get_mut().write_all(format!("{line}\r\n").as_bytes()).await.map_err(|e| SendError::Later(e.to_string()))?;
        let (code, text) = reply(r).await?;
        if code / 100 != expect / 100 {
            let shown = if line.starts_with("AUTH") {
                "AUTH PLAIN …"
            } else if line.starts_with("From:") {
                "（邮件正文）"
            } else {
                line
            };
            let why = format!("{shown} → {}", text.trim());
            return Err(if code >= 500 { SendError::Refused(why) } else { SendError::Later(why) });
        }
        Ok(())
    }

    /// A header's text: ASCII as it is, anything else as RFC 2047 encoded words of at most 75
    /// characters each (whole characters, 45 bytes of UTF-8 at the most), folded onto lines of
    /// their own; line breaks never pass.
    pub fn header_text(s: &str) -> String {
        let s = s.replace(['\r', '\n'], " ");
        if s.is_ascii() {
            return s;
        }
        let mut words = Vec::new();
        let mut chunk = String::new();
        for c in s.chars() {
            if chunk.len() + c.len_utf8() > 45 {
                words.push(std::mem::take(&mut chunk));
            }
            chunk.push(c);
        }
        words.push(chunk);
        words
            .iter()
            .map(|w| format!("=?UTF-8?B?{}?=", base64::engine::general_purpose::STANDARD.encode(w)))
            .collect::<Vec<_>>()
            .join("\r\n ")
    }

    fn address(s: &str) -> Sent<&str> {
        let s = s.trim();
        if !domain::users::valid_email(s) {
            return Err(SendError::Refused(format!("邮件地址“{s}”无效")));
        }
        Ok(s)
    }

    /// Send one message.
    pub async fn send(cfg: &SmtpSettings, to: &str, subject: &str, body: &str) -> Sent<()> {
        // A bad sender is the configuration's fault, not the message's: try again once mended.
        let from = address(&cfg.from).map_err(|e| SendError::Later(e.to_string()))?;
        let to = address(to)?;
        let stream =
            tokio::time::timeout(std::time::Duration::from_secs(30), TcpStream::connect((cfg.host.as_str(), cfg.port)))
                .await
                .map_err(|_| SendError::Later(format!("连接 SMTP 服务器 {}:{} 超时", cfg.host, cfg.port)))?
                .map_err(|e| SendError::Later(format!("无法连接 SMTP 服务器 {}:{}：{e}", cfg.host, cfg.port)))?;
        let mut r = BufReader::new(stream);
        let (code, text) = reply(&mut r).await?;
        if code != 220 {
            return Err(SendError::Later(format!("SMTP 服务器拒绝连接：{}", text.trim())));
        }
        command(&mut r, "EHLO counterpart", 250).await?;
        if let (Some(u), Some(p)) = (&cfg.user, &cfg.password) {
            let token = base64::engine::general_purpose::STANDARD.encode(format!("\0{u}\0{p}"));
            command(&mut r, &format!("AUTH PLAIN {token}"), 235).await?;
        }
        command(&mut r, &format!("MAIL FROM:<{from}>"), 250).await?;
        command(&mut r, &format!("RCPT TO:<{to}>"), 250).await?;
        command(&mut r, "DATA", 354).await?;
        let date = chrono::Utc::now().to_rfc2822();
        let encoded = base64::engine::general_purpose::STANDARD.encode(body.as_bytes());
        let mut lines = String::new();
        for chunk in encoded.as_bytes().chunks(76) {
            lines.push_str(&String::from_utf8_lossy(chunk));
            lines.push_str("\r\n");
        }
        let id = {
            use rand::Rng;
            let n: u64 = rand::thread_rng().gen();
            format!("<{}.{n:016x}@counterpart>", chrono::Utc::now().timestamp())
        };
        let message = format!(
            "From: {from}\r\nTo: {to}\r\nSubject: {}\r\nDate: {date}\r\nMessage-ID: {id}\r\nMIME-Version: 1.0\r\n\
             Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{lines}.",
            header_text(subject)
        );
        command(&mut r, &message, 250).await?;
        // The message is accepted; a failed QUIT does not undo it.
        let _ = command(&mut r, "QUIT", 221).await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::smtp::header_text;

    #[test]
    fn long_subjects_become_short_encoded_words() {
        assert_eq!(header_text("ok\r\nBcc: x"), "ok  Bcc: x");
        let subject = "2026-12-03 预警摘要：红灯 12 项，黄灯 30 项，逾期督办 2 项，请及时处理并报送整改情况";
        let h = header_text(subject);
        let words: Vec<&str> = h.split("\r\n ").collect();
        assert!(words.len() > 1);
        use base64::Engine as _;
        let mut back = String::new();
        for w in &words {
            assert!(w.len() <= 75 && w.starts_with("=?UTF-8?B?") && w.ends_with("?="), "{w}");
            let b64 = &w[10..w.len() - 2];
            back.push_str(&String::from_utf8(base64::engine::general_purpose::STANDARD.decode(b64).unwrap()).unwrap());
        }
        assert_eq!(back, subject);
    }
}
