//! The reporting cycle in the store: the review chain, schedules, periods and their
//! assignments, each record's review step (`Tx::review`, the only writer of the review
//! columns), the period report (`Tx::submit_period`), the period lock and its reopening, and
//! the guards the generic write path calls: a record in a locked period is not written, and a
//! reporter's record that was handed on (已上报 and after) is locked for it. Every write is
//! audited in its transaction; a review step's audit entry carries the row before and after, so
//! the activity rollup follows the state (only approved rows count in it).

use crate::error::{Result, StoreError};
use crate::write::Bound;
use crate::{Store, Tx};
use domain::reporting::{step, Action, Completeness, Frequency, NewPeriod, Position, Standing, State};
use domain::users::Role;
use domain::Date;
use serde::Serialize;
use serde_json::{json, Map, Value};

/// One level of the chain as configured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainLevel {
    pub level: u32,
    pub name: String,
    /// (id, code, name) of the organizations acting at this level.
    pub orgs: Vec<(i64, String, String)>,
}

/// A reporting period as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PeriodRow {
    pub id: i64,
    pub program_id: i64,
    pub kind: String,
    pub code: String,
    pub frequency: String,
    pub start: String,
    pub end: String,
    pub deadline: String,
    pub locked: bool,
    pub locked_level: Option<i64>,
}

/// An assigned organization of a period and how it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AssignmentRow {
    pub period_id: i64,
    pub org_id: i64,
    pub org_code: String,
    pub org_name: String,
    pub submitted_on: Option<String>,
    #[serde(skip)]
    pub completeness: Completeness,
    pub status: &'static str,
    /// Its records in the period by state code.
    pub records: Vec<(String, i64)>,
}

/// A record in the review cycle as a list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReviewItem {
    pub id: i64,
    pub title: String,
    pub date: String,
    pub org_id: Option<i64>,
    pub org_name: String,
    pub state: String,
    pub level: i64,
    pub reason: Option<String>,
}

/// A locked period's first and last days and its code.
type LockedSpan = (String, String, String);

/// What the tx remembers of the cycle while it writes many rows.
#[derive(Debug, Default)]
pub(crate) struct TxCache {
    scheduled: std::collections::HashMap<(i64, String), bool>,
    locked: std::collections::HashMap<(i64, String), Vec<LockedSpan>>,
}

type PeriodTuple = (i64, i64, String, String, String, String, String, String, i64, Option<i64>);

fn period_of(t: PeriodTuple) -> PeriodRow {
    PeriodRow {
        id: t.0,
        program_id: t.1,
        kind: t.2,
        code: t.3,
        frequency: t.4,
        start: t.5,
        end: t.6,
        deadline: t.7,
        locked: t.8 != 0,
        locked_level: t.9,
    }
}

const PERIOD_COLS: &str = "id, program_id, kind, code, frequency, start_date, end_date, deadline, locked, locked_level";

/// Today in Beijing.
pub fn today() -> Date {
    Date::from_naive((chrono::Utc::now() + chrono::Duration::hours(8)).date_naive())
}

impl Store {
    /// The program's review chain, level by level.
    pub async fn review_chain(&self, program: i64) -> Result<Vec<ChainLevel>> {
        let rows: Vec<(i64, String, i64, String, String)> = sqlx::query_as(
            "SELECT c.level, c.name, o.id, o.code, o.name FROM review_chain c JOIN organizations o ON o.id = c.org_id \
             WHERE c.program_id = $1 ORDER BY c.level, o.code",
        )
        .bind(program)
        .fetch_all(self.pool())
        .await?;
        let mut out: Vec<ChainLevel> = Vec::new();
        for (level, name, id, code, oname) in rows {
            let level = level as u32;
            match out.last_mut() {
                Some(l) if l.level == level => l.orgs.push((id, code, oname)),
                _ => out.push(ChainLevel { level, name, orgs: vec![(id, code, oname)] }),
            }
        }
        Ok(out)
    }

    /// The kinds a program reports on a schedule: (kind, frequency, deadline days after a
    /// period's end).
    pub async fn reporting_schedules(&self, program: i64) -> Result<Vec<(String, String, i64)>> {
        Ok(sqlx::query_as(
            "SELECT kind, frequency, deadline_days FROM reporting_schedules WHERE program_id = $1 ORDER BY kind",
        )
        .bind(program)
        .fetch_all(self.pool())
        .await?)
    }

