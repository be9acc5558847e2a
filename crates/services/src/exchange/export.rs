//! Exporting a list: any record type, with the filters, search and sort of its list in the UI,
//! to CSV or XLSX. Rows are read from the store in chunks ([`store::records::Chunks`], the same
//! query as the list's) and written as they come, so a million rows take the memory of one
//! chunk: CSV goes straight out, XLSX is written in rust_xlsxwriter's constant-memory mode to a
//! temporary file that is then sent.
//!
//! Columns come from the catalogue: Chinese headers (money with its unit: 「计划投资（万元）」),
//! values as users see them (names for references, labels for codes, 是/否), and beside each
//! reference or place the code behind it (「建设地点（区划代码）」, 「实施单位（单位编码）」,
//! 「项目（项目编号）」, the record number where a record has no code) so that a sheet can go
//! back in. Money is in 万元: XLSX keeps the exact value shown with two decimals, CSV writes it
//! exactly (two decimals, more only when the amount has them).
//!
//! Personal identifiers are masked unless the reader's role may see them and the export asked
//! for them; such an export is audited by the store before any row is read.
//!
//! Text that a spreadsheet would take for a formula (beginning with = + - @, a tab or a CR) is
//! neutralised: CSV prefixes it with an apostrophe, XLSX writes every text as a string cell.

use crate::{Result, ServiceError};
use domain::audit::Actor;
use domain::catalog::{by_table, code_label, Field, FieldKind, RecordType};
use domain::people::Reveal;
use rust_xlsxwriter::{Format as CellFormat, Workbook, Worksheet};
use serde_json::{Map, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use store::records::{Chunks, ListQuery};
use store::Store;

/// Records read per query.
pub const CHUNK: i64 = 2_000;
/// Data rows per worksheet: Excel's limit (1,048,576) less the header row. A longer export
/// continues on another sheet.
const SHEET_ROWS: u32 = 1_048_575;

/// The two spreadsheet formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Xlsx,
}

impl Format {
    pub fn parse(s: &str) -> Result<Format> {
        match s.trim().to_ascii_lowercase().as_str() {
            "csv" => Ok(Format::Csv),
            "xlsx" => Ok(Format::Xlsx),
            other => Err(ServiceError::Exchange(format!("不支持导出为“{other}”，可选格式：xlsx、csv"))),
        }
    }
    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
        }
    }
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }
}

/// What a column holds of its field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The record's number (编号).
    Id,
    /// The field as users see it.
    Shown,
    /// The code behind a reference or a place: a region code, an organization's or project's
    /// code, a type's code, or the number of a referenced record that has no code.
    Code,
}

/// One column of an export.
#[derive(Debug, Clone)]
pub struct Column {
    pub header: String,
    /// None for the record number.
    pub field: Option<&'static Field>,
    pub part: Part,
}

/// The columns of an export of `t`: the record number, then each field of the catalogue, each
/// reference and place followed by its code.
pub fn columns(t: &RecordType) -> Vec<Column> {
    let mut out = vec![Column { header: "编号".into(), field: None, part: Part::Id }];
    for f in t.fields {
        out.push(Column { header: header(f), field: Some(f), part: Part::Shown });
        if let Some(h) = code_header(f) {
            out.push(Column { header: h, field: Some(f), part: Part::Code });
        }
    }
    out
}

/// A field's header: its Chinese name, with the unit for money (「计划投资（万元）」).
pub fn header(f: &Field) -> String {
    match f.kind {
        FieldKind::Money => format!("{}（万元）", f.zh),
        _ => f.zh.to_string(),
    }
}

/// The code field of a table (its `code` column), when it has one.
fn code_field(table: &str) -> Option<&'static Field> {
    by_table(table).and_then(|rt| rt.field("code"))
}

fn code_header(f: &Field) -> Option<String> {
    match f.kind {
        FieldKind::Region => Some(format!("{}（区划代码）", f.zh)),
        FieldKind::CodeRef { table } => Some(format!("{}（{}）", f.zh, code_field(table).map_or("编码", |c| c.zh))),
        // A batch is shown by its number, which is its key.
        FieldKind::Ref { table: "batches", .. } => None,
        FieldKind::Ref { table, .. } => Some(format!("{}（{}）", f.zh, code_field(table).map_or("编号", |c| c.zh))),
        _ => None,
    }
}

