//! The kinds of a calicoctl export that netc reads but does not compile
//! (FelixConfiguration, BlockAffinity, IPAMBlock), the live block
//! allocation they state (E0312), WorkloadEndpoint hostPorts (W0805), and
//! named ports no endpoint declares (W0717).

use super::util::{ctx, parse_addr, parse_cidr, parse_net_loose};
use crate::diag::{codes, Diagnostic};
use crate::model::{block_claims, BlockClaim, Kind, Model, PortMatch};
use std::collections::{BTreeMap, BTreeSet};

pub(super) fn check(m: &Model, out: &mut Vec<Diagnostic>) {
    for r in &m.block_affinities {
        let c = ctx(r, Kind::BlockAffinity);
        if let Err(e) = parse_cidr(&r.spec.cidr) {
            out.push(
                c.err(codes::BAD_CIDR, "/spec/cidr", format!("block CIDR: {e}"))
                    .label("not a CIDR"),
            );
        }
    }
    for r in &m.ipam_blocks {
        let c = ctx(r, Kind::IPAMBlock);
        if let Err(e) = parse_cidr(&r.spec.cidr) {
            out.push(
                c.err(codes::BAD_CIDR, "/spec/cidr", format!("block CIDR: {e}"))
                    .label("not a CIDR"),
            );
        }
    }
    for r in &m.felix_configs {
        let c = ctx(r, Kind::FelixConfiguration);
        for (field, list) in [
            (
                "failsafeInboundHostPorts",
                &r.spec.failsafe_inbound_host_ports,
            ),
            (
                "failsafeOutboundHostPorts",
                &r.spec.failsafe_outbound_host_ports,
            ),
        ] {
            for (i, p) in list.iter().flatten().enumerate() {
                if let Some(net) = p.net.as_deref().filter(|n| !n.is_empty()) {
                    if let Err(e) = parse_net_loose(net) {
                        out.push(
                            c.err(
                                codes::BAD_NET,
                                &format!("/spec/{field}/{i}/net"),
                                format!("invalid failsafe net: {e}"),
                            )
                            .label("invalid net"),
                        );
                    }
                }
            }
        }
    }
    for r in &m.workload_endpoints {
        let c = ctx(r, Kind::WorkloadEndpoint);
        for (i, p) in r.spec.ports.iter().enumerate() {
            if let Some(ip) = p.host_ip.as_deref().filter(|s| !s.is_empty()) {
                if let Err(e) = parse_addr(ip) {
                    out.push(
                        c.err(
                            codes::WORKLOAD_ADDRESS,
                            &format!("/spec/ports/{i}/hostIP"),
                            format!("invalid hostIP: {e}"),
                        )
                        .label("expected an IP address"),
                    );
                }
            }
            if p.host_port.unwrap_or(0) != 0 {
                out.push(
                    c.warn(
                        codes::HOST_PORT,
                        &format!("/spec/ports/{i}/hostPort"),
                        format!(
                            "hostPort {} of port `{}` is not compiled: netc does not forward the host's port to this workload",
                            p.host_port.unwrap_or(0),
                            p.name
                        ),
                    )
                    .label("not compiled")
                    .note("Felix programs hostPort as a DNAT from the host's address; netc compiles policy and routes only. Expose the workload another way, or accept that the host port is closed"),
                );
            }
        }
    }
    blocks(m, out);
    named_ports(m, out);
}

