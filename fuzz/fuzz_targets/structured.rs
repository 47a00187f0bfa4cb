//! Structure-aware: an `arbitrary` cluster (pools, nodes, BGP configuration
//! and peers, network sets, policies with rules, endpoints, with hostile
//! strings mixed in) → YAML → the whole pipeline twice, with every
//! invariant of the `pipeline` target.
#![no_main]
use libfuzzer_sys::fuzz_target;
use netc_fuzz::gen::ClusterYaml;

fuzz_target!(|c: ClusterYaml| {
    let _ = netc_fuzz::compile_deterministic(&c.0);
});
