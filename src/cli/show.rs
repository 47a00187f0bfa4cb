//! `netc show [--node N] [--netns NS]`: the live state of what netc owns on
//! the target (text, or `--format json`), read-only, under the shared lock.
//! `netc show PLAN.json`: render a plan saved by `netc plan --out`.
//!
//! Only netc's objects are listed (the readers drop everything else); the
//! BIRD config is summarised, never printed (it may hold a password).

use super::common::Format;
use super::config;
use super::plan::{self as planc, TargetArgs};
use anyhow::Context;
use netc_host::lock::Mode;
use netc_host::render;
use netc_host::saved::SavedPlan;
use netc_host::session::Session;
use netc_host::state::{self, LinkKind, State};
use netc_host::Target;
use std::fmt::Write;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// A plan file saved by `netc plan --out` to render instead of the live state.
    #[arg(value_name = "PLAN.json")]
    pub plan: Option<PathBuf>,
    /// The node, for the heading [default: NETC_NODE, the config file's
    /// `node`, else the host name].
    #[arg(long, value_name = "NAME")]
    pub node: Option<String>,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

pub fn run(a: Args) -> anyhow::Result<u8> {
    if let Some(p) = &a.plan {
        return show_plan(p, a.format);
    }
    let node = config::node(a.node.as_deref())?;
    let target = a.target.target()?;
    super::common::revert_overdue(&target, "netc show")?;
    let session = Session::open(target.clone(), Mode::Shared, a.target.lock_timeout)?;
    let (live, _) = state::read(&session.exec, &target.bird_config, true)?;
    drop(session);
    match a.format {
        Format::Text => print!("{}", text(&live, &node, &target)),
        Format::Json => {
            let mut live = live;
            let bird_netc = live
                .bird
                .file
                .as_ref()
                .map(|f| netc_host::destroy::netc_bird_file(&f.contents));
            if let Some(f) = live.bird.file.as_mut() {
                f.contents = netc_targets::mask::mask_secrets(&f.contents);
            }
            live.nft.text.clear();
            let v = serde_json::json!({
                "format_version": 1,
                "node": node,
                "target": target,
                "recorded_firewall": target.recorded_backend().map(|b| b.name()),
                "bird_config_from_netc": bird_netc,
                "state": live,
            });
            println!("{}", serde_json::to_string_pretty(&v)?);
        }
    }
    Ok(0)
}

fn show_plan(p: &std::path::Path, format: Format) -> anyhow::Result<u8> {
    let text = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
    if !SavedPlan::looks_like(&text) {
        anyhow::bail!("{} is not a plan saved by `netc plan --out`", p.display());
    }
    let s = SavedPlan::parse(&text)?;
    let plan = netc_host::Plan {
        changes: s.changes.clone(),
        steps: Vec::new(),
        refused: Vec::new(),
        notes: Vec::new(),
    };
    match format {
        Format::Text => {
            println!(
                "Saved plan for node {} on {} (firewall {}, BIRD config {}), made {} by netc {}.",
                s.node,
                s.target.label(),
                s.target.firewall.name(),
                s.target.bird_config.display(),
                netc_host::confirm::utc(s.created_unix_ms),
                s.netc_version
            );
            if let Some(only) = &s.only {
                let steps: Vec<&str> = only.iter().map(|s| s.label()).collect();
                println!("Only: {}.", steps.join(", "));
            }
            println!();
            let label = s.target.label();
            let ctx = render::Context {
                node: &s.node,
                target: &label,
                color: planc::color_stdout(),
                route_origins: s
                    .ir
                    .routes
                    .iter()
                    .filter_map(|r| {
                        let o = serde_json::to_value(r.origin?).ok()?;
                        Some((r.dst.to_string(), o.as_str()?.to_string()))
                    })
                    .collect(),
            };
            print!("{}", render::text(&plan, &ctx));
        }
        Format::Json => {
            let v = render::json(&plan, &s.node, &s.target, &s.live_fingerprint, &[]);
            println!("{}", serde_json::to_string_pretty(&v)?);
        }
    }
    Ok(0)
}

