//! Creating, editing and deleting records through forms. The inputs follow the catalogue's field
//! kinds (places from the region tree, organizations from their tree, money in 万元 or 元 as the
//! user chooses); the server parses the form (`domain::forms`), the store checks references,
//! scope and rules, and every refusal is shown next to its field, naming the rule. Nothing is
//! written unless all of it is valid.

use crate::auth::Ctx;
use crate::layout;
use crate::records::text_of;
use crate::{AppError, AppState};
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use domain::catalog::{by_slug, Field, FieldKind, RecordType};
use domain::forms::{parse, Parsed, EDITABLE};
use domain::ids::{ActivityId, FundingId, OutputId, PairingId, ProjectId};
use domain::regions::{Level, REGIONS};
use domain::{Invalid, Invalids};
use maud::{html, Markup};
use serde_json::{Map, Value};
use store::StoreError;

/// The fields a form shows: everything but derived state.
fn form_fields(t: &RecordType) -> Vec<&'static Field> {
    t.fields.iter().filter(|f| !(t.table == "projects" && matches!(f.name, "status" | "status_date"))).collect()
}

fn editable(slug: &str, ctx: &Ctx) -> Result<&'static RecordType, AppError> {
    crate::reads_business(ctx)?;
    let t = by_slug(slug).ok_or_else(|| AppError::NotFound(ctx.t("没有这类记录", "No such record type").into()))?;
    if !EDITABLE.contains(&t.table) {
        return Err(AppError::Forbidden(
            ctx.t("此类记录不能在线编辑", "This kind of record is not edited online").into(),
        ));
    }
    if !ctx.user.role.writes_records() {
        return Err(AppError::Forbidden(ctx.t("您的角色只能查看", "Your role may only read").into()));
    }
    Ok(t)
}

/// The organization tree as the reader may use it: (id, name, depth, side).
type Orgs = Vec<(i64, String, usize, String)>;

/// One input for a field, holding `value`.
async fn input(
    s: &AppState,
    ctx: &Ctx,
    orgs: &Orgs,
    t: &RecordType,
    f: &Field,
    value: &str,
    unit: &str,
) -> Result<Markup, AppError> {
    let required = !optional(t, f);
    let options = |opts: Vec<(String, String)>| {
        html! {
            select name=(f.name) required[required] {
                option value="" { (ctx.t("（请选择）", "(choose)")) }
                @for (v, l) in &opts { option value=(v) selected[v == value] { (l) } }
            }
        }
    };
    Ok(match f.kind {
        FieldKind::Code(list) => {
            options(list.iter().map(|(c, l)| (c.to_string(), ctx.lang.code_name(c, l).to_string())).collect())
        }
        FieldKind::Region => options(
            {
                let mut r: Vec<_> = REGIONS.iter().collect();
                r.sort_by_key(|r| r.code);
                r
            }
            .into_iter()
            .map(|r| {
                let depth = match r.level {
                    Level::Province => 0,
                    Level::Prefecture => 1,
                    Level::County => 2,
                    _ => 3,
                };
                (r.code.to_string(), format!("{}{}", "　".repeat(depth), r.name))
            })
            .collect(),
        ),
        FieldKind::Ref { table: "organizations", .. } => options(
            orgs.iter()
                .map(|(id, name, depth, _)| (id.to_string(), format!("{}{name}", "　".repeat(*depth))))
                .collect(),
        ),
        FieldKind::Ref { table, .. } if matches!(table, "batches" | "employment_centres" | "investment_events") => {
            options(crate::records::ref_options(s, ctx, table).await?)
        }
        FieldKind::CodeRef { table } => options(crate::records::ref_options(s, ctx, table).await?),
        FieldKind::Ref { .. } => html! {
            input type="number" min="1" name=(f.name) value=(value) placeholder=(ctx.t("记录编号", "record #")) required[required];
        },
        FieldKind::Flag => html! { input type="checkbox" name=(f.name) value="1" checked[value == "1"]; },
        FieldKind::Date => html! { input type="date" name=(f.name) value=(value) required[required]; },
        FieldKind::Int => {
            html! { input type="number" min="0" step="1" name=(f.name) value=(value) required[required]; }
        }
        FieldKind::Money => html! {
            span.money {
                input type="text" inputmode="decimal" name=(f.name) value=(value) required;
                select name={ (f.name) "__unit" } aria-label=(ctx.t("金额单位", "Unit")) {
                    option value="wan" selected[unit != "yuan"] { (ctx.t("万元", "10k CNY (万元)")) }
                    option value="yuan" selected[unit == "yuan"] { (ctx.t("元", "CNY (元)")) }
                }
            }
        },
        _ => html! { input type="text" name=(f.name) value=(value) required[required]; },
    })
}

