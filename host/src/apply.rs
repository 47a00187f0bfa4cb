//! Applying a plan: run its steps in order (tunnels → addresses →
//! neighbours/FDB → routes → workload interfaces, with the firewall beside
//! them on a thread of its own → BIRD), each as atomic as the kernel allows; then read the target back and verify it equals the desired
//! state. If a step fails or verification finds a difference, roll back:
//! plan from the current live state to the snapshot taken before the
//! apply, run that, and verify the snapshot is back. The error names the
//! step, the reason, and whether the target was restored.
//!
//! Test hook: `NETC_INJECT_FAILURE=<step>` (e.g. `routes`) makes that step
//! fail after its commands ran, and `NETC_INJECT_FAILURE=verify` makes
//! verification fail, to exercise rollback. Rollbacks and reverts ignore it.

use crate::exec::{Exec, ExecError};
use crate::plan::{self, BirdOp, Op, Plan, Step, Summary};
use crate::state::State;
use crate::target::Target;
use crate::verify::{self, Verification};
use crate::{bird, Error};

/// Why a step (or verification) failed.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// A tool refused its commands.
    #[error(transparent)]
    Exec(#[from] ExecError),
    #[error(transparent)]
    Bird(#[from] bird::BirdError),
    /// `NETC_INJECT_FAILURE` (tests).
    #[error("injected failure (NETC_INJECT_FAILURE={})", step.map(Step::label).unwrap_or("verify"))]
    Injected { step: Option<Step> },
    #[error("after applying, {target} still differs from the desired state:\n  {}", differences.join("\n  "))]
    Verification {
        target: String,
        differences: Vec<String>,
    },
}

#[derive(Clone, Debug)]
pub struct ApplyReport {
    pub summary: Summary,
    pub warnings: Vec<String>,
}

#[derive(Clone, Debug)]
pub enum Rollback {
    /// The failure came before any write.
    NothingToUndo,
    /// Restored and verified.
    Restored,
    /// Differences that remain after the rollback.
    Incomplete(Vec<String>),
}

#[derive(Debug)]
pub struct ApplyFailure {
    /// `step 4/6 (routes)` or `verification`.
    pub failed: String,
    pub step: Option<Step>,
    pub cause: StepError,
    pub rollback: Rollback,
    pub target: String,
    /// Where the snapshot was saved when the rollback was incomplete.
    pub snapshot_file: Option<std::path::PathBuf>,
}

impl std::fmt::Display for ApplyFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{} failed: {}", self.failed, self.cause)?;
        match &self.rollback {
            Rollback::NothingToUndo => {
                write!(f, "nothing had been changed: {} is as it was", self.target)
            }
            Rollback::Restored => write!(
                f,
                "rolled back: {} is restored to its state before this apply (verified)",
                self.target
            ),
            Rollback::Incomplete(d) => {
                write!(
                    f,
                    "ROLLBACK INCOMPLETE: {} still differs from its state before this apply:",
                    self.target
                )?;
                for l in d {
                    write!(f, "\n  {l}")?;
                }
                if let Some(p) = &self.snapshot_file {
                    write!(
                        f,
                        "\nthe snapshot of the previous state is saved in {}",
                        p.display()
                    )?;
                }
                Ok(())
            }
        }
    }
}

/// Outcome of running a plan's steps.
struct Run {
    warnings: Vec<String>,
    /// (index in plan.steps, step, reason) of the first failure.
    failure: Option<(usize, Step, StepError)>,
    /// Any write was attempted.
    wrote: bool,
}

fn inject() -> Option<Step> {
    std::env::var("NETC_INJECT_FAILURE")
        .ok()
        .and_then(|s| Step::parse(&s))
}

