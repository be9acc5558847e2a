//! People: aid personnel (援疆干部人才) sent in batches, and local counterparts and experts as far
//! as pairings need them. 身份证号 per GB 11643 and phone numbers are personal data: validated
//! here, encrypted by the store, masked on every read unless the role may see them.

use crate::ids::{BatchId, OrgId, ProgramId};
use crate::orgs::code_in;
use crate::values::{check_span, required_text, Reference, Secret};
use crate::{Date, Entity, Invalid, Invalids, Val};
use chrono::NaiveDate;
use serde::Serialize;
use std::fmt;

/// 公民身份号码 (GB 11643-1999): 17 digits, the first 6 a region, 7–14 a real birth date, and a
/// MOD 11-2 check character (0–9 or X; a lowercase x is accepted and stored as X).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IdNumber(String);

impl IdNumber {
    pub fn parse(s: &str) -> Result<IdNumber, Invalid> {
        let t = s.trim().to_ascii_uppercase();
        let bad = |why: String| Invalid::new("id_number", "身份证号", "GB 11643 公民身份号码", why);
        let b = t.as_bytes();
        if b.len() != 18 {
            return Err(bad(format!("应为 18 位，实为 {} 位", t.chars().count())));
        }
        if !b[..17].iter().all(u8::is_ascii_digit) || !(b[17].is_ascii_digit() || b[17] == b'X') {
            return Err(bad("前 17 位须为数字，末位为数字或 X".into()));
        }
        let (y, m, d) = (&t[6..10], &t[10..12], &t[12..14]);
        let birth = NaiveDate::from_ymd_opt(y.parse().unwrap_or(0), m.parse().unwrap_or(0), d.parse().unwrap_or(0));
        match birth {
            Some(bd) if y >= "1900" && bd <= chrono::Utc::now().date_naive() => {}
            _ => return Err(bad(format!("出生日期 {y}-{m}-{d} 无效"))),
        }
        const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
        let sum: u32 = b[..17].iter().zip(W).map(|(c, w)| (c - b'0') as u32 * w).sum();
        let check = b"10X98765432"[(sum % 11) as usize];
        if b[17] != check {
            return Err(bad(format!("校验码错误（MOD 11-2，末位应为 {}）", check as char)));
        }
        Ok(IdNumber(t))
    }
    /// Build a valid number from a region, a birth date (YYYYMMDD) and a sequence (0–999), computing
    /// the check character: for synthetic test and demo data.
    pub fn synthesize(region6: &str, birth: &str, seq: u32) -> Result<IdNumber, Invalid> {
        let body = format!("{region6}{birth}{:03}", seq % 1000);
        const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
        let digits: Vec<u32> = body.chars().filter_map(|c| c.to_digit(10)).collect();
        if digits.len() != 17 {
            return IdNumber::parse(&body);
        }
        let sum: u32 = digits.iter().zip(W).map(|(d, w)| d * w).sum();
        let check = b"10X98765432"[(sum % 11) as usize] as char;
        IdNumber::parse(&format!("{body}{check}"))
    }
    /// The clear value: only the store (to encrypt) and a permitted reader may ask for it.
    pub fn expose(&self) -> &str {
        &self.0
    }
    /// 110***********002X: the first three and last four characters.
    pub fn masked(&self) -> String {
        mask(&self.0, 3, 4)
    }
    pub fn birth_date(&self) -> Option<Date> {
        Date::parse(&format!("{}-{}-{}", &self.0[6..10], &self.0[10..12], &self.0[12..14])).ok()
    }
}

impl fmt::Debug for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdNumber({})", self.masked())
    }
}

/// A Chinese mobile (1[3-9] + 9 digits) or landline (area code 0xx/0xxx, then 7–8 digits, an
/// optional hyphen) number, stored without separators.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Phone(String);

impl Phone {
    pub fn parse(s: &str) -> Result<Phone, Invalid> {
        let raw = s.trim();
        let t: String = raw.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        let t = t.strip_prefix("+86").unwrap_or(&t).to_string();
        let digits = t.chars().all(|c| c.is_ascii_digit());
        let b = t.as_bytes();
        let mobile = digits && b.len() == 11 && b[0] == b'1' && (b'3'..=b'9').contains(&b[1]);
        let landline = digits && b.first() == Some(&b'0') && (10..=12).contains(&b.len());
        if mobile || landline {
            Ok(Phone(t))
        } else {
            Err(Invalid::new(
                "phone",
                "联系电话",
                "手机号 11 位（1 开头）或固定电话（区号+号码）",
                format!("“{raw}”不是有效的电话号码"),
            ))
        }
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    /// 138****1234 for mobiles; area code, stars, last four for landlines.
    pub fn masked(&self) -> String {
        if self.0.len() == 11 && self.0.starts_with('1') {
            mask(&self.0, 3, 4)
        } else {
            let area = if self.0.starts_with("01") || self.0.starts_with("02") { 3 } else { 4 };
            mask(&self.0, area, 4)
        }
    }
}

impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Phone({})", self.masked())
    }
}

/// `s` with all but its first `head` and last `tail` characters starred.
pub fn mask(s: &str, head: usize, tail: usize) -> String {
    let n = s.chars().count();
    if n <= head + tail {
        return "*".repeat(n);
    }
    let chars: Vec<char> = s.chars().collect();
    let mut out: String = chars[..head].iter().collect();
    out.push_str(&"*".repeat(n - head - tail));
    out.extend(&chars[n - tail..]);
    out
}

