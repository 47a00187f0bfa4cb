//! No silent gaps: every field the JSON Schemas accept is either compiled
//! (lowering, allocation or the emitters read it) or listed in
//! [`NOT_COMPILED`] with the reason, and an input that sets such a field gets
//! a warning ([`codes::NOT_COMPILED`]) saying so.
//!
//! # Field paths
//!
//! A field is named by its path from the definition that holds it:
//!
//! - `*/<field>` for the resource envelope every kind shares (`*/status`);
//! - `<Kind>/…` for fields reached from a kind's own schema file, e.g.
//!   `IPPool/spec/allowedUses` or `BGPConfiguration/spec/communities/*/name`
//!   (`*` stands for the items of a list);
//! - `<Def>/…` for fields of a definition in `schemas/common.schema.json`,
//!   shared by several kinds, e.g. `Rule/http` or `Metadata/uid`: one entry
//!   covers every place the definition is used, as the definition itself
//!   has one source.
//!
//! An entry in [`NOT_COMPILED`] covers the field's whole subtree (its
//! sub-fields need no entries); [`COMPILED`] entries cover only themselves.
//! compiler/tests/fields.rs walks every property of every schema and fails
//! when a field is in neither table, in both, or under a not-compiled field
//! and listed again; docs/fields.md is generated from the tables by
//! [`markdown`] and kept equal by the same test.

use crate::diag::{codes, Diagnostic};
use crate::load::document::escape_segment;
use crate::load::RawResource;
use crate::model::Kind;
use crate::schema::bundle::common_name;
use crate::schema::{schema_source, COMMON_SCHEMA};
use serde_json::Value;
use std::fmt::Write as _;
use std::sync::OnceLock;

/// How an input that sets a not-compiled field hears about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Report {
    /// Warning [`codes::NOT_COMPILED`] at the field.
    Warn,
    /// Another diagnostic (the code given) already reports every input that
    /// sets the field, so a second one would only repeat it.
    By(&'static str),
    /// No diagnostic: the field has no effect on a node's dataplane in Calico
    /// either (server-populated bookkeeping), so ignoring it loses nothing.
    NoEffect,
}

/// A field lowering (or allocation, or an emitter) reads.
#[derive(Clone, Copy, Debug)]
pub struct Compiled {
    pub path: &'static str,
    /// Where it is read (files under compiler/src).
    pub by: &'static str,
}

/// A field the schemas accept that no artifact reflects.
#[derive(Clone, Copy, Debug)]
pub struct NotCompiled {
    pub path: &'static str,
    /// One line: why, and what netc does instead.
    pub reason: &'static str,
    pub report: Report,
}

const fn c(path: &'static str, by: &'static str) -> Compiled {
    Compiled { path, by }
}

const fn warn(path: &'static str, reason: &'static str) -> NotCompiled {
    NotCompiled {
        path,
        reason,
        report: Report::Warn,
    }
}

const fn no_effect(path: &'static str, reason: &'static str) -> NotCompiled {
    NotCompiled {
        path,
        reason,
        report: Report::NoEffect,
    }
}

const fn by(path: &'static str, code: &'static str, reason: &'static str) -> NotCompiled {
    NotCompiled {
        path,
        reason,
        report: Report::By(code),
    }
}

const IPV6: &str = "IPv6 lowering in progress";
const FELIX: &str =
    "FelixConfiguration is read (failsafe ports and MTUs into the model) but not compiled";
const PROFILE_KIND: &str = "Profile resources are read but not compiled";
const LIVE_BLOCKS: &str =
    "read as the live block allocation (model::live_blocks, checked by E0312), not compiled";
const KCC: &str = "settings of calico-kube-controllers: nothing on a node";
const CLUSTER_INFO: &str = "the datastore's cluster identity: nothing on a node";
const SERVER: &str =
    "server-populated by the datastore (as printed by `calicoctl`/`kubectl get -o yaml`); not desired state";
const FAIL_CLOSED: &str =
    "the enclosing match is compiled fail-closed and reported as W0715; its contents are not read";
const PROFILES: &str =
    "netc reads no Profile resources: profile labels and rules are not applied to the endpoint";

