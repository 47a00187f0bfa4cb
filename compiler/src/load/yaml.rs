//! Marked YAML parsing: YAML text → a tree of [`Node`]s that keep their
//! position.
//!
//! Why not serde_yaml here: serde_yaml (archived upstream) gives a position
//! only for syntax errors, never for values, and netc must point semantic
//! errors ("this CIDR overlaps that one") at file:line:column. yaml-rust2's
//! event parser reports a [`Marker`] for every event, so we build our own
//! small tree from it, detect what serde_yaml would hide (tags, duplicate
//! keys), and convert to `serde_json::Value` plus a pointer → span index
//! (see [`super::document`]). serde_yaml is still used where no spans are
//! needed (the lock file).

use crate::diag::{codes, Diagnostic};
use crate::source::{FileId, SourceFile, Span};
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// Upper bound on nodes produced by alias expansion for one file: a guard
/// against "billion laughs" inputs. Only copies made by aliases count: the
/// nodes written out in the file cost memory in proportion to its size
/// already, so a large file without aliases is never refused.
const MAX_ALIAS_NODES: usize = 1_000_000;
/// Upper bound on nesting, so deep inputs give an error instead of a stack overflow.
const MAX_DEPTH: usize = 128;

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    /// An integer above i64::MAX (go-yaml v2 keeps these as uint64).
    UInt(u64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub value: Value,
    pub span: Span,
    /// For an unquoted scalar that resolved to a boolean or a number: its
    /// text, so later stages can say what was written and what Calico reads.
    /// Boxed: few scalars are numbers or booleans, and every node of a large
    /// input pays for the field's size.
    pub plain: Option<Box<Plain>>,
}

/// An unquoted scalar that YAML resolved to a non-string.
#[derive(Clone, Debug, PartialEq)]
pub struct Plain {
    /// The text as written.
    pub text: String,
    /// YAML 1.2's core schema would read the text differently (`yes` as a
    /// string, `010` as ten): only YAML 1.1, which calicoctl uses, reads it so.
    pub yaml11_only: bool,
}

/// One YAML document of a file. `None` root = empty document.
pub struct YamlDoc {
    pub root: Option<Node>,
    pub span: Span,
}

/// Parse a whole file into documents. Syntax problems come back as diagnostics;
/// documents parsed before the error are returned too.
///
/// A large file of many documents is parsed a run of documents per core:
/// `---` at the start of a line always starts a document (YAML forbids the
/// marker inside any scalar), and documents share nothing but aliases and
/// directives — a file with either (or anything like one) is parsed whole.
/// The result is what a single parse gives: chunks after the first one that
/// fails are dropped, as a single parser stops at its first error.
pub fn parse_file(file: FileId, src: &SourceFile) -> (Vec<YamlDoc>, Vec<Diagnostic>) {
    use rayon::prelude::*;
    let chunks = chunks(&src.text);
    if chunks.len() < 2 {
        let (docs, diags, _) = parse_range(file, src, 0..src.text.len(), 0);
        return (docs, diags);
    }
    let parsed: Vec<_> = chunks
        .par_iter()
        .map(|(range, line_base)| parse_range(file, src, range.clone(), *line_base))
        .collect();
    let (mut docs, mut diags) = (Vec::new(), Vec::new());
    for (d, g, failed) in parsed {
        docs.extend(d);
        diags.extend(g);
        if failed {
            break;
        }
    }
    (docs, diags)
}

/// Files below twice this size parse in one piece. Small enough that a
/// 1.4 MiB file of ten policies parses in ten pieces: in five, one core
/// idled while the other parsed the last (5 ms of a 65 ms load).
const CHUNK_MIN: usize = 64 * 1024;

/// Byte ranges of runs of whole documents, about `CHUNK_MIN` each, with the
/// number of lines before each; one range when the file must be parsed whole.
fn chunks(text: &str) -> Vec<(std::ops::Range<usize>, u32)> {
    let whole = vec![(0..text.len(), 0)];
    if text.len() < 2 * CHUNK_MIN || text.contains(['&', '*']) {
        return whole;
    }
    split_at_markers(text, CHUNK_MIN).unwrap_or(whole)
}

