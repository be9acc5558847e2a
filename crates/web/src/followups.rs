//! 预警督办: the warnings of the reader's scope (`/warnings`, with the thresholds a manager sets
//! and the daily digest), follow-up orders (`/followups`: the board, overdue ones escalated to
//! the top; an order's page with the answer and its evidence, and the manager's close or
//! return), a project's light on its page, and the bell (`/notifications`). The lights come from
//! `services::warnings`, the one engine; every write goes through `store::followups`.

use crate::auth::{CsrfForm, Ctx};
use crate::layout;
use crate::{AppError, AppState};
use axum::extract::{Multipart, Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use domain::projects::Schedule;
use domain::warnings::{order_step, NewOrder, OrderAction, OrderState, Rule, Thresholds};
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::{Map, Value};
use services::figures::Scope;
use services::warnings::{tally, Warning};
use store::followups::{OrderRow, Target};
use store::reporting::today;
use store::StoreError;

async fn program(s: &AppState) -> Result<i64, AppError> {
    Ok(s.store.default_program().await?.get())
}

fn light(l: Schedule) -> Markup {
    html! { span class={ "light " (l.code()) } title=(l.zh()) {} }
}

/// The reader's scope: its organization's subtree; a manager (the whole program) or a reader
/// with no organization may narrow it by `org`.
pub(crate) async fn scope_of(s: &AppState, ctx: &Ctx, asked: Option<&str>) -> Result<Scope, AppError> {
    let org = match ctx.user.org_id {
        // Never wider than one's own organization: one that cannot be read is an error.
        Some(o) if !ctx.user.role.manages_program() => Some(
            s.store
                .org_code(o.get())
                .await?
                .ok_or_else(|| AppError::from(StoreError::Integrity(format!("用户所属单位 {} 不存在", o.get()))))?,
        ),
        _ => asked.map(str::trim).filter(|c| !c.is_empty()).map(str::to_string),
    };
    Ok(Scope { org, ..Scope::default() })
}

fn order_link(w: &Warning) -> String {
    match (&w.project, &w.org) {
        (Some(p), _) => format!("/followups/new?project={}&rule={}", p.id, w.rule.code()),
        (None, Some((id, _, _))) => format!("/followups/new?org={id}&rule={}", w.rule.code()),
        _ => "/followups/new".into(),
    }
}

fn warnings_table(ctx: &Ctx, ws: &[Warning]) -> Markup {
    html! {
        table.data.warnings {
            thead { tr { th { (ctx.t("灯", "Light")) } th { (ctx.t("规则", "Rule")) } th { (ctx.t("对象", "On")) } th { (ctx.t("原因", "Reason")) }
                @if ctx.user.role.manages_program() { th {} } } }
            tbody {
                @for w in ws {
                    tr class=(w.light.code()) data-rule=(w.rule.code()) {
                        td { (light(w.light)) (w.light.zh()) }
                        td { (w.rule.zh()) }
                        td {
                            @if let Some(p) = &w.project { a href={ "/records/projects/" (p.id) } { (p.code) " " (p.name) } }
                            @else if let Some((_, code, name)) = &w.org { (name) " (" (code) ")" }
                        }
                        td { (w.reason) }
                        @if ctx.user.role.manages_program() { td { a.button href=(order_link(w)) { (ctx.t("下达督办", "Order a fix")) } } }
                    }
                }
            }
        }
    }
}

#[derive(Deserialize, Default)]
pub struct WarningsQuery {
    #[serde(default)]
    org: Option<String>,
    #[serde(default)]
    rule: Option<String>,
}

pub async fn index(State(s): State<AppState>, ctx: Ctx, Query(q): Query<WarningsQuery>) -> Result<Markup, AppError> {
    crate::reads_business(&ctx)?;
    let program = program(&s).await?;
    let scope = scope_of(&s, &ctx, q.org.as_deref()).await?;
    let mut ws = services::warnings::warnings(&s.store, program, &scope, today()).await?;
    let all = ws.clone();
    if let Some(r) = q.rule.as_deref().and_then(Rule::parse) {
        ws.retain(|w| w.rule == r);
    }
    let t = s.store.warning_thresholds(program).await?;
    let (red, amber) = tally(&all);
    let title = ctx.t("预警", "Warnings");
    let body = html! {
        h1 { (title) }
        p {
            (ctx.t("范围：", "Scope: ")) (scope.org.clone().unwrap_or_else(|| ctx.t("全部", "all").to_string()))
            " · " (ctx.t("判断日期 ", "as of ")) (today()) " · "
            span id="warn-red" { (light(Schedule::Red)) (ctx.t("红灯 ", "red ")) strong { (red) } } " "
            span id="warn-amber" { (light(Schedule::Amber)) (ctx.t("黄灯 ", "amber ")) strong { (amber) } }
            " · " a href="/followups" { (ctx.t("督办事项 ›", "Follow-up orders ›")) }
        }
        p.hint { (services::warnings::rules_zh(&t)) }
        table.data.compact.rules {
            thead { tr { th { (ctx.t("规则", "Rule")) } th.num { (ctx.t("红灯", "Red")) } th.num { (ctx.t("黄灯", "Amber")) } } }
            tbody {
                @for r in Rule::ALL {
                    @let of: Vec<&Warning> = all.iter().filter(|w| w.rule == r).collect();
                    tr { td { a href={ "/warnings?rule=" (r.code()) } { (r.zh()) } }
                         td.num { (of.iter().filter(|w| w.light == Schedule::Red).count()) }
                         td.num { (of.iter().filter(|w| w.light == Schedule::Amber).count()) } }
                }
            }
        }
        @if ws.is_empty() { p.hint { (ctx.t("没有预警。", "No warnings.")) } } @else { (warnings_table(&ctx, &ws)) }
        @if ctx.user.role.manages_program() {
            h2 { (ctx.t("每日预警摘要", "Daily digest")) }
            p.hint { (ctx.t("系统每天自动向每位用户发送其范围内的预警、逾期督办和待报送摘要（每人每天一次）；也可立即生成。", "Each user gets a daily digest of the warnings, overdue orders and due reports in their scope (once a day); it can be run now.")) }
            form.inline method="post" action="/warnings/digest" {
                input type="hidden" name="csrf" value=(ctx.user.csrf);
                button type="submit" id="run-digest" { (ctx.t("立即生成今日摘要", "Run today's digest")) }
            }
            h2 { (ctx.t("预警阈值", "Thresholds")) }
            (thresholds_form(&ctx, &t, &Map::new()))
        }
    };
    Ok(layout::page(&ctx, title, body))
}

fn thresholds_form(ctx: &Ctx, t: &Thresholds, errors: &Map<String, Value>) -> Markup {
    let err = |k: &str| errors.get(k).and_then(Value::as_str).map(str::to_string);
    let pct = |v: i64| format!("{}.{}", v / 10, v % 10);
    html! {
        form.stack.thresholds method="post" action="/warnings/thresholds" {
            input type="hidden" name="csrf" value=(ctx.user.csrf);
            (layout::field("未开工转红灯天数（计划开工日后）", html! { input name="start_grace_days" value=(t.start_grace_days) required; }, err("start_grace_days")))
            (layout::field("临近完工预警天数（计划完工日前）", html! { input name="end_near_days" value=(t.end_near_days) required; }, err("end_near_days")))
            (layout::field("超期转红灯天数（计划完工日后）", html! { input name="behind_days" value=(t.behind_days) required; }, err("behind_days")))
            (layout::field("资金检查节点（月-日）", html! { input name="checkpoint" value=(t.checkpoint_text()) required; }, err("checkpoint")))
            (layout::field("拨付率黄灯线（%）", html! { input name="disbursed_amber" value=(pct(t.disbursed_amber_permille)) required; }, err("disbursed_amber")))
            (layout::field("拨付率红灯线（%）", html! { input name="disbursed_red" value=(pct(t.disbursed_red_permille)) required; }, err("disbursed_red")))
            button type="submit" { (ctx.t("保存阈值", "Save thresholds")) }
        }
    }
}

pub async fn set_thresholds(
    State(s): State<AppState>,
    ctx: Ctx,
    Form(f): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let get = |k: &str| f.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or_default();
    ctx.check_csrf(&get("csrf"))?;
    let program = program(&s).await?;
    let t = Thresholds::parse(get).map_err(|e| AppError::from(StoreError::Invalid(e)))?;
    let mut tx = s.store.write(&ctx.user.actor(None)).await?;
    tx.set_warning_thresholds(program, &t).await?;
    tx.commit().await?;
    Ok(Redirect::to("/warnings").into_response())
}

pub async fn run_digest(State(s): State<AppState>, ctx: Ctx, Form(f): Form<CsrfForm>) -> Result<Response, AppError> {
    ctx.check_csrf(&f.csrf)?;
    if !ctx.user.role.manages_program() {
        return Err(AppError::Forbidden(ctx.t("只有项目管理人员可以生成预警摘要", "Managers only").into()));
    }
    let program = program(&s).await?;
    services::warnings::digest(&s.store, program, today(), &ctx.user.actor(None)).await?;
    Ok(Redirect::to("/notifications").into_response())
}

/// The orders the reader sees (the store decides: a manager all, others their subtree's).
async fn visible_orders(s: &AppState, ctx: &Ctx, program: i64) -> Result<Vec<OrderRow>, AppError> {
    Ok(s.store.follow_ups_for(&ctx.user.actor(None), program).await?)
}

fn state_zh(code: &str) -> &'static str {
    OrderState::parse(code).map_or("—", |s| s.zh())
}

