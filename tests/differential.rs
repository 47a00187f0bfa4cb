//! Differential test of the set-based lowering (targets/src/nftables/merge.rs)
//! with real packets: for random policies, the merged nftables ruleset
//! (`nftables::emit`) must give every packet the verdict the unoptimised one
//! (`nftables::emit_linear`, one nft rule per IR rule) gives it, and so must
//! the iptables ruleset (`iptables::emit`, restored with its hook jumps).
//!
//! Each case: random GlobalNetworkPolicies (tiers, orders, Allow / Deny /
//! Pass / Log, nets, notNets, selectors and notSelectors over labelled
//! network sets, ports, port ranges, notPorts, protocols, ICMP types, both
//! families), as
//! - the egress policy of a host endpoint `eth0` (probes sent by the
//!   namespace itself: the output hook), or
//! - the egress policy of workload a (`calia0`) and the ingress policy of
//!   workload b (`calib0`), probes sent from a's namespace through the host
//!   (the forward hook: a's allow goes on to b's stage, `OnAllow::Then`).
//!
//! Each ruleset is loaded into its own fresh namespace, a batch of random
//! IPv4 and IPv6 probes (TCP SYN, UDP, ICMP echo, with spoofed sources) is
//! sent through raw sockets, and a second table at a later priority of the
//! same hook records the IPv4 id or IPv6 flow label of every probe netc's
//! rules let through. The records must be equal.
//!
//! The seed is fixed and printed on failure; `NETC_DIFF_SEED=<n>` and
//! `NETC_DIFF_CASES=<n>` re-run or widen the search.

mod common;

use common::{pipeline::lower_node, text, Netns, Rng};
use netc_ir::eval;
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Sources of probes are in 10.8.0.0/22 or fd00:0:0:8::/118,
/// destinations in 10.9.0.0/22 or fd00:0:0:9::/118 (`side` 8 or 9), ports
/// in 995..=1020: small, so random rules and probes meet.
fn net(rng: &mut Rng, side: u8, v6: bool) -> String {
    let host = rng.below(1024);
    if v6 {
        let len = 118 + rng.below(8) as u32; // /118 .. /125
        let addr = u128::from(addr6(side, 0)) | u128::from(host);
        let mask = u128::MAX << (128 - len);
        format!("\"{}/{len}\"", Ipv6Addr::from(addr & mask))
    } else {
        let len = 22 + rng.below(8) as u32; // /22 .. /29
        let addr = u32::from(Ipv4Addr::new(10, side, 0, 0)) | host as u32;
        let mask = u32::MAX << (32 - len);
        format!("{}/{len}", Ipv4Addr::from(addr & mask))
    }
}

fn addr6(side: u8, host: u16) -> Ipv6Addr {
    Ipv6Addr::new(0xfd00, 0, 0, u16::from(side), 0, 0, 0, host)
}

fn port_item(rng: &mut Rng) -> String {
    let lo = 995 + rng.below(24);
    if rng.chance(30) {
        format!("\"{lo}:{}\"", lo + rng.below(6))
    } else {
        lo.to_string()
    }
}

fn ports(rng: &mut Rng) -> String {
    let n = 1 + rng.below(3);
    let items: Vec<String> = (0..n).map(|_| port_item(rng)).collect();
    format!("[{}]", items.join(", "))
}

/// One side of a rule (source or destination).
fn side(rng: &mut Rng, base: u8, v6: bool, with_ports: bool) -> String {
    let mut s = String::new();
    if rng.chance(45) {
        let n = 1 + rng.below(3);
        let nets: Vec<String> = (0..n).map(|_| net(rng, base, v6)).collect();
        let _ = writeln!(s, "      nets: [{}]", nets.join(", "));
    }
    if rng.chance(12) {
        let _ = writeln!(s, "      notNets: [{}]", net(rng, base, v6));
    }
    if rng.chance(15) {
        let _ = writeln!(s, "      selector: grp == 'g{}'", rng.below(3));
    }
    if rng.chance(6) {
        let _ = writeln!(s, "      notSelector: grp == 'g{}'", rng.below(3));
    }
    if with_ports && rng.chance(55) {
        let _ = writeln!(s, "      ports: {}", ports(rng));
    }
    if with_ports && rng.chance(8) {
        let _ = writeln!(s, "      notPorts: {}", ports(rng));
    }
    s
}

