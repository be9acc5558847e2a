//! Exporting a list as its reader sees it: every record that matches the list's current filters,
//! search and sort, as CSV or XLSX (`/records/{slug}/export.csv`, `.xlsx`, linked from the list
//! with its query). The body is streamed: CSV chunk by chunk as the store reads it, XLSX from the
//! temporary file it was written to in constant memory. Personal identifiers are masked; a role
//! that may see them can ask for them in clear with a form (POST, with the anti-forgery token),
//! and the store audits that export.

use crate::auth::{CsrfForm, Ctx, Source};
use crate::records::{encode, list_query, pairs, query_string};
use crate::{AppError, AppState};
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use domain::catalog::{by_slug, FieldKind, RecordType};
use domain::people::Reveal;
use futures_util::stream::try_unfold;
use maud::{html, Markup};
use services::exchange::export::{Export, Format};
use services::ServiceError;
use tokio::io::AsyncReadExt;

/// The export links of a list, carrying its query (less the page).
pub(crate) fn links(ctx: &Ctx, t: &RecordType, params: &[(String, String)]) -> Markup {
    let kept: Vec<(String, String)> = params.iter().filter(|(k, _)| k != "page").cloned().collect();
    let qs = query_string(&kept);
    let qs = if qs.is_empty() { String::new() } else { format!("?{qs}") };
    let personal = t.fields.iter().any(|f| matches!(f.kind, FieldKind::Secret)) && ctx.user.role.may_see_personal();
    html! {
        span.exports {
            a.export href={ "/records/" (t.slug) "/export.xlsx" (qs) } { (ctx.t("导出 Excel", "Export to Excel")) }
            a.export href={ "/records/" (t.slug) "/export.csv" (qs) } { (ctx.t("导出 CSV", "Export to CSV")) }
            @if personal {
                form.inline method="post" action={ "/records/" (t.slug) "/export.xlsx" (qs) } {
                    input type="hidden" name="csrf" value=(ctx.user.csrf);
                    button.link type="submit" { (ctx.t("导出 Excel（含完整身份证号和手机号，记入审计日志）", "Export to Excel with full ID numbers and phones (audited)")) }
                }
            }
        }
    }
}

pub async fn csv(
    State(s): State<AppState>,
    ctx: Ctx,
    Source(source): Source,
    Path(slug): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, AppError> {
    export(&s, &ctx, source, &slug, raw.as_deref(), Format::Csv, Reveal::Masked).await
}

pub async fn xlsx(
    State(s): State<AppState>,
    ctx: Ctx,
    Source(source): Source,
    Path(slug): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, AppError> {
    export(&s, &ctx, source, &slug, raw.as_deref(), Format::Xlsx, Reveal::Masked).await
}

/// The same export with personal identifiers in clear (refused by the store for a role that may
/// not see them; audited when allowed).
pub async fn csv_clear(
    State(s): State<AppState>,
    ctx: Ctx,
    Source(source): Source,
    Path(slug): Path<String>,
    RawQuery(raw): RawQuery,
    axum::Form(f): axum::Form<CsrfForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&f.csrf)?;
    export(&s, &ctx, source, &slug, raw.as_deref(), Format::Csv, Reveal::Clear).await
}

pub async fn xlsx_clear(
    State(s): State<AppState>,
    ctx: Ctx,
    Source(source): Source,
    Path(slug): Path<String>,
    RawQuery(raw): RawQuery,
    axum::Form(f): axum::Form<CsrfForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&f.csrf)?;
    export(&s, &ctx, source, &slug, raw.as_deref(), Format::Xlsx, Reveal::Clear).await
}

async fn export(
    s: &AppState,
    ctx: &Ctx,
    source: Option<String>,
    slug: &str,
    raw: Option<&str>,
    format: Format,
    reveal: Reveal,
) -> Result<Response, AppError> {
    crate::reads_business(ctx)?;
    let t = by_slug(slug).ok_or_else(|| AppError::NotFound(ctx.t("没有这类记录", "No such record type").into()))?;
    let q = list_query(t, &pairs(raw));
    let e = Export::open(&s.store, &ctx.user.actor(source), t, &q, reveal).await?;
    let disposition = format!(
        "attachment; filename=\"{}.{}\"; filename*=UTF-8''{}",
        t.slug,
        format.extension(),
        encode(&e.file_name(format))
    );
    let body = match format {
        Format::Csv => Body::from_stream(try_unfold(e, |mut e| async move {
            Ok::<_, ServiceError>(e.next_csv().await?.map(|bytes| (bytes, e)))
        })),
        Format::Xlsx => {
            // The temporary file goes with the stream, and is removed when the stream ends.
            let (tmp, _) = e.xlsx_temp().await?;
            let file = tokio::fs::File::open(tmp.path())
                .await
                .map_err(|e| ServiceError::Exchange(format!("读取导出文件失败：{e}")))?;
            Body::from_stream(try_unfold((file, tmp), |(mut file, tmp)| async move {
                let mut buf = vec![0u8; 64 * 1024];
                let n = file.read(&mut buf).await?;
                if n == 0 {
                    return Ok::<_, std::io::Error>(None);
                }
                buf.truncate(n);
                Ok(Some((buf, (file, tmp))))
            }))
        }
    };
    Ok(([(header::CONTENT_TYPE, format.content_type().to_string()), (header::CONTENT_DISPOSITION, disposition)], body)
        .into_response())
}
