//! Verification: read the target back; it must equal the state asked for.
//! "Equal" is "the planner finds nothing to do", so verification uses the
//! same normalisation and comparison as planning.

use crate::plan;
use crate::state::{self, State};
use crate::target::Target;
use crate::Error;

/// The outcome of comparing the target with the state asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verification {
    Matches,
    /// What still differs, one `± resource id` line each.
    Differs(Vec<String>),
}

/// Read the target back and compare it with `want`.
pub fn verify(t: &Target, exec: &crate::exec::Exec, want: &State) -> Result<Verification, Error> {
    let (live, _) = state::read_with(exec, &t.bird_config, false, &want.sysctl_keys())?;
    Ok(compare(&live, want))
}

pub fn compare(live: &State, want: &State) -> Verification {
    let p = plan::diff(live, want);
    if p.changes.is_empty() {
        Verification::Matches
    } else {
        Verification::Differs(
            p.changes
                .iter()
                .map(|c| format!("{} {} {}", c.action.symbol(), c.resource, c.id))
                .collect(),
        )
    }
}