/// A policy's usual action and protocol: runs of similar rules are what
/// merging is for, so most rules of a policy share them.
struct Style {
    action: &'static str,
    proto: Option<&'static str>,
    v6: bool,
    src_nets: bool,
    dst_nets: bool,
    dst_ports: bool,
}

/// A rule of the policy's usual shape (what merging is for): its action,
/// protocol and family, a source and/or destination net, destination ports.
fn template_rule(rng: &mut Rng, style: &Style) -> String {
    let mut r = format!("  - action: {}\n", style.action);
    if let Some(p) = style.proto {
        let _ = writeln!(r, "    protocol: {p}");
    }
    let ports = style.proto.is_some() && style.dst_ports;
    if style.src_nets {
        let _ = write!(r, "    source:\n      nets: [{}]\n", net(rng, 8, style.v6));
    }
    if style.dst_nets || ports {
        r.push_str("    destination:\n");
        if style.dst_nets {
            let _ = writeln!(r, "      nets: [{}]", net(rng, 9, style.v6));
        }
        if ports {
            let _ = writeln!(r, "      ports: {}", self::ports(rng));
        }
    }
    r
}

fn rule(rng: &mut Rng, style: &Style) -> String {
    if rng.chance(65) {
        return template_rule(rng, style);
    }
    let action = match rng.below(100) {
        _ if rng.chance(70) => style.action,
        0..=49 => "Allow",
        50..=79 => "Deny",
        80..=89 => "Log",
        _ => "Pass",
    };
    let mut r = format!("  - action: {action}\n");
    let proto = match rng.below(10) {
        _ if rng.chance(60) => style.proto,
        0..=4 => Some("TCP"),
        5..=7 => Some("UDP"),
        8 => Some("ICMP"),
        _ => None,
    };
    // A rule's nets are of one family; selectors hold both.
    let v6 = if rng.chance(80) {
        style.v6
    } else {
        rng.chance(30)
    };
    if let Some(p) = proto {
        let p = if p == "ICMP" && v6 { "ICMPv6" } else { p };
        let _ = writeln!(r, "    protocol: {p}");
    }
    if proto == Some("ICMP") && rng.chance(40) {
        let _ = writeln!(r, "    icmp: {{type: {}}}", if v6 { 128 } else { 8 });
    }
    let with_ports = matches!(proto, Some("TCP" | "UDP"));
    let src_ports = with_ports && rng.chance(20);
    let src = side(rng, 8, v6, src_ports);
    if !src.is_empty() {
        let _ = write!(r, "    source:\n{src}");
    }
    let dst = side(rng, 9, v6, with_ports);
    if !dst.is_empty() {
        let _ = write!(r, "    destination:\n{dst}");
    }
    r
}

/// Which way the probes go through the namespace holding the ruleset.
#[derive(Clone, Copy, PartialEq)]
enum Path {
    /// Sent by the namespace itself out of `eth0`, a host endpoint with
    /// egress policy (the output hook).
    Output,
    /// Sent by a workload behind `calia0` to anywhere beyond `calib0`
    /// (the forward hook): workload a's egress policy, whose allow goes on
    /// to workload b's ingress policy (`OnAllow::Then`).
    Forward,
}

