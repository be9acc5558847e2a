//! The dashboard (驾驶舱): the headline figures, then breakdowns drawn as SVG charts by
//! `plotters` on the server, so a chart is the same on screen, in print and in an export. Every
//! number is computed by the figure engine (breakdowns are figure definitions made on the fly),
//! and every bar and every number links to the records behind it.

use crate::auth::Ctx;
use crate::AppError;
use domain::figures::{FigureDef, Filter, Measure, Spec};
use domain::people::CATEGORIES;
use domain::projects::{SECTORS, STATUSES};
use maud::{html, Markup, PreEscaped};
use plotters::prelude::*;
use services::figures::Engine;

/// One bar: its label, its value, and the list of records behind it.
pub struct Bar {
    pub label: String,
    pub value: i64,
    pub href: String,
}

const BAR_FILL: RGBColor = RGBColor(0xb3, 0x26, 0x1e);

/// A bar chart as SVG, each bar a link to its records.
pub fn bar_chart(title: &str, bars: &[Bar]) -> String {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (560, 260)).into_drawing_area();
        let max = bars.iter().map(|b| b.value).max().unwrap_or(0).max(1);
        let drawn = (|| -> Result<(), Box<dyn std::error::Error + '_>> {
            root.fill(&WHITE)?;
            let mut chart = ChartBuilder::on(&root)
                .caption(title, ("sans-serif", 16))
                .margin(10)
                .x_label_area_size(34)
                .y_label_area_size(48)
                .build_cartesian_2d((0..bars.len()).into_segmented(), 0..(max + max / 8 + 1))?;
            chart
                .configure_mesh()
                .disable_x_mesh()
                .x_labels(bars.len().max(1))
                .x_label_formatter(&|x| match x {
                    SegmentValue::CenterOf(i) => bars.get(*i).map(|b| b.label.clone()).unwrap_or_default(),
                    _ => String::new(),
                })
                .label_style(("sans-serif", 12))
                .draw()?;
            chart.draw_series(
                Histogram::vertical(&chart)
                    .style(BAR_FILL.filled())
                    .margin(8)
                    .data(bars.iter().enumerate().map(|(i, b)| (i, b.value))),
            )?;
            root.present()?;
            Ok(())
        })();
        if drawn.is_err() {
            return String::new();
        }
    }
    link_bars(&svg, bars)
}

