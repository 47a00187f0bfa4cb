//! netc's iptables chains: every chain whose name starts with `netc-`, and
//! the rules in built-in chains (INPUT, FORWARD, …) that jump or go to one of
//! them ("hook jumps"). Read from `iptables-save` / `ip6tables-save`; every
//! other chain and rule is skipped while parsing, so it cannot be changed.

use crate::exec::Exec;
use crate::Error;
use netc_ir::IPT_CHAIN_PREFIX;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IptState {
    /// Tables holding netc chains or jumps, sorted by (family, name).
    pub tables: Vec<IptTable>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IptTable {
    /// `ipv4` (iptables) or `ipv6` (ip6tables).
    pub family: String,
    /// filter, nat, raw, mangle.
    pub name: String,
    /// netc- chains, sorted by name.
    pub chains: Vec<IptChain>,
    /// Hook jumps, in chain order.
    pub jumps: Vec<IptJump>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IptChain {
    pub name: String,
    /// Rule specs as iptables-save prints them, without `-A CHAIN`.
    pub rules: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IptJump {
    /// The built-in chain (INPUT, FORWARD, OUTPUT, PREROUTING, POSTROUTING).
    pub chain: String,
    /// The rule spec, e.g. `-j netc-INPUT`.
    pub spec: String,
    /// Index of the rule in its built-in chain (0 = first). Desired jumps
    /// from the artifact are first in their chain (0, 1, …); a snapshot
    /// keeps the positions it found, so a rollback puts them back there.
    #[serde(default)]
    pub pos: usize,
}

impl IptState {
    pub fn table(&self, family: &str, name: &str) -> Option<&IptTable> {
        self.tables
            .iter()
            .find(|t| t.family == family && t.name == name)
    }

    pub fn is_empty(&self) -> bool {
        self.tables.is_empty()
    }
}

/// The save/restore programs of a family.
pub fn tools(family: &str) -> (&'static str, &'static str) {
    if family == "ipv6" {
        ("ip6tables-save", "ip6tables-restore")
    } else {
        ("iptables-save", "iptables-restore")
    }
}

pub fn read(exec: &Exec) -> Result<IptState, Error> {
    let mut st = IptState::default();
    for fam in ["ipv4", "ipv6"] {
        let (save, _) = tools(fam);
        if !exec.have_tool(save) {
            continue;
        }
        let out = exec.read(save, &[])?.check()?;
        st.tables.extend(parse(&out.stdout, fam));
    }
    Ok(st)
}

/// Parse iptables-save output, keeping only netc's chains and hook jumps.
pub fn parse(text: &str, family: &str) -> Vec<IptTable> {
    let mut tables = Vec::new();
    let mut cur: Option<IptTable> = None;
    let mut builtin: Vec<String> = Vec::new();
    let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
    for line in text.lines() {
        let line = line.trim_end();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix('*') {
            cur = Some(IptTable {
                family: family.to_string(),
                name: name.to_string(),
                chains: Vec::new(),
                jumps: Vec::new(),
            });
            builtin.clear();
            counts.clear();
        } else if line == "COMMIT" {
            if let Some(mut t) = cur.take() {
                t.chains.sort_by(|a, b| a.name.cmp(&b.name));
                if !t.chains.is_empty() || !t.jumps.is_empty() {
                    tables.push(t);
                }
            }
        } else if let Some(decl) = line.strip_prefix(':') {
            let mut it = decl.split_whitespace();
            let name = it.next().unwrap_or("");
            let policy = it.next().unwrap_or("-");
            if let Some(t) = cur.as_mut() {
                if name.starts_with(IPT_CHAIN_PREFIX) {
                    t.chains.push(IptChain {
                        name: name.to_string(),
                        rules: Vec::new(),
                    });
                } else if policy != "-" {
                    builtin.push(name.to_string());
                }
            }
        } else if let Some(rest) = line.strip_prefix("-A ") {
            let (chain, spec) = rest.split_once(' ').unwrap_or((rest, ""));
            let Some(t) = cur.as_mut() else { continue };
            if chain.starts_with(IPT_CHAIN_PREFIX) {
                if let Some(c) = t.chains.iter_mut().find(|c| c.name == chain) {
                    c.rules.push(spec.to_string());
                }
            } else if builtin.iter().any(|b| b == chain) {
                let n = counts.entry(chain.to_string()).or_default();
                let pos = *n;
                *n += 1;
                if jump_target(spec).is_some_and(|j| j.starts_with(IPT_CHAIN_PREFIX)) {
                    t.jumps.push(IptJump {
                        chain: chain.to_string(),
                        spec: spec.to_string(),
                        pos,
                    });
                }
            }
        }
    }
    tables.sort_by(|a, b| (&a.family, &a.name).cmp(&(&b.family, &b.name)));
    tables
}

/// The target of `-j X` / `-g X` in a rule spec.
pub fn jump_target(spec: &str) -> Option<&str> {
    let mut it = spec.split_whitespace();
    while let Some(t) = it.next() {
        if matches!(t, "-j" | "--jump" | "-g" | "--goto") {
            return it.next();
        }
    }
    None
}

#[cfg(test)]
mod tests {
    #[test]
    fn keeps_netc_chains_and_hook_jumps_only() {
        let t = "# Generated\n*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:foreign - [0:0]\n:netc-input - [0:0]\n\
                 -A INPUT -i lo -j ACCEPT\n-A INPUT -j netc-input\n-A foreign -j netc-input\n-A netc-input -p tcp --dport 22 -j ACCEPT\nCOMMIT\n\
                 *nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n";
        let tables = super::parse(t, "ipv4");
        assert_eq!(tables.len(), 1);
        assert_eq!(
            tables[0].chains[0].rules,
            vec!["-p tcp --dport 22 -j ACCEPT"]
        );
        assert_eq!(tables[0].jumps.len(), 1);
        assert_eq!(tables[0].jumps[0].spec, "-j netc-input");
        assert_eq!(tables[0].jumps[0].pos, 1);
    }
}
