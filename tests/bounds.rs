//! Numeric fields at their bounds: whatever `netc validate` accepts, `netc
//! build` must turn into artifacts the real tools accept (`bird -p -c`,
//! `nft -c -f`, `iptables-restore --test`, `ip6tables-restore --test`).
//!
//! One small cluster is generated per (field, value): AS numbers, ports and
//! port ranges, BGP listen port, peer port, prefix lengths, blockSize, the
//! underlay MTU, ttlSecurity, restart and keepalive times,
//! numAllowedLocalASNumbers, ICMP type/code, protocol numbers, communities
//! and policy order. Values sit just inside and just outside each bound. A
//! value validation accepts but a tool rejects is a failure (the checker,
//! not the tool, must say no); so is a compile error after a clean
//! validation. Values that must be rejected (AS 0, port 0, …) are asserted
//! rejected, so the test cannot pass by rejecting everything.

mod common;

use common::*;
use netc_compiler::{load, validate, SourceMap};
use netc_targets::SecretMap;

/// Placeholders and their defaults. Each case overrides one.
const DEFAULTS: &[(&str, &str)] = &[
    ("AS_NODE", "64512"),
    ("AS_GLOBAL", "64512"),
    ("AS_PEER", "65001"),
    ("LOCAL_AS", "64512"),
    ("LISTEN_PORT", "179"),
    ("PEER_IP", "10.0.0.254"),
    ("TTL", "1"),
    ("MESH_RESTART", "120s"),
    ("PEER_RESTART", "120s"),
    ("KEEPALIVE", "30s"),
    ("ALLOW_LOCAL", "1"),
    ("PORT", "80"),
    ("PORT_RANGE", "\"8000:8080\""),
    ("ICMP_TYPE", "8"),
    ("ICMP_CODE", "0"),
    ("PROTO", "47"),
    ("NET", "192.0.2.0/24"),
    ("NET6", "2001:db8::/32"),
    ("BLOCK4", "26"),
    ("POOL4", "10.244.0.0/16"),
    ("BLOCK6", "122"),
    ("MTU", "\"1500\""),
    ("COMMUNITY", "\"65001:100\""),
    ("ORDER", "100"),
];

const TEMPLATE: &str = r#"
apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: pool4}
spec: {cidr: POOL4, blockSize: BLOCK4, vxlanMode: CrossSubnet, natOutgoing: true}
---
apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: pool6}
spec: {cidr: "fd00:244::/48", blockSize: BLOCK6, vxlanMode: Always}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata:
  name: n1
  labels: {rack: r1}
  annotations:
    netc.dev/underlay-interface: eth0
    netc.dev/underlay-mtu: MTU
spec:
  bgp: {ipv4Address: 10.0.0.1/24, asNumber: AS_NODE}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata:
  name: n2
  labels: {rack: r1}
  annotations: {netc.dev/underlay-interface: eth0}
spec:
  bgp: {ipv4Address: 10.0.0.2/24}
---
apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: {name: default}
spec:
  asNumber: AS_GLOBAL
  listenPort: LISTEN_PORT
  nodeMeshMaxRestartTime: MESH_RESTART
  communities: [{name: tag, value: COMMUNITY}]
  prefixAdvertisements: [{cidr: 10.244.0.0/16, communities: [tag]}]
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {name: tor}
spec:
  node: n1
  peerIP: PEER_IP
  asNumber: AS_PEER
  localASNumber: LOCAL_AS
  ttlSecurity: TTL
  maxRestartTime: PEER_RESTART
  keepaliveTime: KEEPALIVE
  numAllowedLocalASNumbers: ALLOW_LOCAL
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: web}
spec:
  order: ORDER
  selector: app == "web"
  ingress:
    - action: Allow
      protocol: TCP
      destination: {ports: [PORT, PORT_RANGE]}
    - action: Allow
      protocol: ICMP
      icmp: {type: ICMP_TYPE, code: ICMP_CODE}
    - action: Allow
      protocol: PROTO
      source: {nets: [NET]}
    - action: Allow
      source: {nets: [NET6]}
---
apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata:
  name: n1-k8s-web-eth0
  namespace: default
  labels: {app: web}
spec:
  node: n1
  interfaceName: cali0a1b2c3d4e5
  ipNetworks: [10.244.0.5/32]
"#;

