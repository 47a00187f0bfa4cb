//! Verification: read the target back; it must equal the state asked for.
//! "Equal" is "the planner finds nothing to do", so verification uses the
//! same normalisation and comparison as planning.

use crate::plan;
use crate::state::{self, State};
use crate::target::Target;
use crate::Error;
use std::collections::BTreeMap;

/// The outcome of comparing the target with the state asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verification {
    Matches,
    /// What still differs, one `± resource id` line each.
    Differs(Vec<String>),
}

/// Read the target back and compare it with `want` (every part).
pub fn verify(t: &Target, exec: &crate::exec::Exec, want: &State) -> Result<Verification, Error> {
    verify_steps(t, exec, want, &plan::Step::ALL)
}

/// What a verification reads after an apply that ran `steps`: the parts
/// those steps wrote. A change to links, addresses or neighbours can take
/// routes and FDB entries with it in the kernel, so it reads everything.
fn parts(steps: &[plan::Step]) -> state::Parts {
    use plan::Step::*;
    if steps
        .iter()
        .any(|s| matches!(s, Links | Addresses | Neighbors))
    {
        return state::Parts::ALL;
    }
    state::Parts {
        links: false,
        routes: steps.contains(&Routes),
        sysctls: steps.contains(&Interfaces),
        firewall: steps.contains(&Firewall),
        bird: steps.contains(&Bird),
    }
}

/// The parts a verification did not read are taken as planned: the apply
/// did not write them.
fn fill_unread(live: &mut State, want: &State, p: state::Parts) {
    if !p.links {
        live.links = want.links.clone();
        live.addresses = want.addresses.clone();
        live.neighbors = want.neighbors.clone();
        live.fdb = want.fdb.clone();
    }
    if !p.routes {
        live.routes = want.routes.clone();
    }
    if !p.sysctls {
        live.sysctls = want.sysctls.clone();
    }
    if !p.firewall {
        live.nft = want.nft.clone();
        live.iptables = want.iptables.clone();
    }
    if !p.bird {
        live.bird = want.bird.clone();
    }
}