fn case_yaml(rng: &mut Rng, path: Path) -> String {
    let node = "apiVersion: projectcalico.org/v3\nkind: Node\nmetadata:\n  name: dn-1\n  annotations:\n    netc.dev/underlay-interface: eth0\nspec:\n  bgp:\n    ipv4Address: 10.0.0.1/24\n";
    let mut y = String::from(node);
    match path {
        Path::Output => y.push_str(
            "---\napiVersion: projectcalico.org/v3\nkind: HostEndpoint\nmetadata:\n  name: dn-1-eth0\n  labels: {iface: up}\nspec:\n  node: dn-1\n  interfaceName: eth0\n  expectedIPs: [10.0.0.1]\n",
        ),
        Path::Forward => {
            for (w, ip) in [("a", "10.7.0.1"), ("b", "10.7.0.2")] {
                let _ = write!(
                    y,
                    "---\napiVersion: projectcalico.org/v3\nkind: WorkloadEndpoint\nmetadata:\n  name: dn--1-k8s-{w}-eth0\n  namespace: default\n  labels: {{wl: {w}}}\nspec:\n  node: dn-1\n  interfaceName: cali{w}0\n  ipNetworks: [{ip}/32]\n"
                );
            }
        }
    }
    for g in 0..3 {
        let nets: Vec<String> = (0..1 + rng.below(3))
            .map(|_| {
                let v6 = rng.chance(40);
                let side = if rng.chance(50) { 8 } else { 9 };
                net(rng, side, v6)
            })
            .collect();
        let _ = write!(
            y,
            "---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\nmetadata:\n  name: set-{g}\n  labels: {{grp: g{g}}}\nspec:\n  nets: [{}]\n",
            nets.join(", ")
        );
    }
    let policies = 1 + rng.below(4);
    for p in 0..policies {
        let tier = if rng.chance(30) { "sec" } else { "default" };
        let name = if tier == "default" {
            format!("pol-{p}")
        } else {
            format!("sec.pol-{p}")
        };
        let (selector, ty) = match path {
            Path::Output => ("iface == 'up'", "Egress"),
            Path::Forward if rng.chance(50) => ("wl == 'a'", "Egress"),
            Path::Forward => ("wl == 'b'", "Ingress"),
        };
        let _ = write!(
            y,
            "---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata:\n  name: {name}\nspec:\n  tier: {tier}\n  order: {}\n  selector: {selector}\n  types: [{ty}]\n  {}:\n",
            rng.below(3) * 10,
            ty.to_lowercase()
        );
        // Runs of similar rules are what merging is for: repeat a shape.
        let style = Style {
            // Forwarded probes need two policies to allow them.
            action: if rng.chance(if path == Path::Forward { 75 } else { 60 }) {
                "Allow"
            } else {
                "Deny"
            },
            proto: [Some("TCP"), Some("TCP"), Some("UDP"), None][rng.below(4) as usize],
            v6: rng.chance(30),
            src_nets: rng.chance(60),
            dst_nets: rng.chance(50),
            dst_ports: rng.chance(70),
        };
        let n = 1 + rng.below(16);
        for _ in 0..n {
            y.push_str(&rule(rng, &style));
        }
    }
    y
}

#[derive(Clone, Copy, Debug)]
struct Probe {
    /// IPv4: the IP id; IPv6: the flow label.
    id: u16,
    src: IpAddr,
    dst: IpAddr,
    proto: u8,
    sport: u16,
    dport: u16,
}

fn probes(rng: &mut Rng, n: u16) -> Vec<Probe> {
    (1..=n)
        .map(|id| {
            let v6 = rng.chance(30);
            let mut addr = |side: u8| -> IpAddr {
                if v6 {
                    addr6(side, rng.below(1024) as u16).into()
                } else {
                    Ipv4Addr::new(10, side, rng.below(4) as u8, rng.below(256) as u8).into()
                }
            };
            let (src, dst) = (addr(8), addr(9));
            let icmp = if v6 { 58 } else { 1 };
            Probe {
                id,
                src,
                dst,
                proto: [6, 6, 17, 17, icmp][rng.below(5) as usize],
                sport: 995 + rng.below(26) as u16,
                dport: 995 + rng.below(26) as u16,
            }
        })
        .collect()
}

