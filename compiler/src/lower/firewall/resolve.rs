//! What selectors mean in addresses: every endpoint and network set of the
//! cluster with the labels Calico evaluates selectors against, and the named
//! address sets lowering creates from them.
//!
//! **Namespaces** (docs/k8s.md §3). Every namespace has labels: those of its
//! Namespace object when the input has one, plus `kubernetes.io/metadata.name`
//! (synthesized when absent, as the API server adds it) and Calico's
//! `projectcalico.org/name`. A `namespaceSelector` other than `all()` /
//! `global()` selects the namespaced endpoints and network sets of the
//! namespaces whose labels it matches — what Felix does with the `pcns.`
//! labels endpoints inherit from their namespace profile `kns.<ns>`.
//! Workload endpoints also carry those inherited labels (`pcns.<key>`), so a
//! selector written against them matches too. netc gives every namespaced
//! resource its namespace's labels; Calico gives them to those carrying the
//! `kns.<ns>` profile, which is every pod and NetworkSet in Kubernetes mode.

use super::names::ident;
use crate::ir::{AddrSet, EndpointKind, Family, Name, Ref};
use crate::model::{EndpointPort, Model};
use crate::selector::Selector;
use ipnet::IpNet;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

/// Label Calico adds to namespaced endpoints and network sets.
pub(super) const LABEL_NAMESPACE: &str = "projectcalico.org/namespace";
/// Label Calico adds to workload endpoints.
pub(super) const LABEL_ORCHESTRATOR: &str = "projectcalico.org/orchestrator";
/// Label Calico adds to workload endpoints with a service account.
pub(super) const LABEL_SERVICE_ACCOUNT: &str = "projectcalico.org/serviceaccount";

/// A workload or host endpoint anywhere in the cluster.
pub(super) struct Endpoint<'a> {
    pub kind: EndpointKind,
    /// `WorkloadEndpoint <ns>/<name>` / `HostEndpoint <name>`.
    pub display: String,
    pub node: &'a str,
    /// Workloads only.
    pub namespace: Option<&'a str>,
    /// The resource's labels plus Calico's implicit ones.
    pub labels: BTreeMap<String, String>,
    /// Its namespace's labels (empty for host endpoints).
    pub ns_labels: BTreeMap<String, String>,
    /// ipNetworks / expectedIPs, parsed (unparsable entries dropped: validation reports them).
    pub addrs: Vec<IpNet>,
    pub ports: &'a [EndpointPort],
    /// Interface name; `*` for a host endpoint on all interfaces.
    pub iface: Option<&'a str>,
    /// `spec.profiles` (netc reads no Profile resources; only Calico's
    /// built-in `projectcalico-default-allow` has a meaning here).
    pub profiles: &'a [String],
}

/// A GlobalNetworkSet (namespace None) or NetworkSet.
pub(super) struct NetSet<'a> {
    pub namespace: Option<&'a str>,
    pub labels: BTreeMap<String, String>,
    pub nets: Vec<IpNet>,
}

/// Which endpoints and network sets a rule selector may pick.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Scope {
    /// GlobalNetworkPolicy rule: everything.
    Cluster,
    /// NetworkPolicy rule: workloads and network sets of one namespace.
    Namespace(String),
    /// `namespaceSelector: all()`: every namespaced workload and network set.
    AllNamespaces,
    /// `namespaceSelector: global()`: host endpoints and global network sets.
    Global,
    /// Any other `namespaceSelector`: namespaced resources of the namespaces
    /// (by name) whose labels it matches; the selector's text names the set.
    Namespaces(BTreeSet<String>, String),
}

impl Scope {
    fn admits(&self, namespace: Option<&str>) -> bool {
        match (self, namespace) {
            (Scope::Cluster, _) => true,
            (Scope::Namespace(ns), Some(n)) => ns == n,
            (Scope::Namespace(_), None) => false,
            (Scope::AllNamespaces, n) => n.is_some(),
            (Scope::Global, n) => n.is_none(),
            (Scope::Namespaces(set, _), Some(n)) => set.contains(n),
            (Scope::Namespaces(..), None) => false,
        }
    }
    fn key(&self) -> String {
        match self {
            Scope::Cluster => "cluster".into(),
            Scope::Namespace(ns) => format!("ns:{ns}"),
            Scope::AllNamespaces => "all-namespaces".into(),
            Scope::Global => "global".into(),
            Scope::Namespaces(_, text) => format!("ns-sel:{text}"),
        }
    }
}

/// Parse an address or CIDR, host bits allowed, as a network.
pub(super) fn parse_net(s: &str) -> Option<IpNet> {
    let s = s.trim();
    if let Ok(n) = s.parse::<IpNet>() {
        return Some(n.trunc());
    }
    s.parse::<IpAddr>().ok().map(IpNet::from)
}

pub(super) struct World<'a> {
    pub endpoints: Vec<Endpoint<'a>>,
    pub net_sets: Vec<NetSet<'a>>,
    /// Every namespace's labels (Namespace objects and synthesized ones).
    pub ns_labels: BTreeMap<String, BTreeMap<String, String>>,
}

