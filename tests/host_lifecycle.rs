//! `netc destroy`, `netc show`, `plan --summary / --only / --replace` and
//! the recorded firewall backend, against real kernels in namespaces.
//!
//! Root only: skipped with a message otherwise, unless CI=true. Each test
//! creates its namespaces and removes them when it ends (also on failure:
//! `Netns` and `Lab` clean up on drop).

mod common;
mod host_util;

use common::{repo, text};
use host_util::*;

/// The lab namespace turned into the golden case `vxlan-always`, node-a:
/// its input and netc.lock, its underlay address and its workload device.
fn golden_lab(name: &str) -> Lab {
    let lab = Lab::new(name);
    for f in ["nodes.yaml", "pools.yaml", "bgp.yaml", "policy.yaml"] {
        lab.remove_input(f);
    }
    let g = repo().join("golden/vxlan-always");
    std::fs::copy(
        g.join("input/cluster.yaml"),
        lab.input().join("cluster.yaml"),
    )
    .unwrap();
    std::fs::copy(g.join("netc.lock"), lab.input().join("netc.lock")).unwrap();
    lab.ns
        .exec_ok("ip", &["addr", "add", "10.0.0.1/24", "dev", "eth0"]);
    lab.ns.exec_ok(
        "ip",
        &[
            "link",
            "add",
            "cali0a1b2c3d4e5",
            "type",
            "veth",
            "peer",
            "name",
            "wl0",
        ],
    );
    lab.ns
        .exec_ok("ip", &["link", "set", "cali0a1b2c3d4e5", "up"]);
    lab.ns.exec_ok("ip", &["link", "set", "wl0", "up"]);
    lab
}

fn destroy(lab: &Lab, extra: &[&str]) -> std::process::Output {
    let mut v = vec!["destroy".to_string()];
    v.extend(lab.target_args());
    v.extend(extra.iter().map(|s| s.to_string()));
    let a: Vec<&str> = v.iter().map(String::as_str).collect();
    lab.netc(&a)
}

/// Nothing of netc's is left: no tunnel device, no proto-233 route, no
/// `inet netc` table, no `netc-` chain or jump to one.
fn assert_nothing_of_netc(lab: &Lab) {
    let links = lab.ns.exec_ok("ip", &["-d", "link", "show"]);
    assert!(!links.contains("vxlan.calico"), "{links}");
    let routes = lab
        .ns
        .exec_ok("ip", &["route", "show", "proto", "233", "table", "all"]);
    assert_eq!(routes.trim(), "", "proto 233 routes remain");
    let tables = lab.ns.exec_ok("nft", &["list", "tables"]);
    assert!(!tables.contains("inet netc"), "{tables}");
    for tool in ["iptables-save", "ip6tables-save"] {
        let save = lab.ns.exec_ok(tool, &[]);
        assert!(!save.contains("netc-"), "{tool}:\n{save}");
    }
}

