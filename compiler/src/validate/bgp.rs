//! BGPConfiguration (docs/calico.md §1.3) and BGPPeer (§1.4) rules, including the
//! references to nodes that calicoctl cannot check offline.

use super::util::{ctx, interface_problem, parse_net_strict, plain_selector, span_in};
use super::Ctx;
use crate::diag::{codes, Diagnostic};
use crate::load::did_you_mean;
use crate::model::{
    parse_as_number, parse_duration_secs, BgpConfigurationSpec, BgpPeerSpec, Kind, Model, NumOrStr,
};
use std::net::{IpAddr, Ipv6Addr};

pub(super) fn check(m: &Model, out: &mut Vec<Diagnostic>) {
    let default_mesh = m
        .default_bgp_config()
        .and_then(|c| c.spec.node_to_node_mesh_enabled)
        .unwrap_or(true);
    for r in &m.bgp_configs {
        config(m, &ctx(r, Kind::BGPConfiguration), default_mesh, out);
    }
    for r in &m.bgp_peers {
        peer(m, &ctx(r, Kind::BGPPeer), out);
    }
}

// ---------------------------------------------------------------------------
// shared field checks

/// Check an AS number field (plain or asdot).
pub(super) fn as_number<T>(
    c: &Ctx<T>,
    ptr: &str,
    v: &NumOrStr,
    out: &mut Vec<Diagnostic>,
) -> Option<u32> {
    match parse_as_number(v) {
        Ok(n) => Some(n),
        Err(e) => {
            out.push(
                c.err(codes::BAD_AS, ptr, format!("invalid AS number: {e}"))
                    .label("not an AS number")
                    .note("an AS number is 1..4294967295, or asdot `X.Y` with X and Y in 0..65535, not 0.0 (quote asdot values: `asNumber: \"1.10\"`, or YAML reads a number)"),
            );
            None
        }
    }
}

fn duration<T>(c: &Ctx<T>, ptr: &str, field: &str, v: Option<&str>, out: &mut Vec<Diagnostic>) {
    let Some(v) = v else { return };
    if let Err(e) = parse_duration_secs(v) {
        out.push(
            c.err(codes::BAD_DURATION, ptr, format!("`{field}`: {e}"))
                .label("not a duration")
                .note("durations are Go durations: a number with a unit (ns, us, ms, s, m, h), e.g. `120s`, `2m`, `1h30m`"),
        );
    }
}

// ---------------------------------------------------------------------------
// BGPConfiguration

