//! Tunnels, routes, neighbours and FDB entries.

use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr};

/// Calico's device names (felix dataplanedefs), kept so operators' tooling works.
pub const IPIP_DEVICE: &str = "tunl0";
pub const VXLAN_DEVICE: &str = "vxlan.calico";
/// Felix defaults.
pub const VXLAN_VNI: u32 = 4096;
pub const VXLAN_PORT: u16 = 4789;
/// Encapsulation overheads subtracted from the underlay MTU.
pub const IPIP_OVERHEAD: u32 = 20;
pub const VXLAN_OVERHEAD: u32 = 50;
pub const DEFAULT_UNDERLAY_MTU: u32 = 1500;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum TunnelKind {
    Ipip,
    Vxlan {
        vni: u32,
        port: u16,
        /// The VTEP's MAC address (lower-case, colon separated).
        mac: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tunnel {
    /// Device name: `tunl0` or `vxlan.calico`.
    pub name: String,
    pub kind: TunnelKind,
    /// Underlay source address (the node's IPv4 address).
    pub local: Ipv4Addr,
    /// Underlay device (`dev` for VXLAN), when known.
    pub parent: Option<String>,
    pub mtu: u32,
    /// The tunnel's own address, always a /32 on the device.
    pub address: Ipv4Addr,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum RouteKind {
    /// Drop traffic to this node's own unused block addresses.
    Blackhole,
    /// Via a gateway, optionally on a named device with `onlink`.
    Via {
        gateway: IpAddr,
        dev: Option<String>,
        onlink: bool,
    },
    /// Directly on a device (`scope link`), e.g. a workload's veth.
    Dev { dev: String },
}

/// Why a route exists (shown in plans; not part of the kernel state).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RouteOrigin {
    LocalBlock,
    IpipBlock,
    VxlanBlock,
    NoEncapBlock,
    Workload,
    ReachableBy,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Route {
    pub dst: ipnet::IpNet,
    pub kind: RouteKind,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub origin: Option<RouteOrigin>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Neighbor {
    pub dev: String,
    pub ip: IpAddr,
    pub mac: String,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FdbEntry {
    pub dev: String,
    pub mac: String,
    pub dst: IpAddr,
}