/// Fields that lowering, allocation or the emitters read.
pub const COMPILED: &[Compiled] = &[
    // ---- resource envelope (every kind)
    c("*/apiVersion", "load/mod.rs (both accepted groups read alike)"),
    c("*/kind", "load/mod.rs"),
    c("*/metadata", "model/mod.rs (Metadata)"),
    c("*/spec", "validate/mod.rs (typed per kind)"),
    // ---- Metadata (common)
    c("Metadata/name", "lower/* (BIRD protocol, chain and comment names), alloc.rs (lock keys)"),
    c("Metadata/namespace", "lower/firewall/resolve.rs (scope of namespaced policies, sets and workloads)"),
    c("Metadata/labels", "selectors: alloc.rs, lower/bgp.rs, lower/firewall/resolve.rs"),
    c("Metadata/annotations", "lower/mod.rs, lower/firewall.rs (the netc.dev/* annotations; others have no effect, as in Calico)"),
    // ---- IPPool
    c("IPPool/spec/cidr", "alloc.rs, lower/mod.rs (PoolFacts)"),
    c("IPPool/spec/ipipMode", "lower/mod.rs, lower/tunnels.rs, lower/routes.rs"),
    c("IPPool/spec/vxlanMode", "lower/mod.rs, lower/tunnels.rs, lower/routes.rs"),
    c("IPPool/spec/natOutgoing", "lower/firewall.rs (masquerade)"),
    c("IPPool/spec/disabled", "alloc.rs, lower/bgp.rs, lower/tunnels.rs"),
    c("IPPool/spec/disableBGPExport", "lower/bgp.rs (export filter)"),
    c("IPPool/spec/blockSize", "alloc.rs"),
    c("IPPool/spec/nodeSelector", "alloc.rs"),
    // ---- BGPConfiguration
    c("BGPConfiguration/spec/logSeverityScreen", "lower/bgp.rs (BIRD log level)"),
    c("BGPConfiguration/spec/nodeToNodeMeshEnabled", "lower/mod.rs (BgpGlobals), lower/bgp.rs"),
    c("BGPConfiguration/spec/asNumber", "lower/mod.rs (cluster AS)"),
    c("BGPConfiguration/spec/serviceClusterIPs", "lower/bgp.rs (service advertisement; IPv4 entries)"),
    c("BGPConfiguration/spec/serviceClusterIPs/*/cidr", "lower/bgp.rs"),
    c("BGPConfiguration/spec/serviceExternalIPs", "lower/bgp.rs (service advertisement; IPv4 entries)"),
    c("BGPConfiguration/spec/serviceExternalIPs/*/cidr", "lower/bgp.rs"),
    c("BGPConfiguration/spec/serviceLoadBalancerIPs", "lower/bgp.rs (service advertisement; IPv4 entries)"),
    c("BGPConfiguration/spec/serviceLoadBalancerIPs/*/cidr", "lower/bgp.rs"),
    c("BGPConfiguration/spec/communities", "lower/bgp.rs (communities)"),
    c("BGPConfiguration/spec/communities/*/name", "lower/bgp.rs"),
    c("BGPConfiguration/spec/communities/*/value", "lower/bgp.rs"),
    c("BGPConfiguration/spec/prefixAdvertisements", "lower/bgp.rs (communities)"),
    c("BGPConfiguration/spec/prefixAdvertisements/*/cidr", "lower/bgp.rs"),
    c("BGPConfiguration/spec/prefixAdvertisements/*/communities", "lower/bgp.rs"),
    c("BGPConfiguration/spec/listenPort", "lower/mod.rs, lower/bgp.rs, lower/firewall.rs"),
    c("BGPConfiguration/spec/nodeMeshPassword", "lower/bgp.rs (mesh sessions)"),
    c("BGPConfiguration/spec/nodeMeshMaxRestartTime", "lower/bgp.rs (mesh graceful restart)"),
    c("BGPConfiguration/spec/bindMode", "lower/bgp.rs (listen address)"),
    c("BGPConfiguration/spec/ignoredInterfaces", "lower/bgp.rs"),
    c("BGPConfiguration/spec/programClusterRoutes", "lower/routes.rs"),
    c("BGPConfiguration/spec/ipv4NormalRoutePriority", "lower/bgp.rs (kernel route metric)"),
    c("BGPConfiguration/spec/ipv6NormalRoutePriority", "lower/bgp.rs (IPv6 sessions: kernel route metric)"),
    // ---- BGPPassword, SecretKeyRef (common)
    c("BGPPassword/secretKeyRef", "lower/bgp.rs (with --secrets)"),
    c("SecretKeyRef/name", "lower/bgp.rs (with --secrets)"),
    c("SecretKeyRef/key", "lower/bgp.rs (with --secrets)"),
    // ---- BGPPeer
    c("BGPPeer/spec/node", "lower/bgp.rs"),
    c("BGPPeer/spec/nodeSelector", "lower/bgp.rs"),
    c("BGPPeer/spec/peerIP", "lower/bgp.rs"),
    c("BGPPeer/spec/peerSelector", "lower/bgp.rs"),
    c("BGPPeer/spec/asNumber", "lower/bgp.rs"),
    c("BGPPeer/spec/localASNumber", "lower/bgp.rs"),
    c("BGPPeer/spec/keepOriginalNextHop", "lower/bgp.rs"),
    c("BGPPeer/spec/nextHopMode", "lower/bgp.rs"),
    c("BGPPeer/spec/password", "lower/bgp.rs"),
    c("BGPPeer/spec/sourceAddress", "lower/bgp.rs"),
    c("BGPPeer/spec/maxRestartTime", "lower/bgp.rs"),
    c("BGPPeer/spec/keepaliveTime", "lower/bgp.rs"),
    c("BGPPeer/spec/numAllowedLocalASNumbers", "lower/bgp.rs"),
    c("BGPPeer/spec/ttlSecurity", "lower/bgp.rs"),
    c("BGPPeer/spec/reachableBy", "lower/bgp.rs (static route to the peer)"),
    c("BGPPeer/spec/reversePeering", "lower/bgp.rs"),
    c("BGPPeer/spec/filters", "lower/bgp.rs, lower/bgp_filter.rs (calls in session filters)"),
    // ---- Node
    // ---- BGPFilter (rules → typed functions; calls from the BGPPeers' sessions)
    c("BGPFilter/spec/exportV4", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/exportV4/*/cidr", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/exportV4/*/matchOperator", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/exportV4/*/prefixLength", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/exportV4/*/prefixLength/min", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/exportV4/*/prefixLength/max", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/exportV4/*/source", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/exportV4/*/interface", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/exportV4/*/peerType", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/exportV4/*/communities", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/exportV4/*/communities/values", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/exportV4/*/asPathPrefix", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/exportV4/*/priority", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/exportV4/*/action", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/exportV4/*/operations", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/exportV4/*/operations/*/addCommunity", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/exportV4/*/operations/*/addCommunity/value", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/exportV4/*/operations/*/prependASPath", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/exportV4/*/operations/*/prependASPath/prefix", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/exportV4/*/operations/*/setPriority", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/exportV4/*/operations/*/setPriority/value", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/importV4", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/importV4/*/cidr", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/importV4/*/matchOperator", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/importV4/*/prefixLength", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/importV4/*/prefixLength/min", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/importV4/*/prefixLength/max", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/importV4/*/source", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/importV4/*/interface", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/importV4/*/peerType", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/importV4/*/communities", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/importV4/*/communities/values", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/importV4/*/asPathPrefix", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/importV4/*/priority", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/importV4/*/action", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/importV4/*/operations", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/importV4/*/operations/*/addCommunity", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/importV4/*/operations/*/addCommunity/value", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/importV4/*/operations/*/prependASPath", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/importV4/*/operations/*/prependASPath/prefix", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/importV4/*/operations/*/setPriority", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/importV4/*/operations/*/setPriority/value", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/exportV6", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/exportV6/*/cidr", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/exportV6/*/matchOperator", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/exportV6/*/prefixLength", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/exportV6/*/prefixLength/min", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/exportV6/*/prefixLength/max", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/exportV6/*/source", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/exportV6/*/interface", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/exportV6/*/peerType", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/exportV6/*/communities", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/exportV6/*/communities/values", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/exportV6/*/asPathPrefix", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/exportV6/*/priority", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/exportV6/*/action", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/exportV6/*/operations", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/exportV6/*/operations/*/addCommunity", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/exportV6/*/operations/*/addCommunity/value", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/exportV6/*/operations/*/prependASPath", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/exportV6/*/operations/*/prependASPath/prefix", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/exportV6/*/operations/*/setPriority", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/exportV6/*/operations/*/setPriority/value", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/importV6", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/importV6/*/cidr", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/importV6/*/matchOperator", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/importV6/*/prefixLength", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/importV6/*/prefixLength/min", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/importV6/*/prefixLength/max", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/importV6/*/source", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/importV6/*/interface", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/importV6/*/peerType", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/importV6/*/communities", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/importV6/*/communities/values", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/importV6/*/asPathPrefix", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/importV6/*/priority", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/importV6/*/action", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/importV6/*/operations", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/importV6/*/operations/*/addCommunity", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/importV6/*/operations/*/addCommunity/value", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/importV6/*/operations/*/prependASPath", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/importV6/*/operations/*/prependASPath/prefix", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/importV6/*/operations/*/setPriority", "lower/bgp_filter.rs"),
    c("BGPFilter/spec/importV6/*/operations/*/setPriority/value", "lower/bgp_filter.rs"),
    c("Node/spec/bgp", "lower/mod.rs (NodeFacts)"),
    c("Node/spec/bgp/asNumber", "lower/mod.rs"),
    c("Node/spec/bgp/ipv4Address", "lower/mod.rs"),
    c("Node/spec/bgp/ipv6Address", "lower/bgp.rs (IPv6 BGP sessions)"),
    c("Node/spec/bgp/ipv4IPIPTunnelAddr", "lower/mod.rs"),
    c("Node/spec/bgp/routeReflectorClusterID", "lower/mod.rs"),
    c("Node/spec/ipv4VXLANTunnelAddr", "lower/mod.rs"),
    c("Node/spec/vxlanTunnelMACAddr", "lower/mod.rs"),
    // ---- NetworkPolicy, GlobalNetworkPolicy
    c("NetworkPolicy/spec/tier", "lower/firewall.rs"),
    c("NetworkPolicy/spec/order", "lower/firewall.rs"),
    c("NetworkPolicy/spec/selector", "lower/firewall.rs"),
    c("NetworkPolicy/spec/types", "lower/firewall.rs"),
    c("NetworkPolicy/spec/ingress", "lower/firewall.rs"),
    c("NetworkPolicy/spec/egress", "lower/firewall.rs"),
    c("NetworkPolicy/spec/serviceAccountSelector", "lower/firewall.rs (fail-closed unless all(); W0715)"),
    c("GlobalNetworkPolicy/spec/tier", "lower/firewall.rs"),
    c("GlobalNetworkPolicy/spec/order", "lower/firewall.rs"),
    c("GlobalNetworkPolicy/spec/selector", "lower/firewall.rs"),
    c("GlobalNetworkPolicy/spec/types", "lower/firewall.rs"),
    c("GlobalNetworkPolicy/spec/ingress", "lower/firewall.rs"),
    c("GlobalNetworkPolicy/spec/egress", "lower/firewall.rs"),
    c("GlobalNetworkPolicy/spec/serviceAccountSelector", "lower/firewall.rs (fail-closed unless all(); W0715)"),
    c("GlobalNetworkPolicy/spec/namespaceSelector", "lower/firewall.rs (fail-closed unless all(); W0715)"),
    c("GlobalNetworkPolicy/spec/doNotTrack", "lower/firewall.rs"),
    c("GlobalNetworkPolicy/spec/preDNAT", "lower/firewall.rs"),
    c("GlobalNetworkPolicy/spec/applyOnForward", "lower/firewall.rs"),
    // ---- Rule and its parts (common)
    c("Rule/action", "lower/firewall/rules.rs"),
    c("Rule/ipVersion", "lower/firewall/rules.rs"),
    c("Rule/protocol", "lower/firewall/rules.rs"),
    c("Rule/notProtocol", "lower/firewall/rules.rs"),
    c("Rule/icmp", "lower/firewall/rules.rs"),
    c("Rule/notICMP", "lower/firewall/rules.rs"),
    c("Rule/source", "lower/firewall/rules.rs"),
    c("Rule/destination", "lower/firewall/rules.rs"),
    c("Rule/http", "lower/firewall/rules.rs (the rule fails closed; W0715)"),
    c("Rule/metadata", "lower/firewall/rules.rs (rule comments)"),
    c("RuleMetadata/annotations", "lower/firewall/rules.rs (rule comments)"),
    c("ICMPFields/type", "lower/firewall/rules.rs"),
    c("ICMPFields/code", "lower/firewall/rules.rs"),
    c("EntityRule/nets", "lower/firewall/rules.rs"),
    c("EntityRule/notNets", "lower/firewall/rules.rs"),
    c("EntityRule/selector", "lower/firewall/rules.rs, lower/firewall/resolve.rs"),
    c("EntityRule/notSelector", "lower/firewall/rules.rs, lower/firewall/resolve.rs"),
    c("EntityRule/namespaceSelector", "lower/firewall/rules.rs (all()/global(); others fail closed, W0715)"),
    c("EntityRule/ports", "lower/firewall/rules.rs"),
    c("EntityRule/notPorts", "lower/firewall/rules.rs"),
    c("EntityRule/serviceAccounts", "lower/firewall/rules.rs (the rule fails closed; W0715)"),
    c("EntityRule/services", "lower/firewall/rules.rs (the rule fails closed; W0715)"),
    // ---- GlobalNetworkSet, NetworkSet
    c("GlobalNetworkSet/spec/nets", "lower/firewall/resolve.rs"),
    c("NetworkSet/spec/nets", "lower/firewall/resolve.rs"),
    // ---- HostEndpoint, WorkloadEndpoint
    c("HostEndpoint/spec/node", "lower/firewall/resolve.rs"),
    c("HostEndpoint/spec/interfaceName", "lower/firewall/resolve.rs"),
    c("HostEndpoint/spec/expectedIPs", "lower/firewall/resolve.rs"),
    c("HostEndpoint/spec/ports", "lower/firewall/resolve.rs (named ports)"),
    c("HostEndpoint/spec/ports/*/name", "lower/firewall/resolve.rs (named ports)"),
    c("HostEndpoint/spec/ports/*/protocol", "lower/firewall/resolve.rs (named ports)"),
    c("HostEndpoint/spec/ports/*/port", "lower/firewall/resolve.rs (named ports)"),
    c("WorkloadEndpoint/spec/orchestrator", "lower/firewall/resolve.rs (projectcalico.org/orchestrator label)"),
    c("WorkloadEndpoint/spec/node", "lower/routes.rs, lower/firewall/resolve.rs"),
    c("WorkloadEndpoint/spec/serviceAccountName", "lower/firewall/resolve.rs (service-account label)"),
    c("WorkloadEndpoint/spec/ipNetworks", "lower/routes.rs, lower/firewall/resolve.rs"),
    c("WorkloadEndpoint/spec/interfaceName", "lower/routes.rs, lower/firewall/resolve.rs"),
    c("WorkloadEndpoint/spec/ports", "lower/firewall/resolve.rs (named ports)"),
    c("WorkloadEndpoint/spec/ports/*/name", "lower/firewall/resolve.rs (named ports)"),
    c("WorkloadEndpoint/spec/ports/*/protocol", "lower/firewall/resolve.rs (named ports)"),
    c("WorkloadEndpoint/spec/ports/*/port", "lower/firewall/resolve.rs (named ports)"),    // ---- Kubernetes kinds (docs/k8s.md): converted by k8s.rs into the Calico kinds above
    c("Pod/spec/nodeName", "k8s.rs (pod_endpoint, pod_counts)"),
    c("Pod/spec/hostNetwork", "k8s.rs (pod_endpoint, pod_counts)"),
    c("Pod/spec/serviceAccountName", "k8s.rs (pod_endpoint, pod_counts)"),
    c("Pod/spec/containers", "k8s.rs (pod_endpoint, pod_counts)"),
    c("Pod/spec/containers/*/ports", "k8s.rs (pod_endpoint, pod_counts)"),
    c("Pod/spec/containers/*/ports/*/name", "k8s.rs (pod_endpoint, pod_counts)"),
    c("Pod/spec/containers/*/ports/*/containerPort", "k8s.rs (pod_endpoint, pod_counts)"),
    c("Pod/spec/containers/*/ports/*/protocol", "k8s.rs (pod_endpoint, pod_counts)"),
    c("Pod/spec/initContainers", "k8s.rs (pod_endpoint, pod_counts)"),
    c("Pod/spec/initContainers/*/ports", "k8s.rs (pod_endpoint, pod_counts)"),
    c("Pod/spec/initContainers/*/ports/*/name", "k8s.rs (pod_endpoint, pod_counts)"),
    c("Pod/spec/initContainers/*/ports/*/containerPort", "k8s.rs (pod_endpoint, pod_counts)"),
    c("Pod/spec/initContainers/*/ports/*/protocol", "k8s.rs (pod_endpoint, pod_counts)"),
    c("Pod/status/phase", "k8s.rs (pod_endpoint, pod_counts)"),
    c("Pod/status/podIP", "k8s.rs (pod_endpoint, pod_counts)"),
    c("Pod/status/podIPs", "k8s.rs (pod_endpoint, pod_counts)"),
    c("Pod/status/podIPs/*/ip", "k8s.rs (pod_endpoint, pod_counts)"),
    c("KubernetesNetworkPolicy/spec/podSelector", "k8s.rs (network_policy, render_selector)"),
    c("KubernetesNetworkPolicy/spec/podSelector/matchLabels", "k8s.rs (network_policy, render_selector)"),
    c("KubernetesNetworkPolicy/spec/podSelector/matchExpressions", "k8s.rs (network_policy, render_selector)"),
    c("KubernetesNetworkPolicy/spec/podSelector/matchExpressions/*/key", "k8s.rs (network_policy, render_selector)"),
    c("KubernetesNetworkPolicy/spec/podSelector/matchExpressions/*/operator", "k8s.rs (network_policy, render_selector)"),
    c("KubernetesNetworkPolicy/spec/podSelector/matchExpressions/*/values", "k8s.rs (network_policy, render_selector)"),
    c("KubernetesNetworkPolicy/spec/policyTypes", "k8s.rs (network_policy, render_selector)"),
    c("KubernetesNetworkPolicy/spec/ingress", "k8s.rs (network_policy, render_selector)"),
    c("KubernetesNetworkPolicy/spec/ingress/*/from", "k8s.rs (network_policy, render_selector)"),
    c("KubernetesNetworkPolicy/spec/ingress/*/from/*/podSelector", "k8s.rs (network_policy, render_selector)"),
    c("KubernetesNetworkPolicy/spec/ingress/*/from/*/podSelector/matchLabels", "k8s.rs (network_policy, render_selector)"),
    c("KubernetesNetworkPolicy/spec/ingress/*/from/*/podSelector/matchExpressions", "k8s.rs (network_policy, render_selector)"),
    c("KubernetesNetworkPolicy/spec/ingress/*/from/*/podSelector/matchExpressions/*/key", "k8s.rs (network_policy, render_selector)"),
    c("KubernetesNetworkPolicy/spec/ingress/*/from/*/podSelector/matchExpressions/*/operator", "k8s.rs (network_policy, render_selector)"),
    c("KubernetesNetworkPolicy/spec/ingress/*/from/*/podSelector/matchExpressions/*/values", "k8s.rs (network_policy, render_selector)"),
    c("KubernetesNetworkPolicy/spec/ingress/*/from/*/namespaceSelector", "k8s.rs (network_policy, render_selector)"),
    c("KubernetesNetworkPolicy/spec/ingress/*/from/*/namespaceSelector/matchLabels", "k8s.rs (network_policy, render_selector)"),
    c("KubernetesNetworkPolicy/spec/ingress/*/from/*/namespaceSelector/matchExpressions", "k8s.rs (network_policy, render_selector)"),
    c("KubernetesNetworkPolicy/spec/ingress/*/from/*/namespaceSelector/matchExpressions/*/key", "k8s.rs (network_policy, render_selector)"),
    c("KubernetesNetworkPolicy/spec/ingress/*/from/*/namespaceSelector/matchExpressions/*/operator", "k8s.rs (network_policy, render_selector)"),
    c("KubernetesNetworkPolicy/spec/ingress/*/from/*/namespaceSelector/matchExpressions/*/values", "k8s.rs (network_policy, render_selector)"),
    c("KubernetesNetworkPolicy/spec/ingress/*/from/*/ipBlock", "k8s.rs (network_policy, render_selector)"),
    c("KubernetesNetworkPolicy/spec/ingress/*/from/*/ipBlock/cidr", "k8s.rs (network_policy, render_selector)"),
    c("KubernetesNetworkPolicy/spec/ingress/*/from/*/ipBlock/except", "k8s.rs (network_policy, render_selector)"),
    c("KubernetesNetworkPolicy/spec/ingress/*/ports", "k8s.rs (network_policy, render_selector)"),
    c("KubernetesNetworkPolicy/spec/ingress/*/ports/*/protocol", "k8s.rs (network_policy, render_selector)"),
    c("KubernetesNetworkPolicy/spec/ingress/*/ports/*/port", "k8s.rs (network_policy, render_selector)"),
    c("KubernetesNetworkPolicy/spec/ingress/*/ports/*/endPort", "k8s.rs (network_policy, render_selector)"),
    c("KubernetesNetworkPolicy/spec/egress", "k8s.rs (network_policy, render_selector)"),
    c("KubernetesNetworkPolicy/spec/egress/*/to", "k8s.rs (network_policy, render_selector)"),
    c("KubernetesNetworkPolicy/spec/egress/*/to/*/podSelector", "k8s.rs (network_policy, render_selector)"),
    c("KubernetesNetworkPolicy/spec/egress/*/to/*/podSelector/matchLabels", "k8s.rs (network_policy, render_selector)"),
    c("KubernetesNetworkPolicy/spec/egress/*/to/*/podSelector/matchExpressions", "k8s.rs (network_policy, render_selector)"),
    c("KubernetesNetworkPolicy/spec/egress/*/to/*/podSelector/matchExpressions/*/key", "k8s.rs (network_policy, render_selector)"),
    c("KubernetesNetworkPolicy/spec/egress/*/to/*/podSelector/matchExpressions/*/operator", "k8s.rs (network_policy, render_selector)"),
    c("KubernetesNetworkPolicy/spec/egress/*/to/*/podSelector/matchExpressions/*/values", "k8s.rs (network_policy, render_selector)"),
    c("KubernetesNetworkPolicy/spec/egress/*/to/*/namespaceSelector", "k8s.rs (network_policy, render_selector)"),
    c("KubernetesNetworkPolicy/spec/egress/*/to/*/namespaceSelector/matchLabels", "k8s.rs (network_policy, render_selector)"),
    c("KubernetesNetworkPolicy/spec/egress/*/to/*/namespaceSelector/matchExpressions", "k8s.rs (network_policy, render_selector)"),
    c("KubernetesNetworkPolicy/spec/egress/*/to/*/namespaceSelector/matchExpressions/*/key", "k8s.rs (network_policy, render_selector)"),
    c("KubernetesNetworkPolicy/spec/egress/*/to/*/namespaceSelector/matchExpressions/*/operator", "k8s.rs (network_policy, render_selector)"),
    c("KubernetesNetworkPolicy/spec/egress/*/to/*/namespaceSelector/matchExpressions/*/values", "k8s.rs (network_policy, render_selector)"),
    c("KubernetesNetworkPolicy/spec/egress/*/to/*/ipBlock", "k8s.rs (network_policy, render_selector)"),
    c("KubernetesNetworkPolicy/spec/egress/*/to/*/ipBlock/cidr", "k8s.rs (network_policy, render_selector)"),
    c("KubernetesNetworkPolicy/spec/egress/*/to/*/ipBlock/except", "k8s.rs (network_policy, render_selector)"),
    c("KubernetesNetworkPolicy/spec/egress/*/ports", "k8s.rs (network_policy, render_selector)"),
    c("KubernetesNetworkPolicy/spec/egress/*/ports/*/protocol", "k8s.rs (network_policy, render_selector)"),
    c("KubernetesNetworkPolicy/spec/egress/*/ports/*/port", "k8s.rs (network_policy, render_selector)"),
    c("KubernetesNetworkPolicy/spec/egress/*/ports/*/endPort", "k8s.rs (network_policy, render_selector)"),
];

