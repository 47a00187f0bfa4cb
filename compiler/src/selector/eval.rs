//! Evaluation of a parsed selector against a label map, plus the structural
//! queries (`labels`, `uses_global`) and the canonical printer.
//!
//! Absent-label semantics follow Calico's `ast.go`: `l != v` and
//! `l not in {..}` are true when `l` is absent; `==`, `in`, `contains`,
//! `starts with` and `ends with` are false. `global()` evaluates as true
//! (it is a marker for namespace selectors, not a label test).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use super::Expr;

/// Does `expr` match `labels`?
pub(crate) fn eval(expr: &Expr, labels: &BTreeMap<String, String>) -> bool {
    let get = |l: &String| labels.get(l.as_str());
    match expr {
        Expr::All | Expr::Global => true,
        Expr::Has(l) => labels.contains_key(l.as_str()),
        Expr::Eq(l, v) => get(l).is_some_and(|x| x == v),
        Expr::Ne(l, v) => get(l).is_none_or(|x| x != v),
        Expr::In(l, set) => get(l).is_some_and(|x| set.contains(x)),
        Expr::NotIn(l, set) => get(l).is_none_or(|x| !set.contains(x)),
        Expr::Contains(l, v) => get(l).is_some_and(|x| x.contains(v.as_str())),
        Expr::StartsWith(l, v) => get(l).is_some_and(|x| x.starts_with(v.as_str())),
        Expr::EndsWith(l, v) => get(l).is_some_and(|x| x.ends_with(v.as_str())),
        Expr::Not(inner) => !eval(inner, labels),
        Expr::And(terms) => terms.iter().all(|t| eval(t, labels)),
        Expr::Or(terms) => terms.iter().any(|t| eval(t, labels)),
    }
}

/// Add every label key `expr` mentions to `out`.
pub(crate) fn collect_labels<'a>(expr: &'a Expr, out: &mut BTreeSet<&'a str>) {
    match expr {
        Expr::All | Expr::Global => {}
        Expr::Has(l)
        | Expr::Eq(l, _)
        | Expr::Ne(l, _)
        | Expr::In(l, _)
        | Expr::NotIn(l, _)
        | Expr::Contains(l, _)
        | Expr::StartsWith(l, _)
        | Expr::EndsWith(l, _) => {
            out.insert(l.as_str());
        }
        Expr::Not(inner) => collect_labels(inner, out),
        Expr::And(terms) | Expr::Or(terms) => {
            for t in terms {
                collect_labels(t, out);
            }
        }
    }
}

/// Does `global()` appear anywhere in `expr`?
pub(crate) fn uses_global(expr: &Expr) -> bool {
    match expr {
        Expr::Global => true,
        Expr::Not(inner) => uses_global(inner),
        Expr::And(terms) | Expr::Or(terms) => terms.iter().any(uses_global),
        _ => false,
    }
}

/// Binding strength of the context an expression is printed in.
const PREC_OR: u8 = 0;
const PREC_AND: u8 = 1;
const PREC_UNARY: u8 = 2;

fn write_str_lit(f: &mut fmt::Formatter<'_>, v: &str) -> fmt::Result {
    // A literal cannot contain its own quote (there are no escapes), so a
    // value holding `"` must have come from a '...' literal and vice versa.
    if v.contains('"') {
        write!(f, "'{v}'")
    } else {
        write!(f, "\"{v}\"")
    }
}

