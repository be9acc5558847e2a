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
use domain::catalog::{by_slug, is_program_config, Field, FieldKind, RecordType};
use domain::forms::{changeable, form_fields, parse, required_fields, secret_fields, EDITABLE, HISTORY_ONLY_WHY};
use domain::regions::{Level, REGIONS};
use domain::{Invalid, Invalids};
use maud::{html, Markup};
use serde_json::{Map, Value};
use store::StoreError;

/// What a user may do with the records of a type through forms.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Change {
    /// Create a record.
    Create,
    /// Edit or delete one.
    Modify,
}

/// May this user write records of `t` through forms? (The store enforces the same rules; this
/// is for what the pages offer and for a clear refusal.)
pub(crate) fn may_write(ctx: &Ctx, t: &RecordType, change: Change) -> Result<(), String> {
    if !EDITABLE.contains(&t.table) {
        return Err(ctx.t("此类记录不能在线编辑", "This kind of record is not edited online").into());
    }
    if !ctx.user.role.writes_records() {
        return Err(ctx.t("您的角色只能查看", "Your role may only read").into());
    }
    if is_program_config(t.table) && !ctx.user.role.manages_program() {
        return Err(format!(
            "{}{}",
            ctx.t(t.zh, t.en),
            ctx.t(
                "属于项目配置，只有“项目管理”角色可以新建、修改或删除",
                " are program configuration: only the project manager role may create, edit or delete them"
            )
        ));
    }
    if change == Change::Modify && !changeable(t.table) {
        return Err(ctx
            .t(
                HISTORY_ONLY_WHY,
                "A project's status history only grows step by step; its entries are not edited or deleted",
            )
            .into());
    }
    Ok(())
}

pub(crate) fn editable(slug: &str, ctx: &Ctx, change: Change) -> Result<&'static RecordType, AppError> {
    crate::reads_business(ctx)?;
    let t = by_slug(slug).ok_or_else(|| AppError::NotFound(ctx.t("没有这类记录", "No such record type").into()))?;
    may_write(ctx, t, change).map_err(AppError::Forbidden)?;
    Ok(t)
}

/// The organization tree as the reader may use it: (id, name, depth, side).
type Orgs = Vec<(i64, String, usize, String)>;

