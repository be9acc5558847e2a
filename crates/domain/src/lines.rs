//! The other lines of work: achievements (成果), donations (捐赠), employment centres (就业之家)
//! with their periodic figures, and investment promotion (招商引资) events and signed projects.

use crate::ids::{CentreId, InvestmentEventId, OrgId, PersonId, ProgramId};
use crate::indicators::Period;
use crate::orgs::code_in;
use crate::regions::RegionCode;
use crate::values::{count_field, required_text, Reference};
use crate::{Date, Entity, Fen, Invalids, Val};

pub const ACHIEVEMENT_KINDS: &[(&str, &str)] = &[
    ("new_unit", "新开设科室/部门"),
    ("upgraded_unit", "升级改造科室"),
    ("certification", "资质认证"),
    ("key_specialty", "重点专科"),
    ("research_project", "科研课题"),
    ("paper", "论文"),
    ("new_technique", "新技术新项目"),
    ("first_operation", "首例手术"),
    ("award", "获奖"),
    ("studio", "名医工作室"),
];

#[derive(Debug, Clone, PartialEq)]
pub struct NewAchievement {
    pub program_id: ProgramId,
    pub kind: &'static str,
    pub title: String,
    pub org_id: Option<OrgId>,
    pub person_id: Option<PersonId>,
    pub date: Date,
    /// e.g. surgery grade 3 or 4 for a new technique.
    pub level: Option<i64>,
}

impl NewAchievement {
    pub fn parse_kind(s: &str) -> Result<&'static str, crate::Invalid> {
        code_in(ACHIEVEMENT_KINDS, "kind", "成果类型", s)
    }
}

