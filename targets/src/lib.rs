//! netc's back ends: each module translates the per-node IR into one
//! artifact, in the syntax of the tool that consumes it. Emitters are pure
//! functions of the IR — no I/O, no clock — so equal input gives
//! byte-identical output. They never re-derive decisions from resources.
//!
//! | module       | artifact         | checked with              |
//! |--------------|------------------|---------------------------|
//! | [`nftables`] | `nftables.nft`   | `nft -c -f`               |
//! | [`iptables`] | `iptables.rules` | `iptables-restore --test` |
//! | [`iptables`] | `ip6tables.rules`| `ip6tables-restore --test`|
//! | [`routes`]   | `routes.batch`   | `ip -batch` in a netns    |
//! | [`tunnels`]  | `tunnels.batch`  | `ip -batch` in a netns    |
//! | [`tunnels`]  | `fdb.batch`      | `bridge -batch` in a netns|
//! | [`bird`]     | `bird.conf`      | `bird -p -c`              |

pub mod bird;
pub mod iproute;
pub mod iptables;
pub mod mask;
pub mod nftables;
pub mod routes;
pub mod tunnels;

use netc_ir::{HostIr, SecretRef};
use std::collections::BTreeMap;

/// Every artifact netc writes for a node. The one place an artifact is
/// registered: its file name, the tool that consumes it and its emitter.
/// Adding an artifact is a variant here plus its module (ARCHITECTURE.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ArtifactKind {
    Tunnels,
    Fdb,
    Routes,
    Nftables,
    Iptables,
    Ip6tables,
    Bird,
}

/// Every emitter has this signature; only BIRD reads secrets.
type Emitter = fn(&HostIr, &dyn Secrets) -> Result<String, EmitError>;

impl ArtifactKind {
    /// In the order `netc build` writes them (and apply's dependency order).
    pub const ALL: [ArtifactKind; 7] = [
        ArtifactKind::Tunnels,
        ArtifactKind::Fdb,
        ArtifactKind::Routes,
        ArtifactKind::Nftables,
        ArtifactKind::Iptables,
        ArtifactKind::Ip6tables,
        ArtifactKind::Bird,
    ];

    pub const fn file_name(self) -> &'static str {
        match self {
            ArtifactKind::Tunnels => "tunnels.batch",
            ArtifactKind::Fdb => "fdb.batch",
            ArtifactKind::Routes => "routes.batch",
            ArtifactKind::Nftables => "nftables.nft",
            ArtifactKind::Iptables => "iptables.rules",
            ArtifactKind::Ip6tables => "ip6tables.rules",
            ArtifactKind::Bird => "bird.conf",
        }
    }

    pub fn from_file_name(name: &str) -> Option<ArtifactKind> {
        Self::ALL.into_iter().find(|k| k.file_name() == name)
    }

    /// The program that reads the artifact (and checks it in the tests).
    pub const fn consumer(self) -> &'static str {
        match self {
            ArtifactKind::Tunnels | ArtifactKind::Routes => "ip",
            ArtifactKind::Fdb => "bridge",
            ArtifactKind::Nftables => "nft",
            ArtifactKind::Iptables => "iptables-restore",
            ArtifactKind::Ip6tables => "ip6tables-restore",
            ArtifactKind::Bird => "bird",
        }
    }

    fn emitter(self) -> Emitter {
        match self {
            ArtifactKind::Tunnels => |ir, _| Ok(tunnels::emit(ir)),
            ArtifactKind::Fdb => |ir, _| Ok(tunnels::emit_fdb(ir)),
            ArtifactKind::Routes => |ir, _| Ok(routes::emit(ir)),
            ArtifactKind::Nftables => |ir, _| Ok(nftables::emit(ir)),
            ArtifactKind::Iptables => |ir, _| Ok(iptables::emit(ir)),
            ArtifactKind::Ip6tables => |ir, _| Ok(iptables::emit_v6(ir)),
            ArtifactKind::Bird => bird::emit,
        }
    }

    /// Emit this artifact for `ir`.
    pub fn emit(self, ir: &HostIr, secrets: &dyn Secrets) -> Result<Artifact, EmitError> {
        let _t = netc_ir::timing::phase_of("emit", self.file_name());
        Ok(Artifact {
            kind: self,
            contents: (self.emitter())(ir, secrets)?,
            sensitive: self == ArtifactKind::Bird && bird::has_password(ir),
        })
    }
}

impl std::fmt::Display for ArtifactKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.file_name())
    }
}

/// One emitted file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Artifact {
    pub kind: ArtifactKind,
    pub contents: String,
    /// Holds a secret: write with mode 0600 and mask in plans.
    pub sensitive: bool,
}

impl Artifact {
    pub fn file_name(&self) -> &'static str {
        self.kind.file_name()
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EmitError {
    #[error("secret `{name}` key `{key}` is referenced by BGP session {session} but was not provided (pass --secrets FILE)")]
    MissingSecret {
        name: String,
        key: String,
        session: String,
    },
    #[error("template error in {0}: {1}")]
    Template(&'static str, String),
}

/// Resolves secret references at emit time. Values never enter the IR.
pub trait Secrets {
    fn get(&self, r: &SecretRef) -> Option<String>;
}

/// Secrets from a map `name → key → value` (the `--secrets` file).
#[derive(Clone, Debug, Default)]
pub struct SecretMap(pub BTreeMap<String, BTreeMap<String, String>>);

impl Secrets for SecretMap {
    fn get(&self, r: &SecretRef) -> Option<String> {
        self.0.get(&r.name).and_then(|m| m.get(&r.key)).cloned()
    }
}

/// Emit every artifact of one node, in [`ArtifactKind::ALL`] order.
pub fn emit_all(ir: &HostIr, secrets: &(dyn Secrets + Sync)) -> Result<Vec<Artifact>, EmitError> {
    emit(ir, secrets, &ArtifactKind::ALL)
}

/// Emit only `kinds` (apply needs neither the unused firewall backend nor
/// anything else it will not write).
pub fn emit(
    ir: &HostIr,
    secrets: &(dyn Secrets + Sync),
    kinds: &[ArtifactKind],
) -> Result<Vec<Artifact>, EmitError> {
    // Each artifact is its own translation of the IR: on all cores (the
    // firewall emitters dominate on a large node), in `kinds` order.
    use rayon::prelude::*;
    kinds.par_iter().map(|k| k.emit(ir, secrets)).collect()
}
