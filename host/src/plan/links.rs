//! Tunnel devices, their addresses, VXLAN neighbours and FDB entries.

use super::{Action, Attr, Change, Op, Step};
use crate::state::{Link, LinkKind, State};
use netc_ir::{IfName, Mac};
use netc_targets::iproute;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

fn opt<T: ToString>(v: &Option<T>) -> Option<String> {
    v.as_ref().map(T::to_string)
}

/// (attribute, value) pairs that identify the device: changing one needs a new device.
fn identity(k: &LinkKind) -> Vec<(&'static str, Option<String>)> {
    match k {
        LinkKind::Vxlan {
            vni,
            port,
            local,
            parent,
            learning,
        } => vec![
            ("kind", Some("vxlan".into())),
            ("vni", Some(vni.to_string())),
            ("dstport", Some(port.to_string())),
            ("local", opt(local)),
            ("dev", opt(parent)),
            ("learning", Some(learning.to_string())),
        ],
        LinkKind::Ipip { local } => vec![("kind", Some("ipip".into())), ("local", opt(local))],
        LinkKind::Other { kind } => vec![("kind", Some(kind.clone()))],
    }
}

fn mutable(l: &Link) -> Vec<(&'static str, Option<String>)> {
    vec![
        ("mac", opt(&l.mac)),
        ("mtu", Some(l.mtu.to_string())),
        ("state", Some(if l.up { "up" } else { "down" }.to_string())),
    ]
}

fn create_cmds(d: &Link) -> Vec<String> {
    let mut v = Vec::new();
    match &d.kind {
        LinkKind::Vxlan {
            vni,
            port,
            local,
            parent,
            learning,
        } => v.push(iproute::vxlan_add(&iproute::Vxlan {
            name: &d.name,
            vni: *vni,
            port: *port,
            local: *local,
            parent: parent.as_ref(),
            learning: *learning,
        })),
        // tunl0 is the fallback device the ipip module creates in every
        // namespace; it cannot be added, only configured (the preflight
        // check has made sure the module is there).
        LinkKind::Ipip { .. } => {}
        LinkKind::Other { .. } => {}
    }
    v.push(set_cmd(d));
    v.push(iproute::link_mark_owned(&d.name));
    v
}

fn set_cmd(d: &Link) -> String {
    iproute::link_set(&d.name, d.mac.as_ref(), d.mtu, d.up)
}

/// `link set` for an in-place update. The address is set only when it
/// changes: setting a link-layer address, even the same one, makes the
/// kernel flush the device's neighbours, permanent ones included
/// (docs/lab-facts.md, "VXLAN, Calico style"; see [`super::diff`]).
fn update_cmd(live: &Link, d: &Link) -> String {
    if live.mac == d.mac {
        set_cmd(&Link {
            mac: None,
            ..d.clone()
        })
    } else {
        set_cmd(d)
    }
}

/// An IPIP fallback device that is down and has no address is what a host
/// with the ipip module loaded has anyway: it counts as absent.
fn dormant_fallback(l: &Link, live: &State) -> bool {
    matches!(l.kind, LinkKind::Ipip { .. })
        && !l.up
        && !live.addresses.iter().any(|a| a.dev == l.name)
}

