//! BGP sessions and BIRD policy, following Calico confd (docs/calico.md §3.2–3.4).
//!
//! The session rules mirror `confd/pkg/backends/calico/client.go`
//! (`updatePeersV1`: which BGPPeers apply to a node, global before
//! node-specific, the automatic reverse peerings, de-duplication by
//! (peer IP, port)) and `bgp_processor.go` (`processMeshPeers`,
//! `buildPeerFromData`: names, passive, route-reflector clients, next hop).
//! Where netc decides differently the comment says so and why.
//!
//! Both families are lowered: IPv4 sessions are Calico's `bird.cfg` ones,
//! IPv6 sessions (nodes' `spec.bgp.ipv6Address`, `[v6]:port` peers) its
//! `bird6.cfg` ones — confd runs the same rules once per family. A node
//! without an IPv4 address has no BGP at all (confd needs the IPv4 address
//! for the router id); one without an IPv6 address has no IPv6 sessions
//! (bird6.cfg: "IPv6 disabled on this node").
//!
//! BGPFilters (bgp_filter.rs) are attached to the sessions of the BGPPeers
//! that list them, never to the mesh (processMeshPeers passes no filters).

use super::{bgp_filter, Cluster, LowerError, NodeFacts};
use crate::ir::*;
use crate::model::{
    parse_as_number, parse_duration_secs, BgpConfigurationSpec, BgpPassword, BgpPeerSpec,
    NextHopMode, Resource, SourceAddress, DEFAULT_LISTEN_PORT, DEFAULT_ROUTE_PRIORITY,
};
use crate::selector::Selector;
use ipnet::IpNet;
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Node label that keeps a node from advertising service ranges
/// (Calico's `ExcludeServiceAdvertisement`).
const EXCLUDE_SERVICE_LABEL: &str = "node.kubernetes.io/exclude-from-external-load-balancers";

