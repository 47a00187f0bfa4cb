//! BGPFilter (Calico's `api/pkg/apis/projectcalico/v3/bgpfilter.go`): ordered
//! import/export rules per address family, referenced by name from a
//! BGPPeer's `filters`.
//!
//! The v4 and v6 rule types have the same fields; one type serves both and
//! validation checks the family of `cidr` and the range of `prefixLength`.

use super::NumOrStr;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BgpFilterSpec {
    #[serde(rename = "exportV4", default)]
    pub export_v4: Vec<BgpFilterRule>,
    #[serde(rename = "importV4", default)]
    pub import_v4: Vec<BgpFilterRule>,
    #[serde(rename = "exportV6", default)]
    pub export_v6: Vec<BgpFilterRule>,
    #[serde(rename = "importV6", default)]
    pub import_v6: Vec<BgpFilterRule>,
}

impl BgpFilterSpec {
    /// The four rule lists with their field name, in Calico's order of
    /// evaluation in confd (import before export, v4 then v6 per daemon).
    pub fn lists(&self) -> [(&'static str, &[BgpFilterRule]); 4] {
        [
            ("importV4", &self.import_v4),
            ("exportV4", &self.export_v4),
            ("importV6", &self.import_v6),
            ("exportV6", &self.export_v6),
        ]
    }
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BgpFilterRule {
    #[serde(default)]
    pub cidr: Option<String>,
    #[serde(default)]
    pub prefix_length: Option<BgpFilterPrefixLength>,
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub interface: Option<String>,
    #[serde(default)]
    pub match_operator: Option<String>,
    #[serde(default)]
    pub peer_type: Option<String>,
    #[serde(default)]
    pub communities: Option<BgpFilterCommunityMatch>,
    #[serde(rename = "asPathPrefix", default)]
    pub as_path_prefix: Vec<NumOrStr>,
    #[serde(default)]
    pub priority: Option<i64>,
    #[serde(default)]
    pub action: Option<String>,
    #[serde(default)]
    pub operations: Vec<BgpFilterOperation>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct BgpFilterPrefixLength {
    #[serde(default)]
    pub min: Option<i64>,
    #[serde(default)]
    pub max: Option<i64>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct BgpFilterCommunityMatch {
    #[serde(default)]
    pub values: Vec<String>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BgpFilterOperation {
    #[serde(default)]
    pub add_community: Option<BgpFilterValue<String>>,
    #[serde(rename = "prependASPath", default)]
    pub prepend_as_path: Option<BgpFilterPrepend>,
    #[serde(default)]
    pub set_priority: Option<BgpFilterValue<i64>>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct BgpFilterValue<T> {
    #[serde(default)]
    pub value: Option<T>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct BgpFilterPrepend {
    #[serde(default)]
    pub prefix: Vec<NumOrStr>,
}
