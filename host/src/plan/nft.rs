//! The nftables table `inet netc`, diffed at set-element and rule level.
//!
//! Small changes are applied as a delta in one `nft -f` transaction:
//! set elements added and deleted one by one (never flush + re-add, which
//! is quadratic for interval sets), rules deleted by handle and inserted at
//! their position relative to rules that stay. Anything the delta cannot
//! express (a changed set or chain declaration, maps and other objects,
//! element shapes without a text form) or a delta larger than half the
//! table reloads the whole table instead — also one transaction
//! (`table inet netc` / `delete table inet netc` / the table), which is
//! how the emitted file itself is written.

use super::{Action, Change, Line, Op, Step};
use crate::state::nft::{Elem, NftChain, NftRule, NftSet, NftState};
use serde_json::Value;
use similar::{capture_diff_slices, Algorithm, DiffOp};
use std::collections::{BTreeMap, BTreeSet, HashSet};

const T: &str = "inet netc";

fn elem_display(s: &NftSet, e: &Elem) -> String {
    e.text(s.quoting().unwrap_or(false))
        .unwrap_or_else(|| e.key())
}

fn rule_display(r: &NftRule) -> String {
    if r.text.is_empty() {
        r.body.to_string()
    } else {
        r.text.clone()
    }
}

fn set_created(s: &NftSet) -> Change {
    let mut c = Change::new(
        Step::Firewall,
        Action::Create,
        &format!("nft {}", s.kind),
        format!("{T} {}", s.name),
    )
    .attr("declaration", None, Some(s.decl_text.clone()));
    c.lines = s
        .elems
        .iter()
        .map(|e| Line {
            sign: '+',
            text: elem_display(s, e),
        })
        .collect();
    c
}

fn chain_created(ch: &NftChain) -> Change {
    let mut c = Change::new(
        Step::Firewall,
        Action::Create,
        "nft chain",
        format!("{T} {}", ch.name),
    );
    if !ch.decl_text.is_empty() {
        c = c.attr("declaration", None, Some(ch.decl_text.clone()));
    }
    c.lines = ch
        .rules
        .iter()
        .map(|r| Line {
            sign: '+',
            text: rule_display(r),
        })
        .collect();
    c
}

fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Accumulates the delta script; `None` once something cannot be a delta.
struct Delta {
    decls: Vec<String>,
    elems: Vec<String>,
    rules: Vec<String>,
    teardown: Vec<String>,
    possible: bool,
}

impl Delta {
    fn len(&self) -> usize {
        self.decls.len() + self.elems.len() + self.rules.len() + self.teardown.len()
    }
}

pub fn diff(live: &NftState, want: &NftState) -> (Vec<Change>, Vec<Op>) {
    let mut changes = Vec::new();
    match (live.present, want.present) {
        (false, false) => return (changes, Vec::new()),
        (true, false) => {
            changes.push(
                Change::new(Step::Firewall, Action::Delete, "nft table", T).note(format!(
                    "with its {} and {}",
                    count(live.chains.len(), "chain", "chains"),
                    count(live.sets.len(), "set", "sets")
                )),
            );
            return (
                changes,
                vec![Op::Nft {
                    script: format!("delete table {T}\n"),
                    full: true,
                    fallback: None,
                }],
            );
        }
        (false, true) => {
            changes.push(Change::new(Step::Firewall, Action::Create, "nft table", T));
            changes.extend(want.sets.iter().map(set_created));
            changes.extend(want.chains.iter().map(chain_created));
            for o in &want.others {
                changes.push(Change::new(
                    Step::Firewall,
                    Action::Create,
                    "nft object",
                    object_id(o),
                ));
            }
            if !want.has_text {
                return (no_text(changes), Vec::new());
            }
            return (changes, vec![reload(want)]);
        }
        (true, true) if want.uncanonical.is_some() => {
            // Never planned so (an uncanonical table is desired only where
            // there is none), but should it be: replace the table whole.
            changes.push(Change::new(Step::Firewall, Action::Update, "nft table", T));
            return (changes, vec![reload(want)]);
        }
        (true, true) => {}
    }

    let mut d = Delta {
        decls: Vec::new(),
        elems: Vec::new(),
        rules: Vec::new(),
        teardown: Vec::new(),
        possible: true,
    };

    // Other objects (maps, counters, …): compared as a whole, never a delta.
    let lo: BTreeSet<String> = live.others.iter().map(Value::to_string).collect();
    let wo: BTreeSet<String> = want.others.iter().map(Value::to_string).collect();
    for o in live.others.iter().filter(|o| !wo.contains(&o.to_string())) {
        d.possible = false;
        changes.push(Change::new(
            Step::Firewall,
            Action::Delete,
            "nft object",
            object_id(o),
        ));
    }
    for o in want.others.iter().filter(|o| !lo.contains(&o.to_string())) {
        d.possible = false;
        changes.push(Change::new(
            Step::Firewall,
            Action::Create,
            "nft object",
            object_id(o),
        ));
    }

    diff_sets(live, want, &mut changes, &mut d);
    diff_chains(live, want, &mut changes, &mut d);

    if changes.is_empty() {
        return (changes, Vec::new());
    }
    let full = want.replace_script();
    if !want.has_text {
        return (no_text(changes), Vec::new());
    }
    // A delta of more than half the table's lines is written as the whole
    // table. At most 16 lines never are (half of at least 16, plus 8), so
    // the table is counted only past that: counting reads every set's
    // elements (`Elems`), 100,000 at the largest benchmark.
    let total = || {
        want.chains.iter().map(|c| c.rules.len()).sum::<usize>()
            + want.sets.iter().map(|s| s.elems.len()).sum::<usize>()
    };
    let op = if !d.possible || (d.len() > 16 && d.len() > total().max(16) / 2 + 8) {
        Op::Nft {
            script: full,
            full: true,
            fallback: None,
        }
    } else {
        let mut script = String::new();
        for l in d
            .decls
            .iter()
            .chain(&d.elems)
            .chain(&d.rules)
            .chain(&d.teardown)
        {
            script.push_str(l);
            script.push('\n');
        }
        Op::Nft {
            script,
            full: false,
            fallback: Some(full),
        }
    };
    (changes, vec![op])
}

