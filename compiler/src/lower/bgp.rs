//! BGP sessions and BIRD policy (being written).
use super::{Cluster, LowerError, NodeFacts};
use crate::ir::*;
pub(super) fn lower(_c: &Cluster, _n: &NodeFacts) -> Result<Option<Bgp>, LowerError> {
    Ok(None)
}
