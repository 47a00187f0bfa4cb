//! Shared code of netc's fuzz targets: the YAML → artifacts pipeline with
//! its invariants, in-process artifact checks ([`check`]), the
//! structure-aware cluster generator ([`gen`]) and the real-tool checks
//! ([`tools`]).

pub mod check;
pub mod gen;
pub mod tools;

use netc_compiler::alloc;
use netc_compiler::diag::Renderer;
use netc_compiler::lower::{Cluster, LowerError};
use netc_compiler::validate::{self, ValidModel};
use netc_compiler::{load, SourceMap};
use netc_ir::SecretRef;
use netc_targets::{ArtifactKind, EmitError, Secrets};

/// Every secret resolves, to a value BIRD can hold: a session with a
/// password is emitted rather than refused.
pub struct FuzzSecrets;

impl Secrets for FuzzSecrets {
    fn get(&self, _r: &SecretRef) -> Option<String> {
        Some("fuzz-s3cret".to_string())
    }
}

/// Load and validate `text` as file `fuzz.yaml`; render every diagnostic and
/// check its span lies in the file.
pub fn validate_text(text: &str) -> Option<ValidModel> {
    let mut sm = SourceMap::new();
    let id = sm.add("fuzz.yaml", text);
    let (raws, load_diags) = load::load_source(id, &sm);
    let (model, diags) = validate::validate(raws);
    let r = Renderer::new(&sm);
    for d in load_diags.iter().chain(&diags.items) {
        if let Some(s) = d.span {
            assert!(s.offset <= text.len(), "span past end of file: {d:?}");
        }
        let _ = r.render(d);
    }
    model
}

/// One node's output: its IR as JSON and its artifacts.
#[derive(Debug, PartialEq, Eq)]
pub struct NodeOut {
    pub name: String,
    pub ir_json: String,
    pub artifacts: Vec<(ArtifactKind, String)>,
}

/// The whole pipeline on `text`: load → validate → allocate → lower every
/// node → emit every artifact. `None` when the input is rejected (a
/// diagnostic or an exhausted pool); panics on a bug: a lowering error after
/// validation, an IR that fails [`netc_ir::Firewall::check`], an emitter
/// error other than a missing secret, or an artifact failing [`check`].
pub fn compile(text: &str) -> Option<Vec<NodeOut>> {
    let model = validate_text(text)?;
    let lock = alloc::allocate(&model, None).ok()?;
    // The lock round-trips through its file format, and allocating again
    // with it as the previous lock changes nothing.
    let lock_text = lock.to_text();
    let again = alloc::Lock::parse(&lock_text).expect("netc.lock does not parse back");
    assert_eq!(again, lock, "netc.lock round trip");
    let realloc = alloc::allocate(&model, Some(&again)).expect("reallocation with the lock");
    assert_eq!(realloc, lock, "allocation is not stable under its own lock");
    let cluster = Cluster::new(&model, &lock);
    let mut out = Vec::new();
    for n in &cluster.nodes {
        let ir = match cluster.lower_node(&n.name) {
            Ok(ir) => ir,
            Err(e @ (LowerError::Internal(_) | LowerError::Ir(_))) => {
                panic!("lowering a validated model failed for node {}: {e}", n.name)
            }
            Err(LowerError::UnknownNode(m)) => panic!("cluster node {m} unknown to lowering"),
        };
        ir.firewall
            .check()
            .unwrap_or_else(|e| panic!("IR of {} fails Firewall::check: {e}", n.name));
        let mut artifacts = Vec::new();
        for kind in ArtifactKind::ALL {
            match kind.emit(&ir, &FuzzSecrets) {
                Ok(a) => {
                    check::artifact(kind, &a.contents);
                    artifacts.push((kind, a.contents));
                }
                Err(e @ EmitError::MissingSecret { .. }) => panic!("{kind}: {e}"),
                Err(e) => panic!("{kind} for node {}: emitter refused the IR: {e}", n.name),
            }
        }
        let ir_json = serde_json::to_string_pretty(&ir).expect("IR serialises");
        // ir.json is read back (plans of saved output): it must round-trip.
        let back: netc_ir::HostIr = serde_json::from_str(&ir_json)
            .unwrap_or_else(|e| panic!("ir.json of {} does not parse back: {e}", n.name));
        assert!(back == ir, "ir.json of {} does not round-trip", n.name);
        out.push(NodeOut {
            name: n.name.clone(),
            ir_json,
            artifacts,
        });
    }
    Some(out)
}

/// [`compile`] twice: the output must be byte-identical.
pub fn compile_deterministic(text: &str) -> Option<Vec<NodeOut>> {
    let a = compile(text);
    let b = compile(text);
    assert!(a == b, "two compiles of the same input differ");
    a
}
