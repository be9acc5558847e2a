//! Reports in the application: the templates and the reports generated from them (who, when, for
//! which period and scope); generating one (kept, audited) with its preview and downloads in every
//! format; a template's text edited by a program manager with a preview, each save a new version.

use crate::auth::Ctx;
use crate::layout::{self, beijing};
use crate::{reads_business, AppError, AppState};
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use domain::reports::{parse, NewTemplateVersion, TABLES};
use maud::{html, Markup, PreEscaped};
use services::reports::evaluate::Request;
use services::reports::model::Rendered;
use services::reports::{generate, parse_period, resolve_scope, write, Output};
use services::ServiceError;
use store::StoreError;

fn crumbs(ctx: &Ctx) -> Markup {
    html! { p.crumbs { a href="/reports" { (ctx.t("报告", "Reports")) } } }
}

/// The templates, and the reports generated so far.
pub async fn index(State(s): State<AppState>, ctx: Ctx) -> Result<Markup, AppError> {
    reads_business(&ctx)?;
    let templates = s.store.templates().await?;
    let generated = s.store.generated_reports(100).await?;
    let body = html! {
        h1 { (ctx.t("报告", "Reports")) }
        h2 { (ctx.t("报告模板", "Templates")) }
        table.data {
            thead { tr { th { (ctx.t("模板", "Template")) } th { (ctx.t("键", "Key")) } th.num { (ctx.t("版本", "Version")) } th {} } }
            tbody {
                @for t in &templates {
                    tr {
                        td { a href={ "/reports/" (t.key) } { (t.name) } }
                        td { code { (t.key) } }
                        td.num { (t.version) }
                        td {
                            a href={ "/reports/" (t.key) } { (ctx.t("生成", "Generate")) }
                            @if ctx.user.role.manages_program() { " · " a href={ "/reports/" (t.key) "/edit" } { (ctx.t("编辑模板", "Edit")) } }
                        }
                    }
                }
            }
        }
        h2 { (ctx.t("已生成的报告", "Generated reports")) }
        table.data {
            thead { tr {
                th.num { (ctx.t("编号", "#")) } th { (ctx.t("模板（版本）", "Template (version)")) } th { (ctx.t("统计期", "Period")) }
                th { (ctx.t("范围", "Scope")) } th { (ctx.t("生成人", "By")) } th { (ctx.t("下载", "Download")) }
            } }
            tbody {
                @for g in &generated {
                    tr {
                        td.num { a href={ "/reports/generated/" (g.id) } { (g.id) } }
                        td { (g.template_key) "（" (ctx.t("第", "v")) (g.version) (ctx.t("版", "")) "）" }
                        td { (g.period_from) " – " (g.period_to) }
                        td { (g.scope) }
                        td { (g.generated_by) }
                        td { (downloads(g.id)) }
                    }
                }
            }
        }
    };
    Ok(layout::page(&ctx, ctx.t("报告", "Reports"), body))
}

fn downloads(id: i64) -> Markup {
    html! {
        @for (f, label) in [("html", "HTML"), ("docx", "Word"), ("xlsx", "Excel")] {
            a href={ "/reports/generated/" (id) "." (f) } { (label) } " "
        }
    }
}

fn get(pairs: &[(String, String)], k: &str) -> String {
    pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.trim().to_string()).unwrap_or_default()
}

