//! Policies, endpoints, failsafes and NAT → the firewall IR ([`Firewall`]).
//!
//! Calico semantics (docs/calico.md §1.7, §4.1, §7), with these netc decisions:
//!
//! **Which policies apply.** GlobalNetworkPolicies and NetworkPolicies. A
//! policy applies to an endpoint on this node when its `selector` matches the
//! endpoint's labels and its `types` include the direction (ingress = traffic
//! to the endpoint, egress = from it). Workload endpoints carry Calico's
//! implicit labels `projectcalico.org/namespace`,
//! `projectcalico.org/orchestrator` (default `k8s`) and, with a service
//! account, `projectcalico.org/serviceaccount`. A NetworkPolicy selects only
//! workloads of its own namespace; host endpoints are not namespaced, so only
//! GlobalNetworkPolicies select them. preDNAT and doNotTrack policies apply
//! to host endpoints only. A GlobalNetworkPolicy's `namespaceSelector`
//! restricts it to workloads of the namespaces whose labels match
//! (docs/k8s.md §3; `all()`: every workload). A `serviceAccountSelector`
//! other than `all()` cannot be resolved without Kubernetes: netc then
//! applies the policy to whatever its `selector` matches but keeps only its
//! Deny rules (fail closed: it can only deny).
//!
//! **Order.** Tiers run in name order, except `default`, which runs last
//! (netc has no Tier kind to give tiers an order). Within a tier, policies
//! run by `order` (unset = after every ordered one), then name, then
//! namespace (GlobalNetworkPolicies, with no namespace, first).
//!
//! **Actions.** Allow accepts, Deny drops, Log logs and continues, Pass
//! skips the rest of the tier. A tier with at least one applicable policy
//! drops what none of them allowed, denied or passed. Only tiers with an
//! applicable policy run.
//!
//! **Defaults** ([`EndpointChain::default`]): when no policy decided (no
//! applicable policy at all, or a Pass out of the last tier), a workload
//! endpoint allows (Calico's Kubernetes namespace profile allows; netc has no
//! Profile kind). A host endpoint fails closed as Felix does
//! (docs/calico.md §4.1, "Host endpoints"): its input (ingress) and output
//! (egress) chains always exist, whether or not any policy applies in that
//! direction, and end with "drop if no profiles matched" after the
//! failsafe ports — so a Pass out of the last tier drops, and a host
//! endpoint with ingress policy only still drops new outbound connections
//! other than to the failsafe outbound ports. The one profile netc knows is
//! Calico's built-in `projectcalico-default-allow` (what auto host endpoints
//! carry): a host endpoint listing it allows instead. Forward chains exist
//! only with applyOnForward policies; a Pass out of their last tier returns
//! "no decision", as in Felix (no profiles on forward). preDNAT and
//! doNotTrack chains never drop at the end of a tier and return when
//! undecided, so normal policy still applies.
//!
//! **Hooks.** Workload ingress runs on forward (by output interface) and
//! output; workload egress on forward (by input interface) and input. Host
//! endpoint ingress runs on input, egress on output; applyOnForward policies
//! also on forward; preDNAT policies on mangle prerouting (ingress only);
//! doNotTrack policies on raw prerouting / raw output, where Allow also
//! disables connection tracking. A forwarded packet must be allowed by both
//! its input-side endpoint (workload egress or host endpoint forward
//! ingress) and its output-side endpoint ([`OnAllow::Then`]). A host
//! endpoint with `interfaceName: *` covers every interface that is not a
//! workload's, not another host endpoint's and not `lo`. A host endpoint
//! without interfaceName has no chains (its expectedIPs still feed
//! selectors). Two endpoints on one interface: workloads first, then by
//! name; the later ones get no chains.
//!
//! **IPv6 neighbour discovery** ([`ICMPV6_NDP`]) is accepted on every hook
//! but forward before any policy.
//!
//! **Failsafes**, first in every host endpoint chain except forward: inbound
//! ports (destination port, ingress) default to Felix's list plus the BGP
//! listen port; the Node annotation `netc.dev/failsafe-inbound`
//! (`tcp:22,udp:68`) replaces the list (an empty value: none). Outbound
//! ports are Felix's default list plus the listen port. In the raw table,
//! where there is no connection tracking, the failsafe chains also accept
//! the replies (source port) of failsafe connections.
//!
//! **Selectors in rules** are resolved now into named address sets: the
//! addresses of matching workload endpoints (ipNetworks) and host endpoints
//! (expectedIPs) anywhere in the cluster, and the nets of matching network
//! sets. A GlobalNetworkPolicy rule sees everything; a NetworkPolicy rule
//! sees workloads and NetworkSets of its namespace; `namespaceSelector:
//! all()` means every namespaced workload and NetworkSet, `global()` host
//! endpoints and GlobalNetworkSets, any other namespaceSelector the
//! workloads and NetworkSets of the namespaces whose labels it matches
//! (docs/k8s.md §3). A namespaceSelector without a selector selects
//! everything in its scope. See [`rules::lower_rule`] for the rest.
//!
//! **NAT.** Per family, masquerade in nat postrouting when the source is in
//! a natOutgoing pool (disabled pools included: their workloads still
//! exist) and the destination is in no pool.

