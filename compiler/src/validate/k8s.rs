//! Kubernetes kinds (docs/k8s.md): the API server's own validation of
//! NetworkPolicy (`ValidateNetworkPolicy*`: label selectors, peers, ipBlock,
//! ports and endPort), pods (IPs, named ports, their node, their pool), and
//! what conversion needs to be unambiguous (a Kubernetes Node shadowed by a
//! Calico Node, a converted policy name already taken). Names, namespaces,
//! labels and duplicates are checked with every other kind in `names.rs`.

use super::util::{ctx, label_key_problem, label_value_problem, seg};
use super::Ctx;
use crate::diag::{codes, Diagnostic};
use crate::k8s;
use crate::model::*;
use ipnet::IpNet;
use std::net::IpAddr;

pub(super) fn check(m: &Model, out: &mut Vec<Diagnostic>) {
    for r in &m.kube_network_policies {
        policy(m, &ctx(r, Kind::KubeNetworkPolicy), out);
    }
    for r in &m.pods {
        pod(m, &ctx(r, Kind::Pod), out);
    }
    for r in &m.kube_nodes {
        if let Some(calico) = m.node(&r.meta.name) {
            out.push(
                Diagnostic::info(
                    codes::KUBE_NODE_SHADOWED,
                    format!(
                        "the Calico Node `{}` overrides the Kubernetes Node of the same name",
                        r.meta.name
                    ),
                )
                .at(r.origin.value_span("/metadata/name"))
                .label("this Kubernetes Node is not read")
                .related(calico.origin.value_span("/metadata/name"), "the Calico Node used instead")
                .resource(format!("{} {}", Kind::KubeNode.as_str(), r.meta.name))
                .note("a Calico Node carries the same facts as a Kubernetes Node's projectcalico.org/* annotations; netc uses the Calico resource"),
            );
        }
    }
}

// ------------------------------------------------------------------ NetworkPolicy

fn policy(m: &Model, c: &Ctx<KubeNetworkPolicySpec>, out: &mut Vec<Diagnostic>) {
    let s = &c.r.spec;
    if let Some(sel) = &s.pod_selector {
        label_selector(c, "/spec/podSelector", sel, out);
    }
    if let Some(types) = &s.policy_types {
        for (i, t) in types.iter().enumerate() {
            if types[..i].contains(t) {
                out.push(
                    c.err(
                        codes::DUPLICATE_TYPES,
                        &format!("/spec/policyTypes/{i}"),
                        format!("policyTypes lists `{t}` twice"),
                    )
                    .label("listed before")
                    .note("policyTypes lists Ingress and Egress at most once each"),
                );
            }
        }
    }
    for (dir, rules) in [("ingress", &s.ingress), ("egress", &s.egress)] {
        for (ri, r) in rules.as_deref().unwrap_or(&[]).iter().enumerate() {
            let base = format!("/spec/{dir}/{ri}");
            let key = if dir == "ingress" { "from" } else { "to" };
            for (pi, p) in r
                .peers()
                .map(Vec::as_slice)
                .unwrap_or(&[])
                .iter()
                .enumerate()
            {
                peer(c, &format!("{base}/{key}/{pi}"), p, out);
            }
            for (pi, p) in r.ports.as_deref().unwrap_or(&[]).iter().enumerate() {
                port(c, &format!("{base}/ports/{pi}"), p, out);
                if let Some(NumOrStr::Str(name)) = &p.port {
                    named_port_declared(m, c, &format!("{base}/ports/{pi}/port"), name, out);
                }
            }
        }
    }
    // The converted name must be free in the namespace.
    let ns = c.r.meta.namespace.as_deref().unwrap_or("default");
    let name = format!("{}{}", k8s::POLICY_PREFIX, c.r.meta.name);
    if let Some(other) = m
        .network_policies
        .iter()
        .find(|p| p.meta.name == name && p.meta.namespace.as_deref().unwrap_or("default") == ns)
    {
        out.push(
            c.err(
                codes::KUBE_POLICY_CLASH,
                "/metadata/name",
                format!("this NetworkPolicy becomes the Calico policy `{name}`, which already exists in namespace `{ns}`"),
            )
            .label("converted name taken")
            .related(other.origin.value_span("/metadata/name"), "the Calico NetworkPolicy of that name")
            .note("a Kubernetes NetworkPolicy `<name>` is enforced as the Calico NetworkPolicy `knp.default.<name>`; rename one of them"),
        );
    }
}

