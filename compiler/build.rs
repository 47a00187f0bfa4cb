//! Bundles the JSON Schemas under `schemas/` for embedding: each
//! `<kind>.schema.json` with the `common.schema.json` definitions it uses
//! inlined (compiler/src/schema/bundle.rs), written to `$OUT_DIR`, where
//! `compiler/src/schema.rs` includes them. A schema that does not bundle is a
//! build error.

#[path = "src/schema/bundle.rs"]
#[allow(dead_code)]
mod bundle;

use std::path::{Path, PathBuf};

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn read_json(path: &Path) -> Result<serde_json::Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: not JSON: {e}", path.display()))
}

fn run() -> Result<(), String> {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").map_err(|e| e.to_string())?);
    let out = PathBuf::from(std::env::var("OUT_DIR").map_err(|e| e.to_string())?);
    let dir = manifest.join("../schemas");
    println!("cargo:rerun-if-changed={}", dir.display());
    println!("cargo:rerun-if-changed=src/schema/bundle.rs");
    let common = read_json(&dir.join(bundle::COMMON_FILE))?;
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for path in entries {
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if !name.ends_with(".schema.json") || name == bundle::COMMON_FILE {
            continue;
        }
        println!("cargo:rerun-if-changed={}", path.display());
        let kind = read_json(&path)?;
        let bundled =
            bundle::bundle(&kind, &common).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut text = serde_json::to_string_pretty(&bundled).map_err(|e| e.to_string())?;
        text.push('\n');
        std::fs::write(out.join(name), text).map_err(|e| format!("{name}: {e}"))?;
    }
    Ok(())
}
