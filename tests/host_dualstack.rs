//! IPv6 through the host layer, in network namespaces: `vxlan-v6.calico`,
//! its /128 address, IPv6 neighbours, FDB entries with IPv6 destinations and
//! IPv6 routes are planned, applied, verified and rolled back like their
//! IPv4 counterparts, next to them.
//!
//! Root only: skipped with a message otherwise, unless CI=true.

mod common;
mod host_util;

use common::text;
use host_util::*;

/// node-b's IPv6 block: the second /122 of the pool, its first address is node-b's VTEP.
const B_BLOCK6: &str = "fd00:250::40/122";
const A_BLOCK6: &str = "fd00:250::/122";

#[test]
fn dual_stack_apply_converges_and_reapply_writes_nothing() {
    if !ready("dual_stack_apply") {
        return;
    }
    let lab = Lab::new("ds6a");
    lab.dual_stack();
    let out = lab.apply_ok(&[]);
    assert!(out.contains("Apply complete!"), "{out}");
    assert!(!lab.take_writes().is_empty());

    // The IPv6 VXLAN device, as Calico makes it: VNI 4096, port 4789,
    // local = node-a's ipv6Address, MTU 1500 − 70.
    let link = lab
        .ns
        .exec_ok("ip", &["-d", "link", "show", "vxlan-v6.calico"]);
    assert!(link.contains("vxlan id 4096"), "{link}");
    assert!(link.contains("local fd00:10::11"), "{link}");
    assert!(link.contains("dstport 4789"), "{link}");
    assert!(link.contains("mtu 1430"), "{link}");
    assert!(link.contains("nolearning"), "{link}");
    // The v4 device is still there, next to it.
    lab.ns.exec_ok("ip", &["link", "show", "vxlan.calico"]);
    let addr = lab
        .ns
        .exec_ok("ip", &["-6", "addr", "show", "dev", "vxlan-v6.calico"]);
    assert!(addr.contains("inet6 fd00:250::/128"), "{addr}");

    let routes6 = lab
        .ns
        .exec_ok("ip", &["-6", "route", "show", "proto", "233"]);
    assert!(
        routes6.contains(&format!("blackhole {A_BLOCK6}")),
        "{routes6}"
    );
    assert!(
        routes6.contains(&format!("{B_BLOCK6} via fd00:250::40 dev vxlan-v6.calico"))
            && routes6.contains("onlink"),
        "{routes6}"
    );
    let neigh = lab.ns.exec_ok(
        "ip",
        &[
            "-6",
            "neigh",
            "show",
            "dev",
            "vxlan-v6.calico",
            "nud",
            "permanent",
        ],
    );
    assert!(neigh.contains("fd00:250::40 lladdr"), "{neigh}");
    let fdb = lab
        .ns
        .exec_ok("bridge", &["fdb", "show", "dev", "vxlan-v6.calico"]);
    assert!(fdb.contains("dst fd00:10::12"), "{fdb}");

    // Converged: plan is empty, a second apply writes nothing.
    let o = lab.plan(&["--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = lab.apply_ok(&[]);
    assert!(out.contains("No changes."), "{out}");
    assert_eq!(lab.take_writes(), Vec::<String>::new());
}

#[test]
fn dual_stack_edits_plan_both_families_and_removal_cleans_up() {
    if !ready("dual_stack_edits") {
        return;
    }
    let lab = Lab::new("ds6e");
    lab.dual_stack();
    lab.apply_ok(&[]);
    lab.take_writes();

    // A third dual-stack node: a route, a neighbour and an FDB entry per
    // family, and BIRD's mesh session (IPv4).
    lab.write_input("node-c.yaml", NODE_C_DUAL);
    let p = lab.plan_json(&[]);
    let c = changes(&p);
    let ids = |res: &str| -> Vec<String> {
        c.iter()
            .filter(|(r, _, a)| r == res && a == "create")
            .map(|(_, id, _)| id.clone())
            .collect()
    };
    let routes = ids("route");
    assert_eq!(routes.len(), 2, "{p:#}");
    assert!(routes.iter().any(|r| r == "fd00:250::80/122"), "{routes:?}");
    assert!(ids("neighbour")
        .iter()
        .any(|n| n == "fd00:250::80 dev vxlan-v6.calico"));
    assert_eq!(ids("fdb entry").len(), 2, "{p:#}");
    lab.apply_ok(&[]);
    assert!(lab.plan(&[]).stdout.starts_with(b"No changes."));

    // Dropping the IPv6 pool removes the IPv6 device and its routes, and
    // nothing of IPv4.
    let v4_routes = lab
        .ns
        .exec_ok("ip", &["-4", "route", "show", "proto", "233"]);
    lab.remove_input("pools-v6.yaml");
    let p = lab.plan_json(&[]);
    assert!(
        changes(&p)
            .iter()
            .any(|(r, id, a)| r == "tunnel" && id == "vxlan-v6.calico" && a == "delete"),
        "{p:#}"
    );
    lab.apply_ok(&[]);
    assert!(!lab
        .ns
        .exec("ip", &["link", "show", "vxlan-v6.calico"])
        .status
        .success());
    assert_eq!(
        lab.ns
            .exec_ok("ip", &["-6", "route", "show", "proto", "233"]),
        ""
    );
    assert_eq!(
        lab.ns
            .exec_ok("ip", &["-4", "route", "show", "proto", "233"]),
        v4_routes
    );
    assert!(lab.plan(&[]).stdout.starts_with(b"No changes."));
}

#[test]
fn a_failed_dual_stack_apply_rolls_ipv6_back() {
    if !ready("dual_stack_rollback") {
        return;
    }
    // From an IPv4-only node to dual stack, failing at the routes step (a
    // workload whose interface is down): the IPv6 device, address,
    // neighbours and FDB entries made before the failure are removed again.
    let lab = Lab::new("ds6r");
    lab.add_foreign();
    lab.apply_ok(&[]);
    lab.ns.exec_ok(
        "ip",
        &[
            "link",
            "add",
            "calidead000006",
            "type",
            "veth",
            "peer",
            "name",
            "deadpeer6",
        ],
    );
    let before = lab.dump();
    lab.dual_stack();
    lab.write_input(
        "workload.yaml",
        r#"apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata:
  name: node--a-k8s-web--0-eth0
  namespace: shop
spec:
  node: node-a
  orchestrator: k8s
  pod: web-0
  endpoint: eth0
  interfaceName: calidead000006
  ipNetworks: ["fd00:250::10/128"]
"#,
    );
    // dual_stack() put an IPv6 address on eth0: part of "before" from here.
    let before_v6 = lab.dump();
    assert_ne!(before, before_v6);
    let o = lab.apply(&[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let t = text(&o);
    assert!(t.contains("(routes) failed"), "{t}");
    assert!(t.contains("rolled back"), "{t}");
    assert!(t.contains("(verified)"), "{t}");
    let w = lab.take_writes();
    assert!(
        w.iter().any(|l| l.starts_with("bridge")),
        "tunnels, neighbours and FDB entries were written before the failure: {w:?}"
    );
    assert_same(&before_v6, &lab.dump(), "after the rollback");

    // Then, from dual stack, an injected failure at each later step
    // restores the IPv6 state exactly.
    lab.remove_input("workload.yaml");
    lab.apply_ok(&[]);
    lab.write_input("node-c.yaml", NODE_C_DUAL);
    lab.write_input("policy.yaml", &policy(2222));
    let before = lab.dump();
    for step in ["neighbours/FDB", "routes", "verify"] {
        let o = lab.apply_env(&[], &[("NETC_INJECT_FAILURE", step)]);
        assert_eq!(o.status.code(), Some(1), "{step}: {}", text(&o));
        assert!(text(&o).contains("rolled back"), "{step}: {}", text(&o));
        assert_same(&before, &lab.dump(), &format!("after a failure at {step}"));
    }
    lab.apply_ok(&[]);
    assert!(lab.plan(&[]).stdout.starts_with(b"No changes."));
    let neigh = lab
        .ns
        .exec_ok("ip", &["-6", "neigh", "show", "nud", "permanent"]);
    assert!(
        neigh.contains("fd00:250::80"),
        "node-c's IPv6 VTEP: {neigh}"
    );
}
