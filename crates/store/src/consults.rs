//! The remote imaging centre's consultation requests (会诊申请, migration 0013): made by a writing
//! user of the county hospital, owned by the Jiangxi hospital whose 院包科 pairing covers the
//! department asked on that day, offered to the experts on that department's duty roster, accepted
//! or declined (with a reason) by them, reassigned by a manager. Every step is audited with the row
//! before and after and kept, timestamped, in `imaging_request_events`, where the turnaround
//! clocks will read it. A refused request names its field and writes nothing.

use crate::error::{Result, StoreError};
use crate::{Store, Tx};
use base64::Engine as _;
use domain::audit::Actor;
use domain::imaging::{
    report_step, title_meets, CheckedRequest, NewRequest, ReportAction, ReportStanding, ReportState, ReportText,
    RequestState, TatTarget,
};
use serde::Serialize;
use serde_json::{json, Value};

/// A setting's value (`settings`), read on `conn` (the pool, or the transaction's connection).
pub(crate) async fn setting(conn: &mut sqlx::AnyConnection, key: &str) -> Result<Option<String>> {
    Ok(sqlx::query_scalar("SELECT value FROM settings WHERE key = $1").bind(key).fetch_optional(conn).await?)
}

impl Tx<'_> {
    /// Replace a setting's value in this transaction; returns the value before.
    pub(crate) async fn put_setting(&mut self, key: &str, value: &str) -> Result<Option<String>> {
        let before = setting(&mut self.tx, key).await?;
        sqlx::query("DELETE FROM settings WHERE key = $1").bind(key).execute(&mut *self.tx).await?;
        sqlx::query("INSERT INTO settings (key, value) VALUES ($1, $2)")
            .bind(key)
            .bind(value)
            .execute(&mut *self.tx)
            .await?;
        Ok(before)
    }
}

fn invalid(field: &str, label: &str, rule: &str, message: String) -> StoreError {
    StoreError::Invalid(domain::Invalids(vec![domain::Invalid::new(field, label, rule, message)]))
}

/// One line of a department's duty roster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Expert {
    pub id: i64,
    pub user_id: i64,
    pub user_name: String,
    pub department_org_id: i64,
    pub department: String,
    pub title: String,
    pub on_duty: bool,
}

/// A request as kept (the patient's 身份证号 only as its mask).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Request {
    pub id: i64,
    pub program_id: i64,
    pub requesting_org_id: i64,
    pub requesting_org: String,
    pub requested_by: Option<i64>,
    pub department_org_id: i64,
    pub department: String,
    pub owner_org_id: i64,
    pub owner: String,
    pub pairing_id: i64,
    pub patient_name: String,
    pub patient_sex: String,
    pub patient_age: i64,
    pub patient_id_number_mask: Option<String>,
    pub exam: String,
    pub modality: String,
    pub body_part: String,
    pub clinical_question: String,
    pub case_summary: String,
    pub priority: String,
    pub expert_title: String,
    pub state: String,
    pub assignee_user_id: Option<i64>,
    pub assignee: Option<String>,
    pub requested_at: String,
    pub updated_at: String,
    pub patient_source: String,
    pub complex: bool,
    /// What became of the patient, as the requesting hospital recorded it: `local` (treated in
    /// the county: a transfer avoided) or `transferred`; `None` until recorded.
    pub outcome: Option<String>,
    /// The turnaround kept at the report's first issue: minutes from the clock's start, and
    /// whether within the target then in force (`None` without a target).
    pub tat_minutes: Option<i64>,
    pub on_time: Option<bool>,
    pub issued_at: Option<String>,
}

impl Request {
    pub fn state(&self) -> Option<RequestState> {
        RequestState::parse(&self.state)
    }
}

/// A request's images as the PACS reported them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Images {
    pub complete: bool,
    pub series: i64,
    pub instances: i64,
    /// When the last of its studies became complete (None while one is not).
    pub complete_at: Option<String>,
}

const TAT_SETTING: &str = "imaging_tat_targets";

/// One timestamped step of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    pub at: String,
    pub action: String,
    pub by_user_id: Option<i64>,
    pub to_user_id: Option<i64>,
    pub reason: Option<String>,
}

const REQUEST_SELECT: &str = "SELECT r.id, r.program_id, r.requesting_org_id, ro.name, r.requested_by, \
     r.department_org_id, d.name, r.owner_org_id, ow.name, r.pairing_id, r.patient_name, r.patient_sex, \
     r.patient_age, r.patient_id_number_mask, r.exam, r.modality, r.body_part, r.clinical_question, r.case_summary, \
     r.priority, r.expert_title, r.state, r.assignee_user_id, u.name, r.requested_at, r.updated_at, \
     r.patient_source, r.complex, r.outcome, r.tat_minutes, r.on_time, r.issued_at FROM imaging_requests r JOIN organizations ro ON ro.id = r.requesting_org_id \
     JOIN organizations d ON d.id = r.department_org_id JOIN organizations ow ON ow.id = r.owner_org_id \
     LEFT JOIN users u ON u.id = r.assignee_user_id";

fn request_of(r: &sqlx::any::AnyRow) -> Result<Request> {
    use sqlx::Row;
    Ok(Request {
        id: r.try_get(0)?,
        program_id: r.try_get(1)?,
        requesting_org_id: r.try_get(2)?,
        requesting_org: r.try_get(3)?,
        requested_by: r.try_get(4)?,
        department_org_id: r.try_get(5)?,
        department: r.try_get(6)?,
        owner_org_id: r.try_get(7)?,
        owner: r.try_get(8)?,
        pairing_id: r.try_get(9)?,
        patient_name: r.try_get(10)?,
        patient_sex: r.try_get(11)?,
        patient_age: r.try_get(12)?,
        patient_id_number_mask: r.try_get(13)?,
        exam: r.try_get(14)?,
        modality: r.try_get(15)?,
        body_part: r.try_get(16)?,
        clinical_question: r.try_get(17)?,
        case_summary: r.try_get(18)?,
        priority: r.try_get(19)?,
        expert_title: r.try_get(20)?,
        state: r.try_get(21)?,
        assignee_user_id: r.try_get(22)?,
        assignee: r.try_get(23)?,
        requested_at: r.try_get(24)?,
        updated_at: r.try_get(25)?,
        patient_source: r.try_get(26)?,
        complex: r.try_get::<i64, _>(27)? != 0,
        outcome: r.try_get(28)?,
        tat_minutes: r.try_get(29)?,
        on_time: r.try_get::<Option<i64>, _>(30)?.map(|v| v != 0),
        issued_at: r.try_get(31)?,
    })
}

/// The hospital that owns `department` under a 院包科 pairing current on `day`, with the pairing
/// and its program: the most recently begun when two overlap.
async fn owner_of(conn: &mut sqlx::AnyConnection, department: i64, day: &str) -> Result<Option<(i64, i64, i64)>> {
    let row: Option<(i64, i64, i64)> = sqlx::query_as(
        "SELECT a_org_id, id, program_id FROM pairings WHERE type_code = 'hospital_department' AND b_org_id = $1 \
         AND a_org_id IS NOT NULL AND start_date <= $2 AND (end_date IS NULL OR end_date >= $2) \
         ORDER BY start_date DESC, id DESC LIMIT 1",
    )
    .bind(department)
    .bind(day)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row)
}

impl Store {
    /// A request, whoever asks (the callers check who may see it: [`Store::imaging_request_for`]).
    pub(crate) async fn imaging_request(&self, id: i64) -> Result<Request> {
        let row =
            sqlx::query(&format!("{REQUEST_SELECT} WHERE r.id = $1")).bind(id).fetch_optional(self.pool()).await?;
        row.as_ref()
            .map(request_of)
            .transpose()?
            .ok_or(StoreError::NotFound { what: "会诊申请", id: id.to_string() })
    }

