//! The remote imaging centre (赣陶远程影像中心): a consultation request (会诊申请) from the county
//! hospital to the Jiangxi hospital that owns the department asked (院包科), and the steps that
//! route it to an on-duty expert. The rules a request keeps on its own are here; the rules that
//! need the records (the department owned under a current pairing, the studies known to the
//! PACS, the duty roster) are the store's.

use crate::people::{mask, IdNumber};
use crate::values::{has_control, required_text, Secret};
use crate::{Invalid, Invalids};
use chrono::{DateTime, Datelike, TimeZone, Timelike, Utc};
use serde::{Deserialize, Serialize};

/// 急诊 / 加急 / 常规: the order of the worklist and, later, the turnaround target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Emergency,
    Urgent,
    Routine,
}

pub const PRIORITIES: &[(Priority, &str, &str)] = &[
    (Priority::Emergency, "emergency", "急诊"),
    (Priority::Urgent, "urgent", "加急"),
    (Priority::Routine, "routine", "常规"),
];

impl Priority {
    pub fn parse(s: &str) -> Result<Priority, Invalid> {
        let t = s.trim();
        PRIORITIES
            .iter()
            .find(|(_, c, n)| *c == t || *n == t)
            .map(|(p, _, _)| *p)
            .ok_or_else(|| Invalid::new("priority", "优先级", "急诊、加急或常规", format!("“{t}”不是已知的优先级")))
    }
    pub fn code(self) -> &'static str {
        PRIORITIES.iter().find(|(p, _, _)| *p == self).map(|(_, c, _)| *c).unwrap_or("routine")
    }
    pub fn label(self) -> &'static str {
        PRIORITIES.iter().find(|(p, _, _)| *p == self).map(|(_, _, n)| *n).unwrap_or("常规")
    }
    /// The worklist's sort key: emergency first.
    pub fn rank(self) -> i64 {
        match self {
            Priority::Emergency => 0,
            Priority::Urgent => 1,
            Priority::Routine => 2,
        }
    }
}

/// The DICOM modalities (0008,0060) a consultation may be asked for.
pub const MODALITIES: &[(&str, &str)] = &[
    ("CT", "CT"),
    ("MR", "磁共振"),
    ("DX", "数字 X 线摄影"),
    ("CR", "计算机 X 线摄影"),
    ("US", "超声"),
    ("MG", "乳腺 X 线摄影"),
    ("XA", "血管造影"),
    ("RF", "透视"),
    ("NM", "核医学"),
    ("PT", "PET"),
];

pub fn parse_modality(s: &str) -> Result<&'static str, Invalid> {
    let t = s.trim();
    MODALITIES.iter().find(|(c, n)| c.eq_ignore_ascii_case(t) || *n == t).map(|(c, _)| *c).ok_or_else(|| {
        let all: Vec<&str> = MODALITIES.iter().map(|(c, _)| *c).collect();
        Invalid::new(
            "modality",
            "检查类型",
            format!("DICOM 检查类型之一：{}", all.join("、")),
            format!("“{t}”不是已知的检查类型"),
        )
    })
}

/// The expert's title the requester asks for; `不限` accepts anyone on duty.
pub const TITLES: &[(&str, &str)] =
    &[("any", "不限"), ("attending", "主治医师"), ("associate_chief", "副主任医师"), ("chief", "主任医师")];

pub fn parse_title(s: &str) -> Result<&'static str, Invalid> {
    let t = s.trim();
    let t = if t.is_empty() { "any" } else { t };
    TITLES.iter().find(|(c, n)| *c == t || *n == t).map(|(c, _)| *c).ok_or_else(|| {
        Invalid::new("expert_title", "专家职称", "不限、主治医师、副主任医师或主任医师", format!("“{t}”不是已知的职称"))
    })
}

/// The title's label.
pub fn title_label(code: &str) -> &'static str {
    TITLES.iter().find(|(c, _)| *c == code).map(|(_, n)| *n).unwrap_or("不限")
}

/// Does an expert of title `has` meet the wish `wanted`? A higher title meets a lower wish.
pub fn title_meets(has: &str, wanted: &str) -> bool {
    let rank = |c: &str| TITLES.iter().position(|(t, _)| *t == c).unwrap_or(0);
    wanted == "any" || rank(has) >= rank(wanted)
}

/// A required text without control characters (a NUL, which PostgreSQL refuses, above all).
fn plain(field: &str, label: &str, s: &str, max: usize) -> Result<String, Invalid> {
    let t = required_text(field, label, s, max)?;
    if has_control(&t) {
        return Err(Invalid::new(field, label, "不得含控制字符", format!("{label}含有控制字符")));
    }
    Ok(t)
}

/// Where the patient is: 门诊, 住院 or 急诊.
pub const SOURCES: &[(&str, &str)] = &[("outpatient", "门诊"), ("inpatient", "住院"), ("emergency", "急诊")];

pub fn parse_source(s: &str) -> Result<&'static str, Invalid> {
    let t = s.trim();
    let t = if t.is_empty() { "outpatient" } else { t };
    SOURCES.iter().find(|(c, n)| *c == t || *n == t).map(|(c, _)| *c).ok_or_else(|| {
        Invalid::new("patient_source", "患者来源", "门诊、住院或急诊", format!("“{t}”不是已知的患者来源"))
    })
}

