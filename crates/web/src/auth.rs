//! Login, logout, password change, the language switch, and the [`Ctx`] extractor that every
//! signed-in page takes. Sessions live on the server (`store::sessions`); the browser holds only
//! an opaque token in an HttpOnly, SameSite=Lax cookie (Secure behind TLS). Every state-changing
//! request carries the session's CSRF token in a form field; the login form, before any session,
//! uses a double-submit cookie.

use crate::i18n::Lang;
use crate::layout;
use crate::{AppError, AppState};
use axum::extract::{FromRequestParts, Query, State};
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use maud::{html, Markup};
use serde::Deserialize;
use store::sessions::{Login, SecondFactor, SessionUser};
use store::StoreError;

pub const SESSION_COOKIE: &str = "cp_session";
const PRE_COOKIE: &str = "cp_pre";
const LANG_COOKIE: &str = "cp_lang";

/// The signed-in user of this request, with the session token and language.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub user: SessionUser,
    pub token: String,
    pub lang: Lang,
    /// The request path (for the navigation's current item).
    pub path: String,
    /// Unread notifications (the bell).
    pub unread: i64,
}

impl Ctx {
    pub fn t<'a>(&self, zh: &'a str, en: &'a str) -> &'a str {
        self.lang.t(zh, en)
    }
    /// Refuse a state-changing request whose form does not carry this session's CSRF token.
    pub fn check_csrf(&self, token: &str) -> Result<(), AppError> {
        if constant_time_eq(token.as_bytes(), self.user.csrf.as_bytes()) {
            Ok(())
        } else {
            Err(AppError::Csrf)
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The value of one cookie of the request.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get_all(COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|kv| {
        let (k, v) = kv.trim().split_once('=')?;
        (k == name).then(|| v.to_string())
    })
}

/// Did the request come over HTTPS: served over TLS by this server (the router's `edge` layer
/// then sets the header), or through a TLS gateway that says so.
pub(crate) fn is_tls(headers: &HeaderMap) -> bool {
    headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()).is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

pub(crate) fn set_cookie(headers: &HeaderMap, name: &str, value: &str, max_age: Option<i64>) -> HeaderValue {
    let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
    if let Some(a) = max_age {
        c.push_str(&format!("; Max-Age={a}"));
    }
    if is_tls(headers) {
        c.push_str("; Secure");
    }
    HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static("cp_invalid=1"))
}

fn source(parts: &Parts) -> Option<String> {
    parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .or_else(|| parts.headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()).map(str::to_string))
}

/// The client address of a request, for the audit log.
pub struct Source(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for Source {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Source(source(parts)))
    }
}

/// A path to go back to after login: local only.
pub(crate) fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_string(),
        _ => "/".to_string(),
    }
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let path = parts.uri.path().to_string();
        let full = parts.uri.path_and_query().map(|p| p.as_str().to_string()).unwrap_or_else(|| path.clone());
        let to_login = || Redirect::to(&format!("/login?next={}", crate::records::encode(&full))).into_response();
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else { return Err(to_login()) };
        let user = match state.store.session(&token).await {
            Ok(Some(u)) => u,
            Ok(None) => return Err(to_login()),
            Err(e) => return Err(AppError::from(e).into_response()),
        };
        // Past the password and not past the second factor: the code or the enrolment first.
        let allowed = |p: &str| path == p || path == "/logout";
        match user.second_factor {
            SecondFactor::Code if !allowed("/login/totp") => {
                return Err(Redirect::to(&format!("/login/totp?next={}", crate::records::encode(&full))).into_response())
            }
            SecondFactor::Enrol if !allowed("/totp/enrol") => {
                return Err(Redirect::to(&format!("/totp/enrol?next={}", crate::records::encode(&full))).into_response())
            }
            _ => {}
        }
        // Then the forced password change (the recovery codes just made are shown first).
        if user.must_change_password
            && user.second_factor == SecondFactor::Done
            && !matches!(path.as_str(), "/password" | "/logout" | "/totp/recovery")
        {
            return Err(Redirect::to("/password").into_response());
        }
        let lang = Lang::parse(&user.lang);
        let unread = match state.store.unread_count(user.user_id.get()).await {
            Ok(n) => n,
            Err(e) => return Err(AppError::from(e).into_response()),
        };
        Ok(Ctx { user, token, lang, path, unread })
    }
}

