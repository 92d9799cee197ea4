//! Fuzzes sequences of provider calls, network steps and faults against the
//! reference model (`winsock_provider::sim::Driver`): any input that breaks
//! an invariant (S1-S10, S13) or panics is a finding.
//!
//! Run: `cargo +nightly fuzz run api_sequence` (from the repository root).
#![no_main]

use libfuzzer_sys::fuzz_target;
use winsock_provider::sim::{Action, Driver};

fuzz_target!(|data: &[u8]| {
    let Some((&seed, rest)) = data.split_first() else { return };
    let actions = Action::decode_all(rest);
    let mut h = Driver::new(u64::from(seed), false);
    h.run(&actions);
    assert!(h.failures().is_empty(), "{:#?}\nactions: {actions:?}", h.failures());
});
