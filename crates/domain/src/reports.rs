//! Report templates: a short text a program manager can read and edit. Each line is one of
//!
//! ```text
//! # 标题                      the title (once, first)
//! > 副标题 {{period}}          the line under the title ({{period}}, {{scope}} are filled in)
//! @ 落款单位                   the issuing body (落款)
//! ## 一、总体情况              a level-1 heading (黑体)
//! ### （一）教育              a level-2 heading (楷体)
//! [table funds_by_year]       a statistical table computed for the period and scope
//! [chart funds_by_year]       a bar chart of that table's numbers
//! 其余文字 {{figure.key|fmt}}  a paragraph; figures by key, with a format
//! ```
//!
//! Formats: none (the figure as defined), `int` (no decimals), `1`/`2` (decimals), `pct` (one
//! decimal and %), `wan`/`yi` (a money figure in 万元 or 亿元, two decimals), `cn` (Chinese
//! numerals, as 十一), `approx:N` (rounded down to a multiple of N, written "4000余"). Parsing
//! names the line and the rule of anything it refuses; unknown figure keys are found when the
//! template is evaluated.

use crate::{Invalid, Invalids};
use serde::{Deserialize, Serialize};

/// The statistical tables a template may place.
pub const TABLES: &[(&str, &str)] = &[
    ("funds_by_year", "援疆资金到位与拨付（按年度）"),
    ("funds_by_batch", "援疆资金与项目（按批次）"),
    ("projects_by_sector", "项目开工与完工（按类别）"),
    ("funds_by_place", "援疆资金投向（按地区）"),
    ("indicators", "指标分析（同比、基线与目标）"),
    ("figures_by_line", "分领域主要指标（每个工作条线一张表）"),
];

/// The tables a template may also show as a bar chart (the chart plots the table's own numbers),
/// with the chart's title.
pub const CHARTS: &[(&str, &str)] = &[
    ("funds_by_year", "援疆资金计划投资与已拨付（按年度）"),
    ("projects_by_sector", "援疆项目数（按类别）"),
    ("funds_by_place", "援疆资金计划投资（按地区）"),
];

/// A figure's format in a text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// As the figure's definition says (its unit's decimals).
    Defined,
    Decimals(u32),
    Percent,
    Wan,
    Yi,
    Chinese,
    /// Rounded down to a multiple of this, followed by 余.
    Approx(i64),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Piece {
    Text {
        text: String,
    },
    Figure {
        key: String,
        format: Format,
    },
    /// {{period}} or {{scope}}.
    Field {
        name: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TemplateBlock {
    Heading { level: u8, pieces: Vec<Piece> },
    Paragraph { pieces: Vec<Piece> },
    Table { table: String },
    Chart { chart: String },
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Template {
    pub title: String,
    pub subtitle: Vec<Piece>,
    pub issuer: String,
    pub blocks: Vec<TemplateBlock>,
}

impl Template {
    /// Every figure key the template uses, in order, once each.
    pub fn figure_keys(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let pieces = self.subtitle.iter().chain(self.blocks.iter().flat_map(|b| match b {
            TemplateBlock::Heading { pieces, .. } | TemplateBlock::Paragraph { pieces } => pieces.as_slice(),
            TemplateBlock::Table { .. } | TemplateBlock::Chart { .. } => &[],
        }));
        for p in pieces {
            if let Piece::Figure { key, .. } = p {
                if !out.contains(key) {
                    out.push(key.clone());
                }
            }
        }
        out
    }
}

/// `k`, when it is one of the kinds of `list` (a table or a chart); else the refusal at `line`.
fn known(list: &[(&str, &str)], k: &str, line: usize, rule: &str, what: &str) -> Result<String, Invalid> {
    let k = k.trim();
    if list.iter().any(|(c, _)| *c == k) {
        return Ok(k.to_string());
    }
    let all: Vec<&str> = list.iter().map(|(c, _)| *c).collect();
    Err(at(line, rule, format!("没有{what}“{k}”（可用：{}）", all.join("、"))))
}

fn at(line: usize, rule: &str, message: String) -> Invalid {
    Invalid::new("body", "模板", rule, format!("第 {line} 行：{message}"))
}

fn format_of(spec: &str, line: usize) -> Result<Format, Invalid> {
    Ok(match spec.trim() {
        "" => Format::Defined,
        "int" => Format::Decimals(0),
        "1" => Format::Decimals(1),
        "2" => Format::Decimals(2),
        "pct" => Format::Percent,
        "wan" => Format::Wan,
        "yi" => Format::Yi,
        "cn" => Format::Chinese,
        s => match s.strip_prefix("approx:").map(|n| n.trim().parse::<i64>()) {
            Some(Ok(n)) if n > 0 => Format::Approx(n),
            _ => {
                return Err(at(line, "格式须为 int、1、2、pct、wan、yi、cn 或 approx:N", format!("不认识的格式“{s}”")))
            }
        },
    })
}

/// Split a line into text and `{{…}}` placeholders.
fn pieces(text: &str, line: usize) -> Result<Vec<Piece>, Invalid> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        if open > 0 {
            out.push(Piece::Text { text: rest[..open].to_string() });
        }
        let after = &rest[open + 2..];
        let close = after.find("}}").ok_or_else(|| {
            at(line, "占位符须以 }} 结束", format!("“{{{{{}”缺少 }}}}", after.chars().take(20).collect::<String>()))
        })?;
        let inner = after[..close].trim();
        let (key, fmt) = inner.split_once('|').unwrap_or((inner, ""));
        let key = key.trim();
        match key {
            "period" | "scope" => out.push(Piece::Field { name: key.to_string() }),
            _ if !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')) => {
                out.push(Piece::Figure { key: key.to_string(), format: format_of(fmt, line)? })
            }
            _ => return Err(at(line, "指标键由字母、数字、点和下划线组成", format!("“{inner}”不是指标键"))),
        }
        rest = &after[close + 2..];
    }
    if !rest.is_empty() {
        out.push(Piece::Text { text: rest.to_string() });
    }
    Ok(out)
}