    /// May `actor` see this request? A manager (项目管理, the front command: the whole program);
    /// the requesting hospital's users (its organization or one above it); the expert it is
    /// offered to or accepted by; an expert on the department's roster while it waits in the queue.
    async fn sees_request(&self, actor: &Actor, r: &Request) -> Result<bool> {
        let user = actor.user_id.map(|u| u.get());
        if actor.role.manages_program() {
            return Ok(true);
        }
        if user.is_some() && r.assignee_user_id == user {
            return Ok(true);
        }
        let Some(org) = actor.org_id.map(|o| o.get()) else { return Ok(false) };
        let mut conn = self.pool().acquire().await?;
        if matches!(
            actor.role,
            domain::users::Role::Manager | domain::users::Role::Reporter | domain::users::Role::Viewer
        ) && crate::reporting::holds(&mut conn, org, r.requesting_org_id).await?
        {
            return Ok(true);
        }
        if r.state == "queued" {
            if let Some(u) = user {
                let on: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM imaging_experts WHERE user_id = $1 AND department_org_id = $2",
                )
                .bind(u)
                .bind(r.department_org_id)
                .fetch_one(&mut *conn)
                .await?;
                return Ok(on > 0);
            }
        }
        Ok(false)
    }

    /// The hospital that owns a county-hospital department today under a 院包科 pairing: its id
    /// and code.
    pub async fn imaging_owner(&self, department: i64) -> Result<Option<(i64, String)>> {
        let today = crate::reporting::today().to_string();
        let mut conn = self.pool().acquire().await?;
        let Some((owner, _, _)) = owner_of(&mut conn, department, &today).await? else { return Ok(None) };
        let code: String = sqlx::query_scalar("SELECT code FROM organizations WHERE id = $1")
            .bind(owner)
            .fetch_one(&mut *conn)
            .await?;
        Ok(Some((owner, code)))
    }

    /// The assigned expert opened the viewer of a request: audited like any read of personal data.
    pub async fn log_viewer_opened(&self, actor: &Actor, request: i64) -> Result<()> {
        let mut tx = self.begin_audited(actor).await?;
        tx.audit("imaging_viewer", "imaging_requests", Some(request), None, None).await?;
        tx.commit().await
    }

    /// A viewer link's token for `user` on `request` until `expires` (Unix seconds):
    /// `REQUEST.EXPIRES.MAC`, the MAC an HMAC-SM3 under the database's key of all three, so that
    /// nobody can make one or move one to another request, user or time.
    pub fn viewer_token(&self, request: i64, user: i64, expires: i64) -> String {
        let mac = self.crypto().lookup_hash(&format!("imaging-viewer:{request}:{user}:{expires}"));
        format!("{request}.{expires}.{mac}")
    }

    /// The request a viewer link opens for `actor` at `now` (Unix seconds): the token is its own
    /// (made for this user), not expired, and the request is still assigned to this user — a
    /// reassignment ends it. Anything else is "not found", the try audited on the request.
    pub async fn viewer_request(&self, actor: &Actor, token: &str, now: i64) -> Result<Request> {
        let not_found = || StoreError::NotFound { what: "阅片链接", id: String::new() };
        let mut parts = token.splitn(3, '.');
        let (Some(request), Some(expires), Some(_)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(not_found());
        };
        let (Ok(request), Ok(expires)) = (request.parse::<i64>(), expires.parse::<i64>()) else {
            return Err(not_found());
        };
        let Some(user) = actor.user_id.map(|u| u.get()) else { return Err(not_found()) };
        let expected = self.viewer_token(request, user, expires);
        let mine = expected.len() == token.len()
            && expected.bytes().zip(token.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
        let assigned = match self.imaging_request(request).await {
            Ok(r) if mine && now <= expires && r.assignee_user_id == Some(user) => Some(r),
            Ok(_) | Err(StoreError::NotFound { .. }) => None,
            Err(e) => return Err(e),
        };
        match assigned {
            Some(r) => Ok(r),
            None => {
                if request > 0 {
                    self.log_denied(actor, "imaging_requests", request).await?;
                }
                Err(not_found())
            }
        }
    }

    /// Which of these requests `actor` may see (the rule of [`Store::imaging_request_for`], not
    /// audited: a figure's listing shows these and counts the others without naming them).
    pub async fn imaging_visible_ids(&self, actor: &Actor, ids: &[i64]) -> Result<std::collections::HashSet<i64>> {
        let mut out = std::collections::HashSet::new();
        for &id in ids {
            if out.contains(&id) {
                continue;
            }
            match self.imaging_request(id).await {
                Ok(r) if self.sees_request(actor, &r).await? => {
                    out.insert(id);
                }
                Ok(_) | Err(StoreError::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// A request if `actor` may see it; "not found" (and the attempt audited) otherwise.
    pub async fn imaging_request_for(&self, actor: &Actor, id: i64) -> Result<Request> {
        let r = match self.imaging_request(id).await {
            Ok(r) => r,
            Err(StoreError::NotFound { .. }) => {
                self.log_denied(actor, "imaging_requests", id).await?;
                return Err(StoreError::NotFound { what: "会诊申请", id: id.to_string() });
            }
            Err(e) => return Err(e),
        };
        if !self.sees_request(actor, &r).await? {
            self.log_denied(actor, "imaging_requests", id).await?;
            return Err(StoreError::NotFound { what: "会诊申请", id: id.to_string() });
        }
        Ok(r)
    }

    /// The steps of a request, in order.
    pub async fn imaging_request_events(&self, id: i64) -> Result<Vec<Event>> {
        let rows: Vec<EventRow> = sqlx::query_as(
            "SELECT at, action, by_user_id, to_user_id, reason FROM imaging_request_events WHERE request_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(at, action, by_user_id, to_user_id, reason)| Event { at, action, by_user_id, to_user_id, reason })
            .collect())
    }

    /// The studies a request asks about.
    pub async fn imaging_request_studies(&self, id: i64) -> Result<Vec<crate::imaging::Study>> {
        let uids: Vec<String> = sqlx::query_scalar(
            "SELECT s.study_uid FROM imaging_request_studies rs JOIN imaging_studies s ON s.id = rs.study_id \
             WHERE rs.request_id = $1 ORDER BY s.id",
        )
        .bind(id)
        .fetch_all(self.pool())
        .await?;
        let mut out = Vec::new();
        for u in uids {
            if let Some(s) = self.imaging_study_by_uid(&u).await? {
                out.push(s);
            }
        }
        Ok(out)
    }

    /// The worklist: the requests `actor` may see, open ones first (emergencies first, then by time
    /// asked), then those reported or confirmed, latest first; at most
    /// `limit`. A manager (the whole program) sees all; anyone else those its organization's
    /// subtree requested, those offered to or accepted by it, and the queue of the departments
    /// whose roster it is on.
    pub async fn imaging_worklist(&self, actor: &Actor, limit: i64) -> Result<Vec<Request>> {
        // Open work first — emergencies first, then by time asked —, then what is done, latest first.
        let order = "ORDER BY CASE WHEN r.state IN ('reported', 'confirmed') THEN 1 ELSE 0 END, \
             CASE WHEN r.state IN ('reported', 'confirmed') THEN 0 \
             WHEN r.priority = 'emergency' THEN 0 WHEN r.priority = 'urgent' THEN 1 ELSE 2 END, \
             CASE WHEN r.state IN ('reported', 'confirmed') THEN r.requested_at END DESC, r.requested_at, r.id";
        let limit = limit.clamp(1, 5_000);
        let rows = if actor.role.manages_program() {
            sqlx::query(&format!("{REQUEST_SELECT} {order} LIMIT $1")).bind(limit).fetch_all(self.pool()).await?
        } else {
            if !matches!(
                actor.role,
                domain::users::Role::Manager | domain::users::Role::Reporter | domain::users::Role::Viewer
            ) {
                return Ok(Vec::new());
            }
            let user = actor.user_id.map(|u| u.get()).unwrap_or(0);
            let org = actor.org_id.map(|o| o.get()).unwrap_or(0);
            sqlx::query(&format!(
                "{REQUEST_SELECT} WHERE r.assignee_user_id = $1 \
                 OR (r.state = 'queued' AND r.department_org_id IN (SELECT department_org_id FROM imaging_experts WHERE user_id = $1)) \
                 OR ro.path LIKE (SELECT path FROM organizations WHERE id = $2) || '%' \
                 {order} LIMIT $3"
            ))
            .bind(user)
            .bind(org)
            .bind(limit)
            .fetch_all(self.pool())
            .await?
        };
        rows.iter().map(request_of).collect()
    }

    /// For each of these requests, its images as the PACS reported them: complete when every
    /// study of it is (then since the last of them became so), the series and instances.
    pub async fn imaging_images(&self, ids: &[i64]) -> Result<std::collections::HashMap<i64, Images>> {
        let mut out: std::collections::HashMap<i64, Images> = std::collections::HashMap::new();
        for chunk in ids.chunks(500) {
            let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT rs.request_id, s.state, s.series_count, s.instance_count, s.complete_at FROM imaging_request_studies rs \
                 JOIN imaging_studies s ON s.id = rs.study_id WHERE rs.request_id IN ({})",
                marks.join(", ")
            );
            let mut q = sqlx::query_as::<_, (i64, String, i64, i64, Option<String>)>(&sql);
            for id in chunk {
                q = q.bind(*id);
            }
            for (id, state, series, instances, complete_at) in q.fetch_all(self.pool()).await? {
                let e = out.entry(id).or_insert(Images { complete: true, series: 0, instances: 0, complete_at: None });
                e.complete &= state == "complete";
                e.series += series;
                e.instances += instances;
                e.complete_at = match (e.complete_at.take(), complete_at) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    (a, b) => a.or(b),
                };
            }
        }
        for e in out.values_mut() {
            if !e.complete {
                e.complete_at = None;
            }
        }
        Ok(out)
    }

    /// When each of these requests' report was first issued.
    pub async fn imaging_issued(&self, ids: &[i64]) -> Result<std::collections::HashMap<i64, String>> {
        let mut out = std::collections::HashMap::new();
        for chunk in ids.chunks(500) {
            let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT request_id, MIN(at) FROM imaging_request_events WHERE action = 'report_issued' \
                 AND request_id IN ({}) GROUP BY request_id",
                marks.join(", ")
            );
            let mut q = sqlx::query_as::<_, (i64, String)>(&sql);
            for id in chunk {
                q = q.bind(*id);
            }
            out.extend(q.fetch_all(self.pool()).await?);
        }
        Ok(out)
    }

    /// The centre's turnaround targets (the defaults until a manager sets its own).
    pub async fn imaging_tat_targets(&self) -> Result<Vec<TatTarget>> {
        targets_of(setting(&mut *self.pool().acquire().await?, TAT_SETTING).await?)
    }

    /// The county hospital's departments owned today under a 院包科 pairing: (department, its
    /// name, the owning hospital's name).
    pub async fn imaging_departments(&self) -> Result<Vec<(i64, String, String)>> {
        let today = crate::reporting::today().to_string();
        let rows: Vec<(i64, String, String)> = sqlx::query_as(
            "SELECT d.id, d.name, h.name FROM pairings p JOIN organizations d ON d.id = p.b_org_id \
             JOIN organizations h ON h.id = p.a_org_id WHERE p.type_code = 'hospital_department' \
             AND p.start_date <= $1 AND (p.end_date IS NULL OR p.end_date >= $1) ORDER BY d.code, p.start_date DESC",
        )
        .bind(today)
        .fetch_all(self.pool())
        .await?;
        let mut seen = std::collections::HashSet::new();
        Ok(rows.into_iter().filter(|(d, _, _)| seen.insert(*d)).collect())
    }

    /// The departments a user reads for, with the title and duty.
    pub async fn imaging_roster_of(&self, user: i64) -> Result<Vec<Expert>> {
        let rows: Vec<ExpertRow> = sqlx::query_as(
            "SELECT e.id, e.user_id, u.name, e.department_org_id, d.name, e.title, e.on_duty FROM imaging_experts e \
             JOIN users u ON u.id = e.user_id JOIN organizations d ON d.id = e.department_org_id \
             WHERE e.user_id = $1 ORDER BY d.code",
        )
        .bind(user)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(expert_of).collect())
    }

    /// The consent document of a request `actor` may see: (name, type, SM3, bytes).
    pub async fn imaging_consent_for(&self, actor: &Actor, id: i64) -> Result<(String, String, String, Vec<u8>)> {
        self.imaging_request_for(actor, id).await?;
        let row: Option<(String, String, String, String)> =
            sqlx::query_as("SELECT name, content_type, sm3, data FROM imaging_consents WHERE request_id = $1")
                .bind(id)
                .fetch_optional(self.pool())
                .await?;
        let (name, ty, sm3, data) = row.ok_or(StoreError::NotFound { what: "知情同意书", id: id.to_string() })?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(data)
            .map_err(|e| StoreError::Integrity(format!("会诊申请 {id} 的知情同意书无法解码：{e}")))?;
        Ok((name, ty, sm3, bytes))
    }

    /// A department's duty roster.
    pub async fn imaging_experts(&self, department: i64) -> Result<Vec<Expert>> {
        let rows: Vec<ExpertRow> = sqlx::query_as(
            "SELECT e.id, e.user_id, u.name, e.department_org_id, d.name, e.title, e.on_duty FROM imaging_experts e \
             JOIN users u ON u.id = e.user_id JOIN organizations d ON d.id = e.department_org_id \
             WHERE e.department_org_id = $1 ORDER BY e.id",
        )
        .bind(department)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(expert_of).collect())
    }
}

