//! The second factor: TOTP (RFC 6238, `domain::totp`) and recovery codes, and the throttle of
//! failed sign-ins per source address.
//!
//! - Enrolment: [`Store::totp_begin`] makes a secret (20 random bytes), kept encrypted in
//!   `users.totp_secret_enc` (SM4-GCM, like every secret at rest; key rotation encrypts it
//!   again) but not yet in force; [`Store::totp_confirm`] with a right code puts it in force and
//!   makes ten recovery codes, returned once in clear and kept only as salted SM3 digests (not
//!   keyed with the data key, so they survive a rotation).
//! - Sign-in: after the password, a session of an enrolled user is pending
//!   (`sessions.second_factor_pending`) until [`Store::second_factor`] accepts a code for a step
//!   later than the last one used (`users.totp_last_step`: no code works twice) or an unused
//!   recovery code (then marked used). A wrong code counts like a wrong password, towards the
//!   account's lockout and the address's throttle.
//! - [`Store::totp_reset`]: the security administrator (安全管理员) clears another user's second
//!   factor; the user's sessions end and API tokens are revoked, and a user whose role requires
//!   the second factor enrols again at the next sign-in.
//! - Throttle: more than [`THROTTLE`] failed sign-ins (password or code, known user or not) from
//!   one address within [`THROTTLE_MINUTES`] minutes, and every sign-in from it is refused
//!   (`login_throttled`) until the window has moved on. A request without an address is left to
//!   the account lockout.
//!
//! Every change is audited in its own transaction: `totp_enrol`, `totp_enabled`,
//! `totp_verified`, `totp_recovery_used`, `totp_reset`, and the refusals `totp_failed`,
//! `recovery_code_failed`, `login_throttled` (outcome `failed`).

use crate::error::{Result, StoreError};
use crate::sessions::SessionUser;
use crate::write::Tx;
use crate::Store;
use chrono::{DateTime, Duration, Utc};
use domain::audit::Actor;
use domain::ids::UserId;
use domain::totp;
use domain::users::Role;
use rand::RngCore;
use serde_json::json;
use sm3::{Digest, Sm3};

/// Failed sign-ins from one address within [`THROTTLE_MINUTES`] after which it waits.
pub const THROTTLE: i64 = 10;
pub const THROTTLE_MINUTES: i64 = 15;
/// Recovery codes made at enrolment.
pub const RECOVERY_CODES: usize = 10;

/// A secret to enrol: base32 for typing in, and the `otpauth://` URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrolment {
    pub secret: String,
    pub uri: String,
}

/// What a code came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// Accepted. At enrolment, the new recovery codes (shown once); otherwise empty. The
    /// session goes on under a new token (the cookie to set), the old one no longer works.
    Passed { recovery: Vec<String>, token: String },
    /// A wrong, used or expired code.
    Refused,
    /// Too many failures: the account is locked until then (UTC, RFC 3339); the session ended.
    Locked { until: String },
    /// Too many failures from this address lately.
    Throttled,
}

/// A user's second factor as their own pages and the administrators show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TotpStatus {
    pub enabled: bool,
    /// Unused recovery codes.
    pub recovery_left: i64,
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    rand::rngs::OsRng.fill_bytes(&mut b);
    b
}

/// A recovery code as typed: letters and digits only, upper case.
fn normalize_recovery(typed: &str) -> String {
    typed.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_uppercase()).collect()
}

fn recovery_digest(salt: &str, code: &str) -> String {
    let mut h = Sm3::new();
    h.update(salt.as_bytes());
    h.update(b":");
    h.update(normalize_recovery(code).as_bytes());
    hex::encode(h.finalize())
}

/// A new recovery code: 80 random bits in base32, as `XXXX-XXXX-XXXX-XXXX`.
fn new_recovery_code() -> String {
    let s = totp::base32_encode(&random_bytes::<10>());
    let parts: Vec<&str> = (0..4).map(|i| &s[i * 4..i * 4 + 4]).collect();
    parts.join("-")
}

