//! BIRD 2 emitter: clusters built through the real pipeline (YAML → load →
//! validate → allocate → lower → emit), every config checked with `bird -p`,
//! the session behaviour a user relies on asserted, hostile passwords, and a
//! real two-daemon peering across network namespaces.

use netc_test_support::pipeline::lower_all;
use netc_test_support::{have_tool, in_ci, is_root};

use netc_ir::{BgpSession, HostIr, SessionKind};
use netc_targets::{bird, Artifact, ArtifactKind, EmitError, SecretMap};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------
// pipeline helpers

fn secrets(pairs: &[(&str, &str, &str)]) -> SecretMap {
    let mut m: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for (name, key, value) in pairs {
        m.entry(name.to_string())
            .or_default()
            .insert(key.to_string(), value.to_string());
    }
    SecretMap(m)
}

fn sessions(ir: &HostIr) -> &[BgpSession] {
    &ir.bgp.as_ref().expect("node runs BGP").sessions
}

fn session<'a>(ir: &'a HostIr, name: &str) -> &'a BgpSession {
    sessions(ir)
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| {
            panic!(
                "{}: no session {name}; have {:?}",
                ir.node,
                sessions(ir).iter().map(|s| &s.name).collect::<Vec<_>>()
            )
        })
}

fn emit_ok(ir: &HostIr, s: &SecretMap) -> Artifact {
    let a = ArtifactKind::Bird
        .emit(ir, s)
        .unwrap_or_else(|e| panic!("{}: emit: {e}", ir.node));
    check_bird(&ir.node, &a.contents);
    a
}

/// The `protocol bgp NAME` blocks of an emitted config, with their bodies.
fn protocol_blocks(conf: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut lines = conf.lines();
    while let Some(l) = lines.next() {
        if let Some(rest) = l.strip_prefix("protocol bgp ") {
            let name = rest.split_whitespace().next().unwrap_or("").to_string();
            let mut body = String::new();
            for b in lines.by_ref() {
                if b == "}" {
                    break;
                }
                body.push_str(b);
                body.push('\n');
            }
            out.insert(name, body);
        }
    }
    out
}

// ---------------------------------------------------------------------------
// environment helpers (root, tools, namespaces)

/// `bird` present? Outside CI a missing tool skips the check; in CI it fails.
fn bird_available(what: &str) -> bool {
    if have_tool("bird") {
        return true;
    }
    if in_ci() {
        panic!("{what}: `bird` is not installed (CI must install bird2)");
    }
    eprintln!("SKIP {what}: `bird` is not installed");
    false
}

fn require_root(test: &str) -> bool {
    if !is_root() {
        if in_ci() {
            panic!("{test}: needs root and network namespaces, and CI=true forbids skipping");
        }
        eprintln!("SKIP {test}: needs root (CI=true makes this a failure)");
        return false;
    }
    for tool in ["bird", "birdc", "ip"] {
        if !have_tool(tool) {
            if in_ci() {
                panic!("{test}: `{tool}` is not installed");
            }
            eprintln!("SKIP {test}: `{tool}` is not installed");
            return false;
        }
    }
    true
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A scratch directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!(
            "netc-bird-{tag}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&p).expect("mkdir");
        TempDir(p)
    }
    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `bird -p -c` must accept the config.
fn check_bird(what: &str, conf: &str) {
    if !bird_available(what) {
        return;
    }
    let dir = TempDir::new("check");
    let f = dir.path("bird.conf");
    std::fs::write(&f, conf).expect("write");
    let o = Command::new("bird")
        .args(["-p", "-c"])
        .arg(&f)
        .output()
        .expect("run bird");
    assert!(
        o.status.success(),
        "{what}: bird -p rejected the config: {}\n--- config ---\n{conf}",
        text(&o)
    );
}

// ---------------------------------------------------------------------------
// clusters

const MESH3: &str = r#"
apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: {name: default}
spec:
  asNumber: 64512
  serviceClusterIPs: [{cidr: 10.96.0.0/12}]
---
apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: pool}
spec: {cidr: 192.168.0.0/16, ipipMode: Always}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: a}
spec: {bgp: {ipv4Address: 10.0.0.1/24}}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: b}
spec: {bgp: {ipv4Address: 10.0.0.2/24}}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: c}
spec: {bgp: {ipv4Address: 10.0.0.10/24}}
"#;

