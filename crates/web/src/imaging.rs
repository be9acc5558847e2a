//! 远程影像 (the remote imaging centre): the worklist (`/imaging`: what is offered to or accepted
//! by the reader, its departments' queue, its hospital's requests; emergencies first, with the
//! images' completeness as the PACS reported it), a consultation request's form and page (accept,
//! decline with a reason, take from the queue, a manager's reassignment; every step with its time),
//! the consent document, the studies lately arrived from the PACS, and the duty roster
//! (`/imaging/duty`). Every write goes through `store::consults`, which decides who may do what.

use crate::auth::Ctx;
use crate::layout;
use crate::{AppError, AppState};
use axum::extract::{Multipart, Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::{DateTime, Utc};
use domain::imaging::{
    clock, source_label, target_for, title_label, Clock, Consent, NewRequest, Priority, ReportAction, ReportStanding,
    ReportState, ReportText, TatTarget, MODALITIES, PRIORITIES, SOURCES, TITLES,
};
use maud::{html, Markup};
use serde::Deserialize;
use std::collections::HashMap;
use store::consults::{Critical, Images, Report, Request};
use store::StoreError;

fn id_of(ctx: &Ctx, raw: &str) -> Result<i64, AppError> {
    raw.parse::<i64>()
        .ok()
        .filter(|i| *i > 0)
        .ok_or_else(|| AppError::NotFound(ctx.t("没有这份会诊申请", "No such consultation request").into()))
}

fn state_zh(state: &str) -> &'static str {
    domain::imaging::RequestState::parse(state).map(|s| s.label()).unwrap_or("未知")
}

fn priority_zh(p: &str) -> &'static str {
    Priority::parse(p).map(|p| p.label()).unwrap_or("常规")
}

fn action_zh(a: &str) -> &'static str {
    match a {
        "requested" => "提出申请",
        "offered" => "分派给专家",
        "queued" => "进入包科医院待分派队列",
        "accepted" => "专家接收",
        "declined" => "专家拒绝",
        "reassigned" => "改派",
        "taken" => "专家领取",
        "report_signed" => "签署初步报告",
        "report_reviewed" => "审核签名",
        "report_issued" => "签发正式报告",
        "report_confirmed" => "申请医院确认",
        "report_amended" => "修订报告",
        "critical_flagged" => "标记危急值",
        "critical_closed" => "危急值已通知并回读",
        _ => "其他",
    }
}

fn images(ctx: &Ctx, m: Option<&Images>) -> Markup {
    html! {
        @match m {
            Some(i) if i.complete => span.images.complete { (ctx.t("图像完整", "images complete")) " · " (i.series) (ctx.t(" 序列 ", " series ")) (i.instances) (ctx.t(" 幅", " images")) },
            Some(i) => span.images.receiving { (ctx.t("接收中", "receiving")) " · " (i.series) (ctx.t(" 序列 ", " series ")) (i.instances) (ctx.t(" 幅", " images")) },
            None => span.images { "—" },
        }
    }
}

fn parse_ts(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s).ok().map(|d| d.with_timezone(&Utc))
}

/// What the clocks need of the requests shown: their images, when their reports were issued,
/// the centre's targets, and now.
struct Clocks {
    images: HashMap<i64, Images>,
    issued: HashMap<i64, String>,
    targets: Vec<TatTarget>,
    now: DateTime<Utc>,
}

impl Clocks {
    async fn of(s: &AppState, ids: &[i64]) -> Result<Clocks, AppError> {
        Ok(Clocks {
            images: s.store.imaging_images(ids).await?,
            issued: s.store.imaging_issued(ids).await?,
            targets: s.store.imaging_tat_targets().await?,
            now: Utc::now(),
        })
    }

    fn of_request(&self, r: &Request) -> Option<(&TatTarget, Clock)> {
        let t = target_for(&self.targets, &r.priority, &r.patient_source, &r.modality, &r.body_part, r.complex)?;
        let requested = parse_ts(&r.requested_at)?;
        let images = self.images.get(&r.id).and_then(|i| i.complete_at.as_deref()).and_then(parse_ts);
        let issued = self.issued.get(&r.id).and_then(|s| parse_ts(s));
        Some((t, clock(requested, images, issued, t, self.now)))
    }
}

fn shown(t: DateTime<Utc>) -> String {
    layout::beijing(&t.to_rfc3339())
}

fn clock_cell(ctx: &Ctx, c: Option<(&TatTarget, Clock)>) -> Markup {
    html! {
        @match c {
            None => span.clock { "—" },
            Some((t, Clock::WaitingForImages)) => span.clock.waiting title=(t.name) { (ctx.t("待图像完整，未计时", "waiting for the images")) },
            Some((t, Clock::Running { due, overdue, .. })) => span class={ "clock " @if overdue { "overdue" } @else { "running" } } title=(t.name) {
                (ctx.t("截止 ", "due ")) (shown(due)) @if overdue { " " span.badge.overdue { (ctx.t("超时", "overdue")) } } },
            Some((t, Clock::Done { start, issued, within, .. })) => span class={ "clock " @if within { "within" } @else { "late" } } title=(t.name) {
                (ctx.t("用时 ", "took ")) ((issued - start).num_minutes()) (ctx.t(" 分钟 · ", " min · ")) @if within { (ctx.t("按时", "on time")) } @else { (ctx.t("超时", "late")) } },
        }
    }
}

fn table(ctx: &Ctx, rows: &[&Request], clocks: &Clocks) -> Markup {
    let imgs = &clocks.images;
    html! {
        table.data.worklist {
            thead { tr {
                th { (ctx.t("编号", "No.")) } th { (ctx.t("优先级", "Priority")) } th { (ctx.t("科室", "Department")) }
                th { (ctx.t("包科医院", "Owning hospital")) } th { (ctx.t("检查", "Exam")) } th { (ctx.t("患者", "Patient")) }
                th { (ctx.t("图像", "Images")) } th { (ctx.t("状态", "State")) } th { (ctx.t("专家", "Expert")) } th { (ctx.t("申请时间", "Asked")) }
                th { (ctx.t("报告时限", "Due")) }
            } }
            tbody {
                @for r in rows {
                    @let c = clocks.of_request(r);
                    @let late = matches!(c, Some((_, Clock::Running { overdue: true, .. })));
                    tr class={ "priority-" (r.priority) @if late { " overdue" } } data-request=(r.id) {
                        td { a href={ "/imaging/requests/" (r.id) } { (r.id) } }
                        td { span class={ "badge " (r.priority) } { (priority_zh(&r.priority)) } }
                        td { (r.department) } td { (r.owner) }
                        td { (r.modality) " · " (r.exam) }
                        td { (r.patient_name) " · " (r.patient_sex) " · " (r.patient_age) (ctx.t("岁", " y")) }
                        td { (images(ctx, imgs.get(&r.id))) }
                        td { span class={ "state " (r.state) } { (state_zh(&r.state)) } }
                        td { (r.assignee.clone().unwrap_or_else(|| "—".into())) }
                        td { (layout::beijing(&r.requested_at)) }
                        td { (clock_cell(ctx, c)) }
                    }
                }
            }
        }
    }
}

pub async fn worklist(State(s): State<AppState>, ctx: Ctx) -> Result<Markup, AppError> {
    crate::reads_business(&ctx)?;
    let actor = ctx.user.actor(None);
    let all = s.store.imaging_worklist(&actor, 1000).await?;
    let ids: Vec<i64> = all.iter().map(|r| r.id).collect();
    let clocks = Clocks::of(&s, &ids).await?;
    let me = ctx.user.user_id.get();
    let mine: Vec<&Request> = all.iter().filter(|r| r.assignee_user_id == Some(me)).collect();
    let roster = s.store.imaging_roster_of(me).await?;
    let queue: Vec<&Request> = all
        .iter()
        .filter(|r| r.state == "queued" && roster.iter().any(|e| e.department_org_id == r.department_org_id))
        .collect();
    let others: Vec<&Request> =
        all.iter().filter(|r| r.assignee_user_id != Some(me) && !queue.iter().any(|q| q.id == r.id)).collect();
    let title = ctx.t("远程影像会诊", "Remote imaging consultations");
    let body = html! {
        h1 { (title) }
        p {
            @if ctx.user.role.writes_records() { a.button href="/imaging/requests/new" id="new-request" { (ctx.t("提出会诊申请", "Request a consultation")) } " " }
            a href="/imaging/studies" { (ctx.t("影像平台收到的检查 ›", "Studies received by the PACS ›")) }
            " · " a href="/imaging/critical" id="critical-board" { (ctx.t("危急值 ›", "Critical results ›")) }
            " · " a href="/imaging/duty" { (ctx.t("排班与规则 ›", "Roster and rules ›")) }
        }
        @if !roster.is_empty() {
            p.hint { (ctx.t("我的排班：", "On the roster of: "))
                @for (i, e) in roster.iter().enumerate() { @if i > 0 { "、" } (e.department) "（" (title_label(&e.title)) @if !e.on_duty { (ctx.t("，不在岗", ", off duty")) } "）" } }
        }
        h2 { (ctx.t("分派给我的", "Assigned to me")) }
        @if mine.is_empty() { p.hint id="mine-empty" { (ctx.t("没有。", "None.")) } } @else { div id="mine" { (table(&ctx, &mine, &clocks)) } }
        @if !roster.is_empty() {
            h2 { (ctx.t("科室待分派队列", "My departments' queue")) }
            @if queue.is_empty() { p.hint { (ctx.t("队列为空。", "The queue is empty.")) } } @else { div id="queue" { (table(&ctx, &queue, &clocks)) } }
        }
        h2 { (ctx.t("会诊申请", "Requests")) }
        @if others.is_empty() { p.hint { (ctx.t("没有。", "None.")) } } @else { div id="requests" { (table(&ctx, &others, &clocks)) } }
    };
    Ok(layout::page(&ctx, title, body))
}

