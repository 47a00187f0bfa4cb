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
use crate::Error;
use netc_compiler::ir::{HostIr, TunnelKind};
use netc_targets::Artifact;
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
}

pub const NFT_ARTIFACT: &str = "nftables.nft";
pub const IPT_ARTIFACT: &str = "iptables.rules";
pub const BIRD_ARTIFACT: &str = "bird.conf";

fn artifact<'a>(arts: &'a [Artifact], name: &str) -> Option<&'a Artifact> {
    arts.iter().find(|a| a.file_name == name)
}

/// Build the desired state. Loads the firewall into a scratch namespace
/// (needs root), so call it once per plan.
pub fn build(
    ir: &HostIr,
    artifacts: &[Artifact],
    backend: Backend,
    bird_path: &Path,
) -> Result<State, Error> {
    let mut st = kernel_objects(ir)?;
    let fw = |name: &str| {
        artifact(artifacts, name)
            .map(|a| a.contents.as_str())
            .filter(|c| !c.trim().is_empty())
    };
    match backend {
        Backend::Nftables => {
            if let Some(text) = fw(NFT_ARTIFACT) {
                let s = Scratch::new()?;
                s.exec
                    .write("nft", &["-f", "-"], Some(text))?
                    .check()
                    .map_err(|e| Error::Desired(format!("the emitted {NFT_ARTIFACT} does not load: {e}")))?;
                st.nft = state::nft::read(&s.exec)?;
            }
        }
        Backend::Iptables => {
            if let Some(text) = fw(IPT_ARTIFACT) {
                let s = Scratch::new()?;
                for (fam, part) in split_families(text) {
                    let (_, restore) = state::iptables::tools(fam);
                    s.exec
                        .write(restore, &["--noflush"], Some(&part))?
                        .check()
                        .map_err(|e| {
                            Error::Desired(format!("the emitted {IPT_ARTIFACT} does not load: {e}"))
                        })?;
                }
                st.iptables = state::iptables::read(&s.exec)?;
                st.iptables.append_jumps = appends_jumps(text);
            }
        }
    }
    st.bird = match artifact(artifacts, BIRD_ARTIFACT).filter(|a| !a.contents.trim().is_empty()) {
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
    Ok(st)
}

/// Tunnels, addresses, neighbours, FDB entries and routes, from the IR.
pub fn kernel_objects(ir: &HostIr) -> Result<State, Error> {
    let mut st = State::default();
    for t in &ir.tunnels {
        if !state::OWNED_LINKS.contains(&t.name.as_str()) {
            return Err(Error::Desired(format!(
                "tunnel device `{}` is not one netc manages ({})",
                t.name,
                state::OWNED_LINKS.join(", ")
            )));
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
                Some(mac.to_ascii_lowercase()),
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
            addr: ipnet::IpNet::from(std::net::IpAddr::V4(t.address)),
        });
    }
    st.links.sort_by(|a, b| a.name.cmp(&b.name));
    st.addresses.sort();
    st.neighbors = ir
        .neighbors
        .iter()
        .map(|n| {
            let mut n = n.clone();
            n.mac = n.mac.to_ascii_lowercase();
            n
        })
        .collect();
    st.neighbors.sort();
    st.fdb = ir
        .fdb
        .iter()
        .map(|f| {
            let mut f = f.clone();
            f.mac = f.mac.to_ascii_lowercase();
            f
        })
        .collect();
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
    let mut seen = std::collections::BTreeSet::new();
    for r in &st.routes {
        if !seen.insert(r.key()) {
            return Err(Error::Desired(format!(
                "two routes for {} in the IR",
                r.dst
            )));
        }
    }
    Ok(st)
}

/// An iptables.rules artifact may hold IPv6 sections after a line
/// `# ip6tables` (restore files have no family marker of their own);
/// everything before it is IPv4.
pub fn split_families(text: &str) -> Vec<(&'static str, String)> {
    let mut v4 = String::new();
    let mut v6 = String::new();
    let mut in6 = false;
    for line in text.lines() {
        let l = line.trim().to_ascii_lowercase();
        if l.starts_with('#') && l.contains("ip6tables") {
            in6 = true;
        } else if l.starts_with('#') && l.contains("iptables") && !l.contains("ip6tables") {
            in6 = false;
        }
        let buf = if in6 { &mut v6 } else { &mut v4 };
        buf.push_str(line);
        buf.push('\n');
    }
    let mut out = Vec::new();
    if v4.lines().any(|l| l.starts_with('*')) {
        out.push(("ipv4", v4));
    }
    if v6.lines().any(|l| l.starts_with('*')) {
        out.push(("ipv6", v6));
    }
    out
}

/// Does the artifact append its hook jumps (`-A INPUT -j netc-…`) rather
/// than insert them (`-I INPUT …`)?
fn appends_jumps(text: &str) -> bool {
    let mut appends = false;
    for l in text.lines() {
        let mut it = l.split_whitespace();
        let (Some(op), Some(chain)) = (it.next(), it.next()) else {
            continue;
        };
        if chain.starts_with(netc_compiler::ir::IPT_CHAIN_PREFIX) {
            continue;
        }
        match op {
            "-I" | "--insert" => return false,
            "-A" | "--append" => appends = true,
            _ => {}
        }
    }
    appends
}
