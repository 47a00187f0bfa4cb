//! Helpers for the host-layer tests (plan / apply / confirm against real
//! kernels in network namespaces): a lab namespace with an underlay
//! interface carrying node-a's address, a fixture input directory, the
//! `netc` binary run with per-test state and lock directories, and full
//! state dumps to compare before and after.
#![allow(dead_code)]

use crate::common::{text, Netns};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// node-a is the node under test; node-b shares its subnet.
pub const NODES: &str = r#"apiVersion: projectcalico.org/v3
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
"#;

pub const NODE_C: &str = r#"apiVersion: projectcalico.org/v3
kind: Node
metadata:
  name: node-c
  annotations:
    netc.dev/underlay-interface: eth0
spec:
  bgp:
    ipv4Address: 192.168.10.13/24
"#;

/// The same two nodes with IPv6 underlay addresses too (node-a's is put on
/// eth0 by [`Lab::dual_stack`]).
pub const NODES_DUAL: &str = r#"apiVersion: projectcalico.org/v3
kind: Node
metadata:
  name: node-a
  annotations:
    netc.dev/underlay-interface: eth0
spec:
  bgp:
    ipv4Address: 192.168.10.11/24
    ipv6Address: fd00:10::11/64
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
    ipv6Address: fd00:10::12/64
"#;

pub const NODE_C_DUAL: &str = r#"apiVersion: projectcalico.org/v3
kind: Node
metadata:
  name: node-c
  annotations:
    netc.dev/underlay-interface: eth0
spec:
  bgp:
    ipv4Address: 192.168.10.13/24
    ipv6Address: fd00:10::13/64
"#;

/// An IPv6 VXLAN pool (Calico's default IPv6 block size, /122).
pub const POOL_V6: &str = r#"apiVersion: projectcalico.org/v3
kind: IPPool
metadata:
  name: pool-v6
spec:
  cidr: fd00:250::/64
  vxlanMode: Always
  ipipMode: Never
  natOutgoing: true
  nodeSelector: all()
"#;

pub fn pool(vxlan_mode: &str, ipip_mode: &str) -> String {
    format!(
        r#"apiVersion: projectcalico.org/v3
kind: IPPool
metadata:
  name: pool-a
spec:
  cidr: 10.250.0.0/20
  vxlanMode: {vxlan_mode}
  ipipMode: {ipip_mode}
  natOutgoing: true
  blockSize: 26
  nodeSelector: all()
"#
    )
}

pub const BGP: &str = r#"apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata:
  name: default
spec:
  nodeToNodeMeshEnabled: true
  asNumber: 64512
"#;

pub fn policy(ssh_port: u16) -> String {
    format!(
        r#"apiVersion: projectcalico.org/v3
kind: GlobalNetworkSet
metadata:
  name: admins
  labels:
    role: admin
spec:
  nets: [172.16.0.0/24, 172.16.8.0/22]
---
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata:
  name: node-a-eth0
  labels:
    host-endpoint: underlay
spec:
  node: node-a
  interfaceName: eth0
  expectedIPs: [192.168.10.11]
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: host-ssh
spec:
  order: 100
  selector: host-endpoint == 'underlay'
  types: [Ingress, Egress]
  ingress:
  - action: Allow
    protocol: TCP
    source:
      selector: role == 'admin'
    destination:
      ports: [{ssh_port}]
  egress:
  - action: Allow
"#
    )
}

/// A namespace set up as node-a (underlay eth0 = 192.168.10.11/24, up) and a
/// directory with the fixture input, state and lock directories, BIRD files.
pub struct Lab {
    pub ns: Netns,
    pub dir: PathBuf,
}

