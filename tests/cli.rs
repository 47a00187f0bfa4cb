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
    assert_eq!(
        all.as_object().map(|m| m.len()),
        Some(netc_compiler::model::Kind::ALL.len())
    );
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
    assert!(
        !out.exists(),
        "--locked with a stale lock must write nothing"
    );

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
        ] {
            assert!(out.join(n).join(f).is_file(), "{n}/{f} missing");
        }
        assert!(
            !out.join(n).join("ir.json").exists(),
            "ir.json only with --ir"
        );
    }
    // --ir adds ir.json (it parses as the IR); a later build without --ir
    // keeps it current rather than leaving a stale one, and --check checks it.
    let r = netc(&["build", "--ir", "-o", o, i, "--secrets", s]);
    assert_eq!(r.status.code(), Some(0), "{}", text(&r));
    let ir_path = out.join("rack1-node1/ir.json");
    let ir: netc_ir::HostIr =
        serde_json::from_str(&std::fs::read_to_string(&ir_path).expect("ir.json")).expect("IR");
    assert_eq!(ir.node.as_str(), "rack1-node1");
    std::fs::write(&ir_path, "{}").unwrap();
    let r = netc(&["build", "--check", "--locked", "-o", o, i, "--secrets", s]);
    assert_eq!(
        r.status.code(),
        Some(1),
        "a committed ir.json is checked: {}",
        text(&r)
    );
    let r = netc(&["build", "-o", o, i, "--secrets", s]);
    assert_eq!(r.status.code(), Some(0), "{}", text(&r));
    assert_ne!(
        std::fs::read_to_string(&ir_path).unwrap(),
        "{}",
        "kept current"
    );
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

/// Same input, byte-identical output — also when the nodes compile on
/// different numbers of threads (they finish in a different order).
#[test]
fn build_is_byte_identical_across_runs() {
    let d = tmpdir("det");
    let (a, b, c) = (d.join("a"), d.join("b"), d.join("c"));
    let s = repo().join("examples/bgp-secrets.secrets.yaml");
    let lock = d.join("netc.lock");
    for (out, threads) in [(&a, "1"), (&b, "1"), (&c, "4")] {
        let r = Command::new(env!("CARGO_BIN_EXE_netc"))
            .env("RAYON_NUM_THREADS", threads)
            .args([
                "build",
                "-o",
                out.to_str().unwrap(),
                "--lockfile",
                lock.to_str().unwrap(),
                "examples/",
                "--secrets",
                s.to_str().unwrap(),
            ])
            .current_dir(repo())
            .output()
            .expect("run netc");
        assert_eq!(r.status.code(), Some(0), "{}", text(&r));
    }
    for other in [&b, &c] {
        let r = run(
            "diff",
            &["-r", a.to_str().unwrap(), other.to_str().unwrap()],
        );
        assert!(r.status.success(), "outputs differ:\n{}", text(&r));
    }
}

/// Two problems, one with a related location (a duplicate), one a warning.
fn bad_tree(d: &std::path::Path) -> PathBuf {
    write_temp(
        d,
        "bad.yaml",
        "apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: p\nspec:\n  cidr: 10.0.0.1/16\n---\napiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: p\nspec:\n  cidr: 10.1.0.0/16\n",
    );
    write_temp(
        d,
        "w.yaml",
        "apiVersion: projectcalico.org/v3\nkind: Node\nmetadata:\n  name: n1\nspec:\n  bgp:\n    ipv4Address: 10.0.0.1/24\n---\napiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata:\n  name: peer\nspec:\n  nodeSelector: rack == \"nowhere\"\n  peerIP: 10.0.0.9\n  asNumber: 65000\n",
    );
    d.to_path_buf()
}

