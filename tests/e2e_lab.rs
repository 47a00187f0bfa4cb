//! End to end: a real cluster in network namespaces, from the YAML
//! in `lab/cluster/`, stood up by `lab/up.sh`, converged by `netc apply` on
//! every node, with real BIRD daemons and real traffic.
//!
//! Scenarios, in order, on one lab:
//! 1. **mesh** (VXLAN CrossSubnet pool): every BGP session Established, every
//!    node's BIRD has learned every remote block from its owner, every node's
//!    kernel routes every remote block (unencapsulated in its subnet, through
//!    `vxlan.calico` across), every workload reaches every other one, and
//!    only cross-subnet traffic moves `vxlan.calico`'s counters.
//! 2. **rr**: mesh off, r1n1 reflects for the other three. `netc plan` shows
//!    the session changes; after apply the sessions re-establish, routes are
//!    learned through the reflector, reachability holds. Pingers at 10/s run
//!    through the switch; their loss is reported.
//! 3. **vxlan** (Always): every node-to-node packet moves `vxlan.calico`'s
//!    counters; a DF ping of exactly the tunnel MTU passes, one byte more fails.
//! 4. **dualstack**: IPv6 underlay, an IPv6 VXLAN pool, workloads with a
//!    /128 each: IPv4 and IPv6 reflector sessions Established, remote IPv6
//!    blocks learned by BIRD and routed through `vxlan-v6.calico`, every
//!    pair pings over IPv6, and `ping -6 -M do` of exactly the tunnel MTU
//!    (1430) passes, one byte more fails.
//! 5. **bgpfilter**: a BGPFilter on the reflector's peering towards rack1
//!    rejects r2n2's blocks (IPv4 and IPv6): `birdc show route` on r1n2 lacks
//!    them, r1n1 and r2n1 have them; no session restarts.
//! 6. **policy**: the verdict of every (source, destination, port/ICMP) triple
//!    equals the table in [`expected`], written from the policy YAML's
//!    intent; once with `--firewall nftables`, once with `--firewall
//!    iptables`; the two observed matrices are identical.
//! 7. **ipip** (only on kernels with the ipip module; this machine's has none).
//! 8. **teardown**: `lab/down.sh` leaves no namespace, process, link or file
//!    (a guard runs it also when the test fails).
//!
//! Skips without root unless CI=true. Prints a report (also written to
//! `$CARGO_TARGET_TMPDIR/e2e_lab_report.txt`).

mod common;

use ipnet::Ipv4Net;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Namespace prefix and state directory of the test's lab (distinct from a
/// lab a user may have up: `netclab`).
const LAB: &str = "netce2e";
const STATE: &str = "/tmp/netce2e";
/// Every workload listens on these (lab/lib.sh LISTEN_PORTS).
const PORTS: [u16; 5] = [80, 5432, 8000, 8100, 8101];
/// Bound on every wait for convergence.
const DEADLINE: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------------------
// The cluster, read from lab/cluster/base (the test knows it from the YAML,
// as the scripts do).

#[derive(Clone, Debug)]
struct Node {
    name: String,
    addr: Ipv4Addr,
    subnet: Ipv4Net,
    block: Ipv4Net,
}

#[derive(Clone, Debug)]
struct Workload {
    name: String,
    node: String,
    app: String,
    ip: Ipv4Addr,
    /// The workload's namespace (lab/lib.sh wl_ns).
    ns: String,
}

struct Cluster {
    nodes: Vec<Node>,
    workloads: Vec<Workload>,
}

fn yaml(path: &Path) -> serde_yaml::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn s(v: &serde_yaml::Value) -> String {
    v.as_str().map(str::to_string).unwrap_or_default()
}

impl Cluster {
    fn load(base: &Path) -> Cluster {
        let lock = yaml(&base.join("netc.lock"));
        let blocks = &lock["pools"]["10.10.0.0/16"]["blocks"];
        let nodes_doc = yaml(&base.join("nodes.yaml"));
        let mut nodes = Vec::new();
        for n in nodes_doc["items"].as_sequence().expect("NodeList items") {
            let name = s(&n["metadata"]["name"]);
            let iface: Ipv4Net = s(&n["spec"]["bgp"]["ipv4Address"])
                .parse()
                .expect("ipv4Address");
            let block: Ipv4Net = s(&blocks[name.as_str()][0])
                .parse()
                .expect("block in netc.lock");
            nodes.push(Node {
                name,
                addr: iface.addr(),
                subnet: iface.trunc(),
                block,
            });
        }
        let wl_doc = yaml(&base.join("workloads.yaml"));
        let mut workloads = Vec::new();
        for w in wl_doc["items"]
            .as_sequence()
            .expect("WorkloadEndpointList items")
        {
            let ifname = s(&w["spec"]["interfaceName"]);
            let net: Ipv4Net = s(&w["spec"]["ipNetworks"][0]).parse().expect("ipNetworks");
            let short = ifname.strip_prefix("cali-").unwrap_or(&ifname);
            workloads.push(Workload {
                name: short.to_string(),
                node: s(&w["spec"]["node"]),
                app: s(&w["metadata"]["labels"]["app"]),
                ip: net.addr(),
                ns: format!("{LAB}-{short}"),
            });
        }
        Cluster { nodes, workloads }
    }

    fn node(&self, name: &str) -> &Node {
        self.nodes.iter().find(|n| n.name == name).expect("node")
    }

    fn wl(&self, name: &str) -> &Workload {
        self.workloads
            .iter()
            .find(|w| w.name == name)
            .expect("workload")
    }

    fn same_subnet(&self, a: &str, b: &str) -> bool {
        self.node(a).subnet == self.node(b).subnet
    }
}

/// The IPv6 half of the cluster, read from lab/cluster/dualstack (the
/// "dualstack" and "bgpfilter" stages).
struct V6 {
    /// node -> (ipv6Address, its block of the IPv6 pool)
    nodes: BTreeMap<String, (Ipv6Addr, String)>,
    /// workload name -> its /128
    wls: BTreeMap<String, Ipv6Addr>,
}

