//! What a layer author writes: hooks that see each call and its data on
//! the way down and on the way back, and may change or refuse it.

use crate::{AddressFamily, Received, SocketHandle, SocketKind, WsaError};
use std::net::SocketAddr;

/// A layered provider's hooks. Every method has a default that passes the
/// call through unchanged, so `impl Layer for Mine {}` is a layer that
/// only passes calls down.
///
/// Hooks run on the thread that makes the call, or (for an operation that
/// finished later) on the relay thread that delivers the next provider's
/// completion. They must not block for long, and must not call back into
/// the provider. A panic in a hook is caught at the DLL's boundary (S12).
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use winsock_provider::ffi::layered::Layer;
/// use winsock_provider::{SocketHandle, WsaError};
///
/// /// Refuses to send more than 1 MiB in one call; counts what went.
/// #[derive(Default)]
/// struct Limit { sent: AtomicU64 }
///
/// impl Layer for Limit {
///     fn sending(&self, _: SocketHandle, data: &mut Vec<u8>, _: Option<std::net::SocketAddr>)
///         -> Result<(), WsaError> {
///         if data.len() > 1 << 20 { Err(WsaError::MessageSize) } else { Ok(()) }
///     }
///     fn sent(&self, _: SocketHandle, result: Result<usize, WsaError>) {
///         if let Ok(n) = result { self.sent.fetch_add(n as u64, Ordering::Relaxed); }
///     }
/// }
/// ```
pub trait Layer: Send + Sync + 'static {
    /// A socket was created (its next-provider socket too).
    fn opened(&self, socket: SocketHandle, family: AddressFamily, kind: SocketKind) {
        let _ = (socket, family, kind);
    }

    /// `listener` accepted `socket`, a connection from `peer`.
    fn accepted(&self, listener: SocketHandle, socket: SocketHandle, peer: SocketAddr) {
        let _ = (listener, socket, peer);
    }

    /// Before a connect goes down: the address to connect to (`to`
    /// unchanged by default), or an error the application gets instead.
    fn connecting(&self, socket: SocketHandle, to: SocketAddr) -> Result<SocketAddr, WsaError> {
        let _ = socket;
        Ok(to)
    }

    /// Before a send goes down: change the bytes, or refuse the send with
    /// the error the application gets. The application is told the count
    /// the next provider took, capped at its own length.
    fn sending(
        &self,
        socket: SocketHandle,
        data: &mut Vec<u8>,
        to: Option<SocketAddr>,
    ) -> Result<(), WsaError> {
        let _ = (socket, data, to);
        Ok(())
    }

    /// A send's end, at once or later: the bytes the next provider took,
    /// or its error (not called for a send aborted by a close or the
    /// final cleanup before it finished below).
    fn sent(&self, socket: SocketHandle, result: Result<usize, WsaError>) {
        let _ = (socket, result);
    }

    /// A receive's end, before the application sees it: change the data,
    /// or turn it into an error.
    fn received(&self, socket: SocketHandle, result: &mut Result<Received, WsaError>) {
        let _ = (socket, result);
    }

    /// The socket is closed (gracefully or not); nothing more comes for
    /// it. The place to report what was counted.
    fn closed(&self, socket: SocketHandle) {
        let _ = socket;
    }
}

/// The layer that only passes calls down.
impl Layer for () {}
