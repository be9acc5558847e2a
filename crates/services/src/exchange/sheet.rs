//! Reading a spreadsheet as people save it: XLSX (the first data sheet), or CSV in UTF-8 (with
//! or without a byte-order mark) or in GBK/GB18030, which is what Excel in China writes.
//! Rows keep their Excel row numbers (the header is row 1), so every message can name them.

use crate::error::{Result, ServiceError};
use calamine::{Data, Reader};
use chrono::NaiveDate;
use std::io::Cursor;

/// One cell as read, before it is interpreted for a field.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Empty,
    Text(String),
    Number(f64),
    Date(NaiveDate),
    Bool(bool),
    /// A formula's error value (#N/A, #REF!…): never data, always reported.
    Error(String),
}

impl Cell {
    pub fn is_blank(&self) -> bool {
        match self {
            Cell::Empty => true,
            Cell::Text(t) => t.trim().is_empty(),
            _ => false,
        }
    }

    /// The cell as a person reads it (numbers without a trailing `.0`).
    pub fn display(&self) -> String {
        match self {
            Cell::Empty => String::new(),
            Cell::Text(t) => t.clone(),
            Cell::Number(n) => number_text(*n),
            Cell::Date(d) => d.format("%Y-%m-%d").to_string(),
            Cell::Bool(b) => if *b { "是" } else { "否" }.to_string(),
            Cell::Error(e) => e.clone(),
        }
    }
}

/// A number as text: whole numbers without decimals, others in their shortest exact form.
pub fn number_text(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// The file's format, from its first bytes (never from its name, which may lie).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Xlsx,
    Csv,
}

pub fn sniff(bytes: &[u8]) -> Format {
    if bytes.starts_with(b"PK\x03\x04") {
        Format::Xlsx
    } else {
        Format::Csv
    }
}

/// A sheet: its header and its data rows, each with its Excel row number.
#[derive(Debug, Clone, Default)]
pub struct Sheet {
    pub header: Vec<String>,
    pub rows: Vec<(u32, Vec<Cell>)>,
    /// The encoding a CSV was read in (for the message), or "xlsx".
    pub encoding: &'static str,
}

/// Sheets a template carries besides the data: never the data.
pub const AUX_SHEETS: &[&str] = &["填写说明", "代码表", "错误清单"];

pub fn read(bytes: &[u8], preferred_sheet: &str) -> Result<Sheet> {
    match sniff(bytes) {
        Format::Xlsx => read_xlsx(bytes, preferred_sheet),
        Format::Csv => read_csv(bytes),
    }
}

fn unreadable(what: impl std::fmt::Display) -> ServiceError {
    ServiceError::Unreadable(what.to_string())
}

/// Cells a sheet may hold before it is refused (a 1,000,000-row sheet of 20 columns fits).
pub const MAX_CELLS: usize = 25_000_000;
/// Columns beyond this are refused: no record type has nearly as many fields.
pub const MAX_COLUMNS: u32 = 256;

/// What an XLSX package may hold before it is refused, checked before calamine opens it: a
/// zip bomb (a few kilobytes that inflate to gigabytes) must be refused from its central
/// directory, not discovered by running out of memory.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The sum of the entries' uncompressed sizes.
    pub total: u64,
    /// Entries in the package (a workbook of one sheet has about ten).
    pub entries: usize,
    /// Uncompressed : compressed, for entries larger than [`Limits::ratio_from`].
    pub ratio: u64,
    /// Entries up to this uncompressed size may compress as well as they like.
    pub ratio_from: u64,
}

/// The limits of every import: 1 GiB inflated (a 64 MB upload of sheet XML inflates to well
/// under it), 200:1 (sheet XML compresses about 10:1; 50 MB of zeros compress 1000:1).
pub const XLSX_LIMITS: Limits = Limits { total: 1 << 30, entries: 10_000, ratio: 200, ratio_from: 1 << 20 };

fn mib(n: u64) -> String {
    format!("{:.1} MB", n as f64 / (1024.0 * 1024.0))
}