#[test]
fn mesh_sessions_both_directions_exactly_one_passive() {
    let irs = lower_all(MESH3);
    let none = SecretMap::default();
    for ir in irs.values() {
        emit_ok(ir, &none);
        assert_eq!(
            sessions(ir).len(),
            2,
            "{}: a session to each other node",
            ir.node
        );
    }
    for (a, ia) in &irs {
        for (b, ib) in &irs {
            if a >= b {
                continue;
            }
            let addr = |ir: &HostIr| ir.address.expect("address").addr().to_string();
            let ab = session(ia, &format!("Mesh_{}", addr(ib).replace('.', "_")));
            let ba = session(ib, &format!("Mesh_{}", addr(ia).replace('.', "_")));
            assert_eq!(ab.kind, SessionKind::Mesh);
            assert!(ab.internal && ba.internal);
            assert_ne!(ab.passive, ba.passive, "{a}<->{b}: exactly one end waits");
            // Calico compares the addresses as strings: "10.0.0.10" < "10.0.0.2".
            let (sa, sb) = (addr(ia), addr(ib));
            assert_eq!(ab.passive, sb > sa, "{a}->{b}");
        }
    }
    // The string comparison is visible: c (10.0.0.10) waits for a, but b
    // (10.0.0.2) waits for c.
    assert!(session(&irs["a"], "Mesh_10_0_0_10").passive);
    assert!(!session(&irs["c"], "Mesh_10_0_0_1").passive);
    assert!(session(&irs["c"], "Mesh_10_0_0_2").passive);
    assert!(!session(&irs["b"], "Mesh_10_0_0_10").passive);

    // What BIRD reads.
    let conf = emit_ok(&irs["a"], &none).contents;
    let blocks = protocol_blocks(&conf);
    assert_eq!(
        blocks.keys().collect::<Vec<_>>(),
        vec!["Mesh_10_0_0_10", "Mesh_10_0_0_2"]
    );
    assert!(blocks["Mesh_10_0_0_2"].contains("  neighbor 10.0.0.2 as 64512;\n"));
    assert!(blocks["Mesh_10_0_0_2"].contains("  source address 10.0.0.1;\n"));
    assert!(blocks["Mesh_10_0_0_2"].contains("  passive on;\n"));
    assert!(blocks["Mesh_10_0_0_2"].contains("calico_export_to_bgp_peers(true);"));
    // The IPIP pool's routes are netc's, so BIRD must not install them.
    assert!(conf.contains(
        "  if (net ~ 192.168.0.0/16) then { reject; } # Cluster routes are programmed by netc.\n"
    ));
    assert!(conf.contains("  route 10.96.0.0/12 blackhole; # Service range.\n"));
}

#[test]
fn output_is_deterministic() {
    let a = lower_all(MESH3);
    let b = lower_all(MESH3);
    let none = SecretMap::default();
    for (n, ir) in &a {
        assert_eq!(
            bird::emit(ir, &none).expect("emit"),
            bird::emit(&b[n], &none).expect("emit")
        );
    }
}

const RR: &str = r#"
apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: {name: default}
spec: {asNumber: 64512, nodeToNodeMeshEnabled: false}
---
apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: pool}
spec: {cidr: 192.168.0.0/16}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: rr1, labels: {rr: "yes"}}
spec: {bgp: {ipv4Address: 10.0.0.1/24, routeReflectorClusterID: 224.0.0.1}}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: rr2, labels: {rr: "yes"}}
spec: {bgp: {ipv4Address: 10.0.0.2/24, routeReflectorClusterID: 224.0.0.1}}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: w1}
spec: {bgp: {ipv4Address: 10.0.0.11/24}}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: w2}
spec: {bgp: {ipv4Address: 10.0.0.12/24}}
---
# Every node peers with the reflectors (and the reflectors with each other).
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {name: to-rr}
spec: {nodeSelector: all(), peerSelector: has(rr)}
---
# The reflectors also peer with an iBGP and an eBGP router outside the cluster.
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {name: rr-ibgp}
spec: {nodeSelector: has(rr), peerIP: 10.0.0.100, asNumber: 64512}
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {name: rr-ebgp}
spec: {nodeSelector: has(rr), peerIP: 10.0.0.200, asNumber: 65001}
"#;