fn config(m: &Model, c: &Ctx<BgpConfigurationSpec>, default_mesh: bool, out: &mut Vec<Diagnostic>) {
    let s = &c.r.spec;
    let name = c.r.meta.name.as_str();
    let is_default = name == "default";
    match name.strip_prefix("node.") {
        _ if is_default => {}
        Some(node) if !node.is_empty() && super::util::dns_subdomain_problem(node).is_none() => {
            if m.node(node).is_none() {
                let mut d = c
                    .warn(
                        codes::CONFIG_NODE_UNKNOWN,
                        "/metadata/name",
                        format!("no node named `{node}` is declared; this per-node configuration has no effect"),
                    )
                    .label("unknown node");
                if let Some(s) = did_you_mean(node, m.nodes.iter().map(|n| n.meta.name.as_str())) {
                    d = d.note(format!("did you mean `node.{s}`?"));
                }
                out.push(d);
            }
        }
        _ => {
            out.push(
                c.err(
                    codes::BGP_CONFIG_NAME,
                    "/metadata/name",
                    format!("`{name}` is not a valid BGPConfiguration name"),
                )
                .label("expected `default` or `node.<nodename>`")
                .note("the cluster-wide configuration is named `default`; a per-node override is named `node.` followed by the node's name, e.g. `node.rack1-rr`"),
            );
        }
    }

    if !is_default && name.starts_with("node.") {
        let fields: [(&str, bool); 4] = [
            (
                "nodeToNodeMeshEnabled",
                s.node_to_node_mesh_enabled.is_some(),
            ),
            ("asNumber", s.as_number.is_some()),
            ("serviceClusterIPs", !s.service_cluster_ips.is_empty()),
            ("serviceExternalIPs", !s.service_external_ips.is_empty()),
        ];
        for (field, set) in fields {
            if set {
                out.push(
                    c.err_key(
                        codes::BGP_CONFIG_DEFAULT_ONLY,
                        &format!("/spec/{field}"),
                        format!("`{field}` can only be set in the `default` BGPConfiguration"),
                    )
                    .label("not allowed in a per-node configuration")
                    .note(if field == "asNumber" {
                        "set a node's AS number in its Node resource: spec.bgp.asNumber"
                    } else {
                        "move this field to the BGPConfiguration named `default`"
                    }),
                );
            }
        }
    }

    let mesh = if is_default {
        s.node_to_node_mesh_enabled.unwrap_or(true)
    } else {
        default_mesh
    };
    if !mesh {
        for (field, set) in [
            ("nodeMeshPassword", s.node_mesh_password.is_some()),
            (
                "nodeMeshMaxRestartTime",
                s.node_mesh_max_restart_time.is_some(),
            ),
        ] {
            if set {
                let mut d = c
                    .err_key(
                        codes::MESH_OPTIONS_WITHOUT_MESH,
                        &format!("/spec/{field}"),
                        format!("`{field}` is set but the node-to-node mesh is disabled"),
                    )
                    .label("only applies to the mesh");
                if is_default {
                    d = d.related(
                        c.r.origin.value_span("/spec/nodeToNodeMeshEnabled"),
                        "mesh disabled here",
                    );
                } else if let Some(def) = m.default_bgp_config() {
                    d = d.related(
                        def.origin.value_span("/spec/nodeToNodeMeshEnabled"),
                        "mesh disabled here",
                    );
                }
                out.push(d.note("remove it, or enable the mesh with nodeToNodeMeshEnabled: true"));
            }
        }
    }

    if let Some(v) = &s.as_number {
        as_number(c, "/spec/asNumber", v, out);
    }
    duration(
        c,
        "/spec/nodeMeshMaxRestartTime",
        "nodeMeshMaxRestartTime",
        s.node_mesh_max_restart_time.as_deref(),
        out,
    );
    if s.listen_port == Some(0) {
        out.push(
            c.err(
                codes::OUT_OF_RANGE,
                "/spec/listenPort",
                "listenPort 0 is not a port",
            )
            .label("must be 1..65535")
            .note("BGP listens on port 179 by default"),
        );
    }
    for (field, v) in [
        ("ipv4NormalRoutePriority", s.ipv4_normal_route_priority),
        ("ipv6NormalRoutePriority", s.ipv6_normal_route_priority),
    ] {
        if let Some(p) = v {
            if !(1..=2_147_483_646).contains(&p) {
                out.push(
                    c.err(
                        codes::OUT_OF_RANGE,
                        &format!("/spec/{field}"),
                        format!("{field} {p} is out of range"),
                    )
                    .label("must be 1..2147483646")
                    .note("the kernel route metric for BGP-learned routes; default 1024"),
                );
            }
        }
    }

    for (field, list) in [
        ("serviceClusterIPs", &s.service_cluster_ips),
        ("serviceExternalIPs", &s.service_external_ips),
        ("serviceLoadBalancerIPs", &s.service_load_balancer_ips),
    ] {
        for (i, e) in list.iter().enumerate() {
            if e.cidr.is_empty() {
                out.push(
                    c.warn(codes::EMPTY_SERVICE_RANGE, &format!("/spec/{field}/{i}"), format!("empty {field} entry is ignored"))
                        .label("no `cidr`")
                        .note("calicoctl accepts an entry without a cidr and advertises nothing for it; remove it, or give it a `cidr: 10.96.0.0/12`"),
                );
                continue;
            }
            if let Err(e) = parse_net_strict(&e.cidr) {
                out.push(
                    c.err(codes::BAD_CIDR, &format!("/spec/{field}/{i}/cidr"), format!("invalid {field} entry: {e}"))
                        .label("not a strictly masked CIDR")
                        .note("service ranges are CIDRs whose address is the network address, e.g. `10.96.0.0/12`, or single addresses"),
                );
            }
        }
    }
    for (which, v) in [
        (
            "localWorkloadPeeringIPV4",
            s.local_workload_peering_ipv4.as_deref(),
        ),
        (
            "localWorkloadPeeringIPV6",
            s.local_workload_peering_ipv6.as_deref(),
        ),
    ] {
        let Some(v) = v else { continue };
        let want_v6 = which.ends_with('6');
        let ok = match v.parse::<IpAddr>() {
            Ok(IpAddr::V4(_)) => !want_v6,
            Ok(IpAddr::V6(_)) => want_v6,
            Err(_) => false,
        };
        if !ok {
            let fam = if want_v6 { "IPv6" } else { "IPv4" };
            out.push(
                c.err(
                    codes::BAD_FORMAT,
                    &format!("/spec/{which}"),
                    format!("{which} `{v}` is not an {fam} address"),
                )
                .label(format!("expected a bare {fam} address"))
                .note("the address workloads peer with on every node, without a prefix length"),
            );
        }
    }
    for (i, iface) in s.ignored_interfaces.iter().enumerate() {
        let why = if iface == "*" {
            Some("`*` alone would hide every interface from BGP".to_string())
        } else {
            interface_problem(&iface.replace('*', "x"))
        };
        if let Some(why) = why {
            out.push(
                c.err(
                    codes::BAD_INTERFACE,
                    &format!("/spec/ignoredInterfaces/{i}"),
                    format!("`{iface}` is not a valid ignoredInterfaces pattern: {why}"),
                )
                .label("invalid interface pattern")
                .note("patterns are 1..15 characters of `[A-Za-z0-9_.-]` and `*` wildcards, e.g. `eth1` or `docker*`; `*` alone is not allowed"),
            );
        }
    }
    communities(c, out);
}