/// One input for a field, holding `value` (`extra`: the money unit, or a personal identifier's
/// stored mask).
#[allow(clippy::too_many_arguments)]
async fn input(
    s: &AppState,
    ctx: &Ctx,
    orgs: &Orgs,
    f: &Field,
    required: bool,
    value: &str,
    extra: &str,
) -> Result<Markup, AppError> {
    let unit = extra;
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
        // Too many records for a list box: the record number, with the list to look it up in
        // (a record's page also offers "+ add" with the number filled in).
        FieldKind::Ref { table, .. } => html! {
            input type="number" min="1" name=(f.name) value=(value) placeholder=(ctx.t("记录编号", "record #")) required[required];
            @if let Some(rt) = domain::catalog::by_table(table) {
                span.hint {
                    (ctx.t("填写记录编号，可在", "The record number, from the "))
                    a href={ "/records/" (rt.slug) } target="_blank" { (ctx.t(rt.zh, rt.en)) }
                    (ctx.t("列表中查找", " list"))
                }
            }
        },
        FieldKind::Flag => html! { input type="checkbox" name=(f.name) value="1" checked[value == "1"]; },
        // A personal identifier is never put into the page: a blank input on an edit keeps the
        // stored value, whose mask is shown as the hint.
        FieldKind::Secret => {
            let mask = extra;
            html! {
                input type="text" name=(f.name) value="" autocomplete="off" spellcheck="false"
                    placeholder=(if mask.is_empty() { "" } else { mask });
                @if !mask.is_empty() {
                    span.hint {
                        (ctx.t("已登记：", "On file: ")) (mask)
                        (ctx.t("。留空则保持不变。", ". Leave blank to keep it."))
                    }
                    span.clear {
                        input type="checkbox" name={ (f.name) "__clear" } value="1" aria-label=(ctx.t("清除已登记的号码", "Remove the number on file"));
                        (ctx.t("清除已登记的号码", "Remove the number on file"))
                    }
                }
            }
        }
        FieldKind::Period => html! {
            input type="text" name=(f.name) value=(value) placeholder=(ctx.t("如 2024、2024-Q2、2024-06", "e.g. 2024, 2024-Q2, 2024-06")) required[required];
        },
        // Text, not the browser's date picker, so that a date always reads YYYY-MM-DD whatever
        // the browser's locale.
        FieldKind::Date => html! {
            input type="text" inputmode="numeric" pattern="[0-9]{4}-[0-9]{2}-[0-9]{2}" maxlength="10"
                placeholder="YYYY-MM-DD" name=(f.name) value=(value) required[required];
        },
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
    let required = required_fields(t);
    let mut fields = Vec::new();
    for f in form_fields(t) {
        let v = if matches!(f.kind, FieldKind::Secret) { String::new() } else { text_of(values.get(f.name)) };
        let extra = match f.kind {
            FieldKind::Secret => text_of(values.get(&format!("{}__mask", f.name))),
            _ => text_of(values.get(&format!("{}__unit", f.name))),
        };
        let err = errors
            .0
            .iter()
            .find(|i| i.field == f.name)
            .map(|i| format!("{}（{}{}）", i.message, ctx.t("规则：", "rule: "), i.rule));
        let req = required.iter().any(|r| r == f.name);
        let label = if req { format!("{} *", ctx.t(f.zh, f.en)) } else { ctx.t(f.zh, f.en).to_string() };
        fields.push(layout::field(&label, input(s, ctx, &orgs, f, req, &v, &extra).await?, err));
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
    let t = editable(&slug, &ctx, Change::Create)?;
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
    let r = services::records::save(&mut tx, parsed, id).await;
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
    let t = editable(&slug, &ctx, Change::Create)?;
    let values = take_csrf(&ctx, pairs)?;
    let outcome = save(&s, &ctx, t, None, values.clone()).await?;
    let title = format!("{}{}", ctx.t("新建", "New: "), ctx.t(t.zh, t.en));
    respond(&s, &ctx, t, format!("/records/{}/new", t.slug), title, values, outcome).await
}

/// A stored row as form values (money as exact 元; a personal identifier only as its mask, for
/// the hint).
fn row_values(t: &RecordType, row: &Map<String, Value>) -> Map<String, Value> {
    let mut m = Map::new();
    for f in t.fields {
        match (f.kind, row.get(f.name).and_then(Value::as_i64)) {
            (FieldKind::Money, Some(fen)) => {
                m.insert(f.name.into(), Value::from(format!("{}.{:02}", fen / 100, fen % 100)));
                m.insert(format!("{}__unit", f.name), Value::from("yuan"));
            }
            (FieldKind::Secret, _) => {
                m.insert(format!("{}__mask", f.name), Value::from(text_of(row.get(f.name))));
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
    let t = editable(&slug, &ctx, Change::Modify)?;
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
    let t = editable(&slug, &ctx, Change::Modify)?;
    let values = take_csrf(&ctx, pairs)?;
    let (id, row) = existing(&s, &ctx, t, &id).await?;
    let outcome = save(&s, &ctx, t, Some(id), values.clone()).await?;
    let title = format!("{}{} {id}", ctx.t("修改", "Edit: "), ctx.t(t.zh, t.en));
    // A refused edit shows the form again: identifiers as their stored masks, never as typed.
    let mut shown: Vec<(String, String)> =
        values.into_iter().filter(|(k, _)| !secret_fields(t).contains(&k.as_str())).collect();
    for name in secret_fields(t) {
        shown.push((format!("{name}__mask"), text_of(row.get(name))));
    }
    respond(&s, &ctx, t, format!("/records/{}/{id}/edit", t.slug), title, shown, outcome).await
}

/// Delete a record; refused, with the reason on the record's page, when others depend on it.
pub async fn delete(
    State(s): State<AppState>,
    ctx: Ctx,
    Path((slug, id)): Path<(String, String)>,
    Form(f): Form<crate::auth::CsrfForm>,
) -> Result<Response, AppError> {
    let t = editable(&slug, &ctx, Change::Modify)?;
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
