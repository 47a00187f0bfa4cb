//! Lowering: a validated model and its block allocation → one [`HostIr`] per node.
//!
//! [`Cluster::new`] derives, once for the whole model, the facts every node's
//! lowering needs about every other node (addresses, AS numbers, blocks,
//! tunnel endpoints); [`Cluster::lower_node`] is then a pure function of the
//! cluster and a node name. Each part of the IR has its own module:
//! tunnels and VXLAN neighbours (`tunnels.rs`), kernel routes (`routes.rs`),
//! the workload interfaces' settings (`ifaces.rs`),
//! BGP sessions and BIRD policy (`bgp.rs`), the firewall (`firewall.rs`).

mod bgp;
mod bgp_filter;
mod firewall;
mod ifaces;
mod routes;
mod tunnels;

use crate::alloc::Lock;
use crate::ir::*;
use crate::model::*;
use crate::selector::Selector;
use crate::validate::ValidModel;
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LowerError {
    #[error("node `{0}` is not declared")]
    UnknownNode(String),
    /// A value validation should have rejected; reported rather than panicking.
    #[error("internal: {0}")]
    Internal(String),
    /// Lowering produced an IR that breaks the IR's own invariants (a bug).
    #[error("internal: lowering broke an IR invariant: {0}")]
    Ir(#[from] crate::ir::IrError),
}

/// A pool as lowering sees it.
#[derive(Clone, Debug)]
pub struct PoolFacts {
    pub name: String,
    pub cidr: IpNet,
    pub ipip: EncapMode,
    pub vxlan: EncapMode,
    pub nat_outgoing: bool,
    pub disabled: bool,
    pub disable_bgp_export: bool,
    pub block_size: u8,
}

/// A node as every other node's lowering sees it.
#[derive(Clone, Debug)]
pub struct NodeFacts {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    /// `spec.bgp.ipv4Address` with its prefix (host bits kept); None for a
    /// node without an IPv4 address.
    pub address: Option<Ipv4Net>,
    /// `spec.bgp.ipv6Address` with its prefix (host bits kept).
    pub address_v6: Option<Ipv6Net>,
    /// Effective AS: node's, else BGPConfiguration default's, else 64512.
    pub asn: u32,
    pub cluster_id: Option<Ipv4Addr>,
    /// Blocks allocated to this node, with the index of their pool in `Cluster::pools`.
    pub blocks: Vec<(usize, IpNet)>,
    pub ipip_tunnel_addr: Option<Ipv4Addr>,
    pub vxlan_tunnel_addr: Option<Ipv4Addr>,
    /// The `vxlan-v6.calico` address: `ipv6VXLANTunnelAddr`, else the first
    /// address of the node's block in an enabled IPv6 VXLAN pool.
    pub vxlan_tunnel_addr_v6: Option<Ipv6Addr>,
    pub vxlan_mac: Mac,
    /// `vxlanTunnelMACAddrV6`, else derived from the node name.
    pub vxlan_mac_v6: Mac,
    pub underlay: Underlay,
    /// Node runs BGP (has spec.bgp with an IPv4 address).
    pub runs_bgp: bool,
}

impl NodeFacts {
    /// The node's underlay address and prefix in one family.
    pub fn underlay_net(&self, v6: bool) -> Option<IpNet> {
        if v6 {
            self.address_v6.map(IpNet::V6)
        } else {
            self.address.map(IpNet::V4)
        }
    }

    /// The node's underlay address in one family.
    pub fn underlay_addr(&self, v6: bool) -> Option<IpAddr> {
        self.underlay_net(v6).map(|n| n.addr())
    }

    /// The node's VXLAN tunnel (VTEP) address in one family.
    pub fn vtep(&self, v6: bool) -> Option<IpAddr> {
        if v6 {
            self.vxlan_tunnel_addr_v6.map(IpAddr::V6)
        } else {
            self.vxlan_tunnel_addr.map(IpAddr::V4)
        }
    }

    /// The node's VTEP MAC in one family (Calico gives each device its own).
    pub fn vtep_mac(&self, v6: bool) -> Mac {
        if v6 {
            self.vxlan_mac_v6
        } else {
            self.vxlan_mac
        }
    }
}

/// Cluster-wide BGP settings (BGPConfiguration `default`, with Calico's defaults).
#[derive(Clone, Debug)]
pub struct BgpGlobals {
    pub mesh: bool,
    pub asn: u32,
    pub listen_port: u16,
}

pub struct Cluster<'a> {
    pub model: &'a ValidModel,
    pub lock: &'a Lock,
    pub pools: Vec<PoolFacts>,
    /// Sorted by name.
    pub nodes: Vec<NodeFacts>,
    pub bgp: BgpGlobals,
    /// Firewall facts every node needs (endpoints, sets, policies), derived once.
    fw: firewall::Shared<'a>,
}

