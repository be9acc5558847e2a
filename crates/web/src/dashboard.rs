//! The dashboard (驾驶舱): the program's headline figures, then an analysis for a chosen period
//! and scope (a place or an organization subtree): projects by status and sector, funds with
//! 资金拨付率 / 开工率 / 完工率, personnel by batch and category, pairings by type, activities and
//! beneficiaries by month and by line of work, indicator series against baseline and target, and
//! the projects' schedule lights (红黄绿灯).
//!
//! Every number is computed by the figure engine: a breakdown is a figure definition made on the
//! fly ([`Drill`]) broken down by one field, and each part opens, through `/figures/drill`, to the
//! very records the engine counted. Charts are SVG drawn on the server by `plotters`, so they are
//! the same on screen, in print and in exports; every bar and every point is a link.

use crate::auth::Ctx;
use crate::records::encode;
use crate::{AppError, AppState};
use domain::catalog::by_table;
use domain::figures::{Across, Exact, FigureDef, Filter, FilterOp, FilterValue, Measure, Span, Spec};
use domain::indicators::Period;
use domain::people::{CATEGORIES, LINES};
use domain::projects::{Schedule, SECTORS, STATUSES};
use domain::regions::{Level, RegionCode, REGIONS};
use domain::reporting::Counted;
use domain::{Date, Invalid};
use maud::{html, Markup, PreEscaped};
use plotters::prelude::*;
use serde_json::{Map, Value};
use services::figures::{Engine, Flagged};
use store::records::ListQuery;

// ---- Charts ------------------------------------------------------------------------------------

/// One bar (or point): its label, its value, and the list of records behind it.
pub struct Bar {
    pub label: String,
    pub value: i64,
    pub href: String,
}

const BAR_FILL: RGBColor = RGBColor(0xb3, 0x26, 0x1e);
const POINT_FILL: RGBColor = RGBColor(0x1f, 0x4e, 0x8c);
const BASELINE: RGBColor = RGBColor(0x80, 0x80, 0x80);
const TARGET: RGBColor = RGBColor(0x2e, 0x7d, 0x32);

type Drawn<'a> = Result<(), Box<dyn std::error::Error + 'a>>;

/// A bar chart as SVG, each bar a link to its records.
pub fn bar_chart(title: &str, bars: &[Bar]) -> String {
    let every = if bars.len() > 14 { bars.len().div_ceil(7) } else { 1 };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (560, 260)).into_drawing_area();
        let max = bars.iter().map(|b| b.value).max().unwrap_or(0).max(1);
        let drawn = (|| -> Drawn<'_> {
            root.fill(&WHITE)?;
            let mut chart = ChartBuilder::on(&root)
                .caption(title, ("sans-serif", 16))
                .margin(10)
                .x_label_area_size(34)
                .y_label_area_size(56)
                .build_cartesian_2d((0..bars.len().max(1) - 1).into_segmented(), 0..(max + max / 8 + 1))?;
            chart
                .configure_mesh()
                .disable_x_mesh()
                .x_labels(bars.len().max(1))
                .x_label_formatter(&|x| match x {
                    SegmentValue::CenterOf(i) if i % every == 0 => {
                        bars.get(*i).map(|b| b.label.clone()).unwrap_or_default()
                    }
                    _ => String::new(),
                })
                .label_style(("sans-serif", 12))
                .draw()?;
            // One rectangle per bar, drawn in the bars' order (plotters' `Histogram` collects
            // its data into a hash map, which would scramble the order the links rely on).
            let margin = if bars.len() > 14 { 1 } else { 8 };
            chart.draw_series(bars.iter().enumerate().map(|(i, b)| {
                let mut r = Rectangle::new(
                    [
                        (SegmentValue::Exact(i), 0),
                        (if i + 1 == bars.len() { SegmentValue::Last } else { SegmentValue::Exact(i + 1) }, b.value),
                    ],
                    BAR_FILL.filled(),
                );
                r.set_margin(0, 0, margin, margin);
                r
            }))?;
            root.present()?;
            Ok(())
        })();
        if drawn.is_err() {
            return String::new();
        }
    }
    let links: Vec<(String, String)> =
        bars.iter().map(|b| (b.href.clone(), format!("{}：{}", b.label, b.value))).collect();
    link_marks(&svg, "<rect", "fill=\"#B3261E\"", &links)
}

/// A point of a line chart: its label, value, value as shown, and the records behind it.
pub struct Point {
    pub label: String,
    pub value: f64,
    pub shown: String,
    pub href: String,
}

/// An indicator's values over its periods as a line, with its baseline and target as dashed
/// lines; each point a link to the values behind it.
fn line_chart(title: &str, points: &[Point], baseline: Option<(String, f64)>, target: Option<(String, f64)>) -> String {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (560, 260)).into_drawing_area();
        let vals: Vec<f64> = points.iter().map(|p| p.value).collect();
        let refs = baseline.iter().chain(target.iter()).map(|(_, v)| *v);
        let max = vals.iter().copied().chain(refs.clone()).fold(0.0_f64, f64::max);
        let min = vals.iter().copied().chain(refs).fold(max, f64::min);
        let pad = ((max - min) * 0.15).max(max.abs() * 0.05).max(1e-9);
        let n = points.len().max(1);
        let drawn = (|| -> Drawn<'_> {
            root.fill(&WHITE)?;
            let mut chart = ChartBuilder::on(&root)
                .caption(title, ("sans-serif", 16))
                .margin(10)
                .x_label_area_size(30)
                .y_label_area_size(56)
                .build_cartesian_2d(-0.5..(n as f64 - 0.5), (min - pad).min(0.0_f64.max(min - pad))..(max + pad))?;
            chart
                .configure_mesh()
                .disable_x_mesh()
                .x_labels(n)
                .x_label_formatter(&|x| {
                    let i = x.round();
                    if (x - i).abs() < 1e-6 && i >= 0.0 {
                        points.get(i as usize).map(|p| p.label.clone()).unwrap_or_default()
                    } else {
                        String::new()
                    }
                })
                .label_style(("sans-serif", 12))
                .draw()?;
            let ends = [-0.5, n as f64 - 0.5];
            if let Some((label, v)) = &baseline {
                chart
                    .draw_series(DashedLineSeries::new(ends.map(|x| (x, *v)), 6, 4, BASELINE.stroke_width(2)))?
                    .label(label.clone())
                    .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], BASELINE.stroke_width(2)));
            }
            if let Some((label, v)) = &target {
                chart
                    .draw_series(DashedLineSeries::new(ends.map(|x| (x, *v)), 6, 4, TARGET.stroke_width(2)))?
                    .label(label.clone())
                    .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], TARGET.stroke_width(2)));
            }
            chart.draw_series(LineSeries::new(
                vals.iter().enumerate().map(|(i, v)| (i as f64, *v)),
                POINT_FILL.stroke_width(2),
            ))?;
            chart.draw_series(
                vals.iter().enumerate().map(|(i, v)| Circle::new((i as f64, *v), 5, POINT_FILL.filled())),
            )?;
            if baseline.is_some() || target.is_some() {
                chart
                    .configure_series_labels()
                    .position(SeriesLabelPosition::LowerRight)
                    .background_style(WHITE.mix(0.8))
                    .border_style(BLACK.mix(0.2))
                    .label_font(("sans-serif", 12))
                    .draw()?;
            }
            root.present()?;
            Ok(())
        })();
        if drawn.is_err() {
            return String::new();
        }
    }
    let links: Vec<(String, String)> =
        points.iter().map(|p| (p.href.clone(), format!("{}：{}", p.label, p.shown))).collect();
    link_marks(&svg, "<circle", "fill=\"#1F4E8C\"", &links)
}