fn packet(p: &Probe) -> Vec<u8> {
    let l4: Vec<u8> = match p.proto {
        6 => {
            let mut t = Vec::with_capacity(20);
            t.extend(p.sport.to_be_bytes());
            t.extend(p.dport.to_be_bytes());
            t.extend(u32::from(p.id).to_be_bytes()); // seq
            t.extend([0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0]); // SYN
            t
        }
        17 => {
            let mut u = Vec::with_capacity(8);
            u.extend(p.sport.to_be_bytes());
            u.extend(p.dport.to_be_bytes());
            u.extend(8u16.to_be_bytes());
            u.extend([0, 0]);
            u
        }
        _ => {
            // Echo request (ICMPv6's checksum covers the pseudo-header: below).
            let mut i = vec![if p.proto == 58 { 128 } else { 8 }, 0, 0, 0];
            i.extend(p.id.to_be_bytes());
            i.extend([0, 1]);
            let sum = checksum(&i);
            i[2..4].copy_from_slice(&sum.to_be_bytes());
            i
        }
    };
    // TCP and UDP checksums over the pseudo-header: conntrack marks a
    // forwarded segment with a bad checksum invalid, and netc (like Felix)
    // drops invalid packets before any policy — a probe must be valid to
    // test the policy at all.
    let mut l4 = l4;
    let sum_at = match p.proto {
        6 => Some(16),
        17 => Some(6),
        58 => Some(2),
        _ => None,
    };
    if let Some(at) = sum_at {
        l4[at..at + 2].copy_from_slice(&[0, 0]);
        let mut pseudo = Vec::new();
        match (p.src, p.dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                pseudo.extend(s.octets());
                pseudo.extend(d.octets());
                pseudo.extend([0, p.proto]);
                pseudo.extend((l4.len() as u16).to_be_bytes());
            }
            (s, d) => {
                for a in [s, d] {
                    if let IpAddr::V6(a) = a {
                        pseudo.extend(a.octets());
                    }
                }
                pseudo.extend((l4.len() as u32).to_be_bytes());
                pseudo.extend([0, 0, 0, p.proto]);
            }
        }
        pseudo.extend(&l4);
        let mut sum = checksum(&pseudo);
        if sum == 0 && p.proto == 17 {
            sum = 0xffff;
        }
        l4[at..at + 2].copy_from_slice(&sum.to_be_bytes());
    }
    let mut ip = Vec::new();
    match (p.src, p.dst) {
        (IpAddr::V4(src), IpAddr::V4(dst)) => {
            ip.extend([0x45, 0]);
            ip.extend(((20 + l4.len()) as u16).to_be_bytes());
            ip.extend(p.id.to_be_bytes());
            ip.extend([0x40, 0, 64, p.proto, 0, 0]); // DF, ttl, proto, checksum (kernel)
            ip.extend(src.octets());
            ip.extend(dst.octets());
        }
        (src, dst) => {
            ip.extend((6u32 << 28 | u32::from(p.id)).to_be_bytes()); // version, flow label
            ip.extend((l4.len() as u16).to_be_bytes());
            ip.extend([p.proto, 64]);
            for a in [src, dst] {
                if let IpAddr::V6(a) = a {
                    ip.extend(a.octets());
                }
            }
        }
    }
    ip.extend(l4);
    ip
}

fn checksum(b: &[u8]) -> u16 {
    let mut s: u32 = b
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while s >> 16 != 0 {
        s = (s & 0xffff) + (s >> 16);
    }
    !(s as u16)
}

/// Sends the probes from inside the namespace (raw sockets, which take
/// the whole IP header, created on a thread that entered it).
fn send(ns: &Netns, probes: &[Probe]) {
    let path = format!("/var/run/netns/{}", ns.name);
    let packets: Vec<(IpAddr, Vec<u8>)> = probes.iter().map(|p| (p.dst, packet(p))).collect();
    std::thread::spawn(move || {
        let f = std::fs::File::open(&path).expect("open netns");
        use std::os::fd::AsRawFd;
        // SAFETY: plain syscalls on valid descriptors and buffers that
        // outlive them; this thread only sends and then ends.
        unsafe {
            assert_eq!(libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET), 0, "setns");
            let s4 = libc::socket(libc::AF_INET, libc::SOCK_RAW, libc::IPPROTO_RAW);
            let s6 = libc::socket(libc::AF_INET6, libc::SOCK_RAW, libc::IPPROTO_RAW);
            assert!(s4 >= 0 && s6 >= 0, "raw sockets");
            for (dst, pkt) in &packets {
                // A drop by the firewall is reported as EPERM: expected.
                match dst {
                    IpAddr::V4(d) => {
                        let mut sa: libc::sockaddr_in = std::mem::zeroed();
                        sa.sin_family = libc::AF_INET as libc::sa_family_t;
                        sa.sin_addr.s_addr = u32::from(*d).to_be();
                        libc::sendto(
                            s4,
                            pkt.as_ptr().cast(),
                            pkt.len(),
                            0,
                            (&sa as *const libc::sockaddr_in).cast(),
                            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
                        );
                    }
                    IpAddr::V6(d) => {
                        let mut sa: libc::sockaddr_in6 = std::mem::zeroed();
                        sa.sin6_family = libc::AF_INET6 as libc::sa_family_t;
                        sa.sin6_addr.s6_addr = d.octets();
                        libc::sendto(
                            s6,
                            pkt.as_ptr().cast(),
                            pkt.len(),
                            0,
                            (&sa as *const libc::sockaddr_in6).cast(),
                            std::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t,
                        );
                    }
                }
            }
            libc::close(s4);
            libc::close(s6);
        }
    })
    .join()
    .expect("sender thread");
}

