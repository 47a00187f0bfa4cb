//! Kubernetes-input benchmark: `cargo bench --bench k8s` (add `-- --quick`
//! for a 1/10 run).
//!
//! Generates, in a temp dir, what `kubectl get namespaces,pods,nodes,
//! networkpolicies -A -o yaml` prints for a cluster of 1,000 pods in 100
//! namespaces on 50 nodes with 500 NetworkPolicies (server metadata,
//! managedFields and status included), next to a Calico IPPool and
//! BGPConfiguration, and measures in this one process:
//! * load+validate (which includes the conversion to Calico kinds) against
//!   the baseline: parsing the same files with serde_yaml into untyped
//!   values, the least any YAML tool must do;
//! * lower+emit of every node, and per node the ruleset size: nft rules
//!   emitted and address-set elements (mean and max).
//!
//! `-- --keep` leaves the generated files in the temp dir (for running
//! `netc validate` on them or profiling).
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
    let dir = std::env::temp_dir().join(format!("netc-bench-k8s-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    println!(
        "# netc Kubernetes-input benchmark{}",
        if quick { " (--quick: 1/10 size)" } else { "" }
    );
    let g = generate(&dir, 1000 / scale, 100 / scale, 500 / scale, 50 / scale);
    run(&g);
    // `-- --keep`: leave the generated input for `netc validate` / profiling.
    if args.iter().any(|a| a == "--keep") {
        println!("\ninput kept in {}", dir.display());
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }
}

