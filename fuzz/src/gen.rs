//! Structure-aware inputs: an [`arbitrary`] cluster description — IP pools,
//! nodes, BGP configuration and peers, network sets, tiers of policies with
//! rules, host and workload endpoints — rendered as Calico v3 YAML.
//!
//! Most values are drawn from small tables of plausible ones, so that most
//! inputs validate and reach lowering and the emitters; every free-text
//! position can also take a hostile string (quotes, backslashes, `$`, `#`,
//! `;`, braces, newlines, NUL and other control characters, non-ASCII) to
//! check that nothing reaches an artifact unescaped.
//!
//! Documents are written in YAML flow style (a JSON-like superset) with every
//! string double-quoted and every character outside printable ASCII escaped
//! (`\uXXXX`), so the generator never produces a YAML syntax error by
//! accident: the `load` and `pipeline` targets cover YAML syntax.

use arbitrary::{Arbitrary, Result, Unstructured};
use serde_json::{json, Map, Value};

/// Strings that probe quoting, escaping and truncation in the emitters.
pub const HOSTILE: &[&str] = &[
    "a\"b",
    "a'b",
    "a\\b",
    "a$b",
    "a#b",
    "a;b",
    "a{b}",
    "a\nb",
    "a\rb",
    "a\tb",
    "a\u{0}b",
    "a\u{1b}[31mb",
    "a\u{7f}b",
    "a\u{85}b",
    "a\u{2028}b",
    "a\u{202e}b",
    "é",
    "日本",
    "",
    " ",
    "-",
    ".",
    "x\" accept; #",
    "\"; drop; \"",
    "} table inet x {",
    "COMMIT",
    "${x}",
    "@set",
    "very-long-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
];