type EventRow = (String, String, Option<i64>, Option<i64>, Option<String>);

type ExpertRow = (i64, i64, String, i64, String, String, i64);

fn expert_of((id, user_id, user_name, department_org_id, department, title, on): ExpertRow) -> Expert {
    Expert { id, user_id, user_name, department_org_id, department, title, on_duty: on != 0 }
}

impl Tx<'_> {
    /// Put a user on a department's duty roster, or change its title or duty (项目管理 only). The
    /// user must belong to the hospital that owns the department today.
    pub async fn set_imaging_expert(&mut self, user: i64, department: i64, title: &str, on_duty: bool) -> Result<i64> {
        self.live()?;
        let r = self.set_expert_step(user, department, title, on_duty).await;
        self.note(r)
    }

    async fn set_expert_step(&mut self, user: i64, department: i64, title: &str, on_duty: bool) -> Result<i64> {
        if !self.actor.role.manages_program() {
            return Err(StoreError::Forbidden("只有“项目管理”角色可以排班".into()));
        }
        let title = match domain::imaging::parse_title(title) {
            Ok("any") | Err(_) => {
                return Err(invalid(
                    "title",
                    "专家职称",
                    "主治医师、副主任医师或主任医师",
                    format!("“{title}”不是专家职称"),
                ))
            }
            Ok(t) => t,
        };
        let today = crate::reporting::today().to_string();
        let Some((owner, _, _)) = owner_of(&mut self.tx, department, &today).await? else {
            return Err(invalid(
                "department_id",
                "科室",
                "由江西医院院包科结对帮扶的县医院科室",
                format!("科室 {department} 目前没有院包科结对的江西医院"),
            ));
        };
        let org: Option<Option<i64>> = sqlx::query_scalar("SELECT org_id FROM users WHERE id = $1")
            .bind(user)
            .fetch_optional(&mut *self.tx)
            .await?;
        let Some(org) = org else {
            return Err(invalid("user_id", "专家", "存在", format!("用户 {user} 不存在")));
        };
        let belongs = match org {
            Some(o) => crate::reporting::holds(&mut self.tx, owner, o).await?,
            None => false,
        };
        if !belongs {
            return Err(invalid(
                "user_id",
                "专家",
                "包科医院的用户",
                format!("用户 {user} 不属于包该科室的医院，不能为其值班"),
            ));
        }
        let id: Option<i64> =
            sqlx::query_scalar("SELECT id FROM imaging_experts WHERE department_org_id = $1 AND user_id = $2")
                .bind(department)
                .bind(user)
                .fetch_optional(&mut *self.tx)
                .await?;
        let now = self.now();
        let on = i64::from(on_duty);
        let (id, before) = match id {
            Some(id) => {
                let before = self.row_json("imaging_experts", id).await?.map(Value::Object);
                sqlx::query("UPDATE imaging_experts SET title = $1, on_duty = $2, updated_at = $3 WHERE id = $4")
                    .bind(title)
                    .bind(on)
                    .bind(&now)
                    .bind(id)
                    .execute(&mut *self.tx)
                    .await?;
                (id, before)
            }
            None => {
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO imaging_experts (user_id, department_org_id, title, on_duty, updated_at) \
                     VALUES ($1, $2, $3, $4, $5) RETURNING id",
                )
                .bind(user)
                .bind(department)
                .bind(title)
                .bind(on)
                .bind(&now)
                .fetch_one(&mut *self.tx)
                .await?;
                (id, None)
            }
        };
        let after = self.row_json("imaging_experts", id).await?.map(Value::Object);
        self.audit_step("imaging_duty", "imaging_experts", Some(id), before, after).await?;
        Ok(id)
    }

    /// Make a consultation request as the actor (a writing user of the requesting hospital): its
    /// own rules, then the department owned today, the studies known to the PACS and not removed;
    /// then it is offered to the least-loaded expert on duty who meets the title asked, or queued
    /// at the owning hospital. Returns its id.
    pub async fn request_imaging(&mut self, r: &NewRequest) -> Result<i64> {
        self.live()?;
        let res = self.request_step(r).await;
        self.note(res)
    }

    async fn request_step(&mut self, r: &NewRequest) -> Result<i64> {
        let org = match self.actor.org_id {
            Some(o) if self.actor.role.writes_records() && self.actor.user_id.is_some() => o.get(),
            _ => {
                return Err(StoreError::Forbidden("只有申请医院的填报用户可以提出会诊申请".into()));
            }
        };
        let side: Option<String> = sqlx::query_scalar("SELECT side FROM organizations WHERE id = $1")
            .bind(org)
            .fetch_optional(&mut *self.tx)
            .await?;
        if side.as_deref() != Some("recipient") {
            return Err(StoreError::Forbidden("只有受援方医疗机构的用户可以提出会诊申请".into()));
        }
        let c: CheckedRequest = r.check().map_err(StoreError::Invalid)?;
        let kind: Option<String> = sqlx::query_scalar("SELECT kind FROM organizations WHERE id = $1")
            .bind(c.department_id)
            .fetch_optional(&mut *self.tx)
            .await?;
        match kind.as_deref() {
            Some("department") => {}
            Some(_) => {
                return Err(invalid(
                    "department_id",
                    "会诊科室",
                    "县医院的一个科室",
                    format!("单位 {} 不是科室", c.department_id),
                ))
            }
            None => {
                return Err(invalid("department_id", "会诊科室", "存在", format!("科室 {} 不存在", c.department_id)))
            }
        }
        let today = beijing_day(self.clock());
        let Some((owner, pairing, program)) = owner_of(&mut self.tx, c.department_id, &today).await? else {
            let name: String = sqlx::query_scalar("SELECT name FROM organizations WHERE id = $1")
                .bind(c.department_id)
                .fetch_one(&mut *self.tx)
                .await?;
            return Err(invalid(
                "department_id",
                "会诊科室",
                "由江西医院院包科结对帮扶的科室",
                format!("“{name}”目前没有院包科结对的江西医院，无人受理"),
            ));
        };
        let mut studies = Vec::new();
        for uid in &c.study_uids {
            let s: Option<(i64, String)> = sqlx::query_as("SELECT id, state FROM imaging_studies WHERE study_uid = $1")
                .bind(uid)
                .fetch_optional(&mut *self.tx)
                .await?;
            match s {
                Some((id, state)) if state != "deleted" => studies.push(id),
                Some(_) => {
                    return Err(invalid(
                        "study_uids",
                        "关联检查",
                        "影像平台上现有的检查",
                        format!("检查 {uid} 已从影像平台删除"),
                    ))
                }
                None => {
                    return Err(invalid(
                        "study_uids",
                        "关联检查",
                        "已传到影像平台的检查",
                        format!("影像平台上没有检查 {uid}（图像须先传到影像平台）"),
                    ))
                }
            }
        }
        let now = self.now();
        let store = self.store;
        let crypto = store.crypto();
        let (enc, hash, mask) = match &c.patient_id_number {
            Some(s) => (Some(crypto.encrypt(&s.clear)?), Some(crypto.lookup_hash(&s.clear)), Some(s.masked.clone())),
            None => (None, None, None),
        };
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO imaging_requests (program_id, requesting_org_id, requested_by, department_org_id, owner_org_id, \
             pairing_id, patient_name, patient_sex, patient_age, patient_id_number_enc, patient_id_number_hash, \
             patient_id_number_mask, exam, modality, body_part, clinical_question, case_summary, priority, expert_title, \
             consent, state, requested_at, updated_at, patient_source, complex, requested_on) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, 1, 'queued', $20, $20, \
             $21, $22, $23) RETURNING id",
        )
        .bind(program)
        .bind(org)
        .bind(self.actor.user_id.map(|u| u.get()))
        .bind(c.department_id)
        .bind(owner)
        .bind(pairing)
        .bind(&c.patient_name)
        .bind(c.patient_sex)
        .bind(c.patient_age)
        .bind(enc)
        .bind(hash)
        .bind(mask)
        .bind(&c.exam)
        .bind(c.modality)
        .bind(&c.body_part)
        .bind(&c.clinical_question)
        .bind(&c.case_summary)
        .bind(c.priority.code())
        .bind(c.expert_title)
        .bind(&now)
        .bind(c.patient_source)
        .bind(i64::from(c.complex))
        .bind(&today)
        .fetch_one(&mut *self.tx)
        .await
        .map_err(|e| crate::error::explain(e, "会诊申请"))?;
        for s in &studies {
            sqlx::query("INSERT INTO imaging_request_studies (request_id, study_id) VALUES ($1, $2)")
                .bind(id)
                .bind(*s)
                .execute(&mut *self.tx)
                .await?;
        }
        use sm3::Digest as _;
        let digest = hex::encode(sm3::Sm3::digest(&c.consent.bytes));
        sqlx::query(
            "INSERT INTO imaging_consents (request_id, name, content_type, size, sm3, data, uploaded_by, uploaded_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(id)
        .bind(&c.consent.file_name)
        .bind(&c.consent.content_type)
        .bind(c.consent.bytes.len() as i64)
        .bind(&digest)
        .bind(base64::engine::general_purpose::STANDARD.encode(&c.consent.bytes))
        .bind(self.actor.user_id.map(|u| u.get()))
        .bind(&now)
        .execute(&mut *self.tx)
        .await?;
        let mut after = self.row_json("imaging_requests", id).await?.unwrap_or_default();
        after.insert("studies".into(), json!(studies));
        after.insert(
            "consent_file".into(),
            json!({"name": c.consent.file_name, "size": c.consent.bytes.len(), "sm3": digest}),
        );
        self.audit_step("imaging_request", "imaging_requests", Some(id), None, Some(Value::Object(after))).await?;
        self.event(id, "requested", None, None, &now).await?;
        self.offer_next(id, &now).await?;
        Ok(id)
    }

    /// One timestamped step.
    async fn event(&mut self, id: i64, action: &str, to: Option<i64>, reason: Option<&str>, at: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO imaging_request_events (request_id, at, action, by_user_id, to_user_id, reason) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(at)
        .bind(action)
        .bind(self.actor.user_id.map(|u| u.get()))
        .bind(to)
        .bind(reason)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Offer the request to the expert on duty for its department, of the owning hospital, who
    /// meets the title asked, has not declined it, and has the fewest requests open (then the
    /// earliest on the roster); queued at the owning hospital when there is none.
    async fn offer_next(&mut self, id: i64, now: &str) -> Result<()> {
        let (department, owner, title): (i64, i64, String) =
            sqlx::query_as("SELECT department_org_id, owner_org_id, expert_title FROM imaging_requests WHERE id = $1")
                .bind(id)
                .fetch_one(&mut *self.tx)
                .await?;
        let candidates: Vec<(i64, String, Option<i64>, i64)> = sqlx::query_as(
            "SELECT e.user_id, e.title, u.org_id, \
             (SELECT COUNT(*) FROM imaging_requests o WHERE o.assignee_user_id = e.user_id AND o.state IN ('offered', 'accepted')) \
             FROM imaging_experts e JOIN users u ON u.id = e.user_id \
             WHERE e.department_org_id = $1 AND e.on_duty = 1 AND NOT EXISTS (SELECT 1 FROM imaging_request_events v \
             WHERE v.request_id = $2 AND v.action = 'declined' AND v.by_user_id = e.user_id) \
             ORDER BY 4, e.id",
        )
        .bind(department)
        .bind(id)
        .fetch_all(&mut *self.tx)
        .await?;
        let mut chosen = None;
        for (user, has, org, _) in candidates {
            let Some(org) = org else { continue };
            if title_meets(&has, &title) && crate::reporting::holds(&mut self.tx, owner, org).await? {
                chosen = Some(user);
                break;
            }
        }
        self.move_to(id, chosen, if chosen.is_some() { "offered" } else { "queued" }, now).await?;
        self.event(id, if chosen.is_some() { "offered" } else { "queued" }, chosen, None, now).await?;
        self.tell(id, chosen, owner).await
    }

    /// The request's new state and assignee, audited with the row before and after.
    async fn move_to(&mut self, id: i64, assignee: Option<i64>, state: &str, now: &str) -> Result<()> {
        let before = self.row_json("imaging_requests", id).await?.map(Value::Object);
        self.move_from(before, id, assignee, state, now).await
    }

    /// [`Self::move_to`] from the row as it was before this step began.
    async fn move_from(
        &mut self,
        before: Option<Value>,
        id: i64,
        assignee: Option<i64>,
        state: &str,
        now: &str,
    ) -> Result<()> {
        sqlx::query("UPDATE imaging_requests SET state = $1, assignee_user_id = $2, updated_at = $3 WHERE id = $4")
            .bind(state)
            .bind(assignee)
            .bind(now)
            .bind(id)
            .execute(&mut *self.tx)
            .await?;
        let after = self.row_json("imaging_requests", id).await?.map(Value::Object);
        self.audit_step(&format!("imaging_{state}"), "imaging_requests", Some(id), before, after).await
    }

    /// Tell the expert it was offered to, or the owning hospital's users that it waits in their queue.
    async fn tell(&mut self, id: i64, to: Option<i64>, owner: i64) -> Result<()> {
        let (exam, priority, department): (String, String, String) = sqlx::query_as(
            "SELECT r.exam, r.priority, d.name FROM imaging_requests r JOIN organizations d ON d.id = r.department_org_id \
             WHERE r.id = $1",
        )
        .bind(id)
        .fetch_one(&mut *self.tx)
        .await?;
        let p = domain::imaging::Priority::parse(&priority).map(|p| p.label()).unwrap_or("常规");
        let title = format!("远程影像会诊（{p}）：{department}");
        let body = format!("检查项目：{exam}");
        let link = format!("/imaging/requests/{id}");
        let n = crate::followups::NewNotice { kind: "imaging", title: &title, body: &body, link: &link, dedupe: None };
        match to {
            Some(u) => self.notify_users_step(&[u], &n).await.map(|_| ()),
            None => self.notify_org_step(owner, &n).await.map(|_| ()),
        }
    }

    async fn request_row(&mut self, id: i64) -> Result<(String, Option<i64>, i64, i64)> {
        let row: Option<(String, Option<i64>, i64, i64)> = sqlx::query_as(
            "SELECT state, assignee_user_id, department_org_id, owner_org_id FROM imaging_requests WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&mut *self.tx)
        .await?;
        row.ok_or(StoreError::NotFound { what: "会诊申请", id: id.to_string() })
    }

    /// The expert it is offered to accepts it.
    pub async fn accept_imaging(&mut self, id: i64) -> Result<()> {
        self.live()?;
        let r = async {
            let (state, assignee, _, _) = self.request_row(id).await?;
            let me = self.actor.user_id.map(|u| u.get());
            if me.is_none() || assignee != me {
                return Err(StoreError::Forbidden("只有被分派的专家可以接收这份会诊申请".into()));
            }
            if state != "offered" {
                return Err(StoreError::Conflict(format!("会诊申请 {id} 处于“{}”，不能接收", label(&state))));
            }
            let now = self.now();
            self.move_to(id, me, "accepted", &now).await?;
            self.event(id, "accepted", me, None, &now).await
        }
        .await;
        self.note(r)
    }

    /// The requesting hospital records what became of the patient once the report is out: treated
    /// locally (`local`: a transfer avoided, 不用转院) or transferred out (`transferred`). By a user
    /// of the requesting hospital who writes records, or a manager; it may be corrected, each time
    /// audited with the row before and after.
    pub async fn record_imaging_outcome(&mut self, id: i64, outcome: &str) -> Result<()> {
        self.live()?;
        let r = async {
            let outcome = domain::imaging::Outcome::parse(outcome).ok_or_else(|| {
                invalid(
                    "outcome",
                    "患者去向",
                    "本院治疗（local）或转院（transferred）",
                    format!("“{outcome}”不是患者去向"),
                )
            })?;
            let (who, state, _) = self.standing_in_tx(id).await?;
            if !(who.requester || self.actor.role.manages_program()) {
                return Err(StoreError::Forbidden("只有申请医院或项目管理可以登记患者去向".into()));
            }
            if !matches!(state.as_str(), "reported" | "confirmed") {
                return Err(StoreError::Conflict(format!(
                    "会诊申请 {id} 处于“{}”：报告签发后才能登记患者去向",
                    label(&state)
                )));
            }
            let now = self.now();
            let me = self.actor.user_id.map(|u| u.get());
            let before = self.row_json("imaging_requests", id).await?.map(Value::Object);
            sqlx::query("UPDATE imaging_requests SET outcome = $1, outcome_at = $2, outcome_by = $3 WHERE id = $4")
                .bind(outcome.code())
                .bind(&now)
                .bind(me)
                .bind(id)
                .execute(&mut *self.tx)
                .await?;
            let after = self.row_json("imaging_requests", id).await?.map(Value::Object);
            self.audit_step("imaging_outcome", "imaging_requests", Some(id), before, after).await?;
            self.event(id, "outcome", None, Some(outcome.label()), &now).await
        }
        .await;
        self.note(r)
    }

    /// The expert it is offered to (or who accepted it and cannot read it) declines it with a
    /// reason; it goes on to the next expert on duty, or back to the queue.
    pub async fn decline_imaging(&mut self, id: i64, reason: &str) -> Result<()> {
        self.live()?;
        let r = async {
            let reason =
                domain::imaging::reason("reason", "拒绝理由", reason).map_err(|e| StoreError::Invalid(e.into()))?;
            let (state, assignee, _, _) = self.request_row(id).await?;
            let me = self.actor.user_id.map(|u| u.get());
            if me.is_none() || assignee != me {
                return Err(StoreError::Forbidden("只有被分派的专家可以拒绝这份会诊申请".into()));
            }
            if !matches!(state.as_str(), "offered" | "accepted") {
                return Err(StoreError::Conflict(format!("会诊申请 {id} 处于“{}”，不能拒绝", label(&state))));
            }
            let now = self.now();
            self.event(id, "declined", me, Some(&reason), &now).await?;
            self.offer_next(id, &now).await
        }
        .await;
        self.note(r)
    }

    /// An expert on the department's roster (of the owning hospital) takes a queued request
    /// ("assign to me"): it is accepted at once.
    pub async fn take_imaging(&mut self, id: i64) -> Result<()> {
        self.live()?;
        let r = async {
            let (state, _, department, owner) = self.request_row(id).await?;
            let Some(me) = self.actor.user_id.map(|u| u.get()) else {
                return Err(StoreError::Forbidden("只有值班专家可以领取会诊申请".into()));
            };
            if !self.on_roster(me, department, owner).await? {
                return Err(StoreError::Forbidden("只有该科室排班表上的专家可以领取会诊申请".into()));
            }
            if state != "queued" {
                return Err(StoreError::Conflict(format!("会诊申请 {id} 处于“{}”，不能领取", label(&state))));
            }
            let now = self.now();
            self.move_to(id, Some(me), "accepted", &now).await?;
            self.event(id, "taken", Some(me), None, &now).await
        }
        .await;
        self.note(r)
    }

    /// A manager of the centre offers the request to another expert of the roster, with a reason.
    pub async fn reassign_imaging(&mut self, id: i64, to: i64, reason: &str) -> Result<()> {
        self.live()?;
        let r = async {
            if !self.actor.role.manages_program() {
                return Err(StoreError::Forbidden("只有“项目管理”角色可以改派会诊申请".into()));
            }
            let reason =
                domain::imaging::reason("reason", "改派理由", reason).map_err(|e| StoreError::Invalid(e.into()))?;
            let (state, assignee, department, owner) = self.request_row(id).await?;
            if !self.on_roster(to, department, owner).await? {
                return Err(invalid(
                    "to_user_id",
                    "改派专家",
                    "该科室排班表上、包科医院的专家",
                    format!("用户 {to} 不在该科室的排班表上"),
                ));
            }
            if !matches!(state.as_str(), "queued" | "offered" | "accepted") {
                return Err(StoreError::Conflict(format!("会诊申请 {id} 处于“{}”，不能改派", label(&state))));
            }
            if assignee == Some(to) && state != "queued" {
                return Err(invalid("to_user_id", "改派专家", "另一位专家", "会诊申请已分派给这位专家".into()));
            }
            let now = self.now();
            self.move_to(id, Some(to), "offered", &now).await?;
            self.event(id, "reassigned", Some(to), Some(&reason), &now).await?;
            self.tell(id, Some(to), owner).await
        }
        .await;
        self.note(r)
    }

    async fn on_roster(&mut self, user: i64, department: i64, owner: i64) -> Result<bool> {
        let org: Option<Option<i64>> = sqlx::query_scalar(
            "SELECT u.org_id FROM imaging_experts e JOIN users u ON u.id = e.user_id \
             WHERE e.user_id = $1 AND e.department_org_id = $2",
        )
        .bind(user)
        .bind(department)
        .fetch_optional(&mut *self.tx)
        .await?;
        match org.flatten() {
            Some(o) => crate::reporting::holds(&mut self.tx, owner, o).await,
            None => Ok(false),
        }
    }
}

/// A version of a consultation's report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub id: i64,
    pub request_id: i64,
    pub version: i64,
    pub template: String,
    pub findings: String,
    pub impression: String,
    pub advice: String,
    pub state: String,
    pub amendment_reason: Option<String>,
    pub author_user_id: Option<i64>,
    pub author: Option<String>,
    pub reviewer_user_id: Option<i64>,
    pub reviewer: Option<String>,
    pub issued_by: Option<i64>,
    pub confirmed_by: Option<i64>,
    pub created_at: String,
    pub signed_at: Option<String>,
    pub reviewed_at: Option<String>,
    pub issued_at: Option<String>,
    pub confirmed_at: Option<String>,
}

