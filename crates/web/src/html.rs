//! The figure pages' bodies, escaped by construction (every dynamic string passes through [`esc`]).

use crate::layout::beijing;
use domain::figures::FigureDef;
use services::figures::{Board, FigureValue, Provenance};

pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            _ => o.push(c),
        }
    }
    o
}

const LINES: &[(&str, &str)] = &[
    ("overview", "总体情况"),
    ("education", "教育援疆"),
    ("medical", "医疗援疆"),
    ("industry", "产业援疆"),
    ("employment", "就业援疆"),
    ("investment", "招商引资"),
    ("exchange", "交往交流交融"),
];

pub fn home(board: &Board) -> String {
    let figures = &board.values;
    let mut body = String::from("<h1>援疆工作主要数据</h1>");
    if !board.failed.is_empty() {
        body.push_str("<section class=\"failed\"><h2>无法计算的指标</h2><ul>");
        for f in &board.failed {
            body.push_str(&format!("<li><code>{}</code> {}：{}</li>", esc(&f.key), esc(&f.name), esc(&f.message)));
        }
        body.push_str("</ul></section>");
    }
    if figures.is_empty() && board.failed.is_empty() {
        body.push_str("<p>数据库中尚无指标定义。运行 <code>counterpart demo</code> 载入演示数据。</p>");
    }
    for (line, title) in LINES {
        let items: Vec<&FigureValue> = figures.iter().filter(|f| f.line == *line).collect();
        if items.is_empty() {
            continue;
        }
        body.push_str(&format!("<section><h2>{}</h2><div class=\"cards\">", esc(title)));
        for f in items {
            body.push_str(&format!(
                "<a class=\"card\" href=\"/figures/{key}\"><span class=\"v\">{v}</span><span class=\"u\">{u}</span><span class=\"n\">{n}</span></a>",
                key = esc(&f.key),
                v = esc(&f.display),
                u = esc(&f.unit),
                n = esc(&f.name)
            ));
        }
        body.push_str("</div></section>");
    }
    if let Some(f) = figures.first() {
        body.push_str(&format!("<p class=\"meta\">计算时间：{}（北京时间）</p>", esc(&beijing(&f.computed_at))));
    }
    body
}

pub fn figure(def: &FigureDef, v: &FigureValue, prov: &Provenance) -> String {
    let spec = serde_json::to_string_pretty(&def.spec).unwrap_or_default();
    let mut body = format!(
        "<h1>{name}</h1><p class=\"big\">{val} <small>{unit}</small></p>\
         <dl><dt>口径</dt><dd>{desc}</dd><dt>指标键</dt><dd><code>{key}</code></dd>\
         <dt>计算时间</dt><dd>{at}（北京时间）</dd></dl><details><summary>定义（JSON）</summary><pre>{spec}</pre></details>",
        name = esc(&def.name),
        val = esc(&v.display),
        unit = esc(&def.unit),
        desc = esc(&def.description),
        key = esc(&def.key),
        at = esc(&beijing(&v.computed_at)),
        spec = esc(&spec),
    );
    match prov {
        Provenance::Records { records } => {
            body.push_str(&format!("<h2>来源记录（{} 条）</h2><table><thead><tr><th>表</th><th>编号</th><th>名称</th><th>日期</th><th>计入值</th></tr></thead><tbody>", records.len()));
            for r in records {
                body.push_str(&format!(
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td></tr>",
                    esc(&r.table),
                    r.id,
                    esc(&r.label),
                    esc(r.date.as_deref().unwrap_or("")),
                    r.value
                ));
            }
        }
        Provenance::Indicator { values } => {
            body.push_str(&format!("<h2>来源指标值（{} 条）</h2><table><thead><tr><th>指标</th><th>单位</th><th>统计期</th><th>原始值</th></tr></thead><tbody>", values.len()));
            for r in values {
                body.push_str(&format!(
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td></tr>",
                    esc(&r.indicator),
                    esc(&r.org_name),
                    esc(&r.period),
                    r.value
                ));
            }
        }
    }
    body.push_str("</tbody></table>");
    body
}
