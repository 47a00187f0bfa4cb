//! JSON Schemas (one per kind) — placeholder, being written.
use crate::diag::Diagnostic;
use crate::load::RawResource;
pub fn check(_raw: &RawResource) -> Vec<Diagnostic> { Vec::new() }
