//! A layered service provider (LSP) that counts the bytes sent and
//! received on each socket and reports them when the socket closes, as a
//! `tracing` event: the layer everybody in this field has written once.
//!
//! Build it with `cargo build --example counting_layer`
//! (`target/debug/examples/libcounting_layer.so` on Linux,
//! `counting_layer.dll` for a Windows target). Installed in the catalog
//! (see `winsock_provider::catalog`) it sits above the provider its chain
//! names; in a host that is not ws2_32, the host tells it the catalog with
//! `WSPAddCatalogEntry` (`tests/c/host.c --layered` does).
//!
//! Besides the provider's exports, it exports one hook for test hosts:
//! `counting_layer_closed(index, &sent, &received)`, the counts of the
//! `index`th socket closed (the DLL never prints; hosts ask).

use std::collections::HashMap;
use std::sync::Mutex;
use winsock_provider::ffi::DllConfig;
use winsock_provider::ffi::layered::{Layer, LayerExported, LayerProvider};
use winsock_provider::{Received, SocketHandle, WsaError};

/// Bytes one socket moved.
#[derive(Clone, Copy, Default, Debug)]
struct Counts {
    sent: u64,
    received: u64,
}

/// The layer: the counts of the open sockets, and of the closed ones in
/// the order they closed.
#[derive(Default)]
struct Counting {
    open: Mutex<HashMap<SocketHandle, Counts>>,
    closed: Mutex<Vec<Counts>>,
}

impl Counting {
    fn count(&self, socket: SocketHandle, f: impl FnOnce(&mut Counts)) {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        f(open.entry(socket).or_default());
    }
}

impl Layer for Counting {
    fn sent(&self, socket: SocketHandle, result: Result<usize, WsaError>) {
        if let Ok(n) = result {
            self.count(socket, |c| c.sent += n as u64);
        }
    }

    fn received(&self, socket: SocketHandle, result: &mut Result<Received, WsaError>) {
        if let Ok(r) = result {
            self.count(socket, |c| c.received += r.data.len() as u64);
        }
    }

    fn closed(&self, socket: SocketHandle) {
        let counts = self
            .open
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&socket)
            .unwrap_or_default();
        tracing::info!(
            target: "counting_layer",
            socket = socket.to_raw(),
            sent = counts.sent,
            received = counts.received,
            "socket closed"
        );
        self.closed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(counts);
    }
}

impl LayerProvider for Counting {
    /// `{c0a7e1a4-0b5e-4c0e-9a1d-c0a7e1a40001}`.
    const PROVIDER_ID: [u8; 16] = [
        0xa4, 0xe1, 0xa7, 0xc0, 0x5e, 0x0b, 0x0e, 0x4c, 0x9a, 0x1d, 0xc0, 0xa7, 0xe1, 0xa4, 0x00,
        0x01,
    ];

    fn config() -> DllConfig {
        DllConfig {
            description: "winsock-provider counting layer example",
            ..DllConfig::default()
        }
    }

    fn create() -> Self {
        Counting::default()
    }
}

winsock_provider::export_layered_provider!(Counting);

/// The counts of the `index`th socket closed since the DLL was loaded:
/// 1 and both written, or 0 when fewer closed (or a pointer is null).
///
/// # Safety
/// `sent` and `received` null or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn counting_layer_closed(
    index: u32,
    sent: *mut u64,
    received: *mut u64,
) -> i32 {
    let mut found = None;
    winsock_provider::ffi::contain("counting_layer_closed", || {
        let hooks = Counting::dll().provider().transport().hooks();
        found = hooks
            .closed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(index as usize)
            .copied();
    });
    match found {
        Some(c) if !sent.is_null() && !received.is_null() => {
            // SAFETY: both are non-null, and writable (the caller's promise).
            unsafe {
                sent.write_unaligned(c.sent);
                received.write_unaligned(c.received);
            }
            1
        }
        _ => 0,
    }
}
