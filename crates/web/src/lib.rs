//! The web edge: server-rendered HTML (Chinese first) and JSON, with every asset compiled into the
//! binary. This foundation serves the home page with the program's headline figures, each
//! figure's drill-down to its records, the figures as JSON, and `/healthz`. The full UI is built
//! on this router.

mod admin;
mod api;
mod audit;
mod auth;
mod dashboard;
mod error;
mod export;
mod figures;
mod followups;
mod forms;
mod html;
mod i18n;
mod imaging;
mod import;
mod layout;
mod lessons;
mod openapi;
mod records;
mod reporting;
mod reports;
mod tokens;
mod totp;

pub use error::AppError;

use auth::Ctx;
use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Json, Router};
use domain::users::Role;
use maud::Markup;
use serde_json::json;
use services::figures::Engine;
use store::Store;

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub config: Config,
}

/// How the server is run, as `counterpart serve` was told.
#[derive(Debug, Clone)]
pub struct Config {
    /// The server itself terminates TLS (`serve --tls-cert/--tls-key`): every request came over
    /// HTTPS, so cookies are `Secure` and answers carry HSTS.
    pub tls: bool,
    /// The largest request body in bytes (`serve --max-upload-mb`): a spreadsheet upload. A
    /// request that declares more in `Content-Length` is refused with 413 before it is read; a
    /// chunked one is cut off at the limit.
    pub max_upload: usize,
    /// The PACS whose viewer the imaging centre's experts open through Counterpart
    /// (`serve --orthanc-url`); without one, a request's viewer link says so.
    pub orthanc: Option<services::pacs::Orthanc>,
}

impl Default for Config {
    fn default() -> Self {
        Config { tls: false, max_upload: import::DEFAULT_MAX_UPLOAD, orthanc: None }
    }
}

/// The application with the default [`Config`] (plain HTTP, 64 MB uploads).
pub fn router(store: Store) -> Router {
    router_with(store, Config::default())
}