/// Read back what an apply of `steps` wrote and compare it with `want`.
///
/// A desired nft table taken from the artifact as written
/// ([`state::NftState::uncanonical`]) cannot be compared with nft's listing
/// line by line. The table was loaded whole in one `nft -f` transaction
/// (all or nothing), so the listing is checked for the same sets and
/// chains with as many elements and rules, then kept as the artifact's
/// canonical form (the next plan compares exactly). Should the shape
/// differ, the canonical form is computed the slow way (a scratch
/// namespace) and compared exactly, as for any other table.
pub fn verify_steps(
    t: &Target,
    exec: &crate::exec::Exec,
    want: &State,
    steps: &[plan::Step],
) -> Result<Verification, Error> {
    let p = parts(steps);
    let read_listing = |mode: state::nft::Listing| -> Result<State, Error> {
        let (mut live, _) = state::read_parts(exec, &t.bird_config, mode, &want.sysctl_keys(), p)?;
        fill_unread(&mut live, want, p);
        Ok(live)
    };
    let read = |text: bool| {
        read_listing(if text {
            state::nft::Listing::JsonAndText
        } else {
            state::nft::Listing::Json
        })
    };
    if !p.firewall {
        return Ok(compare(&read(false)?, want));
    }
    if let (Some(key), Some(listing)) = (&want.nft.predicted, &want.nft.predicted_listing) {
        // Only what the apply changed, listed object by object (a set of
        // a thousand elements instead of a table of ten thousand): when
        // each lists as predicted, the table is the predicted one — the
        // rest of it was not written, and the lock kept anyone else out.
        // Should anything else differ after all, the next plan's text
        // comparison sees it and reads the table whole.
        // What is cached when they do (the predicted table with the
        // predicted listing as its text) is written out meanwhile, and
        // stored only once they do: at 100,000 elements that is tens of ms.
        let (changed, cached) = std::thread::scope(|sc| {
            let cached = sc.spawn(|| {
                let _t = netc_ir::timing::phase("verify.cache text");
                serde_json::to_string(&CachedForm::of(&want.nft, listing))
                    .ok()
                    .map(|text| (text, kernel_digests(&want.nft)))
            });
            let changed = netc_ir::timing::timed("verify changed objects", || {
                verify_changed(exec, want, listing, &read_listing)
            });
            (changed, cached.join().ok().flatten())
        });
        if changed? {
            // (None: the table could not be written out, so nothing is
            // cached; writing it again would fail the same way.)
            if let Some((text, digests)) = cached {
                crate::cache::store_text(key, &text);
                crate::cache::store(&crate::cache::kernel_key(key), &digests);
            }
            return Ok(Verification::Matches);
        }
        // The text listing alone (a third of the cost of both): when it
        // shows the predicted content, the table is the predicted one, by
        // the argument `nft::resolve` makes for a plan — nft prints the
        // text and the JSON from the same kernel objects, and the predicted
        // text was written from the predicted JSON elements.
        let mut live = read_listing(state::nft::Listing::TextFirst)?;
        if live.nft.present && state::nft::same_text(&live.nft.text, listing) {
            live.nft = want
                .nft
                .adopted_as_listed(std::mem::take(&mut live.nft.text));
            if let v @ Verification::Matches = compare(&live, want) {
                crate::cache::store(key, &without_handles(&live.nft));
                return Ok(v);
            }
        }
    }
    if want.nft.has_text && want.nft.uncanonical.is_none() && want.nft.predicted.is_none() {
        // A canonical form nft printed (cached from a scratch load or an
        // earlier apply): read back as a plan reads the table (nft's terse
        // text, each set's elements from the kernel), and resolved against
        // it as a plan resolves (`nft::resolve`); the table is listed whole
        // only if it differs.
        return netc_ir::timing::timed("verify known table", || {
            let mut live = read_listing(state::nft::Listing::TerseAndKernel)?;
            live.nft =
                state::nft::resolve(exec, std::mem::take(&mut live.nft), &want.nft, || None)?;
            Ok(compare(&live, want))
        });
    }
    if let Some(key) = want.nft.predicted.clone() {
        // Exact comparison; the listing with its text becomes the cached
        // canonical form. A miss is the prediction's, not the apply's:
        // compare again with the canonical form learnt the slow way.
        let live = read(true)?;
        if let v @ Verification::Matches = compare(&live, want) {
            crate::cache::store(&key, &without_handles(&live.nft));
            return Ok(v);
        }
        let mut want = want.clone();
        want.nft = crate::desired::canonical_nft(&want.nft.text, &key)?;
        return Ok(compare(&live, &want));
    }
    let Some(key) = want.nft.uncanonical.clone() else {
        return Ok(compare(&read(false)?, want));
    };
    if let Some(v) = netc_ir::timing::timed("verify loaded table", || {
        verify_loaded(exec, want, &key, &read_listing)
    })? {
        return Ok(v);
    }
    let live = read(true)?;
    let mut want = want.clone();
    if live.nft.has_text && live.nft.same_shape(&want.nft) {
        crate::cache::store(&key, &without_handles(&live.nft));
        want.nft = live.nft.clone();
    } else {
        want.nft = crate::desired::canonical_nft(&want.nft.text, &key)?;
    }
    Ok(compare(&live, &want))
}

