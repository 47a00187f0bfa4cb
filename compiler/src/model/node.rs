//! Node (docs/calico.md §1.6). Nodes are declared, not discovered: the address and
//! its prefix length are facts the operator states.

use super::NumOrStr;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct NodeBgpSpec {
    #[serde(default)]
    pub as_number: Option<NumOrStr>,
    #[serde(rename = "ipv4Address", default)]
    pub ipv4_address: Option<String>,
    #[serde(rename = "ipv6Address", default)]
    pub ipv6_address: Option<String>,
    #[serde(rename = "ipv4IPIPTunnelAddr", default)]
    pub ipv4_ipip_tunnel_addr: Option<String>,
    #[serde(rename = "routeReflectorClusterID", default)]
    pub route_reflector_cluster_id: Option<String>,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct NodeAddress {
    pub address: String,
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct NodeSpec {
    #[serde(default)]
    pub bgp: Option<NodeBgpSpec>,
    #[serde(rename = "ipv4VXLANTunnelAddr", default)]
    pub ipv4_vxlan_tunnel_addr: Option<String>,
    #[serde(rename = "vxlanTunnelMACAddr", default)]
    pub vxlan_tunnel_mac_addr: Option<String>,
    #[serde(rename = "ipv6VXLANTunnelAddr", default)]
    pub ipv6_vxlan_tunnel_addr: Option<String>,
    #[serde(rename = "vxlanTunnelMACAddrV6", default)]
    pub vxlan_tunnel_mac_addr_v6: Option<String>,
    #[serde(default)]
    pub addresses: Vec<NodeAddress>,
    #[serde(default)]
    pub wireguard: Option<serde_json::Value>,
    #[serde(default)]
    pub orch_refs: Option<serde_json::Value>,
}

/// Annotations netc reads on a Node (documented in README "Annotations").
pub mod annotations {
    /// Interface carrying the underlay (default: the one holding ipv4Address;
    /// netc needs a name for VXLAN's `dev` and the tunnel MTU).
    pub const UNDERLAY_INTERFACE: &str = "netc.dev/underlay-interface";
    /// MTU of the underlay interface (default 1500); tunnel MTUs derive from it.
    pub const UNDERLAY_MTU: &str = "netc.dev/underlay-mtu";
    /// Extra inbound failsafe ports, e.g. "tcp:22,tcp:179,udp:68".
    pub const FAILSAFE_INBOUND: &str = "netc.dev/failsafe-inbound";
}