/// The actor of a sign-in attempt with a user name nobody has.
pub(crate) fn unknown_actor(source: Option<String>) -> Actor {
    Actor { user_id: None, name: "（未知用户）".into(), role: Role::Viewer, org_id: None, source }
}

/// Count a failed sign-in against its source address (in the transaction that audits it), and
/// forget this address's failures older than a day.
pub(crate) async fn note_failure(tx: &mut Tx<'_>, source: Option<&str>, at: DateTime<Utc>) -> Result<()> {
    let Some(src) = source else { return Ok(()) };
    sqlx::query("INSERT INTO login_failures (source, at) VALUES ($1, $2)")
        .bind(src.to_string())
        .bind(ts(at))
        .execute(&mut *tx.tx)
        .await?;
    sqlx::query("DELETE FROM login_failures WHERE source = $1 AND at < $2")
        .bind(src.to_string())
        .bind(ts(at - Duration::days(1)))
        .execute(&mut *tx.tx)
        .await?;
    Ok(())
}

/// Count one failed sign-in (password or code) against the account, atomically, inside `tx`:
/// the count reaching the policy's attempts locks the account and ends every pending session of
/// the user (a sign-in waiting for its second factor). Returns the count and the lock's end.
pub(crate) async fn count_failure(
    tx: &mut Tx<'_>,
    user: i64,
    policy: &crate::sessions::Policy,
    at: DateTime<Utc>,
) -> Result<(i64, Option<String>)> {
    let failed: i64 =
        sqlx::query_scalar("UPDATE users SET failed_logins = failed_logins + 1 WHERE id = $1 RETURNING failed_logins")
            .bind(user)
            .fetch_one(&mut *tx.tx)
            .await?;
    if failed < policy.lockout_attempts {
        return Ok((failed, None));
    }
    let until = ts(at + Duration::minutes(policy.lockout_minutes));
    sqlx::query("UPDATE users SET failed_logins = 0, locked_until = $1 WHERE id = $2")
        .bind(until.clone())
        .bind(user)
        .execute(&mut *tx.tx)
        .await?;
    sqlx::query(
        "UPDATE sessions SET ended_at = $1, recovery_enc = NULL \
         WHERE user_id = $2 AND ended_at IS NULL AND second_factor_pending = 1",
    )
    .bind(ts(at))
    .bind(user)
    .execute(&mut *tx.tx)
    .await?;
    Ok((failed, Some(until)))
}

/// A new session token and CSRF value for a session that has just passed the second factor
/// (the pre-2FA cookie value no longer works: no session fixation).
fn renew() -> (String, String) {
    (hex::encode(random_bytes::<32>()), hex::encode(random_bytes::<32>()))
}

type TotpRow = (String, String, Option<String>, i64, Option<i64>, Option<String>);

impl Store {
    /// Has this address failed to sign in [`THROTTLE`] times within the window?
    pub async fn throttled(&self, source: Option<&str>, at: DateTime<Utc>) -> Result<bool> {
        let Some(src) = source else { return Ok(false) };
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM login_failures WHERE source = $1 AND at > $2")
            .bind(src.to_string())
            .bind(ts(at - Duration::minutes(THROTTLE_MINUTES)))
            .fetch_one(self.pool())
            .await?;
        Ok(n >= THROTTLE)
    }

    /// Audit a sign-in refused by the throttle.
    pub(crate) async fn refuse_throttled(&self, actor: &Actor, user: Option<i64>) -> Result<()> {
        let mut tx = self.begin_audited(actor).await?;
        tx.audit(
            "login_throttled",
            "users",
            user,
            None,
            Some(json!({ "failures": THROTTLE, "minutes": THROTTLE_MINUTES })),
        )
        .await?;
        tx.commit().await
    }

    async fn totp_row(&self, user: UserId) -> Result<TotpRow> {
        let row: Option<TotpRow> = sqlx::query_as(
            "SELECT name, role, totp_secret_enc, totp_enabled, totp_last_step, locked_until FROM users WHERE id = $1",
        )
        .bind(user.get())
        .fetch_optional(self.pool())
        .await?;
        row.ok_or(StoreError::NotFound { what: "用户", id: user.to_string() })
    }