pub async fn board(State(s): State<AppState>, ctx: Ctx) -> Result<Markup, AppError> {
    crate::reads_business(&ctx)?;
    let program = program(&s).await?;
    let now = today();
    let mut orders = visible_orders(&s, &ctx, program).await?;
    // Overdue first (escalated), most overdue on top; then open by due date; closed last.
    orders.sort_by_key(|o| (o.state() == OrderState::Closed, std::cmp::Reverse(o.overdue(now)), o.due.clone(), o.id));
    let overdue = orders.iter().filter(|o| o.overdue(now) > 0).count();
    let title = ctx.t("督办事项", "Follow-up orders");
    let body = html! {
        p.crumbs { a href="/warnings" { (ctx.t("预警", "Warnings")) } }
        h1 { (title) }
        p { (ctx.t("共 ", "")) (orders.len()) (ctx.t(" 项；逾期未办结 ", " orders; overdue ")) strong id="overdue-count" { (overdue) }
            (ctx.t(" 项（逾期事项自动升级：置顶标红，并列入每位项目管理人员的每日预警摘要）。", " (overdue orders escalate: to the top, in red, and into every manager's daily digest).")) }
        @if ctx.user.role.manages_program() { p { a.button href="/followups/new" { (ctx.t("新建督办", "New order")) } } }
        table.data.orders {
            thead { tr { th { (ctx.t("督办事项", "Order")) } th { (ctx.t("对象", "On")) } th { (ctx.t("承办单位", "Assignee")) } th { (ctx.t("办结期限", "Due")) } th { (ctx.t("状态", "State")) } } }
            tbody {
                @for o in &orders {
                    @let late = o.overdue(now);
                    tr class=[(late > 0).then_some("overdue")] data-id=(o.id) {
                        td { a href={ "/followups/" (o.id) } { (o.title) } }
                        td { (o.project.clone().unwrap_or_default()) @if let Some(r) = o.rule.as_deref().and_then(Rule::parse) { " · " (r.zh()) } }
                        td { (o.assignee) }
                        td { (o.due) @if late > 0 { " " span.badge.escalated { (ctx.t("逾期 ", "overdue ")) (late) (ctx.t(" 天·已升级", " d · escalated")) } } }
                        td { span class={ "state " (o.state) } { (state_zh(&o.state)) } }
                    }
                }
            }
        }
    };
    Ok(layout::page(&ctx, title, body))
}

