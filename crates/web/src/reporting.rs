//! 报送审核: the reporting cycle's pages. `/reporting` shows what is due, overdue and returned
//! for the reader's organization, the records waiting for its review or consolidation, and the
//! periods (a manager opens them); `/reporting/periods/{id}` is a period's completeness board
//! (报送率, 及时率, who reported, late, missing) with the unit's period report and the lock;
//! `POST /review/{id}` is one review step of an activity, offered on its page by `panel`.
//! Every write goes through `store::reporting`, which checks the standing and audits.

use crate::auth::Ctx;
use crate::layout;
use crate::{AppError, AppState};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use domain::reporting::{Action, Completeness, Frequency, NewPeriod, State as RState, ACTIONS};
use maud::{html, Markup};
use serde::Deserialize;
use store::reporting::{today, ReviewItem};
use store::StoreError;

/// 84.6 for 11/13: a rate in per cent with one decimal, half-up, from the raw counts.
pub fn percent(num: i64, den: i64) -> String {
    domain::warnings::rate_text(domain::Fen(num), domain::Fen(den))
}

async fn program(s: &AppState) -> Result<i64, AppError> {
    Ok(s.store.default_program().await?.get())
}

fn state_label(code: &str) -> &'static str {
    RState::parse(code).map_or("—", |s| s.zh())
}

fn items_table(ctx: &Ctx, items: &[ReviewItem], reason: bool) -> Markup {
    html! {
        table.data.review {
            thead { tr {
                th { (ctx.t("活动", "Activity")) } th { (ctx.t("日期", "Date")) } th { (ctx.t("填报单位", "Unit")) }
                th { (ctx.t("状态", "State")) }
                @if reason { th { (ctx.t("退回原因", "Reason returned")) } }
            } }
            tbody {
                @for i in items {
                    tr data-state=(i.state) {
                        td { a href={ "/records/activities/" (i.id) } { (i.title) } }
                        td { (i.date) } td { (i.org_name) }
                        td { span class={ "state " (i.state) } { (state_label(&i.state)) } }
                        @if reason { td.reason { (i.reason.clone().unwrap_or_default()) } }
                    }
                }
            }
        }
    }
}

/// What is due, overdue and returned for the reader's organization: the home page's box.
pub async fn due_box(s: &AppState, ctx: &Ctx) -> Result<Markup, AppError> {
    let Some(org) = ctx.user.org_id else { return Ok(html! {}) };
    if !ctx.user.role.writes_records() {
        return Ok(html! {});
    }
    let program = program(s).await?;
    let periods = s.store.assignments_of(org.get(), today()).await?;
    let returned = s.store.review_items(program, &[RState::Returned], Some(org.get()), None, 50).await?;
    let open: Vec<_> = periods.iter().filter(|(_, c)| !c.reported()).collect();
    let queue = review_queue(s, ctx, program).await?;
    if open.is_empty() && returned.is_empty() && queue.is_empty() {
        return Ok(html! {});
    }
    Ok(html! {
        section.due id="due" {
            h2 { (ctx.t("我的待办", "Due for me")) }
            @if !open.is_empty() {
                ul.due {
                    @for (p, c) in &open {
                        li class=(c.code()) {
                            a href={ "/reporting/periods/" (p.id) } { (p.code) " " (ctx.t("活动月报", "activity report")) }
                            " · " (ctx.t("截止", "due")) " " (p.deadline) " · "
                            strong { (c.zh()) }
                        }
                    }
                }
            }
            @if !returned.is_empty() {
                h3 { (ctx.t("被退回待修改", "Returned for correction")) " (" (returned.len()) ")" }
                (items_table(ctx, &returned, true))
            }
            @if !queue.is_empty() {
                p { a href="/reporting#queue" { (ctx.t("待我审核或汇总：", "Waiting for my review: ")) (queue.len()) (ctx.t(" 条", "")) } }
            }
        }
    })
}

