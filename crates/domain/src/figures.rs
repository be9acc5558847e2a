//! Figures: named definitions over the records, evaluated by one engine (services::figures) for
//! the dashboard, reports, exports and API alike. A definition is data (stored as JSON in the
//! database); values are exact fractions, rounded only for display.

use crate::indicators::Period;
use crate::money::round_half_up;
use crate::reporting::Counted;
use crate::{Date, Invalid};
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;

/// The lines of work a figure belongs to (`FigureDef::line`), in the order of the summary
/// article: (code, heading). The home page groups its cards and reports their per-line tables by it.
pub const FIGURE_LINES: &[(&str, &str)] = &[
    ("overview", "总体情况"),
    ("education", "教育援疆"),
    ("medical", "医疗援疆"),
    ("industry", "产业援疆"),
    ("employment", "就业援疆"),
    ("investment", "招商引资"),
    ("exchange", "交往交流交融"),
];

/// A figure definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FigureDef {
    pub key: String,
    pub name: String,
    /// Line of work: overview, education, medical, industry, employment, investment, exchange.
    pub line: String,
    /// Display unit ("人", "个", "万元", "亿元", "%").
    pub unit: String,
    /// Decimals shown.
    pub decimals: u32,
    #[serde(default)]
    pub description: String,
    pub spec: Spec,
}

impl FigureDef {
    /// Which review states the figure counts, in words, when its records pass through review
    /// (报送审核); `None` for records that do not.
    pub fn counted_zh(&self) -> Option<&'static str> {
        match &self.spec {
            Spec::Records { source, counted, .. } if crate::reporting::REVIEWED_SOURCES.contains(&source.as_str()) => {
                Some(counted.zh())
            }
            _ => None,
        }
    }
}

/// What a figure computes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Spec {
    /// A count or sum over a record set, with filters and an optional date span.
    Records {
        source: String,
        measure: Measure,
        #[serde(default)]
        filters: Vec<Filter>,
        #[serde(default)]
        span: Option<Span>,
        /// The stored measure is divided by this for display (1 000 000 for 分 → 万元).
        #[serde(default = "one")]
        divisor: i64,
        /// Which review states count, for a source that passes through review (活动): by
        /// default approved records only.
        #[serde(default, skip_serializing_if = "Counted::is_default")]
        counted: Counted,
    },
    /// An indicator of an organization subtree over periods, combined across periods, or
    /// compared with another period.
    Indicator {
        indicator: String,
        /// Organization code; the value combines the organization and everything under it.
        org: String,
        periods: Vec<Period>,
        #[serde(default)]
        across: Across,
        #[serde(default)]
        compare: Option<Compare>,
        #[serde(default = "one")]
        divisor: i64,
    },
}

fn one() -> i64 {
    1
}

/// How a measure reduces a record set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", content = "field", rename_all = "snake_case")]
pub enum Measure {
    Count,
    CountDistinct(String),
    Sum(String),
    /// The median of a numeric field over the records that have it, by the nearest-rank method
    /// (the smallest value at least half of them do not exceed): always one of the values.
    Median(String),
    /// The 90th percentile of a numeric field, by the nearest-rank method: the smallest value
    /// that at least 90% of the records having it do not exceed.
    P90(String),
    /// The share of the records that meet a condition, in per cent (0–100): those meeting the
    /// filter over all of them.
    Share(Box<Filter>),
}

impl Measure {
    /// The numeric field a percentile reads, for a median or a 90th percentile.
    pub fn percentile(&self) -> Option<(&str, u32)> {
        match self {
            Measure::Median(f) => Some((f, 50)),
            Measure::P90(f) => Some((f, 90)),
            _ => None,
        }
    }
}

/// The nearest-rank percentile `pct` (1–100) of values sorted ascending: the value at rank
/// ⌈pct/100 × n⌉. `None` when there are none.
pub fn nearest_rank(sorted: &[i64], pct: u32) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let n = sorted.len() as u64;
    let rank = (u64::from(pct.clamp(1, 100)) * n).div_ceil(100).max(1);
    sorted.get(usize::try_from(rank - 1).ok()?).copied()
}

