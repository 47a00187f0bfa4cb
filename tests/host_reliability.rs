//! Reliability of the host layer (RELIABILITY.md, "Host layer: faults,
//! kills, concurrency, secrets"): backend switches leave nothing behind,
//! children die with netc, saved plans are bound to their secrets, and an
//! overdue commit-confirmed apply is reverted by the next netc command even
//! when its reverter is gone.
//!
//! Root only: skipped with a message otherwise, unless CI=true (then a
//! skip is a failure). Every test creates its own namespace (removed on
//! drop, also when the test fails).

mod common;
mod host_util;

use common::text;
use host_util::*;
use std::time::Duration;

/// `nft list tables` in the lab's namespace, one `family name` per line, sorted.
fn nft_tables(lab: &Lab) -> Vec<String> {
    let mut v: Vec<String> = lab
        .ns
        .exec_ok("nft", &["list", "tables"])
        .lines()
        .filter_map(|l| l.strip_prefix("table "))
        .map(str::to_string)
        .collect();
    v.sort();
    v
}

#[test]
fn switching_backends_leaves_nothing_of_the_other_behind() {
    if !ready("switching_backends") {
        return;
    }
    let lab = Lab::new("sw");
    let before = nft_tables(&lab);
    assert!(before.is_empty(), "fresh namespace has no tables: {before:?}");

    // nftables → iptables: the inet netc table goes.
    lab.apply_ok(&[]);
    assert_eq!(nft_tables(&lab), ["inet netc"]);
    lab.apply_ok(&["--firewall", "iptables"]);
    let tables = nft_tables(&lab);
    assert!(!tables.contains(&"inet netc".to_string()), "{tables:?}");
    assert!(lab.ns.exec_ok("iptables-save", &[]).contains("netc-INPUT"));

    // iptables → nftables: no netc- chain, no jump, and no table iptables
    // created only for netc's chains (iptables-nft's ip/ip6 raw, mangle,
    // filter, nat with nothing in them).
    lab.apply_ok(&[]);
    assert_eq!(nft_tables(&lab), ["inet netc"], "only netc's own table is left");
    for tool in ["iptables-save", "ip6tables-save"] {
        let save = lab.ns.exec_ok(tool, &[]);
        assert!(!save.contains("netc-"), "{tool}: {save}");
    }
    let o = lab.plan(&["--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    // A foreign iptables rule keeps its table; netc's chains still go.
    lab.apply_ok(&["--firewall", "iptables"]);
    lab.ns
        .exec_ok("iptables", &["-A", "INPUT", "-p", "tcp", "--dport", "9999", "-j", "ACCEPT"]);
    lab.apply_ok(&[]);
    let save = lab.ns.exec_ok("iptables-save", &[]);
    assert!(!save.contains("netc-"), "{save}");
    assert!(save.contains("--dport 9999 -j ACCEPT"), "{save}");
    assert!(nft_tables(&lab).contains(&"ip filter".to_string()));
    let _ = Duration::ZERO;
}

/// A BGP peer with an MD5 password; returns the secrets file holding `secret`.
fn password_peer(lab: &Lab, file: &str, secret: &str) -> String {
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
    let p = lab.dir.join(file);
    std::fs::write(&p, format!("bgp-secrets:\n  upstream: {secret}\n")).expect("secrets");
    p.display().to_string()
}

#[test]
fn a_saved_plan_is_bound_to_its_secret_values() {
    if !ready("saved_plan_secrets") {
        return;
    }
    let lab = Lab::new("sec");
    let planned = password_peer(&lab, "a.secrets.yaml", "first-Secret-1");
    let other = password_peer(&lab, "b.secrets.yaml", "other-Secret-2");
    let pf = lab.dir.join("plan.json").display().to_string();
    let o = lab.plan(&["--secrets", &planned, "--out", &pf]);
    assert!(o.status.success(), "{}", text(&o));
    let saved = std::fs::read_to_string(&pf).expect("plan file");
    assert!(!saved.contains("first-Secret-1") && !saved.contains("other-Secret-2"));
    assert!(saved.contains("\"secrets_digest\""), "{saved}");

    // Another secret: refused before anything changes (the masked copies
    // are equal, so only the digest can tell).
    let o = lab.netc(&["apply", &pf, "--secrets", &other]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("does not match the given --secrets"),
        "{}",
        text(&o)
    );
    assert!(!text(&o).contains("other-Secret-2"));
    assert!(!lab.bird_conf().exists(), "nothing was written");

    // A plan file stripped of its digest cannot be checked: refused too.
    let v: serde_json::Value = serde_json::from_str(&saved).expect("json");
    let mut stripped = v.clone();
    stripped
        .as_object_mut()
        .expect("object")
        .remove("secrets_digest");
    let spf = lab.dir.join("stripped.json");
    std::fs::write(&spf, serde_json::to_string(&stripped).expect("json")).expect("write");
    let o = lab.netc(&["apply", &spf.display().to_string(), "--secrets", &planned]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("no digest of its secrets"), "{}", text(&o));

    // The secret it was planned with: applied.
    let o = lab.netc(&["apply", &pf, "--secrets", &planned]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let conf = std::fs::read_to_string(lab.bird_conf()).expect("bird.conf");
    assert!(conf.contains("first-Secret-1"));
}
