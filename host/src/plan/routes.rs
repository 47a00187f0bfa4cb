//! Routes with netc's protocol. A route is identified by (table, destination,
//! metric); `ip route replace` changes one in place atomically.

use super::{Action, Change, Op, Step};
use crate::state::{LiveRoute, RouteSpec, State};
use netc_targets::iproute::{self, RouteKey};
use std::collections::{BTreeMap, BTreeSet};

/// Does the live route do what the desired one asks? A desired gateway
/// route without a device accepts whichever device the kernel resolved.
fn satisfies(live: &RouteSpec, want: &RouteSpec) -> bool {
    match (live, want) {
        (
            RouteSpec::Via {
                gateway: g1,
                onlink: o1,
                ..
            },
            RouteSpec::Via {
                gateway: g2,
                dev: None,
                onlink: o2,
            },
        ) => g1 == g2 && o1 == o2,
        _ => live == want,
    }
}

fn key(r: &LiveRoute) -> RouteKey<'_> {
    RouteKey {
        table: r.table.as_deref(),
        metric: r.metric,
    }
}

/// `route del [<type>] <dst> [table T] [metric M] proto 233` for a live route.
fn del_cmd(r: &LiveRoute) -> String {
    let rtype = match &r.spec {
        RouteSpec::Blackhole => Some("blackhole"),
        RouteSpec::Other { route_type } if route_type != "multipath" && route_type != "unicast" => {
            Some(route_type.as_str())
        }
        _ => None,
    };
    iproute::route_del(r.dst, rtype, &key(r))
}

/// `route replace …` for a desired route (never `Other`: the IR has none).
fn replace_cmd(r: &LiveRoute) -> Option<String> {
    r.spec
        .target()
        .map(|t| iproute::route_replace(r.dst, &t, &key(r)))
}

pub fn diff(live: &State, desired: &State, gone: &BTreeSet<&str>) -> (Vec<Change>, Vec<Op>) {
    let have: BTreeMap<_, &LiveRoute> = live
        .routes
        .iter()
        .filter(|r| r.spec.dev().is_none_or(|d| !gone.contains(d)))
        .map(|r| (r.key(), r))
        .collect();
    let want: BTreeMap<_, &LiveRoute> = desired.routes.iter().map(|r| (r.key(), r)).collect();
    let mut changes = Vec::new();
    let mut batch = Vec::new();
    for (k, r) in &have {
        if want.contains_key(k) {
            continue;
        }
        changes.push(
            Change::new(Step::Routes, Action::Delete, "route", r.id()).attr(
                "route",
                Some(r.spec.words()),
                None,
            ),
        );
        batch.push(del_cmd(r));
    }
    for (k, r) in &want {
        let old = have.get(k);
        if old.is_some_and(|o| satisfies(&o.spec, &r.spec)) {
            continue;
        }
        let action = if old.is_some() {
            Action::Update
        } else {
            Action::Create
        };
        changes.push(Change::new(Step::Routes, action, "route", r.id()).attr(
            "route",
            old.map(|o| o.spec.words()),
            Some(r.spec.words()),
        ));
        if let Some(o) = old.filter(|o| matches!(o.spec, RouteSpec::Other { .. })) {
            // `replace` cannot turn a multipath or odd-typed route into ours.
            batch.push(del_cmd(o));
        }
        if let Some(cmd) = replace_cmd(r) {
            batch.push(cmd);
        }
    }
    let ops = if batch.is_empty() {
        Vec::new()
    } else {
        vec![Op::Ip { batch }]
    };
    (changes, ops)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(dst: &str, spec: RouteSpec) -> LiveRoute {
        LiveRoute {
            table: None,
            dst: dst.parse().unwrap(),
            metric: None,
            spec,
        }
    }

    #[test]
    fn via_without_dev_accepts_resolved_dev() {
        let live = State {
            routes: vec![route(
                "10.65.1.0/26",
                RouteSpec::Via {
                    gateway: "10.0.0.2".parse().unwrap(),
                    dev: Some("eth0".parse().unwrap()),
                    onlink: false,
                },
            )],
            ..State::default()
        };
        let mut want = live.clone();
        want.routes[0].spec = RouteSpec::Via {
            gateway: "10.0.0.2".parse().unwrap(),
            dev: None,
            onlink: false,
        };
        let (c, o) = diff(&live, &want, &BTreeSet::new());
        assert!(c.is_empty() && o.is_empty());
    }

    #[test]
    fn commands() {
        let live = State {
            routes: vec![route("10.65.9.0/26", RouteSpec::Blackhole)],
            ..State::default()
        };
        let want = State {
            routes: vec![route("10.65.0.0/26", RouteSpec::Blackhole)],
            ..State::default()
        };
        let (c, o) = diff(&live, &want, &BTreeSet::new());
        assert_eq!(c.len(), 2);
        let Op::Ip { batch } = &o[0] else { panic!() };
        assert_eq!(
            batch,
            &vec![
                "route del blackhole 10.65.9.0/26 proto 233".to_string(),
                "route replace blackhole 10.65.0.0/26 proto 233".to_string()
            ]
        );
    }
}
