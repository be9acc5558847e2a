//! Projects: the status history drives the project's current status.

use crate::error::{Result, StoreError};
use crate::write::Tx;
use domain::ids::StatusEventId;
use domain::projects::{status_rank, NewStatusEvent, STATUSES};
use domain::{Invalid, Val};

impl Tx<'_> {
    /// Record a status step (立项 → 开工 → 完工 → 验收). A step may not be skipped, repeated or dated
    /// before the previous step.
    pub async fn add_status(&mut self, ev: &NewStatusEvent) -> Result<StatusEventId> {
        self.live()?;
        let r = self.add_status_step(ev).await;
        self.note(r)
    }

    async fn add_status_step(&mut self, ev: &NewStatusEvent) -> Result<StatusEventId> {
        let cur: Option<(String, Option<String>)> = sqlx::query_as(&format!(
            "SELECT status, status_date FROM projects WHERE id = $1{}",
            self.store.backend().lock_row()
        ))
        .bind(ev.project_id.get())
        .fetch_optional(&mut *self.tx)
        .await?;
        let (status, date) = cur.ok_or(StoreError::NotFound { what: "项目", id: ev.project_id.to_string() })?;
        let new = status_rank(ev.status).unwrap_or(usize::MAX);
        // The next step: 立项 first, then each following step in turn, none skipped or repeated.
        let next = match &date {
            None => 0,
            Some(_) => status_rank(&status).map_or(0, |r| r + 1),
        };
        if new != next {
            let (_, want) = STATUSES.get(next).copied().unwrap_or(("", "（已验收，无后续状态）"));
            let shown = label_of(ev.status);
            let message = match &date {
                None => format!("项目尚无状态记录，第一步须为“立项”，不能是“{shown}”"),
                Some(_) => format!("项目当前为“{}”，下一步须为“{want}”，不能是“{shown}”", label_of(&status)),
            };
            return Err(Invalid::new("status", "项目状态", "状态只能依次推进：立项→开工→完工→验收", message).into());
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
        let id = self.insert_step(ev).await?;
        self.set_column(
            "projects",
            ev.project_id.get(),
            &[("status", Val::Text(Some(ev.status.to_string()))), ("status_date", ev.date.into())],
        )
        .await?;
        Ok(id)
    }
}

fn label_of(status: &str) -> &str {
    STATUSES.iter().find(|(c, _)| *c == status).map_or(status, |(_, l)| l)
}
