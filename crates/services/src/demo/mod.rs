//! The demo program: Jiangxi → Kizilsu (mainly Akto), eleven batches. Names are invented, identity
//! numbers synthetic but valid, region codes real. Every figure of `shared/seed/figures.tsv` is
//! defined in [`figures`] and computed from these records; none is stored as a number.
//!
//! Everything is written through the ordinary store API (checks, references and audit included)
//! in one transaction: the demo loads whole or not at all.

pub mod figures;
pub mod imaging;

use crate::error::{Result, ServiceError};
use chrono::Duration;
use domain::activities::{NewActivity, NewProcedure};
use domain::audit::Actor;
use domain::ids::{ActivityId, BatchId, OrgId, PairingId, PersonId, ProgramId};
use domain::indicators::{NewIndicatorDef, NewIndicatorTarget, NewIndicatorValue, Period};
use domain::lines::{
    NewAchievement, NewDonation, NewEmploymentCentre, NewEmploymentRecord, NewInvestmentEvent, NewInvestmentProject,
};
use domain::orgs::{CreditCode, NewOrg, Side};
use domain::pairings::NewPairing;
use domain::people::{IdNumber, NewPerson, Phone};
use domain::program::{NewBatch, NewProgram};
use domain::projects::{NewFunding, NewOutput, NewProject, NewStatusEvent};
use domain::regions::RegionCode;
use domain::users::Role;
use domain::{Date, Fen};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use store::{Store, StoreError, Tx};

/// What the demo loaded.
#[derive(Debug, Clone, Serialize)]
pub struct DemoSummary {
    pub program_id: ProgramId,
    pub organizations: usize,
    pub people: usize,
    pub projects: usize,
    pub activities: usize,
    pub figures: usize,
    /// The demo accounts with their one-time passwords (each must be changed at first login).
    pub accounts: Vec<DemoAccount>,
}

/// A demo account: printed once, never stored in clear.
#[derive(Debug, Clone, Serialize)]
pub struct DemoAccount {
    pub name: String,
    pub role: Role,
    pub org: Option<&'static str>,
    pub password: String,
}

/// The demo's accounts: one per role, the business ones scoped to real organizations.
const ACCOUNTS: &[(&str, Role, Option<&str>)] = &[
    ("demo.manager", Role::Manager, Some("JX-CMD")),
    ("demo.reporter", Role::Reporter, Some("AKT-HOSP")),
    // The reporting cycle: a township school reports, its county reviews.
    ("demo.township", Role::Reporter, Some("AKT-S01")),
    ("demo.county", Role::Reporter, Some("AKT-GOV")),
    // The remote imaging centre: an expert of the hospital that owns the county hospital's
    // imaging department (院包科), on its duty roster; demo.reporter requests.
    ("demo.expert", Role::Reporter, Some("JX-H06")),
    ("demo.viewer", Role::Viewer, None),
    ("demo.sysadmin", Role::SysAdmin, None),
    ("demo.secadmin", Role::SecAdmin, None),
    ("demo.auditor", Role::Auditor, None),
];

/// A random password that meets the policy: 16 characters from all four classes.
fn one_time_password() -> String {
    use rand::seq::SliceRandom;
    const UP: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
    const LO: &[u8] = b"abcdefghijkmnopqrstuvwxyz";
    const DI: &[u8] = b"23456789";
    const SY: &[u8] = b"#%+-=@";
    let mut rng = rand::rngs::OsRng;
    let all: Vec<u8> = [UP, LO, DI, SY].concat();
    let mut p: Vec<u8> = [UP, LO, DI, SY].iter().filter_map(|set| set.choose(&mut rng).copied()).collect();
    while p.len() < 16 {
        if let Some(c) = all.choose(&mut rng) {
            p.push(*c);
        }
    }
    p.shuffle(&mut rng);
    String::from_utf8(p).unwrap_or_default()
}

fn day(s: &str) -> Result<Date> {
    Ok(Date::parse(s).map_err(StoreError::from)?)
}

fn region(s: &str) -> Result<RegionCode> {
    Ok(RegionCode::parse(s).map_err(StoreError::from)?)
}

fn period(s: &str) -> Result<Period> {
    Ok(Period::parse(s).map_err(StoreError::from)?)
}

const AKTO: &str = "653022";
const AKTO_TOWNSHIPS: &[&str] = &[
    "653022100",
    "653022101",
    "653022102",
    "653022103",
    "653022200",
    "653022201",
    "653022202",
    "653022203",
    "653022204",
    "653022205",
    "653022206",
    "653022210",
];
pub(crate) const JX_CITIES: &[(&str, &str)] = &[
    ("360100", "南昌"),
    ("360200", "景德镇"),
    ("360300", "萍乡"),
    ("360400", "九江"),
    ("360500", "新余"),
    ("360600", "鹰潭"),
    ("360700", "赣州"),
    ("360800", "吉安"),
    ("360900", "宜春"),
    ("361000", "抚州"),
    ("361100", "上饶"),
];
pub(crate) const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何", "罗", "高",
    "林", "熊", "邹", "万", "涂", "彭", "曾", "谢", "钟", "喻", "饶",
];
pub(crate) const GIVEN: &[&str] = &[
    "建华", "晓东", "志强", "海燕", "文斌", "丽娟", "国庆", "红梅", "伟", "敏", "静", "磊", "洋", "勇", "艳", "杰",
    "娟", "涛", "明", "超", "秀英", "俊", "慧", "鹏", "琳", "斌", "宇", "婷", "浩", "鑫",
];
pub(crate) const LOCAL_NAMES: &[&str] = &[
    "阿依古丽",
    "买买提",
    "古丽米热",
    "艾力",
    "热依拉",
    "努尔兰",
    "阿迪力",
    "麦尔旦",
    "帕提古丽",
    "吐尔逊",
    "阿斯卡尔",
    "迪丽努尔",
    "依明",
    "库尔班",
    "阿曼古丽",
    "玉山",
    "布阿依谢木",
    "托合提",
    "再娜甫",
    "艾克拜尔",
];

struct Loader<'s> {
    tx: Tx<'s>,
    rng: StdRng,
    program: ProgramId,
    seq: u32,
    people: usize,
    activities: usize,
    projects: usize,
    orgs: usize,
    /// The pairing the next activity belongs to (院包科 teaching in a paired department).
    under_pairing: Option<PairingId>,
}

impl<'s> Loader<'s> {
    fn between(&mut self, from: Date, to: Date) -> Date {
        let days = (to.naive() - from.naive()).num_days().max(0);
        Date::from_naive(from.naive() + Duration::days(self.rng.gen_range(0..=days)))
    }