/// Parse a template's text; every line that cannot be read is refused with its number.
pub fn parse(body: &str) -> Result<Template, Invalids> {
    let mut t = Template { title: String::new(), subtitle: Vec::new(), issuer: String::new(), blocks: Vec::new() };
    let mut errors = Invalids::default();
    for (i, raw) in body.lines().enumerate() {
        let n = i + 1;
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        let r: Result<(), Invalid> = (|| {
            if let Some(h) = line.strip_prefix("### ") {
                t.blocks.push(TemplateBlock::Heading { level: 2, pieces: pieces(h.trim(), n)? });
            } else if let Some(h) = line.strip_prefix("## ") {
                t.blocks.push(TemplateBlock::Heading { level: 1, pieces: pieces(h.trim(), n)? });
            } else if let Some(h) = line.strip_prefix("# ") {
                if !t.title.is_empty() {
                    return Err(at(n, "标题只能有一个", "出现第二个标题".into()));
                }
                t.title = h.trim().to_string();
            } else if let Some(s) = line.strip_prefix("> ") {
                t.subtitle = pieces(s.trim(), n)?;
            } else if let Some(s) = line.strip_prefix("@ ") {
                t.issuer = s.trim().to_string();
            } else if let Some(k) = line.strip_prefix("[table ").and_then(|k| k.strip_suffix(']')) {
                let k = known(TABLES, k, n, "表格须为已定义的统计表", "统计表")?;
                t.blocks.push(TemplateBlock::Table { table: k });
            } else if let Some(k) = line.strip_prefix("[chart ").and_then(|k| k.strip_suffix(']')) {
                let k = known(CHARTS, k, n, "图表须为已定义的统计图", "统计图")?;
                t.blocks.push(TemplateBlock::Chart { chart: k });
            } else {
                t.blocks.push(TemplateBlock::Paragraph { pieces: pieces(line, n)? });
            }
            Ok(())
        })();
        errors.take(r);
    }
    if t.title.is_empty() {
        errors.push(at(1, "模板须以“# 标题”开头", "缺少标题".into()));
    }
    errors.finish(|| t)
}

/// A version of a template to be written: each edit adds a version, the latest is current.
#[derive(Debug, Clone, PartialEq)]
pub struct NewTemplateVersion {
    pub key: String,
    pub version: i64,
    pub name: String,
    pub body: String,
}

impl crate::Entity for NewTemplateVersion {
    type Kind = crate::ids::kind::ReportTemplate;
    fn columns(&self) -> Vec<(&'static str, crate::Val)> {
        vec![
            ("key", self.key.clone().into()),
            ("version", self.version.into()),
            ("name", self.name.clone().into()),
            ("body", self.body.clone().into()),
        ]
    }
    fn check(&self) -> Result<(), Invalids> {
        let mut e = Invalids::default();
        e.take(crate::figures::check_key(&self.key).map_err(|i| Invalid::new("key", "模板键", i.rule, i.message)));
        e.take(crate::values::required_text("name", "模板名称", &self.name, 100));
        if let Err(mut bad) = parse(&self.body) {
            e.0.append(&mut bad.0);
        }
        e.finish(|| ())
    }
}

/// A generated report as kept: what was asked, by whom, and the evaluated report (JSON), from
/// which any format is written again with the same numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct NewGeneratedReport {
    pub template_key: String,
    pub version: i64,
    pub period_from: crate::Date,
    pub period_to: crate::Date,
    pub scope: String,
    pub generated_by: String,
    pub rendered: String,
}