impl Lab {
    pub fn new(name: &str) -> Lab {
        let ns = Netns::new(name);
        ns.exec_ok(
            "ip",
            &[
                "link",
                "add",
                "eth0",
                "type",
                "veth",
                "peer",
                "name",
                "underlay0",
            ],
        );
        ns.exec_ok("ip", &["addr", "add", "192.168.10.11/24", "dev", "eth0"]);
        ns.exec_ok("ip", &["link", "set", "eth0", "up"]);
        ns.exec_ok("ip", &["link", "set", "underlay0", "up"]);
        let dir = std::env::temp_dir().join(format!("netc-host-{}", ns.name));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("input")).expect("mkdir");
        let lab = Lab { ns, dir };
        lab.write_input("nodes.yaml", NODES);
        lab.write_input("pools.yaml", &pool("Always", "Never"));
        lab.write_input("bgp.yaml", BGP);
        lab.write_input("policy.yaml", &policy(22));
        lab
    }

    /// Make the lab dual stack: node-a's IPv6 address on eth0, both nodes
    /// with `ipv6Address`, an IPv6 VXLAN pool. Duplicate address detection
    /// is off in the lab namespace: a fresh address is tentative (and has no
    /// local route) for about a second, which would make state dumps depend
    /// on timing.
    pub fn dual_stack(&self) {
        for key in ["all", "default", "eth0"] {
            let kv = format!("net.ipv6.conf.{key}.accept_dad=0");
            self.ns.exec_ok("sysctl", &["-qw", &kv]);
        }
        self.ns.exec_ok(
            "ip",
            &["addr", "add", "fd00:10::11/64", "dev", "eth0", "nodad"],
        );
        self.write_input("nodes.yaml", NODES_DUAL);
        self.write_input("pools-v6.yaml", POOL_V6);
    }

    pub fn input(&self) -> PathBuf {
        self.dir.join("input")
    }

    pub fn write_input(&self, name: &str, text: &str) {
        std::fs::write(self.input().join(name), text).expect("write input");
    }

    pub fn remove_input(&self, name: &str) {
        let _ = std::fs::remove_file(self.input().join(name));
    }

    pub fn bird_conf(&self) -> PathBuf {
        self.dir.join("bird.conf")
    }

    pub fn bird_socket(&self) -> PathBuf {
        self.dir.join("bird.ctl")
    }

    pub fn exec_log(&self) -> PathBuf {
        self.dir.join("exec.log")
    }

    /// Run netc with this lab's state/lock directories and write log.
    pub fn netc(&self, args: &[&str]) -> Output {
        self.netc_env(args, &[])
    }

    pub fn netc_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut c = Command::new(env!("CARGO_BIN_EXE_netc"));
        c.args(args)
            .env("NETC_STATE_DIR", self.dir.join("state"))
            .env("NETC_RUN_DIR", self.dir.join("run"))
            .env("NETC_EXEC_LOG", self.exec_log())
            .env("NO_COLOR", "1")
            .env_remove("NETC_INJECT_FAILURE");
        for (k, v) in env {
            c.env(k, v);
        }
        c.output().expect("run netc")
    }

    /// The target options every plan/apply of this lab uses.
    pub fn target_args(&self) -> Vec<String> {
        vec![
            "--node".into(),
            "node-a".into(),
            "--netns".into(),
            self.ns.name.clone(),
            "--bird-config".into(),
            self.bird_conf().display().to_string(),
            "--bird-socket".into(),
            self.bird_socket().display().to_string(),
        ]
    }

    pub fn with_target<'a>(&self, cmd: &'a str, extra: &[&'a str]) -> Vec<String> {
        let mut v = vec![cmd.to_string()];
        v.extend(self.target_args());
        v.extend(extra.iter().map(|s| s.to_string()));
        v.push(self.input().display().to_string());
        v
    }

    pub fn plan(&self, extra: &[&str]) -> Output {
        let v = self.with_target("plan", extra);
        let a: Vec<&str> = v.iter().map(String::as_str).collect();
        self.netc(&a)
    }

    pub fn plan_json(&self, extra: &[&str]) -> serde_json::Value {
        let mut e = vec!["--format", "json"];
        e.extend_from_slice(extra);
        let o = self.plan(&e);
        assert!(o.status.success(), "plan failed: {}", text(&o));
        serde_json::from_slice(&o.stdout).expect("plan JSON")
    }

    pub fn apply(&self, extra: &[&str]) -> Output {
        self.apply_env(extra, &[])
    }

    pub fn apply_env(&self, extra: &[&str], env: &[(&str, &str)]) -> Output {
        let mut e = vec!["--auto-approve"];
        e.extend_from_slice(extra);
        let v = self.with_target("apply", &e);
        let a: Vec<&str> = v.iter().map(String::as_str).collect();
        self.netc_env(&a, env)
    }

    pub fn apply_ok(&self, extra: &[&str]) -> String {
        let o = self.apply(extra);
        assert_eq!(o.status.code(), Some(0), "apply failed:\n{}", text(&o));
        text(&o)
    }

    /// Mutating commands netc recorded since the last call (and forget them).
    pub fn take_writes(&self) -> Vec<String> {
        let w = std::fs::read_to_string(self.exec_log()).unwrap_or_default();
        let _ = std::fs::remove_file(self.exec_log());
        w.lines().map(str::to_string).collect()
    }

    /// Everything observable on the target, as text: ruleset, routes, links,
    /// addresses (IPv6 ones without their DAD flags, which change on their
    /// own), permanent neighbours, FDB, iptables (comments and
    /// empty built-in-only tables dropped), the BIRD config. IPv6 link-local
    /// and multicast lines are left out: the kernel adds them on its own,
    /// some time after a link comes up.
    pub fn dump(&self) -> String {
        let mut s = String::new();
        // nft tables, except the ones iptables-nft keeps (compared through
        // iptables-save below: their chain order in nft's listing is
        // creation order, which a rollback does not preserve).
        s.push_str("## nft list ruleset (without iptables-nft's tables)\n");
        for t in self.ns.exec_ok("nft", &["list", "tables"]).lines() {
            let f: Vec<&str> = t.split_whitespace().collect();
            if f.len() != 3 {
                continue;
            }
            let xt = matches!(f[1], "ip" | "ip6")
                && matches!(f[2], "filter" | "nat" | "raw" | "mangle" | "security");
            if !xt {
                s.push_str(&self.ns.exec_ok("nft", &["list", "table", f[1], f[2]]));
            }
        }
        for (cmd, args) in [
            ("ip", vec!["-4", "route", "show", "table", "all"]),
            ("ip", vec!["-6", "route", "show", "table", "all"]),
            ("ip", vec!["-d", "link", "show"]),
            ("ip", vec!["-4", "addr", "show"]),
            ("ip", vec!["neigh", "show", "nud", "permanent"]),
            ("bridge", vec!["fdb", "show"]),
        ] {
            s.push_str(&format!("## {cmd} {}\n", args.join(" ")));
            for l in self.ns.exec_ok(cmd, &args).lines() {
                let noise = l.contains("fe80:")
                    || l.contains("ff00::/8")
                    || l.starts_with("33:33:")
                    || l.starts_with("01:00:5e:");
                if !noise {
                    s.push_str(l);
                    s.push('\n');
                }
            }
        }
        s.push_str("## ip -6 -o addr show (device, address)\n");
        for l in self.ns.exec_ok("ip", &["-6", "-o", "addr", "show"]).lines() {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() > 3 && !f[3].starts_with("fe80:") {
                s.push_str(&format!("{} {}\n", f[1], f[3]));
            }
        }
        s.push_str("## iptables-save\n");
        s.push_str(&iptables_rules(&self.ns.exec_ok("iptables-save", &[])));
        s.push_str("## bird.conf\n");
        s.push_str(
            &std::fs::read_to_string(self.bird_conf()).unwrap_or_else(|_| "(none)\n".into()),
        );
        s
    }

    /// Start BIRD in the namespace on this lab's config and socket.
    pub fn start_bird(&self) {
        let conf = self.bird_conf().display().to_string();
        let sock = self.bird_socket().display().to_string();
        let pid = self.dir.join("bird.pid").display().to_string();
        self.ns
            .exec_ok("bird", &["-c", &conf, "-s", &sock, "-P", &pid]);
        for _ in 0..50 {
            if Path::new(&sock).exists() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("BIRD did not start");
    }

    /// Foreign objects netc must never touch: an nft table, a route of
    /// another protocol, a veth pair, an iptables rule in INPUT.
    pub fn add_foreign(&self) {
        let o = self.ns.exec_stdin(
            "nft",
            &["-f", "-"],
            "table ip foreign {\n chain input { type filter hook input priority 10; policy accept; tcp dport 9999 counter accept; }\n}\n",
        );
        assert!(o.status.success(), "{}", text(&o));
        self.ns.exec_ok(
            "ip",
            &[
                "route",
                "add",
                "blackhole",
                "10.99.0.0/24",
                "proto",
                "static",
            ],
        );
        self.ns.exec_ok(
            "ip",
            &[
                "route",
                "add",
                "10.98.0.0/24",
                "via",
                "192.168.10.1",
                "proto",
                "boot",
            ],
        );
        self.ns.exec_ok(
            "ip",
            &[
                "link", "add", "fveth0", "type", "veth", "peer", "name", "fveth1",
            ],
        );
        self.ns.exec_ok(
            "iptables",
            &["-A", "INPUT", "-s", "203.0.113.7", "-j", "DROP"],
        );
    }

    /// The foreign objects, as text (they must never change).
    pub fn foreign(&self) -> String {
        let mut s = self.ns.exec_ok("nft", &["list", "table", "ip", "foreign"]);
        s.push_str(&self.ns.exec_ok("ip", &["route", "show", "proto", "static"]));
        s.push_str(&self.ns.exec_ok("ip", &["route", "show", "proto", "boot"]));
        s.push_str(&self.ns.exec_ok("ip", &["-d", "link", "show", "fveth0"]));
        s.push_str(
            &self
                .ns
                .exec_ok("iptables", &["-S", "INPUT"])
                .replace("-A INPUT -j netc-INPUT\n", ""),
        );
        s
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// iptables-save, canonical: without comments and counters, chains sorted
/// by name (rules keep their order within a chain), and without tables that
/// only hold empty built-in chains (iptables-nft creates those on first use;
/// they are not netc's and carry no rule).
pub fn iptables_rules(save: &str) -> String {
    use std::collections::BTreeMap;
    let mut out = String::new();
    let mut table = String::new();
    let mut decls: Vec<String> = Vec::new();
    let mut rules: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in save.lines() {
        if line.starts_with('#') {
            continue;
        }
        if let Some(t) = line.strip_prefix('*') {
            table = t.to_string();
            decls.clear();
            rules.clear();
        } else if let Some(d) = line.strip_prefix(':') {
            let d = d.split(" [").next().unwrap_or(d);
            decls.push(d.to_string());
        } else if let Some(r) = line.strip_prefix("-A ") {
            let chain = r.split_whitespace().next().unwrap_or("").to_string();
            rules.entry(chain).or_default().push(line.to_string());
        } else if line == "COMMIT" {
            let user_chain = decls
                .iter()
                .any(|d| d.split_whitespace().nth(1) == Some("-"));
            if user_chain || !rules.is_empty() {
                decls.sort();
                out.push_str(&format!("*{table}\n"));
                for d in &decls {
                    out.push_str(&format!(":{d}\n"));
                }
                for r in rules.values().flatten() {
                    out.push_str(r);
                    out.push('\n');
                }
                out.push_str("COMMIT\n");
            }
        }
    }
    out
}

/// Assert two dumps are equal, showing only the difference.
#[track_caller]
pub fn assert_same(before: &str, after: &str, what: &str) {
    if before != after {
        let d = similar::TextDiff::from_lines(before, after);
        panic!(
            "{what}: the state differs\n{}",
            d.unified_diff().context_radius(2).header("before", "after")
        );
    }
}

/// The (resource, id, action) triples of a JSON plan.
pub fn changes(plan: &serde_json::Value) -> Vec<(String, String, String)> {
    plan["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| {
            (
                c["resource"].as_str().unwrap_or("").to_string(),
                c["id"].as_str().unwrap_or("").to_string(),
                c["action"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

pub fn wait_until(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let end = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while std::time::Instant::now() < end {
        if f() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    panic!("timed out waiting for {what}");
}

/// Gate for root + namespace tests: skip (with a message) when not root
/// unless CI=true, and require the tools.
pub fn ready(test: &str) -> bool {
    crate::common::require_root(test)
        && ["nft", "iptables-save", "ip", "bridge", "bird", "birdc"]
            .iter()
            .all(|t| crate::common::require_tool(test, t))
}
