//! The Windows ABI shim: the only place `unsafe` lives.
//!
//! It turns a [`Provider`](crate::Provider) into what `ws2_32.dll` loads.
//! A provider author implements [`ProviderDll`] (a transport, a waiter,
//! [`DllConfig`]) and invokes [`export_provider!`](crate::export_provider)
//! in a `cdylib`; `examples/loopback_provider.rs` is a whole one.
//!
//! Small files, one job each:
//! - [`abi`]: the ws2spi.h types (from `windows-sys`, which compiles on
//!   every OS; off Windows `extern "system"` is the C ABI, so the same
//!   exports are driven from C hosts on Linux), with their layouts checked
//!   at compile time;
//! - `guard`: the one panic boundary and `*lpErrno` writer (S12) and the
//!   pointer checks (S13) every export goes through;
//! - `thunks`: the 30 `WSPPROC_TABLE` entries;
//! - `host`: the core's notifier in a DLL: upcalls, and the writes of
//!   each `WSAOVERLAPPED` (S6c: written, never signalled, at the final
//!   cleanup); `upcalls`: the newest upcall table (S3);
//! - `inflight`, `wsabuf`, `sockaddr`: overlapped operations in
//!   flight, buffer arrays and addresses;
//! - `dll`, `export`: the author's trait, the per-process instance,
//!   `WSPStartup`, `WSPSetCompletionUpcall` and `DllMain` (S11);
//! - [`layered`]: layered providers, over the next provider in a chain;
//!   [`install`]: putting one into a catalog.

pub mod abi;
mod dll;
mod export;
mod file;
mod guard;
mod host;
mod inflight;
pub mod install;
mod last_error;
pub mod layered;
mod pin;
mod protocol_info;
mod sockaddr;
mod thunks;
mod upcalls;
mod wsabuf;
mod wsamsg;

pub use dll::{Dll, DllConfig, Exported, ProviderDll, ProviderOf};
pub use guard::{contain, last_panic};
pub use last_error::last_error;

/// What [`export_provider!`](crate::export_provider) expands to needs from
/// the crate; not for direct use.
#[doc(hidden)]
pub mod __export {
    pub use super::abi::{
        CompleteOverlappedFn, LPWSPSTARTUP, WSAPROTOCOL_INFOW, WSPDATA, WSPPROC_TABLE,
        WSPUPCALLTABLE, assert_wsp_startup,
    };
    pub use super::export::{dll_main, set_completion_upcall};
    pub use super::thunks::lifecycle::startup;
    pub use windows_sys::core::GUID;
}