const REPORT_SELECT: &str = "SELECT p.id, p.request_id, p.version, p.template, p.findings, p.impression, p.advice, \
     p.state, p.amendment_reason, p.author_user_id, a.name, p.reviewer_user_id, v.name, p.issued_by, p.confirmed_by, \
     p.created_at, p.signed_at, p.reviewed_at, p.issued_at, p.confirmed_at FROM imaging_reports p \
     LEFT JOIN users a ON a.id = p.author_user_id LEFT JOIN users v ON v.id = p.reviewer_user_id";

fn report_of(r: &sqlx::any::AnyRow) -> Result<Report> {
    use sqlx::Row;
    Ok(Report {
        id: r.try_get(0)?,
        request_id: r.try_get(1)?,
        version: r.try_get(2)?,
        template: r.try_get(3)?,
        findings: r.try_get(4)?,
        impression: r.try_get(5)?,
        advice: r.try_get(6)?,
        state: r.try_get(7)?,
        amendment_reason: r.try_get(8)?,
        author_user_id: r.try_get(9)?,
        author: r.try_get(10)?,
        reviewer_user_id: r.try_get(11)?,
        reviewer: r.try_get(12)?,
        issued_by: r.try_get(13)?,
        confirmed_by: r.try_get(14)?,
        created_at: r.try_get(15)?,
        signed_at: r.try_get(16)?,
        reviewed_at: r.try_get(17)?,
        issued_at: r.try_get(18)?,
        confirmed_at: r.try_get(19)?,
    })
}