#[test]
fn route_reflector_clients_only_over_ibgp() {
    let irs = lower_all(RR);
    let none = SecretMap::default();
    for ir in irs.values() {
        emit_ok(ir, &none);
    }
    let rr1 = &irs["rr1"];
    assert!(sessions(rr1).iter().all(|s| s.kind != SessionKind::Mesh));
    // Same cluster: a peer, not a client.
    let rr2 = session(rr1, "Node_10_0_0_2");
    assert!(!rr2.rr_client && rr2.rr_cluster_id.is_none());
    // iBGP workers and routers: clients.
    for n in ["Node_10_0_0_11", "Node_10_0_0_12", "Node_10_0_0_100"] {
        let s = session(rr1, n);
        assert!(s.internal && s.rr_client, "{n}");
        assert_eq!(s.rr_cluster_id, Some("224.0.0.1".parse().expect("ip")));
    }
    // eBGP: never a client (BIRD: "Only internal neighbor can be RR client").
    let ebgp = session(rr1, "Node_10_0_0_200");
    assert_eq!(ebgp.peer_as, 65001);
    assert!(!ebgp.internal && !ebgp.rr_client && ebgp.rr_cluster_id.is_none());
    // A worker peers with both reflectors and nobody else, as a plain iBGP peer.
    let w1 = &irs["w1"];
    let names: Vec<&str> = sessions(w1).iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, vec!["Node_10_0_0_1", "Node_10_0_0_2"]);
    assert!(sessions(w1).iter().all(|s| !s.rr_client));
    let conf = emit_ok(rr1, &none).contents;
    let blocks = protocol_blocks(&conf);
    assert!(blocks["Node_10_0_0_11"].contains("  rr client;\n  rr cluster id 224.0.0.1;\n"));
    assert!(!blocks["Node_10_0_0_200"].contains("rr client"));
    assert!(blocks["Node_10_0_0_200"].contains("calico_export_to_bgp_peers(false);"));
}

#[test]
fn peer_selector_uses_the_remote_nodes_as_and_reverse_side_exists() {
    let y = r#"
apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: {name: default}
spec: {nodeToNodeMeshEnabled: false}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: edge, labels: {role: edge}}
spec: {bgp: {ipv4Address: 10.1.0.1/24, asNumber: 65010}}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: core, labels: {role: core}}
spec: {bgp: {ipv4Address: 10.1.0.2/24, asNumber: "1.10"}}
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {name: edge-to-core}
spec: {nodeSelector: role == 'edge', peerSelector: role == 'core'}
"#;
    let irs = lower_all(y);
    let none = SecretMap::default();
    let fwd = session(&irs["edge"], "Node_10_1_0_2");
    assert_eq!(fwd.peer_as, 65546, "asdot 1.10 of the remote node");
    assert!(!fwd.internal && !fwd.reverse);
    // The core node gets the reverse side automatically, with the edge's AS.
    let rev = session(&irs["core"], "Node_10_1_0_1");
    assert_eq!(rev.peer_as, 65010);
    assert!(rev.reverse);
    let conf = emit_ok(&irs["edge"], &none).contents;
    assert!(conf.contains("  neighbor 10.1.0.2 as 65546;\n"));
    assert!(conf.contains("  local as 65010;\n"));
    emit_ok(&irs["core"], &none);
}

const EXTERNAL: &str = r#"
apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: {name: default}
spec: {asNumber: 64512}
---
apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: pool}
spec: {cidr: 192.168.0.0/16}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: n1}
spec: {bgp: {ipv4Address: 10.0.0.1/24}}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: n2}
spec: {bgp: {ipv4Address: 10.0.0.2/24}}
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {name: upstream}
spec:
  peerIP: 192.0.2.1:1179
  asNumber: 65001
  password: {secretKeyRef: {name: bgp, key: upstream}}
  maxRestartTime: 2m
  keepaliveTime: 20s
  ttlSecurity: 2
  nextHopMode: Self
  localASNumber: 64999
  numAllowedLocalASNumbers: 1
"#;

#[test]
fn port_suffix_names_and_session_options() {
    let irs = lower_all(EXTERNAL);
    let s = secrets(&[("bgp", "upstream", "s3cret")]);
    let ir = &irs["n1"];
    let up = session(ir, "Global_192_0_2_1_port_1179");
    assert_eq!(up.kind, SessionKind::Global);
    assert_eq!(up.port, Some(1179));
    assert_eq!(up.local_as, Some(64999));
    assert!(!up.passive, "not a Calico node: both ends may connect");
    let conf = emit_ok(ir, &s).contents;
    let b = &protocol_blocks(&conf)["Global_192_0_2_1_port_1179"];
    for line in [
        "  local as 64999;\n",
        "  neighbor 192.0.2.1 port 1179 as 65001;\n",
        "  source address 10.0.0.1;\n",
        "  ttl security on;\n  multihop 2;\n",
        "  graceful restart time 120;\n",
        "  keepalive time 20;\n",
        "  password \"s3cret\";\n",
        "  allow local as 1;\n",
        "    next hop self;\n",
        "calico_export_to_bgp_peers(false);",
    ] {
        assert!(b.contains(line), "missing {line:?} in\n{b}");
    }
}