mod names;
mod resolve;
mod rules;

use super::{Cluster, NodeFacts};
use crate::ir::*;
use crate::model::*;
use crate::selector::Selector;
use names::ident;
use resolve::{Endpoint, Scope, Sets, World};
use rules::RuleCx;
use std::collections::{BTreeMap, BTreeSet};

/// Felix's `FailsafeInboundHostPorts` default (docs/calico.md §4.3).
pub const DEFAULT_FAILSAFE_INBOUND: &[(Protocol, u16)] = &[
    (Protocol::Tcp, 22),
    (Protocol::Udp, 68),
    (Protocol::Tcp, 179),
    (Protocol::Tcp, 2379),
    (Protocol::Tcp, 2380),
    (Protocol::Tcp, 5473),
    (Protocol::Tcp, 6443),
    (Protocol::Tcp, 6666),
    (Protocol::Tcp, 6667),
];

/// Felix's `FailsafeOutboundHostPorts` default.
pub const DEFAULT_FAILSAFE_OUTBOUND: &[(Protocol, u16)] = &[
    (Protocol::Udp, 53),
    (Protocol::Udp, 67),
    (Protocol::Tcp, 179),
    (Protocol::Tcp, 2379),
    (Protocol::Tcp, 2380),
    (Protocol::Tcp, 5473),
    (Protocol::Tcp, 6443),
    (Protocol::Tcp, 6666),
    (Protocol::Tcp, 6667),
];

/// Calico's built-in profile that allows everything (auto host endpoints
/// carry it; docs/calico.md §4.1, "Host endpoints").
pub const DEFAULT_ALLOW_PROFILE: &str = "projectcalico-default-allow";

/// ICMPv6 types every hook but forward accepts before any policy, as Felix
/// does: MLD query/report/done (130-132), router solicitation (133),
/// neighbour solicitation and advertisement (135, 136). Without them a
/// default-deny policy would break IPv6 neighbour discovery.
pub const ICMPV6_NDP: &[u8] = &[130, 131, 132, 133, 135, 136];

/// How a policy is enforced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    Normal,
    PreDnat,
    Untracked,
}

/// A policy as lowering sees it.
struct Policy<'a> {
    /// `GlobalNetworkPolicy <name>` / `NetworkPolicy <ns>/<name>`.
    display: String,
    name: &'a str,
    namespace: Option<&'a str>,
    spec: &'a PolicySpec,
    /// None when unparsable (validation reports it): applies to nothing.
    selector: Option<Selector>,
    /// A policy-level selector netc cannot resolve: keep only Deny rules.
    fail_closed: bool,
    /// A GlobalNetworkPolicy's `namespaceSelector`: it then selects only
    /// workloads of matching namespaces (None when unparsable: nothing).
    ns_selector: Option<Option<Selector>>,
    class: Class,
    /// `spec.effective_types()`.
    types: Vec<PolicyType>,
}

impl Policy<'_> {
    fn selects(&self, e: &Endpoint) -> bool {
        let Some(sel) = &self.selector else {
            return false;
        };
        match &self.ns_selector {
            None => {}
            Some(None) => return false,
            Some(Some(ns_sel)) if e.namespace.is_none() || !ns_sel.matches(&e.ns_labels) => {
                return false
            }
            Some(Some(_)) => {}
        }
        match self.namespace {
            Some(ns) => {
                e.kind == EndpointKind::Workload
                    && e.namespace == Some(ns)
                    && sel.matches(&e.labels)
            }
            None => sel.matches(&e.labels),
        }
    }
    /// Scope of the policy's rule selectors without a namespaceSelector.
    fn rule_scope(&self) -> Scope {
        match self.namespace {
            Some(ns) => Scope::Namespace(ns.to_string()),
            None => Scope::Cluster,
        }
    }
}

