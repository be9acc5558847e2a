//! The SQL side of the figure engine: record sets ("sources") with whitelisted fields, turned
//! into one aggregate query or one listing of the records behind a value. The engine itself
//! (services::figures) decides what to ask; only this module writes figure SQL.

use crate::error::{Result, StoreError};
use crate::sql::{bind_all_as, prune_left_joins, Sql, P};
use crate::Store;
use chrono::Datelike;
use domain::figures::{Exact, FigureDef, Filter, FilterOp, FilterValue, Measure, Span};
use domain::indicators::Period;
use domain::regions::RegionCode;
use domain::Invalid;
use serde::Serialize;
use sqlx::{Any, Row};
use std::collections::BTreeMap;

#[derive(Clone, Copy)]
enum Kind {
    Text,
    Int,
    Region,
    /// An organization: `expr` is its id, with the path, code and name columns of the joined row.
    Org {
        path: &'static str,
        code: &'static str,
        name: &'static str,
    },
}

struct Field {
    name: &'static str,
    expr: &'static str,
    kind: Kind,
}

const fn f(name: &'static str, expr: &'static str, kind: Kind) -> Field {
    Field { name, expr, kind }
}

struct Source {
    name: &'static str,
    /// The table whose records a value opens to.
    table: &'static str,
    from: &'static str,
    id: &'static str,
    label: &'static str,
    date: Option<&'static str>,
    program: &'static str,
    fields: &'static [Field],
    /// Summable measures: (name, expression).
    sums: &'static [(&'static str, &'static str)],
}

use Kind::*;

const ORG_O: Kind = Org { path: "o.path", code: "o.code", name: "o.name" };