/// Wrap the n-th mark (an element `tag` carrying `fill`) in a link to the n-th list of records.
fn link_marks(svg: &str, tag: &str, fill: &str, marks: &[(String, String)]) -> String {
    let mut out = String::with_capacity(svg.len() + marks.len() * 60);
    let mut rest = svg;
    let mut n = 0;
    while let Some(i) = rest.find(tag) {
        let Some(end) = rest[i..].find("/>").map(|e| i + e + 2) else { break };
        let el = &rest[i..end];
        out.push_str(&rest[..i]);
        if el.contains(fill) && n < marks.len() {
            let (href, title) = &marks[n];
            out.push_str(&format!(
                "<a href=\"{}\"><title>{}</title>{el}</a>",
                html! { (href) }.into_string(),
                html! { (title) }.into_string(),
            ));
            n += 1;
        } else {
            out.push_str(el);
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

// ---- Drill-down: a figure made on the fly ------------------------------------------------------

/// A record figure made on the fly: a source, a measure, filters and a span. Its `href` opens
/// `/figures/drill`, which evaluates the same definition with the same engine and lists the
/// records behind it, so the count there is the count here.
#[derive(Debug, Clone, PartialEq)]
pub struct Drill {
    pub source: String,
    pub measure: Measure,
    pub filters: Vec<Filter>,
    pub span: Option<Span>,
    pub title: String,
    /// Which review states count (`counted=submitted` includes records not yet approved).
    pub counted: Counted,
}

fn op_code(op: FilterOp) -> &'static str {
    match op {
        FilterOp::Eq => "eq",
        FilterOp::In => "in",
        FilterOp::Under => "under",
        FilterOp::NotUnder => "not_under",
        FilterOp::Ge => "ge",
        FilterOp::Le => "le",
        FilterOp::Empty => "empty",
    }
}

impl Drill {
    fn new(source: &str, measure: Measure, scope: &Scope) -> Drill {
        let (filters, span) = scope.filters(source);
        Drill { source: source.into(), measure, filters, span, title: String::new(), counted: Counted::default() }
    }

    /// The same figure with one more filter: a part of a breakdown.
    pub fn with(&self, f: Filter) -> Drill {
        let mut d = self.clone();
        d.filters.push(f);
        d
    }

    fn titled(mut self, title: impl Into<String>) -> Drill {
        self.title = title.into();
        self
    }

    /// Money (a sum of a `*_fen` measure) is shown in 万元; everything else as counted.
    pub fn def(&self) -> FigureDef {
        self.def_over(if self.money() { 1_000_000 } else { 1 })
    }

    /// The definition with no display divisor: its values are the store's integers as measured
    /// (counts, and sums in the field's own unit: 分 for money), what the API answers.
    pub fn raw_def(&self) -> FigureDef {
        self.def_over(1)
    }

    /// A sum of money (a `*_fen` field)?
    pub fn money(&self) -> bool {
        matches!(&self.measure, Measure::Sum(f) if f.ends_with("_fen"))
    }

    /// The measure as written in a query: `count`, `sum.FIELD`, `distinct.FIELD`, `median.FIELD`,
    /// `p90.FIELD`, `share.FIELD` (the share of records whose FIELD is 1, a flag such as `on_time`).
    pub fn measure_code(&self) -> String {
        match &self.measure {
            Measure::Count => "count".to_string(),
            Measure::Sum(f) => format!("sum.{f}"),
            Measure::CountDistinct(f) => format!("distinct.{f}"),
            Measure::Median(f) => format!("median.{f}"),
            Measure::P90(f) => format!("p90.{f}"),
            // The dashboard makes shares of flags only (`FIELD = 1`), which is what this reads back.
            Measure::Share(flt) => format!("share.{}", flt.field),
        }
    }

    /// A share, shown in per cent to one decimal.
    fn share(&self) -> bool {
        matches!(&self.measure, Measure::Share(_))
    }

    fn def_over(&self, divisor: i64) -> FigureDef {
        let money = self.money();
        FigureDef {
            key: "drill".into(),
            name: self.title.clone(),
            line: "overview".into(),
            unit: if money {
                "万元".into()
            } else if self.share() {
                "%".into()
            } else {
                String::new()
            },
            decimals: if money {
                2
            } else if self.share() {
                1
            } else {
                0
            },
            description: String::new(),
            spec: Spec::Records {
                source: self.source.clone(),
                measure: self.measure.clone(),
                filters: self.filters.clone(),
                span: self.span.clone(),
                divisor,
                counted: self.counted,
            },
        }
    }

    pub fn href(&self) -> String {
        let mut q = vec![("source", self.source.clone()), ("measure", self.measure_code())];
        for f in &self.filters {
            let v = match &f.value {
                FilterValue::Int(i) => i.to_string(),
                FilterValue::Text(t) => t.clone(),
                FilterValue::List(l) => l.join(","),
            };
            q.push(("f", format!("{}:{}:{v}", f.field, op_code(f.op))));
        }
        if let Some(s) = &self.span {
            if let Some(d) = s.from {
                q.push(("from", d.to_string()));
            }
            if let Some(d) = s.to {
                q.push(("to", d.to_string()));
            }
        }
        if !self.counted.is_default() {
            q.push(("counted", "submitted".into()));
        }
        q.push(("title", self.title.clone()));
        let qs: Vec<String> = q.iter().map(|(k, v)| format!("{k}={}", encode(v))).collect();
        format!("/figures/drill?{}", qs.join("&"))
    }

    /// Read a drill-down back from its query; a malformed one is refused naming the parameter
    /// (`source`, `measure`, `f`, `from`, `to`) and the rule.
    pub fn parse(pairs: &[(String, String)]) -> Result<Drill, Invalid> {
        let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.trim().to_string()).unwrap_or_default();
        let source = get("source");
        if source.is_empty() {
            return Err(Invalid::new("source", "数据集（source）", "必填", "缺少数据集（source）"));
        }
        let m = get("measure");
        let measure = match m.split_once('.') {
            None if m == "count" || m.is_empty() => Measure::Count,
            Some(("sum", f)) if !f.is_empty() => Measure::Sum(f.into()),
            Some(("distinct", f)) if !f.is_empty() => Measure::CountDistinct(f.into()),
            Some(("median", f)) if !f.is_empty() => Measure::Median(f.into()),
            Some(("p90", f)) if !f.is_empty() => Measure::P90(f.into()),
            Some(("share", f)) if !f.is_empty() => Measure::Share(Box::new(Filter::eq(f, 1))),
            _ => {
                return Err(Invalid::new(
                    "measure",
                    "统计方式（measure）",
                    "count、sum.字段、distinct.字段、median.字段、p90.字段 或 share.字段",
                    format!("统计方式（measure）“{m}”无效"),
                ))
            }
        };
        let mut filters = Vec::new();
        for (_, f) in pairs.iter().filter(|(k, _)| k == "f") {
            let bad = |rule: &str, message: String| Invalid::new("f", "筛选条件（f）", rule, message);
            let mut parts = f.splitn(3, ':');
            let (Some(field), Some(op), Some(v)) = (parts.next(), parts.next(), parts.next()) else {
                return Err(bad("字段:方式:值", format!("筛选条件（f）“{f}”应写作 字段:方式:值")));
            };
            let op = match op {
                "eq" => FilterOp::Eq,
                "in" => FilterOp::In,
                "under" => FilterOp::Under,
                "not_under" => FilterOp::NotUnder,
                "ge" => FilterOp::Ge,
                "le" => FilterOp::Le,
                "empty" => FilterOp::Empty,
                _ => {
                    return Err(bad(
                        "方式为 eq、in、under、not_under、ge、le 或 empty",
                        format!("筛选条件（f）“{f}”的筛选方式“{op}”无效"),
                    ))
                }
            };
            let value = if op == FilterOp::In {
                FilterValue::List(v.split(',').map(str::to_string).collect())
            } else {
                FilterValue::Text(v.to_string())
            };
            filters.push(Filter { field: field.into(), op, value });
        }
        let date = |k: &str, label: &str| -> Result<Option<Date>, Invalid> {
            let v = get(k);
            if v.is_empty() {
                Ok(None)
            } else {
                Date::parse(&v).map(Some).map_err(|e| e.at(k, label))
            }
        };
        let (from, to) = (date("from", "起始日期（from）")?, date("to", "截止日期（to）")?);
        let span = (from.is_some() || to.is_some()).then_some(Span { from, to });
        let counted = match get("counted").as_str() {
            "" | "approved" => Counted::Approved,
            "submitted" => Counted::Submitted,
            c => {
                return Err(Invalid::new(
                    "counted",
                    "统计口径（counted）",
                    "approved（仅审核通过）或 submitted（含已上报）",
                    format!("统计口径（counted）“{c}”无效"),
                ))
            }
        };
        Ok(Drill { source, measure, filters, span, title: get("title"), counted })
    }
}

/// An indicator's value for an organization subtree in one period, as a figure.
pub fn indicator_def(code: &str, org: &str, period: &Period, title: &str) -> FigureDef {
    FigureDef {
        key: "drill".into(),
        name: title.into(),
        line: "overview".into(),
        unit: String::new(),
        decimals: 2,
        description: String::new(),
        spec: Spec::Indicator {
            indicator: code.into(),
            org: org.into(),
            periods: vec![period.clone()],
            across: Across::Only,
            compare: None,
            divisor: 1,
        },
    }
}

fn indicator_href(code: &str, org: &str, period: &Period, title: &str) -> String {
    format!(
        "/figures/drill?indicator={}&org={}&period={}&title={}",
        encode(code),
        encode(org),
        encode(&period.to_string()),
        encode(title)
    )
}

// ---- The chooser: period and scope -------------------------------------------------------------

/// The period and scope the analysis is for.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// The chooser's values, to carry into links.
    pub period: String,
    pub place: String,
    pub org: String,
    pub line: String,
    pub from: Option<Date>,
    pub to: Option<Date>,
    pub place_code: Option<RegionCode>,
    pub label: String,
}

