//! The firewall in iptables-restore format (`iptables.rules`, and
//! [`emit_v6`] for `ip6tables.rules`).
//!
//! A plain translation of [`Firewall`]: every IR chain becomes a chain
//! `netc-<name>` (at most 28 characters; a longer or non-conforming name
//! becomes `netc-x-<hash>`), in every table whose hooks reach it: raw
//! (doNotTrack), mangle (preDNAT, PREROUTING), filter (INPUT, FORWARD,
//! OUTPUT), nat (natOutgoing, POSTROUTING). The IPv4 file carries the rules
//! of family IPv4 and of no family; the IPv6 file those of IPv6 and of no
//! family.
//!
//! # Applying: `iptables-restore --noflush` and the hook jumps
//!
//! The file touches only netc's chains. Every table block declares all of
//! netc's chains in that table (`:netc-X - [0:0]` creates a chain or flushes
//! it), including the top-level ones (`netc-INPUT`, ...) even when they are
//! empty, so a restore always replaces everything netc enforces, and
//! nothing else: `iptables-restore --noflush` leaves the host's own rules
//! alone. The file does not insert the jumps from the built-in chains,
//! because `-I INPUT 1 -j netc-INPUT` would add a duplicate on every apply
//! and `-D` fails the whole restore when the rule is absent. Instead
//! [`hook_jumps`] lists them (also as comments at the top of the file) and
//! the host layer ensures each exists exactly once, first in its built-in
//! chain: `iptables -t T -C CHAIN -j netc-X` (present?) else `-I CHAIN 1 -j
//! netc-X`, and deletes extra copies — Felix's approach. `netc-` chains a
//! previous apply declared and this file does not are left unreferenced;
//! the host layer deletes them (`-X`) after the restore.
//!
//! # Address sets: expanded, not ipsets
//!
//! iptables has no sets of its own. ipsets would need the `ipset` tool, a
//! third artifact restored before the rules, and `iptables-restore --test`
//! would fail on a host where the sets do not exist yet. netc expands sets
//! into rules instead, so the file is self-contained. To keep a rule with
//! several multi-element sets linear in their sizes (n + m, not n × m), a
//! rule that cannot be written as one iptables rule jumps to a chain of
//! stages `netc-r-<hash>`:
//!
//! ```text
//! -A netc-pi-x <protocol, icmp, ≤15-slot multiport ports, one -s/-d> -j netc-r-1
//! -A netc-r-1 -s <each element of a notNets/notSelector set> -j RETURN
//! -A netc-r-1 -g netc-r-2
//! -A netc-r-2 -s <each element of the first positive set>    -g netc-r-3
//! -A netc-r-3 -d <each element of the next positive set>     -j <action>
//! ```
//!
//! (`-g`: when a stage does not decide, control returns past the `-j
//! netc-r-1`, to the policy's next rule.) Stage chains are named by a hash
//! of their content, so every rule that expands to the same stages (say,
//! "from selector X, accept") shares one chain. A set with one element is
//! written inline (`-s`, `! -s`); a rule with a positive set that has no
//! element becomes a comment (it can never match). Dispatch is a list of
//! `-i`/`-o` rules. nftables is the scalable backend (sets and verdict
//! maps, and runs of same-verdict rules merged into concatenated sets —
//! `nftables/merge.rs`); with iptables a packet costs one comparison per
//! rule, element and endpoint on its path. That is a deliberate limit, not
//! an oversight: with 10,000 rules a new flow's rate drops to 0.06–0.09× of
//! no ruleset, as with the linear nft chain, but the set-based equivalent
//! needs the ipset tool (not on this machine kind), an artifact restored
//! before the rules and apply owning the sets (docs/lab-facts.md,
//! "iptables"). Large policies belong on the nftables backend.
//!
//! Quoting: comments (`-m comment --comment "..."`) and log prefixes are
//! reduced to printable ASCII without `"` and `\` (the restore parser's
//! only special characters inside quotes) and truncated; interface names
//! that are not `[A-Za-z0-9_.-]{1,15}` are left out (validation rejects them
//! first).

use crate::nftables::{log_prefix, string};
use netc_ir::Protocol;
use netc_ir::*;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt::Write;

