//! Scale benchmark: `cargo bench --bench scale` (add `-- --quick` for a smaller run).
//!
//! Generates a realistic repository in a temp dir and measures, in this one
//! process:
//! * validate: 1,000 nodes, 2,000 BGP peers, 5,000 policies;
//! * build: 1,000 nodes, 10,000 policy rules, 50 external peers,
//!   whole cluster and per node, with the nft rules and set elements emitted
//!   against the number of policy rules.
//!
//! Baseline, same process, same files: parsing the YAML with serde_yaml into
//! untyped values — the least any YAML tool must do. Ratios are netc's time
//! over the baseline. Peak memory is VmHWM from /proc/self/status (so it is
//! the peak of the whole process up to that point).
//!
//! `cargo test --all-targets` also runs this binary (without `--bench`); it
//! then exits at once.

use std::fmt::Write as _;

/// The allocator the `netc` binary uses (src/main.rs), so the figures are
/// what users get; the baseline parse runs on it too.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::path::{Path, PathBuf};
use std::time::Instant;

mod common;
use common::{baseline_parse, count_nft_rules, load_validate};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if !args.iter().any(|a| a == "--bench") {
        return;
    }
    let quick = args.iter().any(|a| a == "--quick");
    let scale = if quick { 10 } else { 1 };
    // NETC_BENCH_KEEP=1 keeps the generated repositories (to rerun netc on them).
    let keep = std::env::var_os("NETC_BENCH_KEEP").is_some();
    let dir = std::env::temp_dir().join(format!("netc-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);

    println!(
        "# netc scale benchmark{}",
        if quick { " (--quick: 1/10 size)" } else { "" }
    );
    let b = gen_repo(&dir.join("build"), 1000 / scale, 0, 4000 / scale, 4, 50);
    // The binary first, while this process is still small: a child's peak
    // RSS as wait4 reports it includes the memory of the process it was
    // spawned from (exec folds the pre-exec image's high-water mark in).
    bench_fleet_build(&b);
    let v = gen_repo(
        &dir.join("validate"),
        1000 / scale,
        2000 / scale,
        5000 / scale,
        1,
        0,
    );
    bench_validate(&v);
    bench_build(&b);
    if keep {
        println!("\nkept {}", dir.display());
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|k| k.parse::<f64>().ok())
            })
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

fn bench_validate(g: &Generated) {
    let base = baseline_parse(&g.files);
    let (_, t, _) = load_validate(&g.files);
    println!(
        "\n## validate: {} nodes, {} peers, {} policies ({} rules), {:.1} MiB of YAML",
        g.nodes,
        g.peers,
        g.policies,
        g.rules,
        g.bytes as f64 / 1048576.0
    );
    println!("netc load+validate: {:.3} s", t);
    println!("baseline serde_yaml parse: {:.3} s", base);
    println!("ratio netc / baseline: {:.2}x", t / base);
    println!("peak RSS of this process so far: {:.0} MiB", peak_rss_mib());
}

fn bench_build(g: &Generated) {
    let base = baseline_parse(&g.files);
    let (model, tv, _) = load_validate(&g.files);
    let t = Instant::now();
    let compiled =
        netc::compile(&model, None, None, &netc_targets::SecretMap::default()).expect("compile");
    let tb = t.elapsed().as_secs_f64();
    let n = compiled.nodes.len();
    let (mut nft_rules, mut set_elems, mut bytes) = (0usize, 0usize, 0usize);
    for node in &compiled.nodes {
        let fw = &node.ir.firewall;
        set_elems += fw.sets.iter().map(|s| s.elements.len()).sum::<usize>();
        for a in &node.artifacts {
            bytes += a.contents.len();
            if a.file_name() == "nftables.nft" {
                nft_rules += count_nft_rules(&a.contents);
            }
        }
    }
    println!(
        "\n## build: {} nodes, {} policies with {} rules, {} external peers",
        g.nodes, g.policies, g.rules, g.external_peers
    );
    println!(
        "load+validate: {:.3} s (baseline serde_yaml parse {:.3} s, ratio {:.2}x)",
        tv,
        base,
        tv / base
    );
    println!(
        "lower+emit all nodes: {:.3} s, {:.2} ms per node",
        tb,
        tb * 1000.0 / n as f64
    );
    println!("artifacts: {:.1} MiB", bytes as f64 / 1048576.0);
    println!(
        "nft rules emitted per node (mean): {:.0}, for {} policy rules in the cluster",
        nft_rules as f64 / n as f64,
        g.rules
    );
    println!(
        "set elements per node (mean): {:.0}",
        set_elems as f64 / n as f64
    );
    println!("peak RSS: {:.0} MiB", peak_rss_mib());
}

