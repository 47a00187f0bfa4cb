//! The firewall, backend-neutral.
//!
//! Lowering (`netc_compiler::lower`) resolves every Calico decision — which
//! policies apply to which endpoint, in which order, on which kernel hook,
//! what a selector means in addresses — and records the result as a small
//! graph of chains. The nftables and iptables emitters translate this graph
//! one to one (same chains, same rules, same order), so both give the same
//! verdict for every packet.
//!
//! # The chain graph
//!
//! ```text
//!  kernel hook ──▶ HookChain ──jump──▶ DispatchChain ──goto (by interface)──▶ EndpointChain
//!                  (conntrack,        (one per stage:                     (failsafe, tiers,
//!                   untracked mark)    iif or oif)                         default verdict)
//!                                                                              │ jump
//!                                                                              ▼
//!                    PolicyChain ◀──jump── TierChain  (policies in order, end-of-tier drop)
//!                    (rules: Allow / Deny / Log / Pass)
//! ```
//!
//! # Semantics (what every emitter must reproduce)
//!
//! Verdicts are *terminal* (accept, drop) or *return* (fall back to the
//! caller). "No decision" at the end of a [`HookChain`] means netc has no
//! opinion: nftables ends the base chain (policy accept, other tables still
//! see the packet), iptables returns to the built-in chain (the host's other
//! rules and the chain policy decide).
//!
//! - [`HookChain`]: optionally accept packets carrying [`MARK_UNTRACKED_ALLOW`]
//!   (allowed by a doNotTrack policy in the raw table), accept the listed
//!   ICMPv6 types, optionally accept conntrack `established,related` and
//!   drop `invalid`, then run each dispatch stage in order; no decision at
//!   the end.
//! - [`DispatchChain`]: look the packet's input (`iif`) or output (`oif`)
//!   interface up in `entries`: `Some(chain)` → *go to* that endpoint chain
//!   (when it returns, the dispatch stage is over); `None` → return. No entry
//!   → go to `fallback` if set, else return.
//! - [`EndpointChain`]: jump to the failsafe chain if any (it accepts or
//!   returns), then jump to each tier chain in order — clearing
//!   [`MARK_PASS`] after each tier that can pass ([`Firewall::tier_passes`])
//!   — then apply `default`.
//! - [`TierChain`]: if it can pass, clear [`MARK_PASS`] first; jump to each
//!   policy chain in order, returning right after a policy chain that can
//!   pass ([`PolicyChain::has_pass`]) when the pass mark is set; then drop if
//!   `end_drop`, else return.
//! - [`PolicyChain`]: the rules in order. Allow → the chain's [`OnAllow`];
//!   Deny → drop; Log → log with the chain's prefix and continue; Pass → set
//!   [`MARK_PASS`] and return.
//! - [`OnAllow::Then`] runs the *later* dispatch stages of the same hook (a
//!   [`Continuation`]) and accepts when they make no decision: a forwarded
//!   packet must pass both the sending endpoint's egress and the receiving
//!   endpoint's ingress policy.
//! - [`FailsafeChain`]: accept packets matching any rule; else return.
//! - [`NatRule`]: masquerade in nat postrouting.
//!
//! A rule [`Match`] is the conjunction of all its parts; an empty part does
//! not constrain. An address must be in `in_net` (when set) and in *every*
//! `in_sets` set (each set is a union), and in neither `not_in_net` nor any
//! of the `not_in_sets` sets, so a rule with an empty set in `in_sets`
//! never matches (a selector that selects nothing matches nothing) and an
//! empty set in `not_in_sets` excludes nothing. A rule's `nets` (or
//! `notNets`) that come to one network are that network (`in_net`,
//! `not_in_net`) rather than a set of one: most rules name one network,
//! and a node of 100,000 rules would otherwise carry 100,000 sets, each
//! named, hashed and looked up by every emitter. Ports are only ever present together with a protocol that has
//! ports (TCP, UDP, SCTP); `protocol` and `not_protocol` are never
//! both set; `icmp`/`not_icmp` are only present with protocol ICMP/ICMPv6.
//!
//! # Names
//!
//! Chain and set names are at most [`MAX_NAME_LEN`] characters of
//! `[a-z0-9_-]`, start with a letter and contain a `-` (so they never collide
//! with an nft keyword, and `netc-` + name fits iptables' 28-character chain
//! name limit). Emitters still re-check and hash anything that does not
//! conform. Comments are free text; emitters escape them for their syntax.

