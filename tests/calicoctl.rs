//! Reading input the way calicoctl does, from the command line: YAML 1.1
//! scalars, a whole export, a byte order mark, and the secrets file.

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

struct TmpDir(PathBuf);

impl Drop for TmpDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tmpdir(name: &str) -> TmpDir {
    let d = std::env::temp_dir().join(format!("netc-calicoctl-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("mkdir");
    TmpDir(d)
}

const NODE: &str = "apiVersion: projectcalico.org/v3\nkind: Node\nmetadata:\n  name: n1\n  labels:\n    routeReflector: true\n    global-peer: yes\nspec:\n  bgp: {ipv4Address: 10.0.0.1/24}\n";

/// Before: `routeReflector: true` was E0102 and `yes` silently the string
/// "yes". Now both are the string "true", as calicoctl reads them, with W0109.
#[test]
fn yaml11_labels_read_as_calicoctl_reads_them() {
    let d = tmpdir("yaml11");
    let f = write_temp(&d.0, "node.yaml", NODE);
    let o = netc(&["validate", "--format", "json", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["errors"], 0);
    let msgs: Vec<&str> = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == "W0109")
        .map(|d| d["message"].as_str().unwrap())
        .collect();
    assert_eq!(msgs.len(), 2, "{msgs:?}");
    assert!(msgs[1].contains("`yes` as \"true\""), "{msgs:?}");
    // --deny-warnings turns them into a failure for CI that wants quoted files.
    let o = netc(&["validate", "--deny-warnings", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
}

/// A file saved with a UTF-8 byte order mark loads (before: E0001 or E0005).
#[test]
fn bom_file_loads() {
    let d = tmpdir("bom");
    let f = write_temp(
        &d.0,
        "pool.yaml",
        "\u{feff}apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: p\nspec:\n  cidr: 10.244.0.0/16\n",
    );
    let o = netc(&["validate", "--deny-warnings", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("0 errors, 0 warnings"), "{}", text(&o));
}

/// The error-corpus export validates with notes only, and builds.
#[test]
fn calicoctl_export_builds() {
    let d = tmpdir("export");
    let src = std::fs::read_to_string(repo().join("tests/errors/141-calicoctl-export.yaml"))
        .expect("corpus file");
    let f = write_temp(&d.0, "export.yaml", &src);
    let o = netc(&["validate", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("6 notes"), "{}", text(&o));
    let out = d.0.join("out");
    let o = netc(&["build", "-o", out.to_str().unwrap(), f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(out.join("worker-1/bird.conf").exists());
}

fn build_with_secrets(name: &str, secrets: &str) -> (Option<i32>, String) {
    let d = tmpdir(name);
    let input = write_temp(
        &d.0,
        "cluster.yaml",
        "apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: n1}\nspec: {bgp: {ipv4Address: 10.0.0.1/24}}\n",
    );
    let s = write_temp(&d.0, "bgp.secrets.yaml", secrets);
    let out = d.0.join("out");
    let o = netc(&[
        "build",
        "-o",
        out.to_str().unwrap(),
        input.to_str().unwrap(),
        "--secrets",
        s.to_str().unwrap(),
    ]);
    (o.status.code(), text(&o))
}

/// A secrets file of the wrong shape fails without echoing its values
/// (before: serde_yaml's message quoted them).
#[test]
fn secrets_errors_do_not_echo_values() {
    for bad in [
        "bgp-secrets: s3cr3t-hunter2\n",
        "bgp-secrets:\n  password: [s3cr3t-hunter2]\n",
        "- s3cr3t-hunter2\n",
    ] {
        let (code, t) = build_with_secrets("shape", bad);
        assert_ne!(code, Some(0), "{bad:?}: {t}");
        assert!(!t.contains("hunter2"), "{bad:?} leaked the value: {t}");
        assert!(t.contains("E0010"), "{t}");
    }
}

/// A key given twice in a secrets file is an error (before: one silently won).
#[test]
fn secrets_duplicate_keys_are_errors() {
    let (code, t) = build_with_secrets(
        "dup",
        "bgp-secrets:\n  password: first-hunter2\n  password: second-hunter2\n",
    );
    assert_ne!(code, Some(0), "{t}");
    assert!(t.contains("appears twice") && t.contains("3:3"), "{t}");
    assert!(!t.contains("hunter2"), "{t}");
    let (code, t) = build_with_secrets(
        "dup2",
        "a: {password: x}\nb: {password: y}\na: {password: z}\n",
    );
    assert_ne!(code, Some(0), "{t}");
    assert!(t.contains("secret `a` appears twice"), "{t}");
}
