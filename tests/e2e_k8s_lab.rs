//! End to end: Kubernetes NetworkPolicies, from Kubernetes YAML
//! (`lab/k8s/cluster/`: Namespaces, Nodes, a List of Pods, a Calico IPPool)
//! to real traffic between pods in network namespaces (`lab/k8s/up.sh`:
//! two nodes, nine pods in three namespaces, veths named as Calico names
//! them, TCP and UDP servers in every pod).
//!
//! 1. **No policy**: every pod reaches every other on every service. The
//!    lab assigns no proxy ARP: netc's workload interface settings are what
//!    make the pods' gateway 169.254.1.1 answer, and `sysctl` in each node
//!    shows Felix's values on every pod's host-side interface. `netc plan`
//!    of each node then finds nothing to do.
//! 2. **Scenarios** (`lab/k8s/scenarios/*.yaml`, 24 of them): for each, netc
//!    applies the NetworkPolicies on both nodes and every (source pod, destination pod, service) is probed — 9 × 8 ×
//!    (TCP 80, 5432, 8080, 9090, UDP 53, 5353) = 432 probes — and compared
//!    with the truth table in the scenario file, written by hand from the
//!    Kubernetes semantics. In the same round every pod's servers are probed
//!    from inside the pod and must answer. Then the policies are removed and every cell that
//!    was blocked must connect (a broken route must not pass as a deny).
//!    All of it with `--firewall nftables`, then again with `--firewall
//!    iptables`.
//! 3. **Teardown**: `lab/k8s/down.sh` leaves no namespace behind (also run by
//!    a guard when the test fails).
//!
//! Skips without root unless CI=true. The report (every scenario's observed
//! matrix) goes to `$CARGO_TARGET_TMPDIR/e2e_k8s_lab_report.txt`.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Instant;

/// Namespace prefix and state directory (distinct from a hand-run lab).
const LAB: &str = "k8se2e";
const STATE: &str = "/tmp/k8se2e";
/// Probe timeout in seconds: a dropped packet costs this much, in parallel.
const TIMEOUT: &str = "0.6";

/// The services every pod serves, with the letter truth tables use.
const SERVICES: [(char, &str, u16); 6] = [
    ('8', "tcp", 80),
    ('p', "tcp", 5432),
    ('h', "tcp", 8080),
    ('n', "tcp", 9090),
    ('d', "udp", 53),
    ('m', "udp", 5353),
];

#[derive(Clone, Debug)]
struct Pod {
    name: String,
    node: String,
    ip: String,
    iface: String,
    netns: String,
}

fn repo() -> PathBuf {
    common::repo()
}

fn script(name: &str, args: &[&str]) -> Output {
    Command::new(repo().join("lab/k8s").join(name))
        .args(args)
        .env("NETC_LAB", LAB)
        .env("NETC_LAB_STATE", STATE)
        .env("NETC", env!("CARGO_BIN_EXE_netc"))
        .stdin(Stdio::null())
        .output()
        .expect("run lab script")
}

fn script_ok(name: &str, args: &[&str]) {
    let o = script(name, args);
    assert!(
        o.status.success(),
        "lab/k8s/{name} {args:?} failed:\n{}",
        common::text(&o)
    );
}

/// Runs lab/k8s/down.sh when dropped, so a failed test leaves nothing.
struct Teardown;
impl Drop for Teardown {
    fn drop(&mut self) {
        let _ = script("down.sh", &[]);
    }
}

/// The pods, from the topology up.sh wrote (read from the Kubernetes YAML).
fn pods() -> Vec<Pod> {
    let topo = std::fs::read_to_string(Path::new(STATE).join("topology")).expect("topology");
    topo.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() == 6 && f[0] == "pod").then(|| Pod {
                name: f[2].to_string(),
                node: f[3].to_string(),
                ip: f[4].to_string(),
                iface: f[5].to_string(),
                netns: format!("{LAB}-{}-{}", f[1], f[2]),
            })
        })
        .collect()
}

/// A scenario's truth table: (source, destination) → the service letters
/// that connect. Every ordered pair of distinct pods must have a cell.
fn expected(file: &Path, pods: &[Pod]) -> BTreeMap<(String, String), BTreeSet<char>> {
    let text = std::fs::read_to_string(file).expect("scenario");
    let rows: Vec<Vec<&str>> = text
        .lines()
        .filter_map(|l| l.strip_prefix("#|"))
        .map(|l| l.split_whitespace().collect())
        .collect();
    let (header, body) = rows.split_first().expect("a table");
    let all: BTreeSet<char> = SERVICES.iter().map(|s| s.0).collect();
    let mut m = BTreeMap::new();
    for row in body {
        let (src, cells) = row.split_first().expect("row name");
        assert_eq!(cells.len(), header.len(), "{}: row {src}", file.display());
        for (dst, cell) in header.iter().zip(cells) {
            if src == dst {
                assert_eq!(*cell, "x", "{}: {src}→{dst}", file.display());
                continue;
            }
            let set: BTreeSet<char> = match *cell {
                "*" => all.clone(),
                "-" => BTreeSet::new(),
                c => c.chars().collect(),
            };
            assert!(set.is_subset(&all), "{}: bad cell {cell}", file.display());
            m.insert((src.to_string(), dst.to_string()), set);
        }
    }
    let names: BTreeSet<&str> = pods.iter().map(|p| p.name.as_str()).collect();
    for a in &names {
        for b in &names {
            if a != b {
                assert!(
                    m.contains_key(&(a.to_string(), b.to_string())),
                    "{}: no cell {a}→{b}",
                    file.display()
                );
            }
        }
    }
    m
}

