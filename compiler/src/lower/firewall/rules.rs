//! One Calico policy rule → zero or more IR rules.
//!
//! A rule becomes several IR rules when it needs more than one address
//! family (sets are per family) or names ports that resolve to different
//! (protocol, port) values on different endpoints; it becomes none when it
//! can never match (see [`lower_rule`]).

use super::resolve::{parse_net, Endpoint, Nets, Scope, Sets, World};
use super::Policy;
use crate::ir::{Direction, Family, FwRule, IcmpMatch, Match, PortSet, RuleAction, SideMatch};
use crate::model::{Action, EntityRule, IcmpFields, NumOrStr, PortMatch, Protocol, Rule};
use crate::selector::Selector;
use ipnet::IpNet;
use std::collections::BTreeMap;

pub(super) struct RuleCx<'w, 'a> {
    pub world: &'w World<'a>,
    pub sets: &'w mut Sets,
}

/// Merge port ranges into sorted, non-overlapping, non-adjacent ranges.
pub(super) fn merge_ports(mut v: Vec<(u16, u16)>) -> PortSet {
    v.sort();
    let mut out: PortSet = Vec::new();
    for (lo, hi) in v {
        match out.last_mut() {
            Some(last) if u32::from(lo) <= u32::from(last.1) + 1 => last.1 = last.1.max(hi),
            _ => out.push((lo, hi)),
        }
    }
    out
}

/// One side's parsed ports.
#[derive(Default)]
struct Ports {
    ranges: Vec<(u16, u16)>,
    named: Vec<String>,
    not_ranges: Vec<(u16, u16)>,
    not_named: Vec<String>,
}

impl Ports {
    fn parse(e: &EntityRule) -> Option<Ports> {
        let mut p = Ports::default();
        for (list, ranges, named) in [
            (&e.ports, &mut p.ranges, &mut p.named),
            (&e.not_ports, &mut p.not_ranges, &mut p.not_named),
        ] {
            for v in list {
                match PortMatch::parse(v).ok()? {
                    PortMatch::Range(lo, hi) => ranges.push((lo, hi)),
                    PortMatch::Named(n) => named.push(n),
                }
            }
        }
        p.named.sort();
        p.named.dedup();
        p.not_named.sort();
        p.not_named.dedup();
        Some(p)
    }
    fn any(&self) -> bool {
        !(self.ranges.is_empty()
            && self.named.is_empty()
            && self.not_ranges.is_empty()
            && self.not_named.is_empty())
    }
    fn any_numeric(&self) -> bool {
        !(self.ranges.is_empty() && self.not_ranges.is_empty())
    }
}

/// One way a side's positive ports can match.
#[derive(Clone)]
enum PortOpt {
    /// No positive port constraint.
    Any,
    Numeric(PortSet),
    /// A named port resolved to one value: only on the endpoints holding it.
    Named {
        protocol: Protocol,
        port: u16,
        addrs: Vec<IpNet>,
        key: String,
        readable: String,
    },
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Src,
    Dst,
}

struct SideSpec {
    scope: Scope,
    selector: Option<Selector>,
    not_selector: Option<Selector>,
    nets: Vec<IpNet>,
    not_nets: Vec<IpNet>,
    ports: Ports,
}

fn side(e: &EntityRule, scope: Scope) -> Option<SideSpec> {
    // A namespaceSelector without a selector selects everything in its
    // namespaces (Felix: `<namespace terms> && all()`).
    let selector = match parse_sel(&e.selector)? {
        None if e.namespace_selector.is_some() => Some(Selector::all()),
        s => s,
    };
    Some(SideSpec {
        scope,
        selector,
        not_selector: parse_sel(&e.not_selector)?,
        nets: parse_nets(&e.nets)?,
        not_nets: parse_nets(&e.not_nets)?,
        ports: Ports::parse(e)?,
    })
}

fn parse_nets(list: &[String]) -> Option<Vec<IpNet>> {
    list.iter().map(|s| parse_net(s)).collect()
}

fn parse_sel(s: &Option<String>) -> Option<Option<Selector>> {
    match s {
        None => Some(None),
        Some(t) => Selector::parse(t).ok().map(Some),
    }
}

fn icmp_match(f: &Option<Box<IcmpFields>>) -> Option<Option<IcmpMatch>> {
    let Some(f) = f else { return Some(None) };
    match (f.icmp_type, f.code) {
        (None, None) => Some(None),
        (None, Some(_)) => None,
        (Some(t), code) => {
            let t = u8::try_from(t).ok().filter(|t| *t <= 254)?;
            let code = match code {
                None => None,
                Some(c) => Some(u8::try_from(c).ok()?),
            };
            Some(Some(IcmpMatch { icmp_type: t, code }))
        }
    }
}

