//! Import templates: for every record type, an XLSX with Chinese headers (units in brackets,
//! `*` for required), one example row, dropdowns for code lists fed from a hidden 代码表 sheet,
//! and a 填写说明 sheet. Built from the catalogue and the form parser's own rules, so the
//! template, the form and the import never disagree.

use super::import::{header_of, key_field, EXAMPLE, PARENT_REGION};
use crate::error::{Result, ServiceError};
use domain::audit::Actor;
use domain::catalog::{Field, FieldKind, RecordType};
use domain::forms::{form_fields, required_fields};
use domain::regions::REGIONS;
use rust_xlsxwriter::{Color, DataValidation, DataValidationErrorStyle, Format, Formula, Workbook};
use store::Store;

/// Rows the dropdowns cover.
const ROWS: u32 = 10_000;
/// Lists longer than this get no dropdown (a name or a code is typed instead).
const MAX_LIST: usize = 3_000;

fn out(e: rust_xlsxwriter::XlsxError) -> ServiceError {
    ServiceError::Output(e.to_string())
}

/// The choices a dropdown offers for a field, as the import reads them back.
async fn choices(store: &Store, actor: &Actor, f: &Field) -> Result<Vec<String>> {
    Ok(match f.kind {
        FieldKind::Code(list) => list.iter().map(|(_, zh)| zh.to_string()).collect(),
        FieldKind::Flag => vec!["是".into(), "否".into()],
        FieldKind::Region => REGIONS.iter().map(|r| format!("{} {}", r.code, r.name)).collect(),
        FieldKind::CodeRef { table } => store.code_names(table).await?.into_iter().map(|(_, name)| name).collect(),
        FieldKind::Ref { table, .. } => {
            let rows = store.named_records(actor, table).await?;
            let mut count: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
            for r in &rows {
                *count.entry(r.name.as_str()).or_default() += 1;
            }
            let mut seen = std::collections::HashSet::new();
            let mut names: Vec<String> = Vec::new();
            for r in &rows {
                let name = match &r.code {
                    // A name others share is offered as its code, which the import finds first.
                    Some(code) if count[r.name.as_str()] > 1 => code.clone(),
                    _ => r.name.clone(),
                };
                if seen.insert(name.clone()) {
                    names.push(name);
                }
            }
            names
        }
        _ => Vec::new(),
    })
}

/// An example value for a field.
async fn example(store: &Store, actor: &Actor, f: &Field) -> Result<String> {
    Ok(match f.kind {
        FieldKind::Text => match f.name {
            "code" => "XM-2025-001".into(),
            _ => format!("{}示例", f.zh),
        },
        FieldKind::Int if f.name == "year" => "2025".into(),
        FieldKind::Int => "10".into(),
        FieldKind::Date => "2025-03-01".into(),
        FieldKind::Money => "120.50".into(),
        FieldKind::Flag => "否".into(),
        FieldKind::Period => "2025-06".into(),
        FieldKind::Region => "653022 阿克陶县".into(),
        FieldKind::Secret => String::new(),
        _ => choices(store, actor, f).await?.into_iter().next().unwrap_or_default(),
    })
}

/// What to write in a column, for the instructions.
fn rule(f: &Field) -> String {
    match f.kind {
        FieldKind::Text => "文字".into(),
        FieldKind::Int => "整数，可带千分位逗号".into(),
        FieldKind::Date => "日期 YYYY-MM-DD；也可用 Excel 日期、2025/3/1 或 2025年3月1日".into(),
        FieldKind::Money => "金额，单位万元，最多 6 位小数；列名写“（元）”则按元".into(),
        FieldKind::Flag => "是 / 否".into(),
        FieldKind::Period => "统计期：2025、2025-Q2 或 2025-06".into(),
        FieldKind::Code(list) => {
            format!("从下拉中选择：{}", list.iter().map(|(_, n)| *n).collect::<Vec<_>>().join("、"))
        }
        FieldKind::CodeRef { .. } => "从下拉中选择，或填编码".into(),
        FieldKind::Ref { table: "organizations", .. } => {
            "单位：统一社会信用代码、单位编码或名称；重名时写“上级单位/名称”".into()
        }
        FieldKind::Ref { table: "projects", .. } => "项目编号（或唯一的项目名称）".into(),
        FieldKind::Ref { table: "batches", .. } => "批次号，如 11 或 第11批".into(),
        FieldKind::Ref { .. } => "名称（须唯一），或记录 ID".into(),
        FieldKind::Region => {
            format!("区划代码（GB/T 2260）或地名；重名地名写“上级/地名”，或在“{PARENT_REGION}”列填上级")
        }
        FieldKind::Secret => "个人信息，加密保存，页面与导出中打码".into(),
    }
}