impl Scope {
    /// The filters and span that confine `source` to this scope (the engine's mapping).
    fn filters(&self, source: &str) -> (Vec<Filter>, Option<Span>) {
        services::figures::Scope {
            from: self.from,
            to: self.to,
            place: self.place_code.clone(),
            org: Some(self.org.clone()).filter(|o| !o.is_empty()),
            line: Some(self.line.clone()).filter(|l| !l.is_empty()),
        }
        .filters(source)
    }

    fn query(&self) -> String {
        format!(
            "period={}&place={}&org={}&line={}",
            encode(&self.period),
            encode(&self.place),
            encode(&self.org),
            encode(&self.line)
        )
    }
}

/// Batches as (number, start, end) and organizations as (code, name, depth) for the chooser.
struct Options {
    batches: Vec<(i64, Option<Date>, Option<Date>)>,
    orgs: Vec<(String, String, usize)>,
}

fn col(row: &Map<String, Value>, k: &str) -> String {
    crate::records::text_of(row.get(k))
}

async fn options(s: &AppState, ctx: &Ctx) -> Result<Options, AppError> {
    let actor = ctx.user.actor(None);
    let all = |per_page| ListQuery { page: 1, per_page, ..Default::default() };
    let mut batches = Vec::new();
    if let Some(t) = by_table("batches") {
        for r in s.store.records(&actor, t, &all(200)).await?.rows {
            let n: i64 = col(&r, "number").parse().unwrap_or(0);
            batches.push((n, Date::parse(&col(&r, "start_date")).ok(), Date::parse(&col(&r, "end_date")).ok()));
        }
    }
    batches.sort_by_key(|b| std::cmp::Reverse(b.0));
    let mut orgs = Vec::new();
    if let Some(t) = by_table("organizations") {
        let mut rows: Vec<(String, String, String, String)> = s
            .store
            .records(&actor, t, &all(500))
            .await?
            .rows
            .iter()
            .map(|r| (col(r, "side"), col(r, "path"), col(r, "code"), col(r, "name")))
            .collect();
        rows.sort();
        for (_, path, code, name) in rows {
            let depth = path.matches('/').count().saturating_sub(2);
            if depth <= 3 {
                orgs.push((code, name, depth));
            }
        }
    }
    Ok(Options { batches, orgs })
}

