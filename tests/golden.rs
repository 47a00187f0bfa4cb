//! Golden cases: golden/<case>/input/*.yaml → golden/<case>/expected/<node>/*.
//!
//! For every case the test compiles the input (with the case's netc.lock as
//! the previous allocation, and input/*.secrets.yaml as secrets), compares
//! every file byte for byte, and then runs every artifact through the real
//! tool that will consume it: `nft -c -f`, `iptables-restore --test` (both in
//! a throwaway network namespace), `bird -p -c`, and — where the kernel has
//! the link types — `ip -batch` of tunnels.batch and routes.batch in a
//! namespace laid out like the node.
//!
//! `NETC_BLESS=1 cargo test --test golden` rewrites expected files (and the
//! lock); review the diff before committing.

mod common;

use common::*;
use netc_compiler::alloc::Lock;
use netc_compiler::{load, validate, SourceMap};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn cases() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(repo().join("golden"))
        .expect("golden/")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("input").is_dir())
        .collect();
    v.sort();
    v
}

struct CaseOutput {
    nodes: Vec<netc::NodeOutput>,
    lock: Lock,
}

fn compile_case(case: &Path) -> CaseOutput {
    let input = case.join("input");
    let files = load::collect_files(std::slice::from_ref(&input)).expect("input files");
    let mut sources = SourceMap::new();
    let (raws, mut diags) = load::load_files(&files, &mut sources);
    let (model, vd) = validate::validate(raws);
    diags.extend(vd.items);
    let r = netc_compiler::diag::Renderer::new(&sources);
    let errors: Vec<String> = diags
        .iter()
        .filter(|d| d.is_error())
        .map(|d| r.render(d))
        .collect();
    assert!(
        errors.is_empty(),
        "{}: input does not validate:\n{}",
        case.display(),
        errors.join("")
    );
    let model = model.expect("valid model");
    let lock_path = case.join("netc.lock");
    let previous = std::fs::read_to_string(&lock_path)
        .ok()
        .map(|t| Lock::parse(&t).expect("golden netc.lock parses"));
    let mut secrets = netc_targets::SecretMap::default();
    for e in std::fs::read_dir(&input).expect("input").flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if load::is_secrets_file(&name) {
            let s = netc::load_secrets(&e.path()).expect("secrets");
            secrets.0.extend(s.0);
        }
    }
    let compiled = netc::compile(&model, previous.as_ref(), None, &secrets)
        .unwrap_or_else(|e| panic!("{}: compile failed: {e}", case.display()));
    CaseOutput {
        nodes: compiled.nodes,
        lock: compiled.lock,
    }
}

fn compare(path: &Path, want: &str, failures: &mut Vec<String>) {
    if bless() {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, want).expect("write golden");
        return;
    }
    let have = std::fs::read_to_string(path).unwrap_or_default();
    if have != want {
        let diff = similar::TextDiff::from_lines(&have, want);
        failures.push(format!(
            "{} differs (NETC_BLESS=1 to accept):\n{}",
            path.display(),
            diff.unified_diff()
                .header("expected", "actual")
                .context_radius(3)
        ));
    }
}

