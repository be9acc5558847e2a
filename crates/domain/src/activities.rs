//! Activities (活动): typed, dated, placed events organized by someone, optionally under a project,
//! a pairing or a named brand, with counted measures in 人次 and procedures by kind.

use crate::ids::{ActivityId, OrgId, PairingId, ProgramId, ProjectId};
use crate::regions::RegionCode;
use crate::values::{check_span, count_field, required_text, Reference};
use crate::{Date, Entity, Invalids, Val};

/// Built-in activity types; programs add their own.
pub const ACTIVITY_TYPES: &[(&str, &str)] = &[
    ("free_clinic", "义诊"),
    ("lecture", "讲座/大讲堂"),
    ("volunteer", "志愿服务"),
    ("training", "培训"),
    ("camp", "营地/冬夏令营"),
    ("open_day", "开放日"),
    ("remote_class", "远程课堂"),
    ("remote_consultation", "远程会诊"),
    ("campaign", "专项行动"),
    ("exchange_visit", "交流互访"),
];

/// Brands under which activities are run.
pub const BRANDS: &[(&str, &str)] = &[
    ("hongdujuan", "红杜鹃"),
    ("hongdujuan_microlecture", "红杜鹃微讲堂"),
    ("long_march_vr", "重走长征路VR课程"),
    ("guyu_poetry", "谷雨诗会"),
    ("jiangxi_red_doctor", "江西红医生"),
    ("guangming", "光明行动"),
    ("smile_taotao", "微笑陶陶"),
    ("early_cancer", "消化道早癌筛查"),
    ("one_family", "赣克两地一家亲"),
];

/// Kinds of procedures counted at activities.
pub const PROCEDURE_KINDS: &[(&str, &str)] = &[
    ("cataract", "白内障手术"),
    ("cleft_lip", "唇腭裂修复术"),
    ("early_cancer_screening", "消化道早癌筛查"),
    ("consultation", "诊疗"),
];

#[derive(Debug, Clone, PartialEq)]
pub struct NewActivity {
    pub program_id: ProgramId,
    pub type_code: String,
    pub brand_code: Option<String>,
    /// The line of work (援疆领域, `people::LINES`).
    pub line: &'static str,
    pub title: String,
    pub date: Date,
    pub end_date: Option<Date>,
    pub region: RegionCode,
    pub organizer_org_id: Option<OrgId>,
    pub project_id: Option<ProjectId>,
    pub pairing_id: Option<PairingId>,
    pub participants: i64,
    pub beneficiaries: i64,
}

impl Entity for NewActivity {
    type Kind = crate::ids::kind::Activity;
    fn columns(&self) -> Vec<(&'static str, Val)> {
        vec![
            ("program_id", self.program_id.into()),
            ("type_code", self.type_code.clone().into()),
            ("brand_code", self.brand_code.clone().into()),
            ("line", self.line.into()),
            ("title", self.title.clone().into()),
            ("date", self.date.into()),
            ("end_date", self.end_date.into()),
            ("region_code", self.region.to_string().into()),
            ("organizer_org_id", self.organizer_org_id.into()),
            ("project_id", self.project_id.into()),
            ("pairing_id", self.pairing_id.into()),
            ("participants", self.participants.into()),
            ("beneficiaries", self.beneficiaries.into()),
        ]
    }
    fn check(&self) -> Result<(), Invalids> {
        let mut e = Invalids::default();
        e.take(required_text("title", "活动名称", &self.title, 200));
        e.take(check_span("end_date", "结束日期", Some(self.date), self.end_date));
        e.take(count_field("participants", "参与人次", self.participants));
        e.take(count_field("beneficiaries", "受益人次", self.beneficiaries));
        e.finish(|| ())
    }
    fn references(&self) -> Vec<Reference> {
        vec![
            Reference::new("program_id", "所属援疆工作", "programs", "id", self.program_id),
            Reference::new("type_code", "活动类型", "activity_types", "code", self.type_code.clone()),
            Reference::new("brand_code", "品牌", "brands", "code", self.brand_code.clone()),
            Reference::new("region_code", "活动地点", "regions", "code", self.region.to_string()),
            Reference::new("organizer_org_id", "组织单位", "organizations", "id", self.organizer_org_id),
            Reference::new("project_id", "所属项目", "projects", "id", self.project_id),
            Reference::new("pairing_id", "所属结对", "pairings", "id", self.pairing_id),
        ]
    }
}

/// Procedures of one kind done at an activity (312 cataract operations…).
#[derive(Debug, Clone, PartialEq)]
pub struct NewProcedure {
    pub activity_id: ActivityId,
    pub kind: &'static str,
    pub count: i64,
}

impl Entity for NewProcedure {
    type Kind = crate::ids::kind::Procedure;
    fn columns(&self) -> Vec<(&'static str, Val)> {
        vec![("activity_id", self.activity_id.into()), ("kind", self.kind.into()), ("cases", self.count.into())]
    }
    fn check(&self) -> Result<(), Invalids> {
        count_field("count", "例数", self.count).map(|_| ()).map_err(Into::into)
    }
    fn references(&self) -> Vec<Reference> {
        vec![Reference::new("activity_id", "活动", "activities", "id", self.activity_id)]
    }
}
