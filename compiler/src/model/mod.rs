//! The typed resource model: Calico v3 kinds with Calico's field names.
//!
//! Types here are what serde reads after the JSON Schema has accepted a
//! document, so they are permissive where the schema is strict (numbers or
//! strings for AS numbers and ports, for example): the semantic checks in
//! [`crate::validate`] turn them into checked values and point at the
//! offending field when they cannot.

mod bgp_config;
mod bgp_filter;
mod bgp_peer;
mod endpoint;
mod export;
mod ippool;
mod k8s;
mod network_set;
mod node;
mod numorstring;
mod policy;

pub use bgp_config::*;
pub use bgp_filter::*;
pub use bgp_peer::*;
pub use endpoint::*;
pub use export::*;
pub use ippool::*;
pub use k8s::*;
pub use network_set::*;
pub use node::*;
pub use numorstring::*;
pub use policy::*;

use crate::load::Origin;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The resource kinds netc reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Kind {
    IPPool,
    BGPConfiguration,
    BGPPeer,
    BGPFilter,
    Node,
    NetworkPolicy,
    GlobalNetworkPolicy,
    GlobalNetworkSet,
    NetworkSet,
    HostEndpoint,
    WorkloadEndpoint,
    // Read (so a whole calicoctl export loads) but not compiled.
    FelixConfiguration,
    Profile,
    BlockAffinity,
    IPAMBlock,
    KubeControllersConfiguration,
    ClusterInformation,
    // Kubernetes kinds (docs/k8s.md), converted into the Calico kinds above.
    Namespace,
    Pod,
    /// `v1 Node`.
    KubeNode,
    /// `networking.k8s.io/v1 NetworkPolicy`.
    KubeNetworkPolicy,
}

impl Kind {
    pub const ALL: &'static [Kind] = &[
        Kind::IPPool,
        Kind::BGPConfiguration,
        Kind::BGPPeer,
        Kind::BGPFilter,
        Kind::Node,
        Kind::NetworkPolicy,
        Kind::GlobalNetworkPolicy,
        Kind::GlobalNetworkSet,
        Kind::NetworkSet,
        Kind::HostEndpoint,
        Kind::WorkloadEndpoint,
        Kind::FelixConfiguration,
        Kind::Profile,
        Kind::BlockAffinity,
        Kind::IPAMBlock,
        Kind::KubeControllersConfiguration,
        Kind::ClusterInformation,
        Kind::Namespace,
        Kind::Pod,
        Kind::KubeNode,
        Kind::KubeNetworkPolicy,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::IPPool => "IPPool",
            Kind::BGPConfiguration => "BGPConfiguration",
            Kind::BGPPeer => "BGPPeer",
            Kind::BGPFilter => "BGPFilter",
            Kind::Node => "Node",
            Kind::NetworkPolicy => "NetworkPolicy",
            Kind::GlobalNetworkPolicy => "GlobalNetworkPolicy",
            Kind::GlobalNetworkSet => "GlobalNetworkSet",
            Kind::NetworkSet => "NetworkSet",
            Kind::HostEndpoint => "HostEndpoint",
            Kind::WorkloadEndpoint => "WorkloadEndpoint",
            Kind::FelixConfiguration => "FelixConfiguration",
            Kind::Profile => "Profile",
            Kind::BlockAffinity => "BlockAffinity",
            Kind::IPAMBlock => "IPAMBlock",
            Kind::KubeControllersConfiguration => "KubeControllersConfiguration",
            Kind::ClusterInformation => "ClusterInformation",
            Kind::Namespace => "Namespace",
            Kind::Pod => "Pod",
            Kind::KubeNode => "KubernetesNode",
            Kind::KubeNetworkPolicy => "KubernetesNetworkPolicy",
        }
    }
    /// netc's name of the kind (as [`as_str`](Self::as_str)), for `netc schema`.
    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.iter().copied().find(|k| k.as_str() == s)
    }
    /// What a document says in `kind:` (a Kubernetes `Node` and a Calico
    /// `Node` differ only by apiVersion).
    pub fn yaml_kind(self) -> &'static str {
        match self {
            Kind::KubeNode => "Node",
            Kind::KubeNetworkPolicy => "NetworkPolicy",
            k => k.as_str(),
        }
    }
    /// The apiVersions a document of this kind may carry.
    pub fn api_versions(self) -> &'static [&'static str] {
        match self {
            Kind::Namespace | Kind::Pod | Kind::KubeNode => K8S_CORE,
            Kind::KubeNetworkPolicy => K8S_NETWORKING,
            _ => crate::load::API_VERSIONS,
        }
    }
    /// The kind of a document with this apiVersion and `kind:`.
    pub fn from_api(api_version: &str, kind: &str) -> Option<Kind> {
        Kind::ALL
            .iter()
            .copied()
            .find(|k| k.yaml_kind() == kind && k.api_versions().contains(&api_version))
    }
    /// A Kubernetes kind (converted by [`crate::k8s`]).
    pub fn is_kubernetes(self) -> bool {
        matches!(
            self,
            Kind::Namespace | Kind::Pod | Kind::KubeNode | Kind::KubeNetworkPolicy
        )
    }
    /// Kinds netc reads and checks but compiles into no artifact.
    pub fn compiled(self) -> bool {
        !matches!(
            self,
            Kind::FelixConfiguration
                | Kind::Profile
                | Kind::BlockAffinity
                | Kind::IPAMBlock
                | Kind::KubeControllersConfiguration
                | Kind::ClusterInformation
        )
    }
    /// Namespaced kinds are named uniquely per namespace.
    pub fn namespaced(self) -> bool {
        matches!(
            self,
            Kind::NetworkPolicy
                | Kind::NetworkSet
                | Kind::WorkloadEndpoint
                | Kind::Pod
                | Kind::KubeNetworkPolicy
        )
    }
    /// File name of the kind's JSON Schema under schemas/.
    pub fn schema_file(self) -> String {
        format!("{}.schema.json", self.as_str().to_ascii_lowercase())
    }
}

