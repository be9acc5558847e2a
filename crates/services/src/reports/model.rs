//! A report as evaluated: every figure already computed by the engine, every number carried both
//! exactly (for totals and for the spreadsheet) and as shown (rounded half-up). The HTML, DOCX and
//! XLSX writers all render this one value, so two outputs of the same report show the same numbers.

use domain::Date;
use serde::{Deserialize, Serialize};

/// An evaluated report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rendered {
    /// The template's key and the version evaluated.
    pub template: String,
    pub version: i64,
    /// 标题, e.g. "江西省对口支援克州工作综述".
    pub title: String,
    /// A line under the title, e.g. "（第十一批 2023年4月20日—2026年11月29日）".
    pub subtitle: String,
    /// The period evaluated, both ends inclusive.
    pub from: Date,
    pub to: Date,
    /// The scope as shown ("全部", a place or an organization with its code).
    pub scope: String,
    /// Whether figures count approved records only or submitted ones too (the reporting cycle
    /// decides; until then every saved record counts).
    pub counts: String,
    /// UTC, RFC 3339; writers show it as Beijing time.
    pub generated_at: String,
    pub generated_by: String,
    /// 落款: the issuing body and the date written 2024年7月1日.
    pub issuer: String,
    pub issued_on: Date,
    pub sections: Vec<Section>,
    /// Every figure the report states, for the provenance appendix, in order of first use.
    pub figures: Vec<UsedFigure>,
}

/// A section: a heading (level 1 = 一、 黑体; level 2 = （一） 楷体) and its blocks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Section {
    pub heading: String,
    pub level: u8,
    pub blocks: Vec<Block>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Block {
    /// A paragraph of body text with figures in it.
    Paragraph { runs: Vec<Run> },
    /// A statistical table.
    Table(Table),
    /// A bar chart of a table's numbers.
    Chart(Chart),
}

/// A bar chart drawn on the server: the SVG is what every output shows (inline in HTML, as a
/// PNG rendered from it in DOCX and XLSX), and the data it plots is kept beside it so a reader
/// (or a test) can check the bars against the table they come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chart {
    /// The sheet of the table it plots (the workbook puts the chart there).
    pub sheet: String,
    pub title: String,
    /// The unit of the values, e.g. "万元".
    pub unit: String,
    /// One label per bar group (the table's rows, without the totals).
    pub labels: Vec<String>,
    pub series: Vec<Series>,
    pub svg: String,
}

/// One series of bars: a column of the table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Series {
    pub name: String,
    /// Unrounded, as the table's cells.
    pub values: Vec<f64>,
    /// As the table shows them.
    pub shown: Vec<String>,
}

/// A piece of a paragraph: plain text, or a figure as shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Run {
    Text {
        text: String,
    },
    /// A figure: `shown` is the formatted value with its unit as the text reads ("35109.43万元",
    /// "4000余名", "92.3%"); `key` opens its definition and records.
    Figure {
        key: String,
        shown: String,
    },
}

/// A statistical table: one sheet of the spreadsheet, one table in the document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Table {
    /// Sheet name (≤ 31 characters, no `[]:*?/\`), e.g. "资金" or the line of work "教育".
    pub sheet: String,
    pub title: String,
    /// Column headers with their units, e.g. "计划投资（万元）".
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
    /// The totals row, computed from the unrounded values.
    pub total: Option<Vec<Cell>>,
    /// A note under the table, e.g. "合计按未经舍入的数值计算，与各项舍入后之和可能略有出入。"
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Cell {
    Text {
        text: String,
    },
    /// A number: `value` unrounded (what a spreadsheet stores), `decimals` for its number format,
    /// `shown` rounded half-up as text (what a document prints), and the figure or drill-down it
    /// opens to, if any (a path such as "/figures/KEY").
    Number {
        value: f64,
        decimals: u32,
        shown: String,
        href: Option<String>,
    },
}

/// A figure as the report used it, for the provenance appendix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsedFigure {
    pub key: String,
    pub name: String,
    /// 口径: what it counts, in words.
    pub definition: String,
    pub scope: String,
    /// The period the figure covers, in words.
    pub period: String,
    pub shown: String,
    /// How many records (or indicator values) it was computed from.
    pub records: i64,
    /// UTC, RFC 3339.
    pub computed_at: String,
}

