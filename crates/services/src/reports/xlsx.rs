//! The report's statistical tables as an XLSX workbook: a first sheet "说明" (what the report
//! is), one sheet per table sheet name, and a last sheet "数据来源" (where every figure comes
//! from). Numbers are stored unrounded as numbers; only their number format rounds, so a reader
//! who sums a column in Excel gets the same total the report computed.
//!
//! Cell links (`href`) are left out: they are paths into the running server and mean nothing in
//! a file that travels on its own; the provenance sheet names each figure's key instead.

use std::collections::{HashMap, HashSet};

use rust_xlsxwriter::{ColNum, Color, Format, FormatAlign, FormatBorder, Image, RowNum, Workbook, Worksheet};

use super::chart::{self, ChartError};
use super::model::{Block, Cell, Chart, Rendered, Table, UsedFigure};

/// The first sheet's name.
pub const ABOUT_SHEET: &str = "说明";
/// The last sheet's name.
pub const SOURCES_SHEET: &str = "数据来源";

/// Excel's limit on a sheet name, counted in UTF-16 units.
const SHEET_NAME_MAX: usize = 31;
/// Column widths (in Excel's character units) are kept within these bounds.
const MIN_WIDTH: f64 = 6.0;
const MAX_WIDTH: f64 = 60.0;
/// A header longer than this wraps instead of widening its column.
const HEADER_WRAP_WIDTH: f64 = 16.0;
/// More decimals than this are not meaningful for an f64 shown in a report.
const MAX_DECIMALS: u32 = 10;
/// The height of one line of 11-point text, in points (Excel's default row height).
const LINE_HEIGHT: f64 = 15.0;

#[derive(Debug, thiserror::Error)]
pub enum XlsxError {
    #[error("the spreadsheet could not be written: {0}")]
    Writer(#[from] rust_xlsxwriter::XlsxError),
    #[error("the sheet 「{sheet}」 needs more rows or columns than a worksheet holds")]
    TooLarge { sheet: String },
    #[error("a chart for the spreadsheet: {0}")]
    Chart(#[from] ChartError),
}

/// The workbook for a report, as the bytes of an .xlsx file.
pub fn xlsx(r: &Rendered) -> Result<Vec<u8>, XlsxError> {
    let formats = Formats::new();
    let mut book = Workbook::new();

    let about = book.add_worksheet();
    about.set_name(ABOUT_SHEET)?;
    write_about(about, r, &formats)?;

    let mut names = SheetNames::new();
    names.reserve(ABOUT_SHEET);
    names.reserve(SOURCES_SHEET);
    for (sheet, tables, charts) in sheets(r) {
        let name = names.claim(sheet);
        let ws = book.add_worksheet();
        ws.set_name(&name)?;
        let below = write_tables(ws, &name, &tables, &formats)?;
        write_charts(ws, &name, below, &charts)?;
    }

    let sources = book.add_worksheet();
    sources.set_name(SOURCES_SHEET)?;
    write_sources(sources, &r.figures, &formats)?;

    Ok(book.save_to_buffer()?)
}

type SheetContent<'a> = (&'a str, Vec<&'a Table>, Vec<&'a Chart>);

/// The report's tables and charts grouped by their sheet name (a chart goes on its table's
/// sheet), sheets in order of first appearance.
fn sheets(r: &Rendered) -> Vec<SheetContent<'_>> {
    let mut out: Vec<SheetContent<'_>> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for b in r.sections.iter().flat_map(|s| &s.blocks) {
        let sheet = match b {
            Block::Table(t) => t.sheet.as_str(),
            Block::Chart(c) => c.sheet.as_str(),
            Block::Paragraph { .. } => continue,
        };
        let i = *index.entry(sheet).or_insert_with(|| {
            out.push((sheet, Vec::new(), Vec::new()));
            out.len() - 1
        });
        match b {
            Block::Table(t) => out[i].1.push(t),
            Block::Chart(c) => out[i].2.push(c),
            Block::Paragraph { .. } => {}
        }
    }
    out
}

