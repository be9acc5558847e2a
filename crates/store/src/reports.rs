//! Report templates (versioned) and generated reports. Writes go through `Tx` like any record,
//! so each new version and each generated report is audited.

use crate::error::{Result, StoreError};
use crate::Store;

/// A template's current version.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateRow {
    pub key: String,
    pub version: i64,
    pub name: String,
    pub body: String,
}

/// A generated report, as listed.
#[derive(Debug, Clone, PartialEq)]
pub struct GeneratedRow {
    pub id: i64,
    pub template_key: String,
    pub version: i64,
    pub period_from: String,
    pub period_to: String,
    pub scope: String,
    pub generated_by: String,
}

type TRow = (String, i64, String, String);

impl Store {
    /// The current (highest) version of every template, by key.
    pub async fn templates(&self) -> Result<Vec<TemplateRow>> {
        let rows: Vec<TRow> = sqlx::query_as(
            "SELECT t.key, t.version, t.name, t.body FROM report_templates t \
             WHERE t.version = (SELECT MAX(v.version) FROM report_templates v WHERE v.key = t.key) ORDER BY t.key",
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(|(key, version, name, body)| TemplateRow { key, version, name, body }).collect())
    }

    /// A template's current version, or a given one.
    pub async fn template(&self, key: &str, version: Option<i64>) -> Result<TemplateRow> {
        let row: Option<TRow> = match version {
            Some(v) => {
                sqlx::query_as("SELECT key, version, name, body FROM report_templates WHERE key = $1 AND version = $2")
                    .bind(key.to_string())
                    .bind(v)
                    .fetch_optional(self.pool())
                    .await?
            }
            None => sqlx::query_as(
                "SELECT key, version, name, body FROM report_templates WHERE key = $1 ORDER BY version DESC LIMIT 1",
            )
            .bind(key.to_string())
            .fetch_optional(self.pool())
            .await?,
        };
        let (key, version, name, body) =
            row.ok_or(StoreError::NotFound { what: "报告模板", id: key.to_string() })?;
        Ok(TemplateRow { key, version, name, body })
    }

    /// The versions of a template, newest first: (version, id of its row).
    pub async fn template_versions(&self, key: &str) -> Result<Vec<(i64, i64)>> {
        Ok(sqlx::query_as("SELECT version, id FROM report_templates WHERE key = $1 ORDER BY version DESC")
            .bind(key.to_string())
            .fetch_all(self.pool())
            .await?)
    }

    /// Generated reports, newest first.
    pub async fn generated_reports(&self, limit: i64) -> Result<Vec<GeneratedRow>> {
        let rows: Vec<(i64, String, i64, String, String, String, String)> = sqlx::query_as(
            "SELECT id, template_key, version, period_from, period_to, scope, generated_by FROM generated_reports \
             ORDER BY id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, template_key, version, period_from, period_to, scope, generated_by)| GeneratedRow {
                id,
                template_key,
                version,
                period_from,
                period_to,
                scope,
                generated_by,
            })
            .collect())
    }

    /// A generated report's evaluated content (JSON).
    pub async fn generated_report(&self, id: i64) -> Result<String> {
        sqlx::query_scalar("SELECT rendered FROM generated_reports WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound { what: "已生成报告", id: id.to_string() })
    }
}

/// An indicator's baseline and target for an organization: (indicator code, organization code,
/// organization name, baseline period, baseline, target period, target), raw stored values.
pub type TargetRow = (String, String, String, String, i64, String, i64);

impl Store {
    /// Every indicator target with its organization.
    pub async fn indicator_targets(&self) -> Result<Vec<TargetRow>> {
        Ok(sqlx::query_as(
            "SELECT t.indicator_code, o.code, o.name, t.baseline_period, t.baseline, t.target_period, t.target \
             FROM indicator_targets t JOIN organizations o ON o.id = t.org_id ORDER BY t.indicator_code, o.path",
        )
        .fetch_all(self.pool())
        .await?)
    }

    /// The top organizations (no parent): (code, name).
    pub async fn root_orgs(&self) -> Result<Vec<(String, String)>> {
        Ok(sqlx::query_as("SELECT code, name FROM organizations WHERE parent_id IS NULL ORDER BY side, path")
            .fetch_all(self.pool())
            .await?)
    }

    /// Indicator definitions: (code, name, unit, scale).
    pub async fn indicator_list(&self) -> Result<Vec<(String, String, String, i64)>> {
        Ok(sqlx::query_as("SELECT code, name, unit, scale FROM indicator_defs ORDER BY id")
            .fetch_all(self.pool())
            .await?)
    }
}
