//! Early warnings' inputs, follow-up orders (督办) and notifications (the bell) in the store.
//!
//! - Warning thresholds are a program setting (`settings`, `warning_thresholds:<program>`);
//!   the warnings are computed by `services::warnings` from what [`Store::funds_of_year`] and
//!   [`Store::unreported`] read.
//! - An order moves by [`domain::warnings::order_step`]: opened by a manager, answered by its
//!   assignee with evidence (files kept as base64 with their SM3 digest), closed or returned by
//!   a manager. Each step is audited and notifies the other side.
//! - A notification is a row per user; [`Tx::notify_org`] gives one to every user of an
//!   organization, once per `dedupe` key. Reading and mailing them are audited too.

use crate::error::{Result, StoreError};
use crate::figures::ProjectPlan;
use crate::{Store, Tx};
use base64::Engine as _;
use domain::reporting::Completeness;
use domain::warnings::{order_step, NewOrder, OrderAction, OrderState, Rule, Thresholds};
use domain::{Date, Fen};
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::HashMap;

/// The largest evidence file an answer takes.
pub const MAX_FILE_BYTES: usize = 5 * 1024 * 1024;
/// At most this many files per answer.
pub const MAX_FILES: usize = 10;

fn thresholds_key(program: i64) -> String {
    format!("warning_thresholds:{program}")
}

/// A period an organization has not reported by its deadline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unreported {
    pub period_id: i64,
    pub kind: String,
    pub code: String,
    pub deadline: String,
    pub org_id: i64,
    pub org_code: String,
    pub org_name: String,
    /// The organization's materialised path (what a scope's subtree is matched by).
    pub org_path: String,
}

/// What an order is raised against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Project(i64),
    /// A warning of a rule, on a project (schedule, funds) or on the assignee (unreported).
    Warning {
        rule: Rule,
        project: Option<i64>,
    },
    Org,
}

/// A follow-up order as the board and its page show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrderRow {
    pub id: i64,
    pub program_id: i64,
    pub target: String,
    pub project_id: Option<i64>,
    pub project: Option<String>,
    pub rule: Option<String>,
    pub assignee_org_id: i64,
    pub assignee: String,
    #[serde(skip)]
    pub assignee_path: String,
    pub title: String,
    pub requirement: String,
    pub due: String,
    pub state: String,
    pub answer: Option<String>,
    pub answered_on: Option<String>,
    pub return_reason: Option<String>,
    pub closed_on: Option<String>,
    pub opened_by: Option<i64>,
    pub opened_at: String,
}

impl OrderRow {
    pub fn state(&self) -> OrderState {
        OrderState::parse(&self.state).unwrap_or(OrderState::Open)
    }
    /// Days past due on `today` while not closed (an overdue order escalates).
    pub fn overdue(&self, today: Date) -> i64 {
        match (self.state(), Date::parse(&self.due)) {
            (OrderState::Closed, _) | (_, Err(_)) => 0,
            (_, Ok(due)) => domain::warnings::overdue_days(due, today),
        }
    }
}

/// An evidence file of an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileRow {
    pub id: i64,
    pub follow_up_id: i64,
    pub name: String,
    pub content_type: String,
    pub size: i64,
    pub sm3: String,
    pub uploaded_at: String,
}

/// A notification of the bell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notice {
    pub id: i64,
    pub kind: String,
    pub title: String,
    pub body: String,
    pub link: String,
    pub created_at: String,
    pub read: bool,
}

/// A notification to give: its kind (`due`, `returned`, `order`, `digest`), title, body, the
/// page it opens, and the key that keeps it from being given twice.
#[derive(Debug, Clone, Copy, Default)]
pub struct NewNotice<'a> {
    pub kind: &'a str,
    pub title: &'a str,
    pub body: &'a str,
    pub link: &'a str,
    pub dedupe: Option<&'a str>,
}

/// A notification waiting for the e-mail sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub id: i64,
    pub to: String,
    pub title: String,
    pub body: String,
    pub link: String,
}

const ORDER_SELECT: &str = "SELECT f.id, f.program_id, f.target, f.project_id, p.code || ' ' || p.name, f.rule, \
     f.assignee_org_id, o.name, f.title, f.requirement, f.due, f.state, f.answer, f.answered_on, f.return_reason, \
     f.closed_on, f.opened_by, f.opened_at, o.path FROM follow_ups f JOIN organizations o ON o.id = f.assignee_org_id \
     LEFT JOIN projects p ON p.id = f.project_id";

