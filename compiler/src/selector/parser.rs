//! Recursive-descent parser for the Calico selector language.
//!
//! Grammar (as `libcalico-go/lib/selector/parser/parser.go`):
//!
//! ```text
//! selector := <blank> | or
//! or       := and ('||' and)*
//! and      := op ('&&' op)*
//! op       := '!'* ( has(l) | all() | global()
//!                  | l '==' s | l '!=' s | l 'contains' s
//!                  | l 'starts with' s | l 'ends with' s
//!                  | l 'in' set | l 'not in' set
//!                  | '(' or ')' )
//! set      := '{' '}' | '{' s (',' s)* ','? '}'
//! ```
//!
//! The tree is normalised while it is built: a run of `!` collapses by parity
//! (as in Calico), `!(!x)` collapses to `x`, nested `&&` (or `||`) groups are
//! flattened into their parent, and set members are sorted and deduplicated.
//! None of these change what a selector matches.

use std::collections::BTreeSet;

use super::lexer::{describe_char, quote_src, Kind, LexError, Lexer, Token};
use super::{Expr, SelectorError};

/// Maximum depth of nested parentheses.
pub const MAX_DEPTH: usize = 100;

const OPERAND: &str =
    "a selector term (a label comparison, `has(label)`, `all()`, `global()`, `!` or `(`)";

struct Parser<'a> {
    lexer: Lexer<'a>,
    peeked: Option<Result<Token, LexError>>,
    /// Start offsets of the currently open `(`.
    open_parens: Vec<usize>,
}

/// Parse a selector string into a normalised expression.
pub(crate) fn parse(src: &str) -> Result<Expr, SelectorError> {
    let mut p = Parser {
        lexer: Lexer::new(src),
        peeked: None,
        open_parens: Vec::new(),
    };
    if p.peek() == Some(Kind::Eof) {
        return Ok(Expr::All);
    }
    let expr = p.parse_or()?;
    match p.peek() {
        Some(Kind::Eof) => Ok(expr),
        Some(Kind::RParen) => Err(
            p.fail_with("`&&`, `||` or the end of the selector", |found| {
                format!("{found} with no matching `(`")
            }),
        ),
        _ => Err(p.fail("`&&`, `||` or the end of the selector")),
    }
}

