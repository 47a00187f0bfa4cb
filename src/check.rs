//! `netc check`: what a node's firewall does with one packet, and why.
//!
//! The verdict and the path come from [`netc_ir::eval`], a pure evaluator of
//! the node's compiled firewall IR — the same IR both emitters spell, so the
//! answer holds for nftables and iptables alike. This module is the part
//! that needs the model: it names the packet's ends (an address, a
//! workload, a pod, a host endpoint or a node), builds the node's routing
//! [`Topology`] from its addresses and endpoints, and maps the deciding
//! rule back to its policy's file:line:column.

use netc_compiler::model::{Model, Resource};
use netc_compiler::SourceMap;
use netc_ir::eval::{self, Evaluation, Outcome, Packet, Route, Step, Topology};
use netc_ir::{Direction, HostIr, Protocol};
use serde::Serialize;
use std::fmt::Write as _;
use std::net::IpAddr;

/// A problem with what the user asked (not with the desired state).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CheckError {
    #[error("`{0}`: expected an address, `[v6]:port`, `wep:NS/NAME`, `pod:NS/NAME`, `hep:NAME` or `node:NAME`, optionally with `:PORT`")]
    Syntax(String),
    #[error("`{0}`: no {1} with that name")]
    Unknown(String, &'static str),
    #[error("`{0}`: it has no {1} address")]
    NoAddress(String, &'static str),
    #[error("`{0}`: unknown protocol (tcp, udp, sctp, icmp, icmpv6 or a number 0-255)")]
    Protocol(String),
    #[error("the source and destination are of different IP families ({0} and {1})")]
    Families(IpAddr, IpAddr),
}

/// One end of the packet as the user named it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct End {
    pub addr: IpAddr,
    pub port: Option<u16>,
    /// What the user named, when not a bare address (`WorkloadEndpoint demo/web`).
    pub what: Option<String>,
}

/// `HOST[:PORT]` with HOST an address (`[v6]` with a port), `wep:NS/NAME`,
/// `pod:NS/NAME`, `hep:NAME` or `node:NAME`. Endpoints with addresses of
/// both families resolve to `want`'s family, else IPv4 first.
pub fn parse_end(model: &Model, spec: &str, want: Option<bool>) -> Result<End, CheckError> {
    let syntax = || CheckError::Syntax(spec.to_string());
    if let Ok(a) = spec.parse::<IpAddr>() {
        return Ok(End {
            addr: a,
            port: None,
            what: None,
        });
    }
    if let Ok(sa) = spec.parse::<std::net::SocketAddr>() {
        return Ok(End {
            addr: sa.ip(),
            port: Some(sa.port()),
            what: None,
        });
    }
    let (kind, rest) = spec.split_once(':').ok_or_else(syntax)?;
    let (name, port) = match rest.rsplit_once(':') {
        Some((n, p)) => (n, Some(p.parse::<u16>().map_err(|_| syntax())?)),
        None => (rest, None),
    };
    let pick = |addrs: Vec<IpAddr>, what: &'static str| -> Result<IpAddr, CheckError> {
        let v6 = want.unwrap_or(false);
        addrs
            .iter()
            .find(|a| a.is_ipv6() == v6)
            .or_else(|| if want.is_none() { addrs.first() } else { None })
            .copied()
            .ok_or_else(|| CheckError::NoAddress(spec.to_string(), if v6 { "IPv6" } else { what }))
    };
    let (addr, what) = match kind {
        "wep" | "pod" => {
            let (ns, n) = name.split_once('/').ok_or_else(syntax)?;
            let w = model
                .workload_endpoints
                .iter()
                .find(|w| {
                    w.meta.namespace.as_deref().unwrap_or("default") == ns
                        && if kind == "wep" {
                            w.meta.name == n
                        } else {
                            w.spec.pod.as_deref() == Some(n)
                        }
                })
                .ok_or_else(|| CheckError::Unknown(spec.to_string(), "workload endpoint"))?;
            let addrs = w
                .spec
                .ip_networks
                .iter()
                .filter_map(|s| s.parse::<ipnet::IpNet>().ok())
                .map(|n| n.addr())
                .collect();
            (
                pick(addrs, "IPv4")?,
                format!("WorkloadEndpoint {ns}/{}", w.meta.name),
            )
        }
        "hep" => {
            let h = model
                .host_endpoints
                .iter()
                .find(|h| h.meta.name == name)
                .ok_or_else(|| CheckError::Unknown(spec.to_string(), "host endpoint"))?;
            let addrs = h
                .spec
                .expected_ips
                .iter()
                .filter_map(|s| s.parse().ok())
                .collect();
            (pick(addrs, "IPv4")?, format!("HostEndpoint {name}"))
        }
        "node" => {
            let n = model
                .node(name)
                .ok_or_else(|| CheckError::Unknown(spec.to_string(), "node"))?;
            let bgp = n.spec.bgp.as_ref();
            let addrs = [
                bgp.and_then(|b| b.ipv4_address.as_deref()),
                bgp.and_then(|b| b.ipv6_address.as_deref()),
            ]
            .into_iter()
            .flatten()
            .filter_map(|s| s.parse::<ipnet::IpNet>().ok())
            .map(|n| n.addr())
            .collect();
            (pick(addrs, "IPv4")?, format!("Node {name}"))
        }
        _ => return Err(syntax()),
    };
    Ok(End {
        addr,
        port,
        what: Some(what),
    })
}

