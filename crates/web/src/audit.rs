//! The audit view for the audit administrator (审计管理员): the log filtered by user, object,
//! action and time, with its export. Nobody can edit or delete an entry; there is no route that
//! would. Reading the log is itself audited.

use crate::auth::Ctx;
use crate::layout;
use crate::records::{pairs, text_of};
use crate::{AppError, AppState};
use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use domain::catalog::RECORD_TYPES;
use domain::users::Role;
use maud::{html, Markup};
use store::audit::AuditFilter;

const PER_PAGE: i64 = 50;

const ACTIONS: &[(&str, &str)] = &[
    ("create", "新建"),
    ("update", "修改"),
    ("delete", "删除"),
    ("login", "登录"),
    ("login_failed", "登录失败"),
    ("lock", "账户锁定"),
    ("login_locked", "锁定期间登录"),
    ("logout", "退出"),
    ("change_password", "修改密码"),
    ("view_personal", "查看完整个人信息"),
    ("read_denied", "越权访问被拒"),
    ("audit_search", "查阅审计日志"),
    ("export", "导出"),
    ("export_personal", "导出完整个人信息"),
    ("unlock", "解除锁定"),
    ("revoke", "吊销令牌"),
    ("login_throttled", "登录过于频繁被拒"),
    ("audit_prune", "按保留期清理审计日志"),
    ("restore", "从备份恢复"),
    ("key_rotate", "轮换个人信息密钥"),
    ("totp_enrol", "开始登记两步验证"),
    ("totp_enabled", "启用两步验证"),
    ("totp_verified", "两步验证通过"),
    ("totp_failed", "两步验证码错误"),
    ("recovery_code_failed", "恢复码错误"),
    ("totp_recovery_used", "使用恢复码登录"),
    ("totp_recovery_shown", "显示恢复码"),
    ("totp_reset", "重置两步验证"),
];

fn auditor(ctx: &Ctx) -> Result<(), AppError> {
    if ctx.user.role == Role::Auditor {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            ctx.t("只有审计管理员可以查阅审计日志", "Only the audit administrator reads the audit log").into(),
        ))
    }
}

/// A Beijing-time date (`YYYY-MM-DD`) as the UTC instant its day starts, or ends (`next`).
fn beijing_day(d: &str, next: bool) -> Option<String> {
    let date = chrono::NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d").ok()?;
    let date = if next { date.succ_opt()? } else { date };
    let utc = date.and_hms_opt(0, 0, 0)? - chrono::Duration::hours(8);
    Some(format!("{}Z", utc.format("%Y-%m-%dT%H:%M:%S%.3f")))
}

fn filter_of(params: &[(String, String)]) -> (AuditFilter, i64) {
    let get =
        |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.trim().to_string()).filter(|v| !v.is_empty());
    let f = AuditFilter {
        actor: get("actor"),
        object_type: get("object"),
        action: get("action"),
        from: get("from").and_then(|d| beijing_day(&d, false)),
        to: get("to").and_then(|d| beijing_day(&d, true)),
    };
    (f, get("page").and_then(|p| p.parse().ok()).unwrap_or(1))
}

fn object_label(table: &str) -> String {
    match table {
        "users" => "用户".into(),
        "settings" => "系统设置".into(),
        "audit_log" => "审计日志".into(),
        t => RECORD_TYPES.iter().find(|r| r.table == t).map(|r| r.zh.to_string()).unwrap_or_else(|| t.to_string()),
    }
}

fn action_label(a: &str) -> &str {
    ACTIONS.iter().find(|(c, _)| *c == a).map(|(_, l)| *l).unwrap_or(a)
}

