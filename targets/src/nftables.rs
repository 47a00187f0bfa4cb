//! The firewall as one nftables table, `inet netc` (`nftables.nft`).
//!
//! A translation of [`Firewall`]: every IR chain becomes an nft chain of
//! the same name, every address set a named interval set, every dispatch
//! stage a verdict map on the interface name (so per-packet work does not
//! grow with the number of endpoints or networks). One rewrite: [`emit`]
//! merges a tier's runs of same-verdict rules into concatenated interval
//! sets when at least four rules of a run share a shape (`merge`, whose
//! module comment argues why the verdicts stay the same); such a tier chain holds its policies'
//! rules inline, and a policy chain no other tier jumps to is not written.
//! [`emit_linear`] writes the IR one rule per rule, the reference the
//! differential test (`tests/differential.rs`) compares against.
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

mod merge;

/// nft's comment length limit (NFT_USERDATA_MAXLEN is 256, but the
/// comment attribute is capped at 128 bytes including the NUL).
const MAX_COMMENT: usize = 127;

/// The ruleset, with each tier's runs of same-verdict rules merged into
/// concatenated interval sets where that shortens it (`merge`).
pub fn emit(ir: &HostIr) -> String {
    emit_with(ir, Some(SHARD_ABOVE))
}

/// [`emit`] with merged sets split once they hold more than `shard_above`
/// elements (see [`SHARD_ABOVE`]): the differential test uses a small
/// value so that random policies reach it.
pub fn emit_sharded(ir: &HostIr, shard_above: usize) -> String {
    emit_with(ir, Some(shard_above.max(1)))
}

/// The ruleset one nft rule per IR rule, every tier chain jumping to its
/// policy chains: the reference the merged ruleset is tested against.
pub fn emit_linear(ir: &HostIr) -> String {
    emit_with(ir, None)
}

/// A merged set above this many elements is split into sets of at most
/// about half as many (a power of two of them, at most [`MAX_SHARDS`]),
/// each element placed by a hash of its value ([`shard_of`]), each set
/// matched by a rule of its own with the same verdict. Why: the kernel
/// takes ~40 ms to remove one element from a 10,000-element concatenated
/// interval set (pipapo) and ~15 ms from sixteen sets of ~625, at 100,000
/// elements ~50 ms against ~20 ms in 64 sets (docs/lab-facts.md,
/// "nftables"), and an edited rule is an element removed and one added.
/// The rules commute (same verdict, disjoint elements) and loading is no
/// slower (the same elements), but a packet pays one lookup per set: a new
/// connection that matches no term kept 0.76–0.82 of the rate without a
/// ruleset with 16 sets, 0.85 with one (BENCHMARKS.md, "Datapath and
/// load", which weighs the two). The hash, not the order, places
/// an element, so an edit touches one set; the number of sets changes only
/// when a set's size crosses a power of two, and then the whole set is
/// replaced once.
pub const SHARD_ABOVE: usize = 2048;

/// At most this many sets for one merged set: 100,000 elements make 64 of
/// ~1,560.
const MAX_SHARDS: usize = 64;

/// How many sets a merged set of `n` elements is written as.
fn shard_count(n: usize, above: usize) -> usize {
    if n <= above {
        return 1;
    }
    let per = (above / 2).max(1);
    n.div_ceil(per).next_power_of_two().min(MAX_SHARDS)
}

/// The set (of `count`) that holds element `e`: FNV-1a over the element's
/// bounds, then MurmurHash3's 64-bit finaliser, whose mixing the low bits
/// need (FNV's low bits depend only on its input's low bits, and most of
/// an element's bytes are zero). Written out rather than std's
/// `DefaultHasher`, whose output may change between Rust releases: a new
/// placement would move every element of every split set (a whole reload,
/// once).
fn shard_of(e: &[merge::Iv], count: usize) -> usize {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (lo, hi) in e {
        for b in lo.to_le_bytes().into_iter().chain(hi.to_le_bytes()) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^= h >> 33;
    (h % count as u64) as usize
}

/// A merged set's elements, split into [`shard_count`] lists, each in the
/// set's order.
fn shards<'m>(m: &'m merge::Merged, above: usize) -> Vec<Vec<&'m [merge::Iv]>> {
    let count = shard_count(m.elements.len(), above);
    let mut out: Vec<Vec<&[merge::Iv]>> = vec![Vec::new(); count];
    for e in &m.elements {
        let j = if count == 1 { 0 } else { shard_of(e, count) };
        out[j].push(e);
    }
    out
}

