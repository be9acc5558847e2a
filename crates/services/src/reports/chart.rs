//! Charts in reports: a bar chart drawn from a table's own numbers as SVG (plotters, in the
//! dashboard's style), and that same SVG rendered to PNG (resvg) for the DOCX and XLSX writers,
//! so a chart looks the same on screen, in print and in every export.

use std::sync::{Arc, OnceLock};

use plotters::prelude::*;
use resvg::{tiny_skia, usvg};

use super::model::{Cell, Chart, Series, Table};

/// The SVG's size in pixels (2:1, to sit under a table across the text width).
pub const WIDTH: u32 = 640;
pub const HEIGHT: u32 = 320;
/// PNGs are rendered at twice the SVG's size, sharp enough for print at 156 mm.
pub const PNG_SCALE: f32 = 2.0;

/// The dashboard's bar colour, then a grey for a second series.
const FILLS: [RGBColor; 3] = [RGBColor(0xb3, 0x26, 0x1e), RGBColor(0x6b, 0x6b, 0x6b), RGBColor(0xd9, 0x8c, 0x1f)];
/// The font family written into the SVG; browsers pick their own sans-serif, resvg is pointed
/// at a CJK font for it (see [`fonts`]).
const FAMILY: &str = "sans-serif";

#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    #[error("drawing the chart 「{title}」: {message}")]
    Draw { title: String, message: String },
    #[error("the chart 「{title}」 has no column {column} to plot")]
    NoColumn { title: String, column: usize },
    #[error("reading the chart's SVG for the PNG: {0}")]
    Svg(#[from] usvg::Error),
    #[error("rendering the chart as PNG: {0}")]
    Png(String),
}

/// Which columns of a table its chart plots, by the table's kind.
fn columns(kind: &str) -> &'static [usize] {
    match kind {
        // 计划投资 and 已拨付, side by side for each year.
        "funds_by_year" => &[1, 3],
        // 项目（个）.
        "projects_by_sector" => &[1],
        // 计划投资（万元）.
        "funds_by_place" => &[2],
        _ => &[],
    }
}

/// "计划投资（万元）" → ("计划投资", "万元").
fn name_and_unit(header: &str) -> (String, String) {
    match header.split_once('（') {
        Some((name, rest)) => (name.to_string(), rest.trim_end_matches('）').to_string()),
        None => (header.to_string(), String::new()),
    }
}

/// The chart of a table: its rows (not the totals, nor the 其中 rows that are parts of others)
/// as bar groups, the columns its kind plots as series. The numbers are the table's cells, so
/// chart and table cannot disagree.
pub fn of_table(kind: &str, title: &str, t: &Table) -> Result<Chart, ChartError> {
    let rows: Vec<&Vec<Cell>> =
        t.rows.iter().filter(|r| !matches!(r.first(), Some(Cell::Text { text }) if text.starts_with("其中"))).collect();
    let labels: Vec<String> = rows
        .iter()
        .map(|r| match r.first() {
            Some(Cell::Text { text }) => text.clone(),
            Some(Cell::Number { shown, .. }) => shown.clone(),
            None => String::new(),
        })
        .collect();
    let mut unit = String::new();
    let mut series = Vec::new();
    for &c in columns(kind) {
        let header = t.columns.get(c).ok_or_else(|| ChartError::NoColumn { title: title.into(), column: c })?;
        let (name, u) = name_and_unit(header);
        unit = u;
        let (values, shown) = rows
            .iter()
            .map(|r| match r.get(c) {
                Some(Cell::Number { value, shown, .. }) => (*value, shown.clone()),
                _ => (0.0, String::new()),
            })
            .unzip();
        series.push(Series { name, values, shown });
    }
    let svg = draw(title, &unit, &labels, &series)?;
    Ok(Chart { sheet: t.sheet.clone(), title: title.into(), unit, labels, series, svg })
}

type Drawn<'a> = Result<(), Box<dyn std::error::Error + 'a>>;