thread_local! {
    /// Clean clusters (most of them) draw only from the tables, keep rules
    /// coherent and reference declared nodes, so that they validate and
    /// reach lowering; the rest mix in hostile and arbitrary values.
    static CLEAN: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    static NODES: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
    /// The address family of the rule being generated (clean clusters do
    /// not mix families in one rule): 4 or 6.
    static FAMILY: std::cell::Cell<u8> = const { std::cell::Cell::new(4) };
    static SERIAL: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

fn clean() -> bool {
    CLEAN.with(|c| c.get())
}

/// A declared node's name in a clean cluster, else any from the table.
fn node_ref(u: &mut Unstructured) -> Result<String> {
    let declared = NODES.with(|n| n.borrow().clone());
    if clean() && !declared.is_empty() {
        Ok(u.choose(&declared)?.clone())
    } else {
        pick(u, NODE_NAMES)
    }
}

/// A selector; in a clean cluster a valid one, possibly comparing with a
/// hostile literal (selector strings may hold anything but their quote).
fn selector(u: &mut Unstructured) -> Result<String> {
    if !clean() {
        return pick(u, SELECTORS);
    }
    if u.int_in_range(0..=3u8)? == 0 {
        let v = (*u.choose(HOSTILE)?).to_string();
        let key = pick_ok(u, &["role", "app", "tier"])?;
        let op = pick_ok(u, &["==", "!=", "contains", "starts with"])?;
        let q = if v.contains('\'') { '"' } else { '\'' };
        if v.contains(q) {
            return Ok("all()".into());
        }
        return Ok(format!("{key} {op} {q}{v}{q}"));
    }
    let s = pick_ok(u, SELECTORS)?;
    Ok(if s == "global()" { "all()".into() } else { s })
}

/// A value from `table`, occasionally a hostile or arbitrary string.
fn pick(u: &mut Unstructured, table: &[&str]) -> Result<String> {
    if clean() {
        return pick_ok(u, table);
    }
    Ok(match u.int_in_range(0..=15u8)? {
        0 => (*u.choose(HOSTILE)?).to_string(),
        1 => String::arbitrary(u)?,
        _ => (*u.choose(table)?).to_string(),
    })
}

/// `good` in a clean cluster; `good` or `bad` (or hostile) otherwise.
fn pk(u: &mut Unstructured, good: &[&str], bad: &[&str]) -> Result<String> {
    if !clean() && u.int_in_range(0..=3u8)? == 0 {
        return pick(u, bad);
    }
    pick(u, good)
}

/// A value from `table` only.
fn pick_ok(u: &mut Unstructured, table: &[&str]) -> Result<String> {
    Ok((*u.choose(table)?).to_string())
}

fn list<T>(
    u: &mut Unstructured,
    max: usize,
    mut f: impl FnMut(&mut Unstructured) -> Result<T>,
) -> Result<Vec<T>> {
    let n = u.int_in_range(0..=max)?;
    (0..n).map(|_| f(u)).collect()
}

const NODE_NAMES: &[&str] = &["node-a", "node-b", "node-c", "rack1-node1", "n.x", "node-a"];
const LABEL_KEYS: &[&str] = &[
    "role",
    "rack",
    "app",
    "tier",
    "zone",
    "netc.dev/role",
    "has",
    "x_y",
    "a/b",
];
const LABEL_VALUES: &[&str] = &[
    "edge", "worker", "db", "web", "rack1", "rack2", "a", "", "x.y-z_1",
];
const NAMESPACES: &[&str] = &["default", "shop", "kube-system"];
const IFNAMES: &[&str] = &[
    "eth0",
    "eth1",
    "ens3",
    "bond0.100",
    "cali1a2b3c4d5e6",
    "cali9f8e7d6c5b4",
    "cali0000000000a",
    "lo",
];
const V4_NETS: &[&str] = &[
    "10.0.0.0/8",
    "10.244.0.0/16",
    "10.250.0.0/20",
    "192.168.10.0/24",
    "172.16.0.0/24",
    "203.0.113.16/28",
    "198.51.100.7/32",
    "0.0.0.0/0",
    "10.244.0.10/32",
    "10.244.1.0/24",
    "192.168.20.12",
    "10.96.0.0/12",
];
const V6_NETS: &[&str] = &[
    "fd00::/48",
    "fd00:1::/64",
    "2001:db8::1/128",
    "::/0",
    "fe80::/10",
    "2001:db8::5",
];
const POOL_CIDRS: &[&str] = &[
    "10.244.0.0/16",
    "10.250.0.0/20",
    "10.80.0.0/24",
    "10.67.0.0/24",
    "fd00:10::/112",
    "fd00:20::/120",
];
const NODE_ADDRS: &[&str] = &[
    "192.168.10.11/24",
    "192.168.10.12/24",
    "192.168.20.11/24",
    "192.168.20.12/24",
    "10.0.0.1/16",
    "10.0.1.3/24",
    "192.168.10.11/32",
];
const SELECTORS: &[&str] = &[
    "all()",
    "",
    "role == 'edge'",
    "role == \"worker\"",
    "has(rack)",
    "!has(rack)",
    "rack in {'rack1', 'rack2'}",
    "app == 'db' && tier != 'web'",
    "global()",
    "app starts with 'we'",
    "zone not in {}",
    "tier contains \"\\\"",
    "role == 'a\"b'",
    "role == \"a'b\"",
    "app == '$x {}; #'",
    "app == 'é'",
    "(has(a) || has(b)) && !has(c)",
    "kubernetes.io/hostname == 'node-a'",
    "projectcalico.org/namespace == 'shop'",
];
const PROTOCOLS: &[&str] = &[
    "TCP", "UDP", "ICMP", "ICMPv6", "SCTP", "UDPLite", "6", "17", "132",
];
const PORTS: &[&str] = &[
    "22",
    "80",
    "443",
    "8080",
    "9100:9102",
    "1:65535",
    "http",
    "53",
];
const ACTIONS: &[&str] = &["Allow", "Deny", "Log", "Pass"];
const TIERS: &[&str] = &["default", "security", "platform"];
const ASNS: &[&str] = &["64512", "65001", "65020", "4200000000", "1.10", "64512"];
const PEER_IPS: &[&str] = &[
    "192.168.10.1",
    "192.168.10.1:1179",
    "192.168.20.1",
    "10.0.0.254",
    "[fd00::1]:179",
    "fd00::1",
    "192.168.10.12",
];
const MACS: &[&str] = &[
    "66:57:0f:f0:5a:20",
    "0a:2c:d5:e2:9d:b9",
    "92:ef:37:c6:15:71",
];

fn s(v: String) -> Value {
    Value::String(v)
}

fn labels(u: &mut Unstructured) -> Result<Value> {
    let mut m = Map::new();
    for _ in 0..u.int_in_range(0..=3u8)? {
        m.insert(pick(u, LABEL_KEYS)?, s(pick(u, LABEL_VALUES)?));
    }
    Ok(Value::Object(m))
}

fn metadata(u: &mut Unstructured, name: String, namespace: Option<String>) -> Result<Value> {
    let mut m = Map::new();
    m.insert("name".into(), s(name));
    if let Some(ns) = namespace {
        m.insert("namespace".into(), s(ns));
    }
    if u.arbitrary()? {
        m.insert("labels".into(), labels(u)?);
    }
    Ok(Value::Object(m))
}

fn doc(kind: &str, metadata: Value, spec: Map<String, Value>) -> Value {
    json!({"apiVersion": "projectcalico.org/v3", "kind": kind, "metadata": metadata, "spec": spec})
}

fn name(u: &mut Unstructured, prefix: &str) -> Result<String> {
    Ok(match u.int_in_range(0..=20u8)? {
        0 if !clean() => (*u.choose(HOSTILE)?).to_string(),
        _ if clean() => {
            let n = SERIAL.with(|c| {
                c.set(c.get() + 1);
                c.get()
            });
            format!("{prefix}{n}")
        }
        n => format!("{prefix}{}", n % 5),
    })
}

fn nets(u: &mut Unstructured) -> Result<Value> {
    Ok(Value::Array(list(u, 4, |u| {
        let v4 = if clean() {
            FAMILY.with(|f| f.get()) == 4
        } else {
            u.arbitrary()?
        };
        let v = if v4 {
            pick(u, V4_NETS)?
        } else {
            pick_ok(u, V6_NETS)?
        };
        Ok(s(if clean() && v.ends_with("/0") {
            "10.0.0.0/8".into()
        } else {
            v
        }))
    })?))
}

fn port(u: &mut Unstructured) -> Result<Value> {
    let p = pick(u, PORTS)?;
    Ok(match p.parse::<u64>() {
        Ok(n) if u.arbitrary()? => json!(n),
        _ => s(p),
    })
}

fn entity(u: &mut Unstructured, ports_ok: bool) -> Result<Value> {
    let mut m = Map::new();
    for (key, which) in [
        ("selector", 0),
        ("notSelector", 0),
        ("namespaceSelector", 0),
        ("nets", 1),
        ("notNets", 1),
        ("ports", 2),
        ("notPorts", 2),
    ] {
        if which == 2 && clean() && !ports_ok {
            continue;
        }
        if u.int_in_range(0..=3u8)? == 0 {
            let v = match which {
                0 => s(selector(u)?),
                1 => nets(u)?,
                _ => Value::Array(list(u, 3, port)?),
            };
            m.insert(key.into(), v);
        }
    }
    if u.int_in_range(0..=7u8)? == 0 {
        m.insert(
            "serviceAccounts".into(),
            json!({"names": [pick(u, &["sa1", "default"])?], "selector": selector(u)?}),
        );
    }
    Ok(Value::Object(m))
}

fn rule(u: &mut Unstructured) -> Result<Value> {
    let fam = if u.int_in_range(0..=3u8)? == 0 { 6 } else { 4 };
    FAMILY.with(|f| f.set(fam));
    let mut m = Map::new();
    m.insert("action".into(), s(pick(u, ACTIONS)?));
    let mut proto = String::new();
    if u.arbitrary()? {
        let p = pick(u, PROTOCOLS)?;
        proto = p.clone();
        m.insert(
            "protocol".into(),
            match p.parse::<u64>() {
                Ok(n) => json!(n),
                Err(_) => s(p),
            },
        );
    }
    if u.int_in_range(0..=5u8)? == 0 {
        m.insert("notProtocol".into(), s(pick(u, PROTOCOLS)?));
    }
    let ports_ok = matches!(proto.as_str(), "TCP" | "UDP" | "SCTP" | "6" | "17" | "132");
    let icmp_ok = (proto == "ICMP" && fam == 4) || (proto == "ICMPv6" && fam == 6);
    if (!clean() || icmp_ok) && u.int_in_range(0..=2u8)? == 0 {
        let mut icmp = Map::new();
        icmp.insert("type".into(), json!(u.int_in_range(0..=255u16)?));
        if u.arbitrary()? {
            icmp.insert("code".into(), json!(u.int_in_range(0..=255u16)?));
        }
        let key = if u.arbitrary()? { "icmp" } else { "notICMP" };
        m.insert(key.into(), Value::Object(icmp));
    }
    if !clean() && u.int_in_range(0..=5u8)? == 0 {
        m.insert("ipVersion".into(), json!(*u.choose(&[4, 6])?));
    }
    if u.arbitrary()? {
        m.insert("source".into(), entity(u, ports_ok)?);
    }
    if u.arbitrary()? {
        m.insert("destination".into(), entity(u, ports_ok)?);
    }
    if u.int_in_range(0..=7u8)? == 0 {
        m.insert(
            "metadata".into(),
            json!({"annotations": {pick(u, LABEL_KEYS)?: pick(u, LABEL_VALUES)?}}),
        );
    }
    Ok(Value::Object(m))
}

fn policy(u: &mut Unstructured, global: bool) -> Result<Value> {
    let tier = pick(u, TIERS)?;
    let base = name(u, "pol")?;
    let pname = if tier == "default" || u.int_in_range(0..=5u8)? == 0 {
        base
    } else {
        format!("{tier}.{base}")
    };
    let ns = if global {
        None
    } else {
        Some(pick(u, NAMESPACES)?)
    };
    let mut spec = Map::new();
    if u.arbitrary()? {
        spec.insert("tier".into(), s(tier));
    }
    if u.arbitrary()? {
        let order: f64 = f64::from(u.int_in_range(0..=3000u16)?) / 4.0;
        spec.insert("order".into(), json!(order));
    }
    spec.insert("selector".into(), s(selector(u)?));
    let mut types = list(u, 2, |u| Ok(s(pick_ok(u, &["Ingress", "Egress"])?)))?;
    if clean() {
        types.dedup();
    }
    if !types.is_empty() {
        spec.insert("types".into(), Value::Array(types));
    }
    let ingress = list(u, 4, rule)?;
    if !ingress.is_empty() {
        spec.insert("ingress".into(), Value::Array(ingress));
    }
    let egress = list(u, 3, rule)?;
    if !egress.is_empty() {
        spec.insert("egress".into(), Value::Array(egress));
    }
    if global {
        for flag in ["doNotTrack", "preDNAT", "applyOnForward"] {
            if u.int_in_range(0..=3u8)? == 0 {
                spec.insert(flag.into(), json!(true));
            }
        }
        if clean() && (spec.contains_key("doNotTrack") || spec.contains_key("preDNAT")) {
            spec.insert("applyOnForward".into(), json!(true));
            if spec.contains_key("preDNAT") {
                spec.remove("doNotTrack");
                spec.remove("egress");
                spec.insert("types".into(), json!(["Ingress"]));
            }
        }
        if u.int_in_range(0..=5u8)? == 0 {
            spec.insert("namespaceSelector".into(), s(selector(u)?));
        }
    }
    let kind = if global {
        "GlobalNetworkPolicy"
    } else {
        "NetworkPolicy"
    };
    let meta = metadata(u, pname, ns)?;
    Ok(doc(kind, meta, spec))
}

fn pool(u: &mut Unstructured) -> Result<Value> {
    let mut spec = Map::new();
    spec.insert("cidr".into(), s(pick(u, POOL_CIDRS)?));
    for key in ["ipipMode", "vxlanMode"] {
        if u.arbitrary()? {
            spec.insert(key.into(), s(pick(u, &["Always", "CrossSubnet", "Never"])?));
        }
    }
    if clean() {
        let v6 = spec["cidr"].as_str().is_some_and(|c| c.contains(':'));
        let on = |k: &str| spec.get(k).is_some_and(|m| m != "Never");
        if v6 || (on("ipipMode") && on("vxlanMode")) {
            spec.remove("ipipMode");
        }
    }
    if u.arbitrary()? {
        let v6 = spec["cidr"].as_str().is_some_and(|c| c.contains(':'));
        let bs = if !clean() {
            *u.choose(&[26, 24, 28, 30, 31, 32, 122, 126, 116])?
        } else if v6 {
            *u.choose(&[122, 124, 126])?
        } else {
            *u.choose(&[26, 28, 30])?
        };
        spec.insert("blockSize".into(), json!(bs));
    }
    for key in ["natOutgoing", "disabled", "disableBGPExport"] {
        if u.int_in_range(0..=2u8)? == 0 {
            spec.insert(key.into(), json!(u.arbitrary::<bool>()?));
        }
    }
    if u.arbitrary()? {
        spec.insert("nodeSelector".into(), s(selector(u)?));
    }
    let n = name(u, "pool")?;
    let meta = metadata(u, n, None)?;
    Ok(doc("IPPool", meta, spec))
}

fn node(u: &mut Unstructured, i: usize) -> Result<Value> {
    let mut spec = Map::new();
    let mut bgp = Map::new();
    if u.int_in_range(0..=5u8)? != 0 {
        let a = if clean() {
            NODE_ADDRS[i % NODE_ADDRS.len()].to_string()
        } else {
            pick(u, NODE_ADDRS)?
        };
        bgp.insert("ipv4Address".into(), s(a));
    }
    if u.int_in_range(0..=5u8)? == 0 {
        bgp.insert(
            "ipv6Address".into(),
            s(if clean() {
                format!("fd00::{}/64", 11 + i)
            } else {
                pick(u, &["fd00::11/64", "fd00::12/64"])?
            }),
        );
    }
    if u.int_in_range(0..=4u8)? == 0 {
        bgp.insert("asNumber".into(), s(pick(u, ASNS)?));
    }
    if u.int_in_range(0..=4u8)? == 0 {
        bgp.insert(
            "routeReflectorClusterID".into(),
            s(pick(u, &["224.0.0.1", "1.2.3.4", "10.0.0.1"])?),
        );
    }
    if !bgp.is_empty() {
        spec.insert("bgp".into(), Value::Object(bgp));
    }
    if u.int_in_range(0..=5u8)? == 0 {
        spec.insert("vxlanTunnelMACAddr".into(), s(pick(u, MACS)?));
    }
    let n = if clean() {
        NODE_NAMES[i % 5].to_string()
    } else {
        pick(u, NODE_NAMES)?
    };
    NODES.with(|d| d.borrow_mut().push(n.clone()));
    let mut meta = metadata(u, n, None)?;
    let mut ann = Map::new();
    if u.arbitrary()? {
        ann.insert("netc.dev/underlay-interface".into(), s(pick(u, IFNAMES)?));
    }
    if u.int_in_range(0..=3u8)? == 0 {
        ann.insert(
            "netc.dev/underlay-mtu".into(),
            s(pk(u, &["1500", "9000", "1400"], &["68", "0", "65536"])?),
        );
    }
    if u.int_in_range(0..=3u8)? == 0 {
        ann.insert(
            "netc.dev/failsafe-inbound".into(),
            s(pk(
                u,
                &["tcp:22,udp:68", "", "tcp:22"],
                &["udp:0", "sctp:1"],
            )?),
        );
    }
    if !ann.is_empty() {
        meta["annotations"] = Value::Object(ann);
    }
    Ok(doc("Node", meta, spec))
}

fn bgp_config(u: &mut Unstructured) -> Result<Value> {
    let mut spec = Map::new();
    if u.arbitrary()? {
        spec.insert(
            "nodeToNodeMeshEnabled".into(),
            json!(u.arbitrary::<bool>()?),
        );
    }
    if u.arbitrary()? {
        spec.insert("asNumber".into(), s(pick(u, ASNS)?));
    }
    if u.arbitrary()? {
        spec.insert(
            "logSeverityScreen".into(),
            s(pick(u, &["Info", "Debug", "Warning", "Error", "Fatal"])?),
        );
    }
    if u.arbitrary()? {
        spec.insert(
            "listenPort".into(),
            json!(*u.choose(if clean() {
                &[179, 1179, 65535][..]
            } else {
                &[179, 1179, 0, 65535][..]
            })?),
        );
    }
    for key in [
        "serviceClusterIPs",
        "serviceExternalIPs",
        "serviceLoadBalancerIPs",
    ] {
        if u.int_in_range(0..=2u8)? == 0 {
            let v = list(u, 2, |u| Ok(json!({"cidr": pick(u, V4_NETS)?})))?;
            spec.insert(key.into(), Value::Array(v));
        }
    }
    if u.int_in_range(0..=3u8)? == 0 {
        spec.insert(
            "communities".into(),
            json!([{"name": "c1", "value": pk(u, &["65001:100", "65001:100:200"], &["bad"])?}]),
        );
        spec.insert(
            "prefixAdvertisements".into(),
            json!([{"cidr": pick(u, POOL_CIDRS)?, "communities": [pk(u, &["c1"], &["nope"])?, "65001:7"]}]),
        );
    }
    if u.int_in_range(0..=3u8)? == 0 {
        let v = list(u, 2, |u| {
            Ok(s(pick(u, &["eth*", "docker0", "kube-ipvs0", "cali*"])?))
        })?;
        spec.insert("ignoredInterfaces".into(), Value::Array(v));
    }
    if u.int_in_range(0..=4u8)? == 0 {
        spec.insert("bindMode".into(), s(pick(u, &["None", "NodeIP"])?));
    }
    if u.int_in_range(0..=4u8)? == 0 {
        spec.insert(
            "nodeMeshPassword".into(),
            json!({"secretKeyRef": {"name": "bgp", "key": "mesh"}}),
        );
    }
    if u.int_in_range(0..=4u8)? == 0 {
        spec.insert(
            "nodeMeshMaxRestartTime".into(),
            s(pick(u, &["2m", "120s", "1h", "0s"])?),
        );
    }
    let name = if u.int_in_range(0..=5u8)? == 0 {
        format!("node.{}", node_ref(u)?)
    } else {
        "default".into()
    };
    let meta = metadata(u, name, None)?;
    Ok(doc("BGPConfiguration", meta, spec))
}

fn peer(u: &mut Unstructured) -> Result<Value> {
    let mut spec = Map::new();
    match u.int_in_range(0..=3u8)? {
        0 => {
            spec.insert("peerSelector".into(), s(selector(u)?));
        }
        _ => {
            spec.insert("peerIP".into(), s(pick(u, PEER_IPS)?));
            spec.insert("asNumber".into(), s(pick(u, ASNS)?));
        }
    }
    match u.int_in_range(0..=2u8)? {
        0 => {
            spec.insert("node".into(), s(node_ref(u)?));
        }
        1 => {
            spec.insert("nodeSelector".into(), s(selector(u)?));
        }
        _ => {}
    }
    if u.int_in_range(0..=3u8)? == 0 {
        spec.insert(
            "password".into(),
            json!({"secretKeyRef": {"name": pick(u, &["bgp-secrets", "x"])?, "key": pick(u, &["upstream", "k"])?}}),
        );
    }
    for (key, vals) in [
        ("keepOriginalNextHop", &["true", "false"][..]),
        ("maxRestartTime", &["2m", "0s", "90s"][..]),
        ("keepaliveTime", &["30s", "1m", "0s"][..]),
        ("sourceAddress", &["UseNodeIP", "None"][..]),
        ("nextHopMode", &["Auto", "Self", "Keep"][..]),
        (
            "reachableBy",
            if spec.contains_key("peerIP") || !clean() {
                &["192.168.10.254", "10.0.0.1"][..]
            } else {
                &[][..]
            },
        ),
        ("localASNumber", &["64513", "65001"][..]),
    ] {
        if !vals.is_empty() && u.int_in_range(0..=4u8)? == 0 {
            let v = pick(u, vals)?;
            spec.insert(
                key.into(),
                match v.as_str() {
                    "true" => json!(true),
                    "false" => json!(false),
                    _ => s(v),
                },
            );
        }
    }
    if u.int_in_range(0..=4u8)? == 0 {
        spec.insert("ttlSecurity".into(), json!(u.int_in_range(0..=255u16)?));
    }
    if u.int_in_range(0..=5u8)? == 0 {
        spec.insert(
            "numAllowedLocalASNumbers".into(),
            json!(u.int_in_range(0..=10u8)?),
        );
    }
    let n = name(u, "peer")?;
    let meta = metadata(u, n, None)?;
    Ok(doc("BGPPeer", meta, spec))
}

fn net_set(u: &mut Unstructured, global: bool) -> Result<Value> {
    let mut spec = Map::new();
    spec.insert("nets".into(), nets(u)?);
    let ns = if global {
        None
    } else {
        Some(pick(u, NAMESPACES)?)
    };
    let kind = if global {
        "GlobalNetworkSet"
    } else {
        "NetworkSet"
    };
    let n = name(u, "set")?;
    let meta = metadata(u, n, ns)?;
    Ok(doc(kind, meta, spec))
}

fn endpoint_ports(u: &mut Unstructured) -> Result<Value> {
    Ok(Value::Array(list(u, 2, |u| {
        Ok(json!({
            "name": pick(u, &["http", "https", "http-alt", "metrics"])?,
            "protocol": pick(u, &["TCP", "UDP", "SCTP"])?,
            "port": u.int_in_range(1..=65535u16)?,
        }))
    })?))
}

fn host_endpoint(u: &mut Unstructured) -> Result<Value> {
    let mut spec = Map::new();
    spec.insert("node".into(), s(node_ref(u)?));
    if u.int_in_range(0..=4u8)? != 0 || clean() {
        spec.insert(
            "interfaceName".into(),
            s(pick(u, &["eth0", "eth1", "*", "ens3"])?),
        );
    }
    if u.arbitrary()? {
        let v = list(u, 2, |u| {
            Ok(s(pick(
                u,
                &["192.168.10.11", "192.168.20.12", "fd00::11", "10.0.0.1"],
            )?))
        })?;
        spec.insert("expectedIPs".into(), Value::Array(v));
    }
    if u.int_in_range(0..=3u8)? == 0 {
        spec.insert("ports".into(), endpoint_ports(u)?);
    }
    let n = name(u, "hep")?;
    let meta = metadata(u, n, None)?;
    Ok(doc("HostEndpoint", meta, spec))
}

fn workload_endpoint(u: &mut Unstructured) -> Result<Value> {
    let mut spec = Map::new();
    let node = node_ref(u)?;
    let pod = pick(u, &["web-0", "db-0", "api-1"])?;
    spec.insert("node".into(), s(node.clone()));
    spec.insert("orchestrator".into(), s(pick(u, &["k8s", "openstack"])?));
    spec.insert("pod".into(), s(pod.clone()));
    spec.insert("endpoint".into(), s("eth0".into()));
    spec.insert("interfaceName".into(), s(pick(u, IFNAMES)?));
    let v = list(u, 2, |u| {
        Ok(s(pk(
            u,
            &[
                "10.244.0.10/32",
                "10.244.0.200/32",
                "10.250.0.5/32",
                "fd00:10::5/128",
                "10.80.0.11/32",
                "10.67.0.9/32",
            ],
            &["10.244.0.0/24"],
        )?))
    })?;
    spec.insert("ipNetworks".into(), Value::Array(v));
    if u.int_in_range(0..=3u8)? == 0 {
        spec.insert("ports".into(), endpoint_ports(u)?);
    }
    if u.int_in_range(0..=5u8)? == 0 {
        spec.insert("mac".into(), s(pick(u, MACS)?));
    }
    let wname = if u.int_in_range(0..=4u8)? == 0 {
        name(u, "wep")?
    } else {
        format!(
            "{}-k8s-{}-eth0",
            node.replace('-', "--"),
            pod.replace('-', "--")
        )
    };
    let ns = pick(u, NAMESPACES)?;
    let meta = metadata(u, wname, Some(ns))?;
    Ok(doc("WorkloadEndpoint", meta, spec))
}

/// A generated cluster: its YAML text.
#[derive(Debug)]
pub struct ClusterYaml(pub String);

impl<'a> Arbitrary<'a> for ClusterYaml {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let is_clean = u.int_in_range(0..=3u8)? != 0;
        CLEAN.with(|c| c.set(is_clean));
        NODES.with(|n| n.borrow_mut().clear());
        SERIAL.with(|c| c.set(0));
        let mut docs = Vec::new();
        let mut pools = list(u, 3, pool)?;
        if clean() {
            // Distinct CIDRs (overlaps are an error).
            let mut seen = std::collections::BTreeSet::new();
            pools.retain(|p| seen.insert(p["spec"]["cidr"].to_string()));
        }
        docs.extend(pools);
        let n = u.int_in_range(usize::from(is_clean)..=4usize)?;
        for i in 0..n {
            docs.push(node(u, i)?);
        }
        if u.arbitrary()? {
            docs.push(bgp_config(u)?);
        }
        docs.extend(list(u, 3, peer)?);
        docs.extend(list(u, 2, |u| net_set(u, true))?);
        docs.extend(list(u, 2, |u| net_set(u, false))?);
        docs.extend(list(u, 4, |u| policy(u, true))?);
        docs.extend(list(u, 3, |u| policy(u, false))?);
        docs.extend(list(u, 3, host_endpoint)?);
        docs.extend(list(u, 3, workload_endpoint)?);
        // Shuffle a little: document order must not matter to the output
        // beyond what the pipeline defines (a rotation keeps it cheap).
        if !docs.is_empty() {
            let k = u.int_in_range(0..=docs.len() - 1)?;
            docs.rotate_left(k);
        }
        let text: Vec<String> = docs.iter().map(yaml_flow).collect();
        Ok(ClusterYaml(text.join("\n---\n") + "\n"))
    }
}

