//! The one write path. A [`Tx`] is a database transaction bound to an actor: each insert, update
//! or delete checks the record's rules and references, writes it, and appends the audit entry
//! (who, when, object, before, after) in the same transaction. Nothing is visible until commit;
//! an error drops the transaction and nothing of it is written.
//!
//! Once any step of a `Tx` has failed, the `Tx` is spent: further writes and `commit` return
//! [`StoreError::Aborted`]. Both backends thus behave alike (PostgreSQL aborts a transaction on
//! the first error and would silently roll back on COMMIT; SQLite would keep the earlier steps).

use crate::error::{explain, Result, StoreError};
use crate::row::to_json;
use crate::Store;
use domain::audit::Actor;
use domain::{Entity, Id, Invalid, Invalids, Kind, Val};
use serde_json::{Map, Value};
use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, Transaction};

pub(crate) fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

pub struct Tx<'s> {
    pub(crate) tx: Transaction<'static, Any>,
    pub(crate) store: &'s Store,
    pub(crate) actor: Actor,
    /// References already seen to exist in this transaction (cleared by any delete).
    known: std::collections::HashSet<String>,
    /// Set by the first failed step; a failed transaction cannot be committed.
    failed: bool,
    /// Updates that wrote back exactly what was stored (no audit entry: nothing changed).
    unchanged: usize,
    /// Changes of the activity rollups, written before commit (see [`crate::rollups`]).
    rollup: crate::rollups::Pending,
    /// The audit chain's head as this transaction found it, advanced by each entry it appends
    /// (written back to `audit_chain` before commit; see [`crate::audit`]).
    chain: (i64, String),
    chain_moved: bool,
    /// The reporting cycle's schedules and locked periods as read in this transaction.
    pub(crate) cache: crate::reporting::TxCache,
    /// The time the imaging centre's steps are stamped with, when not now: see [`Tx::backdate`].
    clock: Option<chrono::DateTime<chrono::Utc>>,
}

/// Columns as bound, and the record as the audit shows it (secrets masked).
type Expanded = (Vec<(String, Bound)>, Map<String, Value>);

/// A column as bound: the name and value, after secrets were expanded.
pub(crate) enum Bound {
    Int(Option<i64>),
    Text(Option<String>),
}

pub(crate) fn bind<'q>(q: Query<'q, Any, AnyArguments<'q>>, v: &Val) -> Query<'q, Any, AnyArguments<'q>> {
    match v {
        Val::Int(i) => q.bind(*i),
        Val::Text(t) => q.bind(t.clone()),
        Val::Secret(_) => q.bind(Option::<String>::None),
    }
}

/// A record's columns as plain JSON values (secrets left out), for scope checks.
fn plain(cols: &[(&'static str, Val)]) -> Map<String, Value> {
    cols.iter()
        .filter_map(|(n, v)| match v {
            Val::Int(i) => Some((n.to_string(), i.map(Value::from).unwrap_or(Value::Null))),
            Val::Text(t) => Some((n.to_string(), t.clone().map(Value::from).unwrap_or(Value::Null))),
            Val::Secret(_) => None,
        })
        .collect()
}

/// Tables whose rows carry derived state kept by their own write path: an organization's
/// materialised path (`insert_org`/`update_org`), a project's status history (`add_status`).
fn owned_guard(table: &str, deleting: bool) -> Result<()> {
    match table {
        "organizations" if !deleting => {
            Err(StoreError::Forbidden("单位须经 insert_org / update_org 写入，以维护单位层级".into()))
        }
        "project_status_events" => Err(StoreError::Forbidden(domain::forms::HISTORY_ONLY_WHY.into())),
        _ => Ok(()),
    }
}

/// Built-in types ship with the schema (seeded by the migrations): they are not edited or
/// deleted, so every installation keeps them.
fn builtin_guard(before: &Map<String, Value>) -> Result<()> {
    if before.get("builtin").and_then(Value::as_i64) == Some(1) {
        return Err(StoreError::Forbidden(
            "系统内置的类型随系统提供，不能修改或删除；如需不同的类型，请新建自定义类型".into(),
        ));
    }
    Ok(())
}

impl Store {
    /// Open a write transaction for `actor`.
    pub async fn write(&self, actor: &Actor) -> Result<Tx<'_>> {
        if !actor.role.writes_records() {
            return Err(StoreError::Forbidden(format!("角色“{}”不能修改业务数据", actor.role.label())));
        }
        self.begin_audited(actor).await
    }

    /// A transaction for the store's own audited bookkeeping (logins, sessions, settings), open
    /// to any role; business records go through [`Store::write`].
    pub(crate) async fn begin_audited(&self, actor: &Actor) -> Result<Tx<'_>> {
        let tx = self.pool().begin_with(self.backend().begin_write()).await?;
        Tx::adopt(self, tx, actor).await
    }
}