#[test]
fn destroy_removes_everything_of_netc_and_nothing_foreign() {
    if !ready("destroy_golden") {
        return;
    }
    let lab = golden_lab("dstr");
    let out = lab.apply_ok(&[]);
    assert!(out.contains("Apply complete!"), "{out}");
    lab.add_foreign();
    let foreign = lab.foreign();
    let workload = lab
        .ns
        .exec_ok("ip", &["-d", "link", "show", "cali0a1b2c3d4e5"]);
    lab.start_bird();
    let sock = lab.bird_socket().display().to_string();
    let protos = lab.ns.exec_ok("birdc", &["-s", &sock, "show", "protocols"]);
    assert!(protos.contains("BGP"), "{protos}");
    lab.take_writes();

    // Without --auto-approve and without a terminal: refused, nothing changed.
    let before = lab.dump();
    let o = destroy(&lab, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("nothing was changed"), "{}", text(&o));
    assert_same(&before, &lab.dump(), "after a refused destroy");

    let o = destroy(&lab, &["--auto-approve"]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(t.contains("- tunnel vxlan.calico"), "{t}");
    assert!(t.contains("- nft table"), "{t}");
    assert!(t.contains("Destroy complete!"), "{t}");
    assert_nothing_of_netc(&lab);
    // BIRD's file is netc's empty config, and the running BIRD dropped
    // every session netc had configured.
    let conf = std::fs::read_to_string(lab.bird_conf()).unwrap();
    assert_eq!(conf, netc_host::destroy::EMPTY_BIRD_CONFIG);
    let protos = lab.ns.exec_ok("birdc", &["-s", &sock, "show", "protocols"]);
    assert!(!protos.contains("BGP"), "{protos}");
    // Everything foreign is as it was, the workload's device included.
    assert_eq!(foreign, lab.foreign(), "foreign objects changed");
    assert_eq!(
        workload,
        lab.ns
            .exec_ok("ip", &["-d", "link", "show", "cali0a1b2c3d4e5"])
    );

    // Idempotent: a second destroy finds nothing and writes nothing.
    lab.take_writes();
    let o = destroy(&lab, &["--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("Nothing to destroy"), "{}", text(&o));
    assert_eq!(lab.take_writes(), Vec::<String>::new());

    // show: nothing of netc's but the emptied BIRD file.
    let mut v = vec!["show".to_string()];
    v.extend(lab.target_args());
    let a: Vec<&str> = v.iter().map(String::as_str).collect();
    let o = lab.netc(&a);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(t.contains("emptied by netc destroy"), "{t}");
    assert!(!t.contains("vxlan.calico"), "{t}");
}

/// A dump with interface indices dropped and lines sorted: equal when the
/// same objects exist, whatever order they were created in.
fn without_ifindex(dump: &str) -> String {
    let mut lines: Vec<String> = dump
        .lines()
        .map(|l| {
            let digits = l.chars().take_while(char::is_ascii_digit).count();
            if digits > 0 && l[digits..].starts_with(": ") {
                format!("N{}", &l[digits..])
            } else {
                l.to_string()
            }
        })
        .collect();
    lines.sort();
    lines.join("\n")
}

#[test]
fn destroy_with_iptables_and_a_failure_rolls_back() {
    if !ready("destroy_iptables") {
        return;
    }
    let lab = Lab::new("dsti");
    lab.apply_ok(&["--firewall", "iptables"]);
    lab.add_foreign();
    let foreign = lab.foreign();
    // The backend is recorded: a plan that forgets --firewall proposes no switch.
    let o = lab.plan(&["--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    // A failing step: everything restored, verified.
    let before = lab.dump();
    let mut v = vec!["destroy".to_string(), "--auto-approve".to_string()];
    v.extend(lab.target_args());
    let a: Vec<&str> = v.iter().map(String::as_str).collect();
    let o = lab.netc_env(&a, &[("NETC_INJECT_FAILURE", "firewall")]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(t.contains("rolled back"), "{t}");
    // The rollback re-creates the tunnel: a new ifindex, listed last.
    assert_same(
        &without_ifindex(&before),
        &without_ifindex(&lab.dump()),
        "after a failed destroy",
    );
    let o = lab.plan(&["--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    let o = destroy(&lab, &["--auto-approve"]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(t.contains("iptables chain"), "{t}");
    assert_nothing_of_netc(&lab);
    let input = lab.ns.exec_ok("iptables", &["-S", "INPUT"]);
    assert!(input.contains("203.0.113.7"), "{input}");
    assert_eq!(foreign, lab.foreign(), "foreign objects changed");
}

#[test]
fn only_replace_summary_and_show() {
    if !ready("only_replace") {
        return;
    }
    let lab = Lab::new("only");
    // --summary: one line per step.
    let o = lab.plan(&["--summary"]);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(t.contains("tunnels: +1 ~0 -0"), "{t}");
    assert!(t.contains("BIRD: +1 ~0 -0"), "{t}");
    assert!(!t.contains("+ tunnel vxlan.calico"), "{t}");

    // --only routes,firewall: no tunnel, the rest untouched.
    let out = lab.apply_ok(&["--only", "firewall"]);
    assert!(
        out.contains("--only: this plan covers only firewall"),
        "{out}"
    );
    assert!(lab
        .ns
        .exec("nft", &["list", "table", "inet", "netc"])
        .status
        .success());
    let links = lab.ns.exec_ok("ip", &["link", "show"]);
    assert!(!links.contains("vxlan.calico"), "{links}");
    assert!(!lab.bird_conf().exists());
    let o = lab.plan(&["--only", "firewall", "--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    // A saved plan, rendered by `netc show PLAN.json`.
    let saved = lab.dir.join("plan.json");
    let o = lab.plan(&["--out", saved.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let o = lab.netc(&["show", saved.to_str().unwrap()]);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(t.contains("Saved plan for node node-a on netns"), "{t}");
    assert!(t.contains("+ tunnel vxlan.calico"), "{t}");

    lab.apply_ok(&[]);

    // Defaults from a config file, NETC_* above it, flags above both.
    let conf = lab.dir.join("netc.yaml");
    std::fs::write(
        &conf,
        format!(
            "node: node-a\ninput: {}\nbird-config: {}\nbird-socket: {}\nfirewall: nftables\n",
            lab.input().display(),
            lab.bird_conf().display(),
            lab.bird_socket().display()
        ),
    )
    .unwrap();
    let c = conf.to_str().unwrap();
    let ns = lab.ns.name.clone();
    let base = ["--config", c, "plan", "--netns", &ns, "--detailed-exitcode"];
    let o = lab.netc(&base);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = lab.netc_env(&base, &[("NETC_NODE", "node-b")]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "NETC_NODE beats the file: {}",
        text(&o)
    );
    let o = lab.netc_env(&base, &[("NETC_FIREWALL", "iptables")]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "NETC_FIREWALL beats the file: {}",
        text(&o)
    );
    let mut flag = base.to_vec();
    flag.extend(["--firewall", "nftables"]);
    let o = lab.netc_env(&flag, &[("NETC_FIREWALL", "iptables")]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "the flag beats NETC_FIREWALL: {}",
        text(&o)
    );

    // --replace: re-created although unchanged, then converged again.
    let idx = |l: &Lab| {
        l.ns.exec_ok("ip", &["-o", "link", "show", "vxlan.calico"])
            .split(':')
            .next()
            .unwrap_or_default()
            .to_string()
    };
    let before = idx(&lab);
    let o = lab.plan(&["--replace", "vxlan.calico"]);
    assert!(text(&o).contains("-/+ tunnel vxlan.calico"), "{}", text(&o));
    let out = lab.apply_ok(&["--replace", "vxlan.calico"]);
    assert!(out.contains("Apply complete!"), "{out}");
    assert_ne!(before, idx(&lab), "the device was not re-created");
    let o = lab.plan(&["--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = lab.plan(&["--replace", "eth0"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));

    // show, text and JSON.
    let mut v = vec!["show".to_string()];
    v.extend(lab.target_args());
    let a: Vec<&str> = v.iter().map(String::as_str).collect();
    let o = lab.netc(&a);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(t.contains("vxlan.calico: vxlan id 4096"), "{t}");
    assert!(t.contains("blackhole"), "{t}");
    assert!(t.contains("nftables: table inet netc"), "{t}");
    assert!(t.contains("generated by netc"), "{t}");
    let mut a2 = a.clone();
    a2.extend(["--format", "json"]);
    let o = lab.netc(&a2);
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).expect("show JSON");
    assert_eq!(j["state"]["links"][0]["name"], "vxlan.calico");
    assert_eq!(j["recorded_firewall"], "nftables");
}