/// Refuse what is not a sound XLSX package within `limits`: not a zip, no `xl/workbook.xml`,
/// too many entries, overlapping entries, a declared size or a compression ratio beyond the
/// limits, or an entry that inflates to more than it declares or fails its check.
pub fn check_package(bytes: &[u8], limits: &Limits) -> Result<()> {
    let bad = |why: String| unreadable(format!("不是有效的 Excel（.xlsx）文件：{why}"));
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| bad(format!("压缩包结构已损坏（{e}）")))?;
    if zip.len() > limits.entries {
        return Err(bad(format!("压缩包有 {} 个条目，超过上限 {} 个", zip.len(), limits.entries)));
    }
    if zip.index_for_name("xl/workbook.xml").is_none() {
        return Err(bad("压缩包中没有工作簿（xl/workbook.xml），可能是其他格式的文件改了扩展名".into()));
    }
    let mut declared = Vec::with_capacity(zip.len());
    let mut total = 0u64;
    for i in 0..zip.len() {
        let entry = zip.by_index_raw(i).map_err(|e| bad(format!("第 {} 个条目无法读取（{e}）", i + 1)))?;
        let (name, size, packed) = (entry.name().to_string(), entry.size(), entry.compressed_size());
        if entry.encrypted() {
            return Err(bad(format!("条目“{name}”已加密，请先在 Excel 中取消密码保护")));
        }
        total = total.saturating_add(size);
        if total > limits.total {
            return Err(bad(format!("解压后超过 {} 的上限（疑似压缩炸弹），请分成几个文件导入", mib(limits.total))));
        }
        if size > limits.ratio_from && size / packed.max(1) > limits.ratio {
            return Err(bad(format!(
                "条目“{name}”的压缩比 {}:1 超过上限 {}:1（疑似压缩炸弹）",
                size / packed.max(1),
                limits.ratio
            )));
        }
        declared.push((name, size));
    }
    if zip.has_overlapping_files().map_err(|e| bad(format!("压缩包结构已损坏（{e}）")))? {
        return Err(bad("压缩包的条目相互重叠（疑似压缩炸弹）".into()));
    }
    // The declared sizes may lie: inflate every entry once, never past what it declares.
    for (i, (name, size)) in declared.into_iter().enumerate() {
        let entry = zip.by_index(i).map_err(|e| bad(format!("条目“{name}”无法解压（{e}）")))?;
        let read = std::io::copy(&mut std::io::Read::take(entry, size.saturating_add(1)), &mut std::io::sink())
            .map_err(|e| bad(format!("条目“{name}”已损坏（{e}）")))?;
        if read > size {
            return Err(bad(format!("条目“{name}”解压后大于其声明的大小（文件已被篡改）")));
        }
    }
    Ok(())
}

pub fn read_xlsx(bytes: &[u8], preferred_sheet: &str) -> Result<Sheet> {
    check_package(bytes, &XLSX_LIMITS)?;
    let mut book: calamine::Xlsx<_> =
        calamine::Xlsx::new(Cursor::new(bytes)).map_err(|e| unreadable(format!("不是有效的 Excel 文件（{e}）")))?;
    let visible: Vec<String> = book
        .sheets_metadata()
        .iter()
        .filter(|s| s.visible == calamine::SheetVisible::Visible)
        .map(|s| s.name.clone())
        .collect();
    let name = visible
        .iter()
        .find(|n| n.as_str() == preferred_sheet)
        .or_else(|| visible.iter().find(|n| !AUX_SHEETS.contains(&n.as_str())))
        .cloned()
        .ok_or_else(|| unreadable("工作簿中没有数据工作表"))?;
    // Cell by cell, never as one dense grid: a sheet that names cell XFD1048576 must not make
    // the server allocate every cell up to it.
    let mut reader =
        book.worksheet_cells_reader(&name).map_err(|e| unreadable(format!("工作表“{name}”无法读取（{e}）")))?;
    let mut rows: std::collections::BTreeMap<u32, Vec<Cell>> = std::collections::BTreeMap::new();
    let mut cells = 0usize;
    while let Some(c) = reader.next_cell().map_err(|e| unreadable(format!("工作表“{name}”无法读取（{e}）")))?
    {
        let (r, col) = c.get_position();
        let value = cell_of(&Data::from(c.get_value().clone()));
        if value.is_blank() {
            continue;
        }
        if col >= MAX_COLUMNS {
            return Err(unreadable(format!("第 {} 行有第 {} 列的数据，超出 {MAX_COLUMNS} 列", r + 1, col + 1)));
        }
        cells += 1;
        if cells > MAX_CELLS {
            return Err(unreadable(format!("单元格超过 {MAX_CELLS} 个，请分成几个文件导入")));
        }
        let row = rows.entry(r + 1).or_default();
        if row.len() <= col as usize {
            row.resize(col as usize + 1, Cell::Empty);
        }
        row[col as usize] = value;
    }
    Ok(split_header(rows.into_iter().collect(), "xlsx"))
}

fn cell_of(d: &Data) -> Cell {
    match d {
        Data::Empty => Cell::Empty,
        Data::Error(e) => Cell::Error(format!("{e}")),
        Data::String(s) => Cell::Text(s.clone()),
        Data::Int(i) => Cell::Number(*i as f64),
        Data::Float(f) => Cell::Number(*f),
        Data::Bool(b) => Cell::Bool(*b),
        // The workbook's own date system (1900 or 1904) is applied by calamine.
        Data::DateTime(dt) => match dt.as_datetime() {
            Some(d) if dt.is_datetime() => Cell::Date(d.date()),
            _ => Cell::Number(dt.as_f64()),
        },
        Data::DateTimeIso(s) | Data::DurationIso(s) => {
            match NaiveDate::parse_from_str(s.get(..10).unwrap_or(s), "%Y-%m-%d") {
                Ok(d) => Cell::Date(d),
                Err(_) => Cell::Text(s.clone()),
            }
        }
    }
}

