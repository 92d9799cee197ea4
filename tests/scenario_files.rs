//! The scenario files shipped in `scenarios/`: each parses, runs with every
//! invariant checked after every step, and meets every expectation it writes
//! down. `wspsim run scenarios/*.wsp` runs the same.

use std::path::PathBuf;
use winsock_provider::sim::script::Script;

fn files() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("scenarios/")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "wsp"))
        .collect();
    files.sort();
    files
}

/// Every rule the files cite (S1..S14), each checked by a run that meets its
/// expectations.
#[test]
fn every_shipped_scenario_meets_its_expectations() {
    let files = files();
    assert!(files.len() >= 8, "{} scenario files", files.len());
    for path in files {
        let text = std::fs::read_to_string(&path).expect("readable");
        let script = Script::parse(&text).unwrap_or_else(|e| panic!("{}:{e}", path.display()));
        let report = script.run(false);
        assert!(
            report.expectations > 0,
            "{}: no expectations",
            path.display()
        );
        assert_eq!(report.failures, Vec::<String>::new(), "{}", path.display());
    }
}

/// The S6c file fails where it should when an expectation is turned
/// around: the expectations are read, not just parsed.
#[test]
fn s6c_a_scenario_expecting_a_notification_at_the_final_cleanup_fails() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios/05-final-cleanup-with-pending-operations.wsp");
    let text = std::fs::read_to_string(path).expect("readable");
    let wrong = text.replace("expect delivered 0", "expect delivered 4");
    let report = Script::parse(&wrong).expect("parses").run(false);
    assert_eq!(report.failures.len(), 1, "{:?}", report.failures);
    assert!(report.failures[0].contains("expected delivered 4, got 0"));
}

proptest::proptest! {
    /// Nothing panics on bad input: any text parses or names a place in it.
    #[test]
    fn any_text_parses_or_names_a_line_and_column_inside_it(
        text in "([a-z0-9.# -]{0,30}\n){0,8}"
    ) {
        if let Err(e) = Script::parse(&text) {
            let lines: Vec<&str> = text.lines().collect();
            proptest::prop_assert!(e.line >= 1 && e.line <= lines.len());
            proptest::prop_assert!(e.column >= 1 && e.column <= lines[e.line - 1].len() + 1);
        }
    }
}
