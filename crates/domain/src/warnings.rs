//! Early warnings (预警): the rules over projects, funds and reports, with thresholds a program
//! configures, and follow-up orders (督办) with their states.
//!
//! Warnings are computed, never stored: a project's schedule light ([`schedule`]), its funds
//! disbursed against plan at the year's checkpoint ([`funds`]), and a reporting period not
//! reported by its deadline. A project's light is the worst of its warnings.

use crate::projects::Schedule;
use crate::values::required_text;
use crate::{Date, Fen, Invalid, Invalids};
use serde::{Deserialize, Serialize};

/// The rules, in the order the warnings page lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Rule {
    /// 逾期未开工: not started by the planned date.
    NotStarted,
    /// 进度滞后: in progress and behind its planned end.
    Behind,
    /// 资金拨付滞后: funds disbursed below plan at the year's checkpoint.
    Disbursement,
    /// 逾期未报送: a period not reported by its deadline.
    Unreported,
    /// 会诊超时: a remote imaging consultation past its turnaround target without a report.
    ConsultOverdue,
    /// 危急值超时: a critical result not told and read back within 30 minutes.
    CriticalOverdue,
}

impl Rule {
    pub const ALL: [Rule; 6] = [
        Rule::NotStarted,
        Rule::Behind,
        Rule::Disbursement,
        Rule::Unreported,
        Rule::ConsultOverdue,
        Rule::CriticalOverdue,
    ];
    pub fn code(self) -> &'static str {
        match self {
            Rule::NotStarted => "not_started",
            Rule::Behind => "behind",
            Rule::Disbursement => "disbursement",
            Rule::Unreported => "unreported",
            Rule::ConsultOverdue => "consult_overdue",
            Rule::CriticalOverdue => "critical_overdue",
        }
    }
    pub fn zh(self) -> &'static str {
        match self {
            Rule::NotStarted => "未按期开工",
            Rule::Behind => "进度滞后",
            Rule::Disbursement => "资金拨付滞后",
            Rule::Unreported => "逾期未报送",
            Rule::ConsultOverdue => "会诊超时",
            Rule::CriticalOverdue => "危急值超时",
        }
    }
    pub fn parse(s: &str) -> Option<Rule> {
        Rule::ALL.into_iter().find(|r| r.code() == s)
    }
}

/// A program's warning thresholds (预警阈值).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Thresholds {
    /// Days after its planned start before a project not started turns red (amber from the day).
    pub start_grace_days: i64,
    /// Days before its planned end from which a project in progress is amber.
    pub end_near_days: i64,
    /// Days past its planned end a project in progress stays amber before it turns red.
    pub behind_days: i64,
    /// The checkpoint of each year (month, day) from which funds are measured against plan.
    pub checkpoint_month: u32,
    pub checkpoint_day: u32,
    /// 资金拨付率 below this (‰ of the year's plan) at the checkpoint: amber.
    pub disbursed_amber_permille: i64,
    /// Below this: red.
    pub disbursed_red_permille: i64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            start_grace_days: 30,
            end_near_days: 30,
            behind_days: 0,
            checkpoint_month: 6,
            checkpoint_day: 30,
            disbursed_amber_permille: 800,
            disbursed_red_permille: 500,
        }
    }
}

fn days(field: &str, label: &str, s: &str) -> Result<i64, Invalid> {
    match s.trim().parse::<i64>() {
        Ok(n) if (0..=366).contains(&n) => Ok(n),
        _ => Err(Invalid::new(field, label, "天数", format!("{label}须为 0 到 366 之间的整数（天）"))),
    }
}

/// A rate typed as a percentage with at most one decimal ("80", "62.5"), as ‰.
fn percent(field: &str, label: &str, s: &str) -> Result<i64, Invalid> {
    let bad = || Invalid::new(field, label, "百分比", format!("{label}须为 0 到 100 之间的百分比，最多一位小数"));
    let t = s.trim().trim_end_matches('%');
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    if whole.is_empty() || frac.len() > 1 || !whole.chars().chain(frac.chars()).all(|c| c.is_ascii_digit()) {
        return Err(bad());
    }
    let w: i64 = whole.parse().map_err(|_| bad())?;
    let f: i64 = if frac.is_empty() { 0 } else { frac.parse().map_err(|_| bad())? };
    let v = w.checked_mul(10).and_then(|x| x.checked_add(f)).ok_or_else(bad)?;
    if v > 1000 {
        return Err(bad());
    }
    Ok(v)
}

