//! BGP: the node's daemon settings and its sessions (Calico confd rules).
//!
//! Every decision Calico's confd makes in `bgp_processor.go` / `client.go`
//! (which sessions exist, who is passive, who is a route-reflector client,
//! which pools are exported and which BIRD installs into the kernel) is made
//! by lowering and recorded here; the BIRD emitter only writes syntax.

use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A reference to a secret; the value is resolved only when an artifact is
/// written, never stored in the IR or printed.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SecretRef {
    pub name: String,
    pub key: String,
}

/// Why a session exists (Calico's protocol-name prefixes, which
/// `calicoctl node status` parses into its PEER TYPE column).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum SessionKind {
    /// Node-to-node mesh: `Mesh_<ip>`.
    Mesh,
    /// BGPPeer with `node` or `nodeSelector`, or the automatic reverse side
    /// of a BGPPeer that selects this node as its remote: `Node_<ip>`.
    Node,
    /// BGPPeer applying to all nodes: `Global_<ip>`.
    Global,
}

impl SessionKind {
    /// The protocol-name prefix.
    pub fn prefix(self) -> &'static str {
        match self {
            SessionKind::Mesh => "Mesh",
            SessionKind::Node => "Node",
            SessionKind::Global => "Global",
        }
    }
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
    /// Remote port, when the BGPPeer gives one or the remote node's listen
    /// port is configured (Calico writes `port` whenever it knows one).
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
    /// `ttl security on; multihop N` when set, else `ttl security off; multihop`.
    pub ttl_security: Option<u8>,
    /// Graceful restart time in seconds.
    pub graceful_restart_time: Option<u32>,
    /// Keepalive time in seconds.
    pub keepalive_time: Option<u32>,
    /// `allow local as N`.
    pub allow_local_as: Option<u32>,
    /// Same AS as the local end (iBGP): selects `calico_export_to_bgp_peers(true)`.
    pub internal: bool,
    /// The remote is a declared node (its name), for plans and status.
    pub remote_node: Option<String>,
    /// The BGPPeer resource this session comes from; None for the mesh.
    pub bgp_peer: Option<String>,
    /// The session is the automatic reverse side of `bgp_peer` (it selects
    /// this node through peerIP/peerSelector), not a forward peering.
    pub reverse: bool,
    /// BGPFilter functions the import filter calls first, in the order the
    /// BGPPeer lists the filters (only filters with rules for this
    /// session's family and direction, as confd's buildImportFilter).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub import_filters: Vec<FilterCall>,
    /// Same for the export filter (buildExportFilter).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub export_filters: Vec<FilterCall>,
}

