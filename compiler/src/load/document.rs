//! YAML tree → `serde_json::Value`, and JSON pointer → span.
//!
//! JSON Schema validation and serde both work on `serde_json::Value`, and
//! both report problems by JSON pointer (`/spec/ipipMode`). Keeping the
//! marked YAML tree beside the value lets any later stage turn "this pointer
//! is wrong" into file:line:column without threading spans through the
//! typed model. The tree is walked on demand rather than indexed up front:
//! an index built a pointer string and a hash entry for every value of the
//! input (a fifth of load time on a 10,000-rule policy), and spans are
//! asked for only for diagnostics and rule origins.

use super::yaml::{go_string, Node, Plain, Value};
use crate::diag::{codes, Diagnostic};
use crate::source::{FileId, Span};
use std::collections::HashMap;
use std::sync::Arc;

/// Spans of every value (and mapping key) in one document: the document's
/// marked tree, or for a resource netc derived from another (a Kubernetes
/// object converted into a Calico kind) a table of pointers into the source.
#[derive(Debug, Default)]
pub struct SpanIndex {
    root: Option<Node>,
    derived: HashMap<String, (Option<Span>, Span)>,
    /// A document loaded from the document cache (`super::doc_cache`):
    /// its tree is parsed again only if a span is asked for.
    lazy: Option<LazyTree>,
    /// A value of the document is an unquoted scalar that only YAML 1.1
    /// reads as a boolean or number (`yes`, `010`): most documents hold
    /// none, and the schema layer then need not look for them (W0109).
    yaml11_only: bool,
    /// `yaml11_only` was found while parsing (a lazy tree's document was
    /// parsed once already, without keeping the tree).
    yaml11_known: bool,
}

/// The text of one document and where it sits in its file; parsed on
/// first use.
#[derive(Debug)]
pub(super) struct LazyTree {
    pub file: FileId,
    pub text: String,
    /// Byte offset and lines of the file before the document.
    pub offset: usize,
    pub line_base: u32,
    pub tree: std::sync::OnceLock<Option<Node>>,
}

impl SpanIndex {
    pub(super) fn lazy(t: LazyTree) -> SpanIndex {
        SpanIndex {
            lazy: Some(t),
            ..SpanIndex::default()
        }
    }

    /// [`SpanIndex::lazy`] for a document whose values were looked at.
    pub(super) fn lazy_looked(t: LazyTree, yaml11_only: bool) -> SpanIndex {
        SpanIndex {
            lazy: Some(t),
            yaml11_only,
            yaml11_known: true,
            ..SpanIndex::default()
        }
    }

    /// The document's marked tree (parsed now for a cached document).
    fn root(&self) -> Option<&Node> {
        if let Some(l) = &self.lazy {
            return l
                .tree
                .get_or_init(|| super::doc_cache::parse_alone(l))
                .as_ref();
        }
        self.root.as_ref()
    }

    /// Whether the document may hold a YAML-1.1-only scalar (see the
    /// field); a cached document is not looked at and may.
    pub fn may_hold_yaml11_only(&self) -> bool {
        self.yaml11_only || (self.lazy.is_some() && !self.yaml11_known)
    }

    /// The key span (for a mapping value) and value span at `ptr` (absolute
    /// in the document).
    pub fn get(&self, ptr: &str) -> Option<(Option<Span>, Span)> {
        match self.root() {
            Some(_) => self.find(ptr).map(|(k, n)| (k, n.span)),
            None if self.lazy.is_some() => None,
            None => self.derived.get(ptr).copied(),
        }
    }

    /// The unquoted scalar at `ptr` (absolute in the document), if the value
    /// there is one that YAML resolved to a boolean or number: the schema
    /// layer converts them for string fields as calicoctl does.
    pub fn plain(&self, ptr: &str) -> Option<(&Plain, &Value)> {
        let (_, n) = self.find(ptr)?;
        n.plain.as_deref().map(|p| (p, &n.value))
    }

