//! Login, lockout and server-side sessions. A session is known by the keyed hash of its cookie
//! token (the token itself is never stored); it ends at logout or after the idle timeout. The
//! three policies (attempts before lockout, lockout minutes, idle minutes) are settings.
//! Every login, failed login, lockout, logout and password change is audited.

use crate::error::{Result, StoreError};
use crate::users::{hash_password, verify_password};
use crate::write::now;
use crate::Store;
use chrono::{DateTime, Duration, Utc};
use domain::audit::Actor;
use domain::ids::{OrgId, UserId};
use domain::users::{check_password, Role};
use domain::Invalid;
use rand::RngCore;
use serde_json::json;

/// The login and session policy, from the settings table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub lockout_attempts: i64,
    pub lockout_minutes: i64,
    pub idle_minutes: i64,
}

impl Default for Policy {
    fn default() -> Self {
        Policy { lockout_attempts: 5, lockout_minutes: 10, idle_minutes: 30 }
    }
}

/// The signed-in user of a live session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionUser {
    pub user_id: UserId,
    pub name: String,
    pub role: Role,
    pub org_id: Option<OrgId>,
    /// `zh` or `en`.
    pub lang: String,
    /// The session's anti-forgery token, to be echoed by every state-changing request.
    pub csrf: String,
    pub must_change_password: bool,
    /// Where the session stands with the second factor (see [`crate::totp`]).
    pub second_factor: SecondFactor,
}

/// The second factor of a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecondFactor {
    /// Passed, or not asked of this user: the session reaches what the role may.
    Done,
    /// The password was right; the code (or a recovery code) is still to come.
    Code,
    /// The role requires a second factor the user has not enrolled yet: enrolment first.
    Enrol,
}

impl SecondFactor {
    /// The state of a session from the pending flag, the user's enrolment and role.
    pub fn of(pending: bool, enabled: bool, role: Role) -> SecondFactor {
        if pending && enabled {
            SecondFactor::Code
        } else if !enabled && role.requires_second_factor() {
            SecondFactor::Enrol
        } else {
            SecondFactor::Done
        }
    }
}

impl SessionUser {
    /// The actor this user writes and reads as.
    pub fn actor(&self, source: Option<String>) -> Actor {
        Actor { user_id: Some(self.user_id), name: self.name.clone(), role: self.role, org_id: self.org_id, source }
    }
}

/// What a login attempt came to.
#[derive(Debug)]
pub enum Login {
    /// Signed in: the cookie token (shown once, stored only as a hash) and the user.
    Ok { token: String, user: SessionUser },
    /// Wrong name or password (which of the two is not said).
    Refused,
    /// Locked after too many failures, until this UTC time (RFC 3339).
    Locked { until: String },
    /// Too many failed sign-ins from this source address lately (see [`crate::totp::THROTTLE`]):
    /// refused whatever the password.
    Throttled,
}

fn random_hex(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

pub(crate) fn parse_ts(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&Utc))
}

type UserRow = (i64, String, String, Option<i64>, String, i64, i64, Option<String>, String, i64, i64);
type SessionRow = (i64, String, String, Option<i64>, String, i64, String, String, Option<String>, i64, i64, i64);

impl Store {
    /// The login policy in force.
    pub async fn policy(&self) -> Result<Policy> {
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT key, value FROM settings WHERE key LIKE 'policy.%'").fetch_all(self.pool()).await?;
        let mut p = Policy::default();
        for (k, v) in rows {
            let Ok(n) = v.trim().parse::<i64>() else { continue };
            match k.as_str() {
                "policy.lockout_attempts" => p.lockout_attempts = n,
                "policy.lockout_minutes" => p.lockout_minutes = n,
                "policy.idle_minutes" => p.idle_minutes = n,
                _ => {}
            }
        }
        Ok(p)
    }

    /// Change the policy (安全管理员), audited.
    pub async fn set_policy(&self, actor: &Actor, p: Policy) -> Result<()> {
        if actor.role != Role::SecAdmin && actor.user_id.is_some() {
            return Err(StoreError::Forbidden("只有安全管理员可以修改登录策略".into()));
        }
        let bad = |field: &str, label: &str, rule: &str| Invalid::new(field, label, rule, format!("{label}超出范围"));
        if !(1..=100).contains(&p.lockout_attempts) {
            return Err(bad("lockout_attempts", "锁定前允许的失败次数", "1 至 100 次").into());
        }
        if !(1..=1440).contains(&p.lockout_minutes) {
            return Err(bad("lockout_minutes", "锁定时长", "1 至 1440 分钟").into());
        }
        if !(1..=1440).contains(&p.idle_minutes) {
            return Err(bad("idle_minutes", "空闲超时", "1 至 1440 分钟").into());
        }
        let before = self.policy().await?;
        let mut tx = self.begin_audited(actor).await?;
        for (k, v) in [
            ("policy.lockout_attempts", p.lockout_attempts),
            ("policy.lockout_minutes", p.lockout_minutes),
            ("policy.idle_minutes", p.idle_minutes),
        ] {
            sqlx::query("UPDATE settings SET value = $1 WHERE key = $2")
                .bind(v.to_string())
                .bind(k)
                .execute(&mut *tx.tx)
                .await?;
        }
        let j = |p: Policy| json!({ "lockout_attempts": p.lockout_attempts, "lockout_minutes": p.lockout_minutes, "idle_minutes": p.idle_minutes });
        tx.audit("update", "settings", None, Some(j(before)), Some(j(p))).await?;
        tx.commit().await
    }

