//! The reporting cycle (报送审核): reporting periods with deadlines, the review states of a
//! reported record, the review chain's levels, and which states a figure counts. No I/O: the
//! store decides where an actor stands (author, or acting at which levels of the chain) and
//! this module decides what that standing may do in each state.
//!
//! A record of a reviewed kind goes 草稿 → 已上报 (locked for its author) → 审核中 → 退回修改
//! (reason required, back to the author) or 审核通过 at a level of the chain; the next level
//! up then consolidates it (已汇总) or returns it. The chain (recipient unit or donor body →
//! county → front command → province) is configuration: levels `1..=top`, each acted at by
//! organizations (`review_chain`); level 0 is the reporting unit itself.

use crate::values::has_control;
use crate::{Date, Invalid};
use serde::{Deserialize, Serialize};

/// Record kinds that pass through review, with the date column that places a record in a
/// reporting period.
pub const REVIEWED: &[(&str, &str)] = &[("activities", "date")];

/// The figure engine's record sets whose rows pass through review (an activity's procedures
/// count with their activity); each has the field `review`.
pub const REVIEWED_SOURCES: &[&str] = &["activities", "activity_procedures"];

/// The date column of a reviewed table.
/// The Chinese name of a reported kind.
pub fn kind_zh(kind: &str) -> &'static str {
    match kind {
        "activities" => "交流交往活动",
        _ => "报表",
    }
}

pub fn reviewed_date(table: &str) -> Option<&'static str> {
    REVIEWED.iter().find(|(t, _)| *t == table).map(|(_, d)| *d)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Draft,
    Submitted,
    InReview,
    Returned,
    Approved,
    Consolidated,
}

pub const STATES: &[(State, &str, &str)] = &[
    (State::Draft, "draft", "草稿"),
    (State::Submitted, "submitted", "已上报"),
    (State::InReview, "in_review", "审核中"),
    (State::Returned, "returned", "退回修改"),
    (State::Approved, "approved", "审核通过"),
    (State::Consolidated, "consolidated", "已汇总"),
];

impl State {
    pub fn parse(s: &str) -> Option<State> {
        STATES.iter().find(|(_, c, z)| *c == s.trim() || *z == s.trim()).map(|(st, _, _)| *st)
    }
    pub fn code(self) -> &'static str {
        STATES.iter().find(|(s, _, _)| *s == self).map_or("draft", |(_, c, _)| c)
    }
    pub fn zh(self) -> &'static str {
        STATES.iter().find(|(s, _, _)| *s == self).map_or("草稿", |(_, _, z)| z)
    }
    /// May its author still change it (草稿, 退回修改)?
    pub fn editable(self) -> bool {
        matches!(self, State::Draft | State::Returned)
    }
}

/// Which states a figure counts: by default approved records only (审核通过, 已汇总); the
/// switch includes those reported and not yet approved (已上报, 审核中).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Counted {
    #[default]
    Approved,
    Submitted,
}

impl Counted {
    pub fn is_default(&self) -> bool {
        *self == Counted::Approved
    }
    pub fn states(self) -> &'static [State] {
        match self {
            Counted::Approved => &[State::Approved, State::Consolidated],
            Counted::Submitted => &[State::Submitted, State::InReview, State::Approved, State::Consolidated],
        }
    }
    pub fn codes(self) -> Vec<&'static str> {
        self.states().iter().map(|s| s.code()).collect()
    }
    /// What a report says of the figure (口径).
    pub fn zh(self) -> &'static str {
        match self {
            Counted::Approved => "仅统计审核通过（含已汇总）的记录",
            Counted::Submitted => "统计已上报、审核中、审核通过及已汇总的记录",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// 上报: the author hands the record to the first level.
    Submit,
    /// 开始审核: the level holding it takes it up.
    Start,
    /// 退回修改, with a reason: the level holding it, or the level above an approved one.
    Return,
    /// 审核通过 at the level holding it.
    Approve,
    /// 汇总: the level above takes an approved record into its consolidation.
    Consolidate,
}

pub const ACTIONS: &[(Action, &str, &str)] = &[
    (Action::Submit, "submit", "上报"),
    (Action::Start, "start", "开始审核"),
    (Action::Return, "return", "退回修改"),
    (Action::Approve, "approve", "审核通过"),
    (Action::Consolidate, "consolidate", "汇总"),
];

