//! Browsing records: the index of record types, a list per type (filters that fit the type,
//! text search, sort, pages), and a record's detail page with the records that hang under it and
//! its history (who changed what, when). Everything comes from `domain::catalog` and the store's
//! scoped queries: a reporter sees its own organization and those below it; a record outside
//! that scope is "not found", and the attempt is logged.

use crate::auth::Ctx;
use crate::i18n::Lang;
use crate::layout;
use crate::{AppError, AppState};
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use domain::catalog::{by_slug, by_table, code_label, Field, FieldKind, RecordType, RECORD_TYPES};
use domain::Fen;
use maud::{html, Markup};
use serde_json::{Map, Value};
use store::records::ListQuery;

const PER_PAGE: i64 = 30;

/// The groups of the record index and the navigation.
pub const GROUPS: &[(&str, &str, &[&str])] = &[
    ("项目与资金", "Projects and funds", &["projects", "funding", "outputs", "project-status"]),
    ("人员与结对", "People and pairings", &["people", "pairings"]),
    ("活动", "Activities", &["activities", "procedures"]),
    ("指标与成效", "Indicators and results", &["indicator-values", "indicator-targets", "indicators", "achievements"]),
    (
        "产业、就业与招商",
        "Industry, jobs and investment",
        &["employment-centres", "employment-records", "investment-events", "investment-projects", "donations"],
    ),
    ("基础信息", "Reference data", &["organizations", "batches", "pairing-types", "activity-types", "brands"]),
];

fn field_label(lang: Lang, f: &Field) -> &'static str {
    lang.t(f.zh, f.en)
}

pub(crate) fn text_of(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(b)) => b.to_string(),
        _ => String::new(),
    }
}

/// A field of a row as the reader sees it, linked where it points to another record.
fn cell(lang: Lang, f: &Field, row: &Map<String, Value>) -> Markup {
    let raw = row.get(f.name);
    if raw.is_none_or(Value::is_null) {
        return html! { span.none { "—" } };
    }
    let s = text_of(raw);
    let shown = || {
        let sh = text_of(row.get(&format!("{}__show", f.name)));
        if sh.is_empty() {
            s.clone()
        } else {
            sh
        }
    };
    match f.kind {
        FieldKind::Money => {
            let fen = raw.and_then(Value::as_i64).unwrap_or(0);
            html! { span.num { (Fen(fen).wan_display()) } }
        }
        FieldKind::Flag => html! { (if s == "1" { lang.t("是", "Yes") } else { lang.t("否", "No") }) },
        FieldKind::Code(list) => html! { (lang.code_name(&s, code_label(list, &s).unwrap_or(&s))) },
        FieldKind::Ref { table, show } => {
            let name = shown();
            let name = if show == "number" && table == "batches" { format!("第{name}批") } else { name };
            match by_table(table) {
                Some(t) => html! { a href={ "/records/" (t.slug) "/" (s) } { (name) } },
                None => html! { (name) },
            }
        }
        FieldKind::CodeRef { .. } => html! { (lang.code_name(&s, &shown())) },
        FieldKind::Region => html! { (shown()) },
        FieldKind::Int => html! { span.num { (s) } },
        _ => html! { (s) },
    }
}

fn title_of(t: &RecordType, row: &Map<String, Value>, lang: Lang) -> String {
    let id = text_of(row.get("id"));
    match t.field(t.title) {
        Some(f) => {
            let v = match f.kind {
                FieldKind::Code(list) => {
                    let s = text_of(row.get(f.name));
                    code_label(list, &s).unwrap_or(&s).to_string()
                }
                FieldKind::Ref { .. } | FieldKind::CodeRef { .. } => text_of(row.get(&format!("{}__show", f.name))),
                _ => text_of(row.get(f.name)),
            };
            format!("{} {v}（{}{id}）", lang.t(t.zh, t.en), lang.t("编号 ", "#"))
        }
        None => format!("{} {id}", lang.t(t.zh, t.en)),
    }
}

