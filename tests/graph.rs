//! `netc graph`: DOT, Mermaid and SVG of the BGP topology. The SVG (laid
//! out in-process by layout-rs) is parsed as XML and must name every node
//! and draw every session; large clusters collapse the mesh and big groups
//! but keep route reflectors. The 1,000-node timing is an ignored test that
//! prints (BENCHMARKS.md has the command and the numbers).

mod common;

use common::text;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn netc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_netc"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run netc")
}

fn repo(p: &str) -> String {
    common::repo().join(p).display().to_string()
}

/// Every `<text>` of the SVG, its `<tspan>` lines joined with a space.
fn svg_texts(svg: &str) -> Vec<String> {
    let doc = roxmltree::Document::parse(svg).expect("SVG is well-formed XML");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    doc.descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|t| {
            t.descendants()
                .filter(|n| n.is_text())
                .filter_map(|n| n.text())
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

fn svg_of(dir: &str, extra: &[&str]) -> String {
    let mut a = vec!["graph", "--format", "svg"];
    a.extend_from_slice(extra);
    let d = repo(dir);
    a.push(&d);
    let o = netc(&a);
    assert!(o.status.success(), "{}", text(&o));
    String::from_utf8(o.stdout).expect("utf-8")
}

/// The DOT edge lines' kinds, counted: the sessions the topology has.
fn dot_sessions(dir: &str) -> BTreeMap<String, usize> {
    let o = netc(&["graph", &repo(dir)]);
    assert!(o.status.success(), "{}", text(&o));
    let dot = String::from_utf8_lossy(&o.stdout).to_string();
    let mut m = BTreeMap::new();
    for l in dot.lines().filter(|l| l.contains(" -- ")) {
        let label = l
            .split("label=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .expect("edge label");
        *m.entry(label.to_string()).or_default() += 1;
    }
    m
}

#[test]
fn svg_names_every_node_and_draws_every_session() {
    for (dir, nodes) in [
        (
            "golden/route-reflector-pair/input",
            &["client-a", "client-b", "rr1", "rr2"][..],
        ),
        (
            "examples",
            &["rack1-node1", "rack1-node2", "rack2-node1", "rack2-node2"][..],
        ),
    ] {
        let svg = svg_of(dir, &[]);
        let texts = svg_texts(&svg);
        for n in nodes {
            assert!(
                texts.iter().any(|t| t.split(' ').next() == Some(*n)),
                "{dir}: {n} not in the SVG: {texts:?}"
            );
        }
        // Every session of the topology (as the DOT lists them) is an
        // edge labelled with its kind in the SVG.
        let want = dot_sessions(dir);
        assert!(!want.is_empty());
        for (kind, n) in &want {
            let got = texts.iter().filter(|t| *t == kind).count();
            assert_eq!(got, *n, "{dir}: {kind} edges in the SVG: {texts:?}");
        }
        let paths = roxmltree::Document::parse(&svg)
            .unwrap()
            .descendants()
            .filter(|n| n.has_tag_name("path"))
            .count();
        assert!(paths >= want.values().sum::<usize>(), "{dir}");
    }
    // The route reflectors and the external peers with their AS numbers.
    let texts = svg_texts(&svg_of("golden/route-reflector-pair/input", &[]));
    assert!(
        texts
            .iter()
            .any(|t| t.starts_with("rr1") && t.contains("RR cluster 244.0.0.1")),
        "{texts:?}"
    );
    assert_eq!(
        dot_sessions("golden/route-reflector-pair/input"),
        BTreeMap::from([("rr-client".to_string(), 4), ("rr-rr".to_string(), 1)])
    );
    let texts = svg_texts(&svg_of("examples", &[]));
    assert!(
        texts.iter().any(|t| t == "192.168.10.1 AS65001"),
        "{texts:?}"
    );
}

#[test]
fn dot_and_mermaid_group_by_subnet_or_label() {
    let o = netc(&["graph", &repo("examples")]);
    let dot = String::from_utf8_lossy(&o.stdout);
    assert!(dot.starts_with("graph netc {"), "{dot}");
    assert!(
        dot.contains("subgraph cluster_g_192_168_10_0_24 {"),
        "{dot}"
    );
    assert!(dot.contains("label=\"192.168.10.0/24 (2 nodes)\""), "{dot}");
    assert!(
        dot.contains("label=\"mesh\", color=gray, style=dashed"),
        "{dot}"
    );

    let o = netc(&[
        "graph",
        "--format",
        "mermaid",
        &repo("golden/route-reflector-pair/input"),
    ]);
    let m = String::from_utf8_lossy(&o.stdout);
    assert!(m.starts_with("flowchart LR\n"), "{m}");
    assert!(
        m.contains("n_rr1[[\"rr1<br/>10.0.0.10/24<br/>RR cluster 244.0.0.1\"]]"),
        "{m}"
    );
    assert!(m.contains("n_rr1 ---|rr-client| n_client_a"), "{m}");
    assert!(m.contains("linkStyle 0 stroke:"), "{m}");

    // By label; nodes without it are grouped together.
    let o = netc(&["graph", "--group-by", "rack", &repo("examples")]);
    let dot = String::from_utf8_lossy(&o.stdout);
    assert!(dot.contains("label=\"rack=rack1 (2 nodes)\""), "{dot}");
    let o = netc(&["graph", "--group-by", "zone", &repo("examples")]);
    let dot = String::from_utf8_lossy(&o.stdout);
    assert!(dot.contains("no zone label (4 nodes)"), "{dot}");
}

#[test]
fn policy_path_of_one_node() {
    let o = netc(&[
        "graph",
        "--node",
        "node-a",
        "--policy",
        &repo("golden/policies/input"),
    ]);
    let dot = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", text(&o));
    assert!(dot.contains("hook"), "{dot}");
    assert!(dot.contains("tier "), "{dot}");
    assert!(dot.contains("rules\""), "{dot}");
    let o = netc(&["graph", "--node", "node-a", &repo("examples")]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "--node needs --policy: {}",
        text(&o)
    );
}

/// Racks of 40 on their own /24, one route reflector per rack (its clients
/// are the rack), the reflectors meshed, one ToR peer per rack.
fn gen_cluster(dir: &Path, nodes: usize, mesh: bool) {
    let mut s = String::new();
    let racks = nodes.div_ceil(40);
    for i in 0..nodes {
        let rack = i / 40;
        let rr = i % 40 == 0 && !mesh;
        let _ = write!(
            s,
            "---\napiVersion: projectcalico.org/v3\nkind: Node\nmetadata:\n  name: node-{i:04}\n  labels:\n    rack: r{rack:02}\n{}spec:\n  bgp:\n    ipv4Address: 10.{}.{}.{}/24\n{}",
            if rr { "    route-reflector: \"true\"\n" } else { "" },
            100 + rack / 200,
            rack % 200,
            10 + i % 40,
            if rr { "    routeReflectorClusterID: 244.0.0.1\n" } else { "" },
        );
    }
    let _ = write!(
        s,
        "---\napiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: pool\nspec:\n  cidr: 10.0.0.0/12\n  blockSize: 26\n  ipipMode: Always\n  nodeSelector: all()\n---\napiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata:\n  name: default\nspec:\n  nodeToNodeMeshEnabled: {mesh}\n  asNumber: 64512\n"
    );
    if !mesh {
        let _ = write!(s, "---\napiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata:\n  name: rr-mesh\nspec:\n  nodeSelector: has(route-reflector)\n  peerSelector: has(route-reflector)\n");
        for r in 0..racks {
            let _ = write!(s, "---\napiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata:\n  name: rack-{r:02}\nspec:\n  nodeSelector: rack == 'r{r:02}' && !has(route-reflector)\n  peerSelector: rack == 'r{r:02}' && has(route-reflector)\n---\napiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata:\n  name: tor-{r:02}\nspec:\n  nodeSelector: rack == 'r{r:02}' && has(route-reflector)\n  peerIP: 10.{}.{}.1\n  asNumber: {}\n", 100 + r / 200, r % 200, 65000 + r);
        }
    }
    std::fs::write(dir.join("cluster.yaml"), s).expect("write cluster");
}

struct Dir(PathBuf);
impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tmp(name: &str) -> Dir {
    let d = std::env::temp_dir().join(format!("netc-graph-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("mkdir");
    Dir(d)
}

#[test]
fn large_clusters_collapse_but_keep_route_reflectors() {
    let d = tmp("collapse");
    gen_cluster(&d.0, 120, false);
    let p = d.0.display().to_string();
    let lock = d.0.join("netc.lock").display().to_string();
    let o = netc(&["graph", "--format", "svg", "--lockfile", &lock, &p]);
    assert!(o.status.success(), "{}", text(&o));
    let texts = svg_texts(&String::from_utf8_lossy(&o.stdout));
    for rr in ["node-0000", "node-0040", "node-0080"] {
        assert!(texts.iter().any(|t| t.starts_with(rr)), "{rr}: {texts:?}");
    }
    assert!(
        texts.iter().any(|t| t == "39 nodes: node-0001 … node-0039"),
        "{texts:?}"
    );
    assert!(texts.iter().any(|t| t == "39 × rr-client"), "{texts:?}");
    assert_eq!(
        texts.iter().filter(|t| *t == "rr-rr").count(),
        3,
        "{texts:?}"
    );

    // More reflectors than --collapse: their sessions among themselves
    // become a note, the reflectors and their clients stay.
    let o = netc(&["graph", "--collapse", "2", "--lockfile", &lock, &p]);
    let dot = String::from_utf8_lossy(&o.stdout);
    assert!(
        dot.contains("route reflectors fully meshed: 3 reflectors\\n(3 rr-rr sessions, not drawn)"),
        "{dot}"
    );
    assert!(!dot.contains("label=\"rr-rr\""), "{dot}");
    assert_eq!(dot.matches("[label=\"39 × rr-client\"").count(), 3, "{dot}");

    let m = tmp("mesh");
    gen_cluster(&m.0, 30, true);
    let p = m.0.display().to_string();
    let lock = m.0.join("netc.lock").display().to_string();
    let o = netc(&["graph", "--lockfile", &lock, &p]);
    let dot = String::from_utf8_lossy(&o.stdout);
    assert!(
        dot.contains("full mesh of 30 nodes\\n(435 sessions, not drawn)"),
        "{dot}"
    );
    assert!(!dot.contains("label=\"mesh\""), "{dot}");
}

/// `cargo test --release --test graph -- --ignored --nocapture graph_1000`
#[test]
#[ignore]
fn graph_1000_nodes_timing() {
    let d = tmp("1000");
    gen_cluster(&d.0, 1000, false);
    let p = d.0.display().to_string();
    let lock = d.0.join("netc.lock").display().to_string();
    for fmt in ["dot", "mermaid", "svg"] {
        let t = std::time::Instant::now();
        let o = netc(&["graph", "--format", fmt, "--lockfile", &lock, &p]);
        assert!(o.status.success(), "{}", text(&o));
        println!(
            "netc graph --format {fmt}, 1000 nodes (25 racks, 25 RRs, 25 ToR peers): {:.3} s, {} KiB",
            t.elapsed().as_secs_f64(),
            o.stdout.len() / 1024
        );
    }
}