impl Action {
    pub fn parse(s: &str) -> Option<Action> {
        ACTIONS.iter().find(|(_, c, z)| *c == s.trim() || *z == s.trim()).map(|(a, _, _)| *a)
    }
    pub fn code(self) -> &'static str {
        ACTIONS.iter().find(|(a, _, _)| *a == self).map_or("submit", |(_, c, _)| c)
    }
    pub fn zh(self) -> &'static str {
        ACTIONS.iter().find(|(a, _, _)| *a == self).map_or("上报", |(_, _, z)| z)
    }
}

/// Where an actor stands towards one record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Standing {
    /// A writer whose scope holds the record's reporting unit.
    pub author: bool,
    /// The chain levels at which the actor's organization acts for this record.
    pub levels: Vec<u32>,
}

/// The review position of a record: its state and the level that holds it (0: its author).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub state: State,
    pub level: u32,
}

/// The reason of a return: required, at most 500 characters, no control characters.
pub fn reason(s: Option<&str>) -> Result<String, Invalid> {
    let t = s.unwrap_or("").trim();
    let bad = |m: &str| Invalid::new("reason", "退回原因", "退回时必须说明原因（不超过 500 字）", m);
    if t.is_empty() {
        return Err(bad("未填写退回原因"));
    }
    if t.chars().count() > 500 || has_control(t) {
        return Err(bad("退回原因超过 500 字或含控制字符"));
    }
    Ok(t.to_string())
}

/// One step of the state machine. `first` is the first level above the record's unit (the
/// store skips levels at which the unit would review itself); `top` the chain's last level.
/// Returns the new position, or a refusal in Chinese naming the state and the rule.
pub fn step(at: Position, action: Action, who: &Standing, first: Option<u32>, top: u32) -> Result<Position, String> {
    let here = |l: u32| who.levels.contains(&l);
    let state = at.state.zh();
    match action {
        Action::Submit => {
            if !who.author {
                return Err("只有记录的填报单位可以上报".into());
            }
            if !at.state.editable() {
                return Err(format!("记录处于“{state}”状态，不能再次上报"));
            }
            let level = first.ok_or("本项目未配置审核层级，无法上报")?;
            Ok(Position { state: State::Submitted, level })
        }
        Action::Start | Action::Approve => {
            if !matches!(at.state, State::Submitted | State::InReview)
                || (action == Action::Start && at.state == State::InReview)
            {
                return Err(format!("记录处于“{state}”状态，不能{}", action.zh()));
            }
            if !here(at.level) {
                return Err(format!("只有第 {} 级审核单位可以{}", at.level, action.zh()));
            }
            let next = if action == Action::Start { State::InReview } else { State::Approved };
            Ok(Position { state: next, level: at.level })
        }
        Action::Return => match at.state {
            State::Submitted | State::InReview if here(at.level) => Ok(Position { state: State::Returned, level: 0 }),
            State::Approved | State::Consolidated if at.level < top && here(at.level + 1) => {
                Ok(Position { state: State::Returned, level: 0 })
            }
            State::Submitted | State::InReview => Err(format!("只有第 {} 级审核单位可以退回", at.level)),
            State::Approved | State::Consolidated if at.level < top => {
                Err(format!("只有第 {} 级单位可以退回已审核通过的记录", at.level + 1))
            }
            _ => Err(format!("记录处于“{state}”状态，不能退回")),
        },
        Action::Consolidate => {
            if !matches!(at.state, State::Approved | State::Consolidated) {
                return Err(format!("记录处于“{state}”状态，须先审核通过才能汇总"));
            }
            if at.level >= top {
                return Err("记录已在最高一级，无需再汇总".into());
            }
            if !here(at.level + 1) {
                return Err(format!("只有第 {} 级单位可以汇总", at.level + 1));
            }
            Ok(Position { state: State::Consolidated, level: at.level + 1 })
        }
    }
}

/// How often a kind of record is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Frequency {
    Monthly,
    Quarterly,
    Yearly,
}

pub const FREQUENCIES: &[(Frequency, &str, &str)] = &[
    (Frequency::Monthly, "monthly", "月报"),
    (Frequency::Quarterly, "quarterly", "季报"),
    (Frequency::Yearly, "yearly", "年报"),
];

