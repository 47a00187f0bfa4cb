//! Cross-resource BGP checks calicoctl cannot do: which peerings each node
//! ends up with, and what BIRD would make of them.
//!
//! - E0509: a route reflector would make an eBGP neighbor an `rr client`
//!   (BIRD: "Only internal neighbor can be RR client").
//! - W0406: the node-to-node mesh is off and a BGP node is left with no
//!   peering at all (the mesh → route-reflector migration outage).
//! - W0514: the mesh is on and a BGPPeer adds a second session between two
//!   nodes that already peer over the mesh (Calico writes both; so does netc).

use super::bgp::{parse_peer_ip, set};
use super::node::node_addr;
use super::util::list_names;
use crate::diag::{codes, Diagnostic};
use crate::model::{parse_as_number, BgpPeerSpec, Model, NodeSpec, Resource, DEFAULT_AS_NUMBER};
use crate::selector::Selector;
use std::collections::HashMap;
use std::net::IpAddr;

/// What the cross checks need to know about one node.
struct NodeInfo<'a> {
    r: &'a Resource<NodeSpec>,
    /// Runs BGP (has a non-empty spec.bgp).
    bgp: bool,
    asn: u32,
    /// The AS came from the Node itself (for messages).
    own_as: bool,
    cluster: Option<&'a str>,
}

/// One BGPPeer resolved against the declared nodes.
struct PeerInfo<'a> {
    r: &'a Resource<BgpPeerSpec>,
    /// Indices of the nodes the peering is configured on.
    on: Vec<usize>,
    /// Remote side when it is a declared node: by peerIP, or every node the
    /// peerSelector selects.
    remotes: Vec<usize>,
    /// Remote side given by peerIP (whether or not it is a node).
    peer_ip: Option<IpAddr>,
    /// AS the BGPPeer states for its remote side (peerIP peers).
    remote_as: Option<u32>,
    local_as: Option<u32>,
}

pub(super) fn check(m: &Model, out: &mut Vec<Diagnostic>) {
    let default_as = m
        .default_bgp_config()
        .and_then(|c| c.spec.as_number.as_ref())
        .and_then(|v| parse_as_number(v).ok())
        .unwrap_or(DEFAULT_AS_NUMBER);
    let nodes: Vec<NodeInfo> = m
        .nodes
        .iter()
        .map(|r| {
            let b = r.spec.bgp.as_ref();
            let own = b
                .and_then(|b| b.as_number.as_ref())
                .and_then(|v| parse_as_number(v).ok());
            NodeInfo {
                r,
                bgp: b.is_some_and(|b| b.ipv4_address.is_some() || b.ipv6_address.is_some()),
                asn: own.unwrap_or(default_as),
                own_as: own.is_some(),
                cluster: b
                    .and_then(|b| b.route_reflector_cluster_id.as_deref())
                    .filter(|s| !s.is_empty()),
            }
        })
        .collect();
    let mut by_addr: HashMap<IpAddr, usize> = HashMap::new();
    for (i, n) in nodes.iter().enumerate() {
        let b = n.r.spec.bgp.as_ref();
        for a in [
            node_addr(b.and_then(|b| b.ipv4_address.as_deref())),
            node_addr(b.and_then(|b| b.ipv6_address.as_deref())),
        ]
        .into_iter()
        .flatten()
        {
            by_addr.entry(a).or_insert(i);
        }
    }
    let peers: Vec<PeerInfo> = m
        .bgp_peers
        .iter()
        .map(|r| resolve(r, &nodes, &by_addr))
        .collect();
    rr_clients(&nodes, &peers, out);
    mesh_off(m, &nodes, &peers, out);
    mesh_collisions(m, &nodes, &peers, out);
    v6_without_address(&nodes, &peers, out);
}

/// W0529: an IPv6 peerIP peering on nodes with no IPv6 BGP address has no
/// session there (confd's bird6.cfg: "IPv6 disabled on this node").
fn v6_without_address(nodes: &[NodeInfo], peers: &[PeerInfo], out: &mut Vec<Diagnostic>) {
    for p in peers {
        let Some(IpAddr::V6(_)) = p.peer_ip else {
            continue;
        };
        let missing: Vec<&str> =
            p.on.iter()
                .map(|&i| &nodes[i])
                .filter(|n| {
                    let b = n.r.spec.bgp.as_ref();
                    node_addr(b.and_then(|b| b.ipv4_address.as_deref())).is_some()
                        && node_addr(b.and_then(|b| b.ipv6_address.as_deref())).is_none()
                })
                .map(|n| n.r.meta.name.as_str())
                .collect();
        if missing.is_empty() {
            continue;
        }
        out.push(
            Diagnostic::warning(
                codes::V6_PEER_WITHOUT_V6,
                format!(
                    "{} no IPv6 address, so this IPv6 peering has no session there",
                    if missing.len() == 1 {
                        format!("node `{}` has", missing[0])
                    } else {
                        format!("{} nodes have", missing.len())
                    }
                ),
            )
            .at(p.r.origin.value_span("/spec/peerIP"))
            .label(format!("no session on {}", list_names(&missing, 4)))
            .resource(format!("BGPPeer {}", p.r.meta.name))
            .note("IPv6 sessions use the node's spec.bgp.ipv6Address as their source; add one, or limit the BGPPeer to nodes that have one (node / nodeSelector)"),
        );
    }
}

