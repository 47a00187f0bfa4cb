//! Set-based lowering of tier chains: a ruleset that classifies in
//! O(log n) instead of one comparison per rule.
//!
//! An emitter-side pass; the IR is not changed (`netc check`, the iptables
//! backend and the unoptimised emitter still read it one rule per source
//! rule).
//!
//! # Why it is sound
//!
//! A tier chain jumps to its policy chains in order, and a policy chain
//! returns to the tier when no rule matched, so within one tier the
//! policies' rules form one list. Allow and Deny are terminal (accept,
//! drop, `notrack accept`, or a goto to a continuation that ends in
//! accept), so a *run* of consecutive rules with the same verdict — the
//! same action and, for Allow, the same [`OnAllow`] — commutes: the packet
//! leaves with that verdict if it matches any of them, in any order. A run
//! ends at a change of verdict, at a Log rule (it continues, so rules after
//! it must not move before it) and at a Pass rule (it leaves the tier).
//! Runs never cross tiers: each tier chain is planned on its own.
//!
//! Within a run, every rule whose match is a plain conjunction of
//! "address in a union of networks", "port in a union of ranges" and
//! "protocol is p" (no negations, no ICMP type) is a union of boxes in the
//! space protocol × source × destination × source port × destination port.
//! Rules with the same *shape* (the same fields constrained, the same
//! family) become one rule matching a concatenated interval set
//! (`ip saddr . ip daddr . th dport @set`). Overlapping elements are split
//! into disjoint ones first: the kernel's concatenated interval sets reject
//! partially overlapping elements (docs/lab-facts.md, "nftables"). A field
//! with one value in every element is written as a plain match instead of
//! a set field, and the remaining fields are ordered by the number of
//! distinct values, most first (docs/lab-facts.md, "nftables": the most
//! selective field first is the faster lookup). Every other rule of the
//! run (negations, ICMP types, a shape met fewer than [`MIN_RULES`] times)
//! is written as it is.
//!
//! Bounds: a rule whose fields span more than [`MAX_BOXES_PER_RULE`] boxes
//! (say, two selectors of a hundred endpoints each), a group of more than
//! [`MAX_BOXES_PER_SET`], or a decomposition past [`MAX_WORK`] stays as it
//! is, so memory and time stay proportional to the input.
//!
//! A tier is rewritten only when this merges something; the rewritten tier
//! chain holds its policies' rules inline (Pass becomes "set the pass mark
//! and return" from the tier itself, which is what the tier did after the
//! policy chain returned with the mark set), and keeps pointing at the
//! source rules in comments: the merged rule's comment names them in ranges
//! (`3 rules: GlobalNetworkPolicy web ingress rules 0-2`), or the first and
//! last when that does not fit nft's comment limit, and `#` lines above it
//! list them all in ranges. The set is named after the tier chain and its
//! position (`<tier chain>-m<k>`), not its contents, so a changed rule is a
//! change of elements, which `netc apply` writes as an element delta.

use netc_ir::{AddrSet, Family, Firewall, FwRule, Match, OnAllow, PolicyChain, Protocol, Ref};
use netc_ir::{RuleAction, SideMatch, TierChain};
use std::collections::BTreeSet;
use std::rc::Rc;

/// An inclusive interval of one field (addresses as integers).
pub(super) type Iv = (u128, u128);

/// Fewer rules of one shape in a run stay as they are: they cost the
/// packet a few comparisons, and a small policy stays readable as its own
/// chain. (A judgment, not a measurement: the gain is in long runs.)
pub(super) const MIN_RULES: usize = 4;
/// A rule whose expansion into boxes exceeds this stays as it is.
const MAX_BOXES_PER_RULE: usize = 4096;
/// A group whose rules expand to more boxes than this stays as it is
/// (bounds the memory a merge takes).
const MAX_BOXES_PER_SET: usize = 1 << 18;
/// Work limit of one set's disjoint decomposition (boxes visited); past
/// it the group's rules stay as they are.
const MAX_WORK: usize = 4_000_000;

/// A field of a concatenated key, in the order fields are considered
/// when the counts of distinct values tie.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Field {
    SrcAddr,
    DstAddr,
    DstPort,
    SrcPort,
    Proto,
}