impl Frequency {
    pub fn parse(s: &str) -> Result<Frequency, Invalid> {
        FREQUENCIES.iter().find(|(_, c, z)| *c == s.trim() || *z == s.trim()).map(|(f, _, _)| *f).ok_or_else(|| {
            Invalid::new("frequency", "报送频率", "月报、季报或年报", format!("“{}”不是报送频率", s.trim()))
        })
    }
    pub fn code(self) -> &'static str {
        FREQUENCIES.iter().find(|(f, _, _)| *f == self).map_or("monthly", |(_, c, _)| c)
    }
    pub fn zh(self) -> &'static str {
        FREQUENCIES.iter().find(|(f, _, _)| *f == self).map_or("月报", |(_, _, z)| z)
    }
}

/// A reporting period to open: its kind, its code (2026-11, 2026-Q4, 2026) matching the
/// frequency, its first and last days, and its deadline (on or after the last day).
#[derive(Debug, Clone, PartialEq)]
pub struct NewPeriod {
    pub kind: &'static str,
    pub code: String,
    pub start: Date,
    pub end: Date,
    pub deadline: Date,
}

impl NewPeriod {
    /// Parse the form of a new period; every refusal names its field.
    pub fn parse(kind: &str, frequency: Frequency, code: &str, deadline: &str) -> Result<NewPeriod, Invalid> {
        let kind = REVIEWED.iter().find(|(t, _)| *t == kind.trim()).map(|(t, _)| *t).ok_or_else(|| {
            Invalid::new(
                "kind",
                "报送内容",
                "须为需审核的记录类型（活动）",
                format!("“{}”不是需报送审核的记录类型", kind.trim()),
            )
        })?;
        let p = crate::indicators::Period::parse(code)?;
        let t = p.as_str();
        let fits = match frequency {
            Frequency::Monthly => t.len() == 7 && !t.contains('Q'),
            Frequency::Quarterly => t.contains('Q'),
            Frequency::Yearly => t.len() == 4,
        };
        if !fits {
            return Err(Invalid::new(
                "period",
                "统计期",
                format!(
                    "{}的统计期写作 {}",
                    frequency.zh(),
                    match frequency {
                        Frequency::Monthly => "YYYY-MM",
                        Frequency::Quarterly => "YYYY-Qn",
                        Frequency::Yearly => "YYYY",
                    }
                ),
                format!("“{t}”与报送频率不符"),
            ));
        }
        let (y, last_month) = p.end();
        let first_month = match frequency {
            Frequency::Monthly => last_month,
            Frequency::Quarterly => last_month - 2,
            Frequency::Yearly => 1,
        };
        let bad = || Invalid::new("period", "统计期", "有效的年、季或月", format!("“{t}”不是有效的统计期"));
        let start = Date::ymd(y, first_month, 1).ok_or_else(bad)?;
        let next = if last_month == 12 { Date::ymd(y + 1, 1, 1) } else { Date::ymd(y, last_month + 1, 1) };
        let end = next.and_then(|d| d.naive().pred_opt()).map(Date::from_naive).ok_or_else(bad)?;
        let deadline = crate::values::date_field("deadline", "截止日期", deadline)?;
        if deadline < end {
            return Err(Invalid::new(
                "deadline",
                "截止日期",
                "不得早于统计期最后一天",
                format!("{deadline} 早于 {end}"),
            ));
        }
        Ok(NewPeriod { kind, code: t.to_string(), start, end, deadline })
    }
}

/// How an assigned organization stands in a period on `today`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completeness {
    /// Reported by the deadline (按时报送).
    OnTime,
    /// Reported after the deadline (迟报).
    Late,
    /// Not reported and the deadline has passed (逾期未报).
    Missing,
    /// Not reported, not yet due (待报送).
    Due,
}

impl Completeness {
    pub fn of(submitted: Option<Date>, deadline: Date, today: Date) -> Completeness {
        match submitted {
            Some(d) if d <= deadline => Completeness::OnTime,
            Some(_) => Completeness::Late,
            None if today > deadline => Completeness::Missing,
            None => Completeness::Due,
        }
    }
    pub fn zh(self) -> &'static str {
        match self {
            Completeness::OnTime => "按时报送",
            Completeness::Late => "迟报",
            Completeness::Missing => "逾期未报",
            Completeness::Due => "待报送",
        }
    }
    pub fn code(self) -> &'static str {
        match self {
            Completeness::OnTime => "on_time",
            Completeness::Late => "late",
            Completeness::Missing => "missing",
            Completeness::Due => "due",
        }
    }
    pub fn reported(self) -> bool {
        matches!(self, Completeness::OnTime | Completeness::Late)
    }
}

