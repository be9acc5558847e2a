//! Rollups: counts and sums of activities by type, line, brand, place, organizer, month and year
//! (`activity_rollup`), and of funding lines by status, sector, place, year and source
//! (`funding_rollup`), kept so that the figure engine answers aggregates over a million records
//! by reading a few thousand rows (migrations 0006 and 0007).
//!
//! A rollup is derived state with one owner: every change of a row is audited through
//! [`Tx::audit`](crate::Tx::audit), and the audit step hands the row before and after to
//! [`Pending::track`] (an activity) or [`Pending::track_funding`] (a funding line; a project
//! whose status, sector or place changed moves its funding lines). The deltas are gathered in the transaction and written by [`flush`]
//! before it commits (and before a savepoint, so that rolling back to the savepoint undoes
//! them with the rows), in key order, so concurrent writers lock rollup rows in the same order.
//! [`Store::rollup_differences`] recounts from the base rows; the conformance suite holds the
//! two equal after random inserts, updates and deletes on both backends.

use crate::error::Result;
use crate::Store;
use serde_json::Value;
use sqlx::{Any, Transaction};
use std::collections::BTreeMap;

/// Where an activity counts: program, type, line ('' for none), brand ('' for none), place,
/// organizer (0 for none) and month (`YYYY-MM`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    program: i64,
    type_code: String,
    line: String,
    brand: String,
    region: String,
    org: i64,
    month: String,
}

/// One row of `activity_rollup`: (grain, program, type, line, brand, place, organizer, period).
type RowKey = (&'static str, i64, String, String, String, String, i64, String);

/// Count, participants, beneficiaries.
type Amounts = [i64; 3];

/// Where a funding line counts: program, status, sector, place, year, source.
type FundKey = (i64, String, String, String, i64, String);

/// Lines, planned, allocated, disbursed (分).
type FundAmounts = [i64; 4];

/// The rollup changes of one transaction, not yet written.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    activities: BTreeMap<Key, Amounts>,
    funding: BTreeMap<FundKey, FundAmounts>,
    /// Projects as their funding lines count, as read or written in this transaction.
    pub(crate) projects: std::collections::HashMap<i64, ProjectKey>,
}

/// A project as its funding lines are rolled up: program, status, sector, place.
pub(crate) type ProjectKey = (i64, String, String, String);

pub(crate) fn project_key(row: &Value) -> ProjectKey {
    let text = |k: &str| row.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    (row.get("program_id").and_then(Value::as_i64).unwrap_or(0), text("status"), text("sector"), text("region_code"))
}

/// A funding line's year, source and amounts.
pub(crate) fn funding_of(row: &Value) -> (i64, String, FundAmounts) {
    let int = |k: &str| row.get(k).and_then(Value::as_i64).unwrap_or(0);
    let source = row.get("source").and_then(Value::as_str).unwrap_or("").to_string();
    (int("year"), source, [1, int("planned_fen"), int("allocated_fen"), int("disbursed_fen")])
}

fn key_of(row: &Value) -> Option<(Key, Amounts)> {
    let text = |k: &str| row.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let int = |k: &str| row.get(k).and_then(Value::as_i64).unwrap_or(0);
    // Only approved activities count in the rollup (a row written before the reporting cycle,
    // without the column, was approved).
    let state = row.get("review_state").and_then(Value::as_str).unwrap_or("approved");
    if !matches!(state, "approved" | "consolidated") {
        return None;
    }
    let date = text("date");
    let month = date.get(..7)?.to_string();
    Some((
        Key {
            program: int("program_id"),
            type_code: text("type_code"),
            line: text("line"),
            brand: text("brand_code"),
            region: text("region_code"),
            org: int("organizer_org_id"),
            month,
        },
        [1, int("participants"), int("beneficiaries")],
    ))
}

impl Pending {
    /// An activity row changed from `before` to `after` (either absent for an insert or a delete).
    pub(crate) fn track(&mut self, before: Option<&Value>, after: Option<&Value>) {
        for (row, sign) in [(before, -1), (after, 1)] {
            if let Some((k, a)) = row.and_then(key_of) {
                let e = self.activities.entry(k).or_default();
                for i in 0..3 {
                    e[i] += sign * a[i];
                }
            }
        }
    }

    /// A funding line of a project (as [`project_key`]) counted with `sign` (+1 or -1).
    pub(crate) fn track_funding(&mut self, project: &ProjectKey, line: &(i64, String, FundAmounts), sign: i64) {
        let (program, status, sector, region) = project.clone();
        let e = self.funding.entry((program, status, sector, region, line.0, line.1.clone())).or_default();
        for (v, d) in e.iter_mut().zip(line.2) {
            *v += sign * d;
        }
    }

