//! Benchmark, not a timed test: what 10,000 policy rules cost the datapath
//! and the load, with netc's merged nftables ruleset, the linear one (one
//! nft rule per policy rule, `nftables::emit_linear`), the iptables one,
//! and hand-written set rulesets, against no ruleset — all in one run.
//!
//! ```text
//! sudo cargo test --release --test datapath_bench -- --ignored --nocapture
//! ```
//!
//! Input: N terms of "TCP from a /24 to a /26 on a port" (the issue's
//! generator; the policy-file layout is host_bench's: policies of 1,000
//! rules on one node's host endpoint) plus a last policy allowing any TCP,
//! so a flow matching none of the N terms is accepted after all of them.
//! A server namespace enforces the ruleset on its `eth0`; a client
//! namespace opens TCP connections as fast as it can (connect, then close
//! with RST so no TIME_WAIT piles up) from an address in the last term's
//! /24 ("last rule") or from one in no term ("no rule"). Every figure is a
//! median of RUNS measurements, configurations interleaved; ratios are
//! against "no ruleset" measured in the same rounds. Load: `nft -f` of
//! each file into a fresh namespace, median of LOAD_RUNS, interleaved.
//!
//! Prints Markdown for BENCHMARKS.md. `NETC_BENCH_DUMP=<dir>` also writes
//! the compared files there.

mod common;

use common::{pipeline::lower_node, text, Netns};
use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::path::Path;
use std::time::{Duration, Instant};

const TERMS: usize = 10_000;
const RUNS: usize = 5;
const LOAD_RUNS: usize = 11;
const WINDOW: Duration = Duration::from_millis(1000);

fn src_net(r: usize) -> (Ipv4Addr, u8) {
    (
        Ipv4Addr::new(10, (100 + r / 256) as u8, (r % 256) as u8, 0),
        24,
    )
}
fn dst_net(r: usize) -> (Ipv4Addr, u8) {
    (
        Ipv4Addr::new(
            10,
            (200 + r / 1024) as u8,
            ((r % 1024) / 4) as u8,
            ((r % 4) * 64) as u8,
        ),
        26,
    )
}
fn port(r: usize) -> u16 {
    10_000 + r as u16
}
fn add(a: Ipv4Addr, n: u32) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(a) + n)
}

fn input_yaml() -> String {
    let mut y = String::from(
        "apiVersion: projectcalico.org/v3\nkind: Node\nmetadata:\n  name: dp-1\n  annotations:\n    netc.dev/underlay-interface: eth0\nspec:\n  bgp:\n    ipv4Address: 172.31.0.1/24\n---\n\
         apiVersion: projectcalico.org/v3\nkind: HostEndpoint\nmetadata:\n  name: dp-1-eth0\n  labels: {hep: bench}\nspec:\n  node: dp-1\n  interfaceName: eth0\n",
    );
    for r in 0..TERMS {
        if r % 1000 == 0 {
            let _ = write!(
                y,
                "---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata:\n  name: big-{}\nspec:\n  order: {}\n  selector: hep == 'bench'\n  types: [Ingress]\n  ingress:\n",
                r / 1000,
                r / 1000
            );
        }
        let (s, sl) = src_net(r);
        let (d, dl) = dst_net(r);
        let _ = write!(
            y,
            "  - action: Allow\n    protocol: TCP\n    source:\n      nets: [{s}/{sl}]\n    destination:\n      nets: [{d}/{dl}]\n      ports: [{}]\n",
            port(r)
        );
    }
    y.push_str(
        "---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata:\n  name: zz-any-tcp\nspec:\n  order: 1000\n  selector: hep == 'bench'\n  types: [Ingress]\n  ingress:\n  - action: Allow\n    protocol: TCP\n",
    );
    y
}

