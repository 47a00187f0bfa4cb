//! netc's iptables chains and hook jumps, applied with
//! `iptables-restore --noflush`: one restore (one commit per table) per
//! family. A chain whose rules change is re-declared (`:netc-x - [0:0]`,
//! which flushes it under --noflush) and refilled; removed chains are
//! flushed and deleted after the jumps to them are gone; hook jumps in
//! built-in chains are deleted by spec and re-inserted at the top (or
//! appended, when the emitted file appends them). Foreign rules and chains
//! are never named, so never touched.

use super::{Action, Change, Line, Op, Step};
use crate::state::{IptState, IptTable};
use std::collections::{BTreeMap, BTreeSet};

pub fn diff(live: &IptState, want: &IptState) -> (Vec<Change>, Vec<Op>) {
    let mut changes = Vec::new();
    let mut ops = Vec::new();
    let keys: BTreeSet<(String, String)> = live
        .tables
        .iter()
        .chain(&want.tables)
        .map(|t| (t.family.clone(), t.name.clone()))
        .collect();
    let empty = |f: &str, n: &str| IptTable {
        family: f.to_string(),
        name: n.to_string(),
        chains: Vec::new(),
        jumps: Vec::new(),
        only_netc: false,
    };
    let mut scripts: BTreeMap<String, String> = BTreeMap::new();
    // iptables-nft tables that held only netc's objects, all of which go.
    let mut drop_tables = String::new();
    for (fam, name) in &keys {
        let l = live
            .table(fam, name)
            .cloned()
            .unwrap_or_else(|| empty(fam, name));
        let w = want
            .table(fam, name)
            .cloned()
            .unwrap_or_else(|| empty(fam, name));
        if let Some(s) = diff_table(&l, &w, &mut changes) {
            scripts.entry(fam.clone()).or_default().push_str(&s);
        }
        if l.only_netc && w.chains.is_empty() && w.jumps.is_empty() {
            let nft_family = if fam == "ipv6" { "ip6" } else { "ip" };
            changes.push(
                Change::new(
                    Step::Firewall,
                    Action::Delete,
                    "iptables table",
                    format!("{} {name}", prefix(&l)),
                )
                .note(format!(
                    "iptables-nft's table `{nft_family} {name}`: empty once netc's chains are gone"
                )),
            );
            drop_tables.push_str(&format!("delete table {nft_family} {name}\n"));
        }
    }
    for (family, script) in scripts {
        ops.push(Op::IptRestore { family, script });
    }
    if !drop_tables.is_empty() {
        // After the restores: they empty the tables first.
        ops.push(Op::Nft {
            script: drop_tables,
            full: false,
            fallback: None,
        });
    }
    (changes, ops)
}

fn prefix(t: &IptTable) -> String {
    if t.family == "ipv6" {
        format!("ip6 {}", t.name)
    } else {
        t.name.clone()
    }
}

