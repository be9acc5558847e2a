use store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("指标 {key} 的口径有误：{why}")]
    Definition { key: String, why: String },
    #[error("数据库中已有数据，拒绝载入演示数据（演示数据只能载入空数据库）")]
    NotEmpty,
    #[error("指标 {0} 未定义")]
    UnknownFigure(String),
    /// A report could not be written out.
    #[error("报告输出失败：{0}")]
    Output(String),
    /// A spreadsheet that cannot be read at all (not a row's error: those are reported by row).
    #[error("文件无法读取：{0}")]
    Unreadable(String),
    /// An export or import could not be done (a bad format, a file that cannot be written).
    #[error("数据交换失败：{0}")]
    Exchange(String),
    /// The PACS (Orthanc) could not be reached, refused us, or answered what we cannot read.
    #[error("影像归档系统（PACS）：{0}")]
    Pacs(String),
}

pub type Result<T> = std::result::Result<T, ServiceError>;
