//! BGPFilter rules: Calico's CEL rules on BGPFilterRuleV4/V6
//! (api/pkg/apis/projectcalico/v3/bgpfilter.go) and its field validators
//! (libcalico-go validator: `bgpFilterInterface`, `bgpFilterPrefixLengthV4/V6`,
//! `netv4`/`netv6`), plus what BIRD would refuse in the function confd
//! renders from the rule (docs/diagnostics.md, E0520..E0526).
//!
//! Enumerations (action, matchOperator, source, peerType) and number ranges
//! are the schema's (schemas/bgpfilter.schema.json).

use super::bgp::community_problem;
use super::util::{ctx, parse_net_strict};
use super::Ctx;
use crate::diag::{codes, Diagnostic};
use crate::model::{BgpFilterRule, BgpFilterSpec, Kind, Model};

pub(super) fn check(m: &Model, out: &mut Vec<Diagnostic>) {
    for r in &m.bgp_filters {
        let c = ctx(r, Kind::BGPFilter);
        for (list, rules) in r.spec.lists() {
            let v6 = list.ends_with("V6");
            for (i, rule) in rules.iter().enumerate() {
                check_rule(&c, &format!("/spec/{list}/{i}"), v6, rule, out);
            }
        }
    }
}

fn set(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|s| !s.is_empty())
}

