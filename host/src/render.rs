//! Printing plans: terraform-style text (colour only when asked, i.e. on a
//! terminal) and a JSON form. Secrets are masked here once more, whatever
//! the change carries.
//!
//! ```text
//! netc will perform the following actions on node node-a (netns t1):
//!
//!   # routes
//!   + route 10.65.1.0/26: via 10.65.1.0 dev vxlan.calico onlink (vxlan-block)
//!
//!   # firewall
//!   ~ nft chain inet netc pol-web-in
//!       - tcp dport 80 accept
//!       + tcp dport 443 accept
//!
//! Plan: 1 to add, 1 to change, 0 to destroy.
//! ```

use crate::plan::{Action, Change, Plan, Step, Summary};
use netc_targets::mask::mask_secrets;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fmt::Write;

pub struct Context<'a> {
    pub node: &'a str,
    /// `host` / `netns t1`.
    pub target: &'a str,
    pub color: bool,
    /// Why each route exists, by destination (from the IR), shown after it.
    pub route_origins: BTreeMap<String, String>,
}

fn paint(color: bool, code: &str, s: &str) -> String {
    if color {
        format!("\x1b[{code}m{s}\x1b[0m")
    } else {
        s.to_string()
    }
}

fn sign_color(sign: &str) -> &'static str {
    match sign {
        "+" => "32",
        "-" => "31",
        "~" => "33",
        "-/+" => "35",
        _ => "0",
    }
}

fn sym(color: bool, a: Action) -> String {
    let s = a.symbol();
    let padded = format!("{s:>3}");
    paint(color, sign_color(s), &padded)
}

pub fn summary_line(s: Summary) -> String {
    format!(
        "Plan: {} to add, {} to change, {} to destroy.",
        s.add, s.change, s.destroy
    )
}

pub fn apply_line(s: Summary) -> String {
    format!(
        "Apply complete! Resources: {} added, {} changed, {} destroyed.",
        s.add, s.change, s.destroy
    )
}

pub fn no_changes(node: &str, target: &str) -> String {
    format!("No changes. Node {node} on {target} matches the desired state.")
}

/// The whole plan as text.
pub fn text(plan: &Plan, ctx: &Context) -> String {
    let c = ctx.color;
    let mut out = String::new();
    if plan.changes.is_empty() {
        let _ = writeln!(out, "{}", no_changes(ctx.node, ctx.target));
        notes(&mut out, plan, c);
        return out;
    }
    let _ = writeln!(
        out,
        "netc will perform the following actions on node {} ({}):",
        paint(c, "1", ctx.node),
        ctx.target
    );
    let used: Vec<Action> = [
        Action::Create,
        Action::Update,
        Action::Replace,
        Action::Delete,
    ]
    .into_iter()
    .filter(|a| plan.changes.iter().any(|x| x.action == *a))
    .collect();
    let _ = writeln!(out, "Symbols:");
    for a in used {
        let what = match a {
            Action::Create => "create",
            Action::Update => "update in-place",
            Action::Replace => "destroy and then create replacement",
            Action::Delete => "destroy",
        };
        let _ = writeln!(out, "{} {what}", sym(c, a));
    }
    let mut last: Option<Step> = None;
    for ch in &plan.changes {
        if last != Some(ch.step) {
            let _ = writeln!(out);
            let _ = writeln!(
                out,
                "  {}",
                paint(c, "1", &format!("# {}", ch.step.label()))
            );
            last = Some(ch.step);
        }
        change(&mut out, ch, ctx);
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "{}", paint(c, "1", &summary_line(plan.summary())));
    notes(&mut out, plan, c);
    mask_secrets(&out)
}

/// What the plan leaves alone on purpose (e.g. a workload interface the
/// CNI plugin has not created yet).
fn notes(out: &mut String, plan: &Plan, c: bool) {
    for n in &plan.notes {
        let _ = writeln!(out, "{} {n}", paint(c, "2", "Note:"));
    }
}