/// A rule side's namespaceSelector as a scope (`all()`, `global()`, or the
/// namespaces whose labels match); `Err` for one that does not parse.
fn ns_scope(world: &World, pol: &Policy, ns_sel: &Option<String>) -> Result<Scope, ()> {
    match ns_sel {
        None => Ok(pol.rule_scope()),
        Some(t) => match Selector::parse(t) {
            Ok(s) if s.is_all() => Ok(Scope::AllNamespaces),
            Ok(s) if s.is_only_global() => Ok(Scope::Global),
            Ok(s) => Ok(world.namespaces_matching(&s)),
            Err(_) => Err(()),
        },
    }
}

/// Lower rule `idx` of `pol`'s `dir` rules.
///
/// Calico semantics, with these netc decisions:
/// - A rule that can never match produces no IR rule: nets of the wrong
///   family for the rule (Felix: a nets or notNets list without an address
///   of the family being rendered drops the rule for that family), protocol
///   equal to notProtocol, ports on a protocol without ports, a named port no
///   endpoint defines.
/// - Matches netc cannot resolve without Kubernetes (serviceAccounts,
///   services, http, and every rule of a policy whose own
///   serviceAccountSelector netc cannot resolve) fail closed: Allow, Pass
///   and Log rules never match; Deny rules ignore the unresolvable part and
///   so deny at least what Calico would.
/// - Named ports in `ports` resolve against the endpoints on that side: the
///   rule's selector on that side when given (a namespaceSelector alone
///   meaning `all()` in its namespaces), else the policy's own endpoints for
///   the endpoint's side (destination of ingress, source of egress), else
///   every endpoint of the cluster, whatever the policy's namespace. Each distinct
///   (protocol, port) becomes its own IR rule restricted to the addresses
///   of the endpoints that define it, so `http` means 80 on one pod and
///   8080 on another exactly as in Calico (a Log rule logs a packet that
///   matches two of the resulting rules twice). Named `notPorts` exclude the
///   port numbers they resolve to on any address (Deny rules ignore them).
pub(super) fn lower_rule(
    cx: &mut RuleCx,
    pol: &Policy,
    dir: Direction,
    idx: usize,
    r: &Rule,
) -> Vec<FwRule> {
    lower_rule_inner(cx, pol, dir, idx, r).unwrap_or_default()
}

