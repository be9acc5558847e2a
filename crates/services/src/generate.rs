//! Synthetic data at scale (`counterpart generate`): organizations in two trees, aid personnel and
//! local counterparts, pairings, projects with status histories and funding lines, activities
//! and indicator values, in the proportions of a real program and as many as a benchmark needs.
//!
//! The data are deterministic: the same seed and sizes give the same records (a small SplitMix64
//! generator, no outside randomness, no clock). Everything is written through the ordinary store
//! API — `Store::write` → `Tx`, so every record is checked, its references verified and its audit
//! entry written — in transactions of [`Options::chunk`] records. A run that fails part-way keeps
//! the chunks committed before the failure.
//!
//! Into a database without a program, the generator first creates the demo's program (Jiangxi 36
//! → Kizilsu 6530), its batches, the organizations its figures name, its indicator definitions,
//! figure definitions and report template, as `counterpart demo` does; otherwise it generates
//! into the first program there is. Its own records carry codes prefixed `G{seed}-`, so one seed
//! runs once per database.

use crate::demo;
use crate::error::{Result, ServiceError};
use domain::activities::{NewActivity, NewProcedure, ACTIVITY_TYPES};
use domain::audit::Actor;
use domain::ids::{kind, BatchId, OrgId, PairingId, PersonId, ProgramId, ProjectId};
use domain::indicators::{NewIndicatorDef, NewIndicatorTarget, NewIndicatorValue, Period};
use domain::orgs::{NewOrg, Side};
use domain::pairings::{NewActivityType, NewPairing};
use domain::people::{IdNumber, NewPerson, Phone};
use domain::projects::{NewFunding, NewOutput, NewProject, NewStatusEvent, SECTORS};
use domain::regions::{Level, RegionCode, REGIONS};
use domain::{Date, Entity, Fen, Id, Invalid};
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use store::{Store, StoreError, Tx};

// ---- Sizes ------------------------------------------------------------------------------------

/// A named size: `national` is the `bench-1M` shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    Demo,
    Province,
    National,
}

impl Scale {
    pub fn parse(s: &str) -> Option<Scale> {
        match s.trim() {
            "demo" => Some(Scale::Demo),
            "province" => Some(Scale::Province),
            "national" | "bench-1M" => Some(Scale::National),
            _ => None,
        }
    }
    pub fn projects(self) -> usize {
        match self {
            Scale::Demo => 600,
            Scale::Province => 6_000,
            Scale::National => 60_000,
        }
    }
    pub fn activities(self) -> usize {
        match self {
            Scale::Demo => 10_000,
            Scale::Province => 100_000,
            Scale::National => 1_000_000,
        }
    }
}

/// What to generate. Everything but projects and activities scales with the activities.
#[derive(Debug, Clone)]
pub struct Options {
    pub projects: usize,
    pub activities: usize,
    pub seed: u64,
    /// Records per transaction.
    pub chunk: usize,
    /// Per cent of people given an identity number and a phone (encrypted, hashed, masked).
    pub identified_percent: u32,
}

impl Options {
    pub fn new(scale: Scale, projects: Option<usize>, activities: Option<usize>, seed: u64) -> Options {
        Options {
            projects: projects.unwrap_or(scale.projects()),
            activities: activities.unwrap_or(scale.activities()),
            seed,
            chunk: 5_000,
            identified_percent: 20,
        }
    }
}

/// The sizes derived from the options.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub projects: usize,
    pub activities: usize,
    /// People: one per ten activities (100,000 for a million activities), at least 50.
    pub people: usize,
    /// Organizations created besides the program's standard ones: one per 300 activities, at least 30.
    pub organizations: usize,
    /// Pairings: one per twenty people.
    pub pairings: usize,
    /// Indicator values aimed at: as many as activities (each organization × indicator gets
    /// its years, and as many quarters as that takes).
    pub indicator_values: usize,
}

impl Plan {
    pub fn new(o: &Options) -> Plan {
        let people = (o.activities / 10).max(50);
        Plan {
            projects: o.projects,
            activities: o.activities,
            people,
            organizations: o.activities.div_ceil(300).max(30),
            pairings: (people / 20).max(4),
            indicator_values: o.activities,
        }
    }
}

/// Where the generator stands, for the progress line.
#[derive(Debug, Clone)]
pub struct Progress {
    pub phase: &'static str,
    pub done: usize,
    pub total: usize,
    /// Records written so far in this run, all phases.
    pub rows: u64,
    pub elapsed: Duration,
}

impl Progress {
    pub fn rows_per_sec(&self) -> f64 {
        self.rows as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// What a run wrote.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub program_id: i64,
    /// The program (with batches, figures and report template) was created by this run.
    pub created_program: bool,
    pub organizations: usize,
    pub people: usize,
    pub identified_people: usize,
    pub pairings: usize,
    pub projects: usize,
    pub status_events: usize,
    pub funding_lines: usize,
    pub outputs: usize,
    pub activities: usize,
    pub procedures: usize,
    pub activity_types_added: usize,
    pub indicator_defs_added: usize,
    pub indicator_values: usize,
    pub indicator_targets: usize,
    pub figures_installed: usize,
    /// Records inserted (each with its audit entry).
    pub records: u64,
    /// Audit entries written: one per record, and one more for each organization (its path)
    /// and each status step (the project's current status).
    pub audit_entries: u64,
    pub seconds: f64,
}

impl Summary {
    pub fn rows_per_sec(&self) -> f64 {
        self.records as f64 / self.seconds.max(1e-9)
    }
}

// ---- The random numbers -----------------------------------------------------------------------

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, and the same sequence everywhere for a seed.
/// Each part of the data draws from its own stream, so one part's size does not move another's.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64, stream: u64) -> Rng {
        let mut r = Rng(seed ^ stream.wrapping_mul(0xD6E8_FEB8_6659_FD93));
        r.next_u64();
        r
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform below `n` (0 when `n` is 0), without modulo bias worth the name (Lemire).
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }

    /// Uniform in `lo..=hi` (`lo` when `hi < lo`).
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        lo + self.below((hi - lo) as u64 + 1) as i64
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u32) -> bool {
        self.below(100) < percent as u64
    }

    /// One element, uniformly; None from an empty slice.
    pub fn pick<T: Copy>(&mut self, xs: &[T]) -> Option<T> {
        xs.get(self.below(xs.len() as u64) as usize).copied()
    }

    /// A date uniform in `from..=to`.
    pub fn date(&mut self, from: Date, to: Date) -> Date {
        let days = (to.naive() - from.naive()).num_days();
        plus_days(from, self.range(0, days))
    }
}

/// A weighted choice among indices.
struct Weighted {
    cum: Vec<u64>,
}

impl Weighted {
    fn new(weights: &[u64]) -> Result<Weighted> {
        let mut cum = Vec::with_capacity(weights.len());
        let mut t = 0;
        for w in weights {
            t += w;
            cum.push(t);
        }
        if t == 0 {
            return Err(setup("加权抽样没有可选项"));
        }
        Ok(Weighted { cum })
    }
    fn sample(&self, rng: &mut Rng) -> usize {
        let total = self.cum.last().copied().unwrap_or(0);
        let x = rng.below(total);
        self.cum.partition_point(|&c| c <= x)
    }
}

// Streams, one per part of the data.
const S_ORGS: u64 = 1;
const S_PEOPLE: u64 = 2;
const S_PAIRINGS: u64 = 3;
const S_PROJECTS: u64 = 4;
const S_ACTIVITIES: u64 = 5;
const S_INDICATORS: u64 = 6;

fn setup(why: impl Into<String>) -> ServiceError {
    ServiceError::Store(StoreError::Integrity(why.into()))
}

