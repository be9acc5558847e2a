//! Two-site classes (issue 21), migration 0018: classrooms, class groups with their rosters,
//! each school's term calendar, and lessons scheduled across the calendars of every site, each
//! occurrence kept with its times. A lesson that would meet another of its teacher, of one of its
//! classrooms or of one of its class groups is refused, naming what it meets; nothing is
//! half-written.

use crate::error::{Result, StoreError};
use crate::Tx;
use domain::lessons::{CheckedLesson, NewLesson, NewTerm, Term, CLASSROOM_ROLES};
use domain::{Date, Invalid};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

fn invalid(field: &str, label: &str, rule: &str, message: String) -> StoreError {
    StoreError::Invalid(Invalid::new(field, label, rule, message).into())
}

/// A pairing as a lesson checks it: program, the two organizations, the two people.
type PairRow = (i64, Option<i64>, Option<i64>, Option<i64>, Option<i64>);

/// A lesson's occurrence as kept.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Occurrence {
    pub id: i64,
    pub lesson_id: i64,
    pub day: String,
    pub starts_at: String,
    pub ends_at: String,
    pub state: String,
}

impl Tx<'_> {
    /// May the actor set up or schedule for this school? A manager of the program, or a user who
    /// writes records for the school or an organization above it.
    async fn may_arrange(&mut self, org: i64) -> Result<()> {
        if self.actor.role.manages_program() {
            return Ok(());
        }
        if let Some(mine) = self.actor.org_id.filter(|_| self.actor.role.writes_records()) {
            if crate::reporting::holds(&mut self.tx, mine.get(), org).await? {
                return Ok(());
            }
        }
        Err(StoreError::Forbidden("只有项目管理或本校的填报用户可以安排两地课堂".into()))
    }

    /// The school of an organization id, refused naming `field` when there is none.
    async fn school(&mut self, field: &str, org: i64) -> Result<i64> {
        let kind: Option<String> = sqlx::query_scalar("SELECT kind FROM organizations WHERE id = $1")
            .bind(org)
            .fetch_optional(&mut *self.tx)
            .await?;
        match kind.as_deref() {
            Some("school" | "university") => Ok(org),
            Some(k) => Err(invalid(field, "学校", "学校或高校", format!("单位 {org} 是“{k}”，不是学校"))),
            None => Err(invalid(field, "学校", "存在的学校", format!("单位 {org} 不存在"))),
        }
    }

    /// A classroom of a school: main (主讲), receiving (接收) or both, with its equipment.
    pub async fn add_classroom(&mut self, org: i64, name: &str, role: &str, equipment: &str) -> Result<i64> {
        self.live()?;
        let r = async {
            let org = self.school("org_id", org).await?;
            self.may_arrange(org).await?;
            let name = domain::values::required_text("name", "教室名称", name, 50).map_err(|e| StoreError::Invalid(e.into()))?;
            let Some((role, _)) = CLASSROOM_ROLES.iter().find(|(c, n)| *c == role.trim() || *n == role.trim()) else {
                return Err(invalid("role", "教室用途", "主讲教室、接收教室或主讲与接收", format!("“{role}”不是教室用途")));
            };
            let equipment = equipment.trim();
            if equipment.chars().count() > 200 || domain::values::has_control(equipment) {
                return Err(invalid("equipment", "设备", "不超过 200 个字符", "设备说明无效".into()));
            }
            let now = self.now();
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO classrooms (org_id, name, role, equipment, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
            )
            .bind(org)
            .bind(&name)
            .bind(*role)
            .bind((!equipment.is_empty()).then_some(equipment))
            .bind(&now)
            .fetch_one(&mut *self.tx)
            .await
            .map_err(|e| crate::error::explain(e, "教室"))?;
            let after = self.row_json("classrooms", id).await?.map(Value::Object);
            self.audit_step("insert", "classrooms", Some(id), None, after).await?;
            Ok(id)
        }
        .await;
        self.note(r)
    }

    /// A class group (教学班) of a school with its roster: each student by number and name, no
    /// number twice.
    pub async fn add_class_group(
        &mut self,
        org: i64,
        name: &str,
        grade: &str,
        members: &[(String, String)],
    ) -> Result<i64> {
        self.live()?;
        let r = async {
            let org = self.school("org_id", org).await?;
            self.may_arrange(org).await?;
            let name = domain::values::required_text("name", "教学班名称", name, 50)
                .map_err(|e| StoreError::Invalid(e.into()))?;
            let grade = grade.trim();
            if grade.chars().count() > 20 || domain::values::has_control(grade) {
                return Err(invalid("grade", "年级", "不超过 20 个字符", "年级无效".into()));
            }
            let mut seen = BTreeSet::new();
            for (i, (no, student)) in members.iter().enumerate() {
                let field = format!("members[{i}]");
                let ok_no =
                    !no.trim().is_empty() && no.trim().chars().count() <= 30 && !domain::values::has_control(no);
                if !ok_no || !seen.insert(no.trim().to_string()) {
                    return Err(invalid(
                        &field,
                        "学号",
                        "非空、不超过 30 个字符、不重复",
                        format!("学号“{no}”无效或重复"),
                    ));
                }
                domain::values::required_text(&field, "学生姓名", student, 50)
                    .map_err(|e| StoreError::Invalid(e.into()))?;
            }
            let now = self.now();
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO class_groups (org_id, name, grade, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
            )
            .bind(org)
            .bind(&name)
            .bind((!grade.is_empty()).then_some(grade))
            .bind(&now)
            .fetch_one(&mut *self.tx)
            .await
            .map_err(|e| crate::error::explain(e, "教学班"))?;
            for (no, student) in members {
                sqlx::query("INSERT INTO class_group_members (group_id, student_no, student_name) VALUES ($1, $2, $3)")
                    .bind(id)
                    .bind(no.trim())
                    .bind(student.trim())
                    .execute(&mut *self.tx)
                    .await?;
            }
            let mut after = self.row_json("class_groups", id).await?.unwrap_or_default();
            after.insert("members".into(), Value::from(members.len()));
            self.audit_step("insert", "class_groups", Some(id), None, Some(Value::Object(after))).await?;
            Ok(id)
        }
        .await;
        self.note(r)
    }

    /// A school's term with its days off and make-up days; terms of one school do not overlap.
    pub async fn add_term(&mut self, org: i64, t: &NewTerm) -> Result<i64> {
        self.live()?;
        let r = async {
            let org = self.school("org_id", org).await?;
            self.may_arrange(org).await?;
            let (name, term) = t.check().map_err(StoreError::Invalid)?;
            let overlap: Option<String> = sqlx::query_scalar(
                "SELECT name FROM terms WHERE org_id = $1 AND start_date <= $3 AND end_date >= $2 LIMIT 1",
            )
            .bind(org)
            .bind(term.start.to_string())
            .bind(term.end.to_string())
            .fetch_optional(&mut *self.tx)
            .await?;
            if let Some(other) = overlap {
                return Err(invalid("start", "开学日期", "与本校其他学期不重叠", format!("与本校的“{other}”重叠")));
            }
            let now = self.now();
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO terms (org_id, name, start_date, end_date, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
            )
            .bind(org)
            .bind(&name)
            .bind(term.start.to_string())
            .bind(term.end.to_string())
            .bind(&now)
            .fetch_one(&mut *self.tx)
            .await
            .map_err(|e| crate::error::explain(e, "学期"))?;
            let notes: BTreeMap<String, String> = t.days_off.iter().map(|(d, n)| (d.trim().to_string(), n.trim().to_string())).collect();
            for d in &term.off {
                let note = notes.get(&d.to_string()).filter(|n| !n.is_empty()).cloned();
                sqlx::query("INSERT INTO term_days (term_id, day, kind, note) VALUES ($1, $2, 'off', $3)")
                    .bind(id)
                    .bind(d.to_string())
                    .bind(note)
                    .execute(&mut *self.tx)
                    .await?;
            }
            for (d, w) in &term.makeup {
                sqlx::query("INSERT INTO term_days (term_id, day, kind, weekday) VALUES ($1, $2, 'makeup', $3)")
                    .bind(id)
                    .bind(d.to_string())
                    .bind(i64::from(*w))
                    .execute(&mut *self.tx)
                    .await?;
            }
            let mut after = self.row_json("terms", id).await?.unwrap_or_default();
            after.insert("days_off".into(), Value::from(term.off.len()));
            after.insert("makeup_days".into(), Value::from(term.makeup.len()));
            self.audit_step("insert", "terms", Some(id), None, Some(Value::Object(after))).await?;
            Ok(id)
        }
        .await;
        self.note(r)
    }

    /// The term of a school that holds `day`, with its days off and make-up days.
    async fn term_on(&mut self, org: i64, day: Date) -> Result<Option<(String, Term)>> {
        let row: Option<(i64, String, String, String)> = sqlx::query_as(
            "SELECT id, name, start_date, end_date FROM terms WHERE org_id = $1 AND start_date <= $2 AND end_date >= $2",
        )
        .bind(org)
        .bind(day.to_string())
        .fetch_optional(&mut *self.tx)
        .await?;
        let Some((id, name, start, end)) = row else { return Ok(None) };
        let parse =
            |s: &str| Date::parse(s).map_err(|e| StoreError::Integrity(format!("学期 {id} 的日期无效：{}", e.message)));
        let mut term = Term { start: parse(&start)?, end: parse(&end)?, off: BTreeSet::new(), makeup: BTreeMap::new() };
        let days: Vec<(String, String, Option<i64>)> =
            sqlx::query_as("SELECT day, kind, weekday FROM term_days WHERE term_id = $1")
                .bind(id)
                .fetch_all(&mut *self.tx)
                .await?;
        for (d, kind, w) in days {
            let d = parse(&d)?;
            if kind == "off" {
                term.off.insert(d);
            } else {
                term.makeup.insert(d, u32::try_from(w.unwrap_or(1)).unwrap_or(1));
            }
        }
        Ok(Some((name, term)))
    }

    /// Schedule a lesson: its own rules; the teacher a person of the program; the classrooms
    /// and class groups real, each group of its classroom's school, the main classroom fit to
    /// teach from and the receiving ones to receive; under a pairing of schools, every school of
    /// the lesson one of the pair (under a pairing of teachers, the teacher one of the pair); a
    /// term of every school holding the first day; then every occurrence — each day from the
    /// first to the last that follows the first day's timetable weekday at the main school and is
    /// a class day at every site —, none meeting another lesson of its teacher, classrooms or
    /// class groups. Refused naming the field and what it meets; otherwise written and audited.
    pub async fn schedule_lesson(&mut self, program: i64, l: &NewLesson) -> Result<i64> {
        self.live()?;
        let r = self.schedule_step(program, l).await;
        self.note(r)
    }

    async fn schedule_step(&mut self, program: i64, l: &NewLesson) -> Result<i64> {
        let c: CheckedLesson = l.check().map_err(StoreError::Invalid)?;
        let teacher: Option<(i64, String)> = sqlx::query_as("SELECT program_id, name FROM people WHERE id = $1")
            .bind(c.teacher_person_id)
            .fetch_optional(&mut *self.tx)
            .await?;
        match teacher {
            Some((p, _)) if p == program => {}
            _ => {
                return Err(invalid(
                    "teacher_person_id",
                    "主讲教师",
                    "本项目的人员",
                    format!("人员 {} 不存在", c.teacher_person_id),
                ))
            }
        }
        // Classrooms: (field, id, wanted role) → its school.
        let mut rooms = vec![("main_classroom_id".to_string(), c.main_classroom_id, "main")];
        for (i, (room, _)) in c.receiving.iter().enumerate() {
            rooms.push((format!("receiving[{i}]"), *room, "receiving"));
        }
        let mut schools = Vec::new();
        for (field, room, want) in &rooms {
            let row: Option<(i64, String, String)> =
                sqlx::query_as("SELECT org_id, role, name FROM classrooms WHERE id = $1")
                    .bind(*room)
                    .fetch_optional(&mut *self.tx)
                    .await?;
            let Some((org, role, name)) = row else {
                return Err(invalid(field, "教室", "存在的教室", format!("教室 {room} 不存在")));
            };
            if role != "both" && role != *want {
                return Err(invalid(
                    field,
                    "教室",
                    if *want == "main" { "主讲教室" } else { "接收教室" },
                    format!("“{name}”不是{}", if *want == "main" { "主讲教室" } else { "接收教室" }),
                ));
            }
            schools.push((field.clone(), org));
        }
        self.may_arrange(schools[0].1).await?;
        // Class groups, each of its classroom's school.
        let mut groups = Vec::new();
        let mut with_groups = vec![("main_group_id".to_string(), c.main_group_id, schools[0].1)];
        for (i, (_, g)) in c.receiving.iter().enumerate() {
            with_groups.push((format!("receiving[{i}]"), *g, schools[i + 1].1));
        }
        for (field, g, school) in with_groups {
            let Some(g) = g else { continue };
            let org: Option<i64> = sqlx::query_scalar("SELECT org_id FROM class_groups WHERE id = $1")
                .bind(g)
                .fetch_optional(&mut *self.tx)
                .await?;
            match org {
                Some(o) if o == school => groups.push(g),
                Some(_) => {
                    return Err(invalid(
                        &field,
                        "教学班",
                        "该教室所在学校的教学班",
                        format!("教学班 {g} 不属于该教室所在学校"),
                    ))
                }
                None => return Err(invalid(&field, "教学班", "存在的教学班", format!("教学班 {g} 不存在"))),
            }
        }
        // The pairing it serves.
        if let Some(p) = c.pairing_id {
            let row: Option<PairRow> = sqlx::query_as(
                "SELECT program_id, a_org_id, b_org_id, a_person_id, b_person_id FROM pairings WHERE id = $1",
            )
            .bind(p)
            .fetch_optional(&mut *self.tx)
            .await?;
            let Some((_, a, b, ap, bp)) = row.filter(|r| r.0 == program) else {
                return Err(invalid("pairing_id", "结对", "本项目的结对", format!("结对 {p} 不存在")));
            };
            if a.is_some() || b.is_some() {
                for (field, school) in &schools {
                    if Some(*school) != a && Some(*school) != b {
                        return Err(invalid(
                            field,
                            "教室",
                            "结对双方学校的教室",
                            format!("该教室的学校不在结对 {p} 之中"),
                        ));
                    }
                }
            } else if Some(c.teacher_person_id) != ap && Some(c.teacher_person_id) != bp {
                return Err(invalid(
                    "teacher_person_id",
                    "主讲教师",
                    "结对中的教师",
                    format!("主讲教师不在结对 {p} 之中"),
                ));
            }
        }
        // The calendars of every site.
        let mut terms = Vec::new();
        for (field, school) in &schools {
            match self.term_on(*school, c.first).await? {
                Some((_, t)) => terms.push(t),
                None => {
                    return Err(invalid(
                        field,
                        "学期",
                        "学校在首次上课日所在的学期",
                        format!("该教室的学校在 {} 没有学期", c.first),
                    ))
                }
            }
        }
        let mut distinct: Vec<&Term> = Vec::new();
        for t in &terms[1..] {
            if !distinct.contains(&t) {
                distinct.push(t);
            }
        }
        let days = c.occurrences(&terms[0], &distinct).map_err(|e| StoreError::Invalid(e.into()))?;
        // Conflicts: another lesson of the teacher, of a classroom, of a class group, at the same time.
        let room_ids: Vec<i64> = rooms.iter().map(|r| r.1).collect();
        let mut spans = Vec::new();
        for d in &days {
            let (start, end) = c.span_on(*d).ok_or_else(|| StoreError::Integrity(format!("{d} 的上课时间无效")))?;
            let (start, end) = (ts(start), ts(end));
            if let Some(what) = self.conflict(c.teacher_person_id, &room_ids, &groups, &start, &end).await? {
                return Err(invalid(
                    "first",
                    "上课时间",
                    "不与同一教师、教室或教学班的其他课冲突",
                    format!("{d} 与{what}冲突"),
                ));
            }
            spans.push((*d, start, end));
        }
        let now = self.now();
        let me = self.actor.user_id.map(|u| u.get());
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO lessons (program_id, kind, course, subject, teacher_person_id, main_classroom_id, main_group_id, \
             pairing_id, start_time, minutes, first_date, last_date, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id",
        )
        .bind(program)
        .bind(c.kind.code())
        .bind(&c.course)
        .bind(&c.subject)
        .bind(c.teacher_person_id)
        .bind(c.main_classroom_id)
        .bind(c.main_group_id)
        .bind(c.pairing_id)
        .bind(c.start.format("%H:%M").to_string())
        .bind(c.minutes)
        .bind(c.first.to_string())
        .bind(c.last.to_string())
        .bind(me)
        .bind(&now)
        .fetch_one(&mut *self.tx)
        .await?;
        for (room, group) in &c.receiving {
            sqlx::query("INSERT INTO lesson_sites (lesson_id, classroom_id, group_id) VALUES ($1, $2, $3)")
                .bind(id)
                .bind(*room)
                .bind(*group)
                .execute(&mut *self.tx)
                .await?;
        }
        for (d, start, end) in &spans {
            sqlx::query(
                "INSERT INTO lesson_occurrences (lesson_id, day, starts_at, ends_at, state) VALUES ($1, $2, $3, $4, 'scheduled')",
            )
            .bind(id)
            .bind(d.to_string())
            .bind(start)
            .bind(end)
            .execute(&mut *self.tx)
            .await?;
        }
        let mut after = self.row_json("lessons", id).await?.unwrap_or_default();
        after.insert("receiving".into(), Value::from(c.receiving.iter().map(|r| r.0).collect::<Vec<_>>()));
        after.insert("occurrences".into(), Value::from(spans.len()));
        self.audit_step("insert", "lessons", Some(id), None, Some(Value::Object(after))).await?;
        Ok(id)
    }

    /// What a new occurrence from `start` to `end` meets: another scheduled or held occurrence of
    /// a lesson of the same teacher, or in one of these classrooms, or with one of these class
    /// groups — in words (《course》 HH:MM–HH:MM, and which of them), or `None`.
    async fn conflict(
        &mut self,
        teacher: i64,
        rooms: &[i64],
        groups: &[i64],
        start: &str,
        end: &str,
    ) -> Result<Option<String>> {
        let list = |ids: &[i64]| {
            if ids.is_empty() {
                "NULL".to_string()
            } else {
                ids.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
            }
        };
        let (rooms, groups) = (list(rooms), list(groups));
        let sql = format!(
            "SELECT l.course, o.starts_at, o.ends_at, \
             CASE WHEN l.teacher_person_id = $1 THEN 'teacher' \
                  WHEN l.main_classroom_id IN ({rooms}) OR EXISTS (SELECT 1 FROM lesson_sites s WHERE s.lesson_id = l.id AND s.classroom_id IN ({rooms})) THEN 'classroom' \
                  ELSE 'group' END \
             FROM lesson_occurrences o JOIN lessons l ON l.id = o.lesson_id \
             WHERE o.state <> 'cancelled' AND o.starts_at < $3 AND o.ends_at > $2 \
             AND (l.teacher_person_id = $1 OR l.main_classroom_id IN ({rooms}) OR l.main_group_id IN ({groups}) \
                  OR EXISTS (SELECT 1 FROM lesson_sites s WHERE s.lesson_id = l.id AND (s.classroom_id IN ({rooms}) OR s.group_id IN ({groups})))) \
             ORDER BY o.starts_at LIMIT 1"
        );
        let row: Option<(String, String, String, String)> =
            sqlx::query_as(&sql).bind(teacher).bind(start).bind(end).fetch_optional(&mut *self.tx).await?;
        Ok(row.map(|(course, s, e, what)| {
            let hm = |t: &str| {
                chrono::DateTime::parse_from_rfc3339(t)
                    .map(|d| (d.with_timezone(&chrono::Utc) + chrono::Duration::hours(8)).format("%H:%M").to_string())
                    .unwrap_or_default()
            };
            let whose = match what.as_str() {
                "teacher" => "同一主讲教师",
                "classroom" => "同一教室",
                _ => "同一教学班",
            };
            format!("{whose}的《{course}》（{}–{}）", hm(&s), hm(&e))
        }))
    }
}

