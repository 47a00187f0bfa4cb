//! `netc status` against real BIRD daemons peering in two namespaces:
//! node-a and node-b share a veth link (192.168.10.11/24 ↔ .12/24), each
//! converged with `netc apply`, each running BIRD on the config netc
//! installed. Both sessions Established → exit 0; node-b disables its
//! session → the next single `netc status` shows it down and exits 2.
//!
//! Root only: skipped with a message otherwise, unless CI=true.

mod common;

use common::{run, text, Netns};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const INPUT: &str = r#"apiVersion: projectcalico.org/v3
kind: Node
metadata:
  name: node-a
  annotations:
    netc.dev/underlay-interface: eth0
spec:
  bgp:
    ipv4Address: 192.168.10.11/24
---
apiVersion: projectcalico.org/v3
kind: Node
metadata:
  name: node-b
  annotations:
    netc.dev/underlay-interface: eth0
spec:
  bgp:
    ipv4Address: 192.168.10.12/24
---
apiVersion: projectcalico.org/v3
kind: IPPool
metadata:
  name: pool-a
spec:
  cidr: 10.250.0.0/20
  vxlanMode: Always
  ipipMode: Never
  blockSize: 26
  nodeSelector: all()
---
apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata:
  name: default
spec:
  nodeToNodeMeshEnabled: true
  asNumber: 64512
"#;

/// A temporary directory removed on drop (also when a test fails).
struct Dir(PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct Node<'a> {
    name: &'static str,
    ns: &'a Netns,
    dir: &'a Path,
}

impl Node<'_> {
    fn conf(&self) -> String {
        self.dir
            .join(format!("{}.bird.conf", self.name))
            .display()
            .to_string()
    }
    fn sock(&self) -> String {
        self.dir
            .join(format!("{}.ctl", self.name))
            .display()
            .to_string()
    }

    fn netc(&self, cmd: &str, extra: &[&str]) -> Output {
        let input = self.dir.join("input");
        let conf = self.conf();
        let sock = self.sock();
        let mut args = vec![
            cmd,
            "--node",
            self.name,
            "--netns",
            &self.ns.name,
            "--bird-config",
            &conf,
            "--bird-socket",
            &sock,
        ];
        args.extend_from_slice(extra);
        let input_s = input.display().to_string();
        args.push(&input_s);
        Command::new(env!("CARGO_BIN_EXE_netc"))
            .args(&args)
            .env("NETC_STATE_DIR", self.dir.join("state"))
            .env("NETC_RUN_DIR", self.dir.join("run"))
            .env("NO_COLOR", "1")
            .env_remove("NETC_INJECT_FAILURE")
            .output()
            .expect("run netc")
    }

    fn status_json(&self) -> (i32, serde_json::Value) {
        let o = self.netc("status", &["--format", "json"]);
        let v = serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|e| panic!("status JSON: {e}: {}", text(&o)));
        (o.status.code().unwrap_or(-1), v)
    }

    fn start_bird(&self) {
        let pid = self.dir.join(format!("{}.pid", self.name));
        self.ns.exec_ok(
            "bird",
            &[
                "-c",
                &self.conf(),
                "-s",
                &self.sock(),
                "-P",
                &pid.display().to_string(),
            ],
        );
    }

    fn birdc(&self, args: &[&str]) -> String {
        let sock = self.sock();
        let mut a = vec!["-s", sock.as_str()];
        a.extend_from_slice(args);
        text(&run("birdc", &a))
    }

    fn established(&self, proto: &str) -> bool {
        self.birdc(&["show", "protocols", proto])
            .lines()
            .any(|l| l.starts_with(proto) && l.contains("Established"))
    }
}