impl<'a> World<'a> {
    pub fn new(m: &'a Model) -> World<'a> {
        let ns_labels = crate::k8s::all_namespace_labels(m);
        let mut endpoints = Vec::new();
        for w in &m.workload_endpoints {
            let ns = w.meta.namespace.as_deref().unwrap_or("default");
            let mut labels = w.meta.labels.clone();
            // Labels inherited from the namespace profile; the endpoint's own win.
            for (k, v) in ns_labels.get(ns).into_iter().flatten() {
                labels
                    .entry(format!("{}{k}", crate::k8s::NAMESPACE_LABEL_PREFIX))
                    .or_insert_with(|| v.clone());
            }
            labels.insert(LABEL_NAMESPACE.into(), ns.into());
            labels.insert(
                LABEL_ORCHESTRATOR.into(),
                w.spec.orchestrator.clone().unwrap_or_else(|| "k8s".into()),
            );
            if let Some(sa) = &w.spec.service_account_name {
                labels.insert(LABEL_SERVICE_ACCOUNT.into(), sa.clone());
            }
            endpoints.push(Endpoint {
                kind: EndpointKind::Workload,
                display: format!("WorkloadEndpoint {ns}/{}", w.meta.name),
                node: &w.spec.node,
                namespace: Some(ns),
                labels,
                ns_labels: ns_labels.get(ns).cloned().unwrap_or_default(),
                addrs: w
                    .spec
                    .ip_networks
                    .iter()
                    .filter_map(|a| parse_net(a))
                    .collect(),
                ports: &w.spec.ports,
                iface: Some(w.spec.interface_name.as_str()).filter(|i| !i.is_empty()),
                profiles: &w.spec.profiles,
            });
        }
        for h in &m.host_endpoints {
            endpoints.push(Endpoint {
                kind: EndpointKind::Host,
                display: format!("HostEndpoint {}", h.meta.name),
                node: &h.spec.node,
                namespace: None,
                labels: h.meta.labels.clone(),
                ns_labels: BTreeMap::new(),
                addrs: h
                    .spec
                    .expected_ips
                    .iter()
                    .filter_map(|a| parse_net(a))
                    .collect(),
                ports: &h.spec.ports,
                iface: h.spec.interface_name.as_deref().filter(|i| !i.is_empty()),
                profiles: &h.spec.profiles,
            });
        }
        let mut net_sets = Vec::new();
        for s in &m.global_network_sets {
            net_sets.push(NetSet {
                namespace: None,
                labels: s.meta.labels.clone(),
                nets: s.spec.nets.iter().filter_map(|n| parse_net(n)).collect(),
            });
        }
        for s in &m.network_sets {
            let ns = s.meta.namespace.as_deref().unwrap_or("default");
            let mut labels = s.meta.labels.clone();
            labels.insert(LABEL_NAMESPACE.into(), ns.into());
            net_sets.push(NetSet {
                namespace: Some(ns),
                labels,
                nets: s.spec.nets.iter().filter_map(|n| parse_net(n)).collect(),
            });
        }
        World {
            endpoints,
            net_sets,
            ns_labels,
        }
    }

    /// The scope of a namespaceSelector: the namespaces whose labels match.
    pub fn namespaces_matching(&self, sel: &Selector) -> Scope {
        let set = self
            .ns_labels
            .iter()
            .filter(|(_, labels)| sel.matches(labels))
            .map(|(n, _)| n.clone())
            .collect();
        Scope::Namespaces(set, sel.to_string())
    }

    /// Endpoints in `scope` the selector matches.
    pub fn select_endpoints(&self, sel: &Selector, scope: &Scope) -> Vec<&Endpoint<'a>> {
        self.endpoints
            .iter()
            .filter(|e| scope.admits(e.namespace) && sel.matches(&e.labels))
            .collect()
    }

    /// Addresses of endpoints and nets of network sets in `scope` the selector matches.
    pub fn select_addrs(&self, sel: &Selector, scope: &Scope) -> Vec<IpNet> {
        let mut out: Vec<IpNet> = self
            .select_endpoints(sel, scope)
            .into_iter()
            .flat_map(|e| e.addrs.iter().copied())
            .collect();
        for s in &self.net_sets {
            if scope.admits(s.namespace) && sel.matches(&s.labels) {
                out.extend(s.nets.iter().copied());
            }
        }
        out
    }
}

/// The address sets one node's firewall references, by name. A hash map
/// (sorted once, in [`Sets::into_vec`]): a node can reference 100,000 sets,
/// and an ordered map compared names all the way down on every insert.
#[derive(Default)]
pub(super) struct Sets {
    sets: foldhash::HashMap<Name, AddrSet>,
}

/// A rule side's networks of one family: the one network they come to, or
/// a set of them (none, or several).
pub(super) enum Nets {
    One(IpNet),
    Set(Ref<AddrSet>),
}

