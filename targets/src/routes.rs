//! `routes.batch`: input for `ip -batch`, one `route replace` per IR route,
//! each marked with netc's route protocol ([`NETC_ROUTE_PROTO`]) so netc owns
//! exactly its routes (`ip route show proto 233`).
//!
//! ```text
//! route replace blackhole <dst> proto 233
//! route replace <dst> via <gw> dev <dev> onlink proto 233
//! route replace <dst> via <gw> [dev <dev>] proto 233
//! route replace <dst> dev <dev> scope link proto 233
//! ```
//!
//! `replace` makes a re-run converge instead of failing on an existing
//! route. Routes through a tunnel need the device from `tunnels.batch`
//! (see [`crate::tunnels`] for the apply order). `onlink` is only emitted
//! with a device (the kernel requires one). A route whose device name is not
//! a valid interface name is replaced by a comment.

use crate::tunnels::{header, line_or_skip, safe_ifname};
use netc_ir::{HostIr, Route, RouteKind, NETC_ROUTE_PROTO};

/// `routes.batch`: `ip -batch` input.
pub fn emit(ir: &HostIr) -> String {
    let mut out = header(ir, "routes");
    for r in &ir.routes {
        line_or_skip(&mut out, route_command(r), "route");
    }
    out
}

/// The `ip -batch` line installing one route, or None when a device name is
/// not safe to emit.
pub fn route_command(r: &Route) -> Option<String> {
    let dst = r.dst;
    let body = match &r.kind {
        RouteKind::Blackhole => format!("blackhole {dst}"),
        RouteKind::Via {
            gateway,
            dev: Some(dev),
            onlink,
        } => {
            if !safe_ifname(dev) {
                return None;
            }
            let onlink = if *onlink { " onlink" } else { "" };
            format!("{dst} via {gateway} dev {dev}{onlink}")
        }
        RouteKind::Via {
            gateway, dev: None, ..
        } => format!("{dst} via {gateway}"),
        RouteKind::Dev { dev } => {
            if !safe_ifname(dev) {
                return None;
            }
            format!("{dst} dev {dev} scope link")
        }
    };
    Some(format!("route replace {body} proto {NETC_ROUTE_PROTO}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use netc_ir::*;

    fn route(dst: &str, kind: RouteKind) -> Route {
        Route {
            dst: dst.parse().unwrap(),
            kind,
            origin: None,
        }
    }

    fn ir(routes: Vec<Route>) -> HostIr {
        HostIr {
            node: "node-a".into(),
            address: None,
            underlay: Underlay {
                interface: None,
                mtu: 1500,
            },
            tunnels: vec![],
            routes,
            neighbors: vec![],
            fdb: vec![],
            bgp: None,
            firewall: Firewall::default(),
        }
    }

    #[test]
    fn every_kind() {
        let text = emit(&ir(vec![
            route("10.67.0.0/26", RouteKind::Blackhole),
            route(
                "10.67.0.64/26",
                RouteKind::Via {
                    gateway: "10.67.0.64".parse().unwrap(),
                    dev: Some("vxlan.calico".into()),
                    onlink: true,
                },
            ),
            route(
                "10.66.0.0/24",
                RouteKind::Via {
                    gateway: "10.0.0.2".parse().unwrap(),
                    dev: Some("eth0".into()),
                    onlink: false,
                },
            ),
            route(
                "10.66.1.0/24",
                RouteKind::Via {
                    gateway: "10.0.0.3".parse().unwrap(),
                    dev: None,
                    onlink: true,
                },
            ),
            route(
                "10.67.0.5/32",
                RouteKind::Dev {
                    dev: "cali0a1b2c3d4e5".into(),
                },
            ),
            route(
                "fd00::5/128",
                RouteKind::Dev {
                    dev: "cali0a1b2c3d4e5".into(),
                },
            ),
        ]));
        assert_eq!(
            text,
            "# netc node-a routes — generated, do not edit\n\
             route replace blackhole 10.67.0.0/26 proto 233\n\
             route replace 10.67.0.64/26 via 10.67.0.64 dev vxlan.calico onlink proto 233\n\
             route replace 10.66.0.0/24 via 10.0.0.2 dev eth0 proto 233\n\
             route replace 10.66.1.0/24 via 10.0.0.3 proto 233\n\
             route replace 10.67.0.5/32 dev cali0a1b2c3d4e5 scope link proto 233\n\
             route replace fd00::5/128 dev cali0a1b2c3d4e5 scope link proto 233\n"
        );
    }

    #[test]
    fn hostile_device_names_become_comments() {
        let text = emit(&ir(vec![
            route(
                "10.67.0.5/32",
                RouteKind::Dev {
                    dev: "cali1\nroute flush all".into(),
                },
            ),
            route(
                "10.67.0.6/32",
                RouteKind::Via {
                    gateway: "10.0.0.2".parse().unwrap(),
                    dev: Some("eth0 table 5".into()),
                    onlink: false,
                },
            ),
        ]));
        assert!(text.lines().all(|l| l.starts_with('#')), "{text}");
    }
}
