//! Data exchange: records out to spreadsheets (and, later, in from them), and the program's
//! projects as an IATI activity file.

pub mod export;
pub mod iati;