/// apiVersion of the Kubernetes core kinds.
pub const K8S_CORE: &[&str] = &["v1"];
/// apiVersion of Kubernetes NetworkPolicy.
pub const K8S_NETWORKING: &[&str] = &["networking.k8s.io/v1"];

/// Object metadata. Server-populated fields are accepted by the schema and
/// dropped here: they describe a datastore, not desired state.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

/// A typed resource with where it came from.
#[derive(Clone, Debug)]
pub struct Resource<T> {
    pub meta: Metadata,
    pub spec: T,
    pub origin: Origin,
}

impl<T> Resource<T> {
    pub fn name(&self) -> &str {
        &self.meta.name
    }
}

/// The whole desired state, each kind in input order.
#[derive(Clone, Debug, Default)]
pub struct Model {
    pub ip_pools: Vec<Resource<IpPoolSpec>>,
    pub bgp_configs: Vec<Resource<BgpConfigurationSpec>>,
    pub bgp_peers: Vec<Resource<BgpPeerSpec>>,
    pub bgp_filters: Vec<Resource<BgpFilterSpec>>,
    pub nodes: Vec<Resource<NodeSpec>>,
    pub network_policies: Vec<Resource<PolicySpec>>,
    pub global_network_policies: Vec<Resource<PolicySpec>>,
    pub global_network_sets: Vec<Resource<NetworkSetSpec>>,
    pub network_sets: Vec<Resource<NetworkSetSpec>>,
    pub host_endpoints: Vec<Resource<HostEndpointSpec>>,
    pub workload_endpoints: Vec<Resource<WorkloadEndpointSpec>>,
    pub felix_configs: Vec<Resource<FelixConfigurationSpec>>,
    pub profiles: Vec<Resource<ProfileSpec>>,
    pub block_affinities: Vec<Resource<BlockAffinitySpec>>,
    pub ipam_blocks: Vec<Resource<IpamBlockSpec>>,
    pub kube_controllers_configs: Vec<Resource<OpaqueSpec>>,
    pub cluster_informations: Vec<Resource<OpaqueSpec>>,
    pub namespaces: Vec<Resource<NamespaceSpec>>,
    pub pods: Vec<Resource<PodObject>>,
    pub kube_nodes: Vec<Resource<KubeNodeSpec>>,
    pub kube_network_policies: Vec<Resource<KubeNetworkPolicySpec>>,
}

