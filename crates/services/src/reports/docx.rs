//! The DOCX writer: a [`Rendered`] report as a Word document in the layout of Chinese official
//! documents (公文, GB/T 9704-2012): A4 with the standard margins, a 2号 小标宋 title, 3号 仿宋 body
//! on a fixed 22-line grid, 黑体/楷体 headings, "— N —" page numbers, the 落款 and an appendix with
//! the provenance of every figure.
//!
//! The OOXML is written by hand and packed with `zip`: every 公文 detail (East Asian font names on
//! each run, exact line pitch, odd/even page numbers) is then stated exactly, not left to a
//! library's defaults.

use super::chart::{self, ChartError};
use super::model::{Block, Cell, Chart, Rendered, Run, Section, Table, UsedFigure};
use chrono::{DateTime, Utc};
use std::io::{Cursor, Write};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

#[derive(Debug, thiserror::Error)]
pub enum DocxError {
    #[error("packing the DOCX: {0}")]
    Zip(#[from] zip::result::ZipError),
    #[error("writing the DOCX: {0}")]
    Io(#[from] std::io::Error),
    #[error("a chart for the DOCX: {0}")]
    Chart(#[from] ChartError),
    #[error("{field} is not an RFC 3339 time: {value:?}")]
    Time { field: &'static str, value: String },
}

// Page geometry in twips (1/20 pt; 1 mm = 1440 / 25.4 = 56.69 twips), GB/T 9704 §5.2.
/// A4 210 mm × 297 mm = 11905.5 × 16837.8 twips; Word's own A4 values.
const PAGE_W: u32 = 11906;
const PAGE_H: u32 = 16838;
/// 天头 37 mm = 2097.6; 订口 28 mm = 1587.4; bottom 35 mm = 1984.3; right 26 mm = 1474.0.
const MARGIN_TOP: u32 = 2098;
const MARGIN_LEFT: u32 = 1587;
const MARGIN_BOTTOM: u32 = 1984;
const MARGIN_RIGHT: u32 = 1474;
/// 版心 156 mm wide.
const TEXT_W: u32 = PAGE_W - MARGIN_LEFT - MARGIN_RIGHT;
/// The page number's dash sits 7 mm under the 版心, i.e. 28 mm above the paper's edge; a 4号 line
/// is about 6 mm high, so the footer's bottom is 25 mm (1417 twips) up.
const FOOTER: u32 = 1417;
const HEADER: u32 = 851;
/// 22 lines in the 225 mm 版心: 28.95 pt exactly (22 × 579 = 12738 ≤ 12756 twips of text height).
const LINE: u32 = 579;
/// Lines inside tables, where the text is 4号 or 小四.
const TABLE_LINE: u32 = 400;

// Sizes in half points: 2号 22 pt, 3号 16 pt, 4号 14 pt, 小四 12 pt.
const SZ_2: u32 = 44;
const SZ_3: u32 = 32;
const SZ_4: u32 = 28;
/// 五号 10.5 pt, for tables of many columns.
const SZ_5: u32 = 21;
const SZ_S4: u32 = 24;

// Font names as installed by Chinese Windows/WPS; Latin text and digits in Times New Roman.
const LATIN: &str = "Times New Roman";
const XIAOBIAOSONG: &str = "方正小标宋简体";
const FANGSONG: &str = "仿宋_GB2312";
const HEITI: &str = "黑体";
const KAITI: &str = "楷体_GB2312";
const SONGTI: &str = "宋体";

const W_NS: &str = "http://schemas.openxmlformats.org/wordprocessingml/2006/main";
const R_NS: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
const WP_NS: &str = "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing";
const A_NS: &str = "http://schemas.openxmlformats.org/drawingml/2006/main";
const PIC_NS: &str = "http://schemas.openxmlformats.org/drawingml/2006/picture";
/// A chart spans the 版心's 156 mm; 1 mm = 36000 EMU.
const CHART_W_EMU: u64 = 156 * 36_000;
const XML_DECL: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n";

/// The report as a DOCX package.
pub fn docx(r: &Rendered) -> Result<Vec<u8>, DocxError> {
    // Each chart as a PNG rendered from its SVG, word/media/chartN.png in document order.
    let charts: Vec<&Chart> = r
        .sections
        .iter()
        .flat_map(|s| &s.blocks)
        .filter_map(|b| match b {
            Block::Chart(c) => Some(c),
            _ => None,
        })
        .collect();
    let pngs = charts.iter().map(|c| chart::png(&c.svg)).collect::<Result<Vec<_>, _>>()?;
    let parts: [(&str, String); 10] = [
        ("[Content_Types].xml", content_types()),
        ("_rels/.rels", package_rels()),
        ("docProps/core.xml", core(r)?),
        ("word/_rels/document.xml.rels", document_rels(pngs.len())),
        ("word/document.xml", document(r)?),
        ("word/styles.xml", styles()),
        ("word/settings.xml", settings()),
        ("word/fontTable.xml", font_table()),
        ("word/footer1.xml", footer(Jc::Right)),
        ("word/footer2.xml", footer(Jc::Left)),
    ];
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    // No time stamps (the zip's default 1980-01-01): the same report packs to the same bytes.
    let opts = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    for (name, xml) in parts {
        zip.start_file(name, opts)?;
        zip.write_all(xml.as_bytes())?;
    }
    // PNG is compressed already.
    let stored = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
    for (i, png) in pngs.iter().enumerate() {
        zip.start_file(format!("word/media/chart{}.png", i + 1), stored)?;
        zip.write_all(png)?;
    }
    Ok(zip.finish()?.into_inner())
}

/// XML text or attribute value: the five specials escaped, characters XML 1.0 forbids (C0
/// controls) dropped, since Word refuses a part that contains them. (The IATI file uses it too.)
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'.. => out.push(c),
            _ => {}
        }
    }
    out
}

/// A UTC RFC 3339 time as Beijing time (UTC+8), "2026年11月29日 14:00".
fn beijing(field: &'static str, utc: &str) -> Result<String, DocxError> {
    super::beijing(utc).ok_or_else(|| DocxError::Time { field, value: utc.to_owned() })
}

// ---------------------------------------------------------------------------------------------
// Runs and paragraphs

/// Run properties: the East Asian font by name on every run, so Word and WPS pick it even where
/// the document's styles are lost in copy and paste.
#[derive(Clone, Copy)]
struct Font {
    east_asia: &'static str,
    size: u32,
}

const BODY: Font = Font { east_asia: FANGSONG, size: SZ_3 };

impl Font {
    fn rpr(self) -> String {
        format!(
            "<w:rPr><w:rFonts w:ascii=\"{l}\" w:hAnsi=\"{l}\" w:eastAsia=\"{ea}\" w:cs=\"{l}\"/>\
             <w:sz w:val=\"{sz}\"/><w:szCs w:val=\"{sz}\"/></w:rPr>",
            l = LATIN,
            ea = esc(self.east_asia),
            sz = self.size
        )
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Jc {
    Left,
    Center,
    Right,
    Both,
}

impl Jc {
    fn val(self) -> &'static str {
        match self {
            Jc::Left => "left",
            Jc::Center => "center",
            Jc::Right => "right",
            Jc::Both => "both",
        }
    }
}

/// Paragraph properties, written in the schema's element order (Word rejects other orders).
#[derive(Clone, Copy)]
struct Para {
    jc: Jc,
    /// First-line indent in characters of `font` (公文 paragraphs: 2).
    first_line: u32,
    /// Right indent in characters (成文日期 右空四字).
    right: u32,
    line: u32,
    keep_next: bool,
    page_break_before: bool,
    outline: Option<u8>,
}

const P_BODY: Para = Para {
    jc: Jc::Both,
    first_line: 2,
    right: 0,
    line: LINE,
    keep_next: false,
    page_break_before: false,
    outline: None,
};
const P_CENTER: Para = Para { jc: Jc::Center, first_line: 0, ..P_BODY };

impl Para {
    fn ppr(self, font: Font) -> String {
        let mut s = String::from("<w:pPr>");
        if self.keep_next {
            s.push_str("<w:keepNext/>");
        }
        if self.page_break_before {
            s.push_str("<w:pageBreakBefore/>");
        }
        s.push_str(&format!("<w:spacing w:before=\"0\" w:after=\"0\" w:line=\"{}\" w:lineRule=\"exact\"/>", self.line));
        // Character units (…Chars, in 1/100 character) for Word and WPS, twips for the others.
        let ch = font.size * 10;
        s.push_str(&format!(
            "<w:ind w:left=\"0\" w:right=\"{}\" w:rightChars=\"{}\" w:firstLine=\"{}\" w:firstLineChars=\"{}\"/>",
            self.right * ch,
            self.right * 100,
            self.first_line * ch,
            self.first_line * 100
        ));
        s.push_str(&format!("<w:jc w:val=\"{}\"/>", self.jc.val()));
        if let Some(level) = self.outline {
            s.push_str(&format!("<w:outlineLvl w:val=\"{level}\"/>"));
        }
        s.push_str(&font.rpr());
        s.push_str("</w:pPr>");
        s
    }
}

/// One run; line breaks and tabs in the text become Word's own elements.
fn run(out: &mut String, font: Font, text: &str) {
    out.push_str("<w:r>");
    out.push_str(&font.rpr());
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push_str("<w:br/>");
        }
        for (j, part) in line.trim_end_matches('\r').split('\t').enumerate() {
            if j > 0 {
                out.push_str("<w:tab/>");
            }
            if !part.is_empty() {
                out.push_str("<w:t xml:space=\"preserve\">");
                out.push_str(&esc(part));
                out.push_str("</w:t>");
            }
        }
    }
    out.push_str("</w:r>");
}

