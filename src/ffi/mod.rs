//! The Windows ABI shim: the only place `unsafe` lives.
//!
//! It turns a [`Provider`](crate::Provider) into what `ws2_32.dll` loads:
//! `#[repr(C)]` ws2spi types (from `windows-sys`, which compiles on every OS;
//! off Windows `extern "system"` is the C ABI, so the same exports are driven
//! from C hosts on Linux), one panic boundary and one pointer check for every
//! export ([`guard`]), and the layouts the spec fixes, checked at compile
//! time ([`abi`]).
//!
//! This module is being built in steps (issue 3): the ABI types, the
//! boundary and the upcall table ([`upcalls`]: the newest wins, S3) come
//! first; the thunks of the `WSPPROC_TABLE`, the upcall notifier and the
//! export macro build on them.

pub mod abi;
pub mod guard;
pub mod upcalls;