    /// The reporting periods of a program, newest first.
    pub async fn reporting_periods(&self, program: i64) -> Result<Vec<PeriodRow>> {
        let rows: Vec<PeriodTuple> = sqlx::query_as(&format!(
            "SELECT {PERIOD_COLS} FROM reporting_periods WHERE program_id = $1 ORDER BY end_date DESC, kind"
        ))
        .bind(program)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(period_of).collect())
    }

    pub async fn reporting_period(&self, id: i64) -> Result<PeriodRow> {
        let row: Option<PeriodTuple> =
            sqlx::query_as(&format!("SELECT {PERIOD_COLS} FROM reporting_periods WHERE id = $1"))
                .bind(id)
                .fetch_optional(self.pool())
                .await?;
        row.map(period_of).ok_or(StoreError::NotFound { what: "统计期", id: id.to_string() })
    }

    /// The completeness board of a period on `today`: every assigned organization, whether and
    /// when it reported, and its records by state.
    pub async fn completeness(&self, period_id: i64, today: Date) -> Result<Vec<AssignmentRow>> {
        let p = self.reporting_period(period_id).await?;
        let deadline = Date::parse(&p.deadline).map_err(|e| StoreError::Integrity(e.message))?;
        let rows: Vec<(i64, String, String, Option<String>)> = sqlx::query_as(
            "SELECT o.id, o.code, o.name, ra.submitted_on FROM reporting_assignments ra \
             JOIN organizations o ON o.id = ra.org_id WHERE ra.period_id = $1 ORDER BY o.code",
        )
        .bind(period_id)
        .fetch_all(self.pool())
        .await?;
        let counts: Vec<(i64, String, i64)> = sqlx::query_as(
            "SELECT organizer_org_id, review_state, COUNT(*) FROM activities \
             WHERE program_id = $1 AND date >= $2 AND date <= $3 AND organizer_org_id IS NOT NULL \
             GROUP BY organizer_org_id, review_state ORDER BY organizer_org_id, review_state",
        )
        .bind(p.program_id)
        .bind(&p.start)
        .bind(&p.end)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(org_id, org_code, org_name, submitted_on)| {
                let on = submitted_on.as_deref().and_then(|d| Date::parse(d).ok());
                let completeness = Completeness::of(on, deadline, today);
                AssignmentRow {
                    period_id,
                    org_id,
                    org_code,
                    org_name,
                    submitted_on,
                    completeness,
                    status: completeness.code(),
                    records: counts.iter().filter(|(o, _, _)| *o == org_id).map(|(_, s, n)| (s.clone(), *n)).collect(),
                }
            })
            .collect())
    }

    /// The periods an organization must report in, with how it stands in each: what is due,
    /// overdue and reported for the user's home page.
    pub async fn assignments_of(&self, org_id: i64, today: Date) -> Result<Vec<(PeriodRow, Completeness)>> {
        let rows: Vec<(PeriodTuple, Option<String>)> = sqlx::query_as::<
            _,
            (i64, i64, String, String, String, String, String, String, i64, Option<i64>, Option<String>),
        >(&format!(
            "SELECT {}, ra.submitted_on FROM reporting_assignments ra JOIN reporting_periods p ON p.id = ra.period_id \
                 WHERE ra.org_id = $1",
            PERIOD_COLS.split(", ").map(|c| format!("p.{c}")).collect::<Vec<_>>().join(", ")
        ))
        .bind(org_id)
        .fetch_all(self.pool())
        .await?
        .into_iter()
        .map(|t| ((t.0, t.1, t.2, t.3, t.4, t.5, t.6, t.7, t.8, t.9), t.10))
        .collect();
        let mut out = Vec::new();
        for (t, on) in rows {
            let p = period_of(t);
            let deadline = Date::parse(&p.deadline).map_err(|e| StoreError::Integrity(e.message))?;
            let c = Completeness::of(on.as_deref().and_then(|d| Date::parse(d).ok()), deadline, today);
            out.push((p, c));
        }
        out.sort_by(|a, b| b.0.end.cmp(&a.0.end));
        Ok(out)
    }

    /// Activities in the review cycle in a state, optionally of one reporting unit or a span:
    /// the lists of the review pages and of the home page.
    pub async fn review_items(
        &self,
        program: i64,
        states: &[State],
        org: Option<i64>,
        span: Option<(&str, &str)>,
        limit: i64,
    ) -> Result<Vec<ReviewItem>> {
        use crate::sql::{Sql, P};
        let mut sql = Sql::default();
        let mut text = String::from(
            "SELECT a.id, a.title, a.date, a.organizer_org_id, COALESCE(o.name, ''), a.review_state, a.review_level, a.review_reason \
             FROM activities a LEFT JOIN organizations o ON o.id = a.organizer_org_id WHERE a.program_id = ",
        );
        text += &sql.param(P::I(program));
        let marks: Vec<String> = states.iter().map(|s| sql.param(P::T(s.code().to_string()))).collect();
        text += &format!(" AND a.review_state IN ({})", marks.join(", "));
        if let Some(o) = org {
            text += &format!(" AND a.organizer_org_id = {}", sql.param(P::I(o)));
        }
        if let Some((from, to)) = span {
            let (f, t) = (sql.param(P::T(from.to_string())), sql.param(P::T(to.to_string())));
            text += &format!(" AND a.date >= {f} AND a.date <= {t}");
        }
        text += &format!(" ORDER BY a.date DESC, a.id DESC LIMIT {}", sql.param(P::I(limit)));
        sql.text = text;
        type ItemRow = (i64, String, String, Option<i64>, String, String, i64, Option<String>);
        let rows: Vec<ItemRow> = crate::sql::bind_all_as(sqlx::query_as::<sqlx::Any, ItemRow>(&sql.text), &sql.params)
            .fetch_all(self.pool())
            .await?;
        Ok(rows
            .into_iter()
            .map(|(id, title, date, org_id, org_name, state, level, reason)| ReviewItem {
                id,
                title,
                date,
                org_id,
                org_name,
                state,
                level,
                reason,
            })
            .collect())
    }

    /// The reason an activity was last returned, while it is shown (退回修改).
    pub async fn review_reason(&self, id: i64) -> Result<Option<String>> {
        Ok(sqlx::query_scalar::<_, Option<String>>(
            "SELECT review_reason FROM activities WHERE id = $1 AND review_state = 'returned'",
        )
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .flatten())
    }

    /// The chain levels an organization acts at in a program.
    pub async fn chain_levels_of(&self, program: i64, org: i64) -> Result<Vec<i64>> {
        Ok(sqlx::query_scalar("SELECT level FROM review_chain WHERE program_id = $1 AND org_id = $2 ORDER BY level")
            .bind(program)
            .bind(org)
            .fetch_all(self.pool())
            .await?)
    }

    /// Where `actor` stands towards an activity, and the chain's first level above its unit and
    /// its top: what the record page offers and what `Tx::review` checks.
    pub async fn review_standing(
        &self,
        actor: &domain::audit::Actor,
        id: i64,
    ) -> Result<(Position, Standing, Option<u32>, u32)> {
        let mut conn = self.pool().acquire().await?;
        standing_on(&mut conn, actor, id).await
    }
}

