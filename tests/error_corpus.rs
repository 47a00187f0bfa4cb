//! Error corpus: one small input per validation rule, under tests/errors/.
//!
//! Each `tests/errors/NNN-what.yaml` starts with hand-written expectations,
//! one comment line per diagnostic the file must produce:
//!
//! ```text
//! # expect: E0301 11:9
//! ```
//!
//! (code, then line:column of the primary span). `# expect: none` marks a
//! file that must produce no diagnostic at all. The test loads each file the
//! way `netc validate` does (load → schema → semantic checks), and
//!
//! 1. asserts that the set of (code, line, column) is exactly the expected
//!    set — these lines are never rewritten by blessing;
//! 2. compares the full rendered text of every diagnostic with
//!    `tests/errors/NNN-what.expected`, showing a unified diff on mismatch.
//!
//! `NETC_BLESS=1 cargo test --test error_corpus` rewrites the `.expected`
//! files (step 2 only); read the diff as a reviewer before committing.

use netc_compiler::diag::{codes, Renderer};
use netc_compiler::{load, validate, Diagnostic, SourceMap};
use netc_test_support::bless;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("errors")
}

fn corpus_files() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .expect("tests/errors/ exists")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("yaml"))
        .collect();
    v.sort();
    v
}

type Expect = BTreeSet<(String, u32, u32)>;

/// Parse the leading `# expect:` lines. Returns the expected set, or an error
/// describing a malformed header.
fn expectations(text: &str) -> Result<Expect, String> {
    let mut set = Expect::new();
    let mut saw_any = false;
    for (i, line) in text.lines().enumerate() {
        let Some(comment) = line.strip_prefix('#') else {
            break;
        };
        let Some(rest) = comment.trim().strip_prefix("expect:") else {
            continue;
        };
        saw_any = true;
        let rest = rest.trim();
        if rest == "none" {
            continue;
        }
        let mut parts = rest.split_whitespace();
        let (Some(code), Some(pos), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(format!(
                "line {}: expected `# expect: CODE LINE:COL`, got `{line}`",
                i + 1
            ));
        };
        let Some((l, c)) = pos.split_once(':') else {
            return Err(format!("line {}: position `{pos}` is not LINE:COL", i + 1));
        };
        let (Ok(l), Ok(c)) = (l.parse::<u32>(), c.parse::<u32>()) else {
            return Err(format!("line {}: position `{pos}` is not LINE:COL", i + 1));
        };
        if codes::lookup(code).is_none() {
            return Err(format!("line {}: `{code}` is not a diagnostic code", i + 1));
        }
        if !set.insert((code.to_string(), l, c)) {
            return Err(format!("line {}: `{code} {pos}` is listed twice", i + 1));
        }
    }
    if !saw_any {
        return Err(
            "no `# expect:` lines at the top of the file (use `# expect: none` for a clean input)"
                .into(),
        );
    }
    Ok(set)
}

/// Load and validate one file as `netc validate` does; returns the
/// diagnostics in their stable order and their rendered text.
fn run(display_name: &str, text: &str) -> (Vec<Diagnostic>, String, bool) {
    let mut sources = SourceMap::new();
    let id = sources.add(display_name, text);
    let (raws, load_diags) = load::load_source(id, &sources);
    let (model, vd) = validate::validate(raws);
    let mut all = netc_compiler::Diagnostics::default();
    all.extend(load_diags);
    all.extend(vd.items);
    all.sort();
    let renderer = Renderer::new(&sources);
    let rendered: String = all.items.iter().map(|d| renderer.render(d)).collect();
    (all.items, rendered, model.is_some())
}

fn diff(expected: &str, actual: &str) -> String {
    similar::TextDiff::from_lines(expected, actual)
        .unified_diff()
        .context_radius(3)
        .header("expected", "actual")
        .to_string()
}