/// Grouped bars: one group per label, one bar per series, a legend when there are several.
/// The title is the caption the writers put with the chart (and names it in errors); it is not
/// drawn again inside.
pub fn draw(title: &str, unit: &str, labels: &[String], series: &[Series]) -> Result<String, ChartError> {
    let n = labels.len().max(1);
    let max = series.iter().flat_map(|s| s.values.iter().copied()).fold(0.0_f64, f64::max);
    let top = if max > 0.0 { max * 1.15 } else { 1.0 };
    let mut svg = String::new();
    let drawn = {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        (|| -> Drawn<'_> {
            root.fill(&WHITE)?;
            let mut chart = ChartBuilder::on(&root)
                .margin(14)
                .x_label_area_size(30)
                .y_label_area_size(64)
                .build_cartesian_2d((0..n - 1).into_segmented(), 0.0..top)?;
            chart
                .configure_mesh()
                .disable_x_mesh()
                .x_labels(n)
                .x_label_formatter(&|x| match x {
                    SegmentValue::CenterOf(i) => labels.get(*i).cloned().unwrap_or_default(),
                    _ => String::new(),
                })
                .y_desc(unit)
                .y_label_formatter(&|v| if top >= 10.0 { format!("{v:.0}") } else { format!("{v:.1}") })
                .label_style((FAMILY, 12))
                .axis_desc_style((FAMILY, 12))
                .draw()?;
            // Bars side by side within a group: each series takes its share of the middle 80%
            // of the group's width, set as pixel margins (plotters' segmented axis has no
            // sub-positions).
            let (xs, _) = chart.plotting_area().get_pixel_range();
            let group = f64::from(xs.end - xs.start) / n as f64;
            let k = series.len().max(1) as f64;
            for (j, s) in series.iter().enumerate() {
                let fill = FILLS[j % FILLS.len()];
                let left = (group * (0.1 + 0.8 * j as f64 / k)).round() as u32;
                let right = (group * (0.1 + 0.8 * (k - 1.0 - j as f64) / k)).round() as u32;
                chart
                    .draw_series(s.values.iter().enumerate().map(|(i, v)| {
                        let end = if i + 1 == n { SegmentValue::Last } else { SegmentValue::Exact(i + 1) };
                        let mut r = Rectangle::new([(SegmentValue::Exact(i), 0.0), (end, *v)], fill.filled());
                        r.set_margin(0, 0, left, right);
                        r
                    }))?
                    .label(s.name.as_str())
                    .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], fill.filled()));
            }
            if series.len() > 1 {
                chart
                    .configure_series_labels()
                    .position(SeriesLabelPosition::UpperRight)
                    .background_style(WHITE.mix(0.8))
                    .border_style(BLACK.mix(0.3))
                    .label_font((FAMILY, 12))
                    .draw()?;
            }
            root.present()?;
            Ok(())
        })()
        .map_err(|e| e.to_string())
    };
    drawn.map_err(|message| ChartError::Draw { title: title.into(), message })?;
    Ok(svg)
}

/// The system's fonts, loaded once (scanning them takes a while), with sans-serif mapped to a
/// CJK font so Chinese labels render (fonts-noto-cjk on the servers and in CI).
fn fonts() -> Arc<usvg::fontdb::Database> {
    static FONTS: OnceLock<Arc<usvg::fontdb::Database>> = OnceLock::new();
    FONTS
        .get_or_init(|| {
            let mut db = usvg::fontdb::Database::new();
            db.load_system_fonts();
            let cjk = ["Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Micro Hei", "SimHei"];
            let has = |name: &str| db.faces().any(|f| f.families.iter().any(|(n, _)| n == name));
            if let Some(name) = cjk.into_iter().find(|n| has(n)) {
                db.set_sans_serif_family(name);
            }
            Arc::new(db)
        })
        .clone()
}

/// A chart's SVG as PNG bytes, at [`PNG_SCALE`] times its size on a white ground.
pub fn png(svg: &str) -> Result<Vec<u8>, ChartError> {
    let options = usvg::Options { fontdb: fonts(), ..usvg::Options::default() };
    let tree = usvg::Tree::from_str(svg, &options)?;
    let size = tree.size().to_int_size().scale_by(PNG_SCALE).ok_or_else(|| ChartError::Png("empty size".into()))?;
    let mut pixmap = tiny_skia::Pixmap::new(size.width(), size.height())
        .ok_or_else(|| ChartError::Png(format!("no {}×{} image", size.width(), size.height())))?;
    pixmap.fill(tiny_skia::Color::WHITE);
    resvg::render(&tree, tiny_skia::Transform::from_scale(PNG_SCALE, PNG_SCALE), &mut pixmap.as_mut());
    pixmap.encode_png().map_err(|e| ChartError::Png(e.to_string()))
}

