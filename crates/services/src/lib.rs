//! Services: what the program computes and produces from the records. The figure engine is the
//! only place figures are evaluated; the demo program is loaded through the ordinary store API.

pub mod demo;
mod error;
pub mod exchange;
pub mod figures;
pub mod generate;
pub mod pacs;
pub mod records;
pub mod reports;
pub mod warnings;

pub use error::{Result, ServiceError};