static SOURCES: &[Source] = &[
    Source {
        name: "batches",
        table: "batches",
        from: "batches b",
        id: "b.id",
        label: "'第' || CAST(b.number AS TEXT) || '批'",
        date: Some("b.start_date"),
        program: "b.program_id",
        fields: &[f("number", "b.number", Int)],
        sums: &[],
    },
    Source {
        name: "people",
        table: "people",
        from: "people p LEFT JOIN batches b ON b.id = p.batch_id \
               LEFT JOIN organizations ho ON ho.id = p.home_org_id \
               LEFT JOIN organizations hs ON hs.id = p.host_org_id",
        id: "p.id",
        // Drill-down lists are shown to readers who may not see names: surname plus 某, and the post.
        label: "substr(p.name, 1, 1) || '某' || COALESCE('（' || p.post || '）', '')",
        date: Some("p.start_date"),
        program: "p.program_id",
        fields: &[
            f("kind", "p.kind", Text),
            f("category", "p.category", Text),
            f("line", "p.line", Text),
            f("title", "p.title", Text),
            f("batch", "b.number", Int),
            f("home_org", "p.home_org_id", Org { path: "ho.path", code: "ho.code", name: "ho.name" }),
            f("host_org", "p.host_org_id", Org { path: "hs.path", code: "hs.code", name: "hs.name" }),
            f("host_region", "hs.region_code", Region),
        ],
        sums: &[],
    },
    Source {
        name: "projects",
        table: "projects",
        from: "projects pr LEFT JOIN batches b ON b.id = pr.batch_id LEFT JOIN organizations o ON o.id = pr.org_id",
        id: "pr.id",
        label: "pr.code || ' ' || pr.name",
        date: Some("pr.planned_start"),
        program: "pr.program_id",
        fields: &[
            f("sector", "pr.sector", Text),
            f("status", "pr.status", Text),
            f("region", "pr.region_code", Region),
            f("batch", "b.number", Int),
            f("org", "pr.org_id", ORG_O),
            f("multi_year", "pr.multi_year", Int),
            f("livelihood", "pr.livelihood", Int),
        ],
        sums: &[],
    },
    Source {
        name: "project_funding",
        table: "project_funding",
        from: "project_funding pf JOIN projects pr ON pr.id = pf.project_id LEFT JOIN batches b ON b.id = pr.batch_id \
               LEFT JOIN organizations o ON o.id = pr.org_id",
        id: "pf.id",
        label: "pr.code || ' ' || CAST(pf.year AS TEXT) || ' ' || pf.source",
        date: None,
        program: "pr.program_id",
        fields: &[
            f("year", "pf.year", Int),
            f("source", "pf.source", Text),
            f("sector", "pr.sector", Text),
            f("status", "pr.status", Text),
            f("region", "pr.region_code", Region),
            f("batch", "b.number", Int),
            f("livelihood", "pr.livelihood", Int),
            f("project", "pf.project_id", Int),
            f("org", "pr.org_id", ORG_O),
        ],
        sums: &[
            ("planned_fen", "pf.planned_fen"),
            ("allocated_fen", "pf.allocated_fen"),
            ("disbursed_fen", "pf.disbursed_fen"),
        ],
    },
    Source {
        name: "project_outputs",
        table: "project_outputs",
        from: "project_outputs po JOIN projects pr ON pr.id = po.project_id",
        id: "po.id",
        label: "pr.name || '：' || po.kind",
        date: Some("pr.planned_start"),
        program: "pr.program_id",
        fields: &[
            f("kind", "po.kind", Text),
            f("unit", "po.unit", Text),
            f("sector", "pr.sector", Text),
            f("region", "pr.region_code", Region),
        ],
        sums: &[("quantity", "po.quantity")],
    },
    Source {
        name: "pairings",
        table: "pairings",
        from: "pairings pa LEFT JOIN organizations ao ON ao.id = pa.a_org_id LEFT JOIN organizations bo ON bo.id = pa.b_org_id",
        id: "pa.id",
        label: "pa.type_code || ' #' || CAST(pa.id AS TEXT)",
        date: Some("pa.start_date"),
        program: "pa.program_id",
        fields: &[
            f("type", "pa.type_code", Text),
            f("a_org", "pa.a_org_id", Org { path: "ao.path", code: "ao.code", name: "ao.name" }),
            f("b_org", "pa.b_org_id", Org { path: "bo.path", code: "bo.code", name: "bo.name" }),
            f("b_region", "bo.region_code", Region),
            f("a_person", "pa.a_person_id", Int),
            f("b_person", "pa.b_person_id", Int),
        ],
        sums: &[],
    },
    Source {
        name: "activities",
        table: "activities",
        from: "activities a LEFT JOIN organizations o ON o.id = a.organizer_org_id",
        id: "a.id",
        label: "a.title",
        date: Some("a.date"),
        program: "a.program_id",
        fields: &[
            f("type", "a.type_code", Text),
            f("brand", "a.brand_code", Text),
            f("region", "a.region_code", Region),
            f("organizer", "a.organizer_org_id", ORG_O),
            f("project", "a.project_id", Int),
            f("pairing", "a.pairing_id", Int),
            f("line", "a.line", Text),
            f("month", "substr(a.date, 1, 7)", Text),
            f("year", "substr(a.date, 1, 4)", Text),
            f("review", "a.review_state", Text),
        ],
        sums: &[("participants", "a.participants"), ("beneficiaries", "a.beneficiaries")],
    },
    Source {
        name: "activity_procedures",
        table: "activity_procedures",
        from: "activity_procedures ap JOIN activities a ON a.id = ap.activity_id LEFT JOIN organizations o ON o.id = a.organizer_org_id",
        id: "ap.id",
        label: "a.title || '：' || ap.kind",
        date: Some("a.date"),
        program: "a.program_id",
        fields: &[
            f("kind", "ap.kind", Text),
            f("type", "a.type_code", Text),
            f("brand", "a.brand_code", Text),
            f("region", "a.region_code", Region),
            f("organizer", "a.organizer_org_id", ORG_O),
            f("line", "a.line", Text),
            f("month", "substr(a.date, 1, 7)", Text),
            f("review", "a.review_state", Text),
        ],
        sums: &[("cases", "ap.cases")],
    },
    Source {
        name: "achievements",
        table: "achievements",
        from: "achievements ac LEFT JOIN organizations o ON o.id = ac.org_id",
        id: "ac.id",
        label: "ac.title",
        date: Some("ac.date"),
        program: "ac.program_id",
        fields: &[f("kind", "ac.kind", Text), f("org", "ac.org_id", ORG_O), f("level", "ac.level", Int)],
        sums: &[],
    },
    Source {
        name: "donations",
        table: "donations",
        from: "donations d LEFT JOIN organizations o ON o.id = d.recipient_org_id LEFT JOIN organizations dn ON dn.id = d.donor_org_id",
        id: "d.id",
        label: "d.description",
        date: Some("d.date"),
        program: "d.program_id",
        fields: &[
            f("kind", "d.kind", Text),
            f("recipient_org", "d.recipient_org_id", ORG_O),
            f("donor_org", "d.donor_org_id", Org { path: "dn.path", code: "dn.code", name: "dn.name" }),
        ],
        sums: &[("value_fen", "d.value_fen")],
    },
    Source {
        name: "employment_centres",
        table: "employment_centres",
        from: "employment_centres ec",
        id: "ec.id",
        label: "ec.name",
        date: Some("ec.opened"),
        program: "ec.program_id",
        fields: &[f("region", "ec.region_code", Region)],
        sums: &[],
    },
    Source {
        name: "employment_records",
        table: "employment_records",
        from: "employment_records er JOIN employment_centres ec ON ec.id = er.centre_id",
        id: "er.id",
        label: "ec.name || ' ' || er.period",
        date: None,
        program: "ec.program_id",
        fields: &[f("period", "er.period", Text), f("region", "ec.region_code", Region), f("centre", "er.centre_id", Int)],
        sums: &[("jobs_offered", "er.jobs_offered"), ("trainees", "er.trainees"), ("placements", "er.placements")],
    },
    Source {
        name: "investment_events",
        table: "investment_events",
        from: "investment_events ie",
        id: "ie.id",
        label: "ie.name",
        date: Some("ie.date"),
        program: "ie.program_id",
        fields: &[f("kind", "ie.kind", Text), f("region", "ie.region_code", Region)],
        sums: &[("orders_fen", "ie.orders_fen")],
    },
    Source {
        name: "investment_projects",
        table: "investment_projects",
        from: "investment_projects ip JOIN organizations o ON o.id = ip.enterprise_org_id",
        id: "ip.id",
        label: "ip.name",
        date: Some("ip.signed_date"),
        program: "ip.program_id",
        fields: &[
            f("region", "ip.region_code", Region),
            f("enterprise", "ip.enterprise_org_id", ORG_O),
            f("event", "ip.event_id", Int),
        ],
        sums: &[("amount_fen", "ip.amount_fen"), ("jobs", "ip.jobs")],
    },
    // The remote imaging centre: consultation requests, dated by the Beijing day they were made.
    // The turnaround of a request (`tat_minutes`, minutes from the start of its clock — the
    // request made and its images complete — to its report's first issue; `on_time`, whether
    // that was within the target then in force) is kept when the report is first issued, and is
    // empty before. A request opens to its own page; its label never names the patient.
    Source {
        name: "imaging_requests",
        table: "imaging_requests",
        from: "imaging_requests ir LEFT JOIN organizations dp ON dp.id = ir.department_org_id \
               LEFT JOIN organizations o ON o.id = ir.owner_org_id \
               LEFT JOIN organizations ro ON ro.id = ir.requesting_org_id \
               LEFT JOIN users eu ON eu.id = ir.assignee_user_id",
        id: "ir.id",
        label: "ir.exam || ' · ' || ir.modality",
        date: Some("ir.requested_on"),
        program: "ir.program_id",
        fields: &[
            f("department", "ir.department_org_id", Org { path: "dp.path", code: "dp.code", name: "dp.name" }),
            f("hospital", "ir.owner_org_id", ORG_O),
            f("requester", "ir.requesting_org_id", Org { path: "ro.path", code: "ro.code", name: "ro.name" }),
            f("region", "ro.region_code", Region),
            f("expert", "eu.name", Text),
            f("priority", "ir.priority", Text),
            f("modality", "ir.modality", Text),
            f("patient_source", "ir.patient_source", Text),
            f("state", "ir.state", Text),
            f("outcome", "ir.outcome", Text),
            f("on_time", "ir.on_time", Int),
            // The medical line (医疗援疆), for a scope confined to a line.
            f("line", "'medical'", Text),
            f("month", "substr(ir.requested_on, 1, 7)", Text),
            f("year", "substr(ir.requested_on, 1, 4)", Text),
        ],
        sums: &[("tat_minutes", "ir.tat_minutes")],
    },
    // Critical results (危急值), dated by the Beijing day they were flagged; each opens to its
    // request. `in_time`: the requesting hospital was told within 30 minutes (an open one is not).
    Source {
        name: "imaging_critical",
        table: "imaging_requests",
        from: "imaging_critical c JOIN imaging_requests ir ON ir.id = c.request_id \
               LEFT JOIN organizations dp ON dp.id = ir.department_org_id \
               LEFT JOIN organizations o ON o.id = ir.owner_org_id \
               LEFT JOIN organizations ro ON ro.id = ir.requesting_org_id",
        id: "ir.id",
        label: "'危急值：' || c.finding || ' · ' || ir.exam",
        date: Some("c.flagged_on"),
        program: "ir.program_id",
        fields: &[
            f("finding", "c.finding", Text),
            f("state", "c.state", Text),
            f("department", "ir.department_org_id", Org { path: "dp.path", code: "dp.code", name: "dp.name" }),
            f("hospital", "ir.owner_org_id", ORG_O),
            f("requester", "ir.requesting_org_id", Org { path: "ro.path", code: "ro.code", name: "ro.name" }),
            f("region", "ro.region_code", Region),
            f("in_time", "CASE WHEN c.notice_minutes IS NOT NULL AND c.notice_minutes <= 30 THEN 1 ELSE 0 END", Int),
            f("line", "'medical'", Text),
            f("month", "substr(c.flagged_on, 1, 7)", Text),
            f("year", "substr(c.flagged_on, 1, 4)", Text),
        ],
        sums: &[("notice_minutes", "c.notice_minutes")],
    },
];

