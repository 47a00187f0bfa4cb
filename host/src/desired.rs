//! The desired [`State`] of a node: built from its IR (tunnels, addresses,
//! neighbours, FDB, routes) and its emitted artifacts (firewall, BIRD).
//!
//! Kernel objects come from the IR, the same values the `tunnels.batch` and
//! `routes.batch` artifacts were emitted from. The firewall comes from the
//! emitted file itself: it is loaded into a scratch namespace and listed
//! back with the live-side reader, so the comparison is exact whatever
//! spelling the emitter chose. Only the selected backend is desired; the
//! other one's netc objects are desired absent (switching backends removes
//! netc's chains from the old one).

use crate::scratch::Scratch;
use crate::state::{self, Address, BirdFile, BirdState, Link, LinkKind, LiveRoute, State};
use crate::{DesiredError, Error};
use netc_ir::{HostIr, TunnelKind};
use netc_targets::{Artifact, ArtifactKind};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Which firewall backend netc drives.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    #[default]
    Nftables,
    Iptables,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Nftables => "nftables",
            Backend::Iptables => "iptables",
        }
    }

    /// The artifacts plan and apply read with this backend (the other
    /// backend's rules are never emitted for them).
    pub fn artifact_kinds(self) -> &'static [ArtifactKind] {
        use ArtifactKind::*;
        match self {
            Backend::Nftables => &[Tunnels, Fdb, Routes, Nftables, Bird],
            Backend::Iptables => &[Tunnels, Fdb, Routes, Iptables, Ip6tables, Bird],
        }
    }
}

pub const NFT_ARTIFACT: &str = ArtifactKind::Nftables.file_name();
pub const IPT_ARTIFACT: &str = ArtifactKind::Iptables.file_name();
pub const IP6T_ARTIFACT: &str = ArtifactKind::Ip6tables.file_name();
pub const BIRD_ARTIFACT: &str = ArtifactKind::Bird.file_name();

fn artifact<'a>(arts: &'a [Artifact], name: &str) -> Option<&'a Artifact> {
    arts.iter().find(|a| a.file_name() == name)
}

/// Build the desired state. Loads the firewall into a scratch namespace
/// (needs root) unless [`crate::cache`] has it, or `no_live_table` says the
/// target has no netc table: then the plan creates the table whole, needs
/// nothing to compare, and the artifact is taken as written
/// ([`state::nft::NftState::from_artifact`]; verification learns its
/// canonical form from the table the apply loads). A table that differs
/// from the one `last_applied` gives (its artifact and canonical state,
/// called only on this path) only in set elements is predicted instead
/// ([`state::nft_predict`]). Also returns the cache key of the nft table,
/// when there is one.
pub fn build<'a>(
    ir: &HostIr,
    artifacts: &[Artifact],
    backend: Backend,
    bird_path: &Path,
    no_live_table: bool,
    last_applied: &(dyn Fn() -> Option<(&'a str, &'a state::NftState)> + Sync),
) -> Result<(State, Option<String>), Error> {
    let mut nft_key = None;
    let mut st = kernel_objects(ir)?;
    let fw = |name: &str| {
        artifact(artifacts, name)
            .map(|a| a.contents.as_str())
            .filter(|c| !c.trim().is_empty())
    };
    match backend {
        Backend::Nftables => {
            if let Some(text) = fw(NFT_ARTIFACT) {
                let key = crate::cache::key("nft", text);
                st.nft = match crate::cache::load::<state::NftState>(&key) {
                    Some(n) if n.has_text || !n.present => n,
                    _ if no_live_table => state::nft::NftState::from_artifact(text, &key),
                    _ => match last_applied().and_then(|(a, s)| {
                        netc_ir::timing::timed("desired.predict", || {
                            state::nft_predict::predict(a, s, text, &key)
                        })
                    }) {
                        Some(p) => p,
                        None => canonical_nft(text, &key)?,
                    },
                };
                nft_key = Some(key);
            }
        }
        Backend::Iptables => {
            let parts: Vec<(&str, &str)> = [(IPT_ARTIFACT, "ipv4"), (IP6T_ARTIFACT, "ipv6")]
                .into_iter()
                .filter_map(|(name, fam)| fw(name).map(|t| (fam, t)))
                .collect();
            if !parts.is_empty() {
                let s = Scratch::new()?;
                for (fam, text) in &parts {
                    let (_, restore) = state::iptables::tools(fam);
                    s.exec
                        .write(restore, &["--noflush"], Some(text))?
                        .check()
                        .map_err(|source| DesiredError::IptRejected {
                            family: fam.to_string(),
                            source,
                        })?;
                }
                st.iptables = state::iptables::read(&s.exec)?;
                add_hook_jumps(&mut st.iptables);
            }
        }
    }
    // A node without BGP gets a bird.conf of comments only, which BIRD
    // rejects: BIRD is then not netc's to manage on that host.
    st.bird = match artifact(artifacts, BIRD_ARTIFACT)
        .filter(|a| !netc_targets::bird::configures_nothing(&a.contents))
    {
        Some(a) => BirdState {
            managed: true,
            path: bird_path.to_path_buf(),
            file: Some(BirdFile {
                contents: a.contents.clone(),
                sensitive: a.sensitive || state::bird::contains_secret(&a.contents),
                meta: Default::default(),
            }),
        },
        None => BirdState {
            managed: false,
            path: bird_path.to_path_buf(),
            file: None,
        },
    };
    Ok((st, nft_key))
}