#[test]
fn golden_cases_match() {
    let mut failures = Vec::new();
    let cases = cases();
    assert!(cases.len() >= 9, "golden cases are missing");
    for case in &cases {
        let out = compile_case(case);
        compare(&case.join("netc.lock"), &out.lock.to_text(), &mut failures);
        let mut seen = BTreeSet::new();
        for n in &out.nodes {
            for (name, contents, _) in n.files(true) {
                let p = case.join("expected").join(&n.name).join(&name);
                seen.insert(p.clone());
                compare(&p, &contents, &mut failures);
            }
        }
        // An expected file nothing produces any more is stale too.
        if let Ok(nodes) = std::fs::read_dir(case.join("expected")) {
            for d in nodes.flatten() {
                for f in std::fs::read_dir(d.path()).into_iter().flatten().flatten() {
                    if !seen.contains(&f.path()) {
                        if bless() {
                            let _ = std::fs::remove_file(f.path());
                        } else {
                            failures.push(format!("{} is no longer produced", f.path().display()));
                        }
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn golden_output_is_deterministic() {
    for case in cases() {
        let a = compile_case(&case);
        let b = compile_case(&case);
        for (x, y) in a.nodes.iter().zip(b.nodes.iter()) {
            assert_eq!(
                x.files(true),
                y.files(true),
                "{}: two compiles differ",
                case.display()
            );
        }
    }
}

/// Every emitted artifact must be accepted by the tool that consumes it.
#[test]
fn golden_artifacts_pass_real_checkers() {
    if !require_root("golden_artifacts_pass_real_checkers") {
        return;
    }
    for tool in ["nft", "iptables-restore", "bird", "ip"] {
        if !require_tool("golden_artifacts_pass_real_checkers", tool) {
            return;
        }
    }
    let tmp = std::env::temp_dir().join(format!("netc-golden-{}", std::process::id()));
    let has_ipip = kernel_has_link_type("ipip");
    let mut failures = Vec::new();
    for case in cases() {
        let out = compile_case(&case);
        let case_name = case
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        for n in &out.nodes {
            let get = |f: &str| {
                n.artifacts
                    .iter()
                    .find(|a| a.file_name() == f)
                    .map(|a| a.contents.clone())
                    .unwrap_or_default()
            };
            let what = format!("{case_name}/{}", n.name);
            let ns = Netns::new("chk");
            // nftables
            let nft = write_temp(&tmp, "nftables.nft", &get("nftables.nft"));
            let o = ns.exec("nft", &["-c", "-f", nft.to_str().unwrap_or_default()]);
            if !o.status.success() {
                failures.push(format!(
                    "{what}: nft -c -f rejected nftables.nft:\n{}",
                    text(&o)
                ));
            }
            // iptables
            let o = ns.exec_stdin(
                "iptables-restore",
                &["--test", "--noflush"],
                &get("iptables.rules"),
            );
            if !o.status.success() {
                failures.push(format!(
                    "{what}: iptables-restore --test rejected iptables.rules:\n{}",
                    text(&o)
                ));
            }
            let o = ns.exec_stdin(
                "ip6tables-restore",
                &["--test", "--noflush"],
                &get("ip6tables.rules"),
            );
            if !o.status.success() {
                failures.push(format!(
                    "{what}: ip6tables-restore --test rejected ip6tables.rules:\n{}",
                    text(&o)
                ));
            }
            // BIRD
            let bird = write_temp(&tmp, "bird.conf", &get("bird.conf"));
            let o = run("bird", &["-p", "-c", bird.to_str().unwrap_or_default()]);
            if !o.status.success() {
                failures.push(format!(
                    "{what}: bird -p -c rejected bird.conf:\n{}",
                    text(&o)
                ));
            }
            // tunnels + routes, applied for real in a namespace shaped like the node
            let needs_ipip = n.ir.tunnels.iter().any(|t| t.name == "tunl0");
            if needs_ipip && !has_ipip {
                eprintln!(
                    "{what}: kernel lacks ipip; tunnels.batch/routes.batch checked as text only"
                );
                continue;
            }
            if let Some(addr) = n.ir.address {
                ns.exec_ok(
                    "ip",
                    &[
                        "link",
                        "add",
                        "eth0",
                        "type",
                        "veth",
                        "peer",
                        "name",
                        "eth0-peer",
                    ],
                );
                ns.exec_ok("ip", &["addr", "add", &addr.to_string(), "dev", "eth0"]);
                if let Some(a6) = n.ir.address_v6 {
                    let a6 = a6.to_string();
                    ns.exec_ok("ip", &["addr", "add", &a6, "dev", "eth0", "nodad"]);
                }
                // The node's underlay MTU: the kernel refuses a VXLAN MTU
                // above its lower device's.
                let mtu = n.ir.underlay.mtu.to_string();
                ns.exec_ok("ip", &["link", "set", "eth0", "mtu", &mtu, "up"]);
                ns.exec_ok("ip", &["link", "set", "eth0-peer", "up"]);
            }
            for r in &n.ir.routes {
                if let netc_ir::RouteKind::Dev { dev } = &r.kind {
                    if ns.exec("ip", &["link", "show", dev]).status.success() {
                        continue;
                    }
                    ns.exec_ok(
                        "ip",
                        &[
                            "link",
                            "add",
                            dev,
                            "type",
                            "veth",
                            "peer",
                            "name",
                            &format!("p{}", &dev[..dev.len().min(12)]),
                        ],
                    );
                    ns.exec_ok("ip", &["link", "set", dev, "up"]);
                }
            }
            for f in ["tunnels.batch", "fdb.batch", "routes.batch"] {
                let p = write_temp(&tmp, f, &get(f));
                let tool = if f == "fdb.batch" { "bridge" } else { "ip" };
                let o = ns.exec(tool, &["-batch", p.to_str().unwrap_or_default()]);
                if !o.status.success() {
                    failures.push(format!("{what}: {tool} -batch {f} failed:\n{}", text(&o)));
                }
            }
            // Both families: `ip route show` alone lists IPv4 only.
            let installed = ns.exec_ok("ip", &["-4", "route", "show", "proto", "233"])
                + &ns.exec_ok("ip", &["-6", "route", "show", "proto", "233"]);
            let want = n.ir.routes.len();
            let have = installed.lines().count();
            if have != want {
                failures.push(format!(
                    "{what}: {want} routes in the IR but {have} installed:\n{installed}"
                ));
            }
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
