//! `netc destroy [--node N] [--netns NS]`: remove everything netc owns from
//! the target — its tunnel devices (with their addresses, neighbours and
//! FDB entries), its proto-233 routes, its nft table or `netc-` iptables
//! chains and hook jumps, and its BIRD config (emptied and reconfigured,
//! see netc_host::destroy for why not deleted).
//!
//! It is an apply towards an empty desired state: the same plan, prompt,
//! snapshot, verification and rollback as `netc apply`, no deletion code of
//! its own. Foreign objects are never read, so they cannot be touched.
//! Needs no input: `--node` only names the node in messages.

use super::config;
use super::plan::{self as planc, StepArg, TargetArgs};
use anyhow::bail;
use netc_host::lock::Mode;
use netc_host::render;
use netc_host::scope::Scope;
use netc_host::session::Session;
use std::io::{BufRead, IsTerminal, Write};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The node being destroyed, for messages [default: NETC_NODE, the
    /// config file's `node`, else the host name].
    #[arg(long, value_name = "NAME")]
    pub node: Option<String>,
    /// Options as for apply. `--firewall` does not matter: netc's objects
    /// are removed from both backends. `--secrets` and `--lockfile` are
    /// not used.
    #[command(flatten)]
    pub target: TargetArgs,
    /// Destroy without asking.
    #[arg(long)]
    pub auto_approve: bool,
    /// Destroy only these steps' objects (comma-separated; see plan --only).
    #[arg(long, value_enum, value_delimiter = ',', value_name = "STEPS")]
    pub only: Vec<StepArg>,
}

pub fn run(a: Args) -> anyhow::Result<u8> {
    let node = config::node(a.node.as_deref())?;
    let target = a.target.target()?;
    let scope = Scope {
        only: (!a.only.is_empty()).then(|| a.only.iter().map(|s| s.step()).collect()),
        replace: Default::default(),
    };
    super::common::revert_overdue(&target, "netc destroy")?;
    let session = Session::open(target.clone(), Mode::Exclusive, a.target.lock_timeout)?;
    netc_host::confirm::refuse_if_pending(&target)?;
    let mut planned = session.plan_destroy(&node, &scope)?;
    planned.warnings.extend(planc::scope_warning(&scope));
    if planned.plan.is_empty() {
        println!(
            "Nothing to destroy: {} holds nothing of netc's.",
            target.label()
        );
        planc::print_warnings(&planned.warnings);
        if scope.only.is_none() {
            target.forget_backend()?;
        }
        return Ok(0);
    }
    session.preflight_destroy(&planned)?;
    let ctx = render::Context {
        node: &planned.node,
        target: &target.label(),
        color: planc::color_stdout(),
        route_origins: Default::default(),
    };
    print!("{}", render::text(&planned.plan, &ctx));
    planc::print_warnings(&planned.warnings);
    if !a.auto_approve && !approve(&target.label())? {
        println!("Destroy cancelled.");
        return Ok(1);
    }
    let report = session.apply(&planned)?;
    planc::print_warnings(&report.warnings);
    if scope.only.is_none() {
        target.forget_backend()?;
    }
    println!();
    let s = report.summary;
    println!(
        "Destroy complete! Resources: {} destroyed, {} changed.",
        s.destroy, s.change
    );
    Ok(0)
}

fn approve(target: &str) -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        bail!("refusing to destroy without confirmation: stdin is not a terminal; pass --auto-approve; nothing was changed");
    }
    println!();
    println!("Do you really want to destroy everything netc manages on {target}?");
    print!("  Only 'yes' will be accepted to approve.\n\n  Enter a value: ");
    std::io::stdout().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim() == "yes")
}