/// Fields the schemas accept and no artifact reflects.
pub const NOT_COMPILED: &[NotCompiled] = &[
    // ---- resource envelope
    no_effect("*/status", SERVER),
    // ---- Kubernetes kinds
    no_effect("Pod/spec/containers/*/name", "a container's name has no effect on the network"),
    warn("Pod/spec/containers/*/ports/*/hostPort", "netc does not compile hostPort forwarding (Felix's DNAT of the host port); the port still counts as a named port"),
    no_effect("Pod/spec/initContainers/*/name", "a container's name has no effect on the network"),
    warn("Pod/spec/initContainers/*/ports/*/hostPort", "netc does not compile hostPort forwarding (Felix's DNAT of the host port); the port still counts as a named port"),
    // ---- calicoctl export kinds: read but not compiled (I0009, one per kind)
    by("FelixConfiguration/spec/nodeSelector", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/useInternalDataplaneDriver", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/dataplaneDriver", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/dataplaneWatchdogTimeout", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/ipv6Support", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/routeRefreshInterval", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/interfaceRefreshInterval", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/iptablesRefreshInterval", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/iptablesPostWriteCheckInterval", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/iptablesLockProbeInterval", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/featureDetectOverride", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/featureGates", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/ipsetsRefreshInterval", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/maxIpsetSize", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/iptablesBackend", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/xdpRefreshInterval", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/netlinkTimeout", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/metadataAddr", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/metadataPort", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/openstackRegion", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/interfacePrefix", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/interfaceExclude", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/chainInsertMode", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/defaultEndpointToHostAction", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/iptablesFilterAllowAction", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/iptablesMangleAllowAction", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/iptablesFilterDenyAction", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/logPrefix", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/logActionRateLimit", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/logActionRateLimitBurst", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/logFilePath", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/logSeverityFile", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/logSeverityScreen", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/logSeveritySys", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/logDebugFilenameRegex", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/ipipEnabled", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/ipipMTU", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/vxlanEnabled", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/vxlanMTU", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/vxlanMTUV6", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/vxlanPort", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/vxlanVNI", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/allowVXLANPacketsFromWorkloads", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/allowIPIPPacketsFromWorkloads", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/reportingInterval", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/reportingTTL", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/endpointReportingEnabled", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/endpointReportingDelay", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/endpointStatusPathPrefix", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/iptablesMarkMask", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/disableConntrackInvalidCheck", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/healthEnabled", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/healthHost", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/healthPort", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/healthTimeoutOverrides", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/prometheusMetricsEnabled", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/prometheusMetricsHost", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/prometheusMetricsPort", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/prometheusGoMetricsEnabled", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/prometheusProcessMetricsEnabled", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/prometheusWireGuardMetricsEnabled", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/prometheusMetricsCAFile", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/prometheusMetricsCertFile", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/prometheusMetricsKeyFile", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/prometheusMetricsClientAuth", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/failsafeInboundHostPorts", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/failsafeOutboundHostPorts", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/kubeNodePortRanges", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/policySyncPathPrefix", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/usageReportingEnabled", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/usageReportingInitialDelay", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/usageReportingInterval", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/natPortRange", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/natOutgoingAddress", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/natOutgoingExclusions", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/deviceRouteSourceAddress", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/deviceRouteSourceAddressIPv6", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/deviceRouteProtocol", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/removeExternalRoutes", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/programClusterRoutes", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/ipForwarding", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/externalNodesList", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/debugMemoryProfilePath", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/debugDisableLogDropping", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/debugSimulateCalcGraphHangAfter", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/debugSimulateDataplaneHangAfter", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/debugSimulateDataplaneApplyDelay", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/debugHost", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/debugPort", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/iptablesNATOutgoingInterfaceFilter", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/sidecarAccelerationEnabled", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/xdpEnabled", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/genericXDPEnabled", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/nftablesMode", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/nftablesFlowTableOffload", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/nftablesFlowTableDataIfacePattern", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/nftablesRefreshInterval", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/nftablesFilterAllowAction", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/nftablesMangleAllowAction", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/nftablesFilterDenyAction", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/nftablesMarkMask", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/bpfEnabled", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/bpfOverlayHostSourceIP", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/bpfDisableUnprivileged", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/bpfJITHardening", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/bpfLogLevel", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/bpfConntrackLogLevel", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/bpfConntrackMode", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/bpfConntrackTimeouts", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/bpfIPFragTimeout", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/bpfLogFilters", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/bpfCTLBLogFilter", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/bpfDataIfacePattern", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/bpfL3IfacePattern", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/bpfConnectTimeLoadBalancingEnabled", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/bpfConnectTimeLoadBalancing", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/bpfHostNetworkedNATWithoutCTLB", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/bpfExternalServiceMode", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/bpfDSROptoutCIDRs", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/bpfExtToServiceConnmark", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/bpfKubeProxyIptablesCleanupEnabled", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/bpfKubeProxyMinSyncPeriod", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/bpfKubeProxyHealthzPort", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/bpfPSNATPorts", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/bpfMapSizeNATFrontend", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/bpfMapSizeNATBackend", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/bpfMapSizeNATAffinity", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/bpfMapSizeRoute", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/bpfMapSizeConntrack", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/bpfMapSizePerCpuConntrack", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/bpfMapSizeConntrackScaling", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/bpfMapSizeConntrackCleanupQueue", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/bpfMapSizeIPSets", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/bpfMapSizeIfState", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/bpfHostConntrackBypass", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/bpfIPFragmentReassemblyEnabled", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/bpfEnforceRPF", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/bpfPolicyDebugEnabled", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/bpfForceTrackPacketsFromIfaces", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/bpfDisableGROForIfaces", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/bpfExcludeCIDRsFromNAT", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/bpfExportBufferSizeMB", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/istioAmbientMode", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/istioDSCPMark", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/cgroupV2Path", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/flowLogsPolicyEvaluationMode", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/bpfRedirectToPeer", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/bpfAttachType", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/flowLogsFlushInterval", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/flowLogsCollectorDebugTrace", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/flowLogsGoldmaneServer", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/flowLogsLocalReporter", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/bpfProfiling", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/routeSource", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/routeTableRanges", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/routeTableRange", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/routeSyncDisabled", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/ipv4NormalRoutePriority", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/ipv4ElevatedRoutePriority", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/ipv6NormalRoutePriority", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/ipv6ElevatedRoutePriority", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/liveMigrationRouteConvergenceTime", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/wireguardEnabled", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/wireguardEnabledV6", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/wireguardThreadingEnabled", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/wireguardListeningPort", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/wireguardListeningPortV6", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/wireguardRoutingRulePriority", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/wireguardInterfaceName", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/wireguardInterfaceNameV6", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/wireguardMTU", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/wireguardMTUV6", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/wireguardHostEncryptionEnabled", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/wireguardKeepAlive", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/awsSrcDstCheck", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/serviceLoopPrevention", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/workloadSourceSpoofing", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/mtuIfacePattern", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/floatingIPs", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/localSubnetL2Reachability", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/localSubnetL2ReachabilityRefreshInterval", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/windowsManageFirewallRules", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/goGCThreshold", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/goMemoryLimitMB", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/goMaxProcs", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/requireMTUFile", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/bpfMaglevMaxEndpointsPerService", codes::KIND_NOT_COMPILED, FELIX),
    by("FelixConfiguration/spec/bpfMaglevMaxServices", codes::KIND_NOT_COMPILED, FELIX),
    by("Profile/spec/ingress", codes::KIND_NOT_COMPILED, PROFILE_KIND),
    by("Profile/spec/egress", codes::KIND_NOT_COMPILED, PROFILE_KIND),
    by("Profile/spec/labelsToApply", codes::KIND_NOT_COMPILED, PROFILE_KIND),
    by("BlockAffinity/spec/state", codes::KIND_NOT_COMPILED, LIVE_BLOCKS),
    by("BlockAffinity/spec/node", codes::KIND_NOT_COMPILED, LIVE_BLOCKS),
    by("BlockAffinity/spec/type", codes::KIND_NOT_COMPILED, LIVE_BLOCKS),
    by("BlockAffinity/spec/cidr", codes::KIND_NOT_COMPILED, LIVE_BLOCKS),
    by("BlockAffinity/spec/deleted", codes::KIND_NOT_COMPILED, LIVE_BLOCKS),
    by("IPAMBlock/spec/cidr", codes::KIND_NOT_COMPILED, LIVE_BLOCKS),
    by("IPAMBlock/spec/affinity", codes::KIND_NOT_COMPILED, LIVE_BLOCKS),
    by("IPAMBlock/spec/affinityClaimTime", codes::KIND_NOT_COMPILED, LIVE_BLOCKS),
    by("IPAMBlock/spec/allocations", codes::KIND_NOT_COMPILED, LIVE_BLOCKS),
    by("IPAMBlock/spec/unallocated", codes::KIND_NOT_COMPILED, LIVE_BLOCKS),
    by("IPAMBlock/spec/attributes", codes::KIND_NOT_COMPILED, LIVE_BLOCKS),
    by("IPAMBlock/spec/sequenceNumber", codes::KIND_NOT_COMPILED, LIVE_BLOCKS),
    by("IPAMBlock/spec/sequenceNumberForAllocation", codes::KIND_NOT_COMPILED, LIVE_BLOCKS),
    by("IPAMBlock/spec/deleted", codes::KIND_NOT_COMPILED, LIVE_BLOCKS),
    by("IPAMBlock/spec/strictAffinity", codes::KIND_NOT_COMPILED, LIVE_BLOCKS),
    by("KubeControllersConfiguration/spec/logSeverityScreen", codes::KIND_NOT_COMPILED, KCC),
    by("KubeControllersConfiguration/spec/healthChecks", codes::KIND_NOT_COMPILED, KCC),
    by("KubeControllersConfiguration/spec/etcdV3CompactionPeriod", codes::KIND_NOT_COMPILED, KCC),
    by("KubeControllersConfiguration/spec/prometheusMetricsPort", codes::KIND_NOT_COMPILED, KCC),
    by("KubeControllersConfiguration/spec/debugProfilePort", codes::KIND_NOT_COMPILED, KCC),
    by("KubeControllersConfiguration/spec/controllers", codes::KIND_NOT_COMPILED, KCC),
    by("ClusterInformation/spec/clusterGUID", codes::KIND_NOT_COMPILED, CLUSTER_INFO),
    by("ClusterInformation/spec/clusterType", codes::KIND_NOT_COMPILED, CLUSTER_INFO),
    by("ClusterInformation/spec/calicoVersion", codes::KIND_NOT_COMPILED, CLUSTER_INFO),
    by("ClusterInformation/spec/datastoreReady", codes::KIND_NOT_COMPILED, CLUSTER_INFO),
    by("ClusterInformation/spec/variant", codes::KIND_NOT_COMPILED, CLUSTER_INFO),
    by(
        "WorkloadEndpoint/spec/ports/*/hostPort",
        codes::HOST_PORT,
        "Felix's hostPort DNAT is not compiled",
    ),
    warn(
        "WorkloadEndpoint/spec/ports/*/hostIP",
        "the address of a hostPort, whose forwarding netc does not compile (W0805)",
    ),
    // ---- Metadata (common)
    no_effect("Metadata/resourceVersion", SERVER),
    no_effect("Metadata/uid", SERVER),
    no_effect("Metadata/creationTimestamp", SERVER),
    no_effect("Metadata/generation", SERVER),
    no_effect("Metadata/managedFields", SERVER),
    no_effect("Metadata/selfLink", SERVER),
    no_effect("Metadata/deletionTimestamp", SERVER),
    no_effect("Metadata/deletionGracePeriodSeconds", SERVER),
    no_effect("Metadata/finalizers", SERVER),
    no_effect("Metadata/ownerReferences", SERVER),
    no_effect("Metadata/generateName", SERVER),
    // ---- IPPool
    warn(
        "IPPool/spec/namespaceSelector",
        "netc assigns no workload addresses (WorkloadEndpoint ipNetworks are declared), so there is no namespace to restrict",
    ),
    warn(
        "IPPool/spec/allowedUses",
        "netc allocates blocks and tunnel addresses from every enabled pool, whatever its allowedUses",
    ),
    warn(
        "IPPool/spec/assignmentMode",
        "netc allocates blocks from every enabled pool to the nodes its nodeSelector selects, as for Automatic",
    ),
    // ---- BGPConfiguration
    warn(
        "BGPConfiguration/spec/serviceLoadBalancerAggregation",
        "netc advertises serviceLoadBalancerIPs as declared (Enabled); per-Service routes need Kubernetes Services",
    ),
    warn(
        "BGPConfiguration/spec/localWorkloadPeeringIPV4",
        "local-workload BGP peerings (BGPPeer localWorkloadSelector) are not lowered",
    ),
    warn(
        "BGPConfiguration/spec/localWorkloadPeeringIPV6",
        "local-workload BGP peerings (BGPPeer localWorkloadSelector) are not lowered",
    ),
    // ---- BGPPeer
    warn(
        "BGPPeer/spec/localWorkloadSelector",
        "local-workload peers need workload addresses at run time; netc creates no session for them",
    ),
    // ---- Node
    warn("Node/spec/ipv6VXLANTunnelAddr", IPV6),
    warn("Node/spec/vxlanTunnelMACAddrV6", IPV6),
    warn(
        "Node/spec/addresses",
        "netc takes the node's address from spec.bgp.ipv4Address; the address list is not read",
    ),
    warn("Node/spec/wireguard", "netc does not set up WireGuard"),
    no_effect(
        "Node/spec/orchRefs",
        "maps the node to its orchestrator's node name; no dataplane effect",
    ),
    // ---- policies
    no_effect(
        "NetworkPolicy/spec/performanceHints",
        "a hint for Felix's on-demand programming; netc programs every rule ahead of time",
    ),
    no_effect(
        "GlobalNetworkPolicy/spec/performanceHints",
        "a hint for Felix's on-demand programming; netc programs every rule ahead of time",
    ),
    by("ServiceAccountMatch/names", codes::UNSUPPORTED_MATCH, FAIL_CLOSED),
    by("ServiceAccountMatch/selector", codes::UNSUPPORTED_MATCH, FAIL_CLOSED),
    by("ServiceMatch/name", codes::UNSUPPORTED_MATCH, FAIL_CLOSED),
    by("ServiceMatch/namespace", codes::UNSUPPORTED_MATCH, FAIL_CLOSED),
    by("HTTPMatch/methods", codes::UNSUPPORTED_MATCH, FAIL_CLOSED),
    by("HTTPMatch/paths", codes::UNSUPPORTED_MATCH, FAIL_CLOSED),
    by("HTTPPath/exact", codes::UNSUPPORTED_MATCH, FAIL_CLOSED),
    by("HTTPPath/prefix", codes::UNSUPPORTED_MATCH, FAIL_CLOSED),
    // ---- network sets
    warn(
        "GlobalNetworkSet/spec/allowedEgressDomains",
        "matching domain names needs DNS inspection at run time; netc compiles only nets",
    ),
    warn(
        "NetworkSet/spec/allowedEgressDomains",
        "matching domain names needs DNS inspection at run time; netc compiles only nets",
    ),
    // ---- endpoints
    warn("HostEndpoint/spec/profiles", PROFILES),
    warn("WorkloadEndpoint/spec/profiles", PROFILES),
    no_effect(
        "WorkloadEndpoint/spec/workload",
        "identifies the workload to its orchestrator; no dataplane effect",
    ),
    no_effect(
        "WorkloadEndpoint/spec/containerID",
        "identifies the workload to its orchestrator; no dataplane effect",
    ),
    no_effect(
        "WorkloadEndpoint/spec/pod",
        "identifies the workload to its orchestrator; no dataplane effect",
    ),
    no_effect(
        "WorkloadEndpoint/spec/endpoint",
        "identifies the workload to its orchestrator; no dataplane effect",
    ),
    warn(
        "WorkloadEndpoint/spec/ipNATs",
        "1:1 NAT of workload addresses (floating IPs) is not compiled",
    ),
    warn(
        "WorkloadEndpoint/spec/mac",
        "Felix installs a static neighbour entry for the workload's MAC; netc leaves it to ARP",
    ),
    no_effect(
        "WorkloadEndpoint/spec/ipv4Gateway",
        "configured inside the workload by its CNI plugin; no host-side effect",
    ),
    no_effect(
        "WorkloadEndpoint/spec/ipv6Gateway",
        "configured inside the workload by its CNI plugin; no host-side effect",
    ),
    warn(
        "WorkloadEndpoint/spec/allowSpoofedSourcePrefixes",
        "netc programs no workload source-address check, so there is nothing to relax",
    ),
];

