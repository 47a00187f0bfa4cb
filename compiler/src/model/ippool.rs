//! IPPool (docs/calico.md §1.2).

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
pub enum EncapMode {
    #[default]
    Never,
    Always,
    CrossSubnet,
}

impl EncapMode {
    pub fn enabled(self) -> bool {
        self != EncapMode::Never
    }
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub enum AllowedUse {
    Workload,
    Tunnel,
    LoadBalancer,
}

#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
pub enum AssignmentMode {
    #[default]
    Automatic,
    Manual,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct IpPoolSpec {
    pub cidr: String,
    #[serde(default)]
    pub ipip_mode: EncapMode,
    #[serde(default)]
    pub vxlan_mode: EncapMode,
    #[serde(default)]
    pub nat_outgoing: bool,
    #[serde(default)]
    pub disabled: bool,
    #[serde(rename = "disableBGPExport", default)]
    pub disable_bgp_export: bool,
    /// Default 26 (v4) / 122 (v6), applied by [`IpPoolSpec::block_size`].
    #[serde(default)]
    pub block_size: Option<u8>,
    #[serde(default)]
    pub node_selector: Option<String>,
    #[serde(default)]
    pub namespace_selector: Option<String>,
    #[serde(default)]
    pub allowed_uses: Option<Vec<AllowedUse>>,
    #[serde(default)]
    pub assignment_mode: Option<AssignmentMode>,
}

impl IpPoolSpec {
    pub fn is_v6(&self) -> bool {
        self.cidr.contains(':')
    }
    pub fn block_size(&self) -> u8 {
        self.block_size
            .unwrap_or(if self.is_v6() { 122 } else { 26 })
    }
    pub fn node_selector(&self) -> &str {
        self.node_selector.as_deref().unwrap_or("all()")
    }
    pub fn allowed_uses(&self) -> Vec<AllowedUse> {
        self.allowed_uses
            .clone()
            .unwrap_or_else(|| vec![AllowedUse::Workload, AllowedUse::Tunnel])
    }
}