/// iptables' chain name limit (XT_EXTENSION_MAXNAMELEN - 1).
const MAX_CHAIN: usize = 28;
const MAX_COMMENT: usize = 200;
/// multiport takes at most 15 ports (a range counts twice).
const MULTIPORT_SLOTS: usize = 15;

/// One jump from a built-in chain into netc's top-level chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HookJump {
    pub table: &'static str,
    /// Built-in chain, e.g. `INPUT`.
    pub chain: &'static str,
    /// netc's chain, e.g. `netc-INPUT`.
    pub target: String,
}

/// A built-in chain netc hooks, and the IR hook it runs (None: NAT).
type TopChain = (&'static str, Option<Hook>);

/// The tables and top-level chains netc uses, in file order.
const TOP: &[(&str, &[TopChain])] = &[
    (
        "raw",
        &[
            ("PREROUTING", Some(Hook::RawPrerouting)),
            ("OUTPUT", Some(Hook::RawOutput)),
        ],
    ),
    ("mangle", &[("PREROUTING", Some(Hook::PreDnat))]),
    (
        "filter",
        &[
            ("INPUT", Some(Hook::Input)),
            ("FORWARD", Some(Hook::Forward)),
            ("OUTPUT", Some(Hook::Output)),
        ],
    ),
    ("nat", &[("POSTROUTING", None)]),
];

/// The jumps the host layer keeps first in the built-in chains (the same
/// for IPv4 and IPv6).
pub fn hook_jumps() -> Vec<HookJump> {
    TOP.iter()
        .flat_map(|(table, chains)| {
            chains.iter().map(move |(c, _)| HookJump {
                table,
                chain: c,
                target: format!("{IPT_CHAIN_PREFIX}{c}"),
            })
        })
        .collect()
}

/// `iptables.rules`: IPv4.
pub fn emit(ir: &HostIr) -> String {
    render(ir, Family::V4)
}

/// `ip6tables.rules`: IPv6.
pub fn emit_v6(ir: &HostIr) -> String {
    render(ir, Family::V6)
}

fn render(ir: &HostIr, fam: Family) -> String {
    let fw = &ir.firewall;
    let mut o = String::new();
    let tool = match fam {
        Family::V4 => "iptables",
        Family::V6 => "ip6tables",
    };
    let _ = writeln!(
        o,
        "# netc firewall for node {} ({tool}): generated, do not edit.",
        string(&ir.node, MAX_COMMENT)
    );
    let _ = writeln!(
        o,
        "# Apply with `{tool}-restore --noflush`; netc's host layer keeps these jumps first in the built-in chains:"
    );
    for j in hook_jumps() {
        let _ = writeln!(o, "#   -t {} -I {} 1 -j {}", j.table, j.chain, j.target);
    }
    for (table, tops) in TOP {
        let mut t = Table::new(fw, fam);
        for (builtin, hook) in tops.iter() {
            let top = format!("{IPT_CHAIN_PREFIX}{builtin}");
            t.declare(&top);
            match hook {
                Some(h) => {
                    if let Some(hc) = fw.hooks.iter().find(|x| x.hook == *h) {
                        t.hook_chain(&top, hc);
                    }
                }
                None => t.nat(&top),
            }
        }
        t.drain();
        let _ = writeln!(o, "*{table}");
        for c in &t.order {
            let _ = writeln!(o, ":{c} - [0:0]");
        }
        for c in &t.order {
            for r in &t.rules[c] {
                o.push_str(r);
                o.push('\n');
            }
        }
        o.push_str("COMMIT\n");
    }
    o
}

/// One table's chains being written.
struct Table<'f> {
    fw: &'f Firewall,
    fam: Family,
    order: Vec<String>,
    rules: BTreeMap<String, Vec<String>>,
    /// IR chains reached but not written yet.
    queue: VecDeque<Name>,
    seen: BTreeSet<Name>,
}

/// What a rule does: one or more targets applied in order to a matching
/// packet (all but the last are non-terminal).
type Targets = Vec<String>;