/// The activity rollups (see `rollups`) as record sets: the fields each grain keeps, a count as
/// the sum of `n`. Only the engine's choice in [`Store::plan`] reads them.
const fn rollup(grain: &'static str, from: &'static str, fields: &'static [Field]) -> Source {
    Source {
        name: grain,
        table: "activity_rollup",
        from,
        id: "r.grain",
        label: "r.grain",
        date: None,
        program: "r.program_id",
        fields,
        sums: &[("n", "r.n"), ("participants", "r.participants"), ("beneficiaries", "r.beneficiaries")],
    }
}

static ROLLUPS: &[Source] = &[
    rollup(
        "y",
        "activity_rollup r",
        &[
            f("grain", "r.grain", Text),
            f("type", "r.type_code", Text),
            f("line", "NULLIF(r.line, '')", Text),
            f("brand", "NULLIF(r.brand_code, '')", Text),
            f("region", "r.region_code", Region),
            f("year", "r.period", Text),
        ],
    ),
    rollup(
        "m",
        "activity_rollup r",
        &[
            f("grain", "r.grain", Text),
            f("type", "r.type_code", Text),
            f("line", "NULLIF(r.line, '')", Text),
            f("brand", "NULLIF(r.brand_code, '')", Text),
            f("region", "r.region_code", Region),
            f("month", "r.period", Text),
            f("year", "substr(r.period, 1, 4)", Text),
        ],
    ),
    rollup(
        "o",
        "activity_rollup r LEFT JOIN organizations o ON o.id = r.org_id",
        &[
            f("grain", "r.grain", Text),
            f("type", "r.type_code", Text),
            f("line", "NULLIF(r.line, '')", Text),
            f("brand", "NULLIF(r.brand_code, '')", Text),
            f("organizer", "NULLIF(r.org_id, 0)", ORG_O),
            f("year", "r.period", Text),
        ],
    ),
];

/// The funding rollup: funding lines by their project's status, sector and place, year and source.
static FUNDING_ROLLUP: Source = Source {
    name: "f",
    table: "funding_rollup",
    from: "funding_rollup r",
    id: "r.year",
    label: "r.source",
    date: None,
    program: "r.program_id",
    fields: &[
        f("year", "r.year", Int),
        f("source", "r.source", Text),
        f("sector", "r.sector", Text),
        f("status", "r.status", Text),
        f("region", "r.region_code", Region),
    ],
    sums: &[
        ("n", "r.n"),
        ("planned_fen", "r.planned_fen"),
        ("allocated_fen", "r.allocated_fen"),
        ("disbursed_fen", "r.disbursed_fen"),
    ],
};

/// A question rewritten for a rollup: the grain's record set, the measure over it, and the
/// filters with the span turned into periods.
struct Plan {
    source: &'static Source,
    measure: Measure,
    filters: Vec<Filter>,
}

fn t_str(d: chrono::NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn last_of_month(d: domain::Date) -> bool {
    d.naive().succ_opt().is_none_or(|n| n.format("%d").to_string() == "01")
}

/// The names of the record sets a figure may count over.
pub fn source_names() -> Vec<&'static str> {
    SOURCES.iter().map(|s| s.name).collect()
}

fn bad_spec(field: &str, msg: String) -> StoreError {
    StoreError::Invalid(Invalid::new(field, "指标口径", "口径须引用已定义的数据集与字段", msg).into())
}

fn source(name: &str) -> Result<&'static Source> {
    SOURCES.iter().find(|s| s.name == name).ok_or_else(|| bad_spec("source", format!("数据集“{name}”不存在")))
}

fn field<'a>(s: &'a Source, name: &str) -> Result<&'a Field> {
    s.fields
        .iter()
        .find(|f| f.name == name)
        .ok_or_else(|| bad_spec("filters", format!("数据集“{}”没有字段“{name}”", s.name)))
}

/// What a breakdown groups by: an organization's code, a number as text, or the value.
fn group_key(fd: &Field) -> String {
    match fd.kind {
        Org { code, .. } => code.to_string(),
        Int => format!("CAST({} AS TEXT)", fd.expr),
        _ => fd.expr.to_string(),
    }
}

/// A numeric measure of the source (what a sum, a median or a percentile reads).
fn sum_field(s: &Source, name: &str) -> Result<&'static str> {
    s.sums
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, e)| *e)
        .ok_or_else(|| bad_spec("measure", format!("数据集“{}”没有可求和的量“{name}”", s.name)))
}

/// A field a distinct count may count: an organization.
fn distinct_field<'a>(s: &'a Source, name: &str) -> Result<&'a Field> {
    let fd = field(s, name)?;
    match fd.kind {
        Org { .. } => Ok(fd),
        _ => Err(bad_spec("measure", format!("去重计数只能针对单位字段，“{name}”不是单位字段"))),
    }
}

/// One record behind a figure value.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RecordRef {
    pub table: String,
    pub id: i64,
    pub label: String,
    pub date: Option<String>,
    /// What this record contributes: 1 for a count, the measure for a sum; a distinct count
    /// lists the organizations it counted, each contributing 1.
    pub value: i64,
}

/// A project as its schedule is judged: its status and planned dates.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ProjectPlan {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub status: String,
    pub planned_start: Option<domain::Date>,
    pub planned_end: Option<domain::Date>,
}

