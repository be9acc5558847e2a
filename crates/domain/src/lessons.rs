//! Two-site classes (一堂课两地同上, 红杜鹃微讲堂, 万里同研) without I/O: the kinds of lesson as the
//! national 三个课堂 policy names them, a school's term calendar (class days, days off, 调休 make-up
//! days), a lesson's own rules, and its weekly occurrences across the calendars of every site.
//! Times are Beijing time throughout.

use crate::values::{has_control, required_text};
use crate::{Date, Invalid, Invalids};
use chrono::{DateTime, Datelike, NaiveTime, TimeZone, Utc};
use std::collections::{BTreeMap, BTreeSet};

/// The kinds of lesson.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LessonKind {
    /// 专递课堂 / 同步课堂: a main classroom teaching, a few receiving classrooms taking part.
    Synchronous,
    /// 教研 (名师课堂, 万里同研): teachers only, no class groups.
    Research,
    /// 直播讲座 (红杜鹃微讲堂): one publishing site, many viewers counted per receiving site.
    Broadcast,
}

pub const LESSON_KINDS: &[(LessonKind, &str, &str)] = &[
    (LessonKind::Synchronous, "synchronous", "专递课堂"),
    (LessonKind::Research, "research", "教研"),
    (LessonKind::Broadcast, "broadcast", "直播讲座"),
];

impl LessonKind {
    pub fn parse(s: &str) -> Option<LessonKind> {
        let s = s.trim();
        LESSON_KINDS
            .iter()
            .find(|(_, c, n)| *c == s || *n == s || (s == "同步课堂" && *c == "synchronous"))
            .map(|k| k.0)
    }
    pub fn code(self) -> &'static str {
        LESSON_KINDS.iter().find(|k| k.0 == self).map_or("synchronous", |k| k.1)
    }
    pub fn label(self) -> &'static str {
        LESSON_KINDS.iter().find(|k| k.0 == self).map_or("专递课堂", |k| k.2)
    }
}

/// What a classroom is for.
pub const CLASSROOM_ROLES: &[(&str, &str)] = &[("main", "主讲教室"), ("receiving", "接收教室"), ("both", "主讲与接收")];

/// A school's term (学期): its first and last day, the days without class within it (holidays,
/// 放假) and the make-up days (调休补课) with the weekday whose timetable they follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    pub start: Date,
    pub end: Date,
    pub off: BTreeSet<Date>,
    /// A make-up day and the weekday (1 = Monday … 7 = Sunday) it follows.
    pub makeup: BTreeMap<Date, u32>,
}

impl Term {
    /// The weekday whose timetable `day` follows (1 = Monday), or `None` when there is no class:
    /// outside the term, a day off, or a weekend that is not a make-up day.
    pub fn class_day(&self, day: Date) -> Option<u32> {
        if day < self.start || day > self.end || self.off.contains(&day) {
            return None;
        }
        if let Some(w) = self.makeup.get(&day) {
            return Some(*w);
        }
        let w = day.naive().weekday().number_from_monday();
        (w <= 5).then_some(w)
    }
}

/// A term as a school enters it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTerm {
    pub name: String,
    pub start: String,
    pub end: String,
    /// Days without class: (day, why).
    pub days_off: Vec<(String, String)>,
    /// Make-up days: (day, the weekday it follows, 1–7).
    pub makeup: Vec<(String, u32)>,
}

