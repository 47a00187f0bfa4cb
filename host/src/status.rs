//! `netc status`: a node's BGP and dataplane health against its desired
//! state.
//!
//! * BIRD's protocols, read over its control socket with
//!   `birdc -s SOCK show protocols all` and parsed into [`Protocol`]s
//!   ([`parse_protocols`], unit-tested on output recorded from BIRD 2
//!   daemons peering in namespaces: `host/tests/fixtures/birdc/`).
//! * [`compare`]: the IR's sessions against what BIRD runs (missing,
//!   unexpected, down), and the IR's routes to remote blocks against the
//!   kernel's protocol-233 routes. Pure, so it is tested without root.
//! * The last apply ([`record_apply`] after every successful apply, read by
//!   [`last_apply`]); the pending commit-confirm lives in `confirm.rs`.
//!
//! Drift is the plan (`session.rs`); rendering is the CLI's (src/cli/status.rs).

use crate::exec::Exec;
use crate::state::LiveRoute;
use crate::target::Target;
use crate::Error;
use netc_ir::{HostIr, RouteOrigin, SessionKind};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::Path;

/// One protocol of `show protocols all`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Protocol {
    pub name: String,
    /// `BGP`, `Kernel`, `Device`, …
    pub proto: String,
    pub table: String,
    /// `up`, `down`, `start`, `stop`.
    pub state: String,
    pub since: String,
    /// The Info column: `Established`, `Active`, `Passive`, `Connect`, … (may be empty).
    pub info: String,
    /// The rest of the Info column, e.g. `Socket: No route to host`.
    pub message: String,
    /// BGP details (BGP protocols only).
    pub bgp: Option<BgpDetail>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BgpDetail {
    /// `BGP state:` — `Established`, `Active`, `Connect`, `Passive`, `Down`, …
    pub state: String,
    pub neighbor: Option<IpAddr>,
    pub neighbor_as: Option<u32>,
    pub local_as: Option<u32>,
    pub neighbor_id: Option<String>,
    pub last_error: Option<String>,
    /// Summed over the channels.
    pub routes_imported: u64,
    pub routes_exported: u64,
}

impl Protocol {
    pub fn is_bgp(&self) -> bool {
        self.proto.eq_ignore_ascii_case("bgp")
    }

    /// The session is up: BGP state Established.
    pub fn established(&self) -> bool {
        self.state == "up"
            && (self.info == "Established"
                || self.bgp.as_ref().is_some_and(|b| b.state == "Established"))
    }
}

fn parse_err(detail: String) -> Error {
    Error::parse("birdc show protocols all", detail)
}

/// Split off the first whitespace-separated token.
fn token(s: &str) -> Option<(&str, &str)> {
    let s = s.trim_start();
    if s.is_empty() {
        return None;
    }
    let end = s.find(char::is_whitespace).unwrap_or(s.len());
    Some((&s[..end], &s[end..]))
}