fn invalid(e: Invalid) -> ServiceError {
    ServiceError::Store(StoreError::from(e))
}

fn day(s: &str) -> Result<Date> {
    Date::parse(s).map_err(invalid)
}

fn region(s: &str) -> Result<RegionCode> {
    RegionCode::parse(s).map_err(invalid)
}

fn plus_days(d: Date, n: i64) -> Date {
    Date::from_naive(d.naive() + chrono::Duration::days(n))
}

// ---- The one insert path ----------------------------------------------------------------------

/// Insert records through the store's checked and audited write path, in bulk
/// (`Tx::insert_many`: each record checked and audited, hundreds to a statement). Every record
/// the generator writes goes through here (organizations and status steps excepted, which have
/// their own store paths).
async fn insert_all<E: Entity>(tx: &mut Tx<'_>, es: &[E]) -> Result<Vec<Id<E::Kind>>> {
    Ok(tx.insert_many(es).await?)
}

/// Transactions of a few thousand records, and the count of what went into them.
struct Writer<'s, 'p> {
    store: &'s Store,
    actor: Actor,
    tx: Option<Tx<'s>>,
    chunk: usize,
    pending: usize,
    rows: u64,
    audit: u64,
    start: Instant,
    last_report: Instant,
    progress: &'p mut (dyn FnMut(&Progress) + Send),
}

impl<'s> Writer<'s, '_> {
    /// The open transaction, opened when there is none.
    async fn tx(&mut self) -> Result<&mut Tx<'s>> {
        let tx = match self.tx.take() {
            Some(tx) => tx,
            None => self.store.write(&self.actor).await?,
        };
        Ok(self.tx.insert(tx))
    }

    /// Note `rows` records written with `audit` entries; commit once a chunk is full.
    async fn wrote(&mut self, rows: usize, audit: usize) -> Result<()> {
        self.rows += rows as u64;
        self.audit += audit as u64;
        self.pending += rows;
        if self.pending >= self.chunk {
            self.commit().await?;
        }
        Ok(())
    }

    async fn insert_all<E: Entity>(&mut self, es: &[E]) -> Result<Vec<Id<E::Kind>>> {
        let ids = insert_all(self.tx().await?, es).await?;
        self.wrote(es.len(), es.len()).await?;
        Ok(ids)
    }

    async fn commit(&mut self) -> Result<()> {
        if let Some(tx) = self.tx.take() {
            tx.commit().await?;
        }
        self.pending = 0;
        Ok(())
    }

    /// Report progress, at most every two seconds unless `force`.
    fn report(&mut self, phase: &'static str, done: usize, total: usize, force: bool) {
        if !force && self.last_report.elapsed() < Duration::from_secs(2) {
            return;
        }
        self.last_report = Instant::now();
        let p = Progress { phase, done, total, rows: self.rows, elapsed: self.start.elapsed() };
        (self.progress)(&p);
    }
}

// ---- The world the records live in ------------------------------------------------------------

/// A place records are put in: a 6-digit code of the built-in division table.
#[derive(Debug, Clone)]
pub struct Place {
    pub code: RegionCode,
    pub name: &'static str,
    /// On the recipient side (the recipient's province) rather than the donor's.
    pub recipient: bool,
}

/// The places of a program: up to 20 six-digit codes of the built-in table, the recipient
/// region's counties first, then the recipient province's other counties and prefectures, then
/// the donor province's counties and cities.
pub fn places(donor: &RegionCode, recipient: &RegionCode) -> Vec<Place> {
    let rec = recipient.subtree_prefix();
    let rec_prov = &recipient.as_str()[..2];
    let don_prov = &donor.as_str()[..2];
    let group = |code: &str, level: Level| -> Option<u8> {
        let county = level == Level::County;
        let prefecture = level == Level::Prefecture;
        if county && code.starts_with(&rec) {
            Some(0)
        } else if county && code.starts_with(rec_prov) {
            Some(1)
        } else if prefecture && code.starts_with(rec_prov) {
            Some(2)
        } else if county && code.starts_with(don_prov) {
            Some(3)
        } else if prefecture && code.starts_with(don_prov) {
            Some(4)
        } else {
            None
        }
    };
    let mut found: Vec<(u8, usize, &'static domain::regions::Region)> = REGIONS
        .iter()
        .enumerate()
        .filter(|(_, r)| r.code.len() == 6)
        .filter_map(|(i, r)| group(r.code, r.level).map(|g| (g, i, r)))
        .collect();
    found.sort_by_key(|(g, i, _)| (*g, *i));
    found
        .into_iter()
        .take(20)
        .filter_map(|(g, _, r)| {
            RegionCode::parse(r.code).ok().map(|code| Place { code, name: r.name, recipient: g <= 2 })
        })
        .collect()
}

/// An organization the generated records may name.
#[derive(Debug, Clone, Copy)]
struct Org {
    id: OrgId,
    kind: &'static str,
    /// Index into the places, when the organization stands in one of them.
    place: Option<usize>,
}

/// The standard organizations of the program the generator creates: those the demo's figures
/// and report name, with the demo's codes. (code, name, side, kind, parent code, region)
type StdOrg = (&'static str, &'static str, Side, &'static str, Option<&'static str>, &'static str);
const STANDARD_ORGS: &[StdOrg] = &[
    ("JX-GOV", "江西省人民政府", Side::Donor, "government", None, "360000"),
    ("JX-EDU", "江西省教育厅", Side::Donor, "government", Some("JX-GOV"), "360000"),
    ("JX-HEALTH", "江西省卫生健康委员会", Side::Donor, "government", Some("JX-GOV"), "360000"),
    ("JX-CMD", "江西省对口支援新疆工作前方指挥部", Side::Donor, "command", Some("JX-GOV"), "653022"),
    ("JX-U1", "南昌大学", Side::Donor, "university", Some("JX-EDU"), "360100"),
    ("JX-H01", "南昌大学第一附属医院", Side::Donor, "hospital", Some("JX-HEALTH"), "360100"),
    ("KZ-GOV", "克孜勒苏柯尔克孜自治州人民政府", Side::Recipient, "government", None, "653000"),
    ("KZ-EDU", "克州教育局", Side::Recipient, "government", Some("KZ-GOV"), "653000"),
    ("KZ-S3", "克州第三中学", Side::Recipient, "school", Some("KZ-EDU"), "653001"),
    ("KZ-TSVTU", "新疆天山职业技术大学（克州校区）", Side::Recipient, "university", Some("KZ-EDU"), "653001"),
    ("AKT-GOV", "阿克陶县人民政府", Side::Recipient, "government", Some("KZ-GOV"), "653022"),
    ("AKT-EDU", "阿克陶县教育局", Side::Recipient, "government", Some("AKT-GOV"), "653022"),
    ("AKT-HEALTH", "阿克陶县卫生健康委员会", Side::Recipient, "government", Some("AKT-GOV"), "653022"),
    ("AKT-HRSS", "阿克陶县人力资源和社会保障局", Side::Recipient, "government", Some("AKT-GOV"), "653022"),
    ("AKT-KZJX", "克州江西实验中学（阿克陶县雪松中学）", Side::Recipient, "school", Some("AKT-EDU"), "653022100"),
    ("AKT-HOSP", "阿克陶县人民医院", Side::Recipient, "hospital", Some("AKT-HEALTH"), "653022100"),
    ("AKT-TJ", "新疆唐锦纺织有限公司", Side::Recipient, "enterprise", Some("AKT-GOV"), "653022100"),
];

/// Activity types added when the program has fewer than twelve.
const EXTRA_TYPES: &[(&str, &str)] =
    &[("seminar", "研讨交流"), ("home_visit", "入户走访"), ("sports_event", "体育赛事"), ("exhibition", "展览展示")];

/// How often each of the twelve activity types occurs, most common first.
const TYPE_WEIGHTS: [u64; 12] = [18, 14, 12, 10, 9, 8, 7, 6, 5, 4, 4, 3];

/// Indicators every generated organization reports, besides those of its kind.
const GENERIC_INDICATORS: &[(&str, &str, &str, i64)] = &[
    ("gen_trainings", "培训场次", "场", 0),
    ("gen_trainees", "培训人次", "人次", 0),
    ("gen_services", "服务群众", "人次", 0),
    ("gen_volunteer_hours", "志愿服务时长", "小时", 0),
    ("gen_expenditure", "援疆经费支出", "元", 2),
];

/// Indicators per organization.
const INDICATORS_PER_ORG: usize = 5;

/// The generated world ends here: dates after it are the future of the data.
const AS_OF: &str = "2026-12-31";
const FIRST_DAY: &str = "2015-01-01";
const FIRST_YEAR: i32 = 2015;
const LAST_YEAR: i32 = 2026;

/// The line of work of an activity: by its brand, else its type, as the demo and the migration
/// that introduced the column assign it; the generator's own types have their own line.
fn activity_line(type_code: &str, brand: Option<&str>) -> &'static str {
    match (type_code, brand) {
        ("seminar", None) => "party",
        ("home_visit", None) => "livelihood",
        ("sports_event", None) => "culture",
        _ => demo::activity_line(type_code, brand),
    }
}

/// A brand that an activity of this type is often run under (its line stays the type's).
fn brand_for(rng: &mut Rng, type_code: &str) -> Option<&'static str> {
    match type_code {
        "free_clinic" if rng.chance(30) => Some("jiangxi_red_doctor"),
        "remote_class" if rng.chance(20) => Some("hongdujuan_microlecture"),
        "volunteer" if rng.chance(30) => Some("hongdujuan"),
        "open_day" if rng.chance(30) => Some("one_family"),
        // A campaign is a medical one, with its procedures counted.
        "campaign" => rng.pick(&["guangming", "smile_taotao", "early_cancer"]),
        _ => None,
    }
}

