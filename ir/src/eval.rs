//! What the firewall does with one packet: a pure evaluator of the
//! [`Firewall`] graph (`netc check`).
//!
//! It follows the semantics in the module comment of `firewall.rs` step for
//! step — the contract both emitters reproduce — so its verdict is the
//! verdict of either backend. The packet is the first packet of a
//! connection (conntrack state *new*), so `established,related` never
//! matches.
//!
//! # Which hooks a packet takes
//!
//! [`route`] decides it from the node's [`Topology`], as the kernel's routing
//! does (docs/lab-facts.md, "Which hooks a packet traverses"):
//!
//! - to a local address from elsewhere: raw prerouting → preDNAT (mangle
//!   prerouting) → input, arriving on the interface facing the source;
//! - from a local address: raw output → output, leaving by the interface
//!   facing the destination; to a local address too, then again through
//!   raw prerouting → preDNAT → input on `lo`;
//! - otherwise forwarded: raw prerouting → preDNAT → forward.
//!
//! A drop in any hook ends the path. An accept ends only that hook (nftables
//! base chains and iptables tables alike): the packet goes on to the next
//! hook. The verdict is the last filter hook's (input, forward, output):
//! accepted, dropped, or no decision — netc has no opinion and the host's
//! other rules decide (nothing else on a host netc manages alone: accept).
//!
//! # Connection tracking
//!
//! A new packet is conntrack state *new*, except an ICMP message that cannot
//! open a connection (anything but an echo, timestamp, information or
//! address-mask request; for ICMPv6 anything but echo request, node
//! information query, and the neighbour discovery and MLD types 130-136 and
//! 143, which conntrack leaves untracked): conntrack attaches no entry to
//! it, so `ct state invalid` matches and every hook chain with conntrack
//! drops it (docs/lab-facts.md, "Conntrack and ICMP"). Packets allowed by a
//! doNotTrack policy in the raw table are untracked, neither new nor
//! invalid, and carry [`MARK_UNTRACKED_ALLOW`].

use crate::firewall::*;
use crate::names::{Name, Ref};
use crate::protocol::Protocol;
use serde::Serialize;
use std::net::IpAddr;

/// One packet, the first of its connection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Packet {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub protocol: Protocol,
    /// Source port (TCP, UDP, SCTP; ignored otherwise).
    pub src_port: u16,
    /// Destination port (TCP, UDP, SCTP; ignored otherwise).
    pub dst_port: u16,
    /// ICMP type and code (ICMP, ICMPv6; ignored otherwise).
    pub icmp_type: u8,
    pub icmp_code: u8,
}

impl Packet {
    pub fn family(&self) -> Family {
        match self.src {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }
    fn ports(&self) -> Option<(u16, u16)> {
        self.protocol
            .has_ports()
            .then_some((self.src_port, self.dst_port))
    }
    fn icmp(&self) -> Option<(u8, u8)> {
        match (self.protocol, self.family()) {
            (Protocol::Icmp, Family::V4) | (Protocol::IcmpV6, Family::V6) => {
                Some((self.icmp_type, self.icmp_code))
            }
            _ => None,
        }
    }
    /// Conntrack gives a new ICMP message that cannot open a connection no
    /// entry: state invalid (module comment).
    pub fn ct_invalid(&self) -> bool {
        match (self.protocol, self.family()) {
            (Protocol::Icmp, Family::V4) => !matches!(self.icmp_type, 8 | 13 | 15 | 17),
            // Neighbour discovery and MLD (130-136, 143) are untracked, not invalid.
            (Protocol::IcmpV6, Family::V6) => {
                !matches!(self.icmp_type, 128 | 139 | 130..=136 | 143)
            }
            _ => false,
        }
    }
}

/// The node as routing sees it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Topology {
    /// Addresses assigned to the host itself (its underlay addresses, its
    /// host endpoints' expected IPs).
    pub local: Vec<IpAddr>,
    /// Routes: a destination and the interface it leaves by (`None`: a
    /// blackhole, the kernel drops the packet). The longest prefix wins.
    pub routes: Vec<(ipnet::IpNet, Option<String>)>,
    /// The interface traffic to and from anywhere else uses (the default route).
    pub uplink: String,
}

