//! Firewall: lowering (policy semantics in the IR) and the nftables and
//! iptables emitters, built through the real pipeline (YAML → load →
//! validate → allocate → lower → emit).
//!
//! Tests that need the kernel (the real checkers `nft -c -f` and
//! `iptables-restore --test`, real loads, real traffic) run in throwaway
//! network namespaces. They need root: without it they skip with a message,
//! unless CI=true, where skipping is a failure.

use netc_test_support::{have_tool as have, in_ci, is_root};

use netc_ir::*;
use netc_targets::{iptables, nftables};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------- pipeline

fn compile(yaml: &str, node: &str) -> HostIr {
    netc_test_support::pipeline::lower_node(yaml, node)
}

// ---------------------------------------------------------------- kernel helpers

/// Root, network namespaces and the tools; skip (or, with CI=true, fail) otherwise.
fn kernel_ok(test: &str, tools: &[&str]) -> bool {
    if !is_root() {
        assert!(!in_ci(), "{test}: needs root; CI=true forbids skipping");
        eprintln!("SKIP {test}: needs root and network namespaces (CI=true makes this a failure)");
        return false;
    }
    for t in tools {
        if !have(t) {
            assert!(
                !in_ci(),
                "{test}: `{t}` is not installed (CI must install it)"
            );
            eprintln!("SKIP {test}: `{t}` is not installed");
            return false;
        }
    }
    true
}

/// A command with optional stdin (test-support's runners).
fn run(cmd: &str, args: &[&str], stdin: Option<&str>) -> Output {
    match stdin {
        Some(input) => netc_test_support::run_stdin(cmd, args, input),
        None => netc_test_support::run(cmd, args),
    }
}

fn must(o: Output, what: &str, input: &str) -> String {
    if !o.status.success() {
        let numbered: String = input
            .lines()
            .enumerate()
            .map(|(i, l)| format!("{:4} {l}\n", i + 1))
            .collect();
        panic!(
            "{what} failed: {}\nstderr:\n{}\ninput:\n{numbered}",
            o.status,
            String::from_utf8_lossy(&o.stderr)
        );
    }
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A network namespace, deleted (with its interfaces) on drop.
struct Netns(String);

impl Netns {
    fn new(tag: &str) -> Netns {
        static N: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "netc-fw-{}-{}-{tag}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        );
        let o = run("ip", &["netns", "add", &name], None);
        must(o, "ip netns add", "");
        let ns = Netns(name);
        ns.sh("ip link set lo up");
        ns
    }
    fn exec(&self, cmd: &str, args: &[&str], stdin: Option<&str>) -> Output {
        let mut a = vec!["netns", "exec", &self.0, cmd];
        a.extend_from_slice(args);
        run("ip", &a, stdin)
    }
    fn sh(&self, script: &str) -> String {
        must(self.exec("sh", &["-c", script], None), script, "")
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.0])
            .stderr(Stdio::null())
            .status();
    }
}

/// Every checker and a real load (twice: the file must replace itself),
/// each in a fresh namespace.
fn check_artifacts(ir: &HostIr) {
    let nft = nftables::emit(ir);
    let v4 = iptables::emit(ir);
    let v6 = iptables::emit_v6(ir);
    let ns = Netns::new("chk");
    must(
        ns.exec("nft", &["-c", "-f", "-"], Some(&nft)),
        "nft -c -f",
        &nft,
    );
    must(ns.exec("nft", &["-f", "-"], Some(&nft)), "nft -f", &nft);
    must(
        ns.exec("nft", &["-f", "-"], Some(&nft)),
        "nft -f (again)",
        &nft,
    );
    for (tool, text) in [("iptables-restore", &v4), ("ip6tables-restore", &v6)] {
        must(
            ns.exec(tool, &["--test"], Some(text)),
            &format!("{tool} --test"),
            text,
        );
        must(
            ns.exec(tool, &["--noflush"], Some(text)),
            &format!("{tool} --noflush"),
            text,
        );
        must(
            ns.exec(tool, &["--noflush"], Some(text)),
            &format!("{tool} --noflush (again)"),
            text,
        );
    }
}

const TOOLS: &[&str] = &["ip", "nft", "iptables-restore", "ip6tables-restore"];

// ---------------------------------------------------------------- fixtures

/// Tiers, order, Pass / Deny / Log, selectors, network sets, port ranges,
/// ICMP, named ports, IPv4 and IPv6.
const POLICIES: &str = r#"
apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: pods}
spec: {cidr: 10.80.0.0/16, natOutgoing: true}
---
apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: pods6}
spec: {cidr: "fd00:80::/48", natOutgoing: true}
---
apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: internal}
spec: {cidr: 10.90.0.0/16}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: node-a}
spec: {bgp: {ipv4Address: 10.0.0.1/24}}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: node-b}
spec: {bgp: {ipv4Address: 10.0.0.2/24}}
---
apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata:
  name: node--a-k8s-web-eth0
  namespace: shop
  labels: {app: web, tier: frontend}
spec:
  node: node-a
  interfaceName: caliweb0000001
  ipNetworks: [10.80.0.10/32, "fd00:80::10/128"]
  ports:
  - {name: http, protocol: TCP, port: 80}
---
apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata:
  name: node--a-k8s-api-eth0
  namespace: shop
  labels: {app: api}
spec:
  node: node-a
  interfaceName: caliapi0000001
  ipNetworks: [10.80.0.11/32]
  ports:
  - {name: http, protocol: TCP, port: 8080}
---
apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata:
  name: node--b-k8s-db-eth0
  namespace: shop
  labels: {app: db}
spec:
  node: node-b
  interfaceName: calidb00000001
  ipNetworks: [10.80.1.20/32]
---
apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata:
  name: node--b-k8s-batch-eth0
  namespace: jobs
  labels: {app: web}
spec:
  node: node-b
  interfaceName: calibatch00001
  ipNetworks: [10.80.1.30/32]
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkSet
metadata:
  name: partners
  labels: {trust: partner}
spec:
  nets: [198.51.100.0/24, 203.0.113.16/28, "2001:db8:1::/48", 198.51.100.7/32]
---
apiVersion: projectcalico.org/v3
kind: NetworkSet
metadata:
  name: office
  namespace: shop
  labels: {trust: office}
