//! Evaluating a template for a period and a scope: every figure by the engine, every table from
//! engine breakdowns, into one [`Rendered`].

use super::model::{Block, Cell, Rendered, Run, Section, Table, UsedFigure};
use crate::figures::{Engine, FigureValue, Scope};
use crate::{Result, ServiceError};
use domain::figures::{Exact, FigureDef, Filter, Measure, Spec};
use domain::regions::{Level, RegionCode, REGIONS};
use domain::reports::{chinese_number, parse, Format, Piece, TemplateBlock, CHARTS};
use domain::Date;
use std::collections::HashMap;
use store::{Store, StoreError};

/// What to evaluate: a template (its current version unless one is named), for a period and a
/// scope, by whom.
#[derive(Debug, Clone)]
pub struct Request {
    pub template: String,
    pub version: Option<i64>,
    pub from: Date,
    pub to: Date,
    pub place: Option<RegionCode>,
    pub org: Option<String>,
    pub line: Option<String>,
    /// The scope in words ("全部", "阿克陶县（653022）").
    pub scope_label: String,
    pub by: String,
}

impl Request {
    /// The current version of `template` for a period and a resolved scope.
    pub fn new(template: String, from: Date, to: Date, scope: super::ResolvedScope, by: String) -> Request {
        Request {
            template,
            version: None,
            from,
            to,
            place: scope.place,
            org: scope.org,
            line: scope.line,
            scope_label: scope.label,
            by,
        }
    }

    fn scope(&self) -> Scope {
        Scope {
            from: Some(self.from),
            to: Some(self.to),
            place: self.place.clone(),
            org: self.org.clone(),
            line: self.line.clone(),
        }
    }
}

/// The note under a table whose rounded parts do not add up to its rounded total.
pub const ROUNDING_NOTE: &str = "合计按未经舍入的数值计算，与各项舍入后之和可能略有出入。";

fn f64_of(e: Exact) -> f64 {
    e.num as f64 / e.den as f64
}

/// A figure as a text states it, in the template's format.
pub fn shown(v: &FigureValue, format: &Format) -> String {
    if v.empty {
        return "—".into();
    }
    let e = v.exact;
    let floor = |n: i128| -> i128 { (e.num.div_euclid(e.den)).div_euclid(n) * n };
    match format {
        Format::Defined => v.display.clone(),
        Format::Decimals(d) => e.display(*d),
        Format::Percent => format!("{}%", e.display(1)),
        Format::Wan if v.unit == "亿元" => e.mul_int(10_000).display(2),
        Format::Yi if v.unit == "万元" => e.checked_div(Exact::int(10_000)).unwrap_or(e).display(2),
        Format::Wan | Format::Yi => e.display(2),
        Format::Chinese => {
            let n = e.display(0).parse::<i64>().unwrap_or(-1);
            chinese_number(n).unwrap_or_else(|| e.display(0))
        }
        Format::Approx(n) => format!("{}余", floor(*n as i128)),
    }
}

/// A date span in words: 2023年4月20日至2026年11月29日.
fn span_words(from: Option<Date>, to: Option<Date>) -> String {
    match (from, to) {
        (Some(f), Some(t)) => format!("{}至{}", f.chinese(), t.chinese()),
        (Some(f), None) => format!("{}以来", f.chinese()),
        (None, Some(t)) => format!("截至{}", t.chinese()),
        (None, None) => "全部时期".into(),
    }
}

fn period_of(def: &FigureDef) -> String {
    match &def.spec {
        Spec::Records { span: Some(s), .. } => span_words(s.from, s.to),
        Spec::Records { .. } => "全部时期".into(),
        Spec::Indicator { periods, compare, .. } => {
            let ps: Vec<String> = periods.iter().map(|p| p.to_string()).collect();
            match compare {
                Some(c) => format!("{}（对比 {}）", ps.join("、"), c.base),
                None => ps.join("、"),
            }
        }
    }
}

fn num(e: Exact, decimals: u32, href: Option<String>) -> Cell {
    Cell::Number { value: f64_of(e), decimals, shown: e.display(decimals), href }
}

fn text(t: impl Into<String>) -> Cell {
    Cell::Text { text: t.into() }
}

