//! Failures half-way through an apply roll the target back to exactly its
//! prior state, compared as full state dumps (nft ruleset, routes of every
//! table, links, addresses, neighbours, FDB, iptables, bird.conf).
//!
//! Root only: skipped with a message otherwise, unless CI=true.

mod common;
mod host_util;

use common::text;
use host_util::*;
use netc_host::apply::Rollback;
use netc_host::lock::Mode;
use netc_host::session::Session;
use netc_host::{Backend, Error, Step, Target};
use std::time::Duration;

/// A second version of the input that touches every step: a new node
/// (neighbours, FDB, routes, BIRD) and a policy change (firewall).
fn edit_everything(lab: &Lab) {
    lab.write_input("node-c.yaml", NODE_C);
    lab.write_input("policy.yaml", &policy(2222));
}

#[test]
fn a_route_whose_device_is_missing_rolls_everything_back() {
    if !ready("missing_device") {
        return;
    }
    let lab = Lab::new("nodev");
    lab.add_foreign();
    lab.apply_ok(&[]);
    edit_everything(&lab);
    // A workload whose interface is down: its route fails at step routes
    // ("Device for nexthop is not up"), after tunnels, neighbours and FDB
    // entries changed. (An interface that does not exist at all waits for
    // the CNI plugin instead: tests/host_ifaces.rs.)
    lab.ns.exec_ok(
        "ip",
        &[
            "link",
            "add",
            "calidead000001",
            "type",
            "veth",
            "peer",
            "name",
            "deadpeer1",
        ],
    );
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
  interfaceName: calidead000001
  ipNetworks: [10.250.0.10/32]
"#,
    );
    let before = lab.dump();
    let o = lab.apply(&[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let t = text(&o);
    assert!(t.contains("(routes) failed"), "{t}");
    assert!(t.contains("calidead000001"), "{t}");
    assert!(t.contains("rolled back"), "{t}");
    assert!(
        t.contains("restored to its state before this apply (verified)"),
        "{t}"
    );
    let w = lab.take_writes();
    assert!(
        w.iter().any(|l| l.starts_with("bridge")),
        "neighbours/FDB ran first: {w:?}"
    );
    assert_same(&before, &lab.dump(), "after");
}

#[test]
fn a_failure_in_any_step_restores_the_exact_prior_state() {
    if !ready("inject_each_step") {
        return;
    }
    let lab = Lab::new("inject");
    lab.apply_ok(&[]);
    edit_everything(&lab);
    let before = lab.dump();
    for step in ["neighbours/FDB", "routes", "firewall", "bird", "verify"] {
        let o = lab.apply_env(&[], &[("NETC_INJECT_FAILURE", step)]);
        assert_eq!(o.status.code(), Some(1), "{step}: {}", text(&o));
        let t = text(&o);
        assert!(t.contains("injected failure"), "{step}: {t}");
        assert!(t.contains("rolled back"), "{step}: {t}");
        assert_same(&before, &lab.dump(), &format!("after a failure at {step}"));
    }
    // And without the injected failure the same input applies.
    lab.apply_ok(&[]);
    assert_ne!(lab.dump(), before);
}

#[test]
fn a_failure_with_the_iptables_backend_restores_its_chains() {
    if !ready("inject_iptables") {
        return;
    }
    let lab = Lab::new("injipt");
    lab.add_foreign();
    lab.apply_ok(&["--firewall", "iptables"]);
    edit_everything(&lab);
    let before = lab.dump();
    for step in ["firewall", "bird"] {
        let o = lab.apply_env(
            &["--firewall", "iptables"],
            &[("NETC_INJECT_FAILURE", step)],
        );
        assert_eq!(o.status.code(), Some(1), "{step}: {}", text(&o));
        assert_same(&before, &lab.dump(), &format!("after a failure at {step}"));
    }
    // Failing while switching backends restores the old backend's chains
    // and removes the half-made table.
    let o = lab.apply_env(
        &["--firewall", "nftables"],
        &[("NETC_INJECT_FAILURE", "bird")],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert_same(&before, &lab.dump(), "after");
}

/// Compile node-a with `netc build` and read back its IR and artifacts.
fn build(lab: &Lab) -> (netc_ir::HostIr, Vec<netc_targets::Artifact>) {
    let out = lab.dir.join("build");
    let o = lab.netc(&[
        "build",
        "--ir",
        "-o",
        out.to_str().unwrap(),
        "--node",
        "node-a",
        lab.input().to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let dir = out.join("node-a");
    let ir: netc_ir::HostIr =
        serde_json::from_str(&std::fs::read_to_string(dir.join("ir.json")).unwrap()).unwrap();
    let mut arts = Vec::new();
    for kind in netc_targets::ArtifactKind::ALL {
        if let Ok(c) = std::fs::read_to_string(dir.join(kind.file_name())) {
            arts.push(netc_targets::Artifact {
                kind,
                contents: c,
                sensitive: false,
            });
        }
    }
    (ir, arts)
}

#[test]
fn a_config_bird_rejects_rolls_back_and_bird_keeps_running() {
    if !ready("bird_rejects") {
        return;
    }
    let lab = Lab::new("birdrej");
    lab.apply_ok(&[]);
    lab.start_bird();
    edit_everything(&lab);
    let (ir, mut arts) = build(&lab);
    for a in &mut arts {
        if a.file_name() == "bird.conf" {
            a.contents
                .push_str("\nprotocol bgp broken { neighbor 10.0.0.1 as; }\n");
        }
    }
    let before = lab.dump();
    let target = Target {
        netns: Some(lab.ns.name.clone()),
        firewall: Backend::Nftables,
        bird_config: lab.bird_conf(),
        bird_socket: lab.bird_socket(),
    };
    let result = {
        let s = Session::open(target.clone(), Mode::Exclusive, Duration::from_secs(10)).unwrap();
        let planned = s.plan(&ir, &arts, false).unwrap();
        assert!(!planned.plan.is_empty());
        s.preflight(&ir, &planned, false).unwrap();
        s.apply(&planned)
    };
    let _ = std::fs::remove_dir_all(target.state_dir());
    let _ = std::fs::remove_file(target.lock_path());
    let Err(Error::Apply(f)) = result else {
        panic!("expected the BIRD step to fail, got {result:?}")
    };
    assert_eq!(f.step, Some(Step::Bird));
    assert!(
        f.cause.to_string().contains("BIRD rejects the new config"),
        "{}",
        f.cause
    );
    assert!(matches!(f.rollback, Rollback::Restored), "{f}");
    assert!(f.to_string().contains("rolled back"), "{f}");
    assert_same(&before, &lab.dump(), "after");
    // BIRD never saw the bad file and still runs the old one.
    let s = lab.bird_socket().display().to_string();
    let o = common::run("birdc", &["-s", &s, "show", "protocols"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(!text(&o).contains("Mesh_192_168_10_13"), "{}", text(&o));
    // The temporary file is gone.
    for e in std::fs::read_dir(&lab.dir).unwrap().flatten() {
        let n = e.file_name().to_string_lossy().to_string();
        assert!(!n.contains("netc-"), "left behind: {n}");
    }
}

#[test]
fn bird_running_is_reconfigured_and_sees_new_sessions() {
    if !ready("bird_reconfigure") {
        return;
    }
    let lab = Lab::new("birdcfg");
    lab.apply_ok(&[]);
    lab.start_bird();
    lab.write_input("node-c.yaml", NODE_C);
    lab.take_writes();
    lab.apply_ok(&[]);
    let w = lab.take_writes();
    assert!(
        w.iter()
            .any(|l| l.starts_with("birdc") && l.contains("configure")),
        "{w:?}"
    );
    let s = lab.bird_socket().display().to_string();
    let o = common::run("birdc", &["-s", &s, "show", "protocols"]);
    assert!(text(&o).contains("Mesh_192_168_10_13"), "{}", text(&o));
}