/// An Excel date serial (days since 1899-12-30, the 1900 system) as a date.
pub fn excel_serial_date(serial: f64) -> Option<NaiveDate> {
    if !(1.0..2_958_466.0).contains(&serial) {
        return None;
    }
    NaiveDate::from_ymd_opt(1899, 12, 30)?.checked_add_days(chrono::Days::new(serial.floor() as u64))
}

/// Decode CSV bytes: a UTF-8 byte-order mark, else valid UTF-8, else GB18030 (a superset of GBK).
pub fn decode(bytes: &[u8]) -> Result<(String, &'static str)> {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return String::from_utf8(rest.to_vec())
            .map(|s| (s, "UTF-8"))
            .map_err(|_| unreadable("文件声明为 UTF-8 但含有无效字节"));
    }
    if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
        let enc = if bytes[0] == 0xFF { encoding_rs::UTF_16LE } else { encoding_rs::UTF_16BE };
        let (text, _, bad) = enc.decode(bytes);
        if bad {
            return Err(unreadable("UTF-16 文本含有无效字节"));
        }
        return Ok((text.into_owned(), "UTF-16"));
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok((s.to_string(), "UTF-8")),
        Err(_) => {
            let (text, bad) = encoding_rs::GB18030.decode_without_bom_handling(bytes);
            if bad {
                Err(unreadable("文件编码无法识别：既不是 UTF-8，也不是 GBK/GB18030"))
            } else {
                Ok((text.into_owned(), "GB18030"))
            }
        }
    }
}

pub fn read_csv(bytes: &[u8]) -> Result<Sheet> {
    let (text, encoding) = decode(bytes)?;
    let first = text.lines().next().unwrap_or("");
    let delimiter = if first.contains('\t') && !first.contains(',') { b'\t' } else { b',' };
    let mut reader =
        csv::ReaderBuilder::new().has_headers(false).flexible(true).delimiter(delimiter).from_reader(text.as_bytes());
    let mut rows = Vec::new();
    for (i, rec) in reader.records().enumerate() {
        let rec = rec.map_err(|e| unreadable(format!("第 {} 行不是有效的 CSV（{e}）", i + 1)))?;
        // Excel numbers a CSV's records, not its lines (a quoted cell may hold a line break).
        let line = i as u32 + 1;
        let cells = rec.iter().map(|s| if s.is_empty() { Cell::Empty } else { Cell::Text(s.to_string()) }).collect();
        rows.push((line, cells));
    }
    Ok(split_header(rows, encoding))
}