type Cell = (String, String, char);

/// Probe every (source, destination, service) in `cells`, all at once from
/// one `lab/probe.py check` whose threads enter each source pod's
/// namespace. Every UDP probe gets a source port never used before in the
/// run (`sport`), so no conntrack entry left by an earlier scenario can
/// answer for it.
fn probe(pods: &[Pod], cells: &[Cell], sport: &mut u16) -> BTreeMap<Cell, String> {
    let by_name: BTreeMap<&str, &Pod> = pods.iter().map(|p| (p.name.as_str(), p)).collect();
    let mut input = Vec::new();
    for c in cells {
        let (_, proto, port) = SERVICES.iter().find(|s| s.0 == c.2).expect("service");
        let dst = if c.1 == "lo" {
            "127.0.0.1".to_string()
        } else {
            by_name[c.1.as_str()].ip.clone()
        };
        let mut p = serde_json::json!({
            "netns": by_name[c.0.as_str()].netns,
            "dst": dst,
            "proto": proto,
            "port": port,
        });
        if *proto == "udp" {
            *sport = if *sport >= 60000 { 20000 } else { *sport + 1 };
            p["sport"] = (*sport).into();
        }
        input.push(p);
    }
    let o = common::run_stdin(
        "python3",
        &[
            &repo().join("lab/probe.py").display().to_string(),
            "check",
            "--timeout",
            TIMEOUT,
        ],
        &serde_json::to_string(&input).expect("JSON"),
    );
    assert!(o.status.success(), "probe failed: {}", common::text(&o));
    let results: Vec<String> = serde_json::from_slice(&o.stdout).expect("probe JSON");
    assert_eq!(results.len(), cells.len());
    cells.iter().cloned().zip(results).collect()
}

/// [`probe`] `cells`, and in the same round every pod's own servers from
/// inside the pod (loopback: no policy is involved), which must all answer:
/// a closed cell then cannot be a dead server.
fn probe_with_servers(pods: &[Pod], cells: &[Cell], sport: &mut u16) -> BTreeMap<Cell, String> {
    let mut all: Vec<Cell> = pods
        .iter()
        .flat_map(|p| SERVICES.iter().map(|s| (p.name.clone(), "lo".into(), s.0)))
        .collect();
    all.extend(cells.iter().cloned());
    let mut got = probe(pods, &all, sport);
    let down: Vec<_> = got
        .iter()
        .filter(|(c, r)| c.1 == "lo" && *r != "open")
        .collect();
    assert!(down.is_empty(), "servers not up: {down:?}");
    got.retain(|c, _| c.1 != "lo");
    got
}

fn all_cells(pods: &[Pod]) -> Vec<Cell> {
    let mut v = Vec::new();
    for s in pods {
        for d in pods {
            if s.name != d.name {
                for svc in SERVICES {
                    v.push((s.name.clone(), d.name.clone(), svc.0));
                }
            }
        }
    }
    v
}

/// The observed matrix in the scenario files' notation.
fn render(pods: &[Pod], got: &BTreeMap<Cell, String>) -> String {
    let mut s = format!(
        "{:7}{}\n",
        "",
        pods.iter()
            .map(|p| format!("{:<7}", p.name))
            .collect::<String>()
    );
    for a in pods {
        s.push_str(&format!("{:<7}", a.name));
        for b in pods {
            let cell = if a.name == b.name {
                "x".to_string()
            } else {
                let open: String = SERVICES
                    .iter()
                    .filter(|svc| {
                        got.get(&(a.name.clone(), b.name.clone(), svc.0))
                            .is_some_and(|r| r == "open")
                    })
                    .map(|svc| svc.0)
                    .collect();
                match open.len() {
                    0 => "-".into(),
                    6 => "*".into(),
                    _ => open,
                }
            };
            s.push_str(&format!("{cell:<7}"));
        }
        s.push('\n');
    }
    s
}

