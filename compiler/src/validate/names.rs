//! Names and metadata: resource names per kind (docs/calico.md §1.1), namespaces,
//! tier names, label keys and values, and duplicate names per kind (per
//! namespace for namespaced kinds).

use super::util::{
    ctx, dns_label_problem, dns_subdomain_problem, label_key_problem, label_value_problem, seg,
};
use super::Ctx;
use crate::diag::{codes, Diagnostic};
use crate::model::{Kind, Metadata, Model, PolicySpec, Resource};
use std::collections::HashMap;

pub(super) fn check(m: &Model, out: &mut Vec<Diagnostic>) {
    each_kind(m, &mut |kind, items| {
        let mut seen: HashMap<(Option<&str>, &str), &crate::load::Origin> = HashMap::new();
        for (meta, origin) in items {
            let ns = if kind.namespaced() {
                Some(meta.namespace.as_deref().unwrap_or("default"))
            } else {
                None
            };
            match seen.get(&(ns, meta.name.as_str())) {
                Some(first) => {
                    let scope = match ns {
                        Some(ns) => format!(" in namespace `{ns}`"),
                        None => String::new(),
                    };
                    out.push(
                        Diagnostic::error(
                            codes::DUPLICATE_NAME,
                            format!(
                                "{} `{}` is defined twice{scope}",
                                kind.as_str(),
                                meta.name
                            ),
                        )
                        .at(origin.value_span("/metadata/name"))
                        .label("second definition")
                        .related(first.value_span("/metadata/name"), "first defined here")
                        .resource(format!("{} {}", kind.as_str(), meta.name))
                        .note("names are unique per kind (and per namespace for NetworkPolicy, NetworkSet, WorkloadEndpoint, Pod and Kubernetes NetworkPolicy); one definition would silently replace the other"),
                    );
                }
                None => {
                    seen.insert((ns, meta.name.as_str()), origin);
                }
            }
        }
    });

    for r in &m.ip_pools {
        common(&ctx(r, Kind::IPPool), out);
    }
    // BGPConfiguration names (`default` / `node.<name>`) are checked in bgp.rs.
    for r in &m.bgp_configs {
        labels(&ctx(r, Kind::BGPConfiguration), out);
    }
    for r in &m.bgp_peers {
        common(&ctx(r, Kind::BGPPeer), out);
    }
    for r in &m.bgp_filters {
        common(&ctx(r, Kind::BGPFilter), out);
    }
    for r in &m.nodes {
        common(&ctx(r, Kind::Node), out);
    }
    for r in &m.network_policies {
        let c = ctx(r, Kind::NetworkPolicy);
        policy_name(&c, out);
        namespace(&c, out);
        labels(&c, out);
        tier(&c, out);
    }
    for r in &m.global_network_policies {
        let c = ctx(r, Kind::GlobalNetworkPolicy);
        policy_name(&c, out);
        labels(&c, out);
        tier(&c, out);
    }
    for r in &m.global_network_sets {
        common(&ctx(r, Kind::GlobalNetworkSet), out);
    }
    for r in &m.network_sets {
        let c = ctx(r, Kind::NetworkSet);
        common(&c, out);
        namespace(&c, out);
    }
    for r in &m.host_endpoints {
        common(&ctx(r, Kind::HostEndpoint), out);
    }
    for r in &m.workload_endpoints {
        let c = ctx(r, Kind::WorkloadEndpoint);
        common(&c, out);
        namespace(&c, out);
    }
    // Kubernetes kinds (docs/k8s.md §1): a Namespace is a DNS label, the
    // others DNS subdomains, as the API server requires.
    for r in &m.namespaces {
        let c = ctx(r, Kind::Namespace);
        if let Some(why) = dns_label_problem(&r.meta.name) {
            out.push(
                c.err(
                    codes::BAD_NAME,
                    "/metadata/name",
                    format!("`{}` is not a valid Namespace name: {why}", r.meta.name),
                )
                .label("not a DNS label")
                .note("namespace names are DNS labels: lower-case letters, digits and `-`, at most 63 characters, no dots"),
            );
        }
        labels(&c, out);
    }
    for r in &m.pods {
        let c = ctx(r, Kind::Pod);
        common(&c, out);
        namespace(&c, out);
    }
    for r in &m.kube_nodes {
        common(&ctx(r, Kind::KubeNode), out);
    }
    for r in &m.kube_network_policies {
        let c = ctx(r, Kind::KubeNetworkPolicy);
        common(&c, out);
        namespace(&c, out);
    }
}

type Items<'a> = Vec<(&'a Metadata, &'a crate::load::Origin)>;

/// Call `f` with the (metadata, origin) of every resource of each kind.
fn each_kind<'a>(m: &'a Model, f: &mut dyn FnMut(Kind, Items<'a>)) {
    fn items<T>(v: &[Resource<T>]) -> Items<'_> {
        v.iter().map(|r| (&r.meta, &r.origin)).collect()
    }
    f(Kind::IPPool, items(&m.ip_pools));
    f(Kind::BGPConfiguration, items(&m.bgp_configs));
    f(Kind::BGPPeer, items(&m.bgp_peers));
    f(Kind::BGPFilter, items(&m.bgp_filters));
    f(Kind::Node, items(&m.nodes));
    f(Kind::NetworkPolicy, items(&m.network_policies));
    f(Kind::GlobalNetworkPolicy, items(&m.global_network_policies));
    f(Kind::GlobalNetworkSet, items(&m.global_network_sets));
    f(Kind::NetworkSet, items(&m.network_sets));
    f(Kind::HostEndpoint, items(&m.host_endpoints));
    f(Kind::WorkloadEndpoint, items(&m.workload_endpoints));
    f(Kind::Namespace, items(&m.namespaces));
    f(Kind::Pod, items(&m.pods));
    f(Kind::KubeNode, items(&m.kube_nodes));
    f(Kind::KubeNetworkPolicy, items(&m.kube_network_policies));
}

