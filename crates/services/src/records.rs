//! Writing a parsed record: the one path from `domain::forms::Parsed` to the store that the web
//! forms, the JSON API and the spreadsheet import share, so that a record is saved the same way
//! whichever door it came through (same rules, same scope checks, same audit).

use domain::catalog::{FieldKind, RecordType};
use domain::forms::{Parsed, HISTORY_ONLY_WHY};
use domain::ids::Id;
use domain::money::Fen;
use domain::Entity;
use serde_json::{Map, Value};
use store::{StoreError, Tx};

/// Insert the record (`id` = None) or replace record `id` with it, inside `tx`. Returns its id.
pub async fn save(tx: &mut Tx<'_>, parsed: Parsed, id: Option<i64>) -> Result<i64, StoreError> {
    match parsed {
        Parsed::Project(p) => put(tx, &p, id).await,
        Parsed::Funding(p) => put(tx, &p, id).await,
        Parsed::Output(p) => put(tx, &p, id).await,
        Parsed::StatusEvent(p) => match id {
            None => tx.add_status(&p).await.map(|i| i.get()),
            Some(_) => Err(StoreError::Forbidden(HISTORY_ONLY_WHY.into())),
        },
        Parsed::Person(p, blank) => match id {
            None => tx.insert(&p).await.map(|i| i.get()),
            Some(id) => tx.update_keeping(Id::issued(id), &p, &blank).await.map(|_| id),
        },
        Parsed::Pairing(p) => put(tx, &p, id).await,
        Parsed::Activity(p) => put(tx, &p, id).await,
        Parsed::Procedure(p) => put(tx, &p, id).await,
        Parsed::Org(p) => match id {
            None => tx.insert_org(&p).await.map(|i| i.get()),
            Some(id) => tx.update_org(Id::issued(id), &p).await.map(|_| id),
        },
        Parsed::IndicatorValue(p) => put(tx, &p, id).await,
        Parsed::IndicatorTarget(p) => put(tx, &p, id).await,
        Parsed::IndicatorDef(p) => put(tx, &p, id).await,
        Parsed::Achievement(p) => put(tx, &p, id).await,
        Parsed::Donation(p) => put(tx, &p, id).await,
        Parsed::Centre(p) => put(tx, &p, id).await,
        Parsed::EmploymentRecord(p) => put(tx, &p, id).await,
        Parsed::InvestmentEvent(p) => put(tx, &p, id).await,
        Parsed::InvestmentProject(p) => put(tx, &p, id).await,
        Parsed::Batch(p) => put(tx, &p, id).await,
        Parsed::PairingType(p) => put(tx, &p, id).await,
        Parsed::ActivityType(p) => put(tx, &p, id).await,
        Parsed::Brand(p) => put(tx, &p, id).await,
    }
}

/// Insert new records in bulk (`Tx::insert_many`: the same checks and audit entries, a few
/// hundred rows to a statement) when they are all of one type that has no write path of its own;
/// otherwise one by one through [`save`]. Returns their ids in order.
pub async fn insert_all(tx: &mut Tx<'_>, parsed: Vec<Parsed>) -> Result<Vec<i64>, StoreError> {
    macro_rules! bulk {
        ($($v:ident),*) => {
            match parsed.first() {
                $(Some(Parsed::$v(_)) if parsed.iter().all(|p| matches!(p, Parsed::$v(_))) => {
                    let es: Vec<_> =
                        parsed.into_iter().filter_map(|p| if let Parsed::$v(e) = p { Some(e) } else { None }).collect();
                    return Ok(tx.insert_many(&es).await?.into_iter().map(|i| i.get()).collect());
                })*
                _ => {}
            }
        };
    }
    bulk!(
        Project,
        Funding,
        Output,
        Pairing,
        Activity,
        Procedure,
        IndicatorValue,
        IndicatorTarget,
        IndicatorDef,
        Achievement,
        Donation,
        Centre,
        EmploymentRecord,
        InvestmentEvent,
        InvestmentProject,
        Batch,
        PairingType,
        ActivityType,
        Brand
    );
    let mut ids = Vec::with_capacity(parsed.len());
    for p in parsed {
        ids.push(save(tx, p, None).await?);
    }
    Ok(ids)
}

/// Insert `e`, or replace record `id` with it.
async fn put<E: Entity>(tx: &mut Tx<'_>, e: &E, id: Option<i64>) -> Result<i64, StoreError> {
    match id {
        None => tx.insert(e).await.map(|i| i.get()),
        Some(id) => tx.update(Id::<E::Kind>::issued(id), e).await.map(|_| id),
    }
}

/// A JSON value as form text (null and absent: empty).
pub fn text_of(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(b)) => if *b { "1" } else { "0" }.to_string(),
        _ => String::new(),
    }
}

/// A stored row as the text values a form (or a spreadsheet row, or an API body) gives: money as
/// exact 元 with `{name}__unit = yuan`. Personal identifiers are left out: a blank one keeps its
/// stored value on an update. The base that a partial change (blank cells of an `--update`
/// import, the fields missing from an API `PATCH`) is laid over.
pub fn row_values(t: &RecordType, row: &Map<String, Value>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for f in t.fields {
        match (f.kind, row.get(f.name)) {
            (FieldKind::Secret, _) => {}
            (FieldKind::Money, Some(v)) if v.as_i64().is_some() => {
                let fen = Fen(v.as_i64().unwrap_or(0));
                out.push((f.name.into(), fen.yuan_exact()));
                out.push((format!("{}__unit", f.name), "yuan".into()));
            }
            (_, v) => out.push((f.name.into(), text_of(v))),
        }
    }
    out
}