spec:
  nets: [192.0.2.0/25]
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: security.baseline}
spec:
  tier: security
  order: 1
  selector: all()
  types: [Ingress]
  ingress:
  - action: Deny
    source: {nets: [100.64.0.0/10]}
  - action: Log
    protocol: ICMP
    icmp: {type: 8, code: 0}
  - action: Allow
    protocol: ICMP
    notICMP: {type: 5, code: 1}
  - action: Pass
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: zeta.audit}
spec:
  tier: zeta
  selector: app == "api"
  types: [Ingress]
  ingress:
  - action: Pass
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: allow-partners-web}
spec:
  order: 10
  selector: app == "web"
  ingress:
  - action: Allow
    protocol: TCP
    source: {selector: trust == "partner"}
    destination:
      ports: [80, 443, "8000:8100", 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25]
  - action: Deny
    protocol: TCP
    destination: {notPorts: [22]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: b-unordered}
spec:
  selector: app == "web"
  ingress:
  - action: Allow
    protocol: UDP
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: a-unordered}
spec:
  selector: app == "web"
  ingress:
  - action: Allow
    protocol: SCTP
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: api, namespace: shop}
spec:
  order: 20
  selector: app == "api"
  types: [Ingress, Egress]
  ingress:
  - action: Allow
    protocol: TCP
    source: {selector: app == "web"}
    destination: {ports: [http]}
  - action: Allow
    protocol: TCP
    source:
      selector: trust == "office"
      notNets: [192.0.2.0/28]
  - action: Allow
    source: {selector: app == "nothing-has-this"}
  - action: Allow
    source: {notNets: [10.0.0.0/8]}
  egress:
  - action: Allow
    protocol: TCP
    destination:
      selector: app == "db"
      ports: [5432]
  - action: Allow
    protocol: UDP
    destination: {ports: [53]}
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: web-to-web, namespace: jobs}
spec:
  selector: app == "web"
  ingress:
  - action: Allow
"#;

fn ir_a() -> HostIr {
    compile(POLICIES, "node-a")
}

fn chain_of<'a>(fw: &'a Firewall, endpoint: &str, dir: Direction, hook: Hook) -> &'a EndpointChain {
    fw.endpoint_chains
        .iter()
        .find(|e| e.endpoint.ends_with(endpoint) && e.direction == dir && e.hooks.contains(&hook))
        .unwrap_or_else(|| panic!("no {dir:?} chain for {endpoint} on {hook:?}"))
}

/// Policies (display names) an endpoint chain runs, per tier.
fn tiers_of(fw: &Firewall, e: &EndpointChain) -> Vec<(String, Vec<String>)> {
    e.tiers
        .iter()
        .map(|t| {
            let t = fw.tier(t).expect("tier");
            (
                t.tier.clone(),
                t.policies
                    .iter()
                    .map(|p| fw.policy(p).expect("policy").policy.clone())
                    .collect(),
            )
        })
        .collect()
}

fn set_elems(fw: &Firewall, name: &Ref<AddrSet>) -> Vec<String> {
    fw.set(name)
        .expect("set")
        .elements
        .iter()
        .map(|e| e.to_string())
        .collect()
}

// ---------------------------------------------------------------- semantics

#[test]
fn tiers_orders_and_namespaces() {
    let ir = ir_a();
    let fw = &ir.firewall;
    let web = chain_of(
        fw,
        "shop/node--a-k8s-web-eth0",
        Direction::Ingress,
        Hook::Forward,
    );
    assert_eq!(
        tiers_of(fw, web),
        vec![
            (
                "security".to_string(),
                vec!["GlobalNetworkPolicy security.baseline".to_string()]
            ),
            (
                "default".to_string(),
                vec![
                    // order 10 first, then unordered by name
                    "GlobalNetworkPolicy allow-partners-web".to_string(),
                    "GlobalNetworkPolicy a-unordered".to_string(),
                    "GlobalNetworkPolicy b-unordered".to_string(),
                ]
            ),
        ],
        "the NetworkPolicy of namespace jobs must not select shop's web"
    );
    assert_eq!(web.default, Verdict::Allow);
    // named tiers by name, `default` last
    let api = chain_of(
        fw,
        "shop/node--a-k8s-api-eth0",
        Direction::Ingress,
        Hook::Output,
    );
    let names: Vec<String> = tiers_of(fw, api).into_iter().map(|t| t.0).collect();
    assert_eq!(names, ["security", "zeta", "default"]);
    // every tier of a normal chain drops at its end
    assert!(api.tiers.iter().all(|t| fw.tier(t).unwrap().end_drop));
    // api egress: forward variant continues to the output stage
    let fwd = chain_of(
        fw,
        "shop/node--a-k8s-api-eth0",
        Direction::Egress,
        Hook::Forward,
    );
    assert!(matches!(&fwd.on_allow, OnAllow::Then(k) if *k == "k-fwd-out"));
    let inp = chain_of(
        fw,
        "shop/node--a-k8s-api-eth0",
        Direction::Egress,
        Hook::Input,
    );
    assert_eq!(inp.on_allow, OnAllow::Accept);
    // a workload without policy: no tiers, allow
    let web_out = chain_of(
        fw,
        "shop/node--a-k8s-web-eth0",
        Direction::Egress,
        Hook::Input,
    );
    assert!(web_out.tiers.is_empty());
    assert_eq!(web_out.default, Verdict::Allow);
    // conntrack on the filter hooks
    let hooks: Vec<Hook> = fw.hooks.iter().map(|h| h.hook).collect();
    assert_eq!(hooks, [Hook::Input, Hook::Forward, Hook::Output]);
    assert!(fw.hooks.iter().all(|h| h.conntrack && !h.accept_untracked));
    // IPv6 neighbour discovery before any policy, except on forward
    for h in &fw.hooks {
        assert_eq!(h.accept_icmpv6.contains(&135), h.hook != Hook::Forward);
    }
    // deterministic
    assert_eq!(ir_a(), ir);
    assert_eq!(nftables::emit(&ir), nftables::emit(&ir_a()));
    assert_eq!(iptables::emit(&ir), iptables::emit(&ir_a()));
}

