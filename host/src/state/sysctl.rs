//! Workload interface settings (docs/calico.md §4.4): the kernel parameters
//! netc sets on the host side of each local workload's veth.
//!
//! Ownership: only the parameters the desired state names, on the
//! interfaces its WorkloadEndpoints name (the caller passes the keys). The
//! interfaces themselves are the CNI plugin's; an interface that does not
//! exist simply has no values (`sysctl -e` skips unknown keys), and the
//! planner leaves it waiting rather than failing.

use crate::exec::Exec;
use crate::Error;
use netc_ir::{IfName, IfaceSysctl};
use serde::{Deserialize, Serialize};

/// One parameter of one interface and its value, as `/proc/sys` has it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct IfaceValue {
    pub dev: IfName,
    pub sysctl: IfaceSysctl,
    pub value: String,
}

impl IfaceValue {
    /// `sysctl -w` argument: `net/ipv4/conf/cali1/proxy_arp=1`.
    pub fn assignment(&self) -> String {
        format!("{}={}", self.sysctl.path(&self.dev), self.value)
    }
}

/// Read `keys` with one `sysctl -e` (keys that do not exist are left out).
/// No keys, no command.
pub fn read(exec: &Exec, keys: &[(IfName, IfaceSysctl)]) -> Result<Vec<IfaceValue>, Error> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let paths: Vec<String> = keys.iter().map(|(d, s)| s.path(d)).collect();
    let mut args: Vec<&str> = vec!["-e"];
    args.extend(paths.iter().map(String::as_str));
    let out = exec.read("sysctl", &args)?.check()?;
    Ok(parse(&out.stdout, keys))
}

/// Parse `name = value` lines, keeping the ones that answer `keys`.
pub fn parse(text: &str, keys: &[(IfName, IfaceSysctl)]) -> Vec<IfaceValue> {
    let mut out = Vec::new();
    for line in text.lines() {
        let Some((name, value)) = line.split_once(" = ") else {
            continue;
        };
        if let Some((dev, sysctl)) = keys.iter().find(|(d, s)| s.printed_name(d) == name.trim()) {
            out.push(IfaceValue {
                dev: dev.clone(),
                sysctl: *sysctl,
                value: value.trim().to_string(),
            });
        }
    }
    out.sort();
    out.dedup_by(|a, b| a.dev == b.dev && a.sysctl == b.sysctl);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_only_the_asked_keys_including_dotted_names() {
        let a: IfName = "cali1".parse().unwrap();
        let b: IfName = "a.b".parse().unwrap();
        let keys = vec![
            (a.clone(), IfaceSysctl::Ipv4ProxyArp),
            (b.clone(), IfaceSysctl::Ipv4ProxyDelay),
            (b.clone(), IfaceSysctl::Ipv6AcceptRa),
        ];
        // As procps-ng 4.0.2 prints it for slash-form keys (a.b has no IPv6).
        let text = "net.ipv4.conf.cali1.proxy_arp = 1\nnet.ipv4.neigh.a/b.proxy_delay = 80\nnet.ipv4.ip_forward = 1\n";
        let got = parse(text, &keys);
        assert_eq!(
            got,
            vec![
                IfaceValue {
                    dev: b,
                    sysctl: IfaceSysctl::Ipv4ProxyDelay,
                    value: "80".into()
                },
                IfaceValue {
                    dev: a,
                    sysctl: IfaceSysctl::Ipv4ProxyArp,
                    value: "1".into()
                },
            ]
        );
        assert_eq!(
            got[1].assignment(),
            "net/ipv4/conf/cali1/proxy_arp=1".to_string()
        );
    }
}
