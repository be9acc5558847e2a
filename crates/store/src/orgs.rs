//! Organizations: the two trees. Each node keeps its materialised path (`/1/4/9/`) so that
//! "this organization and everything under it" is one indexed prefix match. The path is kept
//! here and nowhere else: the generic insert and update refuse organizations, so a node never
//! exists without its path.

use crate::error::{Result, StoreError};
use crate::write::Tx;
use crate::Store;
use domain::ids::OrgId;
use domain::orgs::NewOrg;
use domain::{Invalid, Val};

impl Tx<'_> {
    /// Insert an organization and set its path. A parent must be on the same side.
    pub async fn insert_org(&mut self, org: &NewOrg) -> Result<OrgId> {
        self.live()?;
        let r = self.insert_org_step(org).await;
        self.note(r)
    }

    async fn insert_org_step(&mut self, org: &NewOrg) -> Result<OrgId> {
        let parent_path = self.parent_path(org).await?;
        let id = self.insert_step(org).await?;
        let path = format!("{parent_path}{id}/");
        self.set_column("organizations", id.get(), &[("path", Val::Text(Some(path)))]).await?;
        Ok(id)
    }

    /// Change an organization. Its side cannot change; a new parent must be on the same side and
    /// not inside the organization itself. Moving it re-paths its whole subtree (each audited).
    pub async fn update_org(&mut self, id: OrgId, org: &NewOrg) -> Result<()> {
        self.live()?;
        let r = self.update_org_step(id, org).await;
        self.note(r)
    }

    async fn update_org_step(&mut self, id: OrgId, org: &NewOrg) -> Result<()> {
        let row: Option<(String, String)> = sqlx::query_as(&format!(
            "SELECT path, side FROM organizations WHERE id = $1{}",
            self.store.backend().lock_row()
        ))
        .bind(id.get())
        .fetch_optional(&mut *self.tx)
        .await?;
        let (old_path, side) = row.ok_or(StoreError::NotFound { what: "单位", id: id.to_string() })?;
        if side != org.side.as_str() {
            return Err(Invalid::new(
                "side",
                "所属方",
                "单位的所属方（支援方/受援方）登记后不能修改",
                "不能把单位移到另一方；请新建单位",
            )
            .into());
        }
        let parent_path = self.parent_path(org).await?;
        if parent_path.starts_with(&old_path) {
            return Err(Invalid::new(
                "parent_id",
                "上级单位",
                "上级单位不能是本单位或其下级单位",
                "所选上级单位在本单位之下",
            )
            .into());
        }
        self.update_step(id, org, &[]).await?;
        let new_path = format!("{parent_path}{id}/");
        if new_path != old_path {
            let below: Vec<(i64, String)> =
                sqlx::query_as("SELECT id, path FROM organizations WHERE path LIKE $1 ORDER BY path")
                    .bind(format!("{old_path}%"))
                    .fetch_all(&mut *self.tx)
                    .await?;
            for (oid, p) in below {
                let moved = format!("{new_path}{}", &p[old_path.len()..]);
                self.set_column("organizations", oid, &[("path", Val::Text(Some(moved)))]).await?;
            }
        }
        Ok(())
    }

    /// The path under which `org` goes: its parent's path, or `/` for a root.
    async fn parent_path(&mut self, org: &NewOrg) -> Result<String> {
        let Some(pid) = org.parent_id else { return Ok("/".to_string()) };
        let row: Option<(String, String)> = sqlx::query_as(&format!(
            "SELECT path, side FROM organizations WHERE id = $1{}",
            self.store.backend().lock_row()
        ))
        .bind(pid.get())
        .fetch_optional(&mut *self.tx)
        .await?;
        match row {
            Some((path, side)) if side == org.side.as_str() => Ok(path),
            Some(_) => {
                Err(Invalid::new("parent_id", "上级单位", "上级单位须与本单位同属支援方或受援方", "上级单位不在同一方")
                    .into())
            }
            None => {
                Err(Invalid::new("parent_id", "上级单位", "上级单位须为已登记的单位", format!("上级单位 {pid} 不存在"))
                    .into())
            }
        }
    }
}

impl Store {
    /// The materialised path of an organization given by its code.
    pub async fn org_path(&self, code: &str) -> Result<String> {
        let path: String = sqlx::query_scalar("SELECT path FROM organizations WHERE code = $1")
            .bind(code.to_string())
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound { what: "单位", id: code.to_string() })?;
        if path.len() < 3 || !path.starts_with('/') || !path.ends_with('/') {
            return Err(StoreError::Integrity(format!("单位“{code}”的层级路径“{path}”无效")));
        }
        Ok(path)
    }

    /// The names of these organizations, by code (a code that names none is left out): how a
    /// breakdown by an organization field labels its parts.
    pub async fn org_names(&self, codes: &[String]) -> Result<std::collections::HashMap<String, String>> {
        let mut out = std::collections::HashMap::new();
        for chunk in codes.chunks(500) {
            let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!("SELECT code, name FROM organizations WHERE code IN ({})", marks.join(", "));
            let mut q = sqlx::query_as::<_, (String, String)>(&sql);
            for c in chunk {
                q = q.bind(c.clone());
            }
            out.extend(q.fetch_all(self.pool()).await?);
        }
        Ok(out)
    }
}
