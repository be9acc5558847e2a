//! Counterpart's domain: the types and rules of a counterpart-aid program (对口支援), with no I/O.
//!
//! Every value that crosses a boundary (a form, a spreadsheet cell, an API field) is parsed into a
//! newtype here once ("parse, don't validate"); code further in takes the newtype and never checks
//! again. Each business area has its own module. A record type implements [`Entity`], a plain
//! description of its columns that the store turns into SQL, so there is one write path for all.

pub mod activities;
pub mod audit;
pub mod catalog;
pub mod figures;
pub mod forms;
pub mod ids;
pub mod imaging;
pub mod indicators;
pub mod invalid;
pub mod lessons;
pub mod lines;
pub mod money;
pub mod orgs;
pub mod pairings;
pub mod people;
pub mod program;
pub mod projects;
pub mod regions;
pub mod reporting;
pub mod reports;
pub mod totp;
pub mod users;
pub mod values;
pub mod warnings;

pub use ids::{Id, Kind};
pub use invalid::{Invalid, Invalids};
pub use money::Fen;
pub use values::{Date, Entity, Val};
