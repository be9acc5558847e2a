//! `/tokens`: one's personal API tokens. Create one (a name, 1–365 days), see it this once,
//! list them (created, expires, last used, revoked) and revoke any. For every signed-in role;
//! each form carries the session's CSRF token. The store keeps only a hash (`store::tokens`).

use crate::auth::{CsrfForm, Ctx};
use crate::layout::{self, beijing};
use crate::{AppError, AppState};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use domain::Invalids;
use maud::{html, Markup};
use serde::Deserialize;
use store::StoreError;

async fn page(s: &AppState, ctx: &Ctx, created: Option<(&str, &str)>, errors: &Invalids) -> Result<Markup, AppError> {
    let actor = ctx.user.actor(None);
    let tokens = s.store.tokens(&actor, ctx.user.user_id).await?;
    let now = chrono::Utc::now();
    let err = |field: &str| {
        errors
            .0
            .iter()
            .find(|i| i.field == field)
            .map(|i| format!("{}（{}{}）", i.message, ctx.t("规则：", "rule: "), i.rule))
    };
    let title = ctx.t("API 令牌", "API tokens");
    let body = html! {
        h1 { (title) }
        p.hint {
            (ctx.t("个人 API 令牌供脚本调用 ", "Personal API tokens let scripts call "))
            a href="/api/v1/docs" { (ctx.t("JSON 接口", "the JSON API")) }
            (ctx.t("：请求头 Authorization: Bearer 令牌。令牌以您的身份和权限操作，所有修改照常记入审计日志。",
                ": send Authorization: Bearer TOKEN. A token acts as you, with your role; every change is audited as usual."))
        }
        @if let Some((name, token)) = created {
            div.notice role="status" {
                p { strong { (ctx.t("已创建令牌“", "Token created: “")) (name) (ctx.t("”。请立即复制保存，令牌只显示这一次：", "”. Copy it now; it is shown only this once:")) } }
                pre.token { code id="new-token" { (token) } }
            }
        }
        h2 { (ctx.t("新建令牌", "New token")) }
        form.stack method="post" action="/tokens" {
            input type="hidden" name="csrf" value=(ctx.user.csrf);
            (layout::field(ctx.t("名称（用途）", "Name (what it is for)"), html! { input name="name" maxlength="60" required; }, err("name")))
            (layout::field(ctx.t("有效期（天，1–365）", "Valid for (days, 1–365)"), html! { input type="number" name="days" min="1" max="365" value="90" required; }, err("days")))
            button type="submit" { (ctx.t("创建", "Create")) }
        }
        h2 { (ctx.t("我的令牌", "My tokens")) }
        @if tokens.is_empty() {
            p.hint { (ctx.t("尚无令牌。", "No tokens yet.")) }
        } @else {
            table.data.tokens {
                thead { tr {
                    th { (ctx.t("名称", "Name")) } th { (ctx.t("令牌开头", "Starts with")) }
                    th { (ctx.t("创建时间", "Created")) } th { (ctx.t("到期时间", "Expires")) }
                    th { (ctx.t("最近使用", "Last used")) } th { (ctx.t("状态", "State")) } th {}
                } }
                tbody {
                    @for t in &tokens {
                        tr {
                            td { (t.name) } td { code { (t.prefix) "…" } }
                            td { (beijing(&t.created_at)) } td { (beijing(&t.expires_at)) }
                            td { (t.last_used_at.as_deref().map(beijing).unwrap_or_else(|| "—".into())) }
                            td {
                                @if let Some(r) = &t.revoked_at { (ctx.t("已撤销 ", "Revoked ")) (beijing(r)) }
                                @else if !t.live_at(now) { (ctx.t("已过期", "Expired")) }
                                @else { (ctx.t("有效", "Live")) }
                            }
                            td {
                                @if t.revoked_at.is_none() {
                                    form.inline method="post" action={ "/tokens/" (t.id) "/revoke" } {
                                        input type="hidden" name="csrf" value=(ctx.user.csrf);
                                        button.danger type="submit" { (ctx.t("撤销", "Revoke")) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        p.hint { (ctx.t("时间为北京时间。", "Times are Beijing time.")) }
    };
    Ok(layout::page(ctx, title, body))
}

pub async fn index(State(s): State<AppState>, ctx: Ctx) -> Result<Markup, AppError> {
    page(&s, &ctx, None, &Invalids::default()).await
}

#[derive(Deserialize)]
pub struct NewTokenForm {
    csrf: String,
    name: String,
    days: String,
}

pub async fn create(State(s): State<AppState>, ctx: Ctx, Form(f): Form<NewTokenForm>) -> Result<Response, AppError> {
    ctx.check_csrf(&f.csrf)?;
    let days = match f.days.trim().parse::<i64>() {
        Ok(d) => d,
        Err(_) => {
            let e = domain::Invalid::new("days", "有效期", "1–365 天", format!("有效期“{}”不是整数", f.days.trim()));
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page(&s, &ctx, None, &e.into()).await?).into_response());
        }
    };
    match s.store.create_token(&ctx.user.actor(None), ctx.user.user_id, &f.name, days).await {
        Ok(t) => {
            let shown = page(&s, &ctx, Some((f.name.trim(), &t.token)), &Invalids::default()).await?;
            Ok(([(axum::http::header::CACHE_CONTROL, "no-store")], shown).into_response())
        }
        Err(StoreError::Invalid(e)) => {
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page(&s, &ctx, None, &e).await?).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn revoke(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(f): Form<CsrfForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&f.csrf)?;
    let nf = || AppError::NotFound(ctx.t("没有这个令牌", "No such token").into());
    let id: i64 = id.parse().ok().filter(|i| *i > 0).ok_or_else(nf)?;
    s.store.revoke_token(&ctx.user.actor(None), ctx.user.user_id, id).await?;
    Ok(Redirect::to("/tokens").into_response())
}
