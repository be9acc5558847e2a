//! Records from submitted forms (and, later, spreadsheet rows): text values by field name,
//! parsed into the record types, every refusal naming the field, its label and the rule. The
//! same field names and labels as `catalog`, so an error lands next to its input.

use crate::activities::{NewActivity, NewProcedure, PROCEDURE_KINDS};
use crate::catalog::{FieldKind, RecordType};
use crate::ids::{Id, Kind, ProgramId};
use crate::indicators::{NewIndicatorDef, NewIndicatorTarget, NewIndicatorValue, Period, COMBINES};
use crate::lines::{
    NewAchievement, NewDonation, NewEmploymentCentre, NewEmploymentRecord, NewInvestmentEvent, NewInvestmentProject,
    ACHIEVEMENT_KINDS, INVESTMENT_EVENT_KINDS,
};
use crate::money::Fen;
use crate::orgs::{CreditCode, NewOrg, Side, ORG_KINDS};
use crate::pairings::{check_type_code, NewActivityType, NewBrand, NewPairing, NewPairingType};
use crate::people::{IdNumber, NewPerson, Phone, CATEGORIES, LINES, PERSON_KINDS};
use crate::program::NewBatch;
use crate::projects::{NewFunding, NewOutput, NewProject, NewStatusEvent, FUNDING_SOURCES, SECTORS, STATUSES};
use crate::regions::RegionCode;
use crate::values::{count_field, required_text};
use crate::{Date, Invalid, Invalids};
use std::collections::HashMap;

/// The largest count, raw indicator value or amount (in 分) a record may hold, either way.
pub const MAX_NUMBER: i64 = 1_000_000_000_000_000;

/// Submitted values by field name, with the record type they are for.
pub struct FormValues<'a> {
    pub t: &'a RecordType,
    values: HashMap<String, String>,
    errors: Invalids,
}

impl<'a> FormValues<'a> {
    pub fn new(t: &'a RecordType, pairs: impl IntoIterator<Item = (String, String)>) -> FormValues<'a> {
        FormValues { t, values: pairs.into_iter().collect(), errors: Invalids::default() }
    }

    /// The raw value, trimmed (empty when absent).
    pub fn raw(&self, name: &str) -> &str {
        self.values.get(name).map(|s| s.trim()).unwrap_or("")
    }

    fn label(&self, name: &str) -> &'static str {
        self.t.field(name).map(|f| f.zh).unwrap_or("字段")
    }

    fn missing(&mut self, name: &str) {
        let label = self.label(name);
        self.errors.push(Invalid::new(name, label, "必填", format!("{label}不能为空")));
    }

    fn take<T>(&mut self, r: Result<T, Invalid>) -> Option<T> {
        self.errors.take(r)
    }

    pub fn text(&mut self, name: &str, max: usize) -> Option<String> {
        let label = self.label(name);
        let v = self.raw(name).to_string();
        self.take(required_text(name, label, &v, max))
    }

    pub fn opt_text(&mut self, name: &str, max: usize) -> Option<Option<String>> {
        if self.raw(name).is_empty() {
            return Some(None);
        }
        self.text(name, max).map(Some)
    }

    pub fn date(&mut self, name: &str) -> Option<Date> {
        if self.raw(name).is_empty() {
            self.missing(name);
            return None;
        }
        self.opt_date(name).flatten()
    }

    pub fn opt_date(&mut self, name: &str) -> Option<Option<Date>> {
        let v = self.raw(name).to_string();
        if v.is_empty() {
            return Some(None);
        }
        let label = self.label(name);
        self.take(Date::parse(&v).map_err(|e| e.at(name, label))).map(Some)
    }