/// The sheet's charts as pictures, one under another below its tables (a blank row first),
/// each the PNG the DOCX carries, shown at the SVG's own size.
fn write_charts(ws: &mut Worksheet, sheet: &str, mut at: usize, charts: &[&Chart]) -> Result<(), XlsxError> {
    // Rows of Excel's default 20 px height that one chart covers.
    let rows_per_chart = (chart::HEIGHT as usize).div_ceil(20) + 1;
    for c in charts {
        at += 1;
        let png = chart::png(&c.svg)?;
        let image = Image::new_from_buffer(&png)?
            .set_scale_width(1.0 / f64::from(chart::PNG_SCALE))
            .set_scale_height(1.0 / f64::from(chart::PNG_SCALE))
            .set_alt_text(&c.title);
        ws.insert_image(row(at, sheet)?, 0, &image)?;
        at += rows_per_chart;
    }
    Ok(())
}

/// Sheet names made valid and unique. Excel compares names without regard to case.
struct SheetNames {
    taken: HashSet<String>,
}

impl SheetNames {
    fn new() -> Self {
        // Excel reserves "History" for its change tracking.
        let taken = HashSet::from(["history".to_string()]);
        SheetNames { taken }
    }

    fn reserve(&mut self, name: &str) {
        self.taken.insert(name.to_lowercase());
    }

    /// A valid name for `wanted`, not yet used: forbidden characters become "_", the name is cut
    /// to 31 UTF-16 units, and a repeated name gets " (2)", " (3)", … within the same limit.
    fn claim(&mut self, wanted: &str) -> String {
        let cleaned: String =
            wanted.chars().map(|c| if "[]:*?/\\".contains(c) || c.is_control() { '_' } else { c }).collect();
        // Excel refuses a name that starts or ends with an apostrophe.
        let cleaned = cleaned.trim().trim_matches('\'').trim();
        let base = if cleaned.is_empty() { "表" } else { cleaned };
        let mut name = cut_utf16(base, SHEET_NAME_MAX);
        let mut n = 1;
        while self.taken.contains(&name.to_lowercase()) {
            n += 1;
            let suffix = format!(" ({n})");
            name = format!("{}{suffix}", cut_utf16(base, SHEET_NAME_MAX - suffix.len()));
        }
        self.reserve(&name);
        name
    }
}

/// The longest prefix of `s` of at most `max` UTF-16 units, never splitting a character.
fn cut_utf16(s: &str, max: usize) -> String {
    let mut used = 0;
    s.chars()
        .take_while(|c| {
            used += c.len_utf16();
            used <= max
        })
        .collect()
}

/// The cell formats, made once: rust_xlsxwriter keeps one style per distinct format anyway, but
/// building a format per cell would cost time on large tables.
struct Formats {
    title: Format,
    heading: Format,
    header: Format,
    label: Format,
    text: Format,
    wrapped: Format,
    total_text: Format,
    note: Format,
    /// A count beside wrapped text, aligned to its top like the text.
    count: Format,
    /// Number formats by decimals, plain and bold (totals).
    numbers: Vec<Format>,
    total_numbers: Vec<Format>,
}

impl Formats {
    fn new() -> Self {
        let bordered = || Format::new().set_border(FormatBorder::Thin);
        let number = |d: u32| {
            let pattern = if d == 0 { "#,##0".to_string() } else { format!("#,##0.{}", "0".repeat(d as usize)) };
            bordered().set_num_format(pattern)
        };
        Formats {
            title: Format::new()
                .set_bold()
                .set_font_size(14)
                .set_align(FormatAlign::Center)
                .set_align(FormatAlign::VerticalCenter),
            heading: Format::new().set_bold().set_font_size(16),
            header: bordered()
                .set_bold()
                .set_text_wrap()
                .set_background_color(Color::RGB(0xD9_E1_F2))
                .set_align(FormatAlign::Center)
                .set_align(FormatAlign::VerticalCenter),
            label: Format::new().set_bold(),
            text: bordered(),
            wrapped: bordered().set_text_wrap().set_align(FormatAlign::Top),
            total_text: bordered().set_bold(),
            note: Format::new().set_italic(),
            count: number(0).set_align(FormatAlign::Top),
            numbers: (0..=MAX_DECIMALS).map(number).collect(),
            total_numbers: (0..=MAX_DECIMALS).map(|d| number(d).set_bold()).collect(),
        }
    }

    fn number(&self, decimals: u32, bold: bool) -> &Format {
        let list = if bold { &self.total_numbers } else { &self.numbers };
        // MAX_DECIMALS + 1 entries, so the clamped index is always in range.
        &list[decimals.min(MAX_DECIMALS) as usize]
    }
}

