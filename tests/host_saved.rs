//! Saved plans (applied exactly, refused when stale, never holding a
//! secret), and the per-target lock (concurrent applies never interleave).
//!
//! Root only: skipped with a message otherwise, unless CI=true.

mod common;
mod host_util;

use common::text;
use host_util::*;
use std::time::Duration;

const SECRET: &str = "s3cr3t-Pa55word";

/// A peer with an MD5 password, and the secrets file (outside the input).
fn add_password_peer(lab: &Lab) -> String {
    lab.write_input(
        "peer.yaml",
        r#"apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata:
  name: upstream
spec:
  peerIP: 192.168.10.1
  asNumber: 65001
  password:
    secretKeyRef:
      name: bgp-secrets
      key: upstream
"#,
    );
    let p = lab.dir.join("secrets.yaml");
    std::fs::write(&p, format!("bgp-secrets:\n  upstream: {SECRET}\n")).unwrap();
    p.display().to_string()
}

#[test]
fn a_saved_plan_applies_exactly_and_keeps_no_secret() {
    if !ready("saved_plan") {
        return;
    }
    let lab = Lab::new("saved");
    let secrets = add_password_peer(&lab);
    let plan_file = lab.dir.join("plan.json");
    let pf = plan_file.display().to_string();
    let o = lab.plan(&["--secrets", &secrets, "--out", &pf]);
    assert!(o.status.success(), "{}", text(&o));
    let t = text(&o);
    assert!(t.contains("password \"********\""), "{t}");
    assert!(!t.contains(SECRET), "the plan output shows the secret");
    assert!(t.contains(&format!("netc apply {pf}")), "{t}");
    let saved = std::fs::read_to_string(&plan_file).unwrap();
    assert!(!saved.contains(SECRET), "the plan file holds the secret");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&plan_file).unwrap().permissions().mode() & 0o077,
        0
    );

    // Planning options cannot be changed on a saved plan.
    let o = lab.netc(&["apply", &pf, "--firewall", "iptables"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o).contains("applied exactly as planned"),
        "{}",
        text(&o)
    );
    // The secret must be given again (plan files never store it).
    let o = lab.netc(&["apply", &pf]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("--secrets"), "{}", text(&o));

    // Applied without a prompt (no --auto-approve), exactly as planned.
    let o = lab.netc(&["apply", &pf, "--secrets", &secrets]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("Apply complete!"));
    assert!(!text(&o).contains(SECRET));
    let conf = std::fs::read_to_string(lab.bird_conf()).unwrap();
    assert!(conf.contains(SECRET));
    assert_eq!(
        std::fs::metadata(lab.bird_conf())
            .unwrap()
            .permissions()
            .mode()
            & 0o077,
        0,
        "bird.conf with a password is not world- or group-readable when new"
    );
    let o = lab.plan(&["--secrets", &secrets, "--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

#[test]
fn a_stale_saved_plan_is_refused() {
    if !ready("stale_plan") {
        return;
    }
    let lab = Lab::new("stale");
    lab.apply_ok(&[]);
    lab.take_writes();
    lab.write_input("policy.yaml", &policy(2222));
    let pf = lab.dir.join("plan.json").display().to_string();
    let o = lab.plan(&["--out", &pf]);
    assert!(o.status.success(), "{}", text(&o));
    // Someone changes what netc owns in the meantime.
    lab.ns.exec_ok(
        "ip",
        &[
            "route",
            "add",
            "blackhole",
            "10.250.15.192/26",
            "proto",
            "233",
        ],
    );
    let before = lab.dump();
    let o = lab.netc(&["apply", &pf]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("saved plan is stale"), "{}", text(&o));
    assert_same(&before, &lab.dump(), "after refusing a stale plan");
    assert!(lab.take_writes().is_empty());
    // A fresh plan removes the stray route and applies the policy.
    let p = lab.plan_json(&[]);
    let c = changes(&p);
    assert!(
        c.contains(&("route".into(), "10.250.15.192/26".into(), "delete".into())),
        "{c:?}"
    );
    lab.apply_ok(&[]);
}

#[test]
fn concurrent_applies_do_not_interleave() {
    if !ready("concurrent") {
        return;
    }
    let lab = Lab::new("conc");
    // Two applies at once: one converges the target, the other waits for
    // the lock and then finds nothing to do.
    let spawn = || {
        let mut args = vec!["apply".to_string(), "--auto-approve".to_string()];
        args.extend(lab.target_args());
        args.push(lab.input().display().to_string());
        std::process::Command::new(env!("CARGO_BIN_EXE_netc"))
            .args(&args)
            .env("NETC_STATE_DIR", lab.dir.join("state"))
            .env("NETC_RUN_DIR", lab.dir.join("run"))
            .env("NO_COLOR", "1")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert!(a.status.success(), "{}", text(&a));
    assert!(b.status.success(), "{}", text(&b));
    let applied = [&a, &b]
        .iter()
        .filter(|o| text(o).contains("Apply complete!"))
        .count();
    let noop = [&a, &b]
        .iter()
        .filter(|o| text(o).contains("No changes."))
        .count();
    assert_eq!((applied, noop), (1, 1), "{}\n----\n{}", text(&a), text(&b));

    // While someone holds the lock, an apply waits, then fails clearly and
    // changes nothing.
    lab.write_input("policy.yaml", &policy(2222));
    let lock = lab
        .dir
        .join("run")
        .join(format!("netns-{}.lock", lab.ns.name));
    let guard = netc_host::lock::acquire(
        &lock,
        netc_host::lock::Mode::Exclusive,
        Duration::from_secs(5),
    )
    .unwrap();
    let before = lab.dump();
    let o = lab.apply(&["--lock-timeout", "1s"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("holds the lock"), "{}", text(&o));
    assert_same(&before, &lab.dump(), "while the lock was held");
    // plan waits too (it reads under a shared lock).
    let o = lab.plan(&["--lock-timeout", "1s"]);
    assert_eq!(o.status.code(), Some(1));
    drop(guard);
    lab.apply_ok(&[]);
}
