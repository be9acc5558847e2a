//! Who does a thing, and the record of what they did.

use crate::ids::{OrgId, UserId};
use crate::users::Role;
use serde::Serialize;

/// The author of a write or the reader of a figure. The CLI acts as the `system` actor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Actor {
    pub user_id: Option<UserId>,
    pub name: String,
    pub role: Role,
    /// The organization the actor is scoped to (None: the whole program).
    pub org_id: Option<OrgId>,
    /// Source address, when a request brought it.
    pub source: Option<String>,
}

impl Actor {
    /// The command line and the demo loader: a manager of everything, named `system`.
    pub fn system() -> Actor {
        Actor { user_id: None, name: "system".into(), role: Role::Manager, org_id: None, source: None }
    }
}

/// One audit entry as read back.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    /// UTC, RFC 3339.
    pub at: String,
    pub actor: String,
    pub action: String,
    pub object_type: String,
    pub object_id: Option<i64>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    /// The source address of the request, when one brought it.
    pub source: Option<String>,
    /// `ok` or `failed` (a refused login, a denied read): see [`outcome_of`].
    pub outcome: String,
}

/// Actions that record a refusal rather than a change: their entries say `failed`.
pub const FAILED_ACTIONS: &[&str] =
    &["login_failed", "login_locked", "login_throttled", "read_denied", "totp_failed", "recovery_code_failed"];

/// The outcome an entry of `action` records: `failed` for a refusal, `ok` for everything else.
pub fn outcome_of(action: &str) -> &'static str {
    if FAILED_ACTIONS.contains(&action) {
        "failed"
    } else {
        "ok"
    }
}

/// How long an audit entry is kept at the least (网络安全法 第二十一条: logs kept no less than
/// six months): a retention run never removes an entry younger than this.
pub const MIN_RETENTION_DAYS: u32 = 180;
