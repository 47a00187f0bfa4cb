//! NetworkPolicy / GlobalNetworkPolicy rules (docs/calico.md §1.7), policy order
//! ties, and the nets of (Global)NetworkSets.

use super::util::{ctx, family, parse_net_loose, plain_selector, selector, span_in};
use super::Ctx;
use crate::diag::{codes, Diagnostic};
use crate::model::{
    Action, EntityRule, Kind, Model, NetworkSetSpec, PolicySpec, PolicyType, PortMatch, Protocol,
    Rule,
};
use ipnet::IpNet;
use std::collections::HashMap;

/// Each policy's own checks (its rules, selectors, types), on all cores,
/// in input order (global policies, then namespaced ones): the findings
/// of every policy `skip` does not pass over, by kind and index.
pub(super) fn each(m: &Model, skip: &super::Skip<'_>) -> Vec<super::Found> {
    use rayon::prelude::*;
    let each = |rs: &[_], kind| -> Vec<super::Found> {
        rs.par_iter()
            .enumerate()
            .filter(|(i, _)| !skip(kind, *i))
            .map(|(i, r)| {
                let mut o = Vec::new();
                policy(&ctx(r, kind), &mut o);
                (kind, i, o)
            })
            .collect()
    };
    let mut found = each(&m.global_network_policies, Kind::GlobalNetworkPolicy);
    found.extend(each(&m.network_policies, Kind::NetworkPolicy));
    found
}

/// The checks across policies (order ties) and of network sets.
pub(super) fn rest(m: &Model, out: &mut Vec<Diagnostic>) {
    order_ties(m, out);
    for r in &m.global_network_sets {
        network_set(&ctx(r, Kind::GlobalNetworkSet), out);
    }
    for r in &m.network_sets {
        network_set(&ctx(r, Kind::NetworkSet), out);
    }
}

/// W0715 for a match netc cannot enforce. `what` is the field; a
/// policy-level `serviceAccountSelector` makes the whole policy fail closed,
/// rule-level matches only their rule.
fn unsupported<T>(c: &Ctx<T>, ptr: &str, what: &str) -> Diagnostic {
    let policy_level = ptr.matches('/').count() == 2;
    let label = if what == "http" {
        "needs an application-layer proxy"
    } else {
        "needs Kubernetes to resolve"
    };
    let effect = if policy_level {
        "the policy fails closed: netc applies it to what its `selector` matches but keeps only its Deny rules"
    } else {
        "the rule fails closed: as an Allow, Pass or Log rule it never matches; as a Deny rule it ignores this match and so denies at least what Calico would"
    };
    Diagnostic::warning(
        codes::UNSUPPORTED_MATCH,
        format!("netc cannot enforce the `{what}` match"),
    )
    .at(c.r.origin.key_span(ptr))
    .label(label)
    .resource(c.display())
    .note(format!(
        "netc programs L3/L4 filters from the declared resources; it resolves no Kubernetes service accounts or services and runs no HTTP proxy. So {effect}"
    ))
}

fn policy(c: &Ctx<PolicySpec>, out: &mut Vec<Diagnostic>) {
    let s = &c.r.spec;
    plain_selector(c, "/spec/selector", "selector", s.selector.as_deref(), out);
    if let Some(sel) = plain_selector(
        c,
        "/spec/serviceAccountSelector",
        "serviceAccountSelector",
        s.service_account_selector.as_deref(),
        out,
    ) {
        if !sel.is_all() {
            out.push(unsupported(
                c,
                "/spec/serviceAccountSelector",
                "serviceAccountSelector",
            ));
        }
    }
    // A namespaceSelector matches namespace labels (docs/k8s.md §3): netc
    // resolves it from the Namespaces of the input.
    plain_selector(
        c,
        "/spec/namespaceSelector",
        "namespaceSelector",
        s.namespace_selector.as_deref(),
        out,
    );

    for (i, t) in s.types.iter().enumerate() {
        if let Some(j) = s.types[..i].iter().position(|x| x == t) {
            out.push(
                c.err(
                    codes::DUPLICATE_TYPES,
                    &format!("/spec/types/{i}"),
                    format!("`{t:?}` is listed twice in `types`"),
                )
                .label("duplicate")
                .related(
                    c.r.origin.value_span(&format!("/spec/types/{j}")),
                    "first listed here",
                )
                .note("types lists Ingress and/or Egress, each at most once"),
            );
        }
    }

    pre_dnat(c, out);

    for (dir, rules) in [("ingress", &s.ingress), ("egress", &s.egress)] {
        for (i, r) in rules.iter().enumerate() {
            rule(c, dir, i, r, out);
        }
    }
}

