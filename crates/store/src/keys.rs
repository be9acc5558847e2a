//! Rotating the key of personal data.
//!
//! Every encrypted column (`X_enc`, SM4-GCM) of every table is decrypted with the current key and
//! encrypted again with the new one, its lookup hash (`X_hash`, HMAC-SM3) recomputed from the
//! clear value, and the database's key fingerprint replaced: in one transaction, audited as one
//! `key_rotate` entry (which records the two fingerprints and the counts, never a value). Keyed
//! hashes of random secrets cannot be recomputed (the secret is not kept): sessions are ended and
//! API tokens revoked, each revocation audited, and their owners sign in or create a token again.

use crate::backup::tables;
use crate::error::{Result, StoreError};
use crate::{Crypto, Store};
use domain::audit::Actor;
use domain::users::Role;
use serde_json::json;

/// What a rotation changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Rotated {
    pub old_fingerprint: String,
    pub new_fingerprint: String,
    /// Values encrypted again.
    pub values: i64,
    pub sessions_ended: i64,
    pub tokens_revoked: i64,
}

impl Store {
    /// Re-encrypt every personal identifier under `new` in one transaction. The store keeps
    /// working with its old key until it is opened again with the new one; the caller puts the
    /// new key in place (see the `key rotate` command).
    pub async fn rotate_key(&self, actor: &Actor, new: &Crypto) -> Result<Rotated> {
        if actor.user_id.is_some() && !matches!(actor.role, Role::SecAdmin) {
            return Err(StoreError::Forbidden("只有安全管理员或命令行可以轮换密钥".into()));
        }
        let old = self.crypto().clone();
        if old.fingerprint() == new.fingerprint() {
            return Err(StoreError::Config("新密钥与当前密钥相同".into()));
        }
        let mut tx = self.begin_audited(actor).await?;
        let mut r = Rotated {
            old_fingerprint: old.fingerprint().to_string(),
            new_fingerprint: new.fingerprint().to_string(),
            ..Default::default()
        };
        for table in tables() {
            let cols: Vec<(String, String)> =
                sqlx::query_as(self.backend().columns_of()).bind(table.clone()).fetch_all(&mut *tx.tx).await?;
            let names: Vec<&str> = cols.iter().map(|(n, _)| n.as_str()).collect();
            for enc in names.iter().filter(|n| n.ends_with("_enc")) {
                let base = &enc[..enc.len() - 4];
                let hash = format!("{base}_hash");
                let with_hash = names.contains(&hash.as_str());
                let with = format!("UPDATE {table} SET {enc} = $1, {hash} = $2 WHERE id = $3");
                let without = format!("UPDATE {table} SET {enc} = $1 WHERE id = $2");
                let rows: Vec<(i64, String)> =
                    sqlx::query_as(&format!("SELECT id, {enc} FROM {table} WHERE {enc} IS NOT NULL ORDER BY id"))
                        .fetch_all(&mut *tx.tx)
                        .await?;
                for (id, stored) in rows {
                    let clear = old.decrypt(&stored)?;
                    let again = new.encrypt(&clear)?;
                    let q = if with_hash {
                        sqlx::query(&with).bind(again).bind(new.lookup_hash(&clear)).bind(id)
                    } else {
                        sqlx::query(&without).bind(again).bind(id)
                    };
                    q.execute(&mut *tx.tx).await?;
                    r.values += 1;
                }
            }
        }
        let now = crate::write::now();
        r.sessions_ended = sqlx::query("UPDATE sessions SET ended_at = $1, recovery_enc = NULL WHERE ended_at IS NULL")
            .bind(now.clone())
            .execute(&mut *tx.tx)
            .await?
            .rows_affected() as i64;
        let owners: Vec<i64> =
            sqlx::query_scalar("SELECT DISTINCT user_id FROM api_tokens WHERE revoked_at IS NULL ORDER BY user_id")
                .fetch_all(&mut *tx.tx)
                .await?;
        r.tokens_revoked = sqlx::query_scalar("SELECT COUNT(*) FROM api_tokens WHERE revoked_at IS NULL")
            .fetch_one(&mut *tx.tx)
            .await?;
        for user in owners {
            crate::tokens::revoke_all(&mut tx, domain::ids::UserId::issued(user)).await?;
        }
        sqlx::query("UPDATE settings SET value = $1 WHERE key = 'key_fingerprint'")
            .bind(new.fingerprint().to_string())
            .execute(&mut *tx.tx)
            .await?;
        tx.audit(
            "key_rotate",
            "settings",
            None,
            Some(json!({ "key_fingerprint": r.old_fingerprint })),
            Some(serde_json::to_value(&r)?),
        )
        .await?;
        tx.commit().await?;
        Ok(r)
    }
}