/// `aa:nn` with 16-bit parts or `aa:nn:mm` with 32-bit parts.
pub(super) fn community_problem(v: &str) -> Option<String> {
    let parts: Vec<&str> = v.split(':').collect();
    let bits = match parts.len() {
        2 => 16,
        3 => 32,
        _ => return Some(format!("`{v}` is neither `aa:nn` nor `aa:nn:mm`")),
    };
    let max = (1u64 << bits) - 1;
    let form = if bits == 16 {
        "a standard community `aa:nn` has two 16-bit parts"
    } else {
        "a large community `aa:nn:mm` has three 32-bit parts"
    };
    for p in &parts {
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
            return Some(format!("`{p}` is not a number ({form})"));
        }
        if !p.parse::<u64>().is_ok_and(|n| n <= max) {
            return Some(format!("`{p}` is above {max} ({form})"));
        }
    }
    None
}

fn communities(c: &Ctx<BgpConfigurationSpec>, out: &mut Vec<Diagnostic>) {
    let s = &c.r.spec;
    let mut used = vec![false; s.communities.len()];
    for (i, com) in s.communities.iter().enumerate() {
        if let Some(why) = community_problem(&com.value) {
            out.push(
                c.err(
                    codes::BAD_COMMUNITY,
                    &format!("/spec/communities/{i}/value"),
                    format!("community `{}` has an invalid value: {why}", com.name),
                )
                .label("invalid community")
                .note("a standard community is `aa:nn` (two numbers 0..65535); a large community is `aa:nn:mm` (three numbers 0..4294967295)"),
            );
        }
        if let Some(j) = s.communities[..i].iter().position(|o| o.name == com.name) {
            out.push(
                c.err(
                    codes::COMMUNITY_REFERENCE,
                    &format!("/spec/communities/{i}/name"),
                    format!("community `{}` is defined twice", com.name),
                )
                .label("second definition")
                .related(
                    c.r.origin
                        .value_span(&format!("/spec/communities/{j}/name")),
                    "first defined here",
                )
                .note("community names are unique: prefixAdvertisements refer to them by name"),
            );
        }
    }
    for (i, adv) in s.prefix_advertisements.iter().enumerate() {
        if let Err(e) = parse_net_strict(&adv.cidr) {
            out.push(
                c.err(
                    codes::BAD_CIDR,
                    &format!("/spec/prefixAdvertisements/{i}/cidr"),
                    format!("invalid prefixAdvertisements CIDR: {e}"),
                )
                .label("not a strictly masked CIDR")
                .note("write the network address with its prefix length, e.g. `192.168.0.0/16`"),
            );
        }
        for (j, r) in adv.communities.iter().enumerate() {
            let ptr = format!("/spec/prefixAdvertisements/{i}/communities/{j}");
            if let Some(k) = s.communities.iter().position(|d| &d.name == r) {
                if let Some(u) = used.get_mut(k) {
                    *u = true;
                }
                continue;
            }
            if r.contains(':') {
                if let Some(why) = community_problem(r) {
                    out.push(
                        c.err(codes::BAD_COMMUNITY, &ptr, format!("invalid community value: {why}"))
                            .label("invalid community")
                            .note("a literal community is `aa:nn` (0..65535 each) or `aa:nn:mm` (0..4294967295 each)"),
                    );
                }
                continue;
            }
            let mut d = c
                .err(
                    codes::COMMUNITY_REFERENCE,
                    &ptr,
                    format!("community `{r}` is not defined"),
                )
                .label("unknown community name");
            let names: Vec<&str> = s.communities.iter().map(|d| d.name.as_str()).collect();
            if let Some(sug) = did_you_mean(r, names.iter().copied()) {
                d = d.note(format!("did you mean `{sug}`?"));
            }
            out.push(d.note("use a name defined under spec.communities, or a literal value `aa:nn` / `aa:nn:mm`"));
        }
    }
    for (i, com) in s.communities.iter().enumerate() {
        let first = s.communities.iter().position(|o| o.name == com.name) == Some(i);
        if first && !used.get(i).copied().unwrap_or(true) {
            out.push(
                c.err(
                    codes::COMMUNITY_REFERENCE,
                    &format!("/spec/communities/{i}/name"),
                    format!("community `{}` is defined but no prefixAdvertisement uses it", com.name),
                )
                .label("unused")
                .note("reference it from spec.prefixAdvertisements[].communities, or remove it (Calico rejects unused definitions)"),
            );
        }
    }
}