/// One item of a rewritten tier chain, in order.
pub(super) enum Item<'a> {
    /// A source rule written as it is.
    Rule {
        policy: &'a PolicyChain,
        rule: &'a FwRule,
    },
    /// Several source rules as one rule.
    Merged(Merged<'a>),
}

/// Rules of one run and one shape, merged.
pub(super) struct Merged<'a> {
    /// The policy whose allow statement and log prefix apply (the first source rule's).
    pub policy: &'a PolicyChain,
    pub action: RuleAction,
    /// `meta nfproto` restriction (no address field in the key or constants).
    pub family: Option<Family>,
    pub addr_family: Family,
    /// Fields with one value in every element: written as plain matches.
    pub constants: Vec<(Field, Iv)>,
    /// Fields of the set's key, in key order (may be empty: then the
    /// constants are the whole match).
    pub key: Vec<Field>,
    /// Disjoint elements, one interval per key field, sorted.
    pub elements: Vec<Vec<Iv>>,
    /// The source rules' comments, in order.
    pub sources: Vec<&'a str>,
    /// The source rules, in order.
    pub rules: Vec<&'a FwRule>,
}

/// The shape of a mergeable rule: which fields it constrains.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Shape {
    family: Option<Family>,
    src: bool,
    dst: bool,
    sport: bool,
    dport: bool,
    proto: bool,
}

impl Shape {
    fn fields(&self) -> Vec<Field> {
        let mut f = Vec::new();
        for (on, field) in [
            (self.src, Field::SrcAddr),
            (self.dst, Field::DstAddr),
            (self.dport, Field::DstPort),
            (self.sport, Field::SrcPort),
            (self.proto, Field::Proto),
        ] {
            if on {
                f.push(field);
            }
        }
        f
    }
}

/// The verdict of a rule, for run boundaries: `None` for Log and Pass.
#[derive(Clone, PartialEq, Eq)]
enum RunKey {
    Allow(OnAllow),
    Deny,
}

fn run_key(p: &PolicyChain, r: &FwRule) -> Option<RunKey> {
    match r.action {
        RuleAction::Allow => Some(RunKey::Allow(p.on_allow.clone())),
        RuleAction::Deny => Some(RunKey::Deny),
        RuleAction::Log | RuleAction::Pass => None,
    }
}

/// The tier chain's items when merging shortens it, else `None` (the tier
/// is written as jumps to its policy chains).
pub(super) fn plan_tier<'a>(fw: &'a Firewall, t: &'a TierChain) -> Option<Vec<Item<'a>>> {
    let mut flat: Vec<(&PolicyChain, &FwRule)> = Vec::new();
    for p in &t.policies {
        let pc = fw.policy(p)?;
        flat.extend(pc.rules.iter().map(|r| (pc, r)));
    }
    let mut items: Vec<Item<'a>> = Vec::new();
    let mut merged_any = false;
    let mut i = 0;
    while i < flat.len() {
        let (p, r) = flat[i];
        let Some(key) = run_key(p, r) else {
            items.push(Item::Rule { policy: p, rule: r });
            i += 1;
            continue;
        };
        let mut j = i + 1;
        while j < flat.len() && run_key(flat[j].0, flat[j].1).as_ref() == Some(&key) {
            j += 1;
        }
        merged_any |= plan_run(fw, &flat[i..j], &mut items);
        i = j;
    }
    merged_any.then_some(items)
}

/// One field's intervals; a set's are computed once and shared.
type Dim = Rc<Vec<Iv>>;

/// A mergeable rule: its shape and, per field of `shape.fields()`, its
/// intervals (`None` when the rule never matches), with the number of
/// boxes they span.
struct Expanded {
    shape: Shape,
    dims: Option<Vec<Dim>>,
    boxes: usize,
}

/// Append the boxes (one interval per field) a rule's fields span to `out`,
/// one after another (`dims.len()` intervals each): one flat vector for a
/// whole group, where a vector per box cost an allocation per rule.
fn product_into(dims: &[Dim], out: &mut Vec<Iv>) {
    fn go(dims: &[Dim], prefix: &mut Vec<Iv>, out: &mut Vec<Iv>) {
        match dims.split_first() {
            None => out.extend_from_slice(prefix),
            Some((d, rest)) => {
                for iv in d.iter() {
                    prefix.push(*iv);
                    go(rest, prefix, out);
                    prefix.pop();
                }
            }
        }
    }
    go(dims, &mut Vec::with_capacity(dims.len()), out);
}

