//! IPPool rules (docs/calico.md §1.2) and the pool checks that need the whole
//! desired state: overlaps between pools, pools with fewer blocks than the
//! nodes they select, and /32 node addresses under CrossSubnet pools.

use super::util::{ctx, list_names, plain_selector};
use super::Ctx;
use crate::diag::{codes, Diagnostic};
use crate::model::{AllowedUse, AssignmentMode, EncapMode, IpPoolSpec, Kind, Model};
use crate::selector::Selector;
use ipnet::IpNet;
use std::net::IpAddr;

/// A pool that passed the per-pool checks far enough to take part in the
/// cross-resource ones.
struct Pool<'a> {
    c: Ctx<'a, IpPoolSpec>,
    net: IpNet,
    block: u8,
    node_sel: Option<Selector>,
}

pub(super) fn check(m: &Model, out: &mut Vec<Diagnostic>) {
    let mut pools = Vec::new();
    for r in &m.ip_pools {
        let c = ctx(r, Kind::IPPool);
        if let Some(p) = one(c, out) {
            pools.push(p);
        }
    }
    overlaps(&pools, out);
    for p in &pools {
        exhausted(m, p, out);
    }
    cross_subnet_masks(m, &pools, out);
}

fn one<'a>(c: Ctx<'a, IpPoolSpec>, out: &mut Vec<Diagnostic>) -> Option<Pool<'a>> {
    let s = &c.r.spec;
    let node_sel = plain_selector(
        &c,
        "/spec/nodeSelector",
        "nodeSelector",
        s.node_selector.as_deref(),
        out,
    );
    let ns_sel = plain_selector(
        &c,
        "/spec/namespaceSelector",
        "namespaceSelector",
        s.namespace_selector.as_deref(),
        out,
    );
    let node_sel = match &s.node_selector {
        None => Some(Selector::all()),
        Some(_) => node_sel,
    };
    let uses = match &s.allowed_uses {
        Some(u) if !u.is_empty() => u.clone(),
        _ => vec![AllowedUse::Workload, AllowedUse::Tunnel],
    };
    allowed_uses(&c, &uses, node_sel.as_ref(), ns_sel.as_ref(), out);

    let net = match cidr(&c, out) {
        Some(n) => n,
        None => {
            // Encapsulation checks that do not need the CIDR.
            if s.ipip_mode.enabled() && s.vxlan_mode.enabled() {
                out.push(both_encaps(&c));
            }
            return None;
        }
    };
    let v6 = matches!(net, IpNet::V6(_));
    let block = s.block_size.unwrap_or(if v6 { 122 } else { 26 });
    let (lo, hi) = if v6 { (116, 128) } else { (20, 32) };
    let block_ok = (lo..=hi).contains(&block);
    if !block_ok {
        let fam = if v6 { "IPv6" } else { "IPv4" };
        out.push(
            c.err(
                codes::BLOCK_SIZE,
                "/spec/blockSize",
                format!("blockSize {block} is out of range for an {fam} pool"),
            )
            .label(format!("must be {lo}..{hi}"))
            .note(format!(
                "{fam} pools take blockSize {lo}..{hi} (default {}); each node gets blocks of this prefix length",
                if v6 { 122 } else { 26 }
            )),
        );
    } else if !s.disabled && net.prefix_len() > block {
        out.push(
            c.err(
                codes::POOL_TOO_SMALL,
                "/spec/cidr",
                format!(
                    "pool {net} is smaller than one /{block} block",
                ),
            )
            .label(format!("a /{} cannot hold a /{block} block", net.prefix_len()))
            .note(format!(
                "use a pool prefix of at most /{block}, or set blockSize to at least {} (blockSize defaults to {})",
                net.prefix_len(),
                if v6 { 122 } else { 26 }
            )),
        );
    }
    if s.ipip_mode.enabled() && s.vxlan_mode.enabled() {
        out.push(both_encaps(&c));
    }
    if v6 && s.ipip_mode.enabled() {
        out.push(
            c.err(
                codes::IPIP_V6,
                "/spec/ipipMode",
                format!("ipipMode {:?} on IPv6 pool {net}", s.ipip_mode),
            )
            .label("IPIP only carries IPv4")
            .note("set ipipMode: Never and use vxlanMode (Always or CrossSubnet) to encapsulate an IPv6 pool"),
        );
    }
    // Calico (CEL rules on IPPoolSpec) rejects link-local overlap; netc also
    // rejects the ranges no workload address can come from.
    let reserved: &[(&str, &str, &str)] = if v6 {
        &[
            (
                "fe80::/10",
                "link-local",
                "link-local addresses are never routed",
            ),
            (
                "::1/128",
                "loopback",
                "the loopback address never leaves the host",
            ),
            (
                "ff00::/8",
                "multicast",
                "multicast addresses cannot be workload addresses",
            ),
            ("::/128", "unspecified", "`::` means \"no address\""),
        ]
    } else {
        &[
            (
                "169.254.0.0/16",
                "link-local",
                "link-local addresses are never routed",
            ),
            (
                "127.0.0.0/8",
                "loopback",
                "loopback addresses never leave the host",
            ),
            (
                "224.0.0.0/4",
                "multicast",
                "multicast addresses cannot be workload addresses",
            ),
            (
                "0.0.0.0/32",
                "unspecified",
                "`0.0.0.0` means \"no address\"",
            ),
        ]
    };
    for (range, what, why) in reserved {
        let Ok(r) = range.parse::<IpNet>() else {
            continue;
        };
        if net.contains(&r) || r.contains(&net) {
            let mut d = c
                .err(
                    codes::LINK_LOCAL,
                    "/spec/cidr",
                    format!("pool {net} overlaps the {what} range {r}"),
                )
                .label(format!("overlaps {what} addresses"))
                .note(format!(
                    "{why}; choose a pool outside 169.254.0.0/16, 127.0.0.0/8, 224.0.0.0/4 and 0.0.0.0 (IPv4), fe80::/10, ::1, ff00::/8 and :: (IPv6)"
                ));
            if *what != "link-local" {
                d = d.note("calicoctl accepts this pool (it only checks link-local); netc refuses it because no block of it can work");
            }
            out.push(d);
            break;
        }
    }
    Some(Pool {
        net,
        block: if block_ok { block } else { 0 },
        node_sel,
        c,
    })
}