fn collect_policies(m: &Model) -> Vec<Policy<'_>> {
    let mut out = Vec::new();
    let unresolvable = |s: &Option<String>| match s {
        None => false,
        Some(t) => !Selector::parse(t).is_ok_and(|s| s.is_all()),
    };
    for (r, namespaced) in m
        .global_network_policies
        .iter()
        .map(|r| (r, false))
        .chain(m.network_policies.iter().map(|r| (r, true)))
    {
        let namespace = namespaced.then(|| r.meta.namespace.as_deref().unwrap_or("default"));
        let s = &r.spec;
        let class = if s.pre_dnat {
            Class::PreDnat
        } else if s.do_not_track {
            Class::Untracked
        } else {
            Class::Normal
        };
        out.push(Policy {
            display: match namespace {
                Some(ns) => format!("NetworkPolicy {ns}/{}", r.meta.name),
                None => format!("GlobalNetworkPolicy {}", r.meta.name),
            },
            name: &r.meta.name,
            namespace,
            spec: s,
            selector: Selector::parse(s.selector.as_deref().unwrap_or("")).ok(),
            fail_closed: unresolvable(&s.service_account_selector),
            ns_selector: s
                .namespace_selector
                .as_deref()
                .map(|t| Selector::parse(t).ok()),
            class,
            types: s.effective_types(),
        });
    }
    out.sort_by(|a, b| {
        let ta = a.spec.tier();
        let tb = b.spec.tier();
        (ta == "default", ta)
            .cmp(&(tb == "default", tb))
            .then_with(|| {
                let oa = a.spec.order.unwrap_or(f64::INFINITY);
                let ob = b.spec.order.unwrap_or(f64::INFINITY);
                oa.total_cmp(&ob)
            })
            .then_with(|| a.name.cmp(b.name))
            .then_with(|| a.namespace.cmp(&b.namespace))
    });
    out
}

/// Which endpoint chain: endpoint kind × direction × hook stage.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Slot {
    /// Workload ingress (forward oif stage and output).
    WepIn,
    /// Workload egress on input.
    WepOut,
    /// Workload egress on forward (iif stage).
    WepOutFwd,
    HepIn,
    HepOut,
    HepFwdIn,
    HepFwdOut,
    HepPreDnat,
    HepRawIn,
    HepRawOut,
}

impl Slot {
    fn prefix(self) -> &'static str {
        match self {
            Slot::WepIn => "wi",
            Slot::WepOut => "wo",
            Slot::WepOutFwd => "wof",
            Slot::HepIn => "hi",
            Slot::HepOut => "ho",
            Slot::HepFwdIn => "hfi",
            Slot::HepFwdOut => "hfo",
            Slot::HepPreDnat => "hpi",
            Slot::HepRawIn => "hri",
            Slot::HepRawOut => "hro",
        }
    }
    fn direction(self) -> Direction {
        match self {
            Slot::WepIn | Slot::HepIn | Slot::HepFwdIn | Slot::HepPreDnat | Slot::HepRawIn => {
                Direction::Ingress
            }
            _ => Direction::Egress,
        }
    }
    fn class(self) -> Class {
        match self {
            Slot::HepPreDnat => Class::PreDnat,
            Slot::HepRawIn | Slot::HepRawOut => Class::Untracked,
            _ => Class::Normal,
        }
    }
    fn forward_only(self) -> bool {
        matches!(self, Slot::HepFwdIn | Slot::HepFwdOut)
    }
    fn hooks(self) -> Vec<Hook> {
        match self {
            Slot::WepIn => vec![Hook::Forward, Hook::Output],
            Slot::WepOut | Slot::HepIn => vec![Hook::Input],
            Slot::WepOutFwd | Slot::HepFwdIn | Slot::HepFwdOut => vec![Hook::Forward],
            Slot::HepOut => vec![Hook::Output],
            Slot::HepPreDnat => vec![Hook::PreDnat],
            Slot::HepRawIn => vec![Hook::RawPrerouting],
            Slot::HepRawOut => vec![Hook::RawOutput],
        }
    }
    fn failsafe(self) -> Option<&'static str> {
        match self {
            Slot::HepIn | Slot::HepPreDnat => Some(FS_IN),
            Slot::HepOut => Some(FS_OUT),
            Slot::HepRawIn => Some(FS_RAW_IN),
            Slot::HepRawOut => Some(FS_RAW_OUT),
            _ => None,
        }
    }
}

const FS_IN: &str = "fs-in";
const FS_OUT: &str = "fs-out";
const FS_RAW_IN: &str = "fs-raw-in";
const FS_RAW_OUT: &str = "fs-raw-out";

const D_RAW_PRE: &str = "d-raw-pre";
const D_RAW_OUT: &str = "d-raw-out";
const D_PREDNAT: &str = "d-prednat";
const D_INPUT: &str = "d-input";
const D_FWD_IN: &str = "d-fwd-in";
const D_FWD_OUT: &str = "d-fwd-out";
const D_OUTPUT: &str = "d-output";
const K_FWD_OUT: &str = "k-fwd-out";

