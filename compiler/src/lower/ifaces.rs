//! The host-side interface settings of a node's local workloads
//! (docs/calico.md §4.4): for every WorkloadEndpoint on the node, the kernel
//! parameters Felix writes on its `interfaceName`.
//!
//! What netc sets, per interface:
//! - always: IPv6 `accept_ra = 0`, and the IPv4 set — `route_localnet = 1`,
//!   neighbour `proxy_delay = 0`, `proxy_arp = 1`, `forwarding = 1` (Felix's
//!   IPv4 endpoint manager configures every workload interface);
//! - when the endpoint has an IPv6 address: IPv6 `proxy_ndp = 1` and
//!   `forwarding = 1`.
//!
//! Where netc differs from Felix, and why:
//! - Felix's IPv6 manager (on by default) also writes the IPv6 pair on
//!   interfaces of IPv4-only endpoints. netc does it only where the endpoint
//!   has an IPv6 address, so an IPv4-only cluster on a host with IPv6
//!   disabled has nothing to set that cannot be set.
//! - `rp_filter`: Felix writes the value of `net/ipv4/conf/default/rp_filter`
//!   read at start, which is the value a new interface already inherits;
//!   netc does not write it (it has no endpoint-spoofing support, the only
//!   case where Felix writes 0).
//!
//! The interfaces themselves belong to the CNI plugin; the host layer
//! leaves an absent one waiting (host/README.md, "Workload interfaces").

use super::Cluster;
use crate::ir::{IfName, IfaceSetting, IfaceSysctl, WorkloadInterface};
use std::collections::BTreeMap;

/// The settings every workload interface gets.
const V4: [(IfaceSysctl, u32); 5] = [
    (IfaceSysctl::Ipv6AcceptRa, 0),
    (IfaceSysctl::Ipv4RouteLocalnet, 1),
    (IfaceSysctl::Ipv4ProxyDelay, 0),
    (IfaceSysctl::Ipv4ProxyArp, 1),
    (IfaceSysctl::Ipv4Forwarding, 1),
];

/// Added for an endpoint with an IPv6 address.
const V6: [(IfaceSysctl, u32); 2] = [
    (IfaceSysctl::Ipv6ProxyNdp, 1),
    (IfaceSysctl::Ipv6Forwarding, 1),
];

/// The node's workload interfaces, sorted by name. Two endpoints naming the
/// same interface (validation reports it) share one entry: the first in
/// input order names it, and IPv6 settings apply if either has IPv6.
pub fn lower(c: &Cluster, node: &str) -> Vec<WorkloadInterface> {
    let mut by_name: BTreeMap<IfName, WorkloadInterface> = BTreeMap::new();
    for wep in &c.model.workload_endpoints {
        if wep.spec.node != node {
            continue;
        }
        // Validation has checked the name; an invalid one gets nothing.
        let Ok(dev) = IfName::try_from(wep.spec.interface_name.as_str()) else {
            continue;
        };
        let v6 = wep.spec.ip_networks.iter().any(|n| n.contains(':'));
        let endpoint = match wep.meta.namespace.as_deref() {
            Some(ns) => format!("{ns}/{}", wep.meta.name),
            None => wep.meta.name.clone(),
        };
        let entry = by_name
            .entry(dev.clone())
            .or_insert_with(|| WorkloadInterface {
                name: dev,
                endpoint,
                settings: Vec::new(),
            });
        let wanted = V4.iter().chain(if v6 { &V6[..] } else { &[] });
        for &(sysctl, value) in wanted {
            if !entry.settings.iter().any(|s| s.sysctl == sysctl) {
                entry.settings.push(IfaceSetting { sysctl, value });
            }
        }
        entry.settings.sort();
    }
    by_name.into_values().collect()
}

#[cfg(test)]
mod tests {
    use crate::ir::IfaceSysctl::*;
    use crate::ir::*;

    const TWO: &str = "---\napiVersion: projectcalico.org/v3\nkind: WorkloadEndpoint\nmetadata:\n  name: node--a-k8s-web-eth0\n  namespace: shop\nspec:\n  node: node-a\n  interfaceName: cali0a1b2c3d4e5\n  ipNetworks: [10.67.0.5/32]\n---\napiVersion: projectcalico.org/v3\nkind: WorkloadEndpoint\nmetadata:\n  name: node--a-k8s-db-eth0\n  namespace: shop\nspec:\n  node: node-a\n  interfaceName: cali99\n  ipNetworks: [10.67.0.6/32, \"fd10::6/128\"]\n---\napiVersion: projectcalico.org/v3\nkind: WorkloadEndpoint\nmetadata:\n  name: node--b-k8s-x-eth0\n  namespace: shop\nspec:\n  node: node-b\n  interfaceName: cali77\n  ipNetworks: [10.67.0.70/32]\n";

    fn got(ir: &HostIr) -> Vec<(String, Vec<(IfaceSysctl, u32)>)> {
        ir.workload_interfaces
            .iter()
            .map(|w| {
                (
                    w.name.to_string(),
                    w.settings.iter().map(|s| (s.sysctl, s.value)).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn felix_settings_for_local_workloads_only() {
        use crate::lower::tunnels::tests::{model, node, pool};
        let yaml = pool("vx", "10.67.0.0/16", "Never", "Always", "")
            + &node("node-a", "192.168.1.1/24", "")
            + &node("node-b", "192.168.1.2/24", "")
            + TWO;
        let (m, lock) = model(&yaml);
        let c = crate::lower::Cluster::new(&m, &lock);
        let ir = c.lower_node("node-a").unwrap();
        let v4 = vec![
            (Ipv6AcceptRa, 0),
            (Ipv4RouteLocalnet, 1),
            (Ipv4ProxyDelay, 0),
            (Ipv4ProxyArp, 1),
            (Ipv4Forwarding, 1),
        ];
        let mut dual = v4.clone();
        dual.extend([(Ipv6ProxyNdp, 1), (Ipv6Forwarding, 1)]);
        assert_eq!(
            got(&ir),
            vec![
                ("cali0a1b2c3d4e5".to_string(), v4),
                ("cali99".to_string(), dual)
            ]
        );
        assert_eq!(
            ir.workload_interfaces[0].endpoint,
            "shop/node--a-k8s-web-eth0"
        );
        // node-b's endpoint is not node-a's business.
        let b = c.lower_node("node-b").unwrap();
        assert_eq!(b.workload_interfaces.len(), 1);
        assert_eq!(b.workload_interfaces[0].name.as_str(), "cali77");
    }
}
