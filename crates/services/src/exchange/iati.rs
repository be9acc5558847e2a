//! The program's projects as an IATI 2.03 activity file (`iati-activities`), for the
//! International Aid Transparency Initiative: one `iati-activity` per project, its elements in
//! the order of the schema's sequence (`iati-activities-schema.xsd`, checked with xmllint in the
//! tests).
//!
//! - **Identifiers.** The reporting organization is the program's donor root organization (the
//!   donor-side organization without a parent, in the program's donor region). Its IATI
//!   identifier is `CN-SAIC-{统一社会信用代码}` when it has a credit code (CN-SAIC is the
//!   registration agency IATI lists for China: the national enterprise credit register, which is
//!   keyed by that code), else its code in Counterpart. An activity is `{reporting-org ref}-{项目编号}`.
//! - **Participating organizations** with IATI roles: 1 funding (the donor root), 3 extending (the
//!   front command, 前方指挥部, under it), 4 implementing (the project's 实施单位). Types from
//!   IATI's OrganisationType list: [`org_type`].
//! - **Status and dates.** [`ACTIVITY_STATUS`]; activity dates 1 planned start and 3 planned end
//!   from the plan, 2 actual start and 4 actual end from the status history (开工, 完工).
//! - **Sectors.** Each project sector as an OECD DAC 5-digit purpose code (vocabulary 1,
//!   [`DAC_SECTORS`]) and as itself (vocabulary 99, the reporting organization's own), 100 %
//!   each.
//! - **Places.** Recipient country CN. The place is a `location`: IATI's geographic vocabularies
//!   (A1 GAUL, A2 UN SALB, A3 GADM, A4 ISO country, G1 GeoNames, G2 OpenStreetMap) have none for
//!   China's GB/T 2260 division codes, and an invented vocabulary would fail codelist
//!   validation, so the code goes in `location/@ref` (the reporting organization's own reference:
//!   `CN-GBT2260-653022`), the full name of the division in `name`, the code again in
//!   `description`, the country as `administrative` vocabulary A4 code CN, and the division's
//!   level as its GeoNames feature designation (ADM1 province … ADM4 township, ADM5 village).
//! - **Money** in CNY 元 (`default-currency`): a budget per funding year (the planned amounts of
//!   that year's funding lines), and per funding line a transaction 2 (outgoing commitment) for
//!   the allocated amount and 3 (disbursement) for the disbursed amount, dated at the end of the
//!   year or today, whichever is earlier.
//! - **Results.** For each indicator with a baseline and target set for the project's implementing
//!   organization, when the project's years (planned, else funded) meet the years from the
//!   baseline to the target: an outcome result with the baseline, the target (in its period) and
//!   the actual value of every period that has one, computed by the figure engine as the
//!   dashboard shows it.

use crate::exchange::export::CHUNK;
use crate::figures::Engine;
use crate::reports::docx::esc;
use crate::{Result, ServiceError};
use domain::audit::Actor;
use domain::catalog::{by_slug, code_label};
use domain::figures::{Across, Exact, FigureDef, Spec};
use domain::indicators::Period;
use domain::money::Fen;
use domain::people::Reveal;
use domain::projects::{FUNDING_SOURCES, SECTORS};
use domain::regions::{Level, RegionCode, RegionTable};
use domain::Date;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::io::Write;
use store::records::ListQuery;
use store::Store;

/// The IATI standard version written.
pub const VERSION: &str = "2.03";

/// The IATI registration agency of a 统一社会信用代码 (GB 32100).
pub const CREDIT_CODE_AGENCY: &str = "CN-SAIC";

/// Project sectors (项目类别) as OECD DAC 5-digit purpose codes (IATI sector vocabulary 1), with
/// the DAC name. The nearest purpose code for what such projects are in counterpart aid:
/// schools and their equipment (11120), hospital services and equipment (12191), industrial
/// parks and factories (32120), jobs (16020), township and village infrastructure (43040, rural
/// development), social protection (16010), cultural exchange (16061), and the training of
/// local cadres and officials (15110).
pub const DAC_SECTORS: &[(&str, &str, &str)] = &[
    ("education", "11120", "Education facilities and training"),
    ("medical", "12191", "Medical services"),
    ("industry", "32120", "Industrial development"),
    ("employment", "16020", "Employment creation"),
    ("infrastructure", "43040", "Rural development"),
    ("livelihood", "16010", "Social protection"),
    ("culture", "16061", "Culture and recreation"),
    ("capacity", "15110", "Public sector policy and administrative management"),
];