#[test]
fn error_corpus() {
    let files = corpus_files();
    assert!(
        !files.is_empty(),
        "no corpus files under {}",
        corpus_dir().display()
    );
    let mut failures = Vec::new();
    for path in &files {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("?")
            .to_string();
        let display = format!("tests/errors/{name}");
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                failures.push(format!("{display}: cannot read: {e}"));
                continue;
            }
        };
        let expected = match expectations(&text) {
            Ok(e) => e,
            Err(e) => {
                failures.push(format!("{display}: {e}"));
                continue;
            }
        };
        let (diags, rendered, _) = run(&display, &text);
        let actual: Expect = diags
            .iter()
            .map(|d| {
                let (l, c) = d.span.map(|s| (s.line, s.col)).unwrap_or((0, 0));
                (d.code.to_string(), l, c)
            })
            .collect();
        if actual != expected {
            let fmt = |s: &Expect| {
                s.iter()
                    .map(|(c, l, col)| format!("  # expect: {c} {l}:{col}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            failures.push(format!(
                "{display}: diagnostics differ from the `# expect` lines\n expected:\n{}\n actual:\n{}\n rendered:\n{rendered}",
                fmt(&expected),
                fmt(&actual)
            ));
            continue;
        }
        let golden = path.with_extension("expected");
        if bless() {
            if let Err(e) = std::fs::write(&golden, &rendered) {
                failures.push(format!("{}: cannot write: {e}", golden.display()));
            }
            continue;
        }
        match std::fs::read_to_string(&golden) {
            Ok(want) if want == rendered => {}
            Ok(want) => failures.push(format!(
                "{display}: rendered diagnostics differ from {} (NETC_BLESS=1 to accept)\n{}",
                golden.file_name().and_then(|n| n.to_str()).unwrap_or("?"),
                diff(&want, &rendered)
            )),
            Err(_) => failures.push(format!(
                "{display}: {} is missing (run with NETC_BLESS=1 and review it)",
                golden.display()
            )),
        }
    }
    // Stale goldens: an .expected without its .yaml.
    if let Ok(rd) = std::fs::read_dir(corpus_dir()) {
        for e in rd.flatten() {
            let p = e.path();
            if p.extension().and_then(|e| e.to_str()) == Some("expected")
                && !p.with_extension("yaml").exists()
            {
                failures.push(format!("{}: no matching .yaml", p.display()));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} corpus files failed:\n\n{}",
        failures.len(),
        files.len(),
        failures.join("\n\n")
    );
}

/// Every semantic code (names, pools, BGP, nodes, policy, endpoints) has at
/// least one corpus file that expects it.
#[test]
fn every_semantic_code_is_in_the_corpus() {
    let mut seen = BTreeSet::new();
    for path in corpus_files() {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        if let Ok(e) = expectations(&text) {
            seen.extend(e.into_iter().map(|(c, _, _)| c));
        }
    }
    let missing: Vec<&str> = codes::ALL
        .iter()
        .map(|c| c.code)
        .filter(|c| {
            // E00xx (loading) and E01xx (schema) are covered by their own tests.
            let semantic = !(c.starts_with("E00") || c.starts_with("E01"));
            semantic && !seen.contains(*c)
        })
        .collect();
    assert!(
        missing.is_empty(),
        "codes with no corpus file: {}",
        missing.join(", ")
    );
}

/// A realistic multi-resource desired state validates with no diagnostic.
#[test]
fn clean_cluster_has_no_diagnostics() {
    let path = corpus_dir().join("000-clean-cluster.yaml");
    let text = std::fs::read_to_string(&path).expect("000-clean-cluster.yaml");
    let (diags, rendered, valid) = run("tests/errors/000-clean-cluster.yaml", &text);
    assert!(
        diags.is_empty(),
        "expected no diagnostics, got:\n{rendered}"
    );
    assert!(valid, "the model should validate");
}

/// The expectation parser itself.
#[test]
fn expectation_header() {
    let e =
        expectations("# expect: E0301 3:9\n# expect: W0311 4:1\nkind: x\n# expect: E0000 1:1\n")
            .expect("parses");
    assert_eq!(e.len(), 2);
    assert!(expectations("kind: x\n").is_err());
    assert!(expectations("# expect: E0301 3\n").is_err());
    assert!(expectations("# expect: X9999 3:1\n").is_err());
    assert_eq!(expectations("# expect: none\n").map(|e| e.len()), Ok(0));
}