struct Generated {
    files: Vec<PathBuf>,
    pods: usize,
    namespaces: usize,
    policies: usize,
    nodes: usize,
    bytes: usize,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn run(g: &Generated) {
    // Three rounds each, median: the machine is shared.
    let base = median((0..3).map(|_| baseline_parse(&g.files)).collect());
    let mut model = None;
    let mut times = Vec::new();
    let mut warnings = Vec::new();
    for _ in 0..3 {
        let (m, t, w) = load_validate(&g.files);
        times.push(t);
        warnings = w;
        model = Some(m);
    }
    let model = model.expect("validated");
    let tv = median(times);
    println!(
        "\n## validate: {} pods, {} namespaces, {} NetworkPolicies, {} nodes, {:.1} MiB of YAML",
        g.pods,
        g.namespaces,
        g.policies,
        g.nodes,
        g.bytes as f64 / 1048576.0
    );
    println!(
        "workload endpoints: {}, Calico policies: {}, diagnostics: {:?}",
        model.workload_endpoints.len(),
        model.network_policies.len(),
        warnings
    );
    println!("netc load+validate (median of 3): {tv:.3} s");
    println!("baseline serde_yaml parse (median of 3): {base:.3} s");
    println!("ratio netc / baseline: {:.2}x", tv / base);

    let t = Instant::now();
    let compiled =
        netc::compile(&model, None, None, &netc_targets::SecretMap::default()).expect("compile");
    let tb = t.elapsed().as_secs_f64();
    let n = compiled.nodes.len();
    let mut rules = Vec::new();
    let mut elems = Vec::new();
    let mut ipt = Vec::new();
    for node in &compiled.nodes {
        let fw = &node.ir.firewall;
        elems.push(fw.sets.iter().map(|s| s.elements.len()).sum::<usize>());
        for a in &node.artifacts {
            match a.file_name() {
                "nftables.nft" => rules.push(count_nft_rules(&a.contents)),
                "iptables.rules" => {
                    ipt.push(a.contents.lines().filter(|l| l.starts_with("-A ")).count())
                }
                _ => {}
            }
        }
    }
    let mean = |v: &[usize]| v.iter().sum::<usize>() as f64 / v.len().max(1) as f64;
    let max = |v: &[usize]| v.iter().copied().max().unwrap_or(0);
    println!("\n## build: {n} nodes");
    println!(
        "lower+emit all nodes: {tb:.3} s, {:.2} ms per node",
        tb * 1000.0 / n as f64
    );
    println!(
        "nft rules per node: mean {:.0}, max {}",
        mean(&rules),
        max(&rules)
    );
    println!(
        "iptables rules (-A lines, IPv4) per node: mean {:.0}, max {}",
        mean(&ipt),
        max(&ipt)
    );
    println!(
        "set elements per node: mean {:.0}, max {}",
        mean(&elems),
        max(&elems)
    );
}

/// Statements inside chains: lines that are not structure.
/// The export, shaped like a real one: namespaces labelled by team and
/// environment, ten pods per namespace spread over the nodes (apps with a
/// named `http` port whose number differs per app), and five policies per
/// namespace: default deny, same-namespace allow, app-to-app on the named
/// port, from another team's namespaces, and DNS egress to kube-system.
fn generate(
    dir: &Path,
    pods: usize,
    namespaces: usize,
    policies: usize,
    nodes: usize,
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
    write("00-calico.yaml", "apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: pods\nspec:\n  cidr: 10.128.0.0/12\n  blockSize: 24\n  vxlanMode: Always\n  natOutgoing: true\n---\napiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata:\n  name: default\nspec:\n  nodeToNodeMeshEnabled: true\n  asNumber: 64512\n".to_string());
    let mf = |manager: &str| {
        format!("    managedFields:\n    - apiVersion: v1\n      fieldsType: FieldsV1\n      fieldsV1:\n        f:metadata:\n          f:labels:\n            .: {{}}\n      manager: {manager}\n      operation: Update\n      time: \"2025-03-02T09:20:00Z\"\n")
    };
    let mut s =
        String::from("apiVersion: v1\nkind: List\nmetadata:\n  resourceVersion: \"\"\nitems:\n");
    let _ = write!(s, "- apiVersion: v1\n  kind: Namespace\n  metadata:\n    labels:\n      kubernetes.io/metadata.name: kube-system\n{}    name: kube-system\n    uid: 00000000-0000-4000-8000-000000000000\n  spec:\n    finalizers: [kubernetes]\n  status:\n    phase: Active\n", mf("kube-apiserver"));
    for n in 0..namespaces {
        let _ = write!(s, "- apiVersion: v1\n  kind: Namespace\n  metadata:\n    creationTimestamp: \"2025-03-02T09:15:00Z\"\n    labels:\n      kubernetes.io/metadata.name: ns-{n:03}\n      team: team-{}\n      env: {}\n{}    name: ns-{n:03}\n    resourceVersion: \"{}\"\n    uid: 5e{n:06x}-0000-4000-8000-000000000000\n  spec:\n    finalizers: [kubernetes]\n  status:\n    phase: Active\n", n % 10, if n % 3 == 0 { "prod" } else { "dev" }, mf("kubectl-create"), 800 + n);
    }
    for i in 0..nodes {
        let _ = write!(s, "- apiVersion: v1\n  kind: Node\n  metadata:\n    annotations:\n      node.alpha.kubernetes.io/ttl: \"0\"\n      projectcalico.org/IPv4Address: 172.20.{}.{}/16\n      projectcalico.org/IPv4VXLANTunnelAddr: 10.{}.{}.0\n      projectcalico.org/VXLANTunnelMACAddr: 66:7a:11:00:{:02x}:{:02x}\n    labels:\n      kubernetes.io/hostname: node-{i:03}\n      kubernetes.io/os: linux\n{}    name: node-{i:03}\n    uid: 6e{i:06x}-0000-4000-8000-000000000000\n  spec:\n    podCIDR: 10.96.{i}.0/24\n  status:\n    addresses:\n    - address: 172.20.{}.{}\n      type: InternalIP\n    conditions:\n    - status: \"True\"\n      type: Ready\n", i / 200, 10 + i % 200, 128 + i / 256, i % 256, i / 256, i % 256, mf("kubelet"), i / 200, 10 + i % 200);
    }
    // kube-dns on node 0, address .2 of node 0's block.
    let _ = write!(
        s,
        "{}",
        pod_doc(
            "kube-system",
            "coredns-0",
            "node-000",
            "10.128.0.2",
            "k8s-app: kube-dns",
            53,
            "dns",
            "UDP",
            &mf("kubelet")
        )
    );
    for p in 0..pods {
        let ns = p % namespaces;
        let node = p % nodes;
        let k = p / nodes + 3; // host part inside the node's /24 block
        let ip = format!("10.{}.{}.{}", 128 + node / 256, node % 256, k);
        let app = p % 5;
        let _ = write!(
            s,
            "{}",
            pod_doc(
                &format!("ns-{ns:03}"),
                &format!("app{app}-{p:05}"),
                &format!("node-{node:03}"),
                &ip,
                &format!("app: app{app}"),
                8000 + app as u16,
                "http",
                "TCP",
                &mf("kube-controller-manager")
            )
        );
    }
    write("10-kubectl-export.yaml", s);
    let mut s =
        String::from("apiVersion: v1\nkind: List\nmetadata:\n  resourceVersion: \"\"\nitems:\n");
    for q in 0..policies {
        let ns = q % namespaces;
        let kind = (q / namespaces) % 5;
        let head = format!("- apiVersion: networking.k8s.io/v1\n  kind: NetworkPolicy\n  metadata:\n    annotations:\n      kubectl.kubernetes.io/last-applied-configuration: |\n        {{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"NetworkPolicy\"}}\n    generation: 1\n{}    name: np-{q:04}\n    namespace: ns-{ns:03}\n    uid: 7e{q:06x}-0000-4000-8000-000000000000\n  spec:\n", mf("kubectl-client-side-apply"));
        s.push_str(&head);
        match kind {
            0 => s.push_str("    podSelector: {}\n    policyTypes: [Ingress, Egress]\n"),
            1 => s.push_str("    podSelector: {}\n    ingress:\n    - from:\n      - podSelector: {}\n"),
            2 => {
                let _ = write!(s, "    podSelector:\n      matchLabels:\n        app: app{}\n    ingress:\n    - from:\n      - podSelector:\n          matchExpressions:\n          - key: app\n            operator: In\n            values: [app{}, app{}]\n      ports:\n      - port: http\n", q % 5, (q + 1) % 5, (q + 2) % 5);
            }
            3 => {
                let _ = write!(s, "    podSelector:\n      matchLabels:\n        app: app{}\n    ingress:\n    - from:\n      - namespaceSelector:\n          matchLabels:\n            team: team-{}\n        podSelector:\n          matchLabels:\n            app: app{}\n      - ipBlock:\n          cidr: 192.168.0.0/16\n          except: [192.168.1.0/24]\n      ports:\n      - port: {}\n        protocol: TCP\n        endPort: {}\n", q % 5, (q + 3) % 10, (q + 4) % 5, 8000, 8010);
            }
            _ => s.push_str("    podSelector: {}\n    policyTypes: [Egress]\n    egress:\n    - to:\n      - namespaceSelector:\n          matchLabels:\n            kubernetes.io/metadata.name: kube-system\n        podSelector:\n          matchLabels:\n            k8s-app: kube-dns\n      ports:\n      - port: 53\n        protocol: UDP\n      - port: 53\n        protocol: TCP\n"),
        }
    }
    write("20-networkpolicies.yaml", s);
    Generated {
        files,
        pods,
        namespaces,
        policies,
        nodes,
        bytes,
    }
}

#[allow(clippy::too_many_arguments)]
fn pod_doc(
    ns: &str,
    name: &str,
    node: &str,
    ip: &str,
    label: &str,
    port: u16,
    pname: &str,
    proto: &str,
    mf: &str,
) -> String {
    format!("- apiVersion: v1\n  kind: Pod\n  metadata:\n    annotations:\n      cni.projectcalico.org/podIP: {ip}/32\n    creationTimestamp: \"2025-03-02T09:30:00Z\"\n    labels:\n      {label}\n{mf}    name: {name}\n    namespace: {ns}\n    ownerReferences:\n    - apiVersion: apps/v1\n      kind: ReplicaSet\n      name: {name}-rs\n      uid: 8e000000-0000-4000-8000-000000000000\n    uid: 9e000000-0000-4000-8000-000000000000\n  spec:\n    containers:\n    - image: registry.example/app:1.0\n      name: main\n      ports:\n      - containerPort: {port}\n        name: {pname}\n        protocol: {proto}\n      resources: {{}}\n    nodeName: {node}\n    serviceAccountName: default\n  status:\n    conditions:\n    - status: \"True\"\n      type: Ready\n    phase: Running\n    podIP: {ip}\n    podIPs:\n    - ip: {ip}\n")
}
