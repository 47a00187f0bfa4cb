//! The planner: two [`State`]s in (live, desired), the difference out, as
//! human-facing [`Change`]s (what `netc plan` prints) and the exact
//! commands that make it so, grouped in [`StepOps`] in dependency order:
//!
//! 1. links (tunnel devices)      `ip -batch`
//! 2. addresses                   `ip -batch`
//! 3. neighbours / FDB            `ip -batch`, `bridge -batch`
//! 4. routes                      `ip -batch`
//! 5. workload interfaces         `sysctl -w` (the CNI plugin's veths, netc's parameters)
//! 6. firewall                    one `nft -f` transaction, or `iptables-restore --noflush`
//! 7. BIRD                        atomic file replace + `birdc configure`
//!
//! Destroying or replacing a tunnel device takes its addresses, neighbours,
//! FDB entries and routes with it (the kernel removes them), so those are
//! not deleted one by one; the ones still desired are re-created after it.
//!
//! The same function plans an apply (live → desired), a rollback (live →
//! snapshot) and a verification (after applying, the plan must be empty).
//! Planning is pure: no I/O.

mod bird;
mod iptables;
mod links;
mod nft;

pub(crate) use nft::elem_changes;
mod routes;
mod sysctl;

use crate::state::State;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// The apply steps, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    Links,
    Addresses,
    Neighbors,
    Routes,
    Interfaces,
    Firewall,
    Bird,
}

impl Step {
    pub const ALL: [Step; 7] = [
        Step::Links,
        Step::Addresses,
        Step::Neighbors,
        Step::Routes,
        Step::Interfaces,
        Step::Firewall,
        Step::Bird,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Step::Links => "tunnels",
            Step::Addresses => "addresses",
            Step::Neighbors => "neighbours/FDB",
            Step::Routes => "routes",
            Step::Interfaces => "workload interfaces",
            Step::Firewall => "firewall",
            Step::Bird => "BIRD",
        }
    }

    /// Parse a label or kebab name (for `NETC_INJECT_FAILURE`).
    pub fn parse(s: &str) -> Option<Step> {
        let s = s.to_ascii_lowercase();
        Step::ALL.into_iter().find(|st| {
            st.label().to_ascii_lowercase() == s
                || serde_json::to_value(st)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    == Some(s.clone())
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// `+`
    Create,
    /// `~`
    Update,
    /// `-/+`: destroyed and created again (an attribute that cannot change in place).
    Replace,
    /// `-`
    Delete,
}

impl Action {
    pub fn symbol(self) -> &'static str {
        match self {
            Action::Create => "+",
            Action::Update => "~",
            Action::Replace => "-/+",
            Action::Delete => "-",
        }
    }

    pub fn verb(self) -> &'static str {
        match self {
            Action::Create => "created",
            Action::Update => "updated in-place",
            Action::Replace => "replaced",
            Action::Delete => "destroyed",
        }
    }
}

/// An attribute before and after (`None`: absent on that side).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attr {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<String>,
    /// Changing it forces replacement.
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub forces_replacement: bool,
}

/// A member line added or removed: a firewall rule, a set element, a hook jump.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    /// `+` or `-`.
    pub sign: char,
    pub text: String,
}

/// One resource changing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub step: Step,
    pub action: Action,
    /// tunnel, address, neighbour, fdb entry, route, nft table, nft set,
    /// nft chain, nft object, iptables chain, iptables jumps, file.
    pub resource: String,
    /// e.g. `vxlan.calico`, `10.65.1.0/26`, `inet netc pol-web-in`.
    pub id: String,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub attrs: Vec<Attr>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub lines: Vec<Line>,
    /// Unified diff of a file, secrets masked.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub diff: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub note: Option<String>,
}

impl Change {
    pub fn new(step: Step, action: Action, resource: &str, id: impl Into<String>) -> Change {
        Change {
            step,
            action,
            resource: resource.to_string(),
            id: id.into(),
            attrs: Vec::new(),
            lines: Vec::new(),
            diff: None,
            note: None,
        }
    }

    pub fn attr(mut self, name: &str, old: Option<String>, new: Option<String>) -> Change {
        self.attrs.push(Attr {
            name: name.to_string(),
            old,
            new,
            forces_replacement: false,
        });
        self
    }

    pub fn note(mut self, n: impl Into<String>) -> Change {
        self.note = Some(n.into());
        self
    }
}