const REVIEW_SETTING: &str = "imaging_review_required";

impl Store {
    /// The report's versions of a request, the newest first (callers check who may see the request).
    pub async fn imaging_reports(&self, request: i64) -> Result<Vec<Report>> {
        let rows = sqlx::query(&format!("{REPORT_SELECT} WHERE p.request_id = $1 ORDER BY p.version DESC"))
            .bind(request)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(report_of).collect()
    }

    /// Does the centre require a second signature (审核) before a report is issued? Off until a
    /// manager turns it on.
    pub async fn imaging_review_required(&self) -> Result<bool> {
        let v = setting(&mut *self.pool().acquire().await?, REVIEW_SETTING).await?;
        Ok(v.as_deref() == Some("1"))
    }

    /// Where `actor` stands to the report of this request.
    pub async fn imaging_report_standing(&self, actor: &Actor, request: &Request) -> Result<ReportStanding> {
        let me = actor.user_id.map(|u| u.get());
        let reader = me.is_some() && request.assignee_user_id == me;
        let mut conn = self.pool().acquire().await?;
        let reviewer = match me {
            Some(u) if !reader => reviewer_on(&mut conn, u, request.department_org_id, request.owner_org_id).await?,
            _ => false,
        };
        let requester = match actor.org_id {
            Some(o) if actor.role.writes_records() => {
                crate::reporting::holds(&mut conn, o.get(), request.requesting_org_id).await?
            }
            _ => false,
        };
        Ok(ReportStanding { reader, reviewer, requester })
    }
}

/// Is `user` on the department's roster, of the owning hospital, 副主任医师 or above?
async fn reviewer_on(conn: &mut sqlx::AnyConnection, user: i64, department: i64, owner: i64) -> Result<bool> {
    let row: Option<(String, Option<i64>)> = sqlx::query_as(
        "SELECT e.title, u.org_id FROM imaging_experts e JOIN users u ON u.id = e.user_id \
         WHERE e.user_id = $1 AND e.department_org_id = $2",
    )
    .bind(user)
    .bind(department)
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        Some((title, Some(org))) if title_meets(&title, "associate_chief") => {
            crate::reporting::holds(conn, owner, org).await
        }
        _ => Ok(false),
    }
}