/// DNS-1123 subdomain name and labels.
fn common<T>(c: &Ctx<T>, out: &mut Vec<Diagnostic>) {
    let name = &c.r.meta.name;
    if let Some(why) = dns_subdomain_problem(name) {
        out.push(
            c.err(
                codes::BAD_NAME,
                "/metadata/name",
                format!("`{name}` is not a valid {} name: {why}", c.kind.as_str()),
            )
            .label("not a DNS-1123 subdomain")
            .note("names are DNS-1123 subdomains: lower-case letters, digits, `-` and `.`, starting and ending with a letter or digit, at most 253 characters"),
        );
    }
    labels(c, out);
}

/// NetworkPolicy: `label`, `label.label`, or `knp.default.`/`ossg.default.`
/// followed by a subdomain. GlobalNetworkPolicy: `label` or `label.label`.
fn policy_name(c: &Ctx<PolicySpec>, out: &mut Vec<Diagnostic>) {
    let name = &c.r.meta.name;
    let allowed = if c.kind == Kind::NetworkPolicy {
        "a DNS label (`allow-dns`), two labels joined by one dot (`platform.allow-dns`), or `knp.default.` / `ossg.default.` followed by a DNS subdomain"
    } else {
        "a DNS label (`allow-dns`) or two labels joined by one dot (`platform.allow-dns`)"
    };
    let prefixed = ["knp.default.", "ossg.default."]
        .iter()
        .find_map(|p| name.strip_prefix(p));
    let why = match prefixed {
        Some(rest) if c.kind == Kind::NetworkPolicy => dns_subdomain_problem(rest),
        _ => {
            let parts: Vec<&str> = name.split('.').collect();
            if parts.len() > 2 {
                Some(format!(
                    "it has {} dot-separated parts (at most 2)",
                    parts.len()
                ))
            } else if name.is_empty() {
                Some("it is empty".into())
            } else {
                parts.iter().find_map(|p| {
                    dns_label_problem(p).map(|w| {
                        if parts.len() > 1 {
                            format!("part `{p}`: {}", w.trim_start_matches("it "))
                        } else {
                            w
                        }
                    })
                })
            }
        }
    };
    if let Some(why) = why {
        out.push(
            c.err(
                codes::BAD_NAME,
                "/metadata/name",
                format!("`{name}` is not a valid {} name: {why}", c.kind.as_str()),
            )
            .label(format!("not a valid {} name", c.kind.as_str()))
            .note(format!(
                "a {} name is {allowed}; labels are lower-case letters, digits and `-`, at most 63 characters",
                c.kind.as_str()
            )),
        );
    }
}

/// Namespaces are DNS labels.
fn namespace<T>(c: &Ctx<T>, out: &mut Vec<Diagnostic>) {
    if let Some(ns) = &c.r.meta.namespace {
        if let Some(why) = dns_label_problem(ns) {
            out.push(
                c.err(
                    codes::BAD_NAME,
                    "/metadata/namespace",
                    format!("`{ns}` is not a valid namespace: {why}"),
                )
                .label("not a DNS label")
                .note("namespaces are DNS labels: lower-case letters, digits and `-`, at most 63 characters, no dots"),
            );
        }
    }
}

/// Tier names are single DNS labels.
fn tier(c: &Ctx<PolicySpec>, out: &mut Vec<Diagnostic>) {
    if let Some(t) = &c.r.spec.tier {
        if let Some(why) = dns_label_problem(t) {
            out.push(
                c.err(
                    codes::BAD_NAME,
                    "/spec/tier",
                    format!("`{t}` is not a valid tier name: {why}"),
                )
                .label("not a DNS label")
                .note("tier names are single DNS labels: lower-case letters, digits and `-`, at most 63 characters, no dots"),
            );
        }
    }
}

/// Label keys are qualified names, values at most 63 characters.
fn labels<T>(c: &Ctx<T>, out: &mut Vec<Diagnostic>) {
    for (k, v) in &c.r.meta.labels {
        let ptr = format!("/metadata/labels/{}", seg(k));
        if let Some(why) = label_key_problem(k) {
            out.push(
                c.err_key(
                    codes::BAD_LABEL,
                    &ptr,
                    format!("`{k}` is not a valid label key: {why}"),
                )
                .label("not a qualified name")
                .note("a label key is an optional DNS-subdomain prefix and `/`, then a name of at most 63 characters from `[A-Za-z0-9_.-]` starting and ending with a letter or digit"),
            );
        }
        if let Some(why) = label_value_problem(v) {
            out.push(
                c.err(
                    codes::BAD_LABEL,
                    &ptr,
                    format!("`{v}` is not a valid value for label `{k}`: {why}"),
                )
                .label("not a valid label value")
                .note("a label value is empty or at most 63 characters from `[A-Za-z0-9_.-]` starting and ending with a letter or digit"),
            );
        }
    }
}