pub fn source_label(code: &str) -> &'static str {
    SOURCES.iter().find(|(c, _)| *c == code).map(|(_, n)| *n).unwrap_or("门诊")
}

/// The consent document's largest size and its kinds.
pub const CONSENT_MAX_BYTES: usize = 10 * 1024 * 1024;
pub const CONSENT_TYPES: &[&str] = &["application/pdf", "image/jpeg", "image/png"];

/// The written consent (知情同意书): the patient agreed, and here is the signed document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    pub given: bool,
    pub file_name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// A consultation request as the requester fills it in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRequest {
    pub patient_name: String,
    /// 男 or 女.
    pub patient_sex: String,
    /// Years, 0–150.
    pub patient_age: i64,
    /// 身份证号, optional: encrypted and masked by the store.
    pub patient_id_number: Option<String>,
    pub exam: String,
    pub modality: String,
    pub body_part: String,
    pub clinical_question: String,
    pub case_summary: String,
    pub priority: String,
    /// The county hospital's department asked (an organization of kind 科室).
    pub department_id: Option<i64>,
    pub expert_title: String,
    /// 门诊 / 住院 / 急诊 (empty: 门诊).
    pub patient_source: String,
    /// 疑难病例: a complex case, under its own turnaround target.
    pub complex: bool,
    /// The studies' DICOM StudyInstanceUIDs, as the PACS told us of them.
    pub study_uids: Vec<String>,
    pub consent: Option<Consent>,
}

/// A request whose own rules hold: the values parsed, ready for the store's checks.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedRequest {
    pub patient_name: String,
    pub patient_sex: &'static str,
    pub patient_age: i64,
    pub patient_id_number: Option<Secret>,
    pub exam: String,
    pub modality: &'static str,
    pub body_part: String,
    pub clinical_question: String,
    pub case_summary: String,
    pub priority: Priority,
    pub department_id: i64,
    pub expert_title: &'static str,
    pub patient_source: &'static str,
    pub complex: bool,
    pub study_uids: Vec<String>,
    pub consent: Consent,
}

impl NewRequest {
    /// Every rule the request keeps on its own, each refusal naming its field.
    pub fn check(&self) -> Result<CheckedRequest, Invalids> {
        let mut e = Invalids::default();
        let name = e.take(plain("patient_name", "患者姓名", &self.patient_name, 50));
        let sex = match self.patient_sex.trim() {
            "男" | "M" | "m" | "male" => Some("男"),
            "女" | "F" | "f" | "female" => Some("女"),
            other => {
                e.push(Invalid::new("patient_sex", "患者性别", "男或女", format!("“{other}”不是有效的性别")));
                None
            }
        };
        if !(0..=150).contains(&self.patient_age) {
            e.push(Invalid::new(
                "patient_age",
                "患者年龄",
                "0–150 周岁",
                format!("年龄 {} 不在 0–150 之间", self.patient_age),
            ));
        }
        let id_number = match self.patient_id_number.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(s) => e
                .take(IdNumber::parse(s).map_err(|x| x.at("patient_id_number", "患者身份证号")))
                .map(|n| Secret { clear: n.expose().to_string(), masked: n.masked() }),
        };
        let exam = e.take(plain("exam", "检查项目", &self.exam, 100));
        let modality = e.take(parse_modality(&self.modality));
        let body_part = e.take(plain("body_part", "检查部位", &self.body_part, 50));
        let question = e.take(plain("clinical_question", "会诊目的（临床问题）", &self.clinical_question, 500));
        let summary = e.take(plain("case_summary", "病情摘要", &self.case_summary, 4000));
        let priority = e.take(Priority::parse(&self.priority));
        let title = e.take(parse_title(&self.expert_title));
        let source = e.take(parse_source(&self.patient_source));
        if self.department_id.is_none() {
            e.push(Invalid::new("department_id", "会诊科室", "必填：县医院的一个院包科科室", "未选择会诊科室"));
        }
        let mut uids: Vec<String> = Vec::new();
        for u in &self.study_uids {
            let t = u.trim();
            if t.is_empty() {
                continue;
            }
            let ok = t.len() <= 64 && t.bytes().all(|b| b.is_ascii_digit() || b == b'.');
            if !ok {
                e.push(Invalid::new(
                    "study_uids",
                    "关联检查",
                    "DICOM UID：数字和点，最多 64 位",
                    format!("“{}”不是检查实例 UID", mask(t, 12, 0)),
                ));
            } else if !uids.iter().any(|x| x == t) {
                uids.push(t.to_string());
            }
        }
        if uids.is_empty() && !e.0.iter().any(|x| x.field == "study_uids") {
            e.push(Invalid::new("study_uids", "关联检查", "至少关联一个已传到影像平台的检查", "未关联检查"));
        }
        let consent = match &self.consent {
            Some(c) if c.given => {
                let ty = c.content_type.trim().to_ascii_lowercase();
                if c.bytes.is_empty() {
                    e.push(Invalid::new("consent_file", "知情同意书", "上传签字的知情同意书", "知情同意书文件为空"));
                    None
                } else if c.bytes.len() > CONSENT_MAX_BYTES {
                    e.push(Invalid::new(
                        "consent_file",
                        "知情同意书",
                        "不超过 10 MB",
                        format!("文件有 {:.1} MB", c.bytes.len() as f64 / 1048576.0),
                    ));
                    None
                } else if !CONSENT_TYPES.contains(&ty.as_str()) {
                    e.push(Invalid::new(
                        "consent_file",
                        "知情同意书",
                        "PDF、JPEG 或 PNG",
                        format!("“{ty}”类型的文件不能作为知情同意书"),
                    ));
                    None
                } else {
                    let name = c.file_name.trim();
                    let name = if name.is_empty() { "知情同意书" } else { name };
                    Some(Consent {
                        given: true,
                        file_name: name.chars().filter(|c| !c.is_control()).take(200).collect(),
                        content_type: ty,
                        bytes: c.bytes.clone(),
                    })
                }
            }
            _ => {
                e.push(Invalid::new(
                    "consent",
                    "知情同意",
                    "患者（或其监护人）书面同意远程会诊，并上传签字的知情同意书",
                    "未记录患者的书面知情同意",
                ));
                None
            }
        };
        if !e.is_empty() {
            return Err(e);
        }
        match (
            name,
            sex,
            exam,
            modality,
            body_part,
            question,
            summary,
            priority,
            (title, source),
            self.department_id,
            consent,
        ) {
            (
                Some(patient_name),
                Some(patient_sex),
                Some(exam),
                Some(modality),
                Some(body_part),
                Some(clinical_question),
                Some(case_summary),
                Some(priority),
                (Some(expert_title), Some(patient_source)),
                Some(department_id),
                Some(consent),
            ) => Ok(CheckedRequest {
                patient_name,
                patient_sex,
                patient_age: self.patient_age,
                patient_id_number: id_number,
                exam,
                modality,
                body_part,
                clinical_question,
                case_summary,
                priority,
                department_id,
                expert_title,
                patient_source,
                complex: self.complex,
                study_uids: uids,
                consent,
            }),
            _ => Err(Invalid::new("request", "会诊申请", "完整填写", "会诊申请不完整").into()),
        }
    }
}

