//! Kernel routes netc owns (protocol [`NETC_ROUTE_PROTO`]).
//!
//! For each enabled pool, IPv4 and IPv6 alike, this node (N) gets:
//!
//! - a blackhole for each of its own blocks ([`RouteOrigin::LocalBlock`]), so
//!   traffic to an unused address of its block is dropped instead of
//!   following the default route. netc installs these for every pool, also
//!   when BIRD programs the pool's other routes: a node without a running
//!   BIRD must still not leak its block (BIRD 2 installs its static
//!   blackholes with its own kernel metric, so the two coexist).
//! - for each other node R with an underlay address and a block in the pool,
//!   a route to that block, *if netc programs the pool* ([`netc_programs`]):
//!   - VXLAN (Always, or CrossSubnet with R in another subnet):
//!     `via <R's VTEP address> dev vxlan.calico onlink` ([`RouteOrigin::VxlanBlock`]),
//!     for an IPv6 pool `via <R's IPv6 VTEP address> dev vxlan-v6.calico onlink`;
//!   - IPIP (Always, or CrossSubnet with R in another subnet):
//!     `via <R's address> dev tunl0 onlink` ([`RouteOrigin::IpipBlock`]);
//!   - no encapsulation (CrossSubnet with R in N's subnet, or a pool with both
//!     modes Never): `via <R's address> [dev <underlay>]` ([`RouteOrigin::NoEncapBlock`]).
//!     "Same subnet" means N's `ipv4Address` network contains R's address
//!     (for an IPv6 pool: N's `ipv6Address` network and R's `ipv6Address`).
//!     Routes to an IPv6 pool's blocks go to R's IPv6 addresses; a node
//!     without an `ipv6Address` neither gets nor is the target of them.
//!     For a Never pool and R in another subnet the route is `onlink` on the
//!     underlay interface, as Felix programs it (RTNH_F_ONLINK; it works when
//!     the nodes share the L2 segment); without a known underlay interface
//!     there is no such route.
//!
//!   Encapsulated routes need the tunnel device on N (see [`super::tunnels`]);
//!   without it (N has no tunnel address) they are left out.
//! - a `/32` (or `/128`) `dev <interfaceName> scope link` route for every
//!   `ipNetworks` entry of each WorkloadEndpoint on N ([`RouteOrigin::Workload`]).
//!
//! # Who programs cluster routes (docs/calico.md §3.6)
//!
//! Calico splits the routes to other nodes' blocks ("cluster routes")
//! between BIRD and Felix *per pool*, by the pool's encapsulation
//! (confd `clusterRoutePolicy.programsPool`, libcalico-go @HEAD):
//!
//! - VXLAN pools (Always or CrossSubnet): always Felix — here always netc.
//! - IPIP pools (Always or CrossSubnet): Felix by default; BIRD only when
//!   BGPConfiguration `programClusterRoutes` is `Enabled` or
//!   `EnabledIPIPOnly`, through the fork-only `krt_tunnel` attribute (a
//!   deprecated path, removed in v3.35). Upstream BIRD 2 has no `krt_tunnel`
//!   (docs/lab-facts.md, "BIRD 2"), so **netc always programs IPIP
//!   pools**; the setting cannot move IPIP routes to BIRD.
//! - Pools with both modes Never ("no-encap"): BIRD, unless
//!   `programClusterRoutes` is `Disabled` or `EnabledIPIPOnly`, in which case
//!   netc programs them (netc plays Felix with its programClusterRoutes on).
//!   Default (unset) is `EnabledNoEncapOnly`: BIRD.
//!
//! The split is per pool, not per route: the same-subnet (unencapsulated)
//! routes of a CrossSubnet pool belong to whoever owns the pool — netc, as
//! Felix's IPIP/VXLAN managers program them in Calico. That keeps BIRD's
//! kernel export filter a plain per-pool accept/reject and is what
//! `PoolRouting::bird_programs_kernel` records: `!netc_programs(pool, c)`.
//! Only the `default` BGPConfiguration counts (confd reads the global one).
//! `reachableBy` static routes are BIRD's (static protocol), not netc's.
//!
//! Disabled pools get no routes at all (their blocks are kept in the lock
//! but not routed).

