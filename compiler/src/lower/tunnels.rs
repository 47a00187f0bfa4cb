//! Tunnel devices, VXLAN neighbour and FDB entries.
//!
//! A node gets a tunnel device only when the cluster needs it and the node
//! can take part in it:
//!
//! - `tunl0` ([`TunnelKind::Ipip`]) when some enabled IPv4 pool with
//!   `ipipMode` Always or CrossSubnet has a block on any node, this node has
//!   an underlay address (`spec.bgp.ipv4Address`) and an IPIP tunnel address
//!   (`spec.bgp.ipv4IPIPTunnelAddr`, else the first address of its first
//!   block in such a pool). MTU = underlay MTU − 20. tunl0 is the kernel's
//!   fallback IPIP device, which accepts IPIP from any peer and sends to the
//!   route's gateway; Felix configures it the same way (no fixed local or
//!   remote), so `local` is recorded for plans but not configured.
//! - `vxlan.calico` ([`TunnelKind::Vxlan`], VNI 4096, port 4789) likewise
//!   for VXLAN pools, with the node's VTEP MAC, its underlay interface as
//!   parent and MTU = underlay MTU − 50.
//!
//! For every other node that has an underlay address, a VXLAN tunnel address
//! and a block in an enabled VXLAN pool, the VXLAN node gets a permanent
//! neighbour entry (remote VTEP address → remote VTEP MAC) and a bridge FDB
//! entry (remote VTEP MAC → remote node address), as Felix's vxlan manager
//! programs them. Only a node that has the `vxlan.calico` device gets them.
//!
//! Disabled pools and IPv6 pools create no tunnels (IPIP is IPv4 only in
//! Calico; IPv6 VXLAN is not lowered yet).

use super::{Cluster, NodeFacts, PoolFacts};
use crate::ir::*;
use crate::model::EncapMode;

/// Which encapsulation a pool asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Encap {
    Ipip,
    Vxlan,
}

/// The pool's mode for one encapsulation.
pub(super) fn mode(pool: &PoolFacts, encap: Encap) -> EncapMode {
    match encap {
        Encap::Ipip => pool.ipip,
        Encap::Vxlan => pool.vxlan,
    }
}

/// An enabled IPv4 pool: the only pools whose blocks get tunnels and routes.
pub(super) fn active_v4(pool: &PoolFacts) -> bool {
    !pool.disabled && matches!(pool.cidr, ipnet::IpNet::V4(_))
}

/// `node` has a block in an active pool that uses `encap`.
fn has_block_in(c: &Cluster, node: &NodeFacts, encap: Encap) -> bool {
    node.blocks.iter().any(|(i, _)| {
        c.pools
            .get(*i)
            .is_some_and(|p| active_v4(p) && mode(p, encap).enabled())
    })
}

/// Some node has a block in an active pool that uses `encap`.
fn in_use(c: &Cluster, encap: Encap) -> bool {
    c.nodes.iter().any(|n| has_block_in(c, n, encap))
}

pub(super) fn lower(c: &Cluster, n: &NodeFacts) -> (Vec<Tunnel>, Vec<Neighbor>, Vec<FdbEntry>) {
    let mut tunnels = Vec::new();
    let mut neighbors = Vec::new();
    let mut fdb = Vec::new();
    let Some(local) = n.address.map(|a| a.addr) else {
        return (tunnels, neighbors, fdb);
    };

    if in_use(c, Encap::Ipip) {
        if let Some(address) = n.ipip_tunnel_addr {
            tunnels.push(Tunnel {
                name: IPIP_DEVICE.to_string(),
                kind: TunnelKind::Ipip,
                local,
                parent: None,
                mtu: n.underlay.mtu.saturating_sub(IPIP_OVERHEAD),
                address,
            });
        }
    }

    if in_use(c, Encap::Vxlan) {
        if let Some(address) = n.vxlan_tunnel_addr {
            tunnels.push(Tunnel {
                name: VXLAN_DEVICE.to_string(),
                kind: TunnelKind::Vxlan {
                    vni: VXLAN_VNI,
                    port: VXLAN_PORT,
                    mac: n.vxlan_mac.clone(),
                },
                local,
                parent: n.underlay.interface.clone(),
                mtu: n.underlay.mtu.saturating_sub(VXLAN_OVERHEAD),
                address,
            });
            for r in &c.nodes {
                if r.name == n.name || !has_block_in(c, r, Encap::Vxlan) {
                    continue;
                }
                let (Some(raddr), Some(vtep)) = (r.address, r.vxlan_tunnel_addr) else {
                    continue;
                };
                if vtep == address || raddr.addr == local {
                    continue; // a clash validation reports; never point at ourselves
                }
                neighbors.push(Neighbor {
                    dev: VXLAN_DEVICE.to_string(),
                    ip: vtep.into(),
                    mac: r.vxlan_mac.clone(),
                });
                fdb.push(FdbEntry {
                    dev: VXLAN_DEVICE.to_string(),
                    mac: r.vxlan_mac.clone(),
                    dst: raddr.addr.into(),
                });
            }
        }
    }

    tunnels.sort_by(|a, b| a.name.cmp(&b.name));
    neighbors.sort();
    neighbors.dedup();
    fdb.sort();
    fdb.dedup();
    (tunnels, neighbors, fdb)
}

#[cfg(test)]
pub(crate) mod tests {
    use crate::alloc::{allocate, Lock};
    use crate::ir::*;
    use crate::load::load_source;
    use crate::lower::Cluster;
    use crate::source::SourceMap;
    use crate::validate::{validate, ValidModel};

