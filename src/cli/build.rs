//! `netc build`: write every node's artifacts, or check committed ones.

use super::common;
use anyhow::{bail, Context};
use netc::pipeline::{self, Compiled};
use netc_compiler::alloc::Lock;
use netc_ir::SecretRef;
use netc_targets::mask::mask_secrets;
use netc_targets::{SecretMap, Secrets};
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Output directory: one sub-directory per node.
    #[arg(short = 'o', long = "out", value_name = "DIR")]
    pub out: PathBuf,
    /// Input files or directories [default: NETC_INPUT, the config file's
    /// `input`, else the current directory when it holds netc input].
    pub paths: Vec<PathBuf>,
    /// Build one node only.
    #[arg(long, value_name = "NAME")]
    pub node: Option<String>,
    /// Write nothing; exit 1 with unified diffs when DIR or netc.lock is stale.
    #[arg(long)]
    pub check: bool,
    /// Fail instead of changing netc.lock (for CI and pre-commit).
    #[arg(long)]
    pub locked: bool,
    #[command(flatten)]
    pub lockfile: common::LockfileArgs,
    /// Secrets for BGP passwords: YAML `name: {key: value}`. Never printed.
    /// `--check` without it compares password lines masked.
    #[arg(long, value_name = "FILE")]
    pub secrets: Option<PathBuf>,
    /// Write BGP passwords masked (`password "********";`): artifacts to
    /// commit to git; `--check` compares them without the secret.
    #[arg(long)]
    pub mask_secrets: bool,
}

/// Stands in for every secret when none is needed: `--check` compares
/// artifacts that hold secrets with their passwords masked, and
/// `--mask-secrets` writes them masked anyway.
struct MaskedSecrets;

impl Secrets for MaskedSecrets {
    fn get(&self, _: &SecretRef) -> Option<String> {
        Some("********".to_string())
    }
}

pub fn run(mut a: Args) -> anyhow::Result<u8> {
    a.paths = super::config::inputs(&a.paths)?;
    let c = common::check_inputs(&a.paths);
    if !c.diags.items.is_empty() {
        common::print_diagnostics(&c);
    }
    let Some(model) = c.model.as_ref() else {
        eprintln!("{}", common::summary(&c.diags, c.sources.len()));
        return Ok(if c.io_error { 2 } else { 1 });
    };
    let lock_path = a.lockfile.path(&a.paths);
    let previous = read_lock(&lock_path)?;
    let secrets: Box<dyn Secrets> = match &a.secrets {
        Some(p) => Box::new(pipeline::load_secrets(p)?),
        None if a.check || a.mask_secrets => Box::new(MaskedSecrets),
        None => Box::new(SecretMap::default()),
    };
    let compiled = pipeline::compile(
        model,
        previous.as_ref(),
        a.node.as_deref(),
        secrets.as_ref(),
    )?;
    let lock_changed = previous.as_ref() != Some(&compiled.lock);
    if a.check {
        return check(&a, &compiled, &lock_path, lock_changed);
    }
    if lock_changed {
        if a.locked {
            bail!(
                "{} is out of date (blocks would be allocated or freed); run `netc build` without --locked and commit the lock",
                lock_path.display()
            );
        }
        write_atomic(&lock_path, &compiled.lock.to_text(), false)?;
        eprintln!("wrote {}", lock_path.display());
    }
    write_outputs(&a.out, &compiled, a.node.is_none(), a.mask_secrets)?;
    eprintln!(
        "built {} {} into {}",
        compiled.nodes.len(),
        common::plural(compiled.nodes.len(), "node", "nodes"),
        a.out.display()
    );
    Ok(0)
}

