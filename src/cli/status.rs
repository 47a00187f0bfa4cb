//! `netc status --node N [PATHS…]`: the node's BGP and dataplane health
//! against its desired state, for people (`calicoctl node status`'s table
//! and what it cannot say), for scripts (`--format json`, versioned) and for
//! node_exporter's textfile collector (`--format prometheus`).
//!
//! What is checked (netc_host::status does the reading and comparing):
//! BIRD's BGP protocols against the IR's sessions (down, missing,
//! unexpected), the IR's routes to remote blocks against the kernel's
//! protocol-233 routes, drift (the plan `netc plan` would show is not
//! empty), a pending commit-confirm; the last apply is reported.
//!
//! Exit codes: 0 all as desired, 2 degraded, 1 error (input does not
//! compile, the target cannot be read).

use super::plan::{compile_node, Compiled, TargetArgs};
use anyhow::Context;
use netc_host::confirm::{self, Pending};
use netc_host::lock::Mode;
use netc_host::session::Session;
use netc_host::status::{self, BirdStatus, Comparison, LastApply, SessionStatus};
use netc_host::Target;
use serde_json::json;
use std::fmt::Write as _;
use std::path::PathBuf;

/// Version of `--format json`; bumped on incompatible changes.
pub const FORMAT_VERSION: u32 = 1;

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum StatusFormat {
    #[default]
    Text,
    Json,
    /// Prometheus text exposition (node_exporter textfile collector).
    Prometheus,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The node whose desired state to check the target against.
    #[arg(long, value_name = "NAME")]
    pub node: String,
    /// Input files or directories (default: current directory).
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: StatusFormat,
}

/// Everything status found.
struct Report {
    node: String,
    target: Target,
    bird: BirdStatus,
    cmp: Comparison,
    /// `resource id` of each planned change.
    drift: Vec<String>,
    last_apply: Option<LastApply>,
    pending: Option<Pending>,
    problems: Vec<String>,
}

impl Report {
    fn healthy(&self) -> bool {
        self.problems.is_empty()
    }
}

fn peer(s: &SessionStatus) -> String {
    s.peer.map(|p| p.to_string()).unwrap_or_else(|| "?".into())
}

fn problems(r: &Report) -> Vec<String> {
    let mut p = Vec::new();
    let wanted = r.cmp.sessions.iter().filter(|s| s.wanted).count();
    if let BirdStatus::NotRunning { detail } = &r.bird {
        if wanted > 0 {
            p.push(format!(
                "BIRD does not answer on {} ({detail}): {wanted} BGP session(s) wanted",
                r.target.bird_socket.display()
            ));
        }
    } else {
        for s in r.cmp.missing_sessions() {
            p.push(format!(
                "session {} to {} ({}) is wanted but BIRD does not run it",
                s.name,
                peer(s),
                s.peer_type.calicoctl()
            ));
        }
    }
    for s in r.cmp.down_sessions() {
        let b = s.bird.as_ref();
        let mut why = b
            .map(|b| format!("{} {}", b.state, b.info).trim().to_string())
            .unwrap_or_default();
        if let Some(e) = b
            .and_then(|b| b.bgp.as_ref())
            .and_then(|d| d.last_error.as_ref())
        {
            let _ = write!(why, ", last error: {e}");
        }
        p.push(format!(
            "session {} to {} ({}) is not established: {why}",
            s.name,
            peer(s),
            s.peer_type.calicoctl()
        ));
    }
    for s in r.cmp.unexpected_sessions() {
        p.push(format!(
            "BIRD runs session {} to {} that netc did not ask for",
            s.name,
            peer(s)
        ));
    }
    for m in &r.cmp.routes_missing {
        let o = m
            .origin
            .and_then(|o| serde_json::to_value(o).ok())
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        p.push(format!("route {} ({o}) is missing from the kernel", m.dst));
    }
    if !r.drift.is_empty() {
        p.push(format!(
            "drift: `netc plan` has {} change(s) ({})",
            r.drift.len(),
            summarize(&r.drift, 3)
        ));
    }
    if let Some(x) = &r.pending {
        p.push(format!(
            "an apply of node {} waits for confirmation (reverts at {})",
            x.node,
            confirm::utc(x.deadline_unix_ms)
        ));
    }
    p
}