impl NewTerm {
    /// Its own rules: a name, a first and last day at most 200 days apart, every day off and
    /// make-up day within it (a make-up day not also a day off).
    pub fn check(&self) -> Result<(String, Term), Invalids> {
        let mut e = Invalids::default();
        let name = e.take(required_text("name", "学期名称", &self.name, 50));
        let start = e.take(crate::values::date_field("start", "开学日期", &self.start));
        let end = e.take(crate::values::date_field("end", "结束日期", &self.end));
        let mut term = Term {
            start: Date::from_naive(chrono::NaiveDate::MIN),
            end: Date::from_naive(chrono::NaiveDate::MIN),
            off: BTreeSet::new(),
            makeup: BTreeMap::new(),
        };
        if let (Some(s), Some(t)) = (start, end) {
            if t < s {
                e.push(Invalid::new("end", "结束日期", "不早于开学日期", "结束日期早于开学日期"));
            } else if (t.naive() - s.naive()).num_days() > 200 {
                e.push(Invalid::new("end", "结束日期", "一个学期不超过 200 天", "学期超过 200 天"));
            }
            term.start = s;
            term.end = t;
        }
        for (i, (d, why)) in self.days_off.iter().enumerate() {
            let field = format!("days_off[{i}]");
            match crate::values::date_field(&field, "放假日期", d) {
                Ok(d) if start.is_some_and(|s| d < s) || end.is_some_and(|t| d > t) => {
                    e.push(Invalid::new(&field, "放假日期", "在学期之内", format!("{d} 不在学期之内")))
                }
                Ok(d) => {
                    if why.chars().count() > 50 || has_control(why) {
                        e.push(Invalid::new(&field, "放假事由", "不超过 50 个字符", "放假事由无效"));
                    }
                    term.off.insert(d);
                }
                Err(x) => e.push(x),
            }
        }
        for (i, (d, w)) in self.makeup.iter().enumerate() {
            let field = format!("makeup[{i}]");
            match crate::values::date_field(&field, "调休补课日期", d) {
                Ok(d) if start.is_some_and(|s| d < s) || end.is_some_and(|t| d > t) => {
                    e.push(Invalid::new(&field, "调休补课日期", "在学期之内", format!("{d} 不在学期之内")))
                }
                Ok(d) if term.off.contains(&d) => {
                    e.push(Invalid::new(&field, "调休补课日期", "不是放假日", format!("{d} 同时是放假日")))
                }
                Ok(_) if !(1..=7).contains(w) => {
                    e.push(Invalid::new(&field, "按星期几上课", "1–7（星期一到星期日）", format!("“{w}”不是星期几")))
                }
                Ok(d) => {
                    term.makeup.insert(d, *w);
                }
                Err(x) => e.push(x),
            }
        }
        e.finish(|| (name.unwrap_or_default(), term))
    }
}

/// A lesson as it is scheduled: once (`first` = `last`) or every week on `first`'s weekday.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLesson {
    pub kind: String,
    pub course: String,
    /// 学科: 语文, 数学, …
    pub subject: String,
    /// The main teacher (a person of the program).
    pub teacher_person_id: Option<i64>,
    pub main_classroom_id: Option<i64>,
    /// The class group taught in the main classroom, if any.
    pub main_group_id: Option<i64>,
    /// The receiving classrooms, each with the class group there, if any.
    pub receiving: Vec<(i64, Option<i64>)>,
    /// The pairing it serves (a 百校万生 school pair, a 青蓝 teacher pair), where there is one.
    pub pairing_id: Option<i64>,
    /// `HH:MM`, Beijing time.
    pub start_time: String,
    pub minutes: i64,
    pub first: String,
    pub last: String,
}

/// A lesson after its own rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedLesson {
    pub kind: LessonKind,
    pub course: String,
    pub subject: String,
    pub teacher_person_id: i64,
    pub main_classroom_id: i64,
    pub main_group_id: Option<i64>,
    pub receiving: Vec<(i64, Option<i64>)>,
    pub pairing_id: Option<i64>,
    pub start: NaiveTime,
    pub minutes: i64,
    pub first: Date,
    pub last: Date,
}

