//! `netc plan --node N [PATHS…]`: compile node N, read the live state of
//! what netc owns on the target (the host or `--netns NAME`), and print what
//! `netc apply` would change, terraform-style. Read-only.
//!
//! Exit codes: 0 (no changes, or changes without --detailed-exitcode),
//! 1 (error), 2 (changes, with --detailed-exitcode).
//!
//! This file also holds what plan and apply share: the target options,
//! compiling one node, durations.

use super::common::{self, Format};
use super::compile_cache;
use super::config;
use anyhow::{bail, Context};
use netc::pipeline;
use netc_host::lock::Mode;
use netc_host::plan::Step;
use netc_host::render;
use netc_host::saved::SavedPlan;
use netc_host::scope::Scope;
use netc_host::session::{Planned, Session};
use netc_host::{Backend, Target};
use netc_ir::HostIr;
use netc_targets::{Artifact, SecretMap};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum FirewallArg {
    Nftables,
    Iptables,
}

/// Where and how: shared by plan and apply.
#[derive(clap::Args, Debug, Clone)]
pub struct TargetArgs {
    /// Plan/apply against this network namespace instead of the host.
    #[arg(long, value_name = "NAME")]
    pub netns: Option<String>,
    /// Firewall backend [default: nftables]. netc's objects in the other
    /// backend are removed.
    #[arg(long, value_enum)]
    pub firewall: Option<FirewallArg>,
    /// BIRD config file netc owns [default: /etc/bird/bird.conf].
    #[arg(long, value_name = "PATH")]
    pub bird_config: Option<PathBuf>,
    /// BIRD control socket [default: /run/bird/bird.ctl].
    #[arg(long, value_name = "PATH")]
    pub bird_socket: Option<PathBuf>,
    /// Secrets for BGP passwords: YAML `name: {key: value}`. Never printed.
    #[arg(long, value_name = "FILE")]
    pub secrets: Option<PathBuf>,
    #[command(flatten)]
    pub lockfile: common::LockfileArgs,
    /// How long to wait for another netc working on the same target.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_duration)]
    pub lock_timeout: Duration,
}

impl TargetArgs {
    /// The target: each option from its flag, environment variable or the
    /// config file (see `config`); the firewall backend then from what the
    /// last apply recorded on the target, else nftables.
    pub fn target(&self) -> anyhow::Result<Target> {
        let d = Target::default();
        let mut t = Target {
            netns: self.netns.clone(),
            firewall: Backend::Nftables,
            bird_config: config::path(&self.bird_config, "NETC_BIRD_CONFIG", |c| &c.bird_config)?
                .unwrap_or(d.bird_config),
            bird_socket: config::path(&self.bird_socket, "NETC_BIRD_SOCKET", |c| &c.bird_socket)?
                .unwrap_or(d.bird_socket),
        };
        t.firewall = match config::firewall(self.firewall)? {
            Some(FirewallArg::Iptables) => Backend::Iptables,
            Some(FirewallArg::Nftables) => Backend::Nftables,
            None => t.recorded_backend().unwrap_or(Backend::Nftables),
        };
        Ok(t)
    }

    pub fn secrets(&self) -> anyhow::Result<SecretMap> {
        Ok(
            match config::path(&self.secrets, "NETC_SECRETS", |c| &c.secrets)? {
                Some(p) => pipeline::load_secrets(&p)?,
                None => SecretMap::default(),
            },
        )
    }
}

/// A step of the plan, as `--only` names it.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepArg {
    Tunnels,
    Addresses,
    #[value(alias = "neighbors", alias = "fdb")]
    Neighbours,
    Routes,
    Firewall,
    Bird,
}

impl StepArg {
    pub fn step(self) -> Step {
        match self {
            StepArg::Tunnels => Step::Links,
            StepArg::Addresses => Step::Addresses,
            StepArg::Neighbours => Step::Neighbors,
            StepArg::Routes => Step::Routes,
            StepArg::Firewall => Step::Firewall,
            StepArg::Bird => Step::Bird,
        }
    }
}

