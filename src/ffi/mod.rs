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
//! - [`guard`]: the one panic boundary and `*lpErrno` writer (S12) and the
//!   pointer checks (S13) every export goes through;
//! - [`thunks`]: the 30 `WSPPROC_TABLE` entries;
//! - [`host`]: the core's notifier in a DLL: upcalls, and the writes of
//!   each `WSAOVERLAPPED` (S6c: written, never signalled, at the final
//!   cleanup); [`upcalls`]: the newest upcall table (S3);
//! - [`inflight`], [`wsabuf`], [`sockaddr`]: overlapped operations in
//!   flight, buffer arrays and addresses;
//! - [`dll`], [`export`]: the author's trait, the per-process instance,
//!   `WSPStartup`, `WSPSetCompletionUpcall` and `DllMain` (S11).

pub mod abi;
pub mod dll;
pub mod export;
pub mod guard;
pub mod host;
pub mod inflight;
pub mod sockaddr;
pub mod thunks;
pub mod upcalls;
pub mod wsabuf;

pub use dll::{Dll, DllConfig, Exported, ProviderDll};
