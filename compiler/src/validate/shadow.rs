//! W0718: a policy rule that can never match, because an earlier rule of the
//! same policy and direction matches every packet it would and decides
//! first (Allow, Deny and Pass end the policy's rule list; Log does not).
//!
//! Conservative by construction: a warning only when the earlier rule's
//! match is provably a superset, field by field, of the later one's — same
//! or no protocol, nets that contain the later rule's, equal selectors,
//! port ranges that contain the later rule's, exclusions (notNets,
//! notPorts, notProtocol, notICMP) that the later rule repeats — and only
//! when netc enforces the earlier rule as written (no match netc cannot
//! resolve; the policy is not fail-closed). Anything not understood means
//! "not a superset". The later rule is compared as netc enforces it, which
//! is never narrower than Calico (a Deny rule ignores what netc cannot
//! resolve), so the warning holds for netc and for Calico.

use super::util::{ctx, parse_net_loose};
use crate::diag::{codes, Diagnostic};
use crate::model::{
    parse_protocol, Action, EntityRule, IcmpFields, Kind, Model, PolicySpec, PortMatch, Protocol,
    Resource, Rule,
};
use crate::selector::Selector;
use ipnet::IpNet;
use std::collections::BTreeSet;

/// Each policy's shadowed rules, on all cores, in input order (global
/// policies, then namespaced ones): the findings of every policy `skip`
/// does not pass over, by kind and index.
pub(super) fn each(m: &Model, skip: &super::Skip<'_>) -> Vec<super::Found> {
    let all = m
        .global_network_policies
        .iter()
        .enumerate()
        .map(|(i, r)| (Kind::GlobalNetworkPolicy, i, r))
        .chain(
            m.network_policies
                .iter()
                .enumerate()
                .map(|(i, r)| (Kind::NetworkPolicy, i, r)),
        )
        .filter(|(kind, i, _)| !skip(*kind, *i));
    // Quadratic in each policy's length and independent across policies:
    // on all cores.
    use rayon::prelude::*;
    let all: Vec<_> = all.collect();
    all.par_iter()
        .map(|&(kind, i, r)| {
            let mut out = Vec::new();
            if !fail_closed(&r.spec) {
                for (dir, rules) in [("ingress", &r.spec.ingress), ("egress", &r.spec.egress)] {
                    policy_rules(kind, r, dir, rules, &mut out);
                }
            }
            (kind, i, out)
        })
        .collect()
}

/// A policy-level selector netc cannot resolve keeps only Deny rules.
fn fail_closed(s: &PolicySpec) -> bool {
    let unresolvable = |s: &Option<String>| match s {
        None => false,
        Some(t) => !Selector::parse(t).is_ok_and(|s| s.is_all()),
    };
    unresolvable(&s.namespace_selector) || unresolvable(&s.service_account_selector)
}

fn policy_rules(
    kind: Kind,
    r: &Resource<PolicySpec>,
    dir: &str,
    rules: &[Rule],
    out: &mut Vec<Diagnostic>,
) {
    let norms: Vec<Option<Norm>> = rules.iter().map(Norm::new).collect();
    // Rules that can shadow, with a compact summary tested first: the pair
    // loop is quadratic in the policy's length.
    let hulls: Vec<Option<Hull>> = norms.iter().map(|n| n.as_ref().map(Hull::of)).collect();
    for (j, later) in norms.iter().enumerate() {
        let Some(later) = later else { continue };
        if later.never() {
            continue;
        }
        let lh = Hull::of(later);
        // The hulls alone first: they lie together, where each rule's
        // summary is hundreds of bytes (a cache miss per pair otherwise).
        let shadow = hulls[..j].iter().enumerate().find_map(|(i, eh)| {
            if !eh.as_ref()?.may_cover(&lh) {
                return None;
            }
            let e = norms[i].as_ref()?;
            (e.resolvable && e.terminal() && e.covers(later)).then_some((i, e))
        });
        let Some((i, e)) = shadow else { continue };
        let verb = match e.action {
            Action::Allow => "allows",
            Action::Deny => "denies",
            _ => "passes",
        };
        // At the `action` key: the rule's first line.
        out.push(
            Diagnostic::warning(
                codes::RULE_SHADOWED,
                format!("{dir} rule {j} can never match: rule {i} matches every packet it would"),
            )
            .at(r.origin.key_span(&format!("/spec/{dir}/{j}/action")))
            .resource(ctx(r, kind).display())
            .label("never matches")
            .related(
                r.origin.key_span(&format!("/spec/{dir}/{i}/action")),
                format!("this earlier rule {verb} them first"),
            )
            .note(format!(
                "rules of a policy run in order and rule {i} ends the list for every packet rule {j} matches; remove rule {j}, or move it before rule {i} if it was meant to decide first"
            )),
        );
    }
}