impl Thresholds {
    /// Parse the thresholds form: `start_grace_days`, `end_near_days`, `behind_days`,
    /// `checkpoint` (MM-DD), `disbursed_amber` and `disbursed_red` (percentages).
    pub fn parse(get: impl Fn(&str) -> String) -> Result<Thresholds, Invalids> {
        let mut e = Invalids::default();
        let start = e.take(days("start_grace_days", "未开工转红灯天数", &get("start_grace_days")));
        let near = e.take(days("end_near_days", "临近完工预警天数", &get("end_near_days")));
        let behind = e.take(days("behind_days", "超期转红灯天数", &get("behind_days")));
        let cp = get("checkpoint");
        let checkpoint = e.take(
            cp.trim()
                .split_once('-')
                .and_then(|(m, d)| Some((m.parse::<u32>().ok()?, d.parse::<u32>().ok()?)))
                .filter(|(m, d)| Date::ymd(2024, *m, *d).is_some())
                .ok_or_else(|| {
                    Invalid::new("checkpoint", "资金检查节点", "月-日", "资金检查节点须为“月-日”，例如 06-30")
                }),
        );
        let amber = e.take(percent("disbursed_amber", "拨付率黄灯线", &get("disbursed_amber")));
        let red = e.take(percent("disbursed_red", "拨付率红灯线", &get("disbursed_red")));
        if let (Some(a), Some(r)) = (amber, red) {
            if r > a {
                e.push(Invalid::new("disbursed_red", "拨付率红灯线", "不高于黄灯线", "拨付率红灯线不能高于黄灯线"));
            }
        }
        e.finish(|| Thresholds {
            start_grace_days: start.unwrap_or_default(),
            end_near_days: near.unwrap_or_default(),
            behind_days: behind.unwrap_or_default(),
            checkpoint_month: checkpoint.map(|c| c.0).unwrap_or(6),
            checkpoint_day: checkpoint.map(|c| c.1).unwrap_or(30),
            disbursed_amber_permille: amber.unwrap_or_default(),
            disbursed_red_permille: red.unwrap_or_default(),
        })
    }

    /// The rules a set of thresholds keeps however it was made (a form, the API, a restore):
    /// days within 0–366, a real month-day, lines within 0–100% and red not above amber.
    pub fn check(&self) -> Result<(), Invalids> {
        let mut e = Invalids::default();
        for (field, label, v) in [
            ("start_grace_days", "未开工转红灯天数", self.start_grace_days),
            ("end_near_days", "临近完工预警天数", self.end_near_days),
            ("behind_days", "超期转红灯天数", self.behind_days),
        ] {
            e.take(days(field, label, &v.to_string()));
        }
        if Date::ymd(2024, self.checkpoint_month, self.checkpoint_day).is_none() {
            e.push(Invalid::new("checkpoint", "资金检查节点", "月-日", "资金检查节点须为“月-日”，例如 06-30"));
        }
        for (field, label, v) in [
            ("disbursed_amber", "拨付率黄灯线", self.disbursed_amber_permille),
            ("disbursed_red", "拨付率红灯线", self.disbursed_red_permille),
        ] {
            if !(0..=1000).contains(&v) {
                e.push(Invalid::new(field, label, "百分比", format!("{label}须为 0 到 100 之间的百分比")));
            }
        }
        if self.disbursed_red_permille > self.disbursed_amber_permille {
            e.push(Invalid::new("disbursed_red", "拨付率红灯线", "不高于黄灯线", "拨付率红灯线不能高于黄灯线"));
        }
        e.finish(|| ())
    }

    /// The checkpoint of `year`; 02-29 falls on 02-28 in a common year.
    pub fn checkpoint_in(&self, year: i32) -> Option<Date> {
        Date::ymd(year, self.checkpoint_month, self.checkpoint_day)
            .or_else(|| Date::ymd(year, self.checkpoint_month, self.checkpoint_day.saturating_sub(1)))
    }

    pub fn checkpoint_text(&self) -> String {
        format!("{:02}-{:02}", self.checkpoint_month, self.checkpoint_day)
    }

    /// The rule of the schedule lights in words.
    pub fn schedule_rule_zh(&self) -> String {
        format!(
            "未开工项目到计划开工日期为黄灯，超过 {} 天为红灯；在建项目距计划完工不足 {} 天为黄灯，超过计划完工日期 {} 天以上为红灯。",
            self.start_grace_days, self.end_near_days, self.behind_days
        )
    }

    pub fn funds_rule_zh(&self) -> String {
        format!(
            "每年 {} 起，当年资金拨付率低于 {} 为黄灯，低于 {} 为红灯。",
            self.checkpoint_text(),
            permille_text(self.disbursed_amber_permille),
            permille_text(self.disbursed_red_permille)
        )
    }
}

