//! Organizations: the two trees. Each node keeps its materialised path (`/1/4/9/`) so that
//! "this organization and everything under it" is one indexed prefix match.

use crate::error::{Result, StoreError};
use crate::write::Tx;
use crate::Store;
use domain::orgs::NewOrg;
use domain::{Invalid, Val};

impl Tx<'_> {
    /// Insert an organization and set its path. A parent must be on the same side.
    pub async fn insert_org(&mut self, org: &NewOrg) -> Result<i64> {
        let parent_path = match org.parent_id {
            Some(pid) => {
                let row: Option<(String, String)> =
                    sqlx::query_as("SELECT path, side FROM organizations WHERE id = $1")
                        .bind(pid)
                        .fetch_optional(&mut *self.tx)
                        .await?;
                match row {
                    Some((path, side)) if side == org.side.as_str() => path,
                    Some(_) => {
                        return Err(Invalid::new(
                            "parent_id",
                            "上级单位",
                            "上级单位须与本单位同属支援方或受援方",
                            "上级单位不在同一方",
                        )
                        .into())
                    }
                    None => {
                        return Err(Invalid::new(
                            "parent_id",
                            "上级单位",
                            "上级单位须为已登记的单位",
                            format!("上级单位 {pid} 不存在"),
                        )
                        .into())
                    }
                }
            }
            None => "/".to_string(),
        };
        let id = self.insert(org).await?;
        let path = format!("{parent_path}{id}/");
        self.set_column("organizations", id, &[("path", Val::Text(Some(path)))]).await?;
        Ok(id)
    }
}

impl Store {
    /// The materialised path of an organization given by its code.
    pub async fn org_path(&self, code: &str) -> Result<String> {
        sqlx::query_scalar("SELECT path FROM organizations WHERE code = $1")
            .bind(code.to_string())
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound { what: "单位", id: code.to_string() })
    }
}