/// The byte range of every document of a file (and the lines before it),
/// for [`super::doc_cache`]; None when the file must be parsed whole: a
/// `%` directive, or what may be an alias (`*name` where a value can
/// start: a `*` inside a quoted string or a word is none).
pub(super) fn document_ranges(text: &str) -> Option<Vec<(std::ops::Range<usize>, u32)>> {
    let b = text.as_bytes();
    let alias = b.iter().enumerate().any(|(i, &c)| {
        c == b'*'
            && (i == 0 || b" \t\n:[{,-".contains(&b[i - 1]))
            && b.get(i + 1)
                .is_some_and(|n| !n.is_ascii_whitespace() && *n != b'"' && *n != b'\'')
    });
    if alias {
        return None;
    }
    split_at_markers(text, 0)
}

/// Ranges of runs of whole documents of at least `min` bytes each; None
/// when the file holds a directive.
fn split_at_markers(text: &str, min: usize) -> Option<Vec<(std::ops::Range<usize>, u32)>> {
    let mut out = Vec::new();
    let (mut start, mut start_line, mut line) = (0usize, 0u32, 0u32);
    let mut off = 0usize;
    for l in text.split_inclusive('\n') {
        if l.starts_with('%') {
            return None;
        }
        let marker =
            l.starts_with("---") && l[3..].chars().next().is_none_or(|c| c.is_whitespace());
        if marker && off > start && off - start >= min {
            out.push((start..off, start_line));
            (start, start_line) = (off, line);
        }
        off += l.len();
        line += 1;
    }
    out.push((start..text.len(), start_line));
    Some(out)
}

/// Parse `range` of the file, whose first line is line `line_base + 1`.
/// Returns the documents, diagnostics and whether parsing failed.
pub(super) fn parse_range(
    file: FileId,
    src: &SourceFile,
    range: std::ops::Range<usize>,
    line_base: u32,
) -> (Vec<YamlDoc>, Vec<Diagnostic>, bool) {
    let mut b = Builder {
        file,
        src,
        line_base,
        ascii: {
            // Printable ASCII, tabs and newlines only: a lone CR breaks a
            // line for YAML, not for the source map, and the scanner's
            // markers around control characters disagree.
            let plain = |b: &u8| matches!(b, b'\n' | b'\t' | 0x20..=0x7e);
            src.text.as_bytes()[range.clone()]
                .iter()
                .all(plain)
                .then(|| range.clone())
        },
        stack: Vec::new(),
        docs: Vec::new(),
        anchors: Vec::new(),
        diags: Vec::new(),
        alias_nodes: 0,
        doc_start: Span::default(),
        doc_has_root: false,
        failed: false,
    };
    // yaml-rust2's recursion guard is far above ours; depth is checked while building.
    let mut parser = Parser::new_from_str(&src.text[range]);
    if let Err(e) = parser.load(&mut b, true) {
        let m = e.marker();
        let span = b.span_at(m);
        b.diags.push(
            Diagnostic::error(
                codes::YAML_SYNTAX,
                format!("YAML syntax error: {}", e.info()),
            )
            .at(span)
            .label("parser stopped here"),
        );
        b.failed = true;
    }
    (b.docs, b.diags, b.failed)
}

enum Frame {
    Seq(Vec<Node>, Span, usize),
    /// entries, pending key, start span, anchor
    Map(Vec<(Node, Node)>, Option<Node>, Span, usize),
}

struct Builder<'a> {
    file: FileId,
    src: &'a SourceFile,
    /// Lines of the file before the text being parsed.
    line_base: u32,
    /// The range of the text being parsed, when it is plain ASCII.
    ascii: Option<std::ops::Range<usize>>,
    stack: Vec<Frame>,
    docs: Vec<YamlDoc>,
    anchors: Vec<(usize, Node)>,
    diags: Vec<Diagnostic>,
    /// Nodes copied by aliases so far (see [`MAX_ALIAS_NODES`]).
    alias_nodes: usize,
    doc_start: Span,
    doc_has_root: bool,
    failed: bool,
}