/// Parse `birdc show protocols all` (or plain `show protocols`) output.
pub fn parse_protocols(text: &str) -> Result<Vec<Protocol>, Error> {
    let mut out: Vec<Protocol> = Vec::new();
    for (no, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let indented = line.starts_with(' ') || line.starts_with('\t');
        if !indented {
            if line.starts_with("BIRD ") && line.trim_end().ends_with("ready.") {
                continue;
            }
            if line.starts_with("Name ") && line.contains("Proto") {
                continue;
            }
            let bad = || parse_err(format!("line {}: `{}`", no + 1, line.trim()));
            let (name, rest) = token(line).ok_or_else(bad)?;
            let (proto, rest) = token(rest).ok_or_else(bad)?;
            let (table, rest) = token(rest).ok_or_else(bad)?;
            let (state, rest) = token(rest).ok_or_else(bad)?;
            let (mut since, mut rest) = token(rest).ok_or_else(bad)?;
            let mut since_s = since.to_string();
            // `timeformat protocol iso long` gives a date and a time.
            if since.contains('-') {
                if let Some((t, r)) = token(rest) {
                    if t.contains(':') {
                        since_s = format!("{since} {t}");
                        since = t;
                        rest = r;
                    }
                }
            }
            let _ = since;
            let (info, message) = match token(rest) {
                Some((i, m)) => (i.to_string(), m.trim().to_string()),
                None => (String::new(), String::new()),
            };
            let is_bgp = proto.eq_ignore_ascii_case("bgp");
            out.push(Protocol {
                name: name.to_string(),
                proto: proto.to_string(),
                table: table.to_string(),
                state: state.to_string(),
                since: since_s,
                info,
                message,
                bgp: is_bgp.then(BgpDetail::default),
            });
            continue;
        }
        let Some(p) = out.last_mut() else {
            return Err(parse_err(format!(
                "line {}: detail before any protocol",
                no + 1
            )));
        };
        let Some(b) = p.bgp.as_mut() else {
            continue;
        };
        let Some((key, value)) = line.trim().split_once(':') else {
            continue;
        };
        let value = value.trim();
        match key {
            "BGP state" => b.state = value.to_string(),
            "Neighbor address" => b.neighbor = value.parse().ok(),
            "Neighbor AS" => b.neighbor_as = value.parse().ok(),
            "Local AS" => b.local_as = value.parse().ok(),
            "Neighbor ID" => b.neighbor_id = Some(value.to_string()),
            "Last error" => b.last_error = Some(value.to_string()),
            "Routes" => {
                // `1 imported, 1 exported, 1 preferred` (BIRD 2 may add `filtered`).
                for part in value.split(',') {
                    let mut w = part.split_whitespace();
                    let (Some(n), Some(what)) = (w.next(), w.next()) else {
                        continue;
                    };
                    let n: u64 = n.parse().unwrap_or(0);
                    match what {
                        "imported" => b.routes_imported += n,
                        "exported" => b.routes_exported += n,
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

/// What BIRD said, or why it could not be asked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum BirdStatus {
    Running {
        protocols: Vec<Protocol>,
    },
    /// No daemon answers on the socket (or birdc is missing).
    NotRunning {
        detail: String,
    },
}

/// `birdc -s SOCK show protocols all`, parsed. A BIRD that does not answer
/// is a finding, not an error; output that does not parse is an error.
pub fn read_protocols(exec: &Exec, socket: &Path) -> Result<BirdStatus, Error> {
    if !exec.have_tool("birdc") {
        return Ok(BirdStatus::NotRunning {
            detail: "birdc is not installed".into(),
        });
    }
    let sock = socket.display().to_string();
    let out = exec.host("birdc", &["-s", &sock, "show", "protocols", "all"], None)?;
    if !out.success() {
        let detail = format!("{} {}", out.stdout.trim(), out.stderr.trim());
        return Ok(BirdStatus::NotRunning {
            detail: detail.trim().to_string(),
        });
    }
    Ok(BirdStatus::Running {
        protocols: parse_protocols(&out.stdout)?,
    })
}

/// calicoctl's PEER TYPE, refined with what netc knows about route reflectors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PeerType {
    /// `Mesh_…`: node-to-node mesh.
    Mesh,
    /// `Global_…`: a BGPPeer for every node.
    Global,
    /// `Node_…` to a node that is a route reflector.
    RouteReflector,
    /// `Node_…` to a client this node reflects to.
    RrClient,
    /// `Node_…` otherwise: a node-specific BGPPeer.
    Node,
    /// A BGP protocol netc did not ask for.
    Unknown,
}

impl PeerType {
    /// The label for Prometheus and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            PeerType::Mesh => "mesh",
            PeerType::Global => "global",
            PeerType::RouteReflector => "rr",
            PeerType::RrClient => "rr-client",
            PeerType::Node => "node",
            PeerType::Unknown => "unknown",
        }
    }

    /// calicoctl's wording (`node-to-node mesh`, `global`, `node specific`).
    pub fn calicoctl(self) -> &'static str {
        match self {
            PeerType::Mesh => "node-to-node mesh",
            PeerType::Global => "global",
            PeerType::RouteReflector => "route reflector",
            PeerType::RrClient => "rr client",
            PeerType::Node => "node specific",
            PeerType::Unknown => "not netc's",
        }
    }

    /// From a protocol name alone (for sessions netc did not ask for).
    pub fn from_name(name: &str) -> PeerType {
        match name.split('_').next() {
            Some("Mesh") => PeerType::Mesh,
            Some("Global") => PeerType::Global,
            Some("Node") => PeerType::Node,
            _ => PeerType::Unknown,
        }
    }
}

/// One BGP session: wanted by the IR, run by BIRD, or both.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SessionStatus {
    /// BIRD protocol name.
    pub name: String,
    pub peer: Option<IpAddr>,
    pub peer_type: PeerType,
    pub peer_as: Option<u32>,
    /// The remote node, when it is a declared node.
    pub remote_node: Option<String>,
    /// The IR asks for this session.
    pub wanted: bool,
    /// BIRD's protocol, when BIRD runs it.
    pub bird: Option<Protocol>,
}