/// a / b in per cent with one decimal, or "—" when b is 0.
fn rate(a: Exact, b: Exact) -> Cell {
    match a.checked_div(b) {
        Some(r) if b.num != 0 => num(r.mul_int(100), 1, None),
        _ => text("—"),
    }
}

fn fen_to_wan(fen: i64) -> Exact {
    Exact::new(fen as i128, 1_000_000).unwrap_or(Exact::int(0))
}

/// Whether the rounded parts of column `col` add up to the rounded total.
fn adds_up(rows: &[Vec<Cell>], total: &[Cell], col: usize) -> bool {
    let hundredths = |c: &Cell| match c {
        Cell::Number { shown, .. } => shown.replace(',', "").parse::<f64>().ok().map(|v| (v * 100.0).round() as i64),
        Cell::Text { .. } => None,
    };
    let parts: i64 = rows.iter().filter_map(|r| r.get(col).and_then(hundredths)).sum();
    total.get(col).and_then(hundredths).is_none_or(|t| t == parts)
}

struct Ctx<'a> {
    engine: Engine<'a>,
    scope: Scope,
}

impl Ctx<'_> {
    fn def(&self, source: &str, measure: Measure, extra: Vec<Filter>) -> FigureDef {
        let (mut filters, span) = self.scope.filters(source);
        filters.extend(extra);
        FigureDef {
            key: "report".into(),
            name: String::new(),
            line: "overview".into(),
            unit: String::new(),
            decimals: 0,
            description: String::new(),
            spec: Spec::Records {
                source: source.into(),
                measure,
                filters,
                span,
                divisor: 1,
                counted: Default::default(),
            },
        }
    }

    /// A measure broken down by `by`, as integers by key.
    async fn by(&self, source: &str, measure: Measure, extra: Vec<Filter>, by: &str) -> Result<HashMap<String, i64>> {
        let def = self.def(source, measure, extra);
        Ok(self
            .engine
            .breakdown(&def, by)
            .await?
            .into_iter()
            .map(|(k, v)| (k, i64::try_from(v.num / v.den.max(1)).unwrap_or(0)))
            .collect())
    }

    async fn funds_by(&self, by: &str) -> Result<[HashMap<String, i64>; 3]> {
        let s = |c: &str| Measure::Sum(c.into());
        Ok([
            self.by("project_funding", s("planned_fen"), vec![], by).await?,
            self.by("project_funding", s("allocated_fen"), vec![], by).await?,
            self.by("project_funding", s("disbursed_fen"), vec![], by).await?,
        ])
    }
}

fn sorted_keys<'a>(maps: impl IntoIterator<Item = &'a HashMap<String, i64>>) -> Vec<String> {
    let mut keys: Vec<String> = maps.into_iter().flat_map(|m| m.keys().cloned()).collect();
    keys.sort_by_key(|k| (k.is_empty(), k.parse::<i64>().unwrap_or(i64::MAX), k.clone()));
    keys.dedup();
    keys
}

fn finish(
    sheet: &str,
    title: &str,
    columns: &[&str],
    rows: Vec<Vec<Cell>>,
    total: Vec<Cell>,
    money: &[usize],
) -> Table {
    let add = money.iter().all(|c| adds_up(&rows, &total, *c));
    Table {
        sheet: sheet.into(),
        title: title.into(),
        columns: columns.iter().map(|c| c.to_string()).collect(),
        rows,
        total: Some(total),
        note: (!add).then(|| ROUNDING_NOTE.to_string()),
    }
}