/// Row and column numbers, refusing what does not fit a worksheet.
fn row(n: usize, sheet: &str) -> Result<RowNum, XlsxError> {
    RowNum::try_from(n).map_err(|_| XlsxError::TooLarge { sheet: sheet.into() })
}

fn col(n: usize, sheet: &str) -> Result<ColNum, XlsxError> {
    ColNum::try_from(n).map_err(|_| XlsxError::TooLarge { sheet: sheet.into() })
}

/// How wide text shows, in Excel's character units: East Asian wide characters take about two.
fn text_width(s: &str) -> f64 {
    s.chars().map(|c| if is_wide(c) { 2.0 } else { 1.0 }).sum()
}

fn is_wide(c: char) -> bool {
    matches!(c as u32,
        0x1100..=0x115F        // Hangul Jamo
        | 0x2E80..=0x303E      // CJK radicals, punctuation
        | 0x3041..=0x33FF      // kana, CJK compatibility
        | 0x3400..=0x4DBF      // CJK extension A
        | 0x4E00..=0x9FFF      // CJK unified ideographs
        | 0xA000..=0xA4CF      // Yi
        | 0xAC00..=0xD7A3      // Hangul syllables
        | 0xF900..=0xFAFF      // CJK compatibility ideographs
        | 0xFE30..=0xFE4F      // CJK compatibility forms
        | 0xFF00..=0xFF60      // full-width forms
        | 0xFFE0..=0xFFE6
        | 0x20000..=0x3FFFD)
}

/// How wide a number shows once its format adds thousands separators.
fn number_width(shown: &str) -> f64 {
    let digits = shown
        .trim_start_matches('-')
        .split('.')
        .next()
        .map_or(0, |int| int.chars().filter(char::is_ascii_digit).count());
    text_width(shown) + (digits.saturating_sub(1) / 3) as f64
}

/// The widest cell seen in each column, to size the columns once at the end, and the wrapped
/// cells, whose rows are then made tall enough: LibreOffice does not grow a row for wrapped text
/// when it opens a file, so a long header or definition would show cut off.
#[derive(Default)]
struct Widths {
    columns: Vec<f64>,
    /// (row, column, text width) of each wrapped cell, in row order.
    wrapped: Vec<(RowNum, usize, f64)>,
}

impl Widths {
    fn see(&mut self, col: usize, width: f64) {
        if self.columns.len() <= col {
            self.columns.resize(col + 1, 0.0);
        }
        self.columns[col] = self.columns[col].max(width);
    }

    fn wrap(&mut self, row: RowNum, col: usize, width: f64) {
        self.wrapped.push((row, col, width));
    }

    /// A column's width: two units of padding so text does not touch the cell border.
    fn width(&self, col: usize) -> f64 {
        (self.columns.get(col).copied().unwrap_or(0.0) + 2.0).clamp(MIN_WIDTH, MAX_WIDTH)
    }

    fn apply(&self, ws: &mut Worksheet, sheet: &str) -> Result<(), XlsxError> {
        for c in 0..self.columns.len() {
            ws.set_column_width(col(c, sheet)?, self.width(c))?;
        }
        for (r, n) in self.row_lines() {
            if n > 1.0 {
                ws.set_row_height(r, LINE_HEIGHT * n)?;
            }
        }
        Ok(())
    }

    /// The most lines any wrapped cell of a row takes, for each row with wrapped cells.
    fn row_lines(&self) -> Vec<(RowNum, f64)> {
        let mut lines: Vec<(RowNum, f64)> = Vec::new();
        for &(r, c, w) in &self.wrapped {
            let n = (w / (self.width(c) - 1.0)).ceil().max(1.0);
            match lines.last_mut() {
                Some((last, most)) if *last == r => *most = most.max(n),
                _ => lines.push((r, n)),
            }
        }
        lines
    }
}

/// "2026-11-29T06:00:00Z" as Beijing time, "2026年11月29日 14:00（北京时间）". A value that is not
/// RFC 3339 is shown as it is rather than failing the whole workbook.
fn beijing(utc: &str) -> String {
    super::beijing(utc).map_or_else(|| utc.to_string(), |t| format!("{t}（北京时间）"))
}

/// Printed landscape and one page wide, so a table's columns are not split across pages.
fn print_wide(ws: &mut Worksheet) {
    ws.set_landscape();
    ws.set_print_fit_to_pages(1, 0);
}

