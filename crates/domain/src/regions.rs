//! Places: GB/T 2260 administrative division codes (6 digits: province, prefecture, county) and
//! the statistical division codes below them (9 digits for townships, 12 for villages; a
//! 12-digit township code ending in 000 is the same place as its 9-digit form). Places are codes,
//! never free text; names are looked up, with aliases, scoped under a parent.

use crate::Invalid;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A division code. Parsing normalises a 12-digit code that ends in `000` to its 9-digit township.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RegionCode(String);

impl RegionCode {
    pub fn parse(s: &str) -> Result<RegionCode, Invalid> {
        let t = s.trim();
        let bad = |why: &str| {
            Invalid::new("region_code", "区划代码", "GB/T 2260 区划代码（6、9 或 12 位数字）", format!("“{t}”{why}"))
        };
        if !t.chars().all(|c| c.is_ascii_digit()) {
            return Err(bad("含有非数字字符"));
        }
        let code = match t.len() {
            6 | 9 => t.to_string(),
            12 if t.ends_with("000") => t[..9].to_string(),
            12 => t.to_string(),
            _ => return Err(bad("位数不对")),
        };
        if &code[..2] < "11" || &code[..2] > "82" {
            return Err(bad("省级代码不存在"));
        }
        Ok(RegionCode(code))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The prefix shared by every code inside this place: 650000 → "65", 653000 → "6530",
    /// 653022 → "653022", 653022202 → "653022202".
    pub fn subtree_prefix(&self) -> String {
        let c = &self.0;
        if c.len() == 6 {
            if c.ends_with("0000") {
                return c[..2].to_string();
            }
            if c.ends_with("00") {
                return c[..4].to_string();
            }
        }
        c.clone()
    }
    /// True when `other` is this place or lies inside it.
    pub fn contains(&self, other: &RegionCode) -> bool {
        other.0.starts_with(&self.subtree_prefix())
    }
}

impl fmt::Display for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl TryFrom<String> for RegionCode {
    type Error = Invalid;
    fn try_from(s: String) -> Result<Self, Invalid> {
        RegionCode::parse(&s)
    }
}
impl From<RegionCode> for String {
    fn from(c: RegionCode) -> String {
        c.0
    }
}

/// Level of a division.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Province,
    Prefecture,
    County,
    Township,
    Village,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Province => "province",
            Level::Prefecture => "prefecture",
            Level::County => "county",
            Level::Township => "township",
            Level::Village => "village",
        }
    }
}

/// One place of the built-in division table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    pub code: &'static str,
    pub name: &'static str,
    pub parent: Option<&'static str>,
    pub level: Level,
    pub aliases: &'static [&'static str],
}

const fn r(
    code: &'static str,
    name: &'static str,
    parent: Option<&'static str>,
    level: Level,
    aliases: &'static [&'static str],
) -> Region {
    Region { code, name, parent, level, aliases }
}

use Level::*;

