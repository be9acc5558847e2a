//! People: personal identifiers are stored encrypted; reads return the masked form unless the
//! caller's role may see them, and every clear read is audited.

use crate::error::{Result, StoreError};
use crate::row::to_json;
use crate::Store;
use domain::audit::Actor;
use domain::ids::PersonId;
use domain::people::{IdNumber, Reveal};
use serde_json::{Map, Value};
use sqlx::Row;

impl Store {
    /// A person, with identifiers masked or, when `reveal` is `Clear` and the actor's role
    /// allows it, in clear (the clear read is audited).
    pub async fn person(&self, actor: &Actor, id: PersonId, reveal: Reveal) -> Result<Option<Map<String, Value>>> {
        let row = sqlx::query("SELECT * FROM people WHERE id = $1").bind(id.get()).fetch_optional(self.pool()).await?;
        let Some(row) = row else { return Ok(None) };
        let mut m = to_json(&row);
        if reveal == Reveal::Clear {
            if !actor.role.may_see_personal() {
                return Err(StoreError::Forbidden(format!("角色“{}”不能查看完整个人信息", actor.role.label())));
            }
            for field in ["id_number", "phone"] {
                let enc: Option<String> = row.try_get(format!("{field}_enc").as_str())?;
                if let Some(enc) = enc {
                    m.insert(field.into(), Value::from(self.crypto().decrypt(&enc)?));
                }
            }
            let mut tx = self.begin_audited(actor).await?;
            tx.audit("view_personal", "people", Some(id.get()), None, None).await?;
            tx.commit().await?;
        }
        Ok(Some(m))
    }

    /// Find people by exact identity number, through the keyed hash (the clear value is never
    /// compared in SQL).
    pub async fn people_by_id_number(&self, id_number: &IdNumber) -> Result<Vec<PersonId>> {
        let h = self.crypto().lookup_hash(id_number.expose());
        let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM people WHERE id_number_hash = $1 ORDER BY id")
            .bind(h)
            .fetch_all(self.pool())
            .await?;
        Ok(ids.into_iter().map(PersonId::issued).collect())
    }
}