use super::tunnels::{active, is_v6, vxlan_dev, Encap};
use super::{Cluster, NodeFacts, PoolFacts};
use crate::ir::*;
use crate::model::{EncapMode, ProgramClusterRoutes};
use ipnet::IpNet;
use std::net::IpAddr;

/// Whether netc's `routes.batch` programs the routes to other nodes' blocks
/// in `pool` (true), or BIRD's kernel protocol does (false). The BIRD side
/// must agree: `PoolRouting::bird_programs_kernel = !netc_programs(pool, cluster)`.
/// See the module documentation for the rules.
pub(crate) fn netc_programs(pool: &PoolFacts, cluster: &Cluster) -> bool {
    if pool.vxlan.enabled() || pool.ipip.enabled() {
        return true;
    }
    let setting = cluster
        .model
        .default_bgp_config()
        .and_then(|c| c.spec.program_cluster_routes);
    match setting {
        None
        | Some(ProgramClusterRoutes::EnabledNoEncapOnly)
        | Some(ProgramClusterRoutes::Enabled) => false,
        Some(ProgramClusterRoutes::Disabled) | Some(ProgramClusterRoutes::EnabledIpipOnly) => true,
    }
}

pub(super) fn lower(c: &Cluster, n: &NodeFacts, tunnels: &[Tunnel]) -> Vec<Route> {
    let has = |dev: &str| tunnels.iter().any(|t| t.name == dev);
    let has_ipip = has(IPIP_DEVICE);
    let mut routes = Vec::new();

    for (pi, pool) in c.pools.iter().enumerate() {
        if !active(pool) {
            continue;
        }
        let v6 = is_v6(pool);
        for (_, b) in n.blocks.iter().filter(|(i, _)| *i == pi) {
            routes.push(Route {
                dst: *b,
                kind: RouteKind::Blackhole,
                origin: Some(RouteOrigin::LocalBlock),
            });
        }
        if !netc_programs(pool, c) {
            continue;
        }
        let Some(local) = n.underlay_net(v6) else {
            continue;
        };
        let has_vxlan = has(&vxlan_dev(v6));
        for r in c.nodes.iter().filter(|r| r.name != n.name) {
            let Some(raddr) = r.underlay_addr(v6) else {
                continue;
            };
            if raddr == local.addr() {
                continue; // duplicate address: validation reports it
            }
            let same_subnet = local.trunc().contains(&raddr);
            let here = Here {
                n,
                same_subnet,
                has_ipip: has_ipip && !v6,
                has_vxlan,
                v6,
            };
            for (_, b) in r.blocks.iter().filter(|(i, _)| *i == pi) {
                if let Some((kind, origin)) = remote_block(pool, &here, r, raddr) {
                    routes.push(Route {
                        dst: *b,
                        kind,
                        origin: Some(origin),
                    });
                }
            }
        }
    }

    for wep in &c.model.workload_endpoints {
        if wep.spec.node != n.name {
            continue;
        }
        // Validation has checked the name; an invalid one gets no route.
        let Ok(dev) = IfName::try_from(wep.spec.interface_name.as_str()) else {
            continue;
        };
        for net in &wep.spec.ip_networks {
            if let Some(dst) = parse_net(net) {
                routes.push(Route {
                    dst,
                    kind: RouteKind::Dev { dev: dev.clone() },
                    origin: Some(RouteOrigin::Workload),
                });
            }
        }
    }

    // One route per destination (the kernel keeps one per prefix and metric);
    // a clash is only possible with input validation rejects, and then the
    // first in IR order wins, deterministically.
    routes.sort();
    routes.dedup_by(|later, first| later.dst == first.dst);
    routes
}