/// `tcp`, `udp`, `sctp`, `icmp`, `icmpv6` or a protocol number.
pub fn parse_protocol(s: &str) -> Result<Protocol, CheckError> {
    Ok(match s.to_ascii_lowercase().as_str() {
        "tcp" => Protocol::Tcp,
        "udp" => Protocol::Udp,
        "sctp" => Protocol::Sctp,
        "icmp" => Protocol::Icmp,
        "icmpv6" | "ipv6-icmp" => Protocol::IcmpV6,
        "udplite" => Protocol::UdpLite,
        n => Protocol::from_number(n.parse().map_err(|_| CheckError::Protocol(s.to_string()))?),
    })
}

/// The node's routing view: what the IR says ([`Topology::from_ir`]:
/// underlay addresses, netc's routes, the underlay interface), plus its host
/// endpoints' expected IPs as local addresses; without an underlay
/// annotation, the uplink is the interface of the host endpoint holding the
/// node's address, else of its only named host endpoint, else `eth0`.
pub fn topology(model: &Model, ir: &HostIr) -> Topology {
    let mut t = Topology::from_ir(ir);
    let heps: Vec<_> = model
        .host_endpoints
        .iter()
        .filter(|h| h.spec.node == ir.node)
        .collect();
    for h in &heps {
        t.local.extend(
            h.spec
                .expected_ips
                .iter()
                .filter_map(|s| s.parse::<IpAddr>().ok()),
        );
    }
    t.local.sort();
    t.local.dedup();
    if ir.underlay.interface.is_none() {
        let named: Vec<&str> = heps
            .iter()
            .filter_map(|h| h.spec.interface_name.as_deref())
            .filter(|i| *i != "*")
            .collect();
        let node_addr = ir.address.map(|a| a.addr().to_string());
        let holding = heps.iter().find_map(|h| {
            let i = h.spec.interface_name.as_deref().filter(|i| *i != "*")?;
            let a = node_addr.as_ref()?;
            h.spec.expected_ips.contains(a).then_some(i)
        });
        let uplink = match (holding, named.as_slice()) {
            (Some(i), _) => Some(i),
            (None, [one]) => Some(*one),
            _ => None,
        };
        if let Some(u) = uplink {
            let old = std::mem::replace(&mut t.uplink, u.to_string());
            for (_, dev) in &mut t.routes {
                if dev.as_deref() == Some(old.as_str()) {
                    *dev = Some(u.to_string());
                }
            }
        }
    }
    t
}

/// Where a policy rule is written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Location {
    pub file: String,
    pub line: u32,
    pub column: u32,
}

