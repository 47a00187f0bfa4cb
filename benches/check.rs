//! `netc check` benchmark: `cargo bench --bench check`.
//!
//! A generated node with one workload and 10,000 policy rules applying to
//! it (100 GlobalNetworkPolicies of 100 rules, each rule a TCP allow from
//! its own /24 to its own port). The packet asked about matches none of
//! them, so the evaluator walks all 10,000 rules before the end-of-tier
//! drop: the worst case. Measured in this one process (median of 7 runs):
//!
//! * `netc check` end to end: the release binary, started as a user would
//!   (load + validate the YAML, lower the one node, evaluate, print);
//! * the same in-process: load + validate, lower the node, evaluate;
//! * the evaluation alone, on the compiled IR.
//!
//! Baseline, same process, same files: parsing the YAML with serde_yaml into
//! untyped values, the least any YAML tool must do. Ratios are over it.
//!
//! `cargo test --all-targets` also runs this binary (without `--bench`); it
//! then exits at once.

use netc_compiler::lower::Cluster;
use netc_compiler::{alloc, load, validate, SourceMap};
use netc_ir::eval::{self, Outcome, Packet};
use netc_ir::Protocol;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

const POLICIES: usize = 100;
const RULES_PER_POLICY: usize = 100;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if !args.iter().any(|a| a == "--bench") {
        return;
    }
    let dir = std::env::temp_dir().join(format!("netc-bench-check-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let files = generate(&dir);
    let rules = POLICIES * RULES_PER_POLICY;
    println!(
        "# netc check benchmark: one node, {rules} policy rules on its workload, release build"
    );

    let baseline = median(|| {
        for f in &files {
            let text = std::fs::read_to_string(f).expect("read");
            for doc in serde_yaml::Deserializer::from_str(&text) {
                let v: serde_yaml::Value = serde::Deserialize::deserialize(doc).expect("yaml");
                std::hint::black_box(v);
            }
        }
    });

    let packet = Packet {
        src: "192.0.2.77".parse().expect("ip"),
        dst: "10.65.0.2".parse().expect("ip"),
        protocol: Protocol::Tcp,
        src_port: 40000,
        dst_port: 9,
        icmp_type: 0,
        icmp_code: 0,
    };
    let mut ir = None;
    let mut model_keep = None;
    let in_process = median(|| {
        let mut sources = SourceMap::new();
        let (raws, _) = load::load_files(&files, &mut sources);
        let (model, _) = validate::validate(raws);
        let model = model.expect("valid");
        let lock = alloc::allocate(&model, None).expect("alloc");
        let node = Cluster::new(&model, &lock).lower_node("n1").expect("lower");
        let topo = netc::check::topology(&model, &node);
        let route = eval::route(&topo, &packet);
        let ev = eval::evaluate(&node.firewall, &packet, &route);
        assert_eq!(ev.outcome, Outcome::Drop);
        ir = Some(node);
        model_keep = Some(model);
    });
    let ir = ir.expect("ir");
    let fw_rules: usize = ir.firewall.policies.iter().map(|p| p.rules.len()).sum();
    let model = model_keep.expect("model");
    let topo = netc::check::topology(&model, &ir);
    let route = eval::route(&topo, &packet);
    let eval_only = median(|| {
        for _ in 0..100 {
            std::hint::black_box(eval::evaluate(&ir.firewall, &packet, &route));
        }
    }) / 100.0;

    let bin = env!("CARGO_BIN_EXE_netc");
    let dir_s = dir.to_str().expect("utf-8");
    let end_to_end = median(|| {
        let o = std::process::Command::new(bin)
            .args([
                "check",
                dir_s,
                "--node",
                "n1",
                "--from",
                "192.0.2.77",
                "--to",
                "10.65.0.2:9/tcp",
            ])
            .env_remove("NETC_CONFIG")
            .output()
            .expect("run netc");
        assert_eq!(
            o.status.code(),
            Some(3),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
    });

    let bytes: u64 = files
        .iter()
        .map(|f| std::fs::metadata(f).map(|m| m.len()).unwrap_or(0))
        .sum();
    println!(
        "input: {} files, {:.2} MiB of YAML; the node's IR: {fw_rules} firewall rules",
        files.len(),
        bytes as f64 / 1048576.0
    );
    println!(
        "netc check, end to end (process): {:.1} ms",
        end_to_end * 1e3
    );
    println!(
        "load+validate+lower node+evaluate, in process: {:.1} ms",
        in_process * 1e3
    );
    println!(
        "evaluate alone (all {fw_rules} rules walked): {:.3} ms",
        eval_only * 1e3
    );
    println!("baseline serde_yaml parse: {:.1} ms", baseline * 1e3);
    println!(
        "ratio end to end / baseline: {:.2}x; in process / baseline: {:.2}x",
        end_to_end / baseline,
        in_process / baseline
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Median wall time of 7 runs, in seconds.
fn median(mut f: impl FnMut()) -> f64 {
    let mut v: Vec<f64> = (0..7)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .collect();
    v.sort_by(f64::total_cmp);
    v[3]
}

fn generate(dir: &Path) -> Vec<PathBuf> {
    std::fs::create_dir_all(dir).expect("mkdir");
    let base = "apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: pods}
spec: {cidr: 10.65.0.0/16}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: n1}
spec: {bgp: {ipv4Address: 192.0.2.1/24}}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: n2}
spec: {bgp: {ipv4Address: 192.0.2.2/24}}
---
apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata:
  name: n1-k8s-app-eth0
  namespace: bench
  labels: {app: bench}
spec: {node: n1, interfaceName: caliapp0, ipNetworks: [10.65.0.2/32]}
";
    let mut pol = String::new();
    for p in 0..POLICIES {
        let _ = write!(
            pol,
            "---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {{name: p{p:03}}}\nspec:\n  order: {p}\n  selector: app == \"bench\"\n  types: [Ingress]\n  ingress:\n"
        );
        for r in 0..RULES_PER_POLICY {
            let _ = writeln!(
                pol,
                "  - action: Allow\n    protocol: TCP\n    source: {{nets: [10.{}.{}.0/24]}}\n    destination: {{ports: [{}]}}",
                p + 100,
                r,
                1000 + r
            );
        }
    }
    let files = vec![dir.join("base.yaml"), dir.join("policies.yaml")];
    std::fs::write(&files[0], base).expect("write");
    std::fs::write(&files[1], pol).expect("write");
    files
}