/// The request form, with the errors of a refused try beside their fields.
async fn form(
    s: &AppState,
    ctx: &Ctx,
    errors: &HashMap<String, String>,
    v: &HashMap<String, String>,
) -> Result<Markup, AppError> {
    let depts = s.store.imaging_departments().await?;
    let studies = s.store.imaging_studies(200).await?;
    let err = |k: &str| errors.get(k).cloned();
    let val = |k: &str| v.get(k).cloned().unwrap_or_default();
    let chosen: Vec<&str> = v.get("study_uids").map(|s| s.split('\n').collect()).unwrap_or_default();
    Ok(html! {
        form.stack.imaging-request method="post" action="/imaging/requests" enctype="multipart/form-data" {
            input type="hidden" name="csrf" value=(ctx.user.csrf);
            fieldset { legend { (ctx.t("患者", "Patient")) }
                (layout::field("患者姓名", html! { input name="patient_name" required maxlength="50" value=(val("patient_name")); }, err("patient_name")))
                (layout::field("性别", html! { select name="patient_sex" { option value="男" selected[val("patient_sex") == "男"] { "男" } option value="女" selected[val("patient_sex") == "女"] { "女" } } }, err("patient_sex")))
                (layout::field("年龄（周岁）", html! { input name="patient_age" type="number" min="0" max="150" required value=(val("patient_age")); }, err("patient_age")))
                (layout::field("身份证号（选填，加密保存）", html! { input name="patient_id_number" maxlength="18" autocomplete="off" value=(val("patient_id_number")); }, err("patient_id_number")))
            }
            fieldset { legend { (ctx.t("检查与会诊", "Exam and question")) }
                (layout::field("检查项目", html! { input name="exam" required maxlength="100" value=(val("exam")); }, err("exam")))
                (layout::field("检查类型", html! { select name="modality" { @for (c, n) in MODALITIES { option value=(c) selected[val("modality") == *c] { (c) " " (n) } } } }, err("modality")))
                (layout::field("检查部位", html! { input name="body_part" required maxlength="50" value=(val("body_part")); }, err("body_part")))
                (layout::field("会诊目的（临床问题）", html! { textarea name="clinical_question" rows="2" required maxlength="500" { (val("clinical_question")) } }, err("clinical_question")))
                (layout::field("病情摘要", html! { textarea name="case_summary" rows="4" required maxlength="4000" { (val("case_summary")) } }, err("case_summary")))
                (layout::field("优先级", html! { select name="priority" { @for (_, c, n) in PRIORITIES { option value=(c) selected[val("priority") == *c] { (n) } } } }, err("priority")))
                (layout::field("会诊科室（院包科）", html! { select name="department_id" { option value="" { "—" } @for (id, name, owner) in &depts { option value=(id) selected[val("department_id") == id.to_string()] { (name) " → " (owner) } } } }, err("department_id")))
                (layout::field("专家职称", html! { select name="expert_title" { @for (c, n) in TITLES { option value=(c) selected[val("expert_title") == *c] { (n) } } } }, err("expert_title")))
                (layout::field("患者来源", html! { select name="patient_source" { @for (c, n) in SOURCES { option value=(c) selected[val("patient_source") == *c] { (n) } } } }, err("patient_source")))
                label.check { input type="checkbox" name="complex" value="yes" checked[val("complex") == "yes"]; " " (ctx.t("疑难病例", "Complex case")) }
            }
            fieldset.studies { legend { (ctx.t("关联检查（影像平台已收到的）", "Studies (as received by the PACS)")) }
                @if let Some(e) = err("study_uids") { span.error role="alert" { (e) } }
                @if studies.iter().all(|s| s.state == "deleted") { p.hint { (ctx.t("影像平台还没有收到检查：请先把图像传到影像平台。", "The PACS has no study yet: send the images first.")) } }
                @for st in studies.iter().filter(|s| s.state != "deleted") {
                    label.check { input type="checkbox" name="study_uids" value=(st.study_uid) checked[chosen.contains(&st.study_uid.as_str())];
                        " " (st.study_date.clone().unwrap_or_default()) " · " (st.modalities) " · " (st.body_parts) " · " (st.description.clone().unwrap_or_default())
                        " · " (st.series_count) (ctx.t(" 序列 ", " series ")) (st.instance_count) (ctx.t(" 幅 · ", " images · "))
                        (if st.state == "complete" { ctx.t("完整", "complete") } else { ctx.t("接收中", "receiving") }) }
                }
            }
            fieldset { legend { (ctx.t("知情同意", "Consent")) }
                @if let Some(e) = err("consent") { span.error role="alert" { (e) } }
                label.check { input type="checkbox" name="consent" value="yes"; " " (ctx.t("患者（或其监护人）已书面同意远程会诊", "The patient (or guardian) consented in writing")) }
                (layout::field("签字的知情同意书（PDF、JPEG 或 PNG，不超过 10 MB）", html! { input type="file" name="consent_file" accept="application/pdf,image/jpeg,image/png"; }, err("consent_file")))
            }
            p.hint { (ctx.t("会诊意见仅供参考，诊疗决定由申请医院作出。", "The opinion is advisory; the treating decision stays with the requesting hospital.")) }
            button type="submit" id="send-request" { (ctx.t("提交会诊申请", "Send the request")) }
        }
    })
}

pub async fn new_form(State(s): State<AppState>, ctx: Ctx) -> Result<Markup, AppError> {
    crate::reads_business(&ctx)?;
    let title = ctx.t("提出会诊申请", "Request a consultation");
    let f = form(&s, &ctx, &HashMap::new(), &HashMap::new()).await?;
    let body = html! { p.crumbs { a href="/imaging" { (ctx.t("远程影像会诊", "Remote imaging")) } " › " (title) } h1 { (title) } (f) };
    Ok(layout::page(&ctx, title, body))
}