fn order_of(r: &sqlx::any::AnyRow) -> std::result::Result<OrderRow, sqlx::Error> {
    use sqlx::Row;
    Ok(OrderRow {
        id: r.try_get(0)?,
        program_id: r.try_get(1)?,
        target: r.try_get(2)?,
        project_id: r.try_get(3)?,
        project: r.try_get(4)?,
        rule: r.try_get(5)?,
        assignee_org_id: r.try_get(6)?,
        assignee: r.try_get(7)?,
        title: r.try_get(8)?,
        requirement: r.try_get(9)?,
        due: r.try_get(10)?,
        state: r.try_get(11)?,
        answer: r.try_get(12)?,
        answered_on: r.try_get(13)?,
        return_reason: r.try_get(14)?,
        closed_on: r.try_get(15)?,
        opened_by: r.try_get(16)?,
        opened_at: r.try_get(17)?,
        assignee_path: r.try_get(18)?,
    })
}

/// Whose orders an actor sees: `None` all, `Some(org)` that subtree's.
fn order_scope(actor: &domain::audit::Actor) -> Result<Option<i64>> {
    use domain::users::Role;
    match actor.role {
        Role::Manager => Ok(None),
        Role::Reporter | Role::Viewer => Ok(actor.org_id.map(|o| o.get())),
        _ => Err(StoreError::Forbidden("管理员账户不能查看督办事项".into())),
    }
}

const FILE_SELECT: &str = "SELECT id, follow_up_id, name, content_type, size, sha256, uploaded_at";
type FileTuple = (i64, i64, String, String, i64, String, String, String);

/// A file row and its stored data (empty where the list did not read it).
fn file_of((id, follow_up_id, name, content_type, size, sm3, uploaded_at, data): FileTuple) -> (FileRow, String) {
    (FileRow { id, follow_up_id, name, content_type, size, sm3, uploaded_at }, data)
}

const NOTICE_SELECT: &str = "SELECT id, kind, title, body, link, created_at, read_at FROM notifications";
type NoticeRow = (i64, String, String, String, String, String, Option<String>);

fn notice_of((id, kind, title, body, link, created_at, read_at): NoticeRow) -> Notice {
    Notice { id, kind, title, body, link, created_at, read: read_at.is_some() }
}

fn invalid(field: &str, label: &str, rule: &str, message: String) -> StoreError {
    StoreError::Invalid(domain::Invalids(vec![domain::Invalid::new(field, label, rule, message)]))
}

impl Store {
    /// A program's warning thresholds (the defaults until a manager sets them).
    pub async fn warning_thresholds(&self, program: i64) -> Result<Thresholds> {
        let v: Option<String> = sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
            .bind(thresholds_key(program))
            .fetch_optional(self.pool())
            .await?;
        match v {
            None => Ok(Thresholds::default()),
            Some(s) => serde_json::from_str(&s).map_err(|e| StoreError::Integrity(format!("预警阈值设置无效：{e}"))),
        }
    }

    /// A project's planned and disbursed funds of `year` (its funding lines summed).
    pub async fn funds_of_project(&self, project: i64, year: i32) -> Result<(Fen, Fen)> {
        let row: (Option<i64>, Option<i64>) = sqlx::query_as(
            "SELECT CAST(SUM(planned_fen) AS BIGINT), CAST(SUM(disbursed_fen) AS BIGINT) FROM project_funding \
             WHERE project_id = $1 AND year = $2",
        )
        .bind(project)
        .bind(i64::from(year))
        .fetch_one(self.pool())
        .await?;
        Ok((Fen(row.0.unwrap_or(0)), Fen(row.1.unwrap_or(0))))
    }

