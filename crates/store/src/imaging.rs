//! The remote imaging centre in the store: the studies learnt of from the PACS (table
//! `imaging_studies`, migration 0012) and how far its change feed has been read (`settings`,
//! `pacs_changes_seq`). `services::pacs` is the one boundary to the PACS; it reads the feed and
//! writes here through [`Tx::record_study`] and [`Tx::study_deleted`], each change audited, and the
//! feed's position in the same transaction, so that a crash neither loses nor repeats a change.

use crate::error::{Result, StoreError};
use crate::{Store, Tx};
use serde::Serialize;
use serde_json::Value;

const CURSOR: &str = "pacs_changes_seq";

/// A study as the PACS describes it (no pixel data, no patient identifiers).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StudySeen {
    pub pacs_id: String,
    pub study_uid: String,
    pub accession: Option<String>,
    /// ISO date.
    pub study_date: Option<String>,
    pub description: Option<String>,
    pub institution: Option<String>,
    /// Distinct, sorted, comma-separated.
    pub modalities: String,
    pub body_parts: String,
    pub series_count: i64,
    pub instance_count: i64,
    /// The PACS has declared it stable: its images are complete.
    pub stable: bool,
}

/// A study as kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Study {
    pub id: i64,
    pub pacs_id: String,
    pub study_uid: String,
    pub accession: Option<String>,
    pub study_date: Option<String>,
    pub description: Option<String>,
    pub institution: Option<String>,
    pub modalities: String,
    pub body_parts: String,
    pub series_count: i64,
    pub instance_count: i64,
    /// `receiving`, `complete` or `deleted`.
    pub state: String,
    pub first_seen_at: String,
    pub complete_at: Option<String>,
    pub updated_at: String,
}

/// What recording a study did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    Created,
    Updated,
    Unchanged,
}

const COLUMNS: &str = "id, pacs_id, study_uid, accession, study_date, description, institution, modalities, \
                       body_parts, series_count, instance_count, state, first_seen_at, complete_at, updated_at";

fn study_of(r: &sqlx::any::AnyRow) -> Result<Study> {
    use sqlx::Row;
    Ok(Study {
        id: r.try_get(0)?,
        pacs_id: r.try_get(1)?,
        study_uid: r.try_get(2)?,
        accession: r.try_get(3)?,
        study_date: r.try_get(4)?,
        description: r.try_get(5)?,
        institution: r.try_get(6)?,
        modalities: r.try_get(7)?,
        body_parts: r.try_get(8)?,
        series_count: r.try_get(9)?,
        instance_count: r.try_get(10)?,
        state: r.try_get(11)?,
        first_seen_at: r.try_get(12)?,
        complete_at: r.try_get(13)?,
        updated_at: r.try_get(14)?,
    })
}

impl Store {
    /// The studies learnt of, newest first (at most `limit`).
    pub async fn imaging_studies(&self, limit: i64) -> Result<Vec<Study>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM imaging_studies ORDER BY first_seen_at DESC, id DESC LIMIT $1"
        ))
        .bind(limit.clamp(1, 10_000))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(study_of).collect()
    }

    /// One study by its DICOM StudyInstanceUID.
    pub async fn imaging_study_by_uid(&self, uid: &str) -> Result<Option<Study>> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM imaging_studies WHERE study_uid = $1"))
            .bind(uid)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(study_of).transpose()
    }

    /// How far the PACS's change feed has been read (0 before the first read).
    pub async fn pacs_cursor(&self) -> Result<i64> {
        let v = crate::consults::setting(&mut *self.pool().acquire().await?, CURSOR).await?;
        Ok(v.and_then(|v| v.parse().ok()).unwrap_or(0))
    }
}

