//! netc's compiler: the front end and middle of the pipeline.
//!
//! ```text
//! YAML ──load──▶ RawResource ──schema──▶ typed Model ──validate──▶ ValidModel ──lower(node)──▶ HostIr
//! ```
//!
//! Each stage is a plain function. Only [`load`] reads files; everything after
//! it is pure and deterministic.

pub mod alloc;
pub mod diag;
pub mod fields;
pub mod k8s;
pub mod load;
pub mod lower;
pub mod model;
pub mod schema;
pub mod selector;
pub mod source;
pub mod validate;

pub use diag::{Diagnostic, Diagnostics, Severity};
/// The IR lives in its own crate (`netc-ir`); re-exported so lowering reads `crate::ir::…`.
pub use netc_ir as ir;
pub use source::{FileId, SourceMap, Span};