/// The divisions Counterpart ships: the paired prefecture down to Akto's townships, the donor
/// province and its eleven cities, and the few other places the program's records name.
pub static REGIONS: &[Region] = &[
    r("650000", "新疆维吾尔自治区", None, Province, &["新疆"]),
    r("653000", "克孜勒苏柯尔克孜自治州", Some("650000"), Prefecture, &["克州"]),
    r("653001", "阿图什市", Some("653000"), County, &[]),
    r("653022", "阿克陶县", Some("653000"), County, &[]),
    r("653023", "阿合奇县", Some("653000"), County, &[]),
    r("653024", "乌恰县", Some("653000"), County, &[]),
    r("653022100", "阿克陶镇", Some("653022"), Township, &[]),
    r("653022101", "奥依塔克镇", Some("653022"), Township, &[]),
    r("653022102", "克孜勒陶镇", Some("653022"), Township, &[]),
    r("653022103", "恰尔隆镇", Some("653022"), Township, &[]),
    r("653022200", "玉麦乡", Some("653022"), Township, &[]),
    r("653022201", "皮拉勒乡", Some("653022"), Township, &["皮拉力乡"]),
    r("653022202", "巴仁乡", Some("653022"), Township, &[]),
    r("653022203", "喀热开其克乡", Some("653022"), Township, &["喀热克其克乡"]),
    r("653022204", "加马铁热克乡", Some("653022"), Township, &["加马铁力克乡"]),
    r("653022205", "木吉乡", Some("653022"), Township, &[]),
    r("653022206", "布伦口乡", Some("653022"), Township, &[]),
    r("653022210", "塔尔塔吉克族乡", Some("653022"), Township, &["塔尔塔吉克民族乡"]),
    r("653100", "喀什地区", Some("650000"), Prefecture, &[]),
    r("654200", "塔城地区", Some("650000"), Prefecture, &[]),
    r("654221", "额敏县", Some("654200"), County, &[]),
    r("659000", "自治区直辖县级行政区划", Some("650000"), Prefecture, &[]),
    r("659002", "阿拉尔市", Some("659000"), County, &[]),
    r("360000", "江西省", None, Province, &["江西"]),
    r("360100", "南昌市", Some("360000"), Prefecture, &[]),
    r("360200", "景德镇市", Some("360000"), Prefecture, &[]),
    r("360300", "萍乡市", Some("360000"), Prefecture, &[]),
    r("360400", "九江市", Some("360000"), Prefecture, &[]),
    r("360426", "德安县", Some("360400"), County, &[]),
    r("360500", "新余市", Some("360000"), Prefecture, &[]),
    r("360600", "鹰潭市", Some("360000"), Prefecture, &[]),
    r("360700", "赣州市", Some("360000"), Prefecture, &[]),
    r("360703", "南康区", Some("360700"), County, &[]),
    r("360728", "定南县", Some("360700"), County, &[]),
    r("360800", "吉安市", Some("360000"), Prefecture, &[]),
    r("360900", "宜春市", Some("360000"), Prefecture, &[]),
    r("361000", "抚州市", Some("360000"), Prefecture, &[]),
    r("361100", "上饶市", Some("360000"), Prefecture, &[]),
];

/// Why a name did not resolve to exactly one place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup<'a> {
    Found(&'a Region),
    NotFound,
    Ambiguous(Vec<&'static str>),
}

/// Places by name, with aliases, optionally only inside a parent (at any depth).
pub struct RegionTable<'a> {
    pub regions: &'a [Region],
}

impl RegionTable<'static> {
    pub fn builtin() -> RegionTable<'static> {
        RegionTable { regions: REGIONS }
    }
}