/// Project status → IATI ActivityStatus: 立项 1 pipeline/identification, 开工 2 implementation,
/// 完工 3 finalisation, 验收 4 closed.
pub const ACTIVITY_STATUS: &[(&str, &str)] =
    &[("approved", "1"), ("started", "2"), ("completed", "3"), ("accepted", "4")];

/// What was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub activities: usize,
    /// The reporting organization's IATI identifier.
    pub reporting_org: String,
    /// The sum of all budgets, in 分.
    pub budget_fen: i64,
}

/// An organization as the export needs it.
#[derive(Debug, Clone)]
struct Org {
    id: i64,
    code: String,
    name: String,
    side: String,
    kind: String,
    path: String,
    parent: Option<i64>,
    region: String,
    credit: Option<String>,
}

impl Org {
    fn of(row: &Map<String, Value>) -> Org {
        Org {
            id: int(row, "id").unwrap_or(0),
            code: text(row, "code"),
            name: text(row, "name"),
            side: text(row, "side"),
            kind: text(row, "kind"),
            path: text(row, "path"),
            parent: int(row, "parent_id"),
            region: text(row, "region_code"),
            credit: Some(text(row, "credit_code")).filter(|c| !c.is_empty()),
        }
    }

    /// The organization's IATI identifier.
    fn iati_ref(&self) -> String {
        match &self.credit {
            Some(c) => format!("{CREDIT_CODE_AGENCY}-{c}"),
            None => self.code.clone(),
        }
    }
}

/// An organization's IATI OrganisationType: 11 local government (a province, prefecture or
/// county, and its front command), 15 other public sector (hospitals, their departments, public
/// service centres), 80 academic, training and research (schools, universities), 70 private
/// sector (enterprises), 90 other.
fn org_type(kind: &str) -> &'static str {
    match kind {
        "government" | "command" => "11",
        "hospital" | "department" | "centre" => "15",
        "school" | "university" => "80",
        "enterprise" => "70",
        _ => "90",
    }
}

fn text(row: &Map<String, Value>, k: &str) -> String {
    crate::records::text_of(row.get(k))
}

fn int(row: &Map<String, Value>, k: &str) -> Option<i64> {
    row.get(k).and_then(|v| v.as_i64().or_else(|| v.as_str().and_then(|s| s.parse().ok())))
}

fn narrative(s: &str) -> String {
    format!("<narrative>{}</narrative>", esc(s))
}

/// Every record of a type that `actor` sees, read in chunks, in the order of `sort`.
async fn all(store: &Store, actor: &Actor, slug: &str, sort: Option<&str>) -> Result<Vec<Map<String, Value>>> {
    let t = by_slug(slug).ok_or_else(|| ServiceError::Exchange(format!("没有“{slug}”这类记录")))?;
    let q = ListQuery { sort: sort.map(str::to_string), ..Default::default() };
    let mut chunks = store.export_chunks(actor, t, &q, Reveal::Masked).await?;
    let mut out = Vec::new();
    loop {
        let rows = store.chunk(&mut chunks, CHUNK).await?;
        if rows.is_empty() {
            return Ok(out);
        }
        out.extend(rows);
    }
}

/// The first and last day of a statistical period.
fn period_span(p: &Period) -> (String, String) {
    let (year, end_month) = p.end();
    let s = p.as_str();
    let start_month = if let Some(q) = s.get(4..).and_then(|r| r.strip_prefix("-Q")) {
        q.parse::<u32>().map_or(1, |q| q * 3 - 2)
    } else if s.len() == 7 {
        end_month
    } else {
        1
    };
    (format!("{year}-{start_month:02}-01"), last_day(year, end_month))
}