#[test]
fn password_is_resolved_at_emit_time_and_marks_the_artifact_sensitive() {
    let irs = lower_all(EXTERNAL);
    let ir = &irs["n2"];
    // The IR holds a reference, never the value.
    let json = serde_json::to_string(ir).expect("json");
    assert!(json.contains("\"upstream\"") && !json.contains("s3cret"));
    let a = emit_ok(ir, &secrets(&[("bgp", "upstream", "s3cret")]));
    assert!(a.sensitive);
    assert!(a.contents.contains("  password \"s3cret\";\n"));
    // Without it: an error naming the secret, not a config without password.
    match bird::emit(ir, &SecretMap::default()) {
        Err(EmitError::MissingSecret { name, key, session }) => {
            assert_eq!((name.as_str(), key.as_str()), ("bgp", "upstream"));
            assert_eq!(session, "Global_192_0_2_1_port_1179");
        }
        other => panic!("expected MissingSecret, got {other:?}"),
    }
    // No password, nothing sensitive.
    let plain = emit_ok(&lower_all(MESH3)["a"], &SecretMap::default());
    assert!(!plain.sensitive && !plain.contents.contains("password"));
}

/// Passwords an attacker with write access to the secrets file might try.
/// BIRD strings have no escapes (conf/cf-lex.l): whatever is not `"` or a
/// control character stands for itself, so these are written verbatim and
/// must stay inside their string.
const HOSTILE_OK: &[&str] = &[
    r#"a\b\\c\"#,
    "x; }; protocol static evil { ipv4; route 0.0.0.0/0 blackhole; } #",
    "{}{}{};;;###",
    "*/ /* ' ` $HOME %s {{ x }} {% if %}",
    "päss wörd",
];

/// Values a BIRD string cannot hold: refused, never altered.
const HOSTILE_REFUSED: &[&str] = &[
    "x\"; } protocol static evil { ipv4; route 0.0.0.0/0 blackhole; } \"",
    "line1\nprotocol static evil { ipv4; }",
    "cr\rlf",
    "nul\0byte",
    "tab\there",
    "",
];

#[test]
fn hostile_passwords_stay_inside_their_string_or_are_refused() {
    let irs = lower_all(EXTERNAL);
    let ir = &irs["n1"];
    let baseline = emit_ok(ir, &secrets(&[("bgp", "upstream", "plain")])).contents;
    for pw in HOSTILE_OK {
        let conf = emit_ok(ir, &secrets(&[("bgp", "upstream", pw)])).contents;
        // Exactly the baseline with the value swapped: nothing else moved.
        assert_eq!(
            conf,
            baseline.replace("password \"plain\";", &format!("password \"{pw}\";")),
            "password {pw:?}"
        );
        if is_root() && have_tool("birdc") {
            // BIRD itself: the running daemon has exactly the expected protocols.
            let names = running_protocols(&conf);
            assert!(!names.iter().any(|n| n.contains("evil")), "{names:?}");
            assert!(names.contains(&"Global_192_0_2_1_port_1179".to_string()));
        }
    }
    for pw in HOSTILE_REFUSED {
        match bird::emit(ir, &secrets(&[("bgp", "upstream", pw)])) {
            Err(EmitError::Template(_, msg)) => {
                assert!(msg.contains("cannot be written"), "{msg}");
                assert!(
                    pw.is_empty() || !msg.contains(pw),
                    "the message must not echo the secret: {msg}"
                );
            }
            other => panic!("password {pw:?} must be refused, got {other:?}"),
        }
    }
}

/// Start BIRD on `conf` in a scratch namespace and list its protocols.
fn running_protocols(conf: &str) -> Vec<String> {
    let ns = Netns::new("pw");
    let dir = TempDir::new("pw");
    let d = Daemon::start(&ns, &dir, "x", conf);
    let out = d.birdc(&["show", "protocols"]);
    out.lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .filter(|n| !n.is_empty() && n != "Name")
        .collect()
}

