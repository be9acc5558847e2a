//! Plain values shared by every record: dates, non-empty names, and the column description
//! ([`Entity`], [`Val`]) through which the store writes any record with one code path.

use crate::Invalid;
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A calendar date, always written ISO `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Date(NaiveDate);

impl Date {
    pub fn parse(s: &str) -> Result<Date, Invalid> {
        let t = s.trim();
        // Digits but at the two hyphens: chrono's `%Y` would take a signed year ("+999-01-01").
        let ok = t.len() == 10
            && t.bytes().enumerate().all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() });
        match NaiveDate::parse_from_str(t, "%Y-%m-%d") {
            Ok(d) if ok => Ok(Date(d)),
            _ => Err(Invalid::new(
                "date",
                "日期",
                "日期格式 YYYY-MM-DD",
                format!("“{t}”不是有效日期，应写作 YYYY-MM-DD，如 2024-07-01"),
            )),
        }
    }
    pub fn ymd(y: i32, m: u32, d: u32) -> Option<Date> {
        NaiveDate::from_ymd_opt(y, m, d).map(Date)
    }
    pub fn year(&self) -> i32 {
        self.0.year()
    }
    pub fn naive(&self) -> NaiveDate {
        self.0
    }
    pub fn from_naive(d: NaiveDate) -> Date {
        Date(d)
    }
    /// Chinese long form without zero padding, as 公文 write it: 2024年7月1日.
    pub fn chinese(&self) -> String {
        format!("{}年{}月{}日", self.0.year(), self.0.month(), self.0.day())
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%d"))
    }
}

impl TryFrom<String> for Date {
    type Error = Invalid;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Date::parse(&s)
    }
}

impl From<Date> for String {
    fn from(d: Date) -> String {
        d.to_string()
    }
}

/// Parse a date for a named field.
pub fn date_field(field: &str, label: &str, s: &str) -> Result<Date, Invalid> {
    Date::parse(s).map_err(|e| e.at(field, label))
}

/// An optional date: blank means none.
pub fn opt_date_field(field: &str, label: &str, s: Option<&str>) -> Result<Option<Date>, Invalid> {
    match s.map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) => date_field(field, label, t).map(Some),
    }
}

/// The end of a span may not come before its start.
pub fn check_span(end_field: &str, end_label: &str, start: Option<Date>, end: Option<Date>) -> Result<(), Invalid> {
    match (start, end) {
        (Some(s), Some(e)) if e < s => Err(Invalid::new(
            end_field,
            end_label,
            "结束日期不得早于开始日期",
            format!("{end_label} {e} 早于开始日期 {s}"),
        )),
        _ => Ok(()),
    }
}

/// Does `s` hold a control character other than a tab or a line break? Such characters (a NUL
/// above all, which PostgreSQL refuses in text) are never data; line breaks and tabs inside a
/// note are.
pub fn has_control(s: &str) -> bool {
    s.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
}

/// A required, trimmed, non-empty text of bounded length.
pub fn required_text(field: &str, label: &str, s: &str, max_chars: usize) -> Result<String, Invalid> {
    let t = s.trim();
    if t.is_empty() {
        return Err(Invalid::new(field, label, "必填", format!("{label}不能为空")));
    }
    if t.chars().count() > max_chars {
        return Err(Invalid::new(
            field,
            label,
            format!("长度不超过 {max_chars} 个字符"),
            format!("{label}过长（{} 个字符）", t.chars().count()),
        ));
    }
    if has_control(t) {
        return Err(Invalid::new(field, label, "不得含有控制字符", format!("{label}含有不可见的控制字符")));
    }
    Ok(t.to_string())
}

/// A non-negative count (participants, procedures, jobs…).
pub fn count_field(field: &str, label: &str, n: i64) -> Result<i64, Invalid> {
    if n < 0 {
        Err(Invalid::new(field, label, "不得为负数", format!("{label}为 {n}，不得为负数")))
    } else {
        Ok(n)
    }
}

/// One column value, as the store binds it. Nulls are typed, because PostgreSQL needs to know
/// the type of every parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Int(Option<i64>),
    Text(Option<String>),
    /// A personal identifier: the store encrypts the clear value, keeps a keyed hash for exact
    /// lookup, and stores the masked form for display. Neither audit nor any default read sees
    /// the clear value.
    Secret(Option<Secret>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Secret {
    pub clear: String,
    pub masked: String,
}

impl Val {
    pub fn is_null(&self) -> bool {
        matches!(self, Val::Int(None) | Val::Text(None) | Val::Secret(None))
    }
}

impl From<i64> for Val {
    fn from(v: i64) -> Val {
        Val::Int(Some(v))
    }
}
impl From<Option<i64>> for Val {
    fn from(v: Option<i64>) -> Val {
        Val::Int(v)
    }
}
impl From<bool> for Val {
    fn from(v: bool) -> Val {
        Val::Int(Some(v as i64))
    }
}
impl From<&str> for Val {
    fn from(v: &str) -> Val {
        Val::Text(Some(v.to_string()))
    }
}
impl From<String> for Val {
    fn from(v: String) -> Val {
        Val::Text(Some(v))
    }
}
impl From<Option<String>> for Val {
    fn from(v: Option<String>) -> Val {
        Val::Text(v)
    }
}
impl From<Option<&str>> for Val {
    fn from(v: Option<&str>) -> Val {
        Val::Text(v.map(str::to_string))
    }
}
impl From<Date> for Val {
    fn from(v: Date) -> Val {
        Val::Text(Some(v.to_string()))
    }
}
impl From<Option<Date>> for Val {
    fn from(v: Option<Date>) -> Val {
        Val::Text(v.map(|d| d.to_string()))
    }
}

/// A record type the store can write: its table, its audit name, and its column values.
/// References (region codes, organization ids…) are listed so the store can refuse unknown ones
/// with a message instead of a bare foreign-key failure.
pub trait Entity {
    /// The kind of record; its ids are `Id<Self::Kind>`.
    type Kind: crate::ids::Kind;
    /// The table the record lives in.
    const TABLE: &'static str = <Self::Kind as crate::ids::Kind>::TABLE;
    /// The Chinese name of the record type, used in messages.
    const LABEL: &'static str = <Self::Kind as crate::ids::Kind>::LABEL;
    fn columns(&self) -> Vec<(&'static str, Val)>;
    /// Rules across fields (an end before its start, a negative amount); formats are already
    /// guaranteed by the newtypes. The store calls this before every write.
    fn check(&self) -> Result<(), crate::Invalids> {
        Ok(())
    }
    /// (column, label, referenced table, referenced key column) for every reference.
    fn references(&self) -> Vec<Reference> {
        Vec::new()
    }
}

/// A reference from one column to a row of another table.
#[derive(Debug, Clone)]
pub struct Reference {
    pub column: &'static str,
    pub label: &'static str,
    pub table: &'static str,
    pub key: &'static str,
    pub value: Val,
    /// A further column the referenced row must match (a pairing type's party, say).
    pub also: Option<(&'static str, Val)>,
}

impl Reference {
    pub fn new(
        column: &'static str,
        label: &'static str,
        table: &'static str,
        key: &'static str,
        value: impl Into<Val>,
    ) -> Reference {
        Reference { column, label, table, key, value: value.into(), also: None }
    }
    /// The referenced row must also have `column` = `value`.
    pub fn with(mut self, column: &'static str, value: impl Into<Val>) -> Reference {
        self.also = Some((column, value.into()));
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_but_tabs_and_line_breaks() {
        for s in ["\u{0}", "a\u{7}b", "\u{1b}[0m", "x\u{7f}", "\u{85}"] {
            assert!(has_control(s), "{s:?}");
        }
        for s in ["", "第一行\n第二行", "a\tb", "a\r\nb", "古丽米热·阿布都 𠀀"] {
            assert!(!has_control(s), "{s:?}");
        }
    }

    #[test]
    fn text_refuses_control_characters_and_keeps_rare_ones() {
        assert!(required_text("name", "姓名", "阿\u{0}布", 50).is_err());
        assert_eq!(required_text("name", "姓名", " 古丽米热·阿布都 𠀀 ", 50).unwrap(), "古丽米热·阿布都 𠀀");
        assert!(required_text("note", "备注", "第一行\n第二行", 50).is_ok());
    }

    #[test]
    fn dates_are_iso_and_real() {
        assert_eq!(Date::parse("2024-07-01").unwrap().to_string(), "2024-07-01");
        assert_eq!(Date::parse("2024-07-01").unwrap().chinese(), "2024年7月1日");
        assert!(Date::parse("2023-02-29").is_err());
        assert!(Date::parse("2024/07/01").is_err());
        assert!(Date::parse("2024-7-1").is_err());
        // A signed year was accepted, and did not read back as it was written.
        for signed in ["+999-01-01", "-999-01-01", "+024-07-01"] {
            assert!(Date::parse(signed).is_err(), "{signed}");
        }
    }

    #[test]
    fn span_end_before_start_is_refused() {
        let s = Date::parse("2024-05-01").ok();
        let e = Date::parse("2024-04-30").ok();
        let err = check_span("end_date", "结束日期", s, e).unwrap_err();
        assert_eq!(err.field, "end_date");
        assert!(err.to_string().contains("结束日期不得早于开始日期"));
        assert!(check_span("end_date", "结束日期", s, s).is_ok());
    }
}
