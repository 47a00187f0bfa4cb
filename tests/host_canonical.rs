//! A first apply on a target without netc's nft table skips the scratch
//! namespace: the desired table is taken from the artifact as written
//! (`NftState::from_artifact`), and verification checks the loaded table's
//! shape — the same sets and chains, as many elements and rules — before
//! keeping nft's listing as the artifact's canonical form. These tests hold
//! both halves to the real nft: the shape read from every golden node's
//! artifact equals the shape of nft's own listing of it, and an apply that
//! took the fast path leaves a table the next plan finds unchanged.
//!
//! Root only: skipped with a message otherwise, unless CI=true.

mod common;
mod host_util;

use common::text;
use host_util::*;
use netc_host::state::nft::NftState;
use std::path::PathBuf;

fn golden_artifacts() -> Vec<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("golden");
    let mut v = Vec::new();
    for case in std::fs::read_dir(&root).expect("golden/").flatten() {
        let Ok(nodes) = std::fs::read_dir(case.path().join("expected")) else {
            continue;
        };
        for n in nodes.flatten() {
            let f = n.path().join("nftables.nft");
            if f.is_file() {
                v.push(f);
            }
        }
    }
    v.sort();
    v
}

#[test]
fn artifact_shape_is_nfts_shape_for_every_golden_node() {
    if !common::require_root("artifact_shape_is_nfts_shape_for_every_golden_node") {
        return;
    }
    let state = std::env::temp_dir().join(format!("netc-canon-{}", std::process::id()));
    // This test binary's own state root: canonical_nft caches what it lists.
    std::env::set_var("NETC_STATE_DIR", &state);
    let files = golden_artifacts();
    assert!(files.len() >= 20, "golden artifacts: {files:?}");
    for (i, f) in files.iter().enumerate() {
        let text = std::fs::read_to_string(f).expect("artifact");
        let key = format!("nft-shape-test-{i}");
        let written = NftState::from_artifact(&text, &key);
        let listed = netc_host::desired::canonical_nft(&text, &key).expect("nft loads it");
        let shape = |s: &NftState| -> Vec<String> {
            let mut v: Vec<String> = s
                .sets
                .iter()
                .map(|x| format!("{} {}: {} elements", x.kind, x.name, x.elems.len()))
                .collect();
            v.extend(
                s.chains
                    .iter()
                    .map(|c| format!("chain {}: {} rules", c.name, c.rules.len())),
            );
            v
        };
        assert_eq!(
            shape(&written),
            shape(&listed),
            "{}: the artifact as written and nft's listing of it differ in shape",
            f.display()
        );
        assert!(written.same_shape(&listed), "{}", f.display());
        // And the shape check is not blind: one element or rule less differs.
        let mut fewer = written.clone();
        if let Some(s) = fewer.sets.iter_mut().find(|s| !s.elems.is_empty()) {
            s.elems.pop();
        } else if let Some(c) = fewer.chains.iter_mut().find(|c| !c.rules.is_empty()) {
            c.rules.pop();
        }
        let popped = !written.same_shape(&fewer);
        assert!(
            !popped || !fewer.same_shape(&listed),
            "{}: one less must differ",
            f.display()
        );
    }
    let _ = std::fs::remove_dir_all(&state);
}

#[test]
fn first_apply_without_a_table_needs_no_scratch_namespace_and_plans_exactly_after() {
    if !ready("first_apply_without_scratch") {
        return;
    }
    let lab = Lab::new("noscratch");
    let o = lab.apply_env(&[], &[("NETC_TIMINGS", "1")]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("Apply complete!"), "{out}");
    assert!(out.contains("netc: timing: verify"), "{out}");
    assert!(
        !out.contains("desired.scratch"),
        "a target without netc's table must not need a scratch namespace:\n{out}"
    );
    // The canonical form verification kept makes the next plan exact: no
    // changes, and no scratch namespace either.
    let o = lab.netc_env(
        &lab.with_target("plan", &["--detailed-exitcode"])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        &[("NETC_TIMINGS", "1")],
    );
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("No changes."), "{out}");
    assert!(!out.contains("desired.scratch"), "{out}");
    // Drift is still seen: a rule added by hand to netc's table.
    let chain = lab
        .ns
        .exec_ok("nft", &["list", "table", "inet", "netc"])
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("chain ")
                .map(|r| r.trim_end_matches(" {").to_string())
        })
        .expect("a chain");
    lab.ns.exec_ok(
        "nft",
        &[
            "add", "rule", "inet", "netc", &chain, "tcp", "dport", "9", "accept",
        ],
    );
    let o = lab.plan(&["--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(2), "drift must show: {}", text(&o));
    assert!(text(&o).contains("tcp dport 9 accept"), "{}", text(&o));
    lab.apply_ok(&[]);
    let o = lab.plan(&["--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}