/// Replace the whole table with `want` in one transaction.
fn reload(want: &NftState) -> Op {
    Op::Nft {
        script: want.replace_script(),
        full: true,
        fallback: None,
    }
}

/// A state read without its text listing (only ever a snapshot of a table
/// the apply did not plan to touch) cannot be written back: report the
/// difference and leave the table alone rather than reload something empty.
fn no_text(mut changes: Vec<Change>) -> Vec<Change> {
    if let Some(c) = changes.first_mut() {
        c.note = Some(
            "cannot be written: the state to restore was read without its text listing".into(),
        );
    }
    changes
}

fn object_id(o: &Value) -> String {
    let Some((kind, body)) = o.as_object().and_then(|m| m.iter().next()) else {
        return o.to_string();
    };
    let name = body.get("name").and_then(Value::as_str).unwrap_or("?");
    format!("{T} {kind} {name}")
}

fn diff_sets(live: &NftState, want: &NftState, changes: &mut Vec<Change>, d: &mut Delta) {
    let lb: BTreeMap<&str, &NftSet> = live.sets.iter().map(|s| (s.name.as_str(), s)).collect();
    let wb: BTreeMap<&str, &NftSet> = want.sets.iter().map(|s| (s.name.as_str(), s)).collect();
    for (name, s) in &lb {
        if !wb.contains_key(name) {
            changes.push(
                Change::new(
                    Step::Firewall,
                    Action::Delete,
                    &format!("nft {}", s.kind),
                    format!("{T} {name}"),
                )
                .note(format!(
                    "with {}",
                    count(s.elems.len(), "element", "elements")
                )),
            );
            d.teardown.push(format!("delete {} {T} {name}", s.kind));
        }
    }
    for (name, w) in &wb {
        let Some(l) = lb.get(name) else {
            changes.push(set_created(w));
            d.decls
                .push(format!("add {} {T} {name} {{ {}; }}", w.kind, w.decl_text));
            if !w.elems.is_empty() {
                let refs: Vec<&Elem> = w.elems.iter().collect();
                match w.elems_text(refs.iter().copied()) {
                    Some(t) => d.elems.push(format!("add element {T} {name} {{ {t} }}")),
                    None => d.possible = false,
                }
            }
            if w.decl_text.is_empty() {
                d.possible = false;
            }
            continue;
        };
        let decl_changed = l.kind != w.kind
            || l.decl != w.decl
            || texts_differ(live, want, &l.decl_text, &w.decl_text);
        // Equal lists first: two read from the same cache entry compare
        // by their text, unread (`Elems`).
        let (gone, new) = if l.elems == w.elems {
            (Vec::new(), Vec::new())
        } else {
            elem_changes(&l.elems, &w.elems)
        };
        if !decl_changed && gone.is_empty() && new.is_empty() {
            continue;
        }
        let mut c = updated(
            &format!("nft {}", w.kind),
            name,
            decl_changed.then_some((&l.decl_text, &w.decl_text)),
            &mut d.possible,
        );
        for e in &gone {
            c.lines.push(Line {
                sign: '-',
                text: elem_display(w, e),
            });
        }
        for e in &new {
            c.lines.push(Line {
                sign: '+',
                text: elem_display(w, e),
            });
        }
        if !gone.is_empty() {
            match w.elems_text(gone.iter().copied()) {
                Some(t) => d.elems.push(format!("delete element {T} {name} {{ {t} }}")),
                None => d.possible = false,
            }
        }
        if !new.is_empty() {
            match w.elems_text(new.iter().copied()) {
                Some(t) => d.elems.push(format!("add element {T} {name} {{ {t} }}")),
                None => d.possible = false,
            }
        }
        changes.push(c);
    }
}

