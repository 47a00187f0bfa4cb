//! The firewall as one nftables table, `inet netc` (`nftables.nft`).
//!
//! A plain translation of [`Firewall`]: every IR chain becomes an nft chain
//! of the same name, every address set a named interval set, every dispatch
//! stage a verdict map on the interface name (so per-packet work does not
//! grow with the number of endpoints or networks).
//!
//! The file replaces the table atomically (foomuuri's idiom):
//!
//! ```text
//! table inet netc          # create it if missing, so the delete cannot fail
//! delete table inet netc   # drop it with every chain, set and element
//! table inet netc { ... }  # and define it again
//! ```
//!
//! `nft -f` runs the three as one transaction: a load either replaces the
//! whole table or changes nothing, and sets never keep stale elements
//! (`flush table` would keep them, and flushing an interval set then
//! re-adding is quadratic in the kernel — docs/lab-facts.md, "nftables").
//!
//! A rule that references an empty address set (a selector that selects
//! nothing, or nothing of that family) can never match: it is left out,
//! with a `#` note in its place.
//!
//! Base chains: raw prerouting/output (priority raw, doNotTrack), mangle
//! prerouting (priority mangle, preDNAT — before DNAT, as Felix), filter
//! input/forward/output (priority filter), nat postrouting (srcnat). All
//! have policy accept: netc only drops what a policy drops.
//!
//! Injection: chain, set and map names are re-checked against
//! `[a-z][a-z0-9_-]*` with a `-` (never an nft keyword) and replaced by a
//! hash when they do not conform; interface names that are not
//! `[A-Za-z0-9_.-]{1,15}` are left out of dispatch maps (validation rejects
//! them first); comments and log prefixes are reduced to printable ASCII
//! without `"` and `\` (nft strings have no escapes) and truncated.

use netc_ir::Protocol;
use netc_ir::*;
use std::fmt::Write;

/// nft's comment length limit (NFT_USERDATA_MAXLEN is 256, but the
/// comment attribute is capped at 128 bytes including the NUL).
const MAX_COMMENT: usize = 127;

pub fn emit(ir: &HostIr) -> String {
    let fw = &ir.firewall;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "# netc firewall for node {}: generated, do not edit.",
        line_comment(&ir.node)
    );
    o.push_str(
        "# `nft -f` loads this file as one transaction: the table is created if missing,\n\
         # deleted with all its chains and sets, and defined again.\n",
    );
    let _ = writeln!(o, "table inet {NFT_TABLE}");
    let _ = writeln!(o, "delete table inet {NFT_TABLE}");
    let _ = writeln!(o, "table inet {NFT_TABLE} {{");
    let mut first = true;
    let mut block = |o: &mut String, text: String| {
        if !first {
            o.push('\n');
        }
        first = false;
        o.push_str(&text);
    };

    for s in &fw.sets {
        // One-address sets are written inline in their rules (see `inline_set`):
        // a node with thousands of single-CIDR rules would otherwise carry
        // thousands of named sets, and every `nft list` of the table slows
        // down with the number of sets.
        if inline_set(fw, &Ref::from(&s.name)).is_none() {
            block(&mut o, set(s));
        }
    }
    for d in &fw.dispatch {
        if let Some(m) = dispatch_map(d) {
            block(&mut o, m);
        }
    }
    for h in &fw.hooks {
        block(&mut o, hook_chain(fw, h));
    }
    if !fw.nat.is_empty() {
        block(&mut o, nat_chain(fw));
    }
    for d in &fw.dispatch {
        block(&mut o, dispatch_chain(d));
    }
    for k in &fw.continuations {
        let mut c = Chain::new(&k.name);
        for s in &k.stages {
            c.rule(format!("jump {}", s), "");
        }
        c.rule("accept".into(), "the later stages made no decision");
        block(&mut o, c.finish());
    }
    for f in &fw.failsafes {
        block(&mut o, failsafe_chain(f));
    }
    for e in &fw.endpoint_chains {
        block(&mut o, endpoint_chain(fw, e));
    }
    for t in &fw.tiers {
        block(&mut o, tier_chain(fw, t));
    }
    for p in &fw.policies {
        block(&mut o, policy_chain(fw, p));
    }
    o.push_str("}\n");
    o
}