    pub(crate) fn clear(&mut self) {
        self.activities.clear();
        self.funding.clear();
        self.projects.clear();
    }

    /// The changes per rollup row, in key order, zero changes left out.
    fn rows(&mut self) -> BTreeMap<RowKey, Amounts> {
        let mut out: BTreeMap<RowKey, Amounts> = BTreeMap::new();
        for (k, a) in std::mem::take(&mut self.activities) {
            let year = k.month[..4].to_string();
            let keys = [
                (
                    "m",
                    k.program,
                    k.type_code.clone(),
                    k.line.clone(),
                    k.brand.clone(),
                    k.region.clone(),
                    0,
                    k.month.clone(),
                ),
                (
                    "y",
                    k.program,
                    k.type_code.clone(),
                    k.line.clone(),
                    k.brand.clone(),
                    k.region.clone(),
                    0,
                    year.clone(),
                ),
                ("o", k.program, k.type_code, k.line, k.brand, String::new(), k.org, year),
            ];
            for rk in keys {
                let e = out.entry(rk).or_default();
                for i in 0..3 {
                    e[i] += a[i];
                }
            }
        }
        out.retain(|_, a| a.iter().any(|v| *v != 0));
        out
    }
}

/// Write the pending changes into `activity_rollup`: add each change to its row (creating it),
/// and remove a row that no longer counts any activity.
pub(crate) async fn flush(tx: &mut Transaction<'static, Any>, pending: &mut Pending) -> Result<()> {
    for ((grain, program, type_code, line, brand, region, org, period), [n, p, b]) in pending.rows() {
        sqlx::query(
            "INSERT INTO activity_rollup \
             (grain, program_id, type_code, line, brand_code, region_code, org_id, period, n, participants, beneficiaries) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
             ON CONFLICT (grain, program_id, type_code, line, brand_code, region_code, org_id, period) DO UPDATE SET \
             n = activity_rollup.n + excluded.n, \
             participants = activity_rollup.participants + excluded.participants, \
             beneficiaries = activity_rollup.beneficiaries + excluded.beneficiaries",
        )
        .bind(grain)
        .bind(program)
        .bind(type_code.clone())
        .bind(line.clone())
        .bind(brand.clone())
        .bind(region.clone())
        .bind(org)
        .bind(period.clone())
        .bind(n)
        .bind(p)
        .bind(b)
        .execute(&mut **tx)
        .await?;
        if n < 0 {
            sqlx::query(
                "DELETE FROM activity_rollup WHERE grain = $1 AND program_id = $2 AND type_code = $3 AND line = $4 \
                 AND brand_code = $5 AND region_code = $6 AND org_id = $7 AND period = $8 AND n = 0",
            )
            .bind(grain)
            .bind(program)
            .bind(type_code)
            .bind(line)
            .bind(brand)
            .bind(region)
            .bind(org)
            .bind(period)
            .execute(&mut **tx)
            .await?;
        }
    }
    let funding = std::mem::take(&mut pending.funding);
    for ((program, status, sector, region, year, source), [n, p, a, d]) in funding {
        if [n, p, a, d].iter().all(|v| *v == 0) {
            continue;
        }
        sqlx::query(
            "INSERT INTO funding_rollup \
             (program_id, status, sector, region_code, year, source, n, planned_fen, allocated_fen, disbursed_fen) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (program_id, status, sector, region_code, year, source) DO UPDATE SET \
             n = funding_rollup.n + excluded.n, \
             planned_fen = funding_rollup.planned_fen + excluded.planned_fen, \
             allocated_fen = funding_rollup.allocated_fen + excluded.allocated_fen, \
             disbursed_fen = funding_rollup.disbursed_fen + excluded.disbursed_fen",
        )
        .bind(program)
        .bind(status.clone())
        .bind(sector.clone())
        .bind(region.clone())
        .bind(year)
        .bind(source.clone())
        .bind(n)
        .bind(p)
        .bind(a)
        .bind(d)
        .execute(&mut **tx)
        .await?;
        if n < 0 {
            sqlx::query(
                "DELETE FROM funding_rollup WHERE program_id = $1 AND status = $2 AND sector = $3 \
                 AND region_code = $4 AND year = $5 AND source = $6 AND n = 0",
            )
            .bind(program)
            .bind(status)
            .bind(sector)
            .bind(region)
            .bind(year)
            .bind(source)
            .execute(&mut **tx)
            .await?;
        }
    }
    Ok(())
}