pub fn read_lock(path: &Path) -> anyhow::Result<Option<Lock>> {
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(Some(
            Lock::parse(&t).with_context(|| format!("reading {}", path.display()))?,
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

fn write_outputs(
    out: &Path,
    compiled: &Compiled,
    all_nodes: bool,
    mask: bool,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    for n in &compiled.nodes {
        let dir = out.join(&n.name);
        std::fs::create_dir_all(&dir)?;
        for (name, contents, sensitive) in n.files() {
            let contents = if sensitive && mask {
                mask_secrets(&contents)
            } else {
                contents
            };
            write_atomic(&dir.join(name), &contents, sensitive)?;
        }
    }
    if all_nodes {
        // Remove output of nodes that no longer exist (only directories netc wrote).
        for e in std::fs::read_dir(out)?.flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().to_string();
            if p.join("ir.json").is_file() && !compiled.nodes.iter().any(|n| n.name == name) {
                std::fs::remove_dir_all(&p)?;
                eprintln!("removed {} (node no longer declared)", p.display());
            }
        }
    }
    Ok(())
}

/// Write via a temp file and rename, so a reader never sees half a file.
pub fn write_atomic(path: &Path, contents: &str, sensitive: bool) -> anyhow::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("netc-tmp");
    {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(if sensitive { 0o600 } else { 0o644 });
        }
        let mut f = opts
            .open(&tmp)
            .with_context(|| format!("writing {}", tmp.display()))?;
        f.write_all(contents.as_bytes())?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

fn check(
    a: &Args,
    compiled: &Compiled,
    lock_path: &Path,
    lock_changed: bool,
) -> anyhow::Result<u8> {
    let mut stale = 0usize;
    if lock_changed {
        stale += 1;
        println!("{} is out of date", lock_path.display());
    }
    // Some artifact holds a password / the committed ones hold it masked.
    let (mut has_secrets, mut committed_masked) = (false, false);
    for n in &compiled.nodes {
        for (name, want, sensitive) in n.files() {
            let path = a.out.join(&n.name).join(&name);
            let have = std::fs::read_to_string(&path).ok();
            // Files that hold secrets compare with their passwords masked:
            // a committed bird.conf with `password "********";` is current.
            let (have, want) = if sensitive {
                has_secrets |= want.contains("password \"");
                committed_masked |= have
                    .as_deref()
                    .is_some_and(|h| h.contains("password \"********\""));
                (have.as_deref().map(mask_secrets), mask_secrets(&want))
            } else {
                (have, want)
            };
            if have.as_deref() == Some(want.as_str()) {
                continue;
            }
            stale += 1;
            let have = have.unwrap_or_default();
            let diff = similar::TextDiff::from_lines(&have, &want);
            print!(
                "{}",
                diff.unified_diff().context_radius(3).header(
                    &format!("a/{}", path.display()),
                    &format!("b/{}", path.display())
                )
            );
        }
    }
    if a.node.is_none() {
        if let Ok(rd) = std::fs::read_dir(&a.out) {
            for e in rd.flatten() {
                let name = e.file_name().to_string_lossy().to_string();
                if e.path().join("ir.json").is_file()
                    && !compiled.nodes.iter().any(|n| n.name == name)
                {
                    stale += 1;
                    println!("{}: node no longer declared", e.path().display());
                }
            }
        }
    }
    if stale == 0 {
        eprintln!("artifacts in {} are up to date", a.out.display());
        Ok(0)
    } else {
        eprintln!(
            "{stale} stale {}; regenerate with:\n  {}\nand commit the result",
            common::plural(stale, "file", "files"),
            regenerate_command(
                a,
                lock_path,
                has_secrets && (a.secrets.is_none() || committed_masked)
            )
        );
        Ok(1)
    }
}

/// The `netc build` that rewrites what `--check` found stale, as a shell
/// command: the same inputs, output, node, lock file and secrets.
fn regenerate_command(a: &Args, lock_path: &Path, mask: bool) -> String {
    let mut cmd = vec!["netc".to_string(), "build".to_string(), "-o".to_string()];
    cmd.push(shell_quote(&a.out.display().to_string()));
    if let Some(n) = &a.node {
        cmd.push("--node".into());
        cmd.push(shell_quote(n));
    }
    if a.lockfile.lockfile.is_some() || a.lockfile.deprecated_lock.is_some() {
        cmd.push("--lockfile".into());
        cmd.push(shell_quote(&lock_path.display().to_string()));
    }
    if let Some(s) = &a.secrets {
        cmd.push("--secrets".into());
        cmd.push(shell_quote(&s.display().to_string()));
    }
    if a.mask_secrets || mask {
        cmd.push("--mask-secrets".into());
    }
    for p in &a.paths {
        cmd.push(shell_quote(&p.display().to_string()));
    }
    cmd.join(" ")
}

/// Quote for a POSIX shell when needed.
fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./:=@%+,-".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}
