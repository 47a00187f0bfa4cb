//! Fleet: the Ansible collection in `ansible/` and the systemd
//! units in `contrib/systemd/`, tested for real.
//!
//! * [`ansible_rollout`] runs `ansible/tests/run.sh`: ansible-core from PyPI in
//!   a venv cached under the target directory, the collection built and
//!   installed with `ansible-galaxy`, the namespace lab (`lab/up.sh`) as the
//!   fleet, and the rollout playbook in check mode, for real, again (changed=0)
//!   and with a broken batch that must stop the rollout and revert by itself.
//!   The script's header lists every check. Needs root and PyPI (the first
//!   time): outside CI it skips without them; with CI=true it must run.
//! * [`systemd_units_verify`] runs `systemd-analyze verify` on the units.
//!   Skips without systemd-analyze, unless CI=true.
//!
//! The script's logs are kept in `$CARGO_TARGET_TMPDIR/fleet-logs`.

mod common;

use std::path::PathBuf;
use std::process::Command;

fn target_dir() -> PathBuf {
    // CARGO_TARGET_TMPDIR is <target>/tmp.
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().map(PathBuf::from).unwrap_or(tmp)
}

#[test]
fn ansible_rollout() {
    const TEST: &str = "fleet_ansible::ansible_rollout";
    if !common::require_root(TEST) {
        return;
    }
    let repo = common::repo();
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let out = Command::new("bash")
        .arg(repo.join("ansible/tests/run.sh"))
        .env("NETC", env!("CARGO_BIN_EXE_netc"))
        .env("FLEET_VENV", target_dir().join("fleet/venv"))
        .env("FLEET_LOGS", tmp.join("fleet-logs"))
        .output()
        .expect("run ansible/tests/run.sh");
    let text = common::text(&out);
    eprintln!("{text}");
    match out.status.code() {
        Some(0) => assert!(
            text.contains("[fleet] PASS"),
            "run.sh exited 0 without PASS"
        ),
        // run.sh exits 77 for a skip only when CI is not true.
        Some(77) if !common::in_ci() => {
            eprintln!("SKIP {TEST}: see the message above (set CI=true to make this a failure)")
        }
        c => panic!(
            "ansible/tests/run.sh failed (exit {c:?}); logs in {}",
            tmp.join("fleet-logs").display()
        ),
    }
}

#[test]
fn systemd_units_verify() {
    const TEST: &str = "fleet_ansible::systemd_units_verify";
    if !common::require_tool(TEST, "systemd-analyze") {
        return;
    }
    let repo = common::repo();
    let src = repo.join("contrib/systemd");
    // The units name the installed paths; verify checks that ExecStart is
    // executable, so point them at this build's binary and the repo's script.
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("fleet-systemd");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut units = Vec::new();
    for name in [
        "netc-apply.service",
        "netc-drift.service",
        "netc-drift.timer",
    ] {
        let text = std::fs::read_to_string(src.join(name)).unwrap();
        assert!(
            name.ends_with(".timer") || text.contains("ExecStart=/usr/local/"),
            "{name}: ExecStart should name the installed path"
        );
        let text = text
            .replace("/usr/local/bin/netc", env!("CARGO_BIN_EXE_netc"))
            .replace(
                "/usr/local/libexec/netc/netc-drift",
                &src.join("netc-drift").display().to_string(),
            );
        std::fs::write(dir.join(name), text).unwrap();
        units.push(dir.join(name));
    }
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg("--man=no")
        .args(&units)
        .output()
        .expect("run systemd-analyze");
    let text = common::text(&out);
    // verify exits 0 on some problems (unknown keys are only warned about),
    // so any message about our units is a failure too.
    let ours: Vec<&str> = text.lines().filter(|l| l.contains("netc-")).collect();
    assert!(
        out.status.success() && ours.is_empty(),
        "systemd-analyze verify: exit {:?}\n{text}",
        out.status.code()
    );
    // The drift wrapper is a valid bash script (it runs for real in ansible_rollout).
    let o = common::run(
        "bash",
        &["-n", &src.join("netc-drift").display().to_string()],
    );
    assert!(
        o.status.success(),
        "bash -n netc-drift: {}",
        common::text(&o)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
