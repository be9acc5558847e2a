//! Spreadsheets in: the template of a record type, and the upload that imports a whole file
//! (`services::exchange::import`): all rows or none. On errors the page says
//! "导入失败：共 N 条数据有误", lists them by Excel row, and offers the error report (the original
//! rows, a 错误原因 column, the bad cells in red) for download by the same user.

use crate::auth::{Ctx, Source};
use crate::forms::{editable, Change};
use crate::{layout, AppError, AppState};
use axum::extract::{Multipart, Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use domain::catalog::RecordType;
use maud::{html, Markup};
use services::exchange::{import, sheet, template};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The largest upload unless `serve --max-upload-mb` says otherwise ([`crate::Config`]); a larger
/// one is refused before it is read.
pub const DEFAULT_MAX_UPLOAD: usize = 64 * 1024 * 1024;

/// A limit in bytes as MB, the way it was given (`--max-upload-mb`).
fn mb(bytes: u64) -> String {
    let m = bytes as f64 / (1024.0 * 1024.0);
    if m.fract() == 0.0 {
        format!("{m:.0}")
    } else {
        format!("{m:.1}")
    }
}

/// The refusal of a body over the limit: the limit in MB, and the declared size when known.
pub(crate) fn too_large(limit: usize, declared: Option<u64>) -> String {
    match declared {
        Some(n) => format!("上传内容过大：本次 {} MB，超过上限 {} MB，未读取、未导入任何数据", mb(n), mb(limit as u64)),
        None => format!("上传内容过大：超过上限 {} MB，未导入任何数据", mb(limit as u64)),
    }
}

/// Error reports waiting to be downloaded: (token, user, made, bytes). For an hour, the newest
/// one per user, within a total size.
type Kept = (String, i64, Instant, Vec<u8>);
static REPORTS: Mutex<Vec<Kept>> = Mutex::new(Vec::new());
const KEEP_BYTES: usize = 256 * 1024 * 1024;
const KEEP_FOR: Duration = Duration::from_secs(3600);

fn keep_report(user: i64, bytes: Vec<u8>) -> String {
    use rand::RngCore;
    let mut b = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut b);
    let token: String = b.iter().map(|x| format!("{x:02x}")).collect();
    if let Ok(mut r) = REPORTS.lock() {
        r.retain(|(_, u, at, _)| at.elapsed() < KEEP_FOR && *u != user);
        while !r.is_empty() && r.iter().map(|k| k.3.len()).sum::<usize>() + bytes.len() > KEEP_BYTES {
            r.remove(0);
        }
        r.push((token.clone(), user, Instant::now(), bytes));
    }
    token
}

fn xlsx(name: &str, bytes: Vec<u8>) -> Response {
    let encoded = crate::records::encode(name);
    (
        [
            (header::CONTENT_TYPE, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"import.xlsx\"; filename*=UTF-8''{encoded}")),
        ],
        bytes,
    )
        .into_response()
}

/// The import template of a type.
pub async fn template_xlsx(
    State(s): State<AppState>,
    ctx: Ctx,
    Source(source): Source,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    let t = editable(&slug, &ctx, Change::Create)?;
    let bytes = template::template(&s.store, &ctx.user.actor(source), t).await?;
    Ok(xlsx(&format!("{}导入模板.xlsx", t.zh), bytes))
}

fn form(ctx: &Ctx, t: &RecordType) -> Markup {
    html! {
        form.import method="post" enctype="multipart/form-data" action={ "/records/" (t.slug) "/import" } {
            input type="hidden" name="csrf" value=(ctx.user.csrf);
            label { span { (ctx.t("文件（XLSX 或 CSV）", "File (XLSX or CSV)")) } input type="file" name="file" accept=".xlsx,.csv,.txt" required; }
            label.check { input type="checkbox" name="update" value="1"; " " (ctx.t("更新已有记录（编码或 ID 已存在的行更新该记录，空白单元格保留原值）", "Update existing records (rows whose code or ID exists; blank cells keep stored values)")) }
            label.check { input type="checkbox" name="dry_run" value="1"; " " (ctx.t("只检查，不写入", "Check only, write nothing")) }
            button type="submit" { (ctx.t("导入", "Import")) }
        }
    }
}

fn page(ctx: &Ctx, t: &RecordType, result: Markup) -> Markup {
    let title = format!("{}{}", ctx.t("导入：", "Import: "), ctx.t(t.zh, t.en));
    let body = html! {
        div.titlebar { h1 { (title) } }
        (result)
        p {
            a href={ "/records/" (t.slug) "/template.xlsx" } { (ctx.t("下载导入模板（XLSX）", "Download the template (XLSX)")) }
            " · "
            a href={ "/records/" (t.slug) } { (ctx.t("返回列表", "Back to the list")) }
        }
        p.hint { (ctx.t(
            "整个文件先全部检查：只要有一行有误，就一行也不写入，并给出错误报告。CSV 可为 UTF-8 或 Excel 另存的 GBK 编码。",
            "The whole file is checked first: if any row is wrong, nothing is written and an error report is given. CSV may be UTF-8 or GBK.")) }
        (form(ctx, t))
    };
    layout::page(ctx, &title, body)
}

pub async fn import_form(ctx: Ctx, Path(slug): Path<String>) -> Result<Markup, AppError> {
    let t = editable(&slug, &ctx, Change::Create)?;
    Ok(page(&ctx, t, html! {}))
}

/// At most this many errors are listed on the page (all are in the report).
const SHOWN: usize = 200;

