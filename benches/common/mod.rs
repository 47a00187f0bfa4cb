//! Helpers the benchmarks share (`mod common;` in each bench).

use std::path::PathBuf;
use std::time::Instant;

/// The baseline every load benchmark is measured against: parsing the same
/// files with serde_yaml into untyped values — the least any YAML tool must
/// do. Seconds.
pub fn baseline_parse(files: &[PathBuf]) -> f64 {
    let t = Instant::now();
    let mut docs = 0usize;
    for f in files {
        let text = std::fs::read_to_string(f).expect("read");
        for d in serde_yaml::Deserializer::from_str(&text) {
            let v: serde_yaml::Value = serde::Deserialize::deserialize(d).expect("yaml");
            docs += usize::from(!v.is_null());
        }
    }
    assert!(docs > 0);
    t.elapsed().as_secs_f64()
}

/// netc's load and validate of `files`, which must hold no error: the
/// model, seconds, and the codes of the diagnostics it gave.
pub fn load_validate(files: &[PathBuf]) -> (netc_compiler::validate::ValidModel, f64, Vec<String>) {
    let t = Instant::now();
    let mut sources = netc_compiler::SourceMap::new();
    let (raws, diags) = netc_compiler::load::load_files(files, &mut sources);
    assert!(diags.iter().all(|d| !d.is_error()), "{:?}", diags.first());
    let (model, d) = netc_compiler::validate::validate(raws);
    let elapsed = t.elapsed().as_secs_f64();
    let model = model.unwrap_or_else(|| {
        let r = netc_compiler::diag::Renderer::new(&sources);
        panic!("generated input invalid: {}", r.render(&d.items[0]))
    });
    let codes = diags
        .iter()
        .chain(d.items.iter())
        .map(|d| d.code.to_string())
        .collect();
    (model, elapsed, codes)
}

/// Statements inside chains of an nftables file: lines that are not structure.
pub fn count_nft_rules(s: &str) -> usize {
    let mut in_chain = false;
    let mut n = 0;
    for l in s.lines() {
        let t = l.trim();
        if t.starts_with("chain ") {
            in_chain = true;
        } else if t == "}" {
            in_chain = false;
        } else if in_chain
            && !t.is_empty()
            && !t.starts_with("type ")
            && !t.starts_with("policy ")
            && !t.starts_with('#')
        {
            n += 1;
        }
    }
    n
}
