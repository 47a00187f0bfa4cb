//! `netc check`: the command's answers (verdict, deciding rule, its
//! file:line, exit code), and the proof that its verdicts are the kernel's.
//!
//! The proof (`verdicts_equal_the_kernels`) draws random flows (fixed seed,
//! printed; `NETC_CHECK_SEED`, `NETC_CHECK_FLOWS` per node override it)
//! over every policy scenario in the repository — examples/, the golden
//! cases with policies, the lab's policy stage — and for every node with a
//! firewall sends each flow's first packet through a network namespace set
//! up like the node (its interfaces, addresses and routes) with the node's
//! compiled ruleset loaded, under nftables and then iptables. A probe table
//! at priority 100 of the hook where the packet ends (input, forward,
//! output) counts which packets got past every netc chain. Before the
//! firewall is loaded every packet must reach its probe (so the namespace
//! routes each one as `netc check` says); with it, a packet must reach its
//! probe exactly when `netc check` does not say "dropped".

mod common;
use common::*;

use netc_compiler::lower::Cluster;
use netc_compiler::model::Model;
use netc_compiler::{alloc, load, validate, SourceMap};
use netc_ir::eval::{self, Outcome, Packet, Route, RouteKind, Topology};
use netc_ir::{Family, HostIr, Protocol};
use netc_targets::{iptables, nftables};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

