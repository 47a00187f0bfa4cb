//! Re-records the tool outputs under `host/tests/fixtures/`, from which the
//! host layer's unit tests replay readers, planner and apply without root.
//!
//! ```sh
//! sudo -E cargo test --test host_record -- --ignored --test-threads 1
//! ```
//!
//! Each scenario is a real namespace: the golden case `vxlan-always`'s
//! node-a applied with `netc apply --netns` (both firewall backends, and an
//! edited input), plus foreign objects netc must ignore, and the firewall
//! artifacts loaded into an empty namespace (what `desired::build` lists).
//! For every scenario the directory holds what `state::read` ran (see
//! `netc_host::exec::replay`), `bird.conf` when there is one, and
//! `artifacts/` (the node's `ir.json` and firewall/BIRD artifacts).

mod common;
mod host_util;

use common::{repo, text, Netns};
use host_util::*;
use netc_host::exec::replay::record_state;
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    repo().join("host/tests/fixtures")
}

/// The golden case, with node-a's address on the lab's underlay.
fn golden_lab(name: &str) -> Lab {
    let lab = Lab::new(name);
    for f in ["nodes.yaml", "pools.yaml", "bgp.yaml", "policy.yaml"] {
        lab.remove_input(f);
    }
    let cluster = std::fs::read_to_string(repo().join("golden/vxlan-always/input/cluster.yaml"))
        .expect("golden input");
    lab.write_input("cluster.yaml", &cluster);
    lab.ns
        .exec_ok("ip", &["addr", "add", "10.0.0.1/24", "dev", "eth0"]);
    // The workload's veth (Calico creates it; netc routes to it).
    lab.ns.exec_ok(
        "ip",
        &[
            "link",
            "add",
            "cali0a1b2c3d4e5",
            "type",
            "veth",
            "peer",
            "name",
            "wl0",
        ],
    );
    lab.ns
        .exec_ok("ip", &["link", "set", "cali0a1b2c3d4e5", "up"]);
    lab.ns.exec_ok("ip", &["link", "set", "wl0", "up"]);
    lab.add_foreign();
    add_more_foreign(&lab.ns);
    lab
}

/// Foreign objects of every kind the readers see, beyond `Lab::add_foreign`:
/// a foreign VXLAN device with a remote FDB entry and a permanent
/// neighbour, a permanent neighbour on the underlay, a route in another
/// table, an `inet` table, ip6tables and iptables chains, an IPv6 address.
fn add_more_foreign(ns: &Netns) {
    for args in [
        vec![
            "link",
            "add",
            "vxlan.other",
            "type",
            "vxlan",
            "id",
            "7",
            "dstport",
            "4789",
            "dev",
            "eth0",
        ],
        vec!["link", "set", "vxlan.other", "up"],
        vec!["addr", "add", "10.77.0.1/32", "dev", "vxlan.other"],
        vec![
            "neigh",
            "add",
            "10.77.0.2",
            "lladdr",
            "aa:bb:cc:00:00:02",
            "dev",
            "vxlan.other",
            "nud",
            "permanent",
        ],
        vec![
            "neigh",
            "add",
            "192.168.10.99",
            "lladdr",
            "aa:bb:cc:00:00:99",
            "dev",
            "eth0",
            "nud",
            "permanent",
        ],
        vec!["addr", "add", "fd00:99::1/64", "dev", "eth0"],
        vec![
            "route",
            "add",
            "10.97.0.0/24",
            "via",
            "192.168.10.1",
            "table",
            "100",
            "proto",
            "static",
        ],
    ] {
        ns.exec_ok("ip", &args);
    }
    ns.exec_ok(
        "bridge",
        &[
            "fdb",
            "append",
            "aa:bb:cc:00:00:02",
            "dev",
            "vxlan.other",
            "dst",
            "192.168.10.77",
        ],
    );
    let o = ns.exec_stdin(
        "nft",
        &["-f", "-"],
        "table inet other {\n set s { type ipv4_addr; elements = { 192.0.2.1 } }\n chain c { type filter hook forward priority 5; ip saddr @s drop; }\n}\n",
    );
    assert!(o.status.success(), "{}", text(&o));
    ns.exec_ok("iptables", &["-N", "FOREIGN"]);
    ns.exec_ok(
        "iptables",
        &["-A", "FOREIGN", "-p", "tcp", "--dport", "9", "-j", "DROP"],
    );
    ns.exec_ok("iptables", &["-A", "FORWARD", "-j", "FOREIGN"]);
    ns.exec_ok(
        "ip6tables",
        &["-A", "INPUT", "-s", "2001:db8::7", "-j", "DROP"],
    );
}

/// The workload interface parameters node-a's desired state names (every
/// scenario is node-a of the golden case; the replay reads the same keys).
fn golden_sysctl_keys() -> Vec<(netc_ir::IfName, netc_ir::IfaceSysctl)> {
    let text = std::fs::read_to_string(repo().join("golden/vxlan-always/expected/node-a/ir.json"))
        .expect("golden ir.json");
    let ir: netc_ir::HostIr = serde_json::from_str(&text).expect("golden ir.json parses");
    netc_host::desired::kernel_objects(&ir)
        .expect("desired kernel objects")
        .sysctl_keys()
}