impl NewLesson {
    /// Its own rules, each refusal naming its field: a kind, a course and subject, a teacher, a
    /// main classroom, at least one receiving classroom (none of them the main one, none twice),
    /// no class group for teaching research, a time of day between 06:00 and 22:00, 10 minutes to
    /// 4 hours, a first and last day at most 200 days apart.
    pub fn check(&self) -> Result<CheckedLesson, Invalids> {
        let mut e = Invalids::default();
        let kind = LessonKind::parse(&self.kind);
        if kind.is_none() {
            e.push(Invalid::new(
                "kind",
                "课堂类型",
                "专递课堂、教研或直播讲座",
                format!("“{}”不是课堂类型", self.kind),
            ));
        }
        let course = e.take(required_text("course", "课程", &self.course, 100));
        let subject = e.take(required_text("subject", "学科", &self.subject, 30));
        if self.teacher_person_id.is_none() {
            e.push(Invalid::new("teacher_person_id", "主讲教师", "必填", "没有主讲教师"));
        }
        if self.main_classroom_id.is_none() {
            e.push(Invalid::new("main_classroom_id", "主讲教室", "必填", "没有主讲教室"));
        }
        if self.receiving.is_empty() {
            e.push(Invalid::new("receiving", "接收教室", "至少一个", "没有接收教室"));
        }
        let mut seen = BTreeSet::new();
        for (i, (room, group)) in self.receiving.iter().enumerate() {
            if Some(*room) == self.main_classroom_id || !seen.insert(*room) {
                e.push(Invalid::new(
                    format!("receiving[{i}]"),
                    "接收教室",
                    "不是主讲教室，不重复",
                    format!("教室 {room} 重复"),
                ));
            }
            if kind == Some(LessonKind::Research) && group.is_some() {
                e.push(Invalid::new(format!("receiving[{i}]"), "教学班", "教研只有教师参加", "教研不安排教学班"));
            }
        }
        if kind == Some(LessonKind::Research) && self.main_group_id.is_some() {
            e.push(Invalid::new("main_group_id", "教学班", "教研只有教师参加", "教研不安排教学班"));
        }
        let start = NaiveTime::parse_from_str(self.start_time.trim(), "%H:%M").ok();
        match start {
            Some(t)
                if t >= NaiveTime::from_hms_opt(6, 0, 0).unwrap_or(t)
                    && t <= NaiveTime::from_hms_opt(22, 0, 0).unwrap_or(t) => {}
            _ => e.push(Invalid::new(
                "start_time",
                "上课时间",
                "06:00–22:00，写作 HH:MM（北京时间）",
                format!("“{}”不是上课时间", self.start_time),
            )),
        }
        if !(10..=240).contains(&self.minutes) {
            e.push(Invalid::new("minutes", "时长", "10–240 分钟", format!("{} 分钟不在范围内", self.minutes)));
        }
        let first = e.take(crate::values::date_field("first", "首次上课日期", &self.first));
        let last = e.take(crate::values::date_field("last", "末次上课日期", &self.last));
        if let (Some(f), Some(l)) = (first, last) {
            if l < f {
                e.push(Invalid::new("last", "末次上课日期", "不早于首次上课日期", "末次上课日期早于首次"));
            } else if (l.naive() - f.naive()).num_days() > 200 {
                e.push(Invalid::new("last", "末次上课日期", "不超过 200 天", "跨度超过一个学期"));
            }
        }
        e.finish(|| CheckedLesson {
            kind: kind.unwrap_or(LessonKind::Synchronous),
            course: course.unwrap_or_default(),
            subject: subject.unwrap_or_default(),
            teacher_person_id: self.teacher_person_id.unwrap_or_default(),
            main_classroom_id: self.main_classroom_id.unwrap_or_default(),
            main_group_id: self.main_group_id,
            receiving: self.receiving.clone(),
            pairing_id: self.pairing_id,
            start: start.unwrap_or_default(),
            minutes: self.minutes,
            first: first.unwrap_or(Date::from_naive(chrono::NaiveDate::MIN)),
            last: last.unwrap_or(Date::from_naive(chrono::NaiveDate::MIN)),
        })
    }
}

impl CheckedLesson {
    /// The timetable weekday of its first day (1 = Monday), in the main site's term; the lesson
    /// falls on every day from `first` to `last` that follows this weekday in every site's term.
    /// A lesson given once (`first` = `last`) must fall on a class day of every site, else it is
    /// refused naming `first`; a weekly one must fall at least once.
    pub fn occurrences(&self, main: &Term, sites: &[&Term]) -> Result<Vec<Date>, Invalid> {
        let Some(weekday) = main.class_day(self.first) else {
            return Err(Invalid::new(
                "first",
                "首次上课日期",
                "主讲学校学期内的上课日",
                format!("{} 不是主讲学校的上课日（学期外、放假或周末）", self.first),
            ));
        };
        let mut out = Vec::new();
        let mut day = self.first.naive();
        while day <= self.last.naive() {
            let d = Date::from_naive(day);
            if main.class_day(d) == Some(weekday) && sites.iter().all(|t| t.class_day(d).is_some()) {
                out.push(d);
            }
            let Some(next) = day.succ_opt() else { break };
            day = next;
        }
        if out.first() != Some(&self.first) && self.first == self.last {
            return Err(Invalid::new(
                "first",
                "上课日期",
                "每个学校都上课的日子",
                format!("{} 有学校放假或不在其学期内", self.first),
            ));
        }
        if out.is_empty() {
            return Err(Invalid::new("last", "末次上课日期", "至少有一次课", "这段时间里没有各校都上课的日子"));
        }
        Ok(out)
    }

