//! Two-factor login pages (`store::totp`): `/login/totp` asks an enrolled user for the code after
//! the password (or a recovery code); `/totp/enrol` shows a new secret in base32 and as its
//! `otpauth://` URI (as text: the system runs offline and draws no QR code) and takes the first
//! code; `/totp/recovery` shows the ten recovery codes once after enrolment. A user whose role
//! requires the second factor (the three administrators, 项目管理) reaches nothing else before
//! it (see the [`Ctx`] extractor); the others may enrol from the same page. The security
//! administrator resets another user's second factor from `/admin`.

use crate::auth::{safe_next, set_cookie, throttled_message, Ctx, SESSION_COOKIE};
use crate::i18n::Lang;
use crate::layout;
use crate::{AppError, AppState};
use axum::extract::{Query, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use maud::{html, Markup};
use serde::Deserialize;
use store::sessions::SecondFactor;
use store::totp::Check;
use store::StoreError;

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

#[derive(Deserialize)]
pub struct CodeForm {
    csrf: String,
    code: String,
    next: Option<String>,
}

/// Where a user goes once past the second factor.
fn onward(ctx: &Ctx, next: &str) -> String {
    if ctx.user.must_change_password {
        "/password".to_string()
    } else {
        next.to_string()
    }
}

fn logout_form(ctx: &Ctx) -> Markup {
    html! {
        form.inline method="post" action="/logout" {
            input type="hidden" name="csrf" value=(ctx.user.csrf);
            button.link type="submit" { (ctx.t("退出登录", "Sign out")) }
        }
    }
}

/// A refusal that ends the sign-in: the account locked by wrong codes (the session is over).
fn locked(ctx: &Ctx, headers: &HeaderMap, until: &str) -> Response {
    let shown = layout::beijing(until);
    let msg = match ctx.lang {
        Lang::Zh => format!("密码或验证码错误次数过多，账户已锁定，请于 {shown}（北京时间）后再试"),
        Lang::En => format!("Too many wrong passwords or codes: the account is locked until {shown} (Beijing time)"),
    };
    let body = html! { div.login { p.error role="alert" { (msg) } p { a href="/login" { (ctx.t("返回登录", "Back to sign in")) } } } };
    let mut r =
        (StatusCode::TOO_MANY_REQUESTS, layout::bare(ctx.lang, ctx.t("账户已锁定", "Locked"), body)).into_response();
    r.headers_mut().append(SET_COOKIE, set_cookie(headers, SESSION_COOKIE, "", Some(0)));
    r
}

/// Past the second factor: the session goes on under its new token (the old cookie is void).
fn renewed(headers: &HeaderMap, token: &str, mut r: Response) -> Response {
    r.headers_mut().append(SET_COOKIE, set_cookie(headers, SESSION_COOKIE, token, None));
    r
}

fn code_page(ctx: &Ctx, next: &str, error: Option<&str>) -> Markup {
    layout::bare(
        ctx.lang,
        ctx.t("两步验证", "Two-factor sign-in"),
        html! {
            form.login method="post" action="/login/totp" {
                h1 { (ctx.t("两步验证", "Two-factor sign-in")) }
                p.sub { (ctx.t("请输入验证器应用中显示的 6 位验证码；手机不在身边时，可输入一个恢复码（每个恢复码只能使用一次）。",
                    "Enter the 6-digit code your authenticator app shows, or one of your recovery codes (each works once).")) }
                @if let Some(e) = error { p.error role="alert" { (e) } }
                input type="hidden" name="csrf" value=(ctx.user.csrf);
                input type="hidden" name="next" value=(next);
                label { (ctx.t("验证码或恢复码", "Code or recovery code")) input name="code" autocomplete="one-time-code" required autofocus; }
                button type="submit" { (ctx.t("验证", "Verify")) }
                p.switch { (ctx.user.name) " · " (logout_form(ctx)) }
            }
        },
    )
}

/// `GET /login/totp`: the code after the password.
pub async fn code_form(ctx: Ctx, Query(q): Query<NextQuery>) -> Response {
    if ctx.user.second_factor != SecondFactor::Code {
        return Redirect::to("/").into_response();
    }
    code_page(&ctx, &safe_next(q.next.as_deref()), None).into_response()
}

/// `POST /login/totp`.
pub async fn code(
    State(s): State<AppState>,
    ctx: Ctx,
    crate::auth::Source(src): crate::auth::Source,
    headers: HeaderMap,
    Form(f): Form<CodeForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&f.csrf)?;
    let next = safe_next(f.next.as_deref());
    if ctx.user.second_factor != SecondFactor::Code {
        return Ok(Redirect::to(&onward(&ctx, &next)).into_response());
    }
    let check = s.store.second_factor(&ctx.token, &ctx.user, &f.code, src, chrono::Utc::now()).await?;
    Ok(match check {
        Check::Passed { token, .. } => renewed(&headers, &token, Redirect::to(&onward(&ctx, &next)).into_response()),
        Check::Refused => {
            let msg = ctx.t(
                "验证码错误：须为验证器当前显示的 6 位数字（每个只能使用一次），或一个未用过的恢复码",
                "Wrong code: the 6 digits your app shows now (each works once), or an unused recovery code",
            );
            (StatusCode::UNAUTHORIZED, code_page(&ctx, &next, Some(msg))).into_response()
        }
        Check::Locked { until } => locked(&ctx, &headers, &until),
        Check::Throttled => {
            (StatusCode::TOO_MANY_REQUESTS, code_page(&ctx, &next, Some(throttled_message(ctx.lang)))).into_response()
        }
    })
}