/// The file:line:column of rule `index` of `direction` in the policy whose
/// display name (`GlobalNetworkPolicy x`, `NetworkPolicy ns/x`) is `policy`.
pub fn rule_location(
    model: &Model,
    sources: &SourceMap,
    policy: &str,
    direction: Direction,
    index: u32,
) -> Option<Location> {
    let find = |list: &'_ [Resource<netc_compiler::model::PolicySpec>], namespaced: bool| {
        list.iter()
            .find(|r| {
                let display = if namespaced {
                    format!(
                        "NetworkPolicy {}/{}",
                        r.meta.namespace.as_deref().unwrap_or("default"),
                        r.meta.name
                    )
                } else {
                    format!("GlobalNetworkPolicy {}", r.meta.name)
                };
                display == policy
            })
            .map(|r| r.origin.clone())
    };
    let origin = find(&model.global_network_policies, false)
        .or_else(|| find(&model.network_policies, true))?;
    let dir = match direction {
        Direction::Ingress => "ingress",
        Direction::Egress => "egress",
    };
    // The rule's `action` key: the first line of the rule.
    let span = origin.key_span(&format!("/spec/{dir}/{index}/action"));
    let file = sources.files().find(|(id, _)| *id == span.file)?.1;
    Some(Location {
        file: file.name.clone(),
        line: span.line,
        column: span.col,
    })
}

/// Which firewall the answer is phrased for (the verdict is the same).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Nftables,
    Iptables,
}

/// The whole answer, as `--format json` prints it.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub node: String,
    pub firewall: Backend,
    pub packet: Packet,
    pub from: Option<String>,
    pub to: Option<String>,
    pub verdict: Outcome,
    pub route: Route,
    /// The step that decided, as an index into `path`.
    pub deciding: Option<usize>,
    pub path: Vec<PathStep>,
}

/// A step of the path with the source location of its rule, if any.
#[derive(Clone, Debug, Serialize)]
pub struct PathStep {
    #[serde(flatten)]
    pub step: Step,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<Location>,
}

/// Evaluate `packet` on `ir` and attach source locations (when the model
/// and its sources are at hand: not for a compiled IR read from a file).
pub fn check(
    inputs: Option<(&Model, &SourceMap)>,
    ir: &HostIr,
    packet: Packet,
    route: Route,
    firewall: Backend,
    ends: (Option<String>, Option<String>),
) -> Report {
    let ev: Evaluation = eval::evaluate(&ir.firewall, &packet, &route);
    let deciding = ev
        .deciding()
        .and_then(|d| ev.path.iter().position(|s| std::ptr::eq(s, d)));
    let path = ev
        .path
        .into_iter()
        .map(|step| {
            let source = match &step {
                Step::Rule {
                    policy,
                    direction,
                    source_rule: Some(i),
                    ..
                } => inputs.and_then(|(model, sources)| {
                    rule_location(model, sources, policy, *direction, *i)
                }),
                _ => None,
            };
            PathStep { step, source }
        })
        .collect();
    Report {
        node: ir.node.clone(),
        firewall,
        packet,
        from: ends.0,
        to: ends.1,
        verdict: ev.outcome,
        route: ev.route,
        deciding,
        path,
    }
}

fn proto_text(p: &Packet) -> String {
    let name = p.protocol.name();
    if p.protocol.has_ports() {
        format!(
            "{name} {}:{} → {}",
            fmt_addr(p.src),
            p.src_port,
            endpoint(p.dst, p.dst_port)
        )
    } else if matches!(p.protocol, Protocol::Icmp | Protocol::IcmpV6) {
        format!(
            "{name} type {} code {} {} → {}",
            p.icmp_type, p.icmp_code, p.src, p.dst
        )
    } else {
        format!("protocol {name} {} → {}", p.src, p.dst)
    }
}

fn fmt_addr(a: IpAddr) -> String {
    match a {
        IpAddr::V6(_) => format!("[{a}]"),
        IpAddr::V4(_) => a.to_string(),
    }
}

fn endpoint(a: IpAddr, port: u16) -> String {
    format!("{}:{port}", fmt_addr(a))
}