/// The records waiting for the reader: reported ones at a level its organization acts at, and
/// approved ones one level below it (to consolidate or return).
async fn review_queue(s: &AppState, ctx: &Ctx, program: i64) -> Result<Vec<(ReviewItem, Vec<Action>)>, AppError> {
    let mut out = Vec::new();
    if ctx.user.org_id.is_none() || !ctx.user.role.writes_records() {
        return Ok(out);
    }
    let actor = ctx.user.actor(None);
    let Some(org) = ctx.user.org_id else { return Ok(out) };
    // Only records at a level the organization acts at (to review) or one below it (to
    // consolidate or return) can be waiting for it; the standing of each decides.
    let levels = s.store.chain_levels_of(program, org.get()).await?;
    if levels.is_empty() {
        return Ok(out);
    }
    let states = [RState::Submitted, RState::InReview, RState::Approved, RState::Consolidated];
    let items = s.store.review_items(program, &states, None, None, 500).await?;
    for item in items.into_iter().filter(|i| levels.iter().any(|l| *l == i.level || *l == i.level + 1)) {
        let (at, who, first, top) = s.store.review_standing(&actor, item.id).await?;
        let can: Vec<Action> = ACTIONS
            .iter()
            .map(|(a, _, _)| *a)
            .filter(|a| *a != Action::Submit && domain::reporting::step(at, *a, &who, first, top).is_ok())
            .collect();
        if !can.is_empty() {
            out.push((item, can));
        }
    }
    Ok(out)
}