/// The rules of one policy in one direction, sets added to `sets`.
fn lower_policy(world: &World, pol: &Policy, dir: Direction, sets: &mut Sets) -> Vec<FwRule> {
    let list = match dir {
        Direction::Ingress => &pol.spec.ingress,
        Direction::Egress => &pol.spec.egress,
    };
    let mut cx = RuleCx { world, sets };
    let mut out = Vec::with_capacity(list.len());
    for (i, r) in list.iter().enumerate() {
        if pol.fail_closed && r.action != Action::Deny {
            continue;
        }
        out.extend(rules::lower_rule(&mut cx, pol, dir, i, r));
    }
    out
}

struct Builder<'w, 'a> {
    world: &'w World<'a>,
    policies: &'w [Policy<'a>],
    sets: Sets,
    /// The first chain built for each (policy index, direction): another
    /// chain of the same rules (a different [`OnAllow`]) copies its rules
    /// from there rather than lowering them again.
    rules: BTreeMap<(usize, Direction), Name>,
    /// Rules lowered ahead, on all cores, by [`Builder::lower_ahead`]; taken
    /// by the first chain of each (policy index, direction).
    lowered: std::collections::HashMap<(usize, Direction), Vec<FwRule>>,
    policy_chains: BTreeMap<Name, PolicyChain>,
    tier_chains: BTreeMap<Name, TierChain>,
    endpoint_chains: BTreeMap<Name, EndpointChain>,
}

impl Builder<'_, '_> {
    fn policy_chain(&mut self, pi: usize, dir: Direction, on_allow: &OnAllow) -> Ref<PolicyChain> {
        let pol = &self.policies[pi];
        let (prefix, dword) = match dir {
            Direction::Ingress => ("pi", "ingress"),
            Direction::Egress => ("po", "egress"),
        };
        let name = ident(
            prefix,
            pol.name,
            &format!("{}|{dword}|{on_allow:?}", pol.display),
        );
        if self.policy_chains.contains_key(&name) {
            return Ref::new(name);
        }
        let rules = match self.rules.get(&(pi, dir)) {
            Some(first) => self.policy_chains[first].rules.clone(),
            None => {
                let out = match self.lowered.remove(&(pi, dir)) {
                    Some(out) => out,
                    None => lower_policy(self.world, pol, dir, &mut self.sets),
                };
                self.rules.insert((pi, dir), name.clone());
                out
            }
        };
        let chain = PolicyChain {
            name: name.clone(),
            policy: pol.display.clone(),
            direction: dir,
            on_allow: on_allow.clone(),
            log_prefix: names::log_prefix(pol.name),
            rules,
        };
        self.policy_chains.insert(name.clone(), chain);
        Ref::new(name)
    }

    /// Lower the rules of the policies `pis` not lowered yet, on all cores
    /// (a node's lowering is otherwise one thread: 10,000 rules took 35 ms).
    /// Each policy gathers its sets apart; they join the node's in `pis`
    /// order, which is the order [`Builder::policy_chain`] would have added
    /// them in — a set named by content keeps the first comment it got.
    fn lower_ahead(&mut self, pis: &[usize], dir: Direction) {
        use rayon::prelude::*;
        let todo: Vec<usize> = pis
            .iter()
            .copied()
            .filter(|pi| {
                !self.rules.contains_key(&(*pi, dir)) && !self.lowered.contains_key(&(*pi, dir))
            })
            .collect();
        if todo.len() < 2 {
            return;
        }
        let (world, policies) = (self.world, self.policies);
        // A few policies per core at a time: each one's sets live twice
        // (its own, then the node's) until joined.
        for run in todo.chunks(2 * rayon::current_num_threads()) {
            let done: Vec<(usize, Vec<FwRule>, Sets)> = run
                .par_iter()
                .map(|&pi| {
                    let mut sets = Sets::default();
                    let rules = lower_policy(world, &policies[pi], dir, &mut sets);
                    (pi, rules, sets)
                })
                .collect();
            for (pi, rules, sets) in done {
                self.sets.absorb(sets);
                self.lowered.insert((pi, dir), rules);
            }
        }
    }

    /// Policy indices (in evaluation order) that apply to `e` in `slot`.
    fn applicable(&self, e: &Endpoint, slot: Slot) -> Vec<usize> {
        let want = match slot.direction() {
            Direction::Ingress => PolicyType::Ingress,
            Direction::Egress => PolicyType::Egress,
        };
        self.policies
            .iter()
            .enumerate()
            .filter(|(_, p)| {
                p.class == slot.class()
                    && (!slot.forward_only() || p.spec.apply_on_forward)
                    && p.types.contains(&want)
                    && p.selects(e)
            })
            .map(|(i, _)| i)
            .collect()
    }