    /// A code of a fixed list, by code or by its Chinese name.
    pub fn code(&mut self, name: &str, list: &[(&'static str, &'static str)]) -> Option<&'static str> {
        if self.raw(name).is_empty() {
            self.missing(name);
            return None;
        }
        let v = self.raw(name).to_string();
        let label = self.label(name);
        self.take(crate::orgs::code_in(list, name, label, &v))
    }

    /// A code of a user-extensible list (types, brands): checked against the table by the store.
    pub fn code_ref(&mut self, name: &str) -> Option<String> {
        self.text(name, 40)
    }

    pub fn opt_code_ref(&mut self, name: &str) -> Option<Option<String>> {
        self.opt_text(name, 40)
    }

    pub fn id<K: Kind>(&mut self, name: &str) -> Option<Id<K>> {
        if self.raw(name).is_empty() {
            self.missing(name);
            return None;
        }
        self.opt_id(name).flatten()
    }

    pub fn opt_id<K: Kind>(&mut self, name: &str) -> Option<Option<Id<K>>> {
        let v = self.raw(name).to_string();
        if v.is_empty() {
            return Some(None);
        }
        let label = self.label(name);
        self.take(Id::<K>::parse(&v).map_err(|e| e.at(name, label))).map(Some)
    }

    pub fn region(&mut self, name: &str) -> Option<RegionCode> {
        if self.raw(name).is_empty() {
            self.missing(name);
            return None;
        }
        let v = self.raw(name).to_string();
        let label = self.label(name);
        self.take(RegionCode::parse(&v).map_err(|e| e.at(name, label)))
    }

    /// A non-negative count.
    pub fn count(&mut self, name: &str) -> Option<i64> {
        let v = self.raw(name).to_string();
        let label = self.label(name);
        if v.is_empty() {
            self.missing(name);
            return None;
        }
        match v.replace(',', "").parse::<i64>() {
            Ok(n) => self.bounded(name, n).and_then(|n| self.take(count_field(name, label, n))),
            Err(_) => {
                self.errors.push(Invalid::new(name, label, "须为整数", format!("{label}“{v}”不是整数")));
                None
            }
        }
    }

    /// A year between 1990 and 2100.
    pub fn year(&mut self, name: &str) -> Option<i64> {
        let n = self.count(name)?;
        if (1990..=2100).contains(&n) {
            Some(n)
        } else {
            let label = self.label(name);
            self.errors.push(Invalid::new(name, label, "年度须在 1990–2100 之间", format!("{label} {n} 不在合理范围")));
            None
        }
    }

    /// An amount of money: the unit is chosen in `{name}__unit` (`yuan` or `wan`, default 万元).
    pub fn money(&mut self, name: &str) -> Option<Fen> {
        let v = self.raw(name).to_string();
        let label = self.label(name);
        if v.is_empty() {
            self.missing(name);
            return None;
        }
        let parsed =
            if self.raw(&format!("{name}__unit")) == "yuan" { Fen::parse_yuan(&v) } else { Fen::parse_wan(&v) };
        let fen = self.take(parsed.map_err(|e| e.at(name, label)))?;
        let fen = self.take(fen.non_negative(name, label))?;
        self.bounded(name, fen.0).map(Fen)
    }

    /// A number no larger than [`MAX_NUMBER`] either way, so that sums over many records stay
    /// within the 64-bit integers the figures are computed in.
    fn bounded(&mut self, name: &str, n: i64) -> Option<i64> {
        if n.unsigned_abs() <= MAX_NUMBER as u64 {
            return Some(n);
        }
        let label = self.label(name);
        self.errors.push(Invalid::new(name, label, "绝对值不超过 10^15", format!("{label} {n} 超出合理范围")));
        None
    }

    /// An end may not come before its start (checked even while other fields are wrong, so
    /// that the user sees every refusal at once).
    pub fn span(&mut self, end: &str, start_date: Option<Option<Date>>, end_date: Option<Option<Date>>) {
        if let (Some(s), Some(e)) = (start_date.flatten(), end_date.flatten()) {
            let label = self.label(end);
            self.errors.take(crate::values::check_span(end, label, Some(s), Some(e)));
        }
    }

    /// The fixed code list of a catalogued `Code` field (empty when the field is not one).
    fn list_of(&self, name: &str) -> &'static [(&'static str, &'static str)] {
        match self.t.field(name).map(|f| f.kind) {
            Some(FieldKind::Code(list)) => list,
            _ => &[],
        }
    }

    /// A code of the fixed list the catalogue gives the field.
    pub fn catalogued_code(&mut self, name: &str) -> Option<&'static str> {
        let list = self.list_of(name);
        self.code(name, list)
    }

    /// An optional code of a fixed list: blank means none.
    pub fn opt_code(&mut self, name: &str, list: &[(&'static str, &'static str)]) -> Option<Option<&'static str>> {
        if self.raw(name).is_empty() {
            return Some(None);
        }
        self.code(name, list).map(Some)
    }

    /// An integer, negative allowed (an indicator's raw value).
    pub fn int(&mut self, name: &str) -> Option<i64> {
        let v = self.raw(name).to_string();
        let label = self.label(name);
        if v.is_empty() {
            self.missing(name);
            return None;
        }
        match v.replace(',', "").parse::<i64>() {
            Ok(n) => self.bounded(name, n),
            Err(_) => {
                self.errors.push(Invalid::new(name, label, "须为整数", format!("{label}“{v}”不是整数")));
                None
            }
        }
    }

    /// An optional non-negative count: blank means none.
    pub fn opt_count(&mut self, name: &str) -> Option<Option<i64>> {
        if self.raw(name).is_empty() {
            return Some(None);
        }
        self.count(name).map(Some)
    }

    /// A non-negative count with a default for a blank input.
    pub fn count_or(&mut self, name: &str, default: i64) -> Option<i64> {
        if self.raw(name).is_empty() {
            return Some(default);
        }
        self.count(name)
    }

    /// A statistical period (`2024`, `2024-Q2`, `2024-06`).
    pub fn period(&mut self, name: &str) -> Option<Period> {
        if self.raw(name).is_empty() {
            self.missing(name);
            return None;
        }
        let v = self.raw(name).to_string();
        let label = self.label(name);
        self.take(Period::parse(&v).map_err(|e| e.at(name, label)))
    }

    /// An optional value parsed by `parse` (an identifier, a credit code): blank means none.
    pub fn opt_parsed<T>(&mut self, name: &str, parse: fn(&str) -> Result<T, Invalid>) -> Option<Option<T>> {
        let v = self.raw(name).to_string();
        if v.is_empty() {
            return Some(None);
        }
        let label = self.label(name);
        self.take(parse(&v).map_err(|e| e.at(name, label))).map(Some)
    }

    /// A type code of a user-extensible code list (lowercase letters, digits, `_`).
    pub fn type_code(&mut self, name: &str) -> Option<String> {
        let code = self.text(name, 40)?;
        let label = self.label(name);
        self.take(check_type_code(&code).map_err(|e| e.at(name, label)))?;
        Some(code)
    }

    pub fn flag(&mut self, name: &str) -> bool {
        matches!(self.raw(name), "1" | "on" | "true" | "是")
    }

    /// The record, or every refusal found.
    pub fn finish<T>(self, build: impl FnOnce() -> Option<T>) -> Result<T, Invalids> {
        if !self.errors.is_empty() {
            return Err(self.errors);
        }
        build().ok_or_else(|| Invalids(vec![Invalid::new("form", "表单", "完整填写", "表单不完整")]))
    }
}