pub async fn create(State(s): State<AppState>, ctx: Ctx, mut parts: Multipart) -> Result<Response, AppError> {
    let failed = |e: axum::extract::multipart::MultipartError| {
        AppError::from(StoreError::Invalid(
            domain::Invalid::new("consent_file", "知情同意书", "上传", format!("上传未完成：{}", e.body_text())).into(),
        ))
    };
    let mut v: HashMap<String, String> = HashMap::new();
    let mut uids = Vec::new();
    let mut consent_given = false;
    let mut file: Option<(String, String, Vec<u8>)> = None;
    while let Some(field) = parts.next_field().await.map_err(failed)? {
        let name = field.name().unwrap_or_default().to_string();
        let file_name = field.file_name().map(str::to_string);
        let ctype = field.content_type().unwrap_or("application/octet-stream").to_string();
        let bytes = field.bytes().await.map_err(failed)?;
        match name.as_str() {
            "consent_file" => {
                if let Some(n) = file_name.filter(|n| !n.is_empty()) {
                    file = Some((n, ctype, bytes.to_vec()));
                }
            }
            "study_uids" => uids.push(String::from_utf8_lossy(&bytes).into_owned()),
            "consent" => consent_given = String::from_utf8_lossy(&bytes) == "yes",
            _ => {
                v.insert(name, String::from_utf8_lossy(&bytes).into_owned());
            }
        }
    }
    ctx.check_csrf(v.get("csrf").map(String::as_str).unwrap_or_default())?;
    crate::reads_business(&ctx)?;
    let get = |k: &str| v.get(k).cloned().unwrap_or_default();
    let age = get("patient_age").trim().parse::<i64>().unwrap_or(-1);
    let department_id = get("department_id").trim().parse::<i64>().ok();
    let consent = match (consent_given, file) {
        (true, Some((file_name, content_type, bytes))) => Some(Consent { given: true, file_name, content_type, bytes }),
        (true, None) => {
            Some(Consent { given: true, file_name: String::new(), content_type: String::new(), bytes: Vec::new() })
        }
        (false, _) => None,
    };
    let r = NewRequest {
        patient_name: get("patient_name"),
        patient_sex: get("patient_sex"),
        patient_age: age,
        patient_id_number: Some(get("patient_id_number")),
        exam: get("exam"),
        modality: get("modality"),
        body_part: get("body_part"),
        clinical_question: get("clinical_question"),
        case_summary: get("case_summary"),
        priority: get("priority"),
        department_id,
        expert_title: get("expert_title"),
        patient_source: get("patient_source"),
        complex: get("complex") == "yes",
        study_uids: uids.clone(),
        consent,
    };
    let res = async {
        let mut tx = s.store.write(&ctx.user.actor(None)).await?;
        let id = tx.request_imaging(&r).await?;
        tx.commit().await?;
        Ok::<i64, StoreError>(id)
    }
    .await;
    match res {
        Ok(id) => Ok(Redirect::to(&format!("/imaging/requests/{id}")).into_response()),
        Err(StoreError::Invalid(e)) => {
            let errors: HashMap<String, String> = e.0.iter().map(|x| (x.field.clone(), x.to_string())).collect();
            v.insert("study_uids".into(), uids.join("\n"));
            // The 身份证号 is not sent back into the page.
            v.remove("patient_id_number");
            let title = ctx.t("提出会诊申请", "Request a consultation");
            let f = form(&s, &ctx, &errors, &v).await?;
            let body = html! {
                p.crumbs { a href="/imaging" { (ctx.t("远程影像会诊", "Remote imaging")) } " › " (title) }
                h1 { (title) }
                div.errors role="alert" { p { (ctx.t("会诊申请未提交：", "The request was not sent: ")) } ul { @for x in &e.0 { li data-field=(x.field) { (x.to_string()) } } } }
                (f)
            };
            Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, layout::page(&ctx, title, body)).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

async fn visible(s: &AppState, ctx: &Ctx, id: i64) -> Result<Request, AppError> {
    crate::reads_business(ctx)?;
    match s.store.imaging_request_for(&ctx.user.actor(None), id).await {
        Ok(r) => Ok(r),
        Err(StoreError::NotFound { .. }) => {
            Err(AppError::NotFound(ctx.t("没有这份会诊申请", "No such consultation request").into()))
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn page(State(s): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> Result<Markup, AppError> {
    let id = id_of(&ctx, &id)?;
    let r = visible(&s, &ctx, id).await?;
    let studies = s.store.imaging_request_studies(id).await?;
    let events = s.store.imaging_request_events(id).await?;
    let me = ctx.user.user_id.get();
    let mine = r.assignee_user_id == Some(me);
    let roster = s.store.imaging_experts(r.department_org_id).await?;
    let on_roster = roster.iter().any(|e| e.user_id == me);
    let names: HashMap<i64, String> = roster.iter().map(|e| (e.user_id, e.user_name.clone())).collect();
    let who = |u: Option<i64>| u.map(|u| names.get(&u).cloned().unwrap_or_else(|| format!("#{u}"))).unwrap_or_default();
    let reports = s.store.imaging_reports(id).await?;
    let standing = s.store.imaging_report_standing(&ctx.user.actor(None), &r).await?;
    let required = s.store.imaging_review_required().await?;
    let clocks = Clocks::of(&s, &[id]).await?;
    let c = clocks.of_request(&r);
    let criticals = s.store.imaging_criticals_of(id).await?;
    let critical_list = s.store.imaging_critical_list().await?;
    let title = format!("{}{} {}", ctx.t("会诊申请 ", "Consultation request "), r.id, r.exam);
    let body = html! {
        p.crumbs { a href="/imaging" { (ctx.t("远程影像会诊", "Remote imaging")) } " › " (r.id) }
        h1 { (title) }
        p { span class={ "badge " (r.priority) } { (priority_zh(&r.priority)) } " "
            (ctx.t("状态：", "State: ")) span id="request-state" class={ "state " (r.state) } { (state_zh(&r.state)) }
            @if let Some(a) = &r.assignee { " · " (ctx.t("专家：", "Expert: ")) span id="request-assignee" { (a) } } }
        p.hint.advisory { (ctx.t("远程会诊意见仅供参考，诊疗决定由申请医院作出。", "The consultation's opinion is advisory; the treating decision stays with the requesting hospital.")) }
        dl.record {
            dt { (ctx.t("申请单位", "Requested by")) } dd { (r.requesting_org) }
            dt { (ctx.t("会诊科室", "Department")) } dd { (r.department) }
            dt { (ctx.t("包科医院", "Owning hospital")) } dd id="request-owner" { (r.owner) }
            dt { (ctx.t("患者", "Patient")) } dd { (r.patient_name) " · " (r.patient_sex) " · " (r.patient_age) (ctx.t(" 岁", " y"))
                @if let Some(m) = &r.patient_id_number_mask { " · " (ctx.t("身份证号 ", "ID ")) (m) } }
            dt { (ctx.t("检查", "Exam")) } dd { (r.modality) " · " (r.exam) " · " (r.body_part) }
            dt { (ctx.t("会诊目的", "Question")) } dd { (r.clinical_question) }
            dt { (ctx.t("病情摘要", "Case summary")) } dd.summary { (r.case_summary) }
            dt { (ctx.t("专家职称", "Title asked")) } dd { (title_label(&r.expert_title)) }
            dt { (ctx.t("患者来源", "Patient")) } dd { (source_label(&r.patient_source)) @if r.complex { (ctx.t(" · 疑难病例", " · complex case")) } }
            dt { (ctx.t("报告时限", "Turnaround")) } dd id="request-clock" {
                @if let Some((t, _)) = c { (t.name) "：" (t.minutes) (ctx.t(" 分钟", " min")) @if t.working_hours { (ctx.t("（工作时间）", " (working hours)")) } " · " }
                (clock_cell(&ctx, c)) }
            dt { (ctx.t("知情同意", "Consent")) } dd { (ctx.t("已书面同意 · ", "given in writing · ")) a href={ "/imaging/requests/" (r.id) "/consent" } { (ctx.t("知情同意书", "the signed form")) } }
            dt { (ctx.t("申请时间", "Asked")) } dd { (layout::beijing(&r.requested_at)) }
        }
        h2 { (ctx.t("关联检查", "Studies")) }
        table.data.compact.studies {
            thead { tr { th { (ctx.t("检查日期", "Date")) } th { (ctx.t("类型", "Modality")) } th { (ctx.t("部位", "Body part")) } th { (ctx.t("描述", "Description")) } th.num { (ctx.t("序列", "Series")) } th.num { (ctx.t("图像", "Images")) } th { (ctx.t("状态", "State")) } } }
            tbody { @for st in &studies { tr {
                td { (st.study_date.clone().unwrap_or_default()) } td { (st.modalities) } td { (st.body_parts) } td { (st.description.clone().unwrap_or_default()) }
                td.num { (st.series_count) } td.num { (st.instance_count) }
                td { (match st.state.as_str() { "complete" => ctx.t("图像完整", "complete"), "deleted" => ctx.t("已从影像平台删除", "removed from the PACS"), _ => ctx.t("接收中", "receiving") }) }
            } } }
        }
        @if mine && r.state != "offered" {
            p { a.button #open-viewer href={ "/imaging/requests/" (r.id) "/view" } { (ctx.t("阅片", "View the images")) } }
        }
        h2 { (ctx.t("办理", "Actions")) }
        div.actions {
            @if mine && r.state == "offered" {
                form.inline method="post" action={ "/imaging/requests/" (r.id) "/act" } {
                    input type="hidden" name="csrf" value=(ctx.user.csrf); input type="hidden" name="action" value="accept";
                    button type="submit" id="accept-request" { (ctx.t("接收", "Accept")) }
                }
            }
            @if mine && r.state != "queued" {
                form.inline method="post" action={ "/imaging/requests/" (r.id) "/act" } {
                    input type="hidden" name="csrf" value=(ctx.user.csrf); input type="hidden" name="action" value="decline";
                    input name="reason" placeholder=(ctx.t("拒绝理由（必填）", "Reason (required)")) required maxlength="200";
                    button.danger type="submit" id="decline-request" { (ctx.t("拒绝", "Decline")) }
                }
            }
            @if on_roster && r.state == "queued" {
                form.inline method="post" action={ "/imaging/requests/" (r.id) "/act" } {
                    input type="hidden" name="csrf" value=(ctx.user.csrf); input type="hidden" name="action" value="take";
                    button type="submit" id="take-request" { (ctx.t("分派给我", "Assign to me")) }
                }
            }
            @if ctx.user.role.manages_program() && !roster.is_empty() {
                form.inline method="post" action={ "/imaging/requests/" (r.id) "/act" } {
                    input type="hidden" name="csrf" value=(ctx.user.csrf); input type="hidden" name="action" value="reassign";
                    select name="to_user_id" { @for e in &roster { option value=(e.user_id) { (e.user_name) "（" (title_label(&e.title)) @if !e.on_duty { "，不在岗" } "）" } } }
                    input name="reason" placeholder=(ctx.t("改派理由（必填）", "Reason (required)")) required maxlength="200";
                    button type="submit" id="reassign-request" { (ctx.t("改派", "Reassign")) }
                }
            }
        }
        (report_section(&ctx, &r, &reports, standing, required))
        (outcome_section(&ctx, &r, standing.requester || ctx.user.role.manages_program()))
        (critical_section(&ctx, &r, &criticals, &critical_list, clocks.now))
        h2 { (ctx.t("办理过程", "Steps")) }
        ol.events {
            @for e in &events {
                li data-action=(e.action) { (layout::beijing(&e.at)) " · " (action_zh(&e.action))
                    @if e.to_user_id.is_some() && e.action != "accepted" { " → " (who(e.to_user_id)) }
                    @if let Some(why) = &e.reason { " · " (ctx.t("理由：", "reason: ")) (why) } }
            }
        }
    };
    Ok(layout::page(&ctx, &title, body))
}

/// What became of the patient (患者去向): shown once the report is out, and recorded by the
/// requesting hospital (or a manager) — treated locally is a transfer avoided.
fn outcome_section(ctx: &Ctx, r: &Request, may: bool) -> Markup {
    let shown = r.outcome.as_deref().and_then(domain::imaging::Outcome::parse);
    html! {
        @if matches!(r.state.as_str(), "reported" | "confirmed") {
            h2 { (ctx.t("患者去向", "Outcome")) }
            p #request-outcome data-outcome=(r.outcome.clone().unwrap_or_default()) {
                @match shown {
                    Some(o) => { (o.label()) @if o == domain::imaging::Outcome::Local { (ctx.t("（避免转院）", " (a transfer avoided)")) } }
                    None => { (ctx.t("尚未登记", "not recorded yet")) }
                }
            }
            @if may {
                form.inline method="post" action={ "/imaging/requests/" (r.id) "/act" } {
                    input type="hidden" name="csrf" value=(ctx.user.csrf); input type="hidden" name="action" value="outcome";
                    select name="outcome" {
                        @for o in domain::imaging::Outcome::ALL {
                            option value=(o.code()) selected[shown == Some(o)] { (o.label()) }
                        }
                    }
                    button type="submit" id="record-outcome" { (ctx.t("登记去向", "Record the outcome")) }
                }
            }
        }
    }
}

/// How long a viewer link stays open.
pub const VIEWER_MINUTES: i64 = 60;

/// GET /imaging/requests/{id}/view: the viewer links of a request's series, for the expert it is
/// assigned to and nobody else (another's try is a 404, audited); each link expires after
/// [`VIEWER_MINUTES`] and ends when the request is reassigned. The images stay in the PACS: the
/// viewer is Orthanc's own, reached only through [`view_proxy`].
pub async fn view(State(s): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> Result<Response, AppError> {
    let id = id_of(&ctx, &id)?;
    let r = visible(&s, &ctx, id).await?;
    let me = ctx.user.user_id.get();
    let actor = ctx.user.actor(None);
    if r.assignee_user_id != Some(me) {
        s.store.log_denied(&actor, "imaging_requests", id).await?;
        return Err(AppError::NotFound(ctx.t("没有这份会诊申请", "No such consultation request").into()));
    }
    let title = format!("{}{} {}", ctx.t("阅片：会诊申请 ", "Images: request "), r.id, r.exam);
    let Some(o) = &s.config.orthanc else {
        let body = html! {
            p.crumbs { a href="/imaging" { (ctx.t("远程影像会诊", "Remote imaging")) } " › " a href={ "/imaging/requests/" (r.id) } { (r.id) } }
            h1 { (title) }
            p.error #no-pacs { (ctx.t("本系统没有连接影像平台（PACS）：请管理员以 --orthanc-url 启动服务。", "No PACS is connected: start the server with --orthanc-url.")) }
        };
        return Ok((axum::http::StatusCode::SERVICE_UNAVAILABLE, layout::page(&ctx, &title, body)).into_response());
    };
    let now = Utc::now();
    let expires = now + chrono::Duration::minutes(VIEWER_MINUTES);
    let token = s.store.viewer_token(id, me, expires.timestamp());
    let mut series = Vec::new();
    for st in s.store.imaging_request_studies(id).await? {
        if st.state == "deleted" {
            continue;
        }
        for (sid, instances) in o.study_series(&st.pacs_id).await? {
            series.push((st.clone(), sid, instances.len()));
        }
    }
    s.store.log_viewer_opened(&actor, id).await?;
    let body = html! {
        p.crumbs { a href="/imaging" { (ctx.t("远程影像会诊", "Remote imaging")) } " › " a href={ "/imaging/requests/" (r.id) } { (r.id) } }
        h1 { (title) }
        p.hint { (ctx.t("以下链接只供本人阅片，", "These links are yours alone, ")) (ctx.t("有效至 ", "valid until ")) (shown(expires)) (ctx.t("（北京时间）；改派后即失效。", " (Beijing time); a reassignment ends them.")) }
        p.hint.advisory { (ctx.t("远程会诊意见仅供参考，诊疗决定由申请医院作出。", "The consultation's opinion is advisory; the treating decision stays with the requesting hospital.")) }
        @if series.is_empty() {
            p #no-series { (ctx.t("影像平台上没有这份申请的图像。", "The PACS holds no images of this request.")) }
        }
        table.data.compact #viewer-series {
            thead { tr { th { (ctx.t("检查", "Study")) } th { (ctx.t("类型", "Modality")) } th.num { (ctx.t("图像", "Images")) } th {} } }
            tbody { @for (st, sid, n) in &series { tr {
                td { (st.description.clone().unwrap_or_default()) " " (st.study_date.clone().unwrap_or_default()) }
                td { (st.modalities) }
                td.num { (n) }
                td { a.viewer-link target="_blank" rel="noopener" href={ "/imaging/view/" (token) "/web-viewer/app/viewer.html?series=" (sid) } { (ctx.t("打开阅片", "Open the viewer")) } }
            } } }
        }
    };
    Ok(layout::page(&ctx, &title, body).into_response())
}

/// What a viewer path names: a static part of the viewer (its pages, scripts, styles), a series,
/// or an instance; `None` for anything else, which is never passed on.
enum ViewerPath<'a> {
    Static,
    Series(&'a str),
    Instance(&'a str),
}

fn viewer_path(rest: &str) -> Option<ViewerPath<'_>> {
    let id_ok = |id: &str| !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
    if rest.split('/').any(|seg| seg.is_empty() || seg == "." || seg == ".." || seg.contains('\\') || seg.contains('%'))
    {
        return None;
    }
    if let Some(file) = rest.strip_prefix("web-viewer/app/").or_else(|| rest.strip_prefix("web-viewer/libs/")) {
        return file
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '/'))
            .then_some(ViewerPath::Static);
    }
    if let Some(id) =
        rest.strip_prefix("web-viewer/series/").or_else(|| rest.strip_prefix("web-viewer/is-stable-series/"))
    {
        return id_ok(id).then_some(ViewerPath::Series(id));
    }
    if let Some(slice) = rest.strip_prefix("web-viewer/instances/") {
        // `{compression}-{instance}_{frame}`: jpeg95-…_0, deflate-…_0.
        let (compression, rest) = slice.split_once('-')?;
        let (id, frame) = rest.rsplit_once('_')?;
        let known = compression.starts_with("jpeg") || compression == "deflate";
        return (known
            && compression.len() <= 8
            && id_ok(id)
            && !frame.is_empty()
            && frame.len() <= 6
            && frame.chars().all(|c| c.is_ascii_digit()))
        .then_some(ViewerPath::Instance(id));
    }
    if let Some(id) = rest.strip_prefix("instances/").and_then(|r| r.strip_suffix("/file")) {
        return id_ok(id).then_some(ViewerPath::Instance(id));
    }
    None
}

/// GET /imaging/view/{token}/{*rest}: Orthanc's web viewer, passed on for the expert the link
/// was made for while the request is assigned to them (`Store::viewer_request`), and only the
/// viewer's own files and the series and instances of that request's studies; anything else is
/// a 404 (a try with another's or an expired link audited). Slices are never cached.
pub async fn view_proxy(
    State(s): State<AppState>,
    ctx: Ctx,
    Path((token, rest)): Path<(String, String)>,
) -> Result<Response, AppError> {
    crate::reads_business(&ctx)?;
    let gone =
        || AppError::NotFound(ctx.t("阅片链接无效或已过期", "The viewer link is not valid or has expired").into());
    let r = match s.store.viewer_request(&ctx.user.actor(None), &token, Utc::now().timestamp()).await {
        Ok(r) => r,
        Err(StoreError::NotFound { .. }) => return Err(gone()),
        Err(e) => return Err(e.into()),
    };
    let Some(o) = &s.config.orthanc else { return Err(gone()) };
    let Some(path) = viewer_path(&rest) else { return Err(gone()) };
    if !matches!(path, ViewerPath::Static) {
        let mut allowed = false;
        for st in s.store.imaging_request_studies(r.id).await? {
            if st.state == "deleted" {
                continue;
            }
            for (sid, instances) in o.study_series(&st.pacs_id).await? {
                allowed |= match path {
                    ViewerPath::Series(id) => sid == id,
                    ViewerPath::Instance(id) => instances.iter().any(|i| i == id),
                    ViewerPath::Static => true,
                };
            }
        }
        if !allowed {
            s.store.log_denied(&ctx.user.actor(None), "imaging_requests", r.id).await?;
            return Err(gone());
        }
    }
    let answer = o.get(&format!("/{rest}")).await?;
    let status = match answer.status {
        200 => axum::http::StatusCode::OK,
        404 => return Err(gone()),
        _ => axum::http::StatusCode::BAD_GATEWAY,
    };
    let content_type = answer.content_type.unwrap_or_else(|| "application/octet-stream".into());
    let cache = if matches!(path, ViewerPath::Static) { "private, max-age=300" } else { "no-store" };
    Ok((
        status,
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, cache.to_string()),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
        ],
        answer.body,
    )
        .into_response())
}

#[derive(Deserialize)]
pub struct ActForm {
    csrf: String,
    action: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    to_user_id: Option<String>,
}

pub async fn act(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(f): Form<ActForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&f.csrf)?;
    let id = id_of(&ctx, &id)?;
    visible(&s, &ctx, id).await?;
    let mut tx = s.store.write(&ctx.user.actor(None)).await?;
    match f.action.as_str() {
        "accept" => tx.accept_imaging(id).await?,
        "decline" => tx.decline_imaging(id, &f.reason).await?,
        "take" => tx.take_imaging(id).await?,
        "outcome" => tx.record_imaging_outcome(id, &f.outcome).await?,
        "reassign" => {
            let to = f.to_user_id.as_deref().and_then(|t| t.trim().parse::<i64>().ok()).ok_or_else(|| {
                AppError::from(StoreError::Invalid(
                    domain::Invalid::new("to_user_id", "改派专家", "排班表上的专家", "未选择专家").into(),
                ))
            })?;
            tx.reassign_imaging(id, to, &f.reason).await?
        }
        other => {
            return Err(AppError::from(StoreError::Invalid(
                domain::Invalid::new(
                    "action",
                    "办理操作",
                    "接收、拒绝、领取、改派或登记去向",
                    format!("“{other}”不是办理操作"),
                )
                .into(),
            )))
        }
    }
    tx.commit().await?;
    Ok(Redirect::to(&format!("/imaging/requests/{id}")).into_response())
}

pub async fn consent(State(s): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> Result<Response, AppError> {
    let id = id_of(&ctx, &id)?;
    crate::reads_business(&ctx)?;
    let (name, _, _, bytes) = match s.store.imaging_consent_for(&ctx.user.actor(None), id).await {
        Ok(x) => x,
        Err(StoreError::NotFound { .. }) => {
            return Err(AppError::NotFound(ctx.t("没有这份会诊申请", "No such consultation request").into()))
        }
        Err(e) => return Err(e.into()),
    };
    let disposition = format!("attachment; filename=\"consent\"; filename*=UTF-8''{}", crate::records::encode(&name));
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::HeaderName::from_static("x-content-type-options"), "nosniff".to_string()),
        ],
        bytes,
    )
        .into_response())
}

