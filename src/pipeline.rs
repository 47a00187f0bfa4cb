//! validate → allocate → lower → emit, for every node or one.

use netc_compiler::alloc::{self, AllocError, Lock};
use netc_compiler::lower::{Cluster, LowerError};
use netc_compiler::validate::ValidModel;
use netc_ir::HostIr;
use netc_targets::{Artifact, ArtifactKind, EmitError, SecretMap, Secrets};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Alloc(#[from] AllocError),
    #[error(transparent)]
    Lower(#[from] LowerError),
    #[error("node {node}: {source}")]
    Emit { node: String, source: EmitError },
    #[error("cannot read secrets file {path}: {reason}")]
    Secrets { path: String, reason: String },
}

/// One node's compiled output.
pub struct NodeOutput {
    pub name: String,
    pub ir: HostIr,
    pub artifacts: Vec<Artifact>,
}

impl NodeOutput {
    /// `ir.json`: the IR snapshot, reviewed in golden cases apart from the artifacts.
    pub fn ir_json(&self) -> String {
        let _t = netc_ir::timing::phase("ir.json");
        let mut s = serde_json::to_string_pretty(&self.ir).unwrap_or_default();
        s.push('\n');
        s
    }

    /// Every file of the node's output directory, artifacts first, in a
    /// fixed order; ir.json last when `ir`. Artifacts are borrowed, not
    /// copied (a large node's are megabytes).
    pub fn files(&self, ir: bool) -> Vec<(String, std::borrow::Cow<'_, str>, bool)> {
        let mut v: Vec<(String, std::borrow::Cow<'_, str>, bool)> = self
            .artifacts
            .iter()
            .map(|a| {
                (
                    a.file_name().to_string(),
                    a.contents.as_str().into(),
                    a.sensitive,
                )
            })
            .collect();
        if ir {
            v.push(("ir.json".to_string(), self.ir_json().into(), false));
        }
        v
    }
}

pub struct Compiled {
    /// The allocation after this compile (write it back as netc.lock).
    pub lock: Lock,
    /// Sorted by node name.
    pub nodes: Vec<NodeOutput>,
}

/// Compile the model, every artifact. `only` restricts output to one node
/// (the allocation always covers the whole cluster: a node's routes depend
/// on the others' blocks).
pub fn compile(
    model: &ValidModel,
    previous_lock: Option<&Lock>,
    only: Option<&str>,
    secrets: &(dyn Secrets + Sync),
) -> Result<Compiled, PipelineError> {
    compile_kinds(model, previous_lock, only, secrets, &ArtifactKind::ALL)
}

/// [`compile`], emitting only `kinds` (plan and apply skip what they never read).
///
/// Holds every node's output at once; for a fleet, [`compile_each`] streams.
pub fn compile_kinds(
    model: &ValidModel,
    previous_lock: Option<&Lock>,
    only: Option<&str>,
    secrets: &(dyn Secrets + Sync),
    kinds: &[ArtifactKind],
) -> Result<Compiled, PipelineError> {
    let lock = netc_ir::timing::timed("allocate", || alloc::allocate(model, previous_lock))?;
    let out = Mutex::new(Vec::new());
    compile_each(
        model,
        &lock,
        only,
        secrets,
        kinds,
        |_| {},
        |n| {
            out.lock().unwrap_or_else(|e| e.into_inner()).push(n);
            Ok::<(), PipelineError>(())
        },
    )?;
    let mut nodes = out.into_inner().unwrap_or_else(|e| e.into_inner());
    nodes.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Compiled { lock, nodes })
}

/// One node, for plan and apply: what [`compile_kinds`] gives for `node`
/// alone, except that the model is handed over and freed as soon as the
/// node is lowered, before its artifacts are emitted, and `freed` runs
/// then (the binary hands the freed memory back to the kernel: its
/// allocator is its choice). A one-rule apply's memory peaked while
/// emitting, with the typed model of the whole cluster still held (~10 MiB
/// at 10,000 rules).
pub fn compile_one(
    model: ValidModel,
    previous_lock: Option<&Lock>,
    node: &str,
    secrets: &(dyn Secrets + Sync),
    kinds: &[ArtifactKind],
    freed: impl FnOnce(),
) -> Result<(Lock, NodeOutput), PipelineError> {
    let lock = netc_ir::timing::timed("allocate", || alloc::allocate(&model, previous_lock))?;
    let ir = {
        let cluster = netc_ir::timing::timed("cluster", || Cluster::new(&model, &lock));
        if !cluster.nodes.iter().any(|n| n.name == node) {
            return Err(LowerError::UnknownNode(node.to_string()).into());
        }
        netc_ir::timing::timed("lower", || cluster.lower_node(node))?
    };
    drop(model);
    freed();
    let artifacts = netc_targets::emit(&ir, secrets, kinds).map_err(|e| PipelineError::Emit {
        node: node.to_string(),
        source: e,
    })?;
    Ok((
        lock,
        NodeOutput {
            name: node.to_string(),
            ir,
            artifacts,
        },
    ))
}

/// Compile every node (or `only` one) on all cores and hand each node's
/// output to `on_node` as soon as it is ready, then drop it: memory stays
/// bounded by one node's artifacts per worker thread, whatever the fleet's
/// size. `on_total` learns the number of nodes first (for progress).
///
/// `on_node` runs on worker threads in no particular order; output must not
/// depend on that order (each node writes its own files). When nodes fail,
/// the error returned is the one of the first failing node by name, so the
/// message does not depend on scheduling either. `lock` is the allocation
/// ([`alloc::allocate`]): callers check it (e.g. `--locked`) before any
/// node's output is written.
pub fn compile_each<E, F>(
    model: &ValidModel,
    lock: &Lock,
    only: Option<&str>,
    secrets: &(dyn Secrets + Sync),
    kinds: &[ArtifactKind],
    on_total: impl FnOnce(usize),
    on_node: F,
) -> Result<(), E>
where
    E: From<PipelineError> + Send,
    F: Fn(NodeOutput) -> Result<(), E> + Sync,
{
    use rayon::prelude::*;
    let cluster = netc_ir::timing::timed("cluster", || Cluster::new(model, lock));
    let names: Vec<&str> = cluster
        .nodes
        .iter()
        .map(|n| n.name.as_str())
        .filter(|n| only.is_none_or(|o| o == *n))
        .collect();
    if let (Some(o), true) = (only, names.is_empty()) {
        return Err(PipelineError::from(LowerError::UnknownNode(o.to_string())).into());
    }
    on_total(names.len());
    let results: Vec<Result<(), E>> = names
        .par_iter()
        .map(|name| {
            let ir = netc_ir::timing::timed("lower", || cluster.lower_node(name))
                .map_err(PipelineError::from)?;
            let artifacts =
                netc_targets::emit(&ir, secrets, kinds).map_err(|e| PipelineError::Emit {
                    node: name.to_string(),
                    source: e,
                })?;
            on_node(NodeOutput {
                name: name.to_string(),
                ir,
                artifacts,
            })
        })
        .collect();
    // `names` is sorted (the cluster's nodes are), and so are the results.
    results.into_iter().collect()
}

/// Read a secrets file: YAML `secret-name: { key: value }` — the shape of the
/// Kubernetes Secrets that Calico's secretKeyRef names, flattened.
///
/// Errors name the file, line and column and what shape was expected, and
/// never quote a value from the file (it holds passwords). A key given twice
/// (at either level) is an error: YAML forbids it, and which one a reader
/// keeps differs between tools.
pub fn load_secrets(path: &Path) -> Result<SecretMap, PipelineError> {
    let err = |reason: String| PipelineError::Secrets {
        path: path.display().to_string(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text).to_string();
    parse_secrets(&text).map_err(err)
}

/// The parser behind [`load_secrets`]; errors are `line:col: what`.
pub fn parse_secrets(text: &str) -> Result<SecretMap, String> {
    use netc_compiler::load::yaml::{self, Node, Value};
    let mut sources = netc_compiler::SourceMap::new();
    let id = sources.add("secrets", text.to_string());
    let (docs, diags) = yaml::parse_file(id, sources.get(id));
    let at = |n: &Node| format!("{}:{}", n.span.line, n.span.col);
    if let Some(d) = diags.first() {
        // yaml-rust2's messages describe the syntax, not the text; still, show
        // only the position and the parser's own words.
        let pos = d
            .span
            .map(|s| format!("{}:{}: ", s.line, s.col))
            .unwrap_or_default();
        return Err(format!("{pos}{} [E0010]", d.message));
    }
    let roots: Vec<&Node> = docs.iter().filter_map(|d| d.root.as_ref()).collect();
    if roots.len() > 1 {
        return Err(format!(
            "{}: more than one YAML document; put every secret in one mapping [E0010]",
            at(roots[1])
        ));
    }
    let kind = |v: &Value| match v {
        Value::Null => "empty",
        Value::Bool(_) => "a boolean",
        Value::Int(_) | Value::UInt(_) | Value::Float(_) => "a number",
        Value::Str(_) => "a string",
        Value::Seq(_) => "a list",
        Value::Map(_) => "a mapping",
    };
    let key_text = |k: &Node| -> Result<String, String> {
        match (&k.value, &k.plain) {
            (Value::Str(s), _) => Ok(s.clone()),
            (_, Some(p)) => Ok(p.text.clone()),
            (v, None) => Err(format!(
                "{}: a key must be a name, not {} [E0010]",
                at(k),
                kind(v)
            )),
        }
    };
    let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let Some(root) = roots.first() else {
        return Ok(SecretMap(out));
    };
    let Value::Map(secrets) = &root.value else {
        if root.value == Value::Null {
            return Ok(SecretMap(out));
        }
        return Err(format!(
            "{}: expected a mapping `secret-name: {{key: value}}`, found {} [E0010]",
            at(root),
            kind(&root.value)
        ));
    };
    let mut first: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in secrets {
        let name = key_text(k)?;
        if let Some(prev) = first.insert(name.clone(), at(k)) {
            return Err(format!(
                "{}: secret `{name}` appears twice (first at {prev}) [E0010]",
                at(k)
            ));
        }
        let Value::Map(entries) = &v.value else {
            return Err(format!(
                "{}: secret `{name}` must be a mapping of key: value (e.g. `{name}: {{password: ...}}`), found {} [E0010]",
                at(v),
                kind(&v.value)
            ));
        };
        let mut keys: BTreeMap<String, String> = BTreeMap::new();
        let mut values = BTreeMap::new();
        for (kk, vv) in entries {
            let key = key_text(kk)?;
            if let Some(prev) = keys.insert(key.clone(), at(kk)) {
                return Err(format!(
                    "{}: key `{key}` of secret `{name}` appears twice (first at {prev}) [E0010]",
                    at(kk)
                ));
            }
            let value = match (&vv.value, &vv.plain) {
                (Value::Str(s), _) => s.clone(),
                // An unquoted number or boolean: the text as written.
                (_, Some(p)) => p.text.clone(),
                (other, None) => {
                    return Err(format!(
                        "{}: `{name}.{key}` must be a string value, found {} [E0010]",
                        at(vv),
                        kind(other)
                    ))
                }
            };
            values.insert(key, value);
        }
        out.insert(name, values);
    }
    Ok(SecretMap(out))
}

#[cfg(test)]
mod tests {
    use super::parse_secrets;

    #[test]
    fn secrets_shapes_and_no_echo() {
        let ok = parse_secrets("bgp:\n  password: hunter2\n  pin: 0123\n").unwrap();
        assert_eq!(ok.0["bgp"]["password"], "hunter2");
        assert_eq!(
            ok.0["bgp"]["pin"], "0123",
            "the text as written, not YAML 1.1 octal"
        );
        for bad in [
            "bgp: hunter2-secret\n",
            "- hunter2-secret\n",
            "bgp:\n  password: [hunter2-secret]\n",
            "bgp:\n  password: {x: hunter2-secret}\n",
            "bgp:\n  password: a\n  password: hunter2-secret\n",
            "bgp: {password: a}\nbgp: {password: hunter2-secret}\n",
            "bgp:\n  password: \"hunter2-secret\n",
        ] {
            let e = parse_secrets(bad).expect_err(bad);
            assert!(!e.contains("hunter2"), "{bad:?} -> {e}");
            assert!(e.contains("E0010"), "{e}");
        }
        assert!(parse_secrets("a: {k: v}\na: {k: w}\n")
            .unwrap_err()
            .contains("appears twice"));
        assert!(parse_secrets("").unwrap().0.is_empty());
    }
}
