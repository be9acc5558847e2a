//! Figure pages: every figure in one table, one figure with its definition and the records it was
//! computed from, a dashboard drill-down (a figure made on the fly, see `dashboard::Drill`), and
//! the same as JSON. Each record behind a value links to its own page.

use crate::api::{ApiCtx, ApiError};
use crate::auth::Ctx;
use crate::dashboard::{indicator_def, Drill};
use crate::layout::{self, beijing};
use crate::{reads_business, AppError, AppState};
use axum::extract::{Path, RawQuery, State};
use axum::Json;
use domain::catalog::by_table;
use domain::figures::{FigureDef, Measure, Spec};
use domain::indicators::Period;
use maud::{html, Markup};
use services::figures::{Board, Engine, FigureValue, Provenance};

/// At most this many records are listed under a value (the count above is always complete).
const SHOWN: i64 = 5000;

/// Every figure in one table: name, value, unit, line of work; each opens to its records.
pub async fn index(State(s): State<AppState>, ctx: Ctx) -> Result<Markup, AppError> {
    reads_business(&ctx)?;
    let board = Engine::new(&s.store).all().await?;
    let body = html! {
        h1 { (ctx.t("全部指标", "All figures")) }
        table.data {
            thead { tr {
                th { (ctx.t("指标", "Figure")) } th.num { (ctx.t("数值", "Value")) } th { (ctx.t("单位", "Unit")) }
                th { (ctx.t("工作条线", "Line of work")) } th { (ctx.t("指标键", "Key")) }
            } }
            tbody {
                @for f in &board.values {
                    tr {
                        td { a href={ "/figures/" (f.key) } { (f.name) } }
                        td.num { a href={ "/figures/" (f.key) } { (f.display) } }
                        td { (f.unit) } td { (f.line) } td { code { (f.key) } }
                    }
                }
                @for f in &board.failed {
                    tr.failed { td { (f.name) } td.num { "—" } td {} td { (f.line) } td { code { (f.key) } " " (f.message) } }
                }
            }
        }
    };
    Ok(layout::page(&ctx, ctx.t("全部指标", "All figures"), body))
}

/// Where a record behind a value opens: its record page, or a consultation request's own page.
fn record_href(table: &str, id: i64) -> Option<String> {
    if table == "imaging_requests" {
        return Some(format!("/imaging/requests/{id}"));
    }
    by_table(table).map(|t| format!("/records/{}/{id}", t.slug))
}

/// The records behind a value that the reader may open, and how many others there are: a
/// figure counts the whole program, but a reporter is shown only its own organization's records.
async fn visible(s: &AppState, ctx: &Ctx, prov: Provenance) -> Result<(Provenance, usize), AppError> {
    let actor = ctx.user.actor(None);
    let mut hidden = 0;
    let prov = match prov {
        Provenance::Records { mut records } => {
            let mut tables: Vec<String> = records.iter().map(|r| r.table.clone()).collect();
            tables.sort();
            tables.dedup();
            let mut seen = std::collections::HashSet::new();
            for table in tables {
                let ids: Vec<i64> = records.iter().filter(|r| r.table == table).map(|r| r.id).collect();
                // The imaging centre's requests are seen by its own rule (the requesting hospital,
                // the expert, the department's roster, the program's managers).
                let visible = if table == "imaging_requests" {
                    s.store.imaging_visible_ids(&actor, &ids).await?
                } else {
                    let Some(t) = by_table(&table) else { continue };
                    s.store.visible_ids(&actor, t, &ids).await?
                };
                for id in visible {
                    seen.insert((table.clone(), id));
                }
            }
            let before = records.len();
            records.retain(|r| seen.contains(&(r.table.clone(), r.id)));
            hidden = before - records.len();
            Provenance::Records { records }
        }
        Provenance::Indicator { mut values } => {
            if let Some(t) = by_table("indicator_values") {
                let ids: Vec<i64> = values.iter().map(|v| v.id).collect();
                let seen = s.store.visible_ids(&actor, t, &ids).await?;
                let before = values.len();
                values.retain(|v| seen.contains(&v.id));
                hidden = before - values.len();
            }
            Provenance::Indicator { values }
        }
    };
    Ok((prov, hidden))
}

