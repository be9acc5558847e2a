//! Import: a whole spreadsheet of one record type, all or nothing.
//!
//! 1. The sheet is read ([`super::sheet`]) and its header matched to the catalogue's fields by
//!    their Chinese labels (units in brackets: a money column in 元 or 万元; `*` marks required).
//! 2. Every row becomes the text values a form gives: places by code, by name, or by
//!    `上级/名称`; organizations by credit code, code, name or `上级单位/名称`; projects by code;
//!    numbers written as text or with thousands separators; dates as Excel serials or text. Then
//!    the one parser the forms use (`domain::forms::parse`) checks it.
//! 3. Every parsed row is written in one transaction through the one write path
//!    (`records::save`), with its audit entry. If any row is refused — by the parser or by the
//!    store — nothing is written: the store's refusals of every row are collected (each row
//!    after a savepoint) and the whole file is reported, rows by their Excel numbers.
//!
//! With `update`, a row whose code (or ID) names an existing record changes that record: its
//! blank cells keep the stored values.

use super::sheet::{Cell, Sheet};
use crate::error::{Result, ServiceError};
use crate::records::{row_values, save};
use domain::audit::Actor;
use domain::catalog::{Field, FieldKind, RecordType};
use domain::forms::{form_fields, parse, EDITABLE, HISTORY_ONLY};
use domain::regions::{RegionCode, RegionTable};
use domain::Invalid;
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};
use store::lookup::Named;
use store::{Store, StoreError};

#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Rows whose code (or ID) exists update that record; blank cells leave fields unchanged.
    pub update: bool,
    /// Check everything, write nothing.
    pub dry_run: bool,
}

/// One refusal: the Excel row (header = 1), the column (0-based) when it is one cell's fault.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RowError {
    pub row: u32,
    pub column: Option<usize>,
    /// The column's header as the file has it, or the field's label.
    pub header: String,
    pub rule: String,
    pub message: String,
}

impl RowError {
    /// "第 12 行【建设地点】找不到地名“某某”".
    pub fn line(&self) -> String {
        if self.header.is_empty() {
            format!("第 {} 行：{}", self.row, self.message)
        } else {
            format!("第 {} 行【{}】{}（规则：{}）", self.row, self.header, self.message, self.rule)
        }
    }
}

/// What an import did, or why it did nothing.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Outcome {
    pub rows: usize,
    pub created: usize,
    pub updated: usize,
    /// Update rows that said what was already stored.
    pub unchanged: usize,
    pub errors: Vec<RowError>,
    /// Columns of the file that are not fields of the type (shown, so a typo is noticed).
    pub ignored_columns: Vec<String>,
    pub encoding: &'static str,
    /// True when the rows were written (not a dry run, no errors).
    pub written: bool,
}

impl Outcome {
    /// How many rows have at least one error.
    pub fn bad_rows(&self) -> usize {
        self.errors.iter().map(|e| e.row).collect::<BTreeSet<_>>().len()
    }
    pub fn summary(&self) -> String {
        if !self.errors.is_empty() {
            format!("导入失败：共 {} 条数据有误", self.bad_rows())
        } else if self.written {
            format!(
                "导入成功：共 {} 行，新增 {} 条，更新 {} 条，无变化 {} 条",
                self.rows, self.created, self.updated, self.unchanged
            )
        } else {
            format!(
                "检查通过（未写入）：共 {} 行，可新增 {} 条，可更新 {} 条，无变化 {} 条",
                self.rows, self.created, self.updated, self.unchanged
            )
        }
    }
}

/// What a column of the file holds.
#[derive(Debug, Clone, Copy)]
enum Column {
    Field {
        field: &'static Field,
        /// A money column in 元 (else 万元).
        yuan: bool,
    },
    /// A money column whose header does not say 元 or 万元: refused, never guessed.
    NoUnit(&'static Field),
    /// The record's ID (as exported), for `update` of types without a code.
    Id,
    /// The parent place under which place names in the row are looked up.
    ParentRegion,
    Ignored,
}

/// The header of a field in templates: the export's header (the unit in brackets), `*` when
/// the field is required.
pub fn header_of(f: &Field, required: bool) -> String {
    format!("{}{}", if required { "*" } else { "" }, super::export::header(f))
}

/// How the template's example row begins; such a row is never imported.
pub const EXAMPLE: &str = "示例：";

/// The header cell the parent-place column has.
pub const PARENT_REGION: &str = "上级区划";

fn column_of(t: &RecordType, header: &str) -> Column {
    let h = header.trim().trim_start_matches(['*', '＊']).trim();
    let (base, unit) = match h.rfind(['（', '(']) {
        Some(i) if h.ends_with(['）', ')']) => {
            let unit = h[i..].trim_start_matches(['（', '(']).trim_end_matches(['）', ')']);
            (h[..i].trim(), unit.trim())
        }
        _ => (h, ""),
    };
    if matches!(base, "编号" | "ID" | "id" | "记录ID" | "记录编号") {
        return Column::Id;
    }
    if matches!(base, PARENT_REGION | "上级地区") {
        return Column::ParentRegion;
    }
    match form_fields(t).into_iter().find(|f| f.zh == base || f.name == base || f.en.eq_ignore_ascii_case(base)) {
        Some(field) if matches!(field.kind, FieldKind::Money) && !matches!(unit, "元" | "万元") => {
            Column::NoUnit(field)
        }
        Some(field) => Column::Field { field, yuan: unit == "元" },
        None => Column::Ignored,
    }
}

/// The field that names a record of `t` for `update`: its code, or a batch's number.
pub fn key_field(t: &RecordType) -> Option<&'static str> {
    match t.table {
        "batches" => Some("number"),
        _ => t.field("code").map(|f| f.name),
    }
}

