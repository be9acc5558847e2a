//! Building one query with numbered parameters (`$1`, `$2`, …), which both backends accept
//! through sqlx's `Any` driver: the figure queries, the record lists and the audit search use it.

use sqlx::any::AnyArguments;
use sqlx::query::{Query, QueryAs};
use sqlx::Any;

/// A bound parameter.
#[derive(Debug, Clone)]
pub(crate) enum P {
    I(i64),
    T(String),
}

/// Query text and its parameters, in order.
#[derive(Debug, Default)]
pub(crate) struct Sql {
    pub text: String,
    pub params: Vec<P>,
}

impl Sql {
    /// Add a parameter; returns its placeholder.
    pub fn param(&mut self, p: P) -> String {
        self.params.push(p);
        format!("${}", self.params.len())
    }
}

pub(crate) fn bind_all<'q>(mut q: Query<'q, Any, AnyArguments<'q>>, params: &[P]) -> Query<'q, Any, AnyArguments<'q>> {
    for p in params {
        q = match p {
            P::I(i) => q.bind(*i),
            P::T(t) => q.bind(t.clone()),
        };
    }
    q
}

pub(crate) fn bind_all_as<'q, T>(
    mut q: QueryAs<'q, Any, T, AnyArguments<'q>>,
    params: &[P],
) -> QueryAs<'q, Any, T, AnyArguments<'q>> {
    for p in params {
        q = match p {
            P::I(i) => q.bind(*i),
            P::T(t) => q.bind(t.clone()),
        };
    }
    q
}
