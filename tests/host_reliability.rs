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
    assert!(
        before.is_empty(),
        "fresh namespace has no tables: {before:?}"
    );

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
    lab.apply_ok(&["--firewall", "nftables"]);
    assert_eq!(
        nft_tables(&lab),
        ["inet netc"],
        "only netc's own table is left"
    );
    for tool in ["iptables-save", "ip6tables-save"] {
        let save = lab.ns.exec_ok(tool, &[]);
        assert!(!save.contains("netc-"), "{tool}: {save}");
    }
    let o = lab.plan(&["--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    // A foreign iptables rule keeps its table; netc's chains still go.
    lab.apply_ok(&["--firewall", "iptables"]);
    lab.ns.exec_ok(
        "iptables",
        &[
            "-A", "INPUT", "-p", "tcp", "--dport", "9999", "-j", "ACCEPT",
        ],
    );
    lab.apply_ok(&["--firewall", "nftables"]);
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
    assert!(
        text(&o).contains("no digest of its secrets"),
        "{}",
        text(&o)
    );

    // The secret it was planned with: applied.
    let o = lab.netc(&["apply", &pf, "--secrets", &planned]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let conf = std::fs::read_to_string(lab.bird_conf()).expect("bird.conf");
    assert!(conf.contains("first-Secret-1"));
}

/// Is the process gone (no /proc entry, or a zombie nobody reaped yet)?
fn gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(s) => s
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state == "Z" || state == "X"),
    }
}