impl Model {
    /// Move every resource of `other` to the end of this model's lists.
    /// (Destructured, so a new kind's list cannot be forgotten here.)
    pub fn append(&mut self, other: Model) {
        let Model {
            mut ip_pools,
            mut bgp_configs,
            mut bgp_peers,
            mut bgp_filters,
            mut nodes,
            mut network_policies,
            mut global_network_policies,
            mut global_network_sets,
            mut network_sets,
            mut host_endpoints,
            mut workload_endpoints,
            mut felix_configs,
            mut profiles,
            mut block_affinities,
            mut ipam_blocks,
            mut kube_controllers_configs,
            mut cluster_informations,
            mut namespaces,
            mut pods,
            mut kube_nodes,
            mut kube_network_policies,
        } = other;
        self.ip_pools.append(&mut ip_pools);
        self.bgp_configs.append(&mut bgp_configs);
        self.bgp_peers.append(&mut bgp_peers);
        self.bgp_filters.append(&mut bgp_filters);
        self.nodes.append(&mut nodes);
        self.network_policies.append(&mut network_policies);
        self.global_network_policies
            .append(&mut global_network_policies);
        self.global_network_sets.append(&mut global_network_sets);
        self.network_sets.append(&mut network_sets);
        self.host_endpoints.append(&mut host_endpoints);
        self.workload_endpoints.append(&mut workload_endpoints);
        self.felix_configs.append(&mut felix_configs);
        self.profiles.append(&mut profiles);
        self.block_affinities.append(&mut block_affinities);
        self.ipam_blocks.append(&mut ipam_blocks);
        self.kube_controllers_configs
            .append(&mut kube_controllers_configs);
        self.cluster_informations.append(&mut cluster_informations);
        self.namespaces.append(&mut namespaces);
        self.pods.append(&mut pods);
        self.kube_nodes.append(&mut kube_nodes);
        self.kube_network_policies
            .append(&mut kube_network_policies);
    }

    /// Drop every resource's spans (its document's marked tree and text),
    /// keeping the rest of its origin. Spans serve diagnostics, and
    /// validation has reported them all; a plan or apply lowers one node
    /// after it, and the spans of the documents parsed this run would
    /// otherwise stay resident through lowering, its peak of memory.
    /// (Destructured, so a new kind's list cannot be forgotten here.)
    pub fn forget_spans(&mut self) {
        fn clear<T>(
            list: &mut [Resource<T>],
            empty: &std::sync::Arc<crate::load::document::SpanIndex>,
        ) {
            for r in list {
                r.origin.spans = empty.clone();
            }
        }
        let empty = std::sync::Arc::new(crate::load::document::SpanIndex::default());
        let Model {
            ip_pools,
            bgp_configs,
            bgp_peers,
            bgp_filters,
            nodes,
            network_policies,
            global_network_policies,
            global_network_sets,
            network_sets,
            host_endpoints,
            workload_endpoints,
            felix_configs,
            profiles,
            block_affinities,
            ipam_blocks,
            kube_controllers_configs,
            cluster_informations,
            namespaces,
            pods,
            kube_nodes,
            kube_network_policies,
        } = self;
        clear(ip_pools, &empty);
        clear(bgp_configs, &empty);
        clear(bgp_peers, &empty);
        clear(bgp_filters, &empty);
        clear(nodes, &empty);
        clear(network_policies, &empty);
        clear(global_network_policies, &empty);
        clear(global_network_sets, &empty);
        clear(network_sets, &empty);
        clear(host_endpoints, &empty);
        clear(workload_endpoints, &empty);
        clear(felix_configs, &empty);
        clear(profiles, &empty);
        clear(block_affinities, &empty);
        clear(ipam_blocks, &empty);
        clear(kube_controllers_configs, &empty);
        clear(cluster_informations, &empty);
        clear(namespaces, &empty);
        clear(pods, &empty);
        clear(kube_nodes, &empty);
        clear(kube_network_policies, &empty);
    }

    pub fn node(&self, name: &str) -> Option<&Resource<NodeSpec>> {
        self.nodes.iter().find(|n| n.meta.name == name)
    }
    pub fn bgp_filter(&self, name: &str) -> Option<&Resource<BgpFilterSpec>> {
        self.bgp_filters.iter().find(|f| f.meta.name == name)
    }
    /// The cluster-wide BGPConfiguration (`default`), if declared.
    pub fn default_bgp_config(&self) -> Option<&Resource<BgpConfigurationSpec>> {
        self.bgp_configs.iter().find(|c| c.meta.name == "default")
    }
    /// A node's override (`node.<name>`), if declared.
    pub fn node_bgp_config(&self, node: &str) -> Option<&Resource<BgpConfigurationSpec>> {
        self.bgp_configs
            .iter()
            .find(|c| c.meta.name.strip_prefix("node.") == Some(node))
    }
}
