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
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        AppError::Service(ServiceError::Store(e))
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let AppError::Service(e) = &self;
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
        let body = crate::html::page(
            "出错了",
            &format!("<p class=\"error\">{}</p><p><a href=\"/\">返回首页</a></p>", crate::html::esc(&msg)),
        );
        (status, axum::response::Html(body)).into_response()
    }
}