    /// YAML → validated model and a fresh allocation (the real pipeline).
    pub(crate) fn model(yaml: &str) -> (ValidModel, Lock) {
        let mut sources = SourceMap::new();
        let id = sources.add("test.yaml", yaml);
        let (raws, diags) = load_source(id, &sources);
        assert!(
            diags.iter().all(|d| !d.is_error()),
            "load errors: {diags:?}"
        );
        let (model, diags) = validate(raws);
        let model = model.unwrap_or_else(|| panic!("validation failed: {diags:?}"));
        let lock = allocate(&model, None).expect("allocation");
        (model, lock)
    }

    pub(crate) fn node(name: &str, addr: &str, extra: &str) -> String {
        format!(
            "---\napiVersion: projectcalico.org/v3\nkind: Node\nmetadata:\n  name: {name}\n  annotations:\n    netc.dev/underlay-interface: eth0\n{extra}spec:\n  bgp:\n    ipv4Address: {addr}\n"
        )
    }

    pub(crate) fn pool(name: &str, cidr: &str, ipip: &str, vxlan: &str, extra: &str) -> String {
        format!(
            "---\napiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: {name}\nspec:\n  cidr: {cidr}\n  ipipMode: {ipip}\n  vxlanMode: {vxlan}\n{extra}"
        )
    }

    fn three_nodes() -> String {
        node("node-a", "10.0.0.1/24", "")
            + &node("node-b", "10.0.0.2/24", "")
            + &node("node-c", "10.0.1.3/24", "")
    }

    #[test]
    fn vxlan_tunnel_neighbours_and_fdb() {
        let yaml = pool("p", "10.67.0.0/16", "Never", "Always", "") + &three_nodes();
        let (m, lock) = model(&yaml);
        let c = Cluster::new(&m, &lock);
        let a = c.node("node-a").unwrap();
        let (t, neigh, fdb) = super::lower(&c, a);
        assert_eq!(t.len(), 1);
        let t = &t[0];
        assert_eq!(t.name, VXLAN_DEVICE);
        assert_eq!(t.mtu, 1450);
        assert_eq!(t.parent.as_deref(), Some("eth0"));
        assert_eq!(t.local.to_string(), "10.0.0.1");
        assert_eq!(Some(t.address), a.vxlan_tunnel_addr);
        assert_eq!(
            t.kind,
            TunnelKind::Vxlan {
                vni: 4096,
                port: 4789,
                mac: a.vxlan_mac.clone()
            }
        );
        // One neighbour and one FDB entry per remote VTEP, never our own.
        assert_eq!(neigh.len(), 2);
        assert_eq!(fdb.len(), 2);
        for r in ["node-b", "node-c"] {
            let r = c.node(r).unwrap();
            let vtep = r.vxlan_tunnel_addr.unwrap();
            assert!(neigh
                .iter()
                .any(|n| n.ip == std::net::IpAddr::V4(vtep) && n.mac == r.vxlan_mac));
            assert!(fdb
                .iter()
                .any(|f| f.mac == r.vxlan_mac
                    && f.dst == std::net::IpAddr::V4(r.address.unwrap().addr)));
        }
        let mut sorted = neigh.clone();
        sorted.sort();
        assert_eq!(neigh, sorted);
    }

    #[test]
    fn ipip_tunnel_mtu_from_annotation() {
        let extra = "    netc.dev/underlay-mtu: \"9000\"\n";
        let yaml = pool("p", "10.66.0.0/16", "CrossSubnet", "Never", "")
            + &node("node-a", "10.0.0.1/24", extra)
            + &node("node-b", "10.0.1.2/24", "");
        let (m, lock) = model(&yaml);
        let c = Cluster::new(&m, &lock);
        let (t, neigh, fdb) = super::lower(&c, c.node("node-a").unwrap());
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].name, IPIP_DEVICE);
        assert_eq!(t[0].kind, TunnelKind::Ipip);
        assert_eq!(t[0].mtu, 8980);
        assert!(neigh.is_empty() && fdb.is_empty());
        let (t, _, _) = super::lower(&c, c.node("node-b").unwrap());
        assert_eq!(t[0].mtu, 1480);
    }

    #[test]
    fn no_tunnel_without_encap_or_when_disabled() {
        let yaml = pool("plain", "10.68.0.0/16", "Never", "Never", "")
            + &pool(
                "off",
                "10.69.0.0/16",
                "Always",
                "Never",
                "  disabled: true\n",
            )
            + &three_nodes();
        let (m, lock) = model(&yaml);
        let c = Cluster::new(&m, &lock);
        for n in &c.nodes {
            let (t, neigh, fdb) = super::lower(&c, n);
            assert!(t.is_empty() && neigh.is_empty() && fdb.is_empty(), "{t:?}");
        }
    }

    #[test]
    fn tunnels_sorted_by_name() {
        let yaml = pool("ipip", "10.66.0.0/16", "Always", "Never", "")
            + &pool("vx", "10.67.0.0/16", "Never", "Always", "")
            + &three_nodes();
        let (m, lock) = model(&yaml);
        let c = Cluster::new(&m, &lock);
        let (t, _, _) = super::lower(&c, c.node("node-b").unwrap());
        let names: Vec<&str> = t.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, [IPIP_DEVICE, VXLAN_DEVICE]);
    }
}