/// The last day of a month, `YYYY-MM-DD`.
fn last_day(year: i32, month: u32) -> String {
    let next = if month == 12 {
        chrono::NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        chrono::NaiveDate::from_ymd_opt(year, month + 1, 1)
    };
    next.and_then(|d| d.pred_opt()).map_or_else(|| format!("{year}-{month:02}-28"), |d| d.to_string())
}

/// A place: its full name (province down to it), its level, and the GeoNames feature
/// designation and IATI activity scope that go with the level.
fn place(code: &str, shown: &str) -> (String, &'static str, &'static str) {
    let table = RegionTable::builtin();
    let Some(region) = RegionCode::parse(code).ok().and_then(|c| table.get(&c)) else {
        return (shown.to_string(), "ADM3", "8");
    };
    let mut names = vec![region.name];
    let mut parent = region.parent;
    while let Some(p) = parent.and_then(|p| RegionCode::parse(p).ok()).and_then(|c| table.get(&c)) {
        names.push(p.name);
        parent = p.parent;
    }
    names.reverse();
    let (feature, scope) = match region.level {
        Level::Province => ("ADM1", "6"),
        Level::Prefecture => ("ADM2", "7"),
        Level::County => ("ADM3", "8"),
        Level::Township => ("ADM4", "8"),
        Level::Village => ("ADM5", "8"),
    };
    (names.concat(), feature, scope)
}

/// A `result` element: the years from its baseline to its target, and the XML.
type ResultXml = (i32, i32, String);

/// The `result` elements of the organizations' indicator targets, by organization id.
async fn results(store: &Store, actor: &Actor, orgs: &[Org]) -> Result<HashMap<i64, Vec<ResultXml>>> {
    let defs: HashMap<String, Map<String, Value>> =
        all(store, actor, "indicators", None).await?.into_iter().map(|d| (text(&d, "code"), d)).collect();
    let engine = Engine::new(store);
    let mut out: HashMap<i64, Vec<ResultXml>> = HashMap::new();
    for (code, org_code, org_name, base_period, baseline, target_period, target) in store.indicator_targets().await? {
        let (Some(def), Some(org)) = (defs.get(&code), orgs.iter().find(|o| o.code == org_code)) else { continue };
        let name = text(def, "name");
        let unit = text(def, "unit");
        let scale = int(def, "scale").unwrap_or(0).clamp(0, 6) as u32;
        let ratio = text(def, "combine") == "ratio";
        let decimals = if ratio { scale.max(1) } else { scale };
        let raw =
            |v: i64| Exact::new(v as i128, 10i128.pow(scale)).map_or_else(|| v.to_string(), |e| e.display(decimals));
        // The figure the series is computed as (its name only labels an error).
        let fig = FigureDef {
            key: format!("iati.{code}"),
            name: name.clone(),
            line: "overview".into(),
            unit: unit.clone(),
            decimals,
            description: String::new(),
            spec: Spec::Indicator {
                indicator: code.clone(),
                org: org_code.clone(),
                periods: Vec::new(),
                across: Across::Only,
                compare: None,
                divisor: 1,
            },
        };
        let series = engine.indicator_series(&fig, &code, &org_code).await?;
        // Periods in order of their start, each with its target and actual value.
        let mut periods: BTreeMap<(String, String), (Option<String>, Option<String>)> = BTreeMap::new();
        for (p, v) in &series {
            periods.entry(period_span(p)).or_default().1 = Some(v.display(decimals));
        }
        if let Ok(tp) = Period::parse(&target_period) {
            periods.entry(period_span(&tp)).or_default().0 = Some(raw(target));
        }
        let base = Period::parse(&base_period).ok();
        let years = (
            base.as_ref().map_or(i32::MIN, Period::year),
            Period::parse(&target_period).map_or(i32::MAX, |p| p.year()),
        );
        let mut x = String::new();
        let _ = write!(
            x,
            "<result type=\"2\"><title>{}</title><description>{}</description>",
            narrative(&format!("{name}（{org_name}）")),
            narrative(&format!("{org_name}的{name}：基期 {base_period}，目标期 {target_period}，计量单位 {unit}"))
        );
        let _ = write!(
            x,
            "<indicator measure=\"{}\" ascending=\"{}\"><title>{}</title>",
            if unit == "%" { "2" } else { "1" },
            if int(def, "higher_is_better") == Some(0) { "0" } else { "1" },
            narrative(&format!("{name}（{unit}）"))
        );
        let _ = write!(x, "<reference vocabulary=\"99\" code=\"{}\"/>", esc(&code));
        if let Some(b) = &base {
            let _ = write!(
                x,
                "<baseline year=\"{}\" iso-date=\"{}\" value=\"{}\"/>",
                b.year(),
                period_span(b).1,
                raw(baseline)
            );
        }
        for ((start, end), (target, actual)) in &periods {
            let _ = write!(x, "<period><period-start iso-date=\"{start}\"/><period-end iso-date=\"{end}\"/>");
            if let Some(t) = target {
                let _ = write!(x, "<target value=\"{t}\"/>");
            }
            if let Some(a) = actual {
                let _ = write!(x, "<actual value=\"{a}\"/>");
            }
            x.push_str("</period>");
        }
        x.push_str("</indicator></result>");
        out.entry(org.id).or_default().push((years.0, years.1, x));
    }
    Ok(out)
}