    /// The projects of a program whose funds of `year` are disbursed below `line` ‰ of plan:
    /// (project, planned, disbursed), compared exactly in SQL so that only those are read.
    pub async fn funds_below(&self, program: i64, year: i32, line: i64) -> Result<Vec<(ProjectPlan, Fen, Fen)>> {
        type Row = (i64, String, String, String, Option<String>, Option<String>, i64, i64);
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT p.id, p.code, p.name, p.status, p.planned_start, p.planned_end, \
             CAST(SUM(f.planned_fen) AS BIGINT), CAST(SUM(f.disbursed_fen) AS BIGINT) \
             FROM project_funding f JOIN projects p ON p.id = f.project_id \
             WHERE p.program_id = $1 AND f.year = $2 \
             GROUP BY p.id, p.code, p.name, p.status, p.planned_start, p.planned_end \
             HAVING SUM(f.planned_fen) > 0 AND SUM(f.disbursed_fen) * 1000 < SUM(f.planned_fen) * $3 ORDER BY p.id",
        )
        .bind(program)
        .bind(i64::from(year))
        .bind(line)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, code, name, status, start, end, planned, disbursed)| {
                (crate::figures::plan_of((id, code, name, status, start, end)), Fen(planned), Fen(disbursed))
            })
            .collect())
    }

    /// The periods whose deadline passed on `today` without a report from an assigned
    /// organization (of the subtree of `under`, an organization's code, when given).
    pub async fn unreported(&self, program: i64, today: Date, under: Option<&str>) -> Result<Vec<Unreported>> {
        let prefix: String = match under {
            Some(code) => {
                let path: Option<String> = sqlx::query_scalar("SELECT path FROM organizations WHERE code = $1")
                    .bind(code)
                    .fetch_optional(self.pool())
                    .await?;
                match path {
                    Some(p) => p,
                    None => return Ok(Vec::new()),
                }
            }
            None => String::new(),
        };
        type Row = (i64, String, String, String, i64, String, String, String);
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT p.id, p.kind, p.code, p.deadline, o.id, o.code, o.name, o.path FROM reporting_assignments ra \
             JOIN reporting_periods p ON p.id = ra.period_id JOIN organizations o ON o.id = ra.org_id \
             WHERE p.program_id = $1 AND ra.submitted_on IS NULL AND p.deadline < $2 AND o.path LIKE $3 \
             ORDER BY p.deadline, o.code",
        )
        .bind(program)
        .bind(today.to_string())
        .bind(format!("{prefix}%"))
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(period_id, kind, code, deadline, org_id, org_code, org_name, org_path)| Unreported {
                period_id,
                kind,
                code,
                deadline,
                org_id,
                org_code,
                org_name,
                org_path,
            })
            .collect())
    }

    /// The orders of a program, open ones first by due date; only those assigned to the subtree
    /// of `under` (an organization id) when given.
    pub async fn follow_ups(&self, program: i64, under: Option<i64>) -> Result<Vec<OrderRow>> {
        let rows = match under {
            None => {
                sqlx::query(&format!(
                    "{ORDER_SELECT} WHERE f.program_id = $1 ORDER BY (f.state = 'closed'), f.due, f.id"
                ))
                .bind(program)
                .fetch_all(self.pool())
                .await?
            }
            Some(org) => {
                sqlx::query(&format!(
                    "{ORDER_SELECT} JOIN organizations u ON u.id = $2 \
                     WHERE f.program_id = $1 AND o.path LIKE u.path || '%' ORDER BY (f.state = 'closed'), f.due, f.id"
                ))
                .bind(program)
                .bind(org)
                .fetch_all(self.pool())
                .await?
            }
        };
        Ok(rows.iter().map(order_of).collect::<std::result::Result<_, _>>()?)
    }

    /// The orders `actor` may see: a manager, or a reader with no organization, all of the
    /// program's; anyone else those assigned to its organization's subtree; the administrators
    /// none (refused).
    pub async fn follow_ups_for(&self, actor: &domain::audit::Actor, program: i64) -> Result<Vec<OrderRow>> {
        self.follow_ups(program, order_scope(actor)?).await
    }

    /// An order if `actor` may see it; "not found" (and the attempt audited) otherwise.
    pub async fn follow_up_for(&self, actor: &domain::audit::Actor, id: i64) -> Result<OrderRow> {
        let under = order_scope(actor)?;
        let o = self.follow_up(id).await?;
        let seen = match under {
            None => true,
            Some(org) => self.holds(org, o.assignee_org_id).await?,
        };
        if !seen {
            self.log_denied(actor, "follow_ups", id).await?;
            return Err(StoreError::NotFound { what: "督办事项", id: id.to_string() });
        }
        Ok(o)
    }

    /// An evidence file with its bytes, if `actor` may see its order.
    pub async fn follow_up_file_for(&self, actor: &domain::audit::Actor, id: i64) -> Result<(FileRow, Vec<u8>)> {
        let (f, bytes) = self.follow_up_file(id).await?;
        self.follow_up_for(actor, f.follow_up_id).await?;
        Ok((f, bytes))
    }

    /// Does `actor` answer for `org` — a writing user of it or of an organization above it who
    /// does not manage the program (a manager opens, closes and returns; it never answers)?
    pub async fn acts_for(&self, actor: &domain::audit::Actor, org: i64) -> Result<bool> {
        match actor.org_id {
            Some(own) if actor.role.writes_records() && !actor.role.manages_program() => {
                self.holds(own.get(), org).await
            }
            _ => Ok(false),
        }
    }

    /// Is `unit` `org` or below it?
    async fn holds(&self, org: i64, unit: i64) -> Result<bool> {
        let mut conn = self.pool().acquire().await?;
        crate::reporting::holds(&mut conn, org, unit).await
    }

    pub(crate) async fn follow_up(&self, id: i64) -> Result<OrderRow> {
        let row = sqlx::query(&format!("{ORDER_SELECT} WHERE f.id = $1")).bind(id).fetch_optional(self.pool()).await?;
        row.as_ref().map(order_of).transpose()?.ok_or(StoreError::NotFound { what: "督办事项", id: id.to_string() })
    }

    pub async fn follow_up_files(&self, id: i64) -> Result<Vec<FileRow>> {
        let rows: Vec<FileTuple> =
            sqlx::query_as(&format!("{FILE_SELECT}, '' FROM follow_up_files WHERE follow_up_id = $1 ORDER BY id"))
                .bind(id)
                .fetch_all(self.pool())
                .await?;
        Ok(rows.into_iter().map(|r| file_of(r).0).collect())
    }

    /// An evidence file with its bytes.
    pub(crate) async fn follow_up_file(&self, id: i64) -> Result<(FileRow, Vec<u8>)> {
        let row: Option<FileTuple> = sqlx::query_as(&format!("{FILE_SELECT}, data FROM follow_up_files WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        let (f, data) = file_of(row.ok_or(StoreError::NotFound { what: "附件", id: id.to_string() })?);
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(data.as_bytes())
            .map_err(|e| StoreError::Integrity(format!("附件 {id} 已损坏：{e}")))?;
        Ok((f, bytes))
    }

    /// A user's notifications, newest first.
    pub async fn notices(&self, user: i64, limit: i64) -> Result<Vec<Notice>> {
        let rows: Vec<NoticeRow> =
            sqlx::query_as(&format!("{NOTICE_SELECT} WHERE user_id = $1 ORDER BY id DESC LIMIT $2"))
                .bind(user)
                .bind(limit)
                .fetch_all(self.pool())
                .await?;
        Ok(rows.into_iter().map(notice_of).collect())
    }

    /// One of a user's notifications (none of anyone else's).
    pub async fn notice(&self, user: i64, id: i64) -> Result<Option<Notice>> {
        let row: Option<NoticeRow> = sqlx::query_as(&format!("{NOTICE_SELECT} WHERE id = $1 AND user_id = $2"))
            .bind(id)
            .bind(user)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(notice_of))
    }

    /// The ids of a user's unread notifications of these kinds (`imaging`, `critical`, …).
    pub async fn unread_of_kinds(&self, user: i64, kinds: &[&str]) -> Result<Vec<i64>> {
        let mut out = Vec::new();
        for k in kinds {
            let ids: Vec<i64> = sqlx::query_scalar(
                "SELECT id FROM notifications WHERE user_id = $1 AND kind = $2 AND read_at IS NULL ORDER BY id",
            )
            .bind(user)
            .bind(k.to_string())
            .fetch_all(self.pool())
            .await?;
            out.extend(ids);
        }
        Ok(out)
    }

    pub async fn unread_count(&self, user: i64) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM notifications WHERE user_id = $1 AND read_at IS NULL")
            .bind(user)
            .fetch_one(self.pool())
            .await?)
    }

    /// Notifications not yet mailed to users with an address, oldest first.
    pub async fn pending_mail(&self, limit: i64) -> Result<Vec<Mail>> {
        let rows: Vec<(i64, String, String, String, String)> = sqlx::query_as(
            "SELECT n.id, u.email, n.title, n.body, n.link FROM notifications n JOIN users u ON u.id = n.user_id \
             WHERE n.mail = 1 AND n.mailed_at IS NULL AND n.mail_error IS NULL AND u.email IS NOT NULL \
             AND u.email <> '' ORDER BY n.id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(|(id, to, title, body, link)| Mail { id, to, title, body, link }).collect())
    }
}