/// What N has for the pool's family: whether R is in its subnet and which
/// tunnel devices exist.
struct Here<'a> {
    n: &'a NodeFacts,
    same_subnet: bool,
    has_ipip: bool,
    has_vxlan: bool,
    v6: bool,
}

/// The route to remote node R's block in `pool` (R's underlay address in the
/// pool's family is `raddr`), or None when N cannot reach it by a route netc
/// may program.
fn remote_block(
    pool: &PoolFacts,
    h: &Here,
    r: &NodeFacts,
    raddr: IpAddr,
) -> Option<(RouteKind, RouteOrigin)> {
    let encap = if pool.vxlan.enabled() {
        Some((Encap::Vxlan, pool.vxlan))
    } else if pool.ipip.enabled() {
        Some((Encap::Ipip, pool.ipip))
    } else {
        None
    };
    match encap {
        Some((_, EncapMode::CrossSubnet)) if h.same_subnet => no_encap(h.n, raddr, true),
        Some((Encap::Vxlan, _)) => {
            let vtep = r.vtep(h.v6).filter(|_| h.has_vxlan)?;
            Some((
                RouteKind::Via {
                    gateway: vtep,
                    dev: Some(vxlan_dev(h.v6)),
                    onlink: true,
                },
                RouteOrigin::VxlanBlock,
            ))
        }
        Some((Encap::Ipip, _)) => h.has_ipip.then(|| {
            (
                RouteKind::Via {
                    gateway: raddr,
                    dev: Some(ipip_device()),
                    onlink: true,
                },
                RouteOrigin::IpipBlock,
            )
        }),
        None => no_encap(h.n, raddr, h.same_subnet),
    }
}

/// An unencapsulated route via the remote node's underlay address.
fn no_encap(n: &NodeFacts, raddr: IpAddr, same_subnet: bool) -> Option<(RouteKind, RouteOrigin)> {
    let dev = n.underlay.interface.clone();
    if !same_subnet && dev.is_none() {
        return None;
    }
    Some((
        RouteKind::Via {
            gateway: raddr,
            dev,
            onlink: !same_subnet,
        },
        RouteOrigin::NoEncapBlock,
    ))
}

/// A WorkloadEndpoint `ipNetworks` entry: a CIDR (host bits cleared, as
/// Felix routes the CIDR it is given; normally a /32 or /128) or a bare
/// address (→ /32 or /128).
fn parse_net(s: &str) -> Option<IpNet> {
    if let Ok(net) = s.parse::<IpNet>() {
        return Some(net.trunc());
    }
    s.parse::<IpAddr>().ok().map(IpNet::from)
}

#[cfg(test)]
mod tests {
    use super::super::tunnels::tests::{model, node, pool};
    use crate::ir::*;
    use crate::lower::Cluster;
    use std::net::IpAddr;

    fn block(c: &Cluster, node: &str, pool_idx: usize) -> ipnet::IpNet {
        c.node(node)
            .unwrap()
            .blocks
            .iter()
            .find(|(i, _)| *i == pool_idx)
            .map(|(_, b)| *b)
            .unwrap()
    }

    fn route_to(routes: &[Route], dst: ipnet::IpNet) -> Option<&Route> {
        routes.iter().find(|r| r.dst == dst)
    }

    fn via(gw: &str, dev: Option<&str>, onlink: bool) -> RouteKind {
        RouteKind::Via {
            gateway: gw.parse::<IpAddr>().unwrap(),
            dev: dev.map(|d| d.parse().unwrap()),
            onlink,
        }
    }

    fn lower(c: &Cluster, name: &str) -> Vec<Route> {
        let n = c.node(name).unwrap();
        let (t, _, _) = super::super::tunnels::lower(c, n);
        super::lower(c, n, &t)
    }

