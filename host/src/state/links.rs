//! Tunnel devices and their addresses: `ip -j -d addr show`, one call for
//! every link. Only devices named in [`super::OWNED_LINKS`] become state; the
//! rest is kept as [`super::Facts`] for the guard (is the node's address on
//! this target?).

use super::{iproute, Facts};
use crate::exec::Exec;
use crate::Error;
use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum LinkKind {
    Vxlan {
        vni: u32,
        port: u16,
        local: Option<Ipv4Addr>,
        /// Underlay device (`dev`), when set.
        parent: Option<String>,
        learning: bool,
    },
    Ipip {
        local: Option<Ipv4Addr>,
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
    pub name: String,
    pub kind: LinkKind,
    pub mtu: u32,
    /// Link-layer address (VXLAN); None for IPIP.
    pub mac: Option<String>,
    /// Administratively up.
    pub up: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Address {
    pub dev: String,
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
        let addrs = parse_addrs(&l);
        for a in &addrs {
            facts.addresses.push((name.to_string(), *a));
        }
        if !super::OWNED_LINKS.contains(&name) {
            continue;
        }
        let info = l.linkinfo.as_ref();
        let kind_s = info.and_then(|i| i.info_kind.as_deref()).unwrap_or("");
        let data = info.and_then(|i| i.info_data.as_ref());
        let local = data
            .and_then(|d| d.local.as_deref())
            .and_then(|s| s.parse::<Ipv4Addr>().ok());
        let kind = match kind_s {
            "vxlan" => LinkKind::Vxlan {
                vni: data.and_then(|d| d.id).unwrap_or(0),
                port: data.and_then(|d| d.port).unwrap_or(0),
                local,
                parent: data.and_then(|d| d.link.clone()),
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
            _ => l.address.as_deref().map(str::to_ascii_lowercase),
        };
        links.push(Link {
            name: name.to_string(),
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
                dev: name.to_string(),
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
        assert_eq!(links[0].mac.as_deref(), Some("66:d0:00:00:00:01"));
        assert!(links[0].up);
        assert_eq!(addrs.len(), 1);
        assert_eq!(addrs[0].addr.to_string(), "10.65.0.0/32");
        assert_eq!(facts.links, vec!["veth0", "vxlan.calico"]);
        assert_eq!(facts.addresses.len(), 3);
    }
}