/// `--only` and `--replace`: shared by plan and apply.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ScopeArgs {
    /// Plan and apply only these steps (comma-separated), like terraform's
    /// -target; apply verifies only them. `tunnels` brings addresses,
    /// neighbours and routes along (they hang on the devices).
    #[arg(long, value_enum, value_delimiter = ',', value_name = "STEPS")]
    pub only: Vec<StepArg>,
    /// Destroy and create again this tunnel device (tunl0, vxlan.calico)
    /// even when it matches; repeatable.
    #[arg(long, value_name = "DEVICE")]
    pub replace: Vec<String>,
}

impl ScopeArgs {
    pub fn scope(&self) -> anyhow::Result<Scope> {
        for d in &self.replace {
            if !netc_host::state::OWNED_LINKS.contains(&d.as_str()) {
                bail!(
                    "--replace {d}: netc manages only the tunnel devices {}",
                    netc_host::state::OWNED_LINKS.join(", ")
                );
            }
        }
        let only = (!self.only.is_empty()).then(|| self.only.iter().map(|s| s.step()).collect());
        let scope = Scope {
            only,
            replace: self.replace.iter().cloned().collect(),
        };
        if !scope.replace.is_empty() && !scope.includes(Step::Links) {
            bail!("--replace re-creates a tunnel device: add `tunnels` to --only");
        }
        Ok(scope)
    }
}

/// The note a plan restricted with `--only` carries.
pub fn scope_warning(scope: &Scope) -> Option<String> {
    scope.only.as_ref()?;
    let steps: Vec<&str> = Step::ALL
        .into_iter()
        .filter(|s| scope.includes(*s))
        .map(Step::label)
        .collect();
    Some(format!(
        "--only: this plan covers only {}; the other steps were not compared, and apply verifies only these",
        steps.join(", ")
    ))
}

/// `--summary`: one line per step, `tunnels: +1 ~0 -0`, then the totals.
pub fn summary_text(plan: &netc_host::Plan) -> String {
    use netc_host::plan::Action;
    let mut out = String::new();
    for step in Step::ALL {
        let (mut add, mut change, mut destroy) = (0, 0, 0);
        for c in plan.changes.iter().filter(|c| c.step == step) {
            match c.action {
                Action::Create => add += 1,
                Action::Update => change += 1,
                Action::Delete => destroy += 1,
                Action::Replace => {
                    add += 1;
                    destroy += 1;
                }
            }
        }
        out.push_str(&format!("{}: +{add} ~{change} -{destroy}\n", step.label()));
    }
    out.push_str(&render::summary_line(plan.summary()));
    out.push('\n');
    out
}

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The node whose desired state to compare with the target [default:
    /// NETC_NODE, the config file's `node`, else the host name].
    #[arg(long, value_name = "NAME")]
    pub node: Option<String>,
    /// Input files or directories [default: NETC_INPUT, the config file's
    /// `input`, else the current directory when it holds netc input].
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub scope: ScopeArgs,
    /// Print one line per step (`tunnels: +1 ~0 -0`) instead of every change.
    #[arg(long)]
    pub summary: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// Save the plan; `netc apply FILE` applies exactly it, or refuses when
    /// the target changed since.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Exit 0 when there are no changes, 2 when there are, 1 on errors.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Do not warn that the target lacks the node's address (see apply --force).
    #[arg(long)]
    pub force: bool,
}

/// `120s`, `2m`, `1m30s`, `500ms`, `1h`, or plain seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if let Ok(n) = s.parse::<u64>() {
        return Ok(Duration::from_secs(n));
    }
    let mut total = Duration::ZERO;
    let mut rest = s;
    if rest.is_empty() {
        return Err("empty duration".into());
    }
    while !rest.is_empty() {
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        if digits == 0 {
            return Err(format!("`{s}` is not a duration (e.g. 120s, 2m, 1m30s)"));
        }
        let n: u64 = rest[..digits].parse().map_err(|e| format!("`{s}`: {e}"))?;
        rest = &rest[digits..];
        let unit = rest.chars().take_while(char::is_ascii_alphabetic).count();
        let d = match &rest[..unit] {
            "ms" => Duration::from_millis(n),
            "s" | "sec" => Duration::from_secs(n),
            "m" | "min" => Duration::from_secs(n * 60),
            "h" => Duration::from_secs(n * 3600),
            u => return Err(format!("`{s}`: unknown unit `{u}` (ms, s, m, h)")),
        };
        total += d;
        rest = &rest[unit..];
    }
    Ok(total)
}

