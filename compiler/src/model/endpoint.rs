//! HostEndpoint and WorkloadEndpoint (docs/calico.md §1.8, §7).

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct EndpointPort {
    pub name: String,
    pub protocol: String,
    pub port: u16,
    /// WorkloadEndpoint only: Felix's hostPort forwarding (read, not compiled; W0805).
    #[serde(rename = "hostPort", default, skip_serializing_if = "Option::is_none")]
    pub host_port: Option<u16>,
    #[serde(rename = "hostIP", default, skip_serializing_if = "Option::is_none")]
    pub host_ip: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct HostEndpointSpec {
    #[serde(default)]
    pub node: String,
    #[serde(default)]
    pub interface_name: Option<String>,
    #[serde(rename = "expectedIPs", default)]
    pub expected_ips: Vec<String>,
    #[serde(default)]
    pub profiles: Vec<String>,
    #[serde(default)]
    pub ports: Vec<EndpointPort>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadEndpointSpec {
    #[serde(default)]
    pub orchestrator: Option<String>,
    #[serde(default)]
    pub workload: Option<String>,
    #[serde(default)]
    pub node: String,
    #[serde(rename = "containerID", default)]
    pub container_id: Option<String>,
    #[serde(default)]
    pub pod: Option<String>,
    #[serde(default)]
    pub endpoint: Option<String>,
    #[serde(default)]
    pub service_account_name: Option<String>,
    #[serde(rename = "ipNetworks", default)]
    pub ip_networks: Vec<String>,
    #[serde(rename = "ipNATs", default)]
    pub ip_nats: Vec<serde_json::Value>,
    #[serde(default)]
    pub profiles: Vec<String>,
    #[serde(default)]
    pub interface_name: String,
    #[serde(default)]
    pub mac: Option<String>,
    #[serde(rename = "ipv4Gateway", default)]
    pub ipv4_gateway: Option<String>,
    #[serde(rename = "ipv6Gateway", default)]
    pub ipv6_gateway: Option<String>,
    #[serde(default)]
    pub allow_spoofed_source_prefixes: Vec<String>,
    #[serde(default)]
    pub ports: Vec<EndpointPort>,
}
