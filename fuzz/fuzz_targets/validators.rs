//! The validators of values from outside: 身份证号 (GB 11643), 统一社会信用代码 (GB 32100), 区划代码
//! (GB/T 2260), dates, periods, money, ids, phone numbers; and exact fractions. Nothing may
//! panic, and what parses writes out as text that parses to the same value.

#![no_main]

use domain::figures::Exact;
use domain::indicators::Period;
use domain::money::{parse_scaled, rate_display, round_half_up};
use domain::orgs::CreditCode;
use domain::people::{mask, IdNumber, Phone};
use domain::regions::{RegionCode, RegionTable};
use domain::values::{has_control, required_text};
use domain::{Date, Fen};
use libfuzzer_sys::fuzz_target;

fn int128(b: &[u8]) -> i128 {
    let mut a = [0u8; 16];
    a[..b.len().min(16)].copy_from_slice(&b[..b.len().min(16)]);
    i128::from_le_bytes(a)
}

fuzz_target!(|data: &[u8]| {
    // Exact fractions from the first 32 bytes: any i128 pair.
    if data.len() >= 32 {
        let (num, den) = (int128(&data[..16]), int128(&data[16..32]));
        let decimals = u32::from(data.get(32).copied().unwrap_or(0) % 5);
        let shown = round_half_up(num, den, decimals);
        if let Some(e) = Exact::new(num, den) {
            assert!(e.den > 0, "a positive denominator");
            // Unless the unreduced fraction passed 128 bits once scaled.
            if shown != "—" {
                assert_eq!(e.display(decimals), shown, "reducing keeps the value: {num}/{den}");
            }
        } else {
            assert!(den == 0 || den == i128::MIN || num == i128::MIN, "{num}/{den}");
        }
        let _ = rate_display(num, den);
        // Within 64 bits (what sums of fen are), the arithmetic holds.
        let (a, b) = (num as i64 as i128, (den as i64 as i128).max(1));
        if let (Some(x), Some(y)) = (Exact::new(a, b), Exact::new(b, a.max(1))) {
            assert_eq!(x.cmp(&x), std::cmp::Ordering::Equal);
            let _ = (x < y, x.checked_div(y).map(|q| q.display(2)));
        }
    }

    let Ok(s) = std::str::from_utf8(data) else { return };
    let t = s.trim();
    if let Ok(id) = IdNumber::parse(s) {
        assert_eq!(IdNumber::parse(id.expose()).ok().as_ref(), Some(&id));
        assert_eq!(id.expose().len(), 18);
        assert_eq!(id.masked().chars().count(), 18);
        assert!(id.birth_date().is_some(), "a valid number has a real birth date");
    }
    if let Ok(c) = CreditCode::parse(s) {
        assert_eq!(CreditCode::parse(c.as_str()).ok().as_ref(), Some(&c));
        assert_eq!(c.as_str(), t.to_ascii_uppercase());
    }
    if let Ok(r) = RegionCode::parse(s) {
        assert_eq!(RegionCode::parse(r.as_str()).ok().as_ref(), Some(&r));
        assert!(r.as_str().starts_with(&r.subtree_prefix()));
        assert!(r.contains(&r));
    }
    let _ = RegionTable::builtin().resolve(s, None);
    if let Ok(d) = Date::parse(s) {
        assert_eq!(d.to_string(), t, "a date is written as it was read");
        assert_eq!(Date::parse(&d.to_string()).ok(), Some(d));
        let _ = d.chinese();
    }
    if let Ok(p) = Period::parse(s) {
        assert_eq!(p.as_str(), t);
        assert_eq!(Period::parse(p.as_str()).ok().as_ref(), Some(&p));
        let (year, month) = p.end();
        assert!(year >= 1990 && (1..=12).contains(&month), "{p}");
        if year > 1990 {
            assert!(Period::parse(p.previous_year().as_str()).is_ok(), "{p}");
        }
    }
    for f in [Fen::parse_yuan(s), Fen::parse_wan(s)].into_iter().flatten() {
        assert_eq!(Fen::parse_yuan(&f.yuan_exact()).ok(), Some(f), "{s:?}");
        let _ = (f.wan_display(), f.yi_display());
    }
    for decimals in 0..=6 {
        let _ = parse_scaled(s, decimals);
    }
    if let Ok(id) = domain::ids::PersonId::parse(s) {
        assert!(id.get() > 0);
        assert_eq!(domain::ids::PersonId::parse(&id.to_string()).ok(), Some(id));
    }
    if let Ok(p) = Phone::parse(s) {
        assert_eq!(Phone::parse(p.expose()).ok().as_ref(), Some(&p));
        let _ = p.masked();
    }
    assert_eq!(mask(s, 3, 4).chars().count(), s.chars().count());
    if let Ok(text) = required_text("name", "名称", s, 50) {
        assert!(!text.is_empty() && !has_control(&text));
    }
    if let Some(d) = services::exchange::import::date_text(s) {
        assert!(Date::parse(&d).is_ok(), "{s:?} → {d}");
    }
});