/// What must hold for one rule to cover another, in a few integers: the
/// span of each side's destination ports and of each side's nets (lowest
/// to highest address; IPv6 above IPv4). A covering rule's spans contain
/// the covered rule's — necessary, not sufficient: [`Norm::covers`] decides.
struct Hull {
    dst_ports: (u32, u32),
    src_nets: (u128, u128, u8),
    dst_nets: (u128, u128, u8),
}

impl Hull {
    const ALL_PORTS: (u32, u32) = (0, 65535);

    fn of(n: &Norm) -> Hull {
        Hull {
            dst_ports: Self::ports(&n.dst),
            src_nets: Self::nets(&n.src.nets),
            dst_nets: Self::nets(&n.dst.nets),
        }
    }

    /// Numeric ports only: with a named port, or none, any span.
    fn ports(s: &Side) -> (u32, u32) {
        if s.ports.is_empty() || !s.named.is_empty() {
            return Self::ALL_PORTS;
        }
        let lo = s.ports.iter().map(|r| u32::from(r.0)).min().unwrap_or(0);
        let hi = s
            .ports
            .iter()
            .map(|r| u32::from(r.1))
            .max()
            .unwrap_or(65535);
        (lo, hi)
    }

    /// (first, last, families) with families a bit set (1: IPv4, 2: IPv6);
    /// no nets: everything.
    fn nets(nets: &[IpNet]) -> (u128, u128, u8) {
        if nets.is_empty() {
            return (0, u128::MAX, 3);
        }
        let mut h = (u128::MAX, 0u128, 0u8);
        for n in nets {
            let (lo, hi, f) = match n {
                IpNet::V4(v) => (
                    u128::from(u32::from(v.network())),
                    u128::from(u32::from(v.broadcast())),
                    1,
                ),
                IpNet::V6(v) => (u128::from(v.network()), u128::from(v.broadcast()), 2),
            };
            h = (h.0.min(lo), h.1.max(hi), h.2 | f);
        }
        // One span for both families would mix address spaces: give up.
        if h.2 == 3 {
            return (0, u128::MAX, 3);
        }
        h
    }

    fn may_cover(&self, b: &Hull) -> bool {
        let within = |e: (u128, u128, u8), l: (u128, u128, u8)| {
            e.2 == 3 || (e.2 == l.2 && e.0 <= l.0 && l.1 <= e.1)
        };
        // A side without numeric ports spans them all: it can be covered
        // only by a side spanning them all too (its own `covers` decides).
        self.dst_ports.0 <= b.dst_ports.0
            && b.dst_ports.1 <= self.dst_ports.1
            && within(self.src_nets, b.src_nets)
            && within(self.dst_nets, b.dst_nets)
    }
}

/// One side of a rule, normalised.
#[derive(Default)]
struct Side {
    nets: Vec<IpNet>,
    not_nets: Vec<IpNet>,
    selector: Option<String>,
    not_selector: Option<String>,
    namespace_selector: Option<String>,
    ports: Vec<(u16, u16)>,
    named: BTreeSet<String>,
    not_ports: Vec<(u16, u16)>,
    not_named: BTreeSet<String>,
    /// The rule is a Deny: netc ignores its named notPorts, so as the later
    /// rule it matches more than written (as the earlier rule, Calico's
    /// narrower reading is the safe one).
    deny: bool,
}

/// A rule's match, normalised; None when some part does not parse.
struct Norm {
    action: Action,
    /// Families the rule can match: (IPv4, IPv6).
    fams: (bool, bool),
    protocol: Option<Protocol>,
    not_protocol: Option<Protocol>,
    icmp: Option<(i64, Option<i64>)>,
    not_icmp: Option<(i64, Option<i64>)>,
    src: Side,
    dst: Side,
    /// netc enforces the whole match (no services, service accounts, http,
    /// or namespaceSelector other than all()/global()).
    resolvable: bool,
}