fn lower_rule_inner(
    cx: &mut RuleCx,
    pol: &Policy,
    dir: Direction,
    idx: usize,
    r: &Rule,
) -> Option<Vec<FwRule>> {
    let deny = r.action == Action::Deny;
    let action = match r.action {
        Action::Allow => RuleAction::Allow,
        Action::Deny => RuleAction::Deny,
        Action::Log => RuleAction::Log,
        Action::Pass => RuleAction::Pass,
    };

    // What netc cannot resolve fails closed.
    let mut unresolvable = pol.fail_closed || r.http.is_some();
    let mut side_scope = |e: &EntityRule| -> Scope {
        if e.services.is_some() || e.service_accounts.is_some() {
            unresolvable = true;
        }
        match ns_scope(cx.world, pol, &e.namespace_selector) {
            Ok(s) => s,
            Err(()) => {
                unresolvable = true;
                Scope::Cluster
            }
        }
    };
    let src_scope = side_scope(&r.source);
    let dst_scope = side_scope(&r.destination);
    if unresolvable && !deny {
        return None;
    }

    // Protocol.
    let parse_proto = |v: &Option<NumOrStr>| -> Option<Option<Protocol>> {
        match v {
            None => Some(None),
            Some(v) => crate::model::parse_protocol(v).ok().map(Some),
        }
    };
    let protocol = parse_proto(&r.protocol)?;
    let mut not_protocol = parse_proto(&r.not_protocol)?;
    if let (Some(p), Some(np)) = (protocol, not_protocol) {
        if p == np {
            return None;
        }
        not_protocol = None; // implied by protocol
    }

    // Sides.
    let src = side(&r.source, src_scope)?;
    let dst = side(&r.destination, dst_scope)?;

    // Families.
    let mut fams = vec![Family::V4, Family::V6];
    match r.ip_version {
        None => {}
        Some(4) => fams.retain(|f| *f == Family::V4),
        Some(6) => fams.retain(|f| *f == Family::V6),
        Some(_) => return None,
    }
    match protocol {
        Some(Protocol::Icmp) => fams.retain(|f| *f == Family::V4),
        Some(Protocol::IcmpV6) => fams.retain(|f| *f == Family::V6),
        _ => {}
    }
    for list in [&src.nets, &src.not_nets, &dst.nets, &dst.not_nets] {
        if !list.is_empty() {
            fams.retain(|f| list.iter().any(|n| Family::of(n) == *f));
        }
    }
    if fams.is_empty() {
        return None;
    }

    // ICMP.
    let icmp = icmp_match(&r.icmp)?;
    let not_icmp = icmp_match(&r.not_icmp)?;
    if (icmp.is_some() || not_icmp.is_some())
        && !matches!(protocol, Some(Protocol::Icmp) | Some(Protocol::IcmpV6))
    {
        return None;
    }

    // Ports need a protocol that has them (named ports bring their own).
    for p in [&src.ports, &dst.ports] {
        if p.any() {
            match protocol {
                None if p.any_numeric() || !p.not_named.is_empty() && !deny => return None,
                Some(pr) if !pr.has_ports() => return None,
                _ => {}
            }
        }
    }

    // Port options per side.
    let src_opts = port_options(cx.world, pol, dir, Side::Src, &src, protocol)?;
    let dst_opts = port_options(cx.world, pol, dir, Side::Dst, &dst, protocol)?;
    let src_not = not_ports(cx.world, pol, dir, Side::Src, &src, protocol, deny);
    let dst_not = not_ports(cx.world, pol, dir, Side::Dst, &dst, protocol, deny);

    let mut base_comment = format!(
        "{} {} rule {idx}",
        pol.display,
        match dir {
            Direction::Ingress => "ingress",
            Direction::Egress => "egress",
        }
    );
    if let Some(md) = &r.metadata {
        for (k, v) in &md.annotations {
            base_comment.push_str(&format!(" {k}={v}"));
        }
    }

    let mut out = Vec::new();
    for so in &src_opts {
        for do_ in &dst_opts {
            // The protocol this combination implies.
            let mut proto = protocol;
            let mut ok = true;
            for o in [so, do_] {
                if let PortOpt::Named { protocol: p, .. } = o {
                    match proto {
                        None => proto = Some(*p),
                        Some(q) if q == *p => {}
                        Some(_) => ok = false,
                    }
                }
            }
            if !ok {
                continue;
            }
            if proto.is_none() && (!src_not.is_empty() || !dst_not.is_empty()) {
                continue;
            }
            let has_addr = [&src, &dst].iter().any(|s| {
                !s.nets.is_empty()
                    || !s.not_nets.is_empty()
                    || s.selector.is_some()
                    || s.not_selector.is_some()
            }) || matches!(so, PortOpt::Named { .. })
                || matches!(do_, PortOpt::Named { .. });
            let mut comment = base_comment.clone();
            for (o, what) in [(so, "source"), (do_, "destination")] {
                if let PortOpt::Named { readable, .. } = o {
                    comment.push_str(&format!(" ({what} {readable})"));
                }
            }
            let families: Vec<Option<Family>> = if has_addr || fams.len() == 1 {
                fams.iter().copied().map(Some).collect()
            } else {
                vec![None]
            };
            for fam in families {
                let mut m = Match {
                    family: fam,
                    protocol: proto,
                    not_protocol: if proto.is_some() { None } else { not_protocol },
                    src: SideMatch::default(),
                    dst: SideMatch::default(),
                    icmp: icmp.clone(),
                    not_icmp: not_icmp.clone(),
                };
                if let Some(f) = fam {
                    m.src = side_match(cx, pol, &src, so, f, "source");
                    m.dst = side_match(cx, pol, &dst, do_, f, "destination");
                } else {
                    m.src.ports = numeric(so);
                    m.dst.ports = numeric(do_);
                }
                m.src.not_ports = src_not.clone();
                m.dst.not_ports = dst_not.clone();
                out.push(FwRule {
                    matches: m,
                    action,
                    comment: comment.clone(),
                    rule: u32::try_from(idx).ok(),
                });
            }
        }
    }
    Some(out)
}

fn numeric(o: &PortOpt) -> PortSet {
    match o {
        PortOpt::Any => Vec::new(),
        PortOpt::Numeric(p) => p.clone(),
        PortOpt::Named { port, .. } => vec![(*port, *port)],
    }
}

fn side_match(
    cx: &mut RuleCx,
    pol: &Policy,
    s: &SideSpec,
    o: &PortOpt,
    fam: Family,
    what: &str,
) -> SideMatch {
    let mut m = SideMatch {
        ports: numeric(o),
        ..SideMatch::default()
    };
    if !s.nets.is_empty() {
        match cx
            .sets
            .nets(&s.nets, fam, || format!("{what} nets of {}", pol.display))
        {
            Nets::One(n) => m.in_net = Some(n),
            Nets::Set(name) => m.in_sets.push(name),
        }
    }
    if let Some(sel) = &s.selector {
        m.in_sets
            .push(cx.sets.selector(cx.world, sel, &s.scope, fam));
    }
    if let PortOpt::Named {
        addrs,
        key,
        readable,
        ..
    } = o
    {
        m.in_sets.push(cx.sets.named_port(
            key,
            readable,
            addrs,
            fam,
            format!("endpoints with {readable}"),
        ));
    }
    if !s.not_nets.is_empty() {
        match cx.sets.nets(&s.not_nets, fam, || {
            format!("{what} notNets of {}", pol.display)
        }) {
            Nets::One(n) => m.not_in_net = Some(n),
            Nets::Set(name) => m.not_in_sets.push(name),
        }
    }
    if let Some(sel) = &s.not_selector {
        m.not_in_sets
            .push(cx.sets.selector(cx.world, sel, &s.scope, fam));
    }
    m
}