fn summarize(items: &[String], n: usize) -> String {
    let mut s = items.iter().take(n).cloned().collect::<Vec<_>>().join(", ");
    if items.len() > n {
        let _ = write!(s, ", … {} more", items.len() - n);
    }
    s
}

pub fn run(a: Args) -> anyhow::Result<u8> {
    let target = a.target.target()?;
    // An overdue unconfirmed apply is reverted before the health is read, so
    // status reports the host as it will stay.
    super::common::revert_overdue(&target, "netc status")?;
    let input = match compile_node(&a.paths, &a.node, &a.target)? {
        Compiled::Node(i) => i,
        Compiled::Rejected(_) => return Ok(1),
    };
    let session = Session::open(target.clone(), Mode::Shared, a.target.lock_timeout)?;
    let planned = session
        .plan(&input.ir, &input.artifacts, true)
        .context("reading the target")?;
    let bird = status::read_protocols(&session.exec, &target.bird_socket)?;
    drop(session);
    let protocols = match &bird {
        BirdStatus::Running { protocols } => protocols.as_slice(),
        BirdStatus::NotRunning { .. } => &[],
    };
    let cmp = status::compare(
        &input.ir,
        protocols,
        &planned.live.routes,
        &input.route_reflectors,
    );
    let mut r = Report {
        node: a.node.clone(),
        target: target.clone(),
        bird,
        cmp,
        drift: planned
            .plan
            .changes
            .iter()
            .map(|c| format!("{} {}", c.resource, c.id))
            .collect(),
        last_apply: status::last_apply(&target),
        pending: confirm::load(&target)?,
        problems: Vec::new(),
    };
    r.problems = problems(&r);
    match a.format {
        StatusFormat::Text => print!("{}", text(&r)),
        StatusFormat::Json => println!("{}", serde_json::to_string_pretty(&json(&r))?),
        StatusFormat::Prometheus => print!("{}", prometheus(&r)),
    }
    Ok(if r.healthy() { 0 } else { 2 })
}

/// calicoctl's table: `+---+` borders, centred headers.
fn table(rows: &[[String; 5]]) -> String {
    let head = ["PEER ADDRESS", "PEER TYPE", "STATE", "SINCE", "INFO"];
    let mut w: Vec<usize> = head.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            w[i] = w[i].max(c.chars().count());
        }
    }
    let rule = {
        let mut s = String::from("+");
        for x in &w {
            s.push_str(&"-".repeat(x + 2));
            s.push('+');
        }
        s.push('\n');
        s
    };
    let mut out = rule.clone();
    out.push('|');
    for (h, x) in head.iter().zip(&w) {
        let pad = x - h.chars().count();
        let l = pad / 2;
        let _ = write!(out, " {}{h}{} |", " ".repeat(l), " ".repeat(pad - l));
    }
    out.push('\n');
    out.push_str(&rule);
    for r in rows {
        out.push('|');
        for (c, x) in r.iter().zip(&w) {
            let _ = write!(out, " {c}{} |", " ".repeat(x - c.chars().count()));
        }
        out.push('\n');
    }
    out.push_str(&rule);
    out
}

fn row(s: &SessionStatus) -> [String; 5] {
    let (state, since, info) = match &s.bird {
        Some(b) => {
            let mut info = b.info.clone();
            if !b.message.is_empty() {
                let _ = write!(info, " {}", b.message);
            }
            (b.state.clone(), b.since.clone(), info)
        }
        None => (
            "missing".into(),
            String::new(),
            "not run by BIRD".to_string(),
        ),
    };
    let ty = if s.wanted {
        s.peer_type.calicoctl().to_string()
    } else {
        format!(
            "{} (not netc's)",
            status::PeerType::from_name(&s.name).calicoctl()
        )
    };
    [peer(s), ty, state, since, info]
}