async fn funds_by_year(c: &Ctx<'_>) -> Result<Table> {
    let [p, a, d] = c.funds_by("year").await?;
    let mut rows = Vec::new();
    let (mut tp, mut ta, mut td) = (0, 0, 0);
    for k in sorted_keys([&p, &a, &d]) {
        let (pv, av, dv) =
            (p.get(&k).copied().unwrap_or(0), a.get(&k).copied().unwrap_or(0), d.get(&k).copied().unwrap_or(0));
        (tp, ta, td) = (tp + pv, ta + av, td + dv);
        rows.push(vec![
            text(if k.is_empty() { "未填".to_string() } else { format!("{k}年") }),
            num(fen_to_wan(pv), 2, None),
            num(fen_to_wan(av), 2, None),
            num(fen_to_wan(dv), 2, None),
            rate(Exact::int(av as i128), Exact::int(pv as i128)),
            rate(Exact::int(dv as i128), Exact::int(av as i128)),
        ]);
    }
    let total = vec![
        text("合计"),
        num(fen_to_wan(tp), 2, None),
        num(fen_to_wan(ta), 2, None),
        num(fen_to_wan(td), 2, None),
        rate(Exact::int(ta as i128), Exact::int(tp as i128)),
        rate(Exact::int(td as i128), Exact::int(ta as i128)),
    ];
    Ok(finish(
        "资金",
        "援疆资金到位与拨付情况（按年度）",
        &["年度", "计划投资（万元）", "已下达（万元）", "已拨付（万元）", "资金到位率（%）", "资金拨付率（%）"],
        rows,
        total,
        &[1, 2, 3],
    ))
}

/// The columns every periodic table by batch or by sector gives: projects with 开工率 and 完工率
/// (multi-year projects left out of the latter), funds planned, allocated and disbursed with
/// 资金到位率, 资金拨付率 and 投资完成率.
const FULL_COLUMNS: [&str; 9] = [
    "项目（个）",
    "开工率（%）",
    "完工率（%，不含跨年度项目）",
    "计划投资（万元）",
    "已下达（万元）",
    "已拨付（万元）",
    "资金到位率（%）",
    "资金拨付率（%）",
    "投资完成率（%）",
];

/// One row of [`FULL_COLUMNS`] from (projects, started, single-year, single-year completed,
/// planned, allocated, disbursed).
fn full_row(name: &str, v: [i64; 7]) -> Vec<Cell> {
    let e = |x: i64| Exact::int(x as i128);
    vec![
        text(name),
        num(e(v[0]), 0, None),
        rate(e(v[1]), e(v[0])),
        rate(e(v[3]), e(v[2])),
        num(fen_to_wan(v[4]), 2, None),
        num(fen_to_wan(v[5]), 2, None),
        num(fen_to_wan(v[6]), 2, None),
        rate(e(v[5]), e(v[4])),
        rate(e(v[6]), e(v[5])),
        rate(e(v[6]), e(v[4])),
    ]
}

/// A periodic table by `by` (batch or sector) with [`FULL_COLUMNS`].
async fn full_table(
    c: &Ctx<'_>,
    by: &str,
    head: &str,
    sheet: &str,
    title: &str,
    name: impl Fn(&str) -> String,
) -> Result<Table> {
    let started = || Filter::any("status", &["started", "completed", "accepted"]);
    let done = || Filter::any("status", &["completed", "accepted"]);
    let single = || Filter::eq("multi_year", 0);
    let all = c.by("projects", Measure::Count, vec![], by).await?;
    let st = c.by("projects", Measure::Count, vec![started()], by).await?;
    let one = c.by("projects", Measure::Count, vec![single()], by).await?;
    let dn = c.by("projects", Measure::Count, vec![single(), done()], by).await?;
    let [p, a, d] = c.funds_by(by).await?;
    let get = |m: &HashMap<String, i64>, k: &str| m.get(k).copied().unwrap_or(0);
    let mut rows = Vec::new();
    let mut t = [0i64; 7];
    for k in sorted_keys([&all, &p, &a, &d]) {
        let v = [get(&all, &k), get(&st, &k), get(&one, &k), get(&dn, &k), get(&p, &k), get(&a, &k), get(&d, &k)];
        for (i, x) in v.iter().enumerate() {
            t[i] += x;
        }
        rows.push(full_row(&if k.is_empty() { "未填".to_string() } else { name(&k) }, v));
    }
    let mut columns = vec![head];
    columns.extend(FULL_COLUMNS);
    Ok(finish(sheet, title, &columns, rows, full_row("合计", t), &[4, 5, 6]))
}

async fn funds_by_batch(c: &Ctx<'_>) -> Result<Table> {
    full_table(c, "batch", "批次", "批次", "援疆项目与资金（按批次）", |k| format!("第{k}批")).await
}

async fn projects_by_sector(c: &Ctx<'_>) -> Result<Table> {
    let name = |k: &str| domain::projects::SECTORS.iter().find(|(c, _)| *c == k).map_or(k, |(_, n)| n).to_string();
    full_table(c, "sector", "项目类别", "项目", "援疆项目开工、完工与资金情况（按类别）", name).await
}