/// `netc build` as users run it: the binary, streaming each node's files to
/// disk. Baseline in the same run: the same command on one thread.
fn bench_fleet_build(g: &Generated) {
    let dir = g.files[0].parent().expect("repo dir");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "\n## netc build -o OUT (the binary, streaming to disk), {} nodes",
        g.nodes
    );
    let mut one = (0.0, 0.0);
    for threads in [1, cores] {
        let out = dir.join(format!("out-{threads}"));
        let lock = dir.join(format!("netc-{threads}.lock"));
        let (o, elapsed, rss) = netc_test_support::measured(
            std::process::Command::new(env!("CARGO_BIN_EXE_netc"))
                .env("RAYON_NUM_THREADS", threads.to_string())
                .arg("build")
                .arg("-o")
                .arg(&out)
                .arg("--lockfile")
                .arg(&lock)
                .arg(dir.join("00-cluster.yaml"))
                .arg(dir.join("10-nodes.yaml"))
                .arg(dir.join("20-peers.yaml"))
                .arg(dir.join("30-policy.yaml")),
        );
        assert!(
            o.status.success(),
            "netc build failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let secs = elapsed.as_secs_f64();
        let _ = std::fs::remove_dir_all(&out);
        if threads == 1 {
            one = (secs, rss);
        }
        println!(
            "{threads} thread{}: {secs:.3} s, peak RSS {rss:.0} MiB{}",
            if threads == 1 { "" } else { "s" },
            if threads == 1 {
                String::new()
            } else {
                format!(
                    " (time {:.2}x, memory {:.2}x of one thread)",
                    secs / one.0,
                    rss / one.1
                )
            }
        );
    }
}

struct Generated {
    files: Vec<PathBuf>,
    nodes: usize,
    peers: usize,
    policies: usize,
    rules: usize,
    external_peers: usize,
    bytes: usize,
}

/// A repository shaped like a real one: nodes in racks of 40 on /24 underlays,
/// route reflectors per rack, workloads with app labels, network sets, and
/// policies selecting apps with 1–`rules_per` rules each.
fn gen_repo(
    dir: &Path,
    nodes: usize,
    peers: usize,
    policies: usize,
    rules_per: usize,
    external: usize,
) -> Generated {
    std::fs::create_dir_all(dir).expect("mkdir");
    let mut files = Vec::new();
    let mut bytes = 0;
    let mut write = |name: &str, s: String| {
        bytes += s.len();
        let p = dir.join(name);
        std::fs::write(&p, s).expect("write");
        files.push(p);
    };
    let mut s = String::new();
    s.push_str("apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: pods\nspec:\n  cidr: 10.128.0.0/12\n  vxlanMode: CrossSubnet\n  natOutgoing: true\n---\napiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata:\n  name: default\nspec:\n  nodeToNodeMeshEnabled: false\n  asNumber: 64512\n");
    write("00-cluster.yaml", s);
    let mut s = String::new();
    for i in 0..nodes {
        let rack = i / 40;
        let host = i % 40 + 10;
        let rr = if i % 40 == 0 {
            format!("\n    routeReflectorClusterID: 224.0.{}.1", rack % 256)
        } else {
            String::new()
        };
        let _ = write!(s, "---\napiVersion: projectcalico.org/v3\nkind: Node\nmetadata:\n  name: node-{i:04}\n  labels:\n    rack: r{rack}\n    rr: \"{}\"\n  annotations:\n    netc.dev/underlay-interface: eth0\nspec:\n  bgp:\n    ipv4Address: 172.{}.{}.{host}/24{rr}\n", i % 40 == 0, 16 + rack / 256, rack % 256);
        let _ = write!(s, "---\napiVersion: projectcalico.org/v3\nkind: WorkloadEndpoint\nmetadata:\n  name: node--{i:04}-k8s-app{}-eth0\n  namespace: ns{}\n  labels:\n    app: app{}\nspec:\n  node: node-{i:04}\n  interfaceName: cali{i:011}\n  ipNetworks: [10.{}.{}.{}/32]\n", i % 50, i % 10, i % 50, 128 + (i / 1024) % 16, (i / 4) % 256, (i % 4) * 64 + 1);
    }
    write("10-nodes.yaml", s);
    let mut s = String::new();
    // Clients peer with their rack's reflector; the rest of `peers` are per-node peers to ToRs.
    let _ = write!(s, "apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata:\n  name: to-rr\nspec:\n  nodeSelector: rr == \"false\"\n  peerSelector: rr == \"true\"\n");
    for p in 0..peers {
        let i = p % nodes;
        let rack = i / 40;
        let _ = write!(s, "---\napiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata:\n  name: tor-{p:05}\nspec:\n  node: node-{i:04}\n  peerIP: 172.{}.{}.{}\n  asNumber: {}\n", 16 + rack / 256, rack % 256, 1 + p / nodes, 65000 + rack);
    }
    for e in 0..external {
        let _ = write!(s, "---\napiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata:\n  name: ext-{e:03}\nspec:\n  peerIP: 192.0.2.{}\n  asNumber: {}\n", e + 1, 65100 + e);
    }
    write("20-peers.yaml", s);
    let mut s = String::new();
    for n in 0..50 {
        let _ = write!(s, "---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\nmetadata:\n  name: set-{n}\n  labels:\n    feed: f{}\nspec:\n  nets: [198.18.{n}.0/24, 198.19.{n}.0/26]\n", n % 10);
    }
    let mut rules = 0;
    for p in 0..policies {
        let k = 1 + p % rules_per;
        let _ = write!(s, "---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata:\n  name: pol-{p:05}\nspec:\n  order: {}\n  selector: app == \"app{}\"\n  ingress:\n", p % 1000, p % 50);
        for r in 0..k {
            rules += 1;
            let _ = write!(s, "  - action: Allow\n    protocol: TCP\n    source:\n      selector: feed == \"f{}\"\n    destination:\n      ports: [{}]\n", (p + r) % 10, 1000 + (p * 7 + r) % 60000);
        }
    }
    write("30-policy.yaml", s);
    Generated {
        files,
        nodes,
        peers: peers + 1 + external,
        policies,
        rules,
        external_peers: external,
        bytes,
    }
}
