//! One plan or apply against one target, start to end, holding its lock:
//!
//! ```text
//! open (target exists, lock) → plan (desired, live, diff) → preflight → apply (+ verify, rollback)
//! ```
//!
//! The CLI drives these calls and does the talking (rendering, prompting).

use crate::apply::{self, ApplyReport};
use crate::desired;
use crate::exec::Exec;
use crate::lock::{self, LockGuard, Mode};
use crate::plan::{self, Plan};
use crate::scope::Scope;
use crate::state::{self, Facts, State};
use crate::target::Target;
use crate::{preflight, Error};
use netc_ir::HostIr;
use netc_targets::Artifact;
use std::time::Duration;

pub struct Session {
    pub target: Target,
    pub exec: Exec,
    _lock: LockGuard,
}

/// A computed plan and everything it was computed from.
pub struct Planned {
    pub node: String,
    pub live: State,
    pub facts: Facts,
    pub desired: State,
    pub plan: Plan,
    /// Things the operator should know (shown with the plan).
    pub warnings: Vec<String>,
    /// Cache key of the desired nft table (remembered once applied).
    pub nft_key: Option<String>,
    /// The nft artifact (kept once applied: the next table is predicted from it).
    pub nft_artifact: Option<String>,
}

impl Planned {
    /// Fingerprint of `live` (saved plans, JSON output). Computed on demand:
    /// it serialises the whole live state, which for a large ruleset costs
    /// more than the diff, and a plain plan never needs it.
    pub fn fingerprint(&self) -> String {
        self.live.fingerprint()
    }
}

impl Session {
    /// Check the target exists and take its lock (shared for plan,
    /// exclusive for apply).
    pub fn open(target: Target, mode: Mode, lock_timeout: Duration) -> Result<Session, Error> {
        preflight::target_exists(&target)?;
        let guard = lock::acquire(&target.lock_path(), mode, lock_timeout)?;
        Ok(Session {
            exec: target.exec(),
            target,
            _lock: guard,
        })
    }

    /// Read the live state and diff it against the node's desired state.
    pub fn plan(&self, ir: &HostIr, artifacts: &[Artifact], force: bool) -> Result<Planned, Error> {
        self.plan_with(ir, artifacts, force, &Scope::default())
    }

    /// Read what netc owns on the target (no workload interface settings:
    /// they depend on the desired state, and [`Session::plan_from`] reads
    /// them). The CLI calls this on its own thread while the node compiles:
    /// the two are independent, and on a large node each costs about as
    /// much as the other. The session's lock is held, so nothing netc does
    /// changes the target in between.
    pub fn read_live(&self) -> Result<(State, Facts), Error> {
        netc_ir::timing::timed("read live", || {
            state::read_for_plan(&self.exec, &self.target.bird_config)
        })
    }

    /// [`Session::plan`], restricted or forced as `scope` says (`--only`,
    /// `--replace`).
    pub fn plan_with(
        &self,
        ir: &HostIr,
        artifacts: &[Artifact],
        force: bool,
        scope: &Scope,
    ) -> Result<Planned, Error> {
        self.plan_from(ir, artifacts, force, scope, None)
    }