impl V6 {
    fn load(dir: &Path) -> V6 {
        let lock = yaml(&dir.join("netc.lock"));
        let blocks = &lock["pools"]["fd10::/112"]["blocks"];
        let mut nodes = BTreeMap::new();
        for n in yaml(&dir.join("nodes.yaml"))["items"]
            .as_sequence()
            .expect("NodeList items")
        {
            let name = s(&n["metadata"]["name"]);
            let a = s(&n["spec"]["bgp"]["ipv6Address"]);
            let addr: Ipv6Addr = a.split('/').next().unwrap().parse().expect("ipv6Address");
            let block = s(&blocks[name.as_str()][0]);
            assert!(!block.is_empty(), "no IPv6 block for {name} in netc.lock");
            nodes.insert(name, (addr, block));
        }
        let mut wls = BTreeMap::new();
        for w in yaml(&dir.join("workloads.yaml"))["items"]
            .as_sequence()
            .expect("WorkloadEndpointList items")
        {
            let ifname = s(&w["spec"]["interfaceName"]);
            let short = ifname.strip_prefix("cali-").unwrap_or(&ifname).to_string();
            let v6 = w["spec"]["ipNetworks"]
                .as_sequence()
                .expect("ipNetworks")
                .iter()
                .map(s)
                .find(|n| n.contains(':'))
                .unwrap_or_else(|| panic!("{short} has no IPv6 address"));
            wls.insert(short, v6.split('/').next().unwrap().parse().expect("/128"));
        }
        V6 { nodes, wls }
    }

    fn proto(&self, kind: &str, node: &str) -> String {
        format!(
            "{kind}_{}",
            self.nodes[node].0.to_string().replace(':', "_")
        )
    }
}

/// BIRD protocol name for a session to `addr` (Calico's naming).
fn proto_name(kind: &str, addr: Ipv4Addr) -> String {
    format!("{kind}_{}", addr.to_string().replace('.', "_"))
}

// ---------------------------------------------------------------------------
// Running the lab.

struct Lab {
    repo: PathBuf,
    netc: String,
    torn_down: bool,
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

impl Lab {
    fn cmd(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.env("NETC_LAB", LAB)
            .env("NETC_LAB_STATE", STATE)
            .env("NETC", &self.netc)
            .stdin(Stdio::null());
        c
    }

    /// Run a lab script; panic with its output when it fails.
    fn script(&self, name: &str, args: &[&str]) -> String {
        let path = self.repo.join("lab").join(name);
        let o = self
            .cmd("bash")
            .arg(&path)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {name}: {e}"));
        assert!(
            o.status.success(),
            "lab/{name} {args:?} failed:\n{}",
            text(&o)
        );
        text(&o)
    }

    fn down(&mut self) -> Output {
        self.torn_down = true;
        self.cmd("bash")
            .arg(self.repo.join("lab/down.sh"))
            .output()
            .expect("run lab/down.sh")
    }

    fn node_ns(&self, node: &str) -> String {
        format!("{LAB}-{node}")
    }

    /// Run a command in a namespace; its output, whether or not it succeeded.
    fn exec(&self, ns: &str, args: &[&str]) -> Output {
        Command::new("ip")
            .args(["netns", "exec", ns])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("ip netns exec")
    }

    fn exec_ok(&self, ns: &str, args: &[&str]) -> String {
        let o = self.exec(ns, args);
        assert!(o.status.success(), "in {ns}: {args:?}: {}", text(&o));
        String::from_utf8_lossy(&o.stdout).to_string()
    }

    fn birdc(&self, node: &str, what: &str) -> String {
        let sock = format!("{STATE}/nodes/{node}/bird.ctl");
        let mut args = vec!["birdc", "-s", &sock];
        args.extend(what.split_whitespace());
        self.exec_ok(&self.node_ns(node), &args)
    }

    /// Established BGP sessions and all BGP protocol names of a node's BIRD.
    fn bgp_sessions(&self, node: &str) -> (BTreeSet<String>, BTreeSet<String>) {
        let (mut up, mut all) = (BTreeSet::new(), BTreeSet::new());
        for line in self.birdc(node, "show protocols").lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() >= 2 && f[1] == "BGP" {
                all.insert(f[0].to_string());
                if line.contains("Established") {
                    up.insert(f[0].to_string());
                }
            }
        }
        (up, all)
    }