pub async fn index(State(s): State<AppState>, ctx: Ctx) -> Result<Markup, AppError> {
    crate::reads_business(&ctx)?;
    let program = program(&s).await?;
    let periods = s.store.reporting_periods(program).await?;
    let chain = s.store.review_chain(program).await?;
    let schedules = s.store.reporting_schedules(program).await?;
    let queue = review_queue(&s, &ctx, program).await?;
    let due = due_box(&s, &ctx).await?;
    let title = ctx.t("报送审核", "Reporting");
    let body = html! {
        h1 { (title) }
        p.hint {
            (ctx.t("审核层级：填报单位", "Review chain: reporting unit"))
            @for l in &chain { " → " (l.name) "（" (l.orgs.iter().map(|o| o.2.as_str()).collect::<Vec<_>>().join("、")) "）" }
            (ctx.t("。指标默认只统计审核通过的记录。", ". Figures count approved records only by default."))
        }
        (due)
        h2 id="queue" { (ctx.t("待我审核或汇总", "Waiting for my review")) }
        @if queue.is_empty() {
            p.hint { (ctx.t("没有待审核的记录。", "Nothing to review.")) }
        } @else {
            table.data.queue {
                thead { tr { th { (ctx.t("活动", "Activity")) } th { (ctx.t("日期", "Date")) } th { (ctx.t("填报单位", "Unit")) } th { (ctx.t("状态", "State")) } th { (ctx.t("可办理", "Actions")) } } }
                tbody {
                    @for (i, can) in &queue {
                        tr data-id=(i.id) {
                            td { a href={ "/records/activities/" (i.id) } { (i.title) } }
                            td { (i.date) } td { (i.org_name) }
                            td { (state_label(&i.state)) " · " (ctx.t("第", "level ")) (i.level) (ctx.t("级", "")) }
                            td { (can.iter().map(|a| a.zh()).collect::<Vec<_>>().join("、")) }
                        }
                    }
                }
            }
        }
        h2 { (ctx.t("统计期", "Reporting periods")) }
        table.data.periods {
            thead { tr { th { (ctx.t("统计期", "Period")) } th { (ctx.t("内容", "Kind")) } th { (ctx.t("起止", "Dates")) } th { (ctx.t("截止日期", "Deadline")) } th { (ctx.t("状态", "State")) } } }
            tbody {
                @for p in &periods {
                    tr {
                        td { a href={ "/reporting/periods/" (p.id) } { (p.code) } }
                        td { (domain::catalog::by_table(&p.kind).map_or(p.kind.as_str(), |t| t.zh)) " · " (Frequency::parse(&p.frequency).map_or("", |f| f.zh())) }
                        td { (p.start) " — " (p.end) } td { (p.deadline) }
                        td { @if p.locked { (ctx.t("已审核通过并锁定", "Approved and locked")) } @else { (ctx.t("进行中", "Open")) } }
                    }
                }
            }
        }
        @if ctx.user.role.manages_program() {
            h2 { (ctx.t("审核层级与报送计划", "Review chain and schedule")) }
            form.stack.chain method="post" action="/reporting/chain" {
                input type="hidden" name="csrf" value=(ctx.user.csrf);
                (layout::field(ctx.t("审核层级（自下而上每行一级：层级名称：单位代码、单位代码）", "Levels, bottom up, one per line: name: org codes"), html! {
                    textarea name="levels" rows="4" required {
                        @for l in &chain { (l.name) "：" (l.orgs.iter().map(|o| o.1.as_str()).collect::<Vec<_>>().join("、")) "
    " }
                    }
                }, None))
                button type="submit" { (ctx.t("保存审核层级", "Save the chain")) }
            }
            form.stack.schedule method="post" action="/reporting/schedule" {
                input type="hidden" name="csrf" value=(ctx.user.csrf);
                input type="hidden" name="kind" value="activities";
                @let current = schedules.iter().find(|(k, _, _)| k == "activities");
                (layout::field(ctx.t("交流交往活动的报送频率", "How often activities are reported"), html! {
                    select name="frequency" { @for (_, c, z) in domain::reporting::FREQUENCIES {
                        option value=(c) selected[current.is_some_and(|(_, f, _)| f == c)] { (z) } } }
                }, None))
                (layout::field(ctx.t("期末后几天内报送", "Days after the period's end"), html! {
                    input name="deadline_days" value=(current.map_or(5, |(_, _, d)| *d)) required;
                }, None))
                button type="submit" { (ctx.t("保存报送计划", "Save the schedule")) }
            }
            h2 { (ctx.t("开启统计期", "Open a period")) }
            form.stack.open-period method="post" action="/reporting/periods" {
                input type="hidden" name="csrf" value=(ctx.user.csrf);
                input type="hidden" name="kind" value="activities";
                (layout::field(ctx.t("报送频率", "Frequency"), html! {
                    select name="frequency" { @for (_, c, z) in domain::reporting::FREQUENCIES { option value=(c) { (z) } } }
                }, None))
                (layout::field(ctx.t("统计期（如 2026-11、2026-Q4、2026）", "Period (2026-11, 2026-Q4, 2026)"), html! { input name="period" required; }, None))
                (layout::field(ctx.t("截止日期", "Deadline"), html! { input type="date" name="deadline" required; }, None))
                (layout::field(ctx.t("报送单位代码（每行一个）", "Reporting units' codes (one per line)"), html! { textarea name="orgs" rows="4" required {} }, None))
                button type="submit" { (ctx.t("开启", "Open")) }
            }
        }
    };
    Ok(layout::page(&ctx, title, body))
}

#[derive(Deserialize)]
pub struct OpenForm {
    csrf: String,
    kind: String,
    frequency: String,
    period: String,
    deadline: String,
    orgs: String,
}

pub async fn open(State(s): State<AppState>, ctx: Ctx, Form(f): Form<OpenForm>) -> Result<Response, AppError> {
    ctx.check_csrf(&f.csrf)?;
    let program = program(&s).await?;
    let invalid = |e: domain::Invalid| AppError::from(StoreError::Invalid(e.into()));
    let frequency = Frequency::parse(&f.frequency).map_err(invalid)?;
    let p = NewPeriod::parse(&f.kind, frequency, &f.period, &f.deadline).map_err(invalid)?;
    let codes: Vec<&str> = f.orgs.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let mut tx = s.store.write(&ctx.user.actor(None)).await?;
    let orgs = tx.org_ids(&codes).await?;
    let id = tx.open_period(program, &p, frequency, &orgs).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/reporting/periods/{id}")).into_response())
}

#[derive(Deserialize)]
pub struct ChainForm {
    csrf: String,
    levels: String,
}

/// Parse the chain form: a line per level, bottom up, `名称：代码、代码` (a full-width or ASCII
/// colon; codes separated by 、, commas or spaces).
fn chain_lines(text: &str) -> Result<Vec<(String, Vec<String>)>, domain::Invalid> {
    let mut out = Vec::new();
    for (i, line) in text.lines().map(str::trim).filter(|l| !l.is_empty()).enumerate() {
        let bad = |why: &str| {
            domain::Invalid::new("levels", "审核层级", "层级名称：单位代码", format!("第 {} 行“{line}”{why}", i + 1))
        };
        let (name, codes) = line.split_once(['：', ':']).ok_or_else(|| bad("缺少冒号"))?;
        let codes: Vec<String> = codes
            .split(['、', ',', '，', ' ', '\t'])
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_string)
            .collect();
        if name.trim().is_empty() || codes.is_empty() {
            return Err(bad("须写明层级名称和至少一个单位代码"));
        }
        out.push((name.trim().to_string(), codes));
    }
    if out.is_empty() {
        return Err(domain::Invalid::new("levels", "审核层级", "必填", "须至少有一个审核层级"));
    }
    Ok(out)
}

