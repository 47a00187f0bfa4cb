//! Per-workload host interface settings: the kernel parameters Felix writes
//! for each local workload's host-side interface (the `cali…` end of the
//! veth the CNI plugin created), docs/calico.md §4.4.
//!
//! The interface itself is not netc's: the CNI plugin creates and deletes
//! it. netc owns only the listed parameters of the interfaces its
//! WorkloadEndpoints name on this node, sets them, reads them back and
//! restores them on rollback.

use crate::IfName;
use serde::{Deserialize, Serialize};

/// One per-interface kernel parameter netc may set (the path under
/// `/proc/sys`, with the interface in place of `<if>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IfaceSysctl {
    /// `net/ipv6/conf/<if>/accept_ra`: Felix writes 0 on every workload
    /// interface, IPv6 in use or not (a workload must not route the host).
    Ipv6AcceptRa,
    /// `net/ipv4/conf/<if>/route_localnet`.
    Ipv4RouteLocalnet,
    /// `net/ipv4/neigh/<if>/proxy_delay`.
    Ipv4ProxyDelay,
    /// `net/ipv4/conf/<if>/proxy_arp`.
    Ipv4ProxyArp,
    /// `net/ipv4/conf/<if>/forwarding`.
    Ipv4Forwarding,
    /// `net/ipv6/conf/<if>/proxy_ndp`.
    Ipv6ProxyNdp,
    /// `net/ipv6/conf/<if>/forwarding`.
    Ipv6Forwarding,
}

impl IfaceSysctl {
    pub const ALL: [IfaceSysctl; 7] = [
        IfaceSysctl::Ipv6AcceptRa,
        IfaceSysctl::Ipv4RouteLocalnet,
        IfaceSysctl::Ipv4ProxyDelay,
        IfaceSysctl::Ipv4ProxyArp,
        IfaceSysctl::Ipv4Forwarding,
        IfaceSysctl::Ipv6ProxyNdp,
        IfaceSysctl::Ipv6Forwarding,
    ];

    /// (directory, parameter): `net/ipv4/conf/<if>/proxy_arp` is
    /// (`net/ipv4/conf`, `proxy_arp`).
    fn parts(self) -> (&'static str, &'static str) {
        match self {
            IfaceSysctl::Ipv6AcceptRa => ("net/ipv6/conf", "accept_ra"),
            IfaceSysctl::Ipv4RouteLocalnet => ("net/ipv4/conf", "route_localnet"),
            IfaceSysctl::Ipv4ProxyDelay => ("net/ipv4/neigh", "proxy_delay"),
            IfaceSysctl::Ipv4ProxyArp => ("net/ipv4/conf", "proxy_arp"),
            IfaceSysctl::Ipv4Forwarding => ("net/ipv4/conf", "forwarding"),
            IfaceSysctl::Ipv6ProxyNdp => ("net/ipv6/conf", "proxy_ndp"),
            IfaceSysctl::Ipv6Forwarding => ("net/ipv6/conf", "forwarding"),
        }
    }

    /// The parameter's path under `/proc/sys` for `dev`, slash-separated
    /// (`net/ipv4/conf/cali12/proxy_arp`): the form `sysctl` accepts for
    /// interface names with a dot in them.
    pub fn path(self, dev: &IfName) -> String {
        let (dir, param) = self.parts();
        format!("{dir}/{dev}/{param}")
    }

    /// The name `sysctl` prints for [`IfaceSysctl::path`]: dots for
    /// slashes, and a dot inside the interface name printed as a slash
    /// (`net.ipv4.conf.eth0/100.forwarding`).
    pub fn printed_name(self, dev: &IfName) -> String {
        let (dir, param) = self.parts();
        format!(
            "{}.{}.{param}",
            dir.replace('/', "."),
            dev.as_str().replace('.', "/")
        )
    }

    /// A short name for plans: `ipv4 proxy_arp`.
    pub fn label(self) -> String {
        let (dir, param) = self.parts();
        let fam = if dir.starts_with("net/ipv4") {
            "ipv4"
        } else {
            "ipv6"
        };
        let neigh = if dir.ends_with("neigh") { "neigh " } else { "" };
        format!("{fam} {neigh}{param}")
    }
}

/// One parameter and the value netc wants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct IfaceSetting {
    pub sysctl: IfaceSysctl,
    pub value: u32,
}

/// A local workload's host-side interface and its settings.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct WorkloadInterface {
    /// The host-side interface (the WorkloadEndpoint's `interfaceName`).
    pub name: IfName,
    /// For display: the endpoint it belongs to (`<namespace>/<name>`).
    pub endpoint: String,
    /// Sorted by parameter.
    pub settings: Vec<IfaceSetting>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_printed_names() {
        let dev: IfName = "eth0.100".parse().unwrap();
        assert_eq!(
            IfaceSysctl::Ipv4ProxyDelay.path(&dev),
            "net/ipv4/neigh/eth0.100/proxy_delay"
        );
        assert_eq!(
            IfaceSysctl::Ipv4ProxyDelay.printed_name(&dev),
            "net.ipv4.neigh.eth0/100.proxy_delay"
        );
        assert_eq!(
            IfaceSysctl::Ipv4ProxyDelay.label(),
            "ipv4 neigh proxy_delay"
        );
        assert_eq!(IfaceSysctl::Ipv6AcceptRa.label(), "ipv6 accept_ra");
    }
}
