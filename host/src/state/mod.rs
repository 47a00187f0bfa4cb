//! The host state netc owns, in one normalised shape.
//!
//! [`State`] is produced two ways and the planner only ever compares two
//! `State`s:
//! - *live*: [`read`] lists the kernel and the BIRD config file, keeping only
//!   what netc owns (see each reader);
//! - *desired*: [`crate::desired`] builds it from the IR and the emitted
//!   firewall artifacts, the firewall canonicalised by loading it into a
//!   scratch namespace and listing it with the very reader used for the live
//!   side, so both sides go through the same normaliser.
//!
//! A snapshot taken before an apply is a live `State`; rolling back is
//! "plan from the current live state to the snapshot, and apply that".
//!
//! Ownership (what netc may create, change or delete):
//! - links: only the tunnel devices named in [`OWNED_LINKS`];
//! - addresses, neighbours and FDB entries on those devices;
//! - routes with protocol [`NETC_ROUTE_PROTO`], in any table;
//! - the nftables table `inet netc`;
//! - iptables chains whose name starts with `netc-`, and rules in built-in
//!   chains that jump to them;
//! - the BIRD config file given on the command line;
//! - the kernel parameters of the workload interfaces the desired state
//!   names (`sysctl.rs`; the interfaces themselves are the CNI plugin's).

pub mod bird;
pub mod iproute;
pub mod iptables;
pub mod links;
pub mod neigh;
pub mod nft;
mod nft_elem;
mod nft_elems;
pub mod nft_kernel;
pub mod nft_predict;
pub mod routes;
pub mod sysctl;

use crate::exec::Exec;
use crate::Error;
use netc_ir as ir;
use serde::{Deserialize, Serialize};
use std::path::Path;

pub use bird::{BirdFile, BirdState};
pub use iptables::{IptChain, IptJump, IptState, IptTable};
pub use links::{Address, Link, LinkKind};
pub use nft::{NftChain, NftRule, NftSet, NftState};
pub use nft_elems::Elems;
pub use routes::{LiveRoute, RouteSpec};
pub use sysctl::IfaceValue;

/// Links netc creates and therefore owns, by name (Calico's device names).
pub const OWNED_LINKS: &[&str] = &[ir::IPIP_DEVICE, ir::VXLAN_DEVICE, ir::VXLAN_V6_DEVICE];

pub use netc_ir::{NETC_ROUTE_PROTO, NFT_TABLE};

/// Everything netc owns on one target.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct State {
    /// Owned tunnel devices, sorted by name.
    pub links: Vec<Link>,
    /// Addresses on owned devices, sorted.
    pub addresses: Vec<Address>,
    /// Permanent neighbour entries on owned devices, sorted.
    pub neighbors: Vec<ir::Neighbor>,
    /// FDB entries with a remote destination on owned devices, sorted.
    pub fdb: Vec<ir::FdbEntry>,
    /// Routes with protocol 233, sorted.
    pub routes: Vec<LiveRoute>,
    pub nft: NftState,
    pub iptables: IptState,
    pub bird: BirdState,
    /// Workload interface parameters netc owns, sorted; live: only those
    /// asked for that exist.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sysctls: Vec<IfaceValue>,
}

/// Facts about the target that netc does not own but checks (the guard).
#[derive(Clone, Debug, Default)]
pub struct Facts {
    /// Every (device, address) on the target.
    pub addresses: Vec<(String, ipnet::IpNet)>,
    /// Every link name on the target.
    pub links: Vec<String>,
    /// Devices under a name netc manages that netc did not make (no
    /// [`netc_targets::iproute::OWNER_ALIAS`]), with every route through
    /// them (`ip route show dev …`, any protocol): what replacing one
    /// would destroy besides its addresses and neighbours.
    pub foreign_links: std::collections::BTreeMap<String, Vec<String>>,
    /// Every link's MTU (a tunnel's MTU must fit inside its parent's).
    pub mtus: std::collections::BTreeMap<String, u32>,
}

/// Read everything netc owns on the target, plus the facts the guard needs.
/// `nft_text`: also list netc's nft table as text (see [`nft::read`]).
pub fn read(exec: &Exec, bird_path: &Path, nft_text: bool) -> Result<(State, Facts), Error> {
    read_with(exec, bird_path, nft_text, &[])
}

/// [`read`], plus the workload interface parameters `sysctls` names
/// (normally [`State::sysctl_keys`] of the state it will be compared with).
pub fn read_with(
    exec: &Exec,
    bird_path: &Path,
    nft_text: bool,
    sysctls: &[(ir::IfName, ir::IfaceSysctl)],
) -> Result<(State, Facts), Error> {
    let mode = if nft_text {
        nft::Listing::JsonAndText
    } else {
        nft::Listing::Json
    };
    read_parts(exec, bird_path, mode, sysctls, Parts::ALL)
}

/// [`read`] for a plan that will compare with a desired state: netc's nft
/// table is listed as text only, the cheapest listing, and
/// [`nft::resolve`] finishes it once the desired table is known (no change:
/// nothing more to read).
pub fn read_for_plan(exec: &Exec, bird_path: &Path) -> Result<(State, Facts), Error> {
    read_parts(
        exec,
        bird_path,
        nft::Listing::TerseAndKernel,
        &[],
        Parts::ALL,
    )
}