/// The entry for `path` in [`NOT_COMPILED`].
pub fn not_compiled(path: &str) -> Option<&'static NotCompiled> {
    // Asked for every field of every resource: indexed once.
    static BY_PATH: std::sync::OnceLock<
        std::collections::HashMap<&'static str, &'static NotCompiled>,
    > = std::sync::OnceLock::new();
    BY_PATH
        .get_or_init(|| NOT_COMPILED.iter().rev().map(|n| (n.path, n)).collect())
        .get(path)
        .copied()
}

/// The entry for `path` in [`COMPILED`].
pub fn compiled(path: &str) -> Option<&'static Compiled> {
    COMPILED.iter().find(|c| c.path == path)
}

// ------------------------------------------------------------------ the schemas' fields

/// The schema sources, parsed once: kind files and common.schema.json.
struct Sources {
    common: Value,
    kinds: Vec<(Kind, Value)>,
}

impl Sources {
    /// The common definition `r` names, seen from `doc`: a kind file says
    /// `common.schema.json#/$defs/X`, common.schema.json itself `#/$defs/X`.
    fn common_def<'r>(&self, doc: &Value, r: &'r str) -> Option<&'r str> {
        common_name(r).or_else(|| {
            std::ptr::eq(doc, &self.common)
                .then(|| r.strip_prefix("#/$defs/"))
                .flatten()
        })
    }
}