/// Record the namespace's state into `fixtures/<name>/` (replacing it).
fn save(name: &str, netns: &str, bird: &Path) {
    let dir = fixtures().join(name);
    let _ = std::fs::remove_dir_all(&dir);
    let rec = match record_state(Some(netns.to_string()), bird, &golden_sysctl_keys()) {
        Ok(r) => r,
        Err(e) => panic!("recording {name}: {e}"),
    };
    rec.save(&dir).expect("save recording");
    if let Ok(b) = std::fs::read_to_string(bird) {
        std::fs::write(dir.join("bird.conf"), b).expect("bird.conf");
    }
}

/// node-a's artifacts as `netc build` writes them (the applied desired state).
fn save_artifacts(lab: &Lab, name: &str) {
    let out = lab.dir.join("build");
    let o = lab.netc(&[
        "build",
        "--ir",
        "-o",
        &out.display().to_string(),
        &lab.input().display().to_string(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let dir = fixtures().join(name).join("artifacts");
    std::fs::create_dir_all(&dir).expect("mkdir");
    for f in [
        "ir.json",
        "nftables.nft",
        "iptables.rules",
        "ip6tables.rules",
        "bird.conf",
    ] {
        if let Ok(t) = std::fs::read_to_string(out.join("node-a").join(f)) {
            std::fs::write(dir.join(f), t).expect("write artifact");
        }
    }
}

/// What `desired::build` lists: the artifacts loaded into an empty namespace.
fn save_scratch(name: &str, from: &str, iptables: bool) {
    let arts = fixtures().join(from).join("artifacts");
    let ns = Netns::new("rec-scratch");
    if iptables {
        for (f, tool) in [
            ("iptables.rules", "iptables-restore"),
            ("ip6tables.rules", "ip6tables-restore"),
        ] {
            if let Ok(t) = std::fs::read_to_string(arts.join(f)) {
                let o = ns.exec_stdin(tool, &["--noflush"], &t);
                assert!(o.status.success(), "{}", text(&o));
            }
        }
    } else {
        let t = std::fs::read_to_string(arts.join("nftables.nft")).expect("nftables.nft");
        let o = ns.exec_stdin("nft", &["-f", "-"], &t);
        assert!(o.status.success(), "{}", text(&o));
    }
    save(name, &ns.name, Path::new("/nonexistent/bird.conf"));
}

#[test]
#[ignore = "re-records host/tests/fixtures (root); run on purpose"]
fn record_fixtures() {
    if !ready("record_fixtures") {
        return;
    }
    // nftables backend: before, applied, edited and applied again.
    let lab = golden_lab("rec-nft");
    save("foreign", &lab.ns.name, &lab.bird_conf());
    lab.apply_ok(&[]);
    save("vxlan-nft", &lab.ns.name, &lab.bird_conf());
    save_artifacts(&lab, "vxlan-nft");
    save_scratch("vxlan-nft-scratch", "vxlan-nft", false);

    // Edit: node-c leaves, the workload moves to another address, the
    // underlay MTU shrinks.
    let cluster = std::fs::read_to_string(repo().join("golden/vxlan-always/input/cluster.yaml"))
        .expect("golden input");
    let mut docs: Vec<&str> = cluster
        .split("\n---\n")
        .filter(|d| !d.contains("name: node-c"))
        .collect();
    let edited_wep;
    if let Some(w) = docs.iter_mut().find(|d| d.contains("10.67.0.5/32")) {
        edited_wep = w.replace("10.67.0.5/32", "10.67.0.9/32");
        *w = &edited_wep;
    }
    let edited = docs.join("\n---\n").replace(
        "netc.dev/underlay-interface: eth0\nspec:\n  bgp:\n    ipv4Address: 10.0.0.1/24",
        "netc.dev/underlay-interface: eth0\n    netc.dev/underlay-mtu: \"1400\"\nspec:\n  bgp:\n    ipv4Address: 10.0.0.1/24",
    );
    assert!(edited.contains("underlay-mtu"), "edit did not apply");
    lab.write_input("cluster.yaml", &edited);
    lab.apply_ok(&[]);
    save("vxlan-nft-edited", &lab.ns.name, &lab.bird_conf());
    save_artifacts(&lab, "vxlan-nft-edited");
    save_scratch("vxlan-nft-edited-scratch", "vxlan-nft-edited", false);

    // iptables backend.
    let lab = golden_lab("rec-ipt");
    lab.apply_ok(&["--firewall", "iptables"]);
    save("vxlan-ipt", &lab.ns.name, &lab.bird_conf());
    save_artifacts(&lab, "vxlan-ipt");
    save_scratch("vxlan-ipt-scratch", "vxlan-ipt", true);
}