use crate::names::{Name, Ref};
use crate::protocol::Protocol;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};

/// Packet-mark bit a Pass rule sets so its tier chain stops (cleared before
/// and after every tier that can pass, so it never leaves netc's chains).
pub const MARK_PASS: u32 = 0x0100_0000;
/// Packet-mark bit a doNotTrack Allow sets in the raw table; the filter and
/// mangle hook chains accept packets carrying it (they have no conntrack
/// state for the established rule to match).
pub const MARK_UNTRACKED_ALLOW: u32 = 0x0200_0000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    /// The family of a network.
    pub fn of(n: &IpNet) -> Family {
        match n {
            IpNet::V4(_) => Family::V4,
            IpNet::V6(_) => Family::V6,
        }
    }
}

/// A named set of networks. Selector-derived sets hold the addresses of the
/// endpoints and network sets the selector matched at compile time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddrSet {
    pub name: Name,
    pub family: Family,
    /// Sorted, de-duplicated, aggregated (no two elements overlap).
    pub elements: Vec<ipnet::IpNet>,
    /// What the set stands for (selector text, `nets of ...`).
    pub comment: String,
}

/// A set of ports: sorted, merged, non-overlapping inclusive ranges.
pub type PortSet = Vec<(u16, u16)>;

/// Match on one side (source or destination) of a packet.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SideMatch {
    /// Address must be in this network: the side's `nets` when they come
    /// to one network (of the rule's family), written inline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_net: Option<IpNet>,
    /// Address must be in every one of these sets (nets, selector, named-port endpoints).
    pub in_sets: Vec<Ref<AddrSet>>,
    /// Address must not be in this network (`notNets` of one network).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_in_net: Option<IpNet>,
    /// Address must be in none of these sets (notNets, notSelector).
    pub not_in_sets: Vec<Ref<AddrSet>>,
    /// Port must be in this set (when non-empty).
    pub ports: PortSet,
    /// Port must not be in this set.
    pub not_ports: PortSet,
}

