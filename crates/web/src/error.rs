//! The one error type at the web edge. Users get a Chinese message; internal failures are logged
//! with their detail and shown only as a generic message.

use crate::auth::Ctx;
use crate::{layout, AppState};
use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use services::ServiceError;
use store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Service(#[from] ServiceError),
    /// A state-changing request without this session's anti-forgery token.
    #[error("请求已失效（缺少或错误的防伪令牌），请返回页面刷新后重试")]
    Csrf,
    /// Nothing there (or nothing the reader may see).
    #[error("{0}")]
    NotFound(String),
    /// The role may not do this.
    #[error("{0}")]
    Forbidden(String),
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        AppError::Service(ServiceError::Store(e))
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let e = match &self {
            AppError::Service(e) => e,
            AppError::Csrf | AppError::Forbidden(_) => {
                return page(StatusCode::FORBIDDEN, &self.to_string());
            }
            AppError::NotFound(_) => return page(StatusCode::NOT_FOUND, &self.to_string()),
        };
        let (status, msg) = match e {
            ServiceError::UnknownFigure(_) | ServiceError::Store(StoreError::NotFound { .. }) => {
                (StatusCode::NOT_FOUND, e.to_string())
            }
            ServiceError::Store(StoreError::Invalid(_)) | ServiceError::Definition { .. } => {
                (StatusCode::UNPROCESSABLE_ENTITY, e.to_string())
            }
            ServiceError::Store(StoreError::Forbidden(_)) => (StatusCode::FORBIDDEN, e.to_string()),
            ServiceError::Store(StoreError::Conflict(_)) | ServiceError::NotEmpty => {
                (StatusCode::CONFLICT, e.to_string())
            }
            ServiceError::Pacs(_) => {
                tracing::warn!(error = %e, "the PACS did not answer");
                (StatusCode::BAD_GATEWAY, "影像平台（PACS）暂时无法访问，请稍后重试或联系管理员".to_string())
            }
            _ => {
                tracing::error!(error = %e, "request failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "系统内部错误，请稍后重试或联系管理员".to_string())
            }
        };
        page(status, &msg)
    }
}

/// The message of an error page, so that [`with_navigation`] can show it inside the signed-in
/// layout.
#[derive(Debug, Clone)]
struct ErrorMessage(String);

/// An error page with this status and message (inside the navigation for a signed-in reader).
pub(crate) fn refusal(status: StatusCode, msg: &str) -> Response {
    page(status, msg)
}

fn page(status: StatusCode, msg: &str) -> Response {
    let body = maud::html! {
        p.error { (msg) }
        p { a href="/" { "返回首页" } }
    };
    let mut r = (status, crate::layout::bare(crate::i18n::Lang::Zh, "出错了", body)).into_response();
    r.extensions_mut().insert(ErrorMessage(msg.to_string()));
    r
}

/// An error page for a signed-in reader keeps the navigation (and the reader's language), so
/// that a refusal or a missing record is never a dead end. Without a session the bare page stays.
pub async fn with_navigation(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let headers = req.headers().clone();
    let uri = req.uri().clone();
    let resp = next.run(req).await;
    let Some(ErrorMessage(msg)) = resp.extensions().get::<ErrorMessage>().cloned() else { return resp };
    let mut probe = Request::new(());
    *probe.uri_mut() = uri;
    *probe.headers_mut() = headers;
    let (mut parts, ()) = probe.into_parts();
    let Ok(ctx) = Ctx::from_request_parts(&mut parts, &s).await else { return resp };
    let title = ctx.t("出错了", "Something went wrong");
    let body = maud::html! {
        h1 { (title) }
        p.error role="alert" { (msg) }
        p { a href="/" { (ctx.t("返回首页", "Home")) } }
    };
    let (mut rparts, _) = resp.into_parts();
    rparts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(rparts, Body::from(layout::page(&ctx, title, body).into_string()))
}
