//! The platform-independent provider core.
//!
//! Everything here is safe Rust with no OS calls and no threads of its own:
//! the SPI's lifecycle (S1-S6, S11), the socket table (S13, S14), the
//! operation state machine (S7, S9, S10), close, linger and shutdown (S7, S8).
//! The transport, the notifier and the waiter are traits the host supplies.
#![forbid(unsafe_code)]

pub mod address_text;
pub(crate) mod error;
pub(crate) mod flags;
pub(crate) mod handle;
pub(crate) mod notifier;
pub(crate) mod op;
pub(crate) mod protocol;
pub(crate) mod transport;
pub(crate) mod version;
pub(crate) mod waiter;

mod cleanup;
mod close;
mod connect;
mod duplicate;
mod events;
mod gate;
mod io;
mod options;
mod os_error;
mod provider;
mod select;
mod socket_state;
pub(crate) mod sockopt;
mod table;

pub use cleanup::{CleanupError, CleanupOutcome, FinalCleanupReport};
pub use duplicate::Duplicate;
pub use io::OverlappedRequest;
pub use provider::{Detach, DetachOutcome, Provider, ProviderConfig};
pub use select::SelectSets;
pub use socket_state::{Linger, NetworkEvents};

#[cfg(all(test, loom))]
mod loom_models;