/// Writes one run's items; true when at least two rules were merged.
fn plan_run<'a>(
    fw: &Firewall,
    run: &[(&'a PolicyChain, &'a FwRule)],
    out: &mut Vec<Item<'a>>,
) -> bool {
    let mut cache = SetCache::default();
    let expanded: Vec<Option<Expanded>> = run
        .iter()
        .map(|(_, r)| expand(fw, &r.matches, &mut cache))
        .collect();
    let can_match = |e: &Option<Expanded>| -> Option<(Shape, usize)> {
        e.as_ref()
            .and_then(|e| e.dims.as_ref().map(|_| (e.shape, e.boxes)))
    };
    // Per shape: rules that can match, and their boxes.
    let mut count: std::collections::BTreeMap<Shape, (usize, usize)> = Default::default();
    for (shape, boxes) in expanded.iter().filter_map(can_match) {
        let c = count.entry(shape).or_default();
        c.0 += 1;
        c.1 = c.1.saturating_add(boxes);
    }
    let mut done: BTreeSet<Shape> = BTreeSet::new();
    let mut merged_any = false;
    for (k, (p, r)) in run.iter().enumerate() {
        let Some((shape, _)) = can_match(&expanded[k]) else {
            out.push(Item::Rule { policy: p, rule: r });
            continue;
        };
        let (rules, boxes) = count.get(&shape).copied().unwrap_or_default();
        if rules < MIN_RULES || boxes > MAX_BOXES_PER_SET {
            out.push(Item::Rule { policy: p, rule: r });
            continue;
        }
        if !done.insert(shape) {
            continue;
        }
        let members: Vec<usize> = (k..run.len())
            .filter(|&m| can_match(&expanded[m]).is_some_and(|(s, _)| s == shape))
            .collect();
        // `boxes` (counted above) is the members' boxes: they are every
        // rule of the run with this shape.
        let width = shape.fields().len();
        let mut flat = Vec::with_capacity(boxes * width);
        for d in members
            .iter()
            .filter_map(|&m| expanded[m].as_ref().and_then(|e| e.dims.as_ref()))
        {
            product_into(d, &mut flat);
        }
        let refs: Vec<&[Iv]> = match width {
            // A shape without fields: every box is empty.
            0 => vec![&[][..]; boxes],
            w => flat.chunks(w).collect(),
        };
        match build(shape, &refs) {
            Some((constants, key, elements)) => {
                merged_any = true;
                out.push(Item::Merged(Merged {
                    policy: p,
                    action: r.action,
                    family: shape.family,
                    addr_family: shape.family.unwrap_or(Family::V4),
                    constants,
                    key,
                    elements,
                    sources: members.iter().map(|&m| run[m].1.comment.as_str()).collect(),
                    rules: members.iter().map(|&m| run[m].1).collect(),
                }));
            }
            None => {
                // Too costly to decompose: the group's rules as they are, in order.
                out.extend(members.iter().map(|&m| Item::Rule {
                    policy: run[m].0,
                    rule: run[m].1,
                }));
            }
        }
    }
    merged_any
}

/// Constant fields, key fields and disjoint elements for a group's boxes.
#[allow(clippy::type_complexity)]
fn build(shape: Shape, boxes: &[&[Iv]]) -> Option<(Vec<(Field, Iv)>, Vec<Field>, Vec<Vec<Iv>>)> {
    let fields = shape.fields();
    // Distinct intervals per field.
    let distinct: Vec<usize> = (0..fields.len())
        .map(|d| boxes.iter().map(|b| b[d]).collect::<BTreeSet<Iv>>().len())
        .collect();
    let mut constants = Vec::new();
    let mut order: Vec<usize> = Vec::new();
    for d in 0..fields.len() {
        if distinct[d] == 1 {
            constants.push((fields[d], boxes[0][d]));
        } else {
            order.push(d);
        }
    }
    // Most distinct values first; ties in `Field` order (`fields` is in it).
    order.sort_by(|a, b| distinct[*b].cmp(&distinct[*a]).then(a.cmp(b)));
    let key: Vec<Field> = order.iter().map(|&d| fields[d]).collect();
    let projected: Vec<Vec<Iv>> = boxes
        .iter()
        .map(|b| order.iter().map(|&d| b[d]).collect())
        .collect();
    let refs: Vec<&[Iv]> = projected.iter().map(Vec::as_slice).collect();
    let mut work = 0usize;
    let elements = disjoint(&refs, &mut work)?;
    Some((constants, key, elements))
}

