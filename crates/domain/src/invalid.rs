//! Validation failures: each names the field (machine key and Chinese label) and the rule broken.

use serde::Serialize;
use std::fmt;

/// One refused value. `field` is the stable key used by the API and import column mapping;
/// `label` is the Chinese field name shown to users; `rule` names the rule or standard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Invalid {
    pub field: String,
    pub label: String,
    pub rule: String,
    pub message: String,
}

impl Invalid {
    pub fn new(
        field: impl Into<String>,
        label: impl Into<String>,
        rule: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Invalid { field: field.into(), label: label.into(), rule: rule.into(), message: message.into() }
    }

    /// Re-attribute an error produced by a newtype parser to the form field it came from.
    pub fn at(mut self, field: &str, label: &str) -> Self {
        self.field = field.to_string();
        self.label = label.to_string();
        self
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}：{}（规则：{}）", self.label, self.message, self.rule)
    }
}

impl std::error::Error for Invalid {}

/// All the refusals of one record; a record is written only when this is empty.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Invalids(pub Vec<Invalid>);

impl Invalids {
    pub fn push(&mut self, e: Invalid) {
        self.0.push(e);
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// Collect the error of a parse, returning the value when it parsed.
    pub fn take<T>(&mut self, r: Result<T, Invalid>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.push(e);
                None
            }
        }
    }
    pub fn finish<T>(self, value: impl FnOnce() -> T) -> Result<T, Invalids> {
        if self.0.is_empty() {
            Ok(value())
        } else {
            Err(self)
        }
    }
}

impl From<Invalid> for Invalids {
    fn from(e: Invalid) -> Self {
        Invalids(vec![e])
    }
}

impl fmt::Display for Invalids {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|e| e.to_string()).collect();
        write!(f, "{}", parts.join("；"))
    }
}

impl std::error::Error for Invalids {}
