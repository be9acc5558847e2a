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
    /// A user's id by its name.
    pub async fn user_id_by_name(&self, name: &str) -> Result<Option<i64>> {
        Ok(sqlx::query_scalar("SELECT id FROM users WHERE name = $1").bind(name).fetch_optional(self.pool()).await?)
    }

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

/// A user as the administrators see it (never the password hash).
#[derive(Debug, Clone, serde::Serialize)]
pub struct UserInfo {
    pub id: i64,
    pub name: String,
    pub role: String,
    pub org: Option<String>,
    pub must_change_password: bool,
    pub locked_until: Option<String>,
    pub created_at: String,
    /// The second factor (TOTP) is in force.
    pub totp_enabled: bool,
    /// Where notifications are mailed.
    pub email: Option<String>,
}

impl crate::Store {
    fn admin_only(actor: &domain::audit::Actor, roles: &[Role], what: &str) -> Result<()> {
        if roles.contains(&actor.role) {
            Ok(())
        } else {
            Err(StoreError::Forbidden(format!("角色“{}”不能{what}", actor.role.label())))
        }
    }

    /// Every user (系统管理员 and 安全管理员).
    pub async fn users(&self, actor: &domain::audit::Actor) -> Result<Vec<UserInfo>> {
        Self::admin_only(actor, &[Role::SysAdmin, Role::SecAdmin], "查看用户")?;
        type Row = (i64, String, String, Option<String>, i64, Option<String>, String, i64, Option<String>);
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT u.id, u.name, u.role, o.name, u.must_change_password, u.locked_until, u.created_at, u.totp_enabled, u.email \
             FROM users u LEFT JOIN organizations o ON o.id = u.org_id ORDER BY u.id",
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, name, role, org, must, locked, created_at, totp, email)| UserInfo {
                id,
                name,
                role,
                org,
                must_change_password: must != 0,
                locked_until: locked,
                created_at,
                totp_enabled: totp != 0,
                email,
            })
            .collect())
    }

    /// Create a user (系统管理员): the password meets the policy and must be changed at first login.
    pub async fn create_user(
        &self,
        actor: &domain::audit::Actor,
        name: &str,
        role: Role,
        org_code: Option<&str>,
        password: &str,
    ) -> Result<UserId> {
        Self::admin_only(actor, &[Role::SysAdmin], "创建用户")?;
        let mut tx = self.begin_audited(actor).await?;
        let id = tx.add_user(name, role, org_code, password).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Give a user another role (安全管理员). One role per account, so no account ever holds two
    /// of the three administrator roles; nobody changes their own role. The user's sessions end
    /// and their API tokens are revoked.
    pub async fn set_role(&self, actor: &domain::audit::Actor, user: UserId, role: Role) -> Result<()> {
        Self::admin_only(actor, &[Role::SecAdmin], "分配角色")?;
        if actor.user_id == Some(user) {
            return Err(StoreError::Forbidden("不能修改自己的角色".into()));
        }
        let row: Option<(String, Option<i64>)> = sqlx::query_as("SELECT role, org_id FROM users WHERE id = $1")
            .bind(user.get())
            .fetch_optional(self.pool())
            .await?;
        let (old, org) = row.ok_or(StoreError::NotFound { what: "用户", id: user.to_string() })?;
        if role.needs_org() && org.is_none() {
            return Err(Invalid::new(
                "role",
                "角色",
                "项目管理和填报员须有所属单位",
                "该用户没有所属单位，不能设为此角色",
            )
            .into());
        }
        let mut tx = self.begin_audited(actor).await?;
        sqlx::query("UPDATE users SET role = $1 WHERE id = $2")
            .bind(role.code())
            .bind(user.get())
            .execute(&mut *tx.tx)
            .await?;
        crate::sessions::end_all(&mut tx, user).await?;
        tx.audit(
            "update",
            "users",
            Some(user.get()),
            Some(json!({ "role": old })),
            Some(json!({ "role": role.code() })),
        )
        .await?;
        tx.commit().await
    }

    /// Lift a lockout (系统管理员). The user's API tokens are revoked: whoever caused the lockout
    /// may hold one.
    pub async fn unlock_user(&self, actor: &domain::audit::Actor, user: UserId) -> Result<()> {
        Self::admin_only(actor, &[Role::SysAdmin], "解除锁定")?;
        let mut tx = self.begin_audited(actor).await?;
        sqlx::query("UPDATE users SET locked_until = NULL, failed_logins = 0 WHERE id = $1")
            .bind(user.get())
            .execute(&mut *tx.tx)
            .await?;
        crate::tokens::revoke_all(&mut tx, user).await?;
        tx.audit("unlock", "users", Some(user.get()), None, None).await?;
        tx.commit().await
    }
}
