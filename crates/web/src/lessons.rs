//! Two-site classes in the JSON API (issue 21, its first part): set up classrooms, class groups
//! with their rosters and terms, schedule lessons, read them with their sites and occurrences.
//! Every write goes through the store's checks (who may arrange, each refusal naming its field,
//! conflicts named), the same as the pages will.

use crate::api::{ApiCtx, ApiError};
use crate::imaging::{bad, int, object, text};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::lessons::{NewLesson, NewTerm};
use serde_json::{json, Map, Value};

/// Refuse a body with a field this endpoint does not know.
fn known(m: &Map<String, Value>, fields: &[&str]) -> Result<(), ApiError> {
    match m.keys().find(|k| !fields.contains(&k.as_str())) {
        Some(k) => Err(bad(k, k, &fields.join("、"), format!("未知字段“{k}”"))),
        None => Ok(()),
    }
}

fn required(m: &Map<String, Value>, k: &str, label: &str) -> Result<i64, ApiError> {
    int(m, k, label)?.ok_or_else(|| bad(k, label, "必填", format!("缺少{label}（{k}）")))
}

/// An array of objects (or an empty one when absent).
fn objects<'a>(m: &'a Map<String, Value>, k: &str, label: &str) -> Result<Vec<&'a Map<String, Value>>, ApiError> {
    match m.get(k) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) if a.len() <= 2_000 => a
            .iter()
            .map(|v| v.as_object().ok_or_else(|| bad(k, label, "对象数组", format!("{label}须为对象数组"))))
            .collect(),
        Some(_) => Err(bad(k, label, "对象数组（至多 2000 项）", format!("{label}须为对象数组"))),
    }
}

async fn program(s: &AppState) -> Result<i64, ApiError> {
    Ok(s.store.default_program().await?.get())
}

fn created(path: String, v: Value) -> Response {
    (StatusCode::CREATED, [(header::LOCATION, path)], Json(v)).into_response()
}

/// POST /api/v1/classrooms: `org_id`, `name`, `role` (main, receiving, both), `equipment`.
pub async fn api_classroom(State(s): State<AppState>, api: ApiCtx, body: Bytes) -> Result<Response, ApiError> {
    crate::reads_business(&api.ctx)?;
    let m = object(&body)?;
    known(&m, &["org_id", "name", "role", "equipment"])?;
    let org = required(&m, "org_id", "学校")?;
    let (name, role, equipment) =
        (text(&m, "name", "教室名称")?, text(&m, "role", "教室用途")?, text(&m, "equipment", "设备")?);
    let mut tx = s.store.write(&api.ctx.user.actor(Some(api.source.clone()))).await?;
    let id = tx.add_classroom(org, &name, &role, &equipment).await?;
    tx.commit().await?;
    Ok(created(format!("/api/v1/classrooms/{id}"), json!({ "id": id, "org_id": org, "name": name.trim() })))
}

/// POST /api/v1/class-groups: `org_id`, `name`, `grade`, `members` ([{`student_no`, `student_name`}]).
pub async fn api_class_group(State(s): State<AppState>, api: ApiCtx, body: Bytes) -> Result<Response, ApiError> {
    crate::reads_business(&api.ctx)?;
    let m = object(&body)?;
    known(&m, &["org_id", "name", "grade", "members"])?;
    let org = required(&m, "org_id", "学校")?;
    let mut members = Vec::new();
    for (i, o) in objects(&m, "members", "学生名单")?.into_iter().enumerate() {
        known(o, &["student_no", "student_name"])?;
        let field = format!("members[{i}]");
        members.push((text(o, "student_no", &field)?, text(o, "student_name", &field)?));
    }
    let (name, grade) = (text(&m, "name", "教学班名称")?, text(&m, "grade", "年级")?);
    let mut tx = s.store.write(&api.ctx.user.actor(Some(api.source.clone()))).await?;
    let id = tx.add_class_group(org, &name, &grade, &members).await?;
    tx.commit().await?;
    Ok(created(format!("/api/v1/class-groups/{id}"), json!({ "id": id, "org_id": org, "members": members.len() })))
}

/// POST /api/v1/terms: `org_id`, `name`, `start`, `end`, `days_off` ([{`day`, `note`}]),
/// `makeup` ([{`day`, `weekday`}]).
pub async fn api_term(State(s): State<AppState>, api: ApiCtx, body: Bytes) -> Result<Response, ApiError> {
    crate::reads_business(&api.ctx)?;
    let m = object(&body)?;
    known(&m, &["org_id", "name", "start", "end", "days_off", "makeup"])?;
    let org = required(&m, "org_id", "学校")?;
    let mut days_off = Vec::new();
    for o in objects(&m, "days_off", "放假日期")? {
        known(o, &["day", "note"])?;
        days_off.push((text(o, "day", "放假日期")?, text(o, "note", "放假事由")?));
    }
    let mut makeup = Vec::new();
    for o in objects(&m, "makeup", "调休补课日期")? {
        known(o, &["day", "weekday"])?;
        let w = required(o, "weekday", "按星期几上课")?;
        makeup.push((text(o, "day", "调休补课日期")?, u32::try_from(w).unwrap_or(0)));
    }
    let t = NewTerm {
        name: text(&m, "name", "学期名称")?,
        start: text(&m, "start", "开学日期")?,
        end: text(&m, "end", "结束日期")?,
        days_off,
        makeup,
    };
    let mut tx = s.store.write(&api.ctx.user.actor(Some(api.source.clone()))).await?;
    let id = tx.add_term(org, &t).await?;
    tx.commit().await?;
    Ok(created(format!("/api/v1/terms/{id}"), json!({ "id": id, "org_id": org, "name": t.name.trim() })))
}

