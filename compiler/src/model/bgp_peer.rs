//! BGPPeer (docs/calico.md §1.4).

use super::{BgpPassword, NumOrStr};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub enum NextHopMode {
    Auto,
    #[serde(rename = "Self")]
    SelfMode,
    Keep,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub enum SourceAddress {
    #[serde(rename = "UseNodeIP")]
    UseNodeIp,
    None,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BgpPeerSpec {
    #[serde(default)]
    pub node: Option<String>,
    #[serde(default)]
    pub node_selector: Option<String>,
    #[serde(rename = "peerIP", default)]
    pub peer_ip: Option<String>,
    #[serde(default)]
    pub peer_selector: Option<String>,
    #[serde(default)]
    pub as_number: Option<NumOrStr>,
    #[serde(rename = "localASNumber", default)]
    pub local_as_number: Option<NumOrStr>,
    #[serde(default)]
    pub keep_original_next_hop: Option<bool>,
    #[serde(default)]
    pub next_hop_mode: Option<NextHopMode>,
    #[serde(default)]
    pub password: Option<BgpPassword>,
    #[serde(default)]
    pub source_address: Option<SourceAddress>,
    #[serde(default)]
    pub max_restart_time: Option<String>,
    #[serde(default)]
    pub keepalive_time: Option<String>,
    #[serde(rename = "numAllowedLocalASNumbers", default)]
    pub num_allowed_local_as_numbers: Option<u32>,
    #[serde(default)]
    pub ttl_security: Option<u8>,
    #[serde(default)]
    pub reachable_by: Option<String>,
    #[serde(default)]
    pub filters: Vec<String>,
    #[serde(default)]
    pub local_workload_selector: Option<String>,
    #[serde(default)]
    pub reverse_peering: Option<String>,
}