/// `shard_above`: None for the linear ruleset (nothing merged), else the
/// size above which a merged set is split.
fn emit_with(ir: &HostIr, shard_above: Option<usize>) -> String {
    let optimise = shard_above.is_some();
    let above = shard_above.unwrap_or(usize::MAX);
    let fw = &ir.firewall;
    // Per tier chain (same order as `fw.tiers`): its merged body, if any.
    let _pl = netc_ir::timing::phase("nft.plan");
    let plans: Vec<Option<Vec<merge::Item>>> = fw
        .tiers
        .iter()
        .map(|t| {
            if optimise {
                merge::plan_tier(fw, t)
            } else {
                None
            }
        })
        .collect();
    drop(_pl);
    let _sets = netc_ir::timing::phase("nft.sets");
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

    // A policy chain only merged tiers referred to is not needed.
    let mut jumped_to: std::collections::BTreeMap<&Name, bool> = Default::default();
    for (t, plan) in fw.tiers.iter().zip(&plans) {
        for p in &t.policies {
            *jumped_to.entry(p.name()).or_default() |= plan.is_none();
        }
    }
    let inlined_only = |p: &PolicyChain| jumped_to.get(&p.name) == Some(&false);
    let dead = dead_sets(fw, &plans, &inlined_only);
    for s in &fw.sets {
        if dead.contains(&s.name) {
            continue;
        }
        // One-address sets are written inline in their rules (see `inline_set`):
        // a node with thousands of single-CIDR rules would otherwise carry
        // thousands of named sets, and every `nft list` of the table slows
        // down with the number of sets.
        if inline_set(fw, &Ref::from(&s.name)).is_none() {
            block(&mut o, set(s));
        }
    }
    drop(_sets);
    let _ms = netc_ir::timing::phase("nft.merged sets");
    for (t, plan) in fw.tiers.iter().zip(&plans) {
        for (k, m) in merged_sets(plan) {
            let split = shards(m, above);
            let count = split.len();
            // The parts are written on all cores (a part of ~600 elements
            // is one task; one after the other they took 7 ms more at
            // 10,000 rules).
            use rayon::prelude::*;
            let texts: Vec<String> = split
                .par_iter()
                .enumerate()
                .map(|(j, elements)| merged_set(&merged_set_name(t, k, j, count), m, elements))
                .collect();
            for text in texts {
                block(&mut o, text);
            }
        }
    }
    drop(_ms);
    let _ch = netc_ir::timing::phase("nft.chains");
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
    for (t, plan) in fw.tiers.iter().zip(&plans) {
        block(
            &mut o,
            match plan {
                Some(items) => merged_tier_chain(fw, t, items, above),
                None => tier_chain(fw, t),
            },
        );
    }
    for p in &fw.policies {
        if !inlined_only(p) {
            block(&mut o, policy_chain(fw, p));
        }
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
        .filter(|e| Family::of(e) == s.family)
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
        policy_rule(&mut c, fw, p, r);
    }
    c.finish()
}

/// One rule of a policy chain (also written inline in a merged tier chain).
fn policy_rule(c: &mut Chain, fw: &Firewall, p: &PolicyChain, r: &FwRule) {
    // An address in an empty set: the rule can never match.
    let empty = [&r.matches.src, &r.matches.dst]
        .iter()
        .flat_map(|s| s.in_sets.iter())
        .find(|n| fw.set(n).is_some_and(|s| s.elements.is_empty()));
    if let Some(n) = empty {
        c.line_comment(&format!("{}: never matches (set {n} is empty)", r.comment));
        return;
    }
    let m = matches(fw, &r.matches);
    let act = action(p, r.action);
    let stmt = if m.is_empty() {
        act
    } else {
        format!("{m} {act}")
    };
    c.rule(stmt, &r.comment);
}

