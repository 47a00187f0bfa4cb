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
///
/// A desired nft table taken from the artifact as written
/// ([`state::NftState::uncanonical`]) cannot be compared with nft's listing
/// line by line. The table was loaded whole in one `nft -f` transaction
/// (all or nothing), so the listing is checked for the same sets and
/// chains with as many elements and rules, then kept as the artifact's
/// canonical form (the next plan compares exactly). Should the shape
/// differ, the canonical form is computed the slow way (a scratch
/// namespace) and compared exactly, as for any other table.
pub fn verify(t: &Target, exec: &crate::exec::Exec, want: &State) -> Result<Verification, Error> {
    let Some(key) = want.nft.uncanonical.clone() else {
        let (live, _) = state::read_with(exec, &t.bird_config, false, &want.sysctl_keys())?;
        return Ok(compare(&live, want));
    };
    let (live, _) = state::read_with(exec, &t.bird_config, true, &want.sysctl_keys())?;
    let mut want = want.clone();
    if live.nft.has_text && live.nft.same_shape(&want.nft) {
        let mut canonical = live.nft.clone();
        for c in &mut canonical.chains {
            for r in &mut c.rules {
                r.handle = 0;
            }
        }
        crate::cache::store(&key, &canonical);
        want.nft = live.nft.clone();
    } else {
        want.nft = crate::desired::canonical_nft(&want.nft.text, &key)?;
    }
    Ok(compare(&live, &want))
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
