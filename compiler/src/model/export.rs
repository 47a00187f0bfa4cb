//! Kinds a calicoctl export holds that netc reads but does not compile
//! (calico.md; api/pkg/apis/projectcalico/v3 in projectcalico/calico):
//! FelixConfiguration, Profile, KubeControllersConfiguration,
//! ClusterInformation, and the IPAM kinds BlockAffinity and IPAMBlock, which
//! [`live_blocks`] reads as the cluster's current block allocation.

use super::{Model, Resource};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};

/// A failsafe port (Felix's `ProtoPort`).
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct ProtoPort {
    /// `TCP` (Felix's default when empty), `UDP` or `SCTP`.
    #[serde(default)]
    pub protocol: Option<String>,
    pub port: u16,
    /// Net the port is open to (any when empty).
    #[serde(default)]
    pub net: Option<String>,
}

/// FelixConfiguration: netc keeps the fields it may compile later (failsafe
/// ports and MTUs); the schema checks the rest, which is then dropped.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FelixConfigurationSpec {
    #[serde(default)]
    pub failsafe_inbound_host_ports: Option<Vec<ProtoPort>>,
    #[serde(default)]
    pub failsafe_outbound_host_ports: Option<Vec<ProtoPort>>,
    #[serde(rename = "ipipMTU", default)]
    pub ipip_mtu: Option<u32>,
    #[serde(rename = "vxlanMTU", default)]
    pub vxlan_mtu: Option<u32>,
    #[serde(rename = "vxlanMTUV6", default)]
    pub vxlan_mtu_v6: Option<u32>,
    #[serde(rename = "wireguardMTU", default)]
    pub wireguard_mtu: Option<u32>,
    #[serde(rename = "wireguardMTUV6", default)]
    pub wireguard_mtu_v6: Option<u32>,
}

/// Profile: read, not compiled.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ProfileSpec {
    #[serde(default)]
    pub ingress: Vec<serde_json::Value>,
    #[serde(default)]
    pub egress: Vec<serde_json::Value>,
    #[serde(default)]
    pub labels_to_apply: std::collections::BTreeMap<String, String>,
}

/// BlockAffinity: a node's claim on a block.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct BlockAffinitySpec {
    #[serde(default)]
    pub state: Option<String>,
    pub node: String,
    pub cidr: String,
    /// A bool in projectcalico.org/v3, the string "true"/"false" in the CRD.
    #[serde(default)]
    pub deleted: Option<serde_json::Value>,
}

impl BlockAffinitySpec {
    /// Confirmed (or stateless) and not being deleted.
    pub fn is_live(&self) -> bool {
        let deleted = match &self.deleted {
            Some(serde_json::Value::Bool(b)) => *b,
            Some(serde_json::Value::String(s)) => s == "true",
            _ => false,
        };
        !deleted && matches!(self.state.as_deref(), None | Some("") | Some("confirmed"))
    }
}

/// IPAMBlock: netc reads the CIDR and the affinity only.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct IpamBlockSpec {
    pub cidr: String,
    /// `host:<node>` for a node's block.
    #[serde(default)]
    pub affinity: Option<String>,
    #[serde(default)]
    pub deleted: bool,
}

impl IpamBlockSpec {
    /// The node of a `host:<node>` affinity.
    pub fn host(&self) -> Option<&str> {
        self.affinity.as_deref()?.strip_prefix("host:")
    }
}

/// KubeControllersConfiguration and ClusterInformation: read, not compiled.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct OpaqueSpec(pub serde_json::Value);

/// Where a live block assignment comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum BlockSource {
    BlockAffinity,
    IpamBlock,
    VxlanTunnelAddr,
    IpipTunnelAddr,
}

impl BlockSource {
    pub fn describe(self) -> &'static str {
        match self {
            BlockSource::BlockAffinity => "BlockAffinity",
            BlockSource::IpamBlock => "IPAMBlock affinity",
            BlockSource::VxlanTunnelAddr => "Node spec.ipv4VXLANTunnelAddr",
            BlockSource::IpipTunnelAddr => "Node spec.bgp.ipv4IPIPTunnelAddr",
        }
    }
}

/// One claim that `node` owns `block`, and where it was read.
#[derive(Clone, Debug)]
pub struct BlockClaim<'a> {
    pub node: String,
    pub block: IpNet,
    pub source: BlockSource,
    /// The resource it came from (for diagnostics) and the pointer of the field.
    pub origin: &'a crate::load::Origin,
    pub resource: String,
    pub ptr: &'static str,
}

