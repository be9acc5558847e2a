//! Personal API tokens: a script sends `Authorization: Bearer cpt_…` instead of a session
//! cookie. A token is 32 random bytes (64 hex digits after the `cpt_` prefix), shown once when
//! it is created; the database keeps only its keyed hash (HMAC-SM3, like session tokens), its
//! first characters to tell tokens apart, a name, an expiry (1–365 days) and when it was last
//! used. A token acts as its user: the user's current role and organization, refused once the
//! token is expired or revoked or the user is disabled or locked out. Creating and revoking a
//! token are audited.

use crate::error::{Result, StoreError};
use crate::sessions::SessionUser;
use crate::Store;
use chrono::{DateTime, Duration, Utc};
use domain::audit::Actor;
use domain::ids::{OrgId, UserId};
use domain::users::Role;
use domain::{Invalid, Invalids};
use rand::RngCore;
use serde::Serialize;
use serde_json::json;

/// Every token starts with this, so that a leaked one is recognised (and scanners can find it).
pub const PREFIX: &str = "cpt_";
/// The longest a token may live.
pub const MAX_DAYS: i64 = 365;
/// How many characters of a token are kept in clear to tell tokens apart (`cpt_` + 8 hex).
const SHOWN: usize = 12;

/// A token as its owner sees it in the list (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenInfo {
    pub id: i64,
    pub name: String,
    /// The first characters of the token, e.g. `cpt_1a2b3c4d`.
    pub prefix: String,
    /// UTC, RFC 3339.
    pub created_at: String,
    pub expires_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

impl TokenInfo {
    /// Neither revoked nor expired at `at`.
    pub fn live_at(&self, at: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && parse_ts(&self.expires_at).is_some_and(|e| e > at)
    }
}

/// A token just created: the clear token is in this value only, and never again.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub id: i64,
    pub token: String,
    pub expires_at: String,
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn parse_ts(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&Utc))
}

/// A token's name: 1–60 characters on one line, no control characters.
fn check_name(name: &str) -> std::result::Result<String, Invalid> {
    let t = name.trim();
    let n = t.chars().count();
    if n == 0 {
        return Err(Invalid::new("name", "令牌名称", "必填", "令牌名称不能为空"));
    }
    if n > 60 || domain::values::has_control(t) || t.contains(['\n', '\r', '\t']) {
        return Err(Invalid::new("name", "令牌名称", "1–60 个字符，不含控制字符", "令牌名称不符合规则"));
    }
    Ok(t.to_string())
}

fn check_days(days: i64) -> std::result::Result<i64, Invalid> {
    if (1..=MAX_DAYS).contains(&days) {
        Ok(days)
    } else {
        Err(Invalid::new("days", "有效期", "1–365 天", format!("有效期 {days} 天超出范围")))
    }
}

/// Tokens are managed by their owner, or by the command line (the `system` actor).
fn may_manage(actor: &Actor, user: UserId) -> Result<()> {
    match actor.user_id {
        None => Ok(()),
        Some(u) if u == user => Ok(()),
        Some(_) => Err(StoreError::Forbidden("只能管理本人的 API 令牌".into())),
    }
}

type TokenRow = (i64, String, String, String, String, Option<String>, Option<String>);
type AuthRow = (
    i64,
    String,
    String,
    Option<i64>,
    String,
    i64,
    Option<String>,
    i64,
    i64,
    i64,
    String,
    Option<String>,
    Option<String>,
);

/// How stale a token's `last_used_at` may get before a use writes it again: a bearer request is
/// a read, and writing on every one would queue all API readers behind SQLite's one writer.
const LAST_USED_EVERY_SECONDS: i64 = 60;

impl Store {
    /// The id of the user called `name`.
    pub async fn user_named(&self, name: &str) -> Result<Option<UserId>> {
        let id: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE name = $1")
            .bind(name.trim().to_string())
            .fetch_optional(self.pool())
            .await?;
        Ok(id.map(UserId::issued))
    }