    fn pick<'a>(&mut self, list: &'a [&'a str]) -> &'a str {
        list[self.rng.gen_range(0..list.len())]
    }

    fn han_name(&mut self) -> String {
        format!("{}{}", self.pick(SURNAMES), self.pick(GIVEN))
    }

    fn local_name(&mut self) -> String {
        format!("{}·{}", self.pick(LOCAL_NAMES), self.pick(LOCAL_NAMES))
    }

    async fn org(
        &mut self,
        code: &str,
        name: &str,
        side: Side,
        kind: &'static str,
        parent: Option<OrgId>,
        region_code: &str,
    ) -> Result<OrgId> {
        self.orgs += 1;
        Ok(self
            .tx
            .insert_org(&NewOrg {
                code: code.into(),
                name: name.into(),
                side,
                kind,
                parent_id: parent,
                region: region(region_code)?,
                credit_code: None,
            })
            .await?)
    }

    fn id_number(&mut self, region6: &str, born_year: i32) -> Result<IdNumber> {
        self.seq += 1;
        let birth = format!("{born_year}{:02}{:02}", self.rng.gen_range(1..=12), self.rng.gen_range(1..=28));
        Ok(IdNumber::synthesize(region6, &birth, self.seq).map_err(StoreError::from)?)
    }

    fn phone(&mut self) -> Result<Phone> {
        let p = format!("1{}{:09}", self.rng.gen_range(3..=9), self.rng.gen_range(0..1_000_000_000u64));
        Ok(Phone::parse(&p).map_err(StoreError::from)?)
    }

    #[allow(clippy::too_many_arguments)]
    async fn aid_person(
        &mut self,
        batch: (BatchId, Date, Option<Date>),
        category: &'static str,
        line: &'static str,
        title: Option<&str>,
        post: &str,
        home: Option<OrgId>,
        host: Option<OrgId>,
        start: Option<Date>,
    ) -> Result<PersonId> {
        let born = batch.1.year() - self.rng.gen_range(28..=50);
        let city = JX_CITIES[self.rng.gen_range(0..JX_CITIES.len())].0;
        let id_number = Some(self.id_number(city, born)?);
        let phone = Some(self.phone()?);
        let name = self.han_name();
        let gender = Some(if self.rng.gen_bool(0.6) { "男" } else { "女" });
        self.people += 1;
        Ok(self
            .tx
            .insert(&NewPerson {
                program_id: self.program,
                kind: "aid",
                name,
                gender,
                batch_id: Some(batch.0),
                category: Some(category),
                line: Some(line),
                title: title.map(str::to_string),
                post: Some(post.to_string()),
                home_org_id: home,
                host_org_id: host,
                start_date: Some(start.unwrap_or(batch.1)),
                end_date: batch.2,
                id_number,
                phone,
            })
            .await?)
    }

    async fn local_person(&mut self, post: &str, line: &'static str, host: OrgId) -> Result<PersonId> {
        let born = self.rng.gen_range(1985..=2000);
        let id_number = Some(self.id_number(AKTO, born)?);
        let name = self.local_name();
        self.people += 1;
        Ok(self
            .tx
            .insert(&NewPerson {
                program_id: self.program,
                kind: "local",
                name,
                gender: Some(if self.rng.gen_bool(0.5) { "男" } else { "女" }),
                batch_id: None,
                category: None,
                line: Some(line),
                title: None,
                post: Some(post.into()),
                home_org_id: None,
                host_org_id: Some(host),
                start_date: None,
                end_date: None,
                id_number,
                phone: None,
            })
            .await?)
    }

    #[allow(clippy::too_many_arguments)]
    async fn activity(
        &mut self,
        type_code: &str,
        brand: Option<&str>,
        title: String,
        date: Date,
        region_code: &str,
        organizer: Option<OrgId>,
        participants: i64,
        beneficiaries: i64,
    ) -> Result<ActivityId> {
        let pairing = self.under_pairing.take();
        self.activities += 1;
        let line = activity_line(type_code, brand);
        Ok(self
            .tx
            .insert(&NewActivity {
                program_id: self.program,
                type_code: type_code.into(),
                brand_code: brand.map(str::to_string),
                line,
                title,
                date,
                end_date: None,
                region: region(region_code)?,
                organizer_org_id: organizer,
                project_id: None,
                pairing_id: pairing,
                participants,
                beneficiaries,
            })
            .await?)
    }

    async fn pairing(
        &mut self,
        type_code: &str,
        a: (Option<OrgId>, Option<PersonId>),
        b: (Option<OrgId>, Option<PersonId>),
        start: Date,
    ) -> Result<PairingId> {
        Ok(self
            .tx
            .insert(&NewPairing {
                program_id: self.program,
                type_code: type_code.into(),
                a_org_id: a.0,
                b_org_id: b.0,
                a_person_id: a.1,
                b_person_id: b.1,
                start_date: start,
                end_date: None,
                note: None,
            })
            .await?)
    }
}

/// Split `total` into `n` positive parts around total/n, deterministic for a seed.
fn split(rng: &mut StdRng, total: i64, n: usize) -> Vec<i64> {
    let n = n.max(1);
    let base = total / n as i64;
    let spread = (base / 3).max(1);
    let mut parts: Vec<i64> = (0..n).map(|_| (base + rng.gen_range(-spread..=spread)).max(1)).collect();
    let sum: i64 = parts.iter().sum();
    let last = parts.len() - 1;
    parts[last] += total - sum;
    if parts[last] < 1 {
        // fall back to an even split
        parts = vec![base; n];
        parts[last] += total - base * n as i64;
    }
    parts
}

/// The demo's program: Jiangxi (36) aiding Kizilsu (6530) since 1997.
pub(crate) fn program() -> Result<NewProgram> {
    Ok(NewProgram {
        code: "JX-KZ".into(),
        name: "江西省对口支援新疆克孜勒苏柯尔克孜自治州".into(),
        donor_region: region("360000")?,
        recipient_region: region("653000")?,
        start_date: day("1997-07-01")?,
    })
}

/// The program's eleven batches, each ending the day before the next begins.
pub(crate) fn batch_plan(program_id: ProgramId) -> Result<Vec<NewBatch>> {
    const STARTS: [&str; 11] = [
        "1997-07-01",
        "1999-07-01",
        "2001-07-01",
        "2004-07-01",
        "2007-07-01",
        "2010-07-01",
        "2011-12-20",
        "2014-02-20",
        "2017-02-20",
        "2020-04-20",
        "2023-04-20",
    ];
    let mut out = Vec::new();
    for (i, s) in STARTS.iter().enumerate() {
        let start_date = day(s)?;
        let end_date = match STARTS.get(i + 1) {
            Some(next) => Some(Date::from_naive(day(next)?.naive() - Duration::days(1))),
            None => None,
        };
        out.push(NewBatch { program_id, number: i as i64 + 1, start_date, end_date });
    }
    Ok(out)
}

/// The program's indicator definitions (admission rate, enrollment plan, hospital revenue…).
pub(crate) fn indicator_defs() -> Vec<NewIndicatorDef> {
    let defs = [
        ("undergrad_admitted", "本科上线人数", "人", 0, "sum", None, None, 1),
        ("exam_takers", "高考参考人数", "人", 0, "sum", None, None, 1),
        ("admission_rate", "本科上线率", "%", 0, "ratio", Some("undergrad_admitted"), Some("exam_takers"), 100),
        ("enrollment_plan", "在疆招生计划", "人", 0, "sum", None, None, 1),
        ("hospital_revenue", "医疗总收入", "元", 2, "sum", None, None, 1),
        ("referrals_out", "转院人次", "人次", 0, "sum", None, None, 1),
    ];
    defs.into_iter()
        .map(|(code, name, unit, scale, combine, num, den, factor)| NewIndicatorDef {
            code: code.into(),
            name: name.into(),
            unit: unit.into(),
            scale,
            combine,
            numerator: num.map(str::to_string),
            denominator: den.map(str::to_string),
            factor,
            higher_is_better: code != "referrals_out",
        })
        .collect()
}

/// The report templates (the 综述 that states every figure of the seed article) and the figure
/// definitions; returns how many figures were defined.
/// The reporting cycle of the demo program: the review chain (county → front command →
/// province), monthly activity reports due five days after the month, and October 2026, in
/// which 克州第三中学 reported on time and 阿克陶县人民医院 has not reported.
pub(crate) async fn install_cycle(tx: &mut Tx<'_>, program: i64) -> Result<()> {
    use domain::reporting::{Frequency, NewPeriod};
    let county = tx.org_ids(&["AKT-GOV", "KZ-GOV"]).await?;
    let command = tx.org_ids(&["JX-CMD"]).await?;
    let province = tx.org_ids(&["JX-GOV"]).await?;
    tx.set_review_chain(
        program,
        &[("县级审核".into(), county), ("前方指挥部".into(), command), ("省级".into(), province)],
    )
    .await?;
    tx.set_schedule(program, "activities", Frequency::Monthly, 5).await?;
    let october =
        NewPeriod::parse("activities", Frequency::Monthly, "2026-10", "2026-11-05").map_err(StoreError::from)?;
    let units = tx.org_ids(&["KZ-S3", "AKT-HOSP"]).await?;
    let period = tx.open_period(program, &october, Frequency::Monthly, &units).await?;
    let on = Date::parse("2026-11-03").map_err(StoreError::from)?;
    tx.record_reported(period, units[0], on).await?;
    Ok(())
}

pub(crate) async fn install_reporting(tx: &mut Tx<'_>) -> Result<usize> {
    tx.insert(&domain::reports::NewTemplateVersion {
        key: "summary".into(),
        version: 1,
        name: "援疆工作综述".into(),
        body: include_str!("summary.tpl").into(),
    })
    .await?;
    let defs = figures::definitions()?;
    for def in &defs {
        tx.insert(def).await?;
    }
    Ok(defs.len())
}

/// Load the demo program into an empty database.
pub async fn load(store: &Store) -> Result<DemoSummary> {
    if !store.is_empty().await? {
        return Err(ServiceError::NotEmpty);
    }
    let actor = Actor { name: "demo".into(), ..Actor::system() };
    let mut tx = store.write(&actor).await?;
    let program = tx.insert(&program()?).await?;
    let mut l = Loader {
        tx,
        rng: StdRng::seed_from_u64(20_230_420),
        program,
        seq: 0,
        people: 0,
        activities: 0,
        projects: 0,
        orgs: 0,
        under_pairing: None,
    };
    let summary_figures = load_into(&mut l).await?;
    install_reporting(&mut l.tx).await?;
    install_cycle(&mut l.tx, program.get()).await?;
    let mut accounts = Vec::new();
    for (name, role, org) in ACCOUNTS {
        let password = one_time_password();
        l.tx.add_user(name, *role, *org, &password).await?;
        accounts.push(DemoAccount { name: name.to_string(), role: *role, org: *org, password });
    }
    let summary = DemoSummary {
        accounts,
        program_id: program,
        organizations: l.orgs,
        people: l.people,
        projects: l.projects,
        activities: l.activities,
        figures: summary_figures,
    };
    l.tx.commit().await?;
    open_demo_order(store, program.get(), &actor).await?;
    imaging::load(store, "demo.reporter", "demo.expert").await?;
    Ok(summary)
}

/// The demo's follow-up order: the front command orders the most overdue project that has not
/// started to be fixed within two weeks, assigned to its implementing body (when one is red).
async fn open_demo_order(store: &Store, program: i64, actor: &Actor) -> Result<()> {
    use domain::warnings::{NewOrder, Rule};
    let today = store::reporting::today();
    let warnings = crate::warnings::warnings(store, program, &Default::default(), today).await?;
    let Some((w, p)) = warnings
        .iter()
        .filter(|w| w.rule == Rule::NotStarted && w.light == domain::projects::Schedule::Red)
        .find_map(|w| w.project.as_ref().map(|p| (w, p)))
    else {
        return Ok(());
    };
    let Some(org) = store.project_org(p.id).await? else { return Ok(()) };
    let due = Date::from_naive(today.naive() + chrono::Duration::days(14));
    let order = NewOrder::parse(
        &format!("{} {}：{}", p.code, p.name, w.rule.zh()),
        "逾期未开工：请于两周内查明原因、落实开工条件并报送开工报告。",
        &due.to_string(),
        today,
    )
    .map_err(StoreError::Invalid)?;
    let mut tx = store.write(actor).await?;
    tx.open_follow_up(program, &store::followups::Target::Warning { rule: w.rule, project: Some(p.id) }, org, &order)
        .await?;
    tx.commit().await?;
    Ok(())
}

async fn load_into(l: &mut Loader<'_>) -> Result<usize> {
    use Side::{Donor, Recipient};
    // ---- Organizations: donor side -------------------------------------------------------------
    let jx = l.org("JX-GOV", "江西省人民政府", Donor, "government", None, "360000").await?;
    let _jx_org = l.org("JX-ORG", "中共江西省委组织部", Donor, "government", Some(jx), "360000").await?;
    let _jx_hrss = l.org("JX-HRSS", "江西省人力资源和社会保障厅", Donor, "government", Some(jx), "360000").await?;
    let jx_health = l.org("JX-HEALTH", "江西省卫生健康委员会", Donor, "government", Some(jx), "360000").await?;
    let jx_edu = l.org("JX-EDU", "江西省教育厅", Donor, "government", Some(jx), "360000").await?;
    let command = l.org("JX-CMD", "江西省对口支援新疆工作前方指挥部", Donor, "command", Some(jx), AKTO).await?;
    let jx_soe = l.org("JX-GK", "江西省国有资本运营控股集团有限公司", Donor, "enterprise", Some(jx), "360100").await?;
    let hospital_names = [
        ("JX-H01", "南昌大学第一附属医院", "360100"),
        ("JX-H02", "南昌大学第二附属医院", "360100"),
        ("JX-H03", "江西省人民医院", "360100"),
        ("JX-H04", "江西省肿瘤医院", "360100"),
        ("JX-H05", "江西省儿童医院", "360100"),
        ("JX-H06", "江西省妇幼保健院", "360100"),
        ("JX-H07", "江西中医药大学附属医院", "360100"),
        ("JX-H08", "江西省胸科医院", "360100"),
        ("JX-H09", "赣南医科大学第一附属医院", "360700"),
        ("JX-H10", "九江市第一人民医院", "360400"),
        ("JX-H11", "上饶市人民医院", "361100"),
        ("JX-H12", "宜春市人民医院", "360900"),
        ("JX-H13", "吉安市中心人民医院", "360800"),
    ];
    let mut hospitals = Vec::new();
    for (code, name, rc) in hospital_names {
        hospitals.push(l.org(code, name, Donor, "hospital", Some(jx_health), rc).await?);
    }
    let university_names = [
        ("JX-U1", "南昌大学", "360100"),
        ("JX-U2", "江西师范大学", "360100"),
        ("JX-U3", "江西理工大学", "360700"),
        ("JX-U4", "华东交通大学", "360100"),
        ("JX-U5", "江西财经大学", "360100"),
        ("JX-U6", "江西农业大学", "360100"),
        ("JX-U7", "南昌航空大学", "360100"),
        ("JX-U8", "江西科技师范大学", "360100"),
    ];
    let mut universities = Vec::new();
    for (code, name, rc) in university_names {
        universities.push(l.org(code, name, Donor, "university", Some(jx_edu), rc).await?);
    }
    let school_kinds = [
        "第一中学",
        "第二中学",
        "实验中学",
        "实验小学",
        "育才学校",
        "第三中学",
        "外国语学校",
        "第五中学",
        "师范附属小学",
        "第四中学",
        "第二小学",
        "第七中学",
        "第六中学",
        "新区学校",
        "第八中学",
    ];
    let mut jx_schools = Vec::new();
    for i in 0..157 {
        let (rc, city) = JX_CITIES[i % JX_CITIES.len()];
        let name = format!("{city}市{}", school_kinds[i / JX_CITIES.len()]);
        jx_schools.push(l.org(&format!("JX-S{:03}", i + 1), &name, Donor, "school", Some(jx_edu), rc).await?);
    }
    let mut firms = Vec::new();
    let firm_names = [
        ("JX-E1", "赣州南康嘉和家具有限公司", "360703"),
        ("JX-E2", "江西赣锋新材料有限公司", "360500"),
        ("JX-E3", "江西绿源农业发展有限公司", "360800"),
        ("JX-E4", "江西昌盛纺织服饰有限公司", "360900"),
        ("JX-E5", "景德镇瓷都文旅发展有限公司", "360200"),
        ("JX-E6", "江西铜岭矿业科技有限公司", "361100"),
        ("JX-E7", "江西赣新地质投资发展有限公司", "360100"),
        ("JX-E8", "江西华章光伏能源有限公司", "360600"),
    ];
    for (code, name, rc) in firm_names {
        firms.push(l.org(code, name, Donor, "enterprise", Some(jx), rc).await?);
    }
    // ---- Organizations: recipient side ---------------------------------------------------------
    let kz = l.org("KZ-GOV", "克孜勒苏柯尔克孜自治州人民政府", Recipient, "government", None, "653000").await?;
    let kz_edu = l.org("KZ-EDU", "克州教育局", Recipient, "government", Some(kz), "653000").await?;
    let kz3 = l.org("KZ-S3", "克州第三中学", Recipient, "school", Some(kz_edu), "653001").await?;
    let campus =
        l.org("KZ-TSVTU", "新疆天山职业技术大学（克州校区）", Recipient, "university", Some(kz_edu), "653001").await?;
    let akto = l.org("AKT-GOV", "阿克陶县人民政府", Recipient, "government", Some(kz), AKTO).await?;
    let akto_edu = l.org("AKT-EDU", "阿克陶县教育局", Recipient, "government", Some(akto), AKTO).await?;
    let akto_health = l.org("AKT-HEALTH", "阿克陶县卫生健康委员会", Recipient, "government", Some(akto), AKTO).await?;
    let akto_hrss =
        l.org("AKT-HRSS", "阿克陶县人力资源和社会保障局", Recipient, "government", Some(akto), AKTO).await?;
    let kzjx = l
        .org("AKT-KZJX", "克州江西实验中学（阿克陶县雪松中学）", Recipient, "school", Some(akto_edu), "653022100")
        .await?;
    let mut akto_schools = vec![kzjx];
    let akto_school_kinds = ["中心小学", "中学", "第二小学", "寄宿制学校"];
    for i in 0..39 {
        let t = AKTO_TOWNSHIPS[i % AKTO_TOWNSHIPS.len()];
        let tname = domain::regions::REGIONS.iter().find(|r| r.code == t).map(|r| r.name).unwrap_or("阿克陶");
        let name = format!("阿克陶县{tname}{}", akto_school_kinds[i / AKTO_TOWNSHIPS.len()]);
        akto_schools.push(l.org(&format!("AKT-S{:02}", i + 1), &name, Recipient, "school", Some(akto_edu), t).await?);
    }
    let hosp = l.org("AKT-HOSP", "阿克陶县人民医院", Recipient, "hospital", Some(akto_health), "653022100").await?;
    let dept_names = [
        "普外科",
        "骨科",
        "心血管内科",
        "呼吸内科",
        "消化内科",
        "神经内科",
        "肾内科",
        "内分泌科",
        "妇产科",
        "儿科",
        "新生儿科",
        "眼科",
        "耳鼻喉科",
        "口腔科",
        "皮肤科",
        "急诊科",
        "重症医学科",
        "麻醉科",
        "影像科",
        "检验科",
        "病理科",
        "中医科",
        "康复医学科",
        "泌尿外科",
        "神经外科",
        "胸外科",
        "感染科",
        "肿瘤科",
        "护理部",
        "药剂科",
    ];
    let mut departments = Vec::new();
    for (i, name) in dept_names.iter().enumerate() {
        departments.push(
            l.org(
                &format!("AKT-HOSP-D{:02}", i + 1),
                &format!("阿克陶县人民医院{name}"),
                Recipient,
                "department",
                Some(hosp),
                "653022100",
            )
            .await?,
        );
    }
    let tangjin = l.org("AKT-TJ", "新疆唐锦纺织有限公司", Recipient, "enterprise", Some(akto), "653022100").await?;
    // A credit code, checked per GB 32100, on one organization.
    l.tx.update_org(
        tangjin,
        &NewOrg {
            code: "AKT-TJ".into(),
            name: "新疆唐锦纺织有限公司".into(),
            side: Recipient,
            kind: "enterprise",
            parent_id: Some(akto),
            region: region("653022100")?,
            credit_code: Some(CreditCode::with_check("91653022MA78N0QK8").map_err(StoreError::from)?),
        },
    )
    .await?;

    // ---- Batches ------------------------------------------------------------------------------
    let mut batches = Vec::new();
    for b in batch_plan(l.program)? {
        let id = l.tx.insert(&b).await?;
        batches.push((id, b.start_date, b.end_date));
    }
    let b11 = batches[10];
    let since = b11.1;
    let today = day("2025-06-30")?;

    // ---- People -------------------------------------------------------------------------------
    // Batches 1–10: 527 people.
    let sizes = [30, 35, 40, 45, 50, 52, 55, 58, 60, 102];
    let lines: [&'static str; 6] = ["party", "education", "medical", "industry", "employment", "infrastructure"];
    for (bi, n) in sizes.iter().enumerate() {
        for k in 0..*n {
            let line = lines[k % lines.len()];
            let category = if k % 3 == 0 { "cadre" } else { "professional" };
            let host = match line {
                "education" => akto_schools[k % akto_schools.len()],
                "medical" => hosp,
                _ => akto,
            };
            l.aid_person(batches[bi], category, line, None, "援疆干部人才", Some(jx), Some(host), None).await?;
        }
    }
    // Batch 11: 250 people.
    let mut aid_teachers = Vec::new();
    let mut aid_doctors = Vec::new();
    for k in 0..30 {
        let host = [akto, akto_edu, akto_health, akto_hrss, command][k % 5];
        l.aid_person(b11, "cadre", "party", None, "挂职干部", Some(jx), Some(host), None).await?;
    }
    for k in 0..105 {
        let school = akto_schools[k % akto_schools.len()];
        let home = jx_schools[k % jx_schools.len()];
        aid_teachers.push(
            l.aid_person(
                b11,
                "professional",
                "education",
                Some("中学一级教师"),
                "援疆教师",
                Some(home),
                Some(school),
                None,
            )
            .await?,
        );
    }
    for k in 0..11 {
        let start = day("2024-03-01")?;
        l.aid_person(
            b11,
            "professional",
            "education",
            Some("副教授"),
            "驻校教师",
            Some(universities[k % 8]),
            Some(campus),
            Some(start),
        )
        .await?;
    }
    for k in 0..66 {
        let start = l.between(since, day("2025-03-31")?);
        let home = hospitals[k % hospitals.len()];
        let dept = departments[k % departments.len()];
        aid_doctors.push(
            l.aid_person(
                b11,
                "flexible",
                "medical",
                Some("主治医师"),
                "柔性援疆医生",
                Some(home),
                Some(dept),
                Some(start),
            )
            .await?,
        );
    }
    for k in 0..20 {
        let home = hospitals[k % hospitals.len()];
        aid_doctors.push(
            l.aid_person(b11, "professional", "medical", Some("副主任医师"), "援疆医生", Some(home), Some(hosp), None)
                .await?,
        );
    }
    for k in 0..18 {
        let line = ["industry", "employment", "infrastructure"][k % 3];
        l.aid_person(b11, "professional", line, None, "援疆专技人才", Some(jx), Some(akto), None).await?;
    }
    // Experts: the academicians leading the university expert team (not aid personnel).
    for (k, name) in ["杨院士", "陈院士", "罗院士"].iter().enumerate() {
        l.people += 1;
        l.tx.insert(&NewPerson {
            program_id: l.program,
            kind: "expert",
            name: name.to_string(),
            gender: Some("男"),
            batch_id: None,
            category: None,
            line: Some("education"),
            title: Some("院士".into()),
            post: Some("专家团领衔专家".into()),
            home_org_id: Some(universities[2 + k % 2]),
            host_org_id: Some(campus),
            start_date: Some(day("2024-05-01")?),
            end_date: None,
            id_number: None,
            phone: None,
        })
        .await?;
    }
    // Local young teachers and medical staff paired with mentors.
    let mut local_teachers = Vec::new();
    for k in 0..104 {
        local_teachers.push(l.local_person("青年教师", "education", akto_schools[k % akto_schools.len()]).await?);
    }
    let mut local_medics = Vec::new();
    for k in 0..71 {
        local_medics.push(
            l.local_person(if k % 3 == 0 { "护士" } else { "医师" }, "medical", departments[k % departments.len()])
                .await?,
        );
    }

    // ---- Pairings -------------------------------------------------------------------------------
    for (i, s) in jx_schools.iter().enumerate() {
        let start = l.between(since, day("2024-12-31")?);
        l.pairing("school_school", (Some(*s), None), (Some(akto_schools[i % akto_schools.len()]), None), start).await?;
    }
    for u in &universities {
        l.pairing("university_campus", (Some(*u), None), (Some(campus), None), day("2023-09-01")?).await?;
    }
    let mut dept_pairings = Vec::new();
    for (i, d) in departments.iter().enumerate() {
        dept_pairings.push(
            l.pairing(
                "hospital_department",
                (Some(hospitals[i % hospitals.len()]), None),
                (Some(*d), None),
                day("2023-06-01")?,
            )
            .await?,
        );
    }
    for (i, t) in local_teachers.iter().enumerate() {
        l.pairing(
            "mentor_teacher",
            (None, Some(aid_teachers[i % aid_teachers.len()])),
            (None, Some(*t)),
            day("2023-09-01")?,
        )
        .await?;
    }
    for (i, m) in local_medics.iter().enumerate() {
        l.pairing(
            "mentor_doctor",
            (None, Some(aid_doctors[i % aid_doctors.len()])),
            (None, Some(*m)),
            day("2023-07-01")?,
        )
        .await?;
    }

    // ---- Activities -----------------------------------------------------------------------------
    let mut rng = StdRng::seed_from_u64(7);
    // 红杜鹃微讲堂: 4,236 students over 40 sessions.
    for (i, n) in split(&mut rng, 4236, 40).into_iter().enumerate() {
        let d = l.between(since, today);
        l.activity(
            "remote_class",
            Some("hongdujuan_microlecture"),
            format!("红杜鹃微讲堂第{}期", i + 1),
            d,
            "653022100",
            Some(kzjx),
            n,
            n,
        )
        .await?;
    }
    // 重走长征路 VR course and 谷雨诗会: 21,000 teachers and students together.
    for (i, n) in split(&mut rng, 15_600, 30).into_iter().enumerate() {
        let d = l.between(since, today);
        let t = AKTO_TOWNSHIPS[i % AKTO_TOWNSHIPS.len()];
        l.activity(
            "remote_class",
            Some("long_march_vr"),
            format!("“重走长征路”VR思政课（第{}场）", i + 1),
            d,
            t,
            Some(akto_edu),
            n,
            n,
        )
        .await?;
    }
    for (i, n) in split(&mut rng, 5_400, 6).into_iter().enumerate() {
        let d = day(&format!("{}-04-{}", 2024 + (i as i32 % 2), 15 + i))?;
        l.activity(
            "lecture",
            Some("guyu_poetry"),
            format!("“谷雨诗会”互动活动（{}）", i + 1),
            d,
            "653022100",
            Some(akto_edu),
            n,
            n,
        )
        .await?;
    }
    // 红杜鹃 education volunteer service: 186 events, 31,245 beneficiaries.
    for (i, n) in split(&mut rng, 31_245, 186).into_iter().enumerate() {
        let d = l.between(since, today);
        let t = AKTO_TOWNSHIPS[i % AKTO_TOWNSHIPS.len()];
        let volunteers = l.rng.gen_range(5..=20);
        l.activity(
            "volunteer",
            Some("hongdujuan"),
            format!("“红杜鹃”教育志愿服务（{}）", i + 1),
            d,
            t,
            Some(command),
            volunteers,
            n,
        )
        .await?;
    }
    // Winter football camps in Jiangxi.
    l.activity(
        "camp",
        Some("one_family"),
        "“赣克两地一家亲·民族团结过大年”足球冬令营".into(),
        day("2024-02-06")?,
        "360728",
        Some(command),
        30,
        30,
    )
    .await?;
    l.activity(
        "camp",
        Some("one_family"),
        "“赣克两地一家亲”足球冬令营（2025）".into(),
        day("2025-01-20")?,
        "360728",
        Some(command),
        32,
        32,
    )
    .await?;
    // Open days at the front command: 26 visits, 832 visitors.
    for (i, n) in split(&mut rng, 832, 26).into_iter().enumerate() {
        let d = l.between(since, today);
        l.activity(
            "open_day",
            Some("one_family"),
            format!("前指驻地“开放日”（第{}批）", i + 1),
            d,
            AKTO,
            Some(command),
            n,
            n,
        )
        .await?;
    }
    // 江西红医生: 207 lectures and free clinics since the 11th batch, and some before it.
    for i in 0..207 {
        let d = l.between(since, today);
        let t = AKTO_TOWNSHIPS[i % AKTO_TOWNSHIPS.len()];
        let (ty, title) = if i % 3 == 0 {
            ("lecture", "“江西红医生大讲堂”")
        } else {
            ("free_clinic", "“江西红医生”义诊")
        };
        let p = l.rng.gen_range(5..=15);
        let b = l.rng.gen_range(40..=260);
        if ty == "lecture" {
            // The lectures are given by the paired departments' mentors (院包科).
            l.under_pairing = dept_pairings.get((i / 3) % dept_pairings.len().max(1)).copied();
        }
        l.activity(ty, Some("jiangxi_red_doctor"), format!("{title}（{}）", i + 1), d, t, Some(hosp), p, b).await?;
    }
    for i in 0..12 {
        let d = l.between(day("2021-03-01")?, day("2023-03-31")?);
        l.activity(
            "free_clinic",
            Some("jiangxi_red_doctor"),
            format!("援疆医疗队义诊（往批 {}）", i + 1),
            d,
            AKTO,
            Some(hosp),
            8,
            120,
        )
        .await?;
    }
    // 光明行动 (312 cataract operations), 微笑陶陶 (8 cleft repairs), early cancer screening (403).
    for (kind, brand, title, total, n) in [
        ("cataract", "guangming", "“光明行动”白内障复明手术", 312, 6),
        ("cleft_lip", "smile_taotao", "“微笑陶陶”唇腭裂修复", 8, 2),
        ("early_cancer_screening", "early_cancer", "消化道早癌筛查", 403, 5),
    ] {
        for (i, cases) in split(&mut rng, total, n).into_iter().enumerate() {
            let d = l.between(since, today);
            let id = l
                .activity(
                    "campaign",
                    Some(brand),
                    format!("{title}（第{}批）", i + 1),
                    d,
                    "653022100",
                    Some(hosp),
                    6,
                    cases,
                )
                .await?;
            l.tx.insert(&NewProcedure { activity_id: id, kind, count: cases }).await?;
        }
    }
    // Ordinary trainings and remote consultations over the years.
    for i in 0..150 {
        let d = l.between(day("2015-01-01")?, today);
        let t = AKTO_TOWNSHIPS[i % AKTO_TOWNSHIPS.len()];
        let (ty, title) =
            if i % 2 == 0 { ("training", "专业技术培训") } else { ("remote_consultation", "赣陶远程会诊") };
        let p = l.rng.gen_range(10..=120);
        l.activity(ty, None, format!("{title}（{}）", i + 1), d, t, Some(command), p, p).await?;
    }

    // ---- Projects -------------------------------------------------------------------------------
    let sectors: [&'static str; 8] =
        ["education", "medical", "industry", "employment", "infrastructure", "livelihood", "culture", "capacity"];
    let counts = [38, 40, 42, 45, 50, 55, 58, 60, 62, 70, 76]; // 596 in all
    let mut seq = 0;
    let special: [(usize, &str, &str, &str, i64); 5] = [
        (8, "昆仑佳苑设施农业产业园日光温室大棚（一期）", "653022100", "日光温室大棚", 800),
        (9, "昆仑佳苑设施农业产业园日光温室大棚（二期）", "653022100", "日光温室大棚", 700),
        (10, "昆仑佳苑设施农业产业园日光温室大棚（三期）", "653022100", "日光温室大棚", 560),
        (10, "巴仁乡芦笋种植加工基地", "653022202", "芦笋种植基地", 1800),
        (10, "加马铁热克乡芦笋种植加工基地", "653022204", "芦笋种植基地", 1200),
    ];
    for (bi, n) in counts.iter().enumerate() {
        let (bid, bstart, bend) = batches[bi];
        let bend = bend.unwrap_or(today);
        for k in 0..*n {
            seq += 1;
            let sp = special.iter().filter(|s| s.0 == bi).nth(k);
            let sector = if sp.is_some() { "industry" } else { sectors[(k + bi) % sectors.len()] };
            let place = match sp {
                Some(s) => s.2,
                None if k % 5 == 4 => ["653001", "653023", "653024"][k % 3],
                None => AKTO_TOWNSHIPS[k % AKTO_TOWNSHIPS.len()],
            };
            let name = match sp {
                Some(s) => s.1.to_string(),
                None => format!(
                    "{}援疆项目 {}-{:02}",
                    domain::projects::SECTORS.iter().find(|s| s.0 == sector).map(|s| s.1).unwrap_or(""),
                    bi + 1,
                    k + 1
                ),
            };
            let planned_start = l.between(bstart, Date::from_naive(bstart.naive() + Duration::days(300)));
            let planned_end = Date::from_naive(planned_start.naive() + Duration::days(l.rng.gen_range(120..=700)));
            let multi_year = (planned_end.year() - planned_start.year()) >= 2;
            let code = format!("JXKZ-{:02}-{:04}", bi + 1, seq);
            let id =
                l.tx.insert(&NewProject {
                    program_id: l.program,
                    batch_id: Some(bid),
                    code: code.clone(),
                    name,
                    sector,
                    region: region(place)?,
                    org_id: Some(if sector == "medical" {
                        hosp
                    } else if sector == "education" {
                        akto_edu
                    } else {
                        akto
                    }),
                    planned_start: Some(planned_start),
                    planned_end: Some(planned_end),
                    multi_year,
                    livelihood: matches!(sector, "education" | "medical" | "livelihood" | "employment"),
                })
                .await?;
            l.projects += 1;
            // Status history: older batches are accepted; the current batch is in progress.
            let stages: usize = if bi < 10 { 4 } else { 1 + (k % 4) };
            let mut d = planned_start;
            for (si, (status, _)) in domain::projects::STATUSES.iter().enumerate().take(stages) {
                let limit = if bi < 10 { bend } else { today };
                d = if si == 0 {
                    Date::from_naive(planned_start.naive() - Duration::days(30))
                } else {
                    l.between(d, limit.max(d))
                };
                l.tx.add_status(&NewStatusEvent { project_id: id, status, date: d }).await?;
            }
            // Funding by year: planned 80–1,200 万元, allocated and disbursed in part for the running batch.
            let years: Vec<i32> = (planned_start.year()..=planned_end.year().min(today.year())).collect();
            let total_wan = l.rng.gen_range(80..=1200);
            for (yi, y) in years.iter().enumerate() {
                let share = Fen::from_wan(
                    total_wan / years.len() as i64 + if yi == 0 { total_wan % years.len() as i64 } else { 0 },
                );
                let (alloc, disb) = if bi < 10 {
                    (share, share)
                } else {
                    let a = Fen(share.0 * l.rng.gen_range(70..=100) / 100);
                    (a, Fen(a.0 * l.rng.gen_range(60..=100) / 100))
                };
                let source = if k % 7 == 0 { "city" } else { "province" };
                l.tx.insert(&NewFunding {
                    project_id: id,
                    year: *y as i64,
                    source,
                    planned: share,
                    allocated: alloc,
                    disbursed: disb,
                })
                .await?;
            }
            if let Some(s) = sp {
                l.tx.insert(&NewOutput {
                    project_id: id,
                    kind: s.3.into(),
                    quantity: s.4,
                    unit: if s.3.contains("芦笋") { "亩".into() } else { "座".into() },
                })
                .await?;
            } else if k % 6 == 0 {
                let (kind, unit, q) = match sector {
                    "education" => ("新建校舍", "平方米", l.rng.gen_range(800..=6000)),
                    "medical" => ("医疗设备", "台（套）", l.rng.gen_range(5..=60)),
                    "industry" => ("标准化厂房", "平方米", l.rng.gen_range(2000..=12000)),
                    _ => ("受益群众", "人", l.rng.gen_range(200..=5000)),
                };
                l.tx.insert(&NewOutput { project_id: id, kind: kind.into(), quantity: q, unit: unit.into() }).await?;
            }
        }
    }

    // ---- Indicators ---------------------------------------------------------------------------
    for def in indicator_defs() {
        l.tx.insert(&def).await?;
    }
    let values: Vec<(&str, OrgId, &str, i64)> = vec![
        ("undergrad_admitted", kzjx, "2023", 124),
        ("exam_takers", kzjx, "2023", 172),
        ("undergrad_admitted", kzjx, "2024", 138),
        ("exam_takers", kzjx, "2024", 180),
        ("undergrad_admitted", kzjx, "2025", 151),
        ("exam_takers", kzjx, "2025", 195),
        ("undergrad_admitted", kz3, "2023", 81),
        ("exam_takers", kz3, "2023", 191),
        ("undergrad_admitted", kz3, "2024", 95),
        ("exam_takers", kz3, "2024", 205),
        ("undergrad_admitted", kz3, "2025", 99),
        ("exam_takers", kz3, "2025", 210),
        ("hospital_revenue", hosp, "2023", 12_013_000_000),
        ("hospital_revenue", hosp, "2024", 15_300_958_100),
        ("referrals_out", hosp, "2023", 1234),
        ("referrals_out", hosp, "2024", 564),
    ];
    for (code, org, p, v) in values {
        l.tx.insert(&NewIndicatorValue { indicator_code: code.into(), org_id: org, period: period(p)?, value: v })
            .await?;
    }
    // Jiangxi universities' enrollment plan in Xinjiang: 1,075 (2023) and 1,248 (2024).
    for (year, total) in [("2023", 1075), ("2024", 1248)] {
        for (u, v) in universities.iter().zip(split(&mut rng, total, universities.len())) {
            l.tx.insert(&NewIndicatorValue {
                indicator_code: "enrollment_plan".into(),
                org_id: *u,
                period: period(year)?,
                value: v,
            })
            .await?;
        }
    }
    l.tx.insert(&NewIndicatorTarget {
        indicator_code: "hospital_revenue".into(),
        org_id: hosp,
        baseline_period: period("2022")?,
        baseline: 10_500_000_000,
        target_period: period("2025")?,
        target: 17_000_000_000,
    })
    .await?;

    // ---- Achievements -------------------------------------------------------------------------
    let units_new =
        ["内镜中心", "肿瘤科", "口腔颌面外科", "赣陶远程影像中心", "乳腺外科", "肿瘤科门诊", "院感科", "质控科"];
    let units_up = ["病理科", "检验科", "中医康复科", "麻醉苏醒室", "烧伤与创面修复科", "健康管理中心"];
    let mut ach: Vec<(&'static str, String, Option<i64>)> = Vec::new();
    ach.extend(units_new.iter().map(|u| ("new_unit", format!("新开设{u}"), None)));
    ach.extend(units_up.iter().map(|u| ("upgraded_unit", format!("{u}完成升级改造并投入使用"), None)));
    ach.push(("certification", "通过自治区“卒中中心”认证".into(), None));
    ach.push(("certification", "通过国家胸痛中心（基层版）认证".into(), None));
    ach.push(("key_specialty", "普外科获批克州重点专科建设项目".into(), None));
    ach.push(("key_specialty", "皮肤科获批克州重点专科建设项目".into(), None));
    ach.push(("studio", "引进“博士工作站”".into(), None));
    ach.push(("studio", "成立名医工作室（一）".into(), None));
    ach.push(("studio", "成立名医工作室（二）".into(), None));
    ach.push(("award", "全国康复治疗病例大赛病例、科普双项二等奖".into(), None));
    ach.push(("first_operation", "本地医生独立完成首例白内障摘除手术".into(), None));
    for i in 0..3 {
        ach.push(("research_project", format!("克州科技局课题（本地医生申报）{}", i + 1), None));
    }
    for i in 0..5 {
        ach.push(("paper", format!("本地医生发表论文 {}", i + 1), None));
    }
    for i in 0..61 {
        let level = if i < 17 { 3 + (i % 2) } else { 1 + (i % 2) };
        ach.push(("new_technique", format!("新技术新项目 {}", i + 1), Some(level)));
    }
    for (kind, title, level) in ach {
        let d = l.between(since, today);
        let org = if kind == "new_technique" { departments[l.rng.gen_range(0..departments.len())] } else { hosp };
        l.tx.insert(&NewAchievement {
            program_id: l.program,
            kind,
            title,
            org_id: Some(org),
            person_id: None,
            date: d,
            level,
        })
        .await?;
    }

    // ---- Donations ----------------------------------------------------------------------------
    for (desc, wan, date) in [
        ("核磁共振设备", "980", "2023-09-15"),
        ("胃肠镜", "210", "2023-11-02"),
        ("除颤仪", "48", "2024-01-10"),
        ("麻醉机", "96", "2024-03-22"),
        ("血液回收机", "62.6", "2024-05-18"),
        ("呼吸机", "136", "2024-08-30"),
    ] {
        let value = Fen::parse_wan(wan).map_err(StoreError::from)?;
        l.tx.insert(&NewDonation {
            program_id: l.program,
            kind: "in_kind",
            description: desc.into(),
            donor_org_id: Some(hospitals[0]),
            recipient_org_id: hosp,
            value,
            date: day(date)?,
        })
        .await?;
    }
    l.tx.insert(&NewDonation {
        program_id: l.program,
        kind: "in_kind",
        description: "图书与教学设备".into(),
        donor_org_id: Some(jx_edu),
        recipient_org_id: kzjx,
        value: Fen::from_wan(85),
        date: day("2024-09-01")?,
    })
    .await?;

    // ---- Employment centres ------------------------------------------------------------------
    let jobs = split(&mut rng, 20_700, 23 * 3);
    let trainees = split(&mut rng, 37_000, 23 * 3);
    for c in 0..23 {
        let place = if c < 12 { AKTO_TOWNSHIPS[c] } else { ["653001", "653023", "653024", AKTO][c % 4] };
        let opened = l.between(since, day("2023-12-31")?);
        let id =
            l.tx.insert(&NewEmploymentCentre {
                program_id: l.program,
                name: format!("江西“就业之家”第{}站", c + 1),
                region: region(place)?,
                org_id: Some(akto_hrss),
                opened,
            })
            .await?;
        for (yi, y) in ["2023", "2024", "2025"].iter().enumerate() {
            let i = c * 3 + yi;
            let placements = jobs[i] / 3;
            l.tx.insert(&NewEmploymentRecord {
                centre_id: id,
                period: period(y)?,
                jobs_offered: jobs[i],
                trainees: trainees[i],
                placements,
            })
            .await?;
        }
    }

    // ---- Investment promotion -----------------------------------------------------------------
    let mut events = Vec::new();
    for (name, date, rc) in [
        ("“克州招商行动江西行”推介会", "2023-06-16", "360100"),
        ("克州（赣州）产业合作推介会", "2023-11-08", "360700"),
        ("赣克产业协作招商大会", "2024-04-12", "653001"),
        ("“克州招商行动江西行”（2025）", "2025-03-20", "360100"),
    ] {
        events.push(
            l.tx.insert(&NewInvestmentEvent {
                program_id: l.program,
                kind: "promotion",
                name: name.into(),
                date: day(date)?,
                region: region(rc)?,
                orders: Fen(0),
            })
            .await?,
        );
    }
    l.tx.insert(&NewInvestmentEvent {
        program_id: l.program,
        kind: "promotion",
        name: "援疆招商座谈会（往年）".into(),
        date: day("2021-09-10")?,
        region: region("653001")?,
        orders: Fen(0),
    })
    .await?;
    l.tx.insert(&NewInvestmentEvent {
        program_id: l.program,
        kind: "visit",
        name: "“援疆省区企业中亚行”商贸考察".into(),
        date: day("2024-05-15")?,
        region: region("653001")?,
        orders: Fen(0),
    })
    .await?;
    l.tx.insert(&NewInvestmentEvent {
        program_id: l.program,
        kind: "expo",
        name: "首届中国新疆克州（中亚）家具展销会暨南康家具订货会".into(),
        date: day("2024-07-18")?,
        region: region("653001")?,
        orders: Fen::parse_wan("32000").map_err(StoreError::from)?,
    })
    .await?;
    let signed = [
        (0, "家具产业园项目", "6.5", "653001"),
        (0, "家具展贸中心项目", "5.2", "653001"),
        (1, "锂矿资源综合利用项目", "4.8", "653024"),
        (2, "设施农业与农产品加工项目", "4.1", "653022202"),
        (3, "纺织服装产业园项目", "3.9", "653022100"),
        (3, "针织生产线项目", "3.6", "653022101"),
        (4, "帕米尔文旅综合体项目", "3.3", "653022206"),
        (5, "铜矿绿色开采项目", "3.0", "653023"),
        (6, "地质勘查与矿业服务项目", "2.76", "653001"),
        (7, "光伏发电项目（一期）", "2.2", "653022204"),
        (7, "光伏发电项目（二期）", "2.0", "653022204"),
    ];
    for (i, (f, name, yi, rc)) in signed.iter().enumerate() {
        let amount = Fen(domain::money::parse_scaled(yi, 2).unwrap_or(0) * domain::money::FEN_PER_YI / 100);
        let date = l.between(day("2023-05-01")?, today);
        l.tx.insert(&NewInvestmentProject {
            program_id: l.program,
            event_id: Some(events[i % events.len()]),
            enterprise_org_id: firms[*f],
            name: name.to_string(),
            signed_date: date,
            region: region(rc)?,
            amount,
            jobs: l.rng.gen_range(50..=400),
        })
        .await?;
    }
    l.tx.insert(&NewInvestmentProject {
        program_id: l.program,
        event_id: None,
        enterprise_org_id: tangjin,
        name: "唐锦袜业生产基地及家庭工坊".into(),
        signed_date: day("2019-06-18")?,
        region: region("653022100")?,
        amount: Fen::from_wan(15_000),
        jobs: 1200,
    })
    .await?;
    l.tx.insert(&NewInvestmentProject {
        program_id: l.program,
        event_id: None,
        enterprise_org_id: jx_soe,
        name: "新疆信达技术有限公司中高压化成箔项目".into(),
        signed_date: day("2024-03-28")?,
        region: region("654221")?,
        amount: Fen(124 * domain::money::FEN_PER_YI / 10),
        jobs: 600,
    })
    .await?;
    Ok(figures::definitions()?.len())
}

/// The line of work of a demo activity: by its brand, else by its type.
pub(crate) fn activity_line(type_code: &str, brand: Option<&str>) -> &'static str {
    match (brand, type_code) {
        (Some("hongdujuan" | "hongdujuan_microlecture" | "long_march_vr" | "guyu_poetry"), _) => "education",
        (Some("jiangxi_red_doctor" | "guangming" | "smile_taotao" | "early_cancer"), _) => "medical",
        (Some("one_family"), _) => "culture",
        (_, "free_clinic" | "remote_consultation") => "medical",
        (_, "training") => "employment",
        (_, "remote_class" | "lecture" | "volunteer" | "camp") => "education",
        _ => "culture",
    }
}
