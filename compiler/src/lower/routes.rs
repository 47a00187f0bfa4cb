//! Kernel routes netc owns (being written).
use super::{Cluster, NodeFacts};
use crate::ir::*;
pub(super) fn lower(_c: &Cluster, _n: &NodeFacts, _t: &[Tunnel]) -> Vec<Route> {
    Vec::new()
}