/// Resolve the chooser's values; a value that names nothing is ignored (and shown as such).
fn scope(ctx: &Ctx, pairs: &[(String, String)], opts: &Options) -> Scope {
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.trim().to_string()).unwrap_or_default();
    let mut sc =
        Scope { period: get("period"), place: get("place"), org: get("org"), line: get("line"), ..Scope::default() };
    let mut labels = Vec::new();
    if let Some(n) = sc.period.strip_prefix('b').and_then(|n| n.parse::<i64>().ok()) {
        if let Some((_, from, to)) = opts.batches.iter().find(|b| b.0 == n) {
            sc.from = *from;
            sc.to = *to;
            labels.push(format!("{}{n}{}", ctx.t("第", "Batch "), ctx.t("批", "")));
        }
    } else if let Some(y) = sc.period.strip_prefix('y').and_then(|y| y.parse::<i32>().ok()) {
        sc.from = Date::ymd(y, 1, 1);
        sc.to = Date::ymd(y, 12, 31);
        labels.push(format!("{y}{}", ctx.t("年", "")));
    }
    if sc.from.is_none() && sc.to.is_none() {
        sc.period.clear();
    }
    match RegionCode::parse(&sc.place) {
        Ok(code) => {
            if let Some(r) = REGIONS.iter().find(|r| r.code == code.to_string()) {
                labels.push(r.name.to_string());
            }
            sc.place_code = Some(code);
        }
        Err(_) => sc.place.clear(),
    }
    match opts.orgs.iter().find(|o| o.0 == sc.org) {
        Some((_, name, _)) => labels.push(name.clone()),
        None => sc.org.clear(),
    }
    match LINES.iter().find(|(c, _)| *c == sc.line) {
        Some((c, name)) => labels.push(format!("{}{}", ctx.lang.code_name(c, name), ctx.t("条线", " (line of work)"))),
        None => sc.line.clear(),
    }
    sc.label = if labels.is_empty() {
        ctx.t("全部时段、全部范围", "All periods, whole program").into()
    } else {
        labels.join(" · ")
    };
    sc
}

fn chooser(ctx: &Ctx, sc: &Scope, opts: &Options) -> Markup {
    let mut regions: Vec<_> = REGIONS.iter().filter(|r| r.code.starts_with("65")).collect();
    regions.sort_by_key(|r| r.code);
    let this_year = crate::layout::today().year();
    html! {
        form.filters.chooser method="get" action="/" {
            label { span { (ctx.t("时段", "Period")) }
                select name="period" {
                    option value="" { (ctx.t("全部时段", "All periods")) }
                    optgroup label=(ctx.t("援疆批次", "Batches")) {
                        @for (n, from, to) in &opts.batches {
                            @let v = format!("b{n}");
                            option value=(v) selected[sc.period == v] {
                                (ctx.t("第", "Batch ")) (n) (ctx.t("批", "")) "（"
                                (from.map(|d| d.to_string()).unwrap_or_default()) " – "
                                (to.map(|d| d.to_string()).unwrap_or_else(|| ctx.t("至今", "now").into())) "）"
                            }
                        }
                    }
                    optgroup label=(ctx.t("年度", "Years")) {
                        @for y in (2015..=this_year).rev() {
                            @let v = format!("y{y}");
                            option value=(v) selected[sc.period == v] { (y) (ctx.t("年", "")) }
                        }
                    }
                }
            }
            label { span { (ctx.t("地区", "Place")) }
                select name="place" {
                    option value="" { (ctx.t("全部地区", "All places")) }
                    @for r in &regions {
                        @let depth = match r.level { Level::Province => 0, Level::Prefecture => 1, Level::County => 2, _ => 3 };
                        option value=(r.code) selected[sc.place == r.code] { ("　".repeat(depth)) (r.name) }
                    }
                }
            }
            label { span { (ctx.t("单位", "Organization")) }
                select name="org" {
                    option value="" { (ctx.t("全部单位", "All organizations")) }
                    @for (code, name, depth) in &opts.orgs {
                        option value=(code) selected[&sc.org == code] { ("　".repeat(*depth)) (name) }
                    }
                }
            }
            label { span { (ctx.t("工作条线", "Line of work")) }
                select name="line" {
                    option value="" { (ctx.t("全部条线", "All lines")) }
                    @for (c, n) in LINES {
                        option value=(c) selected[sc.line == *c] { (ctx.lang.code_name(c, n)) }
                    }
                }
            }
            button type="submit" { (ctx.t("应用", "Apply")) }
            a href="/" { (ctx.t("清除", "Clear")) }
        }
    }
}

// ---- Panels ------------------------------------------------------------------------------------

fn int(v: &Exact) -> i64 {
    if v.den == 1 {
        i64::try_from(v.num).unwrap_or(i64::MAX)
    } else {
        0
    }
}

/// A drill-down's figure broken down by `by`, as (key, value).
async fn by(engine: &Engine<'_>, d: &Drill, field: &str) -> Result<Vec<(String, i64)>, AppError> {
    Ok(engine.breakdown(&d.def(), field).await?.iter().map(|(k, v)| (k.clone(), int(v))).collect())
}

async fn total(engine: &Engine<'_>, d: &Drill) -> Result<i64, AppError> {
    Ok(int(&engine.evaluate(&d.def()).await?.exact))
}

/// The code lists bars are labelled from: (code, name).
type Codes = Vec<(String, String)>;

fn codes(list: &[(&str, &str)]) -> Codes {
    list.iter().map(|(c, n)| (c.to_string(), n.to_string())).collect()
}

/// One part of a breakdown: the whole with `field` = `key` (or, for the empty key, with no
/// value in `field`), labelled from `list`.
fn part(ctx: &Ctx, d: &Drill, field: &str, list: &Codes, key: &str, value: i64) -> Bar {
    let (label, filter) = if key.is_empty() {
        (ctx.t("未填", "Not given").to_string(), Filter::empty(field))
    } else {
        let name = list.iter().find(|(c, _)| c == key).map_or(key, |(_, n)| n.as_str());
        (ctx.lang.code_name(key, name).to_string(), Filter::eq(field, key))
    };
    Bar { href: d.with(filter).titled(format!("{}：{label}", d.title)).href(), label, value }
}

/// The groups the engine found, in order: the codes of `list` first, in its order (with 0 for
/// those without records when `zeros`), then any other value, then records with none ("").
/// Together they add up to the whole.
fn groups(list: &Codes, got: &[(String, i64)], zeros: bool) -> Vec<(String, i64)> {
    let value = |code: &str| got.iter().find(|(k, _)| k == code).map(|(_, v)| *v);
    let mut out: Vec<(String, i64)> = list
        .iter()
        .filter_map(|(code, _)| {
            let v = value(code);
            (zeros || v.is_some_and(|v| v > 0)).then(|| (code.clone(), v.unwrap_or(0)))
        })
        .collect();
    let mut others: Vec<(String, i64)> =
        got.iter().filter(|(k, v)| *v > 0 && !list.iter().any(|(c, _)| c == k)).cloned().collect();
    others.sort_by_key(|(k, _)| (k.is_empty(), k.clone()));
    out.extend(others);
    out
}

