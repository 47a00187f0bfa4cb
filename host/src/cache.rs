//! A cache of canonicalised firewalls, so that the scratch-namespace load
//! and listing (seconds for a large ruleset) is paid once per emitted file,
//! not on every plan.
//!
//! Key: SHA-256 over the artifact, the `nft` version and the kernel
//! release — everything the canonical listing depends on — and the shape
//! of the cached state. Files live in
//! `/var/lib/netc/cache/` (0700; `NETC_STATE_DIR` moves the root); the 16
//! most recent are kept, and always the entries some target's
//! `nft-applied` names. Per target, `nft-applied` names the entry netc
//! loaded last, so the text listing of a live table that still equals it
//! need not be read again, and the next table can be predicted from it
//! (see `session`). A missing or unreadable entry only costs time: the
//! cache is never trusted for anything else.

use crate::target::Target;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::path::PathBuf;

const KEEP: usize = 16;

/// The shape of cached entries; part of the key, so an entry written by a
/// netc that stored another shape is never read.
const FORMAT: &str = "2";

fn dir() -> PathBuf {
    crate::target::state_root().join("cache")
}

/// The cache key of an artifact of `kind` (`nft`).
pub fn key(kind: &str, artifact: &str) -> String {
    let version = crate::exec::run(kind, &["--version"], None)
        .map(|o| o.stdout)
        .unwrap_or_default();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mut h = netc_ir::digest::Parts::new();
    for part in [FORMAT, kind, &version, &kernel, artifact] {
        h.add(part.as_bytes());
    }
    format!("{kind}-{}", h.hex(16))
}

/// Where the artifact text of the canonical state under `key` is kept.
pub fn artifact_key(key: &str) -> String {
    format!("{key}-artifact")
}

/// Where the kernel digests of the canonical state under `key` are kept
/// (`NftState::kernel_digests`).
pub fn kernel_key(key: &str) -> String {
    format!("{key}-kernel")
}

pub fn load<T: DeserializeOwned>(key: &str) -> Option<T> {
    let text = std::fs::read_to_string(dir().join(format!("{key}.json"))).ok()?;
    serde_json::from_str(&text).ok()
}

pub fn store<T: Serialize>(key: &str, value: &T) {
    if let Ok(text) = serde_json::to_string(value) {
        store_text(key, &text);
    }
}

/// [`store`] of a value already written as JSON (`serde_json::to_string`).
pub fn store_text(key: &str, text: &str) {
    let d = dir();
    if crate::confirm::write_cache(&d.join(format!("{key}.json")), text).is_err() {
        return;
    }
    // Keep the most recent entries only, and those of the tables netc
    // applied last on each target: plans of other inputs (a drift check on
    // every commit) would otherwise push them out, and with them the
    // predictions and the cheap listing of the tables in place.
    let applied = applied_everywhere();
    keep_newest(&d, KEEP, |name| {
        let key = name.strip_suffix(".json").unwrap_or(name);
        let key = key.strip_suffix("-artifact").unwrap_or(key);
        let key = key.strip_suffix("-kernel").unwrap_or(key);
        applied.iter().any(|a| a == key)
    });
}

/// Remove all but the `keep` most recently modified files of `dir`;
/// files whose name `spare` accepts are neither removed nor counted.
pub fn keep_newest(dir: &std::path::Path, keep: usize, spare: impl Fn(&str) -> bool) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut files: Vec<(std::time::SystemTime, PathBuf)> = rd
        .flatten()
        .filter(|e| !spare(&e.file_name().to_string_lossy()))
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    if files.len() > keep {
        files.sort();
        for (_, p) in &files[..files.len() - keep] {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Remember which entry was loaded into the target last.
pub fn remember_applied(t: &Target, key: &str) {
    let _ = crate::confirm::write_private(&t.state_dir().join("nft-applied"), key);
}

/// The entries every target's `nft-applied` names (the state root holds a
/// directory per target).
fn applied_everywhere() -> Vec<String> {
    let Ok(rd) = std::fs::read_dir(crate::target::state_root()) else {
        return Vec::new();
    };
    rd.flatten()
        .filter_map(|e| std::fs::read_to_string(e.path().join("nft-applied")).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

pub fn applied(t: &Target) -> Option<String> {
    std::fs::read_to_string(t.state_dir().join("nft-applied"))
        .ok()
        .map(|s| s.trim().to_string())
}
