//! Validation: raw resources → typed [`Model`] → [`ValidModel`].
//!
//! Three passes, each reporting every problem it finds rather than stopping at
//! the first:
//! 1. structure, against the kind's JSON Schema ([`crate::schema`]), and a
//!    warning for each accepted field netc does not compile ([`crate::fields`]);
//! 2. typing with serde into [`Model`] (a resource that failed 1 is dropped
//!    here, so one typo does not cascade into a page of follow-on errors);
//! 3. semantics: Calico's per-kind rules, then the cross-resource checks
//!    calicoctl cannot do (one module per concern below).
//!
//! Only [`validate`] constructs a [`ValidModel`], and lowering accepts only a
//! `ValidModel`: the type system guarantees nothing unvalidated is compiled
//! (naga's validate → ModuleInfo idea).

mod bgp;
mod bgp_filter;
mod clean;
mod cross;
mod endpoint;
mod export;
mod ippool;
mod k8s;
mod names;
mod node;
mod policy;
mod shadow;
mod util;

use crate::diag::{codes, Diagnostic, Diagnostics};
use crate::load::{Origin, RawResource};
use crate::model::*;
use serde::de::DeserializeOwned;
pub use util::{parse_addr, parse_cidr};

/// A model that passed validation with no errors (warnings allowed).
#[derive(Debug, Clone)]
pub struct ValidModel {
    model: Model,
}

impl ValidModel {
    pub fn model(&self) -> &Model {
        &self.model
    }
    /// [`Model::forget_spans`]: still valid, with no spans left to point at.
    pub fn forget_spans(&mut self) {
        self.model.forget_spans();
    }
}

impl std::ops::Deref for ValidModel {
    type Target = Model;
    fn deref(&self) -> &Model {
        &self.model
    }
}

/// Validate loaded resources. Returns the model when there are no errors,
/// and all diagnostics (sorted) either way.
pub fn validate(raws: Vec<RawResource>) -> (Option<ValidModel>, Diagnostics) {
    validate_with(raws, None)
}

/// A policy's findings from one of its own checks: its kind, its index
/// among the model's policies of that kind, and what was found.
type Found = (Kind, usize, Vec<Diagnostic>);
/// Policies a check passes over (by kind and index).
type Skip<'a> = dyn Fn(Kind, usize) -> bool + Sync + 'a;

