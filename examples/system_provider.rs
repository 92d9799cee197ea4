//! A base provider DLL over the host's sockets: the core over
//! [`SystemTransport`], real TCP and UDP over IPv4 and IPv6 (Unix).
//!
//! Build it with `cargo build --example system_provider`
//! (`target/debug/examples/libsystem_provider.so`). `tests/c/host.c`
//! loads it with `--system` and checks it with real peers it starts on
//! 127.0.0.1 and ::1 (an echo server, a listener, a slow reader);
//! `tests/abi_system.rs` does the same from Rust.
//!
//! - One I/O thread per process runs between the first `WSPStartup` and
//!   the final `WSPCleanup`; when the final cleanup returns, no thread of
//!   the DLL runs (S6), and a closed socket's unsent data is the
//!   operating system's to send (S6e, S6g).
//! - Blocking calls park the calling thread ([`ThreadWaiter`]); overlapped
//!   ones complete from the I/O thread through the host's upcalls.

#[cfg(unix)]
mod provider {
    use winsock_provider::ThreadWaiter;
    use winsock_provider::ffi::{DllConfig, ProviderDll};
    use winsock_provider::system::SystemTransport;

    /// The example provider: nothing of its own beyond the transport.
    pub struct System;

    impl ProviderDll for System {
        type Transport = SystemTransport;
        type Waiter = ThreadWaiter;

        fn config() -> DllConfig {
            DllConfig {
                description: "winsock-provider system example",
                ..DllConfig::default()
            }
        }

        fn create() -> (Self, SystemTransport, ThreadWaiter) {
            (System, SystemTransport::new(), ThreadWaiter::new())
        }
    }

    winsock_provider::export_provider!(System);
}
