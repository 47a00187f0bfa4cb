//! BGP: the node's daemon settings and its sessions (Calico confd rules).

use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr};

/// A reference to a secret; the value is resolved only when an artifact is
/// written, never stored in the IR or printed.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SecretRef {
    pub name: String,
    pub key: String,
}

/// Why a session exists (Calico's protocol-name prefixes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum SessionKind {
    /// Node-to-node mesh: `Mesh_<ip>`.
    Mesh,
    /// BGPPeer with `node` or `nodeSelector`: `Node_<ip>`.
    Node,
    /// BGPPeer applying to all nodes: `Global_<ip>`.
    Global,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum NextHop {
    /// `next hop self`
    SelfHop,
    /// `next hop keep`
    Keep,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BgpSession {
    /// BIRD protocol name, Calico-compatible: `Mesh_10_0_0_2`, `Node_10_0_0_9_port_1179`.
    pub name: String,
    pub kind: SessionKind,
    pub neighbor: IpAddr,
    /// Remote port when not 179.
    pub port: Option<u16>,
    pub peer_as: u32,
    /// Local AS when it differs from the node's (BGPPeer localASNumber).
    pub local_as: Option<u32>,
    /// Wait for the remote side to connect (Calico: remote IP > own IP, as strings).
    pub passive: bool,
    /// This node reflects routes to the peer.
    pub rr_client: bool,
    pub rr_cluster_id: Option<Ipv4Addr>,
    pub next_hop: Option<NextHop>,
    pub password: Option<SecretRef>,
    /// `source address`; None with sourceAddress: None.
    pub source_address: Option<IpAddr>,
    /// `ttl security on; multihop N` when set, else `multihop` without security.
    pub ttl_security: Option<u8>,
    /// Graceful restart time in seconds.
    pub graceful_restart_time: Option<u32>,
    pub keepalive_time: Option<u32>,
    /// `allow local as N`.
    pub allow_local_as: Option<u32>,
    /// Same AS (iBGP).
    pub internal: bool,
    /// The remote is a declared node (its name), for plans and status.
    pub remote_node: Option<String>,
}

/// Export policy for one pool.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolRouting {
    pub cidr: ipnet::IpNet,
    /// Advertise the pool's blocks to peers (enabled and not disableBGPExport).
    pub export: bool,
    /// BIRD installs routes in this pool into the kernel (no-encap pools,
    /// per programClusterRoutes); otherwise netc's routes.batch does.
    pub bird_programs_kernel: bool,
    pub disabled: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommunityAdvert {
    pub cidr: ipnet::IpNet,
    /// Standard (a, b) communities.
    pub standard: Vec<(u16, u16)>,
    /// Large (a, b, c) communities.
    pub large: Vec<(u32, u32, u32)>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bgp {
    pub router_id: Ipv4Addr,
    pub asn: u32,
    pub listen_port: u16,
    /// `listen bgp address` (bindMode NodeIP).
    pub listen_address: Option<IpAddr>,
    /// BIRD log/debug level derived from logSeverityScreen.
    pub log_severity: String,
    /// Set when the node is a route reflector.
    pub cluster_id: Option<Ipv4Addr>,
    /// Interfaces excluded from `protocol direct` (plus Calico's fixed ones).
    pub ignored_interfaces: Vec<String>,
    /// This node's blocks: blackholed statically and advertised as aggregates.
    pub local_blocks: Vec<ipnet::IpNet>,
    /// Static /32 routes for reachableBy peers: (peer, gateway).
    pub static_routes: Vec<(ipnet::IpNet, IpAddr)>,
    pub pools: Vec<PoolRouting>,
    pub communities: Vec<CommunityAdvert>,
    /// Service CIDRs advertised (serviceClusterIPs, ...).
    pub service_cidrs: Vec<ipnet::IpNet>,
    /// Kernel route metric for BGP-learned routes (ipv4NormalRoutePriority).
    pub route_priority: u32,
    pub sessions: Vec<BgpSession>,
}
