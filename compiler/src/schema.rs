//! Structure checks: one JSON Schema (2020-12) per kind, under `schemas/`.
//!
//! The schemas are the editor-facing contract (yaml-language-server shows
//! their titles and descriptions) and the first validation pass: types,
//! enums, required fields, simple patterns and numeric ranges. Cross-field and
//! semantic rules live in [`crate::validate`], which words them better than a
//! schema could.
//!
//! [`check`] turns every schema error into a [`Diagnostic`] with a stable code,
//! a plain-words message naming the field, and the span of the offending YAML.

use crate::diag::{codes, Diagnostic};
use crate::load::document::escape_segment;
use crate::load::{did_you_mean, unknown_field, RawResource};
use crate::model::Kind;
use crate::source::Span;
use jsonschema::error::ValidationErrorKind;
use jsonschema::{ValidationError, Validator};
use serde_json::Value;
use std::cmp::Ordering;
use std::sync::OnceLock;

pub mod bundle;

/// `schemas/common.schema.json`: the definitions several kinds share.
pub const COMMON_SCHEMA: &str = include_str!("../../schemas/common.schema.json");

/// A kind's schema file as shipped in `schemas/<kind>.schema.json`: it refers
/// to shared definitions in `common.schema.json` (an editor pointed at the
/// file resolves them relative to it).
pub fn schema_source(kind: Kind) -> &'static str {
    match kind {
        Kind::IPPool => include_str!("../../schemas/ippool.schema.json"),
        Kind::BGPConfiguration => include_str!("../../schemas/bgpconfiguration.schema.json"),
        Kind::BGPPeer => include_str!("../../schemas/bgppeer.schema.json"),
        Kind::BGPFilter => include_str!("../../schemas/bgpfilter.schema.json"),
        Kind::Node => include_str!("../../schemas/node.schema.json"),
        Kind::NetworkPolicy => include_str!("../../schemas/networkpolicy.schema.json"),
        Kind::GlobalNetworkPolicy => {
            include_str!("../../schemas/globalnetworkpolicy.schema.json")
        }
        Kind::GlobalNetworkSet => include_str!("../../schemas/globalnetworkset.schema.json"),
        Kind::NetworkSet => include_str!("../../schemas/networkset.schema.json"),
        Kind::HostEndpoint => include_str!("../../schemas/hostendpoint.schema.json"),
        Kind::WorkloadEndpoint => include_str!("../../schemas/workloadendpoint.schema.json"),
        Kind::FelixConfiguration => include_str!("../../schemas/felixconfiguration.schema.json"),
        Kind::Profile => include_str!("../../schemas/profile.schema.json"),
        Kind::BlockAffinity => include_str!("../../schemas/blockaffinity.schema.json"),
        Kind::IPAMBlock => include_str!("../../schemas/ipamblock.schema.json"),
        Kind::KubeControllersConfiguration => {
            include_str!("../../schemas/kubecontrollersconfiguration.schema.json")
        }
        Kind::ClusterInformation => include_str!("../../schemas/clusterinformation.schema.json"),
        Kind::Namespace => include_str!("../../schemas/namespace.schema.json"),
        Kind::Pod => include_str!("../../schemas/pod.schema.json"),
        Kind::KubeNode => include_str!("../../schemas/kubernetesnode.schema.json"),
        Kind::KubeNetworkPolicy => {
            include_str!("../../schemas/kubernetesnetworkpolicy.schema.json")
        }
    }
}