#[test]
fn rules_sets_and_families() {
    let ir = ir_a();
    let fw = &ir.firewall;
    let pol = |display: &str, dir: Direction| -> &PolicyChain {
        fw.policies
            .iter()
            .find(|p| p.policy == display && p.direction == dir && p.on_allow == OnAllow::Accept)
            .unwrap_or_else(|| panic!("{display}"))
    };
    // selector over a GlobalNetworkSet, aggregated, both families
    let p = pol("GlobalNetworkPolicy allow-partners-web", Direction::Ingress);
    assert_eq!(p.rules.len(), 3, "{:#?}", p.rules);
    let r4 = &p.rules[0].matches;
    assert_eq!(r4.family, Some(Family::V4));
    assert_eq!(
        set_elems(fw, &r4.src.in_sets[0]),
        ["198.51.100.0/24", "203.0.113.16/28"]
    );
    assert_eq!(r4.dst.ports.first(), Some(&(1, 1)));
    assert!(r4.dst.ports.contains(&(8000, 8100)));
    let r6 = &p.rules[1].matches;
    assert_eq!(r6.family, Some(Family::V6));
    assert_eq!(set_elems(fw, &r6.src.in_sets[0]), ["2001:db8:1::/48"]);
    // no address match: one rule for both families
    assert_eq!(p.rules[2].matches.family, None);
    assert_eq!(p.rules[2].matches.dst.not_ports, vec![(22, 22)]);

    let p = pol("NetworkPolicy shop/api", Direction::Ingress);
    // named port `http` resolves on the policy's own endpoints: 8080 on api only
    let named: Vec<_> = p
        .rules
        .iter()
        .filter(|r| r.comment.contains("ingress rule 0"))
        .collect();
    assert_eq!(named.len(), 2, "one rule per family");
    let m = &named[0].matches;
    assert_eq!(m.dst.ports, vec![(8080, 8080)]);
    assert_eq!(set_elems(fw, &m.dst.in_sets[0]), ["10.80.0.11/32"]);
    assert_eq!(
        set_elems(fw, &m.src.in_sets[0]),
        ["10.80.0.10/32"],
        "web in shop only"
    );
    // NetworkSet of the same namespace, notNets: IPv4 only
    let r = p
        .rules
        .iter()
        .filter(|r| r.comment.contains("ingress rule 1"))
        .collect::<Vec<_>>();
    assert_eq!(r.len(), 1);
    assert_eq!(
        set_elems(fw, &r[0].matches.src.in_sets[0]),
        ["192.0.2.0/25"]
    );
    // (one network: matched inline, no set)
    assert_eq!(
        r[0].matches.src.not_in_net,
        Some("192.0.2.0/28".parse().unwrap())
    );
    assert!(r[0].matches.src.not_in_sets.is_empty());
    // a selector that selects nothing: kept, with empty sets, never matches
    let r = p
        .rules
        .iter()
        .filter(|r| r.comment.contains("ingress rule 2"))
        .collect::<Vec<_>>();
    assert_eq!(r.len(), 2);
    assert!(r.iter().all(|r| fw
        .set(&r.matches.src.in_sets[0])
        .unwrap()
        .elements
        .is_empty()));
    // notNets of IPv4 only: the rule is IPv4 only (Felix drops a rule from
    // a family when a nets list has no address of that family)
    let r: Vec<_> = p
        .rules
        .iter()
        .filter(|r| r.comment.contains("ingress rule 3"))
        .collect();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].matches.family, Some(Family::V4));

    // ICMP: family IPv4; notICMP with a code
    let p = pol("GlobalNetworkPolicy security.baseline", Direction::Ingress);
    let icmp = &p.rules[2].matches;
    assert_eq!(icmp.family, Some(Family::V4));
    assert_eq!(
        icmp.not_icmp,
        Some(IcmpMatch {
            icmp_type: 5,
            code: Some(1)
        })
    );
    assert_eq!(p.rules[3].action, RuleAction::Pass);

    // natOutgoing per family
    assert_eq!(fw.nat.len(), 2);
    assert_eq!(
        set_elems(fw, &Ref::new(Name::new("nat-src4").unwrap())),
        ["10.80.0.0/16"]
    );
    assert_eq!(
        set_elems(fw, &Ref::new(Name::new("nat-pools4").unwrap())),
        ["10.80.0.0/16", "10.90.0.0/16"]
    );
    assert_eq!(
        set_elems(fw, &Ref::new(Name::new("nat-src6").unwrap())),
        ["fd00:80::/48"]
    );

    // names are safe and short
    for n in fw
        .sets
        .iter()
        .map(|s| &s.name)
        .chain(fw.policies.iter().map(|p| &p.name))
        .chain(fw.tiers.iter().map(|p| &p.name))
        .chain(fw.endpoint_chains.iter().map(|p| &p.name))
    {
        let n = n.as_str();
        assert!(n.len() <= MAX_NAME_LEN && n.contains('-'), "{n}");
        assert!(n
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_'));
    }
}

#[test]
fn emitted_text_shape() {
    let ir = ir_a();
    let nft = nftables::emit(&ir);
    assert!(nft.contains("table inet netc\ndelete table inet netc\ntable inet netc {\n"));
    assert!(nft.contains("type filter hook forward priority filter; policy accept;"));
    assert!(nft.contains("iifname vmap @d-fwd-in-map"));
    assert!(nft.contains("meta l4proto icmp icmp type . icmp code != { 5 . 1 }"));
    assert!(nft.contains("type nat hook postrouting priority srcnat;"));
    assert!(nft.contains("ip6 saddr @nat-src6 ip6 daddr != @nat-pools6 masquerade"));
    let v4 = iptables::emit(&ir);
    // more than 15 port slots: a stage chain with multiport chunks
    assert!(v4.contains("-s 198.51.100.0/24 -g netc-r-"));
    assert!(v4.contains("-s 203.0.113.16/28 -g netc-r-"));
    assert!(v4.contains("-m multiport --dports 1,3,5,7,9,11,13,15,17,19,21,23,25,80,443 -j ACCEPT"));
    assert!(v4.contains("-m multiport --dports 8000:8100 -j ACCEPT"));
    assert!(v4.contains("never matches (set s4-app-nothing-"));
    assert!(v4.contains("-p icmp -m icmp ! --icmp-type 5/1 -j ACCEPT"));
    assert!(v4.contains("-d 10.90.0.0/16 -j RETURN") && v4.contains("-j MASQUERADE"));
    let v6 = iptables::emit_v6(&ir);
    assert!(!v6.contains("-p icmp "), "IPv4 rules stay out of ip6tables");
    assert!(v6.contains("-s 2001:db8:1::/48"));
    assert!(v6.contains("-A netc-INPUT -m comment --comment \"IPv6 neighbour discovery\" -p ipv6-icmp -m icmp6 --icmpv6-type 135 -j ACCEPT"));
    assert!(!v4.contains("icmpv6"));
    assert!(nft.contains("meta l4proto icmpv6 icmpv6 type { 130, 131, 132, 133, 135, 136 } accept"));
    // a rule whose address set is empty never matches: left out, with a note
    assert!(
        nft.contains("# NetworkPolicy shop/api ingress rule 2: never matches (set s4-app-nothing-")
    );
    for l in v4.lines().chain(v6.lines()) {
        assert!(
            l.starts_with('#')
                || l.starts_with('*')
                || l == "COMMIT"
                || l.starts_with(":netc-")
                || l.starts_with("-A netc-"),
            "{l}"
        );
        if let Some(c) = l.strip_prefix(':') {
            assert!(c.split(' ').next().unwrap().len() <= 28, "{l}");
        }
    }
}