/// ‰ as a percentage with one decimal: 625 → "62.5%".
pub fn permille_text(v: i64) -> String {
    format!("{}%", crate::money::round_half_up(i128::from(v), 10, 1))
}

/// A project's schedule light on `today` under `t`, with the rule and the reason (Chinese,
/// English):
/// - completed or accepted: green;
/// - not started: amber from its planned start, red `start_grace_days` after it;
/// - started: amber within `end_near_days` of its planned end, red `behind_days` past it;
/// - no planned date to measure against: green.
pub fn schedule(
    t: &Thresholds,
    today: Date,
    status: &str,
    planned_start: Option<Date>,
    planned_end: Option<Date>,
) -> (Schedule, Rule, &'static str, &'static str) {
    let days = |d: Date| (today.naive() - d.naive()).num_days();
    match status {
        "completed" | "accepted" => (Schedule::Green, Rule::Behind, "已完工", "Completed"),
        "approved" => match (planned_start.map(days), planned_end.map(days)) {
            (Some(n), _) if n > t.start_grace_days => {
                (Schedule::Red, Rule::NotStarted, "逾期未开工", "Not started, overdue")
            }
            (Some(n), _) if n >= 0 => (Schedule::Amber, Rule::NotStarted, "已到计划开工日期，尚未开工", "Due to start"),
            // No planned start: an end already past still counts against it.
            (None, Some(n)) if n > 0 => {
                (Schedule::Red, Rule::NotStarted, "超过计划完工日期仍未开工", "Past its planned end, not started")
            }
            (None, None) => (Schedule::Green, Rule::NotStarted, "未定计划开工日期", "No planned start"),
            _ => (Schedule::Green, Rule::NotStarted, "未到计划开工日期", "Not yet due to start"),
        },
        _ => match planned_end.map(days) {
            Some(n) if n > t.behind_days => {
                (Schedule::Red, Rule::Behind, "超过计划完工日期仍未完工", "Past its planned end")
            }
            Some(n) if n > 0 => {
                (Schedule::Amber, Rule::Behind, "已过计划完工日期，尚在宽限期内", "Past its planned end, in grace")
            }
            Some(n) if n >= -t.end_near_days => {
                (Schedule::Amber, Rule::Behind, "临近计划完工日期", "Near its planned end")
            }
            _ => (Schedule::Green, Rule::Behind, "按计划推进", "On schedule"),
        },
    }
}

/// The funds light of a project's lines of `today`'s year: none before the year's checkpoint
/// or without a plan; otherwise 资金拨付率 = disbursed / planned against the two lines.
/// Compared exactly (disbursed × 1000 against planned × line), never on a rounded rate.
pub fn funds(t: &Thresholds, today: Date, planned: Fen, disbursed: Fen) -> Option<(Schedule, String)> {
    let cp = t.checkpoint_in(today.year())?;
    if today < cp || planned.0 <= 0 {
        return None;
    }
    let (p, d) = (i128::from(planned.0), i128::from(disbursed.0));
    let below = |line: i64| d * 1000 < p * i128::from(line);
    let rate = rate_text(disbursed, planned);
    if below(t.disbursed_red_permille) {
        Some((Schedule::Red, format!("资金拨付率 {rate}，低于红灯线 {}", permille_text(t.disbursed_red_permille))))
    } else if below(t.disbursed_amber_permille) {
        Some((Schedule::Amber, format!("资金拨付率 {rate}，低于黄灯线 {}", permille_text(t.disbursed_amber_permille))))
    } else {
        None
    }
}

/// A rate as a percentage, rounded half up to one decimal, from the raw amounts.
pub fn rate_text(num: Fen, den: Fen) -> String {
    match crate::money::rate_display(i128::from(num.0), i128::from(den.0)) {
        dash if dash == "—" => dash,
        r => format!("{r}%"),
    }
}

/// The states of a follow-up order (督办).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum OrderState {
    Open,
    Answered,
    Returned,
    Closed,
}

impl OrderState {
    pub const ALL: [OrderState; 4] = [OrderState::Open, OrderState::Answered, OrderState::Returned, OrderState::Closed];
    pub fn code(self) -> &'static str {
        match self {
            OrderState::Open => "open",
            OrderState::Answered => "answered",
            OrderState::Returned => "returned",
            OrderState::Closed => "closed",
        }
    }
    pub fn zh(self) -> &'static str {
        match self {
            OrderState::Open => "待办理",
            OrderState::Answered => "已答复",
            OrderState::Returned => "退回重办",
            OrderState::Closed => "已办结",
        }
    }
    pub fn parse(s: &str) -> Option<OrderState> {
        OrderState::ALL.into_iter().find(|o| o.code() == s)
    }
}

