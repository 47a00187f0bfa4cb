//! Node rules (docs/calico.md §1.6): addresses with their prefix length, tunnel
//! addresses, MACs, route-reflector cluster IDs, netc's `netc.dev/...`
//! annotations, and addresses or router ids that two nodes share.

use super::bgp::as_number;
use super::util::{ctx, interface_problem, seg, span_in};
use super::Ctx;
use crate::diag::{codes, Diagnostic};
use crate::load::did_you_mean;
use crate::model::{annotations, Kind, Model, NodeSpec};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub(super) fn check(m: &Model, out: &mut Vec<Diagnostic>) {
    for r in &m.nodes {
        let c = ctx(r, Kind::Node);
        bgp(&c, out);
        tunnels(&c, out);
        node_annotations(&c, out);
    }
    duplicates(m, out);
}

/// The address of a Node's `ipv4Address`/`ipv6Address`, if it parses (with or
/// without a mask); used by the cross-resource checks.
pub(super) fn node_addr(text: Option<&str>) -> Option<IpAddr> {
    let t = text?;
    let a = t.split_once('/').map(|(a, _)| a).unwrap_or(t);
    a.parse().ok()
}

fn bgp(c: &Ctx<NodeSpec>, out: &mut Vec<Diagnostic>) {
    let Some(b) = &c.r.spec.bgp else { return };
    let empty = b.as_number.is_none()
        && b.ipv4_address.is_none()
        && b.ipv6_address.is_none()
        && b.ipv4_ipip_tunnel_addr.is_none()
        && b.route_reflector_cluster_id.is_none();
    if empty {
        out.push(
            c.err(codes::EMPTY_BGP, "/spec/bgp", "`spec.bgp` is empty")
                .label("give the node an address, or remove `bgp`")
                .note("a node that runs BGP needs at least spec.bgp.ipv4Address (with prefix length, e.g. `10.0.0.5/24`); omit `bgp` for a node without BGP"),
        );
        return;
    }
    if let Some(v) = &b.as_number {
        as_number(c, "/spec/bgp/asNumber", v, out);
    }
    if let Some(a) = &b.ipv4_address {
        node_address(c, "ipv4Address", a, false, out);
    }
    if let Some(a) = &b.ipv6_address {
        node_address(c, "ipv6Address", a, true, out);
    }
    if let Some(a) = &b.ipv4_ipip_tunnel_addr {
        tunnel_addr(
            c,
            "/spec/bgp/ipv4IPIPTunnelAddr",
            "ipv4IPIPTunnelAddr",
            a,
            false,
            out,
        );
    }
    if let Some(id) = b
        .route_reflector_cluster_id
        .as_deref()
        .filter(|s| !s.is_empty())
    {
        if id.parse::<Ipv4Addr>().is_err() {
            out.push(
                c.err(
                    codes::BAD_CLUSTER_ID,
                    "/spec/bgp/routeReflectorClusterID",
                    format!("routeReflectorClusterID `{id}` is not a dotted-quad IPv4 value"),
                )
                .label("expected e.g. `224.0.0.1`")
                .note("the cluster ID is a 32-bit number written as an IPv4 address; route reflectors that serve the same clients share it"),
            );
        }
    }
}

fn node_address(c: &Ctx<NodeSpec>, field: &str, text: &str, v6: bool, out: &mut Vec<Diagnostic>) {
    let ptr = format!("/spec/bgp/{field}");
    let (fam, example, host) = if v6 {
        ("IPv6", "fd00:10::5/64", 128)
    } else {
        ("IPv4", "10.0.0.5/24", 32)
    };
    let note = format!(
        "{field} is the node's {fam} address with the prefix length of its subnet, e.g. `{example}`; host bits are expected. The prefix defines the node's subnet for CrossSubnet encapsulation"
    );
    let (addr, len) = match text.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (text, None),
    };
    let parsed: Option<IpAddr> = addr.parse().ok();
    let wrong_family = parsed.is_some_and(|a| a.is_ipv6() != v6);
    let (msg, label) = if wrong_family {
        let other = if v6 { "ipv4Address" } else { "ipv6Address" };
        (
            format!("{field} `{text}` is not an {fam} address"),
            format!("this belongs in {other}"),
        )
    } else if parsed.is_none() {
        let label = match super::util::parse_addr(addr) {
            Err(e) if e.contains("leading zero") => e,
            _ => format!("expected an {fam} address with prefix length"),
        };
        (format!("{field} `{text}` is not an {fam} address"), label)
    } else {
        match len {
            None => (
                format!("{field} `{text}` has no prefix length"),
                format!(
                    "add the subnet's prefix length, e.g. `{text}/{}`",
                    if v6 { 64 } else { 24 }
                ),
            ),
            Some(l) => match l.parse::<u8>() {
                Ok(n)
                    if n <= host
                        && l.bytes().all(|b| b.is_ascii_digit())
                        && (l == "0" || !l.starts_with('0')) =>
                {
                    return
                }
                _ => (
                    format!("{field} `{text}` has an invalid prefix length `{l}`"),
                    format!("the prefix length must be 0..{host}"),
                ),
            },
        }
    };
    out.push(
        c.err(codes::BAD_NODE_ADDRESS, &ptr, msg)
            .label(label)
            .note(note),
    );
}