fn text(r: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Node {} on {}: {}",
        r.node,
        r.target.label(),
        if r.healthy() { "ok" } else { "DEGRADED" }
    );
    match &r.bird {
        BirdStatus::Running { .. } => {
            let _ = writeln!(
                out,
                "BIRD is running (socket {})",
                r.target.bird_socket.display()
            );
        }
        BirdStatus::NotRunning { detail } => {
            let _ = writeln!(out, "BIRD is not running: {detail}");
        }
    }
    for (fam, v6) in [("IPv4", false), ("IPv6", true)] {
        let rows: Vec<[String; 5]> = r
            .cmp
            .sessions
            .iter()
            .filter(|s| s.peer.is_some_and(|p| p.is_ipv6()) == v6)
            .map(row)
            .collect();
        let _ = writeln!(out, "\n{fam} BGP status");
        if rows.is_empty() {
            let _ = writeln!(out, "No {fam} peers found.");
        } else {
            out.push_str(&table(&rows));
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "Routes to remote blocks: {}/{} in the kernel",
        r.cmp.routes_wanted - r.cmp.routes_missing.len(),
        r.cmp.routes_wanted
    );
    let _ = writeln!(
        out,
        "Drift: {}",
        if r.drift.is_empty() {
            "none (`netc plan` is empty)".to_string()
        } else {
            format!("{} change(s)", r.drift.len())
        }
    );
    let _ = writeln!(
        out,
        "Last apply: {}",
        match &r.last_apply {
            Some(l) => format!(
                "{} (node {}: {} added, {} changed, {} destroyed)",
                confirm::utc(l.unix_ms),
                l.node,
                l.add,
                l.change,
                l.destroy
            ),
            None => "none recorded".into(),
        }
    );
    let _ = writeln!(
        out,
        "Commit-confirm: {}",
        match &r.pending {
            Some(p) => format!(
                "pending for node {}, reverts at {}",
                p.node,
                confirm::utc(p.deadline_unix_ms)
            ),
            None => "none pending".into(),
        }
    );
    if !r.problems.is_empty() {
        let _ = writeln!(out, "\nProblems:");
        for p in &r.problems {
            let _ = writeln!(out, "  - {p}");
        }
    }
    out
}

fn json(r: &Report) -> serde_json::Value {
    let sessions: Vec<_> = r
        .cmp
        .sessions
        .iter()
        .map(|s| {
            let b = s.bird.as_ref();
            let d = b.and_then(|b| b.bgp.as_ref());
            json!({
                "name": s.name,
                "peer": s.peer,
                "peer_type": s.peer_type.as_str(),
                "peer_as": s.peer_as,
                "remote_node": s.remote_node,
                "wanted": s.wanted,
                "running": b.is_some(),
                "established": s.established(),
                "state": b.map(|b| b.state.as_str()),
                "since": b.map(|b| b.since.as_str()),
                "info": b.map(|b| b.info.as_str()),
                "message": b.map(|b| b.message.as_str()).filter(|m| !m.is_empty()),
                "bgp_state": d.map(|d| d.state.as_str()),
                "last_error": d.and_then(|d| d.last_error.as_deref()),
                "routes_imported": d.map(|d| d.routes_imported),
                "routes_exported": d.map(|d| d.routes_exported),
            })
        })
        .collect();
    let (bird_running, bird_detail) = match &r.bird {
        BirdStatus::Running { .. } => (true, None),
        BirdStatus::NotRunning { detail } => (false, Some(detail.as_str())),
    };
    json!({
        "format_version": FORMAT_VERSION,
        "node": r.node,
        "target": r.target.label(),
        "healthy": r.healthy(),
        "exit_code": if r.healthy() { 0 } else { 2 },
        "bird": { "running": bird_running, "socket": r.target.bird_socket, "detail": bird_detail },
        "sessions": sessions,
        "routes": {
            "wanted": r.cmp.routes_wanted,
            "missing": r.cmp.routes_missing,
        },
        "drift": { "changes": r.drift.len(), "resources": r.drift },
        "last_apply": r.last_apply,
        "pending_confirm": r.pending.as_ref().map(|p| json!({
            "node": p.node,
            "deadline_unix_ms": p.deadline_unix_ms,
            "deadline": confirm::utc(p.deadline_unix_ms),
        })),
        "problems": r.problems,
    })
}