/// The elements only `live` holds and those only `want` holds, each once,
/// in the order of their JSON (how the plan shows and writes them).
///
/// Both lists are sorted the same way (by their JSON), so an edit leaves
/// a common head and tail: only the elements between are hashed — at
/// 100,000 elements, hashing both lists whole took ~60 ms for a change
/// of one. The few found are checked against the whole other list, so a
/// list in another order or holding one element twice still diffs
/// exactly; so does any list, through the whole-list hash when many
/// elements changed.
pub(crate) fn elem_changes<'a>(
    live: &'a [Elem],
    want: &'a [Elem],
) -> (Vec<&'a Elem>, Vec<&'a Elem>) {
    let head = live.iter().zip(want).take_while(|(a, b)| a == b).count();
    let (l, w) = (&live[head..], &want[head..]);
    let tail = l
        .iter()
        .rev()
        .zip(w.iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let (l, w) = (&l[..l.len() - tail], &w[..w.len() - tail]);
    let only = |a: &'a [Elem], b: &'a [Elem], b_all: &'a [Elem]| -> Vec<&'a Elem> {
        let bs: HashSet<&Elem> = b.iter().collect();
        let mut v: Vec<&Elem> = a.iter().filter(|e| !bs.contains(e)).collect();
        if v.len() <= 64 {
            v.retain(|e| !b_all.contains(e));
        } else {
            let all: HashSet<&Elem> = b_all.iter().collect();
            v.retain(|e| !all.contains(e));
        }
        v.sort_by_cached_key(|e| e.key());
        v.dedup();
        v
    };
    (only(l, w, want), only(w, l, live))
}

/// Declaration texts are compared when both sides were listed as text: they
/// carry what nft's JSON leaves out (chain comments, auto-merge).
fn texts_differ(live: &NftState, want: &NftState, l: &str, w: &str) -> bool {
    live.has_text && want.has_text && l != w
}

fn chain_decl_cmd(c: &NftChain) -> String {
    if c.decl_text.is_empty() {
        format!("add chain {T} {}", c.name)
    } else {
        format!("add chain {T} {} {{ {}; }}", c.name, c.decl_text)
    }
}

fn diff_chains(live: &NftState, want: &NftState, changes: &mut Vec<Change>, d: &mut Delta) {
    let lb: BTreeMap<&str, &NftChain> = live.chains.iter().map(|c| (c.name.as_str(), c)).collect();
    let wb: BTreeMap<&str, &NftChain> = want.chains.iter().map(|c| (c.name.as_str(), c)).collect();
    let mut removed = Vec::new();
    for (name, c) in &lb {
        if !wb.contains_key(name) {
            changes.push(
                Change::new(
                    Step::Firewall,
                    Action::Delete,
                    "nft chain",
                    format!("{T} {name}"),
                )
                .note(format!("with {}", count(c.rules.len(), "rule", "rules"))),
            );
            removed.push(*name);
        }
    }
    // Flush every removed chain before deleting any: they may jump to each other.
    for name in &removed {
        d.rules.insert(0, format!("flush chain {T} {name}"));
    }
    for name in &removed {
        d.teardown.insert(0, format!("delete chain {T} {name}"));
    }
    for (name, w) in &wb {
        let Some(l) = lb.get(name) else {
            changes.push(chain_created(w));
            d.decls.push(chain_decl_cmd(w));
            for r in &w.rules {
                if r.text.is_empty() {
                    d.possible = false;
                }
                d.rules.push(format!("add rule {T} {name} {}", r.text));
            }
            continue;
        };
        let decl_changed = l.decl != w.decl || texts_differ(live, want, &l.decl_text, &w.decl_text);
        let lk: Vec<String> = l.rules.iter().map(NftRule::key).collect();
        let wk: Vec<String> = w.rules.iter().map(NftRule::key).collect();
        if !decl_changed && lk == wk {
            continue;
        }
        let mut c = updated(
            "nft chain",
            name,
            decl_changed.then_some((&l.decl_text, &w.decl_text)),
            &mut d.possible,
        );
        let ops = capture_diff_slices(Algorithm::Myers, &lk, &wk);
        // Handle of the nearest kept rule before / after each op.
        let mut kept_before: Option<u64> = None;
        for (i, op) in ops.iter().enumerate() {
            match *op {
                DiffOp::Equal { old_index, len, .. } => {
                    for r in &l.rules[old_index..old_index + len] {
                        c.lines.push(Line {
                            sign: ' ',
                            text: rule_display(r),
                        });
                    }
                    kept_before = Some(l.rules[old_index + len - 1].handle);
                }
                DiffOp::Delete {
                    old_index, old_len, ..
                } => delete_rules(d, &mut c, name, &l.rules[old_index..old_index + old_len]),
                DiffOp::Insert {
                    new_index, new_len, ..
                } => {
                    let next = next_kept(&ops[i + 1..], l);
                    insert_rules(
                        d,
                        &mut c,
                        name,
                        &w.rules[new_index..new_index + new_len],
                        kept_before,
                        next,
                    );
                }
                DiffOp::Replace {
                    old_index,
                    old_len,
                    new_index,
                    new_len,
                } => {
                    delete_rules(d, &mut c, name, &l.rules[old_index..old_index + old_len]);
                    let next = next_kept(&ops[i + 1..], l);
                    insert_rules(
                        d,
                        &mut c,
                        name,
                        &w.rules[new_index..new_index + new_len],
                        kept_before,
                        next,
                    );
                }
            }
        }
        elide_context(&mut c.lines);
        changes.push(c);
    }
}

fn next_kept(rest: &[DiffOp], l: &NftChain) -> Option<u64> {
    rest.iter().find_map(|op| match *op {
        DiffOp::Equal { old_index, .. } => Some(l.rules[old_index].handle),
        _ => None,
    })
}

fn delete_rules(d: &mut Delta, c: &mut Change, chain: &str, rules: &[NftRule]) {
    for r in rules {
        c.lines.push(Line {
            sign: '-',
            text: rule_display(r),
        });
        if r.handle == 0 {
            d.possible = false;
        }
        d.rules
            .push(format!("delete rule {T} {chain} handle {}", r.handle));
    }
}

fn insert_rules(
    d: &mut Delta,
    c: &mut Change,
    chain: &str,
    rules: &[NftRule],
    after: Option<u64>,
    before: Option<u64>,
) {
    for r in rules {
        c.lines.push(Line {
            sign: '+',
            text: rule_display(r),
        });
        if r.text.is_empty() {
            d.possible = false;
        }
    }
    match (after, before) {
        // Each one right after the anchor: add them last to first.
        (Some(a), _) => {
            for r in rules.iter().rev() {
                d.rules
                    .push(format!("add rule {T} {chain} position {a} {}", r.text));
            }
        }
        (None, Some(b)) => {
            for r in rules {
                d.rules
                    .push(format!("insert rule {T} {chain} position {b} {}", r.text));
            }
        }
        (None, None) => {
            for r in rules {
                d.rules.push(format!("add rule {T} {chain} {}", r.text));
            }
        }
    }
}

/// Keep unchanged rules only within two lines of a change (`…` marks a gap).
fn elide_context(lines: &mut Vec<Line>) {
    let changed: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.sign != ' ')
        .map(|(i, _)| i)
        .collect();
    let near = |i: usize| changed.iter().any(|&c| c.abs_diff(i) <= 2);
    let mut out = Vec::new();
    let mut gap = false;
    for (i, l) in lines.iter().enumerate() {
        if l.sign != ' ' || near(i) {
            out.push(l.clone());
            gap = false;
        } else if !gap {
            out.push(Line {
                sign: ' ',
                text: "…".into(),
            });
            gap = true;
        }
    }
    *lines = out;
}