/// How a hand-written ruleset keys its one set.
#[derive(Clone, Copy)]
enum Key {
    /// `ip saddr . ip daddr . th dport . meta l4proto`
    ProtoLast,
    /// `meta l4proto . ip saddr . ip daddr . th dport`
    ProtoFirst,
    /// `meta l4proto tcp` as a plain match, `ip saddr . ip daddr . th dport`:
    /// the smallest equivalent.
    NoProto,
}

/// A hand-written nft ruleset with the same verdicts on eth0 ingress: one
/// concatenated interval set and one rule.
fn hand_written(k: Key) -> String {
    let (ty, key) = match k {
        Key::ProtoLast => (
            "ipv4_addr . ipv4_addr . inet_service . inet_proto",
            "ip saddr . ip daddr . th dport . meta l4proto",
        ),
        Key::ProtoFirst => (
            "inet_proto . ipv4_addr . ipv4_addr . inet_service",
            "meta l4proto . ip saddr . ip daddr . th dport",
        ),
        Key::NoProto => (
            "ipv4_addr . ipv4_addr . inet_service",
            "meta l4proto tcp ip saddr . ip daddr . th dport",
        ),
    };
    let mut o = format!(
        "table inet hand {{\n\tset terms {{\n\t\ttype {ty}\n\t\tflags interval\n\t\telements = {{"
    );
    for r in 0..TERMS {
        let (s, sl) = src_net(r);
        let (d, dl) = dst_net(r);
        if r > 0 {
            o.push(',');
        }
        let p = port(r);
        let _ = match k {
            Key::ProtoFirst => write!(o, "\n\t\t\ttcp . {s}/{sl} . {d}/{dl} . {p}"),
            Key::ProtoLast => write!(o, "\n\t\t\t{s}/{sl} . {d}/{dl} . {p} . tcp"),
            Key::NoProto => write!(o, "\n\t\t\t{s}/{sl} . {d}/{dl} . {p}"),
        };
    }
    let _ = write!(
        o,
        "\n\t\t}}\n\t}}\n\tchain input {{\n\t\ttype filter hook input priority filter; policy accept;\n\t\tct state established,related accept\n\t\tct state invalid drop\n\t\tiifname != \"eth0\" accept\n\t\t{key} @terms accept\n\t\tmeta l4proto tcp accept\n\t\tdrop\n\t}}\n}}\n"
    );
    o
}

enum Fw {
    None,
    Nft(String),
    Iptables(String),
}

/// Client and server namespaces joined by a veth pair; the server listens
/// on the last term's port at an address in the last term's /26.
struct Pair {
    client: Netns,
    server: Netns,
    server_addr: Ipv4Addr,
    last_src: Ipv4Addr,
    none_src: Ipv4Addr,
}

fn pair(fw: &Fw) -> Pair {
    let last = TERMS - 1;
    let server_addr = add(dst_net(last).0, 1);
    let last_src = add(src_net(last).0, 2);
    let none_src = Ipv4Addr::new(192, 168, 77, 2);
    let client = Netns::new("dpc");
    let server = Netns::new("dps");
    client.exec_ok(
        "ip",
        &[
            "link",
            "add",
            "c0",
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "netns",
            &server.name,
        ],
    );
    for a in [last_src, none_src] {
        client.exec_ok("ip", &["addr", "add", &format!("{a}/32"), "dev", "c0"]);
    }
    client.exec_ok("ip", &["link", "set", "c0", "up"]);
    client.exec_ok(
        "ip",
        &["route", "add", &format!("{server_addr}/32"), "dev", "c0"],
    );
    server.exec_ok(
        "ip",
        &["addr", "add", &format!("{server_addr}/32"), "dev", "eth0"],
    );
    server.exec_ok("ip", &["link", "set", "eth0", "up"]);
    for kv in [
        "net.core.somaxconn=65535",
        "net.ipv4.tcp_max_syn_backlog=65535",
    ] {
        server.exec_ok("sysctl", &["-qw", kv]);
    }
    for a in [last_src, none_src] {
        server.exec_ok("ip", &["route", "add", &format!("{a}/32"), "dev", "eth0"]);
    }
    match fw {
        Fw::None => {}
        Fw::Nft(f) => {
            let o = server.exec_stdin("nft", &["-f", "-"], f);
            assert!(o.status.success(), "nft -f: {}", text(&o));
        }
        Fw::Iptables(f) => {
            let o = server.exec_stdin("iptables-restore", &["--noflush"], f);
            assert!(o.status.success(), "iptables-restore: {}", text(&o));
            server.exec_ok("iptables", &["-I", "INPUT", "1", "-j", "netc-INPUT"]);
        }
    }
    Pair {
        client,
        server,
        server_addr,
        last_src,
        none_src,
    }
}