/// Parse a raw query string into pairs (percent-decoded, `+` as space).
pub(crate) fn pairs(raw: Option<&str>) -> Vec<(String, String)> {
    fn decode(s: &str) -> String {
        let b = s.as_bytes();
        let mut out = Vec::with_capacity(b.len());
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < b.len() => {
                    match u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16) {
                        Ok(v) => {
                            out.push(v);
                            i += 2;
                        }
                        Err(_) => out.push(b'%'),
                    }
                }
                c => out.push(c),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    raw.unwrap_or("")
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (decode(k), decode(v))
        })
        .collect()
}

pub(crate) fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `params` and `extra` as a query string.
fn with(params: &[(String, String)], extra: &[(&str, &str)]) -> String {
    let mut all = params.to_vec();
    all.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    query_string(&all)
}

pub(crate) fn query_string(params: &[(String, String)]) -> String {
    params
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The index of record types.
pub async fn index(ctx: Ctx) -> Result<Markup, AppError> {
    crate::reads_business(&ctx)?;
    let body = html! {
        h1 { (ctx.t("业务记录", "Records")) }
        div.groups {
            @for (zh, en, slugs) in GROUPS {
                section.group {
                    h2 { (ctx.t(zh, en)) }
                    ul {
                        @for slug in slugs.iter() {
                            @if let Some(t) = by_slug(slug) {
                                li { a href={ "/records/" (t.slug) } { (ctx.t(t.zh, t.en)) } }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(layout::page(&ctx, ctx.t("业务记录", "Records"), body))
}

/// Options for a filter select: the code list, or the organizations the reader may see.
async fn options(s: &AppState, ctx: &Ctx, f: &Field) -> Result<Option<Vec<(String, String)>>, AppError> {
    Ok(match f.kind {
        FieldKind::Code(list) => {
            Some(list.iter().map(|(c, l)| (c.to_string(), ctx.lang.code_name(c, l).to_string())).collect())
        }
        FieldKind::Flag => Some(vec![("1".into(), ctx.t("是", "Yes").into()), ("0".into(), ctx.t("否", "No").into())]),
        FieldKind::Ref { table, .. } | FieldKind::CodeRef { table }
            if matches!(
                table,
                "organizations"
                    | "batches"
                    | "pairing_types"
                    | "activity_types"
                    | "brands"
                    | "indicator_defs"
                    | "employment_centres"
                    | "investment_events"
            ) =>
        {
            Some(ref_options(s, ctx, table).await?)
        }
        _ => None,
    })
}

/// The records of a small reference table as (value, label) choices: by code for the tables
/// referenced by code (types, brands, indicators), by id otherwise.
pub(crate) async fn ref_options(s: &AppState, ctx: &Ctx, table: &str) -> Result<Vec<(String, String)>, AppError> {
    let Some(t) = by_table(table) else { return Ok(Vec::new()) };
    let q = ListQuery { sort: Some(t.title.into()), page: 1, per_page: 500, ..Default::default() };
    let rows = s.store.records(&ctx.user.actor(None), t, &q).await?.rows;
    let key =
        if matches!(table, "pairing_types" | "activity_types" | "brands" | "indicator_defs") { "code" } else { "id" };
    Ok(rows
        .iter()
        .map(|r| {
            let label = if table == "batches" {
                format!("第{}批", text_of(r.get("number")))
            } else {
                text_of(r.get(t.title))
            };
            (text_of(r.get(key)), label)
        })
        .collect())
}

/// The list a request asks for: the filters `t` offers, the search, the sort and the page. The
/// list page and its exports read the same query.
pub(crate) fn list_query(t: &RecordType, params: &[(String, String)]) -> ListQuery {
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or_default();
    ListQuery {
        filters: params
            .iter()
            .filter(|(k, v)| !v.is_empty() && t.field(k).is_some_and(|f| f.filter))
            .cloned()
            .collect(),
        q: Some(get("q")).filter(|w| !w.trim().is_empty()),
        sort: Some(get("sort")).filter(|w| !w.is_empty()),
        desc: get("desc") == "1",
        page: get("page").parse().unwrap_or(1),
        per_page: PER_PAGE,
        ..Default::default()
    }
}

/// A list of records of one type.
pub async fn list(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(slug): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, AppError> {
    crate::reads_business(&ctx)?;
    let t = by_slug(&slug).ok_or_else(|| AppError::NotFound(ctx.t("没有这类记录", "No such record type").into()))?;
    let params = pairs(raw.as_deref());
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or_default();
    let q = list_query(t, &params);
    let listed = match s.store.records(&ctx.user.actor(None), t, &q).await {
        Ok(l) => l,
        Err(store::StoreError::Invalid(inv)) => {
            let body = html! {
                h1 { (ctx.t(t.zh, t.en)) }
                @for i in &inv.0 { p.error { (i.message) "（" (ctx.t("规则：", "rule: ")) (i.rule) "）" } }
                p { a href={ "/records/" (t.slug) } { (ctx.t("清除筛选条件", "Clear the filters")) } }
            };
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, layout::page(&ctx, ctx.t(t.zh, t.en), body)).into_response());
        }
        Err(e) => return Err(e.into()),
    };
    let mut filter_inputs = Vec::new();
    for f in t.fields.iter().filter(|f| f.filter) {
        let current = get(f.name);
        let opts = options(&s, &ctx, f).await?;
        filter_inputs.push((f, current, opts));
    }
    let base: Vec<(String, String)> =
        params.iter().filter(|(k, _)| k != "page" && k != "sort" && k != "desc").cloned().collect();
    let pages = (listed.total + PER_PAGE - 1) / PER_PAGE;
    let columns: Vec<&Field> = t.fields.iter().filter(|f| f.list).collect();
    let body = html! {
        div.titlebar {
            h1 { (ctx.t(t.zh, t.en)) }
            span.count { (ctx.t("共 ", "")) strong.total { (listed.total) } (ctx.t(" 条", " records")) }
            @if can_create(&ctx, t) {
                a.button href={ "/records/" (t.slug) "/new" } { (ctx.t("新建", "New")) }
                a.button href={ "/records/" (t.slug) "/import" } { (ctx.t("导入", "Import")) }
            }
            (crate::export::links(&ctx, t, &params))
        }
        form.filters method="get" action={ "/records/" (t.slug) } {
            @if !t.search.is_empty() {
                label { span { (ctx.t("搜索", "Search")) } input type="search" name="q" value=(get("q")) placeholder=(ctx.t("名称等关键字", "Words in the name")); }
            }
            @for (f, current, opts) in &filter_inputs {
                label {
                    span { (field_label(ctx.lang, f)) }
                    @match opts {
                        Some(opts) => select name=(f.name) {
                            option value="" { (ctx.t("全部", "All")) }
                            @for (v, l) in opts { option value=(v) selected[*v == *current] { (l) } }
                        },
                        None => input name=(f.name) value=(current) size="10";
                    }
                }
            }
            button type="submit" { (ctx.t("查询", "Apply")) }
            a.reset href={ "/records/" (t.slug) } { (ctx.t("重置", "Reset")) }
        }
        table.data {
            thead { tr {
                th.num { (ctx.t("编号", "#")) }
                @for f in &columns {
                    @let desc = if get("sort") == f.name && get("desc") != "1" { "1" } else { "" };
                    th { a href={ "/records/" (t.slug) "?" (with(&base, &[("sort", f.name), ("desc", desc)])) } {
                        (field_label(ctx.lang, f))
                        @if get("sort") == f.name { (if get("desc") == "1" { " ↓" } else { " ↑" }) }
                    } }
                }
            } }
            tbody {
                @for row in &listed.rows {
                    tr {
                        td.num { a href={ "/records/" (t.slug) "/" (text_of(row.get("id"))) } { (text_of(row.get("id"))) } }
                        @for f in &columns { td { (cell(ctx.lang, f, row)) } }
                    }
                }
                @if listed.rows.is_empty() {
                    tr { td colspan=(columns.len() + 1) { (ctx.t("没有符合条件的记录", "No records match")) } }
                }
            }
        }
        @if pages > 1 {
            nav.pages {
                @for p in 1..=pages {
                    @if p == 1 || p == pages || (p - listed.page).abs() <= 3 {
                        @let keep: Vec<(String, String)> = params.iter().filter(|(k, _)| k != "page").cloned().collect();
                        a href={ "/records/" (t.slug) "?" (with(&keep, &[("page", &p.to_string())])) } class=[(p == listed.page).then_some("current")] { (p) }
                    } @else if (p - listed.page).abs() == 4 { span { "…" } }
                }
            }
        }
    };
    Ok(layout::page(&ctx, ctx.t(t.zh, t.en), body).into_response())
}

/// One record: its fields, the records that hang under it or point to it, and its history.
pub async fn detail(
    State(s): State<AppState>,
    ctx: Ctx,
    Path((slug, id)): Path<(String, String)>,
) -> Result<Markup, AppError> {
    crate::reads_business(&ctx)?;
    let not_found =
        || AppError::NotFound(ctx.t("记录不存在，或不在您的权限范围内", "No such record within your scope").into());
    let t = by_slug(&slug).ok_or_else(not_found)?;
    let id: i64 = id.parse().ok().filter(|i| *i > 0).ok_or_else(not_found)?;
    let actor = ctx.user.actor(None);
    let Some(row) = s.store.record(&actor, t, id).await? else {
        s.store.log_denied(&actor, t.table, id).await?;
        return Err(not_found());
    };
    // Record types that point to this one and can be filtered by it.
    let mut related = Vec::new();
    for rt in RECORD_TYPES {
        for f in rt.fields.iter().filter(|f| f.filter) {
            if matches!(f.kind, FieldKind::Ref { table, .. } if table == t.table) {
                let q = ListQuery {
                    filters: vec![(f.name.to_string(), id.to_string())],
                    page: 1,
                    per_page: 1,
                    ..Default::default()
                };
                let n = s.store.records(&actor, rt, &q).await?.total;
                related.push((rt, f, n));
            }
        }
    }
    let history = s.store.history(t, id).await?;
    let review = match t.table {
        "activities" => Some(crate::reporting::panel(&s, &ctx, id).await?),
        "projects" => Some(crate::followups::project_panel(&s, &ctx, id, &row).await?),
        _ => None,
    };
    let title = title_of(t, &row, ctx.lang);
    let body = html! {
        p.crumbs { a href="/records" { (ctx.t("业务记录", "Records")) } " › " a href={ "/records/" (t.slug) } { (ctx.t(t.zh, t.en)) } }
        div.titlebar {
            h1 { (title) }
            @if can_modify(&ctx, t) && text_of(row.get("builtin")) != "1" {
                a.button href={ "/records/" (t.slug) "/" (id) "/edit" } { (ctx.t("修改", "Edit")) }
                form.inline method="post" action={ "/records/" (t.slug) "/" (id) "/delete" } {
                    input type="hidden" name="csrf" value=(ctx.user.csrf);
                    button.danger type="submit" { (ctx.t("删除", "Delete")) }
                }
            }
        }
        @if let Some(p) = &review { (p) }
        dl.record {
            @for f in t.fields {
                dt { (field_label(ctx.lang, f)) }
                dd { (cell(ctx.lang, f, &row)) }
            }
        }
        @if t.table == "people" && ctx.user.role.may_see_personal() {
            form.inline.reveal method="post" action={ "/records/people/" (id) "/reveal" } {
                input type="hidden" name="csrf" value=(ctx.user.csrf);
                button.link type="submit" { (ctx.t("查看完整身份证号和手机号（此操作记入审计日志）", "Show the full ID number and phone (recorded in the audit log)")) }
            }
        }
        @if !related.is_empty() {
            h2 { (ctx.t("相关记录", "Related records")) }
            ul.related {
                @for (rt, f, n) in &related {
                    li { a href={ "/records/" (rt.slug) "?" (f.name) "=" (id) } {
                        (ctx.t(rt.zh, rt.en)) "（" (field_label(ctx.lang, f)) "）"
                    } " " span.count { (n) }
                    @if can_create(&ctx, rt) {
                        " " a.add href={ "/records/" (rt.slug) "/new?" (f.name) "=" (id) } { (ctx.t("＋添加", "+ add")) }
                    } }
                }
            }
        }
        h2 { (ctx.t("修改历史", "History")) }
        table.data.history {
            thead { tr {
                th { (ctx.t("时间（北京时间）", "Time (Beijing)")) } th { (ctx.t("操作人", "By")) }
                th { (ctx.t("操作", "Action")) } th { (ctx.t("修改内容", "Changes")) }
            } }
            tbody {
                @for e in &history {
                    tr {
                        td { (layout::beijing(&e.at)) }
                        td { (e.actor) }
                        td { (action_label(ctx.lang, &e.action)) }
                        td { (changes(t, ctx.lang, e.before.as_ref(), e.after.as_ref())) }
                    }
                }
            }
        }
    };
    Ok(layout::page(&ctx, &title, body))
}

/// May this user create records of `t` online?
fn can_create(ctx: &Ctx, t: &RecordType) -> bool {
    crate::forms::may_write(ctx, t, crate::forms::Change::Create).is_ok()
}

/// May this user edit and delete records of `t` online? (Built-in types and records outside a
/// reporter's scope are refused by the store, with the reason.)
fn can_modify(ctx: &Ctx, t: &RecordType) -> bool {
    crate::forms::may_write(ctx, t, crate::forms::Change::Modify).is_ok()
}

fn action_label(lang: Lang, a: &str) -> &str {
    match a {
        "create" => lang.t("新建", "created"),
        "update" => lang.t("修改", "changed"),
        "delete" => lang.t("删除", "deleted"),
        "view_personal" => lang.t("查看完整个人信息", "viewed personal data"),
        other => other,
    }
}

/// What changed: each field whose value differs, before → after.
fn changes(t: &RecordType, lang: Lang, before: Option<&Value>, after: Option<&Value>) -> Markup {
    let empty = Map::new();
    let b = before.and_then(Value::as_object).unwrap_or(&empty);
    let a = after.and_then(Value::as_object).unwrap_or(&empty);
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    html! {
        ul.changes {
            @for k in keys {
                @let (bv, av) = (b.get(k.as_str()), a.get(k.as_str()));
                @if bv != av && k != "id" {
                    @let label = t.field(k).map(|f| field_label(lang, f)).unwrap_or(k.as_str());
                    li {
                        span.k { (label) } "："
                        @if before.is_some() { del { (text_of(bv)) } " → " }
                        ins { (text_of(av)) }
                    }
                }
            }
        }
    }
}

/// A person's identifiers in clear, for a role that may see them; the view is audited.
pub async fn reveal(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    axum::Form(f): axum::Form<crate::auth::CsrfForm>,
) -> Result<Markup, AppError> {
    crate::reads_business(&ctx)?;
    ctx.check_csrf(&f.csrf)?;
    let not_found =
        || AppError::NotFound(ctx.t("记录不存在，或不在您的权限范围内", "No such record within your scope").into());
    let id = domain::ids::PersonId::parse(&id).map_err(|_| not_found())?;
    let t = by_slug("people").ok_or_else(not_found)?;
    let actor = ctx.user.actor(None);
    if s.store.record(&actor, t, id.get()).await?.is_none() {
        s.store.log_denied(&actor, t.table, id.get()).await?;
        return Err(not_found());
    }
    let person = s.store.person(&actor, id, domain::people::Reveal::Clear).await?.ok_or_else(not_found)?;
    let body = html! {
        p.crumbs { a href={ "/records/people/" (id) } { (ctx.t("返回人员记录", "Back to the person")) } }
        h1 { (text_of(person.get("name"))) }
        p.notice { (ctx.t("以下为完整个人信息，本次查看已记入审计日志。请勿截屏或外传。",
            "Full personal data; this view is in the audit log. Do not copy or pass it on.")) }
        dl.record {
            dt { (ctx.t("身份证号", "ID number")) } dd { (text_of(person.get("id_number"))) }
            dt { (ctx.t("手机号码", "Phone")) } dd { (text_of(person.get("phone"))) }
        }
    };
    Ok(layout::page(&ctx, ctx.t("完整个人信息", "Personal data"), body))
}