pub async fn set_chain(State(s): State<AppState>, ctx: Ctx, Form(f): Form<ChainForm>) -> Result<Response, AppError> {
    ctx.check_csrf(&f.csrf)?;
    let program = program(&s).await?;
    let lines = chain_lines(&f.levels).map_err(|e| AppError::from(StoreError::Invalid(e.into())))?;
    let mut tx = s.store.write(&ctx.user.actor(None)).await?;
    let mut levels = Vec::new();
    for (name, codes) in &lines {
        let codes: Vec<&str> = codes.iter().map(String::as_str).collect();
        levels.push((name.clone(), tx.org_ids(&codes).await?));
    }
    tx.set_review_chain(program, &levels).await?;
    tx.commit().await?;
    Ok(Redirect::to("/reporting").into_response())
}

#[derive(Deserialize)]
pub struct ScheduleForm {
    csrf: String,
    kind: String,
    frequency: String,
    deadline_days: String,
}

pub async fn set_schedule(
    State(s): State<AppState>,
    ctx: Ctx,
    Form(f): Form<ScheduleForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&f.csrf)?;
    let program = program(&s).await?;
    let invalid = |e: domain::Invalid| AppError::from(StoreError::Invalid(e.into()));
    let frequency = Frequency::parse(&f.frequency).map_err(invalid)?;
    let days: i64 = f.deadline_days.trim().parse().map_err(|_| {
        invalid(domain::Invalid::new("deadline_days", "报送期限", "天数", "报送期限须为 0 到 366 之间的整数（天）"))
    })?;
    let mut tx = s.store.write(&ctx.user.actor(None)).await?;
    tx.set_schedule(program, &f.kind, frequency, days).await?;
    tx.commit().await?;
    Ok(Redirect::to("/reporting").into_response())
}

fn period_id(ctx: &Ctx, id: &str) -> Result<i64, AppError> {
    id.parse()
        .ok()
        .filter(|i| *i > 0)
        .ok_or_else(|| AppError::NotFound(ctx.t("没有这个统计期", "No such period").into()))
}