/// `None` only if an embedded schema is not JSON, which the schema tests
/// rule out (compiler/tests/schema.rs); then no field warnings are given.
fn sources() -> Option<&'static Sources> {
    static CELL: OnceLock<Option<Sources>> = OnceLock::new();
    CELL.get_or_init(|| {
        let common = serde_json::from_str(COMMON_SCHEMA).ok()?;
        let kinds = Kind::ALL
            .iter()
            .map(|&k| Some((k, serde_json::from_str(schema_source(k)).ok()?)))
            .collect::<Option<Vec<_>>>()?;
        Some(Sources { common, kinds })
    })
    .as_ref()
}

/// Guard against a schema whose local references loop.
const MAX_DEPTH: usize = 32;

/// Every field of every schema, by path, each once, in schema order; and
/// where each common definition is used (definition, path of the field).
#[derive(Debug, Default)]
pub struct SchemaFields {
    pub fields: Vec<String>,
    pub uses: Vec<(String, String)>,
}

/// Walk every property of every schema (kind files and the common
/// definitions they use). `None` if the embedded schemas do not parse.
pub fn schema_fields() -> Option<SchemaFields> {
    let s = sources()?;
    let mut out = SchemaFields::default();
    for (kind, doc) in &s.kinds {
        let Some(props) = doc.get("properties").and_then(Value::as_object) else {
            continue;
        };
        for (name, sub) in props {
            push_unique(&mut out.fields, format!("*/{name}"));
            walk(
                s,
                doc,
                sub,
                &format!("{}/{name}", kind.as_str()),
                0,
                &mut out,
            );
        }
    }
    Some(out)
}

