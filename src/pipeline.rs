//! validate → allocate → lower → emit, for every node or one.

use netc_compiler::alloc::{self, AllocError, Lock};
use netc_compiler::lower::{Cluster, LowerError};
use netc_compiler::validate::ValidModel;
use netc_ir::HostIr;
use netc_targets::{Artifact, EmitError, SecretMap, Secrets};
use std::collections::BTreeMap;
use std::path::Path;

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
        let mut s = serde_json::to_string_pretty(&self.ir).unwrap_or_default();
        s.push('\n');
        s
    }

    /// Every file of the node's output directory, artifacts first, in a fixed order.
    pub fn files(&self) -> Vec<(String, String, bool)> {
        let mut v: Vec<(String, String, bool)> = self
            .artifacts
            .iter()
            .map(|a| (a.file_name().to_string(), a.contents.clone(), a.sensitive))
            .collect();
        v.push(("ir.json".to_string(), self.ir_json(), false));
        v
    }
}

pub struct Compiled {
    /// The allocation after this compile (write it back as netc.lock).
    pub lock: Lock,
    /// Sorted by node name.
    pub nodes: Vec<NodeOutput>,
}

/// Compile the model. `only` restricts output to one node (the allocation
/// always covers the whole cluster: a node's routes depend on the others' blocks).
pub fn compile(
    model: &ValidModel,
    previous_lock: Option<&Lock>,
    only: Option<&str>,
    secrets: &dyn Secrets,
) -> Result<Compiled, PipelineError> {
    let lock = alloc::allocate(model, previous_lock)?;
    let cluster = Cluster::new(model, &lock);
    let mut nodes = Vec::new();
    for n in &cluster.nodes {
        if only.is_some_and(|o| o != n.name) {
            continue;
        }
        let ir = cluster.lower_node(&n.name)?;
        let artifacts = netc_targets::emit_all(&ir, secrets).map_err(|e| PipelineError::Emit {
            node: n.name.clone(),
            source: e,
        })?;
        nodes.push(NodeOutput {
            name: n.name.clone(),
            ir,
            artifacts,
        });
    }
    if let Some(o) = only {
        if nodes.is_empty() {
            return Err(LowerError::UnknownNode(o.to_string()).into());
        }
    }
    drop(cluster);
    Ok(Compiled { lock, nodes })
}

/// Read a secrets file: YAML `secret-name: { key: value }` — the shape of the
/// Kubernetes Secrets that Calico's secretKeyRef names, flattened.
pub fn load_secrets(path: &Path) -> Result<SecretMap, PipelineError> {
    let err = |reason: String| PipelineError::Secrets {
        path: path.display().to_string(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    let map: BTreeMap<String, BTreeMap<String, String>> =
        serde_yaml::from_str(&text).map_err(|e| err(e.to_string()))?;
    Ok(SecretMap(map))
}