/// A bar for each group of [`groups`], each opening to its records.
fn coded_bars(ctx: &Ctx, d: &Drill, field: &str, list: &Codes, got: &[(String, i64)], zeros: bool) -> Vec<Bar> {
    groups(list, got, zeros).into_iter().map(|(k, v)| part(ctx, d, field, list, &k, v)).collect()
}

/// A breakdown with its chart and its table of numbers, each linking to the records.
fn panel(ctx: &Ctx, title: &str, whole: &Drill, bars: &[Bar]) -> Markup {
    let total: i64 = bars.iter().map(|b| b.value).sum();
    html! {
        section.panel {
            div.chart { (PreEscaped(bar_chart(title, bars))) }
            table.data.compact {
                tbody {
                    @for b in bars { tr { td { (b.label) } td.num { a href=(b.href) { (b.value) } } } }
                    tr.total { td { (ctx.t("合计", "Total")) } td.num { a href=(whole.href()) { (total) } } }
                }
            }
        }
    }
}

/// The remote imaging centre: consultations by department (each bar opening to its requests),
/// the turnaround — median and 90th percentile in minutes, the share within target —, critical
/// results and the share told within 30 minutes, and the transfers avoided; every number through
/// the engine and linked to its records. A median or a share with no record is "—".
async fn imaging(s: &AppState, ctx: &Ctx, engine: &Engine<'_>, sc: &Scope) -> Result<Markup, AppError> {
    let requests = Drill::new("imaging_requests", Measure::Count, sc).titled(ctx.t("远程影像会诊", "Consultations"));
    let got = by(engine, &requests, "department").await?;
    let names = s.store.org_names(&got.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>()).await?;
    let mut list: Codes = names.into_iter().collect();
    list.sort();
    let bars = coded_bars(ctx, &requests, "department", &list, &got, false);
    let tat = |m: Measure, title: &str| Drill::new("imaging_requests", m, sc).titled(title);
    let median =
        tat(Measure::Median("tat_minutes".into()), ctx.t("报告周转时间中位数（分钟）", "Median turnaround (min)"));
    let p90 = tat(Measure::P90("tat_minutes".into()), ctx.t("报告周转时间 P90（分钟）", "90th percentile (min)"));
    let on_time =
        tat(Measure::Share(Box::new(Filter::eq("on_time", 1))), ctx.t("时限内出报告占比", "Reports within target"));
    let avoided = requests
        .with(Filter::eq("outcome", "local"))
        .titled(ctx.t("本院治疗（避免转院）", "Treated locally (transfers avoided)"));
    let criticals = Drill::new("imaging_critical", Measure::Count, sc).titled(ctx.t("危急值", "Critical results"));
    let in_time = Drill::new("imaging_critical", Measure::Share(Box::new(Filter::eq("in_time", 1))), sc)
        .titled(ctx.t("30 分钟内通知占比", "Told within 30 minutes"));
    // A median, a percentile or a share of nothing has no value.
    let shown = |d: &Drill, v: Result<services::figures::FigureValue, services::ServiceError>| -> Markup {
        match v {
            Ok(v) if !v.empty => html! { a href=(d.href()) { (v.display) (if d.share() { "%" } else { "" }) } },
            Ok(_) => html! { "—" },
            Err(e) => {
                tracing::warn!(error = %e, "an imaging figure could not be computed");
                html! { "—" }
            }
        }
    };
    let n = total(engine, &requests).await?;
    let rows = [
        (&median, engine.evaluate(&median.def()).await),
        (&p90, engine.evaluate(&p90.def()).await),
        (&on_time, engine.evaluate(&on_time.def()).await),
    ];
    let (na, nc) = (total(engine, &avoided).await?, total(engine, &criticals).await?);
    Ok(html! {
        section.panel #imaging-panel {
            div.chart { (PreEscaped(bar_chart(ctx.t("远程影像会诊（按科室）", "Consultations by department"), &bars))) }
            table.data.compact {
                tbody {
                    tr.total { td { (ctx.t("会诊申请", "Consultations")) } td.num { a href=(requests.href()) { (n) } } }
                    @for (d, v) in rows { tr { td { (d.title) } td.num { (shown(d, v)) } } }
                    tr { td { (criticals.title) } td.num { a href=(criticals.href()) { (nc) } } }
                    tr { td { (in_time.title) } td.num { (shown(&in_time, engine.evaluate(&in_time.def()).await)) } }
                    tr { td { (avoided.title) } td.num { a href=(avoided.href()) { (na) } } }
                }
            }
        }
    })
}

/// Funds and progress: planned, allocated and disbursed in 万元, with 拨付率, 开工率, 完工率.
async fn funds(ctx: &Ctx, engine: &Engine<'_>, sc: &Scope) -> Result<Markup, AppError> {
    let sum = |col: &str, title: &str| Drill::new("project_funding", Measure::Sum(col.into()), sc).titled(title);
    let planned = sum("planned_fen", ctx.t("计划投资", "Planned"));
    let allocated = sum("allocated_fen", ctx.t("已下达", "Allocated"));
    let disbursed = sum("disbursed_fen", ctx.t("已拨付", "Disbursed"));
    let projects = Drill::new("projects", Measure::Count, sc).titled(ctx.t("项目", "Projects"));
    let started = projects
        .with(Filter::any("status", &["started", "completed", "accepted"]))
        .titled(ctx.t("已开工项目", "Projects started"));
    let done = projects
        .with(Filter::any("status", &["completed", "accepted"]))
        .titled(ctx.t("已完工项目", "Projects completed"));
    // Sums of 分: the definitions show 万元, the rates are taken from the exact 分.
    let fen = |v: services::figures::FigureValue| int(&v.exact.mul_int(1_000_000));
    let p = fen(engine.evaluate(&planned.def()).await?);
    let a = fen(engine.evaluate(&allocated.def()).await?);
    let di = fen(engine.evaluate(&disbursed.def()).await?);
    let (n, st, dn) = (total(engine, &projects).await?, total(engine, &started).await?, total(engine, &done).await?);
    let wan = |fen: i64| domain::Fen(fen).wan_display();
    let rate = |a: i64, b: i64| {
        if b == 0 {
            "—".to_string()
        } else {
            format!("{}%", domain::money::rate_display(a as i128, b as i128))
        }
    };
    let bars: Vec<Bar> = [(&planned, p), (&allocated, a), (&disbursed, di)]
        .into_iter()
        .map(|(d, fen)| Bar { label: d.title.clone(), value: (fen + 500_000).div_euclid(1_000_000), href: d.href() })
        .collect();
    Ok(html! {
        section.panel {
            div.chart { (PreEscaped(bar_chart(ctx.t("援疆资金（万元）", "Aid funds (万元)"), &bars))) }
            table.data.compact {
                tbody {
                    tr { td { (ctx.t("计划投资（万元）", "Planned (万元)")) } td.num { a href=(planned.href()) { (wan(p)) } } }
                    tr { td { (ctx.t("已下达（万元）", "Allocated (万元)")) } td.num { a href=(allocated.href()) { (wan(a)) } } }
                    tr { td { (ctx.t("已拨付（万元）", "Disbursed (万元)")) } td.num { a href=(disbursed.href()) { (wan(di)) } } }
                    tr.total { td { (ctx.t("资金拨付率", "Disbursement rate")) " = " (ctx.t("已拨付÷已下达", "disbursed ÷ allocated")) } td.num { (rate(di, a)) } }
                    tr.total { td { (ctx.t("开工率", "Started")) " = " a href=(started.href()) { (st) } " ÷ " a href=(projects.href()) { (n) } } td.num { (rate(st, n)) } }
                    tr.total { td { (ctx.t("完工率", "Completed")) " = " a href=(done.href()) { (dn) } " ÷ " a href=(projects.href()) { (n) } } td.num { (rate(dn, n)) } }
                }
            }
        }
    })
}