/// A record parsed from a form, ready for the store.
pub enum Parsed {
    Project(NewProject),
    Funding(NewFunding),
    Output(NewOutput),
    StatusEvent(NewStatusEvent),
    /// A person, with the personal identifiers left blank (and not asked to be cleared): on an
    /// edit they keep their stored values, which the form never shows.
    Person(NewPerson, Vec<&'static str>),
    Pairing(NewPairing),
    Activity(NewActivity),
    Procedure(NewProcedure),
    Org(NewOrg),
    IndicatorValue(NewIndicatorValue),
    IndicatorTarget(NewIndicatorTarget),
    IndicatorDef(NewIndicatorDef),
    Achievement(NewAchievement),
    Donation(NewDonation),
    Centre(NewEmploymentCentre),
    EmploymentRecord(NewEmploymentRecord),
    InvestmentEvent(NewInvestmentEvent),
    InvestmentProject(NewInvestmentProject),
    Batch(NewBatch),
    PairingType(NewPairingType),
    ActivityType(NewActivityType),
    Brand(NewBrand),
}

/// The record types that can be created through forms: every type of the catalogue.
pub const EDITABLE: &[&str] = &[
    "projects",
    "project_funding",
    "project_outputs",
    "project_status_events",
    "people",
    "pairings",
    "activities",
    "activity_procedures",
    "organizations",
    "indicator_values",
    "indicator_targets",
    "indicator_defs",
    "achievements",
    "donations",
    "employment_centres",
    "employment_records",
    "investment_events",
    "investment_projects",
    "batches",
    "pairing_types",
    "activity_types",
    "brands",
];

/// Record types that are a history: new steps are added, none is edited or deleted.
pub const HISTORY_ONLY: &[&str] = &["project_status_events"];

/// Why a history record cannot be changed, for the user.
pub const HISTORY_ONLY_WHY: &str =
    "项目状态记录是项目的历史，只能按 立项→开工→完工→验收 依次新增，不能修改或删除；如登记有误，请联系项目管理员说明情况";

/// May records of `table` be edited and deleted (not only created) through forms?
pub fn changeable(table: &str) -> bool {
    EDITABLE.contains(&table) && !HISTORY_ONLY.contains(&table)
}

/// Is `field` of `t` derived state that is shown but never written by a form, a spreadsheet or
/// the API: a project's current status (kept by its status history) and the mark of a built-in
/// type?
pub fn derived(t: &RecordType, field: &str) -> bool {
    (t.table == "projects" && matches!(field, "status" | "status_date")) || field == "builtin"
}

/// The fields a form (and a spreadsheet template) asks for: every field but the [`derived`] ones.
pub fn form_fields(t: &RecordType) -> Vec<&'static crate::catalog::Field> {
    t.fields.iter().filter(|f| !derived(t, f.name)).collect()
}

/// The personal identifiers (`Secret` fields) of `t`.
pub fn secret_fields(t: &RecordType) -> Vec<&'static str> {
    t.fields.iter().filter(|f| matches!(f.kind, FieldKind::Secret)).map(|f| f.name).collect()
}

/// The fields of `t` a form must fill: those the parser refuses as missing ("必填") when the form
/// is empty. One rule, the parser's, decides both the refusal and the mark on the input.
pub fn required_fields(t: &RecordType) -> Vec<String> {
    match parse(t, ProgramId::issued(1), Vec::new()) {
        Ok(_) => Vec::new(),
        Err(e) => e.0.into_iter().filter(|i| i.rule == "必填").map(|i| i.field).collect(),
    }
}