fn procedure_kind(brand: Option<&str>) -> &'static str {
    match brand {
        Some("guangming") => "cataract",
        Some("smile_taotao") => "cleft_lip",
        Some("early_cancer") => "early_cancer_screening",
        _ => "consultation",
    }
}

/// A row read back as JSON: an integer column.
fn int(row: &Map<String, Value>, key: &str) -> Option<i64> {
    row.get(key).and_then(Value::as_i64)
}

fn text<'a>(row: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    row.get(key).and_then(Value::as_str)
}

/// Every row of a table (ordered by id), page by page.
async fn all_rows(store: &Store, table: &str) -> Result<Vec<Map<String, Value>>> {
    let mut out = Vec::new();
    loop {
        let page = store.list(table, out.len() as i64, 1_000).await?;
        let n = page.rows.len();
        out.extend(page.rows);
        if n == 0 || out.len() as i64 >= page.total {
            return Ok(out);
        }
    }
}

fn issued<K: domain::Kind>(n: i64) -> Result<Id<K>> {
    Id::parse(&n.to_string()).map_err(invalid)
}

/// Generate into `store`. `progress` is called as the records go in.
pub async fn generate(store: &Store, opt: &Options, progress: &mut (dyn FnMut(&Progress) + Send)) -> Result<Summary> {
    let plan = Plan::new(opt);
    let pfx = format!("G{}", opt.seed);
    for (table, code) in [("organizations", format!("{pfx}-O00001")), ("projects", format!("{pfx}-P000001"))] {
        if store.id_of_code(table, "code", &code).await?.is_some() {
            return Err(StoreError::Conflict(format!(
                "数据库中已有以种子 {} 生成的数据（编码 {code} 已存在）；请换一个 --seed，或生成到新的数据库",
                opt.seed
            ))
            .into());
        }
    }
    let actor = Actor { name: "generate".into(), source: Some("generate".into()), ..Actor::system() };
    let now = Instant::now();
    let mut w = Writer {
        store,
        actor,
        tx: None,
        chunk: opt.chunk.max(1),
        pending: 0,
        rows: 0,
        audit: 0,
        start: now,
        last_report: now,
        progress,
    };
    let mut s = Summary::default();
    let mut g = Gen::setup(&mut w, &mut s, &pfx).await?;
    g.organizations(&mut w, &mut s, &plan, opt.seed).await?;
    g.indicator_defs(&mut w, &mut s).await?;
    g.people(&mut w, &mut s, &plan, opt).await?;
    g.pairings(&mut w, &mut s, &plan, opt.seed).await?;
    g.projects(&mut w, &mut s, &plan, opt.seed).await?;
    g.activities(&mut w, &mut s, &plan, opt.seed).await?;
    g.indicator_values(&mut w, &mut s, &plan, opt.seed).await?;
    w.commit().await?;
    s.records = w.rows;
    s.audit_entries = w.audit;
    s.seconds = w.start.elapsed().as_secs_f64();
    w.report("done", 1, 1, true);
    Ok(s)
}

