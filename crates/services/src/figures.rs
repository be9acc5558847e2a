//! The figure engine: evaluates figure definitions over the records, exactly, and lists the
//! records behind each value. The dashboard, reports, exports, the API and `counterpart figures`
//! all call this and nothing else, so a figure never differs between two screens.

use crate::error::{Result, ServiceError};
use domain::figures::{Across, CompareHow, Exact, FigureDef, Measure, Spec};
use domain::indicators::Period;
use serde::Serialize;
use store::figures::{IndicatorRow, RecordRef};
use store::{Store, StoreError};

/// A computed figure.
#[derive(Debug, Clone, Serialize)]
pub struct FigureValue {
    pub key: String,
    pub name: String,
    pub line: String,
    pub unit: String,
    pub decimals: u32,
    /// Exact value, before display rounding.
    pub exact: Exact,
    /// Rounded half-up to `decimals`.
    pub display: String,
    /// The rounded value as a number (what `figures --json` prints); `null` when empty.
    pub value: f64,
    /// A median, a percentile or a share with no record to be taken over (a year without
    /// consultations): it has no value — shown as "—", `exact` 0 and `value` null —, and is not a
    /// failure of its definition.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub empty: bool,
    /// UTC time of computation, RFC 3339.
    pub computed_at: String,
}

/// A figure that could not be computed, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Failed {
    pub key: String,
    pub name: String,
    pub line: String,
    pub message: String,
}

/// Every figure of the database: those computed and those that could not be.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Board {
    pub values: Vec<FigureValue>,
    pub failed: Vec<Failed>,
}

/// The records a figure value came from.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Provenance {
    Records { records: Vec<RecordRef> },
    Indicator { values: Vec<IndicatorRow> },
}

/// A period and a scope (a place subtree, an organization subtree) that confine breakdowns and
/// reports: for each record set, which field is "the place" and which "the organization".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scope {
    pub from: Option<domain::Date>,
    pub to: Option<domain::Date>,
    pub place: Option<domain::regions::RegionCode>,
    /// An organization's code.
    pub org: Option<String>,
    /// A line of work (`people::LINES`): projects and funds by their sector, people and
    /// activities by their line. Pairings have no line and are not confined by it.
    pub line: Option<String>,
}

impl Scope {
    /// The filters and span that confine `source` to this scope. Funding lines have no date: a
    /// period selects them by year.
    pub fn filters(&self, source: &str) -> (Vec<domain::figures::Filter>, Option<domain::figures::Span>) {
        use domain::figures::{Filter, FilterOp, FilterValue, Span};
        let (place_field, org_field) = match source {
            "people" => ("host_region", "host_org"),
            "pairings" => ("b_region", "b_org"),
            "activities" | "activity_procedures" => ("region", "organizer"),
            // A consultation's place and organization are the requesting hospital's.
            "imaging_requests" | "imaging_critical" => ("region", "requester"),
            _ => ("region", "org"),
        };
        let mut f = Vec::new();
        if let Some(p) = &self.place {
            f.push(Filter::under(place_field, &p.to_string()));
        }
        if let Some(o) = self.org.as_deref().filter(|o| !o.is_empty()) {
            f.push(Filter::under(org_field, o));
        }
        if let Some(l) = self.line.as_deref().filter(|l| !l.is_empty()) {
            match source {
                "projects" | "project_funding" | "project_outputs" => f.push(Filter::eq("sector", l)),
                "people" | "activities" | "activity_procedures" | "imaging_requests" | "imaging_critical" => {
                    f.push(Filter::eq("line", l))
                }
                _ => {}
            }
        }
        let span = if source == "project_funding" {
            if let Some(d) = self.from {
                f.push(Filter::ge("year", d.year() as i64));
            }
            if let Some(d) = self.to {
                f.push(Filter { field: "year".into(), op: FilterOp::Le, value: FilterValue::Int(d.year() as i64) });
            }
            None
        } else {
            (self.from.is_some() || self.to.is_some()).then_some(Span { from: self.from, to: self.to })
        };
        (f, span)
    }
}

/// A project with its schedule light and the reason for it.
#[derive(Debug, Clone)]
pub struct Flagged {
    pub project: store::figures::ProjectPlan,
    pub light: domain::projects::Schedule,
    pub reason_zh: &'static str,
    pub reason_en: &'static str,
}

pub struct Engine<'a> {
    store: &'a Store,
    program_id: Option<i64>,
}