impl Parser<'_> {
    /// Kind of the next token, or `None` if the lexer failed there.
    fn peek(&mut self) -> Option<Kind> {
        if self.peeked.is_none() {
            self.peeked = Some(self.lexer.next_token());
        }
        match &self.peeked {
            Some(Ok(t)) => Some(t.kind),
            _ => None,
        }
    }

    /// Consume the next token. Only called after `peek` returned `Some`.
    fn bump(&mut self) -> Token {
        match self.peeked.take() {
            Some(Ok(t)) => t,
            // Unreachable by construction; degrade to an EOF token rather
            // than panicking.
            other => {
                self.peeked = other;
                let end = self.lexer.src().len();
                Token {
                    kind: Kind::Eof,
                    value: String::new(),
                    start: end,
                    end,
                }
            }
        }
    }

    /// Error "expected {expected}, found {next token}" at the next token.
    fn fail(&mut self, expected: &str) -> SelectorError {
        self.fail_with(expected, str::to_string)
    }

    fn fail_with(&mut self, expected: &str, found_text: impl Fn(&str) -> String) -> SelectorError {
        self.peek();
        match &self.peeked {
            Some(Ok(t)) => {
                let found = if t.kind == Kind::Eof {
                    "end of selector".to_string()
                } else {
                    quote_src(&self.lexer.src()[t.start..t.end])
                };
                SelectorError {
                    offset: t.start,
                    message: format!("expected {expected}, found {}", found_text(&found)),
                }
            }
            Some(Err(LexError::UnexpectedChar { offset, ch })) => {
                let mut message = format!(
                    "expected {expected}, found {}",
                    found_text(&describe_char(*ch))
                );
                if !ch.is_ascii() && !ch.is_whitespace() {
                    message.push_str(" (labels may only contain A-Z a-z 0-9 _ . / -)");
                }
                SelectorError {
                    offset: *offset,
                    message,
                }
            }
            Some(Err(LexError::Other(e))) => e.clone(),
            None => SelectorError {
                offset: self.lexer.src().len(),
                message: format!("expected {expected}, found end of selector"),
            },
        }
    }

    fn parse_or(&mut self) -> Result<Expr, SelectorError> {
        let mut terms = Vec::new();
        push_flat(&mut terms, self.parse_and()?, true);
        while self.peek() == Some(Kind::Or) {
            self.bump();
            push_flat(&mut terms, self.parse_and()?, true);
        }
        Ok(if terms.len() == 1 {
            terms.pop().unwrap_or(Expr::All)
        } else {
            Expr::Or(terms)
        })
    }

    fn parse_and(&mut self) -> Result<Expr, SelectorError> {
        let mut terms = Vec::new();
        push_flat(&mut terms, self.parse_op()?, false);
        while self.peek() == Some(Kind::And) {
            self.bump();
            push_flat(&mut terms, self.parse_op()?, false);
        }
        Ok(if terms.len() == 1 {
            terms.pop().unwrap_or(Expr::All)
        } else {
            Expr::And(terms)
        })
    }

    fn parse_op(&mut self) -> Result<Expr, SelectorError> {
        let mut negated = false;
        while self.peek() == Some(Kind::Not) {
            self.bump();
            negated = !negated;
        }
        let expr = match self.peek() {
            Some(Kind::Has) => Expr::Has(self.bump().value),
            Some(Kind::All) => {
                self.bump();
                Expr::All
            }
            Some(Kind::Global) => {
                self.bump();
                Expr::Global
            }
            Some(Kind::Label) => self.parse_label_op()?,
            Some(Kind::LParen) => self.parse_group()?,
            _ => return Err(self.fail(OPERAND)),
        };
        Ok(if negated { negate(expr) } else { expr })
    }

    fn parse_group(&mut self) -> Result<Expr, SelectorError> {
        let open = self.bump();
        if self.open_parens.len() >= MAX_DEPTH {
            return Err(SelectorError {
                offset: open.start,
                message: format!(
                    "expected at most {MAX_DEPTH} levels of nested parentheses, found more"
                ),
            });
        }
        self.open_parens.push(open.start);
        let inner = self.parse_or()?;
        self.open_parens.pop();
        if self.peek() == Some(Kind::RParen) {
            self.bump();
            Ok(inner)
        } else {
            Err(self.fail(&format!(
                "`&&`, `||` or `)` to close the `(` at byte {}",
                open.start
            )))
        }
    }

    fn parse_label_op(&mut self) -> Result<Expr, SelectorError> {
        let label = self.bump();
        let name = label.value;
        let op = match self.peek() {
            Some(
                k @ (Kind::Eq
                | Kind::Ne
                | Kind::Contains
                | Kind::StartsWith
                | Kind::EndsWith
                | Kind::In
                | Kind::NotIn),
            ) => k,
            next => {
                let expected = format!(
                    "an operator (`==`, `!=`, `in`, `not in`, `contains`, `starts with` or \
                     `ends with`) after label {}",
                    quote_src(&name)
                );
                let mut e = self.fail(&expected);
                if next == Some(Kind::LParen) && matches!(name.as_str(), "has" | "all" | "global") {
                    e.message = format!(
                        "{} (write `{name}(` with no space before the `(`)",
                        e.message
                    );
                }
                return Err(e);
            }
        };
        self.bump();
        if matches!(op, Kind::In | Kind::NotIn) {
            let set = self.parse_set(op)?;
            return Ok(if op == Kind::In {
                Expr::In(name, set)
            } else {
                Expr::NotIn(name, set)
            });
        }
        if self.peek() != Some(Kind::Str) {
            return Err(self.fail(&format!("a string literal after `{}`", op.spelling())));
        }
        let value = self.bump().value;
        Ok(match op {
            Kind::Eq => Expr::Eq(name, value),
            Kind::Ne => Expr::Ne(name, value),
            Kind::Contains => Expr::Contains(name, value),
            Kind::StartsWith => Expr::StartsWith(name, value),
            _ => Expr::EndsWith(name, value),
        })
    }

    /// `{ "a", "b" }`; the empty set and a trailing comma are accepted, as in
    /// Calico.
    fn parse_set(&mut self, op: Kind) -> Result<BTreeSet<String>, SelectorError> {
        if self.peek() != Some(Kind::LBrace) {
            return Err(self.fail(&format!(
                "`{{` to start a set of string literals after `{}`",
                op.spelling()
            )));
        }
        self.bump();
        let mut set = BTreeSet::new();
        loop {
            match self.peek() {
                Some(Kind::RBrace) => break,
                Some(Kind::Str) => {
                    set.insert(self.bump().value);
                    match self.peek() {
                        Some(Kind::Comma) => {
                            self.bump();
                        }
                        Some(Kind::RBrace) => break,
                        _ => return Err(self.fail("`,` or `}` after a set member")),
                    }
                }
                _ => return Err(self.fail("a string literal or `}` in a set")),
            }
        }
        self.bump();
        Ok(set)
    }
}