/// E0312: two sources name different nodes for one block (or for nested blocks).
fn blocks(m: &Model, out: &mut Vec<Diagnostic>) {
    let claims = block_claims(m);
    let mut first: BTreeMap<ipnet::IpNet, &BlockClaim> = BTreeMap::new();
    let mut reported: BTreeSet<(String, String)> = BTreeSet::new();
    for c in &claims {
        // The earliest claim by another node on this block, on a block
        // containing it (its supernets, by prefix length) or inside it (a
        // range of the ordered map): no scan over all blocks.
        let containing = (0..=c.block.prefix_len()).find_map(|len| {
            let sup = ipnet::IpNet::new(c.block.addr(), len).ok()?.trunc();
            first.get(&sup).filter(|o| o.node != c.node).copied()
        });
        let inside = || {
            first
                .range(c.block..)
                .take_while(|(b, _)| c.block.contains(*b))
                .find(|(_, o)| o.node != c.node)
                .map(|(_, o)| *o)
        };
        let other = containing.or_else(inside);
        if let Some(o) = other {
            let key = (o.block.to_string(), c.block.to_string());
            if reported.insert(key) {
                let what = if o.block == c.block {
                    format!("block {}", c.block)
                } else {
                    format!("block {} (overlapping {})", c.block, o.block)
                };
                out.push(
                    Diagnostic::error(
                        codes::BLOCK_CONFLICT,
                        format!(
                            "{} says {what} belongs to node `{}`, but {} says it belongs to node `{}`",
                            c.source.describe(),
                            c.node,
                            o.source.describe(),
                            o.node
                        ),
                    )
                    .at(c.origin.value_span(c.ptr))
                    .label(format!("node `{}`", c.node))
                    .related(o.origin.value_span(o.ptr), format!("node `{}` ({})", o.node, o.resource))
                    .resource(c.resource.clone())
                    .note("a block belongs to one node; remove the stale resource (or fix the tunnel address) so the live allocation is consistent"),
                );
            }
        }
        first.entry(c.block).or_insert(c);
    }
}

/// Names of the container ports of every pod (they become named ports of
/// its workload endpoint, docs/k8s.md §2).
pub(super) fn pod_port_names(m: &Model) -> impl Iterator<Item = &str> {
    m.pods.iter().flat_map(|p| {
        p.spec
            .spec
            .containers
            .iter()
            .chain(p.spec.spec.init_containers.iter())
            .flat_map(|c| c.ports.iter().filter_map(|p| p.name.as_deref()))
    })
}

/// W0717: a rule's named port that no endpoint declares.
fn named_ports(m: &Model, out: &mut Vec<Diagnostic>) {
    let declared: BTreeSet<&str> = m
        .workload_endpoints
        .iter()
        .flat_map(|w| w.spec.ports.iter().map(|p| p.name.as_str()))
        .chain(
            m.host_endpoints
                .iter()
                .flat_map(|h| h.spec.ports.iter().map(|p| p.name.as_str())),
        )
        .chain(pod_port_names(m))
        .collect();
    let policies = m
        .network_policies
        .iter()
        .map(|r| (r, Kind::NetworkPolicy))
        .chain(
            m.global_network_policies
                .iter()
                .map(|r| (r, Kind::GlobalNetworkPolicy)),
        );
    for (r, kind) in policies {
        let c = ctx(r, kind);
        for (dir, rules) in [("ingress", &r.spec.ingress), ("egress", &r.spec.egress)] {
            for (i, rule) in rules.iter().enumerate() {
                for (side, e) in [("source", &rule.source), ("destination", &rule.destination)] {
                    for (field, list) in [("ports", &e.ports), ("notPorts", &e.not_ports)] {
                        for (j, p) in list.iter().enumerate() {
                            let Ok(PortMatch::Named(name)) = PortMatch::parse(p) else {
                                continue;
                            };
                            if declared.contains(name.as_str()) {
                                continue;
                            }
                            let effect = if field == "ports" {
                                "it matches no port (a rule whose ports are all such names never matches: an Allow allows nothing)"
                            } else {
                                "it excludes nothing"
                            };
                            out.push(
                                c.warn(
                                    codes::NAMED_PORT_UNKNOWN,
                                    &format!("/spec/{dir}/{i}/{side}/{field}/{j}"),
                                    format!("named port `{name}` is declared by no endpoint, so {effect}"),
                                )
                                .label("no WorkloadEndpoint, HostEndpoint or pod has this port")
                                .note(if declared.is_empty() {
                                    "no endpoint in the input declares any named port (spec.ports[].name)".to_string()
                                } else {
                                    format!(
                                        "declared port names: {}",
                                        super::util::list_names(&declared.iter().collect::<Vec<_>>(), 8)
                                    )
                                }),
                            );
                        }
                    }
                }
            }
        }
    }
}