/// What the BIRD step does.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum BirdOp {
    /// Write the file atomically, check it with BIRD, reconfigure.
    Install {
        path: std::path::PathBuf,
        #[serde(skip_serializing, default)]
        contents: String,
        sensitive: bool,
        /// Metadata of the file being replaced (mode and owner are kept).
        existing: Option<crate::state::bird::FileMeta>,
    },
    /// Remove the file (rollback to "there was none").
    Remove { path: std::path::PathBuf },
}

/// One command that changes the target.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "tool", rename_all = "kebab-case")]
pub enum Op {
    /// `ip -batch -`, one line per command.
    Ip {
        batch: Vec<String>,
    },
    /// `bridge -batch -`.
    Bridge {
        batch: Vec<String>,
    },
    /// `nft -f -`: one transaction. `full`: replaces the whole table;
    /// otherwise a delta, with the full replacement as `fallback`.
    Nft {
        script: String,
        full: bool,
        #[serde(skip_serializing, default)]
        fallback: Option<String>,
    },
    /// `iptables-restore --noflush` (or ip6tables-restore for `ipv6`).
    IptRestore {
        family: String,
        script: String,
    },
    Bird(BirdOp),
    /// `sysctl -q -w PATH=VALUE…`: workload interface parameters.
    Sysctl {
        assignments: Vec<String>,
    },
}

/// The commands of one step.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StepOps {
    pub step: Step,
    pub ops: Vec<Op>,
}

/// The difference between two states.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Plan {
    pub changes: Vec<Change>,
    /// Only steps with something to do, in order.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub steps: Vec<StepOps>,
    /// Why apply must refuse this plan as it stands (e.g. it would replace
    /// a device netc did not make): checked before the first change.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub refused: Vec<String>,
    /// Things left as they are on purpose, to tell the operator (a workload
    /// interface the CNI plugin has not created yet). Not changes.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub notes: Vec<String>,
}

/// `Plan: X to add, Y to change, Z to destroy.`
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty() && self.steps.is_empty()
    }

    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for c in &self.changes {
            match c.action {
                Action::Create => s.add += 1,
                Action::Update => s.change += 1,
                Action::Delete => s.destroy += 1,
                Action::Replace => {
                    s.add += 1;
                    s.destroy += 1;
                }
            }
        }
        s
    }

    fn push(&mut self, step: Step, changes: Vec<Change>, ops: Vec<Op>) {
        self.changes.extend(changes);
        if !ops.is_empty() {
            self.steps.push(StepOps { step, ops });
        }
    }
}

/// Plan the way from `live` to `desired`.
pub fn diff(live: &State, desired: &State) -> Plan {
    diff_with(live, desired, &BTreeSet::new())
}

