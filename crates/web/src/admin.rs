//! Administration, split as a Chinese government system splits it: the system administrator
//! (系统管理员) creates users and lifts lockouts; the security administrator (安全管理员)
//! assigns roles and sets the login policy. Neither sees business records; the audit
//! administrator reads what both did.

use crate::auth::Ctx;
use crate::layout;
use crate::{AppError, AppState};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use domain::ids::UserId;
use domain::users::{Role, ROLES};
use maud::{html, Markup};
use serde::Deserialize;
use store::sessions::Policy;
use store::StoreError;

fn admin(ctx: &Ctx) -> Result<(), AppError> {
    match ctx.user.role {
        Role::SysAdmin | Role::SecAdmin => Ok(()),
        _ => {
            Err(AppError::Forbidden(ctx.t("只有系统管理员和安全管理员可以进入系统管理", "Administrators only").into()))
        }
    }
}

async fn render(s: &AppState, ctx: &Ctx, message: Option<(bool, String)>) -> Result<Markup, AppError> {
    let users = s.store.users(&ctx.user.actor(None)).await?;
    let policy = s.store.policy().await?;
    let sys = ctx.user.role == Role::SysAdmin;
    let sec = ctx.user.role == Role::SecAdmin;
    let body = html! {
        h1 { (ctx.t("系统管理", "Administration")) }
        @if let Some((ok, m)) = &message { p class=(if *ok { "notice" } else { "error" }) role="alert" { (m) } }
        h2 { (ctx.t("用户", "Users")) }
        table.data {
            thead { tr {
                th.num { "#" } th { (ctx.t("用户名", "Name")) } th { (ctx.t("角色", "Role")) } th { (ctx.t("所属单位", "Organization")) }
                th { (ctx.t("状态", "State")) } th { (ctx.t("创建时间（北京时间）", "Created (Beijing)")) } th { (ctx.t("操作", "Actions")) }
            } }
            tbody {
                @for u in &users {
                    @let role = Role::parse(&u.role).ok();
                    tr {
                        td.num { (u.id) }
                        td { (u.name) }
                        td { (role.map(|r| layout::role_label(ctx.lang, r)).unwrap_or(&u.role)) }
                        td { (u.org.as_deref().unwrap_or("—")) }
                        td {
                            @if let Some(l) = &u.locked_until { (ctx.t("锁定至 ", "locked until ")) (layout::beijing(l)) }
                            @else if u.must_change_password { (ctx.t("待修改初始密码", "must change password")) }
                            @else { (ctx.t("正常", "active")) }
                            @if u.totp_enabled { " · " (ctx.t("已启用两步验证", "two-factor on")) }
                        }
                        td { (layout::beijing(&u.created_at)) }
                        td {
                            @if sys {
                                form.inline.email method="post" action={ "/admin/users/" (u.id) "/email" } {
                                    input type="hidden" name="csrf" value=(ctx.user.csrf);
                                    input type="email" name="email" value=(u.email.clone().unwrap_or_default()) placeholder=(ctx.t("通知邮箱", "E-mail")) aria-label=(ctx.t("通知邮箱", "E-mail"));
                                    " " button.link type="submit" { (ctx.t("保存邮箱", "Save e-mail")) }
                                }
                            }
                            @if sys && u.locked_until.is_some() {
                                form.inline method="post" action={ "/admin/users/" (u.id) "/unlock" } {
                                    input type="hidden" name="csrf" value=(ctx.user.csrf);
                                    button.link type="submit" { (ctx.t("解除锁定", "Unlock")) }
                                }
                            }
                            @if sec && Some(UserId::issued(u.id)) != Some(ctx.user.user_id) {
                                form.inline method="post" action={ "/admin/users/" (u.id) "/role" } {
                                    input type="hidden" name="csrf" value=(ctx.user.csrf);
                                    select name="role" aria-label=(ctx.t("角色", "Role")) {
                                        @for (r, code, _) in ROLES { option value=(code) selected[Some(*r) == role] { (layout::role_label(ctx.lang, *r)) } }
                                    }
                                    " " button.link type="submit" { (ctx.t("设为此角色", "Set role")) }
                                }
                                @if u.totp_enabled {
                                    form.inline method="post" action={ "/admin/users/" (u.id) "/totp-reset" } {
                                        input type="hidden" name="csrf" value=(ctx.user.csrf);
                                        button.link type="submit" { (ctx.t("重置两步验证", "Reset two-factor")) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if sys {
            h2 { (ctx.t("新建用户", "New user")) }
            form.stack method="post" action="/admin/users" {
                input type="hidden" name="csrf" value=(ctx.user.csrf);
                (layout::field(ctx.t("用户名", "Name"), html! { input name="name" required; }, None))
                (layout::field(ctx.t("角色", "Role"), html! {
                    select name="role" { @for (r, code, _) in ROLES { option value=(code) { (layout::role_label(ctx.lang, *r)) } } }
                }, None))
                (layout::field(ctx.t("所属单位编码（项目管理、填报员必填）", "Organization code (managers, reporters)"), html! { input name="org"; }, None))
                (layout::field(ctx.t("初始密码（首次登录须修改）", "Initial password (changed at first login)"), html! { input type="password" name="password" autocomplete="new-password" required; }, None))
                button type="submit" { (ctx.t("创建", "Create")) }
            }
        }
        @if sec {
            h2 { (ctx.t("登录策略", "Sign-in policy")) }
            form.stack method="post" action="/admin/policy" {
                input type="hidden" name="csrf" value=(ctx.user.csrf);
                (layout::field(ctx.t("连续失败多少次后锁定", "Failed attempts before lockout"), html! { input type="number" min="1" max="100" name="lockout_attempts" value=(policy.lockout_attempts); }, None))
                (layout::field(ctx.t("锁定时长（分钟）", "Lockout (minutes)"), html! { input type="number" min="1" max="1440" name="lockout_minutes" value=(policy.lockout_minutes); }, None))
                (layout::field(ctx.t("空闲超时（分钟）", "Idle timeout (minutes)"), html! { input type="number" min="1" max="1440" name="idle_minutes" value=(policy.idle_minutes); }, None))
                button type="submit" { (ctx.t("保存", "Save")) }
            }
        }
    };
    Ok(layout::page(ctx, ctx.t("系统管理", "Administration"), body))
}

pub async fn page(State(s): State<AppState>, ctx: Ctx) -> Result<Markup, AppError> {
    admin(&ctx)?;
    render(&s, &ctx, None).await
}

/// Show the outcome of an administrative change on the page: refusals with their reason.
async fn outcome(s: &AppState, ctx: &Ctx, r: Result<(), StoreError>) -> Result<Response, AppError> {
    match r {
        Ok(()) => Ok(Redirect::to("/admin").into_response()),
        Err(StoreError::Invalid(inv)) => {
            let m = inv.0.iter().map(|i| i.to_string()).collect::<Vec<_>>().join("；");
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(s, ctx, Some((false, m))).await?).into_response())
        }
        Err(StoreError::Forbidden(m)) | Err(StoreError::Conflict(m)) => {
            Ok((StatusCode::FORBIDDEN, render(s, ctx, Some((false, m))).await?).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct NewUser {
    csrf: String,
    name: String,
    role: String,
    org: String,
    password: String,
}

pub async fn create_user(State(s): State<AppState>, ctx: Ctx, Form(f): Form<NewUser>) -> Result<Response, AppError> {
    admin(&ctx)?;
    ctx.check_csrf(&f.csrf)?;
    let r = match Role::parse(&f.role) {
        Ok(role) => {
            let org = Some(f.org.trim()).filter(|o| !o.is_empty());
            s.store.create_user(&ctx.user.actor(None), f.name.trim(), role, org, &f.password).await.map(|_| ())
        }
        Err(e) => Err(e.into()),
    };
    outcome(&s, &ctx, r).await
}

pub async fn unlock(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(f): Form<crate::auth::CsrfForm>,
) -> Result<Response, AppError> {
    admin(&ctx)?;
    ctx.check_csrf(&f.csrf)?;
    let r = s.store.unlock_user(&ctx.user.actor(None), UserId::issued(id)).await;
    outcome(&s, &ctx, r).await
}

#[derive(Deserialize)]
pub struct EmailForm {
    csrf: String,
    #[serde(default)]
    email: String,
}

pub async fn set_email(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(f): Form<EmailForm>,
) -> Result<Response, AppError> {
    admin(&ctx)?;
    ctx.check_csrf(&f.csrf)?;
    let r = s.store.set_user_email(&ctx.user.actor(None), id, &f.email).await;
    outcome(&s, &ctx, r).await
}

#[derive(Deserialize)]
pub struct RoleForm {
    csrf: String,
    role: String,
}

pub async fn set_role(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(f): Form<RoleForm>,
) -> Result<Response, AppError> {
    admin(&ctx)?;
    ctx.check_csrf(&f.csrf)?;
    let r = match Role::parse(&f.role) {
        Ok(role) => s.store.set_role(&ctx.user.actor(None), UserId::issued(id), role).await,
        Err(e) => Err(e.into()),
    };
    outcome(&s, &ctx, r).await
}

#[derive(Deserialize)]
pub struct PolicyForm {
    csrf: String,
    lockout_attempts: i64,
    lockout_minutes: i64,
    idle_minutes: i64,
}

pub async fn set_policy(State(s): State<AppState>, ctx: Ctx, Form(f): Form<PolicyForm>) -> Result<Response, AppError> {
    admin(&ctx)?;
    ctx.check_csrf(&f.csrf)?;
    let p = Policy {
        lockout_attempts: f.lockout_attempts,
        lockout_minutes: f.lockout_minutes,
        idle_minutes: f.idle_minutes,
    };
    let r = s.store.set_policy(&ctx.user.actor(None), p).await;
    outcome(&s, &ctx, r).await
}

/// Reset another user's second factor (安全管理员): they enrol again at their next sign-in.
pub async fn totp_reset(
    State(s): State<AppState>,
    ctx: Ctx,
    crate::auth::Source(src): crate::auth::Source,
    Path(id): Path<i64>,
    Form(f): Form<crate::auth::CsrfForm>,
) -> Result<Response, AppError> {
    admin(&ctx)?;
    ctx.check_csrf(&f.csrf)?;
    let r = s.store.totp_reset(&ctx.user.actor(src), UserId::issued(id)).await;
    outcome(&s, &ctx, r).await
}
