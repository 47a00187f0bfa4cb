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

use common::{text, Rng};
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
            s.elems.make_mut().pop();
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

/// A table loaded whole is verified from nft's terse listing (no set
/// elements) and the kernel's elements; its canonical form is that listing
/// with the artifact's elements written as nft lists them. For every
/// golden node that must be exactly nft's full listing — the same sets,
/// elements, chains and rules, and a text the next plan's comparison
/// takes as equal — and the kernel must hold the artifact's elements.
/// Tables of other owners in the `inet` family, one named like netc's
/// with a suffix, with sets, elements and rules of their own.
const FOREIGN_INET: &str = "table inet aaa {
\tset s { type ipv4_addr; flags interval; elements = { 10.9.0.0/16 } }
\tchain c { ip saddr @s accept; }
}
table inet netc2 {
\tset t { type inet_service; elements = { 22, 80 } }
\tchain input { type filter hook input priority 10; policy accept; tcp dport @t counter accept; }
}
";

#[test]
fn terse_listing_with_artifact_elements_is_nfts_listing_for_every_golden_node() {
    if !common::require_root("terse_listing_with_artifact_elements_is_nfts_listing") {
        return;
    }
    use netc_host::state::nft::{read_listing, same_text, without_elements, Listing};
    let files = golden_artifacts();
    assert!(files.len() >= 20, "golden artifacts: {files:?}");
    let mut kernel_checked = 0;
    for f in &files {
        let text = std::fs::read_to_string(f).expect("artifact");
        let ns = common::Netns::new("terse");
        // Foreign inet tables around netc's: the terse listings cut netc's
        // table out of nft's listing of the whole inet ruleset.
        let o = ns.exec_stdin("nft", &["-f", "-"], FOREIGN_INET);
        assert!(o.status.success(), "{}", common::text(&o));
        let o = ns.exec_stdin("nft", &["-f", "-"], &text);
        assert!(o.status.success(), "{}: {}", f.display(), common::text(&o));
        let exec = netc_host::exec::Exec::new(Some(ns.name.clone()));
        let full = read_listing(&exec, Listing::JsonAndText).expect("full listing");
        let terse = read_listing(&exec, Listing::Terse).expect("terse listing");
        assert!(
            terse.sets.iter().all(|s| s.elems.is_empty()),
            "{}",
            f.display()
        );
        // A plan compares nft's terse text with a known text less its
        // elements (`nft::resolve`): they must be the same text.
        assert!(
            same_text(&terse.text, &without_elements(&full.text)),
            "{}: the terse listing is not the full one without elements\n--- terse\n{}\n--- full\n{}",
            f.display(),
            terse.text,
            full.text
        );
        let written = NftState::from_artifact(&text, "k");
        let canonical = netc_host::state::nft_predict::with_artifact_elements(&terse, &written)
            .unwrap_or_else(|| panic!("{}: no canonical form from the terse listing", f.display()));
        assert_eq!(
            json(&canonical.sets),
            json(&full.sets),
            "{}: sets differ",
            f.display()
        );
        assert_eq!(
            json(&canonical.chains),
            json(&full.chains),
            "{}: chains differ",
            f.display()
        );
        assert_eq!(canonical.others, full.others, "{}", f.display());
        assert!(
            same_text(&canonical.text, &full.text),
            "{}: the text differs from nft's listing\n--- written\n{}\n--- listed\n{}",
            f.display(),
            canonical.text,
            full.text
        );
        for set in &canonical.sets {
            let elems = exec
                .kernel_set_elements(&set.name)
                .expect("reads the kernel")
                .expect("dump");
            if let Some(same) = netc_host::state::nft_kernel::same_elements(&elems, set) {
                assert!(same, "{} set {}: the kernel differs", f.display(), set.name);
                kernel_checked += 1;
            }
        }
    }
    // Every merged-rule set and verdict map netc emits is read this way.
    assert!(
        kernel_checked >= files.len(),
        "only {kernel_checked} sets compared"
    );
}