/// One node, compiled: its IR and artifacts.
pub struct NodeInput {
    pub ir: HostIr,
    pub artifacts: Vec<Artifact>,
    /// netc.lock would change (path, new text).
    pub lock_update: Option<(PathBuf, String)>,
    /// Nodes that are route reflectors (routeReflectorClusterID set), for
    /// status's peer types: a node's IR does not say whether its peer reflects.
    pub route_reflectors: std::collections::BTreeSet<String>,
}

/// What compiling one node gave: the node, or the exit code after the
/// input's diagnostics were printed (not an error of netc's own).
pub enum Compiled {
    Node(Box<NodeInput>),
    Rejected(u8),
}

/// The session `opened` gave; when the target could not be opened, the
/// input's diagnostics still come first (they are what the operator can fix
/// here): `Ok(Err(code))` after printing them, the opening error when the
/// input is fine.
pub fn session_or_input_errors(
    opened: anyhow::Result<Session>,
    paths: &[PathBuf],
    node: &str,
    t: &TargetArgs,
) -> anyhow::Result<Result<Session, u8>> {
    match opened {
        Ok(s) => Ok(Ok(s)),
        Err(e) => match compile_node(paths, node, t)? {
            Compiled::Rejected(code) => Ok(Err(code)),
            Compiled::Node(_) => Err(e),
        },
    }
}

/// Compile the node while another thread reads the live state through
/// `session` (which holds the target's lock): the two are independent, and
/// on a large node each takes about as long as the other. The live state
/// is None when compiling was rejected.
pub fn compile_reading(
    session: &Session,
    paths: &[PathBuf],
    node: &str,
    t: &TargetArgs,
    whole_ir: bool,
) -> anyhow::Result<(
    Compiled,
    Option<(netc_host::State, netc_host::state::Facts)>,
)> {
    let (compiled, live) = std::thread::scope(|sc| {
        let live = sc.spawn(|| session.read_live());
        let compiled =
            netc_ir::timing::timed("compile", || compile_node_with(paths, node, t, whole_ir));
        let live = live
            .join()
            .unwrap_or_else(|_| Err(netc_host::DesiredError::Panicked.into()));
        (compiled, live)
    });
    let compiled = compiled?;
    if let Compiled::Rejected(_) = compiled {
        return Ok((compiled, None));
    }
    Ok((compiled, Some(live?)))
}

/// Load, validate and compile one node — or take it from
/// [`compile_cache`] when nothing it depends on changed.
pub fn compile_node(paths: &[PathBuf], node: &str, t: &TargetArgs) -> anyhow::Result<Compiled> {
    compile_node_with(paths, node, t, false)
}