fn para(out: &mut String, p: Para, font: Font, text: &str) {
    out.push_str("<w:p>");
    out.push_str(&p.ppr(font));
    if !text.is_empty() {
        run(out, font, text);
    }
    out.push_str("</w:p>");
}

fn blank(out: &mut String) {
    para(out, P_BODY, BODY, "");
}

// ---------------------------------------------------------------------------------------------
// The document

fn document(r: &Rendered) -> Result<String, DocxError> {
    let mut o = String::with_capacity(16 * 1024);
    o.push_str(XML_DECL);
    o.push_str(&format!(
        "<w:document xmlns:w=\"{W_NS}\" xmlns:r=\"{R_NS}\" xmlns:wp=\"{WP_NS}\" xmlns:a=\"{A_NS}\" \
         xmlns:pic=\"{PIC_NS}\"><w:body>"
    ));

    // 标题 and the line under it, then one empty line before the text.
    para(&mut o, P_CENTER, Font { east_asia: XIAOBIAOSONG, size: SZ_2 }, &r.title);
    if !r.subtitle.is_empty() {
        para(&mut o, P_CENTER, Font { east_asia: KAITI, size: SZ_3 }, &r.subtitle);
    }
    blank(&mut o);

    let mut charts = 0;
    for s in &r.sections {
        section(&mut o, s, &mut charts);
    }

    // 附件说明 under the text (空一行, 左空二字), then the 落款 two lines lower, 右空四字.
    blank(&mut o);
    para(&mut o, P_BODY, BODY, "附件：数据来源与口径");
    blank(&mut o);
    blank(&mut o);
    let signature = Para { jc: Jc::Right, first_line: 0, right: 4, ..P_BODY };
    para(&mut o, signature, BODY, &r.issuer);
    para(&mut o, signature, BODY, &r.issued_on.chinese());

    appendix(&mut o, r)?;

    o.push_str(&format!(
        "<w:sectPr>\
         <w:footerReference w:type=\"default\" r:id=\"rIdFooterOdd\"/>\
         <w:footerReference w:type=\"even\" r:id=\"rIdFooterEven\"/>\
         <w:pgSz w:w=\"{PAGE_W}\" w:h=\"{PAGE_H}\"/>\
         <w:pgMar w:top=\"{MARGIN_TOP}\" w:right=\"{MARGIN_RIGHT}\" w:bottom=\"{MARGIN_BOTTOM}\" \
         w:left=\"{MARGIN_LEFT}\" w:header=\"{HEADER}\" w:footer=\"{FOOTER}\" w:gutter=\"0\"/>\
         <w:cols w:space=\"425\"/>\
         <w:docGrid w:type=\"lines\" w:linePitch=\"{LINE}\"/>\
         </w:sectPr></w:body></w:document>"
    ));
    Ok(o)
}