fn canonical(s: &Option<String>) -> Option<Option<String>> {
    match s {
        None => Some(None),
        Some(t) => Selector::parse(t).ok().map(|s| Some(s.to_string())),
    }
}

fn icmp(f: &Option<Box<IcmpFields>>) -> Option<(i64, Option<i64>)> {
    f.as_ref().and_then(|f| f.icmp_type.map(|t| (t, f.code)))
}

impl Side {
    fn new(e: &EntityRule, deny: bool) -> Option<(Side, bool)> {
        let nets = |l: &[String]| -> Option<Vec<IpNet>> {
            l.iter()
                .map(|s| parse_net_loose(s).ok().map(|n| n.trunc()))
                .collect()
        };
        let mut s = Side {
            nets: nets(&e.nets)?,
            not_nets: nets(&e.not_nets)?,
            selector: canonical(&e.selector)?,
            not_selector: canonical(&e.not_selector)?,
            namespace_selector: canonical(&e.namespace_selector)?,
            ..Side::default()
        };
        for (list, ranges, named) in [
            (&e.ports, &mut s.ports, &mut s.named),
            (&e.not_ports, &mut s.not_ports, &mut s.not_named),
        ] {
            for v in list {
                match PortMatch::parse(v).ok()? {
                    PortMatch::Range(lo, hi) => ranges.push((lo, hi)),
                    PortMatch::Named(n) => {
                        named.insert(n);
                    }
                }
            }
        }
        s.ports.sort_unstable();
        s.not_ports.sort_unstable();
        s.deny = deny;
        let resolvable = e.services.is_none()
            && e.service_accounts.is_none()
            && s.namespace_selector
                .as_deref()
                .is_none_or(|n| Selector::parse(n).is_ok_and(|x| x.is_all() || x.is_only_global()));
        Some((s, resolvable))
    }

    /// Does this side (of the earlier rule) match every address and port
    /// `b` (of the later rule) matches?
    ///
    /// Called for every pair of rules in a policy (quadratic in its length,
    /// up to 1,024 rules): the cheap tests come first and each returns as
    /// soon as it fails.
    fn covers(&self, b: &Side) -> bool {
        if self.namespace_selector != b.namespace_selector
            || (self.selector.is_some() && self.selector != b.selector)
            || (self.not_selector.is_some() && self.not_selector != b.not_selector)
        {
            return false;
        }
        // A named port resolves against the side's selector (else the
        // policy's or the scope's endpoints): equal names mean equal ports
        // only with the same selector.
        let same_resolution = self.selector == b.selector;
        let ports = (self.ports.is_empty() && self.named.is_empty())
            || ((!b.ports.is_empty() || !b.named.is_empty())
                && b.ports.iter().all(|r| contained(*r, &self.ports))
                && b.named.is_subset(&self.named)
                && (b.named.is_empty() || same_resolution));
        if !ports {
            return false;
        }
        let empty = BTreeSet::new();
        let b_not_named = if b.deny { &empty } else { &b.not_named };
        let not_ports = self.not_named.is_subset(b_not_named)
            && (self.not_named.is_empty() || same_resolution)
            && self.not_ports.iter().all(|x| {
                contained(*x, &b.not_ports)
                    || (!b.ports.is_empty()
                        && b.named.is_empty()
                        && b.ports.iter().all(|r| r.1 < x.0 || r.0 > x.1))
            });
        if !not_ports {
            return false;
        }
        let within = |n: &IpNet, l: &[IpNet]| l.iter().any(|m| m.contains(n));
        let disjoint =
            |x: &IpNet, y: &IpNet| !(x.contains(&y.network()) || y.contains(&x.network()));
        let nets = self.nets.is_empty()
            || (!b.nets.is_empty() && b.nets.iter().all(|n| within(n, &self.nets)));
        nets && self.not_nets.iter().all(|x| {
            within(x, &b.not_nets) || (!b.nets.is_empty() && b.nets.iter().all(|n| disjoint(n, x)))
        })
    }
}