pub async fn studies(State(s): State<AppState>, ctx: Ctx) -> Result<Markup, AppError> {
    crate::reads_business(&ctx)?;
    let studies = s.store.imaging_studies(500).await?;
    let title = ctx.t("影像平台收到的检查", "Studies received by the PACS");
    let body = html! {
        p.crumbs { a href="/imaging" { (ctx.t("远程影像会诊", "Remote imaging")) } " › " (title) }
        h1 { (title) }
        p.hint { (ctx.t("由影像平台（PACS）的变更记录自动获知，不保存图像和患者身份信息。", "Learnt from the PACS's change feed; no images and no patient identifiers are kept here.")) }
        table.data.compact.studies {
            thead { tr { th { (ctx.t("到达时间", "Arrived")) } th { (ctx.t("检查日期", "Date")) } th { (ctx.t("类型", "Modality")) } th { (ctx.t("部位", "Body part")) } th { (ctx.t("描述", "Description")) } th.num { (ctx.t("序列", "Series")) } th.num { (ctx.t("图像", "Images")) } th { (ctx.t("状态", "State")) } } }
            tbody { @for st in &studies { tr data-uid=(st.study_uid) {
                td { (layout::beijing(&st.first_seen_at)) } td { (st.study_date.clone().unwrap_or_default()) } td { (st.modalities) } td { (st.body_parts) }
                td { (st.description.clone().unwrap_or_default()) } td.num { (st.series_count) } td.num { (st.instance_count) }
                td { (match st.state.as_str() { "complete" => ctx.t("图像完整", "complete"), "deleted" => ctx.t("已删除", "removed"), _ => ctx.t("接收中", "receiving") }) }
            } } }
        }
    };
    Ok(layout::page(&ctx, title, body))
}