#[test]
fn ignored_interfaces_and_log_levels() {
    let y = r#"
apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: {name: default}
spec:
  logSeverityScreen: Debug
  ignoredInterfaces: [docker*, eth9]
  bindMode: NodeIP
  listenPort: 1790
---
apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: {name: node.n2}
spec: {logSeverityScreen: Warning, listenPort: 1791}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: n1}
spec: {bgp: {ipv4Address: 10.0.0.1/24}}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: n2}
spec: {bgp: {ipv4Address: 10.0.0.2/24}}
"#;
    let irs = lower_all(y);
    let none = SecretMap::default();
    let c1 = emit_ok(&irs["n1"], &none).contents;
    assert!(c1.contains(
        "  interface -\"docker*\", -\"eth9\", -\"cali*\", -\"kube-ipvs*\", -\"tunl0\", -\"vxlan.calico\", \"*\";\n"
    ));
    assert!(c1.contains("  debug all;\n"));
    assert!(c1.contains("  local 10.0.0.1 port 1790 as 64512;\n  strict bind on;"));
    // n1 reaches n2 on n2's own port; the mesh name has no port suffix.
    assert!(
        protocol_blocks(&c1)["Mesh_10_0_0_2"].contains("  neighbor 10.0.0.2 port 1791 as 64512;\n")
    );
    let c2 = emit_ok(&irs["n2"], &none).contents;
    assert!(
        !c2.contains("debug"),
        "Warning maps to no BIRD debug output"
    );
    assert!(c2.contains("  local 10.0.0.2 port 1791 as 64512;\n  strict bind on;"));
}

#[test]
fn node_without_address_gets_an_inert_file() {
    let y = r#"
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: lonely}
spec: {}
"#;
    let irs = lower_all(y);
    assert!(irs["lonely"].bgp.is_none());
    let a = bird::emit(&irs["lonely"], &SecretMap::default()).expect("emit");
    assert!(a.lines().all(|l| l.starts_with('#')));
}

// ---------------------------------------------------------------------------
// real peering

static NS_COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A network namespace deleted on drop (also on panic).
struct Netns {
    name: String,
}