pub(super) fn lower(c: &Cluster, n: &NodeFacts) -> Result<Option<Bgp>, LowerError> {
    let Some(addr) = n.address else {
        return Ok(None);
    };
    let me = addr.addr();
    let ctx = Ctx::new(c, n, me);
    let me6 = ctx.v6(&n.name);
    let default_cfg = c.model.default_bgp_config().map(|r| &r.spec);
    let node_cfg = c.model.node_bgp_config(&n.name).map(|r| &r.spec);

    let mut sessions = ctx.mesh_sessions()?;
    let (explicit, static_routes) = ctx.explicit_sessions()?;
    sessions.extend(explicit);
    // Calico sorts peers by protocol name. A name can only repeat when two
    // nodes share an address (validation rejects that); BIRD would refuse
    // the whole file ("Symbol already defined"), so keep the first.
    sessions.sort_by(|a, b| a.name.cmp(&b.name));
    sessions.dedup_by(|b, a| a.name == b.name);

    let log_level = log_level(
        node_cfg
            .and_then(|s| nonempty(&s.log_severity_screen))
            .or_else(|| default_cfg.and_then(|s| nonempty(&s.log_severity_screen))),
    );

    let mut pools: Vec<PoolRouting> = c
        .pools
        .iter()
        .filter(|p| p.cidr.addr().is_ipv4() || me6.is_some())
        .map(|p| PoolRouting {
            cidr: p.cidr,
            export: !p.disabled && !p.disable_bgp_export,
            // Who programs the pool's cluster routes is decided once, by the
            // routes lowering (BIRD 2 has no krt_tunnel: IPIP is always netc's).
            bird_programs_kernel: !super::routes::netc_programs(p, c),
            disabled: p.disabled,
        })
        .collect();
    pools.sort_by_key(|a| a.cidr);

    let mut local_blocks: Vec<IpNet> = n
        .blocks
        .iter()
        .map(|(_, b)| *b)
        .filter(|b| b.addr().is_ipv4() || me6.is_some())
        .collect();
    local_blocks.sort();
    local_blocks.dedup();

    // Service ranges come from the default configuration only (Calico reads
    // them once, from the global resource, and advertises them from every
    // node that is not excluded).
    let svc = |f: fn(&BgpConfigurationSpec) -> &Vec<crate::model::CidrEntry>| -> Vec<IpNet> {
        default_cfg
            .map(|s| {
                f(s).iter()
                    .filter_map(|e| parse_net(&e.cidr))
                    .filter(|n| n.addr().is_ipv4() || me6.is_some())
                    .collect()
            })
            .unwrap_or_default()
    };
    let cluster_ips = svc(|s| &s.service_cluster_ips);
    let external_ips = svc(|s| &s.service_external_ips);
    let lb_ips = svc(|s| &s.service_load_balancer_ips);
    let mut reject_cidrs: Vec<IpNet> = cluster_ips
        .iter()
        .chain(&external_ips)
        .chain(&lb_ips)
        .copied()
        .collect();
    reject_cidrs.sort();
    reject_cidrs.dedup();
    let excluded = n.labels.get(EXCLUDE_SERVICE_LABEL).map(String::as_str) == Some("true");
    let service_cidrs = if excluded {
        Vec::new()
    } else {
        reject_cidrs.clone()
    };
    let mut reflected_cidrs: Vec<IpNet> = if n.cluster_id.is_some() {
        lb_ips.iter().chain(&external_ips).copied().collect()
    } else {
        Vec::new()
    };
    reflected_cidrs.sort();
    reflected_cidrs.dedup();

    // prefixAdvertisements: the node's own configuration replaces the
    // default one entirely when it has any (Calico's node-or-global lookup).
    let communities = match node_cfg.filter(|s| !s.prefix_advertisements.is_empty()) {
        Some(s) => communities(s),
        None => default_cfg.map(communities).unwrap_or_default(),
    };

    let listen_address = default_cfg
        .and_then(|s| s.bind_mode.as_deref())
        .filter(|m| *m == "NodeIP")
        .map(|_| IpAddr::V4(me));

    Ok(Some(Bgp {
        router_id: me,
        ipv6_address: me6,
        asn: n.asn,
        listen_port: ctx.ports.of(&n.name).unwrap_or(DEFAULT_LISTEN_PORT),
        listen_address,
        log_level,
        cluster_id: n.cluster_id,
        ignored_interfaces: default_cfg
            .map(|s| s.ignored_interfaces.clone())
            .unwrap_or_default(),
        local_blocks,
        static_routes,
        pools,
        communities,
        service_cidrs,
        reject_cidrs,
        reflected_cidrs,
        route_priority: default_cfg
            .and_then(|s| s.ipv4_normal_route_priority)
            .unwrap_or(DEFAULT_ROUTE_PRIORITY),
        route_priority_v6: default_cfg
            .and_then(|s| s.ipv6_normal_route_priority)
            .unwrap_or(DEFAULT_ROUTE_PRIORITY),
        filters: super::bgp_filter::functions(c.model)?,
        sessions,
    }))
}

fn nonempty(s: &Option<String>) -> Option<&str> {
    s.as_deref().filter(|s| !s.is_empty())
}

/// confd: `debug` and `info` kept, anything else is `none`; unset is `info`.
fn log_level(sev: Option<&str>) -> BirdLogLevel {
    match sev.map(str::to_ascii_lowercase).as_deref() {
        None | Some("info") => BirdLogLevel::Info,
        Some("debug") => BirdLogLevel::Debug,
        Some(_) => BirdLogLevel::None,
    }
}

/// A CIDR, or a bare address as a host route.
fn parse_net(s: &str) -> Option<IpNet> {
    s.parse::<IpNet>()
        .map(|n| n.trunc())
        .ok()
        .or_else(|| s.parse::<IpAddr>().ok().map(IpNet::from))
}

