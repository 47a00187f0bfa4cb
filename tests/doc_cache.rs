//! Loading a document at a time (`netc_compiler::load::doc_cache`) changes
//! nothing a user sees: over every golden case, every error-corpus file and
//! the shipped example, loading documents one by one without a cache (their
//! marked trees dropped, parsed again for a span), through the cache —
//! entries written (all misses), read back (all hits), and read back after
//! every document moved (the policies that passed their own checks then
//! skipped, `validate::clean`) — gives the same diagnostics, rendered with their
//! file:line:column and source lines, and the same artifacts as one parse
//! of each whole file (`load_source_whole`).

use netc_compiler::diag::Renderer;
use netc_compiler::load::doc_cache::DocStore;
use netc_compiler::{load, validate, SourceMap};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

#[derive(Default)]
struct MemStore {
    entries: Mutex<HashMap<String, String>>,
    hits: AtomicUsize,
}

impl DocStore for MemStore {
    fn get(&self, key: &str) -> Option<String> {
        let e = self.entries.lock().unwrap().get(key).cloned();
        if e.is_some() {
            self.hits.fetch_add(1, Ordering::Relaxed);
        }
        e
    }
    fn put(&self, key: &str, entry: &str) {
        self.entries
            .lock()
            .unwrap()
            .insert(key.to_string(), entry.to_string());
    }
}

/// How a test loads its files.
#[derive(Clone, Copy)]
enum How<'s> {
    /// One parse of each whole file, every tree kept: the reference.
    Whole,
    /// A document at a time, through the store when there is one.
    Documents(Option<&'s dyn DocStore>),
}

/// Rendered diagnostics, and every node's artifacts when the input is valid.
fn run(files: &[(String, String)], how: How) -> (String, Vec<String>) {
    let mut sources = SourceMap::new();
    let ids: Vec<_> = files.iter().map(|(n, t)| sources.add(n, t)).collect();
    let mut all = netc_compiler::Diagnostics::default();
    let mut raws = Vec::new();
    for id in ids {
        let (r, d) = match how {
            How::Whole => load::load_source_whole(id, &sources),
            How::Documents(store) => load::load_source_with(id, &sources, store),
        };
        raws.extend(r);
        all.extend(d);
    }
    // Through the store, validation also remembers which policies passed
    // their own checks and skips them on the later passes.
    let (model, vd) = match how {
        How::Documents(Some(store)) => validate::validate_with(raws, Some(store)),
        _ => validate::validate(raws),
    };
    all.extend(vd.items);
    all.sort();
    let r = Renderer::new(&sources);
    let rendered: String = all.items.iter().map(|d| r.render(d)).collect();
    let artifacts = match model.filter(|_| !all.has_errors()) {
        Some(m) => match netc::compile(&m, None, None, &netc_targets::SecretMap::default()) {
            Ok(c) => c
                .nodes
                .iter()
                .flat_map(|n| {
                    n.artifacts
                        .iter()
                        .map(move |a| format!("{} {}\n{}", n.name, a.file_name(), a.contents))
                })
                .collect(),
            Err(e) => vec![format!("compile error: {e}")],
        },
        None => Vec::new(),
    };
    (rendered, artifacts)
}

fn yaml_files(dir: &Path) -> Vec<(String, String)> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            (n.ends_with(".yaml") || n.ends_with(".yml")) && !n.contains(".secrets.")
        })
        .collect();
    v.sort();
    v.into_iter()
        .map(|p| {
            (
                p.display().to_string(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect()
}

/// Every document moved: two comment lines above the first, and the
/// documents of each file in reverse order.
fn moved(files: &[(String, String)]) -> Vec<(String, String)> {
    files
        .iter()
        .map(|(n, t)| {
            let mut docs: Vec<&str> = t.split("\n---").collect();
            docs.reverse();
            let body = docs
                .iter()
                .map(|d| d.trim_start_matches('\n'))
                .collect::<Vec<_>>()
                .join("\n---\n");
            (n.clone(), format!("# moved\n# down\n---\n{body}\n"))
        })
        .collect()
}

fn corpora() -> Vec<(String, Vec<(String, String)>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    let mut golden: Vec<PathBuf> = std::fs::read_dir(root.join("golden"))
        .unwrap()
        .flatten()
        .map(|e| e.path().join("input"))
        .filter(|p| p.is_dir())
        .collect();
    golden.sort();
    for g in golden {
        out.push((g.display().to_string(), yaml_files(&g)));
    }
    out.push(("examples".into(), yaml_files(&root.join("examples"))));
    for (name, text) in yaml_files(&root.join("tests/errors")) {
        out.push((name.clone(), vec![(name, text)]));
    }
    out
}

/// Fail with the difference, not both outputs whole.
fn same(got: &(String, Vec<String>), want: &(String, Vec<String>), name: &str, when: &str) {
    if got == want {
        return;
    }
    let (g, w) = (
        format!("{}\n{}", got.0, got.1.join("\n")),
        format!("{}\n{}", want.0, want.1.join("\n")),
    );
    let d = similar::TextDiff::from_lines(&w, &g);
    panic!(
        "{name}, {when}: differs from one parse of each whole file (- whole, + this way):\n{}",
        d.unified_diff().context_radius(2)
    );
}

#[test]
fn cached_documents_load_as_parsed_ones() {
    let (mut hits, mut cases) = (0, 0);
    for (name, files) in corpora() {
        let plain = run(&files, How::Whole);
        same(
            &run(&files, How::Documents(None)),
            &plain,
            &name,
            "a document at a time",
        );
        let store = MemStore::default();
        same(
            &run(&files, How::Documents(Some(&store))),
            &plain,
            &name,
            "writing the cache",
        );
        let before = store.hits.load(Ordering::Relaxed);
        same(
            &run(&files, How::Documents(Some(&store))),
            &plain,
            &name,
            "read from the cache",
        );
        hits += store.hits.load(Ordering::Relaxed) - before;
        let m = moved(&files);
        let plain_moved = run(&m, How::Whole);
        same(
            &run(&m, How::Documents(Some(&store))),
            &plain_moved,
            &name,
            "documents moved, read from the cache",
        );
        cases += 1;
    }
    // The comparisons above mean something only if entries were hit.
    assert!(
        hits > cases,
        "{hits} documents read from the cache over {cases} inputs"
    );
}