/// W0717 for a named port no pod or endpoint declares.
fn named_port_declared<T>(m: &Model, c: &Ctx<T>, ptr: &str, name: &str, out: &mut Vec<Diagnostic>) {
    if !is_iana_svc_name(name) {
        return;
    }
    let declared = super::export::pod_port_names(m)
        .chain(
            m.workload_endpoints
                .iter()
                .flat_map(|w| w.spec.ports.iter().map(|p| p.name.as_str())),
        )
        .chain(
            m.host_endpoints
                .iter()
                .flat_map(|h| h.spec.ports.iter().map(|p| p.name.as_str())),
        )
        .any(|n| n == name);
    if !declared {
        out.push(
            c.warn(
                codes::NAMED_PORT_UNKNOWN,
                ptr,
                format!("named port `{name}` is declared by no pod, so it matches no port"),
            )
            .label("no container port has this name")
            .note("a named port refers to `spec.containers[].ports[].name` of the destination pods; a rule whose ports are all such names allows nothing"),
        );
    }
}

/// `metav1.LabelSelector` validation (`ValidateLabelSelector`).
fn label_selector<T>(c: &Ctx<T>, base: &str, sel: &LabelSelector, out: &mut Vec<Diagnostic>) {
    for (k, v) in &sel.match_labels {
        let ptr = format!("{base}/matchLabels/{}", seg(k));
        if let Some(why) = label_key_problem(k) {
            out.push(
                c.err_key(
                    codes::KUBE_SELECTOR,
                    &ptr,
                    format!("`{k}` is not a valid label key: {why}"),
                )
                .label("not a qualified name")
                .note("a label key is an optional DNS-subdomain prefix and `/`, then a name of at most 63 characters from `[A-Za-z0-9_.-]` starting and ending with a letter or digit"),
            );
        }
        if let Some(why) = label_value_problem(v) {
            out.push(
                c.err(
                    codes::KUBE_SELECTOR,
                    &ptr,
                    format!("`{v}` is not a valid value for label `{k}`: {why}"),
                )
                .label("not a valid label value")
                .note("a label value is empty or at most 63 characters from `[A-Za-z0-9_.-]` starting and ending with a letter or digit"),
            );
        }
    }
    for (i, e) in sel.match_expressions.iter().enumerate() {
        let ptr = format!("{base}/matchExpressions/{i}");
        if let Some(why) = label_key_problem(&e.key) {
            out.push(
                c.err(
                    codes::KUBE_SELECTOR,
                    &format!("{ptr}/key"),
                    format!("`{}` is not a valid label key: {why}", e.key),
                )
                .label("not a qualified name"),
            );
        }
        let n = e.values.as_ref().map_or(0, Vec::len);
        match e.operator.as_str() {
            "In" | "NotIn" if n == 0 => out.push(
                c.err_key(
                    codes::KUBE_SELECTOR,
                    &format!("{ptr}/operator"),
                    format!("operator `{}` needs at least one value", e.operator),
                )
                .label("no `values`")
                .note("In and NotIn compare the label with `values`; give at least one"),
            ),
            "Exists" | "DoesNotExist" if n > 0 => out.push(
                c.err_key(
                    codes::KUBE_SELECTOR,
                    &format!("{ptr}/values"),
                    format!("operator `{}` takes no values", e.operator),
                )
                .label("remove `values`")
                .note("Exists and DoesNotExist test only whether the label is there"),
            ),
            _ => {}
        }
        for (vi, v) in e.values.as_deref().unwrap_or(&[]).iter().enumerate() {
            if let Some(why) = label_value_problem(v) {
                out.push(
                    c.err(
                        codes::KUBE_SELECTOR,
                        &format!("{ptr}/values/{vi}"),
                        format!("`{v}` is not a valid label value: {why}"),
                    )
                    .label("not a valid label value"),
                );
            }
        }
    }
}

/// `ValidateNetworkPolicyPeer` and `ValidateIPBlock`.
fn peer<T>(c: &Ctx<T>, base: &str, p: &KubePeer, out: &mut Vec<Diagnostic>) {
    if let Some(s) = &p.pod_selector {
        label_selector(c, &format!("{base}/podSelector"), s, out);
    }
    if let Some(s) = &p.namespace_selector {
        label_selector(c, &format!("{base}/namespaceSelector"), s, out);
    }
    let selectors = p.pod_selector.is_some() || p.namespace_selector.is_some();
    match &p.ip_block {
        None if !selectors => out.push(
            c.err(codes::KUBE_PEER, base, "a peer must set podSelector, namespaceSelector or ipBlock")
                .label("empty peer")
                .note("to allow every peer, leave `from`/`to` out or empty; `podSelector: {}` means every pod of the policy's namespace"),
        ),
        None => {}
        Some(b) => {
            if selectors {
                out.push(
                    c.err_key(codes::KUBE_PEER, &format!("{base}/ipBlock"), "`ipBlock` cannot be combined with podSelector or namespaceSelector in one peer")
                        .label("ipBlock with a selector")
                        .note("make them two peers (entries of `from`/`to`): peers are ORed"),
                );
            }
            ip_block(c, &format!("{base}/ipBlock"), b, out);
        }
    }
}

