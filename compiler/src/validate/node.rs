//! (rules being written)
use crate::diag::Diagnostic;
use crate::model::Model;

pub(super) fn check(_m: &Model, _out: &mut Vec<Diagnostic>) {}