#[derive(Deserialize, Default)]
pub struct NewQuery {
    #[serde(default)]
    project: Option<i64>,
    #[serde(default)]
    org: Option<i64>,
    #[serde(default)]
    rule: Option<String>,
}

fn managers_only(ctx: &Ctx) -> Result<(), AppError> {
    if ctx.user.role.manages_program() {
        Ok(())
    } else {
        Err(AppError::Forbidden(ctx.t("只有“项目管理”角色可以下达督办", "Only managers open orders").into()))
    }
}

pub async fn new_form(State(s): State<AppState>, ctx: Ctx, Query(q): Query<NewQuery>) -> Result<Markup, AppError> {
    managers_only(&ctx)?;
    let rule = q.rule.as_deref().and_then(Rule::parse);
    let mut assignee = q.org;
    let mut title = String::new();
    if let Some(p) = q.project {
        let plan = s.store.project_plan(p).await?;
        title = format!("{} {}：{}", plan.code, plan.name, rule.map_or("整改", |r| r.zh()));
        if assignee.is_none() {
            assignee = s.store.project_org(p).await?;
        }
    } else if let (Some(r), Some(_)) = (rule, q.org) {
        title = r.zh().to_string();
    }
    let orgs = crate::records::ref_options(&s, &ctx, "organizations").await?;
    let due = domain::Date::from_naive(today().naive() + chrono::Duration::days(14));
    let heading = ctx.t("新建督办", "New follow-up order");
    let body = html! {
        p.crumbs { a href="/followups" { (ctx.t("督办事项", "Follow-up orders")) } }
        h1 { (heading) }
        form.stack.new-order method="post" action="/followups" {
            input type="hidden" name="csrf" value=(ctx.user.csrf);
            @if let Some(p) = q.project { input type="hidden" name="project" value=(p); }
            @if let Some(r) = rule { input type="hidden" name="rule" value=(r.code()); }
            (layout::field("督办事项", html! { input name="title" value=(title) required maxlength="200"; }, None))
            (layout::field("整改要求", html! { textarea name="requirement" rows="4" required {} }, None))
            (layout::field("承办单位", html! {
                select name="assignee" required {
                    option value="" { "—" }
                    @for (id, name) in &orgs {
                        option value=(id) selected[assignee.map(|a| a.to_string()) == Some(id.clone())] { (name) }
                    }
                }
            }, None))
            (layout::field("办结期限", html! { input type="date" name="due" value=(due) required; }, None))
            button type="submit" { (ctx.t("下达", "Open")) }
        }
    };
    Ok(layout::page(&ctx, heading, body))
}

