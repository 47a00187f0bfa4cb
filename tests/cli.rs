//! The command line as users drive it: exit codes, formats, build --check and --locked.

mod common;

use common::*;
use std::path::PathBuf;
use std::process::Command;

fn netc(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_netc"))
        .args(args)
        .current_dir(repo())
        .output()
        .expect("run netc")
}

/// A scratch directory removed when the test ends, also when it fails.
struct TmpDir(PathBuf);

impl std::ops::Deref for TmpDir {
    type Target = PathBuf;
    fn deref(&self) -> &PathBuf {
        &self.0
    }
}

impl Drop for TmpDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tmpdir(name: &str) -> TmpDir {
    let d = std::env::temp_dir().join(format!("netc-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("mkdir");
    TmpDir(d)
}

#[test]
fn validate_examples_is_clean() {
    let o = netc(&["validate", "--deny-warnings", "examples/"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("0 errors, 0 warnings"));
}

#[test]
fn validate_exit_codes_and_json() {
    let d = tmpdir("validate");
    let bad = write_temp(
        &d,
        "bad.yaml",
        "apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: p\nspec:\n  cidr: 10.0.0.1/16\n",
    );
    let o = netc(&["validate", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let t = text(&o);
    assert!(t.contains("E0301") && t.contains("bad.yaml:6:9"), "{t}");

    let o = netc(&["validate", "--format", "json", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let d0 = &v["diagnostics"][0];
    assert_eq!(d0["code"], "E0301");
    assert_eq!(d0["line"], 6);
    assert_eq!(d0["column"], 9);
    assert_eq!(d0["severity"], "error");
    assert_eq!(d0["resource"], "IPPool p");
    assert_eq!(v["errors"], 1);

    // a missing path is a usage/I-O error: exit 2, nothing validated
    let o = netc(&["validate", "/nonexistent/netc.yaml"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));

    // stdin
    let o = run_stdin(
        env!("CARGO_BIN_EXE_netc"),
        &["validate", "-"],
        "apiVersion: projectcalico.org/v3\nkind: Node\nmetadata:\n  name: n\n",
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

#[test]
fn warnings_fail_only_with_deny_warnings() {
    let d = tmpdir("warn");
    // A BGPPeer whose nodeSelector selects no node: a warning.
    let f = write_temp(
        &d,
        "w.yaml",
        "apiVersion: projectcalico.org/v3\nkind: Node\nmetadata:\n  name: n1\nspec:\n  bgp:\n    ipv4Address: 10.0.0.1/24\n---\napiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata:\n  name: p\nspec:\n  nodeSelector: rack == \"nowhere\"\n  peerIP: 10.0.0.9\n  asNumber: 65000\n",
    );
    let o = netc(&["validate", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("W0508"), "{}", text(&o));
    let o = netc(&["validate", "--deny-warnings", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn schema_and_explain() {
    let o = netc(&["schema", "ippool"]);
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("schema is JSON");
    assert!(v["properties"]["spec"].is_object());
    let o = netc(&["schema"]);
    let all: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(all.as_object().map(|m| m.len()), Some(11));
    assert!(all.as_object().is_some_and(|m| m.contains_key("BGPFilter")));
    let o = netc(&["explain", "E0509"]);
    assert!(text(&o).contains("Only internal neighbor can be RR client"));
    assert_eq!(netc(&["explain", "E9999"]).status.code(), Some(1));
}

#[test]
fn diagnostics_doc_is_current() {
    let o = netc(&["explain", "--all", "--markdown"]);
    let doc = std::fs::read_to_string(repo().join("docs/diagnostics.md")).unwrap_or_default();
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        doc,
        "docs/diagnostics.md is stale: run `netc explain --all --markdown > docs/diagnostics.md`"
    );
}

#[test]
fn build_check_and_locked() {
    let d = tmpdir("build");
    let input = d.join("in");
    std::fs::create_dir_all(&input).expect("mkdir");
    for f in [
        "pools.yaml",
        "nodes.yaml",
        "bgp.yaml",
        "endpoints.yaml",
        "policy.yaml",
    ] {
        std::fs::copy(repo().join("examples").join(f), input.join(f)).expect("copy");
    }
    let secrets = repo().join("examples/bgp-secrets.secrets.yaml");
    let out = d.join("out");
    let (i, o, s) = (
        input.to_str().unwrap(),
        out.to_str().unwrap(),
        secrets.to_str().unwrap(),
    );

    // --locked refuses to create the lock
    let r = netc(&["build", "--locked", "-o", o, i, "--secrets", s]);
    assert_eq!(r.status.code(), Some(1), "{}", text(&r));
    assert!(!input.join("netc.lock").exists());

    let r = netc(&["build", "-o", o, i, "--secrets", s]);
    assert_eq!(r.status.code(), Some(0), "{}", text(&r));
    assert!(input.join("netc.lock").exists());
    for n in ["rack1-node1", "rack1-node2", "rack2-node1", "rack2-node2"] {
        for f in [
            "nftables.nft",
            "iptables.rules",
            "routes.batch",
            "tunnels.batch",
            "bird.conf",
            "ir.json",
        ] {
            assert!(out.join(n).join(f).is_file(), "{n}/{f} missing");
        }
    }
    // bird.conf holds a password: not world-readable
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let m = std::fs::metadata(out.join("rack1-node1/bird.conf"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(m & 0o077, 0, "bird.conf with a password must be 0600");
    }
    let r = netc(&["build", "--check", "--locked", "-o", o, i, "--secrets", s]);
    assert_eq!(r.status.code(), Some(0), "{}", text(&r));

    // Hand-edit an artifact: --check reports a diff and exits 1.
    let p = out.join("rack1-node1/routes.batch");
    let mut t = std::fs::read_to_string(&p).unwrap();
    t.push_str("route add 192.0.2.0/24 dev lo\n");
    std::fs::write(&p, t).unwrap();
    let r = netc(&["build", "--check", "-o", o, i, "--secrets", s]);
    assert_eq!(r.status.code(), Some(1));
    assert!(
        text(&r).contains("-route add 192.0.2.0/24 dev lo"),
        "{}",
        text(&r)
    );
    // and the password never shows in a diff
    assert!(!text(&r).contains("example-not-a-real-password"));

    // Adding a node keeps every other node's block (the lock is stable).
    let before = std::fs::read_to_string(input.join("netc.lock")).unwrap();
    let mut nodes = std::fs::read_to_string(input.join("nodes.yaml")).unwrap();
    nodes.push_str("- apiVersion: projectcalico.org/v3\n  kind: Node\n  metadata:\n    name: aaa-new-node\n    labels: {role: edge}\n  spec:\n    bgp:\n      ipv4Address: 192.168.10.50/24\n");
    std::fs::write(input.join("nodes.yaml"), nodes).unwrap();
    let r = netc(&["build", "--locked", "-o", o, i, "--secrets", s]);
    assert_eq!(
        r.status.code(),
        Some(1),
        "--locked must refuse a lock change"
    );
    let r = netc(&["build", "-o", o, i, "--secrets", s]);
    assert_eq!(r.status.code(), Some(0), "{}", text(&r));
    let after = std::fs::read_to_string(input.join("netc.lock")).unwrap();
    let old: netc_compiler::alloc::Lock = netc_compiler::alloc::Lock::parse(&before).unwrap();
    let new: netc_compiler::alloc::Lock = netc_compiler::alloc::Lock::parse(&after).unwrap();
    for (pool, pl) in &old.pools {
        for (node, blocks) in &pl.blocks {
            assert_eq!(
                &new.pools[pool].blocks[node], blocks,
                "{node} moved in {pool}"
            );
        }
    }
    assert!(new
        .pools
        .values()
        .any(|p| p.blocks.contains_key("aaa-new-node")));
}

#[test]
fn build_is_byte_identical_across_runs() {
    let d = tmpdir("det");
    let (a, b) = (d.join("a"), d.join("b"));
    let s = repo().join("examples/bgp-secrets.secrets.yaml");
    let lock = d.join("netc.lock");
    for out in [&a, &b] {
        let r = netc(&[
            "build",
            "-o",
            out.to_str().unwrap(),
            "--lock",
            lock.to_str().unwrap(),
            "examples/",
            "--secrets",
            s.to_str().unwrap(),
        ]);
        assert_eq!(r.status.code(), Some(0), "{}", text(&r));
    }
    let r = run("diff", &["-r", a.to_str().unwrap(), b.to_str().unwrap()]);
    assert!(r.status.success(), "outputs differ:\n{}", text(&r));
}