/// A table at a later priority of the probes' hook that records the
/// probes netc's rules let through, by IPv4 id or IPv6 flow label, and
/// drops them. Only the probes: the kernel sends IPv6 neighbour discovery
/// and MLD too.
fn observer(path: Path) -> String {
    let (hook, iface) = match path {
        Path::Output => ("output", "oifname \"eth0\""),
        Path::Forward => ("forward", "iifname \"calia0\""),
    };
    format!(
        "table inet probe {{\n\
         \tset seen {{ typeof ip id; size 65535; flags dynamic; }}\n\
         \tset seen6 {{ typeof ip6 flowlabel; size 65535; flags dynamic; }}\n\
         \tchain probes {{ type filter hook {hook} priority 100; policy drop;\n\
         \t\t{iface} ip saddr 10.8.0.0/16 update @seen {{ ip id }}\n\
         \t\t{iface} ip6 saddr fd00:0:0:8::/64 update @seen6 {{ ip6 flowlabel }}\n\
         \t}}\n}}\n"
    )
}

enum Ruleset<'a> {
    Nft(&'a str),
    /// `iptables.rules`, restored with the hook jumps the host layer adds.
    Iptables(&'a str, &'a str),
}

/// The probe ids `ruleset` lets out of eth0.
fn verdicts(ruleset: Ruleset, probes: &[Probe], path: Path) -> Result<BTreeSet<u16>, String> {
    let ns = Netns::new("diff");
    let veth = |ns: &Netns, a: &str, b: &str| {
        ns.exec_ok("ip", &["link", "add", a, "type", "veth", "peer", "name", b]);
        for l in [a, b] {
            ns.exec_ok("ip", &["link", "set", l, "up"]);
        }
    };
    // The sender: this namespace, or a workload namespace behind calia0.
    let workload = match path {
        Path::Output => {
            veth(&ns, "eth0", "u0");
            ns.exec_ok("ip", &["addr", "add", "10.0.0.1/24", "dev", "eth0"]);
            ns.exec_ok("ip", &["route", "add", "default", "dev", "eth0"]);
            ns.exec_ok("ip", &["-6", "route", "add", "default", "dev", "eth0"]);
            None
        }
        Path::Forward => {
            // Calico's workload plumbing: the workload's default route goes
            // to a link-local gateway whose neighbour entry is the host
            // side's MAC; the host forwards everything out of calib0.
            let w = Netns::new("diffw");
            veth(&ns, "calia0", "a0");
            ns.exec_ok("ip", &["link", "set", "a0", "netns", &w.name]);
            veth(&ns, "calib0", "b0");
            for kv in [
                "net.ipv4.ip_forward=1",
                "net.ipv6.conf.all.forwarding=1",
                "net.ipv4.conf.all.rp_filter=0",
                "net.ipv4.conf.calia0.rp_filter=0",
            ] {
                ns.exec_ok("sysctl", &["-qw", kv]);
            }
            ns.exec_ok("ip", &["route", "add", "default", "dev", "calib0"]);
            ns.exec_ok("ip", &["-6", "route", "add", "default", "dev", "calib0"]);
            let mac = ns.exec_ok("cat", &["/sys/class/net/calia0/address"]);
            let mac = mac.trim();
            w.exec_ok("ip", &["link", "set", "a0", "up"]);
            for (gw, fam) in [("169.254.1.1", "-4"), ("fe80::1", "-6")] {
                w.exec_ok(
                    "ip",
                    &[
                        fam,
                        "neigh",
                        "add",
                        gw,
                        "lladdr",
                        mac,
                        "dev",
                        "a0",
                        "nud",
                        "permanent",
                    ],
                );
                w.exec_ok(
                    "ip",
                    &[
                        fam, "route", "add", "default", "via", gw, "dev", "a0", "onlink",
                    ],
                );
            }
            Some(w)
        }
    };
    match ruleset {
        Ruleset::Nft(r) => {
            let o = ns.exec_stdin("nft", &["-f", "-"], r);
            if !o.status.success() {
                return Err(format!("nft -f rejected the ruleset: {}", text(&o)));
            }
        }
        Ruleset::Iptables(r4, r6) => {
            for (tool, r) in [("iptables", r4), ("ip6tables", r6)] {
                let o = ns.exec_stdin(&format!("{tool}-restore"), &["--noflush"], r);
                if !o.status.success() {
                    return Err(format!("{tool}-restore rejected the rules: {}", text(&o)));
                }
                for j in netc_targets::iptables::hook_jumps() {
                    ns.exec_ok(tool, &["-t", j.table, "-I", j.chain, "1", "-j", &j.target]);
                }
            }
        }
    }
    let o = ns.exec_stdin("nft", &["-f", "-"], &observer(path));
    assert!(o.status.success(), "observer table: {}", text(&o));
    // NETC_DIFF_TRACE=FILE: an nft trace of every probe (debugging).
    let tracer = std::env::var_os("NETC_DIFF_TRACE").filter(|_| matches!(ruleset, Ruleset::Nft(_))).map(|f| {
        ns.exec_stdin("nft", &["-f", "-"], "table inet trc {\n chain pre {\n type filter hook prerouting priority -500; meta nftrace set 1\n }\n chain o {\n type filter hook output priority -500; meta nftrace set 1\n }\n}\n");
        let out = std::fs::File::create(f).expect("trace file");
        let c = std::process::Command::new("ip")
            .args(["netns", "exec", &ns.name, "stdbuf", "-oL", "nft", "monitor", "trace"])
            .stdout(out)
            .spawn()
            .expect("nft monitor");
        std::thread::sleep(std::time::Duration::from_millis(500));
        c
    });
    send(workload.as_ref().unwrap_or(&ns), probes);
    if let Some(mut c) = tracer {
        std::thread::sleep(std::time::Duration::from_millis(1500));
        let _ = c.kill();
        let _ = c.wait();
    }
    let mut seen = BTreeSet::new();
    for set in ["seen", "seen6"] {
        let out = ns.exec_ok("nft", &["-j", "list", "set", "inet", "probe", set]);
        let v: serde_json::Value = serde_json::from_str(&out).expect("nft json");
        for item in v["nftables"].as_array().into_iter().flatten() {
            for e in item["set"]["elem"].as_array().into_iter().flatten() {
                if let Some(n) = e.as_u64() {
                    seen.insert(n as u16);
                }
            }
        }
    }
    Ok(seen)
}