/// The live state as text, one section per kind of object.
pub fn text(st: &State, node: &str, t: &Target) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "What netc owns on {} (node {node}):", t.label());
    let section = |o: &mut String, title: &str, lines: Vec<String>| {
        let _ = writeln!(o, "\n  # {title}");
        if lines.is_empty() {
            let _ = writeln!(o, "    (none)");
        }
        for l in lines {
            let _ = writeln!(o, "    {l}");
        }
    };
    section(
        &mut o,
        "tunnels",
        st.links
            .iter()
            .map(|l| {
                let kind = match &l.kind {
                    LinkKind::Vxlan {
                        vni,
                        port,
                        local,
                        parent,
                        learning,
                    } => {
                        let mut s = format!("vxlan id {vni} dstport {port}");
                        if let Some(x) = local {
                            s.push_str(&format!(" local {x}"));
                        }
                        if let Some(x) = parent {
                            s.push_str(&format!(" dev {x}"));
                        }
                        if *learning {
                            s.push_str(" learning");
                        }
                        s
                    }
                    LinkKind::Ipip { local } => match local {
                        Some(x) => format!("ipip local {x}"),
                        None => "ipip".to_string(),
                    },
                    LinkKind::Other { kind } => format!("{kind} (not made by netc)"),
                };
                let mac = l
                    .mac
                    .as_ref()
                    .map(|m| format!(" address {m}"))
                    .unwrap_or_default();
                format!(
                    "{}: {kind}{mac} mtu {} {}",
                    l.name,
                    l.mtu,
                    if l.up { "up" } else { "down" }
                )
            })
            .collect(),
    );
    section(
        &mut o,
        "addresses",
        st.addresses
            .iter()
            .map(|a| format!("{} dev {}", a.addr, a.dev))
            .collect(),
    );
    let mut n: Vec<String> = st
        .neighbors
        .iter()
        .map(|n| format!("neighbour {} lladdr {} dev {}", n.ip, n.mac, n.dev))
        .collect();
    n.extend(
        st.fdb
            .iter()
            .map(|f| format!("fdb {} dev {} dst {}", f.mac, f.dev, f.dst)),
    );
    section(&mut o, "neighbours/FDB", n);
    section(
        &mut o,
        "routes (proto 233)",
        st.routes
            .iter()
            .map(|r| format!("{}: {}", r.id(), r.spec.words()))
            .collect(),
    );
    let mut fw = Vec::new();
    if st.nft.present {
        let rules: usize = st.nft.chains.iter().map(|c| c.rules.len()).sum();
        fw.push(format!(
            "nftables: table inet netc, {} chains, {} rules, {} sets/maps",
            st.nft.chains.len(),
            rules,
            st.nft.sets.len()
        ));
    }
    for t in &st.iptables.tables {
        let tool = if t.family == "ipv6" {
            "ip6tables"
        } else {
            "iptables"
        };
        let rules: usize = t.chains.iter().map(|c| c.rules.len()).sum();
        fw.push(format!(
            "{tool} {}: {} netc- chains, {} rules; hook jumps: {}",
            t.name,
            t.chains.len(),
            rules,
            if t.jumps.is_empty() {
                "none".to_string()
            } else {
                t.jumps
                    .iter()
                    .map(|j| format!("{} {}", j.chain, j.spec))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        ));
    }
    if let Some(b) = t.recorded_backend() {
        fw.push(format!("backend recorded by the last apply: {}", b.name()));
    }
    section(&mut o, "firewall", fw);
    let bird = match &st.bird.file {
        None => format!("{}: absent", st.bird.path.display()),
        Some(f) => {
            let who = if f.contents == netc_host::destroy::EMPTY_BIRD_CONFIG {
                "emptied by netc destroy"
            } else if netc_host::destroy::netc_bird_file(&f.contents) {
                "generated by netc"
            } else {
                "not generated by netc"
            };
            let sessions = f
                .contents
                .lines()
                .filter(|l| l.trim_start().starts_with("protocol bgp "))
                .count();
            format!(
                "{}: {who}, {} bytes, mode {:04o}, {sessions} BGP sessions{}",
                st.bird.path.display(),
                f.meta.size,
                f.meta.mode,
                if f.sensitive {
                    ", holds a password (not shown)"
                } else {
                    ""
                }
            )
        }
    };
    section(&mut o, "BIRD", vec![bird]);
    o
}