    /// [`Session::plan_with`] on a live state already read with
    /// [`Session::read_live`] (None: read it now).
    pub fn plan_from(
        &self,
        ir: &HostIr,
        artifacts: &[Artifact],
        force: bool,
        scope: &Scope,
        prefetched: Option<(State, Facts)>,
    ) -> Result<Planned, Error> {
        let t = &self.target;
        let keys: Vec<_> = ir
            .workload_interfaces
            .iter()
            .flat_map(|w| w.settings.iter().map(|s| (w.name.clone(), s.sysctl)))
            .collect();
        // The desired side (maybe a scratch-namespace load) and the live
        // side (JSON only: enough to compare, and a no-change plan lists
        // once) are independent: read them side by side.
        // Known before the desired side is built only when read ahead: a
        // target without netc's table needs no canonical form to plan.
        let no_live_table = prefetched.as_ref().is_some_and(|(l, _)| !l.nft.present);
        let nft_artifact = artifacts
            .iter()
            .find(|a| a.file_name() == desired::NFT_ARTIFACT)
            .map(|a| a.contents.clone());
        // The table netc applied last (its artifact and canonical form): the
        // desired table may be predicted from it, and a live table still
        // listing as it needs no second reading. Read from the cache only
        // when one of those needs it (a no-change plan does not).
        let load_last = || {
            let _t = netc_ir::timing::phase("desired.last applied");
            let k = crate::cache::applied(t)?;
            let mut st = crate::cache::load::<state::NftState>(&k)?;
            st.kernel_digests =
                crate::cache::load(&crate::cache::kernel_key(&k)).unwrap_or_default();
            Some((
                crate::cache::load::<String>(&crate::cache::artifact_key(&k))?,
                st,
            ))
        };
        let mut last_cell = std::sync::OnceLock::new();
        let last =
            || -> Option<&(String, state::NftState)> { last_cell.get_or_init(load_last).as_ref() };
        let (desired, live) = std::thread::scope(|sc| {
            let d = sc.spawn(|| {
                netc_ir::timing::timed("desired", || {
                    desired::build(
                        ir,
                        artifacts,
                        t.firewall,
                        &t.bird_config,
                        no_live_table,
                        &|| last().map(|(a, s)| (a.as_str(), s)),
                    )
                })
            });
            let l = match prefetched {
                Some((mut live, facts)) => state::sysctl::read(&self.exec, &keys).map(|v| {
                    live.sysctls = v;
                    (live, facts)
                }),
                None => netc_ir::timing::timed("read live", || {
                    state::read_with(&self.exec, &t.bird_config, false, &keys)
                }),
            };
            let d = d
                .join()
                .unwrap_or_else(|_| Err(crate::DesiredError::Panicked.into()));
            (d, l)
        });
        let (mut desired, nft_key) = desired?;
        let (mut live, facts) = live?;
        live.nft = netc_ir::timing::timed("resolve live nft", || {
            // The table applied last is not needed after this: handed
            // over, not copied.
            state::nft::resolve(
                &self.exec,
                std::mem::take(&mut live.nft),
                &desired.nft,
                || match last_cell.take() {
                    Some(read) => read.map(|(_, s)| s),
                    None => load_last().map(|(_, s)| s),
                },
            )
        })?;
        // A tunnel under netc's name that netc did not make and no longer
        // wants is not netc's to delete.
        crate::destroy::keep_foreign(&live, &facts, &mut desired);
        let desired = scope.restrict(&live, &desired);
        let mut planned = self.finish(&ir.node, Some((ir, force)), live, facts, desired, scope)?;
        planned.nft_key = nft_key;
        planned.nft_artifact = nft_artifact;
        Ok(planned)
    }

    /// Plan `netc destroy`: towards a desired state without anything of
    /// netc's (see [`crate::destroy`]).
    pub fn plan_destroy(&self, node: &str, scope: &Scope) -> Result<Planned, Error> {
        let (live, facts) = state::read(&self.exec, &self.target.bird_config, false)?;
        let desired = scope.restrict(&live, &crate::destroy::desired(&live, &facts));
        // The guard protects a node's desired state from landing on the
        // wrong host; removing netc's objects needs no such guard.
        let mut p = self.finish(node, None, live, facts, desired, scope)?;
        if scope.includes(plan::Step::Links) {
            p.warnings
                .extend(crate::destroy::foreign_link_warnings(&p.facts));
        }
        if let Some(w) = crate::destroy::foreign_bird_warning(&p.live) {
            if scope.includes(plan::Step::Bird) {
                p.warnings.push(w);
            }
        }
        Ok(p)
    }

    /// Diff, with the nft text attached when the table changes, and the
    /// warnings. `guard`: the node's IR and `--force`, for the guard.
    fn finish(
        &self,
        node: &str,
        guard: Option<(&HostIr, bool)>,
        mut live: State,
        facts: Facts,
        desired: State,
        scope: &Scope,
    ) -> Result<Planned, Error> {
        let t = &self.target;
        let mut plan =
            netc_ir::timing::timed("diff", || plan::diff_with(&live, &desired, &scope.replace));
        let nft_changes = plan.changes.iter().any(|c| c.resource.starts_with("nft "));
        if nft_changes && live.nft.present && !live.nft.has_text {
            // The table will change: the snapshot needs its text (a rollback
            // may reload it whole), and the plan shows removed rules as text.
            // The table netc loaded last is in the cache; else list it.
            let adopted = crate::cache::applied(t)
                .and_then(|k| crate::cache::load::<state::NftState>(&k))
                .is_some_and(|c| live.nft.adopt_text(&c));
            if !adopted {
                let text = state::nft::read_text(&self.exec)?;
                live.nft.attach_text(&text);
            }
            plan = plan::diff_with(&live, &desired, &scope.replace);
        }
        foreign_replacements(&mut plan, &live, &facts, scope);
        let mut warnings: Vec<String> = plan
            .refused
            .iter()
            .map(|r| format!("apply will refuse: {r}"))
            .collect();
        if let Err(e) = preflight::tunnel_mtus(&desired, &facts) {
            warnings.push(format!("apply will refuse: {e}"));
        }
        if let Some(p) = crate::confirm::load(t)? {
            warnings.push(format!(
                "an apply of node {} is waiting for confirmation (reverts at {}): `netc confirm` keeps it, `netc confirm --rollback` undoes it",
                p.node,
                crate::confirm::utc(p.deadline_unix_ms)
            ));
        }
        if let (false, Some((ir, force))) = (plan.is_empty(), guard) {
            match preflight::guard(ir, &facts, t, force) {
                Ok(Some(w)) => warnings.push(w),
                Ok(None) => {}
                Err(e) => warnings.push(format!("apply will refuse: {e}")),
            }
        }
        Ok(Planned {
            node: node.to_string(),
            live,
            facts,
            desired,
            plan,
            warnings,
            nft_key: None,
            nft_artifact: None,
        })
    }

