//! GlobalNetworkSet and NetworkSet: named lists of nets that policy selectors
//! can pick by label.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct NetworkSetSpec {
    #[serde(default)]
    pub nets: Vec<String>,
    #[serde(rename = "allowedEgressDomains", default)]
    pub allowed_egress_domains: Vec<String>,
}