/// `FIELD=VALUE` arguments as a list's filters (the store checks the fields and values).
pub fn filters(args: &[String]) -> Result<Vec<(String, String)>> {
    args.iter()
        .map(|a| {
            a.split_once('=')
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                .ok_or_else(|| ServiceError::Exchange(format!("筛选条件“{a}”须写作 字段=值，例如 sector=education")))
        })
        .collect()
}

/// A cell's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Empty,
    Text(String),
    Int(i64),
    /// Money in 分, written in 万元.
    Money(i64),
}

fn text_of(v: Option<&Value>) -> String {
    crate::records::text_of(v)
}

/// The value of column `c` in `row` (a row of the store's list query).
pub fn cell(c: &Column, row: &Map<String, Value>) -> Cell {
    let Some(f) = c.field else {
        return row.get("id").and_then(Value::as_i64).map_or(Cell::Empty, Cell::Int);
    };
    let Some(raw) = row.get(f.name).filter(|v| !v.is_null()) else { return Cell::Empty };
    let text = text_of(Some(raw));
    let shown = || {
        let s = text_of(row.get(&format!("{}__show", f.name)));
        if s.is_empty() {
            text.clone()
        } else {
            s
        }
    };
    let int = |v: &Value| v.as_i64().map_or_else(|| Cell::Text(text_of(Some(v))), Cell::Int);
    match (c.part, f.kind) {
        (Part::Code, FieldKind::Ref { table, .. }) if code_field(table).is_some() => {
            Cell::Text(text_of(row.get(&format!("{}__code", f.name))))
        }
        (Part::Code, FieldKind::Ref { .. }) => int(raw),
        (Part::Code, _) => Cell::Text(text),
        (_, FieldKind::Money) => raw.as_i64().map_or(Cell::Text(text.clone()), Cell::Money),
        (_, FieldKind::Int) => int(raw),
        (_, FieldKind::Flag) => Cell::Text(if text == "1" { "是" } else { "否" }.into()),
        (_, FieldKind::Code(list)) => Cell::Text(code_label(list, &text).unwrap_or(&text).to_string()),
        (_, FieldKind::Ref { table: "batches", .. }) => {
            let s = shown();
            s.parse().map_or(Cell::Text(s), Cell::Int)
        }
        (_, FieldKind::Ref { .. } | FieldKind::CodeRef { .. } | FieldKind::Region) => Cell::Text(shown()),
        _ => Cell::Text(text),
    }
}

/// Text that a spreadsheet would read as a formula, made plain text: an apostrophe before a
/// leading = + - @, tab or carriage return.
pub fn neutralize(s: &str) -> std::borrow::Cow<'_, str> {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}").into()
    } else {
        s.into()
    }
}

/// An amount in 分 as exact 万元: two decimals, more only when the amount has them
/// (12 345 600 分 → "12.3456", 12 000 000 分 → "12.00").
pub fn wan_exact(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let a = fen.unsigned_abs();
    let frac = format!("{:06}", a % 1_000_000);
    let frac = frac.trim_end_matches('0');
    let frac = if frac.len() < 2 { format!("{frac:0<2}") } else { frac.to_string() };
    format!("{sign}{}.{frac}", a / 1_000_000)
}

fn csv_field(out: &mut Vec<u8>, c: &Cell) {
    match c {
        Cell::Empty => {}
        Cell::Int(i) => out.extend_from_slice(i.to_string().as_bytes()),
        Cell::Money(f) => out.extend_from_slice(wan_exact(*f).as_bytes()),
        Cell::Text(s) => {
            let s = neutralize(s);
            if s.contains([',', '"', '\n', '\r']) {
                out.push(b'"');
                out.extend_from_slice(s.replace('"', "\"\"").as_bytes());
                out.push(b'"');
            } else {
                out.extend_from_slice(s.as_bytes());
            }
        }
    }
}