/// The JSON Schema of a kind as one self-contained document: the kind's file
/// with the `common.schema.json` definitions it uses inlined ([`bundle`],
/// done at build time by compiler/build.rs). This is what `netc schema KIND`
/// prints and what [`check`] validates against.
pub fn schema_text(kind: Kind) -> &'static str {
    macro_rules! bundled {
        ($file:literal) => {
            include_str!(concat!(env!("OUT_DIR"), "/", $file))
        };
    }
    match kind {
        Kind::IPPool => bundled!("ippool.schema.json"),
        Kind::BGPConfiguration => bundled!("bgpconfiguration.schema.json"),
        Kind::BGPPeer => bundled!("bgppeer.schema.json"),
        Kind::BGPFilter => bundled!("bgpfilter.schema.json"),
        Kind::Node => bundled!("node.schema.json"),
        Kind::NetworkPolicy => bundled!("networkpolicy.schema.json"),
        Kind::GlobalNetworkPolicy => bundled!("globalnetworkpolicy.schema.json"),
        Kind::GlobalNetworkSet => bundled!("globalnetworkset.schema.json"),
        Kind::NetworkSet => bundled!("networkset.schema.json"),
        Kind::HostEndpoint => bundled!("hostendpoint.schema.json"),
        Kind::WorkloadEndpoint => bundled!("workloadendpoint.schema.json"),
        Kind::FelixConfiguration => bundled!("felixconfiguration.schema.json"),
        Kind::Profile => bundled!("profile.schema.json"),
        Kind::BlockAffinity => bundled!("blockaffinity.schema.json"),
        Kind::IPAMBlock => bundled!("ipamblock.schema.json"),
        Kind::KubeControllersConfiguration => bundled!("kubecontrollersconfiguration.schema.json"),
        Kind::ClusterInformation => bundled!("clusterinformation.schema.json"),
        Kind::Namespace => bundled!("namespace.schema.json"),
        Kind::Pod => bundled!("pod.schema.json"),
        Kind::KubeNode => bundled!("kubernetesnode.schema.json"),
        Kind::KubeNetworkPolicy => bundled!("kubernetesnetworkpolicy.schema.json"),
    }
}

/// A kind's schema document and its compiled validator.
struct Compiled {
    doc: Value,
    validator: Validator,
}

fn compiled(kind: Kind) -> &'static Compiled {
    static CELLS: [OnceLock<Compiled>; Kind::ALL.len()] =
        [const { OnceLock::new() }; Kind::ALL.len()];
    let i = Kind::ALL
        .iter()
        .position(|k| *k == kind)
        .expect("every kind is in Kind::ALL");
    CELLS[i].get_or_init(|| {
        // The schemas are embedded and covered by tests; a broken one is a
        // build defect, not an input error.
        let doc: Value = serde_json::from_str(schema_text(kind))
            .unwrap_or_else(|e| panic!("schema for {} is not JSON: {e}", kind.as_str()));
        let validator = jsonschema::validator_for(&doc)
            .unwrap_or_else(|e| panic!("schema for {} does not compile: {e}", kind.as_str()));
        Compiled { doc, validator }
    })
}

/// GlobalNetworkPolicy fields that NetworkPolicy does not have.
const GNP_ONLY: &[&str] = &[
    "namespaceSelector",
    "doNotTrack",
    "preDNAT",
    "applyOnForward",
];

/// Coerce ([`coerce`]) and check ([`check`]) one resource against its
/// kind's schema. Both act only on validation errors, and most resources
/// have none: one `is_valid` pass (which stops early and builds no error)
/// decides whether the two full error walks are needed at all.
pub fn coerce_and_check(raw: &mut RawResource) -> Vec<Diagnostic> {
    if compiled(raw.kind).validator.is_valid(&raw.value) {
        // Nothing to coerce or report, but YAML-1.1-only spellings in
        // boolean and number fields, which are valid (W0109).
        return if raw.origin.spans.may_hold_yaml11_only() {
            coerce(raw)
        } else {
            Vec::new()
        };
    }
    let mut d = coerce(raw);
    d.extend(check(raw));
    d
}

/// Check one resource against its kind's schema. Diagnostics are ordered by
/// the instance path they concern.
pub fn check(raw: &RawResource) -> Vec<Diagnostic> {
    let c = compiled(raw.kind);
    check_with(&c.doc, &c.validator, raw)
}

fn check_with(doc: &Value, validator: &Validator, raw: &RawResource) -> Vec<Diagnostic> {
    let cx = Cx { raw, doc };
    let mut found: Vec<Found> = Vec::new();
    for err in validator.iter_errors(&raw.value) {
        cx.map(&err, &mut found);
    }
    // A value of the wrong type also fails the keywords that assume the right
    // type (an enum, a pattern): report only the type.
    let typed: Vec<String> = found
        .iter()
        .filter(|f| f.diag.code == codes::WRONG_TYPE)
        .map(|f| f.ptr.clone())
        .collect();
    found.retain(|f| f.diag.code == codes::WRONG_TYPE || !typed.contains(&f.ptr));
    found.sort_by(|a, b| {
        cmp_ptr(&a.ptr, &b.ptr)
            .then_with(|| a.diag.code.cmp(b.diag.code))
            .then_with(|| a.diag.message.cmp(&b.diag.message))
    });
    found.dedup_by(|a, b| a.ptr == b.ptr && a.diag == b.diag);
    let display = raw.display();
    found
        .into_iter()
        .map(|f| f.diag.resource(display.clone()))
        .collect()
}

