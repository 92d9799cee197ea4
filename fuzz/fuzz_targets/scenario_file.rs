//! Fuzzes the scenario-file parser and runner: any text either fails to
//! parse with a line and column inside it, or runs; nothing panics, and a
//! script that parses prints back to itself.
//!
//! Run: `cargo +nightly fuzz run scenario_file` (from the repository root).
#![no_main]

use libfuzzer_sys::fuzz_target;
use winsock_provider::sim::script::Script;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match Script::parse(text) {
        Ok(script) => {
            let again = Script::parse(&script.to_string()).expect("a printed script parses");
            assert_eq!(again.seed, script.seed);
            assert_eq!(
                again.lines.iter().map(|(_, l)| *l).collect::<Vec<_>>(),
                script.lines.iter().map(|(_, l)| *l).collect::<Vec<_>>()
            );
            if script.lines.len() <= 64 {
                let _ = script.run(false);
            }
        }
        Err(e) => {
            let lines = text.lines().count();
            assert!(e.line >= 1 && e.line <= lines, "{e}");
            assert!(e.column >= 1, "{e}");
        }
    }
});