#[derive(Deserialize)]
pub struct NewForm {
    csrf: String,
    #[serde(default)]
    project: Option<String>,
    #[serde(default)]
    rule: Option<String>,
    #[serde(default)]
    title: String,
    #[serde(default)]
    requirement: String,
    #[serde(default)]
    assignee: String,
    #[serde(default)]
    due: String,
}

pub async fn create(State(s): State<AppState>, ctx: Ctx, Form(f): Form<NewForm>) -> Result<Response, AppError> {
    ctx.check_csrf(&f.csrf)?;
    managers_only(&ctx)?;
    let program = program(&s).await?;
    let bad = |field: &str, label: &str, msg: String| {
        AppError::from(StoreError::Invalid(domain::Invalid::new(field, label, "选择", msg).into()))
    };
    let assignee: i64 = f.assignee.trim().parse().map_err(|_| bad("assignee", "承办单位", "请选择承办单位".into()))?;
    let project = match f.project.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        Some(p) => Some(p.parse::<i64>().map_err(|_| bad("project", "督办项目", format!("项目“{p}”无效")))?),
        None => None,
    };
    let rule = match f.rule.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
        Some(r) => Some(Rule::parse(r).ok_or_else(|| bad("rule", "预警规则", format!("“{r}”不是预警规则")))?),
        None => None,
    };
    let target = match (rule, project) {
        (Some(rule), project) => Target::Warning { rule, project },
        (None, Some(p)) => Target::Project(p),
        (None, None) => Target::Org,
    };
    let order = NewOrder::parse(&f.title, &f.requirement, &f.due, today())
        .map_err(|e| AppError::from(StoreError::Invalid(e)))?;
    let mut tx = s.store.write(&ctx.user.actor(None)).await?;
    let id = tx.open_follow_up(program, &target, assignee, &order).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/followups/{id}")).into_response())
}

fn order_id(ctx: &Ctx, id: &str) -> Result<i64, AppError> {
    id.parse()
        .ok()
        .filter(|i| *i > 0)
        .ok_or_else(|| AppError::NotFound(ctx.t("没有这个督办事项", "No such order").into()))
}

/// The order if the reader may see it (the store checks and audits a refusal).
async fn visible(s: &AppState, ctx: &Ctx, id: i64) -> Result<OrderRow, AppError> {
    crate::reads_business(ctx)?;
    let nf = || {
        AppError::NotFound(ctx.t("没有这个督办事项，或不在您的权限范围内", "No such order within your scope").into())
    };
    let program = program(s).await?;
    match s.store.follow_up_for(&ctx.user.actor(None), id).await {
        Ok(o) if o.program_id == program => Ok(o),
        Ok(_) | Err(StoreError::NotFound { .. }) => Err(nf()),
        Err(e) => Err(e.into()),
    }
}

