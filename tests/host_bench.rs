//! Benchmark, not a timed test: netc plan / apply on a large node (10,000
//! policy rules, 1,000 routes, 999 VXLAN neighbours and FDB entries)
//! against the raw tools doing the same work on the same emitted files.
//!
//! ```text
//! sudo cargo test --release --test host_bench -- --ignored --nocapture
//! ```
//!
//! Prints a Markdown table (medians of 3 runs) for BENCHMARKS.md.
//! `NETC_BENCH_RULES=100000` for the large variant. The raw side checks
//! every exit status, and after the first apply and every one-rule change
//! both namespaces must hold the same table, routes, neighbours and FDB.

mod common;

use common::{measured, text, Netns};
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

fn gen_input(dir: &Path, rules: usize) {
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
    write_policy(dir, 0, rules);
}

/// RULES rules in policies of 1,000 (Calico's limit is 1,024 per policy)
/// on node-0000's underlay; `shift` changes one rule.
fn write_policy(dir: &Path, shift: u16, rules: usize) {
    let mut p = String::from(
        "apiVersion: projectcalico.org/v3\nkind: HostEndpoint\nmetadata:\n  name: n0-eth0\n  labels:\n    hep: underlay\nspec:\n  node: node-0000\n  interfaceName: eth0\n",
    );
    for r in 0..rules {
        if r % 1000 == 0 {
            let _ = write!(
                p,
                "---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata:\n  name: big-{}\nspec:\n  order: {}\n  selector: hep == 'underlay'\n  types: [Ingress]\n  ingress:\n",
                r / 1000,
                r / 1000
            );
        }
        // Distinct /24s and ports below 65536 at 100,000 rules too (the
        // same values as before for the first 38,750 rules).
        let port = 10_000 + (r % 50_000) as u32 + if r == rules / 2 { shift as u32 } else { 0 };
        let block = r / 250;
        let _ = write!(
            p,
            "  - action: Allow\n    protocol: TCP\n    source:\n      nets: [{}.{}.{}.0/24]\n    destination:\n      ports: [{port}]\n",
            10 + block / 156,
            100 + block % 156,
            r % 250
        );
    }
    std::fs::write(dir.join("policy.yaml"), p).unwrap();
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn median_f(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn must(o: std::process::Output, what: &str) -> std::process::Output {
    assert!(o.status.success(), "{what}: {}", text(&o));
    o
}

/// What both sides must have produced: netc's table (handles and counter
/// values stripped), its routes, the VXLAN neighbours and FDB entries.
fn end_state(ns: &Netns) -> String {
    let nft = ns.exec_ok("nft", &["list", "table", "inet", "netc"]);
    let mut s = String::new();
    // Set elements compare as a set: the listing's order follows how the
    // elements were inserted (a whole-file load and a delta differ).
    let mut elems: Option<Vec<String>> = None;
    for l in nft.lines() {
        let l = l.split(" # handle").next().unwrap_or(l);
        if let Some(rest) = l.trim_start().strip_prefix("elements = {") {
            elems = Some(Vec::new());
            s.push_str("elements = {\n");
            let e = elems.as_mut().expect("just set");
            e.extend(
                rest.split(',')
                    .map(|x| x.trim().trim_end_matches('}').trim().to_string()),
            );
        } else if let Some(e) = elems.as_mut() {
            e.extend(
                l.split(',')
                    .map(|x| x.trim().trim_end_matches('}').trim().to_string()),
            );
        } else {
            s.push_str(l);
            s.push('\n');
        }
        if elems.is_some() && l.trim_end().ends_with('}') {
            let mut e = elems.take().expect("in elements");
            e.retain(|x| !x.is_empty());
            e.sort();
            s.push_str(&e.join("\n"));
            s.push_str("\n}\n");
        }
    }
    for (cmd, args) in [
        ("ip", &["route", "show", "proto", "233", "table", "all"][..]),
        ("ip", &["neigh", "show", "nud", "permanent"][..]),
        ("bridge", &["fdb", "show", "dev", "vxlan.calico"][..]),
    ] {
        let mut lines: Vec<String> = ns.exec_ok(cmd, args).lines().map(str::to_string).collect();
        lines.sort();
        s.push_str(&lines.join("\n"));
        s.push('\n');
    }
    s
}

/// Both sides reached the same state; else the first differing lines.
fn same_end_state(a: &Netns, b: &Netns) {
    let (x, y) = (end_state(a), end_state(b));
    if x != y {
        let d = similar::TextDiff::from_lines(&x, &y);
        let diff: String = d
            .unified_diff()
            .context_radius(1)
            .header("netc", "raw tools")
            .to_string()
            .lines()
            .take(40)
            .collect::<Vec<_>>()
            .join("\n");
        panic!("netc and the raw tools disagree:\n{diff}");
    }
}

#[test]
#[ignore = "benchmark: run with --ignored --nocapture, as root"]
fn plan_and_apply_against_raw_tools() {
    if !common::require_root("host_bench") {
        return;
    }
    let rules: usize = std::env::var("NETC_BENCH_RULES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(RULES);
    let dir = std::env::temp_dir().join(format!("netc-host-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let input = dir.join("input");
    gen_input(&input, rules);
    let state = |run: &str| dir.join("state").join(run);
    // `state_dir`: netc's cache and records; a fresh one is a host netc never saw.
    let netc_cmd = |ns: &Netns, args: &[&str], state_dir: &Path| -> Command {
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
        let mut c = Command::new(env!("CARGO_BIN_EXE_netc"));
        c.args(&a)
            .env("NETC_STATE_DIR", state_dir)
            .env("NETC_RUN_DIR", dir.join("run"));
        c
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

    // The node's artifacts as the raw side loads them (`netc build`, not
    // timed; also writes netc.lock, so later runs do not allocate).
    let out = dir.join("out");
    let scratch = Netns::new("bench-build");
    let build = || {
        let (o, t, _) = measured(&mut netc_cmd(
            &scratch,
            &[
                "build",
                "-o",
                out.to_str().unwrap(),
                "--node",
                "node-0000",
                input.to_str().unwrap(),
            ],
            &state("build"),
        ));
        must(o, "build");
        t
    };
    let build_t = build();
    let art = out.join("node-0000");
    let nft_file = art.join("nftables.nft");
    let nft_text = std::fs::read_to_string(&nft_file).unwrap();
    let nft_rules = nft_text
        .lines()
        .filter(|l| {
            l.contains("accept") || l.contains("drop") || l.contains("jump") || l.contains("goto")
        })
        .count();
    let routes = std::fs::read_to_string(art.join("routes.batch"))
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("route"))
        .count();

    // Raw tools, every exit status checked.
    let run_ok = |ns: &Netns, tool: &str, args: &[&str]| {
        let o = ns.exec(tool, args);
        assert!(o.status.success(), "raw {tool} {args:?}: {}", text(&o));
    };
    let raw_first_apply = |ns: &Netns| {
        for (tool, f) in [
            ("ip", "tunnels.batch"),
            ("bridge", "fdb.batch"),
            ("ip", "routes.batch"),
        ] {
            run_ok(ns, tool, &["-batch", art.join(f).to_str().unwrap()]);
        }
        run_ok(ns, "nft", &["-f", nft_file.to_str().unwrap()]);
    };
    let raw_read = |ns: &Netns| {
        run_ok(ns, "nft", &["-j", "list", "table", "inet", "netc"]);
        run_ok(
            ns,
            "ip",
            &["-j", "route", "show", "proto", "233", "table", "all"],
        );
    };
    let raw_reload = |ns: &Netns| {
        // Every write idempotent: `route replace`, the file's own `delete table`.
        run_ok(
            ns,
            "ip",
            &["-batch", art.join("routes.batch").to_str().unwrap()],
        );
        run_ok(ns, "nft", &["-f", nft_file.to_str().unwrap()]);
    };
    let netc_ok = |ns: &Netns, args: &[&str], st: &Path| -> (Duration, f64) {
        let (o, t, rss) = measured(&mut netc_cmd(ns, args, st));
        must(o, &format!("netc {args:?}"));
        (t, rss)
    };
    let apply = ["apply", "--auto-approve", "--force"];

    let mut rows: Vec<(String, Duration, Duration)> = Vec::new();
    let mut row = |name: &str, netc_t: Vec<Duration>, raw_t: Vec<Duration>| {
        eprintln!("{name}: netc {netc_t:?} raw {raw_t:?}");
        rows.push((name.to_string(), median(netc_t), median(raw_t)));
    };

    // 1. First apply on an empty host netc never saw (empty cache).
    let (mut n, mut r) = (Vec::new(), Vec::new());
    for i in 0..RUNS {
        let a = lab("bench-a");
        n.push(netc_ok(&a, &apply, &state(&format!("first-{i}"))).0);
        let b = lab("bench-b");
        r.push(super_time(|| raw_first_apply(&b)));
        same_end_state(&a, &b);
    }
    row(
        "apply, empty host, netc never saw it (raw: ip/bridge -batch + nft -f)",
        n,
        r,
    );
    // 2. The same again on empty hosts, with netc's cache warm.
    let warm = state("warm");
    netc_ok(&lab("bench-w"), &apply, &warm);
    let (mut n, mut r) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        let a = lab("bench-a");
        n.push(netc_ok(&a, &apply, &warm).0);
        let b = lab("bench-b");
        r.push(super_time(|| raw_first_apply(&b)));
    }
    row("apply, empty host, canonical form cached (raw: same)", n, r);

    // 3. Plan with no changes; 4. apply with no changes; 5. one rule changed.
    let a = lab("bench-a");
    netc_ok(&a, &apply, &warm);
    let b = lab("bench-b");
    raw_first_apply(&b);
    let (mut n, mut r) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        let (o, t, _) = measured(&mut netc_cmd(&a, &["plan", "--force"], &warm));
        let o = must(o, "plan");
        assert!(text(&o).contains("No changes."), "{}", text(&o));
        n.push(t);
        r.push(super_time(|| raw_read(&b)));
    }
    row(
        "plan, no changes (raw: nft -j list table + ip -j route)",
        n,
        r,
    );
    let (mut n, mut r) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        n.push(netc_ok(&a, &apply, &warm).0);
        r.push(super_time(|| raw_reload(&b)));
    }
    row("apply, no changes (raw: reload routes + whole table)", n, r);
    let (mut n, mut r, mut rss) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..RUNS {
        write_policy(&input, (i + 1) as u16, rules);
        build();
        let (t, m) = netc_ok(&a, &apply, &warm);
        n.push(t);
        rss.push(m);
        r.push(super_time(|| {
            run_ok(&b, "nft", &["-f", nft_file.to_str().unwrap()]);
        }));
        same_end_state(&a, &b);
    }
    row(
        "apply, one policy rule changed (raw: nft -f the new file)",
        n,
        r,
    );
    let mut list_rss = Vec::new();
    for _ in 0..RUNS {
        let (o, _, m) = measured(Command::new("ip").args([
            "netns", "exec", &b.name, "nft", "-j", "list", "table", "inet", "netc",
        ]));
        must(o, "nft -j list");
        list_rss.push(m);
    }
    let (rss, list_rss) = (median_f(rss), median_f(list_rss));

    let mut md = format!(
        "Node node-0000 of {NODES}: {rules} policy rules → {nft_rules} nft rules, {routes} routes; medians of {RUNS} runs, \
         each side's end state checked equal.\n\
         netc times are end to end (load + validate + compile + read + diff + apply + verify);\n\
         `netc build --node node-0000` alone takes {:.0} ms.\n\n\
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
    let _ = writeln!(
        md,
        "| peak RSS, one-rule apply (raw: nft -j list table) | {rss:.0} MiB | {list_rss:.0} MiB | {:.2} |",
        rss / list_rss.max(1e-9)
    );
    println!("{md}");
    let _ = std::fs::remove_dir_all(&dir);
}

fn super_time(f: impl FnOnce()) -> Duration {
    let t = Instant::now();
    f();
    t.elapsed()
}