impl Rendered {
    /// Every number the report states, in order: the paragraphs' figures, then the tables'
    /// cells. Two outputs of one report state the same list.
    pub fn shown_numbers(&self) -> Vec<String> {
        let mut out = Vec::new();
        for s in &self.sections {
            for b in &s.blocks {
                match b {
                    Block::Paragraph { runs } => out.extend(runs.iter().filter_map(|r| match r {
                        Run::Figure { shown, .. } => Some(shown.clone()),
                        Run::Text { .. } => None,
                    })),
                    // A chart restates its table's numbers; it adds none of its own.
                    Block::Chart(_) => {}
                    Block::Table(t) => {
                        for row in t.rows.iter().chain(t.total.iter()) {
                            out.extend(row.iter().filter_map(|c| match c {
                                Cell::Number { shown, .. } => Some(shown.clone()),
                                Cell::Text { .. } => None,
                            }))
                        }
                    }
                }
            }
        }
        out
    }

    /// A small report with every kind of block, for the writers' tests.
    pub fn sample() -> Rendered {
        let d = |s: &str| Date::parse(s).unwrap_or_else(|_| Date::from_naive(chrono::NaiveDate::MIN));
        let num = |value: f64, decimals: u32, shown: &str| Cell::Number {
            value,
            decimals,
            shown: shown.into(),
            href: Some("/figures/funds.planned".into()),
        };
        let text = |t: &str| Run::Text { text: t.into() };
        let fig = |k: &str, s: &str| Run::Figure { key: k.into(), shown: s.into() };
        Rendered {
            template: "summary".into(),
            version: 1,
            title: "江西省对口支援克州工作综述".into(),
            subtitle: "（第十一批 2023年4月20日—2026年11月29日）".into(),
            from: d("2023-04-20"),
            to: d("2026-11-29"),
            scope: "全部".into(),
            counts: "已保存的全部记录".into(),
            generated_at: "2026-11-29T06:00:00Z".into(),
            generated_by: "demo.manager".into(),
            issuer: "江西省援疆前方指挥部".into(),
            issued_on: d("2026-11-29"),
            sections: vec![
                Section {
                    heading: "一、总体情况".into(),
                    level: 1,
                    blocks: vec![Block::Paragraph {
                        runs: vec![
                            text("江西先后选派"),
                            fig("personnel.batches", "十一批"),
                            fig("personnel.total", "777名"),
                            text("援疆干部人才，近600个援疆项目落地生根，累计投入援疆资金"),
                            fig("funds.planned", "35109.43万元"),
                            text("。"),
                        ],
                    }],
                },
                Section {
                    heading: "（一）资金与项目".into(),
                    level: 2,
                    blocks: vec![Block::Table(Table {
                        sheet: "资金".into(),
                        title: "援疆资金到位与拨付情况".into(),
                        columns: vec![
                            "年度".into(),
                            "计划投资（万元）".into(),
                            "已拨付（万元）".into(),
                            "拨付率（%）".into(),
                        ],
                        rows: vec![
                            vec![
                                Cell::Text { text: "2023".into() },
                                num(0.005, 2, "0.01"),
                                num(0.005, 2, "0.01"),
                                num(100.0, 1, "100.0"),
                            ],
                            vec![
                                Cell::Text { text: "2024".into() },
                                num(0.005, 2, "0.01"),
                                num(0.0, 2, "0.00"),
                                num(0.0, 1, "0.0"),
                            ],
                        ],
                        total: Some(vec![
                            Cell::Text { text: "合计".into() },
                            num(0.01, 2, "0.01"),
                            num(0.005, 2, "0.01"),
                            num(50.0, 1, "50.0"),
                        ]),
                        note: Some("合计按未经舍入的数值计算，与各项舍入后之和可能略有出入。".into()),
                    })],
                },
            ],
            figures: vec![UsedFigure {
                key: "personnel.total".into(),
                name: "援疆干部人才总数".into(),
                definition: "人员中援疆干部人才的人数，各批次合计".into(),
                scope: "全部".into(),
                period: "第一批至第十一批".into(),
                shown: "777名".into(),
                records: 777,
                computed_at: "2026-11-29T06:00:00Z".into(),
            }],
        }
    }
}