/// [`validate`], remembering in `store` which policies passed their own
/// checks, so a later run with the same policy does not check it again
/// ([`clean`]; the same diagnostics either way).
pub fn validate_with(
    raws: Vec<RawResource>,
    store: Option<&dyn crate::load::doc_cache::DocStore>,
) -> (Option<ValidModel>, Diagnostics) {
    let mut diags = Diagnostics::default();
    let mut model = Model::default();
    // Kinds read but not compiled: one note per kind, at its first resource.
    let mut uncompiled: Vec<(Kind, RawResource, usize)> = Vec::new();
    let schema_phase = crate::ir::timing::phase("validate.schema+type");
    // Each resource's schema checks are its own: on all cores, in input order.
    let checked: Vec<(RawResource, Vec<Diagnostic>, bool)> = {
        use rayon::prelude::*;
        raws.into_par_iter()
            .map(|mut raw| {
                let c = raw.checked.take().unwrap_or_else(|| check_raw(&mut raw));
                (raw, c.diags, c.failed)
            })
            .collect()
    };
    let mut valid = Vec::with_capacity(checked.len());
    for (raw, schema_diags, failed) in checked {
        diags.extend(schema_diags);
        if failed {
            continue;
        }
        if !raw.kind.compiled() {
            match uncompiled.iter_mut().find(|(k, _, _)| *k == raw.kind) {
                Some((_, _, n)) => *n += 1,
                None => uncompiled.push((raw.kind, raw.clone(), 1)),
            }
        }
        valid.push(raw);
    }
    // Typing (serde) is each resource's own too: on all cores, each into a
    // model of its own, joined in input order (ten 1,000-rule policies
    // took 16 ms in a row).
    let _typing = crate::ir::timing::phase("validate.type");
    let typed: Vec<(Model, Diagnostics, Option<String>)> = {
        use rayon::prelude::*;
        valid
            .into_par_iter()
            .map(|raw| {
                let (mut m, mut d) = (Model::default(), Diagnostics::default());
                let key = clean::key(&raw);
                type_resource(raw, &mut m, &mut d);
                (m, d, key)
            })
            .collect()
    };
    drop(_typing);
    let _join = crate::ir::timing::phase("validate.join");
    // Each policy's content key, by kind and index in the joined model.
    let (mut gnp_keys, mut np_keys) = (Vec::new(), Vec::new());
    for (m, d, key) in typed {
        gnp_keys.extend(m.global_network_policies.iter().map(|_| key.clone()));
        np_keys.extend(m.network_policies.iter().map(|_| key.clone()));
        model.append(m);
        diags.extend(d.items);
    }
    drop(_join);
    drop(schema_phase);
    for (_, raw, n) in &uncompiled {
        diags.push(not_compiled(raw, *n));
    }
    let mut out = Vec::new();
    // Kubernetes objects: their own rules first, then the Nodes they declare
    // join the Calico Nodes so every node rule sees them (docs/k8s.md §5).
    k8s::check(&model, &mut out);
    let kube_nodes: Vec<_> = model
        .kube_nodes
        .iter()
        .filter(|n| model.node(&n.meta.name).is_none())
        .map(crate::k8s::node)
        .collect();
    model.nodes.extend(kube_nodes);
    // The cluster-wide checks read the model and write only their own
    // findings (none reads another's): on all cores, their findings joined
    // in this order (and sorted below), so the output does not depend on
    // which finished first.
    // Each policy's own checks pass over the policies known to pass them
    // ([`clean`]).
    type Check = fn(&Model, &mut Vec<Diagnostic>);
    type Each = for<'a> fn(&Model, &Skip<'a>) -> Vec<Found>;
    enum Task {
        Whole(Check),
        Each(Each),
    }
    const CHECKS: [(&str, Task); 11] = [
        ("validate.names", Task::Whole(names::check)),
        ("validate.ippool", Task::Whole(ippool::check)),
        ("validate.bgp", Task::Whole(bgp::check)),
        ("validate.bgp_filter", Task::Whole(bgp_filter::check)),
        ("validate.node", Task::Whole(node::check)),
        ("validate.policy", Task::Each(policy::each)),
        ("validate.policy order, sets", Task::Whole(policy::rest)),
        ("validate.shadow", Task::Each(shadow::each)),
        ("validate.endpoint", Task::Whole(endpoint::check)),
        ("validate.cross", Task::Whole(cross::check)),
        ("validate.export", Task::Whole(export::check)),
    ];
    let known = clean::Clean::read(store);
    let key_of = |kind: Kind, i: usize| -> Option<&str> {
        match kind {
            Kind::GlobalNetworkPolicy => gnp_keys.get(i),
            _ => np_keys.get(i),
        }
        .and_then(|k| k.as_deref())
    };
    let skip = |kind: Kind, i: usize| known.has(key_of(kind, i));
    let found: Vec<(Vec<Diagnostic>, Vec<Found>)> = {
        use rayon::prelude::*;
        CHECKS
            .par_iter()
            .map(|(name, task)| {
                crate::ir::timing::timed(name, || match task {
                    Task::Whole(check) => {
                        let mut found = Vec::new();
                        check(&model, &mut found);
                        (found, Vec::new())
                    }
                    Task::Each(each) => (Vec::new(), each(&model, &skip)),
                })
            })
            .collect()
    };
    // A policy with a key is clean now when no check of its own found
    // anything in it (a skipped one found nothing).
    let mut dirty = std::collections::BTreeSet::new();
    for (whole, each) in found {
        out.extend(whole);
        for (kind, i, d) in each {
            if !d.is_empty() {
                dirty.insert((kind, i));
            }
            out.extend(d);
        }
    }
    let dirty = &dirty;
    let now_clean = [
        (Kind::GlobalNetworkPolicy, &gnp_keys),
        (Kind::NetworkPolicy, &np_keys),
    ]
    .into_iter()
    .flat_map(|(kind, keys)| {
        keys.iter()
            .enumerate()
            .filter(move |(i, _)| !dirty.contains(&(kind, *i)))
            .filter_map(|(_, k)| k.clone())
    })
    .collect();
    known.write(store, now_clean);
    // Pods and NetworkPolicies become workload endpoints and Calico policies
    // after the Calico rules ran: the Kubernetes rules above checked them,
    // and the Calico ones would misname them (`knp.default.*` is reserved).
    let endpoints: Vec<_> = model
        .pods
        .iter()
        .filter(|p| !k8s::shadowed_pod(&model, p, &mut out))
        .filter_map(crate::k8s::pod_endpoint)
        .collect();
    model.workload_endpoints.extend(endpoints);
    let policies: Vec<_> = model
        .kube_network_policies
        .iter()
        .map(crate::k8s::network_policy)
        .collect();
    model.network_policies.extend(policies);
    diags.extend(out);
    diags.sort();
    if diags.has_errors() {
        (None, diags)
    } else {
        (Some(ValidModel { model }), diags)
    }
}

