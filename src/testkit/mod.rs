//! A conformance kit for a [`Transport`]: the SPI rules that depend on the
//! data plane, run against any transport, each reported by its rule with
//! what failed.
//!
//! A transport's author implements [`Harness`] (how to make a transport
//! and a waiter, which address a socket binds to, how time passes) and
//! calls [`run`] from a test:
//!
//! ```
//! use winsock_provider::testkit::{self, MockHarness};
//! let report = testkit::run(&MockHarness::new());
//! report.assert_passed();
//! println!("{report}");
//! ```
//!
//! The rules ([`RULES`]) are the ones whose outcome depends on the bytes
//! really moving: connect outcomes and their events (spec §15), the
//! overlapped protocol and exactly-once delivery (S9, S10), close in
//! every linger mode (S7), shutdown (S8), the final cleanup's reset,
//! abort and drain (S6c, S6d, S6e, S6g, S6h), bad input that reaches the
//! transport (S13), event recording, datagrams, timeouts, and IPv6. The
//! lifecycle rules that do not touch the data plane (S1 to S5) are the
//! core's own tests'.
//!
//! Two harnesses come with the crate: [`MockHarness`] (the in-memory
//! network) and, on Unix with the `system` feature, [`SystemHarness`] (the
//! host's sockets over loopback). `cargo test` runs the kit against both.

mod harnesses;
mod intercept;
mod rules;

use crate::{AddressFamily, Transport, Waiter};
use std::fmt;
use std::net::IpAddr;
use std::panic::{AssertUnwindSafe, catch_unwind};

pub use harnesses::MockHarness;
#[cfg(all(unix, feature = "system"))]
pub use harnesses::SystemHarness;
pub use intercept::{Intercept, Intercepted};
pub use rules::RULES;

/// What the kit needs from a transport's author.
pub trait Harness {
    /// The transport under test.
    type Transport: Transport + 'static;
    /// The waiter its providers block through.
    type Waiter: Waiter + 'static;

    /// A name for the report (`"mock"`, `"system"`).
    fn name(&self) -> String;

    /// A new transport and waiter. Every transport made by one harness
    /// must reach the others' sockets (the kit plays both ends of a
    /// connection, and a peer that outlives a provider's final cleanup).
    fn make(&self) -> (Self::Transport, Self::Waiter);

    /// The address a socket of `family` binds to (with port 0) to be
    /// reachable from the others; `None` when the transport does not carry
    /// the family (its rules are then skipped).
    fn local(&self, family: AddressFamily) -> Option<IpAddr>;

    /// Lets the network move while the kit waits for something a
    /// non-blocking call started: run steps of a simulated network, or
    /// sleep a little on a real one.
    fn settle(&self);
}

/// One rule of the kit.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Rule {
    /// The rule it checks (`"S6c"`, `"connect"`, ...).
    pub rule: &'static str,
    /// What it checks, in a line.
    pub name: &'static str,
}

/// How a rule ended.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Outcome {
    /// It held.
    Passed,
    /// It broke: what was seen.
    Failed(String),
    /// It could not run: why (a family the transport does not carry).
    Skipped(String),
}

/// A rule and how it ended.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct RuleResult {
    /// The rule (`"S6c"`).
    pub rule: &'static str,
    /// What it checks.
    pub name: &'static str,
    /// How it ended.
    pub outcome: Outcome,
}

/// What a run found, rule by rule.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Report {
    /// The harness's name.
    pub harness: String,
    /// Every rule, in [`RULES`] order.
    pub results: Vec<RuleResult>,
}

impl Report {
    /// The rules that broke.
    pub fn failures(&self) -> Vec<&RuleResult> {
        self.results
            .iter()
            .filter(|r| matches!(r.outcome, Outcome::Failed(_)))
            .collect()
    }

    /// How many rules passed.
    pub fn passed(&self) -> usize {
        self.results
            .iter()
            .filter(|r| r.outcome == Outcome::Passed)
            .count()
    }

    /// Panics, listing every broken rule, unless none broke.
    pub fn assert_passed(&self) {
        let failures = self.failures();
        assert!(
            failures.is_empty(),
            "{} of the kit's rules broke on {}:\n{}",
            failures.len(),
            self.harness,
            failures
                .iter()
                .map(|r| format!("  {} {}: {:?}", r.rule, r.name, r.outcome))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

impl fmt::Display for Report {
    /// A table: rule, what it checks, outcome.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "conformance kit on {}: {} of {} passed",
            self.harness,
            self.passed(),
            self.results.len()
        )?;
        for r in &self.results {
            let outcome = match &r.outcome {
                Outcome::Passed => "passed".to_string(),
                Outcome::Failed(why) => format!("FAILED: {why}"),
                Outcome::Skipped(why) => format!("skipped: {why}"),
            };
            writeln!(f, "  {:<10} {:<62} {outcome}", r.rule, r.name)?;
        }
        Ok(())
    }
}

/// Runs every rule of [`RULES`] against `harness`; a rule that panics
/// counts as broken, with the panic's message.
pub fn run<H: Harness>(harness: &H) -> Report {
    let results = RULES
        .iter()
        .enumerate()
        .map(|(i, rule)| {
            let outcome = match catch_unwind(AssertUnwindSafe(|| {
                rules::check(i, &rules::Kit::new(harness))
            })) {
                Ok(Ok(())) => Outcome::Passed,
                Ok(Err(rules::Broken::Failed(why))) => Outcome::Failed(why),
                Ok(Err(rules::Broken::Skipped(why))) => Outcome::Skipped(why),
                Err(panic) => Outcome::Failed(format!(
                    "panicked: {}",
                    panic
                        .downcast_ref::<String>()
                        .map(String::as_str)
                        .or_else(|| panic.downcast_ref::<&str>().copied())
                        .unwrap_or("(no message)")
                )),
            };
            RuleResult {
                rule: rule.rule,
                name: rule.name,
                outcome,
            }
        })
        .collect();
    Report {
        harness: harness.name(),
        results,
    }
}