pub async fn upload(
    State(s): State<AppState>,
    ctx: Ctx,
    Source(source): Source,
    Path(slug): Path<String>,
    mut parts: Multipart,
) -> Result<Response, AppError> {
    let t = editable(&slug, &ctx, Change::Create)?;
    let (mut csrf, mut file, mut update, mut dry_run) = (String::new(), None, false, false);
    loop {
        let field = match parts.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => return Ok(upload_failed(&s, &ctx, t, e)),
        };
        let name = field.name().unwrap_or_default().to_string();
        let bytes = match field.bytes().await {
            Ok(b) => b,
            Err(e) => return Ok(upload_failed(&s, &ctx, t, e)),
        };
        match name.as_str() {
            "csrf" => csrf = String::from_utf8_lossy(&bytes).into_owned(),
            "file" => file = Some(bytes),
            "update" => update = true,
            "dry_run" => dry_run = true,
            _ => {}
        }
    }
    ctx.check_csrf(&csrf)?;
    let Some(bytes) = file.filter(|b| !b.is_empty()) else {
        return Ok(refused(
            &ctx,
            t,
            StatusCode::UNPROCESSABLE_ENTITY,
            ctx.t("请选择要导入的文件", "Choose a file to import"),
        ));
    };
    // Reading a large workbook is CPU work: off the request threads.
    let zh = t.zh;
    let sheet = match tokio::task::spawn_blocking(move || sheet::read(&bytes, zh)).await {
        Ok(Ok(sh)) => sh,
        Ok(Err(e)) => return Ok(refused(&ctx, t, StatusCode::UNPROCESSABLE_ENTITY, &e.to_string())),
        Err(_) => return Err(AppError::Service(services::ServiceError::Output("文件读取中断".into()))),
    };
    let actor = ctx.user.actor(source);
    let outcome = import::import(&s.store, &actor, t, &sheet, import::Options { update, dry_run }).await?;
    if outcome.errors.is_empty() {
        let body = html! {
            p.notice role="status" { (outcome.summary()) }
            @if !outcome.ignored_columns.is_empty() {
                p.hint { (ctx.t("已忽略的列：", "Ignored columns: ")) (outcome.ignored_columns.join("、")) }
            }
        };
        return Ok(page(&ctx, t, body).into_response());
    }
    let shown: Vec<_> = outcome.errors.iter().take(SHOWN).cloned().collect();
    let (summary, count) = (outcome.summary(), outcome.errors.len());
    let report = tokio::task::spawn_blocking(move || import::error_report(t, &sheet, &outcome))
        .await
        .map_err(|_| AppError::Service(services::ServiceError::Output("错误报告生成中断".into())))??;
    let token = keep_report(ctx.user.user_id.get(), report);
    let body = html! {
        div.error role="alert" {
            strong { (summary) }
            (ctx.t("，未写入任何数据。", "; nothing was written."))
            " " a href={ "/imports/" (token) "/errors.xlsx" } { (ctx.t("下载错误报告（XLSX）", "Download the error report (XLSX)")) }
        }
        table.errors {
            thead { tr { th { (ctx.t("行号", "Row")) } th { (ctx.t("列", "Column")) } th { (ctx.t("错误原因", "Reason")) } th { (ctx.t("规则", "Rule")) } } }
            tbody {
                @for e in &shown {
                    tr { td { (e.row) } td { (e.header) } td { (e.message) } td { (e.rule) } }
                }
            }
        }
        @if count > SHOWN {
            p.hint { (format!("另有 {} 条错误见错误报告。", count - SHOWN)) }
        }
    };
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page(&ctx, t, body)).into_response())
}

/// A multipart body that could not be read: over the limit (413, a chunked upload cut off there),
/// or broken off or malformed (400).
fn upload_failed(s: &AppState, ctx: &Ctx, t: &RecordType, e: axum::extract::multipart::MultipartError) -> Response {
    let limit = s.config.max_upload;
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        let msg = match ctx.lang {
            crate::i18n::Lang::Zh => too_large(limit, None),
            crate::i18n::Lang::En => {
                format!("The upload is larger than the limit of {} MB; nothing was imported", mb(limit as u64))
            }
        };
        return refused(ctx, t, StatusCode::PAYLOAD_TOO_LARGE, &msg);
    }
    let msg = format!(
        "{}（{}）",
        ctx.t("上传中断或格式有误，未导入任何数据", "The upload broke off or is malformed; nothing was imported"),
        e.body_text()
    );
    refused(ctx, t, StatusCode::BAD_REQUEST, &msg)
}

fn refused(ctx: &Ctx, t: &RecordType, status: StatusCode, message: &str) -> Response {
    (status, page(ctx, t, html! { p.error role="alert" { (message) } })).into_response()
}

/// An error report, for the user whose import it was.
pub async fn report(ctx: Ctx, Path(token): Path<String>) -> Result<Response, AppError> {
    let found = REPORTS.lock().ok().and_then(|r| {
        r.iter()
            .find(|(t, u, at, _)| *t == token && *u == ctx.user.user_id.get() && at.elapsed() < KEEP_FOR)
            .map(|(_, _, _, b)| b.clone())
    });
    match found {
        Some(bytes) => Ok(xlsx("导入错误报告.xlsx", bytes)),
        None => Err(AppError::NotFound(
            ctx.t("错误报告已过期，请重新导入", "The error report has expired; import again").into(),
        )),
    }
}