    async fn user_row(&self, name: &str) -> Result<Option<UserRow>> {
        Ok(sqlx::query_as(
            "SELECT id, name, role, org_id, password_hash, must_change_password, failed_logins, locked_until, lang, disabled, \
                 totp_enabled FROM users WHERE name = $1",
        )
        .bind(name.to_string())
        .fetch_optional(self.pool())
        .await?)
    }

    /// Try to sign in. Failures count towards the lockout; a locked account is refused even with
    /// the right password.
    pub async fn login(&self, name: &str, password: &str, source: Option<String>) -> Result<Login> {
        self.login_at(name, password, source, Utc::now()).await
    }

    /// [`Store::login`] at a given time (tests move the clock instead of waiting).
    pub async fn login_at(
        &self,
        name: &str,
        password: &str,
        source: Option<String>,
        at: DateTime<Utc>,
    ) -> Result<Login> {
        let policy = self.policy().await?;
        let throttled = self.throttled(source.as_deref(), at).await?;
        let Some((id, uname, role, org, hash, must, _failed, locked, lang, disabled, totp)) =
            self.user_row(name).await?
        else {
            let actor = crate::totp::unknown_actor(source.clone());
            if throttled {
                return self.refuse_throttled(&actor, None).await.map(|()| Login::Throttled);
            }
            // Spend the same effort as for a real user, so timing does not tell who exists.
            let _ =
                verify_password("$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$aW52YWxpZGludmFsaWRpbnZhbGlk", password);
            let mut tx = self.begin_audited(&actor).await?;
            crate::totp::note_failure(&mut tx, source.as_deref(), at).await?;
            tx.audit("login_failed", "users", None, None, Some(json!({ "unknown_user": true }))).await?;
            tx.commit().await?;
            return Ok(Login::Refused);
        };
        let uid = UserId::issued(id);
        let role = Role::parse(&role).map_err(|e| StoreError::Conflict(e.to_string()))?;
        let actor = Actor {
            user_id: Some(uid),
            name: uname.clone(),
            role,
            org_id: org.map(OrgId::issued),
            source: source.clone(),
        };
        if throttled {
            return self.refuse_throttled(&actor, Some(id)).await.map(|()| Login::Throttled);
        }
        if let Some(until) = locked.as_deref().and_then(parse_ts) {
            if until > at {
                let mut tx = self.begin_audited(&actor).await?;
                tx.audit("login_locked", "users", Some(id), None, None).await?;
                tx.commit().await?;
                return Ok(Login::Locked { until: ts(until) });
            }
        }
        if disabled != 0 || !verify_password(&hash, password) {
            let mut tx = self.begin_audited(&actor).await?;
            crate::totp::note_failure(&mut tx, source.as_deref(), at).await?;
            let (failed, until) = crate::totp::count_failure(&mut tx, id, &policy, at).await?;
            tx.audit("login_failed", "users", Some(id), None, Some(json!({ "failed_logins": failed }))).await?;
            if let Some(u) = &until {
                tx.audit("lock", "users", Some(id), None, Some(json!({ "locked_until": u }))).await?;
            }
            tx.commit().await?;
            return Ok(match until {
                Some(until) => Login::Locked { until },
                None => Login::Refused,
            });
        }
        let token = random_hex(32);
        let csrf = random_hex(32);
        let second_factor = SecondFactor::of(true, totp != 0, role);
        let pending = second_factor != SecondFactor::Done;
        let mut tx = self.begin_audited(&actor).await?;
        // The failure count starts again only once the sign-in is complete: while the second
        // factor is pending, the wrong codes still to come count on top of the earlier ones (a
        // correct password does not buy four more guesses at the 6-digit code).
        if !pending {
            sqlx::query("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = $1")
                .bind(id)
                .execute(&mut *tx.tx)
                .await?;
        }
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, csrf, created_at, last_seen_at, second_factor_pending) \
             VALUES ($1, $2, $3, $4, $4, $5)",
        )
        .bind(self.crypto().lookup_hash(&token))
        .bind(id)
        .bind(csrf.clone())
        .bind(ts(at))
        .bind(i64::from(pending))
        .execute(&mut *tx.tx)
        .await?;
        let after = match second_factor {
            SecondFactor::Done => None,
            SecondFactor::Code => Some(json!({ "second_factor": "code" })),
            SecondFactor::Enrol => Some(json!({ "second_factor": "enrol" })),
        };
        tx.audit("login", "users", Some(id), None, after).await?;
        tx.commit().await?;
        let user = SessionUser {
            user_id: uid,
            name: uname,
            role,
            org_id: org.map(OrgId::issued),
            lang,
            csrf,
            must_change_password: must != 0,
            second_factor,
        };
        Ok(Login::Ok { token, user })
    }

    /// The user of a live session, refreshing its idle clock; `None` when the token is unknown,
    /// ended, or idle longer than the policy allows (the session is then ended).
    pub async fn session(&self, token: &str) -> Result<Option<SessionUser>> {
        self.session_at(token, Utc::now()).await
    }

    pub async fn session_at(&self, token: &str, at: DateTime<Utc>) -> Result<Option<SessionUser>> {
        let h = self.crypto().lookup_hash(token);
        let row: Option<SessionRow> = sqlx::query_as(
            "SELECT u.id, u.name, u.role, u.org_id, u.lang, u.must_change_password, s.csrf, s.last_seen_at, \
                 s.ended_at, u.disabled, s.second_factor_pending, u.totp_enabled \
             FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1",
        )
        .bind(h.clone())
        .fetch_optional(self.pool())
        .await?;
        let Some((id, name, role, org, lang, must, csrf, seen, ended, disabled, pending, totp)) = row else {
            return Ok(None);
        };
        if ended.is_some() || disabled != 0 {
            return Ok(None);
        }
        let idle = Duration::minutes(self.policy().await?.idle_minutes);
        let last = parse_ts(&seen).unwrap_or(at);
        if at - last > idle {
            sqlx::query("UPDATE sessions SET ended_at = $1, recovery_enc = NULL WHERE token_hash = $2")
                .bind(ts(at))
                .bind(h)
                .execute(self.pool())
                .await?;
            return Ok(None);
        }
        sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2")
            .bind(ts(at))
            .bind(h)
            .execute(self.pool())
            .await?;
        let Ok(role) = Role::parse(&role) else { return Ok(None) };
        Ok(Some(SessionUser {
            user_id: UserId::issued(id),
            name,
            role,
            org_id: org.map(OrgId::issued),
            lang,
            csrf,
            must_change_password: must != 0,
            second_factor: SecondFactor::of(pending != 0, totp != 0, role),
        }))
    }

    /// End a session on the server (logout), audited.
    pub async fn logout(&self, token: &str, user: &SessionUser) -> Result<()> {
        let mut tx = self.begin_audited(&user.actor(None)).await?;
        sqlx::query(
            "UPDATE sessions SET ended_at = $1, recovery_enc = NULL WHERE token_hash = $2 AND ended_at IS NULL",
        )
        .bind(now())
        .bind(self.crypto().lookup_hash(token))
        .execute(&mut *tx.tx)
        .await?;
        tx.audit("logout", "users", Some(user.user_id.get()), None, None).await?;
        tx.commit().await
    }

    /// Change one's own password: the old one must match, the new one meet the policy and
    /// differ from the old. Clears the forced-change flag.
    pub async fn change_password(&self, user: &SessionUser, old: &str, new: &str) -> Result<()> {
        let hash: String = sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
            .bind(user.user_id.get())
            .fetch_one(self.pool())
            .await?;
        if !verify_password(&hash, old) {
            return Err(Invalid::new("old_password", "原密码", "须与当前密码一致", "原密码不正确").into());
        }
        check_password(&user.name, new)?;
        if old == new {
            return Err(Invalid::new("new_password", "新密码", "新密码不得与原密码相同", "新密码与原密码相同").into());
        }
        let mut tx = self.begin_audited(&user.actor(None)).await?;
        sqlx::query("UPDATE users SET password_hash = $1, must_change_password = 0 WHERE id = $2")
            .bind(hash_password(new)?)
            .bind(user.user_id.get())
            .execute(&mut *tx.tx)
            .await?;
        tx.audit(
            "change_password",
            "users",
            Some(user.user_id.get()),
            Some(json!({ "must_change_password": user.must_change_password })),
            Some(json!({ "must_change_password": false })),
        )
        .await?;
        tx.commit().await
    }

    /// Remember the user's language (`zh` or `en`).
    pub async fn set_lang(&self, user: &SessionUser, lang: &str) -> Result<()> {
        let lang = if lang == "en" { "en" } else { "zh" };
        let mut tx = self.begin_audited(&user.actor(None)).await?;
        sqlx::query("UPDATE users SET lang = $1 WHERE id = $2")
            .bind(lang)
            .bind(user.user_id.get())
            .execute(&mut *tx.tx)
            .await?;
        tx.audit(
            "update",
            "users",
            Some(user.user_id.get()),
            Some(json!({ "lang": user.lang })),
            Some(json!({ "lang": lang })),
        )
        .await?;
        tx.commit().await
    }
}

/// Sign a user out everywhere, in the caller's audited transaction: every live session ends
/// (with any recovery codes waiting to be shown) and every API token is revoked. A role change
/// and a second-factor reset do this.
pub(crate) async fn end_all(tx: &mut crate::write::Tx<'_>, user: UserId) -> Result<()> {
    sqlx::query("UPDATE sessions SET ended_at = $1, recovery_enc = NULL WHERE user_id = $2 AND ended_at IS NULL")
        .bind(crate::write::now())
        .bind(user.get())
        .execute(&mut *tx.tx)
        .await?;
    crate::tokens::revoke_all(tx, user).await
}