impl SideMatch {
    pub fn is_empty(&self) -> bool {
        self.in_net.is_none()
            && self.not_in_net.is_none()
            && self.in_sets.is_empty()
            && self.not_in_sets.is_empty()
            && self.ports.is_empty()
            && self.not_ports.is_empty()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IcmpMatch {
    pub icmp_type: u8,
    pub code: Option<u8>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Match {
    /// Restrict to one IP family. Always set when any set or network is
    /// referenced (sets are per family) or an ICMP protocol is matched.
    pub family: Option<Family>,
    pub protocol: Option<Protocol>,
    pub not_protocol: Option<Protocol>,
    pub src: SideMatch,
    pub dst: SideMatch,
    /// ICMP type (and code) must match; requires protocol ICMP or ICMPv6.
    pub icmp: Option<IcmpMatch>,
    /// ICMP type (and code) must not match; requires protocol ICMP or ICMPv6.
    pub not_icmp: Option<IcmpMatch>,
}

/// What a policy rule does when it matches (Calico semantics).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RuleAction {
    /// The chain's [`OnAllow`].
    Allow,
    /// Drop.
    Deny,
    /// Log and continue with the next rule.
    Log,
    /// Skip the rest of this tier: set [`MARK_PASS`] and return.
    Pass,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FwRule {
    pub matches: Match,
    pub action: RuleAction,
    /// `<policy> <ingress|egress> rule <n>` (+ the rule's annotations) — carried into comments.
    pub comment: String,
    /// Position of the source rule in its policy's `ingress`/`egress` list
    /// (display only: `netc check` turns it into the rule's file:line).
    /// Kept in the IR rather than in a side table because the IR is what
    /// `netc check` evaluates, and one lowered rule can come from a source
    /// rule in several ways (families, named ports): lowering is the only
    /// place that knows. An index, not a file position, so the IR does not
    /// change when a file is reformatted. None for rules netc adds itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<u32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Direction {
    /// Traffic to the endpoint.
    Ingress,
    /// Traffic from the endpoint.
    Egress,
}

/// What "allowed" means in a chain; fixed by the hook and stage the chain is used in.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum OnAllow {
    /// Accept (filter / mangle hooks; the last dispatch stage of a hook).
    Accept,
    /// doNotTrack: set [`MARK_UNTRACKED_ALLOW`], disable connection
    /// tracking (`notrack` / `CT --notrack`) and accept (raw hooks).
    AcceptUntracked,
    /// Go to this [`Continuation`]: the later dispatch stages of the hook
    /// must agree; accept if they make no decision.
    Then(Ref<Continuation>),
}

/// The rules of one policy in one direction, for one [`OnAllow`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyChain {
    pub name: Name,
    /// `GlobalNetworkPolicy <name>` / `NetworkPolicy <ns>/<name>`.
    pub policy: String,
    pub direction: Direction,
    pub on_allow: OnAllow,
    /// Log prefix for Log rules: at most 28 characters of `[A-Za-z0-9 _.:-]`.
    pub log_prefix: String,
    pub rules: Vec<FwRule>,
}

impl PolicyChain {
    /// The chain has a Pass rule (callers must check [`MARK_PASS`] after jumping to it).
    pub fn has_pass(&self) -> bool {
        self.rules.iter().any(|r| r.action == RuleAction::Pass)
    }
}

/// One tier's policies, in (order, name) order, as applied to one or more
/// endpoints (endpoints with the same policy list share the chain).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TierChain {
    pub name: Name,
    pub tier: String,
    /// Names of [`PolicyChain`]s, in evaluation order.
    pub policies: Vec<Ref<PolicyChain>>,
    /// Drop what no policy allowed, denied or passed (Calico's end-of-tier
    /// drop; false for preDNAT and doNotTrack chains, which leave undecided
    /// packets to the normal policy).
    pub end_drop: bool,
}

/// An endpoint chain's verdict when no policy decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verdict {
    /// Allowed: the chain's [`OnAllow`].
    Allow,
    Drop,
    /// No decision: return to the dispatch stage.
    Return,
}

/// Where in the kernel's path a hook chain sits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Hook {
    /// doNotTrack policy, ingress (raw prerouting, priority raw = -300).
    RawPrerouting,
    /// doNotTrack policy, egress (raw output, priority raw).
    RawOutput,
    /// preDNAT host-endpoint policy (mangle prerouting, priority mangle = -150, before DNAT).
    PreDnat,
    /// Packets to this host (filter input).
    Input,
    /// Packets routed through this host (filter forward).
    Forward,
    /// Packets from this host (filter output).
    Output,
}

/// Which interface a dispatch stage looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum IfaceDir {
    /// `iifname` / `-i`
    In,
    /// `oifname` / `-o`
    Out,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EndpointKind {
    Workload,
    Host,
}

/// The chain that runs the tiers for one endpoint, one direction, one hook stage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointChain {
    pub name: Name,
    /// `WorkloadEndpoint <ns>/<name>` / `HostEndpoint <name>`.
    pub endpoint: String,
    pub kind: EndpointKind,
    pub direction: Direction,
    /// The hooks whose dispatch stages use the chain.
    pub hooks: Vec<Hook>,
    /// A [`FailsafeChain`] to run first (host endpoints, not on forward).
    pub failsafe: Option<Ref<FailsafeChain>>,
    /// [`TierChain`] names in tier order.
    pub tiers: Vec<Ref<TierChain>>,
    pub on_allow: OnAllow,
    /// Verdict when no policy decided (no applicable policy, or a Pass out
    /// of the last tier). See `lower::firewall` for the per-kind defaults.
    pub default: Verdict,
}