/// Host endpoints: exact and `*`, failsafes (annotation), applyOnForward,
/// preDNAT, doNotTrack.
const HOSTS: &str = r#"
apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: pods}
spec: {cidr: 10.81.0.0/16}
---
apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: {name: default}
spec: {listenPort: 1179}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata:
  name: gw-1
  annotations: {"netc.dev/failsafe-inbound": "tcp:22,udp:68,tcp:2222"}
spec: {bgp: {ipv4Address: 10.0.0.1/24}}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: gw-2}
spec: {bgp: {ipv4Address: 10.0.0.2/24}}
---
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata:
  name: gw-1-eth0
  labels: {iface: uplink}
spec: {node: gw-1, interfaceName: eth0, expectedIPs: [10.0.0.1]}
---
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata:
  name: gw-1-any
  labels: {iface: any}
spec: {node: gw-1, interfaceName: "*"}
---
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata:
  name: gw-2-eth1
  labels: {iface: uplink}
spec: {node: gw-2, interfaceName: eth1, expectedIPs: [10.0.0.2]}
---
apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata:
  name: gw--1-k8s-app-eth0
  namespace: default
  labels: {app: app}
spec:
  node: gw-1
  interfaceName: caliapp0000001
  ipNetworks: [10.81.0.5/32]
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: uplink-in}
spec:
  order: 10
  selector: iface == "uplink"
  types: [Ingress, Egress]
  ingress:
  - action: Allow
    protocol: TCP
    source: {selector: iface == "uplink"}
    destination: {ports: [179]}
  - action: Deny
  egress:
  - action: Allow
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: any-forward}
spec:
  selector: iface == "any"
  applyOnForward: true
  ingress:
  - action: Allow
    protocol: UDP
    destination: {ports: ["5000:5100"]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: uplink-prednat}
spec:
  selector: iface == "uplink"
  preDNAT: true
  applyOnForward: true
  ingress:
  - action: Deny
    source: {nets: [192.0.2.0/24]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: uplink-untracked}
spec:
  selector: iface == "uplink"
  doNotTrack: true
  applyOnForward: true
  types: [Ingress, Egress]
  ingress:
  - action: Allow
    protocol: UDP
    destination: {ports: [4789]}
  egress:
  - action: Allow
    protocol: UDP
    source: {ports: [4789]}
"#;

#[test]
fn host_endpoints() {
    let ir = compile(HOSTS, "gw-1");
    let fw = &ir.firewall;
    let hooks: Vec<Hook> = fw.hooks.iter().map(|h| h.hook).collect();
    assert_eq!(
        hooks,
        [
            Hook::RawPrerouting,
            Hook::RawOutput,
            Hook::PreDnat,
            Hook::Input,
            Hook::Forward,
            Hook::Output
        ]
    );
    let raw = &fw.hooks[0];
    assert!(!raw.conntrack && !raw.accept_untracked);
    assert!(fw.hooks[2..]
        .iter()
        .all(|h| h.conntrack && h.accept_untracked));

    // failsafes: the annotation replaces the inbound list (no BGP port added);
    // outbound gets the listen port
    let ports = |v: &[PortRule]| v.iter().map(|p| p.port).collect::<Vec<_>>();
    assert_eq!(ports(&fw.failsafe_inbound), [22, 2222, 68]);
    assert!(ports(&fw.failsafe_outbound).contains(&1179));
    let eth0_in = chain_of(
        fw,
        "HostEndpoint gw-1-eth0",
        Direction::Ingress,
        Hook::Input,
    );
    assert_eq!(eth0_in.failsafe.as_ref().map(Ref::as_str), Some("fs-in"));
    assert_eq!(eth0_in.default, Verdict::Drop, "host endpoints fail closed");
    // egress: no normal egress policy selects gw-1-any, yet its output chain
    // exists and drops after the failsafe outbound ports (Felix's th- chain)
    let any_out = chain_of(fw, "HostEndpoint gw-1-any", Direction::Egress, Hook::Output);
    assert!(any_out.tiers.is_empty());
    assert_eq!(any_out.failsafe.as_ref().map(Ref::as_str), Some("fs-out"));
    assert_eq!(any_out.default, Verdict::Drop);
    let raw_in = chain_of(
        fw,
        "HostEndpoint gw-1-eth0",
        Direction::Ingress,
        Hook::RawPrerouting,
    );
    assert_eq!(raw_in.on_allow, OnAllow::AcceptUntracked);
    assert!(raw_in.tiers.iter().all(|t| !fw.tier(t).unwrap().end_drop));
    let fs_raw = fw.failsafes.iter().find(|f| f.name == "fs-raw-in").unwrap();
    assert!(fs_raw
        .rules
        .iter()
        .any(|r| r.side == PortSide::Src && r.port == 1179));
    let pre = chain_of(
        fw,
        "HostEndpoint gw-1-eth0",
        Direction::Ingress,
        Hook::PreDnat,
    );
    assert_eq!(pre.default, Verdict::Return);
    // rule selector picks host endpoints by expectedIPs, cluster-wide
    let p = fw
        .policies
        .iter()
        .find(|p| p.policy == "GlobalNetworkPolicy uplink-in" && p.direction == Direction::Ingress)
        .unwrap();
    assert_eq!(
        set_elems(fw, &p.rules[0].matches.src.in_sets[0]),
        ["10.0.0.1/32", "10.0.0.2/32"]
    );

    // `*`: applyOnForward policy on forward; the exact eth0, the workload
    // and lo never reach it
    let d = fw.dispatch.iter().find(|d| d.name == "d-fwd-in").unwrap();
    let any = d.fallback.as_ref().map(Ref::as_str).expect("fallback");
    let any_chain = fw.endpoint_chains.iter().find(|e| e.name == any).unwrap();
    assert_eq!(any_chain.endpoint, "HostEndpoint gw-1-any");
    assert_eq!(any_chain.failsafe, None, "no failsafes on forward");
    let entry = |i: &str| {
        d.entries
            .iter()
            .find(|e| e.iface == i)
            .map(|e| e.chain.clone())
    };
    assert_eq!(entry("lo"), Some(None));
    assert_eq!(
        entry("eth0"),
        Some(None),
        "eth0 has no forward policy and is not `*`"
    );
    assert!(matches!(entry("caliapp0000001"), Some(Some(_))));
    // applyOnForward policies apply to host traffic too: `*` also has an input chain
    let d_in = fw.dispatch.iter().find(|d| d.name == "d-input").unwrap();
    assert!(d_in.fallback.is_some());

    check_kernel("host_endpoints", &ir);
    check_kernel("host_endpoints gw-2", &compile(HOSTS, "gw-2"));
}