/// A figure, its definition, when it was computed, and the records behind it.
fn figure_body(
    ctx: &Ctx,
    def: &FigureDef,
    v: &FigureValue,
    (prov, hidden): &(Provenance, usize),
    crumbs: Markup,
) -> Markup {
    let spec = serde_json::to_string_pretty(&def.spec).unwrap_or_default();
    // A money figure's records contribute 分, shown like the figure in 万元.
    let money = def.unit == "万元"
        && matches!(&def.spec, Spec::Records { measure: Measure::Sum(f), divisor: 1_000_000, .. } if f.ends_with("_fen"));
    let rows = match prov {
        Provenance::Records { records } => records.len(),
        Provenance::Indicator { values } => values.len(),
    };
    html! {
        (crumbs)
        h1 { (def.name) }
        p.big { (v.display) " " small { (def.unit) } }
        dl.meta {
            @if !def.description.is_empty() { dt { (ctx.t("口径", "Definition")) } dd { (def.description) } }
            @if let Some(c) = def.counted_zh() { dt { (ctx.t("计入状态", "Counts")) } dd.counted { (c) } }
            @if def.key != "drill" { dt { (ctx.t("指标键", "Key")) } dd { code { (def.key) } } }
            dt { (ctx.t("计算时间（北京时间）", "Computed at (Beijing time)")) } dd { (beijing(&v.computed_at)) }
            dt { (ctx.t("来源记录数", "Records behind it")) } dd { strong.total { (rows + hidden) } }
        }
        @if *hidden > 0 {
            p.meta { (ctx.t("其中 ", "Of these, ")) (hidden) (ctx.t(" 条属于您权限范围以外的单位，计入数值但不列出。", " belong to organizations outside your scope: counted, not listed.")) }
        }
        details { summary { (ctx.t("定义（JSON）", "Definition (JSON)")) } pre { (spec) } }
        @match prov {
            Provenance::Records { records } => {
                h2 { (ctx.t("来源记录", "Records")) }
                @if (rows + hidden) as i64 >= SHOWN { p.meta { (ctx.t("仅列出前 5000 条。", "Only the first 5000 are listed.")) } }
                table.data.provenance {
                    thead { tr { th { (ctx.t("类别", "Type")) } th.num { (ctx.t("编号", "#")) } th { (ctx.t("名称", "Name")) } th { (ctx.t("日期", "Date")) } th.num { (ctx.t("计入值", "Counts")) @if money { (ctx.t("（万元）", " (万元)")) } } } }
                    tbody {
                        @for r in records {
                            @let t = by_table(&r.table);
                            @let href = record_href(&r.table, r.id);
                            tr {
                                td { (t.map(|t| ctx.t(t.zh, t.en)).unwrap_or(if r.table == "imaging_requests" { ctx.t("会诊申请", "Consultation") } else { &r.table })) }
                                td.num { @if let Some(h) = &href { a href=(h) { (r.id) } } @else { (r.id) } }
                                td { @if let Some(h) = &href { a href=(h) { (r.label) } } @else { (r.label) } }
                                td { (r.date.as_deref().unwrap_or("")) }
                                td.num { @if money { (domain::Fen(r.value).wan_display()) } @else { (r.value) } }
                            }
                        }
                    }
                }
            }
            Provenance::Indicator { values } => {
                h2 { (ctx.t("来源指标值", "Indicator values")) }
                table.data.provenance {
                    thead { tr { th { (ctx.t("指标", "Indicator")) } th { (ctx.t("单位", "Organization")) } th { (ctx.t("统计期", "Period")) } th.num { (ctx.t("原始值", "Raw value")) } } }
                    tbody {
                        @for r in values {
                            tr {
                                td { a href={ "/records/indicator-values/" (r.id) } { (r.indicator) } }
                                td { (r.org_name) } td { (r.period) } td.num { (r.value) }
                            }
                        }
                    }
                }
            }
        }
    }
}

pub async fn page(State(s): State<AppState>, ctx: Ctx, Path(key): Path<String>) -> Result<Markup, AppError> {
    reads_business(&ctx)?;
    let engine = Engine::new(&s.store);
    let def = engine.definition(&key).await?;
    let value = engine.evaluate(&def).await?;
    let prov = visible(&s, &ctx, engine.provenance(&def, SHOWN).await?).await?;
    let crumbs = html! { p.crumbs { a href="/" { (ctx.t("驾驶舱", "Dashboard")) } " › " a href="/figures" { (ctx.t("全部指标", "All figures")) } } };
    Ok(layout::page(&ctx, &def.name, figure_body(&ctx, &def, &value, &prov, crumbs)))
}

/// A dashboard number or chart mark, opened: the same definition, evaluated by the same engine,
/// with the records behind it.
pub async fn drill(State(s): State<AppState>, ctx: Ctx, RawQuery(raw): RawQuery) -> Result<Markup, AppError> {
    reads_business(&ctx)?;
    let pairs = crate::records::pairs(raw.as_deref());
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or_default();
    let bad = |m: String| AppError::NotFound(format!("{}{m}", ctx.t("无法打开：", "Cannot open: ")));
    let def = if pairs.iter().any(|(k, _)| k == "indicator") {
        let period = Period::parse(&get("period")).map_err(|e| bad(e.message))?;
        indicator_def(&get("indicator"), &get("org"), &period, &get("title"))
    } else {
        Drill::parse(&pairs).map_err(|e| bad(e.message))?.def()
    };
    let engine = Engine::new(&s.store);
    let value = engine.evaluate(&def).await?;
    let prov = visible(&s, &ctx, engine.provenance(&def, SHOWN).await?).await?;
    let crumbs = html! { p.crumbs { a href="/" { (ctx.t("驾驶舱", "Dashboard")) } } };
    let title = if def.name.is_empty() { ctx.t("来源记录", "Records") } else { def.name.as_str() };
    Ok(layout::page(&ctx, title, figure_body(&ctx, &def, &value, &prov, crumbs)))
}

/// `/api/v1/figures`: every figure (the API's authentication and JSON errors).
pub async fn json(State(s): State<AppState>, api: ApiCtx) -> Result<Json<Board>, ApiError> {
    reads_business(&api.ctx)?;
    Ok(Json(Engine::new(&s.store).all().await?))
}

/// `/api/v1/figures/{key}/records`: the records behind a figure that the reader may open.
pub async fn records_json(
    State(s): State<AppState>,
    api: ApiCtx,
    Path(key): Path<String>,
) -> Result<Json<Provenance>, ApiError> {
    reads_business(&api.ctx)?;
    let engine = Engine::new(&s.store);
    let def = engine.definition(&key).await?;
    Ok(Json(visible(&s, &api.ctx, engine.provenance(&def, 10_000).await?).await?.0))
}
