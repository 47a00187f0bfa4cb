//! Kubernetes objects → the Calico kinds lowering reads, as Calico's
//! Kubernetes datastore converts them (docs/k8s.md):
//!
//! - a Pod → a WorkloadEndpoint ([`pod_endpoint`], docs/k8s.md §2);
//! - a Namespace → the labels its `namespaceSelector`s match
//!   ([`namespace_labels`], §3);
//! - a NetworkPolicy → the Calico NetworkPolicy `knp.default.<name>`
//!   ([`network_policy`], §4);
//! - a Node with Calico's `projectcalico.org/*` annotations → a Calico Node
//!   ([`node`], §5).
//!
//! Conversion runs inside [`crate::validate::validate`] after the Kubernetes
//! rules have been checked, so it only meets validated objects; it still
//! never panics (what it cannot read, it skips). Each converted resource
//! keeps a derived [`crate::load::Origin`] whose pointers lead back to the Kubernetes
//! fields they came from, so a later diagnostic about, say, a Node's BGP
//! address points at the annotation.

use crate::model::*;
use std::collections::BTreeMap;
use std::net::IpAddr;

/// Label Calico adds to every workload endpoint: its namespace.
pub const LABEL_NAMESPACE: &str = "projectcalico.org/namespace";
/// Label Calico adds to every workload endpoint: `k8s` for pods.
pub const LABEL_ORCHESTRATOR: &str = "projectcalico.org/orchestrator";
/// Label Calico adds to a workload endpoint with a service account.
pub const LABEL_SERVICE_ACCOUNT: &str = "projectcalico.org/serviceaccount";
/// Label the API server puts on every Namespace (netc synthesizes it).
pub const LABEL_NAMESPACE_NAME: &str = "kubernetes.io/metadata.name";
/// Label Calico's namespace profile carries: the namespace's name.
pub const LABEL_CALICO_NAME: &str = "projectcalico.org/name";
/// Prefix of namespace labels as endpoints inherit them (`pcns.<key>`).
pub const NAMESPACE_LABEL_PREFIX: &str = "pcns.";
/// Prefix of service-account labels as endpoints inherit them.
pub const SERVICE_ACCOUNT_LABEL_PREFIX: &str = "pcsa.";
/// Prefix of the Calico policy a Kubernetes NetworkPolicy becomes.
pub const POLICY_PREFIX: &str = "knp.default.";
/// Order of every converted Kubernetes NetworkPolicy.
pub const POLICY_ORDER: f64 = 1000.0;
/// Host-side interface name prefix (Felix's `InterfacePrefix` default).
pub const INTERFACE_PREFIX: &str = "cali";

/// The Calico node annotations of Calico's Kubernetes datastore
/// (docs/k8s.md §5): annotation → the Calico Node field it stands for.
pub mod annotations {
    pub const IPV4_ADDRESS: &str = "projectcalico.org/IPv4Address";
    pub const IPV6_ADDRESS: &str = "projectcalico.org/IPv6Address";
    pub const AS_NUMBER: &str = "projectcalico.org/ASNumber";
    pub const IPIP_TUNNEL_ADDR: &str = "projectcalico.org/IPv4IPIPTunnelAddr";
    pub const VXLAN_TUNNEL_ADDR: &str = "projectcalico.org/IPv4VXLANTunnelAddr";
    pub const VXLAN_TUNNEL_MAC: &str = "projectcalico.org/VXLANTunnelMACAddr";
    pub const VXLAN_TUNNEL_ADDR_V6: &str = "projectcalico.org/IPv6VXLANTunnelAddr";
    pub const VXLAN_TUNNEL_MAC_V6: &str = "projectcalico.org/VXLANTunnelMACAddrV6";
    pub const RR_CLUSTER_ID: &str = "projectcalico.org/RouteReflectorClusterID";
    /// Pod annotations Calico's CNI plugin writes (IP fallbacks).
    pub const CNI_POD_IP: &str = "cni.projectcalico.org/podIP";
    pub const CNI_POD_IPS: &str = "cni.projectcalico.org/podIPs";
    pub const AWS_POD_IPS: &str = "vpc.amazonaws.com/pod-ips";
}

// ------------------------------------------------------------------ namespaces

/// The labels of namespace `ns` as a `namespaceSelector` sees them: the
/// Namespace's own labels plus `kubernetes.io/metadata.name=<ns>` (the API
/// server adds it; a hand-written Namespace lacks it) and Calico's
/// `projectcalico.org/name=<ns>`. A namespace with no Namespace object has
/// only the two synthesized labels.
pub fn namespace_labels(m: &Model, ns: &str) -> BTreeMap<String, String> {
    let mut labels = m
        .namespaces
        .iter()
        .find(|n| n.meta.name == ns)
        .map(|n| n.meta.labels.clone())
        .unwrap_or_default();
    labels
        .entry(LABEL_NAMESPACE_NAME.to_string())
        .or_insert_with(|| ns.to_string());
    labels.insert(LABEL_CALICO_NAME.to_string(), ns.to_string());
    labels
}