/// [`compile_node`]; `whole_ir`: the IR must include its firewall (a
/// saved plan stores the IR), which a cache hit reads from its own file.
pub fn compile_node_with(
    paths: &[PathBuf],
    node: &str,
    t: &TargetArgs,
    whole_ir: bool,
) -> anyhow::Result<Compiled> {
    let lock_path = t.lockfile.path(paths);
    let backend = t.target()?.firewall;
    let secrets = t.secrets()?;
    let key = compile_cache::key(paths, node, backend.name(), &lock_path);
    let hit = key.as_deref().and_then(|k| {
        let mut e = compile_cache::load(k, backend.artifact_kinds())?;
        if whole_ir {
            e.ir.firewall = compile_cache::load_firewall(k)?;
        }
        Some(e)
    });
    if let Some(e) = hit {
        eprint!("{}", e.diagnostics);
        let artifacts = e
            .artifacts(backend.artifact_kinds(), &secrets)
            .map_err(|source| pipeline::PipelineError::Emit {
                node: node.to_string(),
                source,
            })?;
        return Ok(Compiled::Node(Box::new(NodeInput {
            ir: e.ir,
            artifacts,
            lock_update: None,
            route_reflectors: e.route_reflectors,
        })));
    }
    // Documents unchanged since an earlier plan or apply are read back
    // loaded and checked (an edit changes one document of many).
    let store = super::doc_store::DirStore::open();
    let mut c = common::check_inputs_with(
        paths,
        store
            .as_ref()
            .map(|s| s as &dyn netc_compiler::load::doc_cache::DocStore),
    );
    if !c.diags.items.is_empty() {
        common::print_diagnostics(&c);
    }
    let Some(mut model) = c.model.take() else {
        eprintln!("{}", common::summary(&c.diags, c.sources.len()));
        return Ok(Compiled::Rejected(1));
    };
    // What the compile cache keeps of the diagnostics, rendered while the
    // sources are here: the sources, the diagnostics and the spans go
    // before lowering, whose peak of memory they would otherwise add to
    // (with validation's freed memory: `crate::return_freed`).
    let diagnostics = key.as_ref().map(|_| {
        let r = netc_compiler::diag::Renderer::new(&c.sources);
        c.diags
            .items
            .iter()
            .map(|d| r.render(d))
            .collect::<String>()
    });
    drop(c);
    model.forget_spans();
    netc_ir::timing::timed("return freed", crate::return_freed);
    let route_reflectors: std::collections::BTreeSet<String> = model
        .nodes
        .iter()
        .filter(|n| {
            n.spec
                .bgp
                .as_ref()
                .and_then(|b| b.route_reflector_cluster_id.as_deref())
                .is_some_and(|c| !c.is_empty())
        })
        .map(|n| n.meta.name.clone())
        .collect();
    let previous = super::build::read_lock(&lock_path)?;
    let (lock, mut n) = pipeline::compile_one(
        model,
        previous.as_ref(),
        node,
        &secrets,
        backend.artifact_kinds(),
        // The model's pages, most of them built by validation's workers,
        // would otherwise stay resident through the emitter's own peak
        // (+4–5 MiB at 10,000 rules).
        || netc_ir::timing::timed("return freed", crate::return_freed),
    )?;
    let lock_update = (previous.as_ref() != Some(&lock)).then(|| (lock_path, lock.to_text()));
    if let (Some(k), Some(diagnostics), None) = (&key, &diagnostics, &lock_update) {
        let artifacts: Vec<(&str, &str)> = n
            .artifacts
            .iter()
            .filter(|a| !a.sensitive)
            .map(|a| (a.file_name(), a.contents.as_str()))
            .collect();
        compile_cache::store(
            k,
            &mut n.ir,
            &route_reflectors,
            diagnostics,
            &artifacts,
            whole_ir,
        );
    }
    // Plan and apply work from the artifacts, as they do on a compile-cache
    // hit, which never reads the IR's firewall
    // (`compile_cache::load_firewall`): it goes unless a saved plan keeps
    // it. Then the memory freed since validation goes back to the kernel
    // before the live table is read and diffed (`crate::return_freed`).
    if !whole_ir {
        drop(std::mem::take(&mut n.ir.firewall));
    }
    netc_ir::timing::timed("return freed", crate::return_freed);
    Ok(Compiled::Node(Box::new(NodeInput {
        ir: n.ir,
        artifacts: n.artifacts,
        lock_update,
        route_reflectors,
    })))
}

pub fn color_stdout() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// The plan as text, with route origins from the IR.
pub fn render_text(p: &Planned, ir: &HostIr, t: &Target) -> String {
    let label = t.label();
    let ctx = render::Context {
        node: &p.node,
        target: &label,
        color: color_stdout(),
        route_origins: ir
            .routes
            .iter()
            .filter_map(|r| {
                let o = serde_json::to_value(r.origin?).ok()?;
                Some((r.dst.to_string(), o.as_str()?.to_string()))
            })
            .collect(),
    };
    render::text(&p.plan, &ctx)
}