impl Builder<'_> {
    fn span_at(&self, m: &Marker) -> Span {
        let line = m.line().max(1) as u32 + self.line_base;
        // yaml-rust2 columns are 0-based; ours are 1-based character columns.
        let col = m.col() as u32 + 1;
        // In ASCII text the marker's index (characters read) is the byte
        // offset: no walk along the line (8 % of a large parse). The end
        // of the text, where a line may not exist, is left to `offset_of`.
        let offset = match &self.ascii {
            Some(r) if r.start + m.index() < r.end => r.start + m.index(),
            _ => self.src.offset_of(line, col),
        };
        debug_assert_eq!(offset, self.src.offset_of(line, col), "at {m:?}");
        Span {
            file: self.file,
            offset,
            len: 1,
            line,
            col,
        }
    }

    fn fail(&mut self, d: Diagnostic) {
        if !self.failed {
            self.diags.push(d);
        }
        self.failed = true;
    }

    fn check_tag(&mut self, tag: &Option<Tag>, span: Span, scalar: Option<&str>) {
        let Some(t) = tag else { return };
        // `!!str` and friends are the standard schema tags: harmless and explicit.
        if t.handle == "!!" || t.handle == "tag:yaml.org,2002:" {
            return;
        }
        let shown = format!("{}{}", t.handle, t.suffix);
        // The parser reports a tagged empty value at the *next* token; point
        // at the tag itself, the last occurrence of its text before that.
        let span = match self
            .src
            .text
            .get(..span.offset)
            .and_then(|before| before.rfind(&shown))
        {
            Some(off) => {
                let line = self.src.text[..off].matches('\n').count() as u32 + 1;
                let col = self.src.text[self.src.line_start(line)..off]
                    .chars()
                    .count() as u32
                    + 1;
                Span {
                    offset: off,
                    line,
                    col,
                    ..span
                }
            }
            None => span,
        };
        let quoted = match scalar {
            Some(s) if !s.is_empty() => format!("\"{} {}\"", shown, s),
            _ => format!("\"{}\"", shown),
        };
        self.diags.push(
            Diagnostic::error(
                codes::YAML_TAG,
                format!("`{shown}` is a YAML tag, not a value: the field would be read as empty"),
            )
            .at(span.with_len(shown.len()))
            .label("unquoted `!` starts a YAML tag")
            .note(format!("quote the whole value: {quoted}"))
            .note("Calico silently drops a tagged field: a peer or pool meant for some nodes applies to all"),
        );
    }

    fn push_node(&mut self, node: Node) {
        if self.alias_nodes > MAX_ALIAS_NODES {
            let span = node.span;
            self.fail(
                Diagnostic::error(
                    codes::YAML_UNSUPPORTED,
                    format!(
                        "aliases expand to more than {MAX_ALIAS_NODES} nodes in this file (a \"billion laughs\" input?)"
                    ),
                )
                .at(span)
                .note("write the repeated values out, or use fewer nested aliases"),
            );
            return;
        }
        match self.stack.last_mut() {
            Some(Frame::Seq(items, _, _)) => items.push(node),
            Some(Frame::Map(entries, pending, _, _)) => match pending.take() {
                None => *pending = Some(node),
                Some(key) => entries.push((key, node)),
            },
            None => {
                self.doc_has_root = true;
                self.docs.push(YamlDoc {
                    root: Some(node),
                    span: self.doc_start,
                })
            }
        }
    }

    fn remember(&mut self, anchor: usize, node: &Node) {
        if anchor > 0 {
            self.anchors.push((anchor, node.clone()));
        }
    }
}

/// Resolve an unquoted scalar the way calicoctl does: sigs.k8s.io/yaml
/// decodes with go-yaml v2, which implements YAML 1.1's scalar types
/// (`resolve.go`): `y|Y|yes|Yes|YES|on|On|ON|true|True|TRUE` are true,
/// `n|N|no|No|NO|off|Off|OFF|false|False|FALSE` false; integers go through
/// Go's `strconv.ParseInt(s, 0, 64)` after removing every `_` (so `010` is
/// octal 8, `0x1f`, `0o17`, `0b101` are hex/octal/binary), then `ParseUint`,
/// then floats matching `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
/// Returns the value and whether YAML 1.2's core schema would read the text
/// differently.
pub fn resolve_plain(s: &str) -> (Value, bool) {
    let v11 = resolve_yaml11(s);
    let v12 = resolve_core12(s);
    let differs = v11 != v12;
    (v11, differs)
}

/// Whether a plain scalar can resolve to anything but a string: most are
/// words (`Allow`, `TCP`, a name), and only text starting like a number, a
/// null or a boolean (YAML 1.1's `y`, `on`, `off` included) can.
fn may_resolve(s: &str) -> bool {
    s.bytes()
        .next()
        .is_none_or(|b| b"0123456789+-.~nNyYtTfFoO".contains(&b))
}

