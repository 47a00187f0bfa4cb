//! Workload interface settings against a real kernel (docs/calico.md §4.4):
//! `netc apply` sets Felix's parameters on the host side of each local
//! workload's veth, a second apply writes nothing, an interface the CNI
//! plugin has not created yet waits (plan and apply succeed, its route is
//! not attempted), an interface no endpoint names is never touched, and a
//! failed apply puts every parameter back.
//!
//! Root only: skipped with a message otherwise, unless CI=true.

mod common;
mod host_util;

use common::text;
use host_util::*;

const WEPS: &str = r#"apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata:
  name: node--a-k8s-web-eth0
  namespace: shop
spec:
  node: node-a
  orchestrator: k8s
  endpoint: eth0
  interfaceName: caliaaaa1
  ipNetworks: [10.250.0.5/32]
---
apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata:
  name: node--a-k8s-db-eth0
  namespace: shop
spec:
  node: node-a
  orchestrator: k8s
  endpoint: eth0
  interfaceName: calibbbb2
  ipNetworks: [10.250.0.6/32]
"#;

/// The parameters Felix sets, and the value it sets (docs/calico.md §4.4).
const FELIX: [(&str, &str); 5] = [
    ("net/ipv6/conf/IF/accept_ra", "0"),
    ("net/ipv4/conf/IF/route_localnet", "1"),
    ("net/ipv4/neigh/IF/proxy_delay", "0"),
    ("net/ipv4/conf/IF/proxy_arp", "1"),
    ("net/ipv4/conf/IF/forwarding", "1"),
];

fn values(lab: &Lab, dev: &str) -> Vec<String> {
    FELIX
        .iter()
        .map(|(k, _)| {
            lab.ns
                .exec_ok("sysctl", &["-n", &k.replace("IF", dev)])
                .trim()
                .to_string()
        })
        .collect()
}

fn felix() -> Vec<String> {
    FELIX.iter().map(|(_, v)| v.to_string()).collect()
}

/// Play the CNI plugin: a veth whose host side is `dev`, up.
fn wire(lab: &Lab, dev: &str, peer: &str) {
    lab.ns.exec_ok(
        "ip",
        &["link", "add", dev, "type", "veth", "peer", "name", peer],
    );
    lab.ns.exec_ok("ip", &["link", "set", dev, "up"]);
    lab.ns.exec_ok("ip", &["link", "set", peer, "up"]);
}

fn routes(lab: &Lab) -> String {
    lab.ns
        .exec_ok("ip", &["route", "show", "proto", "233", "scope", "link"])
}

#[test]
fn workload_interfaces_set_idempotent_waiting_and_rolled_back() {
    if !ready("workload_interfaces") {
        return;
    }
    let lab = Lab::new("ifc");
    lab.write_input("weps.yaml", WEPS);
    wire(&lab, "caliaaaa1", "wla");
    // A cali interface no endpoint names: not netc's.
    wire(&lab, "calizzzz9", "wlz");
    // The kernel's defaults on a new veth (this namespace has forwarding off).
    let fresh = values(&lab, "caliaaaa1");
    assert_ne!(fresh, felix(), "the test needs parameters to change");
    let foreign = values(&lab, "calizzzz9");

    // Plan: caliaaaa1 changes, calibbbb2 waits for the CNI plugin.
    let o = lab.plan(&[]);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(t.contains("~ workload interface caliaaaa1"), "{t}");
    assert!(
        t.contains("Note: workload interface calibbbb2 does not exist yet: its 1 route(s) and settings wait for the CNI plugin"),
        "{t}"
    );
    assert!(t.contains("10.250.0.5/32"), "{t}");
    assert!(
        !t.contains("10.250.0.6/32"),
        "no route to a missing interface: {t}"
    );

    // Apply: Felix's values, the route, and nothing for the missing one.
    lab.apply_ok(&[]);
    assert_eq!(values(&lab, "caliaaaa1"), felix());
    assert_eq!(
        values(&lab, "calizzzz9"),
        foreign,
        "an unnamed interface is untouched"
    );
    let r = routes(&lab);
    assert!(r.contains("10.250.0.5 dev caliaaaa1"), "{r}");
    assert!(!r.contains("10.250.0.6"), "{r}");
    lab.take_writes();

    // Idempotent: nothing to do (the waiting note stays), no writes.
    let o = lab.plan(&["--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("No changes."), "{}", text(&o));
    assert!(
        text(&o).contains("calibbbb2 does not exist yet"),
        "{}",
        text(&o)
    );
    assert!(lab.apply_ok(&[]).contains("No changes."));
    assert_eq!(lab.take_writes(), Vec::<String>::new());

    // Drift on caliaaaa1 and the CNI plugin wires calibbbb2; an apply that
    // fails after the settings were written rolls every value back.
    lab.ns
        .exec_ok("sysctl", &["-qw", "net/ipv4/conf/caliaaaa1/proxy_arp=0"]);
    wire(&lab, "calibbbb2", "wlb");
    let drifted = values(&lab, "caliaaaa1");
    let before_b = values(&lab, "calibbbb2");
    let before = lab.dump();
    let o = lab.apply_env(&[], &[("NETC_INJECT_FAILURE", "interfaces")]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(t.contains("rolled back"), "{t}");
    assert_eq!(values(&lab, "caliaaaa1"), drifted);
    assert_eq!(values(&lab, "calibbbb2"), before_b);
    assert_same(&before, &lab.dump(), "after the rollback");

    // And converges for real: both interfaces, both routes.
    lab.apply_ok(&[]);
    assert_eq!(values(&lab, "caliaaaa1"), felix());
    assert_eq!(values(&lab, "calibbbb2"), felix());
    let r = routes(&lab);
    assert!(r.contains("10.250.0.6 dev calibbbb2"), "{r}");
    let o = lab.plan(&["--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(!text(&o).contains("Note:"), "{}", text(&o));
}
