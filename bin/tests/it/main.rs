//! The one integration-test binary: the store conformance suite (every test on SQLite and on
//! PostgreSQL), the demo story against figures.tsv, and the command line and HTTP server.

mod api;
mod browser;
mod cli;
mod conformance;
mod consults;
mod exchange_export;
mod exchange_import;
mod forms;
mod generate;
mod hostile;
mod http;
mod imaging;
mod lessons;
mod report_pages;
mod reporting;
mod reports;
mod story;
mod support;
mod tls;
mod trust;
mod twofactor;
