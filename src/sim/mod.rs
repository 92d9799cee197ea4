//! Simulation on the mock network: the reference-model harness that checks a
//! provider after every step, the workload it runs, and the scenario set that
//! `wspsim` prints.

mod action;
mod harness;
pub mod scenarios;
pub mod script;
pub mod shrink;
pub mod threaded;
pub mod threads;
pub mod trace;
pub mod world;

pub use action::{Action, How, LingerChoice, SeededBytes};
pub use harness::{Harness, MockProvider, RunStats};