    fn secret_key(&self, stored: &str) -> Result<Vec<u8>> {
        totp::base32_decode(&self.crypto().decrypt(stored)?)
            .ok_or_else(|| StoreError::Integrity("两步验证密钥损坏".into()))
    }

    /// A user's second factor: in force or not, and the unused recovery codes.
    pub async fn totp_status(&self, user: UserId) -> Result<TotpStatus> {
        let (_, _, _, enabled, _, _) = self.totp_row(user).await?;
        let left: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL")
                .bind(user.get())
                .fetch_one(self.pool())
                .await?;
        Ok(TotpStatus { enabled: enabled != 0, recovery_left: left })
    }

    /// Begin enrolment: the secret waiting for its first code (made now, audited `totp_enrol`,
    /// if there is none yet). Refused when a second factor is in force already.
    pub async fn totp_begin(&self, user: &SessionUser, source: Option<String>) -> Result<Enrolment> {
        let (name, _, stored, enabled, _, _) = self.totp_row(user.user_id).await?;
        if enabled != 0 {
            return Err(StoreError::Conflict("已启用两步验证；如需更换设备，请安全管理员重置".into()));
        }
        let secret = match stored {
            Some(s) => self.crypto().decrypt(&s)?,
            None => {
                let secret = totp::base32_encode(&random_bytes::<20>());
                let mut tx = self.begin_audited(&user.actor(source)).await?;
                let n = sqlx::query(
                    "UPDATE users SET totp_secret_enc = $1, totp_last_step = NULL \
                     WHERE id = $2 AND totp_secret_enc IS NULL AND totp_enabled = 0",
                )
                .bind(self.crypto().encrypt(&secret)?)
                .bind(user.user_id.get())
                .execute(&mut *tx.tx)
                .await?
                .rows_affected();
                if n == 0 {
                    // Another request began it first: show that one.
                    drop(tx);
                    return Box::pin(self.totp_begin(user, None)).await;
                }
                tx.audit("totp_enrol", "users", Some(user.user_id.get()), None, Some(json!({ "totp_enabled": false })))
                    .await?;
                tx.commit().await?;
                secret
            }
        };
        Ok(Enrolment { uri: totp::otpauth_uri(&name, &secret), secret })
    }

