//! Tests of the mock network, through the `Transport` trait as the core sees it.

mod datagram;
mod determinism;
mod faults;
mod handoff;
mod network;
mod services;
mod stream;
mod util;
mod waiter;