fn walk(s: &Sources, doc: &Value, node: &Value, key: &str, depth: usize, out: &mut SchemaFields) {
    if depth > MAX_DEPTH {
        return;
    }
    if let Some(r) = node.get("$ref").and_then(Value::as_str) {
        if let Some(name) = s.common_def(doc, r) {
            let first = !out.uses.iter().any(|(d, _)| d == name);
            out.uses.push((name.to_string(), key.to_string()));
            if first {
                if let Some(def) = s
                    .common
                    .pointer(&format!("/$defs/{}", escape_segment(name)))
                {
                    walk(s, &s.common, def, name, depth + 1, out);
                }
            }
        } else if let Some(target) = r.strip_prefix('#').and_then(|p| doc.pointer(p)) {
            walk(s, doc, target, key, depth + 1, out);
        }
        return;
    }
    if let Some(props) = node.get("properties").and_then(Value::as_object) {
        for (name, sub) in props {
            let k = format!("{key}/{name}");
            push_unique(&mut out.fields, k.clone());
            walk(s, doc, sub, &k, depth + 1, out);
        }
    }
    if let Some(items) = node.get("items").filter(|i| i.is_object()) {
        walk(s, doc, items, &format!("{key}/*"), depth + 1, out);
    }
}

fn push_unique(v: &mut Vec<String>, k: String) {
    if !v.contains(&k) {
        v.push(k);
    }
}