/// What can be done to an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderAction {
    /// 答复: the assignee reports what it did.
    Answer,
    /// 办结: the manager accepts the answer.
    Close,
    /// 退回: the manager returns the answer, with a reason.
    Return,
}

impl OrderAction {
    pub const ALL: [OrderAction; 3] = [OrderAction::Answer, OrderAction::Close, OrderAction::Return];
    pub fn code(self) -> &'static str {
        match self {
            OrderAction::Answer => "answer",
            OrderAction::Close => "close",
            OrderAction::Return => "return",
        }
    }
    pub fn zh(self) -> &'static str {
        match self {
            OrderAction::Answer => "答复",
            OrderAction::Close => "办结",
            OrderAction::Return => "退回重办",
        }
    }
    pub fn parse(s: &str) -> Option<OrderAction> {
        OrderAction::ALL.into_iter().find(|a| a.code() == s)
    }
}

/// One step of an order: the assignee (a user of the assigned organization or above it)
/// answers an open or returned order; a manager closes or returns an answered one. The refusal
/// names the rule.
pub fn order_step(at: OrderState, action: OrderAction, assignee: bool, manager: bool) -> Result<OrderState, String> {
    use OrderAction as A;
    use OrderState as S;
    match (action, at) {
        (A::Answer, S::Open | S::Returned) if assignee => Ok(S::Answered),
        (A::Answer, S::Open | S::Returned) => Err("只有承办单位的人员可以答复督办事项".into()),
        (A::Close | A::Return, S::Answered) if manager => Ok(if action == A::Close { S::Closed } else { S::Returned }),
        (A::Close | A::Return, S::Answered) => Err("只有项目管理人员可以办结或退回督办事项".into()),
        (_, s) => Err(format!("督办事项{}，不能{}", s.zh(), action.zh())),
    }
}

/// A new follow-up order as typed: its title, what must be fixed, and the due date (not before
/// `today`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrder {
    pub title: String,
    pub requirement: String,
    pub due: Date,
}

impl NewOrder {
    pub fn parse(title: &str, requirement: &str, due: &str, today: Date) -> Result<NewOrder, Invalids> {
        let mut e = Invalids::default();
        let title = e.take(required_text("title", "督办事项", title, 200));
        let requirement = e.take(required_text("requirement", "整改要求", requirement, 2000));
        let due = e.take(Date::parse(due.trim()).map_err(|x| x.at("due", "办结期限")).and_then(|d| {
            if d < today {
                Err(Invalid::new("due", "办结期限", "不早于今天", format!("办结期限 {d} 早于今天")))
            } else {
                Ok(d)
            }
        }));
        match (title, requirement, due) {
            (Some(title), Some(requirement), Some(due)) if e.is_empty() => Ok(NewOrder { title, requirement, due }),
            _ => Err(e),
        }
    }
}

