//! Reports: templates evaluated for a period and a scope by the figure engine into one
//! [`model::Rendered`] value, which the writers turn into HTML, DOCX (公文 layout) and XLSX.

pub mod docx;
pub mod model;