impl<'a> RegionTable<'a> {
    pub fn get(&self, code: &RegionCode) -> Option<&'a Region> {
        self.regions.iter().find(|r| r.code == code.as_str())
    }

    fn is_under(&self, region: &Region, ancestor: &str) -> bool {
        let mut p = region.parent;
        while let Some(code) = p {
            if code == ancestor {
                return true;
            }
            p = self.regions.iter().find(|r| r.code == code).and_then(|r| r.parent);
        }
        false
    }

    /// Find a place by its name or an alias. With `parent`, only places inside it count;
    /// without, a name that more than one place bears is ambiguous and refused.
    pub fn find(&self, name: &str, parent: Option<&RegionCode>) -> Lookup<'a> {
        let name = name.trim();
        let hits: Vec<&'a Region> = self
            .regions
            .iter()
            .filter(|r| r.name == name || r.aliases.contains(&name))
            .filter(|r| parent.is_none_or(|p| self.is_under(r, p.as_str())))
            .collect();
        match hits.as_slice() {
            [] => Lookup::NotFound,
            [one] => Lookup::Found(one),
            many => Lookup::Ambiguous(many.iter().map(|r| r.code).collect()),
        }
    }

    /// [`find`](Self::find) as a field parse, with the message a user needs.
    pub fn resolve(&self, name: &str, parent: Option<&RegionCode>) -> Result<RegionCode, Invalid> {
        let within = parent.map(|p| format!("在 {p} 之下")).unwrap_or_default();
        match self.find(name, parent) {
            Lookup::Found(r) => Ok(RegionCode(r.code.to_string())),
            Lookup::NotFound => Err(Invalid::new(
                "region",
                "地点",
                "地名须对应区划代码",
                format!("{within}找不到地名“{}”", name.trim()),
            )),
            Lookup::Ambiguous(codes) => Err(Invalid::new(
                "region",
                "地点",
                "重名地名须指明上级区划",
                format!("地名“{}”有多处（{}），请填写上级区划或直接填写代码", name.trim(), codes.join("、")),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_parse_and_normalise() {
        assert_eq!(RegionCode::parse("653022202000").unwrap().as_str(), "653022202");
        assert_eq!(RegionCode::parse(" 653022 ").unwrap().as_str(), "653022");
        assert!(RegionCode::parse("65302").is_err());
        assert!(RegionCode::parse("65302a").is_err());
        assert!(RegionCode::parse("990000").is_err());
        let kz = RegionCode::parse("653000").unwrap();
        assert_eq!(kz.subtree_prefix(), "6530");
        assert!(kz.contains(&RegionCode::parse("653022210").unwrap()));
        assert!(!kz.contains(&RegionCode::parse("654221").unwrap()));
        assert_eq!(RegionCode::parse("650000").unwrap().subtree_prefix(), "65");
    }

    #[test]
    fn names_resolve_with_aliases_and_parents() {
        let t = RegionTable::builtin();
        let akto = RegionCode::parse("653022").unwrap();
        assert_eq!(t.resolve("巴仁乡", Some(&akto)).unwrap().as_str(), "653022202");
        assert_eq!(t.resolve("塔尔塔吉克族乡", None).unwrap().as_str(), "653022210");
        assert_eq!(t.resolve("塔尔塔吉克民族乡", None).unwrap().as_str(), "653022210");
        let kz = RegionCode::parse("653000").unwrap();
        assert_eq!(t.resolve("巴仁乡", Some(&kz)).unwrap().as_str(), "653022202");
        let jx = RegionCode::parse("360000").unwrap();
        assert!(t.resolve("巴仁乡", Some(&jx)).is_err());
        // every parent exists and codes are unique
        for r in REGIONS {
            assert!(RegionCode::parse(r.code).is_ok(), "{}", r.code);
            if let Some(p) = r.parent {
                assert!(REGIONS.iter().any(|x| x.code == p), "{}", r.code);
            }
            assert_eq!(REGIONS.iter().filter(|x| x.code == r.code).count(), 1);
        }
    }

    #[test]
    fn the_same_name_under_two_parents_needs_the_parent() {
        static T: &[Region] = &[
            r("653000", "克孜勒苏柯尔克孜自治州", None, Prefecture, &[]),
            r("653022", "阿克陶县", Some("653000"), County, &[]),
            r("653024", "乌恰县", Some("653000"), County, &[]),
            r("653022202", "巴仁乡", Some("653022"), Township, &[]),
            r("653024299", "巴仁乡", Some("653024"), Township, &[]),
        ];
        let t = RegionTable { regions: T };
        let e = t.resolve("巴仁乡", None).unwrap_err();
        assert_eq!(e.rule, "重名地名须指明上级区划");
        let akto = RegionCode::parse("653022").unwrap();
        let wq = RegionCode::parse("653024").unwrap();
        assert_eq!(t.resolve("巴仁乡", Some(&akto)).unwrap().as_str(), "653022202");
        assert_eq!(t.resolve("巴仁乡", Some(&wq)).unwrap().as_str(), "653024299");
    }
}
