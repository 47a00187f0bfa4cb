//! BGPFilter resources → typed filter functions in the IR, the way confd's
//! `BGPFilterBIRDFuncs` (confd/pkg/resource/template/template_funcs.go)
//! turns them into BIRD functions, and the calls a session makes
//! (`buildImportFilter` / `buildExportFilter` in bgp_processor.go).
//!
//! Validation has checked every field (validate/bgp_filter.rs); a value that
//! still does not convert is an internal error, never silently dropped.

use super::LowerError;
use crate::ir::*;
use crate::model::{
    parse_as_number, BgpFilterOperation, BgpFilterRule, BgpFilterSpec, Model, NumOrStr, Resource,
};
use ipnet::IpNet;

/// BIRD's symbol length limit (confd's `maxBIRDSymLen`).
const MAX_SYMBOL: usize = 64;

/// confd's `BirdIntMaxValue`: priority ↔ bgp_local_pref mirror point.
const BIRD_INT_MAX: u32 = 2_147_483_647;

/// confd's `TruncateAndHashName` (confd/pkg/resource/template/util.go):
/// a name longer than `max` keeps its first `max - 17` bytes, then `_` and
/// the first 16 upper-case hex digits of its SHA-256.
fn truncate_and_hash(name: &str, max: usize) -> String {
    if name.len() <= max {
        return name.to_string();
    }
    // confd prints the digest with `%X`: upper-case.
    let hash = crate::ir::digest::sha256_hex(name.as_bytes(), 8).to_ascii_uppercase();
    let keep = max.saturating_sub(17);
    // Names are DNS subdomains (ASCII), so byte slicing is safe; get() keeps
    // it panic-free regardless.
    let head = name.get(..keep).unwrap_or(name);
    format!("{head}_{hash}")
}

/// `bgp_<name>_<direction>FilterV<4|6>`, as `BGPFilterFunctionName`.
pub(super) fn symbol(filter: &str, direction: FilterDirection, ipv6: bool) -> String {
    let dir = match direction {
        FilterDirection::Import => "import",
        FilterDirection::Export => "export",
    };
    let ver = if ipv6 { "6" } else { "4" };
    let overhead = "bgp_".len() + "_".len() + dir.len() + "FilterV".len() + ver.len();
    let name = truncate_and_hash(filter, MAX_SYMBOL - overhead);
    format!("bgp_{name}_{dir}FilterV{ver}")
}

fn rules_of(spec: &BgpFilterSpec, direction: FilterDirection, ipv6: bool) -> &[BgpFilterRule] {
    match (direction, ipv6) {
        (FilterDirection::Import, false) => &spec.import_v4,
        (FilterDirection::Export, false) => &spec.export_v4,
        (FilterDirection::Import, true) => &spec.import_v6,
        (FilterDirection::Export, true) => &spec.export_v6,
    }
}

/// Every declared BGPFilter's functions: by filter name, then (as confd's
/// per-daemon loop) import before export; IPv4 functions before IPv6 ones.
pub(super) fn functions(m: &Model) -> Result<Vec<BgpFilterFn>, LowerError> {
    let mut filters: Vec<&Resource<BgpFilterSpec>> = m.bgp_filters.iter().collect();
    filters.sort_by(|a, b| a.meta.name.cmp(&b.meta.name));
    let mut out = Vec::new();
    for ipv6 in [false, true] {
        for f in &filters {
            for direction in [FilterDirection::Import, FilterDirection::Export] {
                let rules = rules_of(&f.spec, direction, ipv6);
                if rules.is_empty() {
                    continue;
                }
                let rules = rules
                    .iter()
                    .map(|r| rule(&f.meta.name, r, ipv6))
                    .collect::<Result<Vec<_>, _>>()?;
                out.push(BgpFilterFn {
                    filter: f.meta.name.clone(),
                    direction,
                    ipv6,
                    symbol: symbol(&f.meta.name, direction, ipv6),
                    takes_peer_type: rules.iter().any(|r| r.peer_type.is_some()),
                    rules,
                });
            }
        }
    }
    Ok(out)
}

/// The calls a session with filters `names` makes in `direction`: one per
/// listed filter with rules for the family, in the listed order.
pub(super) fn calls(
    m: &Model,
    names: &[String],
    direction: FilterDirection,
    ipv6: bool,
    same_as: bool,
) -> Vec<FilterCall> {
    let mut out: Vec<FilterCall> = Vec::new();
    for name in names {
        let Some(f) = m.bgp_filter(name) else {
            continue; // validation rejects unknown names (E0513)
        };
        let rules = rules_of(&f.spec, direction, ipv6);
        if rules.is_empty() {
            continue;
        }
        let takes_peer_type = rules
            .iter()
            .any(|r| r.peer_type.as_deref().is_some_and(|p| !p.is_empty()));
        out.push(FilterCall {
            symbol: symbol(name, direction, ipv6),
            same_as: takes_peer_type.then_some(same_as),
        });
    }
    out
}