#[test]
fn validate_json_has_version_ends_and_related() {
    let d = tmpdir("json2");
    let dir = bad_tree(&d);
    let o = netc(&["validate", "--format", "json", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["format_version"], 1);
    let ds = v["diagnostics"].as_array().expect("array");
    let cidr = ds.iter().find(|d| d["code"] == "E0301").expect("E0301");
    assert_eq!(
        (
            &cidr["line"],
            &cidr["column"],
            &cidr["end_line"],
            &cidr["end_column"]
        ),
        (
            &serde_json::json!(6),
            &serde_json::json!(9),
            &serde_json::json!(6),
            &serde_json::json!(20)
        ),
        "`10.0.0.1/16` spans columns 9..20 (end exclusive)"
    );
    let dup = ds.iter().find(|d| d["code"] == "E0202").expect("E0202");
    assert_eq!(dup["line"], 11);
    assert_eq!(dup["related"][0]["line"], 4);
    assert_eq!(dup["related"][0]["end_column"], 10);
    assert_eq!(dup["related"][0]["message"], "first defined here");
    assert!(ds.iter().any(|d| d["severity"] == "warning"));
}

#[test]
fn validate_github_annotations() {
    let d = tmpdir("gh");
    let dir = bad_tree(&d);
    let o = netc(&["validate", "--format", "github", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    let file = dir.join("bad.yaml");
    let want = format!(
        "::error file={},line=6,col=9,endLine=6,endColumn=19,title=E0301::IPPool p: pool CIDR `10.0.0.1/16` has host bits set%0A",
        file.display()
    );
    assert!(out.lines().any(|l| l.starts_with(&want)), "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("::warning file=") && l.contains("title=W0508::")),
        "{out}"
    );
    // every line is a workflow command, nothing else on stdout
    assert!(out.lines().all(|l| l.starts_with("::")), "{out}");
    // a clean tree prints no annotation
    let o = netc(&["validate", "--format", "github", "examples/"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(o.stdout.is_empty());
}

fn sarif_validator() -> jsonschema::Validator {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("tests/data/sarif-schema-2.1.0.json"))
            .expect("tests/data/sarif-schema-2.1.0.json"),
    )
    .expect("schema is JSON");
    jsonschema::validator_for(&schema).expect("the SARIF schema compiles")
}

fn assert_schema_valid(v: &jsonschema::Validator, doc: &serde_json::Value) {
    let errors: Vec<String> = v
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "SARIF schema violations: {errors:#?}");
}

#[test]
fn validate_sarif_matches_the_official_schema() {
    let validator = sarif_validator();
    // The validator really checks: a log without `version` is rejected.
    assert!(!validator.is_valid(&serde_json::json!({"runs": []})));

    let d = tmpdir("sarif");
    let dir = bad_tree(&d);
    let o = netc(&["validate", "--format", "sarif", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let log: serde_json::Value = serde_json::from_slice(&o.stdout).expect("SARIF is JSON");
    assert_schema_valid(&validator, &log);
    assert_eq!(log["version"], "2.1.0");
    let run = &log["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
    assert!(rules.iter().any(|r| r["id"] == "E0301"));
    let results = run["results"].as_array().expect("results");
    let r = results
        .iter()
        .find(|r| r["ruleId"] == "E0301")
        .expect("E0301 result");
    assert_eq!(r["level"], "error");
    assert_eq!(
        rules[r["ruleIndex"].as_u64().unwrap_or(0) as usize]["id"],
        "E0301"
    );
    let loc = &r["locations"][0]["physicalLocation"];
    assert!(loc["artifactLocation"]["uri"]
        .as_str()
        .is_some_and(|u| u.starts_with("file:///") && u.ends_with("/bad.yaml")));
    let region = &loc["region"];
    assert_eq!(region["startLine"], 6);
    assert_eq!(region["startColumn"], 9);
    assert_eq!(region["endLine"], 6);
    assert_eq!(region["endColumn"], 20);
    let dup = results
        .iter()
        .find(|r| r["ruleId"] == "E0202")
        .expect("E0202 result");
    assert_eq!(
        dup["relatedLocations"][0]["physicalLocation"]["region"]["startLine"],
        4
    );
    assert!(results.iter().any(|r| r["level"] == "warning"));

    // A clean run is a valid log with no results; relative paths stay relative.
    let o = netc(&["validate", "--format", "sarif", "examples/"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let log: serde_json::Value = serde_json::from_slice(&o.stdout).expect("SARIF is JSON");
    assert_schema_valid(&validator, &log);
    assert_eq!(log["runs"][0]["results"], serde_json::json!([]));
}

#[test]
fn lockfile_flag_and_deprecated_lock_alias() {
    let d = tmpdir("lockfile");
    let out = d.join("out");
    let lock = d.join("my.lock");
    let s = repo().join("examples/bgp-secrets.secrets.yaml");
    let (o, l, s) = (
        out.to_str().unwrap(),
        lock.to_str().unwrap(),
        s.to_str().unwrap(),
    );
    let r = netc(&[
        "build",
        "-o",
        o,
        "--lockfile",
        l,
        "examples/",
        "--secrets",
        s,
    ]);
    assert_eq!(r.status.code(), Some(0), "{}", text(&r));
    assert!(lock.is_file());
    assert!(!text(&r).contains("deprecated"), "{}", text(&r));

    // The old spelling still works, with a warning naming the new one.
    let r = netc(&[
        "build",
        "--check",
        "--locked",
        "-o",
        o,
        "--lock",
        l,
        "examples/",
        "--secrets",
        s,
    ]);
    assert_eq!(r.status.code(), Some(0), "{}", text(&r));
    assert!(
        text(&r).contains("warning: `--lock` is deprecated")
            && text(&r).contains(&format!("--lockfile {l}")),
        "{}",
        text(&r)
    );
    // ...is hidden from help, and cannot be mixed with --lockfile.
    let help = text(&netc(&["build", "--help"]));
    assert!(
        help.contains("--lockfile") && !help.contains("--lock "),
        "{help}"
    );
    let help = text(&netc(&["plan", "--help"]));
    assert!(
        help.contains("--lockfile") && help.contains("--lock-timeout"),
        "{help}"
    );
    let r = netc(&["build", "-o", o, "--lock", l, "--lockfile", l, "examples/"]);
    assert_eq!(r.status.code(), Some(2), "{}", text(&r));
}

#[test]
fn completions_for_each_shell() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let o = netc(&["completions", shell]);
        assert_eq!(o.status.code(), Some(0), "{shell}: {}", text(&o));
        let script = String::from_utf8_lossy(&o.stdout);
        for word in ["validate", "completions", "lockfile"] {
            assert!(script.contains(word), "{shell} completion lacks `{word}`");
        }
        // elvish and powershell complete flags, not their values
        if ["bash", "zsh", "fish"].contains(&shell) {
            assert!(
                script.contains("sarif"),
                "{shell} completion lacks --format values"
            );
        }
    }
    // The bash script is valid bash.
    let d = tmpdir("compl");
    let f = write_temp(
        &d,
        "netc.bash",
        &String::from_utf8_lossy(&netc(&["completions", "bash"]).stdout),
    );
    let o = run("bash", &["-n", f.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    // and it completes: subcommands after `netc `, formats after `--format `
    let probe = format!(
        "source {}; COMP_WORDS=(netc val); COMP_CWORD=1; _netc netc val netc; echo \"${{COMPREPLY[@]}}\"; \
         COMP_WORDS=(netc validate --format ''); COMP_CWORD=3; _netc netc '' --format; echo \"${{COMPREPLY[@]}}\"",
        f.display()
    );
    let o = run("bash", &["-c", &probe]);
    let t = String::from_utf8_lossy(&o.stdout);
    let mut lines = t.lines();
    assert_eq!(lines.next(), Some("validate"), "{}", text(&o));
    let formats = lines.next().unwrap_or("");
    for f in ["text", "json", "github", "sarif"] {
        assert!(formats.split_whitespace().any(|w| w == f), "{}", text(&o));
    }
    assert_eq!(netc(&["completions", "tcsh"]).status.code(), Some(2));
}

#[test]
fn man_pages() {
    let o = netc(&["man"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let page = String::from_utf8_lossy(&o.stdout);
    assert!(
        page.starts_with(".ie") || page.contains(".TH netc 1"),
        "{page}"
    );
    assert!(page.contains(".TH netc 1"));
    for sub in ["validate", "build", "plan", "apply", "completions", "man"] {
        assert!(
            page.contains(&format!("netc\\-{sub}(1)")),
            "netc.1 lacks {sub}"
        );
    }
    let d = tmpdir("man");
    let dir = d.join("man1");
    let o = netc(&["man", "--dir", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let validate = std::fs::read_to_string(dir.join("netc-validate.1")).expect("netc-validate.1");
    assert!(validate.contains(".TH netc-validate 1") && validate.contains("sarif"));
    assert!(dir.join("netc-build.1").is_file() && dir.join("netc.1").is_file());
    if have_tool("man") {
        let o = run(
            "man",
            &["-l", dir.join("netc-validate.1").to_str().unwrap()],
        );
        assert!(o.status.success(), "man cannot render it: {}", text(&o));
    }
}

#[test]
fn build_check_compares_secrets_masked_and_prints_the_command() {
    let d = tmpdir("mask");
    let input = d.join("in");
    std::fs::create_dir_all(&input).expect("mkdir");
    for f in [
        "pools.yaml",
        "nodes.yaml",
        "bgp.yaml",
        "endpoints.yaml",
        "policy.yaml",
        "netc.lock",
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
    // Without secrets or --mask-secrets, build cannot fill the password in.
    let r = netc(&["build", "-o", o, i]);
    assert_eq!(r.status.code(), Some(1), "{}", text(&r));
    // Artifacts for git: passwords masked, no secret needed.
    let r = netc(&["build", "--mask-secrets", "-o", o, i]);
    assert_eq!(r.status.code(), Some(0), "{}", text(&r));
    let bird = std::fs::read_to_string(out.join("rack1-node1/bird.conf")).expect("bird.conf");
    assert!(bird.contains("password \"********\";"), "{bird}");
    // The masked bird.conf is current, with or without the secrets at hand.
    for extra in [&[][..], &["--secrets", s][..]] {
        let mut args = vec!["build", "--check", "--locked", "-o", o, i];
        args.extend_from_slice(extra);
        let r = netc(&args);
        assert_eq!(r.status.code(), Some(0), "{args:?}: {}", text(&r));
    }
    // bird.conf with the real password is current too, checked without it.
    let r = netc(&["build", "-o", o, i, "--secrets", s]);
    assert_eq!(r.status.code(), Some(0), "{}", text(&r));
    let r = netc(&["build", "--check", "--locked", "-o", o, i]);
    assert_eq!(r.status.code(), Some(0), "{}", text(&r));
    // A real difference in bird.conf is still stale, the password never shown,
    // and the hint is the whole command that regenerates.
    let p = out.join("rack1-node1/bird.conf");
    let t = std::fs::read_to_string(&p)
        .unwrap()
        .replace("as 64512", "as 64999");
    std::fs::write(&p, t).unwrap();
    let r = netc(&["build", "--check", "--locked", "-o", o, i, "--secrets", s]);
    assert_eq!(r.status.code(), Some(1), "{}", text(&r));
    let t = text(&r);
    assert!(
        t.contains("64999") && !t.contains("example-not-a-real-password"),
        "{t}"
    );
    assert!(
        t.contains(&format!(
            "regenerate with:\n  netc build -o {o} --secrets {s} {i}\n"
        )),
        "{t}"
    );
    let r = netc(&["build", "--check", "-o", o, "--node", "rack1-node1", i]);
    assert!(
        text(&r).contains(&format!(
            "netc build -o {o} --node rack1-node1 --mask-secrets {i}"
        )),
        "{}",
        text(&r)
    );
}

#[test]
fn errors_say_each_thing_once() {
    let d = tmpdir("once");
    let out = d.join("out");
    // An emit error wraps its cause; the cause's text must not repeat.
    let r = netc(&["build", "-o", out.to_str().unwrap(), "examples/"]);
    assert_eq!(r.status.code(), Some(1));
    let t = String::from_utf8_lossy(&r.stderr).to_string();
    let msg = "secret `bgp-secrets` key `upstream`";
    assert_eq!(t.matches(msg).count(), 1, "repeated:\n{t}");
    let r = netc(&[
        "build",
        "-o",
        out.to_str().unwrap(),
        "--secrets",
        "/nonexistent/s.yaml",
        "examples/",
    ]);
    let t = String::from_utf8_lossy(&r.stderr).to_string();
    assert_eq!(t.matches("No such file or directory").count(), 1, "{t}");
}

/// Run netc as an unprivileged user: directly when not root, via setpriv
/// (as nobody) when root. None when neither is possible.
fn netc_unprivileged(args: &[&str], dir: &std::path::Path) -> Option<std::process::Output> {
    let bin = dir.join("netc");
    std::fs::copy(env!("CARGO_BIN_EXE_netc"), &bin).expect("copy netc");
    let mut all = vec![bin.to_str().unwrap().to_string()];
    all.extend(args.iter().map(|s| s.to_string()));
    if !is_root() {
        return Some(Command::new(&all[0]).args(&all[1..]).output().expect("run"));
    }
    if !have_tool("setpriv") {
        return None;
    }
    let mut cmd = Command::new("setpriv");
    cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"]);
    cmd.args(&all).current_dir(dir);
    Some(cmd.output().expect("run setpriv"))
}

#[test]
fn permission_denied_says_needs_root() {
    let d = tmpdir("noroot");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&*d, std::fs::Permissions::from_mode(0o755));
    }
    let ex = d.join("ex");
    std::fs::create_dir_all(&ex).expect("mkdir");
    for f in [
        "pools.yaml",
        "nodes.yaml",
        "bgp.yaml",
        "endpoints.yaml",
        "policy.yaml",
        "netc.lock",
        "bgp-secrets.secrets.yaml",
    ] {
        std::fs::copy(repo().join("examples").join(f), ex.join(f)).expect("copy");
    }
    let (e, s) = (ex.to_str().unwrap(), ex.join("bgp-secrets.secrets.yaml"));
    let args = [
        "plan",
        "--node",
        "rack1-node1",
        e,
        "--secrets",
        s.to_str().unwrap(),
    ];
    let Some(o) = netc_unprivileged(&args, &d) else {
        eprintln!("SKIP permission_denied_says_needs_root: root without setpriv");
        return;
    };
    let t = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(t.starts_with("error: needs root: "), "{t}");
    assert!(
        t.contains("hint: plan, apply, destroy, show and confirm"),
        "{t}"
    );
    assert!(
        t.matches("ermission denied").count() + t.matches("not permitted").count() == 1,
        "{t}"
    );
}

#[test]
fn ipam_show_lists_blocks_with_utilisation() {
    let o = netc(&[
        "ipam",
        "show",
        "--lockfile",
        "golden/vxlan-always/netc.lock",
        "golden/vxlan-always/input",
    ]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(t.lines().next().unwrap_or("").starts_with("NODE"), "{t}");
    // node-a: its tunnel address and one workload in a /26.
    assert!(
        t.lines().any(|l| l.starts_with("node-a")
            && l.contains("10.67.0.0/26")
            && l.contains(" 2 ")
            && l.contains("64")
            && l.contains("3.1%")),
        "{t}"
    );
    let o = netc(&[
        "ipam",
        "show",
        "--format",
        "json",
        "--lockfile",
        "golden/vxlan-always/netc.lock",
        "golden/vxlan-always/input",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    let a = &v["blocks"][0];
    assert_eq!(a["node"], "node-a");
    assert_eq!(a["block"], "10.67.0.0/26");
    assert_eq!(a["pool_cidr"], "10.67.0.0/16");
    assert!(a["pool"].is_string(), "{a}");
    assert_eq!(a["size"], 64);
    assert_eq!(a["used"], 2);
    assert_eq!(a["addresses"][1]["use"], "workload");
    // No netc.lock: said so, exit 1.
    let o = netc(&["ipam", "show", "golden/vxlan-always/input"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("netc.lock does not exist"),
        "{}",
        text(&o)
    );
}

#[test]
fn no_paths_reads_the_configured_input_or_refuses() {
    let d = tmpdir("noinput");
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_netc"));
        c.args(args)
            .current_dir(&*d)
            .env_remove("NETC_INPUT")
            .env_remove("NETC_CONFIG")
            .env_remove("NETC_NODE");
        for (k, v) in env {
            c.env(k, v);
        }
        c.output().expect("run netc")
    };
    // An empty directory holds no netc input: refused with a hint, no crawl.
    let o = run(&["ipam", "show"], &[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("holds no netc input"), "{}", text(&o));
    assert!(text(&o).contains("hint: "), "{}", text(&o));

    let golden = repo().join("golden/vxlan-always");
    let lock = golden.join("netc.lock").display().to_string();
    let input = golden.join("input").display().to_string();
    // NETC_INPUT.
    let o = run(
        &["ipam", "show", "--lockfile", &lock],
        &[("NETC_INPUT", &input)],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("node-c"), "{}", text(&o));
    // The config file's `input` (relative to the file), below NETC_INPUT.
    std::fs::write(
        d.join("netc.yaml"),
        format!("input: {input}\nnode: node-a\n"),
    )
    .unwrap();
    let o = run(
        &["--config", "netc.yaml", "ipam", "show", "--lockfile", &lock],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = run(
        &["--config", "netc.yaml", "ipam", "show", "--lockfile", &lock],
        &[("NETC_INPUT", "/nonexistent-netc-input")],
    );
    assert_ne!(
        o.status.code(),
        Some(0),
        "NETC_INPUT must win: {}",
        text(&o)
    );
    // A config file with an unknown key, or a missing --config file: errors.
    std::fs::write(d.join("bad.yaml"), "nodename: x\n").unwrap();
    let o = run(&["--config", "bad.yaml", "ipam", "show"], &[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("unknown field `nodename`"),
        "{}",
        text(&o)
    );
    let o = run(&["--config", "missing.yaml", "ipam", "show"], &[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    // --only / --replace usage errors come before anything is read.
    let o = run(&["plan", "--only", "everything", &input], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let o = run(
        &["plan", "--node", "node-a", "--replace", "eth0", &input],
        &[],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("netc manages only the tunnel devices"),
        "{}",
        text(&o)
    );
}