/// Funds by place, with the two shares superiors ask for: funds to county level and below, and
/// funds to livelihood projects (each expected to be at least 80%).
async fn funds_by_place(c: &Ctx<'_>) -> Result<Table> {
    let planned = Measure::Sum("planned_fen".into());
    let disbursed = Measure::Sum("disbursed_fen".into());
    let by_region = c.by("project_funding", planned.clone(), vec![], "region").await?;
    let paid_region = c.by("project_funding", disbursed.clone(), vec![], "region").await?;
    let livelihood = c.by("project_funding", planned, vec![], "livelihood").await?;
    let paid_livelihood = c.by("project_funding", disbursed, vec![], "livelihood").await?;
    let total: i64 = by_region.values().sum();
    let paid: i64 = paid_region.values().sum();
    let e = |x: i64| Exact::int(x as i128);
    let row = |name: String, code: String, p: i64, d: i64| {
        vec![
            text(name),
            text(code),
            num(fen_to_wan(p), 2, None),
            num(fen_to_wan(d), 2, None),
            rate(e(d), e(p)),
            rate(e(p), e(total)),
        ]
    };
    let mut keys: Vec<&String> = by_region.keys().collect();
    keys.sort();
    let mut rows = Vec::new();
    let (mut county, mut county_paid) = (0, 0);
    for k in keys {
        let (v, dv) = (by_region[k], paid_region.get(k).copied().unwrap_or(0));
        let region = REGIONS.iter().find(|r| r.code == k.as_str());
        if region.is_none_or(|r| !matches!(r.level, Level::Province | Level::Prefecture)) {
            county += v;
            county_paid += dv;
        }
        rows.push(row(region.map_or_else(|| k.clone(), |r| r.name.to_string()), k.clone(), v, dv));
    }
    let mut t = finish(
        "地区",
        "援疆资金投向（按地区）",
        &["地区", "区划代码", "计划投资（万元）", "已拨付（万元）", "资金拨付率（%）", "占比（%）"],
        rows,
        row("合计".into(), String::new(), total, paid),
        &[2, 3],
    );
    let live = livelihood.get("1").copied().unwrap_or(0);
    let live_paid = paid_livelihood.get("1").copied().unwrap_or(0);
    t.rows.push(row("其中：县及县以下".into(), String::new(), county, county_paid));
    t.rows.push(row("其中：民生项目".into(), String::new(), live, live_paid));
    Ok(t)
}