impl Topology {
    /// What the IR says: the node's underlay addresses, the routes netc
    /// programs (workload veths, remote blocks through their tunnel or
    /// gateway device, the local block's blackhole), and the underlay
    /// interface as the default route's (`eth0` when not annotated).
    pub fn from_ir(ir: &crate::HostIr) -> Topology {
        let uplink = ir
            .underlay
            .interface
            .as_ref()
            .map_or_else(|| "eth0".to_string(), |i| i.to_string());
        let routes = ir
            .routes
            .iter()
            .map(|r| {
                let dev = match &r.kind {
                    crate::RouteKind::Blackhole => None,
                    crate::RouteKind::Dev { dev } => Some(dev.to_string()),
                    crate::RouteKind::Via { dev: Some(d), .. } => Some(d.to_string()),
                    crate::RouteKind::Via { dev: None, .. } => Some(uplink.clone()),
                };
                (r.dst.trunc(), dev)
            })
            .collect();
        Topology {
            local: [ir.address, ir.address_v6]
                .into_iter()
                .flatten()
                .map(|n| n.addr())
                .collect(),
            routes,
            uplink,
        }
    }
}

/// How the kernel handles a packet on this node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum RouteKind {
    /// To a local address from elsewhere.
    Input,
    /// Through the host.
    Forward,
    /// From a local address to elsewhere.
    Output,
    /// From a local address to a local address (out and back in on `lo`).
    Local,
    /// To a blackhole route: the kernel drops it when routing (after the
    /// prerouting hooks for a packet from elsewhere; before any hook for
    /// one the host sends, whose `sendto` fails).
    Blackhole,
}

/// The route a packet takes: its kind and interfaces.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Route {
    pub kind: RouteKind,
    /// Interface the packet arrives on (none for a locally sent packet).
    pub iif: Option<String>,
    /// Interface the packet leaves by (none for a locally delivered packet).
    pub oif: Option<String>,
}

impl Topology {
    fn is_local(&self, a: IpAddr) -> bool {
        a.is_loopback() || self.local.contains(&a)
    }
    /// The interface the kernel routes `a` by: the longest matching route's
    /// (`None` for a blackhole), else the uplink.
    pub fn iface_for(&self, a: IpAddr) -> Option<String> {
        self.routes
            .iter()
            .filter(|(n, _)| n.contains(&a))
            .max_by_key(|(n, _)| n.prefix_len())
            .map_or_else(|| Some(self.uplink.clone()), |(_, i)| i.clone())
    }
    /// The interface a packet from `a` arrives on: the one facing `a`.
    fn iface_from(&self, a: IpAddr) -> String {
        self.iface_for(a).unwrap_or_else(|| self.uplink.clone())
    }
}

/// Which way the kernel sends `p` on a node with topology `t`.
pub fn route(t: &Topology, p: &Packet) -> Route {
    let (src_local, dst_local) = (t.is_local(p.src), t.is_local(p.dst));
    let (iif, oif) = match (src_local, dst_local) {
        (true, true) => {
            return Route {
                kind: RouteKind::Local,
                iif: Some("lo".into()),
                oif: Some("lo".into()),
            }
        }
        (false, true) => {
            return Route {
                kind: RouteKind::Input,
                iif: Some(t.iface_from(p.src)),
                oif: None,
            }
        }
        (true, false) => (None, t.iface_for(p.dst)),
        (false, false) => (Some(t.iface_from(p.src)), t.iface_for(p.dst)),
    };
    let kind = match (&iif, &oif) {
        (_, None) => RouteKind::Blackhole,
        (None, Some(_)) => RouteKind::Output,
        (Some(_), Some(_)) => RouteKind::Forward,
    };
    Route { kind, iif, oif }
}