/// A request's state. 待分派 (in the owning hospital's queue, nobody on duty took it yet) → 待接收
/// (offered to one expert) → 已接收 (the expert accepted; reading) → 已出报告 → 已确认 (by the
/// requester). A decline sends it on to the next expert on duty, or back to the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestState {
    Queued,
    Offered,
    Accepted,
    Reported,
    Confirmed,
}

pub const REQUEST_STATES: &[(RequestState, &str, &str)] = &[
    (RequestState::Queued, "queued", "待分派"),
    (RequestState::Offered, "offered", "待接收"),
    (RequestState::Accepted, "accepted", "已接收"),
    (RequestState::Reported, "reported", "已出报告"),
    (RequestState::Confirmed, "confirmed", "已确认"),
];

impl RequestState {
    pub fn parse(s: &str) -> Option<RequestState> {
        REQUEST_STATES.iter().find(|(_, c, n)| *c == s || *n == s).map(|(r, _, _)| *r)
    }
    pub fn code(self) -> &'static str {
        REQUEST_STATES.iter().find(|(r, _, _)| *r == self).map(|(_, c, _)| *c).unwrap_or("queued")
    }
    pub fn label(self) -> &'static str {
        REQUEST_STATES.iter().find(|(r, _, _)| *r == self).map(|(_, _, n)| *n).unwrap_or("待分派")
    }
}

/// A consultation report's state: 草稿 → 初步报告 (the reader signed) → 已审核 (a second signature,
/// where the centre requires one) → 正式报告 (issued) → 已确认 (by the requester). An amendment is
/// a new version that goes the same way; the version it replaces stays as it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportState {
    Draft,
    Preliminary,
    Reviewed,
    Final,
    Confirmed,
}

pub const REPORT_STATES: &[(ReportState, &str, &str)] = &[
    (ReportState::Draft, "draft", "草稿"),
    (ReportState::Preliminary, "preliminary", "初步报告"),
    (ReportState::Reviewed, "reviewed", "已审核"),
    (ReportState::Final, "final", "正式报告"),
    (ReportState::Confirmed, "confirmed", "已确认"),
];

impl ReportState {
    pub fn parse(s: &str) -> Option<ReportState> {
        REPORT_STATES.iter().find(|(_, c, n)| *c == s || *n == s).map(|(r, _, _)| *r)
    }
    pub fn code(self) -> &'static str {
        REPORT_STATES.iter().find(|(r, _, _)| *r == self).map(|(_, c, _)| *c).unwrap_or("draft")
    }
    pub fn label(self) -> &'static str {
        REPORT_STATES.iter().find(|(r, _, _)| *r == self).map(|(_, _, n)| *n).unwrap_or("草稿")
    }
}

/// What is done to a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportAction {
    /// 签署初步报告: the reader signs the draft.
    Sign,
    /// 审核: a second expert signs.
    Review,
    /// 签发: the report becomes the formal one.
    Issue,
    /// 确认: the requesting hospital has read it.
    Confirm,
    /// 修订: a new version of a formal report.
    Amend,
}