    /// BIRD's routes: prefix -> protocol of the best route.
    fn bird_routes(&self, node: &str) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for line in self.birdc(node, "show route").lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() >= 3 && f[0].contains('/') && f[2].starts_with('[') {
                out.insert(f[0].to_string(), f[2].trim_start_matches('[').to_string());
            }
        }
        out
    }

    /// Kernel routes netc owns (proto 233): dst -> dev.
    fn netc_routes(&self, node: &str) -> BTreeMap<String, String> {
        let o = self.exec_ok(
            &self.node_ns(node),
            &["ip", "-j", "route", "show", "proto", "233"],
        );
        let v: Value = serde_json::from_str(&o).expect("ip -j route");
        let mut out = BTreeMap::new();
        for r in v.as_array().into_iter().flatten() {
            let dst = r["dst"].as_str().unwrap_or_default().to_string();
            let dev = r["dev"]
                .as_str()
                .unwrap_or(r["type"].as_str().unwrap_or(""))
                .to_string();
            out.insert(dst, dev);
        }
        out
    }

    /// IPv6 kernel routes netc owns (proto 233): dst -> dev.
    fn netc_routes6(&self, node: &str) -> BTreeMap<String, String> {
        let o = self.exec_ok(
            &self.node_ns(node),
            &["ip", "-6", "-j", "route", "show", "proto", "233"],
        );
        let v: Value = serde_json::from_str(&o).expect("ip -6 -j route");
        let mut out = BTreeMap::new();
        for r in v.as_array().into_iter().flatten() {
            let dst = r["dst"].as_str().unwrap_or_default().to_string();
            let dev = r["dev"].as_str().unwrap_or_default().to_string();
            out.insert(dst, dev);
        }
        out
    }

    /// ping -6 between every ordered pair of workloads (one shell loop per
    /// source, all sources at once); the pairs that failed.
    fn unreachable_pairs6(&self, c: &Cluster, v6: &V6) -> Vec<String> {
        let children: Vec<(&Workload, Child)> = c
            .workloads
            .iter()
            .map(|src| {
                let dsts: Vec<String> = c
                    .workloads
                    .iter()
                    .filter(|d| d.name != src.name)
                    .map(|d| v6.wls[&d.name].to_string())
                    .collect();
                let script = format!(
                    "for d in {}; do ping -6 -n -q -c1 -W1 $d >/dev/null 2>&1 || echo $d; done",
                    dsts.join(" ")
                );
                let child = Command::new("ip")
                    .args(["netns", "exec", &src.ns, "sh", "-c", &script])
                    .stdin(Stdio::null())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("spawn ping -6 loop");
                (src, child)
            })
            .collect();
        let mut bad = Vec::new();
        for (src, child) in children {
            let o = child.wait_with_output().expect("ping -6 loop");
            for d in String::from_utf8_lossy(&o.stdout).split_whitespace() {
                bad.push(format!("{} -> {d}", src.name));
            }
        }
        bad
    }

    /// TX packets of a device in a node (`ip -s -j link`).
    fn tx_packets(&self, node: &str, dev: &str) -> u64 {
        let o = self.exec_ok(
            &self.node_ns(node),
            &["ip", "-s", "-j", "link", "show", "dev", dev],
        );
        let v: Value = serde_json::from_str(&o).expect("ip -s -j link");
        v[0]["stats64"]["tx"]["packets"]
            .as_u64()
            .expect("tx packets")
    }

    fn mtu(&self, node: &str, dev: &str) -> u64 {
        let o = self.exec_ok(
            &self.node_ns(node),
            &["ip", "-j", "link", "show", "dev", dev],
        );
        let v: Value = serde_json::from_str(&o).expect("ip -j link");
        v[0]["mtu"].as_u64().expect("mtu")
    }

    fn ping(&self, from: &Workload, to: Ipv4Addr, extra: &[&str]) -> bool {
        let to = to.to_string();
        let mut args = vec!["ping", "-n", "-q", "-c1", "-W1"];
        args.extend_from_slice(extra);
        args.push(&to);
        self.exec(&from.ns, &args).status.success()
    }

    fn ping6(&self, from: &Workload, to: Ipv6Addr, extra: &[&str]) -> bool {
        let to = to.to_string();
        let mut args = vec!["ping", "-6", "-n", "-q", "-c1", "-W1"];
        args.extend_from_slice(extra);
        args.push(&to);
        self.exec(&from.ns, &args).status.success()
    }

    /// Run probes from many sources at once: one `probe.py check` per source
    /// namespace, all concurrently. Results in probe order.
    fn probe(&self, batches: &[(&Workload, Vec<Probe>)]) -> Vec<Vec<String>> {
        let probe_py = self.repo.join("lab/probe.py");
        let mut children: Vec<Child> = Vec::new();
        for (src, probes) in batches {
            let input: Vec<Value> = probes
                .iter()
                .map(|p| match p.svc {
                    Svc::Tcp(port) => {
                        serde_json::json!({"dst": p.dst.to_string(), "proto": "tcp", "port": port})
                    }
                    Svc::Icmp => serde_json::json!({"dst": p.dst.to_string(), "proto": "icmp"}),
                })
                .collect();
            let mut child = Command::new("ip")
                .args(["netns", "exec", &src.ns, "python3"])
                .arg(&probe_py)
                .args(["check", "--timeout", "1.5"])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn probe.py");
            use std::io::Write;
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(serde_json::to_string(&input).unwrap().as_bytes())
                .expect("write probes");
            children.push(child);
        }
        children
            .into_iter()
            .map(|c| {
                let o = c.wait_with_output().expect("probe.py");
                assert!(o.status.success(), "probe.py: {}", text(&o));
                let v: Vec<String> = serde_json::from_slice(&o.stdout)
                    .unwrap_or_else(|e| panic!("probe.py output: {e}: {}", text(&o)));
                v
            })
            .collect()
    }

    /// ICMP between every ordered pair of workloads; the pairs that failed.
    fn unreachable_pairs(&self, c: &Cluster) -> Vec<String> {
        let batches: Vec<(&Workload, Vec<Probe>)> = c
            .workloads
            .iter()
            .map(|src| {
                let probes = c
                    .workloads
                    .iter()
                    .filter(|d| d.name != src.name)
                    .map(|d| Probe {
                        dst: d.ip,
                        svc: Svc::Icmp,
                    })
                    .collect();
                (src, probes)
            })
            .collect();
        let results = self.probe(&batches);
        let mut bad = Vec::new();
        for ((src, probes), res) in batches.iter().zip(results) {
            for (p, r) in probes.iter().zip(res) {
                if r != "reply" {
                    bad.push(format!("{} -> {} ({r})", src.name, p.dst));
                }
            }
        }
        bad
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if !self.torn_down {
            let o = self.down();
            eprintln!("lab/down.sh (guard):\n{}", text(&o));
        }
    }
}

/// Record a report line, and print it now (so a later failure still shows it).
fn say(report: &mut Vec<String>, line: String) {
    eprintln!("[e2e_lab] {line}");
    report.push(line);
}