/// `v` in YAML flow style: JSON with every character outside printable
/// ASCII escaped, which YAML's double-quoted scalars read back exactly.
pub fn yaml_flow(v: &Value) -> String {
    let json = serde_json::to_string(v).expect("JSON");
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            ' '..='~' => out.push(c),
            c if (c as u32) <= 0xFFFF => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push_str(&format!("\\U{:08X}", c as u32)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A cheap xorshift byte source, for statistics without libFuzzer.
    fn bytes(seed: u64, n: usize) -> Vec<u8> {
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    /// Most generated clusters must get through validation, or the target
    /// would only test diagnostics.
    #[test]
    fn generated_clusters_often_validate() {
        let (mut valid, mut compiled, total) = (0, 0, 300);
        for seed in 0..total {
            let data = bytes(seed, 4096);
            let mut u = Unstructured::new(&data);
            let ClusterYaml(text) = ClusterYaml::arbitrary(&mut u).unwrap();
            if crate::validate_text(&text).is_some() {
                valid += 1;
                if crate::compile(&text).is_some_and(|n| !n.is_empty()) {
                    compiled += 1;
                }
            }
        }
        eprintln!("valid {valid}/{total}, compiled with nodes {compiled}/{total}");
        assert!(valid * 10 >= total, "only {valid}/{total} validate");
    }
}

#[cfg(test)]
mod stats {
    use super::*;
    use netc_compiler::{load, validate, SourceMap};

    #[test]
    #[ignore]
    fn diagnostic_histogram() {
        let mut h: std::collections::BTreeMap<String, usize> = Default::default();
        for seed in 0..300u64 {
            let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
            let data: Vec<u8> = (0..4096)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect();
            let ClusterYaml(text) = ClusterYaml::arbitrary(&mut Unstructured::new(&data)).unwrap();
            let mut sm = SourceMap::new();
            let id = sm.add("f.yaml", &text);
            let (raws, ld) = load::load_source(id, &sm);
            let (_, d) = validate::validate(raws);
            let mut codes: Vec<String> = ld
                .iter()
                .chain(&d.items)
                .filter(|d| d.is_error())
                .map(|d| {
                    format!(
                        "{} {}",
                        d.code,
                        d.message.chars().take(60).collect::<String>()
                    )
                })
                .collect();
            codes.sort();
            codes.dedup();
            for c in codes {
                *h.entry(c).or_default() += 1;
            }
        }
        let mut v: Vec<_> = h.into_iter().collect();
        v.sort_by_key(|x| std::cmp::Reverse(x.1));
        for (c, n) in v.iter().take(60) {
            eprintln!("{n:4} {c}");
        }
    }
}
