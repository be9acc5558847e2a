//! Rows as JSON objects: the form in which audit entries keep "before" and "after", and in which
//! generic reads return a record. Encrypted columns never appear; `X_mask` is shown as `X`.

use serde_json::{Map, Value};
use sqlx::any::AnyRow;
use sqlx::{Column, Row};

pub(crate) fn to_json(row: &AnyRow) -> Map<String, Value> {
    let mut m = Map::new();
    for (i, col) in row.columns().iter().enumerate() {
        let name = col.name();
        if name.ends_with("_enc") || name.ends_with("_hash") {
            continue;
        }
        let key = name.strip_suffix("_mask").unwrap_or(name).to_string();
        let v = if let Ok(v) = row.try_get::<Option<i64>, _>(i) {
            v.map(Value::from).unwrap_or(Value::Null)
        } else if let Ok(v) = row.try_get::<Option<String>, _>(i) {
            v.map(Value::from).unwrap_or(Value::Null)
        } else if let Ok(v) = row.try_get::<Option<i32>, _>(i) {
            v.map(Value::from).unwrap_or(Value::Null)
        } else if let Ok(v) = row.try_get::<Option<i16>, _>(i) {
            v.map(Value::from).unwrap_or(Value::Null)
        } else if let Ok(v) = row.try_get::<Option<f64>, _>(i) {
            v.map(Value::from).unwrap_or(Value::Null)
        } else {
            Value::Null
        };
        m.insert(key, v);
    }
    m
}
