//! (g) and the `import` benchmark: N deterministic activity rows in the template's columns, as
//! CSV and as XLSX, imported through the ordinary import (every row checked, references resolved,
//! one transaction, one audit entry per row).

use crate::common::{drop_db, fresh, peak_rss_mib, KEY};
use anyhow::{bail, Context};
use domain::audit::Actor;
use domain::catalog::by_slug;
use services::exchange::{import, sheet};
use std::time::Instant;
use store::{Crypto, DbUrl, Store};

const HEADER: &str =
    "*活动名称,*活动类型,活动品牌,*工作条线,*日期,结束日期,*地点,组织单位,所属项目,所属结对,*参与人次,*受益人次";
const TYPES: [(&str, &str); 6] = [
    ("义诊", "医疗"),
    ("培训", "教育"),
    ("讲座/大讲堂", "教育"),
    ("志愿服务", "党政"),
    ("营地/冬夏令营", "教育"),
    ("义诊", "医疗"),
];
const PLACES: [&str; 5] = ["653022", "阿克陶县", "653022200", "653001", "653024"];

/// Deterministic rows in the template's columns.
pub fn rows(n: usize) -> Vec<[String; 12]> {
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    (0..n)
        .map(|i| {
            let (ty, line) = TYPES[(next() % 6) as usize];
            let participants = 5 + next() % 296;
            let beneficiaries = participants * (1 + next() % 4) + next() % 51;
            let day = next() % 4383; // 2015-01-01 … 2026-12-31
            let date = chrono_like(day);
            [
                format!("活动 {i}"),
                ty.into(),
                String::new(),
                line.into(),
                date,
                String::new(),
                PLACES[(next() % 5) as usize].into(),
                "JX-H01".into(),
                String::new(),
                String::new(),
                participants.to_string(),
                beneficiaries.to_string(),
            ]
        })
        .collect()
}

/// Day `d` after 2015-01-01 as YYYY-MM-DD (no calendar crate needed for a harness).
fn chrono_like(d: u64) -> String {
    let mut days = d as i64;
    let mut y = 2015;
    loop {
        let len = if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 { 366 } else { 365 };
        if days < len {
            break;
        }
        days -= len;
        y += 1;
    }
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let months = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let mut m = 0;
    while days >= months[m] {
        days -= months[m];
        m += 1;
    }
    format!("{y}-{:02}-{:02}", m + 1, days + 1)
}

pub fn csv(rows: &[[String; 12]]) -> Vec<u8> {
    let mut s = String::with_capacity(rows.len() * 80);
    s.push_str(HEADER);
    s.push('\n');
    for r in rows {
        s.push_str(&r.join(","));
        s.push('\n');
    }
    s.into_bytes()
}

pub fn xlsx(rows: &[[String; 12]]) -> anyhow::Result<Vec<u8>> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let ws = book.add_worksheet();
    for (c, h) in HEADER.split(',').enumerate() {
        ws.write_string(0, c as u16, h)?;
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            if v.is_empty() {
                continue;
            }
            match v.parse::<f64>() {
                Ok(n) if c >= 10 => ws.write_number(r as u32 + 1, c as u16, n)?,
                _ => ws.write_string(r as u32 + 1, c as u16, v)?,
            };
        }
    }
    Ok(book.save_to_buffer()?)
}

pub struct Measured {
    pub backend: &'static str,
    pub format: &'static str,
    pub rows: usize,
    pub read_s: f64,
    pub import_s: f64,
    pub peak_mib: f64,
}

pub async fn import_bench(n: usize) -> anyhow::Result<Vec<Measured>> {
    let data = rows(n);
    let files = [("CSV", csv(&data)), ("XLSX", xlsx(&data)?)];
    drop(data);
    let t = by_slug("activities").context("activities")?;
    let mut out = Vec::new();
    for backend in ["sqlite", "postgres"] {
        for (format, bytes) in &files {
            let db = fresh(backend).await?;
            let store = Store::open(&DbUrl::parse(&db.url)?, Crypto::from_hex(KEY)?).await?;
            services::demo::load(&store).await?;
            let start = Instant::now();
            let sh = sheet::read(bytes, t.zh)?;
            let read_s = start.elapsed().as_secs_f64();
            let outcome = import::import(&store, &Actor::system(), t, &sh, import::Options::default()).await?;
            let import_s = start.elapsed().as_secs_f64() - read_s;
            if !outcome.errors.is_empty() || outcome.created != n {
                bail!("{backend} {format}: {} ({:?})", outcome.summary(), outcome.errors.first());
            }
            out.push(Measured { backend, format, rows: n, read_s, import_s, peak_mib: peak_rss_mib() });
            store.close().await;
            drop_db(db).await?;
        }
    }
    Ok(out)
}