/// Is range `r` inside the union of `l` (sorted: [`Side::new`] sorts)?
fn contained(r: (u16, u16), l: &[(u16, u16)]) -> bool {
    let mut reach = u32::from(r.0); // first port not yet covered
    for &(lo, hi) in l {
        if u32::from(lo) <= reach && u32::from(hi) >= reach {
            reach = u32::from(hi) + 1;
        }
        if reach > u32::from(r.1) {
            return true;
        }
    }
    false
}

impl Norm {
    fn new(r: &Rule) -> Option<Norm> {
        let deny = r.action == Action::Deny;
        let proto = |v: &Option<crate::model::NumOrStr>| -> Option<Option<Protocol>> {
            match v {
                None => Some(None),
                Some(v) => parse_protocol(v).ok().map(Some),
            }
        };
        let protocol = proto(&r.protocol)?;
        let not_protocol = proto(&r.not_protocol)?;
        let (src, src_ok) = Side::new(&r.source, deny)?;
        let (dst, dst_ok) = Side::new(&r.destination, deny)?;
        let mut v4 = r.ip_version.is_none_or(|v| v == 4);
        let mut v6 = r.ip_version.is_none_or(|v| v == 6);
        match protocol {
            Some(Protocol::Icmp) => v6 = false,
            Some(Protocol::IcmpV6) => v4 = false,
            _ => {}
        }
        for l in [&src.nets, &src.not_nets, &dst.nets, &dst.not_nets] {
            if !l.is_empty() {
                v4 &= l.iter().any(|n| matches!(n, IpNet::V4(_)));
                v6 &= l.iter().any(|n| matches!(n, IpNet::V6(_)));
            }
        }
        // A rule netc drops as contradictory matches nothing: it shadows
        // nothing, and is not worth a second warning.
        let numeric = !(src.ports.is_empty()
            && src.not_ports.is_empty()
            && dst.ports.is_empty()
            && dst.not_ports.is_empty());
        let contradictory = (protocol.is_some() && protocol == not_protocol)
            || (numeric && !protocol.is_some_and(Protocol::has_ports))
            || ((r.icmp.is_some() || r.not_icmp.is_some())
                && !matches!(protocol, Some(Protocol::Icmp | Protocol::IcmpV6)));
        if contradictory {
            v4 = false;
            v6 = false;
        }
        Some(Norm {
            action: r.action,
            fams: (v4, v6),
            protocol,
            not_protocol,
            icmp: icmp(&r.icmp),
            not_icmp: icmp(&r.not_icmp),
            src,
            dst,
            resolvable: src_ok && dst_ok && r.http.is_none(),
        })
    }

    fn never(&self) -> bool {
        !self.fams.0 && !self.fams.1
    }

    fn terminal(&self) -> bool {
        matches!(self.action, Action::Allow | Action::Deny | Action::Pass)
    }