fn write_about(ws: &mut Worksheet, r: &Rendered, f: &Formats) -> Result<(), XlsxError> {
    ws.write_string_with_format(0, 0, &r.title, &f.heading)?;
    ws.write_string(1, 0, &r.subtitle)?;
    let period = format!("{}至{}", r.from.chinese(), r.to.chinese());
    let rows = [
        ("统计期间", period),
        ("统计范围", r.scope.clone()),
        ("计数口径", r.counts.clone()),
        ("报告模板", format!("{}（第{}版）", r.template, r.version)),
        ("生成时间", beijing(&r.generated_at)),
        ("生成人", r.generated_by.clone()),
        ("落款", format!("{} {}", r.issuer, r.issued_on.chinese())),
    ];
    let mut widths = Widths::default();
    for (i, (label, value)) in rows.iter().enumerate() {
        let at = row(i + 3, ABOUT_SHEET)?;
        ws.write_string_with_format(at, 0, *label, &f.label)?;
        ws.write_string(at, 1, value)?;
        widths.see(0, text_width(label));
        widths.see(1, text_width(value));
    }
    widths.apply(ws, ABOUT_SHEET)
}

/// The tables one under another; the first row left free below them.
fn write_tables(ws: &mut Worksheet, sheet: &str, tables: &[&Table], f: &Formats) -> Result<usize, XlsxError> {
    print_wide(ws);
    let mut widths = Widths::default();
    let mut at = 0usize;
    for (i, t) in tables.iter().enumerate() {
        if i > 0 {
            // A blank row between two tables on one sheet.
            at += 1;
        }
        let width = t.rows.iter().chain(t.total.iter()).map(Vec::len).chain([t.columns.len(), 1]).max().unwrap_or(1);

        // Title, merged across the table's columns (a one-column table has nothing to merge).
        let title_row = row(at, sheet)?;
        if width > 1 {
            ws.merge_range(title_row, 0, title_row, col(width - 1, sheet)?, &t.title, &f.title)?;
        } else {
            ws.write_string_with_format(title_row, 0, &t.title, &f.title)?;
        }
        at += 1;

        let header_row = row(at, sheet)?;
        for (c, name) in t.columns.iter().enumerate() {
            ws.write_string_with_format(header_row, col(c, sheet)?, name, &f.header)?;
            widths.see(c, text_width(name).min(HEADER_WRAP_WIDTH));
            widths.wrap(header_row, c, text_width(name));
        }
        at += 1;
        if i == 0 {
            // The first table's title and header stay in view while scrolling.
            ws.set_freeze_panes(row(at, sheet)?, 0)?;
        }

        for cells in &t.rows {
            write_row(ws, sheet, row(at, sheet)?, cells, false, f, &mut widths)?;
            at += 1;
        }
        if let Some(cells) = &t.total {
            write_row(ws, sheet, row(at, sheet)?, cells, true, f, &mut widths)?;
            at += 1;
        }
        if let Some(note) = &t.note {
            // Left unmerged: the text runs on over the empty cells to its right.
            ws.write_string_with_format(row(at, sheet)?, 0, note, &f.note)?;
            at += 1;
        }
    }
    widths.apply(ws, sheet)?;
    Ok(at)
}

fn write_row(
    ws: &mut Worksheet,
    sheet: &str,
    at: RowNum,
    cells: &[Cell],
    total: bool,
    f: &Formats,
    widths: &mut Widths,
) -> Result<(), XlsxError> {
    for (c, cell) in cells.iter().enumerate() {
        let column = col(c, sheet)?;
        let text_format = if total { &f.total_text } else { &f.text };
        match cell {
            Cell::Text { text } => {
                ws.write_string_with_format(at, column, text, text_format)?;
                widths.see(c, text_width(text));
            }
            Cell::Number { value, decimals, shown, .. } if value.is_finite() => {
                ws.write_number_with_format(at, column, *value, f.number(*decimals, total))?;
                widths.see(c, number_width(shown));
            }
            // Excel has no cell value for NaN or infinity; the report's own text stands in.
            Cell::Number { shown, .. } => {
                ws.write_string_with_format(at, column, shown, text_format)?;
                widths.see(c, text_width(shown));
            }
        }
    }
    Ok(())
}

