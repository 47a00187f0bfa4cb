//! The firewall, backend-neutral: named address sets, one rule chain per
//! (policy, direction), one chain per (endpoint, direction, hook) that runs
//! the tiers, and the dispatch from kernel hooks to endpoint chains.
//! nftables and iptables emitters translate exactly this; both must give the
//! same verdict for every packet.

use crate::model::Protocol;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Family {
    V4,
    V6,
}

/// A named set of networks. Selector-derived sets hold the addresses of the
/// endpoints and network sets the selector matched at compile time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddrSet {
    /// Backend-safe name (`[a-z0-9-]`, ≤ 28 chars incl. family suffix rules of the emitters).
    pub name: String,
    pub family: Family,
    /// Sorted, de-duplicated, aggregated networks.
    pub elements: Vec<ipnet::IpNet>,
    /// What the set stands for (selector text or `nets of policy X rule N`).
    pub comment: String,
}

/// A set of ports: sorted, merged inclusive ranges.
pub type PortSet = Vec<(u16, u16)>;

/// Match on one side (source or destination) of a packet.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SideMatch {
    /// Address must be in every one of these sets (nets, selector).
    pub in_sets: Vec<String>,
    /// Address must be in none of these sets (notNets, notSelector).
    pub not_in_sets: Vec<String>,
    /// Port must be in this set (when non-empty).
    pub ports: PortSet,
    /// Port must not be in this set.
    pub not_ports: PortSet,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IcmpMatch {
    pub icmp_type: u8,
    pub code: Option<u8>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Match {
    /// Restrict to one IP family (ipVersion, or implied by nets/icmp).
    pub family: Option<Family>,
    pub protocol: Option<Protocol>,
    pub not_protocol: Option<Protocol>,
    pub src: SideMatch,
    pub dst: SideMatch,
    pub icmp: Option<IcmpMatch>,
    pub not_icmp: Option<IcmpMatch>,
}

/// What a policy rule does when it matches (Calico semantics).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RuleAction {
    /// Accept: stop evaluating, the packet is allowed.
    Allow,
    /// Drop.
    Deny,
    /// Log and continue with the next rule.
    Log,
    /// Skip the rest of this tier; continue with the next tier.
    Pass,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FwRule {
    pub matches: Match,
    pub action: RuleAction,
    /// `<policy> <ingress|egress> rule <n>` — carried into comments.
    pub comment: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Direction {
    Ingress,
    Egress,
}

/// The rules of one policy in one direction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyChain {
    /// Backend-neutral chain id, unique in the firewall.
    pub name: String,
    /// `GlobalNetworkPolicy default.allow-web` / `NetworkPolicy ns/name`.
    pub policy: String,
    pub direction: Direction,
    pub rules: Vec<FwRule>,
}

/// One tier's policies, in (order, name) order, as applied to one endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TierRef {
    pub tier: String,
    /// Names of [`PolicyChain`]s, in evaluation order.
    pub policies: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verdict {
    Accept,
    Drop,
}

/// Where in the kernel's path an endpoint chain is hooked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Hook {
    /// Packets to this host (filter input).
    Input,
    /// Packets routed through this host (filter forward).
    Forward,
    /// Packets from this host (filter output).
    Output,
    /// preDNAT host-endpoint policy (nat-priority prerouting, before DNAT).
    PreDnat,
    /// doNotTrack policy, ingress (raw prerouting).
    RawPrerouting,
    /// doNotTrack policy, egress (raw output).
    RawOutput,
}

/// Which interface field the dispatch matches.
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

/// The chain that runs the tiers for one endpoint, one direction, one hook.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointChain {
    pub name: String,
    pub endpoint: String,
    pub kind: EndpointKind,
    pub direction: Direction,
    pub tiers: Vec<TierRef>,
    /// Verdict when no policy decided (after the last tier or a Pass out of
    /// it). Drop when any policy applies (Calico's end-of-tier drop), else
    /// the documented default for the endpoint kind.
    pub default: Verdict,
}

/// Send packets on `iface` at `hook` to `chain`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Dispatch {
    pub hook: Hook,
    pub dir: IfaceDir,
    /// Interface name; may end in `*` (wildcard prefix, HostEndpoint `*` = any).
    pub iface: String,
    pub chain: String,
}

/// A port that stays open whatever the policy (failsafe), so an apply never
/// locks out SSH or BGP.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PortRule {
    pub protocol: Protocol,
    pub port: u16,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Nat {
    /// Masquerade packets whose source is in this set (natOutgoing pools) ...
    pub from_set: Option<String>,
    /// ... unless the destination is in this set (all pools).
    pub not_to_set: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Firewall {
    pub sets: Vec<AddrSet>,
    pub policies: Vec<PolicyChain>,
    pub endpoint_chains: Vec<EndpointChain>,
    pub dispatch: Vec<Dispatch>,
    pub failsafe_inbound: Vec<PortRule>,
    pub failsafe_outbound: Vec<PortRule>,
    pub nat: Nat,
}