pub const REPORT_ACTIONS: &[(ReportAction, &str, &str)] = &[
    (ReportAction::Sign, "sign", "签署初步报告"),
    (ReportAction::Review, "review", "审核签名"),
    (ReportAction::Issue, "issue", "签发正式报告"),
    (ReportAction::Confirm, "confirm", "确认收到"),
    (ReportAction::Amend, "amend", "修订报告"),
];

impl ReportAction {
    pub fn parse(s: &str) -> Option<ReportAction> {
        REPORT_ACTIONS.iter().find(|(_, c, n)| *c == s || *n == s).map(|(a, _, _)| *a)
    }
    pub fn code(self) -> &'static str {
        REPORT_ACTIONS.iter().find(|(a, _, _)| *a == self).map(|(_, c, _)| *c).unwrap_or("sign")
    }
    pub fn label(self) -> &'static str {
        REPORT_ACTIONS.iter().find(|(a, _, _)| *a == self).map(|(_, _, n)| *n).unwrap_or("签署初步报告")
    }
}

/// Where an actor stands to a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReportStanding {
    /// The expert the request is assigned to (the reader, who writes the report).
    pub reader: bool,
    /// Another expert of the department's roster, of 副主任医师 or above: may give the second signature.
    pub reviewer: bool,
    /// A writing user of the requesting hospital.
    pub requester: bool,
}

/// The one state machine of a report: the state an action leads to, or why it may not be done.
/// `review_required`: the centre requires a second signature before a report is issued.
pub fn report_step(
    state: ReportState,
    action: ReportAction,
    who: ReportStanding,
    review_required: bool,
) -> Result<ReportState, &'static str> {
    use ReportAction as A;
    use ReportState as S;
    const STATE: &str = "报告当前的状态不能进行此操作";
    match action {
        A::Sign if !who.reader => Err("只有阅片专家可以签署报告"),
        A::Sign if state == S::Draft => Ok(S::Preliminary),
        A::Review if who.reader || !who.reviewer => Err("审核须由报告医师以外、副主任医师以上的排班专家签名"),
        A::Review if state == S::Preliminary => Ok(S::Reviewed),
        A::Issue if state == S::Reviewed && (who.reader || who.reviewer) => Ok(S::Final),
        A::Issue if state == S::Preliminary && who.reader && review_required => {
            Err("本中心要求审核签名：须由另一位副主任医师以上的专家审核后签发")
        }
        A::Issue if state == S::Preliminary && who.reader => Ok(S::Final),
        A::Issue if !who.reader && !who.reviewer => Err("只有阅片专家或审核专家可以签发报告"),
        A::Confirm if !who.requester => Err("只有申请医院可以确认收到报告"),
        A::Confirm if state == S::Final => Ok(S::Confirmed),
        A::Amend if !who.reader => Err("只有阅片专家可以修订报告"),
        A::Amend if matches!(state, S::Final | S::Confirmed) => Ok(S::Draft),
        _ => Err(STATE),
    }
}

/// The report's text: 检查所见, 诊断意见, 建议.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ReportText {
    pub findings: String,
    pub impression: String,
    #[serde(default)]
    pub advice: String,
}

impl ReportText {
    /// A draft may be incomplete; a text to be signed must have its findings and impression.
    pub fn check(&self, to_sign: bool) -> Result<ReportText, Invalids> {
        let mut e = Invalids::default();
        let mut field = |k: &str, label: &str, s: &str, max: usize, required: bool| -> String {
            let t = s.trim();
            if t.is_empty() {
                if required {
                    e.push(Invalid::new(k, label, "签署前必填", format!("{label}不能为空")));
                }
                return String::new();
            }
            match plain(k, label, t, max) {
                Ok(v) => v,
                Err(x) => {
                    e.push(x);
                    String::new()
                }
            }
        };
        let findings = field("findings", "检查所见", &self.findings, 8000, to_sign);
        let impression = field("impression", "诊断意见", &self.impression, 4000, to_sign);
        let advice = field("advice", "建议", &self.advice, 2000, false);
        e.finish(|| ReportText { findings, impression, advice })
    }
}

/// Report templates per exam: (modality, body part word, name, 检查所见, 诊断意见).
pub const REPORT_TEMPLATES: &[(&str, &str, &str, &str, &str)] = &[
    (
        "CT",
        "头",
        "头颅 CT 平扫",
        "颅骨骨质完整，未见骨折征象。脑实质内未见异常密度影，灰白质分界清楚。脑室系统大小、形态未见异常，脑沟、脑裂、脑池未见增宽，中线结构居中。",
        "头颅 CT 平扫未见明显异常。",
    ),
    (
        "CT",
        "胸",
        "胸部 CT 平扫",
        "胸廓对称，气管及支气管通畅。双肺纹理清晰，肺野内未见实变及结节影。纵隔内未见肿大淋巴结，心影大小正常。双侧胸腔未见积液。",
        "胸部 CT 平扫未见明显异常。",
    ),
    (
        "MR",
        "头",
        "头颅 MR 平扫",
        "脑实质内未见异常信号影，DWI 未见弥散受限。脑室系统未见扩大，中线结构居中。垂体、脑干及小脑未见异常。",
        "头颅 MR 平扫未见明显异常。",
    ),
    ("", "", "通用", "", ""),
];

