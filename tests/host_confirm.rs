//! Commit-confirmed applies: `apply --confirm-within` reverts by itself
//! unless `netc confirm` runs in time; the reverter is detached from the
//! process that started it.
//!
//! Root only: skipped with a message otherwise, unless CI=true.

mod common;
mod host_util;

use common::text;
use host_util::*;
use std::path::PathBuf;
use std::time::Duration;

fn pending_file(lab: &Lab) -> PathBuf {
    lab.dir
        .join("state")
        .join(format!("netns-{}", lab.ns.name))
        .join("pending.json")
}

fn revert_log(lab: &Lab) -> String {
    std::fs::read_to_string(
        lab.dir
            .join("state")
            .join(format!("netns-{}", lab.ns.name))
            .join("revert.log"),
    )
    .unwrap_or_default()
}

fn confirm(lab: &Lab, extra: &[&str]) -> std::process::Output {
    let mut a = vec!["confirm", "--netns", lab.ns.name.as_str()];
    a.extend_from_slice(extra);
    lab.netc(&a)
}

/// Field `n` (1-based, after the command) of /proc/PID/stat.
fn stat_field(pid: u64, n: usize) -> Option<String> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 2..];
    rest.split_whitespace().nth(n - 3).map(str::to_string)
}

#[test]
fn an_unconfirmed_apply_reverts_by_itself() {
    if !ready("confirm_revert") {
        return;
    }
    let lab = Lab::new("revert");
    lab.add_foreign();
    lab.apply_ok(&[]);
    lab.write_input("node-c.yaml", NODE_C);
    lab.write_input("policy.yaml", &policy(2222));
    let before = lab.dump();

    let out = lab.apply_ok(&["--confirm-within", "3s"]);
    assert!(out.contains("reverts at"), "{out}");
    assert!(out.contains("netc confirm --netns"), "{out}");
    let applied = lab.dump();
    assert_ne!(applied, before);

    // The reverter runs on its own: a session leader, not a child of the
    // (finished) netc apply, holding the snapshot in a private file.
    let pending: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(pending_file(&lab)).unwrap()).unwrap();
    let pid = pending["worker_pid"].as_u64().expect("worker pid");
    assert_eq!(
        stat_field(pid, 6),
        Some(pid.to_string()),
        "reverter is a session leader"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(pending_file(&lab))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o077, 0, "pending snapshot is private: {mode:o}");

    // Another apply must wait for the decision.
    let o = lab.apply(&[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o).contains("waiting for confirmation"),
        "{}",
        text(&o)
    );

    wait_until("the revert", 20, || !pending_file(&lab).exists());
    assert_same(&before, &lab.dump(), "after the revert");
    let log = revert_log(&lab);
    assert!(log.contains("not confirmed"), "{log}");
    assert!(log.contains("restored and verified"), "{log}");
    // Too late to confirm now.
    let o = confirm(&lab, &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("no apply is waiting"), "{}", text(&o));
}

#[test]
fn a_confirmed_apply_stays() {
    if !ready("confirm_keep") {
        return;
    }
    let lab = Lab::new("keep");
    let before = lab.dump();
    lab.apply_ok(&["--confirm-within", "3s"]);
    let applied = lab.dump();
    assert_ne!(applied, before);
    let o = confirm(&lab, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("Confirmed"), "{}", text(&o));
    assert!(!pending_file(&lab).exists());
    std::thread::sleep(Duration::from_secs(5));
    assert_same(&applied, &lab.dump(), "5s after confirming");
    wait_until("the reverter to log its exit", 5, || {
        revert_log(&lab).contains("reverter exits")
    });
    // Nothing left to confirm.
    assert_eq!(confirm(&lab, &[]).status.code(), Some(1));
}

#[test]
fn confirm_rollback_undoes_a_pending_apply_at_once() {
    if !ready("confirm_rollback") {
        return;
    }
    let lab = Lab::new("undo");
    lab.apply_ok(&[]);
    lab.write_input("policy.yaml", &policy(2222));
    let before = lab.dump();
    lab.apply_ok(&["--confirm-within", "120s"]);
    assert_ne!(lab.dump(), before);
    let o = confirm(&lab, &["--rollback"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("Rolled back"), "{}", text(&o));
    assert_same(&before, &lab.dump(), "after confirm --rollback");
    assert!(!pending_file(&lab).exists());
    // The reverter notices and exits without touching anything.
    wait_until("the reverter to exit", 5, || {
        revert_log(&lab).contains("reverter exits")
    });
    assert_same(&before, &lab.dump(), "after the reverter exited");
}