fn bad(filter: &str, what: String) -> LowerError {
    LowerError::Internal(format!("BGPFilter {filter}: {what}"))
}

fn community(filter: &str, v: &str) -> Result<Community, LowerError> {
    let parts: Vec<&str> = v.split(':').collect();
    let err = || bad(filter, format!("invalid community `{v}`"));
    match parts.as_slice() {
        [a, b] => Ok(Community::Standard(
            a.parse().map_err(|_| err())?,
            b.parse().map_err(|_| err())?,
        )),
        [a, b, c] => Ok(Community::Large(
            a.parse().map_err(|_| err())?,
            b.parse().map_err(|_| err())?,
            c.parse().map_err(|_| err())?,
        )),
        _ => Err(err()),
    }
}

fn asns(filter: &str, v: &[NumOrStr]) -> Result<Vec<u32>, LowerError> {
    v.iter()
        .map(|a| parse_as_number(a).map_err(|e| bad(filter, e)))
        .collect()
}

fn priority(filter: &str, p: i64) -> Result<u32, LowerError> {
    u32::try_from(p)
        .ok()
        .filter(|p| (1..BIRD_INT_MAX).contains(p))
        .ok_or_else(|| bad(filter, format!("priority {p} is outside 1..2147483646")))
}

fn rule(filter: &str, r: &BgpFilterRule, ipv6: bool) -> Result<FilterRule, LowerError> {
    let nonempty = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
    let prefix = match (nonempty(&r.cidr), nonempty(&r.match_operator)) {
        (Some(cidr), Some(op)) => {
            let cidr: IpNet = cidr
                .parse()
                .map_err(|_| bad(filter, format!("invalid cidr `{cidr}`")))?;
            let operator = match op.as_str() {
                "Equal" => MatchOperator::Equal,
                "NotEqual" => MatchOperator::NotEqual,
                "In" => MatchOperator::In,
                "NotIn" => MatchOperator::NotIn,
                other => return Err(bad(filter, format!("invalid matchOperator `{other}`"))),
            };
            // confd (filterMatchPrefixLength): min = max(cidr length, min),
            // max = min(family maximum, max).
            let lengths = match &r.prefix_length {
                None => None,
                Some(pl) => {
                    let len = i64::from(cidr.prefix_len());
                    let top = i64::from(cidr.max_prefix_len());
                    let lo = pl.min.map_or(len, |m| m.max(len));
                    let hi = pl.max.map_or(top, |m| m.min(top));
                    let lo = u8::try_from(lo).map_err(|_| bad(filter, "prefixLength".into()))?;
                    let hi = u8::try_from(hi).map_err(|_| bad(filter, "prefixLength".into()))?;
                    if lo > hi {
                        return Err(bad(filter, format!("empty prefixLength range {lo}..{hi}")));
                    }
                    Some((lo, hi))
                }
            };
            if cidr.addr().is_ipv6() != ipv6 {
                return Err(bad(filter, format!("cidr {cidr} of the wrong family")));
            }
            Some(PrefixMatch {
                operator,
                cidr,
                lengths,
            })
        }
        (None, None) => None,
        _ => return Err(bad(filter, "cidr and matchOperator go together".into())),
    };
    let remote_peers_only = match nonempty(&r.source).as_deref() {
        None => false,
        Some("RemotePeers") => true,
        Some(other) => return Err(bad(filter, format!("invalid source `{other}`"))),
    };
    let peer_type = match nonempty(&r.peer_type).as_deref() {
        None => None,
        Some("iBGP") => Some(PeerType::Ibgp),
        Some("eBGP") => Some(PeerType::Ebgp),
        Some(other) => return Err(bad(filter, format!("invalid peerType `{other}`"))),
    };
    let action = match r.action.as_deref() {
        Some("Accept") => FilterAction::Accept,
        Some("Reject") => FilterAction::Reject,
        other => return Err(bad(filter, format!("invalid action {other:?}"))),
    };
    let community_match = match &r.communities {
        None => None,
        Some(c) => match c.values.as_slice() {
            [v] => Some(community(filter, v)?),
            _ => return Err(bad(filter, "communities.values must hold one value".into())),
        },
    };
    let operations = r
        .operations
        .iter()
        .map(|op| operation(filter, op))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(FilterRule {
        prefix,
        remote_peers_only,
        interface: nonempty(&r.interface),
        community: community_match,
        as_path_prefix: asns(filter, &r.as_path_prefix)?,
        priority: r.priority.map(|p| priority(filter, p)).transpose()?,
        peer_type,
        operations,
        action,
    })
}

