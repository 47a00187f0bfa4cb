//! Benchmark, not a timed test: netc plan / apply on a large node (10,000
//! policy rules, 1,000 routes, 999 VXLAN neighbours and FDB entries)
//! against the raw tools doing the same work on the same emitted files.
//!
//! ```text
//! sudo cargo test --release --test host_bench -- --ignored --nocapture
//! ```
//!
//! Prints a Markdown table (medians of 3 runs) for BENCHMARKS.md.

mod common;

use common::{text, Netns};
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const NODES: usize = 1000;
const RULES: usize = 10_000;
const RUNS: usize = 3;

fn node_ip(i: usize) -> String {
    format!("172.20.{}.{}", i / 250, i % 250 + 1)
}

fn gen_input(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let mut nodes = String::from("apiVersion: projectcalico.org/v3\nkind: NodeList\nitems:\n");
    for i in 0..NODES {
        let _ = write!(
            nodes,
            "- apiVersion: projectcalico.org/v3\n  kind: Node\n  metadata:\n    name: node-{i:04}\n    annotations:\n      netc.dev/underlay-interface: eth0\n  spec:\n    bgp:\n      ipv4Address: {}/16\n",
            node_ip(i)
        );
    }
    std::fs::write(dir.join("nodes.yaml"), nodes).unwrap();
    std::fs::write(
        dir.join("pool.yaml"),
        "apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: big\nspec:\n  cidr: 10.0.0.0/14\n  vxlanMode: Always\n  ipipMode: Never\n  blockSize: 26\n---\napiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata:\n  name: default\nspec:\n  nodeToNodeMeshEnabled: false\n  asNumber: 64512\n",
    )
    .unwrap();
    write_policy(dir, 0);
}