/// Poll `check` until it returns Ok or the deadline passes; the time it took.
fn wait_for<F: FnMut() -> Result<(), String>>(what: &str, mut check: F) -> Duration {
    let start = Instant::now();
    loop {
        match check() {
            Ok(()) => return start.elapsed(),
            Err(why) if start.elapsed() > DEADLINE => {
                panic!("{what}: not reached within {DEADLINE:?}: {why}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(250)),
        }
    }
}

// ---------------------------------------------------------------------------
// The policy intent, restated independently of netc (lab/cluster/policy/policy.yaml).

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Svc {
    Tcp(u16),
    Icmp,
}

#[derive(Clone, Copy, Debug)]
struct Probe {
    dst: Ipv4Addr,
    svc: Svc,
}

/// Who may send what to whom, as policy.yaml's header states it.
fn expected(src: &Workload, dst: &Workload, svc: Svc) -> bool {
    let quarantine: Ipv4Net = "10.10.0.203/32".parse().unwrap();
    let office: Ipv4Net = "10.10.0.128/25".parse().unwrap();
    let range = |p: u16| (8000..=8100).contains(&p);

    // Denials that win over everything (security tier, batch's egress).
    if quarantine.contains(&src.ip) || quarantine.contains(&dst.ip) {
        return false;
    }
    if dst.app == "db" && src.app != "api" {
        return false;
    }
    if src.app == "batch" && matches!(svc, Svc::Icmp) {
        return false;
    }
    if src.app == "batch" && matches!(svc, Svc::Tcp(p) if range(p)) {
        return false;
    }
    // What each destination accepts; anything else is denied.
    match (dst.app.as_str(), svc) {
        (_, Svc::Icmp) => true,
        ("web", Svc::Tcp(80)) => src.app == "frontend",
        ("db", Svc::Tcp(5432)) => src.app == "api",
        ("api", Svc::Tcp(p)) if range(p) => true,
        ("api", Svc::Tcp(80)) => office.contains(&src.ip),
        _ => false,
    }
}

type Matrix = BTreeMap<(String, String, Svc), bool>;

fn svc_name(s: Svc) -> String {
    match s {
        Svc::Tcp(p) => format!("tcp/{p}"),
        Svc::Icmp => "icmp".into(),
    }
}

/// Observe every (source, destination, service) verdict. A verdict that is
/// "denied" where the intent says "allowed" is probed once more (a lost
/// packet is not a policy); the count of such retries is returned.
fn observe_matrix(lab: &Lab, c: &Cluster) -> (Matrix, usize) {
    let mut svcs: Vec<Svc> = PORTS.iter().map(|p| Svc::Tcp(*p)).collect();
    svcs.push(Svc::Icmp);
    let batches: Vec<(&Workload, Vec<Probe>)> = c
        .workloads
        .iter()
        .map(|src| {
            let mut probes = Vec::new();
            for d in c.workloads.iter().filter(|d| d.name != src.name) {
                for &svc in &svcs {
                    probes.push(Probe { dst: d.ip, svc });
                }
            }
            (src, probes)
        })
        .collect();
    let by_ip: BTreeMap<Ipv4Addr, &Workload> = c.workloads.iter().map(|w| (w.ip, w)).collect();
    let results = lab.probe(&batches);
    let mut m = Matrix::new();
    let mut retry: Vec<(&Workload, Vec<Probe>)> = Vec::new();
    for ((src, probes), res) in batches.iter().zip(results) {
        let mut again = Vec::new();
        for (p, r) in probes.iter().zip(res) {
            let dst = by_ip[&p.dst];
            let allowed = match r.as_str() {
                "open" | "reply" => true,
                "timeout" => false,
                other => panic!(
                    "{} -> {} {}: unexpected probe result `{other}` (a listener missing, or routing broken)",
                    src.name,
                    dst.name,
                    svc_name(p.svc)
                ),
            };
            if !allowed && expected(src, dst, p.svc) {
                again.push(*p);
            }
            m.insert((src.name.clone(), dst.name.clone(), p.svc), allowed);
        }
        if !again.is_empty() {
            retry.push((src, again));
        }
    }
    let retries = retry.iter().map(|(_, p)| p.len()).sum();
    if retries > 0 {
        let results = lab.probe(&retry);
        for ((src, probes), res) in retry.iter().zip(results) {
            for (p, r) in probes.iter().zip(res) {
                let dst = by_ip[&p.dst];
                m.insert(
                    (src.name.clone(), dst.name.clone(), p.svc),
                    r == "open" || r == "reply",
                );
            }
        }
    }
    (m, retries)
}

fn matrix_mismatches(c: &Cluster, m: &Matrix) -> Vec<String> {
    let mut out = Vec::new();
    for ((s, d, svc), &got) in m {
        let want = expected(c.wl(s), c.wl(d), *svc);
        if got != want {
            out.push(format!(
                "{s} ({}) -> {d} ({}) {}: observed {}, intended {}",
                c.wl(s).app,
                c.wl(d).app,
                svc_name(*svc),
                if got { "allow" } else { "deny" },
                if want { "allow" } else { "deny" }
            ));
        }
    }
    out
}

/// One line per source: the destinations/services it may reach.
fn matrix_table(c: &Cluster, m: &Matrix) -> String {
    let mut out = String::new();
    for src in &c.workloads {
        let mut allowed = Vec::new();
        for dst in &c.workloads {
            let svcs: Vec<String> = m
                .iter()
                .filter(|((s, d, _), &ok)| *s == src.name && *d == dst.name && ok)
                .map(|((_, _, svc), _)| svc_name(*svc))
                .collect();
            if !svcs.is_empty() {
                allowed.push(format!("{}[{}]", dst.name, svcs.join(",")));
            }
        }
        out.push_str(&format!(
            "    {:8} ({:8}) -> {}\n",
            src.name,
            src.app,
            if allowed.is_empty() {
                "nothing".to_string()
            } else {
                allowed.join(" ")
            }
        ));
    }
    out
}

// ---------------------------------------------------------------------------
// Pingers for the mesh -> RR switch.

struct Pinger {
    label: String,
    child: Option<Child>,
}

impl Pinger {
    fn start(src: &Workload, dst: &Workload) -> Pinger {
        let child = Command::new("ip")
            .args([
                "netns", "exec", &src.ns, "ping", "-n", "-q", "-i", "0.1", "-W", "1",
            ])
            .arg(dst.ip.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn ping");
        Pinger {
            label: format!("{} -> {}", src.name, dst.name),
            child: Some(child),
        }
    }

    /// SIGINT (ping prints its statistics), then (sent, received).
    fn stop(mut self) -> (u64, u64) {
        let child = self.child.take().expect("running");
        // SAFETY: plain kill(2) on our own child's pid.
        unsafe {
            libc::kill(child.id() as libc::pid_t, libc::SIGINT);
        }
        let o = child.wait_with_output().expect("ping");
        let out = String::from_utf8_lossy(&o.stdout);
        let line = out
            .lines()
            .find(|l| l.contains("packets transmitted"))
            .unwrap_or_else(|| panic!("ping {}: no statistics: {}", self.label, text(&o)));
        let nums: Vec<u64> = line
            .split(',')
            .take(2)
            .map(|p| {
                p.split_whitespace()
                    .next()
                    .unwrap_or("0")
                    .parse()
                    .unwrap_or(0)
            })
            .collect();
        (nums[0], nums[1])
    }
}

impl Drop for Pinger {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

// ---------------------------------------------------------------------------

fn netc_has(netc: &str, sub: &str) -> bool {
    Command::new(netc)
        .args([sub, "--help"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

fn root_links() -> BTreeSet<String> {
    let o = Command::new("ip")
        .args(["-j", "link", "show"])
        .output()
        .expect("ip link");
    let v: Value = serde_json::from_slice(&o.stdout).unwrap_or(Value::Null);
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| l["ifname"].as_str().map(str::to_string))
        .collect()
}

/// Root-namespace routes (any table) whose destination overlaps one of `nets`.
fn root_routes_into(nets: &[Ipv4Net]) -> BTreeSet<String> {
    let o = Command::new("ip")
        .args(["-4", "-j", "route", "show", "table", "all"])
        .output()
        .expect("ip route");
    let v: Value = serde_json::from_slice(&o.stdout).unwrap_or(Value::Null);
    let mut out = BTreeSet::new();
    for r in v.as_array().into_iter().flatten() {
        let dst = r["dst"].as_str().unwrap_or("default");
        let net = match dst.parse::<Ipv4Net>() {
            Ok(n) => n,
            Err(_) => match dst.parse::<Ipv4Addr>() {
                Ok(a) => Ipv4Net::from(a),
                Err(_) => continue, // default
            },
        };
        if nets
            .iter()
            .any(|l| l.contains(&net.network()) || net.contains(&l.network()))
        {
            out.insert(r.to_string());
        }
    }
    out
}

fn lab_namespaces() -> Vec<String> {
    let o = Command::new("ip")
        .args(["netns", "list"])
        .output()
        .expect("ip netns");
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| n.starts_with(&format!("{LAB}-")))
        .map(str::to_string)
        .collect()
}

/// Processes whose command line mentions the lab's state directory (BIRD,
/// listeners).
fn lab_processes() -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if !name.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        if let Ok(cmd) = std::fs::read(e.path().join("cmdline")) {
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            if cmd.contains(STATE) && !cmd.contains("cargo") {
                out.push(format!("{name}: {cmd}"));
            }
        }
    }
    out
}

#[test]
fn lab_end_to_end() {
    const TEST: &str = "e2e_lab";
    if !common::require_root(TEST) {
        return;
    }
    for tool in [
        "ip",
        "bridge",
        "bird",
        "birdc",
        "nft",
        "iptables-restore",
        "python3",
        "ping",
    ] {
        if !common::require_tool(TEST, tool) {
            return;
        }
    }
    let t_all = Instant::now();
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let c = Cluster::load(&repo.join("lab/cluster/base"));
    let mut report: Vec<String> = Vec::new();
    let mut ran: Vec<&str> = Vec::new();

    // The addresses the YAML gives the workloads lie in their nodes' blocks.
    for w in &c.workloads {
        let n = c.node(&w.node);
        assert!(
            n.block.contains(&w.ip) && w.ip != n.block.network(),
            "workload {} ({}) is not a usable address of {}'s block {}",
            w.name,
            w.ip,
            n.name,
            n.block
        );
    }

    let links_before = root_links();
    let mut lab_nets: Vec<Ipv4Net> = vec!["10.10.0.0/16".parse().unwrap()];
    lab_nets.extend(c.nodes.iter().map(|n| n.subnet));
    let root_routes_before = root_routes_into(&lab_nets);
    let mut lab = Lab {
        repo: repo.clone(),
        netc: env!("CARGO_BIN_EXE_netc").to_string(),
        torn_down: true,
    };
    // A lab left over by an earlier, killed run.
    let o = lab.down();
    assert!(o.status.success(), "lab/down.sh before start: {}", text(&o));
    lab.torn_down = false;

    // ---- 1. mesh ---------------------------------------------------------
    let t = Instant::now();
    lab.script("up.sh", &["mesh"]);
    let up_time = t.elapsed();
    let t = Instant::now();
    let mesh_bgp = wait_for("mesh: every session Established", || {
        for n in &c.nodes {
            let want: BTreeSet<String> = c
                .nodes
                .iter()
                .filter(|o| o.name != n.name)
                .map(|o| proto_name("Mesh", o.addr))
                .collect();
            let (up, all) = lab.bgp_sessions(&n.name);
            if all != want || up != want {
                return Err(format!(
                    "{}: established {up:?}, configured {all:?}, want {want:?}",
                    n.name
                ));
            }
        }
        Ok(())
    });
    wait_for(
        "mesh: BIRD learned every remote block from its owner",
        || {
            for n in &c.nodes {
                let routes = lab.bird_routes(&n.name);
                for o in c.nodes.iter().filter(|o| o.name != n.name) {
                    let want = proto_name("Mesh", o.addr);
                    match routes.get(&o.block.to_string()) {
                        Some(p) if *p == want => {}
                        got => {
                            return Err(format!(
                                "{}: {} from {got:?}, want {want}",
                                n.name, o.block
                            ))
                        }
                    }
                }
            }
            Ok(())
        },
    );
    for n in &c.nodes {
        let routes = lab.netc_routes(&n.name);
        for o in c.nodes.iter().filter(|o| o.name != n.name) {
            let want = if c.same_subnet(&n.name, &o.name) {
                "eth0"
            } else {
                "vxlan.calico"
            };
            assert_eq!(
                routes.get(&o.block.to_string()).map(String::as_str),
                Some(want),
                "{}: kernel route to {}'s block {} (CrossSubnet): {routes:?}",
                n.name,
                o.name,
                o.block
            );
        }
    }
    let mesh_reach = wait_for("mesh: every workload reaches every other", || {
        let bad = lab.unreachable_pairs(&c);
        if bad.is_empty() {
            Ok(())
        } else {
            Err(bad.join("; "))
        }
    });
    let mesh_conv = t.elapsed();
    // CrossSubnet: only traffic leaving the subnet is encapsulated.
    let (fe1, api, fe2) = (c.wl("r1n1-w1"), c.wl("r1n2-w1"), c.wl("r2n1-w1"));
    let before = lab.tx_packets("r1n1", "vxlan.calico");
    for _ in 0..5 {
        assert!(lab.ping(fe1, api.ip, &[]), "ping r1n1-w1 -> r1n2-w1");
    }
    let same = lab.tx_packets("r1n1", "vxlan.calico") - before;
    for _ in 0..5 {
        assert!(lab.ping(fe1, fe2.ip, &[]), "ping r1n1-w1 -> r2n1-w1");
    }
    let cross = lab.tx_packets("r1n1", "vxlan.calico") - before - same;
    assert!(
        same < 5,
        "CrossSubnet: same-subnet pings went through vxlan.calico ({same} packets)"
    );
    assert!(
        cross >= 5,
        "CrossSubnet: cross-subnet pings did not go through vxlan.calico ({cross} packets)"
    );
    // The root namespace got nothing: no links, no routes towards the lab.
    assert_eq!(
        root_routes_into(&lab_nets),
        root_routes_before,
        "the root namespace's routes towards the lab's networks changed"
    );
    let new_links: Vec<String> = root_links().difference(&links_before).cloned().collect();
    assert!(
        new_links.is_empty(),
        "links appeared in the root namespace: {new_links:?}"
    );
    ran.push("mesh");
    say(&mut report, format!(
        "mesh (VXLAN CrossSubnet): lab up + apply {:.1}s; all 12 mesh session ends (3 per node) Established after {:.1}s, all 56 workload pairs reachable after {:.1}s (total {:.1}s); vxlan.calico tx on r1n1: +{same} for 5 same-subnet pings, +{cross} for 5 cross-subnet pings",
        up_time.as_secs_f64(),
        mesh_bgp.as_secs_f64(),
        mesh_reach.as_secs_f64(),
        mesh_conv.as_secs_f64()
    ));

    // ---- 2. mesh -> route reflector ---------------------------------------
    let rr = c.node("r1n1").clone();
    let mut plan_note = String::from("netc plan not available");
    if netc_has(&lab.netc, "plan") {
        let out = lab.script("stage.sh", &["--plan", "rr"]);
        for n in &c.nodes {
            let section = out
                .split("### ")
                .find(|s| s.starts_with(&n.name))
                .unwrap_or_else(|| panic!("plan output has no section for {}:\n{out}", n.name));
            // Sessions that go and come: the mesh towards the others, the
            // reflector sessions.
            let gone: Vec<String> = c
                .nodes
                .iter()
                .filter(|o| o.name != n.name)
                .map(|o| proto_name("Mesh", o.addr))
                .collect();
            let come: Vec<String> = if n.name == rr.name {
                c.nodes
                    .iter()
                    .filter(|o| o.name != rr.name)
                    .map(|o| proto_name("Node", o.addr))
                    .collect()
            } else {
                vec![proto_name("Node", rr.addr)]
            };
            for g in &gone {
                assert!(
                    section
                        .lines()
                        .any(|l| l.trim_start().starts_with('-') && l.contains(g.as_str())),
                    "plan for {} does not remove session {g}:\n{section}",
                    n.name
                );
            }
            for a in &come {
                assert!(
                    section
                        .lines()
                        .any(|l| l.trim_start().starts_with('+') && l.contains(a.as_str())),
                    "plan for {} does not add session {a}:\n{section}",
                    n.name
                );
            }
        }
        plan_note = "netc plan showed every node's Mesh_ sessions removed and Node_ (reflector) sessions added".into();
    }
    let pairs = [
        ("r1n1-w1", "r1n2-w1"), // same subnet
        ("r2n2-w1", "r2n1-w2"), // same subnet, other rack
        ("r1n1-w2", "r2n1-w1"), // across subnets
        ("r2n2-w2", "r1n2-w2"), // across subnets
    ];
    let pingers: Vec<Pinger> = pairs
        .iter()
        .map(|(a, b)| Pinger::start(c.wl(a), c.wl(b)))
        .collect();
    std::thread::sleep(Duration::from_secs(1));
    let t = Instant::now();
    lab.script("stage.sh", &["rr"]);
    let rr_apply = t.elapsed();
    let t = Instant::now();
    let rr_bgp = wait_for("rr: reflector sessions Established, mesh gone", || {
        for n in &c.nodes {
            let want: BTreeSet<String> = if n.name == rr.name {
                c.nodes
                    .iter()
                    .filter(|o| o.name != rr.name)
                    .map(|o| proto_name("Node", o.addr))
                    .collect()
            } else {
                [proto_name("Node", rr.addr)].into_iter().collect()
            };
            let (up, all) = lab.bgp_sessions(&n.name);
            if all != want || up != want {
                return Err(format!(
                    "{}: established {up:?}, configured {all:?}, want {want:?}",
                    n.name
                ));
            }
        }
        Ok(())
    });
    wait_for(
        "rr: every remote block learned through the reflector",
        || {
            for n in &c.nodes {
                let routes = lab.bird_routes(&n.name);
                for o in c.nodes.iter().filter(|o| o.name != n.name) {
                    let want = if n.name == rr.name {
                        proto_name("Node", o.addr)
                    } else {
                        proto_name("Node", rr.addr)
                    };
                    match routes.get(&o.block.to_string()) {
                        Some(p) if *p == want => {}
                        got => {
                            return Err(format!(
                                "{}: {} from {got:?}, want {want}",
                                n.name, o.block
                            ))
                        }
                    }
                }
            }
            Ok(())
        },
    );
    let rr_reach = wait_for("rr: every workload reaches every other", || {
        let bad = lab.unreachable_pairs(&c);
        if bad.is_empty() {
            Ok(())
        } else {
            Err(bad.join("; "))
        }
    });
    let rr_conv = t.elapsed();
    std::thread::sleep(Duration::from_secs(1));
    let mut loss = Vec::new();
    let (mut sent_all, mut recv_all) = (0, 0);
    for p in pingers {
        let label = p.label.clone();
        let (sent, recv) = p.stop();
        assert!(
            recv > 0,
            "ping {label}: nothing came back during the switch"
        );
        sent_all += sent;
        recv_all += recv;
        loss.push(format!("{label} {}/{sent}", sent - recv));
    }
    ran.push("rr");
    say(&mut report, format!(
        "mesh -> rr: {plan_note}; apply on 4 nodes {:.1}s; sessions Established {:.1}s and all pairs reachable {:.1}s after it (total {:.1}s); loss during the switch (lost/sent, 10 pings/s): {} — total {}/{} (a VXLAN pool's cluster routes are netc's, not BIRD's)",
        rr_apply.as_secs_f64(),
        rr_bgp.as_secs_f64(),
        rr_reach.as_secs_f64(),
        rr_conv.as_secs_f64(),
        loss.join(", "),
        sent_all - recv_all,
        sent_all
    ));

    // ---- 3. VXLAN Always --------------------------------------------------
    let t = Instant::now();
    lab.script("stage.sh", &["vxlan"]);
    wait_for(
        "vxlan: every remote block routed through vxlan.calico",
        || {
            for n in &c.nodes {
                let routes = lab.netc_routes(&n.name);
                for o in c.nodes.iter().filter(|o| o.name != n.name) {
                    if routes.get(&o.block.to_string()).map(String::as_str) != Some("vxlan.calico")
                    {
                        return Err(format!(
                            "{}: {} -> {:?}",
                            n.name,
                            o.block,
                            routes.get(&o.block.to_string())
                        ));
                    }
                }
            }
            Ok(())
        },
    );
    let vx_reach = wait_for("vxlan: every workload reaches every other", || {
        let bad = lab.unreachable_pairs(&c);
        if bad.is_empty() {
            Ok(())
        } else {
            Err(bad.join("; "))
        }
    });
    let vx_conv = t.elapsed();
    let mut counters = Vec::new();
    for (src, dst, through) in [
        ("r1n1-w1", "r1n1-w2", false), // same node: never encapsulated
        ("r1n1-w1", "r1n2-w1", true),  // same subnet: now encapsulated
        ("r1n1-w1", "r2n2-w1", true),  // across subnets
        ("r2n1-w2", "r1n2-w2", true),
    ] {
        let (s, d) = (c.wl(src), c.wl(dst));
        let before = lab.tx_packets(&s.node, "vxlan.calico");
        for _ in 0..5 {
            assert!(lab.ping(s, d.ip, &[]), "vxlan: ping {src} -> {dst}");
        }
        let delta = lab.tx_packets(&s.node, "vxlan.calico") - before;
        if through {
            assert!(
                delta >= 5,
                "vxlan: {src} -> {dst} did not go through vxlan.calico (+{delta})"
            );
        } else {
            assert!(
                delta < 5,
                "vxlan: same-node {src} -> {dst} went through vxlan.calico (+{delta})"
            );
        }
        counters.push(format!("{src}->{dst} +{delta}"));
    }
    let mtu = lab.mtu("r1n1", "vxlan.calico");
    assert_eq!(mtu, 1450, "vxlan.calico MTU: underlay 1500 - 50");
    let fit = (mtu - 28).to_string();
    let over = (mtu - 27).to_string();
    for (src, dst) in [("r1n1-w1", "r1n2-w1"), ("r1n1-w1", "r2n2-w1")] {
        let (s, d) = (c.wl(src), c.wl(dst));
        assert!(
            lab.ping(s, d.ip, &["-M", "do", "-s", &fit]),
            "vxlan: DF ping of {mtu} bytes (payload {fit}) {src} -> {dst} should pass"
        );
        assert!(
            !lab.ping(s, d.ip, &["-M", "do", "-s", &over]),
            "vxlan: DF ping of {} bytes (payload {over}) {src} -> {dst} should fail",
            mtu + 1
        );
    }
    ran.push("vxlan");
    say(&mut report, format!(
        "vxlan (Always): converged and all pairs reachable {:.1}s after apply (reachability {:.1}s); vxlan.calico tx for 5 pings: {}; DF ping payload {fit} (= MTU {mtu}) passes, {over} fails",
        vx_conv.as_secs_f64(),
        vx_reach.as_secs_f64(),
        counters.join(", ")
    ));

    // ---- 4. dual stack: IPv6 underlay, pool, sessions, workloads ---------
    let v6 = V6::load(&repo.join("lab/cluster/dualstack"));
    let t = Instant::now();
    lab.script("stage.sh", &["dualstack"]);
    let ds_apply = t.elapsed();
    // The reflector's sessions (IPv4 and IPv6) for each node.
    let rr_sessions = |n: &str| -> BTreeSet<String> {
        if n == rr.name {
            c.nodes
                .iter()
                .filter(|o| o.name != rr.name)
                .flat_map(|o| [proto_name("Node", o.addr), v6.proto("Node", &o.name)])
                .collect()
        } else {
            [proto_name("Node", rr.addr), v6.proto("Node", &rr.name)]
                .into_iter()
                .collect()
        }
    };
    let ds_bgp = wait_for(
        "dualstack: IPv4 and IPv6 sessions Established on every node",
        || {
            for n in &c.nodes {
                let want = rr_sessions(&n.name);
                let (up, all) = lab.bgp_sessions(&n.name);
                if all != want || up != want {
                    return Err(format!(
                        "{}: established {up:?}, configured {all:?}, want {want:?}",
                        n.name
                    ));
                }
            }
            Ok(())
        },
    );
    wait_for(
        "dualstack: every remote IPv6 block learned (BIRD) and routed through vxlan-v6.calico (kernel)",
        || {
            for n in &c.nodes {
                let bird = lab.bird_routes(&n.name);
                let kernel = lab.netc_routes6(&n.name);
                for o in c.nodes.iter().filter(|o| o.name != n.name) {
                    let block = &v6.nodes[&o.name].1;
                    let want = if n.name == rr.name {
                        v6.proto("Node", &o.name)
                    } else {
                        v6.proto("Node", &rr.name)
                    };
                    if bird.get(block) != Some(&want) {
                        return Err(format!(
                            "{}: BIRD has {block} from {:?}, want {want}",
                            n.name,
                            bird.get(block)
                        ));
                    }
                    if kernel.get(block).map(String::as_str) != Some("vxlan-v6.calico") {
                        return Err(format!(
                            "{}: kernel route {block} -> {:?}",
                            n.name,
                            kernel.get(block)
                        ));
                    }
                }
            }
            Ok(())
        },
    );
    let ds_reach = wait_for(
        "dualstack: every workload pings every other over IPv6",
        || {
            let bad = lab.unreachable_pairs6(&c, &v6);
            if bad.is_empty() {
                Ok(())
            } else {
                Err(bad.join("; "))
            }
        },
    );
    let bad = lab.unreachable_pairs(&c);
    assert!(bad.is_empty(), "dualstack: IPv4 pairs lost: {bad:?}");
    let ds_conv = t.elapsed();
    let (s6, d6) = (c.wl("r1n1-w1"), c.wl("r2n2-w1"));
    let before = lab.tx_packets("r1n1", "vxlan-v6.calico");
    for _ in 0..5 {
        assert!(
            lab.ping6(s6, v6.wls[&d6.name], &[]),
            "dualstack: ping -6 r1n1-w1 -> r2n2-w1"
        );
    }
    let v6_delta = lab.tx_packets("r1n1", "vxlan-v6.calico") - before;
    assert!(
        v6_delta >= 5,
        "dualstack: IPv6 traffic did not go through vxlan-v6.calico (+{v6_delta})"
    );
    // IPv6 is never fragmented in flight: ping -6 -M do of exactly the
    // tunnel MTU (40 IPv6 + 8 ICMPv6 header bytes) passes, one byte more fails.
    let mtu6 = lab.mtu("r1n1", "vxlan-v6.calico");
    assert_eq!(mtu6, 1430, "vxlan-v6.calico MTU: underlay 1500 - 70");
    let fit6 = (mtu6 - 48).to_string();
    let over6 = (mtu6 - 47).to_string();
    for (src, dst) in [("r1n1-w1", "r1n2-w1"), ("r1n1-w1", "r2n2-w1")] {
        let (s, d) = (c.wl(src), v6.wls[dst]);
        assert!(
            lab.ping6(s, d, &["-M", "do", "-s", &fit6]),
            "dualstack: ping -6 of {mtu6} bytes (payload {fit6}) {src} -> {dst} should pass"
        );
        assert!(
            !lab.ping6(s, d, &["-M", "do", "-s", &over6]),
            "dualstack: ping -6 of {} bytes (payload {over6}) {src} -> {dst} should fail",
            mtu6 + 1
        );
    }
    ran.push("dualstack");
    say(&mut report, format!(
        "dualstack (IPv6 underlay fd00:10::/64 + fd00:20::/64, pool fd10::/112 VXLAN Always): apply {:.1}s; all 12 IPv4+IPv6 reflector session ends Established {:.1}s and all 56 pairs reachable over IPv6 {:.1}s after it (IPv4 still all reachable; total {:.1}s); vxlan-v6.calico tx +{v6_delta} for 5 cross-subnet ping6; ping -6 -M do payload {fit6} (= MTU {mtu6}) passes, {over6} fails",
        ds_apply.as_secs_f64(),
        ds_bgp.as_secs_f64(),
        ds_reach.as_secs_f64(),
        ds_conv.as_secs_f64()
    ));

    // ---- 5. BGPFilter: the reflector hides r2n2's blocks from r1n2 -------
    let hidden = [c.node("r2n2").block.to_string(), v6.nodes["r2n2"].1.clone()];
    // Before the filter, r1n2 has them (so their absence below is the filter's).
    let before = lab.bird_routes("r1n2");
    for p in &hidden {
        assert!(
            before.contains_key(p),
            "bgpfilter: r1n2 lacks {p} before the filter: {before:?}"
        );
    }
    lab.script("stage.sh", &["bgpfilter"]);
    let kept = [c.node("r2n1").block.to_string(), v6.nodes["r2n1"].1.clone()];
    let bf_conv = wait_for(
        "bgpfilter: r2n2's blocks gone from r1n2's BIRD, still on r1n1 and r2n1",
        || {
            let filtered = lab.bird_routes("r1n2");
            for p in &hidden {
                if let Some(from) = filtered.get(p) {
                    return Err(format!("r1n2 still has {p} from {from}"));
                }
            }
            for p in &kept {
                if !filtered.contains_key(p) {
                    return Err(format!("r1n2 lost {p}, which the filter does not match"));
                }
            }
            for n in ["r1n1", "r2n1"] {
                let routes = lab.bird_routes(n);
                for p in &hidden {
                    if !routes.contains_key(p) {
                        return Err(format!("{n} lacks {p}"));
                    }
                }
            }
            Ok(())
        },
    );
    // The export filter changed in place: every session stays Established.
    for n in &c.nodes {
        let want = rr_sessions(&n.name);
        let (up, all) = lab.bgp_sessions(&n.name);
        assert!(
            all == want && up == want,
            "bgpfilter: {}: established {up:?}, configured {all:?}, want {want:?}",
            n.name
        );
    }
    let r1n1_from = lab.bird_routes("r1n1");
    let r2n1_from = lab.bird_routes("r2n1");
    ran.push("bgpfilter");
    say(&mut report, format!(
        "bgpfilter (BGPFilter hide-r2n2 on the reflector's rr-to-rack1 peering): after {:.1}s `birdc show route` on r1n2 has neither {} nor {} (but keeps r2n1's {} and {}); r1n1 has them from {} / {}, r2n1 from {} / {}; all sessions stayed Established",
        bf_conv.as_secs_f64(),
        hidden[0], hidden[1], kept[0], kept[1],
        r1n1_from[&hidden[0]], r1n1_from[&hidden[1]],
        r2n1_from[&hidden[0]], r2n1_from[&hidden[1]],
    ));

    // ---- 6. policy matrix, nftables then iptables -------------------------
    let mut matrices: Vec<(&str, Matrix, f64, usize)> = Vec::new();
    for fw in ["nftables", "iptables"] {
        lab.script("stage.sh", &["policy", fw]);
        for n in &c.nodes {
            let ns = lab.node_ns(&n.name);
            let nft = lab
                .exec(&ns, &["nft", "list", "table", "inet", "netc"])
                .status
                .success();
            let ipt = lab.exec_ok(&ns, &["iptables-save"]);
            let ipt = ipt.contains(":netc-");
            match fw {
                "nftables" => assert!(
                    nft && !ipt,
                    "{}: nftables backend: table inet netc {nft}, netc- iptables chains {ipt}",
                    n.name
                ),
                _ => assert!(
                    !nft && ipt,
                    "{}: iptables backend: table inet netc {nft}, netc- iptables chains {ipt}",
                    n.name
                ),
            }
        }
        let t = Instant::now();
        let (m, retries) = observe_matrix(&lab, &c);
        let secs = t.elapsed().as_secs_f64();
        let bad = matrix_mismatches(&c, &m);
        assert!(
            bad.is_empty(),
            "policy ({fw}): {} of {} verdicts differ from the intent:\n  {}\nobserved:\n{}",
            bad.len(),
            m.len(),
            bad.join("\n  "),
            matrix_table(&c, &m)
        );
        matrices.push((fw, m, secs, retries));
    }
    assert_eq!(
        matrices[0].1, matrices[1].1,
        "nftables and iptables matrices differ"
    );
    let m = &matrices[0].1;
    let allowed = m.values().filter(|v| **v).count();
    ran.push("policy(nftables)");
    ran.push("policy(iptables)");
    say(&mut report, format!(
        "policy: {} triples ({} workloads x {} others x {} services: {}), {allowed} allowed / {} denied, equal to the intended table under nftables ({:.1}s, {} re-probed) and iptables ({:.1}s, {} re-probed); the two matrices are identical\n{}",
        m.len(),
        c.workloads.len(),
        c.workloads.len() - 1,
        PORTS.len() + 1,
        PORTS.iter().map(|p| format!("tcp/{p}")).chain(["icmp".to_string()]).collect::<Vec<_>>().join(" "),
        m.len() - allowed,
        matrices[0].2,
        matrices[0].3,
        matrices[1].2,
        matrices[1].3,
        matrix_table(&c, m).trim_end()
    ));

    // ---- 7. IPIP, where the kernel has it ---------------------------------
    if common::kernel_has_link_type("ipip") {
        let t = Instant::now();
        lab.script("stage.sh", &["ipip"]);
        let reach = wait_for("ipip: every workload reaches every other", || {
            let bad = lab.unreachable_pairs(&c);
            if bad.is_empty() {
                Ok(())
            } else {
                Err(bad.join("; "))
            }
        });
        let (s, d) = (c.wl("r1n1-w1"), c.wl("r2n2-w1"));
        let before = lab.tx_packets("r1n1", "tunl0");
        for _ in 0..5 {
            assert!(lab.ping(s, d.ip, &[]), "ipip: ping r1n1-w1 -> r2n2-w1");
        }
        let delta = lab.tx_packets("r1n1", "tunl0") - before;
        assert!(
            delta >= 5,
            "ipip: traffic did not go through tunl0 (+{delta})"
        );
        ran.push("ipip");
        say(&mut report, format!(
            "ipip (Always): all pairs reachable {:.1}s after apply ({:.1}s total); tunl0 tx +{delta} for 5 pings",
            reach.as_secs_f64(),
            t.elapsed().as_secs_f64()
        ));
    } else {
        say(
            &mut report,
            "ipip: NOT RUN — this kernel has no ipip module (`ip link add … type ipip` fails)"
                .into(),
        );
    }

    // ---- 8. teardown ------------------------------------------------------
    let o = lab.down();
    assert!(o.status.success(), "lab/down.sh: {}", text(&o));
    let ns_left = lab_namespaces();
    let procs_left = lab_processes();
    let links_after = root_links();
    assert!(ns_left.is_empty(), "namespaces left behind: {ns_left:?}");
    assert!(
        procs_left.is_empty(),
        "processes left behind: {procs_left:?}"
    );
    assert!(!Path::new(STATE).exists(), "{STATE} left behind");
    let new_links: Vec<&String> = links_after.difference(&links_before).collect();
    assert!(
        new_links.is_empty(),
        "links left in the root namespace: {new_links:?}"
    );
    ran.push("teardown");
    say(
        &mut report,
        "teardown: no namespaces, processes, root-namespace links or files left".into(),
    );

    let text = format!(
        "netc lab e2e — scenarios run: {} ({:.0}s total)\n{}\n",
        ran.join(", "),
        t_all.elapsed().as_secs_f64(),
        report
            .iter()
            .map(|l| format!("  - {l}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    eprintln!("{text}");
    let _ = std::fs::write(
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("e2e_lab_report.txt"),
        &text,
    );
}