/// A regular chain being written.
struct Chain {
    text: String,
}

impl Chain {
    fn new(n: impl std::fmt::Display) -> Chain {
        Chain {
            text: format!("\tchain {} {{\n", n),
        }
    }
    fn base(n: &str, ty: &str, hook: &str, prio: &str) -> Chain {
        let mut c = Chain::new(n);
        let _ = writeln!(
            c.text,
            "\t\ttype {ty} hook {hook} priority {prio}; policy accept;"
        );
        c
    }
    fn rule(&mut self, stmt: String, comment: &str) {
        self.text.push_str("\t\t");
        self.text.push_str(&stmt);
        if !comment.is_empty() {
            let _ = write!(self.text, " comment \"{}\"", string(comment, MAX_COMMENT));
        }
        self.text.push('\n');
    }
    fn line_comment(&mut self, text: &str) {
        let _ = writeln!(self.text, "\t\t# {}", string(text, 200));
    }
    fn finish(mut self) -> String {
        self.text.push_str("\t}\n");
        self.text
    }
}

fn set(s: &AddrSet) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "\tset {} {{", &s.name);
    let ty = match s.family {
        Family::V4 => "ipv4_addr",
        Family::V6 => "ipv6_addr",
    };
    let _ = writeln!(o, "\t\ttype {ty}");
    o.push_str("\t\tflags interval\n");
    if !s.comment.is_empty() {
        let _ = writeln!(o, "\t\tcomment \"{}\"", string(&s.comment, MAX_COMMENT));
    }
    let elements: Vec<String> = s
        .elements
        .iter()
        .filter(|e| family_of(e) == s.family)
        .map(|e| e.to_string())
        .collect();
    if !elements.is_empty() {
        o.push_str("\t\telements = {");
        for (i, chunk) in elements.chunks(4).enumerate() {
            if i > 0 {
                o.push(',');
            }
            o.push_str("\n\t\t\t");
            o.push_str(&chunk.join(", "));
        }
        o.push_str("\n\t\t}\n");
    }
    o.push_str("\t}\n");
    o
}

fn family_of(n: &ipnet::IpNet) -> Family {
    match n {
        ipnet::IpNet::V4(_) => Family::V4,
        ipnet::IpNet::V6(_) => Family::V6,
    }
}

fn map_name(d: &DispatchChain) -> String {
    format!("{}-map", &d.name)
}

fn dispatch_map(d: &DispatchChain) -> Option<String> {
    let entries: Vec<String> = d
        .entries
        .iter()
        .filter(|e| netc_ir::IfName::is_valid(&e.iface))
        .map(|e| {
            let v = match &e.chain {
                Some(c) => format!("goto {}", c),
                None => "return".to_string(),
            };
            format!("\"{}\" : {v}", e.iface)
        })
        .collect();
    if entries.is_empty() {
        return None;
    }
    let mut o = String::new();
    let _ = writeln!(o, "\tmap {} {{", map_name(d));
    o.push_str("\t\ttype ifname : verdict\n");
    o.push_str("\t\telements = {");
    for (i, e) in entries.iter().enumerate() {
        if i > 0 {
            o.push(',');
        }
        o.push_str("\n\t\t\t");
        o.push_str(e);
    }
    o.push_str("\n\t\t}\n\t}\n");
    Some(o)
}

fn dispatch_chain(d: &DispatchChain) -> String {
    let mut c = Chain::new(&d.name);
    let field = match d.dir {
        IfaceDir::In => "iifname",
        IfaceDir::Out => "oifname",
    };
    if d.entries
        .iter()
        .any(|e| netc_ir::IfName::is_valid(&e.iface))
    {
        c.rule(format!("{field} vmap @{}", map_name(d)), "");
    }
    if let Some(f) = &d.fallback {
        c.rule(format!("goto {}", f), "host endpoint *");
    }
    c.finish()
}

