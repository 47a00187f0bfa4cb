//! `netc` — the command line. Each subcommand is a thin layer over the
//! library crates: compiler (load → validate → lower), targets (emit) and
//! host (read live state, plan, apply). Errors become `anyhow` here, at the
//! binary's edge, and exit codes follow ARCHITECTURE.md, "Exit codes":
//! 0 ok / no changes, 1 errors found or failed, 2 changes present (plan
//! --detailed-exitcode) or usage/I-O errors for `validate`.

mod cli;

use clap::Parser;

/// mimalloc instead of glibc's malloc: netc allocates and frees many small
/// nodes (YAML, JSON listings of the live nft table); see BENCHMARKS.md.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's options, set before the first allocation that reserves
/// memory. Numbers from mimalloc 3's `mi_option_e` (libmimalloc-sys 0.1.49,
/// pinned in Cargo.lock; v2 numbers them the same).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Freed memory goes back to the kernel at once instead of after a second
/// (`purge_delay` 0; its default outlives most netc runs, so nothing was
/// ever returned). netc's stages each build a large structure and drop the
/// one before it (YAML, JSON values, the typed model, the IR, the nft
/// text, the live listing), so without this every stage's peak stayed
/// resident: a one-rule apply at 10,000 rules peaked at 88 MiB, with it
/// at 31 MiB, and ran faster (fewer fresh pages to zero); BENCHMARKS.md.
///
/// `MIMALLOC_PURGE_DELAY` in the environment still wins (mimalloc reads it
/// itself), so the two can be compared without a rebuild.
fn allocator_options() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
        return;
    }
    // SAFETY: mi_option_set only stores an integer in mimalloc's option
    // table, read again whenever memory is freed.
    unsafe {
        libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0);
    }
}

fn main() {
    allocator_options();
    // Behave like a Unix tool when piped into `head`: exit quietly on EPIPE
    // instead of panicking in println!.
    // SAFETY: restoring the default disposition of SIGPIPE before any thread
    // starts; no Rust invariants depend on it.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let args = cli::Cli::parse();
    let needs_root = args.command.needs_root();
    let code = match cli::run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", cli::error_message(&e, needs_root));
            1
        }
    };
    exit_now(code)
}

/// Exit without the C library's exit handlers: all work is done and every
/// file written and closed by now, and the allocator's handler would hand
/// every freed page back to the kernel one madvise at a time just before
/// the kernel takes the whole address space anyway (4 ms after a
/// 10,000-rule build).
fn exit_now(code: u8) -> ! {
    use std::io::Write;
    // stdout is line-buffered in Rust; a flush error has nowhere to go.
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    // SAFETY: `_exit` ends the process; nothing runs after it, so no Rust
    // invariant can be observed broken.
    unsafe { libc::_exit(i32::from(code)) }
}
