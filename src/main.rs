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

/// mimalloc's option numbers, from mimalloc 3's `mi_option_e`
/// (libmimalloc-sys 0.1.49, pinned in Cargo.lock; v2 numbers them the same).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// On a node (plan, apply and the other commands that read or change the
/// host), freed memory goes back to the kernel at once (`purge_delay` 0)
/// instead of after a second, which outlives most runs: netc's stages each
/// build a large structure and drop the one before it (YAML, the typed
/// model, the IR, the nft text, the live listing), and without this every
/// stage's freed memory stayed resident. A one-rule apply at 10,000 rules
/// peaked at 85 MiB, with it at 57 MiB (BENCHMARKS.md, "Plan and apply"),
/// for about a tenth more time, spent in `madvise` and refaulted pages.
/// The commands that run in CI and pre-commit (build, validate, check…)
/// keep mimalloc's default: their speed is what is measured there
/// (`netc build --node` of the 10,000-rule benchmark node took 124–135 ms
/// without it, 145–165 ms with it), and no node's workloads share their
/// machine.
///
/// `MIMALLOC_PURGE_DELAY` in the environment wins (mimalloc reads it
/// itself), so the two can be compared without a rebuild. The option is
/// read whenever memory is freed, so setting it after the arguments are
/// parsed covers all the work.
fn allocator_options(on_node: bool) {
    no_huge_pages();
    if !on_node || std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
        return;
    }
    // SAFETY: mi_option_set only stores an integer in mimalloc's option
    // table.
    unsafe {
        libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0);
    }
}

/// Hand the memory freed so far back to the kernel, from every thread's
/// heap: mimalloc returns a page only when its owner, the thread that
/// allocated it, next looks at it, and validation's worker threads built
/// most of the typed model and then sit idle. Called on a node at each
/// point where a stage's structures are gone (`cli::plan::compile_node_with`):
/// before lowering (the sources and spans), before emitting (the model)
/// and before the diff (the IR's firewall); the freed pages would
/// otherwise stay resident through the next stage's peak. A one-rule apply
/// at 10,000 rules held 35 MiB after its compile without this and 25 MiB
/// with it, and peaked at 39–44 MiB instead of 37–38 (BENCHMARKS.md,
/// "Plan and apply"). Costs 0.5–2 ms each time.
pub(crate) fn return_freed() {
    // SAFETY: mi_collect only walks the calling thread's own heap.
    rayon::broadcast(|_| unsafe { libmimalloc_sys::mi_collect(false) });
    unsafe { libmimalloc_sys::mi_collect(false) };
}

/// No transparent huge pages for netc's heap. mimalloc reserves its arenas
/// 2 MiB-aligned and, by default, asks for huge pages on them
/// (`madvise(MADV_HUGEPAGE)`), so one touched byte can fault in a whole
/// 2 MiB page: `netc --version` was resident at 11.5 MiB with them and
/// 5.8 MiB without, and a one-rule apply at 10,000 rules peaked 3–6 MiB
/// higher, no faster (`netc build` of the same node took the same time
/// either way; BENCHMARKS.md, "Plan and apply"). The `no_thp` feature of
/// libmimalloc-sys (Cargo.toml) drops that `madvise`, which is all it takes
/// where the kernel's THP mode is `madvise` (the usual default, and this
/// lab's); where the mode is `always` the kernel would still back aligned
/// regions with huge pages, so the process also opts out here
/// (`PR_SET_THP_DISABLE`). Memory the runtime touched before `main` is not
/// covered by the latter, and the flag is inherited by the tools netc runs
/// (`nft`, `ip`, `bird -p`…): all short-lived, for which huge pages only
/// change how much memory they hold; netc starts no daemon.
fn no_huge_pages() {
    // SAFETY: prctl with PR_SET_THP_DISABLE only sets a flag on this
    // process's memory map. A failure (a kernel without it) changes nothing
    // and is ignored: huge pages cost memory, never correctness.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

fn main() {
    // Behave like a Unix tool when piped into `head`: exit quietly on EPIPE
    // instead of panicking in println!.
    // SAFETY: restoring the default disposition of SIGPIPE before any thread
    // starts; no Rust invariants depend on it.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let args = cli::Cli::parse();
    let needs_root = args.command.needs_root();
    allocator_options(needs_root);
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
