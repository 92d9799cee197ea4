//! Socket options and the questions a socket answers: linger (S7),
//! non-blocking mode, buffer sizes, bytes waiting, its kind and addresses.

use super::error::{WsaError, WsaResult};
use super::handle::SocketHandle;
use super::provider::Provider;
use super::socket_state::Linger;
use super::transport::{AddressFamily, SocketKind, Transport};
use super::waiter::Waiter;
use std::net::SocketAddr;

impl<T: Transport + 'static, W: Waiter + 'static> Provider<T, W> {
    /// `SO_LINGER` / `SO_DONTLINGER` (S7).
    pub fn set_linger(&self, s: SocketHandle, linger: Linger) -> WsaResult<()> {
        self.with_open(s, |sock| {
            sock.linger = linger;
            Ok(())
        })
    }

    /// The socket's `SO_LINGER` setting.
    pub fn linger(&self, s: SocketHandle) -> WsaResult<Linger> {
        self.with_open(s, |sock| Ok(sock.linger))
    }

    /// `FIONBIO`. A socket with an event-select registration cannot be made
    /// blocking again: `WSAEINVAL`.
    pub fn set_nonblocking(&self, s: SocketHandle, nonblocking: bool) -> WsaResult<()> {
        self.with_open(s, |sock| {
            if !nonblocking && sock.select.is_some() {
                return Err(WsaError::InvalidArgument);
            }
            sock.nonblocking = nonblocking;
            Ok(())
        })
    }

    /// Whether the socket is non-blocking.
    pub fn is_nonblocking(&self, s: SocketHandle) -> WsaResult<bool> {
        self.with_open(s, |sock| Ok(sock.nonblocking))
    }

    /// `SO_SNDBUF` and `SO_RCVBUF` (either may be left as it is).
    pub fn set_buffers(
        &self,
        s: SocketHandle,
        send: Option<usize>,
        recv: Option<usize>,
    ) -> WsaResult<()> {
        self.with_open(s, |_| self.inner.transport.set_buffers(s, send, recv))
    }

    /// `SO_SNDBUF` and `SO_RCVBUF` as the transport has them.
    pub fn buffers(&self, s: SocketHandle) -> WsaResult<(usize, usize)> {
        self.with_open(s, |_| self.inner.transport.buffers(s))
    }

    /// `FIONREAD`: bytes a receive could take now without waiting.
    pub fn available(&self, s: SocketHandle) -> WsaResult<usize> {
        self.with_open(s, |_| self.inner.transport.available(s))
    }

    /// Operations pending on `s` now: overlapped ones and blocking calls
    /// waiting inside the provider (a lingering close counts as one). For
    /// hosts and tests that must know a call has started waiting.
    pub fn pending_operations(&self, s: SocketHandle) -> WsaResult<usize> {
        let _call = self.enter()?;
        self.inner.table.with(s, |sock| sock.pending.len())
    }

    /// `SO_ERROR`: the code of the last non-blocking connect's error, 0 if
    /// none. Reading does not clear it (spec §15: Windows keeps it until a
    /// connect succeeds); a blocking connect's error is that call's answer
    /// and is not kept.
    pub fn socket_error(&self, s: SocketHandle) -> WsaResult<i32> {
        self.with_open(s, |sock| Ok(sock.so_error))
    }

    /// Sets `SO_ERROR` to `code`, which later reads give back (spec §15:
    /// Windows allows it).
    pub fn set_socket_error(&self, s: SocketHandle, code: i32) -> WsaResult<()> {
        self.with_open(s, |sock| {
            sock.so_error = code;
            Ok(())
        })
    }

    /// The socket's address family (`WSPSocket`'s `af`).
    pub fn address_family(&self, s: SocketHandle) -> WsaResult<AddressFamily> {
        self.with_open(s, |sock| Ok(sock.family))
    }

    /// `SO_TYPE`: the socket's kind.
    pub fn socket_kind(&self, s: SocketHandle) -> WsaResult<SocketKind> {
        self.with_open(s, |sock| Ok(sock.kind))
    }

    /// `WSPGetSockName`.
    pub fn local_addr(&self, s: SocketHandle) -> WsaResult<SocketAddr> {
        self.with_open(s, |_| self.inner.transport.local_addr(s))
    }

    /// `WSPGetPeerName`.
    pub fn peer_addr(&self, s: SocketHandle) -> WsaResult<SocketAddr> {
        self.with_open(s, |_| self.inner.transport.peer_addr(s))
    }
}