fn check_kernel(test: &str, ir: &HostIr) {
    if kernel_ok(test, TOOLS) {
        check_artifacts(ir);
    }
}

#[test]
fn checkers_accept_policies() {
    check_kernel("checkers_accept_policies a", &ir_a());
    check_kernel("checkers_accept_policies b", &compile(POLICIES, "node-b"));
}

#[test]
fn empty_firewall() {
    // (Not `name: n`: calicoctl, and so netc, reads an unquoted `n` as the
    // YAML 1.1 boolean false, i.e. the name "false".)
    let y = "apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: lone}\nspec: {}\n";
    let ir = compile(y, "lone");
    assert!(ir.firewall.is_empty());
    assert!(ir.firewall.hooks.is_empty());
    check_kernel("empty_firewall", &ir);
}

// ---------------------------------------------------------------- hostile input

/// Marker every hostile string carries: it must only ever appear inside a
/// quoted string or a `#` comment line of an artifact.
const MARK: &str = "SMUG_GLED";

fn hostile(i: usize) -> String {
    let v = [
        "\"; flush ruleset; #",
        "x\" } chain smuggled { drop",
        "a\nflush ruleset\n",
        "-A INPUT -j DROP\nCOMMIT\n*filter\n",
        "\\\"\\n' $(reboot) `id` {}; #",
        "é\u{0}\t\r",
    ];
    format!("{MARK}{}{MARK}", v[i % v.len()])
}

/// Drop quoted strings and `#` lines: what remains is syntax.
fn syntax_only(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        if line.trim_start().starts_with('#') {
            continue;
        }
        let mut q = false;
        for c in line.chars() {
            if c == '"' {
                q = !q;
            } else if !q {
                out.push(c);
            }
        }
        assert!(!q, "unbalanced quotes: {line}");
        out.push('\n');
    }
    out
}

fn assert_no_smuggling(ir: &HostIr) {
    let nft = nftables::emit(ir);
    let v4 = iptables::emit(ir);
    let v6 = iptables::emit_v6(ir);
    for (what, text) in [("nft", &nft), ("iptables", &v4), ("ip6tables", &v6)] {
        assert!(
            !syntax_only(text).contains(MARK),
            "{what}: hostile text outside quotes:\n{text}"
        );
        assert!(
            !text.contains('\0') && !text.contains('\r'),
            "{what}: control characters"
        );
    }
    for l in v4.lines().chain(v6.lines()) {
        assert!(
            l.starts_with('#')
                || l.starts_with('*')
                || l == "COMMIT"
                || l.starts_with(":netc-")
                || l.starts_with("-A netc-"),
            "{l}"
        );
    }
    if kernel_ok("hostile", TOOLS) {
        check_artifacts(ir);
        // A canary outside netc survives loading both artifacts.
        let ns = Netns::new("canary");
        ns.sh("nft add table inet canary && iptables -A INPUT -s 192.0.2.99 -j ACCEPT");
        must(ns.exec("nft", &["-f", "-"], Some(&nft)), "nft -f", &nft);
        must(
            ns.exec("iptables-restore", &["--noflush"], Some(&v4)),
            "iptables-restore",
            &v4,
        );
        let tables = ns.sh("nft list tables");
        assert!(tables.contains("table inet canary"), "{tables}");
        let input = ns.sh("iptables -S INPUT");
        assert!(input.contains("192.0.2.99"), "{input}");
        assert!(!input.contains("DROP"), "{input}");
    }
}

/// Hostile values wherever the schema lets free text through: selector
/// string literals and rule annotations (carried into comments).
#[test]
fn hostile_input_through_the_pipeline() {
    let q = |s: String| serde_json::to_string(&s).unwrap();
    let lit = |i: usize| hostile(i).replace(['\'', '\n', '\r', '\0'], " ");
    let y = format!(
        r#"
apiVersion: projectcalico.org/v3
kind: Node
metadata: {{name: n1}}
spec: {{}}
---
apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata:
  name: n1-k8s-w-eth0
  namespace: default
  labels: {{app: w}}
spec: {{node: n1, interfaceName: caliw000000001, ipNetworks: [10.1.0.1/32]}}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {{name: hostile}}
spec:
  selector: {s0}
  ingress:
  - action: Log
    source: {{selector: {s1}}}
    metadata:
      annotations: {{a: {a0}, b: {a2}, c: {a3}}}
  - action: Allow
    source: {{notSelector: {s4}}}
    metadata:
      annotations: {{d: {a4}, e: {a5}}}
"#,
        s0 = q(format!("app == 'w' || role == '{}'", lit(0))),
        s1 = q(format!("x == '{}' || has(y)", lit(1))),
        s4 = q(format!("z == '{}'", lit(4))),
        a0 = q(hostile(0)),
        a2 = q(hostile(2)),
        a3 = q(hostile(3)),
        a4 = q(hostile(4)),
        a5 = q(hostile(5)),
    );
    let ir = compile(&y, "n1");
    let fw = &ir.firewall;
    assert!(
        fw.policies
            .iter()
            .any(|p| p.rules.iter().any(|r| r.comment.contains(MARK))),
        "the hostile text must reach the IR for this test to mean anything"
    );
    assert!(fw.sets.iter().any(|s| s.comment.contains(MARK)));
    assert_no_smuggling(&ir);
}