fn tunnel_addr(
    c: &Ctx<NodeSpec>,
    ptr: &str,
    field: &str,
    text: &str,
    v6: bool,
    out: &mut Vec<Diagnostic>,
) {
    let ok = if v6 {
        text.parse::<Ipv6Addr>().is_ok()
    } else {
        text.parse::<Ipv4Addr>().is_ok()
    };
    if ok {
        return;
    }
    let fam = if v6 { "IPv6" } else { "IPv4" };
    let label = if text.contains('/') {
        "remove the prefix length: a tunnel address is a single address".to_string()
    } else {
        format!("expected a bare {fam} address")
    };
    out.push(
        c.err(
            codes::BAD_TUNNEL_ADDRESS,
            ptr,
            format!("{field} `{text}` is not an {fam} address"),
        )
        .label(label)
        .note(format!("{field} is the bare {fam} address of the node's tunnel device, normally taken from one of its blocks")),
    );
}

/// A MAC for a VXLAN device: six hex octets ([`crate::ir::Mac`]'s syntax),
/// unicast, not all zero.
fn mac_problem(s: &str) -> Option<String> {
    let mac = match s.parse::<crate::ir::Mac>() {
        Ok(m) => m,
        Err(e) => return Some(e.to_string()),
    };
    if mac.is_multicast() {
        return Some(format!(
            "`{s}` is a multicast MAC (the lowest bit of the first octet is set)"
        ));
    }
    if mac.is_zero() {
        return Some(format!("`{s}` is the all-zero MAC"));
    }
    None
}

fn tunnels(c: &Ctx<NodeSpec>, out: &mut Vec<Diagnostic>) {
    let s = &c.r.spec;
    if let Some(a) = &s.ipv4_vxlan_tunnel_addr {
        tunnel_addr(
            c,
            "/spec/ipv4VXLANTunnelAddr",
            "ipv4VXLANTunnelAddr",
            a,
            false,
            out,
        );
    }
    if let Some(a) = &s.ipv6_vxlan_tunnel_addr {
        tunnel_addr(
            c,
            "/spec/ipv6VXLANTunnelAddr",
            "ipv6VXLANTunnelAddr",
            a,
            true,
            out,
        );
    }
    for (field, v) in [
        ("vxlanTunnelMACAddr", &s.vxlan_tunnel_mac_addr),
        ("vxlanTunnelMACAddrV6", &s.vxlan_tunnel_mac_addr_v6),
    ] {
        let Some(v) = v else { continue };
        if let Some(why) = mac_problem(v) {
            out.push(
                c.err(codes::BAD_TUNNEL_ADDRESS, &format!("/spec/{field}"), format!("{field}: {why}"))
                    .label("expected a unicast MAC address")
                    .note("the VXLAN device's MAC must be a unicast address, e.g. `66:9a:1b:2c:3d:4e` (locally administered: second hex digit 2, 6, a or e)"),
            );
        }
    }
    for (i, a) in s.addresses.iter().enumerate() {
        if super::util::parse_net_loose(&a.address).is_err() {
            out.push(
                c.err(
                    codes::BAD_NODE_ADDRESS,
                    &format!("/spec/addresses/{i}/address"),
                    format!("`{}` is not an IP address", a.address),
                )
                .label("expected an address, optionally with prefix length")
                .note("spec.addresses lists the node's IP addresses, e.g. `10.0.0.5` or `10.0.0.5/24`; netc does not resolve host names"),
            );
        }
    }
}