/// Days an open order is past its due date on `today` (0 when not overdue).
pub fn overdue_days(due: Date, today: Date) -> i64 {
    (today.naive() - due.naive()).num_days().max(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    #[test]
    fn schedule_lights_follow_the_thresholds() {
        let t = Thresholds::default();
        let today = d("2026-12-03");
        assert_eq!(schedule(&t, today, "approved", Some(d("2026-12-03")), None).0, Schedule::Amber);
        assert_eq!(schedule(&t, today, "approved", Some(d("2026-11-03")), None).0, Schedule::Amber);
        assert_eq!(schedule(&t, today, "approved", Some(d("2026-11-02")), None).0, Schedule::Red);
        let strict = Thresholds { start_grace_days: 0, ..t };
        assert_eq!(schedule(&strict, today, "approved", Some(d("2026-12-02")), None).1, Rule::NotStarted);
        assert_eq!(schedule(&strict, today, "approved", Some(d("2026-12-02")), None).0, Schedule::Red);
        assert_eq!(schedule(&t, today, "started", None, Some(d("2026-12-02"))).0, Schedule::Red);
        let lenient = Thresholds { behind_days: 10, ..t };
        assert_eq!(schedule(&lenient, today, "started", None, Some(d("2026-12-02"))).0, Schedule::Amber);
        assert_eq!(schedule(&lenient, today, "started", None, Some(d("2026-11-22"))).0, Schedule::Red);
        assert_eq!(schedule(&t, today, "started", None, Some(d("2027-01-02"))).0, Schedule::Amber);
        assert_eq!(schedule(&t, today, "started", None, Some(d("2027-01-03"))).0, Schedule::Green);
        assert_eq!(schedule(&t, today, "completed", None, Some(d("2020-01-01"))).0, Schedule::Green);
    }

    #[test]
    fn funds_are_judged_at_the_checkpoint_on_exact_amounts() {
        let t = Thresholds::default();
        assert_eq!(funds(&t, d("2026-06-29"), Fen(1000), Fen(0)), None);
        assert_eq!(funds(&t, d("2026-06-30"), Fen(1000), Fen(0)).map(|f| f.0), Some(Schedule::Red));
        assert_eq!(funds(&t, d("2026-07-01"), Fen(1000), Fen(499)).map(|f| f.0), Some(Schedule::Red));
        assert_eq!(funds(&t, d("2026-07-01"), Fen(1000), Fen(500)).map(|f| f.0), Some(Schedule::Amber));
        assert_eq!(funds(&t, d("2026-07-01"), Fen(1000), Fen(799)).map(|f| f.0), Some(Schedule::Amber));
        assert_eq!(funds(&t, d("2026-07-01"), Fen(1000), Fen(800)), None);
        assert_eq!(funds(&t, d("2026-07-01"), Fen(0), Fen(0)), None);
        // 2/3 is 66.7% (half up), below 80%.
        let (_, why) = funds(&t, d("2026-07-01"), Fen(3), Fen(2)).unwrap();
        assert!(why.contains("66.7%"), "{why}");
        assert_eq!(rate_text(Fen(1), Fen(8)), "12.5%");
        assert_eq!(rate_text(Fen(1), Fen(16)), "6.3%");
    }

    #[test]
    fn thresholds_parse_with_field_messages() {
        let ok = |k: &str| {
            match k {
                "start_grace_days" => "15",
                "end_near_days" => "20",
                "behind_days" => "0",
                "checkpoint" => "09-30",
                "disbursed_amber" => "75.5",
                "disbursed_red" => "40",
                _ => "",
            }
            .to_string()
        };
        let t = Thresholds::parse(ok).unwrap();
        assert_eq!((t.start_grace_days, t.checkpoint_month, t.disbursed_amber_permille), (15, 9, 755));
        let bad = |k: &str| {
            match k {
                "start_grace_days" => "-1",
                "checkpoint" => "02-30",
                "disbursed_amber" => "50",
                "disbursed_red" => "60",
                "disbursed_x" => "",
                _ => "1",
            }
            .to_string()
        };
        let e = Thresholds::parse(bad).unwrap_err();
        let fields: Vec<&str> = e.0.iter().map(|i| i.field.as_str()).collect();
        assert_eq!(fields, ["start_grace_days", "checkpoint", "disbursed_red"]);
        assert!(Thresholds::default().check().is_ok());
        let bad =
            Thresholds { checkpoint_month: 13, disbursed_red_permille: 900, behind_days: -1, ..Thresholds::default() };
        let fields: Vec<String> = bad.check().unwrap_err().0.into_iter().map(|i| i.field).collect();
        assert_eq!(fields, ["behind_days", "checkpoint", "disbursed_red"]);
        assert!(percent("x", "x", "100.5").is_err() && percent("x", "x", "1.25").is_err());
        assert_eq!(percent("x", "x", "100").unwrap(), 1000);
    }

    #[test]
    fn orders_move_only_by_their_rules() {
        use OrderAction as A;
        use OrderState as S;
        let mut allowed = 0;
        for at in S::ALL {
            for a in A::ALL {
                for (assignee, manager) in [(false, false), (true, false), (false, true), (true, true)] {
                    let r = order_step(at, a, assignee, manager);
                    let expect = match (a, at) {
                        (A::Answer, S::Open | S::Returned) if assignee => Some(S::Answered),
                        (A::Close, S::Answered) if manager => Some(S::Closed),
                        (A::Return, S::Answered) if manager => Some(S::Returned),
                        _ => None,
                    };
                    assert_eq!(r.clone().ok(), expect, "{at:?} {a:?} {assignee} {manager}");
                    if let Err(m) = r {
                        assert!(!m.is_empty());
                    } else {
                        allowed += 1;
                    }
                }
            }
        }
        assert_eq!(allowed, 8);
        let today = d("2026-12-03");
        assert!(NewOrder::parse("整改", "按期开工", "2026-12-02", today).is_err());
        let e = NewOrder::parse(" ", "", "x", today).unwrap_err();
        assert_eq!(e.0.len(), 3);
        assert_eq!(overdue_days(d("2026-12-01"), today), 2);
        assert_eq!(overdue_days(d("2026-12-05"), today), 0);
    }
}