/// A table whose canonical form is cached (applied before, destroyed, now
/// applied again) is verified from nft's terse listing and the kernel's
/// elements — not by listing the whole table — and the next plan agrees.
#[test]
fn a_known_table_is_verified_from_the_kernel_and_plans_exactly_after() {
    if !ready("known_table_from_kernel") {
        return;
    }
    let lab = Lab::new("known");
    lab.apply_ok(&[]);
    let mut args = vec!["destroy".to_string(), "--auto-approve".to_string()];
    args.extend(lab.target_args());
    let o = lab.netc(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        !lab.ns.exec_ok("nft", &["list", "tables"]).contains("netc"),
        "destroy left the table"
    );
    let o = lab.apply_env(&[], &[("NETC_TIMINGS", "1")]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("timing: verify known table"), "{out}");
    assert!(
        !out.contains("timing: read nft (changed)"),
        "the kernel path must decide, not fall back to listing the table:\n{out}"
    );
    let plan = || {
        lab.netc(
            &lab.with_target("plan", &["--detailed-exitcode"])
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
        )
    };
    let o = plan();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // An element added by hand to one of netc's sets: the plan reads sets
    // from the kernel, and must see it (and take it out).
    let listing = lab.ns.exec_ok("nft", &["list", "table", "inet", "netc"]);
    let (set, ty) = listing
        .lines()
        .zip(listing.lines().skip(1))
        .find_map(|(a, b)| {
            let name = a.trim().strip_prefix("set ")?.trim_end_matches(" {");
            let ty = b.trim().strip_prefix("type ")?;
            (ty == "ipv4_addr").then(|| (name.to_string(), ty.to_string()))
        })
        .expect("an ipv4_addr set in netc's table");
    assert_eq!(ty, "ipv4_addr");
    lab.ns.exec_ok(
        "nft",
        &["add", "element", "inet", "netc", &set, "{ 203.0.113.99 }"],
    );
    let o = plan();
    let out = text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    assert!(out.contains(&set) && out.contains("203.0.113.99"), "{out}");
}

/// Parts of states compared as their JSON: every field, as the cache keeps them.
fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string_pretty(v).expect("serialises")
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

/// One random ingress rule: TCP or UDP, from a net drawn from a small pool
/// (overlapping prefixes, single addresses, IPv6), to a port or a range.
fn random_rule(r: &mut Rng) -> String {
    let nets = [
        "10.0.0.0/24",
        "10.0.0.128/25",
        "10.0.1.7/32",
        "10.0.2.0/23",
        "192.168.0.0/16",
        "192.168.4.0/24",
        "172.16.5.5",
        "2001:db8::/64",
        "2001:db8:0:0:8000::/65",
        "2001:db8:1::1",
    ];
    let proto = ["TCP", "UDP"][r.below(2) as usize];
    let net = nets[r.below(nets.len() as u64) as usize];
    let port = if r.below(3) == 0 {
        let lo = 1000 + r.below(50) * 10;
        format!("'{lo}:{}'", lo + 1 + r.below(20))
    } else {
        (1000 + r.below(500)).to_string()
    };
    format!(
        "  - action: Allow\n    protocol: {proto}\n    source:\n      nets: [{net}]\n    destination:\n      ports: [{port}]\n"
    )
}

fn policy_yaml(rules: &[String]) -> String {
    format!(
        "apiVersion: projectcalico.org/v3\nkind: Node\nmetadata:\n  name: n1\nspec:\n  bgp:\n    ipv4Address: 192.0.2.1/24\n---\n\
         apiVersion: projectcalico.org/v3\nkind: HostEndpoint\nmetadata:\n  name: n1-eth0\n  labels: {{role: fw}}\nspec:\n  node: n1\n  interfaceName: eth0\n---\n\
         apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata:\n  name: p\nspec:\n  selector: role == 'fw'\n  types: [Ingress]\n  ingress:\n{}",
        rules.concat()
    )
}

fn artifact(dir: &std::path::Path, rules: &[String]) -> String {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).expect("mkdir");
    std::fs::write(dir.join("in.yaml"), policy_yaml(rules)).expect("write");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_netc"))
        .args(["build", "-o"])
        .arg(dir.join("out"))
        .arg(dir.join("in.yaml"))
        .output()
        .expect("netc build");
    assert!(o.status.success(), "{}", text(&o));
    std::fs::read_to_string(dir.join("out/n1/nftables.nft")).expect("nftables.nft")
}