/// A resource's own checks, which depend on nothing else in the input:
/// its schema (coercing unquoted scalars as calicoctl reads them) and, when
/// the schema passes, W0108 (fields accepted but not compiled). Run by
/// [`validate`], or at load time for a document that is cached
/// ([`crate::load::doc_cache`]).
pub fn check_raw(raw: &mut RawResource) -> crate::load::Checked {
    let mut diags = crate::schema::coerce_and_check(raw);
    let failed = diags.iter().any(|d| d.is_error());
    if !failed {
        diags.extend(crate::fields::check(raw));
    }
    crate::load::Checked { diags, failed }
}

fn type_resource(mut raw: RawResource, model: &mut Model, diags: &mut Diagnostics) {
    let display = raw.display();
    let origin = raw.origin.clone();
    let meta: Metadata = match serde_json::from_value(
        raw.value
            .get("metadata")
            .cloned()
            .unwrap_or(serde_json::Value::Null),
    ) {
        Ok(m) => m,
        Err(e) => {
            diags.push(type_error(&origin, "/metadata", &display, e));
            return;
        }
    };
    // The spec is moved into serde, not copied (a policy's can hold
    // thousands of rules); a pod is typed whole, from `raw.value` below. A
    // spec from the document cache is typed from its text (serde reads the
    // same JSON either way).
    let spec = match (raw.kind, raw.spec_json.take()) {
        (Kind::Pod, _) => Spec::Value(serde_json::Value::Null),
        (_, Some(text)) => Spec::Text(text),
        (_, None) => Spec::Value(
            raw.value
                .get_mut("spec")
                .map(serde_json::Value::take)
                .unwrap_or(serde_json::Value::Object(Default::default())),
        ),
    };
    enum Spec {
        Value(serde_json::Value),
        Text(Box<serde_json::value::RawValue>),
    }
    fn typed<T: DeserializeOwned>(
        meta: Metadata,
        spec: Spec,
        origin: Origin,
        display: &str,
        diags: &mut Diagnostics,
    ) -> Option<Resource<T>> {
        let spec = match spec {
            Spec::Value(v) => serde_json::from_value::<T>(v),
            Spec::Text(t) => serde_json::from_str::<T>(t.get()),
        };
        match spec {
            Ok(spec) => Some(Resource { meta, spec, origin }),
            Err(e) => {
                diags.push(type_error(&origin, "/spec", display, e));
                None
            }
        }
    }
    macro_rules! push {
        ($field:ident) => {
            if let Some(r) = typed(meta, spec, origin, &display, diags) {
                model.$field.push(r)
            }
        };
    }
    match raw.kind {
        Kind::IPPool => push!(ip_pools),
        Kind::BGPConfiguration => push!(bgp_configs),
        Kind::BGPPeer => push!(bgp_peers),
        Kind::BGPFilter => push!(bgp_filters),
        Kind::Node => push!(nodes),
        Kind::NetworkPolicy => push!(network_policies),
        Kind::GlobalNetworkPolicy => push!(global_network_policies),
        Kind::GlobalNetworkSet => push!(global_network_sets),
        Kind::NetworkSet => push!(network_sets),
        Kind::HostEndpoint => push!(host_endpoints),
        Kind::WorkloadEndpoint => push!(workload_endpoints),
        Kind::FelixConfiguration => push!(felix_configs),
        Kind::Profile => push!(profiles),
        Kind::BlockAffinity => push!(block_affinities),
        Kind::IPAMBlock => push!(ipam_blocks),
        Kind::KubeControllersConfiguration => push!(kube_controllers_configs),
        Kind::ClusterInformation => push!(cluster_informations),
        Kind::Namespace => push!(namespaces),
        // A pod's status and metadata.deletionTimestamp matter too: type the
        // whole object.
        Kind::Pod => {
            if let Some(r) = typed(meta, Spec::Value(raw.value), origin, &display, diags) {
                model.pods.push(r)
            }
        }
        Kind::KubeNode => push!(kube_nodes),
        Kind::KubeNetworkPolicy => push!(kube_network_policies),
    }
}