fn section(o: &mut String, s: &Section, charts: &mut usize) {
    // 一、 in 黑体, （一） in 楷体, lower levels in the body's 仿宋; all 3号, indented like the text.
    let font = match s.level {
        0 | 1 => Font { east_asia: HEITI, size: SZ_3 },
        2 => Font { east_asia: KAITI, size: SZ_3 },
        _ => BODY,
    };
    if !s.heading.is_empty() {
        let p = Para { keep_next: true, outline: Some(s.level.saturating_sub(1).min(8)), ..P_BODY };
        para(o, p, font, &s.heading);
    }
    for b in &s.blocks {
        match b {
            Block::Paragraph { runs } => {
                o.push_str("<w:p>");
                o.push_str(&P_BODY.ppr(BODY));
                for r in runs {
                    match r {
                        Run::Text { text } => run(o, BODY, text),
                        Run::Figure { shown, .. } => run(o, BODY, shown),
                    }
                }
                o.push_str("</w:p>");
            }
            Block::Table(t) => table(o, t),
            Block::Chart(c) => {
                *charts += 1;
                drawing(o, c, *charts);
            }
        }
    }
}

/// A chart: its caption (like a table's title), then the PNG inline across the text width, in
/// a paragraph of automatic line height (the body's exact 28.95 pt lines would clip it).
fn drawing(o: &mut String, c: &Chart, n: usize) {
    para(o, Para { keep_next: true, ..P_CENTER }, Font { east_asia: HEITI, size: SZ_3 }, &c.title);
    let cx = CHART_W_EMU;
    let cy = CHART_W_EMU * u64::from(chart::HEIGHT) / u64::from(chart::WIDTH);
    let title = esc(&c.title);
    o.push_str(&format!(
        "<w:p><w:pPr><w:snapToGrid w:val=\"0\"/><w:spacing w:before=\"0\" w:after=\"120\" w:line=\"240\" \
         w:lineRule=\"auto\"/><w:ind w:left=\"0\" w:firstLine=\"0\"/><w:jc w:val=\"center\"/></w:pPr><w:r><w:drawing>\
         <wp:inline distT=\"0\" distB=\"0\" distL=\"0\" distR=\"0\"><wp:extent cx=\"{cx}\" cy=\"{cy}\"/>\
         <wp:docPr id=\"{n}\" name=\"图表 {n}\" descr=\"{title}\"/>\
         <wp:cNvGraphicFramePr><a:graphicFrameLocks noChangeAspect=\"1\"/></wp:cNvGraphicFramePr>\
         <a:graphic><a:graphicData uri=\"{PIC_NS}\"><pic:pic><pic:nvPicPr>\
         <pic:cNvPr id=\"{n}\" name=\"chart{n}.png\"/><pic:cNvPicPr/></pic:nvPicPr>\
         <pic:blipFill><a:blip r:embed=\"rIdChart{n}\"/><a:stretch><a:fillRect/></a:stretch></pic:blipFill>\
         <pic:spPr><a:xfrm><a:off x=\"0\" y=\"0\"/><a:ext cx=\"{cx}\" cy=\"{cy}\"/></a:xfrm>\
         <a:prstGeom prst=\"rect\"><a:avLst/></a:prstGeom></pic:spPr></pic:pic></a:graphicData></a:graphic>\
         </wp:inline></w:drawing></w:r></w:p>"
    ));
}

/// A table cell: its text as one paragraph, and how many grid columns it spans.
struct Tc<'a> {
    text: &'a str,
    jc: Jc,
    font: Font,
    span: usize,
}