pub async fn duty(State(s): State<AppState>, ctx: Ctx) -> Result<Markup, AppError> {
    crate::reads_business(&ctx)?;
    let depts = s.store.imaging_departments().await?;
    let required = s.store.imaging_review_required().await?;
    let targets = s.store.imaging_tat_targets().await?;
    let critical_list = s.store.imaging_critical_list().await?;
    let title = ctx.t("专家排班", "Duty roster");
    let mut rosters = Vec::new();
    for (id, name, owner) in &depts {
        rosters.push((*id, name.clone(), owner.clone(), s.store.imaging_experts(*id).await?));
    }
    let body = html! {
        p.crumbs { a href="/imaging" { (ctx.t("远程影像会诊", "Remote imaging")) } " › " (title) }
        h1 { (title) }
        p.hint { (ctx.t("会诊申请按院包科结对交给包科医院，再分派给该科室排班表上在岗、职称符合要求、手头申请最少的专家。", "A request goes to the hospital that owns the department, then to the expert on its roster who is on duty, meets the title asked and has the fewest open requests.")) }
        table.data.compact.roster {
            thead { tr { th { (ctx.t("科室", "Department")) } th { (ctx.t("包科医院", "Owning hospital")) } th { (ctx.t("专家", "Experts")) } } }
            tbody { @for (_, name, owner, experts) in &rosters { tr {
                td { (name) } td { (owner) }
                td { @for (i, e) in experts.iter().enumerate() { @if i > 0 { "、" } (e.user_name) "（" (title_label(&e.title)) @if !e.on_duty { (ctx.t("，不在岗", ", off duty")) } "）" } }
            } } }
        }
        h2 { (ctx.t("报告时限", "Turnaround targets")) }
        p.hint { (ctx.t("从申请提出且图像完整时起计时；按顺序取第一条适用的规则；工作时间为周一至周五北京时间 10:00–14:00、16:00–20:00。", "The clock starts when the request is made and its images are complete; the first rule that applies counts; working hours are Monday to Friday, 10:00–14:00 and 16:00–20:00 Beijing time.")) }
        form.targets method="post" action="/imaging/targets" {
            input type="hidden" name="csrf" value=(ctx.user.csrf);
            table.data.compact.targets {
                thead { tr { th { (ctx.t("规则", "Rule")) } th.num { (ctx.t("时限（分钟）", "Minutes")) } th { (ctx.t("按工作时间计", "Working hours")) } } }
                tbody { @for (i, t) in targets.iter().enumerate() { tr data-target=(t.name) {
                    td { (t.name) }
                    td.num { @if ctx.user.role.manages_program() { input type="number" name={ "minutes_" (i) } min="1" max="10080" value=(t.minutes); } @else { (t.minutes) } }
                    td { @if ctx.user.role.manages_program() { input type="checkbox" name={ "working_" (i) } value="yes" checked[t.working_hours]; } @else { (if t.working_hours { "是" } else { "否" }) } }
                } } }
            }
            @if ctx.user.role.manages_program() { button type="submit" id="save-targets" { (ctx.t("保存报告时限", "Save the targets")) } }
        }
        h2 { (ctx.t("危急值清单", "Critical findings")) }
        @if ctx.user.role.manages_program() {
            form.stack method="post" action="/imaging/critical-list" {
                input type="hidden" name="csrf" value=(ctx.user.csrf);
                (layout::field("每行一项", html! { textarea name="list" rows="8" maxlength="4000" { (critical_list.join("\n")) } }, None))
                button type="submit" id="save-critical-list" { (ctx.t("保存危急值清单", "Save the list")) }
            }
        } @else { p { (critical_list.join("、")) } }
        h2 { (ctx.t("报告审核", "Second signature")) }
        p id="review-rule" { @if required { (ctx.t("本中心要求审核签名：报告须由另一位副主任医师以上的专家审核后签发。", "A second signature (associate chief or above) is required before a report is issued.")) }
            @else { (ctx.t("不要求审核签名：阅片专家签署初步报告后即可签发。", "No second signature is required: the reader issues the report after signing it.")) } }
        @if ctx.user.role.manages_program() {
            form.inline method="post" action="/imaging/review" {
                input type="hidden" name="csrf" value=(ctx.user.csrf);
                input type="hidden" name="required" value=(if required { "0" } else { "1" });
                button type="submit" id="toggle-review" { (if required { ctx.t("取消审核要求", "Stop requiring it") } else { ctx.t("要求审核签名", "Require it") }) }
            }
            h2 { (ctx.t("排班", "Set duty")) }
            form.inline method="post" action="/imaging/duty" {
                input type="hidden" name="csrf" value=(ctx.user.csrf);
                select name="department_id" { @for (id, name, owner) in &depts { option value=(id) { (name) " → " (owner) } } }
                input name="user" placeholder=(ctx.t("专家用户名", "Expert's user name")) required maxlength="100";
                select name="title" { @for (c, n) in TITLES.iter().skip(1) { option value=(c) { (n) } } }
                select name="on_duty" { option value="1" { (ctx.t("在岗", "on duty")) } option value="0" { (ctx.t("不在岗", "off duty")) } }
                button type="submit" id="set-duty" { (ctx.t("保存", "Save")) }
            }
        }
    };
    Ok(layout::page(&ctx, title, body))
}

#[derive(Deserialize)]
pub struct DutyForm {
    csrf: String,
    department_id: String,
    user: String,
    title: String,
    on_duty: String,
}

pub async fn set_duty(State(s): State<AppState>, ctx: Ctx, Form(f): Form<DutyForm>) -> Result<Response, AppError> {
    ctx.check_csrf(&f.csrf)?;
    crate::reads_business(&ctx)?;
    let bad = |field: &str, label: &str, msg: String| {
        AppError::from(StoreError::Invalid(domain::Invalid::new(field, label, "存在", msg).into()))
    };
    let department =
        f.department_id.trim().parse::<i64>().map_err(|_| bad("department_id", "科室", "未选择科室".into()))?;
    let user = s
        .store
        .user_id_by_name(f.user.trim())
        .await?
        .ok_or_else(|| bad("user", "专家", format!("没有用户“{}”", f.user.trim())))?;
    let mut tx = s.store.write(&ctx.user.actor(None)).await?;
    tx.set_imaging_expert(user, department, &f.title, f.on_duty.trim() == "1").await?;
    tx.commit().await?;
    Ok(Redirect::to("/imaging/duty").into_response())
}

/// The report's section of a request's page: its versions, newest first, each with its
/// signatures and times; the reader's form while the current version is a draft; the steps the
/// reader may take.
fn report_section(ctx: &Ctx, r: &Request, reports: &[Report], who: ReportStanding, required: bool) -> Markup {
    let current = reports.first();
    let may = |a: ReportAction| {
        current
            .and_then(|c| ReportState::parse(&c.state))
            .is_some_and(|s| domain::imaging::report_step(s, a, who, required).is_ok())
    };
    let draft = current.filter(|c| c.state == "draft");
    let (t_name, t_findings, t_impression) = domain::imaging::template_for(&r.modality, &r.body_part);
    let step = |a: ReportAction, id: &str| {
        html! {
            form.inline method="post" action={ "/imaging/requests/" (r.id) "/report" } {
                input type="hidden" name="csrf" value=(ctx.user.csrf); input type="hidden" name="action" value=(a.code());
                @if a == ReportAction::Amend { input name="reason" placeholder=(ctx.t("修订理由（必填）", "Reason (required)")) required maxlength="200"; }
                button type="submit" id=(id) { (a.label()) }
            }
        }
    };
    html! {
        h2 { (ctx.t("会诊报告", "Report")) }
        p.hint.advisory { (ctx.t("本报告为远程会诊意见，仅供参考；诊疗决定由申请医院作出。", "This report is an advisory opinion; the treating decision stays with the requesting hospital.")) }
        @if who.reader && (current.is_none() || draft.is_some()) && matches!(r.state.as_str(), "accepted" | "reported" | "confirmed") {
            @let (f, i, a) = match draft { Some(d) => (d.findings.clone(), d.impression.clone(), d.advice.clone()), None => (t_findings.to_string(), t_impression.to_string(), String::new()) };
            form.stack.report method="post" action={ "/imaging/requests/" (r.id) "/report" } {
                input type="hidden" name="csrf" value=(ctx.user.csrf); input type="hidden" name="action" value="save";
                @if draft.is_none() { p.hint { (ctx.t("模板：", "Template: ")) (t_name) } }
                (layout::field("检查所见", html! { textarea name="findings" rows="6" maxlength="8000" { (f) } }, None))
                (layout::field("诊断意见", html! { textarea name="impression" rows="3" maxlength="4000" { (i) } }, None))
                (layout::field("建议", html! { textarea name="advice" rows="2" maxlength="2000" { (a) } }, None))
                button type="submit" id="save-report" { (ctx.t("保存草稿", "Save the draft")) }
            }
        }
        div.actions {
            @if may(ReportAction::Sign) { (step(ReportAction::Sign, "sign-report")) }
            @if may(ReportAction::Review) { (step(ReportAction::Review, "review-report")) }
            @if may(ReportAction::Issue) { (step(ReportAction::Issue, "issue-report")) }
            @if may(ReportAction::Confirm) { (step(ReportAction::Confirm, "confirm-report")) }
            @if may(ReportAction::Amend) { (step(ReportAction::Amend, "amend-report")) }
            @if current.is_some_and(|c| matches!(c.state.as_str(), "final" | "confirmed")) {
                a.button href={ "/imaging/requests/" (r.id) "/report/print" } id="print-report" { (ctx.t("打印报告", "Print")) }
            }
        }
        @for p in reports {
            section.report-version data-version=(p.version) data-state=(p.state) {
                h3 { (ctx.t("第 ", "Version ")) (p.version) (ctx.t(" 版 · ", " · ")) span.state { (ReportState::parse(&p.state).map(|s| s.label()).unwrap_or("")) }
                    @if let Some(why) = &p.amendment_reason { " · " (ctx.t("修订理由：", "amended because: ")) (why) } }
                dl.record {
                    dt { (ctx.t("检查所见", "Findings")) } dd.findings { (p.findings) }
                    dt { (ctx.t("诊断意见", "Impression")) } dd.impression { (p.impression) }
                    @if !p.advice.is_empty() { dt { (ctx.t("建议", "Advice")) } dd { (p.advice) } }
                    dt { (ctx.t("签名与时间", "Signatures")) }
                    dd.signatures {
                        (ctx.t("报告医师 ", "Reader ")) (p.author.clone().unwrap_or_default())
                        @if let Some(t) = &p.signed_at { " " (layout::beijing(t)) }
                        @if let Some(v) = &p.reviewer { " · " (ctx.t("审核医师 ", "Reviewer ")) (v) @if let Some(t) = &p.reviewed_at { " " (layout::beijing(t)) } }
                        @if let Some(t) = &p.issued_at { " · " (ctx.t("签发 ", "Issued ")) (layout::beijing(t)) }
                        @if let Some(t) = &p.confirmed_at { " · " (ctx.t("申请医院确认 ", "Confirmed ")) (layout::beijing(t)) }
                    }
                }
            }
        }
    }
}

