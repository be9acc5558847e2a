//! The figure pages' bodies, escaped by construction (every dynamic string passes through [`esc`]).

use crate::layout::beijing;
use domain::figures::FIGURE_LINES as LINES;
use services::figures::{Board, FigureValue};
use services::reports::html::esc;

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
