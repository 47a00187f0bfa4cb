//! The per-node intermediate representation: what one host must look like.
//!
//! Lowering (`netc_compiler::lower`) makes every decision — which sessions exist,
//! which routes go through which tunnel, what each firewall chain does — and
//! records it here. Emitters (the `netc-targets` crate) only translate it to
//! syntax; they never look at the resources. The host layer reads the live
//! host back into the same shapes, so plan is a diff of two values.
//!
//! Everything is `Serialize` (snapshotted as `ir.json` in golden cases) and
//! ordered deterministically (Vecs sorted by lowering, maps are BTreeMaps).

mod bgp;
pub mod digest;
pub mod eval;
mod firewall;
mod iface;
mod link;
mod names;
mod net;
mod protocol;
pub mod timing;

pub use bgp::*;
pub use firewall::*;
pub use iface::*;
pub use link::*;
pub use names::{Name, NameError, Ref, MAX_NAME_LEN};
pub use net::*;
pub use protocol::Protocol;

use serde::{Deserialize, Serialize};

/// Route protocol number netc marks its kernel routes with, so it owns
/// exactly its routes (`ip route show proto 233`). Not assigned in iproute2's
/// rt_protos; Calico's Felix uses 80 and BIRD 12, so netc never collides with them.
pub const NETC_ROUTE_PROTO: u8 = 233;

/// Name of netc's nftables table (family inet).
pub const NFT_TABLE: &str = "netc";

/// Prefix of netc's iptables chains.
pub const IPT_CHAIN_PREFIX: &str = "netc-";

/// What one node must look like.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HostIr {
    /// Node name (metadata.name).
    pub node: String,
    /// The node's IPv4 underlay address and prefix, host bits kept
    /// (`spec.bgp.ipv4Address`, e.g. `10.0.0.5/24`).
    pub address: Option<ipnet::IpNet>,
    /// The node's IPv6 underlay address and prefix (`spec.bgp.ipv6Address`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_v6: Option<ipnet::IpNet>,
    /// The underlay interface and MTU (netc.dev/ annotations, defaults documented).
    pub underlay: Underlay,
    /// Tunnel devices netc creates, sorted by name.
    pub tunnels: Vec<Tunnel>,
    /// Kernel routes netc owns (protocol [`NETC_ROUTE_PROTO`]), sorted by destination.
    pub routes: Vec<Route>,
    /// Permanent neighbour entries (VXLAN remote VTEPs), sorted.
    pub neighbors: Vec<Neighbor>,
    /// Bridge FDB entries (VXLAN remote VTEPs), sorted.
    pub fdb: Vec<FdbEntry>,
    /// Local workloads' host-side interfaces and the kernel parameters
    /// netc sets on them (as Felix does), sorted by interface.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub workload_interfaces: Vec<WorkloadInterface>,
    /// BGP daemon configuration; `None` when the node runs no BGP.
    pub bgp: Option<Bgp>,
    /// The firewall, emitted as nftables or iptables.
    pub firewall: Firewall,
}

/// The node's underlay interface.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Underlay {
    /// Interface name; `None` when not annotated (then VXLAN has no `dev`).
    pub interface: Option<IfName>,
    pub mtu: u32,
}
