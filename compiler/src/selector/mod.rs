//! Calico label selectors.
//!
//! A complete implementation of the selector language used by Calico
//! resources (`nodeSelector`, `selector`, `namespaceSelector`, ...), following
//! `libcalico-go/lib/selector/{tokenizer,parser}` token for token.
//!
//! # Language
//!
//! | Form | Matches when |
//! |------|--------------|
//! | *(empty or blank)* , `all()` | always |
//! | `global()` | always (a marker; see [`Selector::uses_global`]) |
//! | `has(l)` | label `l` is present |
//! | `l == "v"` | `l` is present and equals `v` |
//! | `l != "v"` | `l` is absent, or present and differs from `v` |
//! | `l in {"a", "b"}` | `l` is present and is one of the values |
//! | `l not in {"a", "b"}` | `l` is absent, or present and none of the values |
//! | `l contains "s"` | `l` is present and contains `s` |
//! | `l starts with "s"` | `l` is present and starts with `s` |
//! | `l ends with "s"` | `l` is present and ends with `s` |
//! | `!x`, `x && y`, `x \|\| y`, `(x)` | boolean structure |
//!
//! Precedence, loosest first: `||`, `&&`, `!`. A run of `!` collapses by
//! parity, so `!!has(a)` is `has(a)`. `!a == "x"` means `!(a == "x")`.
//!
//! Lexical rules (all as in Calico):
//! - Labels are 1–512 characters from `A-Z a-z 0-9 _ . / -`.
//! - String literals are `"..."` or `'...'` with **no escapes**; a literal
//!   cannot contain its own quote character. Any other text, including
//!   non-ASCII and line breaks, may appear inside.
//! - Only spaces and tabs separate tokens; a line break *between* tokens is
//!   an error, exactly as calicoctl rejects it.
//! - `in`, `not in`, `contains`, `starts with` and `ends with` are operators
//!   only directly after a label; anywhere else they are ordinary labels.
//!   The two-word operators allow any run of spaces/tabs between the words,
//!   including none (`notin`, `startswith`), because Calico matches them that
//!   way.
//! - `has(`, `all(` and `global(` must be written without a space before the
//!   `(`; whitespace inside the parentheses is free.
//! - A set may be empty (`{}`) and may end in a trailing comma (`{"a",}`);
//!   `{,}` is rejected.
//!
//! Nesting of parentheses is limited to [`MAX_DEPTH`] levels so that hostile
//! input cannot overflow the stack; [`Selector::parse`] never panics.
//!
//! # Canonical form
//!
//! The parsed tree is normalised (double negations removed, nested `&&` / `||`
//! groups flattened, set members sorted and deduplicated) and [`Display`]
//! prints it with double quotes (single quotes only for a value that contains
//! `"`), single spaces around operators and the fewest parentheses needed:
//!
//! ```
//! use netc_compiler::selector::Selector;
//! let s = Selector::parse("!!has(a)&&(b=='x'||c in{'z','y','z'})").unwrap();
//! assert_eq!(s.to_string(), r#"has(a) && (b == "x" || c in {"y", "z"})"#);
//! assert_eq!(Selector::parse(&s.to_string()).unwrap(), s);
//! ```
//!
//! [`Display`]: std::fmt::Display

mod eval;
mod lexer;
mod parser;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

pub use lexer::MAX_LABEL_LEN;
pub use parser::MAX_DEPTH;

/// A parsed, normalised selector expression.
///
/// Invariants of trees produced by [`Selector::parse`]: `And` and `Or` hold at
/// least two operands and never directly contain an operand of their own
/// kind; `Not` never directly wraps `Not`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Expr {
    /// `all()` (or an empty selector).
    All,
    /// `global()`.
    Global,
    /// `has(label)`.
    Has(String),
    /// `label == "value"`.
    Eq(String, String),
    /// `label != "value"`.
    Ne(String, String),
    /// `label in {...}`; values sorted and deduplicated.
    In(String, BTreeSet<String>),
    /// `label not in {...}`; values sorted and deduplicated.
    NotIn(String, BTreeSet<String>),
    /// `label contains "value"`.
    Contains(String, String),
    /// `label starts with "value"`.
    StartsWith(String, String),
    /// `label ends with "value"`.
    EndsWith(String, String),
    /// `!expr`.
    Not(Box<Expr>),
    /// `a && b && ...`.
    And(Vec<Expr>),
    /// `a || b || ...`.
    Or(Vec<Expr>),
}

/// A Calico label selector.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Selector {
    expr: Expr,
}

/// Why a selector string did not parse.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SelectorError {
    /// Byte offset inside the selector string of the offending token (the
    /// opening quote of an unterminated string; the string's length when the
    /// selector ended too early).
    pub offset: usize,
    /// What was expected and what was found, e.g.
    /// ``expected a string literal after `==`, found `}` ``.
    pub message: String,
}

impl Selector {
    /// Parse a selector. An empty or blank string is `all()`.
    ///
    /// # Errors
    ///
    /// A [`SelectorError`] locating the first problem in `src` and saying
    /// what was expected there and what was found.
    pub fn parse(src: &str) -> Result<Selector, SelectorError> {
        parser::parse(src).map(|expr| Selector { expr })
    }

    /// The selector `all()`.
    #[must_use]
    pub fn all() -> Selector {
        Selector { expr: Expr::All }
    }

    /// Evaluate against a label map, with Calico's absent-label semantics
    /// (`!=` and `not in` are true for an absent label; `==`, `in`,
    /// `contains`, `starts with`, `ends with` are false). `global()`
    /// evaluates as true.
    #[must_use]
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        eval::eval(&self.expr, labels)
    }

    /// The selector is exactly `all()` (or was empty/blank).
    #[must_use]
    pub fn is_all(&self) -> bool {
        self.expr == Expr::All
    }

    /// `global()` appears anywhere in the selector.
    #[must_use]
    pub fn uses_global(&self) -> bool {
        eval::uses_global(&self.expr)
    }

    /// The whole selector is `global()` (Calico only allows `global()` as the
    /// entire `namespaceSelector` of an entity rule).
    #[must_use]
    pub fn is_only_global(&self) -> bool {
        self.expr == Expr::Global
    }

    /// Label keys the selector mentions, sorted and deduplicated.
    #[must_use]
    pub fn labels(&self) -> Vec<String> {
        let mut out = BTreeSet::new();
        eval::collect_labels(&self.expr, &mut out);
        out.into_iter().map(str::to_string).collect()
    }

    /// The normalised expression tree.
    #[must_use]
    pub fn expr(&self) -> &Expr {
        &self.expr
    }
}

impl Default for Selector {
    /// `all()`, as for an omitted selector field.
    fn default() -> Self {
        Selector::all()
    }
}

impl fmt::Display for Selector {
    /// Canonical text; re-parses to an equal `Selector`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        eval::write_expr(f, &self.expr, 0)
    }
}

impl FromStr for Selector {
    type Err = SelectorError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Selector::parse(s)
    }
}

impl serde::Serialize for Selector {
    /// Serialises as the canonical text.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Selector {
    /// Deserialises from a selector string.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Selector::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for SelectorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid selector at byte {}: {}",
            self.offset, self.message
        )
    }
}

impl std::error::Error for SelectorError {}
