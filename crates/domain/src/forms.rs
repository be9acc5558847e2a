//! Records from submitted forms (and, later, spreadsheet rows): text values by field name,
//! parsed into the record types, every refusal naming the field, its label and the rule. The
//! same field names and labels as `catalog`, so an error lands next to its input.

use crate::activities::NewActivity;
use crate::catalog::RecordType;
use crate::ids::{Id, Kind, ProgramId};
use crate::money::Fen;
use crate::pairings::NewPairing;
use crate::projects::{NewFunding, NewOutput, NewProject, FUNDING_SOURCES, SECTORS};
use crate::regions::RegionCode;
use crate::values::{count_field, required_text};
use crate::{Date, Invalid, Invalids};
use std::collections::HashMap;

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
            Ok(n) => self.take(count_field(name, label, n)),
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
        self.take(fen.non_negative(name, label))
    }

    /// An end may not come before its start (checked even while other fields are wrong, so
    /// that the user sees every refusal at once).
    pub fn span(&mut self, end: &str, start_date: Option<Option<Date>>, end_date: Option<Option<Date>>) {
        if let (Some(s), Some(e)) = (start_date.flatten(), end_date.flatten()) {
            let label = self.label(end);
            self.errors.take(crate::values::check_span(end, label, Some(s), Some(e)));
        }
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
    Activity(NewActivity),
    Pairing(NewPairing),
}

/// The record types that can be created and edited through forms.
pub const EDITABLE: &[&str] = &["projects", "project_funding", "project_outputs", "activities", "pairings"];

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
}
