//! Store errors. `Invalid` carries the field-level refusals a user must see; everything else is
//! an operational failure that the web edge turns into a generic message and a log line.

use domain::Invalids;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The record breaks a rule; nothing was written.
    #[error("数据校验未通过：{0}")]
    Invalid(Invalids),
    #[error("{what} {id} 不存在")]
    NotFound { what: &'static str, id: String },
    /// A write would break an integrity rule of the database (a duplicate code, a dependent record).
    #[error("{0}")]
    Conflict(String),
    /// Stored data breaks an invariant the code keeps (a bug or a manual edit): an internal error.
    #[error("数据完整性错误：{0}")]
    Integrity(String),
    /// Bad configuration: a database URL, a key.
    #[error("配置错误：{0}")]
    Config(String),
    /// The caller's role may not do this.
    #[error("无权限：{0}")]
    Forbidden(String),
    /// A backup archive that cannot be restored (not an archive, another schema, damaged).
    #[error("备份文件不可恢复：{0}")]
    Archive(String),
    #[error("文件读写失败：{0}")]
    Io(#[from] std::io::Error),
    #[error("加密失败：{0}")]
    Crypto(String),
    /// An earlier step of this transaction failed; it can only be dropped (nothing is written).
    #[error("本事务中先前的操作已失败，整个事务已撤销，未写入任何数据")]
    Aborted,
    #[error("数据库错误：{0}")]
    Db(#[from] sqlx::Error),
    #[error("数据格式错误：{0}")]
    Json(#[from] serde_json::Error),
}

impl From<Invalids> for StoreError {
    fn from(e: Invalids) -> Self {
        StoreError::Invalid(e)
    }
}

impl From<domain::Invalid> for StoreError {
    fn from(e: domain::Invalid) -> Self {
        StoreError::Invalid(e.into())
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// Turn a database constraint failure into a message a user can act on.
pub(crate) fn explain(e: sqlx::Error, table: &str) -> StoreError {
    if let sqlx::Error::Database(db) = &e {
        let msg = db.message().to_lowercase();
        if msg.contains("unique") || msg.contains("duplicate key") {
            return StoreError::Conflict(format!("{table}：编码或唯一字段与已有记录重复（{}）", db.message()));
        }
        if msg.contains("foreign key") {
            return StoreError::Conflict(format!("{table}：有其他记录引用该记录，或引用的记录不存在，操作被拒绝"));
        }
        if msg.contains("check constraint") || msg.contains("violates check") {
            return StoreError::Conflict(format!("{table}：数值不符合约束（{}）", db.message()));
        }
    }
    StoreError::Db(e)
}