// ---------------------------------------------------------------------------
// BGPPeer

/// Treat empty strings like absent fields, as Calico does for string fields.
pub(super) fn set(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|s| !s.is_empty())
}

/// A peerIP that failed to parse: message, and optionally the byte range
/// inside the string to point at.
struct PeerIpError {
    msg: String,
    label: String,
    at: Option<(usize, usize)>,
}

/// Parse `IP`, `IPv4:port` or `[IPv6]:port`.
pub(super) fn parse_peer_ip(s: &str) -> Result<(IpAddr, Option<u16>), String> {
    parse_peer_ip_detail(s).map_err(|e| e.msg)
}

fn parse_port(s: &str, p: &str, at: usize) -> Result<u16, PeerIpError> {
    let bad = |label: &str| PeerIpError {
        msg: format!("`{s}` has an invalid port `{p}`"),
        label: label.into(),
        at: Some((at, p.len().max(1))),
    };
    if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("not a port number"));
    }
    match p.parse::<u32>() {
        Ok(n) if (1..=65535).contains(&n) => Ok(n as u16),
        _ => Err(bad("port must be 1..65535")),
    }
}

fn parse_peer_ip_detail(s: &str) -> Result<(IpAddr, Option<u16>), PeerIpError> {
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Ok((ip, None));
    }
    let whole = |msg: String, label: &str| PeerIpError {
        msg,
        label: label.into(),
        at: None,
    };
    if let Some(rest) = s.strip_prefix('[') {
        let Some((addr, port)) = rest.split_once("]:") else {
            return Err(whole(
                format!("`{s}` is not a valid peerIP"),
                "a bracketed IPv6 address must be followed by `:port`",
            ));
        };
        if addr.parse::<std::net::Ipv4Addr>().is_ok() {
            return Err(whole(
                format!("`{s}` puts an IPv4 address in brackets"),
                "brackets are only for IPv6; write `IPv4:port`",
            ));
        }
        let Ok(ip) = addr.parse::<Ipv6Addr>() else {
            return Err(PeerIpError {
                msg: format!("`{addr}` is not an IPv6 address"),
                label: "not an IPv6 address".into(),
                at: Some((1, addr.len().max(1))),
            });
        };
        let port = parse_port(s, port, addr.len() + 3)?;
        return Ok((IpAddr::V6(ip), Some(port)));
    }
    if let Some((addr, port)) = s.rsplit_once(':') {
        if addr.contains(':') {
            return Err(whole(
                format!("`{s}` is not an IPv6 address"),
                "to give an IPv6 peer a port, bracket the address: `[fd00::1]:179`",
            ));
        }
        let Ok(ip) = addr.parse::<std::net::Ipv4Addr>() else {
            return Err(PeerIpError {
                msg: format!("`{addr}` is not an IPv4 address"),
                label: "not an IPv4 address".into(),
                at: Some((0, addr.len().max(1))),
            });
        };
        let port = parse_port(s, port, addr.len() + 1)?;
        return Ok((IpAddr::V4(ip), Some(port)));
    }
    Err(whole(
        format!("`{s}` is not an IP address"),
        "not an IP address",
    ))
}

