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
//!   for IPv4 VXLAN pools, with the node's VTEP MAC, its underlay interface as
//!   parent and MTU = underlay MTU − 50.
//! - `vxlan-v6.calico` (VNI 4096, port 4789, as Felix's IPv6 VXLAN manager)
//!   for IPv6 VXLAN pools: local = the node's `spec.bgp.ipv6Address`,
//!   address = `ipv6VXLANTunnelAddr`, else the first address of its block in
//!   such a pool (a /128), MAC = `vxlanTunnelMACAddrV6` (else derived), MTU =
//!   underlay MTU − 70. The two VXLAN devices are independent: a node gets
//!   each one whose family it has an underlay address for.
//!
//! For every other node that has an underlay address, a VXLAN tunnel address
//! and a block in an enabled VXLAN pool of the same family, the VXLAN node gets a permanent
//! neighbour entry (remote VTEP address → remote VTEP MAC) and a bridge FDB
//! entry (remote VTEP MAC → remote node address), as Felix's vxlan manager
//! programs them. Only a node that has the `vxlan.calico` device gets them.
//!
//! Disabled pools create no tunnels. IPIP is IPv4 only (Calico rejects
//! `ipipMode` on an IPv6 pool, and so does validation: E0305 in
//! compiler/src/validate/ippool.rs), so an IPv6 pool never makes `tunl0`.

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

/// An enabled pool: the only pools whose blocks get tunnels and routes.
pub(super) fn active(pool: &PoolFacts) -> bool {
    !pool.disabled
}

/// The pool is an IPv6 pool.
pub(super) fn is_v6(pool: &PoolFacts) -> bool {
    matches!(pool.cidr, ipnet::IpNet::V6(_))
}

/// The VXLAN device of one family.
pub(super) fn vxlan_dev(v6: bool) -> IfName {
    if v6 {
        vxlan_v6_device()
    } else {
        vxlan_device()
    }
}

/// `node` has a block in an active pool of family `v6` that uses `encap`.
fn has_block_in(c: &Cluster, node: &NodeFacts, encap: Encap, v6: bool) -> bool {
    node.blocks.iter().any(|(i, _)| {
        c.pools
            .get(*i)
            .is_some_and(|p| active(p) && is_v6(p) == v6 && mode(p, encap).enabled())
    })
}

/// Some node has a block in an active pool of family `v6` that uses `encap`.
fn in_use(c: &Cluster, encap: Encap, v6: bool) -> bool {
    c.nodes.iter().any(|n| has_block_in(c, n, encap, v6))
}