impl<'a> Cluster<'a> {
    pub fn new(model: &'a ValidModel, lock: &'a Lock) -> Cluster<'a> {
        let default_cfg = model.default_bgp_config().map(|c| &c.spec);
        let global_asn = default_cfg
            .and_then(|c| c.as_number.as_ref())
            .and_then(|a| parse_as_number(a).ok())
            .unwrap_or(DEFAULT_AS_NUMBER);
        let bgp = BgpGlobals {
            mesh: default_cfg
                .and_then(|c| c.node_to_node_mesh_enabled)
                .unwrap_or(true),
            asn: global_asn,
            listen_port: default_cfg
                .and_then(|c| c.listen_port)
                .unwrap_or(DEFAULT_LISTEN_PORT),
        };
        let pools: Vec<PoolFacts> = model
            .ip_pools
            .iter()
            .filter_map(|p| {
                let cidr = p.spec.cidr.parse::<IpNet>().ok()?.trunc();
                Some(PoolFacts {
                    name: p.meta.name.clone(),
                    cidr,
                    ipip: p.spec.ipip_mode,
                    vxlan: p.spec.vxlan_mode,
                    nat_outgoing: p.spec.nat_outgoing,
                    disabled: p.spec.disabled,
                    disable_bgp_export: p.spec.disable_bgp_export,
                    block_size: p.spec.block_size(),
                })
            })
            .collect();
        let mut nodes: Vec<NodeFacts> = model
            .nodes
            .iter()
            .map(|n| node_facts(n, &pools, lock, global_asn))
            .collect();
        nodes.sort_by(|a, b| a.name.cmp(&b.name));
        Cluster {
            model,
            lock,
            pools,
            nodes,
            bgp,
            fw: firewall::Shared::new(model),
        }
    }

    pub fn node(&self, name: &str) -> Option<&NodeFacts> {
        self.nodes
            .binary_search_by(|n| n.name.as_str().cmp(name))
            .ok()
            .map(|i| &self.nodes[i])
    }

    /// Nodes a selector matches, in name order.
    pub fn select_nodes(&self, selector: &str) -> Vec<&NodeFacts> {
        match Selector::parse(selector) {
            Ok(s) => self.nodes.iter().filter(|n| s.matches(&n.labels)).collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Only a node's BGP part of [`Cluster::lower_node`] (its sessions and
    /// daemon settings), for whole-cluster views such as `netc graph` that
    /// do not need the firewall, by far the costliest part.
    pub fn lower_bgp(&self, name: &str) -> Result<Option<crate::ir::Bgp>, LowerError> {
        let node = self
            .node(name)
            .ok_or_else(|| LowerError::UnknownNode(name.to_string()))?;
        bgp::lower(self, node)
    }

    /// Lower one node.
    pub fn lower_node(&self, name: &str) -> Result<HostIr, LowerError> {
        let node = self
            .node(name)
            .ok_or_else(|| LowerError::UnknownNode(name.to_string()))?;
        let (tunnels, neighbors, fdb) = tunnels::lower(self, node);
        let routes = routes::lower(self, node, &tunnels);
        let workload_interfaces = ifaces::lower(self, &node.name);
        let bgp = bgp::lower(self, node)?;
        let firewall = crate::ir::timing::timed("lower.firewall", || {
            firewall::lower_with(&self.fw, self, node)
        });
        crate::ir::timing::timed("lower.check", || firewall.check())?;
        Ok(HostIr {
            node: node.name.clone(),
            address: node.address.map(IpNet::V4),
            address_v6: node.address_v6.map(IpNet::V6),
            underlay: node.underlay.clone(),
            tunnels,
            routes,
            neighbors,
            fdb,
            workload_interfaces,
            bgp,
            firewall,
        })
    }
}

fn node_facts(
    n: &Resource<NodeSpec>,
    pools: &[PoolFacts],
    lock: &Lock,
    global_asn: u32,
) -> NodeFacts {
    let bgp = n.spec.bgp.as_ref();
    // `a.b.c.d/len` with host bits kept (ipnet keeps them); validation has
    // checked the syntax, so a value that does not parse is left out.
    let address = bgp
        .and_then(|b| b.ipv4_address.as_deref())
        .and_then(|s| s.parse::<Ipv4Net>().ok());
    let address_v6 = bgp
        .and_then(|b| b.ipv6_address.as_deref())
        .and_then(|s| s.parse::<Ipv6Net>().ok());
    let asn = bgp
        .and_then(|b| b.as_number.as_ref())
        .and_then(|a| parse_as_number(a).ok())
        .unwrap_or(global_asn);
    let cluster_id = bgp
        .and_then(|b| b.route_reflector_cluster_id.as_deref())
        .and_then(|s| s.parse().ok());
    let mut blocks = Vec::new();
    for (i, p) in pools.iter().enumerate() {
        for b in lock.blocks(&p.cidr.to_string(), &n.meta.name) {
            blocks.push((i, *b));
        }
    }
    // Calico gives the tunnel the first address of the node's block in an
    // encapsulating pool, unless the Node states it.
    let first_addr_in = |pred: &dyn Fn(&PoolFacts) -> bool| -> Option<Ipv4Addr> {
        blocks.iter().find_map(|(i, b)| match b {
            IpNet::V4(b4) if pred(&pools[*i]) && !pools[*i].disabled => Some(b4.network()),
            _ => None,
        })
    };
    let first_addr_v6_in = |pred: &dyn Fn(&PoolFacts) -> bool| -> Option<Ipv6Addr> {
        blocks.iter().find_map(|(i, b)| match b {
            IpNet::V6(b6) if pred(&pools[*i]) && !pools[*i].disabled => Some(b6.network()),
            _ => None,
        })
    };
    let ipip_tunnel_addr = bgp
        .and_then(|b| b.ipv4_ipip_tunnel_addr.as_deref())
        .and_then(|s| s.parse().ok())
        .or_else(|| first_addr_in(&|p| p.ipip.enabled()));
    let vxlan_tunnel_addr = n
        .spec
        .ipv4_vxlan_tunnel_addr
        .as_deref()
        .and_then(|s| s.parse().ok())
        .or_else(|| first_addr_in(&|p| p.vxlan.enabled()));
    let vxlan_tunnel_addr_v6 = n
        .spec
        .ipv6_vxlan_tunnel_addr
        .as_deref()
        .and_then(|s| s.parse().ok())
        .or_else(|| first_addr_v6_in(&|p| p.vxlan.enabled()));
    let vxlan_mac = n
        .spec
        .vxlan_tunnel_mac_addr
        .as_deref()
        .and_then(|m| m.parse::<Mac>().ok())
        .unwrap_or_else(|| derived_mac(&n.meta.name));
    let vxlan_mac_v6 = n
        .spec
        .vxlan_tunnel_mac_addr_v6
        .as_deref()
        .and_then(|m| m.parse::<Mac>().ok())
        .unwrap_or_else(|| derived_mac(&format!("{}/ipv6", n.meta.name)));
    let underlay = Underlay {
        interface: n
            .meta
            .annotations
            .get(annotations::UNDERLAY_INTERFACE)
            .and_then(|i| IfName::try_from(i.as_str()).ok()),
        mtu: n
            .meta
            .annotations
            .get(annotations::UNDERLAY_MTU)
            .and_then(|m| m.parse().ok())
            .unwrap_or(DEFAULT_UNDERLAY_MTU),
    };
    NodeFacts {
        name: n.meta.name.clone(),
        labels: n.meta.labels.clone(),
        address,
        address_v6,
        asn,
        cluster_id,
        blocks,
        ipip_tunnel_addr,
        vxlan_tunnel_addr,
        vxlan_tunnel_addr_v6,
        vxlan_mac,
        vxlan_mac_v6,
        underlay,
        runs_bgp: address.is_some(),
    }
}

/// A stable, locally administered unicast MAC derived from the node name,
/// so every build gives every node the same VTEP MAC. The IPv6 device's
/// MAC is derived from `<name>/ipv6` (Calico also gives it its own MAC).
pub fn derived_mac(name: &str) -> Mac {
    let h = Sha256::digest(name.as_bytes());
    let b0 = (h[0] & 0xfe) | 0x02;
    Mac::new([b0, h[1], h[2], h[3], h[4], h[5]])
}
