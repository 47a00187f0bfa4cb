//! Routes and tunnels, end to end: YAML → load → validate → allocate → lower
//! → emit, then (VXLAN) applied with `ip -batch` / `bridge -batch` in a fresh
//! network namespace and read back to check the kernel holds exactly what
//! the IR says.
//!
//! The namespace tests need root. Without it they print why and pass, unless
//! `CI=true`, where they must run (and fail if they cannot). IPIP is checked
//! as emitted commands: this kind of machine has no `ipip` module
//! (docs/lab-facts.md, "Kernel"); if `tunl0` does exist in a fresh
//! namespace (module loaded), the IPIP case is applied too.

use netc_compiler::alloc::Lock;
use netc_compiler::lower::Cluster;
use netc_compiler::validate::ValidModel;
use netc_ir::*;
use netc_targets::{routes, tunnels};
use serde_json::Value;
use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::{Command, Output};

// ---------------------------------------------------------------- pipeline

use netc_test_support::pipeline::compile;

fn lower(model: &ValidModel, lock: &Lock, node: &str) -> HostIr {
    Cluster::new(model, lock)
        .lower_node(node)
        .unwrap_or_else(|e| panic!("lowering {node}: {e}"))
}

/// The single block `node` holds in the pool with this CIDR.
fn block(lock: &Lock, pool: &str, node: &str) -> ipnet::IpNet {
    match lock.blocks(pool, node) {
        [b] => *b,
        other => panic!("{node} should hold one block of {pool}, has {other:?}"),
    }
}

/// First address of a block: Calico's default tunnel address.
fn first_addr(b: ipnet::IpNet) -> IpAddr {
    b.network()
}

const NODES: &str = r#"
---
apiVersion: projectcalico.org/v3
kind: Node
metadata:
  name: node-a
  annotations:
    netc.dev/underlay-interface: eth0
spec:
  bgp:
    ipv4Address: 10.0.0.1/24
---
apiVersion: projectcalico.org/v3
kind: Node
metadata:
  name: node-b
  annotations:
    netc.dev/underlay-interface: eth0
spec:
  bgp:
    ipv4Address: 10.0.0.2/24
---
apiVersion: projectcalico.org/v3
kind: Node
metadata:
  name: node-c
  annotations:
    netc.dev/underlay-interface: eth0
spec:
  bgp:
    ipv4Address: 10.0.1.3/24
---
apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata:
  name: node--a-k8s-web-eth0
  namespace: default
spec:
  node: node-a
  interfaceName: cali0a1b2c3d4e5
  ipNetworks: [10.67.0.5/32]
"#;

fn vxlan_cluster(mode: &str) -> String {
    format!(
        "---\napiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: vxlan\nspec:\n  cidr: 10.67.0.0/16\n  ipipMode: Never\n  vxlanMode: {mode}\n  natOutgoing: true\n{NODES}"
    )
}

const IPIP_CROSS_SUBNET: &str = r#"
apiVersion: projectcalico.org/v3
kind: IPPool
metadata:
  name: cross
spec:
  cidr: 10.66.0.0/16
  ipipMode: CrossSubnet
  vxlanMode: Never
  blockSize: 24
---
apiVersion: projectcalico.org/v3
kind: Node
metadata:
  name: node-a
  annotations:
    netc.dev/underlay-interface: eth0
spec:
  bgp:
    ipv4Address: 10.0.0.1/24
---
apiVersion: projectcalico.org/v3
kind: Node
metadata:
  name: node-b
  annotations:
    netc.dev/underlay-interface: eth0
spec:
  bgp:
    ipv4Address: 10.0.0.2/24
---
apiVersion: projectcalico.org/v3
kind: Node
metadata:
  name: node-c
  annotations:
    netc.dev/underlay-interface: eth0
spec:
  bgp:
    ipv4Address: 10.0.1.3/24
---
apiVersion: projectcalico.org/v3
kind: Node
metadata:
  name: node-d
  annotations:
    netc.dev/underlay-interface: eth0
spec:
  bgp:
    ipv4Address: 10.0.1.4/24
"#;

fn find_route(ir: &HostIr, dst: ipnet::IpNet) -> &Route {
    ir.routes
        .iter()
        .find(|r| r.dst == dst)
        .unwrap_or_else(|| panic!("no route to {dst} in {:#?}", ir.routes))
}

