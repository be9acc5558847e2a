//! The demo program's figure definitions: every key of `shared/seed/figures.tsv`, plus a few
//! headline figures for the home page. Each is a definition over records, never a number.

use crate::error::Result;
use domain::figures::{Across, Compare, CompareHow, FigureDef, Filter, Measure, Span, Spec};
use domain::indicators::Period;
use domain::money::{FEN_PER_WAN, FEN_PER_YI};
use domain::Date;
use store::StoreError;

/// The start of the 11th batch: "since 2023-04" and "11th batch" figures count from here.
const B11: &str = "2023-04-20";

fn date(s: &str) -> Result<Date> {
    Ok(Date::parse(s).map_err(StoreError::from)?)
}

fn span(from: Option<&str>, to: Option<&str>) -> Result<Option<Span>> {
    if from.is_none() && to.is_none() {
        return Ok(None);
    }
    Ok(Some(Span { from: from.map(date).transpose()?, to: to.map(date).transpose()? }))
}

struct D {
    key: &'static str,
    name: &'static str,
    line: &'static str,
    unit: &'static str,
    decimals: u32,
    description: &'static str,
}

#[allow(clippy::too_many_arguments)]
fn rec(
    d: D,
    source: &str,
    measure: Measure,
    filters: Vec<Filter>,
    from: Option<&str>,
    to: Option<&str>,
    divisor: i64,
) -> Result<FigureDef> {
    Ok(FigureDef {
        key: d.key.into(),
        name: d.name.into(),
        line: d.line.into(),
        unit: d.unit.into(),
        decimals: d.decimals,
        description: d.description.into(),
        spec: Spec::Records {
            source: source.into(),
            measure,
            filters,
            span: span(from, to)?,
            divisor,
            counted: Default::default(),
        },
    })
}

fn ind(
    d: D,
    indicator: &str,
    org: &str,
    periods: &[&str],
    across: Across,
    compare: Option<(&str, CompareHow)>,
    divisor: i64,
) -> Result<FigureDef> {
    let periods = periods
        .iter()
        .map(|p| Period::parse(p).map_err(StoreError::from))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let compare = match compare {
        Some((base, how)) => Some(Compare { base: Period::parse(base).map_err(StoreError::from)?, how }),
        None => None,
    };
    Ok(FigureDef {
        key: d.key.into(),
        name: d.name.into(),
        line: d.line.into(),
        unit: d.unit.into(),
        decimals: d.decimals,
        description: d.description.into(),
        spec: Spec::Indicator { indicator: indicator.into(), org: org.into(), periods, across, compare, divisor },
    })
}

macro_rules! d {
    ($key:expr, $name:expr, $line:expr, $unit:expr, $dec:expr, $desc:expr) => {
        D { key: $key, name: $name, line: $line, unit: $unit, decimals: $dec, description: $desc }
    };
}

use Measure::{Count, CountDistinct, Sum};

