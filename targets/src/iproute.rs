//! iproute2 command builders: the one place netc spells an `ip -batch` or
//! `bridge -batch` line. The artifact emitters ([`crate::tunnels`],
//! [`crate::routes`]) and the host layer's apply steps (netc-host
//! `plan/links.rs`, `plan/routes.rs`) both build their lines here, so what
//! `netc build` writes and what `netc apply` runs cannot drift apart.
//!
//! Names and MACs are taken as the IR's checked types ([`IfName`], [`Mac`])
//! wherever a caller may hold anything else, so no builder can be handed a
//! blank, a newline or a quote that would smuggle a second command into a
//! batch. Addresses are `std::net`/`ipnet` values; every line works for
//! IPv4 and IPv6 alike (`ip` infers the family from the address).
//!
//! ```text
//! link add <name> type vxlan id <vni> dstport <port> [local <ip>] [dev <parent>] nolearning|learning
//! link set <name> [address <mac>] mtu <mtu> up|down
//! link set <name> down            link del <name>
//! addr replace|add|del <ip>/<len> dev <name>      addr flush dev <name>
//! neigh replace <ip> lladdr <mac> dev <name> nud permanent    neigh del <ip> dev <name>
//! route replace [blackhole] <dst> [via <gw>] [dev <d>] [onlink|scope link] [table T] [metric M] proto 233
//! route del [<type>] <dst> [table T] [metric M] proto 233
//! fdb replace|append <mac> dev <name> dst <ip> self permanent   fdb del <mac> dev <name> dst <ip> self   (bridge)
//! ```

use ipnet::IpNet;
use netc_ir::{IfName, Mac, NETC_ROUTE_PROTO};
use std::fmt::Write;
use std::net::IpAddr;

/// A VXLAN device's identity (what `link add` fixes; changing it needs a new device).
#[derive(Clone, Copy, Debug)]
pub struct Vxlan<'a> {
    pub name: &'a IfName,
    pub vni: u32,
    pub port: u16,
    pub local: Option<IpAddr>,
    pub parent: Option<&'a IfName>,
    pub learning: bool,
}

/// `link add <name> type vxlan id <vni> dstport <port> [local <ip>] [dev <parent>] nolearning`
pub fn vxlan_add(v: &Vxlan) -> String {
    let mut c = format!(
        "link add {} type vxlan id {} dstport {}",
        v.name, v.vni, v.port
    );
    if let Some(l) = v.local {
        let _ = write!(c, " local {l}");
    }
    if let Some(p) = v.parent {
        let _ = write!(c, " dev {p}");
    }
    c.push_str(if v.learning {
        " learning"
    } else {
        " nolearning"
    });
    c
}

/// `link set <name> [address <mac>] mtu <mtu> up|down`
pub fn link_set(name: &IfName, mac: Option<&Mac>, mtu: u32, up: bool) -> String {
    let mut c = format!("link set {name}");
    if let Some(m) = mac {
        let _ = write!(c, " address {m}");
    }
    let _ = write!(c, " mtu {mtu}");
    c.push_str(if up { " up" } else { " down" });
    c
}

/// The interface alias (`ifalias`) netc gives every tunnel device it
/// creates or configures: how a later run tells its own device from one
/// another program made under the same name (calico/node's, say).
pub const OWNER_ALIAS: &str = "netc";

/// `link set <name> alias netc` ([`OWNER_ALIAS`]).
pub fn link_mark_owned(name: &IfName) -> String {
    format!("link set {name} alias {OWNER_ALIAS}")
}

/// `link set <name> down`
pub fn link_down(name: &IfName) -> String {
    format!("link set {name} down")
}

/// `link del <name>`
pub fn link_del(name: &IfName) -> String {
    format!("link del {name}")
}

/// `addr replace <addr> dev <dev>` (a re-run does not fail on an existing address).
pub fn addr_replace(addr: IpNet, dev: &IfName) -> String {
    format!("addr replace {addr} dev {dev}")
}

/// `addr add <addr> dev <dev>`
pub fn addr_add(addr: IpNet, dev: &IfName) -> String {
    format!("addr add {addr} dev {dev}")
}

/// `addr del <addr> dev <dev>`
pub fn addr_del(addr: IpNet, dev: &IfName) -> String {
    format!("addr del {addr} dev {dev}")
}

/// `addr flush dev <dev>`
pub fn addr_flush(dev: &IfName) -> String {
    format!("addr flush dev {dev}")
}

/// A tunnel's own address as it sits on the device: a host prefix
/// (/32 or /128).
pub fn host_prefix(ip: IpAddr) -> IpNet {
    IpNet::from(ip)
}

/// `neigh replace <ip> lladdr <mac> dev <dev> nud permanent`
pub fn neigh_replace(ip: IpAddr, mac: &Mac, dev: &IfName) -> String {
    format!("neigh replace {ip} lladdr {mac} dev {dev} nud permanent")
}

/// `neigh del <ip> dev <dev>`
pub fn neigh_del(ip: IpAddr, dev: &IfName) -> String {
    format!("neigh del {ip} dev {dev}")
}

/// `fdb replace <mac> dev <dev> dst <ip> self permanent` (`bridge -batch`)
pub fn fdb_replace(mac: &Mac, dev: &IfName, dst: IpAddr) -> String {
    format!("fdb replace {mac} dev {dev} dst {dst} self permanent")
}

/// `fdb append <mac> dev <dev> dst <ip> self permanent` (`bridge -batch`)
pub fn fdb_append(mac: &Mac, dev: &IfName, dst: IpAddr) -> String {
    format!("fdb append {mac} dev {dev} dst {dst} self permanent")
}