/// One dispatch stage: interface → endpoint chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DispatchChain {
    pub name: Name,
    pub dir: IfaceDir,
    /// Sorted by interface name, unique. `None`: return (an interface that
    /// is an endpoint, but has no chain at this stage, and must not reach
    /// `fallback`).
    pub entries: Vec<DispatchEntry>,
    /// Endpoint chain for every other interface (HostEndpoint `*`).
    pub fallback: Option<Ref<EndpointChain>>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DispatchEntry {
    /// Exact interface name (`[A-Za-z0-9_.-]{1,15}`).
    pub iface: String,
    pub chain: Option<Ref<EndpointChain>>,
}

/// A base chain: one kernel hook.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookChain {
    pub hook: Hook,
    /// Accept packets carrying [`MARK_UNTRACKED_ALLOW`] first.
    pub accept_untracked: bool,
    /// Accept ICMPv6 of these types first (IPv6 neighbour discovery and
    /// MLD, which conntrack leaves untracked; Felix accepts the same).
    pub accept_icmpv6: Vec<u8>,
    /// Accept `ct state established,related`, drop `ct state invalid`.
    pub conntrack: bool,
    /// Accept packets matching any of these rules (after conntrack, before
    /// the stages; every action is Allow): the overlay between cluster
    /// hosts, which host endpoint policy must not cut.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accept: Vec<FwRule>,
    /// Dispatch stages, run in order.
    pub stages: Vec<Ref<DispatchChain>>,
}

/// Later dispatch stages of a hook, run after an earlier stage allowed the
/// packet; accepts when they make no decision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Continuation {
    pub name: Name,
    pub stages: Vec<Ref<DispatchChain>>,
}

/// A port that stays open whatever the policy (failsafe), so an apply never
/// locks out SSH or BGP.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PortRule {
    pub protocol: Protocol,
    pub port: u16,
}

/// Which port of the packet a failsafe rule matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum PortSide {
    Src,
    Dst,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FailsafeRule {
    pub protocol: Protocol,
    pub port: u16,
    pub side: PortSide,
}

/// Accept packets matching any rule (both families), else return.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailsafeChain {
    pub name: Name,
    pub comment: String,
    pub rules: Vec<FailsafeRule>,
}

/// Masquerade (nat postrouting) packets whose source is in `from_set` and
/// whose destination is not in `not_to_set`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NatRule {
    pub family: Family,
    pub from_set: Ref<AddrSet>,
    pub not_to_set: Ref<AddrSet>,
    pub comment: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Firewall {
    /// Sorted by name.
    pub sets: Vec<AddrSet>,
    /// Sorted by name.
    pub policies: Vec<PolicyChain>,
    /// Sorted by name.
    pub tiers: Vec<TierChain>,
    /// Sorted by name.
    pub endpoint_chains: Vec<EndpointChain>,
    pub failsafes: Vec<FailsafeChain>,
    /// Sorted by name.
    pub dispatch: Vec<DispatchChain>,
    pub continuations: Vec<Continuation>,
    /// In [`Hook`] order. Input, Forward and Output whenever any endpoint
    /// chain exists (for conntrack and the untracked mark); the raw and
    /// preDNAT hooks only when they have a dispatch stage.
    pub hooks: Vec<HookChain>,
    pub nat: Vec<NatRule>,
    /// The node's effective failsafe ports (documentation for plans; the
    /// failsafe chains are what is enforced).
    pub failsafe_inbound: Vec<PortRule>,
    pub failsafe_outbound: Vec<PortRule>,
    /// Where each set is in `sets`, by a hash of its name: built on the
    /// first [`Firewall::set`] (a node's firewall can hold 100,000 sets,
    /// and emitting looks each up several times per rule).
    #[serde(skip)]
    pub set_index: SetIndex,
}

/// A hash of a set's name → its position in [`Firewall::sets`]. Only ever
/// a hint: a position is used when the set there has the name asked for
/// (so an index built before `sets` changed is never wrong, only
/// unhelpful); anything else falls back to the binary search. Compared
/// equal, cloned empty: it is a cache, not content.
#[derive(Debug, Default)]
pub struct SetIndex(std::sync::OnceLock<foldhash::HashMap<u64, u32>>);