/// Fields a record may leave empty.
fn optional(t: &RecordType, f: &Field) -> bool {
    matches!(f.kind, FieldKind::Flag)
        || matches!(
            f.name,
            "end_date"
                | "batch_id"
                | "planned_start"
                | "planned_end"
                | "brand_code"
                | "organizer_org_id"
                | "pairing_id"
                | "note"
                | "a_org_id"
                | "b_org_id"
                | "a_person_id"
                | "b_person_id"
        )
        || (t.table == "projects" && f.name == "org_id")
        || (t.table == "activities" && f.name == "project_id")
}

/// The form page, with values and the refusals next to their fields.
#[allow(clippy::too_many_arguments)]
async fn form_page(
    s: &AppState,
    ctx: &Ctx,
    t: &RecordType,
    action: &str,
    title: &str,
    values: &Map<String, Value>,
    errors: &Invalids,
    general: Option<String>,
) -> Result<Markup, AppError> {
    let orgs = s.store.org_tree(&ctx.user.actor(None)).await?;
    let mut fields = Vec::new();
    for f in form_fields(t) {
        let v = text_of(values.get(f.name));
        let unit = text_of(values.get(&format!("{}__unit", f.name)));
        let err = errors
            .0
            .iter()
            .find(|i| i.field == f.name)
            .map(|i| format!("{}（{}{}）", i.message, ctx.t("规则：", "rule: "), i.rule));
        let label = if optional(t, f) { ctx.t(f.zh, f.en).to_string() } else { format!("{} *", ctx.t(f.zh, f.en)) };
        fields.push(layout::field(&label, input(s, ctx, &orgs, t, f, &v, &unit).await?, err));
    }
    let others: Vec<&Invalid> = errors.0.iter().filter(|i| t.field(&i.field).is_none()).collect();
    Ok(layout::page(
        ctx,
        title,
        html! {
            p.crumbs { a href="/records" { (ctx.t("业务记录", "Records")) } " › " a href={ "/records/" (t.slug) } { (ctx.t(t.zh, t.en)) } }
            h1 { (title) }
            @if !errors.is_empty() {
                div.errors role="alert" {
                    p { (ctx.t("未保存：请更正以下内容。", "Not saved: please correct the following.")) }
                    ul { @for i in &errors.0 { li { (i.label) "：" (i.message) } } }
                }
            }
            @if let Some(g) = general { p.error role="alert" { (g) } }
            @for i in others { p.error { (i.to_string()) } }
            form.stack.wide method="post" action=(action) novalidate {
                input type="hidden" name="csrf" value=(ctx.user.csrf);
                @for fld in fields { (fld) }
                p.hint { (ctx.t("金额可按万元或元填写，系统以分为单位精确保存；日期格式 YYYY-MM-DD。",
                    "Amounts in 万元 or 元 are kept exactly in 分; dates are YYYY-MM-DD.")) }
                button type="submit" { (ctx.t("保存", "Save")) }
            }
        },
    ))
}

fn query_map(raw: Option<&str>) -> Map<String, Value> {
    crate::records::pairs(raw).into_iter().map(|(k, v)| (k, Value::from(v))).collect()
}