fn hook_chain(fw: &Firewall, h: &HookChain) -> String {
    let (n, ty, hook, prio) = match h.hook {
        Hook::RawPrerouting => ("hook-raw-prerouting", "filter", "prerouting", "raw"),
        Hook::RawOutput => ("hook-raw-output", "filter", "output", "raw"),
        Hook::PreDnat => ("hook-prednat", "filter", "prerouting", "mangle"),
        Hook::Input => ("hook-input", "filter", "input", "filter"),
        Hook::Forward => ("hook-forward", "filter", "forward", "filter"),
        Hook::Output => ("hook-output", "filter", "output", "filter"),
    };
    let mut c = Chain::base(n, ty, hook, prio);
    if h.accept_untracked {
        c.rule(
            format!(
                "meta mark & {MARK_UNTRACKED_ALLOW:#010x} == {MARK_UNTRACKED_ALLOW:#010x} accept"
            ),
            "allowed by a doNotTrack policy",
        );
    }
    if !h.accept_icmpv6.is_empty() {
        let types: Vec<String> = h.accept_icmpv6.iter().map(u8::to_string).collect();
        c.rule(
            format!(
                "meta l4proto icmpv6 icmpv6 type {{ {} }} accept",
                types.join(", ")
            ),
            "IPv6 neighbour discovery",
        );
    }
    if h.conntrack {
        c.rule("ct state established,related accept".into(), "");
        c.rule("ct state invalid drop".into(), "");
    }
    for r in &h.accept {
        let m = matches(fw, &r.matches);
        c.rule(
            if m.is_empty() {
                "accept".into()
            } else {
                format!("{m} accept")
            },
            &r.comment,
        );
    }
    for s in &h.stages {
        c.rule(format!("jump {}", s), "");
    }
    c.finish()
}

fn nat_chain(fw: &Firewall) -> String {
    let mut c = Chain::base("hook-nat-postrouting", "nat", "postrouting", "srcnat");
    for r in &fw.nat {
        let f = addr_kw(r.family);
        c.rule(
            format!(
                "{f} saddr @{} {f} daddr != @{} masquerade",
                &r.from_set, &r.not_to_set
            ),
            &r.comment,
        );
    }
    c.finish()
}

/// One rule per port side, matching (protocol, port) in an anonymous set.
fn failsafe_chain(f: &FailsafeChain) -> String {
    let mut c = Chain::new(&f.name);
    for (side, kw) in [(PortSide::Dst, "dport"), (PortSide::Src, "sport")] {
        let items: Vec<String> = f
            .rules
            .iter()
            .filter(|r| r.side == side)
            .map(|r| format!("{} . {}", proto(r.protocol), r.port))
            .collect();
        if !items.is_empty() {
            c.rule(
                format!("meta l4proto . th {kw} {{ {} }} accept", items.join(", ")),
                &f.comment,
            );
        }
    }
    c.finish()
}

/// The statement(s) that allow.
fn on_allow(a: &OnAllow) -> String {
    match a {
        OnAllow::Accept => "accept".into(),
        OnAllow::AcceptUntracked => {
            format!("meta mark set meta mark | {MARK_UNTRACKED_ALLOW:#010x} notrack accept")
        }
        OnAllow::Then(k) => format!("goto {}", k),
    }
}

fn clear_pass() -> String {
    format!("meta mark set meta mark & {:#010x}", !MARK_PASS)
}

