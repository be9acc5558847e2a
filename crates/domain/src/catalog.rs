//! The catalogue of record types: for each, its table, its names in Chinese and English, its
//! fields with their kinds, which organization columns place a record in the organization trees
//! (for scoping by role), and what can be searched. The store whitelists list queries against
//! it; the web renders lists, details and filters from it. One description, used by both.

use crate::activities::PROCEDURE_KINDS;
use crate::indicators::COMBINES;
use crate::lines::{ACHIEVEMENT_KINDS, INVESTMENT_EVENT_KINDS};
use crate::orgs::ORG_KINDS;
use crate::people::{CATEGORIES, LINES, PERSON_KINDS};
use crate::projects::{FUNDING_SOURCES, SECTORS, STATUSES};

/// How a field is stored and shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    Text,
    Int,
    /// `YYYY-MM-DD`.
    Date,
    /// Integer 分, shown in 万元 with two decimals.
    Money,
    /// 0 or 1.
    Flag,
    /// A statistical period: `YYYY`, `YYYY-Qn`, `YYYY-MM`.
    Period,
    /// One of a fixed code list.
    Code(&'static [(&'static str, &'static str)]),
    /// The id of a record of another table, shown by that record's `show` column.
    Ref {
        table: &'static str,
        show: &'static str,
    },
    /// A code of another table (a type, a brand, an indicator), shown by its `name`.
    CodeRef {
        table: &'static str,
    },
    /// A GB/T 2260 region code, shown by its name.
    Region,
    /// A personal identifier: only its mask is ever listed.
    Secret,
}

#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub zh: &'static str,
    pub en: &'static str,
    pub kind: FieldKind,
    /// Shown as a column of the list.
    pub list: bool,
    /// Offered as a filter of the list.
    pub filter: bool,
}

const fn fl(
    name: &'static str,
    zh: &'static str,
    en: &'static str,
    kind: FieldKind,
    list: bool,
    filter: bool,
) -> Field {
    Field { name, zh, en, kind, list, filter }
}

/// A record type as the users see it.
#[derive(Debug, Clone, Copy)]
pub struct RecordType {
    pub table: &'static str,
    /// The URL segment: `/records/{slug}`.
    pub slug: &'static str,
    pub zh: &'static str,
    pub en: &'static str,
    /// The column that names a record in lists and headings.
    pub title: &'static str,
    pub fields: &'static [Field],
    /// Organization columns that place a record in the trees: a scoped user sees the record
    /// when any of them is inside the user's organization. Empty: shared reference data.
    pub owners: &'static [&'static str],
    /// Text columns a search looks in.
    pub search: &'static [&'static str],
    /// Where the record hangs (a funding line under its project): (column, table).
    pub parent: Option<(&'static str, &'static str)>,
    /// The date field a list is selected by with `year`, `from` and `to` (the date the figures
    /// count the record set by); `None`: the type has no such date.
    pub date: Option<&'static str>,
}

impl RecordType {
    pub fn field(&self, name: &str) -> Option<&'static Field> {
        self.fields.iter().find(|f| f.name == name)
    }
    pub fn name(&self, en: bool) -> &'static str {
        if en {
            self.en
        } else {
            self.zh
        }
    }
}

use FieldKind::*;

const ORG: FieldKind = Ref { table: "organizations", show: "name" };
const PERSON: FieldKind = Ref { table: "people", show: "name" };
const PROJECT: FieldKind = Ref { table: "projects", show: "name" };
const BATCH: FieldKind = Ref { table: "batches", show: "number" };
const SIDES: &[(&str, &str)] = &[("donor", "支援方"), ("recipient", "受援方")];
const GENDERS: &[(&str, &str)] = &[("男", "男"), ("女", "女")];
const DONATION_KINDS: &[(&str, &str)] = &[("in_kind", "实物"), ("cash", "资金")];
const PARTIES: &[(&str, &str)] = &[("org", "单位之间"), ("person", "人员之间")];