/// A time as stored (RFC 3339, UTC, milliseconds).
fn ts(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

impl crate::Store {
    /// A lesson's occurrences, in order.
    pub async fn lesson_occurrences(&self, lesson: i64) -> Result<Vec<Occurrence>> {
        let rows: Vec<(i64, i64, String, String, String, String)> = sqlx::query_as(
            "SELECT id, lesson_id, day, starts_at, ends_at, state FROM lesson_occurrences WHERE lesson_id = $1 ORDER BY day",
        )
        .bind(lesson)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, lesson_id, day, starts_at, ends_at, state)| Occurrence {
                id,
                lesson_id,
                day,
                starts_at,
                ends_at,
                state,
            })
            .collect())
    }
}

/// A lesson as read: its schedule, its sites and how many times it falls.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Lesson {
    pub id: i64,
    pub kind: String,
    pub course: String,
    pub subject: String,
    pub teacher_person_id: i64,
    pub teacher: String,
    pub main_classroom_id: i64,
    pub main_classroom: String,
    pub main_school: String,
    pub main_group_id: Option<i64>,
    pub pairing_id: Option<i64>,
    pub start_time: String,
    pub minutes: i64,
    pub first_date: String,
    pub last_date: String,
    /// The receiving classrooms: (classroom, its name, its school's name, the class group there).
    pub receiving: Vec<Site>,
    pub occurrences: i64,
}

