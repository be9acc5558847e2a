//! The web edge: server-rendered HTML (Chinese first) and JSON, with every asset compiled into the
//! binary. This foundation serves the home page with the program's headline figures, each
//! figure's drill-down to its records, the figures as JSON, and `/healthz`. The full UI is built
//! on this router.

mod error;
mod html;

pub use error::AppError;

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use services::figures::{Board, Engine, Provenance};
use store::Store;

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
}

pub fn router(store: Store) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/healthz", get(healthz))
        .route("/figures/{key}", get(figure_page))
        .route("/api/v1/figures", get(figures_json))
        .route("/api/v1/figures/{key}/records", get(figure_records_json))
        .route("/assets/app.css", get(css))
        .with_state(AppState { store })
}

const CSS: &str = include_str!("../assets/app.css");

async fn css() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "max-age=3600")], CSS).into_response()
}

async fn healthz(State(s): State<AppState>) -> Result<Json<serde_json::Value>, AppError> {
    s.store.ping().await?;
    Ok(Json(json!({ "status": "ok", "database": s.store.backend().name() })))
}

async fn home(State(s): State<AppState>) -> Result<Html<String>, AppError> {
    let board = Engine::new(&s.store).all().await?;
    Ok(Html(html::home(&board)))
}

async fn figure_page(State(s): State<AppState>, Path(key): Path<String>) -> Result<Html<String>, AppError> {
    let engine = Engine::new(&s.store);
    let def = engine.definition(&key).await?;
    let value = engine.evaluate(&def).await?;
    let prov = engine.provenance(&def, 1000).await?;
    Ok(Html(html::figure(&def, &value, &prov)))
}

async fn figures_json(State(s): State<AppState>) -> Result<Json<Board>, AppError> {
    Ok(Json(Engine::new(&s.store).all().await?))
}

async fn figure_records_json(State(s): State<AppState>, Path(key): Path<String>) -> Result<Json<Provenance>, AppError> {
    let engine = Engine::new(&s.store);
    let def = engine.definition(&key).await?;
    Ok(Json(engine.provenance(&def, 10_000).await?))
}