/// A batch as people write its number: "11", "第11批", "第 11 批" → "11".
fn batch_number(s: &str) -> &str {
    s.trim().trim_start_matches('第').trim_end_matches('批').trim()
}

/// Records of a referenced table, found by what a cell may say.
struct Index {
    rows: Vec<Named>,
    by_code: HashMap<String, usize>,
    by_name: HashMap<String, Vec<usize>>,
    by_id: HashMap<i64, usize>,
}

impl Index {
    fn new(rows: Vec<Named>) -> Index {
        let mut by_code = HashMap::new();
        let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
        let mut by_id = HashMap::new();
        for (i, r) in rows.iter().enumerate() {
            if let Some(c) = &r.code {
                by_code.insert(c.clone(), i);
            }
            if let Some(c) = &r.credit_code {
                by_code.insert(c.clone(), i);
            }
            by_name.entry(r.name.clone()).or_default().push(i);
            by_id.insert(r.id, i);
        }
        Index { rows, by_code, by_name, by_id }
    }

    fn find(&self, table: &str, label: &str, text: &str) -> std::result::Result<i64, (String, String)> {
        let v = text.trim();
        if let Some(&i) = self.by_code.get(v) {
            return Ok(self.rows[i].id);
        }
        // A batch by its number: "11", "第11批", "第 11 批".
        let bare = if table == "batches" { batch_number(v) } else { v };
        let names: &[usize] = self.by_name.get(v).or_else(|| self.by_name.get(bare)).map(Vec::as_slice).unwrap_or(&[]);
        match names {
            [one] => return Ok(self.rows[*one].id),
            [] => {}
            many => {
                // A name under its parent: "上级/名称" narrows an ambiguous name.
                let parents: Vec<String> = many
                    .iter()
                    .filter_map(|i| {
                        self.rows[*i].parent_id.and_then(|p| self.by_id.get(&p)).map(|p| self.rows[*p].name.clone())
                    })
                    .collect();
                return Err((
                    format!("{label}须唯一确定"),
                    format!(
                        "{label}“{v}”有 {} 条同名记录{}，请填写编码{}",
                        many.len(),
                        if parents.is_empty() {
                            String::new()
                        } else {
                            format!("（上级：{}）", parents.join("、"))
                        },
                        if table == "organizations" {
                            "、统一社会信用代码或“上级单位/名称”"
                        } else {
                            ""
                        }
                    ),
                ));
            }
        }
        if let Some((parent, name)) = v.rsplit_once(['/', '／']) {
            let parent_id = self.find(table, label, parent).ok();
            let hits: Vec<&Named> = self
                .by_name
                .get(name.trim())
                .into_iter()
                .flatten()
                .map(|i| &self.rows[*i])
                .filter(|r| r.parent_id == parent_id && parent_id.is_some())
                .collect();
            if let [one] = hits.as_slice() {
                return Ok(one.id);
            }
        }
        if let Ok(id) = v.parse::<i64>() {
            if self.by_id.contains_key(&id) && table != "batches" {
                return Ok(id);
            }
        }
        Err((format!("{label}须为已登记的记录"), format!("找不到{label}“{v}”")))
    }
}

/// Look-ups loaded once per import.
struct Resolver {
    refs: HashMap<&'static str, Index>,
    codes: HashMap<&'static str, Vec<(String, String)>>,
}