// ------------------------------------------------------------------ the warning

/// W0108 for every not-compiled field `raw` sets (present, not null or
/// empty, and not the schema's default, which is what netc does anyway).
/// Run on resources that passed the schema.
pub fn check(raw: &RawResource) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let Some((_, props)) = roots().and_then(|r| r.iter().find(|(k, _)| *k == raw.kind)) else {
        return out;
    };
    if let Some(inst) = raw.value.as_object() {
        visit_props(raw, props, inst, &mut String::new(), &mut out);
    }
    out
}

type Props = std::collections::HashMap<&'static str, Prop>;

/// Every kind's top-level fields, worked out once: each is warned about by
/// the envelope's entry (`*/<field>`) when that is not compiled, else
/// walked from the kind's schema (`<Kind>/<field>`).
fn roots() -> Option<&'static [(Kind, Props)]> {
    static CELL: OnceLock<Option<Vec<(Kind, Props)>>> = OnceLock::new();
    CELL.get_or_init(|| {
        let s = sources()?;
        let roots = s
            .kinds
            .iter()
            .map(|(kind, doc)| {
                let props = doc.get("properties").and_then(Value::as_object);
                let tops = props
                    .into_iter()
                    .flatten()
                    .map(|(name, sub)| {
                        let key = format!("*/{name}");
                        let not_compiled = not_compiled(&key);
                        let prop = Prop {
                            key,
                            not_compiled,
                            schema: sub,
                            sub: not_compiled.is_none().then(|| {
                                Step::new(doc, sub, format!("{}/{name}", kind.as_str()), 0)
                            }),
                        };
                        (name.as_str(), prop)
                    })
                    .collect();
                (*kind, tops)
            })
            .collect();
        Some(roots)
    })
    .as_deref()
}

/// A value's schema node (`$ref`s not yet followed) and its field path,
/// with the [`Plan`] for it made on first use: the schemas are built in,
/// so a plan never changes, and a policy's rule list meets the same few
/// nodes thousands of times (each visit resolved references and formatted
/// paths anew: 38 ms of a 10,000-rule compile). Lazily, because a schema
/// may refer to itself.
struct Step {
    doc: &'static Value,
    node: &'static Value,
    key: String,
    depth: usize,
    plan: OnceLock<Option<Box<Plan>>>,
}

/// What to look at below one schema node, references followed; only made
/// for a node whose subtree can hold a not-compiled field.
struct Plan {
    props: Props,
    /// The items of a list.
    items: Option<Step>,
}

/// One property of a [`Plan`]: warned about when not compiled, else walked.
struct Prop {
    key: String,
    not_compiled: Option<&'static NotCompiled>,
    schema: &'static Value,
    sub: Option<Step>,
}

impl Step {
    fn new(doc: &'static Value, node: &'static Value, key: String, depth: usize) -> Step {
        Step {
            doc,
            node,
            key,
            depth,
            plan: OnceLock::new(),
        }
    }

    /// The plan, or None when nothing below this node can warn (or the
    /// references nest deeper than [`MAX_DEPTH`]).
    fn plan(&self) -> Option<&Plan> {
        self.plan.get_or_init(|| self.make()).as_deref()
    }

    fn make(&self) -> Option<Box<Plan>> {
        let s = sources()?;
        let (mut doc, mut node, mut depth) = (self.doc, self.node, self.depth);
        let mut key = self.key.as_str();
        loop {
            if depth > MAX_DEPTH {
                return None;
            }
            let Some(r) = node.get("$ref").and_then(Value::as_str) else {
                break;
            };
            if let Some(name) = s.common_def(doc, r) {
                node = s
                    .common
                    .pointer(&format!("/$defs/{}", escape_segment(name)))?;
                doc = &s.common;
                key = name;
            } else {
                node = r.strip_prefix('#').and_then(|p| doc.pointer(p))?;
            }
            depth += 1;
        }
        // Nothing below `key` is in NOT_COMPILED: the subtree cannot warn.
        if !can_warn(s, doc, node, key, depth) {
            return None;
        }
        let props = node
            .get("properties")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(name, sub)| {
                let k = format!("{key}/{name}");
                let not_compiled = not_compiled(&k);
                let step = not_compiled
                    .is_none()
                    .then(|| Step::new(doc, sub, k.clone(), depth + 1));
                let prop = Prop {
                    key: k,
                    not_compiled,
                    schema: sub,
                    sub: step,
                };
                (name.as_str(), prop)
            })
            .collect();
        let items = node
            .get("items")
            .filter(|i| i.is_object())
            .map(|i| Step::new(doc, i, format!("{key}/*"), depth + 1));
        Some(Box::new(Plan { props, items }))
    }
}