/// Negate `e`, collapsing a double negation.
fn negate(e: Expr) -> Expr {
    match e {
        Expr::Not(inner) => *inner,
        other => Expr::Not(Box::new(other)),
    }
}

/// Append `e` to an `&&` (or, with `or`, an `||`) operand list, splicing in
/// the operands of a parenthesised group of the same operator.
fn push_flat(terms: &mut Vec<Expr>, e: Expr, or: bool) {
    match e {
        Expr::Or(inner) if or => terms.extend(inner),
        Expr::And(inner) if !or => terms.extend(inner),
        other => terms.push(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(src: &str) -> Expr {
        parse(src).unwrap_or_else(|e| panic!("{src:?}: {e}"))
    }

    fn s(x: &str) -> String {
        x.to_string()
    }

    fn eq(l: &str, v: &str) -> Expr {
        Expr::Eq(s(l), s(v))
    }

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|x| s(x)).collect()
    }

    #[test]
    fn blank_is_all() {
        assert_eq!(p(""), Expr::All);
        assert_eq!(p(" \t "), Expr::All);
        assert_eq!(p("all()"), Expr::All);
        assert_eq!(p("( all( ) )"), Expr::All);
    }

    #[test]
    fn atoms() {
        assert_eq!(p("global()"), Expr::Global);
        assert_eq!(p("has(a)"), Expr::Has(s("a")));
        assert_eq!(p("a == 'x'"), eq("a", "x"));
        assert_eq!(p("a != 'x'"), Expr::Ne(s("a"), s("x")));
        assert_eq!(p("a contains 'x'"), Expr::Contains(s("a"), s("x")));
        assert_eq!(p("a starts with 'x'"), Expr::StartsWith(s("a"), s("x")));
        assert_eq!(p("a ends with 'x'"), Expr::EndsWith(s("a"), s("x")));
        assert_eq!(
            p("a in {'y', \"x\", 'y'}"),
            Expr::In(s("a"), set(&["x", "y"]))
        );
        assert_eq!(p("a not in {}"), Expr::NotIn(s("a"), set(&[])));
        assert_eq!(p("a in {'x',}"), Expr::In(s("a"), set(&["x"])));
        assert_eq!(p("a==''"), eq("a", ""));
    }

    #[test]
    fn precedence_and_associativity() {
        assert_eq!(
            p(r#"a == "1" || b == "2" && c == "3""#),
            Expr::Or(vec![
                eq("a", "1"),
                Expr::And(vec![eq("b", "2"), eq("c", "3")])
            ])
        );
        assert_eq!(
            p(r#"a == "1" && b == "2" || c == "3""#),
            Expr::Or(vec![
                Expr::And(vec![eq("a", "1"), eq("b", "2")]),
                eq("c", "3")
            ])
        );
        assert_eq!(
            p(r#"a == "1" && (b == "2" || c == "3")"#),
            Expr::And(vec![
                eq("a", "1"),
                Expr::Or(vec![eq("b", "2"), eq("c", "3")])
            ])
        );
        // Same-operator groups are flattened.
        assert_eq!(
            p("(has(a) && has(b)) && (has(c) && has(d))"),
            p("has(a) && has(b) && has(c) && has(d)")
        );
        assert_eq!(
            p("has(a) || (has(b) || has(c))"),
            p("has(a) || has(b) || has(c)")
        );
        // `!` binds tighter than `&&`.
        assert_eq!(
            p("!has(a) && has(b)"),
            Expr::And(vec![
                Expr::Not(Box::new(Expr::Has(s("a")))),
                Expr::Has(s("b"))
            ])
        );
        // `!l == v` negates the comparison.
        assert_eq!(p("!a == 'x'"), Expr::Not(Box::new(eq("a", "x"))));
    }

    #[test]
    fn negation_chains() {
        let has = Expr::Has(s("a"));
        let not_has = Expr::Not(Box::new(has.clone()));
        assert_eq!(p("!has(a)"), not_has);
        assert_eq!(p("!!has(a)"), has);
        assert_eq!(p("!!!has(a)"), not_has);
        assert_eq!(p("! ! ! ! has(a)"), has);
        assert_eq!(p("!(!has(a))"), has);
        assert_eq!(p("!(!(!has(a)))"), not_has);
        assert_eq!(p("!!(has(a))"), has);
        assert_eq!(
            p("!(has(a) || has(b))"),
            Expr::Not(Box::new(Expr::Or(vec![has, Expr::Has(s("b"))])))
        );
        assert_eq!(p("!all()"), Expr::Not(Box::new(Expr::All)));
        // Long chains are iterative, not recursive.
        let long = format!("{}has(a)", "!".repeat(100_001));
        assert_eq!(p(&long), not_has);
    }

    #[test]
    fn depth_limit() {
        let ok = format!("{}has(a){}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
        assert_eq!(p(&ok), Expr::Has(s("a")));
        let bad = format!(
            "{}has(a){}",
            "(".repeat(MAX_DEPTH + 1),
            ")".repeat(MAX_DEPTH + 1)
        );
        let e = parse(&bad).unwrap_err();
        assert_eq!(e.offset, MAX_DEPTH);
        assert!(e.message.contains("nested parentheses"), "{}", e.message);
        let huge = "(!".repeat(1_000_000);
        assert_eq!(parse(&huge).unwrap_err().offset, 2 * MAX_DEPTH);
    }

    #[test]
    fn long_flat_chains() {
        let src = vec!["has(a)"; 20_000].join(" && ");
        match p(&src) {
            Expr::And(v) => assert_eq!(v.len(), 20_000),
            other => panic!("{other:?}"),
        }
    }

    fn e(src: &str) -> (usize, String) {
        match parse(src) {
            Ok(x) => panic!("{src:?} parsed as {x:?}"),
            Err(e) => (e.offset, e.message),
        }
    }

    #[test]
    fn parse_errors() {
        assert_eq!(
            e("a == }"),
            (5, s("expected a string literal after `==`, found `}`"))
        );
        assert_eq!(
            e("a != "),
            (
                5,
                s("expected a string literal after `!=`, found end of selector")
            )
        );
        assert_eq!(
            e("a starts with b"),
            (
                14,
                s("expected a string literal after `starts with`, found `b`")
            )
        );
        assert_eq!(
            e("a in 'x'"),
            (
                5,
                s("expected `{` to start a set of string literals after `in`, found `'x'`")
            )
        );
        assert_eq!(
            e("a not in {'x' 'y'}"),
            (14, s("expected `,` or `}` after a set member, found `'y'`"))
        );
        assert_eq!(
            e("a in {,}"),
            (6, s("expected a string literal or `}` in a set, found `,`"))
        );
        assert_eq!(
            e("a in {'x'"),
            (
                9,
                s("expected `,` or `}` after a set member, found end of selector")
            )
        );
        assert_eq!(
            e("a"),
            (
                1,
                s("expected an operator (`==`, `!=`, `in`, `not in`, `contains`, `starts with` or `ends with`) after label `a`, found end of selector")
            )
        );
        assert_eq!(e("a && b == 'x'").0, 2);
        assert_eq!(e("has(a) &&").0, 9);
        assert!(e("has(a) &&").1.starts_with("expected a selector term"));
        assert_eq!(e("has(a) || || has(b)").0, 10);
        assert_eq!(e("!").0, 1);
        assert_eq!(e("()").0, 1);
        assert_eq!(
            e("(has(a)"),
            (
                7,
                s("expected `&&`, `||` or `)` to close the `(` at byte 0, found end of selector")
            )
        );
        assert_eq!(
            e("has(a))"),
            (6, s("expected `&&`, `||` or the end of the selector, found `)` with no matching `(`"))
        );
        assert_eq!(
            e("has(a) has(b)"),
            (
                7,
                s("expected `&&`, `||` or the end of the selector, found `has(b)`")
            )
        );
        assert_eq!(
            e("has(a) == 'x'"),
            (
                7,
                s("expected `&&`, `||` or the end of the selector, found `==`")
            )
        );
        assert!(e("has (a)").1.contains("write `has(` with no space"));
        assert_eq!(e("has (a)").0, 4);
        // Errors come in source order: the first problem wins.
        assert_eq!(e("a == == 'x' #").0, 5);
        assert_eq!(e("'x' == a").0, 0);
        assert_eq!(
            e("é == 'x'"),
            (
                0,
                s("expected a selector term (a label comparison, `has(label)`, `all()`, `global()`, `!` or `(`), found `é` (labels may only contain A-Z a-z 0-9 _ . / -)")
            )
        );
        assert_eq!(e("has(a) && é").0, 10);
    }
}
