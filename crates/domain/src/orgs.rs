//! Organizations: two trees, the donor side (派出单位: departments, hospitals, schools, firms of
//! the donor province) and the recipient side (受援单位: bureaus, the county hospital and its
//! departments, schools), each node placed in a region. 统一社会信用代码 per GB 32100.

use crate::ids::OrgId;
use crate::regions::RegionCode;
use crate::values::{required_text, Reference};
use crate::{Entity, Invalid, Invalids, Val};
use serde::{Deserialize, Serialize};
use std::fmt;

/// 统一社会信用代码 (GB 32100-2015): 18 characters from a 31-character set, the last a check
/// character with weights 3^(i−1) mod 31.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CreditCode(String);

const CREDIT_CHARSET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";

impl CreditCode {
    pub fn parse(s: &str) -> Result<CreditCode, Invalid> {
        let t = s.trim().to_ascii_uppercase();
        let bad = |why: String| Invalid::new("credit_code", "统一社会信用代码", "GB 32100 统一社会信用代码", why);
        let chars: Vec<char> = t.chars().collect();
        if chars.len() != 18 {
            return Err(bad(format!("“{t}”应为 18 位，实为 {} 位", chars.len())));
        }
        let mut vals = Vec::with_capacity(18);
        for c in &chars {
            match CREDIT_CHARSET.find(*c) {
                Some(v) => vals.push(v as u64),
                None => return Err(bad(format!("“{t}”含有不允许的字符“{c}”（不使用 I、O、S、V、Z）"))),
            }
        }
        let mut sum = 0u64;
        let mut w = 1u64;
        for v in &vals[..17] {
            sum += v * w;
            w = (w * 3) % 31;
        }
        let check = (31 - sum % 31) % 31;
        if check != vals[17] {
            let want = CREDIT_CHARSET.as_bytes()[check as usize] as char;
            return Err(bad(format!("“{t}”校验码错误（应为 {want}）")));
        }
        Ok(CreditCode(t))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// Complete 17 characters with their check character: for synthetic demo and test data.
    pub fn with_check(first17: &str) -> Result<CreditCode, Invalid> {
        let mut sum = 0usize;
        let mut w = 1usize;
        for c in first17.chars() {
            sum += CREDIT_CHARSET.find(c).unwrap_or(0) * w;
            w = (w * 3) % 31;
        }
        let check = CREDIT_CHARSET.as_bytes()[(31 - sum % 31) % 31] as char;
        CreditCode::parse(&format!("{first17}{check}"))
    }
}

impl fmt::Display for CreditCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl TryFrom<String> for CreditCode {
    type Error = Invalid;
    fn try_from(s: String) -> Result<Self, Invalid> {
        CreditCode::parse(&s)
    }
}
impl From<CreditCode> for String {
    fn from(c: CreditCode) -> String {
        c.0
    }
}

/// Which side of the pairing an organization stands on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Donor,
    Recipient,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Donor => "donor",
            Side::Recipient => "recipient",
        }
    }
    pub fn parse(s: &str) -> Result<Side, Invalid> {
        match s.trim() {
            "donor" | "支援方" | "派出方" => Ok(Side::Donor),
            "recipient" | "受援方" => Ok(Side::Recipient),
            t => Err(Invalid::new("side", "所属方", "支援方或受援方", format!("“{t}”不是支援方或受援方"))),
        }
    }
}

/// Kinds of organization, as a code list.
pub const ORG_KINDS: &[(&str, &str)] = &[
    ("government", "党政机关"),
    ("command", "前方指挥部"),
    ("hospital", "医院"),
    ("department", "科室/内设部门"),
    ("school", "中小学校"),
    ("university", "高等院校"),
    ("enterprise", "企业"),
    ("centre", "服务机构"),
    ("other", "其他"),
];

/// Name of a code in a code list, or an error naming the list.
pub fn code_in(
    list: &[(&'static str, &'static str)],
    field: &str,
    label: &str,
    s: &str,
) -> Result<&'static str, Invalid> {
    let t = s.trim();
    list.iter().find(|(code, name)| *code == t || *name == t).map(|(code, _)| *code).ok_or_else(|| {
        let names: Vec<&str> = list.iter().map(|(_, n)| *n).collect();
        Invalid::new(field, label, format!("取值须为：{}", names.join("、")), format!("“{t}”不在{label}代码表中"))
    })
}

