//! Policies known to pass their own checks: the rule checks of
//! [`super::policy`] and the shadowing checks of [`super::shadow`] found
//! nothing in a policy of exactly this content before, so they are not run
//! again.
//!
//! Why: those two checks read every rule of every policy, and a plan after
//! a one-rule edit ran them on the whole cluster again — at 100,000 rules
//! ~75 ms on each of two cores (BENCHMARKS.md, "Plan and apply"). An edit
//! changes one policy.
//!
//! What stays exact:
//! - Both checks read nothing but the policy itself (its kind, metadata and
//!   spec) and are deterministic; a policy whose content is byte for byte
//!   one that passed them would pass them again. The key is a digest of
//!   the kind, the resource less its spec and the spec's JSON text, and
//!   the memo lives in the document store, whose entries belong to this
//!   netc binary alone (`load::doc_cache::DocStore`).
//! - Only a clean result is remembered: a policy with a finding is checked
//!   on every run, so its diagnostics (and their spans) are always fresh.
//! - Keys come only from specs read back as text from the document cache
//!   (`RawResource::spec_json`): a policy loaded from YAML this run is
//!   checked, and remembered on a later run.

use crate::load::doc_cache::DocStore;
use crate::load::RawResource;
use crate::model::Kind;
use std::collections::BTreeSet;

/// The store entry holding the memo.
const ENTRY: &str = "policy-checks-clean-1";
/// Past this many keys the memo keeps only the current input's.
const KEEP: usize = 100_000;

/// The content key of a policy read back from the document cache; None
/// for another kind or a spec that is not text.
pub(super) fn key(raw: &RawResource) -> Option<String> {
    if !matches!(raw.kind, Kind::GlobalNetworkPolicy | Kind::NetworkPolicy) {
        return None;
    }
    let spec = raw.spec_json.as_ref()?;
    let rest = serde_json::to_string(&raw.value).ok()?;
    let mut h = crate::ir::digest::Parts::new();
    h.add(ENTRY.as_bytes())
        .add(raw.kind.as_str().as_bytes())
        .add(rest.as_bytes())
        .add(spec.get().as_bytes());
    Some(h.hex(16))
}

/// The memo as read from the store (empty without one).
pub(super) struct Clean {
    known: BTreeSet<String>,
}

impl Clean {
    pub fn read(store: Option<&dyn DocStore>) -> Clean {
        let known = store
            .and_then(|s| s.get(ENTRY))
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default();
        Clean { known }
    }

    pub fn has(&self, key: Option<&str>) -> bool {
        key.is_some_and(|k| self.known.contains(k))
    }

    /// Remember `now_clean` (the keys of this run's policies that passed,
    /// checked or skipped) when that adds anything.
    pub fn write(self, store: Option<&dyn DocStore>, now_clean: BTreeSet<String>) {
        let Some(store) = store else { return };
        if now_clean.is_subset(&self.known) {
            return;
        }
        let mut all = self.known;
        all.extend(now_clean.iter().cloned());
        let keep = if all.len() > KEEP { now_clean } else { all };
        if let Ok(text) = serde_json::to_string(&keep) {
            store.put(ENTRY, &text);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::load_source_with;
    use crate::source::SourceMap;
    use std::collections::HashMap;
    use std::sync::Mutex;

    #[derive(Default)]
    struct MemStore(Mutex<HashMap<String, String>>);

    impl DocStore for MemStore {
        fn get(&self, key: &str) -> Option<String> {
            self.0.lock().unwrap().get(key).cloned()
        }
        fn put(&self, key: &str, entry: &str) {
            self.0.lock().unwrap().insert(key.into(), entry.into());
        }
    }

    const INPUT: &str = "\
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: clean
spec:
  selector: all()
  ingress:
  - action: Allow
    protocol: TCP
    source:
      nets: [10.0.0.0/8]
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: shadowed
spec:
  selector: all()
  ingress:
  - action: Allow
    protocol: TCP
  - action: Deny
    protocol: TCP
    destination:
      ports: [22]
";

    /// The codes found, and the memo's keys after the run.
    fn run(store: &MemStore) -> (Vec<&'static str>, BTreeSet<String>) {
        let mut sm = SourceMap::new();
        let id = sm.add("p.yaml", INPUT);
        let (raws, _) = load_source_with(id, &sm, Some(store));
        let (_, diags) = super::super::validate_with(raws, Some(store));
        let codes = diags.items.iter().map(|d| d.code).collect();
        (codes, Clean::read(Some(store)).known)
    }

    /// A policy is remembered once it was read back from the document
    /// cache and passed; one with a finding never is; and a remembered
    /// policy is not checked (shown by remembering the shadowed one by
    /// hand: its finding is gone).
    #[test]
    fn only_clean_policies_are_remembered_and_they_are_skipped() {
        let store = MemStore::default();
        // Loaded from YAML: no keys yet.
        let (first, known) = run(&store);
        assert!(first.contains(&"W0718"), "{first:?}");
        assert!(known.is_empty());
        // Read back from the document cache: the clean policy is remembered.
        let (second, known) = run(&store);
        assert_eq!(second, first);
        assert_eq!(known.len(), 1, "{known:?}");
        // And the same findings with the memo in use.
        let (third, again) = run(&store);
        assert_eq!(third, first);
        assert_eq!(again, known);
        // The memo is consulted: the shadowed policy's key, remembered by
        // hand, hides its finding.
        let mut sm = SourceMap::new();
        let id = sm.add("p.yaml", INPUT);
        let (raws, _) = load_source_with(id, &sm, Some(&store));
        let all: BTreeSet<String> = raws.iter().filter_map(key).collect();
        assert_eq!(all.len(), 2);
        store.put(ENTRY, &serde_json::to_string(&all).unwrap());
        let (poisoned, _) = run(&store);
        assert!(!poisoned.contains(&"W0718"), "{poisoned:?}");
    }
}