impl crate::Entity for NewGeneratedReport {
    type Kind = crate::ids::kind::GeneratedReport;
    fn columns(&self) -> Vec<(&'static str, crate::Val)> {
        vec![
            ("template_key", self.template_key.clone().into()),
            ("version", self.version.into()),
            ("period_from", self.period_from.into()),
            ("period_to", self.period_to.into()),
            ("scope", self.scope.clone().into()),
            ("generated_by", self.generated_by.clone().into()),
            ("rendered", self.rendered.clone().into()),
        ]
    }
    fn check(&self) -> Result<(), Invalids> {
        crate::values::check_span("period_to", "统计期止", Some(self.period_from), Some(self.period_to))
            .map_err(Into::into)
    }
}

/// A whole number in Chinese numerals (0–9999), as 公文 write counts of batches: 十一, 二十六.
pub fn chinese_number(n: i64) -> Option<String> {
    const D: [&str; 10] = ["零", "一", "二", "三", "四", "五", "六", "七", "八", "九"];
    if !(0..10_000).contains(&n) {
        return None;
    }
    if n < 10 {
        return Some(D[n as usize].to_string());
    }
    let digits = [(n / 1000, "千"), (n / 100 % 10, "百"), (n / 10 % 10, "十"), (n % 10, "")];
    let mut out = String::new();
    let mut zero = false;
    for (d, unit) in digits {
        if d == 0 {
            zero = !out.is_empty();
            continue;
        }
        if zero {
            out.push('零');
            zero = false;
        }
        // 十一, not 一十一, when the number starts at the tens.
        if !(unit == "十" && d == 1 && out.is_empty()) {
            out.push_str(D[d as usize]);
        }
        out.push_str(unit);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_template_reads_line_by_line() {
        let t = parse(
            "# 江西省对口支援克州工作综述\n> （{{period}}）\n@ 江西省援疆前方指挥部\n## 一、总体情况\n\
             江西先后选派{{personnel.batches|cn}}批{{personnel.total}}名，惠及{{edu.volunteer.beneficiaries|approx:10000}}人次。\n\
             [table funds_by_year]\n### （一）教育\n",
        )
        .unwrap();
        assert_eq!(t.title, "江西省对口支援克州工作综述");
        assert_eq!(t.issuer, "江西省援疆前方指挥部");
        assert_eq!(t.figure_keys(), vec!["personnel.batches", "personnel.total", "edu.volunteer.beneficiaries"]);
        assert_eq!(t.blocks.len(), 4);
        let TemplateBlock::Paragraph { pieces } = &t.blocks[1] else { panic!() };
        assert_eq!(pieces[1], Piece::Figure { key: "personnel.batches".into(), format: Format::Chinese });
        assert_eq!(
            pieces[5],
            Piece::Figure { key: "edu.volunteer.beneficiaries".into(), format: Format::Approx(10000) }
        );
    }

    #[test]
    fn a_bad_template_names_each_line_and_rule() {
        let e = parse("## 没有标题\n数值{{a.b|percent}}\n[table nothing]\n未闭合{{a.b\n{{ 中文 }}").unwrap_err();
        let msgs: Vec<String> = e.0.iter().map(|i| i.message.clone()).collect();
        assert_eq!(e.0.len(), 5, "{msgs:?}");
        assert!(msgs[0].starts_with("第 2 行") && msgs[0].contains("percent"));
        assert!(msgs[1].starts_with("第 3 行") && msgs[1].contains("nothing"));
        assert!(msgs[2].starts_with("第 4 行"));
        assert!(msgs[3].starts_with("第 5 行"));
        assert!(msgs[4].contains("缺少标题"));
    }

    #[test]
    fn a_chart_line_names_a_known_chart() {
        let t = parse("# 综述\n[table funds_by_year]\n[chart funds_by_year]\n[chart  projects_by_sector ]\n").unwrap();
        assert_eq!(
            t.blocks[1..],
            [
                TemplateBlock::Chart { chart: "funds_by_year".into() },
                TemplateBlock::Chart { chart: "projects_by_sector".into() }
            ]
        );
        assert!(t.figure_keys().is_empty());
        // Every chart plots a table that exists.
        assert!(CHARTS.iter().all(|(c, _)| TABLES.iter().any(|(t, _)| t == c)));
        let e = parse("# 综述\n正文\n[chart indicators]\n[chart pie]").unwrap_err();
        assert_eq!(e.0.len(), 2);
        assert!(e.0[0].message.starts_with("第 3 行") && e.0[0].message.contains("indicators"), "{:?}", e.0[0]);
        assert!(e.0[1].message.starts_with("第 4 行") && e.0[1].message.contains("funds_by_year"));
        assert_eq!(e.0[1].rule, "图表须为已定义的统计图");
    }

    #[test]
    fn chinese_numerals() {
        let cn = |n| chinese_number(n).unwrap();
        assert_eq!(cn(0), "零");
        assert_eq!(cn(7), "七");
        assert_eq!(cn(10), "十");
        assert_eq!(cn(11), "十一");
        assert_eq!(cn(26), "二十六");
        assert_eq!(cn(105), "一百零五");
        assert_eq!(cn(110), "一百一十");
        assert_eq!(cn(1001), "一千零一");
        assert_eq!(chinese_number(10_000), None);
    }
}
