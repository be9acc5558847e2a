//! The demo's remote imaging centre (赣陶远程影像中心): a year of consultations from Akto county
//! hospital, each through the same steps a user takes — the study learnt from the PACS, the
//! request with its consent, the routing to the owning Jiangxi hospital's expert on duty (a few
//! declined on), the report from its template signed and issued, critical results told and read
//! back, the requester's confirmation and the patient's outcome —, each stamped with its own time
//! in 2024 (`Tx::backdate`). The figures of the medical line count them like any other records.

use crate::error::Result;
use chrono::{DateTime, Datelike, Duration, TimeZone, Utc};
use domain::audit::Actor;
use domain::imaging::{Consent, CriticalNotice, NewRequest, ReportAction, ReportText, CRITICAL_FINDINGS};
use domain::users::Role;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use store::imaging::StudySeen;
use store::{Store, StoreError};

/// The departments asked, by their index in the demo's list (`AKT-HOSP-Dnn`), with how often
/// (weights), the exams asked of them and the password-less experts on their roster.
/// An exam: its name, DICOM modality and body part.
type Exam = (&'static str, &'static str, &'static str);

const ASKED: &[(usize, u32, &[Exam])] = &[
    (
        19,
        10,
        &[
            ("头颅 CT 平扫", "CT", "头颅"),
            ("胸部 CT 平扫", "CT", "胸部"),
            ("腹部 CT 增强", "CT", "腹部"),
            ("头颅 MR 平扫", "MR", "头颅"),
            ("腰椎 MR 平扫", "MR", "腰椎"),
            ("胸部 DR 正位", "DX", "胸部"),
        ],
    ),
    (6, 3, &[("头颅 MR 平扫+DWI", "MR", "头颅"), ("头颅 CT 平扫", "CT", "头颅")]),
    (3, 2, &[("冠状动脉 CTA", "CT", "心脏"), ("胸部 CT 平扫", "CT", "胸部")]),
    (2, 2, &[("膝关节 MR 平扫", "MR", "膝关节"), ("腰椎 CT 平扫", "CT", "腰椎")]),
    (4, 2, &[("胸部 CT 平扫", "CT", "胸部")]),
    (1, 1, &[("腹部 CT 增强", "CT", "腹部"), ("腹部超声", "US", "腹部")]),
];

/// The findings a demo report states, by body part word.
fn report_text(body: &str, rng: &mut StdRng) -> ReportText {
    let (findings, impression) = match body {
        "头颅" => {
            ("双侧大脑半球对称，脑实质内未见明确异常密度影，脑室系统未见扩大，中线结构居中。", "颅内未见明确异常。")
        }
        "胸部" => {
            ("双肺纹理清晰，右肺下叶见小斑片状磨玻璃影，纵隔居中，心影大小正常。", "右肺下叶少许炎症，建议治疗后复查。")
        }
        "腹部" => {
            ("肝脏形态大小正常，实质密度均匀；胆囊不大，壁光整；胰腺、脾脏、双肾未见异常。", "腹部未见明确异常。")
        }
        "心脏" => {
            ("左前降支近段见混合斑块，管腔轻度狭窄；余冠状动脉未见明确狭窄。", "冠状动脉粥样硬化，前降支近段轻度狭窄。")
        }
        "膝关节" => ("内侧半月板后角见线样高信号达关节面，前交叉韧带连续。", "内侧半月板后角撕裂（Ⅲ度）。"),
        _ => ("腰4/5椎间盘向后突出，硬膜囊受压，双侧侧隐窝变窄。", "腰4/5椎间盘突出。"),
    };
    let advice = if rng.gen_range(0..3) == 0 { "结合临床，必要时复查。" } else { "" };
    ReportText { findings: findings.into(), impression: impression.into(), advice: advice.into() }
}

/// A critical finding that fits the body part read (from the default list).
fn critical_of(body: &str, rng: &mut StdRng) -> &'static str {
    let pick: &[usize] = match body {
        "头颅" => &[0, 1, 2],
        "胸部" | "心脏" => &[3, 4, 5],
        "腹部" => &[7, 8, 9],
        _ => &[11],
    };
    CRITICAL_FINDINGS[pick[rng.gen_range(0..pick.len())]]
}

const SURNAMES: &[&str] = &["阿", "买", "吐", "热", "艾", "玉", "古", "努", "王", "李", "张", "马"];
const GIVEN: &[&str] = &["依木", "合买提", "尔逊", "孜古丽", "力江", "素甫", "丽娜", "尔汗", "建国", "秀兰"];

/// Akto in Beijing time, at `h:m` of `day` of 2024.
fn at(day: chrono::NaiveDate, h: u32, m: u32) -> Option<DateTime<Utc>> {
    let tz = chrono::FixedOffset::east_opt(8 * 3600)?;
    tz.from_local_datetime(&day.and_hms_opt(h, m, 0)?).single().map(|d| d.with_timezone(&Utc))
}

