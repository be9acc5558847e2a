//! The page shell: header with the navigation a role may use, the language switch and logout,
//! the footer; and small pieces every form shares. Markup is built with `maud`, which escapes
//! every dynamic string.

use crate::auth::Ctx;
use crate::i18n::Lang;
use domain::users::Role;
use maud::{html, Markup, PreEscaped, DOCTYPE};

/// UTC RFC 3339 as Beijing time, `YYYY-MM-DD HH:MM`.
pub fn beijing(utc: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(utc)
        .map(|t| (t + chrono::Duration::hours(8)).format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|_| utc.to_string())
}

fn head(lang: Lang, title: &str) -> Markup {
    html! {
        (DOCTYPE)
        meta charset="utf-8";
        meta name="viewport" content="width=device-width, initial-scale=1";
        title { (title) " · " (lang.t("对口支援信息系统", "Counterpart")) }
        link rel="stylesheet" href="/assets/app.css";
        link rel="icon" href="/assets/icon.svg" type="image/svg+xml";
    }
}

/// A navigation item: path, Chinese and English labels, and who may see it.
type NavItem = (&'static str, &'static str, &'static str, fn(Role) -> bool);

const NAV: &[NavItem] = &[
    ("/", "驾驶舱", "Dashboard", reads_business),
    ("/records", "业务记录", "Records", reads_business),
    ("/figures", "指标", "Figures", reads_business),
    ("/reports", "报告", "Reports", reads_business),
    ("/reporting", "报送审核", "Reporting", reads_business),
    ("/warnings", "预警督办", "Warnings", reads_business),
    ("/imaging", "远程影像", "Imaging", reads_business),
    ("/lessons", "两地课堂", "Two-site classes", reads_business),
    ("/audit", "审计日志", "Audit log", |r| r == Role::Auditor),
    ("/admin", "系统管理", "Administration", |r| matches!(r, Role::SysAdmin | Role::SecAdmin)),
    ("/tokens", "API 令牌", "API tokens", |_| true),
];

fn reads_business(r: Role) -> bool {
    matches!(r, Role::Manager | Role::Reporter | Role::Viewer)
}

/// A signed-in page.
pub fn page(ctx: &Ctx, title: &str, body: Markup) -> Markup {
    let lang = ctx.lang;
    html! {
        html lang=(lang.html()) {
            head { (head(lang, title)) }
            body {
                header.top {
                    a.brand href="/" { span.emblem {} (lang.t("对口支援信息系统", "Counterpart")) }
                    nav.main {
                        @for (path, zh, en, may) in NAV {
                            @if may(ctx.user.role) {
                                @let current = if *path == "/" { ctx.path == "/" } else { ctx.path.starts_with(path) };
                                a href=(path) class=[current.then_some("current")] { (lang.t(zh, en)) }
                            }
                        }
                    }
                    div.who {
                        a.bell href="/notifications" title=(lang.t("通知", "Notifications")) {
                            (lang.t("通知", "Notices")) @if ctx.unread > 0 { span.unread id="unread" { (ctx.unread) } }
                        }
                        span.user { (ctx.user.name) " · " (role_label(lang, ctx.user.role)) }
                        form.inline method="post" action="/lang" {
                            input type="hidden" name="csrf" value=(ctx.user.csrf);
                            input type="hidden" name="lang" value=(lang.other().code());
                            input type="hidden" name="next" value=(ctx.path);
                            button.link type="submit" lang=(lang.other().html()) { (lang.t("English", "中文")) }
                        }
                        a href="/password" { (lang.t("修改密码", "Password")) }
                        a href="/totp/enrol" { (lang.t("两步验证", "Two-factor")) }
                        form.inline method="post" action="/logout" {
                            input type="hidden" name="csrf" value=(ctx.user.csrf);
                            button.link type="submit" { (lang.t("退出", "Sign out")) }
                        }
                    }
                }
                main { (body) }
                footer {
                    (lang.t("数据均由业务记录实时计算；时间为北京时间。", "Every figure is computed from the records; times are Beijing time."))
                }
            }
        }
    }
}

/// A page without a session (login, errors before login).
pub fn bare(lang: Lang, title: &str, body: Markup) -> Markup {
    html! {
        html lang=(lang.html()) {
            head { (head(lang, title)) }
            body.bare {
                header.top { a.brand href="/" { span.emblem {} (lang.t("对口支援信息系统", "Counterpart")) } }
                main { (body) }
            }
        }
    }
}

/// A page around pre-built HTML (the foundation's string-built pages).
pub fn raw(body: &str) -> Markup {
    html! { (PreEscaped(body)) }
}

/// A labelled form field with its error, if any, right beside it.
pub fn field(label: &str, input: Markup, error: Option<String>) -> Markup {
    html! {
        label.field.invalid[error.is_some()] {
            span.label { (label) }
            (input)
            @if let Some(e) = error { span.error role="alert" { (e) } }
        }
    }
}

pub fn role_label(lang: Lang, r: Role) -> &'static str {
    match (lang, r) {
        (Lang::Zh, r) => r.label(),
        (Lang::En, Role::SysAdmin) => "System administrator",
        (Lang::En, Role::SecAdmin) => "Security administrator",
        (Lang::En, Role::Auditor) => "Audit administrator",
        (Lang::En, Role::Manager) => "Program manager",
        (Lang::En, Role::Reporter) => "Reporter",
        (Lang::En, Role::Viewer) => "Viewer",
    }
}

/// Today's date in Beijing.
pub fn today() -> domain::Date {
    domain::Date::from_naive((chrono::Utc::now() + chrono::Duration::hours(8)).date_naive())
}