    /// The endpoint chain for `e` in `slot`, or None when a host endpoint
    /// has no applicable policy there and the slot has no default drop
    /// (forward, preDNAT, doNotTrack).
    fn endpoint_chain(
        &mut self,
        e: &Endpoint,
        slot: Slot,
        on_allow: OnAllow,
    ) -> Option<Ref<EndpointChain>> {
        let pols = self.applicable(e, slot);
        let workload = e.kind == EndpointKind::Workload;
        // Felix renders a host endpoint's normal input and output chains
        // whatever policy applies, ending in a drop (docs/calico.md §4.1).
        let host_normal = !workload && matches!(slot, Slot::HepIn | Slot::HepOut);
        if pols.is_empty() && !workload && !host_normal {
            return None;
        }
        let dir = slot.direction();
        self.lower_ahead(&pols, dir);
        let end_drop = slot.class() == Class::Normal;
        // Group by tier (policies are already in tier order).
        let mut groups: Vec<(&str, Vec<usize>)> = Vec::new();
        for pi in pols {
            let t = self.policies[pi].spec.tier();
            match groups.last_mut() {
                Some((tier, v)) if *tier == t => v.push(pi),
                _ => groups.push((t, vec![pi])),
            }
        }
        let mut tiers = Vec::new();
        for (tier, pis) in groups {
            let chains: Vec<Ref<PolicyChain>> = pis
                .iter()
                .map(|pi| self.policy_chain(*pi, dir, &on_allow))
                .collect();
            let prefix = match dir {
                Direction::Ingress => "ti",
                Direction::Egress => "to",
            };
            let name = ident(
                prefix,
                tier,
                &format!(
                    "{tier}|{end_drop}|{}",
                    chains.iter().map(Ref::as_str).collect::<Vec<_>>().join(",")
                ),
            );
            self.tier_chains.entry(name.clone()).or_insert(TierChain {
                name: name.clone(),
                tier: tier.to_string(),
                policies: chains,
                end_drop,
            });
            tiers.push(Ref::new(name));
        }
        let iface = e.iface.unwrap_or("");
        let readable = if iface == "*" { "any" } else { iface };
        let name = ident(
            slot.prefix(),
            readable,
            &format!("{:?}|{}|{iface}", slot, e.display),
        );
        self.endpoint_chains.insert(
            name.clone(),
            EndpointChain {
                name: name.clone(),
                endpoint: e.display.clone(),
                kind: e.kind,
                direction: dir,
                hooks: slot.hooks(),
                failsafe: slot.failsafe().map(|f| Ref::new(names::fixed(f))),
                tiers,
                on_allow,
                default: if workload {
                    Verdict::Allow
                } else if host_normal {
                    if e.profiles.iter().any(|p| p == DEFAULT_ALLOW_PROFILE) {
                        Verdict::Allow
                    } else {
                        Verdict::Drop
                    }
                } else {
                    Verdict::Return
                },
            },
        );
        Some(Ref::new(name))
    }
}

/// A dispatch stage being built.
struct Stage {
    name: &'static str,
    dir: IfaceDir,
    entries: BTreeMap<String, Option<Ref<EndpointChain>>>,
    fallback: Option<Ref<EndpointChain>>,
}

impl Stage {
    fn new(name: &'static str, dir: IfaceDir) -> Stage {
        Stage {
            name,
            dir,
            entries: BTreeMap::new(),
            fallback: None,
        }
    }
    fn add(&mut self, iface: &str, chain: Option<Ref<EndpointChain>>) {
        let Some(chain) = chain else { return };
        if iface == "*" {
            self.fallback = Some(chain);
        } else {
            self.entries.insert(iface.to_string(), Some(chain));
        }
    }
    fn exists(&self) -> bool {
        !self.entries.is_empty() || self.fallback.is_some()
    }
    /// With a fallback, every other known endpoint interface (and `lo`)
    /// returns instead of reaching it.
    fn finish(mut self, local_ifaces: &BTreeSet<&str>) -> Option<DispatchChain> {
        if !self.exists() {
            return None;
        }
        if self.fallback.is_some() {
            for i in local_ifaces.iter().copied().chain(["lo"]) {
                if i != "*" {
                    self.entries.entry(i.to_string()).or_insert(None);
                }
            }
        }
        Some(DispatchChain {
            name: names::fixed(self.name),
            dir: self.dir,
            entries: self
                .entries
                .into_iter()
                .map(|(iface, chain)| DispatchEntry { iface, chain })
                .collect(),
            fallback: self.fallback,
        })
    }
}

/// What every node's firewall lowering derives from the whole model: the
/// cluster's endpoints and network sets with their labels, and the policies
/// in evaluation order. Build it once per model ([`Shared::new`]) and pass
/// it to [`lower_with`] for each node.
pub(super) struct Shared<'a> {
    world: World<'a>,
    policies: Vec<Policy<'a>>,
}