/// The endpoints a side's named ports resolve against.
fn named_port_endpoints<'w, 'a>(
    world: &'w World<'a>,
    pol: &Policy,
    dir: Direction,
    side: Side,
    s: &SideSpec,
) -> (Vec<&'w Endpoint<'a>>, String) {
    let own = matches!(
        (dir, side),
        (Direction::Ingress, Side::Dst) | (Direction::Egress, Side::Src)
    );
    if let Some(sel) = &s.selector {
        (
            world.select_endpoints(sel, &s.scope),
            format!("selector {sel} {:?}", s.scope),
        )
    } else if own {
        (
            world.endpoints.iter().filter(|e| pol.selects(e)).collect(),
            format!("endpoints of {}", pol.display),
        )
    } else {
        // No selector on the peer side: every endpoint of the cluster, as
        // Felix resolves a named port against `all()` whatever the policy's
        // namespace (docs/k8s.md §4, "Named port").
        let all = Selector::all();
        let v = world.select_endpoints(&all, &Scope::Cluster);
        (v, format!("all {:?}", Scope::Cluster))
    }
}

fn port_options(
    world: &World,
    pol: &Policy,
    dir: Direction,
    side: Side,
    s: &SideSpec,
    protocol: Option<Protocol>,
) -> Option<Vec<PortOpt>> {
    let p = &s.ports;
    if p.ranges.is_empty() && p.named.is_empty() {
        return Some(vec![PortOpt::Any]);
    }
    let mut opts = Vec::new();
    if !p.ranges.is_empty() {
        opts.push(PortOpt::Numeric(merge_ports(p.ranges.clone())));
    }
    if !p.named.is_empty() {
        let (eps, ekey) = named_port_endpoints(world, pol, dir, side, s);
        let mut groups: BTreeMap<(Protocol, u16), (Vec<IpNet>, Vec<String>)> = BTreeMap::new();
        for e in eps {
            for ep in e.ports {
                if !p.named.contains(&ep.name) {
                    continue;
                }
                let Ok(pr) = crate::model::parse_protocol(&NumOrStr::Str(ep.protocol.clone()))
                else {
                    continue;
                };
                if !pr.has_ports() || protocol.is_some_and(|q| q != pr) {
                    continue;
                }
                let g = groups.entry((pr, ep.port)).or_default();
                g.0.extend(e.addrs.iter().copied());
                if !g.1.contains(&ep.name) {
                    g.1.push(ep.name.clone());
                }
            }
        }
        for ((pr, port), (addrs, mut names)) in groups {
            names.sort();
            let readable = format!("{} {}/{port}", names.join(","), pr.name());
            opts.push(PortOpt::Named {
                protocol: pr,
                port,
                addrs,
                key: format!("{ekey}|{}|{}|{port}", names.join(","), pr.name()),
                readable,
            });
        }
    }
    if opts.is_empty() {
        None // only named ports, and no endpoint defines them
    } else {
        Some(opts)
    }
}

fn not_ports(
    world: &World,
    pol: &Policy,
    dir: Direction,
    side: Side,
    s: &SideSpec,
    protocol: Option<Protocol>,
    deny: bool,
) -> PortSet {
    let mut v = s.ports.not_ranges.clone();
    if !s.ports.not_named.is_empty() && !deny {
        let (eps, _) = named_port_endpoints(world, pol, dir, side, s);
        for e in eps {
            for ep in e.ports {
                if !s.ports.not_named.contains(&ep.name) {
                    continue;
                }
                let Ok(pr) = crate::model::parse_protocol(&NumOrStr::Str(ep.protocol.clone()))
                else {
                    continue;
                };
                if protocol == Some(pr) {
                    v.push((ep.port, ep.port));
                }
            }
        }
    }
    merge_ports(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_merge() {
        assert_eq!(
            merge_ports(vec![
                (80, 80),
                (1000, 2000),
                (81, 81),
                (1500, 2500),
                (22, 22)
            ]),
            vec![(22, 22), (80, 81), (1000, 2500)]
        );
        assert_eq!(merge_ports(vec![(0, 65535), (5, 5)]), vec![(0, 65535)]);
        assert_eq!(
            merge_ports(vec![(65535, 65535), (65534, 65534)]),
            vec![(65534, 65535)]
        );
    }
}