impl Tx<'_> {
    /// Set a program's warning thresholds (项目管理 only), audited with the old and new values.
    pub async fn set_warning_thresholds(&mut self, program: i64, t: &Thresholds) -> Result<()> {
        self.live()?;
        let r = async {
            if !self.actor.role.manages_program() {
                return Err(StoreError::Forbidden("预警阈值属于项目配置，只有“项目管理”角色可以修改".into()));
            }
            t.check().map_err(StoreError::Invalid)?;
            let key = thresholds_key(program);
            let before: Option<String> = sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
                .bind(&key)
                .fetch_optional(&mut *self.tx)
                .await?;
            let value = serde_json::to_string(t).map_err(|e| StoreError::Integrity(e.to_string()))?;
            sqlx::query("DELETE FROM settings WHERE key = $1").bind(&key).execute(&mut *self.tx).await?;
            sqlx::query("INSERT INTO settings (key, value) VALUES ($1, $2)")
                .bind(&key)
                .bind(&value)
                .execute(&mut *self.tx)
                .await?;
            let before = before.and_then(|b| serde_json::from_str::<Value>(&b).ok());
            self.audit_step("set_warning_thresholds", "settings", Some(program), before, serde_json::to_value(t).ok())
                .await
        }
        .await;
        self.note(r)
    }

    /// Open a follow-up order (项目管理 only) and notify the assignee's users.
    pub async fn open_follow_up(&mut self, program: i64, target: &Target, assignee: i64, o: &NewOrder) -> Result<i64> {
        self.live()?;
        let r = self.open_step(program, target, assignee, o).await;
        self.note(r)
    }

    async fn open_step(&mut self, program: i64, target: &Target, assignee: i64, o: &NewOrder) -> Result<i64> {
        if !self.actor.role.manages_program() {
            return Err(StoreError::Forbidden("只有“项目管理”角色可以下达督办".into()));
        }
        let (kind, project, rule) = match target {
            Target::Project(p) => ("project", Some(*p), None),
            Target::Warning { rule, project } => ("warning", *project, Some(rule.code())),
            Target::Org => ("org", None, None),
        };
        if let Some(p) = project {
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM projects WHERE id = $1 AND program_id = $2")
                .bind(p)
                .bind(program)
                .fetch_one(&mut *self.tx)
                .await?;
            if n == 0 {
                return Err(invalid("project_id", "督办项目", "存在", format!("项目 {p} 不存在或不属于本援疆工作")));
            }
        }
        let org: Option<String> = sqlx::query_scalar("SELECT name FROM organizations WHERE id = $1")
            .bind(assignee)
            .fetch_optional(&mut *self.tx)
            .await?;
        let Some(org) = org else {
            return Err(invalid("assignee_org_id", "承办单位", "存在", format!("单位 {assignee} 不存在")));
        };
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO follow_ups (program_id, target, project_id, rule, assignee_org_id, title, requirement, due, \
             state, opened_by, opened_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'open', $9, $10) RETURNING id",
        )
        .bind(program)
        .bind(kind)
        .bind(project)
        .bind(rule)
        .bind(assignee)
        .bind(&o.title)
        .bind(&o.requirement)
        .bind(o.due.to_string())
        .bind(self.actor.user_id.map(|u| u.get()))
        .bind(crate::write::now())
        .fetch_one(&mut *self.tx)
        .await
        .map_err(|e| crate::error::explain(e, "督办事项"))?;
        let after = self.row_json("follow_ups", id).await?.map(Value::Object);
        self.audit_step("open_follow_up", "follow_ups", Some(id), None, after).await?;
        let title = format!("督办：{}", o.title);
        let body = format!("承办单位：{org}；办结期限：{}。整改要求：{}", o.due, o.requirement);
        let link = format!("/followups/{id}");
        self.notify_org_step(
            assignee,
            &NewNotice { kind: "order", title: &title, body: &body, link: &link, dedupe: None },
        )
        .await?;
        Ok(id)
    }

    /// The assignee answers an order with its report and evidence files `(name, type, bytes)`.
    pub async fn answer_follow_up(&mut self, id: i64, answer: &str, files: &[(String, String, Vec<u8>)]) -> Result<()> {
        self.live()?;
        let r = self.answer_step(id, answer, files).await;
        self.note(r)
    }

    async fn lock_order(&mut self, id: i64) -> Result<(OrderRow, serde_json::Map<String, Value>)> {
        let lock = self.store.backend().lock_row();
        sqlx::query(&format!("SELECT id FROM follow_ups WHERE id = $1{lock}"))
            .bind(id)
            .fetch_optional(&mut *self.tx)
            .await?;
        let before = self
            .row_json("follow_ups", id)
            .await?
            .ok_or(StoreError::NotFound { what: "督办事项", id: id.to_string() })?;
        let row =
            sqlx::query(&format!("{ORDER_SELECT} WHERE f.id = $1")).bind(id).fetch_optional(&mut *self.tx).await?;
        let row = row
            .as_ref()
            .map(order_of)
            .transpose()?
            .ok_or(StoreError::NotFound { what: "督办事项", id: id.to_string() })?;
        Ok((row, before))
    }

    /// [`Store::acts_for`] inside the transaction.
    async fn acts_for(&mut self, org: i64) -> Result<bool> {
        match self.actor.org_id {
            Some(own) if self.actor.role.writes_records() && !self.actor.role.manages_program() => {
                crate::reporting::holds(&mut self.tx, own.get(), org).await
            }
            _ => Ok(false),
        }
    }

    async fn answer_step(&mut self, id: i64, answer: &str, files: &[(String, String, Vec<u8>)]) -> Result<()> {
        let (row, before) = self.lock_order(id).await?;
        let assignee = self.acts_for(row.assignee_org_id).await?;
        let to = order_step(row.state(), OrderAction::Answer, assignee, self.actor.role.manages_program())
            .map_err(StoreError::Forbidden)?;
        let answer = domain::values::required_text("answer", "办理情况", answer, 4000)
            .map_err(|e| StoreError::Invalid(domain::Invalids(vec![e])))?;
        if files.len() > MAX_FILES {
            return Err(invalid("files", "整改材料", "数量", format!("一次最多上传 {MAX_FILES} 个附件")));
        }
        let mut stored = Vec::new();
        for (name, ctype, bytes) in files {
            let name = name.trim();
            if name.is_empty() || name.chars().count() > 200 || name.contains(['/', '\\']) {
                return Err(invalid("files", "整改材料", "文件名", format!("附件文件名“{name}”无效")));
            }
            if bytes.is_empty() || bytes.len() > MAX_FILE_BYTES {
                return Err(invalid(
                    "files",
                    "整改材料",
                    "大小",
                    format!("附件“{name}”为空或超过 {} MB", MAX_FILE_BYTES / 1024 / 1024),
                ));
            }
            use sm3::Digest as _;
            let digest = hex::encode(sm3::Sm3::digest(bytes));
            let fid: i64 = sqlx::query_scalar(
                "INSERT INTO follow_up_files (follow_up_id, name, content_type, size, sha256, data, uploaded_by, uploaded_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            )
            .bind(id)
            .bind(name)
            .bind(ctype)
            .bind(bytes.len() as i64)
            .bind(&digest)
            .bind(base64::engine::general_purpose::STANDARD.encode(bytes))
            .bind(self.actor.user_id.map(|u| u.get()))
            .bind(crate::write::now())
            .fetch_one(&mut *self.tx)
            .await?;
            stored.push(json!({"id": fid, "name": name, "size": bytes.len(), "sm3": digest}));
        }
        let today = crate::reporting::today().to_string();
        // The reason of a return is answered now: it stays in the audit log, no longer on the order.
        sqlx::query(
            "UPDATE follow_ups SET state = $1, answer = $2, answered_on = $3, return_reason = NULL WHERE id = $4",
        )
        .bind(to.code())
        .bind(&answer)
        .bind(&today)
        .bind(id)
        .execute(&mut *self.tx)
        .await?;
        let mut after = self.row_json("follow_ups", id).await?.unwrap_or_default();
        after.insert("files".into(), Value::Array(stored));
        self.audit_step(
            "answer_follow_up",
            "follow_ups",
            Some(id),
            Some(Value::Object(before)),
            Some(Value::Object(after)),
        )
        .await?;
        if let Some(u) = row.opened_by {
            let title = format!("督办已答复：{}", row.title);
            let link = format!("/followups/{id}");
            self.notify_users_step(
                &[u],
                &NewNotice { kind: "order", title: &title, body: &answer, link: &link, dedupe: None },
            )
            .await?;
        }
        Ok(())
    }

    /// A manager closes (办结) or returns (退回重办, with a reason) an answered order.
    pub async fn decide_follow_up(&mut self, id: i64, action: OrderAction, reason: Option<&str>) -> Result<()> {
        self.live()?;
        let r = async {
            if action == OrderAction::Answer {
                return Err(StoreError::Conflict("答复须附办理情况".into()));
            }
            let (row, before) = self.lock_order(id).await?;
            let assignee = self.acts_for(row.assignee_org_id).await?;
            let to = order_step(row.state(), action, assignee, self.actor.role.manages_program())
                .map_err(StoreError::Forbidden)?;
            let today = crate::reporting::today().to_string();
            let mut why = String::new();
            if action == OrderAction::Return {
                why = domain::reporting::reason(reason).map_err(|e| StoreError::Invalid(domain::Invalids(vec![e])))?;
                sqlx::query("UPDATE follow_ups SET state = $1, return_reason = $2 WHERE id = $3")
                    .bind(to.code())
                    .bind(&why)
                    .bind(id)
                    .execute(&mut *self.tx)
                    .await?;
            } else {
                sqlx::query("UPDATE follow_ups SET state = $1, closed_on = $2 WHERE id = $3")
                    .bind(to.code())
                    .bind(&today)
                    .bind(id)
                    .execute(&mut *self.tx)
                    .await?;
            }
            let after = self.row_json("follow_ups", id).await?.map(Value::Object);
            self.audit_step(
                &format!("{}_follow_up", action.code()),
                "follow_ups",
                Some(id),
                Some(Value::Object(before)),
                after,
            )
            .await?;
            let (title, body) = match action {
                OrderAction::Return => (format!("督办退回重办：{}", row.title), why),
                _ => (format!("督办已办结：{}", row.title), String::new()),
            };
            let link = format!("/followups/{id}");
            let n = NewNotice { kind: "order", title: &title, body: &body, link: &link, dedupe: None };
            self.notify_org_step(row.assignee_org_id, &n).await?;
            Ok(())
        }
        .await;
        self.note(r)
    }

    /// Notify every user of an organization, once per `dedupe` key. Returns how many were told.
    pub async fn notify_org(&mut self, org: i64, n: &NewNotice<'_>) -> Result<usize> {
        self.live()?;
        let r = self.notify_org_step(org, n).await;
        self.note(r)
    }

    pub(crate) async fn notify_org_step(&mut self, org: i64, n: &NewNotice<'_>) -> Result<usize> {
        self.notify_orgs_step(&[org], n).await
    }

    /// Notify every user of these organizations: one audit entry for all of them.
    pub(crate) async fn notify_orgs_step(&mut self, orgs: &[i64], n: &NewNotice<'_>) -> Result<usize> {
        let mut users = Vec::new();
        for org in orgs {
            let of: Vec<i64> = sqlx::query_scalar("SELECT id FROM users WHERE org_id = $1 ORDER BY id")
                .bind(*org)
                .fetch_all(&mut *self.tx)
                .await?;
            users.extend(of);
        }
        self.notify_users_step(&users, n).await
    }

    /// Notify users, once per `dedupe` key each; audited as one entry naming those told.
    pub async fn notify(&mut self, users: &[i64], n: &NewNotice<'_>) -> Result<usize> {
        self.live()?;
        let r = self.notify_users_step(users, n).await;
        self.note(r)
    }

    pub(crate) async fn notify_users_step(&mut self, users: &[i64], n: &NewNotice<'_>) -> Result<usize> {
        let now = crate::write::now();
        let mut told = Vec::new();
        for u in users {
            if self.insert_notice(*u, n, &now).await? {
                told.push(*u);
            }
        }
        if !told.is_empty() {
            let after = json!({"users": told, "kind": n.kind, "title": n.title, "link": n.link, "dedupe": n.dedupe});
            self.audit_step("notify", "notifications", None, None, Some(after)).await?;
        }
        Ok(told.len())
    }

    /// One notification row, unless the user already has its `dedupe` key; marked to be mailed
    /// when the user has an address now.
    async fn insert_notice(&mut self, user: i64, n: &NewNotice<'_>, now: &str) -> Result<bool> {
        let added = sqlx::query(
            "INSERT INTO notifications (user_id, kind, title, body, link, dedupe, created_at, mail) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, \
             (SELECT CASE WHEN email IS NULL OR email = '' THEN 0 ELSE 1 END FROM users WHERE id = $1)) \
             ON CONFLICT (user_id, dedupe) DO NOTHING",
        )
        .bind(user)
        .bind(n.kind)
        .bind(n.title)
        .bind(n.body)
        .bind(n.link)
        .bind(n.dedupe)
        .bind(now)
        .execute(&mut *self.tx)
        .await?
        .rows_affected();
        Ok(added > 0)
    }

    /// Mark the actor's notifications read: those given, or all.
    pub async fn mark_read(&mut self, ids: Option<&[i64]>) -> Result<u64> {
        self.live()?;
        let r = async {
            let Some(user) = self.actor.user_id.map(|u| u.get()) else { return Ok(0) };
            let now = crate::write::now();
            let mut n = 0;
            match ids {
                None => {
                    n += sqlx::query("UPDATE notifications SET read_at = $1 WHERE user_id = $2 AND read_at IS NULL")
                        .bind(&now)
                        .bind(user)
                        .execute(&mut *self.tx)
                        .await?
                        .rows_affected();
                }
                Some(ids) => {
                    for id in ids {
                        n += sqlx::query(
                            "UPDATE notifications SET read_at = $1 WHERE id = $2 AND user_id = $3 AND read_at IS NULL",
                        )
                        .bind(&now)
                        .bind(*id)
                        .bind(user)
                        .execute(&mut *self.tx)
                        .await?
                        .rows_affected();
                    }
                }
            }
            if n > 0 {
                self.audit_step(
                    "read_notifications",
                    "notifications",
                    None,
                    None,
                    Some(json!({"read": n, "ids": ids})),
                )
                .await?;
            }
            Ok(n)
        }
        .await;
        self.note(r)
    }

    /// Record what the e-mail sender did: the notifications the relay accepted, and those it
    /// refused for good (with why; they are not tried again).
    pub async fn mark_mailed(&mut self, sent: &[i64], refused: &[(i64, String)]) -> Result<()> {
        self.live()?;
        let r = async {
            let now = crate::write::now();
            for id in sent {
                sqlx::query("UPDATE notifications SET mailed_at = $1 WHERE id = $2")
                    .bind(&now)
                    .bind(*id)
                    .execute(&mut *self.tx)
                    .await?;
            }
            for (id, why) in refused {
                sqlx::query("UPDATE notifications SET mail_error = $1 WHERE id = $2")
                    .bind(why)
                    .bind(*id)
                    .execute(&mut *self.tx)
                    .await?;
            }
            if !sent.is_empty() || !refused.is_empty() {
                let after = json!({"sent": sent, "refused": refused});
                self.audit_step("mail_notifications", "notifications", None, None, Some(after)).await?;
            }
            Ok(())
        }
        .await;
        self.note(r)
    }
}

