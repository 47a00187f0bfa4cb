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

/// One emitted file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Artifact {
    pub file_name: &'static str,
    pub contents: String,
    /// Holds a secret: write with mode 0600 and mask in plans.
    pub sensitive: bool,
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

/// File names, in the order `netc build` writes them.
pub const ARTIFACT_FILES: &[&str] = &[
    "tunnels.batch",
    "fdb.batch",
    "routes.batch",
    "nftables.nft",
    "iptables.rules",
    "ip6tables.rules",
    "bird.conf",
];

/// Emit every artifact of one node.
pub fn emit_all(ir: &HostIr, secrets: &dyn Secrets) -> Result<Vec<Artifact>, EmitError> {
    let bird = bird::emit(ir, secrets)?;
    Ok(vec![
        Artifact {
            file_name: "tunnels.batch",
            contents: tunnels::emit(ir),
            sensitive: false,
        },
        Artifact {
            file_name: "fdb.batch",
            contents: tunnels::emit_fdb(ir),
            sensitive: false,
        },
        Artifact {
            file_name: "routes.batch",
            contents: routes::emit(ir),
            sensitive: false,
        },
        Artifact {
            file_name: "nftables.nft",
            contents: nftables::emit(ir),
            sensitive: false,
        },
        Artifact {
            file_name: "iptables.rules",
            contents: iptables::emit(ir),
            sensitive: false,
        },
        Artifact {
            file_name: "ip6tables.rules",
            contents: iptables::emit_v6(ir),
            sensitive: false,
        },
        bird,
    ])
}