/// Returns the changes, the ops, and the names of devices destroyed or replaced.
/// `replace`: devices to destroy and create again even when unchanged
/// (`--replace`).
pub fn diff(
    live: &State,
    desired: &State,
    force_replace: &BTreeSet<String>,
) -> (Vec<Change>, Vec<Op>, Vec<String>) {
    let mut changes = Vec::new();
    let mut batch = Vec::new();
    let mut gone = Vec::new();
    let live_by: BTreeMap<&str, &Link> = live.links.iter().map(|l| (l.name.as_str(), l)).collect();
    let want_by: BTreeMap<&str, &Link> =
        desired.links.iter().map(|l| (l.name.as_str(), l)).collect();

    // Removals first: a replaced or removed device frees its name.
    for (name, l) in &live_by {
        if want_by.contains_key(name) {
            continue;
        }
        if dormant_fallback(l, live) {
            continue;
        }
        let mut c = Change::new(Step::Links, Action::Delete, "tunnel", *name)
            .note("its addresses, neighbours, FDB entries and routes go with it");
        for (k, v) in identity(&l.kind).into_iter().chain(mutable(l)) {
            if v.is_some() {
                c = c.attr(k, v, None);
            }
        }
        if matches!(l.kind, LinkKind::Ipip { .. }) {
            // The kernel's fallback device cannot be deleted: disable it.
            c.note = Some(
                "tunl0 is the kernel's fallback device: it is set down and its addresses removed"
                    .into(),
            );
            batch.push(iproute::link_down(&l.name));
            batch.push(iproute::addr_flush(&l.name));
        } else {
            batch.push(iproute::link_del(&l.name));
        }
        gone.push(name.to_string());
        changes.push(c);
    }

    for (name, d) in &want_by {
        match live_by.get(name) {
            None => {
                let mut c = Change::new(Step::Links, Action::Create, "tunnel", *name);
                for (k, v) in identity(&d.kind).into_iter().chain(mutable(d)) {
                    if v.is_some() {
                        c = c.attr(k, None, v);
                    }
                }
                batch.extend(create_cmds(d));
                changes.push(c);
            }
            Some(l) => {
                let (li, di) = (identity(&l.kind), identity(&d.kind));
                let fallback_ipip = matches!(
                    (&l.kind, &d.kind),
                    (LinkKind::Ipip { .. }, LinkKind::Ipip { .. })
                );
                let mut attrs = Vec::new();
                let mut replace = false;
                if li != di && !fallback_ipip {
                    replace = true;
                    let names: BTreeSet<&str> =
                        li.iter().chain(di.iter()).map(|(k, _)| *k).collect();
                    for k in names {
                        let o = li
                            .iter()
                            .find(|(n, _)| *n == k)
                            .and_then(|(_, v)| v.clone());
                        let n = di
                            .iter()
                            .find(|(n, _)| *n == k)
                            .and_then(|(_, v)| v.clone());
                        if o != n {
                            attrs.push(Attr {
                                name: k.to_string(),
                                old: o,
                                new: n,
                                forces_replacement: true,
                            });
                        }
                    }
                }
                for ((k, o), (_, n)) in mutable(l).into_iter().zip(mutable(d)) {
                    if o != n {
                        attrs.push(Attr {
                            name: k.to_string(),
                            old: o,
                            new: n,
                            forces_replacement: false,
                        });
                    }
                }
                let forced = force_replace.contains(*name);
                if attrs.is_empty() && !forced {
                    continue;
                }
                let fallback_forced = forced && !replace && fallback_ipip;
                replace |= forced;
                let action = if replace {
                    Action::Replace
                } else {
                    Action::Update
                };
                let mut c = Change::new(Step::Links, action, "tunnel", *name);
                let only_forced = attrs.is_empty();
                c.attrs = attrs;
                if only_forced {
                    c.note = Some(
                        "replacement requested (--replace): its addresses, neighbours, FDB entries and routes are re-created".into(),
                    );
                } else if replace {
                    c.note = Some(
                        "its addresses, neighbours, FDB entries and routes are re-created".into(),
                    );
                }
                if fallback_forced {
                    // tunl0 cannot be deleted: down and flushed, then set up again.
                    batch.push(iproute::link_down(&l.name));
                    batch.push(iproute::addr_flush(&l.name));
                    batch.extend(create_cmds(d));
                    gone.push(name.to_string());
                } else if replace {
                    batch.push(iproute::link_del(&l.name));
                    batch.extend(create_cmds(d));
                    gone.push(name.to_string());
                } else {
                    batch.push(update_cmd(l, d));
                }
                changes.push(c);
            }
        }
    }
    let ops = if batch.is_empty() {
        Vec::new()
    } else {
        vec![Op::Ip { batch }]
    };
    (changes, ops, gone)
}

pub fn diff_addresses(
    live: &State,
    desired: &State,
    gone: &BTreeSet<&str>,
) -> (Vec<Change>, Vec<Op>) {
    let have: BTreeSet<_> = live
        .addresses
        .iter()
        .filter(|a| !gone.contains(a.dev.as_str()))
        .collect();
    let want: BTreeSet<_> = desired.addresses.iter().collect();
    let mut changes = Vec::new();
    let mut batch = Vec::new();
    // Additions first: a device whose address is replaced (a pool's CIDR
    // changed) then never has none, and the kernel does not flush its
    // neighbours and routes (docs/lab-facts.md, "Removing a device's last
    // IPv4 address"). Changes stay listed deletions first.
    let mut dels = Vec::new();
    for a in have.difference(&want) {
        changes.push(Change::new(
            Step::Addresses,
            Action::Delete,
            "address",
            format!("{} dev {}", a.addr, a.dev),
        ));
        dels.push(iproute::addr_del(a.addr, &a.dev));
    }
    for a in want.difference(&have) {
        changes.push(Change::new(
            Step::Addresses,
            Action::Create,
            "address",
            format!("{} dev {}", a.addr, a.dev),
        ));
        batch.push(iproute::addr_add(a.addr, &a.dev));
    }
    batch.extend(dels);
    let ops = if batch.is_empty() {
        Vec::new()
    } else {
        vec![Op::Ip { batch }]
    };
    (changes, ops)
}

/// Devices that keep existing but lose their last IPv4 address: the kernel
/// then flushes their IPv4 neighbours (permanent ones too) and every IPv4
/// route through them (docs/lab-facts.md, "Removing a device's last IPv4
/// address"). The planner treats those as already gone. (IPv6 keeps the
/// link-local address, so nothing is flushed there.)
pub fn v4_flushed<'a>(
    live: &'a State,
    desired: &State,
    gone: &BTreeSet<&str>,
) -> BTreeSet<&'a str> {
    let v4_on = |s: &State, dev: &str| {
        s.addresses
            .iter()
            .any(|a| a.dev.as_str() == dev && a.addr.addr().is_ipv4())
    };
    live.links
        .iter()
        .map(|l| l.name.as_str())
        .filter(|d| !gone.contains(d) && v4_on(live, d) && !v4_on(desired, d))
        .collect()
}