#[derive(Deserialize)]
pub struct ReportForm {
    csrf: String,
    action: String,
    #[serde(default)]
    findings: String,
    #[serde(default)]
    impression: String,
    #[serde(default)]
    advice: String,
    #[serde(default)]
    reason: String,
}

pub async fn report(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(f): Form<ReportForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&f.csrf)?;
    let id = id_of(&ctx, &id)?;
    visible(&s, &ctx, id).await?;
    let mut tx = s.store.write(&ctx.user.actor(None)).await?;
    if f.action == "save" {
        tx.save_imaging_report(id, &ReportText { findings: f.findings, impression: f.impression, advice: f.advice })
            .await?;
    } else {
        let a = ReportAction::parse(&f.action).ok_or_else(|| {
            AppError::from(StoreError::Invalid(
                domain::Invalid::new(
                    "action",
                    "报告操作",
                    "签署、审核、签发、确认或修订",
                    format!("“{}”不是报告操作", f.action),
                )
                .into(),
            ))
        })?;
        tx.imaging_report_step(id, a, Some(&f.reason)).await?;
    }
    tx.commit().await?;
    Ok(Redirect::to(&format!("/imaging/requests/{id}")).into_response())
}

/// The formal report as the hospital prints it: A4, the centre's header, the patient block, the
/// report, the signatures and times in Beijing time, the advisory notice.
pub async fn print(State(s): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> Result<Markup, AppError> {
    let id = id_of(&ctx, &id)?;
    let r = visible(&s, &ctx, id).await?;
    let reports = s.store.imaging_reports(id).await?;
    let Some(p) = reports.iter().find(|p| matches!(p.state.as_str(), "final" | "confirmed")) else {
        return Err(AppError::NotFound(ctx.t("这份会诊申请还没有正式报告", "No formal report yet").into()));
    };
    let studies = s.store.imaging_request_studies(id).await?;
    let title = format!("远程影像会诊报告 {}-{}", r.id, p.version);
    Ok(html! {
        (maud::DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                title { (title) }
                style { (maud::PreEscaped(PRINT_CSS)) }
            }
            body.print-report {
                header {
                    h1 { "赣陶远程影像中心" }
                    p.sub { (r.owner) " · " (r.department) " 远程影像会诊报告" }
                    p.no { "会诊编号 " (r.id) " · 第 " (p.version) " 版" @if p.version > 1 { "（修订）" } }
                }
                table.patient {
                    tr { th { "姓名" } td { (r.patient_name) } th { "性别" } td { (r.patient_sex) } th { "年龄" } td { (r.patient_age) " 岁" } }
                    tr { th { "申请单位" } td colspan="3" { (r.requesting_org) } th { "优先级" } td { (priority_zh(&r.priority)) } }
                    tr { th { "检查项目" } td colspan="3" { (r.modality) " " (r.exam) } th { "部位" } td { (r.body_part) } }
                    tr { th { "检查日期" } td colspan="5" { @for (i, st) in studies.iter().enumerate() { @if i > 0 { "；" } (st.study_date.clone().unwrap_or_default()) " " (st.description.clone().unwrap_or_default()) } } }
                    tr { th { "会诊目的" } td colspan="5" { (r.clinical_question) } }
                }
                h2 { "检查所见" } p.text { (p.findings) }
                h2 { "诊断意见" } p.text { (p.impression) }
                @if !p.advice.is_empty() { h2 { "建议" } p.text { (p.advice) } }
                @if let Some(why) = &p.amendment_reason { p.amended { "修订理由：" (why) } }
                table.signatures {
                    tr { th { "报告医师" } td { (p.author.clone().unwrap_or_default()) } th { "签署时间" } td { (p.signed_at.as_deref().map(layout::beijing).unwrap_or_default()) } }
                    tr { th { "审核医师" } td { (p.reviewer.clone().unwrap_or_else(|| "—".into())) } th { "审核时间" } td { (p.reviewed_at.as_deref().map(layout::beijing).unwrap_or_else(|| "—".into())) } }
                    tr { th { "申请时间" } td { (layout::beijing(&r.requested_at)) } th { "签发时间" } td { (p.issued_at.as_deref().map(layout::beijing).unwrap_or_default()) } }
                }
                p.advisory { "本报告为远程会诊意见，仅供临床参考；诊疗决定由申请医院的经治医师作出。时间均为北京时间。" }
            }
        }
    })
}

const PRINT_CSS: &str = "@page { size: A4; margin: 18mm 16mm; } \
body.print-report { font-family: 'Noto Serif CJK SC', 'Noto Sans CJK SC', serif; font-size: 11pt; color: #000; max-width: 178mm; margin: 0 auto; } \
header { text-align: center; border-bottom: 2px solid #000; margin-bottom: 4mm; } header h1 { font-size: 18pt; margin: 0; letter-spacing: 0.2em; } \
header p { margin: 1mm 0; } table { width: 100%; border-collapse: collapse; margin: 3mm 0; } th, td { border: 1px solid #444; padding: 1.5mm 2mm; text-align: left; vertical-align: top; } \
th { width: 16%; background: #f2f2f2; font-weight: normal; } h2 { font-size: 12pt; margin: 4mm 0 1mm; } p.text { white-space: pre-wrap; margin: 0 0 2mm; } \
p.advisory { margin-top: 6mm; font-size: 9.5pt; border-top: 1px solid #000; padding-top: 2mm; }";

#[derive(Deserialize)]
pub struct ReviewForm {
    csrf: String,
    required: String,
}

pub async fn set_review(State(s): State<AppState>, ctx: Ctx, Form(f): Form<ReviewForm>) -> Result<Response, AppError> {
    ctx.check_csrf(&f.csrf)?;
    crate::reads_business(&ctx)?;
    let mut tx = s.store.write(&ctx.user.actor(None)).await?;
    tx.set_imaging_review_required(f.required.trim() == "1").await?;
    tx.commit().await?;
    Ok(Redirect::to("/imaging/duty").into_response())
}

/// The targets form: each rule's minutes and whether they are working minutes, by position.
pub async fn set_targets(
    State(s): State<AppState>,
    ctx: Ctx,
    Form(f): Form<HashMap<String, String>>,
) -> Result<Response, AppError> {
    ctx.check_csrf(f.get("csrf").map(String::as_str).unwrap_or_default())?;
    crate::reads_business(&ctx)?;
    let mut targets = s.store.imaging_tat_targets().await?;
    for (i, t) in targets.iter_mut().enumerate() {
        if let Some(m) = f.get(&format!("minutes_{i}")) {
            t.minutes = m.trim().parse::<i64>().map_err(|_| {
                AppError::from(StoreError::Invalid(
                    domain::Invalid::new(
                        format!("targets[{i}].minutes"),
                        format!("{}的时限", t.name),
                        "整数分钟",
                        format!("“{m}”不是整数"),
                    )
                    .into(),
                ))
            })?;
        }
        t.working_hours = f.get(&format!("working_{i}")).is_some_and(|v| v == "yes");
    }
    let mut tx = s.store.write(&ctx.user.actor(None)).await?;
    tx.set_imaging_tat_targets(&targets).await?;
    tx.commit().await?;
    Ok(Redirect::to("/imaging/duty").into_response())
}

/// A critical finding's clock: minutes left (negative: overdue) while open, or minutes it took.
fn critical_clock(ctx: &Ctx, c: &Critical, now: DateTime<Utc>) -> Markup {
    let flagged = parse_ts(&c.flagged_at);
    let limit = domain::imaging::CRITICAL_MINUTES;
    html! {
        @match (flagged, c.told_at.as_deref().and_then(parse_ts)) {
            (Some(f), Some(t)) => {
                @let took = (t - f).num_minutes();
                span class={ "clock " @if took <= limit { "within" } @else { "late" } } {
                    (ctx.t("用时 ", "took ")) (took) (ctx.t(" 分钟", " min")) @if took > limit { " " span.badge.overdue { (ctx.t("超过 30 分钟", "over 30 min")) } } }
            }
            (Some(f), None) => {
                @let left = limit - (now - f).num_minutes();
                @if left >= 0 { span.clock.running data-left=(left) { (ctx.t("剩余 ", "")) (left) (ctx.t(" 分钟", " min left")) } }
                @else { span.clock.overdue data-left=(left) { (ctx.t("已超时 ", "overdue by ")) (-left) (ctx.t(" 分钟", " min")) } }
            }
            _ => span.clock { "—" },
        }
    }
}

fn channel_zh(c: &str) -> &'static str {
    domain::imaging::CRITICAL_CHANNELS.iter().find(|(k, _)| *k == c).map(|(_, n)| *n).unwrap_or("—")
}