impl<'s> Tx<'s> {
    /// Stamp the remote imaging centre's steps in this transaction (requests, routing, reports,
    /// critical results, studies as learnt) with `at` instead of now: for loading a past year of
    /// records as they happened (the demo). The audit entries keep the time they were written.
    /// Nothing a user can reach calls it.
    pub fn backdate(&mut self, at: chrono::DateTime<chrono::Utc>) {
        self.clock = Some(at);
    }

    /// Now, or the time set by [`Tx::backdate`].
    pub(crate) fn clock(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.unwrap_or_else(chrono::Utc::now)
    }

    /// [`Tx::clock`] as stored (RFC 3339, UTC, milliseconds).
    pub(crate) fn now(&self) -> String {
        self.clock().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    }

    /// A `Tx` over a write transaction already open (a restore that loaded rows first).
    pub(crate) async fn adopt(store: &'s Store, mut tx: Transaction<'static, Any>, actor: &Actor) -> Result<Tx<'s>> {
        // The chain's head first, before any other row: on PostgreSQL the lock serialises the
        // appends, and taking it first keeps two writers from waiting on each other.
        let chain: (i64, String) =
            sqlx::query_as(&format!("SELECT seq, hash FROM audit_chain WHERE id = 1{}", store.backend().lock_row()))
                .fetch_one(&mut *tx)
                .await?;
        Ok(Tx {
            tx,
            store,
            actor: actor.clone(),
            known: Default::default(),
            failed: false,
            unchanged: 0,
            rollup: Default::default(),
            chain,
            chain_moved: false,
            clock: None,
            cache: Default::default(),
        })
    }
}

impl Store {
    /// Insert one record in its own transaction.
    pub async fn insert<E: Entity>(&self, actor: &Actor, e: &E) -> Result<Id<E::Kind>> {
        let mut tx = self.write(actor).await?;
        let id = tx.insert(e).await?;
        tx.commit().await?;
        Ok(id)
    }
}

impl<'s> Tx<'s> {
    /// Commit, unless a step of this transaction failed (then roll back and say so).
    pub async fn commit(mut self) -> Result<()> {
        if self.failed {
            self.tx.rollback().await?;
            return Err(StoreError::Aborted);
        }
        crate::rollups::flush(&mut self.tx, &mut self.rollup).await?;
        if self.chain_moved {
            sqlx::query("UPDATE audit_chain SET seq = $1, hash = $2 WHERE id = 1")
                .bind(self.chain.0)
                .bind(self.chain.1.clone())
                .execute(&mut *self.tx)
                .await?;
        }
        self.tx.commit().await?;
        Ok(())
    }

    /// Undo the whole transaction (a dry run, or an import that found errors).
    pub async fn rollback(self) -> Result<()> {
        self.tx.rollback().await?;
        Ok(())
    }

    /// Refuse to go on after a failed step.
    pub(crate) fn live(&self) -> Result<()> {
        if self.failed {
            Err(StoreError::Aborted)
        } else {
            Ok(())
        }
    }

    /// Record the outcome of a step: any error spends the transaction.
    pub(crate) fn note<T>(&mut self, r: Result<T>) -> Result<T> {
        if r.is_err() {
            self.failed = true;
        }
        r
    }

    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// How many updates in this transaction changed nothing.
    pub fn unchanged(&self) -> usize {
        self.unchanged
    }

    /// Mark a point this transaction can go back to ([`rollback_to`](Self::rollback_to)): an
    /// import that checks every row against the store (to report every refusal, not only the
    /// first) tries each row after a savepoint.
    pub async fn savepoint(&mut self) -> Result<()> {
        self.live()?;
        // Derived changes so far belong before the savepoint; those after it are undone with it.
        let r = crate::rollups::flush(&mut self.tx, &mut self.rollup).await;
        self.note(r)?;
        sqlx::query("SAVEPOINT cp_row").execute(&mut *self.tx).await?;
        Ok(())
    }

    /// Undo everything since the last [`savepoint`](Self::savepoint), a failed step included:
    /// the transaction can go on.
    pub async fn rollback_to(&mut self) -> Result<()> {
        sqlx::query("ROLLBACK TO SAVEPOINT cp_row").execute(&mut *self.tx).await?;
        // Rolled back to, a savepoint still stands: release it, or thousands of refused rows
        // would nest thousands of them.
        sqlx::query("RELEASE SAVEPOINT cp_row").execute(&mut *self.tx).await?;
        self.known.clear();
        self.rollup.clear();
        self.failed = false;
        Ok(())
    }