/// [`diff`], destroying and re-creating the tunnel devices named in
/// `replace` even when they are unchanged (`--replace DEVICE`).
pub fn diff_with(live: &State, desired: &State, replace: &BTreeSet<String>) -> Plan {
    let mut plan = Plan::default();

    let (changes, ops, gone) = links::diff(live, desired, replace);
    plan.push(Step::Links, changes, ops);
    // What goes with a destroyed or replaced device is not deleted separately.
    let gone: BTreeSet<&str> = gone.iter().map(String::as_str).collect();

    let (mut c, o) = links::diff_addresses(live, desired, &gone);
    let v4_flushed = links::v4_flushed(live, desired, &gone);
    for ch in c.iter_mut() {
        if let Some(dev) = v4_flushed
            .iter()
            .find(|d| ch.id.ends_with(&format!(" dev {d}")))
        {
            if ch.action == Action::Delete {
                ch.note = Some(format!(
                    "{dev}'s last IPv4 address: the kernel drops its IPv4 neighbours and routes with it"
                ));
            }
        }
    }
    plan.push(Step::Addresses, c, o);
    // A device whose link-layer address changes in place loses its
    // neighbours (docs/lab-facts.md, "VXLAN, Calico style"): plan them as
    // absent, so the desired ones are created again after the change.
    let flushed: BTreeSet<&str> = desired
        .links
        .iter()
        .filter(|d| d.mac.is_some() && !gone.contains(d.name.as_str()))
        .filter(|d| {
            live.links
                .iter()
                .any(|l| l.name == d.name && l.mac != d.mac)
        })
        .map(|d| d.name.as_str())
        .collect();
    let unflushed;
    let neigh_live = if flushed.is_empty() && v4_flushed.is_empty() {
        live
    } else {
        let v4_gone = |dev: &str, ip: std::net::IpAddr| ip.is_ipv4() && v4_flushed.contains(dev);
        unflushed = State {
            neighbors: live
                .neighbors
                .iter()
                .filter(|n| !flushed.contains(n.dev.as_str()) && !v4_gone(n.dev.as_str(), n.ip))
                .cloned()
                .collect(),
            routes: live
                .routes
                .iter()
                .filter(|r| {
                    !(r.dst.addr().is_ipv4()
                        && r.spec.dev().is_some_and(|d| v4_flushed.contains(d)))
                })
                .cloned()
                .collect(),
            ..live.clone()
        };
        &unflushed
    };
    let (c, o) = links::diff_neighbors(neigh_live, desired, &gone);
    plan.push(Step::Neighbors, c, o);
    // A workload interface the CNI plugin has not created yet cannot take
    // its route or its settings: both wait, and the plan says so
    // (docs/calico.md §4.4: Felix's route table waits the same way).
    let waiting = sysctl::waiting(live, desired);
    let unwired;
    let route_desired = if waiting.is_empty() {
        desired
    } else {
        unwired = State {
            routes: desired
                .routes
                .iter()
                .filter(|r| r.spec.dev().is_none_or(|d| !waiting.contains(d)))
                .cloned()
                .collect(),
            ..State::default()
        };
        &unwired
    };
    let (c, o) = routes::diff(neigh_live, route_desired, &gone);
    plan.push(Step::Routes, c, o);

    let (c, o, notes) = sysctl::diff(live, desired);
    plan.push(Step::Interfaces, c, o);
    for dev in &waiting {
        let routes = desired
            .routes
            .iter()
            .filter(|r| r.spec.dev() == Some(dev.as_str()))
            .count();
        plan.notes.push(format!(
            "workload interface {dev} does not exist yet: its {routes} route(s) and settings wait for the CNI plugin to create it"
        ));
    }
    plan.notes.extend(notes);

    let (mut c, mut o) = nft::diff(&live.nft, &desired.nft);
    let (c2, o2) = iptables::diff(&live.iptables, &desired.iptables);
    // Build the new firewall before tearing down the other backend's, so a
    // backend switch never leaves the host without netc's rules.
    if desired.iptables.is_empty() {
        c.extend(c2);
        o.extend(o2);
    } else {
        let mut c3 = c2;
        c3.extend(c);
        c = c3;
        let mut o3 = o2;
        o3.extend(o);
        o = o3;
    }
    plan.push(Step::Firewall, c, o);

    let (c, o) = bird::diff(&live.bird, &desired.bird);
    plan.push(Step::Bird, c, o);
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{Address, Link, LinkKind, LiveRoute, RouteSpec};
    use netc_ir::Neighbor;

    fn state(vni: u32) -> State {
        State {
            links: vec![Link {
                name: "vxlan.calico".parse().unwrap(),
                kind: LinkKind::Vxlan {
                    vni,
                    port: 4789,
                    local: Some("192.168.10.11".parse().unwrap()),
                    parent: Some("eth0".parse().unwrap()),
                    learning: false,
                },
                mtu: 1450,
                mac: Some("66:00:00:00:00:01".parse().unwrap()),
                up: true,
            }],
            addresses: vec![Address {
                dev: "vxlan.calico".parse().unwrap(),
                addr: "10.250.0.0/32".parse().unwrap(),
            }],
            neighbors: vec![Neighbor {
                dev: "vxlan.calico".parse().unwrap(),
                ip: "10.250.0.64".parse().unwrap(),
                mac: "66:00:00:00:00:02".parse().unwrap(),
            }],
            routes: vec![LiveRoute {
                table: None,
                dst: "10.250.0.64/26".parse().unwrap(),
                metric: None,
                spec: RouteSpec::Via {
                    gateway: "10.250.0.64".parse().unwrap(),
                    dev: Some("vxlan.calico".parse().unwrap()),
                    onlink: true,
                },
            }],
            ..State::default()
        }
    }

    /// A new tunnel address is added before the old one goes, so the
    /// device never has none and the kernel flushes nothing.
    #[test]
    fn a_moved_tunnel_address_is_added_before_the_old_is_removed() {
        let live = state(4096);
        let mut want = state(4096);
        want.addresses[0].addr = "10.251.0.0/32".parse().unwrap();
        let cmds: Vec<String> = diff(&live, &want)
            .steps
            .iter()
            .flat_map(|s| s.ops.iter())
            .flat_map(|o| match o {
                Op::Ip { batch } => batch.clone(),
                _ => Vec::new(),
            })
            .collect();
        assert_eq!(
            cmds,
            vec![
                "addr add 10.251.0.0/32 dev vxlan.calico",
                "addr del 10.250.0.0/32 dev vxlan.calico"
            ]
        );
    }

    /// Removing a device's last IPv4 address flushes its IPv4 neighbours and
    /// routes: the plan does not delete them again (that would fail), and
    /// re-creates the ones still wanted.
    #[test]
    fn the_last_v4_address_takes_neighbours_and_routes_with_it() {
        let live = state(4096);
        let mut want = state(4096);
        want.addresses.clear();
        want.routes.clear();
        let p = diff(&live, &want);
        let got: Vec<(Action, &str)> = p
            .changes
            .iter()
            .map(|c| (c.action, c.resource.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![(Action::Delete, "address"), (Action::Create, "neighbour")],
            "the neighbour is flushed, then wanted again; the route just goes"
        );
        assert!(p.changes[0]
            .note
            .as_deref()
            .is_some_and(|n| n.contains("last IPv4 address")));
    }

    #[test]
    fn replacing_a_tunnel_recreates_what_hangs_on_it_in_order() {
        let p = diff(&state(1), &state(4096));
        let got: Vec<(Action, &str)> = p
            .changes
            .iter()
            .map(|c| (c.action, c.resource.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (Action::Replace, "tunnel"),
                (Action::Create, "address"),
                (Action::Create, "neighbour"),
                (Action::Create, "route"),
            ]
        );
        let vni = &p.changes[0].attrs[0];
        assert_eq!((vni.name.as_str(), vni.forces_replacement), ("vni", true));
        let steps: Vec<Step> = p.steps.iter().map(|s| s.step).collect();
        assert_eq!(
            steps,
            vec![Step::Links, Step::Addresses, Step::Neighbors, Step::Routes]
        );
        let s = p.summary();
        assert_eq!((s.add, s.change, s.destroy), (4, 0, 1));
    }

    #[test]
    fn destroying_a_tunnel_takes_its_dependents_along() {
        let mut want = State::default();
        want.routes.clear();
        let p = diff(&state(4096), &want);
        assert_eq!(p.changes.len(), 1, "{:#?}", p.changes);
        assert_eq!(p.changes[0].action, Action::Delete);
        let Op::Ip { batch } = &p.steps[0].ops[0] else {
            panic!()
        };
        assert_eq!(batch, &vec!["link del vxlan.calico".to_string()]);
    }

    #[test]
    fn a_new_mac_in_place_recreates_the_neighbours_it_flushes() {
        let mut want = state(4096);
        want.links[0].mac = Some("66:00:00:00:00:09".parse().unwrap());
        let p = diff(&state(4096), &want);
        let got: Vec<(Action, &str)> = p
            .changes
            .iter()
            .map(|c| (c.action, c.resource.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![(Action::Update, "tunnel"), (Action::Create, "neighbour")]
        );
        let batches: Vec<&Vec<String>> = p
            .steps
            .iter()
            .flat_map(|s| &s.ops)
            .filter_map(|o| match o {
                Op::Ip { batch } => Some(batch),
                _ => None,
            })
            .collect();
        assert_eq!(
            batches,
            vec![
                &vec!["link set vxlan.calico address 66:00:00:00:00:09 mtu 1450 up".to_string()],
                &vec![
                    "neigh replace 10.250.0.64 lladdr 66:00:00:00:00:02 dev vxlan.calico nud permanent"
                        .to_string()
                ],
            ]
        );
    }

    #[test]
    fn replace_forces_an_unchanged_device_to_be_recreated() {
        let p = diff_with(
            &state(4096),
            &state(4096),
            &["vxlan.calico".to_string()].into(),
        );
        let got: Vec<(Action, &str)> = p
            .changes
            .iter()
            .map(|c| (c.action, c.resource.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (Action::Replace, "tunnel"),
                (Action::Create, "address"),
                (Action::Create, "neighbour"),
                (Action::Create, "route"),
            ]
        );
        assert!(p.changes[0]
            .note
            .as_deref()
            .unwrap_or("")
            .contains("--replace"));
        assert!(diff_with(&state(4096), &state(4096), &BTreeSet::new()).is_empty());
    }

    #[test]
    fn mtu_change_is_in_place() {
        let mut want = state(4096);
        want.links[0].mtu = 1400;
        let p = diff(&state(4096), &want);
        assert_eq!(p.changes.len(), 1);
        assert_eq!(p.changes[0].action, Action::Update);
        let Op::Ip { batch } = &p.steps[0].ops[0] else {
            panic!()
        };
        assert_eq!(
            batch,
            &vec!["link set vxlan.calico mtu 1400 up".to_string()]
        );
    }
}