impl<'a> Shared<'a> {
    pub(super) fn new(m: &'a Model) -> Shared<'a> {
        Shared {
            world: World::new(m),
            policies: collect_policies(m),
        }
    }
}

/// Lower one node's firewall.
pub(super) fn lower_with(shared: &Shared, c: &Cluster, n: &NodeFacts) -> Firewall {
    let world = &shared.world;
    let policies = &shared.policies;
    let mut b = Builder {
        world,
        policies,
        sets: Sets::default(),
        rules: BTreeMap::new(),
        lowered: Default::default(),
        policy_chains: BTreeMap::new(),
        tier_chains: BTreeMap::new(),
        endpoint_chains: BTreeMap::new(),
    };

    // This node's endpoints, one per interface.
    let mut local: Vec<&Endpoint> = world
        .endpoints
        .iter()
        .filter(|e| e.node == n.name)
        .filter(|e| match (e.kind, e.iface) {
            (EndpointKind::Workload, Some(i)) => IfName::is_valid(i),
            (EndpointKind::Host, Some(i)) => i == "*" || IfName::is_valid(i),
            (_, None) => false,
        })
        .collect();
    local.sort_by(|a, b| {
        (a.kind == EndpointKind::Host, &a.display).cmp(&(b.kind == EndpointKind::Host, &b.display))
    });
    let mut seen = BTreeSet::new();
    local.retain(|e| seen.insert(e.iface.unwrap_or("")));
    let local_ifaces: BTreeSet<&str> = local.iter().filter_map(|e| e.iface).collect();

    let mut raw_pre = Stage::new(D_RAW_PRE, IfaceDir::In);
    let mut raw_out = Stage::new(D_RAW_OUT, IfaceDir::Out);
    let mut prednat = Stage::new(D_PREDNAT, IfaceDir::In);
    let mut input = Stage::new(D_INPUT, IfaceDir::In);
    let mut fwd_in = Stage::new(D_FWD_IN, IfaceDir::In);
    let mut fwd_out = Stage::new(D_FWD_OUT, IfaceDir::Out);
    let mut output = Stage::new(D_OUTPUT, IfaceDir::Out);

    // Output-side stages first: whether the forward output stage exists
    // decides what Allow means in the forward input stage.
    for e in &local {
        let iface = e.iface.unwrap_or("");
        match e.kind {
            EndpointKind::Workload => {
                let ch = b.endpoint_chain(e, Slot::WepIn, OnAllow::Accept);
                fwd_out.add(iface, ch.clone());
                output.add(iface, ch);
            }
            EndpointKind::Host => {
                let ch = b.endpoint_chain(e, Slot::HepFwdOut, OnAllow::Accept);
                fwd_out.add(iface, ch);
                let ch = b.endpoint_chain(e, Slot::HepOut, OnAllow::Accept);
                output.add(iface, ch);
            }
        }
    }
    let then_fwd_out = if fwd_out.exists() {
        OnAllow::Then(Ref::new(names::fixed(K_FWD_OUT)))
    } else {
        OnAllow::Accept
    };
    for e in &local {
        let iface = e.iface.unwrap_or("");
        match e.kind {
            EndpointKind::Workload => {
                let ch = b.endpoint_chain(e, Slot::WepOut, OnAllow::Accept);
                input.add(iface, ch);
                let ch = b.endpoint_chain(e, Slot::WepOutFwd, then_fwd_out.clone());
                fwd_in.add(iface, ch);
            }
            EndpointKind::Host => {
                let ch = b.endpoint_chain(e, Slot::HepIn, OnAllow::Accept);
                input.add(iface, ch);
                let ch = b.endpoint_chain(e, Slot::HepFwdIn, then_fwd_out.clone());
                fwd_in.add(iface, ch);
                let ch = b.endpoint_chain(e, Slot::HepPreDnat, OnAllow::Accept);
                prednat.add(iface, ch);
                let ch = b.endpoint_chain(e, Slot::HepRawIn, OnAllow::AcceptUntracked);
                raw_pre.add(iface, ch);
                let ch = b.endpoint_chain(e, Slot::HepRawOut, OnAllow::AcceptUntracked);
                raw_out.add(iface, ch);
            }
        }
    }

    let untracked = raw_pre.exists() || raw_out.exists();
    let mut dispatch = Vec::new();
    let mut stage = |s: Stage| -> Option<Ref<DispatchChain>> {
        let d = s.finish(&local_ifaces)?;
        let name = Ref::new(d.name.clone());
        dispatch.push(d);
        Some(name)
    };
    let raw_pre = stage(raw_pre);
    let raw_out = stage(raw_out);
    let prednat = stage(prednat);
    let input = stage(input);
    let fwd_in = stage(fwd_in);
    let fwd_out = stage(fwd_out);
    let output = stage(output);
    dispatch.sort_by(|a, b| a.name.cmp(&b.name));

    let mut continuations = Vec::new();
    if fwd_in.is_some() {
        if let Some(fo) = &fwd_out {
            continuations.push(Continuation {
                name: names::fixed(K_FWD_OUT),
                stages: vec![fo.clone()],
            });
        }
    }

    let any_ep = !b.endpoint_chains.is_empty();
    let mut hooks = Vec::new();
    let mut hook = |hook: Hook, filter: bool, stages: Vec<Option<Ref<DispatchChain>>>| {
        let stages: Vec<Ref<DispatchChain>> = stages.into_iter().flatten().collect();
        if stages.is_empty() && !(filter && any_ep) {
            return;
        }
        hooks.push(HookChain {
            hook,
            accept_untracked: untracked && !matches!(hook, Hook::RawPrerouting | Hook::RawOutput),
            accept_icmpv6: if hook == Hook::Forward {
                Vec::new()
            } else {
                ICMPV6_NDP.to_vec()
            },
            conntrack: !matches!(hook, Hook::RawPrerouting | Hook::RawOutput),
            accept: Vec::new(),
            stages,
        });
    };
    hook(Hook::RawPrerouting, false, vec![raw_pre]);
    hook(Hook::RawOutput, false, vec![raw_out]);
    hook(Hook::PreDnat, false, vec![prednat]);
    hook(Hook::Input, true, vec![input]);
    hook(Hook::Forward, true, vec![fwd_in, fwd_out]);
    hook(Hook::Output, true, vec![output]);

    // The overlay between cluster hosts is never cut by host endpoint
    // policy: Felix accepts VXLAN (to the VXLAN port) and IPIP packets from
    // and to the cluster's hosts before any host endpoint chain
    // (docs/calico.md §4.1, "Host endpoints"). Only nodes with a host
    // endpoint chain need it: elsewhere nothing drops host traffic.
    let host_chains = b
        .endpoint_chains
        .values()
        .any(|e| e.kind == EndpointKind::Host);
    let vxlan = c.pools.iter().any(|p| !p.disabled && p.vxlan.enabled());
    let ipip = c.pools.iter().any(|p| !p.disabled && p.ipip.enabled());
    let hosts: Vec<ipnet::IpNet> = c
        .nodes
        .iter()
        .filter_map(|x| x.address)
        .map(|a| ipnet::IpNet::V4(ipnet::Ipv4Net::new(a.addr(), 32).unwrap_or_default()))
        .collect();
    if host_chains && (vxlan || ipip) && !hosts.is_empty() {
        let set = b.sets.fixed(
            "all-hosts4",
            &hosts,
            Family::V4,
            "addresses of the cluster's nodes".into(),
        );
        let rule = |outbound: bool, proto: Protocol, port: Option<u16>, what: &str| {
            let side = SideMatch {
                in_sets: vec![set.clone()],
                ..SideMatch::default()
            };
            let dst_port = SideMatch {
                ports: port.map(|p| vec![(p, p)]).unwrap_or_default(),
                ..SideMatch::default()
            };
            let (src, dst) = if outbound {
                (
                    SideMatch::default(),
                    SideMatch {
                        ports: dst_port.ports.clone(),
                        ..side
                    },
                )
            } else {
                (side, dst_port)
            };
            FwRule {
                matches: Match {
                    family: Some(Family::V4),
                    protocol: Some(proto),
                    src,
                    dst,
                    ..Match::default()
                },
                action: RuleAction::Allow,
                comment: format!(
                    "{what} packets {} cluster hosts",
                    if outbound { "to" } else { "from" }
                ),
                rule: None,
            }
        };
        for h in &mut hooks {
            let outbound = match h.hook {
                Hook::Input => false,
                Hook::Output => true,
                _ => continue,
            };
            if vxlan {
                h.accept
                    .push(rule(outbound, Protocol::Udp, Some(VXLAN_PORT), "VXLAN"));
            }
            if ipip {
                h.accept
                    .push(rule(outbound, Protocol::Number(4), None, "IPIP"));
            }
        }
    }

    // Failsafes.
    let (fs_in, fs_out) = failsafe_ports(c, n);
    let used: BTreeSet<&Name> = b
        .endpoint_chains
        .values()
        .filter_map(|e| e.failsafe.as_ref().map(Ref::name))
        .collect();
    let mut failsafes = Vec::new();
    let rules_of = |ports: &[PortRule], side: PortSide| -> Vec<FailsafeRule> {
        ports
            .iter()
            .map(|p| FailsafeRule {
                protocol: p.protocol,
                port: p.port,
                side,
            })
            .collect()
    };
    for (name, comment, rules) in [
        (
            FS_IN,
            "failsafe inbound ports",
            rules_of(&fs_in, PortSide::Dst),
        ),
        (
            FS_OUT,
            "failsafe outbound ports",
            rules_of(&fs_out, PortSide::Dst),
        ),
        (
            FS_RAW_IN,
            "failsafe inbound ports and replies to failsafe outbound connections",
            [
                rules_of(&fs_in, PortSide::Dst),
                rules_of(&fs_out, PortSide::Src),
            ]
            .concat(),
        ),
        (
            FS_RAW_OUT,
            "failsafe outbound ports and replies from failsafe inbound ports",
            [
                rules_of(&fs_out, PortSide::Dst),
                rules_of(&fs_in, PortSide::Src),
            ]
            .concat(),
        ),
    ] {
        let name = names::fixed(name);
        if used.contains(&name) {
            failsafes.push(FailsafeChain {
                name,
                comment: comment.to_string(),
                rules,
            });
        }
    }

    // NAT outgoing.
    let mut nat = Vec::new();
    for fam in [Family::V4, Family::V6] {
        let of_fam = |p: &&super::PoolFacts| Family::of(&p.cidr) == fam;
        let from: Vec<ipnet::IpNet> = c
            .pools
            .iter()
            .filter(of_fam)
            .filter(|p| p.nat_outgoing)
            .map(|p| p.cidr)
            .collect();
        if from.is_empty() {
            continue;
        }
        let all: Vec<ipnet::IpNet> = c.pools.iter().filter(of_fam).map(|p| p.cidr).collect();
        let suffix = match fam {
            Family::V4 => "4",
            Family::V6 => "6",
        };
        let from_set = b.sets.fixed(
            &format!("nat-src{suffix}"),
            &from,
            fam,
            "IP pools with natOutgoing".into(),
        );
        let not_to_set = b.sets.fixed(
            &format!("nat-pools{suffix}"),
            &all,
            fam,
            "all IP pools".into(),
        );
        nat.push(NatRule {
            family: fam,
            from_set,
            not_to_set,
            comment: "natOutgoing: masquerade pool traffic leaving the pools".into(),
        });
    }

    Firewall {
        sets: b.sets.into_vec(),
        policies: b.policy_chains.into_values().collect(),
        tiers: b.tier_chains.into_values().collect(),
        endpoint_chains: b.endpoint_chains.into_values().collect(),
        failsafes,
        dispatch,
        continuations,
        hooks,
        nat,
        failsafe_inbound: fs_in,
        failsafe_outbound: fs_out,
        set_index: Default::default(),
    }
}

/// The node's failsafe ports: (inbound, outbound), sorted, unique.
fn failsafe_ports(c: &Cluster, n: &NodeFacts) -> (Vec<PortRule>, Vec<PortRule>) {
    let listen = c.bgp.listen_port;
    let to_rules = |v: &[(Protocol, u16)]| -> Vec<PortRule> {
        v.iter()
            .map(|(protocol, port)| PortRule {
                protocol: *protocol,
                port: *port,
            })
            .collect()
    };
    let annotation = c
        .model
        .node(&n.name)
        .and_then(|node| node.meta.annotations.get(annotations::FAILSAFE_INBOUND));
    let mut inbound = match annotation {
        Some(v) => parse_failsafe(v),
        None => {
            let mut v = to_rules(DEFAULT_FAILSAFE_INBOUND);
            v.push(PortRule {
                protocol: Protocol::Tcp,
                port: listen,
            });
            v
        }
    };
    let mut outbound = to_rules(DEFAULT_FAILSAFE_OUTBOUND);
    outbound.push(PortRule {
        protocol: Protocol::Tcp,
        port: listen,
    });
    for v in [&mut inbound, &mut outbound] {
        v.sort();
        v.dedup();
    }
    (inbound, outbound)
}

/// `tcp:22,udp:68`; entries that do not parse are skipped (validation reports them).
fn parse_failsafe(v: &str) -> Vec<PortRule> {
    v.split(',')
        .filter_map(|item| {
            let (proto, port) = item.trim().split_once(':')?;
            let protocol = match proto.trim().to_ascii_lowercase().as_str() {
                "tcp" => Protocol::Tcp,
                "udp" => Protocol::Udp,
                _ => return None,
            };
            let port: u16 = port.trim().parse().ok().filter(|p| *p != 0)?;
            Some(PortRule { protocol, port })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failsafe_annotation() {
        assert_eq!(
            parse_failsafe("tcp:22, udp:68,bogus,tcp:0,sctp:5"),
            vec![
                PortRule {
                    protocol: Protocol::Tcp,
                    port: 22
                },
                PortRule {
                    protocol: Protocol::Udp,
                    port: 68
                }
            ]
        );
        assert!(parse_failsafe("").is_empty());
    }

    #[test]
    fn interface_names() {
        assert!(IfName::is_valid("eth0"));
        assert!(IfName::is_valid("bond0.100"));
        assert!(!IfName::is_valid("eth0\"; drop"));
        assert!(!IfName::is_valid("a-very-long-interface"));
        assert!(!IfName::is_valid(""));
    }
}
