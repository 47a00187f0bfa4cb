//! `netc` — the command line. Each subcommand is a thin layer over the
//! library crates: compiler (load → validate → lower), targets (emit) and
//! host (read live state, plan, apply). Errors become `anyhow` here, at the
//! binary's edge, and exit codes follow ARCHITECTURE.md, "Exit codes":
//! 0 ok / no changes, 1 errors found or failed, 2 changes present (plan
//! --detailed-exitcode) or usage/I-O errors for `validate`.

mod cli;

use clap::Parser;
use std::process::ExitCode;

/// mimalloc instead of glibc's malloc: netc allocates and frees many small
/// nodes (YAML, JSON listings of the live nft table); see BENCHMARKS.md.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // Behave like a Unix tool when piped into `head`: exit quietly on EPIPE
    // instead of panicking in println!.
    // SAFETY: restoring the default disposition of SIGPIPE before any thread
    // starts; no Rust invariants depend on it.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let args = cli::Cli::parse();
    let needs_root = args.command.needs_root();
    match cli::run(args) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {}", cli::error_message(&e, needs_root));
            ExitCode::from(1)
        }
    }
}
