//! Kubernetes kinds netc reads (docs/k8s.md §1): `v1 Namespace`, `v1 Pod`,
//! `v1 Node` and `networking.k8s.io/v1 NetworkPolicy`, with the Kubernetes
//! field names. Only the fields that decide what Calico programs are typed;
//! the rest of what an API server prints (container images, volumes, node
//! conditions…) is accepted by the schemas and dropped here.
//!
//! [`crate::k8s`] converts them into the Calico kinds lowering reads.

use super::NumOrStr;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `v1 Namespace`: only its metadata (name, labels) matters.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct NamespaceSpec {}

/// `v1 Pod`: the fields of `spec`, `status` and `metadata` Calico reads.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PodObject {
    #[serde(default)]
    pub metadata: PodMeta,
    #[serde(default)]
    pub spec: PodSpec,
    #[serde(default)]
    pub status: PodStatus,
}

/// Metadata fields of a pod that say whether it has finished.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PodMeta {
    #[serde(default)]
    pub deletion_timestamp: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PodSpec {
    #[serde(default)]
    pub node_name: Option<String>,
    #[serde(default)]
    pub host_network: Option<bool>,
    #[serde(default)]
    pub service_account_name: Option<String>,
    #[serde(default)]
    pub containers: Vec<Container>,
    #[serde(default)]
    pub init_containers: Vec<Container>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Container {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub ports: Vec<ContainerPort>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ContainerPort {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub container_port: i64,
    #[serde(default)]
    pub protocol: Option<String>,
    #[serde(default)]
    pub host_port: Option<i64>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PodStatus {
    #[serde(default)]
    pub phase: Option<String>,
    #[serde(rename = "podIP", default)]
    pub pod_ip: Option<String>,
    #[serde(rename = "podIPs", default)]
    pub pod_ips: Vec<PodIp>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct PodIp {
    #[serde(default)]
    pub ip: String,
}

/// `v1 Node`: Calico's node facts live in its annotations (read from the
/// metadata); `spec` and `status` are not read.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct KubeNodeSpec {}

/// A Kubernetes label selector (`metav1.LabelSelector`).
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LabelSelector {
    #[serde(default)]
    pub match_labels: BTreeMap<String, String>,
    #[serde(default)]
    pub match_expressions: Vec<LabelSelectorRequirement>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct LabelSelectorRequirement {
    #[serde(default)]
    pub key: String,
    #[serde(default)]
    pub operator: String,
    #[serde(default)]
    pub values: Option<Vec<String>>,
}

/// `networking.k8s.io/v1 NetworkPolicy` spec.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct KubeNetworkPolicySpec {
    #[serde(default)]
    pub pod_selector: Option<LabelSelector>,
    #[serde(default)]
    pub policy_types: Option<Vec<String>>,
    #[serde(default)]
    pub ingress: Option<Vec<KubeRule>>,
    #[serde(default)]
    pub egress: Option<Vec<KubeRule>>,
}

/// An ingress rule (`from`) or an egress rule (`to`); the schema allows only
/// the one that fits the direction.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct KubeRule {
    #[serde(default)]
    pub from: Option<Vec<KubePeer>>,
    #[serde(default)]
    pub to: Option<Vec<KubePeer>>,
    #[serde(default)]
    pub ports: Option<Vec<KubePort>>,
}

impl KubeRule {
    /// The rule's peers, whichever direction it is.
    pub fn peers(&self) -> Option<&Vec<KubePeer>> {
        self.from.as_ref().or(self.to.as_ref())
    }
    /// `from` or `to`, for pointers.
    pub fn peers_key(&self) -> &'static str {
        if self.to.is_some() {
            "to"
        } else {
            "from"
        }
    }
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct KubePeer {
    #[serde(default)]
    pub pod_selector: Option<LabelSelector>,
    #[serde(default)]
    pub namespace_selector: Option<LabelSelector>,
    #[serde(default)]
    pub ip_block: Option<IpBlock>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct IpBlock {
    #[serde(default)]
    pub cidr: String,
    #[serde(default)]
    pub except: Vec<String>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct KubePort {
    #[serde(default)]
    pub protocol: Option<String>,
    #[serde(default)]
    pub port: Option<NumOrStr>,
    #[serde(default)]
    pub end_port: Option<i64>,
}
