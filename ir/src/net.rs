//! Tunnels, routes, neighbours and FDB entries.

use crate::{IfName, Mac};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// Calico's device names (felix dataplanedefs), kept so operators' tooling works.
pub const IPIP_DEVICE: &str = "tunl0";
pub const VXLAN_DEVICE: &str = "vxlan.calico";
/// The IPv6 VXLAN device (Felix's `vxlan-v6.calico`).
pub const VXLAN_V6_DEVICE: &str = "vxlan-v6.calico";
/// Felix defaults (the same VNI and port for both families).
pub const VXLAN_VNI: u32 = 4096;
pub const VXLAN_PORT: u16 = 4789;
/// Encapsulation overheads subtracted from the underlay MTU (Felix: IPIP 20,
/// VXLAN over IPv4 50, VXLAN over IPv6 70).
pub const IPIP_OVERHEAD: u32 = 20;
pub const VXLAN_OVERHEAD: u32 = 50;
pub const VXLAN_V6_OVERHEAD: u32 = 70;
pub const DEFAULT_UNDERLAY_MTU: u32 = 1500;

/// [`IPIP_DEVICE`] as an [`IfName`].
pub fn ipip_device() -> IfName {
    IfName::from_static(IPIP_DEVICE)
}

/// [`VXLAN_DEVICE`] as an [`IfName`].
pub fn vxlan_device() -> IfName {
    IfName::from_static(VXLAN_DEVICE)
}

/// [`VXLAN_V6_DEVICE`] as an [`IfName`].
pub fn vxlan_v6_device() -> IfName {
    IfName::from_static(VXLAN_V6_DEVICE)
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum TunnelKind {
    Ipip,
    Vxlan {
        vni: u32,
        port: u16,
        /// The VTEP's MAC address.
        mac: Mac,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tunnel {
    /// Device name: `tunl0`, `vxlan.calico` or `vxlan-v6.calico`.
    pub name: IfName,
    pub kind: TunnelKind,
    /// Underlay source address (the node's IPv4 address, or its IPv6
    /// address for `vxlan-v6.calico`).
    pub local: IpAddr,
    /// Underlay device (`dev` for VXLAN), when known.
    pub parent: Option<IfName>,
    pub mtu: u32,
    /// The tunnel's own address, always a host prefix (/32 or /128) on the device.
    pub address: IpAddr,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum RouteKind {
    /// Drop traffic to this node's own unused block addresses.
    Blackhole,
    /// Via a gateway, optionally on a named device with `onlink`.
    Via {
        gateway: IpAddr,
        dev: Option<IfName>,
        onlink: bool,
    },
    /// Directly on a device (`scope link`), e.g. a workload's veth.
    Dev { dev: IfName },
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
    pub dev: IfName,
    pub ip: IpAddr,
    pub mac: Mac,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FdbEntry {
    pub dev: IfName,
    pub mac: Mac,
    pub dst: IpAddr,
}

#[cfg(test)]
mod tests {
    #[test]
    fn device_names_are_valid() {
        for n in [
            super::IPIP_DEVICE,
            super::VXLAN_DEVICE,
            super::VXLAN_V6_DEVICE,
        ] {
            assert!(crate::IfName::is_valid(n), "{n}");
        }
        assert_eq!(super::vxlan_v6_device().as_str(), "vxlan-v6.calico");
    }
}