fn action(p: &PolicyChain, a: RuleAction) -> String {
    match a {
        RuleAction::Allow => on_allow(&p.on_allow),
        RuleAction::Deny => "drop".into(),
        RuleAction::Log => format!("log prefix \"{}\"", log_prefix(&p.log_prefix)),
        RuleAction::Pass => format!("meta mark set meta mark | {MARK_PASS:#010x} return"),
    }
}

/// Address sets only merged rules referred to: their elements now live in
/// the merged sets, so they are not written.
fn dead_sets<'a>(
    fw: &'a Firewall,
    plans: &[Option<Vec<merge::Item<'a>>>],
    inlined_only: &dyn Fn(&PolicyChain) -> bool,
) -> foldhash::HashSet<&'a Name> {
    fn refs(m: &Match) -> impl Iterator<Item = &Name> {
        [&m.src, &m.dst]
            .into_iter()
            .flat_map(|s| s.in_sets.iter().chain(&s.not_in_sets))
            .map(|r| r.name())
    }
    // Hash sets: a node of 100,000 rules has 100,000 merged set names,
    // and ordered sets of them spent 80 ms comparing strings. Nothing
    // iterates the result: it is only asked whether it holds a name.
    let mut merged = foldhash::HashSet::default();
    let mut used = foldhash::HashSet::default();
    for item in plans.iter().flatten().flatten() {
        match item {
            merge::Item::Rule { rule, .. } => used.extend(refs(&rule.matches)),
            merge::Item::Merged(m) => {
                merged.extend(m.rules.iter().flat_map(|r| refs(&r.matches)));
            }
        }
    }
    for p in fw.policies.iter().filter(|p| !inlined_only(p)) {
        used.extend(p.rules.iter().flat_map(|r| refs(&r.matches)));
    }
    for h in &fw.hooks {
        used.extend(h.accept.iter().flat_map(|r| refs(&r.matches)));
    }
    for n in &fw.nat {
        used.insert(n.from_set.name());
        used.insert(n.not_to_set.name());
    }
    merged.retain(|n| !used.contains(n));
    merged
}

/// The merged items of a tier plan that have a set, numbered.
fn merged_sets<'p, 'a>(
    plan: &'p Option<Vec<merge::Item<'a>>>,
) -> impl Iterator<Item = (usize, &'p merge::Merged<'a>)> {
    plan.iter()
        .flatten()
        .filter_map(|i| match i {
            merge::Item::Merged(m) if !m.key.is_empty() => Some(m),
            _ => None,
        })
        .enumerate()
}

/// Set `j` of the `count` sets merged set `k` of tier `t` is written as.
fn merged_set_name(t: &TierChain, k: usize, j: usize, count: usize) -> String {
    if count == 1 {
        format!("{}-m{k}", &t.name)
    } else {
        format!("{}-m{k}-{j}", &t.name)
    }
}

fn field_type(f: merge::Field, fam: Family) -> &'static str {
    match (f, fam) {
        (merge::Field::SrcAddr | merge::Field::DstAddr, Family::V4) => "ipv4_addr",
        (merge::Field::SrcAddr | merge::Field::DstAddr, Family::V6) => "ipv6_addr",
        (merge::Field::SrcPort | merge::Field::DstPort, _) => "inet_service",
        (merge::Field::Proto, _) => "inet_proto",
    }
}

fn field_expr(f: merge::Field, fam: Family) -> &'static str {
    match (f, fam) {
        (merge::Field::SrcAddr, Family::V4) => "ip saddr",
        (merge::Field::DstAddr, Family::V4) => "ip daddr",
        (merge::Field::SrcAddr, Family::V6) => "ip6 saddr",
        (merge::Field::DstAddr, Family::V6) => "ip6 daddr",
        (merge::Field::SrcPort, _) => "th sport",
        (merge::Field::DstPort, _) => "th dport",
        (merge::Field::Proto, _) => "meta l4proto",
    }
}

