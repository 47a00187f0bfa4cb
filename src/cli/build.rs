//! `netc build`: write every node's artifacts, or check committed ones.

use super::common;
use anyhow::{bail, Context};
use netc::pipeline::{self, NodeOutput};
use netc_compiler::alloc::Lock;
use netc_compiler::validate::ValidModel;
use netc_ir::SecretRef;
use netc_targets::mask::mask_secrets;
use netc_targets::{ArtifactKind, SecretMap, Secrets};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

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
    /// Also write each node's IR as `ir.json` (for review, `netc check --ir`
    /// and scripts). A node directory that already holds an ir.json gets it
    /// rewritten either way, so it never goes stale beside new artifacts.
    #[arg(long)]
    pub ir: bool,
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
    let secrets: Box<dyn Secrets + Sync> = match &a.secrets {
        Some(p) => Box::new(pipeline::load_secrets(p)?),
        None if a.check || a.mask_secrets => Box::new(MaskedSecrets),
        None => Box::new(SecretMap::default()),
    };
    let lock = netc_compiler::alloc::allocate(model, previous.as_ref())
        .map_err(pipeline::PipelineError::from)?;
    let lock_changed = previous.as_ref() != Some(&lock);
    if a.check {
        return check(&a, model, &lock, secrets.as_ref(), &lock_path, lock_changed);
    }
    if lock_changed && a.locked {
        bail!(
            "{} is out of date (blocks would be allocated or freed); run `netc build` without --locked and commit the lock",
            lock_path.display()
        );
    }
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let progress = Progress::new("building");
    let done = pipeline::compile_each(
        model,
        &lock,
        a.node.as_deref(),
        secrets.as_ref(),
        &ArtifactKind::ALL,
        |total| progress.start(total),
        |n| {
            write_node(&a.out, &n, a.mask_secrets, a.ir)?;
            progress.tick(&n.name);
            Ok::<(), anyhow::Error>(())
        },
    );
    let names = progress.finish();
    done?;
    if lock_changed {
        write_atomic(&lock_path, &lock.to_text(), false)?;
        eprintln!("wrote {}", lock_path.display());
    }
    if a.node.is_none() {
        remove_undeclared(&a.out, &names)?;
    }
    eprintln!(
        "built {} {} into {}",
        names.len(),
        common::plural(names.len(), "node", "nodes"),
        a.out.display()
    );
    c.release();
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

/// Does the node's directory get an ir.json: asked for, or one is there.
///
/// Serialising the IR costs as much as emitting every artifact on a large
/// node (10.8 MiB for 10,000 rules), and apply never reads it: only on request.
fn wants_ir(out: &Path, node: &str, asked: bool) -> bool {
    asked || out.join(node).join("ir.json").is_file()
}

/// One node's directory: every artifact, and ir.json when [`wants_ir`].
fn write_node(out: &Path, n: &NodeOutput, mask: bool, ir: bool) -> anyhow::Result<()> {
    let _t = netc_ir::timing::phase("write");
    let dir = out.join(&n.name);
    let ir = wants_ir(out, &n.name, ir);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    for (name, contents, sensitive) in n.files(ir) {
        let contents = if sensitive && mask {
            mask_secrets(&contents).into()
        } else {
            contents
        };
        write_file(&dir.join(name), &contents, sensitive, false)?;
    }
    Ok(())
}

/// A directory `netc build` wrote: it holds a node's nftables.nft (every
/// build writes one) or ir.json (builds before 0.4 always wrote one).
fn is_node_dir(p: &Path) -> bool {
    p.join(ArtifactKind::Nftables.file_name()).is_file() || p.join("ir.json").is_file()
}

/// Remove output of nodes that no longer exist (only directories netc wrote).
fn remove_undeclared(out: &Path, names: &BTreeSet<String>) -> anyhow::Result<()> {
    for e in std::fs::read_dir(out)?.flatten() {
        let p = e.path();
        let name = e.file_name().to_string_lossy().to_string();
        if is_node_dir(&p) && !names.contains(&name) {
            std::fs::remove_dir_all(&p)?;
            eprintln!("removed {} (node no longer declared)", p.display());
        }
    }
    Ok(())
}

/// Write via a temp file and rename, so a reader never sees half a file,
/// and sync it to disk first (netc.lock: losing it to a crash would move
/// blocks on the next build).
pub fn write_atomic(path: &Path, contents: &str, sensitive: bool) -> anyhow::Result<()> {
    write_file(path, contents, sensitive, true)
}

/// [`write_atomic`]; `durable: false` skips the fsync. Build artifacts take
/// that path: they are regenerated from the input at will, readers still
/// never see half a file (the rename), and a fleet build writes thousands
/// of them — one fsync each would dominate its time.
fn write_file(path: &Path, contents: &str, sensitive: bool, durable: bool) -> anyhow::Result<()> {
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
        if durable {
            f.sync_all()?;
        }
    }
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