/// The first non-blank row is the header; blank rows are dropped.
fn split_header(rows: Vec<(u32, Vec<Cell>)>, encoding: &'static str) -> Sheet {
    let mut it = rows.into_iter().filter(|(_, cells)| cells.iter().any(|c| !c.is_blank()));
    let header =
        it.next().map(|(_, cells)| cells.iter().map(|c| c.display().trim().to_string()).collect()).unwrap_or_default();
    Sheet { header, rows: it.collect(), encoding }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excel_serials_are_dates() {
        assert_eq!(excel_serial_date(45474.0), NaiveDate::from_ymd_opt(2024, 7, 1));
        assert_eq!(excel_serial_date(61.0), NaiveDate::from_ymd_opt(1900, 3, 1));
        assert_eq!(excel_serial_date(-3.0), None);
    }

    #[test]
    fn csv_in_gbk_and_utf8_with_bom_read_the_same() {
        let text = "项目名称,建设地点\n阿克陶县人民医院,阿克陶县\n";
        let (gbk, _, _) = encoding_rs::GBK.encode(text);
        let a = read_csv(&gbk).unwrap();
        let mut bom = b"\xEF\xBB\xBF".to_vec();
        bom.extend_from_slice(text.as_bytes());
        let b = read_csv(&bom).unwrap();
        assert_eq!(a.encoding, "GB18030");
        assert_eq!(b.encoding, "UTF-8");
        assert_eq!(a.header, b.header);
        assert_eq!(a.rows, b.rows);
        assert_eq!(a.rows[0].0, 2, "the first data row is Excel row 2");
    }

    /// A zip of (name, content) entries, deflated.
    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        use std::io::Write;
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .large_file(false);
        for (name, content) in entries {
            w.start_file(*name, opts).unwrap();
            w.write_all(content).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    fn workbook() -> Vec<u8> {
        let mut book = rust_xlsxwriter::Workbook::new();
        let ws = book.add_worksheet();
        ws.write_string(0, 0, "活动名称").unwrap();
        ws.write_string(1, 0, "义诊进村").unwrap();
        book.save_to_buffer().unwrap()
    }

    fn refusal(bytes: &[u8]) -> String {
        match read(bytes, "活动") {
            Err(e @ ServiceError::Unreadable(_)) => e.to_string(),
            other => panic!("not refused as unreadable: {other:?}"),
        }
    }

    #[test]
    fn a_sound_workbook_passes_the_package_check() {
        let bytes = workbook();
        check_package(&bytes, &XLSX_LIMITS).unwrap();
        let sh = read(&bytes, "活动").unwrap();
        assert_eq!(sh.header, ["活动名称"]);
        assert_eq!(sh.rows, [(2, vec![Cell::Text("义诊进村".into())])]);
    }

    #[test]
    fn a_zip_bomb_is_refused_from_its_directory() {
        // 50 MB of zeros deflate to about 50 KB: 1000:1.
        let zeros = vec![0u8; 50 << 20];
        let bomb = zip_of(&[("xl/workbook.xml", b"<workbook/>"), ("xl/worksheets/sheet1.xml", &zeros)]);
        assert!(bomb.len() < 200_000, "{}", bomb.len());
        let m = refusal(&bomb);
        assert!(m.contains("压缩比") && m.contains("超过上限 200:1") && m.contains("疑似压缩炸弹"), "{m}");
        assert!(m.contains("xl/worksheets/sheet1.xml"), "the entry is named: {m}");
        // The sum of the sizes, under a smaller limit.
        let small = Limits { total: 10 << 20, ratio: 10_000, ..XLSX_LIMITS };
        let m = check_package(&bomb, &small).unwrap_err().to_string();
        assert!(m.contains("解压后超过 10.0 MB 的上限"), "{m}");
        // Too many entries.
        let few = Limits { entries: 1, ..XLSX_LIMITS };
        let m = check_package(&workbook(), &few).unwrap_err().to_string();
        assert!(m.contains("超过上限 1 个"), "{m}");
    }

    /// Set an entry's uncompressed size in the local header and in the central directory.
    fn declare_size(zip: &mut [u8], name: &[u8], size: u32) {
        let mut patched = 0;
        for i in 0..zip.len().saturating_sub(46) {
            let (at, name_at) = match &zip[i..i + 4] {
                b"PK\x03\x04" => (i + 22, i + 30),
                b"PK\x01\x02" => (i + 24, i + 46),
                _ => continue,
            };
            if zip.get(name_at..name_at + name.len()) == Some(name) {
                zip[at..at + 4].copy_from_slice(&size.to_le_bytes());
                patched += 1;
            }
        }
        assert_eq!(patched, 2, "both headers of the entry");
    }

    #[test]
    fn an_entry_that_inflates_past_its_declared_size_is_refused() {
        let text = vec![b'a'; 100_000];
        let mut lying = zip_of(&[("xl/workbook.xml", b"<workbook/>"), ("xl/sharedStrings.xml", &text)]);
        declare_size(&mut lying, b"xl/sharedStrings.xml", 1000);
        let m = refusal(&lying);
        assert!(m.contains("xl/sharedStrings.xml") && m.contains("大于其声明的大小"), "{m}");
    }

    #[test]
    fn malformed_packages_are_refused_with_a_message() {
        let good = workbook();
        // Truncated: no central directory.
        let m = refusal(&good[..good.len() / 2]);
        assert!(m.contains("压缩包结构已损坏"), "{m}");
        // A zip, but of a document, not a workbook.
        let m = refusal(&zip_of(&[("word/document.xml", b"<w:document/>")]));
        assert!(m.contains("没有工作簿（xl/workbook.xml）"), "{m}");
        // Garbage after the signature.
        let m = refusal(b"PK\x03\x04garbage");
        assert!(m.contains("不是有效的 Excel"), "{m}");
        // A damaged entry: its data flipped, its directory intact.
        let mut damaged = zip_of(&[("xl/workbook.xml", &vec![b'x'; 5000])]);
        for b in &mut damaged[40..60] {
            *b ^= 0x5A;
        }
        let m = refusal(&damaged);
        assert!(m.contains("xl/workbook.xml"), "{m}");
        // Random bytes named .xlsx: the name is never trusted, the bytes are no spreadsheet.
        let random: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        assert!(read(&random, "活动").is_err());
    }

    #[test]
    fn numbers_read_as_people_wrote_them() {
        assert_eq!(number_text(12.0), "12");
        assert_eq!(number_text(35109.43), "35109.43");
    }
}