    fn four_nodes() -> String {
        node("node-a", "10.0.0.1/24", "")
            + &node("node-b", "10.0.0.2/24", "")
            + &node("node-c", "10.0.1.3/24", "")
            + &node("node-d", "10.0.1.4/24", "")
    }

    #[test]
    fn ipip_cross_subnet_picks_encapsulation_by_subnet() {
        let yaml = pool("cross", "10.66.0.0/16", "CrossSubnet", "Never", "") + &four_nodes();
        let (m, lock) = model(&yaml);
        let c = Cluster::new(&m, &lock);
        let routes = lower(&c, "node-a");
        let own = route_to(&routes, block(&c, "node-a", 0)).unwrap();
        assert_eq!(own.kind, RouteKind::Blackhole);
        assert_eq!(own.origin, Some(RouteOrigin::LocalBlock));
        let b = route_to(&routes, block(&c, "node-b", 0)).unwrap();
        assert_eq!(b.kind, via("10.0.0.2", Some("eth0"), false));
        assert_eq!(b.origin, Some(RouteOrigin::NoEncapBlock));
        for (name, gw) in [("node-c", "10.0.1.3"), ("node-d", "10.0.1.4")] {
            let r = route_to(&routes, block(&c, name, 0)).unwrap();
            assert_eq!(r.kind, via(gw, Some("tunl0"), true));
            assert_eq!(r.origin, Some(RouteOrigin::IpipBlock));
        }
        assert_eq!(routes.len(), 4);
    }

    #[test]
    fn vxlan_always_routes_via_remote_vteps() {
        let yaml = pool("vx", "10.67.0.0/16", "Never", "Always", "") + &four_nodes();
        let (m, lock) = model(&yaml);
        let c = Cluster::new(&m, &lock);
        let routes = lower(&c, "node-a");
        for name in ["node-b", "node-c", "node-d"] {
            let vtep = c.node(name).unwrap().vtep(false).unwrap().to_string();
            let r = route_to(&routes, block(&c, name, 0)).unwrap();
            assert_eq!(r.kind, via(&vtep, Some("vxlan.calico"), true));
            assert_eq!(r.origin, Some(RouteOrigin::VxlanBlock));
        }
    }

    #[test]
    fn vxlan_cross_subnet_same_subnet_is_unencapsulated() {
        let yaml = pool("vx", "10.67.0.0/16", "Never", "CrossSubnet", "") + &four_nodes();
        let (m, lock) = model(&yaml);
        let c = Cluster::new(&m, &lock);
        let routes = lower(&c, "node-c");
        let d = route_to(&routes, block(&c, "node-d", 0)).unwrap();
        assert_eq!(d.kind, via("10.0.1.4", Some("eth0"), false));
        let a = route_to(&routes, block(&c, "node-a", 0)).unwrap();
        let vtep = c.node("node-a").unwrap().vtep(false).unwrap().to_string();
        assert_eq!(a.kind, via(&vtep, Some("vxlan.calico"), true));
    }

    #[test]
    fn no_encap_pool_belongs_to_bird_by_default() {
        let yaml = pool("plain", "10.68.0.0/16", "Never", "Never", "") + &four_nodes();
        let (m, lock) = model(&yaml);
        let c = Cluster::new(&m, &lock);
        assert!(!super::netc_programs(&c.pools[0], &c));
        let routes = lower(&c, "node-a");
        // Only the own-block blackhole: BIRD installs the routes it learns.
        assert_eq!(routes.len(), 1);
        assert_eq!(routes[0].kind, RouteKind::Blackhole);
    }