#[test]
fn children_die_with_netc() {
    if !ready("children_die_with_netc") {
        return;
    }
    let lab = Lab::new("kill");
    let real_nft = String::from_utf8_lossy(
        &std::process::Command::new("sh")
            .args(["-c", "command -v nft"])
            .output()
            .expect("sh")
            .stdout,
    )
    .trim()
    .to_string();
    assert!(!real_nft.is_empty(), "nft not found");
    // A `nft` first on PATH that, for `nft -f` in the lab's namespace (not
    // the scratch namespace netc canonicalises in), records its pid and
    // hangs for a minute: a long transaction.
    let bin = lab.dir.join("slowbin");
    std::fs::create_dir_all(&bin).expect("mkdir");
    let pidfile = lab.dir.join("nft.pid");
    let shim = format!(
        "#!/bin/sh\n\
         if [ \"$(ip netns identify 2>/dev/null)\" = \"{ns}\" ]; then\n\
           for a in \"$@\"; do\n\
             if [ \"$a\" = \"-f\" ]; then echo $$ > {pid}.tmp; mv {pid}.tmp {pid}; exec sleep 60; fi\n\
           done\n\
         fi\n\
         exec {real_nft} \"$@\"\n",
        ns = lab.ns.name,
        pid = pidfile.display()
    );
    let shim_path = bin.join("nft");
    std::fs::write(&shim_path, shim).expect("shim");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&shim_path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );

    let mut args: Vec<String> = vec!["apply".into(), "--auto-approve".into()];
    args.extend(lab.target_args());
    args.push(lab.input().display().to_string());
    let mut netc = std::process::Command::new(env!("CARGO_BIN_EXE_netc"))
        .args(&args)
        .env("PATH", &path)
        .env("NETC_STATE_DIR", lab.dir.join("state"))
        .env("NETC_RUN_DIR", lab.dir.join("run"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start netc");
    wait_until("the slow nft -f to start", 60, || pidfile.exists());
    let child: u32 = std::fs::read_to_string(&pidfile)
        .expect("pid")
        .trim()
        .parse()
        .expect("pid number");
    assert!(!gone(child), "the slow nft runs");
    let _ = netc.kill(); // SIGKILL
    let _ = netc.wait();
    let start = std::time::Instant::now();
    while !gone(child) && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let survived = !gone(child);
    eprintln!(
        "nft -f child gone {} ms after SIGKILL of netc: {}",
        start.elapsed().as_millis(),
        !survived
    );
    if survived {
        let _ = std::process::Command::new("kill")
            .args(["-9", &child.to_string()])
            .status();
    }
    assert!(
        !survived,
        "nft -f (pid {child}) outlived netc, killed with SIGKILL"
    );

    // The lock died with netc: the next apply converges at once.
    lab.apply_ok(&[]);
    let o = lab.plan(&["--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

fn pending_file(lab: &Lab) -> std::path::PathBuf {
    lab.dir
        .join("state")
        .join(format!("netns-{}", lab.ns.name))
        .join("pending.json")
}

/// Apply with a 2s window, kill the reverter, let the deadline pass.
/// Returns the state before the apply.
fn overdue_apply(lab: &Lab) -> String {
    lab.apply_ok(&[]);
    lab.write_input("node-c.yaml", NODE_C);
    lab.write_input("policy.yaml", &policy(2222));
    let before = lab.dump();
    lab.apply_ok(&["--confirm-within", "2s"]);
    assert_ne!(lab.dump(), before);
    let pending: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(pending_file(lab)).expect("pending file"))
            .expect("pending json");
    let pid = pending["worker_pid"].as_u64().expect("worker pid");
    let o = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .output()
        .expect("kill");
    assert!(o.status.success(), "{}", text(&o));
    std::thread::sleep(Duration::from_millis(2600));
    assert!(pending_file(lab).exists(), "nobody reverted yet");
    before
}

#[test]
fn an_overdue_apply_whose_reverter_died_is_reverted_by_the_next_command() {
    if !ready("overdue_apply") {
        return;
    }
    // netc plan
    let lab = Lab::new("due");
    let before = overdue_apply(&lab);
    let t0 = std::time::Instant::now();
    let o = lab.plan(&[]);
    eprintln!(
        "netc plan reverted the overdue apply and planned in {} ms",
        t0.elapsed().as_millis()
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("was not confirmed by")
            && text(&o).contains("restored the previous state"),
        "{}",
        text(&o)
    );
    assert!(!pending_file(&lab).exists());
    assert_same(&before, &lab.dump(), "after netc plan");

    // netc confirm: too late, says so, and reverts.
    let lab = Lab::new("due2");
    let before = overdue_apply(&lab);
    let o = lab.netc(&["confirm", "--netns", &lab.ns.name]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("has been reverted"), "{}", text(&o));
    assert_same(&before, &lab.dump(), "after netc confirm");

    // netc apply: reverts first, then applies the new desired state.
    let lab = Lab::new("due3");
    let _ = overdue_apply(&lab);
    let o = lab.apply(&[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("restored the previous state"),
        "{}",
        text(&o)
    );
    assert!(!pending_file(&lab).exists());
    let o = lab.plan(&["--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

/// A `vxlan.calico` that netc did not make (calico/node's, say) carries
/// state netc knows nothing of. A plan that replaces it names everything
/// that would be lost, apply refuses without `--replace vxlan.calico` and
/// changes nothing; with the flag it goes ahead, and the new device is
/// marked as netc's.
#[test]
fn a_foreign_tunnel_is_replaced_only_with_consent() {
    if !ready("foreign_tunnel") {
        return;
    }
    let lab = Lab::new("fgnvx");
    // VNI 77: netc wants 4096, so the device must be replaced.
    for cmd in [
        "link add vxlan.calico type vxlan id 77 dstport 4789 dev eth0",
        "link set vxlan.calico up",
        "addr add 10.99.0.1/32 dev vxlan.calico",
        "neigh add 10.99.0.2 lladdr 66:00:00:00:00:99 dev vxlan.calico nud permanent",
        "route add 10.98.0.0/24 via 10.99.0.2 dev vxlan.calico onlink",
    ] {
        let args: Vec<&str> = cmd.split(' ').collect();
        lab.ns.exec_ok("ip", &args);
    }
    let o = lab.plan(&[]);
    let t = text(&o);
    assert!(t.contains("-/+ tunnel vxlan.calico"), "{t}");
    for lost in [
        "was not made by netc",
        "address 10.99.0.1/32",
        "neighbour 10.99.0.2 lladdr 66:00:00:00:00:99",
        "route 10.98.0.0/24 via 10.99.0.2",
        "apply will refuse",
        "--replace vxlan.calico",
    ] {
        assert!(t.contains(lost), "plan must say {lost:?}:\n{t}");
    }
    let before = lab.dump();
    let o = lab.apply(&[]);
    let t = text(&o);
    assert_ne!(o.status.code(), Some(0), "{t}");
    assert!(
        t.contains("--replace vxlan.calico") && t.contains("nothing was changed"),
        "{t}"
    );
    assert_same(&before, &lab.dump(), "a refused apply");
    assert!(lab
        .ns
        .exec_ok("ip", &["route", "show", "10.98.0.0/24"])
        .contains("via 10.99.0.2"));

    let out = lab.apply_ok(&["--replace", "vxlan.calico"]);
    assert!(out.contains("Apply complete!"), "{out}");
    let d = lab
        .ns
        .exec_ok("ip", &["-d", "link", "show", "vxlan.calico"]);
    assert!(
        d.contains("vxlan id 4096") && d.contains("alias netc"),
        "{d}"
    );
    // Now the device is netc's: nothing to do, and no refusal on later plans.
    let o = lab.plan(&["--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

/// A pool whose CIDR changes moves the tunnel address: removing the
/// device's only address makes the kernel flush its neighbours and the
/// routes through it. The plan must order and express that so the apply
/// converges in one run (and the underlay MTU changing at the same time,
/// which re-sets the device, must not break it either).
#[test]
fn a_pool_cidr_change_converges_in_one_apply() {
    if !ready("pool_cidr_change") {
        return;
    }
    let lab = Lab::new("cidr");
    lab.apply_ok(&[]);
    let before = lab
        .ns
        .exec_ok("ip", &["-4", "addr", "show", "vxlan.calico"]);
    assert!(before.contains("10.250."), "{before}");
    for (cidr, mtu) in [("10.251.0.0/20", None), ("10.252.0.0/20", Some("1400"))] {
        lab.write_input(
            "pools.yaml",
            &pool("Always", "Never").replace("10.250.0.0/20", cidr),
        );
        if let Some(m) = mtu {
            let nodes = std::fs::read_to_string(lab.input().join("nodes.yaml")).unwrap();
            let nodes = nodes.replacen(
                "netc.dev/underlay-interface: eth0",
                &format!("netc.dev/underlay-interface: eth0\n    netc.dev/underlay-mtu: \"{m}\""),
                1,
            );
            lab.write_input("nodes.yaml", &nodes);
        }
        let out = lab.apply_ok(&[]);
        assert!(out.contains("Apply complete!"), "{cidr}: {out}");
        let prefix = &cidr[..7];
        let a = lab
            .ns
            .exec_ok("ip", &["-4", "addr", "show", "vxlan.calico"]);
        assert!(a.contains(prefix), "{cidr}: {a}");
        let n = lab.ns.exec_ok(
            "ip",
            &["neigh", "show", "dev", "vxlan.calico", "nud", "permanent"],
        );
        assert!(n.contains(prefix), "{cidr}: the peer's VTEP neighbour: {n}");
        let r = lab.ns.exec_ok("ip", &["route", "show", "proto", "233"]);
        assert!(r.contains(prefix), "{cidr}: routes: {r}");
        let o = lab.plan(&["--detailed-exitcode"]);
        assert_eq!(o.status.code(), Some(0), "{cidr}: {}", text(&o));
    }
}

/// An underlay MTU the parent device cannot carry: the kernel would only
/// say "Invalid argument". netc says which numbers clash, in the plan and
/// before apply changes anything.
#[test]
fn a_tunnel_mtu_the_underlay_cannot_carry_is_explained() {
    if !ready("tunnel_mtu") {
        return;
    }
    let lab = Lab::new("mtu");
    let nodes = std::fs::read_to_string(lab.input().join("nodes.yaml")).unwrap();
    lab.write_input(
        "nodes.yaml",
        &nodes.replacen(
            "netc.dev/underlay-interface: eth0",
            "netc.dev/underlay-interface: eth0\n    netc.dev/underlay-mtu: \"9000\"",
            1,
        ),
    );
    let want = "underlay eth0 has MTU 1500 < 8950 + 50";
    let t = text(&lab.plan(&[]));
    assert!(t.contains("apply will refuse") && t.contains(want), "{t}");
    let before = lab.dump();
    let o = lab.apply(&[]);
    let t = text(&o);
    assert_ne!(o.status.code(), Some(0), "{t}");
    assert!(t.contains(want) && t.contains("nothing was changed"), "{t}");
    assert_same(&before, &lab.dump(), "a refused apply");
}

/// A tunnel device netc did not make is never deleted: not by an apply
/// whose desired state no longer has it, not by `netc destroy` — they name
/// it and leave it (with its addresses) as it is.
#[test]
fn a_foreign_tunnel_survives_apply_and_destroy() {
    if !ready("foreign_tunnel_kept") {
        return;
    }
    let lab = Lab::new("fgnkeep");
    lab.apply_ok(&[]);
    // Take netc's mark off: from now on the device is someone else's.
    lab.ns
        .exec_ok("ip", &["link", "set", "vxlan.calico", "alias", ""]);
    let d = lab
        .ns
        .exec_ok("ip", &["-d", "link", "show", "vxlan.calico"]);
    assert!(!d.contains("alias netc"), "{d}");
    let addr = |lab: &Lab| {
        lab.ns
            .exec_ok("ip", &["-4", "addr", "show", "dev", "vxlan.calico"])
    };
    let before = addr(&lab);
    assert!(before.contains("inet "), "{before}");

    // The pool no longer encapsulates: netc's desired state has no tunnel.
    lab.write_input("pools.yaml", &pool("Never", "Never"));
    let t = text(&lab.plan(&[]));
    assert!(
        !t.contains("- tunnel vxlan.calico"),
        "a foreign device is not deleted:\n{t}"
    );
    lab.apply_ok(&[]);
    assert_eq!(
        addr(&lab),
        before,
        "apply left the foreign device and its address"
    );

    let mut v = vec!["destroy".to_string(), "--auto-approve".to_string()];
    v.extend(lab.target_args());
    let a: Vec<&str> = v.iter().map(String::as_str).collect();
    let o = lab.netc(&a);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(
        t.contains("tunnel vxlan.calico was not made by netc"),
        "{t}"
    );
    assert_eq!(
        addr(&lab),
        before,
        "destroy left the foreign device and its address"
    );
    let tables = lab.ns.exec_ok("nft", &["list", "tables"]);
    assert!(
        !tables.contains("inet netc"),
        "netc's own table is gone: {tables}"
    );
}
