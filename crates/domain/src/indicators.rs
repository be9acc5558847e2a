//! Indicators (指标): definitions with a unit and a way to combine values across organizations and
//! periods, and values per organization and period, with baselines and targets. Values are
//! integers in the indicator's base unit scaled by 10^`scale` (revenue in 元 with scale 2 = 分),
//! so nothing is a float.

use crate::ids::OrgId;
use crate::orgs::code_in;
use crate::values::{required_text, Reference};
use crate::{Entity, Invalid, Invalids, Val};
use serde::{Deserialize, Serialize};
use std::fmt;

/// How values combine across organizations (and, for `last`, periods).
pub const COMBINES: &[(&str, &str)] = &[
    ("sum", "求和"),
    ("avg", "平均"),
    ("last", "取最新"),
    ("min", "最小值"),
    ("max", "最大值"),
    ("ratio", "两指标之比"),
];

/// A reporting period: a year `2024`, a quarter `2024-Q2` or a month `2024-06`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Period(String);

impl Period {
    pub fn parse(s: &str) -> Result<Period, Invalid> {
        let t = s.trim();
        let bad =
            || Invalid::new("period", "统计期", "年 YYYY、季 YYYY-Qn 或月 YYYY-MM", format!("“{t}”不是有效的统计期"));
        if !t.is_ascii() {
            return Err(bad());
        }
        let year_ok = |y: &str| y.len() == 4 && y.chars().all(|c| c.is_ascii_digit()) && y >= "1990";
        let ok = match t.len() {
            4 => year_ok(t),
            7 if &t[4..6] == "-Q" => year_ok(&t[..4]) && matches!(&t[6..], "1" | "2" | "3" | "4"),
            // Two digits: `u32::from_str` would take "+1" as well.
            7 if &t[4..5] == "-" => {
                year_ok(&t[..4])
                    && t[5..].bytes().all(|b| b.is_ascii_digit())
                    && t[5..].parse::<u32>().map(|m| (1..=12).contains(&m)).unwrap_or(false)
            }
            _ => false,
        };
        if ok {
            Ok(Period(t.to_string()))
        } else {
            Err(bad())
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn year(&self) -> i32 {
        self.0[..4].parse().unwrap_or(0)
    }
    /// When the period ends, as (year, month): 2024 → (2024, 12), 2024-Q2 → (2024, 6),
    /// 2024-05 → (2024, 5). Periods of different lengths order by this, not by their text.
    pub fn end(&self) -> (i32, u32) {
        let rest = &self.0[4..];
        let month = match rest.strip_prefix("-Q") {
            Some(q) => q.parse::<u32>().map_or(12, |q| q * 3),
            None => rest.strip_prefix('-').and_then(|m| m.parse().ok()).unwrap_or(12),
        };
        (self.year(), month)
    }
    /// The same period one year earlier (for 同比).
    pub fn previous_year(&self) -> Period {
        Period(format!("{}{}", self.year() - 1, &self.0[4..]))
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl TryFrom<String> for Period {
    type Error = Invalid;
    fn try_from(s: String) -> Result<Self, Invalid> {
        Period::parse(&s)
    }
}
impl From<Period> for String {
    fn from(p: Period) -> String {
        p.0
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewIndicatorDef {
    pub code: String,
    pub name: String,
    /// Display unit ("%", "元", "人次").
    pub unit: String,
    /// Stored values are the quantity × 10^scale.
    pub scale: i64,
    pub combine: &'static str,
    /// For `ratio`: value = numerator / denominator × `factor`.
    pub numerator: Option<String>,
    pub denominator: Option<String>,
    pub factor: i64,
    /// Whether a higher value is better (for warnings and 同比 colouring).
    pub higher_is_better: bool,
}

impl NewIndicatorDef {
    pub fn parse_combine(s: &str) -> Result<&'static str, Invalid> {
        code_in(COMBINES, "combine", "汇总方式", s)
    }
}

impl Entity for NewIndicatorDef {
    type Kind = crate::ids::kind::IndicatorDef;
    fn columns(&self) -> Vec<(&'static str, Val)> {
        vec![
            ("code", self.code.clone().into()),
            ("name", self.name.clone().into()),
            ("unit", self.unit.clone().into()),
            ("scale", self.scale.into()),
            ("combine", self.combine.into()),
            ("numerator", self.numerator.clone().into()),
            ("denominator", self.denominator.clone().into()),
            ("factor", self.factor.into()),
            ("higher_is_better", self.higher_is_better.into()),
        ]
    }
    fn check(&self) -> Result<(), Invalids> {
        let mut e = Invalids::default();
        e.take(required_text("code", "指标编码", &self.code, 60));
        e.take(required_text("name", "指标名称", &self.name, 100));
        if !(0..=6).contains(&self.scale) {
            e.push(Invalid::new("scale", "小数位", "0–6 位", "小数位须在 0–6 之间"));
        }
        if self.combine == "ratio" && (self.numerator.is_none() || self.denominator.is_none()) {
            e.push(Invalid::new("numerator", "分子指标", "比率指标须有分子与分母", "比率指标须指定分子和分母指标"));
        }
        e.finish(|| ())
    }
    fn references(&self) -> Vec<Reference> {
        vec![
            Reference::new("numerator", "分子指标", "indicator_defs", "code", self.numerator.clone()),
            Reference::new("denominator", "分母指标", "indicator_defs", "code", self.denominator.clone()),
        ]
    }
}

/// A value of an indicator for one organization and period.
#[derive(Debug, Clone, PartialEq)]
pub struct NewIndicatorValue {
    pub indicator_code: String,
    pub org_id: OrgId,
    pub period: Period,
    pub value: i64,
}

impl Entity for NewIndicatorValue {
    type Kind = crate::ids::kind::IndicatorValue;
    fn columns(&self) -> Vec<(&'static str, Val)> {
        vec![
            ("indicator_code", self.indicator_code.clone().into()),
            ("org_id", self.org_id.into()),
            ("period", self.period.to_string().into()),
            ("value", self.value.into()),
        ]
    }
    fn references(&self) -> Vec<Reference> {
        vec![
            Reference::new("indicator_code", "指标", "indicator_defs", "code", self.indicator_code.clone()),
            Reference::new("org_id", "填报单位", "organizations", "id", self.org_id),
        ]
    }
}

/// Baseline and target of an indicator for one organization.
#[derive(Debug, Clone, PartialEq)]
pub struct NewIndicatorTarget {
    pub indicator_code: String,
    pub org_id: OrgId,
    pub baseline_period: Period,
    pub baseline: i64,
    pub target_period: Period,
    pub target: i64,
}

impl Entity for NewIndicatorTarget {
    type Kind = crate::ids::kind::IndicatorTarget;
    fn columns(&self) -> Vec<(&'static str, Val)> {
        vec![
            ("indicator_code", self.indicator_code.clone().into()),
            ("org_id", self.org_id.into()),
            ("baseline_period", self.baseline_period.to_string().into()),
            ("baseline", self.baseline.into()),
            ("target_period", self.target_period.to_string().into()),
            ("target", self.target.into()),
        ]
    }
    fn check(&self) -> Result<(), Invalids> {
        if self.target_period.end() < self.baseline_period.end() {
            return Err(Invalid::new("target_period", "目标期", "目标期不得早于基线期", "目标期早于基线期").into());
        }
        Ok(())
    }
    fn references(&self) -> Vec<Reference> {
        vec![
            Reference::new("indicator_code", "指标", "indicator_defs", "code", self.indicator_code.clone()),
            Reference::new("org_id", "单位", "organizations", "id", self.org_id),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn periods() {
        assert!(Period::parse("2024").is_ok());
        assert!(Period::parse("2024-Q2").is_ok());
        assert!(Period::parse("2024-06").is_ok());
        assert!(Period::parse("2024-13").is_err());
        assert!(Period::parse("2024-Q5").is_err());
        // `u32::from_str` takes a sign: "2024-+1" was accepted as a month.
        for bad in ["2024-+1", "2024- 1", "2024-1 ", "+202-01"] {
            assert!(Period::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Period::parse("2024-Q2").unwrap().previous_year().as_str(), "2023-Q2");
        let end = |s: &str| Period::parse(s).unwrap().end();
        assert_eq!((end("2024"), end("2024-Q2"), end("2024-05")), ((2024, 12), (2024, 6), (2024, 5)));
        assert!(end("2024-Q4") > end("2024-11") && end("2024-12") == end("2024-Q4"));
        // Non-ASCII input of a plausible byte length is refused, not sliced mid-character.
        for s in ["二〇二四", "2024年", "2024-第2", "2024-Ｑ2", "２０２４-06"] {
            assert_eq!(Period::parse(s).unwrap_err().field, "period", "{s}");
        }
    }
}
