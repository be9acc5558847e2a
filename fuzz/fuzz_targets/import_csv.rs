//! Bytes of an uploaded CSV (UTF-8, UTF-16 or GBK/GB18030) → the import's sheet, and each row's
//! cells → the form parser a record type's import runs them through. Nothing may panic; the
//! sheet keeps its promises (a trimmed header, data rows after it, in order).

#![no_main]

use domain::catalog::{FieldKind, RECORD_TYPES};
use domain::forms::{form_fields, parse, EDITABLE};
use domain::ids::ProgramId;
use libfuzzer_sys::fuzz_target;
use services::exchange::{import, sheet};

fuzz_target!(|data: &[u8]| {
    let Ok(sh) = sheet::read_csv(data) else { return };
    if sheet::sniff(data) == sheet::Format::Csv {
        let again = sheet::read(data, "活动").expect("read and read_csv agree on a CSV");
        assert_eq!(again.rows, sh.rows);
    }
    for h in &sh.header {
        assert_eq!(h, h.trim(), "header cells are trimmed");
    }
    assert!(sh.rows.windows(2).all(|w| w[0].0 < w[1].0), "rows keep their order");
    assert!(sh.rows.iter().all(|(_, cells)| cells.iter().any(|c| !c.is_blank())), "blank rows are dropped");

    // The row → record check of one editable type, chosen by the first byte.
    let types: Vec<_> = RECORD_TYPES.iter().filter(|t| EDITABLE.contains(&t.table)).collect();
    let t = types[data.first().copied().unwrap_or(0) as usize % types.len()];
    let fields = form_fields(t);
    let columns: Vec<Option<(&'static str, bool, bool)>> = sh
        .header
        .iter()
        .map(|h| {
            let h = h.trim_start_matches('*');
            let (base, yuan) = match h.split_once('（') {
                Some((b, unit)) => (b, unit.starts_with('元')),
                None => (h, false),
            };
            fields
                .iter()
                .find(|f| f.zh == base || f.name == base)
                .map(|f| (f.name, matches!(f.kind, FieldKind::Money), yuan))
        })
        .collect();
    for (_, cells) in sh.rows.iter().take(64) {
        let mut pairs = Vec::new();
        for (cell, col) in cells.iter().zip(&columns) {
            let text = cell.display();
            let _ = import::date_text(&text);
            if let Some((name, money, yuan)) = col {
                pairs.push((name.to_string(), text));
                if *money {
                    pairs.push((format!("{name}__unit"), if *yuan { "yuan" } else { "wan" }.to_string()));
                }
            }
        }
        let _ = parse(t, ProgramId::issued(1), pairs);
    }
});
