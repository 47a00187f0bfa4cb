//! `netc check --node N --from SRC --to DST[/PROTO]`: what node N's firewall
//! does with the first packet of a connection, and the path that decided
//! it — hook, dispatch, endpoint, tier, policy, rule with its file:line.
//! Computed from the compiled IR (src/check.rs, `netc_ir::eval`); nothing
//! is read from or done to the host.
//!
//! Exit codes: 0 the packet is not dropped (allowed, or no decision: netc
//! has no opinion and the host's own rules decide), 3 dropped, 1 an error
//! in the inputs or the question, 2 usage.

use super::common::{self, Format};
use super::config;
use anyhow::{anyhow, bail, Context};
use netc::check::{self, Backend, End};
use netc_compiler::lower::Cluster;
use netc_compiler::model::Model;
use netc_ir::eval::{self, Outcome, Packet, RouteKind, Topology};
use netc_ir::Protocol;
use std::path::PathBuf;

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum FirewallArg {
    Nftables,
    Iptables,
}

#[derive(clap::Args, Debug)]
#[command(after_help = "\
ENDPOINTS (--from, --to):
  192.0.2.10 | 192.0.2.10:40000 | [fd00::1]:443   an address, optionally with a port
  wep:NS/NAME[:PORT]    a WorkloadEndpoint (its first address of the family)
  pod:NS/POD[:PORT]     the WorkloadEndpoint of a pod
  hep:NAME[:PORT]       a HostEndpoint (its first expected IP)
  node:NAME[:PORT]      a Node's BGP address
--to takes the protocol after a slash: --to wep:demo/web:80/tcp, --to 10.0.0.1/icmp.

EXIT STATUS: 0 not dropped (allowed, or no decision), 3 dropped, 1 error.")]
pub struct Args {
    /// Input files or directories (default: the config file's, else the current directory).
    pub paths: Vec<PathBuf>,
    /// Evaluate a compiled IR (`ir.json`, as `netc build` writes it for each
    /// node) instead of compiling the inputs: fast, but ends must be
    /// addresses, the host's own addresses are its underlay addresses only
    /// (not its host endpoints' expected IPs), and rules are named by
    /// policy and index, without file:line.
    #[arg(long, value_name = "FILE", conflicts_with = "paths")]
    pub ir: Option<PathBuf>,
    /// The node whose firewall decides [default: NETC_NODE, the config file, the host name].
    #[arg(long, value_name = "NAME")]
    pub node: Option<String>,
    /// Where the packet comes from (see ENDPOINTS); source port 40000 unless given.
    #[arg(long, value_name = "ENDPOINT")]
    pub from: String,
    /// Where it goes: ENDPOINT[:PORT][/PROTO], protocol tcp unless given.
    #[arg(long, value_name = "ENDPOINT[/PROTO]")]
    pub to: String,
    /// ICMP type (with /icmp or /icmpv6) [default: echo request].
    #[arg(long, value_name = "TYPE")]
    pub icmp_type: Option<u8>,
    /// ICMP code.
    #[arg(long, value_name = "CODE", default_value_t = 0)]
    pub icmp_code: u8,
    /// Use the endpoints' IPv6 addresses.
    #[arg(long, short = '6')]
    pub ipv6: bool,
    /// The interface the packet arrives on, instead of the one routing picks.
    #[arg(long, value_name = "IFACE")]
    pub iif: Option<String>,
    /// The interface the packet leaves by, instead of the one routing picks.
    #[arg(long, value_name = "IFACE")]
    pub oif: Option<String>,
    /// Phrase the answer for this firewall backend (the verdict is the same
    /// for both) [default: NETC_FIREWALL, the config file, nftables].
    #[arg(long, value_enum)]
    pub firewall: Option<FirewallArg>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    #[command(flatten)]
    pub lockfile: common::LockfileArgs,
}