/// [`verify_steps`] for a predicted table: list the sets and chains the
/// prediction changed, compare each with its predicted text, and compare
/// everything else the apply wrote. True when all match; false to verify
/// the long way.
fn verify_changed(
    exec: &crate::exec::Exec,
    want: &State,
    listing: &str,
    read_listing: &dyn Fn(state::nft::Listing) -> Result<State, Error>,
) -> Result<bool, Error> {
    let objects = &want.nft.predicted_changed;
    if objects.is_empty() {
        return Ok(false);
    }
    let (live, listed) = std::thread::scope(|sc| {
        let listed = sc.spawn(|| {
            objects
                .iter()
                .map(|o| {
                    let (kind, name) = o.split_once(' ')?;
                    if let Some(same) = kernel_set_matches(exec, want, kind, name) {
                        return Some(same);
                    }
                    let args = ["-a", "list", kind, "inet", state::NFT_TABLE, name];
                    let out = exec.read("nft", &args).ok().filter(|x| x.success())?;
                    let live = state::nft::object_block(&out.stdout, o)?;
                    let predicted = state::nft::object_block(listing, o)?;
                    Some(state::nft::same_text(live, predicted))
                })
                .collect::<Option<Vec<bool>>>()
        });
        let live = read_listing(state::nft::Listing::Skip);
        (live, listed.join().ok().flatten())
    });
    let live = live?;
    if !listed.is_some_and(|l| l.iter().all(|same| *same)) {
        return Ok(false);
    }
    // The table is the predicted one: the rest is compared, without a
    // copy of the table.
    Ok(matches!(
        compare(&live, &without_nft(want)),
        Verification::Matches
    ))
}

/// [`verify_steps`] for a table loaded whole from its artifact (the
/// target had none): nft lists it without set elements (`nft -t`), each
/// set's elements are read from the kernel and must be the artifact's,
/// and the listing with the artifact's elements written as nft lists them
/// ([`state::nft_predict::with_artifact_elements`]) becomes the canonical
/// form. A full listing of a 10,000-element table cost ~130 ms here, of
/// 100,000 elements 1.3 s, most of it nft printing elements the kernel
/// hands over in milliseconds. None when this cannot tell (a set it does
/// not encode, elements that differ, another shape): the caller lists
/// the table whole and learns its form from that.
fn verify_loaded(
    exec: &crate::exec::Exec,
    want: &State,
    key: &str,
    read_listing: &dyn Fn(state::nft::Listing) -> Result<State, Error>,
) -> Result<Option<Verification>, Error> {
    let Some((mut live, canonical, dumps)) = terse_and_kernel(exec, want, read_listing)? else {
        return Ok(None);
    };
    let mut canonical = canonical;
    clear_handles(&mut canonical);
    // The canonical form is written out while the kernel's elements are
    // compared, and stored only if they are the artifact's.
    let (held, text) = std::thread::scope(|sc| {
        let text = sc.spawn(|| {
            let _t = netc_ir::timing::phase("verify.cache text");
            serde_json::to_string(&canonical).ok()
        });
        // Each set's kernel digest is learnt on the way, for the next
        // plan ([`state::NftState::kernel_digests`]).
        let held = netc_ir::timing::timed("verify.kernel holds", || {
            if !canonical.same_shape(&want.nft) {
                return None;
            }
            canonical
                .sets
                .iter()
                .map(|s| Some((s.name.clone(), state::nft_kernel::held_digest(&dumps, s)?)))
                .collect::<Option<BTreeMap<String, String>>>()
        });
        (held, text.join().ok().flatten())
    });
    let Some(digests) = held else {
        return Ok(None);
    };
    if let Some(t) = text {
        crate::cache::store_text(key, &t);
        crate::cache::store(&crate::cache::kernel_key(key), &digests);
    }
    // The table is the canonical one on both sides by construction: the
    // rest is compared, without copying 100,000 elements twice to do so.
    live.nft = state::NftState::default();
    Ok(Some(compare(&live, &without_nft(want))))
}