impl SessionStatus {
    pub fn established(&self) -> bool {
        self.bird.as_ref().is_some_and(Protocol::established)
    }

    /// Wanted and established, or neither wanted nor run.
    pub fn healthy(&self) -> bool {
        self.wanted && self.established()
    }
}

/// A route to a remote block the IR wants and the kernel lacks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MissingRoute {
    pub dst: ipnet::IpNet,
    pub origin: Option<RouteOrigin>,
}

/// The IR against BIRD and the kernel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Comparison {
    /// Wanted sessions in IR order, then the ones BIRD runs that netc did not ask for.
    pub sessions: Vec<SessionStatus>,
    pub routes_wanted: usize,
    pub routes_missing: Vec<MissingRoute>,
}

impl Comparison {
    pub fn missing_sessions(&self) -> impl Iterator<Item = &SessionStatus> {
        self.sessions
            .iter()
            .filter(|s| s.wanted && s.bird.is_none())
    }

    pub fn unexpected_sessions(&self) -> impl Iterator<Item = &SessionStatus> {
        self.sessions.iter().filter(|s| !s.wanted)
    }

    pub fn down_sessions(&self) -> impl Iterator<Item = &SessionStatus> {
        self.sessions
            .iter()
            .filter(|s| s.wanted && s.bird.is_some() && !s.established())
    }
}

/// Routes the IR programs towards other nodes' blocks (what a missing one
/// breaks is pod-to-pod traffic to that node).
pub fn is_remote_block(o: Option<RouteOrigin>) -> bool {
    matches!(
        o,
        Some(RouteOrigin::IpipBlock | RouteOrigin::VxlanBlock | RouteOrigin::NoEncapBlock)
    )
}

/// Compare. `route_reflectors`: the names of the nodes that are route
/// reflectors (a node's IR does not say whether its peer reflects).
pub fn compare(
    ir: &HostIr,
    protocols: &[Protocol],
    live_routes: &[LiveRoute],
    route_reflectors: &BTreeSet<String>,
) -> Comparison {
    let mut sessions = Vec::new();
    let mut seen = BTreeSet::new();
    if let Some(bgp) = &ir.bgp {
        for s in &bgp.sessions {
            let peer_type = match s.kind {
                SessionKind::Mesh => PeerType::Mesh,
                SessionKind::Global => PeerType::Global,
                SessionKind::Node if s.rr_client => PeerType::RrClient,
                SessionKind::Node
                    if s.remote_node
                        .as_ref()
                        .is_some_and(|n| route_reflectors.contains(n)) =>
                {
                    PeerType::RouteReflector
                }
                SessionKind::Node => PeerType::Node,
            };
            let bird = protocols.iter().find(|p| p.name == s.name).cloned();
            seen.insert(s.name.clone());
            sessions.push(SessionStatus {
                name: s.name.clone(),
                peer: Some(s.neighbor),
                peer_type,
                peer_as: Some(s.peer_as),
                remote_node: s.remote_node.clone(),
                wanted: true,
                bird,
            });
        }
    }
    for p in protocols
        .iter()
        .filter(|p| p.is_bgp() && !seen.contains(&p.name))
    {
        sessions.push(SessionStatus {
            name: p.name.clone(),
            peer: p.bgp.as_ref().and_then(|b| b.neighbor),
            peer_type: PeerType::Unknown,
            peer_as: p.bgp.as_ref().and_then(|b| b.neighbor_as),
            remote_node: None,
            wanted: false,
            bird: Some(p.clone()),
        });
    }
    let live: BTreeSet<ipnet::IpNet> = live_routes
        .iter()
        .filter(|r| r.table.is_none())
        .map(|r| r.dst)
        .collect();
    let wanted: Vec<_> = ir
        .routes
        .iter()
        .filter(|r| is_remote_block(r.origin))
        .collect();
    let routes_missing = wanted
        .iter()
        .filter(|r| !live.contains(&r.dst))
        .map(|r| MissingRoute {
            dst: r.dst,
            origin: r.origin,
        })
        .collect();
    Comparison {
        sessions,
        routes_wanted: wanted.len(),
        routes_missing,
    }
}