/// GNP preDNAT / doNotTrack / applyOnForward rules (E0706).
fn pre_dnat(c: &Ctx<PolicySpec>, out: &mut Vec<Diagnostic>) {
    let s = &c.r.spec;
    if s.pre_dnat && s.do_not_track {
        out.push(
            c.err(codes::PRE_DNAT, "/spec/doNotTrack", "`preDNAT` and `doNotTrack` cannot both be true")
                .label("choose one")
                .related(c.r.origin.value_span("/spec/preDNAT"), "preDNAT set here")
                .note("preDNAT policies run before DNAT in the mangle/prerouting stage; doNotTrack policies run untracked in the raw table; a policy is one or the other"),
        );
    }
    if s.pre_dnat {
        if !s.egress.is_empty() {
            out.push(
                c.err_key(codes::PRE_DNAT, "/spec/egress", "a preDNAT policy cannot have egress rules")
                    .label("not allowed with preDNAT")
                    .related(c.r.origin.value_span("/spec/preDNAT"), "preDNAT set here")
                    .note("preDNAT policies only see traffic arriving at a host endpoint: use ingress rules"),
            );
        }
        if let Some(i) = s.types.iter().position(|t| *t == PolicyType::Egress) {
            out.push(
                c.err(
                    codes::PRE_DNAT,
                    &format!("/spec/types/{i}"),
                    "a preDNAT policy cannot have type Egress",
                )
                .label("not allowed with preDNAT")
                .related(c.r.origin.value_span("/spec/preDNAT"), "preDNAT set here")
                .note("preDNAT policies apply to ingress only: `types: [Ingress]`"),
            );
        }
    }
    if (s.pre_dnat || s.do_not_track) && !s.apply_on_forward {
        let which = if s.pre_dnat { "preDNAT" } else { "doNotTrack" };
        out.push(
            c.err(
                codes::PRE_DNAT,
                &format!("/spec/{which}"),
                format!("a {which} policy requires `applyOnForward: true`"),
            )
            .label("add applyOnForward: true")
            .note(format!("{which} policies also see forwarded traffic, so Calico requires applyOnForward: true to say so explicitly")),
        );
    }
}

