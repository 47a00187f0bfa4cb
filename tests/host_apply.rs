//! `netc plan` / `netc apply` against real kernels in network namespaces:
//! convergence, idempotence (no writes the second time), plans that show
//! exactly what an edit changes, ownership (foreign objects survive), both
//! firewall backends, the guard and the kernel feature check.
//!
//! Root only: skipped with a message otherwise, unless CI=true.

mod common;
mod host_util;

use common::text;
use host_util::*;

#[test]
fn apply_converges_then_plan_is_empty_and_reapply_writes_nothing() {
    if !ready("apply_converges") {
        return;
    }
    let lab = Lab::new("conv");
    let out = lab.apply_ok(&[]);
    assert!(out.contains("Apply complete!"), "{out}");
    let writes = lab.take_writes();
    assert!(!writes.is_empty(), "the first apply must write");

    // The tunnel, routes and the table exist.
    let link = lab
        .ns
        .exec_ok("ip", &["-d", "link", "show", "vxlan.calico"]);
    assert!(link.contains("vxlan id 4096"), "{link}");
    assert!(lab
        .ns
        .exec_ok("ip", &["route", "show", "proto", "233"])
        .contains("blackhole 10.250.0.0/26"));
    lab.ns.exec_ok("nft", &["list", "table", "inet", "netc"]);
    assert!(std::fs::read_to_string(lab.bird_conf())
        .unwrap()
        .contains("protocol bgp Mesh_192_168_10_12"));

    // plan: no changes, exit 0 with --detailed-exitcode.
    let o = lab.plan(&["--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("No changes."), "{}", text(&o));

    // apply again: "No changes." and zero writes.
    let out = lab.apply_ok(&[]);
    assert!(out.contains("No changes."), "{out}");
    assert_eq!(lab.take_writes(), Vec::<String>::new());
}

#[test]
fn plan_detailed_exitcode_and_json() {
    if !ready("plan_detailed_exitcode") {
        return;
    }
    let lab = Lab::new("plan");
    let before = lab.dump();
    let o = lab.plan(&["--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let t = text(&o);
    assert!(t.contains("+ tunnel vxlan.calico"), "{t}");
    assert!(t.contains("Plan: "), "{t}");
    assert!(!t.contains("\x1b["), "no colour when not on a terminal");
    let j = lab.plan_json(&[]);
    assert!(j["summary"]["add"].as_u64().unwrap() > 0);
    // Planning changes nothing.
    assert_same(&before, &lab.dump(), "after");
    assert!(lab.take_writes().is_empty());
}

#[test]
fn edits_show_exactly_their_changes_and_converge() {
    if !ready("edits") {
        return;
    }
    let lab = Lab::new("edit");
    lab.apply_ok(&[]);
    lab.take_writes();

    // 1. Add a node: its block's route, its VTEP's neighbour and FDB entry,
    //    a new mesh session in bird.conf, and its address in the set of
    //    cluster hosts the VXLAN overlay is accepted from and to (node-a
    //    has a host endpoint). Nothing else.
    lab.write_input("node-c.yaml", NODE_C);
    let p = lab.plan_json(&[]);
    let mut kinds: Vec<(String, String)> =
        changes(&p).into_iter().map(|(r, _, a)| (r, a)).collect();
    kinds.sort();
    assert_eq!(
        kinds,
        vec![
            ("fdb entry".into(), "create".into()),
            ("file".into(), "update".into()),
            ("neighbour".into(), "create".into()),
            ("nft set".into(), "update".into()),
            ("route".into(), "create".into()),
        ],
        "{p:#}"
    );
    let bird = &p["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["resource"] == "file")
        .unwrap()["diff"];
    assert!(
        bird.as_str()
            .unwrap()
            .contains("+protocol bgp Mesh_192_168_10_13"),
        "{bird}"
    );
    lab.apply_ok(&[]);
    assert!(lab.plan(&[]).stdout.starts_with(b"No changes."));
    lab.take_writes();

    // 2. Change a policy: one chain changes, rule by rule, as a delta.
    lab.write_input("policy.yaml", &policy(2222));
    let p = lab.plan_json(&[]);
    let c = changes(&p);
    assert_eq!(c.len(), 1, "{p:#}");
    assert_eq!((c[0].0.as_str(), c[0].2.as_str()), ("nft chain", "update"));
    let lines = p["changes"][0]["lines"].as_array().unwrap();
    assert!(lines
        .iter()
        .any(|l| l["sign"] == "-" && l["text"].as_str().unwrap().contains("dport 22 ")));
    assert!(lines
        .iter()
        .any(|l| l["sign"] == "+" && l["text"].as_str().unwrap().contains("dport 2222 ")));
    let op = &p["steps"][0]["ops"][0];
    assert_eq!(op["tool"], "nft");
    assert_eq!(op["full"], false, "a one-rule change is a delta: {op:#}");
    lab.apply_ok(&[]);
    let w = lab.take_writes();
    assert_eq!(w.len(), 1, "one nft transaction: {w:?}");
    assert!(lab.plan(&[]).stdout.starts_with(b"No changes."));

    // 3. Change the pool mode (VXLAN Always → CrossSubnet: same-subnet
    //    nodes are reached directly): only routes, neighbours, FDB and
    //    tunnels change.
    lab.write_input("pools.yaml", &pool("CrossSubnet", "Never"));
    let p = lab.plan_json(&[]);
    let c = changes(&p);
    assert!(
        c.iter().any(|(r, _, a)| r == "route" && a == "update"),
        "{p:#}"
    );
    for (r, id, _) in &c {
        assert!(
            ["route", "neighbour", "fdb entry", "tunnel", "address"].contains(&r.as_str()),
            "unexpected change {r} {id}: {p:#}"
        );
    }
    lab.apply_ok(&[]);
    assert!(lab
        .ns
        .exec_ok("ip", &["route", "show", "proto", "233"])
        .contains("via 192.168.10.12 dev eth0"));
    assert!(lab.plan(&[]).stdout.starts_with(b"No changes."));
}

#[test]
fn foreign_objects_survive_apply_changes_and_removal() {
    if !ready("foreign_objects") {
        return;
    }
    let lab = Lab::new("foreign");
    lab.add_foreign();
    let foreign = lab.foreign();
    lab.apply_ok(&[]);
    assert_eq!(lab.foreign(), foreign);
    // Switch backends both ways and remove netc's state entirely.
    lab.apply_ok(&["--firewall", "iptables"]);
    assert_eq!(lab.foreign(), foreign);
    lab.apply_ok(&["--firewall", "nftables"]);
    assert_eq!(lab.foreign(), foreign);
    // A failed apply (rolled back) leaves them too.
    let o = lab.apply_env(&[], &[]);
    assert!(o.status.success());
    lab.write_input("policy.yaml", &policy(2222));
    let o = lab.apply_env(&[], &[("NETC_INJECT_FAILURE", "firewall")]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert_eq!(lab.foreign(), foreign);
    // The netc objects never include the foreign ones.
    let p = lab.plan_json(&[]);
    for (r, id, _) in changes(&p) {
        assert!(!id.contains("foreign") && !id.contains("fveth"), "{r} {id}");
    }
}

#[test]
fn iptables_backend_converges_and_switching_back_removes_its_chains() {
    if !ready("iptables_backend") {
        return;
    }
    let lab = Lab::new("ipt");
    lab.add_foreign();
    let foreign = lab.foreign();
    let out = lab.apply_ok(&["--firewall", "iptables"]);
    assert!(out.contains("+ iptables chain filter netc-INPUT"), "{out}");
    let save = lab.ns.exec_ok("iptables-save", &[]);
    assert!(save.contains("-A INPUT -j netc-INPUT"), "{save}");
    // netc's jump is first in INPUT, before the foreign rule.
    let input = lab.ns.exec_ok("iptables", &["-S", "INPUT"]);
    let rules: Vec<&str> = input.lines().filter(|l| l.starts_with("-A")).collect();
    assert_eq!(rules[0], "-A INPUT -j netc-INPUT", "{input}");
    assert!(
        lab.ns
            .exec("nft", &["list", "table", "inet", "netc"])
            .status
            .code()
            != Some(0)
    );
    lab.take_writes();
    let o = lab.plan(&["--firewall", "iptables", "--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(lab
        .apply_ok(&["--firewall", "iptables"])
        .contains("No changes."));
    assert!(lab.take_writes().is_empty());

    // A policy change: one chain re-declared, nothing else.
    lab.write_input("policy.yaml", &policy(2222));
    let p = lab.plan_json(&["--firewall", "iptables"]);
    let c = changes(&p);
    assert!(!c.is_empty());
    assert!(
        c.iter()
            .all(|(r, _, a)| r == "iptables chain" && a == "update"),
        "{p:#}"
    );
    lab.apply_ok(&["--firewall", "iptables"]);
    assert!(lab
        .ns
        .exec_ok("iptables-save", &[])
        .contains("--dports 2222"));

    // Someone inserts a rule above netc's jump: netc puts its jump first again.
    lab.ns.exec_ok(
        "iptables",
        &["-I", "INPUT", "1", "-s", "198.51.100.1", "-j", "ACCEPT"],
    );
    let p = lab.plan_json(&["--firewall", "iptables"]);
    assert_eq!(
        changes(&p),
        vec![(
            "iptables jumps".into(),
            "filter INPUT".into(),
            "update".into()
        )]
    );
    lab.apply_ok(&["--firewall", "iptables"]);
    let input = lab.ns.exec_ok("iptables", &["-S", "INPUT"]);
    assert!(
        input.contains("-A INPUT -s 198.51.100.1/32 -j ACCEPT"),
        "{input}"
    );
    let rules: Vec<&str> = input.lines().filter(|l| l.starts_with("-A")).collect();
    assert_eq!(rules[0], "-A INPUT -j netc-INPUT", "{input}");
    lab.ns.exec_ok(
        "iptables",
        &["-D", "INPUT", "-s", "198.51.100.1", "-j", "ACCEPT"],
    );

    // Back to nftables: every netc- chain and jump is gone, foreign rules
    // stay. (Without --firewall the recorded backend, iptables, is kept.)
    assert!(lab.apply_ok(&[]).contains("No changes."));
    lab.apply_ok(&["--firewall", "nftables"]);
    let save = lab.ns.exec_ok("iptables-save", &[]);
    assert!(!save.contains("netc-"), "{save}");
    assert_eq!(lab.foreign(), foreign);
}

#[test]
fn guard_refuses_a_host_without_the_node_address() {
    if !ready("guard") {
        return;
    }
    let lab = Lab::new("guard");
    lab.ns
        .exec_ok("ip", &["addr", "del", "192.168.10.11/24", "dev", "eth0"]);
    lab.ns
        .exec_ok("ip", &["addr", "add", "192.168.10.99/24", "dev", "eth0"]);
    let before = lab.dump();
    let o = lab.apply(&[]);
    assert_eq!(o.status.code(), Some(1));
    let t = text(&o);
    assert!(
        t.contains("does not carry node node-a's address 192.168.10.11"),
        "{t}"
    );
    assert!(t.contains("--force"), "{t}");
    assert_same(&before, &lab.dump(), "after");
    assert!(lab.take_writes().is_empty());
    // plan warns, --force applies.
    assert!(text(&lab.plan(&[])).contains("apply will refuse"));
    let out = lab.apply_ok(&["--force"]);
    assert!(out.contains("Apply complete!"), "{out}");
}

#[test]
fn ipip_on_a_kernel_without_ipip_fails_cleanly_before_any_change() {
    if !ready("ipip_missing") {
        return;
    }
    if common::kernel_has_link_type("ipip") {
        eprintln!("SKIP ipip_missing: this kernel has ipip");
        return;
    }
    let lab = Lab::new("ipip");
    lab.write_input("pools.yaml", &pool("Never", "Always"));
    let before = lab.dump();
    let o = lab.apply(&[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let t = text(&o);
    assert!(t.contains("kernel lacks ipip"), "{t}");
    assert!(t.contains("nothing was changed"), "{t}");
    assert_same(&before, &lab.dump(), "after");
    assert!(lab.take_writes().is_empty());
}

#[test]
fn non_terminal_apply_without_auto_approve_is_refused() {
    if !ready("no_tty") {
        return;
    }
    let lab = Lab::new("notty");
    let before = lab.dump();
    let mut args = vec!["apply".to_string()];
    args.extend(lab.target_args());
    args.push(lab.input().display().to_string());
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = lab.netc(&a);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("--auto-approve"), "{}", text(&o));
    assert_same(&before, &lab.dump(), "after");
}

#[test]
fn emitted_batches_and_netc_apply_make_the_same_kernel_state() {
    if !ready("batches_agree") {
        return;
    }
    // netc apply works from the IR; `netc build` writes tunnels.batch,
    // fdb.batch and routes.batch from the same IR. Both must give the host
    // the same tunnels, addresses, neighbours, FDB entries and routes.
    let a = Lab::new("batch-a");
    let b = Lab::new("batch-b");
    a.write_input("node-c.yaml", NODE_C);
    b.write_input("node-c.yaml", NODE_C);
    a.apply_ok(&[]);
    let out = b.dir.join("build");
    let o = b.netc(&[
        "build",
        "-o",
        out.to_str().unwrap(),
        "--node",
        "node-a",
        b.input().to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    for (tool, file) in [
        ("ip", "tunnels.batch"),
        ("bridge", "fdb.batch"),
        ("ip", "routes.batch"),
    ] {
        let f = out.join("node-a").join(file);
        b.ns.exec_ok(tool, &["-batch", f.to_str().unwrap()]);
    }
    let read = |lab: &Lab| {
        let exec = netc_host::exec::Exec::new(Some(lab.ns.name.clone()));
        let (mut s, _) = netc_host::state::read(&exec, &lab.bird_conf(), false).unwrap();
        // Only the kernel objects: the firewall and BIRD are not in the batches.
        s.nft = Default::default();
        s.iptables = Default::default();
        s.bird = Default::default();
        s
    };
    let (sa, sb) = (read(&a), read(&b));
    assert!(!sa.routes.is_empty() && !sa.links.is_empty() && !sa.fdb.is_empty());
    let p = netc_host::plan::diff(&sa, &sb);
    assert!(
        p.changes.is_empty(),
        "batches and apply differ: {:#?}",
        p.changes
    );
}

/// The compile cache: a second plan of the same input takes the node from
/// the cache and plans exactly the same; any edit of the input (or the lock)
/// misses it. Warnings are shown on a cache hit too.
#[test]
fn a_cached_compile_plans_the_same_and_any_edit_misses_it() {
    if !ready("compile_cache") {
        return;
    }
    let lab = Lab::new("ccache");
    // The first apply writes netc.lock; only a compile whose lock is
    // current is cached.
    lab.apply_ok(&[]);
    lab.write_input("policy.yaml", &policy(2200));
    let first = lab.plan_json(&[]);
    let cache = lab.dir.join("state/cache");
    let entries = |d: &std::path::Path| -> Vec<String> {
        std::fs::read_dir(d)
            .map(|rd| {
                rd.flatten()
                    .map(|e| e.file_name().to_string_lossy().to_string())
                    .filter(|n| n.starts_with("compile-") && !n.ends_with("-firewall.json"))
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(
        entries(&cache).len(),
        1,
        "the first plan stores its compile"
    );
    let o1 = lab.plan(&[]);
    let second = lab.plan_json(&[]);
    assert_eq!(first, second, "a cached compile plans the same");
    assert_eq!(entries(&cache).len(), 1, "…from the same entry");
    let o2 = lab.plan(&[]);
    assert_eq!(text(&o1), text(&o2));
    // An edit misses the cache and shows in the plan.
    lab.write_input("policy.yaml", &policy(2222));
    let p = lab.plan_json(&[]);
    assert_ne!(p, first);
    assert!(p.to_string().contains("2222"), "{p:#}");
    assert_eq!(entries(&cache).len(), 2);
    // A saved plan holds the whole IR, firewall included, cache hit or not
    // (the cache keeps the firewall apart: plan and apply never read it).
    let saved_ir = |name: &str| -> serde_json::Value {
        let f = lab.dir.join(name);
        let o = lab.plan(&["--out", f.to_str().unwrap()]);
        assert!(o.status.success(), "{}", text(&o));
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
        v["ir"].clone()
    };
    let (a, b) = (saved_ir("p1.json"), saved_ir("p2.json"));
    assert_eq!(a, b, "the cached compile's IR is the whole IR");
    assert!(
        a["firewall"].to_string().contains("2222"),
        "the firewall is in the saved IR"
    );
    // And the cache never holds a secret value: the IR has references only.
    for e in entries(&cache) {
        let t = std::fs::read_to_string(cache.join(&e)).unwrap();
        assert!(!t.contains("password \""), "{e} holds a BIRD password line");
    }
}

/// Documents unchanged since an earlier plan are read from the document
/// cache (`state/cache/docs`), and a warning in one of them still points
/// at its line after lines were added above it, exactly as `netc validate`
/// reports it.
#[test]
fn cached_documents_keep_their_diagnostics_in_place() {
    if !ready("doc_cache") {
        return;
    }
    let lab = Lab::new("dcache");
    lab.apply_ok(&[]);
    // A policy with a rule shadowed by the one before it (W0718), in the
    // second document of its file.
    let doc = |extra: &str| {
        format!(
            "{extra}apiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\nmetadata:\n  name: spare\n  labels: {{role: spare}}\nspec:\n  nets: [192.0.2.0/24]\n---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata:\n  name: shadow\nspec:\n  order: 50\n  selector: all()\n  types: [Ingress]\n  ingress:\n  - action: Allow\n    protocol: TCP\n  - action: Deny\n    protocol: TCP\n    destination:\n      ports: [22]\n"
        )
    };
    let docs = lab.dir.join("state/cache/docs");
    let warning = |o: &std::process::Output| -> String {
        text(o)
            .lines()
            .skip_while(|l| !l.contains("W0718"))
            .take(2)
            .collect::<Vec<_>>()
            .join("\n")
    };
    let validate = || {
        let o = lab.netc(&["validate", lab.input().to_str().unwrap()]);
        warning(&o)
    };
    lab.write_input("shadow.yaml", &doc(""));
    let first = lab.plan(&[]);
    assert!(first.status.success(), "{}", text(&first));
    assert_eq!(warning(&first), validate());
    assert!(warning(&first).contains("shadow.yaml:"), "{}", text(&first));
    let stored = std::fs::read_dir(&docs).map(|d| d.count()).unwrap_or(0);
    assert!(stored > 0, "the plan stored its documents");
    // The first document edited (three lines longer): the second is read
    // from the cache, its warning three lines further down.
    lab.write_input("shadow.yaml", &doc("# one\n# two\n# three\n"));
    let o = lab.plan(&[]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(warning(&o), validate());
    let line = |w: &str| -> u32 {
        w.split("shadow.yaml:")
            .nth(1)
            .and_then(|r| r.split(':').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    assert_eq!(
        line(&warning(&o)),
        line(&warning(&first)) + 3,
        "{}",
        text(&o)
    );
}