    /// Walk the tree along `ptr` as [`to_json`] built the value: a mapping
    /// key is its string (or Go's text of a scalar key), the first of
    /// duplicate keys wins, a sequence index is canonical decimal.
    fn find(&self, ptr: &str) -> Option<(Option<Span>, &Node)> {
        let mut node = self.root()?;
        let mut key_span = None;
        if ptr.is_empty() {
            return Some((None, node));
        }
        for seg in ptr.strip_prefix('/')?.split('/') {
            let seg = unescape_segment(seg);
            match &node.value {
                Value::Seq(items) => {
                    let canonical = seg == "0"
                        || (!seg.starts_with('0') && seg.bytes().all(|b| b.is_ascii_digit()));
                    if !canonical {
                        return None;
                    }
                    node = items.get(seg.parse::<usize>().ok()?)?;
                    key_span = None;
                }
                Value::Map(entries) => {
                    let (k, v) = entries.iter().find(|(k, _)| match &k.value {
                        Value::Str(s) => *s == seg,
                        _ => key_text(k).is_some_and(|t| t == seg),
                    })?;
                    key_span = Some(k.span);
                    node = v;
                }
                _ => return None,
            }
        }
        Some((key_span, node))
    }
}

/// Undo [`escape_segment`].
fn unescape_segment(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains('~') {
        s.replace("~1", "/").replace("~0", "~").into()
    } else {
        s.into()
    }
}

/// Escape one JSON pointer segment (RFC 6901).
pub fn escape_segment(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

/// Convert a document's root node. Returns the JSON value, its spans, and
/// diagnostics for constructs JSON cannot hold (non-string keys, duplicates).
pub fn to_json(mut root: Node) -> (serde_json::Value, SpanIndex, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let mut yaml11_only = false;
    let v = convert(&mut root, &mut diags, &mut yaml11_only);
    let idx = SpanIndex {
        yaml11_only,
        root: Some(root),
        ..SpanIndex::default()
    };
    (v, idx, diags)
}

/// Build the JSON value of `node`. String values are moved out of the tree,
/// not copied: the tree is kept only for spans, which need the mapping keys
/// (kept) and the plain text of scalars that are not strings (kept).
/// `yaml11_only` is set when a value of the JSON is a YAML-1.1-only scalar.
fn convert(
    node: &mut Node,
    diags: &mut Vec<Diagnostic>,
    yaml11_only: &mut bool,
) -> serde_json::Value {
    use serde_json::Value as J;
    *yaml11_only |= node.plain.as_ref().is_some_and(|p| p.yaml11_only);
    let out = match &mut node.value {
        v @ (Value::Null | Value::Bool(_) | Value::Int(_) | Value::UInt(_) | Value::Float(_)) => {
            scalar_json(v)
        }
        Value::Str(s) => J::String(std::mem::take(s)),
        Value::Seq(items) => J::Array(
            items
                .iter_mut()
                .map(|n| convert(n, diags, yaml11_only))
                .collect(),
        ),
        Value::Map(entries) => {
            let mut m = serde_json::Map::new();
            for i in 0..entries.len() {
                let k = &entries[i].0;
                let key = match &k.value {
                    Value::Str(s) => s.clone(),
                    // `80: x`, `yes: x`, `1.10: x`: sigs.k8s.io/yaml turns
                    // the key into Go's text of the value; say so.
                    v @ (Value::Int(_) | Value::UInt(_) | Value::Bool(_) | Value::Float(_)) => {
                        let key = go_string(v).unwrap_or_default();
                        let text = k.plain.as_ref().map(|p| p.text.as_str()).unwrap_or("");
                        let mut d = Diagnostic::warning(
                            codes::YAML11_SCALAR,
                            format!("calicoctl reads the unquoted key `{text}` as \"{key}\""),
                        )
                        .at(k.span)
                        .label(format!("read as \"{key}\""))
                        .note(format!("quote the key: \"{key}\""));
                        if text != key {
                            d = d.note(format!(
                                "if you meant the text `{text}`, quote that instead: \"{text}\" (Calico has been reading \"{key}\")"
                            ));
                        }
                        diags.push(d);
                        key
                    }
                    Value::Null => {
                        diags.push(
                            Diagnostic::error(codes::YAML_UNSUPPORTED, "mapping key is empty")
                                .at(k.span),
                        );
                        continue;
                    }
                    _ => {
                        diags.push(
                            Diagnostic::error(
                                codes::YAML_UNSUPPORTED,
                                "mapping keys must be plain strings",
                            )
                            .at(k.span),
                        );
                        continue;
                    }
                };
                if m.contains_key(&key) {
                    // Rare: find where the first one was.
                    let prev = entries[..i]
                        .iter()
                        .find(|(k0, _)| key_text(k0).as_deref() == Some(key.as_str()))
                        .map_or(k.span, |(k0, _)| k0.span);
                    diags.push(
                        Diagnostic::error(
                            codes::YAML_DUPLICATE_KEY,
                            format!("key `{key}` appears twice in this mapping"),
                        )
                        .at(k.span)
                        .label("second occurrence")
                        .related(prev, "first occurrence"),
                    );
                    continue;
                }
                let jv = convert(&mut entries[i].1, diags, yaml11_only);
                m.insert(key, jv);
            }
            J::Object(m)
        }
    };
    out
}

/// The JSON of a scalar that is not a string.
pub(super) fn scalar_json(v: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Value::Bool(b) => J::Bool(*b),
        Value::Int(i) => J::from(*i),
        Value::UInt(u) => J::from(*u),
        // Go's encoding/json prints an integral float below 1e21 without a
        // fraction, so an integer field reads `1e3` (or `09`) as calicoctl does.
        Value::Float(f) if f.fract() == 0.0 && f.abs() < 9.2e18 => J::from(*f as i64),
        Value::Float(f) => serde_json::Number::from_f64(*f)
            .map(J::Number)
            .unwrap_or(J::Null),
        Value::Str(s) => J::String(s.clone()),
        Value::Null | Value::Seq(_) | Value::Map(_) => J::Null,
    }
}

