//! YAML text → validated model → lock → IR, for tests that start from a
//! snippet of Calico YAML. Every step asserts success: a test that feeds
//! invalid input should call the compiler's functions itself.

use netc_compiler::alloc::{self, Lock};
use netc_compiler::lower::Cluster;
use netc_compiler::validate::{self, ValidModel};
use netc_compiler::{load, SourceMap};
use netc_ir::HostIr;
use std::collections::BTreeMap;

/// Load and validate `yaml` (as a file `test.yaml`), allocate blocks.
pub fn compile(yaml: &str) -> (ValidModel, Lock) {
    let mut sm = SourceMap::new();
    let id = sm.add("test.yaml", yaml);
    let (raws, diags) = load::load_source(id, &sm);
    assert!(
        diags.iter().all(|d| !d.is_error()),
        "load errors: {diags:#?}"
    );
    let (model, diags) = validate::validate(raws);
    let Some(model) = model else {
        panic!("validation failed: {:#?}", diags.items);
    };
    let lock = alloc::allocate(&model, None).expect("block allocation");
    (model, lock)
}

/// One node's IR.
pub fn lower_node(yaml: &str, node: &str) -> HostIr {
    let (model, lock) = compile(yaml);
    Cluster::new(&model, &lock)
        .lower_node(node)
        .unwrap_or_else(|e| panic!("lower {node}: {e}"))
}

/// Every node's IR, by node name.
pub fn lower_all(yaml: &str) -> BTreeMap<String, HostIr> {
    let (model, lock) = compile(yaml);
    let cluster = Cluster::new(&model, &lock);
    cluster
        .nodes
        .iter()
        .map(|n| {
            let ir = cluster
                .lower_node(&n.name)
                .unwrap_or_else(|e| panic!("lower {}: {e}", n.name));
            (n.name.clone(), ir)
        })
        .collect()
}
