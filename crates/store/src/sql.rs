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
    F(f64),
    /// Typed NULLs: PostgreSQL refuses a text NULL for an integer column.
    NullInt,
    NullText,
    NullReal,
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
            P::F(f) => q.bind(*f),
            P::NullInt => q.bind(Option::<i64>::None),
            P::NullText => q.bind(Option::<String>::None),
            P::NullReal => q.bind(Option::<f64>::None),
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
            P::F(f) => q.bind(*f),
            P::NullInt => q.bind(Option::<i64>::None),
            P::NullText => q.bind(Option::<String>::None),
            P::NullReal => q.bind(Option::<f64>::None),
        };
    }
    q
}

/// The statement without its `LEFT JOIN table alias ON alias.id = other.column` clauses whose
/// alias nothing else in it refers to. A left join on the joined table's key neither adds nor
/// removes rows, so leaving an unused one out changes no result; it lets the database count from
/// the base table alone, or from an index of it, instead of looking up every row's partners (the
/// record sets of the figure engine join every table a filter might name). A join that another
/// kept join refers to is kept; anything not of that exact shape is kept as it is.
pub(crate) fn prune_left_joins(text: &str) -> String {
    const LJ: &str = " LEFT JOIN ";
    let mut pieces = text.split(LJ);
    let head = pieces.next().unwrap_or_default();
    // (join clause, alias, the alias its ON clause refers to, the text after the clause)
    let mut joins: Vec<(&str, String, String, &str)> = Vec::new();
    let mut kept_as_is: Vec<usize> = Vec::new();
    for (i, piece) in pieces.enumerate() {
        match join_clause(piece) {
            Some((end, alias, other)) => joins.push((&piece[..end], alias, other, &piece[end..])),
            None => {
                kept_as_is.push(i);
                joins.push((piece, String::new(), String::new(), ""));
            }
        }
    }
    let refers = |hay: &str, alias: &str| {
        let needle = format!("{alias}.");
        hay.match_indices(&needle)
            .any(|(at, _)| hay[..at].chars().next_back().is_none_or(|c| !(c.is_alphanumeric() || c == '_')))
    };
    // What refers to the aliases: the head, every text after a clause, and the clauses kept.
    let mut keep: Vec<bool> = (0..joins.len()).map(|i| kept_as_is.contains(&i)).collect();
    let mut others = String::from(head);
    for (i, (clause, _, _, rest)) in joins.iter().enumerate() {
        others.push(' ');
        others.push_str(rest);
        if keep[i] {
            others.push(' ');
            others.push_str(clause);
        }
    }
    loop {
        let mut changed = false;
        for i in 0..joins.len() {
            if !keep[i] && refers(&others, &joins[i].1) {
                keep[i] = true;
                others.push(' ');
                others.push_str(&joins[i].2);
                others.push('.');
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    let mut out = String::from(head);
    for (i, (clause, _, _, rest)) in joins.iter().enumerate() {
        if keep[i] {
            out.push_str(LJ);
            out.push_str(clause);
        }
        out.push_str(rest);
    }
    out
}

/// `table alias ON alias.id = other.column…`: the clause's length, its alias and `other`.
fn join_clause(piece: &str) -> Option<(usize, String, String)> {
    let mut words = Vec::new();
    let mut start = None;
    for (i, c) in piece.char_indices().chain(std::iter::once((piece.len(), ' '))) {
        match (c.is_whitespace(), start) {
            (false, None) => start = Some(i),
            (true, Some(s)) => {
                words.push((s, i));
                start = None;
                if words.len() == 6 {
                    break;
                }
            }
            _ => {}
        }
    }
    let w = |k: usize| words.get(k).map(|&(s, e)| &piece[s..e]);
    let alias = w(1)?;
    let ident = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    let (other, column) = w(5)?.split_once('.')?;
    let ok = ident(w(0)?)
        && ident(alias)
        && w(2)? == "ON"
        && w(3)? == format!("{alias}.id")
        && w(4)? == "="
        && ident(other)
        && ident(column)
        && other != alias;
    ok.then(|| (words[5].1, alias.to_string(), other.to_string()))
}

#[cfg(test)]
mod tests {
    use super::prune_left_joins;

    #[test]
    fn unused_key_joins_are_left_out_and_used_ones_kept() {
        let q = "SELECT COUNT(*) FROM projects pr LEFT JOIN batches b ON b.id = pr.batch_id \
                 LEFT JOIN organizations o ON o.id = pr.org_id WHERE pr.status = $1";
        assert_eq!(prune_left_joins(q), "SELECT COUNT(*) FROM projects pr WHERE pr.status = $1");
        let q = "SELECT COUNT(*) FROM projects pr LEFT JOIN batches b ON b.id = pr.batch_id \
                 LEFT JOIN organizations o ON o.id = pr.org_id WHERE o.path LIKE $1";
        assert_eq!(
            prune_left_joins(q),
            "SELECT COUNT(*) FROM projects pr LEFT JOIN organizations o ON o.id = pr.org_id WHERE o.path LIKE $1"
        );
        // `pb.x` is not a use of `b`; `b.number` in the select list is.
        let q = "SELECT CAST(b.number AS TEXT), COUNT(*) FROM people p LEFT JOIN batches b ON b.id = p.batch_id GROUP BY pb.x";
        assert_eq!(prune_left_joins(q), q);
        let q = "SELECT COUNT(*) FROM people p LEFT JOIN batches b ON b.id = p.batch_id WHERE pb.x = 1";
        assert_eq!(prune_left_joins(q), "SELECT COUNT(*) FROM people p WHERE pb.x = 1");
        // A join another kept join needs is kept; a join of another shape is never touched.
        let q = "SELECT o.name FROM a LEFT JOIN b ON b.id = a.b_id LEFT JOIN organizations o ON o.id = b.org_id";
        assert_eq!(prune_left_joins(q), q);
        let q = "SELECT 1 FROM a LEFT JOIN t x ON x.code = a.code WHERE 1 = 1";
        assert_eq!(prune_left_joins(q), q);
        let q = "SELECT 1 FROM ap JOIN activities a ON a.id = ap.activity_id LEFT JOIN organizations o ON o.id = a.organizer_org_id";
        assert_eq!(prune_left_joins(q), "SELECT 1 FROM ap JOIN activities a ON a.id = ap.activity_id");
    }
}