/// Read unquoted booleans and numbers the way calicoctl does (YAML 1.1, then
/// converted to the field's type by sigs.k8s.io/yaml): in a string field
/// they become Go's text of the value; elsewhere a YAML-1.1-only spelling
/// (`yes`, `010`) keeps its YAML 1.1 value. Either way netc warns (W0109),
/// because the file does not say what Calico reads. Run before [`check`].
pub fn coerce(raw: &mut RawResource) -> Vec<Diagnostic> {
    let c = compiled(raw.kind);
    let mut targets: Vec<String> = Vec::new();
    for err in c.validator.iter_errors(&raw.value) {
        let ValidationErrorKind::Type { .. } = err.kind() else {
            continue;
        };
        let expected: Vec<&str> = match c.doc.pointer(err.schema_path().as_str()) {
            Some(Value::String(t)) => vec![t.as_str()],
            Some(Value::Array(ts)) => ts.iter().filter_map(|t| t.as_str()).collect(),
            _ => Vec::new(),
        };
        let inst: &Value = err.instance();
        let numeric_ok = expected.contains(&"integer") || expected.contains(&"number");
        let coercible = match inst {
            Value::Bool(_) => !expected.contains(&"boolean"),
            Value::Number(_) => !numeric_ok,
            _ => false,
        };
        if expected.contains(&"string") && coercible {
            targets.push(err.instance_path().as_str().to_string());
        }
    }
    let origin = raw.origin.clone();
    let display = raw.display();
    let mut out = Vec::new();
    for ptr in &targets {
        let abs = format!("{}{}", origin.base, ptr);
        let Some(slot) = raw.value.pointer_mut(ptr) else {
            continue;
        };
        let (text, s) = match origin.spans.plain(&abs) {
            Some((p, v)) => (
                p.text.clone(),
                crate::load::yaml::go_string(v).unwrap_or_default(),
            ),
            None => {
                let t = match &*slot {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (t.clone(), t)
            }
        };
        *slot = Value::String(s.clone());
        let field = field_name(&raw.value, ptr);
        let mut d = Diagnostic::warning(
            codes::YAML11_SCALAR,
            format!("`{field}` is a string: calicoctl reads the unquoted `{text}` as \"{s}\""),
        )
        .at(origin.value_span(ptr))
        .label(format!("read as \"{s}\""))
        .note(format!("write it quoted: \"{s}\""));
        if text != s {
            d = d.note(format!(
                "if you meant the text `{text}`, quote that instead: \"{text}\" (Calico has been reading \"{s}\")"
            ));
        }
        out.push(d.resource(display.clone()));
    }
    // YAML-1.1-only spellings in boolean and number fields (`yes`, `010`).
    // Walk this resource's own values (not the document's whole index: a
    // List of thousands of items must stay linear).
    fn scalars(v: &Value, ptr: String, out: &mut Vec<String>) {
        match v {
            Value::Bool(_) | Value::Number(_) => out.push(ptr),
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    scalars(x, format!("{ptr}/{i}"), out);
                }
            }
            Value::Object(m) => {
                for (k, x) in m {
                    scalars(x, format!("{ptr}/{}", escape_segment(k)), out);
                }
            }
            _ => {}
        }
    }
    let mut ptrs = Vec::new();
    if origin.spans.may_hold_yaml11_only() {
        scalars(&raw.value, String::new(), &mut ptrs);
    }
    let mut rest: Vec<(String, String, String)> = ptrs
        .into_iter()
        .filter(|rel| !targets.contains(rel))
        .filter_map(|rel| {
            let (p, v) = origin.spans.plain(&format!("{}{}", origin.base, rel))?;
            if !p.yaml11_only {
                return None;
            }
            Some((rel, p.text.clone(), crate::load::yaml::go_string(v)?))
        })
        .collect();
    rest.sort();
    for (ptr, text, s) in rest {
        let field = field_name(&raw.value, &ptr);
        out.push(
            Diagnostic::warning(
                codes::YAML11_SCALAR,
                format!("calicoctl reads the unquoted `{text}` in `{field}` as {s} (YAML 1.1)"),
            )
            .at(origin.value_span(&ptr))
            .label(format!("read as {s}"))
            .note(format!(
                "write {s}, which every YAML reader reads alike (a different value if `{text}` meant something else)"
            ))
            .resource(display.clone()),
        );
    }
    out
}