/// An organization to be written.
#[derive(Debug, Clone, PartialEq)]
pub struct NewOrg {
    /// Short stable code used by imports and reports (e.g. `JX-NCDX-YFY`).
    pub code: String,
    pub name: String,
    pub side: Side,
    pub kind: &'static str,
    pub parent_id: Option<OrgId>,
    pub region: RegionCode,
    pub credit_code: Option<CreditCode>,
}

/// An organization as entered (a form, an import row): plain strings.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct OrgDraft {
    pub code: String,
    pub name: String,
    pub side: String,
    pub kind: String,
    pub parent_id: Option<OrgId>,
    pub region_code: String,
    pub credit_code: Option<String>,
}

impl OrgDraft {
    pub fn validate(&self) -> Result<NewOrg, Invalids> {
        let mut e = Invalids::default();
        let code = e.take(required_text("code", "单位编码", &self.code, 40));
        let name = e.take(required_text("name", "单位名称", &self.name, 100));
        let side = e.take(Side::parse(&self.side));
        let kind = e.take(code_in(ORG_KINDS, "kind", "单位类型", &self.kind));
        let region = e.take(RegionCode::parse(&self.region_code).map_err(|x| x.at("region_code", "所在地区划代码")));
        let credit = match self.credit_code.as_deref().map(str::trim) {
            None | Some("") => Some(None),
            Some(c) => e.take(CreditCode::parse(c).map(Some)),
        };
        match (code, name, side, kind, region, credit) {
            (Some(code), Some(name), Some(side), Some(kind), Some(region), Some(credit_code)) if e.is_empty() => {
                Ok(NewOrg { code, name, side, kind, parent_id: self.parent_id, region, credit_code })
            }
            _ => Err(e),
        }
    }
}

impl Entity for NewOrg {
    type Kind = crate::ids::kind::Org;
    fn columns(&self) -> Vec<(&'static str, Val)> {
        vec![
            ("code", self.code.clone().into()),
            ("name", self.name.clone().into()),
            ("side", self.side.as_str().into()),
            ("kind", self.kind.into()),
            ("parent_id", self.parent_id.into()),
            ("region_code", self.region.to_string().into()),
            ("credit_code", self.credit_code.as_ref().map(|c| c.to_string()).into()),
        ]
    }
    fn references(&self) -> Vec<Reference> {
        vec![
            Reference::new("region_code", "所在地区划代码", "regions", "code", self.region.to_string()),
            Reference::new("parent_id", "上级单位", "organizations", "id", self.parent_id),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credit_codes_per_gb_32100() {
        assert!(CreditCode::parse("91110000600037341L").is_ok());
        assert!(CreditCode::parse("121200004013590816").is_ok());
        let e = CreditCode::parse("91110000600037341N").unwrap_err();
        assert_eq!(e.field, "credit_code");
        assert!(e.message.contains("校验码"), "{e}");
        assert!(CreditCode::parse("91110000600037341").is_err());
        assert_eq!(CreditCode::with_check("91110000600037341").unwrap().as_str(), "91110000600037341L");
        assert!(CreditCode::parse("9111000060003734IL").is_err());
        assert_eq!(CreditCode::parse("91110000600037341l").unwrap().as_str(), "91110000600037341L");
    }

    #[test]
    fn drafts_name_every_bad_field() {
        let d = OrgDraft {
            code: "".into(),
            name: "阿克陶县人民医院".into(),
            side: "受援方".into(),
            kind: "医院".into(),
            parent_id: None,
            region_code: "65302".into(),
            credit_code: Some("91110000600037341N".into()),
        };
        let e = d.validate().unwrap_err();
        let fields: Vec<&str> = e.0.iter().map(|x| x.field.as_str()).collect();
        assert_eq!(fields, vec!["code", "region_code", "credit_code"]);
    }
}