/// The target read back with nft's terse listing (no set elements), that
/// listing with the artifact's elements written as nft lists them
/// ([`state::nft_predict::with_artifact_elements`]) and, read beside both,
/// the elements of each of `want`'s sets from the kernel. None when the
/// runner cannot read the kernel (a replay: the caller lists the table
/// whole, and the terse listing is never run), a dump failed (a set is
/// missing), the table is gone or the listing and the artifact do not fit.
fn terse_and_kernel(
    exec: &crate::exec::Exec,
    want: &State,
    read_listing: &dyn Fn(state::nft::Listing) -> Result<State, Error>,
) -> Result<Option<(State, state::NftState, state::nft_kernel::Dumps)>, Error> {
    if !exec.reads_kernel() {
        return Ok(None);
    }
    // Three reads side by side: the kernel's elements; nft's terse listing
    // and the canonical form built on it; the rest of the target (links,
    // routes… — the slowest, at 1,000 routes). The artifact's elements are
    // written as nft lists them meanwhile.
    let (in_kernel, terse, rest) = std::thread::scope(|sc| {
        let dumps = sc.spawn(|| {
            let _t = netc_ir::timing::phase("verify.kernel dumps");
            state::nft::kernel_dumps(exec, want.nft.sets.iter().map(|s| s.name.as_str()))
        });
        let listed = sc.spawn(|| {
            let _t = netc_ir::timing::phase("verify.listed elements");
            state::nft_predict::listed_elements(&want.nft)
        });
        let terse = sc.spawn(|| {
            let nft = state::nft::read_listing(exec, state::nft::Listing::Terse)?;
            let listed = listed.join().unwrap_or_default();
            let canonical = nft.present.then(|| {
                netc_ir::timing::timed("verify.canonical", || {
                    state::nft_predict::with_listed_elements(&nft, &want.nft, listed)
                })
            });
            Ok::<_, Error>((nft, canonical.flatten()))
        });
        let rest = read_listing(state::nft::Listing::Skip);
        (
            dumps.join().ok().flatten(),
            terse
                .join()
                .unwrap_or_else(|_| Err(crate::DesiredError::Panicked.into())),
            rest,
        )
    });
    let ((nft, canonical), mut live) = (terse?, rest?);
    live.nft = nft;
    Ok(match (in_kernel, canonical) {
        (Some(dumps), Some(canonical)) => Some((live, canonical, dumps)),
        _ => None,
    })
}

/// `want` without its nft table (the rest cloned).
fn without_nft(want: &State) -> State {
    let State {
        links,
        addresses,
        neighbors,
        fdb,
        routes,
        nft: _,
        iptables,
        bird,
        sysctls,
    } = want;
    State {
        links: links.clone(),
        addresses: addresses.clone(),
        neighbors: neighbors.clone(),
        fdb: fdb.clone(),
        routes: routes.clone(),
        nft: state::NftState::default(),
        iptables: iptables.clone(),
        bird: bird.clone(),
        sysctls: sysctls.clone(),
    }
}

/// A changed set read from the kernel over netlink and compared element
/// by element with the predicted one ([`state::nft_kernel`]): a few
/// milliseconds where `nft list set` takes ~90 for 10,000 elements. None
/// when that cannot tell (not a set, a layout or element it does not
/// encode, a runner without a kernel, a failed dump): nft lists the set.
///
/// This compares contents, not nft's spelling of them: the predicted
/// elements are written as nft lists them by rules that tests hold to
/// nft's own listing (`tests/host_canonical.rs`: random edits, and every
/// golden node's elements). Should a spelling still differ, the next plan
/// reads the JSON listing (the cached text no longer matches) and shows
/// that element as changed: visible, never a silent difference.
fn kernel_set_matches(
    exec: &crate::exec::Exec,
    want: &State,
    kind: &str,
    name: &str,
) -> Option<bool> {
    if kind != "set" {
        return None;
    }
    let set = want.nft.sets.iter().find(|s| s.name == name)?;
    let layout = state::nft_kernel::Layout::of(set)?;
    // The predicted elements are encoded while the kernel dumps its own.
    let (elems, desired) = std::thread::scope(|sc| {
        let desired = sc.spawn(|| layout.intervals_of(set));
        let elems = exec.kernel_set_elements(name);
        (elems, desired.join().ok().flatten())
    });
    let live = state::nft_kernel::intervals(&elems?.ok()?, &layout)?;
    Some(live == desired?)
}