/// A user the daily digest is for: id, role, organization (id, code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub user_id: i64,
    pub role: String,
    /// (id, code, materialised path).
    pub org: Option<(i64, String, String)>,
}

impl Store {
    /// The users who read business data (项目管理, 填报员, 查看), with their organizations.
    pub async fn digest_recipients(&self) -> Result<Vec<Recipient>> {
        type Row = (i64, String, Option<i64>, Option<String>, Option<String>);
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT u.id, u.role, o.id, o.code, o.path FROM users u LEFT JOIN organizations o ON o.id = u.org_id \
             WHERE u.role IN ('manager', 'reporter', 'viewer') ORDER BY u.id",
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(user_id, role, oid, code, path)| Recipient {
                user_id,
                role,
                org: match (oid, code, path) {
                    (Some(i), Some(c), Some(p)) => Some((i, c, p)),
                    _ => None,
                },
            })
            .collect())
    }
}

impl Store {
    /// Each project's implementing organization's path (a project with none is in no subtree).
    pub async fn project_org_paths(&self, program: i64) -> Result<HashMap<i64, String>> {
        let rows: Vec<(i64, String)> = sqlx::query_as(
            "SELECT p.id, o.path FROM projects p JOIN organizations o ON o.id = p.org_id WHERE p.program_id = $1",
        )
        .bind(program)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().collect())
    }

    /// Every assignment of the program's periods on `today`: the organization's path and how it
    /// stands (due, late, missing, reported).
    pub async fn assignment_states(&self, program: i64, today: Date) -> Result<Vec<(String, Completeness)>> {
        let rows: Vec<(String, String, Option<String>)> = sqlx::query_as(
            "SELECT o.path, p.deadline, ra.submitted_on FROM reporting_assignments ra \
             JOIN reporting_periods p ON p.id = ra.period_id JOIN organizations o ON o.id = ra.org_id \
             WHERE p.program_id = $1 ORDER BY ra.id",
        )
        .bind(program)
        .fetch_all(self.pool())
        .await?;
        let mut out = Vec::new();
        for (path, deadline, on) in rows {
            let deadline = Date::parse(&deadline).map_err(|e| StoreError::Integrity(e.message))?;
            let on = on.as_deref().and_then(|d| Date::parse(d).ok());
            out.push((path, Completeness::of(on, deadline, today)));
        }
        Ok(out)
    }
}