pub async fn period(State(s): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> Result<Markup, AppError> {
    crate::reads_business(&ctx)?;
    let id = period_id(&ctx, &id)?;
    let p = s.store.reporting_period(id).await.map_err(|e| match e {
        StoreError::NotFound { .. } => AppError::NotFound(ctx.t("没有这个统计期", "No such period").into()),
        e => e.into(),
    })?;
    let board = s.store.completeness(id, today()).await?;
    let states: Vec<Completeness> = board.iter().map(|a| a.completeness).collect();
    let ((rep, n), (on_time, _)) = domain::reporting::rates(&states);
    let mine = ctx.user.org_id.and_then(|o| board.iter().find(|a| a.org_id == o.get()));
    let title = format!("{} {}", p.code, ctx.t("报送完成情况", "completeness"));
    let body = html! {
        p.crumbs { a href="/reporting" { (ctx.t("报送审核", "Reporting")) } " › " (p.code) }
        h1 { (title) }
        p { (ctx.t("统计期", "Period")) " " (p.start) " — " (p.end) " · " (ctx.t("截止日期", "deadline")) " " (p.deadline) " · "
            @if p.locked { strong.locked { (ctx.t("已审核通过并锁定", "Approved and locked")) } } @else { (ctx.t("进行中", "Open")) } }
        div.cards.rates {
            div.card id="rate-reported" { span.label { (ctx.t("报送率", "Reported")) } span.value { (percent(rep, n)) } span.unit { (rep) " / " (n) } }
            div.card id="rate-on-time" { span.label { (ctx.t("及时率", "On time")) } span.value { (percent(on_time, n)) } span.unit { (on_time) " / " (n) } }
        }
        table.data.completeness {
            thead { tr { th { (ctx.t("单位", "Organization")) } th { (ctx.t("报送情况", "Status")) } th { (ctx.t("报送日期", "Reported on")) } th { (ctx.t("本期记录", "Records")) } } }
            tbody {
                @for a in &board {
                    tr class=(a.status) data-org=(a.org_code) {
                        td { (a.org_name) " (" (a.org_code) ")" }
                        td { span class={ "status " (a.status) } { (a.completeness.zh()) } }
                        td { (a.submitted_on.clone().unwrap_or_else(|| "—".into())) }
                        td { (a.records.iter().map(|(st, k)| format!("{} {k}", state_label(st))).collect::<Vec<_>>().join("，")) }
                    }
                }
            }
        }
        @if let Some(a) = mine {
            @if !p.locked && ctx.user.role.writes_records() {
                form.inline method="post" action={ "/reporting/periods/" (p.id) "/submit" } {
                    input type="hidden" name="csrf" value=(ctx.user.csrf);
                    button id="submit-period" type="submit" { (ctx.t("上报本期（含零报告）", "Report this period (nil report too)")) }
                }
                @if a.submitted_on.is_some() { span.hint { " " (ctx.t("已于 ", "Reported on ")) (a.submitted_on.clone().unwrap_or_default()) (ctx.t(" 首次报送", "")) } }
            }
        }
        @if ctx.user.role.manages_program() {
            @if p.locked {
                form.stack method="post" action={ "/reporting/periods/" (p.id) "/reopen" } {
                    input type="hidden" name="csrf" value=(ctx.user.csrf);
                    (layout::field(ctx.t("重新打开原因", "Why reopen"), html! { input name="reason" required; }, None))
                    button.danger type="submit" { (ctx.t("重新打开（记入审计日志）", "Reopen (audited)")) }
                }
            } @else {
                form.inline method="post" action={ "/reporting/periods/" (p.id) "/lock" } {
                    input type="hidden" name="csrf" value=(ctx.user.csrf);
                    button id="lock-period" type="submit" { (ctx.t("审核通过本期并锁定", "Approve and lock the period")) }
                }
            }
        }
    };
    Ok(layout::page(&ctx, &title, body))
}

#[derive(Deserialize)]
pub struct ReasonForm {
    csrf: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    action: String,
}

pub async fn submit_period(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(f): Form<ReasonForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&f.csrf)?;
    let id = period_id(&ctx, &id)?;
    let org = ctx.user.org_id.ok_or_else(|| AppError::Forbidden("没有所属单位，不能上报".into()))?;
    let mut tx = s.store.write(&ctx.user.actor(None)).await?;
    tx.submit_period(id, org.get()).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/reporting/periods/{id}")).into_response())
}

pub async fn lock(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(f): Form<ReasonForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&f.csrf)?;
    let id = period_id(&ctx, &id)?;
    let mut tx = s.store.write(&ctx.user.actor(None)).await?;
    tx.lock_period(id).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/reporting/periods/{id}")).into_response())
}