/// One CSV line (CRLF-terminated, RFC 4180 quoting).
pub fn csv_line(cells: impl IntoIterator<Item = Cell>, out: &mut Vec<u8>) {
    for (i, c) in cells.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        csv_field(out, &c);
    }
    out.extend_from_slice(b"\r\n");
}

fn xlsx_error(e: rust_xlsxwriter::XlsxError) -> ServiceError {
    ServiceError::Exchange(format!("写入 Excel 文件失败：{e}"))
}

fn io_error(e: std::io::Error) -> ServiceError {
    ServiceError::Exchange(format!("写入导出文件失败：{e}"))
}

/// An export under way: a list's records read chunk by chunk and written as CSV or XLSX.
pub struct Export {
    store: Store,
    chunks: Chunks,
    columns: Vec<Column>,
    header_done: bool,
    rows: u64,
}

impl Export {
    /// Start an export of the records of `t` that `actor` sees with `q`'s filters, search and
    /// sort (its page is ignored: an export has every matching record). With
    /// [`Reveal::Clear`], personal identifiers are in clear, for a role that may see them, and
    /// the export is audited; otherwise they are masked. Bad filters are refused here.
    pub async fn open(
        store: &Store,
        actor: &Actor,
        t: &'static RecordType,
        q: &ListQuery,
        reveal: Reveal,
    ) -> Result<Export> {
        let chunks = store.export_chunks(actor, t, q, reveal).await?;
        Ok(Export { store: store.clone(), chunks, columns: columns(t), header_done: false, rows: 0 })
    }

    pub fn record_type(&self) -> &'static RecordType {
        self.chunks.record_type()
    }

    /// Data rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// A file name for the export: the record type's Chinese name and today's date.
    pub fn file_name(&self, format: Format) -> String {
        let today = chrono::Local::now().format("%Y%m%d");
        format!("{}-{today}.{}", self.record_type().zh, format.extension())
    }

    async fn next_rows(&mut self) -> Result<Vec<Map<String, Value>>> {
        let rows = self.store.chunk(&mut self.chunks, CHUNK).await?;
        self.rows += rows.len() as u64;
        Ok(rows)
    }

    /// The next piece of the CSV file: first the header (after a UTF-8 byte order mark, so that
    /// Excel reads the Chinese right), then one chunk of rows at a time; `None` at the end.
    pub async fn next_csv(&mut self) -> Result<Option<Vec<u8>>> {
        if !self.header_done {
            self.header_done = true;
            let mut out = "\u{feff}".as_bytes().to_vec();
            csv_line(self.columns.iter().map(|c| Cell::Text(c.header.clone())), &mut out);
            return Ok(Some(out));
        }
        let rows = self.next_rows().await?;
        if rows.is_empty() {
            return Ok(None);
        }
        let mut out = Vec::with_capacity(rows.len() * 160);
        for r in &rows {
            csv_line(self.columns.iter().map(|c| cell(c, r)), &mut out);
        }
        Ok(Some(out))
    }

    /// Write the whole export as CSV to `w`; returns the number of data rows.
    pub async fn write_csv<W: Write>(mut self, w: &mut W) -> Result<u64> {
        while let Some(bytes) = self.next_csv().await? {
            w.write_all(&bytes).map_err(io_error)?;
        }
        w.flush().map_err(io_error)?;
        Ok(self.rows)
    }

    /// Write the whole export as XLSX to `path` (in constant-memory mode: each row goes to a
    /// temporary file as it is written); returns the number of data rows.
    pub async fn write_xlsx(mut self, path: &Path) -> Result<u64> {
        let mut wb = Workbook::new();
        let bold = CellFormat::new().set_bold();
        let money = CellFormat::new().set_num_format("#,##0.00");
        let t = self.record_type();
        let mut sheets = 1;
        let mut ws = sheet(&mut wb, t.zh, &self.columns, &bold)?;
        let mut row: u32 = 0;
        loop {
            let rows = self.next_rows().await?;
            if rows.is_empty() {
                break;
            }
            for r in &rows {
                if row == SHEET_ROWS {
                    sheets += 1;
                    ws = sheet(&mut wb, &format!("{}（{sheets}）", t.zh), &self.columns, &bold)?;
                    row = 0;
                }
                row += 1;
                for (i, c) in self.columns.iter().enumerate() {
                    let col = i as u16;
                    match cell(c, r) {
                        Cell::Empty => {}
                        Cell::Text(s) => {
                            ws.write_string(row, col, s).map_err(xlsx_error)?;
                        }
                        Cell::Int(n) => {
                            ws.write_number(row, col, n as f64).map_err(xlsx_error)?;
                        }
                        Cell::Money(f) => {
                            ws.write_number_with_format(row, col, f as f64 / 1_000_000.0, &money)
                                .map_err(xlsx_error)?;
                        }
                    }
                }
            }
        }
        let path: PathBuf = path.to_path_buf();
        tokio::task::spawn_blocking(move || wb.save(&path))
            .await
            .map_err(|e| ServiceError::Exchange(format!("写入 Excel 文件失败：{e}")))?
            .map_err(xlsx_error)?;
        Ok(self.rows)
    }

    /// Write the whole export as XLSX to a temporary file (removed when it is dropped).
    pub async fn xlsx_temp(self) -> Result<(tempfile::NamedTempFile, u64)> {
        let file =
            tempfile::Builder::new().prefix("counterpart-export-").suffix(".xlsx").tempfile().map_err(io_error)?;
        let rows = self.write_xlsx(file.path()).await?;
        Ok((file, rows))
    }
}