/// `want` as the cache keeps it once verified: as listed
/// (`adopted_as_listed(listing)`) and without rule handles,
/// written in `NftState`'s own form straight from `want` — its sets are
/// not copied (100,000 elements at the largest benchmark).
#[derive(serde::Serialize)]
struct CachedForm<'a> {
    present: bool,
    sets: &'a [state::nft::NftSet],
    chains: Vec<state::nft::NftChain>,
    others: &'a [serde_json::Value],
    text: &'a str,
    has_text: bool,
}

impl<'a> CachedForm<'a> {
    fn of(want: &'a state::NftState, listing: &'a str) -> CachedForm<'a> {
        let mut chains = want.chains.clone();
        for ch in &mut chains {
            for r in &mut ch.rules {
                r.handle = 0;
            }
        }
        CachedForm {
            present: want.present,
            sets: &want.sets,
            chains,
            others: &want.others,
            text: listing,
            has_text: true,
        }
    }
}

/// The kernel digests to keep beside `want` once verified: those it read
/// with its sets (unchanged since), and those of the sets whose elements
/// were read anyway (the sets the apply changed; every set, once, on the
/// first plan after the table was cached without digests). A set whose
/// elements were never read gets none: reading them for it would cost
/// what the digest saves, and the next plan reads them instead.
fn kernel_digests(want: &state::NftState) -> BTreeMap<String, String> {
    want.sets
        .iter()
        .filter_map(|s| {
            let d = match s.kernel_digest(want) {
                Some(d) => d.to_string(),
                None if !s.elems.unread() => state::nft_kernel::digest(s)?,
                None => return None,
            };
            Some((s.name.clone(), d))
        })
        .collect()
}

/// A listed table as a cached canonical form: rule handles are the live
/// table's own, never a desired table's.
fn without_handles(n: &state::NftState) -> state::NftState {
    let mut c = n.clone();
    clear_handles(&mut c);
    c
}

fn clear_handles(n: &mut state::NftState) {
    for ch in &mut n.chains {
        for r in &mut ch.rules {
            r.handle = 0;
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The cached form written straight from a predicted table is what
    /// adopting it as listed and clearing its handles gives.
    #[test]
    fn cached_form_is_the_adopted_table_without_handles() {
        let json = r#"{"nftables": [{"metainfo": {"version": "1.0.6"}}, {"table": {"family": "inet", "name": "netc", "handle": 2}}, {"set": {"family": "inet", "name": "s4", "table": "netc", "type": "ipv4_addr", "handle": 3, "flags": ["interval"], "elem": [{"prefix": {"addr": "10.0.0.0", "len": 24}}, "10.1.0.5"]}}, {"chain": {"family": "inet", "table": "netc", "name": "pol", "handle": 1}}, {"rule": {"family": "inet", "table": "netc", "chain": "pol", "handle": 5, "comment": "p1 rule 0", "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": "@s4"}}, {"accept": null}]}}, {"counter": {"family": "inet", "table": "netc", "name": "c", "handle": 9, "packets": 0, "bytes": 0}}]}"#;
        let text = "table inet netc { # handle 2\n\tset s4 { # handle 3\n\t\ttype ipv4_addr\n\t\tflags interval\n\t\telements = { 10.0.0.0/24, 10.1.0.5 }\n\t}\n\n\tchain pol { # handle 1\n\t\tip saddr @s4 accept comment \"p1 rule 0\" # handle 5\n\t}\n}\n";
        let mut st = state::nft::parse(json, text).unwrap();
        assert!(st.chains[0].rules[0].handle != 0);
        st.predicted = Some("k".into());
        st.predicted_listing = Some("listing".into());
        st.predicted_changed = vec!["set s4".into()];
        let listing = "table inet netc {\n}\n";
        assert_eq!(
            serde_json::to_string(&CachedForm::of(&st, listing)).unwrap(),
            serde_json::to_string(&without_handles(&st.adopted_as_listed(listing.into()))).unwrap()
        );
    }
}