pub static RECORD_TYPES: &[RecordType] = &[
    RecordType {
        table: "projects",
        slug: "projects",
        zh: "项目",
        en: "Projects",
        title: "name",
        fields: &[
            fl("code", "项目编号", "Code", Text, true, false),
            fl("name", "项目名称", "Name", Text, true, false),
            fl("sector", "项目类别", "Sector", Code(SECTORS), true, true),
            fl("status", "当前状态", "Status", Code(STATUSES), true, true),
            fl("status_date", "状态日期", "Status date", Date, false, false),
            fl("region_code", "建设地点", "Place", Region, true, true),
            fl("org_id", "实施单位", "Implementing body", ORG, true, true),
            fl("batch_id", "批次", "Batch", BATCH, false, true),
            fl("planned_start", "计划开工", "Planned start", Date, true, false),
            fl("planned_end", "计划完工", "Planned end", Date, false, false),
            fl("multi_year", "跨年度项目", "Multi-year", Flag, false, true),
            fl("livelihood", "民生项目", "Livelihood", Flag, false, true),
        ],
        owners: &["org_id"],
        search: &["code", "name"],
        parent: None,
        date: Some("planned_start"),
    },
    RecordType {
        table: "project_funding",
        slug: "funding",
        zh: "项目资金",
        en: "Project funding",
        title: "year",
        fields: &[
            fl("project_id", "项目", "Project", PROJECT, true, true),
            fl("year", "年度", "Year", Int, true, true),
            fl("source", "资金来源", "Source", Code(FUNDING_SOURCES), true, true),
            fl("planned_fen", "计划投资", "Planned", Money, true, false),
            fl("allocated_fen", "已下达", "Allocated", Money, true, false),
            fl("disbursed_fen", "已拨付", "Disbursed", Money, true, false),
        ],
        owners: &["project_id.org_id"],
        search: &[],
        parent: Some(("project_id", "projects")),
        date: None,
    },
    RecordType {
        table: "project_outputs",
        slug: "outputs",
        zh: "项目产出",
        en: "Project outputs",
        title: "kind",
        fields: &[
            fl("project_id", "项目", "Project", PROJECT, true, true),
            fl("kind", "产出内容", "Output", Text, true, false),
            fl("quantity", "数量", "Quantity", Int, true, false),
            fl("unit", "单位", "Unit", Text, true, false),
        ],
        owners: &["project_id.org_id"],
        search: &["kind"],
        parent: Some(("project_id", "projects")),
        date: None,
    },
    RecordType {
        table: "project_status_events",
        slug: "project-status",
        zh: "项目状态记录",
        en: "Project status history",
        title: "status",
        fields: &[
            fl("project_id", "项目", "Project", PROJECT, true, true),
            fl("status", "状态", "Status", Code(STATUSES), true, true),
            fl("date", "日期", "Date", Date, true, false),
        ],
        owners: &["project_id.org_id"],
        search: &[],
        parent: Some(("project_id", "projects")),
        date: Some("date"),
    },
    RecordType {
        table: "people",
        slug: "people",
        zh: "人员",
        en: "People",
        title: "name",
        fields: &[
            fl("name", "姓名", "Name", Text, true, false),
            fl("kind", "人员类别", "Kind", Code(PERSON_KINDS), true, true),
            fl("gender", "性别", "Gender", Code(GENDERS), false, true),
            fl("batch_id", "批次", "Batch", BATCH, true, true),
            fl("category", "援疆类别", "Category", Code(CATEGORIES), true, true),
            fl("line", "工作条线", "Line of work", Code(LINES), true, true),
            fl("title", "职称/职务", "Title", Text, false, false),
            fl("post", "岗位", "Post", Text, true, false),
            fl("home_org_id", "派出单位", "Home organization", ORG, false, true),
            fl("host_org_id", "受援单位", "Host organization", ORG, true, true),
            fl("start_date", "到岗日期", "Start", Date, false, false),
            fl("end_date", "离岗日期", "End", Date, false, false),
            fl("id_number", "身份证号", "ID number", Secret, false, false),
            fl("phone", "手机号码", "Phone", Secret, false, false),
        ],
        owners: &["home_org_id", "host_org_id"],
        search: &["name", "post"],
        parent: None,
        date: Some("start_date"),
    },
    RecordType {
        table: "pairings",
        slug: "pairings",
        zh: "结对",
        en: "Pairings",
        title: "type_code",
        fields: &[
            fl("type_code", "结对类型", "Type", CodeRef { table: "pairing_types" }, true, true),
            fl("a_org_id", "支援方单位", "Donor organization", ORG, true, true),
            fl("b_org_id", "受援方单位", "Recipient organization", ORG, true, true),
            fl("a_person_id", "导师", "Mentor", PERSON, true, false),
            fl("b_person_id", "徒弟", "Mentee", PERSON, true, false),
            fl("start_date", "开始日期", "Start", Date, true, false),
            fl("end_date", "结束日期", "End", Date, false, false),
            fl("note", "备注", "Note", Text, false, false),
        ],
        owners: &["a_org_id", "b_org_id", "a_person_id.host_org_id", "b_person_id.host_org_id"],
        search: &["note"],
        parent: None,
        date: Some("start_date"),
    },
    RecordType {
        table: "activities",
        slug: "activities",
        zh: "活动",
        en: "Activities",
        title: "title",
        fields: &[
            fl("title", "活动名称", "Title", Text, true, false),
            fl("type_code", "活动类型", "Type", CodeRef { table: "activity_types" }, true, true),
            fl("brand_code", "活动品牌", "Brand", CodeRef { table: "brands" }, true, true),
            fl("line", "工作条线", "Line of work", Code(LINES), true, true),
            fl("date", "日期", "Date", Date, true, false),
            fl("end_date", "结束日期", "End", Date, false, false),
            fl("region_code", "地点", "Place", Region, true, true),
            fl("organizer_org_id", "组织单位", "Organizer", ORG, true, true),
            fl("project_id", "所属项目", "Project", PROJECT, false, true),
            fl("pairing_id", "所属结对", "Pairing", Ref { table: "pairings", show: "type_code" }, false, true),
            fl("participants", "参与人次", "Participants", Int, true, false),
            fl("beneficiaries", "受益人次", "Beneficiaries", Int, true, false),
        ],
        owners: &["organizer_org_id"],
        search: &["title"],
        parent: None,
        date: Some("date"),
    },
    RecordType {
        table: "activity_procedures",
        slug: "procedures",
        zh: "诊疗手术量",
        en: "Procedures",
        title: "kind",
        fields: &[
            fl("activity_id", "活动", "Activity", Ref { table: "activities", show: "title" }, true, true),
            fl("kind", "类别", "Kind", Code(PROCEDURE_KINDS), true, true),
            fl("cases", "例数", "Cases", Int, true, false),
        ],
        owners: &["activity_id.organizer_org_id"],
        search: &[],
        parent: Some(("activity_id", "activities")),
        date: None,
    },
    RecordType {
        table: "organizations",
        slug: "organizations",
        zh: "单位",
        en: "Organizations",
        title: "name",
        fields: &[
            fl("code", "单位编码", "Code", Text, true, false),
            fl("name", "单位名称", "Name", Text, true, false),
            fl("side", "所属方", "Side", Code(SIDES), true, true),
            fl("kind", "单位类型", "Kind", Code(ORG_KINDS), true, true),
            fl("parent_id", "上级单位", "Parent", ORG, true, true),
            fl("region_code", "所在地区", "Place", Region, true, true),
            fl("credit_code", "统一社会信用代码", "Credit code", Text, false, false),
        ],
        owners: &["id"],
        search: &["code", "name"],
        parent: None,
        date: None,
    },
    RecordType {
        table: "indicator_values",
        slug: "indicator-values",
        zh: "指标值",
        en: "Indicator values",
        title: "period",
        fields: &[
            fl("indicator_code", "指标", "Indicator", CodeRef { table: "indicator_defs" }, true, true),
            fl("org_id", "填报单位", "Organization", ORG, true, true),
            fl("period", "统计期", "Period", Period, true, true),
            fl("value", "原始值", "Raw value", Int, true, false),
        ],
        owners: &["org_id"],
        search: &[],
        parent: None,
        date: None,
    },
    RecordType {
        table: "indicator_targets",
        slug: "indicator-targets",
        zh: "指标基线与目标",
        en: "Baselines and targets",
        title: "indicator_code",
        fields: &[
            fl("indicator_code", "指标", "Indicator", CodeRef { table: "indicator_defs" }, true, true),
            fl("org_id", "单位", "Organization", ORG, true, true),
            fl("baseline_period", "基期", "Baseline period", Period, true, false),
            fl("baseline", "基线值", "Baseline", Int, true, false),
            fl("target_period", "目标期", "Target period", Period, true, false),
            fl("target", "目标值", "Target", Int, true, false),
        ],
        owners: &["org_id"],
        search: &[],
        parent: None,
        date: None,
    },
    RecordType {
        table: "indicator_defs",
        slug: "indicators",
        zh: "指标定义",
        en: "Indicators",
        title: "name",
        fields: &[
            fl("code", "指标编码", "Code", Text, true, false),
            fl("name", "指标名称", "Name", Text, true, false),
            fl("unit", "计量单位", "Unit", Text, true, false),
            fl("combine", "汇总方式", "Combines by", Code(COMBINES), true, true),
            fl("numerator", "分子指标", "Numerator", CodeRef { table: "indicator_defs" }, false, false),
            fl("denominator", "分母指标", "Denominator", CodeRef { table: "indicator_defs" }, false, false),
            fl("scale", "小数位", "Decimal places", Int, false, false),
            fl("factor", "比率系数", "Ratio factor", Int, false, false),
            fl("higher_is_better", "数值越高越好", "Higher is better", Flag, false, false),
        ],
        owners: &[],
        search: &["code", "name"],
        parent: None,
        date: None,
    },
    RecordType {
        table: "achievements",
        slug: "achievements",
        zh: "成果",
        en: "Achievements",
        title: "title",
        fields: &[
            fl("title", "成果名称", "Title", Text, true, false),
            fl("kind", "成果类型", "Kind", Code(ACHIEVEMENT_KINDS), true, true),
            fl("org_id", "单位", "Organization", ORG, true, true),
            fl("person_id", "人员", "Person", PERSON, false, false),
            fl("date", "日期", "Date", Date, true, false),
            fl("level", "级别", "Level", Int, false, false),
        ],
        owners: &["org_id"],
        search: &["title"],
        parent: None,
        date: Some("date"),
    },
    RecordType {
        table: "donations",
        slug: "donations",
        zh: "捐赠",
        en: "Donations",
        title: "description",
        fields: &[
            fl("description", "捐赠内容", "Description", Text, true, false),
            fl("kind", "捐赠方式", "Kind", Code(DONATION_KINDS), true, true),
            fl("donor_org_id", "捐赠单位", "Donor", ORG, true, true),
            fl("recipient_org_id", "受赠单位", "Recipient", ORG, true, true),
            fl("value_fen", "折合金额", "Value", Money, true, false),
            fl("date", "日期", "Date", Date, true, false),
        ],
        owners: &["donor_org_id", "recipient_org_id"],
        search: &["description"],
        parent: None,
        date: Some("date"),
    },
    RecordType {
        table: "employment_centres",
        slug: "employment-centres",
        zh: "就业之家",
        en: "Employment centres",
        title: "name",
        fields: &[
            fl("name", "名称", "Name", Text, true, false),
            fl("region_code", "所在地", "Place", Region, true, true),
            fl("org_id", "主管单位", "Organization", ORG, true, true),
            fl("opened", "建成日期", "Opened", Date, true, false),
        ],
        owners: &["org_id"],
        search: &["name"],
        parent: None,
        date: Some("opened"),
    },
    RecordType {
        table: "employment_records",
        slug: "employment-records",
        zh: "就业服务记录",
        en: "Employment records",
        title: "period",
        fields: &[
            fl("centre_id", "就业之家", "Centre", Ref { table: "employment_centres", show: "name" }, true, true),
            fl("period", "统计期", "Period", Period, true, true),
            fl("jobs_offered", "提供岗位", "Jobs offered", Int, true, false),
            fl("trainees", "培训人次", "Trainees", Int, true, false),
            fl("placements", "转移就业人数", "Placements", Int, true, false),
        ],
        owners: &["centre_id.org_id"],
        search: &[],
        parent: Some(("centre_id", "employment_centres")),
        date: None,
    },
    RecordType {
        table: "investment_events",
        slug: "investment-events",
        zh: "招商活动",
        en: "Investment events",
        title: "name",
        fields: &[
            fl("name", "活动名称", "Name", Text, true, false),
            fl("kind", "活动类型", "Kind", Code(INVESTMENT_EVENT_KINDS), true, true),
            fl("date", "日期", "Date", Date, true, false),
            fl("region_code", "地点", "Place", Region, true, true),
            fl("orders_fen", "订单金额", "Orders", Money, true, false),
        ],
        owners: &[],
        search: &["name"],
        parent: None,
        date: Some("date"),
    },
    RecordType {
        table: "investment_projects",
        slug: "investment-projects",
        zh: "招商签约项目",
        en: "Signed investment projects",
        title: "name",
        fields: &[
            fl("name", "项目名称", "Name", Text, true, false),
            fl("enterprise_org_id", "签约企业", "Enterprise", ORG, true, true),
            fl("event_id", "签约活动", "Event", Ref { table: "investment_events", show: "name" }, false, true),
            fl("signed_date", "签约日期", "Signed", Date, true, false),
            fl("region_code", "落地地点", "Place", Region, true, true),
            fl("amount_fen", "签约金额", "Amount", Money, true, false),
            fl("jobs", "带动就业", "Jobs", Int, true, false),
        ],
        owners: &["enterprise_org_id"],
        search: &["name"],
        parent: None,
        date: Some("signed_date"),
    },
    RecordType {
        table: "batches",
        slug: "batches",
        zh: "批次",
        en: "Batches",
        title: "number",
        fields: &[
            fl("number", "批次", "Number", Int, true, false),
            fl("start_date", "开始日期", "Start", Date, true, false),
            fl("end_date", "结束日期", "End", Date, true, false),
        ],
        owners: &[],
        search: &[],
        parent: None,
        date: Some("start_date"),
    },
    RecordType {
        table: "pairing_types",
        slug: "pairing-types",
        zh: "结对类型",
        en: "Pairing types",
        title: "name",
        fields: &[
            fl("code", "类型编码", "Code", Text, true, false),
            fl("name", "名称", "Name", Text, true, false),
            fl("party", "结对双方", "Between", Code(PARTIES), true, true),
            fl("builtin", "系统内置", "Built in", Flag, true, false),
        ],
        owners: &[],
        search: &["code", "name"],
        parent: None,
        date: None,
    },
    RecordType {
        table: "activity_types",
        slug: "activity-types",
        zh: "活动类型",
        en: "Activity types",
        title: "name",
        fields: &[
            fl("code", "类型编码", "Code", Text, true, false),
            fl("name", "名称", "Name", Text, true, false),
            fl("builtin", "系统内置", "Built in", Flag, true, false),
        ],
        owners: &[],
        search: &["code", "name"],
        parent: None,
        date: None,
    },
    RecordType {
        table: "brands",
        slug: "brands",
        zh: "活动品牌",
        en: "Brands",
        title: "name",
        fields: &[
            fl("code", "品牌编码", "Code", Text, true, false),
            fl("name", "名称", "Name", Text, true, false),
            fl("builtin", "系统内置", "Built in", Flag, true, false),
        ],
        owners: &[],
        search: &["code", "name"],
        parent: None,
        date: None,
    },
];