const LESSON_FIELDS: &[&str] = &[
    "kind",
    "course",
    "subject",
    "teacher_person_id",
    "main_classroom_id",
    "main_group_id",
    "receiving",
    "pairing_id",
    "start_time",
    "minutes",
    "first",
    "last",
];

/// GET /api/v1/lessons: the program's lessons with their sites, by first day.
pub async fn api_list(State(s): State<AppState>, api: ApiCtx) -> Result<Json<Value>, ApiError> {
    crate::reads_business(&api.ctx)?;
    let all = s.store.lessons(program(&s).await?, None, 1_000).await?;
    Ok(Json(json!({ "total": all.len(), "items": all })))
}

/// GET /api/v1/lessons/{id}: a lesson with its sites and every occurrence.
pub async fn api_get(State(s): State<AppState>, api: ApiCtx, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    crate::reads_business(&api.ctx)?;
    let missing = || ApiError::new(StatusCode::NOT_FOUND, "没有这节课");
    let id = id.parse::<i64>().ok().filter(|i| *i > 0).ok_or_else(missing)?;
    let l = s.store.lessons(program(&s).await?, Some(id), 1).await?.into_iter().next().ok_or_else(missing)?;
    let mut v = serde_json::to_value(&l).unwrap_or(Value::Null);
    v["schedule"] = serde_json::to_value(s.store.lesson_occurrences(id).await?).unwrap_or(Value::Null);
    Ok(Json(v))
}

/// POST /api/v1/lessons: schedule a lesson (once, or weekly from `first` to `last`); a conflict
/// is a 422 naming what it meets.
pub async fn api_schedule(State(s): State<AppState>, api: ApiCtx, body: Bytes) -> Result<Response, ApiError> {
    crate::reads_business(&api.ctx)?;
    let m = object(&body)?;
    known(&m, LESSON_FIELDS)?;
    let mut receiving = Vec::new();
    for (i, o) in objects(&m, "receiving", "接收教室")?.into_iter().enumerate() {
        known(o, &["classroom_id", "group_id"])?;
        let field = format!("receiving[{i}]");
        receiving.push((required(o, "classroom_id", &field)?, int(o, "group_id", &field)?));
    }
    let first = text(&m, "first", "首次上课日期")?;
    let last = match text(&m, "last", "末次上课日期")? {
        l if l.trim().is_empty() => first.clone(),
        l => l,
    };
    let l = NewLesson {
        kind: text(&m, "kind", "课堂类型")?,
        course: text(&m, "course", "课程")?,
        subject: text(&m, "subject", "学科")?,
        teacher_person_id: int(&m, "teacher_person_id", "主讲教师")?,
        main_classroom_id: int(&m, "main_classroom_id", "主讲教室")?,
        main_group_id: int(&m, "main_group_id", "教学班")?,
        receiving,
        pairing_id: int(&m, "pairing_id", "结对")?,
        start_time: text(&m, "start_time", "上课时间")?,
        minutes: int(&m, "minutes", "时长")?.unwrap_or(0),
        first,
        last,
    };
    let program = program(&s).await?;
    let mut tx = s.store.write(&api.ctx.user.actor(Some(api.source.clone()))).await?;
    let id = tx.schedule_lesson(program, &l).await?;
    tx.commit().await?;
    let made = s.store.lessons(program, Some(id), 1).await?.into_iter().next();
    Ok(created(format!("/api/v1/lessons/{id}"), serde_json::to_value(made).unwrap_or(Value::Null)))
}

// ---- Pages -------------------------------------------------------------------------------------

use crate::auth::Ctx;
use crate::{layout, AppError};
use maud::{html, Markup};

fn kind_label(code: &str) -> &'static str {
    domain::lessons::LessonKind::parse(code).map_or("—", |k| k.label())
}

/// "每周一 10:00" or "一次 10:00", from the first day's weekday.
fn when(ctx: &Ctx, l: &store::lessons::Lesson) -> String {
    use chrono::Datelike;
    let names = ["一", "二", "三", "四", "五", "六", "日"];
    let w = domain::Date::parse(&l.first_date).ok().map(|d| d.naive().weekday().num_days_from_monday() as usize);
    let at = format!("{} · {}{}", l.start_time, l.minutes, ctx.t(" 分钟", " min"));
    match w {
        Some(w) if l.first_date != l.last_date => format!(
            "{}{} {at}",
            ctx.t("每周", "weekly, "),
            ctx.t(names[w], ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][w])
        ),
        _ => format!("{} {at}", ctx.t("一次", "once")),
    }
}

