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
//! with a device (the kernel requires one). IPv4 and IPv6 routes share the
//! file (`ip` infers the family from the destination). Lines come from
//! [`crate::iproute`], the builders the host layer applies with too.

use crate::iproute::{self, RouteKey, RouteTarget};
use crate::tunnels::header;
use netc_ir::{HostIr, Route};

/// `routes.batch`: `ip -batch` input.
pub fn emit(ir: &HostIr) -> String {
    let mut out = header(ir, "routes");
    for r in &ir.routes {
        out.push_str(&route_command(r));
        out.push('\n');
    }
    out
}

/// The `ip -batch` line installing one route.
pub fn route_command(r: &Route) -> String {
    iproute::route_replace(r.dst, &RouteTarget::from(&r.kind), &RouteKey::default())
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
            address_v6: None,
            underlay: Underlay {
                interface: None,
                mtu: 1500,
            },
            tunnels: vec![],
            routes,
            neighbors: vec![],
            fdb: vec![],
            workload_interfaces: vec![],
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
                    dev: Some("vxlan.calico".parse().unwrap()),
                    onlink: true,
                },
            ),
            route(
                "10.66.0.0/24",
                RouteKind::Via {
                    gateway: "10.0.0.2".parse().unwrap(),
                    dev: Some("eth0".parse().unwrap()),
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
                    dev: "cali0a1b2c3d4e5".parse().unwrap(),
                },
            ),
            route(
                "fd00::5/128",
                RouteKind::Dev {
                    dev: "cali0a1b2c3d4e5".parse().unwrap(),
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
}