/// (placeholder, values expected valid, values expected rejected).
fn cases() -> Vec<(&'static str, Vec<&'static str>, Vec<&'static str>)> {
    vec![
        (
            "AS_NODE",
            vec![
                "1",
                "65535",
                "65536",
                "4294967294",
                "4294967295",
                "\"0.1\"",
                "\"65535.65535\"",
            ],
            vec!["0", "\"0.0\"", "4294967296", "-1", "\"65536.0\""],
        ),
        (
            "AS_GLOBAL",
            vec!["1", "4294967295", "\"1.10\""],
            vec!["0", "4294967296"],
        ),
        (
            "AS_PEER",
            vec!["1", "23456", "4294967295"],
            vec!["0", "4294967296"],
        ),
        ("LOCAL_AS", vec!["1", "4294967295"], vec!["0"]),
        (
            "LISTEN_PORT",
            vec!["1", "1024", "65535"],
            vec!["65536", "-1"],
        ),
        (
            "PEER_IP",
            vec![
                "\"10.0.0.254:1\"",
                "\"10.0.0.254:65535\"",
                "\"[fd00::1]:179\"",
            ],
            vec![
                "\"10.0.0.254:0\"",
                "\"10.0.0.254:65536\"",
                "\"010.0.0.254\"",
            ],
        ),
        ("TTL", vec!["0", "1", "255"], vec!["256", "-1"]),
        (
            "MESH_RESTART",
            vec!["0s", "1s", "4095s", "1h"],
            vec!["-1s", "x"],
        ),
        (
            "PEER_RESTART",
            vec!["1s", "4095s", "65535s", "18h12m15s", "1000000h"],
            vec!["10"],
        ),
        (
            "KEEPALIVE",
            vec!["0s", "1s", "80s", "240s"],
            vec!["241s", "65535s", "x"],
        ),
        ("ALLOW_LOCAL", vec!["0", "1", "10", "255"], vec!["-1"]),
        ("PORT", vec!["1", "65535"], vec!["0", "65536"]),
        (
            "PORT_RANGE",
            vec!["\"0:1\"", "\"1:65535\"", "\"65535:65535\""],
            vec!["\"2:1\"", "\"1:65536\""],
        ),
        ("ICMP_TYPE", vec!["0", "254"], vec!["255", "256", "-1"]),
        ("ICMP_CODE", vec!["0", "255"], vec!["256"]),
        ("PROTO", vec!["1", "254", "255"], vec!["0", "256"]),
        (
            "NET",
            vec!["0.0.0.0/0", "192.0.2.1/32", "192.0.2.0/1"],
            vec![
                "192.0.2.0/33",
                "192.0.2.0/-1",
                "192.0.02.0/24",
                "192.0.2.0/08",
            ],
        ),
        (
            "NET6",
            vec!["::/0", "2001:db8::1/128"],
            vec!["2001:db8::/129"],
        ),
        ("BLOCK4", vec!["20", "32"], vec!["19", "33"]),
        (
            "POOL4",
            vec!["10.0.0.0/8", "10.244.0.0/25"],
            vec!["10.244.0.0/26", "10.244.0.0/27", "010.244.0.0/16"],
        ),
        ("BLOCK6", vec!["116", "128"], vec!["115", "129"]),
        (
            "MTU",
            vec!["\"1280\"", "\"9000\"", "\"65535\""],
            vec!["\"0\"", "\"65536\""],
        ),
        (
            "COMMUNITY",
            vec!["\"0:0\"", "\"65535:65535\"", "\"4294967295:0:4294967295\""],
            vec!["\"65536:1\"", "\"4294967296:0:0\""],
        ),
        ("ORDER", vec!["0", "0.5", "1e9"], vec![]),
    ]
}

fn render(key: &str, value: &str) -> String {
    let mut y = TEMPLATE.to_string();
    // Longest placeholders first, so `NET6` is not eaten by `NET`.
    let mut ds: Vec<(&str, &str)> = DEFAULTS.to_vec();
    ds.sort_by_key(|(k, _)| std::cmp::Reverse(k.len()));
    for (k, d) in ds {
        y = y.replace(k, if k == key { value } else { d });
    }
    y
}

enum Outcome {
    Rejected(String),
    Built(Vec<(String, Vec<netc_targets::Artifact>)>),
    BuildFailed(String),
}