/// W0514: with the mesh on, every two BGP nodes that are not route
/// reflectors have a `Mesh_<ip>` session (per family both have an address
/// in). A BGPPeer between two such nodes adds a `Node_`/`Global_` session to
/// the same neighbour address: Calico (confd's processMeshPeers and
/// processPeersFromPath) writes both protocols, and BIRD then has two
/// sessions competing for one TCP connection.
fn mesh_collisions(m: &Model, nodes: &[NodeInfo], peers: &[PeerInfo], out: &mut Vec<Diagnostic>) {
    let mesh = m
        .default_bgp_config()
        .and_then(|c| c.spec.node_to_node_mesh_enabled)
        .unwrap_or(true);
    if !mesh {
        return;
    }
    let addrs = |i: usize| {
        let b = nodes[i].r.spec.bgp.as_ref();
        (
            node_addr(b.and_then(|b| b.ipv4_address.as_deref())),
            node_addr(b.and_then(|b| b.ipv6_address.as_deref())),
        )
    };
    // In the mesh: has an IPv4 address (netc and confd need it) and is no
    // route reflector.
    let meshed = |i: usize| nodes[i].cluster.is_none() && addrs(i).0.is_some();
    for p in peers {
        let mut pairs: Vec<String> = Vec::new();
        for &ni in &p.on {
            if !meshed(ni) {
                continue;
            }
            for &mi in &p.remotes {
                if mi == ni || !meshed(mi) {
                    continue;
                }
                // A peerIP names one family; a peerSelector peering has a
                // session per family both nodes have an address in.
                let collides = match p.peer_ip {
                    Some(IpAddr::V4(_)) => true,
                    Some(IpAddr::V6(_)) => addrs(ni).1.is_some(),
                    None => true,
                };
                if collides {
                    pairs.push(format!(
                        "{} → {}",
                        nodes[ni].r.meta.name, nodes[mi].r.meta.name
                    ));
                }
            }
        }
        if pairs.is_empty() {
            continue;
        }
        let ptr = if p.peer_ip.is_some() {
            "/spec/peerIP"
        } else {
            "/spec/peerSelector"
        };
        let n = pairs.len();
        out.push(
            Diagnostic::warning(
                codes::SESSION_COLLISION,
                format!(
                    "the node-to-node mesh already connects {}; this BGPPeer adds a second session to the same neighbour",
                    if n == 1 { "these nodes".to_string() } else { format!("these {n} node pairs") }
                ),
            )
            .at(p.r.origin.value_span(ptr))
            .label(format!("{} also peer over the mesh", list_names(&pairs, 4)))
            .resource(format!("BGPPeer {}", p.r.meta.name))
            .note("netc writes both sessions (`Mesh_<ip>` and `Node_`/`Global_<ip>`), as Calico does; BIRD keeps one TCP connection per neighbour address, so they compete for it. Disable the mesh (nodeToNodeMeshEnabled: false) and peer explicitly, or drop this BGPPeer"),
        );
    }
}

/// Parse a selector field, treating a parse failure as "selects nothing"
/// (the syntax error is reported by bgp.rs).
fn sel(v: &Option<String>) -> Option<Option<Selector>> {
    set(v).map(|t| Selector::parse(t).ok())
}

