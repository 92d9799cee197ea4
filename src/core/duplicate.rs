//! `WSPDuplicateSocket` and the `WSPSocket` that claims its duplicate
//! (spec §14): a second handle to the same socket, possibly in another
//! process. The transport shares the socket ([`Transport::duplicate`],
//! [`Transport::claim`]); each handle has its own state in its provider's
//! table. So:
//! - the socket outlives closing any one handle, and ends (gracefully or
//!   not, as that close says) when the last one closes;
//! - a close of one handle aborts the operations posted through it (S7),
//!   not the others';
//! - the final cleanup of one process resets only that process's handles
//!   (S6): the socket goes on for the others;
//! - what lives in the core is per handle (blocking mode, `SO_LINGER`, the
//!   timeouts, the event selection): a lingering close of one handle waits
//!   for (or, non-blocking, is `WSAEWOULDBLOCK` over) the socket's unsent
//!   bytes even while other handles hold it; the spec's "any descriptor's
//!   `WSPEventSelect` replaces the registration for all" is not kept:
//!   network events go to the handle that owns the socket in the
//!   transport (the oldest still open, in the mock). What lives in the
//!   transport is shared (options, buffer sizes, a shutdown: a claimed
//!   handle starts with the socket's shutdowns).

use super::error::{WsaError, WsaResult};
use super::flags::SocketFlags;
use super::handle::SocketHandle;
use super::protocol::ProtocolInfo;
use super::provider::Provider;
use super::socket_state::Socket;
use super::transport::Transport;
use super::waiter::Waiter;

/// What `WSPDuplicateSocket` hands the target process: the socket's
/// protocol entry, and the token its `WSPSocket` claims (the shim writes
/// it into `dwProviderReserved`).
#[derive(Clone, Debug, PartialEq)]
pub struct Duplicate {
    /// The socket's `WSAPROTOCOL_INFOW`, as `SO_PROTOCOL_INFOW` gives it.
    pub info: ProtocolInfo,
    /// The transport's token (never 0), single use.
    pub token: u32,
}

impl<T: Transport + 'static, W: Waiter + 'static> Provider<T, W> {
    /// `WSPDuplicateSocket`: a duplicate of `s` for the process `process`
    /// (its id, as the caller gave it). `WSAENOTSOCK` for a handle that is
    /// not an open socket; the transport's error (`WSAEOPNOTSUPP` for one
    /// that cannot share sockets).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use winsock_provider::mock::{MockWaiter, Network, RecordingNotifier};
    /// # use winsock_provider::*;
    /// # let net = Network::new(1);
    /// # let node = net.add_node("10.0.0.1".parse().unwrap());
    /// # let p = Provider::new(ProviderConfig::default(), net.transport(node), MockWaiter::new(&net));
    /// # p.startup(Version::new(2, 2), Arc::new(RecordingNotifier::new())).unwrap();
    /// let s = p.socket(AddressFamily::Inet, SocketKind::Stream, SocketFlags::OVERLAPPED).unwrap();
    /// let dup = p.duplicate_socket(s, 4242).unwrap();
    /// let t = p.socket_from_duplicate(dup.token, SocketFlags::OVERLAPPED).unwrap();
    /// p.close_socket(s).unwrap();
    /// assert_eq!(p.socket_kind(t), Ok(SocketKind::Stream), "outlives the original");
    /// ```
    pub fn duplicate_socket(&self, s: SocketHandle, process: u32) -> WsaResult<Duplicate> {
        let info = self.socket_protocol_info(s)?;
        let token = self.with_open(s, |_| self.inner.transport.duplicate(s, process))?;
        if token == 0 {
            // 0 is "no duplicate" in dwProviderReserved: a transport bug.
            return Err(WsaError::SystemCallFailure);
        }
        Ok(Duplicate { info, token })
    }

    /// `WSPSocket` with a duplicate's protocol info: a new handle to the
    /// socket `token` names, made with `flags`, connected or listening as
    /// the socket is. `WSAEINVAL` for a token claimed already, unknown, or
    /// meant for another process.
    pub fn socket_from_duplicate(&self, token: u32, flags: SocketFlags) -> WsaResult<SocketHandle> {
        self.socket_from_duplicate_prepared(token, flags, |_| Ok(()))
            .map_err(|(e, _)| e)
    }

    /// [`socket_from_duplicate`](Self::socket_from_duplicate) with the
    /// host's part made by `prepare`, as
    /// [`socket_prepared`](Self::socket_prepared) does, but before the
    /// claim: a host that cannot make its part fails the call with the
    /// duplicate unclaimed and the socket untouched (S13). When the claim
    /// then fails, the error comes back with `Err((e, Some(h)))`: the
    /// caller gives its part for `h` back.
    pub fn socket_from_duplicate_prepared(
        &self,
        token: u32,
        flags: SocketFlags,
        prepare: impl FnOnce(SocketHandle) -> WsaResult<()>,
    ) -> Result<SocketHandle, (WsaError, Option<SocketHandle>)> {
        if token == 0 {
            return Err((WsaError::InvalidArgument, None));
        }
        let _call = self.enter().map_err(|e| (e, None))?;
        let inner = &self.inner;
        let h = inner.table.reserve().map_err(|e| (e, None))?;
        if let Err(e) = prepare(h) {
            inner.table.remove(h);
            return Err((e, None));
        }
        let shared = match inner.transport.claim(h, token) {
            Ok(shared) => shared,
            Err(e) => {
                inner.table.remove(h);
                return Err((e, Some(h)));
            }
        };
        let mut sock = Socket::new(shared.family, shared.kind, flags);
        sock.connected = shared.connected;
        sock.listening = shared.listening;
        sock.shut_send = shared.shut_send;
        sock.shut_recv = shared.shut_recv;
        inner.table.install(h, sock);
        Ok(h)
    }
}