/// Intervals of the address sets already seen in a run, by name and family.
type SetCache<'a> = foldhash::HashMap<(&'a str, Family), Dim>;

/// The fields of a plain match, or `None` when the rule cannot be merged.
fn expand<'a>(fw: &Firewall, m: &'a Match, cache: &mut SetCache<'a>) -> Option<Expanded> {
    let negated = |s: &SideMatch| {
        !s.not_in_sets.is_empty() || s.not_in_net.is_some() || !s.not_ports.is_empty()
    };
    if m.not_protocol.is_some()
        || m.icmp.is_some()
        || m.not_icmp.is_some()
        || negated(&m.src)
        || negated(&m.dst)
        || matches!(m.protocol, Some(Protocol::Icmp | Protocol::IcmpV6))
    {
        return None;
    }
    let has_ports = !m.src.ports.is_empty() || !m.dst.ports.is_empty();
    if has_ports && !m.protocol.is_some_and(Protocol::has_ports) {
        return None;
    }
    let has_addr = |s: &SideMatch| !s.in_sets.is_empty() || s.in_net.is_some();
    let uses_addr = has_addr(&m.src) || has_addr(&m.dst);
    if uses_addr && m.family.is_none() {
        return None;
    }
    let family = m.family;
    let shape = Shape {
        family,
        src: has_addr(&m.src),
        dst: has_addr(&m.dst),
        sport: !m.src.ports.is_empty(),
        dport: !m.dst.ports.is_empty(),
        proto: m.protocol.is_some(),
    };
    // An upper bound of the boxes first, so a rule over large sets costs
    // nothing here.
    // (A network alone is one interval; with sets, their intersection has
    // at most as many as the sets' elements.)
    let bound = |s: &SideMatch| -> usize {
        s.in_sets
            .iter()
            .filter_map(|r| fw.set(r))
            .map(|s| s.elements.len())
            .fold(0usize, usize::saturating_add)
            .max(usize::from(s.in_net.is_some()))
    };
    let bounds = [
        bound(&m.src),
        bound(&m.dst),
        m.src.ports.len(),
        m.dst.ports.len(),
    ];
    let over = bounds
        .iter()
        .filter(|&&b| b > 0)
        .try_fold(1usize, |acc, &b| acc.checked_mul(b))
        .is_none_or(|n| n > MAX_BOXES_PER_RULE);
    if over {
        return None;
    }
    let mut dims: Vec<Dim> = Vec::new();
    for f in shape.fields() {
        let ivs = match f {
            Field::SrcAddr => addr_dim(fw, &m.src, family?, cache)?,
            Field::DstAddr => addr_dim(fw, &m.dst, family?, cache)?,
            Field::SrcPort => Rc::new(port_intervals(&m.src.ports)),
            Field::DstPort => Rc::new(port_intervals(&m.dst.ports)),
            Field::Proto => {
                let n = u128::from(m.protocol?.number());
                Rc::new(vec![(n, n)])
            }
        };
        dims.push(ivs);
    }
    if dims.iter().any(|d| d.is_empty()) {
        return Some(Expanded {
            shape,
            dims: None,
            boxes: 0,
        });
    }
    let boxes = dims.iter().map(|d| d.len()).product();
    Some(Expanded {
        shape,
        dims: Some(dims),
        boxes,
    })
}

