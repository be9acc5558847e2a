//! Aid projects (援疆项目): code, sector, place, implementing organization, a status history
//! 立项 → 开工 → 完工 → 验收, funding lines in 分 by year and source, and outputs with units.

use crate::ids::{BatchId, OrgId, ProgramId, ProjectId};
use crate::orgs::code_in;
use crate::regions::RegionCode;
use crate::values::{check_span, count_field, required_text, Reference};
use crate::{Date, Entity, Fen, Invalid, Invalids, Val};

/// The statuses a project passes through, in order.
pub const STATUSES: &[(&str, &str)] =
    &[("approved", "立项"), ("started", "开工"), ("completed", "完工"), ("accepted", "验收")];

/// Sectors of projects (项目类别).
pub const SECTORS: &[(&str, &str)] = &[
    ("education", "教育"),
    ("medical", "医疗卫生"),
    ("industry", "产业发展"),
    ("employment", "就业"),
    ("infrastructure", "基础设施"),
    ("livelihood", "民生保障"),
    ("culture", "文化交流"),
    ("capacity", "干部人才培训"),
];

/// Funding sources.
pub const FUNDING_SOURCES: &[(&str, &str)] = &[
    ("province", "省本级援疆资金"),
    ("city", "市县援疆资金"),
    ("social", "社会帮扶资金"),
    ("local", "受援地配套资金"),
];

pub fn status_rank(status: &str) -> Option<usize> {
    STATUSES.iter().position(|(c, _)| *c == status)
}

/// How a project stands against its plan (红黄绿灯).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Schedule {
    Red,
    Amber,
    Green,
}

impl Schedule {
    pub const ALL: [Schedule; 3] = [Schedule::Red, Schedule::Amber, Schedule::Green];
    pub fn code(self) -> &'static str {
        match self {
            Schedule::Red => "red",
            Schedule::Amber => "amber",
            Schedule::Green => "green",
        }
    }
    pub fn zh(self) -> &'static str {
        match self {
            Schedule::Red => "红灯（滞后）",
            Schedule::Amber => "黄灯（预警）",
            Schedule::Green => "绿灯（正常）",
        }
    }
    pub fn en(self) -> &'static str {
        match self {
            Schedule::Red => "Red (behind)",
            Schedule::Amber => "Amber (at risk)",
            Schedule::Green => "Green (on track)",
        }
    }
}

/// A project's light is judged by [`crate::warnings::schedule`] under its program's thresholds.

#[derive(Debug, Clone, PartialEq)]
pub struct NewProject {
    pub program_id: ProgramId,
    pub batch_id: Option<BatchId>,
    pub code: String,
    pub name: String,
    pub sector: &'static str,
    pub region: RegionCode,
    pub org_id: Option<OrgId>,
    pub planned_start: Option<Date>,
    pub planned_end: Option<Date>,
    pub multi_year: bool,
    pub livelihood: bool,
}

impl NewProject {
    pub fn parse_sector(s: &str) -> Result<&'static str, Invalid> {
        code_in(SECTORS, "sector", "项目类别", s)
    }
}

impl Entity for NewProject {
    type Kind = crate::ids::kind::Project;
    fn columns(&self) -> Vec<(&'static str, Val)> {
        vec![
            ("program_id", self.program_id.into()),
            ("batch_id", self.batch_id.into()),
            ("code", self.code.clone().into()),
            ("name", self.name.clone().into()),
            ("sector", self.sector.into()),
            ("region_code", self.region.to_string().into()),
            ("org_id", self.org_id.into()),
            ("planned_start", self.planned_start.into()),
            ("planned_end", self.planned_end.into()),
            ("multi_year", self.multi_year.into()),
            ("livelihood", self.livelihood.into()),
        ]
    }
    fn check(&self) -> Result<(), Invalids> {
        let mut e = Invalids::default();
        e.take(required_text("code", "项目编码", &self.code, 40));
        e.take(required_text("name", "项目名称", &self.name, 200));
        e.take(check_span("planned_end", "计划完工日期", self.planned_start, self.planned_end));
        e.finish(|| ())
    }
    fn references(&self) -> Vec<Reference> {
        vec![
            Reference::new("program_id", "所属援疆工作", "programs", "id", self.program_id),
            Reference::new("batch_id", "批次", "batches", "id", self.batch_id),
            Reference::new("region_code", "项目地点", "regions", "code", self.region.to_string()),
            Reference::new("org_id", "实施单位", "organizations", "id", self.org_id),
        ]
    }
}

/// One step of a project's status history.
#[derive(Debug, Clone, PartialEq)]
pub struct NewStatusEvent {
    pub project_id: ProjectId,
    pub status: &'static str,
    pub date: Date,
}

impl NewStatusEvent {
    pub fn parse_status(s: &str) -> Result<&'static str, Invalid> {
        code_in(STATUSES, "status", "项目状态", s)
    }
}

impl Entity for NewStatusEvent {
    type Kind = crate::ids::kind::StatusEvent;
    fn columns(&self) -> Vec<(&'static str, Val)> {
        vec![("project_id", self.project_id.into()), ("status", self.status.into()), ("date", self.date.into())]
    }
    fn references(&self) -> Vec<Reference> {
        vec![Reference::new("project_id", "项目", "projects", "id", self.project_id)]
    }
}

