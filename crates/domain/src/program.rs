//! Programs (a donor–recipient pairing) and their numbered batches of personnel.

use crate::ids::ProgramId;
use crate::regions::RegionCode;
use crate::values::{check_span, required_text, Reference};
use crate::{Date, Entity, Invalid, Invalids, Val};

/// A counterpart-aid program: one donor region aiding one recipient region.
#[derive(Debug, Clone, PartialEq)]
pub struct NewProgram {
    pub code: String,
    pub name: String,
    pub donor_region: RegionCode,
    pub recipient_region: RegionCode,
    pub start_date: Date,
}

impl Entity for NewProgram {
    type Kind = crate::ids::kind::Program;
    fn columns(&self) -> Vec<(&'static str, Val)> {
        vec![
            ("code", self.code.clone().into()),
            ("name", self.name.clone().into()),
            ("donor_region", self.donor_region.to_string().into()),
            ("recipient_region", self.recipient_region.to_string().into()),
            ("start_date", self.start_date.into()),
        ]
    }
    fn check(&self) -> Result<(), Invalids> {
        let mut e = Invalids::default();
        e.take(required_text("code", "编码", &self.code, 40));
        e.take(required_text("name", "名称", &self.name, 100));
        if self.donor_region == self.recipient_region {
            e.push(Invalid::new("recipient_region", "受援地", "支援地与受援地不同", "支援地与受援地不能相同"));
        }
        e.finish(|| ())
    }
    fn references(&self) -> Vec<Reference> {
        vec![
            Reference::new("donor_region", "支援地", "regions", "code", self.donor_region.to_string()),
            Reference::new("recipient_region", "受援地", "regions", "code", self.recipient_region.to_string()),
        ]
    }
}

/// A numbered batch (批次) of personnel, usually three years.
#[derive(Debug, Clone, PartialEq)]
pub struct NewBatch {
    pub program_id: ProgramId,
    pub number: i64,
    pub start_date: Date,
    pub end_date: Option<Date>,
}

impl Entity for NewBatch {
    type Kind = crate::ids::kind::Batch;
    fn columns(&self) -> Vec<(&'static str, Val)> {
        vec![
            ("program_id", self.program_id.into()),
            ("number", self.number.into()),
            ("start_date", self.start_date.into()),
            ("end_date", self.end_date.into()),
        ]
    }
    fn check(&self) -> Result<(), Invalids> {
        let mut e = Invalids::default();
        if self.number < 1 {
            e.push(Invalid::new("number", "批次号", "批次号为正整数", format!("批次号 {} 须为正整数", self.number)));
        }
        e.take(check_span("end_date", "结束日期", Some(self.start_date), self.end_date));
        e.finish(|| ())
    }
    fn references(&self) -> Vec<Reference> {
        vec![Reference::new("program_id", "所属援疆工作", "programs", "id", self.program_id)]
    }
}