fn resolve_yaml11(s: &str) -> Value {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Value::Bool(true)
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Value::Bool(false)
        }
        // NaN and infinities: not representable in JSON (calicoctl fails on
        // them); keep as text so the schema reports a type error.
        ".nan" | ".NaN" | ".NAN" | ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF"
        | "-.inf" | "-.Inf" | "-.INF" => return Value::Str(s.to_string()),
        _ => {}
    }
    let first = s.as_bytes()[0];
    if first == b'.' {
        return match go_parse_float(s) {
            Some(f) => Value::Float(f),
            None => Value::Str(s.to_string()),
        };
    }
    if !(first.is_ascii_digit() || first == b'+' || first == b'-') {
        return Value::Str(s.to_string());
    }
    let plain: String = s.chars().filter(|c| *c != '_').collect();
    if let Some(v) = go_parse_int(&plain) {
        return v;
    }
    if yaml_style_float(&plain) {
        if let Some(f) = go_parse_float(&plain) {
            return Value::Float(f);
        }
    }
    Value::Str(s.to_string())
}

/// Go's `strconv.ParseInt(s, 0, 64)`, falling back to `ParseUint(s, 0, 64)`.
fn go_parse_int(s: &str) -> Option<Value> {
    let (neg, signed, rest) = match s.as_bytes().first()? {
        b'-' => (true, true, &s[1..]),
        b'+' => (false, true, &s[1..]),
        _ => (false, false, s),
    };
    let lower = rest.get(..2).map(|p| p.to_ascii_lowercase());
    let (radix, digits) = match lower.as_deref() {
        Some("0x") => (16, &rest[2..]),
        Some("0o") => (8, &rest[2..]),
        Some("0b") => (2, &rest[2..]),
        _ if rest.len() > 1 && rest.starts_with('0') => (8, &rest[1..]),
        _ => (10, rest),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let mag = u128::from_str_radix(digits, radix).ok()?;
    if neg {
        if mag <= i64::MAX as u128 + 1 {
            return Some(Value::Int((-(mag as i128)) as i64));
        }
        return None;
    }
    if mag <= i64::MAX as u128 {
        return Some(Value::Int(mag as i64));
    }
    // ParseUint takes no sign.
    if !signed && mag <= u64::MAX as u128 {
        return Some(Value::UInt(mag as u64));
    }
    None
}

/// go-yaml v2's `yamlStyleFloat`.
fn yaml_style_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'+' | b'-')) {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let st = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - st
    };
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// Go's `strconv.ParseFloat(s, 64)` for the decimal forms YAML can reach
/// here; out-of-range values are an error in Go, so `None`.
fn go_parse_float(s: &str) -> Option<f64> {
    if !s
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        return None;
    }
    s.parse::<f64>().ok().filter(|f| f.is_finite())
}

/// How YAML 1.2's core schema reads a plain scalar (what netc read before it
/// followed calicoctl); used only to tell when the two disagree.
fn resolve_core12(s: &str) -> Value {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    let (neg, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let int = if let Some(h) = digits.strip_prefix("0x") {
        i64::from_str_radix(h, 16).ok()
    } else if let Some(o) = digits.strip_prefix("0o") {
        i64::from_str_radix(o, 8).ok()
    } else if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        digits.parse::<i64>().ok()
    } else {
        None
    };
    if let Some(i) = int {
        return Value::Int(if neg { -i } else { i });
    }
    if let Some(f) = go_parse_float(s) {
        if yaml_style_float(s) {
            return Value::Float(f);
        }
    }
    Value::Str(s.to_string())
}