fn resolve<'a>(
    r: &'a Resource<BgpPeerSpec>,
    nodes: &[NodeInfo],
    by_addr: &HashMap<IpAddr, usize>,
) -> PeerInfo<'a> {
    let s = &r.spec;
    let on: Vec<usize> = if let Some(name) = set(&s.node) {
        nodes
            .iter()
            .position(|n| n.r.meta.name == name)
            .into_iter()
            .collect()
    } else if let Some(ns) = sel(&s.node_selector) {
        match ns {
            Some(ns) => (0..nodes.len())
                .filter(|&i| ns.matches(&nodes[i].r.meta.labels))
                .collect(),
            None => Vec::new(),
        }
    } else {
        (0..nodes.len()).collect()
    };
    let peer_ip = set(&s.peer_ip)
        .and_then(|t| parse_peer_ip(t).ok())
        .map(|(a, _)| a);
    let mut remotes = Vec::new();
    if let Some(a) = peer_ip {
        remotes.extend(by_addr.get(&a).copied());
    } else if set(&s.local_workload_selector).is_none() {
        if let Some(Some(ps)) = sel(&s.peer_selector) {
            remotes = (0..nodes.len())
                .filter(|&i| nodes[i].bgp && ps.matches(&nodes[i].r.meta.labels))
                .collect();
        }
    }
    PeerInfo {
        r,
        on,
        remotes,
        peer_ip,
        remote_as: s.as_number.as_ref().and_then(|v| parse_as_number(v).ok()),
        local_as: s
            .local_as_number
            .as_ref()
            .and_then(|v| parse_as_number(v).ok()),
    }
}

/// (route reflector, its AS for this peering, offending remotes with their AS)
type RrFinding = (usize, u32, Vec<(usize, u32)>);

/// E0509: for each route reflector N and each explicit peering of N whose
/// remote is a declared node M: if M is in another AS and not in N's cluster,
/// the peering would be an eBGP `rr client`. RR nodes take no part in the
/// mesh, so only BGPPeers matter. A peerSelector peering exists on both
/// sides: on the nodes the BGPPeer applies to, and (reverse peering) on each
/// selected node towards them, which is how reflectors usually get clients.
fn rr_clients(nodes: &[NodeInfo], peers: &[PeerInfo], out: &mut Vec<Diagnostic>) {
    for p in peers {
        let mut found: Vec<RrFinding> = Vec::new();
        for &ni in &p.on {
            let n = &nodes[ni];
            if n.cluster.is_none() || !n.bgp {
                continue;
            }
            let local_as = p.local_as.unwrap_or(n.asn);
            let bad: Vec<(usize, u32)> = p
                .remotes
                .iter()
                .filter(|&&mi| mi != ni)
                .map(|&mi| {
                    // A peerIP peering uses the AS the BGPPeer states.
                    let asn = if p.peer_ip.is_some() {
                        p.remote_as.unwrap_or(nodes[mi].asn)
                    } else {
                        nodes[mi].asn
                    };
                    (mi, asn)
                })
                .filter(|&(mi, asn)| asn != local_as && nodes[mi].cluster != n.cluster)
                .collect();
            if !bad.is_empty() {
                found.push((ni, local_as, bad));
            }
        }
        if p.peer_ip.is_none() {
            for &mi in &p.remotes {
                let rr = &nodes[mi];
                if rr.cluster.is_none() || !rr.bgp {
                    continue;
                }
                let mut bad: Vec<(usize, u32)> =
                    p.on.iter()
                        .filter(|&&ki| ki != mi && nodes[ki].bgp)
                        .map(|&ki| (ki, p.local_as.unwrap_or(nodes[ki].asn)))
                        .filter(|&(ki, asn)| asn != rr.asn && nodes[ki].cluster != rr.cluster)
                        .collect();
                if let Some((_, _, fwd)) = found.iter_mut().find(|(x, _, _)| *x == mi) {
                    bad.retain(|b| !fwd.contains(b));
                    fwd.extend(bad);
                } else if !bad.is_empty() {
                    found.push((mi, rr.asn, bad));
                }
            }
        }
        for (ni, local_as, bad) in found {
            let n = &nodes[ni];
            let cluster = n.cluster.unwrap_or_default();
            let ptr = if p.peer_ip.is_some() {
                "/spec/peerIP"
            } else {
                "/spec/peerSelector"
            };
            let described: Vec<String> = bad
                .iter()
                .map(|&(mi, asn)| format!("{} (AS {asn})", nodes[mi].r.meta.name))
                .collect();
            let (mi0, as0) = bad[0];
            let m0 = &nodes[mi0];
            let msg = if bad.len() == 1 {
                format!(
                    "route reflector `{}` (AS {local_as}) would make node `{}` (AS {as0}) its route-reflector client, but they are in different ASes",
                    n.r.meta.name, m0.r.meta.name
                )
            } else {
                format!(
                    "route reflector `{}` (AS {local_as}) would make {} eBGP neighbors its route-reflector clients: {}",
                    n.r.meta.name,
                    bad.len(),
                    list_names(&described, 4)
                )
            };
            let mut d = Diagnostic::error(codes::EBGP_RR_CLIENT, msg)
                .at(p.r.origin.value_span(ptr))
                .label("eBGP peering from a route reflector")
                .resource(format!("BGPPeer {}", p.r.meta.name))
                .related(
                    n.r.origin.value_span("/spec/bgp/routeReflectorClusterID"),
                    format!(
                        "`{}` is a route reflector (cluster {cluster})",
                        n.r.meta.name
                    ),
                );
            if m0.own_as && !(p.peer_ip.is_some() && p.remote_as.is_some()) {
                d = d.related(
                    m0.r.origin.value_span("/spec/bgp/asNumber"),
                    format!("`{}` is in AS {as0}", m0.r.meta.name),
                );
            }
            out.push(d.note(
                "a route reflector makes every node it peers with outside its cluster an `rr client`; BIRD only allows that for internal (same-AS) neighbors and rejects the whole config (\"Only internal neighbor can be RR client\"), so the reflector keeps no sessions. Put both nodes in the same AS, give the peer the reflector's routeReflectorClusterID, or peer with the other AS from a node that is not a route reflector",
            ));
        }
    }
}