/// Activities and beneficiaries by month, and by line of work.
async fn activities(ctx: &Ctx, engine: &Engine<'_>, sc: &Scope) -> Result<Markup, AppError> {
    let count = Drill::new("activities", Measure::Count, sc).titled(ctx.t("活动（场次）", "Activities"));
    let benef =
        Drill::new("activities", Measure::Sum("beneficiaries".into()), sc).titled(ctx.t("受益人次", "Beneficiaries"));
    let months = |d: &Drill, got: Vec<(String, i64)>| -> Vec<Bar> {
        got.into_iter()
            .map(|(m, v)| Bar {
                href: d.with(Filter::eq("month", m.as_str())).titled(format!("{}：{m}", d.title)).href(),
                label: m,
                value: v,
            })
            .collect()
    };
    let by_month_n = months(&count, by(engine, &count, "month").await?);
    let by_month_b = months(&benef, by(engine, &benef, "month").await?);
    let line_n = by(engine, &count, "line").await?;
    let line_b = by(engine, &benef, "line").await?;
    // Rows are the lines that have activities; both numbers of a row are of its line.
    let lines = codes(LINES);
    let rows = groups(&lines, &line_n, false);
    let bars_n: Vec<Bar> = rows.iter().map(|(k, v)| part(ctx, &count, "line", &lines, k, *v)).collect();
    let bars_b: Vec<Bar> = rows
        .iter()
        .map(|(k, _)| {
            let v = line_b.iter().find(|(kb, _)| kb == k).map_or(0, |(_, v)| *v);
            part(ctx, &benef, "line", &lines, k, v)
        })
        .collect();
    let (tn, tb) = (total(engine, &count).await?, total(engine, &benef).await?);
    Ok(html! {
        section.panel.wide {
            div.chart { (PreEscaped(bar_chart(ctx.t("活动场次（按月）", "Activities by month"), &by_month_n))) }
            div.chart { (PreEscaped(bar_chart(ctx.t("受益人次（按月）", "Beneficiaries by month"), &by_month_b))) }
        }
        section.panel {
            div.chart { (PreEscaped(bar_chart(ctx.t("活动场次（按工作条线）", "Activities by line of work"), &bars_n))) }
            table.data.compact {
                thead { tr { th { (ctx.t("工作条线", "Line of work")) } th.num { (ctx.t("场次", "Activities")) } th.num { (ctx.t("受益人次", "Beneficiaries")) } } }
                tbody {
                    @for (n, b) in bars_n.iter().zip(bars_b.iter()) {
                        tr { td { (n.label) } td.num { a href=(n.href) { (n.value) } } td.num { a href=(b.href) { (b.value) } } }
                    }
                    tr.total { td { (ctx.t("合计", "Total")) } td.num { a href=(count.href()) { (tn) } } td.num { a href=(benef.href()) { (tb) } } }
                }
            }
        }
    })
}

/// The organizations with a target whose series the dashboard draws for one indicator; the
/// others are a link away (a province may set targets for hundreds of units).
const CHARTS_PER_INDICATOR: usize = 6;

/// Each indicator over its periods, for the chosen organization (or the root of the side that
/// reports it), against its baseline and target where one is set.
async fn indicators(s: &AppState, ctx: &Ctx, engine: &Engine<'_>, sc: &Scope) -> Result<Markup, AppError> {
    // The same lists the report's indicator table reads: definitions, targets by organization
    // code, and the top organizations.
    let defs = s.store.indicator_list().await?;
    let targets = s.store.indicator_targets().await?;
    let roots = s.store.root_orgs().await?;
    let name_of = |code: &str| roots.iter().find(|r| r.0 == code).map(|r| r.1.clone());
    let mut charts = Vec::new();
    let mut notes = Vec::new();
    for (code, name, unit, scale) in &defs {
        let (code, name, unit) = (code.clone(), name.clone(), unit.clone());
        let scale = 10f64.powi((*scale).clamp(0, 12) as i32);
        // The organizations to show: the chosen one; else where a target is set; else each root.
        // At most CHARTS_PER_INDICATOR of them (the first in the tree), the rest behind a link.
        let mut orgs: Vec<(String, String)> = Vec::new();
        let mut more = 0;
        if !sc.org.is_empty() {
            orgs.push((sc.org.clone(), String::new()));
        } else {
            let with_target: Vec<_> = targets.iter().filter(|t| t.0 == code).collect();
            more = with_target.len().saturating_sub(CHARTS_PER_INDICATOR);
            orgs.extend(with_target.iter().take(CHARTS_PER_INDICATOR).map(|t| (t.1.clone(), t.2.clone())));
            if orgs.is_empty() {
                orgs.extend(roots.iter().cloned());
            }
        }
        if more > 0 {
            notes.push(html! {
                a href={ "/records/indicator-targets?indicator_code=" (code) } {
                    (name) (ctx.t("：另有 ", ": ")) (more) (ctx.t(" 个单位设有目标，见基线与目标 ›", " more organizations with a target ›"))
                }
            });
        }
        for (org, org_name) in orgs {
            let fig =
                indicator_def(&code, &org, &Period::parse("2000").map_err(|e| AppError::NotFound(e.message))?, &name);
            let series = engine.indicator_series(&fig, &code, &org).await?;
            if series.is_empty() {
                continue;
            }
            let target = targets.iter().find(|t| t.0 == code && t.1 == org);
            let max = series.iter().map(|(_, v)| v.rounded_f64(6).abs()).fold(0.0, f64::max);
            let (div, shown_unit) = match unit.as_str() {
                "元" if max >= 1e8 => (1e8, "亿元".to_string()),
                "元" if max >= 1e4 => (1e4, "万元".to_string()),
                _ => (1.0, unit.clone()),
            };
            let org_label = if org_name.is_empty() { name_of(&org).unwrap_or_else(|| org.clone()) } else { org_name };
            let title = format!("{name}（{shown_unit}）· {org_label}");
            let points: Vec<Point> = series
                .iter()
                .map(|(p, v)| Point {
                    label: p.to_string(),
                    value: v.rounded_f64(6) / div,
                    shown: if div == 1.0 && v.den == 1 {
                        format!("{} {shown_unit}", v.display(0))
                    } else {
                        format!("{:.2} {shown_unit}", v.rounded_f64(6) / div)
                    },
                    href: indicator_href(&code, &org, p, &format!("{name} · {org_label} · {p}")),
                })
                .collect();
            let refv = |raw: i64| raw as f64 / scale / div;
            let baseline =
                target.map(|t| (format!("{} {}：{:.2}", ctx.t("基线", "Baseline"), t.3, refv(t.4)), refv(t.4)));
            let goal = target.map(|t| (format!("{} {}：{:.2}", ctx.t("目标", "Target"), t.5, refv(t.6)), refv(t.6)));
            let svg = line_chart(&title, &points, baseline, goal);
            charts.push(html! {
                div.chart {
                    (PreEscaped(svg))
                    p.meta {
                        @for pt in &points { a href=(pt.href) { (pt.label) "：" (pt.shown) } " " }
                    }
                }
            });
        }
    }
    Ok(html! {
        @if !charts.is_empty() {
            section.panel.wide {
                @for c in charts { (c) }
                @if !notes.is_empty() { p.meta { @for n in notes { (n) " " } } }
            }
        }
    })
}