pub async fn page(State(s): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> Result<Markup, AppError> {
    let id = order_id(&ctx, &id)?;
    let o = visible(&s, &ctx, id).await?;
    let files = s.store.follow_up_files(id).await?;
    let now = today();
    let manager = ctx.user.role.manages_program();
    // Whether the reader answers for the assignee (its organization or above, not a manager).
    let assignee = s.store.acts_for(&ctx.user.actor(None), o.assignee_org_id).await?;
    let may = |a: OrderAction| order_step(o.state(), a, assignee, manager).is_ok();
    let late = o.overdue(now);
    let body = html! {
        p.crumbs { a href="/followups" { (ctx.t("督办事项", "Follow-up orders")) } " › " (o.id) }
        h1 { (o.title) }
        p.order-state { (ctx.t("状态：", "State: ")) span id="order-state" class={ "state " (o.state) } { (state_zh(&o.state)) }
            @if late > 0 { " " span.badge.escalated { (ctx.t("逾期 ", "overdue ")) (late) (ctx.t(" 天·已升级", " d · escalated")) } } }
        dl.record {
            dt { (ctx.t("对象", "On")) }
            dd { @if let Some(p) = o.project_id { a href={ "/records/projects/" (p) } { (o.project.clone().unwrap_or_default()) } } @else { (ctx.t("单位", "Organization")) }
                 @if let Some(r) = o.rule.as_deref().and_then(Rule::parse) { " · " (ctx.t("预警：", "warning: ")) (r.zh()) } }
            dt { (ctx.t("承办单位", "Assignee")) } dd { (o.assignee) }
            dt { (ctx.t("整改要求", "What must be fixed")) } dd.requirement { (o.requirement) }
            dt { (ctx.t("办结期限", "Due")) } dd { (o.due) }
            dt { (ctx.t("下达时间", "Opened")) } dd { (layout::beijing(&o.opened_at)) }
            @if let Some(a) = &o.answer { dt { (ctx.t("办理情况", "Answer")) } dd id="order-answer" { (a) " （" (o.answered_on.clone().unwrap_or_default()) "）" } }
            @if let Some(r) = &o.return_reason { dt { (ctx.t("退回原因", "Returned because")) } dd id="order-return-reason" { (r) } }
            @if let Some(c) = &o.closed_on { dt { (ctx.t("办结日期", "Closed on")) } dd { (c) } }
        }
        @if !files.is_empty() {
            h2 { (ctx.t("整改材料", "Evidence")) }
            ul.files {
                @for f in &files {
                    li { a href={ "/followups/files/" (f.id) } { (f.name) } " · " (f.size) (ctx.t(" 字节 · SM3 ", " bytes · SM3 ")) code { (f.sm3.get(..16).unwrap_or_default()) } }
                }
            }
        }
        @if may(OrderAction::Answer) {
            h2 { (ctx.t("答复", "Answer")) }
            form.stack.answer method="post" action={ "/followups/" (o.id) "/answer" } enctype="multipart/form-data" {
                input type="hidden" name="csrf" value=(ctx.user.csrf);
                (layout::field("办理情况", html! { textarea name="answer" rows="4" required maxlength="4000" {} }, None))
                (layout::field("整改材料（可多选，每个不超过 5 MB）", html! { input type="file" name="files" multiple; }, None))
                button type="submit" id="answer-order" { (ctx.t("提交答复", "Send the answer")) }
            }
        }
        @if may(OrderAction::Close) {
            form.inline method="post" action={ "/followups/" (o.id) "/decide" } {
                input type="hidden" name="csrf" value=(ctx.user.csrf);
                input type="hidden" name="action" value="close";
                button type="submit" id="close-order" { (ctx.t("办结", "Close")) }
            }
        }
        @if may(OrderAction::Return) {
            form.inline.return-order method="post" action={ "/followups/" (o.id) "/decide" } {
                input type="hidden" name="csrf" value=(ctx.user.csrf);
                input type="hidden" name="action" value="return";
                input name="reason" placeholder=(ctx.t("退回原因（必填）", "Reason (required)")) required maxlength="500";
                button.danger type="submit" { (ctx.t("退回重办", "Return")) }
            }
        }
    };
    Ok(layout::page(&ctx, &o.title, body))
}

pub async fn answer(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    mut parts: Multipart,
) -> Result<Response, AppError> {
    let id = order_id(&ctx, &id)?;
    let (mut csrf, mut text, mut files) = (String::new(), String::new(), Vec::new());
    let failed = |e: axum::extract::multipart::MultipartError| {
        AppError::from(StoreError::Invalid(
            domain::Invalid::new("files", "整改材料", "上传", format!("上传未完成：{}", e.body_text())).into(),
        ))
    };
    while let Some(field) = parts.next_field().await.map_err(failed)? {
        let name = field.name().unwrap_or_default().to_string();
        let file_name = field.file_name().map(str::to_string);
        let ctype = field.content_type().unwrap_or("application/octet-stream").to_string();
        let bytes = field.bytes().await.map_err(failed)?;
        match name.as_str() {
            "csrf" => csrf = String::from_utf8_lossy(&bytes).into_owned(),
            "answer" => text = String::from_utf8_lossy(&bytes).into_owned(),
            // A file input with nothing chosen sends one empty part without a name.
            "files" => {
                if let Some(n) = file_name.filter(|n| !n.is_empty()) {
                    files.push((n, ctype, bytes.to_vec()));
                }
            }
            _ => {}
        }
    }
    ctx.check_csrf(&csrf)?;
    visible(&s, &ctx, id).await?;
    let mut tx = s.store.write(&ctx.user.actor(None)).await?;
    tx.answer_follow_up(id, &text, &files).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/followups/{id}")).into_response())
}

#[derive(Deserialize)]
pub struct DecideForm {
    csrf: String,
    action: String,
    #[serde(default)]
    reason: String,
}

pub async fn decide(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(f): Form<DecideForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&f.csrf)?;
    let id = order_id(&ctx, &id)?;
    visible(&s, &ctx, id).await?;
    let action = OrderAction::parse(&f.action).filter(|a| *a != OrderAction::Answer).ok_or_else(|| {
        AppError::from(StoreError::Invalid(
            domain::Invalid::new("action", "办理操作", "办结或退回重办", format!("“{}”不是办理操作", f.action)).into(),
        ))
    })?;
    let mut tx = s.store.write(&ctx.user.actor(None)).await?;
    tx.decide_follow_up(id, action, Some(&f.reason)).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/followups/{id}")).into_response())
}

