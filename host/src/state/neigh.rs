//! VXLAN neighbour and FDB entries on netc's own devices:
//! `ip -j neigh show nud permanent` and `bridge -j fdb show dev D`.
//! Entries on any other device are never read. An entry whose link-layer
//! address is not a MAC (a permanent entry without `lladdr`) is not one
//! netc makes and is left alone.

use super::iproute;
use crate::exec::Exec;
use crate::Error;
use netc_ir::{FdbEntry, IfName, Mac, Neighbor};

pub fn read_neighbors(exec: &Exec, owned: &[&IfName]) -> Result<Vec<Neighbor>, Error> {
    if owned.is_empty() {
        return Ok(Vec::new());
    }
    let out = exec
        .read("ip", &["-j", "neigh", "show", "nud", "permanent"])?
        .check()?;
    parse_neighbors(&out.stdout, owned)
}

pub fn parse_neighbors(json: &str, owned: &[&IfName]) -> Result<Vec<Neighbor>, Error> {
    let listing: Vec<iproute::Neigh> = iproute::parse_list("ip -j neigh show", json)?;
    let mut out = Vec::new();
    for n in listing {
        let dev = n.dev.as_deref().unwrap_or("");
        let Some(dev) = owned.iter().find(|o| o.as_str() == dev) else {
            continue;
        };
        let Some(ip) = n.dst else {
            continue;
        };
        let Some(mac) = n.lladdr.as_deref().and_then(|m| m.parse::<Mac>().ok()) else {
            continue;
        };
        out.push(Neighbor {
            dev: (*dev).clone(),
            ip,
            mac,
        });
    }
    out.sort();
    Ok(out)
}

pub fn read_fdb(exec: &Exec, owned: &[&IfName]) -> Result<Vec<FdbEntry>, Error> {
    let mut out = Vec::new();
    for dev in owned {
        let o = exec
            .read("bridge", &["-j", "fdb", "show", "dev", dev.as_str()])?
            .check()?;
        out.extend(parse_fdb(&o.stdout, dev)?);
    }
    out.sort();
    Ok(out)
}

/// Only entries with a remote destination (`dst`) are netc's; the kernel's
/// own entries (the device's MAC, multicast) have none.
pub fn parse_fdb(json: &str, dev: &IfName) -> Result<Vec<FdbEntry>, Error> {
    let listing: Vec<iproute::Fdb> = iproute::parse_list("bridge -j fdb show", json)?;
    let mut out = Vec::new();
    for e in listing {
        let (Some(dst), Some(mac)) = (e.dst, e.mac.and_then(|m| m.parse::<Mac>().ok())) else {
            continue;
        };
        out.push(FdbEntry {
            dev: dev.clone(),
            mac,
            dst,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn keeps_owned_devices_only() {
        let j = r#"[{"dst":"10.65.1.0","dev":"vxlan.calico","lladdr":"66:D0:00:00:00:02","state":["PERMANENT"]},
                   {"dst":"10.0.0.9","dev":"eth0","lladdr":"aa:aa:aa:aa:aa:aa","state":["PERMANENT"]}]"#;
        let dev = netc_ir::vxlan_device();
        let n = super::parse_neighbors(j, &[&dev]).unwrap();
        assert_eq!(n.len(), 1);
        assert_eq!(n[0].mac.to_string(), "66:d0:00:00:00:02");
        let f = super::parse_fdb(
            r#"[{"mac":"66:d0:00:00:00:02","dst":"10.0.0.2","flags":["self"],"state":"permanent"},
                {"mac":"66:d0:00:00:00:01","flags":["self"],"state":"permanent"}]"#,
            &dev,
        )
        .unwrap();
        assert_eq!(f.len(), 1);
    }
}