fn change(out: &mut String, ch: &Change, ctx: &Context) {
    let c = ctx.color;
    let origin = if ch.resource == "route" {
        ctx.route_origins
            .get(&ch.id)
            .map(|o| format!(" ({o})"))
            .unwrap_or_default()
    } else {
        String::new()
    };
    // One line for simple resources.
    if ch.lines.is_empty() && ch.diff.is_none() && ch.attrs.len() <= 1 && ch.note.is_none() {
        // A workload interface's attribute is one of several parameters: name it.
        let named = |a: &crate::plan::Attr| {
            if ch.resource == "workload interface" {
                format!(" {}", a.name)
            } else {
                String::new()
            }
        };
        let detail = match ch.attrs.first() {
            None => String::new(),
            Some(a) if !named(a).is_empty() => match (&a.old, &a.new) {
                (Some(o), Some(n)) => format!(":{} {o} -> {n}", named(a)),
                _ => format!(":{}", named(a)),
            },
            Some(a) => match (&a.old, &a.new) {
                (Some(o), Some(n)) => format!(": {o} -> {n}"),
                (None, Some(n)) => format!(": {n}"),
                (Some(o), None) => format!(": {o}"),
                (None, None) => String::new(),
            },
        };
        let _ = writeln!(
            out,
            "{} {} {}{detail}{origin}",
            sym(c, ch.action),
            ch.resource,
            ch.id
        );
        return;
    }
    let _ = writeln!(
        out,
        "{} {} {}{origin}",
        sym(c, ch.action),
        ch.resource,
        ch.id
    );
    if let Some(n) = &ch.note {
        let _ = writeln!(out, "      {}", paint(c, "2", &format!("# {n}")));
    }
    let width = ch.attrs.iter().map(|a| a.name.len()).max().unwrap_or(0);
    for a in &ch.attrs {
        let (s, val) = match (&a.old, &a.new) {
            (Some(o), Some(n)) => ("~", format!("{o} -> {n}")),
            (None, Some(n)) => ("+", n.clone()),
            (Some(o), None) => ("-", o.clone()),
            (None, None) => ("~", "(none)".into()),
        };
        let force = if a.forces_replacement {
            paint(c, "31", " # forces replacement")
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "      {} {:width$} = {val}{force}",
            paint(c, sign_color(s), s),
            a.name
        );
    }
    for l in &ch.lines {
        let s = l.sign.to_string();
        let _ = writeln!(out, "      {} {}", paint(c, sign_color(&s), &s), l.text);
    }
    if let Some(d) = &ch.diff {
        for l in d.lines() {
            let code = if l.starts_with("+++") || l.starts_with("---") {
                "1"
            } else if l.starts_with('+') {
                "32"
            } else if l.starts_with('-') {
                "31"
            } else if l.starts_with("@@") {
                "36"
            } else {
                "0"
            };
            let _ = writeln!(out, "      {}", paint(c, code, l));
        }
    }
}

/// The plan as JSON (what `--format json` prints).
pub fn json(
    plan: &Plan,
    node: &str,
    target: &crate::Target,
    fingerprint: &str,
    warnings: &[String],
) -> Value {
    // Secrets never reach a Change or an Op in clear (bird.conf diffs are
    // masked when built; BIRD ops do not serialise their contents).
    let s = plan.summary();
    json!({
        "format_version": 1,
        "node": node,
        "target": target,
        "live_fingerprint": fingerprint,
        "changes": plan.changes,
        "summary": { "add": s.add, "change": s.change, "destroy": s.destroy },
        "steps": plan.steps,
        "warnings": warnings,
        "notes": plan.notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Action, Change, Step};

    fn ctx() -> Context<'static> {
        Context {
            node: "k1",
            target: "netns t1",
            color: false,
            route_origins: BTreeMap::new(),
        }
    }

    #[test]
    fn a_workload_interface_names_its_parameter_and_notes_follow_the_plan() {
        let mut plan = Plan::default();
        plan.changes.push(
            Change::new(
                Step::Interfaces,
                Action::Update,
                "workload interface",
                "cali1",
            )
            .attr("ipv4 proxy_arp", Some("0".into()), Some("1".into())),
        );
        plan.notes
            .push("workload interface cali2 does not exist yet".into());
        let t = text(&plan, &ctx());
        assert!(t.contains("  # workload interfaces\n"), "{t}");
        assert!(
            t.contains("~ workload interface cali1: ipv4 proxy_arp 0 -> 1\n"),
            "{t}"
        );
        assert!(
            t.ends_with("Plan: 0 to add, 1 to change, 0 to destroy.\nNote: workload interface cali2 does not exist yet\n"),
            "{t}"
        );
        // With nothing to change the note still shows.
        plan.changes.clear();
        let t = text(&plan, &ctx());
        assert!(t.starts_with("No changes."), "{t}");
        assert!(t.contains("Note: workload interface cali2"), "{t}");
    }
}