    /// Does this (earlier) rule match every packet `b` matches?
    fn covers(&self, b: &Norm) -> bool {
        let fams = (self.fams.0 || !b.fams.0) && (self.fams.1 || !b.fams.1) && !self.never();
        let protocol = self.protocol.is_none() || self.protocol == b.protocol;
        let not_protocol = match self.not_protocol {
            None => true,
            Some(np) => b.protocol.is_some_and(|p| p != np) || b.not_protocol == Some(np),
        };
        let icmp = match self.icmp {
            None => true,
            Some((t, code)) => b
                .icmp
                .is_some_and(|(bt, bc)| bt == t && (code.is_none() || code == bc)),
        };
        let not_icmp = self.not_icmp.is_none() || self.not_icmp == b.not_icmp;
        fams && protocol
            && not_protocol
            && icmp
            && not_icmp
            // Destination first: its ports are the cheapest test that fails.
            && self.dst.covers(&b.dst)
            && self.src.covers(&b.src)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(yaml: &str) -> Norm {
        let r: Rule = serde_yaml::from_str(yaml).expect("rule");
        Norm::new(&r).expect("norm")
    }

    fn shadows(a: &str, b: &str) -> bool {
        let (a, b) = (rule(a), rule(b));
        a.resolvable && a.terminal() && !b.never() && a.covers(&b)
    }

    #[test]
    fn supersets_shadow() {
        assert!(shadows("action: Allow", "action: Deny\nprotocol: TCP"));
        assert!(shadows(
            "{action: Deny, protocol: TCP, destination: {ports: ['1:1024']}}",
            "{action: Allow, protocol: 6, destination: {ports: [22, '80:81']}}"
        ));
        assert!(shadows(
            "{action: Allow, source: {nets: [10.0.0.0/8]}}",
            "{action: Allow, protocol: UDP, source: {nets: [10.1.0.0/16, 10.2.3.4]}}"
        ));
        assert!(shadows(
            "{action: Deny, source: {selector: 'a == \"b\"'}}",
            "{action: Allow, protocol: TCP, source: {selector: \"a=='b'\", nets: [10.0.0.0/8]}}"
        ));
        assert!(shadows(
            "{action: Pass, protocol: TCP, destination: {notPorts: [22]}}",
            "{action: Allow, protocol: TCP, destination: {ports: [80]}}"
        ));
        assert!(shadows(
            "{action: Allow, protocol: TCP, destination: {ports: [http, 22]}}",
            "{action: Deny, protocol: TCP, destination: {ports: [http]}}"
        ));
        assert!(shadows(
            "{action: Allow, protocol: ICMP, icmp: {type: 8}}",
            "{action: Deny, protocol: ICMP, icmp: {type: 8, code: 0}}"
        ));
        assert!(shadows(
            "{action: Allow, source: {notNets: [10.0.0.0/8]}}",
            "{action: Allow, source: {nets: [192.168.0.0/16]}}"
        ));
    }

    #[test]
    fn anything_unproven_does_not_shadow() {
        // Log does not end the list.
        assert!(!shadows("action: Log", "action: Allow"));
        // Narrower protocol, ports, nets.
        assert!(!shadows("{action: Allow, protocol: TCP}", "action: Deny"));
        assert!(!shadows(
            "{action: Allow, protocol: TCP, destination: {ports: [80]}}",
            "{action: Deny, protocol: TCP, destination: {ports: ['80:81']}}"
        ));
        assert!(!shadows(
            "{action: Allow, source: {nets: [10.1.0.0/16]}}",
            "{action: Deny, source: {nets: [10.0.0.0/8]}}"
        ));
        // A selector covers only the same selector, never nets.
        assert!(!shadows(
            "{action: Allow, source: {selector: all()}}",
            "{action: Deny, source: {nets: [10.0.0.0/8]}}"
        ));
        // Exclusions the later rule does not repeat.
        assert!(!shadows(
            "{action: Allow, source: {notNets: [10.0.0.0/8]}}",
            "{action: Deny, source: {nets: [10.1.0.0/16]}}"
        ));
        assert!(!shadows(
            "{action: Allow, notProtocol: UDP}",
            "action: Deny"
        ));
        // The same named port under another selector may be another port.
        assert!(!shadows(
            "{action: Allow, protocol: TCP, destination: {ports: [http]}}",
            "{action: Deny, protocol: TCP, destination: {selector: app == 'x', ports: [http]}}"
        ));
        // Named ports are compared by name only.
        assert!(!shadows(
            "{action: Allow, protocol: TCP, destination: {ports: [http]}}",
            "{action: Deny, protocol: TCP, destination: {ports: [80]}}"
        ));
        // Family: IPv4 nets do not cover an IPv6 rule.
        assert!(!shadows(
            "{action: Allow, source: {nets: [10.0.0.0/8]}}",
            "{action: Deny, ipVersion: 6}"
        ));
        // A match netc cannot resolve: the earlier rule may never match.
        assert!(!shadows(
            "{action: Allow, source: {serviceAccounts: {names: [x]}}}",
            "{action: Deny, protocol: TCP}"
        ));
        // A contradictory earlier rule matches nothing.
        assert!(!shadows(
            "{action: Allow, protocol: TCP, notProtocol: TCP}",
            "{action: Deny, protocol: TCP}"
        ));
        // A Deny ignores named notPorts in netc: it is broader than written.
        assert!(!shadows(
            "{action: Allow, protocol: TCP, destination: {notPorts: [http]}}",
            "{action: Deny, protocol: TCP, destination: {notPorts: [http]}}"
        ));
    }

    #[test]
    fn port_union() {
        // `contained` takes the ranges sorted, as Side::new leaves them.
        assert!(contained((80, 90), &[(70, 84), (85, 100)]));
        assert!(!contained((80, 90), &[(70, 84), (86, 100)]));
        assert!(contained((65535, 65535), &[(0, 65535)]));
    }
}
