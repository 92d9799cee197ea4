//! Simulation on the mock network: one simulated world ([`Simulation`]),
//! the model of what a provider must do and the driver that holds it
//! against one ([`Driver`]), the workloads that run through them (random
//! actions, scenario files, racing threads, the built-in scenario set) and
//! the trace every run writes.
//!
//! Layers, each using only the ones above it:
//! - [`trace`]: the events of a run and their renderings;
//! - `interleave`: application threads interleaved by the seed;
//! - [`Simulation`]: the network, processes, faults and the trace;
//! - `model`, [`Driver`]: the reference model and the actions that move it;
//! - the workloads: [`script`] (scenario files), [`shrink`],
//!   [`thread_race`] (`wspsim threads`), [`scenarios`] (the built-in set).

mod action;
mod driver;
mod interleave;
mod model;
pub mod scenarios;
pub mod script;
pub mod shrink;
mod simulation;
pub mod thread_race;
pub mod trace;

pub use action::{Action, How, IoctlCode, LingerChoice, SeededBytes};
pub use driver::{Driver, SimProvider};
pub use interleave::{AppThread, MAX_DECISIONS, STUCK_AFTER, SimWaiter, ThreadsReport};
pub use model::{Failure, RunStats};
pub use simulation::{BrokenRule, Call, Observation, ProcessId, Simulation, ThreadSpec};