/// The template for an exam: the first whose modality and body-part word match, else the general one.
pub fn template_for(modality: &str, body_part: &str) -> (&'static str, &'static str, &'static str) {
    REPORT_TEMPLATES
        .iter()
        .find(|(m, b, ..)| !m.is_empty() && *m == modality && body_part.contains(b))
        .or(REPORT_TEMPLATES.last())
        .map(|(_, _, n, f, i)| (*n, *f, *i))
        .unwrap_or(("通用", "", ""))
}

/// A turnaround target (报告时限): which requests it covers — each condition unset covers all — and
/// how long a report may take from the moment its images are complete (or the request is made,
/// whichever is later): `minutes` of the clock, or of working hours.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TatTarget {
    pub name: String,
    #[serde(default)]
    pub priority: Option<String>,
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub modalities: Vec<String>,
    /// A word the body part must contain (头 for the head).
    #[serde(default)]
    pub body_word: Option<String>,
    #[serde(default)]
    pub complex: Option<bool>,
    pub minutes: i64,
    pub working_hours: bool,
}

/// The defaults (the centre edits them): emergency head CT/MR 30 min, emergency CT/MR and other
/// emergencies 1 h, complex cases 24 h, inpatients 6 working hours, outpatients 4, anything else 24 h.
pub fn default_targets() -> Vec<TatTarget> {
    let t = |name: &str,
             priority: Option<&str>,
             source: Option<&str>,
             modalities: &[&str],
             body: Option<&str>,
             complex: Option<bool>,
             minutes: i64,
             working: bool| TatTarget {
        name: name.into(),
        priority: priority.map(str::to_string),
        source: source.map(str::to_string),
        modalities: modalities.iter().map(|m| m.to_string()).collect(),
        body_word: body.map(str::to_string),
        complex,
        minutes,
        working_hours: working,
    };
    vec![
        t("急诊头颅 CT/MR", Some("emergency"), None, &["CT", "MR"], Some("头"), None, 30, false),
        t("急诊 CT/MR", Some("emergency"), None, &["CT", "MR"], None, None, 60, false),
        t("急诊其他检查", Some("emergency"), None, &[], None, None, 60, false),
        t("疑难病例", None, None, &[], None, Some(true), 24 * 60, false),
        t("住院患者", None, Some("inpatient"), &[], None, None, 6 * 60, true),
        t("门诊患者", None, Some("outpatient"), &[], None, None, 4 * 60, true),
        t("其他", None, None, &[], None, None, 24 * 60, false),
    ]
}

/// The first target that covers a request.
pub fn target_for<'a>(
    targets: &'a [TatTarget],
    priority: &str,
    source: &str,
    modality: &str,
    body_part: &str,
    complex: bool,
) -> Option<&'a TatTarget> {
    targets.iter().find(|t| {
        t.priority.as_deref().is_none_or(|p| p == priority)
            && t.source.as_deref().is_none_or(|s| s == source)
            && (t.modalities.is_empty() || t.modalities.iter().any(|m| m == modality))
            && t.body_word.as_deref().is_none_or(|w| body_part.contains(w))
            && t.complex.is_none_or(|c| c == complex)
    })
}

/// Check a centre's targets: each named, 1 minute to 7 days.
pub fn check_targets(targets: &[TatTarget]) -> Result<(), Invalids> {
    let mut e = Invalids::default();
    if targets.is_empty() {
        e.push(Invalid::new("targets", "报告时限", "至少一条", "没有报告时限"));
    }
    for (i, t) in targets.iter().enumerate() {
        if !(1..=7 * 24 * 60).contains(&t.minutes) {
            e.push(Invalid::new(
                format!("targets[{i}].minutes"),
                format!("{}的时限", t.name),
                "1 分钟到 7 天（10080 分钟）",
                format!("{} 分钟不在范围内", t.minutes),
            ));
        }
        if t.name.trim().is_empty() || t.name.chars().count() > 50 || has_control(&t.name) {
            e.push(Invalid::new(format!("targets[{i}].name"), "时限名称", "1–50 个字符", "时限名称无效"));
        }
    }
    e.finish(|| ())
}

/// Working hours in Beijing time: Monday to Friday, 10:00–14:00 and 16:00–20:00 (as Xinjiang's
/// offices keep them). Holidays are not known here.
pub const WORKING_SPANS: &[(u32, u32)] = &[(10 * 60, 14 * 60), (16 * 60, 20 * 60)];

