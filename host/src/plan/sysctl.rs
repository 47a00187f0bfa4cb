//! Workload interface settings (docs/calico.md §4.4): one `sysctl -w` for
//! every parameter whose live value differs, shown as one in-place update
//! per interface.
//!
//! An interface the desired state names but the target lacks is the CNI
//! plugin's to create: the plan says it is waiting and does nothing for it
//! (it is not a change, so an apply still verifies and a later apply, once
//! the pod is wired, sets it). A parameter the kernel lacks on an existing
//! interface (IPv6 disabled) is skipped the same way. Live parameters the
//! desired state does not name are not netc's and are left alone.

use super::{Action, Change, Op, Step};
use crate::state::{IfaceValue, State};
use std::collections::{BTreeMap, BTreeSet};

/// Workload interfaces the desired state names that the target lacks (no
/// parameter of theirs could be read).
pub fn waiting(live: &State, desired: &State) -> BTreeSet<String> {
    let present: BTreeSet<&str> = live.sysctls.iter().map(|v| v.dev.as_str()).collect();
    desired
        .sysctls
        .iter()
        .map(|v| v.dev.as_str())
        .filter(|d| !present.contains(d))
        .map(str::to_string)
        .collect()
}

/// The changes and commands, and notes for parameters skipped. Interfaces
/// in [`waiting`] are left out (the caller says so once per interface).
pub fn diff(live: &State, desired: &State) -> (Vec<Change>, Vec<Op>, Vec<String>) {
    let mut want: BTreeMap<&str, Vec<&IfaceValue>> = BTreeMap::new();
    for v in &desired.sysctls {
        want.entry(v.dev.as_str()).or_default().push(v);
    }
    let mut changes = Vec::new();
    let mut assignments = Vec::new();
    let mut notes = Vec::new();
    for (dev, values) in want {
        let have: BTreeMap<_, &IfaceValue> = live
            .sysctls
            .iter()
            .filter(|v| v.dev.as_str() == dev)
            .map(|v| (v.sysctl, v))
            .collect();
        if have.is_empty() {
            continue;
        }
        let mut c = Change::new(Step::Interfaces, Action::Update, "workload interface", dev);
        for v in values {
            match have.get(&v.sysctl) {
                None => notes.push(format!(
                    "workload interface {dev}: {} does not exist on this host (IPv6 disabled?); skipped",
                    v.sysctl.label()
                )),
                Some(old) if old.value == v.value => {}
                Some(old) => {
                    c = c.attr(
                        &v.sysctl.label(),
                        Some(old.value.clone()),
                        Some(v.value.clone()),
                    );
                    assignments.push(v.assignment());
                }
            }
        }
        if !c.attrs.is_empty() {
            changes.push(c);
        }
    }
    let ops = if assignments.is_empty() {
        Vec::new()
    } else {
        vec![Op::Sysctl { assignments }]
    };
    (changes, ops, notes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use netc_ir::IfaceSysctl::*;

    fn v(dev: &str, sysctl: netc_ir::IfaceSysctl, value: &str) -> IfaceValue {
        IfaceValue {
            dev: dev.parse().unwrap(),
            sysctl,
            value: value.into(),
        }
    }

    #[test]
    fn changes_only_what_differs_and_waits_for_absent_interfaces() {
        let desired = State {
            sysctls: vec![
                v("cali1", Ipv4ProxyArp, "1"),
                v("cali1", Ipv4ProxyDelay, "0"),
                v("cali1", Ipv6ProxyNdp, "1"),
                v("cali2", Ipv4ProxyArp, "1"),
            ],
            ..State::default()
        };
        let live = State {
            sysctls: vec![
                v("cali1", Ipv4ProxyArp, "1"),
                v("cali1", Ipv4ProxyDelay, "80"),
                v("cali9", Ipv4ProxyArp, "0"),
            ],
            ..State::default()
        };
        let (c, o, notes) = diff(&live, &desired);
        assert_eq!(c.len(), 1);
        assert_eq!((c[0].action, c[0].id.as_str()), (Action::Update, "cali1"));
        assert_eq!(c[0].attrs.len(), 1);
        assert_eq!(c[0].attrs[0].old.as_deref(), Some("80"));
        let [Op::Sysctl { assignments }] = &o[..] else {
            panic!("{o:?}")
        };
        assert_eq!(assignments, &vec!["net/ipv4/neigh/cali1/proxy_delay=0"]);
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(notes[0].contains("ipv6 proxy_ndp"), "{notes:?}");
        assert_eq!(waiting(&live, &desired), ["cali2".to_string()].into());
        // Once equal, nothing to do, and cali9 (not desired) is never touched.
        let (c, o, _) = diff(&desired, &desired);
        assert!(c.is_empty() && o.is_empty());
    }
}