/// The form to generate a report from a template: period and scope.
pub async fn template_page(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(key): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Markup, AppError> {
    reads_business(&ctx)?;
    let t = s.store.template(&key, None).await?;
    let q = crate::records::pairs(raw.as_deref());
    let today = layout::today();
    let from = Some(get(&q, "from")).filter(|v| !v.is_empty()).unwrap_or_else(|| "2023-04-20".into());
    let to = Some(get(&q, "to")).filter(|v| !v.is_empty()).unwrap_or_else(|| today.to_string());
    let body = html! {
        (crumbs(&ctx))
        h1 { (t.name) " " small { (ctx.t("第", "v")) (t.version) (ctx.t("版", "")) } }
        form.stack method="post" action={ "/reports/" (t.key) } {
            input type="hidden" name="csrf" value=(ctx.user.csrf);
            (layout::field(ctx.t("统计期起 *", "From *"), html! { input type="text" name="from" value=(from) placeholder="YYYY-MM-DD" required; }, None))
            (layout::field(ctx.t("统计期止 *", "To *"), html! { input type="text" name="to" value=(to) placeholder="YYYY-MM-DD" required; }, None))
            (layout::field(ctx.t("范围（区划代码、工作条线如 education 或单位编码，留空为全部）", "Scope (place code, line of work such as education, or organization code; blank for all)"),
                html! { input type="text" name="scope" value=(get(&q, "scope")) placeholder="653022"; }, None))
            button type="submit" { (ctx.t("生成报告", "Generate")) }
        }
        p.hint { (ctx.t("生成的报告连同其全部数值一并保存，可随时以 HTML、Word、Excel 下载，数值相同。",
            "A generated report is kept with its numbers and can be downloaded as HTML, Word or Excel, all with the same numbers.")) }
    };
    Ok(layout::page(&ctx, &t.name, body))
}

/// Generate a report (kept and audited), then show it.
pub async fn generate_post(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(key): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    reads_business(&ctx)?;
    ctx.check_csrf(&get(&pairs, "csrf"))?;
    let (from, to) = parse_period(&format!("{}..{}", get(&pairs, "from"), get(&pairs, "to")))?;
    let scope = get(&pairs, "scope");
    let sc = resolve_scope(&s.store, Some(scope.as_str())).await?;
    let req = Request::new(key, from, to, sc, ctx.user.name.clone());
    let (id, _) = generate(&s.store, &ctx.user.actor(None), &req).await?;
    Ok(Redirect::to(&format!("/reports/generated/{id}")).into_response())
}

async fn stored(s: &AppState, id: &str) -> Result<(i64, Rendered), AppError> {
    let id: i64 = id.parse().map_err(|_| AppError::NotFound("没有这份报告".into()))?;
    let json = s.store.generated_report(id).await?;
    let r: Rendered = serde_json::from_str(&json).map_err(|e| ServiceError::Output(e.to_string()))?;
    Ok((id, r))
}

/// A generated report: its preview, with every figure linked to its records, and downloads.
/// `/reports/generated/ID.FORMAT` downloads it.
pub async fn generated(State(s): State<AppState>, ctx: Ctx, Path(file): Path<String>) -> Result<Response, AppError> {
    reads_business(&ctx)?;
    if let Some((id, ext)) = file.split_once('.') {
        let out = Output::parse(ext)?;
        let (id, r) = stored(&s, id).await?;
        let bytes = write(&r, out)?;
        let name = format!("report-{id}.{}", out.extension());
        return Ok((
            [
                (header::CONTENT_TYPE, out.content_type().to_string()),
                (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
            ],
            bytes,
        )
            .into_response());
    }
    let (id, r) = stored(&s, &file).await?;
    let body = html! {
        (crumbs(&ctx))
        p.meta {
            (ctx.t("下载：", "Download: ")) (downloads(id)) " · "
            (ctx.t("生成于 ", "Generated ")) (beijing(&r.generated_at)) (ctx.t("（北京时间），生成人 ", " (Beijing time) by ")) (r.generated_by)
        }
        div.report-preview { (PreEscaped(services::reports::html::body(&r, true))) }
    };
    Ok(layout::page(&ctx, &r.title, body).into_response())
}

/// A template's text, for a program manager to edit; the preview evaluates it unsaved.
pub async fn edit_form(State(s): State<AppState>, ctx: Ctx, Path(key): Path<String>) -> Result<Markup, AppError> {
    may_edit(&ctx)?;
    let t = s.store.template(&key, None).await?;
    editor(&s, &ctx, &t.key, &t.name, &t.body, t.version, None, None).await
}

fn may_edit(ctx: &Ctx) -> Result<(), AppError> {
    reads_business(ctx)?;
    if ctx.user.role.manages_program() {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            ctx.t("只有“项目管理”角色可以编辑报告模板", "Only program managers edit templates").into(),
        ))
    }
}

