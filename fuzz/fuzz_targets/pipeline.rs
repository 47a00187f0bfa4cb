//! Arbitrary bytes → load → validate → allocate → lower every node → emit
//! every artifact, twice: no panic, byte-identical output, every IR passes
//! `Firewall::check`, every artifact passes the in-process grammar checks.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = netc_fuzz::compile_deterministic(&text);
});