impl<'a> Engine<'a> {
    /// An engine over all programs in the database.
    pub fn new(store: &'a Store) -> Engine<'a> {
        Engine { store, program_id: None }
    }

    /// An engine scoped to one program.
    pub fn for_program(store: &'a Store, program_id: i64) -> Engine<'a> {
        Engine { store, program_id: Some(program_id) }
    }

    pub async fn definitions(&self) -> Result<Vec<FigureDef>> {
        Ok(self.store.figure_defs().await?)
    }

    pub async fn definition(&self, key: &str) -> Result<FigureDef> {
        self.definitions()
            .await?
            .into_iter()
            .find(|d| d.key == key)
            .ok_or_else(|| ServiceError::UnknownFigure(key.into()))
    }

    /// Every figure defined in the database. A figure that cannot be computed (a definition
    /// gone wrong, a period with no values) is reported in `failed` and does not hide the others.
    pub async fn all(&self) -> Result<Board> {
        let mut board = Board::default();
        for def in self.definitions().await? {
            match self.evaluate(&def).await {
                Ok(v) => board.values.push(v),
                Err(e) => {
                    // Readers see why a definition cannot be computed, never database internals.
                    let message = match &e {
                        ServiceError::Definition { .. }
                        | ServiceError::UnknownFigure(_)
                        | ServiceError::Store(StoreError::Invalid(_) | StoreError::NotFound { .. }) => e.to_string(),
                        _ => {
                            tracing::error!(figure = %def.key, error = %e, "figure could not be computed");
                            "系统内部错误，详见服务日志".to_string()
                        }
                    };
                    board.failed.push(Failed {
                        key: def.key.clone(),
                        name: def.name.clone(),
                        line: def.line.clone(),
                        message,
                    })
                }
            }
        }
        Ok(board)
    }

    pub async fn evaluate(&self, def: &FigureDef) -> Result<FigureValue> {
        let (exact, empty) = match self.exact(def).await? {
            Some(e) => (e, false),
            None => (Exact::int(0), true),
        };
        let display = if empty { "—".to_string() } else { exact.display(def.decimals) };
        Ok(FigureValue {
            empty,
            key: def.key.clone(),
            name: def.name.clone(),
            line: def.line.clone(),
            unit: def.unit.clone(),
            decimals: def.decimals,
            exact,
            value: if empty { f64::NAN } else { display.parse().unwrap_or(f64::NAN) },
            display,
            computed_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        })
    }

    fn bad(def: &FigureDef, why: impl Into<String>) -> ServiceError {
        ServiceError::Definition { key: def.key.clone(), why: why.into() }
    }

    /// The exact value; `None` for a median, a percentile or a share with no record to take it over.
    async fn exact(&self, def: &FigureDef) -> Result<Option<Exact>> {
        match &def.spec {
            Spec::Records { source, measure, filters, span, divisor, counted } => {
                let filters = &counted_filters(source, filters, *counted);
                let Some(v) =
                    self.store.measure_exact(self.program_id, source, measure, filters, span.as_ref()).await?
                else {
                    return Ok(None);
                };
                v.checked_div(Exact::int(*divisor as i128)).ok_or_else(|| Self::bad(def, "除数为 0")).map(Some)
            }
            Spec::Indicator { indicator, org, periods, across, compare, divisor } => {
                let first = periods.first().ok_or_else(|| Self::bad(def, "未指定统计期"))?;
                let v = match compare {
                    Some(c) => {
                        if periods.len() != 1 {
                            return Err(Self::bad(def, "比较只能针对一个统计期"));
                        }
                        let now = self.indicator(def, indicator, org, first).await?;
                        let base = self.indicator(def, indicator, org, &c.base).await?;
                        match c.how {
                            CompareHow::Diff => now.minus(base),
                            CompareHow::PctChange => now
                                .minus(base)
                                .checked_div(base)
                                .ok_or_else(|| Self::bad(def, "基期值为 0，无法计算增幅"))?
                                .mul_int(100),
                        }
                    }
                    None => {
                        let mut vals = Vec::new();
                        for p in periods {
                            vals.push(self.indicator(def, indicator, org, p).await?);
                        }
                        match across {
                            Across::Only if vals.len() == 1 => vals[0],
                            Across::Only => return Err(Self::bad(def, "多个统计期须指定合并方式")),
                            Across::Min => vals.iter().copied().min().unwrap_or(Exact::int(0)),
                            Across::Max => vals.iter().copied().max().unwrap_or(Exact::int(0)),
                            // The value of the latest period, whatever order the periods were listed in.
                            Across::Last => periods
                                .iter()
                                .zip(vals.iter())
                                .max_by_key(|(p, _)| p.end())
                                .map_or(Exact::int(0), |(_, v)| *v),
                            Across::Sum => vals.iter().fold(Exact::int(0), |a, b| a.plus(*b)),
                            Across::Avg => vals
                                .iter()
                                .fold(Exact::int(0), |a, b| a.plus(*b))
                                .checked_div(Exact::int(vals.len() as i128))
                                .unwrap_or(Exact::int(0)),
                        }
                    }
                };
                v.checked_div(Exact::int(*divisor as i128)).ok_or_else(|| Self::bad(def, "除数为 0")).map(Some)
            }
        }
    }

    /// A record figure broken down by one field of its source: (value of the field, exact
    /// figure) for each value that has records. The parts of a count or a sum add up to the
    /// figure itself (a median, a percentile or a share is taken in each part), and each
    /// part is the figure with one more filter (`field = value`), so it opens to its records.
    pub async fn breakdown(&self, def: &FigureDef, by: &str) -> Result<Vec<(String, Exact)>> {
        let Spec::Records { source, measure, filters, span, divisor, counted } = &def.spec else {
            return Err(Self::bad(def, "只有记录类指标可以分类统计"));
        };
        let filters = &counted_filters(source, filters, *counted);
        let rows = self.store.measure_exact_by(self.program_id, source, measure, filters, span.as_ref(), by).await?;
        rows.into_iter()
            .map(|(k, v)| {
                Ok((k, v.checked_div(Exact::int(*divisor as i128)).ok_or_else(|| Self::bad(def, "除数为 0"))?))
            })
            .collect()
    }

    /// How many records (or indicator values) a value was computed from: the rows a count or a
    /// sum ran over; for a distinct count, the organizations it counted.
    pub async fn record_count(&self, def: &FigureDef) -> Result<i64> {
        match &def.spec {
            Spec::Records { source, measure, filters, span, counted, .. } => {
                let filters = &counted_filters(source, filters, *counted);
                Ok(self.store.measure_rows(self.program_id, source, measure, filters, span.as_ref()).await?)
            }
            Spec::Indicator { .. } => match self.provenance(def, 100_000).await? {
                Provenance::Indicator { values } => Ok(values.len() as i64),
                Provenance::Records { records } => Ok(records.len() as i64),
            },
        }
    }

    /// An indicator of an organization subtree in each period that has values, in order.
    pub async fn indicator_series(&self, def: &FigureDef, code: &str, org: &str) -> Result<Vec<(Period, Exact)>> {
        let mut out: Vec<(Period, Exact)> = self.series(def, code, org, &[]).await?.into_iter().collect();
        out.sort_by_key(|(p, _)| p.end());
        Ok(out)
    }

    /// An indicator of an organization subtree per period (all periods with values, or the
    /// given ones), each reduced by the database; a ratio is its numerator's series over its
    /// denominator's, a period whose denominator is missing or 0 left out.
    async fn series(
        &self,
        def: &FigureDef,
        code: &str,
        org: &str,
        periods: &[Period],
    ) -> Result<std::collections::BTreeMap<Period, Exact>> {
        let d = self.store.indicator_def(code).await?;
        let mut out = std::collections::BTreeMap::new();
        if d.combine == "ratio" {
            let (num, den) = match (&d.numerator, &d.denominator) {
                (Some(n), Some(dn)) => (n.clone(), dn.clone()),
                _ => return Err(Self::bad(def, format!("比率指标 {code} 缺少分子或分母"))),
            };
            let n = Box::pin(self.series(def, &num, org, periods)).await?;
            let dv = Box::pin(self.series(def, &den, org, periods)).await?;
            for (p, nv) in n {
                if let Some(r) = dv.get(&p).and_then(|dv| nv.checked_div(*dv)) {
                    out.insert(p, r.mul_int(d.factor as i128));
                }
            }
            return Ok(out);
        }
        let scale = 10i128.pow(d.scale.clamp(0, 12) as u32);
        for t in self.store.indicator_totals(code, org, periods).await? {
            let Ok(p) = Period::parse(&t.period) else { continue };
            let raw = match d.combine.as_str() {
                "avg" => Exact::new(t.sum as i128, t.n as i128),
                "min" => Exact::new(t.min as i128, 1),
                "max" => Exact::new(t.max as i128, 1),
                // "sum", and "last" (a stock such as beds: within one period the organizations
                // add up; across periods a figure takes the latest with `Across::Last`)
                _ => Exact::new(t.sum as i128, 1),
            }
            .unwrap_or(Exact::int(0));
            out.insert(p, raw.checked_div(Exact::int(scale)).unwrap_or(raw));
        }
        Ok(out)
    }

    /// The board of a scope's schedule lights on `today`: the projects that are amber or red,
    /// red first, and how many are green. Only the projects that may be off schedule are read
    /// (`Store::project_plans_due`); the green ones are counted.
    pub async fn schedule_board(
        &self,
        today: domain::Date,
        filters: &[domain::figures::Filter],
        span: Option<&domain::figures::Span>,
    ) -> Result<(Vec<Flagged>, usize)> {
        let all = self.store.measure(self.program_id, "projects", &Measure::Count, filters, span).await?;
        let t = self.thresholds().await?;
        let due = self.store.project_plans_due(self.program_id, filters, span, today, t.end_near_days).await?;
        let mut flagged = judged(&t, today, due);
        flagged.retain(|f| f.light != domain::projects::Schedule::Green);
        let green = usize::try_from(all).unwrap_or(0).saturating_sub(flagged.len());
        Ok((flagged, green))
    }

    /// The projects of a scope with their light on `today` (红黄绿灯), red first.
    pub async fn schedule(
        &self,
        today: domain::Date,
        filters: &[domain::figures::Filter],
        span: Option<&domain::figures::Span>,
    ) -> Result<Vec<Flagged>> {
        let t = self.thresholds().await?;
        Ok(judged(&t, today, self.store.project_plans(self.program_id, filters, span).await?))
    }

    /// The warning thresholds of the engine's program (of the default program when it has none).
    pub async fn thresholds(&self) -> Result<domain::warnings::Thresholds> {
        let program = match self.program_id {
            Some(p) => p,
            None => self.store.default_program().await?.get(),
        };
        Ok(self.store.warning_thresholds(program).await?)
    }

    /// The value of an indicator for an organization subtree in one period.
    async fn indicator(&self, def: &FigureDef, code: &str, org: &str, period: &Period) -> Result<Exact> {
        let d = self.store.indicator_def(code).await?;
        if d.combine == "ratio" {
            let (num, den) = match (&d.numerator, &d.denominator) {
                (Some(n), Some(dn)) => (n.clone(), dn.clone()),
                _ => return Err(Self::bad(def, format!("比率指标 {code} 缺少分子或分母"))),
            };
            let n = Box::pin(self.indicator(def, &num, org, period)).await?;
            let dv = Box::pin(self.indicator(def, &den, org, period)).await?;
            return n
                .checked_div(dv)
                .map(|r| r.mul_int(d.factor as i128))
                .ok_or_else(|| Self::bad(def, format!("{code} 在 {period} 的分母为 0")));
        }
        self.series(def, code, org, std::slice::from_ref(period))
            .await?
            .remove(period)
            .ok_or_else(|| Self::bad(def, format!("指标 {code} 在 {period} 没有填报值")))
    }

    /// The records behind a figure's value (at most `limit`).
    pub async fn provenance(&self, def: &FigureDef, limit: i64) -> Result<Provenance> {
        match &def.spec {
            Spec::Records { source, measure, filters, span, counted, .. } => {
                let filters = &counted_filters(source, filters, *counted);
                Ok(Provenance::Records {
                    records: self
                        .store
                        .measure_records(self.program_id, source, measure, filters, span.as_ref(), limit)
                        .await?,
                })
            }
            Spec::Indicator { indicator, org, periods, compare, .. } => {
                let mut ps: Vec<Period> = periods.clone();
                if let Some(c) = compare {
                    ps.push(c.base.clone());
                }
                let d = self.store.indicator_def(indicator).await?;
                let mut values = Vec::new();
                let codes: Vec<String> = match (d.numerator, d.denominator) {
                    (Some(n), Some(dn)) if d.combine == "ratio" => vec![n, dn],
                    _ => vec![indicator.clone()],
                };
                for c in codes {
                    values.extend(self.store.indicator_values(&c, org, &ps).await?);
                }
                Ok(Provenance::Indicator { values })
            }
        }
    }
}

/// A definition's filters with the review states it counts, for a source that passes through
/// review (`review` in (审核通过, 已汇总) by default): the one place every evaluation, breakdown,
/// count and listing of the engine adds them, so that none of them differs from another.
pub fn counted_filters(
    source: &str,
    filters: &[domain::figures::Filter],
    counted: domain::reporting::Counted,
) -> Vec<domain::figures::Filter> {
    let mut out = filters.to_vec();
    if domain::reporting::REVIEWED_SOURCES.contains(&source) {
        out.push(domain::figures::Filter::any("review", &counted.codes()));
    }
    out
}

/// Projects with their light on `today`, red first.
pub fn judged(
    t: &domain::warnings::Thresholds,
    today: domain::Date,
    plans: Vec<store::figures::ProjectPlan>,
) -> Vec<Flagged> {
    let mut out: Vec<Flagged> = plans
        .into_iter()
        .map(|p| {
            let (light, _, zh, en) = domain::warnings::schedule(t, today, &p.status, p.planned_start, p.planned_end);
            Flagged { project: p, light, reason_zh: zh, reason_en: en }
        })
        .collect();
    out.sort_by_key(|f| f.light);
    out
}