impl RouteKind {
    /// The hooks a packet passes, in order, with the interfaces each sees:
    /// (hook, iif, oif).
    fn hooks(self, r: &Route) -> Vec<(Hook, Option<&str>, Option<&str>)> {
        let (i, o) = (r.iif.as_deref(), r.oif.as_deref());
        match self {
            RouteKind::Input => vec![
                (Hook::RawPrerouting, i, None),
                (Hook::PreDnat, i, None),
                (Hook::Input, i, None),
            ],
            RouteKind::Forward => vec![
                (Hook::RawPrerouting, i, None),
                (Hook::PreDnat, i, None),
                (Hook::Forward, i, o),
            ],
            RouteKind::Output => vec![(Hook::RawOutput, None, o), (Hook::Output, None, o)],
            RouteKind::Blackhole => match i {
                Some(_) => vec![(Hook::RawPrerouting, i, None), (Hook::PreDnat, i, None)],
                None => Vec::new(),
            },
            RouteKind::Local => vec![
                (Hook::RawOutput, None, o),
                (Hook::Output, None, o),
                (Hook::RawPrerouting, i, None),
                (Hook::PreDnat, i, None),
                (Hook::Input, i, None),
            ],
        }
    }
}

/// The packet's fate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Accept,
    Drop,
    /// netc's chains made no decision: the host's other rules decide.
    NoDecision,
}

/// One step of the path through the chain graph.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    /// A hook chain the packet enters, with the interfaces it sees there.
    Hook {
        hook: Hook,
        iif: Option<String>,
        oif: Option<String>,
    },
    /// The hook chain decided before any endpoint chain (why).
    HookRule {
        outcome: Outcome,
        why: String,
    },
    /// A dispatch stage sent the packet to an endpoint chain.
    Dispatch {
        chain: Name,
        iface: String,
        /// Through the `*` host endpoint.
        fallback: bool,
    },
    Endpoint {
        chain: Name,
        endpoint: String,
        direction: Direction,
    },
    /// A failsafe port accepted the packet.
    Failsafe {
        chain: Name,
        protocol: Protocol,
        port: u16,
        side: PortSide,
    },
    Tier {
        chain: Name,
        tier: String,
    },
    Policy {
        chain: Name,
        policy: String,
    },
    /// A rule matched.
    Rule {
        chain: Name,
        policy: String,
        direction: Direction,
        /// Position in the policy chain.
        index: usize,
        /// The rule's position in the policy's ingress or egress list.
        source_rule: Option<u32>,
        action: RuleAction,
        comment: String,
    },
    /// No policy of the tier decided: Calico's end-of-tier drop.
    TierEnd {
        tier: String,
        drop: bool,
    },
    /// No policy decided: the endpoint's default.
    Default {
        endpoint: String,
        verdict: Verdict,
    },
    /// An allow runs the later dispatch stages of the hook.
    Continuation {
        name: Name,
    },
    /// The hook's verdict.
    HookDone {
        hook: Hook,
        outcome: Outcome,
    },
    /// The destination's route is a blackhole: the kernel drops the packet.
    NoRoute,
}

/// The answer: the verdict and every step that led to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Evaluation {
    pub outcome: Outcome,
    pub route: Route,
    pub path: Vec<Step>,
}

impl Evaluation {
    /// The step that decided: the last rule, failsafe, tier end, default or
    /// hook rule that gave a terminal result.
    pub fn deciding(&self) -> Option<&Step> {
        self.path.iter().rev().find(|s| match s {
            Step::Rule { action, .. } => matches!(action, RuleAction::Allow | RuleAction::Deny),
            Step::Failsafe { .. } | Step::HookRule { .. } | Step::NoRoute => true,
            Step::TierEnd { drop, .. } => *drop,
            Step::Default { verdict, .. } => *verdict != Verdict::Return,
            _ => false,
        })
    }
}

/// Evaluate `p` on `fw` along `route` (from [`route`], or chosen by hand).
pub fn evaluate(fw: &Firewall, p: &Packet, route: &Route) -> Evaluation {
    let mut ev = Eval {
        fw,
        p,
        iif: None,
        oif: None,
        untracked: false,
        pass: false,
        path: Vec::new(),
    };
    let mut last_filter = Outcome::NoDecision;
    let mut outcome = None;
    for (hook, iif, oif) in route.kind.hooks(route) {
        let Some(h) = fw.hooks.iter().find(|h| h.hook == hook) else {
            continue;
        };
        ev.iif = iif;
        ev.oif = oif;
        ev.path.push(Step::Hook {
            hook,
            iif: iif.map(str::to_string),
            oif: oif.map(str::to_string),
        });
        let o = ev.hook(h);
        ev.path.push(Step::HookDone { hook, outcome: o });
        if o == Outcome::Drop {
            outcome = Some(Outcome::Drop);
            break;
        }
        if matches!(hook, Hook::Input | Hook::Forward | Hook::Output) {
            last_filter = o;
        }
    }
    if route.kind == RouteKind::Blackhole && outcome.is_none() {
        ev.path.push(Step::NoRoute);
        outcome = Some(Outcome::Drop);
    }
    Evaluation {
        outcome: outcome.unwrap_or(last_filter),
        route: route.clone(),
        path: ev.path,
    }
}