/// Parse the form for `t` (one of [`EDITABLE`]) within `program`.
pub fn parse(t: &RecordType, program: ProgramId, pairs: Vec<(String, String)>) -> Result<Parsed, Invalids> {
    let mut f = FormValues::new(t, pairs);
    match t.table {
        "projects" => {
            let code = f.text("code", 40);
            let name = f.text("name", 200);
            let sector = f.code("sector", SECTORS);
            let region = f.region("region_code");
            let org_id = f.opt_id("org_id");
            let batch_id = f.opt_id("batch_id");
            let planned_start = f.opt_date("planned_start");
            let planned_end = f.opt_date("planned_end");
            f.span("planned_end", planned_start, planned_end);
            let multi_year = f.flag("multi_year");
            let livelihood = f.flag("livelihood");
            f.finish(|| {
                Some(Parsed::Project(NewProject {
                    program_id: program,
                    batch_id: batch_id?,
                    code: code?,
                    name: name?,
                    sector: sector?,
                    region: region?,
                    org_id: org_id?,
                    planned_start: planned_start?,
                    planned_end: planned_end?,
                    multi_year,
                    livelihood,
                }))
            })
        }
        "project_funding" => {
            let project_id = f.id("project_id");
            let year = f.year("year");
            let source = f.code("source", FUNDING_SOURCES);
            let planned = f.money("planned_fen");
            let allocated = f.money("allocated_fen");
            let disbursed = f.money("disbursed_fen");
            f.finish(|| {
                Some(Parsed::Funding(NewFunding {
                    project_id: project_id?,
                    year: year?,
                    source: source?,
                    planned: planned?,
                    allocated: allocated?,
                    disbursed: disbursed?,
                }))
            })
        }
        "project_outputs" => {
            let project_id = f.id("project_id");
            let kind = f.text("kind", 100);
            let quantity = f.count("quantity");
            let unit = f.text("unit", 20);
            f.finish(|| {
                Some(Parsed::Output(NewOutput {
                    project_id: project_id?,
                    kind: kind?,
                    quantity: quantity?,
                    unit: unit?,
                }))
            })
        }
        "activities" => {
            let title = f.text("title", 200);
            let type_code = f.code_ref("type_code");
            let brand_code = f.opt_code_ref("brand_code");
            let line = f.code("line", crate::people::LINES);
            let date = f.date("date");
            let end_date = f.opt_date("end_date");
            f.span("end_date", date.map(Some), end_date);
            let region = f.region("region_code");
            let organizer = f.opt_id("organizer_org_id");
            let project = f.opt_id("project_id");
            let pairing = f.opt_id("pairing_id");
            let participants = f.count("participants");
            let beneficiaries = f.count("beneficiaries");
            f.finish(|| {
                Some(Parsed::Activity(NewActivity {
                    program_id: program,
                    type_code: type_code?,
                    brand_code: brand_code?,
                    line: line?,
                    title: title?,
                    date: date?,
                    end_date: end_date?,
                    region: region?,
                    organizer_org_id: organizer?,
                    project_id: project?,
                    pairing_id: pairing?,
                    participants: participants?,
                    beneficiaries: beneficiaries?,
                }))
            })
        }
        "pairings" => {
            let type_code = f.code_ref("type_code");
            let a_org = f.opt_id("a_org_id");
            let b_org = f.opt_id("b_org_id");
            let a_person = f.opt_id("a_person_id");
            let b_person = f.opt_id("b_person_id");
            let start = f.date("start_date");
            let end = f.opt_date("end_date");
            f.span("end_date", start.map(Some), end);
            let note = f.opt_text("note", 500);
            f.finish(|| {
                Some(Parsed::Pairing(NewPairing {
                    program_id: program,
                    type_code: type_code?,
                    a_org_id: a_org?,
                    b_org_id: b_org?,
                    a_person_id: a_person?,
                    b_person_id: b_person?,
                    start_date: start?,
                    end_date: end?,
                    note: note?,
                }))
            })
        }
        "project_status_events" => {
            let project_id = f.id("project_id");
            let status = f.code("status", STATUSES);
            let date = f.date("date");
            f.finish(|| {
                Some(Parsed::StatusEvent(NewStatusEvent { project_id: project_id?, status: status?, date: date? }))
            })
        }
        "people" => {
            let name = f.text("name", 50);
            let kind = f.code("kind", PERSON_KINDS);
            let gender = {
                let list = f.list_of("gender");
                f.opt_code("gender", list)
            };
            let batch_id = f.opt_id("batch_id");
            let category = f.opt_code("category", CATEGORIES);
            let line = f.opt_code("line", LINES);
            let title = f.opt_text("title", 50);
            let post = f.opt_text("post", 100);
            let home = f.opt_id("home_org_id");
            let host = f.opt_id("host_org_id");
            let start = f.opt_date("start_date");
            let end = f.opt_date("end_date");
            f.span("end_date", start, end);
            let id_number = f.opt_parsed("id_number", IdNumber::parse);
            let phone = f.opt_parsed("phone", Phone::parse);
            let blank: Vec<&'static str> = secret_fields(t)
                .into_iter()
                .filter(|n| f.raw(n).is_empty() && !f.flag(&format!("{n}__clear")))
                .collect();
            f.finish(|| {
                Some(Parsed::Person(
                    NewPerson {
                        program_id: program,
                        kind: kind?,
                        name: name?,
                        gender: gender?,
                        batch_id: batch_id?,
                        category: category?,
                        line: line?,
                        title: title?,
                        post: post?,
                        home_org_id: home?,
                        host_org_id: host?,
                        start_date: start?,
                        end_date: end?,
                        id_number: id_number?,
                        phone: phone?,
                    },
                    blank,
                ))
            })
        }
        "activity_procedures" => {
            let activity_id = f.id("activity_id");
            let kind = f.code("kind", PROCEDURE_KINDS);
            let count = f.count("cases");
            f.finish(|| Some(Parsed::Procedure(NewProcedure { activity_id: activity_id?, kind: kind?, count: count? })))
        }
        "organizations" => {
            let code = f.text("code", 40);
            let name = f.text("name", 100);
            let side = if f.raw("side").is_empty() {
                f.missing("side");
                None
            } else {
                let v = f.raw("side").to_string();
                let label = f.label("side");
                f.take(Side::parse(&v).map_err(|e| e.at("side", label)))
            };
            let kind = f.code("kind", ORG_KINDS);
            let parent_id = f.opt_id("parent_id");
            let region = f.region("region_code");
            let credit = f.opt_parsed("credit_code", CreditCode::parse);
            f.finish(|| {
                Some(Parsed::Org(NewOrg {
                    code: code?,
                    name: name?,
                    side: side?,
                    kind: kind?,
                    parent_id: parent_id?,
                    region: region?,
                    credit_code: credit?,
                }))
            })
        }
        "indicator_values" => {
            let code = f.code_ref("indicator_code");
            let org_id = f.id("org_id");
            let period = f.period("period");
            let value = f.int("value");
            f.finish(|| {
                Some(Parsed::IndicatorValue(NewIndicatorValue {
                    indicator_code: code?,
                    org_id: org_id?,
                    period: period?,
                    value: value?,
                }))
            })
        }
        "indicator_targets" => {
            let code = f.code_ref("indicator_code");
            let org_id = f.id("org_id");
            let baseline_period = f.period("baseline_period");
            let baseline = f.int("baseline");
            let target_period = f.period("target_period");
            let target = f.int("target");
            if let (Some(b), Some(t)) = (&baseline_period, &target_period) {
                if t.end() < b.end() {
                    let label = f.label("target_period");
                    f.errors.push(Invalid::new(
                        "target_period",
                        label,
                        "目标期不得早于基线期",
                        format!("目标期 {t} 早于基期 {b}"),
                    ));
                }
            }
            f.finish(|| {
                Some(Parsed::IndicatorTarget(NewIndicatorTarget {
                    indicator_code: code?,
                    org_id: org_id?,
                    baseline_period: baseline_period?,
                    baseline: baseline?,
                    target_period: target_period?,
                    target: target?,
                }))
            })
        }
        "indicator_defs" => {
            let code = f.text("code", 60);
            let name = f.text("name", 100);
            let unit = f.text("unit", 20);
            let combine = f.code("combine", COMBINES);
            let numerator = f.opt_code_ref("numerator");
            let denominator = f.opt_code_ref("denominator");
            let scale = f.count_or("scale", 0);
            let factor = f.count_or("factor", 1);
            if combine == Some("ratio") && (f.raw("numerator").is_empty() || f.raw("denominator").is_empty()) {
                let label = f.label("numerator");
                f.errors.push(Invalid::new(
                    "numerator",
                    label,
                    "比率指标须有分子与分母",
                    "比率指标须指定分子和分母指标",
                ));
            }
            if scale.is_some_and(|s| s > 6) {
                let label = f.label("scale");
                f.errors.push(Invalid::new("scale", label, "0–6 位", "小数位须在 0–6 之间"));
            }
            if factor == Some(0) {
                let label = f.label("factor");
                f.errors.push(Invalid::new("factor", label, "正整数", "比率系数须为正整数"));
            }
            let higher_is_better = f.flag("higher_is_better");
            f.finish(|| {
                Some(Parsed::IndicatorDef(NewIndicatorDef {
                    code: code?,
                    name: name?,
                    unit: unit?,
                    scale: scale?,
                    combine: combine?,
                    numerator: numerator?,
                    denominator: denominator?,
                    factor: factor?,
                    higher_is_better,
                }))
            })
        }
        "achievements" => {
            let title = f.text("title", 200);
            let kind = f.code("kind", ACHIEVEMENT_KINDS);
            let org_id = f.opt_id("org_id");
            let person_id = f.opt_id("person_id");
            let date = f.date("date");
            let level = f.opt_count("level");
            f.finish(|| {
                Some(Parsed::Achievement(NewAchievement {
                    program_id: program,
                    kind: kind?,
                    title: title?,
                    org_id: org_id?,
                    person_id: person_id?,
                    date: date?,
                    level: level?,
                }))
            })
        }
        "donations" => {
            let description = f.text("description", 200);
            let kind = f.catalogued_code("kind");
            let donor = f.opt_id("donor_org_id");
            let recipient = f.id("recipient_org_id");
            let value = f.money("value_fen");
            let date = f.date("date");
            f.finish(|| {
                Some(Parsed::Donation(NewDonation {
                    program_id: program,
                    kind: kind?,
                    description: description?,
                    donor_org_id: donor?,
                    recipient_org_id: recipient?,
                    value: value?,
                    date: date?,
                }))
            })
        }
        "employment_centres" => {
            let name = f.text("name", 100);
            let region = f.region("region_code");
            let org_id = f.opt_id("org_id");
            let opened = f.date("opened");
            f.finish(|| {
                Some(Parsed::Centre(NewEmploymentCentre {
                    program_id: program,
                    name: name?,
                    region: region?,
                    org_id: org_id?,
                    opened: opened?,
                }))
            })
        }
        "employment_records" => {
            let centre_id = f.id("centre_id");
            let period = f.period("period");
            let jobs = f.count("jobs_offered");
            let trainees = f.count("trainees");
            let placements = f.count("placements");
            f.finish(|| {
                Some(Parsed::EmploymentRecord(NewEmploymentRecord {
                    centre_id: centre_id?,
                    period: period?,
                    jobs_offered: jobs?,
                    trainees: trainees?,
                    placements: placements?,
                }))
            })
        }
        "investment_events" => {
            let name = f.text("name", 200);
            let kind = f.code("kind", INVESTMENT_EVENT_KINDS);
            let date = f.date("date");
            let region = f.region("region_code");
            let orders = f.money("orders_fen");
            f.finish(|| {
                Some(Parsed::InvestmentEvent(NewInvestmentEvent {
                    program_id: program,
                    kind: kind?,
                    name: name?,
                    date: date?,
                    region: region?,
                    orders: orders?,
                }))
            })
        }
        "investment_projects" => {
            let name = f.text("name", 200);
            let enterprise = f.id("enterprise_org_id");
            let event_id = f.opt_id("event_id");
            let signed = f.date("signed_date");
            let region = f.region("region_code");
            let amount = f.money("amount_fen");
            let jobs = f.count("jobs");
            f.finish(|| {
                Some(Parsed::InvestmentProject(NewInvestmentProject {
                    program_id: program,
                    event_id: event_id?,
                    enterprise_org_id: enterprise?,
                    name: name?,
                    signed_date: signed?,
                    region: region?,
                    amount: amount?,
                    jobs: jobs?,
                }))
            })
        }
        "batches" => {
            let number = f.count("number");
            if number == Some(0) {
                let label = f.label("number");
                f.errors.push(Invalid::new("number", label, "批次号为正整数", "批次号须为正整数"));
            }
            let start = f.date("start_date");
            let end = f.opt_date("end_date");
            f.span("end_date", start.map(Some), end);
            f.finish(|| {
                Some(Parsed::Batch(NewBatch {
                    program_id: program,
                    number: number?,
                    start_date: start?,
                    end_date: end?,
                }))
            })
        }
        "pairing_types" => {
            let code = f.type_code("code");
            let name = f.text("name", 50);
            let party = f.catalogued_code("party");
            f.finish(|| Some(Parsed::PairingType(NewPairingType { code: code?, name: name?, party: party? })))
        }
        "activity_types" => {
            let code = f.type_code("code");
            let name = f.text("name", 50);
            f.finish(|| Some(Parsed::ActivityType(NewActivityType { code: code?, name: name? })))
        }
        "brands" => {
            let code = f.type_code("code");
            let name = f.text("name", 50);
            f.finish(|| Some(Parsed::Brand(NewBrand { code: code?, name: name? })))
        }
        other => {
            Err(Invalids(vec![Invalid::new("form", "表单", "可在线编辑的记录类型", format!("{other} 不能在线编辑"))]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::by_slug;

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn derived_fields_are_left_out_of_forms() {
        let projects = by_slug("projects").unwrap();
        assert!(derived(projects, "status") && derived(projects, "status_date"));
        assert!(!derived(projects, "name") && !derived(projects, "code"));
        let names: Vec<&str> = form_fields(projects).iter().map(|f| f.name).collect();
        assert!(!names.contains(&"status") && !names.contains(&"status_date") && names.contains(&"name"));
        for t in crate::catalog::RECORD_TYPES {
            assert!(derived(t, "builtin"), "{}", t.slug);
            assert!(form_fields(t).iter().all(|f| !derived(t, f.name)), "{}", t.slug);
            if t.table != "projects" {
                assert!(!derived(t, "status"), "{}", t.slug);
            }
        }
    }

    #[test]
    fn a_project_form_names_every_bad_field() {
        let t = by_slug("projects").unwrap();
        let program = ProgramId::issued(1);
        let bad = pairs(&[
            ("code", ""),
            ("name", "温室大棚"),
            ("sector", "farming"),
            ("region_code", "65309"),
            ("planned_start", "2024-13-01"),
            ("org_id", "x"),
        ]);
        let Err(e) = parse(t, program, bad) else { panic!("refused") };
        let fields: Vec<&str> = e.0.iter().map(|i| i.field.as_str()).collect();
        assert_eq!(fields, vec!["code", "sector", "region_code", "org_id", "planned_start"]);
        assert!(e.0.iter().all(|i| !i.label.is_empty() && !i.rule.is_empty()));
        let good = pairs(&[
            ("code", "AKT-2025-001"),
            ("name", "温室大棚"),
            ("sector", "industry"),
            ("region_code", "653022202"),
            ("planned_start", "2025-03-01"),
            ("multi_year", "on"),
        ]);
        let Ok(Parsed::Project(p)) = parse(t, program, good) else { panic!("accepted") };
        assert!(p.multi_year && !p.livelihood && p.org_id.is_none());
    }

    #[test]
    fn money_is_entered_in_yuan_or_wan() {
        let t = by_slug("funding").unwrap();
        let f = |unit: &str, v: &str| {
            pairs(&[
                ("project_id", "3"),
                ("year", "2025"),
                ("source", "province"),
                ("planned_fen", v),
                ("planned_fen__unit", unit),
                ("allocated_fen", "0"),
                ("disbursed_fen", "0"),
            ])
        };
        let Ok(Parsed::Funding(a)) = parse(t, ProgramId::issued(1), f("wan", "12.5")) else { panic!() };
        assert_eq!(a.planned, Fen(12_500_000));
        let Ok(Parsed::Funding(b)) = parse(t, ProgramId::issued(1), f("yuan", "125,000.00")) else { panic!() };
        assert_eq!(b.planned, Fen(12_500_000));
        let Err(e) = parse(t, ProgramId::issued(1), f("wan", "-1")) else { panic!() };
        assert_eq!(e.0[0].field, "planned_fen");
    }

    fn bad_fields(slug: &str, v: &[(&str, &str)]) -> Vec<String> {
        let t = by_slug(slug).unwrap();
        match parse(t, ProgramId::issued(1), pairs(v)) {
            Ok(_) => panic!("{slug}: accepted {v:?}"),
            Err(e) => {
                for i in &e.0 {
                    assert!(t.field(&i.field).is_some(), "{slug}: {} is a field of the form", i.field);
                    assert!(!i.label.is_empty() && !i.rule.is_empty() && !i.message.is_empty(), "{i:?}");
                }
                e.0.into_iter().map(|i| i.field).collect()
            }
        }
    }

    fn accepted(slug: &str, v: &[(&str, &str)]) -> Parsed {
        match parse(by_slug(slug).unwrap(), ProgramId::issued(1), pairs(v)) {
            Ok(p) => p,
            Err(e) => panic!("{slug}: refused {e:?}"),
        }
    }

    #[test]
    fn every_catalogued_type_has_a_form() {
        for t in crate::catalog::RECORD_TYPES {
            assert!(EDITABLE.contains(&t.table), "{} is editable", t.table);
            let Err(e) = parse(t, ProgramId::issued(1), Vec::new()) else { panic!("{}: an empty form", t.table) };
            assert!(e.0.iter().all(|i| t.field(&i.field).is_some()), "{}: {e:?}", t.table);
            assert!(!required_fields(t).is_empty(), "{} has required fields", t.table);
        }
        assert_eq!(EDITABLE.len(), crate::catalog::RECORD_TYPES.len());
        assert!(!changeable("project_status_events") && changeable("people"));
        let req = required_fields(by_slug("projects").unwrap());
        assert_eq!(req, vec!["code", "name", "sector", "region_code"]);
        let req = required_fields(by_slug("people").unwrap());
        assert_eq!(req, vec!["name", "kind"], "identifiers, dates and organizations may stay empty");
    }

    #[test]
    fn a_person_form_validates_identifiers() {
        let bad = bad_fields(
            "people",
            &[
                ("name", ""),
                ("kind", "visitor"),
                ("gender", "x"),
                ("start_date", "2024-05-01"),
                ("end_date", "2024-04-01"),
                ("id_number", "36042619910102009X"),
                ("phone", "12345"),
                ("home_org_id", "-3"),
            ],
        );
        assert_eq!(bad, vec!["name", "kind", "gender", "home_org_id", "end_date", "id_number", "phone"]);
        let t = by_slug("people").unwrap();
        let Err(e) = parse(
            t,
            ProgramId::issued(1),
            pairs(&[("name", "王"), ("kind", "aid"), ("id_number", "36042619910102009X")]),
        ) else {
            panic!()
        };
        assert_eq!(e.0[0].label, "身份证号");
        assert!(e.0[0].message.contains("校验码") && e.0[0].rule.contains("GB 11643"), "{e:?}");
        let good = [
            ("name", "张建华"),
            ("kind", "援疆干部人才"),
            ("category", "professional"),
            ("gender", "男"),
            ("id_number", "360426199101010071"),
            ("phone", ""),
            ("host_org_id", "4"),
        ];
        let Parsed::Person(p, blank) = accepted("people", &good) else { panic!() };
        assert_eq!((p.kind, p.gender, p.host_org_id.map(|i| i.get())), ("aid", Some("男"), Some(4)));
        assert_eq!(p.id_number.unwrap().masked(), "360***********0071");
        assert_eq!(blank, vec!["phone"], "a blank phone is kept on an edit");
        let mut cleared = good.to_vec();
        cleared.push(("phone__clear", "1"));
        let Parsed::Person(_, blank) = accepted("people", &cleared) else { panic!() };
        assert!(blank.is_empty(), "unless asked to clear it");
    }

    #[test]
    fn organizations_and_indicators() {
        let bad = bad_fields(
            "organizations",
            &[
                ("code", "X"),
                ("side", "third"),
                ("kind", "bank"),
                ("region_code", "99"),
                ("credit_code", "91110000600037341N"),
            ],
        );
        assert_eq!(bad, vec!["name", "side", "kind", "region_code", "credit_code"]);
        let Parsed::Org(o) = accepted(
            "organizations",
            &[
                ("code", "AKT-X"),
                ("name", "阿克陶县某校"),
                ("side", "recipient"),
                ("kind", "school"),
                ("parent_id", "2"),
                ("region_code", "653022"),
            ],
        ) else {
            panic!()
        };
        assert_eq!((o.side, o.parent_id.map(|p| p.get()), o.credit_code), (Side::Recipient, Some(2), None));

        let bad = bad_fields(
            "indicator-values",
            &[("indicator_code", ""), ("org_id", "x"), ("period", "2024-Q5"), ("value", "1.5")],
        );
        assert_eq!(bad, vec!["indicator_code", "org_id", "period", "value"]);
        let Parsed::IndicatorValue(v) = accepted(
            "indicator-values",
            &[("indicator_code", "admission_rate"), ("org_id", "3"), ("period", "2024-Q2"), ("value", "-12")],
        ) else {
            panic!()
        };
        assert_eq!((v.period.as_str(), v.value), ("2024-Q2", -12));

        let target = |b: &'static str, t: &'static str| {
            vec![
                ("indicator_code", "x"),
                ("org_id", "1"),
                ("baseline_period", b),
                ("baseline", "1"),
                ("target_period", t),
                ("target", "2"),
            ]
        };
        assert_eq!(bad_fields("indicator-targets", &target("2025", "2024")), vec!["target_period"]);
        assert!(matches!(accepted("indicator-targets", &target("2022", "2025")), Parsed::IndicatorTarget(_)));

        let bad = bad_fields(
            "indicators",
            &[("code", "r"), ("name", "比率"), ("unit", "%"), ("combine", "ratio"), ("scale", "9"), ("factor", "0")],
        );
        assert_eq!(bad, vec!["numerator", "scale", "factor"]);
        let Parsed::IndicatorDef(d) =
            accepted("indicators", &[("code", "beds"), ("name", "床位数"), ("unit", "张"), ("combine", "sum")])
        else {
            panic!()
        };
        assert_eq!(
            (d.scale, d.factor, d.higher_is_better),
            (0, 1, false),
            "blank scale and factor take their defaults"
        );
    }

    #[test]
    fn the_lines_of_work() {
        assert_eq!(
            bad_fields("achievements", &[("title", ""), ("kind", "prize"), ("date", "2024-02-30"), ("level", "-1")]),
            vec!["title", "kind", "date", "level"]
        );
        assert!(matches!(
            accepted(
                "achievements",
                &[("title", "胸痛中心"), ("kind", "certification"), ("date", "2024-03-01"), ("org_id", "2")]
            ),
            Parsed::Achievement(_)
        ));
        assert_eq!(
            bad_fields("donations", &[("description", "药品"), ("kind", "stocks"), ("value_fen", "abc"), ("date", "")]),
            vec!["kind", "recipient_org_id", "value_fen", "date"]
        );
        let Parsed::Donation(d) = accepted(
            "donations",
            &[
                ("description", "药品"),
                ("kind", "实物"),
                ("recipient_org_id", "5"),
                ("value_fen", "12.5"),
                ("date", "2024-05-01"),
            ],
        ) else {
            panic!()
        };
        assert_eq!((d.kind, d.value), ("in_kind", Fen(12_500_000)));
        assert_eq!(
            bad_fields("employment-centres", &[("name", "就业之家"), ("region_code", "x"), ("opened", "")]),
            vec!["region_code", "opened"]
        );
        assert_eq!(
            bad_fields(
                "employment-records",
                &[("centre_id", "1"), ("period", "24"), ("jobs_offered", "-1"), ("trainees", "3"), ("placements", "")]
            ),
            vec!["period", "jobs_offered", "placements"]
        );
        assert_eq!(
            bad_fields(
                "investment-events",
                &[
                    ("name", "推介会"),
                    ("kind", "promotion"),
                    ("date", "2024-01-01"),
                    ("region_code", "653022"),
                    ("orders_fen", "-5")
                ]
            ),
            vec!["orders_fen"]
        );
        assert_eq!(
            bad_fields(
                "investment-projects",
                &[
                    ("name", "纺织厂"),
                    ("enterprise_org_id", ""),
                    ("signed_date", "2024-01-01"),
                    ("region_code", "653022"),
                    ("amount_fen", "100"),
                    ("jobs", "x")
                ]
            ),
            vec!["enterprise_org_id", "jobs"]
        );
        assert_eq!(
            bad_fields("procedures", &[("activity_id", "1"), ("kind", "cataract"), ("cases", "-3")]),
            vec!["cases"]
        );
        assert_eq!(
            bad_fields("project-status", &[("project_id", "1"), ("status", "abandoned"), ("date", "2024-01-01")]),
            vec!["status"]
        );
        assert!(matches!(
            accepted("project-status", &[("project_id", "1"), ("status", "开工"), ("date", "2024-01-01")]),
            Parsed::StatusEvent(_)
        ));
    }

    #[test]
    fn code_lists_and_batches() {
        assert_eq!(bad_fields("activity-types", &[("code", "Sports Day"), ("name", "")]), vec!["code", "name"]);
        assert!(matches!(
            accepted("activity-types", &[("code", "sports_day"), ("name", "运动会")]),
            Parsed::ActivityType(_)
        ));
        assert_eq!(bad_fields("brands", &[("code", "9x"), ("name", "品牌")]), vec!["code"]);
        assert_eq!(
            bad_fields("pairing-types", &[("code", "village"), ("name", "村村结对"), ("party", "any")]),
            vec!["party"]
        );
        let Parsed::PairingType(p) =
            accepted("pairing-types", &[("code", "village"), ("name", "村村结对"), ("party", "单位之间")])
        else {
            panic!()
        };
        assert_eq!(p.party, "org");
        assert_eq!(
            bad_fields("batches", &[("number", "0"), ("start_date", "2023-04-20"), ("end_date", "2023-01-01")]),
            vec!["number", "end_date"]
        );
        assert!(matches!(accepted("batches", &[("number", "12"), ("start_date", "2026-04-20")]), Parsed::Batch(_)));
    }

    #[test]
    fn numbers_are_bounded_so_that_sums_stay_exact() {
        let t = by_slug("procedures").unwrap();
        let f = |cases: &str| pairs(&[("activity_id", "1"), ("kind", "cataract"), ("cases", cases)]);
        assert!(parse(t, ProgramId::issued(1), f("1000000000000000")).is_ok());
        let Err(e) = parse(t, ProgramId::issued(1), f("1000000000000001")) else { panic!("refused") };
        assert_eq!((e.0[0].field.as_str(), e.0[0].rule.as_str()), ("cases", "绝对值不超过 10^15"));
    }
}