fn both_encaps(c: &Ctx<IpPoolSpec>) -> Diagnostic {
    c.err(
        codes::IPIP_AND_VXLAN,
        "/spec/vxlanMode",
        format!(
            "ipipMode {:?} and vxlanMode {:?} are both enabled",
            c.r.spec.ipip_mode, c.r.spec.vxlan_mode
        ),
    )
    .label("second encapsulation")
    .related(c.r.origin.value_span("/spec/ipipMode"), "IPIP enabled here")
    .note("a pool uses at most one encapsulation: set ipipMode or vxlanMode to Never")
}

/// Parse and check the pool CIDR (strictly masked).
fn cidr(c: &Ctx<IpPoolSpec>, out: &mut Vec<Diagnostic>) -> Option<IpNet> {
    let text = &c.r.spec.cidr;
    let note = "a pool CIDR is a network address with its prefix length, e.g. `10.244.0.0/16` or `fd00:10:244::/48`";
    if !text.contains('/') {
        let msg = if text.parse::<IpAddr>().is_ok() {
            format!("pool CIDR `{text}` has no prefix length")
        } else {
            format!("pool CIDR `{text}` is not a CIDR")
        };
        out.push(
            c.err(codes::BAD_CIDR, "/spec/cidr", msg)
                .label("expected address/prefix-length")
                .note(note),
        );
        return None;
    }
    let net: IpNet = match super::util::parse_cidr(text) {
        Ok(n) => n,
        Err(e) => {
            let why = match text.split_once('/') {
                Some((a, l)) if a.parse::<IpAddr>().is_ok() && !l.starts_with('0') => {
                    let max = if a.contains(':') { 128 } else { 32 };
                    format!("the prefix length must be 0..{max}")
                }
                _ => e,
            };
            out.push(
                c.err(
                    codes::BAD_CIDR,
                    "/spec/cidr",
                    format!("pool CIDR `{text}` is not a CIDR"),
                )
                .label(why)
                .note(note),
            );
            return None;
        }
    };
    if net.trunc() != net {
        out.push(
            c.err(
                codes::BAD_CIDR,
                "/spec/cidr",
                format!("pool CIDR `{text}` has host bits set"),
            )
            .label(format!("did you mean `{}`?", net.trunc()))
            .note("Calico requires pool CIDRs to be strictly masked: the address must be the first address of the network"),
        );
        return None;
    }
    Some(net)
}