/// RULES rules in policies of 1,000 (Calico's limit is 1,024 per policy)
/// on node-0000's underlay; `shift` changes one rule.
fn write_policy(dir: &Path, shift: u16) {
    let mut p = String::from(
        "apiVersion: projectcalico.org/v3\nkind: HostEndpoint\nmetadata:\n  name: n0-eth0\n  labels:\n    hep: underlay\nspec:\n  node: node-0000\n  interfaceName: eth0\n",
    );
    for r in 0..RULES {
        if r % 1000 == 0 {
            let _ = write!(
                p,
                "---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata:\n  name: big-{}\nspec:\n  order: {}\n  selector: hep == 'underlay'\n  types: [Ingress]\n  ingress:\n",
                r / 1000,
                r / 1000
            );
        }
        let port = 10_000 + r as u32 + if r == RULES / 2 { shift as u32 } else { 0 };
        let _ = write!(
            p,
            "  - action: Allow\n    protocol: TCP\n    source:\n      nets: [10.{}.{}.0/24]\n    destination:\n      ports: [{port}]\n",
            100 + r / 250,
            r % 250
        );
    }
    std::fs::write(dir.join("policy.yaml"), p).unwrap();
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time(mut f: impl FnMut()) -> Duration {
    let t = Instant::now();
    f();
    t.elapsed()
}

fn must(o: std::process::Output, what: &str) -> std::process::Output {
    assert!(o.status.success(), "{what}: {}", text(&o));
    o
}

#[test]
#[ignore = "benchmark: run with --ignored --nocapture, as root"]
fn plan_and_apply_against_raw_tools() {
    if !common::require_root("host_bench") {
        return;
    }
    let dir = std::env::temp_dir().join(format!("netc-host-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let input = dir.join("input");
    gen_input(&input);
    let netc = |ns: &Netns, args: &[&str]| -> std::process::Output {
        let mut a: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        if matches!(args[0], "plan" | "apply") {
            a.extend([
                "--node".into(),
                "node-0000".into(),
                "--netns".into(),
                ns.name.clone(),
                "--bird-config".into(),
                dir.join(format!("{}.bird.conf", ns.name))
                    .display()
                    .to_string(),
                "--bird-socket".into(),
                dir.join("none.ctl").display().to_string(),
                input.display().to_string(),
            ]);
        }
        Command::new(env!("CARGO_BIN_EXE_netc"))
            .args(&a)
            .env("NETC_STATE_DIR", dir.join("state"))
            .env("NETC_RUN_DIR", dir.join("run"))
            .output()
            .unwrap()
    };
    let lab = |name: &str| {
        let ns = Netns::new(name);
        ns.exec_ok(
            "ip",
            &["link", "add", "eth0", "type", "veth", "peer", "name", "u0"],
        );
        ns.exec_ok(
            "ip",
            &["addr", "add", &format!("{}/16", node_ip(0)), "dev", "eth0"],
        );
        ns.exec_ok("ip", &["link", "set", "eth0", "up"]);
        ns.exec_ok("ip", &["link", "set", "u0", "up"]);
        ns
    };

    // Compile once (also writes netc.lock, so later runs do not allocate).
    let out = dir.join("out");
    let build_t = time(|| {
        let scratch = Netns::new("bench-build");
        must(
            netc(
                &scratch,
                &[
                    "build",
                    "-o",
                    out.to_str().unwrap(),
                    "--node",
                    "node-0000",
                    input.to_str().unwrap(),
                ],
            ),
            "build",
        );
    });
    let art = out.join("node-0000");
    let nft_file = art.join("nftables.nft");
    let nft_rules = std::fs::read_to_string(&nft_file)
        .unwrap()
        .lines()
        .filter(|l| l.contains("accept") || l.contains("drop"))
        .count();
    let routes = std::fs::read_to_string(art.join("routes.batch"))
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("route"))
        .count();

    let raw_apply = |ns: &Netns| {
        for (tool, f) in [
            ("ip", "tunnels.batch"),
            ("bridge", "fdb.batch"),
            ("ip", "routes.batch"),
        ] {
            // -force: a re-run goes on past "File exists" for the device.
            let _ = ns.exec(tool, &["-force", "-batch", art.join(f).to_str().unwrap()]);
        }
        ns.exec_ok("nft", &["-f", nft_file.to_str().unwrap()]);
    };
    let raw_read = |ns: &Netns| {
        ns.exec_ok("nft", &["-j", "list", "table", "inet", "netc"]);
        ns.exec_ok(
            "ip",
            &["-j", "route", "show", "proto", "233", "table", "all"],
        );
    };

    let mut rows: Vec<(String, Duration, Duration)> = Vec::new();
    let mut row = |name: &str, netc_t: Vec<Duration>, raw_t: Vec<Duration>| {
        eprintln!("{name}: netc {:?} raw {:?}", netc_t, raw_t);
        rows.push((name.to_string(), median(netc_t), median(raw_t)));
    };

    // 1. Apply on an empty namespace.
    let (mut n, mut r) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        let a = lab("bench-a");
        n.push(time(|| {
            must(
                netc(&a, &["apply", "--auto-approve", "--force"]),
                "netc apply",
            );
        }));
        let b = lab("bench-b");
        r.push(time(|| raw_apply(&b)));
    }
    row(
        "apply, empty host, first time (canonicalises the new nftables.nft)",
        vec![n[0]],
        vec![r[0]],
    );
    row(
        "apply, empty host, same artifact again (canonical form cached)",
        n[1..].to_vec(),
        r[1..].to_vec(),
    );

    // 2. Plan with no changes; 3. apply with no changes; 4. one rule changed.
    let a = lab("bench-a");
    must(
        netc(&a, &["apply", "--auto-approve", "--force"]),
        "netc apply",
    );
    let b = lab("bench-b");
    raw_apply(&b);
    let (mut n, mut r) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        n.push(time(|| {
            let o = must(netc(&a, &["plan", "--force"]), "plan");
            assert!(text(&o).contains("No changes."), "{}", text(&o));
        }));
        r.push(time(|| raw_read(&b)));
    }
    row("plan, no changes (raw: nft -j list + ip -j route)", n, r);
    let (mut n, mut r) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        n.push(time(|| {
            must(netc(&a, &["apply", "--auto-approve", "--force"]), "apply");
        }));
        r.push(time(|| raw_apply(&b)));
    }
    row("apply, no changes (raw: reload everything)", n, r);
    let (mut n, mut r) = (Vec::new(), Vec::new());
    for i in 0..RUNS {
        write_policy(&input, (i + 1) as u16);
        n.push(time(|| {
            must(netc(&a, &["apply", "--auto-approve", "--force"]), "apply");
        }));
        r.push(time(|| {
            b.exec_ok("nft", &["-f", nft_file.to_str().unwrap()]);
        }));
    }
    row(
        "apply, one policy rule changed (raw: nft -f whole table)",
        n,
        r,
    );

    let mut md = format!(
        "Node node-0000 of {NODES}: {nft_rules} nft rules, {routes} routes; medians of {RUNS} runs (first-time row: one run).\n\
         netc times are end to end (load + validate + compile {NODES} nodes + read + diff + apply + verify);\n\
         `netc build --node` alone takes {:.0} ms.\n\n\
         | operation | netc | raw tools | ratio |\n|---|---:|---:|---:|\n",
        build_t.as_secs_f64() * 1000.0
    );
    for (name, n, r) in &rows {
        let _ = writeln!(
            md,
            "| {name} | {:.0} ms | {:.0} ms | {:.2} |",
            n.as_secs_f64() * 1000.0,
            r.as_secs_f64() * 1000.0,
            n.as_secs_f64() / r.as_secs_f64().max(1e-9)
        );
    }
    println!("{md}");
    let _ = std::fs::remove_dir_all(&dir);
}