pub fn diff_neighbors(
    live: &State,
    desired: &State,
    gone: &BTreeSet<&str>,
) -> (Vec<Change>, Vec<Op>) {
    let mut changes = Vec::new();
    let mut ip = Vec::new();
    let mut br = Vec::new();

    // Neighbours: (dev, ip) → mac.
    let have: BTreeMap<(&IfName, IpAddr), &Mac> = live
        .neighbors
        .iter()
        .filter(|n| !gone.contains(n.dev.as_str()))
        .map(|n| ((&n.dev, n.ip), &n.mac))
        .collect();
    let want: BTreeMap<(&IfName, IpAddr), &Mac> = desired
        .neighbors
        .iter()
        .map(|n| ((&n.dev, n.ip), &n.mac))
        .collect();
    for ((dev, addr), mac) in &have {
        if !want.contains_key(&(*dev, *addr)) {
            changes.push(
                Change::new(
                    Step::Neighbors,
                    Action::Delete,
                    "neighbour",
                    format!("{addr} dev {dev}"),
                )
                .attr("lladdr", Some(mac.to_string()), None),
            );
            ip.push(iproute::neigh_del(*addr, dev));
        }
    }
    for ((dev, addr), mac) in &want {
        let old = have.get(&(*dev, *addr));
        if old == Some(mac) {
            continue;
        }
        let action = if old.is_some() {
            Action::Update
        } else {
            Action::Create
        };
        changes.push(
            Change::new(
                Step::Neighbors,
                action,
                "neighbour",
                format!("{addr} dev {dev}"),
            )
            .attr("lladdr", old.map(|m| m.to_string()), Some(mac.to_string())),
        );
        ip.push(iproute::neigh_replace(*addr, mac, dev));
    }

    // FDB: (dev, mac) → destinations (normally one).
    let mut have: BTreeMap<(&IfName, &Mac), Vec<IpAddr>> = BTreeMap::new();
    for f in live.fdb.iter().filter(|f| !gone.contains(f.dev.as_str())) {
        have.entry((&f.dev, &f.mac)).or_default().push(f.dst);
    }
    let want: BTreeMap<(&IfName, &Mac), IpAddr> = desired
        .fdb
        .iter()
        .map(|f| ((&f.dev, &f.mac), f.dst))
        .collect();
    for ((dev, mac), dsts) in &have {
        // Stale destinations: all of them when the MAC is no longer wanted;
        // the extra ones when the wanted destination is among several.
        let stale: Vec<_> = match want.get(&(*dev, *mac)) {
            None => dsts.iter().collect(),
            Some(w) if dsts.len() > 1 && dsts.contains(w) => {
                dsts.iter().filter(|d| *d != w).collect()
            }
            _ => Vec::new(),
        };
        for d in stale {
            changes.push(
                Change::new(
                    Step::Neighbors,
                    Action::Delete,
                    "fdb entry",
                    format!("{mac} dev {dev}"),
                )
                .attr("dst", Some(d.to_string()), None),
            );
            br.push(iproute::fdb_del(mac, dev, *d));
        }
    }
    for ((dev, mac), dst) in &want {
        let old = have.get(&(*dev, *mac));
        match old {
            Some(d) if d.contains(dst) => continue,
            Some(d) if d.len() == 1 => {
                changes.push(
                    Change::new(
                        Step::Neighbors,
                        Action::Update,
                        "fdb entry",
                        format!("{mac} dev {dev}"),
                    )
                    .attr("dst", Some(d[0].to_string()), Some(dst.to_string())),
                );
                br.push(iproute::fdb_replace(mac, dev, *dst));
            }
            Some(d) => {
                // Several stale destinations: delete them all, then add.
                for x in d {
                    br.push(iproute::fdb_del(mac, dev, *x));
                }
                changes.push(
                    Change::new(
                        Step::Neighbors,
                        Action::Update,
                        "fdb entry",
                        format!("{mac} dev {dev}"),
                    )
                    .attr(
                        "dst",
                        Some(
                            d.iter()
                                .map(ToString::to_string)
                                .collect::<Vec<_>>()
                                .join(", "),
                        ),
                        Some(dst.to_string()),
                    ),
                );
                br.push(iproute::fdb_append(mac, dev, *dst));
            }
            None => {
                changes.push(
                    Change::new(
                        Step::Neighbors,
                        Action::Create,
                        "fdb entry",
                        format!("{mac} dev {dev}"),
                    )
                    .attr("dst", None, Some(dst.to_string())),
                );
                br.push(iproute::fdb_replace(mac, dev, *dst));
            }
        }
    }
    let mut ops = Vec::new();
    if !ip.is_empty() {
        ops.push(Op::Ip { batch: ip });
    }
    if !br.is_empty() {
        ops.push(Op::Bridge { batch: br });
    }
    (changes, ops)
}