impl Tx<'_> {
    /// Set the centre's turnaround targets (项目管理 only), audited with the targets before and after.
    pub async fn set_imaging_tat_targets(&mut self, targets: &[TatTarget]) -> Result<()> {
        self.live()?;
        let r = async {
            if !self.actor.role.manages_program() {
                return Err(StoreError::Forbidden("只有“项目管理”角色可以设置报告时限".into()));
            }
            domain::imaging::check_targets(targets).map_err(StoreError::Invalid)?;
            let after = serde_json::to_string(targets).map_err(|e| StoreError::Integrity(e.to_string()))?;
            let before = self.put_setting(TAT_SETTING, &after).await?;
            self.audit_step(
                "set_imaging_tat_targets",
                "settings",
                None,
                before.and_then(|b| serde_json::from_str::<Value>(&b).ok()),
                serde_json::from_str::<Value>(&after).ok(),
            )
            .await
        }
        .await;
        self.note(r)
    }

    /// Turn the second signature on or off (项目管理 only), audited.
    pub async fn set_imaging_review_required(&mut self, on: bool) -> Result<()> {
        self.live()?;
        let r = async {
            if !self.actor.role.manages_program() {
                return Err(StoreError::Forbidden("只有“项目管理”角色可以设置报告审核".into()));
            }
            let before = self.put_setting(REVIEW_SETTING, if on { "1" } else { "0" }).await?;
            self.audit_step(
                "set_imaging_review_required",
                "settings",
                None,
                before.map(|b| json!({ REVIEW_SETTING: b })),
                Some(json!({ REVIEW_SETTING: if on { "1" } else { "0" } })),
            )
            .await
        }
        .await;
        self.note(r)
    }

    async fn standing_in_tx(&mut self, id: i64) -> Result<(ReportStanding, String, i64)> {
        let (state, assignee, department, owner) = self.request_row(id).await?;
        let (requesting,): (i64,) = sqlx::query_as("SELECT requesting_org_id FROM imaging_requests WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *self.tx)
            .await?;
        let me = self.actor.user_id.map(|u| u.get());
        let reader = me.is_some() && assignee == me;
        let reviewer = match me {
            Some(u) if !reader => reviewer_on(&mut self.tx, u, department, owner).await?,
            _ => false,
        };
        let requester = match self.actor.org_id {
            Some(o) if self.actor.role.writes_records() => {
                crate::reporting::holds(&mut self.tx, o.get(), requesting).await?
            }
            _ => false,
        };
        Ok((ReportStanding { reader, reviewer, requester }, state, owner))
    }

    /// At a report's first issue, its request's turnaround as the figures count it: the minutes
    /// from the start of its clock (the request made and its images complete, whichever is later)
    /// to `now`, when it was due under the target then in force, and whether it was on time.
    /// Written once: an amendment's issue does not move it.
    async fn keep_turnaround(&mut self, request: i64, now: &str) -> Result<()> {
        let row: TurnaroundRow = sqlx::query_as(
            "SELECT issued_at, requested_at, priority, patient_source, modality, body_part, complex \
             FROM imaging_requests WHERE id = $1",
        )
        .bind(request)
        .fetch_one(&mut *self.tx)
        .await?;
        let (issued, requested, priority, source, modality, body_part, complex) = row;
        if issued.is_some() {
            return Ok(());
        }
        let studies: Vec<(String, Option<String>)> = sqlx::query_as(
            "SELECT s.state, s.complete_at FROM imaging_request_studies rs JOIN imaging_studies s ON s.id = rs.study_id \
             WHERE rs.request_id = $1",
        )
        .bind(request)
        .fetch_all(&mut *self.tx)
        .await?;
        // Images still arriving when the report is issued: the clock ran from the request.
        let images = if studies.iter().all(|(st, _)| st == "complete") {
            let mut latest = None;
            for c in studies.iter().filter_map(|(_, c)| c.as_deref()) {
                latest = latest.max(Some(ts(c)?));
            }
            latest
        } else {
            None
        };
        let targets = targets_of(setting(&mut self.tx, TAT_SETTING).await?)?;
        let requested = ts(&requested)?;
        let at = ts(now)?;
        let start = images.map_or(requested, |c| c.max(requested));
        let minutes = ((at - start).num_seconds().max(0) + 59) / 60;
        let (due, on_time) =
            match domain::imaging::target_for(&targets, &priority, &source, &modality, &body_part, complex != 0) {
                Some(t) => {
                    let due = domain::imaging::due(start, t);
                    (Some(due.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)), Some(i64::from(at <= due)))
                }
                None => (None, None),
            };
        sqlx::query(
            "UPDATE imaging_requests SET issued_at = $1, tat_minutes = $2, tat_due_at = $3, on_time = $4 WHERE id = $5",
        )
        .bind(now)
        .bind(minutes)
        .bind(due)
        .bind(on_time)
        .bind(request)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// The current version: (id, version, state).
    async fn current_report(&mut self, request: i64) -> Result<Option<(i64, i64, String)>> {
        Ok(sqlx::query_as(
            "SELECT id, version, state FROM imaging_reports WHERE request_id = $1 ORDER BY version DESC LIMIT 1",
        )
        .bind(request)
        .fetch_optional(&mut *self.tx)
        .await?)
    }

    /// The reader writes the report's draft (the current version while it is a draft; the first
    /// one is made here, from the exam's template when `text` is empty). Returns the report's id.
    pub async fn save_imaging_report(&mut self, request: i64, text: &ReportText) -> Result<i64> {
        self.live()?;
        let r = self.save_report_step(request, text).await;
        self.note(r)
    }

    async fn save_report_step(&mut self, request: i64, text: &ReportText) -> Result<i64> {
        let (who, state, _) = self.standing_in_tx(request).await?;
        if !who.reader {
            return Err(StoreError::Forbidden("只有接收这份会诊申请的专家可以书写报告".into()));
        }
        let t = text.check(false).map_err(StoreError::Invalid)?;
        let now = self.now();
        match self.current_report(request).await? {
            Some((id, _, s)) if s == "draft" => {
                let before = self.row_json("imaging_reports", id).await?.map(Value::Object);
                sqlx::query(
                    "UPDATE imaging_reports SET findings = $1, impression = $2, advice = $3, author_user_id = $4, \
                     updated_at = $5 WHERE id = $6",
                )
                .bind(&t.findings)
                .bind(&t.impression)
                .bind(&t.advice)
                .bind(self.actor.user_id.map(|u| u.get()))
                .bind(&now)
                .bind(id)
                .execute(&mut *self.tx)
                .await?;
                let after = self.row_json("imaging_reports", id).await?.map(Value::Object);
                self.audit_step("imaging_report_save", "imaging_reports", Some(id), before, after).await?;
                Ok(id)
            }
            Some((_, v, s)) => Err(StoreError::Conflict(format!(
                "报告第 {v} 版已是“{}”，不能再改；如需更正请修订",
                ReportState::parse(&s).map(|x| x.label()).unwrap_or("未知")
            ))),
            None => {
                if state != "accepted" {
                    return Err(StoreError::Conflict(format!(
                        "会诊申请 {request} 处于“{}”，不能书写报告",
                        label(&state)
                    )));
                }
                let (modality, body_part): (String, String) =
                    sqlx::query_as("SELECT modality, body_part FROM imaging_requests WHERE id = $1")
                        .bind(request)
                        .fetch_one(&mut *self.tx)
                        .await?;
                let (template, f, i) = domain::imaging::template_for(&modality, &body_part);
                let (findings, impression) = if t.findings.is_empty() && t.impression.is_empty() {
                    (f.to_string(), i.to_string())
                } else {
                    (t.findings.clone(), t.impression.clone())
                };
                self.insert_report(request, 1, template, &findings, &impression, &t.advice, None, &now).await
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn insert_report(
        &mut self,
        request: i64,
        version: i64,
        template: &str,
        findings: &str,
        impression: &str,
        advice: &str,
        reason: Option<&str>,
        now: &str,
    ) -> Result<i64> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO imaging_reports (request_id, version, template, findings, impression, advice, state, \
             amendment_reason, author_user_id, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 'draft', $7, $8, $9, $9) RETURNING id",
        )
        .bind(request)
        .bind(version)
        .bind(template)
        .bind(findings)
        .bind(impression)
        .bind(advice)
        .bind(reason)
        .bind(self.actor.user_id.map(|u| u.get()))
        .bind(now)
        .fetch_one(&mut *self.tx)
        .await
        .map_err(|e| crate::error::explain(e, "会诊报告"))?;
        let after = self.row_json("imaging_reports", id).await?.map(Value::Object);
        self.audit_step("imaging_report_save", "imaging_reports", Some(id), None, after).await?;
        Ok(id)
    }

    /// One step of the report's state machine ([`domain::imaging::report_step`]): sign, review,
    /// issue, confirm, or amend (with its reason, as a new draft version). Issuing makes the
    /// request 已出报告 and tells the requesting hospital; confirming makes it 已确认.
    pub async fn imaging_report_step(
        &mut self,
        request: i64,
        action: ReportAction,
        reason: Option<&str>,
    ) -> Result<()> {
        self.live()?;
        let r = self.report_step_step(request, action, reason).await;
        self.note(r)
    }

    async fn report_step_step(&mut self, request: i64, action: ReportAction, reason: Option<&str>) -> Result<()> {
        let (who, _, _) = self.standing_in_tx(request).await?;
        let Some((id, version, state)) = self.current_report(request).await? else {
            return Err(StoreError::Conflict("还没有报告：请先书写报告".into()));
        };
        let state = ReportState::parse(&state).ok_or_else(|| StoreError::Integrity(format!("报告 {id} 的状态无效")))?;
        let required = {
            let v = setting(&mut self.tx, REVIEW_SETTING).await?;
            v.as_deref() == Some("1")
        };
        let next = report_step(state, action, who, required).map_err(|m| StoreError::Forbidden(m.into()))?;
        let now = self.now();
        let me = self.actor.user_id.map(|u| u.get());
        if action == ReportAction::Amend {
            let reason = domain::imaging::reason("reason", "修订理由", reason.unwrap_or_default())
                .map_err(|e| StoreError::Invalid(e.into()))?;
            let (template, findings, impression, advice): (String, String, String, String) =
                sqlx::query_as("SELECT template, findings, impression, advice FROM imaging_reports WHERE id = $1")
                    .bind(id)
                    .fetch_one(&mut *self.tx)
                    .await?;
            self.insert_report(request, version + 1, &template, &findings, &impression, &advice, Some(&reason), &now)
                .await?;
            return self.event(request, "report_amended", None, Some(&reason), &now).await;
        }
        if action == ReportAction::Sign {
            let (findings, impression, advice): (String, String, String) =
                sqlx::query_as("SELECT findings, impression, advice FROM imaging_reports WHERE id = $1")
                    .bind(id)
                    .fetch_one(&mut *self.tx)
                    .await?;
            ReportText { findings, impression, advice }.check(true).map_err(StoreError::Invalid)?;
        }
        let before = self.row_json("imaging_reports", id).await?.map(Value::Object);
        let (column, by) = match action {
            ReportAction::Sign => ("signed_at", "author_user_id"),
            ReportAction::Review => ("reviewed_at", "reviewer_user_id"),
            ReportAction::Issue => ("issued_at", "issued_by"),
            ReportAction::Confirm => ("confirmed_at", "confirmed_by"),
            ReportAction::Amend => ("updated_at", "author_user_id"),
        };
        sqlx::query(&format!(
            "UPDATE imaging_reports SET state = $1, {column} = $2, {by} = $3, updated_at = $2 WHERE id = $4"
        ))
        .bind(next.code())
        .bind(&now)
        .bind(me)
        .bind(id)
        .execute(&mut *self.tx)
        .await?;
        let after = self.row_json("imaging_reports", id).await?.map(Value::Object);
        self.audit_step(&format!("imaging_report_{}", action.code()), "imaging_reports", Some(id), before, after)
            .await?;
        self.event(
            request,
            &format!(
                "report_{}",
                match action {
                    ReportAction::Sign => "signed",
                    ReportAction::Review => "reviewed",
                    ReportAction::Issue => "issued",
                    ReportAction::Confirm => "confirmed",
                    ReportAction::Amend => "amended",
                }
            ),
            None,
            None,
            &now,
        )
        .await?;
        match next {
            ReportState::Final => {
                let assignee: Option<i64> =
                    sqlx::query_scalar("SELECT assignee_user_id FROM imaging_requests WHERE id = $1")
                        .bind(request)
                        .fetch_one(&mut *self.tx)
                        .await?;
                let before = self.row_json("imaging_requests", request).await?.map(Value::Object);
                self.keep_turnaround(request, &now).await?;
                self.move_from(before, request, assignee, "reported", &now).await?;
                let (requesting, exam): (i64, String) =
                    sqlx::query_as("SELECT requesting_org_id, exam FROM imaging_requests WHERE id = $1")
                        .bind(request)
                        .fetch_one(&mut *self.tx)
                        .await?;
                let title = format!("远程影像会诊报告已签发：{exam}");
                let body = if version > 1 { format!("第 {version} 版（修订）") } else { String::new() };
                let link = format!("/imaging/requests/{request}");
                let n = crate::followups::NewNotice {
                    kind: "imaging",
                    title: &title,
                    body: &body,
                    link: &link,
                    dedupe: None,
                };
                self.notify_org_step(requesting, &n).await?;
            }
            ReportState::Confirmed => {
                let assignee: Option<i64> =
                    sqlx::query_scalar("SELECT assignee_user_id FROM imaging_requests WHERE id = $1")
                        .bind(request)
                        .fetch_one(&mut *self.tx)
                        .await?;
                self.move_to(request, assignee, "confirmed", &now).await?;
            }
            _ => {}
        }
        Ok(())
    }
}

/// A critical finding and its notice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Critical {
    pub id: i64,
    pub request_id: i64,
    pub finding: String,
    pub note: Option<String>,
    pub flagged_by: Option<i64>,
    pub flagged_at: String,
    pub state: String,
    pub told_name: Option<String>,
    pub channel: Option<String>,
    pub told_at: Option<String>,
    pub read_back: Option<String>,
    pub recorded_by: Option<i64>,
    pub recorded_at: Option<String>,
    /// The request's department, owning hospital and requesting hospital, for the board.
    pub department: String,
    pub owner_org_id: i64,
    pub owner: String,
    pub requesting_org: String,
    pub exam: String,
}

