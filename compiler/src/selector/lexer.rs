//! Tokenizer for the Calico selector language.
//!
//! Mirrors `libcalico-go/lib/selector/tokenizer/tokenizer.go`: the token set,
//! the label alphabet, string literals without escapes, and the rule that the
//! word operators (`in`, `not in`, `contains`, `starts with`, `ends with`) are
//! only recognised directly after a label. Only spaces and tabs separate
//! tokens, exactly as in Calico.
//!
//! The lexer is pulled one token at a time by the parser, so errors are
//! reported in source order (the first problem in the string wins).

use super::SelectorError;

/// Maximum length of a label name (Calico `LabelKeyMatcher` is `{1,512}`).
pub const MAX_LABEL_LEN: usize = 512;

/// Longest piece of source text quoted verbatim in an error message.
const MAX_QUOTED: usize = 40;

/// Token kinds. Payloads (label names, string values) live in [`Token::value`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Label,
    Str,
    LBrace,
    RBrace,
    Comma,
    Eq,
    Ne,
    In,
    NotIn,
    Contains,
    StartsWith,
    EndsWith,
    Not,
    And,
    Or,
    LParen,
    RParen,
    Has,
    All,
    Global,
    Eof,
}

impl Kind {
    /// Canonical spelling of an operator token, for messages.
    pub(crate) fn spelling(self) -> &'static str {
        match self {
            Kind::Label => "label",
            Kind::Str => "string literal",
            Kind::LBrace => "{",
            Kind::RBrace => "}",
            Kind::Comma => ",",
            Kind::Eq => "==",
            Kind::Ne => "!=",
            Kind::In => "in",
            Kind::NotIn => "not in",
            Kind::Contains => "contains",
            Kind::StartsWith => "starts with",
            Kind::EndsWith => "ends with",
            Kind::Not => "!",
            Kind::And => "&&",
            Kind::Or => "||",
            Kind::LParen => "(",
            Kind::RParen => ")",
            Kind::Has => "has(...)",
            Kind::All => "all()",
            Kind::Global => "global()",
            Kind::Eof => "end of selector",
        }
    }
}

/// One token with its byte span `start..end` in the selector string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    pub kind: Kind,
    /// Label name for `Label` and `Has`, string contents for `Str`, else empty.
    pub value: String,
    pub start: usize,
    pub end: usize,
}

/// A lexing failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LexError {
    /// A character that cannot start any token. The parser turns this into
    /// an "expected X, found `c`" message using its own context.
    UnexpectedChar { offset: usize, ch: char },
    /// A complete error that needs no parser context.
    Other(SelectorError),
}

pub(crate) fn is_ws(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

pub(crate) fn is_label_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'/' | b'-')
}

/// Quote a piece of source text for an error message, shortening it if long.
pub(crate) fn quote_src(text: &str) -> String {
    if text.chars().count() <= MAX_QUOTED {
        format!("`{text}`")
    } else {
        let short: String = text.chars().take(MAX_QUOTED - 3).collect();
        format!("`{short}...`")
    }
}

/// Describe a single character that does not start a token.
pub(crate) fn describe_char(ch: char) -> String {
    match ch {
        '\n' | '\r' => {
            "a line break (only spaces and tabs may separate selector tokens)".to_string()
        }
        c if c.is_whitespace() => format!(
            "the whitespace character U+{:04X} (only spaces and tabs may separate selector tokens)",
            u32::from(c)
        ),
        c if c.is_control() => format!("the control character U+{:04X}", u32::from(c)),
        c => format!("`{c}`"),
    }
}

fn lex_err(offset: usize, message: String) -> LexError {
    LexError::Other(SelectorError { offset, message })
}