fn endpoint_chain(fw: &Firewall, e: &EndpointChain) -> String {
    let mut c = Chain::new(&e.name);
    if let Some(f) = &e.failsafe {
        c.rule(format!("jump {}", f), "");
    }
    for t in &e.tiers {
        let tc = fw.tier(t);
        c.rule(
            format!("jump {}", t),
            &tc.map(|t| format!("tier {}", t.tier)).unwrap_or_default(),
        );
        if tc.is_some_and(|t| fw.tier_passes(t)) {
            c.rule(clear_pass(), "");
        }
    }
    let what = format!("{} default", e.endpoint);
    match e.default {
        Verdict::Allow => c.rule(on_allow(&e.on_allow), &what),
        Verdict::Drop => c.rule("drop".into(), &what),
        Verdict::Return => {}
    }
    c.finish()
}

fn tier_chain(fw: &Firewall, t: &TierChain) -> String {
    let mut c = Chain::new(&t.name);
    if fw.tier_passes(t) {
        c.rule(clear_pass(), "");
    }
    for p in &t.policies {
        let pc = fw.policy(p);
        c.rule(
            format!("jump {}", p),
            &pc.map(|p| p.policy.clone()).unwrap_or_default(),
        );
        if pc.is_some_and(PolicyChain::has_pass) {
            c.rule(
                format!("meta mark & {MARK_PASS:#010x} == {MARK_PASS:#010x} return"),
                "passed",
            );
        }
    }
    if t.end_drop {
        c.rule(
            "drop".into(),
            &format!("end of tier {}: no policy allowed or passed", t.tier),
        );
    }
    c.finish()
}

fn policy_chain(fw: &Firewall, p: &PolicyChain) -> String {
    let mut c = Chain::new(&p.name);
    for r in &p.rules {
        // An address in an empty set: the rule can never match.
        let empty = [&r.matches.src, &r.matches.dst]
            .iter()
            .flat_map(|s| s.in_sets.iter())
            .find(|n| fw.set(n).is_some_and(|s| s.elements.is_empty()));
        if let Some(n) = empty {
            c.line_comment(&format!("{}: never matches (set {n} is empty)", r.comment));
            continue;
        }
        let m = matches(fw, &r.matches);
        let act = match r.action {
            RuleAction::Allow => on_allow(&p.on_allow),
            RuleAction::Deny => "drop".into(),
            RuleAction::Log => format!("log prefix \"{}\"", log_prefix(&p.log_prefix)),
            RuleAction::Pass => format!("meta mark set meta mark | {MARK_PASS:#010x} return"),
        };
        let stmt = if m.is_empty() {
            act
        } else {
            format!("{m} {act}")
        };
        c.rule(stmt, &r.comment);
    }
    c.finish()
}

fn addr_kw(f: Family) -> &'static str {
    match f {
        Family::V4 => "ip",
        Family::V6 => "ip6",
    }
}

fn proto(p: Protocol) -> String {
    match p {
        Protocol::Tcp => "tcp".into(),
        Protocol::Udp => "udp".into(),
        Protocol::Icmp => "icmp".into(),
        Protocol::IcmpV6 => "icmpv6".into(),
        Protocol::Sctp => "sctp".into(),
        Protocol::UdpLite => "udplite".into(),
        Protocol::Number(n) => n.to_string(),
    }
}

fn ports(p: &PortSet) -> String {
    let items: Vec<String> = p
        .iter()
        .map(|(lo, hi)| {
            if lo == hi {
                lo.to_string()
            } else {
                format!("{lo}-{hi}")
            }
        })
        .collect();
    if items.len() == 1 {
        items[0].clone()
    } else {
        format!("{{ {} }}", items.join(", "))
    }
}

/// The literal to write instead of `@set` when the set holds exactly one
/// network and nothing refers to it by name (NAT rules do).
fn inline_set(fw: &Firewall, set_name: &Ref<AddrSet>) -> Option<String> {
    if fw
        .nat
        .iter()
        .any(|r| &r.from_set == set_name || &r.not_to_set == set_name)
    {
        return None;
    }
    match fw.set(set_name).map(|s| s.elements.as_slice()) {
        Some([one]) => Some(one.to_string()),
        _ => None,
    }
}

