//! Routes with netc's protocol number, in every table, both families:
//! `ip -j -4 route show proto 233 table all` (and `-6`). Routes of any other
//! protocol are never read, so they can never be changed.

use super::iproute;
use crate::exec::Exec;
use crate::Error;
use netc_ir::IfName;
use netc_targets::iproute as cmd;
use netc_targets::iproute::RouteTarget;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// What a route does, as the kernel reports it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum RouteSpec {
    Blackhole,
    Via {
        gateway: IpAddr,
        /// None in desired state when the IR leaves the device to the kernel.
        dev: Option<IfName>,
        onlink: bool,
    },
    Dev {
        dev: IfName,
    },
    /// Any other route type (unreachable, prohibit, multipath …, or a
    /// route on a device whose name netc would never use) carrying netc's
    /// protocol: netc owns it but never creates it.
    Other {
        route_type: String,
    },
}

impl RouteSpec {
    /// The device this route is bound to, if any.
    pub fn dev(&self) -> Option<&str> {
        match self {
            RouteSpec::Via { dev, .. } => dev.as_ref().map(IfName::as_str),
            RouteSpec::Dev { dev } => Some(dev.as_str()),
            _ => None,
        }
    }

    /// What `ip route replace` would install, or None for a route netc never creates.
    pub fn target(&self) -> Option<RouteTarget<'_>> {
        match self {
            RouteSpec::Blackhole => Some(RouteTarget::Blackhole),
            RouteSpec::Via {
                gateway,
                dev,
                onlink,
            } => Some(RouteTarget::Via {
                gateway: *gateway,
                dev: dev.as_ref(),
                onlink: *onlink,
            }),
            RouteSpec::Dev { dev } => Some(RouteTarget::Dev { dev }),
            RouteSpec::Other { .. } => None,
        }
    }

    /// `blackhole` / `via G dev D onlink` / `dev D scope link`: the ip-route words after the destination.
    pub fn words(&self) -> String {
        match (self, self.target()) {
            (_, Some(t)) => cmd::route_words(&t),
            (RouteSpec::Other { route_type }, None) => route_type.clone(),
            _ => String::new(),
        }
    }
}

impl From<&netc_ir::RouteKind> for RouteSpec {
    fn from(k: &netc_ir::RouteKind) -> RouteSpec {
        use netc_ir::RouteKind;
        match k {
            RouteKind::Blackhole => RouteSpec::Blackhole,
            RouteKind::Via {
                gateway,
                dev,
                onlink,
            } => RouteSpec::Via {
                gateway: *gateway,
                dev: dev.clone(),
                onlink: *onlink,
            },
            RouteKind::Dev { dev } => RouteSpec::Dev { dev: dev.clone() },
        }
    }
}

/// One kernel route. Its kernel identity is (table, destination, metric).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LiveRoute {
    /// None = main.
    pub table: Option<String>,
    pub dst: ipnet::IpNet,
    /// None = 0 (IPv4) / 1024 (IPv6), the kernel's defaults.
    pub metric: Option<u32>,
    pub spec: RouteSpec,
}

impl LiveRoute {
    pub fn key(&self) -> (Option<String>, ipnet::IpNet, Option<u32>) {
        (self.table.clone(), self.dst, self.metric)
    }

    /// Human identity: `10.65.1.0/26` (+ ` table T`, ` metric M` when not default).
    pub fn id(&self) -> String {
        let mut s = self.dst.to_string();
        if let Some(t) = &self.table {
            s.push_str(&format!(" table {t}"));
        }
        if let Some(m) = self.metric {
            s.push_str(&format!(" metric {m}"));
        }
        s
    }
}

pub fn read(exec: &Exec) -> Result<Vec<LiveRoute>, Error> {
    let proto = super::NETC_ROUTE_PROTO.to_string();
    // The two families are listed side by side: each is an `ip` process
    // in the target (~15 ms for 1,000 routes, most of it starting `ip
    // netns exec`), and verification after a first apply waits on them.
    let read = |fam: &str| -> Result<Vec<LiveRoute>, Error> {
        let out = exec
            .read(
                "ip",
                &["-j", fam, "route", "show", "proto", &proto, "table", "all"],
            )?
            .check()?;
        parse(&out.stdout, fam == "-6")
    };
    let (v4, v6) = std::thread::scope(|sc| {
        let v6 = sc.spawn(|| read("-6"));
        (read("-4"), super::join(v6))
    });
    let mut routes = v4?;
    routes.extend(v6?);
    routes.sort();
    Ok(routes)
}

