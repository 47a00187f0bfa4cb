//! `netc ipam show [PATHS…]` (calicoctl's `ipam show --show-blocks`): the
//! blocks netc.lock gives each node, with their pool and utilisation — the
//! addresses in the block used by the node's tunnel address and its
//! workload endpoints, against the block's size.

use super::common::{self, Format, LockfileArgs};
use super::config;
use anyhow::bail;
use netc_compiler::alloc;
use netc_compiler::lower::Cluster;
use netc_ir::RouteOrigin;
use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub command: IpamCommand,
}

#[derive(clap::Subcommand, Debug)]
pub enum IpamCommand {
    /// Blocks per node from netc.lock: pool, block CIDR, utilisation.
    Show(ShowArgs),
}

#[derive(clap::Args, Debug)]
pub struct ShowArgs {
    /// Input files or directories [default: NETC_INPUT, the config file's
    /// `input`, else the current directory when it holds netc input].
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub lockfile: LockfileArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

pub fn run(a: Args) -> anyhow::Result<u8> {
    match a.command {
        IpamCommand::Show(s) => show(s),
    }
}

struct Row {
    node: String,
    /// The pool's CIDR (netc.lock's key).
    pool: String,
    /// The IPPool declaring it (None: no longer declared).
    pool_name: Option<String>,
    block: ipnet::IpNet,
    used: Vec<(IpAddr, &'static str)>,
    size: u128,
}

fn show(a: ShowArgs) -> anyhow::Result<u8> {
    let paths = config::inputs(&a.paths)?;
    let c = common::check_inputs(&paths);
    if !c.diags.items.is_empty() {
        common::print_diagnostics(&c);
    }
    let Some(model) = c.model.as_ref() else {
        eprintln!("{}", common::summary(&c.diags, c.sources.len()));
        return Ok(1);
    };
    let lock_path = a.lockfile.path(&paths);
    let Some(lock) = super::build::read_lock(&lock_path)? else {
        bail!(
            "{} does not exist: no block is allocated yet (`netc build` writes it)",
            lock_path.display()
        );
    };
    let current = alloc::allocate(model, Some(&lock))?;
    if current != lock {
        eprintln!(
            "warning: {} is out of date (blocks would be allocated or freed): showing it as it is; `netc build` updates it",
            lock_path.display()
        );
    }
    let cluster = Cluster::new(model, &current);
    // netc.lock keys pools by CIDR: show the IPPool's name beside it.
    let pool_name = |cidr: &str| {
        model
            .ip_pools
            .iter()
            .find(|p| {
                p.spec
                    .cidr
                    .parse::<ipnet::IpNet>()
                    .is_ok_and(|c| c.trunc().to_string() == cidr)
            })
            .map(|p| p.name().to_string())
    };
    let mut rows = Vec::new();
    for (pool, pl) in &lock.pools {
        for (node, blocks) in &pl.blocks {
            let mut addrs: BTreeSet<(IpAddr, &'static str)> = BTreeSet::new();
            if cluster.nodes.iter().any(|n| &n.name == node) {
                let ir = cluster.lower_node(node)?;
                for t in &ir.tunnels {
                    addrs.insert((t.address, "tunnel"));
                }
                for r in &ir.routes {
                    if r.origin == Some(RouteOrigin::Workload)
                        && r.dst.prefix_len() == r.dst.max_prefix_len()
                    {
                        addrs.insert((r.dst.addr(), "workload"));
                    }
                }
            }
            for b in blocks {
                let used: Vec<(IpAddr, &'static str)> = addrs
                    .iter()
                    .filter(|(ip, _)| b.contains(ip))
                    .cloned()
                    .collect();
                let bits = u32::from(b.max_prefix_len() - b.prefix_len());
                rows.push(Row {
                    node: node.clone(),
                    pool: pool.clone(),
                    pool_name: pool_name(pool),
                    block: *b,
                    used,
                    size: 1u128.checked_shl(bits).unwrap_or(u128::MAX),
                });
            }
        }
    }
    rows.sort_by(|x, y| (&x.node, &x.pool, x.block).cmp(&(&y.node, &y.pool, y.block)));
    match a.format {
        Format::Text => {
            for r in &mut rows {
                r.pool = match &r.pool_name {
                    Some(n) => format!("{n} ({})", r.pool),
                    None => format!("{} (undeclared)", r.pool),
                };
            }
            let w_node = rows.iter().map(|r| r.node.len()).max().unwrap_or(0).max(4);
            let w_pool = rows.iter().map(|r| r.pool.len()).max().unwrap_or(0).max(4);
            let w_block = rows
                .iter()
                .map(|r| r.block.to_string().len())
                .max()
                .unwrap_or(0)
                .max(5);
            println!(
                "{:w_node$}  {:w_pool$}  {:w_block$}  {:>4}  {:>5}  {:>6}",
                "NODE", "POOL", "BLOCK", "USED", "SIZE", "UTIL"
            );
            for r in &rows {
                println!(
                    "{:w_node$}  {:w_pool$}  {:w_block$}  {:>4}  {:>5}  {:>5.1}%",
                    r.node,
                    r.pool,
                    r.block.to_string(),
                    r.used.len(),
                    r.size,
                    pct(r.used.len(), r.size)
                );
            }
            if rows.is_empty() {
                println!("(no blocks allocated)");
            }
        }
        Format::Json => {
            let v: Vec<serde_json::Value> = rows
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "node": r.node,
                        "pool": r.pool_name,
                        "pool_cidr": r.pool,
                        "block": r.block.to_string(),
                        "size": r.size as u64,
                        "used": r.used.len(),
                        "utilisation": pct(r.used.len(), r.size) / 100.0,
                        "addresses": r.used.iter().map(|(ip, what)| serde_json::json!({"address": ip.to_string(), "use": what})).collect::<Vec<_>>(),
                    })
                })
                .collect();
            println!(
                "{}",
                serde_json::to_string_pretty(
                    &serde_json::json!({"format_version": 1, "blocks": v})
                )?
            );
        }
    }
    Ok(0)
}

fn pct(used: usize, size: u128) -> f64 {
    if size == 0 {
        0.0
    } else {
        used as f64 * 100.0 / size as f64
    }
}
