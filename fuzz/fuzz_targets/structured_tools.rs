//! The slow mode of `structured`: the same generated clusters, and every
//! distinct nftables, iptables, ip6tables and BIRD artifact is also checked
//! by the real tool (`nft -c -f`, `ip[6]tables-restore --test`, `bird -p -c`).
#![no_main]
use libfuzzer_sys::fuzz_target;
use netc_fuzz::gen::ClusterYaml;

fuzz_target!(|c: ClusterYaml| {
    if let Some(nodes) = netc_fuzz::compile(&c.0) {
        for n in &nodes {
            for (kind, text) in &n.artifacts {
                netc_fuzz::tools::check(*kind, text);
            }
        }
    }
});