const CRITICAL_SELECT: &str = "SELECT c.id, c.request_id, c.finding, c.note, c.flagged_by, c.flagged_at, c.state, \
     c.told_name, c.channel, c.told_at, c.read_back, c.recorded_by, c.recorded_at, d.name, r.owner_org_id, ow.name, ro.name, r.exam \
     FROM imaging_critical c JOIN imaging_requests r ON r.id = c.request_id \
     JOIN organizations d ON d.id = r.department_org_id JOIN organizations ow ON ow.id = r.owner_org_id \
     JOIN organizations ro ON ro.id = r.requesting_org_id";

fn critical_of(r: &sqlx::any::AnyRow) -> Result<Critical> {
    use sqlx::Row;
    Ok(Critical {
        id: r.try_get(0)?,
        request_id: r.try_get(1)?,
        finding: r.try_get(2)?,
        note: r.try_get(3)?,
        flagged_by: r.try_get(4)?,
        flagged_at: r.try_get(5)?,
        state: r.try_get(6)?,
        told_name: r.try_get(7)?,
        channel: r.try_get(8)?,
        told_at: r.try_get(9)?,
        read_back: r.try_get(10)?,
        recorded_by: r.try_get(11)?,
        recorded_at: r.try_get(12)?,
        department: r.try_get(13)?,
        owner_org_id: r.try_get(14)?,
        owner: r.try_get(15)?,
        requesting_org: r.try_get(16)?,
        exam: r.try_get(17)?,
    })
}

const CRITICAL_SETTING: &str = "imaging_critical_list";

/// The centre's turnaround targets as kept in `settings`; the defaults until a manager sets its own.
fn targets_of(kept: Option<String>) -> Result<Vec<TatTarget>> {
    match kept {
        None => Ok(domain::imaging::default_targets()),
        Some(v) => serde_json::from_str(&v).map_err(|e| StoreError::Integrity(format!("报告时限设置无法读取：{e}"))),
    }
}

/// The Beijing day of a time, as a figure's period selects it (2026-03-01).
fn beijing_day(t: chrono::DateTime<chrono::Utc>) -> String {
    (t + chrono::Duration::hours(8)).format("%Y-%m-%d").to_string()
}

/// What a request's turnaround is judged by: issued at, requested at, priority, patient source,
/// modality, body part, complex.
type TurnaroundRow = (Option<String>, String, String, String, String, String, i64);

fn ts(s: &str) -> Result<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&chrono::Utc))
        .map_err(|e| StoreError::Integrity(format!("时间“{s}”无法读取：{e}")))
}

impl Store {
    /// The centre's list of critical findings (the defaults until a manager sets its own).
    pub async fn imaging_critical_list(&self) -> Result<Vec<String>> {
        let v = setting(&mut *self.pool().acquire().await?, CRITICAL_SETTING).await?;
        match v {
            None => Ok(domain::imaging::CRITICAL_FINDINGS.iter().map(|s| s.to_string()).collect()),
            Some(v) => serde_json::from_str(&v).map_err(|e| StoreError::Integrity(format!("危急值清单无法读取：{e}"))),
        }
    }

    /// The critical findings of one request.
    pub async fn imaging_criticals_of(&self, request: i64) -> Result<Vec<Critical>> {
        let rows = sqlx::query(&format!("{CRITICAL_SELECT} WHERE c.request_id = $1 ORDER BY c.id"))
            .bind(request)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(critical_of).collect()
    }

    /// The critical-results board: the open ones first, oldest first, then the latest closed
    /// (at most `limit`), of the requests `actor` may see.
    pub async fn imaging_critical_board(&self, actor: &Actor, limit: i64) -> Result<Vec<Critical>> {
        let visible: std::collections::HashSet<i64> =
            self.imaging_worklist(actor, 5_000).await?.into_iter().map(|r| r.id).collect();
        let rows = sqlx::query(&format!(
            "{CRITICAL_SELECT} ORDER BY CASE c.state WHEN 'open' THEN 0 ELSE 1 END, \
             CASE c.state WHEN 'open' THEN c.flagged_at ELSE '' END, c.flagged_at DESC, c.id DESC LIMIT $1"
        ))
        .bind(limit.clamp(1, 5_000))
        .fetch_all(self.pool())
        .await?;
        let all: Vec<Critical> = rows.iter().map(critical_of).collect::<Result<_>>()?;
        Ok(all.into_iter().filter(|c| visible.contains(&c.request_id)).collect())
    }
}