    /// The checks before `netc destroy` changes anything: no pending
    /// confirmation, the tools exist. (No guard, no kernel features: it
    /// only removes.)
    pub fn preflight_destroy(&self, p: &Planned) -> Result<(), Error> {
        crate::confirm::refuse_if_pending(&self.target)?;
        preflight::tools(&p.plan)
    }

    /// Every check that must pass before the first change. Returns warnings.
    pub fn preflight(&self, ir: &HostIr, p: &Planned, force: bool) -> Result<Vec<String>, Error> {
        let mut w = Vec::new();
        crate::confirm::refuse_if_pending(&self.target)?;
        if let Some(g) = preflight::guard(ir, &p.facts, &self.target, force)? {
            w.push(g);
        }
        if let Some(r) = p.plan.refused.first() {
            return Err(crate::error::PreflightError::Refused(r.clone()).into());
        }
        preflight::tunnel_mtus(&p.desired, &p.facts)?;
        preflight::kernel_features(&p.live, &p.desired)?;
        preflight::tools(&p.plan)?;
        Ok(w)
    }

    /// Apply, verify, roll back on failure.
    pub fn apply(&self, p: &Planned) -> Result<ApplyReport, Error> {
        let r = apply::apply(&self.exec, &self.target, &p.plan, &p.live, &p.desired)?;
        if let Some(k) = &p.nft_key {
            if p.plan
                .changes
                .iter()
                .any(|c| c.resource.starts_with("nft "))
            {
                if let Some(a) = &p.nft_artifact {
                    crate::cache::store(&crate::cache::artifact_key(k), a);
                }
                crate::cache::remember_applied(&self.target, k);
            }
        }
        crate::status::record_apply(&self.target, &p.node, r.summary);
        Ok(r)
    }
}

/// A tunnel device under netc's name that netc did not make (calico/node's,
/// or one made by hand) may carry addresses, neighbours and routes netc
/// knows nothing of. Replacing it destroys them all, so the plan names each
/// one, and apply refuses unless the operator asked for that device with
/// `--replace DEV`. (Updating such a device in place loses nothing and is
/// allowed; devices netc creates carry its alias and are never foreign.)
fn foreign_replacements(plan: &mut plan::Plan, live: &State, facts: &Facts, scope: &Scope) {
    for c in plan.changes.iter_mut() {
        if c.step != plan::Step::Links || c.action != plan::Action::Replace {
            continue;
        }
        let Some(routes) = facts.foreign_links.get(&c.id) else {
            continue;
        };
        let dev = c.id.as_str();
        let on = live.devices_only(|d| d == dev);
        let mut lost: Vec<String> = on
            .addresses
            .iter()
            .map(|a| format!("address {}", a.addr))
            .collect();
        lost.extend(
            on.neighbors
                .iter()
                .map(|n| format!("neighbour {} lladdr {}", n.ip, n.mac)),
        );
        lost.extend(
            on.fdb
                .iter()
                .map(|f| format!("fdb {} dst {}", f.mac, f.dst)),
        );
        lost.extend(routes.iter().cloned());
        let what = if lost.is_empty() {
            "nothing else is on it".to_string()
        } else {
            format!("replacing it destroys: {}", lost.join("; "))
        };
        c.note = Some(format!(
            "{dev} was not made by netc (it lacks netc's interface alias); {what}"
        ));
        if !scope.replace.contains(dev) {
            plan.refused.push(format!(
                "tunnel {dev} exists but was not made by netc, and the plan replaces it ({what}); pass `--replace {dev}` to allow it"
            ));
        }
    }
}
