//! The shared test helpers live in the `netc-test-support` crate
//! (test-support/); this module keeps `mod common;` working in every suite.
#![allow(unused_imports)]

pub use netc_test_support::*;