/// A project's plan as read: id, code, name, status, planned start and end.
pub(crate) type PlanRow = (i64, String, String, String, Option<String>, Option<String>);

pub(crate) fn plan_of((id, code, name, status, start, end): PlanRow) -> ProjectPlan {
    ProjectPlan {
        id,
        code,
        name,
        status,
        planned_start: start.and_then(|d| domain::Date::parse(&d).ok()),
        planned_end: end.and_then(|d| domain::Date::parse(&d).ok()),
    }
}

/// One indicator value, with the organization it belongs to.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct IndicatorRow {
    pub id: i64,
    pub indicator: String,
    pub org_id: i64,
    pub org_name: String,
    pub period: String,
    pub value: i64,
}

/// An indicator's values of one period over an organization subtree, reduced by the database.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct IndicatorTotal {
    pub period: String,
    pub n: i64,
    pub sum: i64,
    pub min: i64,
    pub max: i64,
}

/// An indicator definition as stored.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct IndicatorDefRow {
    pub code: String,
    pub name: String,
    pub unit: String,
    pub scale: i64,
    pub combine: String,
    pub numerator: Option<String>,
    pub denominator: Option<String>,
    pub factor: i64,
}

fn values_of(v: &FilterValue) -> Vec<String> {
    match v {
        FilterValue::Int(i) => vec![i.to_string()],
        FilterValue::Text(t) => vec![t.clone()],
        FilterValue::List(l) => l.clone(),
    }
}

impl Store {
    async fn where_clause(
        &self,
        s: &Source,
        m: &Measure,
        program_id: Option<i64>,
        filters: &[Filter],
        span: Option<&Span>,
        sql: &mut Sql,
    ) -> Result<()> {
        let mut conds: Vec<String> = Vec::new();
        // A distinct count counts organizations: rows without one are not behind the value.
        if let Measure::CountDistinct(name) = m {
            conds.push(format!("{} IS NOT NULL", distinct_field(s, name)?.expr));
        }
        // A percentile reads the records that have the value; a share is of the records that
        // have a value in its condition's field (a request's `on_time` once its report is issued).
        if let Some((name, _)) = m.percentile() {
            conds.push(format!("{} IS NOT NULL", sum_field(s, name)?));
        }
        if let Measure::Share(flt) = m {
            conds.push(format!("{} IS NOT NULL", field(s, &flt.field)?.expr));
        }
        if let Some(p) = program_id {
            let ph = sql.param(P::I(p));
            conds.push(format!("{} = {ph}", s.program));
        }
        if let Some(span) = span {
            let date = s.date.ok_or_else(|| bad_spec("span", format!("数据集“{}”没有日期，不能按时段统计", s.name)))?;
            if let Some(from) = span.from {
                let ph = sql.param(P::T(from.to_string()));
                conds.push(format!("{date} >= {ph}"));
            }
            if let Some(to) = span.to {
                let ph = sql.param(P::T(to.to_string()));
                conds.push(format!("{date} <= {ph}"));
            }
        }
        for flt in filters {
            conds.push(self.filter_cond(s, flt, sql).await?);
        }
        if !conds.is_empty() {
            sql.text.push_str(" WHERE ");
            sql.text.push_str(&conds.join(" AND "));
        }
        Ok(())
    }

    /// One filter as a bound condition on the source's field.
    async fn filter_cond(&self, s: &Source, flt: &Filter, sql: &mut Sql) -> Result<String> {
        let fd = field(s, &flt.field)?;
        let vals = values_of(&flt.value);
        let first = vals.first().map(String::as_str).unwrap_or("");
        Ok(match flt.op {
            FilterOp::Under | FilterOp::NotUnder => {
                // A place or an organization, and everything inside it.
                // A place subtree is a range of codes, which an index answers.
                let cond = match fd.kind {
                    Region => crate::records::prefix_range(fd.expr, &RegionCode::parse(first)?.subtree_prefix(), sql),
                    Org { path, .. } => {
                        let prefix = self.org_path(first).await?;
                        format!("{path} LIKE {}", sql.param(P::T(format!("{prefix}%"))))
                    }
                    _ => return Err(bad_spec("filters", format!("字段“{}”不是地区或单位，不能按层级筛选", fd.name))),
                };
                match flt.op {
                    FilterOp::NotUnder => format!("NOT ({cond})"),
                    _ => cond,
                }
            }
            FilterOp::Empty => format!("{} IS NULL", fd.expr),
            FilterOp::Eq | FilterOp::In | FilterOp::Ge | FilterOp::Le => {
                // An organization compares by its code; everything else by its value.
                let expr = match fd.kind {
                    Org { code, .. } => code,
                    _ => fd.expr,
                };
                let mut phs = Vec::new();
                for v in &vals {
                    let p = match fd.kind {
                        Int => P::I(
                            v.parse()
                                .map_err(|_| bad_spec("filters", format!("字段“{}”须为整数，实为“{v}”", fd.name)))?,
                        ),
                        _ => P::T(v.clone()),
                    };
                    phs.push(sql.param(p));
                }
                if phs.is_empty() {
                    return Err(bad_spec("filters", format!("字段“{}”的筛选值为空", fd.name)));
                }
                match flt.op {
                    FilterOp::In => format!("{expr} IN ({})", phs.join(", ")),
                    FilterOp::Ge => format!("{expr} >= {}", phs[0]),
                    FilterOp::Le => format!("{expr} <= {}", phs[0]),
                    _ => format!("{expr} = {}", phs[0]),
                }
            }
        })
    }

    /// The aggregate of a measure, and each record's contribution to it. A distinct count is
    /// allowed on organization fields only: it counts organizations, and opens to them.
    fn measure_expr(s: &Source, m: &Measure) -> Result<(String, String)> {
        Ok(match m {
            Measure::Count => ("COUNT(*)".into(), "1".into()),
            Measure::CountDistinct(name) => {
                let fd = distinct_field(s, name)?;
                (format!("COUNT(DISTINCT {})", fd.expr), "1".into())
            }
            Measure::Sum(name) => {
                let e = sum_field(s, name)?;
                (format!("CAST(COALESCE(SUM({e}), 0) AS BIGINT)"), e.to_string())
            }
            // Not one aggregate: see `Store::measure_exact`. Each record contributes its value.
            Measure::Median(name) | Measure::P90(name) => {
                let e = sum_field(s, name)?;
                (String::new(), e.to_string())
            }
            // Each record contributes the condition's field where it is a number (1 when met
            // for a flag such as `on_time`), 1 otherwise.
            Measure::Share(flt) => {
                let fd = field(s, &flt.field)?;
                let v = match fd.kind {
                    Int => fd.expr.to_string(),
                    _ => "1".to_string(),
                };
                (String::new(), v)
            }
        })
    }