/// Every namespace's labels: Namespaces of the input and every namespace a
/// namespaced resource names.
pub fn all_namespace_labels(m: &Model) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut names: Vec<&str> = m.namespaces.iter().map(|n| n.meta.name.as_str()).collect();
    fn ns_of(meta: &Metadata) -> &str {
        meta.namespace.as_deref().unwrap_or("default")
    }
    names.extend(m.workload_endpoints.iter().map(|r| ns_of(&r.meta)));
    names.extend(m.network_sets.iter().map(|r| ns_of(&r.meta)));
    names.extend(m.pods.iter().map(|r| ns_of(&r.meta)));
    names
        .into_iter()
        .map(|n| (n.to_string(), namespace_labels(m, n)))
        .collect()
}

// ------------------------------------------------------------------ pods

/// Felix's host-side interface name for a pod: `cali` and the first 11 hex
/// digits of SHA-1(`<namespace>.<pod>`) (docs/k8s.md §2).
pub fn interface_name(namespace: &str, pod: &str) -> String {
    let digest = sha1(format!("{namespace}.{pod}").as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("{INTERFACE_PREFIX}{}", &hex[..11])
}

/// Calico's workload endpoint name `<node>-k8s-<pod>-eth0`, `-` doubled
/// inside each part.
pub fn endpoint_name(node: &str, pod: &str) -> String {
    let esc = |s: &str| s.replace('-', "--");
    format!("{}-k8s-{}-eth0", esc(node), esc(pod))
}

/// Why a pod has no workload endpoint, if it has none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Skip {
    /// `spec.nodeName` empty: not scheduled.
    NotScheduled,
    /// `spec.hostNetwork: true`: uses the node's addresses.
    HostNetwork,
    /// Phase Succeeded/Failed/Completed, or being deleted with its CNI IP
    /// annotation emptied: Calico clears its IPs.
    Finished,
    /// No IP yet: the endpoint never reaches the dataplane.
    NoIp,
}

impl Skip {
    pub fn reason(self) -> &'static str {
        match self {
            Skip::NotScheduled => "it is not scheduled (no spec.nodeName)",
            Skip::HostNetwork => "it uses the host network",
            Skip::Finished => "it has finished",
            Skip::NoIp => "it has no IP yet",
        }
    }
}

/// The pod's addresses as Calico reads them, each with the pointer it came
/// from: `status.podIPs`, else `status.podIP`, else the CNI annotations.
/// Unparsable entries are left out (validation reports them).
pub fn pod_ips(r: &Resource<PodObject>) -> Vec<(IpAddr, String)> {
    let st = &r.spec.status;
    let mut out: Vec<(IpAddr, String)> = st
        .pod_ips
        .iter()
        .enumerate()
        .filter(|(_, p)| !p.ip.is_empty())
        .filter_map(|(i, p)| Some((p.ip.parse().ok()?, format!("/status/podIPs/{i}/ip"))))
        .collect();
    if !out.is_empty() || st.pod_ips.iter().any(|p| !p.ip.is_empty()) {
        return out;
    }
    if let Some(ip) = st.pod_ip.as_deref().filter(|s| !s.is_empty()) {
        out.extend(ip.parse().ok().map(|a| (a, "/status/podIP".to_string())));
        return out;
    }
    let ann = &r.meta.annotations;
    for key in [
        annotations::CNI_POD_IPS,
        annotations::CNI_POD_IP,
        annotations::AWS_POD_IPS,
    ] {
        if let Some(v) = ann.get(key).filter(|v| !v.is_empty()) {
            let ptr = format!(
                "/metadata/annotations/{}",
                crate::load::document::escape_segment(key)
            );
            for part in v.split(',') {
                let part = part.trim();
                let addr = part.split('/').next().unwrap_or("");
                if let Ok(a) = addr.parse() {
                    out.push((a, ptr.clone()));
                }
            }
            return out;
        }
    }
    out
}