    /// Create a token for `user`, named `name`, valid for `days` (1–365). Returns the clear
    /// token, which is not kept.
    pub async fn create_token(&self, actor: &Actor, user: UserId, name: &str, days: i64) -> Result<NewToken> {
        self.create_token_at(actor, user, name, days, Utc::now()).await
    }

    /// [`Store::create_token`] at a given time (tests move the clock instead of waiting).
    pub async fn create_token_at(
        &self,
        actor: &Actor,
        user: UserId,
        name: &str,
        days: i64,
        at: DateTime<Utc>,
    ) -> Result<NewToken> {
        may_manage(actor, user)?;
        let mut errs = Invalids::default();
        let name = errs.take(check_name(name));
        let days = errs.take(check_days(days));
        let (Some(name), Some(days)) = (name, days) else { return Err(errs.into()) };
        let row: Option<(i64, String, i64)> =
            sqlx::query_as("SELECT disabled, role, totp_enabled FROM users WHERE id = $1")
                .bind(user.get())
                .fetch_optional(self.pool())
                .await?;
        match row {
            None => return Err(StoreError::NotFound { what: "用户", id: user.to_string() }),
            Some((d, _, _)) if d != 0 => return Err(StoreError::Forbidden("该用户已停用，不能创建 API 令牌".into())),
            Some((_, role, totp)) => {
                let needs = Role::parse(&role).is_ok_and(|r| r.requires_second_factor());
                if needs && totp == 0 {
                    return Err(StoreError::Forbidden(
                        "该用户的角色须使用两步验证：请先登录并完成两步验证登记（/totp/enrol），再创建 API 令牌".into(),
                    ));
                }
            }
        }
        let mut b = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut b);
        let token = format!("{PREFIX}{}", hex::encode(b));
        let prefix: String = token.chars().take(SHOWN).collect();
        let expires_at = ts(at + Duration::days(days));
        let mut tx = self.begin_audited(actor).await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO api_tokens (user_id, name, token_hash, prefix, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(user.get())
        .bind(name.clone())
        .bind(self.crypto().lookup_hash(&token))
        .bind(prefix.clone())
        .bind(ts(at))
        .bind(expires_at.clone())
        .fetch_one(&mut *tx.tx)
        .await?;
        let after =
            json!({ "id": id, "user_id": user.get(), "name": name, "prefix": prefix, "expires_at": expires_at });
        tx.audit("create", "api_tokens", Some(id), None, Some(after)).await?;
        tx.commit().await?;
        Ok(NewToken { id, token, expires_at })
    }