/// The projects' schedule lights: how many of each, and the red and amber ones by name.
async fn schedule(ctx: &Ctx, engine: &Engine<'_>, sc: &Scope) -> Result<Markup, AppError> {
    let (filters, span) = sc.filters("projects");
    let (flagged, green) = engine.schedule_board(crate::layout::today(), &filters, span.as_ref()).await?;
    let rule = engine.thresholds().await?.schedule_rule_zh();
    let count = |l: Schedule| match l {
        Schedule::Green => green,
        _ => flagged.iter().filter(|f| f.light == l).count(),
    };
    Ok(html! {
        section.panel.schedule {
          div {
            h3 { (ctx.t("项目进度（红黄绿灯）", "Project schedule (red/amber/green)")) }
            table.data.compact {
                tbody {
                    @for l in Schedule::ALL {
                        tr { td { span class={ "light " (l.code()) } {} (ctx.t(l.zh(), l.en())) }
                             td.num { a href={ "/dashboard/schedule?light=" (l.code()) "&" (sc.query()) } { (count(l)) } } }
                    }
                }
            }
            p.meta { (ctx.t("规则：", "Rule (thresholds set under 预警): ")) (rule) }
          }
          div {
            (flag_table(ctx, flagged.iter().filter(|f| f.light != Schedule::Green).take(8)))
            @if count(Schedule::Red) + count(Schedule::Amber) > 8 {
                p.meta {
                    a href={ "/dashboard/schedule?light=red&" (sc.query()) } { (ctx.t("全部红灯项目 ›", "All red projects ›")) }
                    " "
                    a href={ "/dashboard/schedule?light=amber&" (sc.query()) } { (ctx.t("全部黄灯项目 ›", "All amber projects ›")) }
                }
            }
          }
        }
    })
}

fn flag_table<'a>(ctx: &Ctx, rows: impl Iterator<Item = &'a Flagged>) -> Markup {
    html! {
        table.data.compact {
            thead { tr { th { (ctx.t("状态", "Light")) } th { (ctx.t("项目", "Project")) } th { (ctx.t("计划开工", "Planned start")) } th { (ctx.t("计划完工", "Planned end")) } th { (ctx.t("原因", "Reason")) } } }
            tbody {
                @for f in rows {
                    tr {
                        td { span class={ "light " (f.light.code()) } title=(ctx.t(f.light.zh(), f.light.en())) {} }
                        td { a href={ "/records/projects/" (f.project.id) } { (f.project.code) " " (f.project.name) } }
                        td { (f.project.planned_start.map(|d| d.to_string()).unwrap_or_default()) }
                        td { (f.project.planned_end.map(|d| d.to_string()).unwrap_or_default()) }
                        td { (ctx.t(f.reason_zh, f.reason_en)) }
                    }
                }
            }
        }
    }
}

/// The projects of one light for a period and scope: the list behind a schedule count.
pub async fn schedule_page(s: &AppState, ctx: &Ctx, pairs: &[(String, String)]) -> Result<Markup, AppError> {
    crate::reads_business(ctx)?;
    let opts = options(s, ctx).await?;
    let sc = scope(ctx, pairs, &opts);
    let light = pairs.iter().find(|(k, _)| k == "light").map(|(_, v)| v.as_str()).unwrap_or("red");
    let Some(light) = Schedule::ALL.into_iter().find(|l| l.code() == light) else {
        return Err(AppError::NotFound(ctx.t("没有这种状态", "No such light").into()));
    };
    let engine = Engine::new(&s.store);
    let (filters, span) = sc.filters("projects");
    // Red and amber from the board (only the projects that may be off schedule are read);
    // green is every other project.
    let flagged = match light {
        Schedule::Green => engine.schedule(crate::layout::today(), &filters, span.as_ref()).await?,
        _ => engine.schedule_board(crate::layout::today(), &filters, span.as_ref()).await?.0,
    };
    let rows: Vec<&Flagged> = flagged.iter().filter(|f| f.light == light).collect();
    let title = format!("{}：{}", ctx.t("项目进度", "Project schedule"), ctx.t(light.zh(), light.en()));
    Ok(crate::layout::page(
        ctx,
        &title,
        html! {
            p.crumbs { a href={ "/?" (sc.query()) } { (ctx.t("驾驶舱", "Dashboard")) } }
            h1 { (title) }
            p { (sc.label) " · " (ctx.t("共", "")) strong.total { (rows.len()) } (ctx.t(" 个项目", " projects")) " · " (ctx.t("判断日期", "as of")) " " (crate::layout::today()) }
            (flag_table(ctx, rows.into_iter()))
        },
    ))
}