fn communities(s: &BgpConfigurationSpec) -> Vec<CommunityAdvert> {
    let mut out = Vec::new();
    for adv in &s.prefix_advertisements {
        let Some(cidr) = parse_net(&adv.cidr) else {
            continue;
        };
        let mut standard = Vec::new();
        let mut large = Vec::new();
        for r in &adv.communities {
            // A literal value, else the value of the community defined under
            // that name in the same resource (Calico's lookup).
            let value = if is_community_value(r) {
                Some(r.as_str())
            } else {
                s.communities
                    .iter()
                    .find(|d| &d.name == r)
                    .map(|d| d.value.as_str())
            };
            let Some(value) = value else { continue };
            let parts: Vec<&str> = value.split(':').collect();
            match parts.as_slice() {
                [a, b] => {
                    if let (Ok(a), Ok(b)) = (a.parse(), b.parse()) {
                        standard.push((a, b));
                    }
                }
                [a, b, c] => {
                    if let (Ok(a), Ok(b), Ok(c)) = (a.parse(), b.parse(), c.parse()) {
                        large.push((a, b, c));
                    }
                }
                _ => {}
            }
        }
        standard.sort();
        standard.dedup();
        large.sort();
        large.dedup();
        if !standard.is_empty() || !large.is_empty() {
            out.push(CommunityAdvert {
                cidr,
                standard,
                large,
            });
        }
    }
    out
}

/// `aa:nn` or `aa:nn:mm`, digits only (Calico's standard/large community regexes).
fn is_community_value(v: &str) -> bool {
    let parts: Vec<&str> = v.split(':').collect();
    (parts.len() == 2 || parts.len() == 3)
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// Seconds of a Go duration, rounded as confd does (`math.Round`).
fn seconds(field: &str, v: Option<&str>) -> Result<Option<u32>, LowerError> {
    let Some(v) = v.filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let s = parse_duration_secs(v).map_err(|e| LowerError::Internal(format!("{field}: {e}")))?;
    Ok(Some(s.round().clamp(0.0, u32::MAX as f64) as u32))
}

fn secret(p: &Option<BgpPassword>) -> Option<SecretRef> {
    p.as_ref()
        .and_then(|p| p.secret_key_ref.as_ref())
        .map(|r| SecretRef {
            name: r.name.clone(),
            key: r.key.clone(),
        })
}

/// Parse `IP`, `IPv4:port` or `[IPv6]:port` (validated already).
fn parse_peer_ip(s: &str) -> Option<(IpAddr, Option<u16>)> {
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some((ip, None));
    }
    let (host, port) = s.rsplit_once(':')?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let ip: IpAddr = host.parse().ok()?;
    let port: u16 = port.parse().ok().filter(|p| *p != 0)?;
    Some((ip, Some(port)))
}

/// Configured BGP listen ports: per node (`node.<name>` BGPConfiguration)
/// and global. `None` when nothing is configured: Calico then writes no
/// `port` at all (179 is BIRD's default).
struct ListenPorts {
    global: Option<u16>,
    per_node: BTreeMap<String, u16>,
}

impl ListenPorts {
    fn new(c: &Cluster) -> ListenPorts {
        let global = c
            .model
            .default_bgp_config()
            .and_then(|r| r.spec.listen_port)
            .filter(|p| *p != 0);
        let per_node = c
            .model
            .bgp_configs
            .iter()
            .filter_map(|r| {
                let node = r.meta.name.strip_prefix("node.")?;
                let port = r.spec.listen_port.filter(|p| *p != 0)?;
                Some((node.to_string(), port))
            })
            .collect();
        ListenPorts { global, per_node }
    }

    /// The port a node listens on, when configured.
    fn of(&self, node: &str) -> Option<u16> {
        self.per_node.get(node).copied().or(self.global)
    }
}

/// Where an explicit peering is recorded, as Calico keys its v1 peerings:
/// `/bgp/v1/global/peer_v4/<ip>[-<port>]` or `/bgp/v1/host/<node>/peer_v4/...`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Scope {
    Global,
    Node,
}

/// Calico's v1 `bgpPeer` value: one remote end of an explicit peering.
#[derive(Clone, Debug)]
struct PeerData<'m> {
    ip: IpAddr,
    port: Option<u16>,
    asn: u32,
    rr_cluster_id: Option<Ipv4Addr>,
    /// The peer IP is a declared node's address (Calico `calico_node`; set
    /// for peerIP peers only, as confd does).
    calico_node: bool,
    remote_node: Option<String>,
    keep_next_hop: bool,
    allow_local_as: Option<u32>,
    ttl_security: Option<u8>,
    reachable_by: Option<IpAddr>,
    resource: &'m Resource<BgpPeerSpec>,
    reverse: bool,
}

