//! Users: a name, a role, an organization scope, and an Argon2id password hash. There are no
//! built-in accounts and no default passwords.

use crate::error::{Result, StoreError};
use crate::write::Tx;
use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use domain::ids::UserId;
use domain::users::{check_password, check_user_name, Role};
use domain::{Invalid, Invalids};
use serde_json::json;

/// Hash a password with Argon2id (memory-hard) and a random salt.
pub fn hash_password(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| StoreError::Crypto(e.to_string()))
}

pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash).map(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok()).unwrap_or(false)
}

impl Tx<'_> {
    /// Create a user. The password must meet the policy; the user must change it at first login.
    pub async fn add_user(&mut self, name: &str, role: Role, org_code: Option<&str>, password: &str) -> Result<UserId> {
        self.live()?;
        let r = self.add_user_step(name, role, org_code, password).await;
        self.note(r)
    }

    async fn add_user_step(
        &mut self,
        name: &str,
        role: Role,
        org_code: Option<&str>,
        password: &str,
    ) -> Result<UserId> {
        let mut e = Invalids::default();
        let name = e.take(check_user_name(name));
        if let Some(n) = &name {
            e.take(check_password(n, password));
        }
        let org_id: Option<i64> = match org_code {
            Some(code) => {
                let id: Option<i64> = sqlx::query_scalar("SELECT id FROM organizations WHERE code = $1")
                    .bind(code.to_string())
                    .fetch_optional(&mut *self.tx)
                    .await?;
                if id.is_none() {
                    e.push(Invalid::new("org", "所属单位", "须为已登记单位的编码", format!("单位编码“{code}”不存在")));
                }
                id
            }
            None => {
                if role.needs_org() {
                    e.push(Invalid::new(
                        "org",
                        "所属单位",
                        "项目管理和填报员须指定所属单位",
                        "未指定所属单位（--org 单位编码）",
                    ));
                }
                None
            }
        };
        let Some(name) = name else { return Err(e.into()) };
        if !e.is_empty() {
            return Err(e.into());
        }
        let exists: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE name = $1")
            .bind(name.clone())
            .fetch_one(&mut *self.tx)
            .await?;
        if exists > 0 {
            return Err(Invalid::new("name", "用户名", "用户名唯一", format!("用户名“{name}”已存在")).into());
        }
        let hash = hash_password(password)?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO users (name, role, org_id, password_hash, must_change_password, created_at) VALUES ($1, $2, $3, $4, 1, $5) RETURNING id",
        )
        .bind(name.clone())
        .bind(role.code())
        .bind(org_id)
        .bind(hash)
        .bind(crate::write::now())
        .fetch_one(&mut *self.tx)
        .await?;
        let after = json!({ "id": id, "name": name, "role": role.code(), "org_id": org_id, "must_change_password": 1 });
        self.audit("create", "users", Some(id), None, Some(after)).await?;
        Ok(UserId::issued(id))
    }
}

impl crate::Store {
    /// Check a user's password; returns the user id and role on success.
    pub async fn check_login(&self, name: &str, password: &str) -> Result<Option<(UserId, Role)>> {
        let row: Option<(i64, String, String)> =
            sqlx::query_as("SELECT id, role, password_hash FROM users WHERE name = $1")
                .bind(name.to_string())
                .fetch_optional(self.pool())
                .await?;
        Ok(match row {
            Some((id, role, hash)) if verify_password(&hash, password) => {
                Role::parse(&role).ok().map(|r| (UserId::issued(id), r))
            }
            _ => None,
        })
    }
}