fn run_case(yaml: &str) -> Outcome {
    let mut sources = SourceMap::new();
    let id = sources.add("bounds.yaml", yaml);
    let (raws, load_diags) = load::load_source(id, &sources);
    if let Some(d) = load_diags.iter().find(|d| d.is_error()) {
        return Outcome::Rejected(format!("{} {}", d.code, d.message));
    }
    let (model, diags) = validate::validate(raws);
    let Some(model) = model else {
        let d = diags.items.iter().find(|d| d.is_error());
        return Outcome::Rejected(
            d.map(|d| format!("{} {}", d.code, d.message))
                .unwrap_or_default(),
        );
    };
    match netc::compile(&model, None, None, &SecretMap::default()) {
        Ok(c) => Outcome::Built(c.nodes.into_iter().map(|n| (n.name, n.artifacts)).collect()),
        Err(e) => Outcome::BuildFailed(e.to_string()),
    }
}

#[test]
fn numeric_bounds_validate_iff_tools_accept() {
    if !require_root("numeric_bounds_validate_iff_tools_accept") {
        return;
    }
    for tool in ["nft", "iptables-restore", "ip6tables-restore", "bird"] {
        if !require_tool("numeric_bounds_validate_iff_tools_accept", tool) {
            return;
        }
    }
    // The defaults alone must build and pass, or every case below is moot.
    let ns = Netns::new("bounds");
    let tmp = std::env::temp_dir().join(format!("netc-bounds-{}", std::process::id()));
    let mut failures = Vec::new();
    let mut table = Vec::new();
    let check_tools =
        |what: &str, nodes: &[(String, Vec<netc_targets::Artifact>)]| -> Vec<String> {
            let mut f = Vec::new();
            for (node, arts) in nodes {
                let get = |name: &str| {
                    arts.iter()
                        .find(|a| a.file_name() == name)
                        .map(|a| a.contents.clone())
                        .unwrap_or_default()
                };
                let nft = write_temp(&tmp, "nftables.nft", &get("nftables.nft"));
                let o = ns.exec("nft", &["-c", "-f", nft.to_str().unwrap_or_default()]);
                if !o.status.success() {
                    f.push(format!(
                        "{what} {node}: nft -c rejected nftables.nft: {}",
                        text(&o)
                    ));
                }
                for (tool, file) in [
                    ("iptables-restore", "iptables.rules"),
                    ("ip6tables-restore", "ip6tables.rules"),
                ] {
                    let o = ns.exec_stdin(tool, &["--test", "--noflush"], &get(file));
                    if !o.status.success() {
                        f.push(format!(
                            "{what} {node}: {tool} --test rejected {file}: {}",
                            text(&o)
                        ));
                    }
                }
                let bird = write_temp(&tmp, "bird.conf", &get("bird.conf"));
                let o = run("bird", &["-p", "-c", bird.to_str().unwrap_or_default()]);
                if !o.status.success() {
                    f.push(format!(
                        "{what} {node}: bird -p -c rejected bird.conf: {}",
                        text(&o)
                    ));
                }
            }
            f
        };
    match run_case(&render("", "")) {
        Outcome::Built(nodes) => failures.extend(check_tools("defaults", &nodes)),
        Outcome::Rejected(e) => failures.push(format!("defaults rejected: {e}")),
        Outcome::BuildFailed(e) => failures.push(format!("defaults failed to build: {e}")),
    }
    for (key, good, bad) in cases() {
        for (value, want_valid) in good
            .iter()
            .map(|v| (*v, true))
            .chain(bad.iter().map(|v| (*v, false)))
        {
            let what = format!("{key}={value}");
            match run_case(&render(key, value)) {
                Outcome::Rejected(e) => {
                    table.push(format!("{what:40} rejected: {e}"));
                    if want_valid {
                        failures.push(format!("{what}: expected valid, rejected: {e}"));
                    }
                }
                Outcome::BuildFailed(e) => {
                    failures.push(format!("{what}: validated, but build failed: {e}"))
                }
                Outcome::Built(nodes) => {
                    table.push(format!("{what:40} accepted"));
                    if !want_valid {
                        failures.push(format!("{what}: expected rejected, but validated"));
                    }
                    failures.extend(check_tools(&what, &nodes));
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
    eprintln!("{}", table.join("\n"));
    assert!(
        failures.is_empty(),
        "{} bound cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
