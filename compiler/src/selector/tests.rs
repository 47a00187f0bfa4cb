//! Tests of the public API: parsing, evaluation, canonical printing, error
//! reporting, and randomised robustness checks.

use std::collections::{BTreeMap, BTreeSet};

use super::{Expr, Selector, SelectorError, MAX_DEPTH, MAX_LABEL_LEN};

fn sel(src: &str) -> Selector {
    Selector::parse(src).unwrap_or_else(|e| panic!("{src:?}: {e}"))
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

// ---------------------------------------------------------------- API basics

#[test]
fn empty_and_all() {
    for src in ["", "   ", "\t", "all()", "all( )", "(all())", "!!all()"] {
        let s = sel(src);
        assert!(s.is_all(), "{src:?}");
        assert!(s.matches(&labels(&[])));
        assert_eq!(s.to_string(), "all()");
        assert!(s.labels().is_empty());
    }
    assert_eq!(Selector::default(), sel(""));
    assert_eq!(Selector::all(), sel("all()"));
    assert!(!sel("all() && all()").is_all());
    assert!(!sel("!all()").is_all());
    assert!(!sel("has(a)").is_all());
}

#[test]
fn global_marker() {
    let g = sel("global()");
    assert!(g.is_only_global());
    assert!(g.uses_global());
    assert!(g.matches(&labels(&[])));
    assert!(sel("( global( ) )").is_only_global());
    assert!(sel("!!global()").is_only_global());
    let mixed = sel("global() && has(a)");
    assert!(mixed.uses_global());
    assert!(!mixed.is_only_global());
    assert!(!mixed.matches(&labels(&[])));
    assert!(sel("has(a) || !(b == 'x' && global())").uses_global());
    assert!(!sel("has(global)").uses_global());
    assert!(!sel("global == 'x'").uses_global());
    assert!(!sel("all()").uses_global());
    assert!(!sel("all()").is_only_global());
}

#[test]
fn labels_are_sorted_and_deduped() {
    let s =
        sel("z == 'a' && (has(b) || b in {'1'}) && !a.io/x contains 'q' || z != '' || m not in {}");
    assert_eq!(s.labels(), vec!["a.io/x", "b", "m", "z"]);
    assert_eq!(
        sel("has(in) && contains starts with 'x'").labels(),
        vec!["contains", "in"]
    );
}

#[test]
fn every_operator_matches() {
    let l = labels(&[("app", "web-frontend"), ("tier", "1"), ("empty", "")]);
    let yes = [
        "has(app)",
        "has(empty)",
        "app == 'web-frontend'",
        "empty == ''",
        "app != 'db'",
        "missing != 'x'",
        "tier in {'1', '2'}",
        "tier not in {'2', '3'}",
        "missing not in {'x'}",
        "missing not in {}",
        "app contains 'front'",
        "app contains ''",
        "app starts with 'web-'",
        "app ends with 'end'",
        "app ends with ''",
        "!has(missing)",
        "all()",
        "global()",
    ];
    let no = [
        "has(missing)",
        "app == 'web'",
        "missing == ''",
        "app != 'web-frontend'",
        "tier in {'2'}",
        "tier in {}",
        "missing in {'1'}",
        "tier not in {'1'}",
        "app contains 'back'",
        "missing contains ''",
        "app starts with 'front'",
        "missing starts with ''",
        "app ends with 'web'",
        "missing ends with ''",
        "!has(app)",
        "!all()",
    ];
    for src in yes {
        assert!(sel(src).matches(&l), "{src} should match");
        assert!(
            !sel(&format!("!{src}")).matches(&l),
            "!{src} should not match"
        );
        assert!(
            !sel(&format!("!({src})")).matches(&l),
            "!({src}) should not match"
        );
        assert!(sel(&format!("!!{src}")).matches(&l), "!!{src} should match");
    }
    for src in no {
        assert!(!sel(src).matches(&l), "{src} should not match");
        assert!(sel(&format!("!{src}")).matches(&l), "!{src} should match");
    }
}

#[test]
fn absent_label_semantics() {
    let none = labels(&[]);
    assert!(sel("a != 'x'").matches(&none));
    assert!(sel("a not in {'x'}").matches(&none));
    assert!(!sel("a == 'x'").matches(&none));
    assert!(!sel("a in {'x'}").matches(&none));
    assert!(!sel("a contains 'x'").matches(&none));
    assert!(!sel("a starts with 'x'").matches(&none));
    assert!(!sel("a ends with 'x'").matches(&none));
    assert!(!sel("has(a)").matches(&none));
    // Present but different value.
    let other = labels(&[("a", "y")]);
    assert!(sel("a != 'x'").matches(&other));
    assert!(sel("a not in {'x'}").matches(&other));
}

#[test]
fn precedence() {
    let s = sel(r#"a == "1" || b == "2" && c == "3""#);
    assert_eq!(s.to_string(), r#"a == "1" || b == "2" && c == "3""#);
    assert!(s.matches(&labels(&[("a", "1")])));
    assert!(!s.matches(&labels(&[("b", "2")])));
    assert!(s.matches(&labels(&[("b", "2"), ("c", "3")])));
    assert!(!s.matches(&labels(&[("c", "3")])));

    let s = sel(r#"(a == "1" || b == "2") && c == "3""#);
    assert_eq!(s.to_string(), r#"(a == "1" || b == "2") && c == "3""#);
    assert!(!s.matches(&labels(&[("a", "1")])));
    assert!(s.matches(&labels(&[("a", "1"), ("c", "3")])));

    // `!` binds to the single operation that follows it.
    let s = sel("!has(a) && has(b)");
    assert!(s.matches(&labels(&[("b", "")])));
    assert!(!s.matches(&labels(&[("a", ""), ("b", "")])));
    let s = sel("!(has(a) && has(b))");
    assert!(s.matches(&labels(&[("a", "")])));
    assert!(!s.matches(&labels(&[("a", ""), ("b", "")])));
}

#[test]
fn negation_chains() {
    let l = labels(&[("a", "x")]);
    for n in 0..8 {
        let bangs = "!".repeat(n);
        let spaced = vec!["!"; n].join(" ");
        for src in [
            format!("{bangs}has(a)"),
            format!("{spaced} has(a)"),
            format!("{bangs}a == 'x'"),
            format!("{bangs}(has(a))"),
        ] {
            assert_eq!(sel(&src).matches(&l), n % 2 == 0, "{src}");
            let expected = n % 2;
            assert_eq!(
                sel(&src).to_string().matches('!').count(),
                expected,
                "{src}"
            );
        }
    }
    // Nested groups collapse too.
    assert_eq!(sel("!(!(!(has(a))))").to_string(), "!has(a)");
}

#[test]
fn whitespace_is_free_between_tokens() {
    let canonical = sel(r#"a == "x" && b in {"1", "2"} || !has(c)"#);
    for src in [
        r#"a=="x"&&b in{"1","2"}||!has(c)"#,
        "  a\t==\t'x'  &&  b  in  { '1' , '2' }  ||  ! has( c )  ",
        "a==\"x\"&&b in{\"2\",\"1\",}||!has(c)",
        "((a == 'x') && (b in {'1', '2', '1'})) || (!(has(c)))",
    ] {
        assert_eq!(sel(src), canonical, "{src}");
    }
    assert_eq!(sel("a notin {}"), sel("a not in {}"));
    assert_eq!(sel("a startswith 'x'"), sel("a starts with 'x'"));
    assert_eq!(sel("a endswith 'x'"), sel("a ends \t with 'x'"));
}

#[test]
fn keyword_like_labels() {
    // Operators are only operators right after a label.
    let l = labels(&[("in", "1"), ("contains", "2"), ("has", "3"), ("not", "4")]);
    assert!(sel("in == '1' && contains == '2' && has == '3' && not in {'4'}").matches(&l));
    assert!(sel("in in {'1'}").matches(&l));
    assert!(sel("starts starts with ''").matches(&labels(&[("starts", "")])));
    assert!(sel("all == ''").matches(&labels(&[("all", "")])));
    assert!(sel("global != ''").matches(&labels(&[])));
}

#[test]
fn quotes_and_values() {
    let s = sel(r#"a == 'say "hi"' && b == "it's" && c == '' && d == "\""#);
    let l = labels(&[("a", "say \"hi\""), ("b", "it's"), ("c", ""), ("d", "\\")]);
    assert!(s.matches(&l));
    assert_eq!(
        s.to_string(),
        r#"a == 'say "hi"' && b == "it's" && c == "" && d == "\""#
    );
    // Values may hold anything except their own quote, including newlines,
    // operators and non-ASCII.
    let s = sel("a in {'x && y', \"(\", 'é\n→'}");
    assert!(s.matches(&labels(&[("a", "é\n→")])));
    assert_eq!(sel(&s.to_string()), s);
}

#[test]
fn label_length() {
    let max = "k".repeat(MAX_LABEL_LEN);
    assert!(sel(&format!("has({max})")).matches(&labels(&[(max.as_str(), "")])));
    let long = "k".repeat(MAX_LABEL_LEN + 1);
    assert!(Selector::parse(&format!("has({long})")).is_err());
    assert!(Selector::parse(&format!("{long} == 'x'")).is_err());
}

// ------------------------------------------------------------ canonical text

#[test]
fn display_is_canonical() {
    let cases = [
        ("", "all()"),
        ("has( a )", "has(a)"),
        ("a=='x'", r#"a == "x""#),
        ("a!='x'", r#"a != "x""#),
        ("a contains'x'", r#"a contains "x""#),
        ("a starts  with'x'", r#"a starts with "x""#),
        ("a ends\twith'x'", r#"a ends with "x""#),
        ("a in{'b','a','b'}", r#"a in {"a", "b"}"#),
        ("a not in{}", "a not in {}"),
        ("((has(a)))", "has(a)"),
        ("(has(a) && has(b)) && has(c)", "has(a) && has(b) && has(c)"),
        ("has(a) || (has(b) || has(c))", "has(a) || has(b) || has(c)"),
        ("(has(a) && has(b)) || has(c)", "has(a) && has(b) || has(c)"),
        (
            "has(a) && (has(b) || has(c))",
            "has(a) && (has(b) || has(c))",
        ),
        ("!(has(a) || has(b))", "!(has(a) || has(b))"),
        ("!(has(a) && has(b))", "!(has(a) && has(b))"),
        ("!(a == 'x')", r#"!a == "x""#),
        ("!!(a == 'x')", r#"a == "x""#),
        ("global()", "global()"),
        ("!global() || all()", "!global() || all()"),
    ];
    for (src, want) in cases {
        let s = sel(src);
        assert_eq!(s.to_string(), want, "{src:?}");
        assert_eq!(sel(want), s, "{want:?} re-parses");
    }
}

#[test]
fn display_round_trips_hand_written() {
    for src in [
        "k8s-app == 'calico' && (rack in {'r1', 'r2'} || !has(edge)) && zone != \"z'1\"",
        "has(a) || b starts with 'x' && c ends with 'y' || !(d contains 'z' || e not in {'1',})",
        "!(!(!(has(a) && !(b == '1' || c == '2'))))",
        "a.b/c-d_e == '' || global()",
    ] {
        let s = sel(src);
        let text = s.to_string();
        let again = sel(&text);
        assert_eq!(again, s, "{src:?} -> {text:?}");
        assert_eq!(again.to_string(), text);
    }
}

// ------------------------------------------------------------------- errors

fn err(src: &str) -> SelectorError {
    match Selector::parse(src) {
        Ok(s) => panic!("{src:?} parsed as {s}"),
        Err(e) => e,
    }
}

/// `(selector, expected error offset, fragment of the expected message)`.
#[rustfmt::skip]
const ERROR_CASES: &[(&str, usize, &str)] = &[
    ("a == }", 5, "expected a string literal after `==`, found `}`"),
    ("a == 'x", 5, "unterminated string literal: expected a closing `'`"),
    ("has(a) && b == \"x", 15, "unterminated string literal: expected a closing `\"`"),
    ("has(a) extra", 7, "expected `&&`, `||` or the end of the selector, found `extra`"),
    ("has(a))", 6, "found `)` with no matching `(`"),
    ("(has(a)", 7, "expected `&&`, `||` or `)` to close the `(` at byte 0, found end of selector"),
    ("a = 'x'", 2, "expected `==`, found a single `=`"),
    ("has(a) & has(b)", 7, "expected `&&`, found a single `&`"),
    ("has(a) | has(b)", 7, "expected `||`, found a single `|`"),
    ("a", 1, "after label `a`, found end of selector"),
    ("a > 'x'", 2, "after label `a`, found `>`"),
    ("a in 'x'", 5, "expected `{` to start a set of string literals after `in`, found `'x'`"),
    ("a in {'x' 'y'}", 10, "expected `,` or `}` after a set member, found `'y'`"),
    ("a in {,}", 6, "expected a string literal or `}` in a set, found `,`"),
    ("a not 'x'", 6, "expected `in` after `not`, found a string literal"),
    ("a starts 'x'", 9, "expected `with` after `starts`, found a string literal"),
    ("has()", 4, "expected a label name after `has(`, found `)`"),
    ("has(a", 5, "expected `)` to close `has(a`, found end of selector"),
    ("all(a)", 4, "expected `)` after `all(`"),
    ("global(a)", 7, "expected `)` after `global(`"),
    ("has (a)", 4, "write `has(` with no space before the `(`"),
    ("has(a) &&", 9, "expected a selector term"),
    ("&& has(a)", 0, "expected a selector term"),
    ("!", 1, "expected a selector term"),
    ("()", 1, "expected a selector term"),
    ("'x' == a", 0, "expected a selector term"),
    ("a == 'x' # comment", 9, "found `#`"),
    ("a == 'x'\n&& has(b)", 8, "found a line break"),
    ("app == 'x' && é == 'y'", 14, "found `é` (labels may only contain"),
    ("a contains", 10, "expected a string literal after `contains`, found end of selector"),
    ("a ends with {}", 12, "expected a string literal after `ends with`, found `{`"),
];

#[test]
fn error_offsets_and_messages() {
    let cases = ERROR_CASES;
    for &(src, offset, fragment) in cases {
        let e = err(src);
        assert_eq!(e.offset, offset, "{src:?}: {}", e.message);
        assert!(
            e.message.contains(fragment),
            "{src:?}: {:?} lacks {fragment:?}",
            e.message
        );
        assert!(
            e.message.contains("expected") && e.message.contains("found"),
            "{src:?}: {}",
            e.message
        );
    }
}

#[test]
fn error_display() {
    let e = err("a == }");
    assert_eq!(
        e.to_string(),
        "invalid selector at byte 5: expected a string literal after `==`, found `}`"
    );
    let boxed: Box<dyn std::error::Error> = Box::new(e);
    assert!(boxed.to_string().contains("byte 5"));
}

#[test]
fn long_text_is_shortened_in_messages() {
    let long = "x".repeat(300);
    let e = err(&format!("has(a) {long}"));
    assert!(e.message.len() < 150, "{}", e.message);
    assert!(e.message.contains("...`"));
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let ok = format!("{}has(a){}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
    assert!(sel(&ok).matches(&labels(&[("a", "")])));
    let mixed = format!("{}has(a){}", "!(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
    assert!(sel(&mixed).matches(&labels(&[("a", "")])));
    for n in [MAX_DEPTH + 1, 10_000, 1_000_000] {
        let deep = format!("{}has(a){}", "(".repeat(n), ")".repeat(n));
        let e = err(&deep);
        assert_eq!(e.offset, MAX_DEPTH);
        assert!(e.message.contains("nested parentheses"));
    }
}

#[test]
fn from_str_and_serde() {
    use serde::de::IntoDeserializer;
    use serde::Deserialize;
    let s: Selector = "has(a)".parse().unwrap();
    assert_eq!(s, sel("has(a)"));
    assert!("has(".parse::<Selector>().is_err());
    let de: serde::de::value::StrDeserializer<'_, serde::de::value::Error> =
        "a == 'x'".into_deserializer();
    assert_eq!(Selector::deserialize(de).unwrap(), sel(r#"a == "x""#));
    let de: serde::de::value::StrDeserializer<'_, serde::de::value::Error> =
        "a ==".into_deserializer();
    let e = Selector::deserialize(de).unwrap_err();
    assert!(e.to_string().contains("byte 4"), "{e}");
}

#[test]
fn hash_and_eq_follow_normal_form() {
    let set: std::collections::HashSet<Selector> =
        ["has(a)&&has(b)", "(has(a)) && !!has(b)", "has(b) && has(a)"]
            .iter()
            .map(|s| sel(s))
            .collect();
    // Operand order is kept, so only the first two are equal.
    assert_eq!(set.len(), 2);
}

// ------------------------------------------------------- randomised checks

/// Small deterministic PRNG (xorshift64*), so the tests need no crates.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap_or(0)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const FRAGMENTS: &[&str] = &[
    "a", "b", "k8s.io/x", "in", "not", "has", "all", "global", "starts", "with", "ends",
    "contains", "notin", "has(", "all()", "global()", "has(a)", " ", "  ", "\t", "==", "!=", "=",
    "!", "&&", "&", "||", "|", "(", ")", "{", "}", ",", "\"", "'", "\"x\"", "'y'", "\n", "é", "→",
    "\u{0}", "#", "-", ".", "_", "/", "0",
];

fn random_input(rng: &mut Rng) -> String {
    let mut bytes = Vec::new();
    let n = rng.below(24);
    for _ in 0..n {
        if rng.below(5) == 0 {
            bytes.push(rng.next().to_le_bytes()[0]);
        } else {
            bytes.extend_from_slice(rng.pick(FRAGMENTS).as_bytes());
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fn check_result(src: &str) {
    match Selector::parse(src) {
        Ok(s) => {
            let text = s.to_string();
            let again = Selector::parse(&text)
                .unwrap_or_else(|e| panic!("{src:?} printed as {text:?} which fails: {e}"));
            assert_eq!(again, s, "{src:?} -> {text:?}");
            assert_eq!(again.to_string(), text);
        }
        Err(e) => {
            assert!(e.offset <= src.len(), "{src:?}: offset {}", e.offset);
            assert!(
                src.is_char_boundary(e.offset),
                "{src:?}: offset {}",
                e.offset
            );
            assert!(
                e.message.contains("expected") && e.message.contains("found"),
                "{src:?}: {}",
                e.message
            );
        }
    }
}

#[test]
fn random_inputs_never_panic() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut parsed = 0;
    for _ in 0..50_000 {
        let src = random_input(&mut rng);
        check_result(&src);
        parsed += usize::from(Selector::parse(&src).is_ok());
    }
    // The fragment soup should hit valid selectors now and then too.
    assert!(parsed > 100, "only {parsed} random inputs parsed");
    // Pure random bytes.
    for _ in 0..20_000 {
        let len = rng.below(40);
        let bytes: Vec<u8> = (0..len).map(|_| rng.next().to_le_bytes()[0]).collect();
        check_result(&String::from_utf8_lossy(&bytes));
    }
}

const LABELS: &[&str] = &[
    "a",
    "b",
    "in",
    "not",
    "contains",
    "has",
    "all",
    "global",
    "x.io/y-z_0",
];
const VALUES: &[&str] = &["", "1", "x", "a b", "q\"q", "it's", "é→", "&& || (", "\n"];

fn random_value(rng: &mut Rng) -> String {
    rng.pick(VALUES).to_string()
}

fn random_expr(rng: &mut Rng, depth: u32) -> Expr {
    let l = rng.pick(LABELS).to_string();
    let leaf = depth == 0 || rng.below(3) == 0;
    let choice = if leaf {
        rng.below(10)
    } else {
        10 + rng.below(3)
    };
    match choice {
        0 => Expr::All,
        1 => Expr::Has(l),
        2 => Expr::Eq(l, random_value(rng)),
        3 => Expr::Ne(l, random_value(rng)),
        4 => Expr::Contains(l, random_value(rng)),
        5 => Expr::StartsWith(l, random_value(rng)),
        6 => Expr::EndsWith(l, random_value(rng)),
        7 | 8 => {
            let set: BTreeSet<String> = (0..rng.below(4)).map(|_| random_value(rng)).collect();
            if choice == 7 {
                Expr::In(l, set)
            } else {
                Expr::NotIn(l, set)
            }
        }
        9 => Expr::Global,
        10 => Expr::Not(Box::new(random_expr(rng, depth - 1))),
        n => {
            let terms = (0..=rng.below(3))
                .map(|_| random_expr(rng, depth - 1))
                .collect();
            if n == 11 {
                Expr::And(terms)
            } else {
                Expr::Or(terms)
            }
        }
    }
}

fn random_labels(rng: &mut Rng) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for l in LABELS {
        if rng.below(2) == 0 {
            out.insert(l.to_string(), random_value(rng));
        }
    }
    out
}

#[test]
fn random_trees_print_parse_and_evaluate_the_same() {
    let mut rng = Rng(42);
    for _ in 0..5_000 {
        // Arbitrary (not necessarily normalised) trees: printing then parsing
        // gives the normal form, which must evaluate identically.
        let tree = Selector {
            expr: random_expr(&mut rng, 5),
        };
        let text = tree.to_string();
        let parsed = Selector::parse(&text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        assert_eq!(
            parsed.to_string(),
            Selector::parse(&parsed.to_string()).unwrap().to_string()
        );
        assert_eq!(
            Selector::parse(&parsed.to_string()).unwrap(),
            parsed,
            "{text:?}"
        );
        assert_eq!(parsed.labels(), tree.labels());
        assert_eq!(parsed.uses_global(), tree.uses_global());
        for _ in 0..8 {
            let l = random_labels(&mut rng);
            assert_eq!(parsed.matches(&l), tree.matches(&l), "{text:?} on {l:?}");
        }
    }
}