/// What a one-rule edit does to the merged sets, predicted without a
/// scratch namespace, against nft's own listing of the new artifact: equal
/// content, edit after edit (a changed port, a changed net, a rule added,
/// a rule removed), IPv4 and IPv6, overlapping nets split into ranges.
#[test]
fn predicted_tables_are_what_nft_lists() {
    if !common::require_root("predicted_tables_are_what_nft_lists") {
        return;
    }
    let dir = std::env::temp_dir().join(format!("netc-predict-{}", std::process::id()));
    std::env::set_var("NETC_STATE_DIR", dir.join("state"));
    for seed in [7, 11, 23] {
        predict_run(&dir, seed);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn predict_run(dir: &std::path::Path, seed: u64) {
    let mut r = Rng(seed);
    let mut rules: Vec<String> = (0..40).map(|_| random_rule(&mut r)).collect();
    let mut old = artifact(&dir.join("b"), &rules);
    let mut old_state =
        netc_host::desired::canonical_nft(&old, &format!("nft-p-{seed}-0")).expect("loads");
    let (mut predicted, mut edits) = (0, 0);
    for i in 1..=30 {
        let k = r.below(rules.len() as u64) as usize;
        match r.below(4) {
            0 => rules.push(random_rule(&mut r)),
            1 if rules.len() > 10 => {
                rules.remove(k);
            }
            _ => rules[k] = random_rule(&mut r),
        }
        let new = artifact(&dir.join("b"), &rules);
        let actual = netc_host::desired::canonical_nft(&new, &format!("nft-p-{seed}-{i}"))
            .expect("nft loads the new artifact");
        if new != old {
            edits += 1;
        }
        if let Some(p) = netc_host::state::nft_predict::predict(
            &old,
            &old_state,
            &new,
            &format!("nft-q-{seed}-{i}"),
        ) {
            predicted += 1;
            // The text nft lists too, so verification can read that alone.
            let listing = p
                .predicted_listing
                .as_deref()
                .unwrap_or_else(|| panic!("seed {seed} edit {i}: no text predicted"));
            assert!(
                netc_host::state::nft::same_text(&actual.text, listing),
                "seed {seed} edit {i}: the predicted text differs from nft's listing\n{}",
                similar::TextDiff::from_lines(&actual.text, listing)
                    .unified_diff()
                    .context_radius(1)
            );
            // Each object verification lists alone is found in both
            // listings and lists as predicted.
            assert!(
                new == old || !p.predicted_changed.is_empty(),
                "seed {seed} edit {i}"
            );
            for o in &p.predicted_changed {
                let (live, want) = (
                    netc_host::state::nft::object_block(&actual.text, o),
                    netc_host::state::nft::object_block(listing, o),
                );
                assert!(
                    live.is_some_and(
                        |l| want.is_some_and(|w| netc_host::state::nft::same_text(l, w))
                    ),
                    "seed {seed} edit {i}: {o} differs"
                );
            }
            assert!(
                p.same_content(&actual),
                "seed {seed} edit {i}: the prediction differs from nft's listing\npredicted sets: {:?}\nlisted sets: {:?}",
                p.sets.iter().map(|s| s.elems.iter().map(|e| e.key()).collect::<Vec<_>>()).collect::<Vec<_>>(),
                actual.sets.iter().map(|s| s.elems.iter().map(|e| e.key()).collect::<Vec<_>>()).collect::<Vec<_>>(),
            );
        } else if std::env::var_os("NETC_PREDICT_DEBUG").is_some() {
            let d = similar::TextDiff::from_lines(&old, &new);
            let lines: Vec<String> = d
                .unified_diff()
                .context_radius(0)
                .to_string()
                .lines()
                .filter(|l| {
                    !l.starts_with("\t\t\t")
                        && !l.starts_with("+\t\t\t")
                        && !l.starts_with("-\t\t\t")
                })
                .take(12)
                .map(str::to_string)
                .collect();
            eprintln!("edit {i} not predicted:\n{}", lines.join("\n"));
        }
        old = new;
        old_state = actual;
    }
    // Edits stay within the merged sets and their rules' comments (unless
    // a rule changes the shape of the merge); the test must exercise them.
    eprintln!("{predicted} of {edits} edits predicted");
    assert!(
        predicted * 10 >= edits * 8,
        "seed {seed}: only {predicted} of {edits} edits were predicted"
    );
}

/// Eight TCP rules on node-a's underlay: merged into one set, so a changed
/// port is a changed element.
fn merged_policy(ports: &[u16]) -> String {
    let mut p = String::from(
        "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata:\n  name: merged\nspec:\n  order: 5\n  selector: host-endpoint == 'underlay'\n  types: [Ingress]\n  ingress:\n",
    );
    for (i, port) in ports.iter().enumerate() {
        p.push_str(&format!(
            "  - action: Allow\n    protocol: TCP\n    source:\n      nets: [10.77.{i}.0/24]\n    destination:\n      ports: [{port}]\n"
        ));
    }
    p
}

/// A lab with [`merged_policy`] of ports 7000–7007 applied; the ports.
fn merged_lab(name: &str) -> (Lab, Vec<u16>) {
    let lab = Lab::new(name);
    let ports: Vec<u16> = (0..8).map(|i| 7000 + i).collect();
    lab.write_input("merged.yaml", &merged_policy(&ports));
    lab.apply_ok(&[]);
    (lab, ports)
}

/// Apply [`merged_policy`] of `ports`: it must succeed with the table
/// predicted (no scratch namespace). Returns the output, timings included.
fn apply_predicted(lab: &Lab, ports: &[u16], what: &str) -> String {
    lab.write_input("merged.yaml", &merged_policy(ports));
    let o = lab.apply_env(&[], &[("NETC_TIMINGS", "1")]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{what}: {out}");
    assert!(
        !out.contains("desired.scratch"),
        "{what}: not predicted:\n{out}"
    );
    out
}

/// An element edit after a first apply: predicted (no scratch namespace),
/// the live table taken from the last apply's listing (no second reading),
/// written as an element delta, verified exactly; the next plan is empty.
#[test]
fn an_element_edit_is_predicted_applied_as_a_delta_and_verified() {
    if !ready("element_edit_predicted") {
        return;
    }
    let (lab, mut ports) = merged_lab("predict");
    lab.take_writes();
    for round in 0..3 {
        ports[round * 3] += 100;
        let out = apply_predicted(&lab, &ports, &format!("round {round}"));
        assert!(
            !out.contains("read nft (changed)"),
            "round {round}: listed twice:\n{out}"
        );
        assert!(out.contains("1 changed, 0 destroyed"), "{out}");
        // Verified from the changed set alone: no listing of the table
        // after the write.
        let after = out.split("timing: execute").nth(1).unwrap_or("");
        assert!(
            after.contains("verify changed objects") && !after.contains("read nft"),
            "round {round}: verification listed the table:\n{out}"
        );
        // One nft write, a few lines long: the element delta, not the table.
        let writes = lab.take_writes();
        let nft: Vec<&String> = writes.iter().filter(|w| w.contains("nft -f")).collect();
        assert_eq!(nft.len(), 1, "{writes:?}");
        let lines: usize = nft[0]
            .rsplit_once("<<< (")
            .and_then(|(_, n)| n.split(' ').next()?.parse().ok())
            .unwrap_or(usize::MAX);
        assert!(
            lines <= 4,
            "round {round}: an element delta, not a reload: {writes:?}"
        );
        let listing = lab.ns.exec_ok("nft", &["list", "table", "inet", "netc"]);
        assert!(
            listing.contains(&format!("10.77.{}.0/24 . {}", round * 3, ports[round * 3])),
            "{listing}"
        );
        let o = lab.plan(&["--detailed-exitcode"]);
        assert_eq!(o.status.code(), Some(0), "round {round}: {}", text(&o));
    }
}

/// The table netc applied last stays in the cache however many other
/// tables plans canonicalise after it (a drift check of every commit):
/// the next edit is still predicted from it.
#[test]
fn the_applied_table_outlives_plans_of_other_inputs() {
    if !ready("applied_outlives_plans") {
        return;
    }
    let (lab, mut ports) = merged_lab("keepapplied");
    // Ten plans of inputs never applied: each caches a compile (two
    // files) and a canonical table, more than the cache keeps.
    for i in 0..10 {
        let mut other = ports.clone();
        other[7] = 9000 + i;
        other[0] = 8000 + i;
        other.push(6000 + i);
        lab.write_input("merged.yaml", &merged_policy(&other));
        let o = lab.plan(&[]);
        assert!(o.status.success(), "{}", text(&o));
    }
    ports[2] += 100;
    apply_predicted(&lab, &ports, "after the plans");
    let o = lab.plan(&["--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}