/// The match part of a rule (empty: matches every packet).
fn matches(fw: &Firewall, m: &Match) -> String {
    let mut parts: Vec<String> = Vec::new();
    let uses_sets = [&m.src, &m.dst]
        .iter()
        .any(|s| !s.in_sets.is_empty() || !s.not_in_sets.is_empty());
    let icmp_proto = matches!(m.protocol, Some(Protocol::Icmp) | Some(Protocol::IcmpV6));
    if let Some(f) = m.family {
        if !uses_sets && !icmp_proto {
            parts.push(format!(
                "meta nfproto {}",
                match f {
                    Family::V4 => "ipv4",
                    Family::V6 => "ipv6",
                }
            ));
        }
    }
    if let Some(p) = m.protocol {
        parts.push(format!("meta l4proto {}", proto(p)));
    }
    if let Some(p) = m.not_protocol {
        parts.push(format!("meta l4proto != {}", proto(p)));
    }
    for (s, dir) in [(&m.src, "s"), (&m.dst, "d")] {
        let kw = addr_kw(m.family.unwrap_or(Family::V4));
        let set_ref = |n: &Ref<AddrSet>| inline_set(fw, n).unwrap_or_else(|| format!("@{n}"));
        for n in &s.in_sets {
            parts.push(format!("{kw} {dir}addr {}", set_ref(n)));
        }
        for n in &s.not_in_sets {
            parts.push(format!("{kw} {dir}addr != {}", set_ref(n)));
        }
        if !s.ports.is_empty() {
            parts.push(format!("th {dir}port {}", ports(&s.ports)));
        }
        if !s.not_ports.is_empty() {
            parts.push(format!("th {dir}port != {}", ports(&s.not_ports)));
        }
    }
    let icmp_kw = if m.protocol == Some(Protocol::IcmpV6) {
        "icmpv6"
    } else {
        "icmp"
    };
    if let Some(i) = &m.icmp {
        parts.push(format!("{icmp_kw} type {}", i.icmp_type));
        if let Some(code) = i.code {
            parts.push(format!("{icmp_kw} code {code}"));
        }
    }
    if let Some(i) = &m.not_icmp {
        match i.code {
            None => parts.push(format!("{icmp_kw} type != {}", i.icmp_type)),
            Some(code) => parts.push(format!(
                "{icmp_kw} type . {icmp_kw} code != {{ {} . {code} }}",
                i.icmp_type
            )),
        }
    }
    parts.join(" ")
}

/// Text for inside `"..."`: printable ASCII, `"` → `'`, `\` → `/`, `$`
/// (nft expands variables in some strings) and other characters → `_`, at
/// most `max` bytes.
pub(crate) fn string(s: &str, max: usize) -> String {
    s.chars()
        .map(|c| match c {
            '"' => '\'',
            '\\' => '/',
            '$' => '_',
            c if c == ' ' || c.is_ascii_graphic() => c,
            _ => '_',
        })
        .take(max)
        .collect()
}

/// A log prefix: `[A-Za-z0-9 _.:/-]` only, at most 28 bytes (iptables' LOG
/// limit is 29 with the NUL).
pub(crate) fn log_prefix(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, ' ' | '_' | '.' | ':' | '/' | '-') {
                c
            } else {
                '_'
            }
        })
        .take(28)
        .collect()
}

/// Text for a `#` line comment: no line breaks.
fn line_comment(s: &str) -> String {
    string(s, 200)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings() {
        assert_eq!(string("a\"b\\c\nd;{}#$", 100), "a'b/c_d;{}#_");
        assert_eq!(log_prefix("a\"b $x: ok"), "a_b _x: ok");
        assert_eq!(string("ééé", 2), "__");
    }

    #[test]
    fn port_syntax() {
        assert_eq!(ports(&vec![(80, 80)]), "80");
        assert_eq!(ports(&vec![(22, 22), (1000, 2000)]), "{ 22, 1000-2000 }");
    }
}