struct Ctx<'c, 'a> {
    c: &'c Cluster<'a>,
    n: &'c NodeFacts,
    me: Ipv4Addr,
    ports: ListenPorts,
    /// Nodes' `spec.bgp.ipv6Address` (address part), by node name.
    v6: BTreeMap<String, Ipv6Addr>,
}

impl<'c, 'a> Ctx<'c, 'a> {
    fn new(c: &'c Cluster<'a>, n: &'c NodeFacts, me: Ipv4Addr) -> Self {
        // The node facts hold the parsed `spec.bgp.ipv6Address` (one parse,
        // shared with the dataplane's vxlan-v6 lowering).
        let v6 = c
            .nodes
            .iter()
            .filter_map(|nd| Some((nd.name.clone(), nd.address_v6?.addr())))
            .collect();
        Ctx {
            c,
            n,
            me,
            ports: ListenPorts::new(c),
            v6,
        }
    }

    /// A node's IPv6 BGP address.
    fn v6(&self, node: &str) -> Option<Ipv6Addr> {
        self.v6.get(node).copied()
    }

    /// A node's BGP address in one family (IPv4 only for nodes that run BGP).
    fn addr_of(&self, nd: &NodeFacts, ipv6: bool) -> Option<IpAddr> {
        if ipv6 {
            nd.address?;
            self.v6(&nd.name).map(IpAddr::V6)
        } else {
            nd.address.map(|a| IpAddr::V4(a.addr()))
        }
    }

    /// This node's address in the family of `ip`.
    fn me_like(&self, ip: IpAddr) -> Option<IpAddr> {
        match ip {
            IpAddr::V4(_) => Some(IpAddr::V4(self.me)),
            IpAddr::V6(_) => self.v6(&self.n.name).map(IpAddr::V6),
        }
    }

    /// processMeshPeers: every other node with an address, unless either end
    /// is a route reflector.
    fn mesh_sessions(&self) -> Result<Vec<BgpSession>, LowerError> {
        let (c, n) = (self.c, self.n);
        if !c.bgp.mesh || n.cluster_id.is_some() {
            return Ok(Vec::new());
        }
        let cfg = c.model.default_bgp_config().map(|r| &r.spec);
        let password = cfg.and_then(|s| secret(&s.node_mesh_password));
        let restart = seconds(
            "nodeMeshMaxRestartTime",
            cfg.and_then(|s| s.node_mesh_max_restart_time.as_deref()),
        )?;
        let mut out = Vec::new();
        for ipv6 in [false, true] {
            let Some(mine) = self.addr_of(n, ipv6) else {
                continue;
            };
            for other in &c.nodes {
                let Some(ip) = self.addr_of(other, ipv6) else {
                    continue;
                };
                if ip == mine || other.cluster_id.is_some() {
                    continue;
                }
                out.push(BgpSession {
                    name: format!("Mesh_{}", symbol_ip(ip)),
                    kind: SessionKind::Mesh,
                    neighbor: ip,
                    port: self.ports.of(&other.name),
                    peer_as: other.asn,
                    local_as: None,
                    // Only the end with the lower address (as a string) connects.
                    passive: ip.to_string() > mine.to_string(),
                    rr_client: false,
                    rr_cluster_id: None,
                    next_hop: None,
                    password: password.clone(),
                    source_address: Some(mine),
                    ttl_security: None,
                    graceful_restart_time: restart,
                    keepalive_time: None,
                    allow_local_as: None,
                    internal: other.asn == n.asn,
                    remote_node: Some(other.name.clone()),
                    bgp_peer: None,
                    reverse: false,
                    // processMeshPeers passes no filters.
                    import_filters: Vec::new(),
                    export_filters: Vec::new(),
                });
            }
        }
        Ok(out)
    }

    fn selects(&self, selector: &str, labels: &BTreeMap<String, String>) -> bool {
        Selector::parse(selector).is_ok_and(|s| s.matches(labels))
    }