impl Clone for SetIndex {
    fn clone(&self) -> Self {
        SetIndex::default()
    }
}

impl PartialEq for SetIndex {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for SetIndex {}

fn name_hash(name: &str) -> u64 {
    use std::hash::BuildHasher;
    foldhash::fast::FixedState::default().hash_one(name)
}

impl Firewall {
    /// The object `r` names. Misses only on an IR that never passed
    /// [`Firewall::check`].
    pub fn get<T>(&self, r: &Ref<T>) -> Option<&T>
    where
        Self: Lookup<T>,
    {
        self.lookup(r.name())
    }
    pub fn set(&self, r: &Ref<AddrSet>) -> Option<&AddrSet> {
        self.get(r)
    }
    pub fn policy(&self, r: &Ref<PolicyChain>) -> Option<&PolicyChain> {
        self.get(r)
    }
    pub fn tier(&self, r: &Ref<TierChain>) -> Option<&TierChain> {
        self.get(r)
    }
    /// Some policy of the tier chain has a Pass rule.
    pub fn tier_passes(&self, tier: &TierChain) -> bool {
        tier.policies
            .iter()
            .filter_map(|p| self.policy(p))
            .any(PolicyChain::has_pass)
    }
    /// Nothing to enforce: no endpoint chains and no NAT.
    pub fn is_empty(&self) -> bool {
        self.endpoint_chains.is_empty() && self.nat.is_empty()
    }