impl Resolver {
    async fn load(store: &Store, actor: &Actor, fields: &[&'static Field]) -> Result<Resolver> {
        let mut r = Resolver { refs: HashMap::new(), codes: HashMap::new() };
        for f in fields {
            match f.kind {
                FieldKind::Ref { table, .. } if !r.refs.contains_key(table) => {
                    r.refs.insert(table, Index::new(store.named_records(actor, table).await?));
                }
                FieldKind::CodeRef { table } if !r.codes.contains_key(table) => {
                    r.codes.insert(table, store.code_names(table).await?);
                }
                _ => {}
            }
        }
        Ok(r)
    }
}

fn invalid(f: &Field, rule: impl Into<String>, message: impl Into<String>) -> Invalid {
    Invalid::new(f.name, f.zh, rule, message)
}

/// Digits and a decimal point, with thousands separators and spaces taken out.
fn numeric_text(s: &str) -> String {
    s.trim().chars().filter(|c| !matches!(c, ',' | '，' | ' ' | '\u{a0}')).collect()
}

/// A plausible date serial (1954 … 2119) as a date.
fn serial_text(n: f64) -> Option<String> {
    if !(20_000.0..80_000.0).contains(&n) {
        return None;
    }
    super::sheet::excel_serial_date(n).map(|d| d.format("%Y-%m-%d").to_string())
}

/// A date as people write it: 2024-07-01, 2024/7/1, 2024.7.1, 2024年7月1日, 20240701.
pub fn date_text(s: &str) -> Option<String> {
    let t = s.trim().trim_end_matches('日');
    let parts: Vec<&str> = t.split(['-', '/', '.', '年', '月']).map(str::trim).collect();
    let ymd = match parts.as_slice() {
        [y, m, d] => (y.parse::<i32>().ok()?, m.parse::<u32>().ok()?, d.parse::<u32>().ok()?),
        [one] if one.len() == 8 && one.chars().all(|c| c.is_ascii_digit()) => {
            (one[..4].parse().ok()?, one[4..6].parse().ok()?, one[6..].parse().ok()?)
        }
        _ => return None,
    };
    // Four-digit years: chrono writes 99999 as "+99999", which no date field reads.
    if !(1000..=9999).contains(&ymd.0) {
        return None;
    }
    chrono::NaiveDate::from_ymd_opt(ymd.0, ymd.1, ymd.2).map(|d| d.format("%Y-%m-%d").to_string())
}

impl Resolver {
    /// The text a form would carry for this cell, or why the cell cannot be one.
    fn value(&self, f: &Field, cell: &Cell, parent: Option<&RegionCode>) -> std::result::Result<String, Invalid> {
        let text = cell.display();
        let mut t = text.trim();
        if let Cell::Error(e) = cell {
            return Err(invalid(f, "单元格不得为公式错误", format!("{}是公式错误值 {e}，请改为数值或文字", f.zh)));
        }
        // The apostrophe an export puts before = + - @ (so no spreadsheet runs it as a formula).
        if let Some(rest) = t.strip_prefix('\'') {
            if rest.starts_with(['=', '+', '-', '@']) {
                t = rest;
            }
        }
        // Excel keeps 15 significant digits of a number: an 18-digit identity number or a long
        // code typed as a number has already lost digits.
        if let Cell::Number(n) = cell {
            if n.abs() >= 1e15 && matches!(f.kind, FieldKind::Secret | FieldKind::Text | FieldKind::Code(_)) {
                return Err(invalid(
                    f,
                    "长数字须为文本格式",
                    format!("{}是超过 15 位的数字，Excel 已丢失末尾数字；请将该列设为文本格式后重新填写", f.zh),
                ));
            }
        }
        Ok(match f.kind {
            FieldKind::Int => match cell {
                Cell::Number(n) if n.fract() != 0.0 => {
                    return Err(invalid(f, "须为整数", format!("{}“{t}”不是整数", f.zh)));
                }
                _ => numeric_text(t),
            },
            FieldKind::Money => match cell {
                // Excel keeps 15 significant digits: round away binary noise at 1 分.
                Cell::Number(n) => {
                    let s = format!("{n:.6}");
                    s.trim_end_matches('0').trim_end_matches('.').to_string()
                }
                _ => numeric_text(t),
            },
            FieldKind::Date => match cell {
                Cell::Date(d) => d.format("%Y-%m-%d").to_string(),
                Cell::Number(n) => serial_text(*n).unwrap_or_else(|| t.to_string()),
                // A serial that went through a CSV as text.
                Cell::Text(_) if t.len() == 5 && t.chars().all(|c| c.is_ascii_digit()) => {
                    t.parse::<f64>().ok().and_then(serial_text).unwrap_or_else(|| t.to_string())
                }
                _ => date_text(t).ok_or_else(|| {
                    invalid(
                        f,
                        "日期格式 YYYY-MM-DD",
                        format!("{}“{t}”不是有效日期，应写作 YYYY-MM-DD，如 2024-07-01", f.zh),
                    )
                })?,
            },
            FieldKind::Period => match cell {
                Cell::Date(d) => d.format("%Y-%m").to_string(),
                _ => t.to_string(),
            },
            FieldKind::Flag => match t {
                "是" | "1" | "Y" | "y" | "TRUE" | "true" | "√" => "1".into(),
                "否" | "0" | "N" | "n" | "FALSE" | "false" | "" => "0".into(),
                _ => return Err(invalid(f, "取值须为 是 或 否", format!("{}“{t}”应填“是”或“否”", f.zh))),
            },
            FieldKind::Region => {
                let leading: String = t.chars().take_while(char::is_ascii_digit).collect();
                if leading.len() >= 6 {
                    RegionCode::parse(&leading).map_err(|e| invalid(f, e.rule, e.message))?.as_str().to_string()
                } else {
                    let (parent_name, name) = match t.rsplit_once(['/', '／']) {
                        Some((p, n)) => (Some(p.trim()), n.trim()),
                        None => (None, t),
                    };
                    let table = RegionTable::builtin();
                    let parent = match parent_name {
                        Some(p) => Some(table.resolve(p, None).map_err(|e| invalid(f, e.rule, e.message))?),
                        None => parent.cloned(),
                    };
                    table
                        .resolve(name, parent.as_ref())
                        .map_err(|e| invalid(f, e.rule, e.message))?
                        .as_str()
                        .to_string()
                }
            }
            FieldKind::Ref { table, .. } => match self.refs.get(table) {
                Some(index) => index.find(table, f.zh, t).map_err(|(rule, m)| invalid(f, rule, m))?.to_string(),
                None => t.to_string(),
            },
            FieldKind::CodeRef { table } => {
                let list = self.codes.get(table).map(Vec::as_slice).unwrap_or(&[]);
                match list.iter().find(|(code, name)| code == t || name == t) {
                    Some((code, _)) => code.clone(),
                    None => {
                        return Err(invalid(
                            f,
                            format!("{}须为已登记的编码或名称", f.zh),
                            format!("找不到{}“{t}”", f.zh),
                        ));
                    }
                }
            }
            FieldKind::Code(_) | FieldKind::Text | FieldKind::Secret => t.to_string(),
        })
    }
}

impl Resolver {
    /// Is `text` a name of the record `value` (a resolved id or place code) of field `f`?
    fn names(&self, f: &Field, value: &str, text: &str) -> bool {
        let text = text.trim();
        match f.kind {
            FieldKind::Ref { table, .. } => self.refs.get(table).is_some_and(|index| {
                value
                    .parse::<i64>()
                    .ok()
                    .and_then(|id| index.by_id.get(&id))
                    .is_some_and(|i| index.rows[*i].name == text)
            }),
            FieldKind::Region => RegionCode::parse(value)
                .ok()
                .and_then(|code| RegionTable::builtin().get(&code).copied())
                .is_some_and(|r| r.name == text || r.aliases.contains(&text)),
            _ => false,
        }
    }
}

/// A cell of a field, and what it resolved to: (column, cell, value or refusal).
type Resolved = (usize, Cell, std::result::Result<String, Invalid>);

/// A row ready to be written: its Excel number, its values, the record it updates.
struct Planned {
    row: u32,
    values: Vec<(String, String)>,
    id: Option<i64>,
}

/// Import a sheet of records of type `t` for `actor`.
pub async fn import(
    store: &Store,
    actor: &Actor,
    t: &'static RecordType,
    sheet: &Sheet,
    opts: Options,
) -> Result<Outcome> {
    if !EDITABLE.contains(&t.table) {
        return Err(StoreError::Forbidden(format!("{}不能导入", t.zh)).into());
    }
    if opts.update && HISTORY_ONLY.contains(&t.table) {
        return Err(StoreError::Forbidden(domain::forms::HISTORY_ONLY_WHY.into()).into());
    }
    let mut out = Outcome { encoding: sheet.encoding, ..Outcome::default() };
    let columns: Vec<Column> = sheet.header.iter().map(|h| column_of(t, h)).collect();
    for (h, c) in sheet.header.iter().zip(&columns) {
        if matches!(c, Column::Ignored) && !h.is_empty() {
            out.ignored_columns.push(h.clone());
        }
    }
    let present: Vec<&'static Field> =
        columns.iter().filter_map(|c| if let Column::Field { field, .. } = c { Some(*field) } else { None }).collect();
    if present.is_empty() {
        out.errors.push(RowError {
            row: 1,
            column: None,
            header: String::new(),
            rule: "表头须为模板中的列名".into(),
            message: format!("表头没有一列是{}的字段，请使用下载的导入模板", t.zh),
        });
        return Ok(out);
    }
    for (i, c) in columns.iter().enumerate() {
        if let Column::NoUnit(f) = c {
            out.errors.push(RowError {
                row: 1,
                column: Some(i),
                header: sheet.header[i].clone(),
                rule: "金额列须注明单位".into(),
                message: format!("金额列“{}”须在括号中注明单位：{}（万元）或{}（元）", sheet.header[i], f.zh, f.zh),
            });
        }
    }
    if !out.errors.is_empty() {
        return Ok(out);
    }
    let col_of: HashMap<&str, usize> = columns
        .iter()
        .enumerate()
        .filter_map(|(i, c)| if let Column::Field { field, .. } = c { Some((field.name, i)) } else { None })
        .collect();
    let required = domain::forms::required_fields(t);
    if !opts.update {
        let missing: Vec<&str> = required
            .iter()
            .filter(|r| !col_of.contains_key(r.as_str()))
            .filter_map(|r| t.field(r).map(|f| f.zh))
            .collect();
        if !missing.is_empty() {
            out.errors.push(RowError {
                row: 1,
                column: None,
                header: String::new(),
                rule: "必填列不能缺少".into(),
                message: format!("表头缺少必填列：{}", missing.join("、")),
            });
            return Ok(out);
        }
    }
    let resolver = Resolver::load(store, actor, &present).await?;
    let key = if opts.update { key_field(t) } else { None };
    let program = store.default_program().await?;
    let header_at = |i: usize| sheet.header.get(i).cloned().unwrap_or_default();
    let mut plan = Vec::new();
    for (row, cells) in &sheet.rows {
        if cells.iter().find(|c| !c.is_blank()).is_some_and(|c| c.display().trim_start().starts_with(EXAMPLE)) {
            continue;
        }
        out.rows += 1;
        let cell = |i: usize| cells.get(i).cloned().unwrap_or(Cell::Empty);
        let mut errs: Vec<RowError> = Vec::new();
        // The parent place for names in this row.
        let parent = match columns.iter().position(|c| matches!(c, Column::ParentRegion)).map(cell) {
            Some(c) if !c.is_blank() => {
                let s = c.display();
                let leading: String = s.trim().chars().take_while(char::is_ascii_digit).collect();
                let r = if leading.len() >= 6 {
                    RegionCode::parse(&leading)
                } else {
                    RegionTable::builtin().resolve(&s, None)
                };
                match r {
                    Ok(code) => Some(code),
                    Err(e) => {
                        let i = columns.iter().position(|c| matches!(c, Column::ParentRegion));
                        errs.push(RowError {
                            row: *row,
                            column: i,
                            header: PARENT_REGION.into(),
                            rule: e.rule,
                            message: e.message,
                        });
                        None
                    }
                }
            }
            _ => None,
        };
        // Which record the row updates: by its code (or a batch's number), or by its ID.
        let mut id = None;
        if opts.update {
            let id_col = columns.iter().position(|c| matches!(c, Column::Id));
            let by_id = id_col.map(cell).filter(|c| !c.is_blank());
            let by_key = key.and_then(|k| col_of.get(k)).map(|i| cell(*i)).filter(|c| !c.is_blank());
            let by_id = match by_id.map(|c| c.display().trim().parse::<i64>()) {
                Some(Ok(n)) => Some(n),
                Some(Err(_)) => {
                    errs.push(RowError {
                        row: *row,
                        column: id_col,
                        header: id_col.map(header_at).unwrap_or_default(),
                        rule: "ID 须为整数".into(),
                        message: "ID 须为导出文件中的记录编号（整数）".into(),
                    });
                    None
                }
                None => None,
            };
            let by_key = match by_key {
                Some(k) => {
                    let k = k.display();
                    let k = if t.table == "batches" { batch_number(&k) } else { k.trim() };
                    let column = if t.table == "batches" { "number" } else { "code" };
                    Some(store.id_of_code(t.table, column, k).await?)
                }
                None => None,
            };
            let found = match (by_key, by_id) {
                // A code that names another record than the ID does: a changed code would
                // otherwise make a second record.
                (Some(Some(a)), Some(b)) if a != b => {
                    errs.push(RowError {
                        row: *row,
                        column: id_col,
                        header: id_col.map(header_at).unwrap_or_default(),
                        rule: "编码与 ID 须指同一记录".into(),
                        message: "编码与 ID 指向不同的记录；如要修改编码，请只保留 ID 列".into(),
                    });
                    None
                }
                (Some(Some(a)), _) => Some(a),
                (Some(None), Some(b)) => Some(b),
                (Some(None), None) => None,
                (None, b) => b,
            };
            if let Some(found) = found {
                match store.record(actor, t, found).await? {
                    Some(stored) => id = Some((found, row_values(t, &stored))),
                    None => {
                        store.log_denied(actor, t.table, found).await?;
                        errs.push(RowError {
                            row: *row,
                            column: None,
                            header: String::new(),
                            rule: "只能更新权限范围内的记录".into(),
                            message: "要更新的记录不存在，或不在您的权限范围内".into(),
                        });
                    }
                }
            }
        }
        let mut values: Vec<(String, String)> = id.as_ref().map(|(_, v)| v.clone()).unwrap_or_default();
        // Each field's cells (a field may have two columns: a name and its code, as exports
        // have them), resolved; then reconciled field by field.
        let mut by_field: Vec<(&'static Field, bool, Vec<Resolved>)> = Vec::new();
        for (i, c) in columns.iter().enumerate() {
            let Column::Field { field, yuan } = c else { continue };
            let raw = cell(i);
            if raw.is_blank() {
                continue;
            }
            // An exported personal identifier is its mask: on an update it means "keep".
            if id.is_some() && matches!(field.kind, FieldKind::Secret) && raw.display().contains('*') {
                continue;
            }
            let text = resolver.value(field, &raw, parent.as_ref());
            match by_field.iter_mut().find(|(f, _, _)| f.name == field.name) {
                Some((_, _, cells)) => cells.push((i, raw, text)),
                None => by_field.push((field, *yuan, vec![(i, raw, text)])),
            }
        }
        for (field, yuan, cells) in &by_field {
            let mut ok: Vec<(usize, String)> = Vec::new();
            let mut failed = Vec::new();
            for (i, raw, text) in cells {
                match text {
                    Ok(v) => ok.push((*i, v.clone())),
                    Err(e) => failed.push((*i, raw, e)),
                }
            }
            if let Some((first, v)) = ok.first() {
                if let Some((j, _)) = ok.iter().find(|(_, w)| w != v) {
                    errs.push(RowError {
                        row: *row,
                        column: Some(*j),
                        header: header_at(*j),
                        rule: "同一字段的两列须一致".into(),
                        message: format!(
                            "“{}”与“{}”指向不同的记录，请两列一致，或只保留一列",
                            header_at(*first),
                            header_at(*j)
                        ),
                    });
                    continue;
                }
                // A name that many records share is fine beside a code naming one of them.
                failed.retain(|(_, raw, _)| !resolver.names(field, v, &raw.display()));
            }
            for (i, _, e) in failed {
                errs.push(RowError {
                    row: *row,
                    column: Some(i),
                    header: header_at(i),
                    rule: e.rule.clone(),
                    message: e.message.clone(),
                });
            }
            if let Some((_, v)) = ok.first() {
                values.retain(|(k, _)| k != field.name && *k != format!("{}__unit", field.name));
                values.push((field.name.to_string(), v.clone()));
                if matches!(field.kind, FieldKind::Money) {
                    values.push((format!("{}__unit", field.name), if *yuan { "yuan" } else { "wan" }.into()));
                }
            }
        }
        // The parser's refusals too, but not a second one for a cell already refused.
        if let Err(invalids) = parse(t, program, values.clone()) {
            for e in invalids.0 {
                let e = cell_error(*row, &col_of, &sheet.header, t, e);
                if e.column.is_none() || !errs.iter().any(|x| x.column == e.column) {
                    errs.push(e);
                }
            }
        }
        if errs.is_empty() {
            plan.push(Planned { row: *row, values, id: id.map(|(i, _)| i) });
        } else {
            out.errors.extend(errs);
        }
    }
    // Write (or, with errors found, only check against the store): one transaction.
    let careful = !out.errors.is_empty();
    let (store_errors, created, updated, unchanged) =
        match write(store, actor, t, program, &plan, careful, opts.dry_run).await? {
            Written::Done { created, updated, unchanged } => (Vec::new(), created, updated, unchanged),
            Written::Refused => match write(store, actor, t, program, &plan, true, true).await? {
                Written::Checked(errs) if !errs.is_empty() => (errs, 0, 0, 0),
                // Refused once, then every row passed: the data changed meanwhile.
                _ => {
                    out.errors.push(RowError {
                        row: 1,
                        column: None,
                        header: String::new(),
                        rule: "导入期间数据发生变化".into(),
                        message: "导入期间其他用户修改了相关数据，未写入任何数据，请重新导入".into(),
                    });
                    (Vec::new(), 0, 0, 0)
                }
            },
            Written::Checked(errs) => (errs, 0, 0, 0),
        };
    let store_errors: Vec<RowError> =
        store_errors.into_iter().flat_map(|(row, e)| store_error(row, &col_of, &sheet.header, t, e)).collect();
    out.errors.extend(store_errors);
    out.errors.sort_by_key(|e| (e.row, e.column));
    if out.errors.is_empty() {
        out.created = created;
        out.updated = updated;
        out.unchanged = unchanged;
        out.written = !opts.dry_run;
    }
    Ok(out)
}

enum Written {
    Done {
        created: usize,
        updated: usize,
        unchanged: usize,
    },
    /// A row was refused on the fast path: check again, row by row.
    Refused,
    /// Every row checked after a savepoint; the refusals, by row.
    Checked(Vec<(u32, StoreError)>),
}

/// New records written to the store at a time on the fast path.
const BULK: usize = 1000;

/// Insert the gathered new records in bulk and count them; false when the store refused one
/// (the transaction is then spent).
async fn insert_bulk(
    tx: &mut store::Tx<'_>,
    rows: &mut Vec<domain::forms::Parsed>,
    created: &mut usize,
) -> Result<bool> {
    if rows.is_empty() {
        return Ok(true);
    }
    let n = rows.len();
    match crate::records::insert_all(tx, std::mem::take(rows)).await {
        Ok(_) => {
            *created += n;
            Ok(true)
        }
        Err(
            StoreError::Invalid(_) | StoreError::Conflict(_) | StoreError::Forbidden(_) | StoreError::NotFound { .. },
        ) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

async fn write(
    store: &Store,
    actor: &Actor,
    t: &RecordType,
    program: domain::ids::ProgramId,
    plan: &[Planned],
    careful: bool,
    dry_run: bool,
) -> Result<Written> {
    let mut tx = store.write(actor).await?;
    let mut refused = Vec::new();
    let (mut created, mut updated, mut unchanged) = (0, 0, 0);
    // On the fast path new records go to the store in bulk; the first refusal sends the whole
    // file to the careful pass, which saves row by row and reports every refusal by its row.
    let mut new_rows = Vec::new();
    for p in plan {
        let parsed = match parse(t, program, p.values.clone()) {
            Ok(parsed) => parsed,
            Err(e) => {
                refused.push((p.row, StoreError::Invalid(e)));
                continue;
            }
        };
        if !careful && p.id.is_none() {
            new_rows.push(parsed);
            if new_rows.len() >= BULK && !insert_bulk(&mut tx, &mut new_rows, &mut created).await? {
                tx.rollback().await?;
                return Ok(Written::Refused);
            }
            continue;
        }
        // An update comes after the new records of the rows above it.
        if !careful && !insert_bulk(&mut tx, &mut new_rows, &mut created).await? {
            tx.rollback().await?;
            return Ok(Written::Refused);
        }
        if careful {
            tx.savepoint().await?;
        }
        let unchanged_before = tx.unchanged();
        match save(&mut tx, parsed, p.id).await {
            Ok(_) => {
                if p.id.is_some() {
                    if tx.unchanged() == unchanged_before {
                        updated += 1;
                    } else {
                        unchanged += 1;
                    }
                } else {
                    created += 1;
                }
                if careful {
                    tx.release().await?;
                }
            }
            Err(
                e @ (StoreError::Invalid(_)
                | StoreError::Conflict(_)
                | StoreError::Forbidden(_)
                | StoreError::NotFound { .. }),
            ) => {
                if !careful {
                    tx.rollback().await?;
                    return Ok(Written::Refused);
                }
                refused.push((p.row, e));
                tx.rollback_to().await?;
            }
            Err(e) => return Err(e.into()),
        }
    }
    if !insert_bulk(&mut tx, &mut new_rows, &mut created).await? {
        tx.rollback().await?;
        return Ok(Written::Refused);
    }
    if careful || !refused.is_empty() {
        tx.rollback().await?;
        return Ok(Written::Checked(refused));
    }
    if dry_run {
        tx.rollback().await?;
    } else {
        tx.commit().await?;
    }
    Ok(Written::Done { created, updated, unchanged })
}

fn cell_error(row: u32, col_of: &HashMap<&str, usize>, header: &[String], t: &RecordType, e: Invalid) -> RowError {
    let column = col_of.get(e.field.as_str()).copied();
    let header = match column {
        Some(i) => header.get(i).cloned().unwrap_or_default(),
        None => t.field(&e.field).map(|f| f.zh.to_string()).unwrap_or_default(),
    };
    RowError { row, column, header, rule: e.rule, message: e.message }
}

fn store_error(
    row: u32,
    col_of: &HashMap<&str, usize>,
    header: &[String],
    t: &RecordType,
    e: StoreError,
) -> Vec<RowError> {
    match e {
        StoreError::Invalid(invalids) => {
            invalids.0.into_iter().map(|i| cell_error(row, col_of, header, t, i)).collect()
        }
        other => vec![RowError {
            row,
            column: None,
            header: String::new(),
            rule: "不能写入".into(),
            message: other.to_string(),
        }],
    }
}

/// The type named on a command line or in a URL: its slug, table or Chinese name.
pub fn record_type(name: &str) -> std::result::Result<&'static RecordType, ServiceError> {
    domain::catalog::RECORD_TYPES.iter().find(|t| t.slug == name || t.table == name || t.zh == name).ok_or_else(|| {
        let all: Vec<&str> = domain::catalog::RECORD_TYPES.iter().map(|t| t.slug).collect();
        ServiceError::Exchange(format!("没有“{name}”这一记录类型；可用：{}", all.join(", ")))
    })
}

/// The error report: the original rows where they were (so Excel row numbers match the
/// messages), a 错误原因 column, each bad cell filled red; and a sheet listing every error.
/// Personal identifiers are masked but in the cells that are wrong (which the user must see).
pub fn error_report(t: &RecordType, sheet: &Sheet, outcome: &Outcome) -> Result<Vec<u8>> {
    let secret: Vec<bool> = sheet
        .header
        .iter()
        .map(|h| matches!(column_of(t, h), Column::Field { field, .. } if matches!(field.kind, FieldKind::Secret)))
        .collect();
    use rust_xlsxwriter::{Color, Format, Workbook};
    let out = |e: rust_xlsxwriter::XlsxError| ServiceError::Output(e.to_string());
    let mut book = Workbook::new();
    let bold = Format::new().set_bold().set_background_color(Color::RGB(0xD9E1F2));
    let bad = Format::new().set_background_color(Color::RGB(0xFFC7CE)).set_font_color(Color::RGB(0x9C0006));
    let why = Format::new().set_font_color(Color::RGB(0x9C0006)).set_text_wrap();
    let mut by_row: HashMap<u32, Vec<&RowError>> = HashMap::new();
    for e in &outcome.errors {
        by_row.entry(e.row).or_default().push(e);
    }
    let ws = book.add_worksheet();
    ws.set_name("导入数据").map_err(out)?;
    // After the widest row, so no cell of the file is overwritten by the reasons.
    let widest = sheet.rows.iter().map(|(_, cells)| cells.len()).max().unwrap_or(0).max(sheet.header.len());
    let why_col = u16::try_from(widest).map_err(|_| ServiceError::Output("列数过多".into()))?;
    for (i, h) in sheet.header.iter().enumerate() {
        ws.write_string_with_format(0, i as u16, h, &bold).map_err(out)?;
        ws.set_column_width(i as u16, 16).map_err(out)?;
    }
    ws.write_string_with_format(0, why_col, "错误原因", &bold).map_err(out)?;
    ws.set_column_width(why_col, 60).map_err(out)?;
    if let Some(header_errors) = by_row.get(&1) {
        let text: Vec<String> = header_errors.iter().map(|e| e.message.clone()).collect();
        ws.write_string_with_format(0, why_col, format!("错误原因：{}", text.join("；")), &why).map_err(out)?;
    }
    for (row, cells) in &sheet.rows {
        let r = row - 1;
        let errs = by_row.get(row);
        for (i, c) in cells.iter().enumerate() {
            let marked = errs.is_some_and(|es| es.iter().any(|e| e.column == Some(i)));
            let text = c.display();
            let text = if secret.get(i).copied().unwrap_or(false) && !marked {
                domain::people::mask(text.trim(), 3, 4)
            } else {
                text
            };
            // Written as text, so nothing the file said can run as a formula.
            if marked {
                ws.write_string_with_format(r, i as u16, &text, &bad).map_err(out)?;
            } else if !text.is_empty() {
                ws.write_string(r, i as u16, &text).map_err(out)?;
            }
        }
        if let Some(es) = errs {
            let text: Vec<String> = es
                .iter()
                .map(|e| if e.header.is_empty() { e.message.clone() } else { format!("【{}】{}", e.header, e.message) })
                .collect();
            ws.write_string_with_format(r, why_col, text.join("；"), &why).map_err(out)?;
        }
    }
    ws.set_freeze_panes(1, 0).map_err(out)?;
    let list = book.add_worksheet();
    list.set_name("错误清单").map_err(out)?;
    for (i, h) in ["行号", "列", "规则", "说明"].iter().enumerate() {
        list.write_string_with_format(0, i as u16, *h, &bold).map_err(out)?;
    }
    list.set_column_width(1, 18).map_err(out)?;
    list.set_column_width(2, 24).map_err(out)?;
    list.set_column_width(3, 60).map_err(out)?;
    for (n, e) in outcome.errors.iter().enumerate() {
        let r = n as u32 + 1;
        list.write_number(r, 0, e.row as f64).map_err(out)?;
        list.write_string(r, 1, &e.header).map_err(out)?;
        list.write_string(r, 2, &e.rule).map_err(out)?;
        list.write_string(r, 3, &e.message).map_err(out)?;
    }
    book.save_to_buffer().map_err(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_as_people_write_them() {
        for (written, date) in [
            ("2024-07-01", "2024-07-01"),
            ("2024/7/1", "2024-07-01"),
            ("2024.7.1", "2024-07-01"),
            ("2024年7月1日", "2024-07-01"),
            ("20240701", "2024-07-01"),
        ] {
            assert_eq!(date_text(written).as_deref(), Some(date), "{written}");
        }
        assert_eq!(date_text("2023/2/29"), None);
        // A five-digit year came out as "+99999-01-01", which no date field reads.
        for bad in ["99999/1/1", "99999-01-01", "999/1/1", "+99999.1.1"] {
            assert_eq!(date_text(bad), None, "{bad}");
        }
        for s in ["2024/7/1", "0999/1/1", "9999年12月31日"] {
            if let Some(d) = date_text(s) {
                assert!(domain::Date::parse(&d).is_ok(), "{s} → {d}");
            }
        }
    }
}