    #[test]
    fn program_cluster_routes_moves_no_encap_to_netc() {
        for (setting, netc) in [
            ("Enabled", false),
            ("EnabledNoEncapOnly", false),
            ("Disabled", true),
            ("EnabledIPIPOnly", true),
        ] {
            let cfg = format!(
                "---\napiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata:\n  name: default\nspec:\n  programClusterRoutes: {setting}\n"
            );
            let yaml = cfg
                + &pool("plain", "10.68.0.0/16", "Never", "Never", "")
                + &pool("ipip", "10.66.0.0/16", "Always", "Never", "")
                + &pool("vx", "10.67.0.0/16", "Never", "Always", "")
                + &four_nodes();
            let (m, lock) = model(&yaml);
            let c = Cluster::new(&m, &lock);
            assert_eq!(super::netc_programs(&c.pools[0], &c), netc, "{setting}");
            // Encapsulated pools are netc's whatever the setting says.
            assert!(super::netc_programs(&c.pools[1], &c), "{setting}");
            assert!(super::netc_programs(&c.pools[2], &c), "{setting}");
            let routes = lower(&c, "node-a");
            let b = route_to(&routes, block(&c, "node-b", 0));
            let d = route_to(&routes, block(&c, "node-d", 0));
            if netc {
                assert_eq!(b.unwrap().kind, via("10.0.0.2", Some("eth0"), false));
                // Another subnet: onlink on the underlay, as Felix does.
                assert_eq!(d.unwrap().kind, via("10.0.1.4", Some("eth0"), true));
            } else {
                assert!(b.is_none() && d.is_none(), "{setting}");
            }
        }
    }

    #[test]
    fn workload_routes_and_order() {
        let wep = "---\napiVersion: projectcalico.org/v3\nkind: WorkloadEndpoint\nmetadata:\n  name: node--a-k8s-web-eth0\n  namespace: default\nspec:\n  node: node-a\n  interfaceName: cali0a1b2c3d4e5\n  ipNetworks: [10.67.0.5/32]\n---\napiVersion: projectcalico.org/v3\nkind: WorkloadEndpoint\nmetadata:\n  name: node--b-k8s-db-eth0\n  namespace: default\nspec:\n  node: node-b\n  interfaceName: cali99\n  ipNetworks: [10.67.0.70/32]\n";
        let yaml = pool("vx", "10.67.0.0/16", "Never", "Always", "") + &four_nodes() + wep;
        let (m, lock) = model(&yaml);
        let c = Cluster::new(&m, &lock);
        let routes = lower(&c, "node-a");
        let w = route_to(&routes, "10.67.0.5/32".parse().unwrap()).unwrap();
        assert_eq!(
            w.kind,
            RouteKind::Dev {
                dev: "cali0a1b2c3d4e5".parse().unwrap()
            }
        );
        assert_eq!(w.origin, Some(RouteOrigin::Workload));
        assert!(route_to(&routes, "10.67.0.70/32".parse().unwrap()).is_none());
        let mut sorted = routes.clone();
        sorted.sort();
        assert_eq!(routes, sorted);
        // Deterministic.
        assert_eq!(routes, lower(&c, "node-a"));
    }