/// A Prometheus label value: backslash, double quote and newline escaped.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn prometheus(r: &Report) -> String {
    let node = label(&r.node);
    let mut out = String::new();
    let mut metric = |name: &str, help: &str, samples: &[(String, f64)]| {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} gauge");
        for (labels, v) in samples {
            let extra = if labels.is_empty() {
                String::new()
            } else {
                format!(",{labels}")
            };
            let _ = writeln!(out, "{name}{{node=\"{node}\"{extra}}} {v}");
        }
    };
    let b = |x: bool| if x { 1.0 } else { 0.0 };
    metric(
        "netc_status_ok",
        "1 when the node is as desired (netc status exit code 0).",
        &[(String::new(), b(r.healthy()))],
    );
    metric(
        "netc_bird_up",
        "1 when BIRD answers on its control socket.",
        &[(
            String::new(),
            b(matches!(r.bird, BirdStatus::Running { .. })),
        )],
    );
    let sessions: Vec<(String, f64)> = r
        .cmp
        .sessions
        .iter()
        .map(|s| {
            (
                format!(
                    "name=\"{}\",peer=\"{}\",type=\"{}\",wanted=\"{}\"",
                    label(&s.name),
                    label(&peer(s)),
                    s.peer_type.as_str(),
                    s.wanted
                ),
                b(s.established()),
            )
        })
        .collect();
    metric(
        "netc_bgp_session_up",
        "1 when the BGP session is Established.",
        &sessions,
    );
    metric(
        "netc_bgp_sessions_missing",
        "Sessions the IR wants that BIRD does not run.",
        &[(String::new(), r.cmp.missing_sessions().count() as f64)],
    );
    metric(
        "netc_bgp_sessions_unexpected",
        "BGP sessions BIRD runs that netc did not ask for.",
        &[(String::new(), r.cmp.unexpected_sessions().count() as f64)],
    );
    metric(
        "netc_routes_wanted",
        "Routes to remote blocks the IR programs.",
        &[(String::new(), r.cmp.routes_wanted as f64)],
    );
    metric(
        "netc_routes_missing",
        "Routes to remote blocks missing from the kernel.",
        &[(String::new(), r.cmp.routes_missing.len() as f64)],
    );
    metric(
        "netc_drift",
        "Changes `netc plan` would make (0: no drift).",
        &[(String::new(), r.drift.len() as f64)],
    );
    metric(
        "netc_confirm_pending",
        "1 while a commit-confirmed apply waits for `netc confirm`.",
        &[(String::new(), b(r.pending.is_some()))],
    );
    if let Some(l) = &r.last_apply {
        metric(
            "netc_last_apply_timestamp_seconds",
            "When the last successful apply finished (Unix time).",
            &[(String::new(), l.unix_ms as f64 / 1000.0)],
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_calicoctl_shaped() {
        let t = table(&[[
            "10.0.0.2".into(),
            "node-to-node mesh".into(),
            "up".into(),
            "09:00:01".into(),
            "Established".into(),
        ]]);
        let lines: Vec<_> = t.lines().collect();
        assert_eq!(lines[0], lines[2]);
        assert_eq!(lines[0], lines[4]);
        assert!(lines[1].starts_with("| PEER ADDRESS |     PEER TYPE     |"));
        assert_eq!(
            lines[3],
            "| 10.0.0.2     | node-to-node mesh | up    | 09:00:01 | Established |"
        );
    }

    #[test]
    fn labels_are_escaped() {
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