/// One interval of a field as nft writes it: a value, a prefix or a range.
fn field_value(f: merge::Field, fam: Family, (lo, hi): merge::Iv) -> String {
    match f {
        merge::Field::SrcAddr | merge::Field::DstAddr => addr_interval(fam, lo, hi),
        merge::Field::SrcPort | merge::Field::DstPort if lo == hi => lo.to_string(),
        merge::Field::SrcPort | merge::Field::DstPort => format!("{lo}-{hi}"),
        merge::Field::Proto if lo == hi => match u8::try_from(lo) {
            Ok(n) => proto(Protocol::from_number(n)),
            Err(_) => lo.to_string(),
        },
        merge::Field::Proto => format!("{lo}-{hi}"),
    }
}

fn addr_interval(fam: Family, lo: u128, hi: u128) -> String {
    let bits: u32 = match fam {
        Family::V4 => 32,
        Family::V6 => 128,
    };
    let show = |x: u128| match fam {
        Family::V4 => std::net::Ipv4Addr::from(u32::try_from(x).unwrap_or(u32::MAX)).to_string(),
        Family::V6 => std::net::Ipv6Addr::from(x).to_string(),
    };
    if lo == hi {
        return show(lo);
    }
    // A prefix: lo aligned, size a power of two.
    let span = hi.wrapping_sub(lo).wrapping_add(1);
    let host_bits = if span == 0 {
        Some(bits) // the whole IPv6 space
    } else if span.is_power_of_two() {
        Some(span.trailing_zeros())
    } else {
        None
    };
    match host_bits {
        Some(h) if h <= bits && (h == 128 || lo & ((1u128 << h) - 1) == 0) => {
            format!("{}/{}", show(lo), bits - h)
        }
        _ => format!("{}-{}", show(lo), show(hi)),
    }
}

fn merged_set(name: &str, m: &merge::Merged, elements: &[&[merge::Iv]]) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "\tset {name} {{");
    let ty: Vec<&str> = m
        .key
        .iter()
        .map(|f| field_type(*f, m.addr_family))
        .collect();
    let _ = writeln!(o, "\t\ttype {}", ty.join(" . "));
    o.push_str("\t\tflags interval\n");
    // No comment on the set: the rule matching it names the source rules.
    // A set's declaration is compared whole, so a comment that names its
    // rules would change with every rule added or removed and turn an
    // element delta into a reload of the whole table.
    if elements.is_empty() {
        // One of a split set's parts can be empty: nft refuses `{ }`.
        o.push_str("\t}\n");
        return o;
    }
    o.push_str("\t\telements = {");
    // Written a run of elements per task, on all cores: a set merged from
    // 10,000 rules took 7 ms to write on one, after everything else.
    use rayon::prelude::*;
    let runs: Vec<String> = elements
        .par_chunks(2048)
        .enumerate()
        .map(|(c, chunk)| {
            let mut o = String::with_capacity(chunk.len() * 32);
            for (i, e) in chunk.iter().enumerate() {
                if c > 0 || i > 0 {
                    o.push(',');
                }
                o.push_str("\n\t\t\t");
                for (k, (f, iv)) in m.key.iter().zip(e.iter()).enumerate() {
                    if k > 0 {
                        o.push_str(" . ");
                    }
                    o.push_str(&field_value(*f, m.addr_family, *iv));
                }
            }
            o
        })
        .collect();
    runs.iter().for_each(|r| o.push_str(r));
    o.push_str("\n\t\t}\n\t}\n");
    o
}

/// `<n> rules: <source ranges>` when that fits nft's comment limit, else
/// `<n> rules: <first> .. <last>`.
fn merged_comment(sources: &[&str]) -> String {
    match sources {
        [] => String::new(),
        [one] => (*one).to_string(),
        [first, .., last] => {
            let ranges = format!(
                "{} rules: {}",
                sources.len(),
                source_lines(sources).join("; ")
            );
            if ranges.len() <= MAX_COMMENT {
                ranges
            } else {
                format!("{} rules: {first} .. {last}", sources.len())
            }
        }
    }
}

