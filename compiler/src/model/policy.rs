//! NetworkPolicy and GlobalNetworkPolicy (docs/calico.md §1.7). They share one
//! spec type; the GNP-only fields are rejected for NetworkPolicy by the schema.

use super::NumOrStr;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PolicyType {
    Ingress,
    Egress,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, Hash)]
pub enum Action {
    Allow,
    Deny,
    Log,
    Pass,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct IcmpFields {
    #[serde(rename = "type", default)]
    pub icmp_type: Option<i64>,
    #[serde(default)]
    pub code: Option<i64>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ServiceAccountMatch {
    #[serde(default)]
    pub names: Vec<String>,
    #[serde(default)]
    pub selector: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct ServiceMatch {
    pub name: String,
    #[serde(default)]
    pub namespace: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct EntityRule {
    #[serde(default)]
    pub nets: Vec<String>,
    #[serde(default)]
    pub not_nets: Vec<String>,
    #[serde(default)]
    pub selector: Option<String>,
    #[serde(default)]
    pub not_selector: Option<String>,
    #[serde(default)]
    pub namespace_selector: Option<String>,
    #[serde(default)]
    pub ports: Vec<NumOrStr>,
    #[serde(default)]
    pub not_ports: Vec<NumOrStr>,
    #[serde(default)]
    pub service_accounts: Option<Box<ServiceAccountMatch>>,
    #[serde(default)]
    pub services: Option<Box<ServiceMatch>>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct HttpMatch {
    #[serde(default)]
    pub methods: Vec<String>,
    #[serde(default)]
    pub paths: Vec<serde_json::Value>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct RuleMetadata {
    #[serde(default)]
    pub annotations: std::collections::BTreeMap<String, String>,
}

/// Rarely written parts (ICMP, HTTP, metadata, service accounts and
/// services) are boxed: a rule was 728 bytes, and a cluster holds tens of
/// thousands.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    pub action: Action,
    #[serde(default)]
    pub ip_version: Option<u8>,
    #[serde(default)]
    pub protocol: Option<NumOrStr>,
    #[serde(default)]
    pub not_protocol: Option<NumOrStr>,
    #[serde(default)]
    pub icmp: Option<Box<IcmpFields>>,
    #[serde(rename = "notICMP", default)]
    pub not_icmp: Option<Box<IcmpFields>>,
    #[serde(default)]
    pub source: EntityRule,
    #[serde(default)]
    pub destination: EntityRule,
    #[serde(default)]
    pub http: Option<Box<HttpMatch>>,
    #[serde(default)]
    pub metadata: Option<Box<RuleMetadata>>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PolicySpec {
    #[serde(default)]
    pub tier: Option<String>,
    #[serde(default)]
    pub order: Option<f64>,
    #[serde(default)]
    pub selector: Option<String>,
    #[serde(default)]
    pub types: Vec<PolicyType>,
    #[serde(default)]
    pub ingress: Vec<Rule>,
    #[serde(default)]
    pub egress: Vec<Rule>,
    #[serde(default)]
    pub service_account_selector: Option<String>,
    #[serde(default)]
    pub namespace_selector: Option<String>,
    #[serde(default)]
    pub do_not_track: bool,
    #[serde(rename = "preDNAT", default)]
    pub pre_dnat: bool,
    #[serde(default)]
    pub apply_on_forward: bool,
    #[serde(default)]
    pub performance_hints: Vec<String>,
}

impl PolicySpec {
    /// Calico's defaulting of `types`: as given, else Ingress, plus Egress
    /// when there are egress rules (Egress only if there are no ingress rules).
    pub fn effective_types(&self) -> Vec<PolicyType> {
        if !self.types.is_empty() {
            let mut t = self.types.clone();
            t.sort();
            t.dedup();
            return t;
        }
        match (self.ingress.is_empty(), self.egress.is_empty()) {
            (_, true) => vec![PolicyType::Ingress],
            (true, false) => vec![PolicyType::Egress],
            (false, false) => vec![PolicyType::Ingress, PolicyType::Egress],
        }
    }
    pub fn tier(&self) -> &str {
        self.tier.as_deref().unwrap_or("default")
    }
}