/// An address field: a network's interval, one set's intervals (cached),
/// or the intersection of a network and sets.
fn addr_dim<'a>(
    fw: &Firewall,
    side: &'a SideMatch,
    family: Family,
    cache: &mut SetCache<'a>,
) -> Option<Dim> {
    let sets = &side.in_sets[..];
    if let Some(n) = &side.in_net {
        let net = vec![net_interval(n, family)?];
        if sets.is_empty() {
            return Some(Rc::new(net));
        }
        return Some(Rc::new(intersect(&net, &addr_intervals(fw, sets, family)?)));
    }
    if let [one] = sets {
        let key = (one.as_str(), family);
        if let Some(d) = cache.get(&key) {
            return Some(d.clone());
        }
        let d = Rc::new(addr_intervals(fw, sets, family)?);
        cache.insert(key, d.clone());
        return Some(d);
    }
    addr_intervals(fw, sets, family).map(Rc::new)
}

fn port_intervals(p: &[(u16, u16)]) -> Vec<Iv> {
    let mut v: Vec<Iv> = p
        .iter()
        .filter(|(lo, hi)| lo <= hi)
        .map(|&(lo, hi)| (u128::from(lo), u128::from(hi)))
        .collect();
    v.sort_unstable();
    v
}

/// The networks of the intersection of `sets` (each a union), as sorted
/// disjoint intervals; `None` when a set is missing.
fn addr_intervals(fw: &Firewall, sets: &[Ref<AddrSet>], family: Family) -> Option<Vec<Iv>> {
    let mut acc: Option<Vec<Iv>> = None;
    for r in sets {
        let s = fw.set(r)?;
        let mut ivs: Vec<Iv> = s
            .elements
            .iter()
            .filter_map(|n| net_interval(n, family))
            .collect();
        ivs = normalise(ivs);
        acc = Some(match acc {
            None => ivs,
            Some(a) => intersect(&a, &ivs),
        });
    }
    acc
}

/// A network of `family` as an interval; None for the other family
/// (`Firewall::check` keeps a rule's network to the rule's family).
fn net_interval(n: &ipnet::IpNet, family: Family) -> Option<Iv> {
    match (n, family) {
        (ipnet::IpNet::V4(n), Family::V4) => Some((
            u128::from(u32::from(n.network())),
            u128::from(u32::from(n.broadcast())),
        )),
        (ipnet::IpNet::V6(n), Family::V6) => {
            Some((u128::from(n.network()), u128::from(n.broadcast())))
        }
        _ => None,
    }
}

/// Sorted, overlapping or adjacent intervals joined.
fn normalise(mut v: Vec<Iv>) -> Vec<Iv> {
    v.sort_unstable();
    let mut out: Vec<Iv> = Vec::with_capacity(v.len());
    for (lo, hi) in v {
        match out.last_mut() {
            Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
            _ => out.push((lo, hi)),
        }
    }
    out
}

