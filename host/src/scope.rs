//! Restricting a plan to some steps (`--only routes,firewall`, terraform's
//! `-target`) and forcing tunnel devices to be re-created (`--replace`).
//!
//! `--only` is not a filter on the finished plan: the desired state is
//! rewritten so that every part outside the chosen steps equals the live
//! one. The planner then finds nothing to do there, and verification,
//! which compares the target after the apply with that same desired state,
//! covers exactly the chosen steps. Tunnels cannot be planned apart from
//! what hangs on them (replacing a device removes its addresses, neighbours
//! and routes), so choosing `tunnels` also chooses addresses, neighbours
//! and routes.

use crate::plan::Step;
use crate::state::State;
use std::collections::BTreeSet;

/// Options that shape a plan.
#[derive(Clone, Debug, Default)]
pub struct Scope {
    /// Only these steps (None: all).
    pub only: Option<BTreeSet<Step>>,
    /// Tunnel devices to destroy and create again even when unchanged.
    pub replace: BTreeSet<String>,
}

impl Scope {
    /// The steps planned, after implications (tunnels brings its dependents).
    pub fn steps(&self) -> BTreeSet<Step> {
        let mut s = self.only.clone().unwrap_or_else(|| Step::ALL.into());
        if s.contains(&Step::Links) {
            s.extend([Step::Addresses, Step::Neighbors, Step::Routes]);
        }
        s
    }

    pub fn includes(&self, step: Step) -> bool {
        self.steps().contains(&step)
    }

    /// `desired`, with every part outside the chosen steps taken from `live`.
    pub fn restrict(&self, live: &State, desired: &State) -> State {
        if self.only.is_none() {
            return desired.clone();
        }
        let s = self.steps();
        let pick = |step: Step| if s.contains(&step) { desired } else { live };
        State {
            links: pick(Step::Links).links.clone(),
            addresses: pick(Step::Addresses).addresses.clone(),
            neighbors: pick(Step::Neighbors).neighbors.clone(),
            fdb: pick(Step::Neighbors).fdb.clone(),
            routes: pick(Step::Routes).routes.clone(),
            nft: pick(Step::Firewall).nft.clone(),
            iptables: pick(Step::Firewall).iptables.clone(),
            sysctls: pick(Step::Interfaces).sysctls.clone(),
            bird: if s.contains(&Step::Bird) {
                desired.bird.clone()
            } else {
                crate::state::BirdState {
                    managed: false,
                    ..desired.bird.clone()
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{LiveRoute, RouteSpec};

    #[test]
    fn only_routes_leaves_the_rest_as_it_is() {
        let live = State::default();
        let mut want = State::default();
        want.routes.push(LiveRoute {
            table: None,
            dst: "10.0.0.0/26".parse().unwrap(),
            metric: None,
            spec: RouteSpec::Blackhole,
        });
        want.addresses.push(crate::state::Address {
            dev: netc_ir::vxlan_device(),
            addr: "10.0.0.1/32".parse().unwrap(),
        });
        let sc = Scope {
            only: Some([Step::Routes].into()),
            ..Scope::default()
        };
        let p = crate::plan::diff(&live, &sc.restrict(&live, &want));
        assert_eq!(p.changes.len(), 1);
        assert_eq!(p.changes[0].step, Step::Routes);
        let sc = Scope {
            only: Some([Step::Links].into()),
            ..Scope::default()
        };
        assert!(sc.includes(Step::Routes) && !sc.includes(Step::Firewall));
    }
}