fn rule(c: &Ctx<PolicySpec>, dir: &str, i: usize, r: &Rule, out: &mut Vec<Diagnostic>) {
    let base = format!("/spec/{dir}/{i}");
    let parse_proto = |field: &str,
                       v: &Option<crate::model::NumOrStr>,
                       out: &mut Vec<Diagnostic>| {
        let v = v.as_ref()?;
        match crate::model::parse_protocol(v) {
            Ok(p) => Some(p),
            Err(e) => {
                out.push(
                    c.err(codes::BAD_PROTOCOL, &format!("{base}/{field}"), format!("invalid {field}: {e}"))
                        .label("not a protocol")
                        .note("protocols are TCP, UDP, ICMP, ICMPv6, SCTP, UDPLite (any case) or a number 1..255"),
                );
                None
            }
        }
    };
    let proto = parse_proto("protocol", &r.protocol, out);
    let proto_bad = r.protocol.is_some() && proto.is_none();
    parse_proto("notProtocol", &r.not_protocol, out);

    if let Some(v) = r.ip_version {
        if v != 4 && v != 6 {
            out.push(
                c.err(
                    codes::NOT_ALLOWED,
                    &format!("{base}/ipVersion"),
                    format!("ipVersion {v} is not allowed"),
                )
                .label("expected 4 or 6"),
            );
        }
    }

    // ICMP
    for (field, icmp) in [("icmp", &r.icmp), ("notICMP", &r.not_icmp)] {
        let Some(f) = icmp else { continue };
        let ptr = format!("{base}/{field}");
        if !proto_bad && !matches!(proto, Some(Protocol::Icmp) | Some(Protocol::IcmpV6)) {
            let mut d = c
                .err_key(codes::ICMP_PROTOCOL, &ptr, format!("`{field}` needs protocol ICMP or ICMPv6"))
                .label(match proto {
                    Some(p) => format!("protocol is {}", proto_name(p)),
                    None => "no protocol set".to_string(),
                })
                .note("set `protocol: ICMP` (with ipVersion 4) or `protocol: ICMPv6` (with ipVersion 6)");
            if r.protocol.is_some() {
                d = d.related(
                    c.r.origin.value_span(&format!("{base}/protocol")),
                    "protocol here",
                );
            }
            out.push(d);
        }
        if let Some(t) = f.icmp_type {
            if !(0..=254).contains(&t) {
                out.push(
                    c.err(
                        codes::ICMP_PROTOCOL,
                        &format!("{ptr}/type"),
                        format!("ICMP type {t} is out of range"),
                    )
                    .label("must be 0..254"),
                );
            }
        }
        if let Some(code) = f.code {
            if f.icmp_type.is_none() {
                out.push(
                    c.err(codes::ICMP_PROTOCOL, &format!("{ptr}/code"), format!("`{field}` has a code but no type"))
                        .label("a code needs a type")
                        .note("ICMP codes are per type: add `type:` (e.g. type 3, code 4 = fragmentation needed)"),
                );
            } else if !(0..=255).contains(&code) {
                out.push(
                    c.err(
                        codes::ICMP_PROTOCOL,
                        &format!("{ptr}/code"),
                        format!("ICMP code {code} is out of range"),
                    )
                    .label("must be 0..255"),
                );
            }
        }
    }
    match (proto, r.ip_version) {
        (Some(Protocol::Icmp), Some(6)) | (Some(Protocol::IcmpV6), Some(4)) => {
            let (p, want) = if proto == Some(Protocol::Icmp) {
                ("ICMP", "ICMPv6")
            } else {
                ("ICMPv6", "ICMP")
            };
            out.push(
                c.err(
                    codes::ICMP_PROTOCOL,
                    &format!("{base}/ipVersion"),
                    format!("protocol {p} does not match ipVersion {}", r.ip_version.unwrap_or(0)),
                )
                .label("wrong IP version for the protocol")
                .related(c.r.origin.value_span(&format!("{base}/protocol")), "protocol here")
                .note(format!("ICMP goes with ipVersion 4 and ICMPv6 with ipVersion 6; use protocol {want} or change ipVersion")),
            );
        }
        _ => {}
    }

    // http
    if let Some(_h) = &r.http {
        let ptr = format!("{base}/http");
        let mut bad = false;
        if r.action != Action::Allow {
            bad = true;
            out.push(
                c.err_key(codes::HTTP_MATCH, &ptr, format!("an http match is only allowed on Allow rules, not {:?}", r.action))
                    .label("not allowed here")
                    .related(c.r.origin.value_span(&format!("{base}/action")), "action here")
                    .note("Calico enforces http matches in an application-layer proxy, which can only narrow what an Allow rule allows; write the rule as an Allow"),
            );
        }
        if let Some(p) = proto.filter(|p| *p != Protocol::Tcp) {
            bad = true;
            out.push(
                c.err_key(
                    codes::HTTP_MATCH,
                    &ptr,
                    format!("an http match needs protocol TCP, not {}", proto_name(p)),
                )
                .label("HTTP runs over TCP")
                .related(
                    c.r.origin.value_span(&format!("{base}/protocol")),
                    "protocol here",
                )
                .note("set protocol: TCP or leave it unset"),
            );
        }
        if !bad {
            out.push(unsupported(c, &ptr, "http"));
        }
    }

    let mut nets: Vec<(String, IpNet)> = Vec::new();
    for (side, e) in [("source", &r.source), ("destination", &r.destination)] {
        entity(
            c,
            dir,
            &format!("{base}/{side}"),
            side,
            e,
            proto,
            proto_bad,
            &mut nets,
            out,
        );
    }
    families(c, &base, r.ip_version, &nets, out);
}