/// The funding rollup recounted from the funding lines and their projects.
const RECOUNT_FUNDING: &str = "\
    SELECT pr.program_id, pr.status, pr.sector, pr.region_code, pf.year, pf.source, COUNT(*), \
           CAST(SUM(pf.planned_fen) AS BIGINT), CAST(SUM(pf.allocated_fen) AS BIGINT), \
           CAST(SUM(pf.disbursed_fen) AS BIGINT) \
    FROM project_funding pf JOIN projects pr ON pr.id = pf.project_id \
    GROUP BY pr.program_id, pr.status, pr.sector, pr.region_code, pf.year, pf.source";

type StoredFunding = (i64, String, String, String, i64, String, i64, i64, i64, i64);

/// The rollup rows recounted from the activities, in the rollup's own form.
const RECOUNT: &str = "\
    SELECT 'm', program_id, type_code, COALESCE(line, ''), COALESCE(brand_code, ''), region_code, 0, \
           substr(date, 1, 7), COUNT(*), CAST(SUM(participants) AS BIGINT), CAST(SUM(beneficiaries) AS BIGINT) \
    FROM activities WHERE review_state IN ('approved', 'consolidated') \
    GROUP BY program_id, type_code, COALESCE(line, ''), COALESCE(brand_code, ''), region_code, substr(date, 1, 7) \
    UNION ALL \
    SELECT 'y', program_id, type_code, COALESCE(line, ''), COALESCE(brand_code, ''), region_code, 0, \
           substr(date, 1, 4), COUNT(*), CAST(SUM(participants) AS BIGINT), CAST(SUM(beneficiaries) AS BIGINT) \
    FROM activities WHERE review_state IN ('approved', 'consolidated') \
    GROUP BY program_id, type_code, COALESCE(line, ''), COALESCE(brand_code, ''), region_code, substr(date, 1, 4) \
    UNION ALL \
    SELECT 'o', program_id, type_code, COALESCE(line, ''), COALESCE(brand_code, ''), '', \
           COALESCE(organizer_org_id, 0), substr(date, 1, 4), \
           COUNT(*), CAST(SUM(participants) AS BIGINT), CAST(SUM(beneficiaries) AS BIGINT) \
    FROM activities WHERE review_state IN ('approved', 'consolidated') \
    GROUP BY program_id, type_code, COALESCE(line, ''), COALESCE(brand_code, ''), COALESCE(organizer_org_id, 0), \
             substr(date, 1, 4)";

type Stored = (String, i64, String, String, String, String, i64, String, i64, i64, i64);

impl Store {
    /// Where the rollups differ from a recount of the activities and the funding lines: each
    /// differing row described (empty when they are equal).
    pub async fn rollup_differences(&self) -> Result<Vec<String>> {
        let read = |rows: Vec<Stored>| -> BTreeMap<String, (i64, i64, i64)> {
            rows.into_iter()
                .map(|(g, pr, t, l, br, r, o, pe, n, p, b)| (format!("{g}|{pr}|{t}|{l}|{br}|{r}|{o}|{pe}"), (n, p, b)))
                .collect()
        };
        let mut kept = read(
            sqlx::query_as(
                "SELECT grain, program_id, type_code, line, brand_code, region_code, org_id, period, n, participants, \
                 beneficiaries FROM activity_rollup",
            )
            .fetch_all(self.pool())
            .await?,
        );
        let mut counted = read(sqlx::query_as(RECOUNT).fetch_all(self.pool()).await?);
        let funding = |rows: Vec<StoredFunding>| -> BTreeMap<String, (i64, i64, i64)> {
            rows.into_iter()
                .map(|(pr, st, se, r, y, so, n, p, a, d)| (format!("f|{pr}|{st}|{se}|{r}|{y}|{so}|{n}"), (p, a, d)))
                .collect()
        };
        kept.extend(funding(
            sqlx::query_as(
                "SELECT program_id, status, sector, region_code, year, source, n, planned_fen, allocated_fen, \
                 disbursed_fen FROM funding_rollup",
            )
            .fetch_all(self.pool())
            .await?,
        ));
        counted.extend(funding(sqlx::query_as(RECOUNT_FUNDING).fetch_all(self.pool()).await?));
        let mut out = Vec::new();
        for (k, v) in &kept {
            match counted.get(k) {
                Some(c) if c == v => {}
                Some(c) => out.push(format!("{k}: kept {v:?}, recounted {c:?}")),
                None => out.push(format!("{k}: kept {v:?}, recounted nothing")),
            }
        }
        for (k, c) in &counted {
            if !kept.contains_key(k) {
                out.push(format!("{k}: kept nothing, recounted {c:?}"));
            }
        }
        Ok(out)
    }
}