/// Every claim the input makes about live blocks, in input order. A tunnel
/// address counts when it lies in a declared, valid IPv4 pool: its block is
/// the pool's blockSize block around it.
pub fn block_claims(m: &Model) -> Vec<BlockClaim<'_>> {
    let mut out = Vec::new();
    for r in &m.block_affinities {
        if !r.spec.is_live() {
            continue;
        }
        if let Ok(block) = crate::validate::parse_cidr(&r.spec.cidr) {
            out.push(BlockClaim {
                node: r.spec.node.clone(),
                block: block.trunc(),
                source: BlockSource::BlockAffinity,
                origin: &r.origin,
                resource: format!("BlockAffinity {}", r.meta.name),
                ptr: "/spec/node",
            });
        }
    }
    for r in &m.ipam_blocks {
        if r.spec.deleted {
            continue;
        }
        let (Some(node), Ok(block)) = (r.spec.host(), crate::validate::parse_cidr(&r.spec.cidr))
        else {
            continue;
        };
        out.push(BlockClaim {
            node: node.to_string(),
            block: block.trunc(),
            source: BlockSource::IpamBlock,
            origin: &r.origin,
            resource: format!("IPAMBlock {}", r.meta.name),
            ptr: "/spec/affinity",
        });
    }
    let pools: Vec<(IpNet, u8)> = m
        .ip_pools
        .iter()
        .filter_map(|p| {
            let net = crate::validate::parse_cidr(&p.spec.cidr).ok()?;
            Some((net, p.spec.block_size()))
        })
        .collect();
    let block_of = |addr: &str| -> Option<IpNet> {
        let ip: std::net::IpAddr = crate::validate::parse_addr(addr).ok()?;
        pools.iter().find_map(|(net, bs)| {
            if !net.contains(&ip) || *bs < net.prefix_len() {
                return None;
            }
            IpNet::new(ip, *bs).ok().map(|b| b.trunc())
        })
    };
    for n in &m.nodes {
        let tunnels = [
            (
                n.spec.ipv4_vxlan_tunnel_addr.as_deref(),
                BlockSource::VxlanTunnelAddr,
                "/spec/ipv4VXLANTunnelAddr",
            ),
            (
                n.spec
                    .bgp
                    .as_ref()
                    .and_then(|b| b.ipv4_ipip_tunnel_addr.as_deref()),
                BlockSource::IpipTunnelAddr,
                "/spec/bgp/ipv4IPIPTunnelAddr",
            ),
            (
                n.spec.ipv6_vxlan_tunnel_addr.as_deref(),
                BlockSource::VxlanTunnelAddr,
                "/spec/ipv6VXLANTunnelAddr",
            ),
        ];
        for (addr, source, ptr) in tunnels {
            if let Some(block) = addr.and_then(block_of) {
                out.push(BlockClaim {
                    node: n.meta.name.clone(),
                    block,
                    source,
                    origin: &n.origin,
                    resource: format!("Node {}", n.meta.name),
                    ptr,
                });
            }
        }
    }
    out
}

/// The cluster's live block allocation as the input states it: each
/// (node, block) once, sorted, from BlockAffinity, IPAMBlock affinities and
/// Node tunnel addresses that fall in a pool. Validation (E0312) rejects an
/// input where these sources disagree, so on a validated model every block
/// appears with one node. For alloc.rs to seed netc.lock.
pub fn live_blocks(m: &Model) -> Vec<(String, IpNet)> {
    let mut v: Vec<(String, IpNet)> = block_claims(m)
        .into_iter()
        .map(|c| (c.node, c.block))
        .collect();
    v.sort();
    v.dedup();
    v
}

/// Resource wrapper helpers for the read-only kinds.
pub type Opaque = Resource<OpaqueSpec>;

#[cfg(test)]
mod tests {
    use super::live_blocks;
    use crate::source::SourceMap;

    #[test]
    fn live_blocks_from_affinities_ipam_blocks_and_tunnel_addresses() {
        let y = r#"
apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: p}
spec: {cidr: 10.244.0.0/16, vxlanMode: Always}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: a}
spec: {bgp: {ipv4Address: 10.0.0.1/24}, ipv4VXLANTunnelAddr: 10.244.0.1}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: b}
spec: {bgp: {ipv4Address: 10.0.0.2/24, ipv4IPIPTunnelAddr: 192.168.0.1}}
---
apiVersion: projectcalico.org/v3
kind: BlockAffinityList
items:
  - metadata: {name: a-1}
    spec: {state: confirmed, node: a, cidr: 10.244.0.0/26}
  - metadata: {name: b-1}
    spec: {state: confirmed, node: b, cidr: 10.244.0.64/26}
  - metadata: {name: b-pending}
    spec: {state: pending, node: b, cidr: 10.244.1.0/26}
  - metadata: {name: b-deleted}
    spec: {state: confirmed, node: b, cidr: 10.244.2.0/26, deleted: "true"}
---
apiVersion: projectcalico.org/v3
kind: IPAMBlock
metadata: {name: b-2}
spec: {cidr: 10.244.0.128/26, affinity: "host:b"}
---
apiVersion: projectcalico.org/v3
kind: IPAMBlock
metadata: {name: orphan}
spec: {cidr: 10.244.0.192/26}
"#;
        let mut sm = SourceMap::new();
        let id = sm.add("t.yaml", y);
        let (raws, d) = crate::load::load_source(id, &sm);
        assert!(d.is_empty(), "{d:?}");
        let (model, diags) = crate::validate::validate(raws);
        let model = model.unwrap_or_else(|| panic!("{:#?}", diags.items));
        let got: Vec<(String, String)> = live_blocks(&model)
            .into_iter()
            .map(|(n, b)| (n, b.to_string()))
            .collect();
        let want = [
            ("a", "10.244.0.0/26"),
            ("b", "10.244.0.64/26"),
            ("b", "10.244.0.128/26"),
        ];
        assert_eq!(
            got,
            want.iter()
                .map(|(n, b)| (n.to_string(), b.to_string()))
                .collect::<Vec<_>>()
        );
    }
}