/// Print `expr` with the fewest parentheses that re-parse to the same tree.
pub(crate) fn write_expr(f: &mut fmt::Formatter<'_>, expr: &Expr, ctx: u8) -> fmt::Result {
    let binop = |f: &mut fmt::Formatter<'_>, terms: &[Expr], sep: &str, prec: u8| {
        let paren = ctx > prec;
        if paren {
            f.write_str("(")?;
        }
        for (i, t) in terms.iter().enumerate() {
            if i > 0 {
                f.write_str(sep)?;
            }
            write_expr(f, t, prec + 1)?;
        }
        if paren {
            f.write_str(")")?;
        }
        Ok(())
    };
    let cmp = |f: &mut fmt::Formatter<'_>, l: &str, op: &str, v: &str| {
        write!(f, "{l} {op} ")?;
        write_str_lit(f, v)
    };
    let set = |f: &mut fmt::Formatter<'_>, l: &str, op: &str, vs: &BTreeSet<String>| {
        write!(f, "{l} {op} {{")?;
        for (i, v) in vs.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write_str_lit(f, v)?;
        }
        f.write_str("}")
    };
    match expr {
        Expr::All => f.write_str("all()"),
        Expr::Global => f.write_str("global()"),
        Expr::Has(l) => write!(f, "has({l})"),
        Expr::Eq(l, v) => cmp(f, l, "==", v),
        Expr::Ne(l, v) => cmp(f, l, "!=", v),
        Expr::Contains(l, v) => cmp(f, l, "contains", v),
        Expr::StartsWith(l, v) => cmp(f, l, "starts with", v),
        Expr::EndsWith(l, v) => cmp(f, l, "ends with", v),
        Expr::In(l, vs) => set(f, l, "in", vs),
        Expr::NotIn(l, vs) => set(f, l, "not in", vs),
        Expr::Not(inner) => {
            f.write_str("!")?;
            if matches!(**inner, Expr::Not(_)) {
                // `!!x` would collapse on re-parse; keep the explicit group.
                f.write_str("(")?;
                write_expr(f, inner, PREC_OR)?;
                f.write_str(")")
            } else {
                write_expr(f, inner, PREC_UNARY)
            }
        }
        Expr::Or(terms) => binop(f, terms, " || ", PREC_OR),
        Expr::And(terms) => binop(f, terms, " && ", PREC_AND),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn m(src: &str, pairs: &[(&str, &str)]) -> bool {
        let expr = super::super::parser::parse(src).unwrap_or_else(|e| panic!("{src:?}: {e}"));
        eval(&expr, &labels(pairs))
    }

    #[test]
    fn all_and_global() {
        assert!(m("", &[]));
        assert!(m("all()", &[]));
        assert!(m("global()", &[("a", "b")]));
        assert!(!m("!all()", &[]));
    }

    #[test]
    fn has() {
        assert!(m("has(a)", &[("a", "")]));
        assert!(!m("has(a)", &[("b", "x")]));
        assert!(m("!has(a)", &[("b", "x")]));
    }

    #[test]
    fn equality() {
        assert!(m("a == 'x'", &[("a", "x")]));
        assert!(!m("a == 'x'", &[("a", "y")]));
        assert!(!m("a == 'x'", &[]));
        assert!(m("a == ''", &[("a", "")]));
        assert!(!m("a == ''", &[]));
        assert!(m("a != 'x'", &[("a", "y")]));
        assert!(!m("a != 'x'", &[("a", "x")]));
        // Absent label: `!=` is true.
        assert!(m("a != 'x'", &[]));
        assert!(m("a != ''", &[]));
        // ...but `!(a == 'x')` is the same thing.
        assert!(m("!a == 'x'", &[]));
    }

    #[test]
    fn sets() {
        let s = "a in {'x', 'y'}";
        assert!(m(s, &[("a", "x")]));
        assert!(m(s, &[("a", "y")]));
        assert!(!m(s, &[("a", "z")]));
        assert!(!m(s, &[]));
        let s = "a not in {'x', 'y'}";
        assert!(!m(s, &[("a", "x")]));
        assert!(m(s, &[("a", "z")]));
        assert!(m(s, &[]));
        assert!(!m("a in {}", &[("a", "")]));
        assert!(!m("a in {}", &[]));
        assert!(m("a not in {}", &[("a", "")]));
        assert!(m("a not in {}", &[]));
    }

    #[test]
    fn string_operators() {
        assert!(m("a contains 'ell'", &[("a", "hello")]));
        assert!(m("a contains ''", &[("a", "")]));
        assert!(!m("a contains 'xyz'", &[("a", "hello")]));
        assert!(!m("a contains ''", &[]));
        assert!(m("a starts with 'he'", &[("a", "hello")]));
        assert!(!m("a starts with 'lo'", &[("a", "hello")]));
        assert!(!m("a starts with ''", &[]));
        assert!(m("a ends with 'lo'", &[("a", "hello")]));
        assert!(!m("a ends with 'he'", &[("a", "hello")]));
        assert!(!m("a ends with ''", &[]));
        // Case-sensitive, byte-exact, Unicode-safe.
        assert!(!m("a contains 'ELL'", &[("a", "hello")]));
        assert!(m("a ends with 'é'", &[("a", "café")]));
        assert!(!m("!a contains 'x'", &[("a", "xx")]));
        assert!(m("!a contains 'x'", &[]));
    }

    #[test]
    fn boolean_structure() {
        let s = r#"a == "1" || b == "2" && c == "3""#;
        assert!(m(s, &[("a", "1")]));
        assert!(!m(s, &[("b", "2")]));
        assert!(m(s, &[("b", "2"), ("c", "3")]));
        let s = r#"(a == "1" || b == "2") && c == "3""#;
        assert!(!m(s, &[("a", "1")]));
        assert!(m(s, &[("a", "1"), ("c", "3")]));
        assert!(m("!(has(a) && has(b))", &[("a", "")]));
        assert!(!m("!(has(a) || has(b))", &[("a", "")]));
        assert!(m("!!has(a)", &[("a", "")]));
        assert!(!m("!!!has(a)", &[("a", "")]));
    }

    #[test]
    fn structural_queries() {
        let e = super::super::parser::parse(
            "has(z) && (a == 'x' || !b in {}) && c not in {'q'} || global() || a != ''",
        )
        .unwrap();
        let mut out = BTreeSet::new();
        collect_labels(&e, &mut out);
        assert_eq!(
            out.into_iter().collect::<Vec<_>>(),
            vec!["a", "b", "c", "z"]
        );
        assert!(uses_global(&e));
        assert!(!uses_global(&Expr::Has("a".into())));
        assert!(uses_global(&Expr::Not(Box::new(Expr::Global))));
    }
}
