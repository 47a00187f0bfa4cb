//! HostEndpoint (docs/calico.md §1.8) and WorkloadEndpoint rules, including the
//! reference to a declared node.

use super::util::{ctx, interface_problem, list_names};
use super::Ctx;
use crate::diag::{codes, Diagnostic};
use crate::load::did_you_mean;
use crate::model::{
    is_iana_svc_name, EndpointPort, HostEndpointSpec, Kind, Model, NumOrStr, WorkloadEndpointSpec,
};
use std::net::IpAddr;

pub(super) fn check(m: &Model, out: &mut Vec<Diagnostic>) {
    for r in &m.host_endpoints {
        host_endpoint(m, &ctx(r, Kind::HostEndpoint), out);
    }
    for r in &m.workload_endpoints {
        workload_endpoint(m, &ctx(r, Kind::WorkloadEndpoint), out);
    }
}

fn node_ref<T>(m: &Model, c: &Ctx<T>, node: &str, out: &mut Vec<Diagnostic>) {
    if node.is_empty() {
        out.push(
            c.err(
                codes::MISSING_FIELD,
                "/spec/node",
                format!("`spec.node` of a {} is empty", c.kind.as_str()),
            )
            .label("no node given")
            .note("spec.node names the declared Node the endpoint lives on"),
        );
        return;
    }
    if m.node(node).is_some() {
        return;
    }
    let mut d = c
        .err(
            codes::UNKNOWN_NODE,
            "/spec/node",
            format!("no node named `{node}` is declared"),
        )
        .label("unknown node");
    if let Some(s) = did_you_mean(node, m.nodes.iter().map(|n| n.meta.name.as_str())) {
        d = d.label(format!("unknown node; did you mean `{s}`?"));
    }
    let names: Vec<&str> = m.nodes.iter().map(|n| n.meta.name.as_str()).collect();
    let known = if names.is_empty() {
        "no nodes are declared".to_string()
    } else {
        format!("declared nodes: {}", list_names(&names, 6))
    };
    out.push(d.note(format!(
        "the endpoint's rules are compiled for its node; {known}"
    )));
}

fn host_endpoint(m: &Model, c: &Ctx<HostEndpointSpec>, out: &mut Vec<Diagnostic>) {
    let s = &c.r.spec;
    node_ref(m, c, &s.node, out);
    let iface = s.interface_name.as_deref().filter(|i| !i.is_empty());
    if iface.is_none() && s.expected_ips.is_empty() {
        out.push(
            c.err_key(codes::HEP_NEEDS_IFACE_OR_IPS, "/spec", "a HostEndpoint needs `interfaceName` or `expectedIPs`")
                .label("neither is set")
                .note("interfaceName binds the endpoint to an interface (`eth0`, or `*` for all of the host's interfaces); expectedIPs lists the host's addresses for policy selectors"),
        );
    }
    if let Some(i) = iface {
        if i != "*" {
            if let Some(why) = interface_problem(i) {
                out.push(
                    c.err(codes::BAD_INTERFACE, "/spec/interfaceName", format!("`{i}` is not a valid interface name: {why}"))
                        .label("not a valid interface name")
                        .note("interface names are 1..15 characters of `[A-Za-z0-9_.-]`; `*` alone means all of the host's interfaces"),
                );
            }
        }
    }
    for (i, ip) in s.expected_ips.iter().enumerate() {
        if ip.parse::<IpAddr>().is_err() {
            let label = if ip.contains('/') {
                "remove the prefix length"
            } else {
                "not an IP address"
            };
            out.push(
                c.err(
                    codes::BAD_EXPECTED_IP,
                    &format!("/spec/expectedIPs/{i}"),
                    format!("expectedIPs entry `{ip}` is not an IP address"),
                )
                .label(label)
                .note("expectedIPs are the host's bare IPv4 or IPv6 addresses, e.g. `10.0.0.5`"),
            );
        }
    }
    ports(c, &s.ports, out);
}

fn ports<T>(c: &Ctx<T>, ports: &[EndpointPort], out: &mut Vec<Diagnostic>) {
    for (i, p) in ports.iter().enumerate() {
        let base = format!("/spec/ports/{i}");
        if !is_iana_svc_name(&p.name) {
            out.push(
                c.err(codes::BAD_PORT, &format!("{base}/name"), format!("`{}` is not a valid port name", p.name))
                    .label("expected an IANA service name")
                    .note("port names are 1..15 of `a-z0-9-` with at least one letter, no leading, trailing or double `-` (e.g. `http`, `bgp`)"),
            );
        }
        match crate::model::parse_protocol(&NumOrStr::Str(p.protocol.clone())) {
            Ok(pr) if pr.has_ports() => {}
            Ok(_) => out.push(
                c.err(
                    codes::PORTS_NEED_PROTOCOL,
                    &format!("{base}/protocol"),
                    format!("protocol {} has no ports", p.protocol),
                )
                .label("expected TCP, UDP or SCTP")
                .note("a named port's protocol is TCP, UDP or SCTP"),
            ),
            Err(e) => out.push(
                c.err(
                    codes::BAD_PROTOCOL,
                    &format!("{base}/protocol"),
                    format!("invalid protocol: {e}"),
                )
                .label("expected TCP, UDP or SCTP"),
            ),
        }
        if p.port == 0 {
            out.push(
                c.err(
                    codes::BAD_PORT,
                    &format!("{base}/port"),
                    "port 0 is not a port",
                )
                .label("must be 1..65535"),
            );
        }
    }
}

fn workload_endpoint(m: &Model, c: &Ctx<WorkloadEndpointSpec>, out: &mut Vec<Diagnostic>) {
    let s = &c.r.spec;
    node_ref(m, c, &s.node, out);
    if s.interface_name.is_empty() {
        out.push(
            c.err_key(
                codes::MISSING_FIELD,
                "/spec",
                "a WorkloadEndpoint needs `interfaceName`",
            )
            .label("no interfaceName")
            .note("interfaceName is the host side of the workload's veth, e.g. `cali12345abcdef`"),
        );
    } else if let Some(why) = interface_problem(&s.interface_name) {
        out.push(
            c.err(
                codes::BAD_INTERFACE,
                "/spec/interfaceName",
                format!(
                    "`{}` is not a valid interface name: {why}",
                    s.interface_name
                ),
            )
            .label("not a valid interface name")
            .note("interface names are 1..15 characters of `[A-Za-z0-9_.-]`"),
        );
    }
    for (i, n) in s.ip_networks.iter().enumerate() {
        let ptr = format!("/spec/ipNetworks/{i}");
        let (addr, len) = match n.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (n.as_str(), None),
        };
        let problem = match addr.parse::<IpAddr>() {
            Err(_) => Some("not an IP address".to_string()),
            Ok(a) => {
                let host = if a.is_ipv4() { "32" } else { "128" };
                match len {
                    Some(l) if l != host => Some(format!("a workload address is a single /{host}")),
                    _ => None,
                }
            }
        };
        if let Some(why) = problem {
            out.push(
                c.err(codes::WORKLOAD_ADDRESS, &ptr, format!("ipNetworks entry `{n}` is not a workload address: {why}"))
                    .label("not a single address")
                    .note("ipNetworks lists the workload's own addresses: IPv4 /32 or IPv6 /128 (or bare addresses)"),
            );
        }
    }
    ports(c, &s.ports, out);
}