/// A chart for the writers' tests: two years of 计划投资 and 已拨付.
#[cfg(test)]
pub fn sample() -> Chart {
    let series = vec![
        Series {
            name: "计划投资".into(), values: vec![1200.5, 980.0], shown: vec!["1200.50".into(), "980.00".into()]
        },
        Series {
            name: "已拨付".into(), values: vec![1100.0, 400.25], shown: vec!["1100.00".into(), "400.25".into()]
        },
    ];
    let labels = vec!["2023年".to_string(), "2024年".to_string()];
    let title = "援疆资金计划投资与已拨付（按年度）";
    let svg = draw(title, "万元", &labels, &series).expect("the sample chart draws");
    Chart { sheet: "资金".into(), title: title.into(), unit: "万元".into(), labels, series, svg }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number(value: f64, shown: &str) -> Cell {
        Cell::Number { value, decimals: 2, shown: shown.into(), href: None }
    }

    #[test]
    fn a_chart_plots_its_tables_numbers_one_bar_per_row_and_series() {
        let text = |t: &str| Cell::Text { text: t.into() };
        let row = |y: &str, p: f64, d: f64| {
            vec![text(y), number(p, "p"), number(0.0, "0"), number(d, "d"), number(1.0, "1"), number(1.0, "1")]
        };
        let t = Table {
            sheet: "资金".into(),
            title: "援疆资金到位与拨付情况（按年度）".into(),
            columns: ["年度", "计划投资（万元）", "已下达（万元）", "已拨付（万元）", "到位率（%）", "拨付率（%）"]
                .map(String::from)
                .to_vec(),
            rows: vec![row("2023年", 1500.0, 1200.0), row("2024年", 900.0, 300.0), row("2025年", 50.0, 0.0)],
            total: Some(row("合计", 2450.0, 1500.0)),
            note: None,
        };
        let c = of_table("funds_by_year", "资金图", &t).unwrap();
        assert_eq!(c.labels, ["2023年", "2024年", "2025年"]);
        assert_eq!(c.unit, "万元");
        assert_eq!(c.series.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["计划投资", "已拨付"]);
        assert_eq!(c.series[0].values, [1500.0, 900.0, 50.0]);
        assert_eq!(c.series[1].values, [1200.0, 300.0, 0.0]);
        assert!(c.svg.starts_with("<svg") && c.svg.contains("2024年"));
        assert!(!c.svg.contains("资金图"), "the title is the caption, not drawn twice");
        // One rectangle per row in each series' colour (the legend adds one swatch each).
        let bars = |fill: &str| c.svg.matches(&format!("fill=\"{fill}\"")).count();
        assert_eq!(bars("#B3261E"), 3 + 1, "{}", c.svg);
        assert_eq!(bars("#6B6B6B"), 3 + 1);
    }

    #[test]
    fn the_png_is_the_svg_rendered_and_not_blank() {
        let c = sample();
        let bytes = png(&c.svg).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        let img = tiny_skia::Pixmap::decode_png(&bytes).unwrap();
        assert_eq!((img.width(), img.height()), (WIDTH * 2, HEIGHT * 2));
        let coloured = img.pixels().iter().filter(|p| (p.red(), p.green(), p.blue()) != (255, 255, 255)).count();
        assert!(coloured > 1000, "{coloured} non-white pixels");
        // The bars' red is there.
        assert!(img.pixels().iter().any(|p| (p.red(), p.green(), p.blue()) == (0xb3, 0x26, 0x1e)));
    }

    #[test]
    fn an_empty_table_still_draws_and_renders() {
        let t = Table {
            sheet: "项目".into(),
            title: "项目".into(),
            columns: vec!["项目类别".into(), "项目（个）".into()],
            rows: vec![],
            total: None,
            note: None,
        };
        let c = of_table("projects_by_sector", "援疆项目数（按类别）", &t).unwrap();
        assert!(c.labels.is_empty() && c.series[0].values.is_empty() && c.unit == "个");
        assert!(png(&c.svg).is_ok());
        assert!(matches!(of_table("funds_by_place", "x", &t), Err(ChartError::NoColumn { column: 2, .. })));
    }

    #[test]
    fn a_broken_svg_is_an_error_not_a_panic() {
        assert!(matches!(png("<svg"), Err(ChartError::Svg(_))));
    }
}