/// The last successful apply to a target.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastApply {
    pub node: String,
    pub unix_ms: u64,
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
}

fn last_apply_path(t: &Target) -> std::path::PathBuf {
    t.state_dir().join("last-apply.json")
}

/// Remember a successful apply (best effort: status reports it, nothing depends on it).
pub fn record_apply(t: &Target, node: &str, summary: crate::plan::Summary) {
    let rec = LastApply {
        node: node.to_string(),
        unix_ms: crate::confirm::now_ms(),
        add: summary.add,
        change: summary.change,
        destroy: summary.destroy,
    };
    if let Ok(text) = serde_json::to_string_pretty(&rec) {
        let _ = crate::confirm::write_private(&last_apply_path(t), &text);
    }
}

pub fn last_apply(t: &Target) -> Option<LastApply> {
    let text = std::fs::read_to_string(last_apply_path(t)).ok()?;
    serde_json::from_str(&text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ESTABLISHED: &str = include_str!("../tests/fixtures/birdc/established.txt");
    const DISABLED: &str = include_str!("../tests/fixtures/birdc/disabled.txt");
    const PEER_STOPPED: &str = include_str!("../tests/fixtures/birdc/peer-stopped.txt");

    fn find<'a>(ps: &'a [Protocol], name: &str) -> &'a Protocol {
        ps.iter().find(|p| p.name == name).expect(name)
    }

    #[test]
    fn parses_established_session() {
        let ps = parse_protocols(ESTABLISHED).unwrap();
        let names: Vec<_> = ps.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "device1",
                "direct1",
                "kernel1",
                "static1",
                "Global_192_168_10_1",
                "Mesh_192_168_10_12"
            ]
        );
        let m = find(&ps, "Mesh_192_168_10_12");
        assert!(m.is_bgp() && m.established());
        assert_eq!(m.state, "up");
        assert_eq!(m.info, "Established");
        let b = m.bgp.as_ref().unwrap();
        assert_eq!(b.neighbor, Some("192.168.10.12".parse().unwrap()));
        assert_eq!(b.neighbor_as, Some(64512));
        assert_eq!(b.local_as, Some(64512));
        assert_eq!(b.routes_imported, 1);
        assert_eq!(b.routes_exported, 1);
        let g = find(&ps, "Global_192_168_10_1");
        assert!(!g.established());
        assert_eq!((g.state.as_str(), g.info.as_str()), ("start", "Connect"));
        assert!(find(&ps, "kernel1").bgp.is_none());
    }

    #[test]
    fn parses_disabled_and_stopped_peers() {
        let ps = parse_protocols(DISABLED).unwrap();
        let m = find(&ps, "Mesh_192_168_10_12");
        assert!(!m.established());
        assert_eq!(m.state, "down");
        assert_eq!(m.info, "");
        assert_eq!(m.bgp.as_ref().unwrap().state, "Down");

        let ps = parse_protocols(PEER_STOPPED).unwrap();
        let m = find(&ps, "Mesh_192_168_10_12");
        assert!(!m.established());
        assert_eq!(m.info, "Passive");
        assert_eq!(m.message, "Received: Administrative shutdown");
        assert_eq!(
            m.bgp.as_ref().unwrap().last_error.as_deref(),
            Some("Received: Administrative shutdown")
        );
        let g = find(&ps, "Global_192_168_10_1");
        assert_eq!(g.info, "Connect");
        assert_eq!(g.message, "Socket: No route to host");
    }

    #[test]
    fn long_time_format_and_garbage() {
        let t = "BIRD 2.0.12 ready.\nName Proto Table State Since Info\nMesh_1 BGP --- up 2026-11-29 15:47:37 Established\n";
        let ps = parse_protocols(t).unwrap();
        assert_eq!(ps[0].since, "2026-11-29 15:47:37");
        assert_eq!(ps[0].info, "Established");
        assert!(parse_protocols("  indented first\n").is_err());
        assert!(parse_protocols("only two\n").is_err());
        assert_eq!(parse_protocols("").unwrap(), vec![]);
    }

    #[test]
    fn compares_ir_with_bird_and_kernel() {
        let ir: HostIr = serde_json::from_str(include_str!(
            "../../golden/vxlan-always/expected/node-a/ir.json"
        ))
        .unwrap();
        // BIRD (recorded) runs Mesh_192_168_10_12 and Global_192_168_10_1,
        // neither of which this IR wants; it wants Mesh_10_0_0_2 and Mesh_10_0_1_3.
        let mut ps = parse_protocols(ESTABLISHED).unwrap();
        let mut m = find(&ps, "Mesh_192_168_10_12").clone();
        m.name = "Mesh_10_0_0_2".into();
        ps.push(m);
        let live = vec![LiveRoute {
            table: None,
            dst: "10.67.0.64/26".parse().unwrap(),
            metric: None,
            spec: crate::state::RouteSpec::Blackhole,
        }];
        let c = compare(&ir, &ps, &live, &BTreeSet::new());
        let names: Vec<_> = c.sessions.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "Mesh_10_0_0_2",
                "Mesh_10_0_1_3",
                "Global_192_168_10_1",
                "Mesh_192_168_10_12"
            ]
        );
        assert!(c.sessions[0].healthy());
        assert_eq!(c.sessions[0].peer_type, PeerType::Mesh);
        let missing: Vec<_> = c.missing_sessions().map(|s| s.name.as_str()).collect();
        assert_eq!(missing, ["Mesh_10_0_1_3"]);
        let unexpected: Vec<_> = c.unexpected_sessions().map(|s| s.name.as_str()).collect();
        assert_eq!(unexpected, ["Global_192_168_10_1", "Mesh_192_168_10_12"]);
        assert_eq!(c.down_sessions().count(), 0);
        assert_eq!(c.routes_wanted, 2);
        assert_eq!(
            c.routes_missing,
            vec![MissingRoute {
                dst: "10.67.0.128/26".parse().unwrap(),
                origin: Some(RouteOrigin::VxlanBlock)
            }]
        );
    }

    #[test]
    fn route_reflector_peer_types() {
        let load = |n: &str| -> HostIr {
            let t = std::fs::read_to_string(format!(
                "{}/../golden/route-reflector-pair/expected/{n}/ir.json",
                env!("CARGO_MANIFEST_DIR")
            ))
            .unwrap();
            serde_json::from_str(&t).unwrap()
        };
        let rrs: BTreeSet<String> = ["rr1".to_string(), "rr2".to_string()].into();
        let c = compare(&load("client-a"), &[], &[], &rrs);
        assert!(c
            .sessions
            .iter()
            .all(|s| s.peer_type == PeerType::RouteReflector && !s.established()));
        assert_eq!(c.missing_sessions().count(), 2);
        let c = compare(&load("rr1"), &[], &[], &rrs);
        let types: Vec<_> = c.sessions.iter().map(|s| s.peer_type).collect();
        assert_eq!(
            types,
            [
                PeerType::RrClient,
                PeerType::RouteReflector,
                PeerType::RrClient
            ]
        );
    }

    #[test]
    fn names_give_peer_types() {
        assert_eq!(PeerType::from_name("Mesh_10_0_0_1"), PeerType::Mesh);
        assert_eq!(PeerType::from_name("Global_10_0_0_1"), PeerType::Global);
        assert_eq!(
            PeerType::from_name("Node_10_0_0_1_port_179"),
            PeerType::Node
        );
        assert_eq!(PeerType::from_name("upstream"), PeerType::Unknown);
    }
}
