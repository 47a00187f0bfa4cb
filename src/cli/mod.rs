//! Subcommand definitions (clap derive) and dispatch.

mod apply;
mod build;
mod check;
mod common;
mod compile_cache;
mod completions;
mod config;
mod confirm;
mod destroy;
mod doc_store;
mod explain;
mod graph;
mod ipam;
mod man;
mod plan;
mod schema;
mod show;
mod status;
mod validate;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "netc",
    version,
    about = "Declarative network compiler: Calico-style YAML in, host network state out",
    propagate_version = true
)]
pub struct Cli {
    /// Config file with defaults for --node, the input, --firewall,
    /// --bird-config, --bird-socket, --secrets [default: NETC_CONFIG, else
    /// /etc/netc/netc.yaml when it exists]. Flags and NETC_* variables win.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<std::path::PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Check desired state: schema, Calico's rules and cross-resource checks.
    Validate(validate::Args),
    /// Compile desired state into per-node artifacts (or --check committed ones).
    Build(build::Args),
    /// Show what apply would change on the host (or --netns), terraform-style.
    Plan(plan::Args),
    /// Converge the host (or --netns) to a node's desired state: verified, rolled back on failure.
    Apply(apply::Args),
    /// A node's BGP sessions, routes and drift against its desired state (exit 0 ok, 2 degraded).
    Status(status::Args),
    /// Remove everything netc owns from the host (or --netns): planned, confirmed, verified, rolled back on failure.
    Destroy(destroy::Args),
    /// Show what netc owns on the host (or --netns) now, or render a saved plan.
    Show(show::Args),
    /// IP address management: `netc ipam show` lists each node's blocks and their use.
    Ipam(ipam::Args),
    /// Keep an apply made with --confirm-within (or --rollback to undo it now).
    Confirm(confirm::Args),
    /// What a node's firewall does with a packet, and the rule that decides (exit 0 passes, 3 dropped).
    Check(check::Args),
    /// Draw the cluster's BGP topology (or one node's policy path) as DOT, Mermaid or SVG.
    Graph(graph::Args),
    /// Print the JSON Schema of one kind, or of all kinds as a JSON object.
    Schema(schema::Args),
    /// Explain a diagnostic code (e.g. `netc explain E0301`).
    Explain(explain::Args),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(completions::Args),
    /// Print the manual page (roff), or write every page with --dir.
    Man(man::Args),
}

pub fn run(cli: Cli) -> anyhow::Result<u8> {
    config::set_flag(cli.config);
    no_huge_pages();
    match cli.command {
        Command::Destroy(a) => destroy::run(a),
        Command::Show(a) => show::run(a),
        Command::Ipam(a) => ipam::run(a),
        Command::Validate(a) => validate::run(a),
        Command::Build(a) => build::run(a),
        Command::Plan(a) => plan::run(a),
        Command::Apply(a) => apply::run(a),
        Command::Status(a) => status::run(a),
        Command::Confirm(a) => confirm::run(a),
        Command::Graph(a) => graph::run(a),
        Command::Check(a) => check::run(a),
        Command::Schema(a) => schema::run(a),
        Command::Explain(a) => explain::run(a),
        Command::Completions(a) => completions::run(a),
        Command::Man(a) => man::run(a),
    }
}

impl Command {
    /// Subcommands that read or change the host's network state, which
    /// takes root (CAP_NET_ADMIN, the lock in /run/netc, BIRD's socket).
    pub fn needs_root(&self) -> bool {
        matches!(
            self,
            Command::Plan(_)
                | Command::Apply(_)
                | Command::Confirm(_)
                | Command::Destroy(_)
                | Command::Show(_)
                | Command::Status(_)
        )
    }
}

/// No transparent huge pages for this process (`PR_SET_THP_DISABLE`). The
/// allocator asks for huge pages; a fault on one zeroes 2 MiB, and when
/// memory is fragmented (another large process just ran) the kernel
/// compacts memory first, in the faulting thread. Measured: a plan of
/// changed input on a 10,000-rule cluster 0.55–0.59 s → 0.42–0.50 s, system
/// time halved, peak memory 148 → 108 MiB; `netc build` of 10,000 terms
/// right after aerleon's aclgen 0.38 s → 0.23 s (`scripts/bench-aerleon.sh`),
/// at 1,000 terms 0.090 s → 0.041 s. On an idle machine huge pages made
/// that build 10–20% faster; the stalls cost more. Failure only costs that
/// time, so it is ignored.
fn no_huge_pages() {
    // SAFETY: prctl with integer arguments only changes this process's flag.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

/// The error and its causes on one line, each message once: a cause whose
/// text its parent already shows (`node x: E` caused by `E`) is not repeated.
/// A permission failure of a subcommand that needs root, run without root,
/// says so first.
pub fn error_message(e: &anyhow::Error, needs_root: bool) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let s = cause.to_string();
        if s.is_empty() || out.contains(&s) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&s);
    }
    if needs_root && !is_root() && is_permission_error(e) {
        out = format!("needs root: {out}\nhint: plan, apply, destroy, show and confirm read and change the host's network state: run netc as root (e.g. with sudo)");
    }
    out
}

fn is_permission_error(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::PermissionDenied)
            || {
                let s = c.to_string();
                s.contains("Permission denied") || s.contains("Operation not permitted")
            }
    })
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}