/// One funding line: planned, allocated (到位) and disbursed (拨付) amounts for a year and source.
#[derive(Debug, Clone, PartialEq)]
pub struct NewFunding {
    pub project_id: ProjectId,
    pub year: i64,
    pub source: &'static str,
    pub planned: Fen,
    pub allocated: Fen,
    pub disbursed: Fen,
}

impl NewFunding {
    pub fn parse_source(s: &str) -> Result<&'static str, Invalid> {
        code_in(FUNDING_SOURCES, "source", "资金来源", s)
    }
}

impl Entity for NewFunding {
    type Kind = crate::ids::kind::Funding;
    fn columns(&self) -> Vec<(&'static str, Val)> {
        vec![
            ("project_id", self.project_id.into()),
            ("year", self.year.into()),
            ("source", self.source.into()),
            ("planned_fen", self.planned.0.into()),
            ("allocated_fen", self.allocated.0.into()),
            ("disbursed_fen", self.disbursed.0.into()),
        ]
    }
    fn check(&self) -> Result<(), Invalids> {
        let mut e = Invalids::default();
        e.take(self.planned.non_negative("planned_fen", "计划资金"));
        e.take(self.allocated.non_negative("allocated_fen", "到位资金"));
        e.take(self.disbursed.non_negative("disbursed_fen", "拨付资金"));
        if !(1990..=2100).contains(&self.year) {
            e.push(Invalid::new("year", "年度", "年度为 1990–2100", format!("年度 {} 无效", self.year)));
        }
        e.finish(|| ())
    }
    fn references(&self) -> Vec<Reference> {
        vec![Reference::new("project_id", "项目", "projects", "id", self.project_id)]
    }
}

/// An output of a project with its unit (2,000 座 greenhouses; 3,000 亩 of asparagus).
#[derive(Debug, Clone, PartialEq)]
pub struct NewOutput {
    pub project_id: ProjectId,
    pub kind: String,
    pub quantity: i64,
    pub unit: String,
}

impl Entity for NewOutput {
    type Kind = crate::ids::kind::Output;
    fn columns(&self) -> Vec<(&'static str, Val)> {
        vec![
            ("project_id", self.project_id.into()),
            ("kind", self.kind.clone().into()),
            ("quantity", self.quantity.into()),
            ("unit", self.unit.clone().into()),
        ]
    }
    fn check(&self) -> Result<(), Invalids> {
        let mut e = Invalids::default();
        e.take(required_text("kind", "产出名称", &self.kind, 100));
        e.take(required_text("unit", "计量单位", &self.unit, 20));
        e.take(count_field("quantity", "数量", self.quantity));
        e.finish(|| ())
    }
    fn references(&self) -> Vec<Reference> {
        vec![Reference::new("project_id", "项目", "projects", "id", self.project_id)]
    }
}

/// A span check reused by forms that edit planned dates.
pub fn check_planned(start: Option<Date>, end: Option<Date>) -> Result<(), Invalid> {
    check_span("planned_end", "计划完工日期", start, end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Option<Date> {
        Date::parse(s).ok()
    }

    #[test]
    fn a_projects_light_follows_its_plan() {
        let today = Date::parse("2025-06-30").unwrap();
        let t = crate::warnings::Thresholds::default();
        let schedule = |status: &str, start: Option<Date>, end: Option<Date>| {
            let (light, _, zh, _) = crate::warnings::schedule(&t, today, status, start, end);
            (light, zh)
        };
        let light = |status: &str, start: &str, end: &str| schedule(status, d(start), d(end)).0;
        // Not started: amber from the planned start, red after 30 days of grace.
        assert_eq!(light("approved", "2025-07-01", ""), Schedule::Green);
        assert_eq!(light("approved", "2025-06-30", ""), Schedule::Amber);
        assert_eq!(light("approved", "2025-05-31", ""), Schedule::Amber);
        assert_eq!(light("approved", "2025-05-30", ""), Schedule::Red);
        // Started: amber within 30 days of the planned end, red after it.
        assert_eq!(light("started", "2024-01-01", "2025-07-31"), Schedule::Green);
        assert_eq!(light("started", "2024-01-01", "2025-07-30"), Schedule::Amber);
        assert_eq!(light("started", "2024-01-01", "2025-06-30"), Schedule::Amber);
        assert_eq!(light("started", "2024-01-01", "2025-06-29"), Schedule::Red);
        // Done, or nothing to measure against.
        assert_eq!(light("completed", "2020-01-01", "2020-06-30"), Schedule::Green);
        assert_eq!(light("accepted", "", ""), Schedule::Green);
        assert_eq!(light("approved", "", ""), Schedule::Green);
        assert_eq!(light("approved", "", "2025-06-29"), Schedule::Red);
        assert_eq!(light("approved", "", "2025-07-30"), Schedule::Green);
        assert_eq!(schedule("started", None, d("2025-01-01")).1, "超过计划完工日期仍未完工");
    }
}