/// Run every step; stop at the first failure unless `keep_going` (rollback
/// does as much as it can).
///
/// The firewall runs on a thread of its own beside the device steps
/// (tunnels, addresses, neighbours/FDB, routes, workload interfaces): its
/// rules name interfaces and never need them to exist, and `nft` takes the
/// nftables lock, not the routing lock `ip` and `bridge` wait on, so a
/// first apply loads its table while routes are written (BENCHMARKS.md,
/// "Plan and apply"). BIRD waits for both. A failure stops the side it
/// happened on; the other side finishes what it started, and the rollback
/// plans from the state it reads back, whichever side wrote what.
fn execute(exec: &Exec, t: &Target, plan: &Plan, keep_going: bool, allow_inject: bool) -> Run {
    let injected = if allow_inject { inject() } else { None };
    let steps: Vec<(usize, &plan::StepOps)> = plan.steps.iter().enumerate().collect();
    let (firewall, others): (Vec<_>, Vec<_>) = steps
        .into_iter()
        .partition(|(_, st)| st.step == Step::Firewall);
    let (devices, last): (Vec<_>, Vec<_>) = others
        .into_iter()
        .partition(|(_, st)| st.step != Step::Bird);
    let side = |steps: &[(usize, &plan::StepOps)]| run_steps(exec, t, steps, keep_going, injected);
    let mut run = if firewall.is_empty() || devices.is_empty() {
        // One side has nothing to run: no thread for it.
        let mut run = side(&devices);
        run.join(side(&firewall));
        run
    } else {
        std::thread::scope(|s| {
            let fw = s.spawn(|| side(&firewall));
            let mut run = side(&devices);
            run.join(fw.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
            run
        })
    };
    if run.failure.is_none() || keep_going {
        run.join(side(&last));
    }
    run
}

impl Run {
    /// Add what another group of steps did; the failure kept is the one of
    /// the earliest step, as a run in plan order would have met it.
    fn join(&mut self, other: Run) {
        self.warnings.extend(other.warnings);
        self.wrote |= other.wrote;
        self.failure = match (self.failure.take(), other.failure) {
            (Some(a), Some(b)) => Some(if b.0 < a.0 { b } else { a }),
            (a, b) => a.or(b),
        };
    }
}

/// Run `steps` (index in the plan, step) in order; stop at the first
/// failure unless `keep_going`.
fn run_steps(
    exec: &Exec,
    t: &Target,
    steps: &[(usize, &plan::StepOps)],
    keep_going: bool,
    injected: Option<Step>,
) -> Run {
    let mut run = Run {
        warnings: Vec::new(),
        failure: None,
        wrote: false,
    };
    for &(i, st) in steps {
        for op in &st.ops {
            run.wrote = true;
            if let Err(e) = execute_op(exec, t, op, &mut run.warnings) {
                if run.failure.is_none() {
                    run.failure = Some((i, st.step, e));
                }
                if !keep_going {
                    return run;
                }
            }
        }
        if injected == Some(st.step) && run.failure.is_none() {
            run.failure = Some((
                i,
                st.step,
                StepError::Injected {
                    step: Some(st.step),
                },
            ));
            return run;
        }
    }
    run
}

fn execute_op(
    exec: &Exec,
    t: &Target,
    op: &Op,
    warnings: &mut Vec<String>,
) -> Result<(), StepError> {
    let batch = |prog: &str, lines: &[String]| -> Result<(), StepError> {
        let mut text = lines.join("\n");
        text.push('\n');
        exec.write(prog, &["-batch", "-"], Some(&text))?.check()?;
        Ok(())
    };
    match op {
        Op::Ip { batch: b } => batch("ip", b),
        Op::Bridge { batch: b } => batch("bridge", b),
        Op::Nft {
            script, fallback, ..
        } => match exec
            .write("nft", &["-f", "-"], Some(script))
            .and_then(|o| o.check())
        {
            Ok(_) => Ok(()),
            Err(e) => match fallback {
                // The failed transaction changed nothing: reload the whole table.
                Some(full) => {
                    warnings.push(format!(
                        "the nftables delta was refused ({e}); reloaded the whole table instead"
                    ));
                    exec.write("nft", &["-f", "-"], Some(full))?.check()?;
                    Ok(())
                }
                None => Err(e.into()),
            },
        },
        Op::IptRestore { family, script } => {
            let (_, restore) = crate::state::iptables::tools(family);
            exec.write(restore, &["-w", "10", "--noflush"], Some(script))?
                .check()?;
            Ok(())
        }
        Op::Bird(BirdOp::Install {
            path,
            contents,
            sensitive,
            existing,
        }) => {
            let w = bird::install(exec, &t.bird_socket, path, contents, *sensitive, *existing)?;
            warnings.extend(w);
            Ok(())
        }
        Op::Sysctl { assignments } => {
            let mut args = vec!["-q", "-w"];
            args.extend(assignments.iter().map(String::as_str));
            exec.write("sysctl", &args, None)?.check()?;
            Ok(())
        }
        Op::Bird(BirdOp::Remove { path }) => {
            let w = bird::remove(exec, &t.bird_socket, path)?;
            warnings.extend(w);
            Ok(())
        }
    }
}

/// Apply `plan` (computed from `snapshot` to `desired`), verify, and roll
/// back to `snapshot` on any failure.
pub fn apply(
    exec: &Exec,
    t: &Target,
    plan: &Plan,
    snapshot: &State,
    desired: &State,
) -> Result<ApplyReport, Error> {
    let run = netc_ir::timing::timed("execute", || execute(exec, t, plan, false, true));
    let mut warnings = run.warnings;
    if let Some((i, step, cause)) = run.failure {
        let rb = if run.wrote {
            rollback(exec, t, snapshot)
        } else {
            Rollback::NothingToUndo
        };
        return Err(failure(
            t,
            format!("step {}/{} ({})", i + 1, plan.steps.len(), step.label()),
            Some(step),
            cause,
            rb,
            snapshot,
        ));
    }
    let steps: Vec<Step> = plan.steps.iter().map(|s| s.step).collect();
    let mut verified =
        netc_ir::timing::timed("verify", || verify::verify_steps(t, exec, desired, &steps))?;
    if std::env::var("NETC_INJECT_FAILURE").as_deref() == Ok("verify") {
        verified = Verification::Differs(vec![StepError::Injected { step: None }.to_string()]);
    }
    if let Verification::Differs(differences) = verified {
        let rb = rollback(exec, t, snapshot);
        return Err(failure(
            t,
            "verification".into(),
            None,
            StepError::Verification {
                target: t.label(),
                differences,
            },
            rb,
            snapshot,
        ));
    }
    warnings.dedup();
    Ok(ApplyReport {
        summary: plan.summary(),
        warnings,
    })
}

fn failure(
    t: &Target,
    failed: String,
    step: Option<Step>,
    cause: StepError,
    rollback: Rollback,
    snapshot: &State,
) -> Error {
    let snapshot_file = match rollback {
        Rollback::Incomplete(_) => save_snapshot(t, snapshot).ok(),
        _ => None,
    };
    Error::Apply(Box::new(ApplyFailure {
        failed,
        step,
        cause,
        rollback,
        target: t.label(),
        snapshot_file,
    }))
}

fn save_snapshot(t: &Target, s: &State) -> Result<std::path::PathBuf, Error> {
    let dir = t.state_dir();
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let p = dir.join(format!("snapshot-{secs}.json"));
    crate::confirm::write_private(&p, &serde_json::to_string(s).unwrap_or_default())?;
    Ok(p)
}

/// Bring the target back to `snapshot`: plan live → snapshot, run it (as
/// far as possible), verify.
pub fn rollback(exec: &Exec, t: &Target, snapshot: &State) -> Rollback {
    let live = match crate::state::read_with(exec, &t.bird_config, false, &snapshot.sysctl_keys()) {
        Ok((l, _)) => l,
        Err(e) => return Rollback::Incomplete(vec![format!("cannot read the state back: {e}")]),
    };
    let p = plan::diff(&live, snapshot);
    let run = execute(exec, t, &p, true, false);
    match verify::verify(t, exec, snapshot) {
        Ok(Verification::Matches) => Rollback::Restored,
        Ok(Verification::Differs(mut d)) => {
            if let Some((_, step, e)) = run.failure {
                d.insert(0, format!("rollback step {} failed: {e}", step.label()));
            }
            Rollback::Incomplete(d)
        }
        Err(e) => Rollback::Incomplete(vec![format!("cannot read the state back: {e}")]),
    }
}

/// Run a plan without rollback (the commit-confirmed revert): returns warnings,
/// or the differences left.
pub fn restore(exec: &Exec, t: &Target, snapshot: &State) -> Result<Vec<String>, Vec<String>> {
    match rollback(exec, t, snapshot) {
        Rollback::Restored | Rollback::NothingToUndo => Ok(Vec::new()),
        Rollback::Incomplete(d) => Err(d),
    }
}