type Row = (i64, Option<i64>, String, i64, String);

async fn record(conn: &mut sqlx::AnyConnection, id: i64) -> Result<Row> {
    let r: Option<Row> = sqlx::query_as(
        "SELECT program_id, organizer_org_id, review_state, review_level, date FROM activities WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    r.ok_or(StoreError::NotFound { what: "活动", id: id.to_string() })
}

/// The organization acting at `level` for a record of `unit`: the level's organization whose
/// subtree holds the unit, or the level's only organization.
async fn acting(conn: &mut sqlx::AnyConnection, program: i64, unit: Option<i64>, level: u32) -> Result<Option<i64>> {
    let orgs: Vec<(i64, String)> = sqlx::query_as(
        "SELECT o.id, o.path FROM review_chain c JOIN organizations o ON o.id = c.org_id \
         WHERE c.program_id = $1 AND c.level = $2 ORDER BY o.id",
    )
    .bind(program)
    .bind(level as i64)
    .fetch_all(&mut *conn)
    .await?;
    if let Some(u) = unit {
        let path: Option<String> = sqlx::query_scalar("SELECT path FROM organizations WHERE id = $1")
            .bind(u)
            .fetch_optional(&mut *conn)
            .await?;
        if let Some(p) = path {
            // The deepest acting organization above (or at) the unit.
            if let Some((id, _)) =
                orgs.iter().filter(|(_, op)| p.starts_with(op.as_str())).max_by_key(|(_, op)| op.len())
            {
                return Ok(Some(*id));
            }
        }
    }
    Ok(if orgs.len() == 1 { Some(orgs[0].0) } else { None })
}

async fn top_level(conn: &mut sqlx::AnyConnection, program: i64) -> Result<u32> {
    let top: Option<i64> = sqlx::query_scalar("SELECT MAX(level) FROM review_chain WHERE program_id = $1")
        .bind(program)
        .fetch_one(&mut *conn)
        .await?;
    Ok(top.unwrap_or(0) as u32)
}

/// Is `org` the unit or above it (the unit lies in its subtree)?
pub(crate) async fn holds(conn: &mut sqlx::AnyConnection, org: i64, unit: i64) -> Result<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM organizations u JOIN organizations o ON o.id = $1 WHERE u.id = $2 AND u.path LIKE o.path || '%'",
    )
    .bind(org)
    .bind(unit)
    .fetch_one(&mut *conn)
    .await?;
    Ok(n > 0)
}

