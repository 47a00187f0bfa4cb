//! A cache of loaded documents: one YAML document's resources after the
//! checks that depend on that document alone (its schema, W0108), keyed by
//! the document's text.
//!
//! Why: a plan or an apply after a one-rule edit compiles the whole
//! cluster again, and parsing the marked YAML and checking every resource
//! against its schema was most of that (BENCHMARKS.md, "Plan and apply").
//! An edit changes one document; the others are read back from here as
//! JSON values, already coerced and checked.
//!
//! What stays exact:
//! - The key is the document's bytes (and [`FORMAT`]); the store adds the
//!   netc binary's identity, so another netc never reads an entry.
//! - Spans are kept relative to the document's first byte and line, and
//!   moved to where the document is now: a document that moved (lines
//!   added above it, another file order) is still a hit, and its
//!   diagnostics point where it is. Columns never change: a document
//!   starts at the start of a line.
//! - A later stage that asks for a span of a cached document (a semantic
//!   error, a rule's origin) gets it from the document's text, parsed on
//!   that first request ([`parse_alone`]); most plans ask for none.
//! - Files that could hold aliases, and `%` directives, are loaded whole,
//!   uncached: an alias budget counts per file, and a directive belongs to
//!   the documents after it. So are documents of Kubernetes kinds (a pod's
//!   spec can hold environment values: nothing of them is written out).
//! - A document whose parse failed is not stored, and the documents after
//!   it are dropped, as a parse of the whole file stops at its first error.

use super::document::{LazyTree, Origin, SpanIndex};
use super::{document, split_document, yaml, Checked, RawResource};
use crate::diag::{Diagnostic, Severity};
use crate::model::Kind;
use crate::source::{FileId, SourceFile, Span};
use serde::{Deserialize, Serialize};
use std::ops::Range;
use std::sync::Arc;

/// Bumped when an entry's shape or meaning changes.
const FORMAT: &str = "doc-2";

/// Where entries live; netc keeps them in its state directory.
pub trait DocStore: Sync {
    fn get(&self, key: &str) -> Option<String>;
    fn put(&self, key: &str, entry: &str);
}

/// The cache key of a document's text.
fn key(text: &str) -> String {
    let mut h = crate::ir::digest::Parts::new();
    h.add(FORMAT.as_bytes()).add(text.as_bytes());
    h.hex(16)
}

/// Load one file a document at a time, through `store` when there is one;
/// None when the file must be loaded whole (see the module's notes).
pub(super) fn load(
    file: FileId,
    src: &SourceFile,
    store: Option<&dyn DocStore>,
) -> Option<(Vec<RawResource>, Vec<Diagnostic>)> {
    use rayon::prelude::*;
    let ranges = yaml::document_ranges(&src.text)?;
    let parts: Vec<_> = ranges
        .par_iter()
        .map(|(r, line_base)| one(file, src, r.clone(), *line_base, store))
        .collect();
    let (mut out, mut diags) = (Vec::new(), Vec::new());
    for (r, d, failed) in parts {
        out.extend(r);
        diags.extend(d);
        if failed {
            break;
        }
    }
    Some((out, diags))
}

/// One document: from the store, or loaded, checked and stored.
///
/// A document loaded here keeps no marked tree once its resources are
/// checked: like a cached one, it is parsed again from its text if a later
/// stage asks for a span ([`parse_alone`]). The trees were a sixth of a
/// 10,000-rule build's peak memory, kept to the end for the few spans
/// diagnostics need.
fn one(
    file: FileId,
    src: &SourceFile,
    range: Range<usize>,
    line_base: u32,
    store: Option<&dyn DocStore>,
) -> (Vec<RawResource>, Vec<Diagnostic>, bool) {
    let text = &src.text[range.clone()];
    let key = store.map(|_| key(text));
    let at = Place {
        file,
        offset: range.start,
        line_base,
    };
    if let Some(hit) = store
        .zip(key.as_deref())
        .and_then(|(s, k)| s.get(k))
        .and_then(|j| serde_json::from_str::<Entry>(&j).ok())
        .and_then(|e| restore(e, text, at))
    {
        return (hit.0, hit.1, false);
    }
    // `tree`: the document was parsed with its marked tree (see
    // `without_tree`); `single`: the range held one document.
    let (mut out, diags, failed, single, tree) = match without_tree(text, at) {
        Some((out, diags)) => (out, diags, false, true, false),
        None => {
            let (docs, mut diags, failed) = yaml::parse_range(file, src, range, line_base);
            let single = docs.len() <= 1;
            let mut out = Vec::new();
            for doc in docs {
                let Some(root) = doc.root else { continue };
                let (value, spans, d) = document::to_json(root);
                diags.extend(d);
                let origin = Origin {
                    file,
                    base: String::new(),
                    spans: Arc::new(spans),
                };
                split_document(value, origin, &mut out, &mut diags);
            }
            (out, diags, failed, single, true)
        }
    };
    for raw in &mut out {
        raw.checked = Some(crate::validate::check_raw(raw));
    }
    if !failed && single && out.iter().all(|r| !r.kind.is_kubernetes()) {
        if let (Some(store), Some(key)) = (store, &key) {
            if let Some(e) = entry(&out, &diags, at) {
                if let Ok(j) = serde_json::to_string(&e) {
                    store.put(key, &j);
                }
            }
        }
        if tree {
            let spans = lazy_spans(text, at, None);
            for raw in &mut out {
                raw.origin.spans = spans.clone();
            }
        }
    }
    (out, diags, failed)
}