/// Go's `strconv.FormatFloat(v, 'g', -1, 32)`: how sigs.k8s.io/yaml turns a
/// YAML float into the text of a string field (`1.10` → `1.1`, `1e6` →
/// `1e+06`, at float32 precision).
pub fn go_format_float32(v: f64) -> String {
    let f = v as f32;
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    let e = format!("{f:e}");
    let (neg, e) = match e.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, e.as_str()),
    };
    let (mant, exp) = e.split_once('e').unwrap_or((e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(|c| *c != '.').collect();
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if digits == "0" {
        out.push('0');
        return out;
    }
    let nd = digits.len() as i32;
    if !(-4..6).contains(&exp) {
        out.push_str(&digits[..1]);
        if nd > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        out.push_str(&format!("{:02}", exp.abs()));
        return out;
    }
    let dp = exp + 1;
    if dp <= 0 {
        out.push_str("0.");
        out.push_str(&"0".repeat((-dp) as usize));
        out.push_str(&digits);
    } else if dp >= nd {
        out.push_str(&digits);
        out.push_str(&"0".repeat((dp - nd) as usize));
    } else {
        out.push_str(&digits[..dp as usize]);
        out.push('.');
        out.push_str(&digits[dp as usize..]);
    }
    out
}

/// The string sigs.k8s.io/yaml gives a string-typed field for a YAML
/// boolean or number (`convertToJSONableObject`).
pub fn go_string(v: &Value) -> Option<String> {
    Some(match v {
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::UInt(u) => u.to_string(),
        Value::Float(f) => go_format_float32(*f),
        _ => return None,
    })
}

impl MarkedEventReceiver for Builder<'_> {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if self.failed {
            return;
        }
        let span = self.span_at(&mark);
        match ev {
            Event::Nothing | Event::StreamStart | Event::StreamEnd => {}
            Event::DocumentStart => {
                self.doc_start = span;
                self.doc_has_root = false;
                self.anchors.clear();
            }
            Event::DocumentEnd => {
                // A document with no content at all ("---" alone).
                if !self.doc_has_root {
                    self.docs.push(YamlDoc {
                        root: None,
                        span: self.doc_start,
                    });
                }
            }
            Event::Alias(id) => {
                match self.anchors.iter().rev().find(|(a, _)| *a == id) {
                    Some((_, n)) => {
                        let mut n = n.clone();
                        n.span = span;
                        // count the cloned subtree against the budget
                        self.alias_nodes += count_nodes(&n);
                        self.push_node(n);
                    }
                    None => self.fail(
                        Diagnostic::error(codes::YAML_UNSUPPORTED, "alias to an unknown anchor")
                            .at(span),
                    ),
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                self.check_tag(&tag, span, Some(&text));
                let len = match style {
                    TScalarStyle::Plain => text.len(),
                    TScalarStyle::SingleQuoted | TScalarStyle::DoubleQuoted => text.len() + 2,
                    _ => 1,
                };
                let resolve = match (style, &tag) {
                    (TScalarStyle::Plain, None) => true,
                    (TScalarStyle::Plain, Some(t)) if t.handle == "!!" => t.suffix != "str",
                    _ => false,
                };
                // The event's text becomes the value (a string) or the
                // plain text kept beside it (a bool or number): never copied.
                let (value, plain) = if resolve && may_resolve(&text) {
                    match resolve_plain(&text) {
                        (Value::Str(_), _) => (Value::Str(text), None),
                        (Value::Null, _) => (Value::Null, None),
                        (v, yaml11_only) => (v, Some(Box::new(Plain { text, yaml11_only }))),
                    }
                } else {
                    (Value::Str(text), None)
                };
                let node = Node {
                    value,
                    span: span.with_len(len.max(1)),
                    plain,
                };
                self.remember(anchor, &node);
                self.push_node(node);
            }
            Event::SequenceStart(anchor, tag) => {
                self.check_tag(&tag, span, None);
                if self.stack.len() >= MAX_DEPTH {
                    self.fail(
                        Diagnostic::error(
                            codes::YAML_UNSUPPORTED,
                            format!("nesting deeper than {MAX_DEPTH} levels"),
                        )
                        .at(span),
                    );
                    return;
                }
                self.stack.push(Frame::Seq(Vec::new(), span, anchor));
            }
            Event::MappingStart(anchor, tag) => {
                self.check_tag(&tag, span, None);
                if self.stack.len() >= MAX_DEPTH {
                    self.fail(
                        Diagnostic::error(
                            codes::YAML_UNSUPPORTED,
                            format!("nesting deeper than {MAX_DEPTH} levels"),
                        )
                        .at(span),
                    );
                    return;
                }
                self.stack.push(Frame::Map(Vec::new(), None, span, anchor));
            }
            Event::SequenceEnd => {
                if let Some(Frame::Seq(items, start, anchor)) = self.stack.pop() {
                    let node = Node {
                        value: Value::Seq(items),
                        span: start,
                        plain: None,
                    };
                    self.remember(anchor, &node);
                    self.push_node(node);
                }
            }
            Event::MappingEnd => {
                if let Some(Frame::Map(entries, _, start, anchor)) = self.stack.pop() {
                    let node = Node {
                        value: Value::Map(entries),
                        span: start,
                        plain: None,
                    };
                    self.remember(anchor, &node);
                    self.push_node(node);
                }
            }
        }
    }
}