fn write_sources(ws: &mut Worksheet, figures: &[UsedFigure], f: &Formats) -> Result<(), XlsxError> {
    const COLUMNS: [&str; 8] = ["键", "名称", "口径", "范围", "期间", "报告所示数值", "记录数", "计算时间（北京时间）"];
    let sheet = SOURCES_SHEET;
    print_wide(ws);
    let mut widths = Widths::default();
    for (c, name) in COLUMNS.iter().enumerate() {
        ws.write_string_with_format(0, col(c, sheet)?, *name, &f.header)?;
        widths.see(c, text_width(name).min(HEADER_WRAP_WIDTH));
        widths.wrap(0, c, text_width(name));
    }
    ws.set_freeze_panes(1, 0)?;
    for (i, fig) in figures.iter().enumerate() {
        let at = row(i + 1, sheet)?;
        let computed = beijing(&fig.computed_at);
        let texts = [
            (0, fig.key.as_str()),
            (1, fig.name.as_str()),
            (2, fig.definition.as_str()),
            (3, fig.scope.as_str()),
            (4, fig.period.as_str()),
            (5, fig.shown.as_str()),
            (7, computed.as_str()),
        ];
        for (c, text) in texts {
            // Definitions can be long: they wrap within the capped column width.
            ws.write_string_with_format(at, col(c, sheet)?, text, &f.wrapped)?;
            widths.see(c, text_width(text));
            widths.wrap(at, c, text_width(text));
        }
        // Record counts are far below 2^53, so the conversion is exact.
        ws.write_number_with_format(at, 6, fig.records as f64, &f.count)?;
        widths.see(6, number_width(&fig.records.to_string()));
    }
    widths.apply(ws, sheet)
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use calamine::{open_workbook_from_rs, Data, Range, Reader, Xlsx};

    use super::*;
    use crate::reports::model::Section;

    type Book = Xlsx<Cursor<Vec<u8>>>;

    fn open(r: &Rendered) -> Book {
        let bytes = xlsx(r).expect("the workbook is written");
        open_workbook_from_rs(Cursor::new(bytes)).expect("the workbook reads back")
    }

    fn sheet(book: &mut Book, name: &str) -> Range<Data> {
        book.worksheet_range(name).expect("the sheet exists")
    }

    fn at(range: &Range<Data>, r: u32, c: u32) -> Data {
        range.get_value((r, c)).cloned().unwrap_or(Data::Empty)
    }

    fn float(range: &Range<Data>, r: u32, c: u32) -> f64 {
        match at(range, r, c) {
            Data::Float(v) => v,
            other => panic!("({r}, {c}) is not a number: {other:?}"),
        }
    }

    /// Every string on a sheet, to look for a text wherever it was put.
    fn strings(range: &Range<Data>) -> Vec<String> {
        range
            .rows()
            .flatten()
            .filter_map(|d| match d {
                Data::String(s) => Some(s.clone()),
                _ => None,
            })
            .collect()
    }

    fn num(value: f64, decimals: u32) -> Cell {
        Cell::Number { value, decimals, shown: format!("{value:.*}", decimals as usize), href: None }
    }

    fn text(t: &str) -> Cell {
        Cell::Text { text: t.into() }
    }

    fn table(sheet: &str, title: &str, rows: Vec<Vec<Cell>>) -> Table {
        Table {
            sheet: sheet.into(),
            title: title.into(),
            columns: vec!["项目".into(), "金额（万元）".into()],
            rows,
            total: None,
            note: None,
        }
    }

    fn with_tables(tables: Vec<Table>) -> Rendered {
        let mut r = Rendered::sample();
        r.sections = vec![Section {
            heading: "一、表".into(),
            level: 1,
            blocks: tables.into_iter().map(Block::Table).collect(),
        }];
        r
    }

    #[test]
    fn sheets_come_in_order_about_tables_sources() {
        let book = open(&Rendered::sample());
        assert_eq!(book.sheet_names(), vec!["说明", "资金", "数据来源"]);
    }

    #[test]
    fn numbers_are_unrounded_floats_with_title_header_and_totals() {
        let mut book = open(&Rendered::sample());
        let s = sheet(&mut book, "资金");
        assert_eq!(at(&s, 0, 0), Data::String("援疆资金到位与拨付情况".into()));
        assert_eq!(at(&s, 1, 1), Data::String("计划投资（万元）".into()));
        // Data rows: row 2 and 3; the text column stays text.
        assert_eq!(at(&s, 2, 0), Data::String("2023".into()));
        assert_eq!(float(&s, 2, 1), 0.005, "stored unrounded, not as 0.01");
        assert_eq!(float(&s, 3, 1), 0.005);
        // The totals row is the sum of the unrounded values, which the rounded parts miss.
        assert_eq!(at(&s, 4, 0), Data::String("合计".into()));
        let total = float(&s, 4, 1);
        assert!((total - (float(&s, 2, 1) + float(&s, 3, 1))).abs() < 1e-12);
        assert!((total - 0.01).abs() < 1e-12);
        assert_eq!(float(&s, 4, 3), 50.0);
        // The note follows the totals row.
        assert_eq!(at(&s, 5, 0), Data::String("合计按未经舍入的数值计算，与各项舍入后之和可能略有出入。".into()));
    }

    #[test]
    fn title_is_merged_across_the_columns() {
        let mut book = open(&Rendered::sample());
        let merged = book.merge_cells_by_sheet_name("资金").expect("merged cells read");
        assert_eq!(merged.len(), 1);
        let d = &merged[0];
        assert_eq!((d.start, d.end), ((0, 0), (0, 3)));
    }

    #[test]
    fn about_sheet_says_what_the_report_is() {
        let mut book = open(&Rendered::sample());
        let s = strings(&sheet(&mut book, "说明"));
        for wanted in [
            "江西省对口支援克州工作综述",
            "（第十一批 2023年4月20日—2026年11月29日）",
            "2023年4月20日至2026年11月29日",
            "全部",
            "已保存的全部记录",
            // 06:00 UTC is 14:00 in Beijing.
            "2026年11月29日 14:00（北京时间）",
            "demo.manager",
        ] {
            assert!(s.iter().any(|x| x == wanted), "说明 lacks {wanted}: {s:?}");
        }
    }

    #[test]
    fn sources_sheet_has_one_row_per_used_figure() {
        let mut r = Rendered::sample();
        let mut second = r.figures[0].clone();
        second.key = "funds.planned".into();
        second.records = 42;
        second.computed_at = "2026-11-29T17:30:00Z".into();
        r.figures.push(second);
        let mut book = open(&r);
        let s = sheet(&mut book, "数据来源");
        assert_eq!(s.height(), 1 + 2, "header and one row per figure");
        assert_eq!(at(&s, 1, 0), Data::String("personnel.total".into()));
        assert_eq!(at(&s, 1, 2), Data::String("人员中援疆干部人才的人数，各批次合计".into()));
        assert_eq!(at(&s, 1, 5), Data::String("777名".into()));
        assert_eq!(float(&s, 1, 6), 777.0);
        assert_eq!(at(&s, 2, 0), Data::String("funds.planned".into()));
        assert_eq!(float(&s, 2, 6), 42.0);
        // Past midnight in Beijing: the date moves on too.
        assert_eq!(at(&s, 2, 7), Data::String("2026年11月30日 01:30（北京时间）".into()));
    }

    #[test]
    fn sheet_names_are_sanitised_and_unique() {
        let long = "援疆干部人才、援疆资金、援疆项目与产业合作及交往交流交融情况汇总表";
        let r = with_tables(vec![
            table("教育/卫生:[2024]*?", "一", vec![]),
            table("说明", "二", vec![]),
            table("'引号'", "三", vec![]),
            table(long, "四", vec![]),
            table(&format!("{long}（续）"), "五", vec![]),
            table("History", "六", vec![]),
            table("", "七", vec![]),
        ]);
        let book = open(&r);
        let names = book.sheet_names();
        assert_eq!(names.len(), 9);
        assert_eq!(names[..4], ["说明", "教育_卫生__2024___", "说明 (2)", "引号"].map(String::from));
        assert_eq!(names[6..], ["History (2)", "表", "数据来源"].map(String::from));
        // Both long names cut to 31; the second, equal once cut, gets a suffix within the limit.
        let cut: String = long.chars().take(31).collect();
        assert_eq!(names[4], cut);
        assert!(names[5].ends_with(" (2)") && long.starts_with(names[5].trim_end_matches(" (2)")));
        for n in &names {
            assert!(n.encode_utf16().count() <= 31, "{n} is too long");
        }
        let unique: HashSet<String> = names.iter().map(|n| n.to_lowercase()).collect();
        assert_eq!(unique.len(), names.len());
    }

    #[test]
    fn tables_sharing_a_sheet_stack_with_a_blank_row() {
        let mut first = table("资金", "甲表", vec![vec![text("a"), num(1.5, 1)]]);
        first.total = Some(vec![text("合计"), num(1.5, 1)]);
        let second = table("资金", "乙表", vec![vec![text("b"), num(2.25, 2)]]);
        let other = table("项目", "丙表", vec![]);
        let mut book = open(&with_tables(vec![first, other, second]));
        assert_eq!(book.sheet_names(), vec!["说明", "资金", "项目", "数据来源"]);
        let s = sheet(&mut book, "资金");
        // 甲表: title 0, header 1, row 2, total 3; blank 4; 乙表: title 5, header 6, row 7.
        assert_eq!(at(&s, 0, 0), Data::String("甲表".into()));
        assert_eq!(float(&s, 3, 1), 1.5);
        assert_eq!(at(&s, 4, 0), Data::Empty);
        assert_eq!(at(&s, 5, 0), Data::String("乙表".into()));
        assert_eq!(at(&s, 6, 1), Data::String("金额（万元）".into()));
        assert_eq!(float(&s, 7, 1), 2.25);
    }

    #[test]
    fn a_table_of_hundreds_of_rows() {
        let n = 800;
        let rows: Vec<Vec<Cell>> = (0..n).map(|i| vec![text(&format!("第{i}项")), num(i as f64 * 0.005, 2)]).collect();
        let sum: f64 = (0..n).map(|i| i as f64 * 0.005).sum();
        let mut t = table("明细", "明细表", rows);
        t.total = Some(vec![text("合计"), num(sum, 2)]);
        let mut book = open(&with_tables(vec![t]));
        let s = sheet(&mut book, "明细");
        assert_eq!(s.height(), 2 + n + 1);
        let read: f64 = (0..n).map(|i| float(&s, 2 + i as u32, 1)).sum();
        assert_eq!(float(&s, 2 + 799, 1), 799.0 * 0.005);
        assert!((float(&s, 2 + n as u32, 1) - read).abs() < 1e-9);
    }

    #[test]
    fn widths_count_wide_characters_twice() {
        assert_eq!(text_width("abc"), 3.0);
        assert_eq!(text_width("计划投资（万元）"), 16.0);
        assert_eq!(number_width("35109.43"), 9.0);
        assert_eq!(number_width("-1234567"), 10.0);
    }

    #[test]
    fn wrapped_rows_get_a_line_per_column_width() {
        let mut w = Widths::default();
        // A header of 30 units in a column capped at 16 + 2, and a 150-unit definition beside
        // a short one in a column capped at 60.
        w.see(0, 16.0);
        w.wrap(1, 0, 30.0);
        w.see(1, 150.0);
        w.wrap(2, 0, 4.0);
        w.wrap(2, 1, 150.0);
        w.wrap(3, 0, 4.0);
        assert_eq!(w.row_lines(), vec![(1, 2.0), (2, 3.0), (3, 1.0)]);
    }

    #[test]
    fn a_time_that_is_not_rfc3339_is_shown_as_given() {
        assert_eq!(beijing("昨天"), "昨天");
        assert_eq!(beijing("2026-01-01T00:00:00+08:00"), "2026年1月1日 00:00（北京时间）");
    }

    #[test]
    fn a_chart_is_a_picture_on_its_tables_sheet() {
        let mut r = Rendered::sample();
        r.sections[1].blocks.push(Block::Chart(crate::reports::chart::sample()));
        let bytes = xlsx(&r).expect("the workbook is written");
        let mut book: Book = open_workbook_from_rs(Cursor::new(bytes.clone())).expect("reads back");
        // The chart adds no sheet: it sits on 资金 with its table, whose numbers are unchanged.
        assert_eq!(book.sheet_names(), vec!["说明", "资金", "数据来源"]);
        let s = sheet(&mut book, "资金");
        assert_eq!(float(&s, 2, 1), 0.005);
        let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).expect("a zip");
        let mut png = Vec::new();
        std::io::Read::read_to_end(&mut zip.by_name("xl/media/image1.png").expect("the picture"), &mut png).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        // Drawn on the second sheet (资金), not on 说明.
        let mut rels = String::new();
        std::io::Read::read_to_string(
            &mut zip.by_name("xl/worksheets/_rels/sheet2.xml.rels").expect("资金 has a drawing"),
            &mut rels,
        )
        .unwrap();
        assert!(rels.contains("drawing"), "{rels}");
        assert!(zip.by_name("xl/worksheets/_rels/sheet1.xml.rels").is_err());
    }
}