async fn standing_on(
    conn: &mut sqlx::AnyConnection,
    actor: &domain::audit::Actor,
    id: i64,
) -> Result<(Position, Standing, Option<u32>, u32)> {
    let (program, unit, state, level, _) = record(conn, id).await?;
    let state = State::parse(&state).ok_or_else(|| StoreError::Integrity(format!("活动 {id} 的审核状态无效")))?;
    let top = top_level(conn, program).await?;
    let mut first = None;
    let mut levels = Vec::new();
    for l in 1..=top {
        let Some(org) = acting(conn, program, unit, l).await? else { continue };
        if first.is_none() && Some(org) != unit {
            first = Some(l);
        }
        if actor.role.writes_records() && actor.org_id.map(|o| o.get()) == Some(org) && Some(org) != unit {
            levels.push(l);
        }
    }
    let author = match actor.role {
        Role::Manager => actor.org_id.is_none() || levels.is_empty(),
        Role::Reporter => match (actor.org_id, unit) {
            (Some(o), Some(u)) => holds(conn, o.get(), u).await? && levels.is_empty(),
            _ => false,
        },
        _ => false,
    };
    Ok((Position { state, level: level.max(0) as u32 }, Standing { author, levels }, first, top))
}

impl Tx<'_> {
    /// One step of the review of an activity (上报, 开始审核, 退回修改 with a reason, 审核通过,
    /// 汇总): refused, naming the rule, when the actor's standing or the record's state does
    /// not allow it, or when its period is locked. Audited as `review_<action>` with the row
    /// before and after.
    pub async fn review(&mut self, id: i64, action: Action, reason: Option<&str>) -> Result<Position> {
        self.live()?;
        let r = self.review_step(id, action, reason).await;
        self.note(r)
    }

    async fn review_step(&mut self, id: i64, action: Action, reason: Option<&str>) -> Result<Position> {
        let lock = self.store.backend().lock_row();
        sqlx::query(&format!("SELECT id FROM activities WHERE id = $1{lock}"))
            .bind(id)
            .fetch_optional(&mut *self.tx)
            .await?;
        let before = self
            .row_json("activities", id)
            .await?
            .ok_or(StoreError::NotFound { what: "活动", id: id.to_string() })?;
        let actor = self.actor.clone();
        let (at, who, first, top) = standing_on(&mut self.tx, &actor, id).await?;
        let reason = if action == Action::Return {
            Some(domain::reporting::reason(reason).map_err(|e| StoreError::Invalid(domain::Invalids(vec![e])))?)
        } else {
            None
        };
        let to = step(at, action, &who, first, top).map_err(StoreError::Forbidden)?;
        let program = before.get("program_id").and_then(Value::as_i64);
        let date = before.get("date").and_then(Value::as_str).map(str::to_string);
        self.check_unlocked("activities", program, date.as_deref()).await?;
        // A submission keeps the last reason for the record's history (in the audit log) but
        // no longer shows it.
        let shown_reason = match action {
            Action::Return => reason.clone(),
            Action::Submit => None,
            _ => before.get("review_reason").and_then(Value::as_str).map(str::to_string),
        };
        sqlx::query("UPDATE activities SET review_state = $1, review_level = $2, review_reason = $3 WHERE id = $4")
            .bind(to.state.code())
            .bind(to.level as i64)
            .bind(shown_reason)
            .bind(id)
            .execute(&mut *self.tx)
            .await?;
        if action == Action::Return {
            if let Some(u) = before.get("organizer_org_id").and_then(Value::as_i64) {
                let title = before.get("title").and_then(Value::as_str).unwrap_or_default();
                let (title, link) = (format!("退回修改：{title}"), format!("/records/activities/{id}"));
                let body = reason.as_deref().unwrap_or_default();
                let n =
                    crate::followups::NewNotice { kind: "returned", title: &title, body, link: &link, dedupe: None };
                self.notify_org_step(u, &n).await?;
            }
        }
        if action == Action::Submit {
            if let (Some(p), Some(d), Some(u)) =
                (program, date.as_deref(), before.get("organizer_org_id").and_then(Value::as_i64))
            {
                self.mark_reported(p, d, u).await?;
            }
        }
        let after = self.row_json("activities", id).await?.map(Value::Object);
        self.audit_step(
            &format!("review_{}", action.code()),
            "activities",
            Some(id),
            Some(Value::Object(before)),
            after,
        )
        .await?;
        Ok(to)
    }

    /// The first report of a unit in the period holding `date` marks its assignment reported today.
    async fn mark_reported(&mut self, program: i64, date: &str, unit: i64) -> Result<()> {
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT ra.id, ra.period_id FROM reporting_assignments ra JOIN reporting_periods p ON p.id = ra.period_id \
             WHERE p.program_id = $1 AND p.kind = 'activities' AND p.start_date <= $2 AND p.end_date >= $2 \
             AND ra.org_id = $3 AND ra.submitted_on IS NULL",
        )
        .bind(program)
        .bind(date)
        .bind(unit)
        .fetch_all(&mut *self.tx)
        .await?;
        for (aid, pid) in rows {
            let on = today().to_string();
            sqlx::query("UPDATE reporting_assignments SET submitted_on = $1 WHERE id = $2")
                .bind(&on)
                .bind(aid)
                .execute(&mut *self.tx)
                .await?;
            self.audit_step(
                "period_reported",
                "reporting_assignments",
                Some(aid),
                None,
                Some(json!({"period_id": pid, "org_id": unit, "submitted_on": on})),
            )
            .await?;
        }
        Ok(())
    }

    /// The period report of a unit (上报本期): every draft or returned activity of the unit in
    /// the period submitted, and the assignment marked reported (also with no records: a nil
    /// report). Returns how many records were submitted.
    pub async fn submit_period(&mut self, period_id: i64, unit: i64) -> Result<usize> {
        self.live()?;
        let r = self.submit_period_step(period_id, unit).await;
        self.note(r)
    }

    async fn submit_period_step(&mut self, period_id: i64, unit: i64) -> Result<usize> {
        let p = self.store.reporting_period(period_id).await?;
        let may = match self.actor.role {
            Role::Manager => true,
            Role::Reporter => match self.actor.org_id {
                Some(o) => holds(&mut self.tx, o.get(), unit).await?,
                None => false,
            },
            _ => false,
        };
        if !may {
            return Err(StoreError::Forbidden("只有本单位或上级单位的填报员可以上报本期".into()));
        }
        let assigned: Option<i64> =
            sqlx::query_scalar("SELECT id FROM reporting_assignments WHERE period_id = $1 AND org_id = $2")
                .bind(period_id)
                .bind(unit)
                .fetch_optional(&mut *self.tx)
                .await?;
        if assigned.is_none() {
            return Err(StoreError::Conflict(format!("统计期 {} 未要求该单位报送", p.code)));
        }
        if p.locked {
            return Err(StoreError::Conflict(format!("统计期 {} 已审核通过并锁定，不能再上报", p.code)));
        }
        let ids: Vec<(i64,)> = sqlx::query_as(
            "SELECT id FROM activities WHERE program_id = $1 AND organizer_org_id = $2 AND date >= $3 AND date <= $4 \
             AND review_state IN ('draft', 'returned') ORDER BY id",
        )
        .bind(p.program_id)
        .bind(unit)
        .bind(&p.start)
        .bind(&p.end)
        .fetch_all(&mut *self.tx)
        .await?;
        for (id,) in &ids {
            self.review_step(*id, Action::Submit, None).await?;
        }
        // A nil report, or records submitted before: the assignment is reported now at the latest.
        self.mark_reported(p.program_id, &p.start, unit).await?;
        Ok(ids.len())
    }

    /// Configure a program's review chain (replacing it): levels in order, each a name and the
    /// organizations acting at it. Only a role that manages the program.
    pub async fn set_review_chain(&mut self, program: i64, levels: &[(String, Vec<i64>)]) -> Result<()> {
        self.live()?;
        let r = self.set_chain_step(program, levels).await;
        self.note(r)
    }

    fn manager_only(&self, what: &str) -> Result<()> {
        if self.actor.role.manages_program() {
            Ok(())
        } else {
            Err(StoreError::Forbidden(format!("{what}属于项目配置，只有“项目管理”角色可以修改")))
        }
    }

    async fn set_chain_step(&mut self, program: i64, levels: &[(String, Vec<i64>)]) -> Result<()> {
        self.manager_only("审核层级")?;
        let before = serde_json::to_value(self.store.review_chain(program).await?).unwrap_or(Value::Null);
        sqlx::query("DELETE FROM review_chain WHERE program_id = $1").bind(program).execute(&mut *self.tx).await?;
        for (i, (name, orgs)) in levels.iter().enumerate() {
            let name = domain::values::required_text("name", "层级名称", name, 50)
                .map_err(|e| StoreError::Invalid(domain::Invalids(vec![e])))?;
            if orgs.is_empty() {
                return Err(StoreError::Conflict(format!("审核层级“{name}”没有指定单位")));
            }
            for o in orgs {
                sqlx::query("INSERT INTO review_chain (program_id, level, name, org_id) VALUES ($1, $2, $3, $4)")
                    .bind(program)
                    .bind(i as i64 + 1)
                    .bind(&name)
                    .bind(*o)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(|e| crate::error::explain(e, "审核层级"))?;
            }
        }
        let after: Vec<Value> =
            levels.iter().enumerate().map(|(i, (n, o))| json!({"level": i + 1, "name": n, "orgs": o})).collect();
        self.audit_step("set_review_chain", "review_chain", Some(program), Some(before), Some(Value::Array(after)))
            .await
    }

    /// Set how often a kind is reported and its deadline (days after a period's end).
    pub async fn set_schedule(
        &mut self,
        program: i64,
        kind: &str,
        frequency: Frequency,
        deadline_days: i64,
    ) -> Result<()> {
        self.live()?;
        let r = async {
            self.manager_only("报送计划")?;
            if domain::reporting::reviewed_date(kind).is_none() {
                return Err(StoreError::Conflict(format!("“{kind}”不是需报送审核的记录类型")));
            }
            if !(0..=366).contains(&deadline_days) {
                return Err(StoreError::Conflict("报送期限须在 0 到 366 天之间".into()));
            }
            sqlx::query("DELETE FROM reporting_schedules WHERE program_id = $1 AND kind = $2")
                .bind(program)
                .bind(kind)
                .execute(&mut *self.tx)
                .await?;
            sqlx::query("INSERT INTO reporting_schedules (program_id, kind, frequency, deadline_days) VALUES ($1, $2, $3, $4)")
                .bind(program)
                .bind(kind)
                .bind(frequency.code())
                .bind(deadline_days)
                .execute(&mut *self.tx)
                .await?;
            self.cache.scheduled.clear();
            let after = json!({"program_id": program, "kind": kind, "frequency": frequency.code(), "deadline_days": deadline_days});
            self.audit_step("set_schedule", "reporting_schedules", Some(program), None, Some(after)).await
        }
        .await;
        self.note(r)
    }

    /// Open a reporting period and assign the organizations that must report in it.
    pub async fn open_period(
        &mut self,
        program: i64,
        p: &NewPeriod,
        frequency: Frequency,
        orgs: &[i64],
    ) -> Result<i64> {
        self.live()?;
        let r = async {
            self.manager_only("统计期")?;
            if orgs.is_empty() {
                return Err(StoreError::Conflict("须至少指定一个报送单位".into()));
            }
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO reporting_periods (program_id, kind, code, frequency, start_date, end_date, deadline) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            )
            .bind(program)
            .bind(p.kind)
            .bind(&p.code)
            .bind(frequency.code())
            .bind(p.start.to_string())
            .bind(p.end.to_string())
            .bind(p.deadline.to_string())
            .fetch_one(&mut *self.tx)
            .await
            .map_err(|e| match crate::error::explain(e, "统计期") {
                StoreError::Conflict(_) => StoreError::Conflict(format!("统计期 {} 已存在", p.code)),
                other => other,
            })?;
            for o in orgs {
                sqlx::query("INSERT INTO reporting_assignments (period_id, org_id) VALUES ($1, $2)")
                    .bind(id)
                    .bind(*o)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(|e| crate::error::explain(e, "报送单位"))?;
            }
            let after = json!({"kind": p.kind, "code": p.code, "frequency": frequency.code(), "start": p.start.to_string(),
                "end": p.end.to_string(), "deadline": p.deadline.to_string(), "orgs": orgs});
            self.audit_step("open_period", "reporting_periods", Some(id), None, Some(after)).await?;
            let title = format!("待报送：{} {}", domain::reporting::kind_zh(p.kind), p.code);
            let body = format!("报送截止日期：{}", p.deadline);
            let dedupe = format!("due:{id}");
            let n = crate::followups::NewNotice {
                kind: "due",
                title: &title,
                body: &body,
                link: "/reporting",
                dedupe: Some(&dedupe),
            };
            self.notify_orgs_step(orgs, &n).await?;
            Ok(id)
        }
        .await;
        self.note(r)
    }

    /// The levels at which the actor's organization acts in the program's chain.
    async fn own_levels(&mut self, program: i64) -> Result<Vec<u32>> {
        let Some(org) = self.actor.org_id else { return Ok(Vec::new()) };
        if !self.actor.role.writes_records() {
            return Ok(Vec::new());
        }
        let ls: Vec<(i64,)> = sqlx::query_as("SELECT level FROM review_chain WHERE program_id = $1 AND org_id = $2")
            .bind(program)
            .bind(org.get())
            .fetch_all(&mut *self.tx)
            .await?;
        Ok(ls.into_iter().map(|(l,)| l as u32).collect())
    }

    /// Approve and lock a period (审核通过本期): refused while any of its records is reported
    /// and not yet approved; the lock keeps the level it was given at.
    pub async fn lock_period(&mut self, period_id: i64) -> Result<()> {
        self.live()?;
        let r = async {
            let p = self.store.reporting_period(period_id).await?;
            if p.locked {
                return Err(StoreError::Conflict(format!("统计期 {} 已锁定", p.code)));
            }
            let level = self.own_levels(p.program_id).await?.into_iter().max();
            let level = match (level, self.actor.role.manages_program()) {
                (Some(l), true) if l >= 2 || top_level(&mut self.tx, p.program_id).await? <= 1 => l,
                _ => {
                    return Err(StoreError::Forbidden(
                        "只有前方指挥部及以上审核层级的项目管理人员可以审核通过并锁定统计期".into(),
                    ))
                }
            };
            let pending: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM activities WHERE program_id = $1 AND date >= $2 AND date <= $3 \
                 AND review_state IN ('submitted', 'in_review')",
            )
            .bind(p.program_id)
            .bind(&p.start)
            .bind(&p.end)
            .fetch_one(&mut *self.tx)
            .await?;
            if pending > 0 {
                return Err(StoreError::Conflict(format!(
                    "统计期 {} 尚有 {pending} 条已上报记录未审核，不能锁定",
                    p.code
                )));
            }
            sqlx::query("UPDATE reporting_periods SET locked = 1, locked_level = $1, locked_at = $2 WHERE id = $3")
                .bind(level as i64)
                .bind(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                .bind(period_id)
                .execute(&mut *self.tx)
                .await?;
            self.cache.locked.clear();
            self.audit_step(
                "lock_period",
                "reporting_periods",
                Some(period_id),
                Some(json!({"locked": 0})),
                Some(json!({"locked": 1, "locked_level": level, "code": p.code})),
            )
            .await
        }
        .await;
        self.note(r)
    }

    /// Reopen a locked period: only from the level that locked it or above, with a reason.
    pub async fn reopen_period(&mut self, period_id: i64, reason: Option<&str>) -> Result<()> {
        self.live()?;
        let r = async {
            let p = self.store.reporting_period(period_id).await?;
            if !p.locked {
                return Err(StoreError::Conflict(format!("统计期 {} 未锁定", p.code)));
            }
            let why = domain::reporting::reason(reason)
                .map_err(|e| StoreError::Invalid(domain::Invalids(vec![e.at("reason", "重新打开原因")])))?;
            let mine = self.own_levels(p.program_id).await?.into_iter().max().unwrap_or(0) as i64;
            if mine < p.locked_level.unwrap_or(0) || mine == 0 {
                return Err(StoreError::Forbidden(format!(
                    "统计期 {} 由第 {} 级审核通过并锁定，只有该级或更高一级可以重新打开",
                    p.code,
                    p.locked_level.unwrap_or(0)
                )));
            }
            sqlx::query("UPDATE reporting_periods SET locked = 0, locked_level = NULL, locked_at = NULL WHERE id = $1")
                .bind(period_id)
                .execute(&mut *self.tx)
                .await?;
            self.cache.locked.clear();
            self.audit_step(
                "reopen_period",
                "reporting_periods",
                Some(period_id),
                Some(json!({"locked": 1, "locked_level": p.locked_level})),
                Some(json!({"locked": 0, "reason": why, "code": p.code})),
            )
            .await
        }
        .await;
        self.note(r)
    }

    /// Does the program report this kind on a schedule (its users' new records start as drafts)?
    async fn scheduled(&mut self, program: i64, kind: &str) -> Result<bool> {
        if let Some(b) = self.cache.scheduled.get(&(program, kind.to_string())) {
            return Ok(*b);
        }
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM reporting_schedules WHERE program_id = $1 AND kind = $2")
            .bind(program)
            .bind(kind)
            .fetch_one(&mut *self.tx)
            .await?;
        self.cache.scheduled.insert((program, kind.to_string()), n > 0);
        Ok(n > 0)
    }

    /// Refuse a write of a record dated in a locked period.
    pub(crate) async fn check_unlocked(&mut self, kind: &str, program: Option<i64>, date: Option<&str>) -> Result<()> {
        let (Some(program), Some(date)) = (program, date) else { return Ok(()) };
        let key = (program, kind.to_string());
        if !self.cache.locked.contains_key(&key) {
            let rows: Vec<(String, String, String)> = sqlx::query_as(
                "SELECT start_date, end_date, code FROM reporting_periods WHERE program_id = $1 AND kind = $2 AND locked = 1",
            )
            .bind(program)
            .bind(kind)
            .fetch_all(&mut *self.tx)
            .await?;
            self.cache.locked.insert(key.clone(), rows);
        }
        if let Some((_, _, code)) =
            self.cache.locked.get(&key).into_iter().flatten().find(|(s, e, _)| s.as_str() <= date && date <= e.as_str())
        {
            return Err(StoreError::Conflict(format!(
                "统计期 {code} 已审核通过并锁定，其中的记录不能新增、修改或删除；须由审核通过的层级重新打开"
            )));
        }
        Ok(())
    }

    /// The review guard of a new record: its period must be open; a user's record of a kind the
    /// program reports on a schedule starts as a draft, any other (the demo, the generator, a
    /// program without a cycle) as approved.
    pub(crate) async fn reviewed_insert(
        &mut self,
        table: &str,
        cols: &mut Vec<(String, Bound)>,
        shown: &mut Map<String, Value>,
    ) -> Result<()> {
        let Some(date_col) = domain::reporting::reviewed_date(table) else { return Ok(()) };
        let program = shown.get("program_id").and_then(Value::as_i64);
        let date = shown.get(date_col).and_then(Value::as_str).map(str::to_string);
        self.check_unlocked(table, program, date.as_deref()).await?;
        let draft = match program {
            Some(p) if self.actor.user_id.is_some() => self.scheduled(p, table).await?,
            _ => false,
        };
        let state = if draft { State::Draft } else { State::Approved };
        cols.push(("review_state".into(), Bound::Text(Some(state.code().into()))));
        shown.insert("review_state".into(), Value::from(state.code()));
        Ok(())
    }

    /// The review guard of a change or a delete: the record's period (before and after) must be
    /// open, and a reporter changes only its drafts and returned records.
    pub(crate) async fn reviewed_change(
        &mut self,
        table: &str,
        before: &Map<String, Value>,
        after: Option<&Map<String, Value>>,
    ) -> Result<()> {
        let Some(date_col) = domain::reporting::reviewed_date(table) else { return Ok(()) };
        let program = before.get("program_id").and_then(Value::as_i64);
        self.check_unlocked(table, program, before.get(date_col).and_then(Value::as_str)).await?;
        if let Some(a) = after {
            let p = a.get("program_id").and_then(Value::as_i64).or(program);
            self.check_unlocked(table, p, a.get(date_col).and_then(Value::as_str)).await?;
        }
        let state =
            before.get("review_state").and_then(Value::as_str).and_then(State::parse).unwrap_or(State::Approved);
        if self.actor.role == Role::Reporter && !state.editable() {
            return Err(StoreError::Forbidden(format!(
                "记录已{}，填报单位不能修改或删除；如需修改，须由审核单位退回",
                state.zh()
            )));
        }
        Ok(())
    }

    /// Organization ids by code, in order; an unknown code is refused naming it.
    pub async fn org_ids(&mut self, codes: &[&str]) -> Result<Vec<i64>> {
        let mut out = Vec::new();
        for c in codes {
            let id: Option<i64> = sqlx::query_scalar("SELECT id FROM organizations WHERE code = $1")
                .bind(*c)
                .fetch_optional(&mut *self.tx)
                .await?;
            out.push(id.ok_or_else(|| StoreError::Conflict(format!("单位代码“{c}”不存在")))?);
        }
        Ok(out)
    }

    /// Record a unit's report of a period on a given day: the history a data load brings
    /// (the demo, a migration from another system). Only the system actor, audited.
    pub async fn record_reported(&mut self, period_id: i64, org_id: i64, on: Date) -> Result<()> {
        self.live()?;
        let r = async {
            if self.actor.user_id.is_some() {
                return Err(StoreError::Forbidden("报送日期由系统在上报时记录".into()));
            }
            let n =
                sqlx::query("UPDATE reporting_assignments SET submitted_on = $1 WHERE period_id = $2 AND org_id = $3")
                    .bind(on.to_string())
                    .bind(period_id)
                    .bind(org_id)
                    .execute(&mut *self.tx)
                    .await?
                    .rows_affected();
            if n == 0 {
                return Err(StoreError::Conflict("该单位不在本期报送范围内".into()));
            }
            self.audit_step(
                "period_reported",
                "reporting_assignments",
                Some(period_id),
                None,
                Some(json!({"period_id": period_id, "org_id": org_id, "submitted_on": on.to_string()})),
            )
            .await
        }
        .await;
        self.note(r)
    }
}