impl<'f> Table<'f> {
    fn new(fw: &'f Firewall, fam: Family) -> Table<'f> {
        Table {
            fw,
            fam,
            order: Vec::new(),
            rules: BTreeMap::new(),
            queue: VecDeque::new(),
            seen: BTreeSet::new(),
        }
    }

    fn declare(&mut self, chain: &str) {
        if !self.rules.contains_key(chain) {
            self.order.push(chain.to_string());
            self.rules.insert(chain.to_string(), Vec::new());
        }
    }

    fn push(&mut self, chain: &str, rule: String, comment: &str) {
        let mut r = format!("-A {chain}");
        if !comment.is_empty() {
            let _ = write!(
                r,
                " -m comment --comment \"{}\"",
                string(comment, MAX_COMMENT)
            );
        }
        if !rule.is_empty() {
            r.push(' ');
            r.push_str(&rule);
        }
        self.rules.entry(chain.to_string()).or_default().push(r);
    }

    fn push_comment(&mut self, chain: &str, text: &str) {
        self.rules
            .entry(chain.to_string())
            .or_default()
            .push(format!("# {}", string(text, MAX_COMMENT)));
    }

    /// The iptables name of IR chain `n`, queued for writing.
    fn reach<T>(&mut self, r: &Ref<T>) -> String {
        let n = r.name();
        if self.seen.insert(n.clone()) {
            self.queue.push_back(n.clone());
        }
        chain_name(n.as_str())
    }

    fn hook_chain(&mut self, top: &str, h: &HookChain) {
        if h.accept_untracked {
            self.push(
                top,
                format!(
                    "-m mark --mark {m:#x}/{m:#x} -j ACCEPT",
                    m = MARK_UNTRACKED_ALLOW
                ),
                "allowed by a doNotTrack policy",
            );
        }
        if self.fam == Family::V6 {
            for t in &h.accept_icmpv6 {
                self.push(
                    top,
                    format!("-p ipv6-icmp -m icmp6 --icmpv6-type {t} -j ACCEPT"),
                    "IPv6 neighbour discovery",
                );
            }
        }
        if h.conntrack {
            self.push(
                top,
                "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT".into(),
                "",
            );
            self.push(top, "-m conntrack --ctstate INVALID -j DROP".into(), "");
        }
        for r in &h.accept {
            self.rule(top, &r.matches, vec!["-j ACCEPT".into()], &r.comment);
        }
        for s in &h.stages {
            let c = self.reach(s);
            self.push(top, format!("-j {c}"), "");
        }
    }

    fn nat(&mut self, top: &str) {
        let fw = self.fw;
        let fam = self.fam;
        for r in fw.nat.iter().filter(|r| r.family == fam) {
            let m = Match {
                family: Some(r.family),
                src: SideMatch {
                    in_sets: vec![r.from_set.clone()],
                    ..Default::default()
                },
                dst: SideMatch {
                    not_in_sets: vec![r.not_to_set.clone()],
                    ..Default::default()
                },
                ..Default::default()
            };
            self.rule(top, &m, vec!["-j MASQUERADE".into()], &r.comment);
        }
    }

    /// Write every queued IR chain (and what it reaches).
    fn drain(&mut self) {
        while let Some(n) = self.queue.pop_front() {
            let c = chain_name(n.as_str());
            self.declare(&c);
            let fw = self.fw;
            if let Some(d) = fw.dispatch.iter().find(|d| d.name == n) {
                self.dispatch(&c, d);
            } else if let Some(k) = fw.continuations.iter().find(|k| k.name == n) {
                for s in &k.stages {
                    let t = self.reach(s);
                    self.push(&c, format!("-j {t}"), "");
                }
                self.push(&c, "-j ACCEPT".into(), "the later stages made no decision");
            } else if let Some(f) = fw.failsafes.iter().find(|f| f.name == n) {
                for r in &f.rules {
                    let side = match r.side {
                        PortSide::Src => "--sports",
                        PortSide::Dst => "--dports",
                    };
                    self.push(
                        &c,
                        format!(
                            "-p {} -m multiport {side} {} -j ACCEPT",
                            proto(r.protocol, self.fam),
                            r.port
                        ),
                        &f.comment,
                    );
                }
            } else if let Some(e) = fw.endpoint_chains.iter().find(|e| e.name == n) {
                self.endpoint(&c, e);
            } else if let Some(t) = Lookup::<TierChain>::lookup(fw, &n) {
                self.tier(&c, t);
            } else if let Some(p) = Lookup::<PolicyChain>::lookup(fw, &n) {
                self.policy(&c, p);
            }
        }
    }

    fn dispatch(&mut self, c: &str, d: &DispatchChain) {
        let flag = match d.dir {
            IfaceDir::In => "-i",
            IfaceDir::Out => "-o",
        };
        for e in d
            .entries
            .iter()
            .filter(|e| netc_ir::IfName::is_valid(&e.iface))
        {
            let t = match &e.chain {
                Some(ch) => format!("-g {}", self.reach(ch)),
                None => "-j RETURN".into(),
            };
            self.push(c, format!("{flag} {} {t}", e.iface), "");
        }
        if let Some(f) = &d.fallback {
            let t = self.reach(f);
            self.push(c, format!("-g {t}"), "host endpoint *");
        }
    }

    fn allow_targets(&mut self, a: &OnAllow) -> Targets {
        match a {
            OnAllow::Accept => vec!["-j ACCEPT".into()],
            OnAllow::AcceptUntracked => vec![
                format!(
                    "-j MARK --set-xmark {m:#x}/{m:#x}",
                    m = MARK_UNTRACKED_ALLOW
                ),
                "-j CT --notrack".into(),
                "-j ACCEPT".into(),
            ],
            OnAllow::Then(k) => vec![format!("-g {}", self.reach(k))],
        }
    }

    fn endpoint(&mut self, c: &str, e: &EndpointChain) {
        let fw = self.fw;
        if let Some(f) = &e.failsafe {
            let t = self.reach(f);
            self.push(c, format!("-j {t}"), "");
        }
        for tn in &e.tiers {
            let t = self.reach(tn);
            let tc = fw.tier(tn);
            self.push(
                c,
                format!("-j {t}"),
                &tc.map(|t| format!("tier {}", t.tier)).unwrap_or_default(),
            );
            if tc.is_some_and(|t| fw.tier_passes(t)) {
                self.push(c, clear_pass(), "");
            }
        }
        let what = format!("{} default", e.endpoint);
        match e.default {
            Verdict::Allow => {
                for t in self.allow_targets(&e.on_allow) {
                    self.push(c, t, &what);
                }
            }
            Verdict::Drop => self.push(c, "-j DROP".into(), &what),
            Verdict::Return => {}
        }
    }

    fn tier(&mut self, c: &str, t: &TierChain) {
        let fw = self.fw;
        if fw.tier_passes(t) {
            self.push(c, clear_pass(), "");
        }
        for pn in &t.policies {
            let p = self.reach(pn);
            let pc = fw.policy(pn);
            self.push(
                c,
                format!("-j {p}"),
                &pc.map(|p| p.policy.clone()).unwrap_or_default(),
            );
            if pc.is_some_and(PolicyChain::has_pass) {
                self.push(
                    c,
                    format!("-m mark --mark {m:#x}/{m:#x} -j RETURN", m = MARK_PASS),
                    "passed",
                );
            }
        }
        if t.end_drop {
            self.push(
                c,
                "-j DROP".into(),
                &format!("end of tier {}: no policy allowed or passed", t.tier),
            );
        }
    }

    fn policy(&mut self, c: &str, p: &PolicyChain) {
        for r in &p.rules {
            let targets = match r.action {
                RuleAction::Allow => self.allow_targets(&p.on_allow),
                RuleAction::Deny => vec!["-j DROP".into()],
                RuleAction::Log => vec![format!(
                    "-j LOG --log-prefix \"{}\"",
                    log_prefix(&p.log_prefix)
                )],
                RuleAction::Pass => {
                    vec![format!("-j MARK --set-xmark {m:#x}/{m:#x}", m = MARK_PASS)]
                }
            };
            let emitted = self.rule(c, &r.matches, targets, &r.comment);
            if emitted && r.action == RuleAction::Pass {
                self.push(
                    c,
                    format!("-m mark --mark {m:#x}/{m:#x} -j RETURN", m = MARK_PASS),
                    "passed",
                );
            }
        }
    }

    /// Write one IR rule into `chain`; false when it cannot match in this
    /// family (nothing written, or a comment).
    fn rule(&mut self, chain: &str, m: &Match, targets: Targets, comment: &str) -> bool {
        if m.family.is_some_and(|f| f != self.fam) {
            return false;
        }
        let fw = self.fw;
        // Inline matches.
        let mut inline: Vec<String> = Vec::new();
        if let Some(p) = m.protocol {
            inline.push(format!("-p {}", proto(p, self.fam)));
        }
        if let Some(p) = m.not_protocol {
            inline.push(format!("! -p {}", proto(p, self.fam)));
        }
        let (icmp_m, icmp_opt) = match self.fam {
            Family::V4 => ("icmp", "--icmp-type"),
            Family::V6 => ("icmp6", "--icmpv6-type"),
        };
        if let Some(i) = &m.icmp {
            inline.push(format!("-m {icmp_m} {icmp_opt} {}", icmp(i)));
        }
        if let Some(i) = &m.not_icmp {
            inline.push(format!("-m {icmp_m} ! {icmp_opt} {}", icmp(i)));
        }
        // Stages: negative element lists, then positive ones.
        let mut negatives: Vec<String> = Vec::new(); // rules that RETURN
        let mut positives: Vec<Vec<String>> = Vec::new(); // alternatives per stage
        let p = m.protocol.map(|p| proto(p, self.fam)).unwrap_or_default();
        for (s, addr, port) in [(&m.src, "-s", "--sports"), (&m.dst, "-d", "--dports")] {
            let mut addr_inline = false;
            if let Some(n) = &s.in_net {
                addr_inline = true;
                inline.push(format!("{addr} {n}"));
            }
            for n in &s.in_sets {
                let els = elements(fw, n, self.fam);
                if els.is_empty() {
                    self.push_comment(
                        chain,
                        &format!("{comment}: never matches (set {n} is empty)"),
                    );
                    return false;
                }
                if els.len() == 1 && !addr_inline {
                    addr_inline = true;
                    inline.push(format!("{addr} {}", els[0]));
                } else {
                    positives.push(els.iter().map(|e| format!("{addr} {e}")).collect());
                }
            }
            if let Some(n) = &s.not_in_net {
                if addr_inline {
                    negatives.push(format!("{addr} {n}"));
                } else {
                    addr_inline = true;
                    inline.push(format!("! {addr} {n}"));
                }
            }
            for n in &s.not_in_sets {
                let els = elements(fw, n, self.fam);
                if els.len() == 1 && !addr_inline {
                    addr_inline = true;
                    inline.push(format!("! {addr} {}", els[0]));
                } else {
                    negatives.extend(els.iter().map(|e| format!("{addr} {e}")));
                }
            }
            let chunks = port_chunks(&s.ports);
            match chunks.len() {
                0 => {}
                1 => inline.push(format!("-m multiport {port} {}", chunks[0])),
                _ => positives.push(
                    chunks
                        .iter()
                        .map(|c| format!("-p {p} -m multiport {port} {c}"))
                        .collect(),
                ),
            }
            let chunks = port_chunks(&s.not_ports);
            match chunks.len() {
                0 => {}
                1 => inline.push(format!("-m multiport ! {port} {}", chunks[0])),
                _ => negatives.extend(
                    chunks
                        .iter()
                        .map(|c| format!("-p {p} -m multiport {port} {c}")),
                ),
            }
        }
        let inline = inline.join(" ");
        let with = |m: &str, t: &str| {
            if m.is_empty() {
                t.to_string()
            } else {
                format!("{m} {t}")
            }
        };
        if negatives.is_empty() && positives.is_empty() {
            for t in &targets {
                self.push(chain, with(&inline, t), comment);
            }
            return true;
        }
        // Rule chains, built from the last stage back. Each is named by a
        // hash of its content (which includes the names of the chains it
        // goes to), so rules that expand to the same stages share them.
        let mut next: Option<String> = None;
        if targets.len() > 1 && !positives.is_empty() {
            next = Some(self.content_chain(targets.clone()));
        }
        for alts in positives.iter().rev() {
            let lines = alts
                .iter()
                .map(|a| match &next {
                    Some(nx) => format!("{a} -g {nx}"),
                    None => format!("{a} {}", targets[0]),
                })
                .collect();
            next = Some(self.content_chain(lines));
        }
        let entry = if negatives.is_empty() {
            next.expect("a positive stage")
        } else {
            let mut lines: Vec<String> =
                negatives.iter().map(|n| format!("{n} -j RETURN")).collect();
            match next {
                Some(nx) => lines.push(format!("-g {nx}")),
                None => lines.extend(targets.iter().cloned()),
            }
            self.content_chain(lines)
        };
        self.push(chain, with(&inline, &format!("-j {entry}")), comment);
        true
    }

    /// A chain holding exactly `lines` (rule specs), named by their hash;
    /// written once per table.
    fn content_chain(&mut self, lines: Vec<String>) -> String {
        let name = chain_name(&format!("r-{}", hash(&lines.join("\n"), 8)));
        if !self.rules.contains_key(&name) {
            self.declare(&name);
            for l in lines {
                self.push(&name, l, "");
            }
        }
        name
    }
}

fn clear_pass() -> String {
    format!("-j MARK --set-xmark 0x0/{MARK_PASS:#x}")
}

fn elements(fw: &Firewall, set: &Ref<AddrSet>, fam: Family) -> Vec<String> {
    fw.set(set)
        .map(|s| {
            s.elements
                .iter()
                .filter(|e| {
                    matches!(
                        (e, fam),
                        (ipnet::IpNet::V4(_), Family::V4) | (ipnet::IpNet::V6(_), Family::V6)
                    )
                })
                .map(|e| e.to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Ports as multiport lists of at most 15 slots each.
fn port_chunks(p: &PortSet) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur: Vec<String> = Vec::new();
    let mut slots = 0;
    for (lo, hi) in p {
        let (item, n) = if lo == hi {
            (lo.to_string(), 1)
        } else {
            (format!("{lo}:{hi}"), 2)
        };
        if slots + n > MULTIPORT_SLOTS {
            out.push(cur.join(","));
            cur.clear();
            slots = 0;
        }
        cur.push(item);
        slots += n;
    }
    if !cur.is_empty() {
        out.push(cur.join(","));
    }
    out
}

fn icmp(i: &IcmpMatch) -> String {
    match i.code {
        Some(c) => format!("{}/{c}", i.icmp_type),
        None => i.icmp_type.to_string(),
    }
}

fn proto(p: Protocol, fam: Family) -> String {
    match p {
        Protocol::Tcp => "tcp".into(),
        Protocol::Udp => "udp".into(),
        Protocol::Icmp => "icmp".into(),
        Protocol::IcmpV6 => match fam {
            Family::V4 => "58".into(),
            Family::V6 => "ipv6-icmp".into(),
        },
        Protocol::Sctp => "sctp".into(),
        Protocol::UdpLite => "udplite".into(),
        Protocol::Number(n) => n.to_string(),
    }
}

fn hash(s: &str, bytes: usize) -> String {
    netc_ir::digest::sha256_hex(s.as_bytes(), bytes)
}

/// `netc-<name>` when that is a safe name of at most 28 characters, else
/// `netc-x-<hash>`.
fn chain_name(n: &str) -> String {
    let full = format!("{IPT_CHAIN_PREFIX}{n}");
    let ok = full.len() <= MAX_CHAIN
        && n.starts_with(|c: char| c.is_ascii_lowercase())
        && n.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if ok {
        full
    } else {
        format!("{IPT_CHAIN_PREFIX}x-{}", hash(n, 8))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_names() {
        assert_eq!(chain_name("pi-web-01234567"), "netc-pi-web-01234567");
        let long = chain_name("a-very-long-chain-name-that-does-not-fit");
        assert!(long.len() <= MAX_CHAIN && long.starts_with("netc-x-"));
        assert!(chain_name("A\"B").starts_with("netc-x-"));
    }

    #[test]
    fn multiport_chunks() {
        let p: PortSet = (1..=20).map(|i| (i * 10, i * 10)).collect();
        let c = port_chunks(&p);
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].split(',').count(), 15);
        assert_eq!(port_chunks(&vec![(1, 2); 8]).len(), 2);
    }
}