const KNOWN_ANNOTATIONS: &[&str] = &[
    annotations::UNDERLAY_INTERFACE,
    annotations::UNDERLAY_MTU,
    annotations::FAILSAFE_INBOUND,
];

fn node_annotations(c: &Ctx<NodeSpec>, out: &mut Vec<Diagnostic>) {
    for (k, v) in &c.r.meta.annotations {
        let Some(_) = k.strip_prefix("netc.dev/") else {
            continue;
        };
        let ptr = format!("/metadata/annotations/{}", seg(k));
        let bad = |msg: String, label: &str, note: &str| {
            c.err(codes::BAD_ANNOTATION, &ptr, msg)
                .label(label)
                .note(note)
        };
        match k.as_str() {
            annotations::UNDERLAY_MTU => {
                let ok = v.bytes().all(|b| b.is_ascii_digit())
                    && v.parse::<u32>().is_ok_and(|n| (576..=65535).contains(&n));
                if !ok {
                    out.push(bad(
                        format!("{k} `{v}` is not an MTU"),
                        "expected an integer 576..65535",
                        "the MTU of the underlay interface in bytes (default 1500); tunnel MTUs are derived from it (IPIP -20, VXLAN -50)",
                    ));
                }
            }
            annotations::UNDERLAY_INTERFACE => {
                if let Some(why) = interface_problem(v) {
                    out.push(bad(
                        format!("{k} `{v}` is not an interface name: {why}"),
                        "expected an interface name",
                        "the Linux interface carrying the underlay, 1..15 characters of `[A-Za-z0-9_.-]`, e.g. `eth0` or `bond0.100`",
                    ));
                }
            }
            annotations::FAILSAFE_INBOUND => {
                if let Some((why, start, len)) = failsafe_problem(v) {
                    out.push(
                        Diagnostic::error(codes::BAD_ANNOTATION, format!("{k}: {why}"))
                            .at(span_in(&c.r.origin, &ptr, v, start, len))
                            .label("expected `tcp:PORT` or `udp:PORT`")
                            .resource(c.display())
                            .note("a comma-separated list of `tcp:PORT` or `udp:PORT` (PORT 1..65535) that stay open whatever the policies say, e.g. `tcp:22,tcp:179,udp:68`"),
                    );
                }
            }
            _ => {
                let mut d = c
                    .err_key(
                        codes::BAD_ANNOTATION,
                        &ptr,
                        format!("unknown netc annotation `{k}`"),
                    )
                    .label("not an annotation netc reads");
                if let Some(s) = did_you_mean(k, KNOWN_ANNOTATIONS.iter().copied()) {
                    d = d.label(format!("did you mean `{s}`?"));
                }
                out.push(d.note(format!(
                    "netc reads {} on Nodes",
                    KNOWN_ANNOTATIONS.join(", ")
                )));
            }
        }
    }
}

/// The first bad item of a failsafe list: message, byte offset and length of
/// the item inside the value.
fn failsafe_problem(v: &str) -> Option<(String, usize, usize)> {
    if v.trim().is_empty() {
        return None;
    }
    let mut offset = 0;
    for raw in v.split(',') {
        let lead = raw.len() - raw.trim_start().len();
        let item = raw.trim();
        let at = offset + lead;
        offset += raw.len() + 1;
        let why = match item.split_once(':') {
            None => format!("`{item}` is not `proto:port`"),
            Some((proto, _)) if !matches!(proto.to_ascii_lowercase().as_str(), "tcp" | "udp") => {
                format!("`{proto}` in `{item}` is not tcp or udp")
            }
            Some((_, port))
                if !(port.bytes().all(|b| b.is_ascii_digit())
                    && port.parse::<u32>().is_ok_and(|n| (1..=65535).contains(&n))) =>
            {
                format!("`{port}` in `{item}` is not a port number 1..65535")
            }
            Some(_) => continue,
        };
        return Some((why, at, item.len().max(1)));
    }
    None
}