pub fn print_warnings(w: &[String]) {
    for x in w {
        eprintln!("warning: {x}");
    }
}

pub fn run(a: Args) -> anyhow::Result<u8> {
    let node = config::node(a.node.as_deref())?;
    let paths = config::inputs(&a.paths)?;
    let scope = a.scope.scope()?;
    let target = a.target.target()?;
    let opened = super::common::revert_overdue(&target, "netc plan").and_then(|_| {
        Ok(Session::open(
            target.clone(),
            Mode::Shared,
            a.target.lock_timeout,
        )?)
    });
    let session = match session_or_input_errors(opened, &paths, &node, &a.target)? {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    // A saved plan holds the whole IR.
    let (input, live) = compile_reading(&session, &paths, &node, &a.target, a.out.is_some())?;
    let input = match input {
        Compiled::Node(i) => i,
        Compiled::Rejected(code) => return Ok(code),
    };
    let mut planned = session.plan_from(&input.ir, &input.artifacts, a.force, &scope, live)?;
    planned.warnings.extend(scope_warning(&scope));
    if let Some((p, _)) = &input.lock_update {
        planned.warnings.push(format!(
            "{} is out of date (blocks would be allocated or freed): this plan uses the new allocation; `netc apply` or `netc build` writes it",
            p.display()
        ));
    }
    drop(session);

    match a.format {
        Format::Text if a.summary => {
            print!("{}", summary_text(&planned.plan));
            print_warnings(&planned.warnings);
        }
        Format::Text => {
            print!("{}", render_text(&planned, &input.ir, &target));
            print_warnings(&planned.warnings);
        }
        Format::Json => {
            let v = render::json(
                &planned.plan,
                &planned.node,
                &target,
                &planned.fingerprint(),
                &planned.warnings,
            );
            println!("{}", serde_json::to_string_pretty(&v)?);
        }
    }

    if let Some(out) = &a.out {
        let mut saved = SavedPlan::new(
            &input.ir,
            &input.artifacts,
            &target,
            &planned.fingerprint(),
            &planned.plan,
        )?;
        saved.only = scope.only.clone();
        saved.replace = scope.replace.clone();
        let text = serde_json::to_string_pretty(&saved)?;
        netc_host::confirm::write_private(out, &text)
            .with_context(|| format!("saving the plan to {}", out.display()))?;
        if a.format == Format::Text {
            println!();
            println!("Saved the plan to: {}", out.display());
            println!(
                "To perform exactly these actions, run: netc apply {}",
                out.display()
            );
        }
    }
    if a.detailed_exitcode && !planned.plan.is_empty() {
        return Ok(2);
    }
    Ok(0)
}

/// Refuse planning options that a saved plan fixes.
pub fn check_saved_options(
    t: &TargetArgs,
    node: Option<&str>,
    saved: &SavedPlan,
) -> anyhow::Result<()> {
    if let Some(n) = node {
        if n != saved.node {
            bail!("the saved plan is for node {}, not {n}", saved.node);
        }
    }
    let want = &saved.target;
    let given = t.target()?;
    let mut diffs = Vec::new();
    if t.netns.is_some() && given.netns != want.netns {
        diffs.push(format!("--netns (plan: {})", want.label()));
    }
    if t.firewall.is_some() && given.firewall != want.firewall {
        diffs.push(format!("--firewall (plan: {})", want.firewall.name()));
    }
    if t.bird_config.is_some() && given.bird_config != want.bird_config {
        diffs.push(format!(
            "--bird-config (plan: {})",
            want.bird_config.display()
        ));
    }
    if t.bird_socket.is_some() && given.bird_socket != want.bird_socket {
        diffs.push(format!(
            "--bird-socket (plan: {})",
            want.bird_socket.display()
        ));
    }
    if !diffs.is_empty() {
        bail!(
            "a saved plan is applied exactly as planned; these options differ from it: {}",
            diffs.join(", ")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("120s"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("5y").is_err());
    }
}