fn actor(name: &str, user: i64, role: Role, org: i64) -> Actor {
    Actor {
        user_id: Some(domain::ids::UserId::issued(user)),
        name: name.into(),
        role,
        org_id: Some(domain::ids::OrgId::issued(org)),
        source: None,
    }
}

/// What the demo's year of consultations came to.
#[derive(Debug, Default, Clone, Copy)]
pub struct Loaded {
    pub requests: usize,
    pub criticals: usize,
}

/// Load the year 2024 of consultations. `doctor` is the county hospital's requesting user,
/// `expert` the demo's printed expert account (on the imaging department's roster).
pub async fn load(store: &Store, doctor: &str, expert: &str) -> Result<Loaded> {
    let system = Actor { name: "demo".into(), ..Actor::system() };
    let mut rng = StdRng::seed_from_u64(20_240_101);
    let doctor_id: i64 = store
        .user_id_by_name(doctor)
        .await?
        .ok_or_else(|| StoreError::NotFound { what: "用户", id: doctor.to_string() })?;
    let mut tx = store.write(&system).await?;
    let Some(&hosp) = tx.org_ids(&["AKT-HOSP"]).await?.first() else { return Ok(Loaded::default()) };
    let doctor = actor(doctor, doctor_id, Role::Reporter, hosp);

    // The roster: the printed expert reads for the imaging department; each other department asked
    // has two experts of its owning hospital (accounts without a known password).
    let mut experts: std::collections::HashMap<i64, Actor> = std::collections::HashMap::new();
    let mut departments = Vec::new();
    {
        for &(n, weight, exams) in ASKED {
            let code = format!("AKT-HOSP-D{n:02}");
            let Some(&dept) = tx.org_ids(&[code.as_str()]).await?.first() else { continue };
            let Some((owner_id, owner)) = store.imaging_owner(dept).await? else { continue };
            let mut names = Vec::new();
            if n == 19 {
                names.push((expert.to_string(), "associate_chief"));
            }
            names.push((format!("expert.d{n:02}.a"), "chief"));
            names.push((format!("expert.d{n:02}.b"), "attending"));
            for (name, title) in names {
                let id = match store.user_id_by_name(&name).await? {
                    Some(id) => id,
                    None => {
                        let password =
                            format!("Demo#{}x{}", rng.gen_range(100_000..999_999), rng.gen_range(1000..9999));
                        tx.add_user(&name, Role::Reporter, Some(&owner), &password).await?.get()
                    }
                };
                tx.set_imaging_expert(id, dept, title, true).await?;
                experts.insert(id, actor(&name, id, Role::Reporter, owner_id));
            }
            departments.push((dept, weight, exams));
        }
        tx.commit().await?;
    }
    if departments.is_empty() {
        return Ok(Loaded::default());
    }
    let total_weight: u32 = departments.iter().map(|d| d.1).sum();
    let mut loaded = Loaded::default();
    let mut day = chrono::NaiveDate::from_ymd_opt(2024, 1, 2).ok_or(StoreError::Integrity("日期".into()))?;
    let end = chrono::NaiveDate::from_ymd_opt(2024, 12, 31).ok_or(StoreError::Integrity("日期".into()))?;
    let mut n = 0u32;
    while day <= end {
        let weekend = day.weekday().num_days_from_monday() >= 5;
        let today = if weekend { rng.gen_range(0..2) } else { rng.gen_range(0..3) };
        for _ in 0..today {
            n += 1;
            let mut pick = rng.gen_range(0..total_weight);
            let &(dept, _, exams) = departments
                .iter()
                .find(|d| {
                    if pick < d.1 {
                        true
                    } else {
                        pick -= d.1;
                        false
                    }
                })
                .unwrap_or(&departments[0]);
            let (exam, modality, body) = exams[rng.gen_range(0..exams.len())];
            let emergency = rng.gen_range(0..100) < 18;
            let (priority, source) = if emergency {
                ("emergency", "emergency")
            } else if rng.gen_range(0..3) == 0 {
                ("routine", "inpatient")
            } else {
                ("routine", "outpatient")
            };
            let h = if emergency { rng.gen_range(0..24) } else { rng.gen_range(10..19) };
            let Some(taken) = at(day, h, rng.gen_range(0..60)) else { continue };
            // The study arrives at the PACS, complete a few minutes after the scan.
            let uid = format!("1.2.156.14702.20240.{n}");
            {
                let mut tx = store.write(&system).await?;
                tx.backdate(taken + Duration::minutes(rng.gen_range(3..12)));
                tx.record_study(&StudySeen {
                    pacs_id: format!("demo-{n:05}"),
                    study_uid: uid.clone(),
                    accession: Some(format!("AKT{n:06}")),
                    study_date: Some(day.format("%Y-%m-%d").to_string()),
                    description: Some(exam.to_string()),
                    institution: Some("阿克陶县人民医院".into()),
                    modalities: modality.into(),
                    body_parts: body.into(),
                    series_count: rng.gen_range(1..6),
                    instance_count: rng.gen_range(20..400),
                    stable: true,
                })
                .await?;
                tx.commit().await?;
            }
            let requested = taken + Duration::minutes(rng.gen_range(10..25));
            let name =
                format!("{}{}", SURNAMES[rng.gen_range(0..SURNAMES.len())], GIVEN[rng.gen_range(0..GIVEN.len())]);
            let request = NewRequest {
                patient_name: name,
                patient_sex: if rng.gen_range(0..2) == 0 { "男" } else { "女" }.into(),
                patient_age: rng.gen_range(3..86),
                patient_id_number: None,
                exam: exam.into(),
                modality: modality.into(),
                body_part: body.into(),
                clinical_question: "请协助明确诊断并给出处理建议。".into(),
                case_summary: "患者因相关症状就诊，县医院完成检查，申请上级医院专家阅片。".into(),
                priority: priority.into(),
                department_id: Some(dept),
                expert_title: "attending".into(),
                patient_source: source.into(),
                complex: !emergency && rng.gen_range(0..20) == 0,
                study_uids: vec![uid],
                consent: Some(Consent {
                    given: true,
                    file_name: "知情同意书.pdf".into(),
                    content_type: "application/pdf".into(),
                    bytes: b"%PDF-1.4\n% demo consent\n".to_vec(),
                }),
            };
            let id = {
                let mut tx = store.write(&doctor).await?;
                tx.backdate(requested);
                let id = tx.request_imaging(&request).await?;
                tx.commit().await?;
                id
            };
            loaded.requests += 1;
            // Reading: the expert offered it accepts (one in twenty first declines it on).
            let mut t = requested + Duration::minutes(rng.gen_range(2..15));
            let mut reader = None;
            for _ in 0..3 {
                let Some(assignee) = store.imaging_request_for(&system, id).await?.assignee_user_id else { break };
                let Some(a) = experts.get(&assignee).cloned() else { break };
                let mut tx = store.write(&a).await?;
                tx.backdate(t);
                if reader.is_none() && rng.gen_range(0..20) == 0 {
                    tx.decline_imaging(id, "正在手术，无法及时阅片").await?;
                    tx.commit().await?;
                    t += Duration::minutes(rng.gen_range(3..10));
                    reader = Some(None);
                    continue;
                }
                tx.accept_imaging(id).await?;
                tx.commit().await?;
                reader = Some(Some(a));
                break;
            }
            let Some(Some(reader)) = reader else { continue };
            // The report: within its target most of the time.
            let minutes = if emergency {
                rng.gen_range(12..75)
            } else if rng.gen_range(0..10) == 0 {
                rng.gen_range(300..1500)
            } else {
                rng.gen_range(30..240)
            };
            let issued = t + Duration::minutes(minutes);
            {
                let mut tx = store.write(&reader).await?;
                tx.backdate(issued - Duration::minutes(5));
                tx.save_imaging_report(id, &report_text(body, &mut rng)).await?;
                tx.imaging_report_step(id, ReportAction::Sign, None).await?;
                // A critical result on a few emergencies, flagged as it is read, told by
                // telephone and read back.
                let critical = if emergency && rng.gen_range(0..5) == 0 {
                    let finding = critical_of(body, &mut rng);
                    tx.backdate(issued - Duration::minutes(3));
                    Some((finding, tx.flag_critical(id, finding, "").await?))
                } else {
                    None
                };
                tx.backdate(issued);
                tx.imaging_report_step(id, ReportAction::Issue, None).await?;
                if let Some((finding, c)) = critical {
                    // Told within 2 to 27 minutes of the flag, one in eight late (28 to 50).
                    let after = if rng.gen_range(0..8) == 0 { rng.gen_range(28..51) } else { rng.gen_range(2..28) };
                    let told = issued - Duration::minutes(3) + Duration::minutes(after);
                    tx.backdate(told + Duration::minutes(1));
                    tx.record_critical_notice(
                        c,
                        &CriticalNotice {
                            told_name: "县医院急诊科值班医生".into(),
                            channel: "phone".into(),
                            told_at: told,
                            read_back: format!("{finding}，立即处置"),
                        },
                    )
                    .await?;
                    loaded.criticals += 1;
                }
                tx.commit().await?;
            }
            // The county hospital reads it, and records where the patient went.
            {
                let mut tx = store.write(&doctor).await?;
                tx.backdate(issued + Duration::minutes(rng.gen_range(20..600)));
                tx.imaging_report_step(id, ReportAction::Confirm, None).await?;
                let outcome = if rng.gen_range(0..100) < 86 { "local" } else { "transferred" };
                tx.record_imaging_outcome(id, outcome).await?;
                tx.commit().await?;
            }
        }
        day = day.succ_opt().ok_or(StoreError::Integrity("日期".into()))?;
    }
    // The year's notices were read in their year: the bells start empty of them.
    for a in experts.values().chain(std::iter::once(&doctor)) {
        let Some(user) = a.user_id else { continue };
        let ids = store.unread_of_kinds(user.get(), &["imaging", "critical"]).await?;
        if !ids.is_empty() {
            let mut tx = store.write(a).await?;
            tx.mark_read(Some(&ids)).await?;
            tx.commit().await?;
        }
    }
    Ok(loaded)
}