fn check(
    a: &Args,
    model: &ValidModel,
    lock: &Lock,
    secrets: &(dyn Secrets + Sync),
    lock_path: &Path,
    lock_changed: bool,
) -> anyhow::Result<u8> {
    let mut stale = 0usize;
    if lock_changed {
        stale += 1;
        println!("{} is out of date", lock_path.display());
    }
    // Nodes compile in parallel; each one's diffs are kept (not its
    // artifacts) and printed in node order at the end.
    let diffs: Mutex<BTreeMap<String, NodeCheck>> = Mutex::new(BTreeMap::new());
    let progress = Progress::new("checking");
    let done = pipeline::compile_each(
        model,
        lock,
        a.node.as_deref(),
        secrets,
        &ArtifactKind::ALL,
        |total| progress.start(total),
        |n| {
            let c = check_node(&a.out, &n, a.ir);
            progress.tick(&n.name);
            diffs
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(n.name.clone(), c);
            Ok::<(), anyhow::Error>(())
        },
    );
    let names = progress.finish();
    done?;
    // Some artifact holds a password / the committed ones hold it masked.
    let (mut has_secrets, mut committed_masked) = (false, false);
    for c in diffs
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .values()
    {
        stale += c.stale;
        has_secrets |= c.has_secrets;
        committed_masked |= c.committed_masked;
        print!("{}", c.diff);
    }
    if a.node.is_none() {
        if let Ok(rd) = std::fs::read_dir(&a.out) {
            let mut gone: Vec<PathBuf> = rd
                .flatten()
                .filter(|e| {
                    is_node_dir(&e.path()) && !names.contains(&*e.file_name().to_string_lossy())
                })
                .map(|e| e.path())
                .collect();
            gone.sort();
            for p in gone {
                stale += 1;
                println!("{}: node no longer declared", p.display());
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

/// What `--check` found for one node.
#[derive(Default)]
struct NodeCheck {
    stale: usize,
    diff: String,
    has_secrets: bool,
    committed_masked: bool,
}

/// `--check` of one node: what a build with the same flags would write
/// (ir.json when `--ir` or when one is committed).
fn check_node(out: &Path, n: &NodeOutput, ir: bool) -> NodeCheck {
    let mut c = NodeCheck::default();
    for (name, want, sensitive) in n.files(wants_ir(out, &n.name, ir)) {
        let path = out.join(&n.name).join(&name);
        let have = std::fs::read_to_string(&path).ok();
        // Files that hold secrets compare with their passwords masked:
        // a committed bird.conf with `password "********";` is current.
        let (have, want) = if sensitive {
            c.has_secrets |= want.contains("password \"");
            c.committed_masked |= have
                .as_deref()
                .is_some_and(|h| h.contains("password \"********\""));
            (have.as_deref().map(mask_secrets), mask_secrets(&want))
        } else {
            (have, want.into_owned())
        };
        if have.as_deref() == Some(want.as_str()) {
            continue;
        }
        c.stale += 1;
        let have = have.unwrap_or_default();
        let diff = similar::TextDiff::from_lines(&have, &want);
        let _ = write!(
            c.diff,
            "{}",
            diff.unified_diff().context_radius(3).header(
                &format!("a/{}", path.display()),
                &format!("b/{}", path.display())
            )
        );
    }
    c
}

/// A progress line on stderr while many nodes compile — only on a terminal
/// (CI logs and pipes get the summary line alone) and only for runs long
/// enough to need one. Also collects the names of the nodes done.
struct Progress {
    verb: &'static str,
    tty: bool,
    total: AtomicUsize,
    state: Mutex<(BTreeSet<String>, Instant)>,
    started: Instant,
}

impl Progress {
    fn new(verb: &'static str) -> Progress {
        Progress {
            verb,
            tty: std::io::stderr().is_terminal(),
            total: AtomicUsize::new(0),
            state: Mutex::new((BTreeSet::new(), Instant::now())),
            started: Instant::now(),
        }
    }

    fn start(&self, total: usize) {
        self.total.store(total, Ordering::Relaxed);
    }

    fn tick(&self, name: &str) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        st.0.insert(name.to_string());
        // Redraw at most 10 times a second, after the first half second.
        if self.tty
            && self.started.elapsed() > Duration::from_millis(500)
            && st.1.elapsed() > Duration::from_millis(100)
        {
            st.1 = Instant::now();
            eprint!(
                "\r{} {}/{} nodes",
                self.verb,
                st.0.len(),
                self.total.load(Ordering::Relaxed)
            );
        }
    }

    /// Clear the progress line; the names of the nodes done.
    fn finish(self) -> BTreeSet<String> {
        if self.tty && self.started.elapsed() > Duration::from_millis(500) {
            eprint!("\r\x1b[K");
        }
        self.state.into_inner().unwrap_or_else(|e| e.into_inner()).0
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
    if a.ir {
        cmd.push("--ir".into());
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
