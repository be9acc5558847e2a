//! Reports: templates evaluated for a period and a scope by the figure engine into one
//! [`model::Rendered`] value, which the writers turn into HTML, DOCX (公文 layout) and XLSX.

pub mod chart;
pub mod docx;
pub mod evaluate;
pub mod html;
pub mod model;
pub mod xlsx;

use crate::{Result, ServiceError};

/// A UTC RFC 3339 time as Beijing time (UTC+8), "2026年11月29日 14:00"; `None` when it is not
/// RFC 3339. The one conversion the writers share.
pub fn beijing(utc: &str) -> Option<String> {
    let t = chrono::DateTime::parse_from_rfc3339(utc).ok()?;
    let b = t.with_timezone(&chrono::FixedOffset::east_opt(8 * 3600)?);
    Some(b.format("%Y年%-m月%-d日 %H:%M").to_string())
}
use domain::audit::Actor;
use domain::regions::{RegionCode, REGIONS};
use domain::reports::NewGeneratedReport;
use domain::{Date, Invalid};
use store::{Store, StoreError};

/// The formats a report is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Html,
    Docx,
    Xlsx,
}

impl Output {
    pub fn parse(s: &str) -> Result<Output> {
        match s {
            "html" => Ok(Output::Html),
            "docx" => Ok(Output::Docx),
            "xlsx" => Ok(Output::Xlsx),
            _ => Err(bad("format", "格式", "html、docx 或 xlsx", format!("不支持的格式“{s}”"))),
        }
    }
    pub fn extension(self) -> &'static str {
        match self {
            Output::Html => "html",
            Output::Docx => "docx",
            Output::Xlsx => "xlsx",
        }
    }
    pub fn content_type(self) -> &'static str {
        match self {
            Output::Html => "text/html; charset=utf-8",
            Output::Docx => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            Output::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }
}

fn bad(field: &str, label: &str, rule: &str, message: String) -> ServiceError {
    ServiceError::Store(StoreError::Invalid(Invalid::new(field, label, rule, message).into()))
}

/// A period written FROM..TO (dates, both inclusive).
pub fn parse_period(s: &str) -> Result<(Date, Date)> {
    let rule = "统计期写作 YYYY-MM-DD..YYYY-MM-DD";
    let (a, b) = s.split_once("..").ok_or_else(|| bad("period", "统计期", rule, format!("“{s}”缺少 ..")))?;
    let from = Date::parse(a).map_err(|e| bad("period", "统计期", rule, e.message))?;
    let to = Date::parse(b).map_err(|e| bad("period", "统计期", rule, e.message))?;
    if to < from {
        return Err(bad("period", "统计期", rule, format!("结束日期 {to} 早于开始日期 {from}")));
    }
    Ok((from, to))
}

/// A report's scope, resolved from its code.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResolvedScope {
    pub place: Option<RegionCode>,
    pub org: Option<String>,
    pub line: Option<String>,
    /// In words: "全部", "阿克陶县（653022）", "单位 AKT-HOSP 及其下级单位", "教育条线".
    pub label: String,
}

/// A scope code: a place (GB/T 2260 code), a line of work (`education`, `medical`…) or an
/// organization (its code); none is the whole program.
pub async fn resolve_scope(store: &Store, code: Option<&str>) -> Result<ResolvedScope> {
    let Some(code) = code.map(str::trim).filter(|c| !c.is_empty()) else {
        return Ok(ResolvedScope { label: "全部".into(), ..Default::default() });
    };
    if let Ok(rc) = RegionCode::parse(code) {
        if let Some(r) = REGIONS.iter().find(|r| r.code == rc.to_string()) {
            let label = format!("{}（{}）", r.name, r.code);
            return Ok(ResolvedScope { place: Some(rc), label, ..Default::default() });
        }
    }
    if let Some((c, name)) = domain::people::LINES.iter().find(|(c, _)| *c == code) {
        return Ok(ResolvedScope { line: Some(c.to_string()), label: format!("{name}条线"), ..Default::default() });
    }
    match store.org_path(code).await {
        Ok(_) => Ok(ResolvedScope {
            org: Some(code.to_string()),
            label: format!("单位 {code} 及其下级单位"),
            ..Default::default()
        }),
        Err(StoreError::NotFound { .. }) => Err(bad(
            "scope",
            "范围",
            "范围为区划代码、工作条线或单位编码",
            format!("“{code}”既不是已知的区划代码、工作条线，也不是单位编码"),
        )),
        Err(e) => Err(e.into()),
    }
}

/// Evaluate a report and keep it (audited) among the generated reports: its id and content.
pub async fn generate(store: &Store, actor: &Actor, req: &evaluate::Request) -> Result<(i64, model::Rendered)> {
    let r = evaluate::evaluate(store, req).await?;
    let mut tx = store.write(actor).await?;
    let id = tx
        .insert(&NewGeneratedReport {
            template_key: r.template.clone(),
            version: r.version,
            period_from: r.from,
            period_to: r.to,
            scope: r.scope.clone(),
            generated_by: r.generated_by.clone(),
            rendered: serde_json::to_string(&r).map_err(|e| ServiceError::Output(e.to_string()))?,
        })
        .await?;
    tx.commit().await?;
    Ok((id.get(), r))
}

/// A generated report written in a format.
pub fn write(r: &model::Rendered, out: Output) -> Result<Vec<u8>> {
    match out {
        Output::Html => Ok(html::html(r, false).into_bytes()),
        Output::Xlsx => xlsx::xlsx(r).map_err(|e| ServiceError::Output(e.to_string())),
        Output::Docx => docx::docx(r).map_err(|e| ServiceError::Output(e.to_string())),
    }
}