    /// A measure that is one aggregate (a count, a distinct count, a sum): the measure itself;
    /// a median, a 90th percentile or a share, which are not, refused here.
    fn aggregate(s: &Source, m: &Measure) -> Result<String> {
        let (agg, _) = Self::measure_expr(s, m)?;
        if agg.is_empty() {
            return Err(bad_spec("measure", "中位数、百分位数与占比不是一个可相加的量".into()));
        }
        Ok(agg)
    }

    /// Can the rollups answer this aggregate exactly? For activities: a count or a sum of
    /// participants or beneficiaries, filtered and grouped only by fields a grain keeps, over
    /// whole years (grains `y`, `o`) or whole months (grain `m`). For funding lines: a count or a
    /// sum of an amount by year, source, sector, status and place. Anything else is counted from
    /// the records themselves.
    fn plan(
        &self,
        source: &str,
        m: &Measure,
        filters: &[Filter],
        span: Option<&Span>,
        by: Option<&str>,
    ) -> Option<Plan> {
        if !self.rollups {
            return None;
        }
        // The activity rollup counts approved activities only (审核通过, 已汇总): the default
        // states of a figure are what it holds, any other choice is counted from the rows.
        let approved = domain::reporting::Counted::Approved.codes();
        let filters: Vec<Filter> = filters
            .iter()
            .filter(|f| {
                !(source == "activities"
                    && f.field == "review"
                    && f.op == FilterOp::In
                    && matches!(&f.value, FilterValue::List(l) if l.len() == approved.len() && l.iter().all(|v| approved.contains(&v.as_str()))))
            })
            .cloned()
            .collect();
        let filters = filters.as_slice();
        let used: Vec<&str> = filters.iter().map(|f| f.field.as_str()).chain(by).collect();
        let fits = |s: &Source| used.iter().all(|u| *u != "grain" && s.fields.iter().any(|f| f.name == *u));
        if source == "project_funding" {
            let measure = match m {
                Measure::Count => Measure::Sum("n".into()),
                Measure::Sum(f) if f.ends_with("_fen") => m.clone(),
                _ => return None,
            };
            return (span.is_none() && fits(&FUNDING_ROLLUP)).then(|| Plan {
                source: &FUNDING_ROLLUP,
                measure,
                filters: filters.to_vec(),
            });
        }
        if source != "activities" {
            return None;
        }
        let measure = match m {
            Measure::Count => Measure::Sum("n".into()),
            Measure::Sum(f) if f == "participants" || f == "beneficiaries" => m.clone(),
            _ => return None,
        };
        let (from, to) = span.map_or((None, None), |s| (s.from, s.to));
        let whole_years = from.is_none_or(|d| d.naive().format("%m-%d").to_string() == "01-01")
            && to.is_none_or(|d| d.naive().format("%m-%d").to_string() == "12-31");
        let whole_months =
            from.is_none_or(|d| d.naive().format("%d").to_string() == "01") && to.is_none_or(last_of_month);
        let (grain, source, fmt) = if whole_years && fits(&ROLLUPS[0]) {
            ("y", &ROLLUPS[0], "%Y")
        } else if whole_months && fits(&ROLLUPS[1]) {
            ("m", &ROLLUPS[1], "%Y-%m")
        } else if whole_years && fits(&ROLLUPS[2]) {
            ("o", &ROLLUPS[2], "%Y")
        } else {
            return None;
        };
        let period = if grain == "m" { "month" } else { "year" };
        let mut filters = filters.to_vec();
        filters.push(Filter::eq("grain", grain));
        if let Some(d) = from {
            filters.push(Filter::ge(period, d.naive().format(fmt).to_string().as_str()));
        }
        if let Some(d) = to {
            let v = FilterValue::Text(d.naive().format(fmt).to_string());
            filters.push(Filter { field: period.into(), op: FilterOp::Le, value: v });
        }
        Some(Plan { source, measure, filters })
    }