#[allow(clippy::too_many_arguments)]
async fn editor(
    s: &AppState,
    ctx: &Ctx,
    key: &str,
    name: &str,
    body: &str,
    version: i64,
    errors: Option<Vec<String>>,
    preview: Option<String>,
) -> Result<Markup, AppError> {
    let versions = s.store.template_versions(key).await?;
    let tables: Vec<String> = TABLES.iter().map(|(k, n)| format!("[table {k}] {n}")).collect();
    Ok(layout::page(
        ctx,
        name,
        html! {
            (crumbs(ctx))
            h1 { (ctx.t("编辑模板：", "Edit template: ")) (name) " " small { (ctx.t("当前第", "current v")) (version) (ctx.t("版", "")) } }
            @if let Some(errs) = &errors {
                div.errors role="alert" { p { (ctx.t("未保存：模板有误。", "Not saved: the template has errors.")) } ul { @for e in errs { li { (e) } } } }
            }
            form.stack.wide method="post" action={ "/reports/" (key) "/edit" } {
                input type="hidden" name="csrf" value=(ctx.user.csrf);
                (layout::field(ctx.t("模板名称 *", "Name *"), html! { input type="text" name="name" value=(name) required; }, None))
                label.field.full {
                    span.label { (ctx.t("模板正文", "Text")) }
                    textarea name="body" rows="24" spellcheck="false" { (body) }
                }
                p.hint {
                    (ctx.t("每行一项：“# 标题”“> 副标题”“@ 落款单位”“## 一级标题”“### 二级标题”，统计表 ", "One item a line: # title, > subtitle, @ issuer, ## heading, ### subheading, tables "))
                    (tables.join("；"))
                    (ctx.t("；其余为正文，指标写作 {{指标键|格式}}，格式可为 int、1、2、pct、wan、yi、cn、approx:N。",
                        "; anything else is body text with figures as {{key|format}} (int, 1, 2, pct, wan, yi, cn, approx:N)."))
                }
                div.actions {
                    button type="submit" name="action" value="preview" { (ctx.t("预览", "Preview")) }
                    " "
                    button type="submit" name="action" value="save" { (ctx.t("保存为新版本", "Save as a new version")) }
                }
            }
            p.meta { (ctx.t("历史版本：", "Versions: ")) @for (v, _) in &versions { (ctx.t("第", "v")) (v) (ctx.t("版", "")) " " } }
            @if let Some(p) = preview {
                h2 { (ctx.t("预览（未保存）", "Preview (not saved)")) }
                div.report-preview { (PreEscaped(p)) }
            }
        },
    ))
}

/// Preview or save a template's text; a save adds a version (audited), a bad text is refused
/// with each line's rule.
pub async fn edit_post(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(key): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    may_edit(&ctx)?;
    ctx.check_csrf(&get(&pairs, "csrf"))?;
    let current = s.store.template(&key, None).await?;
    let name = get(&pairs, "name");
    let body = pairs.iter().find(|(k, _)| k == "body").map(|(_, v)| v.replace("\r\n", "\n")).unwrap_or_default();
    let refuse = |errs: Vec<String>| async {
        let page = editor(&s, &ctx, &key, &name, &body, current.version, Some(errs), None).await?;
        Ok::<Response, AppError>((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
    };
    if let Err(e) = parse(&body) {
        return refuse(e.0.iter().map(|i| format!("{}（规则：{}）", i.message, i.rule)).collect()).await;
    }
    if get(&pairs, "action") == "preview" {
        // Evaluate the unsaved text as a temporary version inside a transaction that is rolled back.
        let preview = match preview(&s, &ctx, &key, &name, &body).await {
            Ok(r) => services::reports::html::body(&r, true),
            Err(e) => return refuse(vec![e.to_string()]).await,
        };
        let page = editor(&s, &ctx, &key, &name, &body, current.version, None, Some(preview)).await?;
        return Ok(page.into_response());
    }
    let mut tx = s.store.write(&ctx.user.actor(None)).await?;
    let saved = tx
        .insert(&NewTemplateVersion {
            key: key.clone(),
            version: current.version + 1,
            name: name.clone(),
            body: body.clone(),
        })
        .await;
    match saved {
        Ok(_) => {
            tx.commit().await?;
            Ok(Redirect::to(&format!("/reports/{key}/edit")).into_response())
        }
        Err(StoreError::Invalid(e)) => refuse(e.0.iter().map(|i| i.to_string()).collect()).await,
        Err(e) => Err(e.into()),
    }
}

/// The report an unsaved text gives for the last year, for the preview. The text is checked by
/// evaluating it; nothing is written.
async fn preview(s: &AppState, ctx: &Ctx, key: &str, name: &str, body: &str) -> Result<Rendered, AppError> {
    let to = layout::today();
    let from = domain::Date::ymd(to.year() - 1, 1, 1).unwrap_or(to);
    let whole = services::reports::ResolvedScope { label: "全部".into(), ..Default::default() };
    let req = Request::new(key.to_string(), from, to, whole, ctx.user.name.clone());
    Ok(services::reports::evaluate::evaluate_text(&s.store, &req, name, body).await?)
}