fn enter(ns: &str) -> std::fs::File {
    let f = std::fs::File::open(format!("/var/run/netns/{ns}")).expect("open netns");
    use std::os::fd::AsRawFd;
    // SAFETY: setns on a valid namespace descriptor, for this thread only.
    assert_eq!(
        unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) },
        0,
        "setns"
    );
    f
}

/// New TCP connections per second from `src` to the server during WINDOW.
fn rate(p: &Pair, src: Ipv4Addr) -> f64 {
    let port = port(TERMS - 1);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (server_ns, stop2) = (p.server.name.clone(), stop.clone());
    let (tx, rx) = std::sync::mpsc::channel();
    let server = std::thread::spawn(move || {
        let _ns = enter(&server_ns);
        // A deep accept queue: with std's 128, a server thread waiting for
        // a CPU lets the queue overflow, and a dropped SYN costs the client
        // a one-second retransmission.
        // SAFETY: plain socket syscalls on a descriptor this thread owns.
        unsafe {
            let l = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
            assert!(l >= 0, "socket");
            set_flag(l, libc::SOL_SOCKET, libc::SO_REUSEADDR);
            let mut a: libc::sockaddr_in = std::mem::zeroed();
            a.sin_family = libc::AF_INET as libc::sa_family_t;
            a.sin_port = port.to_be();
            let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
            assert_eq!(
                libc::bind(l, (&a as *const libc::sockaddr_in).cast(), len),
                0,
                "bind"
            );
            assert_eq!(libc::listen(l, 65535), 0, "listen");
            tx.send(()).unwrap();
            while !stop2.load(std::sync::atomic::Ordering::Relaxed) {
                let c = libc::accept(l, std::ptr::null_mut(), std::ptr::null_mut());
                if c >= 0 {
                    libc::close(c);
                }
            }
            libc::close(l);
        }
    });
    rx.recv().unwrap();
    let (client_ns, dst) = (p.client.name.clone(), p.server_addr);
    let n = std::thread::spawn(move || {
        let _ns = enter(&client_ns);
        let (mut n, mut failed) = (0u64, 0u64);
        let t = Instant::now();
        let mut done = false;
        while !done {
            done = t.elapsed() >= WINDOW;
            if connect(src, dst, port, true) {
                n += 1;
            } else {
                failed += 1;
            }
        }
        assert!(
            failed * 100 <= n,
            "{failed} connections failed, {n} succeeded"
        );
        n as f64 / t.elapsed().as_secs_f64()
    })
    .join()
    .unwrap();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let ns = p.client.name.clone();
    std::thread::spawn(move || {
        let _ns = enter(&ns);
        connect(p_none_wake(), dst, port, false);
    })
    .join()
    .unwrap();
    server.join().unwrap();
    n
}

/// The wake-up connection to stop the server comes from an address every
/// ruleset accepts (no term matches it, the last policy allows TCP).
fn p_none_wake() -> Ipv4Addr {
    Ipv4Addr::new(192, 168, 77, 2)
}

