//! iproute2's JSON (`ip -j`, `bridge -j`), typed as far as netc reads it.
//!
//! Every field is optional and lenient: a value of an unexpected type (a
//! foreign device kind that reuses a key, another iproute2 version) reads
//! as absent rather than failing the whole listing, which is what the
//! readers need — the listing covers every device, netc's or not. Fields
//! netc does not read are ignored.

use serde::de::{DeserializeOwned, IgnoredAny};
use serde::{Deserialize, Deserializer};
use std::net::IpAddr;

/// `Some(T)` when the value has T's shape, else `None`.
fn lenient<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    let v = serde_json::Value::deserialize(d)?;
    Ok(serde_json::from_value(v).ok())
}

/// One device of `ip -j -d addr show`.
#[derive(Debug, Default, Deserialize)]
pub struct Link {
    #[serde(default, deserialize_with = "lenient")]
    pub ifname: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub flags: Option<Vec<String>>,
    #[serde(default, deserialize_with = "lenient")]
    pub mtu: Option<u32>,
    /// Link-layer address.
    #[serde(default, deserialize_with = "lenient")]
    pub address: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub linkinfo: Option<LinkInfo>,
    #[serde(default, deserialize_with = "lenient")]
    pub addr_info: Option<Vec<AddrInfo>>,
    /// The interface alias (`ip link set … alias`).
    #[serde(default, deserialize_with = "lenient")]
    pub ifalias: Option<String>,
}

impl Link {
    pub fn has_flag(&self, flag: &str) -> bool {
        self.flags.iter().flatten().any(|f| f == flag)
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct LinkInfo {
    #[serde(default, deserialize_with = "lenient")]
    pub info_kind: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub info_data: Option<InfoData>,
}

/// `-d` details; the keys VXLAN and IPIP devices carry.
#[derive(Debug, Default, Deserialize)]
pub struct InfoData {
    /// VNI.
    #[serde(default, deserialize_with = "lenient")]
    pub id: Option<u32>,
    #[serde(default, deserialize_with = "lenient")]
    pub port: Option<u16>,
    #[serde(default, deserialize_with = "lenient")]
    pub local: Option<String>,
    /// The source address of an IPv6 VXLAN device.
    #[serde(default, deserialize_with = "lenient")]
    pub local6: Option<String>,
    /// Underlay device.
    #[serde(default, deserialize_with = "lenient")]
    pub link: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub learning: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
pub struct AddrInfo {
    #[serde(default, deserialize_with = "lenient")]
    pub local: Option<IpAddr>,
    #[serde(default, deserialize_with = "lenient")]
    pub prefixlen: Option<u8>,
}

/// One entry of `ip -j neigh show`.
#[derive(Debug, Default, Deserialize)]
pub struct Neigh {
    #[serde(default, deserialize_with = "lenient")]
    pub dst: Option<IpAddr>,
    #[serde(default, deserialize_with = "lenient")]
    pub dev: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub lladdr: Option<String>,
}

/// One entry of `bridge -j fdb show dev D`.
#[derive(Debug, Default, Deserialize)]
pub struct Fdb {
    #[serde(default, deserialize_with = "lenient")]
    pub mac: Option<String>,
    /// Remote VTEP; the kernel's own entries have none.
    #[serde(default, deserialize_with = "lenient")]
    pub dst: Option<IpAddr>,
}

/// A routing table, by name or number.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Table {
    Name(String),
    Id(u64),
}

impl Table {
    pub fn name(&self) -> String {
        match self {
            Table::Name(n) => n.clone(),
            Table::Id(n) => n.to_string(),
        }
    }
}

/// One entry of `ip -j route show`.
#[derive(Debug, Default, Deserialize)]
pub struct Route {
    /// `default`, an address or a prefix.
    #[serde(default, deserialize_with = "lenient")]
    pub dst: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub table: Option<Table>,
    #[serde(default, deserialize_with = "lenient")]
    pub metric: Option<u32>,
    /// `unicast` when absent.
    #[serde(default, rename = "type", deserialize_with = "lenient")]
    pub route_type: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub flags: Option<Vec<String>>,
    #[serde(default, deserialize_with = "lenient")]
    pub dev: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub gateway: Option<IpAddr>,
    /// Present on multipath routes.
    #[serde(default)]
    pub nexthops: Option<IgnoredAny>,
}

impl Route {
    pub fn has_flag(&self, flag: &str) -> bool {
        self.flags.iter().flatten().any(|f| f == flag)
    }
}

/// Parse a listing: an array of entries (empty output: none).
pub fn parse_list<T: DeserializeOwned>(what: &str, json: &str) -> Result<Vec<T>, crate::Error> {
    let text = json.trim();
    if text.is_empty() {
        return Ok(Vec::new());
    }
    serde_json::from_str(text).map_err(|e| crate::Error::parse(what, e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unexpected_shapes_read_as_absent_not_as_errors() {
        // A foreign device kind whose details reuse netc's keys with other
        // types, and an address entry without a prefix length.
        let j = r#"[{"ifname":"gnv0","mtu":1500,"flags":["UP"],
            "linkinfo":{"info_kind":"geneve","info_data":{"id":"x","port":{"a":1},"learning":"yes"}},
            "addr_info":[{"local":"10.1.0.1"},{"local":"10.1.0.2","prefixlen":24}]}]"#;
        let links: Vec<Link> = parse_list("ip", j).unwrap_or_default();
        assert_eq!(links.len(), 1);
        let d = links[0]
            .linkinfo
            .as_ref()
            .and_then(|i| i.info_data.as_ref());
        assert!(d.is_some_and(|d| d.id.is_none() && d.port.is_none() && d.learning.is_none()));
        let addrs = links[0].addr_info.as_deref().unwrap_or_default();
        assert_eq!(addrs.len(), 2);
        assert_eq!(addrs[0].prefixlen, None);
        assert!(links[0].has_flag("UP"));
        let routes: Vec<Route> =
            parse_list("ip", r#"[{"dst":"10.0.0.0/8","table":100,"nexthops":[]}]"#)
                .unwrap_or_default();
        assert_eq!(
            routes[0].table.as_ref().map(Table::name).as_deref(),
            Some("100")
        );
        assert!(routes[0].nexthops.is_some());
        assert!(parse_list::<Route>("ip", "").is_ok_and(|v| v.is_empty()));
        assert!(parse_list::<Route>("ip", "{").is_err());
    }
}
