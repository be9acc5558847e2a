//! Money is integer 分 (fen). Amounts are entered in 元 or 万元 and shown in 万元 or 亿元;
//! every figure is kept exact (as a fraction) and rounded only for display, half-up
//! (half away from zero, 四舍五入).

use crate::Invalid;
use serde::{Deserialize, Serialize};
use std::fmt;

/// An amount of money in 分. Never a float.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
pub struct Fen(pub i64);

pub const FEN_PER_YUAN: i64 = 100;
pub const FEN_PER_WAN: i64 = 1_000_000;
pub const FEN_PER_YI: i64 = 10_000_000_000;

impl Fen {
    pub fn from_yuan(y: i64) -> Fen {
        Fen(y * FEN_PER_YUAN)
    }
    pub fn from_wan(w: i64) -> Fen {
        Fen(w * FEN_PER_WAN)
    }
    /// Parse an amount in 元 ("1,234.56", "1234") exactly.
    pub fn parse_yuan(s: &str) -> Result<Fen, Invalid> {
        parse_scaled(s, 2).map(Fen).ok_or_else(|| bad_amount(s, "元", 2))
    }
    /// Parse an amount in 万元 ("35109.43", "1,500") exactly; at most six decimals (1 分).
    pub fn parse_wan(s: &str) -> Result<Fen, Invalid> {
        parse_scaled(s, 6).map(Fen).ok_or_else(|| bad_amount(s, "万元", 6))
    }
    /// A money amount that may not be negative (budgets, funds, donations, investment).
    pub fn non_negative(self, field: &str, label: &str) -> Result<Fen, Invalid> {
        if self.0 < 0 {
            Err(Invalid::new(
                field,
                label,
                "金额不得为负数",
                format!("{label}为 {}，金额不得为负数", self.wan_display()),
            ))
        } else {
            Ok(self)
        }
    }
    /// The exact amount in 元 as text, "1234.56", "-0.05": what a form, a spreadsheet cell or
    /// an IATI value takes. Never rounded.
    pub fn yuan_exact(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let a = self.0.unsigned_abs();
        format!("{sign}{}.{:02}", a / 100, a % 100)
    }
    /// "35109.43" (万元, two decimals, half-up).
    pub fn wan_display(self) -> String {
        round_half_up(self.0 as i128, FEN_PER_WAN as i128, 2)
    }
    /// "41.36" (亿元, two decimals, half-up).
    pub fn yi_display(self) -> String {
        round_half_up(self.0 as i128, FEN_PER_YI as i128, 2)
    }
}

impl fmt::Display for Fen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}万元", self.wan_display())
    }
}

fn bad_amount(s: &str, unit: &str, decimals: u32) -> Invalid {
    Invalid::new(
        "amount",
        "金额",
        format!("金额以{unit}填写，最多 {decimals} 位小数"),
        format!("“{}”不是有效的{unit}金额", s.trim()),
    )
}

/// Parse a decimal number written by people ("1,234.5", "-3", " 12 ") into an integer scaled by
/// 10^`decimals`, exactly; `None` when it is not a number or has more decimals than allowed.
pub fn parse_scaled(s: &str, decimals: u32) -> Option<i64> {
    let t: String = s.trim().chars().filter(|c| *c != ',' && *c != '，').collect();
    let (neg, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest.to_string()),
        None => (false, t),
    };
    let (int, frac) = match t.split_once('.') {
        Some((i, f)) => (i.to_string(), f.to_string()),
        None => (t.clone(), String::new()),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.chars().all(|c| c.is_ascii_digit()) || !frac.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    if frac.len() as u32 > decimals {
        return None;
    }
    let mut digits = if int.is_empty() { "0".to_string() } else { int };
    digits.push_str(&frac);
    for _ in frac.len() as u32..decimals {
        digits.push('0');
    }
    let v: i64 = digits.parse().ok()?;
    Some(if neg { -v } else { v })
}