pub async fn page(State(s): State<AppState>, ctx: Ctx, RawQuery(raw): RawQuery) -> Result<Markup, AppError> {
    auditor(&ctx)?;
    let params = pairs(raw.as_deref());
    let (f, page) = filter_of(&params);
    let (total, entries) = s.store.audit_search(&ctx.user.actor(None), &f, page, PER_PAGE).await?;
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or_default();
    let keep: String = params
        .iter()
        .filter(|(k, v)| k != "page" && !v.is_empty())
        .map(|(k, v)| format!("{}={}", k, crate::records::encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let pages = (total + PER_PAGE - 1) / PER_PAGE;
    let mut objects: Vec<(String, String)> =
        vec![("users".into(), "用户".into()), ("settings".into(), "系统设置".into())];
    objects.extend(RECORD_TYPES.iter().map(|t| (t.table.to_string(), t.zh.to_string())));
    let body = html! {
        div.titlebar {
            h1 { (ctx.t("审计日志", "Audit log")) }
            span.count { (ctx.t("共 ", "")) strong.total { (total) } (ctx.t(" 条", " entries")) }
            a.button href={ "/audit.csv?" (keep) } { (ctx.t("导出 CSV", "Export CSV")) }
        }
        form.filters method="get" action="/audit" {
            label { span { (ctx.t("操作人", "User")) } input name="actor" value=(get("actor")); }
            label { span { (ctx.t("对象", "Object")) }
                select name="object" {
                    option value="" { (ctx.t("全部", "All")) }
                    @for (v, l) in &objects { option value=(v) selected[*v == get("object")] { (l) } }
                }
            }
            label { span { (ctx.t("操作", "Action")) }
                select name="action" {
                    option value="" { (ctx.t("全部", "All")) }
                    @for (v, l) in ACTIONS { option value=(v) selected[*v == get("action")] { (l) } }
                }
            }
            label { span { (ctx.t("自（北京时间）", "From (Beijing)")) } input type="date" name="from" value=(get("from")); }
            label { span { (ctx.t("至", "To")) } input type="date" name="to" value=(get("to")); }
            button type="submit" { (ctx.t("查询", "Apply")) }
            a.reset href="/audit" { (ctx.t("重置", "Reset")) }
        }
        table.data {
            thead { tr {
                th.num { "#" } th { (ctx.t("时间（北京时间）", "Time (Beijing)")) } th { (ctx.t("操作人", "User")) }
                th { (ctx.t("来源地址", "Source")) } th { (ctx.t("操作", "Action")) } th { (ctx.t("结果", "Outcome")) }
                th { (ctx.t("对象", "Object")) } th { (ctx.t("内容", "Details")) }
            } }
            tbody {
                @for e in &entries {
                    tr {
                        td.num { (e.id) }
                        td { (layout::beijing(&e.at)) }
                        td { (e.actor) }
                        td { (e.source.as_deref().unwrap_or("")) }
                        td { (action_label(&e.action)) }
                        td { @if e.outcome == "ok" { (ctx.t("成功", "ok")) } @else { strong.failed { (ctx.t("失败", "failed")) } } }
                        td { (object_label(&e.object_type)) @if let Some(id) = e.object_id { " " (id) } }
                        td.json { (summary(e.before.as_ref(), e.after.as_ref())) }
                    }
                }
            }
        }
        @if pages > 1 {
            nav.pages {
                @for p in 1..=pages {
                    @if p == 1 || p == pages || (p - page).abs() <= 3 {
                        a href={ "/audit?" (keep) "&page=" (p) } class=[(p == page).then_some("current")] { (p) }
                    } @else if (p - page).abs() == 4 { span { "…" } }
                }
            }
        }
    };
    Ok(layout::page(&ctx, ctx.t("审计日志", "Audit log"), body))
}

fn summary(before: Option<&serde_json::Value>, after: Option<&serde_json::Value>) -> String {
    let show = |v: Option<&serde_json::Value>| v.map(|v| v.to_string()).unwrap_or_default();
    match (before, after) {
        (Some(b), Some(a)) => {
            let (Some(bo), Some(ao)) = (b.as_object(), a.as_object()) else {
                return format!("{} → {}", show(before), show(after));
            };
            let mut parts = Vec::new();
            for (k, v) in ao {
                if bo.get(k) != Some(v) {
                    parts.push(format!("{k}: {} → {}", text_of(bo.get(k)), text_of(Some(v))));
                }
            }
            parts.join("；")
        }
        _ => show(after.or(before)),
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The filtered log as CSV (UTF-8 with BOM, so that Excel reads the Chinese right).
pub async fn export(State(s): State<AppState>, ctx: Ctx, RawQuery(raw): RawQuery) -> Result<Response, AppError> {
    auditor(&ctx)?;
    let (f, _) = filter_of(&pairs(raw.as_deref()));
    let (_, entries) = s.store.audit_search(&ctx.user.actor(None), &f, 1, 100_000).await?;
    let mut out = String::from(
        "\u{feff}编号,时间（北京时间）,时间（UTC）,操作人,来源地址,操作,结果,对象类型,对象编号,修改前,修改后\r\n",
    );
    for e in &entries {
        let row = [
            e.id.to_string(),
            layout::beijing(&e.at),
            e.at.clone(),
            e.actor.clone(),
            e.source.clone().unwrap_or_default(),
            action_label(&e.action).to_string(),
            if e.outcome == "ok" { "成功" } else { "失败" }.to_string(),
            object_label(&e.object_type),
            e.object_id.map(|i| i.to_string()).unwrap_or_default(),
            e.before.as_ref().map(|v| v.to_string()).unwrap_or_default(),
            e.after.as_ref().map(|v| v.to_string()).unwrap_or_default(),
        ];
        out.push_str(
            &row.iter().map(|c| csv_field(&services::exchange::export::neutralize(c))).collect::<Vec<_>>().join(","),
        );
        out.push_str("\r\n");
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"audit-log.csv\""),
        ],
        out,
    )
        .into_response())
}