/// A document's resources from its JSON alone ([`yaml::fast_json`]), spans
/// left to a tree parsed on first use; None when the document needs its
/// marked tree now: the fast parse declined it, or it holds Kubernetes
/// objects (the resources derived from them take their spans at once).
fn without_tree(text: &str, at: Place) -> Option<(Vec<RawResource>, Vec<Diagnostic>)> {
    let (value, yaml11_only) = yaml::fast_json(text)?;
    // Debug builds (every test) check the value against the marked parse.
    #[cfg(debug_assertions)]
    {
        let src = SourceFile::new("", text.to_string());
        let (docs, parse_diags, failed) = yaml::parse_range(at.file, &src, 0..text.len(), 0);
        assert!(!failed && parse_diags.is_empty(), "{parse_diags:?}");
        let root = docs.into_iter().find_map(|d| d.root).expect("a value");
        let (marked, spans, d) = document::to_json(root);
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(marked, value, "{text}");
        assert_eq!(spans.may_hold_yaml11_only(), yaml11_only, "{text}");
    }
    let origin = Origin {
        file: at.file,
        base: String::new(),
        spans: lazy_spans(text, at, Some(yaml11_only)),
    };
    let (mut out, mut diags) = (Vec::new(), Vec::new());
    split_document(value, origin, &mut out, &mut diags);
    if out.iter().any(|r| r.kind.is_kubernetes()) {
        return None;
    }
    Some((out, diags))
}

/// Where a document sits in its file.
#[derive(Clone, Copy)]
struct Place {
    file: FileId,
    /// Its first byte, and the number of lines before it.
    offset: usize,
    line_base: u32,
}

#[derive(Serialize, Deserialize)]
struct Entry {
    /// Diagnostics of the document itself (YAML, resource shape).
    diags: Vec<Diag>,
    resources: Vec<Res>,
}

#[derive(Serialize, Deserialize)]
struct Res {
    /// Its position in [`Kind::ALL`].
    kind: usize,
    /// Pointer of the resource in its document ("" or "/items/3").
    base: String,
    /// The value after coercion, less its spec.
    value: serde_json::Value,
    /// The spec after coercion, as JSON text: read back without building
    /// its tree (see [`RawResource::spec_json`]); None when the value has
    /// no spec.
    spec: Option<Box<serde_json::value::RawValue>>,
    diags: Vec<Diag>,
    failed: bool,
}

#[derive(Serialize, Deserialize)]
struct Diag {
    severity: Severity,
    code: String,
    message: String,
    span: Option<Rel>,
    label: Option<String>,
    resource: Option<String>,
    notes: Vec<String>,
    related: Vec<(Rel, String)>,
}

/// A span relative to its document's first byte and line.
#[derive(Clone, Copy, Serialize, Deserialize)]
struct Rel {
    offset: usize,
    len: usize,
    line: u32,
    col: u32,
}

impl Rel {
    fn of(s: Span, at: Place) -> Option<Rel> {
        (s.file == at.file).then_some(())?;
        Some(Rel {
            offset: s.offset.checked_sub(at.offset)?,
            len: s.len,
            line: s.line.checked_sub(at.line_base)?,
            col: s.col,
        })
    }
    fn span(self, at: Place) -> Span {
        Span {
            file: at.file,
            offset: self.offset + at.offset,
            len: self.len,
            line: self.line + at.line_base,
            col: self.col,
        }
    }
}

impl Diag {
    fn of(d: &Diagnostic, at: Place) -> Option<Diag> {
        Some(Diag {
            severity: d.severity,
            code: d.code.to_string(),
            message: d.message.clone(),
            span: match d.span {
                Some(s) => Some(Rel::of(s, at)?),
                None => None,
            },
            label: d.label.clone(),
            resource: d.resource.clone(),
            notes: d.notes.clone(),
            related: d
                .related
                .iter()
                .map(|(s, t)| Some((Rel::of(*s, at)?, t.clone())))
                .collect::<Option<_>>()?,
        })
    }