/// E0604 two nodes with the same ipv4Address (= router id, = BIRD protocol
/// name); E0603 any other address two nodes share (ipv6Address, tunnel
/// addresses, or a tunnel address equal to another node's address).
fn duplicates(m: &Model, out: &mut Vec<Diagnostic>) {
    // address -> (node index, field) of the first holder
    let mut seen: HashMap<IpAddr, (usize, &'static str)> = HashMap::new();
    for (i, n) in m.nodes.iter().enumerate() {
        let b = n.spec.bgp.as_ref();
        let fields: [(&'static str, &'static str, Option<IpAddr>); 5] = [
            (
                "ipv4Address",
                "/spec/bgp/ipv4Address",
                node_addr(b.and_then(|b| b.ipv4_address.as_deref())),
            ),
            (
                "ipv6Address",
                "/spec/bgp/ipv6Address",
                node_addr(b.and_then(|b| b.ipv6_address.as_deref())),
            ),
            (
                "ipv4IPIPTunnelAddr",
                "/spec/bgp/ipv4IPIPTunnelAddr",
                b.and_then(|b| b.ipv4_ipip_tunnel_addr.as_deref())
                    .and_then(|a| a.parse().ok()),
            ),
            (
                "ipv4VXLANTunnelAddr",
                "/spec/ipv4VXLANTunnelAddr",
                n.spec
                    .ipv4_vxlan_tunnel_addr
                    .as_deref()
                    .and_then(|a| a.parse().ok()),
            ),
            (
                "ipv6VXLANTunnelAddr",
                "/spec/ipv6VXLANTunnelAddr",
                n.spec
                    .ipv6_vxlan_tunnel_addr
                    .as_deref()
                    .and_then(|a| a.parse().ok()),
            ),
        ];
        for (field, ptr, addr) in fields {
            let Some(addr) = addr else { continue };
            match seen.get(&addr) {
                Some(&(j, first_field)) if j != i => {
                    let Some(first) = m.nodes.get(j) else {
                        continue;
                    };
                    let first_ptr = fields_ptr(first_field);
                    let d = if field == "ipv4Address" && first_field == "ipv4Address" {
                        let sym = format!("Mesh_{}", addr.to_string().replace('.', "_"));
                        Diagnostic::error(
                            codes::DUPLICATE_ROUTER_ID,
                            format!(
                                "ipv4Address {addr} is also node `{}`'s: both nodes would use router id {addr}",
                                first.meta.name
                            ),
                        )
                        .label("duplicate address and router id")
                        .note(format!(
                            "a node's ipv4Address is its BGP router id and names the BGP protocol other nodes configure for it ({sym}): BIRD rejects the whole config (\"Symbol already defined\"), and two speakers with one router id cannot keep sessions with each other. Give each node its own address"
                        ))
                    } else {
                        Diagnostic::error(
                            codes::DUPLICATE_NODE_IP,
                            format!(
                                "{field} {addr} is already node `{}`'s {first_field}",
                                first.meta.name
                            ),
                        )
                        .label("address already taken")
                        .note("each node address (BGP addresses and tunnel addresses) must be unique across nodes; packets for it would reach only one of them")
                    };
                    out.push(
                        d.at(n.origin.value_span(ptr))
                            .related(
                                first.origin.value_span(first_ptr),
                                format!("node `{}` has it here", first.meta.name),
                            )
                            .resource(format!("Node {}", n.meta.name)),
                    );
                }
                Some(_) => {}
                None => {
                    seen.insert(addr, (i, field));
                }
            }
        }
    }
}

fn fields_ptr(field: &str) -> &'static str {
    match field {
        "ipv4Address" => "/spec/bgp/ipv4Address",
        "ipv6Address" => "/spec/bgp/ipv6Address",
        "ipv4IPIPTunnelAddr" => "/spec/bgp/ipv4IPIPTunnelAddr",
        "ipv4VXLANTunnelAddr" => "/spec/ipv4VXLANTunnelAddr",
        _ => "/spec/ipv6VXLANTunnelAddr",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs() {
        assert_eq!(mac_problem("66:9a:1b:2c:3d:4e"), None);
        assert!(mac_problem("01:00:5e:00:00:01").is_some());
        assert!(mac_problem("00:00:00:00:00:00").is_some());
        assert!(mac_problem("66:9a:1b:2c:3d").is_some());
        assert!(mac_problem("gg:9a:1b:2c:3d:4e").is_some());
        assert!(mac_problem("é").is_some());
    }

    #[test]
    fn failsafe() {
        assert_eq!(failsafe_problem("tcp:22, udp:68"), None);
        assert_eq!(
            failsafe_problem("tcp:22, udp:x").map(|(_, at, len)| (at, len)),
            Some((8, 5))
        );
        assert!(failsafe_problem("tcp:0").is_some());
        assert!(failsafe_problem("icmp:1").is_some());
        assert!(failsafe_problem("22").is_some());
    }
}