/// The critical findings of a request on its page: each with its clock and notice; the reader's
/// flag form; the notice form while one is open (the reader or a manager).
fn critical_section(ctx: &Ctx, r: &Request, criticals: &[Critical], list: &[String], now: DateTime<Utc>) -> Markup {
    let reader = r.assignee_user_id == Some(ctx.user.user_id.get());
    let records = reader || ctx.user.role.manages_program();
    let local_now = (now + chrono::Duration::hours(8)).format("%Y-%m-%dT%H:%M").to_string();
    html! {
        h2 { (ctx.t("危急值", "Critical results")) }
        @if criticals.is_empty() { p.hint { (ctx.t("未标记危急值。", "None flagged.")) } }
        @for c in criticals {
            section.critical data-critical=(c.id) data-state=(c.state) {
                p { strong { (c.finding) } " · " (ctx.t("标记于 ", "flagged ")) (layout::beijing(&c.flagged_at)) " · " (critical_clock(ctx, c, now))
                    @if let Some(n) = &c.note { " · " (n) } }
                @if c.state == "closed" {
                    p.notice { (ctx.t("已通知 ", "Told ")) (c.told_name.clone().unwrap_or_default()) "（" (channel_zh(c.channel.as_deref().unwrap_or_default())) "）"
                        " " (c.told_at.as_deref().map(layout::beijing).unwrap_or_default()) " · " (ctx.t("回读：", "read back: ")) (c.read_back.clone().unwrap_or_default()) }
                } @else if records {
                    form.inline.critical-notice method="post" action={ "/imaging/requests/" (r.id) "/critical/" (c.id) } {
                        input type="hidden" name="csrf" value=(ctx.user.csrf);
                        input name="told_name" placeholder=(ctx.t("接收人（申请医院）", "Told (requesting hospital)")) required maxlength="50";
                        select name="channel" { @for (k, n) in domain::imaging::CRITICAL_CHANNELS { option value=(k) { (n) } } }
                        input type="datetime-local" name="told_at" value=(local_now);
                        input name="read_back" placeholder=(ctx.t("接收人回读的内容（必填）", "What they read back (required)")) required maxlength="500";
                        button type="submit" id={ "record-critical-" (c.id) } { (ctx.t("登记通知", "Record the notice")) }
                    }
                }
            }
        }
        @if reader && matches!(r.state.as_str(), "accepted" | "reported" | "confirmed") {
            form.inline.flag-critical method="post" action={ "/imaging/requests/" (r.id) "/critical" } {
                input type="hidden" name="csrf" value=(ctx.user.csrf);
                select name="finding" { @for f in list { option value=(f) { (f) } } }
                input name="note" placeholder=(ctx.t("说明（选填）", "Note (optional)")) maxlength="500";
                button.danger type="submit" id="flag-critical" { (ctx.t("标记危急值", "Flag a critical result")) }
            }
        }
    }
}

#[derive(Deserialize)]
pub struct FlagForm {
    csrf: String,
    finding: String,
    #[serde(default)]
    note: String,
}

pub async fn flag(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(f): Form<FlagForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&f.csrf)?;
    let id = id_of(&ctx, &id)?;
    visible(&s, &ctx, id).await?;
    let mut tx = s.store.write(&ctx.user.actor(None)).await?;
    tx.flag_critical(id, &f.finding, &f.note).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/imaging/requests/{id}")).into_response())
}

/// A time typed in Beijing time (`YYYY-MM-DDTHH:MM`), or now when left empty.
fn beijing_input(raw: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, AppError> {
    let t = raw.trim();
    if t.is_empty() {
        return Ok(now);
    }
    chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M"))
        .map(|n| n.and_utc() - chrono::Duration::hours(8))
        .map_err(|_| {
            AppError::from(StoreError::Invalid(
                domain::Invalid::new("told_at", "通知时间", "北京时间 YYYY-MM-DD HH:MM", format!("“{t}”不是有效时间"))
                    .into(),
            ))
        })
}

#[derive(Deserialize)]
pub struct NoticeForm {
    csrf: String,
    #[serde(default)]
    told_name: String,
    #[serde(default)]
    channel: String,
    #[serde(default)]
    told_at: String,
    #[serde(default)]
    read_back: String,
}

pub async fn record_notice(
    State(s): State<AppState>,
    ctx: Ctx,
    Path((id, critical)): Path<(String, String)>,
    Form(f): Form<NoticeForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&f.csrf)?;
    let id = id_of(&ctx, &id)?;
    visible(&s, &ctx, id).await?;
    let critical = critical
        .parse::<i64>()
        .ok()
        .filter(|c| *c > 0)
        .ok_or_else(|| AppError::NotFound(ctx.t("没有这个危急值", "No such critical result").into()))?;
    let Some(c) = s.store.imaging_criticals_of(id).await?.into_iter().find(|c| c.id == critical) else {
        return Err(AppError::NotFound(ctx.t("没有这个危急值", "No such critical result").into()));
    };
    // The form gives the minute (its default is now, to the minute): a notice given in the very
    // minute of the flag is at the flag, not before it.
    let mut told_at = beijing_input(&f.told_at, Utc::now())?;
    if let Some(flagged) = parse_ts(&c.flagged_at) {
        if told_at < flagged && flagged - told_at < chrono::Duration::minutes(1) {
            told_at = flagged;
        }
    }
    let n =
        domain::imaging::CriticalNotice { told_name: f.told_name, channel: f.channel, told_at, read_back: f.read_back };
    let mut tx = s.store.write(&ctx.user.actor(None)).await?;
    tx.record_critical_notice(critical, &n).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/imaging/requests/{id}")).into_response())
}

/// The critical-results board: the open ones with their countdown, oldest first, then the latest
/// closed; a manager may order a follow-up (督办) of the owning hospital for a missed clock.
pub async fn critical_board(State(s): State<AppState>, ctx: Ctx) -> Result<Markup, AppError> {
    crate::reads_business(&ctx)?;
    let all = s.store.imaging_critical_board(&ctx.user.actor(None), 500).await?;
    let now = Utc::now();
    let limit = domain::imaging::CRITICAL_MINUTES;
    let open = all.iter().filter(|c| c.state == "open").count();
    let missed = |c: &Critical| match (parse_ts(&c.flagged_at), c.told_at.as_deref().and_then(parse_ts)) {
        (Some(f), Some(t)) => (t - f).num_minutes() > limit,
        (Some(f), None) => (now - f).num_minutes() > limit,
        _ => false,
    };
    let title = ctx.t("危急值", "Critical results");
    let body = html! {
        p.crumbs { a href="/imaging" { (ctx.t("远程影像会诊", "Remote imaging")) } " › " (title) }
        h1 { (title) }
        p { (ctx.t("未闭环 ", "Open ")) strong id="critical-open" { (open) } (ctx.t(" 项 · 危急值须在标记后 30 分钟内通知到申请医院的临床医师并回读确认。", " · each must reach the requesting hospital's clinician, read back, within 30 minutes.")) }
        @if all.is_empty() { p.hint { (ctx.t("没有危急值。", "No critical results.")) } } @else {
            table.data.critical-board {
                thead { tr { th { (ctx.t("标记时间", "Flagged")) } th { (ctx.t("危急值", "Finding")) } th { (ctx.t("会诊", "Request")) } th { (ctx.t("科室 / 包科医院", "Department / owner")) }
                    th { (ctx.t("申请医院", "Requested by")) } th { (ctx.t("时限", "Clock")) } th { (ctx.t("通知", "Notice")) } @if ctx.user.role.manages_program() { th {} } } }
                tbody { @for c in &all {
                    tr class={ (c.state) @if missed(c) { " overdue" } } data-critical=(c.id) {
                        td { (layout::beijing(&c.flagged_at)) } td { strong { (c.finding) } }
                        td { a href={ "/imaging/requests/" (c.request_id) } { (c.request_id) " " (c.exam) } }
                        td { (c.department) " / " (c.owner) } td { (c.requesting_org) }
                        td { (critical_clock(&ctx, c, now)) }
                        td { @if c.state == "closed" { (c.told_name.clone().unwrap_or_default()) "（" (channel_zh(c.channel.as_deref().unwrap_or_default())) "）" } @else { (ctx.t("未通知", "not yet")) } }
                        @if ctx.user.role.manages_program() { td { @if missed(c) { a.button href={ "/followups/new?org=" (c.owner_org_id) } { (ctx.t("下达督办", "Order a follow-up")) } } } }
                    }
                } }
            }
        }
    };
    Ok(layout::page(&ctx, title, body))
}

#[derive(Deserialize)]
pub struct CriticalListForm {
    csrf: String,
    list: String,
}

pub async fn set_critical_list(
    State(s): State<AppState>,
    ctx: Ctx,
    Form(f): Form<CriticalListForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&f.csrf)?;
    crate::reads_business(&ctx)?;
    let list: Vec<String> = f.list.lines().map(str::to_string).collect();
    let mut tx = s.store.write(&ctx.user.actor(None)).await?;
    tx.set_imaging_critical_list(&list).await?;
    tx.commit().await?;
    Ok(Redirect::to("/imaging/duty").into_response())
}

// The JSON API: the same store calls, scopes and refusals as the pages.

use crate::api::{ApiCtx, ApiError};
use axum::body::Bytes;
use axum::http::StatusCode;
use axum::Json;
use base64::Engine as _;
use serde_json::{json, Map, Value};

pub(crate) fn bad(field: &str, label: &str, rule: &str, message: String) -> ApiError {
    ApiError::invalid(StatusCode::BAD_REQUEST, domain::Invalid::new(field, label, rule, message).into())
}

/// A JSON object body, or a 400 saying what is wrong with it.
pub(crate) fn object(body: &Bytes) -> Result<Map<String, Value>, ApiError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(bad("body", "请求体", "JSON 对象", "请求体须为 JSON 对象".into())),
        Err(e) => Err(bad("body", "请求体", "JSON", format!("请求体不是有效的 JSON：{e}"))),
    }
}

pub(crate) fn text(m: &Map<String, Value>, k: &str, label: &str) -> Result<String, ApiError> {
    match m.get(k) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(bad(k, label, "字符串", format!("{label}须为字符串"))),
    }
}

pub(crate) fn int(m: &Map<String, Value>, k: &str, label: &str) -> Result<Option<i64>, ApiError> {
    match m.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n.as_i64().map(Some).ok_or_else(|| bad(k, label, "整数", format!("{label}须为整数"))),
        Some(_) => Err(bad(k, label, "整数", format!("{label}须为整数"))),
    }
}

const REQUEST_FIELDS: &[&str] = &[
    "patient_name",
    "patient_sex",
    "patient_age",
    "patient_id_number",
    "exam",
    "modality",
    "body_part",
    "clinical_question",
    "case_summary",
    "priority",
    "department_id",
    "expert_title",
    "patient_source",
    "complex",
    "study_uids",
    "consent",
];