/// Wrap the n-th bar (`rect` in the bar colour) in a link to the n-th list of records.
fn link_bars(svg: &str, bars: &[Bar]) -> String {
    let mut out = String::with_capacity(svg.len() + bars.len() * 60);
    let mut rest = svg;
    let mut n = 0;
    while let Some(i) = rest.find("<rect") {
        let Some(end) = rest[i..].find("/>").map(|e| i + e + 2) else { break };
        let rect = &rest[i..end];
        out.push_str(&rest[..i]);
        if rect.contains("fill=\"#B3261E\"") && n < bars.len() {
            let b = &bars[n];
            out.push_str(&format!(
                "<a href=\"{}\"><title>{}：{}</title>{rect}</a>",
                maud::html! { (b.href) }.into_string(),
                maud::html! { (b.label) }.into_string(),
                b.value
            ));
            n += 1;
        } else {
            out.push_str(rect);
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

fn def(key: &str, source: &str, filters: Vec<Filter>) -> FigureDef {
    FigureDef {
        key: key.into(),
        name: key.into(),
        line: "overview".into(),
        unit: String::new(),
        decimals: 0,
        description: String::new(),
        spec: Spec::Records { source: source.into(), measure: Measure::Count, filters, span: None, divisor: 1 },
    }
}

async fn count(engine: &Engine<'_>, source: &str, filters: Vec<Filter>) -> Result<i64, AppError> {
    measure(engine, source, Measure::Count, filters).await
}

/// A measure over a record set, exactly (an integer: a count, or a sum in 分).
async fn measure(engine: &Engine<'_>, source: &str, m: Measure, filters: Vec<Filter>) -> Result<i64, AppError> {
    let mut d = def("breakdown", source, filters);
    if let Spec::Records { measure, .. } = &mut d.spec {
        *measure = m;
    }
    let v = engine.evaluate(&d).await?;
    Ok(if v.exact.den == 1 { i64::try_from(v.exact.num).unwrap_or(i64::MAX) } else { 0 })
}

/// Funds and progress: planned, allocated and disbursed in 万元, with 拨付率, 开工率, 完工率.
async fn funds(ctx: &Ctx, engine: &Engine<'_>) -> Result<Markup, AppError> {
    let sum = |col: &str| Measure::Sum(col.to_string());
    let planned = measure(engine, "project_funding", sum("planned_fen"), vec![]).await?;
    let allocated = measure(engine, "project_funding", sum("allocated_fen"), vec![]).await?;
    let disbursed = measure(engine, "project_funding", sum("disbursed_fen"), vec![]).await?;
    let total = count(engine, "projects", vec![]).await?;
    let started = count(engine, "projects", vec![Filter::any("status", &["started", "completed", "accepted"])]).await?;
    let done = count(engine, "projects", vec![Filter::any("status", &["completed", "accepted"])]).await?;
    let wan = |fen: i64| domain::Fen(fen).wan_display();
    let rate = |a: i64, b: i64| {
        if b == 0 {
            "—".to_string()
        } else {
            format!("{}%", domain::money::rate_display(a as i128, b as i128))
        }
    };
    let bars = [
        (ctx.t("计划投资", "Planned"), planned),
        (ctx.t("已下达", "Allocated"), allocated),
        (ctx.t("已拨付", "Disbursed"), disbursed),
    ]
    .into_iter()
    .map(|(label, fen)| Bar { label: label.to_string(), value: fen / 1_000_000, href: "/records/funding".into() })
    .collect::<Vec<_>>();
    Ok(html! {
        section.panel {
            div.chart { (PreEscaped(bar_chart(ctx.t("援疆资金（万元）", "Aid funds (10k CNY)"), &bars))) }
            table.data.compact {
                tbody {
                    tr { td { (ctx.t("计划投资（万元）", "Planned (万元)")) } td.num { a href="/records/funding" { (wan(planned)) } } }
                    tr { td { (ctx.t("已下达（万元）", "Allocated (万元)")) } td.num { a href="/records/funding" { (wan(allocated)) } } }
                    tr { td { (ctx.t("已拨付（万元）", "Disbursed (万元)")) } td.num { a href="/records/funding" { (wan(disbursed)) } } }
                    tr.total { td { (ctx.t("资金拨付率", "Disbursement rate")) } td.num { (rate(disbursed, allocated)) } }
                    tr.total { td { (ctx.t("开工率", "Started")) } td.num { (rate(started, total)) } }
                    tr.total { td { (ctx.t("完工率", "Completed")) } td.num { (rate(done, total)) } }
                }
            }
        }
    })
}

/// A breakdown with its chart and its table of numbers, each linking to the records.
fn panel(ctx: &Ctx, title: &str, bars: &[Bar]) -> Markup {
    let total: i64 = bars.iter().map(|b| b.value).sum();
    html! {
        section.panel {
            div.chart { (PreEscaped(bar_chart(title, bars))) }
            table.data.compact {
                tbody {
                    @for b in bars { tr { td { (b.label) } td.num { a href=(b.href) { (b.value) } } } }
                    tr.total { td { (ctx.t("合计", "Total")) } td.num { (total) } }
                }
            }
        }
    }
}

/// The breakdowns of the dashboard.
pub async fn breakdowns(ctx: &Ctx, engine: &Engine<'_>) -> Result<Markup, AppError> {
    let mut by_status = Vec::new();
    for (code, label) in STATUSES {
        let value = count(engine, "projects", vec![Filter::eq("status", *code)]).await?;
        by_status.push(Bar {
            label: ctx.lang.code_name(code, label).to_string(),
            value,
            href: format!("/records/projects?status={code}"),
        });
    }
    let mut by_sector = Vec::new();
    for (code, label) in SECTORS {
        let value = count(engine, "projects", vec![Filter::eq("sector", *code)]).await?;
        if value > 0 {
            by_sector.push(Bar {
                label: ctx.lang.code_name(code, label).to_string(),
                value,
                href: format!("/records/projects?sector={code}"),
            });
        }
    }
    let mut by_category = Vec::new();
    for (code, label) in CATEGORIES {
        let value = count(engine, "people", vec![Filter::eq("kind", "aid"), Filter::eq("category", *code)]).await?;
        by_category.push(Bar {
            label: ctx.lang.code_name(code, label).to_string(),
            value,
            href: format!("/records/people?kind=aid&category={code}"),
        });
    }
    let mut by_type = Vec::new();
    for (code, label, _) in domain::pairings::PAIRING_TYPES {
        let value = count(engine, "pairings", vec![Filter::eq("type", *code)]).await?;
        if value > 0 {
            by_type.push(Bar {
                label: ctx.lang.code_name(code, label).to_string(),
                value,
                href: format!("/records/pairings?type_code={code}"),
            });
        }
    }
    Ok(html! {
        h2 { (ctx.t("分类统计", "Breakdowns")) }
        div.panels {
            (funds(ctx, engine).await?)
            (panel(ctx, ctx.t("项目按状态", "Projects by status"), &by_status))
            (panel(ctx, ctx.t("项目按类别", "Projects by sector"), &by_sector))
            (panel(ctx, ctx.t("援疆干部人才按类别", "Aid personnel by category"), &by_category))
            (panel(ctx, ctx.t("结对按类型", "Pairings by type"), &by_type))
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
    }
}