impl Entity for NewAchievement {
    type Kind = crate::ids::kind::Achievement;
    fn columns(&self) -> Vec<(&'static str, Val)> {
        vec![
            ("program_id", self.program_id.into()),
            ("kind", self.kind.into()),
            ("title", self.title.clone().into()),
            ("org_id", self.org_id.into()),
            ("person_id", self.person_id.into()),
            ("date", self.date.into()),
            ("level", self.level.into()),
        ]
    }
    fn check(&self) -> Result<(), Invalids> {
        required_text("title", "成果名称", &self.title, 200).map(|_| ()).map_err(Into::into)
    }
    fn references(&self) -> Vec<Reference> {
        vec![
            Reference::new("program_id", "所属援疆工作", "programs", "id", self.program_id),
            Reference::new("org_id", "单位", "organizations", "id", self.org_id),
            Reference::new("person_id", "人员", "people", "id", self.person_id),
        ]
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewDonation {
    pub program_id: ProgramId,
    /// "in_kind" (valued goods) or "cash".
    pub kind: &'static str,
    pub description: String,
    pub donor_org_id: Option<OrgId>,
    pub recipient_org_id: OrgId,
    pub value: Fen,
    pub date: Date,
}

impl Entity for NewDonation {
    type Kind = crate::ids::kind::Donation;
    fn columns(&self) -> Vec<(&'static str, Val)> {
        vec![
            ("program_id", self.program_id.into()),
            ("kind", self.kind.into()),
            ("description", self.description.clone().into()),
            ("donor_org_id", self.donor_org_id.into()),
            ("recipient_org_id", self.recipient_org_id.into()),
            ("value_fen", self.value.0.into()),
            ("date", self.date.into()),
        ]
    }
    fn check(&self) -> Result<(), Invalids> {
        let mut e = Invalids::default();
        e.take(required_text("description", "捐赠内容", &self.description, 200));
        e.take(self.value.non_negative("value_fen", "价值"));
        e.finish(|| ())
    }
    fn references(&self) -> Vec<Reference> {
        vec![
            Reference::new("program_id", "所属援疆工作", "programs", "id", self.program_id),
            Reference::new("donor_org_id", "捐赠单位", "organizations", "id", self.donor_org_id),
            Reference::new("recipient_org_id", "受赠单位", "organizations", "id", self.recipient_org_id),
        ]
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewEmploymentCentre {
    pub program_id: ProgramId,
    pub name: String,
    pub region: RegionCode,
    pub org_id: Option<OrgId>,
    pub opened: Date,
}

impl Entity for NewEmploymentCentre {
    type Kind = crate::ids::kind::Centre;
    fn columns(&self) -> Vec<(&'static str, Val)> {
        vec![
            ("program_id", self.program_id.into()),
            ("name", self.name.clone().into()),
            ("region_code", self.region.to_string().into()),
            ("org_id", self.org_id.into()),
            ("opened", self.opened.into()),
        ]
    }
    fn check(&self) -> Result<(), Invalids> {
        required_text("name", "名称", &self.name, 100).map(|_| ()).map_err(Into::into)
    }
    fn references(&self) -> Vec<Reference> {
        vec![
            Reference::new("program_id", "所属援疆工作", "programs", "id", self.program_id),
            Reference::new("region_code", "地点", "regions", "code", self.region.to_string()),
            Reference::new("org_id", "运营单位", "organizations", "id", self.org_id),
        ]
    }
}

/// What an employment centre did in one period.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEmploymentRecord {
    pub centre_id: CentreId,
    pub period: Period,
    pub jobs_offered: i64,
    pub trainees: i64,
    pub placements: i64,
}

impl Entity for NewEmploymentRecord {
    type Kind = crate::ids::kind::EmploymentRecord;
    fn columns(&self) -> Vec<(&'static str, Val)> {
        vec![
            ("centre_id", self.centre_id.into()),
            ("period", self.period.to_string().into()),
            ("jobs_offered", self.jobs_offered.into()),
            ("trainees", self.trainees.into()),
            ("placements", self.placements.into()),
        ]
    }
    fn check(&self) -> Result<(), Invalids> {
        let mut e = Invalids::default();
        e.take(count_field("jobs_offered", "提供岗位数", self.jobs_offered));
        e.take(count_field("trainees", "培训人次", self.trainees));
        e.take(count_field("placements", "实现就业人数", self.placements));
        e.finish(|| ())
    }
    fn references(&self) -> Vec<Reference> {
        vec![Reference::new("centre_id", "就业之家", "employment_centres", "id", self.centre_id)]
    }
}

pub const INVESTMENT_EVENT_KINDS: &[(&str, &str)] =
    &[("promotion", "招商推介活动"), ("expo", "展销会/订货会"), ("visit", "考察")];

#[derive(Debug, Clone, PartialEq)]
pub struct NewInvestmentEvent {
    pub program_id: ProgramId,
    pub kind: &'static str,
    pub name: String,
    pub date: Date,
    pub region: RegionCode,
    pub orders: Fen,
}

impl Entity for NewInvestmentEvent {
    type Kind = crate::ids::kind::InvestmentEvent;
    fn columns(&self) -> Vec<(&'static str, Val)> {
        vec![
            ("program_id", self.program_id.into()),
            ("kind", self.kind.into()),
            ("name", self.name.clone().into()),
            ("date", self.date.into()),
            ("region_code", self.region.to_string().into()),
            ("orders_fen", self.orders.0.into()),
        ]
    }
    fn check(&self) -> Result<(), Invalids> {
        let mut e = Invalids::default();
        e.take(required_text("name", "活动名称", &self.name, 200));
        e.take(self.orders.non_negative("orders_fen", "订单金额"));
        e.finish(|| ())
    }
    fn references(&self) -> Vec<Reference> {
        vec![
            Reference::new("program_id", "所属援疆工作", "programs", "id", self.program_id),
            Reference::new("region_code", "地点", "regions", "code", self.region.to_string()),
        ]
    }
}

/// A signed investment project of an enterprise.
#[derive(Debug, Clone, PartialEq)]
pub struct NewInvestmentProject {
    pub program_id: ProgramId,
    pub event_id: Option<InvestmentEventId>,
    pub enterprise_org_id: OrgId,
    pub name: String,
    pub signed_date: Date,
    pub region: RegionCode,
    pub amount: Fen,
    pub jobs: i64,
}

impl Entity for NewInvestmentProject {
    type Kind = crate::ids::kind::InvestmentProject;
    fn columns(&self) -> Vec<(&'static str, Val)> {
        vec![
            ("program_id", self.program_id.into()),
            ("event_id", self.event_id.into()),
            ("enterprise_org_id", self.enterprise_org_id.into()),
            ("name", self.name.clone().into()),
            ("signed_date", self.signed_date.into()),
            ("region_code", self.region.to_string().into()),
            ("amount_fen", self.amount.0.into()),
            ("jobs", self.jobs.into()),
        ]
    }
    fn check(&self) -> Result<(), Invalids> {
        let mut e = Invalids::default();
        e.take(required_text("name", "项目名称", &self.name, 200));
        e.take(self.amount.non_negative("amount_fen", "投资额"));
        e.take(count_field("jobs", "带动就业人数", self.jobs));
        e.finish(|| ())
    }
    fn references(&self) -> Vec<Reference> {
        vec![
            Reference::new("program_id", "所属援疆工作", "programs", "id", self.program_id),
            Reference::new("event_id", "招商活动", "investment_events", "id", self.event_id),
            Reference::new("enterprise_org_id", "签约企业", "organizations", "id", self.enterprise_org_id),
            Reference::new("region_code", "落地地点", "regions", "code", self.region.to_string()),
        ]
    }
}