/// Each indicator's latest value, year on year (同比), against its baseline and target.
async fn indicators(c: &Ctx<'_>, store: &Store) -> Result<Table> {
    let targets = store.indicator_targets().await?;
    let roots = store.root_orgs().await?;
    let mut rows = Vec::new();
    for (code, name, unit, scale) in store.indicator_list().await? {
        let orgs: Vec<(String, String)> = match &c.scope.org {
            Some(o) => vec![(o.clone(), o.clone())],
            None => {
                let t: Vec<(String, String)> =
                    targets.iter().filter(|t| t.0 == code).map(|t| (t.1.clone(), t.2.clone())).collect();
                if t.is_empty() {
                    roots.clone()
                } else {
                    t
                }
            }
        };
        for (org, org_name) in orgs {
            let probe = FigureDef {
                key: code.clone(),
                name: name.clone(),
                line: "overview".into(),
                unit: unit.clone(),
                decimals: 2,
                description: String::new(),
                spec: Spec::Indicator {
                    indicator: code.clone(),
                    org: org.clone(),
                    periods: vec![],
                    across: Default::default(),
                    compare: None,
                    divisor: 1,
                },
            };
            let series = c.engine.indicator_series(&probe, &code, &org).await?;
            let Some((last_p, last)) = series.last().cloned() else { continue };
            let prev = series.len().checked_sub(2).and_then(|i| series.get(i)).cloned();
            let yoy = match &prev {
                Some((_, p)) if p.num != 0 => {
                    num(last.minus(*p).checked_div(*p).unwrap_or(Exact::int(0)).mul_int(100), 1, None)
                }
                _ => text("—"),
            };
            let scale = Exact::int(10i128.pow(scale.clamp(0, 12) as u32));
            let target = targets.iter().find(|t| t.0 == code && t.1 == org);
            // Large sums of 元 are shown in 亿元 or 万元, as the dashboard shows them.
            let big = f64_of(last).abs();
            let (div, unit) = match unit.as_str() {
                "元" if big >= 1e8 => (100_000_000, "亿元".to_string()),
                "元" if big >= 1e4 => (10_000, "万元".to_string()),
                _ => (1, unit.clone()),
            };
            let scale = scale.mul_int(div);
            let last = last.checked_div(Exact::int(div)).unwrap_or(last);
            let prev = prev.map(|(p, v)| (p, v.checked_div(Exact::int(div)).unwrap_or(v)));
            let raw = |v: i64| Exact::int(v as i128).checked_div(scale).unwrap_or(Exact::int(0));
            let (base_cell, target_cell, progress) = match target {
                Some(t) => {
                    let (b, g) = (raw(t.4), raw(t.6));
                    let progress = match last.minus(b).checked_div(g.minus(b)) {
                        Some(r) if g.minus(b).num != 0 => num(r.mul_int(100), 1, None),
                        _ => text("—"),
                    };
                    (
                        text(format!("{}（{}）", b.display(2), t.3)),
                        text(format!("{}（{}）", g.display(2), t.5)),
                        progress,
                    )
                }
                None => (text("—"), text("—"), text("—")),
            };
            rows.push(vec![
                text(format!("{name}（{unit}）")),
                text(org_name.clone()),
                text(last_p.to_string()),
                num(last, 2, None),
                prev.map_or_else(|| text("—"), |(_, p)| num(p, 2, None)),
                yoy,
                base_cell,
                target_cell,
                progress,
            ]);
        }
    }
    Ok(Table {
        sheet: "指标".into(),
        title: "指标分析（同比、基线与目标）".into(),
        columns: [
            "指标（单位）",
            "单位",
            "统计期",
            "本期值",
            "上期值",
            "同比（%）",
            "基线（统计期）",
            "目标（统计期）",
            "目标完成进度（%）",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
        rows,
        total: None,
        note: Some("同比 = （本期值 − 上期值）÷ 上期值；目标完成进度 = （本期值 − 基线）÷（目标 − 基线）。".into()),
    })
}

/// One table per line of work of the figures the report states, each its own sheet: name,
/// value (unrounded in the spreadsheet), unit.
fn by_line(defs: &[FigureDef], values: &HashMap<String, FigureValue>) -> Vec<Table> {
    let mut out = Vec::new();
    for (line, sheet) in domain::figures::FIGURE_LINES {
        let mut rows = Vec::new();
        for d in defs.iter().filter(|d| d.line == *line) {
            let Some(v) = values.get(&d.key) else { continue };
            rows.push(vec![
                text(d.name.clone()),
                if v.empty {
                    text("—")
                } else {
                    Cell::Number {
                        value: f64_of(v.exact),
                        decimals: v.decimals,
                        shown: v.display.clone(),
                        href: Some(format!("/figures/{}", d.key)),
                    }
                },
                text(v.unit.clone()),
                text(period_of(d)),
            ]);
        }
        if !rows.is_empty() {
            out.push(Table {
                sheet: sheet.to_string(),
                title: format!("{sheet}主要指标"),
                columns: ["指标", "数值", "单位", "统计期"].iter().map(|c| c.to_string()).collect(),
                rows,
                total: None,
                note: None,
            });
        }
    }
    out
}

/// A table by its kind, computed once per report: a chart of it reuses the same numbers.
async fn table_of(c: &Ctx<'_>, store: &Store, kind: &str, done: &mut HashMap<String, Table>) -> Result<Table> {
    if let Some(t) = done.get(kind) {
        return Ok(t.clone());
    }
    let t = match kind {
        "funds_by_year" => funds_by_year(c).await?,
        "funds_by_batch" => funds_by_batch(c).await?,
        "projects_by_sector" => projects_by_sector(c).await?,
        "funds_by_place" => funds_by_place(c).await?,
        _ => indicators(c, store).await?,
    };
    done.insert(kind.to_string(), t.clone());
    Ok(t)
}

fn invalid(e: domain::Invalids) -> ServiceError {
    ServiceError::Store(StoreError::Invalid(e))
}

/// Evaluate a template (its current version, or the one the request names).
pub async fn evaluate(store: &Store, req: &Request) -> Result<Rendered> {
    let row = store.template(&req.template, req.version).await?;
    evaluate_body(store, req, row.version, &row.body).await
}

/// Evaluate a template's text that is not saved (a preview while editing): version 0.
pub async fn evaluate_text(store: &Store, req: &Request, _name: &str, body: &str) -> Result<Rendered> {
    evaluate_body(store, req, 0, body).await
}

async fn evaluate_body(store: &Store, req: &Request, version: i64, body: &str) -> Result<Rendered> {
    let row =
        store::reports::TemplateRow { key: req.template.clone(), version, name: String::new(), body: body.to_string() };
    let t = parse(&row.body).map_err(invalid)?;
    let engine = Engine::new(store);
    let defs = engine.definitions().await?;
    let mut values: HashMap<String, FigureValue> = HashMap::new();
    let mut used = Vec::new();
    let mut used_defs: Vec<domain::figures::FigureDef> = Vec::new();
    for key in t.figure_keys() {
        let def = defs.iter().find(|d| d.key == key).ok_or_else(|| {
            invalid(
                domain::Invalid::new(
                    "body",
                    "模板",
                    "占位符须引用已定义的指标",
                    format!("模板“{}”引用了不存在的指标“{key}”", row.key),
                )
                .into(),
            )
        })?;
        let v = engine.evaluate(def).await?;
        used_defs.push(def.clone());
        used.push(UsedFigure {
            key: key.clone(),
            name: def.name.clone(),
            definition: {
                let d = if def.description.is_empty() { def.name.clone() } else { def.description.clone() };
                match def.counted_zh() {
                    Some(c) => format!("{d}（{c}）"),
                    None => d,
                }
            },
            scope: "全部（按指标口径）".into(),
            period: period_of(def),
            shown: format!("{} {}", v.display, v.unit),
            records: engine.record_count(def).await?,
            computed_at: v.computed_at.clone(),
        });
        values.insert(key, v);
    }
    let period = span_words(Some(req.from), Some(req.to));
    let runs = |pieces: &[Piece]| -> Vec<Run> {
        pieces
            .iter()
            .map(|p| match p {
                Piece::Text { text } => Run::Text { text: text.clone() },
                Piece::Field { name } => {
                    Run::Text { text: if name == "period" { period.clone() } else { req.scope_label.clone() } }
                }
                Piece::Figure { key, format } => Run::Figure {
                    key: key.clone(),
                    shown: values.get(key).map_or_else(|| "—".into(), |v| shown(v, format)),
                },
            })
            .collect()
    };
    let plain = |runs: Vec<Run>| -> String {
        runs.into_iter()
            .map(|r| match r {
                Run::Text { text } => text,
                Run::Figure { shown, .. } => shown,
            })
            .collect()
    };
    let c = Ctx { engine: Engine::new(store), scope: req.scope() };
    let mut sections: Vec<Section> = Vec::new();
    let mut tables: HashMap<String, Table> = HashMap::new();
    for b in &t.blocks {
        match b {
            TemplateBlock::Heading { level, pieces } => {
                sections.push(Section { heading: plain(runs(pieces)), level: *level, blocks: Vec::new() })
            }
            other => {
                if sections.is_empty() {
                    sections.push(Section { heading: String::new(), level: 0, blocks: Vec::new() });
                }
                if matches!(other, TemplateBlock::Table { table } if table == "figures_by_line") {
                    let tables = by_line(&defs, &values);
                    if let Some(s) = sections.last_mut() {
                        s.blocks.extend(tables.into_iter().map(Block::Table));
                    }
                    continue;
                }
                let block = match other {
                    TemplateBlock::Paragraph { pieces } => Block::Paragraph { runs: runs(pieces) },
                    TemplateBlock::Table { table } => Block::Table(table_of(&c, store, table, &mut tables).await?),
                    // The chart plots the very table the report shows (computed once), so the
                    // two cannot disagree.
                    TemplateBlock::Chart { chart } => {
                        let t = table_of(&c, store, chart, &mut tables).await?;
                        let title = CHARTS.iter().find(|(k, _)| k == chart).map_or(t.title.as_str(), |(_, n)| n);
                        Block::Chart(
                            super::chart::of_table(chart, title, &t)
                                .map_err(|e| ServiceError::Output(e.to_string()))?,
                        )
                    }
                    TemplateBlock::Heading { .. } => continue,
                };
                if let Some(s) = sections.last_mut() {
                    s.blocks.push(block);
                }
            }
        }
    }
    let now = chrono::Utc::now();
    Ok(Rendered {
        template: row.key.clone(),
        version: row.version,
        title: t.title.clone(),
        subtitle: plain(runs(&t.subtitle)),
        from: req.from,
        to: req.to,
        scope: req.scope_label.clone(),
        counts: format!(
            "交流交往活动等须报送审核的记录{}，其他记录为已保存的全部记录；各指标所计状态见附件",
            counts_of(&used_defs)
        ),
        generated_at: now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        generated_by: req.by.clone(),
        issuer: t.issuer.clone(),
        issued_on: Date::from_naive((now + chrono::Duration::hours(8)).date_naive()),
        sections,
        figures: used,
    })
}

/// What the report's reviewed figures count: one rule when they agree, "按各指标口径" otherwise.
fn counts_of(defs: &[domain::figures::FigureDef]) -> String {
    let mut rules: Vec<&str> = defs.iter().filter_map(|d| d.counted_zh()).collect();
    rules.sort();
    rules.dedup();
    match rules.as_slice() {
        [] => domain::reporting::Counted::Approved.zh().to_string(),
        [one] => one.to_string(),
        _ => "按各指标口径计入".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(num: i128, den: i128, unit: &str, decimals: u32) -> FigureValue {
        let exact = Exact::new(num, den).unwrap_or(Exact::int(0));
        FigureValue {
            key: "k".into(),
            name: "n".into(),
            line: "overview".into(),
            unit: unit.into(),
            decimals,
            exact,
            display: exact.display(decimals),
            value: 0.0,
            empty: false,
            computed_at: String::new(),
        }
    }

    #[test]
    fn an_empty_median_or_share_is_stated_as_a_dash() {
        let e = FigureValue { empty: true, display: "—".into(), ..v(0, 1, "分钟", 0) };
        for f in [Format::Defined, Format::Decimals(1), Format::Percent, Format::Approx(10), Format::Chinese] {
            assert_eq!(shown(&e, &f), "—");
        }
    }

    #[test]
    fn figures_are_stated_in_the_templates_format() {
        assert_eq!(shown(&v(4236, 1, "名", 0), &Format::Approx(1000)), "4000余");
        assert_eq!(shown(&v(186, 1, "场", 0), &Format::Approx(10)), "180余");
        assert_eq!(shown(&v(11, 1, "批", 0), &Format::Chinese), "十一");
        assert_eq!(shown(&v(943, 1022, "", 0).clone(), &Format::Percent), "0.9%");
        let rate = v(94300, 1022, "%", 1);
        assert_eq!(shown(&rate, &Format::Defined), "92.3");
        assert_eq!(shown(&rate, &Format::Percent), "92.3%");
        // 351,094,300 元 = 35109.43 万元 = 3.51 亿元
        let wan = v(351_094_300, 10_000, "万元", 2);
        assert_eq!(shown(&wan, &Format::Wan), "35109.43");
        assert_eq!(shown(&wan, &Format::Yi), "3.51");
        assert_eq!(shown(&v(4136, 100, "亿元", 2), &Format::Wan), "413600.00");
    }

    #[test]
    fn a_rounded_column_that_does_not_add_up_gets_the_note() {
        let n = |x: f64| num(Exact::new((x * 1000.0) as i128, 1000).unwrap(), 2, None);
        let rows = vec![vec![n(0.005)], vec![n(0.005)]];
        assert!(!adds_up(&rows, &[n(0.01)], 0), "0.01 + 0.01 shown, 0.01 total");
        assert!(adds_up(&rows[..1], &[n(0.005)], 0));
        let t = finish("s", "t", &["a"], rows, vec![n(0.01)], &[0]);
        assert_eq!(t.note.as_deref(), Some(ROUNDING_NOTE));
    }
}