/// Who a person is to the program.
pub const PERSON_KINDS: &[(&str, &str)] = &[("aid", "援疆干部人才"), ("local", "当地人员"), ("expert", "专家")];

/// Category of aid personnel.
pub const CATEGORIES: &[(&str, &str)] =
    &[("cadre", "干部"), ("professional", "专业技术人才"), ("flexible", "柔性援疆")];

/// Lines of work (援疆领域), shared by people, projects and figures.
pub const LINES: &[(&str, &str)] = &[
    ("party", "党政"),
    ("education", "教育"),
    ("medical", "医疗"),
    ("industry", "产业"),
    ("employment", "就业"),
    ("investment", "招商引资"),
    ("culture", "文化交流"),
    ("infrastructure", "基础设施"),
    ("livelihood", "民生"),
];

/// A person to be written.
#[derive(Debug, Clone, PartialEq)]
pub struct NewPerson {
    pub program_id: ProgramId,
    pub kind: &'static str,
    pub name: String,
    pub gender: Option<&'static str>,
    pub batch_id: Option<BatchId>,
    pub category: Option<&'static str>,
    pub line: Option<&'static str>,
    pub title: Option<String>,
    pub post: Option<String>,
    pub home_org_id: Option<OrgId>,
    pub host_org_id: Option<OrgId>,
    pub start_date: Option<Date>,
    pub end_date: Option<Date>,
    pub id_number: Option<IdNumber>,
    pub phone: Option<Phone>,
}

impl NewPerson {
    pub fn parse_kind(s: &str) -> Result<&'static str, Invalid> {
        code_in(PERSON_KINDS, "kind", "人员类别", s)
    }
    pub fn parse_category(s: &str) -> Result<&'static str, Invalid> {
        code_in(CATEGORIES, "category", "援疆类别", s)
    }
    pub fn parse_line(s: &str) -> Result<&'static str, Invalid> {
        code_in(LINES, "line", "援疆领域", s)
    }
}

impl Entity for NewPerson {
    type Kind = crate::ids::kind::Person;
    fn columns(&self) -> Vec<(&'static str, Val)> {
        vec![
            ("program_id", self.program_id.into()),
            ("kind", self.kind.into()),
            ("name", self.name.clone().into()),
            ("gender", self.gender.into()),
            ("batch_id", self.batch_id.into()),
            ("category", self.category.into()),
            ("line", self.line.into()),
            ("title", self.title.clone().into()),
            ("post", self.post.clone().into()),
            ("home_org_id", self.home_org_id.into()),
            ("host_org_id", self.host_org_id.into()),
            ("start_date", self.start_date.into()),
            ("end_date", self.end_date.into()),
            (
                "id_number",
                Val::Secret(
                    self.id_number.as_ref().map(|i| Secret { clear: i.expose().to_string(), masked: i.masked() }),
                ),
            ),
            (
                "phone",
                Val::Secret(self.phone.as_ref().map(|p| Secret { clear: p.expose().to_string(), masked: p.masked() })),
            ),
        ]
    }
    fn check(&self) -> Result<(), Invalids> {
        let mut e = Invalids::default();
        e.take(required_text("name", "姓名", &self.name, 50));
        e.take(check_span("end_date", "离岗日期", self.start_date, self.end_date));
        if self.kind == "aid" && self.category.is_none() {
            e.push(Invalid::new("category", "援疆类别", "援疆干部人才须填写类别", "援疆干部人才须填写援疆类别"));
        }
        e.finish(|| ())
    }
    fn references(&self) -> Vec<Reference> {
        vec![
            Reference::new("program_id", "所属援疆工作", "programs", "id", self.program_id),
            Reference::new("batch_id", "批次", "batches", "id", self.batch_id),
            Reference::new("home_org_id", "派出单位", "organizations", "id", self.home_org_id),
            Reference::new("host_org_id", "受援单位", "organizations", "id", self.host_org_id),
        ]
    }
}

/// What a reader may see of a person's identifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Reveal {
    Masked,
    Clear,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_numbers_per_gb_11643() {
        assert!(IdNumber::parse("11010519491231002X").is_ok());
        assert!(IdNumber::parse("11010519491231002x").is_ok());
        assert_eq!(IdNumber::parse("11010519491231002x").unwrap().expose(), "11010519491231002X");
        assert!(IdNumber::parse("360426199101010071").is_ok());
        let e = IdNumber::parse("36042619910102009X").unwrap_err();
        assert!(e.message.contains("校验码"), "{e}");
        assert_eq!(e.rule, "GB 11643 公民身份号码");
        // a bad birth date (Feb 30) is refused even before the check digit
        assert!(IdNumber::parse("360426199102300071").unwrap_err().message.contains("出生日期"));
        assert!(IdNumber::parse("36042619910101007").is_err());
        assert_eq!(IdNumber::parse("11010519491231002X").unwrap().masked(), "110***********002X");
        assert_eq!(IdNumber::parse("360426199101010071").unwrap().birth_date().unwrap().to_string(), "1991-01-01");
        assert!(!format!("{:?}", IdNumber::parse("360426199101010071").unwrap()).contains("19910101"));
    }

    #[test]
    fn phones_validate_and_mask() {
        assert_eq!(Phone::parse("138 0013 1234").unwrap().masked(), "138****1234");
        assert_eq!(Phone::parse("+8613800131234").unwrap().expose(), "13800131234");
        assert_eq!(Phone::parse("0908-7622612").unwrap().masked(), "0908***2612");
        assert!(Phone::parse("12345").is_err());
        assert!(Phone::parse("12800131234").is_err());
    }
}