/// When a report is due: `start` plus the target, counted in working minutes where it says so.
pub fn due(start: DateTime<Utc>, t: &TatTarget) -> DateTime<Utc> {
    let clock = start + chrono::Duration::minutes(t.minutes);
    let Some(tz) = chrono::FixedOffset::east_opt(8 * 3600) else { return clock };
    if !t.working_hours {
        return clock;
    }
    let local = start.with_timezone(&tz);
    let mut day = local.date_naive();
    let mut sec = i64::from(local.num_seconds_from_midnight());
    let mut left = t.minutes * 60;
    // A target is at most 7 days of working minutes: a few weeks of days at most.
    for _ in 0..800 {
        if day.weekday().num_days_from_monday() < 5 {
            for &(from, to) in WORKING_SPANS {
                let (from, to) = (i64::from(from) * 60, i64::from(to) * 60);
                if sec >= to {
                    continue;
                }
                let begin = sec.max(from);
                if left <= to - begin {
                    let midnight = day.and_hms_opt(0, 0, 0).and_then(|d| tz.from_local_datetime(&d).single());
                    return midnight
                        .map(|m| (m + chrono::Duration::seconds(begin + left)).with_timezone(&Utc))
                        .unwrap_or(clock);
                }
                left -= to - begin;
                sec = to;
            }
        }
        let Some(next) = day.succ_opt() else { return clock };
        day = next;
        sec = 0;
    }
    clock
}

/// Where a request's report clock stands. The clock starts when the request is made and its
/// images are complete, whichever is later: the reader is not timed while images still arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// Its images are not complete yet: the clock has not started.
    WaitingForImages,
    Running {
        start: DateTime<Utc>,
        due: DateTime<Utc>,
        overdue: bool,
    },
    Done {
        start: DateTime<Utc>,
        due: DateTime<Utc>,
        issued: DateTime<Utc>,
        within: bool,
    },
}

pub fn clock(
    requested: DateTime<Utc>,
    images_complete: Option<DateTime<Utc>>,
    issued: Option<DateTime<Utc>>,
    t: &TatTarget,
    now: DateTime<Utc>,
) -> Clock {
    let start = images_complete.map_or(requested, |c| c.max(requested));
    let d = due(start, t);
    match issued {
        Some(at) => Clock::Done { start, due: d, issued: at, within: at <= d },
        None if images_complete.is_none() => Clock::WaitingForImages,
        None => Clock::Running { start, due: d, overdue: now > d },
    }
}

/// What became of the patient after the consultation, as the requesting hospital records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Treated in the county hospital: a transfer avoided (不用转院).
    Local,
    /// Transferred out (to Kashgar, Urumqi, …).
    Transferred,
}

impl Outcome {
    pub const ALL: [Outcome; 2] = [Outcome::Local, Outcome::Transferred];
    pub fn code(self) -> &'static str {
        match self {
            Outcome::Local => "local",
            Outcome::Transferred => "transferred",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Local => "本院治疗",
            Outcome::Transferred => "转院",
        }
    }
    pub fn parse(s: &str) -> Option<Outcome> {
        let s = s.trim();
        Outcome::ALL.into_iter().find(|o| o.code() == s || o.label() == s)
    }
}

/// The critical findings (危急值) a reader may flag, until the centre sets its own list.
pub const CRITICAL_FINDINGS: &[&str] = &[
    "急性脑出血",
    "大面积脑梗死",
    "脑疝",
    "张力性气胸",
    "主动脉夹层",
    "急性肺动脉栓塞",
    "急性心包填塞",
    "消化道穿孔",
    "绞窄性肠梗阻",
    "实质脏器破裂出血",
    "异位妊娠破裂",
    "脊柱骨折伴脊髓损伤",
];

/// Minutes within which a critical finding must reach the requesting hospital's clinician.
pub const CRITICAL_MINUTES: i64 = 30;

/// How the clinician was told.
pub const CRITICAL_CHANNELS: &[(&str, &str)] = &[("phone", "电话"), ("in_person", "当面"), ("video", "视频")];

/// The centre's list: one finding a line, each 1–50 characters, no repeats, at least one.
pub fn parse_critical_list(text: &str) -> Result<Vec<String>, Invalid> {
    let mut out: Vec<String> = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if line.chars().count() > 50 || has_control(line) {
            return Err(Invalid::new("critical_list", "危急值清单", "每行一项，1–50 个字符", format!("“{line}”无效")));
        }
        if !out.iter().any(|x| x == line) {
            out.push(line.to_string());
        }
    }
    if out.is_empty() {
        return Err(Invalid::new("critical_list", "危急值清单", "至少一项", "危急值清单为空"));
    }
    Ok(out)
}

/// Who was told of a critical finding, when, how, and what they read back (回读).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CriticalNotice {
    pub told_name: String,
    pub channel: String,
    pub told_at: DateTime<Utc>,
    pub read_back: String,
}

impl CriticalNotice {
    /// Its own rules: a name, a known channel, the read-back, a time not after `now` nor before
    /// `flagged`.
    pub fn check(&self, flagged: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), Invalids> {
        let mut e = Invalids::default();
        e.take(plain("told_name", "接收人", &self.told_name, 50));
        if !CRITICAL_CHANNELS.iter().any(|(c, n)| *c == self.channel || *n == self.channel) {
            e.push(Invalid::new("channel", "通知方式", "电话、当面或视频", format!("“{}”不是通知方式", self.channel)));
        }
        e.take(plain("read_back", "接收人回读", &self.read_back, 500));
        if self.told_at < flagged {
            e.push(Invalid::new("told_at", "通知时间", "不早于标记危急值的时间", "通知时间早于标记危急值的时间"));
        } else if self.told_at > now + chrono::Duration::minutes(1) {
            e.push(Invalid::new("told_at", "通知时间", "不晚于现在", "通知时间在将来"));
        }
        e.finish(|| ())
    }
}

