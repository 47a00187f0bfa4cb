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
    if let Some(key) = want.nft.predicted.clone() {
        // Exact comparison; the listing with its text becomes the cached
        // canonical form. A miss is the prediction's, not the apply's:
        // compare again with the canonical form learnt the slow way.
        let (live, _) = state::read_with(exec, &t.bird_config, true, &want.sysctl_keys())?;
        if let v @ Verification::Matches = compare(&live, want) {
            crate::cache::store(&key, &without_handles(&live.nft));
            return Ok(v);
        }
        let mut want = want.clone();
        want.nft = crate::desired::canonical_nft(&want.nft.text, &key)?;
        return Ok(compare(&live, &want));
    }
    let Some(key) = want.nft.uncanonical.clone() else {
        let (live, _) = state::read_with(exec, &t.bird_config, false, &want.sysctl_keys())?;
        return Ok(compare(&live, want));
    };
    let (live, _) = state::read_with(exec, &t.bird_config, true, &want.sysctl_keys())?;
    let mut want = want.clone();
    if live.nft.has_text && live.nft.same_shape(&want.nft) {
        crate::cache::store(&key, &without_handles(&live.nft));
        want.nft = live.nft.clone();
    } else {
        want.nft = crate::desired::canonical_nft(&want.nft.text, &key)?;
    }
    Ok(compare(&live, &want))
}

/// A listed table as a cached canonical form: rule handles are the live
/// table's own, never a desired table's.
fn without_handles(n: &state::NftState) -> state::NftState {
    let mut c = n.clone();
    for ch in &mut c.chains {
        for r in &mut ch.rules {
            r.handle = 0;
        }
    }
    c
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