fn tbl(o: &mut String, widths: &[u32], rows: &[(bool, Vec<Tc>)]) {
    o.push_str(&format!(
        "<w:tbl><w:tblPr><w:tblW w:w=\"{TEXT_W}\" w:type=\"dxa\"/><w:jc w:val=\"center\"/><w:tblBorders>"
    ));
    for side in ["top", "left", "bottom", "right", "insideH", "insideV"] {
        o.push_str(&format!("<w:{side} w:val=\"single\" w:sz=\"4\" w:space=\"0\" w:color=\"000000\"/>"));
    }
    o.push_str(
        "</w:tblBorders><w:tblLayout w:type=\"fixed\"/><w:tblCellMar><w:left w:w=\"85\" w:type=\"dxa\"/>\
         <w:right w:w=\"85\" w:type=\"dxa\"/></w:tblCellMar></w:tblPr><w:tblGrid>",
    );
    for w in widths {
        o.push_str(&format!("<w:gridCol w:w=\"{w}\"/>"));
    }
    o.push_str("</w:tblGrid>");
    for (header, cells) in rows {
        // Header rows repeat on every page; no row is split across pages.
        o.push_str(if *header {
            "<w:tr><w:trPr><w:cantSplit/><w:tblHeader/></w:trPr>"
        } else {
            "<w:tr><w:trPr><w:cantSplit/></w:trPr>"
        });
        let mut col = 0;
        for c in cells {
            let span = c.span.max(1);
            let w: u32 = widths.iter().skip(col).take(span).sum();
            col += span;
            o.push_str(&format!("<w:tc><w:tcPr><w:tcW w:w=\"{w}\" w:type=\"dxa\"/>"));
            if span > 1 {
                o.push_str(&format!("<w:gridSpan w:val=\"{span}\"/>"));
            }
            o.push_str("<w:vAlign w:val=\"center\"/></w:tcPr>");
            let p = Para { jc: c.jc, first_line: 0, line: TABLE_LINE, ..P_BODY };
            para(o, p, c.font, c.text);
            o.push_str("</w:tc>");
        }
        o.push_str("</w:tr>");
    }
    o.push_str("</w:tbl>");
}

/// Equal columns across the 版心; the last one takes the rounding remainder.
fn even_widths(n: usize) -> Vec<u32> {
    let n32 = u32::try_from(n.max(1)).unwrap_or(1);
    let w = TEXT_W / n32;
    let mut v = vec![w; n.max(1)];
    if let Some(last) = v.last_mut() {
        *last = TEXT_W - w * (n32 - 1);
    }
    v
}

fn table<'a>(o: &mut String, t: &'a Table) {
    para(o, Para { keep_next: true, ..P_CENTER }, Font { east_asia: HEITI, size: SZ_3 }, &t.title);
    let n = t.rows.iter().chain(t.total.iter()).map(Vec::len).chain([t.columns.len()]).max().unwrap_or(0);
    // Wide tables in 五号 (10.5 pt) so that numbers stay on one line; others in 4号.
    let size = if n > 5 { SZ_5 } else { SZ_4 };
    let cell_font = Font { east_asia: FANGSONG, size };
    let strong_font = Font { east_asia: HEITI, size };
    if n > 0 {
        let cell = |c: &'a Cell, font: Font| match c {
            Cell::Text { text } => Tc { text: text.as_str(), jc: Jc::Center, font, span: 1 },
            Cell::Number { shown, .. } => Tc { text: shown.as_str(), jc: Jc::Right, font, span: 1 },
        };
        // Short rows are padded so every row fills the grid.
        let padded = |mut v: Vec<Tc<'a>>, font: Font| {
            while v.len() < n {
                v.push(Tc { text: "", jc: Jc::Center, font, span: 1 });
            }
            v
        };
        let mut rows: Vec<(bool, Vec<Tc>)> = Vec::new();
        if !t.columns.is_empty() {
            let head = t.columns.iter().map(|h| Tc { text: h.as_str(), jc: Jc::Center, font: strong_font, span: 1 });
            rows.push((true, padded(head.collect(), strong_font)));
        }
        for r in &t.rows {
            rows.push((false, padded(r.iter().map(|c| cell(c, cell_font)).collect(), cell_font)));
        }
        if let Some(r) = &t.total {
            rows.push((false, padded(r.iter().map(|c| cell(c, strong_font)).collect(), strong_font)));
        }
        if !rows.is_empty() {
            tbl(o, &even_widths(n), &rows);
        }
    }
    if let Some(note) = &t.note {
        para(
            o,
            Para { first_line: 0, line: TABLE_LINE, ..P_BODY },
            Font { east_asia: FANGSONG, size: SZ_S4 },
            &format!("注：{note}"),
        );
    }
}