pub async fn new_form(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(slug): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Markup, AppError> {
    let t = editable(&slug, &ctx)?;
    let title = format!("{}{}", ctx.t("新建", "New: "), ctx.t(t.zh, t.en));
    form_page(
        &s,
        &ctx,
        t,
        &format!("/records/{}/new", t.slug),
        &title,
        &query_map(raw.as_deref()),
        &Invalids::default(),
        None,
    )
    .await
}

/// Split off and check the CSRF token; the rest are the record's values.
fn take_csrf(ctx: &Ctx, pairs: Vec<(String, String)>) -> Result<Vec<(String, String)>, AppError> {
    let token = pairs.iter().find(|(k, _)| k == "csrf").map(|(_, v)| v.clone()).unwrap_or_default();
    ctx.check_csrf(&token)?;
    Ok(pairs.into_iter().filter(|(k, _)| k != "csrf").collect())
}

enum Outcome {
    Saved(i64),
    Refused(Invalids, Option<String>),
}

async fn save(
    s: &AppState,
    ctx: &Ctx,
    t: &RecordType,
    id: Option<i64>,
    pairs: Vec<(String, String)>,
) -> Result<Outcome, AppError> {
    let program = s.store.default_program().await?;
    let parsed = match parse(t, program, pairs) {
        Ok(p) => p,
        Err(e) => return Ok(Outcome::Refused(e, None)),
    };
    let mut tx = s.store.write(&ctx.user.actor(None)).await?;
    let r = match (parsed, id) {
        (Parsed::Project(p), None) => tx.insert(&p).await.map(|i| i.get()),
        (Parsed::Project(p), Some(id)) => tx.update(ProjectId::issued(id), &p).await.map(|_| id),
        (Parsed::Funding(p), None) => tx.insert(&p).await.map(|i| i.get()),
        (Parsed::Funding(p), Some(id)) => tx.update(FundingId::issued(id), &p).await.map(|_| id),
        (Parsed::Output(p), None) => tx.insert(&p).await.map(|i| i.get()),
        (Parsed::Output(p), Some(id)) => tx.update(OutputId::issued(id), &p).await.map(|_| id),
        (Parsed::Activity(p), None) => tx.insert(&p).await.map(|i| i.get()),
        (Parsed::Activity(p), Some(id)) => tx.update(ActivityId::issued(id), &p).await.map(|_| id),
        (Parsed::Pairing(p), None) => tx.insert(&p).await.map(|i| i.get()),
        (Parsed::Pairing(p), Some(id)) => tx.update(PairingId::issued(id), &p).await.map(|_| id),
    };
    match r {
        Ok(id) => {
            tx.commit().await?;
            Ok(Outcome::Saved(id))
        }
        Err(StoreError::Invalid(e)) => Ok(Outcome::Refused(e, None)),
        Err(StoreError::Conflict(m)) => Ok(Outcome::Refused(Invalids::default(), Some(m))),
        Err(StoreError::Forbidden(m)) => Ok(Outcome::Refused(Invalids::default(), Some(m))),
        Err(e) => Err(e.into()),
    }
}

async fn respond(
    s: &AppState,
    ctx: &Ctx,
    t: &RecordType,
    action: String,
    title: String,
    values: Vec<(String, String)>,
    outcome: Outcome,
) -> Result<Response, AppError> {
    match outcome {
        Outcome::Saved(id) => Ok(Redirect::to(&format!("/records/{}/{id}", t.slug)).into_response()),
        Outcome::Refused(errors, general) => {
            let values: Map<String, Value> = values.into_iter().map(|(k, v)| (k, Value::from(v))).collect();
            let page = form_page(s, ctx, t, &action, &title, &values, &errors, general).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}

pub async fn create(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(slug): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let t = editable(&slug, &ctx)?;
    let values = take_csrf(&ctx, pairs)?;
    let outcome = save(&s, &ctx, t, None, values.clone()).await?;
    let title = format!("{}{}", ctx.t("新建", "New: "), ctx.t(t.zh, t.en));
    respond(&s, &ctx, t, format!("/records/{}/new", t.slug), title, values, outcome).await
}

/// A stored row as form values (money as exact 元).
fn row_values(t: &RecordType, row: &Map<String, Value>) -> Map<String, Value> {
    let mut m = Map::new();
    for f in t.fields {
        match (f.kind, row.get(f.name).and_then(Value::as_i64)) {
            (FieldKind::Money, Some(fen)) => {
                m.insert(f.name.into(), Value::from(format!("{}.{:02}", fen / 100, fen % 100)));
                m.insert(format!("{}__unit", f.name), Value::from("yuan"));
            }
            _ => {
                m.insert(f.name.into(), Value::from(text_of(row.get(f.name))));
            }
        }
    }
    m
}

async fn existing(s: &AppState, ctx: &Ctx, t: &RecordType, id: &str) -> Result<(i64, Map<String, Value>), AppError> {
    let nf =
        || AppError::NotFound(ctx.t("记录不存在，或不在您的权限范围内", "No such record within your scope").into());
    let id: i64 = id.parse().ok().filter(|i| *i > 0).ok_or_else(nf)?;
    let actor = ctx.user.actor(None);
    match s.store.record(&actor, t, id).await? {
        Some(row) => Ok((id, row)),
        None => {
            s.store.log_denied(&actor, t.table, id).await?;
            Err(nf())
        }
    }
}

pub async fn edit_form(
    State(s): State<AppState>,
    ctx: Ctx,
    Path((slug, id)): Path<(String, String)>,
) -> Result<Markup, AppError> {
    let t = editable(&slug, &ctx)?;
    let (id, row) = existing(&s, &ctx, t, &id).await?;
    let title = format!("{}{} {id}", ctx.t("修改", "Edit: "), ctx.t(t.zh, t.en));
    form_page(
        &s,
        &ctx,
        t,
        &format!("/records/{}/{id}/edit", t.slug),
        &title,
        &row_values(t, &row),
        &Invalids::default(),
        None,
    )
    .await
}

pub async fn update(
    State(s): State<AppState>,
    ctx: Ctx,
    Path((slug, id)): Path<(String, String)>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let t = editable(&slug, &ctx)?;
    let values = take_csrf(&ctx, pairs)?;
    let (id, _) = existing(&s, &ctx, t, &id).await?;
    let outcome = save(&s, &ctx, t, Some(id), values.clone()).await?;
    let title = format!("{}{} {id}", ctx.t("修改", "Edit: "), ctx.t(t.zh, t.en));
    respond(&s, &ctx, t, format!("/records/{}/{id}/edit", t.slug), title, values, outcome).await
}

/// Delete a record; refused, with the reason on the record's page, when others depend on it.
pub async fn delete(
    State(s): State<AppState>,
    ctx: Ctx,
    Path((slug, id)): Path<(String, String)>,
    Form(f): Form<crate::auth::CsrfForm>,
) -> Result<Response, AppError> {
    let t = editable(&slug, &ctx)?;
    ctx.check_csrf(&f.csrf)?;
    let (id, _) = existing(&s, &ctx, t, &id).await?;
    let mut tx = s.store.write(&ctx.user.actor(None)).await?;
    match tx.delete_record(t, id).await {
        Ok(()) => {
            tx.commit().await?;
            Ok(Redirect::to(&format!("/records/{}", t.slug)).into_response())
        }
        Err(StoreError::Conflict(m)) | Err(StoreError::Forbidden(m)) => {
            let body = html! {
                h1 { (ctx.t("不能删除", "Cannot delete")) }
                p.error role="alert" { (m) }
                p { a href={ "/records/" (t.slug) "/" (id) } { (ctx.t("返回记录", "Back to the record")) } }
            };
            Ok((StatusCode::CONFLICT, layout::page(&ctx, ctx.t("不能删除", "Cannot delete"), body)).into_response())
        }
        Err(e) => Err(e.into()),
    }
}
