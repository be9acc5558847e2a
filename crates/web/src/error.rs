//! The one error type at the web edge. Users get a Chinese message; internal failures are logged
//! with their detail and shown only as a generic message.

use axum::http::StatusCode;
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
            _ => {
                tracing::error!(error = %e, "request failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "系统内部错误，请稍后重试或联系管理员".to_string())
            }
        };
        page(status, &msg)
    }
}

fn page(status: StatusCode, msg: &str) -> Response {
    let body = maud::html! {
        p.error { (msg) }
        p { a href="/" { "返回首页" } }
    };
    (status, crate::layout::bare(crate::i18n::Lang::Zh, "出错了", body)).into_response()
}
