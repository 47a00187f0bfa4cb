//! Arbitrary bytes → `load_source` (YAML → marked tree → resources), then
//! validation; every diagnostic renders and its span lies in the file.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = netc_fuzz::validate_text(&text);
});
