//! Pairings (结对): lasting ties between two organizations or two people, typed, with start and end.

use crate::ids::{OrgId, PersonId, ProgramId};
use crate::values::{check_span, required_text, Reference};
use crate::{Date, Entity, Invalid, Invalids, Val};

/// Built-in pairing types: (code, name, party: "org" or "person"). Programs add their own.
pub const PAIRING_TYPES: &[(&str, &str, &str)] = &[
    ("school_school", "校校结对（百校万生）", "org"),
    ("university_campus", "高校对口支援", "org"),
    ("hospital_department", "院包科", "org"),
    ("mentor_teacher", "青蓝工程（师徒结对）", "person"),
    ("mentor_doctor", "师带徒（传帮带）", "person"),
];

/// A code for a user-defined type: lowercase letters, digits and `_`, starting with a letter.
pub fn check_type_code(code: &str) -> Result<(), Invalid> {
    let ok = code.len() <= 40
        && code.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && code.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(Invalid::new(
            "code",
            "类型编码",
            "小写字母开头，仅含小写字母、数字和下划线，最多 40 位",
            format!("“{code}”不是有效的类型编码"),
        ))
    }
}

/// A user-defined pairing type (built-in ones come with the schema).
#[derive(Debug, Clone, PartialEq)]
pub struct NewPairingType {
    pub code: String,
    pub name: String,
    /// "org" (between two organizations) or "person" (between two people).
    pub party: &'static str,
}

impl Entity for NewPairingType {
    type Kind = crate::ids::kind::PairingType;
    fn columns(&self) -> Vec<(&'static str, Val)> {
        vec![
            ("code", self.code.clone().into()),
            ("name", self.name.clone().into()),
            ("party", self.party.into()),
            ("builtin", 0i64.into()),
        ]
    }
    fn check(&self) -> Result<(), Invalids> {
        let mut e = Invalids::default();
        e.take(check_type_code(&self.code));
        e.take(required_text("name", "类型名称", &self.name, 50));
        if !matches!(self.party, "org" | "person") {
            e.push(Invalid::new(
                "party",
                "结对双方",
                "单位之间（org）或个人之间（person）",
                format!("“{}”无效", self.party),
            ));
        }
        e.finish(|| ())
    }
}

macro_rules! code_item {
    ($(#[$doc:meta])* $ty:ident, $kind:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq)]
        pub struct $ty {
            pub code: String,
            pub name: String,
        }

        impl Entity for $ty {
            type Kind = crate::ids::kind::$kind;
            fn columns(&self) -> Vec<(&'static str, Val)> {
                vec![("code", self.code.clone().into()), ("name", self.name.clone().into()), ("builtin", 0i64.into())]
            }
            fn check(&self) -> Result<(), Invalids> {
                let mut e = Invalids::default();
                e.take(check_type_code(&self.code));
                e.take(required_text("name", "名称", &self.name, 50));
                e.finish(|| ())
            }
        }
    };
}

code_item!(
    /// A user-defined activity type.
    NewActivityType,
    ActivityType
);
code_item!(
    /// A user-defined activity brand.
    NewBrand,
    Brand
);

/// A pairing between two organizations (a = donor side) or two people (a = mentor).
#[derive(Debug, Clone, PartialEq)]
pub struct NewPairing {
    pub program_id: ProgramId,
    pub type_code: String,
    pub a_org_id: Option<OrgId>,
    pub b_org_id: Option<OrgId>,
    pub a_person_id: Option<PersonId>,
    pub b_person_id: Option<PersonId>,
    pub start_date: Date,
    pub end_date: Option<Date>,
    pub note: Option<String>,
}

impl Entity for NewPairing {
    type Kind = crate::ids::kind::Pairing;
    fn columns(&self) -> Vec<(&'static str, Val)> {
        vec![
            ("program_id", self.program_id.into()),
            ("type_code", self.type_code.clone().into()),
            ("a_org_id", self.a_org_id.into()),
            ("b_org_id", self.b_org_id.into()),
            ("a_person_id", self.a_person_id.into()),
            ("b_person_id", self.b_person_id.into()),
            ("start_date", self.start_date.into()),
            ("end_date", self.end_date.into()),
            ("note", self.note.clone().into()),
        ]
    }
    fn check(&self) -> Result<(), Invalids> {
        let mut e = Invalids::default();
        e.take(required_text("type_code", "结对类型", &self.type_code, 40));
        let orgs = self.a_org_id.is_some() && self.b_org_id.is_some();
        let people = self.a_person_id.is_some() && self.b_person_id.is_some();
        let any_org = self.a_org_id.is_some() || self.b_org_id.is_some();
        let any_person = self.a_person_id.is_some() || self.b_person_id.is_some();
        let complete = (orgs && !any_person) || (people && !any_org);
        if !complete {
            e.push(Invalid::new(
                "b_org_id",
                "结对双方",
                "结对双方须同为单位或同为个人，且双方都要填写",
                "结对双方不完整，或单位与个人混填",
            ));
        }
        if orgs && self.a_org_id == self.b_org_id || people && self.a_person_id == self.b_person_id {
            e.push(Invalid::new("b_org_id", "结对双方", "不得与自身结对", "结对双方不能是同一方"));
        }
        e.take(check_span("end_date", "结束日期", Some(self.start_date), self.end_date));
        e.finish(|| ())
    }
    fn references(&self) -> Vec<Reference> {
        vec![
            Reference::new("program_id", "所属援疆工作", "programs", "id", self.program_id),
            Reference::new("type_code", "结对类型", "pairing_types", "code", self.type_code.clone())
                .with("party", if self.a_org_id.is_some() || self.b_org_id.is_some() { "org" } else { "person" }),
            Reference::new("a_org_id", "支援方单位", "organizations", "id", self.a_org_id),
            Reference::new("b_org_id", "受援方单位", "organizations", "id", self.b_org_id),
            Reference::new("a_person_id", "导师", "people", "id", self.a_person_id),
            Reference::new("b_person_id", "徒弟", "people", "id", self.b_person_id),
        ]
    }
}