    /// Keep what was done since the last savepoint.
    pub async fn release(&mut self) -> Result<()> {
        self.live()?;
        sqlx::query("RELEASE SAVEPOINT cp_row").execute(&mut *self.tx).await?;
        Ok(())
    }

    fn expand(&self, cols: Vec<(&'static str, Val)>) -> Result<Expanded> {
        let mut out = Vec::new();
        let mut shown = Map::new();
        for (name, v) in cols {
            match v {
                Val::Int(i) => {
                    shown.insert(name.into(), i.map(Value::from).unwrap_or(Value::Null));
                    out.push((name.to_string(), Bound::Int(i)));
                }
                Val::Text(t) => {
                    shown.insert(name.into(), t.clone().map(Value::from).unwrap_or(Value::Null));
                    out.push((name.to_string(), Bound::Text(t)));
                }
                Val::Secret(s) => {
                    let c = self.store.crypto();
                    let (enc, hash, mask) = match &s {
                        Some(s) => (Some(c.encrypt(&s.clear)?), Some(c.lookup_hash(&s.clear)), Some(s.masked.clone())),
                        None => (None, None, None),
                    };
                    shown.insert(name.into(), mask.clone().map(Value::from).unwrap_or(Value::Null));
                    out.push((format!("{name}_enc"), Bound::Text(enc)));
                    out.push((format!("{name}_hash"), Bound::Text(hash)));
                    out.push((format!("{name}_mask"), Bound::Text(mask)));
                }
            }
        }
        Ok((out, shown))
    }

    /// Refuse references to rows that do not exist, naming the field.
    async fn check_references<E: Entity>(&mut self, e: &E) -> Result<()> {
        let mut errs = Invalids::default();
        for r in e.references() {
            if r.value.is_null() {
                continue;
            }
            let memo = format!("{}.{}={:?}&{:?}", r.table, r.key, r.value, r.also);
            if self.known.contains(&memo) {
                continue;
            }
            let mut sql = format!("SELECT COUNT(*) FROM {} WHERE {} = $1", r.table, r.key);
            if let Some((col, _)) = &r.also {
                sql.push_str(&format!(" AND {col} = $2"));
            }
            let mut q = bind(sqlx::query(&sql), &r.value);
            if let Some((_, v)) = &r.also {
                q = bind(q, v);
            }
            let n: i64 = q.fetch_one(&mut *self.tx).await.and_then(|row| sqlx::Row::try_get(&row, 0))?;
            if n > 0 {
                self.known.insert(memo);
            } else {
                let shown = match &r.value {
                    Val::Int(Some(i)) => i.to_string(),
                    Val::Text(Some(t)) => t.clone(),
                    _ => String::new(),
                };
                let message = match &r.also {
                    None => format!("{}“{shown}”不存在", r.label),
                    Some(_) => format!("{}“{shown}”不存在，或不适用于本记录", r.label),
                };
                errs.push(Invalid::new(r.column, r.label, format!("{}须为已登记的记录", r.label), message));
            }
        }
        errs.finish(|| ()).map_err(StoreError::Invalid)
    }

    async fn validate<E: Entity>(&mut self, e: &E) -> Result<()> {
        e.check().map_err(StoreError::Invalid)?;
        self.check_references(e).await
    }

    /// Insert a record; returns its id.
    pub async fn insert<E: Entity>(&mut self, e: &E) -> Result<Id<E::Kind>> {
        self.live()?;
        let r = match owned_guard(E::TABLE, false) {
            Ok(()) => self.insert_step(e).await,
            Err(e) => Err(e),
        };
        self.note(r)
    }

    pub(crate) async fn insert_step<E: Entity>(&mut self, e: &E) -> Result<Id<E::Kind>> {
        self.validate(e).await?;
        self.check_scope(E::TABLE, &plain(&e.columns())).await?;
        let (mut cols, mut shown) = self.expand(e.columns())?;
        self.reviewed_insert(E::TABLE, &mut cols, &mut shown).await?;
        let names: Vec<&str> = cols.iter().map(|(n, _)| n.as_str()).collect();
        let params: Vec<String> = (1..=cols.len()).map(|i| format!("${i}")).collect();
        let sql =
            format!("INSERT INTO {} ({}) VALUES ({}) RETURNING id", E::TABLE, names.join(", "), params.join(", "));
        let mut q = sqlx::query_scalar::<Any, i64>(&sql);
        for (_, b) in &cols {
            q = match b {
                Bound::Int(i) => q.bind(*i),
                Bound::Text(t) => q.bind(t.clone()),
            };
        }
        let id = q.fetch_one(&mut *self.tx).await.map_err(|e| explain(e, E::LABEL))?;
        let mut after = shown;
        after.insert("id".into(), Value::from(id));
        self.audit("create", E::TABLE, Some(id), None, Some(Value::Object(after))).await?;
        Ok(Id::issued(id))
    }

    /// Insert many records of one type: each checked, referenced and scoped as by
    /// [`insert`](Self::insert) and audited with its own entry, but written a few hundred rows to
    /// a statement (the bulk path of imports and of `counterpart generate`). Returns the ids in
    /// the order of `es`. The first refusal spends the transaction, as for any step.
    pub async fn insert_many<E: Entity>(&mut self, es: &[E]) -> Result<Vec<Id<E::Kind>>> {
        self.live()?;
        let r = match owned_guard(E::TABLE, false) {
            Ok(()) => self.insert_many_step(es).await,
            Err(e) => Err(e),
        };
        self.note(r)
    }

    async fn insert_many_step<E: Entity>(&mut self, es: &[E]) -> Result<Vec<Id<E::Kind>>> {
        let mut ids = Vec::with_capacity(es.len());
        let mut rows: Vec<Expanded> = Vec::new();
        for e in es {
            if let Err(err) = self.validate(e).await {
                // A record may refer to one before it in the same batch (an indicator to its
                // numerator): write those, then check it again, as one by one would.
                if rows.is_empty() || !matches!(err, StoreError::Invalid(_)) {
                    return Err(err);
                }
                ids.extend(self.insert_rows::<E>(std::mem::take(&mut rows)).await?);
                self.validate(e).await?;
            }
            self.check_scope(E::TABLE, &plain(&e.columns())).await?;
            let (mut cols, mut shown) = self.expand(e.columns())?;
            self.reviewed_insert(E::TABLE, &mut cols, &mut shown).await?;
            rows.push((cols, shown));
        }
        ids.extend(self.insert_rows::<E>(rows).await?);
        Ok(ids)
    }

    /// Write checked rows of `E`, a few hundred to a statement, each with its audit entry.
    async fn insert_rows<E: Entity>(&mut self, rows: Vec<Expanded>) -> Result<Vec<Id<E::Kind>>> {
        let Some((first, _)) = rows.first() else { return Ok(Vec::new()) };
        let names: Vec<String> = first.iter().map(|(n, _)| n.clone()).collect();
        // Both backends take tens of thousands of parameters; stay well below.
        let per = (20_000 / names.len().max(1)).clamp(1, 500);
        let mut ids = Vec::with_capacity(rows.len());
        for chunk in rows.chunks(per) {
            let mut values = Vec::with_capacity(chunk.len());
            let mut i = 0;
            for (cols, _) in chunk {
                if cols.len() != names.len() {
                    return Err(StoreError::Integrity(format!("{}的列数不一致，不能成批写入", E::LABEL)));
                }
                let ph: Vec<String> = (0..cols.len())
                    .map(|_| {
                        i += 1;
                        format!("${i}")
                    })
                    .collect();
                values.push(format!("({})", ph.join(", ")));
            }
            let sql =
                format!("INSERT INTO {} ({}) VALUES {} RETURNING id", E::TABLE, names.join(", "), values.join(", "));
            let mut q = sqlx::query_scalar::<Any, i64>(&sql);
            for (cols, _) in chunk {
                for (_, b) in cols {
                    q = match b {
                        Bound::Int(i) => q.bind(*i),
                        Bound::Text(t) => q.bind(t.clone()),
                    };
                }
            }
            let mut got = q.fetch_all(&mut *self.tx).await.map_err(|e| explain(e, E::LABEL))?;
            // The ids of one statement increase in the order of its VALUES list on both backends
            // (SQLite takes the next rowid per row; PostgreSQL calls the sequence per row, in
            // order), whatever order RETURNING lists them in.
            got.sort_unstable();
            if got.len() != chunk.len() {
                return Err(StoreError::Integrity(format!("{}成批写入的行数与返回的编号数不符", E::LABEL)));
            }
            let entries = got
                .iter()
                .zip(chunk)
                .map(|(id, (_, shown))| {
                    let mut after = shown.clone();
                    after.insert("id".into(), Value::from(*id));
                    (*id, Value::Object(after))
                })
                .collect();
            self.audit_created(E::TABLE, entries).await?;
            ids.extend(got.into_iter().map(Id::issued));
        }
        Ok(ids)
    }

    /// Replace every column of record `id`.
    pub async fn update<E: Entity>(&mut self, id: Id<E::Kind>, e: &E) -> Result<()> {
        self.update_keeping(id, e, &[]).await
    }

    /// Replace the columns of record `id` except those named in `keep`, which keep their stored
    /// values (a personal identifier left blank on a form: its ciphertext, hash and mask stay).
    pub async fn update_keeping<E: Entity>(&mut self, id: Id<E::Kind>, e: &E, keep: &[&str]) -> Result<()> {
        self.live()?;
        let r = match owned_guard(E::TABLE, false) {
            Ok(()) => self.update_step(id, e, keep).await,
            Err(e) => Err(e),
        };
        self.note(r)
    }

    pub(crate) async fn update_step<E: Entity>(&mut self, id: Id<E::Kind>, e: &E, keep: &[&str]) -> Result<()> {
        let id = id.get();
        let before =
            self.row_json(E::TABLE, id).await?.ok_or(StoreError::NotFound { what: E::LABEL, id: id.to_string() })?;
        builtin_guard(&before)?;
        self.validate(e).await?;
        self.check_scope(E::TABLE, &before).await?;
        let mut after = plain(&e.columns());
        // A record whose parent stays where it was stays in scope (a reporter may rename its own
        // organization, not move it out of its subtree).
        if after.contains_key("parent_id") && after.get("parent_id") == before.get("parent_id") {
            after.insert("id".into(), Value::from(id));
        }
        self.check_scope(E::TABLE, &after).await?;
        self.reviewed_change(E::TABLE, &before, Some(&after)).await?;
        let cols: Vec<(&'static str, Val)> = e.columns().into_iter().filter(|(n, _)| !keep.contains(n)).collect();
        let (cols, _) = self.expand(cols)?;
        let sets: Vec<String> = cols.iter().enumerate().map(|(i, (n, _))| format!("{n} = ${}", i + 1)).collect();
        let sql = format!("UPDATE {} SET {} WHERE id = ${}", E::TABLE, sets.join(", "), cols.len() + 1);
        let mut q = sqlx::query::<Any>(&sql);
        for (_, b) in &cols {
            q = match b {
                Bound::Int(i) => q.bind(*i),
                Bound::Text(t) => q.bind(t.clone()),
            };
        }
        q.bind(id).execute(&mut *self.tx).await.map_err(|e| explain(e, E::LABEL))?;
        let after = self.row_json(E::TABLE, id).await?;
        // Writing back what was there changes nothing, and the log says only what changed.
        if after.as_ref() == Some(&before) {
            self.unchanged += 1;
            return Ok(());
        }
        self.audit("update", E::TABLE, Some(id), Some(Value::Object(before)), after.map(Value::Object)).await
    }

    /// Delete record `id` of `table`; refused with an explanation when other records depend on it.
    pub async fn delete<K: Kind>(&mut self, id: Id<K>) -> Result<()> {
        self.live()?;
        let r = match owned_guard(K::TABLE, true) {
            Ok(()) => self.delete_step(K::TABLE, K::LABEL, id.get()).await,
            Err(e) => Err(e),
        };
        self.note(r)
    }

    async fn delete_step(&mut self, table: &'static str, label: &'static str, id: i64) -> Result<()> {
        let before = self.row_json(table, id).await?.ok_or(StoreError::NotFound { what: label, id: id.to_string() })?;
        builtin_guard(&before)?;
        self.check_scope(table, &before).await?;
        self.reviewed_change(table, &before, None).await?;
        let mut uses = self.dependents(table, &before).await?;
        // A project's status history is part of the project: it goes with it (each step
        // audited), when nothing else depends on the project.
        let history = table == "projects";
        if history {
            uses.retain(|(what, _)| {
                !what.starts_with(domain::catalog::by_table("project_status_events").map_or("-", |t| t.zh))
            });
        }
        if !uses.is_empty() {
            let listed: Vec<String> = uses.iter().map(|(what, n)| format!("{what} {n} 条")).collect();
            return Err(StoreError::Conflict(format!(
                "{label}（编号 {id}）仍被其他记录引用，不能删除：{}。请先修改或删除这些记录",
                listed.join("、")
            )));
        }
        if history {
            let steps: Vec<(i64,)> =
                sqlx::query_as("SELECT id FROM project_status_events WHERE project_id = $1 ORDER BY id DESC")
                    .bind(id)
                    .fetch_all(&mut *self.tx)
                    .await?;
            for (step,) in steps {
                let before = self.row_json("project_status_events", step).await?;
                sqlx::query("DELETE FROM project_status_events WHERE id = $1")
                    .bind(step)
                    .execute(&mut *self.tx)
                    .await?;
                self.audit("delete", "project_status_events", Some(step), before.map(Value::Object), None).await?;
            }
        }
        self.known.clear();
        let sql = format!("DELETE FROM {table} WHERE id = $1");
        sqlx::query(&sql).bind(id).execute(&mut *self.tx).await.map_err(|e| match explain(e, label) {
            StoreError::Conflict(_) => StoreError::Conflict(format!(
                "{label} {id} 仍被其他记录引用（如活动、结对、资金），不能删除；请先处理引用它的记录"
            )),
            other => other,
        })?;
        self.audit("delete", table, Some(id), Some(Value::Object(before)), None).await
    }

    /// Delete record `id` of a catalogued record type (the web's delete button).
    pub async fn delete_record(&mut self, t: &domain::catalog::RecordType, id: i64) -> Result<()> {
        self.live()?;
        let r = match owned_guard(t.table, true) {
            Ok(()) => self.delete_step(t.table, t.zh, id).await,
            Err(e) => Err(e),
        };
        self.note(r)
    }

    /// Set one column of a record, audited (used for derived columns such as a project's status).
    pub(crate) async fn set_column(&mut self, table: &'static str, id: i64, sets: &[(&str, Val)]) -> Result<()> {
        self.live()?;
        let r = self.set_column_step(table, id, sets).await;
        self.note(r)
    }

    async fn set_column_step(&mut self, table: &'static str, id: i64, sets: &[(&str, Val)]) -> Result<()> {
        let before =
            self.row_json(table, id).await?.ok_or(StoreError::NotFound { what: "记录", id: id.to_string() })?;
        let parts: Vec<String> = sets.iter().enumerate().map(|(i, (n, _))| format!("{n} = ${}", i + 1)).collect();
        let sql = format!("UPDATE {table} SET {} WHERE id = ${}", parts.join(", "), sets.len() + 1);
        let mut q = sqlx::query::<Any>(&sql);
        for (_, v) in sets {
            q = bind(q, v);
        }
        q.bind(id).execute(&mut *self.tx).await.map_err(|e| explain(e, table))?;
        let after = self.row_json(table, id).await?;
        self.audit("update", table, Some(id), Some(Value::Object(before)), after.map(Value::Object)).await
    }

    /// The records that point to a row of `table` (by id, or by code for the code lists), as
    /// (what, how many): every reference field of the catalogue, and the user accounts of an
    /// organization.
    async fn dependents(&mut self, table: &str, row: &Map<String, Value>) -> Result<Vec<(String, i64)>> {
        use domain::catalog::{FieldKind, RECORD_TYPES};
        let mut refs: Vec<(String, &str, &str, Val)> = Vec::new();
        let id = row.get("id").and_then(Value::as_i64);
        let code = row.get("code").and_then(Value::as_str).map(str::to_string);
        for rt in RECORD_TYPES {
            for f in rt.fields {
                let key = match f.kind {
                    FieldKind::Ref { table: to, .. } if to == table => Val::Int(id),
                    FieldKind::CodeRef { table: to } if to == table => Val::Text(code.clone()),
                    _ => continue,
                };
                let what = if rt.table == table { format!("{}（{}）", rt.zh, f.zh) } else { rt.zh.to_string() };
                refs.push((what, rt.table, f.name, key));
            }
        }
        if table == "organizations" {
            refs.push(("用户账户".into(), "users", "org_id", Val::Int(id)));
        }
        let mut out = Vec::new();
        for (what, t, col, key) in refs {
            if key.is_null() {
                continue;
            }
            let sql = format!("SELECT COUNT(*) FROM {t} WHERE {col} = $1");
            let n: i64 =
                bind(sqlx::query(&sql), &key).fetch_one(&mut *self.tx).await.and_then(|r| sqlx::Row::try_get(&r, 0))?;
            if n > 0 {
                out.push((what, n));
            }
        }
        Ok(out)
    }

    /// A reporter (填报员) writes only records placed in its organization or below it (by the
    /// catalogue's owner columns; a new organization is placed by its parent); shared reference
    /// data is not theirs to write. The program's configuration (code lists, indicator
    /// definitions, batches) is written only by a role that manages the program. Other writing
    /// roles are not scoped.
    async fn check_scope(&mut self, table: &str, row: &Map<String, Value>) -> Result<()> {
        if domain::catalog::is_program_config(table) && !self.actor.role.manages_program() {
            let what = match table {
                "report_templates" => "报告模板",
                _ => domain::catalog::by_table(table).map_or(table, |t| t.zh),
            };
            return Err(StoreError::Forbidden(format!(
                "{what}属于项目配置，只有“项目管理”角色可以新建、修改或删除；角色“{}”不能修改",
                self.actor.role.label()
            )));
        }
        // A generated report records who generated what; it belongs to no organization.
        if self.actor.role != domain::users::Role::Reporter || table == "generated_reports" {
            return Ok(());
        }
        let refuse = || StoreError::Forbidden("填报员只能填报本单位及下级单位的记录".into());
        let org = self.actor.org_id.ok_or_else(refuse)?;
        let t = domain::catalog::by_table(table).ok_or_else(refuse)?;
        let path: String = sqlx::query_scalar("SELECT path FROM organizations WHERE id = $1")
            .bind(org.get())
            .fetch_one(&mut *self.tx)
            .await?;
        for owner in t.owners {
            let org_of = match owner.split_once('.') {
                // A new organization (no id yet) is placed where its parent is.
                None if *owner == "id" && !row.contains_key("id") => row.get("parent_id").and_then(Value::as_i64),
                None => row.get(*owner).and_then(Value::as_i64),
                Some((col, sub)) => {
                    let (Some(id), Some(domain::catalog::FieldKind::Ref { table: rt, .. })) =
                        (row.get(col).and_then(Value::as_i64), t.field(col).map(|f| f.kind))
                    else {
                        continue;
                    };
                    sqlx::query_scalar::<_, Option<i64>>(&format!("SELECT {sub} FROM {rt} WHERE id = $1"))
                        .bind(id)
                        .fetch_optional(&mut *self.tx)
                        .await?
                        .flatten()
                }
            };
            let Some(o) = org_of else { continue };
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM organizations WHERE id = $1 AND path LIKE $2")
                .bind(o)
                .bind(format!("{path}%"))
                .fetch_one(&mut *self.tx)
                .await?;
            if n > 0 {
                return Ok(());
            }
        }
        Err(refuse())
    }

    pub(crate) async fn row_json(&mut self, table: &str, id: i64) -> Result<Option<Map<String, Value>>> {
        let sql = format!("SELECT * FROM {table} WHERE id = $1");
        let row = sqlx::query(&sql).bind(id).fetch_optional(&mut *self.tx).await?;
        Ok(row.as_ref().map(to_json))
    }

    /// Append an audit entry in this transaction.
    pub async fn audit(
        &mut self,
        action: &str,
        object_type: &str,
        object_id: Option<i64>,
        before: Option<Value>,
        after: Option<Value>,
    ) -> Result<()> {
        self.live()?;
        let r = self.audit_step(action, object_type, object_id, before, after).await;
        self.note(r)
    }

    /// Every change of a row is audited, so the audit step is where derived tables learn of it:
    /// the rollups (see [`crate::rollups`]).
    async fn derive(&mut self, action: &str, table: &str, before: Option<&Value>, after: Option<&Value>) -> Result<()> {
        use crate::rollups::{funding_of, project_key};
        // A review step (`review_submit`, …) changes an activity's state, which the rollup follows.
        if !matches!(action, "create" | "update" | "delete") && !action.starts_with("review_") {
            return Ok(());
        }
        match table {
            "activities" => self.rollup.track(before, after),
            "project_funding" => {
                for (row, sign) in [(before, -1), (after, 1)] {
                    let Some(row) = row else { continue };
                    let project = row.get("project_id").and_then(Value::as_i64).unwrap_or(0);
                    let key = match self.rollup.projects.get(&project) {
                        Some(k) => k.clone(),
                        None => {
                            let row = self.row_json("projects", project).await?.map(Value::Object);
                            let k = project_key(row.as_ref().unwrap_or(&Value::Null));
                            self.rollup.projects.insert(project, k.clone());
                            k
                        }
                    };
                    self.rollup.track_funding(&key, &funding_of(row), sign);
                }
            }
            "projects" => {
                let id = after.or(before).and_then(|r| r.get("id")).and_then(Value::as_i64).unwrap_or(0);
                let (old, new) = (before.map(project_key), after.map(project_key));
                if let (Some(old), Some(new)) = (&old, &new) {
                    if old != new {
                        // The project's funding lines now count under its new status, sector or place.
                        let lines: Vec<(i64, String, i64, i64, i64)> = sqlx::query_as(
                            "SELECT year, source, planned_fen, allocated_fen, disbursed_fen FROM project_funding \
                             WHERE project_id = $1 ORDER BY id",
                        )
                        .bind(id)
                        .fetch_all(&mut *self.tx)
                        .await?;
                        for (year, source, p, a, d) in lines {
                            let line = (year, source, [1, p, a, d]);
                            self.rollup.track_funding(old, &line, -1);
                            self.rollup.track_funding(new, &line, 1);
                        }
                    }
                }
                // A created row as audited lacks what the database filled in (its status): read
                // it again when a funding line needs it.
                match new {
                    Some(k) if action == "update" => self.rollup.projects.insert(id, k),
                    _ => self.rollup.projects.remove(&id),
                };
            }
            _ => {}
        }
        Ok(())
    }

    /// Audit entries for rows just created in bulk, `(id, after)`, written a few hundred to a
    /// statement; the same entries as [`audit`](Self::audit) would write one by one.
    async fn audit_created(&mut self, table: &str, entries: Vec<(i64, Value)>) -> Result<()> {
        let at = now();
        let user = self.actor.user_id.map(|u| u.get());
        for chunk in entries.chunks(300) {
            let mut values = Vec::with_capacity(chunk.len());
            for i in 0..chunk.len() {
                let b = i * 5;
                values.push(format!(
                    "($1, $2, $3, $4, 'create', $5, ${}, NULL, ${}, 'ok', ${}, ${}, ${})",
                    b + 6,
                    b + 7,
                    b + 8,
                    b + 9,
                    b + 10
                ));
            }
            let sql = format!(
                "INSERT INTO audit_log (at, actor, actor_id, source, action, object_type, object_id, before_json, after_json, \
                 outcome, seq, prev_hash, hash) VALUES {}",
                values.join(", ")
            );
            let mut q = sqlx::query::<Any>(&sql)
                .bind(at.clone())
                .bind(self.actor.name.clone())
                .bind(user)
                .bind(self.actor.source.clone())
                .bind(table.to_string());
            for (id, after) in chunk {
                let after = after.to_string();
                let (seq, prev, hash) = self.link_next(&at, "create", table, Some(*id), None, Some(&after));
                q = q.bind(*id).bind(after).bind(seq).bind(prev).bind(hash);
            }
            for (_, after) in chunk {
                self.derive("create", table, None, Some(after)).await?;
            }
            q.execute(&mut *self.tx).await?;
        }
        Ok(())
    }

    pub(crate) async fn audit_step(
        &mut self,
        action: &str,
        object_type: &str,
        object_id: Option<i64>,
        before: Option<Value>,
        after: Option<Value>,
    ) -> Result<()> {
        self.derive(action, object_type, before.as_ref(), after.as_ref()).await?;
        let at = now();
        let user = self.actor.user_id.map(|u| u.get());
        let (before, after) = (before.map(|v| v.to_string()), after.map(|v| v.to_string()));
        let outcome = domain::audit::outcome_of(action);
        let (seq, prev, hash) =
            self.link_next(&at, action, object_type, object_id, before.as_deref(), after.as_deref());
        sqlx::query(
            "INSERT INTO audit_log (at, actor, actor_id, source, action, object_type, object_id, before_json, after_json, \
             outcome, seq, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(at.clone())
        .bind(self.actor.name.clone())
        .bind(user)
        .bind(self.actor.source.clone())
        .bind(action.to_string())
        .bind(object_type.to_string())
        .bind(object_id)
        .bind(before)
        .bind(after)
        .bind(outcome)
        .bind(seq)
        .bind(prev)
        .bind(hash)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// The next link of the audit chain for an entry by this transaction's actor:
    /// `(seq, prev_hash, hash)`; the transaction's head moves on and is written back at commit.
    fn link_next(
        &mut self,
        at: &str,
        action: &str,
        object_type: &str,
        object_id: Option<i64>,
        before: Option<&str>,
        after: Option<&str>,
    ) -> (i64, String, String) {
        self.chain_moved = true;
        let link = crate::audit::Link {
            seq: 0,
            at,
            actor: &self.actor.name,
            actor_id: self.actor.user_id.map(|u| u.get()),
            source: self.actor.source.as_deref(),
            action,
            object_type,
            object_id,
            outcome: domain::audit::outcome_of(action),
            before,
            after,
        };
        chain_next(&mut self.chain, &link)
    }

    /// Where the audit chain currently starts.
    pub(crate) async fn chain_base(&mut self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT base_seq FROM audit_chain WHERE id = 1").fetch_one(&mut *self.tx).await?)
    }
}

/// The next link of the audit chain after `head` for an entry with these fields (its `seq` is
/// assigned here): `(seq, prev_hash, hash)`. The head moves on.
fn chain_next(head: &mut (i64, String), link: &crate::audit::Link<'_>) -> (i64, String, String) {
    let seq = head.0 + 1;
    let prev = std::mem::take(&mut head.1);
    let hash = crate::audit::link_hash(&prev, &crate::audit::Link { seq, ..*link });
    *head = (seq, hash.clone());
    (seq, prev, hash)
}