    #[test]
    fn dual_stack_routes() {
        use super::super::tunnels::tests::node6;
        let wep = "---\napiVersion: projectcalico.org/v3\nkind: WorkloadEndpoint\nmetadata:\n  name: node--a-k8s-web-eth0\n  namespace: default\nspec:\n  node: node-a\n  interfaceName: cali0a1b2c3d4e5\n  ipNetworks: [10.67.0.5/32, \"fd10::5/128\"]\n";
        let yaml = pool("v4", "10.67.0.0/16", "Never", "Always", "")
            + &pool("v6", "fd10::/48", "Never", "Always", "")
            + &pool("v6plain", "fd20::/48", "Never", "Never", "")
            + &node6("node-a", "10.0.0.1/24", "fd00::1/64")
            + &node6("node-b", "10.0.0.2/24", "fd00::2/64")
            + &node("node-c", "10.0.1.3/24", "")
            + wep;
        let (m, lock) = model(&yaml);
        let c = Cluster::new(&m, &lock);
        let routes = lower(&c, "node-a");
        // Own v6 blocks are blackholed, in both v6 pools.
        for pi in [1, 2] {
            let own = route_to(&routes, block(&c, "node-a", pi)).unwrap();
            assert_eq!(own.kind, RouteKind::Blackhole);
            assert_eq!(own.dst.prefix_len(), 122);
        }
        // node-b's v6 VXLAN block: via its v6 VTEP on vxlan-v6.calico.
        let vtep6 = c.node("node-b").unwrap().vtep(true).unwrap().to_string();
        let b6 = route_to(&routes, block(&c, "node-b", 1)).unwrap();
        assert_eq!(b6.kind, via(&vtep6, Some("vxlan-v6.calico"), true));
        assert_eq!(b6.origin, Some(RouteOrigin::VxlanBlock));
        // node-c has no ipv6Address: no route to its v6 block.
        assert!(route_to(&routes, block(&c, "node-c", 1)).is_none());
        // v4 is unchanged by the v6 pools.
        let c4 = route_to(&routes, block(&c, "node-c", 0)).unwrap();
        let vtep4 = c.node("node-c").unwrap().vtep(false).unwrap().to_string();
        assert_eq!(c4.kind, via(&vtep4, Some("vxlan.calico"), true));
        // The no-encap v6 pool is BIRD's by default: only the blackhole.
        assert!(route_to(&routes, block(&c, "node-b", 2)).is_none());
        // The workload's v6 address.
        let w6 = route_to(&routes, "fd10::5/128".parse().unwrap()).unwrap();
        assert_eq!(w6.origin, Some(RouteOrigin::Workload));
        // node-c: v4 only, no v6 device, so no route to node-a's v6 block.
        let rc = lower(&c, "node-c");
        assert!(route_to(&rc, block(&c, "node-a", 1)).is_none());
        assert!(route_to(&rc, block(&c, "node-c", 1)).is_some()); // its own blackhole
    }

    #[test]
    fn ipv6_cross_subnet_uses_the_ipv6_subnets() {
        use super::super::tunnels::tests::node6;
        // node-a and node-b share an IPv4 subnet but not an IPv6 one; node-c
        // is the other way round. Only the IPv6 subnets decide for a v6 pool.
        let yaml = pool("v6", "fd10::/48", "Never", "CrossSubnet", "")
            + &node6("node-a", "10.0.0.1/24", "fd00:1::1/64")
            + &node6("node-b", "10.0.0.2/24", "fd00:2::2/64")
            + &node6("node-c", "10.0.1.3/24", "fd00:1::3/64");
        let (m, lock) = model(&yaml);
        let c = Cluster::new(&m, &lock);
        let routes = lower(&c, "node-a");
        let vtep_b = c.node("node-b").unwrap().vtep(true).unwrap().to_string();
        let b = route_to(&routes, block(&c, "node-b", 0)).unwrap();
        assert_eq!(b.kind, via(&vtep_b, Some("vxlan-v6.calico"), true));
        let cc = route_to(&routes, block(&c, "node-c", 0)).unwrap();
        assert_eq!(cc.kind, via("fd00:1::3", Some("eth0"), false));
        assert_eq!(cc.origin, Some(RouteOrigin::NoEncapBlock));
    }

    #[test]
    fn node_without_address_gets_only_blackholes() {
        let yaml = pool("vx", "10.67.0.0/16", "Never", "Always", "")
            + &node("node-a", "10.0.0.1/24", "")
            + "---\napiVersion: projectcalico.org/v3\nkind: Node\nmetadata:\n  name: node-z\nspec: {}\n";
        let (m, lock) = model(&yaml);
        let c = Cluster::new(&m, &lock);
        let z = lower(&c, "node-z");
        assert!(z.iter().all(|r| r.kind == RouteKind::Blackhole), "{z:?}");
        // And node-a has no route to node-z's block (no address to route to).
        let a = lower(&c, "node-a");
        assert!(a.iter().all(|r| r.kind == RouteKind::Blackhole), "{a:?}");
    }
}