fn peer(m: &Model, c: &Ctx<BgpPeerSpec>, out: &mut Vec<Diagnostic>) {
    let s = &c.r.spec;
    let node = set(&s.node);
    let node_sel_text = set(&s.node_selector);
    let peer_ip = set(&s.peer_ip);
    let peer_sel_text = set(&s.peer_selector);
    let lws_text = set(&s.local_workload_selector);

    let node_sel = plain_selector(c, "/spec/nodeSelector", "nodeSelector", node_sel_text, out);
    let peer_sel = plain_selector(c, "/spec/peerSelector", "peerSelector", peer_sel_text, out);
    plain_selector(
        c,
        "/spec/localWorkloadSelector",
        "localWorkloadSelector",
        lws_text,
        out,
    );

    if let (Some(_), Some(_)) = (node, node_sel_text) {
        out.push(
            c.err(
                codes::PEER_NODE_AND_SELECTOR,
                "/spec/nodeSelector",
                "`node` and `nodeSelector` are both set",
            )
            .label("remove one of them")
            .related(c.r.origin.value_span("/spec/node"), "node set here")
            .note("a BGPPeer applies to one node (`node`), to the nodes a `nodeSelector` selects, or to every node when neither is set"),
        );
    }
    match (peer_ip, peer_sel_text, lws_text) {
        (Some(_), Some(_), _) => out.push(
            c.err(
                codes::PEER_IP_AND_SELECTOR,
                "/spec/peerSelector",
                "`peerIP` and `peerSelector` are both set",
            )
            .label("remove one of them")
            .related(c.r.origin.value_span("/spec/peerIP"), "peerIP set here")
            .note("peerIP names one remote speaker; peerSelector peers with every selected Calico node"),
        ),
        (None, None, None) => out.push(
            c.err_key(
                codes::PEER_IP_AND_SELECTOR,
                "/spec",
                "no remote side: set `peerIP` or `peerSelector`",
            )
            .label("no peerIP, peerSelector or localWorkloadSelector")
            .note("peerIP: an address (`10.0.0.1`, `10.0.0.1:1179`, `[fd00::1]:1179`); peerSelector: a selector over Node labels"),
        ),
        _ => {}
    }

    // peerIP form
    let mut peer_addr = None;
    if let Some(ip) = peer_ip {
        match parse_peer_ip_detail(ip) {
            Ok((a, _)) => peer_addr = Some(a),
            Err(e) => {
                let at = match e.at {
                    Some((start, len)) => span_in(&c.r.origin, "/spec/peerIP", ip, start, len),
                    None => c.r.origin.value_span("/spec/peerIP"),
                };
                out.push(
                    Diagnostic::error(codes::BAD_PEER_IP, format!("invalid peerIP: {}", e.msg))
                        .at(at)
                        .label(e.label)
                        .resource(c.display())
                        .note("peerIP is an IP address, `IPv4:port` or `[IPv6]:port`, with port 1..65535"),
                );
            }
        }
    }

    if peer_sel_text.is_some() && s.as_number.is_some() {
        out.push(
            c.err(
                codes::AS_WITH_PEER_SELECTOR,
                "/spec/asNumber",
                "`asNumber` must be empty when `peerSelector` is set",
            )
            .label("remove this")
            .related(c.r.origin.value_span("/spec/peerSelector"), "peerSelector set here")
            .note("peers chosen by peerSelector use each selected Node's spec.bgp.asNumber, or the default BGPConfiguration's asNumber"),
        );
    }

    if lws_text.is_some() {
        if peer_ip.is_some() {
            out.push(
                c.err(
                    codes::LOCAL_WORKLOAD,
                    "/spec/peerIP",
                    "`peerIP` must be empty when `localWorkloadSelector` is set",
                )
                .label("remove this")
                .related(
                    c.r.origin.value_span("/spec/localWorkloadSelector"),
                    "localWorkloadSelector set here",
                )
                .note("a local-workload peer's addresses come from the selected workloads"),
            );
        }
        if peer_sel_text.is_some() {
            out.push(
                c.err(
                    codes::LOCAL_WORKLOAD,
                    "/spec/peerSelector",
                    "`peerSelector` must be empty when `localWorkloadSelector` is set",
                )
                .label("remove this")
                .related(
                    c.r.origin.value_span("/spec/localWorkloadSelector"),
                    "localWorkloadSelector set here",
                )
                .note("a BGPPeer peers with selected workloads or with remote speakers, not both"),
            );
        }
        if s.as_number.is_none() {
            out.push(
                c.err(
                    codes::LOCAL_WORKLOAD,
                    "/spec/localWorkloadSelector",
                    "`localWorkloadSelector` requires `asNumber`",
                )
                .label("add asNumber: the workloads' AS")
                .note("netc cannot learn the AS of a workload; state it in spec.asNumber"),
            );
        }
    }

    if let Some(rb) = set(&s.reachable_by) {
        match (peer_ip, rb.parse::<IpAddr>()) {
            (None, _) => out.push(
                c.err(codes::REACHABLE_BY, "/spec/reachableBy", "`reachableBy` needs `peerIP`")
                    .label("no peerIP to route to")
                    .note("reachableBy adds a /32 route to peerIP via this gateway; with peerSelector the peers are nodes that need no such route"),
            ),
            (Some(_), Err(_)) => out.push(
                c.err(codes::REACHABLE_BY, "/spec/reachableBy", format!("`{rb}` is not an IP address"))
                    .label("expected a gateway address")
                    .note("reachableBy is the bare address of the gateway to the peer, e.g. `10.0.0.1`"),
            ),
            (Some(_), Ok(gw)) => {
                if let Some(p) = peer_addr {
                    if p.is_ipv4() != gw.is_ipv4() {
                        let fam = |a: IpAddr| if a.is_ipv4() { "IPv4" } else { "IPv6" };
                        out.push(
                            c.err(
                                codes::REACHABLE_BY,
                                "/spec/reachableBy",
                                format!("reachableBy {gw} is {} but peerIP {p} is {}", fam(gw), fam(p)),
                            )
                            .label("wrong address family")
                            .related(c.r.origin.value_span("/spec/peerIP"), "peerIP here")
                            .note("the gateway must be of the same family as the peer it leads to"),
                        );
                    }
                }
            }
        }
    }

    if s.keep_original_next_hop == Some(true) && s.next_hop_mode.is_some() {
        out.push(
            c.err(
                codes::NEXT_HOP_BOTH,
                "/spec/nextHopMode",
                "`keepOriginalNextHop` and `nextHopMode` are both set",
            )
            .label("set only one")
            .related(
                c.r.origin.value_span("/spec/keepOriginalNextHop"),
                "deprecated form here",
            )
            .note("keepOriginalNextHop: true is the deprecated form of nextHopMode: Keep"),
        );
    }
    if let Some(v) = &s.as_number {
        as_number(c, "/spec/asNumber", v, out);
    }
    if let Some(v) = &s.local_as_number {
        as_number(c, "/spec/localASNumber", v, out);
    }
    duration(
        c,
        "/spec/maxRestartTime",
        "maxRestartTime",
        s.max_restart_time.as_deref(),
        out,
    );
    duration(
        c,
        "/spec/keepaliveTime",
        "keepaliveTime",
        s.keepalive_time.as_deref(),
        out,
    );
    // BIRD refuses a keepalive longer than the hold time ("Keepalive time
    // must be at most hold time"); neither Calico nor netc sets a hold time,
    // so BIRD's default of 240 s is the bound.
    if let Some(k) = s
        .keepalive_time
        .as_deref()
        .and_then(|k| parse_duration_secs(k).ok())
    {
        if k.round() > 240.0 {
            out.push(
                c.err(
                    codes::BAD_DURATION,
                    "/spec/keepaliveTime",
                    format!("keepaliveTime is {}s, longer than BIRD's hold time of 240s", k.round()),
                )
                .label("at most 240s")
                .note("BIRD rejects the whole configuration when the keepalive time exceeds the hold time (\"Keepalive time must be at most hold time\"); the hold time is BIRD's default, 240s, so keepaliveTime must be at most 240s (conventionally a third of it, 80s)"),
            );
        }
    }
    if let Some(rp) = &s.reverse_peering {
        if rp != "Auto" && rp != "Manual" {
            out.push(
                c.err(
                    codes::NOT_ALLOWED,
                    "/spec/reversePeering",
                    format!("reversePeering `{rp}` is not allowed"),
                )
                .label("expected Auto or Manual"),
            );
        }
    }

    for (i, f) in s.filters.iter().enumerate() {
        let ptr = format!("/spec/filters/{i}");
        let Some(filter) = m.bgp_filter(f) else {
            let mut d = c
                .err(
                    codes::UNKNOWN_FILTER,
                    &ptr,
                    format!("BGPFilter `{f}` is not declared"),
                )
                .label("unknown BGPFilter");
            if let Some(sug) = did_you_mean(f, m.bgp_filters.iter().map(|x| x.meta.name.as_str())) {
                d = d.note(format!("did you mean `{sug}`?"));
            }
            out.push(d.note("Calico would skip the missing filter and run the peering unfiltered; declare the BGPFilter or fix the name"));
            continue;
        };
        if let Some(j) = s.filters[..i].iter().position(|g| g == f) {
            out.push(
                c.warn(codes::FILTER_LISTED_TWICE, &ptr, format!("BGPFilter `{f}` is listed twice"))
                    .label("listed again")
                    .related(c.r.origin.value_span(&format!("/spec/filters/{j}")), "first listed here")
                    .note("the first occurrence decides every route it matches (its functions accept or reject), so the second has no effect"),
            );
            continue;
        }
        // Which families this peering has sessions in: a peerIP peering one,
        // a peerSelector peering (nodes may have both addresses) either.
        let fams: &[bool] = match peer_addr {
            Some(IpAddr::V4(_)) => &[false],
            Some(IpAddr::V6(_)) => &[true],
            None => &[false, true],
        };
        let fs = &filter.spec;
        let has = |v6: bool| {
            if v6 {
                !fs.import_v6.is_empty() || !fs.export_v6.is_empty()
            } else {
                !fs.import_v4.is_empty() || !fs.export_v4.is_empty()
            }
        };
        if !fams.iter().any(|v6| has(*v6)) {
            let fam = match fams {
                [false] => "IPv4",
                [true] => "IPv6",
                _ => "any",
            };
            out.push(
                c.warn(
                    codes::FILTER_EMPTY_REF,
                    &ptr,
                    format!("BGPFilter `{f}` has no {fam} rules, so it does nothing on this peering"),
                )
                .label("no effect here")
                .related(filter.origin.value_span("/metadata/name"), "BGPFilter declared here")
                .note("IPv4 sessions use importV4/exportV4, IPv6 sessions importV6/exportV6; add rules for this peering's family or remove the reference"),
            );
        }
    }

    // References to nodes.
    if let Some(n) = node {
        if m.node(n).is_none() {
            let mut d = c
                .err(
                    codes::UNKNOWN_NODE,
                    "/spec/node",
                    format!("no node named `{n}` is declared"),
                )
                .label("unknown node");
            if let Some(sug) = did_you_mean(n, m.nodes.iter().map(|x| x.meta.name.as_str())) {
                d = d.label(format!("unknown node; did you mean `{sug}`?"));
            }
            out.push(
                d.note("declare the Node, or fix the name; the peering would never be configured"),
            );
        }
    }
    for (field, sel, text) in [
        ("nodeSelector", &node_sel, node_sel_text),
        ("peerSelector", &peer_sel, peer_sel_text),
    ] {
        let (Some(sel), Some(_)) = (sel, text) else {
            continue;
        };
        if !m.nodes.iter().any(|n| sel.matches(&n.meta.labels)) {
            out.push(
                c.warn(
                    codes::SELECTS_NOTHING,
                    &format!("/spec/{field}"),
                    format!("`{field}` matches no declared node"),
                )
                .label("matches no node")
                .note(if field == "nodeSelector" {
                    "no node gets this peering; check the label names and values against the Nodes' metadata.labels"
                } else {
                    "the peering has no remote side; check the label names and values against the Nodes' metadata.labels"
                }),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_ips() {
        assert!(parse_peer_ip("10.0.0.1").is_ok());
        assert!(parse_peer_ip("fd00::1").is_ok());
        assert!(parse_peer_ip("fd00::1:179").is_ok());
        assert_eq!(
            parse_peer_ip("10.0.0.1:179").ok().and_then(|x| x.1),
            Some(179)
        );
        assert_eq!(
            parse_peer_ip("[fd00::1]:1179").ok().and_then(|x| x.1),
            Some(1179)
        );
        assert!(parse_peer_ip("10.0.0.1:0").is_err());
        assert!(parse_peer_ip("10.0.0.1:99999").is_err());
        assert!(parse_peer_ip("[10.0.0.1]:179").is_err());
        assert!(parse_peer_ip("[fd00::1]").is_err());
        assert!(parse_peer_ip("[fd00::1]:").is_err());
        assert!(parse_peer_ip("999.1.1.1").is_err());
        assert!(parse_peer_ip("é:1").is_err());
        assert!(parse_peer_ip("").is_err());
    }

    #[test]
    fn community_values() {
        assert_eq!(community_problem("65000:100"), None);
        assert_eq!(community_problem("4200000000:1:2"), None);
        assert!(community_problem("65536:1").is_some());
        assert!(community_problem("1:2:3:4").is_some());
        assert!(community_problem("a:b").is_some());
        assert!(community_problem("4294967296:1:1").is_some());
    }
}
