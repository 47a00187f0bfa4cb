//! Checks that run before anything is changed. Each failure says what is
//! wrong and that nothing was changed.
//!
//! - the target exists (`--netns NAME`);
//! - the guard: node N's state is only applied where N's `ipv4Address` (or,
//!   for a node with only an IPv6 underlay, its `ipv6Address`) is
//!   configured on some interface (`--force` overrides), so a plan for one
//!   node is never applied to another by mistake;
//! - kernel features: a tunnel kind the target does not have yet is probed
//!   by creating a device of that kind in a scratch namespace (this is how
//!   a kernel without the ipip module is caught);
//! - the tools the planned steps need are installed.

use crate::exec::have_tool;
use crate::plan::{Op, Plan};
use crate::scratch::Scratch;
use crate::state::{Facts, LinkKind, State};
use crate::target::Target;
use crate::{Error, GuardProblem, PreflightError};
use netc_ir::HostIr;

pub fn target_exists(t: &Target) -> Result<(), Error> {
    if let Some(ns) = &t.netns {
        if !std::path::Path::new("/run/netns").join(ns).exists() {
            return Err(PreflightError::NoNetns { name: ns.clone() }.into());
        }
    }
    Ok(())
}

/// Ok(None): the node's address is here. Ok(Some(warning)): it is not, but
/// `force` is set. Err: it is not.
pub fn guard(ir: &HostIr, facts: &Facts, t: &Target, force: bool) -> Result<Option<String>, Error> {
    let problem = match ir.address.or(ir.address_v6) {
        None => GuardProblem::NoAddress {
            node: ir.node.clone(),
            target: t.label(),
        },
        Some(a) => {
            let ip = a.addr();
            if facts.addresses.iter().any(|(_, n)| n.addr() == ip) {
                return Ok(None);
            }
            GuardProblem::AddressAbsent {
                node: ir.node.clone(),
                target: t.label(),
                address: ip,
            }
        }
    };
    if force {
        Ok(Some(format!("{problem} (continuing: --force)")))
    } else {
        Err(PreflightError::Guard { problem }.into())
    }
}

/// A VXLAN device's MTU must fit in its parent's, less the encapsulation
/// (the kernel's `vxlan_max_mtu`: 50 bytes over IPv4, 70 over IPv6); the
/// kernel answers only "Invalid argument" otherwise, so say why first.
pub fn tunnel_mtus(desired: &State, facts: &Facts) -> Result<(), Error> {
    for d in &desired.links {
        let LinkKind::Vxlan {
            parent: Some(parent),
            local,
            ..
        } = &d.kind
        else {
            continue;
        };
        let Some(&parent_mtu) = facts.mtus.get(parent.as_str()) else {
            continue;
        };
        let (overhead, family) = if local.is_some_and(|a| a.is_ipv6()) {
            (70, 6)
        } else {
            (50, 4)
        };
        if d.mtu + overhead > parent_mtu {
            return Err(PreflightError::TunnelMtu {
                dev: d.name.to_string(),
                mtu: d.mtu,
                parent: parent.to_string(),
                parent_mtu,
                overhead,
                family,
            }
            .into());
        }
    }
    Ok(())
}

/// Probe every tunnel kind the desired state needs and the live state lacks.
pub fn kernel_features(live: &State, desired: &State) -> Result<(), Error> {
    let mut kinds: Vec<(&str, &str)> = Vec::new();
    for d in &desired.links {
        let have = live
            .links
            .iter()
            .any(|l| l.name == d.name && l.kind.name() == d.kind.name());
        if have {
            continue;
        }
        let k = match d.kind {
            LinkKind::Vxlan { .. } => "vxlan",
            LinkKind::Ipip { .. } => "ipip",
            LinkKind::Other { .. } => continue,
        };
        if !kinds.iter().any(|(x, _)| *x == k) {
            kinds.push((k, &d.name));
        }
    }
    // A module the kernel has loaded already needs no probe (modules are
    // the kernel's, not a namespace's): the probe costs a scratch
    // namespace, a tenth of a first apply. A module not listed may still
    // be built in or loadable on demand, which only the probe can tell.
    kinds.retain(|(k, _)| !std::path::Path::new("/sys/module").join(k).is_dir());
    if kinds.is_empty() {
        return Ok(());
    }
    let s = Scratch::new()?;
    for (k, dev) in kinds {
        let mut args = vec!["link", "add", "netc-probe0", "type", k];
        if k == "vxlan" {
            args.extend(["id", "1", "dstport", "4789"]);
        }
        let out = s.exec.read("ip", &args)?;
        if !out.success() {
            return Err(PreflightError::KernelLacks {
                kind: k.to_string(),
                dev: dev.to_string(),
                detail: out.stderr.trim().to_string(),
            }
            .into());
        }
        let _ = s.exec.read("ip", &["link", "del", "netc-probe0"]);
    }
    Ok(())
}

/// The tools the plan's steps run must exist.
pub fn tools(plan: &Plan) -> Result<(), Error> {
    let mut need: Vec<(&str, &str)> = Vec::new();
    for st in &plan.steps {
        for op in &st.ops {
            match op {
                Op::Ip { .. } => need.push(("ip", "iproute2")),
                Op::Bridge { .. } => need.push(("bridge", "iproute2")),
                Op::Nft { .. } => need.push(("nft", "nftables")),
                Op::IptRestore { family, .. } => {
                    need.push((crate::state::iptables::tools(family).1, "iptables"))
                }
                Op::Sysctl { .. } => need.push(("sysctl", "procps")),
                Op::Bird(_) => {}
            }
        }
    }
    for (prog, pkg) in need {
        if !have_tool(prog) {
            return Err(PreflightError::MissingTool {
                prog: prog.to_string(),
                package: pkg.to_string(),
            }
            .into());
        }
    }
    Ok(())
}