/// Whether the pod gets a workload endpoint; `Err` says why not.
pub fn pod_counts(r: &Resource<PodObject>) -> Result<(), Skip> {
    let p = &r.spec;
    if p.spec.node_name.as_deref().unwrap_or("").is_empty() {
        return Err(Skip::NotScheduled);
    }
    if p.spec.host_network == Some(true) {
        return Err(Skip::HostNetwork);
    }
    let phase = p.status.phase.as_deref().unwrap_or("");
    if matches!(phase, "Succeeded" | "Failed" | "Completed") {
        return Err(Skip::Finished);
    }
    if p.metadata.deletion_timestamp.is_some() {
        let ann = &r.meta.annotations;
        let emptied = [annotations::CNI_POD_IP, annotations::AWS_POD_IPS]
            .iter()
            .any(|k| ann.get(*k).is_some_and(|v| v.is_empty()));
        if emptied {
            return Err(Skip::Finished);
        }
    }
    if pod_ips(r).is_empty() {
        return Err(Skip::NoIp);
    }
    Ok(())
}

/// The pod's workload endpoint (`None` for a pod Calico gives none).
pub fn pod_endpoint(r: &Resource<PodObject>) -> Option<Resource<WorkloadEndpointSpec>> {
    pod_counts(r).ok()?;
    let ns = r.meta.namespace.as_deref().unwrap_or("default");
    let p = &r.spec;
    let node = p.spec.node_name.clone().unwrap_or_default();
    let mut pairs: Vec<(String, String)> = vec![
        ("/spec/node".into(), "/spec/nodeName".into()),
        ("/spec/interfaceName".into(), "/metadata/name".into()),
    ];
    let mut ip_networks = Vec::new();
    for (i, (a, ptr)) in pod_ips(r).into_iter().enumerate() {
        let len = if a.is_ipv4() { 32 } else { 128 };
        ip_networks.push(format!("{a}/{len}"));
        pairs.push((format!("/spec/ipNetworks/{i}"), ptr));
    }
    // Named ports: containers, then init containers; Felix sees only ports
    // with a name (docs/k8s.md §2, "Ports").
    let mut ports = Vec::new();
    for (list, key) in [
        (&p.spec.containers, "containers"),
        (&p.spec.init_containers, "initContainers"),
    ] {
        for (ci, c) in list.iter().enumerate() {
            for (pi, cp) in c.ports.iter().enumerate() {
                let Some(name) = cp.name.as_deref().filter(|n| !n.is_empty()) else {
                    continue;
                };
                let Ok(port) = u16::try_from(cp.container_port) else {
                    continue;
                };
                if port == 0 {
                    continue;
                }
                let protocol = match cp.protocol.as_deref().unwrap_or("TCP") {
                    "" | "TCP" => "TCP",
                    "UDP" => "UDP",
                    "SCTP" => "SCTP",
                    _ => continue,
                };
                pairs.push((
                    format!("/spec/ports/{}", ports.len()),
                    format!("/spec/{key}/{ci}/ports/{pi}"),
                ));
                ports.push(EndpointPort {
                    name: name.to_string(),
                    protocol: protocol.to_string(),
                    port,
                    host_port: None,
                    host_ip: None,
                });
            }
        }
    }
    let sa = p
        .spec
        .service_account_name
        .clone()
        .filter(|s| !s.is_empty());
    let mut profiles = vec![format!("kns.{ns}")];
    if let Some(sa) = &sa {
        profiles.push(format!("ksa.{ns}.{sa}"));
    }
    // Felix drops pod labels that would spoof inherited ones.
    let labels: BTreeMap<String, String> = r
        .meta
        .labels
        .iter()
        .filter(|(k, _)| {
            !k.starts_with(NAMESPACE_LABEL_PREFIX) && !k.starts_with(SERVICE_ACCOUNT_LABEL_PREFIX)
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let meta = Metadata {
        name: endpoint_name(&node, &r.meta.name),
        namespace: Some(ns.to_string()),
        labels,
        annotations: BTreeMap::new(),
    };
    Some(Resource {
        meta,
        spec: WorkloadEndpointSpec {
            orchestrator: Some("k8s".into()),
            workload: None,
            node,
            container_id: None,
            pod: Some(r.meta.name.clone()),
            endpoint: Some("eth0".into()),
            service_account_name: sa,
            ip_networks,
            ip_nats: Vec::new(),
            profiles,
            interface_name: interface_name(ns, &r.meta.name),
            mac: None,
            ipv4_gateway: None,
            ipv6_gateway: None,
            allow_spoofed_source_prefixes: Vec::new(),
            ports,
        },
        origin: r.origin.derive(&pairs),
    })
}

// ------------------------------------------------------------------ nodes

/// The Calico Node a Kubernetes Node stands for: its name, labels and
/// annotations, with the `projectcalico.org/*` annotations as the Node's
/// fields.
pub fn node(r: &Resource<KubeNodeSpec>) -> Resource<NodeSpec> {
    use annotations as a;
    let ann = &r.meta.annotations;
    let mut pairs = Vec::new();
    let mut get = |key: &str, dst: &str| -> Option<String> {
        let v = ann.get(key)?.clone();
        pairs.push((
            dst.to_string(),
            format!(
                "/metadata/annotations/{}",
                crate::load::document::escape_segment(key)
            ),
        ));
        Some(v)
    };
    let bgp = NodeBgpSpec {
        as_number: get(a::AS_NUMBER, "/spec/bgp/asNumber").map(|s| match s.parse::<i64>() {
            Ok(n) => NumOrStr::Num(n),
            Err(_) => NumOrStr::Str(s),
        }),
        ipv4_address: get(a::IPV4_ADDRESS, "/spec/bgp/ipv4Address"),
        ipv6_address: get(a::IPV6_ADDRESS, "/spec/bgp/ipv6Address"),
        ipv4_ipip_tunnel_addr: get(a::IPIP_TUNNEL_ADDR, "/spec/bgp/ipv4IPIPTunnelAddr"),
        route_reflector_cluster_id: get(a::RR_CLUSTER_ID, "/spec/bgp/routeReflectorClusterID"),
    };
    let spec = NodeSpec {
        bgp: (bgp != NodeBgpSpec::default()).then_some(bgp),
        ipv4_vxlan_tunnel_addr: get(a::VXLAN_TUNNEL_ADDR, "/spec/ipv4VXLANTunnelAddr"),
        vxlan_tunnel_mac_addr: get(a::VXLAN_TUNNEL_MAC, "/spec/vxlanTunnelMACAddr"),
        ipv6_vxlan_tunnel_addr: get(a::VXLAN_TUNNEL_ADDR_V6, "/spec/ipv6VXLANTunnelAddr"),
        vxlan_tunnel_mac_addr_v6: get(a::VXLAN_TUNNEL_MAC_V6, "/spec/vxlanTunnelMACAddrV6"),
        addresses: Vec::new(),
        wireguard: None,
        orch_refs: None,
    };
    // netc's own node annotations (netc.dev/*) keep their meaning; the
    // projectcalico.org/* ones became fields above.
    let annotations = ann
        .iter()
        .filter(|(k, _)| k.starts_with("netc.dev/"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (k, _) in ann.iter().filter(|(k, _)| k.starts_with("netc.dev/")) {
        let ptr = format!(
            "/metadata/annotations/{}",
            crate::load::document::escape_segment(k)
        );
        pairs.push((ptr.clone(), ptr));
    }
    Resource {
        meta: Metadata {
            name: r.meta.name.clone(),
            namespace: None,
            labels: r.meta.labels.clone(),
            annotations,
        },
        spec,
        origin: r.origin.derive(&pairs),
    }
}

// ------------------------------------------------------------------ policies

/// The Calico selector of a Kubernetes label selector, as Calico writes it
/// (`k8sSelectorToCalico`): for a pod selector the first term is
/// `projectcalico.org/orchestrator == 'k8s'`; then `matchLabels` by key;
/// then `matchExpressions` in order; ` && ` between. A namespace selector
/// with no terms is `all()`. Unknown operators are dropped, as in Calico
/// (validation rejects them first).
pub fn render_selector(s: &LabelSelector, pod: bool) -> String {
    let mut terms: Vec<String> = Vec::new();
    if pod {
        terms.push(format!("{LABEL_ORCHESTRATOR} == 'k8s'"));
    }
    for (k, v) in &s.match_labels {
        terms.push(format!("{k} == '{v}'"));
    }
    for e in &s.match_expressions {
        let values = || {
            e.values
                .as_deref()
                .unwrap_or(&[])
                .iter()
                .map(|v| format!("'{v}'"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        match e.operator.as_str() {
            "In" => terms.push(format!("{} in {{ {} }}", e.key, values())),
            "NotIn" => terms.push(format!("{} not in {{ {} }}", e.key, values())),
            "Exists" => terms.push(format!("has({})", e.key)),
            "DoesNotExist" => terms.push(format!("! has({})", e.key)),
            _ => {}
        }
    }
    if terms.is_empty() {
        return "all()".into();
    }
    terms.join(" && ")
}

/// The policy types after the API server's defaulting: as listed (Ingress
/// first), else Ingress, plus Egress when there are egress rules.
pub fn policy_types(s: &KubeNetworkPolicySpec) -> Vec<PolicyType> {
    let listed = s.policy_types.as_deref().unwrap_or(&[]);
    if listed.is_empty() {
        let mut t = vec![PolicyType::Ingress];
        if s.egress.as_ref().is_some_and(|e| !e.is_empty()) {
            t.push(PolicyType::Egress);
        }
        return t;
    }
    let mut t = Vec::new();
    for (name, ty) in [
        ("Ingress", PolicyType::Ingress),
        ("Egress", PolicyType::Egress),
    ] {
        if listed.iter().any(|l| l == name) {
            t.push(ty);
        }
    }
    t
}

/// The Calico NetworkPolicy a Kubernetes NetworkPolicy becomes.
pub fn network_policy(r: &Resource<KubeNetworkPolicySpec>) -> Resource<PolicySpec> {
    let s = &r.spec;
    let mut pairs: Vec<(String, String)> = vec![
        ("/spec/selector".into(), "/spec/podSelector".into()),
        ("/spec/types".into(), "/spec/policyTypes".into()),
    ];
    let mut lower = |rules: &Option<Vec<KubeRule>>, dir: &str, ingress: bool| -> Vec<Rule> {
        let mut out = Vec::new();
        for (ri, kr) in rules.as_deref().unwrap_or(&[]).iter().enumerate() {
            for rule in kube_rule(kr, ingress) {
                pairs.push((
                    format!("/spec/{dir}/{}", out.len()),
                    format!("/spec/{dir}/{ri}"),
                ));
                out.push(rule);
            }
        }
        out
    };
    let ingress = lower(&s.ingress, "ingress", true);
    let egress = lower(&s.egress, "egress", false);
    let spec = PolicySpec {
        tier: Some("default".into()),
        order: Some(POLICY_ORDER),
        selector: Some(render_selector(
            s.pod_selector.as_ref().unwrap_or(&LabelSelector::default()),
            true,
        )),
        types: policy_types(s),
        ingress,
        egress,
        ..PolicySpec::default()
    };
    Resource {
        meta: Metadata {
            name: format!("{POLICY_PREFIX}{}", r.meta.name),
            namespace: Some(r.meta.namespace.clone().unwrap_or_else(|| "default".into())),
            labels: BTreeMap::new(),
            annotations: BTreeMap::new(),
        },
        spec,
        origin: r.origin.derive(&pairs),
    }
}

/// One Kubernetes rule → Calico rules: one per (protocol × peer), protocols
/// outer in string order, peers inner in input order (`k8sRuleToCalico`).
fn kube_rule(kr: &KubeRule, ingress: bool) -> Vec<Rule> {
    // Ports per protocol; `None` = every port of the protocol.
    let mut by_proto: BTreeMap<String, Option<Vec<NumOrStr>>> = BTreeMap::new();
    for p in kr.ports.as_deref().unwrap_or(&[]) {
        let proto = p.protocol.clone().unwrap_or_else(|| "TCP".into());
        let entry = by_proto.entry(proto).or_insert_with(|| Some(Vec::new()));
        match (&p.port, entry.as_mut()) {
            (None, _) => *entry = None,
            (Some(_), None) => {}
            (Some(port), Some(list)) => list.push(match (port, p.end_port) {
                (NumOrStr::Num(n), Some(e)) if e != *n => NumOrStr::Str(format!("{n}:{e}")),
                (port, _) => port.clone(),
            }),
        }
    }
    let protos: Vec<(Option<String>, Vec<NumOrStr>)> = if by_proto.is_empty() {
        vec![(None, Vec::new())]
    } else {
        by_proto
            .into_iter()
            .map(|(p, ports)| (Some(p), simplify_ports(ports.unwrap_or_default())))
            .collect()
    };
    let peers: Vec<Option<&KubePeer>> = match kr.peers() {
        Some(p) if !p.is_empty() => p.iter().map(Some).collect(),
        _ => vec![None],
    };
    let mut out = Vec::new();
    for (proto, ports) in &protos {
        for peer in &peers {
            let mut peer_side = EntityRule::default();
            if let Some(peer) = peer {
                if let Some(b) = &peer.ip_block {
                    peer_side.nets = vec![b.cidr.clone()];
                    peer_side.not_nets = b.except.clone();
                } else {
                    let pod_sel = peer.pod_selector.clone().unwrap_or_default();
                    peer_side.selector = Some(render_selector(&pod_sel, true));
                    peer_side.namespace_selector = peer
                        .namespace_selector
                        .as_ref()
                        .map(|n| render_selector(n, false));
                }
            }
            let mut rule = Rule {
                action: Action::Allow,
                ip_version: None,
                protocol: proto.clone().map(NumOrStr::Str),
                not_protocol: None,
                icmp: None,
                not_icmp: None,
                source: EntityRule::default(),
                destination: EntityRule::default(),
                http: None,
                metadata: None,
            };
            if ingress {
                rule.source = peer_side;
                rule.destination.ports = ports.clone();
            } else {
                rule.destination = peer_side;
                rule.destination.ports = ports.clone();
            }
            out.push(rule);
        }
    }
    out
}

/// Calico's `SimplifyPorts`: named ports first (sorted, deduplicated), then
/// numeric ports and ranges merged into ascending, non-overlapping ranges.
pub fn simplify_ports(ports: Vec<NumOrStr>) -> Vec<NumOrStr> {
    let mut named: Vec<String> = Vec::new();
    let mut ranges: Vec<(i64, i64)> = Vec::new();
    for p in ports {
        match p {
            NumOrStr::Num(n) => ranges.push((n, n)),
            NumOrStr::Str(s) => match s.split_once(':') {
                Some((lo, hi)) => match (lo.parse(), hi.parse()) {
                    (Ok(lo), Ok(hi)) => ranges.push((lo, hi)),
                    _ => named.push(s),
                },
                None => match s.parse() {
                    Ok(n) => ranges.push((n, n)),
                    Err(_) => named.push(s),
                },
            },
        }
    }
    named.sort();
    named.dedup();
    ranges.sort();
    let mut merged: Vec<(i64, i64)> = Vec::new();
    for (lo, hi) in ranges {
        match merged.last_mut() {
            Some(last) if lo <= last.1 + 1 => last.1 = last.1.max(hi),
            _ => merged.push((lo, hi)),
        }
    }
    let mut out: Vec<NumOrStr> = named.into_iter().map(NumOrStr::Str).collect();
    out.extend(merged.into_iter().map(|(lo, hi)| {
        if lo == hi {
            NumOrStr::Num(lo)
        } else {
            NumOrStr::Str(format!("{lo}:{hi}"))
        }
    }));
    out
}

// ------------------------------------------------------------------ SHA-1

/// SHA-1 (FIPS 180-4), for Felix's interface names only: not for security.
fn sha1(data: &[u8]) -> [u8; 20] {
    let mut h: [u32; 5] = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0];
    let mut msg = data.to_vec();
    let bit_len = (data.len() as u64).wrapping_mul(8);
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bit_len.to_be_bytes());
    for chunk in msg.chunks_exact(64) {
        let mut w = [0u32; 80];
        for (i, word) in chunk.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (i, wi) in w.iter().enumerate() {
            let (f, k) = match i {
                0..=19 => ((b & c) | (!b & d), 0x5A827999),
                20..=39 => (b ^ c ^ d, 0x6ED9EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1BBCDC),
                _ => (b ^ c ^ d, 0xCA62C1D6),
            };
            let t = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(*wi);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = t;
        }
        for (hv, v) in h.iter_mut().zip([a, b, c, d, e]) {
            *hv = hv.wrapping_add(v);
        }
    }
    let mut out = [0u8; 20];
    for (i, v) in h.iter().enumerate() {
        out[i * 4..i * 4 + 4].copy_from_slice(&v.to_be_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn sha1_known_vectors() {
        // FIPS 180-4 examples.
        assert_eq!(
            hex(&sha1(b"abc")),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(hex(&sha1(b"")), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(
            hex(&sha1(
                b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
            )),
            "84983e441c3bd26e baae4aa1f95129e5e54670f1".replace(' ', "")
        );
    }

    #[test]
    fn interface_name_matches_calico() {
        // Calico's own vector (docs/k8s.md §2): namespace default, pod podA.
        assert_eq!(interface_name("default", "podA"), "cali7f94ce7c295");
        assert_eq!(interface_name("default", "podA").len(), 15);
    }

    #[test]
    fn endpoint_names_double_dashes() {
        assert_eq!(endpoint_name("node-1", "web-0"), "node--1-k8s-web--0-eth0");
    }

    #[test]
    fn selectors_render_as_calico_writes_them() {
        let mut s = LabelSelector::default();
        assert_eq!(
            render_selector(&s, true),
            "projectcalico.org/orchestrator == 'k8s'"
        );
        assert_eq!(render_selector(&s, false), "all()");
        s.match_labels.insert("label2".into(), "value2".into());
        s.match_labels.insert("label".into(), "value".into());
        assert_eq!(
            render_selector(&s, true),
            "projectcalico.org/orchestrator == 'k8s' && label == 'value' && label2 == 'value2'"
        );
        let s = LabelSelector {
            match_labels: BTreeMap::new(),
            match_expressions: vec![
                LabelSelectorRequirement {
                    key: "k".into(),
                    operator: "In".into(),
                    values: Some(vec!["v1".into(), "v2".into()]),
                },
                LabelSelectorRequirement {
                    key: "toast".into(),
                    operator: "DoesNotExist".into(),
                    values: None,
                },
            ],
        };
        let text = render_selector(&s, true);
        assert_eq!(
            text,
            "projectcalico.org/orchestrator == 'k8s' && k in { 'v1', 'v2' } && ! has(toast)"
        );
        // netc's selector parser reads what the converter writes.
        let sel = crate::selector::Selector::parse(&text).unwrap();
        let mut labels = BTreeMap::new();
        labels.insert(LABEL_ORCHESTRATOR.to_string(), "k8s".to_string());
        labels.insert("k".to_string(), "v2".to_string());
        assert!(sel.matches(&labels));
        labels.insert("toast".to_string(), "x".to_string());
        assert!(!sel.matches(&labels));
    }

    #[test]
    fn ports_simplify_as_calico_does() {
        // Calico's SimplifyPorts table: 81:90,4,2,foo,80:81,3,1,9090,http →
        // foo,http,1:4,80:90,9090.
        let input = vec![
            NumOrStr::Str("81:90".into()),
            NumOrStr::Num(4),
            NumOrStr::Num(2),
            NumOrStr::Str("foo".into()),
            NumOrStr::Str("80:81".into()),
            NumOrStr::Num(3),
            NumOrStr::Num(1),
            NumOrStr::Num(9090),
            NumOrStr::Str("http".into()),
        ];
        assert_eq!(
            simplify_ports(input),
            vec![
                NumOrStr::Str("foo".into()),
                NumOrStr::Str("http".into()),
                NumOrStr::Str("1:4".into()),
                NumOrStr::Str("80:90".into()),
                NumOrStr::Num(9090),
            ]
        );
    }

    fn pod(yaml: &str) -> Resource<PodObject> {
        let v: serde_json::Value = serde_yaml::from_str(yaml).unwrap();
        let meta: Metadata = serde_json::from_value(v["metadata"].clone()).unwrap();
        Resource {
            meta,
            spec: serde_json::from_value(v).unwrap(),
            origin: crate::load::Origin {
                file: crate::source::FileId(0),
                base: String::new(),
                spans: Default::default(),
            },
        }
    }

    const RUNNING: &str = "metadata: {name: p, namespace: ns, labels: {app: a, pcns.team: spoof}}\nspec: {nodeName: n1, serviceAccountName: sa}\nstatus: {phase: Running, podIPs: [{ip: 10.0.0.1}, {ip: 'fd00::1'}]}\n";

    #[test]
    fn which_pods_count() {
        assert_eq!(pod_counts(&pod(RUNNING)), Ok(()));
        let no_node = RUNNING.replace("nodeName: n1, ", "");
        assert_eq!(pod_counts(&pod(&no_node)), Err(Skip::NotScheduled));
        let host = RUNNING.replace("nodeName: n1", "nodeName: n1, hostNetwork: true");
        assert_eq!(pod_counts(&pod(&host)), Err(Skip::HostNetwork));
        for phase in ["Succeeded", "Failed", "Completed"] {
            let p = RUNNING.replace("Running", phase);
            assert_eq!(pod_counts(&pod(&p)), Err(Skip::Finished), "{phase}");
        }
        // Unknown keeps its IPs (Calico's phase tests).
        assert_eq!(
            pod_counts(&pod(&RUNNING.replace("Running", "Unknown"))),
            Ok(())
        );
        // Being deleted: finished only once the CNI emptied its IP annotation.
        let deleting = RUNNING.replace(
            "labels:",
            "deletionTimestamp: '2025-01-01T00:00:00Z', labels:",
        );
        assert_eq!(pod_counts(&pod(&deleting)), Ok(()));
        let emptied = deleting.replace(
            "labels:",
            "annotations: {cni.projectcalico.org/podIP: ''}, labels:",
        );
        assert_eq!(pod_counts(&pod(&emptied)), Err(Skip::Finished));
        let no_ip = RUNNING.replace(", podIPs: [{ip: 10.0.0.1}, {ip: 'fd00::1'}]", "");
        assert_eq!(pod_counts(&pod(&no_ip)), Err(Skip::NoIp));
        // The CNI annotation is the last fallback.
        let ann = no_ip.replace(
            "labels:",
            "annotations: {cni.projectcalico.org/podIPs: '10.0.0.7/32,fd00::7/128'}, labels:",
        );
        let w = pod_endpoint(&pod(&ann)).unwrap();
        assert_eq!(w.spec.ip_networks, ["10.0.0.7/32", "fd00::7/128"]);
    }

    #[test]
    fn endpoint_fields() {
        let w = pod_endpoint(&pod(RUNNING)).unwrap();
        assert_eq!(w.meta.name, "n1-k8s-p-eth0");
        assert_eq!(w.meta.namespace.as_deref(), Some("ns"));
        assert_eq!(w.spec.ip_networks, ["10.0.0.1/32", "fd00::1/128"]);
        assert_eq!(w.spec.profiles, ["kns.ns", "ksa.ns.sa"]);
        assert_eq!(w.spec.service_account_name.as_deref(), Some("sa"));
        assert_eq!(w.spec.orchestrator.as_deref(), Some("k8s"));
        // A pod label that would spoof an inherited namespace label is dropped.
        assert_eq!(w.meta.labels.len(), 1);
        assert_eq!(w.meta.labels["app"], "a");
    }

    #[test]
    fn named_ports_from_containers_then_init_containers() {
        let p = RUNNING.replace(
            "serviceAccountName: sa}",
            "containers: [{name: c, ports: [{name: http, containerPort: 80}, {containerPort: 81}, {name: dns, containerPort: 53, protocol: UDP}]}], initContainers: [{name: i, ports: [{name: boot, containerPort: 9000, protocol: SCTP}]}]}",
        );
        let w = pod_endpoint(&pod(&p)).unwrap();
        let got: Vec<(&str, &str, u16)> = w
            .spec
            .ports
            .iter()
            .map(|p| (p.name.as_str(), p.protocol.as_str(), p.port))
            .collect();
        // The unnamed port is not a named port; no protocol means TCP.
        assert_eq!(
            got,
            [
                ("http", "TCP", 80),
                ("dns", "UDP", 53),
                ("boot", "SCTP", 9000)
            ]
        );
    }

    #[test]
    fn policy_types_default_like_the_api_server() {
        let mut s = KubeNetworkPolicySpec::default();
        assert_eq!(policy_types(&s), vec![PolicyType::Ingress]);
        s.egress = Some(vec![KubeRule::default()]);
        assert_eq!(
            policy_types(&s),
            vec![PolicyType::Ingress, PolicyType::Egress]
        );
        s.egress = Some(vec![]);
        assert_eq!(policy_types(&s), vec![PolicyType::Ingress]);
        s.policy_types = Some(vec!["Egress".into(), "Ingress".into()]);
        assert_eq!(
            policy_types(&s),
            vec![PolicyType::Ingress, PolicyType::Egress]
        );
        s.policy_types = Some(vec!["Egress".into()]);
        assert_eq!(policy_types(&s), vec![PolicyType::Egress]);
    }

    #[test]
    fn rules_expand_protocol_times_peer() {
        let peer = |k: &str| KubePeer {
            pod_selector: Some(LabelSelector {
                match_labels: [(k.to_string(), "v".to_string())].into(),
                match_expressions: vec![],
            }),
            ..KubePeer::default()
        };
        let kr = KubeRule {
            from: Some(vec![peer("a"), peer("b")]),
            to: None,
            ports: Some(vec![
                KubePort {
                    protocol: Some("UDP".into()),
                    port: Some(NumOrStr::Num(90)),
                    end_port: None,
                },
                KubePort {
                    protocol: None,
                    port: Some(NumOrStr::Num(80)),
                    end_port: None,
                },
            ]),
        };
        let rules = kube_rule(&kr, true);
        let got: Vec<(String, String)> = rules
            .iter()
            .map(|r| {
                (
                    r.protocol
                        .as_ref()
                        .map(|p| p.to_string())
                        .unwrap_or_default(),
                    r.source.selector.clone().unwrap_or_default(),
                )
            })
            .collect();
        assert_eq!(got.len(), 4);
        assert_eq!(got[0].0, "TCP");
        assert!(got[0].1.ends_with("a == 'v'"));
        assert_eq!(got[1].0, "TCP");
        assert!(got[1].1.ends_with("b == 'v'"));
        assert_eq!(got[2].0, "UDP");
        assert_eq!(rules[2].destination.ports, vec![NumOrStr::Num(90)]);
        // A port entry without `port` absorbs its protocol's other entries.
        let kr = KubeRule {
            ports: Some(vec![
                KubePort {
                    protocol: None,
                    port: Some(NumOrStr::Num(80)),
                    end_port: None,
                },
                KubePort::default(),
            ]),
            ..KubeRule::default()
        };
        let rules = kube_rule(&kr, true);
        assert_eq!(rules.len(), 1);
        assert!(rules[0].destination.ports.is_empty());
        assert_eq!(rules[0].protocol, Some(NumOrStr::Str("TCP".into())));
        // No ports: no protocol at all (ICMP is allowed too).
        let rules = kube_rule(&KubeRule::default(), false);
        assert_eq!(rules.len(), 1);
        assert_eq!(rules[0].protocol, None);
        assert_eq!(rules[0].destination, EntityRule::default());
        // endPort → range.
        let kr = KubeRule {
            ports: Some(vec![KubePort {
                protocol: Some("TCP".into()),
                port: Some(NumOrStr::Num(32000)),
                end_port: Some(32768),
            }]),
            ..KubeRule::default()
        };
        assert_eq!(
            kube_rule(&kr, false)[0].destination.ports,
            vec![NumOrStr::Str("32000:32768".into())]
        );
    }
}