pub fn router_with(store: Store, config: Config) -> Router {
    let max_upload = config.max_upload;
    let state = AppState { store, config };
    Router::new()
        .route("/", get(home))
        .route("/login", get(auth::login_form).post(auth::login))
        .route("/login/totp", get(totp::code_form).post(totp::code))
        .route("/totp/enrol", get(totp::enrol_form).post(totp::enrol))
        .route("/totp/recovery", get(totp::recovery))
        .route("/logout", post(auth::logout))
        .route("/password", get(auth::password_form).post(auth::change_password))
        .route("/lang", post(auth::set_lang))
        .route("/healthz", get(healthz))
        .route("/admin", get(admin::page))
        .route("/admin/users", post(admin::create_user))
        .route("/admin/users/{id}/unlock", post(admin::unlock))
        .route("/admin/users/{id}/role", post(admin::set_role))
        .route("/admin/users/{id}/email", post(admin::set_email))
        .route("/admin/users/{id}/totp-reset", post(admin::totp_reset))
        .route("/admin/policy", post(admin::set_policy))
        .route("/audit", get(audit::page))
        .route("/audit.csv", get(audit::export))
        .route("/records", get(records::index))
        .route("/records/{slug}", get(records::list))
        .route("/records/{slug}/new", get(forms::new_form).post(forms::create))
        .route("/records/{slug}/template.xlsx", get(import::template_xlsx))
        .route(
            "/records/{slug}/import",
            get(import::import_form).post(import::upload).layer(axum::extract::DefaultBodyLimit::max(max_upload)),
        )
        .route("/imports/{token}/errors.xlsx", get(import::report))
        .route("/records/{slug}/export.csv", get(export::csv).post(export::csv_clear))
        .route("/records/{slug}/export.xlsx", get(export::xlsx).post(export::xlsx_clear))
        .route("/records/{slug}/{id}", get(records::detail))
        .route("/records/{slug}/{id}/edit", get(forms::edit_form).post(forms::update))
        .route("/records/{slug}/{id}/delete", post(forms::delete))
        .route("/records/people/{id}/reveal", post(records::reveal))
        .route("/figures", get(figures::index))
        .route("/figures/drill", get(figures::drill))
        .route("/figures/{key}", get(figures::page))
        .route("/dashboard/schedule", get(schedule))
        .route("/reports", get(reports::index))
        .route("/reports/generated/{file}", get(reports::generated))
        .route("/reports/{key}", get(reports::template_page).post(reports::generate_post))
        .route("/reports/{key}/edit", get(reports::edit_form).post(reports::edit_post))
        .route("/api/v1/figures", get(figures::json))
        .route("/api/v1/figures/{key}/records", get(figures::records_json))
        .route("/api/v1/breakdown", get(api::breakdown))
        .route("/api/v1/records/{slug}", get(api::list).post(api::create))
        .route("/api/v1/records/{slug}/{id}", get(api::get_one).put(api::replace).patch(api::patch).delete(api::remove))
        .route("/api/v1/warnings", get(api::warnings))
        .route(
            "/api/v1/imaging/requests",
            get(imaging::api_list).post(imaging::api_create).layer(axum::extract::DefaultBodyLimit::max(max_upload)),
        )
        .route("/api/v1/imaging/requests/{id}", get(imaging::api_get))
        .route("/api/v1/classrooms", post(lessons::api_classroom))
        .route("/api/v1/class-groups", post(lessons::api_class_group))
        .route("/api/v1/terms", post(lessons::api_term))
        .route("/api/v1/lessons", get(lessons::api_list).post(lessons::api_schedule))
        .route("/api/v1/lessons/{id}", get(lessons::api_get))
        .route("/api/v1/imaging/requests/{id}/{action}", post(imaging::api_act))
        .route("/api/v1/openapi.json", get(openapi::json))
        .route("/api/v1/docs", get(openapi::page))
        .route("/api/{*rest}", any(api::not_found))
        .route("/reporting", get(reporting::index))
        .route("/reporting/periods", post(reporting::open))
        .route("/reporting/chain", post(reporting::set_chain))
        .route("/reporting/schedule", post(reporting::set_schedule))
        .route("/reporting/periods/{id}", get(reporting::period))
        .route("/reporting/periods/{id}/submit", post(reporting::submit_period))
        .route("/reporting/periods/{id}/lock", post(reporting::lock))
        .route("/reporting/periods/{id}/reopen", post(reporting::reopen))
        .route("/review/{id}", post(reporting::review))
        .route("/warnings", get(followups::index))
        .route("/warnings/thresholds", post(followups::set_thresholds))
        .route("/warnings/digest", post(followups::run_digest))
        .route("/followups", get(followups::board).post(followups::create))
        .route("/followups/new", get(followups::new_form))
        .route("/followups/files/{id}", get(followups::file))
        .route("/followups/{id}", get(followups::page))
        .route(
            "/followups/{id}/answer",
            post(followups::answer).layer(axum::extract::DefaultBodyLimit::max(max_upload)),
        )
        .route("/followups/{id}/decide", post(followups::decide))
        .route("/lessons", get(lessons::page))
        .route("/lessons/{id}", get(lessons::lesson_page))
        .route("/imaging", get(imaging::worklist))
        .route("/imaging/studies", get(imaging::studies))
        .route("/imaging/duty", get(imaging::duty).post(imaging::set_duty))
        .route("/imaging/requests/new", get(imaging::new_form))
        .route("/imaging/requests", post(imaging::create).layer(axum::extract::DefaultBodyLimit::max(max_upload)))
        .route("/imaging/requests/{id}", get(imaging::page))
        .route("/imaging/requests/{id}/act", post(imaging::act))
        .route("/imaging/requests/{id}/consent", get(imaging::consent))
        .route("/imaging/requests/{id}/view", get(imaging::view))
        .route("/imaging/view/{token}/{*rest}", get(imaging::view_proxy))
        .route("/imaging/requests/{id}/report", post(imaging::report))
        .route("/imaging/requests/{id}/report/print", get(imaging::print))
        .route("/imaging/review", post(imaging::set_review))
        .route("/imaging/targets", post(imaging::set_targets))
        .route("/imaging/critical", get(imaging::critical_board))
        .route("/imaging/critical-list", post(imaging::set_critical_list))
        .route("/imaging/requests/{id}/critical", post(imaging::flag))
        .route("/imaging/requests/{id}/critical/{critical}", post(imaging::record_notice))
        .route("/notifications", get(followups::notifications))
        .route("/notifications/read", post(followups::read_all))
        .route("/notifications/{id}/open", post(followups::open_notice))
        .route("/tokens", get(tokens::index).post(tokens::create))
        .route("/tokens/{id}/revoke", post(tokens::revoke))
        .route("/assets/app.css", get(css))
        .route("/assets/icon.svg", get(icon))
        .layer(axum::middleware::from_fn_with_state(state.clone(), edge))
        .layer(axum::middleware::from_fn_with_state(state.clone(), error::with_navigation))
        .with_state(state)
}

