//! cargo-fuzz target: see `tests/fuzz_harness/mod.rs` for what it asserts.
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "../../tests/fuzz_harness/mod.rs"]
mod harness;

fuzz_target!(|data: &[u8]| harness::run(data));