/// Where a resource starts, for a note about the whole resource: its `kind:`
/// key, or for a List item without one, its `metadata:` key.
fn first_key_span(o: &Origin) -> crate::source::Span {
    if o.spans.get(&format!("{}/kind", o.base)).is_some() {
        o.key_span("/kind")
    } else {
        o.key_span("/metadata")
    }
}

/// The note (I0009) for a kind netc reads but does not compile: `n`
/// resources of `raw`'s kind, `raw` the first.
fn not_compiled(raw: &RawResource, n: usize) -> Diagnostic {
    let what = match raw.kind {
        Kind::FelixConfiguration => {
            "its failsafe ports and MTUs are read into the model; nothing is compiled from it yet"
        }
        Kind::BlockAffinity | Kind::IPAMBlock => {
            "it is read as the live block allocation (checked against the other sources), not compiled"
        }
        _ => "it is read and checked, not compiled into any artifact",
    };
    let kind = raw.kind.as_str();
    let mut d = Diagnostic::info(
        codes::KIND_NOT_COMPILED,
        format!("{kind} is not compiled by netc: {what}"),
    )
    .at(first_key_span(&raw.origin))
    .label(format!("first {kind} of the input"))
    .resource(raw.display());
    if n > 1 {
        d = d.note(format!(
            "this note covers all {n} {kind} resources of the input"
        ));
    }
    d
}

fn type_error(origin: &Origin, ptr: &str, display: &str, e: serde_json::Error) -> Diagnostic {
    // The schema should have caught this; if the two disagree, still say
    // something useful instead of panicking.
    Diagnostic::error(codes::SCHEMA_OTHER, format!("cannot read resource: {e}"))
        .at(origin.value_span(ptr))
        .resource(display)
}

/// Helpers shared by the rule modules.
pub(crate) struct Ctx<'a, T> {
    pub r: &'a Resource<T>,
    pub kind: Kind,
}

impl<T> Ctx<'_, T> {
    pub fn display(&self) -> String {
        format!("{} {}", self.kind.as_str(), self.r.meta.name)
    }
    /// An error at the value of `ptr` (relative to the resource).
    pub fn err(&self, code: &'static str, ptr: &str, msg: impl Into<String>) -> Diagnostic {
        Diagnostic::error(code, msg)
            .at(self.r.origin.value_span(ptr))
            .resource(self.display())
    }
    /// A warning at the value of `ptr`.
    pub fn warn(&self, code: &'static str, ptr: &str, msg: impl Into<String>) -> Diagnostic {
        Diagnostic::warning(code, msg)
            .at(self.r.origin.value_span(ptr))
            .resource(self.display())
    }
    /// An error at the key of `ptr` (for "this field must not be here").
    pub fn err_key(&self, code: &'static str, ptr: &str, msg: impl Into<String>) -> Diagnostic {
        Diagnostic::error(code, msg)
            .at(self.r.origin.key_span(ptr))
            .resource(self.display())
    }
}