/// GET /lessons: the program's two-site lessons — kind, course, teacher, main and receiving
/// classrooms, when, from and to, how many times —, each opening to its occurrences.
pub async fn page(State(s): State<AppState>, ctx: Ctx) -> Result<Markup, AppError> {
    crate::reads_business(&ctx)?;
    let program = s.store.default_program().await?.get();
    let all = s.store.lessons(program, None, 1_000).await?;
    let title = ctx.t("两地课堂", "Two-site classes");
    let body = html! {
        h1 { (title) }
        p.hint { (ctx.t("一堂课两地同上：江西的主讲教室与阿克陶的接收教室同时上课。时间均为北京时间。排课见 API（POST /api/v1/lessons）。", "One lesson in two places: a Jiangxi main classroom and Akto receiving classrooms at once. Beijing time. Scheduling is in the API (POST /api/v1/lessons).")) }
        p { (ctx.t("共 ", "")) strong.total { (all.len()) } (ctx.t(" 节课", " lessons")) }
        @if all.is_empty() {
            p #no-lessons { (ctx.t("还没有排课。", "No lesson is scheduled yet.")) }
        } @else {
            table.data #lessons {
                thead { tr { th { (ctx.t("课程", "Course")) } th { (ctx.t("类型", "Kind")) } th { (ctx.t("主讲", "Teacher")) } th { (ctx.t("主讲教室", "Main classroom")) } th { (ctx.t("接收教室", "Receiving")) } th { (ctx.t("时间", "When")) } th { (ctx.t("起止", "From – to")) } th.num { (ctx.t("次数", "Times")) } } }
                tbody { @for l in &all { tr {
                    td { a href={ "/lessons/" (l.id) } { (l.course) } " · " (l.subject) }
                    td { (kind_label(&l.kind)) }
                    td { (l.teacher) }
                    td { (l.main_school) " · " (l.main_classroom) }
                    td { @for (i, r) in l.receiving.iter().enumerate() { @if i > 0 { br; } (r.school) " · " (r.classroom) } }
                    td { (when(&ctx, l)) }
                    td { (l.first_date) " – " (l.last_date) }
                    td.num { (l.occurrences) }
                } } }
            }
        }
    };
    Ok(layout::page(&ctx, title, body))
}

/// GET /lessons/{id}: a lesson and each time it is given.
pub async fn lesson_page(State(s): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> Result<Markup, AppError> {
    crate::reads_business(&ctx)?;
    let missing = || AppError::NotFound(ctx.t("没有这节课", "No such lesson").into());
    let id = id.parse::<i64>().ok().filter(|i| *i > 0).ok_or_else(missing)?;
    let program = s.store.default_program().await?.get();
    let l = s.store.lessons(program, Some(id), 1).await?.into_iter().next().ok_or_else(missing)?;
    let times = s.store.lesson_occurrences(id).await?;
    let body = html! {
        p.crumbs { a href="/lessons" { (ctx.t("两地课堂", "Two-site classes")) } " › " (l.id) }
        h1 { (l.course) }
        dl.record {
            dt { (ctx.t("类型", "Kind")) } dd { (kind_label(&l.kind)) }
            dt { (ctx.t("学科", "Subject")) } dd { (l.subject) }
            dt { (ctx.t("主讲教师", "Teacher")) } dd { (l.teacher) }
            dt { (ctx.t("主讲教室", "Main classroom")) } dd { (l.main_school) " · " (l.main_classroom) }
            dt { (ctx.t("接收教室", "Receiving")) } dd { @for (i, r) in l.receiving.iter().enumerate() { @if i > 0 { "；" } (r.school) " · " (r.classroom) } }
            dt { (ctx.t("时间（北京时间）", "When (Beijing time)")) } dd { (when(&ctx, &l)) }
            @if let Some(p) = l.pairing_id { dt { (ctx.t("结对", "Pairing")) } dd { a href={ "/records/pairings/" (p) } { "#" (p) } } }
        }
        h2 { (ctx.t("上课安排", "Schedule")) }
        table.data.compact #occurrences {
            thead { tr { th { (ctx.t("日期", "Day")) } th { (ctx.t("开始", "Starts")) } th { (ctx.t("结束", "Ends")) } th { (ctx.t("状态", "State")) } } }
            tbody { @for o in &times { tr {
                td { (o.day) } td { (layout::beijing(&o.starts_at)) } td { (layout::beijing(&o.ends_at)) }
                td { (match o.state.as_str() { "held" => ctx.t("已上课", "held"), "cancelled" => ctx.t("已取消", "cancelled"), _ => ctx.t("待上课", "scheduled") }) }
            } } }
        }
    };
    Ok(layout::page(&ctx, &l.course, body))
}