impl Tx<'_> {
    /// Give each user its own notification (the daily digest), once per `dedupe` key; audited
    /// as one entry naming those told and what.
    pub async fn notify_each(&mut self, notes: &[(i64, NewNotice<'_>)]) -> Result<usize> {
        self.live()?;
        let r = async {
            let now = crate::write::now();
            let mut told = Vec::new();
            for (u, n) in notes {
                if self.insert_notice(*u, n, &now).await? {
                    told.push(json!({"user": u, "kind": n.kind, "title": n.title, "dedupe": n.dedupe}));
                }
            }
            if !told.is_empty() {
                self.audit_step("notify", "notifications", None, None, Some(json!({"each": told}))).await?;
            }
            Ok(told.len())
        }
        .await;
        self.note(r)
    }

    /// Set the address a user's notifications are mailed to (系统管理员 only); empty clears it.
    pub async fn set_user_email(&mut self, user: i64, email: &str) -> Result<()> {
        self.live()?;
        let r = async {
            if self.actor.role != domain::users::Role::SysAdmin {
                return Err(StoreError::Forbidden("只有系统管理员可以设置用户的电子邮箱".into()));
            }
            let email = email.trim();
            if !email.is_empty() && !domain::users::valid_email(email) {
                return Err(invalid("email", "电子邮箱", "格式", format!("电子邮箱“{email}”格式不正确")));
            }
            let before = self
                .row_json("users", user)
                .await?
                .ok_or(StoreError::NotFound { what: "用户", id: user.to_string() })?;
            sqlx::query("UPDATE users SET email = $1 WHERE id = $2")
                .bind(Some(email).filter(|e| !e.is_empty()))
                .bind(user)
                .execute(&mut *self.tx)
                .await?;
            self.audit_step(
                "set_user_email",
                "users",
                Some(user),
                Some(json!({"email": before.get("email")})),
                Some(json!({"email": email})),
            )
            .await
        }
        .await;
        self.note(r)
    }
}

impl Store {
    /// An organization's code.
    pub async fn org_code(&self, id: i64) -> Result<Option<String>> {
        Ok(sqlx::query_scalar("SELECT code FROM organizations WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await?)
    }

    /// A project's implementing organization.
    pub async fn project_org(&self, id: i64) -> Result<Option<i64>> {
        Ok(sqlx::query_scalar::<_, Option<i64>>("SELECT org_id FROM projects WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .flatten())
    }
}

impl Store {
    /// Mark the actor's notifications read (any role: a viewer has a bell too), audited.
    pub async fn mark_read(&self, actor: &domain::audit::Actor, ids: Option<&[i64]>) -> Result<u64> {
        let mut tx = self.begin_audited(actor).await?;
        let n = tx.mark_read(ids).await?;
        tx.commit().await?;
        Ok(n)
    }

    /// Set a user's e-mail address (系统管理员), audited.
    pub async fn set_user_email(&self, actor: &domain::audit::Actor, user: i64, email: &str) -> Result<()> {
        let mut tx = self.begin_audited(actor).await?;
        tx.set_user_email(user, email).await?;
        tx.commit().await
    }
}