fn netc(args: &[&str]) -> (i32, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_netc"))
        .args(args)
        .current_dir(repo())
        .env_remove("NETC_NODE")
        .env_remove("NETC_CONFIG")
        .env_remove("NETC_FIREWALL")
        .output()
        .expect("run netc");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Line `n` (1-based) of a repository file.
fn line_of(path: &str, n: usize) -> String {
    std::fs::read_to_string(repo().join(path))
        .expect("read")
        .lines()
        .nth(n - 1)
        .unwrap_or_default()
        .to_string()
}

/// `at FILE:LINE:COL` of the deciding (▶) rule line.
fn deciding_location(out: &str) -> (String, usize) {
    let l = out
        .lines()
        .find(|l| l.starts_with('▶'))
        .unwrap_or_else(|| panic!("no deciding step in\n{out}"));
    let at = l.rsplit(" at ").next().expect("location");
    let mut parts = at.split(':');
    let file = parts.next().unwrap_or_default().to_string();
    let line = parts.next().and_then(|x| x.parse().ok()).expect("line");
    (file, line)
}

// ------------------------------------------------------------------ the command

#[test]
fn blocklisted_source_is_denied_by_the_deny_rule_and_named_by_its_line() {
    // examples/policy.yaml: 203.0.113.0/24 is in the `blocklist` set, which
    // deny-blocklist denies on every endpoint, host endpoints included.
    let (code, out, err) = netc(&[
        "check",
        "examples",
        "--node",
        "rack1-node1",
        "--from",
        "203.0.113.5",
        "--to",
        "node:rack1-node1:8080/tcp",
    ]);
    assert_eq!(code, 3, "{out}{err}");
    assert!(
        out.starts_with("DENIED: tcp 203.0.113.5:40000 → 192.168.10.11:8080"),
        "{out}"
    );
    assert!(
        out.contains("endpoint HostEndpoint rack1-node1-eth0 Ingress"),
        "{out}"
    );
    let (file, line) = deciding_location(&out);
    assert_eq!(file, "examples/policy.yaml");
    // The rule the location names is the Deny of deny-blocklist.
    assert_eq!(line_of(&file, line).trim(), "- action: Deny", "{out}");
    assert!(line_of(&file, line + 2).contains("known-bad"));
}

#[test]
fn forwarded_packet_is_decided_by_the_receiving_endpoints_rule() {
    // golden/policies: the frontend's egress has no policy (a workload
    // allows by default), so the api's ingress decides: the security tier
    // passes, then api-from-web allows TCP to its named port http-alt (8080)
    // from tier == "web".
    let (code, out, err) = netc(&[
        "check",
        "golden/policies/input",
        "--node",
        "node-a",
        "--from",
        "wep:shop/node--a-k8s-frontend-eth0",
        "--to",
        "wep:shop/node--a-k8s-api-eth0:8080/tcp",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("ALLOWED"), "{out}");
    let (file, line) = deciding_location(&out);
    assert_eq!(line_of(&file, line).trim(), "- action: Allow", "{out}");
    let rule: String = (line..line + 6)
        .map(|n| line_of(&file, n))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        rule.contains("tier == \"web\"") && rule.contains("http-alt"),
        "{rule}\n{out}"
    );
    // Both endpoints' chains are on the path, sender first.
    let egress = out
        .find("node--a-k8s-frontend-eth0 Egress")
        .expect("egress");
    let ingress = out.find("node--a-k8s-api-eth0 Ingress").expect("ingress");
    assert!(egress < ingress, "{out}");
}

#[test]
fn failsafe_port_is_allowed_whatever_the_policy() {
    // SSH is a failsafe inbound port (Felix's default list): even a
    // blocklisted source reaches it.
    let (code, out, err) = netc(&[
        "check",
        "examples",
        "--node",
        "rack1-node1",
        "--from",
        "203.0.113.5",
        "--to",
        "192.168.10.11:22",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("ALLOWED"), "{out}");
    assert!(
        out.contains("▶       failsafe tcp destination port 22: accept"),
        "{out}"
    );
}

#[test]
fn lab_policy_by_endpoint_names_and_json() {
    // lab/cluster/policy/policy.yaml: web accepts TCP 80 from frontends
    // only; batch is not a frontend. Both on r1n1 / r2n1's webs.
    let dir = lab_stage("policy");
    let d = dir.to_str().expect("utf-8");
    let ask = |from: &str, to: &str| {
        netc(&[
            "check", d, "--node", "r1n1", "--from", from, "--to", to, "--format", "json",
        ])
    };
    let (code, out, err) = ask(
        "wep:lab/r1n1-k8s-w1-eth0",
        "wep:lab/r1n1-k8s-w2-eth0:80/tcp",
    );
    let v: serde_json::Value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}{err}"));
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(v["verdict"], "accept");
    assert_eq!(v["route"]["kind"], "Forward");
    let deciding = &v["path"][v["deciding"].as_u64().expect("deciding") as usize];
    assert_eq!(deciding["step"], "rule");
    assert_eq!(deciding["action"], "Allow");
    let src = &deciding["source"];
    let (file, line) = (
        src["file"].as_str().expect("file"),
        src["line"].as_u64().expect("line"),
    );
    assert!(file.ends_with("policy.yaml"), "{file}");
    // The rule named allows from frontends.
    let text = std::fs::read_to_string(file).expect("read");
    let rule: Vec<&str> = text.lines().skip(line as usize - 1).take(6).collect();
    assert!(rule[0].contains("action: Allow"), "{rule:?}");
    assert!(rule.join("\n").contains("frontend"), "{rule:?}");

    // batch (on r2n2) is not a frontend: r1n1 drops its packets to web.
    let (code, out, err) = ask(
        "wep:lab/r2n2-k8s-w1-eth0",
        "wep:lab/r1n1-k8s-w2-eth0:80/tcp",
    );
    assert_eq!(code, 3, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["verdict"], "drop");
    // From another node's workload, over the VXLAN pool of this stage: the
    // packet arrives decapsulated on the VXLAN device (netc's route to
    // r2n2's block goes through it).
    assert_eq!(v["route"]["iif"], "vxlan.calico");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn compiled_ir_gives_the_answer_the_inputs_give() {
    // golden/policies: frontend → api's http-alt (allowed by api-from-web),
    // a source in 100.64.0.0/10 (denied by security.baseline first), an
    // unused address of node-a's own block (blackholed by its route).
    for (from, to, want) in [
        ("10.80.0.10", "10.80.0.11:8080/tcp", 0),
        ("100.64.1.2", "10.80.0.11:8080/tcp", 3),
        ("198.51.100.1", "10.80.0.5:80/tcp", 3),
    ] {
        let ask = |src: &[&str]| {
            let mut a = vec!["check"];
            a.extend(src);
            a.extend(["--from", from, "--to", to, "--format", "json"]);
            let (code, out, err) = netc(&a);
            let v: serde_json::Value =
                serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}{err}"));
            (code, v)
        };
        let (c1, yaml) = ask(&["golden/policies/input", "--node", "node-a"]);
        let (c2, ir) = ask(&["--ir", "golden/policies/expected/node-a/ir.json"]);
        assert_eq!((c1, c2), (want, want), "{from} → {to}");
        assert_eq!(yaml["verdict"], ir["verdict"]);
        assert_eq!(yaml["route"], ir["route"]);
        let deciding = |v: &serde_json::Value| {
            let mut d = v["path"][v["deciding"].as_u64().expect("deciding") as usize].clone();
            d.as_object_mut().map(|o| o.remove("source"));
            d
        };
        assert_eq!(deciding(&yaml), deciding(&ir), "{from} → {to}");
    }
}

#[test]
fn questions_that_make_no_sense_are_errors() {
    let (code, _, err) = netc(&[
        "check",
        "examples",
        "--node",
        "rack1-node1",
        "--from",
        "wep:shop/nope",
        "--to",
        "10.0.0.1:80",
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("no workload endpoint with that name"), "{err}");
    let (code, _, err) = netc(&[
        "check",
        "examples",
        "--node",
        "rack1-node1",
        "--from",
        "10.0.0.1",
        "--to",
        "fd00::1:80/tcp",
    ]);
    assert_eq!(code, 1, "{err}");
    let (code, _, err) = netc(&[
        "check",
        "examples",
        "--node",
        "rack1-node1",
        "--from",
        "10.0.0.1",
        "--to",
        "10.0.0.2/tcp",
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("needs a destination port"), "{err}");
}

// ------------------------------------------------------------------ scenarios

/// A lab stage's directories layered into one temp directory (lab/cluster/stages).
fn lab_stage(stage: &str) -> PathBuf {
    let table = std::fs::read_to_string(repo().join("lab/cluster/stages")).expect("stages");
    let dirs: Vec<String> = table
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|w| w.first() == Some(&stage))
        .map(|w| w[1..].iter().map(|s| s.to_string()).collect())
        .expect("stage");
    let out = std::env::temp_dir().join(format!(
        "netc-check-{stage}-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).expect("mkdir");
    for d in dirs {
        for e in std::fs::read_dir(repo().join("lab/cluster").join(d)).expect("dir") {
            let p = e.expect("entry").path();
            std::fs::copy(&p, out.join(p.file_name().expect("name"))).expect("copy");
        }
    }
    out
}

struct Scenario {
    name: String,
    sources: SourceMap,
    model: validate::ValidModel,
}

fn load_scenario(name: &str, dir: &Path) -> Scenario {
    let files = load::collect_files(&[dir.to_path_buf()]).expect("files");
    let mut sources = SourceMap::new();
    let (raws, diags) = load::load_files(&files, &mut sources);
    assert!(diags.iter().all(|d| !d.is_error()), "{name}: {diags:#?}");
    let (model, diags) = validate::validate(raws);
    let model = model.unwrap_or_else(|| panic!("{name}: {:#?}", diags.items));
    Scenario {
        name: name.to_string(),
        sources,
        model,
    }
}

/// Every input in the repository with policy.
fn scenarios() -> Vec<Scenario> {
    let mut out = vec![load_scenario("examples", &repo().join("examples"))];
    for case in ["policies", "host-endpoints"] {
        out.push(load_scenario(
            &format!("golden/{case}"),
            &repo().join("golden").join(case).join("input"),
        ));
    }
    let lab = lab_stage("policy");
    out.push(load_scenario("lab/policy", &lab));
    let _ = std::fs::remove_dir_all(lab);
    out
}

// ------------------------------------------------------------------ flows

/// An address the kernel routes as unicast from and to anywhere.
fn sane(a: IpAddr) -> bool {
    match a {
        IpAddr::V4(v) => {
            let o = v.octets();
            !(o[0] == 0 || o[0] == 127 || o[0] >= 224 || (o[0] == 169 && o[1] == 254))
                && o[3] != 0
                && o[3] != 255
        }
        IpAddr::V6(v) => {
            let s = v.segments();
            (s[0] & 0xe000 == 0x2000 || s[0] & 0xfe00 == 0xfc00) && s[7] != 0
        }
    }
}

/// A random address inside `n`.
fn inside(rng: &mut Rng, n: &ipnet::IpNet) -> IpAddr {
    match n {
        ipnet::IpNet::V4(n) => {
            let host = 32 - u32::from(n.prefix_len());
            let mask = if host == 0 { 0 } else { (1u64 << host) - 1 } as u32;
            let off = rng.next_u64() as u32 & mask;
            IpAddr::V4((u32::from(n.network()) | off).into())
        }
        ipnet::IpNet::V6(n) => {
            let host = 128 - u32::from(n.prefix_len());
            let mask = if host == 0 {
                0
            } else {
                u128::MAX >> (128 - host)
            };
            let off = (u128::from(rng.next_u64()) << 64 | u128::from(rng.next_u64())) & mask;
            IpAddr::V6((u128::from(n.network()) | off).into())
        }
    }
}

#[derive(Clone, Debug)]
struct Flow {
    id: u32,
    packet: Packet,
    route: Route,
}

/// Draw `count` flows for one node: addresses of the node, its workloads,
/// other nodes' endpoints, every set the firewall matches on and the
/// outside world; ports the rules name and random ones; TCP, UDP, ICMP
/// (types that open a connection and types that cannot) and a protocol
/// without ports.
fn draw(
    rng: &mut Rng,
    model: &Model,
    ir: &HostIr,
    topo: &Topology,
    count: usize,
    next_id: &mut u32,
) -> Vec<Flow> {
    let fw = &ir.firewall;
    let mut addrs: Vec<IpAddr> = topo.local.clone();
    for (net, _) in &topo.routes {
        addrs.push(net.addr());
        addrs.push(inside(rng, net));
    }
    for w in &model.workload_endpoints {
        addrs.extend(
            w.spec
                .ip_networks
                .iter()
                .filter_map(|s| s.parse::<ipnet::IpNet>().ok())
                .map(|n| n.addr()),
        );
    }
    for h in &model.host_endpoints {
        addrs.extend(
            h.spec
                .expected_ips
                .iter()
                .filter_map(|s| s.parse::<IpAddr>().ok()),
        );
    }
    for s in &fw.sets {
        for e in &s.elements {
            for _ in 0..2 {
                addrs.push(inside(rng, e));
            }
        }
    }
    addrs.extend(
        ["198.51.100.77", "192.0.2.200", "2001:db8:ff::7", "fd99::9"]
            .iter()
            .map(|s| s.parse::<IpAddr>().expect("ip")),
    );
    addrs.retain(|a| sane(*a));
    addrs.sort();
    addrs.dedup();
    let v4: Vec<IpAddr> = addrs.iter().copied().filter(IpAddr::is_ipv4).collect();
    let v6: Vec<IpAddr> = addrs.iter().copied().filter(IpAddr::is_ipv6).collect();

    let mut ports: BTreeSet<u16> = [22, 53, 80, 179, 443, 4789, 5432, 8080].into();
    let mut icmp4: Vec<u8> = vec![8, 8, 0, 3, 11, 13];
    let mut icmp6: Vec<u8> = vec![128, 128, 129, 1, 135, 136, 133];
    let mut rules: Vec<&netc_ir::FwRule> = fw.policies.iter().flat_map(|p| &p.rules).collect();
    rules.extend(fw.hooks.iter().flat_map(|h| &h.accept));
    for r in rules {
        let m = &r.matches;
        for ps in [
            &m.src.ports,
            &m.src.not_ports,
            &m.dst.ports,
            &m.dst.not_ports,
        ] {
            for (lo, hi) in ps {
                ports.extend([*lo, *hi, lo.saturating_sub(1), hi.saturating_add(1)]);
            }
        }
        for i in m.icmp.iter().chain(&m.not_icmp) {
            match m.family {
                Some(Family::V6) => icmp6.push(i.icmp_type),
                _ => icmp4.push(i.icmp_type),
            }
        }
    }
    for f in &fw.failsafes {
        ports.extend(f.rules.iter().map(|r| r.port));
    }
    ports.remove(&0);
    let ports: Vec<u16> = ports.into_iter().collect();
    // Interfaces a packet may arrive on besides the routed one: host
    // endpoint interfaces and one no endpoint has (the `*` endpoint's).
    let other_ifaces: Vec<String> = ifaces(ir, topo)
        .into_iter()
        .filter(|i| !workload_ifaces(topo).contains(i))
        .collect();

    // The node's own addresses and its workloads': most flows have one end
    // here, so they meet the node's endpoint chains.
    let mut near: Vec<IpAddr> = topo.local.clone();
    for (net, dev) in &topo.routes {
        if dev.is_some() && net.prefix_len() == net.max_prefix_len() {
            near.push(net.addr());
        }
    }
    near.retain(|a| sane(*a));

    let mut out = Vec::new();
    let mut tries = 0;
    while out.len() < count && tries < 100 * count {
        tries += 1;
        let pool = if !v6.is_empty() && rng.chance(35) {
            &v6
        } else {
            &v4
        };
        let (Some(&a), Some(&b)) = (rng.pick(pool), rng.pick(pool)) else {
            break;
        };
        let near_fam: Vec<IpAddr> = near
            .iter()
            .copied()
            .filter(|x| x.is_ipv6() == a.is_ipv6())
            .collect();
        let a = match rng.pick(&near_fam) {
            Some(n) if rng.chance(75) => *n,
            _ => a,
        };
        let (src, dst) = if rng.chance(50) { (a, b) } else { (b, a) };
        if src == dst {
            continue;
        }
        let v6p = src.is_ipv6();
        let roll = rng.below(100);
        let protocol = match roll {
            0..=44 => Protocol::Tcp,
            45..=69 => Protocol::Udp,
            70..=93 if v6p => Protocol::IcmpV6,
            70..=93 => Protocol::Icmp,
            _ => Protocol::Number(99),
        };
        let port = |rng: &mut Rng, bias: u64| -> u16 {
            if rng.chance(bias) {
                *rng.pick(&ports).unwrap_or(&80)
            } else {
                1024 + (rng.next_u64() % 64000) as u16
            }
        };
        let icmp_type = *rng.pick(if v6p { &icmp6 } else { &icmp4 }).unwrap_or(&8);
        let packet = Packet {
            src,
            dst,
            protocol,
            src_port: port(rng, 15),
            dst_port: port(rng, 75),
            icmp_type,
            icmp_code: if rng.chance(85) { 0 } else { 1 },
        };
        let mut route = eval::route(topo, &packet);
        if route.iif.is_some() && route.kind != RouteKind::Local && rng.chance(25) {
            if let Some(i) = rng.pick(&other_ifaces) {
                route.iif = Some(i.clone());
            }
        }
        *next_id += 1;
        out.push(Flow {
            id: *next_id,
            packet,
            route,
        });
    }
    out
}

/// Interfaces of workloads: devices of host routes.
fn workload_ifaces(topo: &Topology) -> Vec<String> {
    topo.routes
        .iter()
        .filter(|(n, _)| n.prefix_len() == n.max_prefix_len())
        .filter_map(|(_, d)| d.clone())
        .collect()
}

/// Every interface the node's firewall or routing names (not `lo`), plus
/// `netcx0`, which no endpoint has.
fn ifaces(ir: &HostIr, topo: &Topology) -> Vec<String> {
    let mut s: BTreeSet<String> = topo.routes.iter().filter_map(|(_, d)| d.clone()).collect();
    s.insert(topo.uplink.clone());
    for d in &ir.firewall.dispatch {
        s.extend(d.entries.iter().map(|e| e.iface.clone()));
    }
    s.insert("netcx0".into());
    s.remove("lo");
    s.into_iter().collect()
}

// ------------------------------------------------------------------ the namespace

/// The node's interfaces (veth pairs, the peer end `netcqN` is where
/// packets are injected), its addresses (on `lo`) and routes.
fn setup(ns: &Netns, ir: &HostIr, topo: &Topology) -> Vec<(String, String)> {
    let mut sh = String::from(
        "set -e\nsysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
         net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0\n",
    );
    let mut pairs = Vec::new();
    for (k, i) in ifaces(ir, topo).into_iter().enumerate() {
        let peer = format!("netcq{k}");
        let _ = writeln!(
            sh,
            "ip link add {i} type veth peer name {peer}\nip link set {i} up\nip link set {peer} up"
        );
        pairs.push((i, peer));
    }
    for a in &topo.local {
        let _ = writeln!(
            sh,
            "ip addr add {a}/{} dev lo",
            if a.is_ipv4() { 32 } else { 128 }
        );
    }
    for (net, dev) in &topo.routes {
        let _ = match dev {
            Some(d) => writeln!(sh, "ip route replace {net} dev {d}"),
            None => writeln!(sh, "ip route replace blackhole {net}"),
        };
    }
    let _ = writeln!(
        sh,
        "ip route add default dev {u}\nip -6 route add default dev {u}\n\
         sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1\n\
         for f in /proc/sys/net/ipv4/conf/*/rp_filter; do echo 0 > $f; done",
        u = topo.uplink
    );
    let o = ns.exec("sh", &["-c", &sh]);
    assert!(o.status.success(), "setup: {}\n{sh}", text(&o));
    pairs
}

/// Builds every packet (checksums included) and sends it: on the peer of
/// its input interface (AF_PACKET, to that interface's MAC), or from the
/// host itself (raw IP socket) when it is sent locally.
const SEND: &str = r#"
import socket, struct, sys
def csum(b):
    if len(b) % 2: b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff
def mac(i):
    return bytes.fromhex(open('/sys/class/net/%s/address' % i).read().strip().replace(':', ''))
socks = {}
raw4 = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
raw6 = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_RAW)
for line in sys.stdin:
    fid, iface, peer, fam, src, dst, proto, sport, dport, itype, icode = line.split()
    fid, proto, sport, dport, itype, icode = int(fid), int(proto), int(sport), int(dport), int(itype), int(icode)
    af = socket.AF_INET if fam == '4' else socket.AF_INET6
    s, d = socket.inet_pton(af, src), socket.inet_pton(af, dst)
    if proto == 6:
        l4 = struct.pack('!HHIIBBHHH', sport, dport, 1, 0, 5 << 4, 0x02, 1024, 0, 0)
        off = 16
    elif proto == 17:
        l4 = struct.pack('!HHHH', sport, dport, 12, 0) + b'netc'
        off = 6
    elif proto in (1, 58):
        l4 = struct.pack('!BBHHH', itype, icode, 0, fid & 0xffff, 1) + b'netcnetc'
        off = 2
    else:
        l4 = b'netc-probe-payload'
        off = None
    if off is not None:
        if proto == 1:
            c = csum(l4)
        elif fam == '4':
            c = csum(s + d + struct.pack('!BBH', 0, proto, len(l4)) + l4)
        else:
            c = csum(s + d + struct.pack('!IxxxB', len(l4), proto) + l4)
        if proto == 17 and c == 0: c = 0xffff
        l4 = l4[:off] + struct.pack('!H', c) + l4[off + 2:]
    if fam == '4':
        h = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(l4), fid & 0xffff, 0, 64, proto, 0, s, d)
        h = h[:10] + struct.pack('!H', csum(h)) + h[12:]
        eth = b'\x08\x00'
    else:
        hl = 255 if proto == 58 and 130 <= itype <= 137 else 64
        h = struct.pack('!IHBB16s16s', (6 << 28) | (fid & 0xfffff), len(l4), proto, hl, s, d)
        eth = b'\x86\xdd'
    pkt = h + l4
    try:
        if iface == '-':
            if fam == '4': raw4.sendto(pkt, (dst, 0))
            else: raw6.sendto(pkt, (dst, 0, 0, 0))
        else:
            if peer not in socks:
                k = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
                k.bind((peer, 0))
                socks[peer] = k
            socks[peer].send(mac(iface) + mac(peer) + eth + pkt)
    except OSError:
        pass  # a locally sent packet dropped by the output hook: EPERM
"#;

/// The probe table: per flow, a counting rule at priority 100 of the hook
/// where its packet ends. With `notrack`, the table also keeps the packets
/// out of conntrack (the baseline run must not leave connections behind).
fn probe_table(flows: &[Flow], notrack: bool) -> String {
    let mut t = String::from("table inet netcprobe {\n");
    if notrack {
        t.push_str(
            "  chain pre { type filter hook prerouting priority -400; notrack; }\n  \
             chain lout { type filter hook output priority -400; notrack; }\n",
        );
    }
    for (chain, hook, kinds) in [
        ("pin", "input", &[RouteKind::Input, RouteKind::Local][..]),
        // A blackholed packet must reach neither.
        (
            "pfwd",
            "forward",
            &[RouteKind::Forward, RouteKind::Blackhole][..],
        ),
        (
            "pout",
            "output",
            &[RouteKind::Output, RouteKind::Blackhole][..],
        ),
    ] {
        let _ = writeln!(
            t,
            "  chain {chain} {{\n    type filter hook {hook} priority 100; policy accept;"
        );
        for f in flows.iter().filter(|f| kinds.contains(&f.route.kind)) {
            let p = &f.packet;
            let m = match p.src {
                IpAddr::V4(_) => format!(
                    "ip saddr {} ip daddr {} ip id {}",
                    p.src,
                    p.dst,
                    f.id & 0xffff
                ),
                IpAddr::V6(_) => format!(
                    "ip6 saddr {} ip6 daddr {} ip6 flowlabel {}",
                    p.src,
                    p.dst,
                    f.id & 0xfffff
                ),
            };
            let _ = writeln!(
                t,
                "    {m} meta l4proto {} counter comment \"f{}\"",
                p.protocol.number(),
                f.id
            );
        }
        t.push_str("  }\n");
    }
    t.push_str("}\n");
    t
}

/// Send every flow's packet; the ids of the flows whose packet reached its probe.
fn send_and_observe(
    ns: &Netns,
    flows: &[Flow],
    pairs: &[(String, String)],
    notrack: bool,
) -> BTreeSet<u32> {
    let table = probe_table(flows, notrack);
    let o = ns.exec_stdin("nft", &["-f", "-"], &table);
    assert!(o.status.success(), "probe table: {}", text(&o));
    let mut input = String::new();
    for f in flows {
        let p = &f.packet;
        let (iface, peer) = match (&f.route.kind, &f.route.iif) {
            (RouteKind::Input | RouteKind::Forward | RouteKind::Blackhole, Some(i)) => {
                let peer = pairs
                    .iter()
                    .find(|(a, _)| a == i)
                    .map(|(_, b)| b.as_str())
                    .expect("peer");
                (i.as_str(), peer)
            }
            _ => ("-", "-"),
        };
        let _ = writeln!(
            input,
            "{} {iface} {peer} {} {} {} {} {} {} {} {}",
            f.id,
            if p.src.is_ipv4() { 4 } else { 6 },
            p.src,
            p.dst,
            p.protocol.number(),
            p.src_port,
            p.dst_port,
            p.icmp_type,
            p.icmp_code
        );
    }
    let o = ns.exec_stdin("python3", &["-c", SEND], &input);
    assert!(o.status.success(), "send: {}", text(&o));
    std::thread::sleep(std::time::Duration::from_millis(300));
    let listed = ns.exec_ok("nft", &["list", "table", "inet", "netcprobe"]);
    ns.exec_ok("nft", &["delete", "table", "inet", "netcprobe"]);
    listed
        .lines()
        .filter_map(|l| {
            let n: u64 = l
                .split("packets ")
                .nth(1)?
                .split_whitespace()
                .next()?
                .parse()
                .ok()?;
            let id: u32 = l
                .split("comment \"f")
                .nth(1)?
                .trim_end_matches('"')
                .parse()
                .ok()?;
            (n > 0).then_some(id)
        })
        .collect()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fw {
    Nftables,
    Iptables,
}

fn load_firewall(ns: &Netns, ir: &HostIr, fw: Fw) {
    match fw {
        Fw::Nftables => {
            let text = nftables::emit(ir);
            let o = ns.exec_stdin("nft", &["-f", "-"], &text);
            assert!(o.status.success(), "nft -f: {}", common::text(&o));
        }
        Fw::Iptables => {
            for (restore, tool, text) in [
                ("iptables-restore", "iptables", iptables::emit(ir)),
                ("ip6tables-restore", "ip6tables", iptables::emit_v6(ir)),
            ] {
                let o = ns.exec_stdin(restore, &["--noflush"], &text);
                assert!(o.status.success(), "{restore}: {}", common::text(&o));
                for j in iptables::hook_jumps() {
                    ns.exec_ok(
                        "sh",
                        &[
                            "-c",
                            &format!(
                                "{tool} -t {t} -C {c} -j {j} 2>/dev/null || {tool} -t {t} -I {c} 1 -j {j}",
                                t = j.table,
                                c = j.chain,
                                j = j.target
                            ),
                        ],
                    );
                }
            }
        }
    }
}

#[test]
fn verdicts_equal_the_kernels() {
    let test = "verdicts_equal_the_kernels";
    if !require_root(test) {
        return;
    }
    for t in [
        "ip",
        "nft",
        "iptables-restore",
        "ip6tables-restore",
        "python3",
    ] {
        if !require_tool(test, t) {
            return;
        }
    }
    let seed: u64 = std::env::var("NETC_CHECK_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x6e65_7463_6368_6b31);
    let per_node: usize = std::env::var("NETC_CHECK_FLOWS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(40);
    eprintln!(
        "{test}: seed {seed} (NETC_CHECK_SEED), {per_node} flows per node (NETC_CHECK_FLOWS)"
    );
    let mut rng = Rng(seed | 1);
    let mut next_id = 0u32;
    let mut mismatches = Vec::new();
    let mut summary = Vec::new();
    let (mut total, mut dropped, mut nodecision) = (0, 0, 0);
    let mut decided: std::collections::BTreeMap<&str, usize> = Default::default();
    for sc in scenarios() {
        let lock = alloc::allocate(&sc.model, None).expect("alloc");
        let cluster = Cluster::new(&sc.model, &lock);
        for n in &cluster.nodes {
            let ir = cluster.lower_node(&n.name).expect("lower");
            if ir.firewall.is_empty() {
                continue;
            }
            let topo = netc::check::topology(&sc.model, &ir);
            let flows = draw(&mut rng, &sc.model, &ir, &topo, per_node, &mut next_id);
            let verdicts: Vec<Outcome> = flows
                .iter()
                .map(|f| {
                    netc::check::check(
                        Some((&sc.model, &sc.sources)),
                        &ir,
                        f.packet.clone(),
                        f.route.clone(),
                        netc::check::Backend::Nftables,
                        (None, None),
                    )
                    .verdict
                })
                .collect();
            for fw in [Fw::Nftables, Fw::Iptables] {
                let ns = Netns::new("chk");
                let pairs = setup(&ns, &ir, &topo);
                let base = send_and_observe(&ns, &flows, &pairs, true);
                // Without a firewall every packet reaches its probe, but
                // a blackholed one, which the kernel drops when routing.
                let lost: Vec<&Flow> = flows
                    .iter()
                    .filter(|f| base.contains(&f.id) == (f.route.kind == RouteKind::Blackhole))
                    .collect();
                assert!(
                    lost.is_empty(),
                    "{}/{}: without a firewall these packets did not take the route netc check computed:\n{lost:#?}",
                    sc.name,
                    n.name
                );
                load_firewall(&ns, &ir, fw);
                let seen = send_and_observe(&ns, &flows, &pairs, false);
                for (f, v) in flows.iter().zip(&verdicts) {
                    let kernel_passes = seen.contains(&f.id);
                    if kernel_passes != (*v != Outcome::Drop) {
                        let ev = eval::evaluate(&ir.firewall, &f.packet, &f.route);
                        mismatches.push(format!(
                            "{}/{} {fw:?} flow {}: netc check {v:?}, kernel {}: {:?} via {:?}\n  path {:?}",
                            sc.name,
                            n.name,
                            f.id,
                            if kernel_passes { "passed" } else { "dropped" },
                            f.packet,
                            f.route,
                            ev.path
                        ));
                    }
                }
            }
            for f in &flows {
                let ev = eval::evaluate(&ir.firewall, &f.packet, &f.route);
                let what = match ev.deciding() {
                    Some(eval::Step::Rule { .. }) => "a policy rule",
                    Some(eval::Step::Failsafe { .. }) => "a failsafe port",
                    Some(eval::Step::HookRule { .. }) => "a hook rule (conntrack, NDP, overlay)",
                    Some(eval::Step::TierEnd { .. }) => "an end-of-tier drop",
                    Some(eval::Step::Default { .. }) => "an endpoint default",
                    Some(eval::Step::NoRoute) => "a blackhole route",
                    _ => "nothing (no endpoint chain)",
                };
                *decided.entry(what).or_insert(0usize) += 1;
            }
            total += flows.len();
            dropped += verdicts.iter().filter(|v| **v == Outcome::Drop).count();
            nodecision += verdicts
                .iter()
                .filter(|v| **v == Outcome::NoDecision)
                .count();
            summary.push(format!("{}/{}: {}", sc.name, n.name, flows.len()));
        }
    }
    eprintln!(
        "{test}: {total} flows ({dropped} dropped, {nodecision} no decision, {} accepted) on {} nodes [{}], under nftables and iptables: {} mismatches",
        total - dropped - nodecision,
        summary.len(),
        summary.join(", "),
        mismatches.len()
    );
    eprintln!("{test}: decided by {decided:?}");
    assert!(
        mismatches.is_empty(),
        "{} of {} verdicts differ from the kernel's:\n{}",
        mismatches.len(),
        2 * total,
        mismatches.join("\n")
    );
    assert!(total >= 200, "only {total} flows");
}
