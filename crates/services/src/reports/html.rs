//! A report as one HTML document, with a print stylesheet for A4. In the application every figure
//! and every table number links to its definition and records (`/figures/KEY`); the appendix
//! lists each figure's definition, scope, period, record count and when it was computed.

use super::model::{Block, Cell, Rendered, Run};

/// Escape text for HTML (the application's string-built pages use it too).
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

/// A UTC time as Beijing time, or as given when it is not RFC 3339.
pub fn beijing(utc: &str) -> String {
    super::beijing(utc).unwrap_or_else(|| utc.to_string())
}

const CSS: &str = "body{font-family:'FangSong','仿宋_GB2312','Noto Serif CJK SC',serif;font-size:16pt;line-height:1.75;max-width:46em;margin:2em auto;color:#111}\
h1{font-family:'方正小标宋简体','Noto Serif CJK SC',serif;font-size:22pt;text-align:center;font-weight:normal;margin:0}\
p.sub{text-align:center;font-family:'KaiTi','楷体_GB2312',serif}\
h2{font-family:'SimHei','黑体','Noto Sans CJK SC',sans-serif;font-size:16pt;font-weight:normal;margin:1em 0 .2em}\
h3{font-family:'KaiTi','楷体_GB2312',serif;font-size:16pt;font-weight:normal;margin:.8em 0 .2em}\
p{text-indent:2em;margin:0}a.fig{color:inherit;text-decoration:none;border-bottom:1px dotted #b3261e}\
table{border-collapse:collapse;width:100%;font-size:11pt;line-height:1.4;margin:.6em 0}\
th,td{border:1px solid #333;padding:2px 6px}th{background:#f2f2f2;font-weight:normal;font-family:'SimHei','黑体',sans-serif}\
td.n{text-align:right}tr.total td{font-weight:bold}caption{font-family:'SimHei','黑体',sans-serif;font-size:12pt}\
p.note,p.meta{font-size:11pt;text-indent:0;color:#444}p.issuer{text-align:right;text-indent:0;margin-top:2em}\
section.appendix{page-break-before:always}\
figure.chart{margin:.6em 0;text-align:center;break-inside:avoid}figure.chart svg{max-width:100%;height:auto}\
figure.chart figcaption{font-family:'SimHei','黑体',sans-serif;font-size:12pt}\
@page{size:A4;margin:37mm 26mm 35mm 28mm}@media print{body{margin:0;max-width:none}a.fig{border:0}}";

/// The report as a standalone HTML document. With `links`, figures and numbers link into the
/// application (`/figures/…`); without, they are plain text (a file sent by e-mail).
pub fn html(r: &Rendered, links: bool) -> String {
    let mut b = String::new();
    b.push_str(&format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>{}</title><style>{CSS}</style></head><body>",
        esc(&r.title)
    ));
    b.push_str(&body(r, links));
    b.push_str("</body></html>");
    b
}