/// A receiving site of a lesson.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Site {
    pub classroom_id: i64,
    pub classroom: String,
    pub school: String,
    pub group_id: Option<i64>,
}

type LessonRow = (
    i64,
    String,
    String,
    String,
    i64,
    String,
    i64,
    String,
    String,
    Option<i64>,
    Option<i64>,
    String,
    i64,
    String,
    String,
    i64,
);

impl crate::Store {
    /// The lessons of a program (at most `limit`), by first day, with their sites; or one lesson.
    pub async fn lessons(&self, program: i64, only: Option<i64>, limit: i64) -> Result<Vec<Lesson>> {
        let rows: Vec<LessonRow> = sqlx::query_as(
            "SELECT l.id, l.kind, l.course, l.subject, l.teacher_person_id, p.name, l.main_classroom_id, c.name, o.name, \
             l.main_group_id, l.pairing_id, l.start_time, l.minutes, l.first_date, l.last_date, \
             (SELECT COUNT(*) FROM lesson_occurrences x WHERE x.lesson_id = l.id) \
             FROM lessons l JOIN people p ON p.id = l.teacher_person_id JOIN classrooms c ON c.id = l.main_classroom_id \
             JOIN organizations o ON o.id = c.org_id WHERE l.program_id = $1 AND ($2 = 0 OR l.id = $2) \
             ORDER BY l.first_date, l.start_time, l.id LIMIT $3",
        )
        .bind(program)
        .bind(only.unwrap_or(0))
        .bind(limit.clamp(1, 5_000))
        .fetch_all(self.pool())
        .await?;
        let mut out = Vec::new();
        for r in rows {
            let sites: Vec<(i64, String, String, Option<i64>)> = sqlx::query_as(
                "SELECT s.classroom_id, c.name, o.name, s.group_id FROM lesson_sites s JOIN classrooms c ON c.id = s.classroom_id \
                 JOIN organizations o ON o.id = c.org_id WHERE s.lesson_id = $1 ORDER BY s.classroom_id",
            )
            .bind(r.0)
            .fetch_all(self.pool())
            .await?;
            out.push(Lesson {
                id: r.0,
                kind: r.1,
                course: r.2,
                subject: r.3,
                teacher_person_id: r.4,
                teacher: r.5,
                main_classroom_id: r.6,
                main_classroom: r.7,
                main_school: r.8,
                main_group_id: r.9,
                pairing_id: r.10,
                start_time: r.11,
                minutes: r.12,
                first_date: r.13,
                last_date: r.14,
                receiving: sites
                    .into_iter()
                    .map(|(classroom_id, classroom, school, group_id)| Site {
                        classroom_id,
                        classroom,
                        school,
                        group_id,
                    })
                    .collect(),
                occurrences: r.15,
            });
        }
        Ok(out)
    }
}