/// Round the fraction num/den to `decimals` places, half away from zero, as a decimal string.
/// Exact: no floating point is involved. In unsigned magnitudes, so every i128 fraction rounds;
/// "—" (as for a zero denominator) only when the scaled value passes 128 bits.
pub fn round_half_up(num: i128, den: i128, decimals: u32) -> String {
    if den == 0 {
        return "—".to_string();
    }
    let neg = (num < 0) != (den < 0);
    let d = den.unsigned_abs();
    let Some((a, scale)) =
        10u128.checked_pow(decimals).and_then(|scale| num.unsigned_abs().checked_mul(scale).map(|a| (a, scale)))
    else {
        return "—".to_string();
    };
    let mut q = a / d;
    // r * 2 >= d, without the doubling.
    let r = a % d;
    if r >= d - r {
        q += 1;
    }
    let int = q / scale;
    let frac = q % scale;
    let sign = if neg && q != 0 { "-" } else { "" };
    if decimals == 0 {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{:0width$}", frac, width = decimals as usize)
    }
}

/// A rate a/b as a percentage with one decimal ("92.3"); rates may exceed 100.
pub fn rate_display(a: i128, b: i128) -> String {
    match a.checked_mul(100) {
        Some(a) => round_half_up(a, b, 1),
        None => "—".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_cases_from_the_reports_issue() {
        assert_eq!(rate_display(943, 1022), "92.3");
        assert_eq!(rate_display(5732, 5643), "101.6");
        assert_eq!(rate_display(31, 37), "83.8");
        assert_eq!(Fen::from_yuan(351_094_300).wan_display(), "35109.43");
        assert_eq!(round_half_up(5, 1000, 2), "0.01");
        assert_eq!(round_half_up(-5, 1000, 2), "-0.01");
        assert_eq!(round_half_up(-5429, 100, 1), "-54.3");
        assert_eq!(round_half_up(4, 1000, 2), "0.00");
        assert_eq!(round_half_up(5, -1000, 2), "-0.01");
        assert_eq!(round_half_up(-5, -1000, 2), "0.01");
    }

    #[test]
    fn rounding_at_the_edges_of_128_bits() {
        // `abs` of i128::MIN overflowed (a panic with overflow checks).
        assert_eq!(round_half_up(i128::MIN, 1, 0), "-170141183460469231731687303715884105728");
        assert_eq!(round_half_up(i128::MIN, -1, 0), "170141183460469231731687303715884105728");
        assert_eq!(round_half_up(i128::MIN, i128::MIN, 0), "1");
        assert_eq!(round_half_up(i128::MIN, i128::MIN, 2), "—", "2^127 × 100 passes 128 bits");
        assert_eq!(round_half_up(i128::MAX, i128::MAX - 1, 0), "1");
        assert_eq!(round_half_up(i128::MAX, 1, 2), "—", "beyond 128 bits once scaled");
        assert_eq!(rate_display(i128::MAX, 3), "—");
    }

    #[test]
    fn yuan_exact_is_exact_with_its_sign() {
        assert_eq!(Fen(123_456).yuan_exact(), "1234.56");
        assert_eq!(Fen(-123_456).yuan_exact(), "-1234.56");
        assert_eq!(Fen(5).yuan_exact(), "0.05");
        assert_eq!(Fen(-5).yuan_exact(), "-0.05");
        assert_eq!(Fen(0).yuan_exact(), "0.00");
        assert_eq!(Fen(100).yuan_exact(), "1.00");
        assert_eq!(Fen(i64::MIN).yuan_exact(), "-92233720368547758.08");
        for f in [0, 5, -5, 99, -100, 123_456, -987_654_321] {
            assert_eq!(Fen::parse_yuan(&Fen(f).yuan_exact()).unwrap(), Fen(f), "round trip {f}");
        }
    }

    #[test]
    fn amounts_parse_exactly() {
        assert_eq!(Fen::parse_yuan("1,234.56").unwrap(), Fen(123_456));
        assert_eq!(Fen::parse_wan("35109.43").unwrap(), Fen::from_yuan(351_094_300));
        assert_eq!(Fen::parse_wan("0.000001").unwrap(), Fen(1));
        assert!(Fen::parse_yuan("12.345").is_err());
        assert!(Fen::parse_yuan("abc").is_err());
        assert!(Fen::parse_yuan("").is_err());
        assert_eq!(Fen::parse_yuan("-3").unwrap(), Fen(-300));
        let e = Fen(-1).non_negative("planned_fen", "计划金额").unwrap_err();
        assert_eq!(e.field, "planned_fen");
        assert_eq!(e.rule, "金额不得为负数");
    }
}