fn allowed_uses(
    c: &Ctx<IpPoolSpec>,
    uses: &[AllowedUse],
    node_sel: Option<&Selector>,
    ns_sel: Option<&Selector>,
    out: &mut Vec<Diagnostic>,
) {
    let s = &c.r.spec;
    let lb = uses.contains(&AllowedUse::LoadBalancer);
    let at = if s.allowed_uses.is_some() {
        "/spec/allowedUses"
    } else {
        "/spec/cidr"
    };
    if lb {
        if let Some(i) = uses.iter().position(|u| *u != AllowedUse::LoadBalancer) {
            out.push(
                c.err(
                    codes::ALLOWED_USES,
                    &format!("/spec/allowedUses/{i}"),
                    format!("allowedUses combines LoadBalancer with {:?}", uses[i]),
                )
                .label("LoadBalancer must be the only use")
                .note("a LoadBalancer pool holds service addresses only; declare a separate pool for Workload/Tunnel"),
            );
        }
        for (field, mode) in [("ipipMode", s.ipip_mode), ("vxlanMode", s.vxlan_mode)] {
            if mode.enabled() {
                out.push(
                    c.err(
                        codes::ALLOWED_USES,
                        &format!("/spec/{field}"),
                        format!("a LoadBalancer pool cannot use {field} {mode:?}"),
                    )
                    .label("must be Never for a LoadBalancer pool")
                    .related(
                        c.r.origin.value_span("/spec/allowedUses"),
                        "LoadBalancer use declared here",
                    ),
                );
            }
        }
        if s.disable_bgp_export {
            out.push(
                c.err(
                    codes::ALLOWED_USES,
                    "/spec/disableBGPExport",
                    "a LoadBalancer pool cannot set disableBGPExport",
                )
                .label("LoadBalancer addresses must be advertised")
                .related(
                    c.r.origin.value_span("/spec/allowedUses"),
                    "LoadBalancer use declared here",
                ),
            );
        }
        if node_sel.is_some_and(|n| !n.is_all()) {
            out.push(
                c.err(
                    codes::ALLOWED_USES,
                    "/spec/nodeSelector",
                    "a LoadBalancer pool must select all nodes",
                )
                .label("must be all() (or omitted)")
                .related(
                    c.r.origin.value_span("/spec/allowedUses"),
                    "LoadBalancer use declared here",
                ),
            );
        }
    }
    let has_ns_sel = s
        .namespace_selector
        .as_deref()
        .is_some_and(|t| !t.trim().is_empty());
    if uses.contains(&AllowedUse::Tunnel) && has_ns_sel && ns_sel.is_some() {
        let mut d = c
            .err(
                codes::ALLOWED_USES,
                "/spec/namespaceSelector",
                "a pool used for Tunnel addresses cannot have a namespaceSelector",
            )
            .label("not allowed with the Tunnel use");
        if s.allowed_uses.is_none() {
            d = d.note("allowedUses defaults to [Workload, Tunnel]; add `allowedUses: [Workload]` to restrict the pool to some namespaces");
        } else {
            d = d
                .related(c.r.origin.value_span(at), "Tunnel use declared here")
                .note("tunnel addresses belong to nodes, not namespaces; remove Tunnel from allowedUses or drop the namespaceSelector");
        }
        out.push(d);
    }
}

/// E0307: pools overlapping each other (any two, enabled or not).
fn overlaps(pools: &[Pool], out: &mut Vec<Diagnostic>) {
    for (i, b) in pools.iter().enumerate() {
        if let Some(a) = pools[..i]
            .iter()
            .find(|a| a.net.contains(&b.net) || b.net.contains(&a.net))
        {
            out.push(
                b.c.err(
                    codes::POOL_OVERLAP,
                    "/spec/cidr",
                    format!(
                        "pool {} overlaps pool `{}` ({})",
                        b.net, a.c.r.meta.name, a.net
                    ),
                )
                .label("overlapping CIDR")
                .related(
                    a.c.r.origin.value_span("/spec/cidr"),
                    format!("`{}` declared here", a.c.r.meta.name),
                )
                .note("each address belongs to at most one pool; shrink or move one of the CIDRs"),
            );
        }
    }
}

