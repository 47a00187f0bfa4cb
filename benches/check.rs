//! `netc check` benchmark: `cargo bench --bench check`.
//!
//! A generated node with one workload and 10,000 policy rules applying to
//! it (100 GlobalNetworkPolicies of 100 rules, each rule a TCP allow from
//! its own /24 to its own port). The packet asked about matches none of
//! them, so the evaluator walks all 10,000 rules before the end-of-tier
//! drop: the worst case. The node alone is compiled (load, validate, lower
//! n1) and its IR written as `netc build` does. Measured in this one
//! process, medians of 7 runs:
//!
//! * `netc check --ir ir.json`, the release binary end to end, and the same
//!   in process (read, parse and check the IR, evaluate); the evaluation
//!   alone; baseline: parsing ir.json with serde_json into untyped values;
//! * `netc check PATHS` end to end, which compiles the node from the YAML
//!   first; baseline: parsing the YAML with serde_yaml into untyped values.
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

    let packet = Packet {
        src: "192.0.2.77".parse().expect("ip"),
        dst: "10.65.0.2".parse().expect("ip"),
        protocol: Protocol::Tcp,
        src_port: 40000,
        dst_port: 9,
        icmp_type: 0,
        icmp_code: 0,
    };
    let bin = env!("CARGO_BIN_EXE_netc");
    // Returns the child's CPU time (user + system): on a shared machine the
    // wall time also counts waiting for a core.
    let run = |args: &[&str]| -> f64 {
        let before = children_cpu();
        let o = std::process::Command::new(bin)
            .args(args)
            .env_remove("NETC_CONFIG")
            .output()
            .expect("run netc");
        assert_eq!(
            o.status.code(),
            Some(3),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        children_cpu() - before
    };
    let question = ["--from", "192.0.2.77", "--to", "10.65.0.2:9/tcp"];

    // Compile only the node (what `netc build --node n1` does for the IR).
    let mut ir = None;
    let compile = median(|| {
        let mut sources = SourceMap::new();
        let (raws, _) = load::load_files(&files, &mut sources);
        let (model, _) = validate::validate(raws);
        let model = model.expect("valid");
        let lock = alloc::allocate(&model, None).expect("alloc");
        ir = Some(Cluster::new(&model, &lock).lower_node("n1").expect("lower"));
    });
    let ir = ir.expect("ir");
    let fw_rules: usize = ir.firewall.policies.iter().map(|p| p.rules.len()).sum();
    let ir_path = dir.join("ir.json");
    std::fs::write(&ir_path, serde_json::to_string_pretty(&ir).expect("json")).expect("write");
    let ir_s = ir_path.to_str().expect("utf-8");

    // The compiled IR: `netc check --ir`.
    let mut cpu = Vec::new();
    let ir_process = median(|| {
        let mut a = vec!["check", "--ir", ir_s];
        a.extend(question);
        cpu.push(run(&a));
    });
    let ir_process_cpu = middle(&mut cpu);
    let ir_in_process = median(|| {
        let text = std::fs::read_to_string(&ir_path).expect("read");
        let ir: netc_ir::HostIr = serde_json::from_str(&text).expect("ir");
        ir.firewall.check().expect("check");
        let topo = eval::Topology::from_ir(&ir);
        let route = eval::route(&topo, &packet);
        assert_eq!(
            eval::evaluate(&ir.firewall, &packet, &route).outcome,
            Outcome::Drop
        );
    });
    let json_baseline = median(|| {
        let text = std::fs::read_to_string(&ir_path).expect("read");
        let v: serde_json::Value = serde_json::from_str(&text).expect("json");
        std::hint::black_box(v);
    });
    let topo = eval::Topology::from_ir(&ir);
    let route = eval::route(&topo, &packet);
    let eval_only = median(|| {
        for _ in 0..100 {
            std::hint::black_box(eval::evaluate(&ir.firewall, &packet, &route));
        }
    }) / 100.0;

    // From the YAML: `netc check PATHS` (compiles the node first).
    let dir_s = dir.to_str().expect("utf-8");
    let mut cpu = Vec::new();
    let yaml_process = median(|| {
        let mut a = vec!["check", dir_s, "--node", "n1"];
        a.extend(question);
        cpu.push(run(&a));
    });
    let yaml_process_cpu = middle(&mut cpu);
    let yaml_baseline = median(|| {
        for f in &files {
            let text = std::fs::read_to_string(f).expect("read");
            for doc in serde_yaml::Deserializer::from_str(&text) {
                let v: serde_yaml::Value = serde::Deserialize::deserialize(doc).expect("yaml");
                std::hint::black_box(v);
            }
        }
    });

    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0) as f64 / 1048576.0;
    let yaml_mib: f64 = files.iter().map(|f| size(f)).sum();
    println!(
        "input: {:.2} MiB of YAML; the node's compiled IR: {fw_rules} firewall rules, ir.json {:.2} MiB",
        yaml_mib,
        size(&ir_path)
    );
    println!("\n## netc check --ir ir.json (the compiled IR)");
    println!(
        "end to end (process): {:.1} ms wall, {:.1} ms CPU",
        ir_process * 1e3,
        ir_process_cpu * 1e3
    );
    println!(
        "in process: read + parse + check the IR + evaluate: {:.1} ms",
        ir_in_process * 1e3
    );
    println!(
        "evaluate alone (all {fw_rules} rules walked): {:.3} ms",
        eval_only * 1e3
    );
    println!(
        "baseline serde_json parse of ir.json into values: {:.1} ms",
        json_baseline * 1e3
    );
    println!(
        "ratio end to end / baseline: {:.2}x; in process / baseline: {:.2}x",
        ir_process / json_baseline,
        ir_in_process / json_baseline
    );
    println!("\n## netc check PATHS (compiles the node from YAML first)");
    println!(
        "end to end (process): {:.1} ms wall, {:.1} ms CPU",
        yaml_process * 1e3,
        yaml_process_cpu * 1e3
    );
    println!(
        "in process: load + validate + lower the node: {:.1} ms",
        compile * 1e3
    );
    println!(
        "baseline serde_yaml parse of the YAML into values: {:.1} ms",
        yaml_baseline * 1e3
    );
    println!(
        "ratio end to end / baseline: {:.2}x",
        yaml_process / yaml_baseline
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// CPU time (user + system) of every waited-for child so far, in seconds.
fn children_cpu() -> f64 {
    // SAFETY: getrusage only writes the struct it is given.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: as above; RUSAGE_CHILDREN is a valid `who`.
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru) };
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    t(ru.ru_utime) + t(ru.ru_stime)
}

/// The median of a few samples.
fn middle(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
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