/// A filter on a field of the source. Values are codes (region codes, organization codes, type
/// codes, batch numbers), never display names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Filter {
    pub field: String,
    pub op: FilterOp,
    pub value: FilterValue,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FilterOp {
    Eq,
    In,
    /// The place or organization, or anything inside it.
    Under,
    NotUnder,
    Ge,
    Le,
    /// The field has no value (the value of the filter is ignored).
    Empty,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum FilterValue {
    Int(i64),
    Text(String),
    List(Vec<String>),
}

impl Filter {
    pub fn eq(field: &str, v: impl Into<FilterValue>) -> Filter {
        Filter { field: field.into(), op: FilterOp::Eq, value: v.into() }
    }
    pub fn any(field: &str, v: &[&str]) -> Filter {
        Filter {
            field: field.into(),
            op: FilterOp::In,
            value: FilterValue::List(v.iter().map(|s| s.to_string()).collect()),
        }
    }
    pub fn under(field: &str, code: &str) -> Filter {
        Filter { field: field.into(), op: FilterOp::Under, value: FilterValue::Text(code.into()) }
    }
    pub fn not_under(field: &str, code: &str) -> Filter {
        Filter { field: field.into(), op: FilterOp::NotUnder, value: FilterValue::Text(code.into()) }
    }
    pub fn empty(field: &str) -> Filter {
        Filter { field: field.into(), op: FilterOp::Empty, value: FilterValue::Text(String::new()) }
    }
    pub fn ge(field: &str, v: impl Into<FilterValue>) -> Filter {
        Filter { field: field.into(), op: FilterOp::Ge, value: v.into() }
    }
}

impl From<i64> for FilterValue {
    fn from(v: i64) -> Self {
        FilterValue::Int(v)
    }
}
impl From<&str> for FilterValue {
    fn from(v: &str) -> Self {
        FilterValue::Text(v.into())
    }
}

/// Dates from and to (both inclusive) on the source's date field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Span {
    pub from: Option<Date>,
    pub to: Option<Date>,
}

/// How an indicator's values over several periods reduce to one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Across {
    /// Exactly one period.
    #[default]
    Only,
    Min,
    Max,
    Sum,
    Avg,
    Last,
}

/// Compare the (single) period with a base period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Compare {
    pub base: Period,
    pub how: CompareHow,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CompareHow {
    /// value − base
    Diff,
    /// (value − base) / base × 100 (同比, in %)
    PctChange,
}

/// An exact value num/den; figures are never floats until they are shown.
///
/// Serialized with `num` and `den` as decimal strings, so that any value survives JSON (whose
/// numbers many readers hold as doubles) and no serializer has to refuse a 128-bit integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Exact {
    #[serde(serialize_with = "as_decimal_string")]
    pub num: i128,
    #[serde(serialize_with = "as_decimal_string")]
    pub den: i128,
}

fn as_decimal_string<S: serde::Serializer>(v: &i128, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

impl Exact {
    pub fn int(v: i128) -> Exact {
        Exact { num: v, den: 1 }
    }
    /// num/den in lowest terms with a positive denominator; `None` when den is 0, or when the
    /// fraction has no such form in 128 bits (a denominator of `i128::MIN` that does not reduce).
    pub fn new(num: i128, den: i128) -> Option<Exact> {
        if den == 0 {
            return None;
        }
        // In unsigned magnitudes: `i128::MIN` has no positive counterpart.
        let g = gcd_u(num.unsigned_abs(), den.unsigned_abs()).max(1);
        let (num, den) = if g == 1 { (num, den) } else { (num / g as i128, den / g as i128) };
        let (num, den) = if den < 0 { (num.checked_neg()?, den.checked_neg()?) } else { (num, den) };
        Some(Exact { num, den })
    }
    pub fn checked_div(self, other: Exact) -> Option<Exact> {
        Exact::new(self.num * other.den, self.den * other.num)
    }
    pub fn mul_int(self, k: i128) -> Exact {
        Exact::new(self.num * k, self.den).unwrap_or(self)
    }
    pub fn plus(self, o: Exact) -> Exact {
        Exact::new(self.num * o.den + o.num * self.den, self.den * o.den).unwrap_or(self)
    }
    pub fn minus(self, o: Exact) -> Exact {
        self.plus(Exact { num: -o.num, den: o.den })
    }
    /// Rounded half-up to `decimals`, as text ("41.36").
    pub fn display(self, decimals: u32) -> String {
        round_half_up(self.num, self.den, decimals)
    }
    /// Rounded half-up to `decimals`, as a JSON number.
    pub fn rounded_f64(self, decimals: u32) -> f64 {
        self.display(decimals).parse().unwrap_or(f64::NAN)
    }
}

impl PartialOrd for Exact {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Exact {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.num * other.den).cmp(&(other.num * self.den))
    }
}

fn gcd_u(mut a: u128, mut b: u128) -> u128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// A figure key: lowercase words joined by dots or underscores (`med.cataract_surgeries`).
pub fn check_key(key: &str) -> Result<(), Invalid> {
    let ok = !key.is_empty()
        && key.len() <= 80
        && key.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(Invalid::new("key", "指标键", "小写字母、数字、点与下划线", format!("“{key}”不是有效的指标键")))
    }
}

