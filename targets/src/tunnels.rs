//! `tunnels.batch` (input for `ip -batch`) and `fdb.batch` (input for
//! `bridge -batch`): tunnel devices, their addresses, and the VXLAN
//! neighbour / FDB entries for remote VTEPs.
//!
//! Apply order (dependency order; each file stops at its first failing line):
//!
//! 1. `ip -batch tunnels.batch` — devices, addresses, neighbour entries;
//! 2. `bridge -batch fdb.batch` — FDB entries need `vxlan.calico` to exist
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
//!   link set dev tunl0 mtu <mtu> up
//!   addr replace <tunnel-ip>/32 dev tunl0
//!   ```
//!   These need the `ipip` module loaded (`modprobe ipip`). On a kernel
//!   without it the first line fails ("Cannot find device") before anything
//!   changed, since `tunl0` sorts before `vxlan.calico`; the host layer checks
//!   for the module first and reports "kernel lacks ipip".
//!
//! Every name that reaches a line is checked against the kernel's interface
//! name alphabet (`[A-Za-z0-9_.-]`, 1..15) and every MAC against
//! `xx:xx:xx:xx:xx:xx`; an item that fails (validation should have rejected
//! it) is replaced by a comment without the offending text, so nothing can
//! smuggle a second command into the batch.

use netc_ir::{FdbEntry, HostIr, Neighbor, Tunnel, TunnelKind};
use std::fmt::Write;

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
        line_or_skip(&mut out, neighbor_command(n), "neighbour entry");
    }
    out
}

/// `fdb.batch`: `bridge -batch` input (VXLAN FDB entries).
pub fn emit_fdb(ir: &HostIr) -> String {
    let mut out = header(ir, "fdb (bridge -batch)");
    for f in &ir.fdb {
        line_or_skip(&mut out, fdb_command(f), "FDB entry");
    }
    out
}

/// The `ip -batch` lines that configure one tunnel device, in order.
pub fn tunnel_commands(t: &Tunnel) -> Vec<String> {
    if !safe_ifname(&t.name) {
        return vec!["# netc: skipped a tunnel with an invalid device name".to_string()];
    }
    let name = &t.name;
    match &t.kind {
        TunnelKind::Ipip => vec![
            format!("link set dev {name} mtu {} up", t.mtu),
            format!("addr replace {}/32 dev {name}", t.address),
        ],
        TunnelKind::Vxlan { vni, port, mac } => {
            if !safe_mac(mac) {
                return vec!["# netc: skipped a VXLAN tunnel with an invalid MAC".to_string()];
            }
            let mut add = format!(
                "link add {name} type vxlan id {vni} dstport {port} local {}",
                t.local
            );
            match t.parent.as_deref() {
                Some(p) if safe_ifname(p) => {
                    let _ = write!(add, " dev {p}");
                }
                Some(_) => {
                    return vec![
                        "# netc: skipped a VXLAN tunnel with an invalid underlay device name"
                            .to_string(),
                    ]
                }
                None => {}
            }
            add.push_str(" nolearning");
            vec![
                add,
                format!("link set {name} address {mac} mtu {} up", t.mtu),
                format!("addr replace {}/32 dev {name}", t.address),
            ]
        }
    }
}

/// `neigh replace <ip> lladdr <mac> dev <dev> nud permanent`, or None when a
/// field is not safe to emit.
pub fn neighbor_command(n: &Neighbor) -> Option<String> {
    (safe_ifname(&n.dev) && safe_mac(&n.mac)).then(|| {
        format!(
            "neigh replace {} lladdr {} dev {} nud permanent",
            n.ip, n.mac, n.dev
        )
    })
}

/// `fdb replace <mac> dev <dev> dst <ip> self permanent` (a `bridge -batch`
/// line), or None when a field is not safe to emit.
pub fn fdb_command(f: &FdbEntry) -> Option<String> {
    (safe_ifname(&f.dev) && safe_mac(&f.mac)).then(|| {
        format!(
            "fdb replace {} dev {} dst {} self permanent",
            f.mac, f.dev, f.dst
        )
    })
}