/// A request from its JSON body; the consent document as base64 in `consent.data_base64`.
fn request_of_json(m: &Map<String, Value>) -> Result<NewRequest, ApiError> {
    if let Some(k) = m.keys().find(|k| !REQUEST_FIELDS.contains(&k.as_str())) {
        return Err(bad(k, k, "已知字段", format!("未知字段“{k}”")));
    }
    let study_uids = match m.get("study_uids") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| bad("study_uids", "关联检查", "字符串数组", "检查 UID 须为字符串".into()))
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(bad("study_uids", "关联检查", "字符串数组", "关联检查须为检查 UID 的数组".into())),
    };
    let consent = match m.get("consent") {
        None | Some(Value::Null) => None,
        Some(Value::Object(c)) => {
            if let Some(k) =
                c.keys().find(|k| !["given", "file_name", "content_type", "data_base64"].contains(&k.as_str()))
            {
                return Err(bad(
                    "consent",
                    "知情同意",
                    "given、file_name、content_type、data_base64",
                    format!("未知字段“consent.{k}”"),
                ));
            }
            let given = match c.get("given") {
                Some(Value::Bool(b)) => *b,
                _ => {
                    return Err(bad(
                        "consent",
                        "知情同意",
                        "given 为布尔值",
                        "须写明 consent.given（true 或 false）".into(),
                    ))
                }
            };
            let data = text(c, "data_base64", "知情同意书")?;
            let bytes = base64::engine::general_purpose::STANDARD.decode(data.trim()).map_err(|e| {
                bad("consent_file", "知情同意书", "Base64", format!("知情同意书不是有效的 Base64：{e}"))
            })?;
            Some(Consent {
                given,
                file_name: text(c, "file_name", "文件名")?,
                content_type: text(c, "content_type", "文件类型")?,
                bytes,
            })
        }
        Some(_) => return Err(bad("consent", "知情同意", "JSON 对象", "知情同意须为对象".into())),
    };
    let patient_id_number = text(m, "patient_id_number", "患者身份证号")?;
    Ok(NewRequest {
        patient_name: text(m, "patient_name", "患者姓名")?,
        patient_sex: text(m, "patient_sex", "患者性别")?,
        patient_age: int(m, "patient_age", "患者年龄")?.unwrap_or(-1),
        patient_id_number: Some(patient_id_number),
        exam: text(m, "exam", "检查项目")?,
        modality: text(m, "modality", "检查类型")?,
        body_part: text(m, "body_part", "检查部位")?,
        clinical_question: text(m, "clinical_question", "会诊目的")?,
        case_summary: text(m, "case_summary", "病情摘要")?,
        priority: text(m, "priority", "优先级")?,
        department_id: int(m, "department_id", "会诊科室")?,
        expert_title: text(m, "expert_title", "专家职称")?,
        patient_source: text(m, "patient_source", "患者来源")?,
        complex: match m.get("complex") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(bad("complex", "疑难病例", "布尔值", "疑难病例须为 true 或 false".into())),
        },
        study_uids,
        consent,
    })
}

fn request_json(r: &Request, clocks: &Clocks) -> Value {
    let mut v = serde_json::to_value(r).unwrap_or(Value::Null);
    if let Some(i) = clocks.images.get(&r.id) {
        v["images"] = json!({ "complete": i.complete, "series": i.series, "instances": i.instances, "complete_at": i.complete_at });
    }
    if let Some((t, c)) = clocks.of_request(r) {
        let ts = |d: DateTime<Utc>| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        v["clock"] = match c {
            Clock::WaitingForImages => {
                json!({ "target": t.name, "minutes": t.minutes, "working_hours": t.working_hours, "state": "waiting_for_images" })
            }
            Clock::Running { start, due, overdue } => {
                json!({ "target": t.name, "minutes": t.minutes, "working_hours": t.working_hours,
                "state": "running", "start": ts(start), "due": ts(due), "overdue": overdue })
            }
            Clock::Done { start, due, issued, within } => {
                json!({ "target": t.name, "minutes": t.minutes, "working_hours": t.working_hours,
                "state": "done", "start": ts(start), "due": ts(due), "issued": ts(issued), "minutes_taken": (issued - start).num_minutes(), "within": within })
            }
        };
    }
    v
}

fn api_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>().ok().filter(|i| *i > 0).ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "没有这份会诊申请"))
}

async fn api_visible(s: &AppState, api: &ApiCtx, id: i64) -> Result<Request, ApiError> {
    crate::reads_business(&api.ctx)?;
    match s.store.imaging_request_for(&api.ctx.user.actor(Some(api.source.clone())), id).await {
        Ok(r) => Ok(r),
        Err(StoreError::NotFound { .. }) => Err(ApiError::new(StatusCode::NOT_FOUND, "没有这份会诊申请")),
        Err(e) => Err(e.into()),
    }
}

/// GET /api/v1/imaging/requests: the caller's worklist.
pub async fn api_list(State(s): State<AppState>, api: ApiCtx) -> Result<Json<Value>, ApiError> {
    crate::reads_business(&api.ctx)?;
    let all = s.store.imaging_worklist(&api.ctx.user.actor(None), 1000).await?;
    let ids: Vec<i64> = all.iter().map(|r| r.id).collect();
    let clocks = Clocks::of(&s, &ids).await?;
    let items: Vec<Value> = all.iter().map(|r| request_json(r, &clocks)).collect();
    Ok(Json(json!({ "total": items.len(), "items": items })))
}

/// POST /api/v1/imaging/requests.
pub async fn api_create(State(s): State<AppState>, api: ApiCtx, body: Bytes) -> Result<Response, ApiError> {
    crate::reads_business(&api.ctx)?;
    let r = request_of_json(&object(&body)?)?;
    let actor = api.ctx.user.actor(Some(api.source.clone()));
    let mut tx = s.store.write(&actor).await?;
    let id = tx.request_imaging(&r).await?;
    tx.commit().await?;
    let r = api_visible(&s, &api, id).await?;
    let clocks = Clocks::of(&s, &[id]).await?;
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, format!("/api/v1/imaging/requests/{id}"))],
        Json(request_json(&r, &clocks)),
    )
        .into_response())
}

/// GET /api/v1/imaging/requests/{id}: the request, its studies and its steps.
pub async fn api_get(State(s): State<AppState>, api: ApiCtx, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let id = api_id(&id)?;
    let r = api_visible(&s, &api, id).await?;
    let clocks = Clocks::of(&s, &[id]).await?;
    let mut v = request_json(&r, &clocks);
    v["studies"] = serde_json::to_value(s.store.imaging_request_studies(id).await?).unwrap_or(Value::Null);
    v["events"] = serde_json::to_value(s.store.imaging_request_events(id).await?).unwrap_or(Value::Null);
    v["reports"] = serde_json::to_value(s.store.imaging_reports(id).await?).unwrap_or(Value::Null);
    v["criticals"] = serde_json::to_value(s.store.imaging_criticals_of(id).await?).unwrap_or(Value::Null);
    Ok(Json(v))
}

/// POST /api/v1/imaging/requests/{id}/{action}: accept, decline (`reason`), take, reassign
/// (`to_user_id`, `reason`).
pub async fn api_act(
    State(s): State<AppState>,
    api: ApiCtx,
    Path((id, action)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let id = api_id(&id)?;
    api_visible(&s, &api, id).await?;
    let m = if body.iter().all(u8::is_ascii_whitespace) { Map::new() } else { object(&body)? };
    const KNOWN: &[&str] = &[
        "reason",
        "to_user_id",
        "findings",
        "impression",
        "advice",
        "finding",
        "note",
        "critical_id",
        "told_name",
        "channel",
        "told_at",
        "read_back",
        "outcome",
    ];
    if let Some(k) = m.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(bad(k, k, "reason、to_user_id、findings、impression、advice", format!("未知字段“{k}”")));
    }
    let reason = text(&m, "reason", "理由")?;
    let actor = api.ctx.user.actor(Some(api.source.clone()));
    let mut tx = s.store.write(&actor).await?;
    match action.as_str() {
        "accept" => tx.accept_imaging(id).await?,
        "decline" => tx.decline_imaging(id, &reason).await?,
        "take" => tx.take_imaging(id).await?,
        "outcome" => tx.record_imaging_outcome(id, &text(&m, "outcome", "患者去向")?).await?,
        "reassign" => {
            let to = int(&m, "to_user_id", "改派专家")?
                .ok_or_else(|| bad("to_user_id", "改派专家", "必填", "未指定改派的专家（to_user_id）".into()))?;
            tx.reassign_imaging(id, to, &reason).await?
        }
        "report" => {
            let t = ReportText {
                findings: text(&m, "findings", "检查所见")?,
                impression: text(&m, "impression", "诊断意见")?,
                advice: text(&m, "advice", "建议")?,
            };
            tx.save_imaging_report(id, &t).await?;
        }
        "critical" => {
            tx.flag_critical(id, &text(&m, "finding", "危急值")?, &text(&m, "note", "说明")?).await?;
        }
        "critical_notice" => {
            let critical = int(&m, "critical_id", "危急值")?
                .ok_or_else(|| bad("critical_id", "危急值", "必填", "未指定危急值（critical_id）".into()))?;
            if !s.store.imaging_criticals_of(id).await?.iter().any(|c| c.id == critical) {
                return Err(ApiError::new(StatusCode::NOT_FOUND, "这份会诊申请没有这个危急值"));
            }
            let at = text(&m, "told_at", "通知时间")?;
            let told_at = if at.trim().is_empty() {
                Utc::now()
            } else {
                DateTime::parse_from_rfc3339(at.trim()).map(|d| d.with_timezone(&Utc)).map_err(|_| {
                    bad("told_at", "通知时间", "RFC 3339 时间", format!("“{at}”不是 RFC 3339 时间"))
                })?
            };
            let n = domain::imaging::CriticalNotice {
                told_name: text(&m, "told_name", "接收人")?,
                channel: text(&m, "channel", "通知方式")?,
                told_at,
                read_back: text(&m, "read_back", "接收人回读")?,
            };
            tx.record_critical_notice(critical, &n).await?;
        }
        "sign" | "review" | "issue" | "confirm" | "amend" => {
            let a = ReportAction::parse(&action).unwrap_or(ReportAction::Sign);
            tx.imaging_report_step(id, a, Some(&reason)).await?
        }
        _ => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "没有这个办理操作：accept、decline、take、reassign、report、sign、review、issue、confirm、amend、critical、critical_notice 或 outcome",
            ))
        }
    }
    tx.commit().await?;
    let r = api_visible(&s, &api, id).await?;
    let clocks = Clocks::of(&s, &[id]).await?;
    Ok(Json(request_json(&r, &clocks)))
}
