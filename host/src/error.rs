//! The host layer's errors: one [`Error`] whose variants say which stage
//! failed, each carrying a kind enum with the structured facts (names,
//! paths, addresses, the underlying error), so callers and tests can match
//! on what happened instead of parsing messages. The messages themselves
//! are the `Display` of each kind.

use crate::apply::ApplyFailure;
use crate::exec::ExecError;
use std::path::PathBuf;
use std::time::Duration;

/// Said by every refusal before the first change.
pub const NOTHING_CHANGED: &str = "nothing was changed";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Exec(#[from] ExecError),
    /// A tool printed something its reader does not understand.
    #[error("cannot parse the output of `{what}`: {detail}")]
    Parse { what: String, detail: String },
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A check before any change failed (guard, kernel feature, missing tool).
    #[error(transparent)]
    Preflight(#[from] PreflightError),
    /// The desired state itself is unusable (an artifact does not load).
    #[error(transparent)]
    Desired(#[from] DesiredError),
    #[error(transparent)]
    Lock(#[from] LockError),
    /// A saved plan no longer matches the live state.
    #[error(transparent)]
    Stale(#[from] StaleError),
    /// About a commit-confirmed apply (one is waiting, or none is).
    #[error(transparent)]
    Pending(#[from] PendingError),
    #[error(transparent)]
    Usage(#[from] UsageError),
    /// A step failed (or verification did); the rollback outcome is inside.
    #[error("{0}")]
    Apply(Box<ApplyFailure>),
}

impl Error {
    pub fn parse(what: &str, detail: String) -> Error {
        Error::Parse {
            what: what.to_string(),
            detail,
        }
    }

    pub fn io(path: &std::path::Path, source: std::io::Error) -> Error {
        Error::Io {
            path: path.display().to_string(),
            source,
        }
    }
}

/// Why the target cannot be node N's (the guard).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GuardProblem {
    #[error("node {node} declares no spec.bgp.ipv4Address (nor ipv6Address), so netc cannot check that {target} is that node")]
    NoAddress { node: String, target: String },
    #[error("{target} does not carry node {node}'s address {address} on any interface: is this the right node?")]
    AddressAbsent {
        node: String,
        target: String,
        address: std::net::IpAddr,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum PreflightError {
    #[error("network namespace `{name}` does not exist (ip netns list)")]
    NoNetns { name: String },
    #[error("{problem}\nrefusing to apply; pass --force to apply anyway; {NOTHING_CHANGED}")]
    Guard { problem: GuardProblem },
    #[error("kernel lacks {kind}: the desired state needs {} tunnel `{dev}`, but this kernel cannot create one (`ip link add … type {kind}`: {detail}; is the {kind} module available? see /proc/modules, modprobe {kind}); {NOTHING_CHANGED}", kind.to_ascii_uppercase())]
    KernelLacks {
        kind: String,
        dev: String,
        /// What `ip link add` said.
        detail: String,
    },
    /// The kernel would reject the tunnel's MTU: it must leave room for the
    /// encapsulation inside the parent device's MTU.
    #[error("tunnel {dev} needs MTU {mtu}, but its underlay {parent} has MTU {parent_mtu} < {mtu} + {overhead} (VXLAN over IPv{family} adds {overhead} bytes); lower netc.dev/underlay-mtu on the node to at most {parent_mtu}, or raise {parent}'s MTU; {NOTHING_CHANGED}")]
    TunnelMtu {
        dev: String,
        mtu: u32,
        parent: String,
        parent_mtu: u32,
        overhead: u32,
        family: u8,
    },
    /// Replacing a device netc did not make needs `--replace DEV`.
    #[error("{0}; {NOTHING_CHANGED}")]
    Refused(String),
    #[error(
        "`{prog}` is not installed (package {package}) but the plan needs it; {NOTHING_CHANGED}"
    )]
    MissingTool { prog: String, package: String },
    #[error("cannot create a scratch network namespace to canonicalise the firewall ({source}); netc plan/apply need root")]
    Scratch {
        #[source]
        source: ExecError,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum DesiredError {
    #[error("the emitted {artifact} does not load: {source}")]
    NftRejected {
        artifact: String,
        #[source]
        source: ExecError,
    },
    #[error("the emitted {family} iptables rules do not load: {source}")]
    IptRejected {
        family: String,
        #[source]
        source: ExecError,
    },
    #[error("tunnel device `{name}` is not one netc manages ({})", owned.join(", "))]
    UnownedTunnel { name: String, owned: Vec<String> },
    #[error("two routes for {dst} in the IR")]
    DuplicateRoute { dst: ipnet::IpNet },
    #[error("building the desired state panicked")]
    Panicked,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("another netc process{} holds the lock {} (waited {}s): it is applying to this target; try again when it has finished", holder.as_ref().map(|h| format!(" ({h})")).unwrap_or_default(), path.display(), waited.as_secs())]
    Busy {
        path: PathBuf,
        /// `pid N: cmdline`, from /proc/locks, when found.
        holder: Option<String>,
        waited: Duration,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum StaleError {
    #[error("saved plan is stale: the state of {target} changed since the plan was made ({planned_at}); run `netc plan` again")]
    LiveChanged { target: String, planned_at: String },
    #[error("saved plan is stale: {artifact} re-emitted with the given --secrets differs from the one in the plan")]
    SecretArtifactDiffers { artifact: String },
    #[error("saved plan does not match the given --secrets: the secret values differ from the ones it was planned with (or it was planned on another host); run `netc plan` again")]
    SecretsDiffer,
    #[error("saved plan holds no digest of its secrets (made by an older netc), so the given --secrets cannot be checked against it; run `netc plan` again")]
    SecretsUnchecked,
}

/// Why the commit-confirmed reverter did not start.
#[derive(Debug, thiserror::Error)]
pub enum ReverterStart {
    #[error("{0}")]
    Exited(std::process::ExitStatus),
    #[error("{0}")]
    Spawn(std::io::Error),
}

#[derive(Debug, thiserror::Error)]
pub enum PendingError {
    #[error("an apply of node {node} to {target} is waiting for confirmation (it reverts at {deadline}, in {}s): run `netc confirm` to keep it or `netc confirm --rollback` to undo it first", remaining.as_secs())]
    Waiting {
        node: String,
        target: String,
        /// UTC, `YYYY-MM-DD HH:MM:SS UTC`.
        deadline: String,
        remaining: Duration,
    },
    #[error("could not start the reverter ({why}): the apply stays in place, unconfirmed window not armed")]
    ReverterNotStarted { why: ReverterStart },
    #[error("{} is gone", path.display())]
    Gone { path: PathBuf },
    #[error("no apply is waiting for confirmation on {target}{}", if *rollback { ": nothing to roll back" } else { "" })]
    NothingPending { target: String, rollback: bool },
    #[error("too late: the confirmation window of the apply of node {node} closed at {deadline}; the previous state is being restored (see {}); if that did not happen, run `netc confirm --rollback`", log.display())]
    TooLate {
        node: String,
        deadline: String,
        log: PathBuf,
    },
    #[error("too late: the confirmation window of the apply of node {node} closed at {deadline}; it was not confirmed and has been reverted: {target} is back to its state before that apply (verified)")]
    Reverted {
        node: String,
        target: String,
        deadline: String,
    },
    #[error("rollback incomplete; the snapshot stays in {}:\n  {}", snapshot.display(), differences.join("\n  "))]
    RollbackIncomplete {
        snapshot: PathBuf,
        differences: Vec<String>,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum UsageError {
    #[error("no reverter command")]
    NoReverterCommand,
    #[error("not a netc plan file: {source}")]
    NotAPlanFile {
        #[source]
        source: serde_json::Error,
    },
    #[error("not a netc plan file: its IR is inconsistent: {source}")]
    InconsistentIr {
        #[source]
        source: netc_ir::IrError,
    },
    #[error("not a netc plan file: it holds an unknown artifact `{file_name}`")]
    UnknownArtifact { file_name: String },
    #[error("plan file format {found} is not supported (expected {expected})")]
    PlanFormat { found: u32, expected: u32 },
    #[error("the saved plan's {artifact} holds a secret, which plan files never store: pass the same --secrets to apply ({source})")]
    SecretNeeded {
        artifact: String,
        #[source]
        source: netc_targets::EmitError,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_carry_facts_and_say_what_happened() {
        let e: Error = PreflightError::Guard {
            problem: GuardProblem::AddressAbsent {
                node: "node-a".into(),
                target: "netns lab".into(),
                address: std::net::IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1)),
            },
        }
        .into();
        assert_eq!(
            e.to_string(),
            "netns lab does not carry node node-a's address 10.0.0.1 on any interface: is this the right node?\nrefusing to apply; pass --force to apply anyway; nothing was changed"
        );
        let e = PreflightError::KernelLacks {
            kind: "ipip".into(),
            dev: "tunl0".into(),
            detail: "Error: Unknown device type.".into(),
        };
        assert!(e
            .to_string()
            .starts_with("kernel lacks ipip: the desired state needs IPIP tunnel `tunl0`"));
        let e = PendingError::NothingPending {
            target: "host".into(),
            rollback: true,
        };
        assert_eq!(
            e.to_string(),
            "no apply is waiting for confirmation on host: nothing to roll back"
        );
    }
}
