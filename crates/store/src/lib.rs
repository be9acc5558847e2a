//! One storage API over SQLite and PostgreSQL.
//!
//! Everything above this crate reads and writes through [`Store`]. Queries are written once with
//! `$1` parameters, which both backends accept through sqlx's `Any` driver; the few dialect
//! differences are named in [`dialect`]. Every write goes through [`Tx`], which checks the
//! record's rules and references, writes it, and appends an audit entry in the same transaction.

pub mod audit;
pub mod backup;
pub mod consults;
pub mod crypto;
pub mod dialect;
mod error;
pub mod figures;
pub mod followups;
pub mod imaging;
pub mod keys;
pub mod lessons;
pub mod lookup;
mod migrate;
pub mod orgs;
pub mod people;
pub mod projects;
mod read;
pub mod records;
pub mod reporting;
pub mod reports;
mod rollups;
mod row;
pub mod sessions;
mod sql;
pub mod tokens;
pub mod totp;
pub mod users;
mod write;

pub use crypto::Crypto;
pub use dialect::{Backend, DbUrl};
pub use error::{Result, StoreError};
pub use read::Page;
pub use write::Tx;

use sqlx::any::AnyPoolOptions;
use sqlx::AnyPool;
use sqlx::Executor;
use std::sync::Arc;
use std::time::Duration;

/// The store: a connection pool, its backend, and the key for personal data.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    crypto: Arc<Crypto>,
    /// Answer activity aggregates from the rollups (off only to compare with a scan).
    rollups: bool,
}

impl Store {
    /// Connect (creating a SQLite file on first use). Does not migrate.
    pub async fn connect(url: &DbUrl, crypto: Crypto) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = url.backend;
        let max = match backend {
            Backend::Sqlite => 4,
            Backend::Postgres => 10,
        };
        let pool = AnyPoolOptions::new()
            .max_connections(max)
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    for stmt in backend.connection_setup() {
                        conn.execute(*stmt).await?;
                    }
                    Ok(())
                })
            })
            .connect(&url.driver_url)
            .await
            .map_err(|e| StoreError::Config(format!("无法连接数据库 {}：{e}", url.shown)))?;
        Ok(Store { pool, backend, crypto: Arc::new(crypto), rollups: true })
    }

    /// Connect and bring the schema up to date.
    pub async fn open(url: &DbUrl, crypto: Crypto) -> Result<Store> {
        let s = Store::connect(url, crypto).await?;
        s.migrate().await?;
        Ok(s)
    }

    /// The same store, with every aggregate computed by scanning the base rows instead of the
    /// rollups: the reference the rollups are tested and benchmarked against.
    pub fn scanning(&self) -> Store {
        Store { rollups: false, ..self.clone() }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn crypto(&self) -> &Crypto {
        &self.crypto
    }

    /// Apply the embedded migrations that have not run yet, and check the key fingerprint.
    pub async fn migrate(&self) -> Result<Vec<u32>> {
        migrate::run(self).await
    }

    /// True when the database holds no business records (reference data and users aside).
    pub async fn is_empty(&self) -> Result<bool> {
        let n: i64 = sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM programs) + (SELECT COUNT(*) FROM organizations) \
             + (SELECT COUNT(*) FROM figure_defs) + (SELECT COUNT(*) FROM indicator_defs)",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(n == 0)
    }

    /// Is the database reachable? For `/healthz`.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }
}