pub(super) fn lower(c: &Cluster, n: &NodeFacts) -> (Vec<Tunnel>, Vec<Neighbor>, Vec<FdbEntry>) {
    let mut tunnels = Vec::new();
    let mut neighbors = Vec::new();
    let mut fdb = Vec::new();

    if in_use(c, Encap::Ipip, false) {
        if let (Some(local), Some(address)) = (n.underlay_addr(false), n.ipip_tunnel_addr) {
            tunnels.push(Tunnel {
                name: ipip_device(),
                kind: TunnelKind::Ipip,
                local,
                parent: None,
                mtu: n.underlay.mtu.saturating_sub(IPIP_OVERHEAD),
                address: address.into(),
            });
        }
    }

    for v6 in [false, true] {
        if !in_use(c, Encap::Vxlan, v6) {
            continue;
        }
        let (Some(local), Some(address)) = (n.underlay_addr(v6), n.vtep(v6)) else {
            continue;
        };
        let dev = vxlan_dev(v6);
        let overhead = if v6 {
            VXLAN_V6_OVERHEAD
        } else {
            VXLAN_OVERHEAD
        };
        tunnels.push(Tunnel {
            name: dev.clone(),
            kind: TunnelKind::Vxlan {
                vni: VXLAN_VNI,
                port: VXLAN_PORT,
                mac: n.vtep_mac(v6),
            },
            local,
            parent: n.underlay.interface.clone(),
            mtu: n.underlay.mtu.saturating_sub(overhead),
            address,
        });
        for r in &c.nodes {
            if r.name == n.name || !has_block_in(c, r, Encap::Vxlan, v6) {
                continue;
            }
            let (Some(raddr), Some(vtep)) = (r.underlay_addr(v6), r.vtep(v6)) else {
                continue;
            };
            if vtep == address || raddr == local {
                continue; // a clash validation reports; never point at ourselves
            }
            neighbors.push(Neighbor {
                dev: dev.clone(),
                ip: vtep,
                mac: r.vtep_mac(v6),
            });
            fdb.push(FdbEntry {
                dev: dev.clone(),
                mac: r.vtep_mac(v6),
                dst: raddr,
            });
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
        assert_eq!(Some(t.address), a.vtep(false));
        assert_eq!(
            t.kind,
            TunnelKind::Vxlan {
                vni: 4096,
                port: 4789,
                mac: a.vxlan_mac
            }
        );
        // One neighbour and one FDB entry per remote VTEP, never our own.
        assert_eq!(neigh.len(), 2);
        assert_eq!(fdb.len(), 2);
        for r in ["node-b", "node-c"] {
            let r = c.node(r).unwrap();
            let vtep = r.vtep(false).unwrap();
            assert!(neigh.iter().any(|n| n.ip == vtep && n.mac == r.vxlan_mac));
            assert!(fdb
                .iter()
                .any(|f| f.mac == r.vxlan_mac && Some(f.dst) == r.underlay_addr(false)));
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

    pub(crate) fn node6(name: &str, addr: &str, addr6: &str) -> String {
        node(name, addr, "") + &format!("    ipv6Address: {addr6}\n")
    }

    fn dual_nodes() -> String {
        node6("node-a", "10.0.0.1/24", "fd00::1/64")
            + &node6("node-b", "10.0.0.2/24", "fd00::2/64")
            + &node("node-c", "10.0.1.3/24", "")
    }

    #[test]
    fn vxlan_v6_device_neighbours_and_fdb() {
        let yaml = pool("v4", "10.67.0.0/16", "Never", "Always", "")
            + &pool("v6", "fd10::/48", "Never", "Always", "")
            + &dual_nodes();
        let (m, lock) = model(&yaml);
        let c = Cluster::new(&m, &lock);
        let a = c.node("node-a").unwrap();
        let (t, neigh, fdb) = super::lower(&c, a);
        let names: Vec<&str> = t.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, [VXLAN_V6_DEVICE, VXLAN_DEVICE]);
        let t6 = &t[0];
        assert_eq!(t6.mtu, 1430);
        assert_eq!(t6.local.to_string(), "fd00::1");
        assert_eq!(t6.parent.as_deref(), Some("eth0"));
        // The first address of node-a's /122 in the v6 pool.
        let b6 = a.blocks.iter().find(|(i, _)| *i == 1).unwrap().1;
        assert_eq!(b6.prefix_len(), 122);
        assert_eq!(t6.address, b6.network());
        assert_eq!(
            t6.kind,
            TunnelKind::Vxlan {
                vni: 4096,
                port: 4789,
                mac: a.vxlan_mac_v6
            }
        );
        assert_ne!(a.vxlan_mac_v6, a.vxlan_mac);
        // v4: node-b and node-c; v6: node-b only (node-c has no ipv6Address).
        let v6n: Vec<_> = neigh.iter().filter(|n| n.dev == VXLAN_V6_DEVICE).collect();
        assert_eq!(v6n.len(), 1);
        let b = c.node("node-b").unwrap();
        assert_eq!(Some(v6n[0].ip), b.vtep(true));
        assert_eq!(v6n[0].mac, b.vxlan_mac_v6);
        let v6f: Vec<_> = fdb.iter().filter(|f| f.dev == VXLAN_V6_DEVICE).collect();
        assert_eq!(v6f.len(), 1);
        assert_eq!(v6f[0].dst.to_string(), "fd00::2");
        assert_eq!(neigh.len(), 3);
        assert_eq!(fdb.len(), 3);
        // node-c has no IPv6 underlay address: no v6 device.
        let (tc, _, _) = super::lower(&c, c.node("node-c").unwrap());
        assert_eq!(tc.len(), 1);
        assert_eq!(tc[0].name, VXLAN_DEVICE);
    }

    #[test]
    fn v6_pool_alone_makes_only_the_v6_device() {
        let yaml = pool("v6", "fd10::/48", "Never", "Always", "") + &dual_nodes();
        let (m, lock) = model(&yaml);
        let c = Cluster::new(&m, &lock);
        let (t, _, _) = super::lower(&c, c.node("node-a").unwrap());
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].name, VXLAN_V6_DEVICE);
    }
}