/// W0406: mesh disabled and a BGP node with no peering left.
fn mesh_off(m: &Model, nodes: &[NodeInfo], peers: &[PeerInfo], out: &mut Vec<Diagnostic>) {
    let Some(cfg) = m.default_bgp_config() else {
        return;
    };
    if cfg.spec.node_to_node_mesh_enabled != Some(false) {
        return;
    }
    let mut peered = vec![false; nodes.len()];
    for p in peers {
        // Sessions configured on each node of `on`.
        for &ni in &p.on {
            let has_remote = match p.peer_ip {
                Some(a) => {
                    let own = nodes[ni].r.spec.bgp.as_ref();
                    node_addr(own.and_then(|b| b.ipv4_address.as_deref())) != Some(a)
                        && node_addr(own.and_then(|b| b.ipv6_address.as_deref())) != Some(a)
                }
                None => p.remotes.iter().any(|&mi| mi != ni),
            };
            if has_remote {
                if let Some(x) = peered.get_mut(ni) {
                    *x = true;
                }
            }
        }
        // Nodes a peerSelector selects get the reverse session.
        if p.peer_ip.is_none() {
            for &mi in &p.remotes {
                if p.on.iter().any(|&ni| ni != mi) {
                    if let Some(x) = peered.get_mut(mi) {
                        *x = true;
                    }
                }
            }
        }
    }
    let lonely: Vec<&NodeInfo> = nodes
        .iter()
        .enumerate()
        .filter(|(i, n)| n.bgp && !peered[*i])
        .map(|(_, n)| n)
        .collect();
    let note = "no route reflector, BGPPeer or peerSelector peering covers this node. Before disabling the mesh, create the route-reflector peerings (e.g. a BGPPeer with nodeSelector all() and peerSelector selecting the reflectors)";
    // One warning per node reads well for a few; for a fleet (a cluster
    // that never used the mesh) it would bury everything else: one warning
    // then, naming the first nodes.
    const EACH_UP_TO: usize = 3;
    if lonely.len() > EACH_UP_TO {
        let names: Vec<&str> = lonely.iter().map(|n| n.r.meta.name.as_str()).collect();
        let mut d = Diagnostic::warning(
            codes::NODE_WITHOUT_PEERS,
            format!(
                "the node-to-node mesh is disabled and {} nodes have no BGP peering left: {}, … ({} more)",
                lonely.len(),
                names[..EACH_UP_TO].join(", "),
                lonely.len() - EACH_UP_TO
            ),
        )
        .at(cfg.origin.value_span("/spec/nodeToNodeMeshEnabled"))
        .label(format!("{} nodes lose every route they learned over BGP", lonely.len()))
        .resource(format!("BGPConfiguration {}", cfg.meta.name));
        for n in &lonely[..EACH_UP_TO] {
            d = d.related(
                n.r.origin.value_span("/metadata/name"),
                "node with no peers",
            );
        }
        out.push(d.note(note));
        return;
    }
    for n in lonely {
        out.push(
            Diagnostic::warning(
                codes::NODE_WITHOUT_PEERS,
                format!(
                    "the node-to-node mesh is disabled and node `{}` has no BGP peering left",
                    n.r.meta.name
                ),
            )
            .at(cfg.origin.value_span("/spec/nodeToNodeMeshEnabled"))
            .label(format!(
                "`{}` loses every route it learned over BGP",
                n.r.meta.name
            ))
            .related(
                n.r.origin.value_span("/metadata/name"),
                "node with no peers",
            )
            .resource(format!("BGPConfiguration {}", cfg.meta.name))
            .note(note),
        );
    }
}