async fn enrol_page(
    s: &AppState,
    ctx: &Ctx,
    next: &str,
    error: Option<&str>,
    source: Option<String>,
) -> Result<Markup, AppError> {
    let title = ctx.t("两步验证", "Two-factor sign-in");
    let status = s.store.totp_status(ctx.user.user_id).await?;
    if status.enabled {
        let body = html! {
            h1 { (title) }
            p.notice { (ctx.t("两步验证已启用：登录时须输入验证器中的 6 位验证码。", "Two-factor sign-in is on: signing in asks for the code from your app.")) }
            p { (ctx.t("未使用的恢复码：", "Unused recovery codes: ")) strong #recovery-left { (status.recovery_left) } }
            p.hint { (ctx.t("更换手机或遗失恢复码时，请联系安全管理员重置两步验证，然后重新登记。",
                "To move to a new phone or replace lost recovery codes, ask the security administrator to reset it, then enrol again.")) }
        };
        return Ok(layout::page(ctx, title, body));
    }
    let e = s.store.totp_begin(&ctx.user, source).await?;
    let forced = ctx.user.second_factor == SecondFactor::Enrol;
    let body = html! {
        h1 { (title) }
        @if forced {
            p.notice { (ctx.t("您的角色须使用两步验证登录。请先完成登记，之后才能使用系统。",
                "Your role signs in with a second factor. Enrol now; nothing else is open before that.")) }
        } @else {
            p.hint { (ctx.t("两步验证对您的角色是可选的：启用后，登录时除密码外还须输入验证器中的验证码。",
                "Two-factor sign-in is optional for your role: once on, signing in also asks for a code from your app.")) }
        }
        @if let Some(m) = error { p.error role="alert" { (m) } }
        ol.steps {
            li { (ctx.t("在手机上打开验证器应用（如 Microsoft Authenticator、Google 身份验证器、FreeOTP），选择“手动输入密钥”，账户填写 ",
                "Open an authenticator app (Microsoft Authenticator, Google Authenticator, FreeOTP…), choose to enter a key by hand, with account "))
                code { (ctx.user.name) } (ctx.t("，密钥填写：", ", and key:")) }
            li { pre.token { code #totp-secret { (e.secret) } } }
            li { (ctx.t("或把以下密钥地址复制到支持它的应用（本系统离线运行，不生成二维码）：",
                "Or paste this key URI into an app that takes one (the system runs offline and draws no QR code):"))
                pre.token { code #totp-uri { (e.uri) } } }
            li { (ctx.t("类型为基于时间（TOTP），6 位数字，每 30 秒更新。输入应用当前显示的验证码以完成登记：",
                "Time-based (TOTP), 6 digits, every 30 seconds. Type the code the app shows now to finish:")) }
        }
        form.stack method="post" action="/totp/enrol" {
            input type="hidden" name="csrf" value=(ctx.user.csrf);
            input type="hidden" name="next" value=(next);
            (layout::field(ctx.t("验证码（6 位数字）", "Code (6 digits)"), html! {
                input name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9 ]{6,7}" required autofocus;
            }, None))
            button type="submit" { (ctx.t("完成登记", "Enrol")) }
        }
        @if forced { p { (logout_form(ctx)) } }
    };
    Ok(if forced {
        layout::bare(ctx.lang, title, html! { div.enrol { (body) } })
    } else {
        layout::page(ctx, title, body)
    })
}

/// `GET /totp/enrol`: a secret to enrol (forced for the roles that require it).
pub async fn enrol_form(
    State(s): State<AppState>,
    ctx: Ctx,
    crate::auth::Source(src): crate::auth::Source,
    Query(q): Query<NextQuery>,
) -> Result<Markup, AppError> {
    enrol_page(&s, &ctx, &safe_next(q.next.as_deref()), None, src).await
}

/// `POST /totp/enrol`: the first code puts the secret in force.
pub async fn enrol(
    State(s): State<AppState>,
    ctx: Ctx,
    crate::auth::Source(src): crate::auth::Source,
    headers: HeaderMap,
    Form(f): Form<CodeForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&f.csrf)?;
    let next = safe_next(f.next.as_deref());
    match s.store.totp_confirm(&ctx.token, &ctx.user, &f.code, src.clone(), chrono::Utc::now()).await {
        Ok(Check::Passed { token, .. }) => Ok(renewed(
            &headers,
            &token,
            Redirect::to(&format!("/totp/recovery?next={}", crate::records::encode(&next))).into_response(),
        )),
        Ok(Check::Refused) => {
            let msg = ctx.t(
                "验证码不正确：须为验证器应用当前显示的 6 位数字（30 秒内有效）；请核对手机时间和输入的密钥",
                "Wrong code: the 6 digits the app shows now (good for 30 seconds); check the phone's clock and the key",
            );
            Ok((StatusCode::UNPROCESSABLE_ENTITY, enrol_page(&s, &ctx, &next, Some(msg), src).await?).into_response())
        }
        Ok(Check::Locked { until }) => Ok(locked(&ctx, &headers, &until)),
        Ok(Check::Throttled) => Ok((
            StatusCode::TOO_MANY_REQUESTS,
            enrol_page(&s, &ctx, &next, Some(throttled_message(ctx.lang)), src).await?,
        )
            .into_response()),
        Err(StoreError::Conflict(_)) => Ok(Redirect::to("/totp/enrol").into_response()),
        Err(e) => Err(e.into()),
    }
}

/// `GET /totp/recovery`: the recovery codes of this enrolment, shown this once.
pub async fn recovery(State(s): State<AppState>, ctx: Ctx, Query(q): Query<NextQuery>) -> Result<Markup, AppError> {
    let next = onward(&ctx, &safe_next(q.next.as_deref()));
    let codes = s.store.take_recovery_codes(&ctx.token, &ctx.user).await?;
    let left = s.store.totp_status(ctx.user.user_id).await?.recovery_left;
    let title = ctx.t("恢复码", "Recovery codes");
    let body = html! {
        h1 { (title) }
        @if codes.is_empty() {
            p.hint { (ctx.t("恢复码只在登记后显示一次。未使用的恢复码：", "Recovery codes are shown once, after enrolment. Unused: ")) strong { (left) } }
        } @else {
            p.notice role="status" { (ctx.t("两步验证已启用。请把以下 10 个恢复码抄写或打印后妥善保管：手机不在身边时，每个恢复码可代替验证码登录一次。它们只显示这一次。",
                "Two-factor sign-in is on. Write down or print these 10 recovery codes and keep them safe: each signs you in once without your phone. They are shown only this once.")) }
            ol.recovery { @for c in &codes { li { code.recovery { (c) } } } }
        }
        p { a.button #continue href=(next) { (ctx.t("继续", "Continue")) } }
    };
    Ok(layout::page(&ctx, title, body))
}
