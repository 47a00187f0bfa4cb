//! `tunnels.batch` (input for `ip -batch`) and `fdb.batch` (input for
//! `bridge -batch`): tunnel devices, their addresses, and the VXLAN
//! neighbour / FDB entries for remote VTEPs.
//!
//! Apply order (dependency order; each file stops at its first failing line):
//!
//! 1. `ip -batch tunnels.batch` — devices, addresses, neighbour entries;
//! 2. `bridge -batch fdb.batch` — FDB entries need the VXLAN devices to exist
//!    (`bridge fdb` commands are not accepted by `ip -batch`, hence a file of
//!    their own);
//! 3. `ip -batch routes.batch` ([`crate::routes`]) — routes via the devices.
//!
//! Commands, per device:
//!
//! - VXLAN, exactly as measured in docs/lab-facts.md, "VXLAN, Calico style":
//!   ```text
//!   link add vxlan.calico type vxlan id 4096 dstport 4789 local <node-ip> dev <underlay> nolearning
//!   link set vxlan.calico address <vtep-mac> mtu <mtu> up
//!   addr replace <tunnel-ip>/32 dev vxlan.calico
//!   neigh replace <remote-vtep-ip> lladdr <remote-mac> dev vxlan.calico nud permanent
//!   fdb replace <remote-mac> dev vxlan.calico dst <remote-node-ip> self permanent   (fdb.batch)
//!   ```
//!   (`dev <underlay>` only when the underlay interface is known;
//!   `addr replace` instead of `addr add` so a re-run does not fail on an
//!   existing address.)
//! - IPIP: `tunl0` is the fallback device the kernel's `ipip` module creates
//!   in every network namespace when it loads (with the default
//!   `net.core.fb_tunnels_only_for_init_net=0`). It cannot be created with
//!   `ip link add tunl0 type ipip` — loading the module creates it first and
//!   the add fails with "File exists" — and its tunnel parameters (local,
//!   remote) cannot be changed (the kernel rejects changelink on the
//!   fallback device). Felix uses it as is: any local, any remote, so each
//!   route's gateway becomes the outer destination. netc does the same:
//!   ```text
//!   link set tunl0 mtu <mtu> up
//!   addr replace <tunnel-ip>/32 dev tunl0
//!   ```
//!   These need the `ipip` module loaded (`modprobe ipip`). On a kernel
//!   without it the first line fails ("Cannot find device") before anything
//!   changed, since `tunl0` sorts before `vxlan.calico`; the host layer checks
//!   for the module first and reports "kernel lacks ipip".
//! - IPv6 VXLAN (`vxlan-v6.calico`): the same lines with IPv6 addresses
//!   (`local <node-ipv6>`, a /128 tunnel address, IPv6 neighbours and FDB
//!   destinations); `ip` infers the family from the address.
//!
//! Every line comes from the shared builders in [`crate::iproute`]. Names
//! and MACs are the IR's checked [`netc_ir::IfName`] / [`netc_ir::Mac`]
//! values, so nothing can smuggle a second command into a batch.

use crate::iproute;
use netc_ir::{FdbEntry, HostIr, Neighbor, Tunnel, TunnelKind};

/// `tunnels.batch`: `ip -batch` input.
pub fn emit(ir: &HostIr) -> String {
    let mut out = header(ir, "tunnels");
    for t in &ir.tunnels {
        for line in tunnel_commands(t) {
            out.push_str(&line);
            out.push('\n');
        }
    }
    for n in &ir.neighbors {
        out.push_str(&neighbor_command(n));
        out.push('\n');
    }
    out
}

/// `fdb.batch`: `bridge -batch` input (VXLAN FDB entries).
pub fn emit_fdb(ir: &HostIr) -> String {
    let mut out = header(ir, "fdb (bridge -batch)");
    for f in &ir.fdb {
        out.push_str(&fdb_command(f));
        out.push('\n');
    }
    out
}

/// The `ip -batch` lines that configure one tunnel device, in order.
pub fn tunnel_commands(t: &Tunnel) -> Vec<String> {
    let name = &t.name;
    let addr = iproute::addr_replace(iproute::host_prefix(t.address), name);
    match &t.kind {
        TunnelKind::Ipip => vec![iproute::link_set(name, None, t.mtu, true), addr],
        TunnelKind::Vxlan { vni, port, mac } => vec![
            iproute::vxlan_add(&iproute::Vxlan {
                name,
                vni: *vni,
                port: *port,
                local: Some(t.local),
                parent: t.parent.as_ref(),
                learning: false,
            }),
            iproute::link_set(name, Some(mac), t.mtu, true),
            addr,
        ],
    }
}

/// `neigh replace <ip> lladdr <mac> dev <dev> nud permanent`.
pub fn neighbor_command(n: &Neighbor) -> String {
    iproute::neigh_replace(n.ip, &n.mac, &n.dev)
}

/// `fdb replace <mac> dev <dev> dst <ip> self permanent` (a `bridge -batch` line).
pub fn fdb_command(f: &FdbEntry) -> String {
    iproute::fdb_replace(&f.mac, &f.dev, f.dst)
}