/// 报送率 and 及时率 of a period, as (numerator, denominator) pairs over the assigned
/// organizations: reported / assigned, reported on time / assigned.
pub fn rates(of: &[Completeness]) -> ((i64, i64), (i64, i64)) {
    let n = of.len() as i64;
    let reported = of.iter().filter(|c| c.reported()).count() as i64;
    let on_time = of.iter().filter(|c| **c == Completeness::OnTime).count() as i64;
    ((reported, n), (on_time, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(author: bool, levels: &[u32]) -> Standing {
        Standing { author, levels: levels.to_vec() }
    }

    #[test]
    fn a_month_through_the_chain() {
        let author = who(true, &[]);
        let county = who(false, &[1]);
        let command = who(false, &[2]);
        let p = Position { state: State::Draft, level: 0 };
        let p = step(p, Action::Submit, &author, Some(1), 3).unwrap();
        assert_eq!(p, Position { state: State::Submitted, level: 1 });
        assert!(step(p, Action::Submit, &author, Some(1), 3).is_err(), "locked for its author");
        assert!(step(p, Action::Approve, &command, Some(1), 3).is_err(), "not the level holding it");
        let r = step(p, Action::Return, &county, Some(1), 3).unwrap();
        assert_eq!(r, Position { state: State::Returned, level: 0 });
        let p = step(r, Action::Submit, &author, Some(1), 3).unwrap();
        let p = step(p, Action::Start, &county, Some(1), 3).unwrap();
        assert_eq!(p.state, State::InReview);
        let p = step(p, Action::Approve, &county, Some(1), 3).unwrap();
        assert_eq!(p, Position { state: State::Approved, level: 1 });
        assert!(step(p, Action::Consolidate, &county, Some(1), 3).is_err());
        let p = step(p, Action::Consolidate, &command, Some(1), 3).unwrap();
        assert_eq!(p, Position { state: State::Consolidated, level: 2 });
        assert!(step(p, Action::Consolidate, &who(false, &[3]), Some(1), 3).is_ok());
        assert!(step(
            Position { state: State::Consolidated, level: 3 },
            Action::Consolidate,
            &who(false, &[3]),
            Some(1),
            3
        )
        .is_err());
        assert!(step(Position { state: State::Draft, level: 0 }, Action::Submit, &author, None, 0).is_err());
    }

    #[test]
    fn a_return_needs_a_reason_and_periods_parse() {
        assert!(reason(Some("  ")).is_err());
        assert!(reason(None).is_err());
        assert_eq!(reason(Some(" 人数有误 ")).unwrap(), "人数有误");
        let p = NewPeriod::parse("activities", Frequency::Monthly, "2026-11", "2026-12-05").unwrap();
        assert_eq!((p.start.to_string(), p.end.to_string()), ("2026-11-01".into(), "2026-11-30".into()));
        let q = NewPeriod::parse("activities", Frequency::Quarterly, "2026-Q4", "2027-01-10").unwrap();
        assert_eq!((q.start.to_string(), q.end.to_string()), ("2026-10-01".into(), "2026-12-31".into()));
        assert_eq!(
            NewPeriod::parse("activities", Frequency::Monthly, "2026-Q4", "2027-01-10").unwrap_err().field,
            "period"
        );
        assert_eq!(
            NewPeriod::parse("activities", Frequency::Monthly, "2026-11", "2026-11-29").unwrap_err().field,
            "deadline"
        );
        assert_eq!(NewPeriod::parse("people", Frequency::Monthly, "2026-11", "2026-12-05").unwrap_err().field, "kind");
        let d = |s: &str| Date::parse(s).unwrap();
        let c = [
            Completeness::of(Some(d("2026-12-01")), d("2026-12-05"), d("2026-12-10")),
            Completeness::of(Some(d("2026-12-07")), d("2026-12-05"), d("2026-12-10")),
            Completeness::of(None, d("2026-12-05"), d("2026-12-10")),
            Completeness::of(None, d("2026-12-05"), d("2026-12-01")),
        ];
        assert_eq!(c, [Completeness::OnTime, Completeness::Late, Completeness::Missing, Completeness::Due]);
        assert_eq!(rates(&c), ((2, 4), (1, 4)));
    }
}
