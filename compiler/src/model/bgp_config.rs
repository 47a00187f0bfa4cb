//! BGPConfiguration (docs/calico.md §1.3). `default` is cluster-wide; `node.<name>`
//! overrides it for one node.

use super::NumOrStr;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct CidrEntry {
    /// Empty in a `{}` entry, which calicoctl accepts and netc ignores (W0408).
    #[serde(default)]
    pub cidr: String,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct Community {
    pub name: String,
    pub value: String,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct PrefixAdvertisement {
    pub cidr: String,
    #[serde(default)]
    pub communities: Vec<String>,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeyRef {
    pub name: String,
    pub key: String,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BgpPassword {
    #[serde(default)]
    pub secret_key_ref: Option<SecretKeyRef>,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub enum ProgramClusterRoutes {
    Enabled,
    Disabled,
    #[serde(rename = "EnabledIPIPOnly")]
    EnabledIpipOnly,
    EnabledNoEncapOnly,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BgpConfigurationSpec {
    #[serde(default)]
    pub log_severity_screen: Option<String>,
    #[serde(default)]
    pub node_to_node_mesh_enabled: Option<bool>,
    #[serde(default)]
    pub as_number: Option<NumOrStr>,
    #[serde(rename = "serviceClusterIPs", default)]
    pub service_cluster_ips: Vec<CidrEntry>,
    #[serde(rename = "serviceExternalIPs", default)]
    pub service_external_ips: Vec<CidrEntry>,
    #[serde(rename = "serviceLoadBalancerIPs", default)]
    pub service_load_balancer_ips: Vec<CidrEntry>,
    #[serde(default)]
    pub service_load_balancer_aggregation: Option<String>,
    #[serde(default)]
    pub communities: Vec<Community>,
    #[serde(default)]
    pub prefix_advertisements: Vec<PrefixAdvertisement>,
    #[serde(default)]
    pub listen_port: Option<u16>,
    #[serde(default)]
    pub node_mesh_password: Option<BgpPassword>,
    #[serde(default)]
    pub node_mesh_max_restart_time: Option<String>,
    #[serde(default)]
    pub bind_mode: Option<String>,
    #[serde(default)]
    pub ignored_interfaces: Vec<String>,
    #[serde(rename = "localWorkloadPeeringIPV4", default)]
    pub local_workload_peering_ipv4: Option<String>,
    #[serde(rename = "localWorkloadPeeringIPV6", default)]
    pub local_workload_peering_ipv6: Option<String>,
    #[serde(default)]
    pub program_cluster_routes: Option<ProgramClusterRoutes>,
    #[serde(rename = "ipv4NormalRoutePriority", default)]
    pub ipv4_normal_route_priority: Option<u32>,
    #[serde(rename = "ipv6NormalRoutePriority", default)]
    pub ipv6_normal_route_priority: Option<u32>,
}

/// Calico's defaults for values a BGPConfiguration may leave out.
pub const DEFAULT_AS_NUMBER: u32 = 64512;
pub const DEFAULT_LISTEN_PORT: u16 = 179;
pub const DEFAULT_ROUTE_PRIORITY: u32 = 1024;
