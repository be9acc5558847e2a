//! Record identifiers. An [`Id<K>`] is the database id of one record of kind `K`: a positive
//! integer, typed, so that an organization's id cannot be passed where a person's is wanted.
//! Ids from outside (a URL, a form, a spreadsheet cell) are parsed with [`Id::parse`]; ids the
//! database issued come in through [`Id::issued`], which the store alone calls.

use crate::Invalid;
use crate::Val;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;

/// A kind of record: its table and its Chinese name.
pub trait Kind {
    const TABLE: &'static str;
    const LABEL: &'static str;
}

macro_rules! kinds {
    ($($(#[$doc:meta])* $kind:ident, $alias:ident, $table:literal, $label:literal;)*) => {
        /// The kinds of record, as type-level markers for [`Id`].
        pub mod kind {
            $(
                $(#[$doc])*
                #[derive(Debug, Clone, Copy, PartialEq, Eq)]
                pub enum $kind {}
                impl super::Kind for $kind {
                    const TABLE: &'static str = $table;
                    const LABEL: &'static str = $label;
                }
            )*
        }
        $(pub type $alias = Id<kind::$kind>;)*
    };
}

kinds! {
    Program, ProgramId, "programs", "援疆工作";
    Batch, BatchId, "batches", "批次";
    Org, OrgId, "organizations", "单位";
    Person, PersonId, "people", "人员";
    Project, ProjectId, "projects", "项目";
    StatusEvent, StatusEventId, "project_status_events", "项目状态";
    Funding, FundingId, "project_funding", "项目资金";
    Output, OutputId, "project_outputs", "项目产出";
    PairingType, PairingTypeId, "pairing_types", "结对类型";
    Pairing, PairingId, "pairings", "结对";
    ActivityType, ActivityTypeId, "activity_types", "活动类型";
    Brand, BrandId, "brands", "活动品牌";
    Activity, ActivityId, "activities", "活动";
    Procedure, ProcedureId, "activity_procedures", "诊疗手术量";
    IndicatorDef, IndicatorDefId, "indicator_defs", "指标定义";
    IndicatorValue, IndicatorValueId, "indicator_values", "指标值";
    IndicatorTarget, IndicatorTargetId, "indicator_targets", "指标基线与目标";
    /// A stored figure definition.
    Figure, FigureId, "figure_defs", "指标口径";
    Achievement, AchievementId, "achievements", "成果";
    Donation, DonationId, "donations", "捐赠";
    Centre, CentreId, "employment_centres", "就业之家";
    EmploymentRecord, EmploymentRecordId, "employment_records", "就业服务记录";
    InvestmentEvent, InvestmentEventId, "investment_events", "招商活动";
    InvestmentProject, InvestmentProjectId, "investment_projects", "招商签约项目";
    /// One version of a report template.
    ReportTemplate, ReportTemplateId, "report_templates", "报告模板";
    /// A report generated from a template, kept as evaluated.
    GeneratedReport, GeneratedReportId, "generated_reports", "已生成报告";
    User, UserId, "users", "用户";
}

/// The id of a record of kind `K`.
pub struct Id<K> {
    raw: i64,
    kind: PhantomData<fn() -> K>,
}

impl<K: Kind> Id<K> {
    /// An id given from outside (a URL segment, a form field, a spreadsheet cell): a positive
    /// integer in decimal digits. It is not yet known to exist; the store checks that.
    pub fn parse(s: &str) -> Result<Id<K>, Invalid> {
        let t = s.trim();
        let bad = || {
            Invalid::new("id", format!("{}编号", K::LABEL), "编号为正整数", format!("“{t}”不是有效的{}编号", K::LABEL))
        };
        if t.is_empty() || t.len() > 18 || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        match t.parse::<i64>() {
            Ok(n) if n > 0 => Ok(Id::issued(n)),
            _ => Err(bad()),
        }
    }
}

impl<K> Id<K> {
    /// An id the database issued (returned by an insert, read from a row).
    pub fn issued(raw: i64) -> Id<K> {
        Id { raw, kind: PhantomData }
    }
    pub fn get(self) -> i64 {
        self.raw
    }
}

impl<K> Clone for Id<K> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<K> Copy for Id<K> {}
impl<K> PartialEq for Id<K> {
    fn eq(&self, o: &Self) -> bool {
        self.raw == o.raw
    }
}
impl<K> Eq for Id<K> {}
impl<K> PartialOrd for Id<K> {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl<K> Ord for Id<K> {
    fn cmp(&self, o: &Self) -> Ordering {
        self.raw.cmp(&o.raw)
    }
}
impl<K> Hash for Id<K> {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.raw.hash(h)
    }
}
impl<K: Kind> fmt::Debug for Id<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{}", K::TABLE, self.raw)
    }
}
impl<K> fmt::Display for Id<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.raw)
    }
}
impl<K> Serialize for Id<K> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(self.raw)
    }
}
impl<'de, K> Deserialize<'de> for Id<K> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = i64::deserialize(d)?;
        if raw > 0 {
            Ok(Id::issued(raw))
        } else {
            Err(serde::de::Error::custom(format!("编号须为正整数，不能是 {raw}")))
        }
    }
}
impl<K> From<Id<K>> for Val {
    fn from(id: Id<K>) -> Val {
        Val::Int(Some(id.raw))
    }
}
impl<K> From<Option<Id<K>>> for Val {
    fn from(id: Option<Id<K>>) -> Val {
        Val::Int(id.map(|i| i.raw))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_positive_integers_only() {
        assert_eq!(PersonId::parse("42").unwrap().get(), 42);
        assert_eq!(PersonId::parse(" 7 ").unwrap().get(), 7);
        for bad in ["", "0", "-3", "+3", "4.0", "1e3", "４２", "abc", "9999999999999999999"] {
            let e = OrgId::parse(bad).unwrap_err();
            assert_eq!(e.field, "id", "{bad}");
            assert!(e.message.contains("单位编号"), "{e}");
        }
    }

    #[test]
    fn ids_travel_as_plain_numbers() {
        let id = ProjectId::issued(596);
        assert_eq!(serde_json::to_string(&id).unwrap(), "596");
        assert_eq!(serde_json::from_str::<ProjectId>("596").unwrap(), id);
        assert!(serde_json::from_str::<ProjectId>("0").is_err());
        assert_eq!(format!("{id:?}"), "projects#596");
        assert_eq!(Val::from(Some(id)), Val::Int(Some(596)));
    }
}