impl Netns {
    fn new(tag: &str) -> Netns {
        let name = format!(
            "netc-bird-{tag}-{}-{}",
            std::process::id(),
            NS_COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        run_ok("ip", &["netns", "add", &name]);
        let ns = Netns { name };
        ns.exec_ok(&["ip", "link", "set", "lo", "up"]);
        ns
    }
    fn exec(&self, args: &[&str]) -> Output {
        let mut a = vec!["netns", "exec", &self.name];
        a.extend_from_slice(args);
        Command::new("ip").args(&a).output().expect("ip netns exec")
    }
    fn exec_ok(&self, args: &[&str]) -> String {
        let o = self.exec(args);
        assert!(
            o.status.success(),
            "in {}: {args:?}: {}",
            self.name,
            text(&o)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

fn run_ok(cmd: &str, args: &[&str]) {
    let o = Command::new(cmd).args(args).output().expect("run");
    assert!(o.status.success(), "{cmd} {args:?}: {}", text(&o));
}

/// A BIRD daemon in a namespace, stopped by its PID on drop.
struct Daemon {
    ctl: PathBuf,
    pid_file: PathBuf,
}

impl Daemon {
    fn start(ns: &Netns, dir: &TempDir, tag: &str, conf: &str) -> Daemon {
        let conf_path = dir.path(&format!("{tag}.conf"));
        std::fs::write(&conf_path, conf).expect("write conf");
        let ctl = dir.path(&format!("{tag}.ctl"));
        let pid_file = dir.path(&format!("{tag}.pid"));
        let (c, s, p) = (path_str(&conf_path), path_str(&ctl), path_str(&pid_file));
        ns.exec_ok(&["bird", "-c", &c, "-s", &s, "-P", &p]);
        let d = Daemon { ctl, pid_file };
        // bird daemonises after writing its pid file; wait for the socket.
        let t0 = Instant::now();
        while !d.ctl.exists() && t0.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(50));
        }
        d
    }
    fn birdc(&self, args: &[&str]) -> String {
        let o = Command::new("birdc")
            .arg("-s")
            .arg(&self.ctl)
            .args(args)
            .output()
            .expect("birdc");
        text(&o)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(pid) = std::fs::read_to_string(&self.pid_file)
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok())
        {
            let _ = Command::new("kill").arg(pid.to_string()).status();
            let t0 = Instant::now();
            while Path::new(&format!("/proc/{pid}")).exists()
                && t0.elapsed() < Duration::from_secs(3)
            {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

fn path_str(p: &Path) -> String {
    p.to_str().expect("utf-8 path").to_string()
}

const PEERING: &str = r#"
apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: {name: default}
spec:
  asNumber: 64512
  nodeMeshPassword: {secretKeyRef: {name: mesh, key: password}}
---
apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: flat}
spec: {cidr: 172.30.0.0/16, blockSize: 26}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: left}
spec: {bgp: {ipv4Address: 10.199.0.1/24}}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: right}
spec: {bgp: {ipv4Address: 10.199.0.2/24}}
---
# A router beyond `right`, reached through the static route reachableBy asks for.
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {name: far-router}
spec: {node: left, peerIP: 10.198.0.9, asNumber: 65009, reachableBy: 10.199.0.2}
"#;

#[test]
fn two_daemons_establish_the_mesh_and_exchange_blocks() {
    const TEST: &str = "two_daemons_establish_the_mesh_and_exchange_blocks";
    if !require_root(TEST) {
        return;
    }
    let irs = lower_all(PEERING);
    let s = secrets(&[("mesh", "password", r"m3sh\pa{ss};#")]);
    let left = emit_ok(&irs["left"], &s);
    let right = emit_ok(&irs["right"], &s);
    assert!(left.sensitive && right.sensitive);
    let block = |ir: &HostIr| ir.bgp.as_ref().expect("bgp").local_blocks[0].to_string();
    let (lblock, rblock) = (block(&irs["left"]), block(&irs["right"]));

    let nl = Netns::new("l");
    let nr = Netns::new("r");
    let dir = TempDir::new("peer");
    let veth_l = format!("nl{}", std::process::id() % 100000);
    let veth_r = format!("nr{}", std::process::id() % 100000);
    nl.exec_ok(&[
        "ip", "link", "add", &veth_l, "type", "veth", "peer", "name", &veth_r,
    ]);
    nl.exec_ok(&["ip", "link", "set", &veth_r, "netns", &nr.name]);
    nl.exec_ok(&["ip", "addr", "add", "10.199.0.1/24", "dev", &veth_l]);
    nr.exec_ok(&["ip", "addr", "add", "10.199.0.2/24", "dev", &veth_r]);
    nl.exec_ok(&["ip", "link", "set", &veth_l, "up"]);
    nr.exec_ok(&["ip", "link", "set", &veth_r, "up"]);

    let dl = Daemon::start(&nl, &dir, "left", &left.contents);
    let dr = Daemon::start(&nr, &dir, "right", &right.contents);

    let established = |d: &Daemon, proto: &str| {
        d.birdc(&["show", "protocols", proto])
            .lines()
            .any(|l| l.starts_with(proto) && l.contains("Established"))
    };
    let has_route = |d: &Daemon, net: &str, proto: &str| {
        d.birdc(&["show", "route", net, "protocol", proto])
            .contains(net)
    };
    let t0 = Instant::now();
    let mut ok = false;
    while t0.elapsed() < Duration::from_secs(30) {
        if established(&dl, "Mesh_10_199_0_2")
            && established(&dr, "Mesh_10_199_0_1")
            && has_route(&dl, &rblock, "Mesh_10_199_0_2")
            && has_route(&dr, &lblock, "Mesh_10_199_0_1")
        {
            ok = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    assert!(
        ok,
        "no peering within 30 s\n--- left ---\n{}\n{}\n--- right ---\n{}\n{}",
        dl.birdc(&["show", "protocols", "all", "Mesh_10_199_0_2"]),
        dl.birdc(&["show", "route"]),
        dr.birdc(&["show", "protocols", "all", "Mesh_10_199_0_1"]),
        dr.birdc(&["show", "route"]),
    );
    // The unencapsulated pool is BIRD's to program: each kernel has the other's block.
    let t1 = Instant::now();
    loop {
        let lk = nl.exec_ok(&["ip", "route", "show", &rblock]);
        let rk = nr.exec_ok(&["ip", "route", "show", &lblock]);
        if lk.contains("via 10.199.0.2") && rk.contains("via 10.199.0.1") {
            break;
        }
        assert!(
            t1.elapsed() < Duration::from_secs(10),
            "kernel routes missing: {lk:?} {rk:?}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    // The local blackholes are netc's (routes.batch), not BIRD's.
    assert!(!nl
        .exec_ok(&["ip", "route", "show", "proto", "bird"])
        .contains("blackhole"));
    drop(dl);
    drop(dr);
}

#[test]
fn export_policy_pools_communities_and_service_ranges() {
    let y = r#"
apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: {name: default}
spec:
  nodeToNodeMeshEnabled: false
  serviceClusterIPs: [{cidr: 10.96.0.0/12}]
  serviceExternalIPs: [{cidr: 203.0.113.0/24}]
  serviceLoadBalancerIPs: [{cidr: 198.51.100.0/24}]
  communities: [{name: edge, value: "65000:100"}]
  prefixAdvertisements:
  - {cidr: 192.168.0.0/16, communities: [edge, "65000:1:2"]}
  ipv4NormalRoutePriority: 512
---
apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: flat}
spec: {cidr: 192.168.0.0/16}
---
apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: private}
spec: {cidr: 172.16.0.0/16, disableBGPExport: true, vxlanMode: Always}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: rr}
spec: {bgp: {ipv4Address: 10.0.0.1/24, routeReflectorClusterID: 224.0.0.1}}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: quiet, labels: {node.kubernetes.io/exclude-from-external-load-balancers: "true"}}
spec: {bgp: {ipv4Address: 10.0.0.2/24}}
"#;
    let irs = lower_all(y);
    let none = SecretMap::default();
    let rr = emit_ok(&irs["rr"], &none).contents;
    for line in [
        "  if (net ~ 192.168.0.0/16) then {\n    bgp_community.add((65000, 100));\n    bgp_large_community.add((65000, 1, 2));\n  }\n",
        "  if (net ~ 172.16.0.0/16) then { reject; } # BGP export is disabled.\n",
        "  if (net ~ 192.168.0.0/16) then { accept; }\n",
        "  if (net ~ 10.96.0.0/12) then { accept; } # Service range.\n",
        // Only a reflector passes on its clients' external / LB routes.
        "  if (net ~ 198.51.100.0/24) then { accept; } # Route reflector: service range learned from clients.\n",
        // Kernel: the flat pool is BIRD's, the VXLAN pool netc's, service ranges nobody's.
        "  if (net ~ 172.16.0.0/16) then { reject; } # Cluster routes are programmed by netc.\n",
        "  if (net ~ 10.96.0.0/12) then { reject; } # Service range: never programmed.\n",
        "    krt_metric = 512;\n",
    ] {
        assert!(rr.contains(line), "missing {line:?}");
    }
    assert!(rr.contains("  if (net ~ 192.168.0.0/16) then { accept; }\n  accept;\n}"));
    // A node labelled out of service advertisement keeps the kernel rejects
    // but advertises no service range.
    let quiet = emit_ok(&irs["quiet"], &none).contents;
    assert!(!quiet.contains("# Service range.\n"));
    assert!(quiet.contains(
        "  if (net ~ 10.96.0.0/12) then { reject; } # Service range: never programmed.\n"
    ));
    assert!(!quiet.contains("Route reflector"));
}

fn filtered_peering(reject_import: &str) -> String {
    format!(
        r#"
apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: {{name: default}}
spec: {{asNumber: 64512, nodeToNodeMeshEnabled: false}}
---
apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {{name: flat}}
spec: {{cidr: 172.30.0.0/16, blockSize: 26}}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {{name: left}}
spec: {{bgp: {{ipv4Address: 10.199.0.1/24, ipv6Address: "fd00:199::1/64"}}}}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {{name: right}}
spec: {{bgp: {{ipv4Address: 10.199.0.2/24, ipv6Address: "fd00:199::2/64"}}}}
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {{name: all}}
spec: {{nodeSelector: all(), peerSelector: all(), filters: [tag-and-drop]}}
---
apiVersion: projectcalico.org/v3
kind: BGPFilter
metadata: {{name: tag-and-drop}}
spec:
  exportV4:
  - action: Accept
    matchOperator: In
    cidr: 172.30.0.0/16
    operations: [{{addCommunity: {{value: "65000:7"}}}}]
  importV4:
  - {{action: Reject, matchOperator: Equal, cidr: "{reject_import}"}}
  importV6:
  - {{action: Reject}}
"#
    )
}

/// BGPFilters and IPv6 sessions in real daemons: both families establish,
/// the export function tags the block it accepts with a community, and the
/// import function drops the one block it names (on both ends, as the
/// filter applies to both directions of the peering).
#[test]
fn bgp_filters_act_on_routes_between_two_daemons() {
    const TEST: &str = "bgp_filters_act_on_routes_between_two_daemons";
    if !require_root(TEST) {
        return;
    }
    // Allocation is deterministic: learn right's block, then drop it on import.
    let first = lower_all(&filtered_peering("192.0.2.0/24"));
    let block = |ir: &HostIr| ir.bgp.as_ref().expect("bgp").local_blocks[0].to_string();
    let rblock = block(&first["right"]);
    let irs = lower_all(&filtered_peering(&rblock));
    let lblock = block(&irs["left"]);
    assert_eq!(block(&irs["right"]), rblock);
    let none = SecretMap::default();
    let left = emit_ok(&irs["left"], &none).contents;
    let right = emit_ok(&irs["right"], &none).contents;

    let nl = Netns::new("fl");
    let nr = Netns::new("fr");
    let dir = TempDir::new("filters");
    let veth_l = format!("fl{}", std::process::id() % 100000);
    let veth_r = format!("fr{}", std::process::id() % 100000);
    nl.exec_ok(&[
        "ip", "link", "add", &veth_l, "type", "veth", "peer", "name", &veth_r,
    ]);
    nl.exec_ok(&["ip", "link", "set", &veth_r, "netns", &nr.name]);
    nl.exec_ok(&["ip", "addr", "add", "10.199.0.1/24", "dev", &veth_l]);
    nr.exec_ok(&["ip", "addr", "add", "10.199.0.2/24", "dev", &veth_r]);
    nl.exec_ok(&[
        "ip",
        "addr",
        "add",
        "fd00:199::1/64",
        "dev",
        &veth_l,
        "nodad",
    ]);
    nr.exec_ok(&[
        "ip",
        "addr",
        "add",
        "fd00:199::2/64",
        "dev",
        &veth_r,
        "nodad",
    ]);
    nl.exec_ok(&["ip", "link", "set", &veth_l, "up"]);
    nr.exec_ok(&["ip", "link", "set", &veth_r, "up"]);

    let dl = Daemon::start(&nl, &dir, "left", &left);
    let dr = Daemon::start(&nr, &dir, "right", &right);
    let established = |d: &Daemon, proto: &str| {
        d.birdc(&["show", "protocols", proto])
            .lines()
            .any(|l| l.starts_with(proto) && l.contains("Established"))
    };
    let t0 = Instant::now();
    let mut ok = false;
    while t0.elapsed() < Duration::from_secs(30) {
        if established(&dl, "Node_10_199_0_2")
            && established(&dr, "Node_10_199_0_1")
            && established(&dl, "Node_fd00_199__2")
            && established(&dr, "Node_fd00_199__1")
            && dr
                .birdc(&["show", "route", &lblock, "protocol", "Node_10_199_0_1"])
                .contains(&lblock)
        {
            ok = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    assert!(
        ok,
        "no filtered peering within 30 s\n--- left ---\n{}\n{}\n--- right ---\n{}\n{}",
        dl.birdc(&["show", "protocols", "all"]),
        dl.birdc(&["show", "route"]),
        dr.birdc(&["show", "protocols", "all"]),
        dr.birdc(&["show", "route"]),
    );
    // Export: left's block reached right tagged by the BGPFilter.
    let all = dr.birdc(&[
        "show",
        "route",
        "all",
        &lblock,
        "protocol",
        "Node_10_199_0_1",
    ]);
    assert!(all.contains("(65000,7)"), "community missing:\n{all}");
    // Import: left dropped right's block (right has it, it was offered).
    let dropped = dl.birdc(&["show", "route", &rblock, "protocol", "Node_10_199_0_2"]);
    assert!(
        !dropped.contains(&rblock),
        "import filter let it in:\n{dropped}"
    );
    let exported = dr.birdc(&["show", "route", "export", "Node_10_199_0_1"]);
    assert!(
        exported.contains(&rblock),
        "right did not offer its block:\n{exported}"
    );
    drop(dl);
    drop(dr);
}

/// Found by the fuzz target `structured_tools`: a node without a BGP address
/// gets a bird.conf of comments only, which `bird -p -c` rejects ("No
/// protocol is specified"); the host layer must see that it configures
/// nothing (and leave BIRD alone), while a BGP node's config does not.
#[test]
fn node_without_bgp_gets_a_config_that_configures_nothing() {
    let irs = lower_all(
        "apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: plain}\nspec: {}\n---\n\
         apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: speaker}\n\
         spec: {bgp: {ipv4Address: 10.0.0.1/24}}\n",
    );
    let plain = ArtifactKind::Bird
        .emit(&irs["plain"], &SecretMap::default())
        .expect("emit");
    assert!(
        bird::configures_nothing(&plain.contents),
        "{}",
        plain.contents
    );
    let speaker = emit_ok(&irs["speaker"], &SecretMap::default());
    assert!(!bird::configures_nothing(&speaker.contents));
    if bird_available("node_without_bgp") {
        let dir = TempDir::new("nobgp");
        let f = dir.path("bird.conf");
        std::fs::write(&f, &plain.contents).expect("write");
        let o = Command::new("bird")
            .args(["-p", "-c"])
            .arg(&f)
            .output()
            .expect("run bird");
        // Were BIRD to accept it, installing it would be harmless again.
        assert!(
            !o.status.success(),
            "bird now accepts a comment-only config"
        );
    }
}
