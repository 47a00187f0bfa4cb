//! `netc apply --node N [PATHS…]` or `netc apply PLAN.json`: converge the
//! target to node N's desired state.
//!
//! Plans (under the target's exclusive lock), runs every check that can
//! fail before touching anything (guard, kernel features, tools, pending
//! confirmation), shows the plan, asks on a terminal (`--auto-approve`
//! skips it; a saved plan is applied without asking), applies in
//! dependency order, verifies, and rolls back to the snapshot on any
//! failure. With `--confirm-within DURATION` the apply reverts by itself
//! unless `netc confirm` runs in time (see netc_host::confirm).
//!
//! A saved plan is refused when the live state changed since it was made.

use super::config;
use super::plan::{self as planc, parse_duration, ScopeArgs, TargetArgs};
use anyhow::{bail, Context};
use netc_host::lock::Mode;
use netc_host::render;
use netc_host::saved::SavedPlan;
use netc_host::session::Session;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The node whose desired state to apply [default: NETC_NODE, the
    /// config file's `node`, else the host name; not needed with a saved plan].
    #[arg(long, value_name = "NAME")]
    pub node: Option<String>,
    /// Input files or directories [default: NETC_INPUT, the config file's
    /// `input`, else the current directory when it holds netc input], or
    /// one plan file saved by `netc plan --out`.
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub scope: ScopeArgs,
    /// Apply without asking.
    #[arg(long)]
    pub auto_approve: bool,
    /// Revert automatically unless `netc confirm` runs within this time (e.g. 120s, 5m).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub confirm_within: Option<Duration>,
    /// Apply even though the target does not carry the node's ipv4Address.
    #[arg(long)]
    pub force: bool,
    /// Fail instead of changing netc.lock.
    #[arg(long)]
    pub locked: bool,
}

enum Source {
    Saved(Box<SavedPlan>),
    Compiled(Box<planc::NodeInput>),
}

fn saved_plan(paths: &[PathBuf]) -> anyhow::Result<Option<SavedPlan>> {
    if paths.len() != 1 || !paths[0].is_file() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&paths[0])
        .with_context(|| format!("reading {}", paths[0].display()))?;
    if !SavedPlan::looks_like(&text) {
        return Ok(None);
    }
    Ok(Some(SavedPlan::parse(&text)?))
}