/// `# netc <node> <what> — generated, do not edit` (both `ip -batch` and
/// `bridge -batch` skip `#` lines).
pub(crate) fn header(ir: &HostIr, what: &str) -> String {
    format!(
        "# netc {} {what} — generated, do not edit\n",
        comment_text(&ir.node)
    )
}

pub(crate) fn line_or_skip(out: &mut String, line: Option<String>, what: &str) {
    match line {
        Some(l) => {
            out.push_str(&l);
            out.push('\n');
        }
        None => {
            let _ = writeln!(out, "# netc: skipped an {what} with an invalid field");
        }
    }
}

/// A Linux interface name as Calico validates it: `^[a-zA-Z0-9_.-]{1,15}$`.
pub(crate) fn safe_ifname(s: &str) -> bool {
    (1..=15).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// Six colon-separated pairs of hex digits.
pub(crate) fn safe_mac(s: &str) -> bool {
    let parts: Vec<&str> = s.split(':').collect();
    parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()))
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
            underlay: Underlay {
                interface: Some("eth0".into()),
                mtu: 1500,
            },
            tunnels: vec![],
            routes: vec![],
            neighbors: vec![],
            fdb: vec![],
            bgp: None,
            firewall: Firewall::default(),
        }
    }

    fn vxlan(parent: Option<&str>, mac: &str) -> Tunnel {
        Tunnel {
            name: VXLAN_DEVICE.into(),
            kind: TunnelKind::Vxlan {
                vni: VXLAN_VNI,
                port: VXLAN_PORT,
                mac: mac.into(),
            },
            local: "10.0.0.1".parse().unwrap(),
            parent: parent.map(str::to_string),
            mtu: 1450,
            address: "10.67.0.0".parse().unwrap(),
        }
    }

    #[test]
    fn vxlan_and_ipip_batch() {
        let mut ir = empty_ir("node-a");
        ir.tunnels = vec![
            Tunnel {
                name: IPIP_DEVICE.into(),
                kind: TunnelKind::Ipip,
                local: "10.0.0.1".parse().unwrap(),
                parent: None,
                mtu: 1480,
                address: "10.66.0.0".parse().unwrap(),
            },
            vxlan(Some("eth0"), "66:00:00:00:00:01"),
        ];
        ir.neighbors = vec![Neighbor {
            dev: VXLAN_DEVICE.into(),
            ip: "10.67.0.64".parse().unwrap(),
            mac: "66:00:00:00:00:02".into(),
        }];
        ir.fdb = vec![FdbEntry {
            dev: VXLAN_DEVICE.into(),
            mac: "66:00:00:00:00:02".into(),
            dst: "10.0.0.2".parse().unwrap(),
        }];
        assert_eq!(
            emit(&ir),
            "# netc node-a tunnels — generated, do not edit\n\
             link set dev tunl0 mtu 1480 up\n\
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
    fn hostile_values_never_reach_a_command() {
        let mut ir = empty_ir("evil\nlink del eth0");
        ir.tunnels = vec![
            vxlan(Some("eth0\nlink del lo"), "66:00:00:00:00:01"),
            vxlan(Some("eth0"), "66:00:00:00:00:01 dev lo"),
        ];
        ir.neighbors = vec![Neighbor {
            dev: "x; y".into(),
            ip: "10.0.0.9".parse().unwrap(),
            mac: "66:00:00:00:00:02".into(),
        }];
        ir.fdb = vec![FdbEntry {
            dev: VXLAN_DEVICE.into(),
            mac: "zz:00:00:00:00:02".into(),
            dst: "10.0.0.2".parse().unwrap(),
        }];
        for text in [emit(&ir), emit_fdb(&ir)] {
            for line in text.lines() {
                assert!(line.starts_with('#'), "unexpected command: {line}");
            }
        }
    }

    #[test]
    fn empty_ir_is_just_the_header() {
        let ir = empty_ir("n1");
        assert_eq!(emit(&ir).lines().count(), 1);
        assert_eq!(emit_fdb(&ir).lines().count(), 1);
    }
}