#[test]
fn host_endpoint_egress_merged_nft_gives_every_packet_the_linear_verdict() {
    differential("differential (output)", Path::Output, 48);
}

#[test]
fn forwarded_workload_traffic_merged_nft_gives_every_packet_the_linear_verdict() {
    differential("differential (forward)", Path::Forward, 32);
}

fn differential(test: &str, path: Path, default_cases: u64) {
    if !common::require_root(test)
        || !common::require_tool(test, "nft")
        || !common::require_tool(test, "iptables-restore")
    {
        return;
    }
    let seed: u64 = std::env::var("NETC_DIFF_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5e7_10e5);
    let cases: u64 = std::env::var("NETC_DIFF_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default_cases);
    let mut merged_cases = 0;
    let mut split_cases = 0;
    let (mut accepted, mut accepted_v6, mut total) = (0usize, 0usize, 0usize);
    for case in 0..cases {
        let case_seed = seed.wrapping_add(case).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        let mut rng = Rng(case_seed);
        let yaml = case_yaml(&mut rng, path);
        let ir = lower_node(&yaml, "dn-1");
        let linear = netc_targets::nftables::emit_linear(&ir);
        let merged = netc_targets::nftables::emit(&ir);
        // Merged sets split into parts (`nftables::SHARD_ABOVE`) above two
        // elements: random policies' sets are small, and this splits every
        // one of them (into up to 64 parts, some empty).
        let split = netc_targets::nftables::emit_sharded(&ir, 2);
        let ipt = netc_targets::iptables::emit(&ir);
        let ipt6 = netc_targets::iptables::emit_v6(&ir);
        if merged.contains(" merged") {
            merged_cases += 1;
        }
        if split.contains(" sets):") {
            split_cases += 1;
        }
        let ps = probes(&mut rng, 600);
        if let Some(d) = std::env::var_os("NETC_DIFF_DUMP") {
            let d = std::path::PathBuf::from(d).join(format!("case-{case}"));
            let _ = std::fs::create_dir_all(&d);
            let _ = std::fs::write(d.join("input.yaml"), &yaml);
            let _ = std::fs::write(d.join("linear.nft"), &linear);
            let _ = std::fs::write(d.join("merged.nft"), &merged);
            let _ = std::fs::write(d.join("split.nft"), &split);
        }
        let report = |what: &str| {
            format!(
                "case {case} (NETC_DIFF_SEED={seed}, case seed {case_seed:#x}): {what}\n\
                 --- input ---\n{yaml}\n--- merged ruleset ---\n{merged}"
            )
        };
        let want =
            verdicts(Ruleset::Nft(&linear), &ps, path).unwrap_or_else(|e| panic!("{}", report(&e)));
        // The IR evaluator behind `netc check` must agree with the kernel
        // running the linear ruleset, probe by probe.
        let route = match path {
            Path::Output => eval::Route {
                kind: eval::RouteKind::Output,
                iif: None,
                oif: Some("eth0".into()),
            },
            Path::Forward => eval::Route {
                kind: eval::RouteKind::Forward,
                iif: Some("calia0".into()),
                oif: Some("calib0".into()),
            },
        };
        let mut disagree = Vec::new();
        for p in &ps {
            let pkt = eval::Packet {
                src: p.src,
                dst: p.dst,
                protocol: netc_ir::Protocol::from_number(p.proto),
                src_port: p.sport,
                dst_port: p.dport,
                icmp_type: if p.src.is_ipv6() { 128 } else { 8 },
                icmp_code: 0,
            };
            let e = eval::evaluate(&ir.firewall, &pkt, &route);
            if (e.outcome != eval::Outcome::Drop) != want.contains(&p.id) {
                let rules: Vec<String> = e
                    .path
                    .iter()
                    .filter_map(|st| match st {
                        eval::Step::Rule { comment, .. } => Some(comment.clone()),
                        _ => None,
                    })
                    .collect();
                disagree.push(format!("{:?} for {p:?} by {rules:?}", e.outcome));
            }
        }
        assert!(
            disagree.is_empty(),
            "{}",
            report(&format!(
                "netc check's evaluator and the kernel (linear nft) disagree on {} probes:\n{}",
                disagree.len(),
                disagree.join("\n")
            ))
        );
        let runs = [
            ("merged nft", Ruleset::Nft(&merged)),
            ("merged nft, sets split", Ruleset::Nft(&split)),
            ("iptables", Ruleset::Iptables(&ipt, &ipt6)),
        ];
        for (what, rs) in runs {
            let got = verdicts(rs, &ps, path).unwrap_or_else(|e| panic!("{}", report(&e)));
            if want != got {
                let verdict = |s: &BTreeSet<u16>, p: &Probe| {
                    if s.contains(&p.id) {
                        "accept"
                    } else {
                        "drop"
                    }
                };
                let diff: Vec<String> = ps
                    .iter()
                    .filter(|p| want.contains(&p.id) != got.contains(&p.id))
                    .take(10)
                    .map(|p| {
                        format!(
                            "{p:?}: linear nft {}, {what} {}",
                            verdict(&want, p),
                            verdict(&got, p)
                        )
                    })
                    .collect();
                panic!(
                    "{}",
                    report(&format!("{what}: verdicts differ:\n{}", diff.join("\n")))
                );
            }
        }
        accepted += want.len();
        total += ps.len();
        accepted_v6 += ps
            .iter()
            .filter(|p| p.src.is_ipv6() && want.contains(&p.id))
            .count();
    }
    eprintln!(
        "{test}: {cases} cases ({merged_cases} with merged rules, {split_cases} with split sets), {total} probes, {accepted} accepted"
    );
    // The test must exercise the merge and the split, and see both verdicts.
    assert!(
        merged_cases * 2 >= cases as usize,
        "only {merged_cases} of {cases} cases merged anything"
    );
    assert!(
        split_cases * 4 >= cases as usize,
        "only {split_cases} of {cases} cases split a set"
    );
    assert!(
        accepted > total / 20 && accepted < total - total / 20,
        "{accepted} of {total} accepted"
    );
    assert!(
        accepted_v6 > 0 && accepted_v6 < accepted,
        "{accepted_v6} of {accepted} accepted probes are IPv6: one family never got through"
    );
}
