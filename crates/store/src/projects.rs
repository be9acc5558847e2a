//! Projects: the status history drives the project's current status.

use crate::error::{Result, StoreError};
use crate::write::Tx;
use domain::projects::{status_rank, NewStatusEvent};
use domain::{Invalid, Val};

impl Tx<'_> {
    /// Record a status step (立项 → 开工 → 完工 → 验收). A step may not go backwards nor be dated
    /// before the previous step.
    pub async fn add_status(&mut self, ev: &NewStatusEvent) -> Result<i64> {
        let cur: Option<(String, Option<String>)> =
            sqlx::query_as("SELECT status, status_date FROM projects WHERE id = $1")
                .bind(ev.project_id)
                .fetch_optional(&mut *self.tx)
                .await?;
        let (status, date) = cur.ok_or(StoreError::NotFound { what: "项目", id: ev.project_id.to_string() })?;
        let (old, new) = (status_rank(&status).unwrap_or(0), status_rank(ev.status).unwrap_or(0));
        if date.is_some() && new <= old {
            return Err(Invalid::new(
                "status",
                "项目状态",
                "状态只能依次推进：立项→开工→完工→验收",
                format!("项目已是“{status}”，不能改为“{}”", ev.status),
            )
            .into());
        }
        if let Some(d) = &date {
            if ev.date.to_string() < *d {
                return Err(Invalid::new(
                    "date",
                    "状态日期",
                    "状态日期不得早于上一状态日期",
                    format!("{} 早于上一状态日期 {d}", ev.date),
                )
                .into());
            }
        }
        let id = self.insert(ev).await?;
        self.set_column(
            "projects",
            ev.project_id,
            &[("status", Val::Text(Some(ev.status.to_string()))), ("status_date", ev.date.into())],
        )
        .await?;
        Ok(id)
    }
}