/// E0309: the pool's nodeSelector selects more nodes than it has blocks.
fn exhausted(m: &Model, p: &Pool, out: &mut Vec<Diagnostic>) {
    let s = &p.c.r.spec;
    let Some(sel) = &p.node_sel else { return };
    if p.block == 0 || s.disabled || p.net.prefix_len() > p.block {
        return;
    }
    if s.assignment_mode == Some(AssignmentMode::Manual) {
        return;
    }
    if let Some(u) = &s.allowed_uses {
        if !u.is_empty() && u.iter().all(|u| *u == AllowedUse::LoadBalancer) {
            return;
        }
    }
    let bits = u32::from(p.block - p.net.prefix_len());
    let blocks: u128 = if bits >= 127 {
        u128::MAX
    } else {
        1u128 << bits
    };
    let selected: Vec<&str> = m
        .nodes
        .iter()
        .filter(|n| sel.matches(&n.meta.labels))
        .map(|n| n.meta.name.as_str())
        .collect();
    if (selected.len() as u128) <= blocks {
        return;
    }
    let ptr = if s.node_selector.is_some() {
        "/spec/nodeSelector"
    } else {
        "/spec/cidr"
    };
    let plural = if blocks == 1 { "" } else { "s" };
    out.push(
        p.c.err(
            codes::POOL_EXHAUSTED,
            ptr,
            format!(
                "pool {} has {blocks} block{plural} of /{} but selects {} nodes",
                p.net,
                p.block,
                selected.len()
            ),
        )
        .label(format!("selects {}", list_names(&selected, 4)))
        .note(format!(
            "every selected node needs its own /{} block, so {} of them would get none; widen the pool, raise blockSize, or narrow the nodeSelector",
            p.block,
            selected.len() as u128 - blocks
        )),
    );
}

/// W0311: a node whose address mask is a host mask, selected by a
/// CrossSubnet pool, sees every peer as cross-subnet.
fn cross_subnet_masks(m: &Model, pools: &[Pool], out: &mut Vec<Diagnostic>) {
    for n in &m.nodes {
        let Some(bgp) = &n.spec.bgp else { continue };
        for (v6, field, addr) in [
            (false, "ipv4Address", bgp.ipv4_address.as_deref()),
            (true, "ipv6Address", bgp.ipv6_address.as_deref()),
        ] {
            let Some(addr) = addr else { continue };
            let host_len = if v6 { 128 } else { 32 };
            let Some((_, len)) = addr.split_once('/') else {
                continue; // a bare address is E0601
            };
            if len.parse::<u8>().ok() != Some(host_len) {
                continue;
            }
            let pool = pools.iter().find(|p| {
                matches!(p.net, IpNet::V6(_)) == v6
                    && !p.c.r.spec.disabled
                    && (p.c.r.spec.ipip_mode == EncapMode::CrossSubnet
                        || p.c.r.spec.vxlan_mode == EncapMode::CrossSubnet)
                    && p.node_sel
                        .as_ref()
                        .is_some_and(|s| s.matches(&n.meta.labels))
            });
            let Some(pool) = pool else { continue };
            let mode_field = if pool.c.r.spec.ipip_mode == EncapMode::CrossSubnet {
                "/spec/ipipMode"
            } else {
                "/spec/vxlanMode"
            };
            out.push(
                Diagnostic::warning(
                    codes::CROSS_SUBNET_HOST_MASK,
                    format!(
                        "{field} `{addr}` has a host mask, but pool `{}` encapsulates only across subnets",
                        pool.c.r.meta.name
                    ),
                )
                .at(n.origin.value_span(&format!("/spec/bgp/{field}")))
                .label(format!("/{host_len}: every other node looks like a different subnet"))
                .related(pool.c.r.origin.value_span(mode_field), "CrossSubnet here")
                .resource(format!("Node {}", n.meta.name))
                .note("CrossSubnet compares peers against the node's own prefix; with a host mask every route is encapsulated. Write the real prefix length of the underlay subnet, e.g. `10.0.0.5/24`"),
            );
        }
    }
}
