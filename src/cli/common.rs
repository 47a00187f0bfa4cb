//! What several subcommands share: reading inputs and printing diagnostics.

use netc_compiler::diag::{Diagnostics, Renderer};
use netc_compiler::load;
use netc_compiler::validate::{self, ValidModel};
use netc_compiler::SourceMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Text,
    Json,
}

/// Result of loading and validating the inputs.
pub struct Checked {
    pub sources: SourceMap,
    pub diags: Diagnostics,
    pub model: Option<ValidModel>,
    /// Reading the inputs failed (missing file etc.): a usage/I-O problem.
    pub io_error: bool,
}

impl Checked {
    /// Let the process's exit free the inputs: a command calls this as its
    /// last step. Freeing the YAML trees, spans and model of 10,000 rules a
    /// node at a time took ~8 ms of one core after all work was done.
    pub fn release(self) {
        std::mem::forget(self);
    }
}

/// Load and validate. Paths default to the current directory.
pub fn check_inputs(paths: &[PathBuf]) -> Checked {
    check_inputs_with(paths, None)
}

/// [`check_inputs`], loading documents through `store` when there is one
/// (`netc_compiler::load::doc_cache`).
pub fn check_inputs_with(
    paths: &[PathBuf],
    store: Option<&dyn netc_compiler::load::doc_cache::DocStore>,
) -> Checked {
    let paths = if paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        paths.to_vec()
    };
    let mut sources = SourceMap::new();
    let mut diags = Diagnostics::default();
    let files = match load::collect_files(&paths) {
        Ok(f) => f,
        Err(d) => {
            diags.push(*d);
            return Checked {
                sources,
                diags,
                model: None,
                io_error: true,
            };
        }
    };
    let (raws, load_diags) = netc_ir::timing::timed("load", || {
        load::load_files_with(&files, &mut sources, store)
    });
    let io_error = load_diags
        .iter()
        .any(|d| d.code == netc_compiler::diag::codes::IO);
    diags.extend(load_diags);
    let (model, vdiags) =
        netc_ir::timing::timed("validate", || validate::validate_with(raws, store));
    diags.extend(vdiags.items);
    diags.sort();
    let model = if diags.has_errors() { None } else { model };
    Checked {
        sources,
        diags,
        model,
        io_error,
    }
}

/// Print diagnostics to stderr, rustc-style, in colour on a terminal.
pub fn print_diagnostics(c: &Checked) {
    let r = Renderer::new(&c.sources);
    let stderr = std::io::stderr();
    if stderr.is_terminal() && std::env::var_os("NO_COLOR").is_none() {
        let mut out = termcolor_stream();
        for d in &c.diags.items {
            let _ = r.render_color(d, &mut out);
        }
    } else {
        for d in &c.diags.items {
            eprint!("{}", r.render(d));
        }
    }
}

fn termcolor_stream() -> netc_compiler::diag::StandardStream {
    netc_compiler::diag::ColorStream::stderr()
}

/// `N errors, M warnings` summary line.
pub fn summary(d: &Diagnostics, files: usize) -> String {
    let e = d.error_count();
    let w = d.warning_count();
    let n = d.info_count();
    let notes = if n > 0 {
        format!(", {n} {}", plural(n, "note", "notes"))
    } else {
        String::new()
    };
    format!(
        "{} {}, {} {}{notes} in {} {}",
        e,
        plural(e, "error", "errors"),
        w,
        plural(w, "warning", "warnings"),
        files,
        plural(files, "file", "files")
    )
}

pub fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 {
        one
    } else {
        many
    }
}

/// Where the block allocations live (netc.lock). `--lockfile`, not `--lock`:
/// `--lock` read as the apply lock (`--lock-timeout`), which it is not.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct LockfileArgs {
    /// Block-allocation file [default: netc.lock in the first input directory].
    #[arg(long, value_name = "FILE")]
    pub lockfile: Option<PathBuf>,
    /// Deprecated spelling of --lockfile.
    #[arg(
        long = "lock",
        value_name = "FILE",
        hide = true,
        conflicts_with = "lockfile"
    )]
    pub deprecated_lock: Option<PathBuf>,
}

impl LockfileArgs {
    /// The netc.lock path: given, or beside the inputs. Warns once about `--lock`.
    pub fn path(&self, inputs: &[PathBuf]) -> PathBuf {
        if let Some(p) = &self.deprecated_lock {
            eprintln!(
                "warning: `--lock` is deprecated and will be removed: use `--lockfile {}` (it names netc.lock, not the apply lock)",
                p.display()
            );
        }
        self.lockfile
            .clone()
            .or_else(|| self.deprecated_lock.clone())
            .unwrap_or_else(|| default_lock_path(inputs))
    }
}

/// netc.lock lives beside the input: in the first directory given, or beside the first file.
pub fn default_lock_path(paths: &[PathBuf]) -> PathBuf {
    let first = paths.first().cloned().unwrap_or_else(|| PathBuf::from("."));
    if first.is_dir() {
        first.join(netc_compiler::alloc::LOCK_FILE)
    } else {
        first
            .parent()
            .map(|p: &Path| p.join(netc_compiler::alloc::LOCK_FILE))
            .unwrap_or_else(|| PathBuf::from(netc_compiler::alloc::LOCK_FILE))
    }
}

/// The commit-confirmed safety net, run first by plan, apply and confirm:
/// an unconfirmed apply past its deadline whose reverter did not restore it
/// (killed, say) is reverted now (netc_host::confirm::revert_overdue).
/// Returns the apply that was reverted.
pub fn revert_overdue(
    t: &netc_host::Target,
    who: &str,
) -> anyhow::Result<Option<netc_host::confirm::Pending>> {
    let r = netc_host::confirm::revert_overdue(t, who)?;
    if let Some(p) = &r {
        eprintln!(
            "warning: the apply of node {} to {} was not confirmed by {} and had not been reverted (its reverter is gone): netc restored the previous state now (verified; see {})",
            p.node,
            t.label(),
            netc_host::confirm::utc(p.deadline_unix_ms),
            netc_host::confirm::log_path(t).display()
        );
    }
    Ok(r)
}