/// The source rules as `#` lines: consecutive `<prefix> rule <n>` comments
/// of one prefix as `<prefix> rules <a>-<b>` (annotations left out); at
/// most 20 lines.
fn source_lines(sources: &[&str]) -> Vec<String> {
    // `<prefix> rule <n>`, maybe followed by ` (<annotation>)` (a named
    // port's expansion, say): annotations are left out of the ranges.
    fn split(c: &str) -> Option<(&str, u64)> {
        let (prefix, rest) = c.rsplit_once(" rule ")?;
        let n = match rest.split_once(' ') {
            Some((n, note)) if note.starts_with('(') && note.ends_with(')') => n,
            Some(_) => return None,
            None => rest,
        };
        Some((prefix, n.parse().ok()?))
    }
    enum Group<'s> {
        /// `<prefix> rule <lo>` to `<prefix> rule <hi>`.
        Range(&'s str, u64, u64),
        Text(&'s str),
    }
    let mut groups: Vec<Group> = Vec::new();
    for s in sources {
        match (split(s), groups.last_mut()) {
            (Some((p, n)), Some(Group::Range(gp, _, hi)))
                if *gp == p && (*hi == n || hi.checked_add(1) == Some(n)) =>
            {
                *hi = n
            }
            (Some((p, n)), _) => groups.push(Group::Range(p, n, n)),
            (None, _) => groups.push(Group::Text(s)),
        }
    }
    let mut lines: Vec<String> = groups
        .into_iter()
        .map(|g| match g {
            Group::Range(p, lo, hi) if lo == hi => format!("{p} rule {lo}"),
            Group::Range(p, lo, hi) => format!("{p} rules {lo}-{hi}"),
            Group::Text(t) => t.to_string(),
        })
        .collect();
    if lines.len() > 20 {
        let more = lines.len() - 19;
        lines.truncate(19);
        lines.push(format!("... and {more} more"));
    }
    lines
}

fn merged_tier_chain(
    fw: &Firewall,
    t: &TierChain,
    items: &[merge::Item],
    shard_above: usize,
) -> String {
    let mut c = Chain::new(&t.name);
    if fw.tier_passes(t) {
        c.rule(clear_pass(), "");
    }
    let mut k = 0;
    for item in items {
        match item {
            merge::Item::Rule { policy, rule } => policy_rule(&mut c, fw, policy, rule),
            merge::Item::Merged(m) => {
                // The merged set's names: one, or one per part when it is
                // split (`SHARD_ABOVE`), each matched by its own rule.
                let sets: Vec<String> = if m.key.is_empty() {
                    Vec::new()
                } else {
                    k += 1;
                    let count = shard_count(m.elements.len(), shard_above);
                    (0..count)
                        .map(|j| merged_set_name(t, k - 1, j, count))
                        .collect()
                };
                let into = match sets.as_slice() {
                    [] => String::new(),
                    [one] => format!(" into @{one}"),
                    [first, .., last] => {
                        format!(" into @{first} .. @{last} ({} sets)", sets.len())
                    }
                };
                c.line_comment(&format!(
                    "{} rules of tier {} merged{into}:",
                    m.sources.len(),
                    t.tier,
                ));
                for l in source_lines(&m.sources) {
                    c.line_comment(&format!("  {l}"));
                }
                let lookups: Vec<Option<String>> = if sets.is_empty() {
                    vec![None]
                } else {
                    let key: Vec<&str> = m
                        .key
                        .iter()
                        .map(|f| field_expr(*f, m.addr_family))
                        .collect();
                    sets.iter()
                        .map(|s| Some(format!("{} @{s}", key.join(" . "))))
                        .collect()
                };
                // Named once for all of a split set's rules (100,000
                // source rules take ~5 ms to name).
                let comment = merged_comment(&m.sources);
                for lookup in lookups {
                    let parts = merged_rule(m, lookup);
                    c.rule(parts.join(" "), &comment);
                }
            }
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

/// The statements of one rule of a merged item: its constants, the set
/// lookup `lookup` (if its key has fields) and its verdict.
fn merged_rule(m: &merge::Merged, lookup: Option<String>) -> Vec<String> {
    let mut parts: Vec<String> = Vec::new();
    let has_addr = m
        .constants
        .iter()
        .map(|c| c.0)
        .chain(m.key.iter().copied())
        .any(|f| matches!(f, merge::Field::SrcAddr | merge::Field::DstAddr));
    if let (Some(f), false) = (m.family, has_addr) {
        parts.push(format!(
            "meta nfproto {}",
            match f {
                Family::V4 => "ipv4",
                Family::V6 => "ipv6",
            }
        ));
    }
    let mut constants = m.constants.clone();
    constants.sort_by_key(|(f, _)| match f {
        merge::Field::Proto => 0,
        merge::Field::SrcAddr => 1,
        merge::Field::SrcPort => 2,
        merge::Field::DstAddr => 3,
        merge::Field::DstPort => 4,
    });
    // A port is read only after the protocol is known: when the
    // protocol is a key field, the set lookup comes first.
    let proto_in_key = m.key.contains(&merge::Field::Proto);
    for (f, iv) in constants {
        let port = matches!(f, merge::Field::SrcPort | merge::Field::DstPort);
        if port && proto_in_key {
            if let Some(l) = &lookup {
                if !parts.contains(l) {
                    parts.push(l.clone());
                }
            }
        }
        parts.push(format!(
            "{} {}",
            field_expr(f, m.addr_family),
            field_value(f, m.addr_family, iv)
        ));
    }
    if let Some(l) = lookup {
        if !parts.contains(&l) {
            parts.push(l);
        }
    }
    parts.push(action(m.policy, m.action));
    parts
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
    let uses_sets = [&m.src, &m.dst].iter().any(|s| {
        !s.in_sets.is_empty()
            || !s.not_in_sets.is_empty()
            || s.in_net.is_some()
            || s.not_in_net.is_some()
    });
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
        if let Some(n) = &s.in_net {
            parts.push(format!("{kw} {dir}addr {n}"));
        }
        for n in &s.in_sets {
            parts.push(format!("{kw} {dir}addr {}", set_ref(n)));
        }
        if let Some(n) = &s.not_in_net {
            parts.push(format!("{kw} {dir}addr != {n}"));
        }
        for n in &s.not_in_sets {
            parts.push(format!("{kw} {dir}addr != {}", set_ref(n)));
        }
        if !s.ports.is_empty() {
            parts.push(format!("th {dir}port {}", ports(&s.ports)));
        }
        if !s.not_ports.is_empty() {
            // nft merges `th sport != A` and `th dport != B` into one
            // 4-byte comparison, true when *either* port differs
            // (docs/lab-facts.md, "nftables"): with both, the source port
            // is written as a range, which is never merged.
            let text = match s.not_ports.as_slice() {
                [(lo, hi)] if lo == hi && dir == "s" && !m.dst.not_ports.is_empty() => {
                    format!("{lo}-{hi}")
                }
                _ => ports(&s.not_ports),
            };
            parts.push(format!("th {dir}port != {text}"));
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

    /// The policy chain a test's merged items come from.
    fn test_policy() -> PolicyChain {
        PolicyChain {
            name: netc_ir::Name::new("pi-x").unwrap(),
            policy: "GlobalNetworkPolicy x".into(),
            direction: netc_ir::Direction::Ingress,
            on_allow: OnAllow::Accept,
            log_prefix: String::new(),
            rules: Vec::new(),
        }
    }

    #[test]
    fn a_split_set_changes_in_one_part_per_edited_element() {
        let policy = test_policy();
        let merged = |elements: Vec<Vec<merge::Iv>>| merge::Merged {
            policy: &policy,
            action: RuleAction::Allow,
            family: Some(Family::V4),
            addr_family: Family::V4,
            constants: Vec::new(),
            key: vec![merge::Field::SrcAddr, merge::Field::DstPort],
            elements,
            sources: Vec::new(),
            rules: Vec::new(),
        };
        let element = |i: u128, port: u128| vec![(i << 8, (i << 8) + 255), (port, port)];
        let before: Vec<_> = (0..10_000).map(|i| element(i, 10_000 + i)).collect();
        let mut after = before.clone();
        after[5_000] = element(5_000, 60_001);
        let (a, b) = (merged(before), merged(after));
        let (pa, pb) = (shards(&a, SHARD_ABOVE), shards(&b, SHARD_ABOVE));
        assert_eq!(pa.len(), 16);
        assert_eq!(pa.iter().map(Vec::len).sum::<usize>(), 10_000);
        // Parts are about even: the hash spreads neighbouring values.
        assert!(
            pa.iter().all(|p| (400..=900).contains(&p.len())),
            "{:?}",
            pa.iter().map(Vec::len).collect::<Vec<_>>()
        );
        // One element replaced: the parts that hold the old and the new
        // one differ, every other part is the same.
        let changed = pa.iter().zip(&pb).filter(|(x, y)| x != y).count();
        assert!((1..=2).contains(&changed), "{changed} parts changed");
        // Each part keeps the set's order.
        assert!(pa.iter().all(|p| p.windows(2).all(|w| w[0] < w[1])));
        // Sizes: whole up to the limit, then a power of two of parts of at
        // most half of it, at most MAX_SHARDS.
        assert_eq!(shard_count(SHARD_ABOVE, SHARD_ABOVE), 1);
        assert_eq!(shard_count(SHARD_ABOVE + 1, SHARD_ABOVE), 4);
        assert_eq!(shard_count(10_000, SHARD_ABOVE), 16);
        assert_eq!(shard_count(100_000, SHARD_ABOVE), MAX_SHARDS);
        assert_eq!(shard_count(3, 2), 4);
    }

    /// A large merged set is written in runs on all cores; the text is
    /// the one a single loop writes, commas and all, across run edges.
    #[test]
    fn a_large_merged_set_is_written_as_one_loop_writes_it() {
        let policy = test_policy();
        let key = vec![merge::Field::SrcAddr, merge::Field::DstPort];
        for n in [1, 2047, 2048, 2049, 5000] {
            let elements: Vec<Vec<merge::Iv>> = (0..n as u128)
                .map(|i| vec![(i << 8, (i << 8) + 255), (1000 + i, 1000 + i)])
                .collect();
            let m = merge::Merged {
                policy: &policy,
                action: RuleAction::Allow,
                family: Some(Family::V4),
                addr_family: Family::V4,
                constants: Vec::new(),
                key: key.clone(),
                elements: elements.clone(),
                sources: Vec::new(),
                rules: Vec::new(),
            };
            let lines: Vec<String> = elements
                .iter()
                .map(|e| {
                    format!(
                        "\t\t\t{} . {}",
                        field_value(key[0], Family::V4, e[0]),
                        field_value(key[1], Family::V4, e[1])
                    )
                })
                .collect();
            let want = format!(
                "\tset s {{\n\t\ttype ipv4_addr . inet_service\n\t\tflags interval\n\t\telements = {{\n{}\n\t\t}}\n\t}}\n",
                lines.join(",\n")
            );
            let refs: Vec<&[merge::Iv]> = m.elements.iter().map(Vec::as_slice).collect();
            assert_eq!(merged_set("s", &m, &refs), want, "{n} elements");
        }
    }

    #[test]
    fn strings() {
        assert_eq!(string("a\"b\\c\nd;{}#$", 100), "a'b/c_d;{}#_");
        assert_eq!(log_prefix("a\"b $x: ok"), "a_b _x: ok");
        assert_eq!(string("ééé", 2), "__");
    }

    #[test]
    fn merged_sources_are_named_in_ranges() {
        assert_eq!(
            source_lines(&[
                "P ingress rule 0 (destination http tcp/80)",
                "P ingress rule 0 (destination alt tcp/8080)",
                "P ingress rule 1",
                "Q egress rule 3",
                "P ingress rule 2",
                "free text",
            ]),
            vec![
                "P ingress rules 0-1",
                "Q egress rule 3",
                "P ingress rule 2",
                "free text"
            ]
        );
        assert_eq!(
            merged_comment(&["P ingress rule 0", "P ingress rule 1"]),
            "2 rules: P ingress rules 0-1"
        );
    }

    #[test]
    fn port_syntax() {
        assert_eq!(ports(&vec![(80, 80)]), "80");
        assert_eq!(ports(&vec![(22, 22), (1000, 2000)]), "{ 22, 1000-2000 }");
    }
}