    /// When it begins and ends on `day`, in UTC.
    pub fn span_on(&self, day: Date) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        let tz = chrono::FixedOffset::east_opt(8 * 3600)?;
        let start = tz.from_local_datetime(&day.naive().and_time(self.start)).single()?.with_timezone(&Utc);
        Some((start, start + chrono::Duration::minutes(self.minutes)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    fn term(start: &str, end: &str, off: &[&str], makeup: &[(&str, u32)]) -> Term {
        NewTerm {
            name: "2026 年春季学期".into(),
            start: start.into(),
            end: end.into(),
            days_off: off.iter().map(|o| (o.to_string(), "放假".to_string())).collect(),
            makeup: makeup.iter().map(|(m, w)| (m.to_string(), *w)).collect(),
        }
        .check()
        .unwrap()
        .1
    }

    fn lesson(first: &str, last: &str) -> CheckedLesson {
        NewLesson {
            kind: "专递课堂".into(),
            course: "七年级语文".into(),
            subject: "语文".into(),
            teacher_person_id: Some(1),
            main_classroom_id: Some(10),
            main_group_id: Some(100),
            receiving: vec![(20, Some(200))],
            pairing_id: None,
            start_time: "10:00".into(),
            minutes: 45,
            first: first.into(),
            last: last.into(),
        }
        .check()
        .unwrap()
    }

    #[test]
    fn class_days_follow_the_calendar() {
        // Qingming 2026-04-06 (Monday) off; Sunday 2026-04-12 a make-up day following Monday.
        let t = term("2026-03-02", "2026-07-10", &["2026-04-06"], &[("2026-04-12", 1)]);
        assert_eq!(t.class_day(d("2026-03-02")), Some(1));
        assert_eq!(t.class_day(d("2026-03-07")), None, "a Saturday");
        assert_eq!(t.class_day(d("2026-04-06")), None, "a holiday");
        assert_eq!(t.class_day(d("2026-04-12")), Some(1), "调休: a Sunday following Monday");
        assert_eq!(t.class_day(d("2026-03-01")), None, "before the term");
    }

    #[test]
    fn a_weekly_lesson_skips_each_sites_days_off() {
        let main = term("2026-03-02", "2026-07-10", &["2026-04-06"], &[("2026-04-12", 1)]);
        // The receiving school in Akto is off on 2026-03-16 (a local holiday).
        let akto = term("2026-03-02", "2026-07-10", &["2026-03-16"], &[("2026-04-12", 1)]);
        let days = lesson("2026-03-02", "2026-04-20").occurrences(&main, &[&akto]).unwrap();
        let shown: Vec<String> = days.iter().map(|d| d.to_string()).collect();
        assert_eq!(
            shown,
            ["2026-03-02", "2026-03-09", "2026-03-23", "2026-03-30", "2026-04-12", "2026-04-13", "2026-04-20"]
        );
        // Once, on a holiday of either site: refused, naming the day.
        let e = lesson("2026-04-06", "2026-04-06").occurrences(&main, &[&akto]).unwrap_err();
        assert_eq!(e.field, "first");
        let e = lesson("2026-03-16", "2026-03-16").occurrences(&main, &[&akto]).unwrap_err();
        assert_eq!(e.field, "first");
        let (start, end) = lesson("2026-03-02", "2026-03-02").span_on(d("2026-03-02")).unwrap();
        assert_eq!(start.to_rfc3339(), "2026-03-02T02:00:00+00:00");
        assert_eq!((end - start).num_minutes(), 45);
    }

    #[test]
    fn a_lesson_names_what_is_wrong() {
        let bad = NewLesson {
            kind: "讲座".into(),
            course: " ".into(),
            subject: "语文".into(),
            teacher_person_id: None,
            main_classroom_id: Some(10),
            main_group_id: None,
            receiving: vec![(10, None)],
            pairing_id: None,
            start_time: "25:00".into(),
            minutes: 5,
            first: "2026-03-09".into(),
            last: "2026-03-02".into(),
        };
        let e = bad.check().unwrap_err();
        let fields: Vec<&str> = e.0.iter().map(|i| i.field.as_str()).collect();
        for f in ["kind", "course", "teacher_person_id", "receiving[0]", "start_time", "minutes", "last"] {
            assert!(fields.contains(&f), "{f} in {fields:?}");
        }
        let research = NewLesson { kind: "教研".into(), main_group_id: Some(1), ..bad };
        assert!(research.check().unwrap_err().0.iter().any(|i| i.field == "main_group_id"));
        let t = NewTerm {
            name: "x".into(),
            start: "2026-03-02".into(),
            end: "2026-02-01".into(),
            days_off: vec![("2026-05-01".into(), String::new())],
            makeup: vec![],
        };
        let e = t.check().unwrap_err();
        assert!(e.0.iter().any(|i| i.field == "end"));
    }
}
