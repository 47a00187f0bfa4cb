//! The pre-commit hooks as users run them: the real pre-commit from PyPI
//! (installed into a virtualenv cached under target/), netc's
//! .pre-commit-hooks.yaml as the hook repository, and a sample repository
//! holding a netc tree beside unrelated YAML. tests/precommit/run.sh builds
//! the repositories and runs the scenarios; this test judges the results.
//!
//! Without PyPI it skips with a message; with CI=true it must run.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

struct Scenario {
    rc: i32,
    out: String,
}

fn scenario(out: &Path, name: &str) -> Scenario {
    let rc = std::fs::read_to_string(out.join(format!("{name}.rc")))
        .unwrap_or_else(|e| panic!("scenario {name} did not run: {e}"));
    let out = std::fs::read_to_string(out.join(format!("{name}.txt"))).unwrap_or_default();
    Scenario {
        rc: rc.trim().parse().unwrap_or(-1),
        out,
    }
}

/// How many times netc printed its summary line: once per invocation.
fn runs_of_netc(out: &str) -> usize {
    out.lines()
        .filter(|l| l.contains(" errors, ") || l.contains(" error, "))
        .filter(|l| l.contains(" in ") && l.contains(" file"))
        .count()
}

/// Run tests/precommit/run.sh in `mode`; None when skipped for want of PyPI.
fn run_scenarios(test: &str, mode: &str) -> Option<(PathBuf, PathBuf)> {
    if !require_tool(test, "python3") || !require_tool(test, "git") {
        return None;
    }
    let netc = PathBuf::from(env!("CARGO_BIN_EXE_netc"));
    let bindir = netc.parent().expect("binary directory").to_path_buf();
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let venv = cache.join("precommit-venv");
    let work = std::env::temp_dir().join(format!("netc-precommit-{mode}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).expect("mkdir");
    let o = Command::new("bash")
        .arg(repo().join("tests/precommit/run.sh"))
        .arg(repo())
        .arg(&bindir)
        .arg(&venv)
        .arg(&work)
        .arg(mode)
        // the rust hooks' release build, kept between runs
        .env("CARGO_TARGET_DIR", cache.join("precommit-cargo-target"))
        .output()
        .expect("run tests/precommit/run.sh");
    let log = text(&o);
    match o.status.code() {
        Some(0) => {}
        Some(77) => {
            let _ = std::fs::remove_dir_all(&work);
            if in_ci() {
                panic!("{test}: cannot install pre-commit from PyPI, and CI=true forbids skipping:\n{log}");
            }
            eprintln!("SKIP {test}: cannot install pre-commit from PyPI (no network?); set CI=true to make this a failure\n{log}");
            return None;
        }
        c => panic!("tests/precommit/run.sh {mode} failed (exit {c:?}):\n{log}"),
    }
    let out = work.join("out");
    Some((work, out))
}

fn check_scenarios(out: &Path) {
    let valid = scenario(out, "valid");
    assert_eq!(valid.rc, 0, "valid tree must pass:\n{}", valid.out);
    assert!(valid.out.contains("Passed"), "{}", valid.out);
    assert_eq!(
        runs_of_netc(&valid.out),
        0,
        "a passing hook prints nothing (pre-commit hides its output):\n{}",
        valid.out
    );

    let one = scenario(out, "one-file");
    assert_eq!(
        one.rc, 0,
        "changing only bgp.yaml must validate it against the whole tree (its peer names a node in nodes.yaml):\n{}",
        one.out
    );
    assert!(!one.out.contains("no node named"), "{}", one.out);

    let unrelated = scenario(out, "unrelated");
    assert_eq!(unrelated.rc, 0, "{}", unrelated.out);
    assert!(
        unrelated.out.contains("Skipped"),
        "only a workflow and .pre-commit-config.yaml changed: the hook must not run:\n{}",
        unrelated.out
    );

    let broken = scenario(out, "broken");
    assert_eq!(broken.rc, 1, "a broken resource must fail:\n{}", broken.out);
    assert!(broken.out.contains("Failed"), "{}", broken.out);
    assert!(
        broken.out.contains("error[E0301]") && broken.out.contains("network/pools.yaml:8:9"),
        "the failure must show the diagnostic code and file:line:column:\n{}",
        broken.out
    );
    assert_eq!(
        runs_of_netc(&broken.out),
        1,
        "netc must run once over the whole tree, not per batch of files:\n{}",
        broken.out
    );
    assert!(
        !broken.out.contains("ci.yml") && !broken.out.contains("values.yml"),
        "unrelated YAML must not be validated:\n{}",
        broken.out
    );

    let cross = scenario(out, "cross");
    assert_eq!(
        cross.rc, 1,
        "renaming a node that a BGPPeer in another file names must fail:\n{}",
        cross.out
    );
    assert!(
        cross.out.contains("network/bgp.yaml:"),
        "the error points into bgp.yaml, which did not change:\n{}",
        cross.out
    );
}

/// The `-system` hooks, with the netc under test on PATH.
#[test]
fn precommit_hook_validates_the_whole_tree() {
    let Some((work, out)) = run_scenarios("precommit_hook_validates_the_whole_tree", "system")
    else {
        return;
    };
    check_scenarios(&out);
    let _ = std::fs::remove_dir_all(&work);
}

/// The `language: rust` hooks, built by pre-commit with `cargo install` from
/// a snapshot of this repository. A release build (minutes on two cores), so
/// it is ignored by default: `cargo test --test precommit -- --ignored`.
/// The hook definitions are the system ones' (hook_variants_agree).
#[test]
#[ignore = "release build of netc by pre-commit; run with --ignored"]
fn precommit_rust_hook_builds_and_validates() {
    const TEST: &str = "precommit_rust_hook_builds_and_validates";
    let Some((work, out)) = run_scenarios(TEST, "rust") else {
        return;
    };
    check_scenarios(&out);
    let _ = std::fs::remove_dir_all(&work);
}

/// Each hook's `system` variant is the rust one with netc from PATH: the
/// test above runs the system variants, so they must not drift apart.
#[test]
fn hook_variants_agree() {
    let text = std::fs::read_to_string(repo().join(".pre-commit-hooks.yaml"))
        .expect(".pre-commit-hooks.yaml");
    let hooks: Vec<serde_yaml::Mapping> = serde_yaml::from_str(&text).expect("hook list");
    let by_id = |id: &str| {
        hooks
            .iter()
            .find(|h| h.get("id").and_then(|v| v.as_str()) == Some(id))
            .unwrap_or_else(|| panic!("hook {id} missing"))
            .clone()
    };
    for id in ["netc-validate", "netc-build-check"] {
        let rust = by_id(id);
        let system = by_id(&format!("{id}-system"));
        assert_eq!(rust.get("language").and_then(|v| v.as_str()), Some("rust"));
        assert_eq!(
            system.get("language").and_then(|v| v.as_str()),
            Some("system")
        );
        for key in [
            "entry",
            "pass_filenames",
            "require_serial",
            "files",
            "exclude",
        ] {
            assert_eq!(rust.get(key), system.get(key), "{id}: `{key}` differs");
        }
        assert_eq!(
            rust.get("pass_filenames").and_then(|v| v.as_bool()),
            Some(false),
            "{id} checks the whole tree: it must get no filenames"
        );
        assert_eq!(
            rust.get("require_serial").and_then(|v| v.as_bool()),
            Some(true),
            "{id} must run once, not in parallel batches"
        );
    }
}