fn random_token() -> String {
    use rand::RngCore;
    let mut b = [0u8; 24];
    rand::rngs::OsRng.fill_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The language before login: the cookie, else Chinese.
fn pre_lang(headers: &HeaderMap) -> Lang {
    cookie(headers, LANG_COOKIE).map(|l| Lang::parse(&l)).unwrap_or_default()
}

fn login_page(lang: Lang, csrf: &str, next: &str, name: &str, error: Option<&str>) -> Markup {
    let t = |zh, en| lang.t(zh, en);
    layout::bare(
        lang,
        t("登录", "Sign in"),
        html! {
            form.login method="post" action="/login" {
                h1 { (t("对口支援信息系统", "Counterpart")) }
                p.sub { (t("请使用管理员分配的账户登录", "Sign in with the account your administrator gave you")) }
                @if let Some(e) = error { p.error role="alert" { (e) } }
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="next" value=(next);
                label { (t("用户名", "User name")) input name="name" value=(name) autocomplete="username" required autofocus; }
                label { (t("密码", "Password")) input type="password" name="password" autocomplete="current-password" required; }
                button type="submit" { (t("登录", "Sign in")) }
                p.switch { a href={ "/login?lang=" (lang.other().code()) "&next=" (crate::records::encode(next)) } { (lang.t("English", "中文")) } }
            }
        },
    )
}

#[derive(Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
    lang: Option<String>,
}

pub async fn login_form(headers: HeaderMap, Query(q): Query<LoginQuery>) -> Response {
    let lang = q.lang.as_deref().map(Lang::parse).unwrap_or_else(|| pre_lang(&headers));
    let csrf = random_token();
    let next = safe_next(q.next.as_deref());
    let mut r = login_page(lang, &csrf, &next, "", None).into_response();
    r.headers_mut().append(SET_COOKIE, set_cookie(&headers, PRE_COOKIE, &csrf, Some(3600)));
    r.headers_mut().append(SET_COOKIE, set_cookie(&headers, LANG_COOKIE, lang.code(), Some(31_536_000)));
    r
}

#[derive(Deserialize)]
pub struct LoginForm {
    csrf: String,
    name: String,
    password: String,
    next: Option<String>,
}

pub async fn login(
    State(s): State<AppState>,
    Source(src): Source,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Result<Response, AppError> {
    let lang = pre_lang(&headers);
    let next = safe_next(f.next.as_deref());
    let pre = cookie(&headers, PRE_COOKIE).unwrap_or_default();
    let fresh = random_token();
    let again = |status: StatusCode, msg: &str| {
        let mut r = (status, login_page(lang, &fresh, &next, &f.name, Some(msg))).into_response();
        r.headers_mut().append(SET_COOKIE, set_cookie(&headers, PRE_COOKIE, &fresh, Some(3600)));
        r
    };
    if pre.is_empty() || !constant_time_eq(pre.as_bytes(), f.csrf.as_bytes()) {
        return Ok(again(
            StatusCode::FORBIDDEN,
            lang.t("页面已过期，请重新登录", "The page had expired; please sign in again"),
        ));
    }
    match s.store.login(f.name.trim(), &f.password, src).await? {
        Login::Ok { token, user } => {
            let to = match user.second_factor {
                SecondFactor::Code => format!("/login/totp?next={}", crate::records::encode(&next)),
                SecondFactor::Enrol => format!("/totp/enrol?next={}", crate::records::encode(&next)),
                SecondFactor::Done if user.must_change_password => "/password".to_string(),
                SecondFactor::Done => next.clone(),
            };
            let mut r = Redirect::to(&to).into_response();
            r.headers_mut().append(SET_COOKIE, set_cookie(&headers, SESSION_COOKIE, &token, None));
            r.headers_mut().append(SET_COOKIE, set_cookie(&headers, PRE_COOKIE, "", Some(0)));
            r.headers_mut().append(SET_COOKIE, set_cookie(&headers, LANG_COOKIE, &user.lang, Some(31_536_000)));
            Ok(r)
        }
        Login::Refused => {
            Ok(again(StatusCode::UNAUTHORIZED, lang.t("用户名或密码错误", "Wrong user name or password")))
        }
        Login::Locked { until } => {
            let shown = layout::beijing(&until);
            let msg = match lang {
                Lang::Zh => format!("登录失败次数过多，账户已锁定，请于 {shown}（北京时间）后再试"),
                Lang::En => format!("Too many failed sign-ins: the account is locked until {shown} (Beijing time)"),
            };
            Ok(again(StatusCode::TOO_MANY_REQUESTS, &msg))
        }
        Login::Throttled => Ok(again(StatusCode::TOO_MANY_REQUESTS, throttled_message(lang))),
    }
}

/// The refusal of a sign-in from an address that failed too often lately.
pub(crate) fn throttled_message(lang: Lang) -> &'static str {
    lang.t(
        "该网络地址登录失败次数过多（15 分钟内超过 10 次），已暂停登录，请 15 分钟后再试",
        "Too many failed sign-ins from this address (more than 10 in 15 minutes); try again in 15 minutes",
    )
}