/// A reason a person gives (a decline, a reassignment): required, at most 200 characters.
pub fn reason(field: &str, label: &str, s: &str) -> Result<String, Invalid> {
    plain(field, label, s, 200)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good() -> NewRequest {
        NewRequest {
            patient_name: "阿依古丽".into(),
            patient_sex: "女".into(),
            patient_age: 46,
            patient_id_number: None,
            exam: "头颅 MR 平扫".into(),
            modality: "MR".into(),
            body_part: "头部".into(),
            clinical_question: "头痛一周，排除占位".into(),
            case_summary: "患者头痛一周，伴恶心。".into(),
            priority: "急诊".into(),
            department_id: Some(7),
            expert_title: "副主任医师".into(),
            patient_source: "急诊".into(),
            complex: false,
            study_uids: vec!["1.2.840.113619.2.1".into(), " 1.2.840.113619.2.1 ".into()],
            consent: Some(Consent {
                given: true,
                file_name: "同意书.pdf".into(),
                content_type: "application/pdf".into(),
                bytes: b"%PDF-1.4".to_vec(),
            }),
        }
    }

    fn fields(r: &NewRequest) -> Vec<String> {
        r.check().err().map(|e| e.0.into_iter().map(|x| x.field).collect()).unwrap_or_default()
    }

    #[test]
    fn a_whole_request_is_taken_and_its_studies_once() {
        let c = good().check().unwrap();
        assert_eq!(
            (c.priority, c.modality, c.expert_title, c.patient_sex),
            (Priority::Emergency, "MR", "associate_chief", "女")
        );
        assert_eq!(c.study_uids, vec!["1.2.840.113619.2.1".to_string()]);
    }

    #[test]
    fn each_rule_names_its_field() {
        let mut r = good();
        r.consent = None;
        assert_eq!(fields(&r), ["consent"]);
        let mut r = good();
        r.consent.as_mut().unwrap().given = false;
        assert_eq!(fields(&r), ["consent"]);
        let mut r = good();
        r.consent.as_mut().unwrap().bytes.clear();
        assert_eq!(fields(&r), ["consent_file"]);
        let mut r = good();
        r.consent.as_mut().unwrap().content_type = "text/html".into();
        assert_eq!(fields(&r), ["consent_file"]);
        let mut r = good();
        r.study_uids = vec![" ".into()];
        assert_eq!(fields(&r), ["study_uids"]);
        let mut r = good();
        r.study_uids = vec!["1.2.x".into()];
        assert_eq!(fields(&r), ["study_uids"]);
        let mut r = good();
        r.department_id = None;
        assert_eq!(fields(&r), ["department_id"]);
        let mut r = good();
        (r.patient_age, r.patient_sex, r.priority, r.modality) = (151, "?".into(), "马上".into(), "XX".into());
        assert_eq!(fields(&r), ["patient_sex", "patient_age", "modality", "priority"]);
        let mut r = good();
        r.patient_id_number = Some("110101199003070000".into());
        assert_eq!(fields(&r), ["patient_id_number"]);
    }

    #[test]
    fn the_report_goes_its_way_and_no_other() {
        use ReportAction as A;
        use ReportState as S;
        let reader = ReportStanding { reader: true, ..Default::default() };
        let reviewer = ReportStanding { reviewer: true, ..Default::default() };
        let requester = ReportStanding { requester: true, ..Default::default() };
        assert_eq!(report_step(S::Draft, A::Sign, reader, true), Ok(S::Preliminary));
        assert!(report_step(S::Draft, A::Sign, reviewer, true).is_err());
        assert!(report_step(S::Preliminary, A::Issue, reader, true).is_err());
        assert_eq!(report_step(S::Preliminary, A::Issue, reader, false), Ok(S::Final));
        assert!(report_step(S::Preliminary, A::Review, reader, true).is_err());
        assert_eq!(report_step(S::Preliminary, A::Review, reviewer, true), Ok(S::Reviewed));
        assert_eq!(report_step(S::Reviewed, A::Issue, reviewer, true), Ok(S::Final));
        assert!(report_step(S::Reviewed, A::Confirm, requester, true).is_err());
        assert_eq!(report_step(S::Final, A::Confirm, requester, true), Ok(S::Confirmed));
        assert!(report_step(S::Final, A::Confirm, reader, true).is_err());
        assert_eq!(report_step(S::Confirmed, A::Amend, reader, true), Ok(S::Draft));
        assert!(report_step(S::Draft, A::Amend, reader, true).is_err());
        assert!(report_step(S::Final, A::Sign, reader, true).is_err());
        // Every state, action, standing and rule tried: 15 lead somewhere — sign a draft (2), review
        // (2), issue a preliminary one without the rule (1), issue a reviewed one as reader or
        // reviewer (4), confirm (2), amend a final or confirmed one (4).
        let states = [S::Draft, S::Preliminary, S::Reviewed, S::Final, S::Confirmed];
        let actions = [A::Sign, A::Review, A::Issue, A::Confirm, A::Amend];
        let everyone = [reader, reviewer, requester];
        let mut allowed = 0;
        for s in states {
            for a in actions {
                for w in everyone {
                    for req in [true, false] {
                        allowed += usize::from(report_step(s, a, w, req).is_ok());
                    }
                }
            }
        }
        assert_eq!(allowed, 15);
    }

    #[test]
    fn the_template_follows_the_exam() {
        assert_eq!(template_for("CT", "头部").0, "头颅 CT 平扫");
        assert_eq!(template_for("MR", "头颅").0, "头颅 MR 平扫");
        assert_eq!(template_for("US", "腹部").0, "通用");
    }

    #[test]
    fn the_targets_and_their_clocks() {
        let targets = default_targets();
        let name = |p, s, m, b, c| target_for(&targets, p, s, m, b, c).map(|t| t.name.as_str());
        assert_eq!(name("emergency", "emergency", "CT", "头部", false), Some("急诊头颅 CT/MR"));
        assert_eq!(name("emergency", "inpatient", "MR", "腰椎", false), Some("急诊 CT/MR"));
        assert_eq!(name("emergency", "emergency", "DX", "胸部", false), Some("急诊其他检查"));
        assert_eq!(name("routine", "inpatient", "CT", "胸部", true), Some("疑难病例"));
        assert_eq!(name("routine", "inpatient", "CT", "胸部", false), Some("住院患者"));
        assert_eq!(name("urgent", "outpatient", "US", "腹部", false), Some("门诊患者"));
        assert!(check_targets(&targets).is_ok());
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let find = |n: &str| targets.iter().find(|t| t.name == n).unwrap().clone();
        // On the clock: 30 minutes, nights and weekends included.
        assert_eq!(due(at("2026-12-05T15:00:00Z"), &find("急诊头颅 CT/MR")), at("2026-12-05T15:30:00Z"));
        // Four working hours from Friday 19:00 Beijing: one hour that day, three on Monday from 10:00.
        assert_eq!(due(at("2026-12-04T11:00:00Z"), &find("门诊患者")), at("2026-12-07T05:00:00Z"));
        // From Saturday: Monday 10:00–14:00 and 16:00–18:00 for six hours.
        assert_eq!(due(at("2026-12-05T03:00:00Z"), &find("住院患者")), at("2026-12-07T10:00:00Z"));
        // Inside the lunch break: the clock waits for 16:00.
        assert_eq!(
            due(at("2026-12-07T06:30:00Z"), &TatTarget { minutes: 90, ..find("门诊患者") }),
            at("2026-12-07T09:30:00Z")
        );
        let t = find("急诊头颅 CT/MR");
        let (asked, images) = (at("2026-12-07T02:00:00Z"), at("2026-12-07T02:10:00Z"));
        assert_eq!(clock(asked, None, None, &t, at("2026-12-07T05:00:00Z")), Clock::WaitingForImages);
        assert_eq!(
            clock(asked, Some(images), None, &t, at("2026-12-07T02:41:00Z")),
            Clock::Running { start: images, due: at("2026-12-07T02:40:00Z"), overdue: true }
        );
        assert!(matches!(
            clock(asked, Some(images), Some(at("2026-12-07T02:35:00Z")), &t, asked),
            Clock::Done { within: true, .. }
        ));
        let mut bad = targets.clone();
        bad[0].minutes = 0;
        assert_eq!(check_targets(&bad).unwrap_err().0[0].field, "targets[0].minutes");
    }

    #[test]
    fn critical_notices_keep_their_rules() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let n = CriticalNotice {
            told_name: "阿卜杜拉 医生".into(),
            channel: "电话".into(),
            told_at: at("2026-12-07T02:20:00Z"),
            read_back: "右侧额叶急性脑出血，已收到".into(),
        };
        assert!(n.check(at("2026-12-07T02:00:00Z"), at("2026-12-07T03:00:00Z")).is_ok());
        let fields = |n: &CriticalNotice| {
            n.check(at("2026-12-07T02:00:00Z"), at("2026-12-07T03:00:00Z"))
                .unwrap_err()
                .0
                .into_iter()
                .map(|i| i.field)
                .collect::<Vec<_>>()
        };
        assert_eq!(fields(&CriticalNotice { read_back: " ".into(), ..n.clone() }), ["read_back"]);
        assert_eq!(fields(&CriticalNotice { channel: "信鸽".into(), ..n.clone() }), ["channel"]);
        assert_eq!(fields(&CriticalNotice { told_at: at("2026-12-07T01:59:00Z"), ..n.clone() }), ["told_at"]);
        assert_eq!(fields(&CriticalNotice { told_at: at("2026-12-07T04:00:00Z"), ..n.clone() }), ["told_at"]);
        assert_eq!(parse_critical_list("急性脑出血\n\n 气胸 \n急性脑出血").unwrap(), ["急性脑出血", "气胸"]);
        assert!(parse_critical_list(" \n").is_err());
    }

    #[test]
    fn a_higher_title_meets_a_lower_wish() {
        assert!(title_meets("chief", "associate_chief"));
        assert!(title_meets("attending", "any"));
        assert!(!title_meets("attending", "chief"));
    }
}