    /// Nodes whose address, AS and (when given) listen port match a peerIP
    /// BGPPeer: the "local" nodes of its reverse peering (`nodesWithIPPortAndAS`).
    ///
    /// netc compares a given port with the node's effective listen port
    /// (per-node, else global). confd's version also rejects a node whose
    /// per-node port matches when a different global port is set, leaving
    /// the forward session without its reverse; netc does not copy that.
    fn nodes_with_ip_port_as(
        &self,
        ip: IpAddr,
        asn: Option<u32>,
        port: Option<u16>,
    ) -> Vec<&'c NodeFacts> {
        let want_as = asn.unwrap_or(self.c.bgp.asn);
        self.c
            .nodes
            .iter()
            .filter(|nd| self.addr_of(nd, ip.is_ipv6()) == Some(ip))
            .filter(|nd| nd.asn == want_as)
            .filter(|nd| match port {
                None => true,
                Some(p) => self.ports.of(&nd.name).unwrap_or(DEFAULT_LISTEN_PORT) == p,
            })
            .collect()
    }

    /// `nodeAsBGPPeers`: a declared node as the remote end, once per
    /// requested family in which it has an address.
    fn node_as_peers<'m>(
        &self,
        nd: &NodeFacts,
        r: &'m Resource<BgpPeerSpec>,
        reverse: bool,
        families: &[bool],
    ) -> Vec<PeerData<'m>> {
        families
            .iter()
            .filter_map(|ipv6| {
                let ip = self.addr_of(nd, *ipv6)?;
                Some(PeerData {
                    ip,
                    port: self.ports.of(&nd.name),
                    asn: nd.asn,
                    rr_cluster_id: nd.cluster_id,
                    calico_node: false,
                    remote_node: Some(nd.name.clone()),
                    keep_next_hop: false,
                    allow_local_as: None,
                    ttl_security: r.spec.ttl_security.filter(|t| *t > 0),
                    reachable_by: None,
                    resource: r,
                    reverse,
                })
            })
            .collect()
    }

    /// The remote ends a BGPPeer names (forward direction).
    fn forward_peers<'m>(
        &self,
        r: &'m Resource<BgpPeerSpec>,
    ) -> Result<Vec<PeerData<'m>>, LowerError> {
        let s = &r.spec;
        if let Some(sel) = nonempty(&s.peer_selector) {
            let Ok(sel) = Selector::parse(sel) else {
                return Ok(Vec::new());
            };
            return Ok(self
                .c
                .nodes
                .iter()
                .filter(|nd| sel.matches(&nd.labels))
                .flat_map(|nd| self.node_as_peers(nd, r, false, &[false, true]))
                .collect());
        }
        let Some(text) = nonempty(&s.peer_ip) else {
            // localWorkloadSelector peers (Calico's Local_Workload_*) need
            // workload addresses at run time; netc does not lower them.
            return Ok(Vec::new());
        };
        let (ip, mut port) = parse_peer_ip(text).ok_or_else(|| {
            LowerError::Internal(format!("BGPPeer {}: bad peerIP `{text}`", r.meta.name))
        })?;
        let asn = s
            .as_number
            .as_ref()
            .map(parse_as_number)
            .transpose()
            .map_err(|e| LowerError::Internal(format!("BGPPeer {}: {e}", r.meta.name)))?
            .filter(|a| *a != 0);
        let matching = self.nodes_with_ip_port_as(ip, asn, port);
        if port.is_none() {
            // Peering with a Calico node: use the port it listens on.
            port = matching.first().and_then(|nd| self.ports.of(&nd.name));
        }
        // The node owning this address, whatever its AS: for passive, the
        // remote node's name and its cluster id.
        let owner = self
            .c
            .nodes
            .iter()
            .find(|nd| self.addr_of(nd, ip.is_ipv6()) == Some(ip));
        let reachable_by = nonempty(&s.reachable_by).and_then(|g| g.parse::<IpAddr>().ok());
        Ok(vec![PeerData {
            ip,
            port,
            // An unset asNumber means the cluster AS, as confd reads 0 when
            // matching nodes (nodesWithIPPortAndAS).
            asn: asn.unwrap_or(self.c.bgp.asn),
            // netc (unlike confd, which leaves it empty for peerIP peers) uses
            // the cluster id of the declared node at that address, so two
            // reflectors of one cluster peering by address are not clients.
            rr_cluster_id: owner.and_then(|nd| nd.cluster_id),
            calico_node: owner.is_some(),
            remote_node: owner.map(|nd| nd.name.clone()),
            keep_next_hop: s.keep_original_next_hop == Some(true),
            allow_local_as: s.num_allowed_local_as_numbers.filter(|n| *n > 0),
            ttl_security: s.ttl_security.filter(|t| *t > 0),
            reachable_by,
            resource: r,
            reverse: false,
        }])
    }

    /// updatePeersV1 for this node: global BGPPeers first, then the ones
    /// selecting this node, then reverse peerings; the first peering to a
    /// (peer IP, port) wins, and a node-specific one is dropped when a global
    /// one to the same (peer IP, port) exists.
    ///
    /// BGPPeers are visited in name order (confd iterates a Go map, so which
    /// duplicate wins is not defined there).
    fn explicit_sessions(&self) -> Result<(Vec<BgpSession>, Vec<PeerRoute>), LowerError> {
        let (c, n) = (self.c, self.n);
        let mut peers: Vec<&Resource<BgpPeerSpec>> = c.model.bgp_peers.iter().collect();
        peers.sort_by(|a, b| a.meta.name.cmp(&b.meta.name));

        let mut pending: Vec<(Scope, PeerData)> = Vec::new();
        // Pass 1: global BGPPeers.
        for r in &peers {
            let s = &r.spec;
            if nonempty(&s.node).is_none() && nonempty(&s.node_selector).is_none() {
                for p in self.forward_peers(r)? {
                    pending.push((Scope::Global, p));
                }
            }
        }
        // Pass 2: BGPPeers whose node / nodeSelector picks this node.
        for r in &peers {
            let s = &r.spec;
            let applies = match (nonempty(&s.node), nonempty(&s.node_selector)) {
                (_, Some(sel)) => self.selects(sel, &n.labels),
                (Some(node), None) => node == n.name,
                (None, None) => false,
            };
            if applies {
                for p in self.forward_peers(r)? {
                    pending.push((Scope::Node, p));
                }
            }
        }
        // Pass 3: reverse peerings, so both ends of a BGPPeer between Calico
        // nodes have a session (reversePeering: Manual turns this off).
        for r in &peers {
            let s = &r.spec;
            if s.reverse_peering.as_deref() == Some("Manual") {
                continue;
            }
            // A peerSelector peering is reversed over both families, a
            // peerIP one over the family of the address. Only this node's
            // own membership matters, so the selector is matched once.
            let (is_local, families): (bool, &[bool]) =
                if let Some(sel) = nonempty(&s.peer_selector) {
                    (self.selects(sel, &n.labels), &[false, true])
                } else if let Some((ip, port)) = nonempty(&s.peer_ip).and_then(parse_peer_ip) {
                    let asn = s
                        .as_number
                        .as_ref()
                        .and_then(|a| parse_as_number(a).ok())
                        .filter(|a| *a != 0);
                    let fam: &[bool] = if ip.is_ipv6() { &[true] } else { &[false] };
                    let local = self
                        .nodes_with_ip_port_as(ip, asn, port)
                        .iter()
                        .any(|nd| nd.name == n.name);
                    (local, fam)
                } else {
                    (false, &[])
                };
            if !is_local {
                continue;
            }
            let remotes: Vec<&NodeFacts> = match (nonempty(&s.node), nonempty(&s.node_selector)) {
                (_, Some(sel)) => match Selector::parse(sel) {
                    Ok(sel) => c
                        .nodes
                        .iter()
                        .filter(|nd| sel.matches(&nd.labels))
                        .collect(),
                    Err(_) => Vec::new(),
                },
                (Some(node), None) => c.nodes.iter().filter(|nd| nd.name == node).collect(),
                (None, None) => c.nodes.iter().collect(),
            };
            for nd in remotes {
                for p in self.node_as_peers(nd, r, true, families) {
                    pending.push((Scope::Node, p));
                }
            }
        }
        let mut seen: BTreeSet<(Scope, IpAddr, Option<u16>)> = BTreeSet::new();
        let mut chosen: Vec<(Scope, PeerData)> = Vec::new();
        for (scope, p) in pending {
            let key = (scope, p.ip, p.port);
            if seen.contains(&key)
                || (scope == Scope::Node && seen.contains(&(Scope::Global, p.ip, p.port)))
            {
                continue;
            }
            seen.insert(key);
            chosen.push((scope, p));
        }

        let mut sessions = Vec::new();
        let mut routes = Vec::new();
        for (scope, p) in &chosen {
            let Some(mine) = self.me_like(p.ip) else {
                continue; // no address in this family: no sessions in it
            };
            if p.ip == mine {
                continue; // ourselves
            }
            if let Some(gw) = p.reachable_by {
                routes.push(PeerRoute {
                    dst: IpNet::from(p.ip),
                    via: gw,
                });
            }
            sessions.push(self.build(*scope, p, mine)?);
        }
        routes.sort();
        routes.dedup();
        Ok((sessions, routes))
    }

    /// buildPeerFromData plus the per-resource settings
    /// (setPeerConfigFieldsFromV3Resource).
    fn build(&self, scope: Scope, p: &PeerData, mine: IpAddr) -> Result<BgpSession, LowerError> {
        let n = self.n;
        let r = p.resource;
        let s = &r.spec;
        let kind = match scope {
            Scope::Global => SessionKind::Global,
            Scope::Node => SessionKind::Node,
        };
        let mut name = format!("{}_{}", kind.prefix(), symbol_ip(p.ip));
        if let Some(port) = p.port {
            name.push_str(&format!("_port_{port}"));
        }
        let bad = |e: String| LowerError::Internal(format!("BGPPeer {}: {e}", r.meta.name));
        // Settings that describe the session itself apply to both directions;
        // the ones about this end (local AS, next hop) only to the forward one.
        let local_as = if p.reverse {
            None
        } else {
            s.local_as_number
                .as_ref()
                .map(parse_as_number)
                .transpose()
                .map_err(bad)?
                .filter(|a| *a != 0)
        };
        let effective_as = local_as.unwrap_or(n.asn);
        let internal = p.asn == effective_as;
        let mut next_hop = if p.reverse {
            None
        } else {
            match s.next_hop_mode {
                Some(NextHopMode::SelfMode) => Some(NextHop::SelfHop),
                Some(NextHopMode::Keep) => Some(NextHop::Keep),
                Some(NextHopMode::Auto) | None => None,
            }
        };
        // The deprecated keepOriginalNextHop only applies to eBGP peers.
        if p.keep_next_hop && !internal {
            next_hop = Some(NextHop::Keep);
        }
        // Route reflection: this node reflects to iBGP peers outside its cluster.
        let (rr_client, rr_cluster_id) = match n.cluster_id {
            Some(id) if internal && p.rr_cluster_id != Some(id) => (true, Some(id)),
            _ => (false, None),
        };
        // Global peers that are Calico nodes: only the lower address connects.
        let passive =
            kind == SessionKind::Global && p.calico_node && p.ip.to_string() > mine.to_string();
        let source_address = match s.source_address {
            Some(SourceAddress::None) => None,
            Some(SourceAddress::UseNodeIp) | None => Some(mine),
        };
        let ipv6 = p.ip.is_ipv6();
        let calls = |d| bgp_filter::calls(self.c.model, &s.filters, d, ipv6, internal);
        Ok(BgpSession {
            name,
            kind,
            neighbor: p.ip,
            port: p.port,
            peer_as: p.asn,
            local_as,
            passive,
            rr_client,
            rr_cluster_id,
            next_hop,
            password: secret(&s.password),
            source_address,
            ttl_security: p.ttl_security,
            graceful_restart_time: seconds("maxRestartTime", s.max_restart_time.as_deref())?,
            keepalive_time: seconds("keepaliveTime", s.keepalive_time.as_deref())?,
            allow_local_as: if p.reverse { None } else { p.allow_local_as },
            internal,
            remote_node: p.remote_node.clone(),
            bgp_peer: Some(r.meta.name.clone()),
            reverse: p.reverse,
            import_filters: calls(FilterDirection::Import),
            export_filters: calls(FilterDirection::Export),
        })
    }
}

/// An address as it appears in a BIRD symbol: `.` and `:` become `_`.
fn symbol_ip(ip: IpAddr) -> String {
    ip.to_string().replace(['.', ':'], "_")
}