/// What a chain returns to its caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ret {
    Accept,
    Drop,
    /// Fall back to the caller.
    Return,
}

struct Eval<'a> {
    fw: &'a Firewall,
    p: &'a Packet,
    iif: Option<&'a str>,
    oif: Option<&'a str>,
    /// [`MARK_UNTRACKED_ALLOW`] is set (and conntrack is off).
    untracked: bool,
    /// [`MARK_PASS`] is set.
    pass: bool,
    path: Vec<Step>,
}

impl Eval<'_> {
    fn hook_rule(&mut self, outcome: Outcome, why: &str) -> Outcome {
        self.path.push(Step::HookRule {
            outcome,
            why: why.to_string(),
        });
        outcome
    }

    fn hook(&mut self, h: &HookChain) -> Outcome {
        if h.accept_untracked && self.untracked {
            return self.hook_rule(Outcome::Accept, "allowed by a doNotTrack policy");
        }
        if let Some((t, _)) = self.p.icmp() {
            if self.p.protocol == Protocol::IcmpV6 && h.accept_icmpv6.contains(&t) {
                return self.hook_rule(Outcome::Accept, "IPv6 neighbour discovery");
            }
        }
        if h.conntrack && !self.untracked && self.p.ct_invalid() {
            return self.hook_rule(
                Outcome::Drop,
                "ct state invalid: an ICMP message that opens no connection",
            );
        }
        for r in &h.accept {
            if self.matches(&r.matches) {
                return self.hook_rule(Outcome::Accept, &r.comment);
            }
        }
        for s in &h.stages {
            match self.dispatch(s) {
                Ret::Accept => return Outcome::Accept,
                Ret::Drop => return Outcome::Drop,
                Ret::Return => {}
            }
        }
        Outcome::NoDecision
    }

    fn dispatch(&mut self, r: &Ref<DispatchChain>) -> Ret {
        let Some(d) = self.fw.get(r) else {
            return Ret::Return;
        };
        let iface = match d.dir {
            IfaceDir::In => self.iif,
            IfaceDir::Out => self.oif,
        }
        .unwrap_or("");
        let (chain, fallback) = match d.entries.binary_search_by(|e| e.iface.as_str().cmp(iface)) {
            Ok(i) => match &d.entries[i].chain {
                Some(c) => (c, false),
                None => return Ret::Return,
            },
            Err(_) => match &d.fallback {
                Some(c) => (c, true),
                None => return Ret::Return,
            },
        };
        self.path.push(Step::Dispatch {
            chain: d.name.clone(),
            iface: iface.to_string(),
            fallback,
        });
        self.endpoint(chain)
    }

    fn endpoint(&mut self, r: &Ref<EndpointChain>) -> Ret {
        let Some(e) = self.fw.get(r) else {
            return Ret::Return;
        };
        self.path.push(Step::Endpoint {
            chain: e.name.clone(),
            endpoint: e.endpoint.clone(),
            direction: e.direction,
        });
        if let Some(f) = e.failsafe.as_ref().and_then(|f| self.fw.get(f)) {
            if let Some((sp, dp)) = self.p.ports() {
                let hit = f.rules.iter().find(|r| {
                    r.protocol == self.p.protocol
                        && match r.side {
                            PortSide::Src => r.port == sp,
                            PortSide::Dst => r.port == dp,
                        }
                });
                if let Some(r) = hit {
                    self.path.push(Step::Failsafe {
                        chain: f.name.clone(),
                        protocol: r.protocol,
                        port: r.port,
                        side: r.side,
                    });
                    return Ret::Accept;
                }
            }
        }
        for t in &e.tiers {
            let Some(tier) = self.fw.get(t) else { continue };
            let r = self.tier(tier);
            if self.fw.tier_passes(tier) {
                self.pass = false;
            }
            if r != Ret::Return {
                return r;
            }
        }
        self.path.push(Step::Default {
            endpoint: e.endpoint.clone(),
            verdict: e.default,
        });
        match e.default {
            Verdict::Allow => self.on_allow(&e.on_allow),
            Verdict::Drop => Ret::Drop,
            Verdict::Return => Ret::Return,
        }
    }

    fn tier(&mut self, t: &TierChain) -> Ret {
        self.path.push(Step::Tier {
            chain: t.name.clone(),
            tier: t.tier.clone(),
        });
        if self.fw.tier_passes(t) {
            self.pass = false;
        }
        for pr in &t.policies {
            let Some(p) = self.fw.get(pr) else { continue };
            match self.policy(p) {
                Ret::Return if p.has_pass() && self.pass => {
                    return Ret::Return;
                }
                Ret::Return => {}
                r => return r,
            }
        }
        self.path.push(Step::TierEnd {
            tier: t.tier.clone(),
            drop: t.end_drop,
        });
        if t.end_drop {
            Ret::Drop
        } else {
            Ret::Return
        }
    }

    fn policy(&mut self, p: &PolicyChain) -> Ret {
        let mark = self.path.len();
        self.path.push(Step::Policy {
            chain: p.name.clone(),
            policy: p.policy.clone(),
        });
        let mut any = false;
        for (i, r) in p.rules.iter().enumerate() {
            if !self.matches(&r.matches) {
                continue;
            }
            any = true;
            self.path.push(Step::Rule {
                chain: p.name.clone(),
                policy: p.policy.clone(),
                direction: p.direction,
                index: i,
                source_rule: r.rule,
                action: r.action,
                comment: r.comment.clone(),
            });
            match r.action {
                RuleAction::Allow => return self.on_allow(&p.on_allow),
                RuleAction::Deny => return Ret::Drop,
                RuleAction::Log => {}
                RuleAction::Pass => {
                    self.pass = true;
                    return Ret::Return;
                }
            }
        }
        if !any {
            // A policy no rule of which matched is not part of the story.
            self.path.truncate(mark);
        }
        Ret::Return
    }

    fn on_allow(&mut self, a: &OnAllow) -> Ret {
        match a {
            OnAllow::Accept => Ret::Accept,
            OnAllow::AcceptUntracked => {
                self.untracked = true;
                Ret::Accept
            }
            OnAllow::Then(c) => {
                let Some(c) = self.fw.get(c) else {
                    return Ret::Accept;
                };
                self.path.push(Step::Continuation {
                    name: c.name.clone(),
                });
                for s in &c.stages {
                    match self.dispatch(s) {
                        Ret::Return => {}
                        r => return r,
                    }
                }
                Ret::Accept
            }
        }
    }

    fn matches(&self, m: &Match) -> bool {
        let p = self.p;
        if m.family.is_some_and(|f| f != p.family()) {
            return false;
        }
        if m.protocol.is_some_and(|x| x != p.protocol) {
            return false;
        }
        if m.not_protocol.is_some_and(|x| x == p.protocol) {
            return false;
        }
        let icmp_hit = |i: &IcmpMatch| match p.icmp() {
            Some((t, c)) => i.icmp_type == t && i.code.is_none_or(|x| x == c),
            None => false,
        };
        if m.icmp.as_ref().is_some_and(|i| !icmp_hit(i)) {
            return false;
        }
        if m.not_icmp
            .as_ref()
            .is_some_and(|i| p.icmp().is_none() || icmp_hit(i))
        {
            return false;
        }
        let ports = p.ports();
        self.side_ports(&m.src, ports.map(|x| x.0))
            && self.side_ports(&m.dst, ports.map(|x| x.1))
            && self.side_addr(&m.src, p.src)
            && self.side_addr(&m.dst, p.dst)
    }

    /// Ports first: they need no lookup.
    fn side_ports(&self, s: &SideMatch, port: Option<u16>) -> bool {
        let in_ports = |ps: &PortSet, p: u16| ps.iter().any(|(lo, hi)| (*lo..=*hi).contains(&p));
        if !s.ports.is_empty() && !port.is_some_and(|p| in_ports(&s.ports, p)) {
            return false;
        }
        s.not_ports.is_empty() || port.is_some_and(|p| !in_ports(&s.not_ports, p))
    }

    fn side_addr(&self, s: &SideMatch, addr: IpAddr) -> bool {
        let in_set = |r: &Ref<AddrSet>| self.fw.get(r).is_some_and(|set| set_contains(set, addr));
        s.in_net.is_none_or(|n| n.contains(&addr))
            && s.in_sets.iter().all(in_set)
            && !s.not_in_net.is_some_and(|n| n.contains(&addr))
            && !s.not_in_sets.iter().any(in_set)
    }
}