impl crate::Entity for FigureDef {
    type Kind = crate::ids::kind::Figure;
    fn columns(&self) -> Vec<(&'static str, crate::Val)> {
        vec![
            ("key", self.key.clone().into()),
            ("name", self.name.clone().into()),
            ("line", self.line.clone().into()),
            ("unit", self.unit.clone().into()),
            ("decimals", (self.decimals as i64).into()),
            ("description", self.description.clone().into()),
            ("spec", serde_json::to_string(&self.spec).unwrap_or_default().into()),
        ]
    }
    fn check(&self) -> Result<(), crate::Invalids> {
        let mut e = crate::Invalids::default();
        e.take(check_key(&self.key));
        if self.decimals > 4 {
            e.push(Invalid::new("decimals", "小数位", "0–4 位", "小数位须在 0–4 之间"));
        }
        e.finish(|| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_values_round_only_for_display() {
        let r = Exact::new(564 - 1234, 1234).unwrap().mul_int(100);
        assert_eq!(r.display(1), "-54.3");
        let a = Exact::new(124, 172).unwrap().mul_int(100);
        assert_eq!(a.display(1), "72.1");
        assert!(Exact::new(1, 3).unwrap() < Exact::new(34, 100).unwrap());
        assert_eq!(Exact::new(4_136_000_000_000, 10_000_000_000).unwrap().display(2), "413.60");
    }

    #[test]
    fn exact_values_at_the_edges_of_128_bits() {
        // `abs` of i128::MIN overflowed (a panic with overflow checks).
        assert_eq!(Exact::new(i128::MIN, 1), Some(Exact { num: i128::MIN, den: 1 }));
        assert_eq!(Exact::new(i128::MIN, 2), Some(Exact { num: i128::MIN / 2, den: 1 }));
        assert_eq!(Exact::new(i128::MIN, i128::MIN), Some(Exact::int(1)));
        assert_eq!(Exact::new(3, i128::MIN), None, "no positive denominator");
        assert_eq!(Exact::new(i128::MIN, -1), None, "no positive numerator");
        assert_eq!(Exact::new(6, -4), Some(Exact { num: -3, den: 2 }));
        assert_eq!(Exact::new(0, -5), Some(Exact::int(0)));
        assert_eq!(Exact::new(1, 0), None);
    }

    #[test]
    fn exact_values_beyond_64_bits_serialize() {
        let big = Exact::new(i64::MAX as i128 * 1000 + 1, 7).unwrap();
        let v = serde_json::to_value(big).unwrap();
        assert_eq!(v["num"], (i64::MAX as i128 * 1000 + 1).to_string());
        assert_eq!(v["den"], "7");
    }

    #[test]
    fn percentiles_by_nearest_rank() {
        assert_eq!(nearest_rank(&[], 50), None);
        assert_eq!(nearest_rank(&[7], 90), Some(7));
        assert_eq!(nearest_rank(&[1, 2, 3, 4], 50), Some(2));
        assert_eq!(nearest_rank(&[1, 2, 3, 4, 5], 50), Some(3));
        let v: Vec<i64> = (1..=20).collect();
        assert_eq!(nearest_rank(&v, 90), Some(18));
        assert_eq!(nearest_rank(&v[..11], 90), Some(10));
    }

    #[test]
    fn share_and_percentile_measures_round_trip_as_json() {
        let m = Measure::Share(Box::new(Filter::eq("on_time", 1)));
        let j = serde_json::to_string(&m).unwrap();
        assert_eq!(j, r#"{"op":"share","field":{"field":"on_time","op":"eq","value":1}}"#);
        assert_eq!(serde_json::from_str::<Measure>(&j).unwrap(), m);
        let p: Measure = serde_json::from_str(r#"{"op":"p90","field":"tat_minutes"}"#).unwrap();
        assert_eq!(p.percentile(), Some(("tat_minutes", 90)));
    }

    #[test]
    fn specs_round_trip_as_json() {
        let s = Spec::Records {
            source: "activities".into(),
            measure: Measure::Sum("beneficiaries".into()),
            filters: vec![Filter::eq("brand", "hongdujuan"), Filter::under("region", "653022")],
            span: Some(Span { from: Date::parse("2023-04-01").ok(), to: None }),
            divisor: 1,
            counted: Counted::Submitted,
        };
        let j = serde_json::to_string(&s).unwrap();
        let back: Spec = serde_json::from_str(&j).unwrap();
        assert_eq!(s, back);
    }
}