/// HSTS for a year, on every answer given over HTTPS.
const HSTS: &str = "max-age=31536000";

/// Inside only [`error::with_navigation`] (so that a refusal keeps the navigation). Served over TLS, a request is marked `X-Forwarded-Proto: https` (what
/// the client sent in that header is replaced), which is what `auth` reads to make cookies
/// `Secure`; behind a TLS gateway the gateway sets it. Every answer to an HTTPS request carries
/// HSTS. A body declared larger than the upload limit is refused here, before any of it is read.
async fn edge(State(s): State<AppState>, mut req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    if s.config.tls {
        req.headers_mut().insert("x-forwarded-proto", header::HeaderValue::from_static("https"));
    }
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if let Some(n) = declared.filter(|n| *n > s.config.max_upload as u64) {
        let msg = import::too_large(s.config.max_upload, Some(n));
        return if req.uri().path().starts_with("/api/") {
            api::ApiError::new(axum::http::StatusCode::PAYLOAD_TOO_LARGE, msg).into_response()
        } else {
            error::refusal(axum::http::StatusCode::PAYLOAD_TOO_LARGE, &msg)
        };
    }
    let https = auth::is_tls(req.headers());
    let mut resp = next.run(req).await;
    if https {
        resp.headers_mut().insert(header::STRICT_TRANSPORT_SECURITY, header::HeaderValue::from_static(HSTS));
    }
    resp
}

const CSS: &str = include_str!("../assets/app.css");

async fn css() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "max-age=3600")], CSS).into_response()
}

const ICON: &str = include_str!("../assets/icon.svg");

async fn icon() -> Response {
    ([(header::CONTENT_TYPE, "image/svg+xml"), (header::CACHE_CONTROL, "max-age=86400")], ICON).into_response()
}

/// Business figures are for the business roles; the three administrators see none.
pub(crate) fn reads_business(ctx: &Ctx) -> Result<(), AppError> {
    match ctx.user.role {
        Role::Manager | Role::Reporter | Role::Viewer => Ok(()),
        _ => Err(AppError::Forbidden(
            ctx.t("管理员账户不能查看业务数据", "Administrator accounts do not see business data").into(),
        )),
    }
}

async fn healthz(State(s): State<AppState>) -> Result<Json<serde_json::Value>, AppError> {
    s.store.ping().await?;
    Ok(Json(json!({ "status": "ok", "database": s.store.backend().name() })))
}

async fn home(State(s): State<AppState>, ctx: Ctx, RawQuery(raw): RawQuery) -> Result<Response, AppError> {
    // The administrators have no dashboard: each starts at the one thing the role does.
    match ctx.user.role {
        Role::Auditor => return Ok(axum::response::Redirect::to("/audit").into_response()),
        Role::SysAdmin | Role::SecAdmin => return Ok(axum::response::Redirect::to("/admin").into_response()),
        _ => {}
    }
    let board = Engine::new(&s.store).all().await?;
    let charts = dashboard::analysis(&s, &ctx, &records::pairs(raw.as_deref())).await?;
    let due = reporting::due_box(&s, &ctx).await?;
    let body = maud::html! { (due) (layout::raw(&html::home(&board))) (charts) };
    Ok(layout::page(&ctx, ctx.t("驾驶舱", "Dashboard"), body).into_response())
}

async fn schedule(State(s): State<AppState>, ctx: Ctx, RawQuery(raw): RawQuery) -> Result<Markup, AppError> {
    dashboard::schedule_page(&s, &ctx, &records::pairs(raw.as_deref())).await
}
