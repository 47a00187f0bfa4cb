//! Verification: read the target back; it must equal the state asked for.
//! "Equal" is "the planner finds nothing to do", so verification uses the
//! same normalisation and comparison as planning.

use crate::plan;
use crate::state::{self, State};
use crate::target::Target;
use crate::Error;

/// Ok(()) when the live state matches `want`; Err(list of differences) otherwise.
pub fn verify(
    t: &Target,
    exec: &crate::exec::Exec,
    want: &State,
) -> Result<Result<(), Vec<String>>, Error> {
    let (live, _) = state::read(exec, &t.bird_config, false)?;
    Ok(compare(&live, want))
}

pub fn compare(live: &State, want: &State) -> Result<(), Vec<String>> {
    let p = plan::diff(live, want);
    if p.changes.is_empty() {
        Ok(())
    } else {
        Err(p
            .changes
            .iter()
            .map(|c| format!("{} {} {}", c.action.symbol(), c.resource, c.id))
            .collect())
    }
}