/// Felix's host-side settings (docs/calico.md §4.4) on every pod's veth.
fn check_interface_settings(pods: &[Pod]) {
    for p in pods {
        let ns = format!("{LAB}-{}", p.node);
        for (key, want) in [
            ("net/ipv4/conf/IF/proxy_arp", "1"),
            ("net/ipv4/neigh/IF/proxy_delay", "0"),
            ("net/ipv4/conf/IF/forwarding", "1"),
            ("net/ipv4/conf/IF/route_localnet", "1"),
            ("net/ipv6/conf/IF/accept_ra", "0"),
        ] {
            let k = key.replace("IF", &p.iface);
            let o = common::run("ip", &["netns", "exec", &ns, "sysctl", "-n", &k]);
            assert_eq!(common::text(&o).trim(), want, "{k} in {ns}");
        }
    }
}

#[test]
fn kubernetes_network_policies_in_a_namespace_lab() {
    if !common::require_root("e2e_k8s_lab") {
        return;
    }
    for t in [
        "ip",
        "bird",
        "birdc",
        "nft",
        "iptables-restore",
        "python3",
        "sysctl",
    ] {
        if !common::require_tool("e2e_k8s_lab", t) {
            return;
        }
    }
    let started = Instant::now();
    let _ = script("down.sh", &[]);
    let _guard = Teardown;
    script_ok("up.sh", &["nftables"]);
    let pods = pods();
    assert!(pods.len() >= 9, "{pods:?}");
    let nodes: BTreeSet<&str> = pods.iter().map(|p| p.node.as_str()).collect();
    assert!(nodes.len() >= 2);
    let mut sport: u16 = 20000;
    let mut report = String::new();
    let mut failures: Vec<String> = Vec::new();

    // 1. No policy: everything connects, thanks to netc's settings too.
    check_interface_settings(&pods);
    let cells = all_cells(&pods);
    let base = probe_with_servers(&pods, &cells, &mut sport);
    let closed: Vec<_> = base.iter().filter(|(_, r)| *r != "open").collect();
    assert!(closed.is_empty(), "without policy: {closed:?}");
    report.push_str(&format!("no policy: all {} probes open\n\n", cells.len()));

    // 2. Every scenario, under each firewall backend.
    let dir = repo().join("lab/k8s/scenarios");
    let mut scenarios: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("scenarios")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    scenarios.sort();
    assert!(scenarios.len() >= 20, "{scenarios:?}");
    let mut probes = 0usize;
    let mut controls = 0usize;
    for fw in ["nftables", "iptables"] {
        script_ok("apply.sh", &["none", fw]);
        for file in &scenarios {
            let name = file.file_stem().unwrap().to_string_lossy().to_string();
            let want = expected(file, &pods);
            let t = Instant::now();
            script_ok("apply.sh", &[&name, fw]);
            let got = probe_with_servers(&pods, &cells, &mut sport);
            probes += got.len();
            let mut wrong = Vec::new();
            let mut blocked = Vec::new();
            for c in &cells {
                let should = want[&(c.0.clone(), c.1.clone())].contains(&c.2);
                let r = &got[c];
                if should != (r == "open") {
                    wrong.push(format!("{}→{} {}: {r}", c.0, c.1, c.2));
                }
                if r != "open" {
                    blocked.push(c.clone());
                }
            }
            // Positive control: without the policies, the blocked cells connect.
            script_ok("apply.sh", &["none", fw]);
            let again = probe_with_servers(&pods, &blocked, &mut sport);
            controls += again.len();
            let dead: Vec<String> = again
                .iter()
                .filter(|(_, r)| *r != "open")
                .map(|(c, r)| format!("{}→{} {}: {r}", c.0, c.1, c.2))
                .collect();
            report.push_str(&format!(
                "{name} ({fw}): {} blocked, {} wrong, {} failed controls, {:.1}s\n{}\n",
                blocked.len(),
                wrong.len(),
                dead.len(),
                t.elapsed().as_secs_f64(),
                render(&pods, &got)
            ));
            if !wrong.is_empty() {
                failures.push(format!("{name} ({fw}): {}", wrong.join(", ")));
            }
            if !dead.is_empty() {
                failures.push(format!(
                    "{name} ({fw}): blocked cells still closed without the policy: {}",
                    dead.join(", ")
                ));
            }
        }
    }
    report.push_str(&format!(
        "\n{} scenarios × 2 backends, {probes} probes, {controls} control probes, {:.0}s\n",
        scenarios.len(),
        started.elapsed().as_secs_f64()
    ));
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("e2e_k8s_lab_report.txt");
    let _ = std::fs::write(&out, &report);
    println!("{report}");
    assert!(
        failures.is_empty(),
        "cells differ from the truth tables (report: {}):\n{}",
        out.display(),
        failures.join("\n")
    );

    // 3. Teardown leaves nothing.
    script_ok("down.sh", &[]);
    let left = common::text(&common::run("ip", &["netns", "list"]));
    assert!(
        !left.lines().any(|l| l.starts_with(&format!("{LAB}-"))),
        "{left}"
    );
}