/// Is `a` in the set? Elements are sorted and do not overlap, so only the
/// last element starting at or before `a` can hold it.
pub fn set_contains(set: &AddrSet, a: IpAddr) -> bool {
    let i = set.elements.partition_point(|n| start(n) <= (is_v6(a), a));
    i > 0 && set.elements[i - 1].contains(&a)
}

fn is_v6(a: IpAddr) -> bool {
    a.is_ipv6()
}

fn start(n: &ipnet::IpNet) -> (bool, IpAddr) {
    let a = n.network();
    (is_v6(a), a)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Name {
        Name::new(s).unwrap()
    }
    fn net(s: &str) -> ipnet::IpNet {
        s.parse().unwrap()
    }
    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn set_lookup_finds_only_contained_addresses() {
        let set = AddrSet {
            name: n("s-x"),
            family: Family::V4,
            elements: vec![net("10.0.0.0/24"), net("10.0.2.0/23"), net("192.0.2.7/32")],
            comment: String::new(),
        };
        for (a, want) in [
            ("10.0.0.9", true),
            ("10.0.1.1", false),
            ("10.0.3.255", true),
            ("10.0.4.0", false),
            ("192.0.2.7", true),
            ("192.0.2.8", false),
            ("9.255.255.255", false),
            ("::1", false),
        ] {
            assert_eq!(set_contains(&set, ip(a)), want, "{a}");
        }
    }

    fn topo() -> Topology {
        Topology {
            local: vec![ip("192.0.2.1")],
            routes: vec![
                (net("10.65.0.2/32"), Some("cali1".into())),
                (net("10.65.0.0/26"), None),
            ],
            uplink: "eth0".into(),
        }
    }

    fn pkt(src: &str, dst: &str) -> Packet {
        Packet {
            src: ip(src),
            dst: ip(dst),
            protocol: Protocol::Tcp,
            src_port: 40000,
            dst_port: 80,
            icmp_type: 0,
            icmp_code: 0,
        }
    }

    #[test]
    fn routes_follow_local_addresses_and_workload_networks() {
        let t = topo();
        let r = route(&t, &pkt("198.51.100.1", "10.65.0.2"));
        assert_eq!(r.kind, RouteKind::Forward);
        assert_eq!(
            (r.iif.as_deref(), r.oif.as_deref()),
            (Some("eth0"), Some("cali1"))
        );
        let r = route(&t, &pkt("10.65.0.2", "192.0.2.1"));
        assert_eq!(
            (r.kind, r.iif.as_deref()),
            (RouteKind::Input, Some("cali1"))
        );
        let r = route(&t, &pkt("192.0.2.1", "10.65.0.2"));
        assert_eq!(
            (r.kind, r.oif.as_deref()),
            (RouteKind::Output, Some("cali1"))
        );
        assert_eq!(
            route(&t, &pkt("192.0.2.1", "127.0.0.1")).kind,
            RouteKind::Local
        );
        // An unused address of the local block is blackholed.
        let r = route(&t, &pkt("198.51.100.1", "10.65.0.3"));
        assert_eq!((r.kind, r.oif.as_deref()), (RouteKind::Blackhole, None));
    }

    #[test]
    fn icmp_that_opens_no_connection_is_invalid() {
        let mut p = pkt("192.0.2.9", "192.0.2.1");
        p.protocol = Protocol::Icmp;
        p.icmp_type = 8;
        assert!(!p.ct_invalid());
        p.icmp_type = 0;
        assert!(p.ct_invalid());
        p.protocol = Protocol::Tcp;
        assert!(!p.ct_invalid());
    }

    /// A workload with ingress policy [Deny tcp/81, Pass tcp, Allow all]
    /// in tier `a`, then `default` tier with [Allow tcp/80].
    fn fw() -> Firewall {
        let rule = |action, ports: &[(u16, u16)], c: &str| FwRule {
            matches: Match {
                protocol: (!ports.is_empty() || action == RuleAction::Pass)
                    .then_some(Protocol::Tcp),
                dst: SideMatch {
                    ports: ports.to_vec(),
                    ..SideMatch::default()
                },
                ..Match::default()
            },
            action,
            comment: c.into(),
            rule: Some(0),
        };
        let pol = |name: &str, rules| PolicyChain {
            name: n(name),
            policy: name.into(),
            direction: Direction::Ingress,
            on_allow: OnAllow::Accept,
            log_prefix: String::new(),
            rules,
        };
        let fw = Firewall {
            policies: vec![
                pol(
                    "pi-a",
                    vec![
                        rule(RuleAction::Deny, &[(81, 81)], "deny 81"),
                        rule(RuleAction::Pass, &[], "pass tcp"),
                        rule(RuleAction::Allow, &[], "allow all"),
                    ],
                ),
                pol(
                    "pi-b",
                    vec![rule(RuleAction::Allow, &[(80, 80)], "allow 80")],
                ),
            ],
            tiers: vec![
                TierChain {
                    name: n("ti-a"),
                    tier: "a".into(),
                    policies: vec![Ref::new(n("pi-a"))],
                    end_drop: true,
                },
                TierChain {
                    name: n("ti-default"),
                    tier: "default".into(),
                    policies: vec![Ref::new(n("pi-b"))],
                    end_drop: true,
                },
            ],
            endpoint_chains: vec![EndpointChain {
                name: n("wi-cali1"),
                endpoint: "WorkloadEndpoint ns/w".into(),
                kind: EndpointKind::Workload,
                direction: Direction::Ingress,
                hooks: vec![Hook::Forward, Hook::Output],
                failsafe: None,
                tiers: vec![Ref::new(n("ti-a")), Ref::new(n("ti-default"))],
                on_allow: OnAllow::Accept,
                default: Verdict::Allow,
            }],
            dispatch: vec![DispatchChain {
                name: n("d-fwd-out"),
                dir: IfaceDir::Out,
                entries: vec![DispatchEntry {
                    iface: "cali1".into(),
                    chain: Some(Ref::new(n("wi-cali1"))),
                }],
                fallback: None,
            }],
            hooks: vec![HookChain {
                hook: Hook::Forward,
                accept_untracked: false,
                accept_icmpv6: vec![],
                conntrack: true,
                accept: vec![],
                stages: vec![Ref::new(n("d-fwd-out"))],
            }],
            ..Firewall::default()
        };
        fw.check().unwrap();
        fw
    }

    #[test]
    fn tiers_pass_deny_and_allow_as_calico_says() {
        let fw = fw();
        let t = topo();
        let at = |port: u16, proto: Protocol| {
            let mut p = pkt("198.51.100.1", "10.65.0.2");
            p.dst_port = port;
            p.protocol = proto;
            evaluate(&fw, &p, &route(&t, &p))
        };
        // tcp/81: denied in tier a.
        let e = at(81, Protocol::Tcp);
        assert_eq!(e.outcome, Outcome::Drop);
        assert!(matches!(e.deciding(), Some(Step::Rule { comment, .. }) if comment == "deny 81"));
        // tcp/80: passed by tier a, allowed in default.
        let e = at(80, Protocol::Tcp);
        assert_eq!(e.outcome, Outcome::Accept);
        assert!(matches!(e.deciding(), Some(Step::Rule { comment, .. }) if comment == "allow 80"));
        // tcp/82: passed, then the end of the default tier drops it.
        let e = at(82, Protocol::Tcp);
        assert_eq!(e.outcome, Outcome::Drop);
        assert!(matches!(e.deciding(), Some(Step::TierEnd { tier, .. }) if tier == "default"));
        // udp: allowed in tier a.
        let e = at(82, Protocol::Udp);
        assert_eq!(e.outcome, Outcome::Accept);
        assert!(matches!(e.deciding(), Some(Step::Rule { comment, .. }) if comment == "allow all"));
        // to another address: no endpoint, no decision.
        let p = pkt("198.51.100.1", "10.66.0.3");
        assert_eq!(
            evaluate(&fw, &p, &route(&t, &p)).outcome,
            Outcome::NoDecision
        );
    }
}