fn wait_until(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let end = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while std::time::Instant::now() < end {
        if f() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    panic!("timed out waiting for {what}");
}

fn ready(test: &str) -> bool {
    common::require_root(test)
        && ["nft", "ip", "bird", "birdc"]
            .iter()
            .all(|t| common::require_tool(test, t))
}

#[test]
fn status_follows_real_bird_sessions() {
    if !ready("status_follows_real_bird_sessions") {
        return;
    }
    let dir = Dir(std::env::temp_dir().join(format!("netc-status-{}", std::process::id())));
    let _ = std::fs::remove_dir_all(&dir.0);
    std::fs::create_dir_all(dir.0.join("input")).expect("mkdir");
    std::fs::write(dir.0.join("input/cluster.yaml"), INPUT).expect("write input");

    let na = Netns::new("st-a");
    let nb = Netns::new("st-b");
    let o = run(
        "ip",
        &[
            "-n", &na.name, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns",
            &nb.name,
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    for (ns, addr) in [(&na, "192.168.10.11/24"), (&nb, "192.168.10.12/24")] {
        ns.exec_ok("ip", &["addr", "add", addr, "dev", "eth0"]);
        ns.exec_ok("ip", &["link", "set", "eth0", "up"]);
    }
    let a = Node {
        name: "node-a",
        ns: &na,
        dir: &dir.0,
    };
    let b = Node {
        name: "node-b",
        ns: &nb,
        dir: &dir.0,
    };

    // Before anything: not converged, BIRD not running → degraded (2).
    let (code, v) = a.status_json();
    assert_eq!(code, 2, "{v:#}");
    assert_eq!(v["format_version"], 1);
    assert_eq!(v["bird"]["running"], false);
    assert!(v["drift"]["changes"].as_u64().unwrap_or(0) > 0, "{v:#}");

    for n in [&a, &b] {
        let o = n.netc("apply", &["--auto-approve"]);
        assert!(o.status.success(), "apply {}: {}", n.name, text(&o));
        n.start_bird();
    }
    wait_until("both BGP sessions Established", 60, || {
        a.established("Mesh_192_168_10_12") && b.established("Mesh_192_168_10_11")
    });

    // All as desired → 0, in every format.
    let (code, v) = a.status_json();
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["healthy"], true);
    assert_eq!(v["bird"]["running"], true);
    assert_eq!(v["drift"]["changes"], 0, "{v:#}");
    assert_eq!(v["routes"]["wanted"], 1, "{v:#}");
    assert_eq!(v["routes"]["missing"].as_array().map(Vec::len), Some(0));
    assert!(v["last_apply"]["unix_ms"].as_u64().is_some(), "{v:#}");
    let s = &v["sessions"][0];
    assert_eq!(s["name"], "Mesh_192_168_10_12");
    assert_eq!(s["peer"], "192.168.10.12");
    assert_eq!(s["peer_type"], "mesh");
    assert_eq!(s["remote_node"], "node-b");
    assert_eq!(s["established"], true);
    assert_eq!(v["sessions"].as_array().map(Vec::len), Some(1), "{v:#}");

    let o = a.netc("status", &[]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(t.contains("IPv4 BGP status"), "{t}");
    assert!(
        t.lines().any(|l| l.starts_with("| 192.168.10.12 ")
            && l.contains("node-to-node mesh")
            && l.contains("Established")),
        "{t}"
    );
    assert!(t.contains("No IPv6 peers found."), "{t}");
    assert!(
        t.contains("Routes to remote blocks: 1/1 in the kernel"),
        "{t}"
    );

    let o = b.netc("status", &["--format", "prometheus"]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(t.contains("netc_status_ok{node=\"node-b\"} 1"), "{t}");
    assert!(
        t.contains("netc_bgp_session_up{node=\"node-b\",name=\"Mesh_192_168_10_11\",peer=\"192.168.10.11\",type=\"mesh\",wanted=\"true\"} 1"),
        "{t}"
    );
    assert!(t.contains("netc_drift{node=\"node-b\"} 0"), "{t}");
    assert!(t.contains("netc_routes_missing{node=\"node-b\"} 0"), "{t}");

    // node-b shuts its side down; once node-a's BIRD has seen it, one call
    // of status reports the session down and exits 2.
    b.birdc(&["disable", "Mesh_192_168_10_11"]);
    wait_until("node-a's session to leave Established", 30, || {
        !a.established("Mesh_192_168_10_12")
    });
    let (code, v) = a.status_json();
    assert_eq!(code, 2, "{v:#}");
    assert_eq!(v["healthy"], false);
    let s = &v["sessions"][0];
    assert_eq!(s["established"], false, "{v:#}");
    assert_eq!(s["running"], true);
    let problems = v["problems"].to_string();
    assert!(
        problems.contains("Mesh_192_168_10_12") && problems.contains("not established"),
        "{problems}"
    );

    let o = a.netc("status", &["--format", "prometheus"]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert!(t.contains("type=\"mesh\",wanted=\"true\"} 0"), "{t}");

    // A removed kernel route is reported as missing (and as drift).
    a.ns.exec_ok("ip", &["route", "del", "10.250.0.64/26", "proto", "233"]);
    let (code, v) = a.status_json();
    assert_eq!(code, 2);
    assert_eq!(v["routes"]["missing"][0]["dst"], "10.250.0.64/26", "{v:#}");
    assert!(v["drift"]["changes"].as_u64().unwrap_or(0) > 0);

    // An error is 1: a node that is not declared.
    let o = Node {
        name: "node-z",
        ns: &na,
        dir: &dir.0,
    }
    .netc("status", &[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
}