/// The template for `t`.
/// The template of `t` for `actor`: its dropdowns list only what `actor` may see.
pub async fn template(store: &Store, actor: &Actor, t: &RecordType) -> Result<Vec<u8>> {
    let fields = form_fields(t);
    let required = required_fields(t);
    let mut book = Workbook::new();
    let head = Format::new().set_bold().set_background_color(Color::RGB(0xD9E1F2)).set_text_wrap();
    let head_required = head.clone().set_font_color(Color::RGB(0xC00000));
    let sample = Format::new().set_italic().set_font_color(Color::RGB(0x808080));
    let text = Format::new().set_num_format("@");

    // The lists first (their sheet is hidden and named in the dropdowns' formulas).
    let mut lists: Vec<(usize, usize)> = Vec::new(); // (field index, list length)
    let mut codes = rust_xlsxwriter::Worksheet::new();
    codes.set_name("代码表").map_err(out)?;
    let mut list_col = 0u16;
    let mut list_cols = Vec::new();
    for (i, f) in fields.iter().enumerate() {
        let c = choices(store, actor, f).await?;
        if c.is_empty() || c.len() > MAX_LIST {
            continue;
        }
        codes.write_string_with_format(0, list_col, f.zh, &head).map_err(out)?;
        for (r, v) in c.iter().enumerate() {
            codes.write_string(r as u32 + 1, list_col, v).map_err(out)?;
        }
        lists.push((i, c.len()));
        list_cols.push(list_col);
        list_col += 1;
    }
    codes.set_hidden(true);

    let mut data = rust_xlsxwriter::Worksheet::new();
    data.set_name(t.zh).map_err(out)?;
    for (i, f) in fields.iter().enumerate() {
        let col = i as u16;
        let is_required = required.iter().any(|r| r == f.name);
        let fmt = if is_required { &head_required } else { &head };
        data.write_string_with_format(0, col, header_of(f, is_required), fmt).map_err(out)?;
        data.set_column_width(col, 18).map_err(out)?;
        let ex = example(store, actor, f).await?;
        let ex = if i == 0 { format!("{EXAMPLE}{ex}") } else { ex };
        data.write_string_with_format(1, col, ex, &sample).map_err(out)?;
        if matches!(f.kind, FieldKind::Text | FieldKind::Secret | FieldKind::Period) {
            // Codes and identifiers stay text (Excel would drop leading zeros or round).
            data.set_column_format(col, &text).map_err(out)?;
        }
    }
    for ((i, len), list_col) in lists.iter().zip(&list_cols) {
        let letter = rust_xlsxwriter::utility::column_number_to_name(*list_col);
        let formula = format!("='代码表'!${letter}$2:${letter}${}", len + 1);
        let dv = DataValidation::new()
            .allow_list_formula(Formula::new(formula))
            .ignore_blank(true)
            // A code or a name not in the list is still accepted (the import decides).
            .set_error_style(DataValidationErrorStyle::Information);
        data.add_data_validation(1, *i as u16, ROWS, *i as u16, &dv).map_err(out)?;
    }
    data.set_freeze_panes(1, 0).map_err(out)?;
    data.set_active(true);

    let mut help = rust_xlsxwriter::Worksheet::new();
    help.set_name("填写说明").map_err(out)?;
    help.set_column_width(0, 22).map_err(out)?;
    help.set_column_width(1, 10).map_err(out)?;
    help.set_column_width(2, 80).map_err(out)?;
    let wrap = Format::new().set_text_wrap();
    let intro = [
        format!("{}导入模板", t.zh),
        "1. 在“".to_string() + t.zh + "”工作表第 2 行起逐行填写，一行一条记录；表头（第 1 行）不要改动。",
        "2. 第 2 行是示例（以“示例”开头的行不会导入），可覆盖或删除。带 * 的列必须填写。".into(),
        "3. 导入时先检查整个文件：只要有一行有误，就一行也不写入，并给出错误报告（原行号、错误原因、出错单元格标红）。"
            .into(),
        match key_field(t) {
            Some(k) => format!(
                "4. 选择“更新已有记录”时，{}已存在的行更新该记录，空白单元格保留原值；其余行新增。",
                t.field(k).map(|f| f.zh).unwrap_or(k)
            ),
            None => "4. 选择“更新已有记录”时，按导出文件中的“ID”列更新该记录，空白单元格保留原值；其余行新增。".into(),
        },
        "5. 也可导入 CSV 文件：UTF-8（带或不带 BOM）或 Excel 另存的 GBK 编码，列名与本模板相同。".into(),
    ];
    for (r, line) in intro.iter().enumerate() {
        help.merge_range(r as u32, 0, r as u32, 2, line, &wrap).map_err(out)?;
    }
    let top = intro.len() as u32 + 1;
    for (i, h) in ["列名", "是否必填", "填写要求"].iter().enumerate() {
        help.write_string_with_format(top, i as u16, *h, &head).map_err(out)?;
    }
    for (i, f) in fields.iter().enumerate() {
        let r = top + 1 + i as u32;
        let is_required = required.iter().any(|x| x == f.name);
        help.write_string(r, 0, header_of(f, is_required)).map_err(out)?;
        help.write_string(r, 1, if is_required { "必填" } else { "" }).map_err(out)?;
        help.write_string_with_format(r, 2, rule(f), &wrap).map_err(out)?;
    }
    book.push_worksheet(data);
    book.push_worksheet(help);
    book.push_worksheet(codes);
    book.save_to_buffer().map_err(out)
}