/// A mapping key as the JSON object holds it: the string, or Go's text of
/// an unquoted scalar key; None for keys [`convert`] drops.
fn key_text(k: &Node) -> Option<String> {
    match &k.value {
        Value::Str(s) => Some(s.clone()),
        v @ (Value::Int(_) | Value::UInt(_) | Value::Bool(_) | Value::Float(_)) => go_string(v),
        _ => None,
    }
}

/// Where a resource came from: its file and its place in the document,
/// able to turn a pointer relative to the resource into a span.
#[derive(Clone, Debug)]
pub struct Origin {
    pub file: FileId,
    /// Pointer of the resource inside its document: "" or "/items/3".
    pub base: String,
    pub spans: Arc<SpanIndex>,
}

impl Origin {
    /// The origin of a resource derived from this one (a Kubernetes object
    /// converted into a Calico kind): `pairs` maps pointers of the derived
    /// resource to pointers of this one (both relative), so a later
    /// diagnostic about the derived field points at the input that produced
    /// it. Pointers with no pair fall back to their nearest mapped ancestor,
    /// and the root to this resource.
    pub fn derive(&self, pairs: &[(String, String)]) -> Origin {
        let mut map = HashMap::new();
        let whole = |rel: &str| {
            let p = format!("{}{}", self.base, rel);
            self.spans.get(&p)
        };
        let root = self
            .spans
            .get(&self.base)
            .unwrap_or((None, self.resource_span()));
        map.insert(String::new(), root);
        for rel in [
            "/metadata",
            "/metadata/name",
            "/metadata/namespace",
            "/metadata/labels",
        ] {
            if let Some(v) = whole(rel) {
                map.insert(rel.to_string(), v);
            }
        }
        for (dst, src) in pairs {
            let v = match whole(src) {
                Some(v) => v,
                None => (Some(self.key_span(src)), self.value_span(src)),
            };
            map.insert(dst.clone(), v);
        }
        Origin {
            file: self.file,
            base: String::new(),
            spans: Arc::new(SpanIndex {
                derived: map,
                ..SpanIndex::default()
            }),
        }
    }

    /// Span of the value at `rel` (relative to the resource, e.g. "/spec/cidr").
    /// Falls back to the nearest ancestor that exists (for missing fields).
    pub fn value_span(&self, rel: &str) -> Span {
        self.lookup(rel, false)
    }

    /// Span of the key of `rel` when it has one (points at `cidr:` rather
    /// than its value); falls back like [`value_span`](Self::value_span).
    pub fn key_span(&self, rel: &str) -> Span {
        self.lookup(rel, true)
    }

    /// Span of the resource itself (its first line).
    pub fn resource_span(&self) -> Span {
        self.lookup("", false)
    }

    fn lookup(&self, rel: &str, key: bool) -> Span {
        let mut p = format!("{}{}", self.base, rel);
        loop {
            if let Some((k, v)) = self.spans.get(&p) {
                return match (key, k) {
                    (true, Some(k)) => k,
                    _ => v,
                };
            }
            match p.rfind('/') {
                Some(i) => p.truncate(i),
                None => {
                    return self.spans.get("").map(|(_, v)| v).unwrap_or(Span {
                        file: self.file,
                        line: 1,
                        col: 1,
                        len: 1,
                        offset: 0,
                    })
                }
            }
        }
    }
}