fn ip_block<T>(c: &Ctx<T>, base: &str, b: &IpBlock, out: &mut Vec<Diagnostic>) {
    let cidr = match parse_kube_cidr(&b.cidr) {
        Ok(n) => n,
        Err(why) => {
            out.push(
                c.err(
                    codes::KUBE_IP_BLOCK,
                    &format!("{base}/cidr"),
                    format!("ipBlock cidr `{}` is not a CIDR: {why}", b.cidr),
                )
                .label("expected a CIDR")
                .note("e.g. `10.0.0.0/16` or `2001:db8::/48`"),
            );
            return;
        }
    };
    for (i, e) in b.except.iter().enumerate() {
        let ptr = format!("{base}/except/{i}");
        let why = match parse_kube_cidr(e) {
            Err(why) => Some(format!("it is not a CIDR: {why}")),
            Ok(n) if std::mem::discriminant(&n) != std::mem::discriminant(&cidr) => {
                Some(format!("it is not of the family of `{}`", b.cidr))
            }
            Ok(n) if n.prefix_len() <= cidr.prefix_len() => Some(format!(
                "it is not strictly smaller than `{}` (/{} ≤ /{})",
                b.cidr,
                n.prefix_len(),
                cidr.prefix_len()
            )),
            Ok(n) if !cidr.trunc().contains(&n.trunc()) => {
                Some(format!("it is outside `{}`", b.cidr))
            }
            Ok(_) => None,
        };
        if let Some(why) = why {
            out.push(
                c.err(
                    codes::KUBE_IP_BLOCK,
                    &ptr,
                    format!("ipBlock except entry `{e}` is invalid: {why}"),
                )
                .label("must be strictly inside cidr")
                .note("each `except` entry is a CIDR of the same family strictly inside `cidr`, as the API server requires"),
            );
        }
    }
}

/// A CIDR as the API server reads it (`netutils.ParseCIDRSloppy`): address,
/// `/`, prefix length; host bits allowed.
fn parse_kube_cidr(s: &str) -> Result<IpNet, String> {
    let Some((addr, len)) = s.split_once('/') else {
        return Err("no prefix length".into());
    };
    let a: IpAddr = addr
        .parse()
        .map_err(|_| format!("`{addr}` is not an IP address"))?;
    let len: u8 = len
        .parse()
        .map_err(|_| format!("`{len}` is not a prefix length"))?;
    IpNet::new(a, len).map_err(|_| format!("/{len} is too long for the address family"))
}

/// `ValidateNetworkPolicyPort`.
fn port<T>(c: &Ctx<T>, base: &str, p: &KubePort, out: &mut Vec<Diagnostic>) {
    let numeric = match &p.port {
        None => None,
        Some(NumOrStr::Num(n)) => Some(*n),
        Some(NumOrStr::Str(s)) => {
            if !is_iana_svc_name(s) {
                out.push(
                    c.err(codes::BAD_PORT, &format!("{base}/port"), format!("`{s}` is not a valid named port"))
                        .label("expected a port number or an IANA service name")
                        .note("a named port is 1..15 of `a-z0-9-` with at least one letter, no leading, trailing or double `-` (e.g. `http`); write numbers unquoted"),
                );
            }
            None
        }
    };
    let Some(end) = p.end_port else { return };
    let ptr = format!("{base}/endPort");
    match (&p.port, numeric) {
        (None, _) => out.push(
            c.err_key(
                codes::KUBE_END_PORT,
                &ptr,
                "`endPort` needs a numeric `port`",
            )
            .label("no `port` to start the range")
            .note("endPort makes the range port..endPort; set `port` to its first port"),
        ),
        (Some(_), None) => out.push(
            c.err_key(
                codes::KUBE_END_PORT,
                &ptr,
                "`endPort` cannot be used with a named port",
            )
            .label("the range needs a numeric `port`")
            .note(
                "endPort makes the range port..endPort; a named port has no number to start from",
            ),
        ),
        (Some(_), Some(start)) if end < start => out.push(
            c.err(
                codes::KUBE_END_PORT,
                &ptr,
                format!("`endPort` {end} is below `port` {start}"),
            )
            .label(format!("must be at least {start}"))
            .note("endPort makes the range port..endPort: it must be at least port"),
        ),
        _ => {}
    }
}

// ------------------------------------------------------------------ pods

