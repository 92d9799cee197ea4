#![doc = include_str!("../README.md")]
#![warn(missing_docs, unreachable_pub)]
// Unsafe code lives in the ABI shim only; the compiler keeps it there.
#![deny(unsafe_code)]

pub mod catalog;
mod core;
#[allow(unsafe_code)]
pub mod ffi;
pub mod manual;
pub mod mock;
pub mod sim;
#[cfg(all(unix, feature = "system"))]
pub mod system;
#[cfg(feature = "testkit")]
pub mod testkit;

pub use crate::core::address_text;
pub use crate::core::error::{WsaError, WsaResult};
pub use crate::core::flags::{FdEvents, MsgFlags, ProviderFlags, ServiceFlags, SocketFlags};
pub use crate::core::handle::{OpId, SocketHandle};
pub use crate::core::notifier::{
    CompletionMode, EventKey, Notification, Notifier, Outcome, PortKey, Suppressed, ThreadKey,
    WindowKey,
};
pub use crate::core::op::{OpState, Overlapped};
pub use crate::core::protocol::{ProtocolChain, ProtocolInfo};
pub use crate::core::sockopt::{OptionName, OptionValue, names as option_names};
pub use crate::core::transport::{
    AddressFamily, CloseKind, Completed, CompletionSink, HandOffRefused, Io, Received,
    SharedSocket, ShutdownHow, SocketKind, Transport, Wait,
};
pub use crate::core::version::{Negotiated, Version, VersionRange};
pub use crate::core::waiter::{WaitResult, Waiter};
pub use crate::core::{
    CleanupError, CleanupOutcome, Detach, DetachOutcome, Duplicate, FinalCleanupReport, Linger,
    NetworkEvents, OverlappedRequest, Provider, ProviderConfig, SelectSets,
};

mod sync;
mod thread_waiter;
pub use thread_waiter::ThreadWaiter;
