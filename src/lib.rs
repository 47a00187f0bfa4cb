//! The `netc` library: the whole pipeline wired together, for the CLI and
//! the integration tests. The stages live in their crates:
//! [`netc_compiler`] (load, validate, allocate, lower), [`netc_targets`]
//! (emit) and [`netc_host`] (read live state, plan, apply).

pub mod check;
pub mod graph;
pub mod pipeline;

pub use pipeline::{compile, load_secrets, Compiled, NodeOutput, PipelineError};