/// Pull-based tokenizer.
pub(crate) struct Lexer<'a> {
    src: &'a str,
    pos: usize,
    /// Name of the previous token if it was a label (operators are only
    /// recognised right after a label).
    last_label: Option<String>,
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(src: &'a str) -> Self {
        Lexer {
            src,
            pos: 0,
            last_label: None,
        }
    }

    pub(crate) fn src(&self) -> &'a str {
        self.src
    }

    fn bytes(&self) -> &'a [u8] {
        self.src.as_bytes()
    }

    fn byte_at(&self, i: usize) -> Option<u8> {
        self.bytes().get(i).copied()
    }

    fn skip_ws(&mut self) {
        while self.byte_at(self.pos).is_some_and(is_ws) {
            self.pos += 1;
        }
    }

    /// End of the maximal run of label bytes starting at `from`.
    fn label_end(&self, from: usize) -> usize {
        let mut end = from;
        while self.byte_at(end).is_some_and(is_label_byte) {
            end += 1;
        }
        end
    }

    /// Human description of whatever starts at byte `at`, for messages.
    pub(crate) fn describe_at(&self, at: usize) -> String {
        let Some(b) = self.byte_at(at) else {
            return "end of selector".to_string();
        };
        if is_label_byte(b) {
            return quote_src(&self.src[at..self.label_end(at)]);
        }
        match b {
            b' ' => return "a space".to_string(),
            b'\t' => return "a tab".to_string(),
            _ => {}
        }
        // `at` is always a char boundary: every caller passes a position
        // just after ASCII bytes or at the start of the string.
        match self.src.get(at..).and_then(|s| s.chars().next()) {
            Some(c) if c.is_ascii_punctuation() && c != '"' && c != '\'' => format!("`{c}`"),
            Some('"' | '\'') => "a string literal".to_string(),
            Some(c) => describe_char(c),
            None => "end of selector".to_string(),
        }
    }

    fn tok(&mut self, kind: Kind, start: usize, end: usize, value: String) -> Token {
        self.pos = end;
        Token {
            kind,
            value,
            start,
            end,
        }
    }

    /// Produce the next token. After `Eof` it keeps returning `Eof`.
    pub(crate) fn next_token(&mut self) -> Result<Token, LexError> {
        self.skip_ws();
        let start = self.pos;
        let after_label = self.last_label.take();
        let Some(b) = self.byte_at(start) else {
            return Ok(self.tok(Kind::Eof, start, start, String::new()));
        };
        let next = self.byte_at(start + 1);
        let token = match b {
            b'(' => self.tok(Kind::LParen, start, start + 1, String::new()),
            b')' => self.tok(Kind::RParen, start, start + 1, String::new()),
            b'{' => self.tok(Kind::LBrace, start, start + 1, String::new()),
            b'}' => self.tok(Kind::RBrace, start, start + 1, String::new()),
            b',' => self.tok(Kind::Comma, start, start + 1, String::new()),
            b'"' | b'\'' => {
                let quote = b as char;
                let body = start + 1;
                match self.src[body..].find(quote) {
                    Some(len) => {
                        let value = self.src[body..body + len].to_string();
                        self.tok(Kind::Str, start, body + len + 1, value)
                    }
                    None => {
                        return Err(lex_err(
                            start,
                            format!(
                                "unterminated string literal: expected a closing `{quote}`, \
                                 found end of selector (string literals have no escapes)"
                            ),
                        ))
                    }
                }
            }
            b'=' if next == Some(b'=') => self.tok(Kind::Eq, start, start + 2, String::new()),
            b'=' => {
                return Err(lex_err(
                    start,
                    "expected `==`, found a single `=`".to_string(),
                ))
            }
            b'!' if next == Some(b'=') => self.tok(Kind::Ne, start, start + 2, String::new()),
            b'!' => self.tok(Kind::Not, start, start + 1, String::new()),
            b'&' if next == Some(b'&') => self.tok(Kind::And, start, start + 2, String::new()),
            b'&' => {
                return Err(lex_err(
                    start,
                    "expected `&&`, found a single `&`".to_string(),
                ))
            }
            b'|' if next == Some(b'|') => self.tok(Kind::Or, start, start + 2, String::new()),
            b'|' => {
                return Err(lex_err(
                    start,
                    "expected `||`, found a single `|`".to_string(),
                ))
            }
            _ => match after_label {
                Some(label) => self.operator(start, &label)?,
                None => self.word(start)?,
            },
        };
        if token.kind == Kind::Label {
            self.last_label = Some(token.value.clone());
        }
        Ok(token)
    }

    /// Lex a word operator directly after label `label`.
    fn operator(&mut self, start: usize, label: &str) -> Result<Token, LexError> {
        let end = self.label_end(start);
        let word = &self.src[start..end];
        let single = match word {
            "contains" => Some(Kind::Contains),
            "in" => Some(Kind::In),
            // Calico matches the two words by prefix with optional whitespace
            // between, so the run-together spellings are accepted too.
            "startswith" => Some(Kind::StartsWith),
            "endswith" => Some(Kind::EndsWith),
            "notin" => Some(Kind::NotIn),
            _ => None,
        };
        if let Some(kind) = single {
            return Ok(self.tok(kind, start, end, String::new()));
        }
        let (second, kind) = match word {
            "starts" => ("with", Kind::StartsWith),
            "ends" => ("with", Kind::EndsWith),
            "not" => ("in", Kind::NotIn),
            _ => {
                let found = if end > start {
                    quote_src(word)
                } else {
                    self.describe_at(start)
                };
                let mut message = format!(
                    "expected an operator (`==`, `!=`, `in`, `not in`, `contains`, \
                     `starts with` or `ends with`) after label {}, found {found}",
                    quote_src(label)
                );
                if end == start && self.byte_at(start).is_some_and(|b| !b.is_ascii()) {
                    message.push_str(" (labels may only contain A-Z a-z 0-9 _ . / -)");
                }
                return Err(lex_err(start, message));
            }
        };
        self.pos = end;
        self.skip_ws();
        let second_start = self.pos;
        let second_end = self.label_end(second_start);
        if &self.src[second_start..second_end] == second {
            Ok(self.tok(kind, start, second_end, String::new()))
        } else {
            Err(lex_err(
                second_start,
                format!(
                    "expected `{second}` after `{word}`, found {}",
                    self.describe_at(second_start)
                ),
            ))
        }
    }

    /// Lex a token that is not directly after a label: `has(l)`, `all()`,
    /// `global()` or a label.
    fn word(&mut self, start: usize) -> Result<Token, LexError> {
        let rest = &self.src[start..];
        if rest.starts_with("has(") {
            self.pos = start + "has(".len();
            self.skip_ws();
            let label_start = self.pos;
            let label_end = self.label_end(label_start);
            if label_end == label_start {
                return Err(lex_err(
                    label_start,
                    format!(
                        "expected a label name after `has(`, found {}",
                        self.describe_at(label_start)
                    ),
                ));
            }
            self.check_label_len(label_start, label_end)?;
            let label = self.src[label_start..label_end].to_string();
            self.pos = label_end;
            self.skip_ws();
            let close = self.pos;
            if self.byte_at(close) == Some(b')') {
                return Ok(self.tok(Kind::Has, start, close + 1, label));
            }
            return Err(lex_err(
                close,
                format!(
                    "expected `)` to close `has({label}`, found {}",
                    self.describe_at(close)
                ),
            ));
        }
        for (prefix, kind) in [("all(", Kind::All), ("global(", Kind::Global)] {
            if rest.starts_with(prefix) {
                self.pos = start + prefix.len();
                self.skip_ws();
                let close = self.pos;
                if self.byte_at(close) == Some(b')') {
                    return Ok(self.tok(kind, start, close + 1, String::new()));
                }
                return Err(lex_err(
                    close,
                    format!(
                        "expected `)` after `{prefix}` ({} takes no arguments), found {}",
                        kind.spelling(),
                        self.describe_at(close)
                    ),
                ));
            }
        }
        let end = self.label_end(start);
        if end > start {
            self.check_label_len(start, end)?;
            let label = self.src[start..end].to_string();
            return Ok(self.tok(Kind::Label, start, end, label));
        }
        // Not a token at all; `start` is a char boundary (see describe_at).
        let ch = self.src[start..].chars().next().unwrap_or('\u{FFFD}');
        Err(LexError::UnexpectedChar { offset: start, ch })
    }

    fn check_label_len(&self, start: usize, end: usize) -> Result<(), LexError> {
        let len = end - start;
        if len > MAX_LABEL_LEN {
            return Err(lex_err(
                start,
                format!(
                    "expected a label of at most {MAX_LABEL_LEN} characters, found one of {len} \
                     characters starting {}",
                    quote_src(&self.src[start..end])
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Result<Vec<Kind>, LexError> {
        let mut lx = Lexer::new(src);
        let mut out = Vec::new();
        loop {
            let t = lx.next_token()?;
            out.push(t.kind);
            if t.kind == Kind::Eof {
                return Ok(out);
            }
        }
    }

    fn tokens(src: &str) -> Vec<Token> {
        let mut lx = Lexer::new(src);
        let mut out = Vec::new();
        loop {
            let t = lx.next_token().expect("lexes");
            let eof = t.kind == Kind::Eof;
            out.push(t);
            if eof {
                return out;
            }
        }
    }

    fn err(src: &str) -> (usize, String) {
        let mut lx = Lexer::new(src);
        loop {
            match lx.next_token() {
                Ok(t) if t.kind == Kind::Eof => panic!("{src:?} lexed without error"),
                Ok(_) => {}
                Err(LexError::Other(e)) => return (e.offset, e.message),
                Err(LexError::UnexpectedChar { offset, ch }) => {
                    return (offset, format!("unexpected {ch:?}"))
                }
            }
        }
    }

    use Kind::*;

    #[test]
    fn punctuation_and_operators() {
        assert_eq!(
            kinds("( ) { } , ! && || a == 'x' b != \"y\"").unwrap(),
            vec![
                LParen, RParen, LBrace, RBrace, Comma, Not, And, Or, Label, Eq, Str, Label, Ne,
                Str, Eof
            ]
        );
    }

    #[test]
    fn word_operators_after_label_only() {
        assert_eq!(
            kinds("a in {} b not in {} c contains 'x' d starts with 'x' e ends with 'x'").unwrap(),
            vec![
                Label, In, LBrace, RBrace, Label, NotIn, LBrace, RBrace, Label, Contains, Str,
                Label, StartsWith, Str, Label, EndsWith, Str, Eof
            ]
        );
        // Not after a label: they are plain labels.
        assert_eq!(kinds("in == 'x'").unwrap(), vec![Label, Eq, Str, Eof]);
        assert_eq!(kinds("contains != 'x'").unwrap(), vec![Label, Ne, Str, Eof]);
        assert_eq!(
            kinds("!starts == 'x'").unwrap(),
            vec![Not, Label, Eq, Str, Eof]
        );
    }

    #[test]
    fn multi_word_operators_take_any_blank_run() {
        for src in ["a not in {}", "a not\t \tin {}", "a notin {}", "a not in{}"] {
            assert_eq!(
                kinds(src).unwrap(),
                vec![Label, NotIn, LBrace, RBrace, Eof],
                "{src}"
            );
        }
        for src in ["a starts with''", "a starts \t with ''", "a startswith ''"] {
            assert_eq!(
                kinds(src).unwrap(),
                vec![Label, StartsWith, Str, Eof],
                "{src}"
            );
        }
        for src in ["a ends with''", "a ends   with ''", "a endswith ''"] {
            assert_eq!(
                kinds(src).unwrap(),
                vec![Label, EndsWith, Str, Eof],
                "{src}"
            );
        }
        let t = tokens("a  starts   with 'x'");
        assert_eq!((t[1].start, t[1].end), (3, 16));
    }

    #[test]
    fn word_boundary_on_operators() {
        let (off, msg) = err("a inx {}");
        assert_eq!(off, 2);
        assert!(msg.contains("found `inx`"), "{msg}");
        let (off, msg) = err("a containsx 'y'");
        assert_eq!(off, 2);
        assert!(msg.contains("found `containsx`"), "{msg}");
        let (off, msg) = err("a starts within 'y'");
        assert_eq!(off, 9);
        assert_eq!(msg, "expected `with` after `starts`, found `within`");
        let (off, msg) = err("a not 'y'");
        assert_eq!(off, 6);
        assert_eq!(msg, "expected `in` after `not`, found a string literal");
    }

    #[test]
    fn labels_and_values() {
        let t = tokens("k8s.io/app-name_1 == 'a b\"c' ");
        assert_eq!(t[0].value, "k8s.io/app-name_1");
        assert_eq!((t[0].start, t[0].end), (0, 17));
        assert_eq!(t[2].kind, Str);
        assert_eq!(t[2].value, "a b\"c");
        assert_eq!((t[2].start, t[2].end), (21, 28));
        // No escapes: a backslash is an ordinary character.
        let t = tokens(r#"a == "x\""#);
        assert_eq!(t[2].value, "x\\");
        // Non-ASCII inside strings is fine.
        let t = tokens("a == 'héllo→'");
        assert_eq!(t[2].value, "héllo→");
    }

    #[test]
    fn functions() {
        let t = tokens("has( a/b ) all( ) global()");
        assert_eq!(t[0].kind, Has);
        assert_eq!(t[0].value, "a/b");
        assert_eq!((t[0].start, t[0].end), (0, 10));
        assert_eq!(t[1].kind, All);
        assert_eq!(t[2].kind, Global);
        // A space before the parenthesis makes it a label (as in Calico).
        assert_eq!(
            kinds("has (a)").unwrap(),
            vec![Label, LParen, Label, RParen, Eof]
        );
        // Prefix-named labels are labels.
        assert_eq!(kinds("hasx == ''").unwrap(), vec![Label, Eq, Str, Eof]);
        assert_eq!(kinds("allow == ''").unwrap(), vec![Label, Eq, Str, Eof]);
    }

    #[test]
    fn lexical_errors() {
        assert_eq!(err("a == 'abc").0, 5);
        assert!(err("a == 'abc")
            .1
            .starts_with("unterminated string literal"));
        assert_eq!(err("a = 'x'").0, 2);
        assert_eq!(err("a = 'x'").1, "expected `==`, found a single `=`");
        assert_eq!(err("has(a) & has(b)").0, 7);
        assert_eq!(err("has(a) | has(b)").0, 7);
        assert_eq!(err("has()").0, 4);
        assert_eq!(
            err("has()").1,
            "expected a label name after `has(`, found `)`"
        );
        assert_eq!(err("has(a b)").0, 6);
        assert_eq!(
            err("has(a b)").1,
            "expected `)` to close `has(a`, found `b`"
        );
        assert_eq!(err("all(x)").0, 4);
        assert_eq!(err("global( ").0, 8);
        assert_eq!(err("a # 'x'").0, 2);
        assert_eq!(err("#").0, 0);
        assert_eq!(err("a == 'x'\n&& has(b)").0, 8);
        assert!(err("a ==\n'x'").1.contains("unexpected '\\n'"));
        assert!(err("a é").1.contains("found `é`"));
    }

    #[test]
    fn label_length_limit() {
        let ok = "l".repeat(MAX_LABEL_LEN);
        assert_eq!(
            kinds(&format!("{ok} == ''")).unwrap(),
            vec![Label, Eq, Str, Eof]
        );
        let long = "l".repeat(MAX_LABEL_LEN + 1);
        let (off, msg) = err(&format!("has(a) && {long} == ''"));
        assert_eq!(off, 10);
        assert!(msg.contains("at most 512"), "{msg}");
        let (off, _) = err(&format!("has( {long})"));
        assert_eq!(off, 5);
    }

    #[test]
    fn eof_is_sticky() {
        let mut lx = Lexer::new("  ");
        assert_eq!(lx.next_token().unwrap().kind, Eof);
        assert_eq!(lx.next_token().unwrap().kind, Eof);
        assert_eq!(lx.next_token().unwrap().start, 2);
    }

    #[test]
    fn quoting_in_messages() {
        assert_eq!(quote_src("abc"), "`abc`");
        let long = "x".repeat(100);
        assert_eq!(quote_src(&long), format!("`{}...`", "x".repeat(37)));
        assert!(describe_char('\n').contains("line break"));
        assert!(describe_char('\u{0}').contains("U+0000"));
        assert_eq!(describe_char('é'), "`é`");
    }
}
