//! Tunnel devices and their addresses: `ip -j -d addr show`, one call for
//! every link. Only devices named in [`super::OWNED_LINKS`] become state; the
//! rest is kept as [`super::Facts`] for the guard (is the node's address on
//! this target?).

use super::{iproute, Facts};
use crate::exec::Exec;
use crate::Error;
use netc_ir::{IfName, Mac};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum LinkKind {
    Vxlan {
        vni: u32,
        port: u16,
        /// `local` (IPv4) or `local6` (IPv6).
        local: Option<IpAddr>,
        /// Underlay device (`dev`), when set.
        parent: Option<IfName>,
        learning: bool,
    },
    Ipip {
        local: Option<IpAddr>,
    },
    /// A device with an owned name but another kind (someone else made it).
    Other {
        kind: String,
    },
}

impl LinkKind {
    pub fn name(&self) -> &str {
        match self {
            LinkKind::Vxlan { .. } => "vxlan",
            LinkKind::Ipip { .. } => "ipip",
            LinkKind::Other { kind } => kind,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    pub name: IfName,
    pub kind: LinkKind,
    pub mtu: u32,
    /// Link-layer address (VXLAN); None for IPIP.
    pub mac: Option<Mac>,
    /// Administratively up.
    pub up: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Address {
    pub dev: IfName,
    /// Address with its prefix length (host bits kept).
    pub addr: ipnet::IpNet,
}

type LinksRead = (Vec<Link>, Vec<Address>, Facts);

pub fn read(exec: &Exec) -> Result<LinksRead, Error> {
    let out = exec.read("ip", &["-j", "-d", "addr", "show"])?.check()?;
    parse(&out.stdout)
}

pub fn parse(json: &str) -> Result<LinksRead, Error> {
    let listing: Vec<iproute::Link> = iproute::parse_list("ip -j -d addr show", json)?;
    let mut links = Vec::new();
    let mut addresses = Vec::new();
    let mut facts = Facts::default();
    for l in listing {
        let Some(name) = l.ifname.as_deref() else {
            continue;
        };
        facts.links.push(name.to_string());
        if let Some(m) = l.mtu {
            facts.mtus.insert(name.to_string(), m);
        }
        let addrs = parse_addrs(&l);
        for a in &addrs {
            facts.addresses.push((name.to_string(), *a));
        }
        if !super::OWNED_LINKS.contains(&name) {
            continue;
        }
        // Every owned name is a valid interface name.
        let Ok(ifname) = IfName::try_from(name) else {
            continue;
        };
        let info = l.linkinfo.as_ref();
        let kind_s = info.and_then(|i| i.info_kind.as_deref()).unwrap_or("");
        let data = info.and_then(|i| i.info_data.as_ref());
        // iproute2 prints an IPv6 VXLAN source as `local6`.
        let local = data
            .and_then(|d| d.local.as_deref().or(d.local6.as_deref()))
            .and_then(|s| s.parse::<IpAddr>().ok());
        let kind = match kind_s {
            "vxlan" => LinkKind::Vxlan {
                vni: data.and_then(|d| d.id).unwrap_or(0),
                port: data.and_then(|d| d.port).unwrap_or(0),
                local,
                parent: data
                    .and_then(|d| d.link.as_deref())
                    .and_then(|p| IfName::try_from(p).ok()),
                learning: data.and_then(|d| d.learning).unwrap_or(true),
            },
            "ipip" => LinkKind::Ipip { local },
            other => LinkKind::Other {
                kind: if other.is_empty() {
                    "unknown".to_string()
                } else {
                    other.to_string()
                },
            },
        };
        let mac = match kind {
            LinkKind::Ipip { .. } => None,
            _ => l.address.as_deref().and_then(|m| m.parse::<Mac>().ok()),
        };
        // The kernel's dormant tunl0 (down, no address) belongs to no one.
        let dormant =
            matches!(kind, LinkKind::Ipip { .. }) && !l.has_flag("UP") && addrs.is_empty();
        if !dormant && l.ifalias.as_deref() != Some(netc_targets::iproute::OWNER_ALIAS) {
            facts.foreign_links.insert(name.to_string(), Vec::new());
        }
        links.push(Link {
            name: ifname.clone(),
            kind,
            mtu: l.mtu.unwrap_or(0),
            mac,
            up: l.has_flag("UP"),
        });
        for a in addrs {
            // Link-local IPv6 addresses are the kernel's, not netc's.
            if let ipnet::IpNet::V6(v6) = a {
                if v6.addr().segments()[0] & 0xffc0 == 0xfe80 {
                    continue;
                }
            }
            addresses.push(Address {
                dev: ifname.clone(),
                addr: a,
            });
        }
    }
    links.sort_by(|a, b| a.name.cmp(&b.name));
    addresses.sort();
    Ok((links, addresses, facts))
}

fn parse_addrs(l: &iproute::Link) -> Vec<ipnet::IpNet> {
    l.addr_info
        .iter()
        .flatten()
        .filter_map(|a| ipnet::IpNet::new(a.local?, a.prefixlen?).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_vxlan_and_keeps_foreign_links_as_facts() {
        let j = r#"[{"ifname":"veth0","flags":["UP"],"mtu":1500,"address":"aa:bb:cc:dd:ee:ff",
          "addr_info":[{"family":"inet","local":"10.0.0.1","prefixlen":24}]},
          {"ifname":"vxlan.calico","flags":["BROADCAST","UP"],"mtu":1450,"address":"66:D0:00:00:00:01",
          "linkinfo":{"info_kind":"vxlan","info_data":{"id":4096,"local":"10.0.0.1","link":"veth0","port":4789,"learning":false}},
          "addr_info":[{"family":"inet","local":"10.65.0.0","prefixlen":32},
                       {"family":"inet6","local":"fe80::1","prefixlen":64}]}]"#;
        let (links, addrs, facts) = super::parse(j).unwrap();
        assert_eq!(links.len(), 1);
        assert_eq!(
            links[0].mac.map(|m| m.to_string()).as_deref(),
            Some("66:d0:00:00:00:01")
        );
        assert!(links[0].up);
        assert_eq!(addrs.len(), 1);
        assert_eq!(addrs[0].addr.to_string(), "10.65.0.0/32");
        assert_eq!(facts.links, vec!["veth0", "vxlan.calico"]);
        assert_eq!(facts.addresses.len(), 3);
    }

    #[test]
    fn parses_ipv6_vxlan_local6() {
        let j = r#"[{"ifname":"vxlan-v6.calico","flags":["UP"],"mtu":1430,"address":"66:00:00:00:00:03",
          "linkinfo":{"info_kind":"vxlan","info_data":{"id":4096,"local6":"fd00::1","link":"veth0","port":4789,"learning":false}},
          "addr_info":[{"family":"inet6","local":"fd10::","prefixlen":128}]}]"#;
        let (links, addrs, _) = super::parse(j).unwrap();
        assert_eq!(links.len(), 1);
        let super::LinkKind::Vxlan { local, .. } = &links[0].kind else {
            panic!("{:?}", links[0].kind)
        };
        assert_eq!(local.map(|l| l.to_string()).as_deref(), Some("fd00::1"));
        assert_eq!(addrs[0].addr.to_string(), "fd10::/128");
    }
}