/// A new constant-memory worksheet with the header row, frozen, and column widths to fit it.
fn sheet<'w>(wb: &'w mut Workbook, name: &str, columns: &[Column], bold: &CellFormat) -> Result<&'w mut Worksheet> {
    let ws = wb.add_worksheet_with_constant_memory().map_err(xlsx_error)?;
    let name: String = name.chars().filter(|c| !"[]:*?/\\".contains(*c)).take(31).collect();
    ws.set_name(name).map_err(xlsx_error)?;
    for (i, c) in columns.iter().enumerate() {
        let width: usize = c.header.chars().map(|ch| if ch.is_ascii() { 1 } else { 2 }).sum();
        ws.set_column_width(i as u16, (width + 2).clamp(8, 40) as f64).map_err(xlsx_error)?;
    }
    for (i, c) in columns.iter().enumerate() {
        ws.write_string_with_format(0, i as u16, &c.header, bold).map_err(xlsx_error)?;
    }
    ws.set_freeze_panes(1, 0).map_err(xlsx_error)?;
    Ok(ws)
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::catalog::by_slug;

    #[test]
    fn headers_carry_units_and_codes() {
        let t = by_slug("funding").unwrap();
        let h: Vec<String> = columns(t).into_iter().map(|c| c.header).collect();
        assert_eq!(h[0], "编号");
        assert!(h.contains(&"计划投资（万元）".to_string()), "{h:?}");
        assert!(h.contains(&"项目（项目编号）".to_string()), "{h:?}");
        let p: Vec<String> = columns(by_slug("projects").unwrap()).into_iter().map(|c| c.header).collect();
        assert!(p.contains(&"建设地点（区划代码）".to_string()) && p.contains(&"实施单位（单位编码）".to_string()));
        assert!(!p.iter().any(|h| h.starts_with("批次（")), "a batch is its number");
    }

    #[test]
    fn money_is_exact_and_formulas_are_neutralized() {
        assert_eq!(wan_exact(12_000_000), "12.00");
        assert_eq!(wan_exact(12_345_600), "12.3456");
        assert_eq!(wan_exact(1), "0.000001");
        assert_eq!(wan_exact(-1_500_000), "-1.50");
        let mut out = Vec::new();
        csv_line(
            [
                Cell::Text("=HYPERLINK(\"x\")".into()),
                Cell::Text("+1".into()),
                Cell::Text("@SUM(A1)".into()),
                Cell::Text("a,b".into()),
                Cell::Int(-3),
                Cell::Money(2_500_000),
                Cell::Empty,
            ],
            &mut out,
        );
        assert_eq!(String::from_utf8(out).unwrap(), "\"'=HYPERLINK(\"\"x\"\")\",'+1,'@SUM(A1),\"a,b\",-3,2.50,\r\n");
    }
}