/// One connection: socket, bind to `src`, connect, close with RST.
fn connect(src: Ipv4Addr, dst: Ipv4Addr, port: u16, rst: bool) -> bool {
    // SAFETY: plain socket syscalls on a descriptor this function owns.
    unsafe {
        let s = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
        if s < 0 {
            return false;
        }
        let mut a: libc::sockaddr_in = std::mem::zeroed();
        a.sin_family = libc::AF_INET as libc::sa_family_t;
        a.sin_addr.s_addr = u32::from(src).to_be();
        let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        // The port is chosen at connect, knowing the destination (else
        // bind searches the whole ephemeral range on every call).
        set_flag(s, libc::IPPROTO_IP, libc::IP_BIND_ADDRESS_NO_PORT);
        let mut ok = libc::bind(s, (&a as *const libc::sockaddr_in).cast(), len) == 0;
        if ok {
            let mut d: libc::sockaddr_in = std::mem::zeroed();
            d.sin_family = libc::AF_INET as libc::sa_family_t;
            d.sin_addr.s_addr = u32::from(dst).to_be();
            d.sin_port = port.to_be();
            ok = libc::connect(s, (&d as *const libc::sockaddr_in).cast(), len) == 0;
        }
        if rst {
            let l = libc::linger {
                l_onoff: 1,
                l_linger: 0,
            };
            libc::setsockopt(
                s,
                libc::SOL_SOCKET,
                libc::SO_LINGER,
                (&l as *const libc::linger).cast(),
                std::mem::size_of::<libc::linger>() as libc::socklen_t,
            );
        }
        libc::close(s);
        ok
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Median `nft -f` time of each file into a fresh namespace, the files
/// interleaved round by round (LOAD_RUNS rounds) so drifts in the machine's
/// load hit them alike.
fn load_times(files: &[&str]) -> Vec<Duration> {
    let mut v: Vec<Vec<Duration>> = vec![Vec::new(); files.len()];
    let dir = std::env::temp_dir();
    for _ in 0..LOAD_RUNS {
        for (i, file) in files.iter().enumerate() {
            let ns = Netns::new("dpl");
            let path = dir.join(format!("netc-dp-{}-{i}.nft", std::process::id()));
            std::fs::write(&path, file).unwrap();
            let t = Instant::now();
            ns.exec_ok("nft", &["-f", path.to_str().unwrap()]);
            v[i].push(t.elapsed());
            let _ = std::fs::remove_file(&path);
        }
    }
    v.into_iter()
        .map(|mut t| {
            t.sort();
            t[t.len() / 2]
        })
        .collect()
}

#[test]
#[ignore = "benchmark: run with --ignored --nocapture, as root"]
fn datapath_and_load_with_10k_rules() {
    if !common::require_root("datapath_bench") || !common::require_tool("datapath_bench", "nft") {
        return;
    }
    let ir = lower_node(&input_yaml(), "dp-1");
    let t = Instant::now();
    let merged = netc_targets::nftables::emit(&ir);
    let emit_merged = t.elapsed();
    let t = Instant::now();
    let linear = netc_targets::nftables::emit_linear(&ir);
    let emit_linear = t.elapsed();
    let ipt = netc_targets::iptables::emit(&ir);
    let hand = hand_written(Key::NoProto);
    let hand_last = hand_written(Key::ProtoLast);
    let hand_first = hand_written(Key::ProtoFirst);
    if let Ok(dir) = std::env::var("NETC_BENCH_DUMP") {
        // The compared files, for a closer look (`nft --debug=netlink -c -f`).
        for (name, f) in [
            ("merged.nft", &merged),
            ("linear.nft", &linear),
            ("hand.nft", &hand),
            ("hand-proto-last.nft", &hand_last),
            ("hand-proto-first.nft", &hand_first),
            ("iptables.rules", &ipt),
        ] {
            let _ = std::fs::write(Path::new(&dir).join(name), f);
        }
    }
    let configs: Vec<(&str, Fw)> = vec![
        ("no ruleset", Fw::None),
        ("netc nftables, merged", Fw::Nft(merged.clone())),
        ("netc nftables, linear (before)", Fw::Nft(linear.clone())),
        ("netc iptables (linear)", Fw::Iptables(ipt.clone())),
        (
            "hand-written set, `meta l4proto tcp ip saddr . ip daddr . th dport`",
            Fw::Nft(hand_written(Key::NoProto)),
        ),
        (
            "hand-written set, `ip saddr . ip daddr . th dport . meta l4proto`",
            Fw::Nft(hand_written(Key::ProtoLast)),
        ),
        (
            "hand-written set, `meta l4proto . ip saddr . ip daddr . th dport`",
            Fw::Nft(hand_written(Key::ProtoFirst)),
        ),
    ];
    let pairs: Vec<Pair> = configs.iter().map(|(_, fw)| pair(fw)).collect();
    let mut last: Vec<Vec<f64>> = vec![Vec::new(); pairs.len()];
    let mut none: Vec<Vec<f64>> = vec![Vec::new(); pairs.len()];
    for round in 0..RUNS {
        for (i, p) in pairs.iter().enumerate() {
            last[i].push(rate(p, p.last_src));
            none[i].push(rate(p, p.none_src));
        }
        eprintln!("round {round}: last {last:?}");
    }
    let (base_last, base_none) = (median(last[0].clone()), median(none[0].clone()));
    let mut md = format!(
        "{TERMS} terms (TCP from a /24 to a /26 on a port) in {} policies of 1,000 + one policy allowing any TCP, on one host endpoint.\n\
         New TCP connections per second, medians of {RUNS} windows of {} ms, configurations interleaved; ratio against no ruleset in the same run.\n\n\
         | ruleset on the server | flow matching the last term | ratio | flow matching no term | ratio |\n|---|---:|---:|---:|---:|\n",
        TERMS / 1000,
        WINDOW.as_millis()
    );
    for (i, (name, _)) in configs.iter().enumerate() {
        let (l, n) = (median(last[i].clone()), median(none[i].clone()));
        let _ = writeln!(
            md,
            "| {name} | {l:.0} | {:.2} | {n:.0} | {:.2} |",
            l / base_last,
            n / base_none
        );
    }
    drop(pairs);

    let rules = |f: &str| {
        f.lines()
            .filter(|l| l.contains(" accept") || l.contains(" drop"))
            .count()
    };
    let loads = load_times(&[&merged, &linear, &hand, &hand_last, &hand_first]);
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let _ = write!(
        md,
        "\n`nft -f` into a fresh namespace, median of {LOAD_RUNS}, files interleaved:\n\n| file | rules | size | load | ratio to the smallest |\n|---|---:|---:|---:|---:|\n"
    );
    let names = [
        "netc nftables.nft, merged",
        "netc nftables.nft, linear (before)",
        "hand-written set, `meta l4proto tcp ip saddr . ip daddr . th dport` (smallest)",
        "hand-written set, `ip saddr . ip daddr . th dport . meta l4proto`",
        "hand-written set, `meta l4proto . ip saddr . ip daddr . th dport`",
    ];
    let lh = loads[2];
    for ((name, f), t) in names
        .iter()
        .zip([&merged, &linear, &hand, &hand_last, &hand_first])
        .zip(loads.iter().copied())
    {
        let _ = writeln!(
            md,
            "| {name} | {} | {} KiB | {:.0} ms | {:.2} |",
            rules(f),
            f.len() / 1024,
            ms(t),
            ms(t) / ms(lh)
        );
    }
    let _ = write!(
        md,
        "\nEmitting nftables.nft from the IR (this build's profile): merged {:.0} ms, linear {:.0} ms.\n",
        ms(emit_merged),
        ms(emit_linear)
    );
    println!("{md}");
}

/// Turn on the integer socket option `opt` at `level` of `fd` (its result
/// is not checked: both options only make the benchmark cheaper).
///
/// # Safety
/// `fd` is a socket the caller owns.
unsafe fn set_flag(fd: libc::c_int, level: libc::c_int, opt: libc::c_int) {
    let one: libc::c_int = 1;
    // SAFETY: a valid pointer to an int of the size given, for the call only.
    unsafe {
        libc::setsockopt(
            fd,
            level,
            opt,
            (&one as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}