fn diff_table(l: &IptTable, w: &IptTable, changes: &mut Vec<Change>) -> Option<String> {
    let lc: BTreeMap<&str, &Vec<String>> = l
        .chains
        .iter()
        .map(|c| (c.name.as_str(), &c.rules))
        .collect();
    let wc: BTreeMap<&str, &Vec<String>> = w
        .chains
        .iter()
        .map(|c| (c.name.as_str(), &c.rules))
        .collect();
    let mut declare = Vec::new();
    let mut fill = Vec::new();
    let mut remove = Vec::new();
    let mut jumps_del = Vec::new();
    let mut jumps_add = Vec::new();
    let p = prefix(w);

    for (name, rules) in &lc {
        if !wc.contains_key(name) {
            changes.push(
                Change::new(
                    Step::Firewall,
                    Action::Delete,
                    "iptables chain",
                    format!("{p} {name}"),
                )
                .note(format!("with {} rules", rules.len())),
            );
            remove.push(*name);
        }
    }
    for (name, rules) in &wc {
        let old = lc.get(name);
        if old == Some(rules) {
            continue;
        }
        let mut c = Change::new(
            Step::Firewall,
            if old.is_some() {
                Action::Update
            } else {
                Action::Create
            },
            "iptables chain",
            format!("{p} {name}"),
        );
        let empty = Vec::new();
        let o = old.copied().unwrap_or(&empty);
        let (ov, nv): (Vec<&str>, Vec<&str>) = (
            o.iter().map(String::as_str).collect(),
            rules.iter().map(String::as_str).collect(),
        );
        let td = similar::TextDiff::from_slices(&ov, &nv);
        for ch in td.iter_all_changes() {
            let sign = match ch.tag() {
                similar::ChangeTag::Delete => '-',
                similar::ChangeTag::Insert => '+',
                similar::ChangeTag::Equal => continue,
            };
            c.lines.push(Line {
                sign,
                text: ch.value().to_string(),
            });
        }
        changes.push(c);
        declare.push(format!(":{name} - [0:0]"));
        for r in rules.iter() {
            fill.push(format!("-A {name} {r}"));
        }
    }

    // Hook jumps, per built-in chain: the same specs at the same positions.
    let group = |t: &IptTable| {
        let mut m: BTreeMap<String, Vec<(usize, String)>> = BTreeMap::new();
        for j in &t.jumps {
            m.entry(j.chain.clone())
                .or_default()
                .push((j.pos, j.spec.clone()));
        }
        for v in m.values_mut() {
            v.sort();
        }
        m
    };
    let (lj, wj) = (group(l), group(w));
    let chains: BTreeSet<&String> = lj.keys().chain(wj.keys()).collect();
    for chain in chains {
        let empty = Vec::new();
        let (o, n) = (
            lj.get(chain).unwrap_or(&empty),
            wj.get(chain).unwrap_or(&empty),
        );
        if o == n {
            continue;
        }
        let mut c = Change::new(
            Step::Firewall,
            if o.is_empty() {
                Action::Create
            } else if n.is_empty() {
                Action::Delete
            } else {
                Action::Update
            },
            "iptables jumps",
            format!("{p} {chain}"),
        );
        c.lines.extend(o.iter().map(|(p, s)| Line {
            sign: '-',
            text: format!("{s}  (rule {} of {chain})", p + 1),
        }));
        c.lines.extend(n.iter().map(|(p, s)| Line {
            sign: '+',
            text: format!("{s}  (rule {} of {chain})", p + 1),
        }));
        changes.push(c);
        for (_, s) in o {
            jumps_del.push(format!("-D {chain} {s}"));
        }
        // With every netc jump out, inserting at ascending positions puts
        // each one exactly where it belongs among the foreign rules.
        for (p, s) in n {
            jumps_add.push(format!("-I {chain} {} {s}", p + 1));
        }
    }

    if declare.is_empty() && remove.is_empty() && jumps_del.is_empty() && jumps_add.is_empty() {
        return None;
    }
    let mut s = format!("*{}\n", w.name);
    for d in &declare {
        s.push_str(d);
        s.push('\n');
    }
    // Stale jumps out first, then removed chains emptied and deleted, then fill.
    for j in &jumps_del {
        s.push_str(j);
        s.push('\n');
    }
    for r in &remove {
        s.push_str(&format!("-F {r}\n"));
    }
    for r in &remove {
        s.push_str(&format!("-X {r}\n"));
    }
    for f in &fill {
        s.push_str(f);
        s.push('\n');
    }
    for j in &jumps_add {
        s.push_str(j);
        s.push('\n');
    }
    s.push_str("COMMIT\n");
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{IptChain, IptJump};

    fn state(rules: &[&str], jump_pos: Option<usize>, extra_chain: bool) -> IptState {
        let mut chains = vec![IptChain {
            name: "netc-INPUT".into(),
            rules: rules.iter().map(|s| s.to_string()).collect(),
        }];
        if extra_chain {
            chains.push(IptChain {
                name: "netc-old".into(),
                rules: vec!["-j ACCEPT".into()],
            });
        }
        IptState {
            tables: vec![IptTable {
                family: "ipv4".into(),
                name: "filter".into(),
                chains,
                jumps: jump_pos
                    .map(|pos| IptJump {
                        chain: "INPUT".into(),
                        spec: "-j netc-INPUT".into(),
                        pos,
                    })
                    .into_iter()
                    .collect(),
                only_netc: false,
            }],
        }
    }

    #[test]
    fn changed_chain_redeclared_stale_chain_removed_jump_moved_first() {
        let live = state(&["-p tcp --dport 22 -j ACCEPT"], Some(1), true);
        let want = state(&["-p tcp --dport 2222 -j ACCEPT"], Some(0), false);
        let (changes, ops) = diff(&live, &want);
        assert_eq!(changes.len(), 3, "{changes:#?}");
        let Op::IptRestore { family, script } = &ops[0] else {
            panic!()
        };
        assert_eq!(family, "ipv4");
        assert_eq!(
            script,
            "*filter\n:netc-INPUT - [0:0]\n-D INPUT -j netc-INPUT\n-F netc-old\n-X netc-old\n\
             -A netc-INPUT -p tcp --dport 2222 -j ACCEPT\n-I INPUT 1 -j netc-INPUT\nCOMMIT\n"
        );
    }

    #[test]
    fn equal_states_need_nothing() {
        let s = state(&["-j ACCEPT"], Some(0), false);
        let (c, o) = diff(&s, &s.clone());
        assert!(c.is_empty() && o.is_empty());
    }
}