/// Program configuration: code lists and definitions the program's records are typed by. Only
/// a role that manages the program (项目管理) writes them; the store enforces it.
pub const PROGRAM_CONFIG: &[&str] =
    &["pairing_types", "activity_types", "brands", "indicator_defs", "batches", "report_templates"];

/// Is `table` program configuration (see [`PROGRAM_CONFIG`])?
pub fn is_program_config(table: &str) -> bool {
    PROGRAM_CONFIG.contains(&table)
}

/// The record type at `/records/{slug}`.
pub fn by_slug(slug: &str) -> Option<&'static RecordType> {
    RECORD_TYPES.iter().find(|t| t.slug == slug)
}

/// The record type stored in `table`.
pub fn by_table(table: &str) -> Option<&'static RecordType> {
    RECORD_TYPES.iter().find(|t| t.table == table)
}

/// The label of a code in a code list, or the code itself.
pub fn code_label(list: &[(&str, &'static str)], code: &str) -> Option<&'static str> {
    list.iter().find(|(c, _)| *c == code).map(|(_, l)| *l)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_is_consistent() {
        let mut slugs = std::collections::HashSet::new();
        for t in RECORD_TYPES {
            assert!(slugs.insert(t.slug), "slug {} twice", t.slug);
            assert!(t.field(t.title).is_some() || t.title == "id", "{}: title {}", t.table, t.title);
            for s in t.search {
                assert!(matches!(t.field(s).map(|f| f.kind), Some(Text)), "{}: search {s}", t.table);
            }
            for o in t.owners {
                let first = o.split('.').next().unwrap_or_default();
                assert!(first == "id" || t.field(first).is_some(), "{}: owner {o}", t.table);
            }
            if let Some((col, table)) = t.parent {
                assert!(t.field(col).is_some() && by_table(table).is_some(), "{}: parent", t.table);
            }
            if let Some(d) = t.date {
                assert!(matches!(t.field(d).map(|f| f.kind), Some(Date)), "{}: date {d}", t.table);
            }
        }
        assert_eq!(by_slug("people").map(|t| t.table), Some("people"));
        assert_eq!(code_label(CATEGORIES, "flexible"), Some("柔性援疆"));
    }
}