/// Hostile values in every string of the IR, as if validation had let them
/// through: names, interfaces, comments, log prefixes, the node name.
#[test]
fn hostile_ir_strings() {
    let mut ir = compile(HOSTS, "gw-1");
    let mut i = 0;
    let mut h = || {
        i += 1;
        hostile(i)
    };
    ir.node = h();
    let fw = &mut ir.firewall;
    // Chain and set names cannot carry hostile text any more: `Name` only
    // holds `[a-z0-9_-]` (netc-ir's names tests); names are not renamed here.
    for s in &mut fw.sets {
        s.comment = h();
    }
    for p in &mut fw.policies {
        p.policy = h();
        p.log_prefix = h();
        p.rules.push(FwRule {
            matches: Match::default(),
            action: RuleAction::Log,
            comment: String::new(),
            rule: None,
        });
        for r in &mut p.rules {
            r.comment = h();
        }
    }
    for t in &mut fw.tiers {
        t.tier = h();
    }
    for e in &mut fw.endpoint_chains {
        e.endpoint = h();
    }
    for f in &mut fw.failsafes {
        f.comment = h();
    }
    for d in &mut fw.dispatch {
        d.entries.push(DispatchEntry {
            iface: h(),
            chain: None,
        });
    }
    for n in &mut fw.nat {
        n.comment = h();
    }
    assert_no_smuggling(&ir);
}

// ---------------------------------------------------------------- real traffic

/// A process in a namespace, killed on drop.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

const CONNECT: &str = "import socket,sys\n\
try:\n    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=float(sys.argv[3])).close()\n\
except Exception:\n    sys.exit(1)\n";

/// Listen on every (address, port): accept and close.
const LISTEN: &str = "import socket,select,sys\n\
ls = []\n\
for a in sys.argv[1].split(','):\n    for p in sys.argv[2:]:\n        s = socket.socket(socket.AF_INET6 if ':' in a else socket.AF_INET)\n        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n        s.bind((a, int(p)))\n        s.listen(64)\n        ls.append(s)\n\
while True:\n    for s in select.select(ls, [], [])[0]:\n        s.accept()[0].close()\n";

fn connects(ns: &Netns, addr: &str, port: u16, timeout: f64) -> bool {
    ns.exec(
        "python3",
        &["-c", CONNECT, addr, &port.to_string(), &timeout.to_string()],
        None,
    )
    .status
    .success()
}

const TRAFFIC: &str = r#"
apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: pods}
spec: {cidr: 10.65.0.0/16}
---
apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: pods6}
spec: {cidr: "fd65::/48"}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: host}
spec: {bgp: {ipv4Address: 192.0.2.1/24}}
---
apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata:
  name: host-k8s-client-eth0
  namespace: demo
  labels: {app: client}
spec: {node: host, interfaceName: netcw1, ipNetworks: [10.65.1.2/32, "fd65:1::2/128"]}
---
apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata:
  name: host-k8s-server-eth0
  namespace: demo
  labels: {app: server}
spec: {node: host, interfaceName: netcw2, ipNetworks: [10.65.2.2/32, "fd65:2::2/128"]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: security.server}
spec:
  tier: security
  order: 1
  selector: app == "server"
  ingress:
  - action: Deny
    protocol: TCP
    destination: {ports: [8081]}
  - action: Log
    protocol: TCP
  - action: Allow
    protocol: TCP
    destination: {ports: [8084]}
  - action: Pass
    protocol: TCP
    destination: {ports: ["8080:8082"]}
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: server, namespace: demo}
spec:
  selector: app == "server"
  ingress:
  - action: Allow
    protocol: TCP
    source: {selector: app == "client"}
    destination: {ports: [8080]}
"#;

/// Expected verdicts from the client, for both families: 8080 passes the
/// security tier and is allowed by default; 8081 denied; 8082 passed but
/// not allowed in default; 8083 not passed (end of the security tier); 8084
/// allowed in the security tier. IPv6 needs neighbour discovery through
/// the default deny.
const EXPECT: &[(u16, bool)] = &[
    (8080, true),
    (8081, false),
    (8082, false),
    (8083, false),
    (8084, true),
];
const SERVER: [&str; 2] = ["10.65.2.2", "fd65:2::2"];