/// Which readers to run: all of them, except for a verification, which
/// reads back what the apply wrote ([`read_parts`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Parts {
    /// Links, addresses, neighbours and FDB entries (and the facts).
    pub links: bool,
    pub routes: bool,
    /// Workload interface settings.
    pub sysctls: bool,
    /// netc's nft table and iptables chains.
    pub firewall: bool,
    pub bird: bool,
}

impl Parts {
    pub const ALL: Parts = Parts {
        links: true,
        routes: true,
        sysctls: true,
        firewall: true,
        bird: true,
    };
}

/// [`read_with`] of only `parts`; what is not read is left empty.
pub fn read_parts(
    exec: &Exec,
    bird_path: &Path,
    nft_mode: nft::Listing,
    sysctls: &[(ir::IfName, ir::IfaceSysctl)],
    parts: Parts,
) -> Result<(State, Facts), Error> {
    // The readers are independent processes (each `ip netns exec …` costs
    // tens of milliseconds to start): run them side by side. Only the
    // neighbour and FDB readers wait for the link list (they ask per device).
    let (links_r, routes, nft, iptables, bird, sysctls) = std::thread::scope(|sc| {
        use netc_ir::timing::timed;
        let routes = parts
            .routes
            .then(|| sc.spawn(|| timed("read routes", || routes::read(exec))));
        let sysctls = parts
            .sysctls
            .then(|| sc.spawn(|| timed("read sysctls", || sysctl::read(exec, sysctls))));
        let nft = (parts.firewall && nft_mode != nft::Listing::Skip)
            .then(|| sc.spawn(|| timed("read nft", || nft::read_listing(exec, nft_mode))));
        let ipt = parts
            .firewall
            .then(|| sc.spawn(|| timed("read iptables", || iptables::read(exec))));
        let bird = parts.bird.then(|| sc.spawn(|| bird::read(bird_path)));
        let links_r = if !parts.links {
            Ok(Default::default())
        } else {
            timed("read links", || links::read(exec)).and_then(|(links, addresses, mut facts)| {
                let owned: Vec<&netc_ir::IfName> = links.iter().map(|l| &l.name).collect();
                let (neighbors, fdb) = std::thread::scope(|sc2| {
                    let fdb = sc2.spawn(|| timed("read fdb", || neigh::read_fdb(exec, &owned)));
                    let n = timed("read neighbours", || neigh::read_neighbors(exec, &owned));
                    (n, join(fdb))
                });
                for (dev, routes) in facts.foreign_links.iter_mut() {
                    *routes = routes::read_through(exec, dev)?;
                }
                Ok((links, addresses, facts, neighbors?, fdb?))
            })
        };
        (
            links_r,
            join_or_default(routes),
            join_or_default(nft),
            join_or_default(ipt),
            join_or_default(bird),
            join_or_default(sysctls),
        )
    });
    let (links, addresses, facts, neighbors, fdb) = links_r?;
    let (routes, nft, iptables, bird, sysctls) = (routes?, nft?, iptables?, bird?, sysctls?);
    Ok((
        State {
            links,
            addresses,
            neighbors,
            fdb,
            routes,
            nft,
            iptables,
            bird,
            sysctls,
        },
        facts,
    ))
}

impl State {
    /// The workload interface parameters this state names: what to read
    /// from a live target to compare it with this one.
    /// The tunnel devices `keep` names, with what hangs on them — their
    /// addresses, neighbours and FDB entries — and nothing else.
    pub fn devices_only(&self, keep: impl Fn(&str) -> bool) -> State {
        State {
            links: self
                .links
                .iter()
                .filter(|l| keep(l.name.as_str()))
                .cloned()
                .collect(),
            addresses: self
                .addresses
                .iter()
                .filter(|a| keep(a.dev.as_str()))
                .cloned()
                .collect(),
            neighbors: self
                .neighbors
                .iter()
                .filter(|n| keep(n.dev.as_str()))
                .cloned()
                .collect(),
            fdb: self
                .fdb
                .iter()
                .filter(|f| keep(f.dev.as_str()))
                .cloned()
                .collect(),
            ..State::default()
        }
    }

    pub fn sysctl_keys(&self) -> Vec<(ir::IfName, ir::IfaceSysctl)> {
        self.sysctls
            .iter()
            .map(|v| (v.dev.clone(), v.sysctl))
            .collect()
    }

    /// Fingerprint of the live state, for saved plans: SHA-256 over the
    /// normalised state. The BIRD file enters masked plus its inode, size and
    /// mtime, so a plan file never carries a hash of a secret yet any rewrite
    /// of the file makes the plan stale.
    pub fn fingerprint(&self) -> String {
        let mut copy = self.clone();
        copy.nft.clear_volatile();
        if let Some(f) = copy.bird.file.as_mut() {
            f.contents = netc_targets::mask::mask_secrets(&f.contents);
        }
        let json = serde_json::to_string(&copy).unwrap_or_default();
        format!(
            "sha256:{}",
            netc_ir::digest::sha256_hex(json.as_bytes(), 32)
        )
    }
}

/// A reader that ran, joined; one that did not, its empty value.
fn join_or_default<T: Default>(
    h: Option<std::thread::ScopedJoinHandle<'_, Result<T, Error>>>,
) -> Result<T, Error> {
    h.map_or_else(|| Ok(T::default()), join)
}

/// The result of a reader thread; a reader that panicked is an error, not a
/// panic of the caller.
fn join<T>(h: std::thread::ScopedJoinHandle<'_, Result<T, Error>>) -> Result<T, Error> {
    h.join()
        .unwrap_or_else(|_| Err(Error::parse("a state reader", "panicked".to_string())))
}