impl Sets {
    /// `nets` restricted to `family`: one network as it is (see
    /// `netc_ir::firewall`'s notes on `in_net`), else a set named by
    /// content.
    pub fn nets(
        &mut self,
        nets: &[IpNet],
        family: Family,
        comment: impl FnOnce() -> String,
    ) -> Nets {
        use std::fmt::Write;
        let elements = aggregate(nets, family);
        if let [one] = elements[..] {
            return Nets::One(one);
        }
        let mut key = format!("nets|{family:?}|");
        for (i, n) in elements.iter().enumerate() {
            let _ = write!(key, "{}{n}", if i == 0 { "" } else { "," });
        }
        let prefix = fam_prefix("n", family);
        let name = ident(&prefix, "", &key);
        Nets::Set(self.insert(name, family, elements, comment()))
    }

    /// The addresses `sel` picks in `scope` (one set per selector, scope and family).
    pub fn selector(
        &mut self,
        world: &World,
        sel: &Selector,
        scope: &Scope,
        family: Family,
    ) -> Ref<AddrSet> {
        let text = sel.to_string();
        let key = format!("sel|{family:?}|{}|{text}", scope.key());
        let name = ident(&fam_prefix("s", family), &text, &key);
        if self.sets.contains_key(&name) {
            return Ref::new(name);
        }
        let elements = aggregate(&world.select_addrs(sel, scope), family);
        let comment = match scope {
            Scope::Cluster => format!("selector {text}"),
            Scope::Namespace(ns) => format!("selector {text} in namespace {ns}"),
            Scope::AllNamespaces => format!("selector {text} in all namespaces"),
            Scope::Global => format!("selector {text} among global resources"),
            Scope::Namespaces(_, ns) => format!("selector {text} in namespaces {ns}"),
        };
        self.insert(name, family, elements, comment)
    }

    /// Addresses of endpoints whose named port resolves to one (protocol, port).
    pub fn named_port(
        &mut self,
        key: &str,
        readable: &str,
        addrs: &[IpNet],
        family: Family,
        comment: String,
    ) -> Ref<AddrSet> {
        let name = ident(
            &fam_prefix("p", family),
            readable,
            &format!("np|{family:?}|{key}"),
        );
        let elements = aggregate(addrs, family);
        self.insert(name, family, elements, comment)
    }

    /// A set with a fixed name (NAT pools).
    pub fn fixed(
        &mut self,
        name: &str,
        nets: &[IpNet],
        family: Family,
        comment: String,
    ) -> Ref<AddrSet> {
        let elements = aggregate(nets, family);
        self.insert(super::names::fixed(name), family, elements, comment)
    }

    fn insert(
        &mut self,
        name: Name,
        family: Family,
        elements: Vec<IpNet>,
        comment: String,
    ) -> Ref<AddrSet> {
        self.sets.entry(name.clone()).or_insert(AddrSet {
            name: name.clone(),
            family,
            elements,
            comment,
        });
        Ref::new(name)
    }

    /// Add the sets of `other` this one lacks (a name already here keeps
    /// its set, as [`Sets::insert`] does).
    pub fn absorb(&mut self, other: Sets) {
        if self.sets.is_empty() {
            self.sets = other.sets;
            return;
        }
        self.sets.reserve(other.sets.len());
        for (name, set) in other.sets {
            self.sets.entry(name).or_insert(set);
        }
    }

    pub fn into_vec(self) -> Vec<AddrSet> {
        use rayon::prelude::*;
        let mut v: Vec<AddrSet> = self.sets.into_values().collect();
        v.par_sort_unstable_by(|a, b| a.name.cmp(&b.name));
        v
    }
}

fn fam_prefix(p: &str, f: Family) -> String {
    match f {
        Family::V4 => format!("{p}4"),
        Family::V6 => format!("{p}6"),
    }
}

/// Networks of one family, sorted, with overlaps and adjacent networks merged.
pub(super) fn aggregate(nets: &[IpNet], family: Family) -> Vec<IpNet> {
    // One network (most rules' `nets`): nothing to merge.
    if let [n] = nets {
        return if Family::of(n) == family {
            vec![n.trunc()]
        } else {
            Vec::new()
        };
    }
    let v: Vec<IpNet> = nets
        .iter()
        .filter(|n| Family::of(n) == family)
        .map(|n| n.trunc())
        .collect();
    let mut out = IpNet::aggregate(&v);
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregates_per_family() {
        let nets: Vec<IpNet> = [
            "10.0.0.0/25",
            "10.0.0.128/25",
            "10.0.0.5/32",
            "2001:db8::1/128",
        ]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
        assert_eq!(
            aggregate(&nets, Family::V4),
            vec!["10.0.0.0/24".parse::<IpNet>().unwrap()]
        );
        assert_eq!(aggregate(&nets, Family::V6).len(), 1);
    }

    #[test]
    fn scopes() {
        assert!(Scope::Cluster.admits(None));
        assert!(Scope::Namespace("a".into()).admits(Some("a")));
        assert!(!Scope::Namespace("a".into()).admits(Some("b")));
        assert!(!Scope::Namespace("a".into()).admits(None));
        assert!(Scope::Global.admits(None));
        assert!(!Scope::Global.admits(Some("a")));
        assert!(!Scope::AllNamespaces.admits(None));
    }
}