/// The analysis part of the dashboard, for the chosen period and scope.
pub async fn analysis(s: &AppState, ctx: &Ctx, pairs: &[(String, String)]) -> Result<Markup, AppError> {
    let opts = options(s, ctx).await?;
    let sc = scope(ctx, pairs, &opts);
    let engine = Engine::new(&s.store);
    let projects = Drill::new("projects", Measure::Count, &sc).titled(ctx.t("项目", "Projects"));
    let by_status =
        coded_bars(ctx, &projects, "status", &codes(STATUSES), &by(&engine, &projects, "status").await?, true);
    let by_sector =
        coded_bars(ctx, &projects, "sector", &codes(SECTORS), &by(&engine, &projects, "sector").await?, false);
    let aid = Drill::new("people", Measure::Count, &sc)
        .with(Filter::eq("kind", "aid"))
        .titled(ctx.t("援疆干部人才", "Aid personnel"));
    let by_category =
        coded_bars(ctx, &aid, "category", &codes(CATEGORIES), &by(&engine, &aid, "category").await?, true);
    let by_batch = {
        let got = by(&engine, &aid, "batch").await?;
        let mut numbers: Vec<i64> = got.iter().filter_map(|(k, _)| k.parse().ok()).collect();
        numbers.sort();
        let names: Codes =
            numbers.iter().map(|n| (n.to_string(), format!("{}{n}{}", ctx.t("第", "B"), ctx.t("批", "")))).collect();
        coded_bars(ctx, &aid, "batch", &names, &got, false)
    };
    let pairings = Drill::new("pairings", Measure::Count, &sc).titled(ctx.t("结对", "Pairings"));
    // The program's pairing types, its own included.
    let types = crate::records::ref_options(s, ctx, "pairing_types").await?;
    let by_type = coded_bars(ctx, &pairings, "type", &types, &by(&engine, &pairings, "type").await?, false);
    Ok(html! {
        h2 #analysis { (ctx.t("分析", "Analysis")) " · " (sc.label) }
        (chooser(ctx, &sc, &opts))
        div.panels {
            (funds(ctx, &engine, &sc).await?)
            (schedule(ctx, &engine, &sc).await?)
            (crate::followups::dashboard_panel(s, ctx, Some(sc.org.as_str())).await?)
            (panel(ctx, ctx.t("项目按状态", "Projects by status"), &projects, &by_status))
            (panel(ctx, ctx.t("项目按类别", "Projects by sector"), &projects, &by_sector))
            (panel(ctx, ctx.t("援疆干部人才按批次", "Aid personnel by batch"), &aid, &by_batch))
            (panel(ctx, ctx.t("援疆干部人才按类别", "Aid personnel by category"), &aid, &by_category))
            (panel(ctx, ctx.t("结对按类型", "Pairings by type"), &pairings, &by_type))
            (imaging(s, ctx, &engine, &sc).await?)
            (activities(ctx, &engine, &sc).await?)
            (indicators(s, ctx, &engine, &sc).await?)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bar_links_to_its_records() {
        let bars: Vec<Bar> = [("立项", 3), ("开工", 0), ("完工", 12)]
            .iter()
            .enumerate()
            .map(|(i, (l, v))| Bar { label: l.to_string(), value: *v, href: format!("/records/projects?n={i}&x=<") })
            .collect();
        let svg = bar_chart("项目按状态", &bars);
        assert!(svg.starts_with("<svg") && svg.contains("项目按状态") && svg.contains("完工"));
        assert_eq!(svg.matches("<a href=").count(), 3, "{svg}");
        assert!(svg.contains("/records/projects?n=2&amp;x=&lt;") && svg.contains("<title>完工：12</title>"));
        // Each link wraps its own bar: left to right, in the bars' order, as tall as its value.
        let many: Vec<Bar> = (0..30)
            .map(|i| Bar { label: format!("b{i}"), value: (i * 7 % 11) as i64 + 1, href: format!("/x?i={i}") })
            .collect();
        let svg = bar_chart("order", &many);
        let mut last_x = -1.0;
        for (i, part) in svg.split("<a href=\"/x?i=").skip(1).enumerate() {
            assert!(part.starts_with(&format!("{i}\"")), "link {i} in order");
            let attr = |name: &str| -> f64 {
                let at = part.find(&format!(" {name}=\"")).expect(name) + name.len() + 3;
                part[at..].split('"').next().unwrap().parse().unwrap()
            };
            assert!(attr("x") > last_x, "bar {i} is right of bar {}", i as i64 - 1);
            last_x = attr("x");
            assert!(part.contains(&format!("<title>b{i}：{}</title>", many[i].value)));
        }
        let heights: Vec<f64> = svg
            .split("<a href=\"/x?i=")
            .skip(1)
            .map(|p| {
                let at = p.find(" height=\"").unwrap() + 9;
                p[at..].split('"').next().unwrap().parse().unwrap()
            })
            .collect();
        for i in 0..many.len() {
            for j in 0..many.len() {
                if many[i].value > many[j].value {
                    assert!(heights[i] > heights[j], "bar {i} is taller than bar {j}");
                }
            }
        }
    }

    #[test]
    fn every_point_links_and_the_target_is_drawn() {
        let pts: Vec<Point> = [("2023", 120.13), ("2024", 153.01)]
            .iter()
            .map(|(l, v)| Point {
                label: l.to_string(),
                value: *v,
                shown: v.to_string(),
                href: format!("/figures/drill?period={l}"),
            })
            .collect();
        let svg = line_chart("医疗总收入", &pts, Some(("基线 2022".into(), 105.0)), Some(("目标 2025".into(), 170.0)));
        assert_eq!(svg.matches("<a href=").count(), 2, "{svg}");
        assert!(svg.contains("目标 2025") && svg.contains("基线 2022"));
    }

    #[test]
    fn a_drill_down_reads_back_as_written() {
        let d = Drill {
            counted: Counted::Submitted,
            source: "activities".into(),
            measure: Measure::Sum("beneficiaries".into()),
            filters: vec![
                Filter::under("region", "653022"),
                Filter::any("status", &["started", "completed"]),
                Filter::eq("month", "2024-05"),
            ],
            span: Some(Span { from: Date::parse("2023-04-20").ok(), to: None }),
            title: "受益人次：2024-05 & 其他".into(),
        };
        let href = d.href();
        let q = href.split_once('?').map(|(_, q)| q).unwrap_or("");
        let back = Drill::parse(&crate::records::pairs(Some(q))).unwrap();
        assert_eq!(back, d);
        assert!(Drill::parse(&[("source".into(), "projects".into()), ("f".into(), "status".into())]).is_err());
        assert!(Drill::parse(&[("source".into(), "projects".into()), ("from".into(), "2024-13-01".into())]).is_err());
    }
}