    /// Confirm enrolment with a code of the new secret: the second factor is in force, this
    /// session has passed it, and ten recovery codes are made (returned in clear this once, and
    /// kept for [`Store::take_recovery_codes`] to show once).
    pub async fn totp_confirm(
        &self,
        session: &str,
        user: &SessionUser,
        code: &str,
        source: Option<String>,
        at: DateTime<Utc>,
    ) -> Result<Check> {
        let (_, _, stored, enabled, last, _) = match self.gate(session, user, &source, at).await? {
            Ok(row) => row,
            Err(refused) => return Ok(refused),
        };
        if enabled != 0 {
            return Err(StoreError::Conflict("已启用两步验证".into()));
        }
        let Some(stored) = stored else {
            return Err(StoreError::Conflict("请先打开两步验证登记页面获取密钥".into()));
        };
        let key = self.secret_key(&stored)?;
        let Some(step) = totp::verify(&key, code, at.timestamp(), last) else {
            return self.code_failed(session, user, "totp_failed", source, at).await;
        };
        let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| new_recovery_code()).collect();
        let mut tx = self.begin_audited(&user.actor(source)).await?;
        let n = sqlx::query(
            "UPDATE users SET totp_enabled = 1, totp_last_step = $1, failed_logins = 0 WHERE id = $2 AND totp_enabled = 0",
        )
        .bind(step)
        .bind(user.user_id.get())
        .execute(&mut *tx.tx)
        .await?
        .rows_affected();
        if n != 1 {
            // Another request confirmed it first: that one made the recovery codes.
            drop(tx);
            return Err(StoreError::Conflict("已启用两步验证".into()));
        }
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
            .bind(user.user_id.get())
            .execute(&mut *tx.tx)
            .await?;
        for c in &codes {
            let salt = hex::encode(random_bytes::<16>());
            sqlx::query("INSERT INTO recovery_codes (user_id, salt, digest, created_at) VALUES ($1, $2, $3, $4)")
                .bind(user.user_id.get())
                .bind(salt.clone())
                .bind(recovery_digest(&salt, c))
                .bind(ts(at))
                .execute(&mut *tx.tx)
                .await?;
        }
        let token = self.pass(&mut tx, session).await?;
        sqlx::query("UPDATE sessions SET recovery_enc = $1 WHERE token_hash = $2")
            .bind(self.crypto().encrypt(&codes.join(" "))?)
            .bind(self.crypto().lookup_hash(&token))
            .execute(&mut *tx.tx)
            .await?;
        tx.audit(
            "totp_enabled",
            "users",
            Some(user.user_id.get()),
            Some(json!({ "totp_enabled": false })),
            Some(json!({ "totp_enabled": true, "recovery_codes": RECOVERY_CODES })),
        )
        .await?;
        tx.commit().await?;
        Ok(Check::Passed { recovery: codes, token })
    }

    /// The recovery codes made at this session's enrolment, once: the next call finds none.
    /// Showing them is audited `totp_recovery_shown` (without the codes).
    pub async fn take_recovery_codes(&self, session: &str, user: &SessionUser) -> Result<Vec<String>> {
        let h = self.crypto().lookup_hash(session);
        let stored: Option<Option<String>> =
            sqlx::query_scalar("SELECT recovery_enc FROM sessions WHERE token_hash = $1 AND ended_at IS NULL")
                .bind(h.clone())
                .fetch_optional(self.pool())
                .await?;
        let Some(Some(stored)) = stored else { return Ok(Vec::new()) };
        let codes: Vec<String> = self.crypto().decrypt(&stored)?.split_whitespace().map(str::to_string).collect();
        let mut tx = self.begin_audited(&user.actor(None)).await?;
        let n = sqlx::query("UPDATE sessions SET recovery_enc = NULL WHERE token_hash = $1 AND recovery_enc = $2")
            .bind(h)
            .bind(stored)
            .execute(&mut *tx.tx)
            .await?
            .rows_affected();
        if n == 0 {
            drop(tx);
            return Ok(Vec::new());
        }
        tx.audit(
            "totp_recovery_shown",
            "users",
            Some(user.user_id.get()),
            None,
            Some(json!({ "recovery_codes": codes.len() })),
        )
        .await?;
        tx.commit().await?;
        Ok(codes)
    }

    /// The second step of a sign-in: a 6-digit code (a step later than the last one used) or
    /// an unused recovery code. Passing ends the session's pending state.
    pub async fn second_factor(
        &self,
        session: &str,
        user: &SessionUser,
        typed: &str,
        source: Option<String>,
        at: DateTime<Utc>,
    ) -> Result<Check> {
        if totp::normalize_code(typed).is_some() {
            self.verify_totp(session, user, typed, source, at).await
        } else {
            self.use_recovery_code(session, user, typed, source, at).await
        }
    }

    /// Verify a 6-digit code at sign-in, with replay protection.
    pub async fn verify_totp(
        &self,
        session: &str,
        user: &SessionUser,
        code: &str,
        source: Option<String>,
        at: DateTime<Utc>,
    ) -> Result<Check> {
        let (_, _, stored, enabled, last, _) = match self.gate(session, user, &source, at).await? {
            Ok(row) => row,
            Err(refused) => return Ok(refused),
        };
        let step = match (enabled, stored) {
            (1, Some(s)) => totp::verify(&self.secret_key(&s)?, code, at.timestamp(), last),
            _ => None,
        };
        let Some(step) = step else {
            return self.code_failed(session, user, "totp_failed", source, at).await;
        };
        let mut tx = self.begin_audited(&user.actor(source.clone())).await?;
        // The step moves forward only: of two requests with the same code, one wins.
        let n = sqlx::query(
            "UPDATE users SET totp_last_step = $1, failed_logins = 0 \
             WHERE id = $2 AND (totp_last_step IS NULL OR totp_last_step < $1)",
        )
        .bind(step)
        .bind(user.user_id.get())
        .execute(&mut *tx.tx)
        .await?
        .rows_affected();
        if n == 0 {
            drop(tx);
            return self.code_failed(session, user, "totp_failed", source, at).await;
        }
        let token = self.pass(&mut tx, session).await?;
        tx.audit("totp_verified", "users", Some(user.user_id.get()), None, None).await?;
        tx.commit().await?;
        Ok(Check::Passed { recovery: Vec::new(), token })
    }

    /// Sign in with a recovery code instead of a 6-digit one: good once.
    pub async fn use_recovery_code(
        &self,
        session: &str,
        user: &SessionUser,
        typed: &str,
        source: Option<String>,
        at: DateTime<Utc>,
    ) -> Result<Check> {
        let (_, _, _, enabled, _, _) = match self.gate(session, user, &source, at).await? {
            Ok(row) => row,
            Err(refused) => return Ok(refused),
        };
        let unused: Vec<(i64, String, String)> = sqlx::query_as(
            "SELECT id, salt, digest FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL ORDER BY id",
        )
        .bind(user.user_id.get())
        .fetch_all(self.pool())
        .await?;
        let mut found = None;
        for (id, salt, digest) in &unused {
            let d = recovery_digest(salt, typed);
            if d.len() == digest.len()
                && d.bytes().zip(digest.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
                && found.is_none()
            {
                found = Some(*id);
            }
        }
        let Some(id) = found.filter(|_| enabled != 0 && !normalize_recovery(typed).is_empty()) else {
            return self.code_failed(session, user, "recovery_code_failed", source, at).await;
        };
        let mut tx = self.begin_audited(&user.actor(source.clone())).await?;
        let n = sqlx::query("UPDATE recovery_codes SET used_at = $1 WHERE id = $2 AND used_at IS NULL")
            .bind(ts(at))
            .bind(id)
            .execute(&mut *tx.tx)
            .await?
            .rows_affected();
        if n == 0 {
            drop(tx);
            return self.code_failed(session, user, "recovery_code_failed", source, at).await;
        }
        sqlx::query("UPDATE users SET failed_logins = 0 WHERE id = $1")
            .bind(user.user_id.get())
            .execute(&mut *tx.tx)
            .await?;
        let token = self.pass(&mut tx, session).await?;
        tx.audit(
            "totp_recovery_used",
            "users",
            Some(user.user_id.get()),
            None,
            Some(json!({ "recovery_code": id, "recovery_left": unused.len() as i64 - 1 })),
        )
        .await?;
        tx.commit().await?;
        Ok(Check::Passed { recovery: Vec::new(), token })
    }

    /// The session has passed the second factor: it goes on under a new token and CSRF value
    /// (returned: the token for the cookie), so a token known before the second factor is void.
    async fn pass(&self, tx: &mut Tx<'_>, session: &str) -> Result<String> {
        let (token, csrf) = renew();
        let n = sqlx::query(
            "UPDATE sessions SET second_factor_pending = 0, token_hash = $1, csrf = $2 \
             WHERE token_hash = $3 AND ended_at IS NULL",
        )
        .bind(self.crypto().lookup_hash(&token))
        .bind(csrf)
        .bind(self.crypto().lookup_hash(session))
        .execute(&mut *tx.tx)
        .await?
        .rows_affected();
        if n != 1 {
            return Err(StoreError::Conflict("会话已结束，请重新登录".into()));
        }
        Ok(token)
    }

    /// What every code check does first: refuse a throttled address, then a locked account;
    /// otherwise the user's second-factor row.
    async fn gate(
        &self,
        session: &str,
        user: &SessionUser,
        source: &Option<String>,
        at: DateTime<Utc>,
    ) -> Result<std::result::Result<TotpRow, Check>> {
        if self.throttled(source.as_deref(), at).await? {
            self.refuse_throttled(&user.actor(source.clone()), Some(user.user_id.get())).await?;
            return Ok(Err(Check::Throttled));
        }
        let row = self.totp_row(user.user_id).await?;
        match self.refuse_locked(session, user, row.5.clone(), source, at).await? {
            Some(refused) => Ok(Err(refused)),
            None => Ok(Ok(row)),
        }
    }

    /// A code while the account is locked out: refused without looking at it (so the lockout
    /// holds for the second factor too), this session ended, audited `login_locked`.
    async fn refuse_locked(
        &self,
        session: &str,
        user: &SessionUser,
        locked: Option<String>,
        source: &Option<String>,
        at: DateTime<Utc>,
    ) -> Result<Option<Check>> {
        let Some(until) = locked.as_deref().and_then(crate::sessions::parse_ts).filter(|u| *u > at) else {
            return Ok(None);
        };
        let mut tx = self.begin_audited(&user.actor(source.clone())).await?;
        sqlx::query(
            "UPDATE sessions SET ended_at = $1, recovery_enc = NULL WHERE token_hash = $2 AND ended_at IS NULL",
        )
        .bind(ts(at))
        .bind(self.crypto().lookup_hash(session))
        .execute(&mut *tx.tx)
        .await?;
        tx.audit("login_locked", "users", Some(user.user_id.get()), None, Some(json!({ "second_factor": true })))
            .await?;
        tx.commit().await?;
        Ok(Some(Check::Locked { until: ts(until) }))
    }

    /// A wrong code: counted like a wrong password (the account's lockout, the address's
    /// throttle) and audited; a lockout ends the session.
    async fn code_failed(
        &self,
        session: &str,
        user: &SessionUser,
        action: &str,
        source: Option<String>,
        at: DateTime<Utc>,
    ) -> Result<Check> {
        let policy = self.policy().await?;
        let mut tx = self.begin_audited(&user.actor(source.clone())).await?;
        note_failure(&mut tx, source.as_deref(), at).await?;
        let (failed, until) = count_failure(&mut tx, user.user_id.get(), &policy, at).await?;
        tx.audit(action, "users", Some(user.user_id.get()), None, Some(json!({ "failed_logins": failed }))).await?;
        if let Some(u) = &until {
            sqlx::query(
                "UPDATE sessions SET ended_at = $1, recovery_enc = NULL WHERE token_hash = $2 AND ended_at IS NULL",
            )
            .bind(ts(at))
            .bind(self.crypto().lookup_hash(session))
            .execute(&mut *tx.tx)
            .await?;
            tx.audit("lock", "users", Some(user.user_id.get()), None, Some(json!({ "locked_until": u }))).await?;
        }
        tx.commit().await?;
        Ok(match until {
            Some(until) => Check::Locked { until },
            None => Check::Refused,
        })
    }

    /// Clear another user's second factor (安全管理员): secret and recovery codes gone, sessions
    /// ended, API tokens revoked; audited `totp_reset`.
    pub async fn totp_reset(&self, actor: &Actor, user: UserId) -> Result<()> {
        if actor.role != Role::SecAdmin {
            return Err(StoreError::Forbidden(format!("角色“{}”不能重置两步验证", actor.role.label())));
        }
        if actor.user_id == Some(user) {
            return Err(StoreError::Forbidden("不能重置自己的两步验证，请另一位安全管理员操作".into()));
        }
        let (_, _, stored, enabled, _, _) = self.totp_row(user).await?;
        let mut tx = self.begin_audited(actor).await?;
        sqlx::query("UPDATE users SET totp_secret_enc = NULL, totp_enabled = 0, totp_last_step = NULL WHERE id = $1")
            .bind(user.get())
            .execute(&mut *tx.tx)
            .await?;
        let codes = sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
            .bind(user.get())
            .execute(&mut *tx.tx)
            .await?
            .rows_affected();
        crate::sessions::end_all(&mut tx, user).await?;
        tx.audit(
            "totp_reset",
            "users",
            Some(user.get()),
            Some(json!({ "totp_enabled": enabled != 0, "enrolling": stored.is_some() && enabled == 0, "recovery_codes": codes })),
            Some(json!({ "totp_enabled": false })),
        )
        .await?;
        tx.commit().await
    }
}