/// A project as drawn, before it has an id.
struct DrawnProject {
    project: NewProject,
    place: usize,
    steps: Vec<(&'static str, Date)>,
    funding: Vec<(i64, &'static str, Fen, Fen, Fen)>,
    output: Option<(&'static str, &'static str, i64)>,
}

/// What the phases share.
struct Gen {
    pfx: String,
    program: ProgramId,
    places: Vec<Place>,
    /// Indices of the recipient side's places, and how often projects go to each.
    project_places: Vec<usize>,
    project_place_weights: Weighted,
    batches: Vec<(BatchId, Date, Option<Date>)>,
    /// The twelve activity types (code, name), most frequent first.
    types: Vec<(String, String)>,
    /// Organizations of the program's standard set found in the database.
    standard: HashMap<&'static str, OrgId>,
    /// Organizations this run created (their indicator values are this run's to write).
    created: Vec<Org>,
    /// Organizations by place, either side.
    by_place: Vec<Vec<OrgId>>,
    donor: Vec<Org>,
    recipient: Vec<Org>,
    /// People for pairings: (aid teachers, aid doctors, other aid, local teachers, local medics, other local).
    aid_by_line: [Vec<PersonId>; 3],
    local_by_line: [Vec<PersonId>; 3],
    pairings: Vec<PairingId>,
    /// The projects of this run: id, place index, implementing organization.
    projects: Vec<(ProjectId, usize, Option<OrgId>)>,
    /// Indicator codes by organization kind, generic ones after.
    indicator_codes: Vec<String>,
}

impl Gen {
    async fn setup(w: &mut Writer<'_, '_>, s: &mut Summary, pfx: &str) -> Result<Gen> {
        let store = w.store;
        let programs = store.list("programs", 0, 1).await?;
        let (program, donor, recipient) = match programs.rows.first() {
            Some(row) => {
                let id = int(row, "id").ok_or_else(|| setup("援疆工作记录缺少编号"))?;
                let donor = region(text(row, "donor_region").unwrap_or_default())?;
                let recipient = region(text(row, "recipient_region").unwrap_or_default())?;
                (issued::<kind::Program>(id)?, donor, recipient)
            }
            None => {
                let p = demo::program()?;
                let ids = w.insert_all(std::slice::from_ref(&p)).await?;
                let id = ids.first().copied().ok_or_else(|| setup("援疆工作未能写入"))?;
                s.created_program = true;
                (id, p.donor_region, p.recipient_region)
            }
        };
        s.program_id = program.get();
        // Batches: the program's own, or the demo's eleven for a new program.
        let mut batches = Vec::new();
        if s.created_program {
            let plan = demo::batch_plan(program)?;
            let ids = w.insert_all(&plan).await?;
            for (id, b) in ids.into_iter().zip(plan) {
                batches.push((id, b.start_date, b.end_date));
            }
        } else {
            for row in all_rows(store, "batches").await? {
                if int(&row, "program_id") != Some(program.get()) {
                    continue;
                }
                let (Some(id), Some(start)) = (int(&row, "id"), text(&row, "start_date")) else { continue };
                let end = text(&row, "end_date").map(day).transpose()?;
                batches.push((issued::<kind::Batch>(id)?, day(start)?, end));
            }
            batches.sort_by_key(|b| b.1);
        }
        // Places.
        let places = places(&donor, &recipient);
        if !places.iter().any(|p| p.recipient) || !places.iter().any(|p| !p.recipient) {
            return Err(setup(format!(
                "内置区划表中没有支援地 {donor} 或受援地 {recipient} 的县市，无法安排生成数据的地点"
            )));
        }
        let project_places: Vec<usize> = (0..places.len()).filter(|i| places[*i].recipient).collect();
        let weights: Vec<u64> = (0..project_places.len() as u64).map(|i| 60 / (i + 1) + 2).collect();
        let project_place_weights = Weighted::new(&weights)?;
        // Twelve activity types: the built-in ones, then custom ones there are, then ours.
        let existing = store.code_names("activity_types").await?;
        let mut types: Vec<(String, String)> = Vec::new();
        for (code, name) in ACTIVITY_TYPES {
            if existing.iter().any(|(c, _)| c == code) {
                types.push((code.to_string(), name.to_string()));
            }
        }
        for (code, name) in &existing {
            if types.len() < 12 && !types.iter().any(|(c, _)| c == code) {
                types.push((code.clone(), name.clone()));
            }
        }
        let mut added = Vec::new();
        for (code, name) in EXTRA_TYPES {
            if types.len() + added.len() >= 12 {
                break;
            }
            if !types.iter().any(|(c, _)| c == code) {
                added.push(NewActivityType { code: code.to_string(), name: name.to_string() });
            }
        }
        w.insert_all(&added).await?;
        s.activity_types_added = added.len();
        types.extend(added.into_iter().map(|t| (t.code, t.name)));
        types.truncate(12);
        // The standard organizations: created with a new program, found otherwise.
        let mut standard = HashMap::new();
        let mut created = Vec::new();
        let mut by_place = vec![Vec::new(); places.len()];
        let mut donor_orgs = Vec::new();
        let mut recipient_orgs = Vec::new();
        for (code, name, side, okind, parent, rc) in STANDARD_ORGS {
            let found = store.id_by_code::<kind::Org>(code).await?;
            let id = match found {
                Some(id) => id,
                None if s.created_program => {
                    let parent_id = match parent {
                        Some(p) => standard.get(p).copied(),
                        None => None,
                    };
                    let org = NewOrg {
                        code: code.to_string(),
                        name: name.to_string(),
                        side: *side,
                        kind: okind,
                        parent_id,
                        region: region(rc)?,
                        credit_code: None,
                    };
                    let id = w.tx().await?.insert_org(&org).await?;
                    w.wrote(1, 2).await?;
                    s.organizations += 1;
                    id
                }
                None => continue,
            };
            standard.insert(*code, id);
            let place = places.iter().position(|p| rc.starts_with(p.code.as_str()));
            let o = Org { id, kind: okind, place };
            if let Some(i) = place {
                by_place[i].push(id);
            }
            if s.created_program {
                created.push(o);
            }
            match side {
                Side::Donor => donor_orgs.push(o),
                Side::Recipient => recipient_orgs.push(o),
            }
        }
        if s.created_program && store.count("figure_defs").await? == 0 {
            s.figures_installed = demo::install_reporting(w.tx().await?).await?;
            // The template version and each figure definition.
            w.wrote(s.figures_installed + 1, s.figures_installed + 1).await?;
        }
        Ok(Gen {
            pfx: pfx.to_string(),
            program,
            places,
            project_places,
            project_place_weights,
            batches,
            types,
            standard,
            created,
            by_place,
            donor: donor_orgs,
            recipient: recipient_orgs,
            aid_by_line: Default::default(),
            local_by_line: Default::default(),
            pairings: Vec::new(),
            projects: Vec::new(),
            indicator_codes: Vec::new(),
        })
    }

    /// The two trees: a node per place under each side's root, the schools, hospitals (with
    /// departments), universities, enterprises and centres under them.
    async fn organizations(&mut self, w: &mut Writer<'_, '_>, s: &mut Summary, plan: &Plan, seed: u64) -> Result<()> {
        let mut rng = Rng::new(seed, S_ORGS);
        let total = plan.organizations;
        let donor_total = total * 2 / 5;
        let mut seq = 0usize;
        let mut made = 0usize;
        for side in [Side::Donor, Side::Recipient] {
            let count = if side == Side::Donor { donor_total } else { total - donor_total };
            let side_places: Vec<usize> =
                (0..self.places.len()).filter(|i| self.places[*i].recipient == (side == Side::Recipient)).collect();
            let root_code = if side == Side::Donor { "JX-GOV" } else { "KZ-GOV" };
            let mut root = self.standard.get(root_code).copied();
            let mut left = count;
            if root.is_none() && left > 0 {
                // A program of another pairing: this run's own root for the side.
                let place = side_places.first().copied().unwrap_or(0);
                let name = if side == Side::Donor {
                    "支援方援疆工作领导小组"
                } else {
                    "受援方援疆工作领导小组"
                };
                let id = self.org(w, &mut seq, name, side, "government", None, place).await?;
                root = Some(id.id);
                left -= 1;
            }
            let nodes = side_places.len().min((count / 5).max(1)).min(left);
            let mut place_nodes = Vec::new();
            for &p in side_places.iter().take(nodes) {
                let name = format!("{}援疆工作办公室", self.places[p].name);
                place_nodes.push(self.org(w, &mut seq, &name, side, "government", root, p).await?);
            }
            left -= place_nodes.len();
            let first: &[&'static str] = match side {
                Side::Donor => &["school", "hospital", "university"],
                Side::Recipient => &["school", "hospital", "department", "university"],
            };
            let (kinds, weights): (&[&'static str], &[u64]) = match side {
                Side::Donor => (&["school", "hospital", "university", "enterprise", "centre"], &[40, 25, 10, 20, 5]),
                Side::Recipient => {
                    (&["school", "hospital", "department", "enterprise", "centre"], &[40, 10, 25, 15, 10])
                }
            };
            let pick_kind = Weighted::new(weights)?;
            let mut hospitals: Vec<Org> = Vec::new();
            for i in 0..left {
                let kind = match first.get(i) {
                    Some(k) => *k,
                    None => kinds.get(pick_kind.sample(&mut rng)).copied().unwrap_or("other"),
                };
                let node = rng.pick(&place_nodes);
                let (parent, place) = match (kind, rng.pick(&hospitals)) {
                    ("department", Some(h)) => (Some(h.id), h.place.unwrap_or(0)),
                    _ => match node {
                        Some(n) => (Some(n.id), n.place.unwrap_or(0)),
                        None => (root, side_places.first().copied().unwrap_or(0)),
                    },
                };
                let pname = self.places.get(place).map_or("", |p| p.name);
                let n = seq + 1;
                let name = match (side, kind) {
                    (Side::Donor, "school") => format!("{pname}第{n}中学"),
                    (Side::Donor, "hospital") => format!("{pname}第{n}人民医院"),
                    (Side::Donor, "university") => format!("{pname}第{n}职业技术学院"),
                    (Side::Recipient, "school") => format!("{pname}第{n}小学"),
                    (Side::Recipient, "hospital") => format!("{pname}第{n}人民医院"),
                    (Side::Recipient, "university") => format!("{pname}第{n}职业技术学校"),
                    (_, "department") => {
                        const DEPTS: &[&str] =
                            &["普外科", "骨科", "儿科", "妇产科", "眼科", "急诊科", "检验科", "中医科"];
                        let dept = rng.pick(DEPTS).unwrap_or("科室");
                        format!("{pname}医院{dept}（{n}）")
                    }
                    (_, "enterprise") => {
                        const TRADES: &[&str] = &["纺织", "农业", "建材", "文旅", "物流", "光伏", "食品"];
                        format!("{pname}{}有限公司（{n}）", rng.pick(TRADES).unwrap_or("实业"))
                    }
                    _ => format!("{pname}就业服务中心（{n}）"),
                };
                let o = self.org(w, &mut seq, &name, side, kind, parent, place).await?;
                if kind == "hospital" {
                    hospitals.push(o);
                }
                made += 1;
                w.report("organizations", made, total, false);
            }
        }
        s.organizations += seq;
        w.report("organizations", total, total, true);
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn org(
        &mut self,
        w: &mut Writer<'_, '_>,
        seq: &mut usize,
        name: &str,
        side: Side,
        kind: &'static str,
        parent: Option<OrgId>,
        place: usize,
    ) -> Result<Org> {
        *seq += 1;
        let code = self.places.get(place).map(|p| p.code.clone()).ok_or_else(|| setup("地点不存在"))?;
        let new = NewOrg {
            code: format!("{}-O{:05}", self.pfx, seq),
            name: name.to_string(),
            side,
            kind,
            parent_id: parent,
            region: code,
            credit_code: None,
        };
        let id = w.tx().await?.insert_org(&new).await?;
        w.wrote(1, 2).await?;
        let o = Org { id, kind, place: Some(place) };
        self.by_place[place].push(id);
        self.created.push(o);
        match side {
            Side::Donor => self.donor.push(o),
            Side::Recipient => self.recipient.push(o),
        }
        Ok(o)
    }

    fn orgs_of(&self, side: Side, kinds: &[&str]) -> Vec<OrgId> {
        let list = if side == Side::Donor { &self.donor } else { &self.recipient };
        list.iter().filter(|o| kinds.contains(&o.kind)).map(|o| o.id).collect()
    }

    /// The demo's indicator definitions and the generic ones, those the database lacks.
    async fn indicator_defs(&mut self, w: &mut Writer<'_, '_>, s: &mut Summary) -> Result<()> {
        let existing = w.store.code_names("indicator_defs").await?;
        let mut defs = demo::indicator_defs();
        for (code, name, unit, scale) in GENERIC_INDICATORS {
            defs.push(NewIndicatorDef {
                code: code.to_string(),
                name: name.to_string(),
                unit: unit.to_string(),
                scale: *scale,
                combine: "sum",
                numerator: None,
                denominator: None,
                factor: 1,
                higher_is_better: true,
            });
        }
        let missing: Vec<NewIndicatorDef> =
            defs.into_iter().filter(|d| !existing.iter().any(|(c, _)| *c == d.code)).collect();
        w.insert_all(&missing).await?;
        s.indicator_defs_added = missing.len();
        self.indicator_codes = GENERIC_INDICATORS.iter().map(|g| g.0.to_string()).collect();
        Ok(())
    }

    /// Aid personnel (seven in ten) in batches, and local counterparts.
    async fn people(&mut self, w: &mut Writer<'_, '_>, s: &mut Summary, plan: &Plan, opt: &Options) -> Result<()> {
        const LINES: [(&str, u64); 9] = [
            ("party", 10),
            ("education", 30),
            ("medical", 25),
            ("industry", 10),
            ("employment", 8),
            ("investment", 4),
            ("culture", 5),
            ("infrastructure", 4),
            ("livelihood", 4),
        ];
        let mut rng = Rng::new(opt.seed, S_PEOPLE);
        let line_w = Weighted::new(&LINES.map(|l| l.1))?;
        let cat_w = Weighted::new(&[25, 50, 25])?;
        let batch_w = Weighted::new(&(1..=self.batches.len().max(1) as u64).map(|i| i * i).collect::<Vec<_>>())?;
        let donor_any = self.orgs_of(Side::Donor, &["government", "command", "school", "hospital", "university"]);
        let donor_schools = self.orgs_of(Side::Donor, &["school", "university"]);
        let donor_hospitals = self.orgs_of(Side::Donor, &["hospital"]);
        let rec_any: Vec<OrgId> = self.recipient.iter().map(|o| o.id).collect();
        let rec_schools = self.orgs_of(Side::Recipient, &["school", "university"]);
        let rec_medical = self.orgs_of(Side::Recipient, &["hospital", "department"]);
        let region_of: HashMap<OrgId, String> = self
            .created
            .iter()
            .chain(&self.donor)
            .chain(&self.recipient)
            .filter_map(|o| o.place.and_then(|p| self.places.get(p)).map(|p| (o.id, p.code.as_str()[..6].to_string())))
            .collect();
        let first = day(FIRST_DAY)?;
        let as_of = day(AS_OF)?;
        let total = plan.people;
        let mut done = 0;
        let mut kinds_of: Vec<(bool, usize)> = Vec::new();
        while done < total {
            let n = w.chunk.min(total - done);
            let mut batch = Vec::with_capacity(n);
            kinds_of.clear();
            for i in done..done + n {
                let aid = rng.chance(70);
                let line = LINES.get(line_w.sample(&mut rng)).map_or("party", |l| l.0);
                let slot = match line {
                    "education" => 0,
                    "medical" => 1,
                    _ => 2,
                };
                let either = |a: &[OrgId], b: &[OrgId], rng: &mut Rng| rng.pick(a).or_else(|| rng.pick(b));
                let host = match slot {
                    0 => either(&rec_schools, &rec_any, &mut rng),
                    1 => either(&rec_medical, &rec_any, &mut rng),
                    _ => rng.pick(&rec_any),
                };
                let gender = Some(if rng.chance(if aid { 62 } else { 50 }) { "男" } else { "女" });
                let identified = rng.chance(opt.identified_percent);
                let p = if aid {
                    let home = match slot {
                        0 => either(&donor_schools, &donor_any, &mut rng),
                        1 => either(&donor_hospitals, &donor_any, &mut rng),
                        _ => rng.pick(&donor_any),
                    };
                    let category = ["cadre", "professional", "flexible"].get(cat_w.sample(&mut rng)).copied();
                    let batch_of = self.batches.get(batch_w.sample(&mut rng)).copied();
                    let (batch_id, start, end) = match batch_of {
                        Some((id, from, to)) => {
                            let start = plus_days(from, rng.range(0, 120));
                            let end = match (category, to) {
                                (Some("flexible"), _) => Some(plus_days(start, rng.range(30, 240))),
                                (_, Some(to)) => Some(to.max(start)),
                                (_, None) => None,
                            };
                            (Some(id), Some(start), end)
                        }
                        None => (None, Some(rng.date(first, as_of)), None),
                    };
                    let (title, post) = match (slot, category) {
                        (0, _) => (Some("中学一级教师"), "援疆教师"),
                        (1, _) => (Some("主治医师"), "援疆医生"),
                        (_, Some("cadre")) => (None, "挂职干部"),
                        _ => (None, "援疆专技人才"),
                    };
                    let home_region = home.and_then(|h| region_of.get(&h)).map_or("360100", String::as_str);
                    let (id_number, phone) = if identified {
                        (Some(id_number(&mut rng, home_region, i)?), Some(phone(&mut rng)?))
                    } else {
                        (None, None)
                    };
                    NewPerson {
                        program_id: self.program,
                        kind: "aid",
                        name: han_name(&mut rng),
                        gender,
                        batch_id,
                        category,
                        line: Some(line),
                        title: title.map(str::to_string),
                        post: Some(post.to_string()),
                        home_org_id: home,
                        host_org_id: host,
                        start_date: start,
                        end_date: end,
                        id_number,
                        phone,
                    }
                } else {
                    let host_region = host.and_then(|h| region_of.get(&h)).map_or("653022", String::as_str);
                    let (id_number, phone) = if identified {
                        (
                            Some(id_number(&mut rng, host_region, i)?),
                            rng.chance(50).then(|| phone(&mut rng)).transpose()?,
                        )
                    } else {
                        (None, None)
                    };
                    let post = match slot {
                        0 => "青年教师",
                        1 => "医师",
                        _ => "干部",
                    };
                    NewPerson {
                        program_id: self.program,
                        kind: "local",
                        name: local_name(&mut rng),
                        gender,
                        batch_id: None,
                        category: None,
                        line: Some(line),
                        title: None,
                        post: Some(post.to_string()),
                        home_org_id: None,
                        host_org_id: host,
                        start_date: None,
                        end_date: None,
                        id_number,
                        phone,
                    }
                };
                if p.id_number.is_some() {
                    s.identified_people += 1;
                }
                kinds_of.push((aid, slot));
                batch.push(p);
            }
            let ids = w.insert_all(&batch).await?;
            for (id, (aid, slot)) in ids.into_iter().zip(kinds_of.iter().copied()) {
                let lists = if aid { &mut self.aid_by_line } else { &mut self.local_by_line };
                if let Some(l) = lists.get_mut(slot) {
                    l.push(id);
                }
            }
            done += n;
            w.report("people", done, total, false);
        }
        s.people = total;
        w.report("people", total, total, true);
        Ok(())
    }

    /// Pairings, half between organizations (school ↔ school, hospital ↔ department, university ↔
    /// campus), half between mentors and local teachers or medics.
    async fn pairings(&mut self, w: &mut Writer<'_, '_>, s: &mut Summary, plan: &Plan, seed: u64) -> Result<()> {
        let mut rng = Rng::new(seed, S_PAIRINGS);
        let org_types: [(&str, Vec<OrgId>, Vec<OrgId>); 3] = [
            ("school_school", self.orgs_of(Side::Donor, &["school"]), self.orgs_of(Side::Recipient, &["school"])),
            (
                "hospital_department",
                self.orgs_of(Side::Donor, &["hospital"]),
                self.orgs_of(Side::Recipient, &["department", "hospital"]),
            ),
            (
                "university_campus",
                self.orgs_of(Side::Donor, &["university"]),
                self.orgs_of(Side::Recipient, &["university"]),
            ),
        ];
        let org_w = Weighted::new(&[50, 35, 15])?;
        let all_aid: Vec<PersonId> = self.aid_by_line.iter().flatten().copied().collect();
        let all_local: Vec<PersonId> = self.local_by_line.iter().flatten().copied().collect();
        let donor_any: Vec<OrgId> = self.donor.iter().map(|o| o.id).collect();
        let rec_any: Vec<OrgId> = self.recipient.iter().map(|o| o.id).collect();
        let first = day(FIRST_DAY)?;
        let last = day("2025-12-31")?;
        let total = plan.pairings;
        let mut done = 0;
        while done < total {
            let n = w.chunk.min(total - done);
            let mut batch = Vec::with_capacity(n);
            for _ in 0..n {
                let start = rng.date(first, last);
                let end = rng.chance(30).then(|| plus_days(start, rng.range(365, 1095)));
                let by_person = rng.chance(50) && !all_aid.is_empty() && !all_local.is_empty();
                let (type_code, a_org, b_org, a_person, b_person) = if by_person {
                    let teacher = rng.chance(55);
                    let (t, a, b) = if teacher {
                        ("mentor_teacher", &self.aid_by_line[0], &self.local_by_line[0])
                    } else {
                        ("mentor_doctor", &self.aid_by_line[1], &self.local_by_line[1])
                    };
                    let a = rng.pick(a).or_else(|| rng.pick(&all_aid));
                    let b = rng.pick(b).or_else(|| rng.pick(&all_local));
                    (t, None, None, a, b)
                } else {
                    let (t, a, b) = &org_types[org_w.sample(&mut rng).min(2)];
                    let a = rng.pick(a).or_else(|| rng.pick(&donor_any));
                    let b = rng.pick(b).or_else(|| rng.pick(&rec_any));
                    (*t, a, b, None, None)
                };
                batch.push(NewPairing {
                    program_id: self.program,
                    type_code: type_code.into(),
                    a_org_id: a_org,
                    b_org_id: b_org,
                    a_person_id: a_person,
                    b_person_id: b_person,
                    start_date: start,
                    end_date: end,
                    note: None,
                });
            }
            self.pairings.extend(w.insert_all(&batch).await?);
            done += n;
            w.report("pairings", done, total, false);
        }
        s.pairings = total;
        w.report("pairings", total, total, true);
        Ok(())
    }

    /// Projects with their status steps (立项 → 开工 → 完工 → 验收 as far as each has come by the
    /// end of 2026), one to three funding lines in 分, and an output for one in three. Each
    /// project is drawn whole before any is written, so the data do not depend on the chunk size.
    async fn projects(&mut self, w: &mut Writer<'_, '_>, s: &mut Summary, plan: &Plan, seed: u64) -> Result<()> {
        const SOURCES: [(&str, u64); 4] = [("province", 60), ("city", 25), ("social", 10), ("local", 5)];
        let mut rng = Rng::new(seed, S_PROJECTS);
        let sector_w = Weighted::new(&[20, 18, 16, 10, 14, 10, 6, 6])?;
        let source_w = Weighted::new(&SOURCES.map(|x| x.1))?;
        let first = day(FIRST_DAY)?;
        let last_start = day("2026-06-30")?;
        let as_of = day(AS_OF)?;
        // Implementing organizations: the recipient side's, by place.
        let rec_by_place: Vec<Vec<OrgId>> = (0..self.places.len())
            .map(|p| self.recipient.iter().filter(|o| o.place == Some(p)).map(|o| o.id).collect())
            .collect();
        let rec_any: Vec<OrgId> = self.recipient.iter().map(|o| o.id).collect();
        let total = plan.projects;
        let per_tx = (w.chunk / 6).max(1);
        let mut done = 0;
        while done < total {
            let n = per_tx.min(total - done);
            let mut drawn: Vec<DrawnProject> = Vec::with_capacity(n);
            for i in done..done + n {
                let (sector, sector_zh) =
                    SECTORS.get(sector_w.sample(&mut rng)).copied().unwrap_or(("education", "教育"));
                let place = self.project_places.get(self.project_place_weights.sample(&mut rng)).copied().unwrap_or(0);
                let p = self.places.get(place).ok_or_else(|| setup("地点不存在"))?;
                let org = rng.pick(&rec_by_place[place]).or_else(|| rng.pick(&rec_any));
                let start = rng.date(first, last_start);
                let end = plus_days(start, rng.range(90, 900));
                let batch_id =
                    self.batches.iter().rev().find(|(_, from, _)| *from <= start).or(self.batches.first()).map(|b| b.0);
                // Status steps, each on or after the one before, none after the end of 2026;
                // some projects stall on the way.
                let mut steps: Vec<(&'static str, Date)> = vec![("approved", plus_days(start, -rng.range(10, 60)))];
                let started = plus_days(start, rng.range(0, 45));
                let completed = plus_days(end, rng.range(-20, 120)).max(started);
                let accepted = plus_days(completed, rng.range(20, 150));
                let stall = rng.below(100);
                let later = [("started", started, 4), ("completed", completed, 12), ("accepted", accepted, 17)];
                for (status, d, stalled_below) in later {
                    if stall < stalled_below || d > as_of {
                        break;
                    }
                    steps.push((status, d));
                }
                let reached = steps.last().map_or("approved", |x| x.0);
                // Funding: 50–3,000 万元 in all, over one to three lines by year.
                let lines = rng.range(1, 3);
                let total_fen = rng.range(50, 3_000) * domain::money::FEN_PER_WAN;
                let (alloc_pct, disb_pct) = match reached {
                    "accepted" | "completed" => (100, rng.range(90, 100)),
                    "started" => (rng.range(50, 100), rng.range(40, 90)),
                    _ => (rng.range(0, 40), rng.range(0, 50)),
                };
                let mut funding = Vec::new();
                for k in 0..lines {
                    let share = total_fen / lines + if k == 0 { total_fen % lines } else { 0 };
                    let allocated = share * alloc_pct / 100;
                    let year = (start.year() + k as i32).min(end.year());
                    let source = SOURCES.get(source_w.sample(&mut rng)).map_or("province", |x| x.0);
                    funding.push((year as i64, source, Fen(share), Fen(allocated), Fen(allocated * disb_pct / 100)));
                }
                let output = rng.chance(33).then(|| match sector {
                    "education" => ("新建校舍", "平方米", rng.range(800, 6_000)),
                    "medical" => ("医疗设备", "台（套）", rng.range(5, 60)),
                    "industry" => ("标准化厂房", "平方米", rng.range(2_000, 12_000)),
                    "infrastructure" => ("道路", "公里", rng.range(1, 40)),
                    _ => ("受益群众", "人", rng.range(200, 5_000)),
                });
                drawn.push(DrawnProject {
                    project: NewProject {
                        program_id: self.program,
                        batch_id,
                        code: format!("{}-P{:06}", self.pfx, i + 1),
                        name: format!("{}{sector_zh}援疆项目（{}）", p.name, i + 1),
                        sector,
                        region: p.code.clone(),
                        org_id: org,
                        planned_start: Some(start),
                        planned_end: Some(end),
                        multi_year: end.year() > start.year(),
                        livelihood: matches!(sector, "education" | "medical" | "livelihood" | "employment"),
                    },
                    place,
                    steps,
                    funding,
                    output,
                });
            }
            let projects: Vec<NewProject> = drawn.iter().map(|d| d.project.clone()).collect();
            let ids = w.insert_all(&projects).await?;
            let mut funding = Vec::new();
            let mut outputs = Vec::new();
            for (id, d) in ids.into_iter().zip(drawn) {
                self.projects.push((id, d.place, d.project.org_id));
                for (status, date) in &d.steps {
                    w.tx().await?.add_status(&NewStatusEvent { project_id: id, status, date: *date }).await?;
                    w.wrote(1, 2).await?;
                }
                s.status_events += d.steps.len();
                for (year, source, planned, allocated, disbursed) in d.funding {
                    funding.push(NewFunding { project_id: id, year, source, planned, allocated, disbursed });
                }
                if let Some((kind, unit, quantity)) = d.output {
                    outputs.push(NewOutput { project_id: id, kind: kind.into(), quantity, unit: unit.into() });
                }
            }
            w.insert_all(&funding).await?;
            w.insert_all(&outputs).await?;
            s.funding_lines += funding.len();
            s.outputs += outputs.len();
            done += n;
            w.report("projects", done, total, false);
        }
        s.projects = total;
        w.report("projects", total, total, true);
        Ok(())
    }

    /// Activities: twelve types, weighted; dates uniform over 2015–2026; participants 5–300,
    /// beneficiaries participants × 1–4 + 0–50; nine in ten in their project's place.
    async fn activities(&mut self, w: &mut Writer<'_, '_>, s: &mut Summary, plan: &Plan, seed: u64) -> Result<()> {
        let mut rng = Rng::new(seed, S_ACTIVITIES);
        let type_w = Weighted::new(&TYPE_WEIGHTS[..self.types.len().min(12)])?;
        let all_w = Weighted::new(&(0..self.places.len() as u64).map(|i| 40 / (i + 1) + 1).collect::<Vec<_>>())?;
        let all_orgs: Vec<OrgId> = self.donor.iter().chain(&self.recipient).map(|o| o.id).collect();
        let first = day(FIRST_DAY)?;
        let last = day(AS_OF)?;
        let total = plan.activities;
        let mut done = 0;
        while done < total {
            let n = w.chunk.min(total - done);
            let mut batch = Vec::with_capacity(n);
            for i in done..done + n {
                let (type_code, type_name) = self.types.get(type_w.sample(&mut rng)).cloned().unwrap_or_default();
                let project = rng.pick(&self.projects);
                let place = match project {
                    Some((_, p, _)) if rng.chance(90) => p,
                    Some((_, p, _)) if self.places.len() > 1 => {
                        // Elsewhere: any other place.
                        let k = rng.below(self.places.len() as u64 - 1) as usize;
                        if k >= p {
                            k + 1
                        } else {
                            k
                        }
                    }
                    _ => all_w.sample(&mut rng),
                };
                let organizer = match project {
                    Some((_, p, Some(org))) if p == place && rng.chance(70) => Some(org),
                    _ => rng.pick(&self.by_place[place]).or_else(|| rng.pick(&all_orgs)),
                };
                let brand = brand_for(&mut rng, &type_code);
                let participants = rng.range(5, 300);
                let beneficiaries = participants * rng.range(1, 4) + rng.range(0, 50);
                let date = rng.date(first, last);
                let pairing = if rng.chance(3) { rng.pick(&self.pairings) } else { None };
                let pl = self.places.get(place).ok_or_else(|| setup("地点不存在"))?;
                batch.push(NewActivity {
                    program_id: self.program,
                    line: activity_line(&type_code, brand),
                    title: format!("{type_name}·{}（{}）", pl.name, i + 1),
                    type_code,
                    brand_code: brand.map(str::to_string),
                    date,
                    end_date: None,
                    region: pl.code.clone(),
                    organizer_org_id: organizer,
                    project_id: project.map(|p| p.0),
                    pairing_id: pairing,
                    participants,
                    beneficiaries,
                });
            }
            let ids = w.insert_all(&batch).await?;
            let procedures: Vec<NewProcedure> = ids
                .iter()
                .zip(&batch)
                .filter(|(_, a)| a.type_code == "campaign")
                .map(|(id, a)| NewProcedure {
                    activity_id: *id,
                    kind: procedure_kind(a.brand_code.as_deref()),
                    count: (a.beneficiaries / 3).max(1),
                })
                .collect();
            w.insert_all(&procedures).await?;
            s.procedures += procedures.len();
            done += n;
            w.report("activities", done, total, false);
        }
        s.activities = total;
        w.report("activities", total, total, true);
        Ok(())
    }

    /// Indicator values of the organizations this run created: five indicators each (those of
    /// its kind first), every year 2015–2026 and as many of the latest years' quarters as the
    /// plan needs; a year is the sum of its quarters. A baseline and target for one in ten.
    async fn indicator_values(
        &mut self,
        w: &mut Writer<'_, '_>,
        s: &mut Summary,
        plan: &Plan,
        seed: u64,
    ) -> Result<()> {
        let mut rng = Rng::new(seed, S_INDICATORS);
        let orgs = self.created.clone();
        let pairs = (orgs.len() * INDICATORS_PER_ORG).max(1);
        let slots = plan.indicator_values.div_ceil(pairs);
        let quarter_years = slots.saturating_sub(12).div_ceil(4).min(12) as i32;
        let years: Vec<i32> = (FIRST_YEAR..=LAST_YEAR).collect();
        let mut periods: Vec<(Period, Option<i32>)> = Vec::new(); // period, year it sums into
        for y in &years {
            periods.push((Period::parse(&y.to_string()).map_err(invalid)?, None));
        }
        for y in (LAST_YEAR - quarter_years + 1)..=LAST_YEAR {
            for q in 1..=4 {
                periods.push((Period::parse(&format!("{y}-Q{q}")).map_err(invalid)?, Some(q)));
            }
        }
        let total = orgs.len() * INDICATORS_PER_ORG * periods.len();
        let mut values: Vec<NewIndicatorValue> = Vec::with_capacity(w.chunk);
        let mut targets: Vec<NewIndicatorTarget> = Vec::new();
        let mut done = 0;
        for (oi, o) in orgs.iter().enumerate() {
            let own: &[&str] = match o.kind {
                "school" => &["exam_takers", "undergrad_admitted"],
                "university" => &["enrollment_plan"],
                "hospital" | "department" => &["hospital_revenue", "referrals_out"],
                _ => &[],
            };
            let codes: Vec<&str> = own
                .iter()
                .copied()
                .chain(self.indicator_codes.iter().map(String::as_str))
                .take(INDICATORS_PER_ORG)
                .collect();
            // Quarterly values for every year; exam takers first, so admissions stay below them.
            let mut takers: Vec<i64> = Vec::new();
            for code in &codes {
                let mut quarters: Vec<i64> = Vec::with_capacity(years.len() * 4);
                for (yi, _) in years.iter().enumerate() {
                    let growth = 100 + 5 * yi as i64;
                    for q in 0..4 {
                        let v = match *code {
                            "exam_takers" => rng.range(20, 120),
                            "undergrad_admitted" => {
                                let t = takers.get(yi * 4 + q).copied().unwrap_or(20);
                                (t * rng.range(35, 90) / 100).max(1)
                            }
                            "enrollment_plan" => rng.range(10, 80) * growth / 100,
                            "hospital_revenue" => rng.range(1_000_000, 50_000_000) * 100 * growth / 100,
                            "referrals_out" => rng.range(20, 400) * 100 / growth,
                            "gen_trainings" => rng.range(1, 20),
                            "gen_trainees" => rng.range(20, 800) * growth / 100,
                            "gen_services" => rng.range(50, 3_000) * growth / 100,
                            "gen_volunteer_hours" => rng.range(10, 500),
                            _ => rng.range(10_000, 500_000) * 100,
                        };
                        quarters.push(v.max(1));
                    }
                }
                if *code == "exam_takers" {
                    takers = quarters.clone();
                }
                let year_value = |yi: usize| -> i64 { quarters.iter().skip(yi * 4).take(4).sum() };
                for (period, quarter) in &periods {
                    let yi = (period.year() - FIRST_YEAR).max(0) as usize;
                    let value = match quarter {
                        None => year_value(yi),
                        Some(q) => quarters.get(yi * 4 + (*q as usize - 1)).copied().unwrap_or(1),
                    };
                    values.push(NewIndicatorValue {
                        indicator_code: code.to_string(),
                        org_id: o.id,
                        period: period.clone(),
                        value,
                    });
                }
                if oi % 10 == 0 && targets.last().map(|t| t.org_id) != Some(o.id) {
                    let baseline = year_value(2020 - FIRST_YEAR as usize);
                    let factor = if *code == "referrals_out" { 80 } else { 120 };
                    targets.push(NewIndicatorTarget {
                        indicator_code: code.to_string(),
                        org_id: o.id,
                        baseline_period: Period::parse("2020").map_err(invalid)?,
                        baseline,
                        target_period: Period::parse("2025").map_err(invalid)?,
                        target: baseline * factor / 100,
                    });
                }
            }
            if values.len() >= w.chunk || oi + 1 == orgs.len() {
                w.insert_all(&values).await?;
                done += values.len();
                s.indicator_values += values.len();
                values.clear();
                w.report("indicator_values", done, total, false);
            }
        }
        w.insert_all(&targets).await?;
        s.indicator_targets = targets.len();
        w.report("indicator_values", total, total, true);
        Ok(())
    }
}

fn han_name(rng: &mut Rng) -> String {
    format!("{}{}", rng.pick(demo::SURNAMES).unwrap_or("王"), rng.pick(demo::GIVEN).unwrap_or("伟"))
}

fn local_name(rng: &mut Rng) -> String {
    format!("{}·{}", rng.pick(demo::LOCAL_NAMES).unwrap_or("艾力"), rng.pick(demo::LOCAL_NAMES).unwrap_or("艾力"))
}

/// A valid 身份证号 (GB 11643 check character) for a place, born 1965–1998.
fn id_number(rng: &mut Rng, region6: &str, seq: usize) -> Result<IdNumber> {
    let birth = format!("{}{:02}{:02}", rng.range(1965, 1998), rng.range(1, 12), rng.range(1, 28));
    IdNumber::synthesize(region6, &birth, (seq % 1000) as u32).map_err(invalid)
}

fn phone(rng: &mut Rng) -> Result<Phone> {
    Phone::parse(&format!("1{}{:09}", rng.range(3, 9), rng.range(0, 999_999_999))).map_err(invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generator_repeats_itself() {
        let mut a = Rng::new(7, S_ACTIVITIES);
        let mut b = Rng::new(7, S_ACTIVITIES);
        let xs: Vec<u64> = (0..100).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..100).map(|_| b.next_u64()).collect();
        assert_eq!(xs, ys);
        let mut c = Rng::new(8, S_ACTIVITIES);
        assert_ne!(xs[0], c.next_u64(), "another seed, another sequence");
        // Ranges are inclusive and cover both ends.
        let mut r = Rng::new(1, 1);
        let v: Vec<i64> = (0..10_000).map(|_| r.range(5, 300)).collect();
        assert!(v.iter().all(|x| (5..=300).contains(x)));
        assert!(v.contains(&5) && v.contains(&300));
    }

    #[test]
    fn weights_are_honoured() {
        let w = Weighted::new(&[90, 10]).unwrap();
        let mut r = Rng::new(3, 3);
        let n = (0..10_000).filter(|_| w.sample(&mut r) == 0).count();
        assert!((8_700..9_300).contains(&n), "{n}");
        assert!(Weighted::new(&[0, 0]).is_err());
    }

    #[test]
    fn twenty_places_recipient_first() {
        let p = places(&RegionCode::parse("360000").unwrap(), &RegionCode::parse("653000").unwrap());
        assert_eq!(p.len(), 20);
        let codes: Vec<&str> = p.iter().map(|x| x.code.as_str()).collect();
        assert_eq!(&codes[..4], &["653001", "653022", "653023", "653024"]);
        assert!(codes.iter().all(|c| c.len() == 6));
        assert!(p[4].code.as_str().starts_with("65") && p[4].recipient);
        assert!(!p[19].recipient && p[19].code.as_str().starts_with("36"));
    }

    #[test]
    fn identifiers_are_valid() {
        let mut r = Rng::new(5, 5);
        for i in 0..200 {
            let id = id_number(&mut r, "653022", i).unwrap();
            assert!(IdNumber::parse(id.expose()).is_ok());
            assert!(phone(&mut r).is_ok());
        }
    }
}