impl Tx<'_> {
    /// Set the centre's list of critical findings (项目管理 only), audited.
    pub async fn set_imaging_critical_list(&mut self, list: &[String]) -> Result<()> {
        self.live()?;
        let r = async {
            if !self.actor.role.manages_program() {
                return Err(StoreError::Forbidden("只有“项目管理”角色可以设置危急值清单".into()));
            }
            let list =
                domain::imaging::parse_critical_list(&list.join("\n")).map_err(|e| StoreError::Invalid(e.into()))?;
            let after = serde_json::to_string(&list).map_err(|e| StoreError::Integrity(e.to_string()))?;
            let before = self.put_setting(CRITICAL_SETTING, &after).await?;
            self.audit_step(
                "set_imaging_critical_list",
                "settings",
                None,
                before.and_then(|b| serde_json::from_str::<Value>(&b).ok()),
                serde_json::from_str::<Value>(&after).ok(),
            )
            .await
        }
        .await;
        self.note(r)
    }

    /// The reader flags a critical finding of the list on a request it has accepted: the
    /// 30-minute clock starts, the requesting hospital's users are told at once. Returns its id.
    pub async fn flag_critical(&mut self, request: i64, finding: &str, note: &str) -> Result<i64> {
        self.live()?;
        let r = self.flag_step(request, finding, note).await;
        self.note(r)
    }

    async fn flag_step(&mut self, request: i64, finding: &str, note: &str) -> Result<i64> {
        let (state, assignee, _, _) = self.request_row(request).await?;
        let me = self.actor.user_id.map(|u| u.get());
        if me.is_none() || assignee != me {
            return Err(StoreError::Forbidden("只有阅片专家可以标记危急值".into()));
        }
        if !matches!(state.as_str(), "accepted" | "reported" | "confirmed") {
            return Err(StoreError::Conflict(format!("会诊申请 {request} 处于“{}”，不能标记危急值", label(&state))));
        }
        let list: Vec<String> = {
            let v = setting(&mut self.tx, CRITICAL_SETTING).await?;
            match v {
                None => domain::imaging::CRITICAL_FINDINGS.iter().map(|s| s.to_string()).collect(),
                Some(v) => {
                    serde_json::from_str(&v).map_err(|e| StoreError::Integrity(format!("危急值清单无法读取：{e}")))?
                }
            }
        };
        let finding = finding.trim();
        if !list.iter().any(|f| f == finding) {
            return Err(invalid(
                "finding",
                "危急值",
                "本中心危急值清单中的一项",
                format!("“{finding}”不在危急值清单中"),
            ));
        }
        let note = note.trim();
        if note.chars().count() > 500 || domain::values::has_control(note) {
            return Err(invalid("note", "说明", "不超过 500 个字符，无控制字符", "说明无效".into()));
        }
        let now = self.now();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO imaging_critical (request_id, finding, note, flagged_by, flagged_at, state, flagged_on) \
             VALUES ($1, $2, $3, $4, $5, 'open', $6) RETURNING id",
        )
        .bind(request)
        .bind(finding)
        .bind((!note.is_empty()).then_some(note))
        .bind(me)
        .bind(&now)
        .bind(beijing_day(self.clock()))
        .fetch_one(&mut *self.tx)
        .await?;
        let after = self.row_json("imaging_critical", id).await?.map(Value::Object);
        self.audit_step("imaging_critical_flag", "imaging_critical", Some(id), None, after).await?;
        self.event(request, "critical_flagged", None, Some(finding), &now).await?;
        let (requesting, exam): (i64, String) =
            sqlx::query_as("SELECT requesting_org_id, exam FROM imaging_requests WHERE id = $1")
                .bind(request)
                .fetch_one(&mut *self.tx)
                .await?;
        let title = format!("危急值：{finding}");
        let body = format!("检查项目：{exam}。请立即处置，并接听远程影像中心的电话确认（回读）。");
        let link = format!("/imaging/requests/{request}");
        let n = crate::followups::NewNotice { kind: "critical", title: &title, body: &body, link: &link, dedupe: None };
        self.notify_org_step(requesting, &n).await?;
        Ok(id)
    }

    /// The centre records that the finding reached the requesting hospital: who was told, when,
    /// how, and their read-back; the clock stops. By the reader, or a manager.
    pub async fn record_critical_notice(&mut self, critical: i64, n: &domain::imaging::CriticalNotice) -> Result<()> {
        self.live()?;
        let r = async {
            let row: Option<(i64, String, String)> =
                sqlx::query_as("SELECT request_id, state, flagged_at FROM imaging_critical WHERE id = $1")
                    .bind(critical)
                    .fetch_optional(&mut *self.tx)
                    .await?;
            let Some((request, state, flagged)) = row else {
                return Err(StoreError::NotFound { what: "危急值", id: critical.to_string() });
            };
            let (_, assignee, _, _) = self.request_row(request).await?;
            let me = self.actor.user_id.map(|u| u.get());
            if !(self.actor.role.manages_program() || (me.is_some() && assignee == me)) {
                return Err(StoreError::Forbidden("只有阅片专家或项目管理可以登记危急值的通知".into()));
            }
            if state != "open" {
                return Err(StoreError::Conflict(format!("危急值 {critical} 已登记通知")));
            }
            n.check(ts(&flagged)?, self.clock()).map_err(StoreError::Invalid)?;
            let channel = domain::imaging::CRITICAL_CHANNELS
                .iter()
                .find(|(c, l)| *c == n.channel || *l == n.channel)
                .map(|(c, _)| *c)
                .unwrap_or("phone");
            let before = self.row_json("imaging_critical", critical).await?.map(Value::Object);
            let now = self.now();
            let told_at = n.told_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            let minutes = ((n.told_at - ts(&flagged)?).num_seconds().max(0) + 59) / 60;
            sqlx::query(
                "UPDATE imaging_critical SET state = 'closed', told_name = $1, channel = $2, told_at = $3, read_back = $4, \
                 recorded_by = $5, recorded_at = $6, notice_minutes = $8 WHERE id = $7",
            )
            .bind(n.told_name.trim())
            .bind(channel)
            .bind(&told_at)
            .bind(n.read_back.trim())
            .bind(me)
            .bind(&now)
            .bind(critical)
            .bind(minutes)
            .execute(&mut *self.tx)
            .await?;
            let after = self.row_json("imaging_critical", critical).await?.map(Value::Object);
            self.audit_step("imaging_critical_notice", "imaging_critical", Some(critical), before, after).await?;
            self.event(request, "critical_closed", None, Some(n.told_name.trim()), &now).await
        }
        .await;
        self.note(r)
    }
}

/// What the early warnings read of the imaging centre: (the request or critical result, the
/// owning hospital's code and tree path).
pub type OpenRequest = (Request, String, String);
pub type OpenCritical = (Critical, String, String);

impl Store {
    /// The program's requests without an issued report and its open critical results, of the
    /// organization `under` (its code: the owning or the requesting hospital in its subtree), each
    /// with its owning hospital's code and path.
    pub async fn imaging_open(
        &self,
        program: i64,
        under: Option<&str>,
    ) -> Result<(Vec<OpenRequest>, Vec<OpenCritical>)> {
        let scope = "($2 = '' OR ow.path LIKE (SELECT path FROM organizations WHERE code = $2) || '%' \
                     OR ro.path LIKE (SELECT path FROM organizations WHERE code = $2) || '%')";
        let rows = sqlx::query(&format!(
            "{REQUEST_SELECT} WHERE r.program_id = $1 AND r.state IN ('queued', 'offered', 'accepted') AND {scope} ORDER BY r.id"
        ))
        .bind(program)
        .bind(under.unwrap_or_default())
        .fetch_all(self.pool())
        .await?;
        let requests: Vec<Request> = rows.iter().map(request_of).collect::<Result<_>>()?;
        let rows = sqlx::query(&format!(
            "{CRITICAL_SELECT} WHERE r.program_id = $1 AND c.state = 'open' AND {scope} ORDER BY c.id"
        ))
        .bind(program)
        .bind(under.unwrap_or_default())
        .fetch_all(self.pool())
        .await?;
        let criticals: Vec<Critical> = rows.iter().map(critical_of).collect::<Result<_>>()?;
        let mut orgs: std::collections::HashMap<i64, (String, String)> = std::collections::HashMap::new();
        for id in requests.iter().map(|r| r.owner_org_id).chain(criticals.iter().map(|c| c.owner_org_id)) {
            if orgs.contains_key(&id) {
                continue;
            }
            let row: Option<(String, String)> = sqlx::query_as("SELECT code, path FROM organizations WHERE id = $1")
                .bind(id)
                .fetch_optional(self.pool())
                .await?;
            orgs.insert(id, row.unwrap_or_default());
        }
        let with = |id: i64| orgs.get(&id).cloned().unwrap_or_default();
        Ok((
            requests
                .into_iter()
                .map(|r| {
                    let (c, p) = with(r.owner_org_id);
                    (r, c, p)
                })
                .collect(),
            criticals
                .into_iter()
                .map(|x| {
                    let (c, p) = with(x.owner_org_id);
                    (x, c, p)
                })
                .collect(),
        ))
    }
}

fn label(state: &str) -> &'static str {
    RequestState::parse(state).map(|s| s.label()).unwrap_or("未知状态")
}