/// Walk `v` along `step`'s plan, warning about the not-compiled fields set.
fn visit(raw: &RawResource, step: &Step, v: &Value, ptr: &mut String, out: &mut Vec<Diagnostic>) {
    let Some(plan) = step.plan() else {
        return;
    };
    match v {
        Value::Object(m) => visit_props(raw, &plan.props, m, ptr, out),
        Value::Array(items) => {
            let Some(item) = &plan.items else {
                return;
            };
            for (i, child) in items.iter().enumerate() {
                let len = ptr.len();
                let _ = write!(ptr, "/{i}");
                visit(raw, item, child, ptr, out);
                ptr.truncate(len);
            }
        }
        _ => {}
    }
}

/// The fields of an object: each warned about when not compiled, else
/// walked.
fn visit_props(
    raw: &RawResource,
    props: &Props,
    m: &serde_json::Map<String, Value>,
    ptr: &mut String,
    out: &mut Vec<Diagnostic>,
) {
    for (name, child) in m {
        let Some(p) = props.get(name.as_str()) else {
            continue;
        };
        let len = ptr.len();
        ptr.push('/');
        push_escaped(ptr, name);
        match (p.not_compiled, &p.sub) {
            (Some(nc), _) => warn_if_set(raw, &p.key, nc, p.schema, child, ptr, out),
            (None, Some(sub)) => visit(raw, sub, child, ptr, out),
            (None, None) => {}
        }
        ptr.truncate(len);
    }
}

/// A JSON Pointer segment (`~` and `/` escaped), appended.
fn push_escaped(ptr: &mut String, segment: &str) {
    if segment.contains(['~', '/']) {
        ptr.push_str(&escape_segment(segment));
    } else {
        ptr.push_str(segment);
    }
}

/// W0108 for not-compiled field `key` when `v` sets it.
fn warn_if_set(
    raw: &RawResource,
    key: &str,
    nc: &NotCompiled,
    schema: &Value,
    v: &Value,
    ptr: &str,
    out: &mut Vec<Diagnostic>,
) {
    if nc.report == Report::Warn && is_set(v) && schema.get("default") != Some(v) {
        let field = crate::schema::field_name(&raw.value, ptr);
        out.push(
            Diagnostic::warning(
                codes::NOT_COMPILED,
                format!("`{field}` is accepted but not compiled: {}", nc.reason),
            )
            .at(raw.origin.key_span(ptr))
            .label("not compiled: no artifact reflects this field")
            .note(format!(
                "netc validates `{field}` but does not turn it into any artifact; docs/fields.md lists every such field (`{key}`)"
            ))
            .resource(raw.display()),
        );
    }
}

/// Can a value at `key` (schema `node`, refs resolved) hold a field that is
/// not compiled, at any depth, through refs? Depends on `key` alone (the
/// schemas are built in), so it is remembered per key.
fn can_warn(s: &Sources, doc: &Value, node: &Value, key: &str, depth: usize) -> bool {
    use std::collections::HashMap;
    use std::sync::Mutex;
    static MEMO: OnceLock<Mutex<HashMap<String, bool>>> = OnceLock::new();
    let memo = MEMO.get_or_init(Default::default);
    if let Some(b) = memo.lock().ok().and_then(|m| m.get(key).copied()) {
        return b;
    }
    // Unknown while being computed (a recursive schema): assume it can.
    let b = depth <= MAX_DEPTH && subtree_warns(s, doc, node, key, depth);
    if let Ok(mut m) = memo.lock() {
        m.insert(key.to_string(), b);
    }
    b
}

fn subtree_warns(s: &Sources, doc: &Value, node: &Value, key: &str, depth: usize) -> bool {
    if let Some(r) = node.get("$ref").and_then(Value::as_str) {
        return match s.common_def(doc, r) {
            Some(name) => s
                .common
                .pointer(&format!("/$defs/{}", escape_segment(name)))
                .is_none_or(|def| can_warn(s, &s.common, def, name, depth + 1)),
            None => r
                .strip_prefix('#')
                .and_then(|p| doc.pointer(p))
                .is_none_or(|t| can_warn(s, doc, t, key, depth + 1)),
        };
    }
    let props = node.get("properties").and_then(Value::as_object);
    let by_prop = props.is_some_and(|props| {
        props.iter().any(|(name, sub)| {
            let k = format!("{key}/{name}");
            not_compiled(&k).is_some() || can_warn(s, doc, sub, &k, depth + 1)
        })
    });
    by_prop
        || node
            .get("items")
            .filter(|i| i.is_object())
            .is_some_and(|i| can_warn(s, doc, i, &format!("{key}/*"), depth + 1))
    // Anything the walk does not follow (anyOf, additionalProperties)
    // is not visited by `visit` either.
}

/// Present with a value that says something: not null, not an empty string,
/// list or mapping.
fn is_set(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(m) => !m.is_empty(),
        _ => true,
    }
}

// ------------------------------------------------------------------ docs/fields.md

/// docs/fields.md, generated from the tables (compiler/tests/fields.rs keeps
/// the file equal to this; `NETC_BLESS=1 cargo test -p netc-compiler --test
/// fields` rewrites it).
pub fn markdown() -> String {
    let uses = schema_fields().map(|f| f.uses).unwrap_or_default();
    let mut s = String::new();
    s.push_str("<!-- generated from compiler/src/fields.rs by `NETC_BLESS=1 cargo test -p netc-compiler --test fields`; do not edit -->\n");
    s.push_str("# Fields netc accepts but does not compile\n\n");
    s.push_str(
        "Every field the JSON Schemas (`schemas/`) accept is either compiled into an artifact \
         or listed here. When an input sets a field marked *warning* (to something other than \
         its default), `netc validate` reports W0108 at the field. Fields marked *no effect* \
         have no effect on a node's dataplane in Calico either and are ignored quietly; fields \
         marked with another code are already reported by that diagnostic. A field listed here \
         covers its sub-fields.\n\n",
    );
    s.push_str(
        "Paths: `*/…` is the envelope of every kind, `Kind/…` a field of that kind, `Def/…` a \
         field of a definition shared through `schemas/common.schema.json` (where each is used \
         is listed at the end); `*` in a path stands for the items of a list.\n\n",
    );
    s.push_str("| field | reported | reason |\n|---|---|---|\n");
    for n in NOT_COMPILED {
        let report = match n.report {
            Report::Warn => "warning W0108".to_string(),
            Report::By(code) => code.to_string(),
            Report::NoEffect => "no effect".to_string(),
        };
        s.push_str(&format!(
            "| `{}` | {report} | {} |\n",
            n.path,
            md_escape(n.reason)
        ));
    }
    s.push_str("\n## Compiled fields\n\n| field | read by (compiler/src/) |\n|---|---|\n");
    for c in COMPILED {
        s.push_str(&format!("| `{}` | {} |\n", c.path, md_escape(c.by)));
    }
    s.push_str(
        "\n## Where the shared definitions are used\n\n| definition | used at |\n|---|---|\n",
    );
    let mut defs: Vec<&str> = Vec::new();
    for (d, _) in &uses {
        if !defs.contains(&d.as_str()) {
            defs.push(d);
        }
    }
    for d in defs {
        let at: Vec<String> = uses
            .iter()
            .filter(|(x, _)| x == d)
            .map(|(_, k)| format!("`{k}`"))
            .collect();
        s.push_str(&format!("| `{d}` | {} |\n", at.join(", ")));
    }
    s
}

fn md_escape(s: &str) -> String {
    s.replace('|', "\\|")
}