#[test]
fn real_traffic_both_backends() {
    if !kernel_ok(
        "real_traffic_both_backends",
        &[
            "ip",
            "nft",
            "iptables",
            "iptables-restore",
            "ip6tables",
            "ip6tables-restore",
            "python3",
        ],
    ) {
        return;
    }
    let ir = compile(TRAFFIC, "host");
    let host = Netns::new("host");
    let w1 = Netns::new("w1");
    let w2 = Netns::new("w2");
    for (w, iface, net) in [(&w1, "netcw1", "1"), (&w2, "netcw2", "2")] {
        host.sh(&format!(
            "ip link add {iface} type veth peer name eth0 netns {ns} && \
             ip addr add 10.65.{net}.1/24 dev {iface} && \
             ip addr add fd65:{net}::1/64 dev {iface} nodad && ip link set {iface} up",
            ns = w.0
        ));
        w.sh(&format!(
            "ip addr add 10.65.{net}.2/24 dev eth0 && ip addr add fd65:{net}::2/64 dev eth0 nodad && \
             ip link set eth0 up && ip route add default via 10.65.{net}.1 && \
             ip -6 route add default via fd65:{net}::1"
        ));
    }
    host.sh("sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1");
    // One listener process for every address and port.
    let ports: Vec<String> = EXPECT.iter().map(|(p, _)| p.to_string()).collect();
    let addrs = SERVER.join(",");
    let mut args = vec!["netns", "exec", &w2.0, "python3", "-c", LISTEN, &addrs];
    args.extend(ports.iter().map(String::as_str));
    let server = Proc(
        Command::new("ip")
            .args(&args)
            .stdout(Stdio::null())
            .spawn()
            .expect("start listener"),
    );
    // Everything is reachable before any firewall.
    let deadline = Instant::now() + Duration::from_secs(10);
    for addr in SERVER {
        for (port, _) in EXPECT {
            while !connects(&w1, addr, *port, 0.5) {
                assert!(
                    Instant::now() < deadline,
                    "{addr} port {port} not reachable before the firewall:\n{}",
                    w2.sh("ss -ltn; ip addr")
                );
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
    // Forget the neighbours, so IPv6 must resolve them again through the firewall.
    host.sh("ip -6 neigh flush all");
    w1.sh("ip -6 neigh flush all");
    w2.sh("ip -6 neigh flush all");

    // All probes of a matrix run at once: a dropped SYN costs the timeout.
    let client = &w1;
    let matrix = |label: &str| -> Vec<(&str, u16, bool)> {
        let got: Vec<(&str, u16, bool)> = std::thread::scope(|sc| {
            let probes: Vec<_> = SERVER
                .iter()
                .flat_map(|a| EXPECT.iter().map(move |(p, _)| (*a, *p)))
                .map(|(a, p)| (a, p, sc.spawn(move || connects(client, a, p, 1.5))))
                .collect();
            probes
                .into_iter()
                .map(|(a, p, h)| (a, p, h.join().expect("probe")))
                .collect()
        });
        eprintln!("{label}: {got:?}");
        got
    };
    let want: Vec<(&str, u16, bool)> = SERVER
        .iter()
        .flat_map(|a| EXPECT.iter().map(move |(p, ok)| (*a, *p, *ok)))
        .collect();

    // nftables
    let nft = nftables::emit(&ir);
    must(host.exec("nft", &["-f", "-"], Some(&nft)), "nft -f", &nft);
    let with_nft = matrix("nftables");
    assert_eq!(with_nft, want, "nftables verdicts");
    // the host itself reaches the server only where ingress policy allows (output hook)
    assert!(connects(&host, SERVER[0], 8084, 1.5));
    assert!(!connects(&host, SERVER[0], 8081, 1.0));
    host.sh("nft delete table inet netc");
    assert!(connects(&w1, SERVER[0], 8081, 1.5), "reachable again");

    // iptables and ip6tables, with the hook jumps the host layer ensures
    for (restore, tool, text) in [
        ("iptables-restore", "iptables", iptables::emit(&ir)),
        ("ip6tables-restore", "ip6tables", iptables::emit_v6(&ir)),
    ] {
        must(
            host.exec(restore, &["--noflush"], Some(&text)),
            restore,
            &text,
        );
        for j in iptables::hook_jumps() {
            host.sh(&format!(
                "{tool} -t {t} -C {c} -j {j} 2>/dev/null || {tool} -t {t} -I {c} 1 -j {j}",
                t = j.table,
                c = j.chain,
                j = j.target
            ));
        }
    }
    host.sh("ip -6 neigh flush all");
    w1.sh("ip -6 neigh flush all");
    w2.sh("ip -6 neigh flush all");
    let with_ipt = matrix("iptables");
    assert_eq!(with_ipt, with_nft, "both backends give the same verdicts");
    assert!(connects(&host, SERVER[0], 8084, 1.5));
    assert!(!connects(&host, SERVER[0], 8081, 1.0));
    drop(server);
}

const HEP_TRAFFIC: &str = r#"
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: host}
spec: {bgp: {ipv4Address: 10.66.0.1/24}}
---
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata:
  name: host-eth1
  labels: {role: uplink}
spec: {node: host, interfaceName: netcup1, expectedIPs: [10.66.0.1]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: uplink}
spec:
  selector: role == "uplink"
  types: [Ingress]
  ingress:
  - action: Allow
    protocol: TCP
    destination: {ports: [8080, 8083]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: uplink-prednat}
spec:
  selector: role == "uplink"
  preDNAT: true
  applyOnForward: true
  ingress:
  - action: Deny
    protocol: TCP
    destination: {ports: [8083]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: uplink-untracked}
spec:
  selector: role == "uplink"
  doNotTrack: true
  applyOnForward: true
  types: [Ingress, Egress]
  ingress:
  - action: Allow
    protocol: TCP
    destination: {ports: [8082]}
  egress:
  - action: Allow
    protocol: TCP
    source: {ports: [8082]}
"#;

/// 22: failsafe; 8080: allowed; 8081: end-of-tier drop; 8082: allowed
/// untracked (raw table, both directions); 8083: allowed by normal policy
/// but denied before DNAT.
const HEP_EXPECT: &[(u16, bool)] = &[
    (22, true),
    (8080, true),
    (8081, false),
    (8082, true),
    (8083, false),
];

#[test]
fn host_endpoint_traffic_both_backends() {
    if !kernel_ok(
        "host_endpoint_traffic_both_backends",
        &["ip", "nft", "iptables", "iptables-restore", "python3"],
    ) {
        return;
    }
    let ir = compile(HEP_TRAFFIC, "host");
    let host = Netns::new("hep");
    let client = Netns::new("cl");
    host.sh(&format!(
        "ip link add netcup1 type veth peer name eth0 netns {} && \
         ip addr add 10.66.0.1/24 dev netcup1 && ip link set netcup1 up",
        client.0
    ));
    client.sh("ip addr add 10.66.0.2/24 dev eth0 && ip link set eth0 up");
    let ports: Vec<String> = HEP_EXPECT.iter().map(|(p, _)| p.to_string()).collect();
    let mut args = vec![
        "netns",
        "exec",
        &host.0,
        "python3",
        "-c",
        LISTEN,
        "10.66.0.1",
    ];
    args.extend(ports.iter().map(String::as_str));
    let server = Proc(
        Command::new("ip")
            .args(&args)
            .stdout(Stdio::null())
            .spawn()
            .expect("start listener"),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    for (port, _) in HEP_EXPECT {
        while !connects(&client, "10.66.0.1", *port, 0.5) {
            assert!(
                Instant::now() < deadline,
                "port {port} not reachable before the firewall"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    let probe = |label: &str| -> Vec<(u16, bool)> {
        let cl = &client;
        let got: Vec<(u16, bool)> = std::thread::scope(|sc| {
            let hs: Vec<_> = HEP_EXPECT
                .iter()
                .map(|(p, _)| (*p, sc.spawn(move || connects(cl, "10.66.0.1", *p, 1.5))))
                .collect();
            hs.into_iter()
                .map(|(p, h)| (p, h.join().expect("probe")))
                .collect()
        });
        eprintln!("{label}: {got:?}");
        got
    };

    let nft = nftables::emit(&ir);
    must(host.exec("nft", &["-f", "-"], Some(&nft)), "nft -f", &nft);
    let with_nft = probe("nftables");
    assert_eq!(with_nft, HEP_EXPECT, "nftables verdicts");
    host.sh("nft delete table inet netc");

    let rules = iptables::emit(&ir);
    must(
        host.exec("iptables-restore", &["--noflush"], Some(&rules)),
        "iptables-restore",
        &rules,
    );
    for j in iptables::hook_jumps() {
        host.sh(&format!(
            "iptables -t {t} -C {c} -j {j} 2>/dev/null || iptables -t {t} -I {c} 1 -j {j}",
            t = j.table,
            c = j.chain,
            j = j.target
        ));
    }
    let with_ipt = probe("iptables");
    assert_eq!(with_ipt, with_nft, "both backends give the same verdicts");
    drop(server);
}

/// Fail closed as Felix does (docs/calico.md §4.1, "Host endpoints"): the
/// only policy selecting the host endpoint Passes every ingress packet, and
/// no policy has egress. Felix drops both ways after the failsafe ports.
const HEP_FAIL_CLOSED: &str = r#"
apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: pods}
spec: {cidr: 10.68.0.0/16, vxlanMode: Always}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: host}
spec: {bgp: {ipv4Address: 10.67.0.1/24}}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: peer}
spec: {bgp: {ipv4Address: 10.67.0.2/24}}
---
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata:
  name: host-up
  labels: {role: uplink}
spec: {node: host, interfaceName: netcup2, expectedIPs: [10.67.0.1]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: pass-only}
spec:
  selector: role == "uplink"
  ingress:
  - action: Pass
"#;

/// client → host: 22 failsafe inbound, 8080 passed out of the last tier.
const FC_IN: &[(u16, bool)] = &[(22, true), (8080, false)];
/// host → client (no egress policy): 179 and 6443 failsafe outbound, 8080
/// nothing allows it.
const FC_OUT: &[(u16, bool)] = &[(179, true), (6443, true), (8080, false)];

#[test]
fn host_endpoint_fails_closed_both_backends() {
    if !kernel_ok(
        "host_endpoint_fails_closed_both_backends",
        &["ip", "nft", "iptables", "iptables-restore", "python3"],
    ) {
        return;
    }
    let ir = compile(HEP_FAIL_CLOSED, "host");
    let host = Netns::new("fch");
    let client = Netns::new("fcc");
    host.sh(&format!(
        "ip link add netcup2 type veth peer name eth0 netns {} && \
         ip addr add 10.67.0.1/24 dev netcup2 && ip link set netcup2 up",
        client.0
    ));
    client.sh("ip addr add 10.67.0.2/24 dev eth0 && ip link set eth0 up");
    let listen = |ns: &Netns, addr: &str, ports: &[(u16, bool)]| -> Proc {
        let ports: Vec<String> = ports.iter().map(|(p, _)| p.to_string()).collect();
        let mut args = vec!["netns", "exec", &ns.0, "python3", "-c", LISTEN, addr];
        args.extend(ports.iter().map(String::as_str));
        Proc(
            Command::new("ip")
                .args(&args)
                .stdout(Stdio::null())
                .spawn()
                .expect("start listener"),
        )
    };
    let _on_host = listen(&host, "10.67.0.1", FC_IN);
    let _on_client = listen(&client, "10.67.0.2", FC_OUT);
    type Verdicts = Vec<(u16, bool)>;
    let probe = |label: &str| -> (Verdicts, Verdicts) {
        let (h, c) = (&host, &client);
        let got = std::thread::scope(|sc| {
            let i: Vec<_> = FC_IN
                .iter()
                .map(|(p, _)| (*p, sc.spawn(move || connects(c, "10.67.0.1", *p, 1.5))))
                .collect();
            let o: Vec<_> = FC_OUT
                .iter()
                .map(|(p, _)| (*p, sc.spawn(move || connects(h, "10.67.0.2", *p, 1.5))))
                .collect();
            let j = |v: Vec<(u16, std::thread::ScopedJoinHandle<bool>)>| -> Verdicts {
                v.into_iter()
                    .map(|(p, h)| (p, h.join().expect("probe")))
                    .collect()
            };
            (j(i), j(o))
        });
        eprintln!("{label}: in {:?} out {:?}", got.0, got.1);
        got
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (i, o) = probe("before");
        if i.iter().chain(&o).all(|(_, ok)| *ok) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not reachable before the firewall"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let want = (FC_IN.to_vec(), FC_OUT.to_vec());
    // The overlay to another cluster host stays open (Felix accepts VXLAN
    // to and from cluster hosts before host endpoint policy): a datagram
    // from the host to the peer's VXLAN port arrives.
    let vxlan_reaches_peer = || -> bool {
        let recv = "import socket\ns=socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n\
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\ns.bind(('10.67.0.2', 4789))\n\
s.settimeout(3)\nprint(s.recv(64).decode())\n";
        let rx = Command::new("ip")
            .args(["netns", "exec", &client.0, "python3", "-c", recv])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("receiver");
        std::thread::sleep(Duration::from_millis(400));
        host.sh("python3 -c \"import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b'vx', ('10.67.0.2', 4789))\"");
        let out = rx.wait_with_output().expect("receiver");
        String::from_utf8_lossy(&out.stdout).contains("vx")
    };

    let nft = nftables::emit(&ir);
    must(host.exec("nft", &["-f", "-"], Some(&nft)), "nft -f", &nft);
    assert_eq!(probe("nftables"), want, "nftables verdicts");
    assert!(vxlan_reaches_peer(), "nftables: VXLAN to a cluster host");
    host.sh("nft delete table inet netc");

    let rules = iptables::emit(&ir);
    must(
        host.exec("iptables-restore", &["--noflush"], Some(&rules)),
        "iptables-restore",
        &rules,
    );
    for j in iptables::hook_jumps() {
        host.sh(&format!(
            "iptables -t {t} -C {c} -j {j} 2>/dev/null || iptables -t {t} -I {c} 1 -j {j}",
            t = j.table,
            c = j.chain,
            j = j.target
        ));
    }
    assert_eq!(probe("iptables"), want, "iptables verdicts");
    assert!(vxlan_reaches_peer(), "iptables: VXLAN to a cluster host");
}