pub fn run(a: Args) -> anyhow::Result<u8> {
    let firewall = match config::firewall(a.firewall)? {
        Some(FirewallArg::Iptables) => Backend::Iptables,
        _ => Backend::Nftables,
    };
    if let Some(path) = &a.ir {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let ir: netc_ir::HostIr = serde_json::from_str(&text)
            .with_context(|| format!("{}: not a netc IR", path.display()))?;
        ir.firewall
            .check()
            .with_context(|| format!("{}: broken IR", path.display()))?;
        if let Some(n) = a.node.as_deref().filter(|n| *n != ir.node) {
            bail!(
                "--node {n}: {} is the IR of node {}",
                path.display(),
                ir.node
            );
        }
        let topo = Topology::from_ir(&ir);
        return answer(&a, None, &Model::default(), &ir, &topo, firewall);
    }
    let node = config::node(a.node.as_deref())?;
    let paths = config::inputs(&a.paths)?;
    let c = common::check_inputs(&paths);
    let Some(model) = c.model.as_ref() else {
        common::print_diagnostics(&c);
        eprintln!("{}", common::summary(&c.diags, c.sources.len()));
        return Ok(1);
    };
    let previous = super::build::read_lock(&a.lockfile.path(&paths))?;
    let lock = netc_compiler::alloc::allocate(model, previous.as_ref())
        .map_err(|e| anyhow!("{e}"))
        .context("allocating blocks")?;
    let ir = Cluster::new(model, &lock)
        .lower_node(&node)
        .map_err(|e| anyhow!("{e}"))
        .with_context(|| format!("node {node}"))?;
    let topo = check::topology(model, &ir);
    answer(&a, Some(&c.sources), model, &ir, &topo, firewall)
}

/// Parse the question, evaluate, print; the exit code.
fn answer(
    a: &Args,
    sources: Option<&netc_compiler::SourceMap>,
    model: &Model,
    ir: &netc_ir::HostIr,
    topo: &Topology,
    firewall: Backend,
) -> anyhow::Result<u8> {
    if sources.is_none() {
        for e in [&a.from, &a.to] {
            let host = e.split('/').next().unwrap_or_default();
            if ["wep:", "pod:", "hep:", "node:"]
                .iter()
                .any(|k| host.starts_with(k))
            {
                bail!("`{e}`: endpoint names need the YAML inputs, not --ir");
            }
        }
    }
    let (to, proto) = match a.to.rsplit_once('/') {
        // `wep:ns/name` has a slash too: only a protocol-looking tail is one.
        Some((t, p)) if check::parse_protocol(p).is_ok() && !t.ends_with(':') => {
            (t, check::parse_protocol(p)?)
        }
        _ => (a.to.as_str(), Protocol::Tcp),
    };
    let want = a.ipv6.then_some(true);
    let dst: End = check::parse_end(model, to, want)?;
    let want = want.or(Some(dst.addr.is_ipv6()));
    let src: End = check::parse_end(model, &a.from, want)?;
    if src.addr.is_ipv6() != dst.addr.is_ipv6() {
        bail!(check::CheckError::Families(src.addr, dst.addr));
    }
    let protocol = match (proto, dst.addr.is_ipv6()) {
        (Protocol::Icmp, true) => Protocol::IcmpV6,
        (Protocol::IcmpV6, false) => Protocol::Icmp,
        (p, _) => p,
    };
    if protocol.has_ports() && dst.port.is_none() {
        bail!(
            "--to {}: {} needs a destination port",
            a.to,
            protocol.name()
        );
    }
    let packet = Packet {
        src: src.addr,
        dst: dst.addr,
        protocol,
        src_port: src.port.unwrap_or(40000),
        dst_port: dst.port.unwrap_or(0),
        icmp_type: match protocol {
            Protocol::IcmpV6 => a.icmp_type.unwrap_or(128),
            Protocol::Icmp => a.icmp_type.unwrap_or(8),
            _ => 0,
        },
        icmp_code: a.icmp_code,
    };
    let mut route = eval::route(topo, &packet);
    if let Some(i) = a.iif.clone() {
        if route.kind == RouteKind::Output {
            bail!("--iif: a packet from this host arrives on no interface");
        }
        route.iif = Some(i);
    }
    if let Some(o) = a.oif.clone() {
        if route.kind == RouteKind::Input {
            bail!("--oif: a packet to this host leaves by no interface");
        }
        route.oif = Some(o);
        if route.kind == RouteKind::Blackhole {
            route.kind = match route.iif {
                Some(_) => RouteKind::Forward,
                None => RouteKind::Output,
            };
        }
    }
    let report = check::check(
        sources.map(|s| (model, s)),
        ir,
        packet,
        route,
        firewall,
        (src.what, dst.what),
    );
    match a.format {
        Format::Text => print!("{}", check::render_text(&report)),
        Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
    }
    Ok(match report.verdict {
        Outcome::Drop => 3,
        Outcome::Accept | Outcome::NoDecision => 0,
    })
}