/// nft's canonical form of the table `text` declares: loaded into a
/// scratch namespace and listed back with the live-side reader, then cached
/// under `key`.
pub fn canonical_nft(text: &str, key: &str) -> Result<state::NftState, Error> {
    let _t = netc_ir::timing::phase("desired.scratch nft");
    let s = Scratch::new()?;
    s.exec
        .write("nft", &["-f", "-"], Some(text))?
        .check()
        .map_err(|source| DesiredError::NftRejected {
            artifact: NFT_ARTIFACT.to_string(),
            source,
        })?;
    let n = state::nft::read(&s.exec, true)?;
    crate::cache::store(key, &n);
    Ok(n)
}

/// Tunnels, addresses, neighbours, FDB entries, routes and workload
/// interface parameters, from the IR.
/// Names and MACs are the IR's checked types, so nothing here can put an
/// unsafe word on a command line; only the set of devices netc manages is
/// checked.
pub fn kernel_objects(ir: &HostIr) -> Result<State, Error> {
    let mut st = State::default();
    for t in &ir.tunnels {
        if !state::OWNED_LINKS.contains(&t.name.as_str()) {
            return Err(DesiredError::UnownedTunnel {
                name: t.name.to_string(),
                owned: state::OWNED_LINKS.iter().map(|s| s.to_string()).collect(),
            }
            .into());
        }
        let (kind, mac) = match &t.kind {
            TunnelKind::Vxlan { vni, port, mac } => (
                LinkKind::Vxlan {
                    vni: *vni,
                    port: *port,
                    local: Some(t.local),
                    parent: t.parent.clone(),
                    learning: false,
                },
                Some(*mac),
            ),
            // tunl0 is the kernel's fallback IPIP device: any-to-any, no local.
            TunnelKind::Ipip => (LinkKind::Ipip { local: None }, None),
        };
        st.links.push(Link {
            name: t.name.clone(),
            kind,
            mtu: t.mtu,
            mac,
            up: true,
        });
        st.addresses.push(Address {
            dev: t.name.clone(),
            addr: netc_targets::iproute::host_prefix(t.address),
        });
    }
    st.links.sort_by(|a, b| a.name.cmp(&b.name));
    st.addresses.sort();
    st.neighbors = ir.neighbors.clone();
    st.neighbors.sort();
    st.fdb = ir.fdb.clone();
    st.fdb.sort();
    st.routes = ir
        .routes
        .iter()
        .map(|r| LiveRoute {
            table: None,
            dst: r.dst,
            metric: None,
            spec: (&r.kind).into(),
        })
        .collect();
    st.routes.sort();
    st.sysctls = ir
        .workload_interfaces
        .iter()
        .flat_map(|w| {
            w.settings.iter().map(|s| state::IfaceValue {
                dev: w.name.clone(),
                sysctl: s.sysctl,
                value: s.value.to_string(),
            })
        })
        .collect();
    st.sysctls.sort();
    let mut seen = std::collections::BTreeSet::new();
    for r in &st.routes {
        if !seen.insert(r.key()) {
            return Err(DesiredError::DuplicateRoute { dst: r.dst }.into());
        }
    }
    Ok(st)
}

/// The jumps from the built-in chains into netc's top-level chains are not
/// in the emitted file (a restore cannot add them idempotently): the host
/// layer keeps each one exactly once, first in its built-in chain
/// (`netc_targets::iptables::hook_jumps`), for every table and family whose
/// top-level chain the file declares.
pub fn add_hook_jumps(st: &mut state::IptState) {
    for t in &mut st.tables {
        for j in netc_targets::iptables::hook_jumps() {
            if j.table == t.name && t.chains.iter().any(|c| c.name == j.target) {
                let pos = t.jumps.iter().filter(|x| x.chain == j.chain).count();
                t.jumps.push(state::IptJump {
                    chain: j.chain.to_string(),
                    spec: format!("-j {}", j.target),
                    pos,
                });
            }
        }
    }
}