/// Write the program's projects that `actor` sees as an IATI 2.03 `iati-activities` document to
/// `out`. `today` bounds transaction dates (IATI refuses transactions in the future).
pub async fn write<W: Write>(store: &Store, actor: &Actor, today: Date, out: &mut W) -> Result<Summary> {
    let io = |e: std::io::Error| ServiceError::Exchange(format!("写入 IATI 文件失败：{e}"));
    let program_id = store.default_program().await?;
    let program = store.get(program_id).await?.unwrap_or_default();
    let donor_region = text(&program, "donor_region");
    let orgs: Vec<Org> = all(store, actor, "organizations", Some("code")).await?.iter().map(Org::of).collect();
    let reporting = orgs
        .iter()
        .filter(|o| o.parent.is_none() && o.side == "donor")
        .min_by_key(|o| (o.region != donor_region, o.path.clone()))
        .ok_or_else(|| {
            ServiceError::Exchange("没有支援方的顶层单位（没有上级单位的支援方单位），无法确定 IATI 报告单位".into())
        })?;
    let extending = orgs
        .iter()
        .filter(|o| o.side == "donor" && o.kind == "command" && o.path.starts_with(&reporting.path))
        .min_by_key(|o| o.path.clone());
    let by_id: HashMap<i64, &Org> = orgs.iter().map(|o| (o.id, o)).collect();
    let projects = all(store, actor, "projects", Some("code")).await?;
    if projects.is_empty() {
        return Err(ServiceError::Exchange("没有可导出的项目：IATI 文件至少要有一个项目".into()));
    }
    let mut funding: HashMap<i64, Vec<Map<String, Value>>> = HashMap::new();
    for f in all(store, actor, "funding", Some("year")).await? {
        if let Some(p) = int(&f, "project_id") {
            funding.entry(p).or_default().push(f);
        }
    }
    // The first date each project reached each status.
    let mut reached: HashMap<(i64, String), String> = HashMap::new();
    for e in all(store, actor, "project-status", Some("date")).await? {
        if let Some(p) = int(&e, "project_id") {
            reached.entry((p, text(&e, "status"))).or_insert_with(|| text(&e, "date"));
        }
    }
    let results = results(store, actor, &orgs).await?;

    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let rep_ref = reporting.iati_ref();
    let org_el = |tag: &str, o: &Org, role: Option<&str>| {
        let role = role.map(|r| format!(" role=\"{r}\"")).unwrap_or_default();
        format!(
            "<{tag} ref=\"{}\" type=\"{}\"{role}>{}</{tag}>",
            esc(&o.iati_ref()),
            org_type(&o.kind),
            narrative(&o.name)
        )
    };
    write!(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<iati-activities version=\"{VERSION}\" generated-datetime=\"{now}\">\n")
        .map_err(io)?;
    let mut budget_total = 0i64;
    for p in &projects {
        let id = int(p, "id").unwrap_or(0);
        let code = text(p, "code");
        let name = text(p, "name");
        let sector = text(p, "sector");
        let sector_label = code_label(SECTORS, &sector).unwrap_or(&sector);
        let region = text(p, "region_code");
        let (place_name, feature, scope) = place(&region, &text(p, "region_code__show"));
        let implementing = int(p, "org_id").and_then(|o| by_id.get(&o).copied());
        let mut x = String::new();
        let _ = write!(
            x,
            "<iati-activity last-updated-datetime=\"{now}\" xml:lang=\"zh\" default-currency=\"CNY\">\
             <iati-identifier>{}</iati-identifier>{}<title>{}</title>",
            esc(&format!("{rep_ref}-{code}")),
            org_el("reporting-org", reporting, None),
            narrative(&name)
        );
        let mut about = format!("{sector_label}类援建项目（项目编号 {code}），建设地点：{place_name}");
        if let Some(o) = implementing {
            let _ = write!(about, "，实施单位：{}", o.name);
        }
        if let Some(b) = int(p, "batch_id").and(p.get("batch_id__show")) {
            let _ = write!(about, "，第{}批援疆项目", crate::records::text_of(Some(b)));
        }
        let _ = write!(x, "<description type=\"1\">{}</description>", narrative(&format!("{about}。")));
        x.push_str(&org_el("participating-org", reporting, Some("1")));
        if let Some(e) = extending {
            x.push_str(&org_el("participating-org", e, Some("3")));
        }
        if let Some(o) = implementing {
            x.push_str(&org_el("participating-org", o, Some("4")));
        }
        let status = text(p, "status");
        let status_code = ACTIVITY_STATUS.iter().find(|(s, _)| *s == status).map_or("1", |(_, c)| c);
        let _ = write!(x, "<activity-status code=\"{status_code}\"/>");
        let mut dates: Vec<(&str, String)> = Vec::new();
        let planned_start = text(p, "planned_start");
        let year_of = |d: &str| d.get(..4).and_then(|y| y.parse::<i32>().ok());
        let planned_start_year = year_of(&planned_start);
        let planned_end_year = year_of(&text(p, "planned_end"));
        if !planned_start.is_empty() {
            dates.push(("1", planned_start));
        }
        if let Some(d) = reached.get(&(id, "started".into())) {
            dates.push(("2", d.clone()));
        }
        let planned_end = text(p, "planned_end");
        if !planned_end.is_empty() {
            dates.push(("3", planned_end));
        }
        if let Some(d) = reached.get(&(id, "completed".into())) {
            dates.push(("4", d.clone()));
        }
        if dates.is_empty() {
            // No plan and no start: the date it was approved stands for the planned start.
            let approved = reached.get(&(id, "approved".into())).cloned().unwrap_or_else(|| text(p, "status_date"));
            if approved.is_empty() {
                return Err(ServiceError::Exchange(format!("项目 {code} 没有任何日期，无法写出 IATI 活动日期")));
            }
            dates.push(("1", approved));
        }
        for (kind, d) in &dates {
            let _ = write!(x, "<activity-date type=\"{kind}\" iso-date=\"{}\"/>", esc(d));
        }
        let _ = write!(
            x,
            "<activity-scope code=\"{scope}\"/><recipient-country code=\"CN\" percentage=\"100\">{}</recipient-country>",
            narrative("中国")
        );
        let _ = write!(
            x,
            "<location ref=\"CN-GBT2260-{r}\"><location-reach code=\"1\"/><name>{n}</name>\
             <description>{d}</description><administrative vocabulary=\"A4\" level=\"0\" code=\"CN\"/>\
             <exactness code=\"2\"/><location-class code=\"1\"/><feature-designation code=\"{feature}\"/></location>",
            r = esc(&region),
            n = narrative(&place_name),
            d = narrative(&format!("GB/T 2260 区划代码 {region}")),
        );
        if let Some((_, dac, dac_name)) = DAC_SECTORS.iter().find(|(s, _, _)| *s == sector) {
            let _ = write!(
                x,
                "<sector vocabulary=\"1\" code=\"{dac}\" percentage=\"100\">{}</sector>",
                narrative(dac_name)
            );
        }
        let _ = write!(
            x,
            "<sector vocabulary=\"99\" code=\"{}\" percentage=\"100\">{}</sector>",
            esc(&sector),
            narrative(sector_label)
        );
        let lines = funding.get(&id).map(Vec::as_slice).unwrap_or_default();
        let mut by_year: BTreeMap<i64, i64> = BTreeMap::new();
        for l in lines {
            if let Some(y) = int(l, "year") {
                *by_year.entry(y).or_default() += int(l, "planned_fen").unwrap_or(0);
            }
        }
        for (year, fen) in &by_year {
            budget_total += fen;
            let _ = write!(
                x,
                "<budget type=\"1\" status=\"2\"><period-start iso-date=\"{year}-01-01\"/>\
                 <period-end iso-date=\"{year}-12-31\"/><value value-date=\"{year}-01-01\">{}</value></budget>",
                Fen(*fen).yuan_exact()
            );
        }
        for l in lines {
            let Some(year) = int(l, "year") else { continue };
            let end = Date::ymd(year as i32, 12, 31).unwrap_or(today);
            let date = if end < today { end } else { today };
            let source = text(l, "source");
            let source = code_label(FUNDING_SOURCES, &source).unwrap_or(&source);
            for (kind, column, what) in [("2", "allocated_fen", "已下达"), ("3", "disbursed_fen", "已拨付")] {
                let fen = int(l, column).unwrap_or(0);
                if fen <= 0 {
                    continue;
                }
                let _ = write!(
                    x,
                    "<transaction><transaction-type code=\"{kind}\"/><transaction-date iso-date=\"{date}\"/>\
                     <value value-date=\"{date}\">{}</value><description>{}</description>{}",
                    Fen(fen).yuan_exact(),
                    narrative(&format!("{year}年度{source}{what}")),
                    org_el("provider-org", reporting, None)
                );
                if let Some(o) = implementing {
                    x.push_str(&org_el("receiver-org", o, None));
                }
                x.push_str("</transaction>");
            }
        }
        // The implementing organization's indicators measure the project when its years meet
        // the span from their baseline to their target.
        let first = planned_start_year.or(by_year.keys().next().map(|y| *y as i32));
        let last = planned_end_year.or(by_year.keys().next_back().map(|y| *y as i32)).or(first);
        if let (Some(rs), Some(first), Some(last)) = (implementing.and_then(|o| results.get(&o.id)), first, last) {
            for (from, to, r) in rs {
                if first <= *to && *from <= last {
                    x.push_str(r);
                }
            }
        }
        x.push_str("</iati-activity>\n");
        out.write_all(x.as_bytes()).map_err(io)?;
    }
    out.write_all(b"</iati-activities>\n").map_err(io)?;
    out.flush().map_err(io)?;
    Ok(Summary { activities: projects.len(), reporting_org: rep_ref, budget_fen: budget_total })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sector_has_a_dac_code_and_every_status_an_activity_status() {
        for (s, _) in SECTORS {
            let dac = DAC_SECTORS.iter().find(|(c, _, _)| c == s).map(|(_, d, _)| *d);
            assert!(dac.is_some_and(|d| d.len() == 5 && d.chars().all(|c| c.is_ascii_digit())), "{s}");
        }
        for (s, _) in domain::projects::STATUSES {
            assert!(ACTIVITY_STATUS.iter().any(|(c, _)| c == s), "{s}");
        }
    }

    #[test]
    fn periods_dates_and_places() {
        let p = |s: &str| period_span(&Period::parse(s).unwrap());
        assert_eq!(p("2024"), ("2024-01-01".into(), "2024-12-31".into()));
        assert_eq!(p("2024-Q1"), ("2024-01-01".into(), "2024-03-31".into()));
        assert_eq!(p("2024-02"), ("2024-02-01".into(), "2024-02-29".into()));
        assert_eq!(esc("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
        let (name, feature, scope) = place("653022", "阿克陶县");
        assert_eq!((name.as_str(), feature, scope), ("新疆维吾尔自治区克孜勒苏柯尔克孜自治州阿克陶县", "ADM3", "8"));
    }
}