fn count_nodes(n: &Node) -> usize {
    match &n.value {
        Value::Seq(items) => 1 + items.iter().map(count_nodes).sum::<usize>(),
        Value::Map(e) => {
            1 + e
                .iter()
                .map(|(k, v)| count_nodes(k) + count_nodes(v))
                .sum::<usize>()
        }
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table below is go-yaml v2.4.2's resolve.go (used by sigs.k8s.io/yaml
    /// v1.6.0, which calicoctl uses) applied by hand; strings for string
    /// fields are Go's `FormatFloat(v, 'g', -1, 32)` / `FormatInt`.
    #[test]
    fn yaml11_scalars_as_calicoctl_reads_them() {
        let cases: &[(&str, Value, Option<&str>)] = &[
            ("yes", Value::Bool(true), Some("true")),
            ("Y", Value::Bool(true), Some("true")),
            ("on", Value::Bool(true), Some("true")),
            ("ON", Value::Bool(true), Some("true")),
            ("no", Value::Bool(false), Some("false")),
            ("off", Value::Bool(false), Some("false")),
            ("n", Value::Bool(false), Some("false")),
            ("True", Value::Bool(true), Some("true")),
            ("tRUE", Value::Str("tRUE".into()), None),
            ("yEs", Value::Str("yEs".into()), None),
            ("010", Value::Int(8), Some("8")),
            ("-010", Value::Int(-8), Some("-8")),
            ("09", Value::Float(9.0), Some("9")),
            ("0x1F", Value::Int(31), Some("31")),
            ("0o17", Value::Int(15), Some("15")),
            ("0b101", Value::Int(5), Some("5")),
            ("1_000", Value::Int(1000), Some("1000")),
            ("+7", Value::Int(7), Some("7")),
            (
                "18446744073709551615",
                Value::UInt(u64::MAX),
                Some("18446744073709551615"),
            ),
            ("1.10", Value::Float(1.1), Some("1.1")),
            ("1e3", Value::Float(1000.0), Some("1000")),
            ("1e6", Value::Float(1e6), Some("1e+06")),
            ("123456", Value::Int(123456), Some("123456")),
            ("0.0001", Value::Float(0.0001), Some("0.0001")),
            ("0.00001", Value::Float(0.00001), Some("1e-05")),
            ("1.23456789", Value::Float(1.23456789), Some("1.2345679")),
            (".5", Value::Float(0.5), Some("0.5")),
            ("-0.0", Value::Float(-0.0), Some("-0")),
            ("1e39", Value::Float(1e39), Some("+Inf")),
            ("1e400", Value::Str("1e400".into()), None),
            ("2001-12-14", Value::Str("2001-12-14".into()), None),
            ("10.0.0.1", Value::Str("10.0.0.1".into()), None),
            ("1.2.3", Value::Str("1.2.3".into()), None),
            (".inf", Value::Str(".inf".into()), None),
            ("-", Value::Str("-".into()), None),
            ("0x", Value::Str("0x".into()), None),
            ("~", Value::Null, None),
        ];
        for (text, want, s) in cases {
            let (got, _) = resolve_plain(text);
            assert_eq!(&got, want, "{text}");
            assert_eq!(go_string(&got).as_deref(), *s, "{text}");
        }
        assert!(resolve_plain("yes").1 && resolve_plain("010").1 && resolve_plain("1_000").1);
        // The shortcut for words agrees with the full resolution.
        for w in [
            "Allow",
            "TCP",
            "tcp",
            "yes",
            "Yes",
            "on",
            "OFF",
            "null",
            "~",
            "",
            ".5",
            ".inf",
            "+1",
            "-1",
            "0x1f",
            "1e3",
            "n",
            "Y",
            "True",
            "FALSE",
            "name",
            "10.0.0.0/8",
        ] {
            if !may_resolve(w) {
                assert!(matches!(resolve_plain(w).0, Value::Str(_)), "{w}");
            }
        }
        for w in "y Y yes Yes YES true True TRUE on On ON n N no No NO false False FALSE off Off OFF null Null NULL ~ 0 9 +1 -1 .5"
            .split(' ')
        {
            assert!(may_resolve(w) && !matches!(resolve_plain(w).0, Value::Str(_)), "{w}");
        }
        for w in [
            "Allow", "Deny", "Log", "Pass", "ICMP", "eth0", "bench-0", "role", "Always",
        ] {
            assert!(
                !may_resolve(w) && matches!(resolve_plain(w).0, Value::Str(_)),
                "{w}"
            );
        }
        assert!(!resolve_plain("true").1 && !resolve_plain("10").1 && !resolve_plain("1.5").1);
    }
}

/// The JSON value of a one-document text built straight from the parser's
/// events, with no marked tree and no spans, and whether a value is a
/// YAML-1.1-only scalar; None when the document needs [`parse_range`]:
/// anything that parse would report or treat specially — a syntax error,
/// a tag, an alias, nesting past [`MAX_DEPTH`], a mapping key that is not
/// a plain string, a duplicate key — or not exactly one document with a
/// value. Loading a large document built its tree, converted the tree to
/// JSON and dropped it (a third of a 10,000-rule load); a document that
/// later needs a span is parsed again with its tree (`doc_cache`).
pub(super) fn fast_json(text: &str) -> Option<(serde_json::Value, bool)> {
    let mut b = Fast::default();
    Parser::new_from_str(text).load(&mut b, true).ok()?;
    if b.bail || b.docs != 1 || !b.stack.is_empty() {
        return None;
    }
    Some((b.root?, b.yaml11_only))
}

#[derive(Default)]
struct Fast {
    stack: Vec<FastFrame>,
    root: Option<serde_json::Value>,
    docs: usize,
    yaml11_only: bool,
    bail: bool,
}

enum FastFrame {
    Seq(Vec<serde_json::Value>),
    Map(serde_json::Map<String, serde_json::Value>, Option<String>),
}

impl Fast {
    fn push(&mut self, v: serde_json::Value) {
        match self.stack.last_mut() {
            Some(FastFrame::Seq(items)) => items.push(v),
            Some(FastFrame::Map(m, pending)) => match pending.take() {
                Some(k) if !m.contains_key(&k) => {
                    m.insert(k, v);
                }
                // A duplicate key (or a key that is no scalar, caught
                // before it gets here): the marked parse reports it.
                _ => self.bail = true,
            },
            None if self.root.is_none() => self.root = Some(v),
            None => self.bail = true,
        }
    }

    /// The next scalar is a mapping key.
    fn at_key(&self) -> bool {
        matches!(self.stack.last(), Some(FastFrame::Map(_, None)))
    }

    fn open(&mut self, tag: &Option<Tag>, f: FastFrame) {
        if tag.is_some() || self.stack.len() >= MAX_DEPTH || self.at_key() {
            self.bail = true;
        } else {
            self.stack.push(f);
        }
    }
}

impl yaml_rust2::parser::EventReceiver for Fast {
    fn on_event(&mut self, ev: Event) {
        if self.bail {
            return;
        }
        match ev {
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => {}
            Event::DocumentStart => self.docs += 1,
            Event::Alias(_) => self.bail = true,
            Event::Scalar(text, style, _, tag) => {
                if tag.is_some() {
                    self.bail = true;
                    return;
                }
                // As the marked parse resolves it (see Builder::on_event).
                let value = if style == TScalarStyle::Plain && may_resolve(&text) {
                    match resolve_plain(&text) {
                        (Value::Str(_), _) => serde_json::Value::String(text),
                        (Value::Null, _) if !self.at_key() => serde_json::Value::Null,
                        (v, yaml11_only) if !self.at_key() => {
                            self.yaml11_only |= yaml11_only;
                            super::document::scalar_json(&v)
                        }
                        // A key that is not a string.
                        _ => {
                            self.bail = true;
                            return;
                        }
                    }
                } else {
                    serde_json::Value::String(text)
                };
                match (self.stack.last_mut(), value) {
                    (Some(FastFrame::Map(_, pending @ None)), serde_json::Value::String(k)) => {
                        *pending = Some(k)
                    }
                    (_, v) => self.push(v),
                }
            }
            Event::SequenceStart(_, tag) => self.open(&tag, FastFrame::Seq(Vec::new())),
            Event::MappingStart(_, tag) => {
                self.open(&tag, FastFrame::Map(serde_json::Map::new(), None))
            }
            Event::SequenceEnd | Event::MappingEnd => match self.stack.pop() {
                Some(FastFrame::Seq(items)) => self.push(serde_json::Value::Array(items)),
                Some(FastFrame::Map(m, None)) => self.push(serde_json::Value::Object(m)),
                _ => self.bail = true,
            },
        }
    }
}

#[cfg(test)]
mod size_limits {
    use super::*;
    use crate::source::SourceMap;

    fn parse(text: String) -> Vec<Diagnostic> {
        let mut sources = SourceMap::new();
        let id = sources.add("t.yaml", text);
        parse_file(id, sources.get(id)).1
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut t = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..9 {
            let p = i - 1;
            t.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let d = parse(t);
        assert!(
            d.iter()
                .any(|d| d.message.contains("aliases expand to more than")),
            "{d:?}"
        );
    }

    /// A file with more nodes than the alias budget, and no alias, loads:
    /// size alone is never mistaken for an alias bomb.
    #[test]
    fn many_plain_nodes_are_not_an_alias_bomb() {
        let mut t = String::with_capacity(3 * (MAX_ALIAS_NODES + 10));
        t.push_str("v:\n");
        for _ in 0..MAX_ALIAS_NODES + 10 {
            t.push_str("- 1\n");
        }
        let d = parse(t);
        assert!(d.is_empty(), "{:?}", d.first());
    }
}

#[cfg(test)]
mod chunked {
    use super::*;
    use crate::source::SourceMap;

    /// Many documents, large enough to be parsed in chunks; `broken`: one
    /// document in the middle has a syntax error.
    fn file(broken: bool) -> String {
        let mut t = String::from("# leading comment\n");
        for d in 0..400 {
            t.push_str(&format!(
                "---\nkind: GlobalNetworkPolicy\nmetadata:\n  name: p{d}\nspec:\n  ingress:\n"
            ));
            for r in 0..20 {
                t.push_str(&format!(
                    "  - action: Allow\n    destination:\n      ports: [{r}, \"x-{d}\"]\n    note: |\n      text {d}\n"
                ));
            }
            if broken && d == 250 {
                t.push_str("  bad: [unclosed\n");
            }
        }
        t
    }

    fn both(text: String) {
        let mut m = SourceMap::new();
        let id = m.add("f.yaml", text);
        let src = m.get(id);
        assert!(chunks(&src.text).len() > 2, "the test must exercise chunks");
        let (docs, diags) = parse_file(id, src);
        let (whole, whole_diags, _) = parse_range(id, src, 0..src.text.len(), 0);
        assert_eq!(docs.len(), whole.len());
        for (a, b) in docs.iter().zip(&whole) {
            assert_eq!(a.root, b.root);
            assert_eq!(a.span, b.span);
        }
        let show = |d: &[Diagnostic]| -> Vec<String> {
            d.iter()
                .map(|d| format!("{:?} {}", d.span, d.message))
                .collect()
        };
        assert_eq!(show(&diags), show(&whole_diags));
    }

    #[test]
    fn chunked_parse_is_the_whole_parse() {
        both(file(false));
    }

    #[test]
    fn chunked_parse_stops_where_the_whole_parse_stops() {
        both(file(true));
    }

    #[test]
    fn files_with_aliases_or_directives_parse_whole() {
        let big = file(false);
        assert!(chunks(&format!("x: &a 1\n{big}")).len() == 1);
        assert!(chunks(&format!("%YAML 1.2\n{big}")).len() == 1);
    }
}

#[cfg(test)]
mod marker_offsets {
    use super::*;
    use crate::source::SourceMap;

    fn walk(n: &Node, out: &mut Vec<Span>) {
        out.push(n.span);
        match &n.value {
            Value::Seq(items) => items.iter().for_each(|i| walk(i, out)),
            Value::Map(entries) => entries.iter().for_each(|(k, v)| {
                walk(k, out);
                walk(v, out);
            }),
            _ => {}
        }
    }

    /// Every span's byte offset is the one its line and column name, in
    /// plain ASCII (where the scanner's index is used) and in text where it
    /// is not: CR line ends, control characters, multi-byte characters.
    #[test]
    fn spans_agree_with_their_line_and_column() {
        let texts = [
            "a: 1\nb:\n\t- x\n  - [y, z]\n",
            "a: 1\rb: 2\r",
            "a: 1\r\nb: [2, 3]\r\n",
            "a: \"x\u{1e}y\"\nb: \u{0}\n",
            "a: é\nb: [ü, 2]\n",
            "a: [1, 2\nb: 3\n",
            include_str!("../../../fuzz/regressions/load-control-characters"),
        ];
        for t in texts {
            let mut m = SourceMap::new();
            let id = m.add("t.yaml", t);
            let src = m.get(id);
            let (docs, diags, _) = parse_range(id, src, 0..t.len(), 0);
            let mut spans: Vec<Span> = diags.iter().filter_map(|d| d.span).collect();
            for d in &docs {
                spans.push(d.span);
                if let Some(r) = &d.root {
                    walk(r, &mut spans);
                }
            }
            assert!(!spans.is_empty());
            for s in spans {
                assert_eq!(s.offset, src.offset_of(s.line, s.col), "{t:?}: {s:?}");
            }
        }
    }
}