fn operation(filter: &str, op: &BgpFilterOperation) -> Result<FilterOperation, LowerError> {
    match (&op.add_community, &op.prepend_as_path, &op.set_priority) {
        (Some(a), None, None) => {
            let v = a
                .value
                .as_deref()
                .ok_or_else(|| bad(filter, "addCommunity without value".into()))?;
            Ok(FilterOperation::AddCommunity(community(filter, v)?))
        }
        (None, Some(p), None) => Ok(FilterOperation::PrependAsPath(asns(filter, &p.prefix)?)),
        (None, None, Some(p)) => {
            let v = p
                .value
                .ok_or_else(|| bad(filter, "setPriority without value".into()))?;
            Ok(FilterOperation::SetPriority(priority(filter, v)?))
        }
        _ => Err(bad(filter, "an operation sets exactly one field".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::BgpFilterPrefixLength;

    fn with_lengths(cidr: &str, min: Option<i64>, max: Option<i64>) -> Option<(u8, u8)> {
        let r = BgpFilterRule {
            cidr: Some(cidr.into()),
            match_operator: Some("In".into()),
            prefix_length: Some(BgpFilterPrefixLength { min, max }),
            action: Some("Accept".into()),
            ..Default::default()
        };
        let v6 = cidr.contains(':');
        rule("f", &r, v6)
            .ok()
            .and_then(|r| r.prefix)
            .and_then(|p| p.lengths)
    }

    #[test]
    fn prefix_lengths_are_clamped_as_confd_does() {
        // min below the cidr's own length is raised to it; max defaults to the family's.
        assert_eq!(with_lengths("10.0.0.0/16", Some(8), None), Some((16, 32)));
        assert_eq!(with_lengths("10.0.0.0/16", None, Some(24)), Some((16, 24)));
        assert_eq!(with_lengths("fd00::/48", Some(64), None), Some((64, 128)));
        // An empty range is an error, never an invalid BIRD pattern.
        assert_eq!(with_lengths("10.0.0.0/16", None, Some(8)), None);
    }

    #[test]
    fn peer_type_makes_the_call_take_the_as_relation() {
        let yaml = "apiVersion: projectcalico.org/v3\nkind: BGPFilter\nmetadata: {name: f}\nspec:\n  importV4: [{action: Reject, peerType: eBGP}]\n  exportV4: [{action: Accept}]\n";
        let mut sm = crate::SourceMap::new();
        let id = sm.add("t.yaml", yaml);
        let (raws, _) = crate::load::load_source(id, &sm);
        let (valid, diags) = crate::validate::validate(raws);
        let Some(valid) = valid else {
            panic!("{:?}", diags.items);
        };
        let m: &Model = &valid;
        let names = vec!["f".to_string(), "missing".to_string()];
        let import = calls(m, &names, FilterDirection::Import, false, false);
        assert_eq!(import.len(), 1);
        assert_eq!(import[0].same_as, Some(false));
        let export = calls(m, &names, FilterDirection::Export, false, true);
        assert_eq!(export[0].same_as, None);
        // No IPv6 rules: no IPv6 calls.
        assert!(calls(m, &names, FilterDirection::Import, true, true).is_empty());
        let fns = functions(m).expect("functions");
        assert_eq!(
            fns.iter().map(|f| f.symbol.as_str()).collect::<Vec<_>>(),
            ["bgp_f_importFilterV4", "bgp_f_exportFilterV4"]
        );
        assert!(fns[0].takes_peer_type && !fns[1].takes_peer_type);
    }

    #[test]
    fn symbols_fit_bird() {
        assert_eq!(
            symbol("my-filter", FilterDirection::Import, false),
            "bgp_my-filter_importFilterV4"
        );
        let long = "a".repeat(100);
        let s = symbol(&long, FilterDirection::Export, true);
        assert_eq!(s.len(), 64);
        // 45 characters for the name: 28 kept, `_`, 16 hex digits.
        assert!(s.starts_with(&format!("bgp_{}_", "a".repeat(28))));
        // The hash is SHA-256 of the whole name: differs for names that
        // share the kept head.
        let other = format!("{}b", "a".repeat(99));
        assert_ne!(s, symbol(&other, FilterDirection::Export, true));
        // Exactly 45 characters: kept whole.
        let edge = "b".repeat(45);
        assert_eq!(
            symbol(&edge, FilterDirection::Import, false),
            format!("bgp_{edge}_importFilterV4")
        );
    }
}
