//! A cache of one node's compile, for `plan`, `apply` and `status`.
//!
//! A drift check (`netc plan --detailed-exitcode` from a timer) compiles
//! the same input again and again; for a 1,000-node cluster that is most of
//! a no-change plan's time (BENCHMARKS.md). The key covers everything the
//! node's IR depends on: every input file (path and bytes), netc.lock, the
//! node, the firewall backend and this netc binary (version, size and
//! modification time, so a rebuilt binary never reads an older one's
//! entry). The entry holds the IR, the route reflectors `status` needs, the
//! diagnostics as rendered text and the artifacts that hold no secret (the
//! firewall's emit is a quarter of a no-change plan on a large node); an
//! artifact with a secret (bird.conf with a password) is emitted again from
//! the IR, so no secret value is ever written to the cache (the IR holds
//! secret *references*). The IR's firewall (most of a large node's IR: its
//! rules and address sets) is kept in a file of its own, written and read
//! only by a compile for a saved plan (`netc plan --out` saves the whole
//! IR): with the artifacts cached, nothing else a plan, an apply or
//! `status` does needs it. An entry is written only for input
//! without errors whose netc.lock is current. Entries live in netc's state
//! directory with the canonical-form cache (`netc_host::cache`); a missing
//! or unreadable one only costs a compile.

use netc_ir::HostIr;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Bumped when the entry's shape or meaning changes.
const FORMAT: &str = "compile-3";

/// An entry as read; written as [`EntryRef`] (the same fields, borrowed).
#[derive(Deserialize)]
pub struct Entry {
    /// The node's IR without its firewall (see [`load_firewall`]).
    pub ir: HostIr,
    pub route_reflectors: BTreeSet<String>,
    /// The input's diagnostics (warnings, notes), rendered without colour.
    pub diagnostics: String,
    /// Emitted artifacts without secrets, by file name.
    pub artifacts: Vec<(String, String)>,
}

impl Entry {
    /// The node's artifacts of `kinds`: cached ones as they are, the others
    /// (those holding a secret) emitted again.
    pub fn artifacts(
        &self,
        kinds: &[netc_targets::ArtifactKind],
        secrets: &(dyn netc_targets::Secrets + Sync),
    ) -> Result<Vec<netc_targets::Artifact>, netc_targets::EmitError> {
        kinds
            .iter()
            .map(
                |k| match self.artifacts.iter().find(|(f, _)| f == k.file_name()) {
                    Some((_, contents)) => Ok(netc_targets::Artifact {
                        kind: *k,
                        contents: contents.clone(),
                        sensitive: false,
                    }),
                    None => k.emit(&self.ir, secrets),
                },
            )
            .collect()
    }
}

/// The cache key for compiling `node` from `paths`, or None when the input
/// cannot be keyed (stdin, an unreadable file: compile and report instead).
pub fn key(paths: &[PathBuf], node: &str, backend: &str, lock_path: &Path) -> Option<String> {
    let paths = if paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        paths.to_vec()
    };
    if paths.iter().any(|p| p.as_os_str() == "-") {
        return None;
    }
    let files = netc_compiler::load::collect_files(&paths).ok()?;
    let mut h = netc_ir::digest::Parts::new();
    h.add(FORMAT.as_bytes())
        .add(binary_id()?.as_bytes())
        .add(node.as_bytes())
        .add(backend.as_bytes());
    for f in &files {
        h.add(f.as_os_str().as_encoded_bytes())
            .add(&std::fs::read(f).ok()?);
    }
    match std::fs::read(lock_path) {
        Ok(b) => h.add(&b),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => h.add(b"(no lock)"),
        Err(_) => return None,
    };
    Some(format!("compile-{}", h.hex(16)))
}

/// This netc binary: its version, size and modification time, so that a
/// rebuilt binary never reads an older one's entries.
pub fn binary_id() -> Option<String> {
    let exe = std::env::current_exe()
        .ok()
        .and_then(|p| std::fs::metadata(p).ok())?;
    let mtime = exe
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_nanos();
    Some(format!(
        "{}:{}:{mtime}",
        env!("CARGO_PKG_VERSION"),
        exe.len()
    ))
}

/// The entry under `key`, when it holds every artifact of `kinds` but
/// BIRD's (the IR in it has no firewall to emit one from; a bird.conf with a
/// password is emitted again from the IR's BGP part).
pub fn load(key: &str, kinds: &[netc_targets::ArtifactKind]) -> Option<Entry> {
    let e: Entry = netc_host::cache::load(key)?;
    let complete = kinds.iter().all(|k| {
        *k == netc_targets::ArtifactKind::Bird
            || e.artifacts.iter().any(|(f, _)| f == k.file_name())
    });
    complete.then_some(e)
}

fn firewall_key(key: &str) -> String {
    format!("{key}-firewall")
}

/// The firewall of the IR cached under `key`; None when it is gone or does
/// not hold together (a miss, not an error).
pub fn load_firewall(key: &str) -> Option<netc_ir::Firewall> {
    let f: netc_ir::Firewall = netc_host::cache::load(&firewall_key(key))?;
    f.check().ok()?;
    Some(f)
}

/// [`Entry`] as written: borrowed, so storing copies nothing (a large
/// node's IR is tens of MiB in memory).
#[derive(Serialize)]
struct EntryRef<'a> {
    ir: &'a HostIr,
    route_reflectors: &'a BTreeSet<String>,
    diagnostics: &'a str,
    artifacts: &'a [(&'a str, &'a str)],
}

/// Store a compile: the IR's firewall apart, then the entry without it
/// (`ir` is the same again on return).
///
/// The firewall is written only when `with_firewall` (a compile for a saved
/// plan, which needs it): serialising a large node's rules and address sets
/// cost a cold plan or apply 25 ms and 19 MiB of peak memory at 10,000
/// rules, for a file nothing else reads. A saved plan from an entry
/// without it compiles again (and stores it).
pub fn store(
    key: &str,
    ir: &mut HostIr,
    route_reflectors: &BTreeSet<String>,
    diagnostics: &str,
    artifacts: &[(&str, &str)],
    with_firewall: bool,
) {
    let _t = netc_ir::timing::phase("compile cache store");
    let firewall = std::mem::take(&mut ir.firewall);
    if with_firewall {
        netc_host::cache::store(&firewall_key(key), &firewall);
    }
    netc_host::cache::store(
        key,
        &EntryRef {
            ir,
            route_reflectors,
            diagnostics,
            artifacts,
        },
    );
    ir.firewall = firewall;
}
