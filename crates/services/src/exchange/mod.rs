//! Data exchange: spreadsheets in (templates, import) and out, for people who live in Excel.

pub mod import;
pub mod sheet;
pub mod template;
