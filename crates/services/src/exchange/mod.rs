//! Data exchange: spreadsheets in (templates, import) and out (any list to CSV or XLSX), and the
//! program's projects as an IATI activity file.

pub mod export;
pub mod iati;
pub mod import;
pub mod sheet;
pub mod template;