    /// The tokens of `user`, newest first.
    pub async fn tokens(&self, actor: &Actor, user: UserId) -> Result<Vec<TokenInfo>> {
        may_manage(actor, user)?;
        let rows: Vec<TokenRow> = sqlx::query_as(
            "SELECT id, name, prefix, created_at, expires_at, last_used_at, revoked_at FROM api_tokens \
             WHERE user_id = $1 ORDER BY id DESC",
        )
        .bind(user.get())
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, name, prefix, created_at, expires_at, last_used_at, revoked_at)| TokenInfo {
                id,
                name,
                prefix,
                created_at,
                expires_at,
                last_used_at,
                revoked_at,
            })
            .collect())
    }

    /// Revoke token `id` of `user` (at once and for good), audited. Revoking a revoked token
    /// changes nothing.
    pub async fn revoke_token(&self, actor: &Actor, user: UserId, id: i64) -> Result<()> {
        may_manage(actor, user)?;
        let row: Option<(String, String, Option<String>)> =
            sqlx::query_as("SELECT name, prefix, revoked_at FROM api_tokens WHERE id = $1 AND user_id = $2")
                .bind(id)
                .bind(user.get())
                .fetch_optional(self.pool())
                .await?;
        let Some((name, prefix, revoked)) = row else {
            return Err(StoreError::NotFound { what: "API 令牌", id: id.to_string() });
        };
        if revoked.is_some() {
            return Ok(());
        }
        let mut tx = self.begin_audited(actor).await?;
        revoke_one(&mut tx, id, &name, &prefix, &ts(Utc::now())).await?;
        tx.commit().await
    }

    /// The user a bearer token acts as, noting its use (at most once a minute per token, see
    /// [`LAST_USED_EVERY_SECONDS`]); `None` when the token is unknown,
    /// revoked or expired, or its user is disabled or locked out. The user has no CSRF token:
    /// a bearer request is not a browser's. A user who must change their password is returned
    /// with `must_change_password` set, and the API refuses them as it refuses such a session.
    pub async fn token_user(&self, token: &str) -> Result<Option<SessionUser>> {
        self.token_user_at(token, Utc::now()).await
    }

    /// [`Store::token_user`] at a given time.
    pub async fn token_user_at(&self, token: &str, at: DateTime<Utc>) -> Result<Option<SessionUser>> {
        let token = token.trim();
        let well_formed =
            token.strip_prefix(PREFIX).is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()));
        if !well_formed {
            return Ok(None);
        }
        let row: Option<AuthRow> = sqlx::query_as(
            "SELECT u.id, u.name, u.role, u.org_id, u.lang, u.disabled, u.locked_until, u.must_change_password, \
                 u.totp_enabled, t.id, t.expires_at, t.revoked_at, t.last_used_at \
             FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1",
        )
        .bind(self.crypto().lookup_hash(token))
        .fetch_optional(self.pool())
        .await?;
        let Some((uid, name, role, org, lang, disabled, locked, must, totp, tid, expires, revoked, last_used)) = row
        else {
            return Ok(None);
        };
        let expired = parse_ts(&expires).is_none_or(|e| e <= at);
        let locked = locked.as_deref().and_then(parse_ts).is_some_and(|u| u > at);
        if revoked.is_some() || expired || disabled != 0 || locked {
            return Ok(None);
        }
        let Ok(role) = Role::parse(&role) else { return Ok(None) };
        let stale = last_used
            .as_deref()
            .and_then(parse_ts)
            .is_none_or(|used| used < at - Duration::seconds(LAST_USED_EVERY_SECONDS));
        if stale {
            sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
                .bind(ts(at))
                .bind(tid)
                .execute(self.pool())
                .await?;
        }
        Ok(Some(SessionUser {
            user_id: UserId::issued(uid),
            name,
            role,
            org_id: org.map(OrgId::issued),
            lang,
            csrf: String::new(),
            must_change_password: must != 0,
            // A token stands for a sign-in past the second factor, unless the user's role requires
            // one the user has not enrolled (then `Enrol`, and the API refuses the token).
            second_factor: crate::sessions::SecondFactor::of(false, totp != 0, role),
        }))
    }
}

/// Revoke every live token of `user` inside `tx` (an administrator changed the user's role or
/// lifted a lockout: the user's tokens are issued anew), each revocation audited.
pub(crate) async fn revoke_all(tx: &mut crate::write::Tx<'_>, user: UserId) -> Result<()> {
    let live: Vec<(i64, String, String)> =
        sqlx::query_as("SELECT id, name, prefix FROM api_tokens WHERE user_id = $1 AND revoked_at IS NULL ORDER BY id")
            .bind(user.get())
            .fetch_all(&mut *tx.tx)
            .await?;
    let at = ts(Utc::now());
    for (id, name, prefix) in live {
        revoke_one(tx, id, &name, &prefix, &at).await?;
    }
    Ok(())
}

/// Revoke one token at `at`, with its audit entry, inside `tx`.
async fn revoke_one(tx: &mut crate::write::Tx<'_>, id: i64, name: &str, prefix: &str, at: &str) -> Result<()> {
    sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
        .bind(at.to_string())
        .bind(id)
        .execute(&mut *tx.tx)
        .await?;
    let before = json!({ "name": name, "prefix": prefix, "revoked_at": null });
    let after = json!({ "name": name, "prefix": prefix, "revoked_at": at });
    tx.audit("revoke", "api_tokens", Some(id), Some(before), Some(after)).await
}