/// A form that carries nothing but the anti-forgery token (logout, delete, unlock, reveal).
#[derive(Deserialize)]
pub struct CsrfForm {
    pub csrf: String,
}

pub async fn logout(
    State(s): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Form(f): Form<CsrfForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&f.csrf)?;
    s.store.logout(&ctx.token, &ctx.user).await?;
    let mut r = Redirect::to("/login").into_response();
    r.headers_mut().append(SET_COOKIE, set_cookie(&headers, SESSION_COOKIE, "", Some(0)));
    Ok(r)
}

#[derive(Deserialize)]
pub struct LangForm {
    csrf: String,
    lang: String,
    next: Option<String>,
}

pub async fn set_lang(
    State(s): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Form(f): Form<LangForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&f.csrf)?;
    let lang = Lang::parse(&f.lang);
    s.store.set_lang(&ctx.user, lang.code()).await?;
    let mut r = Redirect::to(&safe_next(f.next.as_deref())).into_response();
    r.headers_mut().append(SET_COOKIE, set_cookie(&headers, LANG_COOKIE, lang.code(), Some(31_536_000)));
    Ok(r)
}

fn password_page(ctx: &Ctx, errors: &[(String, String)]) -> Markup {
    let err = |field: &str| errors.iter().find(|(f, _)| f == field).map(|(_, m)| m.clone());
    let body = html! {
        h1 { (ctx.t("修改密码", "Change password")) }
        @if ctx.user.must_change_password {
            p.notice { (ctx.t("首次登录须先修改密码。", "You must change your password before going on.")) }
        }
        p.hint { (ctx.t("密码至少 8 位，含大写字母、小写字母、数字、符号中的至少三类，且不得与用户名相同。",
            "At least 8 characters, with three of: upper case, lower case, digits, symbols; not your user name.")) }
        form.stack method="post" action="/password" {
            input type="hidden" name="csrf" value=(ctx.user.csrf);
            (layout::field(ctx.t("原密码", "Current password"), html! { input type="password" name="old_password" autocomplete="current-password" required; }, err("old_password")))
            (layout::field(ctx.t("新密码", "New password"), html! { input type="password" name="new_password" autocomplete="new-password" required; }, err("password").or(err("new_password"))))
            (layout::field(ctx.t("确认新密码", "Repeat new password"), html! { input type="password" name="confirm" autocomplete="new-password" required; }, err("confirm")))
            button type="submit" { (ctx.t("保存", "Save")) }
        }
    };
    layout::page(ctx, ctx.t("修改密码", "Change password"), body)
}

pub async fn password_form(ctx: Ctx) -> Markup {
    password_page(&ctx, &[])
}

#[derive(Deserialize)]
pub struct PasswordForm {
    csrf: String,
    old_password: String,
    new_password: String,
    confirm: String,
}

pub async fn change_password(
    State(s): State<AppState>,
    ctx: Ctx,
    Form(f): Form<PasswordForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&f.csrf)?;
    if f.new_password != f.confirm {
        let e =
            vec![("confirm".to_string(), ctx.t("两次输入的新密码不一致", "The two new passwords differ").to_string())];
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, password_page(&ctx, &e)).into_response());
    }
    match s.store.change_password(&ctx.user, &f.old_password, &f.new_password).await {
        Ok(()) => Ok(Redirect::to("/").into_response()),
        Err(StoreError::Invalid(inv)) => {
            let e: Vec<(String, String)> =
                inv.0.iter().map(|i| (i.field.clone(), format!("{}（规则：{}）", i.message, i.rule))).collect();
            Ok((StatusCode::UNPROCESSABLE_ENTITY, password_page(&ctx, &e)).into_response())
        }
        Err(e) => Err(e.into()),
    }
}