/// The report's body (for embedding in the application's page).
pub fn body(r: &Rendered, links: bool) -> String {
    let mut b = String::new();
    let link = |href: &str, text: &str| {
        if links {
            format!("<a class=\"fig\" href=\"{}\">{}</a>", esc(href), esc(text))
        } else {
            esc(text)
        }
    };
    b.push_str(&format!("<article class=\"report\"><h1>{}</h1>", esc(&r.title)));
    if !r.subtitle.is_empty() {
        b.push_str(&format!("<p class=\"sub\">{}</p>", esc(&r.subtitle)));
    }
    for s in &r.sections {
        match s.level {
            1 => b.push_str(&format!("<h2>{}</h2>", esc(&s.heading))),
            2 => b.push_str(&format!("<h3>{}</h3>", esc(&s.heading))),
            _ => {}
        }
        for block in &s.blocks {
            match block {
                Block::Paragraph { runs } => {
                    b.push_str("<p>");
                    for run in runs {
                        match run {
                            Run::Text { text } => b.push_str(&esc(text)),
                            Run::Figure { key, shown } => b.push_str(&link(&format!("/figures/{key}"), shown)),
                        }
                    }
                    b.push_str("</p>");
                }
                // The SVG inline: vectors on screen and in print, the same drawing the DOCX and
                // XLSX carry as PNG. It is the server's own output (labels escaped by plotters).
                Block::Chart(c) => b.push_str(&format!(
                    "<figure class=\"chart\">{}<figcaption>{}</figcaption></figure>",
                    c.svg.trim().replacen("<svg ", &format!("<svg role=\"img\" aria-label=\"{}\" ", esc(&c.title)), 1),
                    esc(&c.title)
                )),
                Block::Table(t) => {
                    b.push_str(&format!("<table><caption>{}</caption><thead><tr>", esc(&t.title)));
                    for c in &t.columns {
                        b.push_str(&format!("<th>{}</th>", esc(c)));
                    }
                    b.push_str("</tr></thead><tbody>");
                    let row = |cells: &[Cell], class: &str| {
                        let mut o = format!("<tr{class}>");
                        for c in cells {
                            match c {
                                Cell::Text { text } => o.push_str(&format!("<td>{}</td>", esc(text))),
                                Cell::Number { shown, href: Some(h), .. } => {
                                    o.push_str(&format!("<td class=\"n\">{}</td>", link(h, shown)))
                                }
                                Cell::Number { shown, .. } => {
                                    o.push_str(&format!("<td class=\"n\">{}</td>", esc(shown)))
                                }
                            }
                        }
                        o.push_str("</tr>");
                        o
                    };
                    for r in &t.rows {
                        b.push_str(&row(r, ""));
                    }
                    if let Some(total) = &t.total {
                        b.push_str(&row(total, " class=\"total\""));
                    }
                    b.push_str("</tbody></table>");
                    if let Some(n) = &t.note {
                        b.push_str(&format!("<p class=\"note\">注：{}</p>", esc(n)));
                    }
                }
            }
        }
    }
    if !r.issuer.is_empty() {
        b.push_str(&format!("<p class=\"issuer\">{}<br>{}</p>", esc(&r.issuer), esc(&r.issued_on.chinese())));
    }
    b.push_str(&format!(
        "<section class=\"appendix\"><h2>附件：数据来源与口径</h2><p class=\"meta\">统计期：{} 至 {}；范围：{}；计入：{}；{} 由 {} 生成（北京时间）。</p>",
        esc(&r.from.chinese()),
        esc(&r.to.chinese()),
        esc(&r.scope),
        esc(&r.counts),
        esc(&beijing(&r.generated_at)),
        esc(&r.generated_by)
    ));
    b.push_str("<table><thead><tr><th>指标</th><th>数值</th><th>口径</th><th>范围</th><th>统计期</th><th>来源记录数</th><th>计算时间</th></tr></thead><tbody>");
    for f in &r.figures {
        b.push_str(&format!(
            "<tr><td>{}<br><code>{}</code></td><td class=\"n\">{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            esc(&f.name),
            link(&format!("/figures/{}", f.key), &f.key),
            esc(&f.shown),
            esc(&f.definition),
            esc(&f.scope),
            esc(&f.period),
            f.records,
            esc(&beijing(&f.computed_at))
        ));
    }
    b.push_str("</tbody></table></section></article>");
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_figure_links_to_its_records_and_the_appendix_lists_them() {
        let r = Rendered::sample();
        let h = html(&r, true);
        assert!(h.contains("<a class=\"fig\" href=\"/figures/personnel.total\">777名</a>"));
        assert!(h.contains("附件：数据来源与口径") && h.contains("2026年11月29日 14:00"));
        assert!(h.contains("@page{size:A4"));
        assert!(h.contains("<td class=\"n\"><a class=\"fig\" href=\"/figures/funds.planned\">0.01</a></td>"));
        let plain = html(&r, false);
        assert!(!plain.contains("<a ") && plain.contains("777名"));
        assert_eq!(beijing("2024-06-30T16:30:00Z"), "2024年7月1日 00:30");
    }

    #[test]
    fn a_chart_is_its_svg_inline_with_a_caption() {
        let mut r = Rendered::sample();
        let c = crate::reports::chart::sample();
        r.sections[1].blocks.push(Block::Chart(c.clone()));
        let h = html(&r, false);
        assert!(
            h.contains("<figure class=\"chart\"><svg role=\"img\" aria-label=\"援疆资金计划投资与已拨付（按年度）\" ")
        );
        assert!(h.contains(&format!("</svg><figcaption>{}</figcaption></figure>", c.title)));
        assert_eq!(h.matches("<rect").count(), c.svg.matches("<rect").count());
    }
}