/// A call of a BGPFilter function from a session's filter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilterCall {
    /// The function's symbol, [`BgpFilterFn::symbol`].
    pub symbol: String,
    /// For a function taking the peer type (a rule uses peerType): whether
    /// the peer is in the session's effective local AS (iBGP).
    pub same_as: Option<bool>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FilterDirection {
    Import,
    Export,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FilterAction {
    Accept,
    Reject,
}

/// How a route's prefix is compared with a rule's CIDR (BIRD `=`, `!=`, `~`, `!~`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MatchOperator {
    Equal,
    NotEqual,
    In,
    NotIn,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrefixMatch {
    pub operator: MatchOperator,
    pub cidr: ipnet::IpNet,
    /// With prefixLength: the prefix lengths matched, already clamped to
    /// (cidr length, family maximum) as confd does; the match is then
    /// against the prefix set `[ cidr{lo,hi} ]`. Without: against `cidr`.
    pub lengths: Option<(u8, u8)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Community {
    Standard(u16, u16),
    Large(u32, u32, u32),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PeerType {
    /// Same AS (`is_same_as`).
    Ibgp,
    Ebgp,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FilterOperation {
    AddCommunity(Community),
    /// AS numbers in the order the path should start with them.
    PrependAsPath(Vec<u32>),
    /// Route priority (kernel metric units); BIRD carries it as
    /// `bgp_local_pref = 2147483647 - priority`.
    SetPriority(u32),
}

/// One BGPFilter rule; every match that is set must hold.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilterRule {
    pub prefix: Option<PrefixMatch>,
    /// source: RemotePeers — only routes learned over BGP.
    pub remote_peers_only: bool,
    /// Outgoing interface name or `*` pattern.
    pub interface: Option<String>,
    pub community: Option<Community>,
    pub as_path_prefix: Vec<u32>,
    /// Route priority to match (kernel metric units).
    pub priority: Option<u32>,
    pub peer_type: Option<PeerType>,
    pub operations: Vec<FilterOperation>,
    pub action: FilterAction,
}

/// The function confd generates for one BGPFilter, direction and family.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BgpFilterFn {
    /// The BGPFilter resource.
    pub filter: String,
    pub direction: FilterDirection,
    pub ipv6: bool,
    /// confd's name, `bgp_<filter>_<direction>FilterV<4|6>`, the filter name
    /// truncated and hashed so the symbol fits BIRD's 64 characters.
    pub symbol: String,
    /// Some rule matches on peerType, so the function takes the peer type.
    pub takes_peer_type: bool,
    pub rules: Vec<FilterRule>,
}

/// Export and kernel policy for one pool.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolRouting {
    pub cidr: ipnet::IpNet,
    /// Advertise the pool's blocks to peers (enabled and not disableBGPExport);
    /// otherwise routes in the pool are rejected towards every peer.
    pub export: bool,
    /// BIRD installs BGP-learned routes in this pool into the kernel
    /// (no-encap pools, per programClusterRoutes); otherwise netc's
    /// routes.batch programs them and BIRD's kernel export rejects them.
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

/// BIRD's debug level, from logSeverityScreen the way confd maps it:
/// `Debug` → debug all, `Info` (and unset) → state changes, anything else → none.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BirdLogLevel {
    None,
    Info,
    Debug,
}

/// A static route BIRD holds so that a peer is reachable (BGPPeer reachableBy).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PeerRoute {
    pub dst: ipnet::IpNet,
    pub via: IpAddr,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bgp {
    pub router_id: Ipv4Addr,
    /// The node's `spec.bgp.ipv6Address`: IPv6 sessions (Calico's bird6)
    /// exist only when it is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6_address: Option<Ipv6Addr>,
    pub asn: u32,
    /// Port BIRD listens on (per-node BGPConfiguration, else default, else 179).
    pub listen_port: u16,
    /// `listen bgp address` (bindMode NodeIP).
    pub listen_address: Option<IpAddr>,
    /// BIRD debug level derived from logSeverityScreen.
    pub log_level: BirdLogLevel,
    /// Set when the node is a route reflector.
    pub cluster_id: Option<Ipv4Addr>,
    /// Interfaces excluded from `protocol direct` (plus Calico's fixed ones).
    pub ignored_interfaces: Vec<String>,
    /// This node's blocks, IPv4 and (once the allocator hands them out)
    /// IPv6: blackholed statically and advertised as aggregates.
    pub local_blocks: Vec<ipnet::IpNet>,
    /// Static /32 routes for reachableBy peers.
    pub static_routes: Vec<PeerRoute>,
    pub pools: Vec<PoolRouting>,
    pub communities: Vec<CommunityAdvert>,
    /// Service ranges this node advertises (serviceClusterIPs,
    /// serviceExternalIPs, serviceLoadBalancerIPs): a static blackhole in BIRD
    /// and an accept in the export filter.
    pub service_cidrs: Vec<ipnet::IpNet>,
    /// Service ranges BIRD must never install into the kernel (all of them,
    /// also on a node excluded from advertising).
    pub reject_cidrs: Vec<ipnet::IpNet>,
    /// On a route reflector: external and load-balancer ranges it reflects
    /// from its clients.
    pub reflected_cidrs: Vec<ipnet::IpNet>,
    /// Kernel route metric for BGP-learned routes (ipv4NormalRoutePriority).
    pub route_priority: u32,
    /// The same for IPv6 (ipv6NormalRoutePriority).
    #[serde(default)]
    pub route_priority_v6: u32,
    /// Every declared BGPFilter's functions (confd defines them all, used
    /// or not), by filter name, then import before export, IPv4 then IPv6.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<BgpFilterFn>,
    /// Sorted by name.
    pub sessions: Vec<BgpSession>,
}