/// Every route through `dev`, of any protocol, as `ip route` would name it
/// (the kernel's local/broadcast entries for its addresses left out): what
/// deleting the device takes with it. Read only for a device netc did not
/// make (see [`super::Facts::foreign_links`]).
pub fn read_through(exec: &Exec, dev: &str) -> Result<Vec<String>, Error> {
    let mut lines = Vec::new();
    for fam in ["-4", "-6"] {
        let out = exec
            .read(
                "ip",
                &["-j", fam, "route", "show", "dev", dev, "table", "all"],
            )?
            .check()?;
        let listing: Vec<iproute::Route> =
            iproute::parse_list("ip -j route show dev", &out.stdout)?;
        for r in listing {
            let kind = r.route_type.as_deref().unwrap_or("unicast");
            if matches!(kind, "local" | "broadcast" | "anycast" | "multicast") {
                continue;
            }
            let Some(dst) = r.dst.as_deref() else {
                continue;
            };
            if fam == "-6" && dst.starts_with("fe80:") {
                continue;
            }
            let mut l = format!("route {dst}");
            if let Some(gw) = r.gateway {
                l.push_str(&format!(" via {gw}"));
            }
            if let Some(t) = r
                .table
                .as_ref()
                .map(iproute::Table::name)
                .filter(|t| t != "main")
            {
                l.push_str(&format!(" table {t}"));
            }
            lines.push(l);
        }
    }
    lines.sort();
    lines.dedup();
    Ok(lines)
}

pub fn parse(json: &str, v6: bool) -> Result<Vec<LiveRoute>, Error> {
    let listing: Vec<iproute::Route> = iproute::parse_list("ip -j route show", json)?;
    let mut out = Vec::new();
    for r in listing {
        let Some(dst_s) = r.dst.as_deref() else {
            continue;
        };
        let dst = parse_dst(dst_s, v6)
            .ok_or_else(|| Error::parse("ip -j route show", format!("bad dst {dst_s}")))?;
        let table = r
            .table
            .as_ref()
            .map(iproute::Table::name)
            .filter(|t| t != "main" && t != "254");
        let metric = r.metric.filter(|m| !(*m == 0 || (v6 && *m == 1024)));
        let multipath = r.nexthops.is_some();
        let onlink = r.has_flag("onlink");
        let rtype = r.route_type.as_deref().unwrap_or("unicast");
        let dev = r.dev.as_deref().and_then(|d| IfName::try_from(d).ok());
        // A device name netc would never write: keep the route as `Other`.
        let odd_dev = r.dev.is_some() && dev.is_none();
        let spec = match (rtype, r.gateway, dev) {
            ("blackhole", _, _) => RouteSpec::Blackhole,
            ("unicast", _, _) if odd_dev => RouteSpec::Other {
                route_type: "unicast".to_string(),
            },
            ("unicast", Some(gw), dev) if !multipath => RouteSpec::Via {
                gateway: gw,
                dev,
                onlink,
            },
            ("unicast", None, Some(dev)) if !multipath => RouteSpec::Dev { dev },
            (t, _, _) => RouteSpec::Other {
                route_type: if multipath {
                    "multipath".to_string()
                } else {
                    t.to_string()
                },
            },
        };
        out.push(LiveRoute {
            table,
            dst,
            metric,
            spec,
        });
    }
    Ok(out)
}

fn parse_dst(s: &str, v6: bool) -> Option<ipnet::IpNet> {
    if s == "default" {
        return Some(if v6 {
            "::/0".parse().ok()?
        } else {
            "0.0.0.0/0".parse().ok()?
        });
    }
    if s.contains('/') {
        s.parse().ok()
    } else {
        let ip: IpAddr = s.parse().ok()?;
        Some(ipnet::IpNet::from(ip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kernel_json() {
        let j = r#"[{"type":"blackhole","dst":"10.65.0.0/26","flags":[]},
            {"dst":"10.65.1.0/26","gateway":"10.65.1.0","dev":"vxlan.calico","flags":["onlink"]},
            {"dst":"10.65.0.5","dev":"cali1","scope":"link","flags":[]},
            {"dst":"10.9.0.0/24","table":"100","metric":5,"gateway":"10.0.0.2","dev":"veth0","flags":[]}]"#;
        let r = parse(j, false).unwrap();
        assert_eq!(r[0].spec, RouteSpec::Blackhole);
        assert_eq!(
            r[1].spec.words(),
            "via 10.65.1.0 dev vxlan.calico onlink".to_string()
        );
        assert_eq!(r[2].dst.to_string(), "10.65.0.5/32");
        assert_eq!(r[3].id(), "10.9.0.0/24 table 100 metric 5");
    }
}