/// A diagnostic with the instance path it concerns (the sort key).
struct Found {
    ptr: String,
    diag: Diagnostic,
}

struct Cx<'a> {
    raw: &'a RawResource,
    doc: &'a Value,
}

impl Cx<'_> {
    fn push(&self, out: &mut Vec<Found>, ptr: &str, diag: Diagnostic) {
        out.push(Found {
            ptr: ptr.to_string(),
            diag,
        });
    }

    /// Where to point for a problem with a whole mapping (a missing field):
    /// its key (`spec:`), or for a mapping without one (a list item, the
    /// resource itself) its first key, which is where the mapping starts.
    fn mapping_span(&self, ptr: &str) -> Span {
        let origin = &self.raw.origin;
        let in_list = match ptr.rsplit_once('/') {
            Some((parent, _)) => matches!(self.raw.value.pointer(parent), Some(Value::Array(_))),
            None => true, // the resource
        };
        if in_list {
            if let Some(first) = self
                .raw
                .value
                .pointer(ptr)
                .and_then(|v| v.as_object())
                .and_then(|m| m.keys().next())
            {
                return origin.key_span(&format!("{ptr}/{}", escape_segment(first)));
            }
        }
        origin.key_span(ptr)
    }

    /// The schema object holding the keyword at `schema_path` (its parent).
    fn schema_object(&self, schema_path: &str) -> Option<&Value> {
        let parent = schema_path.rsplit_once('/').map(|(p, _)| p).unwrap_or("");
        self.doc.pointer(parent)
    }

    fn map(&self, e: &ValidationError<'_>, out: &mut Vec<Found>) {
        let ptr = e.instance_path().as_str().to_string();
        let spath = e.schema_path().as_str().to_string();
        let field = field_name(&self.raw.value, &ptr);
        let origin = &self.raw.origin;
        let instance: &Value = e.instance();
        match e.kind() {
            ValidationErrorKind::AdditionalProperties { unexpected } => {
                let allowed: Vec<&str> = self
                    .schema_object(&spath)
                    .and_then(|o| o.get("properties"))
                    .and_then(|p| p.as_object())
                    .map(|p| p.keys().map(|k| k.as_str()).collect())
                    .unwrap_or_default();
                let context = if ptr.is_empty() {
                    "the resource".to_string()
                } else {
                    format!("`{field}`")
                };
                for name in unexpected {
                    let child = format!("{ptr}/{}", escape_segment(name));
                    let mut d = unknown_field(origin, &child, name, &allowed, &context);
                    if self.raw.kind == Kind::NetworkPolicy
                        && ptr == "/spec"
                        && GNP_ONLY.contains(&name.as_str())
                    {
                        d = d.note(format!(
                            "`{name}` is only valid in a GlobalNetworkPolicy, not in a namespaced NetworkPolicy"
                        ));
                    }
                    self.push(out, &child, d);
                }
            }
            ValidationErrorKind::Type { .. } => {
                let expected: Vec<String> = match self.doc.pointer(&spath) {
                    Some(Value::String(t)) => vec![t.clone()],
                    Some(Value::Array(ts)) => ts
                        .iter()
                        .filter_map(|t| t.as_str().map(str::to_string))
                        .collect(),
                    _ => Vec::new(),
                };
                self.push(
                    out,
                    &ptr,
                    self.type_error(&ptr, &field, &expected, instance),
                );
            }
            ValidationErrorKind::Enum { options } => {
                let options: Vec<Value> = options.as_array().cloned().unwrap_or_default();
                self.push(
                    out,
                    &ptr,
                    self.not_allowed(&ptr, &field, &options, instance),
                );
            }
            ValidationErrorKind::Constant { expected_value } => {
                let options = vec![(**expected_value).clone()];
                self.push(
                    out,
                    &ptr,
                    self.not_allowed(&ptr, &field, &options, instance),
                );
            }
            ValidationErrorKind::Required { property } => {
                let prop = property.as_str().unwrap_or_default();
                let whole = if ptr.is_empty() {
                    "the resource".to_string()
                } else {
                    format!("`{field}`")
                };
                let mut d = Diagnostic::error(
                    codes::MISSING_FIELD,
                    format!("{whole} is missing the required field `{prop}`"),
                )
                .at(self.mapping_span(&ptr))
                .label(format!("`{prop}` is required here"));
                if let Some(desc) = self
                    .schema_object(&spath)
                    .and_then(|o| o.pointer(&format!("/properties/{}", escape_segment(prop))))
                    .and_then(|p| p.get("description"))
                    .and_then(|v| v.as_str())
                {
                    d = d.note(format!("`{prop}`: {desc}"));
                }
                self.push(out, &ptr, d);
            }
            ValidationErrorKind::Pattern { pattern } => {
                let what = self
                    .schema_object(&spath)
                    .and_then(|o| o.get("patternErrorMessage"))
                    .and_then(|v| v.as_str());
                let shown = show_value(instance);
                let d = match what {
                    Some(what) => Diagnostic::error(
                        codes::BAD_FORMAT,
                        format!("`{field}` must be {what}, not {shown}"),
                    )
                    .label(format!("expected {what}")),
                    None => Diagnostic::error(
                        codes::BAD_FORMAT,
                        format!("`{field}` has the wrong form: {shown} does not match `{pattern}`"),
                    )
                    .label("malformed value"),
                };
                self.push(out, &ptr, d.at(origin.value_span(&ptr)));
            }
            ValidationErrorKind::Format { format } => {
                let d = Diagnostic::error(
                    codes::BAD_FORMAT,
                    format!(
                        "`{field}` must be a valid {format}, not {}",
                        show_value(instance)
                    ),
                )
                .at(origin.value_span(&ptr))
                .label(format!("not a valid {format}"));
                self.push(out, &ptr, d);
            }
            ValidationErrorKind::Minimum { .. }
            | ValidationErrorKind::Maximum { .. }
            | ValidationErrorKind::ExclusiveMinimum { .. }
            | ValidationErrorKind::ExclusiveMaximum { .. } => {
                let range = self
                    .schema_object(&spath)
                    .map(range_words)
                    .unwrap_or_else(|| "in range".to_string());
                let d = Diagnostic::error(
                    codes::OUT_OF_RANGE,
                    format!("`{field}` must be {range}, not {}", show_value(instance)),
                )
                .at(origin.value_span(&ptr))
                .label(format!("must be {range}"));
                self.push(out, &ptr, d);
            }
            ValidationErrorKind::MaxItems { limit } | ValidationErrorKind::MinItems { limit } => {
                let n = instance.as_array().map(|a| a.len()).unwrap_or(0);
                let (bound, label) = if matches!(e.kind(), ValidationErrorKind::MaxItems { .. }) {
                    ("at most", "too many entries")
                } else {
                    ("at least", "too few entries")
                };
                let d = Diagnostic::error(
                    codes::OUT_OF_RANGE,
                    format!(
                        "`{field}` has {n} {}; it must have {bound} {limit}",
                        plural(n as u64, "entry", "entries")
                    ),
                )
                .at(origin.value_span(&ptr))
                .label(label);
                self.push(out, &ptr, d);
            }
            ValidationErrorKind::MaxLength { limit } | ValidationErrorKind::MinLength { limit } => {
                let n = instance.as_str().map(|s| s.chars().count()).unwrap_or(0);
                let d = if n == 0 {
                    Diagnostic::error(codes::OUT_OF_RANGE, format!("`{field}` must not be empty"))
                        .label("empty")
                } else {
                    let bound = if matches!(e.kind(), ValidationErrorKind::MaxLength { .. }) {
                        "at most"
                    } else {
                        "at least"
                    };
                    Diagnostic::error(
                        codes::OUT_OF_RANGE,
                        format!(
                            "`{field}` is {n} {} long; it must be {bound} {limit}",
                            plural(n as u64, "character", "characters")
                        ),
                    )
                    .label(format!("{bound} {limit} characters"))
                };
                self.push(out, &ptr, d.at(origin.value_span(&ptr)));
            }
            ValidationErrorKind::AnyOf { context }
            | ValidationErrorKind::OneOfNotValid { context } => {
                self.alternatives(&ptr, &field, context, instance, out);
            }
            _ => {
                let d = Diagnostic::error(codes::SCHEMA_OTHER, format!("`{field}`: {e}"))
                    .at(origin.value_span(&ptr));
                self.push(out, &ptr, d);
            }
        }
    }

    /// anyOf/oneOf: report the branch that got furthest (the one whose type
    /// matched), or, when no branch's type matched, one type error listing
    /// every accepted type.
    fn alternatives(
        &self,
        ptr: &str,
        field: &str,
        branches: &[Vec<ValidationError<'static>>],
        instance: &Value,
        out: &mut Vec<Found>,
    ) {
        let type_mismatch = |errs: &Vec<ValidationError<'static>>| {
            errs.iter().any(|e| {
                matches!(e.kind(), ValidationErrorKind::Type { .. })
                    && e.instance_path().as_str() == ptr
            })
        };
        let best = branches
            .iter()
            .filter(|errs| !errs.is_empty() && !type_mismatch(errs))
            .max_by_key(|errs| {
                // Deeper errors are more specific; fewer errors mean a closer match.
                let depth = errs
                    .iter()
                    .map(|e| e.instance_path().as_str().matches('/').count())
                    .max()
                    .unwrap_or(0);
                (depth, usize::MAX - errs.len())
            });
        if let Some(errs) = best {
            for e in errs {
                self.map(e, out);
            }
            return;
        }
        let mut expected: Vec<String> = Vec::new();
        for errs in branches {
            for e in errs {
                if let ValidationErrorKind::Type { .. } = e.kind() {
                    match self.doc.pointer(e.schema_path().as_str()) {
                        Some(Value::String(t)) => expected.push(t.clone()),
                        Some(Value::Array(ts)) => expected
                            .extend(ts.iter().filter_map(|t| t.as_str().map(str::to_string))),
                        _ => {}
                    }
                }
            }
        }
        expected.dedup();
        if expected.is_empty() {
            let d = Diagnostic::error(
                codes::SCHEMA_OTHER,
                format!("`{field}` does not match any of the accepted forms"),
            )
            .at(self.raw.origin.value_span(ptr));
            self.push(out, ptr, d);
        } else {
            self.push(out, ptr, self.type_error(ptr, field, &expected, instance));
        }
    }

    fn type_error(
        &self,
        ptr: &str,
        field: &str,
        expected: &[String],
        instance: &Value,
    ) -> Diagnostic {
        let want = expected
            .iter()
            .filter(|t| t.as_str() != "null")
            .map(|t| type_words(t))
            .collect::<Vec<_>>()
            .join(" or ");
        let want = if want.is_empty() {
            "empty".to_string()
        } else {
            want
        };
        let got = actual_words(instance);
        let mut d = Diagnostic::error(
            codes::WRONG_TYPE,
            format!("`{field}` must be {want}, not {got}"),
        )
        .at(self.raw.origin.value_span(ptr))
        .label(format!("expected {want}"));
        let wants = |t: &str| expected.iter().any(|e| e == t);
        match instance {
            Value::Null => {
                d = d.note("the value is empty: give one, or remove the key");
            }
            Value::Number(n) if wants("string") && !wants("integer") && !wants("number") => {
                d = d.note(format!("quote it to make it a string: \"{n}\""));
            }
            Value::Number(n) if wants("string") && n.is_f64() => {
                d = d.note(format!(
                    "quote the value if it is text: YAML reads an unquoted `1.10` as the number 1.1 (here {n}); an asdot AS number is written \"1.10\""
                ));
            }
            Value::Bool(b) if wants("string") => {
                d = d.note(format!(
                    "YAML reads unquoted true/false/yes/no as a boolean; quote it to make it a string: \"{b}\""
                ));
            }
            Value::String(s) => {
                let t = s.trim();
                let yes_no = ["yes", "no", "on", "off", "y", "n"];
                if (wants("integer") && t.parse::<i64>().is_ok())
                    || (wants("number") && t.parse::<f64>().is_ok())
                    || (wants("boolean") && (t == "true" || t == "false"))
                {
                    d = d.note(format!("remove the quotes: {t}"));
                } else if wants("boolean") && yes_no.iter().any(|w| t.eq_ignore_ascii_case(w)) {
                    d = d.note("YAML 1.2 reads yes/no/on/off as strings; write true or false");
                }
            }
            _ => {}
        }
        d
    }

    fn not_allowed(
        &self,
        ptr: &str,
        field: &str,
        options: &[Value],
        instance: &Value,
    ) -> Diagnostic {
        let names: Vec<String> = options.iter().map(option_words).collect();
        let shown = show_value(instance);
        let message = if names.len() == 1 {
            format!("`{field}` must be {}, not {shown}", names[0])
        } else {
            format!("`{field}` must be one of {}, not {shown}", names.join(", "))
        };
        let mut d =
            Diagnostic::error(codes::NOT_ALLOWED, message).at(self.raw.origin.value_span(ptr));
        let text: Option<String> = match instance {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        };
        let plain: Vec<String> = options
            .iter()
            .map(|o| match o {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect();
        let suggestion = text
            .as_deref()
            .and_then(|t| did_you_mean(t, plain.iter().map(|s| s.as_str())));
        d = match suggestion {
            Some(s) => d.label(format!("did you mean `{s}`?")),
            None => d.label("not an allowed value"),
        };
        if let (Some(t), Some(s)) = (&text, suggestion) {
            if t.eq_ignore_ascii_case(s) {
                d = d.note("values are case-sensitive");
            }
        }
        d.note(format!("allowed values: {}", plain.join(", ")))
    }
}

/// `/spec/ingress/0/action` → `spec.ingress[0].action`, using the document
/// to tell list indexes from mapping keys.
pub(crate) fn field_name(value: &Value, ptr: &str) -> String {
    if ptr.is_empty() {
        return "(resource)".to_string();
    }
    let mut out = String::new();
    let mut cur = Some(value);
    for raw_seg in ptr.split('/').skip(1) {
        let seg = raw_seg.replace("~1", "/").replace("~0", "~");
        match cur {
            Some(Value::Array(items)) => {
                out.push_str(&format!("[{seg}]"));
                cur = seg.parse::<usize>().ok().and_then(|i| items.get(i));
            }
            other => {
                let plain = !seg.is_empty()
                    && seg
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                if plain {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(&seg);
                } else {
                    out.push_str(&format!("[{}]", Value::String(seg.clone())));
                }
                cur = other.and_then(|v| v.get(&seg));
            }
        }
    }
    out
}

/// Order JSON pointers segment by segment, numbers numerically.
fn cmp_ptr(a: &str, b: &str) -> Ordering {
    let mut sa = a.split('/');
    let mut sb = b.split('/');
    loop {
        match (sa.next(), sb.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => {
                let o = match (x.parse::<u64>(), y.parse::<u64>()) {
                    (Ok(m), Ok(n)) => m.cmp(&n),
                    _ => x.cmp(y),
                };
                if o != Ordering::Equal {
                    return o;
                }
            }
        }
    }
}

fn type_words(t: &str) -> String {
    match t {
        "string" => "a string",
        "integer" => "an integer",
        "number" => "a number",
        "boolean" => "a boolean (true or false)",
        "array" => "a list",
        "object" => "a mapping",
        "null" => "empty",
        other => other,
    }
    .to_string()
}

fn actual_words(v: &Value) -> String {
    match v {
        Value::Null => "empty (null)".to_string(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) if n.is_f64() => format!("the number {n}"),
        Value::Number(n) => format!("the integer {n}"),
        Value::String(s) => format!(
            "the string {}",
            short(&Value::String(s.clone()).to_string())
        ),
        Value::Array(_) => "a list".to_string(),
        Value::Object(_) => "a mapping".to_string(),
    }
}

/// A value as it appears in a message: strings in backticks, others as JSON.
fn show_value(v: &Value) -> String {
    match v {
        Value::String(s) => format!("`{}`", short(s)),
        Value::Null => "empty (null)".to_string(),
        Value::Array(_) => "a list".to_string(),
        Value::Object(_) => "a mapping".to_string(),
        other => other.to_string(),
    }
}

fn option_words(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn short(s: &str) -> String {
    const MAX: usize = 60;
    if s.chars().count() > MAX {
        let cut: String = s.chars().take(MAX).collect();
        format!("{cut}…")
    } else {
        s.to_string()
    }
}

fn plural(n: u64, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 {
        one
    } else {
        many
    }
}

/// "between 1 and 65535" / "at least 1" / "at most 128" from a schema object.
fn range_words(schema: &Value) -> String {
    let num = |k: &str| schema.get(k).map(|v| v.to_string());
    match (
        num("minimum"),
        num("maximum"),
        num("exclusiveMinimum"),
        num("exclusiveMaximum"),
    ) {
        (Some(lo), Some(hi), _, _) => format!("between {lo} and {hi}"),
        (Some(lo), None, _, Some(hi)) => format!("at least {lo} and less than {hi}"),
        (None, Some(hi), Some(lo), _) => format!("greater than {lo} and at most {hi}"),
        (Some(lo), None, _, None) => format!("at least {lo}"),
        (None, Some(hi), None, _) => format!("at most {hi}"),
        (None, None, Some(lo), Some(hi)) => format!("greater than {lo} and less than {hi}"),
        (None, None, Some(lo), None) => format!("greater than {lo}"),
        (None, None, None, Some(hi)) => format!("less than {hi}"),
        (None, None, None, None) => "in range".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::load_source;
    use crate::source::SourceMap;

    /// anyOf (not used by the shipped schemas, but supported): the branch whose
    /// type matched is reported; with no such branch, one type error.
    #[test]
    fn any_of_reports_the_most_specific_branch() {
        let doc = serde_json::json!({
            "type": "object",
            "properties": {
                "spec": {
                    "type": "object",
                    "properties": {
                        "port": {"anyOf": [
                            {"type": "integer", "minimum": 1, "maximum": 65535},
                            {"type": "string", "pattern": "^[a-z]+$", "patternErrorMessage": "a port name"}
                        ]}
                    }
                }
            }
        });
        let validator = jsonschema::validator_for(&doc).unwrap();
        let run = |port: &str| {
            let mut sm = SourceMap::new();
            let text = format!(
                "apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: a\nspec:\n  port: {port}\n"
            );
            let id = sm.add("t.yaml", text);
            let (raws, _) = load_source(id, &sm);
            check_with(&doc, &validator, &raws[0])
        };
        let d = run("HTTP");
        assert_eq!(d.len(), 1, "{d:#?}");
        assert_eq!(d[0].code, codes::BAD_FORMAT);
        assert_eq!(d[0].message, "`spec.port` must be a port name, not `HTTP`");
        let d = run("0");
        assert_eq!(d[0].code, codes::OUT_OF_RANGE);
        assert_eq!(
            d[0].message,
            "`spec.port` must be between 1 and 65535, not 0"
        );
        let d = run("true");
        assert_eq!(d[0].code, codes::WRONG_TYPE);
        assert_eq!(
            d[0].message,
            "`spec.port` must be an integer or a string, not the boolean true"
        );
        assert_eq!((d[0].span.unwrap().line, d[0].span.unwrap().col), (6, 9));
    }

    #[test]
    fn field_names_and_pointer_order() {
        let v = serde_json::json!({"spec": {"ingress": [{"a/b": {"x": 1}}]}});
        assert_eq!(
            field_name(&v, "/spec/ingress/0/a~1b/x"),
            "spec.ingress[0][\"a/b\"].x"
        );
        assert_eq!(field_name(&v, ""), "(resource)");
        let mut ptrs = vec!["/spec/ingress/10", "/spec/ingress/2", "/metadata", "/spec"];
        ptrs.sort_by(|a, b| cmp_ptr(a, b));
        assert_eq!(
            ptrs,
            ["/metadata", "/spec", "/spec/ingress/2", "/spec/ingress/10"]
        );
    }
}
