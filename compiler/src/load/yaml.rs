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
/// against "billion laughs" inputs.
const MAX_NODES: usize = 1_000_000;
/// Upper bound on nesting, so deep inputs give an error instead of a stack overflow.
const MAX_DEPTH: usize = 128;

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub value: Value,
    pub span: Span,
}

/// One YAML document of a file. `None` root = empty document.
pub struct YamlDoc {
    pub root: Option<Node>,
    pub span: Span,
}

/// Parse a whole file into documents. Syntax problems come back as diagnostics;
/// documents parsed before the error are returned too.
pub fn parse_file(file: FileId, src: &SourceFile) -> (Vec<YamlDoc>, Vec<Diagnostic>) {
    let mut b = Builder {
        file,
        src,
        stack: Vec::new(),
        docs: Vec::new(),
        anchors: Vec::new(),
        diags: Vec::new(),
        nodes: 0,
        doc_start: Span::default(),
        doc_has_root: false,
        failed: false,
    };
    // yaml-rust2's recursion guard is far above ours; depth is checked while building.
    let mut parser = Parser::new_from_str(&src.text);
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
    }
    (b.docs, b.diags)
}

enum Frame {
    Seq(Vec<Node>, Span, usize),
    /// entries, pending key, start span, anchor
    Map(Vec<(Node, Node)>, Option<Node>, Span, usize),
}

struct Builder<'a> {
    file: FileId,
    src: &'a SourceFile,
    stack: Vec<Frame>,
    docs: Vec<YamlDoc>,
    anchors: Vec<(usize, Node)>,
    diags: Vec<Diagnostic>,
    nodes: usize,
    doc_start: Span,
    doc_has_root: bool,
    failed: bool,
}

impl Builder<'_> {
    fn span_at(&self, m: &Marker) -> Span {
        let line = m.line().max(1) as u32;
        // yaml-rust2 columns are 0-based; ours are 1-based character columns.
        let col = m.col() as u32 + 1;
        Span {
            file: self.file,
            offset: self.src.offset_of(line, col),
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
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            let span = node.span;
            self.fail(
                Diagnostic::error(
                    codes::YAML_UNSUPPORTED,
                    format!("document expands to more than {MAX_NODES} nodes (alias expansion?)"),
                )
                .at(span),
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

fn resolve_plain(s: &str) -> Value {
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
    let looks_float = !digits.is_empty()
        && digits
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'))
        && digits.bytes().any(|b| b.is_ascii_digit())
        && digits.as_bytes()[0] != b'e'
        && digits.as_bytes()[0] != b'E';
    if looks_float {
        if let Ok(f) = s.parse::<f64>() {
            if f.is_finite() {
                return Value::Float(f);
            }
        }
    }
    match s {
        ".inf" | ".Inf" | ".INF" | "+.inf" | "-.inf" | ".nan" | ".NaN" | ".NAN" => {
            // Not representable in JSON; keep as text so the schema reports a type error.
            Value::Str(s.to_string())
        }
        _ => Value::Str(s.to_string()),
    }
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
                        self.nodes += count_nodes(&n);
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
                let value = match (style, &tag) {
                    (TScalarStyle::Plain, None) => resolve_plain(&text),
                    (TScalarStyle::Plain, Some(t)) if t.handle == "!!" => match t.suffix.as_str() {
                        "str" => Value::Str(text.clone()),
                        _ => resolve_plain(&text),
                    },
                    _ => Value::Str(text.clone()),
                };
                let len = match style {
                    TScalarStyle::Plain => text.len(),
                    TScalarStyle::SingleQuoted | TScalarStyle::DoubleQuoted => text.len() + 2,
                    _ => 1,
                };
                let node = Node {
                    value,
                    span: span.with_len(len.max(1)),
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