/// An in-place update of a set, map or chain. A changed declaration cannot be
/// applied as a delta (`possible` is cleared: the table is reloaded) and is
/// shown as an attribute.
fn updated(
    kind: &str,
    name: &str,
    decl: Option<(&String, &String)>,
    possible: &mut bool,
) -> Change {
    let c = Change::new(Step::Firewall, Action::Update, kind, format!("{T} {name}"));
    match decl {
        Some((have, want)) => {
            *possible = false;
            c.attr("declaration", Some(have.clone()), Some(want.clone()))
        }
        None => c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(handle: u64, port: u16) -> NftRule {
        NftRule {
            handle,
            body: json!({ "expr": [{ "match": { "right": port } }, { "accept": null }] }),
            text: format!("tcp dport {port} accept"),
        }
    }

    fn table(rules: Vec<NftRule>, elems: &[&str]) -> NftState {
        NftState {
            present: true,
            sets: vec![NftSet {
                kind: "set".into(),
                name: "s4".into(),
                decl: json!({ "type": "ipv4_addr", "flags": ["interval"] }),
                decl_text: "type ipv4_addr; flags interval".into(),
                elems: elems.iter().map(|e| Elem::Str(e.to_string())).collect(),
            }],
            chains: vec![NftChain {
                name: "pol".into(),
                decl: json!({ "name": "pol" }),
                decl_text: String::new(),
                rules,
            }],
            others: Vec::new(),
            text: "table inet netc {\n}\n".into(),
            has_text: true,
            ..NftState::default()
        }
    }

    fn script(ops: &[Op]) -> (String, bool) {
        match &ops[0] {
            Op::Nft { script, full, .. } => (script.clone(), *full),
            _ => panic!("not nft"),
        }
    }

    #[test]
    fn rules_are_deleted_by_handle_and_inserted_in_place() {
        let ports = |ps: &[u16]| -> Vec<NftRule> {
            ps.iter()
                .enumerate()
                .map(|(i, p)| rule(10 + i as u64, *p))
                .collect()
        };
        // Live: 1 2 3 4 … 20 (handles 10..); desired: 0 1 2 33 4 … 20 21.
        let live_ports: Vec<u16> = (1..=20).collect();
        let mut want_ports = vec![0];
        want_ports.extend(1..=20);
        want_ports[3] = 33;
        want_ports.push(21);
        let live = table(ports(&live_ports), &["10.0.0.1"]);
        let want = table(ports(&want_ports), &["10.0.0.1"]);
        let (changes, ops) = diff(&live, &want);
        assert_eq!(changes.len(), 1);
        let (s, full) = script(&ops);
        assert!(!full, "{s}");
        assert_eq!(
            s,
            "insert rule inet netc pol position 10 tcp dport 0 accept\n\
             delete rule inet netc pol handle 12\n\
             add rule inet netc pol position 11 tcp dport 33 accept\n\
             add rule inet netc pol position 29 tcp dport 21 accept\n"
        );
    }

    /// The element changes between two lists, found around their common
    /// head and tail, are those of comparing the two as sets, whatever the
    /// order, repetition or size of the change.
    #[test]
    fn element_changes_are_those_of_the_sets() {
        let mut r = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = |n: u64| {
            r ^= r << 13;
            r ^= r >> 7;
            r ^= r << 17;
            r % n
        };
        for round in 0..400 {
            let len = next(200) as usize;
            let a: Vec<String> = (0..len)
                .map(|_| format!("10.0.{}.0/24", next(150)))
                .collect();
            let mut b = a.clone();
            for _ in 0..next(if round % 4 == 0 { 100 } else { 4 }) {
                match next(3) {
                    0 if !b.is_empty() => {
                        let i = next(b.len() as u64) as usize;
                        b.remove(i);
                    }
                    1 => {
                        let i = next(b.len() as u64 + 1) as usize;
                        b.insert(i, format!("10.1.{}.0/24", next(300)));
                    }
                    _ if b.len() > 1 => {
                        let (i, j) = (next(b.len() as u64) as usize, next(b.len() as u64) as usize);
                        b.swap(i, j);
                    }
                    _ => {}
                }
            }
            let elems = |v: &[String]| v.iter().map(|t| Elem::Str(t.clone())).collect::<Vec<_>>();
            let (x, y) = (elems(&a), elems(&b));
            let texts = |v: Vec<&Elem>| -> Vec<String> {
                v.into_iter()
                    .map(|e| match e {
                        Elem::Str(t) => t.clone(),
                        other => panic!("{other:?}"),
                    })
                    .collect()
            };
            let (gone, new) = elem_changes(&x, &y);
            let (sa, sb): (BTreeSet<&String>, BTreeSet<&String>) =
                (a.iter().collect(), b.iter().collect());
            let only = |p: &BTreeSet<&String>, q: &BTreeSet<&String>| -> Vec<String> {
                p.difference(q).map(|t| t.to_string()).collect()
            };
            assert_eq!(
                (texts(gone), texts(new)),
                (only(&sa, &sb), only(&sb, &sa)),
                "{a:?} → {b:?}"
            );
        }
    }

    #[test]
    fn element_changes_are_exact_whatever_the_order() {
        let e = |t: &str| Elem::Str(t.to_string());
        let keys = |v: Vec<&Elem>| v.into_iter().map(|x| x.key()).collect::<Vec<_>>();
        let live: Vec<Elem> = ["a", "b", "c", "d", "e"].map(e).to_vec();
        // One out, one in, in the middle; at either end; nothing.
        let want = ["a", "b", "x", "d", "e"].map(e);
        let (g, n) = elem_changes(&live, &want);
        assert_eq!(
            (keys(g), keys(n)),
            (vec![r#""c""#.to_string()], vec![r#""x""#.to_string()])
        );
        let want = ["b", "c", "d", "e", "f"].map(e);
        let (g, n) = elem_changes(&live, &want);
        assert_eq!(
            (keys(g), keys(n)),
            (vec![r#""a""#.to_string()], vec![r#""f""#.to_string()])
        );
        let (g, n) = elem_changes(&live, &live);
        assert!(g.is_empty() && n.is_empty());
        // Another order, and an element twice: nothing changed.
        let want = ["e", "d", "c", "b", "a", "c"].map(e);
        let (g, n) = elem_changes(&live, &want);
        assert!(g.is_empty() && n.is_empty(), "{g:?} {n:?}");
        // Many changes take the whole-list path.
        let many: Vec<Elem> = (0..200).map(Elem::Num).collect();
        let shifted: Vec<Elem> = (100..300).map(Elem::Num).collect();
        let (g, n) = elem_changes(&many, &shifted);
        assert_eq!((g.len(), n.len()), (100, 100));
        assert!(g.iter().all(|x| matches!(x, Elem::Num(i) if *i < 100)));
    }

    #[test]
    fn set_elements_change_one_by_one() {
        let live = table(vec![rule(5, 22)], &["10.0.0.1", "10.0.0.2"]);
        let want = table(vec![rule(9, 22)], &["10.0.0.2", "10.0.0.3"]);
        let (changes, ops) = diff(&live, &want);
        assert_eq!(changes.len(), 1, "{changes:?}");
        assert_eq!(changes[0].resource, "nft set");
        let (s, full) = script(&ops);
        assert!(!full);
        assert_eq!(
            s,
            "delete element inet netc s4 { 10.0.0.1 }\nadd element inet netc s4 { 10.0.0.3 }\n"
        );
    }

    #[test]
    fn a_changed_declaration_reloads_the_table() {
        let live = table(vec![rule(5, 22)], &[]);
        let mut want = table(vec![rule(5, 22)], &[]);
        want.sets[0].decl_text = "type ipv4_addr; flags interval; auto-merge".into();
        let (_, ops) = diff(&live, &want);
        let (s, full) = script(&ops);
        assert!(full);
        assert!(
            s.starts_with("table inet netc\ndelete table inet netc\n"),
            "{s}"
        );
    }

    #[test]
    fn a_state_without_text_is_never_written() {
        let live = table(vec![rule(5, 22)], &[]);
        let mut want = table(vec![rule(5, 2222)], &[]);
        want.has_text = false;
        want.text.clear();
        let (c, o) = diff(&live, &want);
        assert_eq!(c.len(), 1);
        assert!(c[0]
            .note
            .as_deref()
            .unwrap_or("")
            .contains("cannot be written"));
        assert!(o.is_empty());
    }

    #[test]
    fn equal_tables_need_nothing() {
        let a = table(vec![rule(5, 22)], &["10.0.0.1"]);
        let mut b = a.clone();
        b.chains[0].rules[0].handle = 99; // handles do not matter
        b.text = "different listing".into();
        let (c, o) = diff(&a, &b);
        assert!(c.is_empty() && o.is_empty());
    }
}