    fn diagnostic(self, at: Place) -> Option<Diagnostic> {
        // Codes are static strings: an entry naming a code this netc does
        // not know is not one of its own.
        let code = crate::diag::codes::ALL
            .iter()
            .find(|c| c.code == self.code)?
            .code;
        Some(Diagnostic {
            severity: self.severity,
            code,
            message: self.message,
            span: self.span.map(|r| r.span(at)),
            label: self.label,
            resource: self.resource,
            notes: self.notes,
            related: self
                .related
                .into_iter()
                .map(|(r, t)| (r.span(at), t))
                .collect(),
        })
    }
}

/// The entry for a document just loaded; None when a diagnostic points
/// outside it (never the case for a document's own checks).
fn entry(out: &[RawResource], diags: &[Diagnostic], at: Place) -> Option<Entry> {
    let diags = diags
        .iter()
        .map(|d| Diag::of(d, at))
        .collect::<Option<_>>()?;
    let resources = out
        .iter()
        .map(|r| {
            let c = r.checked.as_ref()?;
            let (value, spec) = split_spec(&r.value)?;
            Some(Res {
                kind: Kind::ALL.iter().position(|k| *k == r.kind)?,
                base: r.origin.base.clone(),
                value,
                spec,
                diags: c
                    .diags
                    .iter()
                    .map(|d| Diag::of(d, at))
                    .collect::<Option<_>>()?,
                failed: c.failed,
            })
        })
        .collect::<Option<_>>()?;
    Some(Entry { diags, resources })
}

/// A resource's value without its spec, and the spec as JSON text; None
/// when the value is not an object.
fn split_spec(
    value: &serde_json::Value,
) -> Option<(serde_json::Value, Option<Box<serde_json::value::RawValue>>)> {
    let mut rest = serde_json::Map::new();
    let mut spec = None;
    for (k, v) in value.as_object()? {
        if k == "spec" {
            spec = Some(serde_json::value::to_raw_value(v).ok()?);
        } else {
            rest.insert(k.clone(), v.clone());
        }
    }
    Some((serde_json::Value::Object(rest), spec))
}

/// An entry's resources and diagnostics where the document is now.
fn restore(e: Entry, text: &str, at: Place) -> Option<(Vec<RawResource>, Vec<Diagnostic>)> {
    let spans = lazy_spans(text, at, None);
    let diags = e
        .diags
        .into_iter()
        .map(|d| d.diagnostic(at))
        .collect::<Option<Vec<_>>>()?;
    let resources = e
        .resources
        .into_iter()
        .map(|r| {
            let kind = *Kind::ALL.get(r.kind)?;
            Some(RawResource {
                kind,
                value: r.value,
                spec_json: r.spec,
                origin: Origin {
                    file: at.file,
                    base: r.base,
                    spans: spans.clone(),
                },
                checked: Some(Checked {
                    diags: r
                        .diags
                        .into_iter()
                        .map(|d| d.diagnostic(at))
                        .collect::<Option<_>>()?,
                    failed: r.failed,
                }),
            })
        })
        .collect::<Option<Vec<_>>>()?;
    Some((resources, diags))
}

/// Spans of the document `text` at `at`, from a tree parsed on first use;
/// `yaml11_only` when the document's values were looked at already.
fn lazy_spans(text: &str, at: Place, yaml11_only: Option<bool>) -> Arc<SpanIndex> {
    let t = LazyTree {
        file: at.file,
        text: text.to_string(),
        offset: at.offset,
        line_base: at.line_base,
        tree: std::sync::OnceLock::new(),
    };
    Arc::new(match yaml11_only {
        Some(y) => SpanIndex::lazy_looked(t, y),
        None => SpanIndex::lazy(t),
    })
}

/// The marked tree of a cached document, parsed from its text and moved to
/// where the document sits in its file.
pub(super) fn parse_alone(t: &LazyTree) -> Option<yaml::Node> {
    let src = SourceFile::new("", t.text.clone());
    let (docs, _, _) = yaml::parse_range(t.file, &src, 0..src.text.len(), 0);
    let mut root = docs.into_iter().find_map(|d| d.root)?;
    shift(&mut root, t.offset, t.line_base);
    Some(root)
}

fn shift(n: &mut yaml::Node, offset: usize, lines: u32) {
    n.span.offset += offset;
    n.span.line += lines;
    match &mut n.value {
        yaml::Value::Seq(items) => items.iter_mut().for_each(|i| shift(i, offset, lines)),
        yaml::Value::Map(entries) => entries.iter_mut().for_each(|(k, v)| {
            shift(k, offset, lines);
            shift(v, offset, lines);
        }),
        _ => {}
    }
}