pub async fn file(State(s): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> Result<Response, AppError> {
    let nf = || AppError::NotFound(ctx.t("没有这个附件", "No such file").into());
    let id: i64 = id.parse().ok().filter(|i| *i > 0).ok_or_else(nf)?;
    crate::reads_business(&ctx)?;
    let (f, bytes) = match s.store.follow_up_file_for(&ctx.user.actor(None), id).await {
        Ok(x) => x,
        Err(StoreError::NotFound { .. }) => return Err(nf()),
        Err(e) => return Err(e.into()),
    };
    let disposition = format!("attachment; filename=\"file\"; filename*=UTF-8''{}", crate::records::encode(&f.name));
    // Served as a download, never rendered: the type is what the uploader claimed.
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

/// A project's light on its page (the worst of its warnings) with the reasons, and, for a
/// manager, the way to open a follow-up order on it; its orders below.
pub async fn project_panel(s: &AppState, ctx: &Ctx, id: i64, row: &Map<String, Value>) -> Result<Markup, AppError> {
    let program = row.get("program_id").and_then(Value::as_i64).unwrap_or(program(s).await?);
    let (worst, ws) = services::warnings::project_light(&s.store, program, id, today()).await?;
    let orders: Vec<OrderRow> =
        visible_orders(s, ctx, program).await?.into_iter().filter(|o| o.project_id == Some(id)).collect();
    Ok(html! {
        section.project-light {
            p.schedule id="project-light" data-light=(worst.code()) {
                (light(worst)) (ctx.t(worst.zh(), worst.en()))
                @if ws.is_empty() { "：" (ctx.t("无预警", "no warnings")) }
                @for w in &ws { "；" (w.rule.zh()) "：" (w.reason) }
            }
            @if ctx.user.role.manages_program() && worst != Schedule::Green {
                @if let Some(w) = ws.first() { p { a.button id="order-project" href=(order_link(w)) { (ctx.t("下达督办", "Order a fix")) } } }
            }
            @if !orders.is_empty() {
                p { (ctx.t("督办：", "Orders: "))
                    @for o in &orders { a href={ "/followups/" (o.id) } { (o.title) } " (" (state_zh(&o.state)) ") " } }
            }
        }
    })
}

pub async fn notifications(State(s): State<AppState>, ctx: Ctx) -> Result<Markup, AppError> {
    let notices = s.store.notices(ctx.user.user_id.get(), 200).await?;
    let title = ctx.t("通知", "Notifications");
    let body = html! {
        h1 { (title) }
        @if ctx.unread > 0 {
            form.inline method="post" action="/notifications/read" {
                input type="hidden" name="csrf" value=(ctx.user.csrf);
                button type="submit" id="read-all" { (ctx.t("全部标为已读", "Mark all read")) }
            }
        }
        @if notices.is_empty() { p.hint { (ctx.t("没有通知。", "No notifications.")) } }
        ul.notices {
            @for n in &notices {
                li class=[(!n.read).then_some("unread")] data-kind=(n.kind) {
                    span.meta { (layout::beijing(&n.created_at)) } " "
                    @if n.link.is_empty() { (n.title) } @else {
                        // Opening a notice marks it read, then goes where it points.
                        form.inline.open-notice method="post" action={ "/notifications/" (n.id) "/open" } data-link=(n.link) {
                            input type="hidden" name="csrf" value=(ctx.user.csrf);
                            button.link type="submit" { (n.title) }
                        }
                    }
                    @if !n.body.is_empty() { pre.digest { (n.body) } }
                }
            }
        }
    };
    Ok(layout::page(&ctx, title, body))
}

pub async fn read_all(State(s): State<AppState>, ctx: Ctx, Form(f): Form<CsrfForm>) -> Result<Response, AppError> {
    ctx.check_csrf(&f.csrf)?;
    s.store.mark_read(&ctx.user.actor(None), None).await?;
    Ok(Redirect::to("/notifications").into_response())
}

/// Open a notice: mark it read (only one's own) and go to the page it points at — always a
/// path of this application.
pub async fn open_notice(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(f): Form<CsrfForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&f.csrf)?;
    let nf = || AppError::NotFound(ctx.t("没有这条通知", "No such notice").into());
    let id: i64 = id.parse().ok().filter(|i| *i > 0).ok_or_else(nf)?;
    let notice = s.store.notice(ctx.user.user_id.get(), id).await?.ok_or_else(nf)?;
    s.store.mark_read(&ctx.user.actor(None), Some(&[id])).await?;
    let to = if notice.link.starts_with('/') && !notice.link.starts_with("//") {
        notice.link
    } else {
        "/notifications".into()
    };
    Ok(Redirect::to(&to).into_response())
}

/// The dashboard's warnings panel: red and amber by rule, each opening the list.
pub async fn dashboard_panel(s: &AppState, ctx: &Ctx, asked: Option<&str>) -> Result<Markup, AppError> {
    let program = program(s).await?;
    let scope = &scope_of(s, ctx, asked).await?;
    let ws = services::warnings::warnings(&s.store, program, scope, today()).await?;
    let orders = visible_orders(s, ctx, program).await?;
    let overdue = orders.iter().filter(|o| o.overdue(today()) > 0).count();
    let open = orders.iter().filter(|o| o.state() != OrderState::Closed).count();
    let q = scope.org.as_deref().map(|o| format!("&org={}", crate::records::encode(o))).unwrap_or_default();
    Ok(html! {
        section.panel.warnings-panel {
            h3 { (ctx.t("预警与督办", "Warnings and orders")) }
            table.data.compact {
                thead { tr { th { (ctx.t("规则", "Rule")) } th.num { (light(Schedule::Red)) } th.num { (light(Schedule::Amber)) } } }
                tbody {
                    @for r in Rule::ALL {
                        @let of: Vec<&Warning> = ws.iter().filter(|w| w.rule == r).collect();
                        tr data-rule=(r.code()) { td { a href={ "/warnings?rule=" (r.code()) (q) } { (r.zh()) } }
                             td.num.red { (of.iter().filter(|w| w.light == Schedule::Red).count()) }
                             td.num.amber { (of.iter().filter(|w| w.light == Schedule::Amber).count()) } }
                    }
                }
            }
            p { a href="/followups" { (ctx.t("督办事项：未办结 ", "Orders: open ")) (open) (ctx.t(" 项，逾期 ", ", overdue ")) (overdue) (ctx.t(" 项 ›", " ›")) } }
        }
    })
}