/// Whether a Calico WorkloadEndpoint of the input already describes the pod
/// (then it wins, with note I0910, and the pod is not converted).
pub(super) fn shadowed_pod(m: &Model, p: &Resource<PodObject>, out: &mut Vec<Diagnostic>) -> bool {
    let ns = p.meta.namespace.as_deref().unwrap_or("default");
    let node = p.spec.spec.node_name.as_deref().unwrap_or("");
    let derived = k8s::endpoint_name(node, &p.meta.name);
    let Some(w) = m.workload_endpoints.iter().find(|w| {
        w.meta.namespace.as_deref().unwrap_or("default") == ns
            && (w.spec.pod.as_deref() == Some(p.meta.name.as_str()) || w.meta.name == derived)
    }) else {
        return false;
    };
    out.push(
        Diagnostic::info(
            codes::KUBE_POD_SHADOWED,
            format!(
                "the Calico WorkloadEndpoint `{}` describes this pod and is used instead",
                w.meta.name
            ),
        )
        .at(p.origin.value_span("/metadata/name"))
        .label("this pod is not converted")
        .related(
            w.origin.value_span("/metadata/name"),
            "the WorkloadEndpoint used instead",
        )
        .resource(format!("{} {}", Kind::Pod.as_str(), p.meta.name))
        .note("the same endpoint twice would be compiled twice; netc keeps the Calico resource"),
    );
    true
}

fn pod(m: &Model, c: &Ctx<PodObject>, out: &mut Vec<Diagnostic>) {
    let p = &c.r.spec;
    // IPs that do not parse (Calico fails the conversion).
    for (i, ip) in p.status.pod_ips.iter().enumerate() {
        if !ip.ip.is_empty() && ip.ip.parse::<IpAddr>().is_err() {
            out.push(
                c.err(
                    codes::BAD_POD_IP,
                    &format!("/status/podIPs/{i}/ip"),
                    format!("pod IP `{}` is not an IP address", ip.ip),
                )
                .label("not an IP address")
                .note("status.podIPs lists the pod's bare IPv4 and IPv6 addresses"),
            );
        }
    }
    if let Some(ip) = p.status.pod_ip.as_deref().filter(|s| !s.is_empty()) {
        if ip.parse::<IpAddr>().is_err() {
            out.push(
                c.err(
                    codes::BAD_POD_IP,
                    "/status/podIP",
                    format!("pod IP `{ip}` is not an IP address"),
                )
                .label("not an IP address"),
            );
        }
    }
    // Container port names are what named ports refer to.
    for (key, list) in [
        ("containers", &p.spec.containers),
        ("initContainers", &p.spec.init_containers),
    ] {
        for (ci, cont) in list.iter().enumerate() {
            for (pi, cp) in cont.ports.iter().enumerate() {
                if let Some(name) = cp.name.as_deref() {
                    if !is_iana_svc_name(name) {
                        out.push(
                            c.err(
                                codes::BAD_PORT,
                                &format!("/spec/{key}/{ci}/ports/{pi}/name"),
                                format!("`{name}` is not a valid port name"),
                            )
                            .label("expected an IANA service name")
                            .note("port names are 1..15 of `a-z0-9-` with at least one letter, no leading, trailing or double `-` (e.g. `http`)"),
                        );
                    }
                }
            }
        }
    }
    if k8s::pod_counts(c.r).is_err() {
        return;
    }
    let node = p.spec.node_name.as_deref().unwrap_or("");
    let known = m.node(node).is_some() || m.kube_nodes.iter().any(|n| n.meta.name == node);
    if !known {
        let mut d = c
            .warn(
                codes::POD_UNKNOWN_NODE,
                "/spec/nodeName",
                format!("pod runs on `{node}`, which is not a Node of the input"),
            )
            .label("unknown node");
        let names: Vec<&str> = m
            .nodes
            .iter()
            .map(|n| n.meta.name.as_str())
            .chain(m.kube_nodes.iter().map(|n| n.meta.name.as_str()))
            .collect();
        if let Some(s) = crate::load::did_you_mean(node, names.iter().copied()) {
            d = d.label(format!("unknown node; did you mean `{s}`?"));
        }
        out.push(d.note(
            "its address still feeds policy selectors, but no node gets its interface, route or chains",
        ));
    }
    let pools: Vec<IpNet> = m
        .ip_pools
        .iter()
        .filter_map(|p| super::util::parse_net_loose(&p.spec.cidr).ok())
        .collect();
    for (a, ptr) in k8s::pod_ips(c.r) {
        if !pools.iter().any(|n| n.contains(&a)) {
            out.push(
                c.warn(
                    codes::POD_IP_OUTSIDE_POOLS,
                    &ptr,
                    format!("pod IP {a} is in no IPPool of the input"),
                )
                .label("in no IPPool")
                .note("Calico assigns pod IPs from its IPPools; add the pool to the input or check the address"),
            );
        }
    }
}