pub fn definitions() -> Result<Vec<FigureDef>> {
    let b11 = Some(B11);
    let y2024 = (Some("2024-01-01"), Some("2024-12-31"));
    let act = "activities";
    Ok(vec![
        // Overview
        rec(
            d!("personnel.batches", "援疆干部人才批次", "overview", "批", 0, "已选派的批次数"),
            "batches",
            Count,
            vec![],
            None,
            None,
            1,
        )?,
        rec(
            d!(
                "personnel.total",
                "援疆干部人才总数",
                "overview",
                "名",
                0,
                "各批次选派的援疆干部人才（干部、专业技术人才、柔性援疆）"
            ),
            "people",
            Count,
            vec![Filter::eq("kind", "aid"), Filter::ge("batch", 1)],
            None,
            None,
            1,
        )?,
        rec(
            d!("projects.total", "援疆项目总数", "overview", "个", 0, "各批次实施的援疆项目"),
            "projects",
            Count,
            vec![],
            None,
            None,
            1,
        )?,
        rec(
            d!("funds.planned", "援疆资金计划总额", "overview", "万元", 2, "各项目各年度计划资金之和"),
            "project_funding",
            Sum("planned_fen".into()),
            vec![],
            None,
            None,
            FEN_PER_WAN,
        )?,
        rec(
            d!("funds.disbursed", "援疆资金已拨付", "overview", "万元", 2, "各项目各年度已拨付资金之和"),
            "project_funding",
            Sum("disbursed_fen".into()),
            vec![],
            None,
            None,
            FEN_PER_WAN,
        )?,
        rec(
            d!("activities.total", "活动总场次", "overview", "场", 0, "登记的全部活动"),
            act,
            Count,
            vec![],
            None,
            None,
            1,
        )?,
        rec(
            d!("activities.beneficiaries", "活动受益总人次", "overview", "人次", 0, "全部活动的受益人次"),
            act,
            Sum("beneficiaries".into()),
            vec![],
            None,
            None,
            1,
        )?,
        // Education
        rec(
            d!(
                "edu.microlecture.students",
                "“红杜鹃微讲堂”连线学生",
                "education",
                "名",
                0,
                "红杜鹃微讲堂各期参与学生之和，第十一批以来"
            ),
            act,
            Sum("participants".into()),
            vec![Filter::eq("brand", "hongdujuan_microlecture")],
            b11,
            None,
            1,
        )?,
        rec(
            d!(
                "edu.school_pairing.jiangxi_schools",
                "“百校万生”结对的江西学校",
                "education",
                "所",
                0,
                "校校结对中支援方学校（去重）"
            ),
            "pairings",
            CountDistinct("a_org".into()),
            vec![Filter::eq("type", "school_school")],
            b11,
            None,
            1,
        )?,
        rec(
            d!(
                "edu.vr_poetry.participants",
                "VR课程与“谷雨诗会”参与师生",
                "education",
                "人",
                0,
                "“重走长征路”VR课程与“谷雨诗会”参与人数之和"
            ),
            act,
            Sum("participants".into()),
            vec![Filter::any("brand", &["long_march_vr", "guyu_poetry"])],
            b11,
            None,
            1,
        )?,
        rec(
            d!("edu.qinglan.pairs", "“青蓝工程”结对青年教师", "education", "名", 0, "援疆教师与当地青年教师的师徒结对"),
            "pairings",
            Count,
            vec![Filter::eq("type", "mentor_teacher")],
            b11,
            None,
            1,
        )?,
        rec(
            d!("edu.volunteer.events", "“红杜鹃”教育志愿服务", "education", "场", 0, "红杜鹃品牌志愿服务活动场次"),
            act,
            Count,
            vec![Filter::eq("brand", "hongdujuan"), Filter::eq("type", "volunteer")],
            b11,
            None,
            1,
        )?,
        rec(
            d!("edu.volunteer.beneficiaries", "“红杜鹃”志愿服务惠及师生", "education", "人次", 0, "上述活动的受益人次"),
            act,
            Sum("beneficiaries".into()),
            vec![Filter::eq("brand", "hongdujuan"), Filter::eq("type", "volunteer")],
            b11,
            None,
            1,
        )?,
        ind(
            d!(
                "edu.admission_rate.kzjx",
                "克州江西实验中学江西班本科上线率（历年最低）",
                "education",
                "%",
                1,
                "本科上线人数÷参考人数，2023—2025 年中的最低值"
            ),
            "admission_rate",
            "AKT-KZJX",
            &["2023", "2024", "2025"],
            Across::Min,
            None,
            1,
        )?,
        ind(
            d!(
                "edu.admission_rate.kz3",
                "克州三中江西班本科上线率（历年最低）",
                "education",
                "%",
                1,
                "本科上线人数÷参考人数，2023—2025 年中的最低值"
            ),
            "admission_rate",
            "KZ-S3",
            &["2023", "2024", "2025"],
            Across::Min,
            None,
            1,
        )?,
        rec(
            d!("edu.expert_team.academicians", "专家团领衔院士", "education", "名", 0, "职称为院士的专家"),
            "people",
            Count,
            vec![Filter::eq("kind", "expert"), Filter::eq("title", "院士")],
            None,
            None,
            1,
        )?,
        rec(
            d!(
                "edu.university_pairing",
                "对口支援克州校区的江西高校",
                "education",
                "所",
                0,
                "高校对口支援结对中的江西高校（去重）"
            ),
            "pairings",
            CountDistinct("a_org".into()),
            vec![Filter::eq("type", "university_campus")],
            None,
            None,
            1,
        )?,
        rec(
            d!(
                "edu.university_teachers",
                "2024年进驻克州校区的本科高校教师",
                "education",
                "名",
                0,
                "受援单位为克州校区、2024 年到岗的援疆人员"
            ),
            "people",
            Count,
            vec![Filter::eq("kind", "aid"), Filter::under("host_org", "KZ-TSVTU")],
            Some("2024-01-01"),
            Some("2024-12-31"),
            1,
        )?,
        ind(
            d!(
                "edu.enrollment_quota.added",
                "江西高校在疆新增招生计划",
                "education",
                "名",
                0,
                "江西高校在疆招生计划 2024 年比 2023 年增加数"
            ),
            "enrollment_plan",
            "JX-EDU",
            &["2024"],
            Across::Only,
            Some(("2023", CompareHow::Diff)),
            1,
        )?,
        ind(
            d!("edu.enrollment_quota.growth", "江西高校在疆招生计划增幅", "education", "%", 1, "同比增幅"),
            "enrollment_plan",
            "JX-EDU",
            &["2024"],
            Across::Only,
            Some(("2023", CompareHow::PctChange)),
            1,
        )?,
        rec(
            d!(
                "edu.aid_teachers",
                "第十一批在阿克陶县的援疆教师",
                "education",
                "名",
                0,
                "第十一批、教育领域、专业技术人才、受援单位在阿克陶县"
            ),
            "people",
            Count,
            vec![
                Filter::eq("kind", "aid"),
                Filter::eq("batch", 11),
                Filter::eq("line", "education"),
                Filter::eq("category", "professional"),
                Filter::under("host_region", "653022"),
            ],
            None,
            None,
            1,
        )?,
        // Exchange
        rec(
            d!(
                "exchange.football_camp.children",
                "足球冬令营克州少年儿童",
                "exchange",
                "名",
                0,
                "2024 年 2 月冬令营的参与人数"
            ),
            act,
            Sum("participants".into()),
            vec![Filter::eq("type", "camp")],
            Some("2024-02-01"),
            Some("2024-02-29"),
            1,
        )?,
        rec(
            d!("exchange.open_days.batches", "“开放日”参观批次", "exchange", "批次", 0, "前指驻地开放日活动次数"),
            act,
            Count,
            vec![Filter::eq("type", "open_day")],
            b11,
            None,
            1,
        )?,
        rec(
            d!("exchange.open_days.visitors", "“开放日”参观干部群众", "exchange", "名", 0, "开放日参与人数之和"),
            act,
            Sum("participants".into()),
            vec![Filter::eq("type", "open_day")],
            b11,
            None,
            1,
        )?,
        // Medical
        rec(
            d!(
                "med.equipment_donated",
                "阿克陶县人民医院受捐设备价值",
                "medical",
                "万元",
                2,
                "2023—2024 年捐赠给县医院的实物价值"
            ),
            "donations",
            Sum("value_fen".into()),
            vec![Filter::eq("kind", "in_kind"), Filter::under("recipient_org", "AKT-HOSP")],
            Some("2023-01-01"),
            Some("2024-12-31"),
            FEN_PER_WAN,
        )?,
        rec(
            d!("med.hospitals", "“1+N”组团式帮扶的江西三甲医院", "medical", "家", 0, "院包科结对中的江西医院（去重）"),
            "pairings",
            CountDistinct("a_org".into()),
            vec![Filter::eq("type", "hospital_department")],
            b11,
            None,
            1,
        )?,
        rec(
            d!("med.departments", "院包科帮扶的县医院学科", "medical", "个", 0, "院包科结对中的县医院科室（去重）"),
            "pairings",
            CountDistinct("b_org".into()),
            vec![Filter::eq("type", "hospital_department")],
            None,
            None,
            1,
        )?,
        rec(
            d!("med.flexible_doctors", "第十一批柔性援疆医生", "medical", "名", 0, "第十一批、医疗领域、柔性援疆人员"),
            "people",
            Count,
            vec![
                Filter::eq("kind", "aid"),
                Filter::eq("batch", 11),
                Filter::eq("category", "flexible"),
                Filter::eq("line", "medical"),
            ],
            None,
            None,
            1,
        )?,
        rec(
            d!("med.new_units", "县医院新开设科室部门", "medical", "个", 0, "成果类型为“新开设科室/部门”"),
            "achievements",
            Count,
            vec![Filter::eq("kind", "new_unit"), Filter::under("org", "AKT-HOSP")],
            b11,
            None,
            1,
        )?,
        rec(
            d!("med.upgraded_units", "县医院升级改造科室", "medical", "个", 0, "成果类型为“升级改造科室”"),
            "achievements",
            Count,
            vec![Filter::eq("kind", "upgraded_unit"), Filter::under("org", "AKT-HOSP")],
            b11,
            None,
            1,
        )?,
        ind(
            d!("med.revenue", "阿克陶县人民医院医疗总收入", "medical", "亿元", 2, "2024 年医疗总收入"),
            "hospital_revenue",
            "AKT-HOSP",
            &["2024"],
            Across::Only,
            None,
            100_000_000,
        )?,
        ind(
            d!("med.revenue.growth", "县医院医疗总收入同比增长", "medical", "%", 2, "2024 年比 2023 年"),
            "hospital_revenue",
            "AKT-HOSP",
            &["2024"],
            Across::Only,
            Some(("2023", CompareHow::PctChange)),
            1,
        )?,
        ind(
            d!("med.referrals.change", "县医院转院人次同比变化", "medical", "%", 1, "2024 年比 2023 年，负数为减少"),
            "referrals_out",
            "AKT-HOSP",
            &["2024"],
            Across::Only,
            Some(("2023", CompareHow::PctChange)),
            1,
        )?,
        rec(
            d!("med.mentor_pairs", "援疆医生与当地医护人员结对", "medical", "对", 0, "师带徒（传帮带）结对"),
            "pairings",
            Count,
            vec![Filter::eq("type", "mentor_doctor")],
            b11,
            None,
            1,
        )?,
        rec(
            d!("med.local.research_projects", "本地医生申报克州科技局课题", "medical", "项", 0, "成果类型为“科研课题”"),
            "achievements",
            Count,
            vec![Filter::eq("kind", "research_project"), Filter::under("org", "AKT-HOSP")],
            b11,
            None,
            1,
        )?,
        rec(
            d!("med.local.papers", "本地医生发表论文", "medical", "篇", 0, "成果类型为“论文”"),
            "achievements",
            Count,
            vec![Filter::eq("kind", "paper"), Filter::under("org", "AKT-HOSP")],
            b11,
            None,
            1,
        )?,
        rec(
            d!("med.local.new_techniques", "开展新技术新项目", "medical", "项", 0, "成果类型为“新技术新项目”"),
            "achievements",
            Count,
            vec![Filter::eq("kind", "new_technique"), Filter::under("org", "AKT-HOSP")],
            b11,
            None,
            1,
        )?,
        rec(
            d!(
                "med.local.new_techniques.grade3",
                "其中三级以上手术",
                "medical",
                "项",
                0,
                "新技术新项目中手术级别不低于三级的"
            ),
            "achievements",
            Count,
            vec![Filter::eq("kind", "new_technique"), Filter::under("org", "AKT-HOSP"), Filter::ge("level", 3)],
            b11,
            None,
            1,
        )?,
        rec(
            d!(
                "med.outreach.events",
                "“江西红医生”大讲堂及义诊",
                "medical",
                "场",
                0,
                "江西红医生品牌的讲座与义诊场次，第十一批以来"
            ),
            act,
            Count,
            vec![Filter::eq("brand", "jiangxi_red_doctor"), Filter::any("type", &["lecture", "free_clinic"])],
            b11,
            None,
            1,
        )?,
        rec(
            d!("med.outreach.beneficiaries", "“江西红医生”活动受益群众", "medical", "人次", 0, "上述活动的受益人次"),
            act,
            Sum("beneficiaries".into()),
            vec![Filter::eq("brand", "jiangxi_red_doctor"), Filter::any("type", &["lecture", "free_clinic"])],
            b11,
            None,
            1,
        )?,
        rec(
            d!("med.cataract_surgeries", "“光明行动”白内障手术", "medical", "例", 0, "白内障手术例数"),
            "activity_procedures",
            Sum("cases".into()),
            vec![Filter::eq("kind", "cataract")],
            b11,
            None,
            1,
        )?,
        rec(
            d!("med.cleft_lip_repairs", "“微笑陶陶”唇腭裂修复术", "medical", "例", 0, "唇腭裂修复例数"),
            "activity_procedures",
            Sum("cases".into()),
            vec![Filter::eq("kind", "cleft_lip")],
            b11,
            None,
            1,
        )?,
        rec(
            d!("med.early_cancer_screenings", "消化道早癌筛查", "medical", "例次", 0, "筛查例次"),
            "activity_procedures",
            Sum("cases".into()),
            vec![Filter::eq("kind", "early_cancer_screening")],
            b11,
            None,
            1,
        )?,
        // The remote imaging centre (赣陶远程影像中心), 2024: consultations by request day.
        rec(
            d!(
                "med.imaging.consultations",
                "赣陶远程影像中心远程会诊",
                "medical",
                "例",
                0,
                "2024 年提出的远程影像会诊申请"
            ),
            "imaging_requests",
            Count,
            vec![],
            y2024.0,
            y2024.1,
            1,
        )?,
        rec(
            d!(
                "med.imaging.tat_median",
                "远程会诊报告周转时间中位数",
                "medical",
                "分钟",
                0,
                "2024 年已签发报告的会诊，自申请提出且图像完整至首次签发的分钟数，中位数（最近秩法）"
            ),
            "imaging_requests",
            Measure::Median("tat_minutes".into()),
            vec![],
            y2024.0,
            y2024.1,
            1,
        )?,
        rec(
            d!(
                "med.imaging.tat_p90",
                "远程会诊报告周转时间第 90 百分位",
                "medical",
                "分钟",
                0,
                "同上，第 90 百分位数（最近秩法）：九成报告不超过此时长"
            ),
            "imaging_requests",
            Measure::P90("tat_minutes".into()),
            vec![],
            y2024.0,
            y2024.1,
            1,
        )?,
        rec(
            d!(
                "med.imaging.within_target",
                "远程会诊报告时限内签发率",
                "medical",
                "%",
                1,
                "2024 年已签发报告的会诊中，首次签发在当时报告时限内的占比"
            ),
            "imaging_requests",
            Measure::Share(Box::new(Filter::eq("on_time", 1))),
            vec![],
            y2024.0,
            y2024.1,
            1,
        )?,
        rec(
            d!("med.imaging.critical", "远程会诊危急值", "medical", "例", 0, "2024 年标记的危急值"),
            "imaging_critical",
            Count,
            vec![],
            y2024.0,
            y2024.1,
            1,
        )?,
        rec(
            d!(
                "med.imaging.critical_in_time",
                "危急值 30 分钟内通知率",
                "medical",
                "%",
                1,
                "2024 年的危急值中，30 分钟内通知到申请医院临床并回读的占比（未通知的不计为及时）"
            ),
            "imaging_critical",
            Measure::Share(Box::new(Filter::eq("in_time", 1))),
            vec![],
            y2024.0,
            y2024.1,
            1,
        )?,
        rec(
            d!(
                "med.imaging.transfers_avoided",
                "远程会诊后本院治疗（避免转院）",
                "medical",
                "例",
                0,
                "2024 年的会诊中，申请医院登记患者去向为“本院治疗”的"
            ),
            "imaging_requests",
            Count,
            vec![Filter::eq("outcome", "local")],
            y2024.0,
            y2024.1,
            1,
        )?,
        // Industry, employment, investment
        rec(
            d!("ind.greenhouses", "昆仑佳苑高标准日光温室大棚", "industry", "座", 0, "项目产出“日光温室大棚”之和"),
            "project_outputs",
            Sum("quantity".into()),
            vec![Filter::eq("kind", "日光温室大棚")],
            None,
            None,
            1,
        )?,
        rec(
            d!("ind.asparagus.mu", "芦笋种植加工基地", "industry", "亩", 0, "项目产出“芦笋种植基地”之和"),
            "project_outputs",
            Sum("quantity".into()),
            vec![Filter::eq("kind", "芦笋种植基地")],
            None,
            None,
            1,
        )?,
        rec(
            d!("ind.sock_factory.jobs", "唐锦袜企带动就业", "industry", "人", 0, "唐锦纺织签约项目带动就业人数"),
            "investment_projects",
            Sum("jobs".into()),
            vec![Filter::under("enterprise", "AKT-TJ")],
            None,
            None,
            1,
        )?,
        rec(
            d!("emp.centres", "江西建成“就业之家”", "employment", "家", 0, "就业之家数量"),
            "employment_centres",
            Count,
            vec![],
            None,
            None,
            1,
        )?,
        rec(
            d!("emp.jobs_offered", "“就业之家”提供岗位", "employment", "个", 0, "各就业之家各期提供岗位之和"),
            "employment_records",
            Sum("jobs_offered".into()),
            vec![],
            None,
            None,
            1,
        )?,
        rec(
            d!("emp.training_attendance", "参加技术培训", "employment", "人次", 0, "各就业之家各期培训人次之和"),
            "employment_records",
            Sum("trainees".into()),
            vec![],
            None,
            None,
            1,
        )?,
        rec(
            d!("inv.events", "重大招商活动", "investment", "场", 0, "2023 年以来的招商推介活动"),
            "investment_events",
            Count,
            vec![Filter::eq("kind", "promotion")],
            Some("2023-01-01"),
            None,
            1,
        )?,
        rec(
            d!(
                "inv.enterprises_signed",
                "引进签约企业",
                "investment",
                "家",
                0,
                "2023 年以来在克州签约项目的企业（去重）"
            ),
            "investment_projects",
            CountDistinct("enterprise".into()),
            vec![Filter::under("region", "653000")],
            Some("2023-01-01"),
            None,
            1,
        )?,
        rec(
            d!("inv.projects_signed", "签约项目", "investment", "个", 0, "2023 年以来在克州签约的项目"),
            "investment_projects",
            Count,
            vec![Filter::under("region", "653000")],
            Some("2023-01-01"),
            None,
            1,
        )?,
        rec(
            d!("inv.amount", "签约项目投资额", "investment", "亿元", 2, "上述项目投资额之和"),
            "investment_projects",
            Sum("amount_fen".into()),
            vec![Filter::under("region", "653000")],
            Some("2023-01-01"),
            None,
            FEN_PER_YI,
        )?,
        rec(
            d!(
                "inv.furniture_expo.orders",
                "家具展销会促成订单",
                "investment",
                "亿元",
                2,
                "2024 年 7 月展销会订单金额"
            ),
            "investment_events",
            Sum("orders_fen".into()),
            vec![Filter::eq("kind", "expo")],
            Some("2024-07-01"),
            Some("2024-07-31"),
            FEN_PER_YI,
        )?,
        rec(
            d!(
                "inv.outside_area.xinda",
                "结对关系以外落地项目投资",
                "investment",
                "亿元",
                2,
                "2023 年以来落地在克州以外的签约项目投资额"
            ),
            "investment_projects",
            Sum("amount_fen".into()),
            vec![Filter::not_under("region", "653000")],
            Some("2023-01-01"),
            None,
            FEN_PER_YI,
        )?,
    ])
}