fn check_rule(
    c: &Ctx<BgpFilterSpec>,
    at: &str,
    v6: bool,
    rule: &BgpFilterRule,
    out: &mut Vec<Diagnostic>,
) {
    let (fam, max_len) = if v6 {
        ("IPv6", 128i64)
    } else {
        ("IPv4", 32i64)
    };
    let list = at.split('/').nth(2).unwrap_or("");
    let cidr = set(&rule.cidr);
    let op = set(&rule.match_operator);
    match (cidr, op) {
        (Some(_), None) => out.push(
            c.err(
                codes::FILTER_CIDR_OPERATOR,
                &format!("{at}/cidr"),
                "`cidr` is set without `matchOperator`",
            )
            .label("needs matchOperator")
            .note("add matchOperator: Equal, NotEqual, In or NotIn; it says how the route's prefix is compared with the cidr"),
        ),
        (None, Some(_)) => out.push(
            c.err(
                codes::FILTER_CIDR_OPERATOR,
                &format!("{at}/matchOperator"),
                "`matchOperator` is set without `cidr`",
            )
            .label("nothing to compare with")
            .note("add the cidr the route's prefix is compared with, or remove matchOperator"),
        ),
        _ => {}
    }
    if rule.prefix_length.is_some() && cidr.is_none() {
        out.push(
            c.err_key(
                codes::FILTER_CIDR_OPERATOR,
                &format!("{at}/prefixLength"),
                "`prefixLength` needs `cidr`",
            )
            .label("no cidr to constrain")
            .note("prefixLength narrows a cidr match; add cidr and matchOperator, or remove it"),
        );
    }

    // The cidr: strictly masked (BIRD refuses host bits) and of the list's family.
    let mut net = None;
    if let Some(text) = cidr {
        match parse_net_strict(text) {
            Err(e) => out.push(
                c.err(
                    codes::FILTER_FAMILY,
                    &format!("{at}/cidr"),
                    format!("invalid cidr in {list}: {e}"),
                )
                .label(format!("not a strictly masked {fam} CIDR"))
                .note("write the network address with its prefix length, e.g. `10.0.0.0/8` or `fd00::/8`; BIRD refuses host bits"),
            ),
            Ok(n) if n.addr().is_ipv6() != v6 => out.push(
                c.err(
                    codes::FILTER_FAMILY,
                    &format!("{at}/cidr"),
                    format!(
                        "`{text}` is an {} CIDR in the {fam} list `{list}`",
                        if v6 { "IPv4" } else { "IPv6" }
                    ),
                )
                .label(format!("expected an {fam} CIDR"))
                .note("IPv4 rules go in importV4/exportV4, IPv6 rules in importV6/exportV6"),
            ),
            Ok(n) => net = Some(n),
        }
    }

    if let Some(pl) = &rule.prefix_length {
        let mut ok = true;
        for (which, v) in [("min", pl.min), ("max", pl.max)] {
            if let Some(v) = v {
                if !(0..=max_len).contains(&v) {
                    ok = false;
                    out.push(
                        c.err(
                            codes::FILTER_PREFIX_LENGTH,
                            &format!("{at}/prefixLength/{which}"),
                            format!("prefixLength {which} {v} is outside 0..{max_len}"),
                        )
                        .label(format!("{fam} prefix lengths are 0..{max_len}")),
                    );
                }
            }
        }
        if let (true, Some(lo), Some(hi)) = (ok, pl.min, pl.max) {
            if lo > hi {
                ok = false;
                out.push(
                    c.err(
                        codes::FILTER_PREFIX_LENGTH,
                        &format!("{at}/prefixLength/min"),
                        format!("prefixLength min {lo} is greater than max {hi}"),
                    )
                    .label("min above max")
                    .related(
                        c.r.origin.value_span(&format!("{at}/prefixLength/max")),
                        "max here",
                    )
                    .note("the rule would match no prefix length"),
                );
            }
        }
        if let (true, Some(n)) = (ok, net) {
            // confd: [ cidr{max(len, min), min(maxlen, max)} ].
            let len = i64::from(n.prefix_len());
            let lo = pl.min.unwrap_or(len).max(len);
            let hi = pl.max.unwrap_or(max_len).min(max_len);
            if lo > hi {
                out.push(
                    c.err(
                        codes::FILTER_PREFIX_LENGTH,
                        &format!("{at}/prefixLength/max"),
                        format!("prefixLength max {hi} is shorter than the cidr's own /{len}"),
                    )
                    .label(format!("below /{len}"))
                    .related(c.r.origin.value_span(&format!("{at}/cidr")), "cidr here")
                    .note("routes inside the cidr are at least as long as its prefix; confd would write the empty pattern `cidr{lo,hi}` with lo > hi, which BIRD refuses"),
                );
            }
        }
    }

    if let (Some(_), Some(op @ ("Equal" | "NotEqual"))) = (&rule.prefix_length, op) {
        out.push(
            c.warn(
                codes::FILTER_EQUAL_PREFIX_LENGTH,
                &format!("{at}/matchOperator"),
                format!(
                    "`{op}` with prefixLength {} in BIRD",
                    if op == "Equal" { "never matches" } else { "always matches" }
                ),
            )
            .label("compares a prefix with a prefix pattern")
            .related(
                c.r.origin.key_span(&format!("{at}/prefixLength")),
                "prefixLength makes the cidr a pattern",
            )
            .note("confd writes `(net = [ cidr{min,max} ])`, and BIRD's `=` is false between a prefix and a pattern; netc writes the same. Use In/NotIn for a range of lengths, or drop prefixLength"),
        );
    }
    if let Some(iface) = &rule.interface {
        let ok = iface == "*"
            || ((1..=15).contains(&iface.len())
                && iface
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'*' | b'-')));
        if !ok {
            out.push(
                c.err(
                    codes::FILTER_INTERFACE,
                    &format!("{at}/interface"),
                    format!("`{iface}` is not a valid interface pattern"),
                )
                .label("invalid interface pattern")
                .note("1..15 characters of `[A-Za-z0-9_.-]` and `*` wildcards, e.g. `eth0` or `vxlan*`"),
            );
        }
    }

    if let Some(com) = &rule.communities {
        if com.values.len() != 1 {
            out.push(
                c.err(
                    codes::FILTER_COMMUNITY,
                    &format!("{at}/communities/values"),
                    format!("communities.values has {} values", com.values.len()),
                )
                .label("exactly one value")
                .note("Calico matches one community per rule; write one rule per community"),
            );
        }
        for (j, v) in com.values.iter().enumerate() {
            if let Some(why) = community_problem(v) {
                out.push(
                    c.err(
                        codes::FILTER_COMMUNITY,
                        &format!("{at}/communities/values/{j}"),
                        format!("invalid community `{v}`: {why}"),
                    )
                    .label("invalid community")
                    .note("`aa:nn` (0..65535 each) or `aa:nn:mm` (0..4294967295 each)"),
                );
            }
        }
    }

    for (j, a) in rule.as_path_prefix.iter().enumerate() {
        super::bgp::as_number(c, &format!("{at}/asPathPrefix/{j}"), a, out);
    }

    let accept = rule.action.as_deref() == Some("Accept");
    if !accept && !rule.operations.is_empty() {
        out.push(
            c.err_key(
                codes::FILTER_OPERATION,
                &format!("{at}/operations"),
                "operations are only allowed with action Accept",
            )
            .label("on a rejected route")
            .related(
                c.r.origin.value_span(&format!("{at}/action")),
                "action here",
            )
            .note(
                "a rejected route is dropped, so modifying it has no effect; Calico rejects this",
            ),
        );
    }
    for (j, op) in rule.operations.iter().enumerate() {
        let p = format!("{at}/operations/{j}");
        let fields: Vec<&str> = [
            ("addCommunity", op.add_community.is_some()),
            ("prependASPath", op.prepend_as_path.is_some()),
            ("setPriority", op.set_priority.is_some()),
        ]
        .into_iter()
        .filter(|(_, set)| *set)
        .map(|(f, _)| f)
        .collect();
        match fields.as_slice() {
            [_] => {}
            [] => out.push(
                c.err(codes::FILTER_OPERATION, &p, "an operation sets no field")
                    .label("set one of addCommunity, prependASPath, setPriority"),
            ),
            [first, rest @ ..] => {
                for f in rest {
                    out.push(
                        c.err_key(
                            codes::FILTER_OPERATION,
                            &format!("{p}/{f}"),
                            format!("an operation sets both `{first}` and `{f}`"),
                        )
                        .label("second field of one operation")
                        .related(c.r.origin.key_span(&format!("{p}/{first}")), "first field")
                        .note("each operation sets exactly one field; write each modification as its own list entry (they are applied in order)"),
                    );
                }
            }
        }
        if let Some(v) = op.add_community.as_ref().and_then(|a| a.value.as_ref()) {
            if let Some(why) = community_problem(v) {
                out.push(
                    c.err(
                        codes::FILTER_COMMUNITY,
                        &format!("{p}/addCommunity/value"),
                        format!("invalid community `{v}`: {why}"),
                    )
                    .label("invalid community")
                    .note("`aa:nn` (0..65535 each) or `aa:nn:mm` (0..4294967295 each)"),
                );
            }
        }
        if let Some(pp) = &op.prepend_as_path {
            for (k, a) in pp.prefix.iter().enumerate() {
                if let Some(asn) =
                    super::bgp::as_number(c, &format!("{p}/prependASPath/prefix/{k}"), a, out)
                {
                    if asn == 0 {
                        out.push(
                            c.err(
                                codes::FILTER_OPERATION,
                                &format!("{p}/prependASPath/prefix/{k}"),
                                "AS 0 cannot be prepended",
                            )
                            .label("reserved AS")
                            .note("AS 0 is reserved (RFC 7607); BGP speakers drop paths containing it"),
                        );
                    }
                }
            }
        }
    }
}