    /// The IR's referential invariant: every [`Ref`] resolves, and every
    /// collection the lookups search is sorted by name without duplicates.
    /// Lowering calls this before handing the IR to the emitters.
    pub fn check(&self) -> Result<(), IrError> {
        fn sorted<T>(
            what: &'static str,
            v: &[T],
            name: impl Fn(&T) -> &Name,
        ) -> Result<(), IrError> {
            match v.windows(2).find(|w| name(&w[0]) >= name(&w[1])) {
                Some(w) => Err(IrError::Unsorted {
                    what,
                    name: name(&w[1]).to_string(),
                }),
                None => Ok(()),
            }
        }
        sorted("sets", &self.sets, |x| &x.name)?;
        sorted("policy chains", &self.policies, |x| &x.name)?;
        sorted("tier chains", &self.tiers, |x| &x.name)?;
        sorted("endpoint chains", &self.endpoint_chains, |x| &x.name)?;
        sorted("failsafe chains", &self.failsafes, |x| &x.name)?;
        sorted("dispatch chains", &self.dispatch, |x| &x.name)?;
        sorted("continuations", &self.continuations, |x| &x.name)?;

        fn resolves<T>(fw: &Firewall, from: &Name, r: &Ref<T>) -> Result<(), IrError>
        where
            Firewall: Lookup<T>,
        {
            match fw.get(r) {
                Some(_) => Ok(()),
                None => Err(IrError::Dangling {
                    from: from.to_string(),
                    to: r.to_string(),
                }),
            }
        }
        fn matches(fw: &Firewall, from: &Name, m: &Match) -> Result<(), IrError> {
            for r in [&m.src, &m.dst]
                .into_iter()
                .flat_map(|s| s.in_sets.iter().chain(&s.not_in_sets))
            {
                resolves(fw, from, r)?;
            }
            // An inline network is of the rule's family, as a set's
            // elements are of the set's.
            for n in [&m.src, &m.dst]
                .into_iter()
                .flat_map(|s| s.in_net.iter().chain(&s.not_in_net))
            {
                if m.family != Some(Family::of(n)) {
                    return Err(IrError::NetFamily {
                        from: from.to_string(),
                        net: n.to_string(),
                    });
                }
            }
            Ok(())
        }
        fn on_allow(fw: &Firewall, from: &Name, a: &OnAllow) -> Result<(), IrError> {
            match a {
                OnAllow::Then(c) => resolves(fw, from, c),
                OnAllow::Accept | OnAllow::AcceptUntracked => Ok(()),
            }
        }
        for p in &self.policies {
            on_allow(self, &p.name, &p.on_allow)?;
            for r in &p.rules {
                matches(self, &p.name, &r.matches)?;
            }
        }
        for t in &self.tiers {
            for p in &t.policies {
                resolves(self, &t.name, p)?;
            }
        }
        for e in &self.endpoint_chains {
            if let Some(f) = &e.failsafe {
                resolves(self, &e.name, f)?;
            }
            for t in &e.tiers {
                resolves(self, &e.name, t)?;
            }
            on_allow(self, &e.name, &e.on_allow)?;
        }
        for d in &self.dispatch {
            for c in d
                .entries
                .iter()
                .filter_map(|e| e.chain.as_ref())
                .chain(&d.fallback)
            {
                resolves(self, &d.name, c)?;
            }
        }
        for c in &self.continuations {
            for s in &c.stages {
                resolves(self, &c.name, s)?;
            }
        }
        for h in &self.hooks {
            let from = Name::compose("hook", &format!("{:?}", h.hook), "");
            for r in &h.accept {
                matches(self, &from, &r.matches)?;
            }
            for s in &h.stages {
                resolves(self, &from, s)?;
            }
        }
        for n in &self.nat {
            let from = Name::compose("nat", "", "");
            resolves(self, &from, &n.from_set)?;
            resolves(self, &from, &n.not_to_set)?;
        }
        Ok(())
    }
}

/// A broken IR invariant: a bug in lowering (or a hand-edited `ir.json`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IrError {
    #[error("firewall object `{from}` refers to `{to}`, which does not exist")]
    Dangling { from: String, to: String },
    #[error("firewall {what} are not sorted by name without duplicates (at `{name}`)")]
    Unsorted { what: &'static str, name: String },
    #[error("firewall chain `{from}` matches network {net} in a rule of another family")]
    NetFamily { from: String, net: String },
}

/// Finds a firewall object of type `T` by name (binary search: every
/// collection is sorted by name, which [`Firewall::check`] verifies; sets
/// through their hash index first).
pub trait Lookup<T> {
    fn lookup(&self, name: &Name) -> Option<&T>;
}

macro_rules! lookup {
    ($t:ty, $field:ident) => {
        impl Lookup<$t> for Firewall {
            fn lookup(&self, name: &Name) -> Option<&$t> {
                sorted_find(&self.$field, name, |x| &x.name)
            }
        }
    };
}

/// Sets through the hash index first ([`SetIndex`]: a node can reference
/// 100,000 sets), then the binary search.
impl Lookup<AddrSet> for Firewall {
    fn lookup(&self, name: &Name) -> Option<&AddrSet> {
        let index = self.set_index.0.get_or_init(|| {
            self.sets
                .iter()
                .enumerate()
                .map(|(i, s)| (name_hash(s.name.as_str()), i as u32))
                .collect()
        });
        index
            .get(&name_hash(name.as_str()))
            .and_then(|&i| self.sets.get(i as usize))
            .filter(|s| s.name == *name)
            .or_else(|| sorted_find(&self.sets, name, |x| &x.name))
    }
}

/// The item named `name` of a collection sorted by name.
fn sorted_find<'a, T>(v: &'a [T], name: &Name, key: impl Fn(&T) -> &Name) -> Option<&'a T> {
    v.binary_search_by(|x| key(x).cmp(name)).ok().map(|i| &v[i])
}
lookup!(PolicyChain, policies);
lookup!(TierChain, tiers);
lookup!(EndpointChain, endpoint_chains);
lookup!(FailsafeChain, failsafes);
lookup!(DispatchChain, dispatch);
lookup!(Continuation, continuations);

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Name {
        Name::new(s).unwrap()
    }

    fn tier(policies: &[&str]) -> TierChain {
        TierChain {
            name: n("ti-default"),
            tier: "default".into(),
            policies: policies.iter().map(|p| Ref::new(n(p))).collect(),
            end_drop: true,
        }
    }

    fn policy(name: &str) -> PolicyChain {
        PolicyChain {
            name: n(name),
            policy: "GlobalNetworkPolicy p".into(),
            direction: Direction::Ingress,
            on_allow: OnAllow::Accept,
            log_prefix: String::new(),
            rules: Vec::new(),
        }
    }

    #[test]
    fn check_accepts_resolving_refs_and_rejects_dangling_ones() {
        let mut fw = Firewall {
            policies: vec![policy("pi-a"), policy("pi-b")],
            tiers: vec![tier(&["pi-a", "pi-b"])],
            ..Firewall::default()
        };
        assert_eq!(fw.check(), Ok(()));
        assert_eq!(
            fw.tier(&Ref::new(n("ti-default")))
                .map(|t| t.policies.len()),
            Some(2)
        );

        fw.tiers = vec![tier(&["pi-a", "pi-gone"])];
        assert_eq!(
            fw.check(),
            Err(IrError::Dangling {
                from: "ti-default".into(),
                to: "pi-gone".into()
            })
        );
    }

    #[test]
    fn set_lookup_stays_right_when_sets_change_after_indexing() {
        let set = |name: &str| AddrSet {
            name: n(name),
            family: Family::V4,
            elements: Vec::new(),
            comment: name.to_string(),
        };
        let mut fw = Firewall {
            sets: (0..100).map(|i| set(&format!("n4-{i:03}"))).collect(),
            ..Firewall::default()
        };
        let get = |fw: &Firewall, name: &str| fw.set(&Ref::new(n(name))).map(|s| s.comment.clone());
        assert_eq!(get(&fw, "n4-042").as_deref(), Some("n4-042"));
        // The index is built; the sets move and shrink under it.
        fw.sets.remove(10);
        fw.sets.insert(0, set("a4-first"));
        assert_eq!(get(&fw, "n4-042").as_deref(), Some("n4-042"));
        assert_eq!(get(&fw, "a4-first").as_deref(), Some("a4-first"));
        assert_eq!(get(&fw, "n4-010"), None);
        assert_eq!(get(&fw, "n4-099").as_deref(), Some("n4-099"));
        // A clone starts without an index and agrees.
        let c = fw.clone();
        assert_eq!(c, fw);
        assert_eq!(get(&c, "n4-042").as_deref(), Some("n4-042"));
    }

    /// An inline network of the other family than its rule's: rejected,
    /// as a set of the wrong family would never be written.
    #[test]
    fn check_keeps_inline_networks_to_their_rules_family() {
        let rule = |family: Option<Family>, net: &str| FwRule {
            matches: Match {
                family,
                dst: SideMatch {
                    not_in_net: Some(net.parse().unwrap()),
                    ..SideMatch::default()
                },
                ..Match::default()
            },
            action: RuleAction::Allow,
            comment: String::new(),
            rule: None,
        };
        let fw = |r: FwRule| Firewall {
            policies: vec![PolicyChain {
                rules: vec![r],
                ..policy("pi-a")
            }],
            ..Firewall::default()
        };
        assert_eq!(fw(rule(Some(Family::V4), "10.0.0.0/8")).check(), Ok(()));
        assert_eq!(fw(rule(Some(Family::V6), "2001:db8::/32")).check(), Ok(()));
        for (family, net) in [
            (Some(Family::V6), "10.0.0.0/8"),
            (Some(Family::V4), "2001:db8::/32"),
            (None, "10.0.0.0/8"),
        ] {
            assert_eq!(
                fw(rule(family, net)).check(),
                Err(IrError::NetFamily {
                    from: "pi-a".into(),
                    net: net.into()
                }),
                "{family:?} {net}"
            );
        }
    }

    #[test]
    fn check_rejects_unsorted_collections() {
        let fw = Firewall {
            policies: vec![policy("pi-b"), policy("pi-a")],
            ..Firewall::default()
        };
        assert!(matches!(fw.check(), Err(IrError::Unsorted { .. })));
    }
}