pub async fn reopen(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(f): Form<ReasonForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&f.csrf)?;
    let id = period_id(&ctx, &id)?;
    let mut tx = s.store.write(&ctx.user.actor(None)).await?;
    tx.reopen_period(id, Some(&f.reason)).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/reporting/periods/{id}")).into_response())
}

/// One review step of an activity, from its page.
pub async fn review(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(f): Form<ReasonForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&f.csrf)?;
    let nf =
        || AppError::NotFound(ctx.t("记录不存在，或不在您的权限范围内", "No such record within your scope").into());
    let id: i64 = id.parse().ok().filter(|i| *i > 0).ok_or_else(nf)?;
    let action = Action::parse(&f.action).ok_or_else(|| {
        AppError::from(StoreError::Invalid(
            domain::Invalid::new(
                "action",
                "审核操作",
                "上报、开始审核、退回修改、审核通过或汇总",
                format!("“{}”不是审核操作", f.action),
            )
            .into(),
        ))
    })?;
    let actor = ctx.user.actor(None);
    let t = domain::catalog::by_table("activities").ok_or_else(nf)?;
    if s.store.record(&actor, t, id).await?.is_none() {
        s.store.log_denied(&actor, "activities", id).await?;
        return Err(nf());
    }
    let mut tx = s.store.write(&actor).await?;
    tx.review(id, action, Some(&f.reason)).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/records/activities/{id}")).into_response())
}

/// The review panel of an activity's page: its state, the reason it was returned, and the
/// steps the reader may take.
pub async fn panel(s: &AppState, ctx: &Ctx, id: i64) -> Result<Markup, AppError> {
    let actor = ctx.user.actor(None);
    let (at, who, first, top) = s.store.review_standing(&actor, id).await?;
    let reason = s.store.review_reason(id).await?;
    let can: Vec<Action> = ACTIONS
        .iter()
        .map(|(a, _, _)| *a)
        .filter(|a| domain::reporting::step(at, *a, &who, first, top).is_ok())
        .collect();
    Ok(html! {
        section.review-panel {
            p.review-state {
                (ctx.t("审核状态：", "Review state: ")) span id="review-state" class={ "state " (at.state.code()) } { (at.state.zh()) }
                @if at.level > 0 { " · " (ctx.t("第 ", "level ")) (at.level) (ctx.t(" 级", "")) }
            }
            @if let Some(r) = &reason { p.returned role="alert" { (ctx.t("退回原因：", "Returned because: ")) span id="return-reason" { (r) } } }
            @for a in &can {
                @if *a == Action::Return {
                    form.inline.return method="post" action={ "/review/" (id) } {
                        input type="hidden" name="csrf" value=(ctx.user.csrf);
                        input type="hidden" name="action" value="return";
                        input name="reason" placeholder=(ctx.t("退回原因（必填）", "Reason (required)")) required maxlength="500";
                        button.danger type="submit" { (a.zh()) }
                    }
                } @else {
                    form.inline method="post" action={ "/review/" (id) } {
                        input type="hidden" name="csrf" value=(ctx.user.csrf);
                        input type="hidden" name="action" value=(a.code());
                        button type="submit" id={ "review-" (a.code()) } { (a.zh()) }
                    }
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::chain_lines;

    #[test]
    fn chain_lines_take_either_colon_and_any_separator() {
        let got = chain_lines("县级审核：AKT-GOV、KZ-GOV\n\n前方指挥部: JX-CMD\n省级：JX-GOV, JX-EDU").unwrap();
        assert_eq!(got.len(), 3);
        assert_eq!(got[0], ("县级审核".to_string(), vec!["AKT-GOV".to_string(), "KZ-GOV".to_string()]));
        assert_eq!(got[2].1, ["JX-GOV", "JX-EDU"]);
        for bad in ["", "县级审核", "县级审核：", "：AKT-GOV"] {
            let e = chain_lines(bad).unwrap_err();
            assert_eq!(e.field, "levels", "{bad}");
        }
        assert!(chain_lines("a：X\nb").unwrap_err().message.contains("第 2 行"));
    }
}