fn intersect(a: &[Iv], b: &[Iv]) -> Vec<Iv> {
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while i < a.len() && j < b.len() {
        let lo = a[i].0.max(b[j].0);
        let hi = a[i].1.min(b[j].1);
        if lo <= hi {
            out.push((lo, hi));
        }
        if a[i].1 < b[j].1 {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

/// Disjoint boxes covering exactly the union of `boxes` (all of the same
/// dimension), sorted, with neighbours joined where they only differ in
/// one adjacent interval of the first field. `None` past [`MAX_WORK`].
///
/// A sweep over the first field: its interval ends cut it into segments
/// covered by the same boxes; each segment carries the decomposition of
/// the covering boxes' remaining fields, and adjacent segments with equal
/// decompositions are joined.
pub(super) fn disjoint(boxes: &[&[Iv]], work: &mut usize) -> Option<Vec<Vec<Iv>>> {
    *work += boxes.len();
    if *work > MAX_WORK {
        return None;
    }
    let Some(first) = boxes.first() else {
        return Some(Vec::new());
    };
    if first.is_empty() {
        return Some(vec![Vec::new()]);
    }
    // The common case (distinct networks per rule): the first field's
    // intervals do not overlap, so every box is its own segment; the sweep
    // below would return the boxes in order, neighbours joined.
    let mut order: Vec<&[Iv]> = boxes.to_vec();
    order.sort_unstable();
    if order.windows(2).all(|w| w[0][0].1 < w[1][0].0) {
        let mut out: Vec<Vec<Iv>> = Vec::with_capacity(order.len());
        for b in order {
            match out.last_mut() {
                Some(last) if last[0].1.checked_add(1) == Some(b[0].0) && last[1..] == b[1..] => {
                    last[0].1 = b[0].1;
                }
                _ => out.push(b.to_vec()),
            }
        }
        return Some(out);
    }
    sweep(boxes, work)
}

/// [`disjoint`] by the sweep, for boxes of at least one field.
fn sweep(boxes: &[&[Iv]], work: &mut usize) -> Option<Vec<Vec<Iv>>> {
    // Events: (point, +box index starts | box ends before point).
    let mut starts: Vec<(u128, usize)> =
        boxes.iter().enumerate().map(|(i, b)| (b[0].0, i)).collect();
    starts.sort_unstable();
    let mut ends: Vec<(u128, usize)> = boxes
        .iter()
        .enumerate()
        .filter_map(|(i, b)| b[0].1.checked_add(1).map(|e| (e, i)))
        .collect();
    ends.sort_unstable();
    let mut points: Vec<u128> = starts
        .iter()
        .map(|s| s.0)
        .chain(ends.iter().map(|e| e.0))
        .collect();
    points.sort_unstable();
    points.dedup();

    let mut active: BTreeSet<usize> = BTreeSet::new();
    let (mut si, mut ei) = (0, 0);
    // (segment, decomposition of the rest) in order.
    let mut segs: Vec<(Iv, Vec<Vec<Iv>>)> = Vec::new();
    for (k, &p) in points.iter().enumerate() {
        while ei < ends.len() && ends[ei].0 == p {
            active.remove(&ends[ei].1);
            ei += 1;
        }
        while si < starts.len() && starts[si].0 == p {
            active.insert(starts[si].1);
            si += 1;
        }
        if active.is_empty() {
            continue;
        }
        let hi = match points.get(k + 1) {
            Some(next) => next - 1,
            None => u128::MAX,
        };
        let rest: Vec<&[Iv]> = active.iter().map(|&i| &boxes[i][1..]).collect();
        let sub = disjoint(&rest, work)?;
        match segs.last_mut() {
            Some((iv, s)) if iv.1.checked_add(1) == Some(p) && *s == sub => iv.1 = hi,
            _ => segs.push(((p, hi), sub)),
        }
    }
    let mut out = Vec::new();
    for (iv, sub) in segs {
        for mut tail in sub {
            tail.insert(0, iv);
            out.push(tail);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(boxes: &[Vec<Iv>]) -> Vec<Vec<Iv>> {
        let refs: Vec<&[Iv]> = boxes.iter().map(Vec::as_slice).collect();
        disjoint(&refs, &mut 0).unwrap()
    }

    /// Every point of a small grid is covered by the result exactly when it
    /// is covered by the input, and by at most one result box.
    fn check_cover(input: &[Vec<Iv>], out: &[Vec<Iv>], max: u128) {
        let inside = |b: &Vec<Iv>, x: u128, y: u128| {
            b[0].0 <= x && x <= b[0].1 && b[1].0 <= y && y <= b[1].1
        };
        for x in 0..=max {
            for y in 0..=max {
                let want = input.iter().any(|b| inside(b, x, y));
                let n = out.iter().filter(|b| inside(b, x, y)).count();
                assert_eq!(n, usize::from(want), "point ({x}, {y}) in {out:?}");
            }
        }
    }

    /// Deterministic draws below `n` (xorshift64), no crate needed.
    fn draws(mut x: u64) -> impl FnMut(u128) -> u128 {
        move |n| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            u128::from(x) % n
        }
    }

    #[test]
    fn overlapping_boxes_become_disjoint_with_the_same_union() {
        let input = vec![
            vec![(0, 5), (2, 3)],
            vec![(3, 9), (0, 9)],
            vec![(4, 4), (1, 7)],
            vec![(8, 12), (5, 5)],
        ];
        let out = d(&input);
        check_cover(&input, &out, 13);
    }

    #[test]
    fn random_boxes_keep_their_union_and_become_disjoint() {
        let mut next = draws(0x9e37_79b9_7f4a_7c15);
        for _ in 0..300 {
            let count = 1 + next(8) as usize;
            let input: Vec<Vec<Iv>> = (0..count)
                .map(|_| {
                    (0..2)
                        .map(|_| {
                            let lo = next(12);
                            (lo, lo + next(5))
                        })
                        .collect()
                })
                .collect();
            let out = d(&input);
            check_cover(&input, &out, 17);
        }
    }

    #[test]
    fn the_fast_path_gives_what_the_sweep_gives() {
        let mut next = draws(0x2545_f491_4f6c_dd1d);
        for _ in 0..300 {
            // Disjoint first fields, often adjacent, tails often equal.
            let mut lo = 0;
            let input: Vec<Vec<Iv>> = (0..1 + next(8))
                .map(|_| {
                    lo += next(2);
                    let hi = lo + next(3);
                    let b = vec![(lo, hi), (next(2), 2), (5, 5 + next(2))];
                    lo = hi + 1;
                    b
                })
                .collect();
            let refs: Vec<&[Iv]> = input.iter().map(Vec::as_slice).collect();
            assert_eq!(disjoint(&refs, &mut 0), sweep(&refs, &mut 0), "{input:?}");
        }
    }

    #[test]
    fn disjoint_boxes_stay_as_they_are_and_neighbours_join() {
        let input = vec![vec![(0, 3), (7, 7)], vec![(10, 19), (1, 2)]];
        assert_eq!(d(&input), input);
        // Adjacent in the first field, equal in the second: one box.
        assert_eq!(
            d(&[vec![(0, 3), (7, 7)], vec![(4, 9), (7, 7)]]),
            vec![vec![(0, 9), (7, 7)]]
        );
        // The full range of the first field ends the sweep without overflow.
        assert_eq!(
            d(&[vec![(0, u128::MAX), (1, 1)], vec![(5, 6), (1, 1)]]),
            vec![vec![(0, u128::MAX), (1, 1)]]
        );
    }

    use netc_ir::{Direction, Name};

    fn n(s: &str) -> Name {
        Name::new(s).unwrap()
    }

    fn set(name: &str, net: &str) -> AddrSet {
        AddrSet {
            name: n(name),
            family: Family::V4,
            elements: vec![net.parse().unwrap()],
            comment: String::new(),
        }
    }

    fn allow_from(set: &str, comment: &str) -> FwRule {
        rule(set, RuleAction::Allow, comment)
    }

    fn rule(set: &str, action: RuleAction, comment: &str) -> FwRule {
        FwRule {
            matches: Match {
                family: Some(Family::V4),
                protocol: Some(Protocol::Tcp),
                src: SideMatch {
                    in_sets: vec![Ref::new(n(set))],
                    ..SideMatch::default()
                },
                dst: SideMatch {
                    ports: vec![(80, 80)],
                    ..SideMatch::default()
                },
                ..Match::default()
            },
            action,
            comment: comment.into(),
            rule: None,
        }
    }

    fn policy(name: &str, on_allow: OnAllow, rules: Vec<FwRule>) -> PolicyChain {
        PolicyChain {
            name: n(name),
            policy: format!("GlobalNetworkPolicy {name}"),
            direction: Direction::Ingress,
            on_allow,
            log_prefix: "netc".into(),
            rules,
        }
    }

    fn firewall(policies: Vec<PolicyChain>) -> Firewall {
        let tier = TierChain {
            name: n("ti-default"),
            tier: "default".into(),
            policies: policies.iter().map(|p| Ref::new(p.name.clone())).collect(),
            end_drop: true,
        };
        let mut policies = policies;
        policies.sort_by(|a, b| a.name.cmp(&b.name));
        Firewall {
            sets: ["10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24", "10.0.3.0/24"]
                .iter()
                .enumerate()
                .map(|(i, net)| set(&format!("s4-{}", (b'a' + i as u8) as char), net))
                .collect(),
            policies,
            tiers: vec![tier],
            ..Firewall::default()
        }
    }

    /// (number of source rules, action, on_allow) of each merged item.
    fn merged(fw: &Firewall) -> Option<Vec<(usize, RuleAction, OnAllow)>> {
        let items = plan_tier(fw, &fw.tiers[0])?;
        Some(
            items
                .iter()
                .map(|i| match i {
                    Item::Merged(m) => (m.sources.len(), m.action, m.policy.on_allow.clone()),
                    Item::Rule { rule, policy } => (1, rule.action, policy.on_allow.clone()),
                })
                .collect(),
        )
    }

    /// Allow rules from sets a, b, c, d (`tag`: the comment prefix).
    fn four(tag: &str) -> Vec<FwRule> {
        ["s4-a", "s4-b", "s4-c", "s4-d"]
            .iter()
            .enumerate()
            .map(|(i, s)| allow_from(s, &format!("{tag} {i}")))
            .collect()
    }

    #[test]
    fn a_run_spans_policies_of_one_tier() {
        let mut rules = four("a");
        let tail = rules.split_off(2);
        let fw = firewall(vec![
            policy("pa-x", OnAllow::Accept, rules),
            policy("pb-x", OnAllow::Accept, tail),
        ]);
        assert_eq!(
            merged(&fw),
            Some(vec![(4, RuleAction::Allow, OnAllow::Accept)])
        );
    }

    #[test]
    fn runs_end_at_a_different_allow_continuation() {
        let then = OnAllow::Then(Ref::new(n("k-fwd")));
        let fw = firewall(vec![
            policy("pa-x", OnAllow::Accept, four("a")),
            policy("pb-x", then.clone(), four("b")),
        ]);
        assert_eq!(
            merged(&fw),
            Some(vec![
                (4, RuleAction::Allow, OnAllow::Accept),
                (4, RuleAction::Allow, then)
            ])
        );
    }

    #[test]
    fn runs_end_at_log_pass_and_a_change_of_verdict() {
        for between in [RuleAction::Log, RuleAction::Pass, RuleAction::Deny] {
            let mut rules = four("a");
            rules.insert(2, rule("s4-c", between, "x"));
            let fw = firewall(vec![policy("pa-x", OnAllow::Accept, rules)]);
            // Two runs of two: nothing to merge, the tier stays as jumps
            // to its policies.
            assert_eq!(merged(&fw), None, "{between:?}");
        }
        let fw = firewall(vec![policy("pa-x", OnAllow::Accept, four("a"))]);
        assert!(merged(&fw).is_some(), "without the rule between, one run");
    }

    #[test]
    fn fewer_than_min_rules_of_a_shape_stay_as_they_are() {
        let mut rules = four("a");
        rules.pop();
        assert_eq!(MIN_RULES, 4);
        let fw = firewall(vec![policy("pa-x", OnAllow::Accept, rules)]);
        assert_eq!(merged(&fw), None);
    }

    #[test]
    fn large_expansions_stay_as_they_are() {
        // A set of 4,096 /32s: one rule over it expands to 4,096 boxes (in
        // bounds), four of them merge, 65 expand to more than a set may hold.
        let big = AddrSet {
            name: n("s4-big"),
            family: Family::V4,
            elements: (0..4096u32)
                .map(|i| {
                    ipnet::IpNet::from(std::net::IpAddr::from(std::net::Ipv4Addr::from(
                        0x0a00_0000 + 2 * i,
                    )))
                })
                .collect(),
            comment: String::new(),
        };
        let rules = |k: usize| {
            (0..k)
                .map(|i| allow_from("s4-big", &format!("r {i}")))
                .collect()
        };
        let mut fw = firewall(vec![policy("pa-x", OnAllow::Accept, rules(4))]);
        fw.sets.push(big.clone());
        fw.sets.sort_by(|a, b| a.name.cmp(&b.name));
        assert_eq!(
            merged(&fw),
            Some(vec![(4, RuleAction::Allow, OnAllow::Accept)])
        );
        let mut fw = firewall(vec![policy("pa-x", OnAllow::Accept, rules(65))]);
        fw.sets.push(big);
        fw.sets.sort_by(|a, b| a.name.cmp(&b.name));
        assert_eq!(merged(&fw), None);
    }

    #[test]
    fn intervals_intersect_and_normalise() {
        assert_eq!(
            normalise(vec![(5, 9), (0, 3), (4, 4), (20, 30)]),
            vec![(0, 9), (20, 30)]
        );
        assert_eq!(
            intersect(&[(0, 9), (20, 30)], &[(5, 25)]),
            vec![(5, 9), (20, 25)]
        );
    }
}