impl Tx<'_> {
    /// Record what the PACS says of a study: created when new, updated when anything changed
    /// (a study declared stable becomes `complete`, with the time), audited either way; nothing
    /// is written when nothing changed.
    pub async fn record_study(&mut self, s: &StudySeen) -> Result<Recorded> {
        self.live()?;
        let r = self.record_study_step(s).await;
        self.note(r)
    }

    async fn record_study_step(&mut self, s: &StudySeen) -> Result<Recorded> {
        for (field, label, v) in [("pacs_id", "PACS 检查编号", &s.pacs_id), ("study_uid", "检查实例 UID", &s.study_uid)]
        {
            if v.trim().is_empty() || v.len() > 128 {
                return Err(StoreError::Invalid(domain::Invalids(vec![domain::Invalid::new(
                    field,
                    label,
                    "非空且不超过 128 个字符",
                    format!("“{v}”"),
                )])));
            }
        }
        let now = self.now();
        let id: Option<i64> = sqlx::query_scalar("SELECT id FROM imaging_studies WHERE pacs_id = $1")
            .bind(&s.pacs_id)
            .fetch_optional(&mut *self.tx)
            .await?;
        let state = if s.stable { "complete" } else { "receiving" };
        let Some(id) = id else {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO imaging_studies (pacs_id, study_uid, accession, study_date, description, institution, \
                 modalities, body_parts, series_count, instance_count, state, first_seen_at, complete_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $12) RETURNING id",
            )
            .bind(&s.pacs_id)
            .bind(&s.study_uid)
            .bind(&s.accession)
            .bind(&s.study_date)
            .bind(&s.description)
            .bind(&s.institution)
            .bind(&s.modalities)
            .bind(&s.body_parts)
            .bind(s.series_count)
            .bind(s.instance_count)
            .bind(state)
            .bind(&now)
            .bind(s.stable.then(|| now.clone()))
            .fetch_one(&mut *self.tx)
            .await
            .map_err(|e| crate::error::explain(e, "影像检查"))?;
            let after = self.row_json("imaging_studies", id).await?.map(Value::Object);
            self.audit_step("pacs_study_seen", "imaging_studies", Some(id), None, after).await?;
            return Ok(Recorded::Created);
        };
        let before = self.row_json("imaging_studies", id).await?.map(Value::Object);
        let old = sqlx::query(&format!("SELECT {COLUMNS} FROM imaging_studies WHERE id = $1"))
            .bind(id)
            .fetch_one(&mut *self.tx)
            .await?;
        let old = study_of(&old)?;
        let same = old.study_uid == s.study_uid
            && old.accession == s.accession
            && old.study_date == s.study_date
            && old.description == s.description
            && old.institution == s.institution
            && old.modalities == s.modalities
            && old.body_parts == s.body_parts
            && old.series_count == s.series_count
            && old.instance_count == s.instance_count
            && old.state == state;
        if same {
            return Ok(Recorded::Unchanged);
        }
        // Complete once: the time it first became complete is kept when it is seen complete again.
        let complete_at = match (s.stable, old.complete_at) {
            (true, Some(at)) if old.state == "complete" => Some(at),
            (true, _) => Some(now.clone()),
            (false, _) => None,
        };
        sqlx::query(
            "UPDATE imaging_studies SET study_uid = $1, accession = $2, study_date = $3, description = $4, \
             institution = $5, modalities = $6, body_parts = $7, series_count = $8, instance_count = $9, state = $10, \
             complete_at = $11, updated_at = $12 WHERE id = $13",
        )
        .bind(&s.study_uid)
        .bind(&s.accession)
        .bind(&s.study_date)
        .bind(&s.description)
        .bind(&s.institution)
        .bind(&s.modalities)
        .bind(&s.body_parts)
        .bind(s.series_count)
        .bind(s.instance_count)
        .bind(state)
        .bind(complete_at)
        .bind(&now)
        .bind(id)
        .execute(&mut *self.tx)
        .await
        .map_err(|e| crate::error::explain(e, "影像检查"))?;
        let after = self.row_json("imaging_studies", id).await?.map(Value::Object);
        self.audit_step("pacs_study_seen", "imaging_studies", Some(id), before, after).await?;
        Ok(Recorded::Updated)
    }

    /// The PACS removed a study: it is kept, marked `deleted` (audited); false when it was not
    /// known or already marked.
    pub async fn study_deleted(&mut self, pacs_id: &str) -> Result<bool> {
        self.live()?;
        let r = async {
            let id: Option<i64> =
                sqlx::query_scalar("SELECT id FROM imaging_studies WHERE pacs_id = $1 AND state <> 'deleted'")
                    .bind(pacs_id)
                    .fetch_optional(&mut *self.tx)
                    .await?;
            let Some(id) = id else { return Ok(false) };
            let before = self.row_json("imaging_studies", id).await?.map(Value::Object);
            sqlx::query("UPDATE imaging_studies SET state = 'deleted', updated_at = $1 WHERE id = $2")
                .bind(self.now())
                .bind(id)
                .execute(&mut *self.tx)
                .await?;
            let after = self.row_json("imaging_studies", id).await?.map(Value::Object);
            self.audit_step("pacs_study_deleted", "imaging_studies", Some(id), before, after).await?;
            Ok(true)
        }
        .await;
        self.note(r)
    }

    /// Move the change feed's position forward (never back) in this transaction.
    pub async fn set_pacs_cursor(&mut self, seq: i64) -> Result<()> {
        self.live()?;
        let r = async {
            let v = crate::consults::setting(&mut self.tx, CURSOR).await?;
            let old: i64 = v.as_deref().and_then(|v| v.parse().ok()).unwrap_or(0);
            if seq < old {
                return Err(StoreError::Integrity(format!("PACS 变更序号不能后退：{old} → {seq}")));
            }
            self.put_setting(CURSOR, &seq.to_string()).await?;
            Ok(())
        }
        .await;
        self.note(r)
    }
}