fn via(gw: IpAddr, dev: &str, onlink: bool) -> RouteKind {
    RouteKind::Via {
        gateway: gw,
        dev: Some(dev.parse().unwrap()),
        onlink,
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

// ------------------------------------------------------------ netns harness

/// Whether namespace tests can run here: root and the iproute2 tools.
/// Without them: skip with a message, or fail when CI=true.
fn netns_available(test: &str) -> bool {
    netc_test_support::require_root(test)
        && netc_test_support::require_tool(test, "ip")
        && netc_test_support::require_tool(test, "bridge")
}

fn check(out: Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A network namespace (and a scratch directory) removed on drop, also when
/// the test panics.
struct Netns {
    name: String,
    dir: PathBuf,
}

impl Netns {
    fn new(tag: &str) -> Netns {
        let name = format!("netc-rt-{tag}-{}", std::process::id());
        // A namespace left over by a killed earlier run with the same pid.
        let _ = Command::new("ip").args(["netns", "del", &name]).output();
        let dir = std::env::temp_dir().join(&name);
        let out = Command::new("ip")
            .args(["netns", "add", &name])
            .output()
            .expect("run ip netns add");
        check(out, &format!("ip netns add {name}"));
        // From here on Drop cleans up.
        let ns = Netns { name, dir };
        std::fs::create_dir_all(&ns.dir).expect("scratch dir");
        ns
    }

    fn run(&self, tool: &str, args: &[&str]) -> Output {
        Command::new(tool)
            .arg("-n")
            .arg(&self.name)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("run {tool}: {e}"))
    }

    fn ok(&self, tool: &str, args: &[&str]) -> String {
        check(
            self.run(tool, args),
            &format!("{tool} -n {} {}", self.name, args.join(" ")),
        )
    }

    fn json(&self, tool: &str, args: &[&str]) -> Vec<Value> {
        let text = self.ok(tool, args);
        if text.trim().is_empty() {
            return Vec::new();
        }
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{tool} {args:?}: {e}: {text}"))
    }

    /// Write `contents` to a file and run `<tool> -n NS -batch FILE`.
    fn batch(&self, tool: &str, file: &str, contents: &str) -> Output {
        let path = self.dir.join(file);
        std::fs::write(&path, contents).expect("write batch file");
        self.run(tool, &["-batch", path.to_str().expect("utf-8 path")])
    }

    fn apply(&self, tool: &str, file: &str, contents: &str) {
        check(
            self.batch(tool, file, contents),
            &format!("{tool} -batch {file}:\n{contents}"),
        );
    }

    /// The node's underlay (a veth named like the annotation, with the
    /// node's address) and a veth per workload interface the IR routes to.
    fn set_up_host(&self, ir: &HostIr) {
        self.ok("ip", &["link", "set", "lo", "up"]);
        let underlay = ir
            .underlay
            .interface
            .as_deref()
            .expect("underlay interface");
        self.ok(
            "ip",
            &[
                "link",
                "add",
                underlay,
                "type",
                "veth",
                "peer",
                "name",
                "underlay-peer",
            ],
        );
        for dev in [underlay, "underlay-peer"] {
            self.ok("ip", &["link", "set", dev, "up"]);
        }
        let addr = ir.address.expect("node address").to_string();
        self.ok("ip", &["addr", "add", &addr, "dev", underlay]);
        let mut wl: BTreeSet<&str> = BTreeSet::new();
        for r in &ir.routes {
            if let RouteKind::Dev { dev } = &r.kind {
                wl.insert(dev);
            }
        }
        for (i, dev) in wl.into_iter().enumerate() {
            let peer = format!("wl-peer{i}");
            self.ok(
                "ip",
                &["link", "add", dev, "type", "veth", "peer", "name", &peer],
            );
            self.ok("ip", &["link", "set", dev, "up"]);
            self.ok("ip", &["link", "set", &peer, "up"]);
        }
    }

    /// netc's routes as the kernel reports them, normalised like [`ir_routes`].
    fn kernel_routes(&self) -> BTreeSet<String> {
        let proto = NETC_ROUTE_PROTO.to_string();
        self.json("ip", &["-j", "route", "show", "proto", &proto])
            .iter()
            .map(|r| {
                let s = |k: &str| r.get(k).and_then(Value::as_str).map(str::to_string);
                let mut dst = s("dst").expect("route dst");
                if !dst.contains('/') {
                    dst.push_str("/32");
                }
                if s("type").as_deref() == Some("blackhole") {
                    return format!("blackhole {dst}");
                }
                let mut line = dst;
                if let Some(gw) = s("gateway") {
                    line += &format!(" via {gw}");
                }
                if let Some(dev) = s("dev") {
                    line += &format!(" dev {dev}");
                }
                let onlink = r
                    .get("flags")
                    .and_then(Value::as_array)
                    .is_some_and(|f| f.iter().any(|x| x == "onlink"));
                if onlink {
                    line += " onlink";
                }
                if s("gateway").is_none() {
                    if let Some(scope) = s("scope") {
                        line += &format!(" scope {scope}");
                    }
                }
                line
            })
            .collect()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The IR's routes in the same normal form as [`Netns::kernel_routes`].
fn ir_routes(ir: &HostIr) -> BTreeSet<String> {
    ir.routes
        .iter()
        .map(|r| match &r.kind {
            RouteKind::Blackhole => format!("blackhole {}", r.dst),
            RouteKind::Via {
                gateway,
                dev,
                onlink,
            } => {
                let dev = dev.as_deref().or(ir.underlay.interface.as_deref());
                let mut s = format!("{} via {gateway}", r.dst);
                if let Some(dev) = dev {
                    s += &format!(" dev {dev}");
                }
                if *onlink {
                    s += " onlink";
                }
                s
            }
            RouteKind::Dev { dev } => format!("{} dev {dev} scope link", r.dst),
        })
        .collect()
}

/// Apply tunnels.batch, fdb.batch and routes.batch (in that order) and
/// check the kernel against the IR: the VXLAN device, its address, the
/// neighbour and FDB entries, and exactly the IR's routes under proto 233.
fn apply_and_verify(ns: &Netns, ir: &HostIr) {
    ns.set_up_host(ir);
    let tunnels_batch = tunnels::emit(ir);
    let fdb_batch = tunnels::emit_fdb(ir);
    let routes_batch = routes::emit(ir);
    ns.apply("ip", "tunnels.batch", &tunnels_batch);
    ns.apply("bridge", "fdb.batch", &fdb_batch);
    ns.apply("ip", "routes.batch", &routes_batch);

    // The device.
    let t = ir
        .tunnels
        .iter()
        .find(|t| t.name == VXLAN_DEVICE)
        .expect("IR has vxlan.calico");
    let TunnelKind::Vxlan { vni, port, mac } = &t.kind else {
        panic!("vxlan.calico is not a VXLAN tunnel: {t:?}");
    };
    let links = ns.json("ip", &["-j", "-d", "link", "show", VXLAN_DEVICE]);
    let link = links.first().expect("vxlan.calico exists");
    assert_eq!(link["mtu"], t.mtu, "{link}");
    assert_eq!(link["address"], mac.to_string(), "{link}");
    assert!(
        link["flags"]
            .as_array()
            .is_some_and(|f| f.iter().any(|x| x == "UP")),
        "device is not up: {link}"
    );
    let info = &link["linkinfo"];
    assert_eq!(info["info_kind"], "vxlan", "{link}");
    let data = &info["info_data"];
    assert_eq!(data["id"], *vni, "{link}");
    assert_eq!(data["port"], *port, "{link}");
    assert_eq!(data["local"], t.local.to_string(), "{link}");
    assert_eq!(
        data["link"],
        t.parent.as_deref().unwrap_or_default(),
        "{link}"
    );
    assert_eq!(data["learning"], false, "{link}");

    let addrs = ns.json("ip", &["-j", "addr", "show", "dev", VXLAN_DEVICE]);
    let have: Vec<(String, u64)> = addrs
        .iter()
        .flat_map(|a| a["addr_info"].as_array().cloned().unwrap_or_default())
        .filter(|a| a["family"] == "inet")
        .map(|a| {
            (
                a["local"].as_str().unwrap_or_default().to_string(),
                a["prefixlen"].as_u64().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(have, vec![(t.address.to_string(), 32)]);

    // Neighbour and FDB entries: exactly the IR's, all permanent.
    let neigh: BTreeSet<(String, String)> = ns
        .json("ip", &["-j", "neigh", "show", "dev", VXLAN_DEVICE])
        .iter()
        .map(|n| {
            assert!(
                n["state"]
                    .as_array()
                    .is_some_and(|s| s.iter().any(|x| x == "PERMANENT")),
                "{n}"
            );
            (
                n["dst"].as_str().unwrap_or_default().to_string(),
                n["lladdr"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let want_neigh: BTreeSet<(String, String)> = ir
        .neighbors
        .iter()
        .map(|n| (n.ip.to_string(), n.mac.to_string()))
        .collect();
    assert_eq!(neigh, want_neigh);

    let fdb: BTreeSet<(String, String)> = ns
        .json("bridge", &["-j", "fdb", "show", "dev", VXLAN_DEVICE])
        .iter()
        .filter(|f| f.get("dst").is_some())
        .map(|f| {
            assert_eq!(f["state"], "permanent", "{f}");
            (
                f["mac"].as_str().unwrap_or_default().to_string(),
                f["dst"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let want_fdb: BTreeSet<(String, String)> = ir
        .fdb
        .iter()
        .map(|f| (f.mac.to_string(), f.dst.to_string()))
        .collect();
    assert_eq!(fdb, want_fdb);

    // Routes: exactly the IR's.
    assert_eq!(ns.kernel_routes(), ir_routes(ir));

    // `route replace` converges: a second run changes nothing.
    ns.apply("ip", "routes.batch", &routes_batch);
    assert_eq!(ns.kernel_routes(), ir_routes(ir));
}

// ------------------------------------------------------------------- tests

#[test]
fn vxlan_always_lowers_to_routes_via_remote_vteps() {
    let (model, lock) = compile(&vxlan_cluster("Always"));
    let ir = lower(&model, &lock, "node-a");
    let pool = "10.67.0.0/16";
    let (a, b, c) = (
        block(&lock, pool, "node-a"),
        block(&lock, pool, "node-b"),
        block(&lock, pool, "node-c"),
    );

    // The VTEP: VNI 4096, port 4789, MTU 1500 − 50, on the underlay.
    assert_eq!(ir.tunnels.len(), 1, "{:?}", ir.tunnels);
    let t = &ir.tunnels[0];
    assert_eq!(t.name, VXLAN_DEVICE);
    assert_eq!(t.mtu, 1450);
    assert_eq!(t.parent.as_deref(), Some("eth0"));
    assert_eq!(t.local, ip("10.0.0.1"));
    assert_eq!(t.address, first_addr(a));

    // Own block dropped; every remote block via that node's VTEP, whatever
    // its subnet; the workload on its veth.
    assert_eq!(find_route(&ir, a).kind, RouteKind::Blackhole);
    assert_eq!(
        find_route(&ir, b).kind,
        via(first_addr(b), VXLAN_DEVICE, true)
    );
    assert_eq!(find_route(&ir, b).origin, Some(RouteOrigin::VxlanBlock));
    assert_eq!(
        find_route(&ir, c).kind,
        via(first_addr(c), VXLAN_DEVICE, true)
    );
    let wl = find_route(&ir, "10.67.0.5/32".parse().unwrap());
    assert_eq!(
        wl.kind,
        RouteKind::Dev {
            dev: "cali0a1b2c3d4e5".parse().unwrap()
        }
    );
    assert_eq!(ir.routes.len(), 4, "{:#?}", ir.routes);

    // One neighbour + FDB entry per remote VTEP.
    let vteps: BTreeSet<IpAddr> = ir.neighbors.iter().map(|n| n.ip).collect();
    assert_eq!(vteps, BTreeSet::from([first_addr(b), first_addr(c)]));
    let dsts: BTreeSet<IpAddr> = ir.fdb.iter().map(|f| f.dst).collect();
    assert_eq!(dsts, BTreeSet::from([ip("10.0.0.2"), ip("10.0.1.3")]));
    for n in &ir.neighbors {
        assert!(
            ir.fdb.iter().any(|f| f.mac == n.mac),
            "{n:?} has no FDB entry"
        );
    }

    // Deterministic.
    assert_eq!(ir, lower(&model, &lock, "node-a"));
    assert_eq!(
        routes::emit(&ir),
        routes::emit(&lower(&model, &lock, "node-a"))
    );
}

#[test]
fn vxlan_always_applies_in_a_netns() {
    if !netns_available("vxlan_always_applies_in_a_netns") {
        return;
    }
    let (model, lock) = compile(&vxlan_cluster("Always"));
    let ir = lower(&model, &lock, "node-a");
    let ns = Netns::new("vxa");
    apply_and_verify(&ns, &ir);
}

#[test]
fn vxlan_cross_subnet_applies_in_a_netns() {
    let (model, lock) = compile(&vxlan_cluster("CrossSubnet"));
    let ir = lower(&model, &lock, "node-a");
    let pool = "10.67.0.0/16";
    let (b, c) = (block(&lock, pool, "node-b"), block(&lock, pool, "node-c"));
    // node-b shares node-a's subnet: straight over the underlay.
    assert_eq!(find_route(&ir, b).kind, via(ip("10.0.0.2"), "eth0", false));
    assert_eq!(find_route(&ir, b).origin, Some(RouteOrigin::NoEncapBlock));
    // node-c does not: through the VTEP.
    assert_eq!(
        find_route(&ir, c).kind,
        via(first_addr(c), VXLAN_DEVICE, true)
    );
    if !netns_available("vxlan_cross_subnet_applies_in_a_netns") {
        return;
    }
    let ns = Netns::new("vxx");
    apply_and_verify(&ns, &ir);
}

#[test]
fn ipip_cross_subnet_emits_encapsulation_only_across_subnets() {
    let (model, lock) = compile(IPIP_CROSS_SUBNET);
    let ir = lower(&model, &lock, "node-a");
    let pool = "10.66.0.0/16";
    let [a, b, c, d] = ["node-a", "node-b", "node-c", "node-d"].map(|n| block(&lock, pool, n));

    assert_eq!(ir.tunnels.len(), 1, "{:?}", ir.tunnels);
    let t = &ir.tunnels[0];
    assert_eq!(
        (t.name.as_str(), &t.kind, t.mtu),
        (IPIP_DEVICE, &TunnelKind::Ipip, 1480)
    );
    assert_eq!(t.address, first_addr(a));
    assert!(ir.neighbors.is_empty() && ir.fdb.is_empty());

    assert_eq!(find_route(&ir, a).kind, RouteKind::Blackhole);
    assert_eq!(find_route(&ir, b).kind, via(ip("10.0.0.2"), "eth0", false));
    assert_eq!(find_route(&ir, b).origin, Some(RouteOrigin::NoEncapBlock));
    for (blk, gw) in [(c, "10.0.1.3"), (d, "10.0.1.4")] {
        assert_eq!(find_route(&ir, blk).kind, via(ip(gw), IPIP_DEVICE, true));
        assert_eq!(find_route(&ir, blk).origin, Some(RouteOrigin::IpipBlock));
    }
    assert_eq!(ir.routes.len(), 4);

    // The commands, in dependency order.
    assert_eq!(
        tunnels::emit(&ir),
        format!(
            "# netc node-a tunnels — generated, do not edit\n\
             link set tunl0 mtu 1480 up\n\
             addr replace {}/32 dev tunl0\n",
            first_addr(a)
        )
    );
    assert_eq!(
        tunnels::emit_fdb(&ir),
        "# netc node-a fdb (bridge -batch) — generated, do not edit\n"
    );
    let mut want = vec![
        format!("route replace blackhole {a} proto 233"),
        format!("route replace {b} via 10.0.0.2 dev eth0 proto 233"),
        format!("route replace {c} via 10.0.1.3 dev tunl0 onlink proto 233"),
        format!("route replace {d} via 10.0.1.4 dev tunl0 onlink proto 233"),
    ];
    want.sort();
    let text = routes::emit(&ir);
    let mut got: Vec<String> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(str::to_string)
        .collect();
    got.sort();
    assert_eq!(got, want, "{text}");

    // node-c sees the mirror image: node-d unencapsulated, node-a/b via tunl0.
    let ir_c = lower(&model, &lock, "node-c");
    assert_eq!(
        find_route(&ir_c, d).kind,
        via(ip("10.0.1.4"), "eth0", false)
    );
    assert_eq!(
        find_route(&ir_c, a).kind,
        via(ip("10.0.0.1"), IPIP_DEVICE, true)
    );

    // Apply only where the kernel has the ipip module (tunl0 present in a
    // fresh namespace); never load modules from a test.
    if !netc_test_support::is_root() || !netc_test_support::have_tool("ip") {
        return;
    }
    let ns = Netns::new("ipip");
    let has_tunl0 = ns.run("ip", &["link", "show", "tunl0"]).status.success();
    if !has_tunl0 {
        eprintln!("ipip module not loaded here: IPIP checked as emitted commands only");
        return;
    }
    ns.set_up_host(&ir);
    ns.apply("ip", "tunnels.batch", &tunnels::emit(&ir));
    ns.apply("ip", "routes.batch", &text);
    assert_eq!(ns.kernel_routes(), ir_routes(&ir));
}

const DUAL_STACK: &str = r#"
apiVersion: projectcalico.org/v3
kind: IPPool
metadata:
  name: v6
spec:
  cidr: fd70::/48
  ipipMode: Never
  vxlanMode: Always
---
apiVersion: projectcalico.org/v3
kind: Node
metadata:
  name: node-a
  annotations:
    netc.dev/underlay-interface: eth0
spec:
  bgp:
    ipv4Address: 10.0.0.1/24
    ipv6Address: fd00::1/64
---
apiVersion: projectcalico.org/v3
kind: Node
metadata:
  name: node-b
  annotations:
    netc.dev/underlay-interface: eth0
spec:
  bgp:
    ipv4Address: 10.0.0.2/24
    ipv6Address: fd00::2/64
"#;

/// Two nodes in two namespaces joined by a veth "underlay" carrying their
/// IPv6 addresses: each applies its own emitted tunnels.batch, fdb.batch and
/// routes.batch, then node-a's IPv6 VTEP address reaches node-b's through
/// `vxlan-v6.calico` (encapsulated in IPv6 UDP to port 4789).
#[test]
fn ipv6_vxlan_carries_traffic_between_two_namespaces() {
    if !netns_available("ipv6_vxlan_carries_traffic_between_two_namespaces")
        || !netc_test_support::require_tool("ipv6_vxlan", "ping")
    {
        return;
    }
    let (model, lock) = compile(DUAL_STACK);
    let a = Netns::new("v6a");
    let b = Netns::new("v6b");
    let veth = format!("v6u{}", std::process::id() % 100_000);
    check(
        netc_test_support::run(
            "ip",
            &[
                "link", "add", &veth, "netns", &a.name, "type", "veth", "peer", "name", "eth0",
                "netns", &b.name,
            ],
        ),
        "veth pair",
    );
    a.ok("ip", &["link", "set", &veth, "name", "eth0"]);
    let mut vteps = Vec::new();
    for (ns, node, addr) in [(&a, "node-a", "fd00::1/64"), (&b, "node-b", "fd00::2/64")] {
        let ir = lower(&model, &lock, node);
        let t = ir
            .tunnels
            .iter()
            .find(|t| t.name == VXLAN_V6_DEVICE)
            .expect("vxlan-v6.calico in the IR");
        assert_eq!(
            (t.mtu, t.local.to_string()),
            (1430, addr.replace("/64", ""))
        );
        vteps.push(t.address);
        ns.ok("ip", &["addr", "add", addr, "dev", "eth0", "nodad"]);
        ns.ok("ip", &["link", "set", "eth0", "up"]);
        // Tunnel addresses usable at once (no duplicate address detection).
        for key in ["all", "default"] {
            let kv = format!("net.ipv6.conf.{key}.accept_dad=0");
            check(
                netc_test_support::run("ip", &["netns", "exec", &ns.name, "sysctl", "-qw", &kv]),
                "sysctl",
            );
        }
        ns.apply("ip", "tunnels.batch", &tunnels::emit(&ir));
        ns.apply("bridge", "fdb.batch", &tunnels::emit_fdb(&ir));
        ns.apply("ip", "routes.batch", &routes::emit(&ir));
    }
    let (from, to) = (vteps[0].to_string(), vteps[1].to_string());
    let mut last = String::new();
    for _ in 0..10 {
        let o = netc_test_support::run(
            "ip",
            &[
                "netns", "exec", &a.name, "ping", "-6", "-c", "1", "-W", "1", "-I", &from, &to,
            ],
        );
        if o.status.success() {
            return;
        }
        last = netc_test_support::text(&o);
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
    panic!("{from} cannot reach {to} over vxlan-v6.calico:\n{last}");
}
