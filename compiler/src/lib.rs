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
pub mod ir;
pub mod load;
pub mod lower;
pub mod model;
pub mod schema;
pub mod selector;
pub mod source;
pub mod validate;

pub use diag::{Diagnostic, Diagnostics, Severity};
pub use source::{FileId, SourceMap, Span};