/// The text answer: the verdict, then the path, one step a line.
pub fn render_text(r: &Report) -> String {
    let mut s = String::new();
    let verdict = match (r.verdict, r.firewall) {
        (Outcome::Accept, _) => "ALLOWED".to_string(),
        (Outcome::Drop, _) => "DENIED".to_string(),
        (Outcome::NoDecision, Backend::Nftables) => {
            "NO DECISION (netc's base chains end; the host's other tables and chain policies decide)".to_string()
        }
        (Outcome::NoDecision, Backend::Iptables) => {
            "NO DECISION (netc's chains return to the built-in chain; its other rules and policy decide)".to_string()
        }
    };
    let _ = writeln!(s, "{verdict}: {}", proto_text(&r.packet));
    for (label, what) in [("from", &r.from), ("to", &r.to)] {
        if let Some(w) = what {
            let _ = writeln!(s, "  {label}: {w}");
        }
    }
    let _ = writeln!(
        s,
        "  node {}, {:?}, {} firewall",
        r.node,
        r.route.kind,
        match r.firewall {
            Backend::Nftables => "nftables",
            Backend::Iptables => "iptables",
        }
    );
    let _ = writeln!(s, "path:");
    for (i, p) in r.path.iter().enumerate() {
        let mark = if Some(i) == r.deciding { "▶" } else { " " };
        let line = match &p.step {
            Step::Hook { hook, iif, oif } => {
                let mut t = format!("hook {hook:?}");
                if let Some(i) = iif {
                    let _ = write!(t, " iif {i}");
                }
                if let Some(o) = oif {
                    let _ = write!(t, " oif {o}");
                }
                t
            }
            Step::HookRule { outcome, why } => format!("  {outcome:?}: {why}"),
            Step::Dispatch {
                chain,
                iface,
                fallback,
            } => format!(
                "  dispatch {chain}: {}{}",
                if iface.is_empty() { "-" } else { iface },
                if *fallback { " (host endpoint *)" } else { "" }
            ),
            Step::Endpoint {
                chain,
                endpoint,
                direction,
            } => format!("    endpoint {endpoint} {direction:?} ({chain})"),
            Step::Failsafe {
                protocol,
                port,
                side,
                ..
            } => format!(
                "      failsafe {} {} port {port}: accept",
                protocol.name(),
                match side {
                    netc_ir::PortSide::Src => "source",
                    netc_ir::PortSide::Dst => "destination",
                }
            ),
            Step::Tier { tier, .. } => format!("      tier {tier}"),
            Step::Policy { policy, .. } => format!("        {policy}"),
            Step::Rule {
                action, comment, ..
            } => {
                let at = p
                    .source
                    .as_ref()
                    .map(|l| format!(" at {}:{}:{}", l.file, l.line, l.column))
                    .unwrap_or_default();
                format!("          {action:?}: {comment}{at}")
            }
            Step::TierEnd { tier, drop } => format!(
                "        end of tier {tier}: {}",
                if *drop { "drop" } else { "return" }
            ),
            Step::Default { endpoint, verdict } => {
                format!("      no policy decided: {endpoint} default {verdict:?}")
            }
            Step::Continuation { name } => format!("      then the later stages ({name})"),
            Step::HookDone { hook, outcome } => format!("  → {hook:?}: {outcome:?}"),
            Step::NoRoute => "  no route: the destination's route is a blackhole".to_string(),
        };
        let _ = writeln!(s, "{mark} {line}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ends_are_addresses_with_optional_ports() {
        let m = Model::default();
        let e = parse_end(&m, "10.0.0.1", None).unwrap();
        assert_eq!((e.addr.to_string(), e.port), ("10.0.0.1".into(), None));
        let e = parse_end(&m, "10.0.0.1:443", None).unwrap();
        assert_eq!(e.port, Some(443));
        let e = parse_end(&m, "[fd00::1]:53", None).unwrap();
        assert_eq!((e.addr.to_string(), e.port), ("fd00::1".into(), Some(53)));
        let e = parse_end(&m, "fd00::1", None).unwrap();
        assert_eq!(e.port, None);
        for bad in [
            "",
            "10.0.0.1:99999",
            "wep:nonamespace",
            "what:x",
            "10.0.0.256",
        ] {
            assert!(parse_end(&m, bad, None).is_err(), "{bad}");
        }
        assert_eq!(
            parse_end(&m, "wep:ns/w", None),
            Err(CheckError::Unknown("wep:ns/w".into(), "workload endpoint"))
        );
    }

    #[test]
    fn protocols_by_name_or_number() {
        assert_eq!(parse_protocol("TCP"), Ok(Protocol::Tcp));
        assert_eq!(parse_protocol("icmpv6"), Ok(Protocol::IcmpV6));
        assert_eq!(parse_protocol("6"), Ok(Protocol::Tcp));
        assert_eq!(parse_protocol("99"), Ok(Protocol::Number(99)));
        assert!(parse_protocol("256").is_err());
        assert!(parse_protocol("web").is_err());
    }
}