    /// The rollup that answers this aggregate (activities: grain `y`, `m` or `o`; funding: `f`),
    /// or `None` when it is counted from the records themselves.
    pub fn rollup_grain(
        &self,
        source: &str,
        m: &Measure,
        filters: &[Filter],
        span: Option<&Span>,
        by: Option<&str>,
    ) -> Option<&'static str> {
        self.plan(source, m, filters, span, by).map(|p| p.source.name)
    }

    /// A span that the rollups cannot answer as it is, cut into the whole months inside it,
    /// which they can, and the part months at its ends, which are counted from the records
    /// (a few days of them, through the date index): `(ends, months)`. `None` when the span
    /// needs no cutting, has no whole month inside, or the question fits no rollup either way.
    fn cut_span(
        &self,
        source: &str,
        m: &Measure,
        filters: &[Filter],
        span: Option<&Span>,
        by: Option<&str>,
    ) -> Option<(Vec<Span>, Span)> {
        let span = span?;
        if source != "activities" || self.plan(source, m, filters, Some(span), by).is_some() {
            return None;
        }
        let first_of = |d: chrono::NaiveDate| d.with_day(1);
        let mut ends = Vec::new();
        let mut months = Span { from: span.from, to: span.to };
        if let Some(from) = span.from.filter(|d| d.naive().day() != 1) {
            let next = first_of(from.naive())?.checked_add_months(chrono::Months::new(1))?;
            let head_end = next.pred_opt()?;
            let head_end = span.to.map_or(head_end, |t| t.naive().min(head_end));
            ends.push(Span { from: Some(from), to: Some(domain::Date::from_naive(head_end)) });
            months.from = Some(domain::Date::from_naive(next));
        }
        if let Some(to) = span.to.filter(|d| !last_of_month(*d)) {
            let start = first_of(to.naive())?;
            if months.from.is_none_or(|f| f.naive() <= start) {
                ends.push(Span { from: Some(domain::Date::from_naive(start)), to: Some(to) });
                months.to = start.pred_opt().map(domain::Date::from_naive);
            }
        }
        let inside = match (months.from, months.to) {
            (Some(f), Some(t)) => f <= t,
            _ => true,
        };
        (inside && self.plan(source, m, filters, Some(&months), by).is_some()).then_some((ends, months))
    }

    /// Evaluate a measure over a record set: from a rollup where one answers it, over the whole
    /// months of a span and from the records over its part months where that is what it takes,
    /// and from the records otherwise.
    pub async fn measure(
        &self,
        program_id: Option<i64>,
        source_name: &str,
        m: &Measure,
        filters: &[Filter],
        span: Option<&Span>,
    ) -> Result<i64> {
        if let Some((ends, months)) = self.cut_span(source_name, m, filters, span, None) {
            let mut total = self.measure_once(program_id, source_name, m, filters, Some(&months)).await?;
            for e in &ends {
                total += self.measure_once(program_id, source_name, m, filters, Some(e)).await?;
            }
            return Ok(total);
        }
        self.measure_once(program_id, source_name, m, filters, span).await
    }

    async fn measure_once(
        &self,
        program_id: Option<i64>,
        source_name: &str,
        m: &Measure,
        filters: &[Filter],
        span: Option<&Span>,
    ) -> Result<i64> {
        let plan = self.plan(source_name, m, filters, span, None);
        let (s, m, filters, span) = match &plan {
            Some(p) => (p.source, &p.measure, p.filters.as_slice(), None),
            None => (source(source_name)?, m, filters, span),
        };
        let agg = Self::aggregate(s, m)?;
        let mut sql = Sql { text: format!("SELECT {agg} FROM {}", s.from), params: Vec::new() };
        self.where_clause(s, m, program_id, filters, span, &mut sql).await?;
        sql.text = prune_left_joins(&sql.text);
        let row = bind_all_as(sqlx::query_as::<Any, (i64,)>(&sql.text), &sql.params).fetch_one(self.pool()).await?;
        Ok(row.0)
    }

    /// A measure over a record set, grouped by one of its fields: (the field's value, the measure)
    /// for every value that has records, in the value's order. An organization groups by its code.
    #[allow(clippy::too_many_arguments)]
    pub async fn measure_by(
        &self,
        program_id: Option<i64>,
        source_name: &str,
        m: &Measure,
        filters: &[Filter],
        span: Option<&Span>,
        by: &str,
    ) -> Result<Vec<(String, i64)>> {
        if let Some((ends, months)) = self.cut_span(source_name, m, filters, span, Some(by)) {
            let mut parts: BTreeMap<String, i64> = BTreeMap::new();
            for s in std::iter::once(&months).chain(&ends) {
                for (k, v) in self.measure_by_once(program_id, source_name, m, filters, Some(s), by).await? {
                    *parts.entry(k).or_default() += v;
                }
            }
            return Ok(parts.into_iter().collect());
        }
        self.measure_by_once(program_id, source_name, m, filters, span, by).await
    }

    #[allow(clippy::too_many_arguments)]
    async fn measure_by_once(
        &self,
        program_id: Option<i64>,
        source_name: &str,
        m: &Measure,
        filters: &[Filter],
        span: Option<&Span>,
        by: &str,
    ) -> Result<Vec<(String, i64)>> {
        let plan = self.plan(source_name, m, filters, span, Some(by));
        let (s, m, filters, span) = match &plan {
            Some(p) => (p.source, &p.measure, p.filters.as_slice(), None),
            None => (source(source_name)?, m, filters, span),
        };
        let agg = Self::aggregate(s, m)?;
        let key = group_key(field(s, by)?);
        let mut sql = Sql { text: format!("SELECT {key}, {agg} FROM {}", s.from), params: Vec::new() };
        self.where_clause(s, m, program_id, filters, span, &mut sql).await?;
        sql.text.push_str(&format!(" GROUP BY {key} ORDER BY {key}"));
        sql.text = prune_left_joins(&sql.text);
        let rows = bind_all_as(sqlx::query_as::<Any, (Option<String>, i64)>(&sql.text), &sql.params)
            .fetch_all(self.pool())
            .await?;
        Ok(rows.into_iter().map(|(k, v)| (k.unwrap_or_default(), v)).collect())
    }

    /// Any measure, exactly: a count or a sum as [`Store::measure`] gives it; a median or a 90th
    /// percentile of the records that have the value (nearest rank: always one of the values); a
    /// share in per cent of the records that have a value in the condition's field. `None` when a
    /// median, a percentile or a share has no record to be taken over.
    pub async fn measure_exact(
        &self,
        program_id: Option<i64>,
        source_name: &str,
        m: &Measure,
        filters: &[Filter],
        span: Option<&Span>,
    ) -> Result<Option<Exact>> {
        match m {
            Measure::Count | Measure::CountDistinct(_) | Measure::Sum(_) => {
                Ok(Some(Exact::int(i128::from(self.measure(program_id, source_name, m, filters, span).await?))))
            }
            _ => Ok(self.reduce(program_id, source_name, m, filters, span, None).await?.pop().map(|(_, v)| v)),
        }
    }

    /// [`Store::measure_exact`] grouped by one field of the source, for every value that has
    /// records, in the value's order.
    #[allow(clippy::too_many_arguments)]
    pub async fn measure_exact_by(
        &self,
        program_id: Option<i64>,
        source_name: &str,
        m: &Measure,
        filters: &[Filter],
        span: Option<&Span>,
        by: &str,
    ) -> Result<Vec<(String, Exact)>> {
        match m {
            Measure::Count | Measure::CountDistinct(_) | Measure::Sum(_) => Ok(self
                .measure_by(program_id, source_name, m, filters, span, by)
                .await?
                .into_iter()
                .map(|(k, v)| (k, Exact::int(i128::from(v))))
                .collect()),
            _ => self.reduce(program_id, source_name, m, filters, span, Some(by)).await,
        }
    }

    /// How many records a value is taken over: the rows of a count, a sum, a percentile (those
    /// with the value) or a share (those with a value in its field); the organizations of a
    /// distinct count.
    pub async fn measure_rows(
        &self,
        program_id: Option<i64>,
        source_name: &str,
        m: &Measure,
        filters: &[Filter],
        span: Option<&Span>,
    ) -> Result<i64> {
        match m {
            Measure::CountDistinct(_) => self.measure(program_id, source_name, m, filters, span).await,
            Measure::Count | Measure::Sum(_) => {
                self.measure(program_id, source_name, &Measure::Count, filters, span).await
            }
            _ => {
                let s = source(source_name)?;
                let mut sql = Sql { text: format!("SELECT COUNT(*) FROM {}", s.from), params: Vec::new() };
                self.where_clause(s, m, program_id, filters, span, &mut sql).await?;
                sql.text = prune_left_joins(&sql.text);
                let row =
                    bind_all_as(sqlx::query_as::<Any, (i64,)>(&sql.text), &sql.params).fetch_one(self.pool()).await?;
                Ok(row.0)
            }
        }
    }

    /// A median, a 90th percentile or a share, over the whole record set or per value of a field.
    /// A percentile reads the values in order (a consultation centre's year is thousands of rows)
    /// and takes the nearest rank of each group; a share is two counts of one statement.
    #[allow(clippy::too_many_arguments)]
    async fn reduce(
        &self,
        program_id: Option<i64>,
        source_name: &str,
        m: &Measure,
        filters: &[Filter],
        span: Option<&Span>,
        by: Option<&str>,
    ) -> Result<Vec<(String, Exact)>> {
        let s = source(source_name)?;
        let key = match by {
            Some(b) => group_key(field(s, b)?),
            None => "CAST('' AS TEXT)".to_string(),
        };
        let mut sql = Sql { text: String::new(), params: Vec::new() };
        if let Some((name, pct)) = m.percentile() {
            let e = sum_field(s, name)?;
            sql.text = format!("SELECT {key}, CAST({e} AS BIGINT) FROM {}", s.from);
            self.where_clause(s, m, program_id, filters, span, &mut sql).await?;
            sql.text.push_str(&format!(" ORDER BY {key}, {e}"));
            sql.text = prune_left_joins(&sql.text);
            let rows = bind_all_as(sqlx::query_as::<Any, (Option<String>, i64)>(&sql.text), &sql.params)
                .fetch_all(self.pool())
                .await?;
            let mut groups: BTreeMap<String, Vec<i64>> = BTreeMap::new();
            for (k, v) in rows {
                groups.entry(k.unwrap_or_default()).or_default().push(v);
            }
            return Ok(groups
                .into_iter()
                .filter_map(|(k, mut vs)| {
                    vs.sort_unstable();
                    domain::figures::nearest_rank(&vs, pct).map(|v| (k, Exact::int(i128::from(v))))
                })
                .collect());
        }
        let Measure::Share(flt) = m else {
            return Err(bad_spec("measure", "只有中位数、百分位数与占比在此计算".into()));
        };
        let cond = self.filter_cond(s, flt, &mut sql).await?;
        sql.text = format!(
            "SELECT {key}, COUNT(*), CAST(COALESCE(SUM(CASE WHEN {cond} THEN 1 ELSE 0 END), 0) AS BIGINT) FROM {}",
            s.from
        );
        self.where_clause(s, m, program_id, filters, span, &mut sql).await?;
        if by.is_some() {
            sql.text.push_str(&format!(" GROUP BY {key} ORDER BY {key}"));
        }
        sql.text = prune_left_joins(&sql.text);
        let rows = bind_all_as(sqlx::query_as::<Any, (Option<String>, i64, i64)>(&sql.text), &sql.params)
            .fetch_all(self.pool())
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(k, n, hit)| {
                Exact::new(i128::from(hit) * 100, i128::from(n)).map(|v| (k.unwrap_or_default(), v))
            })
            .collect())
    }

    /// The projects a scope selects, with what their schedule is judged by.
    pub async fn project_plans(
        &self,
        program_id: Option<i64>,
        filters: &[Filter],
        span: Option<&Span>,
    ) -> Result<Vec<ProjectPlan>> {
        self.plans(program_id, filters, span, None).await
    }

    /// One project's plan.
    pub async fn project_plan(&self, id: i64) -> Result<ProjectPlan> {
        let row: Option<PlanRow> =
            sqlx::query_as("SELECT id, code, name, status, planned_start, planned_end FROM projects WHERE id = $1")
                .bind(id)
                .fetch_optional(self.pool())
                .await?;
        Ok(plan_of(row.ok_or(crate::StoreError::NotFound { what: "项目", id: id.to_string() })?))
    }

    /// The projects a scope selects that may be off schedule on `today` (amber or red by
    /// `domain::warnings::schedule`): not completed, and either not started with its planned
    /// start come (or, with none, its planned end past), or under way within `near_days` (the
    /// program's threshold) of its planned end or past it. Every other project is green, so
    /// the board counts those and reads only these.
    pub async fn project_plans_due(
        &self,
        program_id: Option<i64>,
        filters: &[Filter],
        span: Option<&Span>,
        today: domain::Date,
        near_days: i64,
    ) -> Result<Vec<ProjectPlan>> {
        self.plans(program_id, filters, span, Some((today, near_days))).await
    }

    async fn plans(
        &self,
        program_id: Option<i64>,
        filters: &[Filter],
        span: Option<&Span>,
        due: Option<(domain::Date, i64)>,
    ) -> Result<Vec<ProjectPlan>> {
        let s = source("projects")?;
        let mut sql = Sql {
            text: format!(
                "SELECT pr.id, pr.code, pr.name, pr.status, pr.planned_start, pr.planned_end FROM {}",
                s.from
            ),
            params: Vec::new(),
        };
        self.where_clause(s, &Measure::Count, program_id, filters, span, &mut sql).await?;
        if let Some((today, near_days)) = due {
            let soon = today.naive() + chrono::Duration::days(near_days);
            let t = sql.param(P::T(today.to_string()));
            let t2 = sql.param(P::T(t_str(soon)));
            let join = if sql.text.contains(" WHERE ") { " AND " } else { " WHERE " };
            sql.text.push_str(&format!(
                "{join}pr.status NOT IN ('completed', 'accepted') AND ((pr.status = 'approved' AND \
                 (pr.planned_start <= {t} OR (pr.planned_start IS NULL AND pr.planned_end < {t}))) \
                 OR (pr.status <> 'approved' AND pr.planned_end <= {t2}))"
            ));
        }
        // Projects without a planned start last, on both backends (they order NULLs differently).
        sql.text.push_str(" ORDER BY (pr.planned_start IS NULL), pr.planned_start, pr.id");
        sql.text = prune_left_joins(&sql.text);
        let rows = bind_all_as(
            sqlx::query_as::<Any, (i64, String, String, String, Option<String>, Option<String>)>(&sql.text),
            &sql.params,
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(plan_of).collect())
    }

    /// The records a measure counts or sums, each with its contribution.
    pub async fn measure_records(
        &self,
        program_id: Option<i64>,
        source_name: &str,
        m: &Measure,
        filters: &[Filter],
        span: Option<&Span>,
        limit: i64,
    ) -> Result<Vec<RecordRef>> {
        let s = source(source_name)?;
        let (_, value) = Self::measure_expr(s, m)?;
        let date = s.date.unwrap_or("NULL");
        // A distinct count opens to the organizations counted, each once, with its first date.
        let (table, mut sql, order) = match m {
            Measure::CountDistinct(name) => {
                let fd = distinct_field(s, name)?;
                let Org { name: org_name, .. } = fd.kind else {
                    return Err(bad_spec("measure", format!("“{name}”不是单位字段")));
                };
                let first = s.date.map_or("CAST(NULL AS TEXT)".to_string(), |d| format!("MIN({d})"));
                let text =
                    format!("SELECT {e}, MIN({org_name}), {first}, CAST(1 AS BIGINT) FROM {}", s.from, e = fd.expr);
                ("organizations", Sql { text, params: Vec::new() }, Some(fd.expr))
            }
            _ => {
                let text = format!("SELECT {}, {}, {date}, CAST({value} AS BIGINT) FROM {}", s.id, s.label, s.from);
                (s.table, Sql { text, params: Vec::new() }, None)
            }
        };
        self.where_clause(s, m, program_id, filters, span, &mut sql).await?;
        let ph = sql.param(P::I(limit));
        match order {
            Some(e) => sql.text.push_str(&format!(" GROUP BY {e} ORDER BY {e} LIMIT {ph}")),
            None => sql.text.push_str(&format!(" ORDER BY {} LIMIT {ph}", s.id)),
        }
        sql.text = prune_left_joins(&sql.text);
        let rows = bind_all_as(
            sqlx::query_as::<Any, (i64, Option<String>, Option<String>, Option<i64>)>(&sql.text),
            &sql.params,
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, label, date, value)| RecordRef {
                table: table.to_string(),
                id,
                label: label.unwrap_or_default(),
                date,
                value: value.unwrap_or(0),
            })
            .collect())
    }

    pub async fn indicator_def(&self, code: &str) -> Result<IndicatorDefRow> {
        let r = sqlx::query(
            "SELECT code, name, unit, scale, combine, numerator, denominator, factor FROM indicator_defs WHERE code = $1",
        )
        .bind(code.to_string())
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound { what: "指标", id: code.to_string() })?;
        Ok(IndicatorDefRow {
            code: r.try_get(0)?,
            name: r.try_get(1)?,
            unit: r.try_get(2)?,
            scale: r.try_get(3)?,
            combine: r.try_get(4)?,
            numerator: r.try_get(5)?,
            denominator: r.try_get(6)?,
            factor: r.try_get(7)?,
        })
    }

    /// Values of an indicator for an organization and everything under it, in the given periods.
    pub async fn indicator_values(&self, code: &str, org_code: &str, periods: &[Period]) -> Result<Vec<IndicatorRow>> {
        let path = self.org_path(org_code).await?;
        let mut sql = Sql {
            text: "SELECT iv.id, iv.indicator_code, iv.org_id, o.name, iv.period, iv.value FROM indicator_values iv \
                   JOIN organizations o ON o.id = iv.org_id WHERE "
                .into(),
            params: Vec::new(),
        };
        let p1 = sql.param(P::T(code.to_string()));
        let p2 = sql.param(P::T(format!("{path}%")));
        let phs: Vec<String> = periods.iter().map(|p| sql.param(P::T(p.to_string()))).collect();
        sql.text.push_str(&format!("iv.indicator_code = {p1} AND o.path LIKE {p2}"));
        if !phs.is_empty() {
            sql.text.push_str(&format!(" AND iv.period IN ({})", phs.join(", ")));
        }
        sql.text.push_str(" ORDER BY iv.period, iv.org_id");
        let rows = bind_all_as(sqlx::query_as::<Any, (i64, String, i64, String, String, i64)>(&sql.text), &sql.params)
            .fetch_all(self.pool())
            .await?;
        Ok(rows
            .into_iter()
            .map(|(id, indicator, org_id, org_name, period, value)| IndicatorRow {
                id,
                indicator,
                org_id,
                org_name,
                period,
                value,
            })
            .collect())
    }

    /// An indicator over an organization and everything under it, per period (all periods, or
    /// the given ones): how many values, their sum, least and greatest, counted by the database.
    pub async fn indicator_totals(
        &self,
        code: &str,
        org_code: &str,
        periods: &[Period],
    ) -> Result<Vec<IndicatorTotal>> {
        let path = self.org_path(org_code).await?;
        let mut sql = Sql {
            text: "SELECT iv.period, COUNT(*), CAST(SUM(iv.value) AS BIGINT), MIN(iv.value), MAX(iv.value) \
                   FROM indicator_values iv WHERE "
                .into(),
            params: Vec::new(),
        };
        let p1 = sql.param(P::T(code.to_string()));
        let p2 = sql.param(P::T(format!("{path}%")));
        let phs: Vec<String> = periods.iter().map(|p| sql.param(P::T(p.to_string()))).collect();
        // The subtree's organizations first (a few thousand rows at most), then each one's values
        // through the (indicator, organization, period) key, rather than every value of the
        // indicator joined to its organization.
        sql.text.push_str(&format!(
            "iv.indicator_code = {p1} AND iv.org_id IN (SELECT o.id FROM organizations o WHERE o.path LIKE {p2})"
        ));
        if !phs.is_empty() {
            sql.text.push_str(&format!(" AND iv.period IN ({})", phs.join(", ")));
        }
        sql.text.push_str(" GROUP BY iv.period ORDER BY iv.period");
        let rows = bind_all_as(sqlx::query_as::<Any, (String, i64, i64, i64, i64)>(&sql.text), &sql.params)
            .fetch_all(self.pool())
            .await?;
        Ok(rows.into_iter().map(|(period, n, sum, min, max)| IndicatorTotal { period, n, sum, min, max }).collect())
    }

    /// Every figure definition, ordered by key.
    pub async fn figure_defs(&self) -> Result<Vec<FigureDef>> {
        let rows: Vec<(String, String, String, String, i64, String, String)> =
            sqlx::query_as("SELECT key, name, line, unit, decimals, description, spec FROM figure_defs ORDER BY key")
                .fetch_all(self.pool())
                .await?;
        rows.into_iter()
            .map(|(key, name, line, unit, decimals, description, spec)| {
                Ok(FigureDef {
                    key,
                    name,
                    line,
                    unit,
                    decimals: decimals as u32,
                    description,
                    spec: serde_json::from_str(&spec)?,
                })
            })
            .collect()
    }
}