/// 附件 on its own page: "附件" top left in 黑体, its title centred, then one block per figure.
fn appendix(o: &mut String, r: &Rendered) -> Result<(), DocxError> {
    const SMALL: Font = Font { east_asia: FANGSONG, size: SZ_S4 };
    const LABEL: Font = Font { east_asia: HEITI, size: SZ_S4 };
    let left = Para { jc: Jc::Left, first_line: 0, ..P_BODY };
    para(o, Para { page_break_before: true, ..left }, Font { east_asia: HEITI, size: SZ_3 }, "附件");
    blank(o);
    para(o, P_CENTER, Font { east_asia: XIAOBIAOSONG, size: SZ_2 }, "数据来源与口径");
    blank(o);

    if r.figures.is_empty() {
        para(o, P_BODY, BODY, "本报告未引用统计数据。");
    } else {
        let times: Vec<String> =
            r.figures.iter().map(|f| beijing("computed_at", &f.computed_at)).collect::<Result<_, _>>()?;
        let records: Vec<String> = r.figures.iter().map(|f| format!("{}条", f.records)).collect();
        let numbers: Vec<String> = (1..=r.figures.len()).map(|i| format!("{i}. ")).collect();
        let titles: Vec<String> = r.figures.iter().zip(&numbers).map(|(f, n)| format!("{n}{}", f.name)).collect();
        let label = 2000;
        let widths = [label, TEXT_W - label];
        let mut rows: Vec<(bool, Vec<Tc>)> = Vec::new();
        for (i, f) in r.figures.iter().enumerate() {
            let UsedFigure { key, definition, scope, period, shown, .. } = f;
            rows.push((false, vec![Tc { text: &titles[i], jc: Jc::Left, font: LABEL, span: 2 }]));
            let fields: [(&str, &str); 7] = [
                ("键", key),
                ("口径", definition),
                ("范围", scope),
                ("期间", period),
                ("数值", shown),
                ("记录数", &records[i]),
                ("计算时间", &times[i]),
            ];
            for (k, v) in fields {
                rows.push((
                    false,
                    vec![
                        Tc { text: k, jc: Jc::Center, font: SMALL, span: 1 },
                        Tc { text: v, jc: Jc::Left, font: SMALL, span: 1 },
                    ],
                ));
            }
        }
        tbl(o, &widths, &rows);
    }

    blank(o);
    let note = Para { first_line: 2, line: TABLE_LINE, ..P_BODY };
    para(
        o,
        note,
        SMALL,
        &format!(
            "统计口径：{}。范围：{}；期间：{}至{}。计算时间为北京时间。",
            r.counts,
            r.scope,
            r.from.chinese(),
            r.to.chinese()
        ),
    );
    para(
        o,
        note,
        SMALL,
        &format!(
            "本报告由{}于{}生成（模板 {} 第{}版）。",
            r.generated_by,
            beijing("generated_at", &r.generated_at)?,
            r.template,
            r.version
        ),
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The other parts

/// 页码: 4号 宋体 "— N —"; odd pages right (右空一字), even pages left (左空一字).
fn footer(jc: Jc) -> String {
    let font = Font { east_asia: SONGTI, size: SZ_4 };
    let rpr = font.rpr();
    let (l, r) = if jc == Jc::Right { (0, 1) } else { (1, 0) };
    let ch = SZ_4 * 10;
    format!(
        "{XML_DECL}<w:ftr xmlns:w=\"{W_NS}\" xmlns:r=\"{R_NS}\"><w:p><w:pPr>\
         <w:ind w:left=\"{}\" w:leftChars=\"{}\" w:right=\"{}\" w:rightChars=\"{}\"/><w:jc w:val=\"{}\"/>{rpr}</w:pPr>\
         <w:r>{rpr}<w:t xml:space=\"preserve\">— </w:t></w:r>\
         <w:r>{rpr}<w:fldChar w:fldCharType=\"begin\"/></w:r>\
         <w:r>{rpr}<w:instrText xml:space=\"preserve\"> PAGE </w:instrText></w:r>\
         <w:r>{rpr}<w:fldChar w:fldCharType=\"separate\"/></w:r>\
         <w:r>{rpr}<w:t>1</w:t></w:r>\
         <w:r>{rpr}<w:fldChar w:fldCharType=\"end\"/></w:r>\
         <w:r>{rpr}<w:t xml:space=\"preserve\"> —</w:t></w:r>\
         </w:p></w:ftr>",
        l * ch,
        l * 100,
        r * ch,
        r * 100,
        jc.val()
    )
}

fn styles() -> String {
    format!(
        "{XML_DECL}<w:styles xmlns:w=\"{W_NS}\"><w:docDefaults><w:rPrDefault><w:rPr>\
         <w:rFonts w:ascii=\"{LATIN}\" w:hAnsi=\"{LATIN}\" w:eastAsia=\"{FANGSONG}\" w:cs=\"{LATIN}\"/>\
         <w:kern w:val=\"2\"/><w:sz w:val=\"{SZ_3}\"/><w:szCs w:val=\"{SZ_3}\"/>\
         <w:lang w:val=\"en-US\" w:eastAsia=\"zh-CN\" w:bidi=\"ar-SA\"/></w:rPr></w:rPrDefault>\
         <w:pPrDefault><w:pPr><w:spacing w:line=\"{LINE}\" w:lineRule=\"exact\"/><w:jc w:val=\"both\"/></w:pPr>\
         </w:pPrDefault></w:docDefaults>\
         <w:style w:type=\"paragraph\" w:default=\"1\" w:styleId=\"Normal\"><w:name w:val=\"Normal\"/><w:qFormat/>\
         <w:pPr><w:widowControl w:val=\"0\"/></w:pPr></w:style>\
         <w:style w:type=\"character\" w:default=\"1\" w:styleId=\"DefaultParagraphFont\">\
         <w:name w:val=\"Default Paragraph Font\"/><w:uiPriority w:val=\"1\"/><w:semiHidden/></w:style>\
         <w:style w:type=\"table\" w:default=\"1\" w:styleId=\"TableNormal\"><w:name w:val=\"Normal Table\"/>\
         <w:uiPriority w:val=\"99\"/><w:semiHidden/><w:tblPr><w:tblInd w:w=\"0\" w:type=\"dxa\"/><w:tblCellMar>\
         <w:top w:w=\"0\" w:type=\"dxa\"/><w:left w:w=\"108\" w:type=\"dxa\"/><w:bottom w:w=\"0\" w:type=\"dxa\"/>\
         <w:right w:w=\"108\" w:type=\"dxa\"/></w:tblCellMar></w:tblPr></w:style></w:styles>"
    )
}

fn settings() -> String {
    format!(
        "{XML_DECL}<w:settings xmlns:w=\"{W_NS}\"><w:zoom w:percent=\"100\"/><w:defaultTabStop w:val=\"420\"/>\
         <w:evenAndOddHeaders/><w:characterSpacingControl w:val=\"compressPunctuation\"/><w:compat>\
         <w:compatSetting w:name=\"compatibilityMode\" w:uri=\"http://schemas.microsoft.com/office/word\" w:val=\"15\"/>\
         </w:compat></w:settings>"
    )
}

/// The fonts with GB2312 charset and the name Windows ships (仿宋, 楷体), which Word substitutes
/// where the _GB2312 fonts of older systems are not installed.
fn font_table() -> String {
    let mut s = format!("{XML_DECL}<w:fonts xmlns:w=\"{W_NS}\">");
    for (name, alt) in
        [(FANGSONG, "仿宋"), (KAITI, "楷体"), (HEITI, "SimHei"), (XIAOBIAOSONG, "宋体"), (SONGTI, "SimSun")]
    {
        s.push_str(&format!(
            "<w:font w:name=\"{}\"><w:altName w:val=\"{}\"/><w:charset w:val=\"86\"/><w:family w:val=\"auto\"/>\
             <w:pitch w:val=\"variable\"/></w:font>",
            esc(name),
            esc(alt)
        ));
    }
    s.push_str(&format!(
        "<w:font w:name=\"{LATIN}\"><w:charset w:val=\"00\"/><w:family w:val=\"roman\"/><w:pitch w:val=\"variable\"/>\
         </w:font></w:fonts>"
    ));
    s
}

fn core(r: &Rendered) -> Result<String, DocxError> {
    let created = DateTime::parse_from_rfc3339(&r.generated_at)
        .map_err(|_| DocxError::Time { field: "generated_at", value: r.generated_at.clone() })?
        .with_timezone(&Utc)
        .format("%Y-%m-%dT%H:%M:%SZ");
    Ok(format!(
        "{XML_DECL}<cp:coreProperties \
         xmlns:cp=\"http://schemas.openxmlformats.org/package/2006/metadata/core-properties\" \
         xmlns:dc=\"http://purl.org/dc/elements/1.1/\" xmlns:dcterms=\"http://purl.org/dc/terms/\" \
         xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\
         <dc:title>{}</dc:title><dc:creator>{}</dc:creator>\
         <dcterms:created xsi:type=\"dcterms:W3CDTF\">{created}</dcterms:created></cp:coreProperties>",
        esc(&r.title),
        esc(&r.generated_by)
    ))
}

fn content_types() -> String {
    const WML: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml";
    format!(
        "{XML_DECL}<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">\
         <Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>\
         <Default Extension=\"xml\" ContentType=\"application/xml\"/>\
         <Default Extension=\"png\" ContentType=\"image/png\"/>\
         <Override PartName=\"/word/document.xml\" ContentType=\"{WML}.document.main+xml\"/>\
         <Override PartName=\"/word/styles.xml\" ContentType=\"{WML}.styles+xml\"/>\
         <Override PartName=\"/word/settings.xml\" ContentType=\"{WML}.settings+xml\"/>\
         <Override PartName=\"/word/fontTable.xml\" ContentType=\"{WML}.fontTable+xml\"/>\
         <Override PartName=\"/word/footer1.xml\" ContentType=\"{WML}.footer+xml\"/>\
         <Override PartName=\"/word/footer2.xml\" ContentType=\"{WML}.footer+xml\"/>\
         <Override PartName=\"/docProps/core.xml\" \
         ContentType=\"application/vnd.openxmlformats-package.core-properties+xml\"/></Types>"
    )
}

fn package_rels() -> String {
    format!(
        "{XML_DECL}<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">\
         <Relationship Id=\"rId1\" \
         Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument\" \
         Target=\"word/document.xml\"/>\
         <Relationship Id=\"rId2\" \
         Type=\"http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties\" \
         Target=\"docProps/core.xml\"/></Relationships>"
    )
}

fn document_rels(charts: usize) -> String {
    let mut s =
        format!("{XML_DECL}<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">");
    for (id, kind, target) in [
        ("rIdStyles", "styles", "styles.xml"),
        ("rIdSettings", "settings", "settings.xml"),
        ("rIdFonts", "fontTable", "fontTable.xml"),
        ("rIdFooterOdd", "footer", "footer1.xml"),
        ("rIdFooterEven", "footer", "footer2.xml"),
    ] {
        s.push_str(&format!("<Relationship Id=\"{id}\" Type=\"{R_NS}/{kind}\" Target=\"{target}\"/>"));
    }
    for n in 1..=charts {
        s.push_str(&format!("<Relationship Id=\"rIdChart{n}\" Type=\"{R_NS}/image\" Target=\"media/chart{n}.png\"/>"));
    }
    s.push_str("</Relationships>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    /// Every part of the package by name, each checked to parse as XML.
    fn unzip(bytes: &[u8]) -> std::collections::BTreeMap<String, String> {
        let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).expect("a zip archive");
        let mut parts = std::collections::BTreeMap::new();
        for i in 0..zip.len() {
            let mut f = zip.by_index(i).expect("an entry");
            if f.name().ends_with(".png") {
                continue;
            }
            let mut s = String::new();
            f.read_to_string(&mut s).expect("UTF-8 text");
            roxmltree::Document::parse(&s).unwrap_or_else(|e| panic!("{} does not parse: {e}", f.name()));
            parts.insert(f.name().to_owned(), s);
        }
        parts
    }

    /// The text of every w:t in a part, concatenated: what a reader sees.
    fn text(xml: &str) -> String {
        let doc = roxmltree::Document::parse(xml).expect("XML");
        doc.descendants().filter(|n| n.has_tag_name((W_NS, "t"))).filter_map(|n| n.text()).collect()
    }

    fn twips(mm: f64) -> u32 {
        (mm * 1440.0 / 25.4).round() as u32
    }

    #[test]
    fn geometry_is_gb_t_9704() {
        // 1 mm = 56.69 twips: 210 mm → 11906, 297 mm → 16838, 37 mm → 2098, 28 mm → 1587,
        // 35 mm → 1984, 26 mm → 1474; the 版心 156 mm × 225 mm holds 22 lines of 579 twips.
        assert_eq!((twips(210.0), twips(297.0)), (PAGE_W, PAGE_H));
        assert_eq!(
            [twips(37.0), twips(28.0), twips(35.0), twips(26.0)],
            [MARGIN_TOP, MARGIN_LEFT, MARGIN_BOTTOM, MARGIN_RIGHT]
        );
        assert_eq!(TEXT_W.abs_diff(twips(156.0)), 1);
        assert!(22 * LINE <= PAGE_H - MARGIN_TOP - MARGIN_BOTTOM && 23 * LINE > twips(225.0));
    }

    #[test]
    fn the_sample_as_a_docx() {
        let r = Rendered::sample();
        let parts = unzip(&docx(&r).expect("docx"));
        for name in [
            "[Content_Types].xml",
            "_rels/.rels",
            "word/_rels/document.xml.rels",
            "word/document.xml",
            "word/styles.xml",
            "word/settings.xml",
            "word/footer1.xml",
        ] {
            assert!(parts.contains_key(name), "{name} missing");
        }
        let doc = &parts["word/document.xml"];
        let words = text(doc);
        assert!(words.starts_with("江西省对口支援克州工作综述（第十一批"), "{words}");
        // Paragraph runs: text and figures in one line of text.
        assert!(words.contains("江西先后选派十一批777名援疆干部人才"), "{words}");
        assert!(words.contains("累计投入援疆资金35109.43万元。"));
        for n in r.shown_numbers() {
            assert!(words.contains(&n), "{n} not in the document");
        }
        // Fonts named on the runs, East Asian and Latin.
        for font in ["仿宋_GB2312", "方正小标宋简体", "黑体", "楷体_GB2312"] {
            assert!(doc.contains(&format!("w:eastAsia=\"{font}\"")), "{font}");
        }
        assert!(doc.contains("w:ascii=\"Times New Roman\" w:hAnsi=\"Times New Roman\""));
        assert!(doc.contains("<w:sz w:val=\"44\"/>") && doc.contains("<w:sz w:val=\"32\"/>"));
        assert!(doc.contains("w:firstLine=\"640\" w:firstLineChars=\"200\""));
        assert!(doc.contains("w:line=\"579\" w:lineRule=\"exact\""));
        // A4 and the margins in twips.
        assert!(doc.contains("<w:pgSz w:w=\"11906\" w:h=\"16838\"/>"));
        assert!(doc.contains("w:top=\"2098\" w:right=\"1474\" w:bottom=\"1984\" w:left=\"1587\""));
        // Table: header, rows, totals, note; numbers right-aligned.
        assert!(words.contains("援疆资金到位与拨付情况年度计划投资（万元）已拨付（万元）拨付率（%）2023"));
        assert!(words.contains("合计0.010.0150.0注：合计按未经舍入的数值计算"));
        let xml = roxmltree::Document::parse(doc).expect("XML");
        let jc_of = |t: &str| {
            xml.descendants()
                .find(|n| n.has_tag_name((W_NS, "t")) && n.text() == Some(t))
                .and_then(|n| n.ancestors().find(|a| a.has_tag_name((W_NS, "p"))))
                .and_then(|p| p.descendants().find(|d| d.has_tag_name((W_NS, "jc"))))
                .and_then(|jc| jc.attribute((W_NS, "val")))
                .map(str::to_owned)
        };
        assert_eq!(jc_of("100.0").as_deref(), Some("right"));
        assert_eq!(jc_of("年度").as_deref(), Some("center"));
        // 落款, right-aligned, and the appendix with the figure's provenance in Beijing time.
        assert!(words.contains("附件：数据来源与口径江西省援疆前方指挥部2026年11月29日附件数据来源与口径"), "{words}");
        assert_eq!(jc_of("江西省援疆前方指挥部").as_deref(), Some("right"));
        assert!(words.contains("1. 援疆干部人才总数键personnel.total口径人员中援疆干部人才的人数"));
        assert!(words.contains("数值777名记录数777条计算时间2026年11月29日 14:00"));
        assert!(words.contains("统计口径：已保存的全部记录。"));
        assert!(words.contains("本报告由demo.manager于2026年11月29日 14:00生成（模板 summary 第1版）"));
        // Page numbers: "— PAGE —", 4号 宋体, odd and even pages.
        for f in ["word/footer1.xml", "word/footer2.xml"] {
            let footer = &parts[f];
            assert!(footer.contains("<w:instrText xml:space=\"preserve\"> PAGE </w:instrText>"));
            assert!(footer.contains("w:eastAsia=\"宋体\"") && footer.contains("<w:sz w:val=\"28\"/>"));
            assert_eq!(text(footer), "— 1 —");
        }
        assert!(parts["word/settings.xml"].contains("<w:evenAndOddHeaders/>"));
    }

    #[test]
    fn dates_without_zero_padding() {
        let mut r = Rendered::sample();
        r.issued_on = domain::Date::parse("2024-07-01").expect("date");
        r.from = domain::Date::parse("2024-01-05").expect("date");
        r.generated_at = "2024-06-30T17:05:00Z".into();
        r.figures[0].computed_at = "2024-07-01T00:30:00+00:00".into();
        let words = text(&unzip(&docx(&r).expect("docx"))["word/document.xml"]);
        assert!(words.contains("江西省援疆前方指挥部2024年7月1日"), "{words}");
        assert!(words.contains("期间：2024年1月5日至2026年11月29日"));
        assert!(words.contains("计算时间2024年7月1日 08:30"));
        assert!(words.contains("于2024年7月1日 01:05生成"));
        assert!(!words.contains("年0") && !words.contains("月0"), "{words}");
    }

    #[test]
    fn xml_specials_are_escaped() {
        let mut r = Rendered::sample();
        let nasty = "A<&>\"'B\u{1}\tC\nD";
        r.title = nasty.into();
        r.issuer = "</w:t></w:r>&amp;".into();
        if let Some(Block::Paragraph { runs }) = r.sections[0].blocks.first_mut() {
            runs.push(Run::Figure { key: "x".into(), shown: "<1&2>".into() });
        }
        r.figures[0].definition = "a < b && c > \"d\"".into();
        let parts = unzip(&docx(&r).expect("docx"));
        let words = text(&parts["word/document.xml"]);
        // The control character is dropped, the tab and line break become elements.
        assert!(words.starts_with("A<&>\"'BCD"), "{words}");
        assert!(parts["word/document.xml"].contains("B</w:t><w:tab/><w:t xml:space=\"preserve\">C</w:t><w:br/>"));
        assert!(words.contains("</w:t></w:r>&amp;"));
        assert!(words.contains("<1&2>"));
        assert!(words.contains("a < b && c > \"d\""));
        let core = roxmltree::Document::parse(&parts["docProps/core.xml"]).expect("XML");
        let title = core.descendants().find(|n| n.tag_name().name() == "title").and_then(|n| n.text());
        assert_eq!(title, Some("A<&>\"'B\tC\nD"));
    }

    #[test]
    fn a_bad_time_is_an_error() {
        let mut r = Rendered::sample();
        r.figures[0].computed_at = "yesterday".into();
        let e = docx(&r).expect_err("refused");
        assert!(matches!(e, DocxError::Time { field: "computed_at", .. }), "{e}");
    }

    #[test]
    fn the_same_report_packs_to_the_same_bytes() {
        let r = Rendered::sample();
        assert_eq!(docx(&r).expect("docx"), docx(&r).expect("docx"));
    }

    #[test]
    fn ragged_and_empty_tables() {
        let mut r = Rendered::sample();
        r.figures.clear();
        if let Some(Block::Table(t)) = r.sections[1].blocks.first_mut() {
            t.rows[0].truncate(2);
            t.total = None;
        }
        r.sections[1].blocks.push(Block::Table(Table {
            sheet: "空".into(),
            title: "空表".into(),
            columns: vec![],
            rows: vec![],
            total: None,
            note: None,
        }));
        let parts = unzip(&docx(&r).expect("docx"));
        let doc = roxmltree::Document::parse(&parts["word/document.xml"]).expect("XML");
        // Every row fills the grid: 1 header + 2 rows of 4 cells.
        let tbl = doc.descendants().find(|n| n.has_tag_name((W_NS, "tbl"))).expect("a table");
        let rows: Vec<usize> = tbl
            .children()
            .filter(|n| n.has_tag_name((W_NS, "tr")))
            .map(|tr| tr.children().filter(|n| n.has_tag_name((W_NS, "tc"))).count())
            .collect();
        assert_eq!(rows, [4, 4, 4]);
        assert_eq!(doc.descendants().filter(|n| n.has_tag_name((W_NS, "tbl"))).count(), 1);
        assert!(text(&parts["word/document.xml"]).contains("空表"));
        assert!(text(&parts["word/document.xml"]).contains("本报告未引用统计数据。"));
    }

    #[test]
    fn a_chart_is_a_png_drawn_inline_across_the_text_width() {
        let mut r = Rendered::sample();
        r.sections[1].blocks.push(Block::Chart(crate::reports::chart::sample()));
        let bytes = docx(&r).expect("docx");
        let mut zip = zip::ZipArchive::new(Cursor::new(bytes.as_slice())).expect("zip");
        let mut png = Vec::new();
        zip.by_name("word/media/chart1.png").expect("the chart's PNG").read_to_end(&mut png).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let parts = unzip(&bytes);
        assert!(parts["[Content_Types].xml"].contains("<Default Extension=\"png\" ContentType=\"image/png\"/>"));
        let rels = roxmltree::Document::parse(&parts["word/_rels/document.xml.rels"]).unwrap();
        let rel = rels.descendants().find(|n| n.attribute("Id") == Some("rIdChart1")).expect("the relationship");
        assert_eq!(rel.attribute("Target"), Some("media/chart1.png"));
        assert!(rel.attribute("Type").unwrap().ends_with("/image"));
        let doc = roxmltree::Document::parse(&parts["word/document.xml"]).unwrap();
        let blip = doc.descendants().find(|n| n.has_tag_name((A_NS, "blip"))).expect("a picture");
        assert_eq!(blip.attribute((R_NS, "embed")), Some("rIdChart1"));
        assert!(blip.ancestors().any(|n| n.has_tag_name((WP_NS, "inline"))));
        let extent = doc.descendants().find(|n| n.has_tag_name((WP_NS, "extent"))).unwrap();
        // 156 mm wide, 2:1.
        assert_eq!(extent.attribute("cx"), Some("5616000"));
        assert_eq!(extent.attribute("cy"), Some("2808000"));
        // Its caption is in the text, after the table.
        let words = text(&parts["word/document.xml"]);
        assert!(words.contains("援疆资金计划投资与已拨付（按年度）"));
        // Without charts, no media.
        let plain = docx(&Rendered::sample()).unwrap();
        assert!(zip::ZipArchive::new(Cursor::new(plain)).unwrap().by_name("word/media/chart1.png").is_err());
    }
}
