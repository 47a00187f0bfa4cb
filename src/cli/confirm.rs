//! `netc confirm [--netns NAME]`: keep an apply made with
//! `--confirm-within`; `--rollback` undoes it now instead.
//!
//! The hidden `--revert-worker FILE` runs the reverter that `netc apply
//! --confirm-within` starts (detached; see netc_host::confirm for the
//! mechanism).

use netc_host::Target;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The network namespace the apply was made to (default: the host).
    #[arg(long, value_name = "NAME")]
    pub netns: Option<String>,
    /// Undo the pending apply now: restore the state from before it.
    #[arg(long, conflicts_with = "revert_worker")]
    pub rollback: bool,
    /// Internal: run the commit-confirmed reverter for this pending file.
    #[arg(long, hide = true, value_name = "FILE")]
    pub revert_worker: Option<PathBuf>,
}

pub fn run(a: Args) -> anyhow::Result<u8> {
    if let Some(f) = &a.revert_worker {
        return Ok(netc_host::confirm::worker(f)?);
    }
    let target = Target {
        netns: a.netns.clone(),
        ..Target::default()
    };
    if let Some(p) = super::common::revert_overdue(&target, "netc confirm")? {
        if a.rollback {
            println!(
                "Rolled back: the apply of node {} is undone; {} is restored to its state before it (verified).",
                p.node,
                target.label()
            );
            return Ok(0);
        }
        return Err(netc_host::PendingError::Reverted {
            node: p.node.clone(),
            target: target.label(),
            deadline: netc_host::confirm::utc(p.deadline_unix_ms),
        }
        .into());
    }
    if a.rollback {
        let p = netc_host::confirm::rollback_now(&target)?;
        println!(
            "Rolled back: the apply of node {} is undone; {} is restored to its state before it (verified).",
            p.node,
            target.label()
        );
        return Ok(0);
    }
    let c = netc_host::confirm::confirm(&target)?;
    println!(
        "Confirmed: the apply of node {} to {} is kept ({}s before it would have been reverted).",
        c.pending.node,
        target.label(),
        c.early_by.as_secs()
    );
    Ok(0)
}