pub fn run(a: Args) -> anyhow::Result<u8> {
    if a.confirm_within.is_some_and(|d| d.is_zero()) {
        bail!("--confirm-within must be longer than 0s");
    }
    let saved = saved_plan(&a.paths)?;
    let target = match &saved {
        Some(s) => s.target.clone(),
        None => a.target.target()?,
    };
    // Take the lock first: the live state is read while the node compiles
    // (plan::compile_reading).
    let opened = super::common::revert_overdue(&target, "netc apply").and_then(|_| {
        let session = Session::open(target.clone(), Mode::Exclusive, a.target.lock_timeout)?;
        // Even a no-op apply waits for the pending decision: it must not
        // look like a confirmation.
        netc_host::confirm::refuse_if_pending(&target)?;
        Ok(session)
    });
    let live;
    let (source, session) = match saved {
        Some(s) => {
            planc::check_saved_options(&a.target, a.node.as_deref(), &s)?;
            if !a.scope.only.is_empty() || !a.scope.replace.is_empty() {
                bail!("a saved plan is applied exactly as planned: --only and --replace belong to `netc plan`");
            }
            let session = opened?;
            // Read the same way `netc plan` did, so the plan comes out the same.
            live = Some(session.read_live()?);
            (Source::Saved(Box::new(s)), session)
        }
        None => {
            let node = config::node(a.node.as_deref())?;
            let paths = config::inputs(&a.paths)?;
            let session = match planc::session_or_input_errors(opened, &paths, &node, &a.target)? {
                Ok(s) => s,
                Err(code) => return Ok(code),
            };
            let (compiled, l) = planc::compile_reading(&session, &paths, &node, &a.target, false)?;
            live = l;
            match compiled {
                planc::Compiled::Node(i) => {
                    if a.locked {
                        if let Some((p, _)) = &i.lock_update {
                            bail!(
                                "{} is out of date (blocks would be allocated or freed); run `netc build` without --locked and commit the lock",
                                p.display()
                            );
                        }
                    }
                    (Source::Compiled(i), session)
                }
                planc::Compiled::Rejected(code) => return Ok(code),
            }
        }
    };
    // A compiled node's IR and artifacts move out of it (at 100,000 rules
    // a copy of the IR cost tens of milliseconds); its lock update stays.
    let (ir, artifacts, scope, saved, lock_update) = match source {
        Source::Saved(s) => (
            s.ir.clone(),
            s.artifacts(&a.target.secrets()?)?,
            s.scope(),
            Some(s),
            None,
        ),
        Source::Compiled(i) => {
            let planc::NodeInput {
                ir,
                artifacts,
                lock_update,
                ..
            } = *i;
            (ir, artifacts, a.scope.scope()?, None, lock_update)
        }
    };
    let mut planned = session.plan_from(&ir, &artifacts, a.force, &scope, live)?;
    planned.warnings.extend(planc::scope_warning(&scope));
    if let Some(s) = &saved {
        if planned.fingerprint() != s.live_fingerprint || planned.plan.changes != s.changes {
            bail!(netc_host::Error::Stale(
                netc_host::StaleError::LiveChanged {
                    target: target.label(),
                    planned_at: netc_host::confirm::utc(s.created_unix_ms),
                }
            ));
        }
    }
    if planned.plan.is_empty() {
        if scope.includes(netc_host::Step::Firewall)
            && target.recorded_backend() != Some(target.firewall)
        {
            let _ = target.record_backend();
        }
        println!("{}", render::no_changes(&planned.node, &target.label()));
        if a.confirm_within.is_some() {
            println!("Nothing was applied, so there is nothing to confirm.");
        }
        write_lock(&lock_update)?;
        return Ok(0);
    }
    let warnings =
        netc_ir::timing::timed("preflight", || session.preflight(&ir, &planned, a.force))?;
    let _render = netc_ir::timing::phase("render");
    print!("{}", planc::render_text(&planned, &ir, &target));
    drop(_render);
    planc::print_warnings(&planned.warnings);
    planc::print_warnings(&warnings);

    if !a.auto_approve && saved.is_none() && !approve(&target.label())? {
        println!("Apply cancelled.");
        return Ok(1);
    }

    let report = session.apply(&planned)?;
    planc::print_warnings(&report.warnings);
    if scope.includes(netc_host::Step::Firewall) {
        if let Err(e) = target.record_backend() {
            eprintln!("warning: could not record the firewall backend: {e}");
        }
    }
    println!();
    println!("{}", render::apply_line(report.summary));
    write_lock(&lock_update)?;

    if let Some(within) = a.confirm_within {
        let exe = std::env::current_exe().context("locating the netc binary for the reverter")?;
        let argv = vec![
            exe.into_os_string(),
            "confirm".into(),
            "--revert-worker".into(),
        ];
        let p = netc_host::confirm::start(&target, &planned.node, &planned.live, within, &argv)?;
        let ns = target
            .netns
            .as_ref()
            .map(|n| format!(" --netns {n}"))
            .unwrap_or_default();
        println!(
            "This apply reverts at {} (in {}s) unless confirmed: run `netc confirm{ns}`.",
            netc_host::confirm::utc(p.deadline_unix_ms),
            within.as_secs()
        );
    }
    Ok(0)
}

fn write_lock(update: &Option<(PathBuf, String)>) -> anyhow::Result<()> {
    if let Some((p, text)) = update {
        super::build::write_atomic(p, text, false)?;
        eprintln!("wrote {} (commit it next to the YAML)", p.display());
    }
    Ok(())
}

/// Ask on the terminal; refuse when there is none.
pub fn approve(target: &str) -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        bail!("refusing to apply without confirmation: stdin is not a terminal; pass --auto-approve (or apply a saved plan); nothing was changed");
    }
    println!();
    println!("Do you want to perform these actions on {target}?");
    print!("  Only 'yes' will be accepted to approve.\n\n  Enter a value: ");
    std::io::stdout().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim() == "yes")
}