/// `fdb del <mac> dev <dev> dst <ip> self` (`bridge -batch`)
pub fn fdb_del(mac: &Mac, dev: &IfName, dst: IpAddr) -> String {
    format!("fdb del {mac} dev {dev} dst {dst} self")
}

/// What a route does, in the words `ip route` uses after the destination.
#[derive(Clone, Copy, Debug)]
pub enum RouteTarget<'a> {
    Blackhole,
    Via {
        gateway: IpAddr,
        dev: Option<&'a IfName>,
        onlink: bool,
    },
    Dev {
        dev: &'a IfName,
    },
}

impl<'a> From<&'a netc_ir::RouteKind> for RouteTarget<'a> {
    fn from(k: &'a netc_ir::RouteKind) -> Self {
        use netc_ir::RouteKind;
        match k {
            RouteKind::Blackhole => RouteTarget::Blackhole,
            RouteKind::Via {
                gateway,
                dev,
                onlink,
            } => RouteTarget::Via {
                gateway: *gateway,
                dev: dev.as_ref(),
                onlink: *onlink,
            },
            RouteKind::Dev { dev } => RouteTarget::Dev { dev },
        }
    }
}

/// `blackhole` / `via G [dev D] [onlink]` / `dev D scope link`. `onlink` is
/// only written with a device (the kernel requires one).
pub fn route_words(t: &RouteTarget) -> String {
    match t {
        RouteTarget::Blackhole => "blackhole".into(),
        RouteTarget::Via {
            gateway,
            dev,
            onlink,
        } => {
            let mut s = format!("via {gateway}");
            if let Some(d) = dev {
                let _ = write!(s, " dev {d}");
                if *onlink {
                    s.push_str(" onlink");
                }
            }
            s
        }
        RouteTarget::Dev { dev } => format!("dev {dev} scope link"),
    }
}

/// Where a route lives besides its destination: table and metric (`None`: main, 0).
#[derive(Clone, Copy, Debug, Default)]
pub struct RouteKey<'a> {
    pub table: Option<&'a str>,
    pub metric: Option<u32>,
}

fn route_tail(out: &mut String, key: &RouteKey) {
    if let Some(t) = key.table {
        let _ = write!(out, " table {t}");
    }
    if let Some(m) = key.metric {
        let _ = write!(out, " metric {m}");
    }
    let _ = write!(out, " proto {NETC_ROUTE_PROTO}");
}

/// `route replace blackhole <dst> …` / `route replace <dst> <words> …`, marked
/// with netc's protocol.
pub fn route_replace(dst: IpNet, target: &RouteTarget, key: &RouteKey) -> String {
    let mut s = match target {
        RouteTarget::Blackhole => format!("route replace blackhole {dst}"),
        t => format!("route replace {dst} {}", route_words(t)),
    };
    route_tail(&mut s, key);
    s
}

/// `route del [<type>] <dst> [table T] [metric M] proto 233`; `route_type`
/// is the kernel's type word for a typed route (`blackhole`, `unreachable`…).
pub fn route_del(dst: IpNet, route_type: Option<&str>, key: &RouteKey) -> String {
    let mut s = String::from("route del ");
    if let Some(t) = route_type {
        s.push_str(t);
        s.push(' ');
    }
    let _ = write!(s, "{dst}");
    route_tail(&mut s, key);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> IfName {
        s.parse().unwrap()
    }

    #[test]
    fn both_families() {
        let dev = n("vxlan-v6.calico");
        let parent = n("eth0");
        let mac: Mac = "66:00:00:00:00:01".parse().unwrap();
        assert_eq!(
            vxlan_add(&Vxlan {
                name: &dev,
                vni: 4096,
                port: 4789,
                local: Some("fd00::1".parse().unwrap()),
                parent: Some(&parent),
                learning: false,
            }),
            "link add vxlan-v6.calico type vxlan id 4096 dstport 4789 local fd00::1 dev eth0 nolearning"
        );
        assert_eq!(
            link_set(&dev, Some(&mac), 1430, true),
            "link set vxlan-v6.calico address 66:00:00:00:00:01 mtu 1430 up"
        );
        assert_eq!(
            addr_replace(host_prefix("fd10::".parse().unwrap()), &dev),
            "addr replace fd10::/128 dev vxlan-v6.calico"
        );
        assert_eq!(
            neigh_replace("fd10::40".parse().unwrap(), &mac, &dev),
            "neigh replace fd10::40 lladdr 66:00:00:00:00:01 dev vxlan-v6.calico nud permanent"
        );
        assert_eq!(
            fdb_replace(&mac, &dev, "fd00::2".parse().unwrap()),
            "fdb replace 66:00:00:00:00:01 dev vxlan-v6.calico dst fd00::2 self permanent"
        );
        let t = RouteTarget::Via {
            gateway: "fd10::40".parse().unwrap(),
            dev: Some(&dev),
            onlink: true,
        };
        assert_eq!(
            route_replace("fd10::40/122".parse().unwrap(), &t, &RouteKey::default()),
            "route replace fd10::40/122 via fd10::40 dev vxlan-v6.calico onlink proto 233"
        );
        assert_eq!(
            route_del(
                "fd10::/122".parse().unwrap(),
                Some("blackhole"),
                &RouteKey {
                    table: Some("5"),
                    metric: Some(10)
                }
            ),
            "route del blackhole fd10::/122 table 5 metric 10 proto 233"
        );
    }

    #[test]
    fn onlink_needs_a_device() {
        let t = RouteTarget::Via {
            gateway: "10.0.0.3".parse().unwrap(),
            dev: None,
            onlink: true,
        };
        assert_eq!(route_words(&t), "via 10.0.0.3");
    }
}