/// `# netc <node> <what> — generated, do not edit` (both `ip -batch` and
/// `bridge -batch` skip `#` lines).
pub(crate) fn header(ir: &HostIr, what: &str) -> String {
    format!(
        "# netc {} {what} — generated, do not edit\n",
        comment_text(&ir.node)
    )
}

/// Text safe inside a one-line `#` comment: anything outside
/// `[A-Za-z0-9_.-]` becomes `?`.
pub(crate) fn comment_text(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                c
            } else {
                '?'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use netc_ir::*;

    pub(crate) fn empty_ir(node: &str) -> HostIr {
        HostIr {
            node: node.into(),
            address: None,
            address_v6: None,
            underlay: Underlay {
                interface: Some("eth0".parse().unwrap()),
                mtu: 1500,
            },
            tunnels: vec![],
            routes: vec![],
            neighbors: vec![],
            fdb: vec![],
            workload_interfaces: vec![],
            bgp: None,
            firewall: Firewall::default(),
        }
    }

    fn vxlan(parent: Option<&str>, mac: &str) -> Tunnel {
        Tunnel {
            name: vxlan_device(),
            kind: TunnelKind::Vxlan {
                vni: VXLAN_VNI,
                port: VXLAN_PORT,
                mac: mac.parse().unwrap(),
            },
            local: "10.0.0.1".parse().unwrap(),
            parent: parent.map(|p| p.parse().unwrap()),
            mtu: 1450,
            address: "10.67.0.0".parse().unwrap(),
        }
    }

    #[test]
    fn vxlan_and_ipip_batch() {
        let mut ir = empty_ir("node-a");
        ir.tunnels = vec![
            Tunnel {
                name: ipip_device(),
                kind: TunnelKind::Ipip,
                local: "10.0.0.1".parse().unwrap(),
                parent: None,
                mtu: 1480,
                address: "10.66.0.0".parse().unwrap(),
            },
            vxlan(Some("eth0"), "66:00:00:00:00:01"),
        ];
        ir.neighbors = vec![Neighbor {
            dev: vxlan_device(),
            ip: "10.67.0.64".parse().unwrap(),
            mac: "66:00:00:00:00:02".parse().unwrap(),
        }];
        ir.fdb = vec![FdbEntry {
            dev: vxlan_device(),
            mac: "66:00:00:00:00:02".parse().unwrap(),
            dst: "10.0.0.2".parse().unwrap(),
        }];
        assert_eq!(
            emit(&ir),
            "# netc node-a tunnels — generated, do not edit\n\
             link set tunl0 mtu 1480 up\n\
             addr replace 10.66.0.0/32 dev tunl0\n\
             link add vxlan.calico type vxlan id 4096 dstport 4789 local 10.0.0.1 dev eth0 nolearning\n\
             link set vxlan.calico address 66:00:00:00:00:01 mtu 1450 up\n\
             addr replace 10.67.0.0/32 dev vxlan.calico\n\
             neigh replace 10.67.0.64 lladdr 66:00:00:00:00:02 dev vxlan.calico nud permanent\n"
        );
        assert_eq!(
            emit_fdb(&ir),
            "# netc node-a fdb (bridge -batch) — generated, do not edit\n\
             fdb replace 66:00:00:00:00:02 dev vxlan.calico dst 10.0.0.2 self permanent\n"
        );
    }

    #[test]
    fn vxlan_without_underlay_has_no_dev() {
        let lines = tunnel_commands(&vxlan(None, "66:00:00:00:00:01"));
        assert_eq!(
            lines[0],
            "link add vxlan.calico type vxlan id 4096 dstport 4789 local 10.0.0.1 nolearning"
        );
    }

    #[test]
    fn ipv6_vxlan() {
        let mut t = vxlan(Some("eth0"), "66:00:00:00:00:03");
        t.name = vxlan_v6_device();
        t.local = "fd00::1".parse().unwrap();
        t.address = "fd10::".parse().unwrap();
        t.mtu = 1430;
        assert_eq!(
            tunnel_commands(&t),
            [
                "link add vxlan-v6.calico type vxlan id 4096 dstport 4789 local fd00::1 dev eth0 nolearning",
                "link set vxlan-v6.calico address 66:00:00:00:00:03 mtu 1430 up",
                "addr replace fd10::/128 dev vxlan-v6.calico",
            ]
        );
    }

    #[test]
    fn hostile_values_cannot_be_built() {
        // The IR's types refuse them, so an emitter is never handed one.
        assert!("eth0\nlink del lo".parse::<IfName>().is_err());
        assert!("66:00:00:00:00:01 dev lo".parse::<Mac>().is_err());
        assert!(serde_json::from_str::<Neighbor>(
            r#"{"dev":"x; y","ip":"10.0.0.9","mac":"66:00:00:00:00:02"}"#
        )
        .is_err());
    }

    #[test]
    fn empty_ir_is_just_the_header() {
        let ir = empty_ir("n1");
        assert_eq!(emit(&ir).lines().count(), 1);
        assert_eq!(emit_fdb(&ir).lines().count(), 1);
    }
}
