//! `netc graph [PATHS…]`: the cluster's BGP topology as DOT, Mermaid or SVG
//! (rendered in-process, no graphviz needed); with `--node N --policy`, that
//! node's policy path instead. The picture is built in src/graph.rs.

use super::common;
use anyhow::{anyhow, Context};
use netc::graph::{self, Topology, View};
use netc_compiler::lower::Cluster;
use std::io::Write;
use std::path::PathBuf;

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum GraphFormat {
    #[default]
    Dot,
    Mermaid,
    Svg,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Input files or directories (default: current directory).
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: GraphFormat,
    /// Group nodes by this Node label (e.g. `rack`) instead of by the
    /// subnet of their ipv4Address.
    #[arg(long, value_name = "LABEL")]
    pub group_by: Option<String>,
    /// Draw a mesh of more nodes as a note, and a group's ordinary nodes as
    /// one box when it has more; route reflectors always stay visible.
    #[arg(long, value_name = "N", default_value_t = 12)]
    pub collapse: usize,
    /// With --policy: the node whose policy path to draw.
    #[arg(long, value_name = "NAME", requires = "policy")]
    pub node: Option<String>,
    /// Draw the node's policy path (hooks → endpoints → tiers → policies).
    #[arg(long, requires = "node")]
    pub policy: bool,
    /// Write to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub lockfile: common::LockfileArgs,
}

pub fn run(a: Args) -> anyhow::Result<u8> {
    let c = common::check_inputs(&a.paths);
    if !c.diags.items.is_empty() {
        common::print_diagnostics(&c);
    }
    let Some(model) = c.model.as_ref() else {
        eprintln!("{}", common::summary(&c.diags, c.sources.len()));
        return Ok(1);
    };
    let previous = super::build::read_lock(&a.lockfile.path(&a.paths))?;
    let lock = netc_compiler::alloc::allocate(model, previous.as_ref())
        .map_err(|e| anyhow!("{e}"))
        .context("allocating blocks")?;
    let cluster = Cluster::new(model, &lock);

    let view = if let Some(node) = a.node.as_deref() {
        let ir = cluster
            .lower_node(node)
            .map_err(|e| anyhow!("{e}"))
            .with_context(|| format!("node {node}"))?;
        graph::policy_view(&ir)
    } else {
        let mut bgps = Vec::with_capacity(cluster.nodes.len());
        for n in &cluster.nodes {
            bgps.push(
                cluster
                    .lower_bgp(&n.name)
                    .map_err(|e| anyhow!("{e}"))
                    .with_context(|| format!("node {}", n.name))?,
            );
        }
        let group_of = |n: &netc_compiler::lower::NodeFacts| match &a.group_by {
            Some(label) => n
                .labels
                .get(label)
                .map(|v| format!("{label}={v}"))
                .unwrap_or_else(|| format!("no {label} label")),
            None => n
                .address
                .as_ref()
                .map(|x| x.trunc().to_string())
                .unwrap_or_else(|| "no ipv4Address".into()),
        };
        let nodes: Vec<graph::NodeBgp<'_>> = cluster
            .nodes
            .iter()
            .zip(&bgps)
            .map(|(n, b)| graph::NodeBgp {
                node: &n.name,
                address: n.address,
                bgp: b.as_ref(),
                group: group_of(n),
            })
            .collect();
        View::new(&Topology::from_nodes(&nodes), a.collapse)
    };
    let text = match a.format {
        GraphFormat::Dot => graph::to_dot(&view),
        GraphFormat::Mermaid => graph::to_mermaid(&view),
        GraphFormat::Svg => graph::to_svg(&view).map_err(|e| anyhow!(e))?,
    };
    match &a.output {
        Some(p) => std::fs::write(p, text).with_context(|| format!("writing {}", p.display()))?,
        None => std::io::stdout()
            .write_all(text.as_bytes())
            .context("writing to standard output")?,
    }
    Ok(0)
}