/// One family per rule, matching ipVersion (E0704).
fn families(
    c: &Ctx<PolicySpec>,
    base: &str,
    ip_version: Option<u8>,
    nets: &[(String, IpNet)],
    out: &mut Vec<Diagnostic>,
) {
    let want_v6 = match ip_version {
        Some(4) => Some(false),
        Some(6) => Some(true),
        _ => None,
    };
    let Some((first_ptr, first)) = nets.first() else {
        return;
    };
    for (ptr, n) in nets {
        let is_v6 = matches!(n, IpNet::V6(_));
        match want_v6 {
            Some(w) if w != is_v6 => out.push(
                c.err(
                    codes::MIXED_FAMILY,
                    ptr,
                    format!("{n} is {} but the rule has ipVersion {}", family(n), ip_version.unwrap_or(0)),
                )
                .label(format!("{} net in an IPv{} rule", family(n), ip_version.unwrap_or(0)))
                .related(c.r.origin.value_span(&format!("{base}/ipVersion")), "ipVersion here")
                .note("all nets of a rule must match its ipVersion; split IPv4 and IPv6 into separate rules"),
            ),
            None if is_v6 != matches!(first, IpNet::V6(_)) => out.push(
                c.err(
                    codes::MIXED_FAMILY,
                    ptr,
                    format!("{n} is {} but {first} in the same rule is {}", family(n), family(first)),
                )
                .label("mixed address families")
                .related(c.r.origin.value_span(first_ptr), format!("{} net here", family(first)))
                .note("all nets of one rule (source and destination, nets and notNets) must be of one IP family; split IPv4 and IPv6 into separate rules"),
            ),
            _ => {}
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn entity(
    c: &Ctx<PolicySpec>,
    dir: &str,
    base: &str,
    side: &str,
    e: &EntityRule,
    proto: Option<Protocol>,
    proto_bad: bool,
    nets: &mut Vec<(String, IpNet)>,
    out: &mut Vec<Diagnostic>,
) {
    plain_selector(
        c,
        &format!("{base}/selector"),
        "selector",
        e.selector.as_deref(),
        out,
    );
    plain_selector(
        c,
        &format!("{base}/notSelector"),
        "notSelector",
        e.not_selector.as_deref(),
        out,
    );
    let mut warn = Vec::new();
    if let Some(text) = e.namespace_selector.as_deref() {
        let ptr = format!("{base}/namespaceSelector");
        if let Some(sel) = selector(c, &ptr, "namespaceSelector", text, out) {
            if sel.uses_global() && !sel.is_only_global() {
                let at = match text.find("global") {
                    Some(i) => span_in(&c.r.origin, &ptr, text, i, "global()".len()),
                    None => c.r.origin.value_span(&ptr),
                };
                out.push(
                    Diagnostic::error(codes::GLOBAL_SELECTOR, "`global()` must be the whole namespaceSelector")
                        .at(at)
                        .label("combined with other terms")
                        .resource(c.display())
                        .note("`namespaceSelector: global()` selects non-namespaced endpoints and network sets; it cannot be combined with other expressions"),
                );
            }
        }
    }
    if let Some(sa) = &e.service_accounts {
        let ptr = format!("{base}/serviceAccounts");
        if let Some(t) = sa.selector.as_deref() {
            plain_selector(
                c,
                &format!("{ptr}/selector"),
                "serviceAccounts.selector",
                Some(t),
                out,
            );
        }
        warn.push((ptr, "serviceAccounts"));
    }

    // nets
    for (field, list) in [("nets", &e.nets), ("notNets", &e.not_nets)] {
        for (j, n) in list.iter().enumerate() {
            let ptr = format!("{base}/{field}/{j}");
            match parse_net_loose(n) {
                Ok(net) => {
                    if field == "notNets" && net.prefix_len() == 0 {
                        out.push(
                            c.err(codes::NOT_NETS_ALL, &ptr, format!("`notNets: [{n}]` excludes every {} address", family(&net)))
                                .label("the rule can never match")
                                .note("to match nothing remove the rule; to match any address leave nets/notNets out"),
                        );
                    }
                    nets.push((ptr, net));
                }
                Err(why) => out.push(
                    c.err(codes::BAD_NET, &ptr, format!("invalid {field} entry: {why}"))
                        .label("invalid net")
                        .note("rule nets are CIDRs (host bits allowed, e.g. `10.0.0.0/8`) or bare addresses"),
                ),
            }
        }
    }

    // ports
    let mut numeric: Option<String> = None;
    let mut any_port: Option<String> = None;
    for (field, list) in [("ports", &e.ports), ("notPorts", &e.not_ports)] {
        for (j, p) in list.iter().enumerate() {
            let ptr = format!("{base}/{field}/{j}");
            match PortMatch::parse(p) {
                Ok(PortMatch::Range(0, 0)) => out.push(
                    c.err(codes::BAD_PORT, &ptr, "port 0 is not a port")
                        .label("must be 1..65535")
                        .note("a port is 1..65535, a range `lo:hi`, or a named port"),
                ),
                Ok(pm) => {
                    if any_port.is_none() {
                        any_port = Some(ptr.clone());
                    }
                    if matches!(pm, PortMatch::Range(..)) && numeric.is_none() {
                        numeric = Some(ptr);
                    }
                }
                Err(why) => out.push(
                    c.err(codes::BAD_PORT, &ptr, format!("invalid port: {why}"))
                        .label("invalid port")
                        .note("a port is a number 1..65535, a range `lo:hi` (lo <= hi), or a named port (up to 15 of `a-z0-9-`, at least one letter)"),
                ),
            }
        }
    }
    if !proto_bad {
        match proto {
            None => {
                if let Some(ptr) = &numeric {
                    out.push(
                        c.err(codes::PORTS_NEED_PROTOCOL, ptr, "a numeric port needs the rule's protocol to be TCP, UDP or SCTP")
                            .label("no protocol set on this rule")
                            .note("add `protocol: TCP` (or UDP/SCTP) to the rule; without a protocol only named ports are allowed"),
                    );
                }
            }
            Some(p) if !p.has_ports() => {
                if let Some(ptr) = &any_port {
                    out.push(
                        c.err(codes::PORTS_NEED_PROTOCOL, ptr, format!("protocol {} has no ports", proto_name(p)))
                            .label("ports need TCP, UDP or SCTP")
                            .related(c.r.origin.value_span(&format!("{}/protocol", base.rsplit_once('/').map(|x| x.0).unwrap_or(base))), "protocol here")
                            .note("only TCP, UDP and SCTP carry ports; remove the ports or change the protocol"),
                    );
                }
            }
            Some(_) => {}
        }
    }

    // services
    if let Some(_svc) = &e.services {
        let ptr = format!("{base}/services");
        let mut bad = false;
        let misplaced =
            (dir == "egress" && side == "source") || (dir == "ingress" && side == "destination");
        if misplaced {
            bad = true;
            out.push(
                c.err_key(codes::SERVICES, &ptr, format!("`services` is not allowed in an {dir} rule's {side}"))
                    .label("not allowed here")
                    .note("services selects the endpoints behind a Kubernetes Service: use it in an ingress rule's source or an egress rule's destination"),
            );
        }
        let conflicts: [(&str, bool); 8] = [
            ("namespaceSelector", e.namespace_selector.is_some()),
            ("selector", e.selector.is_some()),
            ("notSelector", e.not_selector.is_some()),
            ("nets", !e.nets.is_empty()),
            ("notNets", !e.not_nets.is_empty()),
            ("serviceAccounts", e.service_accounts.is_some()),
            ("ports", !e.ports.is_empty()),
            ("notPorts", !e.not_ports.is_empty()),
        ];
        for (field, set) in conflicts {
            if set {
                bad = true;
                out.push(
                    c.err_key(codes::SERVICES, &format!("{base}/{field}"), format!("`{field}` cannot be combined with `services`"))
                        .label("remove this or the services match")
                        .related(c.r.origin.key_span(&ptr), "services here")
                        .note("a services match takes its addresses and ports from the Service; it excludes namespaceSelector, selector, notSelector, nets, notNets, serviceAccounts and ports"),
                );
            }
        }
        if !bad {
            warn.push((ptr, "services"));
        }
    }
    for (ptr, what) in warn {
        out.push(unsupported(c, &ptr, what));
    }
}

/// How messages name a protocol (as users write it in YAML).
fn proto_name(p: Protocol) -> String {
    match p {
        Protocol::Tcp => "TCP".into(),
        Protocol::Udp => "UDP".into(),
        Protocol::Icmp => "ICMP".into(),
        Protocol::IcmpV6 => "ICMPv6".into(),
        Protocol::Sctp => "SCTP".into(),
        Protocol::UdpLite => "UDPLite".into(),
        Protocol::Number(n) => n.to_string(),
    }
}

fn allow_only(r: &crate::model::Resource<PolicySpec>) -> bool {
    r.spec
        .ingress
        .iter()
        .chain(&r.spec.egress)
        .all(|rule| rule.action == Action::Allow)
}

fn ns(r: &crate::model::Resource<PolicySpec>) -> &str {
    r.meta.namespace.as_deref().unwrap_or("default")
}

/// W0716: two policies in one tier with the same explicit order.
fn order_ties(m: &Model, out: &mut Vec<Diagnostic>) {
    // (tier, order bits) -> the policies seen so far with that order
    type Key<'a> = (&'a str, u64);
    let mut first: HashMap<Key, Vec<(Kind, &crate::model::Resource<PolicySpec>)>> = HashMap::new();
    let all = m
        .global_network_policies
        .iter()
        .map(|r| (Kind::GlobalNetworkPolicy, r))
        .chain(m.network_policies.iter().map(|r| (Kind::NetworkPolicy, r)));
    for (kind, r) in all {
        let Some(order) = r.spec.order else { continue };
        if !order.is_finite() {
            continue;
        }
        let bits = if order == 0.0 { 0 } else { order.to_bits() };
        let group = first.entry((r.spec.tier(), bits)).or_default();
        // A NetworkPolicy only competes with GNPs and NPs of its own
        // namespace; and the sequence of two policies that only allow (such
        // as converted Kubernetes NetworkPolicies) cannot change a verdict.
        let clash = group.iter().find(|(k, o)| {
            (*k == Kind::GlobalNetworkPolicy || kind == Kind::GlobalNetworkPolicy || ns(o) == ns(r))
                && !(allow_only(o) && allow_only(r))
        });
        if let Some((k, o)) = clash {
            let c = ctx(r, kind);
            let (a, b) = if o.meta.name <= r.meta.name {
                (&o.meta.name, &r.meta.name)
            } else {
                (&r.meta.name, &o.meta.name)
            };
            out.push(
                c.warn(
                    codes::POLICY_ORDER_TIE,
                    "/spec/order",
                    format!(
                        "order {order} is also the order of {} `{}` in tier `{}`",
                        k.as_str(),
                        o.meta.name,
                        r.spec.tier()
                    ),
                )
                .label("same order")
                .related(o.origin.value_span("/spec/order"), "same order here")
                .note(format!("Calico breaks the tie by name, so `{a}` runs before `{b}`; give them distinct orders if the sequence matters")),
            );
        }
        group.push((kind, r));
    }
}

fn network_set(c: &Ctx<NetworkSetSpec>, out: &mut Vec<Diagnostic>) {
    for (i, n) in c.r.spec.nets.iter().enumerate() {
        if let Err(why) = parse_net_loose(n) {
            out.push(
                c.err(
                    codes::BAD_NET,
                    &format!("/spec/nets/{i}"),
                    format!("invalid nets entry: {why}"),
                )
                .label("not an address or CIDR")
                .note("network set nets are CIDRs (e.g. `192.0.2.0/24`) or bare addresses"),
            );
        }
    }
}
